//! The accepted run file as Rust types: the JSON Schema is generated from them, `config expand`
//! serializes them, and the loader fills them from the YAML tree before turning them into flags.
//!
//! Keys are camelCase here; the loader also accepts every key in snake_case.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Serialize;

/// An AIPerf run file (schema 2.0), as `aiperf profile --config FILE` reads it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "AIPerf run file")]
pub struct RunFile {
    /// Schema version of the file; only "2.0" is accepted.
    #[schemars(extend("const" = "2.0"))]
    pub schema_version: Option<String>,
    /// Random seed for deterministic data generation (`--random-seed`).
    pub random_seed: Option<u64>,
    /// Values for `{{ name }}` (and `${name}`) references in string values.
    pub variables: Option<IndexMap<String, serde_json::Value>>,
    /// Repeated trials with confidence statistics.
    pub multi_run: Option<MultiRun>,
    /// Parameter sweep: every combination (grid) or the i-th values together (zip).
    pub sweep: Option<Sweep>,
    /// Do not print the sweep table after each configuration (`--no-sweep-table`).
    pub no_sweep_table: Option<bool>,
    /// What to benchmark and how.
    pub benchmark: Benchmark,
    /// Accepted here too (AIPerf places it under `benchmark`).
    pub slos: Option<IndexMap<String, f64>>,
    /// Accepted here too (AIPerf places it under `benchmark`).
    pub artifacts: Option<Artifacts>,
    /// Accepted here too (AIPerf places it under `benchmark`).
    pub tokenizer: Option<Tokenizer>,
    /// AIPerf's plot envelope, inline or a file path: turns `--auto-plot` on (unless
    /// `artifacts.autoPlot: false`), and its `experiment_classification` groups the charts.
    pub plot: Option<PlotEnvelope>,
}

/// `plot`: a plot config inline (read back from the run file) or the path of one.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum PlotEnvelope {
    /// A path, relative to the run file.
    File(String),
    /// A mapping in the run file itself.
    Inline(IndexMap<String, serde_json::Value>),
}

/// `multiRun`: trials per configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MultiRun {
    /// Trials per configuration, 1-10 (`--num-profile-runs`).
    pub num_runs: Option<u32>,
    /// Seconds between trials (`--profile-run-cooldown-seconds`).
    pub cooldown_seconds: Option<f64>,
    /// Confidence level of the intervals, between 0 and 1 (`--confidence-level`).
    pub confidence_level: Option<f64>,
    /// Same seed (42 unless `randomSeed`) for every trial (`--set-consistent-seed`).
    pub set_consistent_seed: Option<bool>,
    /// A seed per trial (`--vary-seed-per-trial`).
    pub vary_seed_per_trial: Option<bool>,
    /// Warm up only before the first trial (`--profile-run-disable-warmup-after-first`).
    pub disable_warmup_after_first: Option<bool>,
    /// Stop repeating once a metric has converged.
    pub convergence: Option<Convergence>,
}

/// `multiRun.convergence`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Convergence {
    /// Metric tag, e.g. `time_to_first_token` (`--convergence-metric`).
    pub metric: String,
    /// avg, p50, p90, p95, p99, min or max (`--convergence-stat`).
    pub stat: Option<String>,
    /// ci_width or cv (`--convergence-mode`).
    pub mode: Option<String>,
    /// Bound between 0 and 1 (`--convergence-threshold`).
    pub threshold: Option<f64>,
    /// Trials before convergence is judged; this build supports only 2.
    pub min_runs: Option<u32>,
}

/// How the values of the swept parameters combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SweepType {
    Grid,
    Zip,
}

/// `sweep`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sweep {
    /// grid (default) or zip (`--sweep-type`).
    #[serde(rename = "type")]
    pub kind: Option<SweepType>,
    /// Dotted path (`phases.profiling.concurrency`, `datasets.main.prompts.isl`, or a bare
    /// `concurrency`, `rate`, `requests`, `duration`, `sessions`, `users`) to its values.
    pub parameters: IndexMap<String, Vec<SweepNumber>>,
    /// Seconds between configurations (`--parameter-sweep-cooldown-seconds`).
    pub cooldown_seconds: Option<f64>,
    /// Every configuration uses `randomSeed` unchanged (`--parameter-sweep-same-seed`).
    pub same_seed: Option<bool>,
    /// repeated or independent (`--parameter-sweep-mode`).
    pub iteration_order: Option<String>,
}

