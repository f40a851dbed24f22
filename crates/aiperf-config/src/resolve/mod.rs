//! From what the user typed to a validated configuration ("high args").
//!
//! One module per `--help` group; each checks its own flags and returns typed values, and
//! [`ProfileConfig::resolve`] only calls them in order and assembles the result. Everything the
//! engine reads is already parsed: it never matches on a flag's text again.

mod accuracy;
mod agentic_replay;
mod control;
mod conversation;
mod distributed;
mod endpoint;
mod input;
mod limits;
mod load;
mod multi_run;
mod network;
mod observability;
mod output;
mod prompt;
mod rankings;
mod redact;
mod search;
mod service;
mod shaping;
mod synthesis;
mod telemetry;
mod tokenizer;
mod trace_replay;
mod tracking;
mod warmup;

use std::path::PathBuf;

use aiperf_endpoints::BodyOptions;
use aiperf_metrics::Goodput;
use aiperf_plugins::{EndpointMetadata, Registry};
use aiperf_transport::BaseUrl;
use http::{HeaderName, HeaderValue};

use crate::cli::ProfileArgs;

pub use accuracy::Accuracy;
pub use agentic_replay::AgenticReplay;
pub use control::ServerControl;
pub use conversation::ConversationOptions;
pub use distributed::{ClockReference, Shard};
pub use endpoint::{ConnectionReuse, ModelSelection, WaitForModel};
pub use input::{parse_extra_inputs, DatasetSampling, PublicDatasetChoice};
pub use limits::{MAX_CONCURRENCY, MAX_DATASET_ENTRIES};
pub use load::{LoadMode, RequestCancellation};
pub use multi_run::{
    derived_seed, python_float, Convergence, ConvergenceMode, MultiRunIdentity, PlannedRun,
    RunIdentity, RunSet, SweepMode, SweepParam, SweepType, SweepValue, Variation, CONSISTENT_SEED,
    MAX_TRIALS,
};
pub use network::NetworkLatency;
pub use observability::{Observability, Otel};
pub use output::{ExportLevel, OutputOptions};
pub use redact::{is_sensitive_header, redact_args, redact_command, shell_quote};
pub use search::{
    logspace_int_steps, parse_isl_osl_pairs, GenericSearch, KneeSpec, PostProcess, Search,
    SearchPlan, SlaBound, SlaFilter, SlaOp, RECIPES,
};
pub use service::{LogLevel, UiType, UI_BUILTINS};
pub use shaping::ShapingOptions;
pub use telemetry::{metrics_url, GpuSource, GpuTelemetry, MetricsFormat, ServerMetrics};
pub use trace_replay::TraceReplayOptions;
pub use tracking::{Mlflow, Tracking, Wandb};
pub use warmup::{PrefillLimit, WarmupOptions};

/// Why a configuration was rejected. Messages name the flag and quote the value.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("{flag}: {reason}")]
    Invalid { flag: &'static str, reason: String },
}

fn invalid(flag: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        flag,
        reason: reason.into(),
    }
}

fn positive(flag: &'static str, v: f64) -> Result<(), ConfigError> {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(invalid(flag, format!("must be > 0, got {v}")))
    }
}

fn non_negative(flag: &'static str, v: f64) -> Result<(), ConfigError> {
    if v >= 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(invalid(flag, format!("must be >= 0, got {v}")))
    }
}

