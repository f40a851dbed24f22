//! Assembling the run report (config echo, run info, error summary) and progress lines.

use std::collections::HashMap;

use aiperf_config::{LoadMode, ProfileConfig};
use aiperf_core::ErrorDetails;
use aiperf_export::RunReport;
use aiperf_metrics::{MetricValue, Summary};
use serde_json::{json, Map, Value};

use crate::phases::LoadStats;
use crate::prepare::Prepared;

/// Local time, ISO-8601 without timezone (AIPerf's `start_time` / `end_time`).
pub fn now_iso() -> String {
    chrono::Local::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

/// CPU time of this process (user + system), from /proc on Linux.
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux configuration in practice.
    Some((utime + stime) / 100.0)
}

/// The client's CPU use over the run.
#[derive(Debug, Clone, Copy)]
pub struct CpuUsage {
    pub cpu_s: f64,
    pub wall_s: f64,
    pub cores: usize,
}

impl CpuUsage {
    pub fn since(start: Option<f64>, wall_start: std::time::Instant) -> Option<CpuUsage> {
        let cpu_s = process_cpu_seconds()? - start?;
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Some(CpuUsage {
            cpu_s,
            wall_s: wall_start.elapsed().as_secs_f64(),
            cores,
        })
    }

    /// Percent of all cores.
    pub fn utilization_pct(&self) -> f64 {
        if self.wall_s > 0.0 {
            100.0 * self.cpu_s / (self.wall_s * self.cores as f64)
        } else {
            0.0
        }
    }
}

/// Thresholds for the client-bound verdict.
pub const LATENESS_P99_LIMIT_MS: f64 = 1.0;
pub const RATE_SHORTFALL_LIMIT: f64 = 0.01;
pub const CPU_SATURATION_PCT: f64 = 90.0;
/// Event-loop lag p99 above this means the client's runtime was too busy to stamp and send on
/// time.
pub const EVENT_LOOP_LAG_P99_LIMIT_MS: f64 = 10.0;

