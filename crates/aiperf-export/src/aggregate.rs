//! Files and console text over several runs (docs/design/multi-run.md §2-3):
//! `profile_export_aiperf_aggregate.{json,csv}` (one configuration's trials: mean, spread and a
//! Student-t interval per `{tag}_{stat}`) and `profile_export_aiperf_sweep.{json,csv}` (one row
//! per configuration of a sweep, the best ones and the Pareto front).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use aiperf_metrics::confidence::{confidence, Confidence};
use aiperf_metrics::sweep::{argmax, argmin, pareto_front, Point};
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::json::{finite, MetricsMap};
use crate::{write_atomic, ExportError};

pub const AGGREGATE_JSON_FILE: &str = "profile_export_aiperf_aggregate.json";
pub const AGGREGATE_CSV_FILE: &str = "profile_export_aiperf_aggregate.csv";
pub const SWEEP_JSON_FILE: &str = "profile_export_aiperf_sweep.json";
pub const SWEEP_CSV_FILE: &str = "profile_export_aiperf_sweep.csv";

/// The statistics of a run's metric that are aggregated (AIPerf's `STAT_KEYS`).
const STAT_KEYS: [&str; 14] = [
    "avg", "min", "max", "sum", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "std",
];

/// One run as the aggregates see it: its label and either its metrics or why it failed.
#[derive(Debug, Clone)]
pub struct TrialResult {
    /// `run_NNNN`.
    pub label: String,
    pub outcome: Result<MetricsMap, String>,
}

/// A run that produced no metrics.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct FailedRun {
    pub label: String,
    pub error: String,
}

/// One `{tag}_{stat}` across runs, with the unit of the first run that had it.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregated {
    pub stats: Confidence,
    pub unit: String,
}

/// `{tag}_{stat}` of every successful run, aggregated at `level`; sorted by key.
pub fn aggregate_metrics(runs: &[&MetricsMap], level: f64) -> BTreeMap<String, Aggregated> {
    let mut values: BTreeMap<String, (Vec<f64>, &'static str)> = BTreeMap::new();
    for metrics in runs {
        for (tag, stats) in metrics.iter() {
            for (stat, v) in stats.fields() {
                if STAT_KEYS.contains(&stat) {
                    values
                        .entry(format!("{tag}_{stat}"))
                        .or_insert_with(|| (Vec::new(), stats.unit()))
                        .0
                        .push(v);
                }
            }
        }
    }
    values
        .into_iter()
        .filter_map(|(key, (xs, unit))| {
            let stats = confidence(&xs, level)?;
            Some((
                key,
                Aggregated {
                    stats,
                    unit: unit.to_string(),
                },
            ))
        })
        .collect()
}

/// What describes one configuration's trials beside its numbers.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ConfidenceMetadata {
    /// Always `confidence`.
    pub aggregation_type: &'static str,
    pub num_profile_runs: usize,
    pub num_successful_runs: usize,
    pub failed_runs: Vec<FailedRun>,
    pub confidence_level: f64,
    pub run_labels: Vec<String>,
    pub cooldown_seconds: f64,
    /// Set when only one run succeeded: every interval is collapsed to the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub single_run: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variation_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variation_values: Option<BTreeMap<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// One configuration's trials, aggregated.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfidenceAggregate {
    pub metadata: ConfidenceMetadata,
    pub metrics: BTreeMap<String, Aggregated>,
}

/// Where a sweep configuration sits in its aggregate file (sweeps only).
#[derive(Debug, Clone, PartialEq)]
pub struct VariationInfo {
    pub label: String,
    pub values: BTreeMap<String, Value>,
    pub sweep_mode: String,
    pub model: String,
}

impl ConfidenceAggregate {
    /// `None` when no run succeeded (there is nothing to aggregate).
    pub fn build(
        runs: &[TrialResult],
        level: f64,
        cooldown_seconds: f64,
        variation: Option<VariationInfo>,
    ) -> Option<Self> {
        let ok: Vec<(&str, &MetricsMap)> = runs
            .iter()
            .filter_map(|r| r.outcome.as_ref().ok().map(|m| (r.label.as_str(), m)))
            .collect();
        if ok.is_empty() {
            return None;
        }
        let maps: Vec<&MetricsMap> = ok.iter().map(|(_, m)| *m).collect();
        let (label, values, mode, model) = match variation {
            Some(v) => (
                Some(v.label),
                Some(v.values),
                Some(v.sweep_mode),
                Some(v.model),
            ),
            None => (None, None, None, None),
        };
        Some(Self {
            metadata: ConfidenceMetadata {
                aggregation_type: "confidence",
                num_profile_runs: runs.len(),
                num_successful_runs: ok.len(),
                failed_runs: failed(runs),
                confidence_level: level,
                run_labels: ok.iter().map(|(l, _)| l.to_string()).collect(),
                cooldown_seconds,
                single_run: (ok.len() == 1).then_some(true),
                variation_label: label,
                variation_values: values,
                sweep_mode: mode,
                model,
            },
            metrics: aggregate_metrics(&maps, level),
        })
    }

