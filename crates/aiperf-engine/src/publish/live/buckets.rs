//! Histogram bucket boundaries shared by both publishers: the OTel GenAI semantic conventions'
//! advisory boundaries (seconds, tokens), which AIPerf sends, and the OpenTelemetry SDK's
//! default for every other instrument.

/// `gen_ai.client.operation.duration` (seconds).
pub(super) const DURATION: &[f64] = &[
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// `gen_ai.client.operation.time_to_first_chunk` and `.time_per_output_chunk` (seconds).
pub(super) const CHUNK: &[f64] = &[
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.16, 0.18, 0.2, 0.25, 0.3, 0.35,
    0.4, 0.45, 0.5, 0.75, 1.0, 2.0, 5.0,
];

/// `gen_ai.client.token.usage` (tokens).
pub(super) const TOKENS: &[f64] = &[
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0,
];

/// The OpenTelemetry SDK's default explicit boundaries (what AIPerf's `aiperf.*` histograms
/// get, whatever their unit).
pub(super) const SDK_DEFAULT: &[f64] = &[
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// Index of the bucket `v` falls in: the first boundary `>= v` (upper bounds inclusive, as
/// both OTLP and Prometheus define them), `bounds.len()` for the overflow bucket.
pub(super) fn bucket(bounds: &[f64], v: f64) -> usize {
    bounds.partition_point(|b| *b < v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_bounds_are_inclusive() {
        assert_eq!(bucket(SDK_DEFAULT, -1.0), 0);
        assert_eq!(bucket(SDK_DEFAULT, 0.0), 0);
        assert_eq!(bucket(SDK_DEFAULT, 0.5), 1);
        assert_eq!(bucket(SDK_DEFAULT, 5.0), 1);
        assert_eq!(bucket(SDK_DEFAULT, 5.000001), 2);
        assert_eq!(bucket(SDK_DEFAULT, 1e9), SDK_DEFAULT.len());
        for b in [DURATION, CHUNK, TOKENS, SDK_DEFAULT] {
            assert!(b.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
