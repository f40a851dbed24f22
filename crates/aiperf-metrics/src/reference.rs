//! `docs/metrics.md`, generated from the registry so the reference cannot drift from the code.

use crate::registry::{Flags, Group, MetricKind, REGISTRY};

fn flag_names(f: Flags) -> String {
    let names = [
        (Flags::STREAMING_ONLY, "streaming"),
        (Flags::PRODUCES_TOKENS_ONLY, "produces tokens"),
        (Flags::TOKENIZES_INPUT_ONLY, "tokenizes input"),
        (Flags::LARGER_IS_BETTER, "larger is better"),
        (Flags::NO_INDIVIDUAL_RECORDS, "not per record"),
        (Flags::ERROR_ONLY, "failed requests"),
        (Flags::INTERNAL, "internal"),
        (Flags::EXPERIMENTAL, "experimental"),
        (Flags::GOODPUT, "needs --goodput"),
        (Flags::USAGE_DIFF_ONLY, "client token counts"),
        (Flags::ERROR_ADJUSTED, "adj_ companion"),
        (Flags::DISABLE_ON_ACCURACY, "off in accuracy mode"),
    ];
    names
        .iter()
        .filter(|(flag, _)| f.contains(*flag))
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// AIPerf 0.13's metric tags and headers (its registry, spec section 2.6), in its console order:
/// the reference lists each with where it stands here.
const AIPERF_TAGS: [(&str, &str); 139] = [
    ("time_to_first_token", "Time to First Token"),
    (
        "network_adjusted_time_to_first_token",
        "Network-Adjusted Time to First Token",
    ),
    ("time_to_second_token", "Time to Second Token"),
    ("time_to_first_output_token", "Time to First Output Token"),
    (
        "network_adjusted_time_to_first_output_token",
        "Network-Adjusted Time to First Output Token",
    ),
    ("request_latency", "Request Latency"),
    (
        "network_adjusted_request_latency",
        "Network-Adjusted Request Latency",
    ),
    ("network_rtt", "Network RTT"),
    ("video_inference_time", "Video Inference Time"),
    ("video_peak_memory", "Video Peak Memory"),
    ("decode_duration", "Decode Duration"),
    ("inter_token_latency", "Inter Token Latency"),
    (
        "output_token_throughput_per_user",
        "Output Token Throughput Per User",
    ),
    ("e2e_output_token_throughput", "E2E Output Token Throughput"),
    ("output_sequence_length", "Output Sequence Length"),
    ("nvidia_energy_delay_product", "Energy Delay Product"),
    ("error_isl", "Error Input Sequence Length"),
    ("input_sequence_length", "Input Sequence Length"),
    ("nvidia_performance_per_watt", "Performance per Watt"),
    (
        "nvidia_output_tps_per_watt",
        "Output Tokens per Second per Watt",
    ),
    ("nvidia_goodput_per_watt", "Goodput per Watt"),
    ("nvidia_average_gpu_power", "Average GPU Power"),
    ("nvidia_total_gpu_energy", "Total GPU Energy"),
    ("nvidia_total_gpu_power", "Total GPU Power"),
    ("nvidia_energy_per_total_token", "Energy per Total Token"),
    ("nvidia_energy_per_output_token", "Energy per Output Token"),
    ("nvidia_energy_per_request", "Energy per Request"),
    ("nvidia_output_tokens_per_joule", "Output Tokens per Joule"),
    ("nvidia_energy_per_user", "Energy per User"),
    ("amd_energy_delay_product", "Energy Delay Product"),
    ("output_token_throughput", "Output Token Throughput"),
    ("input_token_throughput", "Input Token Throughput"),
    ("amd_performance_per_watt", "Performance per Watt"),
    (
        "amd_output_tps_per_watt",
        "Output Tokens per Second per Watt",
    ),
    ("amd_goodput_per_watt", "Goodput per Watt"),
    ("amd_average_gpu_power", "Average GPU Power"),
    ("amd_total_gpu_energy", "Total GPU Energy"),
    ("amd_total_gpu_power", "Total GPU Power"),
    ("amd_energy_per_total_token", "Energy per Total Token"),
    ("amd_energy_per_output_token", "Energy per Output Token"),
    ("rtfx", "Inverse Real-Time Factor (RTFx)"),
    ("amd_energy_per_request", "Energy per Request"),
    ("amd_output_tokens_per_joule", "Output Tokens per Joule"),
    ("image_throughput", "Image Throughput"),
    ("image_latency", "Image Latency"),
    ("amd_energy_per_user", "Energy per User"),
    ("audio_duration", "Audio Duration"),
    ("request_throughput", "Request Throughput"),
    ("goodput", "Goodput"),
    ("usage_prompt_tokens", "Usage Prompt Tokens"),
    (
        "usage_prompt_cache_read_tokens",
        "Usage Prompt Cache Read Tokens",
    ),
    (
        "usage_prompt_cache_write_tokens",
        "Usage Prompt Cache Write Tokens",
    ),
    (
        "usage_prompt_cache_miss_tokens",
        "Usage Prompt Cache Miss Tokens",
    ),
    ("usage_prompt_audio_tokens", "Usage Prompt Audio Tokens"),
    (
        "usage_tool_use_prompt_tokens",
        "Usage Tool Use Prompt Tokens",
    ),
    ("usage_prompt_audio_seconds", "Usage Prompt Audio Seconds"),
    (
        "completed_request_count",
        "Completed Requests (Success + Error)",
    ),
    ("request_error_rate", "Request Error Rate"),
    ("request_count", "Request Count"),
    ("usage_completion_tokens", "Usage Completion Tokens"),
    ("usage_reasoning_tokens", "Usage Reasoning Tokens"),
    (
        "usage_completion_audio_tokens",
        "Usage Completion Audio Tokens",
    ),
    (
        "usage_accepted_prediction_tokens",
        "Usage Accepted Prediction Tokens",
    ),
    (
        "usage_rejected_prediction_tokens",
        "Usage Rejected Prediction Tokens",
    ),
    ("usage_total_tokens", "Usage Total Tokens"),
    ("total_usage_prompt_tokens", "Total Usage Prompt Tokens"),
    ("http_req_blocked", "HTTP Blocked"),
    (
        "total_usage_prompt_cache_read_tokens",
        "Total Usage Prompt Cache Read Tokens",
    ),
    ("http_req_dns_lookup", "HTTP DNS Lookup"),
    (
        "overall_usage_prompt_cache_read_pct",
        "Overall Usage Prompt Cache Read %",
    ),
    (
        "total_usage_prompt_cache_write_tokens",
        "Total Usage Prompt Cache Write Tokens",
    ),
    (
        "total_usage_prompt_cache_miss_tokens",
        "Total Usage Prompt Cache Miss Tokens",
    ),
    (
        "total_usage_prompt_audio_tokens",
        "Total Usage Prompt Audio Tokens",
    ),
    ("http_req_connecting", "HTTP Connecting"),
    (
        "total_usage_tool_use_prompt_tokens",
        "Total Usage Tool Use Prompt Tokens",
    ),
    ("http_req_sending", "HTTP Sending"),
    (
        "total_usage_prompt_audio_seconds",
        "Total Usage Prompt Audio Seconds",
    ),
    ("http_req_waiting", "HTTP Waiting (TTFB)"),
    ("http_req_receiving", "HTTP Receiving"),
    ("http_req_connection_reused", "HTTP Connection Reused"),
    ("http_req_data_sent", "HTTP Data Sent"),
    ("http_req_chunks_sent", "HTTP Chunks Sent"),
    ("http_req_data_received", "HTTP Data Received"),
    (
        "total_usage_completion_tokens",
        "Total Usage Completion Tokens",
    ),
    ("http_req_chunks_received", "HTTP Chunks Received"),
    (
        "total_usage_reasoning_tokens",
        "Total Usage Reasoning Tokens",
    ),
    ("http_req_connection_overhead", "HTTP Connection Overhead"),
    (
        "total_usage_completion_audio_tokens",
        "Total Usage Completion Audio Tokens",
    ),
    ("http_req_duration", "HTTP Duration (excl. conn)"),
    (
        "total_usage_accepted_prediction_tokens",
        "Total Usage Accepted Prediction Tokens",
    ),
    ("http_req_total", "HTTP Total Time"),
    (
        "total_usage_rejected_prediction_tokens",
        "Total Usage Rejected Prediction Tokens",
    ),
    ("total_usage_total_tokens", "Total Usage Total Tokens"),
    ("spec_decode_acceptance_length", "Acceptance Length"),
    (
        "spec_decode_token_weighted_acceptance_length",
        "Token-Weighted Acceptance Length",
    ),
    ("spec_decode_draft_acceptance_rate", "Draft Acceptance Rate"),
    (
        "spec_decode_overall_draft_acceptance_rate",
        "Overall Draft Acceptance Rate",
    ),
    ("spec_decode_accepted_per_verified", "Accepted per Verified"),
    ("spec_decode_steps", "Spec Decode Steps"),
    ("spec_decode_accepted_draft_tokens", "Accepted Draft Tokens"),
    ("spec_decode_draft_tokens", "Draft Tokens"),
    ("total_spec_decode_steps", "Total Spec Decode Steps"),
    ("total_accepted_draft_tokens", "Total Accepted Draft Tokens"),
    ("total_draft_tokens", "Total Draft Tokens"),
    ("context_overflow_count", "Context Overflow Count"),
    ("error_request_count", "Error Request Count"),
    ("good_request_count", "Good Request Count"),
    ("max_response_timestamp", "Maximum Response Timestamp"),
    ("min_request_timestamp", "Minimum Request Timestamp"),
    ("osl_mismatch_count", "OSL Mismatch Count"),
    ("usage_discrepancy_count", "Usage Discrepancy Count"),
    ("benchmark_duration", "Benchmark Duration"),
    ("good_request_fraction", "GoodRequestFraction"),
    ("overall_thinking_efficiency", "Overall Thinking Efficiency"),
    ("replay_sched_degraded", "Replay Schedule Degraded"),
    ("replay_sched_lag_p50", "Replay Schedule Lag p50"),
    ("replay_sched_lag_p90", "Replay Schedule Lag p90"),
    ("replay_sched_lag_p99", "Replay Schedule Lag p99"),
    ("total_error_isl", "Total Error Input Sequence Length"),
    ("total_isl", "Total Input Sequence Length"),
    ("total_osl", "Total Output Sequence Length"),
    ("total_output_tokens", "Total Output Tokens"),
    ("total_reasoning_tokens", "Total Reasoning Tokens"),
    ("total_token_throughput", "Total Token Throughput"),
    ("credit_drop_latency", "Credit Drop Latency"),
    ("inter_chunk_latency", "Inter Chunk Latency"),
    ("num_images", "Number of Images"),
    ("osl_mismatch_diff_pct", "OSL Mismatch Diff %"),
    ("output_token_count", "Output Token Count"),
    ("prefill_throughput_per_user", "Prefill Throughput Per User"),
    ("reasoning_token_count", "Reasoning Token Count"),
    ("replay_send_schedule_offset", "Replay Send Schedule Offset"),
    ("requested_osl", "Requested OSL"),
    ("stream_prefill_latency", "Stream Prefill Latency"),
    ("stream_setup_latency", "Stream Setup Latency"),
    ("thinking_efficiency", "Thinking Efficiency"),
    (
        "usage_completion_tokens_diff_pct",
        "Usage Completion Diff %",
    ),
    ("usage_prompt_tokens_diff_pct", "Usage Prompt Diff %"),
    ("usage_reasoning_tokens_diff_pct", "Usage Reasoning Diff %"),
];

/// Tags in the registry whose inputs the engine does not hand over yet: their rows are
/// complete, their values absent from runs until the engine calls what is named.
const AWAITING_ENGINE: [(&str, &str); 10] = [
    ("num_images", "built (above); absent until the record processor calls `with_media`"),
    ("image_throughput", "built (above); absent until the record processor calls `with_media`"),
    ("image_latency", "built (above); absent until the record processor calls `with_media`"),
    ("audio_duration", "built (above); absent until the record processor calls `with_media` with the audio length"),
    ("rtfx", "built (above); absent until the record processor calls `with_media` with the audio length"),
    ("context_overflow_count", "built (above); absent until the record processor builds failures with `of_failure`"),
    ("replay_sched_lag_p50", "built (above); absent until a fixed-schedule run's accumulator gets `with_replay_fidelity`"),
    ("replay_sched_lag_p90", "built (above); absent until a fixed-schedule run's accumulator gets `with_replay_fidelity`"),
    ("replay_sched_lag_p99", "built (above); absent until a fixed-schedule run's accumulator gets `with_replay_fidelity`"),
    ("replay_sched_degraded", "built (above); absent until a fixed-schedule run's accumulator gets `with_replay_fidelity`"),
];

/// Where an AIPerf tag stands here.
fn aiperf_status(tag: &str) -> &'static str {
    if let Some((_, why)) = AWAITING_ENGINE.iter().find(|(t, _)| *t == tag) {
        return why;
    }
    if crate::registry::find(tag).is_some() {
        return "built (above)";
    }
    if tag.starts_with("nvidia_") || tag.starts_with("amd_") {
        return "built: GPU power efficiency, in the `gpu_telemetry` report (`aiperf-telemetry` `energy.rs`), not this table";
    }
    match tag {
        "credit_drop_latency" => "missing: needs the time the worker dropped the credit",
        "replay_send_schedule_offset" => "built (above), internal",
        _ => "missing",
    }
}

