//! Arrival patterns for rate-driven load: inter-arrival times drawn from a seeded stream.
//!
//! - `constant`: exactly `1 / rate`.
//! - `poisson`: exponential with mean `1 / rate` (a Poisson process).
//! - `gamma`: Gamma(shape = k, scale = 1 / (rate * k)), mean `1 / rate`; `k` is
//!   `--arrival-smoothness` (vLLM's `--burstiness`): k = 1 is Poisson, k < 1 burstier, k > 1
//!   smoother.
//!
//! The samplers are written out here (not taken from `rand_distr`) so the same seed gives the same
//! schedule across dependency upgrades.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// AIPerf's `--arrival-pattern` values for rate-driven runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ArrivalPattern {
    Constant,
    Poisson,
    Gamma { smoothness: f64 },
}

/// Makes a pattern from `--arrival-smoothness`.
pub type MakePattern = fn(f64) -> ArrivalPattern;

/// Every built-in arrival pattern: its registry `implementation` (the variant's path) and how
/// to make it from `--arrival-smoothness` (used by gamma only).
pub const BUILTINS: [(&str, MakePattern); 3] = [
    ("aiperf_timing::arrival::ArrivalPattern::Constant", |_| {
        ArrivalPattern::Constant
    }),
    ("aiperf_timing::arrival::ArrivalPattern::Poisson", |_| {
        ArrivalPattern::Poisson
    }),
    (
        "aiperf_timing::arrival::ArrivalPattern::Gamma",
        |smoothness| ArrivalPattern::Gamma { smoothness },
    ),
];

impl ArrivalPattern {
    /// The pattern a registry `arrival_pattern` implementation names; gamma takes `smoothness`
    /// (its shape). `None` for implementations that are not a rate pattern.
    pub fn from_implementation(implementation: &str, smoothness: f64) -> Option<Self> {
        BUILTINS
            .iter()
            .find(|(i, _)| *i == implementation)
            .map(|(_, make)| make(smoothness))
    }

    /// The `--arrival-pattern` spelling, as logs and `input_config` show it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Constant => "constant",
            Self::Poisson => "poisson",
            Self::Gamma { .. } => "gamma",
        }
    }
}

impl std::fmt::Display for ArrivalPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A seeded source of inter-arrival times, in seconds.
pub struct Arrivals {
    pattern: ArrivalPattern,
    rng: ChaCha8Rng,
}

