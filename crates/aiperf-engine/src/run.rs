//! One benchmark run, start to finish.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aiperf_config::ProfileConfig;
use aiperf_core::{Clock, Phase};
use aiperf_export::{inputs, RecordWriter, INPUTS_FILE, RECORDS_FILE};
use aiperf_metrics::{Accumulator, Applicability, Goodput};
use aiperf_plugins::{DataExporterMetadata, Registry};
use aiperf_timing::{CreditIssuer, PhasePlan};
use aiperf_transport::HttpClient;
use anyhow::{anyhow, Context};
use tokio::sync::mpsc;

use crate::prepare::{prepare, Prepared};
use crate::process::{self, ProcessorConfig, Progress};
use crate::report;
use crate::ui::Ui;
use crate::worker::{run_worker, PhaseContext};

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

/// Set by Ctrl-C: stop issuing, let in-flight requests finish, export.
#[derive(Default)]
pub struct StopSignal {
    pub stop: AtomicBool,
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
    let clock = Clock::start();
    let start_time = report::now_iso();
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
        let client = HttpClient::connect_to(url, clock)
            .await
            .with_context(|| format!("--url {url}"))?;
        client
            .probe()
            .await
            .with_context(|| format!("cannot reach the server at {url}"))?;
        clients.push(client);
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
    if let Some(g) = &cfg.goodput {
        accumulator =
            accumulator.with_goodput(Goodput::parse(g).map_err(|e| anyhow!("--goodput: {e}"))?);
    }
    let writer = RecordWriter::create(&cfg.artifact_dir.join(RECORDS_FILE), run)?;
    let (tx, rx) = mpsc::unbounded_channel();
    let progress = Arc::new(Progress::default());
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
        },
        accumulator,
        prepared.clone(),
        rx,
        writer,
        progress.clone(),
    );

    let stop = Arc::new(StopSignal::default());
    let signal_task = tokio::spawn({
        let stop = stop.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::warn!(
                    "interrupted: no new requests; waiting for in-flight ones, then exporting"
                );
                stop.stop.store(true, Ordering::Relaxed);
            }
        }
    });

    let sessions = Arc::new(AtomicU64::new(0));
    let timeout = Duration::from_secs_f64(cfg.request_timeout_s.min(1e9));
    let mut cancelled_in_flight = 0u64;
    let mut phases = Vec::new();
    if cfg.warmup_request_count.is_some() || cfg.warmup_duration_s.is_some() {
        phases.push(PhasePlan {
            phase: Phase::Warmup,
            concurrency: cfg.concurrency,
            request_count: cfg.warmup_request_count,
            duration_ns: cfg.warmup_duration_s.map(secs_to_ns),
            grace_ns: None,
        });
    }
    phases.push(PhasePlan {
        phase: Phase::Profiling,
        concurrency: cfg.concurrency,
        request_count: cfg.request_count,
        duration_ns: cfg.benchmark_duration_s.map(secs_to_ns),
        grace_ns: cfg.grace_period_s.map(secs_to_ns),
    });
    for plan in &phases {
        if stop.stop.load(Ordering::Relaxed) {
            break;
        }
        let start_ns = clock.now_ns();
        if plan.phase == Phase::Profiling {
            profiling_origin.store(clock.to_wall_ns(start_ns), Ordering::Relaxed);
        }
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
        });
        tracing::info!(
            "phase {} started: concurrency {}",
            plan.phase.as_str(),
            plan.concurrency
        );
        cancelled_in_flight += run_phase(plan, ctx, &stop, ui, &progress, start_ns).await;
    }
    drop(tx);
    signal_task.abort();
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
    let rep = report::build(
        &cfg,
        &prepared,
        summary,
        processed.errors,
        was_cancelled,
        start_time,
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
            None => builtin.push(e.implementation.as_str()),
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

/// Runs one phase's workers until the issuer stops and they drain; returns how many in-flight
/// requests were abandoned at the grace deadline.
async fn run_phase(
    plan: &PhasePlan,
    ctx: Arc<PhaseContext>,
    stop: &Arc<StopSignal>,
    ui: Ui,
    progress: &Arc<Progress>,
    start_ns: u64,
) -> u64 {
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..plan.concurrency {
        workers.spawn(run_worker(ctx.clone()));
    }
    let drain_deadline = plan
        .drain_deadline_ns()
        .map(|d| ctx.clock.instant_at(start_ns + d));
    let mut ticker = tokio::time::interval(Duration::from_millis(200));
    let mut last_print = std::time::Instant::now();
    loop {
        tokio::select! {
            joined = workers.join_next() => {
                if joined.is_none() {
                    return 0;
                }
            }
            _ = ticker.tick() => {
                if stop.stop.load(Ordering::Relaxed) {
                    ctx.issuer.stop();
                }
                if ui == Ui::Progress && last_print.elapsed() >= Duration::from_secs(1) {
                    last_print = std::time::Instant::now();
                    report::print_progress(plan, &ctx, progress, start_ns);
                }
            }
            _ = sleep_until_opt(drain_deadline) => {
                let abandoned = ctx.in_flight.load(Ordering::Relaxed);
                ctx.issuer.stop();
                workers.abort_all();
                while workers.join_next().await.is_some() {}
                return abandoned;
            }
        }
    }
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
        .map(|(c, t)| (c.session_id.as_str(), vec![t.body.as_ref()]))
        .collect();
    inputs::write(&cfg.artifact_dir.join(INPUTS_FILE), &sessions)?;
    Ok(())
}