    /// Writes the JSON and CSV files into `dir` (created); each file is tried on its own.
    pub fn write(&self, dir: &Path) -> Vec<ExportError> {
        write_pair(
            dir,
            (AGGREGATE_JSON_FILE, &self.render_json()),
            (AGGREGATE_CSV_FILE, &self.render_csv()),
        )
    }

    pub fn render_json(&self) -> String {
        let doc = AggregateDoc {
            schema_version: "1.0",
            aiperf_version: env!("CARGO_PKG_VERSION"),
            metadata: &self.metadata,
            metrics: self
                .metrics
                .iter()
                .map(|(k, a)| (k.clone(), ConfidenceJson::new(a)))
                .collect(),
        };
        pretty(&doc)
    }

    pub fn render_csv(&self) -> String {
        let mut out =
            String::from("metric,mean,std,min,max,cv,se,ci_low,ci_high,t_critical,unit\n");
        for (key, a) in &self.metrics {
            let s = &a.stats;
            let t = s.t_critical.unwrap_or(f64::NAN);
            let row = [
                csv_field(key),
                num(s.mean, 2),
                num(s.std, 2),
                num(s.min, 2),
                num(s.max, 2),
                num(s.cv, 4),
                num(s.se, 4),
                num(s.ci_low, 2),
                num(s.ci_high, 2),
                num(t, 4),
                csv_field(&a.unit),
            ];
            out.push_str(&row.join(","));
            out.push('\n');
        }
        let m = &self.metadata;
        let labels: Vec<String> = m.run_labels.iter().map(|l| format!("'{l}'")).collect();
        let _ = write!(
            out,
            "\nAggregation Type,confidence\nTotal Runs,{}\nSuccessful Runs,{}\n\
             Confidence Level,{}\nRun Labels,{}\nCooldown Seconds,{}\n",
            m.num_profile_runs,
            m.num_successful_runs,
            aiperf_config::resolve::python_float(m.confidence_level),
            csv_field(&format!("[{}]", labels.join(", "))),
            aiperf_config::resolve::python_float(m.cooldown_seconds),
        );
        for f in &m.failed_runs {
            let _ = writeln!(
                out,
                "Failed Run,{},{}",
                csv_field(&f.label),
                csv_field(&f.error)
            );
        }
        out
    }

    /// AIPerf's "AGGREGATE STATISTICS SUMMARY" block for the key metrics.
    pub fn console(&self) -> String {
        let m = &self.metadata;
        let rule = "=".repeat(80);
        let mut out = format!(
            "{rule}\nAGGREGATE STATISTICS SUMMARY\n{rule}\nAggregation Type: confidence\n\
             Total Runs: {}\nSuccessful Runs: {}\nConfidence Level: {}%\n",
            m.num_profile_runs,
            m.num_successful_runs,
            percent(m.confidence_level)
        );
        if let Some(label) = &m.variation_label {
            let _ = writeln!(out, "Configuration: {label}");
        }
        if !m.failed_runs.is_empty() {
            out.push_str("Failed Runs:\n");
            for f in &m.failed_runs {
                let _ = writeln!(out, "  - {}: {}", f.label, f.error);
            }
        }
        let _ = write!(out, "\nKey Metrics:\n{}\n", "-".repeat(80));
        for (tag, title) in KEY_METRICS {
            let Some((key, a)) = ["avg", "p99", "max", "p50"].iter().find_map(|stat| {
                let key = format!("{tag}_{stat}");
                self.metrics.get(&key).map(|a| (key.clone(), a))
            }) else {
                continue;
            };
            let stat = key.rsplit('_').next().unwrap_or("avg");
            let s = &a.stats;
            let u = &a.unit;
            let _ = write!(
                out,
                "\n{title} ({}):\n  Mean:    {:>12.4} {u}\n  Std Dev: {:>12.4} {u}\n  \
                 Min:     {:>12.4} {u}\n  Max:     {:>12.4} {u}\n  CV:      {:>12}\n  \
                 {}% CI: [{:.4}, {:.4}] {u}\n",
                stat_title(stat),
                s.mean,
                s.std,
                s.min,
                s.max,
                if s.cv.is_finite() {
                    format!("{:.2}%", s.cv * 100.0)
                } else {
                    "inf".to_string()
                },
                percent(m.confidence_level),
                s.ci_low,
                s.ci_high,
            );
        }
        out.push_str(&rule);
        out.push('\n');
        out
    }
}

/// The metrics the console block shows, with their titles.
const KEY_METRICS: [(&str, &str); 4] = [
    ("request_throughput", "Request Throughput"),
    ("time_to_first_token", "Time to First Token"),
    ("inter_token_latency", "Inter Token Latency"),
    ("request_latency", "Request Latency"),
];

fn stat_title(stat: &str) -> String {
    match stat {
        "avg" => "Avg".into(),
        s => s.to_uppercase(),
    }
}

/// A confidence level as a percentage: `95` for 0.95, `99.9` for 0.999.
pub fn percent(level: f64) -> String {
    let p = level * 100.0;
    let rounded = (p * 1e6).round() / 1e6;
    format!("{rounded}")
}

