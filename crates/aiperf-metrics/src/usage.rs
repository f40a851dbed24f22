//! Provider-agnostic reading of a response's `usage` object (AIPerf spec §2.5).
//!
//! OpenAI, Anthropic, Gemini, Bedrock, Cohere, DeepSeek, IBM and vLLM spell token counts
//! differently; this maps them onto one [`Usage`]. Nested `usageMetadata`, `meta.tokens` and
//! `tokens` objects are flattened first. Anthropic-style disjoint cache fields are added to the
//! prompt count, since there `input_tokens` excludes cached tokens.

use serde_json::{Map, Value};

/// Token counts a server reported.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    pub prompt: Option<f64>,
    pub completion: Option<f64>,
    pub total: Option<f64>,
    pub reasoning: Option<f64>,
    pub prompt_cache_read: Option<f64>,
    pub prompt_cache_write: Option<f64>,
    pub prompt_cache_miss: Option<f64>,
    pub prompt_audio: Option<f64>,
    pub completion_audio: Option<f64>,
    pub accepted_prediction: Option<f64>,
    pub rejected_prediction: Option<f64>,
    pub tool_use_prompt: Option<f64>,
    pub prompt_audio_seconds: Option<f64>,
}

fn flatten(v: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(obj) = v.as_object() else { return out };
    for (k, v) in obj {
        match (k.as_str(), v) {
            ("usageMetadata" | "tokens", Value::Object(inner)) => out.extend(inner.clone()),
            ("meta", Value::Object(meta)) => {
                if let Some(Value::Object(t)) = meta.get("tokens") {
                    out.extend(t.clone());
                }
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

fn num(m: &Map<String, Value>, keys: &[&str]) -> Option<f64> {
    keys.iter().find_map(|k| m.get(*k).and_then(Value::as_f64))
}

fn nested(m: &Map<String, Value>, parents: &[&str], key: &str) -> Option<f64> {
    parents
        .iter()
        .find_map(|p| m.get(*p).and_then(|d| d.get(key)).and_then(Value::as_f64))
}

impl Usage {
    /// Reads a `usage` object; `None` when it holds no recognised count.
    pub fn parse(v: &Value) -> Option<Usage> {
        let m = flatten(v);
        if m.is_empty() {
            return None;
        }
        let cache_read_flat = num(&m, &["cache_read_input_tokens", "cacheReadInputTokens"]);
        let cache_write = num(
            &m,
            &["cache_creation_input_tokens", "cacheWriteInputTokens"],
        );
        let anthropic_prompt = num(&m, &["input_tokens", "inputTokens"]);
        let mut prompt = num(
            &m,
            &[
                "prompt_tokens",
                "input_tokens",
                "promptTokenCount",
                "inputTokens",
                "input_token_count",
            ],
        );
        let disjoint = m.get("prompt_tokens").is_none()
            && anthropic_prompt.is_some()
            && (cache_read_flat.is_some() || cache_write.is_some());
        if disjoint {
            prompt = Some(
                anthropic_prompt.unwrap_or(0.0)
                    + cache_read_flat.unwrap_or(0.0)
                    + cache_write.unwrap_or(0.0),
            );
        }
        let details = ["prompt_tokens_details", "input_tokens_details"];
        let out_details = ["completion_tokens_details", "output_tokens_details"];
        let u = Usage {
            prompt,
            completion: num(
                &m,
                &[
                    "completion_tokens",
                    "output_tokens",
                    "candidatesTokenCount",
                    "outputTokens",
                    "generated_token_count",
                ],
            ),
            total: num(&m, &["total_tokens", "totalTokenCount", "totalTokens"]),
            reasoning: nested(&m, &out_details, "reasoning_tokens")
                .or_else(|| num(&m, &["thoughtsTokenCount"])),
            prompt_cache_read: nested(&m, &details, "cached_tokens")
                .or(cache_read_flat)
                .or_else(|| {
                    num(
                        &m,
                        &[
                            "prompt_cache_hit_tokens",
                            "cachedContentTokenCount",
                            "cached_tokens",
                        ],
                    )
                }),
            prompt_cache_write: cache_write,
            prompt_cache_miss: num(&m, &["prompt_cache_miss_tokens"]),
            prompt_audio: nested(&m, &details, "audio_tokens"),
            completion_audio: nested(&m, &out_details, "audio_tokens"),
            accepted_prediction: nested(&m, &out_details, "accepted_prediction_tokens"),
            rejected_prediction: nested(&m, &out_details, "rejected_prediction_tokens"),
            tool_use_prompt: num(&m, &["toolUsePromptTokenCount"]),
            prompt_audio_seconds: num(&m, &["prompt_audio_seconds"]),
        };
        (u != Usage::default()).then_some(u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn openai_shape() {
        let u = Usage::parse(&json!({"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
            "prompt_tokens_details": {"cached_tokens": 40, "audio_tokens": 3},
            "completion_tokens_details": {"reasoning_tokens": 5, "accepted_prediction_tokens": 2, "rejected_prediction_tokens": 1}}))
        .unwrap();
        assert_eq!(
            (u.prompt, u.completion, u.total),
            (Some(100.0), Some(20.0), Some(120.0))
        );
        assert_eq!(
            (u.reasoning, u.prompt_cache_read, u.prompt_audio),
            (Some(5.0), Some(40.0), Some(3.0))
        );
        assert_eq!(
            (u.accepted_prediction, u.rejected_prediction),
            (Some(2.0), Some(1.0))
        );
    }

    #[test]
    fn anthropic_disjoint_cache_fields_are_added_to_the_prompt() {
        let u = Usage::parse(
            &json!({"input_tokens": 10, "output_tokens": 7, "cache_read_input_tokens": 90,
            "cache_creation_input_tokens": 5}),
        )
        .unwrap();
        assert_eq!(u.prompt, Some(105.0));
        assert_eq!(
            (u.completion, u.prompt_cache_read, u.prompt_cache_write),
            (Some(7.0), Some(90.0), Some(5.0))
        );
    }

    #[test]
    fn gemini_nested_and_others() {
        let g = Usage::parse(
            &json!({"usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 4,
            "totalTokenCount": 15, "thoughtsTokenCount": 3, "cachedContentTokenCount": 2}}),
        )
        .unwrap();
        assert_eq!(
            (
                g.prompt,
                g.completion,
                g.total,
                g.reasoning,
                g.prompt_cache_read
            ),
            (Some(8.0), Some(4.0), Some(15.0), Some(3.0), Some(2.0))
        );
        let cohere =
            Usage::parse(&json!({"meta": {"tokens": {"input_tokens": 6, "output_tokens": 2}}}))
                .unwrap();
        assert_eq!((cohere.prompt, cohere.completion), (Some(6.0), Some(2.0)));
        let deepseek = Usage::parse(&json!({"prompt_tokens": 9, "prompt_cache_hit_tokens": 4, "prompt_cache_miss_tokens": 5})).unwrap();
        assert_eq!(
            (deepseek.prompt_cache_read, deepseek.prompt_cache_miss),
            (Some(4.0), Some(5.0))
        );
        assert_eq!(Usage::parse(&json!({})), None);
        assert_eq!(Usage::parse(&json!({"unrelated": 1})), None);
    }
}
