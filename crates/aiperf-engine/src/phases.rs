//! Running the plan's phases: for each, the workers of its load mode, a 200 ms tick that feeds
//! the observer and watches for stops, and the drain deadline; for profiling, the event-loop
//! lag probe and what was sent (the load report's input).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aiperf_config::LoadMode;
use aiperf_core::{Clock, Phase};
use aiperf_timing::schedule::Schedule;
use aiperf_timing::CreditIssuer;
use aiperf_transport::{AbortSignal, HttpClient};
use tokio::sync::mpsc;

use crate::backlog::RecordSender;
use crate::context::{PhaseContext, Replay};
use crate::observe::Observer;
use crate::plan::{secs_to_ns, PlannedPhase, RunPlan};
use crate::prepare::Prepared;
use crate::process::Progress;
use crate::snapshot::PhaseSnapshot;
use crate::stop::StopSignal;
use crate::worker::{dispatch, pace, run_user, run_worker};

/// What the phases share for one run.
pub(crate) struct PhaseEnv<'a> {
    pub clock: Clock,
    pub prepared: Arc<Prepared>,
    pub clients: Arc<Vec<HttpClient>>,
    pub timeout: Duration,
    pub records: RecordSender,
    pub stop: &'a Arc<StopSignal>,
    /// This run's own stop (`--failed-request-threshold`): obeyed like `stop`, but only by
    /// this run.
    pub run_stop: &'a Arc<StopSignal>,
    pub observer: &'a dyn Observer,
    pub progress: &'a Progress,
    /// Set to the profiling phase's start (epoch ns) when it starts, for timeslices.
    pub profiling_origin: &'a AtomicU64,
    /// `--server-profiler`: started before the profiling phase, stopped after it.
    pub control: &'a crate::control::Control,
}

/// What the phases did.
pub(crate) struct PhasesOutcome {
    /// Requests cancelled at a drain deadline or abort that still left no record.
    pub abandoned: u64,
    pub load: LoadStats,
    /// Why the server profiler could not be started (the run fails, as in AIPerf).
    pub control_error: Option<String>,
}

/// Runs every phase of `run` in order, stopping early when `env.stop` says so.
pub(crate) async fn run_phases(run: &RunPlan, env: &PhaseEnv<'_>) -> PhasesOutcome {
    // Session numbers continue across phases, so sampling continues too.
    let sessions = Arc::new(AtomicU64::new(0));
    let mut abandoned = 0;
    let mut load = LoadStats::default();
    let mut control_error = None;
    for phase in &run.phases {
        if env.stop.stopped() || env.run_stop.stopped() {
            break;
        }
        let profiling = phase.plan.phase == Phase::Profiling;
        let profiler = profiling && env.control.profiler();
        if profiler {
            if let Err(e) = env.control.start_profiler(&env.clients).await {
                tracing::error!("{e}");
                control_error = Some(e);
                break;
            }
        }
        let start_ns = env.clock.now_ns();
        if profiling {
            env.profiling_origin
                .store(env.clock.to_wall_ns(start_ns), Ordering::Relaxed);
        }
        let lag_probe = profiling.then(|| {
            let done = Arc::new(AtomicBool::new(false));
            (done.clone(), tokio::spawn(event_loop_lag(done)))
        });
        let ctx = Arc::new(PhaseContext {
            phase: phase.plan.phase,
            clock: env.clock,
            issuer: CreditIssuer::new(&phase.plan, start_ns),
            prepared: env.prepared.clone(),
            clients: env.clients.clone(),
            sessions: sessions.clone(),
            timeout: env.timeout,
            records: env.records.clone(),
            in_flight: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            abort: AbortSignal::default(),
            replay: phase.replay.as_ref().map(|r| Replay {
                order: r.order.clone(),
                zero_ms: r.zero_ms,
                phase_start_ns: start_ns,
            }),
            cancellation: run.cancellation,
            last_intended_ns: AtomicU64::new(0),
            last_issued_ns: AtomicU64::new(0),
            dag_tasks: Default::default(),
            shard: phase.shard,
            prefill: phase
                .prefill
                .map(|limit| crate::prefill::PrefillGate::open(limit, env.clock, start_ns)),
        });
        tracing::info!(
            "phase {} started: {}",
            phase.plan.phase.as_str(),
            phase.describe()
        );
        abandoned += run_phase(phase, ctx.clone(), env, start_ns).await;
        if profiler {
            env.control.stop_profiler(&env.clients).await;
        }
        let lag_ms = match lag_probe {
            Some((done, task)) => {
                done.store(true, Ordering::Relaxed);
                task.await.unwrap_or_default()
            }
            None => Vec::new(),
        };
        if profiling {
            let since = |t: u64| t.saturating_sub(start_ns) as f64 / 1e9;
            load = LoadStats {
                mode: phase.mode.clone(),
                whole_mode: phase.whole_mode.clone(),
                sent: ctx.sent.load(Ordering::Relaxed),
                intended_window_s: since(ctx.last_intended_ns.load(Ordering::Relaxed)),
                actual_window_s: since(ctx.last_issued_ns.load(Ordering::Relaxed)),
                event_loop_lag_ms: lag_ms,
                backlog_pauses: ctx.records.backlog().pauses(),
            };
        }
    }
    PhasesOutcome {
        abandoned,
        load,
        control_error,
    }
}

