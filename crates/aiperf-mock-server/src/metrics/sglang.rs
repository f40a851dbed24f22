//! `--metrics-style sglang`: SGLang's `/metrics` page, `sglang:*`.

use std::sync::atomic::Ordering;

use super::prometheus::{Series::*, Text};
use super::{Gauges, Metrics, MODEL};

pub(super) fn page(m: &Metrics, g: &Gauges) -> String {
    let l = format!("model_name=\"{MODEL}\"");
    let r = &m.rec;
    let mut t = Text::new(true);
    let used = (g.kv_usage * m.kv_capacity as f64).round();
    #[rustfmt::skip]
    t.series(&l, &[
        ("sglang:num_running_reqs", "The number of running requests.", Gauge(g.running as f64)),
        ("sglang:num_used_tokens", "The number of used tokens.", Gauge(used)),
        ("sglang:token_usage", "The token usage.", Gauge(g.kv_usage)),
        ("sglang:max_total_num_tokens", "Maximum total number of tokens.",
            Gauge(m.kv_capacity as f64)),
        ("sglang:gen_throughput", "The generation throughput (token/s).",
            Gauge(m.rate.per_second(m.started.elapsed()))),
        ("sglang:num_queue_reqs", "The number of requests in the waiting queue.",
            Gauge(g.waiting as f64)),
        ("sglang:cache_hit_rate", "The prefix cache hit rate.", Gauge(m.cache_hit_rate())),
        ("sglang:prompt_tokens_total", "Number of prefill tokens processed.",
            Counter(m.prompt_tokens.load(Ordering::Relaxed))),
        ("sglang:generation_tokens_total", "Number of generation tokens processed.",
            Counter(m.generation_tokens.load(Ordering::Relaxed))),
        ("sglang:num_requests_total", "Number of requests processed.",
            Counter(m.finished(0) + m.finished(1))),
        ("sglang:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
            Histogram(&r.ttft)),
        ("sglang:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.",
            Histogram(&r.itl)),
        ("sglang:e2e_request_latency_seconds", "Histogram of End-to-end request latency in seconds",
            Histogram(&r.e2e)),
        ("sglang:request_time_per_output_token_seconds",
            "Histogram of time per output token per request.", Histogram(&r.tpot)),
        ("sglang:request_prompt_tokens", "Histogram of prompt tokens per request.",
            Histogram(&r.prompt)),
        ("sglang:request_generation_tokens", "Histogram of generation tokens per request.",
            Histogram(&r.generation)),
    ]);
    t.mock_errors(m);
    t.out
}