/// The load report (what was asked, what was sent, how late) and the client-bound verdict, so
/// nobody publishes a client-limited number as a server number.
pub fn load_report(
    summary: &Summary,
    load: &LoadStats,
    cpu: Option<CpuUsage>,
) -> (Map<String, Value>, Vec<String>) {
    let mut reasons: Vec<String> = Vec::new();
    let mut report = Map::new();
    let lateness = |f: &str| match &summary.get("schedule_lateness").map(|r| &r.value) {
        Some(MetricValue::Distribution(s)) => match f {
            "p50" => s.percentile("p50"),
            "p99" => s.percentile("p99"),
            _ => Some(s.max),
        },
        _ => None,
    };
    report.insert("mode".into(), json!(mode_name(&load.mode)));
    report.insert("requests_sent".into(), json!(load.sent));
    let mut notes = Vec::new();
    if !matches!(load.mode, LoadMode::Concurrency { .. }) {
        if let LoadMode::Rate { rate, .. } | LoadMode::UserCentric { rate, .. } = &load.mode {
            report.insert("requested_request_rate".into(), json!(rate));
        }
        if load.intended_window_s > 0.0 && load.actual_window_s > 0.0 && load.sent > 1 {
            let scheduled = load.sent as f64 / load.intended_window_s;
            let achieved = load.sent as f64 / load.actual_window_s;
            report.insert("scheduled_request_rate".into(), json!(scheduled));
            report.insert("achieved_request_rate".into(), json!(achieved));
            if achieved < scheduled * (1.0 - RATE_SHORTFALL_LIMIT) {
                reasons.push(format!(
                    "achieved send rate {achieved:.1} req/s is more than {:.0} % below the schedule's {scheduled:.1} req/s",
                    RATE_SHORTFALL_LIMIT * 100.0
                ));
            }
            notes.push(format!(
                "Load: schedule {scheduled:.2} req/s, sent {achieved:.2} req/s; lateness p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
                lateness("p50").unwrap_or(f64::NAN),
                lateness("p99").unwrap_or(f64::NAN),
                lateness("max").unwrap_or(f64::NAN)
            ));
        }
        for (k, f) in [
            ("schedule_lateness_p50_ms", "p50"),
            ("schedule_lateness_p99_ms", "p99"),
            ("schedule_lateness_max_ms", "max"),
        ] {
            if let Some(v) = lateness(f).filter(|v| v.is_finite()) {
                report.insert(k.into(), json!(v));
            }
        }
        if let Some(p99) = lateness("p99").filter(|v| *v > LATENESS_P99_LIMIT_MS) {
            reasons.push(format!(
                "schedule lateness p99 {p99:.2} ms exceeds {LATENESS_P99_LIMIT_MS} ms"
            ));
        }
    }
    if !load.event_loop_lag_ms.is_empty() {
        let lag = aiperf_metrics::Stats::compute(&load.event_loop_lag_ms);
        for (k, v) in [
            (
                "event_loop_lag_p50_ms",
                lag.as_ref().and_then(|s| s.percentile("p50")),
            ),
            (
                "event_loop_lag_p99_ms",
                lag.as_ref().and_then(|s| s.percentile("p99")),
            ),
            ("event_loop_lag_max_ms", lag.as_ref().map(|s| s.max)),
        ] {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                report.insert(k.into(), json!(v));
            }
        }
        if let Some(p99) = lag
            .as_ref()
            .and_then(|s| s.percentile("p99"))
            .filter(|v| *v > EVENT_LOOP_LAG_P99_LIMIT_MS)
        {
            reasons.push(format!(
                "event-loop lag p99 {p99:.2} ms exceeds {EVENT_LOOP_LAG_P99_LIMIT_MS} ms"
            ));
        }
    }
    let (pauses, paused_s) = load.backlog_pauses;
    report.insert("record_backlog_pauses".into(), json!(pauses));
    report.insert("record_backlog_paused_s".into(), json!(paused_s));
    if pauses > 0 {
        reasons.push(format!(
            "the record processor fell behind: {pauses} requests were held back for {paused_s:.3} s in total ({} raw records waiting)",
            crate::backlog::HIGH
        ));
    }
    if let Some(c) = cpu {
        report.insert("client_cpu_seconds".into(), json!(c.cpu_s));
        report.insert(
            "client_cpu_utilization_pct".into(),
            json!(c.utilization_pct()),
        );
        report.insert("cpu_cores".into(), json!(c.cores));
        if c.utilization_pct() > CPU_SATURATION_PCT {
            reasons.push(format!(
                "client CPU at {:.0} % of {} cores",
                c.utilization_pct(),
                c.cores
            ));
        }
    }
    let bound = !reasons.is_empty();
    if bound {
        notes.push(format!(
            "Warning: the client may have limited this benchmark (client_bound): {}. Do not publish these numbers as server numbers.",
            reasons.join("; ")
        ));
    }
    let mut extra = Map::new();
    extra.insert("load_report".into(), Value::Object(report));
    extra.insert("client_bound".into(), json!({"verdict": bound, "reasons": reasons,
        "thresholds": {"schedule_lateness_p99_ms": LATENESS_P99_LIMIT_MS, "rate_shortfall_pct": RATE_SHORTFALL_LIMIT * 100.0,
                       "cpu_utilization_pct": CPU_SATURATION_PCT, "event_loop_lag_p99_ms": EVENT_LOOP_LAG_P99_LIMIT_MS}}));
    (extra, notes)
}

/// The timing mode's name in the JSON (`load_report.mode`, `input_config.phases`).
fn mode_name(mode: &LoadMode) -> &'static str {
    match mode {
        LoadMode::Concurrency { .. } => "concurrency",
        LoadMode::Rate { .. } => "request_rate",
        LoadMode::FixedSchedule { .. } => "fixed_schedule",
        LoadMode::UserCentric { .. } => "user_centric_rate",
    }
}

