//! `--search-planner bayesian` (and `optuna`, which runs the same here): space-filling initial
//! points, then the point of highest expected improvement under a Gaussian process of the
//! objective, weighted by the probability that every SLA filter holds (constrained EI: one
//! process per filter's normalized margin, as in Gardner et al. 2014 / Letham et al. 2019,
//! the formulation AIPerf's Optuna `constraints_func` follows). Deterministic under a seed.
//! Stops on AIPerf's three signals: the iteration budget, 10 runs without improvement, or the
//! last 8 objectives within 1 % (coefficient of variation).

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statrs::function::erf::erfc;

use super::gp::Gp;
use super::planner::{Observation, Planner};

const IMPROVEMENT_PATIENCE: u32 = 10;
const PLATEAU_WINDOW: usize = 8;
const PLATEAU_THRESHOLD: f64 = 0.01;
const RANDOM_CANDIDATES: usize = 2048;
const LOCAL_CANDIDATES: usize = 256;

/// One searched dimension as the planner sees it: `[0, 1]` to a value and back.
pub trait Axis: Send {
    fn value_at(&self, u: f64) -> f64;
    fn unit_of(&self, v: f64) -> f64;
}

/// One run as the planner keeps it.
struct Seen {
    unit: Vec<f64>,
    values: Vec<f64>,
    /// The loss fitted (the objective, negated when maximizing; a failed run's sentinel).
    loss: Option<f64>,
    /// Each filter's margin over its threshold's magnitude (1 when unmeasured).
    margins: Vec<f64>,
    feasible: bool,
}

pub struct Bayes {
    axes: Vec<Box<dyn Axis>>,
    initial: usize,
    thresholds: Vec<f64>,
    rng: ChaCha8Rng,
    /// Cranley-Patterson shift of the Halton sequence.
    shift: Vec<f64>,
    halton_index: u64,
    seen: Vec<Seen>,
    maximize: bool,
    best_loss: Option<f64>,
    since_improvement: u32,
    history: Vec<Option<f64>>,
    pending: Option<Vec<f64>>,
    reason: Option<&'static str>,
}

fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let (u1, u2) = (unit(rng).max(1e-300), unit(rng));
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

fn pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (std::f64::consts::TAU).sqrt()
}

/// The radical inverse of `i` in base `b` (the Halton sequence).
fn radical_inverse(mut i: u64, b: u64) -> f64 {
    let (mut f, mut r) = (1.0, 0.0);
    while i > 0 {
        f /= b as f64;
        r += f * (i % b) as f64;
        i /= b;
    }
    r
}

const PRIMES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];

