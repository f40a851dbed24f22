//! Runs a [`RunSet`] (a sweep, repeated trials, or both) through one [`Engine`]: every run in
//! AIPerf's order with cool-downs between them, trials stopped early once the convergence
//! metric settles, a failed run recorded and passed over, then the aggregates written.
//!
//! The tokenizer and dataset are reused from run to run whenever the variation leaves them
//! unchanged (the engine's prepare cache), so a concurrency sweep prepares once.

use std::path::PathBuf;
use std::time::Duration;

use aiperf_config::resolve::{
    Convergence, ConvergenceMode, PlannedRun, RunSet, SweepMode, Variation,
};
use aiperf_export::aggregate::{
    ConfidenceAggregate, SweepAggregate, SweepParameter, SweepPoint, TrialResult, VariationInfo,
};
use aiperf_export::json::metrics_map;
use aiperf_export::ExportError;
use aiperf_metrics::confidence::confidence;
use indexmap::IndexMap;
use serde_json::Value;

use crate::stop::watch_signals;
use crate::{Engine, Interrupted, Observer};

/// One run of the set as it ended.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub variation: usize,
    pub trial: u32,
    pub dir: PathBuf,
    pub result: TrialResult,
}

/// What a whole set produced.
#[derive(Debug)]
pub struct SetOutcome {
    /// 0 when at least two runs succeeded (AIPerf's rule: enough to aggregate), 130 when
    /// interrupted, 1 otherwise.
    pub exit_code: i32,
    pub runs: Vec<RunRecord>,
    /// Per variation, the aggregate when at least one of its trials succeeded.
    pub aggregates: Vec<Option<ConfidenceAggregate>>,
    pub sweep: Option<SweepAggregate>,
    /// Aggregate files that could not be written.
    pub failures: Vec<ExportError>,
    pub interrupted: bool,
}

impl Engine {
    /// Runs every run of `set`, printing each run's console text and the aggregate blocks
    /// through `print` as they come. `sweep_id` names the invocation in every `run_info`.
    pub async fn run_set(
        &self,
        set: &RunSet,
        sweep_id: &str,
        observer: &dyn Observer,
        print: &mut dyn FnMut(&str),
    ) -> SetOutcome {
        // A mistake every run would repeat is one error, before the first request.
        if let Some((v, e)) = set
            .variations
            .iter()
            .find_map(|v| self.check(&v.config).err().map(|e| (v, e)))
        {
            let at = if set.is_sweep() {
                format!("{}: ", v.label)
            } else {
                String::new()
            };
            tracing::error!("{at}{}", aiperf_core::one_line(e.as_ref()));
            return SetOutcome {
                exit_code: 1,
                runs: Vec::new(),
                aggregates: Vec::new(),
                sweep: None,
                failures: Vec::new(),
                interrupted: false,
            };
        }
        print(&banner(set));
        let mut runs: Vec<RunRecord> = Vec::new();
        let mut converged = vec![false; set.variations.len()];
        let mut interrupted = false;
        let mut previous: Option<(usize, u32)> = None;
        for planned in set.runs(sweep_id) {
            if converged[planned.variation] {
                continue;
            }
            if self.stop.stopped() {
                interrupted = true;
                break;
            }
            if let Some(prev) = previous {
                let pause = cooldown(set, prev, (planned.variation, planned.trial));
                if !self.cool_down(pause).await {
                    interrupted = true;
                    break;
                }
            }
            previous = Some((planned.variation, planned.trial));
            let (record, stop) = self.run_one(&planned, observer, print).await;
            runs.push(record);
            if stop {
                interrupted = true;
                break;
            }
            let v = planned.variation;
            if let Some(c) = &set.convergence {
                let done: Vec<&TrialResult> = runs
                    .iter()
                    .filter(|r| r.variation == v)
                    .map(|r| &r.result)
                    .collect();
                if planned.trial + 1 < set.trials && has_converged(c, &done, set.confidence_level) {
                    tracing::info!(
                        "{}: {}_{} converged after {} trials; skipping the rest",
                        set.variations[v].label,
                        c.metric,
                        c.stat,
                        done.len()
                    );
                    converged[v] = true;
                }
            }
            if set.sweep_table && set.is_sweep() && variation_finished(set, &planned, &converged) {
                print(&sweep_aggregate(set, &runs).table());
            }
        }
        self.finish(set, runs, interrupted, print)
    }

