//! Speculative-decoding acceptance of one request, from vLLM's per-request
//! `metrics.speculative_decoding` object (server flag `--per-request-spec-decode-metrics`), as
//! AIPerf 0.13's `VLLMSpecDecodeAdapter` reads it. The endpoint parser carries that object in
//! the request's usage value under [`USAGE_KEY`], so it reaches the metrics with the usage.
//!
//! A payload whose counts contradict each other is dropped whole (AIPerf degrades it to no
//! record), so every metric of a request comes from one consistent payload or none.

use serde_json::Value;

/// Where the parser puts the payload inside the usage value.
pub const USAGE_KEY: &str = "speculative_decoding";

/// The engine-neutral acceptance record (AIPerf's `SpecDecodeAcceptanceRecord`, scalars only).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpecDecode {
    /// Tokens per verify step including the bonus token: `1 + accepted / steps`.
    pub mean_acceptance_length: f64,
    /// Accepted over proposed draft tokens, as a fraction.
    pub draft_acceptance_rate: f64,
    pub accepted_draft_tokens: u64,
    pub draft_tokens: u64,
    pub steps: u64,
}

fn count(v: &Value) -> Option<u64> {
    // `type(x) is int`: no bools, no floats.
    v.as_u64()
}

fn counts(v: Option<&Value>) -> Result<Option<Vec<u64>>, ()> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(count)
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or(()),
        Some(_) => Err(()),
    }
}

impl SpecDecode {
    /// Reads a request's usage value; `None` without a valid vLLM payload.
    pub fn from_usage(usage: &Value) -> Option<SpecDecode> {
        SpecDecode::parse(usage.get(USAGE_KEY)?)
    }

    /// Reads vLLM's payload, checking AIPerf's invariants: a dense histogram of
    /// `num_spec_tokens + 1` integer buckets whose counts sum to the steps and whose
    /// j-weighted sum is the accepted tokens, no more accepted than proposed, and per-step
    /// arrays (when sent) that reconcile with both.
    pub fn parse(p: &Value) -> Option<SpecDecode> {
        let histogram = counts(p.get("acceptance_histogram")).ok()??;
        let steps = count(p.get("num_spec_steps")?)?;
        if let Some(k) = p.get("num_spec_tokens").filter(|v| !v.is_null()) {
            if histogram.len() as u64 != count(k)? + 1 {
                return None;
            }
        }
        let accepted = count(p.get("num_accepted_draft_tokens")?)?;
        let drafted = count(p.get("num_draft_tokens")?)?;
        let finite = |k: &str| p.get(k)?.as_f64().filter(|v| v.is_finite());
        let out = SpecDecode {
            mean_acceptance_length: finite("mean_acceptance_length")?,
            draft_acceptance_rate: finite("draft_acceptance_rate")?,
            accepted_draft_tokens: accepted,
            draft_tokens: drafted,
            steps,
        };
        let step_sum: u64 = histogram.iter().sum();
        let weighted: u64 = histogram
            .iter()
            .enumerate()
            .map(|(j, c)| j as u64 * c)
            .sum();
        if step_sum != steps || weighted != accepted || accepted > drafted {
            return None;
        }
        let per_step_accepted = counts(p.get("per_step_accepted")).ok()?;
        let per_step_drafted = counts(p.get("per_step_drafted")).ok()?;
        for (per_step, total) in [(&per_step_accepted, accepted), (&per_step_drafted, drafted)] {
            if let Some(v) = per_step {
                if v.len() as u64 != steps || v.iter().sum::<u64>() != total {
                    return None;
                }
            }
        }
        if let (Some(a), Some(d)) = (&per_step_accepted, &per_step_drafted) {
            if a.iter().zip(d).any(|(a, d)| a > d) {
                return None;
            }
        }
        Some(out)
    }

