//! Clap definitions only: names, aliases, defaults and help text. No I/O, no validation beyond
//! parsing single values.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

pub use crate::magic_list::{One, Sweepable};

mod accuracy;
mod agentic_replay;
#[cfg(test)]
mod aiperf_flags;
mod analyze;
mod chat;
mod completions;
mod control;
mod distributed;
mod media;
mod network;
mod observability;
mod output;
mod process;
mod search;
mod shaping;
mod speed_bench;
mod trace_replay;
mod trace_tools;
mod tracking;

pub use accuracy::AccuracyArgs;
pub use agentic_replay::AgenticReplayArgs;
pub use analyze::{AnalyzeCommand, SwimLaneArgs, TurnMessagesArgs};
pub use chat::ChatArgs;
pub use completions::CompletionsArgs;
pub use control::ControlArgs;
pub use distributed::{
    KubeCommand, KubeGenerateArgs, MergeArgs, ShardArgs, SlurmCommand, SlurmGenerateArgs, WatchArgs,
};
pub use media::MediaArgs;
pub use network::NetworkArgs;
pub use observability::ObservabilityArgs;
pub use output::OutputArgs;
pub use process::ProcessArgs;
pub use search::SearchArgs;
pub use shaping::ShapingArgs;
pub use speed_bench::SpeedBenchReportArgs;
pub use trace_replay::TraceReplayArgs;
pub use trace_tools::{AnalyzeTraceArgs, SynthesizeArgs, ValidateArgs};
pub use tracking::TrackingArgs;

/// NVIDIA AIPerf-compatible benchmarking of generative-AI inference servers.
#[derive(Debug, Parser)]
#[command(
    name = "aiperf",
    version,
    about = "AIPerf in Rust - AI Performance Benchmarking Tool",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a benchmark against an inference server.
    Profile(Box<ProfileArgs>),
    /// List and inspect plugins: packages, categories, entries.
    Plugins(PluginsArgs),
    /// Compare result directories: per-metric change from the first and its significance.
    Compare(CompareArgs),
    /// Draw charts and a self-contained report.html from run directories (one run: per-request
    /// charts over time; several runs or a sweep: latency vs throughput, Pareto front).
    Plot(PlotArgs),
    /// YAML run files: templates, validation, expansion, the schema.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Summarise a trace file: ISL/OSL distributions and prefix-cache hit rate per block size.
    AnalyzeTrace(AnalyzeTraceArgs),
    /// Check a trace file against a format before running it.
    Validate(ValidateArgs),
    /// Write a synthetic trace (an agentic-coding workload) to replay.
    Synthesize(SynthesizeArgs),
    /// Rebuild one run from the shards of a distributed run, exactly (never by averaging).
    Merge(MergeArgs),
    /// Show the combined progress of a distributed run's shards while they run.
    Watch(WatchArgs),
    /// Kubernetes: generate the Indexed Job of a sharded run; collect and merge its results.
    #[command(subcommand)]
    Kube(KubeCommand),
    /// Slurm: generate the sbatch script of a sharded run.
    #[command(subcommand)]
    Slurm(SlurmCommand),
    /// Chat with a server interactively, timing each answer (TTFT, tokens/s, latency).
    Chat(ChatArgs),
    /// Views over a finished run's records: swim lanes, turn messages.
    #[command(subcommand)]
    Analyze(AnalyzeCommand),
    /// Matrix report over SPEED-Bench category runs (speculative decoding).
    SpeedBenchReport(SpeedBenchReportArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
}

/// `aiperf config ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum ConfigCommand {
    /// Print a template run file (`aiperf config init --list` names them).
    Init {
        /// Template name (default: minimal).
        #[arg(value_name = "TEMPLATE")]
        name: Option<String>,
        /// Template name (the named form of TEMPLATE, as AIPerf spells it).
        #[arg(long, short = 't', conflicts_with = "name")]
        template: Option<String>,
        /// List the templates, by category.
        #[arg(long, short = 'l')]
        list: bool,
        /// List the templates whose name, title, description or tags contain KEYWORD.
        #[arg(long, short = 's', value_name = "KEYWORD")]
        search: Option<String>,
        /// With --list: only this category (e.g. "Load Testing").
        #[arg(long, short = 'c')]
        category: Option<String>,
        /// With --list or --search: also the tags and difficulty.
        #[arg(long, short = 'v')]
        verbose: bool,
        /// Put this model name in the template.
        #[arg(long, short = 'm')]
        model: Option<String>,
        /// Put this endpoint URL in the template.
        #[arg(long, short = 'u')]
        url: Option<String>,
        /// Write to this file instead of standard output (refuses to overwrite).
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
    /// Check a run file: every key, value and resulting run, without contacting a server.
    Validate { file: PathBuf },
    /// Print the `aiperf profile` arguments a run file stands for (`--format yaml`: the file
    /// as this build reads it, defaults left out).
    Expand {
        file: PathBuf,
        /// args (the command line), yaml (the file as read), text (AIPerf's name for args) or
        /// json (the arguments as a JSON array).
        #[arg(long, short = 'f', default_value = "args", value_parser = ["args", "yaml", "text", "json"])]
        format: String,
        /// Accepted for AIPerf's command lines: the arguments are always the full run.
        #[arg(long, short = 'F')]
        full: bool,
        /// Only the variation at this zero-based index of a sweep, as its own arguments.
        #[arg(long, short = 'i')]
        index: Option<usize>,
    },
    /// Print the JSON Schema of run files.
    Schema,
}

/// `aiperf compare BASELINE CANDIDATE... [--fail-if COND]...`.
#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// Result directories (a run's artifact dir, or a repeated run's base dir with
    /// `profile_runs/`); the first is the baseline.
    #[arg(required = true, num_args = 2..)]
    pub dirs: Vec<PathBuf>,
    /// Exit 1 when a candidate meets this condition: `STAT(METRIC) OP VALUE` with a relative
    /// change (`'p99(time_to_first_token) > +5%'`), a signed change in the metric's unit
    /// (`> +20`) or a level (`< 100`). Repeatable.
    #[arg(long, action = ArgAction::Append)]
    pub fail_if: Vec<String>,
    /// Metric tags to show (default: TTFT, ITL, request latency, output and request throughput).
    #[arg(long, value_delimiter = ',')]
    pub metrics: Vec<String>,
    /// Confidence level of the significance tests.
    #[arg(long, default_value_t = 0.95)]
    pub confidence_level: f64,
}

