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
//!
//! A million-line trace loads in a few seconds: rows are kept compact (no `Turn` until the
//! sessions are known), hash ids in one flat list, and only blocks that more than one row
//! uses are kept as text; prompts and conversations are built on all cores.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::ops::Range;
use std::path::Path;

use aiperf_core::{Conversation, Turn};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::{check_timing, for_each_line, output_length, LoadContext, LoadError};
use crate::blocks::{BlockPrompts, CorpusPrompts};
use crate::rng::Rng;

/// Tokens per `hash_ids` block in Bailian traces (AIPerf's `default_block_size: 16`).
pub const BLOCK_SIZE: usize = 16;

/// The longest prompt a row may ask for (the `--isl` bound of the command line): a larger
/// `input_length` is a broken row, refused before any memory is sized by it.
pub const MAX_INPUT_LENGTH: i64 = 10_000_000;

type FastMap<K, V> = HashMap<K, V, ahash::RandomState>;

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
    _request_type: Option<AnyString>,
    #[serde(default = "first_turn")]
    turn: i64,
    #[serde(default)]
    hash_ids: Vec<i64>,
    /// A stray `extra` object is sent in the body, as AIPerf's trace turns do.
    #[serde(default)]
    extra: Option<Map<String, Value>>,
}

/// A string field that is checked to be a string and otherwise unused (never copied).
#[derive(Debug)]
struct AnyString;

