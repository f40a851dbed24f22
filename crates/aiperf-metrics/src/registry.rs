//! The metric table: every metric aiperf computes, with AIPerf's tag, header, units and flags.
//!
//! Order matters: a derived metric comes after everything it depends on (a test checks it), and
//! the console sorts by `display_order`. To add a metric: add its value to
//! [`crate::record::RecordMetrics`] (per-request) or a `derive` function (run-level), then one
//! row here.

use crate::accumulate::Derived;
use crate::record::{RecordMetrics, RecordValue};
use crate::timeline::Curve;
use crate::units::Unit;

/// Metric behaviour flags (AIPerf's `MetricFlags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags(pub u32);

impl Flags {
    pub const NONE: Flags = Flags(0);
    /// Only for streaming runs.
    pub const STREAMING_ONLY: Flags = Flags(1);
    /// Only for endpoints that produce tokens.
    pub const PRODUCES_TOKENS_ONLY: Flags = Flags(1 << 1);
    /// Only for endpoints whose input is tokenized.
    pub const TOKENIZES_INPUT_ONLY: Flags = Flags(1 << 2);
    /// Bigger values are better (direction for SLOs).
    pub const LARGER_IS_BETTER: Flags = Flags(1 << 3);
    /// Not written into per-record JSONL.
    pub const NO_INDIVIDUAL_RECORDS: Flags = Flags(1 << 4);
    /// Computed from failed requests only.
    pub const ERROR_ONLY: Flags = Flags(1 << 5);
    /// Internal bookkeeping, never exported.
    pub const INTERNAL: Flags = Flags(1 << 6);
    /// Hidden unless `AIPERF_DEV_SHOW_EXPERIMENTAL_METRICS` is set.
    pub const EXPERIMENTAL: Flags = Flags(1 << 7);
    /// Only with `--goodput`.
    pub const GOODPUT: Flags = Flags(1 << 8);
    /// Only when token counts come from the client tokenizer (compared with the server's).
    pub const USAGE_DIFF_ONLY: Flags = Flags(1 << 9);
    /// Also reported error-adjusted (`adj_<tag>`: +inf per failed request).
    pub const ERROR_ADJUSTED: Flags = Flags(1 << 10);
    /// Off in accuracy mode (`--accuracy-benchmark`), whose answers end when the model is done.
    pub const DISABLE_ON_ACCURACY: Flags = Flags(1 << 11);

    pub const fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

const STREAM_TOKENS: Flags = Flags::STREAMING_ONLY.union(Flags::PRODUCES_TOKENS_ONLY);
const TOKENS_LIB: Flags = Flags::PRODUCES_TOKENS_ONLY.union(Flags::LARGER_IS_BETTER);
const TOK_IN_LIB: Flags = Flags::TOKENIZES_INPUT_ONLY.union(Flags::LARGER_IS_BETTER);
const NO_REC: Flags = Flags::NO_INDIVIDUAL_RECORDS;
const EXP: Flags = Flags::EXPERIMENTAL;
const LIB: Flags = Flags::LARGER_IS_BETTER;

/// Which console table a metric is printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// "LLM Metrics: Effective" (time-weighted and coordinated-omission-aware).
    Effective,
    /// "LLM Metrics: Active" (time-weighted over busy time only).
    Active,
    /// "LLM Metrics: Usage" (server-reported token counts).
    Usage,
    /// The main table, titled with the endpoint's `metrics_title`.
    Default,
    /// AIPerf's "Spec Decode" section (speculative-decoding acceptance); exported, its console
    /// section not printed yet.
    SpecDecode,
    /// Exported, not printed.
    Hidden,
}

impl Group {
    /// Console tables in AIPerf's order.
    pub const CONSOLE_ORDER: [Group; 4] = [
        Group::Effective,
        Group::Active,
        Group::Usage,
        Group::Default,
    ];

    /// Table title suffix (`None` for the main table).
    pub fn title(self) -> Option<&'static str> {
        match self {
            Group::Effective => Some("LLM Metrics: Effective"),
            Group::Active => Some("LLM Metrics: Active"),
            Group::Usage => Some("LLM Metrics: Usage"),
            Group::SpecDecode => Some("Spec Decode"),
            Group::Default | Group::Hidden => None,
        }
    }
}

/// How a metric is computed.
#[derive(Clone, Copy)]
pub enum MetricKind {
    /// One value (or list) per successful request; reported as a distribution.
    Record(fn(&RecordMetrics) -> Option<RecordValue>),
    /// One value per failed request; reported as a distribution.
    ErrorRecord(fn(&RecordMetrics) -> Option<RecordValue>),
    /// Successful requests for which the predicate holds, counted.
    Counter(fn(&RecordMetrics) -> bool),
    /// One run-level value derived from counters and earlier results.
    Derived(fn(&Derived) -> Option<f64>),
    /// A time-weighted step curve over the run (sweep line over request intervals).
    Timeline(Curve),
}

impl std::fmt::Debug for MetricKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl MetricKind {
    pub fn name(&self) -> &'static str {
        match self {
            MetricKind::Record(_) => "record",
            MetricKind::ErrorRecord(_) => "error record",
            MetricKind::Counter(_) => "aggregate",
            MetricKind::Derived(_) => "derived",
            MetricKind::Timeline(_) => "time-weighted",
        }
    }
}

/// One metric's declaration.
#[derive(Debug, Clone, Copy)]
pub struct MetricSpec {
    pub tag: &'static str,
    pub header: &'static str,
    pub kind: MetricKind,
    /// Unit of computed values.
    pub unit: Unit,
    /// Unit of exported and printed values.
    pub display_unit: Unit,
    pub flags: Flags,
    pub group: Group,
    /// Position within its console table.
    pub display_order: u32,
    /// Tags this metric reads.
    pub depends_on: &'static [&'static str],
    /// What it means, for docs/metrics.md.
    pub doc: &'static str,
}

/// What kind of run this is, deciding which metrics apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Applicability {
    pub streaming: bool,
    pub produces_tokens: bool,
    pub tokenizes_input: bool,
    /// `--goodput` was given.
    pub goodput: bool,
    /// Token counts come from the client tokenizer (so usage can be compared with them).
    pub usage_diff: bool,
    /// Experimental metrics are shown.
    pub show_experimental: bool,
    /// `--accuracy-benchmark`: metrics flagged `DISABLE_ON_ACCURACY` are off.
    #[serde(default)]
    pub accuracy: bool,
}

impl Applicability {
    /// A streamed, tokenized chat run with client-side token counts (the default benchmark;
    /// tests, benchmarks and examples start from it).
    pub const STREAMED_CHAT: Applicability = Applicability {
        streaming: true,
        produces_tokens: true,
        tokenizes_input: true,
        goodput: false,
        usage_diff: true,
        show_experimental: false,
        accuracy: false,
    };
}

impl MetricSpec {
    /// Whether the metric is enabled for a run of this kind.
    pub fn applies(&self, run: &Applicability) -> bool {
        let f = self.flags;
        (run.streaming || !f.contains(Flags::STREAMING_ONLY))
            && (run.produces_tokens || !f.contains(Flags::PRODUCES_TOKENS_ONLY))
            && (run.tokenizes_input || !f.contains(Flags::TOKENIZES_INPUT_ONLY))
            && (run.goodput || !f.contains(Flags::GOODPUT))
            && (run.usage_diff || !f.contains(Flags::USAGE_DIFF_ONLY))
            && (run.show_experimental || !f.contains(Flags::EXPERIMENTAL))
            && !(run.accuracy && f.contains(Flags::DISABLE_ON_ACCURACY))
    }