impl Arrivals {
    pub fn new(pattern: ArrivalPattern, seed: u64) -> Self {
        Self {
            pattern,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn uniform(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in (0, 1].
    fn uniform_open(&mut self) -> f64 {
        1.0 - self.uniform()
    }

    fn normal(&mut self) -> f64 {
        let u1 = self.uniform_open();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Gamma(shape, 1) by Marsaglia and Tsang (shape < 1 boosted with U^(1/shape)).
    fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            let u = self.uniform_open();
            return self.gamma(shape + 1.0) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.uniform_open();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }

    /// The next gap, in seconds, at `rate` requests per second.
    pub fn next_interval(&mut self, rate: f64) -> f64 {
        match self.pattern {
            ArrivalPattern::Constant => 1.0 / rate,
            ArrivalPattern::Poisson => -self.uniform_open().ln() / rate,
            ArrivalPattern::Gamma { smoothness } => self.gamma(smoothness) / (rate * smoothness),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_implementations_and_names() {
        let p = |i: &str| ArrivalPattern::from_implementation(i, 0.5);
        assert_eq!(
            p("aiperf_timing::arrival::ArrivalPattern::Constant"),
            Some(ArrivalPattern::Constant)
        );
        assert_eq!(
            p("aiperf_timing::arrival::ArrivalPattern::Poisson"),
            Some(ArrivalPattern::Poisson)
        );
        assert_eq!(
            p("aiperf_timing::arrival::ArrivalPattern::Gamma"),
            Some(ArrivalPattern::Gamma { smoothness: 0.5 })
        );
        assert_eq!(p("aiperf_engine::worker::run_worker"), None);
        let names: Vec<String> = [
            ArrivalPattern::Constant,
            ArrivalPattern::Poisson,
            ArrivalPattern::Gamma { smoothness: 2.0 },
        ]
        .iter()
        .map(|p| p.to_string())
        .collect();
        assert_eq!(names, ["constant", "poisson", "gamma"]);
    }

    /// Kolmogorov-Smirnov statistic of `samples` against `cdf`.
    fn ks(mut samples: Vec<f64>, cdf: impl Fn(f64) -> f64) -> f64 {
        samples.sort_by(f64::total_cmp);
        let n = samples.len() as f64;
        samples
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let f = cdf(x);
                (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
            })
            .fold(0.0, f64::max)
    }

    /// Regularized lower incomplete gamma P(a, x) (series for x < a + 1, else continued fraction).
    fn gamma_p(a: f64, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        let ln_gamma_a = ln_gamma(a);
        if x < a + 1.0 {
            let (mut sum, mut term, mut ap) = (1.0 / a, 1.0 / a, a);
            for _ in 0..1000 {
                ap += 1.0;
                term *= x / ap;
                sum += term;
                if term.abs() < sum.abs() * 1e-15 {
                    break;
                }
            }
            sum * (-x + a * x.ln() - ln_gamma_a).exp()
        } else {
            let mut b = x + 1.0 - a;
            let mut c = 1e300;
            let mut d = 1.0 / b;
            let mut h = d;
            for i in 1..1000 {
                let an = -(i as f64) * (i as f64 - a);
                b += 2.0;
                d = an * d + b;
                d = if d.abs() < 1e-300 { 1e-300 } else { d };
                c = b + an / c;
                c = if c.abs() < 1e-300 { 1e-300 } else { c };
                d = 1.0 / d;
                let delta = d * c;
                h *= delta;
                if (delta - 1.0).abs() < 1e-15 {
                    break;
                }
            }
            1.0 - (-x + a * x.ln() - ln_gamma_a).exp() * h
        }
    }

    /// Lanczos approximation of ln Γ(x).
    fn ln_gamma(x: f64) -> f64 {
        const G: [f64; 9] = [
            0.999_999_999_999_809_9,
            676.520_368_121_885_1,
            -1_259.139_216_722_402_8,
            771.323_428_777_653_1,
            -176.615_029_162_140_6,
            12.507_343_278_686_905,
            -0.138_571_095_265_720_12,
            9.984_369_578_019_572e-6,
            1.505_632_735_149_311_6e-7,
        ];
        let x = x - 1.0;
        let mut a = G[0];
        let t = x + 7.5;
        for (i, g) in G.iter().enumerate().skip(1) {
            a += g / (x + i as f64);
        }
        0.5 * (std::f64::consts::TAU).ln() + (x + 0.5) * t.ln() - t + a.ln()
    }

    const N: usize = 20_000;
    /// KS critical value at alpha = 0.01: 1.63 / sqrt(n).
    fn critical() -> f64 {
        1.63 / (N as f64).sqrt()
    }

    #[test]
    fn poisson_intervals_pass_ks_against_the_exponential_law() {
        let rate = 250.0;
        let mut a = Arrivals::new(ArrivalPattern::Poisson, 42);
        let samples: Vec<f64> = (0..N).map(|_| a.next_interval(rate)).collect();
        let d = ks(samples, |x| 1.0 - (-rate * x).exp());
        assert!(d < critical(), "KS D = {d}");
        // And it is sensitive: the same samples against the wrong rate fail.
        let mut a = Arrivals::new(ArrivalPattern::Poisson, 42);
        let samples: Vec<f64> = (0..N).map(|_| a.next_interval(rate)).collect();
        assert!(ks(samples, |x| 1.0 - (-rate * 1.1 * x).exp()) > critical());
    }

    #[test]
    fn gamma_intervals_pass_ks_against_the_gamma_law() {
        for k in [0.5, 1.0, 3.0] {
            let rate = 100.0;
            let mut a = Arrivals::new(ArrivalPattern::Gamma { smoothness: k }, 7);
            let samples: Vec<f64> = (0..N).map(|_| a.next_interval(rate)).collect();
            let mean = samples.iter().sum::<f64>() / N as f64;
            assert!((mean * rate - 1.0).abs() < 0.03, "k={k}: mean {mean}");
            // Gamma(k, scale = 1 / (rate k)): CDF = P(k, x * rate * k).
            let d = ks(samples, |x| gamma_p(k, x * rate * k));
            assert!(d < critical(), "k={k}: KS D = {d}");
        }
    }

    #[test]
    fn constant_is_exact_and_seeds_reproduce() {
        let mut a = Arrivals::new(ArrivalPattern::Constant, 1);
        assert!((0..10).all(|_| a.next_interval(4.0) == 0.25));
        let take = |seed| {
            let mut a = Arrivals::new(ArrivalPattern::Poisson, seed);
            (0..5).map(|_| a.next_interval(10.0)).collect::<Vec<_>>()
        };
        assert_eq!(take(3), take(3));
        assert_ne!(take(3), take(4));
    }

    #[test]
    fn incomplete_gamma_matches_known_values() {
        // P(1, x) = 1 - e^-x; P(0.5, x) = erf(sqrt(x)); erf(1) = 0.8427007929.
        assert!((gamma_p(1.0, 2.0) - (1.0 - (-2.0f64).exp())).abs() < 1e-12);
        assert!((gamma_p(0.5, 1.0) - 0.842_700_792_9).abs() < 1e-9);
        assert!((gamma_p(3.0, 10.0) - 0.997_230_604_2).abs() < 1e-9);
    }
}