    fn finish(
        &self,
        set: &RunSet,
        runs: Vec<RunRecord>,
        interrupted: bool,
        print: &mut dyn FnMut(&str),
    ) -> SetOutcome {
        let mut failures = Vec::new();
        let ok = runs.iter().filter(|r| r.result.outcome.is_ok()).count();
        print(&format!(
            "{} complete: {ok}/{} runs successful",
            if set.is_sweep() {
                format!("{} mode", set.mode.name())
            } else {
                "All runs".to_string()
            },
            runs.len()
        ));
        let aggregates: Vec<Option<ConfidenceAggregate>> = set
            .variations
            .iter()
            .map(|v| variation_aggregate(set, v, &runs))
            .collect();
        for (v, a) in set.variations.iter().zip(&aggregates) {
            match a {
                Some(a) => {
                    failures.extend(a.write(&set.aggregate_dir(v)));
                    if set.trials > 1 {
                        print(&a.console());
                    }
                }
                None if !runs.iter().any(|r| r.variation == v.index) => {}
                None if set.is_sweep() => {
                    tracing::warn!("no aggregate for '{}': none of its runs succeeded", v.label)
                }
                None => tracing::error!("All runs failed - cannot compute aggregate statistics"),
            }
        }
        // Nothing succeeded, nothing to compare: no sweep file (as AIPerf).
        let sweep = (set.is_sweep() && ok > 0).then(|| sweep_aggregate(set, &runs));
        if let (Some(s), Some(dir)) = (&sweep, set.sweep_aggregate_dir()) {
            failures.extend(s.write(&dir));
            print(&s.console());
        }
        for f in &failures {
            tracing::error!("{f}");
        }
        let exit_code = if interrupted {
            130
        } else if ok >= 2 && failures.is_empty() {
            0
        } else {
            1
        };
        SetOutcome {
            exit_code,
            runs,
            aggregates,
            sweep,
            failures,
            interrupted,
        }
    }

    /// One run, recorded whatever happens; `true` when an interruption ends the set.
    async fn run_one(
        &self,
        planned: &PlannedRun,
        observer: &dyn Observer,
        print: &mut dyn FnMut(&str),
    ) -> (RunRecord, bool) {
        let label = format!("run_{:04}", planned.trial + 1);
        print(&format!(
            "[v{} t{}] Executing {label}...",
            planned.variation, planned.trial
        ));
        let (outcome, stop) = match self.run(&planned.config, observer).await {
            Ok(o) => {
                print(&o.console);
                let stop = o.exit_code == 130;
                let outcome = if o.exit_code == 0 {
                    Ok(with_accuracy(metrics_map(&o.summary), o.accuracy.as_ref()))
                } else {
                    Err(format!(
                        "Benchmark failed with exit code {} ({} of {} requests failed)",
                        o.exit_code,
                        o.error_count,
                        o.request_count + o.error_count
                    ))
                };
                (outcome, stop)
            }
            Err(e) => {
                let stop = e.is::<Interrupted>();
                let reason = aiperf_core::one_line(e.as_ref());
                tracing::error!("{label} failed: {reason}");
                (Err(reason), stop)
            }
        };
        let record = RunRecord {
            variation: planned.variation,
            trial: planned.trial,
            dir: planned.config.artifact_dir.clone(),
            result: TrialResult { label, outcome },
        };
        (record, stop)
    }

    /// Sleeps `pause`, watching for Ctrl-C; `false` when interrupted.
    async fn cool_down(&self, pause: Duration) -> bool {
        if pause.is_zero() {
            return !self.stop.stopped();
        }
        tracing::info!("cooling down for {:.1} s", pause.as_secs_f64());
        let signals = tokio::spawn(watch_signals(self.stop.clone()));
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = self.stop.wait_stopped() => {}
        }
        signals.abort();
        !self.stop.stopped()
    }
}

