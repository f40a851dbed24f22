//! Per-request metrics of a finished request, in base units (ns, tokens, bytes), by AIPerf's
//! formulas (spec §2.3). A value that cannot be computed is `None`, never zero-filled.

use serde_json::Value;

use crate::usage::Usage;

/// Fraction of a usage count that may differ from the client's count before it is flagged
/// (AIPERF_METRICS_USAGE_PCT_DIFF_THRESHOLD).
pub const USAGE_DIFF_THRESHOLD_PCT: f64 = 10.0;
/// OSL mismatch tolerance: `min(requested * 5 %, 50 tokens)` (AIPERF_METRICS_OSL_MISMATCH_*).
pub const OSL_MISMATCH_PCT: f64 = 5.0;
pub const OSL_MISMATCH_MAX_TOKENS: f64 = 50.0;

/// HTTP-level timings of one request (k6-style), in ns and bytes.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HttpTrace {
    /// Waiting for a pooled connection.
    pub blocked_ns: u64,
    /// Opening a new connection (0 when one was reused).
    pub connecting_ns: u64,
    /// Writing the request.
    pub sending_ns: u64,
    /// Request written -> response head.
    pub waiting_ns: u64,
    /// Response head -> end of body.
    pub receiving_ns: u64,
    pub reused: bool,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub chunks_received: u64,
}

/// What the metrics stage needs to know about one finished request.
#[derive(Debug, Clone, Default)]
pub struct RecordInput<'a> {
    /// When the timing stage issued the credit (run clock ns).
    pub credit_issued_ns: u64,
    /// When the schedule meant the request to go out (rate and replay modes).
    pub intended_ns: Option<u64>,
    /// Request start (run clock ns).
    pub start_ns: u64,
    /// When the response head arrived, if it did.
    pub response_head_ns: Option<u64>,
    /// When the request finished.
    pub end_ns: u64,
    /// Arrival times of the content responses, in order (responses with no content excluded).
    pub content_ns: &'a [u64],
    /// Arrival of the first content response carrying non-reasoning output.
    pub first_output_ns: Option<u64>,
    /// Input tokens (client tokenizer, or server usage with `--use-server-token-count`).
    pub input_tokens: Option<u64>,
    /// Non-reasoning output tokens.
    pub output_tokens: Option<u64>,
    /// Reasoning tokens.
    pub reasoning_tokens: Option<u64>,
    /// Output length requested (`max_tokens`).
    pub requested_osl: Option<u64>,
    /// Tokens in the first content chunk, from cumulative per-chunk usage (`--per-chunk-usage`).
    pub first_chunk_tokens: Option<u64>,
    /// The last non-empty `usage` object the server sent.
    pub usage: Option<&'a Value>,
    pub http: Option<HttpTrace>,
}

/// A per-request metric value.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordValue {
    Scalar(f64),
    /// A list of values (one per chunk gap) pooled across requests.
    List(Vec<f64>),
}

/// Every per-request value; `None` means "not computable for this request".
/// Serde derives serve the lossless shard records file (`aiperf-export` `merge_records`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecordMetrics {
    pub time_to_first_token: Option<f64>,
    pub time_to_second_token: Option<f64>,
    pub time_to_first_output_token: Option<f64>,
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
    pub stream_setup_latency: Option<f64>,
    pub stream_prefill_latency: Option<f64>,
    pub thinking_efficiency: Option<f64>,
    pub requested_osl: Option<f64>,
    pub osl_mismatch_diff_pct: Option<f64>,
    pub credit_to_start_latency: Option<f64>,
    pub effective_latency: Option<f64>,
    pub schedule_lateness: Option<f64>,
    pub send_lateness: Option<f64>,
    pub co_corrected_time_to_first_token: Option<f64>,
    pub co_corrected_request_latency: Option<f64>,
    pub usage: Usage,
    pub usage_prompt_tokens_diff_pct: Option<f64>,
    pub usage_completion_tokens_diff_pct: Option<f64>,
    pub usage_reasoning_tokens_diff_pct: Option<f64>,
    pub http: Option<HttpTrace>,
    /// Run-clock bounds kept for time-weighted metrics: start, first token, end.
    pub timeline: Option<(u64, Option<u64>, u64)>,
    /// Whether a failed request's error says the prompt did not fit the model's context
    /// (`context_overflow_count`); `None` when its message was not classified.
    pub context_overflow: Option<bool>,
    /// Speculative-decoding acceptance the server reported (vLLM), if any.
    pub spec_decode: Option<crate::spec_decode::SpecDecode>,
    /// Images sent (absent when none).
    pub num_images: Option<f64>,
    /// Images / request latency in seconds.
    pub image_throughput: Option<f64>,
    /// Request latency in ms / images.
    pub image_latency: Option<f64>,
    /// Seconds of input audio (ASR requests).
    pub audio_duration: Option<f64>,
    /// Audio duration / request latency (real-time factor).
    pub rtfx: Option<f64>,
    /// The video server's own inference time (seconds).
    pub video_inference_time: Option<f64>,
    /// The video server's peak memory (MB).
    pub video_peak_memory: Option<f64>,
    /// Request start minus intended send time, signed (a request sent early is negative):
    /// `replay_send_schedule_offset`, the input of the replay fidelity metrics.
    pub replay_send_schedule_offset: Option<f64>,
}

