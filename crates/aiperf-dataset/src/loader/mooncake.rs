//! `mooncake_trace`: one request per line, in the Mooncake trace format.
//! `{"timestamp": 0, "input_length": 655, "output_length": 52, "hash_ids": [0, 1]}`
//!
//! Exactly one input: `input_length` (a synthetic prompt of that many tokens, built from
//! shared blocks when `hash_ids` is given, see [`crate::blocks`]), `text_input` (literal text),
//! `messages` (an OpenAI message list, sent as it is on chat) or `payload` (a verbatim body).
//! Rows with the same `session_id` are consecutive turns of one conversation with history.
//! Timestamps (ms) make the run a fixed-schedule replay.

use std::path::Path;

use aiperf_core::{Conversation, Turn};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{check_timing, for_each_line, output_length, LoadContext, LoadError, Sessions};
use crate::blocks::{BlockPrompts, DEFAULT_BLOCK_SIZE};
use crate::rng::Rng;
use crate::synthetic::PromptGenerator;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    #[serde(default)]
    input_length: Option<i64>,
    #[serde(default)]
    hash_ids: Option<Vec<u64>>,
    #[serde(default)]
    text_input: Option<String>,
    #[serde(default)]
    messages: Option<Vec<Value>>,
    #[serde(default)]
    tools: Option<Value>,
    #[serde(default)]
    payload: Option<Map<String, Value>>,
    #[serde(default)]
    output_length: Option<i64>,
    #[serde(default)]
    timestamp: Option<f64>,
    #[serde(default)]
    delay: Option<f64>,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    extra: Option<Map<String, Value>>,
    /// AIPerf's optional format field: `"mooncake_trace"`.
    #[serde(default, rename = "type")]
    format: Option<String>,
    /// Written by `aiperf synthesize` (AIPerf's `MooncakeTrace` accepts them); not used.
    #[serde(default)]
    #[allow(dead_code)]
    group_id: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    is_restart: Option<Value>,
}

impl Row {
    /// The rules a row must pass before anything is synthesized.
    fn check(&self) -> Result<(), String> {
        super::check_format(self.format.as_deref(), "mooncake_trace")?;
        let inputs = [
            self.input_length.is_some(),
            self.text_input.is_some(),
            self.messages.is_some(),
            self.payload.is_some(),
        ];
        if inputs.iter().filter(|x| **x).count() != 1 {
            return Err(
                "give exactly one of 'input_length', 'text_input', 'messages', 'payload'".into(),
            );
        }
        if self.hash_ids.is_some() && self.input_length.is_none() {
            return Err("'hash_ids' needs 'input_length'".into());
        }
        if self.tools.is_some() && self.messages.is_none() {
            return Err("'tools' needs 'messages'".into());
        }
        check_timing(self.timestamp, self.delay)?;
        output_length(self.output_length)?;
        match self.input_length {
            Some(n) if n <= 0 => Err(format!("'input_length' must be > 0, got {n}")),
            _ => Ok(()),
        }
    }
}

/// Whether the first record is a Mooncake trace row (AIPerf: it validates as `MooncakeTrace`).
pub fn can_load(probe: &super::Probe) -> bool {
    // SPEED-Bench rows (`messages` plus a question id) are not traces, as AIPerf decides.
    probe
        .first_as::<Row>()
        .is_some_and(|row| row.check().is_ok())
        && probe
            .first
            .as_ref()
            .is_none_or(|f| crate::public::speed_bench::invalid(f).is_some())
}

/// A prompt still to synthesize: `input_length` from shared blocks, or a corpus window.
enum Synth {
    Blocks(usize, Vec<u64>),
    Window(usize, usize),
}

/// The text of each message's content (strings and `text` parts), for token counting.
fn message_texts(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| m.get("content"))
        .flat_map(|c| match c {
            Value::String(s) => vec![s.clone()],
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str).map(str::to_string))
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// The prompt text of a verbatim body (its `messages`' contents, else its `prompt`), for
/// token counting.
pub(crate) fn payload_texts(p: &Map<String, Value>) -> Vec<String> {
    p.get("messages")
        .and_then(Value::as_array)
        .map(|m| message_texts(m))
        .or_else(|| {
            p.get("prompt")
                .and_then(Value::as_str)
                .map(|s| vec![s.to_string()])
        })
        .unwrap_or_default()
}