/// `profile_export_aiperf_aggregate.json`, as written (its JSON Schema is published).
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AggregateDoc<'a> {
    pub schema_version: &'static str,
    pub aiperf_version: &'static str,
    pub metadata: &'a ConfidenceMetadata,
    /// Keyed `{tag}_{stat}` (`request_throughput_avg`), sorted.
    pub metrics: BTreeMap<String, ConfidenceJson<'a>>,
}

/// One aggregate statistic in JSON; not-finite values become `null`.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ConfidenceJson<'a> {
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub cv: Option<f64>,
    pub se: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// `null` with a single successful run.
    pub t_critical: Option<f64>,
    pub unit: &'a str,
}

impl<'a> ConfidenceJson<'a> {
    fn new(a: &'a Aggregated) -> Self {
        let s = &a.stats;
        Self {
            mean: finite(s.mean),
            std: finite(s.std),
            min: finite(s.min),
            max: finite(s.max),
            cv: finite(s.cv),
            se: finite(s.se),
            ci_low: finite(s.ci_low),
            ci_high: finite(s.ci_high),
            t_critical: s.t_critical.and_then(finite),
            unit: &a.unit,
        }
    }
}

/// One configuration of a sweep: its parameter values and its trials' aggregate (`None` when
/// every trial failed).
#[derive(Debug, Clone)]
pub struct SweepPoint {
    /// Parameter name (last path segment) to value, in sweep order.
    pub parameters: IndexMap<String, Value>,
    pub aggregate: Option<ConfidenceAggregate>,
}

/// A sweep's swept parameter: name and values.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SweepParameter {
    pub name: String,
    pub values: Vec<Value>,
}

/// The sweep-wide aggregate.
#[derive(Debug, Clone)]
pub struct SweepAggregate {
    pub parameters: Vec<SweepParameter>,
    pub points: Vec<SweepPoint>,
    pub sweep_mode: String,
    pub confidence_level: f64,
    pub trials_per_value: u32,
    pub total_runs: usize,
    pub successful_runs: usize,
    pub failed_runs: Vec<FailedRun>,
}

/// Keys compared to pick the best configurations.
const THROUGHPUT_KEY: &str = "request_throughput_avg";
const LATENCY_KEYS: [&str; 2] = ["time_to_first_token_p99", "request_latency_p99"];

/// `profile_export_aiperf_sweep.json`, as written (its JSON Schema is published).
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SweepDoc<'a> {
    /// Always `sweep`.
    pub aggregation_type: &'static str,
    /// Runs made (every trial of every configuration).
    pub num_profile_runs: usize,
    pub num_successful_runs: usize,
    pub failed_runs: &'a [FailedRun],
    pub metadata: SweepMetadata<'a>,
    /// One entry per configuration with at least one successful run.
    pub per_combination_metrics: Vec<CombinationJson<'a>>,
    /// `best_throughput`, `best_latency_p99`.
    pub best_configurations: BTreeMap<String, Best>,
    /// Parameters of the configurations on the throughput/latency front.
    pub pareto_optimal: Vec<&'a IndexMap<String, Value>>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SweepMetadata<'a> {
    pub sweep_parameters: &'a [SweepParameter],
    pub num_combinations: usize,
    pub sweep_mode: &'a str,
    pub confidence_level: f64,
    pub num_trials_per_value: u32,
    pub aggregation_type: &'static str,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CombinationJson<'a> {
    pub parameters: &'a IndexMap<String, Value>,
    pub metrics: BTreeMap<String, SweepStat<'a>>,
}

/// A configuration's statistic across its trials; not-finite values become `null`.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SweepStat<'a> {
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub cv: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub unit: &'a str,
}

/// A configuration singled out, with the value that made it stand out.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Best {
    pub parameters: IndexMap<String, Value>,
    pub metric: f64,
    pub unit: String,
}

impl SweepAggregate {
    fn mean(&self, point: &SweepPoint, key: &str) -> Option<(f64, String)> {
        let a = point.aggregate.as_ref()?.metrics.get(key)?;
        Some((a.stats.mean, a.unit.clone()))
    }

