//! SPEED-Bench (nvidia/SPEED-Bench) as AIPerf 0.13's `--custom-dataset-type speed_bench_*`
//! loaders read it (`aiperf.dataset.loader.speed_bench`).
//!
//! AIPerf reads a local JSONL file (`--input-file`), not the Hub: the Hub copy's `messages`
//! hold a placeholder ("FULL BENCHMARK DATA SHOULD BE FETCHED FROM THE SOURCE USING
//! SPECDEC_BENCH"), and the real prompts are assembled by specdec_bench into
//! `qualitative.jsonl` / `throughput_<n>k.jsonl`. Each row is `{question_id (32 chars),
//! category, messages: [{role, content}]}`; every message becomes a turn with its role (a
//! leading `system` message stays a turn), rows with the same `question_id` are one
//! conversation, and a name with a category keeps only that category's rows. A row that does
//! not have this shape (the placeholder included) stops the load, as pydantic's validation
//! does in AIPerf.

use std::path::Path;

use aiperf_core::{Conversation, Turn};
use serde_json::Value;

use crate::loader::{Builtin, LoadContext, LoadError, Probe};

/// The Hub placeholder a row must not carry (`SpeedBenchRow.TURNS_PLACEHOLDER`).
pub const TURNS_PLACEHOLDER: &str =
    "FULL BENCHMARK DATA SHOULD BE FETCHED FROM THE SOURCE USING SPECDEC_BENCH";

/// One `speed_bench_*` dataset type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeedBench {
    pub name: &'static str,
    /// The file name its split has (`split_filename`); AIPerf's type detection only claims
    /// a file of this name.
    pub split_filename: &'static str,
    /// Rows kept (`metadata.category`); `None` keeps all.
    pub category: Option<&'static str>,
}

const fn sb(
    name: &'static str,
    split_filename: &'static str,
    category: Option<&'static str>,
) -> SpeedBench {
    SpeedBench {
        name,
        split_filename,
        category,
    }
}

const Q: &str = "qualitative.jsonl";

/// AIPerf 0.13's `speed_bench_*` names, in plugins.yaml order.
pub const TYPES: [SpeedBench; 32] = [
    sb("speed_bench_qualitative", Q, None),
    sb("speed_bench_coding", Q, Some("coding")),
    sb("speed_bench_humanities", Q, Some("humanities")),
    sb("speed_bench_math", Q, Some("math")),
    sb("speed_bench_multilingual", Q, Some("multilingual")),
    sb("speed_bench_qa", Q, Some("qa")),
    sb("speed_bench_rag", Q, Some("rag")),
    sb("speed_bench_reasoning", Q, Some("reasoning")),
    sb("speed_bench_roleplay", Q, Some("roleplay")),
    sb("speed_bench_stem", Q, Some("stem")),
    sb("speed_bench_summarization", Q, Some("summarization")),
    sb("speed_bench_writing", Q, Some("writing")),
    sb("speed_bench_throughput_1k", "throughput_1k.jsonl", None),
    sb("speed_bench_throughput_2k", "throughput_2k.jsonl", None),
    sb("speed_bench_throughput_8k", "throughput_8k.jsonl", None),
    sb("speed_bench_throughput_16k", "throughput_16k.jsonl", None),
    sb("speed_bench_throughput_32k", "throughput_32k.jsonl", None),
    sb(
        "speed_bench_throughput_1k_low_entropy",
        "throughput_1k.jsonl",
        Some("low_entropy"),
    ),
    sb(
        "speed_bench_throughput_1k_mixed",
        "throughput_1k.jsonl",
        Some("mixed"),
    ),
    sb(
        "speed_bench_throughput_1k_high_entropy",
        "throughput_1k.jsonl",
        Some("high_entropy"),
    ),
    sb(
        "speed_bench_throughput_2k_low_entropy",
        "throughput_2k.jsonl",
        Some("low_entropy"),
    ),
    sb(
        "speed_bench_throughput_2k_mixed",
        "throughput_2k.jsonl",
        Some("mixed"),
    ),
    sb(
        "speed_bench_throughput_2k_high_entropy",
        "throughput_2k.jsonl",
        Some("high_entropy"),
    ),
    sb(
        "speed_bench_throughput_8k_low_entropy",
        "throughput_8k.jsonl",
        Some("low_entropy"),
    ),
    sb(
        "speed_bench_throughput_8k_mixed",
        "throughput_8k.jsonl",
        Some("mixed"),
    ),
    sb(
        "speed_bench_throughput_8k_high_entropy",
        "throughput_8k.jsonl",
        Some("high_entropy"),
    ),
    sb(
        "speed_bench_throughput_16k_low_entropy",
        "throughput_16k.jsonl",
        Some("low_entropy"),
    ),
    sb(
        "speed_bench_throughput_16k_mixed",
        "throughput_16k.jsonl",
        Some("mixed"),
    ),
    sb(
        "speed_bench_throughput_16k_high_entropy",
        "throughput_16k.jsonl",
        Some("high_entropy"),
    ),
    sb(
        "speed_bench_throughput_32k_low_entropy",
        "throughput_32k.jsonl",
        Some("low_entropy"),
    ),
    sb(
        "speed_bench_throughput_32k_mixed",
        "throughput_32k.jsonl",
        Some("mixed"),
    ),
    sb(
        "speed_bench_throughput_32k_high_entropy",
        "throughput_32k.jsonl",
        Some("high_entropy"),
    ),
];