/// AIPerf's context-overflow allowlist (`AIPERF_AGENTX_CONTEXT_OVERFLOW_SUBSTRINGS`), matched
/// case-insensitively.
pub const CONTEXT_OVERFLOW_SUBSTRINGS: [&str; 4] = [
    "context length",
    "maximum context",
    "context_length_exceeded",
    "prompt is too long",
];

/// Whether an error body says the request overflowed the context (AIPerf's
/// `is_context_overflow_response`): the raw text, then an OpenAI-style `error.message` (whose
/// JSON escapes the raw match cannot see through).
pub fn is_context_overflow(body: &str) -> bool {
    let hit = |text: &str| {
        let lower = text.to_lowercase();
        CONTEXT_OVERFLOW_SUBSTRINGS
            .iter()
            .any(|s| lower.contains(s))
    };
    if body.is_empty() {
        return false;
    }
    hit(body)
        || serde_json::from_str::<Value>(body).ok().is_some_and(|v| {
            v.get("error")
                .and_then(|e| e.get("message"))
                .and_then(Value::as_str)
                .is_some_and(hit)
        })
}

/// Per-request values of a failed request is just its input length (`error_isl`).
pub type RecordValues = RecordMetrics;

fn pct_diff(reported: Option<f64>, client: Option<f64>) -> Option<f64> {
    match (reported, client) {
        (Some(r), Some(c)) if c > 0.0 => Some((r - c).abs() / c * 100.0),
        _ => None,
    }
}

