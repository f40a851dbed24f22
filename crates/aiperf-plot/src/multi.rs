//! Charts comparing several runs or sweep configurations, one point each (with confidence
//! intervals when a configuration had repeated trials): latency against throughput, the
//! Pareto front of throughput against interactivity, and its knee (docs/design/plots.md §2.4).

use crate::calc::{self, Better};
use crate::chart::{Axis, Chart, Mark, Role, Series, STATS};
use crate::summary::{Estimate, Results};

/// One point of a comparison: a run, or a configuration's aggregate.
#[derive(Debug, Clone)]
pub struct Point {
    /// The label written beside the point ("concurrency=16").
    pub name: String,
    /// The series it belongs to (a sweep, a model, a baseline/treatment group).
    pub group: String,
    pub results: Results,
}

/// A quantity on one axis of a comparison chart.
#[derive(Clone, Copy)]
struct Quantity {
    tag: &'static str,
    label: &'static str,
    better: Better,
    /// Divided by the number of GPUs when every point has GPU telemetry.
    per_gpu: bool,
}

const TTFT: Quantity = Quantity {
    tag: "time_to_first_token",
    label: "TTFT (ms)",
    better: Better::Lower,
    per_gpu: false,
};
const LATENCY: Quantity = Quantity {
    tag: "request_latency",
    label: "request latency (ms)",
    better: Better::Lower,
    per_gpu: false,
};
const PER_USER: Quantity = Quantity {
    tag: "output_token_throughput_per_user",
    label: "output tokens/s per user",
    better: Better::Higher,
    per_gpu: false,
};
const TOKENS: Quantity = Quantity {
    tag: "output_token_throughput",
    label: "output tokens/s",
    better: Better::Higher,
    per_gpu: false,
};
const TOKENS_PER_GPU: Quantity = Quantity {
    tag: "output_token_throughput",
    label: "output tokens/s per GPU",
    better: Better::Higher,
    per_gpu: true,
};
const REQUESTS: Quantity = Quantity {
    tag: "request_throughput",
    label: "requests/s",
    better: Better::Higher,
    per_gpu: false,
};

/// All comparison charts.
pub fn charts(points: &[Point]) -> Vec<Chart> {
    let has = |tag: &str| {
        points
            .iter()
            .all(|p| p.results.estimate(tag, "avg").is_some())
    };
    // Endpoints without output tokens (embeddings, rankings) compare on requests/s.
    let throughput = if has(TOKENS.tag) { TOKENS } else { REQUESTS };
    let per_gpu =
        throughput.tag == TOKENS.tag && points.iter().all(|p| p.results.gpu_count().is_some());
    let capacity = if per_gpu { TOKENS_PER_GPU } else { throughput };
    let mut out = vec![
        versus(
            points,
            "ttft_vs_throughput",
            "TTFT vs throughput",
            throughput,
            TTFT,
            false,
        ),
        versus(
            points,
            "latency_vs_throughput",
            "Request latency vs throughput",
            throughput,
            LATENCY,
            false,
        ),
        versus(
            points,
            "pareto_throughput_vs_latency",
            "Throughput vs latency: Pareto front",
            LATENCY,
            capacity,
            true,
        ),
        versus(
            points,
            "interactivity_vs_throughput",
            "Interactivity vs throughput: Pareto front",
            capacity,
            PER_USER,
            true,
        ),
    ];
    out.retain(|c| c.has_data() || c.note.is_some());
    out
}

/// The value of `q` for a point at `stat` (per GPU when asked), with its interval.
fn value(p: &Point, q: Quantity, stat: &str) -> Option<Estimate> {
    let mut e = p.results.estimate(q.tag, stat)?;
    if q.per_gpu {
        let gpus = p.results.gpu_count()? as f64;
        e.value /= gpus;
        e.interval = e.interval.map(|(l, h)| (l / gpus, h / gpus));
    }
    e.value.is_finite().then_some(e)
}

