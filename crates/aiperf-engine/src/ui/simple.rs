//! `--ui-type simple`: one indicatif progress bar per phase on a terminal (position, rate, ETA,
//! errors, requests in flight), or a plain progress line every second when stderr is not a
//! terminal (CI logs). Fed phase snapshots from the phase loop's tick, never from the request
//! path.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::observe::Observer;
use crate::snapshot::PhaseSnapshot;

/// The simple progress display.
#[derive(Default)]
pub struct Simple {
    phase: Mutex<Option<PhaseProgress>>,
}

/// The display of one phase.
struct PhaseProgress {
    bar: Option<ProgressBar>,
    /// Count-bound (requests) or time-bound (seconds).
    by_count: bool,
    last_line: Instant,
}

impl PhaseProgress {
    fn start(s: &PhaseSnapshot) -> Self {
        let (len, by_count) = bar_length(s);
        let bar = std::io::stderr().is_terminal().then(|| {
            let unit = if by_count { "requests" } else { "s" };
            let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(&format!(
                "{{prefix:>9}} [{{bar:40}}] {{pos}}/{{len}} {unit} {{msg}} ETA {{eta}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(s.phase.as_str());
            bar
        });
        Self {
            bar,
            by_count,
            last_line: Instant::now(),
        }
    }

    fn tick(&mut self, s: &PhaseSnapshot) {
        let Some(bar) = &self.bar else {
            if self.last_line.elapsed() >= Duration::from_secs(1) {
                self.last_line = Instant::now();
                eprintln!("{}", s.progress_line());
            }
            return;
        };
        bar.set_position(if self.by_count {
            s.done
        } else {
            s.elapsed_s as u64
        });
        bar.set_message(format!(
            "| {:.1} req/s sent | {} errors | {} in flight",
            s.send_rate(),
            s.errors,
            s.in_flight
        ));
    }
}

/// The bar's length and whether it counts requests (else seconds).
fn bar_length(s: &PhaseSnapshot) -> (u64, bool) {
    match (s.target_requests, s.duration_s) {
        (Some(n), _) => (n, true),
        (None, Some(d)) => (d.ceil() as u64, false),
        (None, None) => (0, true),
    }
}

impl Observer for Simple {
    fn phase_started(&self, s: &PhaseSnapshot) {
        if let Ok(mut p) = self.phase.lock() {
            *p = Some(PhaseProgress::start(s));
        }
    }

    fn phase_tick(&self, s: &PhaseSnapshot) {
        if let Ok(mut p) = self.phase.lock() {
            if let Some(p) = p.as_mut() {
                p.tick(s);
            }
        }
    }

    fn phase_finished(&self, s: &PhaseSnapshot) {
        if let Ok(mut p) = self.phase.lock() {
            if let Some(mut p) = p.take() {
                p.tick(s);
                if let Some(bar) = &p.bar {
                    bar.finish();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_core::Phase;

    #[test]
    fn bars_count_requests_or_seconds() {
        let s = crate::snapshot::sample(Phase::Profiling);
        assert_eq!(bar_length(&s), (100, true));
        let timed = PhaseSnapshot {
            target_requests: None,
            duration_s: Some(2.5),
            ..s.clone()
        };
        assert_eq!(bar_length(&timed), (3, false));
        let open = PhaseSnapshot {
            target_requests: None,
            ..s
        };
        assert_eq!(bar_length(&open), (0, true));
    }

    #[test]
    fn a_phase_is_dropped_when_it_finishes() {
        let ui = Simple::default();
        let s = crate::snapshot::sample(Phase::Warmup);
        ui.phase_started(&s);
        ui.phase_tick(&s);
        assert!(ui.phase.lock().unwrap().is_some());
        ui.phase_finished(&s);
        assert!(ui.phase.lock().unwrap().is_none());
    }
}