pub fn load(path: &Path, ctx: &LoadContext<'_>) -> Result<Vec<Conversation>, LoadError> {
    let block_size = ctx.block_size.unwrap_or(DEFAULT_BLOCK_SIZE);
    let mut blocks = BlockPrompts::new(ctx.tokenizer, ctx.corpus, ctx.seed, block_size);
    let generator = PromptGenerator::new(ctx.tokenizer, ctx.corpus);
    let mut offsets = Rng::derive(ctx.seed, "dataset.trace.prompt");
    let corpus_len = ctx.corpus.tokens.len().max(1) as u64;
    // Rows are read and checked first; prompts are synthesized afterwards on all cores (blocks
    // once per hash id, then each row's text), and rows are grouped into sessions last.
    let mut rows: Vec<(Option<String>, Turn, Option<Synth>)> = Vec::new();
    let mut max_isl = crate::synthesis::MaxIslFilter::new(&ctx.synthesis);
    for_each_line(path, |_, row: Row| {
        row.check()?;
        if !max_isl.keeps(row.input_length.map(|n| n.max(0) as u64)) {
            return Ok(());
        }
        let mut turn = Turn {
            max_tokens: output_length(row.output_length)?,
            timestamp_ms: row.timestamp,
            delay_ms: row.delay,
            extra: row.extra,
            ..Default::default()
        };
        if let Some(n) = row.input_length {
            if n <= 0 {
                return Err(format!("'input_length' must be > 0, got {n}"));
            }
            let synth = match row.hash_ids {
                Some(ids) => {
                    blocks.last_block(n as usize, ids.len())?;
                    Synth::Blocks(n as usize, ids)
                }
                None => Synth::Window(offsets.below(corpus_len) as usize, n as usize),
            };
            rows.push((row.session_id, turn, Some(synth)));
            return Ok(());
        } else if let Some(t) = row.text_input {
            turn.texts = vec![t];
        } else if let Some(m) = row.messages {
            turn.texts = message_texts(&m);
            if let Some(tools) = row.tools {
                turn.extra
                    .get_or_insert_with(Default::default)
                    .insert("tools".into(), tools);
            }
            turn.messages = Some(m);
        } else if let Some(p) = row.payload {
            turn.texts = payload_texts(&p);
            turn.payload = Some(p);
        }
        rows.push((row.session_id, turn, None));
        Ok(())
    })?;
    max_isl.report();
    if ctx.synthesis.is_set() {
        synthesize(ctx, &mut rows, block_size).map_err(|e| LoadError::file(path, e))?;
    }
    blocks.prefill_shared(rows.iter().flat_map(|(_, _, s)| match s {
        Some(Synth::Blocks(_, ids)) => ids.clone(),
        _ => Vec::new(),
    }));
    let texts: Vec<Option<String>> = crate::parallel::map(&rows, |(_, _, synth)| match synth {
        // Fits: checked while reading.
        Some(Synth::Blocks(n, ids)) => Some(blocks.prompt_prefilled(*n, ids).unwrap_or_default()),
        Some(Synth::Window(start, n)) => Some(generator.prompt(*start, *n)),
        None => None,
    });
    let mut sessions = Sessions::new(false);
    for ((session_id, mut turn, _), text) in rows.into_iter().zip(texts) {
        if let Some(t) = text {
            turn.texts = vec![t];
        }
        sessions.push(session_id, turn);
    }
    Ok(sessions.into_conversations())
}