    /// Emitted over verified tokens, one bonus per step on each side:
    /// `(accepted + steps) / (drafted + steps)`; `None` with neither drafts nor steps.
    pub fn accepted_per_verified(&self) -> Option<f64> {
        let den = self.draft_tokens + self.steps;
        (den > 0).then(|| (self.accepted_draft_tokens + self.steps) as f64 / den as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// 4 steps accepting 0, 2, 3, 3 of 3 drafts each: histogram [1, 0, 1, 2], accepted 8 of 12.
    fn payload() -> Value {
        json!({"mean_acceptance_length": 3.0, "draft_acceptance_rate": 8.0 / 12.0,
            "acceptance_histogram": [1, 0, 1, 2], "num_accepted_draft_tokens": 8,
            "num_draft_tokens": 12, "num_spec_steps": 4, "num_spec_tokens": 3,
            "per_step_accepted": [0, 2, 3, 3], "per_step_drafted": [3, 3, 3, 3]})
    }

    #[test]
    fn a_consistent_payload_by_hand() {
        let s = SpecDecode::from_usage(&json!({"completion_tokens": 12, USAGE_KEY: payload()}))
            .unwrap();
        assert_eq!(
            (s.accepted_draft_tokens, s.draft_tokens, s.steps),
            (8, 12, 4)
        );
        assert_eq!(s.mean_acceptance_length, 3.0);
        // (8 + 4) / (12 + 4) = 0.75.
        assert_eq!(s.accepted_per_verified(), Some(0.75));
    }

    #[test]
    fn contradictory_payloads_are_dropped() {
        let broken = |key: &str, v: Value| {
            let mut p = payload();
            p[key] = v;
            SpecDecode::parse(&p)
        };
        assert!(
            broken("num_spec_steps", json!(5)).is_none(),
            "histogram counts 4 steps"
        );
        assert!(
            broken("num_accepted_draft_tokens", json!(7)).is_none(),
            "j-weighted sum is 8"
        );
        assert!(
            broken("num_spec_tokens", json!(4)).is_none(),
            "4 buckets need k = 3"
        );
        assert!(broken("acceptance_histogram", json!([1, 0, true, 2])).is_none());
        assert!(broken("acceptance_histogram", json!("1023")).is_none());
        assert!(
            broken("num_draft_tokens", json!(7)).is_none(),
            "8 accepted of 7"
        );
        assert!(broken("per_step_drafted", json!([3, 3, 3, 2])).is_none());
        assert!(broken("per_step_accepted", json!([0, 2, 3])).is_none());
        assert!(broken("mean_acceptance_length", json!(null)).is_none());
        assert!(SpecDecode::from_usage(&json!({"completion_tokens": 3})).is_none());
        // Optional fields may be absent.
        let mut p = payload();
        for k in ["num_spec_tokens", "per_step_accepted", "per_step_drafted"] {
            p.as_object_mut().unwrap().remove(k);
        }
        assert!(SpecDecode::parse(&p).is_some());
    }

    #[test]
    fn run_level_acceptance_weighs_steps_not_requests() {
        use crate::accumulate::Accumulator;
        use crate::record::{RecordInput, RecordMetrics};
        // A: 4 steps, 8 of 12 accepted (length 3); B: 1 step, 0 of 3 accepted (length 1).
        // Per-request mean length 2; token-weighted 1 + 8 / 5 = 2.6; overall rate 8 / 15.
        let b = json!({"mean_acceptance_length": 1.0, "draft_acceptance_rate": 0.0,
            "acceptance_histogram": [1, 0, 0, 0], "num_accepted_draft_tokens": 0,
            "num_draft_tokens": 3, "num_spec_steps": 1});
        let mut acc = Accumulator::new(crate::registry::Applicability::STREAMED_CHAT);
        for p in [payload(), b] {
            let usage = json!({ USAGE_KEY: p });
            let m = RecordMetrics::of_success(&RecordInput {
                content_ns: &[1_000_000, 2_000_000],
                output_tokens: Some(2),
                usage: Some(&usage),
                ..Default::default()
            })
            .unwrap();
            acc.add_success(&m, 0);
        }
        let s = acc.summarize();
        assert_eq!(s.value("spec_decode_acceptance_length"), Some(2.0));
        assert_eq!(
            s.value("spec_decode_token_weighted_acceptance_length"),
            Some(2.6)
        );
        let rate = s
            .value("spec_decode_overall_draft_acceptance_rate")
            .unwrap();
        assert!((rate - 800.0 / 15.0).abs() < 1e-9, "{rate}");
        assert_eq!(
            (
                s.value("total_spec_decode_steps"),
                s.value("total_accepted_draft_tokens"),
                s.value("total_draft_tokens")
            ),
            (Some(5.0), Some(8.0), Some(15.0))
        );
        // Without spec decode, none of them.
        let mut plain = Accumulator::new(crate::registry::Applicability::STREAMED_CHAT);
        plain.add_success(
            &RecordMetrics::of_success(&RecordInput {
                content_ns: &[1_000_000],
                output_tokens: Some(1),
                ..Default::default()
            })
            .unwrap(),
            0,
        );
        let s = plain.summarize();
        assert!(s
            .results
            .iter()
            .all(|r| !r.tag.contains("spec_decode") && !r.tag.contains("draft")));
    }
}