/// The type called `name`.
pub fn find(name: &str) -> Option<&'static SpeedBench> {
    TYPES.iter().find(|t| t.name == name)
}

/// The registry implementation string of `name`:
/// `aiperf_dataset::public::speed_bench::BUILTINS::<name>`.
pub fn implementation(name: &str) -> String {
    format!("aiperf_dataset::public::speed_bench::BUILTINS::{name}")
}

/// Why a row is not a SPEED-Bench row (`SpeedBenchRow` validation); `None` when it is one.
pub fn invalid(row: &Value) -> Option<&'static str> {
    let Some(obj) = row.as_object() else {
        return Some("not a JSON object");
    };
    match obj.get("question_id").and_then(Value::as_str) {
        Some(id) if id.chars().count() == 32 => {}
        _ => return Some("question_id must be a string of 32 characters"),
    }
    match obj.get("category").and_then(Value::as_str) {
        Some(c) if !c.is_empty() => {}
        _ => return Some("category must be a non-empty string"),
    }
    let ok = |m: &Value| {
        let nonblank = |k: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.trim().is_empty())
        };
        nonblank("role")
            && nonblank("content")
            && m.get("content").and_then(Value::as_str) != Some(TURNS_PLACEHOLDER)
    };
    match obj.get("messages").and_then(Value::as_array) {
        Some(ms) if !ms.is_empty() && ms.iter().all(ok) => None,
        _ => Some(
            "messages must be a non-empty list of dictionaries with role and content fields, and the content must not be the placeholder string",
        ),
    }
}

/// AIPerf's `can_load` for `t`: the file is named `t.split_filename` and its first record is a
/// SPEED-Bench row.
pub fn can_load(t: &SpeedBench, probe: &Probe) -> bool {
    probe.path.file_name().and_then(|n| n.to_str()) == Some(t.split_filename)
        && probe.first.as_ref().is_some_and(|f| invalid(f).is_none())
}

