//! `--ui-type simple`: one indicatif progress bar per phase on a terminal (position, rate, ETA,
//! errors, requests in flight), or a plain progress line every second when stderr is not a
//! terminal (CI logs). Updated from the phase loop's 200 ms tick, never from the request path.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aiperf_core::Phase;
use aiperf_timing::PhasePlan;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::process::Progress;
use crate::worker::PhaseContext;

pub struct Simple {
    bar: Option<ProgressBar>,
    /// Count-bound (requests) or time-bound (seconds).
    by_count: bool,
    last_line: Instant,
}

impl Simple {
    pub fn start(plan: &PhasePlan, ctx: &PhaseContext) -> Self {
        let (len, by_count) = match (ctx.issuer.target_count(), plan.duration_ns) {
            (Some(n), _) => (n, true),
            (None, Some(d)) => (d.div_ceil(1_000_000_000), false),
            (None, None) => (0, true),
        };
        let bar = std::io::stderr().is_terminal().then(|| {
            let unit = if by_count { "requests" } else { "s" };
            let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(&format!(
                "{{prefix:>9}} [{{bar:40}}] {{pos}}/{{len}} {unit} {{msg}} ETA {{eta}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(plan.phase.as_str());
            bar
        });
        Self {
            bar,
            by_count,
            last_line: Instant::now(),
        }
    }

    pub fn tick(
        &mut self,
        plan: &PhasePlan,
        ctx: &PhaseContext,
        progress: &Progress,
        start_ns: u64,
    ) {
        let Some(bar) = &self.bar else {
            if self.last_line.elapsed() >= Duration::from_secs(1) {
                self.last_line = Instant::now();
                crate::report::print_progress(plan, ctx, progress, start_ns);
            }
            return;
        };
        let elapsed = ctx.clock.now_ns().saturating_sub(start_ns) as f64 / 1e9;
        let issued = ctx.issuer.issued();
        let done = match plan.phase {
            Phase::Profiling => progress.profiled.load(Ordering::Relaxed),
            Phase::Warmup => issued,
        };
        bar.set_position(if self.by_count { done } else { elapsed as u64 });
        let rate = if elapsed > 0.0 {
            issued as f64 / elapsed
        } else {
            0.0
        };
        bar.set_message(format!(
            "| {rate:.1} req/s sent | {} errors | {} in flight",
            progress.errors.load(Ordering::Relaxed),
            ctx.in_flight.load(Ordering::Relaxed)
        ));
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
