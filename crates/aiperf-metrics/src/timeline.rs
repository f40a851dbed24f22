//! Time-weighted metrics over the run window (AIPerf's "effective" and "active" metrics, §2.4).
//!
//! Every successful streamed request contributes three intervals: in flight `[start, end)`,
//! prefill `[start, first token)` and decode `[first token, end)`. A sweep line over all interval
//! boundaries turns them into step curves (concurrencies, summed per-request token rates). A curve
//! is summarised duration-weighted: `avg = Σ v·Δt / Σ Δt`, weighted std, and percentiles where
//! each value counts for as long as it held. "Effective" curves cover the whole run window;
//! "active" curves only the time a request was in the relevant phase.

/// One successful request's bounds (run clock ns) and token counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub start: u64,
    pub first_token: u64,
    pub end: u64,
    pub isl: f64,
    pub osl: f64,
}

/// Which curve a time-weighted metric summarises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    Concurrency,
    PrefillConcurrency,
    DecodeConcurrency,
    PrefillThroughput,
    DecodeThroughput,
    TotalThroughput,
    PrefillThroughputPerUser,
    DecodeThroughputPerUser,
    TokensInFlight,
    ActivePrefillThroughput,
    ActiveDecodeThroughput,
    ActiveTotalThroughput,
    ActivePrefillThroughputPerUser,
    ActiveDecodeThroughputPerUser,
}

/// Duration-weighted statistics of a step curve.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedStats {
    pub avg: f64,
    pub min: f64,
    pub max: f64,
    pub std: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
}

/// The state between two consecutive boundaries.
#[derive(Debug, Clone, Copy, Default)]
struct Segment {
    duration: f64,
    in_flight: f64,
    prefill: f64,
    decode: f64,
    prefill_rate: f64,
    decode_rate: f64,
    tokens: f64,
}

/// The curves of a set of requests.
#[derive(Debug, Default)]
pub struct Timeline {
    segments: Vec<Segment>,
}

impl Timeline {
    pub fn build(intervals: &[Interval]) -> Timeline {
        // (time, in_flight, prefill, decode, prefill_rate, decode_rate, tokens) deltas.
        let mut events: Vec<(u64, [f64; 6])> = Vec::with_capacity(intervals.len() * 3);
        for iv in intervals {
            if iv.end <= iv.start {
                continue;
            }
            let first = iv.first_token.clamp(iv.start, iv.end);
            let ttft_s = (first - iv.start) as f64 / 1e9;
            let decode_s = (iv.end - first) as f64 / 1e9;
            let prefill_rate = if ttft_s > 0.0 { iv.isl / ttft_s } else { 0.0 };
            let decode_rate = if decode_s > 0.0 {
                iv.osl / decode_s
            } else {
                0.0
            };
            let tokens = iv.isl + iv.osl;
            events.push((iv.start, [1.0, 1.0, 0.0, prefill_rate, 0.0, tokens]));
            events.push((first, [0.0, -1.0, 1.0, -prefill_rate, decode_rate, 0.0]));
            events.push((iv.end, [-1.0, 0.0, -1.0, 0.0, -decode_rate, -tokens]));
        }
        events.sort_by_key(|e| e.0);
        let mut state = [0.0f64; 6];
        let mut segments = Vec::new();
        let mut i = 0;
        while i < events.len() {
            let t = events[i].0;
            while i < events.len() && events[i].0 == t {
                for (s, d) in state.iter_mut().zip(events[i].1) {
                    *s += d;
                }
                i += 1;
            }
            if let Some(next) = events.get(i) {
                let duration = (next.0 - t) as f64;
                if duration > 0.0 {
                    segments.push(Segment {
                        duration,
                        in_flight: state[0].max(0.0),
                        prefill: state[1].max(0.0),
                        decode: state[2].max(0.0),
                        prefill_rate: state[3].max(0.0),
                        decode_rate: state[4].max(0.0),
                        tokens: state[5].max(0.0),
                    });
                }
            }
        }
        Timeline { segments }
    }

    /// Statistics of `curve`; `None` when no time qualifies.
    pub fn stats(&self, curve: Curve) -> Option<WeightedStats> {
        let per_user = |rate: f64, n: f64| if n > 0.0 { rate / n } else { 0.0 };
        let points: Vec<(f64, f64)> = self
            .segments
            .iter()
            .filter_map(|s| {
                let v = match curve {
                    Curve::Concurrency => s.in_flight,
                    Curve::PrefillConcurrency => s.prefill,
                    Curve::DecodeConcurrency => s.decode,
                    Curve::PrefillThroughput => s.prefill_rate,
                    Curve::DecodeThroughput => s.decode_rate,
                    Curve::TotalThroughput => s.prefill_rate + s.decode_rate,
                    Curve::PrefillThroughputPerUser => per_user(s.prefill_rate, s.prefill),
                    Curve::DecodeThroughputPerUser => per_user(s.decode_rate, s.decode),
                    Curve::TokensInFlight => s.tokens,
                    Curve::ActivePrefillThroughput if s.in_flight > 0.0 => s.prefill_rate,
                    Curve::ActiveDecodeThroughput if s.in_flight > 0.0 => s.decode_rate,
                    Curve::ActiveTotalThroughput if s.in_flight > 0.0 => {
                        s.prefill_rate + s.decode_rate
                    }
                    Curve::ActivePrefillThroughputPerUser if s.prefill > 0.0 => {
                        s.prefill_rate / s.prefill
                    }
                    Curve::ActiveDecodeThroughputPerUser if s.decode > 0.0 => {
                        s.decode_rate / s.decode
                    }
                    _ => return None,
                };
                Some((v, s.duration))
            })
            .collect();
        weighted(points)
    }
}

