//! `aiperf speed-bench-report`: a matrix report over SPEED-Bench category runs, as AIPerf 0.13's
//! `analysis/speed_bench_report.py` builds it: one row per model, one column per category, and
//! the plain mean of a row's values as `Overall`.
//!
//! A run's category is the suffix of its dataset selector (`speed_bench_coding` -> `coding`,
//! `spec_al_gsm8k` -> `gsm8k`) read from `input_config.datasets[]` of
//! `profile_export_aiperf.json`; acceptance values come from `server_metrics_export.json`, the
//! throughput from the summary's `output_token_throughput.avg`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aiperf_config::SpeedBenchReportArgs;
use serde_json::Value;

const PROFILE_JSON: &str = "profile_export_aiperf.json";
const SERVER_METRICS_JSON: &str = "server_metrics_export.json";

const QUALITATIVE_CATEGORIES: [&str; 11] = [
    "coding",
    "humanities",
    "math",
    "multilingual",
    "qa",
    "rag",
    "reasoning",
    "roleplay",
    "stem",
    "summarization",
    "writing",
];
const THROUGHPUT_TIERS: [&str; 3] = ["low_entropy", "mixed", "high_entropy"];
/// Curated so columns read math -> chat -> code rather than alphabetically.
const SPEC_AL_BENCHMARKS: [&str; 5] = ["gsm8k", "math500", "mtbench", "humaneval", "mbpp"];
const CATEGORY_PREFIXES: [&str; 2] = ["speed_bench_", "spec_al_"];

/// Acceptance-length gauges by engine, in priority order.
const ACCEPT_LENGTH_METRICS: [&str; 3] = [
    "sglang:spec_accept_length",
    "vllm:spec_decode_mean_accepted_length",
    "trtllm:spec_accept_length",
];
const ACCEPT_RATE_METRICS: [&str; 3] = [
    "sglang:spec_accept_rate",
    "vllm:spec_decode_draft_acceptance_rate",
    "trtllm:spec_accept_rate",
];

/// model -> category -> value (`None`: the run gave no value).
pub type Matrix = BTreeMap<String, BTreeMap<String, Option<f64>>>;

/// Runs the subcommand.
pub fn run(args: &SpeedBenchReportArgs) -> ExitCode {
    match generate(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}.");
            ExitCode::from(1)
        }
    }
}

fn generate(args: &SpeedBenchReportArgs) -> Result<(), String> {
    let run_dirs = find_run_dirs(&args.paths);
    if run_dirs.is_empty() {
        return Err("no aiperf run directories found".into());
    }
    println!("Found {} run directories.", run_dirs.len());
    let results = build_report(&run_dirs, args.metric_name());
    if !results
        .values()
        .flat_map(|m| m.values())
        .any(Option::is_some)
    {
        return Err("no SPEED-Bench results extracted".into());
    }
    let columns = detect_columns(&results);
    if args.prints_table() {
        println!("{}", table(&results, &columns, args.metric_name()));
    }
    if args.writes_csv() {
        std::fs::write(&args.output, csv_text(&results, &columns))
            .map_err(|e| format!("cannot write --output {}: {e}", args.output.display()))?;
        println!("CSV written to {}", args.output.display());
    }
    Ok(())
}

/// Each path is a run directory (it holds `profile_export_aiperf.json`) or a parent whose
/// direct children are, taken in name order.
pub fn find_run_dirs(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if !p.is_dir() {
            eprintln!("Warning: {} is not a directory, skipping", p.display());
            continue;
        }
        if p.join(PROFILE_JSON).exists() {
            out.push(p.clone());
            continue;
        }
        let mut children: Vec<PathBuf> = std::fs::read_dir(p)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        children.sort();
        out.extend(
            children
                .into_iter()
                .filter(|c| c.is_dir() && c.join(PROFILE_JSON).exists()),
        );
    }
    out
}

/// A JSON file of a run, or `None` (with a warning when it exists but cannot be read).
fn load_json(run_dir: &Path, name: &str) -> Option<Value> {
    let path = run_dir.join(name);
    if !path.exists() {
        return None;
    }
    let parsed = std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()));
    match parsed {
        Ok(v) => Some(v),
        Err(e) => {
            eprintln!("Warning: failed to read {}: {e}", path.display());
            None
        }
    }
}

