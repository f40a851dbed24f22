//! `single_turn`: one request per line.
//! `{"text": "What is ML?", "output_length": 50, "extra": {"temperature": 0.2}}`
//!
//! Rows sharing a `session_id` are one session: sent in file order, one at a time, each
//! without the others as history (AIPerf's rule).

use std::path::Path;

use aiperf_core::{Conversation, Turn};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::media::{resolve, MediaKind};
use super::{check_timing, for_each_line, output_length, LoadError, Sessions};

/// The fields of one turn (AIPerf's names), shared by `single_turn` lines, `multi_turn` turns
/// and `random_pool` rows.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct TurnFields {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    texts: Option<Vec<TextItem>>,
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    images: Option<Vec<String>>,
    /// vLLM multimodal cache ids aligned with `images` (sent as each image part's `uuid`).
    #[serde(default)]
    image_uuids: Option<Vec<String>>,
    #[serde(default)]
    audio: Option<String>,
    #[serde(default)]
    audios: Option<Vec<String>>,
    #[serde(default)]
    video: Option<String>,
    #[serde(default)]
    videos: Option<Vec<String>>,
    #[serde(default)]
    output_length: Option<i64>,
    #[serde(default)]
    pub(crate) role: Option<String>,
    #[serde(default)]
    extra: Option<Map<String, Value>>,
    #[serde(default)]
    pub(crate) session_id: Option<String>,
    #[serde(default)]
    pub(crate) timestamp: Option<f64>,
    #[serde(default)]
    pub(crate) delay: Option<f64>,
    /// AIPerf's optional format field (`"single_turn"`, `"random_pool"`), checked by the loader.
    #[serde(default, rename = "type")]
    pub(crate) format: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TextItem {
    Plain(String),
    Named {
        name: Option<String>,
        contents: Vec<String>,
    },
}

impl TurnFields {
    /// Whether the row has any input other than text.
    pub(crate) fn has_media(&self) -> bool {
        self.image.is_some()
            || self.images.as_ref().is_some_and(|v| !v.is_empty())
            || self.image_uuids.as_ref().is_some_and(|v| !v.is_empty())
            || self.audio.is_some()
            || self.audios.as_ref().is_some_and(|v| !v.is_empty())
            || self.video.is_some()
            || self.videos.as_ref().is_some_and(|v| !v.is_empty())
    }

    /// The rules a row must pass before anything is resolved: timing, output length, and at
    /// least one input.
    pub(crate) fn check(&self) -> Result<(), String> {
        check_timing(self.timestamp, self.delay)?;
        output_length(self.output_length)?;
        let has_text = self.text.is_some() || self.texts.as_ref().is_some_and(|t| !t.is_empty());
        if !has_text && !self.has_media() {
            return Err("no input: give 'text' or 'texts' (or an image, audio or video)".into());
        }
        Ok(())
    }

    /// AIPerf's `image_uuids` rules: aligned 1:1 with the `images` list (which UUID-only rows
    /// may omit: their images are empty cache references), never with `image`, never empty.
    fn image_uuids(&mut self) -> Result<Vec<String>, String> {
        let Some(uuids) = self.image_uuids.take() else {
            return Ok(Vec::new());
        };
        if self.image.is_some() {
            return Err("image_uuids cannot be used with the singular image field".into());
        }
        let images = self
            .images
            .get_or_insert_with(|| vec![String::new(); uuids.len()]);
        if uuids.len() != images.len() {
            return Err(format!(
                "image_uuids length ({}) must match images length ({})",
                uuids.len(),
                images.len()
            ));
        }
        if uuids.iter().any(String::is_empty) {
            return Err("image_uuids must not contain empty strings".into());
        }
        Ok(uuids)
    }