/// A validated `aiperf profile` configuration.
#[derive(Debug, Clone)]
pub struct ProfileConfig {
    pub models: Vec<String>,
    /// `--model-selection-strategy`: which model each session sends to.
    pub model_selection: ModelSelection,
    pub endpoint_type: String,
    /// Metadata of the chosen endpoint's registry entry.
    pub endpoint: EndpointMetadata,
    pub custom_endpoint: Option<String>,
    pub streaming: bool,
    pub urls: Vec<BaseUrl>,
    pub request_timeout_s: f64,
    pub api_key: Option<String>,
    pub use_server_token_count: bool,
    /// Also in `body`; the record processor reads it to discount the first chunk's tokens.
    pub per_chunk_usage: bool,
    /// `--wait-for-model-*`: readiness probing before the run.
    pub wait_for_model: Option<WaitForModel>,
    pub connection_reuse: ConnectionReuse,
    /// Header carrying the per-session id.
    pub session_header: HeaderName,
    pub download_video_content: bool,
    pub job_poll_interval_s: f64,
    pub http2: bool,
    pub insecure: bool,
    /// `--request-content-type`: the body encoding asked for (checked against the endpoint's).
    pub request_content_type: Option<aiperf_endpoints::BodyEncoding>,
    /// `--uuid-and-strip`: repeated images of a session go out as cache references.
    pub uuid_and_strip: bool,
    /// Everything that shapes request bodies, as the endpoints take it (the model aside).
    pub body: BodyOptions,
    /// `--goodput` SLOs.
    pub goodput: Option<Goodput>,
    /// `--slice-duration` in seconds.
    pub slice_duration_s: Option<f64>,
    /// `--export-level`: whether `profile_export.jsonl` is written (never `Raw` yet).
    pub export_level: ExportLevel,
    pub tokenizer: Option<String>,
    pub tokenizer_revision: String,
    /// `--apply-chat-template`: ISL counts the tokenizer's chat template rendered on the
    /// messages sent.
    pub apply_chat_template: bool,
    /// `--header`s in order; credential values are marked sensitive.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub random_seed: Option<u64>,
    pub sampling: DatasetSampling,
    pub input_file: Option<PathBuf>,
    /// `custom_dataset_loader` entry name (set when `input_file` is).
    pub custom_dataset_type: Option<String>,
    /// `--public-dataset` (without `--input-file`): downloaded from the Hub when prepared.
    pub public_dataset: Option<PublicDatasetChoice>,
    pub num_dataset_entries: usize,
    pub conversation: ConversationOptions,
    pub batch_size: usize,
    pub isl_mean: f64,
    pub isl_stddev: f64,
    pub osl_mean: Option<f64>,
    pub osl_stddev: f64,
    /// `--rankings-*`: synthetic rankings requests, for endpoints that rank passages.
    pub rankings: aiperf_dataset::RankingsConfig,
    pub concurrency: usize,
    /// Load mode as given; with `--input-file` timestamps the engine may switch to replay unless
    /// `no_fixed_schedule`.
    pub load: LoadMode,
    pub no_fixed_schedule: bool,
    pub cancellation: Option<RequestCancellation>,
    /// `--failed-request-threshold`: abort once failed / total profiling records exceeds it.
    pub failed_request_threshold: Option<f64>,
    /// `--reset-kv-cache`, `--server-profiler`: control requests around the benchmark.
    pub server_control: ServerControl,
    /// `--profile-export-prefix`, `--export-outputs-json`, `--export-http-trace`,
    /// `--show-trace-timing`: extra artifacts and their names.
    pub output: OutputOptions,
    /// `--otel-*`, `--stream`, `--metrics-listen`: where the run's own metrics are published.
    pub observability: Observability,
    /// `--mlflow-*`, `--wandb-*`: experiment trackers the results are recorded in.
    pub tracking: Tracking,
    /// `--network-latency-*`: the round-trip calibration behind `network_adjusted_*`.
    pub network_latency: NetworkLatency,
    /// `--accuracy-benchmark` and friends: the benchmark's problems are the dataset and every
    /// answer is graded (`None`: a performance run only).
    pub accuracy: Option<Accuracy>,
    /// `--scenario`, `--trajectory-start-*-ratio`, ...: agentic trajectory replay.
    pub agentic_replay: AgenticReplay,
    pub request_count: Option<u64>,
    pub benchmark_duration_s: Option<f64>,
    /// Only with a duration (AIPerf's default 30 s).
    pub grace_period_s: Option<f64>,
    pub warmup_request_count: Option<u64>,
    pub warmup_duration_s: Option<f64>,
    /// The warm-up's sessions, grace, load and prefill limit (`--warmup-*`).
    pub warmup: WarmupOptions,
    /// `--prefill-concurrency`: the profiling phase's cap on requests awaiting a first token.
    pub prefill: Option<PrefillLimit>,
    /// `--request-rate-series`: the profiling rate over time (`load` holds its first rate).
    pub rate_series: Option<std::sync::Arc<aiperf_timing::series::RateSeries>>,
    pub artifact_dir: PathBuf,
    /// `None` when the user did not choose (the binary picks by TTY).
    pub ui: Option<UiType>,
    pub log_level: LogLevel,
    /// Adjustments made while resolving, to print as warnings.
    pub warnings: Vec<String>,
    /// Choices made for the user while resolving (a detected dataset format), to log as info.
    pub notices: Vec<String>,
    /// The command line as typed, with secrets redacted.
    pub cli_command: String,
    /// Which run of a sweep or repetition this is (default for a plain run).
    pub run: RunIdentity,
    /// `--server-metrics`: Prometheus pages to scrape during the run.
    pub server_metrics: ServerMetrics,
    /// `--gpu-telemetry`: where GPU power, utilisation and energy come from.
    pub gpu_telemetry: GpuTelemetry,
    /// `--seq-dist`, `--random-range-ratio`, `--prompt-corpus`, `--cache-bust`, ...
    pub shaping: ShapingOptions,
    /// `--replay-speedup`, `--trace-session-sample-ratio`, `--omit-kv-hints`, ...
    pub trace_replay: TraceReplayOptions,
    /// `--synthesis-*`: how a trace is reshaped before replay (identity by default).
    pub synthesis: aiperf_dataset::synthesis::SynthesisParams,
    /// Agent-graph formats' options (`--use-think-time-only`, ...).
    pub agentic: aiperf_dataset::agentic::AgenticOptions,
    /// `--shard`: the part of the global plan this process sends (`Shard::WHOLE` alone).
    pub shard: Shard,
    /// `--start-at`: the wall-clock instant (epoch ns) every shard starts its first phase.
    pub start_at_ns: Option<u64>,
    /// `--clock-reference`: where shard 0 answers clock probes.
    pub clock_reference: Option<distributed::ClockReference>,
    /// Write `merge_records.bin` and `shard.json` (every shard; `--merge-records` for a whole
    /// run).
    pub merge_records: bool,
}

