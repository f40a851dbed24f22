//! Accuracy mode's artifacts as AIPerf 0.13 writes them: `accuracy_export.jsonl` (one graded
//! line per profiling answer), `accuracy_results.csv` (a row per task and OVERALL), the
//! `accuracy.*` entries of the summary JSON and CSV, and the console table.

use std::io::Write;
use std::path::{Path, PathBuf};

use aiperf_accuracy::summary::{AccuracySummary, Counts};
use serde::Serialize;

use crate::{io_err, ExportError};

/// `accuracy_export.jsonl` (`<prefix>_accuracy.jsonl` with `--profile-export-prefix`).
pub const ACCURACY_JSONL_FILE: &str = "accuracy_export.jsonl";
/// `accuracy_results.csv`: never renamed by the prefix (AIPerf's `AccuracyDataExporter`).
pub const ACCURACY_CSV_FILE: &str = "accuracy_results.csv";

/// One line of `accuracy_export.jsonl` (AIPerf's `AccuracyRecordsData` without its wire-only
/// `record_type`; absent values are left out, as AIPerf writes with `exclude_none`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccuracyLine<'a> {
    pub session_num: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x_request_id: Option<&'a str>,
    pub worker_id: &'a str,
    pub benchmark_phase: &'a str,
    /// When the request ended (wall clock, ns).
    pub timestamp_ns: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<&'a str>,
    pub grader_name: &'a str,
    pub passed: bool,
    pub unparsed: bool,
    pub confidence: f64,
    pub expected: &'a str,
    pub actual: &'a str,
    pub explanation: &'a str,
    pub model_output: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_thinking: Option<&'a str>,
}

/// Streams graded lines to `accuracy_export.jsonl`.
pub struct AccuracyWriter {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    lines: u64,
}

impl AccuracyWriter {
    pub fn create(path: &Path) -> Result<Self, ExportError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        let file = std::fs::File::create(path).map_err(io_err(path))?;
        Ok(Self {
            path: path.to_path_buf(),
            out: std::io::BufWriter::new(file),
            lines: 0,
        })
    }

    pub fn write(&mut self, line: &AccuracyLine<'_>) -> Result<(), ExportError> {
        let mut bytes = serde_json::to_vec(line).map_err(|e| ExportError::Io {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        bytes.push(b'\n');
        self.out.write_all(&bytes).map_err(io_err(&self.path))?;
        self.lines += 1;
        Ok(())
    }

    /// Lines written so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    pub fn flush(&mut self) -> Result<(), ExportError> {
        self.out.flush().map_err(io_err(&self.path))
    }
}

/// `accuracy_results.csv`: `task,correct,total,unparsed,accuracy`, OVERALL first then the
/// tasks sorted, accuracy with four decimals (AIPerf's row order).
pub fn render_csv(s: &AccuracySummary) -> String {
    let mut out = String::from("task,correct,total,unparsed,accuracy\n");
    if s.overall.total == 0 {
        return out;
    }
    let row = |out: &mut String, task: &str, c: &Counts| {
        out.push_str(&format!(
            "{},{},{},{},{:.4}\n",
            csv_field(task),
            c.passed,
            c.total,
            c.unparsed,
            c.accuracy()
        ));
    };
    row(&mut out, "OVERALL", &s.overall);
    for (task, c) in &s.per_task {
        row(&mut out, task, c);
    }
    out
}

/// A CSV field, quoted when it holds a separator, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes `accuracy_results.csv` into `dir`.
pub fn write_csv(dir: &Path, s: &AccuracySummary) -> Result<PathBuf, ExportError> {
    let path = dir.join(ACCURACY_CSV_FILE);
    crate::write_atomic(&path, &render_csv(s))?;
    Ok(path)
}

/// The summary CSV's rows for the `accuracy.*` entries: `<Header> (ratio)` with an empty value,
/// as AIPerf 0.13 writes them (its CSV reads `avg`, which these entries do not have).
pub fn csv_scalars(s: &AccuracySummary) -> Vec<(String, String)> {
    s.metrics()
        .into_iter()
        .map(|m| (format!("{} (ratio)", m.header), String::new()))
        .collect()
}

/// The summary JSON's `accuracy.*` entries: `{unit: "ratio", count, sum}` each.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AccuracyJson {
    pub unit: &'static str,
    pub count: u64,
    pub sum: u64,
}

pub fn json_entries(s: &AccuracySummary) -> indexmap::IndexMap<String, AccuracyJson> {
    s.metrics()
        .into_iter()
        .map(|m| {
            (
                m.tag,
                AccuracyJson {
                    unit: "ratio",
                    count: m.count,
                    sum: m.sum,
                },
            )
        })
        .collect()
}

/// AIPerf's `{:.2%}`.
fn percent(r: f64) -> String {
    format!("{:.2}%", r * 100.0)
}