/// One value of a swept parameter: a number (or a duration such as "30s").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct SweepNumber(#[schemars(with = "NumberOrText")] pub f64);

/// A number, or text that becomes one (a duration, a `${VAR}` reference).
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum NumberOrText {
    Number(f64),
    Text(String),
}

/// `benchmark`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Benchmark {
    /// One model name (`-m`).
    pub model: Option<String>,
    /// Several model names (`-m` repeated); a name or `{name: ...}` per item.
    pub models: Option<Vec<String>>,
    /// The server.
    pub endpoint: Option<Endpoint>,
    /// The dataset.
    pub dataset: Option<Dataset>,
    /// The dataset, as a one-entry map `name: {...}` or a one-item list.
    #[schemars(with = "Option<OneDataset>")]
    pub datasets: Option<IndexMap<String, Dataset>>,
    /// Phases: a list, a map `name: phase`, or one phase. A phase with
    /// `excludeFromResults: true` (or named `warmup`) is the warm-up; one other phase is the
    /// profiling phase.
    #[schemars(with = "Option<Phases>")]
    pub phases: Option<Vec<Phase>>,
    /// Shorthand for a phase named `warmup` (excluded from results).
    pub warmup: Option<Phase>,
    /// Shorthand for a phase named `profiling`.
    pub profiling: Option<Phase>,
    /// Goodput SLOs: metric tag to threshold, in the metric's display unit (`--goodput`).
    pub slos: Option<IndexMap<String, f64>>,
    /// Output.
    pub artifacts: Option<Artifacts>,
    /// Tokenizer.
    pub tokenizer: Option<Tokenizer>,
    /// Server metrics scraping (`--server-metrics`, `--no-server-metrics`, formats); a URL
    /// string is shorthand for `{urls: [url]}`.
    #[schemars(with = "Option<UrlOr<ServerMetricsBlock>>")]
    pub server_metrics: Option<ServerMetricsBlock>,
    /// GPU telemetry (`--gpu-telemetry`, `--no-gpu-telemetry`); a URL string is shorthand.
    #[schemars(with = "Option<UrlOr<GpuTelemetryBlock>>")]
    pub gpu_telemetry: Option<GpuTelemetryBlock>,
    /// Accuracy evaluation alongside profiling (`--accuracy-*`).
    pub accuracy: Option<AccuracyBlock>,
}

/// A URL, or the whole block.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum UrlOr<T> {
    Url(String),
    Block(T),
}

/// `benchmark.serverMetrics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerMetricsBlock {
    /// false: `--no-server-metrics`.
    pub enabled: Option<bool>,
    /// Extra Prometheus endpoints (`--server-metrics URL...`); `url` is accepted too.
    pub urls: Option<Vec<String>>,
    /// Files to write (`--server-metrics-formats`): json, csv, jsonl, parquet.
    pub formats: Option<Vec<String>>,
    /// Kubernetes discovery: only `{mode: disabled}` (or `auto` outside a cluster) applies.
    pub discovery: Option<ServerMetricsDiscovery>,
}

/// `benchmark.serverMetrics.discovery`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerMetricsDiscovery {
    /// auto, kubernetes or disabled.
    pub mode: Option<String>,
}

/// `benchmark.gpuTelemetry`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GpuTelemetryBlock {
    /// false: `--no-gpu-telemetry`.
    pub enabled: Option<bool>,
    /// DCGM exporter URLs (`--gpu-telemetry URL...`); `url` is accepted too.
    pub urls: Option<Vec<String>>,
    /// A CSV of metrics to collect (`--gpu-telemetry FILE.csv`).
    pub metrics_file: Option<String>,
    /// dcgm (the default), pynvml or amdsmi.
    pub collector: Option<String>,
    /// summary (the default) or realtime_dashboard (`--gpu-telemetry dashboard`).
    pub mode: Option<String>,
}

