//! `--metrics-style dynamo`: the Dynamo frontend's `/metrics` page, `dynamo_frontend_*`.

use std::sync::atomic::Ordering;

use super::prometheus::{Series::*, Text};
use super::{Endpoint, Gauges, Metrics, MODEL};

pub(super) fn page(m: &Metrics, g: &Gauges) -> String {
    let l = format!("model=\"{MODEL}\"");
    let r = &m.rec;
    let mut t = Text::new(false);
    #[rustfmt::skip]
    t.series(&l, &[
        ("dynamo_frontend_inflight_requests", "Number of inflight requests",
            Gauge((g.running + g.waiting) as f64)),
        ("dynamo_frontend_queued_requests", "Number of requests in HTTP processing queue",
            Gauge(g.waiting as f64)),
    ]);
    let name = "dynamo_frontend_requests_total";
    t.head(name, "counter", "Total number of LLM requests processed");
    for (e, by_type) in Endpoint::ALL.iter().zip(&m.dynamo_requests) {
        for (request_type, by_status) in ["unary", "stream"].into_iter().zip(by_type) {
            for (status, n) in ["success", "error"].into_iter().zip(by_status) {
                let n = n.load(Ordering::Relaxed);
                if n > 0 {
                    let labels = format!(
                        "endpoint=\"{}\",model=\"{MODEL}\",request_type=\"{request_type}\",status=\"{status}\"",
                        e.label()
                    );
                    t.sample(name, &labels, n as f64);
                }
            }
        }
    }
    #[rustfmt::skip]
    t.series(&l, &[
        ("dynamo_frontend_output_tokens_total", "Total number of output tokens generated",
            Counter(m.generation_tokens.load(Ordering::Relaxed))),
        ("dynamo_frontend_time_to_first_token_seconds", "Time to first token in seconds",
            Histogram(&r.ttft)),
        ("dynamo_frontend_inter_token_latency_seconds", "Inter-token latency in seconds",
            Histogram(&r.itl)),
        ("dynamo_frontend_request_duration_seconds", "Duration of LLM requests",
            Histogram(&r.e2e)),
        ("dynamo_frontend_input_sequence_tokens", "Input sequence length in tokens",
            Histogram(&r.prompt)),
        ("dynamo_frontend_output_sequence_tokens", "Output sequence length in tokens",
            Histogram(&r.generation)),
    ]);
    t.mock_errors(m);
    t.out
}
