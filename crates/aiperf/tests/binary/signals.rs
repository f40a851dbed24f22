//! Interrupting the real binary: the first signal stops sending and drains, a second cancels
//! in-flight requests; both write every artifact, marked as cancelled, and exit non-zero.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

fn start(url: &str, dir: &Path) -> Child {
    Profile::new("m", url)
        .streaming()
        .concurrency(2)
        .request_count(1000)
        .isl(8)
        .osl(2)
        .ui("none")
        .command(Some(dir))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start aiperf")
}

/// Waits until the benchmark is sending (the mock saw `n` requests).
async fn until_sending(mock: &aiperf_mock_server::MockHandle, n: usize) {
    let t0 = Instant::now();
    while mock.requests().len() < n {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "aiperf never started sending"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait(child: Child) -> (i32, String) {
    tokio::task::spawn_blocking(move || {
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_signal_drains_in_flight_requests_and_exports() {
    let mock = mock(400.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let child = start(&mock.url(), dir.path());
    until_sending(&mock, 4).await;
    signal(&child, "-INT");
    let (code, stderr) = wait(child).await;
    assert_eq!(code, 130, "{stderr}");
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    assert_eq!(s["was_cancelled"], true);
    assert_eq!(s["is_complete"], false);
    let done = stat(&s, "request_count", "avg");
    // Signalled after the 4th request was sent: 2 finished, and the 2 in flight drained.
    assert!((3.0..=6.0).contains(&done), "{done} requests");
    assert!(
        s.get("error_request_count").is_none(),
        "drained requests completed normally"
    );
    assert_eq!(
        read_jsonl(dir.path().join("profile_export.jsonl")).len() as f64,
        done
    );
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_signal_cancels_in_flight_requests_but_still_exports() {
    let mock = mock(20_000.0, 0.0).await; // requests that would take 20 s
    let dir = tempfile::tempdir().unwrap();
    let child = start(&mock.url(), dir.path());
    until_sending(&mock, 2).await;
    let t0 = Instant::now();
    signal(&child, "-TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    signal(&child, "-INT");
    let (code, stderr) = wait(child).await;
    assert!(
        t0.elapsed() < Duration::from_secs(8),
        "the second signal must not wait for the 20 s requests"
    );
    assert_eq!(code, 130, "{stderr}");
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    assert_eq!(s["was_cancelled"], true);
    assert_eq!(stat(&s, "request_count", "avg"), 0.0);
    assert!(dir.path().join("profile_export_aiperf.csv").is_file());
    assert!(dir.path().join("profile_export.jsonl").is_file());
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_keeps_every_record_written_so_far() {
    let mock = mock(50.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let child = start(&mock.url(), dir.path());
    until_sending(&mock, 40).await;
    signal(&child, "-KILL");
    let (code, _) = wait(child).await;
    assert_ne!(code, 0);
    // Records are streamed while the run goes on: everything finished ~before the kill is there,
    // and every line is complete JSON.
    let text = std::fs::read_to_string(dir.path().join("profile_export.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 30, "only {} records survived", lines.len());
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).expect("complete JSON line");
        assert!(v["metrics"]["request_latency"].is_object());
    }
    assert!(dir.path().join("inputs.json").is_file());
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritable_artifact_directory_is_a_clear_error() {
    let mock = mock(0.0, 0.0).await;
    let file = tempfile::NamedTempFile::new().unwrap();
    let bad = file.path().join("sub"); // a directory inside a regular file cannot exist
    let url = mock.url();
    let out = tokio::task::spawn_blocking(move || {
        Profile::new("m", &url)
            .isl(8)
            .ui("none")
            .command(Some(&bad))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("aiperf: "))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        line.contains("cannot create artifact directory") && line.contains("sub"),
        "{line}"
    );
    assert!(
        mock.requests().is_empty(),
        "nothing sent before the failure"
    );
    mock.stop().await;
}
