//! The generic search's loop (`--search-space`, or `max-concurrency-under-sla --search-style`):
//! the planner proposes a point, the engine runs it in `search_iter_NNNN/profile_runs/run_0001/`,
//! the run's `{metric}` `{stat}` and SLA filters go back to the planner, and
//! `search_history.json` (AIPerf 0.13's layout) is rewritten after every run.

use std::fmt::Write as _;
use std::path::PathBuf;

use aiperf_config::resolve::SearchPlan;
use aiperf_export::json::{metrics_map, MetricsMap};
use serde_json::{json, Map, Value};

use super::bayes::{Axis, Bayes};
use super::monotonic::Monotonic;
use super::planner::{Observation, Planner};
use super::smooth::SmoothIsotonic;
use super::{Answer, SearchOutcome};
use crate::{Engine, Interrupted, Observer};

/// One searched dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct Dim {
    pub path: String,
    pub lo: f64,
    pub hi: f64,
    pub integer: bool,
    pub log: bool,
}

impl Axis for Dim {
    fn value_at(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        let v = if self.log {
            (self.lo.ln() + u * (self.hi.ln() - self.lo.ln())).exp()
        } else {
            self.lo + u * (self.hi - self.lo)
        };
        let v = v.clamp(self.lo, self.hi);
        if self.integer {
            v.round()
        } else {
            v
        }
    }

    fn unit_of(&self, v: f64) -> f64 {
        let u = if self.log {
            (v.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        u.clamp(0.0, 1.0)
    }
}

impl Dim {
    fn json(&self, v: f64) -> Value {
        if self.integer {
            json!(v as i64)
        } else {
            json!(v)
        }
    }
}

/// One SLA filter: passes when `stat(tag) op threshold`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sla {
    pub tag: String,
    pub stat: String,
    pub op: &'static str,
    pub threshold: f64,
}

impl Sla {
    /// A non-finite value never passes (AIPerf's `trial_satisfies`).
    pub fn met(&self, v: f64) -> bool {
        v.is_finite()
            && match self.op {
                "lt" => v < self.threshold,
                "le" => v <= self.threshold,
                "gt" => v > self.threshold,
                _ => v >= self.threshold,
            }
    }

    /// AIPerf's signed margin: negative when met.
    pub fn margin(&self, v: f64) -> f64 {
        if matches!(self.op, "lt" | "le") {
            v - self.threshold
        } else {
            self.threshold - v
        }
    }

    /// AIPerf's filter key (`0:time_to_first_token.p95.lt.200.0`).
    fn key(&self, i: usize) -> String {
        format!(
            "{i}:{}.{}.{}.{}",
            self.tag,
            self.stat,
            self.op,
            aiperf_config::resolve::python_float(self.threshold)
        )
    }

    pub fn json(&self) -> Value {
        json!({"metric_tag": self.tag, "stat": self.stat, "op": self.op, "threshold": self.threshold})
    }

    /// AIPerf's breach record: the filter and what was observed (`null`: unmeasured).
    pub fn breach(&self, observed: Option<f64>) -> Value {
        let mut j = self.json();
        j["observed"] = json!(observed);
        j
    }
}

/// Everything the loop needs, copied out of the plan.
#[derive(Debug, Clone)]
pub struct Spec {
    pub dims: Vec<Dim>,
    pub metric: String,
    pub stat: String,
    pub maximize: bool,
    pub slas: Vec<Sla>,
    pub planner: &'static str,
    pub algorithm: &'static str,
    pub max_iterations: u32,
    pub initial_points: u32,
    pub seed: Option<u64>,
    pub pooling: &'static str,
    pub echo: Vec<(&'static str, Option<String>)>,
    pub recipe: Option<&'static str>,
    pub notices: Vec<String>,
}

impl Spec {
    /// The plan's generic search, if it has one.
    pub fn of(plan: &SearchPlan) -> Option<Self> {
        let g = plan.generic.as_ref()?;
        Some(Self {
            dims: g
                .dims
                .iter()
                .map(|d| Dim {
                    path: d.path.clone(),
                    lo: d.lo,
                    hi: d.hi,
                    integer: d.integer,
                    log: d.log,
                })
                .collect(),
            metric: g.objective.metric.clone(),
            stat: g.objective.stat.clone(),
            maximize: g.objective.maximize,
            slas: g
                .slas
                .iter()
                .map(|s| Sla {
                    tag: s.tag.clone(),
                    stat: s.stat.clone(),
                    op: s.op.name(),
                    threshold: s.threshold,
                })
                .collect(),
            planner: g.planner,
            algorithm: g.algorithm,
            max_iterations: g.max_iterations,
            initial_points: g.initial_points,
            seed: g.seed,
            pooling: g.pooling,
            echo: vec![
                ("optuna_sampler", g.optuna_sampler.clone()),
                ("optuna_acquisition", g.optuna_acquisition.clone()),
                ("optuna_terminator", g.optuna_terminator.clone()),
                ("constraint_mode", g.constraint_mode.clone()),
            ],
            recipe: g.recipe,
            notices: g.notices.clone(),
        })
    }

