//! AIPerf's agentic replay flags and `--scenario` against the mock: the flags parse and are
//! checked with AIPerf's rules; outside a scenario they leave a run as it was (AIPerf reads
//! them only in AGENTIC_REPLAY timing); a scenario, whose timing the phases cannot run yet,
//! is refused before anything is sent or written (`docs/agentic-replay.md`).

use crate::common::*;

/// One Weka trace: 2 parent requests and a 2-request subagent joined by the second.
const WEKA: &str = r#"{"id": "t1", "models": ["m"], "block_size": 64, "hash_id_scope": "local", "requests": [
  {"type": "n", "t": 0, "model": "m", "in": 64, "out": 4, "hash_ids": [1], "api_time": 0.05},
  {"type": "subagent", "t": 0.1, "agent_id": "a1", "duration_ms": 300, "status": "completed",
   "models": ["m"], "subagent_type": "Explore", "requests": [
    {"type": "n", "t": 0.15, "model": "m", "in": 64, "out": 2, "hash_ids": [100], "api_time": 0.05},
    {"type": "n", "t": 0.25, "model": "m", "in": 128, "out": 2, "hash_ids": [100, 101], "api_time": 0.05}]},
  {"type": "n", "t": 0.5, "model": "m", "in": 128, "out": 4, "hash_ids": [1, 2], "api_time": 0.05}]}"#;

/// The trace replayed closed loop once, with extra flags.
fn weka_run(url: &str, file: &str, extra: &[&str]) -> Profile {
    Profile::new("mock-model", url)
        .input_file(file, "weka_trace")
        .arg("--conversation-num", 1)
        .args(extra)
}

/// `--burst-phase-starts`, the start ratios, the system idle cap and the agentic warm-up
/// flags without `--scenario`: the same 4 requests (2 parent turns, 2 subagent turns) as
/// without them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agentic_flags_without_a_scenario_leave_the_run_unchanged() {
    let mock = mock(5.0, 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "trace.json", WEKA);
    let out = weka_run(
        &mock.url(),
        &file,
        &[
            "--burst-phase-starts",
            "--trajectory-start-min-ratio",
            "0.1",
            "--trajectory-start-max-ratio",
            "0.9",
            "--system-idle-gap-cap-seconds",
            "5",
            "--agentic-warmup-grace-period",
            "1",
            "--agentic-cache-warmup-duration",
            "2",
            "--unsafe-override",
        ],
    )
    .run(&dir.path().join("out"))
    .await
    .unwrap();
    assert_eq!((out.exit_code, out.request_count), (0, 4));
    assert_eq!(posts(&mock).len(), 4);
    mock.stop().await;
}

/// `--scenario inferencex-agentx-mvp` (with `--unsafe-override`, which the local trace
/// needs) and `--trace-idle-gap-cap-seconds`: refused naming the flag, nothing sent, no
/// summary written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_is_refused_before_anything_is_sent() {
    let mock = mock(5.0, 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "trace.json", WEKA);
    let out = dir.path().join("out");
    let err = weka_run(
        &mock.url(),
        &file,
        &["--scenario", "inferencex-agentx-mvp", "--unsafe-override"],
    )
    .run(&out)
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("--scenario inferencex-agentx-mvp: AGENTIC_REPLAY timing"),
        "{err}"
    );
    assert!(posts(&mock).is_empty());
    assert!(!out.join("profile_export_aiperf.json").exists());
    // The trace idle-gap cap reshapes the loaded timeline, which the weka loader does not do
    // yet: refused as well rather than ignored.
    let err = weka_run(&mock.url(), &file, &["--trace-idle-gap-cap-seconds", "60"])
        .run(&dir.path().join("capped"))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "--trace-idle-gap-cap-seconds 60: capping a trace's idle gaps is not implemented yet"
    );
    assert!(posts(&mock).is_empty());
    mock.stop().await;
}

/// Bad values are one-line errors naming the flag (AIPerf's message where it has one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_values_name_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "trace.json", WEKA);
    let cases: [(&[&str], &str); 4] = [
        (
            &["--scenario", "agentx"],
            "--scenario: Unknown scenario 'agentx'. Valid scenarios: inferencex-agentx-mvp",
        ),
        (
            &["--trajectory-start-max-ratio", "0.2"],
            "--trajectory-start-min-ratio: --trajectory-start-min-ratio (0.25) must be <= \
             --trajectory-start-max-ratio (0.2).",
        ),
        (
            &["--trace-idle-gap-cap-seconds", "-2"],
            "--trace-idle-gap-cap-seconds: -2 must be a number of seconds >= 0",
        ),
        (
            &["--agentic-warmup-grace-period", "-1"],
            "--agentic-warmup-grace-period: -1 must be a number of seconds >= 0",
        ),
    ];
    for (extra, want) in cases {
        let err = weka_run("http://127.0.0.1:9", &file, extra)
            .run(&dir.path().join("out"))
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(err, want);
    }
}