impl RecordMetrics {
    /// Metrics of a successful request. `None` when it has no content response, which AIPerf
    /// turns into an error record.
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
            time_to_first_output_token: input
                .first_output_ns
                .and_then(|t| t.checked_sub(start))
                .map(|v| v as f64),
            requested_osl: input.requested_osl.map(|v| v as f64),
            credit_to_start_latency: Some(start.saturating_sub(input.credit_issued_ns) as f64),
            effective_latency: Some(last.saturating_sub(input.credit_issued_ns) as f64),
            schedule_lateness: input
                .intended_ns
                .map(|t| input.credit_issued_ns.saturating_sub(t) as f64),
            send_lateness: input.intended_ns.map(|t| start.saturating_sub(t) as f64),
            replay_send_schedule_offset: input.intended_ns.map(|t| start as f64 - t as f64),
            co_corrected_time_to_first_token: input
                .intended_ns
                .map(|t| first.saturating_sub(t) as f64),
            co_corrected_request_latency: input.intended_ns.map(|t| last.saturating_sub(t) as f64),
            usage: input.usage.and_then(Usage::parse).unwrap_or_default(),
            spec_decode: input
                .usage
                .and_then(crate::spec_decode::SpecDecode::from_usage),
            video_inference_time: crate::media::video_stat(input.usage, "inference_time_s"),
            video_peak_memory: crate::media::video_stat(input.usage, "peak_memory_mb"),
            http: input.http.clone(),
            timeline: Some((start, Some(first), last)),
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
        if let Some(head) = input.response_head_ns.and_then(|h| h.checked_sub(start)) {
            m.stream_setup_latency = Some(head as f64);
            m.stream_prefill_latency = Some((ttft - head as f64).max(0.0));
        }
        let osl = match (input.output_tokens, input.reasoning_tokens) {
            (None, None) => None,
            (o, r) => Some(o.unwrap_or(0) + r.unwrap_or(0)),
        };
        m.output_sequence_length = osl.map(|v| v as f64);
        if let Some(osl) = osl {
            // k = tokens in the first chunk (per-chunk usage), else 1; back to 1 when unusable.
            let k = input
                .first_chunk_tokens
                .filter(|&k| k > 0 && osl > k)
                .unwrap_or(1);
            if osl >= 2 {
                let itl = (latency - ttft) / (osl - k) as f64;
                m.inter_token_latency = Some(itl);
                if itl > 0.0 {
                    m.output_token_throughput_per_user = Some(1e9 / itl);
                }
            }
            if latency > 0.0 {
                m.e2e_output_token_throughput = Some(osl as f64 / (latency / 1e9));
            }
            if let Some(req) = input.requested_osl.filter(|&r| r > 0) {
                m.osl_mismatch_diff_pct = Some((osl as f64 - req as f64) / req as f64 * 100.0);
            }
        }
        if let (Some(out), Some(r)) = (m.output_token_count, m.reasoning_token_count) {
            m.thinking_efficiency = Some(r / out);
        }
        if let (Some(isl), true) = (input.input_tokens, ttft > 0.0) {
            m.prefill_throughput_per_user = Some(isl as f64 / (ttft / 1e9));
        }
        m.usage_prompt_tokens_diff_pct = pct_diff(m.usage.prompt, m.input_sequence_length);
        m.usage_completion_tokens_diff_pct = pct_diff(m.usage.completion, m.output_sequence_length);
        m.usage_reasoning_tokens_diff_pct = pct_diff(m.usage.reasoning, m.reasoning_token_count);
        Some(m)
    }

    /// Metrics of a failed request: its input length, and HTTP timings if any.
    pub fn of_error(input_tokens: Option<u64>) -> RecordMetrics {
        RecordMetrics {
            input_sequence_length: input_tokens.map(|v| v as f64),
            ..Default::default()
        }
    }

    /// Adds the image and audio metrics of a successful request from what it sent: `images`
    /// (from [`crate::media::MediaCounts::from_body`]) and the seconds of audio, if any (AIPerf's
    /// `num_images`, `image_throughput`, `image_latency`, `audio_duration`, `rtfx`).
    pub fn with_media(mut self, images: u64, audio_duration_s: Option<f64>) -> RecordMetrics {
        let latency_ns = self.request_latency.filter(|l| *l > 0.0);
        if images > 0 {
            let n = images as f64;
            self.num_images = Some(n);
            self.image_throughput = latency_ns.map(|l| n / (l / 1e9));
            self.image_latency = self.request_latency.map(|l| l / 1e6 / n);
        }
        if let Some(audio) = audio_duration_s.filter(|a| *a > 0.0 && a.is_finite()) {
            self.audio_duration = Some(audio);
            self.rtfx = latency_ns.map(|l| audio / (l / 1e9));
        }
        self
    }

    /// Metrics of a failed request from its error message: its input length and whether the
    /// error is a context overflow.
    pub fn of_failure(input_tokens: Option<u64>, error_message: &str) -> RecordMetrics {
        RecordMetrics {
            context_overflow: Some(is_context_overflow(error_message)),
            ..RecordMetrics::of_error(input_tokens)
        }
    }

    /// Whether any usage count differs from the client's count by more than the threshold.
    pub fn usage_discrepant(&self) -> bool {
        [
            self.usage_prompt_tokens_diff_pct,
            self.usage_completion_tokens_diff_pct,
            self.usage_reasoning_tokens_diff_pct,
        ]
        .iter()
        .flatten()
        .any(|d| *d > USAGE_DIFF_THRESHOLD_PCT)
    }

    /// Whether the output length missed the requested one by more than the tolerance.
    pub fn osl_mismatched(&self) -> bool {
        match (self.output_sequence_length, self.requested_osl) {
            (Some(osl), Some(req)) if req > 0.0 => {
                (osl - req).abs() > (req * OSL_MISMATCH_PCT / 100.0).min(OSL_MISMATCH_MAX_TOKENS)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MS: u64 = 1_000_000;

    fn input(content: &[u64]) -> RecordInput<'_> {
        RecordInput {
            content_ns: content,
            ..Default::default()
        }
    }

    #[test]
    fn streamed_request_by_hand() {
        // Credit at 0.5 ms, start at 1 ms, head at 3 ms; content at 21, 26, 31, 41 ms;
        // 5 output tokens; 100 input tokens.
        let content = [21 * MS, 26 * MS, 31 * MS, 41 * MS];
        let m = RecordMetrics::of_success(&RecordInput {
            credit_issued_ns: MS / 2,
            start_ns: MS,
            response_head_ns: Some(3 * MS),
            end_ns: 42 * MS,
            first_output_ns: Some(21 * MS),
            input_tokens: Some(100),
            output_tokens: Some(5),
            requested_osl: Some(5),
            ..input(&content)
        })
        .unwrap();
        assert_eq!(m.time_to_first_token, Some(20e6));
        assert_eq!(m.time_to_first_output_token, Some(20e6));
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
        assert_eq!(
            (
                m.output_sequence_length,
                m.output_token_count,
                m.reasoning_token_count
            ),
            (Some(5.0), Some(5.0), None)
        );
        assert_eq!(
            (m.stream_setup_latency, m.stream_prefill_latency),
            (Some(2e6), Some(18e6))
        );
        // Credit to start 0.5 ms; CO-aware latency from the credit: 41 - 0.5 = 40.5 ms.
        assert_eq!(
            (m.credit_to_start_latency, m.effective_latency),
            (Some(0.5e6), Some(40.5e6))
        );
        assert_eq!(m.osl_mismatch_diff_pct, Some(0.0));
        assert!(!m.osl_mismatched());
        assert_eq!(m.schedule_lateness, None, "closed loop: no intended time");
    }

    #[test]
    fn coordinated_omission_corrected_latency() {
        // Intended at 0, credit released 0.2 ms late, sent at 5 ms (waited for a slot),
        // first token at 15 ms, last at 25 ms.
        let content = [15 * MS, 25 * MS];
        let m = RecordMetrics::of_success(&RecordInput {
            intended_ns: Some(0),
            credit_issued_ns: MS / 5,
            start_ns: 5 * MS,
            output_tokens: Some(2),
            ..input(&content)
        })
        .unwrap();
        assert_eq!(m.schedule_lateness, Some(0.2e6));
        assert_eq!(m.send_lateness, Some(5e6));
        assert_eq!(
            (m.time_to_first_token, m.co_corrected_time_to_first_token),
            (Some(10e6), Some(15e6))
        );
        assert_eq!(
            (m.request_latency, m.co_corrected_request_latency),
            (Some(20e6), Some(25e6))
        );
    }

    #[test]
    fn one_token_response_has_no_itl_or_ttst() {
        let content = [10 * MS];
        let m = RecordMetrics::of_success(&RecordInput {
            input_tokens: Some(3),
            output_tokens: Some(1),
            ..input(&content)
        })
        .unwrap();
        assert_eq!(
            (m.time_to_first_token, m.request_latency),
            (Some(10e6), Some(10e6))
        );
        assert_eq!(
            (
                m.time_to_second_token,
                m.inter_token_latency,
                m.output_token_throughput_per_user
            ),
            (None, None, None)
        );
        assert!(m.inter_chunk_latency.is_empty());
        assert_eq!(m.e2e_output_token_throughput, Some(100.0));
    }

    #[test]
    fn zero_tokens_reasoning_and_thinking_efficiency() {
        let content = [2 * MS, 4 * MS];
        let zero = RecordMetrics::of_success(&RecordInput {
            output_tokens: Some(0),
            ..input(&content)
        })
        .unwrap();
        assert_eq!(zero.output_sequence_length, Some(0.0));
        assert_eq!(
            zero.output_token_count, None,
            "zero output tokens is absent, not 0"
        );
        assert_eq!(
            (zero.inter_token_latency, zero.input_sequence_length),
            (None, None)
        );
        // Reasoning first (2 ms), output later (4 ms): TTFT 2 ms, TTFO 4 ms.
        let r = RecordMetrics::of_success(&RecordInput {
            output_tokens: Some(2),
            reasoning_tokens: Some(6),
            first_output_ns: Some(4 * MS),
            ..input(&content)
        })
        .unwrap();
        assert_eq!(
            r.output_sequence_length,
            Some(8.0),
            "OSL includes reasoning"
        );
        assert_eq!(
            (r.time_to_first_token, r.time_to_first_output_token),
            (Some(2e6), Some(4e6))
        );
        assert_eq!(r.thinking_efficiency, Some(3.0));
        // Reasoning-only output: no TTFO, no output token count.
        let only = RecordMetrics::of_success(&RecordInput {
            output_tokens: Some(0),
            reasoning_tokens: Some(4),
            ..input(&content)
        })
        .unwrap();
        assert_eq!(
            (
                only.time_to_first_output_token,
                only.output_token_count,
                only.output_sequence_length
            ),
            (None, None, Some(4.0))
        );
    }

    #[test]
    fn per_chunk_usage_corrects_itl() {
        // First chunk carried 3 tokens: ITL = (40 - 10) ms / (13 - 3) = 3 ms.
        let content = [10 * MS, 40 * MS];
        let m = RecordMetrics::of_success(&RecordInput {
            output_tokens: Some(13),
            first_chunk_tokens: Some(3),
            ..input(&content)
        })
        .unwrap();
        assert_eq!(m.inter_token_latency, Some(3e6));
        // Unusable k (>= OSL) falls back to 1.
        let m = RecordMetrics::of_success(&RecordInput {
            output_tokens: Some(3),
            first_chunk_tokens: Some(3),
            ..input(&content)
        })
        .unwrap();
        assert_eq!(m.inter_token_latency, Some(15e6));
    }

    #[test]
    fn usage_diffs_and_osl_mismatch() {
        let content = [MS, 2 * MS];
        let usage = json!({"prompt_tokens": 110, "completion_tokens": 10, "prompt_tokens_details": {"cached_tokens": 50}});
        let m = RecordMetrics::of_success(&RecordInput {
            input_tokens: Some(100),
            output_tokens: Some(10),
            requested_osl: Some(100),
            usage: Some(&usage),
            ..input(&content)
        })
        .unwrap();
        assert_eq!(
            (m.usage.prompt, m.usage.prompt_cache_read),
            (Some(110.0), Some(50.0))
        );
        assert!((m.usage_prompt_tokens_diff_pct.unwrap() - 10.0).abs() < 1e-9);
        assert_eq!(m.usage_completion_tokens_diff_pct, Some(0.0));
        assert!(
            !m.usage_discrepant(),
            "exactly 10 % is within the threshold"
        );
        // OSL 10 of 100 requested: -90 %, beyond min(5, 50) tokens.
        assert_eq!(m.osl_mismatch_diff_pct, Some(-90.0));
        assert!(m.osl_mismatched());
        let usage = json!({"prompt_tokens": 120});
        let m = RecordMetrics::of_success(&RecordInput {
            input_tokens: Some(100),
            usage: Some(&usage),
            ..input(&content)
        })
        .unwrap();
        assert!(m.usage_discrepant());
    }

    #[test]
    fn media_metrics_by_hand() {
        // 2 images and 12.5 s of audio answered in 250 ms: 8 images/s, 125 ms/image, RTFx 50.
        let content = [100 * MS, 250 * MS];
        let m = RecordMetrics::of_success(&input(&content))
            .unwrap()
            .with_media(2, Some(12.5));
        assert_eq!(
            (m.num_images, m.image_throughput, m.image_latency),
            (Some(2.0), Some(8.0), Some(125.0))
        );
        assert_eq!((m.audio_duration, m.rtfx), (Some(12.5), Some(50.0)));
        let none = RecordMetrics::of_success(&input(&content))
            .unwrap()
            .with_media(0, None);
        assert_eq!((none.num_images, none.rtfx), (None, None));
        // A finished video job's stats ride in the usage value.
        let usage =
            json!({"video_generation": {"inference_time_s": 4.5, "peak_memory_mb": 2048.0}});
        let v = RecordMetrics::of_success(&RecordInput {
            usage: Some(&usage),
            ..input(&content)
        })
        .unwrap();
        assert_eq!(
            (v.video_inference_time, v.video_peak_memory),
            (Some(4.5), Some(2048.0))
        );
    }

    #[test]
    fn context_overflow_errors_are_recognised() {
        // vLLM's 400 body, OpenAI's code, Anthropic's message, and a JSON-escaped message.
        for body in [
            r#"{"object":"error","message":"This model's maximum context length is 2048 tokens.","type":"BadRequestError","code":400}"#,
            r#"{"error":{"message":"too long","code":"context_length_exceeded"}}"#,
            "Prompt is too long: 210000 tokens > 200000 maximum",
            r#"{"error":{"message":"Maximum\u0020context exceeded"}}"#,
        ] {
            assert!(is_context_overflow(body), "{body}");
            assert_eq!(
                RecordMetrics::of_failure(Some(3), body).context_overflow,
                Some(true)
            );
        }
        for body in [
            "",
            "Injected HTTP 500",
            r#"{"error":{"message":"rate limited"}}"#,
        ] {
            assert!(!is_context_overflow(body), "{body}");
        }
        assert_eq!(
            RecordMetrics::of_failure(Some(3), "x").input_sequence_length,
            Some(3.0)
        );
    }

    #[test]
    fn no_content_is_not_a_success() {
        assert!(RecordMetrics::of_success(&input(&[])).is_none());
        assert_eq!(
            RecordMetrics::of_error(Some(7)).input_sequence_length,
            Some(7.0)
        );
    }
}
