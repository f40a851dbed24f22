//! From what the user typed to a validated configuration ("high args").

use std::path::PathBuf;

use aiperf_plugins::{EndpointMetadata, Registry};
use aiperf_transport::BaseUrl;
use serde_json::{Map, Value};

use crate::cli::ProfileArgs;

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

/// `--wait-for-model-*`: probe the endpoint until it answers before the run starts.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitForModel {
    pub timeout_s: f64,
    pub interval_s: f64,
    /// GET `/v1/models` until it lists models.
    pub models: bool,
    /// Send a one-token request until it succeeds.
    pub inference: bool,
}

/// `--connection-reuse-strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionReuse {
    /// One keep-alive pool shared by every request.
    Pooled,
    /// A new connection for every request, closed after it.
    Never,
    /// One connection per conversation, closed after its last turn.
    StickyUserSessions,
}

/// The live view chosen for the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiType {
    Dashboard,
    Simple,
    None,
}

impl UiType {
    /// The `ui` registry entry name.
    pub fn name(self) -> &'static str {
        match self {
            UiType::Dashboard => "dashboard",
            UiType::Simple => "simple",
            UiType::None => "none",
        }
    }
}

/// How load is generated.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadMode {
    /// Closed loop: `concurrency` sessions, each sending when its previous request finished.
    Concurrency {
        concurrency: usize,
        ramp_s: Option<f64>,
    },
    /// Open loop at `rate` req/s with the `pattern` arrival process; `cap` limits requests in flight.
    Rate {
        rate: f64,
        pattern: String,
        smoothness: Option<f64>,
        cap: Option<usize>,
        ramp_s: Option<f64>,
    },
    /// `users` simulated users, each sending its conversation's turns `users / rate` seconds
    /// apart; a user that finishes is replaced by a new one, so `rate` turns/s go out in all.
    UserCentric { rate: f64, users: usize },
    /// Replay dataset timestamps. `None` start offset with `auto_offset` means "first timestamp".
    FixedSchedule {
        auto_offset: bool,
        start_offset_ms: Option<i64>,
        end_offset_ms: Option<i64>,
        cap: Option<usize>,
    },
}

use aiperf_dataset::synthetic_media::{AudioConfig, ImageConfig, ImageFormat};

/// How conversations are synthesized and what every conversation starts with.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConversationOptions {
    /// `--conversation-num`: distinct conversations, and sessions to start before stopping.
    pub conversation_num: Option<usize>,
    pub turn_mean: f64,
    pub turn_stddev: f64,
    pub delay_mean_ms: f64,
    pub delay_stddev_ms: f64,
    pub delay_ratio: f64,
    /// `--num-prefix-prompts` / `--prefix-prompt-length`.
    pub prefix_pool_size: usize,
    pub prefix_length: usize,
    pub shared_system_prompt_length: Option<usize>,
    pub user_context_prompt_length: Option<usize>,
    /// `--system-prompt`, or `--system-prompt-file` (read when the dataset is prepared).
    pub system_prompt: Option<String>,
    pub system_prompt_file: Option<PathBuf>,
    /// `--isl-block-size` for `hash_ids`.
    pub isl_block_size: Option<usize>,
    /// Synthetic images per turn, when `--image-width-mean` and `--image-height-mean` are > 0.
    pub images: Option<ImageConfig>,
    /// Synthetic audio per turn, when `--audio-length-mean` is > 0.
    pub audio: Option<AudioConfig>,
}

/// A validated `aiperf profile` configuration.
#[derive(Debug, Clone)]
pub struct ProfileConfig {
    pub models: Vec<String>,
    pub endpoint_type: String,
    /// Metadata of the chosen endpoint's registry entry.
    pub endpoint: EndpointMetadata,
    pub custom_endpoint: Option<String>,
    pub streaming: bool,
    pub urls: Vec<BaseUrl>,
    pub request_timeout_s: f64,
    pub api_key: Option<String>,
    pub use_legacy_max_tokens: bool,
    pub use_server_token_count: bool,
    pub per_chunk_usage: bool,
    /// `--wait-for-model-*`: readiness probing before the run.
    pub wait_for_model: Option<WaitForModel>,
    pub connection_reuse: ConnectionReuse,
    /// Header carrying the per-session id.
    pub session_header: String,
    pub download_video_content: bool,
    pub job_poll_interval_s: f64,
    pub http2: bool,
    pub insecure: bool,
    /// Validated `--goodput` SLOs.
    pub goodput: Option<String>,
    /// `--slice-duration` in seconds.
    pub slice_duration_s: Option<f64>,
    pub tokenizer: Option<String>,
    pub tokenizer_revision: String,
    pub extra_inputs: Map<String, Value>,
    pub headers: Vec<(String, String)>,
    pub random_seed: Option<u64>,
    pub sampling: String,
    pub input_file: Option<PathBuf>,
    /// `custom_dataset_loader` entry name (set when `input_file` is).
    pub custom_dataset_type: Option<String>,
    pub num_dataset_entries: usize,
    pub conversation: ConversationOptions,
    pub batch_size: usize,
    pub isl_mean: f64,
    pub isl_stddev: f64,
    pub osl_mean: Option<f64>,
    pub osl_stddev: f64,
    pub concurrency: usize,
    /// Load mode as given; with `--input-file` timestamps the engine may switch to replay unless
    /// `no_fixed_schedule`.
    pub load: LoadMode,
    pub no_fixed_schedule: bool,
    /// `--request-cancellation-rate` (percent) and delay (seconds).
    pub cancellation: Option<(f64, f64)>,
    pub request_count: Option<u64>,
    pub benchmark_duration_s: Option<f64>,
    /// Only with a duration (AIPerf's default 30 s).
    pub grace_period_s: Option<f64>,
    pub warmup_request_count: Option<u64>,
    pub warmup_duration_s: Option<f64>,
    pub artifact_dir: PathBuf,
    /// `None` when the user did not choose (the binary picks by TTY).
    pub ui: Option<UiType>,
    /// TRACE, DEBUG, INFO, ...
    pub log_level: String,
    /// Adjustments made while resolving, to print as warnings.
    pub warnings: Vec<String>,
    /// The command line as typed, with secrets redacted.
    pub cli_command: String,
}