/// `benchmark.accuracy` (AIPerf's `AccuracyConfig`): every key but `benchmark` needs
/// `benchmark`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccuracyBlock {
    /// mmlu, mmlu_pro, aime, hellaswag, bigbench, aime24, aime25, math_500, gsm8k, gpqa_diamond
    /// or lcb_codegeneration (`--accuracy-benchmark`).
    pub benchmark: Option<String>,
    /// Tasks or subjects to evaluate, comma-separated or a list; all when unset
    /// (`--accuracy-tasks`).
    #[schemars(with = "Option<StringOrList>")]
    pub tasks: Option<Vec<String>>,
    /// Few-shot examples, 0 to 32; the benchmark's default when unset (`--accuracy-n-shots`).
    #[schemars(range(max = 32))]
    pub n_shots: Option<u32>,
    /// Chain-of-thought prompting; the benchmark's default when unset
    /// (`--accuracy-enable-cot` / `--accuracy-no-enable-cot`).
    pub enable_cot: Option<bool>,
    /// exact_match, math, multiple_choice, code_execution, lighteval_expr, lighteval_latex,
    /// lighteval_gpqa, lighteval_gsm8k or mmlu_pro instead of the benchmark's grader
    /// (`--accuracy-grader`).
    pub grader: Option<String>,
    /// System prompt instead of the benchmark's (`--accuracy-system-prompt`).
    pub system_prompt: Option<String>,
    /// One line per graded problem (`--accuracy-verbose`).
    pub verbose: Option<bool>,
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum OneDataset {
    Map(IndexMap<String, Dataset>),
    List(Vec<Dataset>),
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum Phases {
    List(Vec<Phase>),
    Map(IndexMap<String, Phase>),
    One(Box<Phase>),
}

/// `benchmark.endpoint`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Endpoint {
    /// Base URL of the server (`--url`).
    pub url: Option<String>,
    /// Several base URLs, used round-robin (`--url` repeated).
    #[schemars(with = "Option<StringOrList>")]
    pub urls: Option<Vec<String>>,
    /// Endpoint type, e.g. chat, completions, embeddings (`--endpoint-type`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Custom API path, e.g. /v1/custom (`--custom-endpoint`).
    pub path: Option<String>,
    /// Streaming responses (`--streaming`).
    pub streaming: Option<bool>,
    /// Per-request timeout: seconds or "30s", "5m" (`--request-timeout-seconds`).
    #[schemars(with = "Option<NumberOrText>")]
    pub timeout: Option<f64>,
    /// HTTP headers (`-H 'Name:Value'`).
    pub headers: Option<IndexMap<String, String>>,
    /// Extra request body fields (`--extra-inputs`).
    pub extra: Option<IndexMap<String, serde_json::Value>>,
    /// API key, sent as a Bearer token (`--api-key`).
    pub api_key: Option<String>,
    /// pooled, never or sticky-user-sessions (`--connection-reuse-strategy`).
    pub connection_reuse: Option<String>,
    /// `--use-legacy-max-tokens`.
    pub use_legacy_max_tokens: Option<bool>,
    /// `--use-server-token-count`.
    pub use_server_token_count: Option<bool>,
    /// `--per-chunk-usage`.
    pub per_chunk_usage: Option<bool>,
    /// `--session-header`.
    pub session_header: Option<String>,
    /// `--download-video-content`.
    pub download_video_content: Option<bool>,
    /// Seconds to wait for the model before benchmarking (`--wait-for-model-timeout`).
    #[schemars(with = "Option<NumberOrText>")]
    pub wait_for_model_timeout: Option<f64>,
    /// `--wait-for-model-interval`.
    #[schemars(with = "Option<NumberOrText>")]
    pub wait_for_model_interval: Option<f64>,
    /// models, inference or both (`--wait-for-model-mode`).
    pub wait_for_model_mode: Option<String>,
    /// How requests pick among the URLs: round_robin (`--url-strategy`).
    pub url_strategy: Option<String>,
    /// http (`--transport`).
    pub transport: Option<String>,
    /// application/json or multipart/form-data (`--request-content-type`).
    pub request_content_type: Option<String>,
    /// Repeated images of a session as cache references (`--uuid-and-strip`).
    pub uuid_and_strip: Option<bool>,
    /// KV-cache reset before the run: true, false or `{path, timeoutSeconds}`
    /// (`--reset-kv-cache`).
    #[schemars(with = "Option<BoolOr<ControlHook>>")]
    pub reset_kv_cache: Option<ControlHook>,
    /// Server profiler around profiling: true, false or `{startPath, stopPath, timeoutSeconds}`
    /// (`--server-profiler`).
    #[schemars(with = "Option<BoolOr<ControlHook>>")]
    pub server_profiler: Option<ControlHook>,
}

