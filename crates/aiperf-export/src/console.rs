//! The console tables AIPerf prints after a run (and saves as `profile_export_console.txt`).

use std::path::Path;

use aiperf_metrics::{Group, MetricResult, MetricValue, Summary, Unit};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};

use crate::RunReport;

/// `1234.5` -> `1,234.50`; non-finite -> `N/A`.
pub fn format_number(v: f64) -> String {
    if !v.is_finite() {
        return "N/A".to_string();
    }
    let s = format!("{:.2}", v.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let grouped = aiperf_core::numfmt::group_digits(int);
    let sign = if v < 0.0 && s != "0.00" { "-" } else { "" };
    format!("{sign}{grouped}.{frac}")
}

/// A console table laid out for `width` columns, in AIPerf's style.
pub(crate) fn plain_table(width: u16, header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width);
    t.set_header(header.to_vec());
    t
}

/// [`plain_table`] with every column after the first (the numbers) right-aligned.
pub(crate) fn table(width: u16, header: &[&str]) -> Table {
    let mut t = plain_table(width, header);
    for i in 1..header.len() {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

fn row_label(header: &str, unit: Unit) -> String {
    format!("{header} ({})", unit.label())
}

/// What the console shows beyond the default tables.
#[derive(Debug, Clone, Default)]
pub struct ConsoleOptions<'a> {
    /// `--show-trace-timing`: the HTTP trace timing table before the metric tables.
    pub show_trace_timing: bool,
    /// Footer lines after `JSON Export:`, as `(label, path)` (`Raw Records`, `Outputs JSON`).
    pub more_files: Vec<(&'static str, &'a Path)>,
}

/// Error summary (if any), the metrics table and the footer lines.
pub fn render(
    r: &RunReport,
    width: u16,
    csv_path: Option<&Path>,
    json_path: Option<&Path>,
) -> String {
    render_with(r, width, csv_path, json_path, &ConsoleOptions::default())
}

/// The HTTP trace metrics in AIPerf's table order (`HttpTraceConsoleExporter`).
const TRACE_TIMING_ROWS: [&str; 14] = [
    "http_req_blocked",
    "http_req_dns_lookup",
    "http_req_connecting",
    "http_req_sending",
    "http_req_waiting",
    "http_req_receiving",
    "http_req_connection_reused",
    "http_req_data_sent",
    "http_req_chunks_sent",
    "http_req_data_received",
    "http_req_chunks_received",
    "http_req_connection_overhead",
    "http_req_duration",
    "http_req_total",
];

/// `NVIDIA AIPerf | HTTP Trace Timing`: the `http_req_*` statistics of the run; empty when no
/// request measured them.
pub fn render_trace_timing(summary: &Summary, width: u16) -> String {
    let mut t = table(
        width,
        &["Metric", "avg", "min", "max", "p99", "p90", "p50", "std"],
    );
    let mut rows = 0;
    for tag in TRACE_TIMING_ROWS {
        if let Some(m) = summary.results.iter().find(|m| m.spec.tag == tag) {
            t.add_row(metric_cells(m));
            rows += 1;
        }
    }
    if rows == 0 {
        return String::new();
    }
    format!("NVIDIA AIPerf | HTTP Trace Timing\n{t}\n\n")
}

/// One metric's row: label, then avg, min, max, p99, p90, p50 and std (`N/A` for scalars).
fn metric_cells(m: &MetricResult) -> Vec<String> {
    let label = row_label(&m.header, m.display_unit());
    let na = || "N/A".to_string();
    match &m.value {
        MetricValue::Distribution(s) => {
            let p = |n: &str| s.percentile(n).map_or_else(na, format_number);
            vec![
                label,
                format_number(s.avg),
                format_number(s.min),
                format_number(s.max),
                p("p99"),
                p("p90"),
                p("p50"),
                format_number(s.std),
            ]
        }
        MetricValue::Weighted(w) => vec![
            label,
            format_number(w.avg),
            format_number(w.min),
            format_number(w.max),
            format_number(w.p99),
            format_number(w.p90),
            format_number(w.p50),
            format_number(w.std),
        ],
        MetricValue::Scalar(v) => {
            vec![label, format_number(*v), na(), na(), na(), na(), na(), na()]
        }
    }
}

/// [`render`] with the options of [`ConsoleOptions`].
pub fn render_with(
    r: &RunReport,
    width: u16,
    csv_path: Option<&Path>,
    json_path: Option<&Path>,
    opts: &ConsoleOptions,
) -> String {
    let mut out = String::new();
    if !r.errors.is_empty() {
        let mut t = plain_table(width, &["Code", "Type", "Message", "Count"]);
        for (d, n) in &r.errors {
            let code = d.code.map_or("N/A".to_string(), |c| c.to_string());
            let msg: String = d.message.chars().take(200).collect();
            t.add_row([code, d.kind.clone(), msg, n.to_string()]);
        }
        out.push_str("NVIDIA AIPerf | Error Summary\n");
        out.push_str(&t.to_string());
        out.push_str("\n\n");
    }
    if opts.show_trace_timing {
        out.push_str(&render_trace_timing(&r.summary, width));
    }
    for group in Group::CONSOLE_ORDER {
        let mut rows: Vec<(u32, usize, &MetricResult)> = r
            .summary
            .results
            .iter()
            .enumerate()
            .filter(|(_, m)| m.spec.exported() && m.group() == group)
            .map(|(i, m)| (m.spec.display_order, i, m))
            .collect();
        if rows.is_empty() {
            continue;
        }
        rows.sort_by_key(|(o, i, _)| (*o, *i));
        let mut t = table(
            width,
            &["Metric", "avg", "min", "max", "p99", "p90", "p50", "std"],
        );
        for (_, _, m) in rows {
            t.add_row(metric_cells(m));
        }
        let title = group.title().unwrap_or(&r.metrics_title);
        out.push_str(&format!("NVIDIA AIPerf | {title}\n"));
        out.push_str(&t.to_string());
        out.push_str("\n\n");
    }
    if let Some(sm) = &r.server_metrics {
        out.push_str(&crate::server_console::render(sm, &r.summary, width));
    }
    if let Some(g) = &r.gpu_telemetry {
        out.push_str(&g.render_console(width));
    }
    if let Some(a) = &r.accuracy {
        out.push_str(&crate::accuracy::render_console(a, width));
    }
    for w in &r.summary.warnings {
        out.push_str(&format!("Warning: {w}\n"));
    }
    for n in load_notes(r) {
        out.push_str(&n);
        out.push('\n');
    }
    if let Some(s) = &r.summary.steady_state {
        out.push_str(&steady_state_line(s));
        out.push('\n');
    }
    out.push_str(&format!("\nCLI Command: {}\n", r.cli_command));
    if let Some(d) = r.summary.value("benchmark_duration") {
        out.push_str(&format!("Benchmark Duration: {d:.2} sec\n"));
    }
    if r.was_cancelled {
        out.push_str("Run was cancelled: results cover the requests completed before the stop\n");
    }
    if let Some(p) = csv_path {
        out.push_str(&format!("CSV Export: {}\n", p.display()));
    }
    if let Some(p) = json_path {
        out.push_str(&format!("JSON Export: {}\n", p.display()));
    }
    for (label, p) in &opts.more_files {
        out.push_str(&format!("{label}: {}\n", p.display()));
    }
    out
}

/// The lines under the tables about the offered load: achieved against scheduled rate (open loop)
/// and the client-bound warning, so a client-limited run is never read as a server number.
fn load_notes(r: &RunReport) -> Vec<String> {
    let mut notes = Vec::new();
    let l = &r.load_report;
    if let (Some(scheduled), Some(achieved)) = (l.scheduled_request_rate, l.achieved_request_rate) {
        let ms = |v: Option<f64>| v.unwrap_or(f64::NAN);
        notes.push(format!(
            "Load: schedule {scheduled:.2} req/s, sent {achieved:.2} req/s; lateness p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            ms(l.schedule_lateness_p50_ms),
            ms(l.schedule_lateness_p99_ms),
            ms(l.schedule_lateness_max_ms)
        ));
    }
    if r.client_bound.verdict {
        notes.push(format!(
            "Warning: the client may have limited this benchmark (client_bound): {}. Do not publish these numbers as server numbers.",
            r.client_bound.reasons.join("; ")
        ));
    }
    notes
}

/// One line on the plateau at full concurrency, beside the whole-run figures.
fn steady_state_line(s: &aiperf_metrics::steady::SteadyState) -> String {
    let mut line = format!(
        "Steady state (concurrency {} for {:.2} s, {:.0}% of the run): {} requests/sec, {} output tokens/sec",
        s.concurrency,
        (s.end_ns - s.start_ns) as f64 / 1e9,
        s.fraction_of_run * 100.0,
        format_number(s.request_throughput),
        format_number(s.output_token_throughput),
    );
    if let Some(l) = &s.request_latency {
        line.push_str(&format!(
            ", request latency p50 {} / p99 {} ms",
            format_number(l.p50),
            format_number(l.p99)
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_separators_and_two_decimals() {
        assert_eq!(format_number(1234567.891), "1,234,567.89");
        assert_eq!(format_number(12.0), "12.00");
        assert_eq!(format_number(999.999), "1,000.00");
        assert_eq!(format_number(-1234.5), "-1,234.50");
        assert_eq!(format_number(f64::NAN), "N/A");
        assert_eq!(format_number(f64::INFINITY), "N/A");
    }
}
