//! Dataset files (`--input-file` + `--custom-dataset-type`). Every problem is reported as
//! `file:line: reason` before any request is sent.

use std::path::Path;

use aiperf_core::{Conversation, Turn};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Built-in loader implementations (registry `implementation` values).
pub const IMPLEMENTATIONS: [&str; 1] = ["aiperf_dataset::loader::SingleTurn"];

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

/// Loads `path` with the built-in loader `implementation`.
pub fn load(implementation: &str, path: &Path) -> Result<Vec<Conversation>, LoadError> {
    match implementation {
        "aiperf_dataset::loader::SingleTurn" => single_turn(path),
        other => Err(LoadError::File {
            path: path.display().to_string(),
            reason: format!("loader '{other}' is not built into aiperf_dataset"),
        }),
    }
}

/// One `single_turn` line (AIPerf's field names; media fields arrive with multimodal support).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SingleTurnLine {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    texts: Option<Vec<TextItem>>,
    #[serde(default)]
    output_length: Option<i64>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    extra: Option<Map<String, Value>>,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    timestamp: Option<f64>,
    #[serde(default)]
    delay: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TextItem {
    Plain(String),
    Named {
        #[allow(dead_code)]
        name: Option<String>,
        contents: Vec<String>,
    },
}

/// One request per line: `{"text": "...", "output_length": 50, "extra": {...}}`.
pub fn single_turn(path: &Path) -> Result<Vec<Conversation>, LoadError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| LoadError::File {
        path: name.clone(),
        reason: e.to_string(),
    })?;
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let err = |reason: String| LoadError::Line {
            path: name.clone(),
            line: line_no,
            reason,
        };
        let row: SingleTurnLine = serde_json::from_str(raw).map_err(|e| err(e.to_string()))?;
        if row.timestamp.is_some() && row.delay.is_some() {
            return Err(err("'timestamp' and 'delay' are mutually exclusive".into()));
        }
        let mut texts: Vec<String> = row.text.into_iter().collect();
        for item in row.texts.unwrap_or_default() {
            match item {
                TextItem::Plain(s) => texts.push(s),
                TextItem::Named { contents, .. } => texts.extend(contents),
            }
        }
        if texts.is_empty() {
            return Err(err("no input: give 'text' or 'texts'".into()));
        }
        let max_tokens = match row.output_length {
            None => None,
            Some(n) if n > 0 && n <= u32::MAX as i64 => Some(n as u32),
            Some(n) => return Err(err(format!("'output_length' must be > 0, got {n}"))),
        };
        let session_id = row
            .session_id
            .unwrap_or_else(|| format!("session_{:06}", out.len()));
        out.push(Conversation {
            session_id,
            turns: vec![Turn {
                texts,
                max_tokens,
                role: row.role,
                extra: row.extra,
                timestamp_ms: row.timestamp,
            }],
        });
    }
    if out.is_empty() {
        return Err(LoadError::File {
            path: name,
            reason: "no requests in file".into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Vec<Conversation>, LoadError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.jsonl");
        std::fs::write(&p, text).unwrap();
        single_turn(&p).map_err(|e| match e {
            LoadError::Line { line, reason, .. } => LoadError::Line {
                path: "d.jsonl".into(),
                line,
                reason,
            },
            LoadError::File { reason, .. } => LoadError::File {
                path: "d.jsonl".into(),
                reason,
            },
        })
    }

    #[test]
    fn reads_aiperf_single_turn_lines() {
        let c = load_text(
            "{\"text\": \"What is ML?\", \"output_length\": 50, \"extra\": {\"temperature\": 0.2}}\n\n\
             {\"texts\": [\"a\", {\"name\": \"q\", \"contents\": [\"b\", \"c\"]}], \"role\": \"user\"}\n",
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].turns[0].texts, ["What is ML?"]);
        assert_eq!(c[0].turns[0].max_tokens, Some(50));
        assert_eq!(c[0].turns[0].extra.as_ref().unwrap()["temperature"], 0.2);
        assert_eq!(c[1].turns[0].texts, ["a", "b", "c"]);
        assert_eq!(c[1].session_id, "session_000001");
    }

    #[test]
    fn bad_lines_fail_with_file_and_line() {
        let e = load_text("{\"text\": \"ok\"}\n{\"txt\": \"typo\"}\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("d.jsonl:2: unknown field `txt`"), "{e}");
        let e = load_text("{\"text\": \"ok\"}\n\n{broken\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("d.jsonl:3:"), "{e}");
        assert_eq!(
            load_text("{\"output_length\": 5}\n")
                .unwrap_err()
                .to_string(),
            "d.jsonl:1: no input: give 'text' or 'texts'"
        );
        assert!(load_text("{\"text\": \"x\", \"output_length\": 0}\n")
            .unwrap_err()
            .to_string()
            .contains("must be > 0"));
        assert_eq!(
            load_text("\n\n").unwrap_err().to_string(),
            "d.jsonl: no requests in file"
        );
    }

    #[test]
    fn arbitrary_lines_fail_cleanly() {
        let pieces = [
            "{",
            "}",
            "\"text\"",
            ":",
            "\"x\"",
            ",",
            "\"output_length\"",
            "-1",
            "5",
            "[",
            "]",
            "\"texts\"",
            "null",
            "\u{e9}",
        ];
        let mut x: u64 = 99;
        for _ in 0..2_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let line: String = (0..(x % 10))
                .map(|i| pieces[((x >> (i * 4)) % pieces.len() as u64) as usize])
                .collect();
            match load_text(&line) {
                Ok(c) => assert!(c.iter().all(|c| !c.turns[0].texts.is_empty())),
                Err(e) => assert!(e.to_string().starts_with("d.jsonl"), "{e}"),
            }
        }
    }
}
