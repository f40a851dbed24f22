//! Comparing the points of a sweep: which is best on one axis, and which are Pareto optimal
//! (more throughput, less latency), as AIPerf 0.13's `SweepAnalyzer` picks them.

/// One sweep point's mean throughput (higher is better) and latency (lower is better).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub throughput: f64,
    pub latency: f64,
}

/// Indices of the points no other point beats on one axis without losing on the other, in
/// input order. Points with a non-finite coordinate take no part.
pub fn pareto_front(points: &[Point]) -> Vec<usize> {
    let ok = |p: &Point| p.throughput.is_finite() && p.latency.is_finite();
    let dominates = |q: &Point, p: &Point| {
        q.throughput >= p.throughput
            && q.latency <= p.latency
            && (q.throughput > p.throughput || q.latency < p.latency)
    };
    (0..points.len())
        .filter(|&i| ok(&points[i]))
        .filter(|&i| !points.iter().any(|q| ok(q) && dominates(q, &points[i])))
        .collect()
}

/// Index of the largest finite value (the first on ties).
pub fn argmax(values: &[Option<f64>]) -> Option<usize> {
    best_by(values, |a, b| a > b)
}

/// Index of the smallest finite value (the first on ties).
pub fn argmin(values: &[Option<f64>]) -> Option<usize> {
    best_by(values, |a, b| a < b)
}

fn best_by(values: &[Option<f64>], better: impl Fn(f64, f64) -> bool) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, v) in values.iter().enumerate() {
        let Some(v) = v.filter(|v| v.is_finite()) else {
            continue;
        };
        if best.is_none_or(|(_, b)| better(v, b)) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(throughput: f64, latency: f64) -> Point {
        Point {
            throughput,
            latency,
        }
    }

    #[test]
    fn the_front_keeps_only_undominated_points() {
        // (10, 5) is beaten by (12, 4); (12, 4) and (20, 9) trade off; (20, 10) loses to
        // (20, 9) on latency alone.
        let pts = [p(10.0, 5.0), p(12.0, 4.0), p(20.0, 9.0), p(20.0, 10.0)];
        assert_eq!(pareto_front(&pts), [1, 2]);
        // Equal points do not dominate each other.
        assert_eq!(pareto_front(&[p(1.0, 1.0), p(1.0, 1.0)]), [0, 1]);
        assert_eq!(pareto_front(&[p(f64::NAN, 1.0), p(1.0, 2.0)]), [1]);
    }

    #[test]
    fn best_skips_missing_values_and_keeps_the_first_tie() {
        let v = [None, Some(3.0), Some(7.0), Some(7.0), Some(f64::INFINITY)];
        assert_eq!(argmax(&v), Some(2));
        assert_eq!(argmin(&v), Some(1));
        assert_eq!(argmax(&[None]), None);
    }
}
