//! From [`RunFile`] to `aiperf profile` arguments, in a fixed order (the `--help` groups').

use indexmap::IndexMap;

use super::model::*;
use super::read::{camel, effective_type, is_warmup};

/// The profiling phase and the warm-up phase of a benchmark (each at most one; the reader
/// checked).
pub(crate) fn split_phases(b: &Benchmark) -> (Option<&Phase>, Option<&Phase>) {
    let all = b.phases.as_deref().unwrap_or_default();
    (
        all.iter().find(|p| !is_warmup(p)),
        all.iter().find(|p| is_warmup(p)),
    )
}

const PHASE_SWEEPS: &[(&str, &str)] = &[
    ("concurrency", "--concurrency"),
    ("rate", "--request-rate"),
    ("requests", "--request-count"),
    ("duration", "--benchmark-duration"),
    ("sessions", "--conversation-num"),
    ("users", "--num-users"),
];

const SWEEPABLE: &str = "concurrency, rate, requests, duration, sessions, users (bare or as \
    phases.<profiling phase>.<field>), datasets.<name>.prompts.isl[.mean|.stddev], \
    datasets.<name>.prompts.osl[.mean|.stddev], datasets.<name>.turns[.mean]";

/// The flag a sweep path sets (AIPerf's dotted paths, rooted under `benchmark`).
pub(crate) fn sweep_target(path: &str, b: &Benchmark) -> Result<&'static str, String> {
    let segs: Vec<String> = path.split('.').map(camel).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let unsupported = || format!("sweep path '{path}' is not supported (sweepable: {SWEEPABLE})");
    let phase_field = |field: &str| -> Result<&'static str, String> {
        let flag = PHASE_SWEEPS
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, flag)| *flag)
            .ok_or_else(unsupported)?;
        let (profiling, _) = split_phases(b);
        let kind = profiling.map_or(PhaseType::Concurrency, effective_type);
        if field == "rate" && kind == PhaseType::UserCentric {
            return Err(format!(
                "sweep path '{path}': the rate of a user_centric phase cannot be swept"
            ));
        }
        Ok(flag)
    };
    match segs.as_slice() {
        [field] => phase_field(field),
        ["phases", name, field] => {
            let (profiling, warmup) = split_phases(b);
            let profiling_name = profiling.and_then(|p| p.name.as_deref());
            let warmup_name = warmup.and_then(|p| p.name.as_deref());
            if warmup_name == Some(*name) {
                return Err(format!(
                    "sweep path '{path}': the warm-up phase cannot be swept"
                ));
            }
            let known = profiling_name == Some(*name)
                || (profiling_name.is_none() && matches!(*name, "profiling" | "default"));
            if !known {
                return Err(format!(
                    "sweep path '{path}': no phase named '{name}'{}",
                    profiling_name
                        .map(|n| format!(" (the profiling phase is '{n}')"))
                        .unwrap_or_default()
                ));
            }
            phase_field(field)
        }
        ["datasets", _, rest @ ..] | ["dataset", rest @ ..] => {
            let rest = match rest {
                ["prompts", tail @ ..] => tail,
                other => other,
            };
            match rest {
                ["isl"] | ["isl", "mean"] => Ok("--isl"),
                ["isl", "stddev"] => Ok("--isl-stddev"),
                ["osl"] | ["osl", "mean"] => Ok("--osl"),
                ["osl", "stddev"] => Ok("--osl-stddev"),
                ["turns"] | ["turns", "mean"] => Ok("--conversation-turn-mean"),
                _ => Err(unsupported()),
            }
        }
        _ => Err(unsupported()),
    }
}

