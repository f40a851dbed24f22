//! Per-request metrics of a finished request, in base units (ns, tokens), by AIPerf's formulas
//! (spec §2.3).

/// What the metrics stage needs to know about one finished request.
#[derive(Debug, Clone, Default)]
pub struct RecordInput<'a> {
    /// Request start on the run clock (ns).
    pub start_ns: u64,
    /// Arrival times of the content responses, in order (responses with no content excluded).
    pub content_ns: &'a [u64],
    /// Input tokens (client tokenizer, or server usage with `--use-server-token-count`).
    pub input_tokens: Option<u64>,
    /// Non-reasoning output tokens.
    pub output_tokens: Option<u64>,
    /// Reasoning tokens.
    pub reasoning_tokens: Option<u64>,
}

/// A per-request metric value.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordValue {
    Scalar(f64),
    /// A list of values (one per chunk gap) pooled across requests.
    List(Vec<f64>),
}

/// Every per-request value; `None` means "not computable for this request" (never zero-filled).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordMetrics {
    pub time_to_first_token: Option<f64>,
    pub time_to_second_token: Option<f64>,
    pub request_latency: Option<f64>,
    pub decode_duration: Option<f64>,
    pub inter_token_latency: Option<f64>,
    pub output_token_throughput_per_user: Option<f64>,
    pub e2e_output_token_throughput: Option<f64>,
    pub output_sequence_length: Option<f64>,
    pub input_sequence_length: Option<f64>,
    pub output_token_count: Option<f64>,
    pub reasoning_token_count: Option<f64>,
    pub inter_chunk_latency: Vec<f64>,
    pub prefill_throughput_per_user: Option<f64>,
}

/// Per-request values of a failed request is just its input length (`error_isl`).
pub type RecordValues = RecordMetrics;

impl RecordMetrics {
    /// Metrics of a successful request. Returns `None` when it has no content response, which
    /// AIPerf turns into an error record.
    pub fn of_success(input: &RecordInput<'_>) -> Option<RecordMetrics> {
        let first = *input.content_ns.first()?;
        let last = *input.content_ns.last()?;
        let start = input.start_ns;
        let ttft = first.checked_sub(start)? as f64;
        let latency = last.checked_sub(start)? as f64;
        let mut m = RecordMetrics {
            time_to_first_token: Some(ttft),
            request_latency: Some(latency),
            decode_duration: Some(latency - ttft),
            input_sequence_length: input.input_tokens.map(|v| v as f64),
            output_token_count: input.output_tokens.filter(|&v| v > 0).map(|v| v as f64),
            reasoning_token_count: input.reasoning_tokens.filter(|&v| v > 0).map(|v| v as f64),
            ..Default::default()
        };
        if let [_, second, ..] = input.content_ns {
            m.time_to_second_token = Some(second.saturating_sub(first) as f64);
        }
        m.inter_chunk_latency = input
            .content_ns
            .windows(2)
            .map(|w| w[1].saturating_sub(w[0]) as f64)
            .collect();
        let osl = match (input.output_tokens, input.reasoning_tokens) {
            (None, None) => None,
            (o, r) => Some(o.unwrap_or(0) + r.unwrap_or(0)),
        };
        m.output_sequence_length = osl.map(|v| v as f64);
        if let Some(osl) = osl {
            if osl >= 2 {
                let itl = (latency - ttft) / (osl - 1) as f64;
                m.inter_token_latency = Some(itl);
                if itl > 0.0 {
                    m.output_token_throughput_per_user = Some(1e9 / itl);
                }
            }
            if latency > 0.0 {
                m.e2e_output_token_throughput = Some(osl as f64 / (latency / 1e9));
            }
        }
        if let (Some(isl), true) = (input.input_tokens, ttft > 0.0) {
            m.prefill_throughput_per_user = Some(isl as f64 / (ttft / 1e9));
        }
        Some(m)
    }