/// The pause before `next`: a trial cool-down when a new trial of the same variation (or a new
/// round of trials) starts, else the variation cool-down.
fn cooldown(set: &RunSet, prev: (usize, u32), next: (usize, u32)) -> Duration {
    let new_trial = match set.mode {
        SweepMode::Repeated => next.1 != prev.1,
        SweepMode::Independent => next.0 == prev.0,
    };
    let s = if new_trial || !set.is_sweep() {
        set.trial_cooldown_s
    } else {
        set.variation_cooldown_s
    };
    Duration::from_secs_f64(s)
}

/// Whether `planned` was the last run its variation will get.
fn variation_finished(set: &RunSet, planned: &PlannedRun, converged: &[bool]) -> bool {
    planned.trial + 1 == set.trials || converged[planned.variation]
}

/// AIPerf's adaptive stop: the interval width (or CV) of `{metric}_{stat}` relative to its
/// mean falls under the threshold once `min_runs` trials succeeded.
fn has_converged(c: &Convergence, runs: &[&TrialResult], level: f64) -> bool {
    let key_tag = &c.metric;
    let values: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.outcome.as_ref().ok())
        .filter_map(|m| {
            m.get(key_tag)?
                .fields()
                .into_iter()
                .find(|(s, _)| *s == c.stat)
                .map(|(_, v)| v)
        })
        .collect();
    if values.len() < c.min_runs as usize {
        return false;
    }
    let Some(s) = confidence(&values, level) else {
        return false;
    };
    if s.mean == 0.0 {
        return s.std == 0.0;
    }
    let ratio = match c.mode {
        ConvergenceMode::CiWidth => (s.ci_high - s.ci_low) / s.mean.abs(),
        ConvergenceMode::Cv => s.std / s.mean.abs(),
    };
    ratio < c.threshold
}

fn variation_aggregate(
    set: &RunSet,
    v: &Variation,
    runs: &[RunRecord],
) -> Option<ConfidenceAggregate> {
    let mine: Vec<TrialResult> = runs
        .iter()
        .filter(|r| r.variation == v.index)
        .map(|r| r.result.clone())
        .collect();
    let info = set.is_sweep().then(|| VariationInfo {
        label: v.label.clone(),
        values: v
            .values
            .iter()
            .map(|(path, value)| (path.to_string(), value.to_json()))
            .collect(),
        sweep_mode: set.mode.name().to_string(),
        model: v.config.models.first().cloned().unwrap_or_default(),
    });
    ConfidenceAggregate::build(&mine, set.confidence_level, set.trial_cooldown_s, info)
}

/// Column names of the sweep: the last path segment, or the whole path when two parameters
/// would share it (`--isl` and `--osl` both end in `mean`).
fn param_names(set: &RunSet) -> Vec<String> {
    let short: Vec<&str> = set.params.iter().map(|p| p.name()).collect();
    set.params
        .iter()
        .map(|p| {
            if short.iter().filter(|n| **n == p.name()).count() > 1 {
                p.path.to_string()
            } else {
                p.name().to_string()
            }
        })
        .collect()
}

/// A configuration's coordinates in the sweep: its parameter values, or its name for a
/// `--variant` scenario.
fn coordinates(set: &RunSet, names: &[String], v: &Variation) -> IndexMap<String, Value> {
    if set.params.is_empty() {
        return IndexMap::from([(VARIANT.to_string(), Value::from(v.label.clone()))]);
    }
    names
        .iter()
        .zip(&v.values)
        .map(|(n, (_, value))| (n.clone(), value.to_json()))
        .collect()
}

/// The sweep column of scenario (`--variant`) sweeps.
const VARIANT: &str = "variant";

