//! Assembling the run report from typed values (config echo, run info, error summary, the load
//! verdict computed by `aiperf_metrics::load`) and progress lines. Field names are the export
//! crate's business.

use std::collections::HashMap;

use aiperf_config::{LoadMode, ProfileConfig};
use aiperf_core::ErrorDetails;
use aiperf_export::input_config::{
    Artifacts, Audio, DatasetConfig, EndpointConfig, Images, InputConfig, LoadConfig, MeanStddev,
    Phases, PrefixPrompts, ProfilingPhase, Prompts, Rankings, RunInfo, SyntheticDataset,
    TimingMode, TokenizerConfig, TurnDelay, Video, VideoAudio, WarmupPhase,
};
use aiperf_export::{ClientBound, LoadReport, RunReport};
use aiperf_metrics::load::{self, LoadInput};
use aiperf_metrics::Summary;
use serde::{Deserialize, Serialize};

use crate::phases::LoadStats;
use crate::prepare::Prepared;

/// Local time, ISO-8601 without timezone (AIPerf's `start_time` / `end_time`).
/// A wall-clock instant (ns since the epoch) as local ISO-8601 without timezone, as
/// [`now_iso`] writes it.
pub fn iso_of_wall_ns(wall_ns: u64) -> String {
    let t = chrono::DateTime::from_timestamp_nanos(wall_ns.min(i64::MAX as u64) as i64)
        .with_timezone(&chrono::Local);
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

pub fn now_iso() -> String {
    chrono::Local::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

/// CPU time of this process (user + system), from /proc on Linux.
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux configuration in practice.
    Some((utime + stime) / 100.0)
}

/// The client's CPU use over the run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CpuUsage {
    pub cpu_s: f64,
    pub wall_s: f64,
    pub cores: usize,
}

impl CpuUsage {
    pub fn since(start: Option<f64>, wall_start: std::time::Instant) -> Option<CpuUsage> {
        let cpu_s = process_cpu_seconds()? - start?;
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Some(CpuUsage {
            cpu_s,
            wall_s: wall_start.elapsed().as_secs_f64(),
            cores,
        })
    }
}

/// The profiling phase's raw load statistics, in the metrics crate's terms.
fn load_input<'a>(load: &'a LoadStats, cpu: Option<CpuUsage>) -> LoadInput<'a> {
    let (backlog_pauses, backlog_paused_s) = load.backlog_pauses;
    LoadInput {
        open_loop: load.mode.is_open_loop(),
        requested_rate: load.mode.requested_rate(),
        sent: load.sent,
        intended_window_s: load.intended_window_s,
        actual_window_s: load.actual_window_s,
        event_loop_lag_ms: &load.event_loop_lag_ms,
        backlog_pauses,
        backlog_paused_s,
        backlog_high: crate::backlog::HIGH,
        cpu: cpu.map(|c| load::CpuUsage {
            cpu_s: c.cpu_s,
            wall_s: c.wall_s,
            cores: c.cores,
        }),
    }
}

