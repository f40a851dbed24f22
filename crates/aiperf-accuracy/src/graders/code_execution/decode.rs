//! LiveCodeBench's `private_test_cases` encoding, undone without Python:
//! `json.loads(pickle.loads(zlib.decompress(base64.b64decode(s))))` (lighteval's
//! `translate_private_test_cases`).
//!
//! Only what the Hub data holds is supported: standard base64, a zlib stream (stored, fixed
//! and dynamic Huffman blocks, Adler-32 checked), and a pickle (protocols 2 to 5) whose whole
//! value is one `str` or `bytes`. Any other pickle is refused rather than executed.

use std::fmt;

/// Why a `private_test_cases` string could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError(msg.into()))
}

/// Largest decompressed size accepted (real problems stay far below; guards zip bombs).
const MAX_INFLATED: usize = 1 << 30;

/// base64 → zlib → pickle: the JSON text of the test cases.
pub fn private_test_cases_json(encoded: &str) -> Result<String, DecodeError> {
    let compressed = base64_decode(encoded)?;
    let pickled = zlib_decompress(&compressed)?;
    unpickle_text(&pickled)
}

/// Standard-alphabet base64 with padding; ASCII whitespace is skipped.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    let sextet = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    };
    let chars: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    if !chars.len().is_multiple_of(4) {
        return err("base64: incorrect padding");
    }
    let mut out = Vec::with_capacity(chars.len() / 4 * 3);
    for (i, quad) in chars.chunks(4).enumerate() {
        let last = i + 1 == chars.len() / 4;
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return err("base64: misplaced padding");
        }
        let mut acc = 0u32;
        for &c in &quad[..4 - pad] {
            acc = (acc << 6)
                | sextet(c).ok_or_else(|| DecodeError("base64: bad character".into()))?;
        }
        acc <<= 6 * pad as u32;
        let bytes = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Ok(out)
}

/// A zlib stream (RFC 1950): header, DEFLATE body, Adler-32 trailer.
pub fn zlib_decompress(data: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let [cmf, flg, ..] = *data else {
        return err("zlib: truncated header");
    };
    if cmf & 0x0f != 8 || (u16::from(cmf) << 8 | u16::from(flg)) % 31 != 0 || flg & 0x20 != 0 {
        return err("zlib: bad header");
    }
    let mut bits = Bits::new(&data[2..]);
    let out = inflate(&mut bits)?;
    let trailer = data
        .get(2 + bits.pos..2 + bits.pos + 4)
        .ok_or_else(|| DecodeError("zlib: missing checksum".into()))?;
    let expected = u32::from_be_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    if adler32(&out) != expected {
        return err("zlib: checksum mismatch");
    }
    Ok(out)
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    b << 16 | a
}

/// LSB-first bit reader over a byte slice.
struct Bits<'a> {
    data: &'a [u8],
    /// Next unread byte.
    pos: usize,
    buf: u32,
    count: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            pos: 0,
            buf: 0,
            count: 0,
        }
    }

    fn take(&mut self, n: u32) -> Result<u32, DecodeError> {
        while self.count < n {
            let byte = *self
                .data
                .get(self.pos)
                .ok_or_else(|| DecodeError("zlib: truncated stream".into()))?;
            self.pos += 1;
            self.buf |= u32::from(byte) << self.count;
            self.count += 8;
        }
        let value = self.buf & ((1u32 << n) - 1);
        self.buf = self.buf.checked_shr(n).unwrap_or(0);
        self.count -= n;
        Ok(value)
    }

    /// Drop the bits left in the current byte (stored blocks start byte-aligned).
    fn align(&mut self) {
        self.buf = 0;
        self.count = 0;
    }
}

