//! Dataset files (`--input-file` + `--custom-dataset-type`), in AIPerf's formats.
//!
//! Every problem is reported as `file:line: reason` before any request is sent. Files are read
//! line by line (gzip when the name ends in `.gz`), so memory follows what is kept, not the file
//! size.
//!
//! - [`single_turn`]: one request per line.
//! - [`multi_turn`]: one conversation per line, turns carry history.
//! - [`random_pool`]: a pool (file) or named pools (directory) sampled with replacement.
//! - [`mooncake`]: Mooncake traces; `hash_ids` become shared prefix blocks.
//! - [`sharegpt`]: the public ShareGPT JSON, filtered as vLLM and AIPerf filter it.
//! - [`bailian`]: Alibaba Bailian traces; `parent_chat_id` chains become sessions.
//! - [`burst_gpt`]: the BurstGPT CSV; every row one timed request.
//! - [`inputs_json`]: a run's own `inputs.json`; every payload sent verbatim.
//! - [`baseten`]: Baseten Parquet / Arrow IPC traces, replayed with the replay flags.
//! - [`sagemaker`]: SageMaker data capture JSONL (a file or a directory tree).
//! - [`raw_payload`]: whole request bodies sent verbatim (a directory: one conversation per file).

pub mod bailian;
pub mod baseten;
pub mod burst_gpt;
pub mod dag_jsonl;
pub mod inputs_json;
pub mod media;
pub mod mooncake;
pub mod multi_turn;
pub mod random_pool;
pub mod raw_payload;
pub mod sagemaker;
pub mod sharegpt;
pub mod single_turn;
pub mod tracelab;
pub mod weka;

use std::io::BufRead;
use std::path::Path;

use aiperf_core::Conversation;
use serde::de::DeserializeOwned;

use crate::corpus::Corpus;
use crate::tokenizer::TextTokenizer;

pub use single_turn::single_turn;

