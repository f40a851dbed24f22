//! Media sent and generated per request: what the image, audio and video metrics read.
//!
//! Input media are counted from the exact body sent, as AIPerf counts them from the payload
//! (`payload_extraction.py`): chat content parts by type, and NIM image retrieval's flat `input`
//! list. Video generation's server stats (`inference_time_s`, `peak_memory_mb` on the finished
//! job) reach the metrics inside the usage value, under [`VIDEO_USAGE_KEY`], put there by the
//! endpoint parser.

use serde_json::Value;

/// Where the endpoint parser puts a finished video job's server stats inside the usage value.
pub const VIDEO_USAGE_KEY: &str = "video_generation";

/// Media parts of one request body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaCounts {
    pub images: u64,
    pub audios: u64,
    pub videos: u64,
}

impl MediaCounts {
    /// Counts the media parts of a JSON request body (0 for anything else).
    pub fn from_body(body: &[u8]) -> MediaCounts {
        let mut out = MediaCounts::default();
        // Most bodies carry no media: skip parsing them (this runs on the record processor).
        let mentions = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
        if ![&b"image_url"[..], b"input_audio", b"video_url"]
            .iter()
            .any(|n| mentions(n))
        {
            return out;
        }
        let Ok(doc) = serde_json::from_slice::<Value>(body) else {
            return out;
        };
        let parts = |v: Option<&Value>| -> Vec<Value> {
            v.and_then(Value::as_array).cloned().unwrap_or_default()
        };
        for message in parts(doc.get("messages")) {
            for part in parts(message.get("content")) {
                out.add(part.get("type").and_then(Value::as_str));
            }
        }
        for part in parts(doc.get("input")) {
            if part.get("type").and_then(Value::as_str) == Some("image_url") {
                out.images += 1;
            }
        }
        out
    }

    fn add(&mut self, kind: Option<&str>) {
        match kind {
            Some("image_url") => self.images += 1,
            Some("input_audio") => self.audios += 1,
            Some("video_url") => self.videos += 1,
            _ => {}
        }
    }
}

/// A finished video job's server stats, from the usage value.
pub(crate) fn video_stat(usage: Option<&Value>, key: &str) -> Option<f64> {
    usage?
        .get(VIDEO_USAGE_KEY)?
        .get(key)?
        .as_f64()
        .filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_chat_parts_and_retrieval_inputs() {
        let chat = br#"{"messages":[{"role":"user","content":[{"type":"text","text":"a"},
            {"type":"image_url","image_url":{"url":"x"}},{"type":"image_url","image_url":{"url":"y"}},
            {"type":"input_audio","input_audio":{"data":"z","format":"wav"}}]},
            {"role":"user","content":[{"type":"video_url","video_url":{"url":"v"}}]},
            {"role":"assistant","content":"plain text"}]}"#;
        assert_eq!(
            MediaCounts::from_body(chat),
            MediaCounts {
                images: 2,
                audios: 1,
                videos: 1
            }
        );
        let retrieval = br#"{"input":[{"type":"image_url","url":"a"},{"type":"image_url","url":"b"},{"type":"text"}]}"#;
        assert_eq!(MediaCounts::from_body(retrieval).images, 2);
        assert_eq!(
            MediaCounts::from_body(b"--multipart--"),
            MediaCounts::default()
        );
    }
}
