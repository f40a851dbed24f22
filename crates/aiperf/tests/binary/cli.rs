//! The real binary: exit codes, one-line errors naming the flag, `--help` groups.

use crate::common::*;

fn run(p: &Profile, artifact_dir: Option<&std::path::Path>) -> std::process::Output {
    p.command(artifact_dir).output().expect("run aiperf")
}

#[test]
fn invalid_flags_fail_before_any_request_with_the_flag_named() {
    let m = || Profile::bare().arg("-m", "m");
    let cases = [
        (m().concurrency(0), "--concurrency"),
        (
            m().arg("--benchmark-grace-period", 3),
            "--benchmark-grace-period",
        ),
        (m().endpoint("nope"), "--endpoint-type"),
        (m().arg("--extra-inputs", "bad"), "--extra-inputs"),
        (
            Profile::bare().arg("--url", "http://127.0.0.1:1"),
            "--model",
        ),
        (m().concurrency("1,a"), "--concurrency"),
        (m().concurrency("0,4"), "--concurrency"),
        (
            m().arg("--profile-run-cooldown-seconds", 5),
            "--profile-run-cooldown-seconds: only applies when running multiple trials",
        ),
        (m().arg("--num-profile-runs", 11), "--num-profile-runs"),
        (
            m().concurrency("1,2")
                .isl("8,16,32")
                .arg("--sweep-type", "zip"),
            "zip sweep parameters must all have equal length",
        ),
    ];
    for (p, flag) in cases {
        let args = p.argv(None);
        let out = run(&p, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
}

#[test]
fn unreachable_server_is_one_line_and_exit_1() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let out = run(&Profile::new("m", &url).isl(8), Some(&dir.path().join("x")));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("aiperf: "))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.contains(&url), "{line}");
}

