//! Trace replay transformations: how recorded times become send times.
//!
//! The timing engine replays what loaded turns say: a first turn at its `timestamp_ms`, a later
//! turn at max(its `timestamp_ms`, the previous answer), or its `delay_ms` after the previous
//! answer. So AIPerf's replay knobs are rewrites of those two fields, done here at load time
//! and tested without a clock: [`reflow_idle_gaps`] (`--max-idle-gap-cap-seconds`),
//! [`back_pressure`] (`--no-open-loop-replay`), [`sample_sessions`]
//! (`--trace-session-sample-ratio`), [`strip_delays`] (`--ignore-trace-delays`).

use aiperf_core::Conversation;

use crate::rng::Rng;

/// The replay options a loader reads (`aiperf_config`'s `TraceReplayOptions`, typed for this
/// crate). The default is AIPerf's: real time, open loop, `min_tokens` forced, hints sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOptions {
    pub session_sample_ratio: Option<f64>,
    /// Recorded times are divided by this (> 0).
    pub speedup: f64,
    pub max_idle_gap_cap_ms: Option<f64>,
    pub inter_turn_delay_cap_ms: Option<f64>,
    pub open_loop: bool,
    pub open_loop_strict: bool,
    pub omit_kv_hints: bool,
    pub force_min_tokens: bool,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        Self {
            session_sample_ratio: None,
            speedup: 1.0,
            max_idle_gap_cap_ms: None,
            inter_turn_delay_cap_ms: None,
            open_loop: true,
            open_loop_strict: false,
            omit_kv_hints: false,
            force_min_tokens: true,
        }
    }
}

/// AIPerf's `reflow_idle_gaps`: walking the events in time order (ties in input order), every
/// gap to the next event longer than `cap_ms` (rounded up to whole ms) is shortened to it; the
/// earliest event keeps its time. Times are truncated to whole ms, as there. Returned in
/// input order.
pub fn reflow_idle_gaps(timestamps_ms: &[f64], cap_ms: f64) -> Vec<f64> {
    let values: Vec<i64> = timestamps_ms.iter().map(|t| t.trunc() as i64).collect();
    if values.len() <= 1 {
        return values.into_iter().map(|v| v as f64).collect();
    }
    let cap = cap_ms.ceil() as i64;
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by_key(|&i| (values[i], i));
    let mut out = vec![0i64; values.len()];
    let (mut prev_old, mut prev_new) = (values[order[0]], values[order[0]]);
    out[order[0]] = prev_new;
    for &i in &order[1..] {
        prev_new += (values[i] - prev_old).min(cap);
        out[i] = prev_new;
        prev_old = values[i];
    }
    out.into_iter().map(|v| v as f64).collect()
}

/// A recorded turn of a session, for [`back_pressure`]: its (scaled) start and its recorded
/// end-to-end duration (unscaled, ms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recorded {
    pub start_ms: f64,
    pub e2e_ms: Option<f64>,
}

/// AIPerf's closed-loop back-pressure for one session's turns in time order: the first keeps
/// its start; each later one becomes a think time after the previous answer, the recorded
/// start-to-start gap minus the previous turn's recorded duration (scaled by `speedup`),
/// clamped to `cap_ms`. Starts are truncated to whole ms, as there. `None` for the first.
pub fn back_pressure(turns: &[Recorded], speedup: f64, cap_ms: Option<f64>) -> Vec<Option<f64>> {
    let mut out = Vec::with_capacity(turns.len());
    let mut prev: Option<(i64, f64)> = None;
    for t in turns {
        let start = t.start_ms.trunc() as i64;
        let e2e = t.e2e_ms.unwrap_or(0.0) / speedup;
        out.push(prev.map(|(prev_start, prev_e2e)| {
            let gap = (start - prev_start).max(0) as f64;
            let think = (gap - prev_e2e).max(0.0);
            cap_ms.map_or(think, |c| think.min(c))
        }));
        prev = Some((start, e2e));
    }
    out
}

/// AIPerf's whole-session sampling: sessions ordered by (first time, id) each kept with
/// probability `ratio` from one seeded stream (at least one is kept), then rows without a
/// session each kept with the same probability, in file order. Returns the kept session ids
/// and which of the session-less rows (by their ordinal) are kept.
pub fn sample_sessions(
    sessions: &[(f64, String)],
    sessionless_rows: usize,
    ratio: f64,
    seed: u64,
) -> (std::collections::HashSet<String>, Vec<bool>) {
    let mut rng = Rng::derive(seed, "dataset.loader.baseten_trace.session_sampling");
    let mut ordered: Vec<&(f64, String)> = sessions.iter().collect();
    ordered.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let mut kept: std::collections::HashSet<String> = ordered
        .iter()
        .filter(|_| rng.uniform() < ratio)
        .map(|s| s.1.clone())
        .collect();
    if kept.is_empty() && !ordered.is_empty() {
        let pick = rng.below(ordered.len() as u64) as usize;
        kept.insert(ordered[pick].1.clone());
    }
    let rows = (0..sessionless_rows)
        .map(|_| rng.uniform() < ratio)
        .collect();
    (kept, rows)
}