/// A canonical Huffman code: how many codes of each length, symbols ordered by code.
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Result<Self, DecodeError> {
        let mut counts = [0u16; 16];
        for &len in lengths {
            counts[usize::from(len)] += 1;
        }
        let mut offsets = [0u16; 16];
        for len in 1..15 {
            offsets[len + 1] = offsets[len] + counts[len];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (symbol, &len) in lengths.iter().enumerate() {
            if len != 0 {
                let slot = &mut offsets[usize::from(len)];
                symbols[usize::from(*slot)] = symbol as u16;
                *slot += 1;
            }
        }
        counts[0] = 0;
        Ok(Self { counts, symbols })
    }

    fn decode(&self, bits: &mut Bits) -> Result<usize, DecodeError> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.take(1)? as i32;
            let count = i32::from(self.counts[len]);
            if code - count < first {
                let at = (index + code - first) as usize;
                return self
                    .symbols
                    .get(at)
                    .map(|&s| usize::from(s))
                    .ok_or_else(|| DecodeError("zlib: bad code".into()));
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        err("zlib: bad code")
    }
}

const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// A raw DEFLATE stream (RFC 1951); leaves `bits.pos` just past its last byte.
fn inflate(bits: &mut Bits) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    loop {
        let last = bits.take(1)? == 1;
        match bits.take(2)? {
            0 => stored_block(bits, &mut out)?,
            1 => {
                let (lit, dist) = fixed_codes()?;
                codes_block(bits, &mut out, &lit, &dist)?;
            }
            2 => {
                let (lit, dist) = dynamic_codes(bits)?;
                codes_block(bits, &mut out, &lit, &dist)?;
            }
            _ => return err("zlib: bad block type"),
        }
        if last {
            bits.align();
            return Ok(out);
        }
    }
}

fn stored_block(bits: &mut Bits, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    bits.align();
    let len = bits.take(16)? as usize;
    let nlen = bits.take(16)? as usize;
    if len != !nlen & 0xffff {
        return err("zlib: bad stored length");
    }
    let bytes = bits
        .data
        .get(bits.pos..bits.pos + len)
        .ok_or_else(|| DecodeError("zlib: truncated stream".into()))?;
    grow(out, len)?;
    out.extend_from_slice(bytes);
    bits.pos += len;
    Ok(())
}

fn grow(out: &[u8], more: usize) -> Result<(), DecodeError> {
    if out.len() + more > MAX_INFLATED {
        return err("zlib: decompressed data too large");
    }
    Ok(())
}

fn fixed_codes() -> Result<(Huffman, Huffman), DecodeError> {
    let mut lengths = [0u8; 288];
    for (symbol, len) in lengths.iter_mut().enumerate() {
        *len = match symbol {
            0..=143 => 8,
            144..=255 => 9,
            256..=279 => 7,
            _ => 8,
        };
    }
    Ok((Huffman::new(&lengths)?, Huffman::new(&[5u8; 30])?))
}

fn dynamic_codes(bits: &mut Bits) -> Result<(Huffman, Huffman), DecodeError> {
    let nlen = bits.take(5)? as usize + 257;
    let ndist = bits.take(5)? as usize + 1;
    let ncode = bits.take(4)? as usize + 4;
    if nlen > 286 || ndist > 30 {
        return err("zlib: bad code counts");
    }
    let mut code_lengths = [0u8; 19];
    for &slot in &CODE_LENGTH_ORDER[..ncode] {
        code_lengths[slot] = bits.take(3)? as u8;
    }
    let lencode = Huffman::new(&code_lengths)?;
    let mut lengths = Vec::with_capacity(nlen + ndist);
    while lengths.len() < nlen + ndist {
        let symbol = lencode.decode(bits)?;
        let (value, repeat) = match symbol {
            0..=15 => (symbol as u8, 1),
            16 => {
                let prev = *lengths
                    .last()
                    .ok_or_else(|| DecodeError("zlib: repeat with no length".into()))?;
                (prev, 3 + bits.take(2)? as usize)
            }
            17 => (0, 3 + bits.take(3)? as usize),
            _ => (0, 11 + bits.take(7)? as usize),
        };
        if lengths.len() + repeat > nlen + ndist {
            return err("zlib: too many lengths");
        }
        lengths.extend(std::iter::repeat_n(value, repeat));
    }
    Ok((
        Huffman::new(&lengths[..nlen])?,
        Huffman::new(&lengths[nlen..])?,
    ))
}