    /// Whether the metric appears in per-record JSONL.
    pub fn in_records(&self) -> bool {
        !self.flags.contains(Flags::NO_INDIVIDUAL_RECORDS)
            && !self.flags.contains(Flags::INTERNAL)
            && matches!(
                self.kind,
                MetricKind::Record(_) | MetricKind::ErrorRecord(_)
            )
    }

    /// Whether the metric is exported at all.
    pub fn exported(&self) -> bool {
        !self.flags.contains(Flags::INTERNAL)
    }

    pub fn larger_is_better(&self) -> bool {
        self.flags.contains(Flags::LARGER_IS_BETTER)
    }
}

/// Looks a metric up by tag.
pub fn find(tag: &str) -> Option<&'static MetricSpec> {
    REGISTRY.iter().find(|m| m.tag == tag)
}

fn scalar(v: Option<f64>) -> Option<RecordValue> {
    v.map(RecordValue::Scalar)
}

fn sd(
    m: &RecordMetrics,
    f: fn(&crate::spec_decode::SpecDecode) -> Option<f64>,
) -> Option<RecordValue> {
    m.spec_decode.as_ref().and_then(f).map(RecordValue::Scalar)
}

fn http(m: &RecordMetrics, f: fn(&crate::record::HttpTrace) -> f64) -> Option<RecordValue> {
    m.http.as_ref().map(|h| RecordValue::Scalar(f(h)))
}

#[allow(clippy::too_many_arguments)]
const fn spec(
    tag: &'static str,
    header: &'static str,
    kind: MetricKind,
    unit: Unit,
    display_unit: Unit,
    flags: Flags,
    group: Group,
    display_order: u32,
    depends_on: &'static [&'static str],
    doc: &'static str,
) -> MetricSpec {
    MetricSpec {
        tag,
        header,
        kind,
        unit,
        display_unit,
        flags,
        group,
        display_order,
        depends_on,
        doc,
    }
}

use Group::{
    Active as ACT, Default as DEF, Effective as EFF, Hidden as HID, SpecDecode as SPD, Usage as USE,
};
use MetricKind::{Counter as C, Derived as D, ErrorRecord as E, Record as R, Timeline as T};
use Unit::*;

