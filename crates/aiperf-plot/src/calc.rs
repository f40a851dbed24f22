//! The formulas behind the charts, on plain numbers: dispersed throughput, rolling
//! percentiles, histogram bins, time buckets, the Pareto front and its knee.

/// One request as the throughput chart sees it (seconds on the run's time axis).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Generation {
    pub start: f64,
    /// Time to first token in seconds; `None` or 0 means tokens are spread from `start`.
    pub ttft: Option<f64>,
    pub end: f64,
    pub output_tokens: f64,
}

/// AIPerf's "dispersed" throughput: each request's output tokens spread evenly from its first
/// token to its end, summed over requests. Returns the step function as `(t, tokens/s,
/// active requests)`, one point per distinct event time; the value holds until the next point.
/// The area under it equals the total output tokens of the requests counted.
pub fn dispersed_throughput(requests: &[Generation]) -> Vec<(f64, f64, f64)> {
    let mut events: Vec<(f64, f64, f64)> = Vec::with_capacity(requests.len() * 2);
    for r in requests {
        let gen_start = r.start + r.ttft.filter(|t| *t > 0.0).unwrap_or(0.0);
        let span = r.end - gen_start;
        if span > 0.0 && r.output_tokens > 0.0 && span.is_finite() {
            let rate = r.output_tokens / span;
            events.push((gen_start, rate, 1.0));
            events.push((r.end, -rate, -1.0));
        }
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, f64, f64)> = Vec::with_capacity(events.len());
    let (mut rate, mut active) = (0.0, 0.0);
    for (t, d_rate, d_active) in events {
        rate += d_rate;
        active += d_active;
        // Floating-point sums of +r and -r leave dust; the last request out means zero.
        let shown = if active == 0.0 { 0.0 } else { rate };
        match out.last_mut() {
            Some(last) if last.0 == t => *last = (t, shown, active),
            _ => out.push((t, shown, active)),
        }
    }
    out
}

/// numpy's default (linear) percentile of sorted values; `None` for no values.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = p / 100.0 * last as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    let frac = rank - lo as f64;
    Some(sorted[lo] + (sorted[hi.min(last)] - sorted[lo]) * frac)
}

/// The rolling window AIPerf uses for percentile bands: 10 records, wider for long runs so a
/// band of 100,000 requests is not noise: `max(10, ceil(n / 100))`.
pub fn rolling_window(n: usize) -> usize {
    10.max(n.div_ceil(100))
}

/// Rolling percentiles `ps` over the last `window` values (fewer at the start, pandas'
/// `min_periods = 1`), values in x order: one column per percentile. The window is kept sorted
/// (binary-search insert and remove), so n values cost O(n·window) moves, not n sorts.
pub fn rolling_percentiles(values: &[f64], window: usize, ps: &[f64]) -> Vec<Vec<f64>> {
    let window = window.max(1);
    let mut sorted: Vec<f64> = Vec::with_capacity(window + 1);
    let mut out: Vec<Vec<f64>> = ps
        .iter()
        .map(|_| Vec::with_capacity(values.len()))
        .collect();
    for (i, v) in values.iter().enumerate() {
        let at = sorted.partition_point(|x| x.total_cmp(v).is_lt());
        sorted.insert(at, *v);
        if i >= window {
            let old = values[i - window];
            let at = sorted.partition_point(|x| x.total_cmp(&old).is_lt());
            sorted.remove(at);
        }
        for (col, p) in out.iter_mut().zip(ps) {
            col.push(percentile_sorted(&sorted, *p).unwrap_or(f64::NAN));
        }
    }
    out
}

/// A step function (value held from each x to the next) reduced to at most `max` steps of
/// equal width by its time-weighted mean over each step: the area, and so the total, is kept
/// exactly. Returned as (x, value) pairs, the last at the end with value 0 as the input's.
pub fn resample_step(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Vec::new();
    };
    let span = last.0 - first.0;
    if points.len() <= max || max < 2 || span.is_nan() || span <= 0.0 || span.is_infinite() {
        return points.to_vec();
    }
    let buckets = max - 1;
    let width = span / buckets as f64;
    let mut area = vec![0.0; buckets];
    for w in points.windows(2) {
        let (mut from, to, value) = (w[0].0, w[1].0, w[0].1);
        while from < to {
            let b = (((from - first.0) / width) as usize).min(buckets - 1);
            let bucket_end = first.0 + width * (b + 1) as f64;
            let until = if b == buckets - 1 {
                to
            } else {
                bucket_end.min(to)
            };
            area[b] += value * (until - from);
            if until <= from {
                break;
            }
            from = until;
        }
    }
    let mut out: Vec<(f64, f64)> = area
        .iter()
        .enumerate()
        .map(|(b, a)| (first.0 + width * b as f64, a / width))
        .collect();
    out.push((last.0, last.1));
    out
}

