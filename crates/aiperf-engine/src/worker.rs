//! Workers: turn credits into requests, session by session (see [`crate::session`]).
//!
//! - Closed loop (`--concurrency`): each worker is one session slot: it starts a session,
//!   sends its turns one after another (with their think times), then starts the next; with a
//!   concurrency ramp, worker k joins once the ramp allows k + 1 sessions.
//! - Open loop (`--request-rate`, `--fixed-schedule`): a pacer thread releases credits at their
//!   intended times (see [`pace`]); [`dispatch`] gives each to a continuation turn that is due
//!   (they come first) or to a new session, behind the `--concurrency` session cap if set.
//!   Replayed sessions time their own later turns from the trace.
//! - User-centric (`--user-centric-rate`): [`run_user`] lanes, one per simulated user, each
//!   sending a turn every `users / rate` seconds.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aiperf_core::Credit;
use aiperf_timing::schedule::Schedule;
use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};

use crate::context::{credit, sleep_until_or_stopped, PhaseContext};
use crate::session::Session;

/// Closed loop: one session slot. Starts a session, sends its turns (each after the previous
/// answered and its think time passed), then starts the next, until the issuer refuses. The
/// worker starts `start_at` into the phase (concurrency ramp).
pub async fn run_worker(ctx: Arc<PhaseContext>, start_at: Option<Instant>) {
    if let Some(t) = start_at {
        tokio::time::sleep_until(t.into()).await;
    }
    while let Some(index) = ctx.issuer.try_issue_first(ctx.clock.now_ns()) {
        let mut session = Session::start(&ctx, None);
        let mut c = credit(ctx.phase, index, ctx.clock.now_ns(), None);
        loop {
            if !session.send_next(&ctx, c).await {
                return;
            }
            if session.next(&ctx).is_none() {
                break;
            }
            session.wait_delay(&ctx).await;
            let Some(index) = ctx.issuer.try_issue(ctx.clock.now_ns()) else {
                return;
            };
            c = credit(ctx.phase, index, ctx.clock.now_ns(), None);
        }
    }
}