/// The timing mode's own settings.
fn mode_config(mode: &LoadMode) -> Value {
    match mode {
        LoadMode::Concurrency {
            concurrency,
            ramp_s,
        } => {
            json!({"concurrency": concurrency, "ramp_duration": ramp_s})
        }
        LoadMode::Rate {
            rate,
            pattern,
            smoothness,
            cap,
            ramp_s,
        } => json!({
            "request_rate": rate, "arrival_pattern": pattern.name(), "arrival_smoothness": smoothness,
            "max_concurrency": cap, "ramp_duration": ramp_s,
        }),
        LoadMode::FixedSchedule {
            auto_offset,
            start_offset_ms,
            end_offset_ms,
            cap,
        } => json!({
            "auto_offset": auto_offset, "start_offset_ms": start_offset_ms,
            "end_offset_ms": end_offset_ms, "max_concurrency": cap,
        }),
        LoadMode::UserCentric { rate, users } => {
            json!({"user_centric_rate": rate, "num_users": users})
        }
    }
}

/// `input_config.datasets[0]`: the file and its format, or what was synthesized.
fn dataset_config(cfg: &ProfileConfig, prepared: &Prepared) -> Value {
    let c = &cfg.conversation;
    match &cfg.input_file {
        Some(file) => json!({
            "type": "file",
            "path": file,
            "format": cfg.custom_dataset_type,
            "entries": prepared.conversations.len(),
            "sampling": cfg.sampling.name,
        }),
        None => json!({
            "type": "synthetic",
            "entries": cfg.num_dataset_entries,
            "sampling": cfg.sampling.name,
            "prompts": {
                "isl": {"mean": cfg.isl_mean, "stddev": cfg.isl_stddev},
                "osl": cfg.osl_mean.map(|m| json!({"mean": m, "stddev": cfg.osl_stddev})),
                "batch_size": cfg.batch_size,
            },
            "turns": {"mean": c.turn_mean, "stddev": c.turn_stddev},
            "turn_delay_ms": {"mean": c.delay_mean_ms, "stddev": c.delay_stddev_ms, "ratio": c.delay_ratio},
            "prefix_prompts": (c.prefix_pool_size > 0).then(|| json!({"pool_size": c.prefix_pool_size, "length": c.prefix_length})),
            "shared_system_prompt_length": c.shared_system_prompt_length,
            "user_context_prompt_length": c.user_context_prompt_length,
            "system_prompt": c.system_prompt.is_some() || c.system_prompt_file.is_some(),
            "images": c.images.as_ref().map(|i| json!({"width": {"mean": i.width_mean, "stddev": i.width_stddev},
                "height": {"mean": i.height_mean, "stddev": i.height_stddev}, "batch_size": i.batch, "format": format!("{:?}", i.format).to_lowercase()})),
            "audio": c.audio.as_ref().map(|a| json!({"length_s": {"mean": a.length_mean, "stddev": a.length_stddev},
                "sample_rates_khz": a.sample_rates_khz, "depths": a.depths, "channels": a.channels, "batch_size": a.batch})),
        }),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn build(
    cfg: &ProfileConfig,
    prepared: &Prepared,
    summary: Summary,
    errors: HashMap<ErrorDetails, u64>,
    was_cancelled: bool,
    start_time: String,
    load: &LoadStats,
    cpu: Option<CpuUsage>,
) -> RunReport {
    let (extra, notes) = load_report(&summary, load, cpu);
    let mut errors: Vec<(ErrorDetails, u64)> = errors.into_iter().collect();
    errors.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let benchmark_id: String = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let input_config = json!({
        "models": cfg.models,
        "endpoint": {
            "type": cfg.endpoint_type,
            "urls": cfg.urls.iter().map(|u| u.to_string()).collect::<Vec<_>>(),
            "custom_endpoint": cfg.custom_endpoint,
            "streaming": cfg.streaming,
            "timeout": cfg.request_timeout_s,
            "use_legacy_max_tokens": cfg.body.use_legacy_max_tokens,
            "use_server_token_count": cfg.use_server_token_count,
            "extra": cfg.body.extra_inputs,
            "headers": cfg.headers.iter().map(|(n, v)| {
                let v = if v.is_sensitive() { "<redacted>".into() } else { String::from_utf8_lossy(v.as_bytes()) };
                (n.as_str().to_string(), serde_json::Value::String(v.into_owned()))
            }).collect::<serde_json::Map<_, _>>(),
            "api_key": cfg.api_key.as_ref().map(|_| "<redacted>"),
        },
        "tokenizer": {"name": prepared.tokenizer.name(), "revision": cfg.tokenizer_revision},
        "datasets": [dataset_config(cfg, prepared)],
        "phases": {
            "warmup": (cfg.warmup_request_count.is_some() || cfg.warmup_duration_s.is_some()).then(|| json!({
                "type": mode_name(&load.mode), "concurrency": cfg.concurrency,
                "requests": cfg.warmup_request_count, "duration": cfg.warmup_duration_s,
            })),
            "profiling": {
                "type": mode_name(&load.mode), "concurrency": cfg.concurrency,
                "requests": cfg.request_count, "sessions": cfg.conversation.conversation_num,
                "duration": cfg.benchmark_duration_s, "grace_period": cfg.grace_period_s,
                "load": mode_config(&load.mode),
            },
        },
        "artifacts": {"dir": cfg.artifact_dir},
    });
    let run_info = json!({
        "benchmark_id": benchmark_id,
        "random_seed": prepared.seed,
        "trial": 0,
        "cli_command": cfg.cli_command,
    });
    RunReport {
        summary,
        errors,
        benchmark_id,
        input_config,
        run_info,
        was_cancelled,
        incomplete_reason: was_cancelled.then(|| "cancelled by user".to_string()),
        start_time,
        end_time: now_iso(),
        metrics_title: prepared.meta.metrics_title.clone(),
        cli_command: cfg.cli_command.clone(),
        extra,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_loop_lag_over_the_limit_makes_the_run_client_bound() {
        let mut load = LoadStats {
            event_loop_lag_ms: vec![0.5; 99],
            ..Default::default()
        };
        load.event_loop_lag_ms.push(40.0);
        let summary = Summary::default();
        let (extra, _) = load_report(&summary, &load, None);
        assert_eq!(
            extra["client_bound"]["verdict"], false,
            "p99 of 0.5 x 99 + 40 is below 10 ms"
        );
        assert_eq!(extra["load_report"]["event_loop_lag_max_ms"], 40.0);
        load.event_loop_lag_ms = vec![12.0; 100];
        let (extra, notes) = load_report(&summary, &load, None);
        assert_eq!(extra["client_bound"]["verdict"], true);
        let reasons = extra["client_bound"]["reasons"].to_string();
        assert!(
            reasons.contains("event-loop lag p99 12.00 ms exceeds 10 ms"),
            "{reasons}"
        );
        assert!(notes.iter().any(|n| n.contains("client_bound")));
    }

    #[test]
    fn held_back_requests_make_the_run_client_bound() {
        let mut load = LoadStats::default();
        let (extra, _) = load_report(&Summary::default(), &load, None);
        assert_eq!(extra["client_bound"]["verdict"], false);
        assert_eq!(extra["load_report"]["record_backlog_pauses"], 0);
        load.backlog_pauses = (3, 0.25);
        let (extra, _) = load_report(&Summary::default(), &load, None);
        assert_eq!(extra["client_bound"]["verdict"], true);
        assert_eq!(extra["load_report"]["record_backlog_paused_s"], 0.25);
        let reasons = extra["client_bound"]["reasons"].to_string();
        assert!(
            reasons.contains("3 requests were held back for 0.250 s"),
            "{reasons}"
        );
    }
}
