//! `--oracle-answers FILE`: replies chosen by the question, for accuracy tests. Each line of
//! the file is `{"key": ..., "reply": ...}`; a request whose last message (chat, Messages) or
//! prompt (completions) equals a key, or ends with one (a system prompt put before it), gets
//! that reply word by word instead of generated text, whatever its `max_tokens`. Which replies
//! are right is decided by whoever writes the file (`aiperf_accuracy::oracle`).

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::wire::Api;

/// The replies by question.
#[derive(Debug, Default)]
pub struct Oracle {
    replies: HashMap<String, String>,
}

impl Oracle {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("--oracle-answers {}: {e}", path.display()))?;
        let mut replies = HashMap::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v: Value = serde_json::from_str(line).map_err(|e| {
                anyhow::anyhow!("--oracle-answers {}:{}: {e}", path.display(), i + 1)
            })?;
            let (Some(key), Some(reply)) = (
                v.get("key").and_then(Value::as_str),
                v.get("reply").and_then(Value::as_str),
            ) else {
                anyhow::bail!(
                    "--oracle-answers {}:{}: needs string fields key and reply",
                    path.display(),
                    i + 1
                );
            };
            replies.insert(key.to_string(), reply.to_string());
        }
        Ok(Self { replies })
    }

    /// The reply to `req`, if its question is known.
    pub fn reply(&self, api: Api, req: &Value) -> Option<&str> {
        let question = match api {
            Api::Chat | Api::Messages => {
                crate::wire::text_of(req.get("messages")?.as_array()?.last()?.get("content")?)
            }
            Api::Completions => req.get("prompt")?.as_str()?.to_string(),
            _ => return None,
        };
        if let Some(r) = self.replies.get(&question) {
            return Some(r);
        }
        self.replies
            .iter()
            .filter(|(k, _)| question.ends_with(k.as_str()))
            .max_by_key(|(k, _)| k.len())
            .map(|(_, r)| r.as_str())
    }
}

/// A reply cut into tokens to stream: each word with the whitespace before it.
pub fn pieces(reply: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    for c in reply.chars() {
        if c.is_whitespace() && in_word {
            out.push(std::mem::take(&mut cur));
            in_word = false;
        }
        if !c.is_whitespace() {
            in_word = true;
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pieces_keep_every_character_in_order() {
        let p = pieces("The answer is (B).\n#### 72");
        assert_eq!(p, ["The", " answer", " is", " (B).", "\n####", " 72"]);
        assert_eq!(p.concat(), "The answer is (B).\n#### 72");
        assert_eq!(pieces(""), [""]);
        assert_eq!(pieces("  x").concat(), "  x");
    }

    #[test]
    fn questions_match_whole_or_as_the_end_of_the_prompt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.jsonl");
        std::fs::write(
            &path,
            "{\"key\":\"Question: 1+1?\\nAnswer:\",\"reply\":\"#### 2\"}\n\n{\"key\":\"Q2\",\"reply\":\"B\"}\n",
        )
        .unwrap();
        let o = Oracle::load(&path).unwrap();
        let chat = json!({"messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Question: 1+1?\nAnswer:"}
        ]});
        assert_eq!(o.reply(Api::Chat, &chat), Some("#### 2"));
        let completion = json!({"prompt": "Be brief.\n\nQ2"});
        assert_eq!(o.reply(Api::Completions, &completion), Some("B"));
        assert_eq!(o.reply(Api::Completions, &json!({"prompt": "Q3"})), None);
        std::fs::write(&path, "{\"key\": 1}\n").unwrap();
        let e = Oracle::load(&path).unwrap_err().to_string();
        assert!(
            e.contains("o.jsonl:1: needs string fields key and reply"),
            "{e}"
        );
    }
}