/// A chart of `y` against `x`, one line per group (points in x order, labelled), error bars
/// where trials give intervals, and with `front` the Pareto front and its knee. Latency axes
/// get one series per statistic for the report's switch; throughput axes always use avg.
fn versus(points: &[Point], id: &str, title: &str, x: Quantity, y: Quantity, front: bool) -> Chart {
    let mut chart = Chart::new(id, title, Axis::linear(x.label), Axis::linear(y.label));
    let stats: &[&str] = if x.better == Better::Lower || y.better == Better::Lower {
        &STATS
    } else {
        &["avg"]
    };
    let mut missing = 0;
    for group in groups(points) {
        let members: Vec<&Point> = points.iter().filter(|p| p.group == group).collect();
        for stat in stats {
            // Only latency axes follow the statistic switch.
            let sx = if x.better == Better::Lower {
                stat
            } else {
                "avg"
            };
            let sy = if y.better == Better::Lower {
                stat
            } else {
                "avg"
            };
            let mut pts: Vec<(Estimate, Estimate, String)> = members
                .iter()
                .filter_map(|p| Some((value(p, x, sx)?, value(p, y, sy)?, p.name.clone())))
                .collect();
            if *stat == "avg" {
                missing += members.len() - pts.len();
            }
            if pts.is_empty() {
                continue;
            }
            pts.sort_by(|a, b| a.0.value.total_cmp(&b.0.value));
            let tag = |s: Series| if stats.len() > 1 { s.stat(stat) } else { s };
            let name = if group.is_empty() {
                stat.to_string()
            } else {
                format!("{group} {stat}")
            };
            let xs: Vec<f64> = pts.iter().map(|p| p.0.value).collect();
            let ys: Vec<f64> = pts.iter().map(|p| p.1.value).collect();
            chart
                .series
                .push(tag(Series::new(&name, Mark::Line, xs.clone(), ys.clone())
                    .labels(pts.iter().map(|p| p.2.clone()).collect())));
            if pts
                .iter()
                .any(|p| p.0.interval.is_some() || p.1.interval.is_some())
            {
                let lo = |e: &Estimate| e.interval.map_or(e.value, |i| i.0);
                let hi = |e: &Estimate| e.interval.map_or(e.value, |i| i.1);
                chart.series.push(tag(Series::new(
                    format!("{name} confidence interval"),
                    Mark::ErrorBars,
                    xs.clone(),
                    ys.clone(),
                )
                .x_range(
                    pts.iter().map(|p| lo(&p.0)).collect(),
                    pts.iter().map(|p| hi(&p.0)).collect(),
                )
                .y_range(
                    pts.iter().map(|p| lo(&p.1)).collect(),
                    pts.iter().map(|p| hi(&p.1)).collect(),
                )
                .role(Role::Reference)));
            }
            if front {
                let pairs: Vec<(f64, f64)> = xs.iter().copied().zip(ys.iter().copied()).collect();
                let on_front = calc::pareto_front(&pairs, x.better, y.better);
                let fpts: Vec<(f64, f64)> = on_front.iter().map(|&i| pairs[i]).collect();
                if fpts.len() >= 2 {
                    chart.series.push(tag(Series::new(
                        format!("{name} Pareto front"),
                        Mark::Line,
                        fpts.iter().map(|p| p.0).collect(),
                        fpts.iter().map(|p| p.1).collect(),
                    )
                    .role(Role::Front)));
                }
                if let Some(k) = calc::knee(&fpts) {
                    let label = pts[on_front[k]].2.clone();
                    chart.series.push(tag(Series::new(
                        format!("{name} knee"),
                        Mark::Marker,
                        vec![fpts[k].0],
                        vec![fpts[k].1],
                    )
                    .labels(vec![format!("knee: {label}")])
                    .role(Role::Knee)));
                }
            }
        }
    }
    if chart.series.is_empty() {
        return Chart::absent(
            id,
            title,
            format!("no run has both {} and {}", x.tag, y.tag),
        );
    }
    if missing > 0 {
        chart.caption = Some(format!(
            "{missing} run(s) without {} or {} left out",
            x.tag, y.tag
        ));
    }
    if x.per_gpu || y.per_gpu {
        let c = chart
            .caption
            .take()
            .map_or(String::new(), |c| format!("{c}; "));
        chart.caption = Some(format!(
            "{c}per GPU: divided by the GPUs GPU telemetry saw in each run"
        ));
    }
    chart
}

