//! Confidence statistics over repeated runs (`--num-profile-runs`): one value per run of a
//! metric's statistic (e.g. each run's `request_throughput` avg), summarized as AIPerf 0.13 does
//! (`orchestrator/aggregation/confidence.py`): sample standard deviation (n - 1), coefficient
//! of variation, standard error, and a two-sided Student-t interval. See
//! docs/design/multi-run.md §2.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// How one statistic varied across runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Confidence {
    /// Runs that had a finite value.
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (divisor n - 1); 0 for one run.
    pub std: f64,
    pub min: f64,
    pub max: f64,
    /// `std / mean`, a ratio; infinite when the mean is 0 (and the runs differ or not).
    pub cv: f64,
    /// Standard error, `std / sqrt(n)`.
    pub se: f64,
    /// `mean -/+ t_critical * se`; not clamped (a throughput interval may go below 0).
    pub ci_low: f64,
    pub ci_high: f64,
    /// The two-sided Student-t quantile for `n - 1` degrees of freedom; `None` for one run.
    pub t_critical: Option<f64>,
}

/// Summarizes `values` (non-finite ones skipped) at confidence `level` (0 < level < 1);
/// `None` when no value is finite.
pub fn confidence(values: &[f64], level: f64) -> Option<Confidence> {
    let xs: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let n = xs.len();
    if n == 0 {
        return None;
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if n == 1 {
        return Some(Confidence {
            n,
            mean,
            std: 0.0,
            min,
            max,
            cv: 0.0,
            se: 0.0,
            ci_low: mean,
            ci_high: mean,
            t_critical: None,
        });
    }
    let std = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    let se = std / (n as f64).sqrt();
    let t = t_quantile(1.0 - (1.0 - level) / 2.0, (n - 1) as f64);
    let half = t.map_or(f64::NAN, |t| t * se);
    Some(Confidence {
        n,
        mean,
        std,
        min,
        max,
        cv: if mean == 0.0 {
            f64::INFINITY
        } else {
            std / mean
        },
        se,
        ci_low: mean - half,
        ci_high: mean + half,
        t_critical: t,
    })
}

/// The `p` quantile of Student's t with `df` degrees of freedom (scipy's `t.ppf`).
fn t_quantile(p: f64, df: f64) -> Option<f64> {
    let t = StudentsT::new(0.0, 1.0, df).ok()?;
    Some(t.inverse_cdf(p))
}

/// A sample by its summary: size, mean and sample standard deviation (n - 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub n: f64,
    pub mean: f64,
    pub std: f64,
}

/// Two-sided p-value of Welch's t-test that `a` and `b` have the same mean (scipy's
/// `ttest_ind_from_stats(..., equal_var=False)`). `None` when a sample has fewer than two
/// values. Two samples without spread differ certainly (0) or not at all (1).
pub fn welch_p_value(a: &Sample, b: &Sample) -> Option<f64> {
    if a.n < 2.0 || b.n < 2.0 || !a.std.is_finite() || !b.std.is_finite() {
        return None;
    }
    let va = a.std * a.std / a.n;
    let vb = b.std * b.std / b.n;
    let se = (va + vb).sqrt();
    if se == 0.0 {
        return Some(if a.mean == b.mean { 1.0 } else { 0.0 });
    }
    let t = (b.mean - a.mean) / se;
    let df = (va + vb).powi(2) / (va * va / (a.n - 1.0) + vb * vb / (b.n - 1.0));
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    Some((2.0 * dist.sf(t.abs())).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welch_matches_scipy() {
        let s = |n: f64, mean: f64, std: f64| Sample { n, mean, std };
        // Hand-worked: se = sqrt(100/3 + 100/3), t = 20 / se = 2.4495, df = 4.
        let p = welch_p_value(&s(3.0, 110.0, 10.0), &s(3.0, 130.0, 10.0)).unwrap();
        close(p, 0.07048399691021992, "p");
        let p = welch_p_value(&s(50.0, 20.0, 2.0), &s(40.0, 24.0, 3.0)).unwrap();
        assert!((p - 6.394841453408454e-10).abs() < 1e-15, "{p}");
        let p = welch_p_value(&s(50.0, 20.0, 2.0), &s(40.0, 20.2, 3.0)).unwrap();
        close(p, 0.7184179128644136, "p");
        assert_eq!(welch_p_value(&s(1.0, 1.0, 0.0), &s(5.0, 1.0, 1.0)), None);
        assert_eq!(
            welch_p_value(&s(3.0, 1.0, 0.0), &s(3.0, 2.0, 0.0)),
            Some(0.0)
        );
    }

    fn close(a: f64, b: f64, what: &str) {
        assert!(
            (a - b).abs() <= 1e-9 * b.abs().max(1.0),
            "{what}: {a} vs {b}"
        );
    }

    /// Values worked out by hand, t quantiles from scipy (docs/design/multi-run.md §6).
    #[test]
    fn matches_hand_worked_values() {
        // C1: 100, 110, 120 at 95 %: mean 110, std sqrt(200 / 2) = 10, se 10 / sqrt(3).
        let c = confidence(&[100.0, 110.0, 120.0], 0.95).unwrap();
        assert_eq!(
            (c.n, c.mean, c.std, c.min, c.max),
            (3, 110.0, 10.0, 100.0, 120.0)
        );
        close(c.cv, 10.0 / 110.0, "cv");
        close(c.se, 5.773502691896258, "se");
        close(c.t_critical.unwrap(), 4.302652729749462, "t");
        close(c.ci_low, 85.1586228824967, "ci_low");
        close(c.ci_high, 134.8413771175033, "ci_high");
        // C2: two runs, df 1: the interval may go below zero.
        let c = confidence(&[10.0, 12.0], 0.95).unwrap();
        close(c.std, std::f64::consts::SQRT_2, "std");
        close(c.se, 1.0, "se");
        close(c.t_critical.unwrap(), 12.706204736174694, "t");
        close(c.ci_low, -1.7062047361746941, "ci_low");
        // C3: 90 %.
        let c = confidence(&[5.0, 6.0, 7.0, 8.0], 0.90).unwrap();
        close(c.std, 1.2909944487358056, "std");
        close(c.t_critical.unwrap(), 2.3533634348018233, "t");
        close(c.ci_high, 8.019089565093491, "ci_high");
        // C4: 99 %.
        let c = confidence(&[100.0, 110.0, 120.0], 0.99).unwrap();
        close(c.t_critical.unwrap(), 9.924843200918287, "t");
        close(c.ci_low, 52.698891062849995, "ci_low");
    }

    #[test]
    fn one_run_zero_mean_and_missing_values() {
        // C5: one value: no spread, no t quantile.
        let c = confidence(&[42.0], 0.95).unwrap();
        assert_eq!(
            (c.std, c.cv, c.se, c.ci_low, c.ci_high),
            (0.0, 0.0, 0.0, 42.0, 42.0)
        );
        assert_eq!(c.t_critical, None);
        // C6: all zero: cv is infinite, the interval collapses.
        let c = confidence(&[0.0, 0.0, 0.0], 0.95).unwrap();
        assert!(c.cv.is_infinite());
        assert_eq!((c.ci_low, c.ci_high), (0.0, 0.0));
        // Non-finite values are runs without the statistic.
        let c = confidence(&[f64::NAN, 100.0, 110.0, f64::INFINITY, 120.0], 0.95).unwrap();
        assert_eq!((c.n, c.mean), (3, 110.0));
        assert_eq!(confidence(&[f64::NAN], 0.95), None);
        assert_eq!(confidence(&[], 0.95), None);
    }
}