/// Equal-width histogram of `values` over [min, max] (the maximum falls in the last bin).
/// Returns bin centres, counts and the bin width; nothing for no finite values.
pub fn histogram(values: &[f64], bins: usize) -> (Vec<f64>, Vec<f64>, f64) {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (Some(min), Some(max)) = (
        finite.iter().copied().reduce(f64::min),
        finite.iter().copied().reduce(f64::max),
    ) else {
        return (Vec::new(), Vec::new(), 0.0);
    };
    let bins = bins.max(1);
    // All values equal: one bin of width 1 centred on the value.
    if max == min {
        return (vec![min], vec![finite.len() as f64], 1.0);
    }
    let width = (max - min) / bins as f64;
    let mut counts = vec![0.0; bins];
    for v in finite {
        let i = (((v - min) / width) as usize).min(bins - 1);
        counts[i] += 1.0;
    }
    let centres = (0..bins).map(|i| min + width * (i as f64 + 0.5)).collect();
    (centres, counts, width)
}

/// A bucket width for counting events over `duration` seconds: `preferred` (the run's
/// `--slice-duration`) or 1 s, widened through 1-2-5 steps until there are at most
/// `max_buckets`.
pub fn bucket_width(duration: f64, preferred: Option<f64>, max_buckets: usize) -> f64 {
    let mut width = preferred
        .filter(|w| *w > 0.0 && w.is_finite())
        .unwrap_or(1.0);
    if !(duration.is_finite() && duration > 0.0) {
        return width;
    }
    let steps = [1.0, 2.0, 5.0];
    let mut decade = 1.0;
    let mut i = 0;
    while duration / width > max_buckets as f64 {
        let next = steps[i % 3] * decade;
        if next > width {
            width = next;
        }
        i += 1;
        if i % 3 == 0 {
            decade *= 10.0;
        }
    }
    width
}

/// Counts of `times` in buckets `[k·width, (k+1)·width)` covering [0, duration]; times outside
/// are clamped into the first or last bucket.
pub fn bucket_counts(times: &[f64], width: f64, duration: f64) -> Vec<f64> {
    let n = ((duration / width).ceil() as usize).max(1);
    let mut counts = vec![0.0; n];
    for t in times.iter().filter(|t| t.is_finite()) {
        let i = ((t / width).floor().max(0.0) as usize).min(n - 1);
        counts[i] += 1.0;
    }
    counts
}

/// Which way is better on an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

/// Indices of the Pareto-optimal points: p stays unless some q is at least as good on both
/// axes and strictly better on one (ties stay, as AIPerf). Returned sorted by x.
pub fn pareto_front(points: &[(f64, f64)], x: Better, y: Better) -> Vec<usize> {
    let at_least = |a: f64, b: f64, better: Better| match better {
        Better::Higher => a >= b,
        Better::Lower => a <= b,
    };
    let mut front: Vec<usize> = (0..points.len())
        .filter(|&i| {
            let p = points[i];
            p.0.is_finite()
                && p.1.is_finite()
                && !points.iter().any(|&q| {
                    q.0.is_finite()
                        && q.1.is_finite()
                        && at_least(q.0, p.0, x)
                        && at_least(q.1, p.1, y)
                        && (q.0 != p.0 || q.1 != p.1)
                })
        })
        .collect();
    front.sort_by(|&a, &b| points[a].0.total_cmp(&points[b].0));
    front
}

