//! `bailian_trace`: the Alibaba Bailian (Qwen serving) trace, one request per JSONL line
//! (<https://github.com/alibaba-edu/qwen-bailian-usagetraces-anon>).
//! `{"chat_id": 159, "parent_chat_id": -1, "timestamp": 61.114, "input_length": 521,
//! "output_length": 132, "type": "text", "turn": 1, "hash_ids": [1089, 1090, 1091]}`
//!
//! As AIPerf's `BailianTraceDatasetLoader`: `timestamp` is in seconds (sent at `timestamp *
//! 1000` ms of a fixed-schedule replay), `hash_ids` are blocks of 16 tokens unless
//! `--isl-block-size` says otherwise (an empty or absent list is a plain prompt of
//! `input_length` tokens), `type` is the request type (text/search/image/file, not the dataset
//! format) and is not used. Rows are grouped into sessions by following `parent_chat_id` to the
//! root (`-1`, or a parent not in the file); a session is named after its root's `chat_id`,
//! sessions come in the order their first row appears, and turns are ordered by `turn`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use aiperf_core::{Conversation, Turn};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{check_timing, for_each_line, output_length, LoadContext, LoadError};
use crate::blocks::BlockPrompts;
use crate::rng::Rng;
use crate::synthetic::PromptGenerator;

/// Tokens per `hash_ids` block in Bailian traces (AIPerf's `default_block_size: 16`).
pub const BLOCK_SIZE: usize = 16;

/// One row (AIPerf's `BailianTrace`; other fields are allowed and ignored, as there).
#[derive(Debug, Deserialize)]
struct Row {
    chat_id: i64,
    #[serde(default = "root")]
    parent_chat_id: i64,
    timestamp: f64,
    input_length: i64,
    output_length: i64,
    #[serde(default, rename = "type")]
    _request_type: Option<String>,
    #[serde(default = "first_turn")]
    turn: i64,
    #[serde(default)]
    hash_ids: Vec<i64>,
    /// A stray `extra` object is sent in the body, as AIPerf's trace turns do.
    #[serde(default)]
    extra: Option<Map<String, Value>>,
}

fn root() -> i64 {
    -1
}

fn first_turn() -> i64 {
    1
}

impl Row {
    /// The rules a row must pass before anything is synthesized.
    fn check(&self) -> Result<(), String> {
        if !self.timestamp.is_finite() || self.timestamp < 0.0 {
            return Err("'timestamp' must be a number >= 0 (seconds)".into());
        }
        check_timing(Some(self.timestamp * 1000.0), None)?;
        if self.input_length <= 0 {
            return Err(format!(
                "'input_length' must be > 0, got {}",
                self.input_length
            ));
        }
        output_length(Some(self.output_length))?;
        Ok(())
    }
}

/// Whether the first record is a Bailian row (AIPerf: it validates as `BailianTrace`, i.e. it
/// has `chat_id`, `timestamp`, `input_length` and `output_length`).
pub fn can_load(probe: &super::Probe) -> bool {
    probe
        .first_as::<Row>()
        .is_some_and(|row| row.check().is_ok())
}

/// AIPerf's `find_root`: follow `parent_chat_id` while the parent is in the file, stopping at a
/// root (`-1`), a self-parent or a cycle.
fn find_root(id: i64, parents: &HashMap<i64, i64>, cache: &mut HashMap<i64, i64>) -> i64 {
    if let Some(&r) = cache.get(&id) {
        return r;
    }
    let mut path = Vec::new();
    let mut seen = HashSet::new();
    let mut current = id;
    while let Some(&parent) = parents.get(&current) {
        if parent == -1 || !seen.insert(current) {
            break;
        }
        if parent == current || !parents.contains_key(&parent) {
            break;
        }
        path.push(current);
        current = parent;
    }
    for node in path {
        cache.insert(node, current);
    }
    cache.insert(id, current);
    current
}

