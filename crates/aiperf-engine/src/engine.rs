//! The library entry point: an [`Engine`] runs benchmarks, one after another, in one process.
//!
//! `Engine::run` orchestrates the stages and nothing else:
//! clients (servers reached) -> prepare (cached across runs) -> set-up -> plan -> phases -> summary and exporters.
//! A sweep or a repeated run calls it many times: the tokenizer and the prepared dataset are
//! reused while what they depend on is unchanged, and nothing global is left behind.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aiperf_config::{LoadMode, ProfileConfig};
use aiperf_core::Clock;
use aiperf_dataset::TextTokenizer;
use aiperf_metrics::Summary;
use aiperf_plugins::Registry;
use anyhow::anyhow;
use tokio::sync::mpsc;

use crate::backlog::{Backlog, RecordSender};
use crate::observe::Observer;
use crate::phases::{run_phases, PhaseEnv};
use crate::plan::{secs_to_ns, RunPlan};
use crate::prepare::{load_tokenizer_with, prepare_with, Fetched, Prepared};
use crate::process::{self, ProcessorConfig, Progress};
use crate::stop::{watch_signals, Interrupted, StopSignal};
use crate::{exporters, report, setup};

/// What a finished run produced.
#[derive(Debug)]
pub struct RunOutcome {
    /// 0 on success; 1 when every request failed or `--failed-request-threshold` stopped the
    /// run; 130 when interrupted.
    pub exit_code: i32,
    pub artifact_dir: PathBuf,
    /// The console tables, as printed.
    pub console: String,
    pub request_count: u64,
    pub error_count: u64,
    /// Every metric's statistics, as exported.
    pub summary: Summary,
    /// `--accuracy-benchmark`: the graded answers.
    pub accuracy: Option<aiperf_accuracy::summary::AccuracySummary>,
}

/// Runs benchmarks with the plugins of one registry. Holds the last tokenizer and prepared
/// dataset, so runs that differ only in load, duration or output reuse them.
pub struct Engine {
    registry: Arc<Registry>,
    pub(crate) stop: Arc<StopSignal>,
    tokenizer: Mutex<Option<(TokenizerKey, Arc<TextTokenizer>)>>,
    prepared: Mutex<Option<(String, Arc<Prepared>)>>,
    preparations: AtomicU64,
    /// Where tokenizers not found locally are downloaded from (the `HF_*` environment unless
    /// [`Engine::with_hub`] says otherwise).
    hub: aiperf_hub::HubConfig,
}

/// What picks the tokenizer: `--tokenizer` (or the first model), and the revision.
type TokenizerKey = (Option<String>, String, String);

impl Engine {
    pub fn new(registry: Arc<Registry>) -> Self {
        Self {
            registry,
            stop: Arc::new(StopSignal::default()),
            tokenizer: Mutex::new(None),
            prepared: Mutex::new(None),
            preparations: AtomicU64::new(0),
            hub: aiperf_hub::HubConfig::from_env(),
        }
    }

    /// Downloads tokenizers with `hub` instead of the `HF_*` environment's settings.
    pub fn with_hub(mut self, hub: aiperf_hub::HubConfig) -> Self {
        self.hub = hub;
        self
    }

    /// The stop signal every run of this engine obeys (SIGINT/SIGTERM and the dashboard call
    /// it; so may a caller). Once stopped, later runs send nothing.
    pub fn stop_signal(&self) -> Arc<StopSignal> {
        self.stop.clone()
    }

    /// The plugins this engine runs with.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The checks of `cfg` that need the plugins' endpoint code (credential headers from two
    /// sources, for one), without sending or writing anything: what `aiperf config validate`
    /// and a sweep run before their first request.
    pub fn check(&self, cfg: &ProfileConfig) -> anyhow::Result<()> {
        crate::prepare::check_headers(cfg, &self.registry)
    }

    /// How many times a dataset was prepared (not reused) by this engine.
    pub fn preparations(&self) -> u64 {
        self.preparations.load(Ordering::Relaxed)
    }

