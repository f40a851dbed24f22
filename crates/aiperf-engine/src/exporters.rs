//! The last stage: every enabled `data_exporter` entry writes its files from the run report.

use aiperf_config::ProfileConfig;
use aiperf_export::RECORDS_FILE;
use aiperf_plugins::{DataExporterMetadata, Registry};

/// Every enabled `data_exporter`: built-ins first (they write the files external ones read), then
/// external executables. A built-in file that cannot be written (a full disk) is reported and
/// counted; a failing external exporter is reported only (a plugin's problem). Neither stops
/// the others: the console text is always returned, with how many built-in artifacts are
/// missing.
pub(crate) fn run_exporters(
    registry: &Registry,
    cfg: &ProfileConfig,
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
    let written = aiperf_export::write_summary(&cfg.artifact_dir, rep, &builtin, console_width());
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
                &cfg.artifact_dir,
                &summary,
                &cfg.artifact_dir.join(RECORDS_FILE),
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

/// `server_metrics_export.{json,csv}` from what the scrapers collected, aggregated over the
/// profiling window (from the first scrape when no profiling phase started); the number of
/// files that could not be written.
pub(crate) fn write_server_metrics(
    cfg: &ProfileConfig,
    benchmark_id: &str,
    configured: usize,
    collected: Vec<crate::scrape::Collected>,
    (start, end): (u64, u64),
) -> usize {
    use aiperf_config::resolve::MetricsFormat;
    use aiperf_export::server_metrics::{EndpointMetrics, ServerMetricsReport};
    let endpoints = collected
        .into_iter()
        .map(|c| {
            let ok = c.fetches.saturating_sub(c.failed_fetches);
            let start = if start == 0 {
                c.scrapes.first().map_or(0, |s| s.t_ns)
            } else {
                start
            };
            EndpointMetrics {
                metrics: aiperf_telemetry::aggregate(&c.scrapes, start, end),
                url: c.url,
                fetches: c.fetches,
                failed_fetches: c.failed_fetches,
                avg_fetch_latency_ms: (ok > 0).then(|| c.latency_ns as f64 / ok as f64 / 1e6),
                dropped: c.dropped,
            }
        })
        .collect();
    let report = ServerMetricsReport {
        benchmark_id,
        endpoints_configured: configured,
        endpoints,
        window_ns: (start, end),
    };
    let formats = &cfg.server_metrics.formats;
    let failures = report.write(
        &cfg.artifact_dir,
        formats.contains(&MetricsFormat::Json),
        formats.contains(&MetricsFormat::Csv),
    );
    for f in &failures {
        tracing::error!("{f}");
    }
    failures.len()
}