/// `true`, `false`, or the settings.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum BoolOr<T> {
    Bool(bool),
    Settings(T),
}

/// `endpoint.resetKvCache` / `endpoint.serverProfiler` when on (`false` is `None`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ControlHook {
    /// Reset path (`--reset-kv-cache-path`).
    pub path: Option<String>,
    /// Profiler start path (`--server-profiler-start-path`).
    pub start_path: Option<String>,
    /// Profiler stop path (`--server-profiler-stop-path`).
    pub stop_path: Option<String>,
    /// Seconds per POST (`--reset-kv-cache-timeout-seconds`, `--server-profiler-timeout-seconds`).
    #[schemars(with = "Option<NumberOrText>")]
    pub timeout_seconds: Option<f64>,
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum StringOrList {
    One(String),
    List(Vec<String>),
}

/// Kind of dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DatasetType {
    Synthetic,
    File,
    Public,
}

/// A token-length distribution: a fixed number or `{mean, stddev}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Dist {
    Fixed(f64),
    Normal {
        mean: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        stddev: Option<f64>,
    },
}

impl Dist {
    pub fn mean(self) -> f64 {
        match self {
            Dist::Fixed(v) => v,
            Dist::Normal { mean, .. } => mean,
        }
    }

    pub fn stddev(self) -> Option<f64> {
        match self {
            Dist::Fixed(_) => None,
            Dist::Normal { stddev, .. } => stddev,
        }
    }

    /// `Fixed` when there is no spread to give.
    pub fn from_parts(mean: f64, stddev: Option<f64>) -> Self {
        match stddev {
            None => Dist::Fixed(mean),
            Some(s) => Dist::Normal {
                mean,
                stddev: Some(s),
            },
        }
    }
}

/// `dataset.prompts`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Prompts {
    /// Input sequence length in tokens (`--isl`, `--isl-stddev`).
    pub isl: Option<Dist>,
    /// Output sequence length in tokens (`--osl`, `--osl-stddev`).
    pub osl: Option<Dist>,
    /// `isl` in a form beyond `{mean, stddev}`: `{mean, median}`, `{peaks}`, `{points}` or
    /// with `min`/`max` (`--isl-distribution`, the same JSON).
    pub isl_distribution: Option<serde_json::Value>,
    /// `osl` in such a form (`--osl-distribution`).
    pub osl_distribution: Option<serde_json::Value>,
    /// Text inputs per request (`--prompt-batch-size`).
    pub batch_size: Option<u64>,
    /// Token block size for hash-id prompt synthesis (`--isl-block-size`).
    pub block_size: Option<u64>,
    /// Per-conversation cache-bust marker (`--cache-bust`); synthetic datasets only (file and
    /// public datasets take `cacheBust` beside `prompts`).
    #[schemars(with = "Option<CacheBustForms>")]
    pub cache_bust: Option<CacheBust>,
    /// sonnet, coding or random (`--prompt-corpus`); the only `prompts` key of a file or public
    /// dataset.
    pub corpus: Option<String>,
    /// Weighted (ISL, OSL) pairs instead of `isl`/`osl` (`--seq-dist`).
    #[schemars(with = "Option<Vec<SeqEntryForms>>")]
    pub sequence_distribution: Option<Vec<SeqEntry>>,
    /// Uniform window around the ISL/OSL means (`--random-range-ratio`).
    #[schemars(with = "Option<RangeRatioForms>")]
    pub random_range_ratio: Option<RangeRatio>,
    /// vllm or sglang (`--random-corpus-style`).
    pub random_corpus_style: Option<String>,
}

/// `cacheBust`: AIPerf's `{target: ...}` (a bare target is accepted too).
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CacheBust {
    /// none, system_prefix, system_suffix, first_turn_prefix, first_turn_suffix,
    /// warmup_isolation_system or warmup_isolation_first_turn.
    pub target: String,
}

/// One weighted pair of `prompts.sequenceDistribution` (`islStddev`/`oslStddev` are read
/// into `isl`/`osl`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeqEntry {
    /// Input tokens: a number or `{mean, stddev}`.
    pub isl: Dist,
    /// Output tokens: a number or `{mean, stddev}`.
    pub osl: Dist,
    /// Percent; the entries sum to 100.
    pub probability: f64,
}