    /// Runs `cfg` end to end, reporting progress to `observer`. Failed requests are data; only
    /// set-up problems are errors, and they happen before anything is written.
    pub async fn run(
        &self,
        cfg: &ProfileConfig,
        observer: &dyn Observer,
    ) -> anyhow::Result<RunOutcome> {
        for w in &cfg.warnings {
            tracing::warn!("{w}");
        }
        for n in &cfg.notices {
            tracing::info!("{n}");
        }
        // Signals are handled from the start, so an early Ctrl-C still ends in a clean export.
        let signals = tokio::spawn(watch_signals(self.stop.clone()));
        // On the heap: the stages' state machine is large, and callers (tests, sweeps) await
        // it from threads with ordinary stacks.
        // Shards also publish their counters (`status.json`) for `aiperf watch`.
        let observer = crate::status::tee(observer, cfg);
        let outcome = Box::pin(self.run_stages(cfg, observer.as_ref())).await;
        signals.abort();
        outcome
    }

    async fn run_stages(
        &self,
        cfg: &ProfileConfig,
        observer: &dyn Observer,
    ) -> anyhow::Result<RunOutcome> {
        let clock = Clock::start();
        let start_time = report::now_iso();
        let mut cpu_start = report::process_cpu_seconds();
        let mut wall_start = std::time::Instant::now();
        crate::prepare::check_headers(cfg, &self.registry)?;
        let clients = self
            .unless_stopped("connecting to the server", setup::clients(cfg, clock))
            .await?;
        // A `--metrics-listen` address that cannot be bound fails the run before anything is
        // sent or written.
        let publishers = crate::publish::start(cfg, clock).await?;
        let prepare_start = clock.now_ns();
        let prepared = self
            .unless_stopped("preparing the dataset", self.prepare(cfg))
            .await?;
        tracing::info!(
            "prepared {} dataset entries (tokenizer {}, seed {}) in {:.0} ms",
            prepared.conversations.len(),
            prepared.tokenizer.name(),
            prepared.seed,
            clock.now_ns().saturating_sub(prepare_start) as f64 / 1e6
        );
        self.unless_stopped(
            "waiting for the server",
            setup::reach(cfg, &prepared, &clients),
        )
        .await?;
        // `--reset-kv-cache`: once per run, before the first request (warm-up included); a
        // failure ends the run before anything is written, as in AIPerf.
        let control = crate::control::Control::new(cfg, &prepared.headers);
        self.unless_stopped(
            "resetting the server's KV cache",
            control.reset_kv_cache(&clients),
        )
        .await?;
        let clients = Arc::new(clients);
        let plan = RunPlan::build(cfg, &prepared.conversations, prepared.seed)?;
        let run = setup::applicability(cfg, &prepared);
        let setup::Opened {
            writers,
            accumulator,
            dataset_hash,
        } = setup::open_artifacts(cfg, &prepared, run, clock)?;

        let (raw_tx, rx) = mpsc::unbounded_channel();
        let backlog = Arc::new(Backlog::default());
        let records = RecordSender::new(raw_tx, backlog.clone());
        let progress = Arc::new(Progress::default());
        // This run's own stop: `--failed-request-threshold` ends this run only, never the
        // engine's later runs (a sweep goes on).
        let run_stop = Arc::new(StopSignal::default());
        let profiling_origin = Arc::new(AtomicU64::new(0));
        let network = crate::network::start(cfg, clock).await?;
        let grading = prepared
            .accuracy
            .clone()
            .map(|answers| {
                let jsonl = cfg
                    .artifact_dir
                    .join(setup::export_files(cfg).accuracy_jsonl);
                crate::accuracy::Grading::spawn(answers, Some(jsonl), self.stop.clone())
            })
            .transpose()?;
        let processor = process::spawn(
            ProcessorConfig {
                clock,
                run,
                use_server_token_count: cfg.use_server_token_count,
                per_chunk_usage: cfg.per_chunk_usage,
                timeslices: cfg
                    .slice_duration_s
                    .map(|s| (profiling_origin.clone(), secs_to_ns(s))),
                live: observer.live(),
                taps: publishers.taps(),
                count_media: cfg.conversation.images.is_some()
                    || cfg.input_file.is_some()
                    || cfg.public_dataset.is_some(),
                backlog,
                failed_threshold: cfg
                    .failed_request_threshold
                    .map(|t| process::FailedThreshold::new(t, cfg.concurrency, run_stop.clone())),
                grading: grading.as_ref().map(|g| g.sender()),
            },
            accumulator,
            prepared.clone(),
            rx,
            writers,
            progress.clone(),
        );

        // The baseline scrape comes before the first phase; scraping runs beside the phases.
        let gpu_targets = crate::scrape::gpu_targets(cfg);
        let gpu_urls = crate::gpu::configured(cfg, &gpu_targets);
        let gpu_fields = crate::gpu::field_map(cfg);
        let live_gpus = observer
            .live()
            .map(|live| crate::gpu::live_panel(live, gpu_fields.clone()));
        let nvml = crate::gpu::start_local(cfg, &gpu_fields, clock, observer.live());
        let (scrapers, gpu_scrapers) = tokio::join!(
            crate::scrape::start(
                crate::scrape::server_targets(cfg),
                crate::scrape::Kind::ServerMetrics,
                cfg.insecure,
                clock,
                None,
            ),
            crate::scrape::start(
                gpu_targets,
                crate::scrape::Kind::Gpu,
                cfg.insecure,
                clock,
                live_gpus,
            ),
        );
        // A shard says who it is before it waits, so one that dies waiting is still named.
        let mut manifest = cfg
            .merge_records
            .then(|| crate::shard::ShardManifest::started(cfg, None));
        if let Some(m) = &manifest {
            m.write(&cfg.artifact_dir);
        }
        // Shards start together: at the agreed instant on the reference shard's clock, after
        // every set-up step.
        let (reference, clock_before) = self
            .unless_stopped(
                "measuring the clock offset",
                crate::shard::sync_clock(cfg, clock),
            )
            .await?;
        let start_lateness_ms = match cfg.start_at_ns {
            Some(at) => {
                let theta = clock_before.as_ref().map_or(0, |c| c.offset_ns);
                let local_at = (at as i128 - theta as i128).max(0) as u64;
                let now = || clock.to_wall_ns(clock.now_ns());
                Some(
                    self.unless_stopped(
                        "waiting for --start-at",
                        crate::shard::wait_until(local_at, now),
                    )
                    .await?,
                )
            }
            None => None,
        };
        // The client's CPU is judged over the run, not over set-up and the wait for the start.
        if cfg.start_at_ns.is_some() {
            cpu_start = report::process_cpu_seconds();
            wall_start = std::time::Instant::now();
        }
        if let Some(m) = &mut manifest {
            m.start_lateness_ms = start_lateness_ms;
            m.clock = clock_before.map(|before| crate::shard::ClockEstimate {
                reference: cfg
                    .clock_reference
                    .as_ref()
                    .map(|r| r.address.clone())
                    .unwrap_or_default(),
                before,
                after: None,
            });
            m.write(&cfg.artifact_dir);
        }
        // The UI takes the terminal only once set-up succeeded, so set-up errors stay plain
        // one-line messages.
        observer.run_started(&setup::title(cfg), &self.stop);
        let phases = run_phases(
            &plan,
            &PhaseEnv {
                clock,
                prepared: prepared.clone(),
                clients,
                timeout: Duration::from_secs_f64(cfg.request_timeout_s.min(1e9)),
                records,
                stop: &self.stop,
                run_stop: &run_stop,
                observer,
                progress: &progress,
                profiling_origin: &profiling_origin,
                control: &control,
            },
        )
        .await;
        // The final scrape, after the last response, closes the window.
        let scraped = match scrapers {
            Some(s) => Some(s.finish().await),
            None => None,
        };
        let gpu_scraped = match gpu_scrapers {
            Some(s) => s.finish().await,
            None => Vec::new(),
        };
        let local_gpu_samples = match nvml {
            Some(n) => tokio::task::spawn_blocking(move || n.finish())
                .await
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let network = network.finish().await;
        let window_end = clock.to_wall_ns(clock.now_ns());
        let sending_ended = std::time::Instant::now();
        observer.run_finished();
        // The second clock estimate (the drift over the run) right after sending, while the
        // reference shard is surely still up.
        let clock_after = match &manifest {
            Some(_) => crate::shard::clock_after(cfg, clock).await,
            None => None,
        };

        let mut processed = tokio::task::spawn_blocking(move || processor.join())
            .await
            .map_err(|e| anyhow!("record processor task failed: {e}"))?
            .map_err(|_| anyhow!("record processor panicked"))?;
        // The processor's sender is gone with it: the grader finishes what it was given.
        let graded = match grading {
            Some(g) => Some(
                tokio::task::spawn_blocking(move || g.finish())
                    .await
                    .map_err(|e| anyhow!("accuracy grading task failed: {e}"))?,
            ),
            None => None,
        };
        // `--server-profiler`: a failed start fails the run, as in AIPerf.
        if let Some(e) = phases.control_error {
            return Err(anyhow!(e));
        }
        let records_failed = processed.write_error.is_some();
        let interrupted = self.stop.stopped();
        // An interruption wins: the user stopped the run, whatever else happened.
        let incomplete_reason = if interrupted {
            Some("cancelled by user".to_string())
        } else {
            run_stop.early_reason()
        };
        let was_cancelled = incomplete_reason.is_some();
        if phases.abandoned > 0 {
            tracing::warn!(
                "{} cancelled request(s) did not hand in their records in time and are missing from the results",
                phases.abandoned
            );
        }
        // `network_adjusted_*`: each request's latency minus the run's mean round trip.
        processed
            .accumulator
            .set_network_rtt_ns(crate::network::rtt_ns(cfg, &network));
        let summary = processed.accumulator.summarize();
        let request_count = processed.accumulator.request_count();
        let error_count = processed.accumulator.error_count();
        let cpu = report::CpuUsage::since(cpu_start, wall_start);
        let mut rep = report::build(
            cfg,
            &prepared,
            summary,
            processed.errors,
            incomplete_reason.clone(),
            start_time,
            &phases.load,
            cpu,
        );
        rep.malformed_sse_events = processed.malformed_sse;
        let mut accuracy_failed = 0;
        if let Some(g) = graded {
            accuracy_failed = usize::from(g.write_error.is_some());
            rep.accuracy = Some(g.summary);
        }
        let origin = profiling_origin.load(std::sync::atomic::Ordering::Relaxed);
        let window = (origin, window_end);
        if let Some(collected) = &scraped {
            rep.server_metrics = Some(exporters::server_metrics_report(
                cfg, &rep, collected, window,
            ));
        }
        let mut gpu_samples = crate::gpu::samples(&gpu_scraped, &gpu_fields);
        gpu_samples.extend(local_gpu_samples);
        if !gpu_samples.is_empty() {
            rep.gpu_telemetry = Some(crate::gpu::report(
                cfg,
                &gpu_urls,
                &gpu_samples,
                window,
                &rep.summary,
            ));
        }
        if processed.malformed_sse > 0 {
            tracing::warn!(
                "{} malformed SSE message(s) were dropped (not SSE, or data that is not JSON); each record counts its own in malformed_sse_events",
                processed.malformed_sse
            );
        }
        let network_failed = crate::network::apply(cfg, &network, &mut rep);
        let (console, mut artifacts_failed) =
            exporters::run_exporters_for(&self.registry, cfg, &rep)?;
        artifacts_failed += network_failed + accuracy_failed;
        if let Some(collected) = &scraped {
            artifacts_failed += exporters::write_server_metrics(cfg, &rep, collected);
        }
        if let Some(report) = &rep.gpu_telemetry {
            artifacts_failed += crate::gpu::write_files(cfg, report, &gpu_samples);
        }
        artifacts_failed += publishers.finish(cfg, &rep).await;
        let mut exit_code = exit_code(interrupted, was_cancelled, request_count, error_count);
        if exit_code == 0 && (records_failed || artifacts_failed > 0) {
            tracing::error!(
                "some artifacts in '{}' are missing or incomplete (see above); the tables above are complete",
                cfg.artifact_dir.display()
            );
            exit_code = 1;
        }
        if let Some(mut m) = manifest {
            match (&mut m.clock, clock_after) {
                (Some(c), after) => c.after = after,
                // Not measured before the start (the reference came up late): the estimate
                // after the run still puts this shard's times on the reference's clock.
                (None, Some(after)) => {
                    m.clock = Some(crate::shard::ClockEstimate {
                        reference: cfg
                            .clock_reference
                            .as_ref()
                            .map(|r| r.address.clone())
                            .unwrap_or_default(),
                        before: after,
                        after: None,
                    })
                }
                (None, None) => {}
            }
            m.status = crate::shard::ShardStatus::Finished;
            m.result = Some(crate::shard::ShardResult {
                exit_code,
                was_cancelled,
                incomplete_reason,
                abandoned: phases.abandoned,
                host: crate::shard::host_name(),
                applicability: run,
                goodput: cfg.goodput.as_ref().map(|g| g.text().to_string()),
                slice_ns: cfg.slice_duration_s.map(secs_to_ns),
                times: crate::shard::ShardTimes {
                    clock_wall_start_ns: clock.to_wall_ns(0),
                    profiling_origin_wall_ns: origin,
                    window_end_wall_ns: window_end,
                    end_wall_ns: clock.to_wall_ns(clock.now_ns()),
                },
                records: crate::shard::ShardRecords {
                    file: aiperf_export::merge_records::MERGE_RECORDS_FILE.to_string(),
                    count: processed.merge_records.as_ref().map_or(0, |w| w.count),
                    requests: request_count,
                    errors: error_count,
                    malformed_sse: processed.malformed_sse,
                    complete: processed.merge_records.as_ref().is_some_and(|w| w.complete),
                },
                dataset_hash: dataset_hash.unwrap_or_default(),
                load: crate::shard::ShardLoad::of(&phases.load, cpu, &rep),
                report: report::context(cfg, &prepared, &phases.load.whole_mode),
                accuracy: rep.accuracy.clone(),
            });
            m.write(&cfg.artifact_dir);
        }
        // The reference answers a little longer, for the shards that finished sending after
        // this one and now measure their drift.
        if reference.is_some() {
            let grace = REFERENCE_GRACE.saturating_sub(sending_ended.elapsed());
            tokio::time::sleep(grace).await;
            drop(reference);
        }
        Ok(RunOutcome {
            exit_code,
            artifact_dir: cfg.artifact_dir.clone(),
            console,
            request_count,
            error_count,
            accuracy: rep.accuracy,
            summary: rep.summary,
        })
    }

    /// Runs a set-up step, giving up (with [`Interrupted`]) as soon as the run is stopped:
    /// a Ctrl-C during a long preparation ends the run at once (the blocking work left behind
    /// is dropped with the process, or finishes unobserved in an embedding program).
    async fn unless_stopped<T>(
        &self,
        what: &'static str,
        step: impl std::future::Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        tokio::select! {
            r = step => r,
            _ = self.stop.wait_stopped() => Err(Interrupted(what).into()),
        }
    }

    /// The tokenizer and the prepared dataset for `cfg`: the previous run's when what they
    /// depend on is unchanged, else built (on a blocking thread: tokenizing is CPU work).
    async fn prepare(&self, cfg: &ProfileConfig) -> anyhow::Result<Arc<Prepared>> {
        let key = prepare_key(cfg);
        if let Some((k, p)) = &*lock(&self.prepared) {
            if *k == key {
                tracing::info!("reusing the dataset prepared for the previous run");
                return Ok(p.clone());
            }
        }
        crate::budget::check(cfg, crate::budget::available_memory())?;
        let tokenizer = self.tokenizer(cfg).await?;
        let cfg_owned = Arc::new(cfg.clone());
        let registry = self.registry.clone();
        let hub = self.hub.clone();
        let prepared = Arc::new(
            tokio::task::spawn_blocking(move || {
                let fetched = Fetched {
                    public: crate::public_dataset::fetch(&cfg_owned, &hub)?,
                    accuracy: crate::accuracy::load(&cfg_owned, &hub)?,
                };
                prepare_with(&cfg_owned, &registry, tokenizer, &fetched)
            })
            .await
            .map_err(|e| anyhow!("dataset preparation panicked: {e}"))??,
        );
        self.preparations.fetch_add(1, Ordering::Relaxed);
        *lock(&self.prepared) = Some((key, prepared.clone()));
        Ok(prepared)
    }

    async fn tokenizer(&self, cfg: &ProfileConfig) -> anyhow::Result<Arc<TextTokenizer>> {
        let key: TokenizerKey = (
            cfg.tokenizer.clone(),
            cfg.tokenizer_revision.clone(),
            cfg.models.first().cloned().unwrap_or_default(),
        );
        if let Some((k, t)) = &*lock(&self.tokenizer) {
            if *k == key {
                return Ok(t.clone());
            }
        }
        let cfg_owned = Arc::new(cfg.clone());
        let hub = self.hub.clone();
        let tokenizer = Arc::new(
            tokio::task::spawn_blocking(move || load_tokenizer_with(&cfg_owned, &hub))
                .await
                .map_err(|e| anyhow!("tokenizer loading panicked: {e}"))??,
        );
        *lock(&self.tokenizer) = Some((key, tokenizer.clone()));
        Ok(tokenizer)
    }
}

/// How long shard 0 keeps answering clock probes after it stopped sending.
const REFERENCE_GRACE: Duration = Duration::from_secs(2);

/// A poisoned cache lock only means a panic elsewhere; the cached value is still whole.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Exit codes: 130 when interrupted by the user; 1 when no request succeeded (AIPerf exits 1
/// when every request failed; a run that got no answer at all is no success either) or when the
/// run stopped itself (`--failed-request-threshold`: a failure, not an interruption); else 0.
pub(crate) fn exit_code(interrupted: bool, stopped_itself: bool, ok: u64, errors: u64) -> i32 {
    if interrupted {
        130
    } else if ok == 0 {
        if errors > 0 {
            tracing::error!(
                "All {errors} inference request(s) failed; no successful responses were collected"
            );
        } else {
            tracing::error!("No request completed; no results were collected");
        }
        1
    } else if stopped_itself {
        1
    } else {
        0
    }
}

/// What the prepared dataset depends on: the config with every field that only shapes the
/// load, the limits, the output or the UI set to a fixed value. Equal keys send equal bodies.
/// (A new config field is part of the key until it is listed here: a missed reuse, never a
/// wrong one.)
fn prepare_key(cfg: &ProfileConfig) -> String {
    let mut k = cfg.clone();
    // `--ignore-trace-delays` strips times only when the dataset is not replayed on them,
    // which depends on the load mode reset below.
    let replays = matches!(cfg.load, LoadMode::FixedSchedule { .. }) || !cfg.no_fixed_schedule;
    let strips_times = cfg.trace_replay.ignore_trace_delays && replays;
    k.load = LoadMode::Concurrency {
        concurrency: 1,
        ramp_s: None,
    };
    k.concurrency = 1;
    k.request_count = None;
    k.benchmark_duration_s = None;
    k.grace_period_s = None;
    k.disable_warmup();
    k.run = Default::default();
    k.cancellation = None;
    k.no_fixed_schedule = false;
    k.request_timeout_s = 0.0;
    k.wait_for_model = None;
    k.http2 = false;
    k.insecure = false;
    k.goodput = None;
    k.failed_request_threshold = None;
    k.export_level = Default::default();
    k.slice_duration_s = None;
    k.artifact_dir = PathBuf::new();
    k.ui = None;
    k.log_level = aiperf_config::resolve::LogLevel::Info;
    k.server_control = Default::default();
    k.warnings.clear();
    k.notices.clear();
    k.cli_command.clear();
    // `BaseUrl`'s Debug hides credentials and credential query values; the request paths
    // (prefix and query) are part of what is prepared, so they are keyed as sent.
    let paths: Vec<String> = cfg.urls.iter().map(|u| u.join("")).collect();
    format!("{k:?} {paths:?} {strips_times}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::PhaseSnapshot;
    use aiperf_config::{Cli, Command};
    use aiperf_core::Phase;
    use clap::Parser;

    fn config(url: &str, dir: &std::path::Path, args: &[&str]) -> ProfileConfig {
        let dir = dir.display().to_string();
        let mut argv = vec![
            "aiperf",
            "profile",
            "-m",
            "mock-model",
            "--url",
            url,
            "--streaming",
            "--artifact-dir",
            &dir,
        ];
        argv.extend_from_slice(args);
        // Defaults a case may override.
        for (flag, value) in [("--isl", "16"), ("--osl", "4"), ("--random-seed", "5")] {
            if !args.contains(&flag) {
                argv.extend([flag, value]);
            }
        }
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let Command::Profile(p) = Cli::try_parse_from(&argv).expect("parses").command else {
            panic!("not profile")
        };
        ProfileConfig::resolve(*p, &argv, &Registry::builtin()).expect("valid")
    }

    /// Records every callback, in order.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<(String, Option<PhaseSnapshot>)>>);

    impl Recorder {
        fn push(&self, what: &str, s: Option<&PhaseSnapshot>) {
            self.0.lock().unwrap().push((what.to_string(), s.cloned()));
        }
    }

    impl Observer for Recorder {
        fn run_started(&self, title: &str, _stop: &Arc<StopSignal>) {
            self.push(title, None);
        }
        fn phase_started(&self, s: &PhaseSnapshot) {
            self.push("started", Some(s));
        }
        fn phase_finished(&self, s: &PhaseSnapshot) {
            self.push("finished", Some(s));
        }
        fn run_finished(&self) {
            self.push("run_finished", None);
        }
    }

    /// One engine, three runs: the second changes only the load and reuses the dataset; the
    /// third changes the prompts and prepares again. Each run's results are its own.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_engine_runs_again_and_reuses_what_did_not_change() {
        let mock = aiperf_mock_server::start(aiperf_mock_server::MockConfig::for_tests(1.0, 0.5))
            .await
            .unwrap();
        let url = format!("http://{}", mock.addr);
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::new(Arc::new(Registry::builtin()));
        let observer = Recorder::default();
        let first = config(&url, &dir.path().join("a"), &["--request-count", "6"]);
        let a = engine.run(&first, &observer).await.unwrap();
        assert_eq!((a.exit_code, a.request_count, a.error_count), (0, 6, 0));
        let second = config(
            &url,
            &dir.path().join("b"),
            &["--request-count", "6", "--concurrency", "3"],
        );
        let b = engine.run(&second, &crate::Silent).await.unwrap();
        assert_eq!((b.exit_code, b.request_count), (0, 6));
        assert_eq!(engine.preparations(), 1, "same prompts: prepared once");
        assert!(dir.path().join("b/profile_export_aiperf.json").is_file());
        let third = config(
            &url,
            &dir.path().join("c"),
            &["--request-count", "3", "--isl", "32"],
        );
        let c = engine.run(&third, &crate::Silent).await.unwrap();
        assert_eq!(c.request_count, 3);
        assert_eq!(engine.preparations(), 2, "new prompts: prepared again");
        let isl = |o: &RunOutcome| match &o.summary.get("input_sequence_length").unwrap().value {
            aiperf_metrics::MetricValue::Distribution(s) => s.avg,
            other => panic!("{other:?}"),
        };
        assert_eq!((isl(&a), isl(&b), isl(&c)), (16.0, 16.0, 32.0));

        let calls = observer.0.lock().unwrap();
        let names: Vec<&str> = calls.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                format!("mock-model | chat | {url}").as_str(),
                "started",
                "finished",
                "run_finished"
            ]
        );
        let end = calls[2].1.as_ref().unwrap();
        assert_eq!(end.phase, Phase::Profiling);
        assert_eq!((end.issued, end.in_flight), (6, 0));
        // The record processor may still be on the last records when sending ends.
        assert!(end.done <= 6, "{end:?}");
        assert_eq!(end.target_requests, Some(6));
    }

    #[test]
    fn the_prepare_key_ignores_load_and_output_only() {
        let dir = std::path::Path::new("/tmp/x");
        let url = "http://127.0.0.1:1";
        let base = prepare_key(&config(url, dir, &["--request-count", "5"]));
        let load = config(
            url,
            &dir.join("other"),
            &[
                "--request-count",
                "5",
                "--request-rate",
                "9",
                "--benchmark-grace-period",
                "1",
                "--benchmark-duration",
                "3",
            ],
        );
        assert_eq!(prepare_key(&load), base);
        for changed in [
            &["--request-count", "5", "--osl", "9"][..],
            &["--request-count", "5", "--extra-inputs", "a:1"],
            &["--request-count", "5", "--random-seed", "6"],
            // The dataset size follows the request count when not given.
            &["--request-count", "7"],
        ] {
            assert_ne!(prepare_key(&config(url, dir, changed)), base, "{changed:?}");
        }
    }

    #[test]
    fn exit_codes_follow_aiperf() {
        assert_eq!(exit_code(false, false, 10, 2), 0);
        assert_eq!(exit_code(false, false, 0, 0), 1, "no result is no success");
        assert_eq!(exit_code(false, false, 0, 3), 1);
        assert_eq!(exit_code(true, false, 10, 0), 130);
        assert_eq!(exit_code(true, true, 10, 0), 130, "a user's interrupt wins");
        assert_eq!(
            exit_code(false, true, 10, 0),
            1,
            "a run that stopped itself failed"
        );
    }
}
