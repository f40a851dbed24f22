//! Workers: turn credits into requests.
//!
//! - Closed loop (`--concurrency`): each worker asks the issuer for a credit, sends, and asks
//!   again; with a concurrency ramp, worker k joins once the ramp allows k + 1 sessions.
//! - Open loop (`--request-rate`, `--fixed-schedule`): a pacer thread releases credits at their
//!   intended times (see [`pace`]); [`dispatch`] starts one task per credit, behind the
//!   `--concurrency` cap when one is set.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aiperf_core::{Clock, Credit, Phase, RawRecord};
use aiperf_timing::schedule::Schedule;
use aiperf_timing::CreditIssuer;
use aiperf_transport::{HttpClient, RequestSpec};
use http::header::{HeaderName, HeaderValue};
use tokio::sync::{mpsc, Semaphore};

use crate::prepare::Prepared;

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
static X_CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");

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
    pub records: mpsc::UnboundedSender<RawRecord>,
    /// Requests currently on the wire.
    pub in_flight: AtomicU64,
    /// Fixed-schedule replay: credit i sends dataset entry `order[i]`.
    pub order: Option<Vec<usize>>,
    pub cancellation: Option<Cancellation>,
    /// Intended and actual time of the latest credit the pacer released (run clock ns).
    pub last_intended_ns: AtomicU64,
    pub last_issued_ns: AtomicU64,
}

/// Sends the request a credit names and hands the record on; `false` once the processor is gone.
pub async fn send_one(ctx: &PhaseContext, mut credit: Credit) -> bool {
    let n_models = ctx.prepared.turns.len().max(1) as u64;
    let n_urls = ctx.clients.len().max(1) as u64;
    let session_num = ctx.sessions.fetch_add(1, Ordering::Relaxed);
    let conversation_index = match &ctx.order {
        Some(order) => order[(credit.index as usize).min(order.len().saturating_sub(1))],
        None => ctx.prepared.sampler.pick(session_num),
    };
    credit.session_num = session_num;
    credit.conversation_index = conversation_index;
    if credit.phase == Phase::Profiling {
        if let Some(c) = ctx.cancellation.filter(|c| c.picks(credit.index)) {
            credit.cancel_after_ns = Some(c.delay_ns);
        }
    }
    let turn = &ctx.prepared.turns[(session_num % n_models) as usize][conversation_index];
    let target = (session_num % n_urls) as usize;
    let x_request_id = uuid::Uuid::new_v4().to_string();
    let x_correlation_id = uuid::Uuid::new_v4().to_string();
    let header = |v: &str| HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("0"));
    let spec = RequestSpec {
        path: &ctx.prepared.paths[target],
        headers: &ctx.prepared.headers,
        extra_headers: [
            (X_REQUEST_ID.clone(), header(&x_request_id)),
            (X_CORRELATION_ID.clone(), header(&x_correlation_id)),
        ],
        body: turn.body.clone(),
    };
    ctx.in_flight.fetch_add(1, Ordering::Relaxed);
    let request_start_ns = ctx.clock.now_ns();
    let deadline = Instant::now() + ctx.timeout;
    let cancel = credit.cancel_after_ns.map(Duration::from_nanos);
    let ex = ctx.clients[target]
        .send(spec, deadline, ctx.timeout.as_secs_f64(), cancel)
        .await;
    ctx.in_flight.fetch_sub(1, Ordering::Relaxed);
    let error = ex
        .error
        .map(|e| aiperf_core::ErrorDetails::new(e.code(), e.kind(), e.to_string()));
    let record = RawRecord {
        credit,
        conversation_id: ctx.prepared.conversations[conversation_index]
            .session_id
            .clone(),
        x_request_id,
        x_correlation_id,
        request_start_ns,
        request_ack_ns: ex.ack_ns,
        response_head_ns: ex.head_ns,
        connection_ready_ns: ex.conn_ready_ns,
        connect_ns: ex.connect_ns,
        connection_reused: ex.reused,
        bytes_sent: ex.bytes_sent,
        request_end_ns: ex.end_ns,
        status: ex.status,
        is_sse: ex.is_sse,
        chunks: ex.chunks,
        error,
        input_tokens: turn.input_tokens,
        max_tokens: turn.max_tokens,
    };
    ctx.records.send(record).is_ok()
}

fn credit(phase: Phase, index: u64, issued_ns: u64, intended_ns: Option<u64>) -> Credit {
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

/// Closed loop: send, wait for the answer, send again, until the issuer refuses. The worker
/// starts `start_after` into the phase (concurrency ramp).
pub async fn run_worker(ctx: Arc<PhaseContext>, start_at: Option<Instant>) {
    if let Some(t) = start_at {
        tokio::time::sleep_until(t.into()).await;
    }
    while let Some(index) = ctx.issuer.try_issue(ctx.clock.now_ns()) {
        let c = credit(ctx.phase, index, ctx.clock.now_ns(), None);
        if !send_one(&ctx, c).await {
            break;
        }
    }
}

/// Open loop pacer, on its own OS thread: sleeps until each intended time (no busy-spinning;
/// Linux `nanosleep` wakes within tens of microseconds) and releases a credit stamped with its
/// intended and actual issue times. Ends when the schedule or the issuer stops.
pub fn pace(
    mut schedule: Schedule,
    ctx: Arc<PhaseContext>,
    phase_start_ns: u64,
    stop: Arc<AtomicBool>,
    out: mpsc::UnboundedSender<Credit>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("pacer".into())
        .spawn(move || {
            while let Some(offset) = schedule.next_offset() {
                let intended = phase_start_ns + offset;
                loop {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let now = ctx.clock.now_ns();
                    if now + 20_000 >= intended {
                        break;
                    }
                    // Sleep in slices so a stop is noticed within 50 ms.
                    std::thread::sleep(Duration::from_nanos(
                        (intended - now - 20_000).min(50_000_000),
                    ));
                }
                // The duration limit applies to the intended time, not to when we woke.
                let Some(index) = ctx.issuer.try_issue(intended) else {
                    return;
                };
                let c = credit(ctx.phase, index, ctx.clock.now_ns(), Some(intended));
                ctx.last_intended_ns.store(intended, Ordering::Relaxed);
                ctx.last_issued_ns.store(c.issued_ns, Ordering::Relaxed);
                if out.send(c).is_err() {
                    return;
                }
            }
        })
        .expect("spawning the pacer thread")
}

/// Starts one request task per released credit, waiting for a `--concurrency` slot when capped
/// (that wait shows up as credit-to-start latency, never as server latency).
pub async fn dispatch(
    ctx: Arc<PhaseContext>,
    mut credits: mpsc::UnboundedReceiver<Credit>,
    cap: Option<usize>,
    tasks: &mut tokio::task::JoinSet<()>,
) {
    let slots = cap.map(|c| Arc::new(Semaphore::new(c.max(1))));
    while let Some(c) = credits.recv().await {
        let permit = match &slots {
            Some(s) => match s.clone().acquire_owned().await {
                Ok(p) => Some(p),
                Err(_) => break,
            },
            None => None,
        };
        let ctx = ctx.clone();
        tasks.spawn(async move {
            send_one(&ctx, c).await;
            drop(permit);
        });
        // Reap finished tasks so the set stays small on long runs.
        while tasks.try_join_next().is_some() {}
    }
}

/// Round-robin over `--url` values is `session_num % urls` in [`send_one`] (registry entry
/// `url_selection_strategy: round_robin`).
pub struct RoundRobin;

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