impl ProfileConfig {
    /// Whether a warm-up phase runs (a request count, a session count or a duration of its own).
    pub fn has_warmup(&self) -> bool {
        self.warmup_request_count.is_some()
            || self.warmup_duration_s.is_some()
            || self.warmup.sessions.is_some()
    }

    /// No warm-up (repeated runs after the first).
    pub fn disable_warmup(&mut self) {
        self.warmup_request_count = None;
        self.warmup_duration_s = None;
        self.warmup = WarmupOptions::default();
    }

    /// Validates `args` against the plugin `registry`; `argv` is the raw command line (for
    /// `cli_command`). The first problem found is returned.
    pub fn resolve(
        args: ProfileArgs,
        argv: &[String],
        registry: &Registry,
    ) -> Result<Self, ConfigError> {
        let mut warnings = Vec::new();
        let mut notices = args.process.notices();
        let endpoint::Endpoint {
            models,
            model_selection,
            endpoint_type,
            endpoint,
            custom_endpoint,
            streaming,
            urls,
            request_timeout_s,
            api_key,
            use_server_token_count,
            wait_for_model,
            connection_reuse,
            session_header,
            download_video_content,
            job_poll_interval_s,
            http2,
            insecure,
            request_content_type,
            uuid_and_strip,
        } = endpoint::resolve(&args, registry, &mut warnings)?;
        let ui = service::ui(&args, registry)?;
        let input::Input {
            headers,
            random_seed,
            sampling,
            input_file,
            custom_dataset_type,
            public_dataset,
        } = input::resolve(&args, registry, &mut notices)?;
        if input_file.is_some() || public_dataset.is_some() {
            let source = match input_file {
                Some(_) => "--input-file",
                None => "--public-dataset",
            };
            warnings.extend(input::ignored_synthetic_flags(argv, source));
        }
        let body = input::body_options(&args, streaming, &mut warnings)?;
        let tokenizer::Tokenizer {
            tokenizer,
            tokenizer_revision,
        } = tokenizer::resolve(&args);
        let prompt::Prompt {
            batch_size,
            isl_mean,
            isl_stddev,
            osl_mean,
            osl_stddev,
        } = prompt::resolve(
            &args,
            &endpoint_type,
            endpoint.produces_tokens,
            &mut warnings,
        )?;
        let rankings = rankings::resolve(&args)?;
        let distributed::Distributed {
            shard,
            start_at_ns,
            clock_reference,
            merge_records,
        } = distributed::resolve(&args.distributed, &|k| std::env::var(k).ok(), random_seed)?;
        let synthesis = synthesis::resolve(&args, custom_dataset_type.as_deref())?;
        let shaping = shaping::resolve(&args, &mut warnings)?;
        let trace_replay = trace_replay::resolve(&args, &mut warnings)?;
        let load::Load {
            concurrency,
            load,
            no_fixed_schedule,
            cancellation,
            request_count,
            benchmark_duration_s,
            grace_period_s,
            warmup_request_count,
            warmup_duration_s,
            rate_series,
        } = load::resolve(&args, registry, input_file.is_some())?;
        let prefill = warmup::profiling_prefill(&args, streaming, &load)?;
        let warmup = warmup::resolve(&args, registry, streaming, &mut warnings)?;
        let failed_request_threshold = match args.failed_request_threshold {
            Some(r) if !(0.0..=1.0).contains(&r) => {
                return Err(invalid(
                    "--failed-request-threshold",
                    format!("{r} is not a ratio between 0 and 1"),
                ))
            }
            r => r,
        };
        let server_control = control::resolve(&args.control)?;
        let output = output::options(&args.output)?;
        let observability = observability::resolve(&args.observability)?;
        let tracking = tracking::resolve(&args.tracking)?;
        let network_latency = network::resolve(&args.network)?;
        let agentic_replay = agentic_replay::resolve(&args.agentic_replay)?;
        let accuracy = accuracy::resolve(&args.accuracy)?;
        if accuracy.is_some() && !endpoint.produces_tokens {
            return Err(invalid(
                "--accuracy-benchmark",
                format!(
                    "--endpoint-type {endpoint_type} generates no text to grade; use an endpoint that answers in text (chat, completions, responses, ...)"
                ),
            ));
        }
        let sampling = match &accuracy {
            Some(_) => accuracy::sequential(
                sampling,
                args.dataset_sampling_strategy.is_some(),
                input_file.is_some(),
                public_dataset.is_some(),
                &load,
            )?,
            None => sampling,
        };
        let conversation = conversation::resolve(&args)?;
        let num_dataset_entries = conversation::num_dataset_entries(&args)?;
        let output::Output {
            goodput,
            slice_duration_s,
            export_level,
        } = output::resolve(&args)?;
        let artifact_dir = output::artifact_dir(&args, &models, &endpoint, &load);
        let mut cfg = ProfileConfig {
            models,
            model_selection,
            endpoint_type,
            endpoint,
            custom_endpoint,
            streaming,
            urls,
            request_timeout_s,
            api_key,
            use_server_token_count,
            per_chunk_usage: body.per_chunk_usage,
            wait_for_model,
            connection_reuse,
            session_header,
            download_video_content,
            job_poll_interval_s,
            http2,
            insecure,
            request_content_type,
            uuid_and_strip,
            body,
            goodput,
            slice_duration_s,
            export_level,
            tokenizer,
            tokenizer_revision,
            apply_chat_template: args.apply_chat_template,
            headers,
            random_seed,
            sampling,
            input_file,
            custom_dataset_type,
            public_dataset,
            num_dataset_entries,
            conversation,
            batch_size,
            isl_mean,
            isl_stddev,
            osl_mean,
            osl_stddev,
            rankings,
            concurrency,
            load,
            no_fixed_schedule,
            cancellation,
            failed_request_threshold,
            server_control,
            output,
            observability,
            tracking,
            network_latency,
            accuracy,
            agentic_replay,
            request_count,
            benchmark_duration_s,
            grace_period_s,
            warmup_request_count,
            warmup_duration_s,
            warmup,
            prefill,
            rate_series,
            artifact_dir,
            ui,
            log_level: service::log_level(&args)?,
            warnings,
            notices,
            cli_command: redact_command(argv),
            run: RunIdentity::default(),
            server_metrics: telemetry::server_metrics(&args)?,
            gpu_telemetry: telemetry::gpu_telemetry(&args)?,
            shaping,
            trace_replay,
            synthesis,
            agentic: input::agentic(&args),
            shard,
            start_at_ns,
            clock_reference,
            merge_records,
        };
        // `--scenario`: the scenario's defaults filled in, its invariants checked.
        agentic_replay::apply_scenario(&mut cfg)?;
        limits::check(&cfg)?;
        Ok(cfg)
    }
}

