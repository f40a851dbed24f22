//! The metric table: every metric aiperf computes, with AIPerf's tag, header, units and flags.
//!
//! Order matters: a derived metric comes after everything it depends on (a test checks it), and
//! the console sorts by `display_order`. To add a metric: add its value to
//! [`crate::record::RecordMetrics`] (per-request) or a `derive` function (run-level), then one
//! row here.

use crate::accumulate::Derived;
use crate::record::{RecordMetrics, RecordValue};
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

    pub const fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        self.union(rhs)
    }
}

const STREAM_TOKENS: Flags = Flags::STREAMING_ONLY.union(Flags::PRODUCES_TOKENS_ONLY);
const TOKENS_LIB: Flags = Flags::PRODUCES_TOKENS_ONLY.union(Flags::LARGER_IS_BETTER);

/// How a metric is computed.
#[derive(Clone, Copy)]
pub enum MetricKind {
    /// One value (or list) per successful request; reported as a distribution.
    Record(fn(&RecordMetrics) -> Option<RecordValue>),
    /// One value per failed request; reported as a distribution.
    ErrorRecord(fn(&RecordMetrics) -> Option<RecordValue>),
    /// One run-level value, folded or derived from other results.
    Derived(fn(&Derived) -> Option<f64>),
}

impl std::fmt::Debug for MetricKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MetricKind::Record(_) => "record",
            MetricKind::ErrorRecord(_) => "error_record",
            MetricKind::Derived(_) => "derived",
        })
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
    /// Shown in the console table (AIPerf's `DEFAULT` console group) when `Some`, ordered by it.
    pub display_order: Option<u32>,
    /// Tags this metric reads (documentation and ordering check).
    pub depends_on: &'static [&'static str],
}

/// What kind of run this is, deciding which metrics apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applicability {
    pub streaming: bool,
    pub produces_tokens: bool,
    pub tokenizes_input: bool,
}

impl MetricSpec {
    /// Whether the metric is enabled for a run of this kind.
    pub fn applies(&self, run: &Applicability) -> bool {
        (run.streaming || !self.flags.contains(Flags::STREAMING_ONLY))
            && (run.produces_tokens || !self.flags.contains(Flags::PRODUCES_TOKENS_ONLY))
            && (run.tokenizes_input || !self.flags.contains(Flags::TOKENIZES_INPUT_ONLY))
    }

    /// Whether the metric appears in per-record JSONL.
    pub fn in_records(&self) -> bool {
        !self.flags.contains(Flags::NO_INDIVIDUAL_RECORDS)
            && !self.flags.contains(Flags::INTERNAL)
            && !matches!(self.kind, MetricKind::Derived(_))
    }

    /// Whether the metric is exported at all.
    pub fn exported(&self) -> bool {
        !self.flags.contains(Flags::INTERNAL)
    }
}

/// Looks a metric up by tag.
pub fn find(tag: &str) -> Option<&'static MetricSpec> {
    REGISTRY.iter().find(|m| m.tag == tag)
}

fn scalar(v: Option<f64>) -> Option<RecordValue> {
    v.map(RecordValue::Scalar)
}

macro_rules! metric {
    ($tag:literal, $header:literal, $kind:expr, $unit:expr => $display:expr, $flags:expr, $order:expr, [$($dep:literal),*]) => {
        MetricSpec {
            tag: $tag,
            header: $header,
            kind: $kind,
            unit: $unit,
            display_unit: $display,
            flags: $flags,
            display_order: $order,
            depends_on: &[$($dep),*],
        }
    };
}

use MetricKind::{Derived as D, ErrorRecord as E, Record as R};
use Unit::*;