/// The phase's counts now.
fn snapshot(
    phase: &PlannedPhase,
    ctx: &PhaseContext,
    progress: &Progress,
    started: std::time::Instant,
    start_ns: u64,
) -> PhaseSnapshot {
    let (issued, in_flight) = ctx.counts();
    PhaseSnapshot {
        phase: phase.plan.phase,
        started,
        elapsed_s: ctx.clock.now_ns().saturating_sub(start_ns) as f64 / 1e9,
        target_requests: ctx.issuer.target_count(),
        duration_s: phase.plan.duration_ns.map(|d| d as f64 / 1e9),
        requested_rate: phase.mode.requested_rate(),
        issued,
        in_flight,
        done: match phase.plan.phase {
            Phase::Profiling => progress.profiled.load(Ordering::Relaxed),
            Phase::Warmup => issued,
        },
        errors: progress.errors.load(Ordering::Relaxed),
    }
}

/// When an open-loop phase releases credits, and its cap on requests in flight; `None` for
/// closed-loop modes, whose workers pace themselves. This and [`start_workers`] are the engine's
/// only per-mode code.
pub(crate) fn open_loop_schedule(phase: &PlannedPhase) -> Option<(Schedule, Option<usize>)> {
    match &phase.mode {
        LoadMode::Rate {
            rate,
            pattern,
            ramp_s,
            cap,
            ..
        } => Some((
            // The global schedule, of which a shard sends every COUNT-th arrival.
            with_series(
                Schedule::rate(*pattern, *rate, ramp_s.map(secs_to_ns), phase.arrival_seed),
                phase.series.clone(),
            )
            .dealt(u64::from(phase.shard.index), u64::from(phase.shard.count)),
            *cap,
        )),
        // The plan refuses a replay without an order, so `replay` is there.
        LoadMode::FixedSchedule { cap, .. } => phase
            .replay
            .as_ref()
            .map(|r| (Schedule::fixed(r.offsets_ns.clone()), *cap)),
        LoadMode::Concurrency { .. } | LoadMode::UserCentric { .. } => None,
    }
}

/// `--request-rate-series`: the rate follows the series once the ramp is over.
fn with_series(
    schedule: Schedule,
    series: Option<Arc<aiperf_timing::series::RateSeries>>,
) -> Schedule {
    match series {
        Some(s) => schedule.with_series(s),
        None => schedule,
    }
}