/// Duration-weighted summary of `(value, duration)` points.
pub fn weighted(mut points: Vec<(f64, f64)>) -> Option<WeightedStats> {
    points.retain(|(v, d)| v.is_finite() && *d > 0.0);
    let total: f64 = points.iter().map(|p| p.1).sum();
    if points.is_empty() || total <= 0.0 {
        return None;
    }
    let avg = points.iter().map(|(v, d)| v * d).sum::<f64>() / total;
    let var = points
        .iter()
        .map(|(v, d)| (v - avg) * (v - avg) * d)
        .sum::<f64>()
        / total;
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let pct = |q: f64| {
        let target = q / 100.0 * total;
        let mut acc = 0.0;
        for (v, d) in &points {
            acc += d;
            if acc >= target - 1e-9 * total {
                return *v;
            }
        }
        points[points.len() - 1].0
    };
    Some(WeightedStats {
        avg,
        min: points[0].0,
        max: points[points.len() - 1].0,
        std: var.sqrt(),
        p50: pct(50.0),
        p90: pct(90.0),
        p95: pct(95.0),
        p99: pct(99.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn two_overlapping_requests_by_hand() {
        // A: [0, 4) s, first token at 1 s, ISL 100, OSL 30 -> prefill 100 tok/s, decode 10 tok/s.
        // B: [2, 6) s, first token at 4 s, ISL 200, OSL 20 -> prefill 100 tok/s, decode 10 tok/s.
        let t = Timeline::build(&[
            Interval {
                start: 0,
                first_token: S,
                end: 4 * S,
                isl: 100.0,
                osl: 30.0,
            },
            Interval {
                start: 2 * S,
                first_token: 4 * S,
                end: 6 * S,
                isl: 200.0,
                osl: 20.0,
            },
        ]);
        // In flight: 1 on [0,2), 2 on [2,4), 1 on [4,6): avg = (2 + 4 + 2) / 6 = 4/3.
        let c = t.stats(Curve::Concurrency).unwrap();
        assert!((c.avg - 4.0 / 3.0).abs() < 1e-12);
        assert_eq!((c.min, c.max, c.p50, c.p99), (1.0, 2.0, 1.0, 2.0));
        // Decode rate: 10 on [1,4) (A), 10 on [4,6) (B): avg over 6 s = (30 + 20) / 6.
        let d = t.stats(Curve::DecodeThroughput).unwrap();
        assert!((d.avg - 50.0 / 6.0).abs() < 1e-12);
        // Decode throughput integrates to the total OSL (50 tokens over the window).
        assert!((d.avg * 6.0 - 50.0).abs() < 1e-9);
        // Prefill integrates to the total ISL: 100 on [0,1) + 100 on [2,4) = 300 tokens.
        let p = t.stats(Curve::PrefillThroughput).unwrap();
        assert!((p.avg * 6.0 - 300.0).abs() < 1e-9);
        // Active: busy the whole window here, so equal to effective.
        assert!((t.stats(Curve::ActiveDecodeThroughput).unwrap().avg - d.avg).abs() < 1e-12);
        // Per-user decode: 10 whenever anyone decodes ([1,6)), 0 on [0,1): avg 50/6.
        let u = t.stats(Curve::DecodeThroughputPerUser).unwrap();
        assert!((u.avg - 50.0 / 6.0).abs() < 1e-12);
        assert_eq!(
            t.stats(Curve::ActiveDecodeThroughputPerUser).unwrap().avg,
            10.0
        );
    }

    #[test]
    fn idle_gaps_count_for_effective_not_active() {
        let t = Timeline::build(&[
            Interval {
                start: 0,
                first_token: S,
                end: 2 * S,
                isl: 10.0,
                osl: 10.0,
            },
            Interval {
                start: 4 * S,
                first_token: 5 * S,
                end: 6 * S,
                isl: 10.0,
                osl: 10.0,
            },
        ]);
        let eff = t.stats(Curve::DecodeThroughput).unwrap().avg;
        let act = t.stats(Curve::ActiveDecodeThroughput).unwrap().avg;
        assert!((eff - 20.0 / 6.0).abs() < 1e-12);
        assert!((act - 20.0 / 4.0).abs() < 1e-12);
        assert!(Timeline::build(&[]).stats(Curve::Concurrency).is_none());
    }
}
