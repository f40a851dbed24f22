//! `--metrics-style vllm` (the default): vLLM's `/metrics` page, `vllm:*`.

use std::sync::atomic::Ordering;

use super::prometheus::{Series::*, Text};
use super::{Gauges, Metrics, MODEL};

pub(super) fn page(m: &Metrics, g: &Gauges) -> String {
    let l = format!("model_name=\"{MODEL}\",engine=\"0\"");
    let r = &m.rec;
    let mut t = Text::new(true);
    #[rustfmt::skip]
    t.series(&l, &[
        ("vllm:num_requests_running", "Number of requests in model execution batches.",
            Gauge(g.running as f64)),
        ("vllm:num_requests_waiting", "Number of requests waiting to be processed.",
            Gauge(g.waiting as f64)),
        ("vllm:gpu_cache_usage_perc", "GPU KV-cache usage. 1 means 100 percent usage.",
            Gauge(g.kv_usage)),
        ("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.",
            Gauge(g.kv_usage)),
        ("vllm:prefix_cache_queries_total",
            "Prefix cache queries, in terms of number of queried tokens.",
            Counter(m.prompt_tokens.load(Ordering::Relaxed))),
        ("vllm:prefix_cache_hits_total", "Prefix cache hits, in terms of number of cached tokens.",
            Counter(m.cache_hits())),
        ("vllm:num_preemptions_total", "Cumulative number of preemption from the engine.",
            Counter(0)),
        ("vllm:prompt_tokens_total", "Number of prefill tokens processed.",
            Counter(m.prompt_tokens.load(Ordering::Relaxed))),
        ("vllm:generation_tokens_total", "Number of generation tokens processed.",
            Counter(m.generation_tokens.load(Ordering::Relaxed))),
    ]);
    t.success_by_reason(
        m,
        "vllm:request_success_total",
        "Count of successfully processed requests.",
        &l,
    );
    #[rustfmt::skip]
    t.series(&l, &[
        ("vllm:request_prompt_tokens", "Number of prefill tokens processed.", Histogram(&r.prompt)),
        ("vllm:request_generation_tokens", "Number of generation tokens processed.",
            Histogram(&r.generation)),
        ("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
            Histogram(&r.ttft)),
        ("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.",
            Histogram(&r.itl)),
        ("vllm:request_time_per_output_token_seconds",
            "Histogram of time_per_output_token_seconds per request.", Histogram(&r.tpot)),
        ("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.",
            Histogram(&r.e2e)),
        ("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.",
            Histogram(&r.queue)),
    ]);
    t.mock_errors(m);
    t.out
}
