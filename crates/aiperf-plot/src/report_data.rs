//! Everything a report shows, as one serializable value: the HTML report embeds it as JSON and
//! draws from it; images are drawn from its charts.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::chart::Chart;

/// Schema version of [`ReportData`] as embedded in `report.html`.
pub const REPORT_SCHEMA: u32 = 1;

/// The input of a report: one run, or several to compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    pub schema: u32,
    /// "aiperf report: <run or directory name>".
    pub title: String,
    /// The aiperf version that drew the report.
    pub aiperf_version: String,
    pub mode: Mode,
    /// The runs, in the order charts label them; for a comparison the first is the default
    /// baseline.
    pub runs: Vec<RunView>,
    pub charts: Vec<Chart>,
    /// Runs found but without results (killed, every request failed, a sweep's failed cell).
    pub failed_runs: Vec<FailedRun>,
    /// Notes about the input as a whole (files skipped, series decimated).
    pub notes: Vec<String>,
}

/// One run's per-request charts, or a comparison of several runs' summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Single,
    Multi,
}

/// One run as the report's tables show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    /// Short label: the sweep value ("concurrency 16"), the directory name otherwise.
    pub name: String,
    /// The run directory as given or found.
    pub dir: String,
    /// Comparison group (baseline/treatment, a sweep, a model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Distribution and scalar metrics of the summary, in console order.
    pub metrics: Vec<MetricRow>,
    /// The client self-check: `client_bound` of the summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// Things the reader must know before trusting the numbers: errors, cancellation,
    /// an incomplete run.
    pub warnings: Vec<String>,
    /// The command line that made the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cli_command: Option<String>,
    /// `input_config` of the summary, as written.
    pub config: Value,
}

/// One metric of a summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub tag: String,
    /// AIPerf's header ("Time to First Token").
    pub name: String,
    pub unit: String,
    /// Whether a bigger value is better (for colouring a diff).
    pub larger_is_better: bool,
    /// Statistics present in the summary, in the order avg, min, max, p1..p99, std
    /// (a scalar metric has only `avg`).
    pub stats: Vec<(String, f64)>,
}

/// The client's verdict on itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// True when the client, not the server, may have limited the run.
    pub client_bound: bool,
    pub reasons: Vec<String>,
}

/// A run directory that has no usable results, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedRun {
    pub dir: String,
    pub reason: String,
}

impl MetricRow {
    /// The value of statistic `stat`, if the summary has it.
    pub fn stat(&self, stat: &str) -> Option<f64> {
        self.stats.iter().find(|(s, _)| s == stat).map(|(_, v)| *v)
    }
}

impl ReportData {
    /// A copy with every series value rounded to `digits` significant digits: what the HTML
    /// report embeds, so a run of 100,000 requests does not carry 17-digit floats it cannot
    /// show. Tables and images keep full precision.
    pub fn rounded(&self, digits: i32) -> ReportData {
        let mut out = self.clone();
        let round = |v: &mut Vec<f64>| {
            v.iter_mut()
                .for_each(|x| *x = round_significant(*x, digits))
        };
        for chart in &mut out.charts {
            for s in &mut chart.series {
                round(&mut s.x);
                round(&mut s.y);
                for col in [&mut s.y_low, &mut s.y_high, &mut s.x_low, &mut s.x_high]
                    .into_iter()
                    .flatten()
                {
                    round(col);
                }
            }
        }
        out
    }
}

/// `v` rounded to `digits` significant digits (zero and non-finite values unchanged).
pub fn round_significant(v: f64, digits: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let shift = digits - 1 - v.abs().log10().floor() as i32;
    // Beyond f64's range of exact powers of ten the value already has few enough digits.
    if !(-300..=300).contains(&shift) {
        return v;
    }
    let scale = 10f64.powi(shift);
    let r = (v * scale).round() / scale;
    if r.is_finite() {
        r
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_keeps_significant_digits() {
        assert_eq!(round_significant(21.56265671666, 6), 21.5627);
        assert_eq!(round_significant(1796.6355244, 6), 1796.64);
        assert_eq!(round_significant(-0.000123456789, 3), -0.000123);
        assert_eq!(round_significant(0.0, 6), 0.0);
        assert!(round_significant(f64::NAN, 6).is_nan());
        assert_eq!(round_significant(1e-320, 6), 1e-320);
        assert_eq!(round_significant(123456789.0, 3), 123000000.0);
        // Serialized short: the point of rounding.
        assert_eq!(
            serde_json::to_string(&round_significant(2.0 / 3.0, 4)).unwrap(),
            "0.6667"
        );
    }
}
