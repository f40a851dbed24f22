//! The smooth-isotonic fit of AIPerf's `_smooth_isotonic_fit.py` and `_cliff_detect.py`:
//! PAVA denoises a monotone series, a range-scaled ramp makes it strict, PCHIP interpolates it
//! (scipy's `PchipInterpolator`), and the root of the curve is the SLA boundary.

/// Pool-adjacent-violators: the increasing sequence closest to `ys` in least squares.
pub fn pava(ys: &[f64]) -> Vec<f64> {
    // Blocks of (sum, count), merged while a block's mean is below its predecessor's.
    let mut blocks: Vec<(f64, usize)> = Vec::with_capacity(ys.len());
    for &y in ys {
        blocks.push((y, 1));
        while blocks.len() > 1 {
            let (s2, n2) = blocks[blocks.len() - 1];
            let (s1, n1) = blocks[blocks.len() - 2];
            if s1 / n1 as f64 <= s2 / n2 as f64 {
                break;
            }
            blocks.pop();
            let last = blocks.len() - 1;
            blocks[last] = (s1 + s2, n1 + n2);
        }
    }
    blocks
        .iter()
        .flat_map(|&(s, n)| std::iter::repeat_n(s / n as f64, n))
        .collect()
}

/// AIPerf's `_strictify`: adds `i * 1e-9 * (y[n-1] - y[0])` (or `i * 1e-9` when flat).
fn strictify(ys: &[f64]) -> Vec<f64> {
    let span = match (ys.first(), ys.last()) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    };
    let eps = if span > 0.0 { 1e-9 * span } else { 1e-9 };
    ys.iter()
        .enumerate()
        .map(|(i, y)| y + i as f64 * eps)
        .collect()
}

/// A monotone piecewise-cubic Hermite interpolant (scipy's PCHIP derivatives).
#[derive(Debug, Clone)]
pub struct Pchip {
    xs: Vec<f64>,
    ys: Vec<f64>,
    ds: Vec<f64>,
}

impl Pchip {
    /// Through `(xs, ys)`; `xs` strictly increasing, at least two points.
    pub fn new(xs: &[f64], ys: &[f64]) -> Self {
        let n = xs.len();
        let h: Vec<f64> = xs.windows(2).map(|w| w[1] - w[0]).collect();
        let m: Vec<f64> = (0..n - 1).map(|k| (ys[k + 1] - ys[k]) / h[k]).collect();
        let ds = if n == 2 {
            vec![m[0], m[0]]
        } else {
            let mut ds = vec![0.0; n];
            for k in 1..n - 1 {
                let (m0, m1) = (m[k - 1], m[k]);
                if m0 * m1 > 0.0 {
                    let w1 = 2.0 * h[k] + h[k - 1];
                    let w2 = h[k] + 2.0 * h[k - 1];
                    ds[k] = (w1 + w2) / (w1 / m0 + w2 / m1);
                }
            }
            ds[0] = edge(h[0], h[1], m[0], m[1]);
            ds[n - 1] = edge(h[n - 2], h[n - 3], m[n - 2], m[n - 3]);
            ds
        };
        Self {
            xs: xs.to_vec(),
            ys: ys.to_vec(),
            ds,
        }
    }

    /// The curve at `x` (the end segments extended outside the data).
    pub fn eval(&self, x: f64) -> f64 {
        let n = self.xs.len();
        let k = match self.xs.iter().rposition(|&xi| xi <= x) {
            Some(k) => k.min(n - 2),
            None => 0,
        };
        let h = self.xs[k + 1] - self.xs[k];
        let t = (x - self.xs[k]) / h;
        let (t2, t3) = (t * t, t * t * t);
        (2.0 * t3 - 3.0 * t2 + 1.0) * self.ys[k]
            + (t3 - 2.0 * t2 + t) * h * self.ds[k]
            + (-2.0 * t3 + 3.0 * t2) * self.ys[k + 1]
            + (t3 - t2) * h * self.ds[k + 1]
    }

    /// The root of an increasing curve inside both the data and `[lo, hi]`, if it crosses zero
    /// there (scipy's `solve(0, extrapolate=False)` then AIPerf's bracket filter).
    pub fn root(&self, lo: f64, hi: f64) -> Option<f64> {
        let a = lo.max(self.xs[0]);
        let b = hi.min(self.xs[self.xs.len() - 1]);
        if a > b {
            return None;
        }
        let (fa, fb) = (self.eval(a), self.eval(b));
        if fa == 0.0 {
            return Some(a);
        }
        if fa > 0.0 || fb < 0.0 {
            return None;
        }
        let (mut a, mut b) = (a, b);
        for _ in 0..200 {
            let mid = 0.5 * (a + b);
            if self.eval(mid) < 0.0 {
                a = mid;
            } else {
                b = mid;
            }
        }
        Some(0.5 * (a + b))
    }
}