/// Reads one dataset file into conversations.
pub type LoadFn = fn(&Path, &LoadContext<'_>) -> Result<Vec<Conversation>, LoadError>;

/// Whether a loader reads the file [`Probe`] looked at (AIPerf's `can_load`): used to pick the
/// format when `--custom-dataset-type` is not given.
pub type CanLoadFn = fn(&Probe) -> bool;

/// One loader built into this crate: its registry `implementation` (the path of the function
/// that reads the format; `plugins.yaml` names it, a test checks it exists), that function, and
/// its format test. What a loader needs besides the file (the prompt corpus) is its entry's
/// metadata.
pub struct Builtin {
    pub implementation: &'static str,
    pub load: LoadFn,
    pub can_load: CanLoadFn,
}

/// Every loader built into this crate.
pub const BUILTINS: [Builtin; 14] = [
    Builtin {
        implementation: "aiperf_dataset::loader::single_turn::single_turn",
        load: |p, _| single_turn(p),
        can_load: single_turn::can_load,
    },
    Builtin {
        implementation: "aiperf_dataset::loader::multi_turn::load",
        load: |p, _| multi_turn::load(p),
        can_load: multi_turn::can_load,
    },
    Builtin {
        implementation: "aiperf_dataset::loader::random_pool::load",
        load: random_pool::load,
        can_load: random_pool::can_load,
    },
    Builtin {
        implementation: "aiperf_dataset::loader::mooncake::load",
        load: mooncake::load,
        can_load: mooncake::can_load,
    },
    Builtin {
        implementation: "aiperf_dataset::loader::sharegpt::load",
        load: sharegpt::load,
        can_load: sharegpt::can_load,
    },
    Builtin {
        implementation: "aiperf_dataset::loader::bailian::load",
        load: bailian::load,
        can_load: bailian::can_load,
    },
    Builtin {
        implementation: "aiperf_dataset::loader::burst_gpt::load",
        load: burst_gpt::load,
        can_load: burst_gpt::can_load,
    },
    Builtin {
        implementation: "aiperf_dataset::loader::inputs_json::load",
        load: inputs_json::load,
        can_load: inputs_json::can_load,
    },
    Builtin {
        implementation: "aiperf_dataset::loader::baseten::load",
        load: baseten::load,
        can_load: baseten::can_load,
    },
    Builtin {
        implementation: "aiperf_dataset::loader::sagemaker::load",
        load: sagemaker::load,
        can_load: sagemaker::can_load,
    },
    Builtin {
        implementation: "aiperf_dataset::loader::raw_payload::load",
        load: raw_payload::load,
        can_load: raw_payload::can_load,
    },
    Builtin {
        implementation: "aiperf_dataset::loader::dag_jsonl::load",
        load: dag_jsonl::load,
        can_load: dag_jsonl::can_load,
    },
    Builtin {
        implementation: "aiperf_dataset::loader::weka::load",
        load: weka::load,
        can_load: weka::can_load,
    },
    Builtin {
        implementation: "aiperf_dataset::loader::tracelab::load",
        load: tracelab::load,
        can_load: tracelab::can_load,
    },
];

/// What format detection looks at: the path, and for a file its first record.
#[derive(Debug, Default)]
pub struct Probe {
    pub path: std::path::PathBuf,
    pub is_dir: bool,
    /// The first non-blank line, parsed as JSON (`None` when it is not JSON).
    pub first: Option<serde_json::Value>,
    /// Its 1-based line number.
    pub line: usize,
    /// The start of the file's text (at most [`Probe::HEAD`] bytes), for formats that are not
    /// one JSON value per line.
    pub head: String,
    /// Why the file could not be read as text, if it could not.
    pub unreadable: Option<String>,
}

impl Probe {
    pub const HEAD: usize = 64 << 10;
    const MAX_LINE: u64 = 256 << 20;

    /// Reads what detection needs of `path` (a file's first non-blank line; nothing of a
    /// directory).
    pub fn read(path: &Path) -> Self {
        let mut probe = Probe {
            path: path.to_path_buf(),
            is_dir: path.is_dir(),
            ..Default::default()
        };
        if probe.is_dir {
            return probe;
        }
        let mut reader = match aiperf_core::textfile::open(path) {
            Ok(r) => r,
            Err(e) => {
                probe.unreadable = Some(e.to_string());
                return probe;
            }
        };
        let mut buf = String::new();
        let mut line = 0;
        let mut first_line = None;
        loop {
            buf.clear();
            // A line longer than this is not a record any loader takes whole (and a one-line
            // JSON array of a whole dataset is not read into memory twice).
            match std::io::Read::take(&mut reader, Self::MAX_LINE).read_line(&mut buf) {
                Ok(0) => break,
                Ok(_) => line += 1,
                Err(e) => {
                    if first_line.is_none() {
                        probe.unreadable = Some(if e.kind() == std::io::ErrorKind::InvalidData {
                            "it is not UTF-8 text".to_string()
                        } else {
                            e.to_string()
                        });
                    }
                    break;
                }
            }
            if probe.head.len() < Self::HEAD {
                let mut end = (Self::HEAD - probe.head.len()).min(buf.len());
                while !buf.is_char_boundary(end) {
                    end -= 1;
                }
                probe.head.push_str(&buf[..end]);
            }
            let text = buf.trim();
            if first_line.is_none() && !text.is_empty() {
                first_line = Some(line);
                // Records are objects; an array is a whole JSON document, not parsed here.
                if !text.starts_with('[') {
                    probe.first = serde_json::from_str(text).ok();
                }
                if probe.first.is_some() {
                    break;
                }
                // Not one JSON value per line: the rest of the head is for formats that look
                // further (a pretty-printed JSON array).
            }
            if probe.head.len() >= Self::HEAD {
                break;
            }
        }
        probe.line = first_line.unwrap_or(line);
        probe
    }

    /// The first record as `T`, when it is one.
    pub fn first_as<T: DeserializeOwned>(&self) -> Option<T> {
        self.first.as_ref().and_then(|v| T::deserialize(v).ok())
    }

    /// What the first record looks like, for an error message.
    fn describe(&self) -> String {
        if let Some(why) = &self.unreadable {
            return format!("cannot read it: {why}");
        }
        match &self.first {
            _ if self.is_dir => "it is a directory without JSONL pool files".to_string(),
            None if self.head.trim().is_empty() => "it holds no records".to_string(),
            None => format!("line {} is not JSON", self.line),
            Some(serde_json::Value::Object(o)) if o.is_empty() => {
                format!("the record on line {} is empty", self.line)
            }
            Some(serde_json::Value::Object(o)) => format!(
                "the record on line {} has fields {}",
                self.line,
                o.keys()
                    .take(8)
                    .map(|k| format!("'{k}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some(_) => format!("line {} is not a JSON object", self.line),
        }
    }
}

/// The built-in loader `implementation`, if it is one.
pub fn builtin(implementation: &str) -> Option<&'static Builtin> {
    BUILTINS
        .iter()
        .find(|b| b.implementation == implementation)
        .or_else(|| crate::public::speed_bench::builtin(implementation))
}

/// AIPerf's dataset type inference: the format the first record names in its `"type"` field,
/// else the one format among `candidates` (registry name, implementation) whose loader can read
/// `path`, judged by its first record (a directory only by its pool files). Candidates that are not built in (external executables) have no format
/// test and are never picked.
pub fn detect<'n>(path: &Path, candidates: &[(&'n str, &str)]) -> Result<&'n str, LoadError> {
    let probe = Probe::read(path);
    // A record may name its format (`"type": "random_pool"`): then only that format is asked.
    let named = probe
        .first
        .as_ref()
        .and_then(|f| f.get("type"))
        .and_then(serde_json::Value::as_str);
    if let Some((name, b)) = named.and_then(|t| {
        candidates
            .iter()
            .find(|(n, _)| *n == t)
            .and_then(|(n, i)| builtin(i).map(|b| (*n, b)))
    }) {
        return if (b.can_load)(&probe) {
            Ok(name)
        } else {
            Err(LoadError::Line {
                path: path.display().to_string(),
                line: probe.line,
                reason: format!(
                    "the record says \"type\": \"{name}\" but is not a valid {name} record; fix it or pass --custom-dataset-type"
                ),
            })
        };
    }
    let matches: Vec<&str> = candidates
        .iter()
        .filter(|(_, i)| builtin(i).is_some_and(|b| (b.can_load)(&probe)))
        .map(|(n, _)| *n)
        .collect();
    // The 32 SPEED-Bench variants are one family: named once.
    let names = || {
        let all: Vec<&str> = candidates
            .iter()
            .filter(|(_, i)| builtin(i).is_some())
            .map(|(n, _)| *n)
            .collect();
        let family = all.iter().filter(|n| n.starts_with("speed_bench_")).count();
        let mut shown: Vec<String> = all
            .iter()
            .filter(|n| !n.starts_with("speed_bench_"))
            .map(|n| n.to_string())
            .collect();
        if family > 0 {
            shown.push(format!("speed_bench_* ({family} variants)"));
        }
        shown.join(", ")
    };
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(LoadError::file(
            path,
            format!(
                "no dataset format recognizes this file ({}); pass --custom-dataset-type (one of: {})",
                probe.describe(),
                names()
            ),
        )),
        many => Err(LoadError::file(
            path,
            format!(
                "the file fits more than one dataset format ({}); pass --custom-dataset-type",
                many.join(", ")
            ),
        )),
    }
}

