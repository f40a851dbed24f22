//! `input_config` and `run_info`: the echo of what was benchmarked, in the summary JSON and the
//! timeslices JSON.
//!
//! Typed so the engine fills values and this crate alone decides names, order and what is written
//! as `null`: every `Option` here is written (as `null` when absent), because readers of AIPerf's
//! files look these keys up unconditionally.

use aiperf_config::LoadMode;
use std::collections::BTreeMap;
use std::path::PathBuf;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The run's settings, as far as they shape the numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct InputConfig {
    pub models: Vec<String>,
    pub endpoint: EndpointConfig,
    pub tokenizer: TokenizerConfig,
    /// One entry today; a list because AIPerf allows several.
    pub datasets: Vec<DatasetConfig>,
    pub phases: Phases,
    pub artifacts: Artifacts,
}

/// Where requests went and how they were shaped. Secrets are already redacted by the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct EndpointConfig {
    /// The `endpoint` plugin name (`chat`, `completions`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    pub urls: Vec<String>,
    pub custom_endpoint: Option<String>,
    pub streaming: bool,
    /// Request timeout, seconds.
    pub timeout: f64,
    pub use_legacy_max_tokens: bool,
    pub use_server_token_count: bool,
    /// `--extra-inputs`, merged into every request body as given.
    pub extra: Map<String, Value>,
    /// `--header` name to value, sensitive values as `<redacted>`.
    pub headers: IndexMap<String, String>,
    /// `<redacted>` when an API key was given.
    pub api_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TokenizerConfig {
    /// The tokenizer asked for: `--tokenizer`, else the first model's name.
    pub name: String,
    pub revision: String,
    /// The tokenizer that counted tokens (`builtin` for the bundled o200k_base).
    pub used: String,
    /// Whether `used` stands in for `name` because `name` could not be loaded: token counts
    /// then come from another vocabulary than the model's.
    pub fallback: bool,
    /// Why `name` could not be loaded when `fallback` is true (the Hub's HTTP status, offline,
    /// a network error, not a Hub id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
}

/// The dataset: a file and its format, or what was synthesized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DatasetConfig {
    File {
        path: PathBuf,
        /// `custom_dataset_loader` plugin name.
        format: Option<String>,
        entries: usize,
        sampling: String,
    },
    /// `--public-dataset NAME` read straight from the Hub (no local file): AIPerf's `dataset`
    /// field names it (`speed-bench-report` reads its category from there).
    Public {
        dataset: String,
        entries: usize,
        sampling: String,
    },
    Synthetic(Box<SyntheticDataset>),
}

/// Synthetic prompts, turns and media.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SyntheticDataset {
    pub entries: usize,
    pub sampling: String,
    pub prompts: Prompts,
    pub turns: MeanStddev,
    pub turn_delay_ms: TurnDelay,
    pub prefix_prompts: Option<PrefixPrompts>,
    pub shared_system_prompt_length: Option<usize>,
    pub user_context_prompt_length: Option<usize>,
    /// Whether a system prompt (text or file) was given; its text is not echoed.
    pub system_prompt: bool,
    pub images: Option<Images>,
    pub audio: Option<Audio>,
    /// Synthetic video clips (`--video-*`).
    pub video: Option<Video>,
    /// Rankings requests (`--rankings-*`), when the endpoint ranks passages: then each entry
    /// is a query and passages instead of `prompts`.
    pub rankings: Option<Rankings>,
}

/// Synthetic video clips per turn, as ffmpeg encodes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Video {
    pub batch_size: usize,
    pub duration_s: f64,
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    /// `moving_shapes`, `grid_clock` or `noise`.
    pub synth_type: String,
    /// Container: `webm` or `mp4`.
    pub format: String,
    pub codec: String,
    /// The muxed audio track, if any.
    pub audio: Option<VideoAudio>,
}

/// The audio track of synthetic clips.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct VideoAudio {
    pub sample_rate_hz: u32,
    pub channels: u16,
    pub depth: u16,
    pub codec: String,
}

/// Synthetic rankings requests, token lengths per text.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Rankings {
    /// Passages per request.
    pub passages: MeanStddev,
    pub passage_tokens: MeanStddev,
    pub query_tokens: MeanStddev,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct MeanStddev {
    pub mean: f64,
    pub stddev: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Prompts {
    /// Input sequence length, tokens.
    pub isl: MeanStddev,
    /// Output sequence length, tokens, when requested.
    pub osl: Option<MeanStddev>,
    pub batch_size: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TurnDelay {
    pub mean: f64,
    pub stddev: f64,
    pub ratio: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PrefixPrompts {
    pub pool_size: usize,
    pub length: usize,
}

/// Synthetic images per turn (pixels).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Images {
    pub width: MeanStddev,
    pub height: MeanStddev,
    pub batch_size: usize,
    /// `png`, `jpeg` or `random`.
    pub format: String,
}

/// Synthetic audio clips per turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Audio {
    pub length_s: MeanStddev,
    pub sample_rates_khz: Vec<f64>,
    pub depths: Vec<u16>,
    pub channels: u16,
    pub batch_size: usize,
}

/// The timing mode's name (`input_config.phases.*.type`, `load_report.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimingMode {
    Concurrency,
    RequestRate,
    FixedSchedule,
    UserCentricRate,
}

