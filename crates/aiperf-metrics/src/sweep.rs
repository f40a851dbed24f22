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

/// Least-squares polynomial of degree `deg` through `(x, y)`, coefficients highest degree first
/// (numpy's `polyfit` order), with its r² (0 when `y` does not vary). `None` when the points
/// cannot determine it (fewer than `deg + 1` distinct `x`).
pub fn polyfit(x: &[f64], y: &[f64], deg: usize) -> Option<(Vec<f64>, f64)> {
    let n = deg + 1;
    if x.len() != y.len() || x.len() < n {
        return None;
    }
    // Normal equations A c = b with A[i][j] = Σ x^(i+j), b[i] = Σ y x^i (c lowest degree first),
    // x scaled to [-1, 1]-ish first so large ISLs do not ruin the conditioning.
    let scale = x.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1.0);
    let xs: Vec<f64> = x.iter().map(|v| v / scale).collect();
    let mut a = vec![vec![0.0; n + 1]; n];
    for (xi, yi) in xs.iter().zip(y) {
        for (i, row) in a.iter_mut().enumerate() {
            for (j, cell) in row.iter_mut().enumerate().take(n) {
                *cell += xi.powi((i + j) as i32);
            }
            row[n] += yi * xi.powi(i as i32);
        }
    }
    // Gaussian elimination with partial pivoting.
    for col in 0..n {
        let pivot = (col..n).max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot_row[col];
                for (cell, p) in row.iter_mut().zip(&pivot_row).skip(col) {
                    *cell -= f * p;
                }
            }
        }
    }
    // Undo the scaling: c_i (for x/scale) -> c_i / scale^i.
    let low_first: Vec<f64> = (0..n)
        .map(|i| a[i][n] / a[i][i] / scale.powi(i as i32))
        .collect();
    let eval = |v: f64| low_first.iter().rev().fold(0.0, |acc, c| acc * v + c);
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let ss_tot: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let ss_res: f64 = x
        .iter()
        .zip(y)
        .map(|(xv, yv)| (yv - eval(*xv)).powi(2))
        .sum();
    let r2 = if ss_tot == 0.0 {
        0.0
    } else {
        1.0 - ss_res / ss_tot
    };
    Some((low_first.into_iter().rev().collect(), r2))
}

#[cfg(test)]
mod fit_tests {
    use super::polyfit;

    #[test]
    fn fits_match_hand_worked_values() {
        // y = 2x + 1 exactly.
        let (c, r2) = polyfit(&[1.0, 2.0, 3.0], &[3.0, 5.0, 7.0], 1).unwrap();
        assert!(
            (c[0] - 2.0).abs() < 1e-9 && (c[1] - 1.0).abs() < 1e-9,
            "{c:?}"
        );
        assert!((r2 - 1.0).abs() < 1e-12);
        // (0,1), (1,2), (2,2): slope 0.5, intercept 7/6; residuals -1/6, 1/3, -1/6 ->
        // ss_res = 1/6, ss_tot = 2/3, r² = 0.75.
        let (c, r2) = polyfit(&[0.0, 1.0, 2.0], &[1.0, 2.0, 2.0], 1).unwrap();
        assert!(
            (c[0] - 0.5).abs() < 1e-9 && (c[1] - 7.0 / 6.0).abs() < 1e-9,
            "{c:?}"
        );
        assert!((r2 - 0.75).abs() < 1e-9, "{r2}");
        // y = x² at ISL-like scale.
        let x = [256.0, 1024.0, 4096.0, 16384.0];
        let y: Vec<f64> = x.iter().map(|v| v * v).collect();
        let (c, r2) = polyfit(&x, &y, 2).unwrap();
        assert!(
            (c[0] - 1.0).abs() < 1e-9 && c[1].abs() < 1e-6 && c[2].abs() < 1e-3,
            "{c:?}"
        );
        assert!((r2 - 1.0).abs() < 1e-12);
        assert!(polyfit(&[1.0, 1.0], &[1.0, 2.0], 1).is_none());
        assert!(polyfit(&[1.0], &[1.0], 1).is_none());
    }
}