/// What a `sequenceDistribution` entry may hold (AIPerf's stddev shorthand included).
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
struct SeqEntryForms {
    isl: Dist,
    isl_stddev: Option<f64>,
    osl: Dist,
    osl_stddev: Option<f64>,
    probability: f64,
}

/// What `randomRangeRatio` may be written as: AIPerf's field is text, which YAML numbers and
/// mappings are turned into.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum RangeRatioForms {
    Both(f64),
    Split { input: f64, output: f64 },
    Text(String),
}

/// `cacheBust` as written: `{target}` or the bare target.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum CacheBustForms {
    Map(CacheBust),
    Target(String),
}

/// `prompts.randomRangeRatio`: one ratio, or one per side (vllm style only).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum RangeRatio {
    Both(f64),
    Split { input: f64, output: f64 },
}

/// `dataset.images` (synthetic). Unset keys take AIPerf's YAML defaults, not the flags':
/// batchSize 0, 512 x 512, jpeg.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Images {
    /// Images per request; 0 disables (`--image-batch-size`).
    pub batch_size: Option<u64>,
    /// Pixels (`--image-width-mean`, `--image-width-stddev`).
    pub width: Option<Dist>,
    /// Pixels (`--image-height-mean`, `--image-height-stddev`).
    pub height: Option<Dist>,
    /// png, jpeg or random (`--image-format`).
    pub format: Option<String>,
    /// noise, assets or a directory of images (`--image-source`).
    pub source: Option<String>,
    /// random-with-replacement, shuffle-cycle or sequential-cycle (`--image-source-sampling`).
    pub source_sampling: Option<String>,
}

/// `dataset.audio` (synthetic). Unset keys take AIPerf's YAML defaults: batchSize 0, 10 s.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Audio {
    /// Audio inputs per request; 0 disables (`--audio-batch-size`).
    pub batch_size: Option<u64>,
    /// Seconds (`--audio-length-mean`, `--audio-length-stddev`).
    pub length: Option<Dist>,
    /// wav or mp3 (`--audio-format`).
    pub format: Option<String>,
    /// kHz to pick from (`--audio-sample-rates`).
    pub sample_rates: Option<Vec<f64>>,
    /// Bits to pick from (`--audio-depths`).
    pub depths: Option<Vec<u64>>,
    /// 1 or 2 (`--audio-num-channels`).
    pub channels: Option<u64>,
}

/// `dataset.video` (synthetic). An unset batchSize is AIPerf's YAML default, 0.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Video {
    /// Videos per request; 0 disables (`--video-batch-size`).
    pub batch_size: Option<u64>,
    /// Seconds per clip (`--video-duration`).
    pub duration: Option<f64>,
    /// `--video-fps`.
    pub fps: Option<u64>,
    /// `--video-width`.
    pub width: Option<u64>,
    /// `--video-height`.
    pub height: Option<u64>,
    /// webm or mp4 (`--video-format`).
    pub format: Option<String>,
    /// ffmpeg video codec (`--video-codec`).
    pub codec: Option<String>,
    /// moving_shapes, grid_clock or noise (`--video-synth-type`).
    pub synth_type: Option<String>,
    /// Embedded audio track.
    pub audio: Option<VideoAudio>,
}

/// `dataset.video.audio`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VideoAudio {
    /// kHz (`--video-audio-sample-rate`).
    pub sample_rate: Option<f64>,
    /// 0 (none), 1 or 2 (`--video-audio-num-channels`).
    pub channels: Option<u64>,
    /// aac, libvorbis or libopus (`--video-audio-codec`).
    pub codec: Option<String>,
    /// 8, 16, 24 or 32 (`--video-audio-depth`).
    pub depth: Option<u64>,
}

/// `dataset.rankings` (synthetic). Unset keys take AIPerf's YAML defaults: 10 passages of 128
/// tokens, a 32-token query.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rankings {
    /// Passages per request (`--rankings-passages-mean`/`-stddev`).
    pub passages: Option<Dist>,
    /// Tokens per passage (`--rankings-passages-prompt-token-mean`/`-stddev`).
    pub passage_tokens: Option<Dist>,
    /// Tokens per query (`--rankings-query-prompt-token-mean`/`-stddev`).
    pub query_tokens: Option<Dist>,
}

