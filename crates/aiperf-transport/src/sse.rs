//! Server-sent events framing with AIPerf's rules (spec §3.5), applied after a request finished.
//!
//! - Messages end at the earliest `\n\n` or `\r\n\r\n`. A delimiter split across network reads is
//!   found once the read that completes it arrives, so framing does not depend on how the bytes
//!   were split. (AIPerf looks for `\n\n` in its buffer first and for `\r\n\r\n` only when there is
//!   none, which frames a stream that mixes both differently depending on the reads; for
//!   streams with one line ending, the two rules agree.)
//! - A message is stamped with the arrival time of the read in which its terminating delimiter was
//!   found, so several messages in one read share a timestamp.
//! - Message text is decoded as UTF-8 (invalid bytes replaced) and trimmed; empty messages are
//!   skipped; bytes left without a delimiter at end of stream become one last message.
//! - Field lines are `name: value`, split at the first `:` with both sides trimmed; an empty name is
//!   a comment; a line without `:` is a field without a value; names are case-sensitive.
//! - Several `data` fields join with `\n`. A JSON value broken by a raw newline (the previous value
//!   starts with `{` and does not end with `}`, and the line is not a `data:` line) is repaired by
//!   appending the line after an escaped `\n`.

/// One parsed SSE message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseMessage {
    /// Arrival time of the read that completed this message (run clock ns).
    pub recv_ns: u64,
    /// `data` fields joined with `\n`; `None` when the message had no `data` field.
    pub data: Option<String>,
    /// Value of the last `event` field.
    pub event: Option<String>,
    /// Value of the last `id` field.
    pub id: Option<String>,
    /// Text of the first comment line (`: text`).
    pub comment: Option<String>,
}

impl SseMessage {
    /// True for the `event: error` messages AIPerf turns into failed requests.
    pub fn is_error_event(&self) -> bool {
        self.event
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("error"))
    }

    /// True for the literal `[DONE]` sentinel.
    pub fn is_done(&self) -> bool {
        self.data.as_deref() == Some("[DONE]")
    }
}

/// Incremental SSE framer: push reads as they were recorded, then [`SseFramer::finish`].
#[derive(Debug, Default)]
pub struct SseFramer {
    buf: Vec<u8>,
    /// Start of the unconsumed part of `buf`.
    start: usize,
    last_ns: u64,
}

impl SseFramer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one network read and emits every message it completes.
    pub fn push(&mut self, recv_ns: u64, bytes: &[u8], out: &mut Vec<SseMessage>) {
        self.last_ns = recv_ns;
        // Search only the new bytes plus the three before them (a delimiter split across reads).
        let mut search_from = self.buf.len().saturating_sub(3).max(self.start);
        self.buf.extend_from_slice(bytes);
        while let Some((pos, delim_len)) = blank_line(&self.buf, search_from) {
            if let Some(msg) = parse_message(&self.buf[self.start..pos], recv_ns) {
                out.push(msg);
            }
            self.start = pos + delim_len;
            search_from = self.start;
        }
        // Compact once the consumed prefix dominates, so memory stays bounded by one message.
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    /// Ends the stream: trailing bytes without a delimiter become one last message.
    pub fn finish(mut self, out: &mut Vec<SseMessage>) {
        if self.start < self.buf.len() {
            let rest = std::mem::take(&mut self.buf);
            if let Some(msg) = parse_message(&rest[self.start..], self.last_ns) {
                out.push(msg);
            }
        }
    }
}

/// Frames a whole recorded body given as `(arrival ns, bytes)` reads.
pub fn frame_all<'a>(reads: impl IntoIterator<Item = (u64, &'a [u8])>) -> Vec<SseMessage> {
    let mut framer = SseFramer::new();
    let mut out = Vec::new();
    for (ns, bytes) in reads {
        framer.push(ns, bytes, &mut out);
    }
    framer.finish(&mut out);
    out
}