    /// The latency key every point can be compared on: TTFT p99 when points have it (token
    /// endpoints), otherwise request latency p99.
    fn latency_key(&self) -> &'static str {
        LATENCY_KEYS
            .into_iter()
            .find(|k| self.points.iter().any(|p| self.mean(p, k).is_some()))
            .unwrap_or(LATENCY_KEYS[1])
    }

    fn best(&self, key: &str, pick: fn(&[Option<f64>]) -> Option<usize>) -> Option<Best> {
        let means: Vec<Option<(f64, String)>> =
            self.points.iter().map(|p| self.mean(p, key)).collect();
        let values: Vec<Option<f64>> = means.iter().map(|m| m.as_ref().map(|m| m.0)).collect();
        let i = pick(&values)?;
        let (metric, unit) = means[i].clone()?;
        Some(Best {
            parameters: self.points[i].parameters.clone(),
            metric,
            unit,
        })
    }

    pub fn best_throughput(&self) -> Option<Best> {
        self.best(THROUGHPUT_KEY, argmax)
    }

    pub fn best_latency(&self) -> Option<Best> {
        self.best(self.latency_key(), argmin)
    }

    /// Points no other beats on throughput without losing on latency.
    pub fn pareto(&self) -> Vec<&SweepPoint> {
        let lat = self.latency_key();
        let ok: Vec<(&SweepPoint, Point)> = self
            .points
            .iter()
            .filter_map(|p| {
                Some((
                    p,
                    Point {
                        throughput: self.mean(p, THROUGHPUT_KEY)?.0,
                        latency: self.mean(p, lat)?.0,
                    },
                ))
            })
            .collect();
        let pts: Vec<Point> = ok.iter().map(|(_, pt)| *pt).collect();
        pareto_front(&pts).into_iter().map(|i| ok[i].0).collect()
    }

    /// AIPerf's `degradation_knee.json` for a one-parameter sweep: the first point whose
    /// `{tag}_{stat}` mean exceeds the first point's by more than `threshold` (a fraction).
    pub fn degradation_knee(&self, tag: &str, stat: &str, threshold: f64) -> Result<Value, String> {
        let key = format!("{tag}_{stat}");
        let Some(param) = self.parameters.first() else {
            return Err("the sweep has no parameter".into());
        };
        let leaf = param.name.clone();
        let points: Vec<(Value, f64)> = self
            .points
            .iter()
            .filter_map(|p| Some((p.parameters.get(&leaf)?.clone(), self.mean(p, &key)?.0)))
            .collect();
        let Some((base_x, base_y)) = points.first().cloned() else {
            return Err(format!("no point of the sweep has {key}"));
        };
        if !(base_y.is_finite() && base_y > 0.0) {
            return Err(format!(
                "baseline {stat} for '{tag}' must be positive and finite (got {base_y})"
            ));
        }
        let cutoff = base_y * (1.0 + threshold);
        let knee = points[1..].iter().find(|(_, y)| *y > cutoff);
        let mut doc = serde_json::Map::new();
        doc.insert(format!("baseline_{leaf}"), base_x);
        doc.insert(format!("baseline_{stat}"), Value::from(base_y));
        doc.insert(
            format!("knee_{leaf}"),
            knee.map_or(Value::Null, |k| k.0.clone()),
        );
        doc.insert(
            format!("knee_{stat}"),
            knee.map_or(Value::Null, |k| Value::from(k.1)),
        );
        doc.insert("threshold_pct".into(), Value::from(threshold));
        doc.insert("swept_metric".into(), Value::from(tag));
        doc.insert("stat".into(), Value::from(stat));
        doc.insert(
            "swept_param".into(),
            Value::from(format!("phases.profiling.{leaf}")),
        );
        doc.insert(
            "all_points".into(),
            Value::Array(
                points
                    .iter()
                    .map(|(x, y)| {
                        let mut m = serde_json::Map::new();
                        m.insert(leaf.clone(), x.clone());
                        m.insert(stat.to_string(), Value::from(*y));
                        Value::Object(m)
                    })
                    .collect(),
            ),
        );
        Ok(Value::Object(doc))
    }

    /// `(x, mean of key)` of every point with both, `x` being the parameter `name`.
    fn xy(&self, name: &str, key: &str) -> Vec<(f64, f64)> {
        self.points
            .iter()
            .filter_map(|p| Some((p.parameters.get(name)?.as_f64()?, self.mean(p, key)?.0)))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect()
    }

    /// AIPerf's `prefill_curve.json` (`prefill-ttft-curve`): TTFT avg against ISL, fitted
    /// linearly, or quadratically when that explains more and the line's r² is under 0.85.
    pub fn prefill_curve(&self) -> Result<Value, String> {
        const FLOOR: f64 = 0.85;
        let name = self
            .parameters
            .first()
            .map(|p| p.name.clone())
            .ok_or("the sweep has no parameter")?;
        let pts = self.xy(&name, "time_to_first_token_avg");
        if pts.len() < 2 {
            return Err(format!(
                "need >= 2 sweep points with time_to_first_token to fit a curve (got {})",
                pts.len()
            ));
        }
        let (x, y): (Vec<f64>, Vec<f64>) = pts.iter().copied().unzip();
        let (mut form, (mut coeffs, mut r2)) = (
            "linear",
            aiperf_metrics::sweep::polyfit(&x, &y, 1).ok_or("the ISLs are all equal")?,
        );
        if r2 < FLOOR && x.len() >= 3 {
            if let Some((q, qr2)) = aiperf_metrics::sweep::polyfit(&x, &y, 2) {
                if qr2 > r2 {
                    (form, coeffs, r2) = ("quadratic", q, qr2);
                }
            }
        }
        Ok(serde_json::json!({
            "fit_form": form,
            "coefficients": coeffs,
            "r_squared": r2,
            "below_floor": r2 < FLOOR,
            "r_squared_floor": FLOOR,
            "raw_points": pts.iter().map(|(i, t)| serde_json::json!({"isl": i, "ttft_ms": t})).collect::<Vec<_>>(),
            "swept_metric": "time_to_first_token",
            "stat": "avg",
            "swept_param": "datasets.main.prompts.isl",
        }))
    }

    /// AIPerf's `decode_itl_surface.json` (`decode-itl-curve`): ITL avg on the concurrency x OSL
    /// grid as measured, `null` where a cell has no value (nothing interpolated).
    pub fn itl_surface(&self) -> Result<Value, String> {
        let (c_name, o_name) = ("concurrency", "mean");
        let triples: Vec<(f64, f64, f64)> = self
            .points
            .iter()
            .filter_map(|p| {
                let c = p.parameters.get(c_name)?.as_f64()?;
                let o = p.parameters.get(o_name)?.as_f64()?;
                let v = self.mean(p, "inter_token_latency_avg")?.0;
                (v.is_finite() && v >= 0.0).then_some((c, o, v))
            })
            .collect();
        if triples.len() < 2 {
            return Err(format!(
                "fewer than 2 cells with inter_token_latency (got {}); was --streaming on and did the runs succeed?",
                triples.len()
            ));
        }
        let axis = |f: fn(&(f64, f64, f64)) -> f64| {
            let mut v: Vec<f64> = triples.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            v
        };
        let (cs, os) = (axis(|t| t.0), axis(|t| t.1));
        let grid: Vec<Vec<Option<f64>>> = cs
            .iter()
            .map(|c| {
                os.iter()
                    .map(|o| triples.iter().find(|t| t.0 == *c && t.1 == *o).map(|t| t.2))
                    .collect()
            })
            .collect();
        let int = |v: f64| Value::from(v as i64);
        Ok(serde_json::json!({
            "swept_metric": "inter_token_latency",
            "stat": "avg",
            "swept_params": ["phases.profiling.concurrency", "datasets.main.prompts.osl"],
            "raw_points": triples.iter().map(|(c, o, v)| serde_json::json!({"concurrency": int(*c), "osl": int(*o), "itl_ms": v})).collect::<Vec<_>>(),
            "surface": {
                "concurrency_axis": cs.iter().map(|c| int(*c)).collect::<Vec<_>>(),
                "osl_axis": os.iter().map(|o| int(*o)).collect::<Vec<_>>(),
                "itl_grid": grid,
            },
            "surface_fit_failed": false,
        }))
    }

    /// Every `{tag}_{stat}` some point has.
    fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self
            .points
            .iter()
            .filter_map(|p| p.aggregate.as_ref())
            .flat_map(|a| a.metrics.keys().map(String::as_str))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    pub fn write(&self, dir: &Path) -> Vec<ExportError> {
        write_pair(
            dir,
            (SWEEP_JSON_FILE, &self.render_json()),
            (SWEEP_CSV_FILE, &self.render_csv()),
        )
    }

    pub fn render_json(&self) -> String {
        let mut best = BTreeMap::new();
        if let Some(b) = self.best_throughput() {
            best.insert("best_throughput".to_string(), b);
        }
        if let Some(b) = self.best_latency() {
            best.insert("best_latency_p99".to_string(), b);
        }
        let doc = SweepDoc {
            aggregation_type: "sweep",
            num_profile_runs: self.total_runs,
            num_successful_runs: self.successful_runs,
            failed_runs: &self.failed_runs,
            metadata: SweepMetadata {
                sweep_parameters: &self.parameters,
                num_combinations: self.points.len(),
                sweep_mode: &self.sweep_mode,
                confidence_level: self.confidence_level,
                num_trials_per_value: self.trials_per_value,
                aggregation_type: "sweep",
            },
            per_combination_metrics: self
                .points
                .iter()
                .filter_map(|p| {
                    let a = p.aggregate.as_ref()?;
                    Some(CombinationJson {
                        parameters: &p.parameters,
                        metrics: a
                            .metrics
                            .iter()
                            .map(|(k, a)| {
                                let s = &a.stats;
                                let stat = SweepStat {
                                    mean: finite(s.mean),
                                    std: finite(s.std),
                                    min: finite(s.min),
                                    max: finite(s.max),
                                    cv: finite(s.cv),
                                    ci_low: finite(s.ci_low),
                                    ci_high: finite(s.ci_high),
                                    unit: &a.unit,
                                };
                                (k.clone(), stat)
                            })
                            .collect(),
                    })
                })
                .collect(),
            best_configurations: best,
            pareto_optimal: self.pareto().into_iter().map(|p| &p.parameters).collect(),
        };
        pretty(&doc)
    }

    pub fn render_csv(&self) -> String {
        let names: Vec<&str> = self.parameters.iter().map(|p| p.name.as_str()).collect();
        let keys = self.keys();
        let mut header: Vec<String> = names.iter().map(|n| csv_field(n)).collect();
        for k in &keys {
            for s in ["mean", "std", "min", "max", "cv"] {
                header.push(format!("{k}_{s}"));
            }
        }
        let mut out = header.join(",");
        out.push('\n');
        for p in &self.points {
            let Some(a) = &p.aggregate else { continue };
            let mut row: Vec<String> = p.parameters.values().map(value_cell).collect();
            for k in &keys {
                match a.metrics.get(*k) {
                    Some(m) => {
                        let s = &m.stats;
                        row.extend([
                            num(s.mean, 2),
                            num(s.std, 2),
                            num(s.min, 2),
                            num(s.max, 2),
                            num(s.cv, 4),
                        ]);
                    }
                    None => row.extend(std::iter::repeat_n(String::new(), 5)),
                }
            }
            out.push_str(&row.join(","));
            out.push('\n');
        }
        let _ = write!(
            out,
            "\nBest Configurations\nConfiguration,{},Metric,Unit\n",
            names.join(",")
        );
        for (title, best) in [
            ("Best Throughput", self.best_throughput()),
            ("Best Latency P99", self.best_latency()),
        ] {
            if let Some(b) = best {
                let params: Vec<String> = b.parameters.values().map(value_cell).collect();
                let _ = writeln!(
                    out,
                    "{title},{},{},{}",
                    params.join(","),
                    num(b.metric, 2),
                    csv_field(&b.unit)
                );
            }
        }
        let _ = write!(out, "\nPareto Optimal Points\n{}\n", names.join(","));
        let front = self.pareto();
        if front.is_empty() {
            out.push_str("None\n");
        }
        for p in front {
            let params: Vec<String> = p.parameters.values().map(value_cell).collect();
            out.push_str(&params.join(","));
            out.push('\n');
        }
        let _ = write!(
            out,
            "\nMetadata\nField,Value\nAggregation Type,sweep\nSweep Parameters,{}\n\
             Number of Combinations,{}\nNumber of Profile Runs,{}\nNumber of Successful Runs,{}\n",
            csv_field(&names.join(", ")),
            self.points.len(),
            self.total_runs,
            self.successful_runs
        );
        out
    }

    /// AIPerf's closing lines for a sweep.
    pub fn console(&self) -> String {
        let mut out = String::from("\nBest Configurations:\n");
        let params = |m: &IndexMap<String, Value>| -> String {
            m.iter()
                .map(|(k, v)| format!("{k}={}", value_cell(v)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some(b) = self.best_throughput() {
            let _ = writeln!(
                out,
                "  Best throughput: {} ({:.2} {})",
                params(&b.parameters),
                b.metric,
                b.unit
            );
        }
        if let Some(b) = self.best_latency() {
            let _ = writeln!(
                out,
                "  Best latency (p99): {} ({:.2} {})",
                params(&b.parameters),
                b.metric,
                b.unit
            );
        }
        // Printed as Python prints a list of dicts, as AIPerf does.
        let front: Vec<String> = self
            .pareto()
            .iter()
            .map(|p| {
                let items: Vec<String> = p
                    .parameters
                    .iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => format!("'{k}': '{s}'"),
                        v => format!("'{k}': {}", value_cell(v)),
                    })
                    .collect();
                format!("{{{}}}", items.join(", "))
            })
            .collect();
        let _ = writeln!(out, "  Pareto optimal points: [{}]", front.join(", "));
        if !self.failed_runs.is_empty() {
            let _ = writeln!(
                out,
                "  Failed runs: {} of {}",
                self.failed_runs.len(),
                self.total_runs
            );
        }
        out
    }

    /// The live sweep table: one row per configuration so far, AIPerf's columns.
    pub fn table(&self) -> String {
        let cols = [
            ("output_token_throughput", "avg"),
            ("time_to_first_token", "p99"),
            ("inter_token_latency", "p99"),
            ("request_latency", "p95"),
        ];
        let mut header: Vec<String> = self.parameters.iter().map(|p| p.name.clone()).collect();
        header.extend(cols.iter().map(|(t, _)| t.to_string()));
        header.push("trials".into());
        let mut rows = vec![header];
        for p in &self.points {
            let mut row: Vec<String> = p.parameters.values().map(value_cell).collect();
            for (tag, stat) in cols {
                row.push(
                    self.mean(p, &format!("{tag}_{stat}"))
                        .map(|(v, _)| format!("{v:.2}"))
                        .unwrap_or_default(),
                );
            }
            row.push(
                p.aggregate
                    .as_ref()
                    .map_or(0, |a| a.metadata.num_successful_runs)
                    .to_string(),
            );
            rows.push(row);
        }
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for (i, row) in rows.iter().enumerate() {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:>w$}"))
                .collect();
            out.push_str(&cells.join("  "));
            out.push('\n');
            if i == 0 {
                let total = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
                out.push_str(&"━".repeat(total));
                out.push('\n');
            }
        }
        out
    }
}