/// Starts the workers `phase`'s mode needs into `workers`; returns the pacer thread, if any.
fn start_workers(
    phase: &PlannedPhase,
    ctx: &Arc<PhaseContext>,
    start_ns: u64,
    pacer_stop: &Arc<AtomicBool>,
    workers: &mut tokio::task::JoinSet<()>,
) -> Option<std::thread::JoinHandle<()>> {
    if let Some((schedule, cap)) = open_loop_schedule(phase) {
        let (credit_tx, credit_rx) = mpsc::unbounded_channel();
        let pacer = pace(
            schedule,
            ctx.clone(),
            start_ns,
            pacer_stop.clone(),
            credit_tx,
        );
        let dispatch_ctx = ctx.clone();
        workers.spawn(async move {
            let mut tasks = tokio::task::JoinSet::new();
            dispatch(dispatch_ctx, credit_rx, cap, &mut tasks).await;
            while tasks.join_next().await.is_some() {}
        });
        return Some(pacer);
    }
    match &phase.mode {
        LoadMode::Concurrency {
            concurrency,
            ramp_s,
        } => {
            let ramp = ramp_s.map(secs_to_ns);
            for k in 0..workers_needed(*concurrency, &ctx.issuer) {
                let start_at = ramp_offset_ns(ramp, k, *concurrency)
                    .map(|offset| ctx.clock.instant_at(start_ns + offset));
                workers.spawn(run_worker(ctx.clone(), start_at));
            }
        }
        LoadMode::UserCentric { rate, users } => {
            // A shard runs the lanes dealt to it; the lanes' slots are the whole run's.
            let lanes = (0..*users).filter(|&l| phase.shard.owns(l as u64));
            for lane in lanes.take(workers_needed(*users, &ctx.issuer)) {
                workers.spawn(run_user(ctx.clone(), lane, *rate, *users, start_ns));
            }
        }
        LoadMode::Rate { .. } | LoadMode::FixedSchedule { .. } => {}
    }
    None
}

/// Closed loop: one worker per slot, but never more than sessions can start (`--concurrency
/// 1000000 --request-count 20` starts 20), so memory follows what can run.
fn workers_needed(slots: usize, issuer: &CreditIssuer) -> usize {
    issuer.max_sessions().map_or(slots, |m| {
        slots.min(usize::try_from(m).unwrap_or(usize::MAX))
    })
}

/// Closed-loop ramp: worker `k` of `concurrency` joins when the ramp allows `k + 1` sessions.
fn ramp_offset_ns(ramp_ns: Option<u64>, k: usize, concurrency: usize) -> Option<u64> {
    let ramp = ramp_ns.filter(|_| k > 0 && concurrency > 1)?;
    Some((ramp as f64 * k as f64 / (concurrency - 1) as f64) as u64)
}

/// Runs one phase until sending stops and in-flight requests drain; returns how many in-flight
/// requests were abandoned at the drain deadline or on abort.
async fn run_phase(
    phase: &PlannedPhase,
    ctx: Arc<PhaseContext>,
    env: &PhaseEnv<'_>,
    start_ns: u64,
) -> u64 {
    let started = std::time::Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    let pacer_stop = Arc::new(AtomicBool::new(false));
    crate::session::start_pre_session(&ctx);
    let pacer = start_workers(phase, &ctx, start_ns, &pacer_stop, &mut workers);
    let drain_deadline = phase
        .plan
        .drain_deadline_ns()
        .map(|d| ctx.clock.instant_at(start_ns + d));
    let mut ticker = tokio::time::interval(Duration::from_millis(200));
    env.observer
        .phase_started(&snapshot(phase, &ctx, env.progress, started, start_ns));
    let mut silence = SilenceWatch::new(std::time::Instant::now());
    let abandoned = loop {
        tokio::select! {
            joined = workers.join_next(), if !workers.is_empty() => {
                if joined.is_none() {
                    break 0;
                }
            }
            // Workers done: the phase still waits for agent-graph children.
            _ = ctx.dag_tasks.idle(), if workers.is_empty() => break 0,
            // The run stopping itself: no new request from now (not at the next tick).
            _ = env.run_stop.wait_stopped(), if !pacer_stop.load(Ordering::Relaxed) => {
                ctx.issuer.stop();
                pacer_stop.store(true, Ordering::Relaxed);
            }
            _ = ticker.tick() => {
                if env.stop.stopped() || env.run_stop.stopped() {
                    ctx.issuer.stop();
                    pacer_stop.store(true, Ordering::Relaxed);
                }
                if env.stop.aborted() {
                    pacer_stop.store(true, Ordering::Relaxed);
                    break cancel_in_flight(&ctx, &mut workers, INTERRUPTED).await;
                }
                if env.run_stop.aborted() {
                    pacer_stop.store(true, Ordering::Relaxed);
                    break cancel_in_flight(&ctx, &mut workers, STOPPED_EARLY).await;
                }
                silence.check(&ctx, env.timeout);
                env.observer.phase_tick(&snapshot(phase, &ctx, env.progress, started, start_ns));
            }
            _ = sleep_until_opt(drain_deadline) => {
                ctx.issuer.stop();
                pacer_stop.store(true, Ordering::Relaxed);
                break cancel_in_flight(&ctx, &mut workers, GRACE_DEADLINE).await;
            }
        }
    };
    env.observer
        .phase_finished(&snapshot(phase, &ctx, env.progress, started, start_ns));
    pacer_stop.store(true, Ordering::Relaxed);
    if let Some(p) = pacer {
        let _ = tokio::task::spawn_blocking(move || p.join()).await;
    }
    abandoned
}

