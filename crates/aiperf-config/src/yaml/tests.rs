use std::io::Write;

use aiperf_plugins::Registry;
use clap::Parser;

use super::*;
use crate::cli::{Cli, Command, ProfileArgs};
use crate::resolve::{ProfileConfig, RunSet};

fn no_env(_: &str) -> Option<String> {
    None
}

fn load(text: &str) -> Result<Vec<String>, YamlError> {
    load_with_env(text, "run.yaml", &no_env)
}

fn err(text: &str) -> String {
    load(text).unwrap_err().to_string()
}

fn profile_args(args: &[String]) -> ProfileArgs {
    let argv = ["aiperf", "profile"]
        .into_iter()
        .map(String::from)
        .chain(args.iter().cloned());
    match Cli::try_parse_from(argv) {
        Ok(Cli {
            command: Command::Profile(p),
        }) => *p,
        other => panic!("{args:?} does not parse: {other:?}"),
    }
}

fn resolve(args: &[String]) -> RunSet {
    let argv: Vec<String> = ["aiperf", "profile"]
        .into_iter()
        .map(String::from)
        .chain(args.iter().cloned())
        .collect();
    ProfileConfig::resolve_set(profile_args(args), &argv, &Registry::builtin())
        .unwrap_or_else(|e| panic!("{args:?} does not resolve: {e}"))
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// A small mooncake trace, for the templates and runs that need an input file.
fn trace_file() -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new()
        .suffix(".jsonl")
        .tempfile()
        .unwrap();
    writeln!(
        f,
        "{{\"timestamp\": 0, \"input_length\": 512, \"output_length\": 128}}\n\
         {{\"timestamp\": 50, \"input_length\": 256, \"output_length\": 64}}"
    )
    .unwrap();
    f
}

#[test]
fn every_template_loads_parses_and_resolves() {
    let trace = trace_file();
    let trace_path = trace.path().display().to_string();
    let env = move |name: &str| {
        matches!(name, "TRACE_FILE" | "SCHEDULE_FILE").then(|| trace_path.clone())
    };
    assert_eq!(templates().len(), 21);
    for name in templates() {
        let text = template(name).unwrap();
        let args = load_with_env(text, &format!("{name}.yaml"), &env)
            .unwrap_or_else(|e| panic!("template {name}: {e}"));
        let set = resolve(&args);
        assert!(!set.variations[0].config.models.is_empty(), "{name}");
    }
    assert_eq!(template("minimal.yaml"), template("minimal"));
    assert!(template("nope").is_none());
}

