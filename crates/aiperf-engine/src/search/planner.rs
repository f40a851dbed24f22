//! What every generic-search planner answers to: `ask` for the next point, `tell` what its run
//! measured (AIPerf's `SearchPlanner` ask/tell contract).

use serde_json::Value;

/// What one run of a point measured, as a planner sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// One value per dimension.
    pub point: Vec<f64>,
    /// `{metric}` `{stat}`; `None` when the run failed or lacked it.
    pub objective: Option<f64>,
    /// Every SLA filter met (a failed run is never feasible).
    pub feasible: bool,
    /// Per SLA filter, AIPerf's signed margin (negative: met); `None` when unmeasurable.
    pub margins: Vec<Option<f64>>,
}

/// An outer-loop planner.
pub trait Planner: Send {
    /// The next point to run, or `None` once the planner has its answer.
    fn ask(&mut self) -> Option<Vec<f64>>;
    /// The run of the last asked point; `true` when it revealed a non-monotonic SLA boundary.
    fn tell(&mut self, obs: &Observation) -> bool;
    /// Why the planner stopped (AIPerf's `convergence_reason` strings), once it has.
    fn reason(&self) -> Option<&'static str>;
    /// A 1-D SLA planner's latched bracket: highest feasible and lowest infeasible value.
    fn bracket(&self) -> Option<(Option<f64>, Option<f64>)> {
        None
    }
    /// Planner-specific fields of `boundary_summary` (`boundary_type`, `binding_constraint`).
    fn boundary_extras(&self) -> Vec<(&'static str, Value)> {
        Vec::new()
    }
}

/// AIPerf's bisection precision (`SLA_PRECISION_DEFAULT`): stop once the bracket is narrower
/// than 5 % of its upper end.
pub const SLA_PRECISION: f64 = 0.05;

#[cfg(test)]
pub mod testing {
    use super::*;

    /// Drives `p` over one dimension against a simulated server with one SLA filter whose
    /// signed margin at `x` is `margin(x)` (met below 0); the objective is `x`. Returns the
    /// values run, in order.
    pub fn drive(p: &mut dyn Planner, margin: impl Fn(f64) -> f64, cap: usize) -> Vec<f64> {
        let mut runs = Vec::new();
        while let Some(point) = p.ask() {
            assert!(runs.len() < cap, "no answer after {cap} runs: {runs:?}");
            let x = point[0];
            runs.push(x);
            let m = margin(x);
            p.tell(&Observation {
                point,
                objective: Some(x),
                feasible: m < 0.0,
                margins: vec![Some(m)],
            });
        }
        runs
    }
}
