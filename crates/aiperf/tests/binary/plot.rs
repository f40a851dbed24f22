//! `aiperf plot` and `profile --auto-plot` as a user runs them: exit codes, the reason named
//! on one line, files written, and `--serve` answering over HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Stdio;

use crate::common::*;

fn plot(args: &[&str]) -> std::process::Output {
    aiperf()
        .arg("plot")
        .args(args)
        .output()
        .expect("run aiperf plot")
}

/// A run made with the real binary against the in-process mock.
async fn make_run(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mock = mock(1.0, 0.5).await;
    let p = Profile::chat(&mock.url())
        .streaming()
        .concurrency(2)
        .request_count(8)
        .isl(8)
        .osl(4)
        .args(extra.iter().copied());
    let mut cmd = p.command(Some(dir));
    tokio::task::spawn_blocking(move || cmd.output().expect("run aiperf"))
        .await
        .unwrap()
}

#[test]
fn bad_paths_and_flags_are_named_with_exit_1() {
    let out = plot(&["/no/such/dir"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/no/such/dir"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    let out = plot(&[empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no run found"), "{err}");
    for (args, named) in [
        (vec!["--group", "nogl"], "--group"),
        (vec!["--format", "gif"], "--format"),
    ] {
        let mut all = vec![empty.path().to_str().unwrap()];
        all.extend(args);
        let out = plot(&all);
        assert_eq!(out.status.code(), Some(1), "{all:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(named),
            "{all:?}"
        );
    }
    // Absurd sizes are refused by the parser, before anything is read.
    let out = plot(&["--width", "0"]);
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_plot_draws_after_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = make_run(dir.path(), &["--auto-plot"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Saved"), "{stdout}");
    for f in [
        "report.html",
        "ttft_over_time.png",
        "ttft_over_time.svg",
        "summary.txt",
        "plot_config.yaml",
    ] {
        assert!(dir.path().join("plots").join(f).is_file(), "{f} missing");
    }
}

/// A plot that cannot be written is a warning, and the run's exit code stands, unless
/// `--plot-required` makes it fatal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_plot_failure_is_a_warning_unless_required() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("plots"),
        "a file where the plots directory goes",
    )
    .unwrap();
    let out = make_run(dir.path(), &["--auto-plot"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("warning: --auto-plot failed"), "{err}");
    let out = make_run(dir.path(), &["--auto-plot", "--plot-required"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("--plot-required"), "{err}");
}

fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_the_report_and_its_data() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(make_run(dir.path(), &[]).await.status.code(), Some(0));
    let mut child = aiperf()
        .args([
            "plot",
            dir.path().to_str().unwrap(),
            "--serve",
            "--port",
            "0",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    let page = get(&addr, "/");
    let data = get(&addr, "/data.json");
    let missing = get(&addr, "/nope");
    child.kill().unwrap();
    let _ = child.wait();
    assert!(
        page.starts_with("HTTP/1.1 200"),
        "{}",
        &page[..page.len().min(200)]
    );
    assert!(page.contains("aiperf-report-data"));
    assert!(
        data.contains("\"ttft_over_time\""),
        "{}",
        &data[..data.len().min(300)]
    );
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
}

/// A run file's `plot:` section (AIPerf's inline plot envelope) draws after the run with its
/// groups, and is kept as `.aiperf-plot-config.yaml`, which a later `aiperf plot` reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_files_plot_section_draws_and_is_kept() {
    let mock = mock(1.0, 0.5).await;
    let dir = tempfile::tempdir().unwrap();
    let run_file = dir.path().join("run.yaml");
    let artifacts = dir.path().join("out");
    std::fs::write(
        &run_file,
        format!(
            "schemaVersion: \"2.0\"\nbenchmark:\n  model: mock-model\n  endpoint: {{url: \"{}\", streaming: true}}\n  \
             dataset: {{type: synthetic, entries: 4, prompts: {{isl: 8, osl: 4}}}}\n  \
             phases: {{type: concurrency, concurrency: 2, requests: 4}}\n  artifacts: {{dir: \"{}\"}}\n\
             plot:\n  experiment_classification:\n    baselines: [\"*\"]\n",
            mock.url(),
            artifacts.display()
        ),
    )
    .unwrap();
    let mut cmd = aiperf();
    cmd.args([
        "profile",
        "--config",
        run_file.to_str().unwrap(),
        "--ui",
        "none",
    ]);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(artifacts.join("plots/report.html").is_file());
    let kept = std::fs::read_to_string(artifacts.join(".aiperf-plot-config.yaml")).unwrap();
    assert!(kept.contains("experiment_classification"), "{kept}");
    // Later, without --config, the kept file still decides the groups.
    let again = plot(&[artifacts.to_str().unwrap(), "--format", "html"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    // ... and it is really read: a damaged one is named.
    std::fs::write(artifacts.join(".aiperf-plot-config.yaml"), "a: [unclosed\n").unwrap();
    let bad = plot(&[artifacts.to_str().unwrap(), "--format", "html"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains(".aiperf-plot-config.yaml"));
}