#[test]
fn templates_validate_against_the_schema() {
    let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for name in templates() {
        let mut root = tree::parse(template(name).unwrap()).unwrap();
        let vars = take_variables(&mut root, &no_env).unwrap();
        subst::substitute(&mut root, &vars, &no_env).unwrap();
        let json = root.to_json();
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

#[test]
fn minimal_maps_to_exact_flags() {
    let args = load(template("minimal").unwrap()).unwrap();
    assert_eq!(
        args,
        strings(&[
            "-m",
            "meta-llama/Llama-3.1-8B-Instruct",
            "--url",
            "http://localhost:8000",
            "--num-dataset-entries",
            "100",
            "--isl",
            "512",
            "--osl",
            "128",
            "--concurrency",
            "8",
            "--request-count",
            "100",
        ])
    );
}

#[test]
fn sweep_template_maps_to_magic_lists() {
    let args = load(template("sweep_distributions").unwrap()).unwrap();
    let joined = args.join(" ");
    for part in [
        "--isl 128,512,2048",
        "--osl 128 --osl-stddev 25",
        "--request-rate 10,30,50 --arrival-pattern poisson",
        "--benchmark-duration 120 --benchmark-grace-period 60 --concurrency 64",
        "--warmup-request-count 50",
        "--num-profile-runs 3 --profile-run-cooldown-seconds 15 --confidence-level 0.95",
        "--set-consistent-seed --profile-run-disable-warmup-after-first",
        "--sweep-type grid",
        "--request-timeout-seconds 600",
        "--random-seed 42",
    ] {
        assert!(joined.contains(part), "{part:?} not in {joined}");
    }
    let set = resolve(&args);
    assert_eq!(set.variations.len(), 9);
    assert_eq!(set.trials, 3);
    let paths: Vec<&str> = set.params.iter().map(|p| p.path).collect();
    assert_eq!(
        paths,
        ["datasets.main.prompts.isl.mean", "phases.profiling.rate"]
    );
}

#[test]
fn phases_and_dataset_forms() {
    let text = r#"
benchmark:
  models: [a, {name: b}]
  endpoint:
    urls: [http://h1:8000, http://h2:8000]
    headers: {X-Team: perf}
    extra: {temperature: 0.5, ignore_eos: true, stop: ["x"], nvext: {top_k: 1}, tag: "123"}
    api_key: secret
  datasets:
    main:
      type: synthetic
      isl: {mean: 100, stddev: 10}
      turns: 3
  phases:
    warm:
      exclude_from_results: true
      duration: 2m
    steady:
      type: user_centric
      rate: 4
      users: 8
      grace_period: inf
  slos: {time_to_first_token: 200, inter_token_latency: 20.5}
  tokenizer: builtin
"#;
    let args = load(text).unwrap();
    assert_eq!(
        args,
        strings(&[
            "-m",
            "a",
            "-m",
            "b",
            "--url",
            "http://h1:8000",
            "--url",
            "http://h2:8000",
            "--api-key",
            "secret",
            "--tokenizer",
            "builtin",
            "--extra-inputs",
            "temperature:0.5",
            "--extra-inputs",
            "ignore_eos:true",
            "--extra-inputs",
            "stop:[\"x\"]",
            "--extra-inputs",
            "{\"nvext\":{\"top_k\":1}}",
            "--extra-inputs",
            "{\"tag\":\"123\"}",
            "-H",
            "X-Team:perf",
            "--conversation-turn-mean",
            "3",
            "--isl",
            "100",
            "--isl-stddev",
            "10",
            "--benchmark-grace-period",
            "inf",
            "--goodput",
            "time_to_first_token:200 inter_token_latency:20.5",
            "--user-centric-rate",
            "4",
            "--num-users",
            "8",
            "--warmup-duration",
            "120",
        ])
    );
    let p = profile_args(&args);
    let extra = crate::resolve::parse_extra_inputs(&p.extra_inputs).unwrap();
    assert_eq!(extra["tag"], serde_json::json!("123"));
    assert_eq!(extra["nvext"], serde_json::json!({"top_k": 1}));
}

#[test]
fn unknown_key_names_line_and_suggestion() {
    let text = "schemaVersion: \"2.0\"\nbenchmark:\n  model: m\n  endpoint:\n    url: http://localhost:8000\n  phases:\n    - concurency: 4\n";
    assert_eq!(
        err(text),
        "run.yaml:7: unknown key 'concurency' (did you mean 'concurrency'?)"
    );
    // snake_case keys get snake_case suggestions.
    let text = "benchmark:\n  model: m\n  phases:\n    - grace_perod: 4\n";
    assert_eq!(
        err(text),
        "run.yaml:4: unknown key 'grace_perod' (did you mean 'grace_period'?)"
    );
    let text = "benchmark:\n  model: m\n  telemetryExport: {enabled: true}\n";
    let e = err(text);
    assert!(
        e.starts_with("run.yaml:3: unknown key 'telemetryExport' (expected one of: model, models"),
        "{e}"
    );
    let e = err("benchmark: {model: m}\nmulti_run: {num_runs: 2, cooldown: 3}\n");
    assert!(
        e.starts_with("run.yaml:2: unknown key 'cooldown' (did you mean 'cooldown_seconds'?)"),
        "{e}"
    );
}

#[test]
fn wrong_types_name_line_and_value() {
    let text = "benchmark:\n  model: m\n  phases:\n    concurrency: abc\n";
    assert_eq!(
        err(text),
        "run.yaml:4: 'concurrency' must be an integer, got \"abc\""
    );
    let text = "benchmark:\n  model: m\n  endpoint:\n    streaming: maybe\n";
    assert_eq!(
        err(text),
        "run.yaml:4: 'streaming' must be true or false, got \"maybe\""
    );
    let text = "benchmark:\n  model: m\n  phases: {type: concurrency, duration: soon}\n";
    assert!(err(text).starts_with("run.yaml:3: 'duration' must be a duration"));
    let text = "benchmark:\n  model: m\n  phases: {type: poison, rate: 1}\n";
    assert_eq!(
        err(text),
        "run.yaml:3: 'type' must be one of concurrency, poisson, gamma, constant, user_centric, \
         fixed_schedule, got \"poison\" (did you mean 'poisson'?)"
    );
    let text = "benchmark:\n  model: m\n  endpoint: http://x\n";
    assert_eq!(
        err(text),
        "run.yaml:3: 'endpoint' must be a mapping, got \"http://x\""
    );
    let text = "benchmark:\n  model: m\n  phases: {concurrency: -2}\n";
    assert_eq!(
        err(text),
        "run.yaml:3: 'concurrency' must be a non-negative integer, got -2"
    );
    // Numbers in quotes are numbers (as after `${VAR}` substitution).
    let args = load("benchmark:\n  model: m\n  phases: {concurrency: \"8\"}\n").unwrap();
    assert_eq!(args[2..], strings(&["--concurrency", "8"]));
}

#[test]
fn yaml_syntax_errors_name_the_line() {
    let e = err("benchmark:\n  model: m\n  phases: [1, 2\n  x: 3\n");
    assert!(e.starts_with("run.yaml:4: invalid YAML"), "{e}");
    let e = err("benchmark:\n  model: m\n  model: n\n");
    assert_eq!(e, "run.yaml:3: duplicate key 'model'");
    let e = err("benchmark: {model: m}\n---\nbenchmark: {model: n}\n");
    assert!(
        e.starts_with("run.yaml:3: a run file holds one YAML document"),
        "{e}"
    );
}

#[test]
fn file_level_errors() {
    assert_eq!(err("randomSeed: 1\n"), "run.yaml: missing 'benchmark'");
    assert_eq!(err(""), "run.yaml: the file is empty (missing 'benchmark')");
    assert_eq!(
        err("schemaVersion: \"1.0\"\nbenchmark: {model: m}\n"),
        "run.yaml:1: 'schemaVersion' must be \"2.0\", got \"1.0\""
    );
    assert!(load("schemaVersion: 2.0\nbenchmark: {model: m}\n").is_ok());
    let e = err("benchmark:\n  model: m\n  phases:\n    - {type: concurrency}\n    - {type: poisson, rate: 2}\n");
    assert_eq!(e, "run.yaml:5: only one profiling phase is supported");
    let e = err("benchmark:\n  model: m\n  phases: {type: concurrency, rate: 3}\n");
    assert_eq!(
        e,
        "run.yaml:3: 'rate' does not apply to a concurrency phase"
    );
    let e = err("benchmark:\n  model: m\n  phases: {type: gamma}\n");
    assert_eq!(e, "run.yaml:3: a gamma phase needs 'rate'");
    let e = err(
        "benchmark: {model: m}\nsweep:\n  parameters:\n    phases.profiling.smoothness: [1, 2]\n",
    );
    assert!(
        e.starts_with("run.yaml:4: sweep path 'phases.profiling.smoothness' is not supported"),
        "{e}"
    );
    let e = err("benchmark:\n  model: m\n  phases: [{name: main, concurrency: 2}]\nsweep:\n  parameters:\n    phases.other.concurrency: [1, 2]\n");
    assert_eq!(
        e,
        "run.yaml:6: sweep path 'phases.other.concurrency': no phase named 'other' (the profiling phase is 'main')"
    );
}

#[test]
fn environment_substitution() {
    let text = "benchmark:\n  model: ${MODEL:fallback}\n  endpoint:\n    url: http://${HOST}:8000\n    timeout: ${TIMEOUT:30s}\n";
    let env = |name: &str| (name == "HOST").then(|| "gpu7".to_string());
    let args = load_with_env(text, "run.yaml", &env).unwrap();
    assert_eq!(
        args,
        strings(&[
            "-m",
            "fallback",
            "--url",
            "http://gpu7:8000",
            "--request-timeout-seconds",
            "30"
        ])
    );
    let env = |name: &str| match name {
        "HOST" => Some("h".to_string()),
        "MODEL" => Some("from-env".to_string()),
        _ => None,
    };
    let args = load_with_env(text, "run.yaml", &env).unwrap();
    assert_eq!(args[1], "from-env");
    assert_eq!(
        load(text).unwrap_err().to_string(),
        "run.yaml:4: environment variable 'HOST' is not set and '${HOST}' has no default \
         (write ${HOST:default})"
    );
    // An empty default is a default.
    let args = load("benchmark:\n  model: m${SUFFIX:}\n").unwrap();
    assert_eq!(args[1], "m");
}

#[test]
fn variables_substitution() {
    let text = "variables:\n  conc: 16\n  name: llama\n  host: ${H:localhost}\nbenchmark:\n  model: \"{{ name }}-8b\"\n  endpoint: {url: \"http://{{host}}:8000\"}\n  phases: {concurrency: \"{{ conc }}\", requests: \"${conc}\"}\n";
    let args = load(text).unwrap();
    assert_eq!(
        args,
        strings(&[
            "-m",
            "llama-8b",
            "--url",
            "http://localhost:8000",
            "--concurrency",
            "16",
            "--request-count",
            "16"
        ])
    );
    let e = err(
        "variables: {conc: 1}\nbenchmark:\n  model: m\n  phases: {concurrency: \"{{ con }}\"}\n",
    );
    assert_eq!(
        e,
        "run.yaml:4: undefined variable 'con' in '{{ con }}' (did you mean 'conc'?)"
    );
    // Jinja expressions, with variables built from each other in any order, as AIPerf.
    let args = load(
        "variables:\n  total: \"{{ per_gpu * gpus }}\"\n  per_gpu: 8\n  gpus: 4\nbenchmark:\n  model: m\n  phases: {concurrency: \"{{ total // 2 }}\", requests: \"{{ total * 10 }}\"}\n",
    )
    .unwrap();
    assert_eq!(
        args,
        strings(&["-m", "m", "--concurrency", "16", "--request-count", "320"])
    );
    let e = err("variables: {a: \"{{ b }}\", b: \"{{ a }}\"}\nbenchmark:\n  model: m\n");
    assert!(
        e.starts_with(
            "run.yaml:1: variables a, b refer to each other in a cycle or to an undefined name"
        ),
        "{e}"
    );
    let e = err("variables: {conc: 1}\nbenchmark:\n  model: m\n  phases: {concurrency: \"{{ conc * nope }}\"}\n");
    assert!(
        e.starts_with("run.yaml:4: \"{{ conc * nope }}\": ") && e.contains("undefined"),
        "{e}"
    );
}

#[test]
fn load_file_reads_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.yaml");
    std::fs::write(&path, "benchmark:\n  model: m\n  bogus: 1\n").unwrap();
    let e = load_file(&path).unwrap_err();
    assert_eq!(e.line, Some(3));
    assert_eq!(
        e.to_string(),
        format!("{}:3: unknown key 'bogus' (expected one of: model, models, endpoint, dataset, datasets, phases, warmup, profiling, slos, artifacts, tokenizer, serverMetrics, gpuTelemetry, accuracy)", path.display())
    );
    std::fs::write(&path, template("latency_test").unwrap()).unwrap();
    assert!(load_file(&path).is_ok());
    let missing = dir.path().join("missing.yaml");
    assert!(load_file(&missing)
        .unwrap_err()
        .to_string()
        .starts_with(&format!("{}: cannot read the file", missing.display())));
}

#[test]
fn json_schema_describes_the_file() {
    let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
    assert!(schema["properties"]["benchmark"].is_object());
    assert!(schema["properties"]["multiRun"].is_object());
    assert_eq!(schema["additionalProperties"], serde_json::json!(false));
}

/// The resolved fields a round trip must keep.
fn summary(set: &RunSet) -> String {
    let c = &set.variations[0].config;
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} | {} {:?} {:?} {:?}",
        c.concurrency,
        c.load,
        c.request_count,
        c.benchmark_duration_s,
        c.isl_mean,
        c.isl_stddev,
        c.osl_mean,
        c.warmup_request_count,
        c.warmup_duration_s,
        c.models,
        c.urls,
        c.random_seed,
        c.artifact_dir,
        (
            c.input_file.clone(),
            c.custom_dataset_type.clone(),
            c.goodput.is_some()
        ),
        set.trials,
        set.params,
        set.sweep_type,
        set.variations.len(),
    )
}

