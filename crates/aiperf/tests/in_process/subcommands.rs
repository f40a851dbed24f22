//! End-to-end tests of `aiperf completions` (and `--install-completion` / `--show-completion`),
//! `aiperf chat` against the mock server over loopback, and `aiperf speed-bench-report` over
//! run directories written by hand. All run the built binary.

use std::path::Path;
use std::process::{Output, Stdio};

use crate::common::{aiperf, mock_with, posts};
use aiperf_mock_server::MockConfig;
use serde_json::{json, Value};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `aiperf ARGS` with `HOME` at `home` and no shell hints in the environment but `$SHELL`.
fn with_home(home: &Path, shell: &str, args: &[&str]) -> Output {
    aiperf()
        .args(args)
        .env("HOME", home)
        .env("SHELL", shell)
        .env_remove("ZSH_VERSION")
        .env_remove("BASH_VERSION")
        .env_remove("FISH_VERSION")
        .env_remove("ZSH")
        .env_remove("ZSH_CUSTOM")
        .output()
        .expect("aiperf runs")
}

// ---------------------------------------------------------------- completions

#[test]
fn completions_bash_is_valid_bash_and_knows_profile_flags() {
    let out = aiperf().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let script = stdout(&out);
    assert!(script.contains("profile"), "no 'profile' in the script");
    assert!(script.contains("--concurrency"), "no '--concurrency'");
    assert!(
        script.contains("speed-bench-report"),
        "no 'speed-bench-report'"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("aiperf.bash");
    std::fs::write(&file, &script).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .output()
        .unwrap();
    assert!(check.status.success(), "bash -n: {}", stderr(&check));
}

#[test]
fn completions_for_each_shell_name_the_program() {
    let expect = [
        ("zsh", "#compdef aiperf"),
        ("fish", "complete -c aiperf"),
        ("elvish", "edit:completion:arg-completer[aiperf]"),
        ("powershell", "Register-ArgumentCompleter"),
    ];
    for (shell, marker) in expect {
        let out = aiperf().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        assert!(stdout(&out).contains(marker), "{shell}: no '{marker}'");
        assert!(
            stdout(&out).contains("--concurrency"),
            "{shell}: no --concurrency"
        );
    }
}

#[test]
fn completions_refuses_an_unknown_shell() {
    let out = aiperf().args(["completions", "tcsh"]).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("tcsh"), "{}", stderr(&out));
}