/// The conversations of `path` for `t`: every message a turn (`multi_turn`, AIPerf's default),
/// else only each row's first message.
pub fn load(t: &SpeedBench, path: &Path, multi_turn: bool) -> Result<Vec<Conversation>, LoadError> {
    let mut out: Vec<Conversation> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = Default::default();
    crate::loader::for_each_line(path, |_, row: Value| {
        if let Some(reason) = invalid(&row) {
            return Err(format!("not a SPEED-Bench row: {reason}"));
        }
        let field = |k: &str| row.get(k).and_then(Value::as_str).unwrap_or_default();
        if t.category.is_some_and(|c| c != field("category")) {
            return Ok(());
        }
        let messages = row
            .get("messages")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let take = if multi_turn { messages.len() } else { 1 };
        let turns = messages.iter().take(take).map(|m| {
            let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default();
            Turn {
                texts: vec![s("content").to_string()],
                role: Some(s("role").to_string()),
                ..Default::default()
            }
        });
        let id = field("question_id").to_string();
        match index.get(&id) {
            Some(&i) => out[i].turns.extend(turns),
            None => {
                index.insert(id.clone(), out.len());
                out.push(Conversation {
                    session_id: id,
                    turns: turns.collect(),
                    ..Default::default()
                });
            }
        }
        Ok(())
    })?;
    if out.is_empty() {
        let what = match t.category {
            Some(c) => format!(
                "SPEED-Bench category filter '{c}' matched no rows; verify the configured category exists in this dataset"
            ),
            None => "no SPEED-Bench rows".to_string(),
        };
        return Err(LoadError::file(path, what));
    }
    Ok(out)
}

macro_rules! builtins {
    ($($name:ident => $i:literal),* $(,)?) => {
        /// Loader table entries for every type (`implementation` =
        /// `aiperf_dataset::public::speed_bench::BUILTINS::<name>`), for `loader::builtin` to
        /// search.
        pub const BUILTINS: [Builtin; 32] = [$(
            Builtin {
                implementation: concat!(
                    "aiperf_dataset::public::speed_bench::BUILTINS::",
                    stringify!($name)
                ),
                load: |p, _: &LoadContext<'_>| load(&TYPES[$i], p, true),
                can_load: |probe| can_load(&TYPES[$i], probe),
            },
        )*];
    };
}

builtins! {
    speed_bench_qualitative => 0,
    speed_bench_coding => 1,
    speed_bench_humanities => 2,
    speed_bench_math => 3,
    speed_bench_multilingual => 4,
    speed_bench_qa => 5,
    speed_bench_rag => 6,
    speed_bench_reasoning => 7,
    speed_bench_roleplay => 8,
    speed_bench_stem => 9,
    speed_bench_summarization => 10,
    speed_bench_writing => 11,
    speed_bench_throughput_1k => 12,
    speed_bench_throughput_2k => 13,
    speed_bench_throughput_8k => 14,
    speed_bench_throughput_16k => 15,
    speed_bench_throughput_32k => 16,
    speed_bench_throughput_1k_low_entropy => 17,
    speed_bench_throughput_1k_mixed => 18,
    speed_bench_throughput_1k_high_entropy => 19,
    speed_bench_throughput_2k_low_entropy => 20,
    speed_bench_throughput_2k_mixed => 21,
    speed_bench_throughput_2k_high_entropy => 22,
    speed_bench_throughput_8k_low_entropy => 23,
    speed_bench_throughput_8k_mixed => 24,
    speed_bench_throughput_8k_high_entropy => 25,
    speed_bench_throughput_16k_low_entropy => 26,
    speed_bench_throughput_16k_mixed => 27,
    speed_bench_throughput_16k_high_entropy => 28,
    speed_bench_throughput_32k_low_entropy => 29,
    speed_bench_throughput_32k_mixed => 30,
    speed_bench_throughput_32k_high_entropy => 31,
}