impl Bayes {
    /// `thresholds`: each SLA filter's threshold (margins are normalized by it).
    pub fn new(
        axes: Vec<Box<dyn Axis>>,
        initial: u32,
        seed: Option<u64>,
        maximize: bool,
        thresholds: Vec<f64>,
    ) -> Self {
        // Without a seed, the clock's nanoseconds: a different trajectory each time.
        let seed = seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
                ^ u64::from(std::process::id())
        });
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let shift = (0..axes.len()).map(|_| unit(&mut rng)).collect();
        Self {
            axes,
            initial: initial as usize,
            thresholds,
            rng,
            shift,
            halton_index: 1,
            seen: Vec::new(),
            maximize,
            best_loss: None,
            since_improvement: 0,
            history: Vec::new(),
            pending: None,
            reason: None,
        }
    }

    /// A unit point snapped to what the dimensions can take, and its values.
    fn snap(&self, u: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let values: Vec<f64> = self
            .axes
            .iter()
            .zip(u)
            .map(|(a, x)| a.value_at(*x))
            .collect();
        let unit = self
            .axes
            .iter()
            .zip(&values)
            .map(|(a, v)| a.unit_of(*v))
            .collect();
        (unit, values)
    }

    fn is_new(&self, values: &[f64]) -> bool {
        !self.seen.iter().any(|s| s.values == values)
    }

    /// The next shifted Halton point not yet run (or the next one, after 64 repeats).
    fn space_filling(&mut self) -> Vec<f64> {
        let mut last = Vec::new();
        for _ in 0..64 {
            let i = self.halton_index;
            self.halton_index += 1;
            let u: Vec<f64> = (0..self.axes.len())
                .map(|d| (radical_inverse(i, PRIMES[d % PRIMES.len()]) + self.shift[d]).fract())
                .collect();
            let (_, values) = self.snap(&u);
            if self.is_new(&values) {
                return values;
            }
            last = values;
        }
        last
    }

    /// The candidate of highest constrained expected improvement.
    fn acquire(&mut self) -> Vec<f64> {
        let scored: Vec<&Seen> = self.seen.iter().filter(|s| s.loss.is_some()).collect();
        let xs: Vec<Vec<f64>> = scored.iter().map(|s| s.unit.clone()).collect();
        let ys: Vec<f64> = scored.iter().filter_map(|s| s.loss).collect();
        let objective = Gp::fit(&xs, &ys);
        let all_x: Vec<Vec<f64>> = self.seen.iter().map(|s| s.unit.clone()).collect();
        let constraints: Vec<Gp> = (0..self.thresholds.len())
            .filter_map(|k| {
                let m: Vec<f64> = self.seen.iter().map(|s| s.margins[k]).collect();
                Gp::fit(&all_x, &m)
            })
            .collect();
        let best = self
            .seen
            .iter()
            .filter(|s| s.feasible)
            .filter_map(|s| s.loss)
            .fold(None, |b: Option<f64>, v| Some(b.map_or(v, |b| b.min(v))));
        let anchor = self
            .seen
            .iter()
            .filter(|s| s.feasible && s.loss.is_some())
            .min_by(|a, b| {
                a.loss
                    .partial_cmp(&b.loss)
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
            .map(|s| s.unit.clone());
        let d = self.axes.len();
        let mut candidates: Vec<Vec<f64>> = (0..RANDOM_CANDIDATES)
            .map(|_| (0..d).map(|_| unit(&mut self.rng)).collect())
            .collect();
        if let Some(a) = &anchor {
            for _ in 0..LOCAL_CANDIDATES {
                candidates.push(
                    a.iter()
                        .map(|x| (x + 0.05 * normal(&mut self.rng)).clamp(0.0, 1.0))
                        .collect(),
                );
            }
        }
        let mut choice: Option<(f64, bool, Vec<f64>)> = None;
        for c in candidates {
            let (u, values) = self.snap(&c);
            let new = self.is_new(&values);
            let feasible_p: f64 = constraints
                .iter()
                .map(|g| {
                    let (m, s) = g.predict(&u);
                    cdf(-m / s.max(1e-9))
                })
                .product();
            let score = match (&objective, best) {
                (Some(g), Some(best)) => {
                    let (m, s) = g.predict(&u);
                    let s = s.max(1e-9);
                    let z = (best - m) / s;
                    ((best - m) * cdf(z) + s * pdf(z)) * feasible_p
                }
                // Nothing feasible yet: look for where the SLA holds.
                _ => feasible_p,
            };
            // Unseen points first, then the score; ties keep the earlier candidate.
            let better = match &choice {
                None => true,
                Some((b, bnew, _)) => (new && !bnew) || (new == *bnew && score > *b),
            };
            if better {
                choice = Some((score, new, values));
            }
        }
        choice.map(|c| c.2).unwrap_or_default()
    }

    fn loss(&self, objective: f64) -> f64 {
        if self.maximize {
            -objective
        } else {
            objective
        }
    }

    /// AIPerf's failure sentinel: worse than the worst loss so far by max(10 %, 1).
    fn sentinel(&self) -> Option<f64> {
        let worst = self
            .seen
            .iter()
            .filter_map(|s| s.loss)
            .fold(None, |w: Option<f64>, v| Some(w.map_or(v, |w| w.max(v))))?;
        Some(worst + (0.1 * worst.abs()).max(1.0))
    }

    fn converged(&self) -> Option<&'static str> {
        if self.since_improvement >= IMPROVEMENT_PATIENCE {
            return Some("improvement_patience");
        }
        if self.history.len() < PLATEAU_WINDOW {
            return None;
        }
        let recent: Vec<f64> = self.history[self.history.len() - PLATEAU_WINDOW..]
            .iter()
            .flatten()
            .copied()
            .collect();
        if recent.len() < PLATEAU_WINDOW {
            return None;
        }
        let n = recent.len() as f64;
        let mean = recent.iter().sum::<f64>() / n;
        if mean.abs() < 1e-9 {
            return None;
        }
        let sd = (recent.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        (sd / mean.abs() < PLATEAU_THRESHOLD).then_some("plateau_cv")
    }
}

impl Planner for Bayes {
    fn ask(&mut self) -> Option<Vec<f64>> {
        if self.reason.is_some() {
            return None;
        }
        let point = if self.seen.len() < self.initial {
            self.space_filling()
        } else {
            self.acquire()
        };
        self.pending = Some(point.clone());
        Some(point)
    }

    fn tell(&mut self, obs: &Observation) -> bool {
        let Some(values) = self.pending.take() else {
            return false;
        };
        let u = self
            .axes
            .iter()
            .zip(&values)
            .map(|(a, v)| a.unit_of(*v))
            .collect();
        let loss = obs.objective.map(|o| self.loss(o));
        match loss {
            Some(l) if self.best_loss.is_none_or(|b| l < b) => {
                self.best_loss = Some(l);
                self.since_improvement = 0;
            }
            _ => self.since_improvement += 1,
        }
        self.history.push(obs.objective);
        let margins = obs
            .margins
            .iter()
            .zip(&self.thresholds)
            .map(|(m, t)| m.map_or(1.0, |m| m / t.abs().max(1e-9)))
            .collect();
        let fitted = loss.or_else(|| self.sentinel());
        self.seen.push(Seen {
            unit: u,
            values,
            loss: fitted,
            margins,
            feasible: obs.feasible,
        });
        self.reason = self.converged();
        false
    }

    fn reason(&self) -> Option<&'static str> {
        self.reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Linear {
        lo: f64,
        hi: f64,
        int: bool,
    }

    impl Axis for Linear {
        fn value_at(&self, u: f64) -> f64 {
            let v = self.lo + u.clamp(0.0, 1.0) * (self.hi - self.lo);
            if self.int {
                v.round()
            } else {
                v
            }
        }
        fn unit_of(&self, v: f64) -> f64 {
            (v - self.lo) / (self.hi - self.lo)
        }
    }

    fn run(
        p: &mut Bayes,
        f: impl Fn(&[f64]) -> (f64, f64),
        budget: usize,
    ) -> Vec<(Vec<f64>, f64, bool)> {
        let mut out = Vec::new();
        while out.len() < budget {
            let Some(x) = p.ask() else { break };
            let (obj, margin) = f(&x);
            p.tell(&Observation {
                point: x.clone(),
                objective: Some(obj),
                feasible: margin < 0.0,
                margins: vec![Some(margin)],
            });
            out.push((x, obj, margin < 0.0));
        }
        out
    }

    fn axis(lo: f64, hi: f64, int: bool) -> Box<dyn Axis> {
        Box::new(Linear { lo, hi, int })
    }

    #[test]
    fn finds_the_top_of_a_concave_curve() {
        // -(x - 37)^2 on the integers 1..100: the maximum is at 37, found within 20 runs.
        let mut p = Bayes::new(vec![axis(1.0, 100.0, true)], 5, Some(7), true, vec![]);
        let runs = run(&mut p, |x| (-(x[0] - 37.0).powi(2), -1.0), 20);
        let best = runs.iter().map(|r| r.0[0]).find(|x| *x == 37.0);
        assert_eq!(best, Some(37.0), "{runs:?}");
        // No value runs twice.
        let mut xs: Vec<i64> = runs.iter().map(|r| r.0[0] as i64).collect();
        xs.sort_unstable();
        xs.dedup();
        assert_eq!(xs.len(), runs.len());
    }

    #[test]
    fn the_same_seed_proposes_the_same_points() {
        let f = |x: &[f64]| (-(x[0] - 0.3).powi(2) - (x[1] - 0.6).powi(2), -1.0);
        let mut a = Bayes::new(
            vec![axis(0.0, 1.0, false), axis(0.0, 1.0, false)],
            4,
            Some(1),
            true,
            vec![],
        );
        let mut b = Bayes::new(
            vec![axis(0.0, 1.0, false), axis(0.0, 1.0, false)],
            4,
            Some(1),
            true,
            vec![],
        );
        let (ra, rb) = (run(&mut a, f, 12), run(&mut b, f, 12));
        assert_eq!(ra, rb);
        // And it gets close to (0.3, 0.6) in two dimensions.
        let best = ra.iter().map(|r| r.1).fold(f64::NEG_INFINITY, f64::max);
        assert!(best > -0.01, "{best}: {ra:?}");
    }

    #[test]
    fn an_sla_caps_the_maximum() {
        // Throughput grows with x, but the SLA (margin x - 40.5) holds only up to 40: the best
        // feasible point is 40, found within 25 runs.
        let mut p = Bayes::new(vec![axis(1.0, 100.0, true)], 5, Some(3), true, vec![40.5]);
        let runs = run(&mut p, |x| (10.0 * x[0], x[0] - 40.5), 25);
        let best = runs
            .iter()
            .filter(|r| r.2)
            .map(|r| r.0[0])
            .fold(0.0, f64::max);
        assert_eq!(best, 40.0, "{runs:?}");
    }

    #[test]
    fn a_plateau_or_no_improvement_ends_the_search() {
        let mut p = Bayes::new(vec![axis(0.0, 1.0, false)], 2, Some(5), true, vec![]);
        let runs = run(&mut p, |_| (5.0, -1.0), 50);
        // Nothing ever improves on the first run: ten more and it stops (the plateau, 8 equal
        // values, comes first).
        assert_eq!(p.reason(), Some("plateau_cv"));
        assert_eq!(runs.len(), 8);
    }
}
