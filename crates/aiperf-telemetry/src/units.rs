//! Units of server metrics as AIPerf 0.13 infers them (`aiperf/server_metrics/units.py`
//! `infer_unit(name, description)`, written as its `display_name()`): from the HELP text first
//! (a 0-1 range, a percentage, `(in X)`, unit words), then from the name's suffix. AIPerf
//! ignores OpenMetrics `# UNIT`; the aggregation falls back to it only when nothing is inferred.

use std::sync::LazyLock;

use regex::Regex;

/// Name suffixes, longest first (AIPerf's `_METRIC_SUFFIX_TO_UNIT` sorted by length).
static SUFFIXES: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
    let mut v = vec![
        ("_seconds", "seconds"),
        ("_seconds_total", "seconds"),
        ("_milliseconds", "milliseconds"),
        ("_ms", "milliseconds"),
        ("_ms_total", "milliseconds"),
        ("_nanoseconds", "nanoseconds"),
        ("_ns", "nanoseconds"),
        ("_ns_total", "nanoseconds"),
        ("_bytes", "bytes"),
        ("_kilobytes", "kilobytes"),
        ("_megabytes", "megabytes"),
        ("_gigabytes", "gigabytes"),
        ("_bytes_total", "bytes"),
        ("_total", "count"),
        ("_count", "count"),
        ("_tokens", "tokens"),
        ("_tokens_total", "tokens"),
        ("_requests", "requests"),
        ("_requests_total", "requests"),
        ("request_success", "requests"),
        ("_errors", "errors"),
        ("_errors_total", "errors"),
        ("_error_count", "errors"),
        ("_error_count_total", "errors"),
        ("_reqs", "requests"),
        ("_blocks", "blocks"),
        ("_blocks_total", "blocks"),
        ("_block_count", "blocks"),
        ("_gb_s", "gb/s"),
        ("_ratio", "ratio"),
        ("_percent", "percent"),
        ("_perc", "percent"),
        ("_celsius", "celsius"),
        ("_joules", "joule"),
        ("_watts", "watt"),
    ];
    v.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
    v
});

/// `(in <tag>)` tags, case-sensitive.
const UNIT_TAGS: [(&str, &str); 31] = [
    ("MiB", "megabytes"),
    ("GiB", "gigabytes"),
    ("KiB", "kilobytes"),
    ("B", "bytes"),
    ("MB", "megabytes"),
    ("GB", "gigabytes"),
    ("KB", "kilobytes"),
    ("TB", "terabytes"),
    ("C", "celsius"),
    ("°C", "celsius"),
    ("F", "fahrenheit"),
    ("°F", "fahrenheit"),
    ("K", "kelvin"),
    ("Hz", "hertz"),
    ("MHz", "megahertz"),
    ("GHz", "gigahertz"),
    ("W", "watt"),
    ("mW", "milliwatt"),
    ("J", "joule"),
    ("mJ", "millijoule"),
    ("MJ", "megajoule"),
    ("s", "seconds"),
    ("sec", "seconds"),
    ("ms", "milliseconds"),
    ("ns", "nanoseconds"),
    ("us", "microseconds"),
    ("µs", "microseconds"),
    ("GB/s", "gb/s"),
    ("MB/s", "mb/s"),
    ("%", "percent"),
    ("percent", "percent"),
];

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid unit pattern")
}

static RATIO_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\(0(?:\.0)?\s*(?:[-–—]+|to)\s*1(?:\.0)?\)|\b0(?:\.0)?\s*(?:[-–—]+|to)\s*1(?:\.0)?\b|\brange\s+0(?:\.0)?\s*(?:[-–—]+|to)\s*1(?:\.0)?\b|(?:\b|\()1(?:\.0)?\s*(?:means|is|equals?|==?)\s*100\s*(?:%|percent)",
    )
});

static PERCENT_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\(0(?:\.0)?\s*(?:[-–—]+|to)\s*100(?:\.0)?\)|\brange\s+0\s*(?:[-–—]+|to)\s*100\b|\b0\s*(?:[-–—]+|to)\s*100\s*%",
    )
});