impl ProfileConfig {
    /// Validates `args` against the plugin `registry`; `argv` is the raw command line (for
    /// `cli_command`).
    pub fn resolve(
        args: ProfileArgs,
        argv: &[String],
        registry: &Registry,
    ) -> Result<Self, ConfigError> {
        let mut warnings = Vec::new();
        let models: Vec<String> = args
            .model_names
            .iter()
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect();
        if models.is_empty() {
            return Err(invalid(
                "--model",
                "is required: name the model to benchmark (e.g. --model mock-model)",
            ));
        }
        let plugin = |flag: &'static str, category: &str, name: &str| {
            registry
                .get(category, name)
                .map(|_| ())
                .map_err(|e| invalid(flag, e.to_string()))
        };
        plugin("--endpoint-type", "endpoint", &args.endpoint_type)?;
        let endpoint = registry
            .endpoint_metadata(&args.endpoint_type)
            .map_err(|e| invalid("--endpoint-type", e.to_string()))?;
        if let Some(s) = &args.dataset_sampling_strategy {
            plugin("--dataset-sampling-strategy", "dataset_sampler", s)?;
        }
        if let Some(u) = &args.ui_type {
            plugin("--ui-type", "ui", u)?;
        }
        let mut args = args;
        if let Some(name) = &args.public_dataset {
            if name != "sharegpt" {
                return Err(invalid(
                    "--public-dataset",
                    format!("'{name}' is not available in this build (available: sharegpt)"),
                ));
            }
            if args.custom_dataset_type.is_some() {
                return Err(invalid(
                    "--public-dataset",
                    "cannot be combined with --custom-dataset-type",
                ));
            }
            if args.input_file.is_none() {
                args.input_file = Some(sharegpt_in_hf_cache().ok_or_else(|| {
                    invalid(
                        "--public-dataset",
                        format!(
                            "sharegpt: {SHAREGPT_FILE} not found in the Hugging Face cache; download it and pass it with --input-file"
                        ),
                    )
                })?);
            }
            args.custom_dataset_type = Some("sharegpt".into());
        }
        let custom_dataset_type = match (&args.input_file, &args.custom_dataset_type) {
            (None, Some(_)) => {
                return Err(invalid("--custom-dataset-type", "requires --input-file"))
            }
            (None, None) => None,
            (Some(f), t) => {
                if !f.exists() {
                    return Err(invalid(
                        "--input-file",
                        format!("'{}' is not a valid file or directory", f.display()),
                    ));
                }
                let t = t.clone().unwrap_or_else(|| "single_turn".to_string());
                plugin("--custom-dataset-type", "custom_dataset_loader", &t)?;
                Some(t)
            }
        };
        let mut streaming = args.streaming;
        if streaming && !endpoint.supports_streaming {
            warnings.push(format!(
                "--streaming ignored: endpoint type '{}' does not stream",
                args.endpoint_type
            ));
            streaming = false;
        }
        if let Some(p) = &args.custom_endpoint {
            if !p.is_empty() && !p.starts_with('/') {
                return Err(invalid(
                    "--custom-endpoint",
                    format!("'{p}' must start with '/'"),
                ));
            }
        }
        let urls = args
            .url
            .iter()
            .map(|u| BaseUrl::parse(u).map_err(|e| invalid("--url", format!("'{u}': {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        positive("--request-timeout-seconds", args.request_timeout_seconds)?;
        let wait_for_model = if args.wait_for_model_timeout > 0.0 {
            positive("--wait-for-model-interval", args.wait_for_model_interval)?;
            Some(WaitForModel {
                timeout_s: args.wait_for_model_timeout,
                interval_s: args.wait_for_model_interval,
                models: args.wait_for_model_mode != "inference",
                inference: args.wait_for_model_mode != "models",
            })
        } else if args.wait_for_model_timeout < 0.0 || !args.wait_for_model_timeout.is_finite() {
            return Err(invalid("--wait-for-model-timeout", "must be >= 0"));
        } else {
            None
        };
        let connection_reuse = match args.connection_reuse_strategy.as_str() {
            "never" => ConnectionReuse::Never,
            "sticky-user-sessions" => ConnectionReuse::StickyUserSessions,
            _ => ConnectionReuse::Pooled,
        };
        let session_header = args
            .session_header
            .clone()
            .unwrap_or_else(|| "X-Correlation-ID".to_string());
        if http::HeaderName::from_bytes(session_header.as_bytes()).is_err() {
            return Err(invalid(
                "--session-header",
                format!("'{session_header}' is not a valid header name"),
            ));
        }
        positive("--job-poll-interval", args.job_poll_interval)?;
        if let Some(c) = args.concurrency {
            if c == 0 {
                return Err(invalid("--concurrency", "must be >= 1"));
            }
        }
        if args.request_count == Some(0) {
            return Err(invalid("--request-count", "must be >= 1"));
        }
        if let Some(d) = args.benchmark_duration {
            positive("--benchmark-duration", d)?;
        }
        let grace_period_s = match (args.benchmark_grace_period, args.benchmark_duration) {
            (Some(_), None) => {
                return Err(invalid(
                    "--benchmark-grace-period",
                    "requires --benchmark-duration to be set",
                ));
            }
            (Some(g), Some(_)) => {
                if g.is_nan() || g < 0.0 {
                    return Err(invalid(
                        "--benchmark-grace-period",
                        format!("must be >= 0, got {g}"),
                    ));
                }
                Some(g)
            }
            // User-centric runs wait for every started user by default (AIPerf).
            (None, Some(_)) if args.user_centric_rate.is_some() => None,
            (None, Some(_)) => Some(30.0),
            (None, None) => None,
        };
        if args.isl_mean.is_nan() || args.isl_mean <= 0.0 || !args.isl_mean.is_finite() {
            return Err(invalid(
                "--isl",
                format!(
                    "must be > 0, got {}: all synthetic data would be disabled",
                    args.isl_mean
                ),
            ));
        }
        non_negative("--isl-stddev", args.isl_stddev)?;
        if let Some(o) = args.osl_mean {
            positive("--osl", o)?;
        }
        non_negative("--osl-stddev", args.osl_stddev)?;
        if args.prompt_batch_size == 0 {
            return Err(invalid("--prompt-batch-size", "must be >= 1"));
        }
        if args.num_dataset_entries == Some(0) {
            return Err(invalid("--num-dataset-entries", "must be >= 1"));
        }
        if let Some(d) = args.warmup_duration {
            positive("--warmup-duration", d)?;
        }
        let extra_inputs = parse_extra_inputs(&args.extra_inputs)?;
        if let Some(g) = &args.goodput {
            aiperf_metrics::Goodput::parse(g).map_err(|e| invalid("--goodput", e))?;
        }
        if let Some(s) = args.slice_duration {
            positive("--slice-duration", s)?;
        }
        if args.per_chunk_usage && !streaming {
            warnings.push("--per-chunk-usage has no effect without --streaming".to_string());
        }
        let headers = args
            .header
            .iter()
            .map(|h| parse_header(h))
            .collect::<Result<Vec<_>, _>>()?;
        let concurrency = args.concurrency.unwrap_or(1);
        let load = load_mode(&args, registry)?;
        let cancellation = match (
            args.request_cancellation_rate,
            args.request_cancellation_delay,
        ) {
            (None, Some(_)) => {
                return Err(invalid(
                    "--request-cancellation-delay",
                    "requires --request-cancellation-rate to be set",
                ))
            }
            (None, None) => None,
            (Some(r), d) => {
                if !(0.0..=100.0).contains(&r) {
                    return Err(invalid(
                        "--request-cancellation-rate",
                        format!("must be between 0 and 100, got {r}"),
                    ));
                }
                let d = d.unwrap_or(0.0);
                non_negative("--request-cancellation-delay", d)?;
                Some((r, d))
            }
        };
        let num_dataset_entries = args
            .num_dataset_entries
            .or(args.conversation_num)
            .or(args.request_count.map(|c| c.min(100_000) as usize))
            .unwrap_or(100);
        let conversation = conversation_options(&args)?;
        let artifact_dir = match &args.artifact_dir {
            Some(d) => d.clone(),
            None => {
                let mut name = models[0].replace('/', "_");
                if models.len() > 1 {
                    name.push_str("_multi");
                }
                let stimulus = match &load {
                    LoadMode::Concurrency { concurrency, .. } => {
                        format!("concurrency{concurrency}")
                    }
                    LoadMode::Rate {
                        rate, cap: Some(c), ..
                    } => format!("concurrency{c}-request_rate{rate}"),
                    LoadMode::Rate {
                        rate, cap: None, ..
                    } => format!("request_rate{rate}"),
                    LoadMode::FixedSchedule { .. } => "fixed_schedule".to_string(),
                    LoadMode::UserCentric { rate, users } => {
                        format!("user_centric_rate{rate}-users{users}")
                    }
                };
                PathBuf::from("artifacts").join(format!(
                    "{name}-{}-{}-{stimulus}",
                    endpoint.service_kind, args.endpoint_type
                ))
            }
        };
        let ui = args.ui_type.as_deref().map(|u| match u {
            "dashboard" => UiType::Dashboard,
            "simple" => UiType::Simple,
            _ => UiType::None,
        });
        let log_level = if args.extra_verbose || args.verbose >= 2 {
            "TRACE".to_string()
        } else if args.verbose == 1 {
            "DEBUG".to_string()
        } else {
            args.log_level.to_ascii_uppercase()
        };
        if args.osl_mean.is_some()
            && !extra_inputs.contains_key("ignore_eos")
            && !extra_inputs.contains_key("min_tokens")
        {
            warnings.push(
                "--osl sets only an upper bound: add --extra-inputs ignore_eos:true (or min_tokens) if the server may stop early"
                    .to_string(),
            );
        }
        Ok(ProfileConfig {
            models,
            endpoint_type: args.endpoint_type,
            endpoint,
            custom_endpoint: args.custom_endpoint,
            streaming,
            urls,
            request_timeout_s: args.request_timeout_seconds,
            api_key: args.api_key,
            use_legacy_max_tokens: args.use_legacy_max_tokens,
            use_server_token_count: args.use_server_token_count,
            per_chunk_usage: args.per_chunk_usage,
            wait_for_model,
            connection_reuse,
            session_header,
            download_video_content: args.download_video_content,
            job_poll_interval_s: args.job_poll_interval,
            http2: args.http2,
            insecure: args.insecure,
            goodput: args.goodput,
            slice_duration_s: args.slice_duration,
            tokenizer: args.tokenizer,
            tokenizer_revision: args.tokenizer_revision,
            extra_inputs,
            headers,
            random_seed: args.random_seed,
            sampling: args.dataset_sampling_strategy.unwrap_or_else(|| {
                if custom_dataset_type.is_some() {
                    "sequential"
                } else {
                    "shuffle"
                }
                .to_string()
            }),
            input_file: args.input_file,
            custom_dataset_type,
            num_dataset_entries,
            conversation,
            batch_size: args.prompt_batch_size,
            isl_mean: args.isl_mean,
            isl_stddev: args.isl_stddev,
            osl_mean: args.osl_mean,
            osl_stddev: args.osl_stddev,
            concurrency,
            load,
            no_fixed_schedule: args.no_fixed_schedule,
            cancellation,
            request_count: args.request_count,
            benchmark_duration_s: args.benchmark_duration,
            grace_period_s,
            warmup_request_count: args.warmup_request_count.filter(|&n| n > 0),
            warmup_duration_s: args.warmup_duration,
            artifact_dir,
            ui,
            log_level,
            warnings,
            cli_command: redact_command(argv),
        })
    }
}

/// The dataset file AIPerf downloads for `--public-dataset sharegpt`.
pub const SHAREGPT_FILE: &str = "ShareGPT_V3_unfiltered_cleaned_split.json";

/// `ShareGPT_V3_unfiltered_cleaned_split.json` in the local Hugging Face hub cache, if a
/// snapshot of `anon8231489123/ShareGPT_Vicuna_unfiltered` is there.
fn sharegpt_in_hf_cache() -> Option<PathBuf> {
    let cache = std::env::var_os("HF_HUB_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HF_HOME").map(|h| PathBuf::from(h).join("hub")))
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/huggingface/hub"))
        })?;
    let snapshots = cache.join("datasets--anon8231489123--ShareGPT_Vicuna_unfiltered/snapshots");
    std::fs::read_dir(snapshots)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join(SHAREGPT_FILE))
        .find(|p| p.is_file())
}