/// The knee of a front sorted by x: the point farthest from the chord joining its first and
/// last points once both axes are scaled to [0, 1]. Needs three points.
pub fn knee(front: &[(f64, f64)]) -> Option<usize> {
    if front.len() < 3 {
        return None;
    }
    let (x0, x1) = min_max(front.iter().map(|p| p.0))?;
    let (y0, y1) = min_max(front.iter().map(|p| p.1))?;
    let norm = |v: f64, lo: f64, hi: f64| if hi > lo { (v - lo) / (hi - lo) } else { 0.0 };
    let scaled: Vec<(f64, f64)> = front
        .iter()
        .map(|p| (norm(p.0, x0, x1), norm(p.1, y0, y1)))
        .collect();
    let (a, b) = (scaled[0], scaled[scaled.len() - 1]);
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let chord = (dx * dx + dy * dy).sqrt();
    if chord == 0.0 {
        return None;
    }
    let distance = |p: (f64, f64)| (dy * (p.0 - a.0) - dx * (p.1 - a.1)).abs() / chord;
    let (best, d) = scaled
        .iter()
        .enumerate()
        .map(|(i, p)| (i, distance(*p)))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    (d > 0.0).then_some(best)
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// Every k-th index so that at most `max` remain (all when there are fewer).
pub fn decimate_indices(len: usize, max: usize) -> Vec<usize> {
    if len <= max || max == 0 {
        return (0..len).collect();
    }
    let step = len.div_ceil(max);
    (0..len).step_by(step).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn dispersed_throughput_matches_the_worked_example() {
        // docs/design/plots.md §2.5: A spreads 10 tokens over [1, 3) = 5 tok/s, B 4 tokens
        // over [2, 4) = 2 tok/s.
        let reqs = [
            Generation {
                start: 0.0,
                ttft: Some(1.0),
                end: 3.0,
                output_tokens: 10.0,
            },
            Generation {
                start: 1.5,
                ttft: Some(0.5),
                end: 4.0,
                output_tokens: 4.0,
            },
        ];
        let steps = dispersed_throughput(&reqs);
        assert_eq!(
            steps,
            vec![
                (1.0, 5.0, 1.0),
                (2.0, 7.0, 2.0),
                (3.0, 2.0, 1.0),
                (4.0, 0.0, 0.0)
            ]
        );
        let area: f64 = steps.windows(2).map(|w| w[0].1 * (w[1].0 - w[0].0)).sum();
        assert!(close(area, 14.0), "area {area} is the total output tokens");
    }

    #[test]
    fn dispersed_throughput_skips_requests_without_tokens_or_time() {
        let reqs = [
            Generation {
                start: 0.0,
                ttft: None,
                end: 2.0,
                output_tokens: 4.0,
            },
            Generation {
                start: 0.0,
                ttft: Some(3.0),
                end: 2.0,
                output_tokens: 4.0,
            },
            Generation {
                start: 0.0,
                ttft: None,
                end: 2.0,
                output_tokens: 0.0,
            },
        ];
        // Only the first counts, from its start (no TTFT): 2 tok/s on [0, 2).
        assert_eq!(
            dispersed_throughput(&reqs),
            vec![(0.0, 2.0, 1.0), (2.0, 0.0, 0.0)]
        );
    }

    #[test]
    fn rolling_percentiles_match_numpy_linear() {
        let v = [10.0, 20.0, 30.0, 40.0];
        let [p50, p95] = &rolling_percentiles(&v, 4, &[50.0, 95.0])[..] else {
            panic!("two columns")
        };
        assert_eq!(p50, &vec![10.0, 15.0, 20.0, 25.0]);
        assert!(close(p95[3], 38.5), "{p95:?}");
        // A window of 2 forgets the oldest values.
        assert_eq!(
            rolling_percentiles(&v, 2, &[50.0]),
            vec![vec![10.0, 15.0, 25.0, 35.0]]
        );
        assert_eq!(rolling_window(500), 10);
        assert_eq!(rolling_window(100_001), 1001);
    }

    #[test]
    fn the_sorted_window_matches_sorting_each_window() {
        // A pseudo-random sequence with repeats: every step against a fresh sort.
        let v: Vec<f64> = (0..500).map(|i| ((i * 7919) % 97) as f64).collect();
        let fast = rolling_percentiles(&v, 23, &[50.0, 99.0]);
        for (i, _) in v.iter().enumerate() {
            let mut w = v[(i + 1).saturating_sub(23)..=i].to_vec();
            w.sort_by(f64::total_cmp);
            assert_eq!(
                fast[0][i],
                percentile_sorted(&w, 50.0).unwrap(),
                "p50 at {i}"
            );
            assert_eq!(
                fast[1][i],
                percentile_sorted(&w, 99.0).unwrap(),
                "p99 at {i}"
            );
        }
    }

    #[test]
    fn resampling_a_step_function_keeps_its_area() {
        // 5 tok/s on [0, 1), 7 on [1, 3), 0 after: area 19; two buckets [0, 2), [2, 4)...
        let steps = [(0.0, 5.0), (1.0, 7.0), (3.0, 0.0), (4.0, 0.0)];
        let r = resample_step(&steps, 3);
        assert_eq!(r, vec![(0.0, 6.0), (2.0, 3.5), (4.0, 0.0)]);
        let area: f64 = r.windows(2).map(|w| w[0].1 * (w[1].0 - w[0].0)).sum();
        assert_eq!(area, 19.0);
        // Short enough: unchanged.
        assert_eq!(resample_step(&steps, 10), steps.to_vec());
    }

    #[test]
    fn histogram_puts_the_maximum_in_the_last_bin() {
        let (centres, counts, width) = histogram(&[0.0, 1.0, 2.0, 3.0, 4.0, f64::NAN], 4);
        assert_eq!(width, 1.0);
        assert_eq!(centres, vec![0.5, 1.5, 2.5, 3.5]);
        assert_eq!(counts, vec![1.0, 1.0, 1.0, 2.0]);
        let (c, n, _) = histogram(&[7.0, 7.0], 40);
        assert_eq!((c, n), (vec![7.0], vec![2.0]));
        assert!(histogram(&[], 10).0.is_empty());
    }

    #[test]
    fn errors_fall_in_one_second_buckets() {
        // §2.5: a 10 s run, errors ending at 0.2, 0.7 and 3.1 s.
        let w = bucket_width(10.0, None, 120);
        assert_eq!(w, 1.0);
        let counts = bucket_counts(&[0.2, 0.7, 3.1], w, 10.0);
        assert_eq!(
            counts,
            vec![2.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        );
    }

    #[test]
    fn bucket_width_widens_in_1_2_5_steps() {
        assert_eq!(bucket_width(100.0, None, 120), 1.0);
        assert_eq!(bucket_width(200.0, None, 120), 2.0);
        assert_eq!(bucket_width(500.0, None, 120), 5.0);
        assert_eq!(bucket_width(3_000.0, None, 120), 50.0);
        assert_eq!(bucket_width(10.0, Some(0.5), 120), 0.5);
        assert_eq!(bucket_width(1_000.0, Some(0.5), 120), 10.0);
    }

    #[test]
    fn pareto_front_keeps_the_undominated_points() {
        // §2.5: (150, 60) is beaten by (200, 55) on both axes.
        let pts = [(100.0, 50.0), (200.0, 55.0), (150.0, 60.0)];
        assert_eq!(
            pareto_front(&pts, Better::Higher, Better::Lower),
            vec![0, 1]
        );
        // Ties stay; a duplicate does not dominate its twin.
        let tie = [(100.0, 50.0), (100.0, 50.0), (90.0, 60.0)];
        assert_eq!(
            pareto_front(&tie, Better::Higher, Better::Lower),
            vec![0, 1]
        );
        // Both higher-is-better (tokens/s/user vs tokens/s).
        let up = [(1.0, 10.0), (2.0, 5.0), (1.5, 4.0)];
        assert_eq!(
            pareto_front(&up, Better::Higher, Better::Higher),
            vec![0, 1]
        );
    }

    #[test]
    fn knee_is_farthest_from_the_chord() {
        // §2.5: scaled |x - y| = 0, 0.35, 0.6, 0 -> the third point.
        let front = [(100.0, 50.0), (200.0, 55.0), (300.0, 70.0), (350.0, 150.0)];
        assert_eq!(knee(&front), Some(2));
        assert_eq!(knee(&front[..2]), None);
        // A straight line has no knee.
        assert_eq!(knee(&[(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]), None);
    }

    #[test]
    fn decimation_keeps_at_most_max_evenly() {
        assert_eq!(decimate_indices(5, 10), vec![0, 1, 2, 3, 4]);
        let kept = decimate_indices(100, 30);
        assert!(kept.len() <= 30 && kept.len() >= 25, "{}", kept.len());
        assert_eq!(kept[1] - kept[0], kept[2] - kept[1]);
    }
}
