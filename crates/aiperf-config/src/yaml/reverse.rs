//! `aiperf profile` arguments back to a run file (`config expand`).
//!
//! The arguments are parsed as the command line parses them; every value that differs from the
//! default goes to its YAML key. The result is then read back and compared with the original
//! arguments, field by field, so an argument a run file cannot express is reported by name
//! instead of being dropped.

use clap::{CommandFactory, Parser};
use indexmap::IndexMap;
use serde_json::Value as J;

use super::emit;
use super::model::*;
use super::YamlError;
use crate::cli::{Cli, Command, ProfileArgs};
use crate::magic_list::{One, Sweepable};
use aiperf_dataset::seq_dist::SeqDist;

fn fail(reason: impl Into<String>) -> YamlError {
    YamlError {
        location: "arguments".to_string(),
        line: None,
        reason: reason.into(),
    }
}

fn parse(args: &[String]) -> Result<ProfileArgs, YamlError> {
    let argv = ["aiperf", "profile"]
        .into_iter()
        .map(String::from)
        .chain(args.iter().cloned());
    match Cli::try_parse_from(argv) {
        Ok(Cli {
            command: Command::Profile(p),
        }) => Ok(*p),
        Ok(_) => Err(fail("not `aiperf profile` arguments")),
        Err(e) => Err(fail(
            e.to_string()
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ")
                .to_string(),
        )),
    }
}

/// The first value, and the list when there are several.
fn split<T: Clone + Into<f64>>(s: &Sweepable<T>) -> (f64, Option<Vec<f64>>) {
    let all: Vec<f64> = s.values().iter().cloned().map(Into::into).collect();
    (all[0], (all.len() > 1).then_some(all))
}

fn split_opt<T: Clone + Into<f64>>(s: &Option<Sweepable<T>>) -> (Option<f64>, Option<Vec<f64>>) {
    match s {
        Some(s) => {
            let (first, list) = split(s);
            (Some(first), list)
        }
        None => (None, None),
    }
}

fn ints<T: Clone + TryInto<u64>>(s: &Option<Sweepable<T>>) -> (Option<u64>, Option<Vec<f64>>) {
    match s {
        Some(s) => {
            let all: Vec<u64> = s
                .values()
                .iter()
                .map(|v| v.clone().try_into().unwrap_or(u64::MAX))
                .collect();
            (
                Some(all[0]),
                (all.len() > 1).then(|| all.iter().map(|&v| v as f64).collect()),
            )
        }
        None => (None, None),
    }
}

fn changed<T: PartialEq>(v: &T, default: &T) -> bool {
    v != default
}

fn some_if<T: PartialEq + Clone>(v: &T, default: &T) -> Option<T> {
    changed(v, default).then(|| v.clone())
}

fn dist(mean: f64, stddev: f64, given: bool) -> Option<Dist> {
    given.then(|| Dist::from_parts(mean, (stddev != 0.0).then_some(stddev)))
}

/// `--seq-dist` as `prompts.sequenceDistribution` entries.
fn seq_entries(text: &str) -> Result<Vec<SeqEntry>, YamlError> {
    let parsed = SeqDist::parse(text).map_err(|e| fail(format!("--seq-dist: {e}")))?;
    let side = |len: u32, sd: f64| Dist::from_parts(f64::from(len), (sd != 0.0).then_some(sd));
    Ok(parsed
        .pairs()
        .iter()
        .map(|p| SeqEntry {
            isl: side(p.isl, p.isl_stddev),
            osl: side(p.osl, p.osl_stddev),
            probability: p.probability,
        })
        .collect())
}

/// `--random-range-ratio` as a number or `{input, output}`.
fn range_ratio(text: &str) -> Result<RangeRatio, YamlError> {
    if let Ok(r) = text.trim().parse::<f64>() {
        return Ok(RangeRatio::Both(r));
    }
    let json: Option<J> = serde_json::from_str(text.trim()).ok();
    let side = |k: &str| json.as_ref().and_then(|j| j.get(k)).and_then(J::as_f64);
    match (side("input"), side("output")) {
        (Some(input), Some(output)) => Ok(RangeRatio::Split { input, output }),
        _ => Err(fail(format!(
            "--random-range-ratio '{text}': expected a number or {{\"input\": r, \"output\": r}}"
        ))),
    }
}

/// A sample rate in kHz, as AIPerf's YAML takes it (the flag also takes Hz, above 96).
fn khz(rate: f64) -> f64 {
    if rate > 96.0 {
        rate / 1000.0
    } else {
        rate
    }
}

/// The media and rankings sections of a synthetic dataset, each when one of its flags is
/// off its default. Keys whose YAML default differs from the flag's are always written, so
/// the section reads back as the same flags.
struct Media {
    images: Option<Images>,
    audio: Option<Audio>,
    video: Option<Video>,
    rankings: Option<Rankings>,
}