/// Conversation shape and context flags, checked.
fn conversation_options(args: &ProfileArgs) -> Result<ConversationOptions, ConfigError> {
    if args.conversation_num == Some(0) {
        return Err(invalid("--conversation-num", "must be >= 1"));
    }
    if !(args.turn_mean >= 1.0 && args.turn_mean.is_finite()) {
        return Err(invalid(
            "--conversation-turn-mean",
            format!("must be >= 1, got {}", args.turn_mean),
        ));
    }
    non_negative("--conversation-turn-stddev", args.turn_stddev)?;
    non_negative("--conversation-turn-delay-mean", args.turn_delay_mean)?;
    non_negative("--conversation-turn-delay-stddev", args.turn_delay_stddev)?;
    non_negative("--conversation-turn-delay-ratio", args.turn_delay_ratio)?;
    match (args.prefix_pool_size, args.prefix_length) {
        (0, 0) => {}
        (0, _) => {
            return Err(invalid(
                "--prefix-prompt-length",
                "requires --num-prefix-prompts >= 1",
            ))
        }
        (_, 0) => {
            return Err(invalid(
                "--num-prefix-prompts",
                "requires --prefix-prompt-length >= 1",
            ))
        }
        _ => {
            if args.shared_system_prompt_length.is_some()
                || args.user_context_prompt_length.is_some()
            {
                return Err(invalid(
                    "--num-prefix-prompts",
                    "cannot be combined with --shared-system-prompt-length or --user-context-prompt-length (choose one prefix scheme)",
                ));
            }
        }
    }
    if args.shared_system_prompt_length == Some(0) {
        return Err(invalid("--shared-system-prompt-length", "must be >= 1"));
    }
    if args.user_context_prompt_length == Some(0) {
        return Err(invalid("--user-context-prompt-length", "must be >= 1"));
    }
    if args.system_prompt.is_some() && args.system_prompt_file.is_some() {
        return Err(invalid(
            "--system-prompt",
            "cannot be combined with --system-prompt-file",
        ));
    }
    if let Some(f) = &args.system_prompt_file {
        if !f.is_file() {
            return Err(invalid(
                "--system-prompt-file",
                format!("'{}' is not a file", f.display()),
            ));
        }
    }
    if args.isl_block_size == Some(0) {
        return Err(invalid("--isl-block-size", "must be >= 1"));
    }
    for (flag, v) in [
        ("--image-width-mean", args.image_width_mean),
        ("--image-width-stddev", args.image_width_stddev),
        ("--image-height-mean", args.image_height_mean),
        ("--image-height-stddev", args.image_height_stddev),
        ("--audio-length-mean", args.audio_length_mean),
        ("--audio-length-stddev", args.audio_length_stddev),
    ] {
        non_negative(flag, v)?;
    }
    let images = if args.image_width_mean > 0.0 && args.image_height_mean > 0.0 {
        let format = ImageFormat::parse(&args.image_format).ok_or_else(|| {
            invalid(
                "--image-format",
                format!("'{}': choose png, jpeg or random", args.image_format),
            )
        })?;
        if args.image_source != "noise" {
            return Err(invalid(
                "--image-source",
                format!(
                    "'{}' is not available in this build (available: noise)",
                    args.image_source
                ),
            ));
        }
        if args.image_batch_size == 0 {
            return Err(invalid("--image-batch-size", "must be >= 1"));
        }
        if args.image_width_mean > 16384.0 || args.image_height_mean > 16384.0 {
            return Err(invalid(
                "--image-width-mean",
                "images larger than 16384 pixels a side are not generated",
            ));
        }
        Some(ImageConfig {
            width_mean: args.image_width_mean,
            width_stddev: args.image_width_stddev,
            height_mean: args.image_height_mean,
            height_stddev: args.image_height_stddev,
            batch: args.image_batch_size,
            format,
        })
    } else {
        None
    };
    let audio = if args.audio_length_mean > 0.0 {
        if args.audio_format != "wav" {
            return Err(invalid(
                "--audio-format",
                format!(
                    "'{}' is not available in this build (available: wav)",
                    args.audio_format
                ),
            ));
        }
        if let Some(d) = args
            .audio_depths
            .iter()
            .find(|d| ![8, 16, 24, 32].contains(*d))
        {
            return Err(invalid(
                "--audio-depths",
                format!("{d} bits: choose from 8, 16, 24, 32"),
            ));
        }
        if let Some(r) = args
            .audio_sample_rates
            .iter()
            .find(|r| !(**r > 0.0 && **r <= 384.0))
        {
            return Err(invalid(
                "--audio-sample-rates",
                format!("{r} kHz: must be in (0, 384]"),
            ));
        }
        if args.audio_num_channels == 0 || args.audio_batch_size == 0 {
            return Err(invalid(
                "--audio-num-channels",
                "channels and --audio-batch-size must be >= 1",
            ));
        }
        Some(AudioConfig {
            length_mean: args.audio_length_mean,
            length_stddev: args.audio_length_stddev,
            sample_rates_khz: args.audio_sample_rates.clone(),
            depths: args.audio_depths.clone(),
            channels: args.audio_num_channels,
            batch: args.audio_batch_size,
        })
    } else {
        None
    };
    Ok(ConversationOptions {
        conversation_num: args.conversation_num,
        turn_mean: args.turn_mean,
        turn_stddev: args.turn_stddev,
        delay_mean_ms: args.turn_delay_mean,
        delay_stddev_ms: args.turn_delay_stddev,
        delay_ratio: args.turn_delay_ratio,
        prefix_pool_size: args.prefix_pool_size,
        prefix_length: args.prefix_length,
        shared_system_prompt_length: args.shared_system_prompt_length,
        user_context_prompt_length: args.user_context_prompt_length,
        system_prompt: args.system_prompt.clone(),
        system_prompt_file: args.system_prompt_file.clone(),
        isl_block_size: args.isl_block_size,
        images,
        audio,
    })
}