/// User-centric lane `lane` of `users`: a simulated user sending one turn every
/// `users / rate` seconds (never two of its own at once: a late answer delays the next turn,
/// and the lateness shows). When its conversation ends the next user takes the lane at the
/// next slot. Lanes start `1 / rate` apart, so the whole sends `rate` turns per second.
pub async fn run_user(
    ctx: Arc<PhaseContext>,
    lane: usize,
    rate: f64,
    users: usize,
    phase_start_ns: u64,
) {
    let gap_ns = (users as f64 / rate * 1e9).round() as u64;
    let mut slot = phase_start_ns + (lane as f64 / rate * 1e9).round() as u64;
    loop {
        if !ctx.issuer.open_at(slot) {
            return;
        }
        sleep_until_or_stopped(&ctx, ctx.clock.instant_at(slot)).await;
        let Some(index) = ctx.issuer.try_issue_first(slot) else {
            return;
        };
        let mut session = Session::start(&ctx, None);
        let mut c = credit(ctx.phase, index, ctx.clock.now_ns(), Some(slot));
        loop {
            ctx.last_intended_ns.fetch_max(slot, Ordering::Relaxed);
            ctx.last_issued_ns.fetch_max(c.issued_ns, Ordering::Relaxed);
            if !session.send_next(&ctx, c).await {
                return;
            }
            slot += gap_ns;
            if session.next(&ctx).is_none() {
                break;
            }
            if !ctx.issuer.open_at(slot) {
                return;
            }
            sleep_until_or_stopped(&ctx, ctx.clock.instant_at(slot)).await;
            let Some(index) = ctx.issuer.try_issue(slot) else {
                return;
            };
            c = credit(ctx.phase, index, ctx.clock.now_ns(), Some(slot));
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

/// Open loop: gives each released credit to a turn. In rate mode a continuation whose think
/// time has passed comes first, else a new session starts (waiting for a `--concurrency`
/// session slot when capped; that wait shows up as credit-to-start latency, never as server
/// latency). In replay, each credit starts the next scheduled session, which then times its
/// own later turns from the trace.
pub async fn dispatch(
    ctx: Arc<PhaseContext>,
    mut credits: mpsc::UnboundedReceiver<Credit>,
    cap: Option<usize>,
    tasks: &mut tokio::task::JoinSet<()>,
) {
    let slots = cap.map(|c| Arc::new(Semaphore::new(c.max(1))));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<Session>();
    let active = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(Notify::new());
    let mut started = 0usize;
    while let Some(c) = credits.recv().await {
        let session = if let Some(replay) = &ctx.replay {
            let Some(&conversation) = replay.order.get(started) else {
                break;
            };
            started += 1;
            let Some(permit) = acquire(&slots).await else {
                break;
            };
            let mut s = Session::start(&ctx, Some(conversation));
            s.permit = permit;
            s
        } else {
            match ready_rx.try_recv() {
                Ok(s) => s,
                Err(_) => {
                    let next = next_session(&ctx, &slots, &mut ready_rx, &active, &finished).await;
                    match next {
                        Some(s) => s,
                        None => break,
                    }
                }
            }
        };
        if !session.is_continuation() {
            active.fetch_add(1, Ordering::Relaxed);
        }
        let ctx = ctx.clone();
        let ready = ready_tx.clone();
        let (active, finished) = (active.clone(), finished.clone());
        tasks.spawn(async move {
            let mut session = session;
            let mut c = c;
            loop {
                if !session.send_next(&ctx, c).await || session.next(&ctx).is_none() {
                    break;
                }
                match &ctx.replay {
                    // Rate mode: after its think time the session waits for a tick.
                    None => {
                        session.wait_delay(&ctx).await;
                        if ready.send(session).is_err() {
                            active.fetch_sub(1, Ordering::Relaxed);
                            finished.notify_one();
                        }
                        return;
                    }
                    // Replay: at the turn's own timestamp (not before the previous answer),
                    // else its delay after that answer, else at once.
                    Some(replay) => {
                        let ts = session.next(&ctx).and_then(|t| t.timestamp_ms);
                        let intended = ts.map(|ts| replay.at(ts));
                        match intended {
                            Some(at) => {
                                sleep_until_or_stopped(&ctx, ctx.clock.instant_at(at)).await;
                            }
                            None => session.wait_delay(&ctx).await,
                        }
                        let now = ctx.clock.now_ns();
                        let Some(index) = ctx.issuer.try_issue(intended.unwrap_or(now)) else {
                            break;
                        };
                        c = credit(ctx.phase, index, now, intended);
                    }
                }
            }
            active.fetch_sub(1, Ordering::Relaxed);
            finished.notify_one();
        });
        // Reap finished tasks so the set stays small on long runs.
        while tasks.try_join_next().is_some() {}
    }
}

/// A session slot, or `None` (no cap) at once; `Err` only if the semaphore closed.
async fn acquire(slots: &Option<Arc<Semaphore>>) -> Option<Option<OwnedSemaphorePermit>> {
    match slots {
        Some(s) => s.clone().acquire_owned().await.ok().map(Some),
        None => Some(None),
    }
}

/// Rate mode, no continuation due: a new session (when the session limit allows, once a slot
/// is free), or a continuation that becomes due meanwhile. `None` when no session may start and
/// none is left running: the phase has nothing more to send.
async fn next_session(
    ctx: &PhaseContext,
    slots: &Option<Arc<Semaphore>>,
    ready: &mut mpsc::UnboundedReceiver<Session>,
    active: &AtomicUsize,
    finished: &Notify,
) -> Option<Session> {
    loop {
        if ctx.issuer.sessions_left() {
            let permit = tokio::select! {
                biased;
                s = ready.recv() => return s,
                p = acquire(slots) => p?,
            };
            if !ctx.issuer.try_start_session() {
                continue;
            }
            let mut s = Session::start(ctx, None);
            s.permit = permit;
            return Some(s);
        }
        if active.load(Ordering::Relaxed) == 0 {
            return ready.try_recv().ok();
        }
        tokio::select! {
            s = ready.recv() => return s,
            _ = finished.notified() => {}
        }
    }
}

/// Round-robin over `--url` values is `session_num % urls` in [`Session::start`] (registry entry
/// `url_selection_strategy: round_robin`).
pub struct RoundRobin;
