//! `--request-rate-series`: a piecewise-linear request rate over the phase, as AIPerf's
//! `RateSeriesController` applies it (the rate is set every 0.1 s to the series' value at that
//! moment, and the series starts once any `--request-rate-ramp-duration` ramp is over).

/// One control point: `qps` requests/s, `time_s` seconds into the series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatePoint {
    pub time_s: f64,
    pub qps: f64,
}

/// A validated series: at least two points, finite, rates > 0, times >= 0 and strictly
/// increasing.
#[derive(Debug, Clone, PartialEq)]
pub struct RateSeries {
    points: Vec<RatePoint>,
}

/// AIPerf's rate update step (AIPERF_TIMING_RATE_RAMP_UPDATE_INTERVAL).
pub const UPDATE_STEP_NS: u64 = 100_000_000;

impl RateSeries {
    /// Checks the points as AIPerf does; the error is AIPerf's sentence.
    pub fn new(points: Vec<RatePoint>) -> Result<RateSeries, String> {
        if points.len() < 2 {
            return Err("Request-rate series requires at least two points".into());
        }
        for (i, p) in points.iter().enumerate() {
            if !p.time_s.is_finite() || !p.qps.is_finite() {
                return Err("Request-rate series values must be finite".into());
            }
            if p.time_s < 0.0 {
                return Err(format!(
                    "Invalid request-rate series point {i}: time_s must be >= 0, got {}",
                    p.time_s
                ));
            }
            if p.qps <= 0.0 {
                return Err(format!(
                    "Invalid request-rate series point {i}: qps must be > 0, got {}",
                    p.qps
                ));
            }
        }
        if points.windows(2).any(|w| w[1].time_s <= w[0].time_s) {
            return Err("Request-rate series time_s values must be strictly increasing".into());
        }
        Ok(RateSeries { points })
    }

    pub fn points(&self) -> &[RatePoint] {
        &self.points
    }

    /// The first point's rate: what the phase starts at (and what a rate ramp climbs to).
    pub fn initial_qps(&self) -> f64 {
        self.points[0].qps
    }

    /// The interpolated rate `elapsed_s` into the series: the first rate before the first
    /// point, the last after the last.
    pub fn value_at(&self, elapsed_s: f64) -> f64 {
        let (first, last) = (self.points[0], self.points[self.points.len() - 1]);
        if elapsed_s <= first.time_s {
            return first.qps;
        }
        if elapsed_s >= last.time_s {
            return last.qps;
        }
        let right = self.points.partition_point(|p| p.time_s <= elapsed_s);
        let (a, b) = (self.points[right - 1], self.points[right]);
        a.qps + (b.qps - a.qps) * (elapsed_s - a.time_s) / (b.time_s - a.time_s)
    }

    /// The rate in force `t_ns` into the series: updated every 0.1 s, so the value at the
    /// start of the step `t_ns` falls in.
    pub fn stepped_rate(&self, t_ns: u64) -> f64 {
        let step_start = t_ns / UPDATE_STEP_NS * UPDATE_STEP_NS;
        self.value_at(step_start as f64 / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(points: &[(f64, f64)]) -> Result<RateSeries, String> {
        RateSeries::new(
            points
                .iter()
                .map(|&(time_s, qps)| RatePoint { time_s, qps })
                .collect(),
        )
    }

    #[test]
    fn interpolates_linearly_and_holds_the_ends() {
        let s = series(&[(1.0, 10.0), (3.0, 30.0), (4.0, 20.0)]).unwrap();
        assert_eq!(s.value_at(0.0), 10.0, "before the first point");
        assert_eq!(s.value_at(2.0), 20.0, "halfway from 10 to 30");
        assert_eq!(s.value_at(3.0), 30.0);
        assert_eq!(s.value_at(3.5), 25.0, "halfway from 30 down to 20");
        assert_eq!(s.value_at(9.0), 20.0, "after the last point");
        assert_eq!(s.initial_qps(), 10.0);
    }

    #[test]
    fn the_rate_moves_in_tenth_of_a_second_steps() {
        let s = series(&[(0.0, 10.0), (1.0, 20.0)]).unwrap();
        // 0.25 s is in the step that began at 0.2 s: 10 + 10 * 0.2 = 12.
        assert!((s.stepped_rate(250_000_000) - 12.0).abs() < 1e-9);
        assert_eq!(s.stepped_rate(99_999_999), 10.0);
        assert_eq!(s.stepped_rate(5_000_000_000), 20.0);
    }

    #[test]
    fn bad_series_are_refused_with_aiperfs_reasons() {
        assert_eq!(
            series(&[(0.0, 1.0)]).unwrap_err(),
            "Request-rate series requires at least two points"
        );
        assert_eq!(
            series(&[(0.0, 1.0), (0.0, 2.0)]).unwrap_err(),
            "Request-rate series time_s values must be strictly increasing"
        );
        assert!(series(&[(0.0, 1.0), (1.0, 0.0)])
            .unwrap_err()
            .contains("point 1: qps must be > 0"));
        assert!(series(&[(-1.0, 1.0), (1.0, 2.0)])
            .unwrap_err()
            .contains("point 0: time_s must be >= 0"));
        assert_eq!(
            series(&[(0.0, f64::NAN), (1.0, 2.0)]).unwrap_err(),
            "Request-rate series values must be finite"
        );
    }
}
