//! Assembling the run report (config echo, run info, error summary) and progress lines.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use aiperf_config::ProfileConfig;
use aiperf_core::ErrorDetails;
use aiperf_export::RunReport;
use aiperf_metrics::Summary;
use aiperf_timing::PhasePlan;
use serde_json::json;

use crate::prepare::Prepared;
use crate::process::Progress;
use crate::worker::PhaseContext;

/// Local time, ISO-8601 without timezone (AIPerf's `start_time` / `end_time`).
pub fn now_iso() -> String {
    chrono::Local::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

pub fn build(
    cfg: &ProfileConfig,
    prepared: &Prepared,
    summary: Summary,
    errors: HashMap<ErrorDetails, u64>,
    was_cancelled: bool,
    start_time: String,
) -> RunReport {
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
            "use_legacy_max_tokens": cfg.use_legacy_max_tokens,
            "use_server_token_count": cfg.use_server_token_count,
            "extra": cfg.extra_inputs,
            "headers": cfg.headers.iter().map(|(n, v)| {
                let v = if aiperf_config::resolve::is_sensitive_header(n) { "<redacted>" } else { v.as_str() };
                (n.clone(), serde_json::Value::String(v.to_string()))
            }).collect::<serde_json::Map<_, _>>(),
            "api_key": cfg.api_key.as_ref().map(|_| "<redacted>"),
        },
        "tokenizer": {"name": prepared.tokenizer.name(), "revision": cfg.tokenizer_revision},
        "datasets": [{
            "type": "synthetic",
            "entries": cfg.num_dataset_entries,
            "sampling": cfg.sampling,
            "prompts": {
                "isl": {"mean": cfg.isl_mean, "stddev": cfg.isl_stddev},
                "osl": cfg.osl_mean.map(|m| json!({"mean": m, "stddev": cfg.osl_stddev})),
                "batch_size": cfg.batch_size,
            },
        }],
        "phases": {
            "warmup": (cfg.warmup_request_count.is_some() || cfg.warmup_duration_s.is_some()).then(|| json!({
                "type": "concurrency", "concurrency": cfg.concurrency,
                "requests": cfg.warmup_request_count, "duration": cfg.warmup_duration_s,
            })),
            "profiling": {
                "type": "concurrency", "concurrency": cfg.concurrency,
                "requests": cfg.request_count, "duration": cfg.benchmark_duration_s,
                "grace_period": cfg.grace_period_s,
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
    }
}

/// One progress line on stderr (the simple UI).
pub fn print_progress(plan: &PhasePlan, ctx: &PhaseContext, progress: &Progress, start_ns: u64) {
    let elapsed = (ctx.clock.now_ns().saturating_sub(start_ns)) as f64 / 1e9;
    let issued = ctx.issuer.issued();
    let done = progress.profiled.load(Ordering::Relaxed);
    let errors = progress.errors.load(Ordering::Relaxed);
    let in_flight = ctx.in_flight.load(Ordering::Relaxed);
    let target = match (ctx.issuer.target_count(), plan.duration_ns) {
        (Some(n), _) => format!("{issued}/{n} sent"),
        (None, Some(d)) => format!("{elapsed:.0}/{:.0} s", d as f64 / 1e9),
        _ => format!("{issued} sent"),
    };
    eprintln!(
        "[{}] {target}, {done} done ({errors} errors), {in_flight} in flight, {elapsed:.1} s",
        plan.phase.as_str()
    );
}
