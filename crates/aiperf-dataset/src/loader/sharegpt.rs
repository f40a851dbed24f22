//! ShareGPT (`ShareGPT_V3_unfiltered_cleaned_split.json`, read from a local file): a JSON array
//! of `{"id", "conversations": [{"from": "human", "value"}, {"from": "gpt", "value"}, ...]}`.
//!
//! As vLLM and AIPerf do: the first human turn is the prompt and the gpt turn after it the
//! reference completion; pairs are kept when the prompt has 4..=1024 tokens, prompt plus
//! completion at most 2048, and the completion at least 4 (unless `--osl` sets the output
//! length). The completion's token count becomes the request's output length.

use std::path::Path;

use aiperf_core::{Conversation, Turn};
use serde::Deserialize;

use super::{LoadContext, LoadError};

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    conversations: Vec<Message>,
}

#[derive(Debug, Deserialize)]
struct Message {
    from: String,
    value: String,
}

pub const MIN_PROMPT_TOKENS: usize = 4;
pub const MAX_PROMPT_TOKENS: usize = 1024;
pub const MAX_TOTAL_TOKENS: usize = 2048;
pub const MIN_COMPLETION_TOKENS: usize = 4;

/// Whether the file is one JSON array of `{"conversations": [...]}` entries (judged by its
/// start: JSONL formats never open with `[`).
pub fn can_load(probe: &super::Probe) -> bool {
    !probe.is_dir
        && probe.head.trim_start().starts_with('[')
        && probe.head.contains("\"conversations\"")
}

pub fn load(path: &Path, ctx: &LoadContext<'_>) -> Result<Vec<Conversation>, LoadError> {
    let file =
        aiperf_core::textfile::open(path).map_err(|e| LoadError::file(path, e.to_string()))?;
    let entries: Vec<Entry> = serde_json::from_reader(file).map_err(|e| LoadError::Line {
        path: path.display().to_string(),
        line: e.line(),
        reason: format!("not ShareGPT JSON (an array of {{\"conversations\": [...]}}): {e}"),
    })?;
    let fixed_osl = ctx.osl_mean.is_some();
    let limit = ctx.num_conversations.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        if out.len() >= limit {
            break;
        }
        let mut msgs = e.conversations.into_iter();
        let Some(prompt) = msgs.find(|m| m.from == "human") else {
            continue;
        };
        let Some(completion) = msgs.next().filter(|m| m.from == "gpt") else {
            continue;
        };
        let p = ctx.tokenizer.count(&prompt.value);
        let c = ctx.tokenizer.count(&completion.value);
        let keep = (MIN_PROMPT_TOKENS..=MAX_PROMPT_TOKENS).contains(&p)
            && (fixed_osl || (c >= MIN_COMPLETION_TOKENS && p + c <= MAX_TOTAL_TOKENS));
        if !keep {
            continue;
        }
        let turn = Turn {
            texts: vec![prompt.value],
            max_tokens: (!fixed_osl).then_some(c as u32),
            ..Default::default()
        };
        let id = e.id.unwrap_or_else(|| format!("sharegpt_{i:06}"));
        out.push(Conversation::single(id, turn));
    }
    if out.is_empty() {
        return Err(LoadError::file(
            path,
            "no ShareGPT conversation passed the length filters (prompt 4..=1024 tokens, total <= 2048)",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Corpus;
    use crate::loader::test_util::{context, with_file};
    use crate::TextTokenizer;

    #[test]
    fn keeps_human_gpt_pairs_that_pass_the_filters() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        let long = "word ".repeat(1500);
        let text = serde_json::json!([
            {"id": "a", "conversations": [
                {"from": "human", "value": "Tell me a story about a brave knight."},
                {"from": "gpt", "value": "Once upon a time there was a knight who was brave."},
                {"from": "human", "value": "more"}]},
            {"id": "short", "conversations": [
                {"from": "human", "value": "hi"}, {"from": "gpt", "value": "Hello, how can I help you?"}]},
            {"id": "long", "conversations": [
                {"from": "human", "value": long}, {"from": "gpt", "value": "ok ok ok ok ok"}]},
            {"id": "no-reply", "conversations": [{"from": "human", "value": "anyone there at all?"}]},
            {"conversations": [
                {"from": "system", "value": "x"},
                {"from": "human", "value": "What is the capital of France?"},
                {"from": "gpt", "value": "The capital of France is Paris."}]}
        ])
        .to_string();
        let ctx = context(&t, &c);
        let convs = with_file("s.json", &text, |p| load(p, &ctx)).unwrap();
        let ids: Vec<&str> = convs.iter().map(|c| c.session_id.as_str()).collect();
        assert_eq!(ids, ["a", "sharegpt_000004"]);
        assert_eq!(
            convs[0].turns[0].max_tokens,
            Some(t.count("Once upon a time there was a knight who was brave.") as u32)
        );
        let mut fixed = context(&t, &c);
        fixed.osl_mean = Some(10.0);
        let convs = with_file("s.json", &text, |p| load(p, &fixed)).unwrap();
        assert_eq!(convs[0].turns[0].max_tokens, None);
        let e = with_file("s.json", "{\"not\": \"an array\"}", |p| load(p, &ctx))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.json:1: not ShareGPT JSON"), "{e}");
    }
}
