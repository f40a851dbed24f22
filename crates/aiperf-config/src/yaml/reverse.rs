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
use crate::magic_list::Sweepable;

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
    let prompts = Prompts {
        isl: dist(isl_mean, isl_stddev, isl_given),
        osl: osl_mean.map(|m| Dist::from_parts(m, (osl_stddev != 0.0).then_some(osl_stddev))),
        batch_size: some_if(&(p.prompt_batch_size as u64), &(d.prompt_batch_size as u64)),
        block_size: p.isl_block_size.map(|v| v as u64),
    };
    let prefix = PrefixPrompts {
        pool_size: some_if(&(p.prefix_pool_size as u64), &(d.prefix_pool_size as u64)),
        length: some_if(&(p.prefix_length as u64), &(d.prefix_length as u64)),
        shared_system_length: p.shared_system_prompt_length.map(|v| v as u64),
        user_context_length: p.user_context_prompt_length.map(|v| v as u64),
    };
    let kind = if p.public_dataset.is_some() {
        DatasetType::Public
    } else if p.input_file.is_some() {
        DatasetType::File
    } else {
        DatasetType::Synthetic
    };
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
    if p.warmup_request_count.is_some() || p.warmup_duration.is_some() {
        phases.push(Phase {
            name: Some("warmup".to_string()),
            exclude_from_results: Some(true),
            requests: p.warmup_request_count,
            duration: p.warmup_duration,
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
    let both = |on: bool, off: bool| {
        if on {
            Some(true)
        } else if off {
            Some(false)
        } else {
            None
        }
    };
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
    };
    let artifacts = Artifacts {
        dir: p.artifact_dir.as_ref().map(|d| d.display().to_string()),
        slice_duration: p.slice_duration,
        auto_plot: both(p.auto_plot, p.no_auto_plot),
        plot_required: p.plot_required.then_some(true),
    };
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
            ..Benchmark::default()
        },
        ..RunFile::default()
    })
}

/// Equivalent spellings made equal before the arguments are compared.
fn normalise(p: &mut ProfileArgs) {
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

/// The first top-level field whose value differs, in `{:#?}` order.
fn first_difference(a: &ProfileArgs, b: &ProfileArgs) -> Option<String> {
    let (da, db) = (format!("{a:#?}"), format!("{b:#?}"));
    let mut field = None;
    for (la, lb) in da.lines().zip(db.lines()) {
        if let Some(name) = la
            .strip_prefix("    ")
            .filter(|l| !l.starts_with(' '))
            .and_then(|l| l.split_once(':'))
            .map(|(n, _)| n.to_string())
        {
            field = Some(name);
        }
        if la != lb {
            return field.or_else(|| Some("?".to_string()));
        }
    }
    (da.lines().count() != db.lines().count()).then(|| field.unwrap_or_default())
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
                    "extra" | "headers" | "slos" | "parameters" | "variables"
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
