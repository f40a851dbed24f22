//! `profile_export_aiperf_timeslices.{csv,json}` (`--slice-duration`): the same metrics per
//! window, windows assigned by request start.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::json::metrics_map;
use crate::{write_atomic, ExportError, RunReport};

pub const CSV_FILE: &str = "profile_export_aiperf_timeslices.csv";
pub const JSON_FILE: &str = "profile_export_aiperf_timeslices.json";

/// `{"timeslices": [{"start_ns", "end_ns", <tag>: {stats}}...], "input_config": {...}}`.
pub fn render_json(r: &RunReport) -> String {
    let slices: Vec<Value> = r
        .summary
        .timeslices
        .iter()
        .map(|(start, end, s)| {
            let mut m = Map::new();
            m.insert("start_ns".into(), json!(start));
            m.insert("end_ns".into(), json!(end));
            m.extend(metrics_map(s));
            Value::Object(m)
        })
        .collect();
    let mut s = serde_json::to_string_pretty(
        &json!({"timeslices": slices, "input_config": r.input_config}),
    )
    .unwrap_or_default();
    s.push('\n');
    s
}

/// Long format: `Timeslice,Start_NS,End_NS,Metric,Unit,Stat,Value`, one row per metric and stat.
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
        for (tag, obj) in metrics_map(s) {
            let unit = obj
                .get("unit")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if let Value::Object(stats) = obj {
                for (stat, v) in stats.iter().filter(|(k, _)| k.as_str() != "unit") {
                    let value = v.as_f64().map(|f| format!("{f:.2}")).unwrap_or_default();
                    let _ = w.write_record([
                        i.to_string(),
                        start.to_string(),
                        end.to_string(),
                        tag.clone(),
                        unit.clone(),
                        stat.clone(),
                        value,
                    ]);
                }
            }
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Writes both files when the run has timeslices.
pub fn write(dir: &Path, r: &RunReport) -> Result<(), ExportError> {
    if r.summary.timeslices.is_empty() {
        return Ok(());
    }
    write_atomic(&dir.join(JSON_FILE), &render_json(r))?;
    write_atomic(&dir.join(CSV_FILE), &render_csv(r))
}
