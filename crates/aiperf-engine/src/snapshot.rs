//! A running phase as plain numbers: what UIs and observers read, copied from the phase's
//! counters on the phase loop's tick. Holding one keeps nothing of the run alive.

use std::time::Instant;

use aiperf_core::Phase;

/// One phase at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseSnapshot {
    pub phase: Phase,
    /// When the phase started (for elapsed time and ETA between ticks).
    pub started: Instant,
    /// Seconds since the phase started, on the run clock.
    pub elapsed_s: f64,
    /// Requests the phase will send, when bounded by count.
    pub target_requests: Option<u64>,
    /// The phase's duration, when bounded by time.
    pub duration_s: Option<f64>,
    /// Requested turns per second (rate modes).
    pub requested_rate: Option<f64>,
    /// Requests sent so far.
    pub issued: u64,
    /// Requests on the wire now.
    pub in_flight: u64,
    /// Requests finished: processed records while profiling (the record processor may still be
    /// a few behind when sending ends), sent requests during warmup (warmup records are not
    /// processed).
    pub done: u64,
    /// Failed profiling requests so far.
    pub errors: u64,
}

impl PhaseSnapshot {
    /// Requests sent per second since the phase started.
    pub fn send_rate(&self) -> f64 {
        if self.elapsed_s > 0.0 {
            self.issued as f64 / self.elapsed_s
        } else {
            0.0
        }
    }

    /// Whether a time-bound phase is past its duration (in-flight requests are in their grace
    /// period).
    pub fn past_duration(&self) -> bool {
        self.duration_s.is_some_and(|d| self.elapsed_s >= d)
    }

    /// One progress line: `[profiling] 40/100 sent, 38 done (1 errors), 2 in flight, 1.2 s`.
    pub fn progress_line(&self) -> String {
        let elapsed = self.elapsed_s;
        let target = match (self.target_requests, self.duration_s) {
            (Some(n), _) => format!("{}/{n} sent", self.issued),
            (None, Some(d)) => format!("{elapsed:.0}/{d:.0} s"),
            _ => format!("{} sent", self.issued),
        };
        format!(
            "[{}] {target}, {} done ({} errors), {} in flight, {elapsed:.1} s",
            self.phase.as_str(),
            self.done,
            self.errors,
            self.in_flight
        )
    }
}

#[cfg(test)]
pub(crate) fn sample(phase: Phase) -> PhaseSnapshot {
    PhaseSnapshot {
        phase,
        started: Instant::now(),
        elapsed_s: 2.0,
        target_requests: Some(100),
        duration_s: None,
        requested_rate: None,
        issued: 40,
        in_flight: 2,
        done: 38,
        errors: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_name_the_bound() {
        let s = sample(Phase::Profiling);
        assert_eq!(
            s.progress_line(),
            "[profiling] 40/100 sent, 38 done (1 errors), 2 in flight, 2.0 s"
        );
        let timed = PhaseSnapshot {
            target_requests: None,
            duration_s: Some(10.0),
            ..s.clone()
        };
        assert_eq!(
            timed.progress_line(),
            "[profiling] 2/10 s, 38 done (1 errors), 2 in flight, 2.0 s"
        );
        assert!(!timed.past_duration());
        assert!(PhaseSnapshot {
            elapsed_s: 10.0,
            ..timed
        }
        .past_duration());
        assert_eq!(s.send_rate(), 20.0);
        assert_eq!(
            PhaseSnapshot {
                elapsed_s: 0.0,
                ..s
            }
            .send_rate(),
            0.0
        );
    }
}