/// The loader table entry for `implementation`, if it is a SPEED-Bench one (for
/// `loader::builtin` to fall back on).
pub fn builtin(implementation: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.implementation == implementation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID1: &str = "0123456789abcdef0123456789abcdef";
    const ID2: &str = "fedcba9876543210fedcba9876543210";

    fn file(dir: &Path, name: &str, rows: &[Value]) -> std::path::PathBuf {
        let p = dir.join(name);
        let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn every_name_and_its_builtin_agree() {
        for (i, t) in TYPES.iter().enumerate() {
            assert_eq!(BUILTINS[i].implementation, implementation(t.name));
        }
        assert_eq!(
            find("speed_bench_throughput_8k_mixed").map(|t| (t.split_filename, t.category)),
            Some(("throughput_8k.jsonl", Some("mixed")))
        );
        assert_eq!(find("speed_bench_nope"), None);
    }

    #[test]
    fn rows_become_conversations_with_roles_grouped_by_question() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(
            dir.path(),
            Q,
            &[
                json!({"question_id": ID1, "category": "coding", "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Sort [3,1]."}]}),
                json!({"question_id": ID2, "category": "math", "messages": [
                    {"role": "user", "content": "2+2?"}]}),
                json!({"question_id": ID1, "category": "coding", "messages": [
                    {"role": "user", "content": "Now in Rust."}]}),
            ],
        );
        let all_rows = load(find("speed_bench_qualitative").unwrap(), &p, true).unwrap();
        assert_eq!(all_rows.len(), 2);
        assert_eq!(all_rows[0].session_id, ID1);
        let texts: Vec<(&str, &str)> = all_rows[0]
            .turns
            .iter()
            .map(|t| (t.role.as_deref().unwrap(), t.texts[0].as_str()))
            .collect();
        assert_eq!(
            texts,
            vec![
                ("system", "Be brief."),
                ("user", "Sort [3,1]."),
                ("user", "Now in Rust.")
            ]
        );
        let math = load(find("speed_bench_math").unwrap(), &p, true).unwrap();
        assert_eq!(math.len(), 1);
        assert_eq!(math[0].turns[0].texts, vec!["2+2?"]);
        let first_only = load(find("speed_bench_coding").unwrap(), &p, false).unwrap();
        assert_eq!(first_only[0].turns.len(), 2); // one per row of ID1
        let err = load(find("speed_bench_writing").unwrap(), &p, true).unwrap_err();
        assert!(err.to_string().contains("matched no rows"), "{err}");
    }

    #[test]
    fn placeholder_rows_stop_the_load() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(
            dir.path(),
            Q,
            &[json!({"question_id": ID1, "category": "qa", "messages": [
                {"role": "user", "content": TURNS_PLACEHOLDER}]})],
        );
        let err = load(find("speed_bench_qa").unwrap(), &p, true).unwrap_err();
        assert!(err.to_string().contains("placeholder"), "{err}");
        assert!(
            invalid(&json!({"question_id": "short", "category": "qa", "messages": []})).is_some()
        );
        let probe = Probe::read(&p);
        assert!(!can_load(find("speed_bench_qa").unwrap(), &probe));
    }

    #[test]
    fn the_table_entries_load_and_detect_by_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let row = json!({"question_id": ID1, "category": "mixed", "messages": [
            {"role": "user", "content": "Continue the story."}]});
        let p = file(dir.path(), "throughput_1k.jsonl", &[row]);
        let probe = Probe::read(&p);
        let b = builtin(&implementation("speed_bench_throughput_1k_mixed")).unwrap();
        assert!((b.can_load)(&probe));
        // Another split's name does not claim the file (AIPerf's split_filename check).
        let other = builtin(&implementation("speed_bench_throughput_2k_mixed")).unwrap();
        assert!(!(other.can_load)(&probe));
        let t = crate::TextTokenizer::builtin().unwrap();
        let c = crate::corpus::Corpus { tokens: Vec::new() };
        let got = (b.load)(&p, &crate::loader::test_util::context(&t, &c)).unwrap();
        assert_eq!(got[0].session_id, ID1);
        assert_eq!(got[0].turns[0].texts, ["Continue the story."]);
        assert_eq!(got[0].turns[0].role.as_deref(), Some("user"));
        assert!(builtin("aiperf_dataset::loader::multi_turn::load").is_none());
    }
}