    /// The planner that runs.
    pub fn planner(&self) -> Box<dyn Planner> {
        let (lo, hi) = (self.dims[0].lo, self.dims[0].hi);
        match self.algorithm {
            "monotonic_sla" => Box::new(Monotonic::new(lo, hi)),
            "smooth_isotonic" => Box::new(SmoothIsotonic::new(
                lo,
                hi,
                self.slas
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s.key(i), s.threshold))
                    .collect(),
            )),
            _ => Box::new(Bayes::new(
                self.dims
                    .iter()
                    .map(|d| Box::new(d.clone()) as Box<dyn Axis>)
                    .collect(),
                self.initial_points,
                self.seed,
                self.maximize,
                self.slas.iter().map(|s| s.threshold).collect(),
            )),
        }
    }

    /// What a finished run measured: the objective, and per filter the value and margin.
    pub fn observe(
        &self,
        point: Vec<f64>,
        metrics: Option<&MetricsMap>,
    ) -> (Observation, Vec<Option<f64>>) {
        let value = |tag: &str, stat: &str| -> Option<f64> {
            let m = metrics?;
            m.get(tag)
                .and_then(|s| s.fields().into_iter().find(|(k, _)| *k == stat))
                .map(|(_, v)| v)
                // No failed request means no error rate in the summary: 0 %.
                .or((tag == "request_error_rate").then_some(0.0))
                .filter(|v| v.is_finite())
        };
        let observed: Vec<Option<f64>> = self.slas.iter().map(|s| value(&s.tag, &s.stat)).collect();
        let feasible = metrics.is_some()
            && self
                .slas
                .iter()
                .zip(&observed)
                .all(|(s, v)| v.is_some_and(|v| s.met(v)));
        let obs = Observation {
            point,
            objective: value(&self.metric, &self.stat),
            feasible,
            margins: self
                .slas
                .iter()
                .zip(&observed)
                .map(|(s, v)| v.map(|v| s.margin(v)))
                .collect(),
        };
        (obs, observed)
    }
}

/// One finished iteration.
#[derive(Debug, Clone)]
pub struct Iteration {
    pub idx: u32,
    pub point: Vec<f64>,
    pub objective: Option<f64>,
    pub feasible: bool,
    pub non_monotonic: bool,
    /// Per SLA filter, the measured value.
    pub observed: Vec<Option<f64>>,
    pub artifact_dir: PathBuf,
    pub error: Option<String>,
}

/// The generic search's result.
#[derive(Debug, Clone)]
pub struct GenericOutcome {
    pub planner: &'static str,
    pub iterations: Vec<Iteration>,
    /// Index into `iterations` of the best trial (feasible first).
    pub best: Option<usize>,
    pub convergence_reason: Option<String>,
    /// `search_history.json` as written.
    pub history: Value,
}

/// AIPerf's `_compute_best_trials` for one objective: the best objective among feasible
/// iterations, or among all scored ones when none is feasible (first on ties).
pub fn best_trial(its: &[Iteration], maximize: bool) -> Option<usize> {
    let scored: Vec<usize> = (0..its.len())
        .filter(|&i| its[i].objective.is_some())
        .collect();
    let feasible: Vec<usize> = scored
        .iter()
        .copied()
        .filter(|&i| its[i].feasible)
        .collect();
    let pool = if feasible.is_empty() {
        scored
    } else {
        feasible
    };
    pool.into_iter().reduce(|b, i| {
        let (vb, vi) = (
            its[b].objective.unwrap_or_default(),
            its[i].objective.unwrap_or_default(),
        );
        if (maximize && vi > vb) || (!maximize && vi < vb) {
            i
        } else {
            b
        }
    })
}

