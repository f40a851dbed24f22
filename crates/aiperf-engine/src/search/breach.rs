//! `max-concurrency-under-sla --search-style grid` (AIPerf's `sla_breach_knee`): over the
//! finished concurrency sweep, the highest concurrency meeting every SLA filter, the first one
//! breaking any, and each point's breaches, from the sweep aggregate's per-point means.

use aiperf_export::aggregate::SweepAggregate;
use serde_json::{json, Value};

use super::generic::Sla;

/// The swept parameter and its name in the sweep aggregate (its last path segment).
const SWEPT: (&str, &str) = ("phases.profiling.concurrency", "concurrency");

/// `sla_breach.json`: `max_passing_concurrency`, `first_failing_concurrency`,
/// `first_failing_breach`, `all_points`, `monotonicity_check`, `filters`.
pub fn sla_breach(sweep: &SweepAggregate, filters: &[Sla]) -> Value {
    let leaf = SWEPT.1;
    let mut points: Vec<(f64, Value, Vec<Value>)> = sweep
        .points
        .iter()
        .filter_map(|p| {
            let x = p.parameters.get(leaf)?.clone();
            let mean = |key: String| {
                p.aggregate
                    .as_ref()
                    .and_then(|a| a.metrics.get(&key))
                    .map(|m| m.stats.mean)
                    .filter(|v| v.is_finite())
            };
            let breaches: Vec<Value> = filters
                .iter()
                .filter_map(|f| {
                    let observed =
                        mean(format!("{}_{}", f.tag, f.stat))
                            .or((f.tag == "request_error_rate" && p.aggregate.is_some())
                                .then_some(0.0));
                    (!observed.is_some_and(|v| f.met(v))).then(|| f.breach(observed))
                })
                .collect();
            Some((x.as_f64()?, x, breaches))
        })
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let max_passing = points
        .iter()
        .rev()
        .find(|p| p.2.is_empty())
        .map(|p| p.1.clone());
    let first_failing = points.iter().find(|p| !p.2.is_empty());
    let mut seen_failing = false;
    let mut monotonic = true;
    for p in &points {
        if !p.2.is_empty() {
            seen_failing = true;
        } else if seen_failing {
            monotonic = false;
        }
    }
    json!({
        "swept_param": SWEPT.0,
        format!("max_passing_{leaf}"): max_passing,
        format!("first_failing_{leaf}"): first_failing.map(|p| p.1.clone()),
        "first_failing_breach": first_failing.map(|p| p.2[0].clone()),
        "all_points": points.iter().map(|p| json!({
            leaf: p.1, "feasible": p.2.is_empty(), "breaches": p.2,
        })).collect::<Vec<_>>(),
        "monotonicity_check": monotonic,
        "filters": filters.iter().map(Sla::json).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_export::aggregate::{ConfidenceAggregate, SweepPoint, TrialResult};
    use aiperf_export::json::{MetricStats, MetricsMap, ScalarJson};

    /// A sweep point at concurrency `c` whose one run measured TTFT `ttft` (or failed).
    fn point(c: u64, ttft: Option<f64>) -> SweepPoint {
        let outcome = match ttft {
            Some(t) => {
                let mut m = MetricsMap::new();
                m.insert(
                    "time_to_first_token".into(),
                    MetricStats::Scalar(ScalarJson { unit: "ms", avg: t }),
                );
                Ok(m)
            }
            None => Err("the run failed".to_string()),
        };
        let run = TrialResult {
            label: "run_0001".into(),
            outcome,
        };
        SweepPoint {
            parameters: [("concurrency".to_string(), json!(c))]
                .into_iter()
                .collect(),
            aggregate: ConfidenceAggregate::build(&[run], 0.95, 0.0, None),
        }
    }

    fn sweep(points: Vec<SweepPoint>) -> SweepAggregate {
        SweepAggregate {
            parameters: Vec::new(),
            points,
            sweep_mode: "repeated".into(),
            confidence_level: 0.95,
            trials_per_value: 1,
            total_runs: 0,
            successful_runs: 0,
            failed_runs: Vec::new(),
        }
    }

    #[test]
    fn the_boundary_and_every_breach() {
        let ttft = Sla {
            tag: "time_to_first_token".into(),
            stat: "avg".into(),
            op: "lt",
            threshold: 200.0,
        };
        // Listed out of order; 16 breaks (250 ms), 8 passes (150), 32 failed to run.
        let s = sweep(vec![
            point(16, Some(250.0)),
            point(1, Some(20.0)),
            point(32, None),
            point(8, Some(150.0)),
        ]);
        let doc = sla_breach(&s, std::slice::from_ref(&ttft));
        assert_eq!(doc["max_passing_concurrency"], 8);
        assert_eq!(doc["first_failing_concurrency"], 16);
        assert_eq!(
            doc["first_failing_breach"],
            json!({"metric_tag": "time_to_first_token", "stat": "avg", "op": "lt",
                   "threshold": 200.0, "observed": 250.0})
        );
        let xs: Vec<u64> = doc["all_points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["concurrency"].as_u64().unwrap())
            .collect();
        assert_eq!(xs, [1, 8, 16, 32]);
        assert_eq!(doc["all_points"][3]["breaches"][0]["observed"], Value::Null);
        assert_eq!(doc["monotonicity_check"], true);
        // A pass above a failure is flagged, not hidden.
        let s = sweep(vec![point(1, Some(250.0)), point(2, Some(20.0))]);
        let doc = sla_breach(&s, &[ttft]);
        assert_eq!(doc["monotonicity_check"], false);
        assert_eq!(doc["max_passing_concurrency"], 2);
        assert_eq!(doc["first_failing_concurrency"], 1);
    }
}
