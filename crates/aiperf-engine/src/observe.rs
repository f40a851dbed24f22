//! How a caller watches a run: the [`Observer`] trait. The built-in UIs implement it
//! ([`crate::ui`]); a sweep or a test can pass its own. Every method has an empty default, and
//! none is called on the request path: phase callbacks come from the phase loop's 200 ms tick.

use std::sync::Arc;

use crate::snapshot::PhaseSnapshot;
use crate::stop::StopSignal;
use crate::ui::live::Live;

/// Watches one run at a time.
pub trait Observer: Send + Sync {
    /// Running aggregates the record processor folds every profiling record into (the
    /// dashboard), or `None` to skip that work.
    fn live(&self) -> Option<Arc<Live>> {
        None
    }
    /// Set-up succeeded and requests are about to go out. `title` names the models, endpoint
    /// and URLs; `stop` is what a key press may call.
    fn run_started(&self, _title: &str, _stop: &Arc<StopSignal>) {}
    fn phase_started(&self, _phase: &PhaseSnapshot) {}
    /// About every 200 ms while a phase runs.
    fn phase_tick(&self, _phase: &PhaseSnapshot) {}
    /// The phase's final counts.
    fn phase_finished(&self, _phase: &PhaseSnapshot) {}
    /// Sending is over and the summary is next: give the terminal back.
    fn run_finished(&self) {}
}

/// Shows nothing (`--ui-type none`).
pub struct Silent;

impl Observer for Silent {}