/// AIPerf's `--extra-inputs` collision check for `baseten_trace`: keys the loader overwrites
/// per turn (`min_tokens` while forced, `hash_ids` / `block_size` while hints are sent) would
/// silently lose the user's value, so they are refused, naming the flag that stops the
/// overwrite. `None` when nothing collides.
pub fn extra_input_collisions(
    extra: &serde_json::Map<String, serde_json::Value>,
    force_min_tokens: bool,
    omit_kv_hints: bool,
) -> Option<String> {
    let mut collisions: Vec<(&str, &str)> = Vec::new();
    if force_min_tokens && extra.contains_key("min_tokens") {
        collisions.push(("min_tokens", "--no-force-min-tokens"));
    }
    if !omit_kv_hints {
        for key in ["hash_ids", "block_size"] {
            if extra.contains_key(key) {
                collisions.push((key, "--omit-kv-hints"));
            }
        }
    }
    if collisions.is_empty() {
        return None;
    }
    Some(
        collisions
            .iter()
            .map(|(key, flag)| {
                format!(
                    "{key} is overwritten per-turn by the baseten_trace loader; pass {flag} to \
                     send your value instead"
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// `--ignore-trace-delays`: every turn loses its recorded timestamp and delay, so the load
/// mode alone decides when turns go.
pub fn strip_delays(conversations: &mut [Conversation]) {
    for t in conversations.iter_mut().flat_map(|c| c.turns.iter_mut()) {
        t.timestamp_ms = None;
        t.delay_ms = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_gaps_are_capped_in_time_order_keeping_input_order() {
        // Events at 0, 100, 10_000, 10_050 (given out of order), cap 1 s.
        let got = reflow_idle_gaps(&[10_000.0, 0.0, 10_050.0, 100.0], 1000.0);
        assert_eq!(got, [1100.0, 0.0, 1150.0, 100.0]);
        // The first event keeps a non-zero origin; ties stay ties; fractions truncate.
        let got = reflow_idle_gaps(&[500.9, 500.2, 9000.0], 0.5);
        assert_eq!(got, [500.0, 500.0, 501.0]);
        assert_eq!(reflow_idle_gaps(&[7.5], 1.0), [7.0]);
        assert!(reflow_idle_gaps(&[], 1.0).is_empty());
    }

    #[test]
    fn back_pressure_subtracts_the_recorded_service_time() {
        let turns = [
            Recorded {
                start_ms: 1000.0,
                e2e_ms: Some(300.0),
            },
            Recorded {
                start_ms: 2000.0,
                e2e_ms: None,
            },
            Recorded {
                start_ms: 2500.7,
                e2e_ms: Some(100.0),
            },
            Recorded {
                start_ms: 2550.0,
                e2e_ms: None,
            },
        ];
        // 2000 - 1000 - 300 = 700; 2500 - 2000 - 0 = 500; 2550 - 2500 - 100 < 0 -> 0.
        assert_eq!(
            back_pressure(&turns, 1.0, None),
            [None, Some(700.0), Some(500.0), Some(0.0)]
        );
        // Timestamps are already scaled; durations are divided by the speedup here.
        assert_eq!(
            back_pressure(&turns[..2], 2.0, None),
            [None, Some(1000.0 - 150.0)]
        );
        assert_eq!(
            back_pressure(&turns, 1.0, Some(600.0)),
            [None, Some(600.0), Some(500.0), Some(0.0)]
        );
    }

    #[test]
    fn sampling_keeps_whole_sessions_deterministically() {
        let sessions: Vec<(f64, String)> = (0..1000).map(|i| (i as f64, format!("s{i}"))).collect();
        let (a, rows_a) = sample_sessions(&sessions, 100, 0.3, 7);
        let (b, rows_b) = sample_sessions(&sessions, 100, 0.3, 7);
        assert_eq!(a, b, "same seed, same sessions");
        assert_eq!(rows_a, rows_b);
        // Binomial(1000, 0.3): mean 300, sd 14.5; 5 sd either side.
        assert!((227..=373).contains(&a.len()), "{}", a.len());
        let kept_rows = rows_a.iter().filter(|k| **k).count();
        // Binomial(100, 0.3): mean 30, sd 4.6.
        assert!((7..=53).contains(&kept_rows), "{kept_rows}");
        let (c, _) = sample_sessions(&sessions, 0, 0.3, 8);
        assert_ne!(a, c, "another seed, another sample");
        // A ratio too small to keep anything still keeps one session.
        let (one, _) = sample_sessions(&sessions[..3], 0, 1e-12, 7);
        assert_eq!(one.len(), 1);
    }

    #[test]
    fn strip_delays_clears_both_fields() {
        let mut c = vec![Conversation {
            turns: vec![
                aiperf_core::Turn {
                    timestamp_ms: Some(5.0),
                    ..Default::default()
                },
                aiperf_core::Turn {
                    delay_ms: Some(5.0),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }];
        strip_delays(&mut c);
        assert!(c[0]
            .turns
            .iter()
            .all(|t| t.timestamp_ms.is_none() && t.delay_ms.is_none()));
    }
}