fn codes_block(
    bits: &mut Bits,
    out: &mut Vec<u8>,
    lit: &Huffman,
    dist: &Huffman,
) -> Result<(), DecodeError> {
    loop {
        let symbol = lit.decode(bits)?;
        match symbol {
            0..=255 => {
                grow(out, 1)?;
                out.push(symbol as u8);
            }
            256 => return Ok(()),
            _ => {
                let i = symbol - 257;
                let (&base, &extra) = LEN_BASE
                    .get(i)
                    .zip(LEN_EXTRA.get(i))
                    .ok_or_else(|| DecodeError("zlib: bad length symbol".into()))?;
                let len = usize::from(base) + bits.take(u32::from(extra))? as usize;
                let d = dist.decode(bits)?;
                let (&base, &extra) = DIST_BASE
                    .get(d)
                    .zip(DIST_EXTRA.get(d))
                    .ok_or_else(|| DecodeError("zlib: bad distance symbol".into()))?;
                let back = usize::from(base) + bits.take(u32::from(extra))? as usize;
                if back > out.len() {
                    return err("zlib: distance too far back");
                }
                grow(out, len)?;
                let start = out.len() - back;
                for k in 0..len {
                    out.push(out[start + k]);
                }
            }
        }
    }
}

/// The text of a pickle whose value is one `str` (or UTF-8 `bytes`), as `pickle.dumps(s)`
/// writes it with protocols 2 to 5 (PROTO, FRAME, *BINUNICODE*/*BINBYTES*, memo ops, STOP).
pub fn unpickle_text(data: &[u8]) -> Result<String, DecodeError> {
    let mut pos = 0usize;
    let mut value: Option<Vec<u8>> = None;
    let take = |n: usize, pos: &mut usize| -> Result<&[u8], DecodeError> {
        let slice = data
            .get(*pos..pos.saturating_add(n))
            .ok_or_else(|| DecodeError("pickle: truncated".into()))?;
        *pos += n;
        Ok(slice)
    };
    let le = |b: &[u8]| {
        b.iter()
            .rev()
            .fold(0usize, |acc, &x| acc << 8 | usize::from(x))
    };
    loop {
        let op = take(1, &mut pos)?[0];
        match op {
            0x80 => {
                take(1, &mut pos)?;
            }
            0x95 => {
                take(8, &mut pos)?;
            }
            0x94 => {}
            b'q' => {
                take(1, &mut pos)?;
            }
            b'r' => {
                take(4, &mut pos)?;
            }
            0x8c | b'C' | b'X' | b'B' | 0x8d | 0x8e => {
                let width = match op {
                    0x8c | b'C' => 1,
                    b'X' | b'B' => 4,
                    _ => 8,
                };
                let len = le(take(width, &mut pos)?);
                if value.is_some() {
                    return err("pickle: more than one value");
                }
                value = Some(take(len, &mut pos)?.to_vec());
            }
            b'.' => break,
            other => {
                return err(format!(
                    "pickle: unsupported opcode 0x{other:02x} (only a pickled str is supported)"
                ))
            }
        }
    }
    let bytes = value.ok_or_else(|| DecodeError("pickle: no value".into()))?;
    String::from_utf8(bytes).map_err(|_| DecodeError("pickle: value is not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DYNAMIC_B64: &str = "eJxt1kuKnSEUhdF+RlFDcKvnldkkkEagyPyboSjU8+qpnY//Xljsz7///nyMnx8/Pr8O+Pnx6/f3cX4dz2V9X851n+t5oPdwntg/nUc5IX0h8yGMWAJyCrO2sLoY9v0sejlw6EnqaelZ7c3R9SZOb073Oy7fmzv2JuXe5KYnbU9vz15vjfDHIfbWzL21am/trrfo9Ba7noSepp7l3h61t9H19jy9vV5vb9/bFHubS0+anrY9Oz0ar0fwPZqxRyv3aNceUdcjvj1xPQ09iz0euceoPZ5dj9fp8X49Jt9jTj0pPW161vXksiLOFQmwSJJFCi3S2CI9LlcXcbxI8EWTL1p80cYXbX3R64s6XzT4oskXLb5o44u1vtj1xZwvFnyx5IsVX6zxxVpf7PpizheMAAxGEgajEIPRGIPRIoNxlcFgn5WY1Zwt0gANNUBrDXCxAZw2QOAGSN4ABRygEQdoyQGuOZgOHcygDmZiB7O4g9nAg9nKg8kvKz6rMZv0wSr8YDX+YLUAYV2BsBxBWMEgLM7ZohBWwxBW6xD22zfbSYQdKMJOFmEXjLAbjbBbjrDlZdVn4+KhPHmobh7qRg/1q4fc7PG7h+Lwobx8qE4famwCtziBr05gxxM4+AROQIGLUOCGKHBrFFhf1islUSnJSklVSjqlpFdKnlLilZKolGSlpCqlnVLaK6VPKfVKaVRKs1JaldJOKe2V0qeUeaUsKmVZKatKWaeU9UrZU8q8UhaVsqfUf/ZG2lA=";

    #[test]
    fn base64_decodes_padded_and_rejects_bad_input() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGk=\n").unwrap(), b"hi");
        assert_eq!(base64_decode("YWJj").unwrap(), b"abc");
        assert!(base64_decode("aGVsbG8").is_err());
        assert!(base64_decode("[{\"a\"").is_err());
    }

    #[test]
    fn unpickles_protocol_4_str() {
        // pickle.dumps(json.dumps([1])) on CPython 3.11.
        let data = b"\x80\x04\x95\x07\x00\x00\x00\x00\x00\x00\x00\x8c\x03[1]\x94.";
        assert_eq!(unpickle_text(data).unwrap(), "[1]");
        // A pickle that would call a global is refused, not run.
        assert!(unpickle_text(b"cos\nsystem\n(S'echo'\ntR.").is_err());
    }

    #[test]
    fn decodes_fixed_huffman_fixture_blob() {
        // base64(zlib(pickle(json.dumps(cases)))) generated with CPython.
        let blob = "eJxrYJnqzgABPc7R1UqZeQWlJUpWCkrGMXlKOgpK+aUlUAEDPWM4gMiVpBaXlFQWpIJki0tSMvOUamOn6AEAXYQWiA==";
        assert_eq!(
            private_test_cases_json(blob).unwrap(),
            r#"[{"input": "3\n", "output": "0.3333333333\n", "testtype": "stdin"}]"#
        );
    }

    #[test]
    fn decodes_dynamic_huffman_and_stored_blocks() {
        // zlib.compress(b"".join(b"line %d: %s\n" % (i, b"ab" * (i % 7)) for i in range(200)))
        let expected: String = (0..200)
            .map(|i| format!("line {i}: {}\n", "ab".repeat(i % 7)))
            .collect();
        let dynamic = base64_decode(DYNAMIC_B64).unwrap();
        assert_eq!(
            dynamic[2] & 0b111,
            0b101,
            "first block: final, dynamic Huffman"
        );
        assert_eq!(zlib_decompress(&dynamic).unwrap(), expected.as_bytes());
        // zlib.compress(b"stored!", level=0)
        let stored = base64_decode("eAEBBwD4/3N0b3JlZCEL7wKz").unwrap();
        assert_eq!(zlib_decompress(&stored).unwrap(), b"stored!");
        let mut corrupt = dynamic.to_vec();
        let n = corrupt.len();
        corrupt[n - 1] ^= 1;
        assert!(zlib_decompress(&corrupt).is_err());
    }
}