/// Every metric, in dependency order.
pub static REGISTRY: &[MetricSpec] = &[
    metric!("time_to_first_token", "Time to First Token", R(|m| scalar(m.time_to_first_token)),
        Nanoseconds => Milliseconds, STREAM_TOKENS, Some(100), []),
    metric!("time_to_second_token", "Time to Second Token", R(|m| scalar(m.time_to_second_token)),
        Nanoseconds => Milliseconds, STREAM_TOKENS, Some(200), []),
    metric!("request_latency", "Request Latency", R(|m| scalar(m.request_latency)),
        Nanoseconds => Milliseconds, Flags::NONE, Some(300), []),
    metric!("decode_duration", "Decode Duration", R(|m| scalar(m.decode_duration)),
        Nanoseconds => Milliseconds, STREAM_TOKENS, Some(350), ["request_latency", "time_to_first_token"]),
    metric!("inter_token_latency", "Inter Token Latency", R(|m| scalar(m.inter_token_latency)),
        Nanoseconds => Milliseconds, STREAM_TOKENS, Some(400),
        ["output_sequence_length", "request_latency", "time_to_first_token"]),
    metric!("output_token_throughput_per_user", "Output Token Throughput Per User",
        R(|m| scalar(m.output_token_throughput_per_user)),
        TokensPerSecondPerUser => TokensPerSecondPerUser, STREAM_TOKENS.union(Flags::LARGER_IS_BETTER), Some(500),
        ["inter_token_latency"]),
    metric!("e2e_output_token_throughput", "E2E Output Token Throughput",
        R(|m| scalar(m.e2e_output_token_throughput)),
        TokensPerSecondPerUser => TokensPerSecondPerUser, TOKENS_LIB, Some(550),
        ["output_sequence_length", "request_latency"]),
    metric!("output_sequence_length", "Output Sequence Length", R(|m| scalar(m.output_sequence_length)),
        Tokens => Tokens, TOKENS_LIB, Some(600), []),
    metric!("input_sequence_length", "Input Sequence Length", R(|m| scalar(m.input_sequence_length)),
        Tokens => Tokens, Flags::TOKENIZES_INPUT_ONLY.union(Flags::LARGER_IS_BETTER), Some(700), []),
    metric!("output_token_count", "Output Token Count", R(|m| scalar(m.output_token_count)),
        Tokens => Tokens, TOKENS_LIB, None, []),
    metric!("reasoning_token_count", "Reasoning Token Count", R(|m| scalar(m.reasoning_token_count)),
        Tokens => Tokens, TOKENS_LIB, None, []),
    metric!("inter_chunk_latency", "Inter Chunk Latency",
        R(|m| (!m.inter_chunk_latency.is_empty()).then(|| RecordValue::List(m.inter_chunk_latency.clone()))),
        Nanoseconds => Milliseconds, STREAM_TOKENS, None, []),
    metric!("prefill_throughput_per_user", "Prefill Throughput Per User",
        R(|m| scalar(m.prefill_throughput_per_user)),
        TokensPerSecondPerUser => TokensPerSecondPerUser,
        STREAM_TOKENS.union(Flags::TOKENIZES_INPUT_ONLY).union(Flags::LARGER_IS_BETTER), None,
        ["input_sequence_length", "time_to_first_token"]),
    metric!("error_isl", "Error Input Sequence Length", E(|m| scalar(m.input_sequence_length)),
        Tokens => Tokens, Flags::ERROR_ONLY.union(Flags::TOKENIZES_INPUT_ONLY).union(Flags::LARGER_IS_BETTER), None, []),
    // Run-level: folded counters first, then what derives from them.
    metric!("request_count", "Request Count", D(|d| Some(d.request_count as f64)),
        Requests => Requests, Flags::LARGER_IS_BETTER.union(Flags::NO_INDIVIDUAL_RECORDS), Some(1000), []),
    metric!("error_request_count", "Error Request Count",
        D(|d| (d.error_count > 0).then_some(d.error_count as f64)),
        Requests => Requests, Flags::ERROR_ONLY.union(Flags::NO_INDIVIDUAL_RECORDS), Some(1100), []),
    metric!("min_request_timestamp", "Minimum Request Timestamp", D(|d| d.min_request_wall_ns.map(|v| v as f64)),
        Nanoseconds => Nanoseconds, Flags::INTERNAL.union(Flags::NO_INDIVIDUAL_RECORDS), None, []),
    metric!("max_response_timestamp", "Maximum Response Timestamp", D(|d| d.max_response_wall_ns.map(|v| v as f64)),
        Nanoseconds => Nanoseconds, Flags::INTERNAL.union(Flags::NO_INDIVIDUAL_RECORDS), None, ["request_latency"]),
    metric!("benchmark_duration", "Benchmark Duration",
        D(|d| Some(d.get("max_response_timestamp")? - d.get("min_request_timestamp")?)),
        Nanoseconds => Seconds, Flags::NO_INDIVIDUAL_RECORDS, None, ["max_response_timestamp", "min_request_timestamp"]),
    metric!("total_osl", "Total Output Sequence Length", D(|d| d.sum("output_sequence_length")),
        Tokens => Tokens, TOKENS_LIB, None, ["output_sequence_length"]),
    metric!("total_isl", "Total Input Sequence Length", D(|d| d.sum("input_sequence_length")),
        Tokens => Tokens, Flags::TOKENIZES_INPUT_ONLY.union(Flags::LARGER_IS_BETTER), None, ["input_sequence_length"]),
    metric!("total_output_tokens", "Total Output Tokens", D(|d| d.sum("output_token_count")),
        Tokens => Tokens, TOKENS_LIB, None, ["output_token_count"]),
    metric!("total_reasoning_tokens", "Total Reasoning Tokens", D(|d| d.sum("reasoning_token_count")),
        Tokens => Tokens, TOKENS_LIB, None, ["reasoning_token_count"]),
    metric!("total_error_isl", "Total Error Input Sequence Length", D(|d| d.sum("error_isl")),
        Tokens => Tokens, Flags::ERROR_ONLY.union(Flags::TOKENIZES_INPUT_ONLY).union(Flags::LARGER_IS_BETTER), None,
        ["error_isl"]),
    metric!("output_token_throughput", "Output Token Throughput",
        D(|d| d.per_second(d.get("total_osl")?)),
        TokensPerSecond => TokensPerSecond, TOKENS_LIB, Some(800), ["benchmark_duration", "total_osl"]),
    metric!("input_token_throughput", "Input Token Throughput",
        D(|d| d.per_second(d.get("total_isl")?)),
        TokensPerSecond => TokensPerSecond, Flags::TOKENIZES_INPUT_ONLY.union(Flags::LARGER_IS_BETTER), Some(850),
        ["benchmark_duration", "total_isl"]),
    metric!("total_token_throughput", "Total Token Throughput",
        D(|d| d.per_second(d.get("total_isl")? + d.get("total_osl")?)),
        TokensPerSecond => TokensPerSecond, TOKENS_LIB, None, ["benchmark_duration", "total_isl", "total_osl"]),
    metric!("request_throughput", "Request Throughput",
        D(|d| d.per_second(d.request_count as f64)),
        RequestsPerSecond => RequestsPerSecond, Flags::LARGER_IS_BETTER, Some(900),
        ["benchmark_duration", "request_count"]),
    metric!("completed_request_count", "Completed Requests (Success + Error)",
        D(|d| Some((d.request_count + d.error_count) as f64)),
        Requests => Requests, Flags::NO_INDIVIDUAL_RECORDS, Some(950), ["error_request_count", "request_count"]),
    metric!("request_error_rate", "Request Error Rate",
        D(|d| {
            let total = d.request_count + d.error_count;
            (total > 0).then(|| 100.0 * d.error_count as f64 / total as f64)
        }),
        Percent => Percent, Flags::NO_INDIVIDUAL_RECORDS, Some(960), ["error_request_count", "request_count"]),
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
        let non_streaming = Applicability {
            streaming: false,
            produces_tokens: true,
            tokenizes_input: true,
        };
        let embeddings = Applicability {
            streaming: false,
            produces_tokens: false,
            tokenizes_input: true,
        };
        assert!(!find("time_to_first_token").unwrap().applies(&non_streaming));
        assert!(find("request_latency").unwrap().applies(&non_streaming));
        assert!(!find("output_sequence_length").unwrap().applies(&embeddings));
        assert!(find("input_sequence_length").unwrap().applies(&embeddings));
    }
}