/// How long requests may be in flight with none coming back before the run says so.
const SILENCE_WARN_AFTER: Duration = Duration::from_secs(10);

/// Warns (once per phase) when requests are in flight and none has come back for
/// [`SILENCE_WARN_AFTER`]: a server that accepts and never answers must not hang a run silently.
struct SilenceWatch {
    answered: u64,
    since: std::time::Instant,
    warned: bool,
}

impl SilenceWatch {
    fn new(now: std::time::Instant) -> Self {
        Self {
            answered: 0,
            since: now,
            warned: false,
        }
    }

    /// Seconds of silence, the first time they pass [`SILENCE_WARN_AFTER`].
    fn silent_for(
        &mut self,
        answered: u64,
        in_flight: u64,
        now: std::time::Instant,
    ) -> Option<f64> {
        if answered > self.answered || in_flight == 0 {
            self.answered = self.answered.max(answered);
            self.since = now;
            return None;
        }
        let quiet = now.saturating_duration_since(self.since);
        if self.warned || quiet < SILENCE_WARN_AFTER {
            return None;
        }
        self.warned = true;
        Some(quiet.as_secs_f64())
    }

    fn check(&mut self, ctx: &PhaseContext, timeout: Duration) {
        // Sent before in flight: a request sent in between can only lower the count of those
        // come back, never fake an answer.
        let sent = ctx.sent.load(Ordering::Relaxed);
        let in_flight = ctx.in_flight.load(Ordering::Relaxed);
        let answered = sent.saturating_sub(in_flight);
        if let Some(quiet) = self.silent_for(answered, in_flight, std::time::Instant::now()) {
            tracing::warn!(
                "no response has come back for {quiet:.0} s with {in_flight} request(s) in flight to {}; the server may be stuck (requests time out after {:.0} s, --request-timeout-seconds)",
                ctx.clients.first().map(|c| c.target()).unwrap_or_default(),
                timeout.as_secs_f64(),
            );
        }
    }
}

/// Why requests still in flight were cancelled, as their records say.
const GRACE_DEADLINE: &str = "still in flight at the benchmark grace-period deadline";
const INTERRUPTED: &str = "still in flight when the run was interrupted";
const STOPPED_EARLY: &str =
    "still in flight when the run stopped itself (--failed-request-threshold)";

/// How long cancelled requests get to hand in their records before their tasks are dropped.
const CANCEL_RECORD_TIMEOUT: Duration = Duration::from_secs(5);

/// Cancels every request in flight with `reason` and waits for the workers, so each cancelled
/// request still ends as a record. Returns how many were lost anyway (workers that did not end
/// within [`CANCEL_RECORD_TIMEOUT`], e.g. held up by a stalled record processor).
async fn cancel_in_flight(
    ctx: &PhaseContext,
    workers: &mut tokio::task::JoinSet<()>,
    reason: &'static str,
) -> u64 {
    ctx.issuer.stop();
    ctx.abort.fire(reason);
    let drained = tokio::time::timeout(CANCEL_RECORD_TIMEOUT, async {
        while workers.join_next().await.is_some() {}
        ctx.dag_tasks.idle().await;
    })
    .await;
    if drained.is_ok() {
        return 0;
    }
    let lost = ctx.in_flight.load(Ordering::Relaxed);
    workers.abort_all();
    while workers.join_next().await.is_some() {}
    lost
}

