//! One benchmark run, start to finish.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aiperf_config::{LoadMode, ProfileConfig};
use aiperf_core::{Clock, Phase};
use aiperf_dataset::rng::Rng;
use aiperf_export::{inputs, RecordWriter, INPUTS_FILE, RECORDS_FILE};
use aiperf_metrics::spill::Spill;
use aiperf_metrics::{Accumulator, Applicability, Goodput};
use aiperf_plugins::{DataExporterMetadata, Registry};
use aiperf_timing::arrival::ArrivalPattern;
use aiperf_timing::schedule::Schedule;
use aiperf_timing::{CreditIssuer, PhasePlan};
use aiperf_transport::{ClientOptions, HttpClient};
use anyhow::{anyhow, Context};
use tokio::sync::mpsc;

use crate::backlog::{Backlog, RecordSender};
use crate::prepare::{prepare, Prepared};
use crate::process::{self, ProcessorConfig, Progress};
use crate::report;
use crate::ui::live::{Live, PhaseView};
use crate::ui::Ui;
use crate::worker::{dispatch, pace, run_user, run_worker, Cancellation, PhaseContext, Replay};

/// What a finished run produced.
#[derive(Debug)]
pub struct RunOutcome {
    /// 0 on success; 1 when every request failed; 130 when interrupted.
    pub exit_code: i32,
    pub artifact_dir: PathBuf,
    /// The console tables, as printed.
    pub console: String,
    pub request_count: u64,
    pub error_count: u64,
}

/// Set by SIGINT / SIGTERM. The first signal stops issuing and lets in-flight requests finish for
/// a bounded time (`AIPERF_TIMING_CANCEL_DRAIN_TIMEOUT`, default 10 s); a second signal, or the end
/// of that time, cancels them. Either way every artifact is written.
#[derive(Default)]
pub struct StopSignal {
    pub stop: AtomicBool,
    pub abort: AtomicBool,
}

/// Default bound on draining in-flight requests after the first signal.
const CANCEL_DRAIN_TIMEOUT_S: f64 = 10.0;

impl StopSignal {
    /// First interruption: stop sending; in-flight requests get the drain time, then are
    /// cancelled.
    pub fn first(self: &Arc<Self>) {
        let drain = drain_timeout_s();
        tracing::warn!("interrupted: no new requests; waiting up to {drain} s for in-flight ones (interrupt again to cancel them), then exporting");
        self.stop.store(true, Ordering::Relaxed);
        let s = self.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs_f64(drain));
            s.abort.store(true, Ordering::Relaxed);
        });
    }

    /// Second interruption: cancel in-flight requests now.
    pub fn second(&self) {
        tracing::warn!("interrupted again: cancelling in-flight requests, then exporting");
        self.abort.store(true, Ordering::Relaxed);
    }
}

/// `AIPERF_TIMING_CANCEL_DRAIN_TIMEOUT` (seconds), default 10.
fn drain_timeout_s() -> f64 {
    std::env::var("AIPERF_TIMING_CANCEL_DRAIN_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v >= 0.0)
        .unwrap_or(CANCEL_DRAIN_TIMEOUT_S)
}

async fn watch_signals(stop: Arc<StopSignal>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        let mut count = 0;
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            count += 1;
            if count == 1 {
                stop.first();
            } else {
                stop.second();
            }
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop.stop.store(true, Ordering::Relaxed);
        }
    }
}