/// `input_config.datasets[0]`: the file and its format, or what was synthesized.
fn dataset_config(cfg: &ProfileConfig, prepared: &Prepared) -> DatasetConfig {
    let c = &cfg.conversation;
    let ms = |mean: f64, stddev: f64| MeanStddev { mean, stddev };
    match &cfg.input_file {
        Some(file) => DatasetConfig::File {
            path: file.clone(),
            format: cfg.custom_dataset_type.clone(),
            entries: prepared.conversations.len(),
            sampling: cfg.sampling.name.clone(),
        },
        None if cfg.public_dataset.is_some() => DatasetConfig::Public {
            dataset: cfg
                .public_dataset
                .as_ref()
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            entries: prepared.conversations.len(),
            sampling: cfg.sampling.name.clone(),
        },
        None => DatasetConfig::Synthetic(Box::new(SyntheticDataset {
            entries: cfg.num_dataset_entries,
            sampling: cfg.sampling.name.clone(),
            prompts: Prompts {
                isl: ms(cfg.isl_mean, cfg.isl_stddev),
                osl: cfg.osl_mean.map(|m| ms(m, cfg.osl_stddev)),
                batch_size: cfg.batch_size,
            },
            turns: ms(c.turn_mean, c.turn_stddev),
            turn_delay_ms: TurnDelay {
                mean: c.delay_mean_ms,
                stddev: c.delay_stddev_ms,
                ratio: c.delay_ratio,
            },
            prefix_prompts: (c.prefix_pool_size > 0).then_some(PrefixPrompts {
                pool_size: c.prefix_pool_size,
                length: c.prefix_length,
            }),
            shared_system_prompt_length: c.shared_system_prompt_length,
            user_context_prompt_length: c.user_context_prompt_length,
            system_prompt: c.system_prompt.is_some() || c.system_prompt_file.is_some(),
            images: c.images.as_ref().map(|i| Images {
                width: ms(i.width_mean, i.width_stddev),
                height: ms(i.height_mean, i.height_stddev),
                batch_size: i.batch,
                format: format!("{:?}", i.format).to_lowercase(),
            }),
            audio: c.audio.as_ref().map(|a| Audio {
                length_s: ms(a.length_mean, a.length_stddev),
                sample_rates_khz: a.sample_rates_khz.clone(),
                depths: a.depths.clone(),
                channels: a.channels,
                batch_size: a.batch,
            }),
            video: c.video.as_ref().map(|v| Video {
                batch_size: v.batch,
                duration_s: v.duration,
                fps: v.fps,
                width: v.width,
                height: v.height,
                synth_type: v.synth.name().to_string(),
                format: v.format.name().to_string(),
                codec: v.codec.clone(),
                audio: v.audio.as_ref().map(|a| VideoAudio {
                    sample_rate_hz: a.sample_rate_hz,
                    channels: a.channels,
                    depth: a.depth,
                    codec: a.codec.name().to_string(),
                }),
            }),
            rankings: prepared.endpoint.ranks_passages().then(|| {
                let r = &cfg.rankings;
                Rankings {
                    passages: ms(r.passages_mean, r.passages_stddev),
                    passage_tokens: ms(r.passage_tokens_mean, r.passage_tokens_stddev),
                    query_tokens: ms(r.query_tokens_mean, r.query_tokens_stddev),
                }
            }),
        })),
    }
}

/// The echo of the settings that shaped the numbers, secrets redacted.
fn input_config(cfg: &ProfileConfig, prepared: &Prepared, mode: &LoadMode) -> InputConfig {
    let timing_mode = TimingMode::from(mode);
    InputConfig {
        models: cfg.models.clone(),
        endpoint: EndpointConfig {
            kind: cfg.endpoint_type.clone(),
            urls: cfg.urls.iter().map(|u| u.to_string()).collect(),
            custom_endpoint: cfg.custom_endpoint.clone(),
            streaming: cfg.streaming,
            timeout: cfg.request_timeout_s,
            use_legacy_max_tokens: cfg.body.use_legacy_max_tokens,
            use_server_token_count: cfg.use_server_token_count,
            extra: cfg.body.extra_inputs.clone(),
            headers: cfg
                .headers
                .iter()
                .map(|(n, v)| {
                    let v = if v.is_sensitive() {
                        REDACTED.to_string()
                    } else {
                        String::from_utf8_lossy(v.as_bytes()).into_owned()
                    };
                    (n.as_str().to_string(), v)
                })
                .collect(),
            api_key: cfg.api_key.as_ref().map(|_| REDACTED.to_string()),
        },
        tokenizer: TokenizerConfig {
            name: cfg
                .tokenizer
                .clone()
                .unwrap_or_else(|| cfg.models[0].clone()),
            revision: cfg.tokenizer_revision.clone(),
            used: prepared.tokenizer.name().to_string(),
            fallback: prepared.tokenizer.stands_in_for().is_some(),
            fallback_reason: prepared.tokenizer.fallback_reason().map(str::to_string),
        },
        datasets: vec![dataset_config(cfg, prepared)],
        phases: Phases {
            warmup: (cfg.warmup_request_count.is_some() || cfg.warmup_duration_s.is_some())
                .then_some(WarmupPhase {
                    mode: timing_mode,
                    concurrency: cfg.concurrency,
                    requests: cfg.warmup_request_count,
                    duration: cfg.warmup_duration_s,
                }),
            profiling: ProfilingPhase {
                mode: timing_mode,
                concurrency: cfg.concurrency,
                requests: cfg.request_count,
                sessions: cfg.conversation.conversation_num,
                duration: cfg.benchmark_duration_s,
                grace_period: cfg.grace_period_s,
                load: LoadConfig::from(mode),
            },
        },
        artifacts: Artifacts {
            dir: cfg.artifact_dir.clone(),
        },
    }
}