/// Parsing helpers shared by the group tests.
#[cfg(test)]
mod test_support {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    /// `aiperf profile <args>` as clap parses it.
    pub fn args(args: &[&str]) -> ProfileArgs {
        let mut full = vec!["aiperf", "profile"];
        full.extend_from_slice(args);
        match Cli::try_parse_from(&full) {
            Ok(Cli {
                command: Command::Profile(p),
            }) => *p,
            other => panic!("{args:?} does not parse as `aiperf profile`: {other:?}"),
        }
    }

    /// The whole resolution of `aiperf profile <args>` against the built-in registry.
    pub fn resolve(a: &[&str]) -> Result<ProfileConfig, ConfigError> {
        let mut full = vec!["aiperf", "profile"];
        full.extend_from_slice(a);
        let argv: Vec<String> = full.iter().map(|s| s.to_string()).collect();
        ProfileConfig::resolve(args(a), &argv, &Registry::builtin())
    }

    /// The message `aiperf profile <args>` is rejected with.
    pub fn err(a: &[&str]) -> String {
        match resolve(a) {
            Ok(_) => panic!("{a:?} was accepted"),
            Err(e) => e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{err, resolve};
    use super::*;

    /// Synthetic-data flags typed next to --input-file are named, as typed, in one warning;
    /// flags left at their defaults, or set without a file, are not.
    #[test]
    fn synthetic_flags_with_a_dataset_file_warn_once() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("d.jsonl");
        std::fs::write(&f, "{\"text\": \"hi\"}\n").unwrap();
        let f = f.to_str().unwrap();
        let ignored = |c: &ProfileConfig| -> Vec<String> {
            c.warnings
                .iter()
                .filter(|w| w.contains("ignored with --input-file"))
                .cloned()
                .collect()
        };
        let c = resolve(&[
            "-m",
            "a",
            "--input-file",
            f,
            "--isl",
            "100",
            "--synthetic-input-tokens-stddev=5",
            "-b",
            "2",
            "--rankings-passages-mean",
            "3",
            "--osl",
            "8",
        ])
        .unwrap();
        assert_eq!(
            ignored(&c),
            ["--isl, --synthetic-input-tokens-stddev, -b, --rankings-passages-mean shape synthetic data only: they are ignored with --input-file"]
        );
        let c = resolve(&["-m", "a", "--input-file", f, "--num-prompts", "5"]).unwrap();
        assert_eq!(
            ignored(&c),
            ["--num-prompts shapes synthetic data only: it is ignored with --input-file"]
        );
        assert!(ignored(&resolve(&["-m", "a", "--input-file", f]).unwrap()).is_empty());
        assert!(ignored(&resolve(&["-m", "a", "--isl", "100"]).unwrap()).is_empty());
    }

    #[test]
    fn defaults_and_artifact_dir_naming() {
        let c = resolve(&["-m", "org/model", "--concurrency", "8"]).unwrap();
        assert_eq!(
            c.artifact_dir,
            PathBuf::from("artifacts/org_model-openai-chat-concurrency8")
        );
        assert_eq!(c.num_dataset_entries, 100);
        assert_eq!(c.grace_period_s, None);
        assert_eq!(c.sampling.name, "shuffle");
        assert_eq!(c.log_level, LogLevel::Info);
        assert_eq!(c.session_header.as_str(), "x-correlation-id");
        let c = resolve(&[
            "-m",
            "a",
            "--benchmark-duration",
            "5",
            "--request-count",
            "7",
        ])
        .unwrap();
        assert_eq!(c.grace_period_s, Some(30.0));
        assert_eq!(c.num_dataset_entries, 7);
        assert_eq!(
            c.artifact_dir,
            PathBuf::from("artifacts/a-openai-chat-concurrency1")
        );
        let c = resolve(&["-m", "a", "--artifact-dir", "out/x"]).unwrap();
        assert_eq!(c.artifact_dir, PathBuf::from("out/x"));
    }

    #[test]
    fn invalid_and_conflicting_flags_are_named() {
        assert!(err(&[]).starts_with("--model"));
        assert!(err(&["-m", "a", "--concurrency", "0"]).starts_with("--concurrency: must be >= 1"));
        assert!(err(&["-m", "a", "--request-count", "0"]).starts_with("--request-count"));
        assert_eq!(
            err(&["-m", "a", "--benchmark-grace-period", "10"]),
            "--benchmark-grace-period: requires --benchmark-duration to be set"
        );
        assert!(err(&["-m", "a", "--isl", "0"]).starts_with("--isl: must be > 0"));
        assert!(err(&["-m", "a", "--osl=-1"]).starts_with("--osl"));
        assert!(err(&["-m", "a", "--url", "ftp://x"]).starts_with("--url: 'ftp://x'"));
        assert!(
            err(&["-m", "a", "--extra-inputs", "novalue"]).starts_with("--extra-inputs: 'novalue'")
        );
        assert!(err(&["-m", "a", "-H", "broken"]).starts_with("--header"));
        assert!(err(&["-m", "a", "--benchmark-duration", "0"]).starts_with("--benchmark-duration"));
        assert!(err(&["-m", "a", "--custom-endpoint", "v1/x"]).starts_with("--custom-endpoint"));
        let e = err(&["-m", "a", "--endpoint-type", "chatt"]);
        assert!(
            e.starts_with("--endpoint-type: Type 'chatt' not found")
                && e.ends_with("Did you mean 'chat'?"),
            "{e}"
        );
        assert!(err(&["-m", "a", "--ui-type", "fancy"]).starts_with("--ui-type: Type 'fancy'"));
        assert!(err(&["-m", "a", "--dataset-sampling-strategy", "shufle"])
            .contains("Did you mean 'shuffle'?"));
        assert!(err(&["-m", "a", "--custom-dataset-type", "single_turn"])
            .starts_with("--custom-dataset-type: requires --input-file"));
        assert!(err(&["-m", "a", "--input-file", "/nonexistent/x.jsonl"])
            .contains("is not a valid file or directory"));
    }

    #[test]
    fn groups_feed_each_other() {
        let c = resolve(&[
            "-m",
            "a",
            "--num-sessions",
            "7",
            "--session-turns-mean",
            "2",
        ])
        .unwrap();
        assert_eq!(
            c.num_dataset_entries, 7,
            "--num-sessions sizes the synthetic dataset"
        );
        assert_eq!(c.conversation.conversation_num, Some(7));
        let u = resolve(&[
            "-m",
            "a",
            "--user-centric-rate",
            "5",
            "--num-users",
            "2",
            "--session-turns-mean",
            "2",
            "--benchmark-duration",
            "10",
        ])
        .unwrap();
        assert_eq!(u.grace_period_s, None);
        assert!(u
            .artifact_dir
            .ends_with("a-openai-chat-user_centric_rate5-users2"));
        let r = resolve(&[
            "-m",
            "a",
            "--request-rate",
            "10",
            "--arrival-smoothness",
            "0.5",
            "--concurrency",
            "4",
        ])
        .unwrap();
        assert_eq!(r.concurrency, 4);
        assert_eq!(
            r.artifact_dir,
            PathBuf::from("artifacts/a-openai-chat-concurrency4-request_rate10")
        );
        let b = resolve(&[
            "-m",
            "a",
            "--streaming",
            "--extra-inputs",
            "ignore_eos:true",
            "--per-chunk-usage",
        ])
        .unwrap();
        assert!(b.streaming && b.body.streaming && b.per_chunk_usage && b.body.per_chunk_usage);
        assert_eq!(b.body.extra_inputs["ignore_eos"], true);
    }

    #[test]
    fn warnings_keep_their_order() {
        let c = resolve(&[
            "-m",
            "e",
            "--endpoint-type",
            "embeddings",
            "--streaming",
            "--per-chunk-usage",
            "--osl",
            "5",
        ])
        .unwrap();
        assert_eq!(c.warnings.len(), 3, "{:?}", c.warnings);
        assert!(c.warnings[0].starts_with("--streaming ignored"));
        assert!(c.warnings[1].starts_with("--per-chunk-usage has no effect"));
        assert_eq!(
            c.warnings[2],
            "--osl ignored: endpoint type 'embeddings' does not produce output tokens"
        );
    }

    #[test]
    fn secrets_never_reach_the_config_text() {
        let c = resolve(&[
            "-m",
            "a",
            "--api-key",
            "sk-1",
            "-H",
            "Authorization:Bearer x",
        ])
        .unwrap();
        assert!(!c.cli_command.contains("sk-1") && !c.cli_command.contains("Bearer"));
        assert!(c.headers[0].1.is_sensitive());
        assert!(!format!("{c:?}").contains("Bearer"));
    }
}
