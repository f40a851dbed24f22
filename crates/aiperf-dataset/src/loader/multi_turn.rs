//! `multi_turn`: one conversation per line.
//! `{"session_id": "c1", "turns": [{"role": "system", "text": "Be terse."}, {"text": "Hi"},
//!   {"text": "And then?", "delay": 500}]}`
//!
//! A leading text-only `role: system` turn becomes the conversation's system message instead
//! of a request of its own. Every later turn carries the earlier ones, with the server's
//! replies, on message-based APIs.

use std::path::Path;

use aiperf_core::Conversation;
use serde::Deserialize;

use super::single_turn::{base_dir, TurnFields};
use super::{check_format, for_each_line, LoadError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(default)]
    session_id: Option<String>,
    turns: Vec<TurnFields>,
    /// AIPerf's optional format field: `"multi_turn"`.
    #[serde(default, rename = "type")]
    format: Option<String>,
}

impl Line {
    /// The rules of a line before anything is resolved.
    fn check(&self) -> Result<(), String> {
        check_format(self.format.as_deref(), "multi_turn")?;
        for (i, t) in self.turns.iter().enumerate() {
            check_format(t.format.as_deref(), "single_turn")
                .map_err(|e| format!("turn {i}: {e}"))?;
        }
        Ok(())
    }
}

/// Whether the first record is a `multi_turn` line: `turns` with at least one valid turn, each
/// valid (AIPerf: it validates as `MultiTurn`).
pub fn can_load(probe: &super::Probe) -> bool {
    probe.first_as::<Line>().is_some_and(|line| {
        line.check().is_ok()
            && !line.turns.is_empty()
            && line
                .turns
                .iter()
                .all(|t| t.session_id.is_none() && t.check().is_ok())
    })
}

pub fn load(path: &Path) -> Result<Vec<Conversation>, LoadError> {
    let base = base_dir(path);
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for_each_line(path, |_, line: Line| {
        line.check()?;
        let session_id = line
            .session_id
            .unwrap_or_else(|| format!("session_{:06}", out.len()));
        if !seen.insert(session_id.clone()) {
            return Err(format!(
                "session_id '{session_id}' appears on an earlier line"
            ));
        }
        let mut turns = line.turns.into_iter().peekable();
        let mut system = None;
        if let Some(first) = turns.peek() {
            if first.role.as_deref() == Some("system") && !first.has_media() {
                let t = turns.next().map(|t| t.into_turn(base)).transpose()?;
                system = t.map(|t| t.texts.join("\n"));
            }
        }
        let turns = turns
            .enumerate()
            .map(|(i, t)| {
                if t.session_id.is_some() {
                    return Err(format!(
                        "turn {i}: 'session_id' belongs to the conversation"
                    ));
                }
                t.into_turn(base).map_err(|e| format!("turn {i}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if turns.is_empty() {
            return Err("'turns' has no user turn".into());
        }
        out.push(Conversation {
            session_id,
            system,
            turns,
            ..Default::default()
        });
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loader::test_util::with_file;

    #[test]
    fn conversations_with_system_turn_and_delays() {
        let c = with_file(
            "m.jsonl",
            r#"{"session_id":"c1","turns":[{"role":"system","text":"Be terse."},{"text":"Hi"},{"text":"And then?","delay":500,"output_length":7}]}
{"turns":[{"text":"solo"}]}
"#,
            load,
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].session_id, "c1");
        assert_eq!(c[0].system.as_deref(), Some("Be terse."));
        assert_eq!(c[0].turns.len(), 2);
        assert_eq!(c[0].turns[0].texts, ["Hi"]);
        assert_eq!(c[0].turns[1].delay_ms, Some(500.0));
        assert_eq!(c[0].turns[1].max_tokens, Some(7));
        assert!(!c[0].independent_turns);
        assert_eq!(c[1].session_id, "session_000001");
    }

    #[test]
    fn bad_conversations_name_line_and_turn() {
        let e = with_file(
            "m.jsonl",
            "{\"turns\":[{\"text\":\"a\"}]}\n{\"turns\":[{\"text\":\"a\"},{\"txt\":\"b\"}]}\n",
            load,
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("m.jsonl:2: unknown field `txt`"), "{e}");
        let e = with_file(
            "m.jsonl",
            "{\"turns\":[{\"text\":\"a\"},{\"output_length\":3}]}\n",
            load,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "m.jsonl:1: turn 1: no input: give 'text' or 'texts' (or an image, audio or video)"
        );
        let e = with_file("m.jsonl", "{\"session_id\":\"x\"}\n", load)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("m.jsonl:1: missing field `turns`"), "{e}");
        let e = with_file(
            "m.jsonl",
            "{\"session_id\":\"x\",\"turns\":[{\"text\":\"a\"}]}\n{\"session_id\":\"x\",\"turns\":[{\"text\":\"a\"}]}\n",
            load,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "m.jsonl:2: session_id 'x' appears on an earlier line");
        let e = with_file(
            "m.jsonl",
            "{\"turns\":[{\"role\":\"system\",\"text\":\"s\"}]}\n",
            load,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "m.jsonl:1: 'turns' has no user turn");
    }
}