fn variation_values(spec: &Spec, point: &[f64]) -> Value {
    let map: Map<String, Value> = spec
        .dims
        .iter()
        .zip(point)
        .map(|(d, v)| (d.path.clone(), d.json(*v)))
        .collect();
    Value::Object(map)
}

/// `boundary_summary`: the planner's latched bracket (1-D SLA planners) or the history's
/// highest feasible and lowest infeasible value; `null` for several dimensions.
fn boundary_summary(spec: &Spec, its: &[Iteration], planner: &dyn Planner) -> Value {
    if its.is_empty() || spec.dims.len() != 1 {
        return Value::Null;
    }
    let (fmax, imin) = planner.bracket().unwrap_or_else(|| {
        let pick = |feasible: bool, max: bool| {
            its.iter()
                .filter(|i| i.feasible == feasible)
                .map(|i| i.point[0])
                .reduce(|a, b| {
                    if (max && b > a) || (!max && b < a) {
                        b
                    } else {
                        a
                    }
                })
        };
        (pick(true, true), pick(false, false))
    });
    if fmax.is_none() && imin.is_none() {
        return Value::Null;
    }
    let dim = &spec.dims[0];
    // The latest iteration at the value whose verdict agrees (several runs may share it); for
    // a history-derived bound, the first (Python's max/min keep the first).
    let at = |v: f64, feasible: bool| {
        let mut matching = its
            .iter()
            .filter(|i| i.point[0] == v && i.feasible == feasible);
        if planner.bracket().is_some() {
            matching.next_back()
        } else {
            matching.next()
        }
    };
    let feasible_max = fmax.and_then(|v| at(v, true)).map_or(Value::Null, |i| {
        json!({"value": dim.json(i.point[0]), "iteration_idx": i.idx, "objective_value": i.objective})
    });
    let infeasible_min = imin.and_then(|v| at(v, false)).map_or(Value::Null, |i| {
        json!({"value": dim.json(i.point[0]), "iteration_idx": i.idx, "first_breach": first_breach(spec, i)})
    });
    let mut out = json!({
        "swept_dim_path": dim.path,
        "feasible_max": feasible_max,
        "infeasible_min": infeasible_min,
    });
    for (k, v) in planner.boundary_extras() {
        out[k] = v;
    }
    out
}

/// The first filter (in order) the iteration broke, with what was observed.
fn first_breach(spec: &Spec, it: &Iteration) -> Value {
    spec.slas
        .iter()
        .zip(&it.observed)
        .find(|(s, v)| !v.is_some_and(|v| s.met(v)))
        .map_or(Value::Null, |(s, v)| s.breach(*v))
}

/// `search_history.json` (AIPerf 0.13's layout).
pub fn history_json(
    spec: &Spec,
    its: &[Iteration],
    planner: &dyn Planner,
    reason: Option<&str>,
) -> Value {
    let mut config = json!({
        "planner": spec.planner,
        "objectives": [{
            "metric": spec.metric,
            "stat": spec.stat,
            "direction": if spec.maximize { "MAXIMIZE" } else { "MINIMIZE" },
            "threshold": null,
        }],
        "outcome_constraints": [],
        "max_iterations": spec.max_iterations,
        "n_initial_points": spec.initial_points,
        "random_seed": spec.seed,
        "improvement_patience": 10,
        "plateau_window": 8,
        "plateau_threshold": 0.01,
        "search_space": spec.dims.iter().map(|d| json!({
            "path": d.path, "lo": d.lo, "hi": d.hi, "kind": if d.integer { "int" } else { "real" },
        })).collect::<Vec<_>>(),
        "sla_filters": spec.slas.iter().map(Sla::json).collect::<Vec<_>>(),
        "objective_pooling": spec.pooling,
    });
    for (k, v) in &spec.echo {
        if let Some(v) = v {
            config[*k] = json!(v);
        }
    }
    let feasible_count = its.iter().filter(|i| i.feasible).count();
    let best_trials = best_trial(its, spec.maximize).map_or(Value::Null, |b| {
        let i = &its[b];
        json!([{
            "iteration_idx": i.idx,
            "objective_values": i.objective.map(|v| vec![v]),
            "variation_values": variation_values(spec, &i.point),
            "feasible": i.feasible,
            "feasible_count": feasible_count,
            "pareto_rank": 0,
        }])
    });
    json!({
        "config": config,
        "iterations": its.iter().map(|i| json!({
            "iteration_idx": i.idx,
            "variation_values": variation_values(spec, &i.point),
            "objective_values": i.objective.map(|v| vec![v]),
            "feasible": i.feasible,
            "non_monotonic_warning": i.non_monotonic,
        })).collect::<Vec<_>>(),
        "best_trials": best_trials,
        "boundary_summary": boundary_summary(spec, its, planner),
        "recipe": spec.recipe,
        "convergence_reason": reason,
    })
}