/// Why a dataset file was rejected.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LoadError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("{path}:{line}: {reason}")]
    Line {
        path: String,
        line: usize,
        reason: String,
    },
}

impl LoadError {
    pub fn file(path: &Path, reason: impl Into<String>) -> Self {
        LoadError::File {
            path: path.display().to_string(),
            reason: reason.into(),
        }
    }
}

/// What loaders may need besides the file: the run's tokenizer and corpus (traces that give
/// only lengths are synthesized), the seed and the options that shape synthesis.
pub struct LoadContext<'a> {
    pub tokenizer: &'a TextTokenizer,
    pub corpus: &'a Corpus,
    pub seed: u64,
    /// `--isl-block-size` (tokens per `hash_ids` block); `None` takes the format's default.
    pub block_size: Option<usize>,
    /// `--conversation-num` (random pools draw this many entries).
    pub num_conversations: Option<usize>,
    /// `--osl`, which replaces dataset output lengths where a format says so (ShareGPT).
    pub osl_mean: Option<f64>,
    /// The trace replay flags (read by `baseten_trace`, as in AIPerf).
    pub replay: crate::replay::ReplayOptions,
    /// `--synthesis-*`: how trace rows are reshaped before prompts are built (mooncake,
    /// bailian, burst_gpt; identity by default).
    pub synthesis: crate::synthesis::SynthesisParams,
    /// `--use-think-time-only`, `--max-context-length`, `--allow-dataset-wrap` (agent-graph
    /// formats).
    pub agentic: crate::agentic::AgenticOptions,
}