pub fn load(path: &Path, ctx: &LoadContext<'_>) -> Result<Vec<Conversation>, LoadError> {
    let block_size = ctx.block_size.unwrap_or(BLOCK_SIZE);
    let mut blocks = BlockPrompts::new(ctx.tokenizer, ctx.corpus, ctx.seed, block_size);
    let generator = PromptGenerator::new(ctx.tokenizer, ctx.corpus);
    let mut offsets = Rng::derive(ctx.seed, "dataset.trace.prompt");
    let corpus_len = ctx.corpus.tokens.len().max(1) as u64;
    // (chat_id, turn number, the turn, its prompt: hash ids or a corpus window start).
    struct Pending {
        chat_id: i64,
        turn_no: i64,
        turn: Turn,
        input_length: usize,
        hash_ids: Vec<u64>,
        window: usize,
    }
    let mut rows: Vec<Pending> = Vec::new();
    // The last row with a chat_id is the one its links are read from (AIPerf's dict).
    let mut parents: HashMap<i64, i64> = HashMap::new();
    for_each_line(path, |_, row: Row| {
        row.check()?;
        let n = row.input_length as usize;
        let hash_ids: Vec<u64> = row.hash_ids.iter().map(|&h| h as u64).collect();
        let window = if hash_ids.is_empty() {
            offsets.below(corpus_len) as usize
        } else {
            blocks.last_block(n, hash_ids.len())?;
            0
        };
        parents.insert(row.chat_id, row.parent_chat_id);
        rows.push(Pending {
            chat_id: row.chat_id,
            turn_no: row.turn,
            turn: Turn {
                max_tokens: output_length(Some(row.output_length))?,
                timestamp_ms: Some(row.timestamp * 1000.0),
                extra: row.extra,
                ..Default::default()
            },
            input_length: n,
            hash_ids,
            window,
        });
        Ok(())
    })?;
    blocks.prefill(rows.iter().flat_map(|r| r.hash_ids.iter().copied()));
    let texts: Vec<String> = crate::parallel::map(&rows, |r| {
        if r.hash_ids.is_empty() {
            generator.prompt(r.window, r.input_length)
        } else {
            // Fits: checked while reading.
            blocks
                .prompt_prefilled(r.input_length, &r.hash_ids)
                .unwrap_or_default()
        }
    });
    let mut cache = HashMap::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    let mut sessions: Vec<(i64, Vec<(i64, Turn)>)> = Vec::new();
    for (mut r, text) in rows.into_iter().zip(texts) {
        r.turn.texts = vec![text];
        let root = find_root(r.chat_id, &parents, &mut cache);
        let i = *index.entry(root).or_insert_with(|| {
            sessions.push((root, Vec::new()));
            sessions.len() - 1
        });
        sessions[i].1.push((r.turn_no, r.turn));
    }
    Ok(sessions
        .into_iter()
        .map(|(root, mut turns)| {
            // Stable, as Python's sort: equal turn numbers keep file order.
            turns.sort_by_key(|(n, _)| *n);
            Conversation {
                session_id: root.to_string(),
                turns: turns.into_iter().map(|(_, t)| t).collect(),
                ..Default::default()
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Corpus;
    use crate::loader::test_util::{context, with_file};
    use crate::TextTokenizer;

    #[test]
    fn groups_chains_by_root_orders_by_turn_and_converts_seconds() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        let ctx = context(&t, &c);
        // Chat 160 follows 159 but comes first in the file and says turn 2; 161 follows 160;
        // 300's parent is not in the file, so it is a root; 400 has no hash_ids.
        let text = r#"{"chat_id": 160, "parent_chat_id": 159, "timestamp": 62.5, "input_length": 40, "output_length": 8, "type": "text", "turn": 2, "hash_ids": [1, 2, 3]}
{"chat_id": 159, "parent_chat_id": -1, "timestamp": 61.114, "input_length": 20, "output_length": 4, "type": "text", "turn": 1, "hash_ids": [1, 2]}
{"chat_id": 300, "parent_chat_id": 999, "timestamp": 0.5, "input_length": 17, "output_length": 3, "type": "search", "turn": 4, "hash_ids": [1, 9]}

{"chat_id": 161, "parent_chat_id": 160, "timestamp": 63, "input_length": 50, "output_length": 2, "type": "text", "turn": 3, "hash_ids": [1, 2, 3, 7]}
{"chat_id": 400, "timestamp": 1, "input_length": 25, "output_length": 6}
"#;
        let convs = with_file("b.jsonl", text, |p| load(p, &ctx)).unwrap();
        let ids: Vec<&str> = convs.iter().map(|c| c.session_id.as_str()).collect();
        assert_eq!(ids, ["159", "300", "400"]);
        let s = &convs[0];
        assert!(
            !s.independent_turns,
            "turns carry history, as mooncake sessions"
        );
        let ts: Vec<Option<f64>> = s.turns.iter().map(|t| t.timestamp_ms).collect();
        assert_eq!(ts, [Some(61114.0), Some(62500.0), Some(63000.0)]);
        let mt: Vec<Option<u32>> = s.turns.iter().map(|t| t.max_tokens).collect();
        assert_eq!(mt, [Some(4), Some(8), Some(2)]);
        let toks: Vec<Vec<u32>> = s.turns.iter().map(|x| t.encode(&x.texts[0])).collect();
        assert_eq!(
            toks.iter().map(Vec::len).collect::<Vec<_>>(),
            [20, 40, 50],
            "block size 16 by default"
        );
        assert_eq!(toks[0][..16], toks[1][..16], "hash id 1 shared");
        assert_eq!(toks[1][..32], toks[2][..32], "hash ids 1, 2 shared");
        let other = t.encode(&convs[1].turns[0].texts[0]);
        assert_eq!(other.len(), 17);
        assert_eq!(other[..16], toks[0][..16]);
        assert_eq!(convs[1].turns[0].timestamp_ms, Some(500.0));
        assert_eq!(t.count(&convs[2].turns[0].texts[0]), 25);
        assert_eq!(convs[2].turns[0].max_tokens, Some(6));
    }

    #[test]
    fn block_size_follows_isl_block_size() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        let mut ctx = context(&t, &c);
        ctx.block_size = Some(8);
        let row = r#"{"chat_id": 1, "timestamp": 0, "input_length": 20, "output_length": 1, "hash_ids": [1, 2]}"#;
        let e = with_file("b.jsonl", row, |p| load(p, &ctx)).unwrap_err();
        assert_eq!(e.to_string(), "b.jsonl:1: input_length 20 does not fit 2 hash_ids of block size 8: the last block would hold 12 tokens (must be 1..=8)");
        ctx.block_size = None;
        let convs = with_file("b.jsonl", row, |p| load(p, &ctx)).unwrap();
        assert_eq!(t.count(&convs[0].turns[0].texts[0]), 20);
    }

    #[test]
    fn bad_rows_name_their_line() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        let ctx = context(&t, &c);
        let ok = r#"{"chat_id": 1, "timestamp": 0, "input_length": 5, "output_length": 1}"#;
        let cases = [
            (
                r#"{"chat_id": 2, "timestamp": 0, "input_length": -5, "output_length": 1}"#,
                "b.jsonl:2: 'input_length' must be > 0, got -5",
            ),
            (
                r#"{"chat_id": 2, "timestamp": 0, "input_length": 5, "output_length": 0}"#,
                "b.jsonl:2: 'output_length' must be > 0, got 0",
            ),
            (
                r#"{"chat_id": 2, "timestamp": -1, "input_length": 5, "output_length": 1}"#,
                "b.jsonl:2: 'timestamp' must be a number >= 0 (seconds)",
            ),
        ];
        for (line, want) in cases {
            let text = format!("{ok}\n{line}\n");
            let e = with_file("b.jsonl", &text, |p| load(p, &ctx)).unwrap_err();
            assert_eq!(e.to_string(), want);
        }
        let prefixes = [
            (
                r#"{"chat_id": 2, "timestamp": 0, "output_length": 1}"#,
                "b.jsonl:2: missing field `input_length`",
            ),
            (
                r#"{"chat_id": 2, "timestamp": 0, "input_length": "5", "output_length": 1}"#,
                "b.jsonl:2: invalid type: string \"5\", expected i64",
            ),
            (
                r#"{"timestamp": 0, "input_length": 5, "output_length": 1}"#,
                "b.jsonl:2: missing field `chat_id`",
            ),
        ];
        for (line, want) in prefixes {
            let text = format!("{ok}\n{line}\n");
            let e = with_file("b.jsonl", &text, |p| load(p, &ctx))
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(want), "{e}");
        }
        // An empty file loads nothing (`loader::load` then says "no requests in file").
        let convs = with_file("b.jsonl", "\n\n", |p| load(p, &ctx)).unwrap();
        assert!(convs.is_empty());
    }

    #[test]
    fn cycles_and_self_parents_end_the_walk() {
        let parents = HashMap::from([(1, 2), (2, 1), (3, 3), (4, -1), (5, 4)]);
        let mut cache = HashMap::new();
        assert_eq!(find_root(3, &parents, &mut cache), 3);
        assert_eq!(find_root(5, &parents, &mut cache), 4);
        assert_eq!(find_root(4, &parents, &mut cache), 4);
        let r1 = find_root(1, &parents, &mut cache);
        assert!(r1 == 1 || r1 == 2);
    }
}
