//! A small Gaussian process over the unit cube: Matérn-5/2 kernel, standardized targets, the
//! length scale and noise picked from a grid by marginal likelihood, Cholesky solves.

/// Length scales and noise variances (in standardized units) tried when fitting.
const LENGTH_SCALES: [f64; 9] = [0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0];
const NOISES: [f64; 4] = [1e-6, 1e-4, 1e-2, 1e-1];

fn matern52(a: &[f64], b: &[f64], ls: f64) -> f64 {
    let d = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
        / ls;
    let s5 = 5f64.sqrt() * d;
    (1.0 + s5 + 5.0 * d * d / 3.0) * (-s5).exp()
}

/// Lower Cholesky factor of a symmetric positive-definite matrix (row-major), or `None`.
fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                let d = a[i * n + i] - s;
                if d <= 0.0 || !d.is_finite() {
                    return None;
                }
                l[i * n + i] = d.sqrt();
            } else {
                l[i * n + j] = (a[i * n + j] - s) / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Solves `L x = b` (forward substitution).
fn forward(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut x = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * x[k]).sum();
        x[i] = (b[i] - s) / l[i * n + i];
    }
    x
}

/// Solves `Lᵀ x = b` (back substitution).
fn backward(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (b[i] - s) / l[i * n + i];
    }
    x
}

/// A fitted process: predicts mean and standard deviation in the targets' own units.
#[derive(Debug, Clone)]
pub struct Gp {
    xs: Vec<Vec<f64>>,
    l: Vec<f64>,
    alpha: Vec<f64>,
    ls: f64,
    mean: f64,
    scale: f64,
}

impl Gp {
    /// Fits `ys` at `xs` (points in [0, 1]^d); `None` without data.
    pub fn fit(xs: &[Vec<f64>], ys: &[f64]) -> Option<Self> {
        let n = xs.len();
        if n == 0 {
            return None;
        }
        let mean = ys.iter().sum::<f64>() / n as f64;
        let var = ys.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / n as f64;
        let scale = if var > 0.0 { var.sqrt() } else { 1.0 };
        let z: Vec<f64> = ys.iter().map(|y| (y - mean) / scale).collect();
        let mut best: Option<(f64, Gp)> = None;
        for &ls in &LENGTH_SCALES {
            for &noise in &NOISES {
                let mut k = vec![0.0; n * n];
                for i in 0..n {
                    for j in 0..n {
                        k[i * n + j] =
                            matern52(&xs[i], &xs[j], ls) + if i == j { noise } else { 0.0 };
                    }
                }
                let Some(l) = cholesky(&k, n) else { continue };
                let alpha = backward(&l, n, &forward(&l, n, &z));
                let fit: f64 = z.iter().zip(&alpha).map(|(a, b)| a * b).sum();
                let logdet: f64 = (0..n).map(|i| l[i * n + i].ln()).sum();
                let lml = -0.5 * fit - logdet;
                if best.as_ref().is_none_or(|(b, _)| lml > *b) {
                    let gp = Gp {
                        xs: xs.to_vec(),
                        l,
                        alpha,
                        ls,
                        mean,
                        scale,
                    };
                    best = Some((lml, gp));
                }
            }
        }
        best.map(|(_, gp)| gp)
    }

    /// Posterior mean and standard deviation at `x`.
    pub fn predict(&self, x: &[f64]) -> (f64, f64) {
        let n = self.xs.len();
        let k: Vec<f64> = self.xs.iter().map(|xi| matern52(xi, x, self.ls)).collect();
        let mu: f64 = k.iter().zip(&self.alpha).map(|(a, b)| a * b).sum();
        let v = forward(&self.l, n, &k);
        let var = (1.0 - v.iter().map(|t| t * t).sum::<f64>()).max(1e-12);
        (self.mean + self.scale * mu, self.scale * var.sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_its_data_and_is_unsure_far_from_it() {
        let xs: Vec<Vec<f64>> = [0.0, 0.25, 0.5, 0.75, 1.0]
            .iter()
            .map(|x| vec![*x])
            .collect();
        let ys: Vec<f64> = xs.iter().map(|x| (3.0 * x[0]).sin()).collect();
        let gp = Gp::fit(&xs, &ys).unwrap();
        for (x, y) in xs.iter().zip(&ys) {
            let (m, s) = gp.predict(x);
            assert!((m - y).abs() < 0.01, "{m} vs {y}");
            assert!(s < 0.05);
        }
        let (m, _) = gp.predict(&[0.375]);
        assert!((m - (1.125f64).sin()).abs() < 0.05, "{m}");
        // Cholesky of [[4, 2], [2, 3]] is [[2, 0], [1, sqrt 2]].
        let l = cholesky(&[4.0, 2.0, 2.0, 3.0], 2).unwrap();
        assert_eq!(l[..3], [2.0, 0.0, 1.0]);
        assert!((l[3] - 2f64.sqrt()).abs() < 1e-15);
    }
}
