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
    let env = move |name: &str| (name == "TRACE_FILE").then(|| trace_path.clone());
    assert!(templates().len() >= 9);
    for name in templates() {
        let text = template(name).unwrap();
        let args = load_with_env(text, &format!("{name}.yaml"), &env)
            .unwrap_or_else(|e| panic!("template {name}: {e}"));
        let set = resolve(&args);
        assert_eq!(
            set.variations[0].config.models,
            ["meta-llama/Llama-3.1-8B-Instruct"],
            "{name}"
        );
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
    let text = "benchmark:\n  model: m\n  serverMetrics: {enabled: true}\n";
    let e = err(text);
    assert!(
        e.starts_with("run.yaml:3: unknown key 'serverMetrics' (expected one of: model, models"),
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
    let e = err("variables: {conc: 1}\nbenchmark:\n  model: m\n  phases: {concurrency: \"{{ conc * 2 }}\"}\n");
    assert!(e.starts_with("run.yaml:4: '{{ conc * 2 }}': only"), "{e}");
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
        format!("{}:3: unknown key 'bogus' (expected one of: model, models, endpoint, dataset, datasets, phases, warmup, profiling, slos, artifacts, tokenizer)", path.display())
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
