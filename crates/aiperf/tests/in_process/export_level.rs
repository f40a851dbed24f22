//! `--export-level` (alias `--profile-export-level`): `records` (the default) writes
//! `profile_export.jsonl`, one line per request; `summary` writes only the aggregate files (the
//! `merge_records.bin` of `--merge-records` is not affected); `raw` adds
//! `profile_export_raw.jsonl` (tested in `tests/outputs.rs`).

use std::path::Path;

use crate::common::*;

/// 12 requests at concurrency 2 against `url`, with `extra` arguments, into `dir`.
async fn run(url: &str, dir: &Path, extra: &[&str]) -> aiperf_engine::RunOutcome {
    let out = Profile::chat(url)
        .concurrency(2)
        .request_count(12)
        .isl(8)
        .osl(4)
        .args(extra)
        .run(dir)
        .await
        .expect("the run finishes");
    assert_eq!(out.exit_code, 0);
    assert_eq!(out.request_count, 12);
    out
}

/// The summary JSON and CSV are written and count every request.
fn assert_summary(dir: &Path) {
    let s = read_json(dir.join("profile_export_aiperf.json"));
    assert_eq!(stat(&s, "request_count", "avg"), 12.0);
    let csv = std::fs::read_to_string(dir.join("profile_export_aiperf.csv")).unwrap();
    assert!(csv.contains("Request Count"), "{csv}");
    assert!(dir.join("inputs.json").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_writes_no_records_file() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    run(&mock.url(), dir.path(), &["--export-level", "summary"]).await;
    assert_summary(dir.path());
    assert!(
        !dir.path().join("profile_export.jsonl").exists(),
        "no per-request JSONL under --export-level summary"
    );
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_is_the_default_and_writes_one_line_per_request() {
    let mock = mock(0.0, 0.0).await;
    for extra in [&[][..], &["--export-level", "records"][..]] {
        let dir = tempfile::tempdir().unwrap();
        run(&mock.url(), dir.path(), extra).await;
        assert_summary(dir.path());
        let lines = read_jsonl(dir.path().join("profile_export.jsonl"));
        assert_eq!(lines.len(), 12, "{extra:?}: one JSONL line per request");
    }
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_alias_and_any_case_are_accepted() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    run(
        &mock.url(),
        dir.path(),
        &["--profile-export-level", "SUMMARY"],
    )
    .await;
    assert_summary(dir.path());
    assert!(!dir.path().join("profile_export.jsonl").exists());
    let dir = tempfile::tempdir().unwrap();
    run(&mock.url(), dir.path(), &["--export-level", "Records"]).await;
    assert_eq!(
        read_jsonl(dir.path().join("profile_export.jsonl")).len(),
        12
    );
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_moves_an_earlier_records_file_aside() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    run(&mock.url(), dir.path(), &[]).await;
    assert!(dir.path().join("profile_export.jsonl").is_file());
    run(&mock.url(), dir.path(), &["--export-level", "summary"]).await;
    assert!(
        !dir.path().join("profile_export.jsonl").exists(),
        "no stale records beside this run's summary"
    );
    assert!(dir
        .path()
        .join("previous_run/profile_export.jsonl")
        .is_file());
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_still_writes_merge_records() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    run(
        &mock.url(),
        dir.path(),
        &["--export-level", "summary", "--merge-records"],
    )
    .await;
    assert!(!dir.path().join("profile_export.jsonl").exists());
    assert!(dir.path().join("merge_records.bin").is_file());
    let manifest = read_json(dir.path().join("shard.json"));
    assert_eq!(manifest["result"]["records"]["count"], 12);
    assert_eq!(manifest["result"]["records"]["complete"], true);
    mock.stop().await;
}
