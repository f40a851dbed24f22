//! The real binary writes `logs/aiperf.log` into the artifact directory: the same lines as
//! stderr, without secrets, and nothing at all when set-up fails.

use crate::common::*;

fn run(url: &str, dir: &std::path::Path, secret: &str) -> std::process::Output {
    Profile::new("m", url)
        .request_count(4)
        .isl(8)
        .osl(2)
        .ui("none")
        .flag("-v")
        .arg("--api-key", secret)
        .arg("-H", format!("X-Api-Key:{secret}x"))
        .command(Some(dir))
        .output()
        .expect("run aiperf")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_file_has_the_run_and_no_secret() {
    let mock = mock(0.0, 0.0).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let secret = "sk-logtest-1234567890";
    let out = run(&mock.url(), &dir, secret);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(dir.join("logs/aiperf.log")).expect("log file written");
    assert!(log.contains("prepared 4 dataset entries"), "{log}");
    assert!(log.contains("phase profiling started"), "{log}");
    assert!(log.contains("DEBUG"), "-v reaches the file: {log}");
    assert!(!log.contains('\u{1b}'), "no colour codes in the file");
    assert!(!log.contains(secret), "secret leaked into the log");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Log File: "), "{stdout}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(secret));
    mock.stop().await;

    // A server that is down: one-line error, no artifact directory, so no log file either.
    let down = tmp.path().join("down");
    let out = run("http://127.0.0.1:1", &down, secret);
    assert!(!out.status.success());
    assert!(!down.exists());
}

/// `--gpu-telemetry pynvml` opens NVML at run time: on a machine without the NVIDIA driver
/// (this one and CI) the run says so in one log line and goes on; with it, the GPUs are
/// summarised under AIPerf's `pynvml://localhost` source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pynvml_without_the_library_is_one_line_and_the_run_goes_on() {
    let mock = mock(1.0, 0.5).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let out = Profile::new("m", &mock.url())
        .request_count(3)
        .isl(8)
        .osl(2)
        .ui("none")
        .arg("--gpu-telemetry", "pynvml")
        .command(Some(&dir))
        .output()
        .expect("run aiperf");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = read_json(dir.join("profile_export_aiperf.json"));
    match s.get("telemetry_data") {
        Some(t) => assert!(t["endpoints"].get("localhost").is_some(), "{t:#}"),
        None => {
            let log = std::fs::read_to_string(dir.join("logs/aiperf.log")).unwrap();
            let lines: Vec<&str> = log.lines().filter(|l| l.contains("pynvml")).collect();
            assert_eq!(lines.len(), 1, "{log}");
            assert!(
                lines[0].contains("NVML is not available") || lines[0].contains("NVML sees no GPU"),
                "{log}"
            );
            assert!(!dir.join("gpu_telemetry_export.jsonl").exists());
        }
    }
    mock.stop().await;
}