static PAREN_IN_UNIT: LazyLock<Regex> = LazyLock::new(|| re(r"\(in\s+([^\s)]+)\)"));

static DESCRIPTION_UNITS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"(?:\bin\s+|\()seconds?(?:\b|\))", "seconds"),
        (
            r"(?:\bin\s+|\()(?:milliseconds?|ms)(?:\b|\))",
            "milliseconds",
        ),
        (r"(?:\bin\s+|\()(?:nanoseconds?|ns)(?:\b|\))", "nanoseconds"),
        (r"(?:\bin\s+|\()bytes?(?:\b|\))", "bytes"),
        (r"(?:\bin\s+|\()GB/s(?:\b|\))", "gb/s"),
        (r"(?:\bin\s+|\()MB/s(?:\b|\))", "mb/s"),
        (
            r"(?:\bin\s+|\()tokens?/s(?:ec(?:ond)?)?(?:\b|\))",
            "tokens/s",
        ),
        (
            r"(?:\bin\s+|\()requests?/s(?:ec(?:ond)?)?(?:\b|\))",
            "requests/s",
        ),
        (r"\bin\s+tokens?\b", "tokens"),
    ]
    .into_iter()
    .map(|(p, u)| (re(&format!("(?i){p}")), u))
    .collect()
});

/// AIPerf's unit for a metric: a 0-1 / 0-100 range in the description (`ratio` /
/// `percent`), else a unit the description names (`(in W)`, `in seconds`, ...), else the
/// name's suffix (`_seconds`, `_total` -> `count`, ...) or `num_requests_` -> `requests`.
pub fn infer_unit(name: &str, description: &str) -> Option<&'static str> {
    if !description.is_empty() {
        if RATIO_RANGE.is_match(description) {
            return Some("ratio");
        }
        if PERCENT_RANGE.is_match(description) {
            return Some("percent");
        }
        if let Some(tag) = PAREN_IN_UNIT
            .captures(description)
            .map(|c| c[1].trim().to_string())
        {
            if let Some((_, unit)) = UNIT_TAGS.iter().find(|(t, _)| *t == tag) {
                return Some(unit);
            }
        }
        if let Some((_, unit)) = DESCRIPTION_UNITS
            .iter()
            .find(|(r, _)| r.is_match(description))
        {
            return Some(unit);
        }
    }
    let lower = name.to_lowercase();
    if let Some((_, unit)) = SUFFIXES.iter().find(|(s, _)| lower.ends_with(s)) {
        return Some(unit);
    }
    lower.contains("num_requests_").then_some("requests")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_follow_aiperf_inference() {
        let cases = [
            ("request_duration_seconds", "", Some("seconds")),
            (
                "latency",
                "Request latency in milliseconds",
                Some("milliseconds"),
            ),
            ("cache_hit_percent", "Hit rate (0.0-1.0)", Some("ratio")),
            ("gpu_power", "Power consumption (in W)", Some("watt")),
            (
                "fb_used",
                "Framebuffer memory used (in MiB).",
                Some("megabytes"),
            ),
            (
                "vllm:kv_cache_usage_perc",
                "KV-cache usage. 1 means 100 percent usage.",
                Some("ratio"),
            ),
            ("vllm:kv_cache_usage_perc", "", Some("percent")),
            (
                "vllm:prompt_tokens",
                "Number of prefill tokens processed.",
                Some("tokens"),
            ),
            ("vllm:generation_tokens_total", "", Some("tokens")),
            (
                "vllm:num_preemptions",
                "Cumulative number of preemption from the engine.",
                None,
            ),
            ("sglang:num_requests_waiting", "", Some("requests")),
            ("x_total", "", Some("count")),
            ("tput", "Throughput (tokens/s)", Some("tokens/s")),
            ("unknown_metric", "", None),
        ];
        for (name, help, want) in cases {
            assert_eq!(infer_unit(name, help), want, "{name} / {help}");
        }
    }
}