/// The whole reference page.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Metrics reference\n\n\
         Generated from `crates/aiperf-metrics/src/registry.rs` (do not edit: run\n\
         `UPDATE_DOCS=1 cargo test -p aiperf-metrics` after changing the registry).\n\n\
         Units: values are computed in the base unit and exported in the display unit. Statistics of\n\
         per-request metrics: avg, min, max, population std, sum, count and numpy's linear-interpolation\n\
         percentiles p1..p99. Metrics marked *adj_ companion* also get an `adj_<tag>` error-adjusted\n\
         version when requests failed (one +inf per failure, nearest-rank percentiles; infinite\n\
         statistics are omitted). Time-weighted metrics report duration-weighted avg, min, max, std and\n\
         p50/p90/p95/p99 over the run window. A metric that cannot be computed for a request is absent,\n\
         never zero. Flags: *streaming* (needs `--streaming`), *produces tokens* / *tokenizes input*\n\
         (endpoint metadata), *client token counts* (not with `--use-server-token-count`),\n\
         *experimental* (shown with `AIPERF_DEV_SHOW_EXPERIMENTAL_METRICS=1`), *internal* (never exported),\n\
         *off in accuracy mode* (not with `--accuracy-benchmark`). An accuracy run adds `accuracy.overall`,\n\
         `accuracy.task.<task>`, `accuracy.unparsed` and `accuracy.unparsed.task.<task>` (`{unit: ratio,\n\
         count, sum}`: graded answers and those right, or unparsed), outside this table\n\
         (`docs/accuracy.md`).\n",
    );
    let sections = [
        (Group::Default, "Main table"),
        (Group::Effective, "LLM Metrics: Effective"),
        (Group::Active, "LLM Metrics: Active"),
        (Group::Usage, "LLM Metrics: Usage"),
        (
            Group::SpecDecode,
            "Spec Decode (exported; console section not printed yet)",
        ),
        (Group::Hidden, "Exported, not printed"),
    ];
    for (group, title) in sections {
        let mut rows: Vec<_> = REGISTRY
            .iter()
            .enumerate()
            .filter(|(_, m)| m.group == group)
            .collect();
        rows.sort_by_key(|(i, m)| (m.display_order, *i));
        out.push_str(&format!("\n## {title}\n\n| tag | header | kind | unit | flags | definition |\n|---|---|---|---|---|---|\n"));
        for (_, m) in rows {
            let unit = if m.unit == m.display_unit {
                m.display_unit.label().to_string()
            } else {
                format!("{} → {}", m.unit.label(), m.display_unit.label())
            };
            let kind = match m.kind {
                MetricKind::Record(_) => "per request",
                MetricKind::ErrorRecord(_) => "per failed request",
                MetricKind::Counter(_) => "counter",
                MetricKind::Derived(_) => "run",
                MetricKind::Timeline(_) => "time-weighted",
            };
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} |\n",
                m.tag,
                m.header,
                kind,
                unit,
                flag_names(m.flags),
                m.doc.replace('|', "\\|")
            ));
        }
    }
    out.push_str(
        "\n## AIPerf 0.13's tags\n\nEvery tag of AIPerf 0.13's metric registry, in its console order, and where it stands here.\n\n| tag | header | status |\n|---|---|---|\n",
    );
    for (tag, header) in AIPERF_TAGS {
        out.push_str(&format!(
            "| `{tag}` | {header} | {} |\n",
            aiperf_status(tag)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn docs_metrics_md_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/metrics.md");
        let current = super::markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, &current).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == current,
            "docs/metrics.md is stale: run `UPDATE_DOCS=1 cargo test -p aiperf-metrics`"
        );
    }
}