/// Loads `path` with the built-in loader `implementation`.
pub fn load(
    implementation: &str,
    path: &Path,
    ctx: &LoadContext<'_>,
) -> Result<Vec<Conversation>, LoadError> {
    let Some(b) = builtin(implementation) else {
        return Err(LoadError::file(
            path,
            format!("loader '{implementation}' is not built into aiperf_dataset"),
        ));
    };
    let out = (b.load)(path, ctx)?;
    if out.is_empty() {
        return Err(LoadError::file(path, "no requests in file"));
    }
    Ok(out)
}

/// Calls `row` for every non-blank line of a JSONL file (opened by `aiperf_core::textfile`: gzip
/// when it ends in `.gz`, a byte-order mark skipped) with its
/// 1-based line number and the parsed value; the first error, from parsing or from `row`,
/// stops reading and is reported at that line.
pub fn for_each_line<T: DeserializeOwned>(
    path: &Path,
    mut row: impl FnMut(usize, T) -> Result<(), String>,
) -> Result<(), LoadError> {
    let mut reader =
        aiperf_core::textfile::open(path).map_err(|e| LoadError::file(path, e.to_string()))?;
    let name = path.display().to_string();
    let mut buf = String::new();
    let mut line = 0usize;
    loop {
        buf.clear();
        line += 1;
        let n = reader.read_line(&mut buf).map_err(|e| LoadError::Line {
            path: name.clone(),
            line,
            reason: e.to_string(),
        })?;
        if n == 0 {
            return Ok(());
        }
        let text = buf.trim();
        if text.is_empty() {
            continue;
        }
        let err = |reason: String| LoadError::Line {
            path: name.clone(),
            line,
            reason,
        };
        let value: T = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
        row(line, value).map_err(err)?;
    }
}

/// Rows gathered into conversations by `session_id`, in order of first appearance; a row
/// without one is a conversation of its own (`session_000123`, by position).
pub(crate) struct Sessions {
    out: Vec<Conversation>,
    index: std::collections::HashMap<String, usize>,
    /// Whether grouped rows are sent without each other as history (`single_turn`).
    independent: bool,
}

impl Sessions {
    pub(crate) fn new(independent: bool) -> Self {
        Self {
            out: Vec::new(),
            index: Default::default(),
            independent,
        }
    }

    pub(crate) fn push(&mut self, session_id: Option<String>, turn: aiperf_core::Turn) {
        let Some(id) = session_id else {
            let id = format!("session_{:06}", self.out.len());
            self.out.push(Conversation::single(id, turn));
            return;
        };
        match self.index.get(&id) {
            Some(&i) => self.out[i].turns.push(turn),
            None => {
                self.index.insert(id.clone(), self.out.len());
                let mut c = Conversation::single(id, turn);
                c.independent_turns = self.independent;
                self.out.push(c);
            }
        }
    }

    pub(crate) fn into_conversations(self) -> Vec<Conversation> {
        self.out
    }
}

/// A row's `timestamp` and `delay` (ms): at most one, each a number >= 0.
pub(crate) fn check_timing(timestamp: Option<f64>, delay: Option<f64>) -> Result<(), String> {
    if timestamp.is_some() && delay.is_some() {
        return Err("'timestamp' and 'delay' are mutually exclusive".into());
    }
    for (name, v) in [("timestamp", timestamp), ("delay", delay)] {
        if v.is_some_and(|v| !v.is_finite() || v < 0.0) {
            return Err(format!("'{name}' must be a number >= 0 (ms)"));
        }
    }
    Ok(())
}

/// A row's optional `"type"` (AIPerf's explicit format field): absent, or the format reading it.
pub(crate) fn check_format(given: Option<&str>, own: &str) -> Result<(), String> {
    match given {
        Some(t) if t != own => Err(format!("'type' is '{t}', but this row is read as {own}")),
        _ => Ok(()),
    }
}