fn sweep_aggregate(set: &RunSet, runs: &[RunRecord]) -> SweepAggregate {
    let names = param_names(set);
    let points = set
        .variations
        .iter()
        .filter(|v| runs.iter().any(|r| r.variation == v.index))
        .map(|v| SweepPoint {
            parameters: coordinates(set, &names, v),
            aggregate: variation_aggregate(set, v, runs),
        })
        .collect();
    let parameters = if set.params.is_empty() {
        vec![SweepParameter {
            name: VARIANT.to_string(),
            values: set
                .variations
                .iter()
                .map(|v| Value::from(v.label.clone()))
                .collect(),
        }]
    } else {
        set.params
            .iter()
            .zip(&names)
            .map(|(p, n)| SweepParameter {
                name: n.clone(),
                values: p.values.iter().map(|v| v.to_json()).collect(),
            })
            .collect()
    };
    let failed_runs = runs
        .iter()
        .filter_map(|r| {
            let e = r.result.outcome.as_ref().err()?;
            Some(aiperf_export::aggregate::FailedRun {
                label: r.result.label.clone(),
                error: format!("{}: {e}", set.variations[r.variation].label),
            })
        })
        .collect();
    SweepAggregate {
        parameters,
        points,
        sweep_mode: set.mode.name().to_string(),
        confidence_level: set.confidence_level,
        trials_per_value: set.trials,
        total_runs: runs.len(),
        successful_runs: runs.iter().filter(|r| r.result.outcome.is_ok()).count(),
        failed_runs,
    }
}

/// AIPerf's start banner.
fn banner(set: &RunSet) -> String {
    let rule = "=".repeat(80);
    format!(
        "{rule}\nStarting Multi-Run Benchmark\n  Configurations: {}\n  Trials per config: {}\n  \
         Total runs: {}\n  Confidence level: {}%\n  Cooldown between runs: {:.1}s\n{rule}\n\
         Starting multi-run benchmark ({}): {} trials x {} variations",
        set.variations.len(),
        set.trials,
        set.total_runs(),
        aiperf_export::aggregate::percent(set.confidence_level),
        set.trial_cooldown_s,
        set.mode.name(),
        set.trials,
        set.variations.len()
    )
}

/// A grid recipe's closing step: what it computes from the finished sweep, written into the
/// base directory (AIPerf's file name) and summarised.
pub fn post_process(
    set: &RunSet,
    outcome: &SetOutcome,
    post: &aiperf_config::resolve::PostProcess,
    print: &mut dyn FnMut(&str),
) -> Result<(), String> {
    use aiperf_config::resolve::PostProcess;
    let sweep = outcome
        .sweep
        .as_ref()
        .ok_or("no run of the sweep succeeded")?;
    let (file, doc) = match post {
        PostProcess::Knee(knee) => return write_knee(set, sweep, knee, print),
        PostProcess::SlaBreach(filters) => {
            let filters: Vec<crate::search::Sla> = filters
                .iter()
                .map(|f| crate::search::Sla {
                    tag: f.tag.clone(),
                    stat: f.stat.clone(),
                    op: f.op.name(),
                    threshold: f.threshold,
                })
                .collect();
            return write_sla_breach(set, sweep, &filters, print);
        }
        PostProcess::PrefillCurve => ("prefill_curve.json", sweep.prefill_curve()?),
        PostProcess::ItlSurface => ("decode_itl_surface.json", sweep.itl_surface()?),
        PostProcess::ParetoShapes => ("pareto_sweep.json", pareto_shapes(set, sweep)?),
    };
    let path = write_json(set, file, &doc)?;
    if let PostProcess::PrefillCurve = post {
        let c: Vec<String> = doc["coefficients"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| format!("{:.6}", v.as_f64().unwrap_or(f64::NAN)))
                    .collect()
            })
            .unwrap_or_default();
        print(&format!(
            "Prefill curve ({} fit, r² {:.3}): TTFT ms = {} (highest power of ISL first)",
            doc["fit_form"].as_str().unwrap_or(""),
            doc["r_squared"].as_f64().unwrap_or(f64::NAN),
            c.join(", ")
        ));
    } else if let PostProcess::ParetoShapes = post {
        let front: Vec<String> = doc["cells"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["pareto_optimal"] == true)
            .map(|c| format!("{}/{} at c={}", c["isl"], c["osl"], c["concurrency"]))
            .collect();
        print(&format!(
            "Pareto front (TTFT p95 vs output tokens/sec): {}",
            front.join(", ")
        ));
    } else {
        print(&format!(
            "ITL surface: {} cells measured",
            doc["raw_points"].as_array().map_or(0, Vec::len)
        ));
    }
    print(&format!("Curve report: {}", path.display()));
    Ok(())
}