/// The matrix over the run directories; a later run of the same model and category wins.
pub fn build_report(run_dirs: &[PathBuf], metric: &str) -> Matrix {
    let mut results = Matrix::new();
    for run_dir in run_dirs {
        let Some(profile) = load_json(run_dir, PROFILE_JSON).filter(|v| !is_empty(v)) else {
            eprintln!(
                "Warning: no {PROFILE_JSON} in {}, skipping",
                run_dir.display()
            );
            continue;
        };
        let Some(category) = extract_category(&profile) else {
            eprintln!(
                "Warning: cannot determine category from {}, skipping",
                run_dir.display()
            );
            continue;
        };
        let value = match metric {
            "throughput" => extract_throughput(&profile),
            _ => match load_json(run_dir, SERVER_METRICS_JSON) {
                Some(sm) if metric == "accept_length" => extract_accept_length(&sm),
                Some(sm) => extract_accept_rate(&sm),
                None => {
                    eprintln!("Warning: no {SERVER_METRICS_JSON} in {}", run_dir.display());
                    None
                }
            },
        };
        results
            .entry(extract_model(&profile))
            .or_default()
            .insert(category, value.filter(|v| !v.is_nan()));
    }
    results
}

/// Python's truthiness of a parsed document (an empty object counts as missing).
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