    /// The turn these fields describe; media paths resolve against `base_dir`.
    pub(crate) fn into_turn(mut self, base_dir: &Path) -> Result<Turn, String> {
        let image_uuids = self.image_uuids()?;
        self.check()?;
        let has_media = self.has_media();
        let mut texts: Vec<String> = self.text.into_iter().collect();
        let mut query = None;
        for item in self.texts.unwrap_or_default() {
            match item {
                TextItem::Plain(s) => texts.push(s),
                // Rankings: texts named `query`/`queries` are the query, the rest passages.
                TextItem::Named { name, contents }
                    if matches!(name.as_deref(), Some("query" | "queries")) && query.is_none() =>
                {
                    query = Some(contents.join(" "));
                }
                TextItem::Named { contents, .. } => texts.extend(contents),
            }
        }
        if texts.is_empty() && query.is_none() && !has_media {
            return Err("no input: give 'text' or 'texts' (or an image, audio or video)".into());
        }
        // An empty image is a cache reference (`image_uuids` only): nothing to resolve.
        let media = |one: Option<String>, many: Option<Vec<String>>, kind| {
            one.into_iter()
                .chain(many.unwrap_or_default())
                .map(|v| match v.is_empty() {
                    true => Ok(v),
                    false => resolve(&v, kind, base_dir),
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Turn {
            texts,
            query,
            images: media(self.image, self.images, MediaKind::Image)?,
            image_uuids,
            audios: media(self.audio, self.audios, MediaKind::Audio)?,
            videos: media(self.video, self.videos, MediaKind::Video)?,
            max_tokens: output_length(self.output_length)?,
            role: self.role,
            extra: self.extra,
            timestamp_ms: self.timestamp,
            delay_ms: self.delay,
            ..Default::default()
        })
    }
}

/// The folder relative media paths resolve against.
pub(crate) fn base_dir(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}

/// Whether the first record is a `single_turn` row (AIPerf: it validates as `SingleTurn`).
pub fn can_load(probe: &super::Probe) -> bool {
    probe
        .first_as::<TurnFields>()
        .is_some_and(|row| check_row(&row).is_ok())
}

/// A `single_turn` row's rules.
fn check_row(row: &TurnFields) -> Result<(), String> {
    super::check_format(row.format.as_deref(), "single_turn")?;
    row.check()
}

/// Loads a `single_turn` file.
pub fn single_turn(path: &Path) -> Result<Vec<Conversation>, LoadError> {
    let base = base_dir(path);
    let mut sessions = Sessions::new(true);
    for_each_line(path, |_, row: TurnFields| {
        check_row(&row)?;
        let session_id = row.session_id.clone();
        sessions.push(session_id, row.into_turn(base)?);
        Ok(())
    })?;
    let out = sessions.into_conversations();
    if out.is_empty() {
        return Err(LoadError::file(path, "no requests in file"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Vec<Conversation>, LoadError> {
        crate::loader::test_util::with_file("d.jsonl", text, single_turn)
    }

    #[test]
    fn rows_sharing_a_session_id_are_one_session_without_history() {
        let c = load_text(
            "{\"text\": \"a\", \"session_id\": \"s\"}\n{\"text\": \"x\"}\n{\"text\": \"b\", \"session_id\": \"s\", \"delay\": 250}\n",
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].session_id, "s");
        assert!(c[0].independent_turns);
        assert_eq!(c[0].turns.len(), 2);
        assert_eq!(c[0].turns[1].delay_ms, Some(250.0));
        assert_eq!(c[1].session_id, "session_000001");
        assert!(!c[1].independent_turns);
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
        let r = load_text(
            r#"{"texts": [{"name": "query", "contents": ["what?"]}, {"name": "passages", "contents": ["p1", "p2"]}]}"#,
        )
        .unwrap();
        assert_eq!(r[0].turns[0].query.as_deref(), Some("what?"));
        assert_eq!(r[0].turns[0].texts, ["p1", "p2"]);
    }

    #[test]
    fn image_uuids_follow_aiperfs_rules() {
        let c = load_text(
            "{\"text\": \"t\", \"images\": [\"https://x/a.png\"], \"image_uuids\": [\"a\"]}\n\
             {\"image_uuids\": [\"a\", \"b\"]}\n",
        )
        .unwrap();
        assert_eq!(c[0].turns[0].image_uuids, ["a"]);
        assert_eq!(c[0].turns[0].images, ["https://x/a.png"]);
        // A UUID-only row is two cache references with empty content.
        assert_eq!(c[1].turns[0].images, ["", ""]);
        assert_eq!(c[1].turns[0].image_uuids, ["a", "b"]);
        for (row, reason) in [
            (
                r#"{"text": "t", "image": "https://x/a.png", "image_uuids": ["a"]}"#,
                "image_uuids cannot be used with the singular image field",
            ),
            (
                r#"{"text": "t", "images": ["https://x/a.png"], "image_uuids": ["a", "b"]}"#,
                "image_uuids length (2) must match images length (1)",
            ),
            (
                r#"{"text": "t", "images": ["https://x/a.png"], "image_uuids": [""]}"#,
                "image_uuids must not contain empty strings",
            ),
        ] {
            assert_eq!(
                load_text(&format!("{row}\n")).unwrap_err().to_string(),
                format!("d.jsonl:1: {reason}")
            );
        }
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
            "d.jsonl:1: no input: give 'text' or 'texts' (or an image, audio or video)"
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
