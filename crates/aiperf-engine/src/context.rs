//! What every worker of a phase shares: the phase's issuer, clients, prepared bodies and record
//! channel, plus the rules workers apply to each credit (cancellation draws, replay times).
//! Workers ([`crate::worker`]) and sessions ([`crate::session`]) both read it; it reads neither.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aiperf_core::{Clock, Credit, Phase};
use aiperf_timing::CreditIssuer;
use aiperf_transport::{AbortSignal, HttpClient};
use tokio::sync::watch;

use crate::backlog::RecordSender;
use crate::prepare::Prepared;

/// `--request-cancellation-rate` / `--request-cancellation-delay`.
#[derive(Debug, Clone, Copy)]
pub struct Cancellation {
    pub rate_pct: f64,
    pub delay_ns: u64,
    pub seed: u64,
}

impl Cancellation {
    /// Whether credit `index` is cancelled (a seeded, reproducible draw per credit).
    pub fn picks(&self, index: u64) -> bool {
        aiperf_dataset::rng::mix_unit(self.seed, index) * 100.0 < self.rate_pct
    }
}

/// What every worker of a phase shares.
pub struct PhaseContext {
    pub phase: Phase,
    pub clock: Clock,
    pub issuer: CreditIssuer,
    pub prepared: Arc<Prepared>,
    pub clients: Arc<Vec<HttpClient>>,
    /// Session numbers continue across phases, so sampling continues too.
    pub sessions: Arc<AtomicU64>,
    pub timeout: Duration,
    pub records: RecordSender,
    /// Requests currently on the wire.
    pub in_flight: AtomicU64,
    /// Requests put on the wire (each ends as a record); `sent - in_flight` have come back.
    pub sent: AtomicU64,
    /// Cancels every request in flight (drain deadline, second interrupt); each still ends as
    /// a record carrying the reason.
    pub abort: AbortSignal,
    /// Fixed-schedule replay: which conversations, and the trace time that is phase start.
    pub replay: Option<Replay>,
    pub cancellation: Option<Cancellation>,
    /// Intended and actual time of the latest credit the pacer released (run clock ns).
    pub last_intended_ns: AtomicU64,
    pub last_issued_ns: AtomicU64,
    /// Agent-graph children still running: the phase ends only when none is.
    pub dag_tasks: DagTasks,
    /// `--shard`: session `n` of this process is session `shard.global(n)` of the whole run.
    pub shard: aiperf_config::resolve::Shard,
    /// `--prefill-concurrency`: slots for requests still waiting for their first token.
    pub prefill: Option<crate::prefill::PrefillGate>,
}

/// Fixed-schedule replay of a phase.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The n-th scheduled session sends dataset conversation `order[n]`.
    pub order: Vec<usize>,
    /// Trace time (ms) of the phase start.
    pub zero_ms: f64,
    /// Phase start on the run clock (ns).
    pub phase_start_ns: u64,
}

impl Replay {
    /// Run-clock time a trace timestamp maps to.
    pub(crate) fn at(&self, timestamp_ms: f64) -> u64 {
        self.phase_start_ns + ((timestamp_ms - self.zero_ms) * 1e6).round().max(0.0) as u64
    }
}

pub(crate) fn credit(phase: Phase, index: u64, issued_ns: u64, intended_ns: Option<u64>) -> Credit {
    Credit {
        phase,
        index,
        conversation_index: 0,
        turn_index: 0,
        session_num: 0,
        issued_ns,
        intended_ns,
        cancel_after_ns: None,
    }
}

/// Child tasks still running in a phase.
#[derive(Debug)]
pub struct DagTasks {
    live: watch::Sender<usize>,
}

impl Default for DagTasks {
    fn default() -> Self {
        Self {
            live: watch::Sender::new(0),
        }
    }
}

impl DagTasks {
    /// Returns once no child task is running.
    pub async fn idle(&self) {
        let mut rx = self.live.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

/// One running child task of a phase, counted from before it is spawned (so the phase cannot
/// see zero between a spawn and the task's first poll) until the task ends, however it ends.
pub struct LiveChild(Arc<PhaseContext>);

impl LiveChild {
    pub fn new(ctx: &Arc<PhaseContext>) -> Self {
        ctx.dag_tasks.live.send_modify(|n| *n += 1);
        LiveChild(ctx.clone())
    }
}

impl Drop for LiveChild {
    fn drop(&mut self) {
        self.0
            .dag_tasks
            .live
            .send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Sleeps until `at`, waking early (within 50 ms) when the phase stops issuing or its request
/// count is used up, so long think times and user gaps never hold up the end of a run.
pub async fn sleep_until_or_stopped(ctx: &PhaseContext, at: Instant) {
    loop {
        let now = Instant::now();
        if now >= at || !ctx.issuer.open_at(ctx.clock.now_ns()) || ctx.issuer.exhausted() {
            return;
        }
        tokio::time::sleep_until((at.min(now + Duration::from_millis(50))).into()).await;
    }
}

impl PhaseContext {
    /// What the UI and observers see of this phase now: plain numbers, no references.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.issuer.issued(),
            self.in_flight.load(std::sync::atomic::Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancellation_draw_matches_its_rate() {
        let c = Cancellation {
            rate_pct: 25.0,
            delay_ns: 0,
            seed: 1,
        };
        let n = (0..10_000).filter(|i| c.picks(*i)).count();
        assert!((2_300..2_700).contains(&n), "{n}");
        assert_eq!(
            (0..100).filter(|i| c.picks(*i)).count(),
            (0..100).filter(|i| c.picks(*i)).count()
        );
        assert_eq!(
            (0..100)
                .filter(|i| Cancellation { rate_pct: 0.0, ..c }.picks(*i))
                .count(),
            0
        );
    }
}