/// `aiperf plot [PATHS...]`.
#[derive(Debug, Clone, Args)]
pub struct PlotArgs {
    /// Run directories, or directories to search for runs (sweeps, repeated runs).
    #[arg(default_value = "./artifacts")]
    pub paths: Vec<PathBuf>,
    /// The named form of PATHS (AIPerf's `--paths`); wins over the positional ones.
    #[arg(long = "paths", value_name = "PATH", num_args = 1..)]
    pub named_paths: Vec<PathBuf>,
    /// Where to write (default: `<first path>/plots`).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Colours of the images: light or dark (the report follows the viewer's setting and has
    /// a switch).
    #[arg(long, default_value = "light", value_parser = ["light", "dark"], ignore_case = true)]
    pub theme: String,
    /// Files to write: png, svg, html (default all three).
    #[arg(long, value_delimiter = ',', default_value = "png,svg,html")]
    pub format: Vec<String>,
    /// Group runs for comparison: `NAME=GLOB` on the run directory's name or path (first match
    /// wins); repeatable. `baseline=*base*` draws matching runs as the baseline.
    #[arg(long, action = ArgAction::Append, value_name = "NAME=GLOB")]
    pub group: Vec<String>,
    /// An AIPerf plot config (YAML); its `experiment_classification` baselines and treatments
    /// globs group the runs.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Image width in pixels.
    #[arg(long, default_value_t = 1600, value_parser = clap::value_parser!(u32).range(200..=8000))]
    pub width: u32,
    /// Image height in pixels.
    #[arg(long, default_value_t = 800, value_parser = clap::value_parser!(u32).range(150..=8000))]
    pub height: u32,
    /// Serve the report on http://HOST:PORT and redraw it while runs in the paths change.
    #[arg(long, visible_alias = "dashboard")]
    pub serve: bool,
    /// Address for --serve.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port for --serve (0 picks a free one).
    #[arg(long, default_value_t = 8050)]
    pub port: u16,
    /// More detail on what was found and skipped.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Upload the files drawn to the run's MLflow run (named by `mlflow_export.json` in the one
    /// run directory, or by the two flags below).
    #[arg(long, conflicts_with = "serve")]
    pub mlflow_upload: bool,
    /// The MLflow server for --mlflow-upload (default: the one in `mlflow_export.json`).
    #[arg(long, value_name = "URL", requires = "mlflow_upload")]
    pub mlflow_tracking_uri: Option<String>,
    /// The MLflow run for --mlflow-upload (default: the one in `mlflow_export.json`).
    #[arg(long, value_name = "ID", requires = "mlflow_upload")]
    pub mlflow_run_id: Option<String>,
}

impl PlotArgs {
    /// The run directories: `--paths` when given, else the positional paths.
    pub fn run_dirs(&self) -> &[PathBuf] {
        if self.named_paths.is_empty() {
            &self.paths
        } else {
            &self.named_paths
        }
    }
}

/// `aiperf plugins [CATEGORY] [NAME] [--all] [--validate]`.
#[derive(Debug, Clone, Args)]
pub struct PluginsArgs {
    /// A category (e.g. `endpoint`) to list its entries.
    pub category: Option<String>,
    /// An entry of that category to show in detail.
    pub name: Option<String>,
    /// Every category with its entries (internal ones included).
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Check every manifest entry; exits non-zero on problems.
    #[arg(long, short = 'v')]
    pub validate: bool,
}

/// `aiperf profile` options, grouped as AIPerf's `--help` groups them.
#[derive(Debug, Clone, Args)]
pub struct ProfileArgs {
    // ---- Config ----
    /// A YAML run file (AIPerf schema 2.0); flags given on the command line override it.
    #[arg(long = "config", short = 'f', help_heading = "Config")]
    pub config: Option<PathBuf>,