/// The load mode from AIPerf's rules: fixed schedule, else user-centric rate, else request
/// rate, else concurrency.
fn load_mode(args: &ProfileArgs, registry: &Registry) -> Result<LoadMode, ConfigError> {
    if args.num_users.is_some() && args.user_centric_rate.is_none() {
        return Err(invalid("--num-users", "requires --user-centric-rate"));
    }
    if let Some(c) = args.concurrency_ramp_duration {
        positive("--concurrency-ramp-duration", c)?;
    }
    if let Some(r) = args.request_rate_ramp_duration {
        positive("--request-rate-ramp-duration", r)?;
    }
    let offsets = args.fixed_schedule_auto_offset
        || args.fixed_schedule_start_offset.is_some()
        || args.fixed_schedule_end_offset.is_some();
    if offsets && !args.fixed_schedule && args.input_file.is_none() {
        return Err(invalid(
            "--fixed-schedule-offset",
            "--fixed-schedule-{auto,start,end}-offset requires --fixed-schedule",
        ));
    }
    if let (Some(s), Some(e)) = (
        args.fixed_schedule_start_offset,
        args.fixed_schedule_end_offset,
    ) {
        if s > e {
            return Err(invalid(
                "--fixed-schedule-start-offset",
                format!("must be <= --fixed-schedule-end-offset ({s} > {e})"),
            ));
        }
    }
    if args.fixed_schedule_auto_offset && args.fixed_schedule_start_offset.is_some() {
        return Err(invalid(
            "--fixed-schedule-auto-offset",
            "cannot be combined with --fixed-schedule-start-offset",
        ));
    }
    if let Some(p) = &args.arrival_pattern {
        registry
            .get("arrival_pattern", p)
            .map_err(|e| invalid("--arrival-pattern", e.to_string()))?;
    }
    if let Some(k) = args.arrival_smoothness {
        positive("--arrival-smoothness", k)?;
        if args
            .arrival_pattern
            .as_deref()
            .is_some_and(|p| p != "gamma")
        {
            return Err(invalid(
                "--arrival-smoothness",
                "is only supported with --arrival-pattern gamma",
            ));
        }
    }
    if args.fixed_schedule {
        if args.input_file.is_none() {
            return Err(invalid(
                "--fixed-schedule",
                "requires --input-file with per-request timestamps",
            ));
        }
        if args.request_rate.is_some() {
            return Err(invalid(
                "--request-rate",
                "cannot be combined with --fixed-schedule",
            ));
        }
        return Ok(LoadMode::FixedSchedule {
            auto_offset: args.fixed_schedule_start_offset.is_none(),
            start_offset_ms: args.fixed_schedule_start_offset,
            end_offset_ms: args.fixed_schedule_end_offset,
            cap: args.concurrency,
        });
    }
    if let Some(rate) = args.user_centric_rate {
        positive("--user-centric-rate", rate)?;
        let Some(users) = args.num_users else {
            return Err(invalid("--user-centric-rate", "requires --num-users"));
        };
        if users == 0 {
            return Err(invalid("--num-users", "must be >= 1"));
        }
        if args.request_rate.is_some() {
            return Err(invalid(
                "--user-centric-rate",
                "cannot be combined with --request-rate",
            ));
        }
        if args.turn_mean < 2.0 && args.input_file.is_none() {
            return Err(invalid("--user-centric-rate", "User-centric rate mode requires --session-turns-mean >= 2. For single-turn workloads, use --request-rate instead."));
        }
        if let Some(s) = args.conversation_num.filter(|s| *s < users) {
            return Err(invalid(
                "--num-sessions",
                format!("--num-sessions ({s}) must be >= --num-users ({users})"),
            ));
        }
        if let Some(r) = args.request_count.filter(|r| *r < users as u64) {
            return Err(invalid(
                "--request-count",
                format!("--request-count ({r}) must be >= --num-users ({users})"),
            ));
        }
        return Ok(LoadMode::UserCentric { rate, users });
    }
    match args.request_rate {
        Some(rate) => {
            positive("--request-rate", rate)?;
            let pattern = match (&args.arrival_pattern, args.arrival_smoothness) {
                (Some(p), _) => p.clone(),
                (None, Some(_)) => "gamma".to_string(),
                (None, None) => "poisson".to_string(),
            };
            if pattern == "concurrency_burst" {
                return Err(invalid("--arrival-pattern", "concurrency_burst has no rate; drop --request-rate or choose constant, poisson or gamma"));
            }
            if args.concurrency_ramp_duration.is_some() && args.concurrency.is_none() {
                return Err(invalid(
                    "--concurrency-ramp-duration",
                    "requires --concurrency",
                ));
            }
            Ok(LoadMode::Rate {
                rate,
                pattern,
                smoothness: args.arrival_smoothness,
                cap: args.concurrency,
                ramp_s: args.request_rate_ramp_duration,
            })
        }
        None => {
            if args.request_rate_ramp_duration.is_some() {
                return Err(invalid(
                    "--request-rate-ramp-duration",
                    "can only be used with rate-controlled scheduling (--request-rate)",
                ));
            }
            if args
                .arrival_pattern
                .as_deref()
                .is_some_and(|p| p != "concurrency_burst")
                || args.arrival_smoothness.is_some()
            {
                return Err(invalid("--arrival-pattern", "requires --request-rate"));
            }
            Ok(LoadMode::Concurrency {
                concurrency: args.concurrency.unwrap_or(1),
                ramp_s: args.concurrency_ramp_duration,
            })
        }
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

/// AIPerf's `--extra-inputs`: `key:value` items with values coerced (int, float, bool, JSON
/// array/object, else string), or one whole-argument JSON object.
pub fn parse_extra_inputs(items: &[String]) -> Result<Map<String, Value>, ConfigError> {
    let mut out = Map::new();
    for item in items {
        let trimmed = item.trim();
        if trimmed.starts_with('{') {
            match serde_json::from_str::<Value>(trimmed) {
                Ok(Value::Object(obj)) => {
                    out.extend(obj);
                    continue;
                }
                _ => {
                    return Err(invalid(
                        "--extra-inputs",
                        format!("'{item}' is not a valid JSON object"),
                    ))
                }
            }
        }
        let Some((key, value)) = trimmed.split_once(':') else {
            return Err(invalid(
                "--extra-inputs",
                format!("'{item}': expected key:value or a JSON object"),
            ));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(invalid("--extra-inputs", format!("'{item}': empty key")));
        }
        out.insert(key.to_string(), coerce(value.trim()));
    }
    Ok(out)
}

fn coerce(v: &str) -> Value {
    if let Ok(i) = v.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(f) = v.parse::<f64>() {
        if f.is_finite() {
            return Value::from(f);
        }
    }
    match v.to_ascii_lowercase().as_str() {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if v.starts_with('[') {
        if let Ok(arr @ Value::Array(_)) = serde_json::from_str::<Value>(v) {
            return arr;
        }
    }
    Value::String(v.to_string())
}

fn parse_header(h: &str) -> Result<(String, String), ConfigError> {
    match h.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() && !name.trim().contains(' ') => {
            Ok((name.trim().to_string(), value.trim().to_string()))
        }
        _ => Err(invalid(
            "--header",
            format!("'{}': expected Name:Value", redact_header_text(h)),
        )),
    }
}

fn redact_header_text(h: &str) -> String {
    match h.split_once(':') {
        Some((n, _)) => format!("{n}:<redacted>"),
        None => h.chars().take(40).collect(),
    }
}

/// Header names whose values are secrets.
pub fn is_sensitive_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization"
        || n == "proxy-authorization"
        || n.contains("api-key")
        || n.contains("apikey")
        || n.contains("token")
        || n.contains("secret")
        || n == "cookie"
}

/// The command line with the values of `--api-key` and credential headers replaced.
pub fn redact_command(argv: &[String]) -> String {
    let mut out = Vec::with_capacity(argv.len());
    let mut redact_next = false;
    let mut header_next = false;
    for a in argv {
        if redact_next {
            out.push("<redacted>".to_string());
            redact_next = false;
            continue;
        }
        if header_next {
            header_next = false;
            out.push(redact_header_arg(a));
            continue;
        }
        if a == "--api-key" {
            redact_next = true;
            out.push(a.clone());
        } else if let Some(_v) = a.strip_prefix("--api-key=") {
            out.push("--api-key=<redacted>".to_string());
        } else if a == "--header" || a == "-H" {
            header_next = true;
            out.push(a.clone());
        } else if let Some(v) = a.strip_prefix("--header=") {
            out.push(format!("--header={}", redact_header_arg(v)));
        } else {
            out.push(a.clone());
        }
    }
    out.join(" ")
}

fn redact_header_arg(h: &str) -> String {
    match h.split_once(':') {
        Some((n, _)) if is_sensitive_header(n.trim()) => format!("{n}:<redacted>"),
        _ => h.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn resolve(args: &[&str]) -> Result<ProfileConfig, ConfigError> {
        let mut full = vec!["aiperf", "profile"];
        full.extend_from_slice(args);
        let argv: Vec<String> = full.iter().map(|s| s.to_string()).collect();
        let Command::Profile(p) = Cli::try_parse_from(&full).unwrap().command else {
            unreachable!()
        };
        ProfileConfig::resolve(*p, &argv, &Registry::builtin())
    }

    fn err(args: &[&str]) -> String {
        resolve(args).unwrap_err().to_string()
    }

    #[test]
    fn conversation_media_and_user_centric_flags() {
        let c = resolve(&[
            "-m",
            "a",
            "--num-sessions",
            "7",
            "--session-turns-mean",
            "3",
            "--session-turn-delay-mean",
            "50",
            "--image-width-mean",
            "64",
            "--image-height-mean",
            "32",
            "--audio-length-mean",
            "1",
            "--audio-sample-rates",
            "8,16",
        ])
        .unwrap();
        assert_eq!(
            c.num_dataset_entries, 7,
            "--num-sessions sizes the synthetic dataset"
        );
        assert_eq!(c.conversation.conversation_num, Some(7));
        assert_eq!(c.conversation.turn_mean, 3.0);
        assert_eq!(c.conversation.delay_mean_ms, 50.0);
        assert_eq!(c.conversation.images.as_ref().unwrap().width_mean, 64.0);
        assert_eq!(
            c.conversation.audio.as_ref().unwrap().sample_rates_khz,
            [8.0, 16.0]
        );
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
        assert_eq!(
            u.load,
            LoadMode::UserCentric {
                rate: 5.0,
                users: 2
            }
        );
        assert_eq!(
            u.grace_period_s, None,
            "user-centric waits for every user by default"
        );
        assert!(u
            .artifact_dir
            .ends_with("a-openai-chat-user_centric_rate5-users2"));
        let cases: [(&[&str], &str); 9] = [
            (&["--num-users", "4"], "--num-users: requires --user-centric-rate"),
            (&["--user-centric-rate", "5", "--num-users", "2"], "--user-centric-rate: User-centric rate mode requires --session-turns-mean >= 2. For single-turn workloads, use --request-rate instead."),
            (&["--user-centric-rate", "5", "--num-users", "4", "--session-turns-mean", "2", "--num-sessions", "3"], "--num-sessions: --num-sessions (3) must be >= --num-users (4)"),
            (&["--user-centric-rate", "5", "--num-users", "4", "--session-turns-mean", "2", "--request-count", "3"], "--request-count: --request-count (3) must be >= --num-users (4)"),
            (&["--prefix-prompt-length", "10"], "--prefix-prompt-length: requires --num-prefix-prompts >= 1"),
            (&["--num-prefix-prompts", "2", "--prefix-prompt-length", "10", "--shared-system-prompt-length", "5"], "--num-prefix-prompts: cannot be combined with --shared-system-prompt-length or --user-context-prompt-length (choose one prefix scheme)"),
            (&["--audio-length-mean", "1", "--audio-format", "mp3"], "--audio-format: 'mp3' is not available in this build (available: wav)"),
            (&["--image-width-mean", "8", "--image-height-mean", "8", "--image-format", "gif"], "--image-format: 'gif': choose png, jpeg or random"),
            (&["--public-dataset", "aimo"], "--public-dataset: 'aimo' is not available in this build (available: sharegpt)"),
        ];
        for (extra, want) in cases {
            let mut a = vec!["-m", "a"];
            a.extend_from_slice(extra);
            assert_eq!(err(&a), want, "{extra:?}");
        }
        assert!(err(&["-m", "a", "--session-turns-mean", "0.5"])
            .starts_with("--conversation-turn-mean: must be >= 1"));
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
        assert_eq!(c.sampling, "shuffle");
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
    fn load_modes_follow_aiperf_rules() {
        let c = resolve(&["-m", "a", "--request-rate", "12.5"]).unwrap();
        assert_eq!(
            c.load,
            LoadMode::Rate {
                rate: 12.5,
                pattern: "poisson".into(),
                smoothness: None,
                cap: None,
                ramp_s: None
            }
        );
        assert_eq!(
            c.artifact_dir,
            PathBuf::from("artifacts/a-openai-chat-request_rate12.5")
        );
        let c = resolve(&[
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
        assert!(
            matches!(c.load, LoadMode::Rate { ref pattern, smoothness: Some(_), cap: Some(4), .. } if pattern == "gamma")
        );
        assert_eq!(
            c.artifact_dir,
            PathBuf::from("artifacts/a-openai-chat-concurrency4-request_rate10")
        );
        let c = resolve(&[
            "-m",
            "a",
            "--concurrency",
            "3",
            "--concurrency-ramp-duration",
            "2",
        ])
        .unwrap();
        assert_eq!(
            c.load,
            LoadMode::Concurrency {
                concurrency: 3,
                ramp_s: Some(2.0)
            }
        );
        let c = resolve(&[
            "-m",
            "a",
            "--request-cancellation-rate",
            "10",
            "--request-cancellation-delay",
            "0.5",
        ])
        .unwrap();
        assert_eq!(c.cancellation, Some((10.0, 0.5)));
    }

    #[test]
    fn streaming_is_forced_off_for_embeddings() {
        let c = resolve(&["-m", "e", "--endpoint-type", "embeddings", "--streaming"]).unwrap();
        assert!(!c.streaming);
        assert!(c.warnings.iter().any(|w| w.contains("--streaming ignored")));
    }

    #[test]
    fn extra_inputs_are_coerced() {
        let m = parse_extra_inputs(&[
            "temperature:0.7".into(),
            "max_new:5".into(),
            "ignore_eos:true".into(),
            "stop:[\"a\"]".into(),
            "name:hello:world".into(),
            r#"{"top_p": 0.9}"#.into(),
        ])
        .unwrap();
        assert_eq!(
            Value::Object(m),
            serde_json::json!({"temperature": 0.7, "max_new": 5, "ignore_eos": true, "stop": ["a"], "name": "hello:world", "top_p": 0.9})
        );
    }

    #[test]
    fn secrets_are_redacted_from_the_command() {
        let argv: Vec<String> = [
            "aiperf",
            "profile",
            "--api-key",
            "sk-123",
            "-H",
            "Authorization:Bearer x",
            "-H",
            "X-Trace:1",
            "--api-key=sk-9",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let c = redact_command(&argv);
        assert!(
            !c.contains("sk-123") && !c.contains("sk-9") && !c.contains("Bearer"),
            "{c}"
        );
        assert!(c.contains("X-Trace:1"));
    }
}