/// `dataset.synthesis` (file and public datasets): trace transformation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Synthesis {
    /// `--synthesis-speedup-ratio`.
    pub speedup_ratio: Option<f64>,
    /// `--synthesis-prefix-len-multiplier`.
    pub prefix_len_multiplier: Option<f64>,
    /// `--synthesis-prefix-root-multiplier`.
    pub prefix_root_multiplier: Option<u64>,
    /// `--synthesis-prompt-len-multiplier`.
    pub prompt_len_multiplier: Option<f64>,
    /// `--synthesis-output-len-multiplier`.
    pub output_len_multiplier: Option<f64>,
    /// `--synthesis-max-isl`.
    pub max_isl: Option<u64>,
    /// `--synthesis-max-osl`.
    pub max_osl: Option<u64>,
    /// `--allow-dataset-wrap` / `--no-allow-dataset-wrap`.
    pub allow_dataset_wrap: Option<bool>,
}

/// `dataset.prefixPrompts`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrefixPrompts {
    /// Distinct prefixes (`--prompt-prefix-pool-size`).
    pub pool_size: Option<u64>,
    /// Tokens per prefix (`--prompt-prefix-length`).
    pub length: Option<u64>,
    /// Shared system prompt tokens (`--shared-system-prompt-length`).
    pub shared_system_length: Option<u64>,
    /// Per-session context tokens (`--user-context-prompt-length`).
    pub user_context_length: Option<u64>,
}

/// `benchmark.dataset`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dataset {
    /// The dataset's name (in `datasets:`); for `type: public` without `dataset`, the public
    /// dataset.
    pub name: Option<String>,
    /// synthetic (default), file or public.
    #[serde(rename = "type")]
    pub kind: Option<DatasetType>,
    /// Unique entries to generate (`--num-dataset-entries`).
    pub entries: Option<u64>,
    /// random, sequential or shuffle (`--dataset-sampling-strategy`).
    pub sampling: Option<String>,
    /// Prompt lengths.
    pub prompts: Option<Prompts>,
    /// Shorthand for `prompts.isl`.
    pub isl: Option<Dist>,
    /// Shorthand for `prompts.osl`.
    pub osl: Option<Dist>,
    /// Shorthand for `prompts.islDistribution`.
    pub isl_distribution: Option<serde_json::Value>,
    /// Shorthand for `prompts.oslDistribution`.
    pub osl_distribution: Option<serde_json::Value>,
    /// Turns per conversation (`--conversation-turn-mean`, `--conversation-turn-stddev`).
    pub turns: Option<Dist>,
    /// Milliseconds between turns (`--conversation-turn-delay-mean`/`-stddev`).
    pub turn_delay: Option<Dist>,
    /// Multiplier of turn delays (`--conversation-turn-delay-ratio`).
    pub turn_delay_ratio: Option<f64>,
    /// Prefix prompts for KV-cache tests.
    pub prefix_prompts: Option<PrefixPrompts>,
    /// Verbatim system prompt (`--system-prompt`).
    pub system_prompt: Option<String>,
    /// File holding the system prompt (`--system-prompt-file`).
    pub system_prompt_file: Option<String>,
    /// Dataset file (`--input-file`).
    pub path: Option<String>,
    /// Format of the file, e.g. mooncake_trace, single_turn (`--custom-dataset-type`).
    pub format: Option<String>,
    /// Inline records instead of `path` (written to a JSONL file before the run, see
    /// `yaml/inline.rs`).
    pub records: Option<InlineRecords>,
    /// Line of `records` (for messages about writing them).
    #[serde(skip)]
    #[schemars(skip)]
    pub records_line: u32,
    /// Public dataset, e.g. sharegpt (`--public-dataset`).
    pub dataset: Option<String>,
    /// Synthetic images.
    pub images: Option<Images>,
    /// Synthetic audio.
    pub audio: Option<Audio>,
    /// Synthetic video.
    pub video: Option<Video>,
    /// Query-passage pairs for rankings endpoints.
    pub rankings: Option<Rankings>,
    /// Trace transformation (file and public datasets).
    pub synthesis: Option<Synthesis>,
    /// Cache-bust marker of a file or public dataset (`--cache-bust`).
    #[schemars(with = "Option<CacheBustForms>")]
    pub cache_bust: Option<CacheBust>,
    /// Hash-id block size of a file dataset (`--isl-block-size`).
    pub block_size: Option<u64>,
    /// random_pool: text inputs per request (`--prompt-batch-size`).
    pub prompt_batch_size: Option<u64>,
    /// random_pool: images per request (`--image-batch-size`).
    pub image_batch_size: Option<u64>,
    /// random_pool: audio inputs per request (`--audio-batch-size`).
    pub audio_batch_size: Option<u64>,
    /// random_pool: videos per request (`--video-batch-size`).
    pub video_batch_size: Option<u64>,
    /// Fraction of trace sessions kept, in (0, 1] (`--trace-session-sample-ratio`).
    pub trace_session_sample_ratio: Option<f64>,
    /// Seconds (`--inter-turn-delay-cap-seconds`).
    pub inter_turn_delay_cap_seconds: Option<f64>,
    /// Seconds (`--max-idle-gap-cap-seconds`).
    pub max_idle_gap_cap_seconds: Option<f64>,
    /// `--replay-speedup`.
    pub replay_speedup: Option<f64>,
    /// `--open-loop-replay` / `--no-open-loop-replay`.
    pub open_loop_replay: Option<bool>,
    /// `--open-loop-strict`.
    pub open_loop_strict: Option<bool>,
    /// `--omit-kv-hints`.
    pub omit_kv_hints: Option<bool>,
    /// `--force-min-tokens` / `--no-force-min-tokens`.
    pub force_min_tokens: Option<bool>,
    /// `--ignore-trace-delays`.
    pub ignore_trace_delays: Option<bool>,
    /// `--use-think-time-only`.
    pub use_think_time_only: Option<bool>,
    /// Tokens (`--max-context-length`).
    pub max_context_length: Option<u64>,
    /// The dataset's seed (`--random-seed`); this build has one seed per run, so it must
    /// agree with a top-level `randomSeed`.
    pub random_seed: Option<u64>,
    /// Hugging Face subset of a public dataset (`--hf-subset`).
    pub hf_subset: Option<String>,
    /// Dataset-specific filters, key to value (`--dataset-filter key=value`).
    pub filters: Option<IndexMap<String, String>>,
    /// Repo for `dataset: weka_hf` (`--hf-weka-dataset`).
    pub hf_weka_dataset: Option<String>,
}