fn round_trip(args: &[&str]) {
    let args = strings(args);
    let yaml = to_yaml(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let back =
        load_with_env(&yaml, "expanded.yaml", &no_env).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    assert_eq!(
        summary(&resolve(&args)),
        summary(&resolve(&back)),
        "\n{args:?}\n{back:?}\n{yaml}"
    );
    // Stable: the expanded file expands to itself.
    assert_eq!(to_yaml(&back).unwrap(), yaml);
}

#[test]
fn round_trip_sweep_with_multi_run() {
    round_trip(&[
        "-m",
        "llama",
        "--url",
        "http://localhost:9000",
        "--concurrency",
        "1,2,4",
        "--isl",
        "128,256",
        "--osl",
        "64",
        "--request-count",
        "20",
        "--num-profile-runs",
        "3",
        "--profile-run-cooldown-seconds",
        "2.5",
        "--confidence-level",
        "0.9",
        "--no-set-consistent-seed",
        "--random-seed",
        "7",
        "--artifact-dir",
        "/tmp/aiperf-yaml-rt",
        "--goodput",
        "time_to_first_token:200",
    ]);
    round_trip(&[
        "-m",
        "llama",
        "--concurrency",
        "1,2",
        "--isl",
        "10,20",
        "--sweep-type",
        "zip",
        "--parameter-sweep-mode",
        "independent",
        "--num-profile-runs",
        "2",
        "--convergence-metric",
        "request_latency",
        "--convergence-mode",
        "cv",
    ]);
}

#[test]
fn round_trip_request_rate_with_warmup() {
    round_trip(&[
        "-m",
        "a,b",
        "--url",
        "http://h1:8000",
        "--url",
        "http://h2:8000",
        "--endpoint-type",
        "completions",
        "--streaming",
        "--request-rate",
        "12.5",
        "--arrival-pattern",
        "gamma",
        "--arrival-smoothness",
        "1.5",
        "--concurrency",
        "32",
        "--benchmark-duration",
        "60",
        "--benchmark-grace-period",
        "10",
        "--warmup-request-count",
        "25",
        "--isl",
        "300",
        "--isl-stddev",
        "20",
        "--osl",
        "100",
        "--extra-inputs",
        "ignore_eos:true",
        "--extra-inputs",
        "{\"nvext\": {\"x\": null, \"y\": {}}}",
        "-H",
        "X-Test: 1",
    ]);
}

#[test]
fn round_trip_user_centric() {
    round_trip(&[
        "-m",
        "m",
        "--user-centric-rate",
        "2",
        "--num-users",
        "10",
        "--conversation-turn-mean",
        "4",
        "--benchmark-duration",
        "30",
        "--warmup-duration",
        "5",
    ]);
}

#[test]
fn round_trip_file_dataset() {
    let trace = trace_file();
    let path = trace.path().display().to_string();
    round_trip(&[
        "-m",
        "m",
        "--input-file",
        &path,
        "--custom-dataset-type",
        "mooncake_trace",
        "--fixed-schedule",
        "--fixed-schedule-auto-offset",
        "--dataset-sampling-strategy",
        "sequential",
    ]);
}

#[test]
fn to_yaml_names_what_it_cannot_express() {
    let e = to_yaml(&strings(&["-m", "m", "--log-level", "DEBUG"])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "arguments: --log-level has no equivalent in a run file (in this combination)"
    );
    let e = to_yaml(&strings(&["-m", "m", "--concurrency", "x"])).unwrap_err();
    assert!(e.to_string().contains("--concurrency"), "{e}");
}

#[test]
fn to_yaml_reads_as_expected() {
    let yaml = to_yaml(&strings(&[
        "-m",
        "m",
        "--concurrency",
        "4",
        "--isl",
        "100",
        "--isl-stddev",
        "5",
    ]))
    .unwrap();
    assert_eq!(
        yaml,
        "# aiperf run file (schema 2.0)\n\
         schemaVersion: \"2.0\"\n\
         benchmark:\n  \
           model: m\n  \
           endpoint:\n    \
             url: http://localhost:8000\n    \
             type: chat\n  \
           dataset:\n    \
             type: synthetic\n    \
             prompts:\n      \
               isl: {mean: 100, stddev: 5}\n  \
           phases:\n    \
             - name: profiling\n      \
               type: concurrency\n      \
               concurrency: 4\n"
    );
}

#[test]
fn artifacts_auto_plot_maps_to_its_flags_and_back() {
    let text = "benchmark:\n  model: m\n  endpoint: {url: http://h:1}\n  artifacts:\n    autoPlot: true\n    plotRequired: true\n";
    let args = load(text).unwrap();
    assert!(
        args.ends_with(&strings(&["--auto-plot", "--plot-required"])),
        "{args:?}"
    );
    let off = load(&text.replace("autoPlot: true", "autoPlot: false")).unwrap();
    assert!(off.contains(&"--no-auto-plot".to_string()), "{off:?}");
    let yaml = to_yaml(&strings(&["-m", "m", "--url", "http://h:1", "--auto-plot"])).unwrap();
    assert!(yaml.contains("autoPlot: true"), "{yaml}");
}

#[test]
fn a_plot_section_turns_auto_plot_on_with_its_config() {
    let head = "benchmark:\n  model: m\n  endpoint: {url: http://h:1}\n";
    let inline = format!("{head}plot:\n  experiment_classification: {{baselines: [\"b*\"]}}\n");
    let args = load_with_env(&inline, "/runs/sweep.yaml", &no_env).unwrap();
    assert!(
        args.ends_with(&strings(&[
            "--auto-plot",
            "--plot-config",
            "/runs/sweep.yaml"
        ])),
        "{args:?}"
    );
    let by_path = format!("{head}plot: plots/base.yaml\n");
    let args = load_with_env(&by_path, "/runs/sweep.yaml", &no_env).unwrap();
    assert!(
        args.ends_with(&strings(&["--plot-config", "/runs/plots/base.yaml"])),
        "{args:?}"
    );
    // An explicit autoPlot: false wins; the config still travels.
    let off = format!("{head}  artifacts: {{autoPlot: false}}\nplot: {{}}\n");
    let args = load_with_env(&off, "r.yaml", &no_env).unwrap();
    assert!(
        args.contains(&"--no-auto-plot".to_string()) && !args.contains(&"--auto-plot".to_string()),
        "{args:?}"
    );
    let e = err(&format!("{head}plot: 5\n"));
    assert!(e.contains("'plot' must be"), "{e}");
}

// ---- Input keys of AIPerf 0.13's dataset, prompts and tokenizer sections ----

/// Flags -> YAML -> flags gives the same `aiperf profile` arguments, and the YAML is stable.
fn args_round_trip(args: &[&str]) -> String {
    let args = strings(args);
    let yaml = to_yaml(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let back =
        load_with_env(&yaml, "expanded.yaml", &no_env).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let (mut before, mut after) = (profile_args(&args), profile_args(&back));
    reverse::normalise(&mut before);
    reverse::normalise(&mut after);
    assert_eq!(
        reverse::first_difference(&before, &after),
        None,
        "\n{args:?}\n{back:?}\n{yaml}"
    );
    assert_eq!(to_yaml(&back).unwrap(), yaml);
    yaml
}

fn assert_has(yaml: &str, parts: &[&str]) {
    for part in parts {
        assert!(yaml.contains(part), "{part:?} not in\n{yaml}");
    }
}

#[test]
fn prompt_shaping_keys_map_to_their_flags() {
    let text = r#"
benchmark:
  model: m
  dataset:
    type: synthetic
    prompts:
      isl: 512
      osl: 128
      corpus: coding
      cacheBust: {target: first_turn_prefix}
      randomRangeRatio: {input: 0.3, output: 0.5}
      randomCorpusStyle: vllm
"#;
    let args = load(text).unwrap();
    assert_eq!(
        args,
        strings(&[
            "-m",
            "m",
            "--prompt-corpus",
            "coding",
            "--cache-bust",
            "first_turn_prefix",
            "--isl",
            "512",
            "--random-range-ratio",
            "{\"input\":0.3,\"output\":0.5}",
            "--random-corpus-style",
            "vllm",
            "--osl",
            "128",
        ])
    );
    resolve(&args);
    // A plain ratio, and a bare cache-bust target, as AIPerf also reads them.
    let args = load(
        &text
            .replace("{input: 0.3, output: 0.5}", "0.25")
            .replace("{target: first_turn_prefix}", "system_suffix"),
    )
    .unwrap();
    let joined = args.join(" ");
    assert_has(
        &joined,
        &["--random-range-ratio 0.25", "--cache-bust system_suffix"],
    );

    let text = r#"
benchmark:
  model: m
  dataset:
    prompts:
      sequenceDistribution:
        - {isl: 128, osl: 64, probability: 40}
        - {isl: {mean: 512, stddev: 50}, osl: 256, oslStddev: 25, probability: 35}
        - {isl: 2048, isl_stddev: 100, osl: 512, probability: 25}
      randomCorpusStyle: sglang
"#;
    let args = load(text).unwrap();
    assert_eq!(
        args,
        strings(&[
            "-m",
            "m",
            "--seq-dist",
            "128,64:40;512|50,256|25:35;2048|100,512:25",
            "--random-corpus-style",
            "sglang",
        ])
    );
    resolve(&args);
}

#[test]
fn media_and_rankings_keys_map_to_their_flags() {
    let text = r#"
benchmark:
  model: m
  dataset:
    images: {batchSize: 2, width: {mean: 640, stddev: 10}, source: assets, sourceSampling: shuffle-cycle}
    audio: {batchSize: 1, format: mp3, sampleRates: [16, 44.1], depths: [16, 24], channels: 2}
    video:
      batchSize: 1
      width: 640
      height: 480
      fps: 8
      duration: 2.5
      synthType: grid_clock
      format: mp4
      codec: libvpx
      audio: {sampleRate: 48, channels: 1, codec: libopus, depth: 24}
    rankings: {passages: {mean: 5, stddev: 1}}
"#;
    let args = load(text).unwrap();
    // Unset section keys take AIPerf's YAML defaults (512 px, jpeg, 10 s of audio, 128 / 32
    // ranking tokens), written out because the flags' defaults differ.
    assert_eq!(
        args,
        strings(&[
            "-m",
            "m",
            "--audio-batch-size",
            "1",
            "--audio-length-mean",
            "10",
            "--audio-format",
            "mp3",
            "--audio-depths",
            "16,24",
            "--audio-sample-rates",
            "16,44.1",
            "--audio-num-channels",
            "2",
            "--image-width-mean",
            "640",
            "--image-width-stddev",
            "10",
            "--image-height-mean",
            "512",
            "--image-batch-size",
            "2",
            "--image-format",
            "jpeg",
            "--image-source",
            "assets",
            "--image-source-sampling",
            "shuffle-cycle",
            "--video-batch-size",
            "1",
            "--video-duration",
            "2.5",
            "--video-fps",
            "8",
            "--video-width",
            "640",
            "--video-height",
            "480",
            "--video-synth-type",
            "grid_clock",
            "--video-format",
            "mp4",
            "--video-codec",
            "libvpx",
            "--video-audio-sample-rate",
            "48",
            "--video-audio-num-channels",
            "1",
            "--video-audio-codec",
            "libopus",
            "--video-audio-depth",
            "24",
            "--rankings-passages-mean",
            "5",
            "--rankings-passages-stddev",
            "1",
            "--rankings-passages-prompt-token-mean",
            "128",
            "--rankings-query-prompt-token-mean",
            "32",
        ])
    );
    profile_args(&args);
    let images = "benchmark:\n  model: m\n  dataset:\n    images: {batchSize: 1, width: 64}\n    \
                  audio: {batchSize: 1, length: 2}\n    rankings: {queryTokens: 16}\n";
    resolve(&load(images).unwrap());
    resolve(&load(&images.replace("{batchSize: 1, width", "{width")).unwrap());
    // As in AIPerf, a section without batchSize (or with 0) sends none of that medium.
    for section in [
        "video: {width: 64, height: 64}",
        "images: {width: 64, format: png}",
        "audio: {batchSize: 0, length: 3}",
    ] {
        let args = load(&format!(
            "benchmark:\n  model: m\n  dataset:\n    {section}\n"
        ))
        .unwrap();
        assert_eq!(args, strings(&["-m", "m"]), "{section}");
    }
}

#[test]
fn trace_file_keys_map_to_their_flags() {
    let text = r#"
benchmark:
  model: m
  dataset:
    type: file
    path: /data/trace.parquet
    format: baseten_trace
    osl: 200
    blockSize: 64
    synthesis: {prefixLenMultiplier: 1.5, maxIsl: 8000, maxOsl: 1000, allowDatasetWrap: true}
    traceSessionSampleRatio: 0.5
    interTurnDelayCapSeconds: 30
    maxIdleGapCapSeconds: 5
    replaySpeedup: 10
    openLoopReplay: false
    omitKvHints: true
    forceMinTokens: false
    ignoreTraceDelays: true
    cacheBust: {target: system_prefix}
    prompts: {corpus: coding}
"#;
    let args = load(text).unwrap();
    assert_eq!(
        args,
        strings(&[
            "-m",
            "m",
            "--input-file",
            "/data/trace.parquet",
            "--custom-dataset-type",
            "baseten_trace",
            "--ignore-trace-delays",
            "--trace-session-sample-ratio",
            "0.5",
            "--allow-dataset-wrap",
            "--inter-turn-delay-cap-seconds",
            "30",
            "--max-idle-gap-cap-seconds",
            "5",
            "--replay-speedup",
            "10",
            "--no-open-loop-replay",
            "--omit-kv-hints",
            "--no-force-min-tokens",
            "--prompt-corpus",
            "coding",
            "--cache-bust",
            "system_prefix",
            "--isl-block-size",
            "64",
            "--osl",
            "200",
            "--synthesis-prefix-len-multiplier",
            "1.5",
            "--synthesis-max-isl",
            "8000",
            "--synthesis-max-osl",
            "1000",
        ])
    );
    profile_args(&args);
    let args = load(
        "benchmark:\n  model: m\n  dataset:\n    type: file\n    path: p\n    format: random_pool\n    \
         promptBatchSize: 2\n    imageBatchSize: 3\n    audioBatchSize: 0\n    videoBatchSize: 1\n    \
         openLoopStrict: true\n",
    )
    .unwrap();
    assert_eq!(
        args[2..],
        strings(&[
            "--input-file",
            "p",
            "--custom-dataset-type",
            "random_pool",
            "--open-loop-strict",
            "--prompt-batch-size",
            "2",
            "--audio-batch-size",
            "0",
            "--image-batch-size",
            "3",
            "--video-batch-size",
            "1",
        ])
    );
}

#[test]
fn public_dataset_and_tokenizer_keys_map_to_their_flags() {
    let text = r#"
benchmark:
  model: m
  dataset:
    type: public
    dataset: weka_hf
    hfWekaDataset: org/traces
    hfSubset: main
    filters: {language: python, split: test}
    useThinkTimeOnly: true
    maxContextLength: 131072
    randomSeed: 7
    synthesis: {allowDatasetWrap: false}
  tokenizer: {name: builtin, applyChatTemplate: true}
"#;
    let args = load(text).unwrap();
    assert_eq!(
        args,
        strings(&[
            "-m",
            "m",
            "--tokenizer",
            "builtin",
            "--apply-chat-template",
            "--random-seed",
            "7",
            "--public-dataset",
            "weka_hf",
            "--hf-subset",
            "main",
            "--hf-weka-dataset",
            "org/traces",
            "--dataset-filter",
            "language=python",
            "--dataset-filter",
            "split=test",
            "--use-think-time-only",
            "--max-context-length",
            "131072",
            "--no-allow-dataset-wrap",
        ])
    );
    profile_args(&args);
    // The same seed at both levels is one seed.
    let same = format!("randomSeed: 7\n{text}");
    assert_eq!(load(&same).unwrap(), args);
}

#[test]
fn input_keys_round_trip() {
    let yaml = args_round_trip(&[
        "-m",
        "m",
        "--isl",
        "512",
        "--osl",
        "128",
        "--seq-dist",
        "[(128,64):40,(512|50,256):60]",
        "--random-corpus-style",
        "sglang",
        "--prompt-corpus",
        "coding",
        "--cache-bust",
        "first_turn_suffix",
        "--apply-chat-template",
    ]);
    assert_has(
        &yaml,
        &[
            "sequenceDistribution:",
            "- isl: 128\n",
            "isl: {mean: 512, stddev: 50}",
            "probability: 60",
            "randomCorpusStyle: sglang",
            "corpus: coding",
            "cacheBust:\n        target: first_turn_suffix",
            "applyChatTemplate: true",
        ],
    );
    let yaml = args_round_trip(&[
        "-m",
        "m",
        "--isl",
        "100",
        "--osl",
        "50",
        "--random-range-ratio",
        "{\"input\": 0.2, \"output\": 0.4}",
    ]);
    assert_has(
        &yaml,
        &["randomRangeRatio:\n        input: 0.2\n        output: 0.4"],
    );
    let yaml = args_round_trip(&[
        "-m",
        "m",
        "--isl",
        "100",
        "--osl",
        "50",
        "--random-range-ratio",
        "0.30",
    ]);
    assert_has(&yaml, &["randomRangeRatio: 0.3"]);

    let yaml = args_round_trip(&[
        "-m",
        "m",
        "--image-width-mean",
        "256",
        "--image-height-mean",
        "128",
        "--image-source",
        "assets",
        "--image-source-sampling",
        "sequential-cycle",
        "--audio-length-mean",
        "3",
        "--audio-depths",
        "16,24",
        "--video-width",
        "320",
        "--video-height",
        "240",
        "--video-audio-num-channels",
        "2",
        "--video-audio-codec",
        "libopus",
        "--video-audio-sample-rate",
        "48000",
        "--rankings-passages-mean",
        "4",
    ]);
    assert_has(
        &yaml,
        &[
            "images:\n      batchSize: 1\n      width: 256\n      height: 128\n      format: png",
            "sourceSampling: sequential-cycle",
            "audio:\n      batchSize: 1\n      length: 3",
            "depths: [16, 24]",
            "video:\n      batchSize: 1\n      width: 320\n      height: 240",
            "audio:\n        sampleRate: 48\n        channels: 2\n        codec: libopus",
            "rankings:\n      passages: 4\n      passageTokens: 550\n      queryTokens: 550",
        ],
    );

    let yaml = args_round_trip(&[
        "-m",
        "m",
        "--input-file",
        "/data/t.parquet",
        "--custom-dataset-type",
        "baseten_trace",
        "--replay-speedup",
        "5",
        "--no-open-loop-replay",
        "--no-force-min-tokens",
        "--omit-kv-hints",
        "--trace-session-sample-ratio",
        "0.5",
        "--max-idle-gap-cap-seconds",
        "2",
        "--inter-turn-delay-cap-seconds",
        "10",
        "--ignore-trace-delays",
        "--synthesis-max-isl",
        "4096",
        "--synthesis-speedup-ratio",
        "2",
        "--allow-dataset-wrap",
        "--isl-block-size",
        "32",
        "--osl",
        "100",
        "--cache-bust",
        "system_suffix",
        "--prompt-corpus",
        "coding",
    ]);
    assert_has(
        &yaml,
        &[
            "type: file",
            "prompts:\n      corpus: coding",
            "synthesis:\n      speedupRatio: 2\n      maxIsl: 4096\n      allowDatasetWrap: true",
            "cacheBust:\n      target: system_suffix",
            "osl: 100",
            "blockSize: 32",
            "replaySpeedup: 5",
            "openLoopReplay: false",
            "forceMinTokens: false",
            "omitKvHints: true",
            "ignoreTraceDelays: true",
        ],
    );

    let yaml = args_round_trip(&[
        "-m",
        "m",
        "--public-dataset",
        "weka_hf",
        "--hf-weka-dataset",
        "org/x",
        "--hf-subset",
        "s",
        "--dataset-filter",
        "lang = en",
        "--use-think-time-only",
        "--max-context-length",
        "1000",
        "--no-allow-dataset-wrap",
    ]);
    assert_has(
        &yaml,
        &[
            "type: public",
            "dataset: weka_hf",
            "hfSubset: s",
            "filters:\n      lang: en",
            "hfWekaDataset: org/x",
            "useThinkTimeOnly: true",
            "maxContextLength: 1000",
            "synthesis:\n      allowDatasetWrap: false",
        ],
    );
}

#[test]
fn input_flags_a_dataset_type_cannot_hold_are_named() {
    let e = to_yaml(&strings(&["-m", "m", "--replay-speedup", "2"])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "arguments: --replay-speedup has no equivalent in a run file (in this combination)"
    );
    let e = to_yaml(&strings(&[
        "-m",
        "m",
        "--input-file",
        "t.jsonl",
        "--seq-dist",
        "10,5:100",
    ]))
    .unwrap_err();
    assert!(e.to_string().contains("--seq-dist"), "{e}");
}

#[test]
fn bad_input_values_name_line_and_reason() {
    let head = "benchmark:\n  model: m\n  dataset:\n";
    let cases: &[(&str, &str)] = &[
        (
            "    prompts: {corpus: poetry}\n",
            "run.yaml:4: 'corpus' must be one of sonnet, coding, random, got \"poetry\"",
        ),
        (
            "    prompts:\n      cacheBust: {target: system_prefx}\n",
            "run.yaml:5: 'target' must be one of none, system_prefix, system_suffix, \
             first_turn_prefix, first_turn_suffix, warmup_isolation_system, \
             warmup_isolation_first_turn, got \"system_prefx\" (did you mean 'system_prefix'?)",
        ),
        (
            "    prompts:\n      sequenceDistribution:\n        - {isl: 128, osl: 64, probability: 40}\n        - {isl: 256, osl: 64, probability: 50}\n",
            "run.yaml:6: 'sequenceDistribution': Probabilities must sum to 100.0, got 90.000000. \
             Pairs: ['(128,64):40.0%', '(256,64):50.0%']",
        ),
        (
            "    prompts:\n      sequenceDistribution:\n        - {isl: 128, probability: 100}\n",
            "run.yaml:6: a 'sequenceDistribution' entry needs 'osl'",
        ),
        (
            "    prompts: {isl: 100, osl: 10, randomRangeRatio: 1.5}\n",
            "run.yaml:4: 'randomRangeRatio': ISL range_ratio must be in [0.0, 1.0), got 1.5",
        ),
        (
            "    prompts:\n      randomCorpusStyle: sglang\n      randomRangeRatio: {input: 0.1, output: 0.2}\n",
            "run.yaml:6: 'randomRangeRatio': SGLang corpus style applies a single ratio to both \
             ISL and OSL; provide a plain float instead (e.g. 0.3)",
        ),
        (
            "    prompts: {randomRangeRatio: wide}\n",
            "run.yaml:4: 'randomRangeRatio' must be a number or {input: r, output: r}, got \"wide\"",
        ),
        (
            "    images: {format: gif}\n",
            "run.yaml:4: 'format' must be one of png, jpeg, random, got \"gif\"",
        ),
        (
            "    audio:\n      channels: 3\n",
            "run.yaml:5: 'channels' must be between 1 and 2, got 3",
        ),
        (
            "    video:\n      audio: {depth: 12}\n",
            "run.yaml:5: 'depth' must be one of 8, 16, 24, 32, got 12",
        ),
        (
            "    video: {synthType: waves}\n",
            "run.yaml:4: 'synthType' must be one of moving_shapes, grid_clock, noise, got \"waves\"",
        ),
        (
            "    rankings:\n      passages: 2.5\n",
            "run.yaml:5: 'passages' must be a whole number or {mean, stddev} of whole numbers, \
             got 2.5",
        ),
        (
            "    type: file\n    path: t\n    synthesis:\n      maxIsl: -1\n",
            "run.yaml:7: 'maxIsl' must be a non-negative integer, got -1",
        ),
        (
            "    type: file\n    path: t\n    openLoopReplay: maybe\n",
            "run.yaml:6: 'openLoopReplay' must be true or false, got \"maybe\"",
        ),
        (
            "    replaySpeedup: 2\n",
            "run.yaml:4: 'replaySpeedup' needs 'type: file'",
        ),
        (
            "    cacheBust: {target: system_prefix}\n",
            "run.yaml:4: 'cacheBust' needs 'type: file' or 'type: public' (a synthetic dataset \
             takes it under 'prompts')",
        ),
        (
            "    type: file\n    path: t\n    prompts:\n      cacheBust: {target: system_prefix}\n",
            "run.yaml:7: 'cacheBust' under 'prompts' needs 'type: synthetic' (a file or public \
             dataset takes 'cacheBust' beside 'prompts')",
        ),
        (
            "    type: public\n    dataset: sharegpt\n    filters: {\"a=b\": c}\n",
            "run.yaml:6: 'filters': 'a=b: c' is not a filter (a non-empty key without '=' and a \
             non-empty value)",
        ),
        (
            "    type: public\n    dataset: sharegpt\n    hfWekaDataset: org/x\n",
            "run.yaml:4: 'hfWekaDataset' needs 'dataset: weka_hf'",
        ),
        (
            "    type: file\n    path: t\n    ignoreTraceDelays: true\n    useThinkTimeOnly: true\n",
            "run.yaml:4: 'ignoreTraceDelays' and 'useThinkTimeOnly' are mutually exclusive",
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(err(&format!("{head}{body}")), *expected, "{body}");
    }
    assert_eq!(
        err("randomSeed: 1\nbenchmark:\n  model: m\n  dataset: {randomSeed: 2}\n"),
        "run.yaml:2: the dataset's 'randomSeed' (2) differs from the top-level one (1); this \
         build uses one seed per run"
    );
    assert_eq!(
        err("benchmark:\n  model: m\n  tokenizer: {applyChatTemplate: sometimes}\n"),
        "run.yaml:3: 'applyChatTemplate' must be true or false, got \"sometimes\""
    );
}

#[test]
fn aiperf_template_dataset_sections_load() {
    // The dataset sections of AIPerf 0.13's audio_multimodal, multimodal_vision and
    // trace_replay templates, as written there.
    let audio = "benchmark:\n  model: m\n  dataset:\n    type: synthetic\n    entries: 500\n    \
                 prompts:\n      isl: 50\n      osl: {mean: 300, stddev: 100}\n    audio:\n      \
                 batchSize: 1\n      length: {mean: 20.0, stddev: 12.0}\n      format: wav\n      \
                 sampleRates: [16.0] # 16kHz\n      depths: [16]\n      channels: 1\n";
    let args = load(audio).unwrap().join(" ");
    assert_has(
        &args,
        &["--audio-batch-size 1 --audio-length-mean 20 --audio-length-stddev 12 --audio-format wav --audio-depths 16 --audio-sample-rates 16 --audio-num-channels 1"],
    );
    let vision = "benchmark:\n  model: m\n  dataset:\n    prompts:\n      isl: {mean: 100, stddev: 20}\n    \
                  images:\n      batchSize: 1\n      width: 512\n      height: 512\n      format: jpeg\n";
    let args = load(vision).unwrap();
    assert_has(
        &args.join(" "),
        &["--image-width-mean 512 --image-height-mean 512 --image-batch-size 1 --image-format jpeg"],
    );
    resolve(&args);
    let trace = "benchmark:\n  model: m\n  dataset:\n    type: file\n    path: t.jsonl\n    \
                 format: mooncake_trace\n    sampling: sequential\n    synthesis:\n      \
                 speedupRatio: 2.0\n      prefixLenMultiplier: 1.0\n      promptLenMultiplier: 1.0\n      \
                 maxIsl: 8192\n      maxOsl: 2048\n";
    // Our trace_replay template, which carries AIPerf's synthesis block, resolves.
    let file = trace_file();
    let path = file.path().display().to_string();
    let env = move |name: &str| (name == "TRACE_FILE").then(|| path.clone());
    let with_synthesis = template("trace_replay").unwrap();
    assert!(with_synthesis.contains("    synthesis:\n      speedupRatio: 2.0"));
    let args = load_with_env(with_synthesis, "trace_replay.yaml", &env).unwrap();
    assert!(
        args.join(" ").contains("--synthesis-speedup-ratio 2"),
        "{args:?}"
    );
    resolve(&args);
    assert_has(
        &load(trace).unwrap().join(" "),
        &["--synthesis-speedup-ratio 2 --synthesis-prefix-len-multiplier 1 --synthesis-prompt-len-multiplier 1 --synthesis-max-isl 8192 --synthesis-max-osl 2048"],
    );
}

#[test]
fn warmup_and_prefill_keys_map_to_their_flags() {
    let args = load(
        "benchmark:
  model: m
  endpoint:
    streaming: true
  phases:
    - name: warmup
      excludeFromResults: true
      type: constant
      duration: 2
      gracePeriod: 1
      concurrency: 2
      rate: 20
      prefillConcurrency: 1
    - name: profiling
      type: concurrency
      concurrency: 4
      requests: 10
      prefillConcurrency: 2
      prefillRamp: 3
",
    )
    .unwrap();
    let joined = args.join(" ");
    for part in [
        "--warmup-duration 2",
        "--warmup-concurrency 2",
        "--warmup-request-rate 20",
        "--warmup-arrival-pattern constant",
        "--warmup-grace-period 1",
        "--warmup-prefill-concurrency 1",
        "--prefill-concurrency 2",
        "--prefill-concurrency-ramp-duration 3",
    ] {
        assert!(joined.contains(part), "{part} missing from {joined}");
    }
    let set = resolve(&args);
    let c = &set.variations[0].config;
    assert_eq!(c.prefill.map(|p| p.slots), Some(2));
    assert_eq!(c.warmup.grace_s, Some(1.0));
    assert_eq!(
        c.warmup.mode.as_ref().and_then(|m| m.requested_rate()),
        Some(20.0)
    );
}

/// AIPerf 0.13's own bundled templates, where the reference install is present
/// (`../shared/tools/aiperf-reference` puts it under /tmp): each loads into flags that resolve.
/// CI checks the adapted copies in `templates/` instead (`every_template_loads_...`).
#[test]
fn aiperf_bundled_templates_load_where_installed() {
    let dir = std::path::Path::new(
        "/tmp/aiperf-reference/venv/lib/python3.11/site-packages/aiperf/config/templates",
    );
    let Ok(entries) = std::fs::read_dir(dir) else {
        eprintln!("skipped: no AIPerf reference install at {}", dir.display());
        return;
    };
    // Each with what this build does not read yet; the test fails when one starts loading, so
    // the list stays true.
    const NOT_YET: &[(&str, &str)] = &[(
        "scenario_workload_profiles.yaml",
        "a run that swaps the base's --isl for a distribution (a --variant cannot drop a flag)",
    )];
    let mut failures = Vec::new();
    let mut refused = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("yaml") {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if NOT_YET.iter().any(|(n, _)| *n == name) {
            if super::load_file(&path).is_err() {
                refused.push(name.to_string());
            }
            continue;
        }
        match super::load_file(&path) {
            Ok(args) => {
                let mut argv = vec!["aiperf".to_string(), "profile".to_string()];
                argv.extend(args);
                if let Err(e) = crate::Cli::try_parse_from(&argv) {
                    failures.push(format!("{}: {e}", path.display()));
                }
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    refused.sort();
    let listed: Vec<String> = NOT_YET.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        refused, listed,
        "templates listed as not read yet that now load"
    );
}

#[test]
fn telemetry_artifact_and_endpoint_blocks_map_to_their_flags() {
    let args = load(
        "benchmark:
  model: m
  endpoint:
    url: http://localhost:8000
    urlStrategy: round_robin
    resetKvCache: {path: /reset, timeoutSeconds: 5}
    serverProfiler: true
    requestContentType: application/json
  serverMetrics:
    urls: [http://localhost:8000/metrics]
    formats: [json, parquet]
    discovery: {mode: disabled}
  gpuTelemetry:
    collector: pynvml
    mode: realtime_dashboard
  artifacts:
    summary: [json]
    records: false
",
    )
    .unwrap();
    let joined = args.join(" ");
    for part in [
        "--url-strategy round_robin",
        "--reset-kv-cache --reset-kv-cache-path /reset --reset-kv-cache-timeout-seconds 5",
        "--server-profiler",
        "--request-content-type application/json",
        "--server-metrics http://localhost:8000/metrics --server-metrics-formats json parquet",
        "--gpu-telemetry pynvml dashboard",
        "--export-level summary",
    ] {
        assert!(joined.contains(part), "{part} missing from {joined}");
    }
    assert!(resolve(&args).variations.len() == 1);
    assert!(
        load("benchmark:\n  model: m\n  serverMetrics: {enabled: false}\n")
            .unwrap()
            .contains(&"--no-server-metrics".to_string())
    );
    assert_eq!(
        err("benchmark:\n  model: m\n  artifacts:\n    summary: false\n"),
        "run.yaml:4: 'artifacts.summary: false' is not supported: the summary JSON is always written"
    );
    assert!(
        err("benchmark:\n  model: m\n  serverMetrics:\n    discovery: {mode: kubernetes}\n")
            .contains("'discovery.mode: kubernetes' is not supported"),
    );
}

#[test]
fn length_distributions_beyond_mean_and_stddev_map_to_their_flags() {
    let args = load(
        "benchmark:
  model: m
  dataset:
    prompts:
      isl:
        peaks:
          - {mean: 256, median: 214, weight: 70}
          - {mean: 2048, median: 1891, weight: 30}
      osl: {points: [{value: 64, weight: 1}, {value: 128, weight: 3}], max: 100}
",
    )
    .unwrap();
    let at = |flag: &str| {
        let i = args
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("{flag} in {args:?}"));
        serde_json::from_str::<serde_json::Value>(&args[i + 1]).unwrap()
    };
    assert_eq!(at("--isl-distribution")["peaks"][1]["median"], 1891);
    assert_eq!(at("--osl-distribution")["max"], 100);
    assert!(!args.contains(&"--isl".to_string()));
    let set = resolve(&args);
    let (isl, osl) = set.variations[0].config.shaping.drawn.clone().unwrap();
    // 0.7 * 256 + 0.3 * 2048
    assert!((isl.expected_value() - 793.6).abs() < 1e-9);
    assert_eq!(osl.unwrap().to_string(), "empirical(64 @ 25%, 128 @ 75%)");
    assert_eq!(
        err("benchmark:\n  model: m\n  dataset:\n    isl: {mean: 10, median: 20}\n"),
        "run.yaml:4: 'isl': Log-normal median (20) must be <= mean (10)."
    );
}

/// The value after `flag` in an argument list.
fn value_of<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

#[test]
fn inline_single_turn_records_become_a_content_addressed_jsonl_file() {
    let text = "benchmark:
  model: m
  endpoint: {url: http://localhost:8000}
  dataset:
    type: file
    records:
      - {text: \"What is ML?\"}
      - {text: \"Explain GANs.\", output_length: 200}
";
    let args = load(text).unwrap();
    // AIPerf's default format is spelled out, so the loader is not guessed.
    assert_eq!(
        value_of(&args, "--custom-dataset-type"),
        Some("single_turn")
    );
    let path = std::path::PathBuf::from(value_of(&args, "--input-file").unwrap());
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("aiperf-inline-") && name.ends_with(".jsonl"),
        "{name}"
    );
    // "aiperf-inline-" + 64 hex digits + ".jsonl".
    assert_eq!(name.len(), 14 + 64 + 6, "{name}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"text\":\"What is ML?\"}\n{\"text\":\"Explain GANs.\",\"output_length\":200}\n"
    );
    // The same records give the same file; one changed character gives another.
    assert_eq!(load(text).unwrap(), args);
    let other = load(&text.replace("What is ML?", "What is ML!")).unwrap();
    assert_ne!(
        value_of(&other, "--input-file"),
        value_of(&args, "--input-file")
    );
}

#[test]
fn inline_multi_turn_records_keep_the_format_and_each_conversation_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = read_file(
        "benchmark:
  model: m
  datasets:
    main:
      type: file
      format: multi_turn
      records:
        - session_id: chat_1
          turns:
            - {text: a}
            - {text: b}
",
        &no_env,
    )
    .unwrap();
    super::inline::materialise_in(&mut file, dir.path()).unwrap();
    let d = file.benchmark.dataset.as_ref().unwrap();
    assert_eq!(d.format.as_deref(), Some("multi_turn"));
    assert!(d.records.is_none());
    let path = d.path.as_deref().unwrap();
    assert!(
        path.starts_with(&dir.path().display().to_string()),
        "{path}"
    );
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        "{\"session_id\":\"chat_1\",\"turns\":[{\"text\":\"a\"},{\"text\":\"b\"}]}\n"
    );
}

#[test]
fn inline_random_pools_become_a_directory_in_written_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = read_file(
        "benchmark:
  model: m
  dataset:
    type: file
    format: random_pool
    sampling: random
    records:
      queries:
        - {text: q1, type: random_pool}
      passages/x:
        - {text: p1, type: random_pool}
        - {text: p2, type: random_pool}
",
        &no_env,
    )
    .unwrap();
    super::inline::materialise_in(&mut file, dir.path()).unwrap();
    let pools = std::path::PathBuf::from(file.benchmark.dataset.unwrap().path.unwrap());
    assert!(pools.is_dir());
    let mut names: Vec<String> = std::fs::read_dir(&pools)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // Numbered in the written order (the loader reads pools in file-name order), '/' made safe.
    assert_eq!(names, ["000_queries.jsonl", "001_passages_x.jsonl"]);
    assert_eq!(
        std::fs::read_to_string(pools.join("001_passages_x.jsonl")).unwrap(),
        "{\"text\":\"p1\",\"type\":\"random_pool\"}\n{\"text\":\"p2\",\"type\":\"random_pool\"}\n"
    );
    // Written once: a second load finds the directory and leaves no temporary copy behind.
    let again = super::inline::write_records(
        &model::InlineRecords::Pools(
            [
                (
                    "queries".to_string(),
                    vec![serde_json::json!({"text": "q1", "type": "random_pool"})],
                ),
                (
                    "passages/x".to_string(),
                    vec![
                        serde_json::json!({"text": "p1", "type": "random_pool"}),
                        serde_json::json!({"text": "p2", "type": "random_pool"}),
                    ],
                ),
            ]
            .into_iter()
            .collect(),
        ),
        dir.path(),
    )
    .unwrap();
    assert_eq!(again, pools);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn inline_records_are_checked_at_their_lines() {
    let base = "benchmark:
  model: m
  dataset:
";
    let cases = [
        (
            "    type: file\n    path: a.jsonl\n    records: [{text: a}]\n",
            "run.yaml:6: give either 'path' (a file on disk) or 'records' (inline), not both",
        ),
        (
            "    type: file\n    records: []\n",
            "run.yaml:5: 'records' must hold at least one record",
        ),
        (
            "    type: file\n    records:\n      - {text: a}\n      - just text\n",
            "run.yaml:7: each record of 'records' must be a mapping, got \"just text\"",
        ),
        (
            "    type: file\n    records: {queries: [{text: a}]}\n",
            "run.yaml:5: 'records' as named pools needs 'format: random_pool', got format 'single_turn'",
        ),
        (
            "    type: file\n    format: random_pool\n    records: {queries: []}\n",
            "run.yaml:6: 'queries' must hold at least one record",
        ),
        (
            "    type: file\n    records: 3\n",
            "run.yaml:5: 'records' must be a list of records or a mapping of pool name to records, got 3",
        ),
        (
            "    type: synthetic\n    records: [{text: a}]\n",
            "run.yaml:5: 'records' needs 'type: file'",
        ),
        (
            "    type: file\n",
            // A mapping's line is its first key's.
            "run.yaml:4: a 'file' dataset needs 'path' or 'records'",
        ),
    ];
    for (tail, want) in cases {
        assert_eq!(err(&format!("{base}{tail}")), want, "{tail}");
    }
}

/// A base shaped like AIPerf's scenario_workload_profiles.yaml, cut down.
const SCENARIO_BASE: &str = "benchmark:
  model: m
  endpoint: {url: http://localhost:8000, type: chat}
  dataset:
    type: synthetic
    prompts:
      isl: {mean: 512, stddev: 50}
      osl: 128
  phases:
    - {name: warmup, type: concurrency, requests: 5, excludeFromResults: true}
    - {name: profiling, type: poisson, rate: 20, concurrency: 64, requests: 100}
";

/// The `--variant` values of an argument list.
fn variants(args: &[String]) -> Vec<&str> {
    args.windows(2)
        .filter(|w| w[0] == "--variant")
        .map(|w| w[1].as_str())
        .collect()
}

#[test]
fn scenario_runs_merge_over_the_base_and_become_variants() {
    let text = format!(
        "{SCENARIO_BASE}sweep:
  type: scenarios
  cooldownSeconds: 5
  runs:
    - name: chatbot
      benchmark:
        dataset:
          prompts:
            isl: {{mean: 128, stddev: 20}}
        phases:
          - {{name: profiling, rate: 50, concurrency: 128}}
    - name: long_output
      benchmark:
        dataset: {{prompts: {{osl: 1024}}}}
"
    );
    let args = load(&text).unwrap();
    // Only what differs from the base; the phase list merged by name (the warm-up and the
    // profiling phase's type and request count kept).
    assert_eq!(
        variants(&args),
        [
            "chatbot: isl=128, isl-stddev=20, concurrency=128, request-rate=50",
            "long_output: osl=1024",
        ]
    );
    assert_eq!(
        value_of(&args, "--parameter-sweep-cooldown-seconds"),
        Some("5")
    );
    let set = resolve(&args);
    let got: Vec<(String, f64, Option<f64>, f64)> = set
        .variations
        .iter()
        .map(|v| {
            let c = &v.config;
            let rate = match c.load {
                crate::LoadMode::Rate { rate, .. } => rate,
                _ => 0.0,
            };
            (v.label.clone(), c.isl_mean, c.osl_mean, rate)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("chatbot".to_string(), 128.0, Some(128.0), 50.0),
            ("long_output".to_string(), 512.0, Some(1024.0), 20.0)
        ]
    );
}

#[test]
fn one_scenario_run_is_the_base_with_its_overrides() {
    let text = format!(
        "{SCENARIO_BASE}sweep:
  type: scenarios
  runs:
    - name: only
      benchmark: {{phases: [{{name: profiling, concurrency: 3}}]}}
"
    );
    let args = load(&text).unwrap();
    assert!(variants(&args).is_empty());
    assert_eq!(value_of(&args, "--concurrency"), Some("3"));
    assert_eq!(value_of(&args, "--request-rate"), Some("20"));
}

#[test]
fn scenario_runs_that_a_variant_cannot_express_are_refused_at_their_lines() {
    let runs = |body: &str| format!("{SCENARIO_BASE}sweep:\n  type: scenarios\n  runs:\n{body}");
    let cases = [
        (
            "    - {name: a, benchmark: {model: x}}\n    - {name: a, benchmark: {model: y}}\n",
            "run.yaml:16: two runs are named 'a' (also on line 15)",
        ),
        (
            "    - {name: a, bench: {}}\n",
            "run.yaml:15: unknown key 'bench' in a scenario run (expected one of: name, benchmark, variables, values)",
        ),
        (
            "    - {name: 'a:b'}\n    - {name: c}\n",
            "run.yaml:15: run name 'a:b' must be non-empty, without ':', '=' or ','",
        ),
        // An unnamed phase list replaces the base's: its request count would have to go.
        (
            "    - {name: a, benchmark: {phases: [{type: concurrency, concurrency: 4}]}}\n    - {name: b}\n",
            "run.yaml:15: run 'a': drops '--request-count', which a --variant cannot express",
        ),
        (
            "    - {name: a, benchmark: {model: other}}\n    - {name: b}\n",
            "run.yaml:15: run 'a': varies the list flag '-m', which a --variant cannot express",
        ),
        ("", "run.yaml:14: 'runs' must be a list, got null"),
    ];
    for (body, want) in cases {
        assert_eq!(err(&runs(body)), want, "{body}");
    }
}

#[test]
fn a_run_equal_to_the_base_repeats_a_base_value() {
    let text = format!(
        "{SCENARIO_BASE}sweep:\n  type: scenarios\n  runs:\n    - name: baseline\n    - name: small\n      benchmark: {{dataset: {{prompts: {{isl: {{mean: 64}}}}}}}}\n"
    );
    let args = load(&text).unwrap();
    // -m may repeat, so the first single-valued flag is used.
    assert_eq!(
        variants(&args),
        ["baseline: endpoint-type=chat", "small: isl=64"]
    );
}

#[test]
fn sweeps_over_text_values_become_one_variant_per_combination() {
    let text = "sweep:
  type: grid
  parameters:
    datasets.main.format: [single_turn, multi_turn]
    phases.profiling.concurrency: [1, 2]
benchmark:
  model: m
  endpoint: {url: http://localhost:8000, type: chat}
  datasets:
    - {name: main, type: file, path: data.jsonl, format: single_turn}
  phases:
    - {name: profiling, type: concurrency, concurrency: 8, requests: 10}
";
    let args = load(text).unwrap();
    // itertools.product order: the last parameter fastest.
    assert_eq!(
        variants(&args),
        [
            "single_turn_1: concurrency=1",
            "single_turn_2: concurrency=2",
            "multi_turn_1: custom-dataset-type=multi_turn, concurrency=1",
            "multi_turn_2: custom-dataset-type=multi_turn, concurrency=2",
        ]
    );
    let zip = load(&text.replace("type: grid", "type: zip")).unwrap();
    assert_eq!(
        variants(&zip),
        [
            "single_turn_1: concurrency=1",
            "multi_turn_2: custom-dataset-type=multi_turn, concurrency=2",
        ]
    );
    let uneven = text
        .replace("type: grid", "type: zip")
        .replace("[1, 2]", "[1, 2, 3]");
    assert_eq!(
        err(&uneven),
        // The line of the parameter whose length differs from the first's.
        "run.yaml:5: zip sweep parameters must all have the same number of values"
    );
    // Numbers alone stay magic lists.
    let numeric = load(
        &text
            .replace("[single_turn, multi_turn]", "[1, 2]")
            .replace("datasets.main.format", "datasets.main.prompts.isl"),
    )
    .unwrap();
    assert!(variants(&numeric).is_empty());
    assert_eq!(value_of(&numeric, "--isl"), Some("1,2"));
    assert_eq!(value_of(&numeric, "--concurrency"), Some("1,2"));
}

#[test]
fn layered_argv_puts_the_file_between_profile_and_the_typed_flags() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(b"benchmark: {model: m}\n").unwrap();
    let argv: Vec<String> = ["aiperf", "profile", "--concurrency", "3"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(
        layered_argv(&argv, f.path()).unwrap(),
        ["aiperf", "profile", "-m", "m", "--concurrency", "3"]
    );
}

#[test]
fn user_files_are_read_unrendered_and_checked_at_their_lines() {
    let text = "variables: {label: dense}
benchmark:
  model: m
  artifacts:
    user_files:
      - path: input_config.json
        content: {scenario: \"{{ label }}\", model: \"{{ model }}\"}
      - path: meta/README.md
        content: \"Run {{ job_name }}\\n\"
";
    let file = read_file(text, &no_env).unwrap();
    let files = file.benchmark.artifacts.unwrap().user_files.unwrap();
    // Left for the run to render (`model` and `job_name` exist only then); formats inferred.
    assert_eq!(
        files,
        [
            model::UserFile {
                path: "input_config.json".into(),
                format: "json".into(),
                content: serde_json::json!({"scenario": "{{ label }}", "model": "{{ model }}"}),
            },
            model::UserFile {
                path: "meta/README.md".into(),
                format: "text".into(),
                content: serde_json::json!("Run {{ job_name }}\n"),
            },
        ]
    );
    // Nothing to pass on the command line yet.
    assert_eq!(load(text).unwrap(), ["-m", "m"]);
    let base = "benchmark:\n  artifacts:\n    userFiles:\n";
    let cases = [
        (
            "      - {path: /etc/x, content: a}\n",
            "run.yaml:4: user file '/etc/x': absolute paths are refused (it is relative to the run directory)",
        ),
        (
            "      - {path: a/../../x, content: a}\n",
            "run.yaml:4: user file 'a/../../x': '..' is refused (the file must stay in the run directory)",
        ),
        (
            "      - {path: a.json, format: json, content: text}\n",
            "run.yaml:4: user file 'a.json': 'format: json' needs structured content (or set 'format: text')",
        ),
        (
            "      - {path: a.txt, format: text, content: [1]}\n",
            "run.yaml:4: user file 'a.txt': 'format: text' needs string content",
        ),
        (
            "      - {path: a, content: x}\n      - {path: a, content: y}\n",
            "run.yaml:5: user file 'a' is listed twice",
        ),
        (
            "      - {path: a}\n",
            "run.yaml:4: a user file needs 'path' and 'content'",
        ),
        (
            "      - {path: a, content: x, mode: 644}\n",
            "run.yaml:4: unknown key 'mode' (expected one of: path, format, content)",
        ),
    ];
    for (tail, want) in cases {
        assert_eq!(err(&format!("{base}{tail}")), want, "{tail}");
    }
}

// ---- benchmark.accuracy ----

const ACCURACY_HEAD: &str = "benchmark:\n  model: m\n  endpoint: {url: http://localhost:8000}\n";

/// The resolved accuracy mode of a run.
fn accuracy_of(args: &[String]) -> Option<crate::resolve::Accuracy> {
    resolve(args).variations[0].config.accuracy.clone()
}

#[test]
fn accuracy_block_in_either_spelling_resolves_as_its_flags() {
    let camel = format!(
        "{ACCURACY_HEAD}  accuracy:
    benchmark: MMLU_PRO
    tasks: \"anatomy, astronomy\"
    nShots: 3
    enableCot: false
    grader: exact_match
    systemPrompt: \"Answer with one letter.\"
    verbose: true
"
    );
    let snake = format!(
        "{ACCURACY_HEAD}  accuracy:
    benchmark: mmlu-pro
    tasks: [anatomy, astronomy]
    n_shots: 3
    enable_cot: false
    grader: EXACT_MATCH
    system_prompt: \"Answer with one letter.\"
    verbose: true
"
    );
    let flags = strings(&[
        "-m",
        "m",
        "--url",
        "http://localhost:8000",
        "--accuracy-benchmark",
        "mmlu_pro",
        "--accuracy-tasks",
        "anatomy,astronomy",
        "--accuracy-n-shots",
        "3",
        "--accuracy-no-enable-cot",
        "--accuracy-grader",
        "exact_match",
        "--accuracy-system-prompt",
        "Answer with one letter.",
        "--accuracy-verbose",
    ]);
    let want = accuracy_of(&flags);
    assert!(want.is_some());
    let camel_args = load(&camel).unwrap();
    assert!(
        camel_args.ends_with(&strings(&[
            "--accuracy-benchmark",
            "mmlu_pro",
            "--accuracy-tasks",
            "anatomy, astronomy",
            "--accuracy-n-shots",
            "3",
            "--accuracy-no-enable-cot",
            "--accuracy-grader",
            "exact_match",
            "--accuracy-system-prompt",
            "Answer with one letter.",
            "--accuracy-verbose",
        ])),
        "{camel_args:?}"
    );
    assert_eq!(accuracy_of(&camel_args), want);
    let snake_args = load(&snake).unwrap();
    assert_eq!(accuracy_of(&snake_args), want);
    // The camelCase file is what the schema describes.
    let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let json = tree::parse(&camel).unwrap().to_json();
    assert!(validator.is_valid(&json), "{json}");
    // Only a benchmark: its defaults; null or an empty block: no accuracy mode.
    let only = load(&format!("{ACCURACY_HEAD}  accuracy: {{benchmark: aime}}\n")).unwrap();
    assert!(only.ends_with(&strings(&["--accuracy-benchmark", "aime"])));
    let enabled = load(&format!(
        "{ACCURACY_HEAD}  accuracy: {{benchmark: aime, enableCot: true}}\n"
    ))
    .unwrap();
    assert!(enabled.ends_with(&strings(&["--accuracy-enable-cot"])));
    assert_eq!(
        accuracy_of(&only),
        accuracy_of(&strings(&["-m", "m", "--accuracy-benchmark", "aime"]))
    );
    for empty in ["  accuracy:\n", "  accuracy: {}\n"] {
        let args = load(&format!("{ACCURACY_HEAD}{empty}")).unwrap();
        assert_eq!(args, load(ACCURACY_HEAD).unwrap(), "{empty}");
    }
}

#[test]
fn accuracy_block_errors_name_the_line() {
    let cases = [
        (
            "  accuracy:\n    benchmark: mmlu\n    nShot: 3\n",
            "run.yaml:6: unknown key 'nShot' (did you mean 'nShots'?)",
        ),
        (
            "  accuracy:\n    benchmark: mmlu\n    n_shot: 3\n",
            "run.yaml:6: unknown key 'n_shot' (did you mean 'n_shots'?)",
        ),
        (
            "  accuracy:\n    benchmark: mmlu\n    dataset: x\n",
            "run.yaml:6: unknown key 'dataset' (expected one of: benchmark, tasks, nShots, \
             enableCot, grader, systemPrompt, verbose)",
        ),
        (
            "  accuracy:\n    benchmark: mmlux\n",
            "run.yaml:5: 'benchmark' must be one of mmlu, mmlu_pro, aime, hellaswag, bigbench, \
             aime24, aime25, math_500, gsm8k, gpqa_diamond, lcb_codegeneration, got \"mmlux\" \
             (did you mean 'mmlu'?)",
        ),
        (
            "  accuracy:\n    benchmark: mmlu\n    grader: exact\n",
            "run.yaml:6: 'grader' must be one of exact_match, math, multiple_choice, \
             code_execution, lighteval_expr, lighteval_latex, lighteval_gpqa, lighteval_gsm8k, \
             mmlu_pro, got \"exact\" (did you mean 'exact_match'?)",
        ),
        (
            "  accuracy:\n    benchmark: mmlu\n    nShots: 33\n",
            "run.yaml:6: 'nShots' must be between 0 and 32, got 33",
        ),
        (
            "  accuracy:\n    benchmark: mmlu\n    n_shots: -1\n",
            "run.yaml:6: 'n_shots' must be a non-negative integer, got -1",
        ),
        (
            "  accuracy:\n    benchmark: mmlu\n    enable_cot: maybe\n",
            "run.yaml:6: 'enable_cot' must be true or false, got \"maybe\"",
        ),
        (
            "  accuracy:\n    benchmark: mmlu\n    tasks: {a: 1}\n",
            "run.yaml:6: 'tasks' must be a string, got a mapping",
        ),
        (
            "  accuracy: mmlu\n",
            "run.yaml:4: 'accuracy' must be a mapping, got \"mmlu\"",
        ),
        (
            "  accuracy:\n    nShots: 2\n    verbose: false\n",
            "run.yaml:5: 'nShots', 'verbose' set without 'benchmark', which accuracy mode needs \
             (they would otherwise be ignored); benchmarks: mmlu, mmlu_pro, aime, hellaswag, \
             bigbench, aime24, aime25, math_500, gsm8k, gpqa_diamond, lcb_codegeneration",
        ),
    ];
    for (tail, want) in cases {
        assert_eq!(err(&format!("{ACCURACY_HEAD}{tail}")), want, "{tail}");
    }
}

#[test]
fn accuracy_flags_expand_to_the_block_and_back() {
    let base = ["-m", "m", "--url", "http://localhost:8000"];
    let full: Vec<&str> = base
        .iter()
        .copied()
        .chain([
            "--accuracy-benchmark",
            "GSM8K",
            "--accuracy-tasks",
            "a, b",
            "--accuracy-tasks",
            "c",
            "--accuracy-n-shots",
            "0",
            "--accuracy-enable-cot",
            "--accuracy-grader",
            "Math",
            "--accuracy-system-prompt",
            "Think: then answer.",
            "--accuracy-verbose",
        ])
        .collect();
    let yaml = args_round_trip(&full);
    assert_has(
        &yaml,
        &[
            "  accuracy:\n    benchmark: gsm8k\n    tasks: [a, b, c]\n    nShots: 0\n    \
           enableCot: true\n    grader: math\n    systemPrompt: \"Think: then answer.\"\n    \
           verbose: true\n",
        ],
    );
    let back = load_with_env(&yaml, "expanded.yaml", &no_env).unwrap();
    assert_eq!(accuracy_of(&back), accuracy_of(&strings(&full)));
    let off: Vec<&str> = base
        .iter()
        .copied()
        .chain(["--accuracy-benchmark", "aime", "--accuracy-no-enable-cot"])
        .collect();
    assert_has(&args_round_trip(&off), &["    enableCot: false\n"]);
    // Without accuracy flags there is no block.
    assert!(!args_round_trip(&base).contains("accuracy"));
    let e = to_yaml(&strings(&[
        "-m",
        "m",
        "--accuracy-n-shots",
        "2",
        "--accuracy-verbose",
    ]))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "arguments: --accuracy-n-shots, --accuracy-verbose without --accuracy-benchmark has no \
         equivalent in a run file"
    );
    let e = to_yaml(&strings(&[
        "-m",
        "m",
        "--accuracy-benchmark",
        "mmlu",
        "--accuracy-n-shots",
        "40",
    ]))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "arguments: --accuracy-n-shots 40: must be 0 to 32"
    );
}