/// What a secret is replaced with in `input_config`.
const REDACTED: &str = "<redacted>";

/// Everything the report takes from the config and the prepared dataset. A shard stores it in
/// `shard.json`, so `aiperf merge` builds the whole run's report without either (file flags may
/// name paths only the shards had; the dataset decides the mode).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportContext {
    pub input_config: InputConfig,
    /// The run's identity; `benchmark_id` is drawn anew by [`assemble`].
    pub run_info: RunInfo,
    pub metrics_title: String,
    pub cli_command: String,
    /// A plateau (steady state) only means something when the client held a fixed concurrency.
    pub concurrency_mode: bool,
    pub timing_mode: TimingMode,
    pub open_loop: bool,
    pub requested_rate: Option<f64>,
}

/// The report context of a run of `cfg` under `mode` (a shard passes the whole run's mode for
/// the merge, its own share for its own report).
pub fn context(cfg: &ProfileConfig, prepared: &Prepared, mode: &LoadMode) -> ReportContext {
    ReportContext {
        input_config: input_config(cfg, prepared, mode),
        run_info: RunInfo::new(
            String::new(),
            prepared.seed,
            &cfg.run,
            cfg.cli_command.clone(),
        ),
        metrics_title: prepared.meta.metrics_title.clone(),
        cli_command: cfg.cli_command.clone(),
        concurrency_mode: matches!(cfg.load, LoadMode::Concurrency { .. }),
        timing_mode: TimingMode::from(mode),
        open_loop: mode.is_open_loop(),
        requested_rate: mode.requested_rate(),
    }
}

/// The measured parts of a report, whoever measured them (one run, or a merge of shards).
pub struct Measured {
    pub summary: Summary,
    pub errors: HashMap<ErrorDetails, u64>,
    pub was_cancelled: bool,
    pub incomplete_reason: Option<String>,
    pub start_time: String,
    pub end_time: String,
}

/// The report of a run from its context, its measurements and the verdict on its load.
pub fn assemble(
    ctx: &ReportContext,
    measured: Measured,
    analysis: &load::LoadAnalysis,
) -> RunReport {
    let Measured {
        mut summary,
        errors,
        was_cancelled,
        incomplete_reason,
        start_time,
        end_time,
    } = measured;
    if !ctx.concurrency_mode {
        summary.steady_state = None;
    }
    let mut errors: Vec<(ErrorDetails, u64)> = errors.into_iter().collect();
    errors.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let benchmark_id: String = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    RunReport {
        summary,
        errors,
        input_config: ctx.input_config.clone(),
        run_info: RunInfo {
            benchmark_id: benchmark_id.clone(),
            ..ctx.run_info.clone()
        },
        benchmark_id,
        was_cancelled,
        incomplete_reason,
        start_time,
        end_time,
        metrics_title: ctx.metrics_title.clone(),
        cli_command: ctx.cli_command.clone(),
        load_report: LoadReport::new(ctx.timing_mode, analysis),
        client_bound: ClientBound::from(analysis),
        malformed_sse_events: 0,
        server_metrics: None,
        gpu_telemetry: None,
        shards: None,
        accuracy: None,
    }
}

/// One run's report. `incomplete_reason`: why the run ended early ("cancelled by user", or
/// `--failed-request-threshold`'s verdict), which also makes it `was_cancelled`; `None` when it
/// ran to its end.
#[allow(clippy::too_many_arguments)]
pub fn build(
    cfg: &ProfileConfig,
    prepared: &Prepared,
    summary: Summary,
    errors: HashMap<ErrorDetails, u64>,
    incomplete_reason: Option<String>,
    start_time: String,
    load: &LoadStats,
    cpu: Option<CpuUsage>,
) -> RunReport {
    let ctx = context(cfg, prepared, &load.mode);
    let mut summary = summary;
    if !ctx.concurrency_mode {
        summary.steady_state = None;
    }
    let analysis = load::analyze(&summary, &load_input(load, cpu));
    assemble(
        &ctx,
        Measured {
            summary,
            errors,
            was_cancelled: incomplete_reason.is_some(),
            incomplete_reason,
            start_time,
            end_time: now_iso(),
        },
        &analysis,
    )
}