fn media_sections(p: &ProfileArgs, d: &ProfileArgs) -> Media {
    let spread = |mean: f64, sd: f64| Dist::from_parts(mean, (sd != 0.0).then_some(sd));
    let (pm, dm) = (&p.media, &d.media);
    let images_changed = changed(&p.image_width_mean, &d.image_width_mean)
        || changed(&p.image_width_stddev, &d.image_width_stddev)
        || changed(&p.image_height_mean, &d.image_height_mean)
        || changed(&p.image_height_stddev, &d.image_height_stddev)
        || changed(&p.image_batch_size, &d.image_batch_size)
        || changed(&p.image_format, &d.image_format)
        || changed(&p.image_source, &d.image_source)
        || changed(&pm.image_source_sampling, &dm.image_source_sampling);
    let images = images_changed.then(|| Images {
        batch_size: Some(p.image_batch_size as u64),
        width: Some(spread(p.image_width_mean, p.image_width_stddev)),
        height: Some(spread(p.image_height_mean, p.image_height_stddev)),
        format: Some(p.image_format.clone()),
        source: some_if(&p.image_source, &d.image_source),
        source_sampling: some_if(&pm.image_source_sampling, &dm.image_source_sampling),
    });
    let audio_changed = changed(&p.audio_batch_size, &d.audio_batch_size)
        || changed(&p.audio_length_mean, &d.audio_length_mean)
        || changed(&p.audio_length_stddev, &d.audio_length_stddev)
        || changed(&p.audio_format, &d.audio_format)
        || changed(&p.audio_depths, &d.audio_depths)
        || changed(&p.audio_sample_rates, &d.audio_sample_rates)
        || changed(&p.audio_num_channels, &d.audio_num_channels);
    let audio = audio_changed.then(|| Audio {
        batch_size: Some(p.audio_batch_size as u64),
        length: Some(spread(p.audio_length_mean, p.audio_length_stddev)),
        format: some_if(&p.audio_format, &d.audio_format),
        sample_rates: some_if(&p.audio_sample_rates, &d.audio_sample_rates),
        depths: some_if(&p.audio_depths, &d.audio_depths)
            .map(|v| v.into_iter().map(u64::from).collect()),
        channels: some_if(&p.audio_num_channels, &d.audio_num_channels).map(u64::from),
    });
    let video_audio = VideoAudio {
        sample_rate: some_if(
            &khz(pm.video_audio_sample_rate),
            &khz(dm.video_audio_sample_rate),
        ),
        channels: some_if(&pm.video_audio_channels, &dm.video_audio_channels).map(u64::from),
        codec: pm.video_audio_codec.clone(),
        depth: some_if(&pm.video_audio_depth, &dm.video_audio_depth).map(u64::from),
    };
    let video = Video {
        batch_size: Some(pm.video_batch_size as u64),
        duration: some_if(&pm.video_duration, &dm.video_duration),
        fps: some_if(&pm.video_fps, &dm.video_fps).map(u64::from),
        width: pm.video_width.map(u64::from),
        height: pm.video_height.map(u64::from),
        format: some_if(&pm.video_format, &dm.video_format),
        codec: some_if(&pm.video_codec, &dm.video_codec),
        synth_type: some_if(&pm.video_synth_type, &dm.video_synth_type),
        audio: (video_audio != VideoAudio::default()).then_some(video_audio),
    };
    let video_changed = video
        != Video {
            batch_size: Some(dm.video_batch_size as u64),
            ..Video::default()
        };
    let rankings_changed = changed(&p.rankings_passages_mean, &d.rankings_passages_mean)
        || changed(&p.rankings_passages_stddev, &d.rankings_passages_stddev)
        || changed(
            &p.rankings_passages_prompt_token_mean,
            &d.rankings_passages_prompt_token_mean,
        )
        || changed(
            &p.rankings_passages_prompt_token_stddev,
            &d.rankings_passages_prompt_token_stddev,
        )
        || changed(
            &p.rankings_query_prompt_token_mean,
            &d.rankings_query_prompt_token_mean,
        )
        || changed(
            &p.rankings_query_prompt_token_stddev,
            &d.rankings_query_prompt_token_stddev,
        );
    let counts = |mean: usize, sd: usize| spread(mean as f64, sd as f64);
    let rankings = rankings_changed.then(|| Rankings {
        passages: Some(counts(p.rankings_passages_mean, p.rankings_passages_stddev)),
        passage_tokens: Some(counts(
            p.rankings_passages_prompt_token_mean,
            p.rankings_passages_prompt_token_stddev,
        )),
        query_tokens: Some(counts(
            p.rankings_query_prompt_token_mean,
            p.rankings_query_prompt_token_stddev,
        )),
    });
    Media {
        images,
        audio,
        video: video_changed.then_some(video),
        rankings,
    }
}