/// A number as a flag value: whole numbers without a fraction, infinity as `inf`.
pub(crate) fn num(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.to_string()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// `prompts.sequenceDistribution` as a `--seq-dist` value, `ISL[|SD],OSL[|SD]:PCT;...`; the
/// lengths truncated to integers as AIPerf's `int()` does.
pub(crate) fn seq_dist_text(entries: &[SeqEntry]) -> String {
    let side = |d: Dist| {
        let mean = num(d.mean().trunc());
        match d.stddev().filter(|s| *s != 0.0) {
            Some(s) => format!("{mean}|{}", num(s)),
            None => mean,
        }
    };
    entries
        .iter()
        .map(|e| format!("{},{}:{}", side(e.isl), side(e.osl), num(e.probability)))
        .collect::<Vec<_>>()
        .join(";")
}

/// `prompts.randomRangeRatio` as a `--random-range-ratio` value.
pub(crate) fn range_ratio_text(r: RangeRatio) -> String {
    match r {
        RangeRatio::Both(v) => num(v),
        RangeRatio::Split { input, output } => {
            serde_json::json!({ "input": input, "output": output }).to_string()
        }
    }
}

/// AIPerf's YAML defaults inside a media or rankings section, where they differ from the
/// flags'. A media section whose batch size is 0 (AIPerf's default) sends none of that medium,
/// so it adds no flags.
const IMAGE_DEFAULTS: (u64, f64, &str) = (0, 512.0, "jpeg");
const AUDIO_DEFAULTS: (u64, f64) = (0, 10.0);
const VIDEO_DEFAULT_BATCH: u64 = 0;
const RANKINGS_DEFAULTS: (f64, f64, f64) = (10.0, 128.0, 32.0);

#[derive(Default)]
struct Args {
    out: Vec<String>,
    sweeps: IndexMap<&'static str, Vec<f64>>,
}

impl Args {
    fn push(&mut self, flag: &str, value: impl Into<String>) {
        self.out.push(flag.to_string());
        self.out.push(value.into());
    }

    fn opt(&mut self, flag: &str, value: Option<impl Into<String>>) {
        if let Some(v) = value {
            self.push(flag, v);
        }
    }

    fn num(&mut self, flag: &str, value: Option<f64>) {
        self.opt(flag, value.map(num));
    }

    fn int(&mut self, flag: &str, value: Option<u64>) {
        self.opt(flag, value.map(|v| v.to_string()));
    }

    /// `--x-mean` and, when there is a spread, `--x-stddev`.
    fn dist(&mut self, mean_flag: &str, stddev_flag: &str, value: Option<Dist>) {
        self.num(mean_flag, value.map(Dist::mean));
        self.num(stddev_flag, value.and_then(Dist::stddev));
    }

    /// `--flag` when true.
    fn on(&mut self, flag: &str, value: Option<bool>) {
        if value == Some(true) {
            self.out.push(flag.to_string());
        }
    }

    /// `--flag` / `--no-flag`.
    fn both(&mut self, flag: &str, value: Option<bool>) {
        match value {
            Some(true) => self.out.push(format!("--{flag}")),
            Some(false) => self.out.push(format!("--no-{flag}")),
            None => {}
        }
    }

    /// A sweepable flag: the swept list when the sweep sets it, else the file's value.
    fn sweepable(&mut self, flag: &'static str, value: Option<f64>) {
        match self.sweeps.shift_remove(flag) {
            Some(list) => {
                let text: Vec<String> = list.into_iter().map(num).collect();
                self.push(flag, text.join(","));
            }
            None => self.num(flag, value),
        }
    }
}

/// Extra request field as one `--extra-inputs` value that reads back as the same JSON.
fn extra_input(key: &str, value: &serde_json::Value) -> String {
    use serde_json::Value as J;
    let plain = match value {
        J::Number(n) => Some(n.to_string()),
        J::Bool(b) => Some(b.to_string()),
        J::String(s) => {
            let t = s.trim();
            let reads_back = t == s
                && !t.is_empty()
                && t.parse::<f64>().is_err()
                && !t.eq_ignore_ascii_case("true")
                && !t.eq_ignore_ascii_case("false")
                && !t.starts_with('[');
            reads_back.then(|| s.clone())
        }
        J::Array(_) => Some(value.to_string()),
        J::Null | J::Object(_) => None,
    };
    let key_ok =
        !key.contains(':') && key.trim() == key && !key.is_empty() && !key.starts_with('{');
    match plain {
        Some(v) if key_ok => format!("{key}:{v}"),
        _ => serde_json::json!({ key: value }).to_string(),
    }
}

/// The arguments of a run file (after `read`), in a stable order.
pub(crate) fn args(f: &RunFile) -> Vec<String> {
    let b = &f.benchmark;
    let mut a = Args::default();
    if let Some(sweep) = &f.sweep {
        for (path, values) in &sweep.parameters {
            // The reader checked every path.
            if let Ok(flag) = sweep_target(path, b) {
                a.sweeps.insert(flag, values.iter().map(|v| v.0).collect());
            }
        }
    }
    let (profiling, warmup) = split_phases(b);
    let empty_phase = Phase::default();
    let p = profiling.unwrap_or(&empty_phase);
    let kind = effective_type(p);
    let default_endpoint = Endpoint::default();
    let e = b.endpoint.as_ref().unwrap_or(&default_endpoint);
    let default_dataset = Dataset::default();
    let d = b.dataset.as_ref().unwrap_or(&default_dataset);
    let prompts = d.prompts.clone().unwrap_or_default();
    let isl = d.isl.or(prompts.isl);
    let osl = d.osl.or(prompts.osl);

    // Endpoint
    for m in b.model.iter().chain(b.models.iter().flatten()) {
        a.push("-m", m.clone());
    }
    a.opt("--custom-endpoint", e.path.clone());
    a.opt("--endpoint-type", e.kind.clone());
    a.on("--streaming", e.streaming);
    for u in e.url.iter().chain(e.urls.iter().flatten()) {
        a.push("--url", u.clone());
    }
    a.num("--request-timeout-seconds", e.timeout);
    a.opt("--api-key", e.api_key.clone());
    a.on("--use-legacy-max-tokens", e.use_legacy_max_tokens);
    a.on("--use-server-token-count", e.use_server_token_count);
    a.on("--per-chunk-usage", e.per_chunk_usage);
    a.num("--wait-for-model-timeout", e.wait_for_model_timeout);
    a.opt("--wait-for-model-mode", e.wait_for_model_mode.clone());
    a.num("--wait-for-model-interval", e.wait_for_model_interval);
    a.opt("--connection-reuse-strategy", e.connection_reuse.clone());
    a.opt("--session-header", e.session_header.clone());
    a.on("--download-video-content", e.download_video_content);
    a.opt("--url-strategy", e.url_strategy.clone());
    a.opt("--transport", e.transport.clone());
    a.opt("--request-content-type", e.request_content_type.clone());
    a.on("--uuid-and-strip", e.uuid_and_strip);
    if let Some(h) = &e.reset_kv_cache {
        a.out.push("--reset-kv-cache".to_string());
        a.opt("--reset-kv-cache-path", h.path.clone());
        a.num("--reset-kv-cache-timeout-seconds", h.timeout_seconds);
    }
    if let Some(h) = &e.server_profiler {
        a.out.push("--server-profiler".to_string());
        a.opt("--server-profiler-start-path", h.start_path.clone());
        a.opt("--server-profiler-stop-path", h.stop_path.clone());
        a.num("--server-profiler-timeout-seconds", h.timeout_seconds);
    }

    // Tokenizer
    if let Some(t) = b.tokenizer.as_ref().or(f.tokenizer.as_ref()) {
        a.opt("--tokenizer", t.name.clone());
        a.opt("--tokenizer-revision", t.revision.clone());
        a.on("--tokenizer-trust-remote-code", t.trust_remote_code);
        a.on("--apply-chat-template", t.apply_chat_template);
    }

    // Input
    for (k, v) in e.extra.iter().flatten() {
        a.push("--extra-inputs", extra_input(k, v));
    }
    for (k, v) in e.headers.iter().flatten() {
        a.push("-H", format!("{k}:{v}"));
    }
    a.int("--random-seed", f.random_seed.or(d.random_seed));
    a.opt("--dataset-sampling-strategy", d.sampling.clone());
    a.opt("--input-file", d.path.clone());
    a.opt("--custom-dataset-type", d.format.clone());
    if d.kind == Some(DatasetType::Public) || d.dataset.is_some() {
        a.opt(
            "--public-dataset",
            d.dataset.clone().or_else(|| d.name.clone()),
        );
    }
    a.opt("--hf-subset", d.hf_subset.clone());
    a.opt("--hf-weka-dataset", d.hf_weka_dataset.clone());
    for (k, v) in d.filters.iter().flatten() {
        a.push("--dataset-filter", format!("{k}={v}"));
    }
    a.on("--ignore-trace-delays", d.ignore_trace_delays);
    a.num("--trace-session-sample-ratio", d.trace_session_sample_ratio);
    a.on("--use-think-time-only", d.use_think_time_only);
    a.int("--max-context-length", d.max_context_length);
    let synthesis = d.synthesis.clone().unwrap_or_default();
    a.both("allow-dataset-wrap", synthesis.allow_dataset_wrap);

    // Conversation input
    a.sweepable("--conversation-num", p.sessions.map(|v| v as f64));
    a.sweepable("--conversation-turn-mean", d.turns.map(Dist::mean));
    a.num("--conversation-turn-stddev", d.turns.and_then(Dist::stddev));
    a.num(
        "--conversation-turn-delay-mean",
        d.turn_delay.map(Dist::mean),
    );
    a.num(
        "--conversation-turn-delay-stddev",
        d.turn_delay.and_then(Dist::stddev),
    );
    a.num("--conversation-turn-delay-ratio", d.turn_delay_ratio);
    a.int("--num-dataset-entries", d.entries);
    a.num(
        "--inter-turn-delay-cap-seconds",
        d.inter_turn_delay_cap_seconds,
    );
    a.num("--max-idle-gap-cap-seconds", d.max_idle_gap_cap_seconds);
    a.num("--replay-speedup", d.replay_speedup);
    a.both("open-loop-replay", d.open_loop_replay);
    a.on("--open-loop-strict", d.open_loop_strict);
    a.on("--omit-kv-hints", d.omit_kv_hints);
    a.both("force-min-tokens", d.force_min_tokens);

    // Prompt, prefix prompt
    a.int(
        "--prompt-batch-size",
        prompts.batch_size.or(d.prompt_batch_size),
    );
    a.opt("--prompt-corpus", prompts.corpus.clone());
    if let Some(c) = prompts.cache_bust.as_ref().or(d.cache_bust.as_ref()) {
        a.push("--cache-bust", c.target.clone());
    }
    a.opt("--system-prompt", d.system_prompt.clone());
    a.opt("--system-prompt-file", d.system_prompt_file.clone());
    if let Some(pp) = &d.prefix_prompts {
        a.int("--prompt-prefix-pool-size", pp.pool_size);
        a.int("--prompt-prefix-length", pp.length);
        a.int("--shared-system-prompt-length", pp.shared_system_length);
        a.int("--user-context-prompt-length", pp.user_context_length);
    }

    // Audio, image, video
    let (audio_batch, length) = AUDIO_DEFAULTS;
    if let Some(au) = d
        .audio
        .as_ref()
        .filter(|au| au.batch_size.unwrap_or(audio_batch) > 0)
    {
        a.int("--audio-batch-size", au.batch_size);
        a.dist(
            "--audio-length-mean",
            "--audio-length-stddev",
            Some(au.length.unwrap_or(Dist::Fixed(length))),
        );
        a.opt("--audio-format", au.format.clone());
        a.opt(
            "--audio-depths",
            au.depths
                .as_ref()
                .map(|v| v.iter().map(u64::to_string).collect::<Vec<_>>().join(",")),
        );
        a.opt(
            "--audio-sample-rates",
            au.sample_rates
                .as_ref()
                .map(|v| v.iter().map(|r| num(*r)).collect::<Vec<_>>().join(",")),
        );
        a.int("--audio-num-channels", au.channels);
    }
    a.int("--audio-batch-size", d.audio_batch_size);
    let (image_batch, side, format) = IMAGE_DEFAULTS;
    if let Some(im) = d
        .images
        .as_ref()
        .filter(|im| im.batch_size.unwrap_or(image_batch) > 0)
    {
        a.dist(
            "--image-width-mean",
            "--image-width-stddev",
            Some(im.width.unwrap_or(Dist::Fixed(side))),
        );
        a.dist(
            "--image-height-mean",
            "--image-height-stddev",
            Some(im.height.unwrap_or(Dist::Fixed(side))),
        );
        a.int("--image-batch-size", im.batch_size);
        a.opt(
            "--image-format",
            Some(im.format.clone().unwrap_or_else(|| format.to_string())),
        );
        a.opt("--image-source", im.source.clone());
        a.opt("--image-source-sampling", im.source_sampling.clone());
    }
    a.int("--image-batch-size", d.image_batch_size);
    if let Some(v) = d
        .video
        .as_ref()
        .filter(|v| v.batch_size.unwrap_or(VIDEO_DEFAULT_BATCH) > 0)
    {
        a.int("--video-batch-size", v.batch_size);
        a.num("--video-duration", v.duration);
        a.int("--video-fps", v.fps);
        a.int("--video-width", v.width);
        a.int("--video-height", v.height);
        a.opt("--video-synth-type", v.synth_type.clone());
        a.opt("--video-format", v.format.clone());
        a.opt("--video-codec", v.codec.clone());
        if let Some(va) = &v.audio {
            a.num("--video-audio-sample-rate", va.sample_rate);
            a.int("--video-audio-num-channels", va.channels);
            a.opt("--video-audio-codec", va.codec.clone());
            a.int("--video-audio-depth", va.depth);
        }
    }
    a.int("--video-batch-size", d.video_batch_size);

    // ISL / OSL
    a.sweepable("--isl", isl.map(Dist::mean));
    a.sweepable("--isl-stddev", isl.and_then(Dist::stddev));
    a.int("--isl-block-size", prompts.block_size.or(d.block_size));
    a.opt(
        "--seq-dist",
        prompts.sequence_distribution.as_deref().map(seq_dist_text),
    );
    a.opt(
        "--random-range-ratio",
        prompts.random_range_ratio.map(range_ratio_text),
    );
    a.opt("--random-corpus-style", prompts.random_corpus_style.clone());
    a.sweepable("--osl", osl.map(Dist::mean));
    a.sweepable("--osl-stddev", osl.and_then(Dist::stddev));
    let drawn = |own: &Option<serde_json::Value>, inner: Option<&serde_json::Value>| {
        own.as_ref().or(inner).map(|v| v.to_string())
    };
    a.opt(
        "--isl-distribution",
        drawn(&d.isl_distribution, prompts.isl_distribution.as_ref()),
    );
    a.opt(
        "--osl-distribution",
        drawn(&d.osl_distribution, prompts.osl_distribution.as_ref()),
    );

    // Rankings
    if let Some(r) = &d.rankings {
        let (passages, passage_tokens, query_tokens) = RANKINGS_DEFAULTS;
        a.dist(
            "--rankings-passages-mean",
            "--rankings-passages-stddev",
            Some(r.passages.unwrap_or(Dist::Fixed(passages))),
        );
        a.dist(
            "--rankings-passages-prompt-token-mean",
            "--rankings-passages-prompt-token-stddev",
            Some(r.passage_tokens.unwrap_or(Dist::Fixed(passage_tokens))),
        );
        a.dist(
            "--rankings-query-prompt-token-mean",
            "--rankings-query-prompt-token-stddev",
            Some(r.query_tokens.unwrap_or(Dist::Fixed(query_tokens))),
        );
    }

    // Synthesis
    a.num("--synthesis-speedup-ratio", synthesis.speedup_ratio);
    a.num(
        "--synthesis-prefix-len-multiplier",
        synthesis.prefix_len_multiplier,
    );
    a.int(
        "--synthesis-prefix-root-multiplier",
        synthesis.prefix_root_multiplier,
    );
    a.num(
        "--synthesis-prompt-len-multiplier",
        synthesis.prompt_len_multiplier,
    );
    a.num(
        "--synthesis-output-len-multiplier",
        synthesis.output_len_multiplier,
    );
    a.int("--synthesis-max-isl", synthesis.max_isl);
    a.int("--synthesis-max-osl", synthesis.max_osl);

    // Load generator
    a.sweepable("--benchmark-duration", p.duration);
    a.num("--benchmark-grace-period", p.grace_period);
    a.sweepable("--concurrency", p.concurrency.map(|v| v as f64));
    a.sweepable("--request-count", p.requests.map(|v| v as f64));
    let rate_phase = matches!(
        kind,
        PhaseType::Poisson | PhaseType::Gamma | PhaseType::Constant
    );
    a.sweepable("--request-rate", if rate_phase { p.rate } else { None });
    if rate_phase && profiling.is_some() {
        a.push("--arrival-pattern", kind.name());
    }
    a.num("--arrival-smoothness", p.smoothness);
    a.num("--concurrency-ramp-duration", p.concurrency_ramp);
    a.num("--request-rate-ramp-duration", p.rate_ramp);
    a.sweepable(
        "--prefill-concurrency",
        p.prefill_concurrency.map(|v| v as f64),
    );
    a.num("--prefill-concurrency-ramp-duration", p.prefill_ramp);
    a.opt("--request-rate-series", p.rate_series.clone());

    // Fixed schedule
    if kind == PhaseType::FixedSchedule && profiling.is_some() {
        a.out.push("--fixed-schedule".to_string());
        a.on("--fixed-schedule-auto-offset", p.auto_offset);
        a.opt(
            "--fixed-schedule-start-offset",
            p.start_offset.map(|v| v.to_string()),
        );
        a.opt(
            "--fixed-schedule-end-offset",
            p.end_offset.map(|v| v.to_string()),
        );
    }

    // Request cancellation
    if let Some(c) = &p.cancellation {
        a.num("--request-cancellation-rate", c.rate);
        a.num("--request-cancellation-delay", c.delay);
    }

    // Goodput
    if let Some(slos) = b.slos.as_ref().or(f.slos.as_ref()) {
        if !slos.is_empty() {
            let text: Vec<String> = slos
                .iter()
                .map(|(k, v)| format!("{k}:{}", num(*v)))
                .collect();
            a.push("--goodput", text.join(" "));
        }
    }

    // User-centric rate
    if kind == PhaseType::UserCentric {
        a.num("--user-centric-rate", p.rate);
    }
    a.sweepable("--num-users", p.users.map(|v| v as f64));

    // Warmup
    if let Some(w) = warmup {
        a.int("--warmup-request-count", w.requests);
        a.num("--warmup-duration", w.duration);
        a.int("--num-warmup-sessions", w.sessions);
        a.int("--warmup-concurrency", w.concurrency);
        a.num("--warmup-request-rate", w.rate);
        if let Some(k @ (PhaseType::Poisson | PhaseType::Gamma | PhaseType::Constant)) = w.kind {
            a.push("--warmup-arrival-pattern", k.name());
        }
        a.num("--warmup-grace-period", w.grace_period);
        a.num("--warmup-concurrency-ramp-duration", w.concurrency_ramp);
        a.num("--warmup-request-rate-ramp-duration", w.rate_ramp);
        a.int("--warmup-prefill-concurrency", w.prefill_concurrency);
        a.num("--warmup-prefill-concurrency-ramp-duration", w.prefill_ramp);
    }

    // Output
    if let Some(art) = b.artifacts.as_ref().or(f.artifacts.as_ref()) {
        a.opt("--artifact-dir", art.dir.clone());
        a.num("--slice-duration", art.slice_duration);
        a.both("auto-plot", art.auto_plot);
        a.on("--plot-required", art.plot_required);
        a.opt("--profile-export-prefix", art.prefix.clone());
        if art.raw == Some(true) {
            a.push("--export-level", "raw");
        } else if art.records.as_ref().is_some_and(Vec::is_empty) {
            a.push("--export-level", "summary");
        }
        a.on("--export-http-trace", art.trace);
        a.on("--show-trace-timing", art.show_trace_timing);
    }

    // Server metrics, GPU telemetry
    if let Some(sm) = &b.server_metrics {
        if sm.enabled == Some(false) {
            a.out.push("--no-server-metrics".to_string());
        } else {
            if let Some(urls) = sm.urls.as_ref().filter(|u| !u.is_empty()) {
                a.out.push("--server-metrics".to_string());
                a.out.extend(urls.iter().cloned());
            }
            if let Some(formats) = &sm.formats {
                a.out.push("--server-metrics-formats".to_string());
                a.out.extend(formats.iter().cloned());
            }
        }
    }
    if let Some(g) = &b.gpu_telemetry {
        if g.enabled == Some(false) {
            a.out.push("--no-gpu-telemetry".to_string());
        } else {
            let mut sources: Vec<String> = g.urls.clone().unwrap_or_default();
            sources.extend(g.metrics_file.clone());
            sources.extend(g.collector.clone().filter(|c| c != "dcgm"));
            if g.mode.as_deref() == Some("realtime_dashboard") {
                sources.push("dashboard".to_string());
            }
            if !sources.is_empty() {
                a.out.push("--gpu-telemetry".to_string());
                a.out.extend(sources);
            }
        }
    }

    // Accuracy
    if let Some(acc) = &b.accuracy {
        a.opt("--accuracy-benchmark", acc.benchmark.clone());
        for t in acc.tasks.iter().flatten() {
            a.push("--accuracy-tasks", t.clone());
        }
        a.opt("--accuracy-n-shots", acc.n_shots.map(|n| n.to_string()));
        match acc.enable_cot {
            Some(true) => a.out.push("--accuracy-enable-cot".to_string()),
            Some(false) => a.out.push("--accuracy-no-enable-cot".to_string()),
            None => {}
        }
        a.opt("--accuracy-grader", acc.grader.clone());
        a.opt("--accuracy-system-prompt", acc.system_prompt.clone());
        a.on("--accuracy-verbose", acc.verbose);
    }

    // Multi-run
    if let Some(m) = &f.multi_run {
        a.opt("--num-profile-runs", m.num_runs.map(|v| v.to_string()));
        a.num("--profile-run-cooldown-seconds", m.cooldown_seconds);
        a.num("--confidence-level", m.confidence_level);
        a.both("set-consistent-seed", m.set_consistent_seed);
        a.both(
            "profile-run-disable-warmup-after-first",
            m.disable_warmup_after_first,
        );
        a.both("vary-seed-per-trial", m.vary_seed_per_trial);
        if let Some(c) = &m.convergence {
            a.push("--convergence-metric", c.metric.clone());
            a.opt("--convergence-stat", c.stat.clone());
            a.num("--convergence-threshold", c.threshold);
            a.opt("--convergence-mode", c.mode.clone());
        }
    }
    if let Some(s) = &f.sweep {
        a.num("--parameter-sweep-cooldown-seconds", s.cooldown_seconds);
        a.both("parameter-sweep-same-seed", s.same_seed);
        a.opt("--parameter-sweep-mode", s.iteration_order.clone());
        a.opt(
            "--sweep-type",
            s.kind.map(|k| match k {
                SweepType::Grid => "grid",
                SweepType::Zip => "zip",
            }),
        );
    }
    a.on("--no-sweep-table", f.no_sweep_table);
    debug_assert!(a.sweeps.is_empty(), "every sweepable flag has a slot");
    a.out
}
