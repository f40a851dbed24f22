//! AIPerf's OTel GenAI semantic-convention mapping (`post_processors/strategies/
//! genai_semconv.py`): which per-request metrics get a spec name, unit, boundaries and
//! attributes, how an error is classified, and how the provider is inferred.

use aiperf_config::ProfileConfig;
use aiperf_core::ErrorDetails;

use super::buckets;

/// Which spec attributes an instrument's data points carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// `aiperf.<tag>`: the per-record attributes only.
    Plain,
    /// A duration: operation, provider, model and `error.type` when the request failed.
    Duration,
    /// `gen_ai.client.token.usage`: operation, provider, model and `gen_ai.token.type`.
    TokenUsage(&'static str),
}

/// A metric's spec equivalent: name, unit, boundaries, shape, and the factor from the
/// computed unit (ns for durations) to the spec's.
pub(super) struct Spec {
    pub name: &'static str,
    pub unit: &'static str,
    pub bounds: &'static [f64],
    pub shape: Shape,
    pub factor: f64,
}

/// AIPerf's `METRIC_NAME_MAP` (its `input_token_count` entry matches no AIPerf metric, so
/// input lengths go out as `aiperf.input_sequence_length`, as there).
pub(super) fn translate(tag: &str) -> Option<Spec> {
    let (name, unit, bounds, shape, factor) = match tag {
        "request_latency" => (
            "gen_ai.client.operation.duration",
            "s",
            buckets::DURATION,
            Shape::Duration,
            1e-9,
        ),
        "time_to_first_token" => (
            "gen_ai.client.operation.time_to_first_chunk",
            "s",
            buckets::CHUNK,
            Shape::Duration,
            1e-9,
        ),
        "inter_token_latency" => (
            "gen_ai.client.operation.time_per_output_chunk",
            "s",
            buckets::CHUNK,
            Shape::Duration,
            1e-9,
        ),
        "output_token_count" => (
            "gen_ai.client.token.usage",
            "{token}",
            buckets::TOKENS,
            Shape::TokenUsage("output"),
            1.0,
        ),
        _ => return None,
    };
    Some(Spec {
        name,
        unit,
        bounds,
        shape,
        factor,
    })
}

/// `error.type` values (AIPerf's `_classify_error_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum ErrorType {
    Http5xx,
    Http4xx,
    Timeout,
    Cancelled,
    ParseError,
    Other,
}

impl ErrorType {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            ErrorType::Http5xx => "http_5xx",
            ErrorType::Http4xx => "http_4xx",
            ErrorType::Timeout => "timeout",
            ErrorType::Cancelled => "cancelled",
            ErrorType::ParseError => "parse_error",
            ErrorType::Other => "_OTHER",
        }
    }

    /// The status class first, then the error's type, then a JSON parse message. Our
    /// `RequestTimeoutError` counts as AIPerf's `TimeoutError`.
    pub(super) fn of(e: &ErrorDetails) -> ErrorType {
        match e.code {
            Some(500..=599) => return ErrorType::Http5xx,
            Some(400..=499) => return ErrorType::Http4xx,
            _ => {}
        }
        match e.kind.as_str() {
            "timeout" | "asyncio.TimeoutError" | "TimeoutError" | "RequestTimeoutError" => {
                return ErrorType::Timeout
            }
            "cancelled" => return ErrorType::Cancelled,
            _ => {}
        }
        let m = e.message.to_ascii_lowercase();
        if m.contains("json") && (m.contains("parse") || m.contains("decode")) {
            ErrorType::ParseError
        } else {
            ErrorType::Other
        }
    }
}

/// `gen_ai.operation.name` from the endpoint type (`chat` when unknown).
pub(super) fn operation_name(endpoint_type: &str) -> &'static str {
    match endpoint_type.to_ascii_lowercase().as_str() {
        "completions" => "text_completion",
        "embeddings" => "embeddings",
        _ => "chat",
    }
}

/// `gen_ai.provider.name`: `--gen-ai-provider`, else inferred from the first `--url` whose
/// host is a known provider's, else `_OTHER`.
pub(super) fn provider_name(cfg: &ProfileConfig) -> String {
    if let Some(p) = cfg
        .observability
        .otel
        .as_ref()
        .and_then(|o| o.gen_ai_provider.clone())
    {
        return p;
    }
    cfg.urls
        .iter()
        .find_map(|u| provider_of_host(&u.host.to_ascii_lowercase()))
        .unwrap_or("_OTHER")
        .to_string()
}

