//! `burst_gpt_trace`: the BurstGPT CSV trace (<https://github.com/HPMLL/BurstGPT>).
//! ```text
//! Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type
//! 5,ChatGPT,472,18,490,Conversation log
//! ```
//!
//! As AIPerf's `BurstGPTTraceDatasetLoader`: the header must name `Timestamp`, `Request tokens`
//! and `Response tokens` (other columns are ignored); every row is an independent single-turn
//! request with a prompt of `Request tokens` tokens synthesized from the corpus (no hash ids),
//! `max_tokens` = `Response tokens`, sent at `Timestamp` seconds (`* 1000` ms) of a
//! fixed-schedule replay. Rows are kept in file order (the schedule orders them by time).
//!
//! Unlike AIPerf, which skips a row it cannot parse, a bad row stops loading with its line
//! number. As there, a `Response tokens` of 0 (BurstGPT's failed requests) is sent as
//! `max_tokens: 0`, and a `Request tokens` of 0 becomes a one-token prompt.

use std::path::Path;

use aiperf_core::{Conversation, Turn};

use super::{LoadContext, LoadError};
use crate::blocks::CorpusPrompts;
use crate::rng::Rng;

/// The longest prompt a row may ask for (the `--isl` bound of the command line): a larger
/// `Request tokens` is a broken row, refused before any memory is sized by it.
pub const MAX_REQUEST_TOKENS: u64 = 10_000_000;

/// The columns AIPerf requires (`_REQUIRED_COLUMNS`), in the order they are reported.
pub const REQUIRED: [&str; 3] = ["Timestamp", "Request tokens", "Response tokens"];

/// Where each required column is in `header`, or which are missing.
fn columns(header: &csv::StringRecord) -> Result<[usize; 3], Vec<&'static str>> {
    let find = |name: &str| header.iter().position(|h| h == name);
    let found = REQUIRED.map(find);
    match found {
        [Some(t), Some(i), Some(o)] => Ok([t, i, o]),
        _ => Err(REQUIRED
            .iter()
            .zip(found)
            .filter(|(_, f)| f.is_none())
            .map(|(n, _)| *n)
            .collect()),
    }
}

fn reader<R: std::io::Read>(r: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(r)
}

/// Whether the file's first non-blank line is a CSV header naming the three required columns
/// (AIPerf's `can_load`: `csv.DictReader(f).fieldnames` ⊇ the required columns).
pub fn can_load(probe: &super::Probe) -> bool {
    if probe.is_dir || probe.first.is_some() {
        return false;
    }
    let Some(line) = probe.head.lines().find(|l| !l.trim().is_empty()) else {
        return false;
    };
    reader(line.as_bytes())
        .headers()
        .is_ok_and(|h| columns(h).is_ok())
}

/// A field's value as a count >= 0.
fn count(column: &str, value: Option<&str>) -> Result<u64, String> {
    let v = value.ok_or_else(|| format!("the row has no '{column}' value"))?;
    match v.trim().parse::<i64>() {
        Ok(n) if n >= 0 => Ok(n as u64),
        _ => Err(format!("'{column}' must be a whole number >= 0, got '{v}'")),
    }
}