/// The run file the arguments describe.
fn run_file(p: &ProfileArgs, d: &ProfileArgs) -> Result<RunFile, YamlError> {
    let mut sweep: IndexMap<String, Vec<SweepNumber>> = IndexMap::new();
    let mut swept = |path: &str, list: Option<Vec<f64>>| {
        if let Some(list) = list {
            sweep.insert(
                path.to_string(),
                list.into_iter().map(SweepNumber).collect(),
            );
        }
    };

    // Endpoint
    let mut endpoint = Endpoint {
        kind: Some(p.endpoint_type.clone()),
        path: p.custom_endpoint.clone(),
        streaming: p.streaming.then_some(true),
        timeout: some_if(&p.request_timeout_seconds, &d.request_timeout_seconds),
        api_key: some_if(&p.api_key, &d.api_key).flatten(),
        connection_reuse: some_if(&p.connection_reuse_strategy, &d.connection_reuse_strategy),
        use_legacy_max_tokens: p.use_legacy_max_tokens.then_some(true),
        use_server_token_count: p.use_server_token_count.then_some(true),
        per_chunk_usage: p.per_chunk_usage.then_some(true),
        session_header: p.session_header.clone(),
        download_video_content: p.download_video_content.then_some(true),
        wait_for_model_timeout: some_if(&p.wait_for_model_timeout, &d.wait_for_model_timeout),
        wait_for_model_interval: some_if(&p.wait_for_model_interval, &d.wait_for_model_interval),
        wait_for_model_mode: some_if(&p.wait_for_model_mode, &d.wait_for_model_mode),
        ..Endpoint::default()
    };
    match p.url.as_slice() {
        [one] => endpoint.url = Some(one.clone()),
        many => endpoint.urls = Some(many.to_vec()),
    }
    if !p.header.is_empty() {
        let mut headers = IndexMap::new();
        for h in &p.header {
            let (k, v) = h
                .split_once(':')
                .ok_or_else(|| fail(format!("--header '{h}': expected Name:Value")))?;
            headers.insert(k.trim().to_string(), v.trim().to_string());
        }
        endpoint.headers = Some(headers);
    }
    if !p.extra_inputs.is_empty() {
        let map =
            crate::resolve::parse_extra_inputs(&p.extra_inputs).map_err(|e| fail(e.to_string()))?;
        endpoint.extra = Some(map.into_iter().collect());
    }

    // Dataset
    let isl_given = changed(&p.isl_mean, &d.isl_mean) || changed(&p.isl_stddev, &d.isl_stddev);
    let (isl_mean, isl_list) = split(&p.isl_mean);
    let (isl_stddev, isl_stddev_list) = split(&p.isl_stddev);
    swept("datasets.default.prompts.isl.mean", isl_list);
    swept("datasets.default.prompts.isl.stddev", isl_stddev_list);
    let (osl_mean, osl_list) = split_opt(&p.osl_mean);
    let (osl_stddev, osl_stddev_list) = split(&p.osl_stddev);
    swept("datasets.default.prompts.osl.mean", osl_list);
    swept("datasets.default.prompts.osl.stddev", osl_stddev_list);
    let (turn_mean, turn_list) = split(&p.turn_mean);
    swept("datasets.default.turns.mean", turn_list);
    let kind = if p.public_dataset.is_some() {
        DatasetType::Public
    } else if p.input_file.is_some() {
        DatasetType::File
    } else {
        DatasetType::Synthetic
    };
    let synthetic = kind == DatasetType::Synthetic;
    let file = kind == DatasetType::File;
    let trace = !synthetic;
    let sf = &p.shaping.flags;
    let cache_bust =
        some_if(&sf.cache_bust, &d.shaping.flags.cache_bust).map(|target| CacheBust { target });
    let batch_size = some_if(&(p.prompt_batch_size as u64), &(d.prompt_batch_size as u64));
    let block_size = p.isl_block_size.map(|v| v as u64);
    let osl = osl_mean.map(|m| Dist::from_parts(m, (osl_stddev != 0.0).then_some(osl_stddev)));
    let prompts = Prompts {
        isl: dist(isl_mean, isl_stddev, isl_given),
        // A file or public dataset takes `osl`, `blockSize` and `promptBatchSize` beside
        // `prompts` (AIPerf's nesting).
        osl: osl.filter(|_| synthetic),
        batch_size: batch_size.filter(|_| !file),
        block_size: block_size.filter(|_| !file),
        cache_bust: cache_bust.clone().filter(|_| synthetic),
        corpus: sf.prompt_corpus.clone(),
        sequence_distribution: match &sf.seq_dist {
            Some(text) if synthetic => Some(seq_entries(text)?),
            _ => None,
        },
        random_range_ratio: match &sf.random_range_ratio {
            Some(text) if synthetic => Some(range_ratio(text)?),
            _ => None,
        },
        random_corpus_style: some_if(
            &sf.random_corpus_style,
            &d.shaping.flags.random_corpus_style,
        )
        .filter(|_| synthetic),
        isl_distribution: sf
            .isl_distribution
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok()),
        osl_distribution: sf
            .osl_distribution
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok()),
    };
    let prefix = PrefixPrompts {
        pool_size: some_if(&(p.prefix_pool_size as u64), &(d.prefix_pool_size as u64)),
        length: some_if(&(p.prefix_length as u64), &(d.prefix_length as u64)),
        shared_system_length: p.shared_system_prompt_length.map(|v| v as u64),
        user_context_length: p.user_context_prompt_length.map(|v| v as u64),
    };
    let media = media_sections(p, d);
    let tr = &p.trace_replay;
    let both = |on: bool, off: bool| {
        if on {
            Some(true)
        } else if off {
            Some(false)
        } else {
            None
        }
    };
    let synthesis = Synthesis {
        speedup_ratio: some_if(&p.synthesis_speedup_ratio, &d.synthesis_speedup_ratio),
        prefix_len_multiplier: some_if(
            &p.synthesis_prefix_len_multiplier,
            &d.synthesis_prefix_len_multiplier,
        ),
        prefix_root_multiplier: some_if(
            &p.synthesis_prefix_root_multiplier,
            &d.synthesis_prefix_root_multiplier,
        )
        .map(u64::from),
        prompt_len_multiplier: some_if(
            &p.synthesis_prompt_len_multiplier,
            &d.synthesis_prompt_len_multiplier,
        ),
        output_len_multiplier: some_if(
            &p.synthesis_output_len_multiplier,
            &d.synthesis_output_len_multiplier,
        ),
        max_isl: p.synthesis_max_isl,
        max_osl: p.synthesis_max_osl,
        allow_dataset_wrap: both(p.allow_dataset_wrap, p.no_allow_dataset_wrap),
    };
    let mut filters = IndexMap::new();
    for f in &p.dataset_filter {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| fail(format!("--dataset-filter '{f}': expected key=value")))?;
        filters.insert(k.trim().to_string(), v.trim().to_string());
    }
    let dataset = Dataset {
        kind: Some(kind),
        entries: p.num_dataset_entries.map(|v| v as u64),
        sampling: p.dataset_sampling_strategy.clone(),
        prompts: (prompts != Prompts::default()).then_some(prompts),
        turns: dist(
            turn_mean,
            p.turn_stddev,
            changed(&p.turn_mean, &d.turn_mean) || changed(&p.turn_stddev, &d.turn_stddev),
        ),
        turn_delay: dist(
            p.turn_delay_mean,
            p.turn_delay_stddev,
            changed(&p.turn_delay_mean, &d.turn_delay_mean)
                || changed(&p.turn_delay_stddev, &d.turn_delay_stddev),
        ),
        turn_delay_ratio: some_if(&p.turn_delay_ratio, &d.turn_delay_ratio),
        prefix_prompts: (prefix != PrefixPrompts::default()).then_some(prefix),
        system_prompt: p.system_prompt.clone(),
        system_prompt_file: p
            .system_prompt_file
            .as_ref()
            .map(|f| f.display().to_string()),
        // The public dataset's file, when given, is the input file.
        path: p.input_file.as_ref().map(|f| f.display().to_string()),
        format: p.custom_dataset_type.clone(),
        dataset: p.public_dataset.clone(),
        images: media.images.filter(|_| synthetic),
        audio: media.audio.filter(|_| synthetic),
        video: media.video.filter(|_| synthetic),
        rankings: media.rankings.filter(|_| synthetic),
        synthesis: (trace && synthesis != Synthesis::default()).then_some(synthesis),
        cache_bust: cache_bust.filter(|_| trace),
        osl: osl.filter(|_| trace),
        block_size: block_size.filter(|_| file),
        prompt_batch_size: batch_size.filter(|_| file),
        image_batch_size: some_if(&p.image_batch_size, &d.image_batch_size)
            .map(|v| v as u64)
            .filter(|_| file),
        audio_batch_size: some_if(&p.audio_batch_size, &d.audio_batch_size)
            .map(|v| v as u64)
            .filter(|_| file),
        video_batch_size: some_if(&p.media.video_batch_size, &d.media.video_batch_size)
            .map(|v| v as u64)
            .filter(|_| file),
        trace_session_sample_ratio: tr.trace_session_sample_ratio.filter(|_| file),
        inter_turn_delay_cap_seconds: tr.inter_turn_delay_cap_seconds.filter(|_| trace),
        max_idle_gap_cap_seconds: tr.max_idle_gap_cap_seconds.filter(|_| file),
        replay_speedup: tr.replay_speedup.filter(|_| file),
        open_loop_replay: both(tr.open_loop_replay, tr.no_open_loop_replay).filter(|_| file),
        open_loop_strict: tr.open_loop_strict.then_some(true).filter(|_| file),
        omit_kv_hints: tr.omit_kv_hints.then_some(true).filter(|_| file),
        force_min_tokens: both(tr.force_min_tokens, tr.no_force_min_tokens).filter(|_| file),
        ignore_trace_delays: tr.ignore_trace_delays.then_some(true).filter(|_| trace),
        use_think_time_only: p.use_think_time_only.then_some(true).filter(|_| trace),
        max_context_length: p.max_context_length.filter(|_| trace),
        hf_subset: p.hf_subset.clone(),
        filters: (!filters.is_empty()).then_some(filters),
        hf_weka_dataset: p.hf_weka_dataset.clone(),
        ..Dataset::default()
    };
    if kind == DatasetType::Public && dataset.path.is_some() {
        return Err(fail(
            "--input-file with --public-dataset has no equivalent in a run file",
        ));
    }

    // Phases
    let phase_type = if p.fixed_schedule {
        PhaseType::FixedSchedule
    } else if p.user_centric_rate.is_some() {
        PhaseType::UserCentric
    } else if p.request_rate.is_some() {
        match p.arrival_pattern.as_deref() {
            Some("gamma") => PhaseType::Gamma,
            Some("constant") => PhaseType::Constant,
            _ => PhaseType::Poisson,
        }
    } else {
        PhaseType::Concurrency
    };
    let rate_type = matches!(
        phase_type,
        PhaseType::Poisson | PhaseType::Gamma | PhaseType::Constant
    );
    let (concurrency, list) = ints(&p.concurrency);
    swept("phases.profiling.concurrency", list);
    let (rate, list) = split_opt(&p.request_rate);
    swept("phases.profiling.rate", list);
    let (requests, list) = ints(&p.request_count);
    swept("phases.profiling.requests", list);
    let (duration, list) = split_opt(&p.benchmark_duration);
    swept("phases.profiling.duration", list);
    let (sessions, list) = ints(&p.conversation_num);
    swept("phases.profiling.sessions", list);
    let (users, list) = ints(&p.num_users);
    swept("phases.profiling.users", list);
    let profiling = Phase {
        name: Some("profiling".to_string()),
        kind: Some(phase_type),
        concurrency,
        rate: if phase_type == PhaseType::UserCentric {
            p.user_centric_rate
        } else {
            rate
        },
        requests,
        duration,
        sessions,
        users,
        grace_period: p.benchmark_grace_period,
        smoothness: if phase_type == PhaseType::Gamma {
            p.arrival_smoothness
        } else {
            None
        },
        concurrency_ramp: p.concurrency_ramp_duration,
        rate_ramp: if rate_type {
            p.request_rate_ramp_duration
        } else {
            None
        },
        prefill_concurrency: p.prefill_concurrency.one().map(|v| v as u64),
        prefill_ramp: p.prefill_concurrency_ramp_duration,
        rate_series: p
            .request_rate_series
            .as_ref()
            .map(|f| f.display().to_string()),
        auto_offset: (p.fixed_schedule && p.fixed_schedule_auto_offset).then_some(true),
        start_offset: p.fixed_schedule_start_offset.filter(|_| p.fixed_schedule),
        end_offset: p.fixed_schedule_end_offset.filter(|_| p.fixed_schedule),
        cancellation: (p.request_cancellation_rate.is_some()
            || p.request_cancellation_delay.is_some())
        .then_some(Cancellation {
            rate: p.request_cancellation_rate,
            delay: p.request_cancellation_delay,
        }),
        ..Phase::default()
    };
    let mut phases = Vec::new();
    if p.warmup_request_count.is_some()
        || p.warmup_duration.is_some()
        || p.num_warmup_sessions.is_some()
    {
        let pattern = p.warmup_arrival_pattern.as_deref().and_then(|name| {
            PhaseType::ALL
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| *t)
        });
        phases.push(Phase {
            name: Some("warmup".to_string()),
            exclude_from_results: Some(true),
            kind: pattern.filter(|_| p.warmup_request_rate.is_some()),
            requests: p.warmup_request_count,
            duration: p.warmup_duration,
            sessions: p.num_warmup_sessions,
            concurrency: p.warmup_concurrency.map(|c| c as u64),
            rate: p.warmup_request_rate,
            grace_period: p.warmup_grace_period,
            concurrency_ramp: p.warmup_concurrency_ramp_duration,
            rate_ramp: p.warmup_request_rate_ramp_duration,
            prefill_concurrency: p.warmup_prefill_concurrency.map(|c| c as u64),
            prefill_ramp: p.warmup_prefill_concurrency_ramp_duration,
            ..Phase::default()
        });
    }
    let bare = Phase {
        name: Some("profiling".to_string()),
        kind: Some(PhaseType::Concurrency),
        ..Phase::default()
    };
    if profiling != bare {
        phases.push(profiling);
    }

    // Goodput
    let slos = match &p.goodput {
        Some(text) => {
            let mut slos = IndexMap::new();
            for pair in text.split_whitespace() {
                let value = pair
                    .split_once(':')
                    .and_then(|(k, v)| Some((k, v.trim().parse::<f64>().ok()?)));
                let Some((k, v)) = value else {
                    return Err(fail(format!("--goodput '{pair}': expected metric:value")));
                };
                slos.insert(k.to_string(), v);
            }
            Some(slos)
        }
        None => None,
    };

    // Multi-run
    let multi_run = MultiRun {
        num_runs: some_if(&p.num_profile_runs, &d.num_profile_runs),
        cooldown_seconds: p.profile_run_cooldown_seconds,
        confidence_level: some_if(&p.confidence_level, &d.confidence_level),
        set_consistent_seed: both(p.set_consistent_seed, p.no_set_consistent_seed),
        vary_seed_per_trial: both(p.vary_seed_per_trial, p.no_vary_seed_per_trial),
        disable_warmup_after_first: both(
            p.profile_run_disable_warmup_after_first,
            p.no_profile_run_disable_warmup_after_first,
        ),
        convergence: p.convergence_metric.as_ref().map(|metric| Convergence {
            metric: metric.clone(),
            stat: some_if(&p.convergence_stat, &d.convergence_stat),
            mode: some_if(&p.convergence_mode, &d.convergence_mode),
            threshold: p.convergence_threshold,
            min_runs: None,
        }),
    };
    let sweep = (!sweep.is_empty()).then(|| Sweep {
        kind: Some(if p.sweep_type == "zip" {
            SweepType::Zip
        } else {
            SweepType::Grid
        }),
        parameters: sweep,
        cooldown_seconds: p.parameter_sweep_cooldown_seconds,
        same_seed: both(p.parameter_sweep_same_seed, p.no_parameter_sweep_same_seed),
        iteration_order: some_if(&p.parameter_sweep_mode, &d.parameter_sweep_mode),
    });

    let tokenizer = Tokenizer {
        name: p.tokenizer.clone(),
        revision: some_if(&p.tokenizer_revision, &d.tokenizer_revision),
        trust_remote_code: p.tokenizer_trust_remote_code.then_some(true),
        apply_chat_template: p.apply_chat_template.then_some(true),
    };
    let artifacts = Artifacts {
        dir: p.artifact_dir.as_ref().map(|d| d.display().to_string()),
        slice_duration: p.slice_duration,
        auto_plot: both(p.auto_plot, p.no_auto_plot),
        plot_required: p.plot_required.then_some(true),
        records: (p.export_level.eq_ignore_ascii_case("summary")).then(Vec::new),
        raw: p.export_level.eq_ignore_ascii_case("raw").then_some(true),
        ..Artifacts::default()
    };
    let accuracy = accuracy_block(p)?;
    let (model, models) = match p.model_names.as_slice() {
        [] => (None, None),
        [one] => (Some(one.clone()), None),
        many => (None, Some(many.to_vec())),
    };
    Ok(RunFile {
        schema_version: Some("2.0".to_string()),
        random_seed: p.random_seed,
        multi_run: (multi_run != MultiRun::default()).then_some(multi_run),
        sweep,
        no_sweep_table: p.no_sweep_table.then_some(true),
        benchmark: Benchmark {
            model,
            models,
            endpoint: Some(endpoint),
            dataset: Some(dataset),
            phases: (!phases.is_empty()).then_some(phases),
            slos,
            artifacts: (artifacts != Artifacts::default()).then_some(artifacts),
            tokenizer: (tokenizer != Tokenizer::default()).then_some(tokenizer),
            accuracy,
            ..Benchmark::default()
        },
        ..RunFile::default()
    })
}