fn failed(runs: &[TrialResult]) -> Vec<FailedRun> {
    runs.iter()
        .filter_map(|r| {
            r.outcome.as_ref().err().map(|e| FailedRun {
                label: r.label.clone(),
                error: e.clone(),
            })
        })
        .collect()
}

/// A number as AIPerf's CSV writes it: fixed decimals, empty for NaN, `inf`/`-inf`.
fn num(v: f64, decimals: usize) -> String {
    if v.is_nan() {
        String::new()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format!("{v:.decimals$}")
    }
}

fn value_cell(v: &Value) -> String {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() => aiperf_config::resolve::python_float(f),
            _ => n.to_string(),
        },
        Value::String(s) => csv_field(s),
        other => csv_field(&other.to_string()),
    }
}

/// Quotes a CSV field when it needs it (Python's `csv` minimal quoting).
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn pretty(doc: &impl Serialize) -> String {
    let mut s = serde_json::to_string_pretty(doc).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

fn write_pair(dir: &Path, json: (&str, &str), csv: (&str, &str)) -> Vec<ExportError> {
    if let Err(source) = std::fs::create_dir_all(dir) {
        return vec![ExportError::Io {
            path: dir.to_path_buf(),
            source,
        }];
    }
    [json, csv]
        .into_iter()
        .filter_map(|(name, text)| write_atomic(&dir.join(name), text).err())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{MetricStats, ScalarJson};

    /// A run whose only metric is `request_throughput` (scalar avg) and `time_to_first_token`
    /// p99 as a scalar stand-in.
    fn run(label: &str, throughput: f64, ttft: f64) -> TrialResult {
        let mut m = MetricsMap::new();
        m.insert(
            "request_throughput".into(),
            MetricStats::Scalar(ScalarJson {
                unit: "requests/sec",
                avg: throughput,
            }),
        );
        m.insert(
            "time_to_first_token".into(),
            MetricStats::Scalar(ScalarJson {
                unit: "ms",
                avg: ttft,
            }),
        );
        TrialResult {
            label: label.into(),
            outcome: Ok(m),
        }
    }

    fn failed_run(label: &str) -> TrialResult {
        TrialResult {
            label: label.into(),
            outcome: Err("all 4 requests failed".into()),
        }
    }

    #[test]
    fn three_trials_aggregate_as_worked_out_by_hand() {
        // C1 and C7 of docs/design/multi-run.md: 100, 110, 120 at 95 %.
        let runs = [
            run("run_0001", 100.0, 1.0),
            run("run_0002", 110.0, 1.0),
            run("run_0003", 120.0, 1.0),
        ];
        let a = ConfidenceAggregate::build(&runs, 0.95, 0.0, None).unwrap();
        let t = &a.metrics["request_throughput_avg"].stats;
        assert_eq!((t.mean, t.std), (110.0, 10.0));
        let csv = a.render_csv();
        assert!(
            csv.contains(
                "request_throughput_avg,110.00,10.00,100.00,120.00,0.0909,5.7735,85.16,134.84,4.3027,requests/sec\n"
            ),
            "{csv}"
        );
        assert!(csv.ends_with(
            "\nAggregation Type,confidence\nTotal Runs,3\nSuccessful Runs,3\nConfidence Level,0.95\n\
             Run Labels,\"['run_0001', 'run_0002', 'run_0003']\"\nCooldown Seconds,0.0\n"
        ));
        let v: Value = serde_json::from_str(&a.render_json()).unwrap();
        assert_eq!(v["metadata"]["num_successful_runs"], 3);
        assert_eq!(v["metadata"]["aggregation_type"], "confidence");
        let j = &v["metrics"]["request_throughput_avg"];
        assert!((j["ci_low"].as_f64().unwrap() - 85.1586228824967).abs() < 1e-9);
        assert!((j["t_critical"].as_f64().unwrap() - 4.302652729749462).abs() < 1e-9);
        // Identical runs: cv 0, and time_to_first_token's interval collapses.
        assert_eq!(v["metrics"]["time_to_first_token_avg"]["cv"], 0.0);
        assert!(a.console().contains("Request Throughput (Avg):"));
        assert!(a
            .console()
            .contains("95% CI: [85.1586, 134.8414] requests/sec"));
    }

    #[test]
    fn failed_trials_are_listed_and_one_success_collapses() {
        let runs = [failed_run("run_0001"), run("run_0002", 42.0, 3.0)];
        let a = ConfidenceAggregate::build(&runs, 0.95, 1.5, None).unwrap();
        let v: Value = serde_json::from_str(&a.render_json()).unwrap();
        assert_eq!(v["metadata"]["single_run"], true);
        assert_eq!(v["metadata"]["failed_runs"][0]["label"], "run_0001");
        assert_eq!(v["metadata"]["run_labels"], serde_json::json!(["run_0002"]));
        let t = &v["metrics"]["request_throughput_avg"];
        assert_eq!(
            (t["ci_low"].as_f64(), t["std"].as_f64()),
            (Some(42.0), Some(0.0))
        );
        assert!(t["t_critical"].is_null());
        assert!(a.render_csv().contains(",0.0000,42.00,42.00,,requests/sec"));
        assert!(ConfidenceAggregate::build(&[failed_run("run_0001")], 0.95, 0.0, None).is_none());
    }

    #[test]
    fn zero_mean_gives_infinite_cv_as_null_and_inf() {
        let runs = [run("a", 0.0, 1.0), run("b", 0.0, 1.0)];
        let a = ConfidenceAggregate::build(&runs, 0.95, 0.0, None).unwrap();
        let v: Value = serde_json::from_str(&a.render_json()).unwrap();
        assert!(v["metrics"]["request_throughput_avg"]["cv"].is_null());
        assert!(a
            .render_csv()
            .contains("request_throughput_avg,0.00,0.00,0.00,0.00,inf,"));
    }

    fn sweep(points: Vec<(u64, Vec<TrialResult>)>) -> SweepAggregate {
        let total = points.iter().map(|(_, r)| r.len()).sum();
        let ok = points
            .iter()
            .flat_map(|(_, r)| r)
            .filter(|r| r.outcome.is_ok())
            .count();
        let failed_runs = points.iter().flat_map(|(_, r)| failed(r)).collect();
        SweepAggregate {
            parameters: vec![SweepParameter {
                name: "concurrency".into(),
                values: points.iter().map(|(c, _)| Value::from(*c)).collect(),
            }],
            points: points
                .into_iter()
                .map(|(c, runs)| SweepPoint {
                    parameters: IndexMap::from([("concurrency".to_string(), Value::from(c))]),
                    aggregate: ConfidenceAggregate::build(&runs, 0.95, 0.0, None),
                })
                .collect(),
            sweep_mode: "repeated".into(),
            confidence_level: 0.95,
            trials_per_value: 1,
            total_runs: total,
            successful_runs: ok,
            failed_runs,
        }
    }

    #[test]
    fn the_sweep_picks_best_points_and_the_front() {
        // c=1: 10 req/s at 5 ms; c=2: 18 at 6; c=4: 18 at 9 (dominated by c=2); c=8 failed.
        let s = sweep(vec![
            (1, vec![run("run_0001", 10.0, 5.0)]),
            (2, vec![run("run_0001", 18.0, 6.0)]),
            (4, vec![run("run_0001", 18.0, 9.0)]),
            (8, vec![failed_run("run_0001")]),
        ]);
        // The stand-in TTFT has no p99 and no point has request_latency_p99: no latency
        // best and no front, but throughput still picks c=2 (the first of the tie).
        assert!(s.best_latency().is_none() && s.pareto().is_empty());
        assert_eq!(s.best_throughput().unwrap().parameters["concurrency"], 2);
        let v: Value = serde_json::from_str(&s.render_json()).unwrap();
        assert_eq!(v["num_profile_runs"], 4);
        assert_eq!(v["num_successful_runs"], 3);
        assert_eq!(v["metadata"]["num_combinations"], 4);
        assert_eq!(v["per_combination_metrics"].as_array().unwrap().len(), 3);
        assert_eq!(v["best_configurations"]["best_throughput"]["metric"], 18.0);
        let csv = s.render_csv();
        assert!(
            csv.starts_with("concurrency,request_throughput_avg_mean,"),
            "{csv}"
        );
        assert!(
            csv.contains("\nBest Throughput,2,18.00,requests/sec\n"),
            "{csv}"
        );
        assert!(csv.contains("Number of Combinations,4\nNumber of Profile Runs,4\n"));
        assert!(s
            .console()
            .contains("Best throughput: concurrency=2 (18.00 requests/sec)"));
        assert!(s.console().contains("Failed runs: 1 of 4"));
        let table = s.table();
        assert!(table.lines().next().unwrap().contains("concurrency"));
        assert_eq!(table.lines().count(), 6);
    }

    #[test]
    fn the_knee_is_the_first_point_past_the_threshold() {
        // Throughput stands in for the watched metric: 10, 11.9, 12.5, 30 against a 20 %
        // threshold: the cutoff is 12.0, so c=4 (12.5) is the knee.
        let s = sweep(vec![
            (1, vec![run("r", 10.0, 1.0)]),
            (2, vec![run("r", 11.9, 1.0)]),
            (4, vec![run("r", 12.5, 1.0)]),
            (8, vec![run("r", 30.0, 1.0)]),
        ]);
        let k = s
            .degradation_knee("request_throughput", "avg", 0.2)
            .unwrap();
        assert_eq!(k["baseline_concurrency"], 1);
        assert_eq!(k["knee_concurrency"], 4);
        assert_eq!(k["knee_avg"], 12.5);
        assert_eq!(k["all_points"].as_array().unwrap().len(), 4);
        let none = s
            .degradation_knee("request_throughput", "avg", 5.0)
            .unwrap();
        assert!(none["knee_concurrency"].is_null());
        assert!(s.degradation_knee("nope", "avg", 0.2).is_err());
    }

    #[test]
    fn the_front_uses_ttft_p99_when_points_have_it() {
        let with_p99 = |label: &str, thr: f64, p99: f64| {
            let mut r = run(label, thr, 0.0);
            if let Ok(m) = &mut r.outcome {
                m.insert(
                    "time_to_first_token".into(),
                    MetricStats::Distribution(crate::json::DistributionStats {
                        unit: "ms",
                        avg: None,
                        p1: None,
                        p5: None,
                        p10: None,
                        p25: None,
                        p50: None,
                        p75: None,
                        p90: None,
                        p95: None,
                        p99: Some(p99),
                        min: None,
                        max: None,
                        std: None,
                        count: 1,
                        sum: None,
                    }),
                );
            }
            r
        };
        let s = sweep(vec![
            (1, vec![with_p99("r", 10.0, 5.0)]),
            (2, vec![with_p99("r", 18.0, 6.0)]),
            (4, vec![with_p99("r", 18.0, 9.0)]),
        ]);
        let front: Vec<&Value> = s
            .pareto()
            .iter()
            .map(|p| &p.parameters["concurrency"])
            .collect();
        assert_eq!(front, [&Value::from(1), &Value::from(2)]);
        assert_eq!(s.best_latency().unwrap().parameters["concurrency"], 1);
        assert!(s
            .render_csv()
            .contains("\nPareto Optimal Points\nconcurrency\n1\n2\n"));
    }
}