/// `output_length` as a request limit: must be > 0.
pub(crate) fn output_length(v: Option<i64>) -> Result<Option<u32>, String> {
    match v {
        None => Ok(None),
        Some(n) if n > 0 && n <= u32::MAX as i64 => Ok(Some(n as u32)),
        Some(n) => Err(format!("'output_length' must be > 0, got {n}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates() -> Vec<(&'static str, &'static str)> {
        vec![
            ("single_turn", BUILTINS[0].implementation),
            ("multi_turn", BUILTINS[1].implementation),
            ("random_pool", BUILTINS[2].implementation),
            ("mooncake_trace", BUILTINS[3].implementation),
            ("sharegpt", BUILTINS[4].implementation),
            ("bailian_trace", BUILTINS[5].implementation),
            ("burst_gpt_trace", BUILTINS[6].implementation),
            ("inputs_json", BUILTINS[7].implementation),
            ("baseten_trace", BUILTINS[8].implementation),
            ("sagemaker_data_capture", BUILTINS[9].implementation),
            ("raw_payload", BUILTINS[10].implementation),
            ("external", "exec:/bin/true"),
        ]
    }

    /// Each format's test accepts its own first records and no other format's; a row that
    /// breaks a format's rules is not that format.
    #[test]
    fn each_format_claims_its_own_records() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("{\"text\": \"a\"}", Some("single_turn")),
            ("{\"texts\": [{\"name\": \"query\", \"contents\": [\"q\"]}], \"session_id\": \"s\"}", Some("single_turn")),
            ("{\"image\": \"https://x/y.png\", \"delay\": 5}", Some("single_turn")),
            ("{\"turns\": [{\"role\": \"system\", \"text\": \"s\"}, {\"text\": \"a\"}]}", Some("multi_turn")),
            ("{\"input_length\": 5, \"hash_ids\": [1], \"timestamp\": 0}", Some("mooncake_trace")),
            // A bare message list is both a mooncake row and a raw body: AIPerf refuses to guess.
            ("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}", None),
            ("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 5}", Some("raw_payload")),
            ("{\"messages\": [], \"conversation_id\": \"c\"}", None),
            ("{\"captureData\": {\"endpointInput\": {\"data\": \"e30=\"}}, \"eventMetadata\": {\"eventId\": \"e\", \"inferenceTime\": \"2026-04-29T00:03:18Z\"}, \"eventVersion\": \"0\"}", Some("sagemaker_data_capture")),
            ("{\"payload\": {\"prompt\": \"x\"}}", Some("mooncake_trace")),
            ("[{\"conversations\": [{\"from\": \"human\", \"value\": \"x\"}]}]", Some("sharegpt")),
            ("{\"chat_id\": 159, \"parent_chat_id\": -1, \"timestamp\": 61.114, \"input_length\": 521, \"output_length\": 132, \"type\": \"text\", \"turn\": 1, \"hash_ids\": [1089, 1090]}", Some("bailian_trace")),
            ("{\"chat_id\": 1, \"timestamp\": 0, \"input_length\": 5, \"output_length\": 1}", Some("bailian_trace")),
            ("Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,472,18,490,Conversation log", Some("burst_gpt_trace")),
            ("Timestamp,Model,Request tokens,Total tokens", None),
            ("{\n  \"data\": [\n    {\n      \"session_id\": \"s\",\n      \"payloads\": [\n        {\"prompt\": \"x\"}\n      ]\n    }\n  ]\n}", Some("inputs_json")),
            ("{\"data\": [{\"session_id\": \"s\", \"payloads\": [{\"prompt\": \"x\"}]}]}", Some("inputs_json")),
            ("{\"data\": [{\"session_id\": \"s\"}]}", None),
            ("{\"chat_id\": 1, \"timestamp\": 0, \"input_length\": 0, \"output_length\": 1}", None),
            // AIPerf's explicit format field: a single pool file says so.
            ("{\"type\": \"random_pool\", \"text\": \"a\"}", Some("random_pool")),
            ("{\"type\": \"single_turn\", \"text\": \"a\"}", Some("single_turn")),
            ("{\"type\": \"multi_turn\", \"turns\": [{\"type\": \"single_turn\", \"text\": \"a\"}]}", Some("multi_turn")),
            ("{\"type\": \"mooncake_trace\", \"input_length\": 3}", Some("mooncake_trace")),
            // A `type` that names no format is just a field no format has.
            ("{\"type\": \"text\", \"text\": \"a\"}", None),
            // Broken rows belong to nobody.
            ("{\"text\": \"a\", \"timestamp\": 1, \"delay\": 2}", None),
            ("{\"text\": \"a\", \"output_length\": 0}", None),
            ("{\"turns\": []}", None),
            ("{\"input_length\": 5, \"text_input\": \"x\"}", None),
            ("{\"input_length\": -3}", None),
            ("{}", None),
            ("[1, 2]", None),
            ("\"text\"", None),
        ];
        for (i, (line, want)) in cases.iter().enumerate() {
            let p = dir.path().join(format!("{i}.jsonl"));
            std::fs::write(&p, format!("\n  \n{line}\n")).unwrap();
            let got = detect(&p, &candidates()).ok();
            assert_eq!(got, *want, "{line}");
        }
    }

    /// Two formats that both accept a file are an error naming both, not a silent pick.
    #[test]
    fn ambiguity_and_no_match_are_one_line_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.jsonl");
        std::fs::write(&p, "{\"text\": \"a\"}\n").unwrap();
        let twice = [
            ("single_turn", BUILTINS[0].implementation),
            ("my_single_turn", BUILTINS[0].implementation),
        ];
        let e = detect(&p, &twice).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: the file fits more than one dataset format (single_turn, my_single_turn); pass --custom-dataset-type",
                p.display()
            )
        );
        std::fs::write(&p, "{\"prompt\": \"a\", \"n\": 1}\n").unwrap();
        let e = detect(&p, &candidates()).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: no dataset format recognizes this file (the record on line 1 has fields 'prompt', 'n'); pass --custom-dataset-type (one of: single_turn, multi_turn, random_pool, mooncake_trace, sharegpt, bailian_trace, burst_gpt_trace, inputs_json, baseten_trace, sagemaker_data_capture, raw_payload)",
                p.display()
            )
        );
        assert!(!e.contains('\n'));
        std::fs::write(&p, "\n{\"type\": \"mooncake_trace\", \"text\": \"a\"}\n").unwrap();
        let e = detect(&p, &candidates()).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}:2: the record says \"type\": \"mooncake_trace\" but is not a valid mooncake_trace record; fix it or pass --custom-dataset-type",
                p.display()
            )
        );
        // A loader refuses rows that name another format.
        std::fs::write(&p, "{\"type\": \"random_pool\", \"text\": \"a\"}\n").unwrap();
        let e = single_turn(&p).unwrap_err().to_string();
        assert!(
            e.ends_with(":1: 'type' is 'random_pool', but this row is read as single_turn"),
            "{e}"
        );
        std::fs::write(&p, [0xffu8, 0xfe, 0x00, 0x41]).unwrap();
        let e = detect(&p, &candidates()).unwrap_err().to_string();
        assert!(e.contains("(cannot read it: it is not UTF-8 text)"), "{e}");
    }

    /// A byte-order mark (gzip or not) is not part of the first record.
    #[test]
    fn a_bom_does_not_break_reading_or_detection() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bom.jsonl");
        std::fs::write(&p, "\u{feff}{\"text\": \"a\"}\n{\"text\": \"b\"}\n").unwrap();
        assert_eq!(detect(&p, &candidates()).unwrap(), "single_turn");
        let c = single_turn(&p).unwrap();
        assert_eq!(c[0].turns[0].texts, ["a"]);
        let gz = dir.path().join("bom.jsonl.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut enc, "\u{feff}{\"text_input\": \"a\"}\n".as_bytes())
            .unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        assert_eq!(detect(&gz, &candidates()).unwrap(), "mooncake_trace");
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::*;

    /// Writes `text` to `name` in a temp dir and loads it with `f`, reporting errors under
    /// the bare file name.
    pub fn with_file<T>(
        name: &str,
        text: &str,
        f: impl FnOnce(&Path) -> Result<T, LoadError>,
    ) -> Result<T, LoadError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        f(&p).map_err(|e| match e {
            LoadError::Line { line, reason, .. } => LoadError::Line {
                path: name.into(),
                line,
                reason,
            },
            LoadError::File { reason, .. } => LoadError::File {
                path: name.into(),
                reason,
            },
        })
    }

    pub fn context<'a>(t: &'a TextTokenizer, c: &'a Corpus) -> LoadContext<'a> {
        LoadContext {
            tokenizer: t,
            corpus: c,
            seed: 1,
            block_size: None,
            num_conversations: None,
            osl_mean: None,
            replay: Default::default(),
            synthesis: Default::default(),
            agentic: Default::default(),
        }
    }
}