fn write_history(base: &std::path::Path, history: &Value) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(base)?;
    let path = base.join("search_history.json");
    let mut text = serde_json::to_string_pretty(history)?;
    text.push('\n');
    aiperf_export::write_atomic(&path, &text)?;
    Ok(path)
}

fn describe_point(spec: &Spec, point: &[f64]) -> String {
    spec.dims
        .iter()
        .zip(point)
        .map(|(d, v)| format!("{}={}", d.path, d.json(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Engine {
    /// The generic search of `plan` (which has one): runs, `search_history.json`, a summary.
    pub(super) async fn run_generic(
        &self,
        plan: &SearchPlan,
        spec: &Spec,
        observer: &dyn Observer,
        print: &mut dyn FnMut(&str),
    ) -> anyhow::Result<SearchOutcome> {
        for n in &spec.notices {
            tracing::warn!("{n}");
            print(&format!("Notice: {n}"));
        }
        print(&format!(
            "Searching with the {} planner: {} {} ({}), at most {} runs{}",
            spec.planner,
            spec.metric,
            spec.stat,
            if spec.maximize {
                "maximize"
            } else {
                "minimize"
            },
            spec.max_iterations,
            if spec.slas.is_empty() {
                String::new()
            } else {
                let f: Vec<String> = spec
                    .slas
                    .iter()
                    .map(|s| format!("{} {} {} {}", s.tag, s.stat, s.op, s.threshold))
                    .collect();
                format!("; SLA: {}", f.join(", "))
            }
        ));
        let mut planner = spec.planner();
        let mut its: Vec<Iteration> = Vec::new();
        let mut interrupted = false;
        let reason: Option<String> = loop {
            // AIPerf's order: the 1-D planners' own reason first, the budget first for the
            // Gaussian process (its three-signal check).
            let spent = its.len() as u32 >= spec.max_iterations;
            if spent && spec.algorithm == "bayesian" {
                break Some("max_iterations".into());
            }
            if let Some(r) = planner.reason() {
                break Some(r.to_string());
            }
            if spent {
                break Some("max_iterations".into());
            }
            if self.stop.stopped() {
                interrupted = true;
                break Some("cancelled".into());
            }
            let Some(point) = planner.ask() else {
                break planner.reason().map(str::to_string);
            };
            let idx = its.len() as u32;
            let cfg = plan.probe_point(&point, idx, self.registry())?;
            print(&format!(
                "[search {}] {}",
                idx + 1,
                describe_point(spec, &point)
            ));
            let (metrics, error) = match self.run(&cfg, observer).await {
                Ok(o) => {
                    print(&o.console);
                    if o.exit_code == 130 {
                        interrupted = true;
                    }
                    if o.exit_code == 0 {
                        (Some(metrics_map(&o.summary)), None)
                    } else {
                        (None, Some(format!("run exited {}", o.exit_code)))
                    }
                }
                Err(e) if e.is::<Interrupted>() => {
                    interrupted = true;
                    break Some("cancelled".into());
                }
                Err(e) => (None, Some(aiperf_core::one_line(e.as_ref()))),
            };
            if let Some(e) = &error {
                tracing::warn!("search run {} failed: {e}", idx + 1);
                print(&format!("[search {}] the run failed: {e}", idx + 1));
            }
            let (obs, observed) = spec.observe(point.clone(), metrics.as_ref());
            let non_monotonic = planner.tell(&obs);
            if non_monotonic {
                tracing::warn!(
                    "the SLA boundary is non-monotonic at {}",
                    describe_point(spec, &point)
                );
            }
            print(&format!(
                "[search {}] {} {}: {}; {}",
                idx + 1,
                spec.metric,
                spec.stat,
                obs.objective
                    .map_or("not measured".into(), |v| format!("{v:.4}")),
                if obs.feasible {
                    "meets the SLA"
                } else {
                    "breaks the SLA"
                }
            ));
            its.push(Iteration {
                idx,
                point,
                objective: obs.objective,
                feasible: obs.feasible,
                non_monotonic,
                observed,
                artifact_dir: cfg.artifact_dir,
                error,
            });
            write_history(
                &plan.base_dir,
                &history_json(spec, &its, planner.as_ref(), None),
            )?;
            if interrupted {
                break Some("cancelled".into());
            }
        };
        let history = history_json(spec, &its, planner.as_ref(), reason.as_deref());
        let path = write_history(&plan.base_dir, &history)?;
        let best = best_trial(&its, spec.maximize);
        let found = best.is_some_and(|b| its[b].feasible);
        let outcome = GenericOutcome {
            planner: spec.planner,
            iterations: its,
            best,
            convergence_reason: reason,
            history,
        };
        print(&summary(spec, &outcome));
        print(&format!("Search history: {}", path.display()));
        let bracket = planner.bracket();
        Ok(SearchOutcome {
            recipe: plan.recipe,
            slas: Vec::new(),
            concurrency_min: plan.min,
            concurrency_max: plan.max,
            answer: Answer {
                concurrency: bracket.and_then(|b| b.0).map(|v| v as usize),
                breaks_at: bracket.and_then(|b| b.1).map(|v| v as usize),
                exact: bracket.is_some_and(|b| matches!(b, (Some(f), Some(i)) if i - f <= 1.0)),
            },
            iterations: Vec::new(),
            interrupted,
            exit_code: if interrupted {
                130
            } else if found {
                0
            } else {
                1
            },
            generic: Some(outcome),
        })
    }
}

/// The closing console block.
fn summary(spec: &Spec, o: &GenericOutcome) -> String {
    let mut out = format!("\n{}\n", "=".repeat(80));
    let _ = writeln!(
        out,
        "Search ({} planner): {} runs, stopped: {}",
        o.planner,
        o.iterations.len(),
        o.convergence_reason.as_deref().unwrap_or("-")
    );
    match o.best.map(|b| &o.iterations[b]) {
        Some(b) => {
            let _ = writeln!(
                out,
                "Best: {} -> {} {} {}{}",
                describe_point(spec, &b.point),
                spec.metric,
                spec.stat,
                b.objective.map_or("-".into(), |v| format!("{v:.4}")),
                if b.feasible {
                    ""
                } else {
                    " (no run met the SLA)"
                }
            );
        }
        None => {
            let _ = writeln!(
                out,
                "Best: none (no run measured {} {})",
                spec.metric, spec.stat
            );
        }
    }
    if let Some(b) = o.history.get("boundary_summary").filter(|b| !b.is_null()) {
        let v = |k: &str| match &b[k]["value"] {
            Value::Null => "-".to_string(),
            v => v.to_string(),
        };
        let _ = writeln!(
            out,
            "SLA boundary on {}: met up to {}, broken from {}",
            spec.dims[0].path,
            v("feasible_max"),
            v("infeasible_min")
        );
    }
    for i in &o.iterations {
        let _ = writeln!(
            out,
            "  {:>3}. {}  {}  {}{}",
            i.idx + 1,
            describe_point(spec, &i.point),
            if i.feasible { "ok  " } else { "FAIL" },
            i.objective.map_or("-".into(), |v| format!("{v:.4}")),
            i.error
                .as_ref()
                .map_or(String::new(), |e| format!("  ({e})"))
        );
    }
    out.push_str(&"=".repeat(80));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(algorithm: &'static str) -> Spec {
        Spec {
            dims: vec![Dim {
                path: "phases.profiling.concurrency".into(),
                lo: 1.0,
                hi: 64.0,
                integer: true,
                log: false,
            }],
            metric: "output_token_throughput".into(),
            stat: "avg".into(),
            maximize: true,
            slas: vec![Sla {
                tag: "time_to_first_token".into(),
                stat: "p95".into(),
                op: "lt",
                threshold: 200.0,
            }],
            planner: algorithm,
            algorithm,
            max_iterations: 10,
            initial_points: 2,
            seed: Some(1),
            pooling: "mean",
            echo: vec![("optuna_sampler", None)],
            recipe: None,
            notices: Vec::new(),
        }
    }

    fn it(idx: u32, c: f64, objective: Option<f64>, ttft: Option<f64>) -> Iteration {
        Iteration {
            idx,
            point: vec![c],
            objective,
            feasible: ttft.is_some_and(|t| t < 200.0),
            non_monotonic: false,
            observed: vec![ttft],
            artifact_dir: PathBuf::new(),
            error: None,
        }
    }

    #[test]
    fn filters_and_margins_follow_aiperf() {
        let lt = Sla {
            tag: "t".into(),
            stat: "p95".into(),
            op: "lt",
            threshold: 200.0,
        };
        assert!(lt.met(199.9) && !lt.met(200.0) && !lt.met(f64::NAN));
        assert_eq!(lt.margin(150.0), -50.0);
        let ge = Sla {
            op: "ge",
            ..lt.clone()
        };
        assert!(ge.met(200.0) && !ge.met(199.0));
        assert_eq!(ge.margin(150.0), 50.0);
        assert_eq!(lt.key(0), "0:t.p95.lt.200.0");
        // log-uniform: the middle of [1, 100] is 10.
        let d = Dim {
            path: "p".into(),
            lo: 1.0,
            hi: 100.0,
            integer: true,
            log: true,
        };
        assert_eq!(d.value_at(0.5), 10.0);
        assert!((d.unit_of(10.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn best_trial_is_feasible_first() {
        let its = [
            it(0, 8.0, Some(100.0), Some(50.0)),
            it(1, 32.0, Some(300.0), Some(400.0)),
            it(2, 16.0, Some(180.0), Some(150.0)),
            it(3, 20.0, None, None),
        ];
        assert_eq!(best_trial(&its, true), Some(2));
        assert_eq!(best_trial(&its, false), Some(0));
        // With nothing feasible, the best of all scored runs.
        assert_eq!(best_trial(&its[1..2], true), Some(0));
        assert_eq!(best_trial(&its[3..], true), None);
    }

    #[test]
    fn history_has_aiperf_s_layout() {
        let s = spec("bayesian");
        let its = [
            it(0, 8.0, Some(100.0), Some(50.0)),
            it(1, 32.0, Some(300.0), Some(400.0)),
            it(2, 16.0, Some(180.0), Some(150.0)),
            it(3, 24.0, Some(250.0), None),
        ];
        let planner = s.planner();
        let h = history_json(&s, &its, planner.as_ref(), Some("max_iterations"));
        assert_eq!(h["config"]["planner"], "bayesian");
        assert_eq!(h["config"]["objectives"][0]["direction"], "MAXIMIZE");
        assert_eq!(
            h["config"]["search_space"][0],
            json!({"path": "phases.profiling.concurrency", "lo": 1.0, "hi": 64.0, "kind": "int"})
        );
        assert_eq!(
            h["config"]["sla_filters"][0],
            json!({"metric_tag": "time_to_first_token", "stat": "p95", "op": "lt", "threshold": 200.0})
        );
        assert_eq!(
            h["iterations"][1],
            json!({"iteration_idx": 1, "variation_values": {"phases.profiling.concurrency": 32}, "objective_values": [300.0], "feasible": false, "non_monotonic_warning": false})
        );
        assert_eq!(h["best_trials"][0]["iteration_idx"], 2);
        assert_eq!(h["best_trials"][0]["feasible_count"], 2);
        // From the history: highest feasible 16, lowest infeasible 24 (its TTFT unmeasured).
        let b = &h["boundary_summary"];
        assert_eq!(
            b["feasible_max"],
            json!({"value": 16, "iteration_idx": 2, "objective_value": 180.0})
        );
        assert_eq!(b["infeasible_min"]["value"], 24);
        assert_eq!(b["infeasible_min"]["first_breach"]["observed"], Value::Null);
        assert_eq!(h["recipe"], Value::Null);
        assert_eq!(h["convergence_reason"], "max_iterations");
    }

    #[test]
    fn observations_read_the_summary() {
        let s = spec("monotonic_sla");
        // A failed run: nothing measured, infeasible.
        let (o, observed) = s.observe(vec![4.0], None);
        assert_eq!(
            (o.objective, o.feasible, observed),
            (None, false, vec![None])
        );
    }
}