/// AIPerf's `pareto_sweep.json`: one cell per shape and concurrency with TTFT p95 (`x`, lower
/// is better) and output token throughput (`y`, higher is better), the undominated ones marked.
fn pareto_shapes(set: &RunSet, sweep: &SweepAggregate) -> Result<Value, String> {
    let mut cells: Vec<(usize, usize, usize, f64, f64)> = Vec::new();
    for v in &set.variations {
        let point = sweep
            .points
            .iter()
            .find(|p| p.parameters.get(VARIANT) == Some(&Value::from(v.label.clone())));
        let mean = |key: &str| {
            point
                .and_then(|p| p.aggregate.as_ref())
                .and_then(|a| a.metrics.get(key))
                .map(|m| m.stats.mean)
        };
        if let (Some(x), Some(y)) = (
            mean("time_to_first_token_p95"),
            mean("output_token_throughput_avg"),
        ) {
            let c = &v.config;
            let osl = c.osl_mean.unwrap_or(0.0);
            cells.push((c.isl_mean as usize, osl as usize, c.concurrency, x, y));
        }
    }
    if cells.is_empty() {
        return Err("no shape produced TTFT and output throughput".into());
    }
    let points: Vec<aiperf_metrics::sweep::Point> = cells
        .iter()
        .map(|c| aiperf_metrics::sweep::Point {
            throughput: c.4,
            latency: c.3,
        })
        .collect();
    let front = aiperf_metrics::sweep::pareto_front(&points);
    Ok(serde_json::json!({
        "x_metric": "time_to_first_token",
        "x_stat": "p95",
        "y_metric": "output_token_throughput",
        "y_stat": "avg",
        "cells": cells.iter().enumerate().map(|(i, (isl, osl, c, x, y))| serde_json::json!({
            "isl": isl, "osl": osl, "concurrency": c, "x": x, "y": y,
            "pareto_optimal": front.contains(&i),
        })).collect::<Vec<_>>(),
    }))
}

fn write_json(set: &RunSet, file: &str, doc: &Value) -> Result<std::path::PathBuf, String> {
    let path = set.base_dir.join(file);
    let mut text = serde_json::to_string_pretty(doc).map_err(|e| e.to_string())?;
    text.push('\n');
    aiperf_export::write_atomic(&path, &text).map_err(|e| e.to_string())?;
    Ok(path)
}

/// `max-concurrency-under-sla --search-style grid`'s closing step: `sla_breach.json` in the base
/// directory, and the boundary printed.
fn write_sla_breach(
    set: &RunSet,
    sweep: &SweepAggregate,
    filters: &[crate::search::Sla],
    print: &mut dyn FnMut(&str),
) -> Result<(), String> {
    let doc = crate::search::sla_breach(sweep, filters);
    let path = write_json(set, "sla_breach.json", &doc)?;
    let show = |k: &str| match &doc[k] {
        Value::Null => "none".to_string(),
        v => v.to_string(),
    };
    print(&format!(
        "SLA breach: highest passing concurrency {}, first failing {}{}",
        show("max_passing_concurrency"),
        show("first_failing_concurrency"),
        if doc["monotonicity_check"] == true {
            ""
        } else {
            " (not monotonic: a higher concurrency passed after a failure)"
        }
    ));
    print(&format!("SLA breach report: {}", path.display()));
    Ok(())
}