#[test]
fn show_completion_prints_the_same_script_as_completions() {
    let home = tempfile::tempdir().unwrap();
    let shown = with_home(home.path(), "/bin/sh", &["--show-completion", "fish"]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let direct = aiperf().args(["completions", "fish"]).output().unwrap();
    assert_eq!(stdout(&shown), stdout(&direct));
    // Nothing is installed by --show-completion.
    assert!(std::fs::read_dir(home.path()).unwrap().next().is_none());
}

#[test]
fn install_completion_bash_detected_from_shell_writes_script_and_one_bashrc_line() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join(".bashrc"), "alias ll='ls -l'").unwrap();
    for _ in 0..2 {
        let out = with_home(home.path(), "/usr/bin/bash", &["--install-completion"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let script = home
        .path()
        .join(".local/share/bash-completion/completions/aiperf");
    let text = std::fs::read_to_string(&script).expect("script installed");
    assert!(text.contains("--concurrency"));
    let line = format!("[ -f \"{0}\" ] && . \"{0}\"", script.display());
    let rc = std::fs::read_to_string(home.path().join(".bashrc")).unwrap();
    // The old last line gets its newline, the loader is appended once.
    assert_eq!(
        rc,
        format!("alias ll='ls -l'\n# Load aiperf completion\n{line}\n")
    );
}

#[test]
fn install_completion_zsh_prepends_fpath_and_fish_needs_no_rc() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join(".zshrc"),
        "autoload -Uz compinit && compinit\n",
    )
    .unwrap();
    let out = with_home(home.path(), "/bin/bash", &["--install-completion", "zsh"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = home.path().join(".zsh/completions");
    let script = std::fs::read_to_string(dir.join("_cyclopts_aiperf")).unwrap();
    assert!(script.starts_with("#compdef aiperf"));
    let rc = std::fs::read_to_string(home.path().join(".zshrc")).unwrap();
    assert_eq!(
        rc,
        format!(
            "# aiperf completions\nfpath=({} $fpath)\nautoload -Uz compinit && compinit\n",
            dir.display()
        )
    );
    assert!(stdout(&out).contains(&format!(
        "Completion script installed to {}",
        dir.join("_cyclopts_aiperf").display()
    )));

    let out = with_home(
        home.path(),
        "/bin/bash",
        &["--install-completion", "--shell", "fish"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let fish = home.path().join(".config/fish/completions/aiperf.fish");
    assert!(std::fs::read_to_string(fish)
        .unwrap()
        .contains("complete -c aiperf"));
}

#[test]
fn install_completion_without_a_detectable_shell_says_so() {
    let home = tempfile::tempdir().unwrap();
    let out = with_home(home.path(), "/bin/sh", &["--install-completion"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "Could not auto-detect shell. Please specify --shell explicitly."
    );
}

// ---------------------------------------------------------------- chat

/// `aiperf chat ARGS` with `stdin` piped in, off the runtime (the mock serves on it).
async fn chat(args: Vec<String>, stdin: &str) -> Output {
    let stdin = stdin.to_string();
    tokio::task::spawn_blocking(move || {
        let mut child = aiperf()
            .arg("chat")
            .args(&args)
            .env_remove("OPENAI_API_KEY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("aiperf runs");
        use std::io::Write;
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(stdin.as_bytes()).unwrap();
        drop(pipe);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The number after `prefix` on the line that starts with it.
fn number_after(text: &str, prefix: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting '{prefix}' in:\n{text}"));
    line[prefix.len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number in '{line}'"))
}

fn body(req: &aiperf_mock_server::RecordedRequest) -> Value {
    serde_json::from_slice(&req.body).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_quick_streams_the_answer_and_prints_timings() {
    // TTFT 40 ms, then 63 gaps of 2 ms: latency >= 40 + 126 = 166 ms.
    let mock = mock_with(MockConfig::for_tests(40.0, 2.0)).await;
    let out = chat(
        args(&[
            "-m",
            "mock-model",
            "-u",
            &mock.url(),
            "--tokenizer",
            "builtin",
            "--quick",
            "hi",
            "--api-key",
            "sk-very-secret",
        ]),
        "",
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let reqs = posts(&mock);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/v1/chat/completions");
    assert_eq!(
        body(&reqs[0]),
        json!({"messages": [{"role": "user", "content": "hi"}], "model": "mock-model",
               "stream": true, "stream_options": {"include_usage": true}})
    );
    let auth = reqs[0]
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.as_str());
    assert_eq!(auth, Some("Bearer sk-very-secret"));
    let reply = reqs[0].reply.clone().expect("mock recorded its reply");
    assert!(
        text.starts_with(&format!("{reply}\n")),
        "reply not printed first:\n{text}"
    );

    let ttft = number_after(&text, "TTFT: ");
    assert!((40.0..1000.0).contains(&ttft), "TTFT {ttft}");
    let tokens = aiperf_dataset::tokenizer::TextTokenizer::builtin()
        .unwrap()
        .count(&reply);
    assert!(
        (60..=68).contains(&tokens),
        "the mock sends 64 tokens, counted {tokens}"
    );
    let tps_line = text.lines().find(|l| l.starts_with("TPS:  ")).unwrap();
    assert!(
        tps_line.contains(&format!("({tokens} tokens in ")),
        "{tps_line}"
    );
    let latency_s: f64 = tps_line
        .rsplit(" in ")
        .next()
        .unwrap()
        .trim_end_matches("s)")
        .parse()
        .unwrap();
    assert!(latency_s >= 0.16, "latency {latency_s}");
    // TPS = tokens / latency, both as printed (latency rounded to 10 ms).
    let tps = number_after(&text, "TPS:  ");
    assert!(
        (tps - tokens as f64 / latency_s).abs() / tps < 0.05,
        "TPS {tps}"
    );
    let itl = number_after(&text, "ITL:  ");
    // 63 gaps of 2 ms spread over the client's token count (64 +- a few).
    assert!((1.8..50.0).contains(&itl), "ITL {itl}");
    assert!(!text.contains("sk-very-secret") && !stderr(&out).contains("sk-very-secret"));
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_reads_stdin_and_resends_history_with_the_system_prompt() {
    let mock = mock_with(MockConfig {
        default_output_tokens: 5,
        ..MockConfig::for_tests(0.0, 0.0)
    })
    .await;
    let base = format!("{}/v1", mock.url());
    let out = chat(
        args(&[
            "--model",
            "mock-model",
            "--url",
            &base,
            "--tokenizer",
            "builtin",
            "--system-prompt",
            "be brief",
        ]),
        "first\nsecond\n",
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("Please enter a message for the chat model (Ctrl-D to exit):\n> "));
    assert_eq!(text.matches("TTFT: ").count(), 2, "{text}");
    let reqs = posts(&mock);
    assert_eq!(reqs.len(), 2);
    let reply1 = reqs[0].reply.clone().unwrap();
    assert_eq!(
        body(&reqs[1])["messages"],
        json!([{"role": "system", "content": "be brief"},
               {"role": "user", "content": "first"},
               {"role": "assistant", "content": reply1},
               {"role": "user", "content": "second"}])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_no_history_sends_each_turn_alone() {
    let mock = mock_with(MockConfig {
        default_output_tokens: 3,
        ..MockConfig::for_tests(0.0, 0.0)
    })
    .await;
    let out = chat(
        args(&[
            "-m",
            "mock-model",
            "-u",
            &mock.url(),
            "--tokenizer",
            "builtin",
            "--no-history",
        ]),
        "one\ntwo\n",
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let reqs = posts(&mock);
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        body(&reqs[1])["messages"],
        json!([{"role": "user", "content": "two"}])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_server_down_is_one_line_and_exit_1() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let out = chat(
        args(&[
            "-m",
            "m",
            "-u",
            &url,
            "--tokenizer",
            "builtin",
            "-q",
            "hi",
            "--api-key",
            "sk-hidden",
        ]),
        "",
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.starts_with("Error running aiperf chat: "), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(!err.contains("sk-hidden"));
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_http_error_shows_status_and_body_detail() {
    let mock = mock_with(MockConfig {
        faults: vec!["http:429".into()],
        ..MockConfig::for_tests(0.0, 0.0)
    })
    .await;
    let out = chat(
        args(&[
            "-m",
            "mock-model",
            "-u",
            &mock.url(),
            "--tokenizer",
            "builtin",
            "-q",
            "hi",
        ]),
        "",
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.starts_with("Error running aiperf chat: HTTP 429 Too Many Requests"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_sse_error_event_is_one_line_and_exit_1() {
    let mock = mock_with(MockConfig {
        faults: vec!["error_event".into()],
        ..MockConfig::for_tests(0.0, 0.0)
    })
    .await;
    let out = chat(
        args(&[
            "-m",
            "mock-model",
            "-u",
            &mock.url(),
            "--tokenizer",
            "builtin",
            "-q",
            "hi",
        ]),
        "",
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    // The mock's event carries the comment ": injected error event".
    assert_eq!(
        stderr(&out).trim(),
        "Error running aiperf chat: SSEResponseError: injected error event"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_counts_reasoning_tokens_apart() {
    // 3 of 10 tokens are reasoning (`reasoning_content`): the stats say so, and the history
    // keeps the content only.
    let mock = mock_with(MockConfig {
        default_output_tokens: 10,
        reasoning_tokens: 3,
        ..MockConfig::for_tests(0.0, 0.0)
    })
    .await;
    let out = chat(
        args(&[
            "-m",
            "mock-model",
            "-u",
            &mock.url(),
            "--tokenizer",
            "builtin",
        ]),
        "a\nb\n",
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let tps = text.lines().find(|l| l.starts_with("TPS:  ")).unwrap();
    let reasoning: u64 = tps
        .split(", ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no reasoning count in '{tps}'"));
    assert!((2..=4).contains(&reasoning), "{tps}");
    let reqs = posts(&mock);
    let assistant = &body(&reqs[1])["messages"][1];
    assert_eq!(assistant["role"], "assistant");
    let content = assistant["content"].as_str().unwrap();
    assert!(!content.is_empty());
    assert!(text.contains(content), "the content was printed");
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_repl_reports_a_failed_turn_and_goes_on() {
    // Every request fails: both turns are reported on stderr, the session still ends cleanly.
    let mock = mock_with(MockConfig {
        faults: vec!["http:500".into()],
        ..MockConfig::for_tests(0.0, 0.0)
    })
    .await;
    let out = chat(
        args(&[
            "-m",
            "mock-model",
            "-u",
            &mock.url(),
            "--tokenizer",
            "builtin",
        ]),
        "a\nb\n",
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).matches("request failed: HTTP 500").count(),
        2,
        "{}",
        stderr(&out)
    );
    assert_eq!(posts(&mock).len(), 2);
}

// ---------------------------------------------------------------- speed-bench-report

/// One run directory: a summary naming `model` and `dataset`, an output token throughput, and
/// (when given) a server metrics export.
fn run_dir(dir: &Path, input_config: Value, throughput: f64, server: Option<Value>) {
    std::fs::create_dir_all(dir).unwrap();
    let profile = json!({"input_config": input_config,
                         "output_token_throughput": {"unit": "tokens/sec", "avg": throughput}});
    std::fs::write(dir.join("profile_export_aiperf.json"), profile.to_string()).unwrap();
    if let Some(s) = server {
        std::fs::write(dir.join("server_metrics_export.json"), s.to_string()).unwrap();
    }
}

fn ours(model: &str, format: &str) -> Value {
    json!({"models": [model], "datasets": [{"type": "file", "path": "x.jsonl", "format": format}]})
}

fn series(stat: &str, v: f64) -> Value {
    json!({"series": [{"stats": {stat: v}}]})
}

/// m1: coding (SGLang gauge 2.5, 100 tok/s) and math (vLLM counters: 300 accepted over 100
/// drafts plus one = 4.0; 300 / 600 draft tokens = 0.5; 50 tok/s); m2 (AIPerf's input_config
/// shape): coding 3.0, 80 tok/s; a directory without a summary and a run without a category
/// are skipped.
fn speed_bench_tree(root: &Path) {
    run_dir(
        &root.join("run_coding"),
        ours("m1", "speed_bench_coding"),
        100.0,
        Some(
            json!({"metrics": {"sglang:spec_accept_length": series("avg", 2.5),
                                 "sglang:spec_accept_rate": series("avg", 0.75)}}),
        ),
    );
    run_dir(
        &root.join("run_math"),
        ours("m1", "speed_bench_math"),
        50.0,
        Some(json!({"metrics": {
            "vllm:spec_decode_num_accepted_tokens": series("total", 300.0),
            "vllm:spec_decode_num_drafts": series("total", 100.0),
            "vllm:spec_decode_num_draft_tokens": series("total", 600.0)}})),
    );
    run_dir(
        &root.join("run_m2"),
        json!({"models": {"items": [{"name": "m2"}]}, "datasets": [{"format": "speed_bench_coding"}]}),
        80.0,
        Some(json!({"metrics": {"trtllm:spec_accept_length": series("avg", 3.0)}})),
    );
    run_dir(
        &root.join("run_plain"),
        ours("m1", "single_turn"),
        10.0,
        None,
    );
    std::fs::create_dir_all(root.join("notes")).unwrap();
}

fn report(root: &Path, extra: &[&str]) -> (Output, String) {
    let csv = root.join("out.csv");
    let out = aiperf()
        .arg("speed-bench-report")
        .arg(root)
        .arg("--output")
        .arg(&csv)
        .args(extra)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&csv).unwrap_or_default();
    (out, text)
}

#[test]
fn speed_bench_accept_length_matrix_cell_by_cell() {
    let dir = tempfile::tempdir().unwrap();
    speed_bench_tree(dir.path());
    let (out, csv) = report(dir.path(), &["--format", "csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // m1 overall (2.5 + 4.0) / 2 = 3.25; m2 has no math run.
    assert_eq!(
        csv,
        "Model,coding,math,Overall\r\nm1,2.50,4.00,3.25\r\nm2,3.00,,3.00\r\n"
    );
    let text = stdout(&out);
    assert!(text.starts_with("Found 4 run directories.\n"), "{text}");
    assert!(text.contains("CSV written to"), "{text}");
    assert!(
        !text.contains("Acceptance Length Report"),
        "--format csv prints no table"
    );
    assert!(
        stderr(&out).contains("cannot determine category"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn speed_bench_accept_rate_and_throughput() {
    let dir = tempfile::tempdir().unwrap();
    speed_bench_tree(dir.path());
    let (out, csv) = report(dir.path(), &["--metric", "accept_rate", "--format", "csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // m1: 0.75 and 300 / 600 = 0.5, overall 0.625 -> "0.62" (half to even, as Python);
    // m2 has no rate metric.
    assert_eq!(
        csv,
        "Model,coding,math,Overall\r\nm1,0.75,0.50,0.62\r\nm2,,,\r\n"
    );
    let (out, csv) = report(dir.path(), &["--metric", "throughput", "--format", "csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        csv,
        "Model,coding,math,Overall\r\nm1,100.00,50.00,75.00\r\nm2,80.00,,80.00\r\n"
    );
}

#[test]
fn speed_bench_table_only_writes_no_csv() {
    let dir = tempfile::tempdir().unwrap();
    speed_bench_tree(dir.path());
    let (out, csv) = report(dir.path(), &["--format", "table"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(csv.is_empty(), "no CSV with --format table");
    let text = stdout(&out);
    assert!(text.contains("Acceptance Length Report"), "{text}");
    let m1 = text.lines().find(|l| l.contains("m1")).unwrap();
    for cell in ["2.50", "4.00", "3.25"] {
        assert!(m1.contains(cell), "{m1}");
    }
    let m2 = text.lines().find(|l| l.contains("m2")).unwrap();
    assert!(m2.contains(" - ") && m2.contains("3.00"), "{m2}");
}

#[test]
fn speed_bench_without_runs_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = aiperf()
        .arg("speed-bench-report")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "Error: no aiperf run directories found."
    );
    run_dir(&dir.path().join("r"), ours("m", "single_turn"), 1.0, None);
    let out = aiperf()
        .arg("speed-bench-report")
        .arg(dir.path())
        .arg("--output")
        .arg(dir.path().join("o.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).ends_with("Error: no SPEED-Bench results extracted.\n"),
        "{}",
        stderr(&out)
    );
}