    /// Metrics of a failed request: only its input length.
    pub fn of_error(input_tokens: Option<u64>) -> RecordMetrics {
        RecordMetrics {
            input_sequence_length: input_tokens.map(|v| v as f64),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn streamed_request_by_hand() {
        // Start at 1 ms; content at 21, 26, 31, 41 ms; 5 output tokens; 100 input tokens.
        let content = [21 * MS, 26 * MS, 31 * MS, 41 * MS];
        let m = RecordMetrics::of_success(&RecordInput {
            start_ns: MS,
            content_ns: &content,
            input_tokens: Some(100),
            output_tokens: Some(5),
            reasoning_tokens: None,
        })
        .unwrap();
        assert_eq!(m.time_to_first_token, Some(20e6));
        assert_eq!(m.time_to_second_token, Some(5e6));
        assert_eq!(m.request_latency, Some(40e6));
        assert_eq!(m.decode_duration, Some(20e6));
        // ITL = (40 - 20) ms / (5 - 1) = 5 ms; per-user throughput = 200 tokens/s.
        assert_eq!(m.inter_token_latency, Some(5e6));
        assert_eq!(m.output_token_throughput_per_user, Some(200.0));
        // E2E = 5 tokens / 0.040 s = 125 tokens/s.
        assert!((m.e2e_output_token_throughput.unwrap() - 125.0).abs() < 1e-9);
        // Prefill = 100 tokens / 0.020 s = 5000 tokens/s.
        assert!((m.prefill_throughput_per_user.unwrap() - 5000.0).abs() < 1e-9);
        assert_eq!(m.inter_chunk_latency, vec![5e6, 5e6, 10e6]);
        assert_eq!(m.output_sequence_length, Some(5.0));
        assert_eq!(m.output_token_count, Some(5.0));
        assert_eq!(m.reasoning_token_count, None);
    }

    #[test]
    fn one_token_response_has_no_itl_or_ttst() {
        let content = [10 * MS];
        let m = RecordMetrics::of_success(&RecordInput {
            start_ns: 0,
            content_ns: &content,
            input_tokens: Some(3),
            output_tokens: Some(1),
            reasoning_tokens: None,
        })
        .unwrap();
        assert_eq!(m.time_to_first_token, Some(10e6));
        assert_eq!(m.request_latency, Some(10e6));
        assert_eq!(m.time_to_second_token, None);
        assert_eq!(m.inter_token_latency, None);
        assert_eq!(m.output_token_throughput_per_user, None);
        assert!(m.inter_chunk_latency.is_empty());
        assert_eq!(m.e2e_output_token_throughput, Some(100.0));
    }

    #[test]
    fn zero_tokens_and_reasoning() {
        let content = [2 * MS, 4 * MS];
        let zero = RecordMetrics::of_success(&RecordInput {
            start_ns: 0,
            content_ns: &content,
            input_tokens: None,
            output_tokens: Some(0),
            reasoning_tokens: None,
        })
        .unwrap();
        assert_eq!(zero.output_sequence_length, Some(0.0));
        assert_eq!(
            zero.output_token_count, None,
            "zero output tokens is absent, not 0"
        );
        assert_eq!(zero.inter_token_latency, None);
        assert_eq!(zero.input_sequence_length, None);
        let reasoning = RecordMetrics::of_success(&RecordInput {
            start_ns: 0,
            content_ns: &content,
            input_tokens: None,
            output_tokens: Some(2),
            reasoning_tokens: Some(3),
        })
        .unwrap();
        assert_eq!(
            reasoning.output_sequence_length,
            Some(5.0),
            "OSL includes reasoning"
        );
        assert_eq!(reasoning.reasoning_token_count, Some(3.0));
    }

    #[test]
    fn no_content_is_not_a_success() {
        assert!(RecordMetrics::of_success(&RecordInput {
            start_ns: 0,
            content_ns: &[],
            ..Default::default()
        })
        .is_none());
        assert_eq!(
            RecordMetrics::of_error(Some(7)).input_sequence_length,
            Some(7.0)
        );
    }
}