/// Group names in first-seen order.
fn groups(points: &[Point]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in points {
        if !out.contains(&p.group) {
            out.push(p.group.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn point(
        name: &str,
        tokens: f64,
        ttft: f64,
        latency: f64,
        per_user: f64,
        gpus: usize,
    ) -> Point {
        let gpu_map: serde_json::Map<String, serde_json::Value> =
            (0..gpus).map(|i| (format!("gpu_{i}"), json!({}))).collect();
        Point {
            name: name.into(),
            group: String::new(),
            results: Results::Run(json!({
                "output_token_throughput": {"unit": "tokens/sec", "avg": tokens},
                "time_to_first_token": {"unit": "ms", "avg": ttft, "p99": ttft * 2.0},
                "request_latency": {"unit": "ms", "avg": latency},
                "output_token_throughput_per_user": {"unit": "tokens/sec/user", "avg": per_user},
                "telemetry_data": {"endpoints": {"a": {"gpus": gpu_map}}}
            })),
        }
    }

    fn series<'a>(c: &'a Chart, name: &str) -> &'a Series {
        c.series.iter().find(|s| s.name == name).unwrap_or_else(|| {
            panic!(
                "no series {name} in {:?}",
                c.series.iter().map(|s| &s.name).collect::<Vec<_>>()
            )
        })
    }

    #[test]
    fn points_are_ordered_by_throughput_with_a_series_per_statistic() {
        let pts = [
            point("c=4", 200.0, 55.0, 1.0, 1.0, 0),
            point("c=1", 100.0, 50.0, 1.0, 1.0, 0),
        ];
        let c = versus(&pts, "t", "t", TOKENS, TTFT, false);
        let avg = series(&c, "avg");
        assert_eq!(
            (avg.x.clone(), avg.y.clone()),
            (vec![100.0, 200.0], vec![50.0, 55.0])
        );
        assert_eq!(avg.labels, Some(vec!["c=1".to_string(), "c=4".to_string()]));
        assert_eq!(series(&c, "p99").y, vec![100.0, 110.0]);
        // p50 is in neither summary: no series rather than an empty one.
        assert!(c.series.iter().all(|s| s.name != "p50"));
    }

    #[test]
    fn the_front_and_knee_follow_the_worked_example() {
        // §2.5 knee: front (100, 50), (200, 55), (300, 70), (350, 150) as (tokens/s, latency);
        // (150, 60) is dominated by (200, 55).
        let pts = [
            point("a", 100.0, 0.0, 50.0, 1.0, 0),
            point("b", 200.0, 0.0, 55.0, 1.0, 0),
            point("x", 150.0, 0.0, 60.0, 1.0, 0),
            point("c", 300.0, 0.0, 70.0, 1.0, 0),
            point("d", 350.0, 0.0, 150.0, 1.0, 0),
        ];
        let c = versus(&pts, "p", "p", LATENCY, TOKENS, true);
        let front = series(&c, "avg Pareto front");
        assert_eq!(front.x, vec![50.0, 55.0, 70.0, 150.0]);
        assert_eq!(front.y, vec![100.0, 200.0, 300.0, 350.0]);
        let knee = series(&c, "avg knee");
        assert_eq!((knee.x.clone(), knee.y.clone()), (vec![70.0], vec![300.0]));
        assert_eq!(knee.labels, Some(vec!["knee: c".to_string()]));
    }

    #[test]
    fn per_gpu_divides_by_the_gpus_telemetry_saw() {
        // §2.5: 1000 tokens/s over 4 GPUs -> 250.
        let pts = [
            point("a", 1000.0, 1.0, 1.0, 10.0, 4),
            point("b", 2000.0, 1.0, 1.0, 5.0, 4),
        ];
        let all = charts(&pts);
        let c = all
            .iter()
            .find(|c| c.id == "interactivity_vs_throughput")
            .expect("chart");
        assert_eq!(c.x.label, "output tokens/s per GPU");
        assert_eq!(series(c, "avg").x, vec![250.0, 500.0]);
        assert!(c.caption.as_deref().is_some_and(|t| t.contains("per GPU")));
    }

    #[test]
    fn trials_give_error_bars() {
        let agg = |mean: f64, lo: f64, hi: f64| Results::Aggregate {
            aggregate: json!({"metadata": {"num_successful_runs": 3}, "metrics": {
                "output_token_throughput_avg": {"mean": mean, "ci_low": lo, "ci_high": hi},
                "time_to_first_token_avg": {"mean": 5.0, "ci_low": 4.0, "ci_high": 6.0}}}),
            trials: vec![],
        };
        let pts = [
            Point {
                name: "c=1".into(),
                group: String::new(),
                results: agg(110.0, 85.16, 134.84),
            },
            Point {
                name: "c=2".into(),
                group: String::new(),
                results: agg(200.0, 190.0, 210.0),
            },
        ];
        let c = versus(&pts, "t", "t", TOKENS, TTFT, false);
        let bars = series(&c, "avg confidence interval");
        assert_eq!(bars.x_low, Some(vec![85.16, 190.0]));
        assert_eq!(bars.y_high, Some(vec![6.0, 6.0]));
    }
}