/// The suffix of the first dataset selector with a SPEED-Bench prefix: `format` (file
/// datasets) or `dataset` (public datasets, AIPerf's field name).
pub fn extract_category(profile: &Value) -> Option<String> {
    let datasets = profile.get("input_config")?.get("datasets")?.as_array()?;
    datasets.iter().find_map(|entry| {
        let name = ["format", "dataset"].iter().find_map(|k| {
            entry
                .get(*k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        })?;
        CATEGORY_PREFIXES
            .iter()
            .find_map(|p| name.strip_prefix(p).map(str::to_string))
    })
}

/// The first model name: `input_config.models` as our list of names or AIPerf's
/// `{items: [{name}]}`; `unknown` when absent.
pub fn extract_model(profile: &Value) -> String {
    let models = profile.get("input_config").and_then(|c| c.get("models"));
    let items = models
        .and_then(|m| m.get("items").or(Some(m)))
        .and_then(Value::as_array);
    items
        .into_iter()
        .flatten()
        .find_map(|e| {
            e.as_str()
                .or_else(|| e.get("name").and_then(Value::as_str))
                .filter(|s| !s.is_empty())
        })
        .unwrap_or("unknown")
        .to_string()
}

/// `stat` of a named metric's first series.
fn metric_stat(metrics: &Value, name: &str, stat: &str) -> Option<f64> {
    metrics
        .get(name)?
        .get("series")?
        .get(0)?
        .get("stats")?
        .get(stat)?
        .as_f64()
}

/// A gauge by name, else vLLM's counters (each draft step verifies one token beyond those
/// accepted: accepted / drafts + 1), else any `spec`+`accept`+`length` metric's average.
pub fn extract_accept_length(server_metrics: &Value) -> Option<f64> {
    let metrics = server_metrics.get("metrics")?;
    if let Some(v) = ACCEPT_LENGTH_METRICS
        .iter()
        .find_map(|n| metric_stat(metrics, n, "avg"))
    {
        return Some(v);
    }
    let accepted = metric_stat(metrics, "vllm:spec_decode_num_accepted_tokens", "total");
    let drafts = metric_stat(metrics, "vllm:spec_decode_num_drafts", "total");
    if let (Some(a), Some(d)) = (accepted, drafts.filter(|d| *d > 0.0)) {
        return Some(a / d + 1.0);
    }
    metrics.as_object()?.iter().find_map(|(name, _)| {
        let lower = name.to_lowercase();
        let fuzzy = lower.contains("spec") && lower.contains("accept") && lower.contains("length");
        fuzzy.then(|| metric_stat(metrics, name, "avg")).flatten()
    })
}

/// A gauge by name, else vLLM's accepted / draft token counters.
pub fn extract_accept_rate(server_metrics: &Value) -> Option<f64> {
    let metrics = server_metrics.get("metrics")?;
    if let Some(v) = ACCEPT_RATE_METRICS
        .iter()
        .find_map(|n| metric_stat(metrics, n, "avg"))
    {
        return Some(v);
    }
    let accepted = metric_stat(metrics, "vllm:spec_decode_num_accepted_tokens", "total")?;
    let drafts = metric_stat(metrics, "vllm:spec_decode_num_draft_tokens", "total")?;
    (drafts > 0.0).then(|| accepted / drafts)
}

/// `output_token_throughput.avg` of the run's summary.
pub fn extract_throughput(profile: &Value) -> Option<f64> {
    profile.get("output_token_throughput")?.get("avg")?.as_f64()
}

/// A known column set in its curated order when every category belongs to it, else sorted.
pub fn detect_columns(results: &Matrix) -> Vec<String> {
    let all: BTreeSet<&str> = results
        .values()
        .flat_map(|m| m.keys().map(String::as_str))
        .collect();
    let known: [&[&str]; 3] = [
        &QUALITATIVE_CATEGORIES,
        &THROUGHPUT_TIERS,
        &SPEC_AL_BENCHMARKS,
    ];
    for set in known {
        if all.iter().all(|c| set.contains(c)) {
            return set
                .iter()
                .filter(|c| all.contains(*c))
                .map(|c| c.to_string())
                .collect();
        }
    }
    all.into_iter().map(str::to_string).collect()
}

/// One row's cells (two decimals, `missing` for no value) and its `Overall` mean.
fn row_cells(
    data: &BTreeMap<String, Option<f64>>,
    columns: &[String],
    missing: &str,
) -> Vec<String> {
    let values: Vec<Option<f64>> = columns
        .iter()
        .map(|c| data.get(c).copied().flatten())
        .collect();
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    let overall = (!present.is_empty()).then(|| present.iter().sum::<f64>() / present.len() as f64);
    let fmt = |v: Option<f64>| v.map_or_else(|| missing.to_string(), |v| format!("{v:.2}"));
    values.into_iter().chain([overall]).map(fmt).collect()
}

/// The CSV text: `Model,<columns...>,Overall`, rows by model name, empty cells for no value.
pub fn csv_text(results: &Matrix, columns: &[String]) -> String {
    let header = std::iter::once("Model".to_string())
        .chain(columns.iter().cloned())
        .chain(["Overall".to_string()]);
    let mut lines = vec![header.map(|c| csv_field(&c)).collect::<Vec<_>>().join(",")];
    for (model, data) in results {
        let cells = std::iter::once(model.clone()).chain(row_cells(data, columns, ""));
        lines.push(cells.map(|c| csv_field(&c)).collect::<Vec<_>>().join(","));
    }
    // Python's csv module ends every row with \r\n.
    lines.iter().map(|l| format!("{l}\r\n")).collect()
}

/// Quotes a field as Python's `csv` module does (minimal quoting).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The console table, titled by metric, `-` for no value.
pub fn table(results: &Matrix, columns: &[String], metric: &str) -> String {
    use comfy_table::{presets::UTF8_FULL, CellAlignment, Table};
    let title = match metric {
        "accept_length" => "Acceptance Length Report",
        "accept_rate" => "Acceptance Rate Report",
        "throughput" => "Throughput Report (tokens/sec)",
        _ => "Speculative Decoding Report",
    };
    let mut t = Table::new();
    t.load_preset(UTF8_FULL);
    let header = std::iter::once("Model".to_string())
        .chain(columns.iter().cloned())
        .chain(["Overall".to_string()]);
    t.set_header(header);
    for (model, data) in results {
        t.add_row(std::iter::once(model.clone()).chain(row_cells(data, columns, "-")));
    }
    for i in 1..=columns.len() + 1 {
        if let Some(col) = t.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    // Centred over the table, as rich draws a table title.
    let text = t.to_string();
    let width = text.lines().next().map_or(0, |l| l.chars().count());
    let pad = width.saturating_sub(title.len()) / 2;
    format!("{}{title}\n{text}", " ".repeat(pad))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn category_from_format_or_dataset() {
        let p = json!({"input_config": {"datasets": [{"format": "single_turn"}, {"dataset": "spec_al_gsm8k"}]}});
        assert_eq!(extract_category(&p).as_deref(), Some("gsm8k"));
        assert_eq!(extract_category(&json!({"input_config": {}})), None);
    }

    #[test]
    fn vllm_counters_give_length_and_rate() {
        let stat = |v: f64| json!({"series": [{"stats": {"total": v}}]});
        let sm = json!({"metrics": {
            "vllm:spec_decode_num_accepted_tokens": stat(300.0),
            "vllm:spec_decode_num_drafts": stat(200.0),
            "vllm:spec_decode_num_draft_tokens": stat(600.0),
        }});
        // 300 / 200 + 1 = 2.5; 300 / 600 = 0.5.
        assert_eq!(extract_accept_length(&sm), Some(2.5));
        assert_eq!(extract_accept_rate(&sm), Some(0.5));
    }

    #[test]
    fn unknown_categories_sort_alphabetically() {
        let mut m = Matrix::new();
        m.entry("a".into())
            .or_default()
            .insert("zeta".into(), Some(1.0));
        m.entry("a".into())
            .or_default()
            .insert("coding".into(), Some(1.0));
        assert_eq!(detect_columns(&m), vec!["coding", "zeta"]);
    }
}
