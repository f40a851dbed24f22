//! GPU telemetry after a run: the scraped DCGM exporter pages turned into per-GPU samples
//! (`aiperf_telemetry::gpu`), summarised over the profiling window with the power-efficiency
//! metrics, and every sample written to `gpu_telemetry_export.jsonl`.

use aiperf_config::resolve::GpuSource;
use aiperf_config::ProfileConfig;
use aiperf_export::gpu_telemetry::{
    render_jsonl_line, GpuTelemetryReport, GPU_TELEMETRY_CSV_FILE, GPU_TELEMETRY_JSON_FILE,
};
use aiperf_metrics::Summary;
use aiperf_telemetry::{
    aggregate_gpus, energy_metrics_for_window, gpu_samples, ClientTotals, FieldMap, GpuSample,
    FINAL_SCRAPE_GRACE_NS,
};

use std::sync::Arc;

use crate::scrape::{Collected, OnPage};
use crate::ui::live::Live;

/// AIPerf's DCGM mapping, extended by `--gpu-telemetry FILE.csv`. Bad lines of the file are
/// skipped with a warning naming file:line, as AIPerf skips them.
pub fn field_map(cfg: &ProfileConfig) -> FieldMap {
    let Some(path) = &cfg.gpu_telemetry.custom_csv else {
        return FieldMap::default();
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let (map, errors) = FieldMap::from_csv_lenient(&text);
            for e in errors {
                tracing::warn!("--gpu-telemetry {}: {e}; skipped", path.display());
            }
            map
        }
        Err(e) => {
            tracing::warn!(
                "--gpu-telemetry {}: {e}; using the default DCGM fields",
                path.display()
            );
            FieldMap::default()
        }
    }
}

/// Where GPU telemetry comes from besides DCGM pages: the local NVIDIA library, started
/// before the first phase (`None` when not asked for or not available).
pub fn start_local(
    cfg: &ProfileConfig,
    map: &FieldMap,
    clock: aiperf_core::Clock,
    live: Option<Arc<Live>>,
) -> Option<crate::nvml::NvmlSampler> {
    if !cfg.gpu_telemetry.enabled {
        return None;
    }
    match cfg.gpu_telemetry.source {
        GpuSource::Pynvml => crate::nvml::start(map, clock, live),
        GpuSource::Amdsmi => {
            tracing::warn!(
                "--gpu-telemetry amdsmi: reading AMD GPUs through the local ROCm library is not supported by this build; no GPU telemetry"
            );
            None
        }
        GpuSource::Dcgm { .. } => None,
    }
}

/// The dashboard's GPU panel follows each GPU page as it is read.
pub fn live_panel(live: Arc<Live>, map: FieldMap) -> OnPage {
    Arc::new(move |url, t_ns, page| live.set_gpus(url, &gpu_samples(url, page, t_ns, &map)))
}

/// Every page tried, for `telemetry_data.summary.endpoints_configured`.
pub fn configured(cfg: &ProfileConfig, dcgm: &[crate::scrape::Target]) -> Vec<String> {
    let mut out: Vec<String> = dcgm.iter().map(|t| t.url.clone()).collect();
    if cfg.gpu_telemetry.enabled && cfg.gpu_telemetry.source == GpuSource::Pynvml {
        out.push(crate::nvml::SOURCE_URL.to_string());
    }
    out
}

/// Every GPU of every scrape, oldest first per page. A page identical to the one before it
/// is skipped, as AIPerf skips an unchanged exporter page.
pub fn samples(collected: &[Collected], map: &FieldMap) -> Vec<GpuSample> {
    let mut out = Vec::new();
    for c in collected {
        let mut previous = None;
        for s in &c.scrapes {
            if previous == Some(&s.page) {
                continue;
            }
            previous = Some(&s.page);
            out.extend(gpu_samples(&c.url, &s.page, s.t_ns, map));
        }
    }
    out
}

/// What the ratios need from the client's own summary.
fn client_totals(cfg: &ProfileConfig, summary: &Summary) -> ClientTotals {
    let count = |tag: &str| summary.value(tag).map_or(0, |v| v.max(0.0) as u64);
    ClientTotals {
        requests: count("request_count"),
        input_tokens: count("total_isl"),
        output_tokens: count("total_osl"),
        duration_s: summary.value("benchmark_duration").unwrap_or(0.0),
        concurrency: (cfg.concurrency > 0).then_some(cfg.concurrency as u64),
        avg_request_latency_ms: summary.value("request_latency"),
        request_throughput: summary.value("request_throughput"),
        output_token_throughput: summary.value("output_token_throughput"),
        goodput: summary.value("goodput"),
    }
}

/// The report over `[start, end]` (wall ns; `start` 0 = from the first sample): gauges over
/// the window, counters to `end` plus AIPerf's 666 ms grace, and the efficiency metrics.
pub fn report(
    cfg: &ProfileConfig,
    configured: &[String],
    samples: &[GpuSample],
    (start, end): (u64, u64),
    summary: &Summary,
) -> GpuTelemetryReport {
    let start = if start == 0 {
        samples.iter().map(|s| s.t_ns).min().unwrap_or(0)
    } else {
        start
    };
    let mut successful: Vec<String> = Vec::new();
    for s in samples {
        if !successful.contains(&s.source_url) {
            successful.push(s.source_url.clone());
        }
    }
    let grace_end = end.saturating_add(FINAL_SCRAPE_GRACE_NS);
    GpuTelemetryReport {
        endpoints_configured: configured.to_vec(),
        endpoints_successful: successful,
        start_time: crate::report::iso_of_wall_ns(start),
        end_time: crate::report::iso_of_wall_ns(grace_end),
        gpus: aggregate_gpus(samples, start, grace_end),
        energy: energy_metrics_for_window(samples, start, end, &client_totals(cfg, summary)),
    }
}

/// `gpu_telemetry_export.jsonl` (one line per GPU per scrape), `.json` (the summary's
/// `telemetry_data` block on its own) and `.csv` (the GPU table of the summary CSV on its own);
/// the number of files that could not be written.
pub fn write_files(
    cfg: &ProfileConfig,
    report: &GpuTelemetryReport,
    samples: &[GpuSample],
) -> usize {
    let dir = &cfg.artifact_dir;
    let jsonl: String = samples.iter().map(render_jsonl_line).collect();
    let mut json = serde_json::to_string_pretty(&report.telemetry_json()).unwrap_or_default();
    json.push('\n');
    let csv = report.render_csv();
    let names = crate::setup::export_files(cfg);
    let files = [
        (names.gpu_telemetry_jsonl.as_str(), jsonl.as_str()),
        (GPU_TELEMETRY_JSON_FILE, json.as_str()),
        (GPU_TELEMETRY_CSV_FILE, csv.trim_start_matches(['\r', '\n'])),
    ];
    files
        .into_iter()
        .filter_map(|(name, text)| aiperf_export::write_atomic(&dir.join(name), text).err())
        .inspect(|e| tracing::error!("{e}"))
        .count()
}
