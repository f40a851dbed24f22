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

pub mod media;
pub mod mooncake;
pub mod multi_turn;
pub mod random_pool;
pub mod sharegpt;
pub mod single_turn;

use std::io::BufRead;
use std::path::Path;

use aiperf_core::Conversation;
use serde::de::DeserializeOwned;

use crate::corpus::Corpus;
use crate::tokenizer::TextTokenizer;

pub use single_turn::single_turn;

/// Reads one dataset file into conversations.
pub type LoadFn = fn(&Path, &LoadContext<'_>) -> Result<Vec<Conversation>, LoadError>;

/// Every loader built into this crate: its registry `implementation` (the path of the function
/// that reads the format; `plugins.yaml` names it, a test checks it exists) and that function.
/// What a loader needs besides the file (the prompt corpus) is its entry's metadata.
pub const BUILTINS: [(&str, LoadFn); 5] = [
    (
        "aiperf_dataset::loader::single_turn::single_turn",
        |p, _| single_turn(p),
    ),
    ("aiperf_dataset::loader::multi_turn::load", |p, _| {
        multi_turn::load(p)
    }),
    (
        "aiperf_dataset::loader::random_pool::load",
        random_pool::load,
    ),
    ("aiperf_dataset::loader::mooncake::load", mooncake::load),
    ("aiperf_dataset::loader::sharegpt::load", sharegpt::load),
];

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
}

/// Loads `path` with the built-in loader `implementation`.
pub fn load(
    implementation: &str,
    path: &Path,
    ctx: &LoadContext<'_>,
) -> Result<Vec<Conversation>, LoadError> {
    let Some((_, read)) = BUILTINS.iter().find(|(i, _)| *i == implementation) else {
        return Err(LoadError::file(
            path,
            format!("loader '{implementation}' is not built into aiperf_dataset"),
        ));
    };
    let out = read(path, ctx)?;
    if out.is_empty() {
        return Err(LoadError::file(path, "no requests in file"));
    }
    Ok(out)
}

/// Calls `row` for every non-blank line of a JSONL file (gzip when it ends in `.gz`) with its
/// 1-based line number and the parsed value; the first error, from parsing or from `row`,
/// stops reading and is reported at that line.
pub fn for_each_line<T: DeserializeOwned>(
    path: &Path,
    mut row: impl FnMut(usize, T) -> Result<(), String>,
) -> Result<(), LoadError> {
    let file = std::fs::File::open(path).map_err(|e| LoadError::file(path, e.to_string()))?;
    let mut reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(std::io::BufReader::new(flate2::read::GzDecoder::new(file)))
    } else {
        Box::new(std::io::BufReader::with_capacity(1 << 16, file))
    };
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

/// `output_length` as a request limit: must be > 0.
pub(crate) fn output_length(v: Option<i64>) -> Result<Option<u32>, String> {
    match v {
        None => Ok(None),
        Some(n) if n > 0 && n <= u32::MAX as i64 => Ok(Some(n as u32)),
        Some(n) => Err(format!("'output_length' must be > 0, got {n}")),
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
        }
    }
}