/// The "Accuracy Benchmark Results" table (tasks, then OVERALL) and AIPerf's warning when
/// every answer was unparsed.
pub fn render_console(s: &AccuracySummary, width: u16) -> String {
    if s.overall.total == 0 {
        return String::new();
    }
    let mut t = crate::console::table(width, &["Task", "Correct", "Total", "Unparsed", "Accuracy"]);
    for (task, c) in &s.per_task {
        t.add_row(row_cells(task, c));
    }
    t.add_row(row_cells("OVERALL", &s.overall));
    let mut out = format!("Accuracy Benchmark Results\n{t}\n");
    if s.all_unparsed() {
        out.push_str(
            "Warning: every accuracy response was unparsed (accuracy=0). The grader could not extract an answer from any model output. Verify the inference server returns valid completions for this benchmark before trusting the accuracy CSV.\n",
        );
    }
    out.push('\n');
    out
}

fn row_cells(task: &str, c: &Counts) -> Vec<String> {
    vec![
        task.to_string(),
        c.passed.to_string(),
        c.total.to_string(),
        c.unparsed.to_string(),
        percent(c.accuracy()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> AccuracySummary {
        let mut s = AccuracySummary::new("multiple_choice");
        s.add(Some("anatomy"), true, false);
        s.add(Some("anatomy"), false, true);
        s.add(Some("anatomy"), true, false);
        s.add(Some("astro,nomy"), false, false);
        s
    }

    #[test]
    fn the_results_csv_has_overall_first_and_four_decimals() {
        assert_eq!(
            render_csv(&summary()),
            "task,correct,total,unparsed,accuracy\n\
             OVERALL,2,4,1,0.5000\n\
             anatomy,2,3,1,0.6667\n\
             \"astro,nomy\",0,1,0,0.0000\n"
        );
        assert_eq!(
            render_csv(&AccuracySummary::new("x")),
            "task,correct,total,unparsed,accuracy\n"
        );
    }

    #[test]
    fn json_entries_carry_count_and_sum_in_aiperf_order() {
        let j = json_entries(&summary());
        let v = serde_json::to_value(&j).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "accuracy.overall": {"unit": "ratio", "count": 4, "sum": 2},
                "accuracy.task.anatomy": {"unit": "ratio", "count": 3, "sum": 2},
                "accuracy.task.astro,nomy": {"unit": "ratio", "count": 1, "sum": 0},
                "accuracy.unparsed": {"unit": "ratio", "count": 4, "sum": 1},
                "accuracy.unparsed.task.anatomy": {"unit": "ratio", "count": 3, "sum": 1},
                "accuracy.unparsed.task.astro,nomy": {"unit": "ratio", "count": 1, "sum": 0},
            })
        );
        assert_eq!(
            csv_scalars(&summary())[0],
            ("Accuracy (Overall) (ratio)".to_string(), String::new())
        );
    }

    #[test]
    fn the_console_table_shows_percentages_and_warns_when_nothing_parsed() {
        let text = render_console(&summary(), 100);
        assert!(text.starts_with("Accuracy Benchmark Results\n"), "{text}");
        assert!(text.contains("66.67%") && text.contains("50.00%"), "{text}");
        let overall = text.lines().position(|l| l.contains("OVERALL")).unwrap();
        let anatomy = text.lines().position(|l| l.contains("anatomy")).unwrap();
        assert!(anatomy < overall);
        assert!(!text.contains("every accuracy response was unparsed"));
        let mut bad = AccuracySummary::new("gsm8k");
        bad.add(Some("gsm8k"), false, true);
        assert!(render_console(&bad, 100).contains("Warning: every accuracy response was unparsed"));
        assert_eq!(render_console(&AccuracySummary::new("x"), 100), "");
    }

    #[test]
    fn jsonl_lines_leave_out_what_is_absent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(ACCURACY_JSONL_FILE);
        let mut w = AccuracyWriter::create(&path).unwrap();
        let line = AccuracyLine {
            session_num: 3,
            conversation_id: Some("session_000003"),
            x_request_id: None,
            worker_id: "worker_0",
            benchmark_phase: "profiling",
            timestamp_ns: 7,
            task: Some("gsm8k"),
            grader_name: "lighteval_gsm8k",
            passed: true,
            unparsed: false,
            confidence: 1.0,
            expected: "72",
            actual: "72",
            explanation: "ok",
            model_output: "#### 72",
            model_thinking: None,
        };
        w.write(&line).unwrap();
        w.flush().unwrap();
        assert_eq!(w.lines(), 1);
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "session_num",
                "conversation_id",
                "worker_id",
                "benchmark_phase",
                "timestamp_ns",
                "task",
                "grader_name",
                "passed",
                "unparsed",
                "confidence",
                "expected",
                "actual",
                "explanation",
                "model_output"
            ]
        );
        assert_eq!(v["passed"], true);
    }
}