impl<'de> Deserialize<'de> for AnyString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = AnyString;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E>(self, _: &str) -> Result<AnyString, E> {
                Ok(AnyString)
            }
        }
        d.deserialize_str(Visitor)
    }
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
        if self.input_length > MAX_INPUT_LENGTH {
            return Err(format!(
                "'input_length' must be at most {MAX_INPUT_LENGTH}, got {}",
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

/// AIPerf's `find_root` over the file's `chat_id -> parent_chat_id` links, with its path
/// compression, plus one shortcut that cannot change an answer: a walk that reaches a node
/// whose own walk ended without a cycle takes that node's root (the rest of the walk would
/// retrace it), so long chains cost linear, not quadratic, time.
struct Roots<'p, S> {
    parents: &'p HashMap<i64, i64, S>,
    /// Root of every node walked so far, and whether its walk was free of cycles.
    cache: FastMap<i64, (i64, bool)>,
    path: Vec<i64>,
}

impl<'p, S: BuildHasher> Roots<'p, S> {
    fn new(parents: &'p HashMap<i64, i64, S>) -> Self {
        Self {
            parents,
            cache: FastMap::default(),
            path: Vec::new(),
        }
    }

    /// Follows `parent_chat_id` from `id` while the parent is in the file, stopping at a root
    /// (`-1`), a self-parent, a parent not in the file, or a node seen before (a cycle).
    fn find(&mut self, id: i64) -> i64 {
        if let Some(&(r, _)) = self.cache.get(&id) {
            return r;
        }
        self.path.clear();
        // Only long walks pay for a set; short ones search the path.
        let mut seen: Option<HashSet<i64, ahash::RandomState>> = None;
        let mut current = id;
        let mut clean = true;
        while let Some(&parent) = self.parents.get(&current) {
            if parent == -1 {
                break;
            }
            if current != id {
                if let Some(&(r, true)) = self.cache.get(&current) {
                    current = r;
                    break;
                }
            }
            let revisit = match &mut seen {
                Some(set) => !set.insert(current),
                None if self.path.len() < 32 => self.path.contains(&current),
                None => !seen
                    .insert(self.path.iter().copied().collect())
                    .insert(current),
            };
            if revisit {
                clean = false;
                break;
            }
            if parent == current || !self.parents.contains_key(&parent) {
                break;
            }
            self.path.push(current);
            current = parent;
        }
        for node in self.path.drain(..) {
            self.cache.insert(node, (current, clean));
        }
        self.cache.insert(id, (current, clean));
        current
    }
}

/// A row as kept until sessions are known: what its turn needs, its prompt's recipe.
struct Pending {
    chat_id: i64,
    turn_no: i64,
    timestamp_ms: f64,
    max_tokens: Option<u32>,
    input_length: usize,
    /// Its hash ids in the flat list; empty: a corpus window from `window`.
    hash_ids: Range<usize>,
    window: usize,
    extra: Option<Box<Map<String, Value>>>,
}

/// `--synthesis-*` over the rows (`crate::synthesis`), in file order: each row's blocks,
/// length, timestamp and output length rewritten; returns the new flat hash-id list the rows'
/// ranges point into.
fn synthesize(
    ctx: &LoadContext<'_>,
    rows: &mut [Pending],
    hash_ids: &[u64],
    block_size: usize,
) -> Result<Vec<u64>, String> {
    use crate::synthesis::{apply, TraceRow};
    let mut trace: Vec<TraceRow> = rows
        .iter()
        .map(|r| TraceRow {
            hash_ids: hash_ids[r.hash_ids.clone()].to_vec(),
            input_length: Some(r.input_length as u64),
            output_length: r.max_tokens.map(u64::from),
            timestamp: Some(r.timestamp_ms),
            literal: false,
        })
        .collect();
    apply(&ctx.synthesis, &mut trace, block_size as u64, ctx.seed).map_err(|e| e.to_string())?;
    let mut flat = Vec::with_capacity(hash_ids.len());
    for (r, t) in rows.iter_mut().zip(trace) {
        let n = t.input_length.map_or(r.input_length, |v| v.max(1) as usize);
        let mut ids = t.hash_ids;
        // A capped length keeps the blocks it still reaches.
        ids.truncate(n.div_ceil(block_size));
        let from = flat.len();
        flat.extend(ids);
        r.hash_ids = from..flat.len();
        r.input_length = n;
        r.timestamp_ms = t.timestamp.unwrap_or(r.timestamp_ms);
        r.max_tokens = t.output_length.map(|v| v.min(u64::from(u32::MAX)) as u32);
    }
    Ok(flat)
}

/// Row indices grouped into sessions named by their root, sessions in the order their first
/// row appears, each session's rows ordered by `turn` (stably, as Python's sort).
fn sessions<S: BuildHasher>(
    rows: &[Pending],
    parents: &HashMap<i64, i64, S>,
) -> Vec<(i64, Vec<usize>)> {
    let mut roots = Roots::new(parents);
    let mut index: FastMap<i64, usize> = FastMap::default();
    let mut out: Vec<(i64, Vec<usize>)> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let root = roots.find(r.chat_id);
        let k = *index.entry(root).or_insert_with(|| {
            out.push((root, Vec::new()));
            out.len() - 1
        });
        out[k].1.push(i);
    }
    for (_, turns) in &mut out {
        turns.sort_by_key(|&i| rows[i].turn_no);
    }
    out
}

pub fn load(path: &Path, ctx: &LoadContext<'_>) -> Result<Vec<Conversation>, LoadError> {
    let block_size = ctx.block_size.unwrap_or(BLOCK_SIZE);
    let mut blocks = BlockPrompts::new(ctx.tokenizer, ctx.corpus, ctx.seed, block_size);
    let plain = CorpusPrompts::new(ctx.tokenizer, ctx.corpus);
    let mut offsets = Rng::derive(ctx.seed, "dataset.trace.prompt");
    let corpus_len = ctx.corpus.tokens.len().max(1) as u64;
    let mut rows: Vec<Pending> = Vec::new();
    let mut hash_ids: Vec<u64> = Vec::new();
    // The last row with a chat_id is the one its links are read from (AIPerf's dict).
    let mut parents: FastMap<i64, i64> = FastMap::default();
    let mut max_isl = crate::synthesis::MaxIslFilter::new(&ctx.synthesis);
    for_each_line(path, |_, row: Row| {
        row.check()?;
        // Skipped rows leave no parent link either (AIPerf groups only the rows kept).
        if !max_isl.keeps(Some(row.input_length.max(0) as u64)) {
            return Ok(());
        }
        let n = row.input_length as usize;
        let window = if row.hash_ids.is_empty() {
            offsets.below(corpus_len) as usize
        } else {
            blocks.last_block(n, row.hash_ids.len())?;
            0
        };
        let from = hash_ids.len();
        hash_ids.extend(row.hash_ids.iter().map(|&h| h as u64));
        parents.insert(row.chat_id, row.parent_chat_id);
        rows.push(Pending {
            chat_id: row.chat_id,
            turn_no: row.turn,
            timestamp_ms: row.timestamp * 1000.0,
            max_tokens: output_length(Some(row.output_length))?,
            input_length: n,
            hash_ids: from..hash_ids.len(),
            window,
            extra: row.extra.map(Box::new),
        });
        Ok(())
    })?;
    max_isl.report();
    if ctx.synthesis.is_set() {
        hash_ids = synthesize(ctx, &mut rows, &hash_ids, block_size)
            .map_err(|e| LoadError::file(path, e))?;
    }
    blocks.prefill_shared(hash_ids.iter().copied());
    let sessions = sessions(&rows, &parents);
    drop(parents);
    let prompt = |r: &Pending| {
        if r.hash_ids.is_empty() {
            plain.prompt(r.window, r.input_length)
        } else {
            // Fits: checked while reading.
            blocks
                .prompt_prefilled(r.input_length, &hash_ids[r.hash_ids.clone()])
                .unwrap_or_default()
        }
    };
    Ok(crate::parallel::map(&sessions, |(root, turns)| {
        Conversation {
            session_id: root.to_string(),
            turns: turns
                .iter()
                .map(|&i| {
                    let r = &rows[i];
                    Turn {
                        texts: vec![prompt(r)],
                        max_tokens: r.max_tokens,
                        timestamp_ms: Some(r.timestamp_ms),
                        extra: r.extra.as_deref().cloned(),
                        ..Default::default()
                    }
                })
                .collect(),
            ..Default::default()
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Corpus;
    use crate::loader::test_util::{context, with_file};
    use crate::TextTokenizer;

    /// Two roots share blocks 1 and 2 (16 tokens each); block 3 and 4 are their own. Prefix x2
    /// and output x3 as AIPerf's Synthesizer: shared {1, 2}, fresh ids above (2 + 1) * 2 = 6;
    /// row 1: prefix 1,2 -> 2,3,4,5 (64 tokens) + own 8 tokens -> 72; row 2: own 16 -> 80.
    #[test]
    fn synthesis_stretches_shared_prefixes() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        let mut ctx = context(&t, &c);
        ctx.synthesis.prefix_len_multiplier = 2.0;
        ctx.synthesis.output_len_multiplier = 3.0;
        let text = r#"{"chat_id": 1, "timestamp": 1, "input_length": 40, "output_length": 2, "turn": 1, "hash_ids": [1, 2, 3]}
{"chat_id": 2, "timestamp": 2, "input_length": 48, "output_length": 5, "turn": 1, "hash_ids": [1, 2, 4]}
"#;
        let convs = with_file("b.jsonl", text, |p| load(p, &ctx)).unwrap();
        let toks: Vec<Vec<u32>> = convs
            .iter()
            .map(|x| t.encode(&x.turns[0].texts[0]))
            .collect();
        assert_eq!((toks[0].len(), toks[1].len()), (72, 80));
        assert_eq!(
            toks[0][..64],
            toks[1][..64],
            "the stretched prefix is shared"
        );
        let mt: Vec<Option<u32>> = convs.iter().map(|c| c.turns[0].max_tokens).collect();
        assert_eq!(mt, [Some(6), Some(15)]);
    }

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
            (
                r#"{"chat_id": 2, "timestamp": 0, "input_length": 10000001, "output_length": 1}"#,
                "b.jsonl:2: 'input_length' must be at most 10000000, got 10000001",
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
            (
                r#"{"chat_id": 2, "timestamp": 0, "input_length": 5, "output_length": 1, "type": 3}"#,
                "b.jsonl:2: invalid type: integer `3`, expected a string",
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
        let mut roots = Roots::new(&parents);
        assert_eq!(roots.find(3), 3);
        assert_eq!(roots.find(5), 4);
        assert_eq!(roots.find(4), 4);
        // AIPerf's walk from 1 goes 1 -> 2 -> 1, stops at the repeated node, and compresses
        // the path: 2 then answers 1 from the cache.
        assert_eq!(roots.find(1), 1);
        assert_eq!(roots.find(2), 1);
        let mut fresh = Roots::new(&parents);
        assert_eq!(fresh.find(2), 2, "walked first, 2 is the repeated node");
    }

    /// AIPerf's walk, written as plainly as its Python (no shortcut, a fresh walk per id).
    fn reference_root(id: i64, parents: &HashMap<i64, i64>, cache: &mut HashMap<i64, i64>) -> i64 {
        if let Some(&r) = cache.get(&id) {
            return r;
        }
        let (mut path, mut seen, mut current) = (Vec::new(), HashSet::new(), id);
        while parents.get(&current).is_some_and(|&p| p != -1) {
            if !seen.insert(current) {
                break;
            }
            let parent = parents[&current];
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

    /// The shortcut and the path set for long walks give AIPerf's answers, on long chains
    /// met from either end, cycles, cycles with tails, self-parents and missing parents.
    #[test]
    fn roots_agree_with_aiperfs_walk() {
        let mut parents: HashMap<i64, i64> = HashMap::new();
        // A 100-long chain 1000 <- 1001 <- ... <- 1099 (root 1000).
        parents.insert(1000, -1);
        for k in 1001..1100 {
            parents.insert(k, k - 1);
        }
        // A 50-cycle 2000 -> 2001 -> ... -> 2049 -> 2000 with a 40-long tail into it.
        for k in 2000..2050 {
            parents.insert(k, if k == 2049 { 2000 } else { k + 1 });
        }
        for k in 2100..2140 {
            parents.insert(k, if k == 2139 { 2025 } else { k + 1 });
        }
        parents.insert(3000, 3000);
        parents.insert(3001, 3000);
        parents.insert(4001, 4000);
        parents.insert(4002, 4001);
        let mut ids: Vec<i64> = parents.keys().copied().collect();
        ids.sort_unstable();
        let orders = [
            ids.clone(),
            ids.iter().rev().copied().collect::<Vec<_>>(),
            ids.iter()
                .copied()
                .filter(|i| i % 2 == 0)
                .chain(ids.iter().copied().filter(|i| i % 2 == 1))
                .collect(),
        ];
        for order in orders {
            let mut roots = Roots::new(&parents);
            let mut cache = HashMap::new();
            for &id in &order {
                assert_eq!(
                    roots.find(id),
                    reference_root(id, &parents, &mut cache),
                    "id {id}"
                );
            }
        }
        let mut roots = Roots::new(&parents);
        assert_eq!(roots.find(1099), 1000);
        assert_eq!(roots.find(4002), 4001, "4000 is not in the file");
        assert_eq!(roots.find(3001), 3000);
    }
}
