//! `--search-planner monotonic_sla` (AIPerf's `MonotonicSLASearchPlanner`): double from `lo`
//! until an SLA breaks (or `hi` passes), then bisect `[feasible_max, infeasible_min]` until the
//! gap is 1 or under 5 % of `infeasible_min`. A verdict latches once two runs of a value agree
//! (AIPerf's `monotonic_stability_trials`), so with one trial per point each value runs twice.

use std::collections::HashMap;

use super::planner::{Observation, Planner, SLA_PRECISION};

/// Runs of one value that must agree before its verdict counts.
const STABILITY_TRIALS: u32 = 2;

#[derive(Debug)]
pub struct Monotonic {
    hi: i64,
    pub feasible_max: Option<i64>,
    pub infeasible_min: Option<i64>,
    /// Passes and fails per value.
    logs: HashMap<i64, (u32, u32)>,
    bisecting: bool,
    next: i64,
    pending: Option<i64>,
    reason: Option<&'static str>,
}

impl Monotonic {
    pub fn new(lo: f64, hi: f64) -> Self {
        Self {
            hi: hi as i64,
            feasible_max: None,
            infeasible_min: None,
            logs: HashMap::new(),
            bisecting: false,
            next: lo as i64,
            pending: None,
            reason: None,
        }
    }

    /// Latches a verdict; `true` when it contradicts the bracket (non-monotonic).
    fn absorb(&mut self, value: i64, feasible: bool) -> bool {
        let (fm, im) = (self.feasible_max, self.infeasible_min);
        if feasible {
            let contradicts = im.is_some_and(|i| value >= i);
            if fm.is_none_or(|f| value > f) && im.is_none_or(|i| value < i) {
                self.feasible_max = Some(value);
            }
            contradicts
        } else {
            let contradicts = fm.is_some_and(|f| value <= f);
            if im.is_none_or(|i| value < i) && fm.is_none_or(|f| value > f) {
                self.infeasible_min = Some(value);
            }
            contradicts
        }
    }

    fn probe_step(&mut self, value: i64, feasible: bool) {
        if !feasible {
            if self.feasible_max.is_none() {
                self.reason = Some("monotonic_no_pass_in_range");
                return;
            }
            self.bisecting = true;
            self.bisect_step();
            return;
        }
        let doubled = value * 2;
        if doubled >= self.hi {
            if value >= self.hi {
                self.feasible_max = Some(self.hi);
                self.reason = Some("monotonic_no_failure_in_range");
                return;
            }
            self.next = self.hi;
            return;
        }
        self.next = doubled;
    }

    fn bisect_step(&mut self) {
        let (Some(f), Some(i)) = (self.feasible_max, self.infeasible_min) else {
            self.reason = Some(if self.feasible_max.is_none() {
                "monotonic_no_pass_in_range"
            } else {
                "monotonic_no_failure_in_range"
            });
            return;
        };
        let gap = i - f;
        if gap <= 1 || (gap as f64 / i.max(1) as f64) < SLA_PRECISION {
            self.reason = Some("monotonic_precision_reached");
            return;
        }
        self.next = (f + gap / 2).clamp(f + 1, i - 1);
    }
}

impl Planner for Monotonic {
    fn ask(&mut self) -> Option<Vec<f64>> {
        if self.reason.is_some() {
            return None;
        }
        self.pending = Some(self.next);
        Some(vec![self.next as f64])
    }

    fn tell(&mut self, obs: &Observation) -> bool {
        let Some(value) = self.pending.take() else {
            return false;
        };
        let log = self.logs.entry(value).or_default();
        if obs.feasible {
            log.0 += 1;
        } else {
            log.1 += 1;
        }
        let verdict = if log.0 >= STABILITY_TRIALS {
            Some(true)
        } else if log.1 >= STABILITY_TRIALS {
            Some(false)
        } else {
            None
        };
        let Some(verdict) = verdict else {
            // Provisional: the same value again.
            self.next = value;
            return false;
        };
        let contradicts = self.absorb(value, verdict);
        if self.bisecting {
            self.bisect_step();
        } else {
            self.probe_step(value, verdict);
        }
        contradicts
    }

    fn reason(&self) -> Option<&'static str> {
        self.reason
    }

    fn bracket(&self) -> Option<(Option<f64>, Option<f64>)> {
        Some((
            self.feasible_max.map(|v| v as f64),
            self.infeasible_min.map(|v| v as f64),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::planner::testing::drive;
    use super::*;

    #[test]
    fn brackets_a_known_threshold() {
        // Feasible up to 40: 1, 2, 4, 8, 16, 32 pass; 64 fails; bisection 48 (fails), 40
        // (passes), 44, 42 (fail) leaves [40, 42], 2 / 42 < 5 %; each value run twice.
        let mut p = Monotonic::new(1.0, 1000.0);
        let runs = drive(&mut p, |x| x - 40.5, 60);
        assert_eq!((p.feasible_max, p.infeasible_min), (Some(40), Some(42)));
        assert_eq!(p.reason(), Some("monotonic_precision_reached"));
        let distinct: Vec<f64> = runs.chunks(2).map(|c| c[0]).collect();
        assert_eq!(
            distinct,
            [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 48.0, 40.0, 44.0, 42.0]
        );
        assert!(runs.chunks(2).all(|c| c[0] == c[1]));
    }

    #[test]
    fn stops_at_five_percent_and_at_the_range_ends() {
        // Feasible up to 700 in [1, 1000]: 512 passes, 1000 fails; 756 fails, 634 passes,
        // 695 passes, 725 fails; (725 - 695) / 725 < 5 %.
        let mut p = Monotonic::new(1.0, 1000.0);
        drive(&mut p, |x| x - 700.5, 80);
        assert_eq!((p.feasible_max, p.infeasible_min), (Some(695), Some(725)));
        let mut p = Monotonic::new(1.0, 100.0);
        drive(&mut p, |_| -1.0, 40);
        assert_eq!(p.reason(), Some("monotonic_no_failure_in_range"));
        assert_eq!(p.feasible_max, Some(100));
        let mut p = Monotonic::new(3.0, 100.0);
        let runs = drive(&mut p, |_| 1.0, 40);
        assert_eq!(runs, [3.0, 3.0]);
        assert_eq!(p.reason(), Some("monotonic_no_pass_in_range"));
    }
}
