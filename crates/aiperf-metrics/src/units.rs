//! Base units (what is measured) and display units (what is printed).

/// A metric unit. Time is measured in nanoseconds and displayed in ms or s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Nanoseconds,
    Milliseconds,
    Seconds,
    Tokens,
    Requests,
    TokensPerSecond,
    TokensPerSecondPerUser,
    RequestsPerSecond,
    Percent,
    Ratio,
    Bytes,
    /// 1,024 bytes, as AIPerf's `MetricSizeUnit.KILOBYTES`.
    Kilobytes,
    /// 1,000,000 bytes (AIPerf's `MetricSizeUnit.MEGABYTES`; video peak memory).
    Megabytes,
    Count,
    Images,
    ImagesPerSecond,
    MillisecondsPerImage,
}

impl Unit {
    /// The label AIPerf prints (`ms`, `tokens/sec`, ...).
    pub fn label(self) -> &'static str {
        match self {
            Unit::Nanoseconds => "ns",
            Unit::Milliseconds => "ms",
            Unit::Seconds => "sec",
            Unit::Tokens => "tokens",
            Unit::Requests => "requests",
            Unit::TokensPerSecond => "tokens/sec",
            Unit::TokensPerSecondPerUser => "tokens/sec/user",
            Unit::RequestsPerSecond => "requests/sec",
            Unit::Percent => "%",
            Unit::Ratio => "ratio",
            Unit::Bytes => "B",
            Unit::Kilobytes => "KB",
            Unit::Megabytes => "MB",
            Unit::Count => "count",
            Unit::Images => "images",
            Unit::ImagesPerSecond => "images/sec",
            Unit::MillisecondsPerImage => "ms/image",
        }
    }

    /// Factor that converts a value in `self` into `to` (1 when they are not both times).
    pub fn factor_to(self, to: Unit) -> f64 {
        fn ns(u: Unit) -> Option<f64> {
            match u {
                Unit::Nanoseconds => Some(1.0),
                Unit::Milliseconds => Some(1e6),
                Unit::Seconds => Some(1e9),
                _ => None,
            }
        }
        match (self, to, ns(self), ns(to)) {
            (_, _, Some(a), Some(b)) => a / b,
            (Unit::Bytes, Unit::Kilobytes, ..) => 1.0 / 1024.0,
            _ => 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_times_only() {
        assert_eq!(Unit::Nanoseconds.factor_to(Unit::Milliseconds), 1e-6);
        assert_eq!(Unit::Nanoseconds.factor_to(Unit::Seconds), 1e-9);
        assert_eq!(Unit::Tokens.factor_to(Unit::Tokens), 1.0);
    }
}
