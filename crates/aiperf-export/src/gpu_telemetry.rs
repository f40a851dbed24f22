//! GPU telemetry in AIPerf 0.13's layouts (docs/design/gpu-telemetry.md): the
//! `telemetry_data` block of `profile_export_aiperf.json`, the GPU table appended to
//! `profile_export_aiperf.csv`, one console table per GPU plus the power-efficiency table,
//! and `gpu_telemetry_export.jsonl` (one line per GPU per scrape).

use aiperf_telemetry::{
    telemetry_json_key, EnergyMetric, GpuMetric, GpuSample, GpuStats, GpuSummary, Vendor,
};
use serde_json::{json, Map, Value};

use crate::console::{format_number, table};
use crate::json::finite;

pub const GPU_TELEMETRY_JSONL_FILE: &str = "gpu_telemetry_export.jsonl";
/// Beyond AIPerf's files: the summary's `telemetry_data` and the CSV's GPU table on their own.
pub const GPU_TELEMETRY_JSON_FILE: &str = "gpu_telemetry_export.json";
pub const GPU_TELEMETRY_CSV_FILE: &str = "gpu_telemetry_export.csv";

/// What the GPU pages said over the profiling window.
#[derive(Debug, Clone, Default)]
pub struct GpuTelemetryReport {
    /// Every page tried, and those that answered with GPUs (full URLs).
    pub endpoints_configured: Vec<String>,
    pub endpoints_successful: Vec<String>,
    /// ISO-8601 local times of the window (AIPerf's format).
    pub start_time: String,
    pub end_time: String,
    /// One per GPU seen, sorted by endpoint then index.
    pub gpus: Vec<GpuSummary>,
    /// The `nvidia_*` / `amd_*` power-efficiency metrics, in AIPerf's emission order.
    pub energy: Vec<EnergyMetric>,
}

fn num(v: f64) -> Value {
    finite(v).map_or(Value::Null, Value::from)
}

/// `{unit, avg, p1..p99, min, max, std, count, sum}` for a gauge, `{unit, avg: delta}` for
/// a counter.
fn metric_json(m: &GpuMetric) -> Value {
    let mut o = Map::new();
    o.insert("unit".into(), Value::from(m.unit.clone()));
    match &m.stats {
        GpuStats::Gauge {
            avg,
            min,
            max,
            std,
            sum,
            count,
            ..
        } => {
            o.insert("avg".into(), num(*avg));
            for (label, v) in m.stats.labelled_percentiles().unwrap_or_default() {
                o.insert(label.into(), num(v));
            }
            o.insert("min".into(), num(*min));
            o.insert("max".into(), num(*max));
            o.insert("std".into(), num(*std));
            o.insert("count".into(), Value::from(*count));
            o.insert("sum".into(), num(*sum));
        }
        GpuStats::Counter { delta } => {
            o.insert("avg".into(), num(*delta));
        }
    }
    Value::Object(o)
}

fn gpu_json(g: &GpuSummary) -> Value {
    let mut o = Map::new();
    o.insert("gpu_index".into(), Value::from(g.gpu.index));
    o.insert("gpu_name".into(), Value::from(g.gpu.name.clone()));
    o.insert("gpu_uuid".into(), Value::from(g.gpu.uuid.clone()));
    o.insert("platform".into(), Value::from(g.gpu.vendor.platform()));
    for (k, v) in [
        ("hostname", &g.gpu.hostname),
        ("namespace", &g.gpu.namespace),
        ("pod_name", &g.gpu.pod_name),
    ] {
        if let Some(v) = v {
            o.insert(k.into(), Value::from(v.clone()));
        }
    }
    let metrics: Map<String, Value> = g
        .metrics
        .iter()
        .map(|m| (m.name.clone(), metric_json(m)))
        .collect();
    o.insert("metrics".into(), Value::Object(metrics));
    Value::Object(o)
}