/// A file dataset's inline `records:`: rows shaped as one line of the format's JSONL file, or
/// (`random_pool` only) named pools, as a directory of JSONL files would hold them.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum InlineRecords {
    /// One JSONL line per row.
    Rows(Vec<serde_json::Value>),
    /// Pool name to its rows, in the order written.
    Pools(IndexMap<String, Vec<serde_json::Value>>),
}

/// How a phase sends requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhaseType {
    Concurrency,
    Poisson,
    Gamma,
    Constant,
    UserCentric,
    FixedSchedule,
}

impl PhaseType {
    pub const ALL: [(&'static str, PhaseType); 6] = [
        ("concurrency", PhaseType::Concurrency),
        ("poisson", PhaseType::Poisson),
        ("gamma", PhaseType::Gamma),
        ("constant", PhaseType::Constant),
        ("user_centric", PhaseType::UserCentric),
        ("fixed_schedule", PhaseType::FixedSchedule),
    ];

    pub fn name(self) -> &'static str {
        PhaseType::ALL
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("concurrency", |(n, _)| n)
    }
}

/// `phases.cancellation`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cancellation {
    /// Percentage of requests to cancel (`--request-cancellation-rate`).
    pub rate: Option<f64>,
    /// Seconds before cancelling (`--request-cancellation-delay`).
    #[schemars(with = "Option<NumberOrText>")]
    pub delay: Option<f64>,
}