impl From<&LoadMode> for TimingMode {
    fn from(mode: &LoadMode) -> Self {
        match mode {
            LoadMode::Concurrency { .. } => Self::Concurrency,
            LoadMode::Rate { .. } => Self::RequestRate,
            LoadMode::FixedSchedule { .. } => Self::FixedSchedule,
            LoadMode::UserCentric { .. } => Self::UserCentricRate,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Phases {
    /// Present when a warmup was asked for.
    pub warmup: Option<WarmupPhase>,
    pub profiling: ProfilingPhase,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct WarmupPhase {
    #[serde(rename = "type")]
    pub mode: TimingMode,
    pub concurrency: usize,
    pub requests: Option<u64>,
    /// Seconds.
    pub duration: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ProfilingPhase {
    #[serde(rename = "type")]
    pub mode: TimingMode,
    pub concurrency: usize,
    pub requests: Option<u64>,
    /// `--conversation-num`.
    pub sessions: Option<usize>,
    /// Seconds.
    pub duration: Option<f64>,
    pub grace_period: Option<f64>,
    pub load: LoadConfig,
}

/// The timing mode's own settings; which keys appear says which mode ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum LoadConfig {
    Concurrency {
        concurrency: usize,
        /// Seconds.
        ramp_duration: Option<f64>,
    },
    RequestRate {
        request_rate: f64,
        /// `constant`, `poisson` or `gamma`.
        arrival_pattern: String,
        arrival_smoothness: Option<f64>,
        max_concurrency: Option<usize>,
        ramp_duration: Option<f64>,
    },
    FixedSchedule {
        auto_offset: bool,
        start_offset_ms: Option<i64>,
        end_offset_ms: Option<i64>,
        max_concurrency: Option<usize>,
    },
    UserCentric {
        user_centric_rate: f64,
        num_users: usize,
    },
}

impl From<&LoadMode> for LoadConfig {
    fn from(mode: &LoadMode) -> Self {
        match mode {
            LoadMode::Concurrency {
                concurrency,
                ramp_s,
            } => Self::Concurrency {
                concurrency: *concurrency,
                ramp_duration: *ramp_s,
            },
            LoadMode::Rate {
                rate,
                pattern,
                smoothness,
                cap,
                ramp_s,
            } => Self::RequestRate {
                request_rate: *rate,
                arrival_pattern: pattern.name().to_string(),
                arrival_smoothness: *smoothness,
                max_concurrency: *cap,
                ramp_duration: *ramp_s,
            },
            LoadMode::FixedSchedule {
                auto_offset,
                start_offset_ms,
                end_offset_ms,
                cap,
            } => Self::FixedSchedule {
                auto_offset: *auto_offset,
                start_offset_ms: *start_offset_ms,
                end_offset_ms: *end_offset_ms,
                max_concurrency: *cap,
            },
            LoadMode::UserCentric { rate, users } => Self::UserCentric {
                user_centric_rate: *rate,
                num_users: *users,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Artifacts {
    pub dir: PathBuf,
}

/// Identity of this run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RunInfo {
    pub benchmark_id: String,
    /// One id for every run of a sweep or repetition; absent for a plain run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep_id: Option<String>,
    pub random_seed: u64,
    /// Zero-based trial within the variation.
    pub trial: u32,
    /// `run_NNNN` (multi-run only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_label: Option<String>,
    /// `path=value, ...`, or `base` without a sweep (multi-run only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variation_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variation_index: Option<usize>,
    /// The sweep point as `{path: value}`; empty without a sweep (multi-run only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variation_values: Option<BTreeMap<String, Value>>,
    /// The command line, secrets redacted.
    pub cli_command: String,
}

impl RunInfo {
    /// The identity of a run as its configuration names it.
    pub fn new(
        benchmark_id: String,
        random_seed: u64,
        run: &aiperf_config::resolve::RunIdentity,
        cli_command: String,
    ) -> Self {
        let multi = run.multi.as_ref();
        Self {
            benchmark_id,
            sweep_id: multi.map(|m| m.sweep_id.clone()),
            random_seed,
            trial: run.trial,
            run_label: multi.map(|m| m.run_label.clone()),
            variation_label: multi.map(|m| m.variation_label.clone()),
            variation_index: multi.map(|m| m.variation_index),
            variation_values: multi.map(|m| {
                m.variation_values
                    .iter()
                    .map(|(path, v)| (path.to_string(), v.to_json()))
                    .collect()
            }),
            cli_command,
        }
    }
}