/// Python's `{:.2e}` (`1.23e+06`), which AIPerf's console uses from a million up.
fn python_exp(v: f64) -> String {
    let s = format!("{v:.2e}");
    match s.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            format!("{m}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

/// AIPerf's console number: `{:,.2f}`, or `{:.2e}` from a million up.
fn console_number(v: f64) -> String {
    if v.is_finite() && v.abs() >= 1e6 {
        python_exp(v)
    } else {
        format_number(v)
    }
}

fn csv_number(v: f64) -> String {
    finite(v).map_or(String::new(), |v| format!("{v:.2}"))
}

/// A GPU label that only some exporters set (Kubernetes ones).
type OptionalLabel = fn(&GpuSummary) -> &Option<String>;

/// The CSV's optional columns, written when any GPU has the label.
const OPTIONAL_COLUMNS: [(&str, OptionalLabel); 3] = [
    ("Hostname", |g| &g.gpu.hostname),
    ("Namespace", |g| &g.gpu.namespace),
    ("Pod Name", |g| &g.gpu.pod_name),
];

impl GpuTelemetryReport {
    /// `telemetry_data`: `{summary, endpoints: {host:port: {gpus: {gpu_<i>: ...}}},
    /// error_summary}`.
    pub fn telemetry_json(&self) -> Value {
        let mut endpoints: Map<String, Value> = Map::new();
        for g in &self.gpus {
            let entry = endpoints
                .entry(g.gpu.endpoint.clone())
                .or_insert_with(|| json!({"gpus": {}}));
            entry["gpus"][telemetry_json_key(&g.gpu)] = gpu_json(g);
        }
        json!({
            "summary": {
                "endpoints_configured": self.endpoints_configured,
                "endpoints_successful": self.endpoints_successful,
                "start_time": self.start_time,
                "end_time": self.end_time,
            },
            "endpoints": endpoints,
            "error_summary": [],
        })
    }

    /// The GPU table AIPerf appends to `profile_export_aiperf.csv`: two empty rows, then one
    /// row per GPU metric; `Hostname`, `Namespace`, `Pod Name` columns when a GPU has them.
    pub fn render_csv(&self) -> String {
        let optional: Vec<(&str, OptionalLabel)> = OPTIONAL_COLUMNS
            .into_iter()
            .filter(|(_, f)| self.gpus.iter().any(|g| f(g).is_some()))
            .collect();
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<&str> = vec![
            "Endpoint",
            "GPU_Index",
            "GPU_Name",
            "GPU_UUID",
            "Platform",
            "Metric",
            "avg",
            "min",
            "max",
            "sum",
            "p1",
            "p5",
            "p10",
            "p25",
            "p50",
            "p75",
            "p90",
            "p95",
            "p99",
            "std",
        ];
        header.extend(optional.iter().map(|(h, _)| *h));
        let _ = w.write_record(&header);
        for g in &self.gpus {
            for m in &g.metrics {
                let mut row = vec![
                    g.gpu.endpoint.clone(),
                    g.gpu.index.to_string(),
                    g.gpu.name.clone(),
                    g.gpu.uuid.clone(),
                    g.gpu.vendor.platform().to_string(),
                    format!("{} ({})", m.display, m.unit),
                ];
                match &m.stats {
                    GpuStats::Gauge {
                        avg,
                        min,
                        max,
                        std,
                        sum,
                        percentiles,
                        ..
                    } => {
                        row.extend([avg, min, max, sum].map(|v| csv_number(*v)));
                        row.extend(percentiles.iter().map(|v| csv_number(*v)));
                        row.push(csv_number(*std));
                    }
                    GpuStats::Counter { delta } => {
                        row.push(csv_number(*delta));
                        row.extend(std::iter::repeat_n(String::new(), 13));
                    }
                }
                // AIPerf writes `str(None)` for a GPU without the label.
                row.extend(
                    optional
                        .iter()
                        .map(|(_, f)| f(g).clone().unwrap_or_else(|| "None".into())),
                );
                let _ = w.write_record(&row);
            }
        }
        let body = String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default();
        format!("\n\n{body}")
    }

    /// One table per GPU, then the power-efficiency table per vendor.
    pub fn render_console(&self, width: u16) -> String {
        let mut out = String::new();
        if !self.gpus.is_empty() {
            out.push_str(&format!(
                "NVIDIA AIPerf | GPU Telemetry Summary ({}/{} telemetry sources reachable)\n",
                self.endpoints_successful.len(),
                self.endpoints_configured.len()
            ));
        }
        for g in &self.gpus {
            let mut t = table(
                width,
                &["Metric", "avg", "min", "max", "p99", "p90", "p50", "std"],
            );
            for m in &g.metrics {
                let label = format!("{} ({})", m.display, m.unit);
                let na = || "N/A".to_string();
                let row = match &m.stats {
                    GpuStats::Gauge {
                        avg, min, max, std, ..
                    } => {
                        let p = |l: &str| m.stats.percentile(l).map_or_else(na, console_number);
                        vec![
                            label,
                            console_number(*avg),
                            console_number(*min),
                            console_number(*max),
                            p("p99"),
                            p("p90"),
                            p("p50"),
                            console_number(*std),
                        ]
                    }
                    GpuStats::Counter { delta } => {
                        vec![
                            label,
                            console_number(*delta),
                            na(),
                            na(),
                            na(),
                            na(),
                            na(),
                            na(),
                        ]
                    }
                };
                t.add_row(row);
            }
            out.push_str(&format!(
                "{} | GPU {} | {}\n{t}\n\n",
                g.gpu.endpoint, g.gpu.index, g.gpu.name
            ));
        }
        for vendor in [Vendor::Nvidia, Vendor::Amd] {
            let prefix = format!("{}_", vendor.platform());
            let mut rows: Vec<&EnergyMetric> = self
                .energy
                .iter()
                .filter(|e| e.tag.starts_with(&prefix))
                .collect();
            if rows.is_empty() {
                continue;
            }
            rows.sort_by_key(|e| e.display_order);
            let mut t = table(width, &["Metric", "avg"]);
            for e in rows {
                t.add_row(vec![
                    format!("{} ({})", e.header, e.unit),
                    console_number(e.value),
                ]);
            }
            let name = match vendor {
                Vendor::Nvidia => "NVIDIA",
                Vendor::Amd => "AMD",
            };
            out.push_str(&format!(
                "Power efficiency is the whole GPU's, from its own power and energy counters over \
                 the profiling window: work other than this benchmark on the same GPUs counts too.\n\
                 NVIDIA AIPerf | GPU Power Efficiency ({name})\n{t}\n\n"
            ));
        }
        out
    }
}

/// One `gpu_telemetry_export.jsonl` line: the GPU's identity, `timestamp_ns` (wall clock),
/// `telemetry_source_url` and `telemetry_data` (scaled values in AIPerf's order).
pub fn render_jsonl_line(s: &GpuSample) -> String {
    let mut o = Map::new();
    o.insert("gpu_index".into(), Value::from(s.gpu.index));
    o.insert("gpu_uuid".into(), Value::from(s.gpu.uuid.clone()));
    o.insert("gpu_model_name".into(), Value::from(s.gpu.name.clone()));
    for (k, v) in [
        ("pci_bus_id", &s.gpu.pci_bus_id),
        ("device", &s.gpu.device),
        ("hostname", &s.gpu.hostname),
        ("namespace", &s.gpu.namespace),
        ("pod_name", &s.gpu.pod_name),
    ] {
        if let Some(v) = v {
            o.insert(k.into(), Value::from(v.clone()));
        }
    }
    o.insert("platform".into(), Value::from(s.gpu.vendor.platform()));
    o.insert("timestamp_ns".into(), Value::from(s.t_ns));
    o.insert(
        "telemetry_source_url".into(),
        Value::from(s.source_url.clone()),
    );
    let data: Map<String, Value> = s
        .values
        .iter()
        .filter_map(|v| finite(v.value).map(|x| (v.metric.name.clone(), Value::from(x))))
        .collect();
    o.insert("telemetry_data".into(), Value::Object(data));
    let mut line = Value::Object(o).to_string();
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_telemetry::{aggregate_gpus, gpu_samples, parse, FieldMap};

    /// Two GPUs, two scrapes 1 s apart: power 100 -> 300 W and 50 -> 50 W, energy counters
    /// (mJ) moving by 200,000 and 50,000.
    fn samples() -> Vec<GpuSample> {
        let page = |p0: u32, p1: u32, e0: u64, e1: u64| {
            format!(
                "# TYPE DCGM_FI_DEV_POWER_USAGE gauge\n\
                 DCGM_FI_DEV_POWER_USAGE{{gpu=\"0\",UUID=\"GPU-a\",modelName=\"H100\",Hostname=\"n1\"}} {p0}\n\
                 DCGM_FI_DEV_POWER_USAGE{{gpu=\"1\",UUID=\"GPU-b\",modelName=\"H100\",Hostname=\"n1\"}} {p1}\n\
                 # TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter\n\
                 DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{gpu=\"0\",UUID=\"GPU-a\",modelName=\"H100\",Hostname=\"n1\"}} {e0}\n\
                 DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{gpu=\"1\",UUID=\"GPU-b\",modelName=\"H100\",Hostname=\"n1\"}} {e1}\n"
            )
        };
        let map = FieldMap::default();
        let url = "http://h:9400/metrics";
        let mut out = gpu_samples(url, &parse(&page(100, 50, 0, 0)).unwrap(), 0, &map);
        out.extend(gpu_samples(
            url,
            &parse(&page(300, 50, 200_000, 50_000)).unwrap(),
            1_000_000_000,
            &map,
        ));
        out
    }

    fn report() -> GpuTelemetryReport {
        GpuTelemetryReport {
            endpoints_configured: vec!["http://h:9400/metrics".into(), "http://x:1/metrics".into()],
            endpoints_successful: vec!["http://h:9400/metrics".into()],
            start_time: "s".into(),
            end_time: "e".into(),
            gpus: aggregate_gpus(&samples(), 0, 1_000_000_000),
            energy: Vec::new(),
        }
    }

    #[test]
    fn telemetry_data_has_aiperf_s_shape_and_hand_worked_values() {
        let v = report().telemetry_json();
        assert_eq!(
            v["summary"]["endpoints_successful"][0],
            "http://h:9400/metrics"
        );
        let g0 = &v["endpoints"]["h:9400"]["gpus"]["gpu_0"];
        assert_eq!(g0["gpu_uuid"], "GPU-a");
        assert_eq!(g0["platform"], "nvidia");
        assert_eq!(g0["hostname"], "n1");
        let p = &g0["metrics"]["nvidia_power_usage"];
        // 100 and 300 W: avg 200, sample std sqrt(2 * 100^2) = 141.42..., p50 200.
        assert_eq!(p["unit"], "W");
        assert_eq!(p["avg"], 200.0);
        assert!((p["std"].as_f64().unwrap() - 20_000f64.sqrt()).abs() < 1e-9);
        assert_eq!(p["p50"], 200.0);
        assert_eq!(p["count"], 2);
        // 200,000 mJ = 2e-4 MJ, a counter: only its delta as `avg`.
        let e = &g0["metrics"]["nvidia_energy_consumption"];
        assert!((e["avg"].as_f64().unwrap() - 2e-4).abs() < 1e-15);
        assert!(e.get("p50").is_none());
        let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
        assert_eq!(keys[..3], ["unit", "avg", "p1"]);
    }

    #[test]
    fn csv_table_follows_aiperf_s_columns() {
        let csv = report().render_csv();
        assert!(csv.starts_with(
            "\n\nEndpoint,GPU_Index,GPU_Name,GPU_UUID,Platform,Metric,avg,min,max,sum,p1,"
        ));
        assert!(csv.contains(",std,Hostname\n"), "{csv}");
        assert!(
            csv.contains("h:9400,0,H100,GPU-a,nvidia,NVIDIA GPU Power Usage (W),200.00,100.00,300.00,400.00,"),
            "{csv}"
        );
    }

    #[test]
    fn console_has_a_table_per_gpu() {
        let text = report().render_console(120);
        assert!(text.contains("(1/2 telemetry sources reachable)"));
        assert!(text.contains("h:9400 | GPU 0 | H100"));
        assert!(text.contains("h:9400 | GPU 1 | H100"));
        assert_eq!(python_exp(1_234_567.0), "1.23e+06");
        assert_eq!(console_number(999_999.0), "999,999.00");
    }

    #[test]
    fn jsonl_line_carries_identity_and_scaled_values() {
        let s = &samples()[2];
        let v: Value = serde_json::from_str(&render_jsonl_line(s)).unwrap();
        assert_eq!(v["gpu_index"], 0);
        assert_eq!(v["telemetry_source_url"], "http://h:9400/metrics");
        assert_eq!(v["timestamp_ns"], 1_000_000_000u64);
        assert_eq!(v["telemetry_data"]["nvidia_power_usage"], 300.0);
        assert!(
            (v["telemetry_data"]["nvidia_energy_consumption"]
                .as_f64()
                .unwrap()
                - 2e-4)
                .abs()
                < 1e-15
        );
    }
}