/// `concurrency-ramp`'s closing step: the degradation knee of the finished sweep, written to
/// `degradation_knee.json` in the base directory and printed.
fn write_knee(
    set: &RunSet,
    sweep: &SweepAggregate,
    knee: &aiperf_config::resolve::KneeSpec,
    print: &mut dyn FnMut(&str),
) -> Result<(), String> {
    let doc = sweep.degradation_knee(&knee.tag, &knee.stat, knee.threshold)?;
    let path = write_json(set, "degradation_knee.json", &doc)?;
    let at = |k: &str| doc.get(k).cloned().unwrap_or(Value::Null);
    let line = match at("knee_concurrency") {
        Value::Null => format!(
            "Degradation knee: none up to the last concurrency ({} {} stayed within {:.0}% of {:.2} at concurrency {})",
            knee.stat, knee.tag, knee.threshold * 100.0,
            at(&format!("baseline_{}", knee.stat)).as_f64().unwrap_or(f64::NAN),
            at("baseline_concurrency"),
        ),
        c => format!(
            "Degradation knee: concurrency {c} ({} {} {:.2}, more than {:.0}% above {:.2} at concurrency {})",
            knee.stat, knee.tag,
            at(&format!("knee_{}", knee.stat)).as_f64().unwrap_or(f64::NAN),
            knee.threshold * 100.0,
            at(&format!("baseline_{}", knee.stat)).as_f64().unwrap_or(f64::NAN),
            at("baseline_concurrency"),
        ),
    };
    print(&line);
    print(&format!("Knee report: {}", path.display()));
    Ok(())
}

/// A run's metrics for the aggregates, its `accuracy.*` ratios among them (as `avg`), so
/// repeated trials and sweeps report accuracy beside the timings.
fn with_accuracy(
    mut metrics: aiperf_export::json::MetricsMap,
    accuracy: Option<&aiperf_accuracy::summary::AccuracySummary>,
) -> aiperf_export::json::MetricsMap {
    for m in accuracy.map(|a| a.metrics()).unwrap_or_default() {
        metrics.insert(
            m.tag,
            aiperf_export::json::MetricStats::Scalar(aiperf_export::json::ScalarJson {
                unit: "ratio",
                avg: m.current,
            }),
        );
    }
    metrics
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_export::json::{MetricStats, MetricsMap, ScalarJson};

    fn trial(v: f64) -> TrialResult {
        let mut m = MetricsMap::new();
        m.insert(
            "request_throughput".into(),
            MetricStats::Scalar(ScalarJson {
                unit: "requests/sec",
                avg: v,
            }),
        );
        TrialResult {
            label: "run".into(),
            outcome: Ok(m),
        }
    }

    fn conv(mode: ConvergenceMode, threshold: f64) -> Convergence {
        Convergence {
            metric: "request_throughput".into(),
            stat: "avg".into(),
            mode,
            threshold,
            min_runs: 2,
        }
    }

    #[test]
    fn convergence_follows_the_worked_ratios() {
        // C8: 100, 110, 120 -> ci width / mean = 2 * 4.3027 * 5.7735 / 110 = 0.4517.
        let t = [trial(100.0), trial(110.0), trial(120.0)];
        let refs: Vec<&TrialResult> = t.iter().collect();
        assert!(!has_converged(
            &conv(ConvergenceMode::CiWidth, 0.45),
            &refs,
            0.95
        ));
        assert!(has_converged(
            &conv(ConvergenceMode::CiWidth, 0.46),
            &refs,
            0.95
        ));
        // cv = 10 / 110 = 0.0909.
        assert!(!has_converged(
            &conv(ConvergenceMode::Cv, 0.09),
            &refs,
            0.95
        ));
        assert!(has_converged(
            &conv(ConvergenceMode::Cv, 0.091),
            &refs,
            0.95
        ));
        // One run is never enough.
        assert!(!has_converged(
            &conv(ConvergenceMode::Cv, 0.9),
            &refs[..1],
            0.95
        ));
    }
}