/// One phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Phase {
    /// Phase name (`warmup` marks the warm-up).
    pub name: Option<String>,
    /// concurrency, poisson, gamma, constant, user_centric or fixed_schedule.
    #[serde(rename = "type")]
    pub kind: Option<PhaseType>,
    /// A warm-up phase (`--warmup-request-count`, `--warmup-duration`).
    pub exclude_from_results: Option<bool>,
    /// Concurrent requests; a cap for rate phases (`--concurrency`).
    pub concurrency: Option<u64>,
    /// Requests per second (`--request-rate`, or `--user-centric-rate`).
    pub rate: Option<f64>,
    /// Requests to send (`--request-count`).
    pub requests: Option<u64>,
    /// Seconds or "5m" (`--benchmark-duration`).
    #[schemars(with = "Option<NumberOrText>")]
    pub duration: Option<f64>,
    /// Conversations to start (`--conversation-num`).
    pub sessions: Option<u64>,
    /// Simulated users of a user_centric phase (`--num-users`).
    pub users: Option<u64>,
    /// Seconds to wait for responses after the duration (`--benchmark-grace-period`).
    #[schemars(with = "Option<NumberOrText>")]
    pub grace_period: Option<f64>,
    /// Gamma shape of a gamma phase (`--arrival-smoothness`).
    pub smoothness: Option<f64>,
    /// Seconds to ramp concurrency (`--concurrency-ramp-duration`).
    #[schemars(with = "Option<NumberOrText>")]
    pub concurrency_ramp: Option<f64>,
    /// Seconds to ramp the rate (`--request-rate-ramp-duration`).
    #[schemars(with = "Option<NumberOrText>")]
    pub rate_ramp: Option<f64>,
    /// Most requests awaiting a first token (`--prefill-concurrency`).
    pub prefill_concurrency: Option<u64>,
    /// Seconds to ramp the prefill limit (`--prefill-concurrency-ramp-duration`).
    #[schemars(with = "Option<NumberOrText>")]
    pub prefill_ramp: Option<f64>,
    /// JSON file of request-rate points (`--request-rate-series`), instead of `rate`.
    pub rate_series: Option<String>,
    /// fixed_schedule: shift timestamps to start at 0 (`--fixed-schedule-auto-offset`).
    pub auto_offset: Option<bool>,
    /// fixed_schedule: first timestamp in ms (`--fixed-schedule-start-offset`).
    pub start_offset: Option<i64>,
    /// fixed_schedule: last timestamp in ms (`--fixed-schedule-end-offset`).
    pub end_offset: Option<i64>,
    /// Request cancellation.
    pub cancellation: Option<Cancellation>,
}

/// `benchmark.artifacts`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Artifacts {
    /// Output directory (`--artifact-dir`).
    pub dir: Option<String>,
    /// Seconds per time slice (`--slice-duration`).
    #[schemars(with = "Option<NumberOrText>")]
    pub slice_duration: Option<f64>,
    /// Draw the charts and report after the run (`--auto-plot` / `--no-auto-plot`).
    pub auto_plot: Option<bool>,
    /// A failed auto-plot fails the command (`--plot-required`).
    pub plot_required: Option<bool>,
    /// Base name of every exported file (`--profile-export-prefix`).
    pub prefix: Option<String>,
    /// Summary formats: `[json]` (the default); `false` is refused (the summary is always
    /// written).
    #[schemars(with = "Option<FormatsOrFalse>")]
    pub summary: Option<Vec<String>>,
    /// Per-request record formats: `[jsonl]` (the default) or `false` (`--export-level summary`).
    #[schemars(with = "Option<FormatsOrFalse>")]
    pub records: Option<Vec<String>>,
    /// Request and response bodies too (`--export-level raw`).
    pub raw: Option<bool>,
    /// HTTP trace data in the records (`--export-http-trace`).
    pub trace: Option<bool>,
    /// The HTTP trace timing table in the console (`--show-trace-timing`).
    pub show_trace_timing: Option<bool>,
    /// AIPerf's templated files for the run directory: read and checked, not yet written by
    /// this build (it needs an engine hook, `docs/config.md`).
    pub user_files: Option<Vec<UserFile>>,
}

/// One `artifacts.userFiles` entry: a file under the run directory whose `content` is rendered
/// with Jinja at run time.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserFile {
    /// Relative to the run directory; no absolute path, no `..`.
    pub path: String,
    /// json, yaml or text (text when `content` is a string, else json).
    pub format: String,
    /// Structured for json / yaml, a string for text.
    pub content: serde_json::Value,
}

/// A list of export formats, or `false` for none.
#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum FormatsOrFalse {
    Formats(Vec<String>),
    Off(bool),
}

/// `benchmark.tokenizer` (or just the name).
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tokenizer {
    /// Hugging Face id, local path or `builtin` (`--tokenizer`).
    pub name: Option<String>,
    /// `--tokenizer-revision`.
    pub revision: Option<String>,
    /// `--tokenizer-trust-remote-code`.
    pub trust_remote_code: Option<bool>,
    /// `--apply-chat-template`.
    pub apply_chat_template: Option<bool>,
}