/// Runs `cfg` end to end with the pieces `registry` names, showing the `ui` entry while it runs.
/// Failed requests are data; only set-up problems are errors.
pub async fn run_profile(
    cfg: ProfileConfig,
    ui: &str,
    registry: Arc<Registry>,
) -> anyhow::Result<RunOutcome> {
    for w in &cfg.warnings {
        tracing::warn!("{w}");
    }
    let ui_entry = registry.get("ui", ui)?;
    let ui = Ui::from_implementation(&ui_entry.implementation)
        .ok_or_else(|| anyhow!("--ui-type {ui}: no implementation in this build"))?;
    // Signals are handled from the start, so an early Ctrl-C still ends in a clean export.
    let stop = Arc::new(StopSignal::default());
    let signal_task = tokio::spawn(watch_signals(stop.clone()));
    let clock = Clock::start();
    let start_time = report::now_iso();
    let cpu_start = report::process_cpu_seconds();
    let wall_start = std::time::Instant::now();
    let cfg = Arc::new(cfg);
    let prep_cfg = cfg.clone();
    let prep_registry = registry.clone();
    let prepared = Arc::new(
        tokio::task::spawn_blocking(move || prepare(&prep_cfg, &prep_registry))
            .await
            .map_err(|e| anyhow!("dataset preparation panicked: {e}"))??,
    );
    tracing::info!(
        "prepared {} dataset entries (tokenizer {}, seed {}) in {:.0} ms",
        prepared.conversations.len(),
        prepared.tokenizer.name(),
        prepared.seed,
        clock.now_ns() as f64 / 1e6
    );

    // Reach every server before creating anything on disk.
    let mut clients = Vec::with_capacity(cfg.urls.len());
    for url in &cfg.urls {
        let opts = ClientOptions {
            http2: cfg.http2,
            insecure: cfg.insecure,
            ..Default::default()
        };
        let client = HttpClient::with_options(url, clock, &opts)
            .await
            .with_context(|| format!("--url {url}"))?;
        clients.push(client);
    }
    if let Some(wait) = &cfg.wait_for_model {
        crate::readiness::wait_for_model(&cfg, &prepared, wait, &clients).await?;
    }
    for (client, url) in clients.iter().zip(&cfg.urls) {
        client
            .probe()
            .await
            .with_context(|| format!("cannot reach the server at {url}"))?;
    }
    let clients = Arc::new(clients);

    std::fs::create_dir_all(&cfg.artifact_dir).with_context(|| {
        format!(
            "cannot create artifact directory '{}'",
            cfg.artifact_dir.display()
        )
    })?;
    write_inputs(&cfg, &prepared)?;
    let run = Applicability {
        streaming: cfg.streaming,
        produces_tokens: prepared.meta.produces_tokens,
        tokenizes_input: prepared.meta.tokenizes_input,
        goodput: cfg.goodput.is_some(),
        usage_diff: !cfg.use_server_token_count,
        show_experimental: std::env::var_os("AIPERF_DEV_SHOW_EXPERIMENTAL_METRICS")
            .is_some_and(|v| v != "0"),
    };
    let mut accumulator = Accumulator::new(run);
    // Values past a small in-memory tail go to an unlinked file beside the artifacts, so memory
    // stays flat on long runs; without one (e.g. a filesystem lacking O_TMPFILE) they stay in RAM.
    match Spill::create_in(&cfg.artifact_dir) {
        Ok(spill) => accumulator = accumulator.with_spill(spill),
        Err(e) => tracing::warn!(
            "cannot create a metric spill file in '{}' ({e}); keeping every value in memory",
            cfg.artifact_dir.display()
        ),
    }
    if let Some(g) = &cfg.goodput {
        accumulator =
            accumulator.with_goodput(Goodput::parse(g).map_err(|e| anyhow!("--goodput: {e}"))?);
    }
    let writer = RecordWriter::create(&cfg.artifact_dir.join(RECORDS_FILE), run)?;
    let (raw_tx, rx) = mpsc::unbounded_channel();
    let backlog = Arc::new(Backlog::default());
    let tx = RecordSender::new(raw_tx, backlog.clone());
    let progress = Arc::new(Progress::default());
    let live = (ui == Ui::Dashboard).then(|| Arc::new(Live::default()));
    let profiling_origin = Arc::new(AtomicU64::new(0));
    let processor = process::spawn(
        ProcessorConfig {
            clock,
            run,
            use_server_token_count: cfg.use_server_token_count,
            per_chunk_usage: cfg.per_chunk_usage,
            timeslices: cfg
                .slice_duration_s
                .map(|s| (profiling_origin.clone(), secs_to_ns(s))),
            live: live.clone(),
            backlog: backlog.clone(),
        },
        accumulator,
        prepared.clone(),
        rx,
        writer,
        progress.clone(),
    );

    // The dashboard takes the terminal only once set-up succeeded, so set-up errors stay
    // plain one-line messages.
    let dashboard_done = Arc::new(AtomicBool::new(false));
    let dashboard = live.as_ref().map(|l| {
        let title = format!(
            "{} | {} | {}",
            cfg.models.join(","),
            cfg.endpoint_type,
            cfg.urls
                .iter()
                .map(|u| u.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        crate::ui::dashboard::spawn(title, l.clone(), stop.clone(), dashboard_done.clone())
    });
    let sessions = Arc::new(AtomicU64::new(0));
    let timeout = Duration::from_secs_f64(cfg.request_timeout_s.min(1e9));
    let mut cancelled_in_flight = 0u64;
    let (mode, fixed) = effective_mode(&cfg, &prepared)?;
    let profiling_count = match &fixed {
        Some((order, _, _)) => {
            let turns: u64 = order
                .iter()
                .map(|&i| prepared.conversations[i].turns as u64)
                .sum();
            Some(cfg.request_count.map_or(turns, |c| c.min(turns)))
        }
        None => cfg.request_count,
    };
    let mut phases = Vec::new();
    if cfg.warmup_request_count.is_some() || cfg.warmup_duration_s.is_some() {
        let warmup_mode = match &mode {
            LoadMode::FixedSchedule { .. } => LoadMode::Concurrency {
                concurrency: cfg.concurrency,
                ramp_s: None,
            },
            m => m.clone(),
        };
        phases.push((
            PhasePlan {
                phase: Phase::Warmup,
                concurrency: cfg.concurrency,
                request_count: cfg.warmup_request_count,
                session_count: None,
                duration_ns: cfg.warmup_duration_s.map(secs_to_ns),
                grace_ns: None,
            },
            warmup_mode,
        ));
    }
    phases.push((
        PhasePlan {
            phase: Phase::Profiling,
            concurrency: cfg.concurrency,
            request_count: profiling_count,
            session_count: cfg.conversation.conversation_num.map(|n| n as u64),
            duration_ns: cfg.benchmark_duration_s.map(secs_to_ns),
            grace_ns: cfg.grace_period_s.map(secs_to_ns),
        },
        mode.clone(),
    ));
    let cancellation = cfg.cancellation.map(|(rate_pct, delay_s)| Cancellation {
        rate_pct,
        delay_ns: secs_to_ns(delay_s),
        seed: Rng::derive(prepared.seed, "timing.request.cancellation").next_u64(),
    });
    let mut load = LoadStats::default();
    for (plan, mode) in &phases {
        if stop.stop.load(Ordering::Relaxed) {
            break;
        }
        let start_ns = clock.now_ns();
        if plan.phase == Phase::Profiling {
            profiling_origin.store(clock.to_wall_ns(start_ns), Ordering::Relaxed);
        }
        let lag_probe = (plan.phase == Phase::Profiling).then(|| {
            let done = Arc::new(AtomicBool::new(false));
            (done.clone(), tokio::spawn(event_loop_lag(done)))
        });
        let ctx = Arc::new(PhaseContext {
            phase: plan.phase,
            clock,
            issuer: CreditIssuer::new(plan, start_ns),
            prepared: prepared.clone(),
            clients: clients.clone(),
            sessions: sessions.clone(),
            timeout,
            records: tx.clone(),
            in_flight: AtomicU64::new(0),
            replay: match (mode, &fixed) {
                (LoadMode::FixedSchedule { .. }, Some((order, zero_ms, _))) => Some(Replay {
                    order: order.clone(),
                    zero_ms: *zero_ms,
                    phase_start_ns: start_ns,
                }),
                _ => None,
            },
            cancellation,
            last_intended_ns: AtomicU64::new(0),
            last_issued_ns: AtomicU64::new(0),
        });
        tracing::info!("phase {} started: {}", plan.phase.as_str(), describe(mode));
        let schedule = match mode {
            LoadMode::Concurrency { .. } | LoadMode::UserCentric { .. } => None,
            LoadMode::Rate {
                rate,
                pattern,
                smoothness,
                ramp_s,
                ..
            } => {
                let p = match pattern.as_str() {
                    "constant" => ArrivalPattern::Constant,
                    "gamma" => ArrivalPattern::Gamma {
                        smoothness: smoothness.unwrap_or(1.0),
                    },
                    _ => ArrivalPattern::Poisson,
                };
                let seed = Rng::derive(
                    prepared.seed,
                    &format!("timing.request.{}_interval", plan.phase.as_str()),
                )
                .next_u64();
                Some(Schedule::rate(p, *rate, ramp_s.map(secs_to_ns), seed))
            }
            LoadMode::FixedSchedule { .. } => fixed
                .as_ref()
                .map(|(_, _, offsets)| Schedule::fixed(offsets.clone())),
        };
        if let Some(l) = &live {
            l.set_phase(PhaseView {
                name: plan.phase.as_str(),
                started: std::time::Instant::now(),
                target_requests: ctx.issuer.target_count(),
                duration_s: plan.duration_ns.map(|d| d as f64 / 1e9),
                requested_rate: match mode {
                    LoadMode::Rate { rate, .. } | LoadMode::UserCentric { rate, .. } => Some(*rate),
                    _ => None,
                },
                ctx: Arc::downgrade(&ctx),
            });
        }
        cancelled_in_flight += run_phase(
            plan,
            mode,
            schedule,
            ctx.clone(),
            &stop,
            ui,
            &progress,
            live.as_ref(),
            start_ns,
        )
        .await;
        let lag_ms = match lag_probe {
            Some((done, task)) => {
                done.store(true, Ordering::Relaxed);
                task.await.unwrap_or_default()
            }
            None => Vec::new(),
        };
        if plan.phase == Phase::Profiling {
            let since = |t: u64| t.saturating_sub(start_ns) as f64 / 1e9;
            load = LoadStats {
                mode: mode.clone(),
                sent: ctx.issuer.issued(),
                intended_window_s: since(ctx.last_intended_ns.load(Ordering::Relaxed)),
                actual_window_s: since(ctx.last_issued_ns.load(Ordering::Relaxed)),
                event_loop_lag_ms: lag_ms,
                backlog_pauses: ctx.records.backlog().pauses(),
            };
        }
    }
    drop(tx);
    signal_task.abort();
    if let Some(l) = &live {
        l.set_stage("exporting");
    }
    dashboard_done.store(true, Ordering::Relaxed);
    if let Some(d) = dashboard {
        let _ = tokio::task::spawn_blocking(move || d.join()).await;
    }
    let processed = tokio::task::spawn_blocking(move || processor.join())
        .await
        .map_err(|e| anyhow!("record processor task failed: {e}"))?
        .map_err(|_| anyhow!("record processor panicked"))?;
    if let Some(e) = &processed.write_error {
        tracing::error!("per-record export incomplete: {e}");
    }
    let was_cancelled = stop.stop.load(Ordering::Relaxed);
    if cancelled_in_flight > 0 {
        tracing::warn!("{cancelled_in_flight} request(s) still in flight at the grace-period deadline were cancelled and not counted");
    }
    let summary = processed.accumulator.summarize();
    let request_count = processed.accumulator.request_count();
    let error_count = processed.accumulator.error_count();
    let cpu = report::CpuUsage::since(cpu_start, wall_start);
    let rep = report::build(
        &cfg,
        &prepared,
        summary,
        processed.errors,
        was_cancelled,
        start_time,
        &load,
        cpu,
    );
    let console = run_exporters(&registry, &cfg, &rep)?;
    let exit_code = if was_cancelled {
        130
    } else if request_count == 0 && error_count > 0 {
        tracing::error!(
            "All {error_count} inference request(s) failed; no successful responses were collected"
        );
        1
    } else {
        0
    };
    Ok(RunOutcome {
        exit_code,
        artifact_dir: cfg.artifact_dir.clone(),
        console,
        request_count,
        error_count,
    })
}

/// Every enabled `data_exporter`: built-ins first (they write the files external ones read), then
/// external executables. A failing external exporter is reported, never fatal: the built-in
/// artifacts are already on disk.
fn run_exporters(
    registry: &Registry,
    cfg: &ProfileConfig,
    rep: &aiperf_export::RunReport,
) -> anyhow::Result<String> {
    let mut builtin = Vec::new();
    let mut external = Vec::new();
    for e in registry.iter("data_exporter") {
        let meta: DataExporterMetadata = registry.typed_metadata("data_exporter", &e.name)?;
        if !meta.enabled_by_default {
            continue;
        }
        match e.exec_path() {
            Some(p) => external.push((e.name.clone(), p.to_path_buf(), meta.args)),
            None => builtin.extend(aiperf_export::Exporter::from_implementation(
                &e.implementation,
            )),
        }
    }
    let mut console = aiperf_export::write_summary(&cfg.artifact_dir, rep, &builtin)?;
    if !external.is_empty() {
        let summary: serde_json::Value = serde_json::from_str(&aiperf_export::json::render(rep))
            .unwrap_or(serde_json::Value::Null);
        for (name, exec, args) in external {
            let started = std::time::Instant::now();
            match crate::external::export(
                &exec,
                &args,
                &cfg.artifact_dir,
                &summary,
                &cfg.artifact_dir.join(RECORDS_FILE),
            ) {
                Ok(files) => {
                    tracing::info!(
                        "exporter '{name}' finished in {:.0} ms",
                        started.elapsed().as_secs_f64() * 1e3
                    );
                    for f in files {
                        console.push_str(&format!("{name} Export: {f}\n"));
                    }
                }
                Err(e) => {
                    tracing::error!("{e:#}");
                    console.push_str(&format!("{name} Export failed: {e:#}\n"));
                }
            }
        }
    }
    Ok(console)
}

/// Runs one phase until sending stops and in-flight requests drain; returns how many in-flight
/// requests were abandoned at the grace deadline.
#[allow(clippy::too_many_arguments)]
async fn run_phase(
    plan: &PhasePlan,
    mode: &LoadMode,
    schedule: Option<Schedule>,
    ctx: Arc<PhaseContext>,
    stop: &Arc<StopSignal>,
    ui: Ui,
    progress: &Arc<Progress>,
    live: Option<&Arc<Live>>,
    start_ns: u64,
) -> u64 {
    let mut workers = tokio::task::JoinSet::new();
    let pacer_stop = Arc::new(AtomicBool::new(false));
    let mut pacer = None;
    match (mode, schedule) {
        (_, Some(schedule)) => {
            let cap = match mode {
                LoadMode::Rate { cap, .. } | LoadMode::FixedSchedule { cap, .. } => *cap,
                LoadMode::Concurrency { .. } | LoadMode::UserCentric { .. } => None,
            };
            let (credit_tx, credit_rx) = mpsc::unbounded_channel();
            pacer = Some(pace(
                schedule,
                ctx.clone(),
                start_ns,
                pacer_stop.clone(),
                credit_tx,
            ));
            let dispatch_ctx = ctx.clone();
            workers.spawn(async move {
                let mut tasks = tokio::task::JoinSet::new();
                dispatch(dispatch_ctx, credit_rx, cap, &mut tasks).await;
                while tasks.join_next().await.is_some() {}
            });
        }
        (
            LoadMode::Concurrency {
                concurrency,
                ramp_s,
            },
            None,
        ) => {
            let ramp = ramp_s.map(secs_to_ns);
            for k in 0..*concurrency {
                // Worker k joins when the ramp allows k + 1 sessions.
                let start_at = ramp.filter(|_| k > 0 && *concurrency > 1).map(|r| {
                    let offset = r as f64 * k as f64 / (*concurrency - 1) as f64;
                    ctx.clock.instant_at(start_ns + offset as u64)
                });
                workers.spawn(run_worker(ctx.clone(), start_at));
            }
        }
        (LoadMode::UserCentric { rate, users }, None) => {
            for lane in 0..*users {
                workers.spawn(run_user(ctx.clone(), lane, *rate, *users, start_ns));
            }
        }
        (_, None) => {}
    }
    let drain_deadline = plan
        .drain_deadline_ns()
        .map(|d| ctx.clock.instant_at(start_ns + d));
    let mut ticker = tokio::time::interval(Duration::from_millis(200));
    let mut simple = (ui == Ui::Progress).then(|| crate::ui::simple::Simple::start(plan, &ctx));
    let abandoned = loop {
        tokio::select! {
            joined = workers.join_next() => {
                if joined.is_none() {
                    break 0;
                }
            }
            _ = ticker.tick() => {
                if stop.stop.load(Ordering::Relaxed) {
                    ctx.issuer.stop();
                    pacer_stop.store(true, Ordering::Relaxed);
                }
                if stop.abort.load(Ordering::Relaxed) {
                    let abandoned = ctx.in_flight.load(Ordering::Relaxed);
                    workers.abort_all();
                    while workers.join_next().await.is_some() {}
                    break abandoned;
                }
                if let Some(s) = &mut simple {
                    s.tick(plan, &ctx, progress, start_ns);
                }
                // Past the duration, in-flight requests are in their grace period.
                if let (Some(l), Some(d)) = (live, plan.duration_ns) {
                    if ctx.clock.now_ns() >= start_ns + d {
                        l.set_stage("grace");
                    }
                }
            }
            _ = sleep_until_opt(drain_deadline) => {
                let abandoned = ctx.in_flight.load(Ordering::Relaxed);
                ctx.issuer.stop();
                pacer_stop.store(true, Ordering::Relaxed);
                workers.abort_all();
                while workers.join_next().await.is_some() {}
                break abandoned;
            }
        }
    };
    if let Some(s) = &mut simple {
        s.tick(plan, &ctx, progress, start_ns);
        s.finish();
    }
    pacer_stop.store(true, Ordering::Relaxed);
    if let Some(p) = pacer {
        let _ = tokio::task::spawn_blocking(move || p.join()).await;
    }
    abandoned
}

/// The mode the run really uses: a dataset whose entries all carry timestamps is replayed on its
/// schedule unless `--no-fixed-schedule`. Returns, when replaying, the order of conversations,
/// the trace time (ms) that maps to phase start, and each first turn's offset (ns).
#[allow(clippy::type_complexity)]
fn effective_mode(
    cfg: &ProfileConfig,
    prepared: &Prepared,
) -> anyhow::Result<(LoadMode, Option<(Vec<usize>, f64, Vec<u64>)>)> {
    let stamped: Vec<(usize, f64)> = prepared
        .conversations
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.first_timestamp_ms.map(|ts| (i, ts)))
        .collect();
    let all_stamped = !stamped.is_empty() && stamped.len() == prepared.conversations.len();
    let mode = match &cfg.load {
        LoadMode::FixedSchedule { .. } => cfg.load.clone(),
        _ if all_stamped && cfg.input_file.is_some() && !cfg.no_fixed_schedule => {
            tracing::info!("dataset entries carry timestamps: replaying them (fixed schedule); --no-fixed-schedule disables this");
            LoadMode::FixedSchedule {
                auto_offset: true,
                start_offset_ms: None,
                end_offset_ms: None,
                cap: None,
            }
        }
        other => other.clone(),
    };
    let LoadMode::FixedSchedule {
        auto_offset,
        start_offset_ms,
        end_offset_ms,
        ..
    } = &mode
    else {
        return Ok((mode, None));
    };
    if !all_stamped {
        anyhow::bail!("--fixed-schedule: every dataset entry needs a 'timestamp' (ms)");
    }
    let mut entries = stamped;
    entries.sort_by(|a, b| a.1.total_cmp(&b.1));
    let first = entries[0].1;
    let zero = match (start_offset_ms, auto_offset) {
        (Some(s), _) => *s as f64,
        (None, true) => first,
        (None, false) => 0.0,
    };
    entries.retain(|(_, ts)| *ts >= zero && end_offset_ms.is_none_or(|e| *ts <= e as f64));
    if entries.is_empty() {
        anyhow::bail!("--fixed-schedule: no dataset entry falls between the start and end offsets");
    }
    let order = entries.iter().map(|(i, _)| *i).collect();
    let offsets = entries
        .iter()
        .map(|(_, ts)| ((ts - zero) * 1e6).round().max(0.0) as u64)
        .collect();
    Ok((mode, Some((order, zero, offsets))))
}

fn describe(mode: &LoadMode) -> String {
    match mode {
        LoadMode::Concurrency { concurrency, .. } => format!("concurrency {concurrency}"),
        LoadMode::Rate {
            rate, pattern, cap, ..
        } => {
            format!(
                "{pattern} arrivals at {rate} req/s{}",
                cap.map(|c| format!(", at most {c} in flight"))
                    .unwrap_or_default()
            )
        }
        LoadMode::FixedSchedule { .. } => "fixed-schedule replay".to_string(),
        LoadMode::UserCentric { rate, users } => {
            format!(
                "{users} users at {rate} turns/s in all (one turn per user every {:.3} s)",
                *users as f64 / rate
            )
        }
    }
}

/// What the profiling phase actually sent, for the load report.
#[derive(Debug, Clone)]
pub struct LoadStats {
    pub mode: LoadMode,
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
        Self {
            mode: LoadMode::Concurrency {
                concurrency: 1,
                ramp_s: None,
            },
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

fn secs_to_ns(s: f64) -> u64 {
    (s * 1e9).round().min(u64::MAX as f64) as u64
}

fn write_inputs(cfg: &ProfileConfig, prepared: &Prepared) -> anyhow::Result<()> {
    let sessions: Vec<(&str, Vec<&[u8]>)> = prepared
        .conversations
        .iter()
        .zip(&prepared.turns[0])
        .map(|(c, turns)| {
            (
                c.session_id.as_str(),
                turns.iter().map(|t| t.body.as_ref()).collect(),
            )
        })
        .collect();
    inputs::write(&cfg.artifact_dir.join(INPUTS_FILE), &sessions)?;
    Ok(())
}