/// scipy's one-sided three-point end derivative, kept shape-preserving.
fn edge(h0: f64, h1: f64, m0: f64, m1: f64) -> f64 {
    let d = ((2.0 * h0 + h1) * m0 - h0 * m1) / (h0 + h1);
    if d.signum() != m0.signum() || m0 == 0.0 {
        0.0
    } else if m0.signum() != m1.signum() && d.abs() > 3.0 * m0.abs() {
        3.0 * m0
    } else {
        d
    }
}

/// PAVA, strictified, through PCHIP: the smooth monotone curve through noisy `(xs, ys)`.
pub fn smooth_isotonic_fit(xs: &[f64], ys: &[f64]) -> Pchip {
    Pchip::new(xs, &strictify(&pava(ys)))
}

/// AIPerf's PAVA-residual cliff guard: the last point sits more than three local standard
/// deviations (of the last three margins) off the smooth fit while the bracket is still wider
/// than `precision * x_hi`.
pub fn detect_cliff(
    points: &[(f64, f64)],
    curve: &Pchip,
    bracket_gap: f64,
    x_hi: f64,
    precision: f64,
) -> bool {
    if points.len() < 3 {
        return false;
    }
    let recent: Vec<f64> = points[points.len() - 3..].iter().map(|p| p.1).collect();
    let mean = recent.iter().sum::<f64>() / 3.0;
    let sigma = (recent.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    if sigma == 0.0 {
        return false;
    }
    let (x, m) = points[points.len() - 1];
    (m - curve.eval(x)).abs() > 3.0 * sigma && bracket_gap > precision * x_hi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pava_pools_violators_into_their_mean() {
        // AIPerf's docstring example: the noisy second/third points pool to -1.0.
        assert_eq!(
            pava(&[-2.0, -0.9, -1.1, 1.0, 2.0]),
            [-2.0, -1.0, -1.0, 1.0, 2.0]
        );
        // 3, 1, 2 pool to 2, 2, 2.
        assert_eq!(pava(&[3.0, 1.0, 2.0, 5.0]), [2.0, 2.0, 2.0, 5.0]);
    }

    #[test]
    fn pchip_interpolates_and_stays_monotone() {
        let xs = [1.0, 2.0, 4.0, 8.0];
        let ys = [-3.0, -2.0, 0.0, 10.0];
        let p = Pchip::new(&xs, &ys);
        for (x, y) in xs.iter().zip(ys) {
            assert!((p.eval(*x) - y).abs() < 1e-12);
        }
        // Interior derivative at x = 2 (h = 1, 2; slopes 1, 1): the harmonic mean is 1.
        assert!((p.ds[1] - 1.0).abs() < 1e-12);
        let mut prev = f64::NEG_INFINITY;
        for i in 0..=700 {
            let v = p.eval(1.0 + i as f64 * 0.01);
            assert!(v >= prev - 1e-12);
            prev = v;
        }
        // The data cross zero exactly at x = 4.
        assert!((p.root(1.0, 8.0).unwrap() - 4.0).abs() < 1e-9);
        assert_eq!(p.root(5.0, 8.0), None);
    }

    #[test]
    fn a_linear_margin_has_its_root_where_it_crosses() {
        // margin = 10 c - 125: zero at 12.5.
        let xs = [8.0, 10.0, 12.0, 14.0, 16.0];
        let ys: Vec<f64> = xs.iter().map(|c| 10.0 * c - 125.0).collect();
        let p = smooth_isotonic_fit(&xs, &ys);
        assert!((p.root(8.0, 16.0).unwrap() - 12.5).abs() < 1e-6);
    }

    #[test]
    fn a_pooled_drop_is_a_cliff_a_line_is_not() {
        let line: Vec<(f64, f64)> = [1.0, 2.0, 3.0, 4.0].iter().map(|&x| (x, x - 2.5)).collect();
        let (xs, ys): (Vec<f64>, Vec<f64>) = line.iter().copied().unzip();
        let fit = smooth_isotonic_fit(&xs, &ys);
        assert!(!detect_cliff(&line, &fit, 50.0, 100.0, 0.05));
        // A late drop PAVA pools into the plateau: the last margin (0) sits 3.22 off the pooled
        // fit (29 / 9), beyond 3 x 0.471 (the spread of -1, 0, 0).
        let drop: Vec<(f64, f64)> = [5.0, 5.0, 5.0, 5.0, 5.0, 5.0, -1.0, 0.0, 0.0]
            .iter()
            .enumerate()
            .map(|(i, &m)| (i as f64 + 1.0, m))
            .collect();
        let (xs, ys): (Vec<f64>, Vec<f64>) = drop.iter().copied().unzip();
        let fit = smooth_isotonic_fit(&xs, &ys);
        assert!((fit.eval(9.0) - 29.0 / 9.0).abs() < 1e-6);
        assert!(detect_cliff(&drop, &fit, 50.0, 100.0, 0.05));
        // ...but not once the bracket is narrower than 5 % of the range.
        assert!(!detect_cliff(&drop, &fit, 4.0, 100.0, 0.05));
    }
}
