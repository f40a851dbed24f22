//! The last stage: every enabled `data_exporter` entry writes its files from the run report.

use std::path::Path;

use aiperf_config::ProfileConfig;
use aiperf_export::console::ConsoleOptions;
use aiperf_export::{ExportFiles, OUTPUTS_FILE};
use aiperf_plugins::{DataExporterMetadata, Registry};

/// Every enabled `data_exporter`: built-ins first (they write the files external ones read), then
/// external executables. A built-in file that cannot be written (a full disk) is reported and
/// counted; a failing external exporter is reported only (a plugin's problem). Neither stops
/// the others: the console text is always returned, with how many built-in artifacts are
/// missing.
pub(crate) fn run_exporters(
    registry: &Registry,
    artifact_dir: &Path,
    rep: &aiperf_export::RunReport,
) -> anyhow::Result<(String, usize)> {
    run_named(
        registry,
        artifact_dir,
        &ExportFiles::default(),
        &ConsoleOptions::default(),
        rep,
    )
}

/// [`run_exporters`] for a run of `cfg`: its file names (`--profile-export-prefix`), the HTTP
/// trace table (`--show-trace-timing`), and the raw records and `outputs.json` the record
/// processor wrote named in the console footer.
pub(crate) fn run_exporters_for(
    registry: &Registry,
    cfg: &ProfileConfig,
    rep: &aiperf_export::RunReport,
) -> anyhow::Result<(String, usize)> {
    let files = crate::setup::export_files(cfg);
    let raw = cfg.artifact_dir.join(&files.raw);
    let outputs = cfg.artifact_dir.join(OUTPUTS_FILE);
    let mut more_files = Vec::new();
    if cfg.export_level.writes_raw() && raw.is_file() {
        more_files.push(("Raw Records", raw.as_path()));
    }
    if cfg.output.export_outputs_json && outputs.is_file() {
        more_files.push(("Outputs JSON", outputs.as_path()));
    }
    let console = ConsoleOptions {
        show_trace_timing: cfg.output.show_trace_timing,
        more_files,
    };
    run_named(registry, &cfg.artifact_dir, &files, &console, rep)
}

fn run_named(
    registry: &Registry,
    artifact_dir: &Path,
    files: &ExportFiles,
    console_opts: &ConsoleOptions,
    rep: &aiperf_export::RunReport,
) -> anyhow::Result<(String, usize)> {
    let mut builtin = Vec::new();
    let mut external = Vec::new();
    for e in registry.iter("data_exporter") {
        let meta: DataExporterMetadata = registry.typed_metadata("data_exporter", &e.name)?;
        if !meta.enabled_by_default {
            continue;
        }
        match e.exec_path() {
            Some(p) => external.push((e.name.clone(), p.to_path_buf(), meta.args)),
            None => builtin.extend(aiperf_export::Exporter::from_implementation(
                &e.implementation,
            )),
        }
    }
    let written = aiperf_export::write_summary_with(
        artifact_dir,
        files,
        rep,
        &builtin,
        console_width(),
        console_opts,
    );
    let mut console = written.console;
    let failed = written.failures.len();
    for e in &written.failures {
        tracing::error!("{e}");
    }
    if !external.is_empty() {
        let summary: serde_json::Value = serde_json::from_str(&aiperf_export::json::render(rep))
            .unwrap_or(serde_json::Value::Null);
        for (name, exec, args) in external {
            let started = std::time::Instant::now();
            match crate::external::export(
                &exec,
                &args,
                artifact_dir,
                &summary,
                // Absent under `--export-level summary`: the exporter then gets no record
                // messages, only `begin`, `summary` and `end`.
                &artifact_dir.join(&files.records),
            ) {
                Ok(files) => {
                    tracing::info!(
                        "exporter '{name}' finished in {:.0} ms",
                        started.elapsed().as_secs_f64() * 1e3
                    );
                    for f in files {
                        console.push_str(&format!("{name} Export: {f}\n"));
                    }
                }
                Err(e) => {
                    let e = aiperf_core::one_line(e.as_ref());
                    tracing::error!("{e}");
                    console.push_str(&format!("{name} Export failed: {e}\n"));
                }
            }
        }
    }
    Ok((console, failed))
}

/// Columns for the console tables: the terminal's when printing to one, else `COLUMNS`, else
/// 140 (AIPerf's tables at a wide terminal). Never below 60, where the tables stop being legible.
fn console_width() -> u16 {
    use std::io::IsTerminal;
    let terminal = std::io::stdout()
        .is_terminal()
        .then(|| ratatui::crossterm::terminal::size().ok().map(|(w, _)| w))
        .flatten();
    let columns = || {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<u16>().ok())
    };
    terminal.or_else(columns).unwrap_or(140).max(60)
}