/// The earliest blank line at or after `from`: its start and length (`\n\n` is 2 bytes,
/// `\r\n\r\n` 4). One pass over the line feeds; searching for each delimiter separately would
/// rescan the rest of the buffer for every message when a read holds many.
fn blank_line(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut at = from;
    while let Some(p) = memchr::memchr(b'\n', &buf[at..]).map(|p| at + p) {
        // A `\r\n\r\n` through this line feed starts one byte earlier than a `\n\n` at it.
        if p > from && buf[p - 1] == b'\r' && buf.get(p + 1..p + 3) == Some(b"\r\n") {
            return Some((p - 1, 4));
        }
        if buf.get(p + 1) == Some(&b'\n') {
            return Some((p, 2));
        }
        at = p + 1;
    }
    None
}

fn parse_message(raw: &[u8], recv_ns: u64) -> Option<SseMessage> {
    // Valid UTF-8 (the usual case) is checked by the fast validator and borrowed.
    let text = match std::str::from_utf8(raw) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(_) => String::from_utf8_lossy(raw),
    };
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut msg = SseMessage {
        recv_ns,
        ..Default::default()
    };
    // Fast path: the common single-line `data: {...}` message.
    if !text.contains('\n') {
        if let Some(value) = text.strip_prefix("data:") {
            msg.data = Some(value.trim().to_string());
            return Some(msg);
        }
    }
    let mut data_parts: Vec<String> = Vec::new();
    // Which field the previous line set, for the raw-newline repair.
    let mut last: Option<LastField> = None;
    for line in text.split('\n') {
        let line = line.trim_end_matches('\r');
        if let Some(prev) = last {
            let prev_value: Option<&mut String> = match prev {
                LastField::Data => data_parts.last_mut(),
                LastField::Event => msg.event.as_mut(),
            };
            if let Some(v) = prev_value {
                if v.starts_with('{') && !v.ends_with('}') && !line.starts_with("data:") {
                    v.push_str("\\n");
                    v.push_str(line);
                    continue;
                }
            }
        }
        let (name, value) = match line.split_once(':') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (line.trim(), None),
        };
        last = None;
        match name {
            "" if msg.comment.is_none() => {
                msg.comment = value.map(str::to_string);
            }
            "" => {}
            "data" => {
                data_parts.push(value.unwrap_or("").to_string());
                last = Some(LastField::Data);
            }
            "event" => {
                msg.event = value.map(str::to_string);
                last = Some(LastField::Event);
            }
            "id" => msg.id = value.map(str::to_string),
            _ => {}
        }
    }
    if !data_parts.is_empty() {
        msg.data = Some(data_parts.join("\n"));
    }
    Some(msg)
}

