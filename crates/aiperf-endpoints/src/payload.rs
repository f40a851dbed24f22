//! Options shared by every payload builder, and AIPerf's merge order for extra fields.

use aiperf_core::Turn;
use serde_json::{Map, Value};

/// The request-body options of a run, the same for every model and turn.
///
/// `aiperf-config` fills this once from the flags, so a flag that changes request bodies is a
/// field here plus its use in a payload builder, and the engine only copies it per model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BodyOptions {
    pub streaming: bool,
    /// `--use-legacy-max-tokens`: send `max_tokens` instead of `max_completion_tokens` (chat).
    pub use_legacy_max_tokens: bool,
    /// `--per-chunk-usage`: ask for cumulative usage on every streamed chunk.
    pub per_chunk_usage: bool,
    /// `--extra-inputs`, merged into the top level of every body.
    pub extra_inputs: Map<String, Value>,
}

impl BodyOptions {
    /// OpenAI's `stream_options`: usage in the final chunk always (as AIPerf asks), and on every
    /// chunk with `--per-chunk-usage`.
    pub fn stream_options(&self) -> Value {
        if self.per_chunk_usage {
            serde_json::json!({"include_usage": true, "continuous_usage_stats": true})
        } else {
            serde_json::json!({"include_usage": true})
        }
    }
}

/// Inputs to payload rendering: the model a body is for (models alternate by session) and the
/// run-wide body options.
#[derive(Debug, Clone, Default)]
pub struct PayloadOptions {
    pub model: String,
    pub body: BodyOptions,
}

/// Builds the final body: the endpoint's payload, then `--extra-inputs` (shallow merge; a
/// user `stream_options` object is merged with ours) unless the endpoint placed them itself,
/// then the turn's own `extra` (wins).
pub fn finish(
    endpoint: &dyn crate::Endpoint,
    mut body: Map<String, Value>,
    turn: &Turn,
    opts: &PayloadOptions,
) -> Map<String, Value> {
    if !endpoint.extra_inputs_inside() {
        merge(&mut body, &opts.body.extra_inputs);
    }
    if let Some(extra) = &turn.extra {
        merge(&mut body, extra);
    }
    body
}

fn merge(body: &mut Map<String, Value>, extra: &Map<String, Value>) {
    for (k, v) in extra {
        match (k.as_str(), body.get_mut(k), v) {
            ("stream_options", Some(Value::Object(ours)), Value::Object(theirs)) => {
                for (ik, iv) in theirs {
                    ours.insert(ik.clone(), iv.clone());
                }
            }
            _ => {
                body.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extra_inputs_then_turn_extra_win_and_stream_options_merge() {
        let body = json!({"model": "m", "stream_options": {"include_usage": true}});
        let Value::Object(body) = body else {
            unreachable!()
        };
        let mut opts = PayloadOptions::default();
        opts.body
            .extra_inputs
            .insert("temperature".into(), json!(0.5));
        opts.body.extra_inputs.insert(
            "stream_options".into(),
            json!({"continuous_usage_stats": true}),
        );
        let mut turn = Turn::default();
        let mut extra = Map::new();
        extra.insert("temperature".into(), json!(0.1));
        turn.extra = Some(extra);
        let out = Value::Object(finish(&crate::chat::Chat, body, &turn, &opts));
        assert_eq!(
            out,
            json!({"model": "m", "stream_options": {"include_usage": true, "continuous_usage_stats": true}, "temperature": 0.1})
        );
    }
}