/// AIPerf's `_PROVIDER_HOST_PATTERNS` (unanchored at the start, anchored at the end).
fn provider_of_host(host: &str) -> Option<&'static str> {
    const SUFFIXES: [(&str, &str); 13] = [
        ("api.openai.com", "openai"),
        ("api.anthropic.com", "anthropic"),
        ("api.deepseek.com", "deepseek"),
        ("api.mistral.ai", "mistral_ai"),
        ("api.cohere.ai", "cohere"),
        ("api.cohere.com", "cohere"),
        ("api.x.ai", "x_ai"),
        ("api.groq.com", "groq"),
        ("api.perplexity.ai", "perplexity"),
        ("generativelanguage.googleapis.com", "gcp.gemini"),
        ("-aiplatform.googleapis.com", "gcp.vertex_ai"),
        (".openai.azure.com", "azure.ai.openai"),
        (".services.ai.azure.com", "azure.ai.inference"),
    ];
    for (i, (suffix, provider)) in SUFFIXES.iter().enumerate() {
        // Bedrock comes after Vertex AI and before Azure in AIPerf's order.
        if i == 11 && is_bedrock(host) {
            return Some("aws.bedrock");
        }
        if host.ends_with(suffix) {
            return Some(provider);
        }
    }
    host.ends_with(".ibm.com").then_some("ibm.watsonx.ai")
}

/// `bedrock-runtime\..*\.amazonaws\.com$`.
fn is_bedrock(host: &str) -> bool {
    host.find("bedrock-runtime.")
        .is_some_and(|i| host[i + "bedrock-runtime".len()..].ends_with(".amazonaws.com"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_as_aiperf_does() {
        let e = |code, kind: &str, msg: &str| ErrorType::of(&ErrorDetails::new(code, kind, msg));
        assert_eq!(e(Some(503), "Service Unavailable", ""), ErrorType::Http5xx);
        assert_eq!(
            e(Some(499), "RequestCancellationError", ""),
            ErrorType::Http4xx
        );
        assert_eq!(e(None, "RequestTimeoutError", ""), ErrorType::Timeout);
        assert_eq!(e(None, "cancelled", ""), ErrorType::Cancelled);
        assert_eq!(e(None, "X", "Failed to parse JSON"), ErrorType::ParseError);
        assert_eq!(e(None, "ConnectionError", "reset"), ErrorType::Other);
        assert_eq!(ErrorType::Other.as_str(), "_OTHER");
    }

    #[test]
    fn providers_are_inferred_from_hosts() {
        for (host, want) in [
            ("api.openai.com", Some("openai")),
            ("eu.api.openai.com", Some("openai")),
            ("api.cohere.com", Some("cohere")),
            (
                "us-central1-aiplatform.googleapis.com",
                Some("gcp.vertex_ai"),
            ),
            (
                "bedrock-runtime.us-east-1.amazonaws.com",
                Some("aws.bedrock"),
            ),
            ("x.openai.azure.com", Some("azure.ai.openai")),
            ("us-south.ml.cloud.ibm.com", Some("ibm.watsonx.ai")),
            ("localhost", None),
            ("api.openai.com.evil.org", None),
        ] {
            assert_eq!(provider_of_host(host), want, "{host}");
        }
        assert_eq!(operation_name("completions"), "text_completion");
        assert_eq!(operation_name("embeddings"), "embeddings");
        assert_eq!(operation_name("rankings"), "chat");
    }

    #[test]
    fn spec_metrics_are_the_four_aiperf_maps() {
        let ttft = translate("time_to_first_token").map(|s| (s.name, s.unit, s.factor));
        assert_eq!(
            ttft,
            Some(("gen_ai.client.operation.time_to_first_chunk", "s", 1e-9))
        );
        let osl = translate("output_token_count").map(|s| s.shape);
        assert_eq!(osl, Some(Shape::TokenUsage("output")));
        assert!(translate("input_sequence_length").is_none());
        assert!(translate("inter_chunk_latency").is_none());
    }
}