    // ---- Endpoint ----
    /// Model name(s) to be benchmarked (repeat the flag or separate with commas).
    #[arg(long = "model-names", visible_aliases = ["model"], short = 'm', action = ArgAction::Append,
          value_delimiter = ',', help_heading = "Endpoint")]
    pub model_names: Vec<String>,
    /// When multiple models are specified, this is how a specific model should be assigned to
    /// a prompt: round_robin (by session number) or random (a seeded pick per session; a
    /// session's turns keep one model). weighted needs per-model weights, which the command
    /// line cannot give.
    #[arg(long, default_value = "round_robin", value_parser = ["round_robin", "random", "weighted"],
          ignore_case = true, help_heading = "Endpoint")]
    pub model_selection_strategy: String,
    /// Set a custom API endpoint path (e.g. /v1/custom); overrides the endpoint type's path.
    #[arg(
        long = "custom-endpoint",
        visible_alias = "endpoint",
        help_heading = "Endpoint"
    )]
    pub custom_endpoint: Option<String>,
    /// The API endpoint type to benchmark (`aiperf plugins endpoint` lists them).
    #[arg(long, default_value = "chat", help_heading = "Endpoint")]
    pub endpoint_type: String,
    /// Enable streaming responses.
    #[arg(long, help_heading = "Endpoint")]
    pub streaming: bool,
    /// Base URL(s) of the API server(s) to benchmark (repeat the flag or separate with commas;
    /// requests go round-robin). `user:password@` in a URL is sent as HTTP Basic auth.
    #[arg(long, short = 'u', action = ArgAction::Append, value_delimiter = ',',
          default_value = "http://localhost:8000", help_heading = "Endpoint")]
    pub url: Vec<String>,
    /// How requests pick among several --url values: round_robin (by session number, so a
    /// session keeps its server; the registry's `url_selection_strategy`).
    #[arg(long, default_value = "round_robin", value_parser = ["round_robin"], ignore_case = true,
          help_heading = "Endpoint")]
    pub url_strategy: String,
    /// Maximum time in seconds to wait for each HTTP request to complete.
    #[arg(long, default_value_t = 21600.0, help_heading = "Endpoint")]
    pub request_timeout_seconds: f64,
    /// API authentication key for the endpoint (sent as a Bearer token; never logged).
    #[arg(
        long,
        env = "AIPERF_API_KEY",
        hide_env_values = true,
        help_heading = "Endpoint"
    )]
    pub api_key: Option<String>,
    /// Use the legacy 'max_tokens' field instead of 'max_completion_tokens' in chat payloads.
    #[arg(long, help_heading = "Endpoint")]
    pub use_legacy_max_tokens: bool,
    /// Use server-reported token counts from API usage fields instead of client-side tokenization.
    #[arg(long, help_heading = "Endpoint")]
    pub use_server_token_count: bool,
    /// Ask for cumulative usage on every streamed chunk (stream_options.continuous_usage_stats), so
    /// ITL can discount exactly the tokens of the first chunk.
    #[arg(long, help_heading = "Endpoint")]
    pub per_chunk_usage: bool,

    /// Seconds to wait for endpoint readiness before benchmarking (0 = skip).
    #[arg(long, default_value_t = 0.0, help_heading = "Endpoint")]
    pub wait_for_model_timeout: f64,
    /// How readiness is probed: `models` (GET /v1/models), `inference` (a one-token request),
    /// or `both`.
    #[arg(long, default_value = "inference", value_parser = ["models", "inference", "both"], help_heading = "Endpoint")]
    pub wait_for_model_mode: String,
    /// Seconds between endpoint readiness probe attempts.
    #[arg(long, default_value_t = 5.0, help_heading = "Endpoint")]
    pub wait_for_model_interval: f64,
    /// Transport connection reuse: `pooled` (shared keep-alive pool), `never` (a new
    /// connection per request), `sticky-user-sessions` (one connection per conversation).
    #[arg(long, default_value = "pooled", value_parser = ["pooled", "never", "sticky-user-sessions"], help_heading = "Endpoint")]
    pub connection_reuse_strategy: String,
    /// HTTP header that carries the per-session id (default X-Correlation-ID).
    #[arg(long, help_heading = "Endpoint")]
    pub session_header: Option<String>,
    /// For video generation endpoints, download the video content after generation completes.
    #[arg(long, help_heading = "Endpoint")]
    pub download_video_content: bool,
    /// Request body encoding: application/json or multipart/form-data (default: what the
    /// endpoint takes; giving the other one is refused).
    #[arg(long, value_parser = ["application/json", "multipart/form-data"], help_heading = "Endpoint")]
    pub request_content_type: Option<String>,
    /// vLLM multimodal cache: send an image whose `image_uuids` id an earlier turn of the
    /// session already sent as a bare reference (chat endpoint, single_turn datasets).
    #[arg(long, help_heading = "Endpoint")]
    pub uuid_and_strip: bool,
    /// Seconds between status polls of asynchronous jobs (video generation).
    #[arg(long, default_value_t = 0.5, help_heading = "Endpoint")]
    pub job_poll_interval: f64,
    /// Speak HTTP/2 (h2c prior knowledge on http://, ALPN on https://) instead of HTTP/1.1.
    #[arg(long, help_heading = "Endpoint")]
    pub http2: bool,
    /// Accept any TLS certificate (self-signed test servers); the connection stays encrypted.
    #[arg(long, help_heading = "Endpoint")]
    pub insecure: bool,

    // ---- Tokenizer ----
    /// HuggingFace tokenizer id (from the HF cache, else downloaded from the Hub; HF_ENDPOINT,
    /// HF_TOKEN, HF_HUB_OFFLINE apply), local tokenizer.json or model directory, or `builtin`
    /// (o200k_base). Defaults to the model name, else builtin.
    #[arg(long, help_heading = "Tokenizer")]
    pub tokenizer: Option<String>,
    /// Tokenizer revision (branch, tag or commit) to look up in the Hugging Face cache or to
    /// download.
    #[arg(long, default_value = "main", help_heading = "Tokenizer")]
    pub tokenizer_revision: String,
    /// Accepted for compatibility, no effect: only tokenizer.json is read, which never runs
    /// code.
    #[arg(long, help_heading = "Tokenizer")]
    pub tokenizer_trust_remote_code: bool,
    /// Count input tokens of the prompt as the server sees it: the tokenizer's chat template
    /// applied to the messages sent (with the generation prompt).
    #[arg(long, help_heading = "Tokenizer")]
    pub apply_chat_template: bool,

    // ---- Input ----
    /// Additional request body fields, as `key:value` (repeatable) or one JSON object.
    #[arg(long, action = ArgAction::Append, help_heading = "Input")]
    pub extra_inputs: Vec<String>,
    /// Custom HTTP headers, as `Name:Value` (repeatable).
    #[arg(long, short = 'H', action = ArgAction::Append, help_heading = "Input")]
    pub header: Vec<String>,
    /// Random seed for deterministic data generation.
    #[arg(long, help_heading = "Input")]
    pub random_seed: Option<u64>,
    /// Strategy for selecting dataset entries: random, sequential, shuffle (default).
    #[arg(long, help_heading = "Input")]
    pub dataset_sampling_strategy: Option<String>,
    /// Path to a dataset file to send instead of synthetic prompts.
    #[arg(long, help_heading = "Input")]
    pub input_file: Option<PathBuf>,
    /// Format of --input-file (`aiperf plugins custom_dataset_loader` lists them).
    #[arg(long, help_heading = "Input")]
    pub custom_dataset_type: Option<String>,
    /// Pre-configured public dataset to download from the Hugging Face Hub and use (e.g.
    /// sharegpt, aimo, spec_al_gsm8k, spec_al_mtbench, instruct_coder, blazedit_5k); honours
    /// HF_ENDPOINT, HF_HUB_CACHE/HF_HOME, HF_HUB_OFFLINE and HF_TOKEN.
    #[arg(long, help_heading = "Input")]
    pub public_dataset: Option<String>,

    /// Hugging Face dataset subset/config name to override the public dataset's default (e.g.
    /// socratic for spec_al_gsm8k).
    #[arg(long, help_heading = "Input")]
    pub hf_subset: Option<String>,

    /// Hugging Face dataset repo for the generic Weka loader (weka_hf).
    #[arg(long, help_heading = "Input")]
    pub hf_weka_dataset: Option<String>,

    /// Dataset-specific filter in key=value form (repeatable).
    #[arg(long, action = ArgAction::Append, help_heading = "Input")]
    pub dataset_filter: Vec<String>,

    /// For weka_trace inputs, delay turns by the recorded think time only (not read by this
    /// build: weka traces are not supported yet).
    #[arg(long, help_heading = "Input")]
    pub use_think_time_only: bool,

    /// Maximum peak prompt+output context length per Weka root trace (weka traces are not
    /// supported yet).
    #[arg(long, help_heading = "Input")]
    pub max_context_length: Option<u64>,

    /// Let weka/agentic replay reuse traces across concurrency lanes (weka traces are not
    /// supported yet).
    #[arg(long, overrides_with = "no_allow_dataset_wrap", help_heading = "Input")]
    pub allow_dataset_wrap: bool,
    #[arg(long, hide = true)]
    pub no_allow_dataset_wrap: bool,

    // ---- Conversation Input ----
    /// The total number of unique conversations to generate (and, as a stop condition, the
    /// number of sessions to start).
    #[arg(long = "conversation-num", visible_aliases = ["num-conversations", "num-sessions"],
          help_heading = "Conversation Input")]
    pub conversation_num: Option<Sweepable<usize>>,
    /// Mean number of request-response turns per conversation.
    #[arg(
        long = "conversation-turn-mean",
        visible_alias = "session-turns-mean",
        default_value = "1",
        help_heading = "Conversation Input"
    )]
    pub turn_mean: Sweepable<f64>,
    /// Standard deviation for number of turns per conversation.
    #[arg(
        long = "conversation-turn-stddev",
        visible_alias = "session-turns-stddev",
        default_value_t = 0.0,
        help_heading = "Conversation Input"
    )]
    pub turn_stddev: f64,
    /// Mean delay in milliseconds between consecutive turns within a conversation.
    #[arg(
        long = "conversation-turn-delay-mean",
        visible_alias = "session-turn-delay-mean",
        default_value_t = 0.0,
        help_heading = "Conversation Input"
    )]
    pub turn_delay_mean: f64,
    /// Standard deviation for turn delays in milliseconds.
    #[arg(
        long = "conversation-turn-delay-stddev",
        visible_alias = "session-turn-delay-stddev",
        default_value_t = 0.0,
        help_heading = "Conversation Input"
    )]
    pub turn_delay_stddev: f64,
    /// Multiplier for scaling all turn delays within conversations.
    #[arg(
        long = "conversation-turn-delay-ratio",
        visible_alias = "session-delay-ratio",
        default_value_t = 1.0,
        help_heading = "Conversation Input"
    )]
    pub turn_delay_ratio: f64,
    /// Total number of unique entries to generate for the dataset.
    #[arg(
        long,
        visible_alias = "num-prompts",
        help_heading = "Conversation Input"
    )]
    pub num_dataset_entries: Option<usize>,

    // ---- Prompt ----
    /// Number of text inputs to include in each request.
    #[arg(long = "prompt-batch-size", visible_aliases = ["batch-size-text", "batch-size"], short = 'b',
          default_value_t = 1, help_heading = "Prompt")]
    pub prompt_batch_size: usize,

    // ---- Prefix Prompt ----
    /// Verbatim system prompt text, identical across every conversation.
    #[arg(long, help_heading = "Prefix Prompt")]
    pub system_prompt: Option<String>,
    /// Path to a UTF-8 text file holding the verbatim system prompt.
    #[arg(long, help_heading = "Prefix Prompt")]
    pub system_prompt_file: Option<PathBuf>,
    /// Number of distinct prefix prompts to generate for K-V cache testing.
    #[arg(long = "prompt-prefix-pool-size", visible_aliases = ["prefix-prompt-pool-size", "num-prefix-prompts"],
          default_value_t = 0, help_heading = "Prefix Prompt")]
    pub prefix_pool_size: usize,
    /// The number of tokens in each prefix prompt.
    #[arg(
        long = "prompt-prefix-length",
        visible_alias = "prefix-prompt-length",
        default_value_t = 0,
        help_heading = "Prefix Prompt"
    )]
    pub prefix_length: usize,
    /// Length of shared system prompt in tokens.
    #[arg(long, help_heading = "Prefix Prompt")]
    pub shared_system_prompt_length: Option<usize>,
    /// Length of per-session user context prompt in tokens.
    #[arg(long, help_heading = "Prefix Prompt")]
    pub user_context_prompt_length: Option<usize>,

    // ---- Audio Input ----
    /// The number of audio inputs to include in each request.
    #[arg(
        long,
        visible_alias = "batch-size-audio",
        default_value_t = 1,
        help_heading = "Audio Input"
    )]
    pub audio_batch_size: usize,
    /// Mean duration in seconds for synthetically generated audio files (0 disables audio).
    #[arg(long, default_value_t = 0.0, help_heading = "Audio Input")]
    pub audio_length_mean: f64,
    /// Standard deviation for synthetic audio duration in seconds.
    #[arg(long, default_value_t = 0.0, help_heading = "Audio Input")]
    pub audio_length_stddev: f64,
    /// File format for generated audio files: wav, or mp3 (encoded by ffmpeg).
    #[arg(long, default_value = "wav", help_heading = "Audio Input")]
    pub audio_format: String,
    /// Audio bit depths to randomly select from.
    #[arg(long, value_delimiter = ',', num_args = 1.., default_values_t = [16u16], help_heading = "Audio Input")]
    pub audio_depths: Vec<u16>,
    /// Audio sample rates in kHz to randomly select from.
    #[arg(long, value_delimiter = ',', num_args = 1.., default_values_t = [16.0f64], help_heading = "Audio Input")]
    pub audio_sample_rates: Vec<f64>,
    /// Number of audio channels for synthetic audio generation.
    #[arg(long, default_value_t = 1, help_heading = "Audio Input")]
    pub audio_num_channels: u16,

    // ---- Image Input ----
    /// Mean width in pixels for synthetically generated images (0 disables images).
    #[arg(long, default_value_t = 0.0, help_heading = "Image Input")]
    pub image_width_mean: f64,
    /// Standard deviation for synthetic image widths in pixels.
    #[arg(long, default_value_t = 0.0, help_heading = "Image Input")]
    pub image_width_stddev: f64,
    /// Mean height in pixels for synthetically generated images (0 disables images).
    #[arg(long, default_value_t = 0.0, help_heading = "Image Input")]
    pub image_height_mean: f64,
    /// Standard deviation for synthetic image heights in pixels.
    #[arg(long, default_value_t = 0.0, help_heading = "Image Input")]
    pub image_height_stddev: f64,
    /// Number of images to include in each multimodal request.
    #[arg(
        long,
        visible_alias = "batch-size-image",
        default_value_t = 1,
        help_heading = "Image Input"
    )]
    pub image_batch_size: usize,
    /// Image file format for generated images: png, jpeg or random.
    #[arg(long, default_value = "png", help_heading = "Image Input")]
    pub image_format: String,
    /// Where image pixels come from: noise (random pixels), assets (four bundled images) or a
    /// directory of images, resized to the drawn size.
    #[arg(long, default_value = "noise", help_heading = "Image Input")]
    pub image_source: String,

    // ---- Input Sequence Length (ISL) ----
    /// Mean number of tokens for synthetically generated input prompts.
    #[arg(long = "prompt-input-tokens-mean", visible_aliases = ["synthetic-input-tokens-mean", "isl"],
          default_value = "550", help_heading = "Input Sequence Length (ISL)")]
    pub isl_mean: Sweepable<f64>,
    /// Standard deviation for synthetic input prompt token lengths.
    #[arg(long = "prompt-input-tokens-stddev", visible_aliases = ["synthetic-input-tokens-stddev", "isl-stddev"],
          default_value = "0", help_heading = "Input Sequence Length (ISL)")]
    pub isl_stddev: Sweepable<f64>,
    /// Token block size for hash-based prompt synthesis when dataset entries carry hash_ids.
    #[arg(long = "prompt-input-tokens-block-size", visible_aliases = ["synthetic-input-tokens-block-size", "isl-block-size"],
          help_heading = "Input Sequence Length (ISL)")]
    pub isl_block_size: Option<usize>,

    // ---- Output Sequence Length (OSL) ----
    /// Mean number of tokens to request in model outputs (max_completion_tokens).
    #[arg(long = "prompt-output-tokens-mean", visible_aliases = ["output-tokens-mean", "osl"],
          help_heading = "Output Sequence Length (OSL)")]
    pub osl_mean: Option<Sweepable<f64>>,
    /// Standard deviation for output token length requests.
    #[arg(long = "prompt-output-tokens-stddev", visible_aliases = ["output-tokens-stddev", "osl-stddev"],
          default_value = "0", help_heading = "Output Sequence Length (OSL)")]
    pub osl_stddev: Sweepable<f64>,

    // ---- Rankings ----
    /// Mean number of passages to include per ranking request.
    #[arg(long, default_value_t = 1, help_heading = "Rankings")]
    pub rankings_passages_mean: usize,
    /// Standard deviation for number of passages per ranking request.
    #[arg(long, default_value_t = 0, help_heading = "Rankings")]
    pub rankings_passages_stddev: usize,
    /// Mean token length for each passage in ranking requests.
    #[arg(long, default_value_t = 550, help_heading = "Rankings")]
    pub rankings_passages_prompt_token_mean: usize,
    /// Standard deviation for passage token lengths in ranking requests.
    #[arg(long, default_value_t = 0, help_heading = "Rankings")]
    pub rankings_passages_prompt_token_stddev: usize,
    /// Mean token length for query text in ranking requests.
    #[arg(long, default_value_t = 550, help_heading = "Rankings")]
    pub rankings_query_prompt_token_mean: usize,
    /// Standard deviation for query token lengths in ranking requests.
    #[arg(long, default_value_t = 0, help_heading = "Rankings")]
    pub rankings_query_prompt_token_stddev: usize,

    // ---- Synthesis ----
    /// Multiplier for timestamp scaling in synthesized traces (trace formats only).
    #[arg(long, default_value_t = 1.0, help_heading = "Synthesis")]
    pub synthesis_speedup_ratio: f64,
    /// Multiplier for core prefix branch lengths in radix tree.
    #[arg(long, default_value_t = 1.0, help_heading = "Synthesis")]
    pub synthesis_prefix_len_multiplier: f64,
    /// Number of independent radix trees to distribute traces across.
    #[arg(long, default_value_t = 1, help_heading = "Synthesis")]
    pub synthesis_prefix_root_multiplier: u32,
    /// Multiplier for leaf path (unique prompt) lengths.
    #[arg(long, default_value_t = 1.0, help_heading = "Synthesis")]
    pub synthesis_prompt_len_multiplier: f64,
    /// Multiplier for output lengths in synthesized traces.
    #[arg(long, default_value_t = 1.0, help_heading = "Synthesis")]
    pub synthesis_output_len_multiplier: f64,
    /// Maximum input sequence length (longer trace inputs are capped).
    #[arg(long, help_heading = "Synthesis")]
    pub synthesis_max_isl: Option<u64>,
    /// Maximum output sequence length cap.
    #[arg(long, help_heading = "Synthesis")]
    pub synthesis_max_osl: Option<u64>,

    // ---- Load Generator ----
    /// Maximum benchmark runtime in seconds.
    #[arg(long, help_heading = "Load Generator")]
    pub benchmark_duration: Option<Sweepable<f64>>,
    /// Seconds to wait for responses after the benchmark duration ends.
    #[arg(long, help_heading = "Load Generator")]
    pub benchmark_grace_period: Option<f64>,
    /// Number of concurrent requests to maintain.
    #[arg(long, help_heading = "Load Generator")]
    pub concurrency: Option<Sweepable<usize>>,
    /// The maximum number of requests to send.
    #[arg(long, visible_alias = "num-requests", help_heading = "Load Generator")]
    pub request_count: Option<Sweepable<u64>>,
    /// Target request rate in requests per second (open loop; --concurrency becomes a cap).
    #[arg(long, help_heading = "Load Generator")]
    pub request_rate: Option<Sweepable<f64>>,
    /// Inter-arrival pattern for --request-rate: constant, poisson (default), gamma.
    #[arg(
        long,
        visible_alias = "request-rate-mode",
        help_heading = "Load Generator"
    )]
    pub arrival_pattern: Option<String>,
    /// Gamma shape for --arrival-pattern gamma (1 = Poisson, < 1 burstier, > 1 smoother).
    #[arg(
        long,
        visible_alias = "vllm-burstiness",
        help_heading = "Load Generator"
    )]
    pub arrival_smoothness: Option<f64>,
    /// Seconds to ramp concurrency from 1 to --concurrency.
    #[arg(long, help_heading = "Load Generator")]
    pub concurrency_ramp_duration: Option<f64>,
    /// Seconds to ramp the request rate from a proportional minimum to --request-rate.
    #[arg(long, help_heading = "Load Generator")]
    pub request_rate_ramp_duration: Option<f64>,
    /// Most requests waiting for their first token at once (streaming only; <= --concurrency).
    #[arg(long, help_heading = "Load Generator")]
    pub prefill_concurrency: Option<Sweepable<usize>>,
    /// Seconds to ramp --prefill-concurrency from 1 to its target.
    #[arg(long, help_heading = "Load Generator")]
    pub prefill_concurrency_ramp_duration: Option<f64>,
    /// JSON file of request-rate points ({"points": [{"time_s", "qps"}, ...]} or a bare array):
    /// the rate follows the piecewise-linear series, updated every 0.1 s.
    #[arg(long, value_name = "PATH", help_heading = "Load Generator")]
    pub request_rate_series: Option<PathBuf>,
    /// Abort the run when failed / total profiling records exceeds this ratio (0-1), once at
    /// least max(concurrency, 10) records arrived; the results so far are exported and the run
    /// exits 1.
    #[arg(long, value_name = "RATIO", help_heading = "Load Generator")]
    pub failed_request_threshold: Option<f64>,

    // ---- Fixed Schedule ----
    /// Send requests at the timestamps of the input dataset.
    #[arg(long, help_heading = "Fixed Schedule")]
    pub fixed_schedule: bool,
    /// Do not switch to fixed-schedule replay for datasets that carry timestamps.
    #[arg(
        long,
        conflicts_with = "fixed_schedule",
        help_heading = "Fixed Schedule"
    )]
    pub no_fixed_schedule: bool,
    /// Shift timestamps so the first one is 0 (the default unless a start offset is given).
    #[arg(long, help_heading = "Fixed Schedule")]
    pub fixed_schedule_auto_offset: bool,
    /// Timestamp (ms) that becomes the schedule's zero; earlier entries are dropped.
    #[arg(long, help_heading = "Fixed Schedule", allow_negative_numbers = true)]
    pub fixed_schedule_start_offset: Option<i64>,
    /// Timestamp (ms) after which entries are dropped.
    #[arg(long, help_heading = "Fixed Schedule", allow_negative_numbers = true)]
    pub fixed_schedule_end_offset: Option<i64>,

    // ---- Request Cancellation ----
    /// Percentage (0-100) of profiling requests to cancel.
    #[arg(long, help_heading = "Request Cancellation")]
    pub request_cancellation_rate: Option<f64>,
    /// Seconds after sending before a selected request is cancelled.
    #[arg(long, help_heading = "Request Cancellation")]
    pub request_cancellation_delay: Option<f64>,

    // ---- Goodput ----
    /// Service level objectives as space-separated 'tag:value' pairs, values in the metric's
    /// display unit (e.g. "time_to_first_token:200 inter_token_latency:20").
    #[arg(long, help_heading = "Goodput")]
    pub goodput: Option<String>,

    // ---- User-Centric Rate ----
    /// Enable user-centric rate mode with the specified request rate (QPS).
    #[arg(long, help_heading = "User-Centric Rate")]
    pub user_centric_rate: Option<f64>,
    /// The number of initial users to use for --user-centric-rate mode.
    #[arg(long, help_heading = "User-Centric Rate")]
    pub num_users: Option<Sweepable<usize>>,

    // ---- Warmup ----
    /// The maximum number of warmup requests to send before benchmarking.
    #[arg(long, visible_alias = "num-warmup-requests", help_heading = "Warmup")]
    pub warmup_request_count: Option<u64>,
    /// The maximum duration in seconds for the warmup phase.
    #[arg(long, help_heading = "Warmup")]
    pub warmup_duration: Option<f64>,
    /// The number of sessions the warmup phase starts (started sessions finish).
    #[arg(long, help_heading = "Warmup")]
    pub num_warmup_sessions: Option<u64>,
    /// Warmup concurrency (default: --concurrency); a cap when warmup runs at a rate.
    #[arg(long, help_heading = "Warmup")]
    pub warmup_concurrency: Option<usize>,
    /// Warmup prefill concurrency (default: --prefill-concurrency).
    #[arg(long, help_heading = "Warmup")]
    pub warmup_prefill_concurrency: Option<usize>,
    /// Warmup request rate (default: --request-rate); without either, warmup is closed loop.
    #[arg(long, help_heading = "Warmup")]
    pub warmup_request_rate: Option<f64>,
    /// Warmup arrival pattern: constant, poisson, gamma (default: --arrival-pattern).
    #[arg(long, help_heading = "Warmup")]
    pub warmup_arrival_pattern: Option<String>,
    /// Seconds warmup responses may still arrive after --warmup-duration (default: wait for all).
    #[arg(long, help_heading = "Warmup")]
    pub warmup_grace_period: Option<f64>,
    /// Seconds to ramp warmup concurrency from 1 (default: --concurrency-ramp-duration).
    #[arg(long, help_heading = "Warmup")]
    pub warmup_concurrency_ramp_duration: Option<f64>,
    /// Seconds to ramp warmup prefill concurrency from 1 (default:
    /// --prefill-concurrency-ramp-duration).
    #[arg(long, help_heading = "Warmup")]
    pub warmup_prefill_concurrency_ramp_duration: Option<f64>,
    /// Seconds to ramp the warmup request rate (default: --request-rate-ramp-duration).
    #[arg(long, help_heading = "Warmup")]
    pub warmup_request_rate_ramp_duration: Option<f64>,

    // ---- Output ----
    /// Output directory for all benchmark artifacts (used as given when set; otherwise a
    /// run-named subdirectory of `artifacts`).
    #[arg(
        long = "output-artifact-dir",
        visible_alias = "artifact-dir",
        help_heading = "Output"
    )]
    pub artifact_dir: Option<PathBuf>,

    /// Duration in seconds of each window for time-sliced metrics.
    #[arg(long, help_heading = "Output")]
    pub slice_duration: Option<f64>,
    /// Controls which output files are generated. `summary`: only aggregate metrics files
    /// (`.csv`, `.json`). `records`: includes per-request metrics (`profile_export.jsonl`).
    /// `raw`: includes raw request/response data (`_raw.jsonl`).
    #[arg(
        long,
        visible_alias = "profile-export-level",
        default_value = "records",
        value_parser = ["summary", "records", "raw"],
        ignore_case = true,
        help_heading = "Output"
    )]
    pub export_level: String,
    /// After the run (or sweep), draw its charts and `report.html` into `<artifact dir>/plots/`
    /// as `aiperf plot` does.
    #[arg(long, overrides_with = "no_auto_plot", help_heading = "Output")]
    pub auto_plot: bool,
    /// Do not draw charts after the run (the default).
    #[arg(long, overrides_with = "auto_plot", help_heading = "Output")]
    pub no_auto_plot: bool,
    /// Make a failed --auto-plot fail the command (exit 1) instead of printing a warning.
    #[arg(long, help_heading = "Output")]
    pub plot_required: bool,
    /// The plot config for --auto-plot (set by a run file's `plot:` section): copied into the
    /// artifact directory as `.aiperf-plot-config.yaml`, where `aiperf plot` finds it later.
    #[arg(long, hide = true, help_heading = "Output")]
    pub plot_config: Option<PathBuf>,

    // ---- Server Metrics ----
    /// Server metrics collection (on by default, from each --url's `/metrics`); extra
    /// Prometheus endpoints may follow (`node1:8081 http://node2:9090/metrics`).
    #[arg(long, num_args = 0.., value_name = "URL", help_heading = "Server Metrics")]
    pub server_metrics: Option<Vec<String>>,
    /// Disable server metrics collection entirely.
    #[arg(long, help_heading = "Server Metrics")]
    pub no_server_metrics: bool,
    /// Server metrics files to write: json, csv, jsonl, parquet (default json csv).
    #[arg(long, num_args = 1.., value_delimiter = ',', ignore_case = true,
          value_parser = ["json", "csv", "jsonl", "parquet"], help_heading = "Server Metrics")]
    pub server_metrics_formats: Vec<String>,

    // ---- GPU Telemetry ----
    /// GPU telemetry: `pynvml` or `amdsmi` (a local GPU library), `dashboard` (a live panel),
    /// DCGM exporter URLs, or a custom metrics CSV (default: DCGM at localhost:9400 and :9401).
    #[arg(long, num_args = 0.., value_name = "SOURCE", help_heading = "GPU Telemetry")]
    pub gpu_telemetry: Option<Vec<String>>,
    /// Disable GPU telemetry collection entirely.
    #[arg(long, help_heading = "GPU Telemetry")]
    pub no_gpu_telemetry: bool,

    // ---- UI ----
    /// User interface while the benchmark runs: dashboard, simple, none.
    #[arg(long = "ui-type", visible_alias = "ui", help_heading = "UI")]
    pub ui_type: Option<String>,

    // ---- Multi-Run ----
    /// Trials per configuration; with more than one, `aggregate/` gets each metric's mean,
    /// spread and confidence interval across the trials (1-10).
    #[arg(long, default_value_t = 1, help_heading = "Multi-Run")]
    pub num_profile_runs: u32,
    /// Seconds to wait between trials, so the server settles (only with several trials).
    #[arg(long, help_heading = "Multi-Run")]
    pub profile_run_cooldown_seconds: Option<f64>,
    /// Confidence level of the intervals across trials, between 0 and 1.
    #[arg(long, default_value_t = 0.95, help_heading = "Multi-Run")]
    pub confidence_level: f64,
    /// With several trials and no --random-seed, use seed 42 so every trial sends the same
    /// data (the default).
    #[arg(
        long,
        overrides_with = "no_set_consistent_seed",
        help_heading = "Multi-Run"
    )]
    pub set_consistent_seed: bool,
    /// Let trials draw unseeded, different data.
    #[arg(
        long,
        overrides_with = "set_consistent_seed",
        help_heading = "Multi-Run"
    )]
    pub no_set_consistent_seed: bool,
    /// Warm up only before the first trial of each configuration (the default).
    #[arg(
        long,
        overrides_with = "no_profile_run_disable_warmup_after_first",
        help_heading = "Multi-Run"
    )]
    pub profile_run_disable_warmup_after_first: bool,
    /// Warm up before every trial.
    #[arg(
        long,
        overrides_with = "profile_run_disable_warmup_after_first",
        help_heading = "Multi-Run"
    )]
    pub no_profile_run_disable_warmup_after_first: bool,
    /// Give each trial its own seed, derived from the base seed, the configuration and the trial.
    #[arg(
        long,
        overrides_with = "no_vary_seed_per_trial",
        help_heading = "Multi-Run"
    )]
    pub vary_seed_per_trial: bool,
    /// Use the same seed for every trial (the default).
    #[arg(
        long,
        overrides_with = "vary_seed_per_trial",
        help_heading = "Multi-Run"
    )]
    pub no_vary_seed_per_trial: bool,
    /// Stop repeating early once this metric (a tag, e.g. time_to_first_token) has converged.
    #[arg(long, help_heading = "Multi-Run")]
    pub convergence_metric: Option<String>,
    /// Statistic of --convergence-metric to watch.
    #[arg(long, default_value = "avg", value_parser = ["avg", "p50", "p90", "p95", "p99", "min", "max"],
          help_heading = "Multi-Run")]
    pub convergence_stat: String,
    /// Convergence bound, between 0 and 1 (default 0.10 for ci_width, 0.05 for cv).
    #[arg(long, help_heading = "Multi-Run")]
    pub convergence_threshold: Option<f64>,
    /// ci_width: the interval's width relative to the mean; cv: std / mean.
    #[arg(long, default_value = "ci_width", value_parser = ["ci_width", "cv", "distribution"],
          help_heading = "Multi-Run")]
    pub convergence_mode: String,
    /// Seconds to wait between the configurations of a sweep.
    #[arg(long, help_heading = "Multi-Run")]
    pub parameter_sweep_cooldown_seconds: Option<f64>,
    /// Use --random-seed unchanged for every configuration (otherwise configuration i uses
    /// seed + i).
    #[arg(
        long,
        overrides_with = "no_parameter_sweep_same_seed",
        help_heading = "Multi-Run"
    )]
    pub parameter_sweep_same_seed: bool,
    /// Give each configuration its own seed (the default).
    #[arg(
        long,
        overrides_with = "parameter_sweep_same_seed",
        help_heading = "Multi-Run"
    )]
    pub no_parameter_sweep_same_seed: bool,
    /// With sweeps and several trials: repeated runs every configuration once per trial;
    /// independent runs all trials of one configuration before the next.
    #[arg(long, default_value = "repeated", value_parser = ["repeated", "independent"],
          help_heading = "Multi-Run")]
    pub parameter_sweep_mode: String,
    /// grid: every combination of the lists; zip: the i-th values together (equal lengths).
    #[arg(long, default_value = "grid", value_parser = ["grid", "zip"], help_heading = "Multi-Run")]
    pub sweep_type: String,
    /// A hand-picked configuration of a scenario sweep: `"name: flag=value, flag=value"` with
    /// any `aiperf profile` flag without its dashes (repeat, at least twice).
    #[arg(long, visible_alias = "sweep-variant", action = ArgAction::Append, help_heading = "Multi-Run")]
    pub variant: Vec<String>,
    /// Do not print the sweep table after each configuration.
    #[arg(long, help_heading = "Multi-Run")]
    pub no_sweep_table: bool,

    /// Search for the most load that meets the SLA flags: max-concurrency-under-sla.
    #[arg(long, help_heading = "Multi-Run")]
    pub search_recipe: Option<String>,
    /// SLA: p95 time to first token below this many milliseconds.
    #[arg(long, help_heading = "Multi-Run")]
    pub ttft_sla_ms: Option<f64>,
    /// SLA: p95 inter-token latency below this many milliseconds.
    #[arg(long, visible_alias = "tpot-sla-ms", help_heading = "Multi-Run")]
    pub itl_sla_ms: Option<f64>,
    /// SLA: p99 request latency below this many milliseconds.
    #[arg(long, help_heading = "Multi-Run")]
    pub e2e_sla_ms: Option<f64>,
    /// SLA: fraction of failed requests below this (0-1).
    #[arg(long, help_heading = "Multi-Run")]
    pub error_rate_sla: Option<f64>,
    /// Lowest concurrency the search tries (default 1).
    #[arg(long, help_heading = "Multi-Run")]
    pub concurrency_min: Option<usize>,
    /// Highest concurrency the search tries (default 1000).
    #[arg(long, help_heading = "Multi-Run")]
    pub concurrency_max: Option<usize>,
    /// Points of the concurrency-ramp grid, log-spaced over the concurrency bounds (default 8).
    #[arg(long, help_heading = "Multi-Run")]
    pub concurrency_steps: Option<usize>,
    /// prefill-ttft-curve: smallest ISL of the grid (default 256).
    #[arg(long, help_heading = "Multi-Run")]
    pub isl_min: Option<usize>,
    /// prefill-ttft-curve: largest ISL of the grid (default 32768).
    #[arg(long, help_heading = "Multi-Run")]
    pub isl_max: Option<usize>,
    /// prefill-ttft-curve: ISL points, log-spaced (default 8).
    #[arg(long, help_heading = "Multi-Run")]
    pub isl_steps: Option<usize>,
    /// decode-itl-curve: smallest OSL of the grid (default 64).
    #[arg(long, help_heading = "Multi-Run")]
    pub osl_min: Option<usize>,
    /// decode-itl-curve: largest OSL of the grid (default 1024).
    #[arg(long, help_heading = "Multi-Run")]
    pub osl_max: Option<usize>,
    /// decode-itl-curve: OSL points, log-spaced (default 4).
    #[arg(long, help_heading = "Multi-Run")]
    pub osl_steps: Option<usize>,
    /// pareto-sweep: the workload shapes, `ISL/OSL` pairs separated by commas
    /// (e.g. `128/128,512/256`), each run at every --concurrency value.
    #[arg(long, help_heading = "Multi-Run")]
    pub isl_osl_pairs: Option<String>,
    /// max-goodput-under-slo: the share of requests that must meet every SLO (default 0.95).
    #[arg(long, help_heading = "Multi-Run")]
    pub slo_attainment_fraction: Option<f64>,
    /// concurrency-ramp: the knee is the first point whose statistic exceeds the first
    /// point's by this fraction (default 0.20).
    #[arg(long, help_heading = "Multi-Run")]
    pub degradation_threshold: Option<f64>,
    /// concurrency-ramp: the metric watched for the knee (default request_latency).
    #[arg(long, help_heading = "Multi-Run")]
    pub degradation_metric_tag: Option<String>,
    /// concurrency-ramp: its statistic (default p99).
    #[arg(long, value_parser = ["avg", "min", "max", "p50", "p90", "p95", "p99"], help_heading = "Multi-Run")]
    pub degradation_stat: Option<String>,
    /// Most runs the search may make (2-200; default 20).
    #[arg(long, help_heading = "Multi-Run")]
    pub search_max_iterations: Option<u32>,

    // ---- Service ----
    /// Logging verbosity: TRACE, DEBUG, INFO, NOTICE, WARNING, SUCCESS, ERROR, CRITICAL.
    #[arg(long, default_value = "INFO", value_parser = ["TRACE", "DEBUG", "INFO", "NOTICE", "WARNING", "SUCCESS", "ERROR", "CRITICAL"],
          ignore_case = true, help_heading = "Service")]
    pub log_level: String,
    /// Equivalent to --log-level DEBUG (-vv: TRACE).
    #[arg(long, short = 'v', action = ArgAction::Count, help_heading = "Service")]
    pub verbose: u8,
    /// Equivalent to --log-level TRACE.
    #[arg(long, help_heading = "Service")]
    pub extra_verbose: bool,

    // ---- Groups kept in files of their own (cli/) ----
    #[command(flatten)]
    pub shaping: ShapingArgs,
    #[command(flatten)]
    pub trace_replay: TraceReplayArgs,
    #[command(flatten)]
    pub media: MediaArgs,
    #[command(flatten)]
    pub distributed: ShardArgs,
    #[command(flatten)]
    pub process: ProcessArgs,
    #[command(flatten)]
    pub control: ControlArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub search: SearchArgs,
    #[command(flatten)]
    pub observability: ObservabilityArgs,
    #[command(flatten)]
    pub tracking: TrackingArgs,
    #[command(flatten)]
    pub network: NetworkArgs,
    #[command(flatten)]
    pub agentic_replay: AgenticReplayArgs,
    #[command(flatten)]
    pub accuracy: AccuracyArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<ProfileArgs, clap::Error> {
        let mut full = vec!["aiperf", "profile"];
        full.extend_from_slice(args);
        Cli::try_parse_from(full).map(|c| match c.command {
            Command::Profile(p) => *p,
            _ => unreachable!("profile was parsed"),
        })
    }

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn aliases_and_defaults() {
        let p = parse(&[
            "-m",
            "a,b",
            "--isl",
            "128",
            "--osl",
            "64",
            "--num-requests",
            "5",
            "--batch-size",
            "2",
        ])
        .unwrap();
        assert_eq!(p.model_names, ["a", "b"]);
        assert_eq!(p.isl_mean.one(), 128.0);
        assert_eq!(p.osl_mean.one(), Some(64.0));
        assert_eq!(p.request_count.one(), Some(5));
        assert_eq!(p.prompt_batch_size, 2);
        assert_eq!(p.endpoint_type, "chat");
        assert_eq!(p.url, ["http://localhost:8000"]);
        assert_eq!(p.request_timeout_seconds, 21600.0);
        let p = parse(&[
            "--synthetic-input-tokens-mean",
            "7",
            "--output-tokens-mean",
            "3",
            "--artifact-dir",
            "x",
        ])
        .unwrap();
        assert_eq!((p.isl_mean.one(), p.osl_mean.one()), (7.0, Some(3.0)));
        assert_eq!(p.artifact_dir, Some(PathBuf::from("x")));
        assert_eq!(parse(&["-vv"]).unwrap().verbose, 2);
    }

    #[test]
    fn bad_values_fail_with_the_flag_named() {
        let e = parse(&["--concurrency", "x"]).unwrap_err().to_string();
        assert!(e.contains("--concurrency"), "{e}");
        let e = parse(&["--concurrency", "1,a"]).unwrap_err().to_string();
        assert!(e.contains("--concurrency") && e.contains("'a'"), "{e}");
        let e = parse(&["--endpoint-type", "chat", "--endpoint-type", "completions"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--endpoint-type"), "{e}");
    }
}