/// `--accuracy-*` as `benchmark.accuracy` (names lower-cased, tasks one per item), when any
/// is given; what a run file refuses (no benchmark, shots out of range) is named.
fn accuracy_block(p: &ProfileArgs) -> Result<Option<AccuracyBlock>, YamlError> {
    let acc = &p.accuracy;
    let tasks = split_tasks(&acc.accuracy_tasks);
    let block = AccuracyBlock {
        benchmark: acc
            .accuracy_benchmark
            .as_deref()
            .map(str::to_ascii_lowercase),
        tasks: (!tasks.is_empty()).then_some(tasks),
        n_shots: acc
            .accuracy_n_shots
            .map(|n| {
                u32::try_from(n)
                    .ok()
                    .filter(|n| *n <= 32)
                    .ok_or_else(|| fail(format!("--accuracy-n-shots {n}: must be 0 to 32")))
            })
            .transpose()?,
        enable_cot: if acc.accuracy_enable_cot {
            Some(true)
        } else if acc.accuracy_no_enable_cot {
            Some(false)
        } else {
            None
        },
        grader: acc.accuracy_grader.as_deref().map(str::to_ascii_lowercase),
        system_prompt: acc.accuracy_system_prompt.clone(),
        verbose: acc.accuracy_verbose.then_some(true),
    };
    if block == AccuracyBlock::default() {
        return Ok(None);
    }
    if block.benchmark.is_none() {
        let set: Vec<&str> = [
            (block.tasks.is_some(), "--accuracy-tasks"),
            (block.n_shots.is_some(), "--accuracy-n-shots"),
            (block.enable_cot.is_some(), "--accuracy-enable-cot"),
            (block.grader.is_some(), "--accuracy-grader"),
            (block.system_prompt.is_some(), "--accuracy-system-prompt"),
            (block.verbose.is_some(), "--accuracy-verbose"),
        ]
        .into_iter()
        .filter_map(|(given, flag)| given.then_some(flag))
        .collect();
        return Err(fail(format!(
            "{} without --accuracy-benchmark has no equivalent in a run file",
            set.join(", ")
        )));
    }
    Ok(Some(block))
}

