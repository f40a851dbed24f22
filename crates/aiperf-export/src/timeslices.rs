//! `profile_export_aiperf_timeslices.{csv,json}` (`--slice-duration`): the same metrics per
//! window, windows assigned by request start.

use std::path::Path;

use serde::Serialize;

use crate::input_config::InputConfig;
use crate::json::{metrics_map, MetricStats, MetricsMap};
use crate::{write_atomic, ExportError, RunReport};

pub const CSV_FILE: &str = "profile_export_aiperf_timeslices.csv";
pub const JSON_FILE: &str = "profile_export_aiperf_timeslices.json";

/// `{"timeslices": [{"start_ns", "end_ns", <tag>: {stats}}...], "input_config": {...}}`.
#[derive(Serialize)]
struct TimeslicesJson<'a> {
    timeslices: Vec<SliceJson>,
    input_config: &'a InputConfig,
}

/// One window: its bounds (epoch ns) and the metrics of the requests that started in it.
#[derive(Serialize)]
struct SliceJson {
    start_ns: u64,
    end_ns: u64,
    #[serde(flatten)]
    metrics: MetricsMap,
}

pub fn render_json(r: &RunReport) -> String {
    let doc = TimeslicesJson {
        timeslices: r
            .summary
            .timeslices
            .iter()
            .map(|(start, end, s)| SliceJson {
                start_ns: *start,
                end_ns: *end,
                metrics: metrics_map(s),
            })
            .collect(),
        input_config: &r.input_config,
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// The statistics AIPerf's CSV writes, in its column order (`STAT_KEYS`).
const STAT_KEYS: [&str; 14] = [
    "avg", "min", "max", "sum", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "std",
];

/// Long format: `Timeslice,Start_NS,End_NS,Metric,Unit,Stat,Value`, one row per metric and stat,
/// as AIPerf writes it: metrics sorted by tag and named by their display name, statistics in
/// `STAT_KEYS` order.
pub fn render_csv(r: &RunReport) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "Timeslice",
        "Start_NS",
        "End_NS",
        "Metric",
        "Unit",
        "Stat",
        "Value",
    ]);
    for (i, (start, end, s)) in r.summary.timeslices.iter().enumerate() {
        let mut metrics: Vec<(String, MetricStats)> = metrics_map(s).into_iter().collect();
        metrics.sort_by(|a, b| a.0.cmp(&b.0));
        for (tag, stats) in metrics {
            let name = s.get(&tag).map_or(tag.clone(), |m| m.header.to_string());
            let fields = stats.fields();
            for stat in STAT_KEYS {
                let Some((_, v)) = fields.iter().find(|(k, _)| *k == stat) else {
                    continue;
                };
                let _ = w.write_record([
                    i.to_string(),
                    start.to_string(),
                    end.to_string(),
                    name.clone(),
                    stats.unit().to_string(),
                    stat.to_string(),
                    format!("{v:.2}"),
                ]);
            }
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Writes both files when the run has timeslices.
pub fn write(dir: &Path, r: &RunReport) -> Result<(), ExportError> {
    write_named(dir, JSON_FILE, CSV_FILE, r)
}

/// [`write`] under the given file names (`--profile-export-prefix`).
pub fn write_named(dir: &Path, json: &str, csv: &str, r: &RunReport) -> Result<(), ExportError> {
    if r.summary.timeslices.is_empty() {
        return Ok(());
    }
    write_atomic(&dir.join(json), &render_json(r))?;
    write_atomic(&dir.join(csv), &render_csv(r))
}
