//! `--metrics-style trtllm`: trtllm-serve's Prometheus page (`GET /prometheus/metrics`,
//! `trtllm_*`) and its iteration-stats JSON (`GET /metrics`).

use std::sync::atomic::Ordering;

use serde_json::json;

use super::prometheus::{Series::*, Text};
use super::{Gauges, Metrics, MODEL};
use crate::server::State;

pub(super) fn page(m: &Metrics, g: &Gauges) -> String {
    let l = format!("engine_type=\"trtllm\",model_name=\"{MODEL}\"");
    let r = &m.rec;
    let mut t = Text::new(true);
    t.success_by_reason(
        m,
        "trtllm_request_success_total",
        "Count of successfully processed requests.",
        &l,
    );
    #[rustfmt::skip]
    t.series(&l, &[
        ("trtllm_prompt_tokens_total", "Cumulative number of prompt (input) tokens processed.",
            Counter(m.prompt_tokens.load(Ordering::Relaxed))),
        ("trtllm_generation_tokens_total",
            "Cumulative number of generation (output) tokens produced.",
            Counter(m.generation_tokens.load(Ordering::Relaxed))),
        ("trtllm_num_requests_running", "Number of active requests", Gauge(g.running as f64)),
        ("trtllm_num_requests_waiting", "Number of queued requests", Gauge(g.waiting as f64)),
        ("trtllm_e2e_request_latency_seconds",
            "Histogram of end to end request latency in seconds.", Histogram(&r.e2e)),
        ("trtllm_time_to_first_token_seconds", "Histogram of time to first token in seconds.",
            Histogram(&r.ttft)),
        ("trtllm_time_per_output_token_seconds", "Histogram of time per output token in seconds.",
            Histogram(&r.tpot)),
        ("trtllm_request_queue_time_seconds",
            "Histogram of time spent in WAITING phase for request.", Histogram(&r.queue)),
        ("trtllm_kv_cache_hit_rate", "KV cache hit rate.", Gauge(m.cache_hit_rate())),
        ("trtllm_kv_cache_utilization", "KV cache utilization.", Gauge(g.kv_usage)),
    ]);
    t.mock_errors(m);
    t.out
}

/// KV-cache block size in trtllm-serve's iteration stats.
const TOKENS_PER_BLOCK: u64 = 32;

/// trtllm-serve's `GET /metrics`: a JSON array of iteration stats (here always one, the state
/// at the time of the read).
pub(super) fn iteration_stats(state: &State) -> serde_json::Value {
    let m = &state.metrics;
    let g = Gauges::read(state);
    let max_blocks = m.kv_capacity.div_ceil(TOKENS_PER_BLOCK);
    let used_blocks = ((g.kv_usage * m.kv_capacity as f64) as u64)
        .div_ceil(TOKENS_PER_BLOCK)
        .min(max_blocks);
    let hits = m.cache_hits();
    let queries = m.prompt_tokens.load(Ordering::Relaxed);
    let (reused, missed) = (hits / TOKENS_PER_BLOCK, (queries - hits) / TOKENS_PER_BLOCK);
    let gpu = m.gpus.snapshot(state);
    json!([{
        "cpuMemUsage": 0,
        "gpuMemUsage": gpu.fb_used_mib * 1024 * 1024,
        "pinnedMemUsage": 0,
        "iter": m.scrapes.load(Ordering::Relaxed),
        "iterLatencyMS": state.cfg.itl_ms(),
        "maxNumActiveRequests": state.cfg.capacity().unwrap_or(2048),
        "newActiveRequestsQueueLatencyMS": 0.0,
        "numActiveRequests": g.running,
        "numCompletedRequests": m.rec.e2e.snapshot().0.last().copied().unwrap_or(0),
        "numNewActiveRequests": 0,
        "numQueuedRequests": g.waiting,
        "timestamp": trtllm_timestamp(std::time::SystemTime::now()),
        "kvCacheStats": {
            "allocNewBlocks": missed,
            "allocTotalBlocks": reused + missed,
            "cacheHitRate": m.cache_hit_rate(),
            "freeNumBlocks": max_blocks - used_blocks,
            "maxNumBlocks": max_blocks,
            "missedBlocks": missed,
            "reusedBlocks": reused,
            "tokensPerBlock": TOKENS_PER_BLOCK,
            "usedNumBlocks": used_blocks,
        },
        "inflightBatchingStats": {
            "avgNumDecodedTokensPerIter": 1.0,
            "microBatchId": 0,
            "numContextRequests": 0,
            "numCtxTokens": 0,
            "numGenRequests": g.running,
            "numPausedRequests": 0,
            "numScheduledRequests": g.running,
        },
        "staticBatchingStats": null,
    }])
}

/// `MM-DD-YYYY HH:MM:SS` (UTC), trtllm-serve's iteration-stats timestamp.
fn trtllm_timestamp(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, mo, d) = civil_from_days(days);
    format!(
        "{mo:02}-{d:02}-{y:04} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// (year, month, day) of `days` since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn trtllm_timestamps_are_civil_dates() {
        let t = std::time::UNIX_EPOCH + Duration::from_secs(1_709_251_199); // 2024-02-29 23:59:59
        assert_eq!(trtllm_timestamp(t), "02-29-2024 23:59:59");
    }
}