#[derive(Clone, Copy)]
enum LastField {
    Data,
    Event,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The earliest of the two delimiters found by searching for each separately.
    fn blank_line_by_two_searches(buf: &[u8], from: usize) -> Option<(usize, usize)> {
        let hay = &buf[from..];
        let lf = memchr::memmem::find(hay, b"\n\n").map(|p| (from + p, 2));
        let crlf = memchr::memmem::find(hay, b"\r\n\r\n").map(|p| (from + p, 4));
        match (lf, crlf) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    #[test]
    fn one_pass_search_finds_the_earliest_delimiter() {
        // Every string of up to 8 bytes over {a, \r, \n}, from every start offset.
        let alphabet = [b'a', b'\r', b'\n'];
        for len in 0..=8u32 {
            for code in 0..3usize.pow(len) {
                let buf: Vec<u8> = (0..len)
                    .map(|i| alphabet[code / 3usize.pow(i) % 3])
                    .collect();
                for from in 0..=buf.len() {
                    assert_eq!(
                        blank_line(&buf, from),
                        blank_line_by_two_searches(&buf, from),
                        "{buf:?} from {from}"
                    );
                }
            }
        }
    }

    fn data(msgs: &[SseMessage]) -> Vec<&str> {
        msgs.iter()
            .map(|m| m.data.as_deref().unwrap_or("<none>"))
            .collect()
    }

    #[test]
    fn frames_lf_and_stamps_with_completing_read() {
        let msgs = frame_all([
            (10, &b"data: a\n\nda"[..]),
            (20, b"ta: b\n"),
            (30, b"\ndata: c\n\n"),
        ]);
        assert_eq!(data(&msgs), ["a", "b", "c"]);
        assert_eq!(
            msgs.iter().map(|m| m.recv_ns).collect::<Vec<_>>(),
            [10, 30, 30]
        );
    }

    #[test]
    fn mixed_line_endings_frame_the_same_for_any_split() {
        // Found by `cargo fuzz run sse_frames`: CRLF blank line before an LF one.
        let body = b"data: a\r\n\r\ndata: b\n\ndata: c";
        let whole = frame_all([(0, &body[..])]);
        assert_eq!(data(&whole), ["a", "b", "c"]);
        let bytewise = frame_all(body.iter().map(|b| (0, std::slice::from_ref(b))));
        assert_eq!(bytewise, whole);
    }

    #[test]
    fn frames_crlf() {
        let msgs = frame_all([(1, &b"data: x\r\n\r\ndata: y\r\n"[..]), (2, b"\r\n")]);
        assert_eq!(data(&msgs), ["x", "y"]);
        assert_eq!(msgs[1].recv_ns, 2);
    }

    #[test]
    fn every_byte_split_gives_the_same_messages() {
        let body = b": ping\n\nid: 7\ndata: {\"a\":1}\n\nevent: error\ndata: bad\n\ndata: l1\ndata: l2\n\ndata: [DONE]";
        let whole = frame_all([(0, &body[..])]);
        for split in 1..body.len() {
            let parts = frame_all([(0, &body[..split]), (0, &body[split..])]);
            assert_eq!(parts, whole, "split at {split}");
        }
        let bytewise = frame_all(body.iter().map(|b| (0, std::slice::from_ref(b))));
        assert_eq!(bytewise, whole);
        assert_eq!(
            data(&whole),
            ["<none>", "{\"a\":1}", "bad", "l1\nl2", "[DONE]"]
        );
        assert_eq!(whole[0].comment.as_deref(), Some("ping"));
        assert_eq!(whole[1].id.as_deref(), Some("7"));
        assert!(whole[2].is_error_event());
        assert!(whole[4].is_done());
    }

    #[test]
    fn trims_fields_and_keeps_case() {
        let msgs = frame_all([(0, &b"data:x\n\ndata:   y  \n\nData: z\n\n\n\n"[..])]);
        assert_eq!(data(&msgs), ["x", "y", "<none>"]);
    }

    #[test]
    fn repairs_raw_newline_inside_json() {
        let msgs = frame_all([(0, &b"data: {\"text\": \"a\nb\"}\n\n"[..])]);
        assert_eq!(data(&msgs), ["{\"text\": \"a\\nb\"}"]);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let msgs = frame_all([(0, &b"data: \xff\xfe\n\n"[..])]);
        assert_eq!(msgs.len(), 1);
        assert!(msgs[0].data.as_deref().unwrap().contains('\u{fffd}'));
    }

    /// Seeded random bytes from an SSE-heavy alphabet, split at random places: never panics, and
    /// any split gives the same messages as the whole body (a cheap, always-on fuzz).
    #[test]
    fn random_bodies_and_splits_agree() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet: &[u8] = b"data: \r\n\n{}[DONE]event:error:id\xff\xc3\xa9 x";
        for _ in 0..2_000 {
            let len = (next() % 200) as usize;
            let body: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let whole = frame_all([(0, &body[..])]);
            let mut cuts: Vec<usize> = (0..(next() % 5))
                .map(|_| (next() % (len as u64 + 1)) as usize)
                .collect();
            cuts.sort_unstable();
            let mut parts = Vec::new();
            let mut prev = 0;
            for c in cuts.into_iter().chain([len]) {
                parts.push((0, &body[prev..c]));
                prev = c;
            }
            assert_eq!(
                frame_all(parts),
                whole,
                "body {:?}",
                String::from_utf8_lossy(&body)
            );
        }
    }
}