/// What the scrapers collected, aggregated over the profiling window (from each endpoint's
/// first scrape when no profiling phase started).
pub(crate) fn server_metrics_report(
    cfg: &ProfileConfig,
    rep: &aiperf_export::RunReport,
    collected: &[crate::scrape::Collected],
    (start, end): (u64, u64),
) -> aiperf_export::server_metrics::ServerMetricsReport {
    use aiperf_export::server_metrics::{EndpointMetrics, ServerMetricsReport, UpdateStats};
    let endpoints = collected
        .iter()
        .map(|c| {
            let ok = c.fetches.saturating_sub(c.failed_fetches);
            let start = if start == 0 {
                c.scrapes.first().map_or(0, |s| s.t_ns)
            } else {
                start
            };
            // AIPerf's window ends at the last change of the page after the profiling end
            // (the final post-run scrape counts).
            let end = aiperf_telemetry::aggregate::aiperf_window_end(&c.scrapes, end);
            EndpointMetrics {
                metrics: aiperf_telemetry::aggregate::aggregate_sliced(
                    &c.scrapes,
                    start,
                    end,
                    cfg.slice_duration_s,
                ),
                url: c.url.clone(),
                fetches: c.fetches,
                failed_fetches: c.failed_fetches,
                avg_fetch_latency_ms: (ok > 0).then(|| c.latency_ns as f64 / ok as f64 / 1e6),
                updates: UpdateStats::of(&c.scrapes),
                dropped: c.dropped.clone(),
            }
        })
        .collect();
    // Without a profiling phase, the window starts at the first page read.
    let first_read = collected
        .iter()
        .filter_map(|c| c.scrapes.first())
        .map(|s| s.t_ns)
        .min();
    let window_start = if start == 0 {
        first_read.unwrap_or(0)
    } else {
        start
    };
    ServerMetricsReport {
        benchmark_id: rep.benchmark_id.clone(),
        endpoints_configured: crate::scrape::server_targets(cfg)
            .into_iter()
            .map(|t| t.url)
            .collect(),
        start_time: crate::report::iso_of_wall_ns(window_start),
        end_time: crate::report::iso_of_wall_ns(end),
        input_config: serde_json::to_value(&rep.input_config).ok(),
        endpoints,
        window_ns: (window_start, end),
    }
}

/// `server_metrics_export.{json,csv,jsonl,parquet}` as `--server-metrics-formats` asks; the
/// number of files that could not be written.
pub(crate) fn write_server_metrics(
    cfg: &ProfileConfig,
    rep: &aiperf_export::RunReport,
    collected: &[crate::scrape::Collected],
) -> usize {
    use aiperf_config::resolve::MetricsFormat;
    use aiperf_export::server_metrics::render_jsonl_line;
    let Some(report) = &rep.server_metrics else {
        return 0;
    };
    let files = crate::setup::export_files(cfg);
    let formats = &cfg.server_metrics.formats;
    let mut failures = report.write_named(
        &cfg.artifact_dir,
        formats
            .contains(&MetricsFormat::Json)
            .then_some(files.server_metrics_json.as_str()),
        formats
            .contains(&MetricsFormat::Csv)
            .then_some(files.server_metrics_csv.as_str()),
    );
    if formats.contains(&MetricsFormat::Jsonl) {
        let mut text = String::new();
        for c in collected {
            for (s, lat) in c.scrapes.iter().zip(&c.latencies_ns) {
                text.push_str(&render_jsonl_line(&c.url, s, *lat));
            }
        }
        let path = cfg.artifact_dir.join(&files.server_metrics_jsonl);
        failures.extend(aiperf_export::write_atomic(&path, &text).err());
    }
    if formats.contains(&MetricsFormat::Parquet) {
        failures.extend(write_server_metrics_parquet(cfg, rep, collected).err());
    }
    for f in &failures {
        tracing::error!("{f}");
    }
    failures.len()
}

/// `server_metrics_export.parquet`: every scrape's series in the window, AIPerf's schema.
fn write_server_metrics_parquet(
    cfg: &ProfileConfig,
    rep: &aiperf_export::RunReport,
    collected: &[crate::scrape::Collected],
) -> Result<usize, aiperf_export::ExportError> {
    use aiperf_config::resolve::LoadMode;
    use aiperf_export::server_metrics_parquet::{write_server_metrics_parquet, ParquetRunMeta};
    let window = rep.server_metrics.as_ref().map_or((0, 0), |r| r.window_ns);
    let input_config = serde_json::to_value(&rep.input_config).unwrap_or_default();
    let endpoints: Vec<(&str, &[aiperf_telemetry::Scrape])> = collected
        .iter()
        .map(|c| (c.url.as_str(), c.scrapes.as_slice()))
        .collect();
    let meta = ParquetRunMeta {
        benchmark_id: &rep.benchmark_id,
        input_config: &input_config,
        model_names: &cfg.models,
        concurrency: (cfg.concurrency > 0).then_some(cfg.concurrency as u64),
        request_rate: match &cfg.load {
            LoadMode::Rate { rate, .. } | LoadMode::UserCentric { rate, .. } => Some(*rate),
            _ => None,
        },
    };
    let path = cfg
        .artifact_dir
        .join(crate::setup::export_files(cfg).server_metrics_parquet);
    write_server_metrics_parquet(&path, &endpoints, window, &meta)
}