/// `--accuracy-tasks a,b --accuracy-tasks c` as `[a, b, c]` (trimmed, empty names dropped, as
/// the resolver reads them).
fn split_tasks(raw: &[String]) -> Vec<String> {
    raw.iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// Equivalent spellings made equal before the arguments are compared.
pub(super) fn normalise(p: &mut ProfileArgs) {
    let sf = &mut p.shaping.flags;
    if let Some(entries) = sf.seq_dist.as_deref().and_then(|t| seq_entries(t).ok()) {
        sf.seq_dist = Some(emit::seq_dist_text(&entries));
    }
    if let Some(r) = sf
        .random_range_ratio
        .as_deref()
        .and_then(|t| range_ratio(t).ok())
    {
        sf.random_range_ratio = Some(emit::range_ratio_text(r));
    }
    p.media.video_audio_sample_rate = khz(p.media.video_audio_sample_rate);
    let acc = &mut p.accuracy;
    acc.accuracy_tasks = split_tasks(&acc.accuracy_tasks);
    for name in [&mut acc.accuracy_benchmark, &mut acc.accuracy_grader]
        .into_iter()
        .flatten()
    {
        *name = name.to_ascii_lowercase();
    }
    for f in &mut p.dataset_filter {
        if let Some((k, v)) = f.split_once('=') {
            *f = format!("{}={}", k.trim(), v.trim());
        }
    }
    for h in &mut p.header {
        if let Some((k, v)) = h.split_once(':') {
            *h = format!("{}:{}", k.trim(), v.trim());
        }
    }
    if let Ok(map) = crate::resolve::parse_extra_inputs(&p.extra_inputs) {
        p.extra_inputs = if map.is_empty() {
            Vec::new()
        } else {
            vec![J::Object(map).to_string()]
        };
    }
    if let Some(g) = &p.goodput {
        let pairs: Vec<String> = g
            .split_whitespace()
            .map(|pair| match pair.split_once(':') {
                Some((k, v)) => match v.parse::<f64>() {
                    Ok(f) => format!("{k}:{}", emit::num(f)),
                    Err(_) => pair.to_string(),
                },
                None => pair.to_string(),
            })
            .collect();
        p.goodput = Some(pairs.join(" "));
    }
}

/// The first field whose value differs, in `{:#?}` order: the innermost enclosing field that
/// is a flag of its own (so a difference inside a flattened group such as `shaping` names its
/// flag), else the top-level field.
pub(super) fn first_difference(a: &ProfileArgs, b: &ProfileArgs) -> Option<String> {
    let (da, db) = (format!("{a:#?}"), format!("{b:#?}"));
    // The field names enclosing the current line, by indentation.
    let mut names: Vec<(usize, String)> = Vec::new();
    let pick = |names: &[(usize, String)]| {
        names
            .iter()
            .rev()
            .find(|(_, n)| is_flag(n))
            .or(names.first())
            .map_or_else(|| "?".to_string(), |(_, n)| n.clone())
    };
    for (la, lb) in da.lines().zip(db.lines()) {
        let indent = la.len() - la.trim_start().len();
        let name = la
            .trim_start()
            .split_once(": ")
            .map(|(n, _)| n)
            .or_else(|| la.trim_start().strip_suffix(':'))
            .filter(|n| {
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            });
        if let Some(name) = name.filter(|_| indent >= 4) {
            names.retain(|(i, _)| *i < indent);
            names.push((indent, name.to_string()));
        }
        if la != lb {
            return Some(pick(&names));
        }
    }
    (da.lines().count() != db.lines().count()).then(|| pick(&names))
}

/// Whether `id` is the id of one of `aiperf profile`'s arguments.
fn is_flag(id: &str) -> bool {
    Cli::command()
        .find_subcommand("profile")
        .is_some_and(|sub| sub.get_arguments().any(|a| a.get_id().as_str() == id))
}

fn flag_of(field: &str) -> String {
    let cmd = Cli::command();
    cmd.find_subcommand("profile")
        .and_then(|sub| {
            sub.get_arguments()
                .find(|a| a.get_id().as_str() == field)
                .and_then(|a| a.get_long().map(|l| format!("--{l}")))
        })
        .unwrap_or_else(|| format!("--{}", field.replace('_', "-")))
}

pub(crate) fn to_yaml(args: &[String]) -> Result<String, YamlError> {
    let p = parse(args)?;
    let d = parse(&[])?;
    let file = run_file(&p, &d)?;
    let back = emit::args(&file);
    let mut p2 = parse(&back).map_err(|e| {
        fail(format!(
            "internal error: the run file does not read back ({})",
            e.reason
        ))
    })?;
    let mut p1 = p.clone();
    normalise(&mut p1);
    normalise(&mut p2);
    if let Some(field) = first_difference(&p1, &p2) {
        return Err(fail(format!(
            "{} has no equivalent in a run file (in this combination)",
            flag_of(&field)
        )));
    }
    let mut value = serde_json::to_value(&file).map_err(|e| fail(e.to_string()))?;
    prune(&mut value);
    let mut out = String::from("# aiperf run file (schema 2.0)\n");
    write_map(&mut out, value.as_object().expect("a struct"), 0);
    Ok(out)
}

/// Drops unset fields (nulls) and empty sections; data mappings (request fields, headers,
/// SLOs, sweep values) are kept as they are.
fn prune(v: &mut J) {
    match v {
        J::Object(map) => {
            for (k, child) in map.iter_mut() {
                if !matches!(
                    k.as_str(),
                    "extra" | "headers" | "slos" | "parameters" | "variables" | "filters"
                ) {
                    prune(child);
                }
            }
            map.retain(|_, c| !c.is_null() && !matches!(c, J::Object(m) if m.is_empty()));
        }
        J::Array(items) => items.iter_mut().for_each(prune),
        _ => {}
    }
}

/// Text that YAML reads back as the same string without quotes.
fn plain(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let lower = s.to_ascii_lowercase();
    (first.is_ascii_alphabetic()
        || first == '/'
        || first == '_'
        || (first == '.' && s.len() > 1 && s[1..].starts_with('/')))
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@+".contains(c))
        && !s.ends_with(':')
        && !matches!(
            lower.as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "nan" | "inf"
        )
}

fn scalar(v: &J) -> String {
    match v {
        J::String(s) if plain(s) => s.clone(),
        J::String(s) => J::String(s.clone()).to_string(),
        // Whole numbers without a fraction: the reader takes them for either type.
        J::Number(n) => match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() => emit::num(f).replace("inf", ".inf"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn key(k: &str) -> String {
    if plain(k) {
        k.to_string()
    } else {
        J::String(k.to_string()).to_string()
    }
}

fn is_scalar(v: &J) -> bool {
    !matches!(v, J::Object(_) | J::Array(_))
}

fn flow(v: &J) -> String {
    match v {
        J::Array(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
        J::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", key(k), flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => scalar(other),
    }
}

fn write_map(out: &mut String, map: &serde_json::Map<String, J>, indent: usize) {
    let pad = " ".repeat(indent);
    for (k, v) in map {
        match v {
            J::Object(m)
                if !(m.values().all(is_scalar)
                    && m.keys().all(|k| k == "mean" || k == "stddev")) =>
            {
                out.push_str(&format!("{pad}{}:\n", key(k)));
                write_map(out, m, indent + 2);
            }
            J::Array(items) if items.iter().any(|i| i.is_object()) => {
                out.push_str(&format!("{pad}{}:\n", key(k)));
                for item in items {
                    match item {
                        J::Object(m) => {
                            let mut inner = String::new();
                            write_map(&mut inner, m, indent + 4);
                            let inner =
                                inner.replacen(&" ".repeat(indent + 4), &format!("{pad}  - "), 1);
                            out.push_str(&inner);
                        }
                        other => out.push_str(&format!("{pad}  - {}\n", flow(other))),
                    }
                }
            }
            other => out.push_str(&format!("{pad}{}: {}\n", key(k), flow(other))),
        }
    }
}
