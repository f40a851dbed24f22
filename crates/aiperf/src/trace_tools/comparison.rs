//! `comparison.txt` of `aiperf synthesize`: AIPerf's plain-text table of the targets against
//! what the dataset holds, read from the quality report (also printed after writing).

use aiperf_metrics::stats::Stats;
use serde_json::Value;

use super::agentic::Session;
use super::analyze::thousands;

/// Tokens per second the duration estimate assumes (AIPerf's).
const PREFILL_TPS: f64 = 20_000.0;
const DECODE_TPS: f64 = 60.0;
/// Generation-length percentiles the table compares with (AIPerf's fixed targets).
const TARGET_P05: f64 = 30.0;
const TARGET_P99: f64 = 3_750.0;

/// Mean and median minutes a session would take: its delays plus, per turn, new tokens at
/// the prefill rate and output tokens at the decode rate.
pub fn session_minutes(sessions: &[Session]) -> Option<(f64, f64)> {
    let minutes: Vec<f64> = sessions
        .iter()
        .map(|s| {
            let ms: f64 = s
                .turns
                .iter()
                .map(|t| {
                    t.delay_ms
                        + (t.new_tokens as f64 / PREFILL_TPS + t.output_length as f64 / DECODE_TPS)
                            * 1000.0
                })
                .sum();
            ms / 1000.0 / 60.0
        })
        .collect();
    let s = Stats::compute(&minutes)?;
    Some((s.avg, s.percentile("p50")?))
}

/// One table row: label, target (whole), observed (one decimal), signed error.
fn row(label: &str, target: Option<f64>, observed: Option<f64>, error: Option<f64>) -> String {
    let target_text = target.map_or("-".to_string(), |t| thousands(t, 0));
    let observed_text = observed.map_or("-".to_string(), |o| thousands(o, 1));
    let error_text = error.map_or(String::new(), |e| {
        let plus = match (target, observed) {
            (Some(t), Some(o)) => e.abs() == 0.0 || o >= t,
            _ => true,
        };
        format!("  {}{:.1}%", if plus { '+' } else { '-' }, e.abs())
    });
    format!("  {label:38}{target_text:>12}{observed_text:>12}{error_text}")
}

/// The table, line for line as AIPerf renders it.
pub fn render(quality: &Value, minutes: Option<(f64, f64)>) -> String {
    let cfg = &quality["config_summary"];
    let ovt = &quality["observed_vs_target"];
    let ends = &quality["session_end_stats"];
    let num = |v: &Value| v.as_f64();
    let int = |v: &Value| v.as_u64().unwrap_or(0);
    let mut lines: Vec<String> = vec![
        "Agentic Code Session Profile: Target vs Synthesized Dataset".into(),
        "=".repeat(60),
        String::new(),
        format!(
            "{} sessions | {} turns | block_size={}",
            thousands(int(&ends["total_sessions"]) as f64, 0),
            thousands(
                int(&ovt["generation_length"]["observed"]["count"]) as f64,
                0
            ),
            int(&cfg["block_size"])
        ),
        String::new(),
        format!(
            "{:40} {:>12} {:>12} {:>8}",
            "", "Target", "Dataset", "Error"
        ),
        "-".repeat(76),
    ];
    let block = |title: &str, key: &str, lines: &mut Vec<String>| {
        let m = &ovt[key];
        lines.push(title.into());
        for (label, stat) in [("mean", "mean"), ("median", "median")] {
            lines.push(row(
                label,
                num(&m[format!("target_{stat}")]),
                num(&m["observed"][stat]),
                num(&m[format!("pct_error_{stat}")]),
            ));
        }
    };
    block("Initial Context (tokens)", "initial_context", &mut lines);
    lines.push(String::new());
    block("New Tokens Per Turn", "new_tokens_per_turn", &mut lines);
    lines.push(String::new());
    block(
        "Generation Length (tokens)",
        "generation_length",
        &mut lines,
    );
    let gen = &ovt["generation_length"]["observed"];
    lines.push(row("p05", Some(TARGET_P05), num(&gen["p05"]), None));
    lines.push(row("p99", Some(TARGET_P99), num(&gen["p99"]), None));
    lines.push(String::new());
    let max_prompt = thousands(int(&cfg["max_prompt_tokens"]) as f64, 0);
    lines.push("Prompt".into());
    lines.push(format!(
        "  {:38}{max_prompt:>12}{max_prompt:>12}",
        "max_prompt_tokens"
    ));
    lines.push(String::new());
    lines.push("Additional Dataset Statistics".into());
    lines.push("-".repeat(76));
    lines.push("Turns Per Session".into());
    for stat in ["mean", "median", "p05", "p25", "p75", "p95", "p99"] {
        let v = num(&quality["session_stats"][stat]).unwrap_or(0.0);
        lines.push(format!("  {stat:38}{:>12}{v:>12.1}", "-"));
    }
    lines.push(String::new());
    let delay = &ovt["inter_turn_delay_ms"]["observed"];
    if delay.is_object() {
        lines.push("Inter-Turn Delay (ms)".into());
        for stat in ["mean", "median", "p05", "p95"] {
            let v = num(&delay[stat]).unwrap_or(0.0);
            lines.push(format!("  {stat:38}{:>12}{:>12}", "-", thousands(v, 0)));
        }
        let af = num(&cfg["inter_turn_delay_agentic_fraction"]).unwrap_or(0.0);
        let am = num(&cfg["inter_turn_delay_agentic_mean_ms"]).unwrap_or(0.0) / 1000.0;
        let hm = num(&cfg["inter_turn_delay_human_mean_ms"]).unwrap_or(0.0) / 1000.0;
        lines.push(format!(
            "  ({:.0}% agentic ~{am:.0}s, {:.0}% human ~{hm:.0}s)",
            af * 100.0,
            (1.0 - af) * 100.0
        ));
        lines.push(String::new());
    }
    if let Some((mean, median)) = minutes {
        lines.push(format!(
            "Session Duration (estimated @ {} prefill tok/s, {} decode tok/s)",
            thousands(PREFILL_TPS, 0),
            thousands(DECODE_TPS, 0)
        ));
        for (label, v) in [("mean", mean), ("median", median)] {
            lines.push(format!("  {label:38}{:>12}{v:>12.1} min", "-"));
        }
        lines.push(String::new());
    }
    lines.push("Session Endings".into());
    for (label, key) in [
        ("forced retires (hit context limit)", "forced_retires"),
        ("probabilistic resets", "probabilistic_resets"),
        ("restart splits", "restart_splits"),
    ] {
        lines.push(format!("  {label:38}{:>12}{:>12}", "-", int(&ends[key])));
    }
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_sign_the_error_by_direction() {
        assert_eq!(
            row("mean", Some(62_000.0), Some(58_704.15), Some(5.32)),
            format!("  {:38}{:>12}{:>12}  -5.3%", "mean", "62,000", "58,704.2")
        );
        assert_eq!(
            row("median", Some(300.0), Some(306.0), Some(2.0)),
            format!("  {:38}{:>12}{:>12}  +2.0%", "median", "300", "306.0")
        );
        assert_eq!(
            row("p05", Some(30.0), None, None),
            format!("  {:38}{:>12}{:>12}", "p05", "30", "-")
        );
    }
}