/// What the profiling phase actually sent, for the load report.
#[derive(Debug, Clone)]
pub struct LoadStats {
    pub mode: LoadMode,
    /// The whole run's mode when this process is one shard of it (else `mode`).
    pub whole_mode: LoadMode,
    pub sent: u64,
    /// Phase start to the last credit's intended time (open loop), seconds.
    pub intended_window_s: f64,
    /// Phase start to the last credit's actual release, seconds.
    pub actual_window_s: f64,
    /// How late each 10 ms probe timer fired on the async runtime during profiling (ms): the
    /// scheduler lag every request's timestamps and sends share.
    pub event_loop_lag_ms: Vec<f64>,
    /// Requests held back because the record processor was behind: (count, total seconds).
    pub backlog_pauses: (u64, f64),
}

impl Default for LoadStats {
    fn default() -> Self {
        let mode = LoadMode::Concurrency {
            concurrency: 1,
            ramp_s: None,
        };
        Self {
            whole_mode: mode.clone(),
            mode,
            sent: 0,
            intended_window_s: 0.0,
            actual_window_s: 0.0,
            event_loop_lag_ms: Vec::new(),
            backlog_pauses: (0, 0.0),
        }
    }
}

/// Period of the event-loop lag probe.
const LAG_PROBE_PERIOD: Duration = Duration::from_millis(10);

/// Sleeps `LAG_PROBE_PERIOD` again and again on the runtime, recording how late each wake-up
/// came (ms), until `done`. Tokio's timer has millisecond resolution, so an idle runtime reads
/// up to about 1 ms.
async fn event_loop_lag(done: Arc<AtomicBool>) -> Vec<f64> {
    let mut lags = Vec::new();
    while !done.load(Ordering::Relaxed) {
        let due = tokio::time::Instant::now() + LAG_PROBE_PERIOD;
        tokio::time::sleep_until(due).await;
        let late = tokio::time::Instant::now().saturating_duration_since(due);
        lags.push(late.as_secs_f64() * 1e3);
    }
    lags
}

async fn sleep_until_opt(t: Option<std::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ramp_spreads_workers_evenly() {
        let ramp = Some(3_000_000_000);
        let offsets: Vec<Option<u64>> = (0..4).map(|k| ramp_offset_ns(ramp, k, 4)).collect();
        // Worker 0 starts at once; the last joins at the end of the ramp.
        assert_eq!(
            offsets,
            vec![
                None,
                Some(1_000_000_000),
                Some(2_000_000_000),
                Some(3_000_000_000)
            ]
        );
        assert_eq!(
            ramp_offset_ns(ramp, 0, 1),
            None,
            "one worker has nothing to ramp"
        );
        assert_eq!(ramp_offset_ns(None, 2, 4), None);
    }

    #[test]
    fn silence_is_reported_once_after_ten_quiet_seconds_with_requests_in_flight() {
        let t0 = std::time::Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut w = SilenceWatch::new(t0);
        assert_eq!(w.silent_for(0, 3, at(9)), None);
        assert_eq!(w.silent_for(0, 3, at(10)), Some(10.0));
        assert_eq!(w.silent_for(0, 3, at(30)), None, "once per phase");
        // An answer restarts the count; nothing in flight is no silence.
        let mut w = SilenceWatch::new(t0);
        assert_eq!(w.silent_for(1, 3, at(8)), None);
        assert_eq!(w.silent_for(1, 3, at(17)), None);
        assert_eq!(w.silent_for(1, 3, at(18)), Some(10.0));
        let mut w = SilenceWatch::new(t0);
        assert_eq!(w.silent_for(0, 0, at(60)), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_lag_probe_reads_zero_on_an_idle_runtime() {
        let done = Arc::new(AtomicBool::new(false));
        let probe = tokio::spawn(event_loop_lag(done.clone()));
        tokio::time::sleep(Duration::from_millis(55)).await;
        done.store(true, Ordering::Relaxed);
        let lags = probe.await.unwrap();
        // A paused clock advances exactly to each deadline: 5 or 6 wake-ups, none late.
        assert!((5..=6).contains(&lags.len()), "{lags:?}");
        assert!(lags.iter().all(|l| *l == 0.0), "{lags:?}");
    }
}