pub fn load(path: &Path, ctx: &LoadContext<'_>) -> Result<Vec<Conversation>, LoadError> {
    let file =
        aiperf_core::textfile::open(path).map_err(|e| LoadError::file(path, e.to_string()))?;
    let name = path.display().to_string();
    let at = |line: u64, reason: String| LoadError::Line {
        path: name.clone(),
        line: line as usize,
        reason,
    };
    let mut csv = reader(file);
    let header = csv
        .headers()
        .map_err(|e| at(e.position().map_or(1, |p| p.line()), e.to_string()))?
        .clone();
    let header_line = header.position().map_or(1, |p| p.line()).max(1);
    if header.iter().all(|h| h.trim().is_empty()) {
        return Err(at(
            1,
            format!(
                "no CSV header: expected the columns {}",
                REQUIRED.map(|c| format!("'{c}'")).join(", ")
            ),
        ));
    }
    let [ts_col, in_col, out_col] = columns(&header).map_err(|missing| {
        at(
            header_line,
            format!(
                "missing column {} (the header has {})",
                missing
                    .iter()
                    .map(|c| format!("'{c}'"))
                    .collect::<Vec<_>>()
                    .join(", "),
                header
                    .iter()
                    .map(|c| format!("'{c}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    let prompts = CorpusPrompts::new(ctx.tokenizer, ctx.corpus);
    let mut offsets = Rng::derive(ctx.seed, "dataset.trace.prompt");
    let corpus_len = ctx.corpus.tokens.len().max(1) as u64;
    let mut rows: Vec<Request> = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut max_isl = crate::synthesis::MaxIslFilter::new(&ctx.synthesis);
    loop {
        let more = csv
            .read_record(&mut record)
            .map_err(|e| at(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        let mut request =
            Request::read(&record, [ts_col, in_col, out_col]).map_err(|reason| at(line, reason))?;
        if !max_isl.keeps(Some(request.tokens as u64)) {
            continue;
        }
        request.window = offsets.below(corpus_len) as usize;
        rows.push(request);
    }
    max_isl.report();
    if ctx.synthesis.is_set() {
        synthesize(ctx, &mut rows).map_err(|e| LoadError::file(path, e))?;
    }
    // Each row becomes its conversation on all cores; the prompt is the only real work.
    Ok(crate::parallel::map_indexed(&rows, |i, r| {
        let turn = Turn {
            texts: vec![prompts.prompt(r.window, r.tokens)],
            max_tokens: Some(r.max_tokens),
            timestamp_ms: Some(r.timestamp_ms),
            ..Default::default()
        };
        // Named by position, as rows without a session id are everywhere.
        Conversation::single(format!("session_{i:06}"), turn)
    }))
}

/// `--synthesis-*` over the rows (`crate::synthesis`): BurstGPT rows have no hash blocks, so
/// only their timing, output lengths and the length caps change.
fn synthesize(ctx: &LoadContext<'_>, rows: &mut [Request]) -> Result<(), String> {
    use crate::synthesis::{apply, TraceRow};
    let mut trace: Vec<TraceRow> = rows
        .iter()
        .map(|r| TraceRow {
            hash_ids: Vec::new(),
            input_length: Some(r.tokens as u64),
            output_length: Some(u64::from(r.max_tokens)),
            timestamp: Some(r.timestamp_ms),
            literal: false,
        })
        .collect();
    let block_size = ctx.block_size.unwrap_or(crate::blocks::DEFAULT_BLOCK_SIZE) as u64;
    apply(&ctx.synthesis, &mut trace, block_size, ctx.seed).map_err(|e| e.to_string())?;
    for (r, t) in rows.iter_mut().zip(trace) {
        r.timestamp_ms = t.timestamp.unwrap_or(r.timestamp_ms);
        r.max_tokens = t
            .output_length
            .map_or(r.max_tokens, |v| v.min(u64::from(u32::MAX)) as u32);
        r.tokens = t.input_length.map_or(r.tokens, |v| v.max(1) as usize);
    }
    Ok(())
}

/// One row as kept until prompts are made: 32 bytes, not a `Turn`.
struct Request {
    timestamp_ms: f64,
    max_tokens: u32,
    /// Prompt tokens, and where in the corpus the prompt is cut from.
    tokens: usize,
    window: usize,
}

impl Request {
    /// The row's timed request, from its `Timestamp`, `Request tokens` and `Response tokens`
    /// fields (at `cols`); the prompt window is drawn by the caller.
    fn read(
        record: &csv::StringRecord,
        [ts_col, in_col, out_col]: [usize; 3],
    ) -> Result<Self, String> {
        let ts = record
            .get(ts_col)
            .ok_or_else(|| "the row has no 'Timestamp' value".to_string())?;
        let seconds: f64 = ts
            .trim()
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s >= 0.0)
            .ok_or_else(|| format!("'Timestamp' must be a number of seconds >= 0, got '{ts}'"))?;
        let input = count("Request tokens", record.get(in_col))?;
        if input > MAX_REQUEST_TOKENS {
            return Err(format!(
                "'Request tokens' must be at most {MAX_REQUEST_TOKENS}, got {input}"
            ));
        }
        let output = count("Response tokens", record.get(out_col))?;
        let max_tokens = u32::try_from(output)
            .map_err(|_| format!("'Response tokens' is too large: {output}"))?;
        Ok(Self {
            timestamp_ms: seconds * 1000.0,
            max_tokens,
            tokens: input.max(1) as usize,
            window: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Corpus;
    use crate::loader::test_util::{context, with_file};
    use crate::loader::Probe;
    use crate::TextTokenizer;

    const HEADER: &str = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type";

    /// `--synthesis-*` on BurstGPT rows (no blocks): time / 4, outputs x 1.5 (rounded as
    /// Python rounds: 10.5 -> 10); a row
    /// recorded longer than `--synthesis-max-isl` 30 is skipped, as AIPerf skips it.
    #[test]
    fn synthesis_scales_time_and_lengths() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        let mut ctx = context(&t, &c);
        ctx.synthesis.speedup_ratio = 4.0;
        ctx.synthesis.output_len_multiplier = 1.5;
        ctx.synthesis.max_isl = Some(30);
        let text = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n\
                    2,ChatGPT,20,5,25,Conversation log\n\
                    6,ChatGPT,50,9,59,Conversation log\n\
                    10,ChatGPT,30,7,37,Conversation log\n";
        let convs = with_file("b.csv", text, |p| load(p, &ctx)).unwrap();
        let ts: Vec<Option<f64>> = convs.iter().map(|c| c.turns[0].timestamp_ms).collect();
        assert_eq!(ts, [Some(500.0), Some(2500.0)]);
        let mt: Vec<Option<u32>> = convs.iter().map(|c| c.turns[0].max_tokens).collect();
        assert_eq!(mt, [Some(8), Some(10)]);
        let n: Vec<usize> = convs
            .iter()
            .map(|c| t.encode(&c.turns[0].texts[0]).len())
            .collect();
        assert_eq!(n, [20, 30]);
    }

    #[test]
    fn every_row_is_its_own_timed_request() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        let ctx = context(&t, &c);
        // Unsorted timestamps stay in file order (AIPerf does not sort; the schedule does).
        let text = format!(
            "{HEADER}\n5,ChatGPT,30,18,48,Conversation log\n\n1.5,GPT-4,12,7,19,API log\n2,ChatGPT,0,0,0,Conversation log\n"
        );
        let convs = with_file("b.csv", &text, |p| load(p, &ctx)).unwrap();
        assert_eq!(convs.len(), 3);
        assert!(convs.iter().all(|c| c.turns.len() == 1));
        let ts: Vec<Option<f64>> = convs.iter().map(|c| c.turns[0].timestamp_ms).collect();
        assert_eq!(ts, [Some(5000.0), Some(1500.0), Some(2000.0)]);
        let mt: Vec<Option<u32>> = convs.iter().map(|c| c.turns[0].max_tokens).collect();
        assert_eq!(mt, [Some(18), Some(7), Some(0)]);
        let n: Vec<usize> = convs
            .iter()
            .map(|c| t.count(&c.turns[0].texts[0]))
            .collect();
        assert_eq!(n, [30, 12, 1]);
        let ids: Vec<&str> = convs.iter().map(|c| c.session_id.as_str()).collect();
        assert_eq!(ids, ["session_000000", "session_000001", "session_000002"]);
    }

    #[test]
    fn only_the_three_columns_matter_in_any_order() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        let ctx = context(&t, &c);
        let text = "Response tokens,Request tokens,Timestamp\n3,9,0.25\n";
        let convs = with_file("b.csv", text, |p| load(p, &ctx)).unwrap();
        assert_eq!(convs[0].turns[0].max_tokens, Some(3));
        assert_eq!(convs[0].turns[0].timestamp_ms, Some(250.0));
        assert_eq!(t.count(&convs[0].turns[0].texts[0]), 9);
    }

    #[test]
    fn bad_rows_and_headers_name_their_line() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        let ctx = context(&t, &c);
        let ok = "0,ChatGPT,5,5,10,Conversation log";
        let cases = [
            (
                "1,ChatGPT,-3,5,2,Conversation log",
                "b.csv:3: 'Request tokens' must be a whole number >= 0, got '-3'",
            ),
            (
                "1,ChatGPT,abc,5,2,Conversation log",
                "b.csv:3: 'Request tokens' must be a whole number >= 0, got 'abc'",
            ),
            (
                "1,ChatGPT,5,2.5,2,Conversation log",
                "b.csv:3: 'Response tokens' must be a whole number >= 0, got '2.5'",
            ),
            (
                "-1,ChatGPT,5,5,10,Conversation log",
                "b.csv:3: 'Timestamp' must be a number of seconds >= 0, got '-1'",
            ),
            (
                "soon,ChatGPT,5,5,10,Conversation log",
                "b.csv:3: 'Timestamp' must be a number of seconds >= 0, got 'soon'",
            ),
            (
                "1,ChatGPT,5",
                "b.csv:3: the row has no 'Response tokens' value",
            ),
            (
                "1,ChatGPT,10000001,5,2,Conversation log",
                "b.csv:3: 'Request tokens' must be at most 10000000, got 10000001",
            ),
        ];
        for (line, want) in cases {
            let text = format!("{HEADER}\n{ok}\n{line}\n");
            let e = with_file("b.csv", &text, |p| load(p, &ctx)).unwrap_err();
            assert_eq!(e.to_string(), want);
        }
        let e = with_file("b.csv", "Timestamp,Model,Request tokens\n1,x,5\n", |p| {
            load(p, &ctx)
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "b.csv:1: missing column 'Response tokens' (the header has 'Timestamp', 'Model', 'Request tokens')"
        );
        let e = with_file("b.csv", "", |p| load(p, &ctx)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "b.csv:1: no CSV header: expected the columns 'Timestamp', 'Request tokens', 'Response tokens'"
        );
        // A header and no rows loads nothing (`loader::load` then says "no requests in file").
        let convs = with_file("b.csv", &format!("{HEADER}\n"), |p| load(p, &ctx)).unwrap();
        assert!(convs.is_empty());
    }

    #[test]
    fn detection_reads_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        for (text, want) in [
            (format!("{HEADER}\n1,a,2,3,5,x\n"), true),
            (format!("\n{HEADER}\n"), true),
            ("Timestamp,Request tokens\n1,2\n".to_string(), false),
            ("{\"Timestamp\": 1}\n".to_string(), false),
            (String::new(), false),
        ] {
            std::fs::write(&p, &text).unwrap();
            assert_eq!(can_load(&Probe::read(&p)), want, "{text}");
        }
    }
}