/// `--synthesis-*` over the rows read (`crate::synthesis`): their blocks, lengths, timestamps
/// and output lengths rewritten before any prompt is built.
fn synthesize(
    ctx: &LoadContext<'_>,
    rows: &mut [(Option<String>, Turn, Option<Synth>)],
    block_size: usize,
) -> Result<(), String> {
    use crate::synthesis::{apply, TraceRow};
    let mut trace: Vec<TraceRow> = rows
        .iter()
        .map(|(_, turn, synth)| {
            let (hash_ids, input_length) = match synth {
                Some(Synth::Blocks(n, ids)) => (ids.clone(), Some(*n as u64)),
                Some(Synth::Window(_, n)) => (Vec::new(), Some(*n as u64)),
                None => (Vec::new(), None),
            };
            TraceRow {
                hash_ids,
                input_length,
                output_length: turn.max_tokens.map(u64::from),
                timestamp: turn.timestamp_ms,
                literal: synth.is_none(),
            }
        })
        .collect();
    apply(&ctx.synthesis, &mut trace, block_size as u64, ctx.seed).map_err(|e| e.to_string())?;
    for ((_, turn, synth), row) in rows.iter_mut().zip(trace) {
        turn.timestamp_ms = row.timestamp;
        turn.max_tokens = row.output_length.map(|v| v.min(u64::from(u32::MAX)) as u32);
        let n = row.input_length.unwrap_or(0) as usize;
        match synth {
            // A capped length keeps the blocks it still reaches.
            Some(Synth::Blocks(len, ids)) if !row.hash_ids.is_empty() && n > 0 => {
                let mut new_ids = row.hash_ids;
                new_ids.truncate(n.div_ceil(block_size));
                *len = n;
                *ids = new_ids;
            }
            Some(Synth::Blocks(..)) | Some(Synth::Window(..)) => {
                let start = match synth {
                    Some(Synth::Window(start, _)) => *start,
                    _ => 0,
                };
                *synth = Some(Synth::Window(start, n.max(1)));
            }
            None => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Corpus;
    use crate::loader::test_util::{context, with_file};
    use crate::TextTokenizer;

    /// `--synthesis-max-isl` skips rows recorded longer (AIPerf's `_filter_and_cap_trace`);
    /// rows without a length (literal prompts) always stay.
    #[test]
    fn max_isl_skips_longer_rows_instead_of_cutting_them() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        let mut ctx = context(&t, &c);
        ctx.block_size = Some(16);
        ctx.synthesis.max_isl = Some(40);
        let text = r#"{"timestamp": 0, "input_length": 40, "output_length": 5, "hash_ids": [1, 2, 3]}
{"timestamp": 10, "input_length": 41, "output_length": 5, "hash_ids": [1, 2, 4]}
{"timestamp": 20, "input_length": 90}
{"timestamp": 30, "text_input": "a literal prompt of any length"}
"#;
        let convs = with_file("t.jsonl", text, |p| load(p, &ctx)).unwrap();
        let ts: Vec<_> = convs.iter().map(|c| c.turns[0].timestamp_ms).collect();
        assert_eq!(ts, [Some(0.0), Some(30.0)]);
        assert_eq!(t.count(&convs[0].turns[0].texts[0]), 40);
    }

    #[test]
    fn reads_every_input_kind_and_sessions() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        let mut ctx = context(&t, &c);
        ctx.block_size = Some(16);
        let text = r#"{"timestamp": 0, "input_length": 40, "output_length": 5, "hash_ids": [1, 2, 3]}
{"timestamp": 10, "input_length": 40, "output_length": 5, "hash_ids": [1, 2, 4]}
{"timestamp": 20, "input_length": 25}
{"timestamp": 30, "text_input": "hello there", "session_id": "s"}
{"delay": 100, "messages": [{"role": "user", "content": "again"}], "tools": [], "session_id": "s"}
{"timestamp": 50, "payload": {"model": "m", "prompt": "raw"}}
"#;
        let convs = with_file("t.jsonl", text, |p| load(p, &ctx)).unwrap();
        assert_eq!(convs.len(), 5);
        let a = t.encode(&convs[0].turns[0].texts[0]);
        let b = t.encode(&convs[1].turns[0].texts[0]);
        assert_eq!((a.len(), b.len()), (40, 40));
        assert_eq!(a[..32], b[..32]);
        assert_eq!(convs[0].turns[0].timestamp_ms, Some(0.0));
        assert_eq!(convs[0].turns[0].max_tokens, Some(5));
        assert_eq!(t.count(&convs[2].turns[0].texts[0]), 25);
        assert_eq!(convs[3].session_id, "s");
        assert_eq!(convs[3].turns.len(), 2);
        assert_eq!(convs[3].turns[1].delay_ms, Some(100.0));
        assert_eq!(convs[3].turns[1].texts, ["again"]);
        assert!(convs[3].turns[1]
            .extra
            .as_ref()
            .unwrap()
            .contains_key("tools"));
        assert_eq!(convs[4].turns[0].payload.as_ref().unwrap()["prompt"], "raw");
        assert_eq!(convs[4].turns[0].texts, ["raw"]);
    }

    #[test]
    fn bad_rows_name_their_line() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        let ctx = context(&t, &c);
        let cases = [
            ("{\"input_length\": 5, \"text_input\": \"x\"}", "t.jsonl:1: give exactly one of 'input_length', 'text_input', 'messages', 'payload'"),
            ("{\"output_length\": 5}", "t.jsonl:1: give exactly one of 'input_length', 'text_input', 'messages', 'payload'"),
            ("{\"text_input\": \"x\", \"hash_ids\": [1]}", "t.jsonl:1: 'hash_ids' needs 'input_length'"),
            ("{\"input_length\": 0}", "t.jsonl:1: 'input_length' must be > 0, got 0"),
            ("{\"input_length\": 5, \"timestamp\": -1}", "t.jsonl:1: 'timestamp' must be a number >= 0 (ms)"),
            ("{\"input_length\": 600, \"hash_ids\": [1]}", "t.jsonl:1: input_length 600 does not fit 1 hash_ids of block size 512: the last block would hold 600 tokens (must be 1..=512)"),
        ];
        for (line, want) in cases {
            let e = with_file("t.jsonl", line, |p| load(p, &ctx)).unwrap_err();
            assert_eq!(e.to_string(), want);
        }
        let e = with_file("t.jsonl", "{\"input_length\": 5, \"hashids\": [1]}", |p| {
            load(p, &ctx)
        })
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("t.jsonl:1: unknown field `hashids`"), "{e}");
    }
}
