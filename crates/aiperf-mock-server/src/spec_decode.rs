//! vLLM's per-request speculative-decoding stats (`--num-speculative-tokens`): the
//! `metrics.speculative_decoding` object vLLM puts at the response root when it runs with
//! `--per-request-spec-decode-metrics summary|detailed`, in its field order and shape (a dense
//! `acceptance_histogram` of k + 1 buckets).

use serde_json::{json, Value};

/// Accepted drafts of each verify step of a reply of `output_tokens` tokens.
///
/// The first token comes from the prefill; each step then accepts its drafts in order while
/// `draw(i) < p` (i numbers the reply's draws from 0), at most `k`, and emits them plus one
/// bonus token. The last step accepts no more than the reply has room for, so the steps'
/// tokens add up to `output_tokens - 1`.
pub fn steps(
    output_tokens: usize,
    k: usize,
    p: f64,
    mut draw: impl FnMut(u64) -> f64,
) -> Vec<usize> {
    let mut left = output_tokens.saturating_sub(1);
    let mut out = Vec::new();
    let mut i = 0u64;
    while left > 0 {
        let mut j = 0;
        while j < k && draw(i) < p {
            j += 1;
            i += 1;
        }
        // The rejected draft took a draw too.
        i += u64::from(j < k);
        let j = j.min(left - 1);
        out.push(j);
        left -= j + 1;
    }
    out
}

/// vLLM's payload for these steps with `k` drafts each; `detailed` adds the per-step arrays.
pub fn payload(steps: &[usize], k: usize, detailed: bool) -> Value {
    let mut histogram = vec![0u64; k + 1];
    for &j in steps {
        if let Some(b) = histogram.get_mut(j) {
            *b += 1;
        }
    }
    let n = steps.len();
    let accepted: usize = steps.iter().sum();
    let drafted = k * n;
    let mut p = json!({
        "mean_acceptance_length": if n > 0 { 1.0 + accepted as f64 / n as f64 } else { 1.0 },
        "draft_acceptance_rate": if drafted > 0 { accepted as f64 / drafted as f64 } else { 0.0 },
        "acceptance_histogram": histogram,
        "num_spec_steps": n,
        "num_accepted_draft_tokens": accepted,
        "num_draft_tokens": drafted,
        "num_spec_tokens": k,
    });
    if detailed {
        p["per_step_accepted"] = json!(steps);
        p["per_step_drafted"] = json!(vec![k; n]);
    }
    p
}

/// The response-root `metrics` object that carries the payload.
pub fn metrics(payload: &Value) -> Value {
    json!({ "speculative_decoding": payload })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_draft_accepted_fills_steps_until_the_last() {
        // 19 tokens: 1 from the prefill, then 4 + 4 + 4 + 4 + 2 (the last step accepts 1).
        let s = steps(19, 3, 1.0, |_| 0.5);
        assert_eq!(s, [3, 3, 3, 3, 1]);
        let p = payload(&s, 3, true);
        assert_eq!(p["acceptance_histogram"], json!([0, 1, 0, 4]));
        assert_eq!(
            (
                &p["num_spec_steps"],
                &p["num_accepted_draft_tokens"],
                &p["num_draft_tokens"]
            ),
            (&json!(5), &json!(13), &json!(15))
        );
        assert_eq!(p["mean_acceptance_length"], 3.6);
        assert_eq!(p["draft_acceptance_rate"], 13.0 / 15.0);
        assert_eq!(p["per_step_drafted"], json!([3, 3, 3, 3, 3]));
        assert!(payload(&s, 3, false).get("per_step_accepted").is_none());
    }

    #[test]
    fn draws_decide_each_draft_in_order() {
        // Draws 0.1 0.9 | 0.1 0.1 0.1 | 0.9 | 0.9 with p = 0.5, k = 3: the steps accept 1 (its
        // 2nd draft rejected), 3 (all k: no rejection draw), 0, 0.
        let draws = [0.1, 0.9, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9];
        let s = steps(9, 3, 0.5, |i| draws[i as usize % draws.len()]);
        // 8 tokens after the prefill: 2 (j=1) + 4 (j=3) + 1 (j=0) + 1 (j=0).
        assert_eq!(s, [1, 3, 0, 0]);
        assert_eq!(steps(1, 3, 0.5, |_| 0.0), Vec::<usize>::new());
        let zero = payload(&[], 3, false);
        assert_eq!(zero["acceptance_histogram"], json!([0, 0, 0, 0]));
        assert_eq!(zero["mean_acceptance_length"], 1.0);
        assert_eq!(zero["draft_acceptance_rate"], 0.0);
    }

    #[test]
    fn counts_stay_consistent_for_any_draws() {
        let mut x = 7u64;
        let mut rng = move |_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        for (n, k, p) in [(2, 1, 0.5), (50, 4, 0.3), (301, 5, 0.8), (7, 2, 0.0)] {
            let s = steps(n, k, p, &mut rng);
            let v = payload(&s, k, true);
            let hist: Vec<u64> = serde_json::from_value(v["acceptance_histogram"].clone()).unwrap();
            let steps_n = v["num_spec_steps"].as_u64().unwrap();
            let accepted = v["num_accepted_draft_tokens"].as_u64().unwrap();
            assert_eq!(hist.iter().sum::<u64>(), steps_n);
            let weighted: u64 = hist.iter().enumerate().map(|(j, c)| j as u64 * c).sum();
            assert_eq!(weighted, accepted);
            assert_eq!(accepted + steps_n, n as u64 - 1, "emitted tokens");
            assert_eq!(v["num_draft_tokens"].as_u64().unwrap(), k as u64 * steps_n);
        }
    }
}