/// Every metric, in dependency order.
pub static REGISTRY: &[MetricSpec] = &[
    // ---- per request: latency ----
    spec("time_to_first_token", "Time to First Token", R(|m| scalar(m.time_to_first_token)), Nanoseconds, Milliseconds,
        STREAM_TOKENS.union(Flags::ERROR_ADJUSTED), DEF, 100, &[],
        "First content response minus request start. Role-only and empty first chunks do not count."),
    spec("time_to_second_token", "Time to Second Token", R(|m| scalar(m.time_to_second_token)), Nanoseconds, Milliseconds,
        STREAM_TOKENS, DEF, 200, &[], "Second content response minus the first (needs two content responses)."),
    spec("time_to_first_output_token", "Time to First Output Token", R(|m| scalar(m.time_to_first_output_token)),
        Nanoseconds, Milliseconds, STREAM_TOKENS, DEF, 250, &[],
        "First content response with non-reasoning output minus request start (equals TTFT without reasoning)."),
    spec("stream_setup_latency", "Stream Setup Latency", R(|m| scalar(m.stream_setup_latency)), Nanoseconds, Milliseconds,
        Flags::STREAMING_ONLY.union(EXP), DEF, 260, &[], "Response head arrival minus request start."),
    spec("stream_prefill_latency", "Stream Prefill Latency", R(|m| scalar(m.stream_prefill_latency)), Nanoseconds, Milliseconds,
        STREAM_TOKENS.union(EXP), DEF, 270, &["stream_setup_latency", "time_to_first_token"], "TTFT minus stream setup latency."),
    spec("request_latency", "Request Latency", R(|m| scalar(m.request_latency)), Nanoseconds, Milliseconds,
        Flags::ERROR_ADJUSTED, DEF, 300, &[],
        "Last content response minus request start (a trailing usage-only chunk and [DONE] excluded)."),
    spec("decode_duration", "Decode Duration", R(|m| scalar(m.decode_duration)), Nanoseconds, Milliseconds,
        STREAM_TOKENS.union(Flags::ERROR_ADJUSTED), DEF, 350, &["request_latency", "time_to_first_token"],
        "Request latency minus TTFT."),
    spec("inter_token_latency", "Inter Token Latency", R(|m| scalar(m.inter_token_latency)), Nanoseconds, Milliseconds,
        STREAM_TOKENS.union(Flags::ERROR_ADJUSTED), DEF, 400, &["output_sequence_length", "request_latency", "time_to_first_token"],
        "(Request latency - TTFT) / (OSL - k): k = tokens of the first chunk from per-chunk usage, else 1. Needs OSL >= 2."),
    spec("output_token_throughput_per_user", "Output Token Throughput Per User", R(|m| scalar(m.output_token_throughput_per_user)),
        TokensPerSecondPerUser, TokensPerSecondPerUser, STREAM_TOKENS.union(LIB), DEF, 500, &["inter_token_latency"],
        "1 / ITL in seconds."),
    spec("e2e_output_token_throughput", "E2E Output Token Throughput", R(|m| scalar(m.e2e_output_token_throughput)),
        TokensPerSecondPerUser, TokensPerSecondPerUser, TOKENS_LIB, DEF, 550, &["output_sequence_length", "request_latency"],
        "OSL / request latency in seconds."),
    // ---- per request: tokens ----
    spec("output_sequence_length", "Output Sequence Length", R(|m| scalar(m.output_sequence_length)), Tokens, Tokens,
        TOKENS_LIB, DEF, 600, &[], "Output plus reasoning tokens (client tokenizer, or usage with --use-server-token-count)."),
    spec("input_sequence_length", "Input Sequence Length", R(|m| scalar(m.input_sequence_length)), Tokens, Tokens,
        TOK_IN_LIB, DEF, 700, &[], "Tokens of the texts sent, joined with spaces (or usage prompt tokens)."),
    spec("output_token_count", "Output Token Count", R(|m| scalar(m.output_token_count)), Tokens, Tokens, TOKENS_LIB, HID, 0, &[],
        "Non-reasoning output tokens (absent when 0)."),
    spec("reasoning_token_count", "Reasoning Token Count", R(|m| scalar(m.reasoning_token_count)), Tokens, Tokens, TOKENS_LIB, HID, 0,
        &[], "Reasoning tokens (absent when 0)."),
    spec("thinking_efficiency", "Thinking Efficiency", R(|m| scalar(m.thinking_efficiency)), Ratio, Ratio,
        Flags::PRODUCES_TOKENS_ONLY.union(EXP), DEF, 620, &["output_token_count", "reasoning_token_count"],
        "Reasoning tokens / output tokens."),
    spec("inter_chunk_latency", "Inter Chunk Latency",
        R(|m| (!m.inter_chunk_latency.is_empty()).then(|| RecordValue::List(m.inter_chunk_latency.clone()))),
        Nanoseconds, Milliseconds, STREAM_TOKENS, HID, 0, &[], "Every gap between consecutive content responses, pooled."),
    spec("prefill_throughput_per_user", "Prefill Throughput Per User", R(|m| scalar(m.prefill_throughput_per_user)),
        TokensPerSecondPerUser, TokensPerSecondPerUser, STREAM_TOKENS.union(TOK_IN_LIB), HID, 0,
        &["input_sequence_length", "time_to_first_token"], "ISL / TTFT in seconds."),
    spec("requested_osl", "Requested OSL", R(|m| scalar(m.requested_osl)), Tokens, Tokens,
        Flags::PRODUCES_TOKENS_ONLY.union(Flags::INTERNAL), HID, 0, &[], "max_tokens sent."),
    spec("osl_mismatch_diff_pct", "OSL Mismatch Diff %", R(|m| scalar(m.osl_mismatch_diff_pct)), Percent, Percent,
        Flags::PRODUCES_TOKENS_ONLY.union(Flags::DISABLE_ON_ACCURACY), HID, 0, &["output_sequence_length", "requested_osl"], "(OSL - requested) / requested * 100."),
    spec("credit_to_start_latency", "Credit to Start Latency", R(|m| scalar(m.credit_to_start_latency)), Nanoseconds, Milliseconds,
        Flags::NONE, HID, 0, &[], "Request start minus credit issue: time queued inside the client."),
    spec("effective_latency", "Effective Latency (CO-aware)", R(|m| scalar(m.effective_latency)), Nanoseconds, Milliseconds,
        Flags::NONE, EFF, 50, &[], "Last content response minus credit issue: latency including time queued for a slot."),
    spec("schedule_lateness", "Schedule Lateness", R(|m| scalar(m.schedule_lateness)), Nanoseconds, Milliseconds,
        Flags::NONE, EFF, 60, &[],
        "Credit release minus intended send time: the client's own pacing error (rate and replay modes)."),
    spec("send_lateness", "Send Lateness", R(|m| scalar(m.send_lateness)), Nanoseconds, Milliseconds, Flags::NONE, EFF, 65, &[],
        "Request start minus intended send time: pacing error plus any wait for a --concurrency slot."),
    spec("replay_send_schedule_offset", "Replay Send Schedule Offset", R(|m| scalar(m.replay_send_schedule_offset)), Nanoseconds,
        Nanoseconds, Flags::INTERNAL, HID, 0, &[], "Request start minus intended send time, signed (fixed-schedule replay)."),
    spec("co_corrected_time_to_first_token", "TTFT (CO-corrected)", R(|m| scalar(m.co_corrected_time_to_first_token)),
        Nanoseconds, Milliseconds, STREAM_TOKENS, EFF, 70, &["time_to_first_token"],
        "First content response minus intended send time (coordinated-omission corrected, as wrk2)."),
    spec("co_corrected_request_latency", "Request Latency (CO-corrected)", R(|m| scalar(m.co_corrected_request_latency)),
        Nanoseconds, Milliseconds, Flags::NONE, EFF, 75, &["request_latency"],
        "Last content response minus intended send time (coordinated-omission corrected, as wrk2)."),
    // ---- per request: server usage ----
    spec("usage_prompt_tokens", "Usage Prompt Tokens", R(|m| scalar(m.usage.prompt)), Tokens, Tokens, TOK_IN_LIB, USE, 100, &[],
        "usage prompt tokens (provider-agnostic; Anthropic cache fields added)."),
    spec("usage_completion_tokens", "Usage Completion Tokens", R(|m| scalar(m.usage.completion)), Tokens, Tokens, TOKENS_LIB, USE, 110,
        &[], "usage completion tokens."),
    spec("usage_total_tokens", "Usage Total Tokens", R(|m| scalar(m.usage.total)), Tokens, Tokens, TOKENS_LIB, USE, 120, &[],
        "usage total tokens."),
    spec("usage_reasoning_tokens", "Usage Reasoning Tokens", R(|m| scalar(m.usage.reasoning)), Tokens, Tokens, TOKENS_LIB, USE, 130,
        &[], "completion_tokens_details.reasoning_tokens (or thoughtsTokenCount)."),
    spec("usage_prompt_cache_read_tokens", "Usage Prompt Cache Read Tokens", R(|m| scalar(m.usage.prompt_cache_read)), Tokens, Tokens,
        LIB, USE, 140, &[], "prompt_tokens_details.cached_tokens or equivalent."),
    spec("usage_prompt_cache_write_tokens", "Usage Prompt Cache Write Tokens", R(|m| scalar(m.usage.prompt_cache_write)), Tokens,
        Tokens, Flags::NONE, USE, 150, &[], "cache_creation_input_tokens or equivalent."),
    spec("usage_prompt_cache_miss_tokens", "Usage Prompt Cache Miss Tokens", R(|m| scalar(m.usage.prompt_cache_miss)), Tokens,
        Tokens, Flags::NONE, USE, 160, &[], "prompt_cache_miss_tokens."),
    spec("usage_prompt_audio_tokens", "Usage Prompt Audio Tokens", R(|m| scalar(m.usage.prompt_audio)), Tokens, Tokens, LIB, USE, 170,
        &[], "prompt_tokens_details.audio_tokens."),
    spec("usage_completion_audio_tokens", "Usage Completion Audio Tokens", R(|m| scalar(m.usage.completion_audio)), Tokens, Tokens,
        TOKENS_LIB, USE, 180, &[], "completion_tokens_details.audio_tokens."),
    spec("usage_accepted_prediction_tokens", "Usage Accepted Prediction Tokens", R(|m| scalar(m.usage.accepted_prediction)), Tokens,
        Tokens, TOKENS_LIB, USE, 190, &[], "completion_tokens_details.accepted_prediction_tokens."),
    spec("usage_rejected_prediction_tokens", "Usage Rejected Prediction Tokens", R(|m| scalar(m.usage.rejected_prediction)), Tokens,
        Tokens, Flags::PRODUCES_TOKENS_ONLY, USE, 200, &[], "completion_tokens_details.rejected_prediction_tokens."),
    spec("usage_tool_use_prompt_tokens", "Usage Tool Use Prompt Tokens", R(|m| scalar(m.usage.tool_use_prompt)), Tokens, Tokens,
        Flags::NONE, USE, 210, &[], "toolUsePromptTokenCount."),
    spec("usage_prompt_audio_seconds", "Usage Prompt Audio Seconds", R(|m| scalar(m.usage.prompt_audio_seconds)), Seconds, Seconds,
        LIB, USE, 220, &[], "prompt_audio_seconds."),
    spec("usage_prompt_tokens_diff_pct", "Usage Prompt Diff %", R(|m| scalar(m.usage_prompt_tokens_diff_pct)), Percent, Percent,
        Flags::TOKENIZES_INPUT_ONLY.union(Flags::USAGE_DIFF_ONLY), HID, 0, &["input_sequence_length", "usage_prompt_tokens"],
        "|usage prompt - ISL| / ISL * 100."),
    spec("usage_completion_tokens_diff_pct", "Usage Completion Diff %", R(|m| scalar(m.usage_completion_tokens_diff_pct)), Percent,
        Percent, Flags::PRODUCES_TOKENS_ONLY.union(Flags::USAGE_DIFF_ONLY), HID, 0, &["output_sequence_length", "usage_completion_tokens"],
        "|usage completion - OSL| / OSL * 100."),
    spec("usage_reasoning_tokens_diff_pct", "Usage Reasoning Diff %", R(|m| scalar(m.usage_reasoning_tokens_diff_pct)), Percent,
        Percent, Flags::PRODUCES_TOKENS_ONLY.union(Flags::USAGE_DIFF_ONLY), HID, 0, &["reasoning_token_count", "usage_reasoning_tokens"],
        "|usage reasoning - reasoning tokens| / reasoning tokens * 100."),
    // ---- per request: media (record.rs `with_media`, media.rs) ----
    spec("num_images", "Number of Images", R(|m| scalar(m.num_images)), Images, Images, Flags::NONE, HID, 0, &[],
        "Image parts sent (chat image_url parts, image-retrieval inputs); absent when none."),
    spec("image_throughput", "Image Throughput", R(|m| scalar(m.image_throughput)), ImagesPerSecond, ImagesPerSecond, LIB, DEF, 860,
        &["num_images", "request_latency"], "Images / request latency in seconds."),
    spec("image_latency", "Image Latency", R(|m| scalar(m.image_latency)), MillisecondsPerImage, MillisecondsPerImage, Flags::NONE,
        DEF, 861, &["num_images", "request_latency"], "Request latency in ms / images."),
    spec("audio_duration", "Audio Duration", R(|m| scalar(m.audio_duration)), Seconds, Seconds, Flags::NONE, HID, 0, &[],
        "Seconds of input audio of an ASR request."),
    spec("rtfx", "Inverse Real-Time Factor (RTFx)", R(|m| scalar(m.rtfx)), Ratio, Ratio, LIB, DEF, 850, &["audio_duration", "request_latency"],
        "Real-time factor: audio duration / request latency in seconds."),
    spec("video_inference_time", "Video Inference Time", R(|m| scalar(m.video_inference_time)), Seconds, Milliseconds, Flags::NONE,
        DEF, 310, &[], "The finished video job's inference_time_s, as the server reports it."),
    spec("video_peak_memory", "Video Peak Memory", R(|m| scalar(m.video_peak_memory)), Megabytes, Megabytes, Flags::NONE, DEF, 311,
        &[], "The finished video job's peak_memory_mb, as the server reports it."),
    // ---- per request: speculative decoding (vLLM's per-request acceptance, spec_decode.rs) ----
    spec("spec_decode_acceptance_length", "Acceptance Length", R(|m| sd(m, |s| Some(s.mean_acceptance_length))), Ratio, Ratio,
        LIB, SPD, 5000, &[], "Tokens per verify step including the bonus token (vLLM's mean_acceptance_length: 1 + accepted / steps)."),
    spec("spec_decode_draft_acceptance_rate", "Draft Acceptance Rate", R(|m| sd(m, |s| Some(s.draft_acceptance_rate * 100.0))),
        Percent, Percent, LIB, SPD, 5020, &[], "100 * accepted / proposed draft tokens (vLLM's draft_acceptance_rate; bonus tokens excluded)."),
    spec("spec_decode_accepted_per_verified", "Accepted per Verified", R(|m| sd(m, |s| s.accepted_per_verified())), Ratio, Ratio,
        LIB, SPD, 5030, &[], "(Accepted drafts + steps) / (proposed drafts + steps): emitted over verified tokens."),
    spec("spec_decode_steps", "Spec Decode Steps", R(|m| sd(m, |s| Some(s.steps as f64))), Count, Count, Flags::NONE, SPD, 5040, &[],
        "Speculative verification steps (num_spec_steps)."),
    spec("spec_decode_accepted_draft_tokens", "Accepted Draft Tokens", R(|m| sd(m, |s| Some(s.accepted_draft_tokens as f64))), Tokens,
        Tokens, Flags::NONE, HID, 5050, &[], "Accepted draft tokens, bonus tokens excluded (num_accepted_draft_tokens)."),
    spec("spec_decode_draft_tokens", "Draft Tokens", R(|m| sd(m, |s| Some(s.draft_tokens as f64))), Tokens, Tokens, Flags::NONE, HID,
        5060, &[], "Proposed draft tokens (num_draft_tokens)."),
    // ---- per request: HTTP trace (k6-style) ----
    spec("http_req_blocked", "HTTP Blocked", R(|m| http(m, |h| h.blocked_ns as f64)), Nanoseconds, Milliseconds, Flags::NONE, HID, 0,
        &[], "Waiting for a pooled connection (or to open one)."),
    spec("http_req_dns_lookup", "HTTP DNS Lookup", R(|m| http(m, |_| 0.0)), Nanoseconds, Milliseconds, Flags::NONE, HID, 0, &[],
        "Always 0: names are resolved once before the run, outside requests."),
    spec("http_req_connecting", "HTTP Connecting", R(|m| http(m, |h| h.connecting_ns as f64)), Nanoseconds, Milliseconds, Flags::NONE,
        HID, 0, &[], "TCP connect and HTTP handshake of a new connection (0 when reused)."),
    spec("http_req_sending", "HTTP Sending", R(|m| http(m, |h| h.sending_ns as f64)), Nanoseconds, Milliseconds, Flags::NONE, HID, 0,
        &[], "Connection acquired -> request body handed to the socket."),
    spec("http_req_waiting", "HTTP Waiting (TTFB)", R(|m| http(m, |h| h.waiting_ns as f64)), Nanoseconds, Milliseconds, Flags::NONE,
        HID, 0, &[], "Request sent -> response head received."),
    spec("http_req_receiving", "HTTP Receiving", R(|m| http(m, |h| h.receiving_ns as f64)), Nanoseconds, Milliseconds, Flags::NONE,
        HID, 0, &[], "Response head -> end of body."),
    spec("http_req_duration", "HTTP Duration (excl. conn)", R(|m| http(m, |h| (h.sending_ns + h.waiting_ns + h.receiving_ns) as f64)),
        Nanoseconds, Milliseconds, Flags::NONE, HID, 0, &["http_req_receiving", "http_req_sending", "http_req_waiting"],
        "Sending + waiting + receiving."),
    spec("http_req_connection_overhead", "HTTP Connection Overhead", R(|m| http(m, |h| (h.blocked_ns + h.connecting_ns) as f64)),
        Nanoseconds, Milliseconds, Flags::NONE, HID, 0, &["http_req_blocked", "http_req_connecting", "http_req_dns_lookup"],
        "Blocked + DNS + connecting."),
    spec("http_req_total", "HTTP Total Time",
        R(|m| http(m, |h| (h.blocked_ns + h.connecting_ns + h.sending_ns + h.waiting_ns + h.receiving_ns) as f64)),
        Nanoseconds, Milliseconds, Flags::NONE, HID, 0,
        &["http_req_blocked", "http_req_connecting", "http_req_dns_lookup", "http_req_receiving", "http_req_sending", "http_req_waiting"],
        "Sum of the six phases."),
    spec("http_req_connection_reused", "HTTP Connection Reused", R(|m| http(m, |h| if h.reused { 1.0 } else { 0.0 })), Ratio, Ratio,
        Flags::NONE, HID, 0, &[], "1 when a pooled connection was reused, else 0."),
    spec("http_req_data_sent", "HTTP Data Sent", R(|m| http(m, |h| h.bytes_sent as f64)), Bytes, Kilobytes, Flags::NONE, HID, 0, &[],
        "Request body bytes."),
    spec("http_req_data_received", "HTTP Data Received", R(|m| http(m, |h| h.bytes_received as f64)), Bytes, Kilobytes, Flags::NONE,
        HID, 0, &[], "Response body bytes."),
    spec("http_req_chunks_sent", "HTTP Chunks Sent", R(|m| http(m, |_| 1.0)), Count, Count, Flags::NONE, HID, 0, &[],
        "Body frames written (1: bodies are sent whole)."),
    spec("http_req_chunks_received", "HTTP Chunks Received", R(|m| http(m, |h| h.chunks_received as f64)), Count, Count, Flags::NONE,
        HID, 0, &[], "Body frames received (socket reads carrying data)."),
    spec("context_overflow", "Context Overflow", E(|m| m.context_overflow.map(|o| RecordValue::Scalar(if o { 1.0 } else { 0.0 }))),
        Requests, Requests, Flags::ERROR_ONLY.union(Flags::INTERNAL), HID, 0, &[],
        "1 for a failed request whose error is a context overflow, else 0 (absent when its message was not classified)."),
    spec("error_isl", "Error Input Sequence Length", E(|m| scalar(m.input_sequence_length)), Tokens, Tokens,
        Flags::ERROR_ONLY.union(TOK_IN_LIB), HID, 0, &[], "Input length of failed requests."),
    // ---- run level: counters ----
    spec("request_count", "Request Count", D(|d| Some(d.request_count as f64)), Requests, Requests, LIB.union(NO_REC), DEF, 1000, &[],
        "Successful requests."),
    spec("error_request_count", "Error Request Count", D(|d| (d.error_count > 0).then_some(d.error_count as f64)), Requests,
        Requests, Flags::ERROR_ONLY.union(NO_REC), DEF, 1100, &[], "Failed requests (present when there were any)."),
    spec("usage_discrepancy_count", "Usage Discrepancy Count", C(RecordMetrics::usage_discrepant), Requests, Requests,
        NO_REC.union(Flags::USAGE_DIFF_ONLY), HID, 0, &["usage_completion_tokens_diff_pct", "usage_prompt_tokens_diff_pct"],
        "Requests whose usage differs from the client count by more than 10 %."),
    spec("osl_mismatch_count", "OSL Mismatch Count", C(RecordMetrics::osl_mismatched), Requests, Requests,
        Flags::PRODUCES_TOKENS_ONLY.union(NO_REC).union(Flags::DISABLE_ON_ACCURACY), HID, 0, &["osl_mismatch_diff_pct", "output_sequence_length", "requested_osl"],
        "Requests whose OSL missed max_tokens by more than min(5 %, 50 tokens)."),
    spec("context_overflow_count", "Context Overflow Count", D(|d| d.sum("context_overflow")), Requests, Requests,
        Flags::ERROR_ONLY.union(NO_REC), HID, 0, &["context_overflow"],
        "Failed requests whose error body says \"context length\", \"maximum context\", \"context_length_exceeded\" or \"prompt is too long\" (case-insensitive; present when failed requests were classified)."),
    spec("good_request_count", "Good Request Count", D(|d| Some(d.good_count as f64)), Requests, Requests,
        Flags::GOODPUT.union(NO_REC), HID, 0, &[], "Successful requests meeting every --goodput SLO."),
    spec("min_request_timestamp", "Minimum Request Timestamp", D(|d| d.min_request_wall_ns.map(|v| v as f64)), Nanoseconds,
        Nanoseconds, Flags::INTERNAL.union(NO_REC), HID, 0, &[], "Earliest successful request start (epoch ns)."),
    spec("max_response_timestamp", "Maximum Response Timestamp", D(|d| d.max_response_wall_ns.map(|v| v as f64)), Nanoseconds,
        Nanoseconds, Flags::INTERNAL.union(NO_REC), HID, 0, &["request_latency"], "Latest successful last response (epoch ns)."),
    spec("benchmark_duration", "Benchmark Duration",
        D(|d| Some(d.get("max_response_timestamp")? - d.get("min_request_timestamp")?)), Nanoseconds, Seconds, NO_REC, HID, 0,
        &["max_response_timestamp", "min_request_timestamp"],
        "From the first successful request's start to the last successful response; the denominator of every throughput."),
    // ---- run level: totals ----
    spec("total_osl", "Total Output Sequence Length", D(|d| d.sum("output_sequence_length")), Tokens, Tokens, TOKENS_LIB, HID, 0,
        &["output_sequence_length"], "Sum of OSL."),
    spec("total_isl", "Total Input Sequence Length", D(|d| d.sum("input_sequence_length")), Tokens, Tokens, TOK_IN_LIB, HID, 0,
        &["input_sequence_length"], "Sum of ISL."),
    spec("total_output_tokens", "Total Output Tokens", D(|d| d.sum("output_token_count")), Tokens, Tokens, TOKENS_LIB, HID, 0,
        &["output_token_count"], "Sum of output token counts."),
    spec("total_reasoning_tokens", "Total Reasoning Tokens", D(|d| d.sum("reasoning_token_count")), Tokens, Tokens, TOKENS_LIB, HID, 0,
        &["reasoning_token_count"], "Sum of reasoning token counts."),
    spec("total_error_isl", "Total Error Input Sequence Length", D(|d| d.sum("error_isl")), Tokens, Tokens,
        Flags::ERROR_ONLY.union(TOK_IN_LIB), HID, 0, &["error_isl"], "Sum of failed requests' ISL."),
    spec("overall_thinking_efficiency", "Overall Thinking Efficiency",
        D(|d| Some(d.sum("reasoning_token_count")? / d.sum("output_token_count")?)), Ratio, Ratio,
        Flags::PRODUCES_TOKENS_ONLY.union(EXP), DEF, 630, &["total_output_tokens", "total_reasoning_tokens"],
        "Total reasoning / total output tokens."),
    spec("total_usage_prompt_tokens", "Total Usage Prompt Tokens", D(|d| d.sum("usage_prompt_tokens")), Tokens, Tokens, TOK_IN_LIB, USE,
        500, &["usage_prompt_tokens"], "Sum of usage prompt tokens."),
    spec("total_usage_completion_tokens", "Total Usage Completion Tokens", D(|d| d.sum("usage_completion_tokens")), Tokens, Tokens,
        TOKENS_LIB, USE, 510, &["usage_completion_tokens"], "Sum of usage completion tokens."),
    spec("total_usage_total_tokens", "Total Usage Total Tokens", D(|d| d.sum("usage_total_tokens")), Tokens, Tokens, TOKENS_LIB, USE,
        520, &["usage_total_tokens"], "Sum of usage total tokens."),
    spec("total_usage_reasoning_tokens", "Total Usage Reasoning Tokens", D(|d| d.sum("usage_reasoning_tokens")), Tokens, Tokens,
        TOKENS_LIB, USE, 530, &["usage_reasoning_tokens"], "Sum of usage reasoning tokens."),
    spec("total_usage_prompt_cache_read_tokens", "Total Usage Prompt Cache Read Tokens", D(|d| d.sum("usage_prompt_cache_read_tokens")),
        Tokens, Tokens, LIB, USE, 540, &["usage_prompt_cache_read_tokens"], "Sum of cache-read prompt tokens."),
    spec("total_usage_prompt_cache_write_tokens", "Total Usage Prompt Cache Write Tokens",
        D(|d| d.sum("usage_prompt_cache_write_tokens")), Tokens, Tokens, Flags::NONE, USE, 550, &["usage_prompt_cache_write_tokens"],
        "Sum of cache-write prompt tokens."),
    spec("total_usage_prompt_cache_miss_tokens", "Total Usage Prompt Cache Miss Tokens", D(|d| d.sum("usage_prompt_cache_miss_tokens")),
        Tokens, Tokens, Flags::NONE, USE, 560, &["usage_prompt_cache_miss_tokens"], "Sum of cache-miss prompt tokens."),
    spec("total_usage_prompt_audio_tokens", "Total Usage Prompt Audio Tokens", D(|d| d.sum("usage_prompt_audio_tokens")), Tokens, Tokens,
        LIB, USE, 570, &["usage_prompt_audio_tokens"], "Sum of prompt audio tokens."),
    spec("total_usage_completion_audio_tokens", "Total Usage Completion Audio Tokens", D(|d| d.sum("usage_completion_audio_tokens")),
        Tokens, Tokens, TOKENS_LIB, USE, 580, &["usage_completion_audio_tokens"], "Sum of completion audio tokens."),
    spec("total_usage_accepted_prediction_tokens", "Total Usage Accepted Prediction Tokens",
        D(|d| d.sum("usage_accepted_prediction_tokens")), Tokens, Tokens, TOKENS_LIB, USE, 590, &["usage_accepted_prediction_tokens"],
        "Sum of accepted prediction tokens."),
    spec("total_usage_rejected_prediction_tokens", "Total Usage Rejected Prediction Tokens",
        D(|d| d.sum("usage_rejected_prediction_tokens")), Tokens, Tokens, Flags::PRODUCES_TOKENS_ONLY, USE, 600,
        &["usage_rejected_prediction_tokens"], "Sum of rejected prediction tokens."),
    spec("total_usage_tool_use_prompt_tokens", "Total Usage Tool Use Prompt Tokens", D(|d| d.sum("usage_tool_use_prompt_tokens")),
        Tokens, Tokens, Flags::NONE, USE, 610, &["usage_tool_use_prompt_tokens"], "Sum of tool-use prompt tokens."),
    spec("total_usage_prompt_audio_seconds", "Total Usage Prompt Audio Seconds", D(|d| d.sum("usage_prompt_audio_seconds")), Seconds,
        Seconds, LIB, USE, 620, &["usage_prompt_audio_seconds"], "Sum of prompt audio seconds."),
    spec("overall_usage_prompt_cache_read_pct", "Overall Usage Prompt Cache Read %",
        D(|d| {
            let total = d.get("total_usage_prompt_tokens")?;
            let read = d.get("total_usage_prompt_cache_read_tokens")?;
            (total > 0.0).then(|| 100.0 * read / total)
        }),
        Percent, Percent, LIB, USE, 700, &["total_usage_prompt_cache_read_tokens", "total_usage_prompt_tokens"],
        "100 * total cache-read prompt tokens / total usage prompt tokens."),
    spec("total_spec_decode_steps", "Total Spec Decode Steps", D(|d| d.sum("spec_decode_steps")), Count, Count, Flags::NONE, HID, 5140,
        &["spec_decode_steps"], "Sum of spec decode steps."),
    spec("total_accepted_draft_tokens", "Total Accepted Draft Tokens", D(|d| d.sum("spec_decode_accepted_draft_tokens")), Tokens, Tokens,
        Flags::NONE, HID, 5150, &["spec_decode_accepted_draft_tokens"], "Sum of accepted draft tokens."),
    spec("total_draft_tokens", "Total Draft Tokens", D(|d| d.sum("spec_decode_draft_tokens")), Tokens, Tokens, Flags::NONE, HID, 5160,
        &["spec_decode_draft_tokens"], "Sum of proposed draft tokens."),
    spec("spec_decode_token_weighted_acceptance_length", "Token-Weighted Acceptance Length",
        D(|d| {
            let steps = d.get("total_spec_decode_steps").filter(|s| *s > 0.0)?;
            Some(1.0 + d.get("total_accepted_draft_tokens")? / steps)
        }),
        Ratio, Ratio, LIB, SPD, 5010, &["total_accepted_draft_tokens", "total_spec_decode_steps"],
        "1 + total accepted draft tokens / total steps: every verify step weighs the same."),
    spec("spec_decode_overall_draft_acceptance_rate", "Overall Draft Acceptance Rate",
        D(|d| {
            let draft = d.get("total_draft_tokens").filter(|s| *s > 0.0)?;
            Some(100.0 * d.get("total_accepted_draft_tokens")? / draft)
        }),
        Percent, Percent, LIB, SPD, 5025, &["total_accepted_draft_tokens", "total_draft_tokens"],
        "100 * total accepted / total proposed draft tokens."),
    // ---- run level: rates ----
    spec("output_token_throughput", "Output Token Throughput", D(|d| d.per_second(d.get("total_osl")?)), TokensPerSecond,
        TokensPerSecond, TOKENS_LIB, DEF, 800, &["benchmark_duration", "total_osl"], "Total OSL / benchmark duration."),
    spec("input_token_throughput", "Input Token Throughput", D(|d| d.per_second(d.get("total_isl")?)), TokensPerSecond,
        TokensPerSecond, TOK_IN_LIB, DEF, 850, &["benchmark_duration", "total_isl"], "Total ISL / benchmark duration."),
    spec("total_token_throughput", "Total Token Throughput", D(|d| d.per_second(d.get("total_isl")? + d.get("total_osl")?)),
        TokensPerSecond, TokensPerSecond, TOKENS_LIB, HID, 0, &["benchmark_duration", "total_isl", "total_osl"],
        "(Total ISL + total OSL) / benchmark duration."),
    spec("request_throughput", "Request Throughput", D(|d| d.per_second(d.request_count as f64)), RequestsPerSecond,
        RequestsPerSecond, LIB, DEF, 900, &["benchmark_duration", "request_count"], "Successful requests / benchmark duration."),
    spec("goodput", "Goodput", D(|d| d.per_second(d.good_count as f64)), RequestsPerSecond, RequestsPerSecond,
        Flags::GOODPUT.union(LIB), DEF, 910, &["benchmark_duration", "good_request_count"],
        "Requests meeting every SLO / benchmark duration."),
    spec("good_request_fraction", "GoodRequestFraction",
        D(|d| {
            let total = d.request_count + d.error_count;
            Some(if total == 0 { 0.0 } else { d.good_count as f64 / total as f64 })
        }),
        Ratio, Ratio, Flags::GOODPUT.union(LIB), HID, 0, &["error_request_count", "good_request_count", "request_count"],
        "Good requests / (successful + failed)."),
    spec("completed_request_count", "Completed Requests (Success + Error)", D(|d| Some((d.request_count + d.error_count) as f64)),
        Requests, Requests, NO_REC, DEF, 950, &["error_request_count", "request_count"], "Successful plus failed requests."),
    spec("request_error_rate", "Request Error Rate",
        D(|d| {
            let total = d.request_count + d.error_count;
            (total > 0).then(|| 100.0 * d.error_count as f64 / total as f64)
        }),
        Percent, Percent, NO_REC, DEF, 960, &["error_request_count", "request_count"], "100 * failed / (successful + failed)."),
    // ---- run level: network-adjusted (a run-level RTT, so injected after summarising: network.rs) ----
    spec("network_adjusted_time_to_first_token", "Network-Adjusted Time to First Token", D(|_| None), Nanoseconds, Milliseconds,
        STREAM_TOKENS, DEF, 101, &["time_to_first_token"],
        "Per request max(TTFT - mean network RTT, 0), summarised (--network-latency-automatic or --network-latency-mean)."),
    spec("network_adjusted_time_to_first_output_token", "Network-Adjusted Time to First Output Token", D(|_| None), Nanoseconds,
        Milliseconds, STREAM_TOKENS, DEF, 251, &["time_to_first_output_token"],
        "Per request max(TTFO - mean network RTT, 0), summarised."),
    spec("network_adjusted_request_latency", "Network-Adjusted Request Latency", D(|_| None), Nanoseconds, Milliseconds,
        Flags::NONE, DEF, 301, &["request_latency"], "Per request max(request latency - mean network RTT, 0), summarised."),
    spec("network_rtt", "Network RTT", D(|_| None), Nanoseconds, Milliseconds, NO_REC, DEF, 305, &[],
        "The mean RTT subtracted: the mean TCP-handshake time of the probes, or --network-latency-mean (one value, count 1)."),
    // ---- run level: replay fidelity (fixed schedule only; injected after summarising: replay.rs) ----
    spec("replay_sched_lag_p50", "Replay Schedule Lag p50", D(|_| None), Milliseconds, Milliseconds, Flags::NONE, HID, 0,
        &["replay_send_schedule_offset"], "Median of each request's send offset minus the smallest (the least-late request)."),
    spec("replay_sched_lag_p90", "Replay Schedule Lag p90", D(|_| None), Milliseconds, Milliseconds, Flags::NONE, HID, 0,
        &["replay_send_schedule_offset"], "p90 of send offset minus the smallest offset."),
    spec("replay_sched_lag_p99", "Replay Schedule Lag p99", D(|_| None), Milliseconds, Milliseconds, Flags::NONE, HID, 0,
        &["replay_send_schedule_offset"], "p99 of send offset minus the smallest offset."),
    spec("replay_sched_degraded", "Replay Schedule Degraded", D(|_| None), Count, Count, Flags::NONE, HID, 0,
        &["replay_sched_lag_p99"], "1 when the p99 schedule lag exceeds 500 ms, else 0."),
    // ---- time-weighted over the run window (sweep line) ----
    spec("effective_concurrency", "Effective Concurrency", T(Curve::Concurrency), Requests, Requests, NO_REC, EFF, 100, &[],
        "Requests in flight [start, last response], time-weighted over the run window."),
    spec("effective_prefill_concurrency", "Effective Prefill Concurrency", T(Curve::PrefillConcurrency), Requests, Requests,
        STREAM_TOKENS.union(NO_REC), EFF, 110, &[], "Requests between start and first token, time-weighted."),
    spec("effective_decode_concurrency", "Effective Decode Concurrency", T(Curve::DecodeConcurrency), Requests, Requests,
        STREAM_TOKENS.union(NO_REC), EFF, 120, &[], "Requests between first token and last response, time-weighted."),
    spec("effective_prefill_throughput", "Effective Prefill Throughput", T(Curve::PrefillThroughput), TokensPerSecond,
        TokensPerSecond, STREAM_TOKENS.union(NO_REC), EFF, 200, &[], "Sum of ISL/TTFT over requests in prefill, time-weighted."),
    spec("effective_decode_throughput", "Effective Decode Throughput", T(Curve::DecodeThroughput), TokensPerSecond, TokensPerSecond,
        STREAM_TOKENS.union(NO_REC), EFF, 210, &[], "Sum of OSL/decode duration over requests in decode, time-weighted."),
    spec("effective_total_throughput", "Effective Total Throughput", T(Curve::TotalThroughput), TokensPerSecond, TokensPerSecond,
        STREAM_TOKENS.union(NO_REC), EFF, 220, &[], "Prefill + decode throughput curves, time-weighted."),
    spec("effective_prefill_throughput_per_user", "Effective Prefill Throughput Per User", T(Curve::PrefillThroughputPerUser),
        TokensPerSecondPerUser, TokensPerSecondPerUser, STREAM_TOKENS.union(NO_REC), EFF, 300, &[],
        "Prefill throughput / prefill concurrency (0 when none), time-weighted."),
    spec("effective_decode_throughput_per_user", "Effective Decode Throughput Per User", T(Curve::DecodeThroughputPerUser),
        TokensPerSecondPerUser, TokensPerSecondPerUser, STREAM_TOKENS.union(NO_REC), EFF, 310, &[],
        "Decode throughput / decode concurrency (0 when none), time-weighted."),
    spec("tokens_in_flight", "Tokens in Flight", T(Curve::TokensInFlight), Tokens, Tokens, STREAM_TOKENS.union(NO_REC), EFF, 400, &[],
        "Sum of ISL + OSL over requests in flight (the KV-cache footprint they reach), time-weighted."),
    spec("active_prefill_throughput", "Active Prefill Throughput", T(Curve::ActivePrefillThroughput), TokensPerSecond,
        TokensPerSecond, STREAM_TOKENS.union(NO_REC), ACT, 100, &[], "Prefill throughput over time with any request in flight."),
    spec("active_decode_throughput", "Active Decode Throughput", T(Curve::ActiveDecodeThroughput), TokensPerSecond, TokensPerSecond,
        STREAM_TOKENS.union(NO_REC), ACT, 110, &[], "Decode throughput over time with any request in flight."),
    spec("active_total_throughput", "Active Total Throughput", T(Curve::ActiveTotalThroughput), TokensPerSecond, TokensPerSecond,
        STREAM_TOKENS.union(NO_REC), ACT, 120, &[], "Total throughput over time with any request in flight."),
    spec("active_prefill_throughput_per_user", "Active Prefill Throughput Per User", T(Curve::ActivePrefillThroughputPerUser),
        TokensPerSecondPerUser, TokensPerSecondPerUser, STREAM_TOKENS.union(NO_REC), ACT, 200, &[],
        "Prefill throughput / prefill concurrency over time with a request in prefill."),
    spec("active_decode_throughput_per_user", "Active Decode Throughput Per User", T(Curve::ActiveDecodeThroughputPerUser),
        TokensPerSecondPerUser, TokensPerSecondPerUser, STREAM_TOKENS.union(NO_REC), ACT, 210, &[],
        "Decode throughput / decode concurrency over time with a request in decode."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_unique_and_dependencies_come_first() {
        for (i, m) in REGISTRY.iter().enumerate() {
            assert_eq!(
                REGISTRY.iter().filter(|o| o.tag == m.tag).count(),
                1,
                "duplicate {}",
                m.tag
            );
            assert!(!m.doc.is_empty(), "{} has no doc", m.tag);
            for dep in m.depends_on {
                let j = REGISTRY.iter().position(|o| o.tag == *dep);
                assert!(j.is_some(), "{} depends on unknown {dep}", m.tag);
                // Per-request values are computed together; run-level ones in table order.
                if matches!(m.kind, MetricKind::Derived(_)) {
                    assert!(
                        j.is_some_and(|j| j < i),
                        "{} depends on {dep}, which must come first",
                        m.tag
                    );
                }
            }
        }
    }

    #[test]
    fn applicability_filters() {
        let base = Applicability {
            streaming: false,
            produces_tokens: true,
            tokenizes_input: true,
            ..Default::default()
        };
        let embeddings = Applicability {
            produces_tokens: false,
            ..base
        };
        assert!(!find("time_to_first_token").unwrap().applies(&base));
        assert!(find("request_latency").unwrap().applies(&base));
        assert!(!find("output_sequence_length").unwrap().applies(&embeddings));
        assert!(find("input_sequence_length").unwrap().applies(&embeddings));
        assert!(!find("goodput").unwrap().applies(&base));
        assert!(find("goodput").unwrap().applies(&Applicability {
            goodput: true,
            ..base
        }));
        assert!(!find("usage_discrepancy_count").unwrap().applies(&base));
        assert!(!find("stream_setup_latency")
            .unwrap()
            .applies(&Applicability {
                streaming: true,
                ..base
            }));
    }
}

#[cfg(test)]
mod per_metric {
    use super::*;
    use crate::record::{HttpTrace, RecordInput};

    const MS: u64 = 1_000_000;

    /// Every per-request metric against a value worked out by hand for one request. Adding a
    /// per-request metric without an expectation here fails the test.
    #[test]
    fn every_record_metric_by_hand() {
        // Credit 0; start 1 ms; head 2 ms; reasoning at 11 ms; output 21, 31, 41 ms.
        // 6 output + 4 reasoning tokens (OSL 10); ISL 100; max_tokens 10.
        let content = [11 * MS, 21 * MS, 31 * MS, 41 * MS];
        let usage = serde_json::json!({"prompt_tokens": 100, "completion_tokens": 11, "total_tokens": 111,
            "prompt_tokens_details": {"cached_tokens": 30, "audio_tokens": 1},
            "completion_tokens_details": {"reasoning_tokens": 4, "audio_tokens": 2, "accepted_prediction_tokens": 3,
                "rejected_prediction_tokens": 1},
            "cache_creation_input_tokens": 5, "prompt_cache_miss_tokens": 70, "toolUsePromptTokenCount": 6,
            "prompt_audio_seconds": 1.5,
            // vLLM: 4 steps accepting 0, 2, 3, 3 of 3 drafts: 8 of 12 accepted.
            "speculative_decoding": {"mean_acceptance_length": 3.0, "draft_acceptance_rate": 8.0 / 12.0,
                "acceptance_histogram": [1, 0, 1, 2], "num_accepted_draft_tokens": 8, "num_draft_tokens": 12,
                "num_spec_steps": 4, "num_spec_tokens": 3},
            "video_generation": {"inference_time_s": 0.5, "peak_memory_mb": 900.0}});
        let m = RecordMetrics::of_success(&RecordInput {
            credit_issued_ns: 0,
            intended_ns: Some(MS / 2),
            start_ns: MS,
            response_head_ns: Some(2 * MS),
            end_ns: 42 * MS,
            content_ns: &content,
            first_output_ns: Some(21 * MS),
            input_tokens: Some(100),
            output_tokens: Some(6),
            reasoning_tokens: Some(4),
            requested_osl: Some(10),
            first_chunk_tokens: None,
            usage: Some(&usage),
            http: Some(HttpTrace {
                blocked_ns: 100,
                connecting_ns: 200,
                sending_ns: 300,
                waiting_ns: 400,
                receiving_ns: 500,
                reused: true,
                bytes_sent: 2048,
                bytes_received: 4096,
                chunks_received: 7,
            }),
        })
        .unwrap()
        // 3 images and 2 s of audio over the 40 ms latency.
        .with_media(3, Some(2.0));
        let expected: &[(&str, RecordValue)] = &[
            ("time_to_first_token", RecordValue::Scalar(10e6)),
            ("time_to_second_token", RecordValue::Scalar(10e6)),
            ("time_to_first_output_token", RecordValue::Scalar(20e6)),
            ("stream_setup_latency", RecordValue::Scalar(1e6)),
            ("stream_prefill_latency", RecordValue::Scalar(9e6)),
            ("request_latency", RecordValue::Scalar(40e6)),
            ("decode_duration", RecordValue::Scalar(30e6)),
            // (40 - 10) ms / (10 - 1) tokens.
            ("inter_token_latency", RecordValue::Scalar(30e6 / 9.0)),
            (
                "output_token_throughput_per_user",
                RecordValue::Scalar(9.0 / 0.030),
            ),
            (
                "e2e_output_token_throughput",
                RecordValue::Scalar(10.0 / 0.040),
            ),
            ("output_sequence_length", RecordValue::Scalar(10.0)),
            ("input_sequence_length", RecordValue::Scalar(100.0)),
            ("output_token_count", RecordValue::Scalar(6.0)),
            ("reasoning_token_count", RecordValue::Scalar(4.0)),
            ("thinking_efficiency", RecordValue::Scalar(4.0 / 6.0)),
            (
                "inter_chunk_latency",
                RecordValue::List(vec![10e6, 10e6, 10e6]),
            ),
            (
                "prefill_throughput_per_user",
                RecordValue::Scalar(100.0 / 0.010),
            ),
            ("requested_osl", RecordValue::Scalar(10.0)),
            ("osl_mismatch_diff_pct", RecordValue::Scalar(0.0)),
            ("credit_to_start_latency", RecordValue::Scalar(1e6)),
            ("effective_latency", RecordValue::Scalar(41e6)),
            // Intended at 0.5 ms, credit at 0: on time (saturating), sent 0.5 ms after intended.
            ("schedule_lateness", RecordValue::Scalar(0.0)),
            ("send_lateness", RecordValue::Scalar(0.5e6)),
            (
                "co_corrected_time_to_first_token",
                RecordValue::Scalar(10.5e6),
            ),
            ("co_corrected_request_latency", RecordValue::Scalar(40.5e6)),
            // Sent at 1 ms, intended at 0.5 ms.
            ("replay_send_schedule_offset", RecordValue::Scalar(0.5e6)),
            ("usage_prompt_tokens", RecordValue::Scalar(100.0)),
            ("usage_completion_tokens", RecordValue::Scalar(11.0)),
            ("usage_total_tokens", RecordValue::Scalar(111.0)),
            ("usage_reasoning_tokens", RecordValue::Scalar(4.0)),
            ("usage_prompt_cache_read_tokens", RecordValue::Scalar(30.0)),
            ("usage_prompt_cache_write_tokens", RecordValue::Scalar(5.0)),
            ("usage_prompt_cache_miss_tokens", RecordValue::Scalar(70.0)),
            ("usage_prompt_audio_tokens", RecordValue::Scalar(1.0)),
            ("usage_completion_audio_tokens", RecordValue::Scalar(2.0)),
            ("usage_accepted_prediction_tokens", RecordValue::Scalar(3.0)),
            ("usage_rejected_prediction_tokens", RecordValue::Scalar(1.0)),
            ("usage_tool_use_prompt_tokens", RecordValue::Scalar(6.0)),
            ("usage_prompt_audio_seconds", RecordValue::Scalar(1.5)),
            ("usage_prompt_tokens_diff_pct", RecordValue::Scalar(0.0)),
            // |11 - 10| / 10.
            (
                "usage_completion_tokens_diff_pct",
                RecordValue::Scalar(10.0),
            ),
            ("usage_reasoning_tokens_diff_pct", RecordValue::Scalar(0.0)),
            ("num_images", RecordValue::Scalar(3.0)),
            ("image_throughput", RecordValue::Scalar(3.0 / 0.040)),
            ("image_latency", RecordValue::Scalar(40.0 / 3.0)),
            ("audio_duration", RecordValue::Scalar(2.0)),
            ("rtfx", RecordValue::Scalar(2.0 / 0.040)),
            ("video_inference_time", RecordValue::Scalar(0.5)),
            ("video_peak_memory", RecordValue::Scalar(900.0)),
            ("spec_decode_acceptance_length", RecordValue::Scalar(3.0)),
            (
                "spec_decode_draft_acceptance_rate",
                RecordValue::Scalar(800.0 / 12.0),
            ),
            // (8 + 4) / (12 + 4).
            (
                "spec_decode_accepted_per_verified",
                RecordValue::Scalar(0.75),
            ),
            ("spec_decode_steps", RecordValue::Scalar(4.0)),
            (
                "spec_decode_accepted_draft_tokens",
                RecordValue::Scalar(8.0),
            ),
            ("spec_decode_draft_tokens", RecordValue::Scalar(12.0)),
            ("http_req_blocked", RecordValue::Scalar(100.0)),
            ("http_req_dns_lookup", RecordValue::Scalar(0.0)),
            ("http_req_connecting", RecordValue::Scalar(200.0)),
            ("http_req_sending", RecordValue::Scalar(300.0)),
            ("http_req_waiting", RecordValue::Scalar(400.0)),
            ("http_req_receiving", RecordValue::Scalar(500.0)),
            ("http_req_duration", RecordValue::Scalar(1200.0)),
            ("http_req_connection_overhead", RecordValue::Scalar(300.0)),
            ("http_req_total", RecordValue::Scalar(1500.0)),
            ("http_req_connection_reused", RecordValue::Scalar(1.0)),
            ("http_req_data_sent", RecordValue::Scalar(2048.0)),
            ("http_req_data_received", RecordValue::Scalar(4096.0)),
            ("http_req_chunks_sent", RecordValue::Scalar(1.0)),
            ("http_req_chunks_received", RecordValue::Scalar(7.0)),
        ];
        for spec in REGISTRY {
            let MetricKind::Record(get) = spec.kind else {
                continue;
            };
            let want = expected
                .iter()
                .find(|(t, _)| *t == spec.tag)
                .unwrap_or_else(|| panic!("no hand-worked value for {}", spec.tag));
            let got = get(&m).unwrap_or_else(|| panic!("{} missing", spec.tag));
            match (&got, &want.1) {
                (RecordValue::Scalar(a), RecordValue::Scalar(b)) => {
                    assert!(
                        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                        "{}: {a} != {b}",
                        spec.tag
                    )
                }
                (a, b) => assert_eq!(a, b, "{}", spec.tag),
            }
        }
        // Failed requests carry only error_isl.
        let e = RecordMetrics::of_error(Some(9));
        let MetricKind::ErrorRecord(get) = find("error_isl").unwrap().kind else {
            panic!()
        };
        assert_eq!(get(&e), Some(RecordValue::Scalar(9.0)));
        // Data sizes display in KB of 1,024 bytes.
        assert_eq!(
            find("http_req_data_sent")
                .unwrap()
                .unit
                .factor_to(Unit::Kilobytes),
            1.0 / 1024.0
        );
    }
}