#[test]
fn help_groups_options_like_aiperf() {
    let out = aiperf().args(["profile", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for heading in [
        "Endpoint:",
        "Tokenizer:",
        "Input:",
        "Input Sequence Length (ISL):",
        "Output Sequence Length (OSL):",
        "Load Generator:",
        "Warmup:",
        "Output:",
        "UI:",
        "Service:",
    ] {
        assert!(help.contains(heading), "missing group {heading}");
    }
    for flag in [
        "--synthetic-input-tokens-mean",
        "--output-tokens-mean",
        "--request-count",
        "--warmup-request-count",
    ] {
        assert!(help.contains(flag), "missing {flag}");
    }
}

#[test]
fn compare_refuses_what_it_cannot_read_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = aiperf()
        .args(["compare"])
        .arg(dir.path())
        .arg(dir.path().join("missing"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("aiperf compare: '") && stderr.contains("no profile_export_aiperf.json"),
        "{stderr}"
    );
}

#[test]
fn config_subcommands_check_and_expand_run_files() {
    let dir = tempfile::tempdir().unwrap();
    // Every template validates and expands.
    let list = aiperf()
        .args(["config", "init", "--list"])
        .output()
        .unwrap();
    let table = String::from_utf8(list.stdout).unwrap();
    // A table per category, every template in one of them.
    for category in aiperf_config::yaml::CATEGORY_ORDER {
        assert!(table.contains(category), "{category} missing from {table}");
    }
    let names = aiperf_config::yaml::templates();
    assert_eq!(names.len(), 21);
    for name in names {
        assert!(table.contains(name), "{name} missing from {table}");
        let file = dir.path().join(format!("{name}.yaml"));
        let out = aiperf()
            .args(["config", "init", "--template", name, "-o"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = aiperf()
            .args(["config", "validate"])
            .arg(&file)
            .env("TRACE_FILE", example("mooncake_trace.jsonl"))
            .env("SCHEDULE_FILE", example("mooncake_trace.jsonl"))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(": valid: "), "{stdout}");
    }
    // A misspelt key is one line naming file:line and the right spelling.
    let bad = write(
        dir.path(),
        "bad.yaml",
        "schemaVersion: \"2.0\"\nbenchmark:\n  model: m\n  endpoint: {url: http://127.0.0.1:1}\n  phases:\n    type: concurrency\n    concurency: 2\n",
    );
    let out = aiperf()
        .args(["config", "validate", &bad])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim_end(),
        format!("aiperf config: {bad}:7: unknown key 'concurency' (did you mean 'concurrency'?)")
    );
    // Two sources of one credential are caught without running.
    let creds = write(
        dir.path(),
        "creds.yaml",
        "schemaVersion: \"2.0\"\nbenchmark:\n  model: m\n  endpoint:\n    url: http://127.0.0.1:1\n    apiKey: sk-1\n    headers: {Authorization: Bearer 2}\n",
    );
    let out = aiperf()
        .args(["config", "validate", &creds])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--api-key") && !stderr.contains("sk-1"),
        "{stderr}"
    );
    // init refuses to overwrite.
    let out = aiperf()
        .args(["config", "init", "minimal", "-o", &bad])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // expand prints the profile arguments the file stands for.
    let good = write(
        dir.path(),
        "good.yaml",
        "schemaVersion: \"2.0\"\nbenchmark:\n  model: m\n  endpoint: {url: http://127.0.0.1:1}\n  phases: {type: concurrency, concurrency: 3, requests: 9}\n",
    );
    let out = aiperf().args(["config", "expand", &good]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("aiperf profile "), "{text}");
    assert!(
        text.contains("--concurrency 3") && text.contains("--request-count 9"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_file_runs_and_the_command_line_overrides_it() {
    let mock = mock(1.0, 0.5).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "run.yaml",
        format!(
            "schemaVersion: \"2.0\"\nbenchmark:\n  model: mock-model\n  endpoint:\n    url: {}\n    \
             streaming: true\n  dataset:\n    type: synthetic\n    entries: 10\n    prompts: {{isl: 16, osl: 3}}\n  \
             phases: {{type: concurrency, concurrency: 2, requests: 8}}\n",
            mock.url()
        ),
    );
    let out_dir = dir.path().join("out");
    let child = Profile::bare()
        .arg("-f", &file)
        .request_count(5)
        .ui("none")
        .command(Some(&out_dir))
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "{}",
        String::from_utf8_lossy(&child.stderr)
    );
    let s = read_json(out_dir.join("profile_export_aiperf.json"));
    // The file's requests: 8; the command line's: 5.
    assert_eq!(stat(&s, "request_count", "avg"), 5.0);
    assert_eq!(stat(&s, "output_sequence_length", "avg"), 3.0);
    assert_eq!(s["input_config"]["phases"]["profiling"]["concurrency"], 2);
    mock.stop().await;
}

/// AIPerf's `config init` and `config expand` options: search, category filter, overrides,
/// one variation of a sweep.
#[test]
fn config_init_and_expand_take_aiperfs_options() {
    let run = |args: &[&str]| {
        let out = aiperf().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let hits = run(&["config", "init", "--search", "gpu", "-v"]);
    assert!(
        hits.contains("gpu_telemetry") && hits.contains("intermediate"),
        "{hits}"
    );
    assert!(!hits.contains("minimal"), "{hits}");
    let none = run(&["config", "init", "-s", "no-such-thing"]);
    assert!(
        none.starts_with("No templates match 'no-such-thing'."),
        "{none}"
    );
    let load = run(&["config", "init", "-l", "-c", "Load Testing"]);
    assert!(
        load.contains("latency_test") && !load.contains("embeddings"),
        "{load}"
    );
    let text = run(&[
        "config",
        "init",
        "-t",
        "minimal",
        "-m",
        "my/model",
        "-u",
        "http://gpu-box:9000",
    ]);
    assert!(text.contains("  model: my/model\n"), "{text}");
    assert!(text.contains("url: http://gpu-box:9000\n"), "{text}");
    // The second variation of a two-value sweep, as text and JSON.
    let dir = tempfile::tempdir().unwrap();
    let sweep = write(
        dir.path(),
        "sweep.yaml",
        "benchmark:\n  model: m\n  endpoint: {url: http://127.0.0.1:1}\n  phases: {type: concurrency, concurrency: 2, requests: 9}\nsweep:\n  type: grid\n  parameters:\n    phases.profiling.concurrency: [2, 8]\n",
    );
    let one = run(&["config", "expand", &sweep, "--index", "1"]);
    assert!(one.starts_with("variation 1 of 2: "), "{one}");
    assert!(one.contains("concurrency_8"), "{one}");
    let json: serde_json::Value =
        serde_json::from_str(&run(&["config", "expand", &sweep, "-i", "1", "-f", "json"])).unwrap();
    assert_eq!(json["index"], 1);
    assert_eq!(json["dir_name"], "concurrency_8");
    let out = aiperf()
        .args(["config", "expand", &sweep, "--index", "5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--index 5: "));
}
