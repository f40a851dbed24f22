//! `--mlflow-*` and `--wandb-*` end to end: the engine runs against the mock server in this
//! process and records the finished run in a fake MLflow tracking server (`fake_mlflow`:
//! MLflow's REST API and artifact proxy, with its JSON shapes, error codes and batch limits)
//! or in a W&B run directory. Expected values come from the run's own artifacts
//! (`profile_export_aiperf.json`) and from the command lines.
//!
//! No test sets an environment variable: credentials go in the tracking URI's userinfo (the
//! `MLFLOW_TRACKING_*` variables are unit-tested in the engine).

use std::path::Path;

use crate::common::*;
use base64::Engine as _;
use fake_mlflow::FakeMlflow;

/// The artifacts a plain chat run writes that AIPerf's default globs upload.
const UPLOADED: [&str; 4] = [
    "inputs.json",
    "profile_export.jsonl",
    "profile_export_aiperf.csv",
    "profile_export_aiperf.json",
];

/// A streamed chat run of 8 requests at concurrency 2, with `extra` flags.
async fn run(mock_url: &str, dir: &Path, extra: &[&str]) -> aiperf_engine::RunOutcome {
    Profile::chat(mock_url)
        .streaming()
        .concurrency(2)
        .request_count(8)
        .args(extra)
        .run(dir)
        .await
        .expect("the run starts")
}

/// `<authority>` of `http://<authority>`, for building URLs with userinfo.
fn authority(url: &str) -> &str {
    url.trim_start_matches("http://")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mlflow_records_the_run_as_aiperf_does() {
    let mock = mock(1.0, 0.5).await;
    let fake = FakeMlflow::start().await;
    let parent = fake.run("sweep");
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("alice:s3cret")
    );
    fake.lock().require_auth = Some(basic.clone());
    let uri = format!("http://alice:s3cret@{}", authority(&fake.url));
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &mock.url(),
        dir.path(),
        &[
            "--mlflow-tracking-uri",
            &uri,
            "--mlflow-experiment",
            "nightly",
            "--mlflow-run-name",
            "chat-c2",
            "--mlflow-tag",
            "team:perf,gpus:8",
            "stage:1.50",
            "--mlflow-parent-run-id",
            &parent,
        ],
    )
    .await;
    assert_eq!(out.exit_code, 0, "a recorded run exits 0");
    let summary = read_json(dir.path().join("profile_export_aiperf.json"));
    let s = fake.snapshot();

    // The experiment did not exist: looked up, then created.
    assert_eq!(
        s.calls[..2],
        [
            "GET /api/2.0/mlflow/experiments/get-by-name",
            "POST /api/2.0/mlflow/experiments/create"
        ]
    );
    let exp = s
        .experiments
        .iter()
        .find(|(_, (n, _))| n == "nightly")
        .map(|(id, _)| id.clone())
        .expect("experiment 'nightly' created");
    assert!(
        s.calls
            .contains(&"GET /api/2.0/mlflow/runs/get".to_string()),
        "parent checked"
    );

    // One new run, in that experiment, named, nested, finished.
    let (run_id, r) = s
        .runs
        .iter()
        .find(|(id, _)| **id != parent)
        .map(|(id, r)| (id.clone(), r.clone()))
        .expect("a run was created");
    assert_eq!(s.runs.len(), 2);
    assert_eq!(r.experiment_id, exp);
    assert_eq!(r.run_name, "chat-c2");
    assert_eq!(r.status, "FINISHED");
    assert!(r.end_time.unwrap() >= r.start_time && r.start_time > 0);
    assert_eq!(r.tags["mlflow.parentRunId"], parent);
    assert_eq!(r.tags["mlflow.runName"], "chat-c2");
    assert_eq!(r.tags["mlflow.source.type"], "LOCAL");

    // Tags: AIPerf's, then the user's (values rendered as Python's str() of the coerced value).
    assert_eq!(r.tags["team"], "perf");
    assert_eq!(r.tags["gpus"], "8");
    assert_eq!(r.tags["stage"], "1.5");
    assert_eq!(r.tags["aiperf.was_cancelled"], "false");
    assert_eq!(
        r.tags["benchmark_id"],
        summary["benchmark_id"].as_str().unwrap()
    );
    assert_eq!(
        r.tags["aiperf.version"],
        summary["aiperf_version"].as_str().unwrap()
    );

    // Params.
    assert_eq!(r.params["endpoint.type"], "chat");
    assert_eq!(r.params["endpoint.models"], "mock-model");
    assert_eq!(r.params["endpoint.urls"], mock.url());
    assert_eq!(r.params["timing.mode"], "concurrency");
    assert_eq!(r.params["loadgen.concurrency"], "2");
    assert_eq!(r.params["loadgen.request_count"], "8");
    assert_eq!(
        r.params["output.artifact_directory"],
        dir.path().display().to_string()
    );
    let cli = &r.params["aiperf.cli_command"];
    assert!(cli.contains("--mlflow-run-name chat-c2"), "{cli}");

    // Metrics: every statistic of the summary, `<tag>` for avg and `<tag>.<stat>` otherwise,
    // with the summary's exact values; plus the count of completed requests.
    let mut expected = 0;
    for (tag, stats) in summary.as_object().unwrap() {
        let Some(obj) = stats.as_object().filter(|o| o.contains_key("unit")) else {
            continue;
        };
        for (stat, v) in obj.iter().filter(|(k, _)| *k != "unit") {
            let key = if stat == "avg" {
                tag.clone()
            } else {
                format!("{tag}.{stat}")
            };
            let got = r
                .metrics
                .get(&key)
                .unwrap_or_else(|| panic!("metric {key} missing"));
            assert_eq!(got.0, v.as_f64().unwrap(), "{key}");
            assert_eq!(got.2, 0, "{key}: step 0");
            expected += 1;
        }
    }
    assert_eq!(r.metrics.len(), expected + 1);
    assert_eq!(r.metrics["request_count"].0, 8.0);
    assert_eq!(r.metrics["aiperf.completed_requests"].0, 8.0);
    assert!(r.metrics.contains_key("time_to_first_token.p99"));
    assert!(r.metrics.contains_key("request_latency.std"));

    // Artifacts: the files the default globs match, under exports/, with the bytes on disk,
    // and mlflow_export.json last; the console text (.txt) is not matched.
    let prefix = format!("{exp}/{run_id}/artifacts/exports/");
    let mut want: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            [".json", ".csv", ".jsonl", ".parquet"]
                .iter()
                .any(|x| n.ends_with(x))
        })
        .collect();
    want.sort();
    for f in UPLOADED.iter().chain(["mlflow_export.json"].iter()) {
        assert!(want.contains(&f.to_string()), "{f} on disk");
    }
    let got: Vec<String> = s
        .artifacts
        .keys()
        .map(|k| k.strip_prefix(&prefix).unwrap_or(k).to_string())
        .collect();
    assert_eq!(got, want, "uploaded = the matching files");
    for (k, (bytes, _)) in &s.artifacts {
        let name = k.strip_prefix(&prefix).unwrap();
        assert_eq!(
            bytes,
            &std::fs::read(dir.path().join(name)).unwrap(),
            "{name}"
        );
    }
    assert_eq!(
        s.artifacts[&format!("{prefix}profile_export_aiperf.json")].1,
        "application/json"
    );
    assert!(!got.contains(&"profile_export_console.txt".to_string()));
    assert!(s.calls.last().unwrap().ends_with("runs/update"));

    // mlflow_export.json as AIPerf writes it, without the password.
    let meta = read_json(dir.path().join("mlflow_export.json"));
    assert_eq!(meta["run_id"], run_id.as_str());
    assert_eq!(meta["run_name"], "chat-c2");
    assert_eq!(meta["experiment"], "nightly");
    assert_eq!(meta["parent_run_id"], parent.as_str());
    assert_eq!(meta["live_streaming"], false);
    let uploaded: Vec<&str> = meta["uploaded_artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(uploaded.last(), Some(&"mlflow_export.json"));
    assert_eq!(uploaded.len(), want.len());
    let keys = meta["metric_keys"].as_array().unwrap();
    assert_eq!(keys.len(), r.metrics.len());

    // Every request authenticated; the password is nowhere in what was recorded.
    assert!(s.auth.iter().all(|a| a.as_deref() == Some(basic.as_str())));
    let recorded = format!("{:?}{:?}{:?}", r.params, r.tags, s.artifacts.keys());
    assert!(!recorded.contains("s3cret"));
    let meta_text = std::fs::read_to_string(dir.path().join("mlflow_export.json")).unwrap();
    assert!(!meta_text.contains("s3cret"), "{meta_text}");
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mlflow_reuses_the_experiment_splits_batches_and_falls_back_to_a_root_run() {
    let mock = mock(0.0, 0.0).await;
    let fake = FakeMlflow::start().await;
    let exp = fake.experiment("aiperf", "active");
    let dir = tempfile::tempdir().unwrap();
    // 150 tags: more than one log-batch call may carry (100).
    let tags: Vec<String> = (0..150).map(|i| format!("k{i:03}:v{i}")).collect();
    let mut extra = vec![
        "--mlflow-tracking-uri".to_string(),
        fake.url.clone(),
        "--mlflow-parent-run-id".into(),
        "doesnotexist".into(),
        "--mlflow-artifact-glob".into(),
        "*.csv".into(),
        "--mlflow-tag".into(),
        tags.join(","),
    ];
    extra.push("--request-rate".into());
    extra.push("50".into());
    let out = run(
        &mock.url(),
        dir.path(),
        &extra.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(out.exit_code, 0);
    let s = fake.snapshot();
    assert!(
        !s.calls.iter().any(|c| c.ends_with("experiments/create")),
        "the default experiment 'aiperf' exists and is reused"
    );
    let (run_id, r) = s
        .runs
        .iter()
        .next()
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();
    assert_eq!(s.runs.len(), 1);
    assert_eq!(r.experiment_id, exp);
    assert!(
        !r.tags.contains_key("mlflow.parentRunId"),
        "missing parent: a root run"
    );
    let benchmark_id = read_json(dir.path().join("profile_export_aiperf.json"))["benchmark_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(r.run_name, format!("aiperf-{}", &benchmark_id[..8]));
    assert_eq!(r.status, "FINISHED");
    // 150 user tags + aiperf.version, aiperf.was_cancelled, benchmark_id = 153: two calls.
    assert_eq!(s.batches.len(), 2);
    assert_eq!(s.batches[0].2, 100);
    assert_eq!(s.batches[1].2, 53);
    assert_eq!(r.tags["k149"], "v149");
    assert_eq!(r.params["timing.mode"], "poisson");
    assert_eq!(r.params["loadgen.request_rate"], "50.0");
    assert!(
        !r.params.contains_key("loadgen.concurrency") || r.params["loadgen.concurrency"] == "2"
    );
    // Only the CSV glob (the top-level CSV files on disk), plus the metadata file.
    let mut want: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".csv"))
        .chain(["mlflow_export.json".to_string()])
        .map(|n| format!("{exp}/{run_id}/artifacts/exports/{n}"))
        .collect();
    want.sort();
    assert!(
        want.len() >= 2
            && want
                .iter()
                .any(|n| n.ends_with("/profile_export_aiperf.csv"))
    );
    let names: Vec<&String> = s.artifacts.keys().collect();
    assert_eq!(names, want.iter().collect::<Vec<_>>());
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_upload_marks_the_run_failed_and_the_exit_code_non_zero() {
    let mock = mock(0.0, 0.0).await;
    let fake = FakeMlflow::start().await;
    fake.lock().fail_artifacts = true;
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &mock.url(),
        dir.path(),
        &["--mlflow-tracking-uri", &fake.url],
    )
    .await;
    assert_eq!(
        out.exit_code, 1,
        "a tracker that failed counts as a missing artifact"
    );
    assert_eq!(out.request_count, 8, "the run itself is whole");
    let s = fake.snapshot();
    let r = s.runs.values().next().unwrap();
    assert_eq!(r.status, "FAILED");
    assert_eq!(
        r.metrics["request_count"].0, 8.0,
        "metrics were logged before the failure"
    );
    for f in UPLOADED {
        assert!(dir.path().join(f).is_file(), "{f} still written");
    }
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_tracker_fails_the_run_but_not_its_artifacts() {
    let mock = mock(0.0, 0.0).await;
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let uri = format!("http://bob:pw-secret@127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let out = run(&mock.url(), dir.path(), &["--mlflow-tracking-uri", &uri]).await;
    assert_eq!(out.exit_code, 1);
    assert_eq!(out.request_count, 8);
    assert!(
        started.elapsed().as_secs() < 20,
        "gives up within the export timeout"
    );
    for f in UPLOADED {
        assert!(dir.path().join(f).is_file(), "{f} written");
    }
    assert!(!dir.path().join("mlflow_export.json").exists());

    // The same with the binary: one warning naming the URL without its password.
    let bin_dir = dir.path().join("bin");
    let mut cmd = Profile::chat(&mock.url())
        .streaming()
        .concurrency(2)
        .request_count(8)
        .ui("none")
        .arg("--mlflow-tracking-uri", &uri)
        .command(Some(&bin_dir));
    let child = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(child.status.code(), Some(1));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr)
    );
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("MLflow upload"))
        .collect();
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(
        warnings[0].contains(&format!("http://<redacted>@127.0.0.1:{port}")),
        "{}",
        warnings[0]
    );
    assert!(!text.contains("pw-secret"), "{text}");
    assert!(bin_dir.join("profile_export_aiperf.json").is_file());
    mock.stop().await;
}

/// Runs the built binary with `envs` set, off the runtime's threads; returns (exit code,
/// stdout + stderr).
async fn run_binary(profile: Profile, dir: &Path, envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = profile.ui("none").command(Some(dir));
    for (k, v) in envs {
        cmd.env(k, v);
    }
    for k in [
        "MLFLOW_TRACKING_TOKEN",
        "MLFLOW_TRACKING_USERNAME",
        "MLFLOW_TRACKING_PASSWORD",
    ] {
        if !envs.iter().any(|(n, _)| *n == k) {
            cmd.env_remove(k);
        }
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_comes_from_mlflow_tracking_token_and_stays_secret() {
    let mock = mock(0.0, 0.0).await;
    let fake = FakeMlflow::start().await;
    fake.lock().require_auth = Some("Bearer tok-5ecret".into());
    let dir = tempfile::tempdir().unwrap();
    let profile = Profile::chat(&mock.url())
        .concurrency(1)
        .request_count(2)
        .arg("--mlflow-tracking-uri", &fake.url);
    let (code, text) = run_binary(
        profile,
        dir.path(),
        &[("MLFLOW_TRACKING_TOKEN", "tok-5ecret")],
    )
    .await;
    assert_eq!(code, Some(0), "{text}");
    let s = fake.snapshot();
    assert!(!s.auth.is_empty());
    assert!(s
        .auth
        .iter()
        .all(|a| a.as_deref() == Some("Bearer tok-5ecret")));
    let r = s.runs.values().next().expect("a run");
    assert_eq!(r.status, "FINISHED");
    let recorded = format!("{:?}{:?}{:?}{text}", r.params, r.tags, s.artifacts.keys());
    assert!(!recorded.contains("tok-5ecret"));
    let meta = std::fs::read_to_string(dir.path().join("mlflow_export.json")).unwrap();
    assert!(!meta.contains("tok-5ecret"));
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracker_that_never_answers_is_given_up_after_the_export_timeout() {
    let mock = mock(0.0, 0.0).await;
    // Accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            open.push(s);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let profile = Profile::chat(&mock.url())
        .concurrency(1)
        .request_count(2)
        .arg("--mlflow-tracking-uri", format!("http://{addr}"));
    let started = std::time::Instant::now();
    let (code, text) = run_binary(
        profile,
        dir.path(),
        &[("AIPERF_MLFLOW_EXPORT_TIMEOUT_SECONDS", "1")],
    )
    .await;
    assert_eq!(code, Some(1), "{text}");
    assert!(started.elapsed().as_secs() < 15, "{:?}", started.elapsed());
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("MLflow upload"))
        .collect();
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(
        warnings[0].contains(&format!("http://{addr}")),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[0].contains("timed out after 1 s (AIPERF_MLFLOW_EXPORT_TIMEOUT_SECONDS)"),
        "{}",
        warnings[0]
    );
    assert!(dir.path().join("profile_export_aiperf.json").is_file());
    hold.abort();
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wandb_writes_a_run_directory_with_aiperfs_config_tags_and_files() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &mock.url(),
        dir.path(),
        &[
            "--wandb-project",
            "bench",
            "--wandb-entity",
            "perf-team",
            "--wandb-tag",
            "nightly,h100",
        ],
    )
    .await;
    assert_eq!(out.exit_code, 0);
    let summary = read_json(dir.path().join("profile_export_aiperf.json"));
    let bid = summary["benchmark_id"].as_str().unwrap();
    let run_dir = dir
        .path()
        .join("wandb")
        .join(format!("aiperf-run-{}", &bid[..8]));
    let manifest = read_json(run_dir.join("aiperf-wandb.json"));
    assert_eq!(manifest["project"], "bench");
    assert_eq!(manifest["entity"], "perf-team");
    assert_eq!(manifest["run_name"], format!("aiperf-{}", &bid[..8]));
    let version = summary["aiperf_version"].as_str().unwrap();
    assert_eq!(
        manifest["tags"],
        serde_json::json!([
            format!("aiperf-{version}"),
            format!("benchmark-{}", &bid[..8]),
            "nightly",
            "h100"
        ])
    );
    assert_eq!(manifest["artifact"]["type"], "aiperf-run");
    let names: Vec<&str> = manifest["artifact"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for f in UPLOADED {
        assert!(names.contains(&f), "{f} in the W&B artifact");
    }
    assert!(names.iter().all(|n| !n.starts_with("wandb/")));
    for n in &names {
        assert!(
            dir.path().join(n).is_file(),
            "{n}: relative to the artifact directory"
        );
    }
    let wsum = read_json(run_dir.join("files/wandb-summary.json"));
    assert_eq!(wsum["request_count"], 8.0);
    assert_eq!(
        wsum["request_latency.p50"].as_f64().unwrap(),
        stat(&summary, "request_latency", "p50")
    );
    let config = std::fs::read_to_string(run_dir.join("files/config.yaml")).unwrap();
    assert!(config.starts_with("wandb_version: 1"), "{config}");
    assert!(
        config.contains("\"aiperf.cli_command\":\n  value: "),
        "{config}"
    );
    assert!(config.contains("\"endpoint\":\n  value: {"), "{config}");
    // AIPerf's summary_metrics table: the console tables' rows, in their order, 2 decimals.
    let table = &manifest["summary_table"];
    assert_eq!(
        table["columns"],
        serde_json::json!(["Metric", "avg", "min", "max", "p99", "p90", "p50", "std"])
    );
    let rows = table["data"].as_array().unwrap();
    let console = std::fs::read_to_string(dir.path().join("profile_export_console.txt")).unwrap();
    // Labels the console did not wrap appear there in the same order.
    let positions: Vec<usize> = rows
        .iter()
        .filter_map(|r| console.find(r[0].as_str().unwrap()))
        .collect();
    assert!(positions.len() >= 5, "{positions:?}");
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    let latency = rows
        .iter()
        .find(|r| r[0] == "Request Latency (ms)")
        .expect("a request latency row");
    let round2 = |v: f64| (v * 100.0).round() / 100.0;
    assert_eq!(
        latency[6].as_f64().unwrap(),
        round2(stat(&summary, "request_latency", "p50"))
    );
    let count = rows
        .iter()
        .find(|r| r[0].as_str().unwrap().starts_with("Request Count"))
        .expect("a request count row");
    assert_eq!(count[1], 8.0);
    assert!(count[2].is_null(), "a count has no min");
    assert!(run_dir.join("files/wandb-metadata.json").is_file());
    assert!(run_dir.join("upload.py").is_file());
    mock.stop().await;
}

#[test]
fn secondary_flags_need_the_enabling_flag() {
    let out = aiperf()
        .args(["profile", "-m", "m", "--mlflow-tag", "a:b"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("require --mlflow-tracking-uri"), "{err}");
    let out = aiperf()
        .args([
            "profile",
            "-m",
            "m",
            "--mlflow-tracking-uri",
            "file:./mlruns",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--mlflow-tracking-uri: 'file:./mlruns'"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

/// `aiperf plot --mlflow-upload` adds the drawn files to the run `mlflow_export.json` names,
/// under `plots/`, byte for byte; with the URL's credentials redacted in that file, it asks for
/// `--mlflow-tracking-uri` instead of guessing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plot_uploads_its_charts_to_the_recorded_mlflow_run() {
    let mock = mock(1.0, 0.5).await;
    let fake = FakeMlflow::start().await;
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &mock.url(),
        dir.path(),
        &["--mlflow-tracking-uri", &fake.url],
    )
    .await;
    assert_eq!(out.exit_code, 0);
    let plots = dir.path().join("plots");
    let plot = aiperf()
        .args(["plot", "--format", "svg", "--mlflow-upload", "-o"])
        .arg(&plots)
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&plot.stdout);
    assert!(
        plot.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&plot.stderr)
    );
    let drawn: Vec<std::path::PathBuf> = std::fs::read_dir(&plots)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "svg"))
        .collect();
    assert!(!drawn.is_empty());
    let s = fake.snapshot();
    let run_id = s.runs.keys().next().unwrap().clone();
    assert!(
        stdout.contains(&format!("plot artifacts to MLflow run {run_id}.")),
        "{stdout}"
    );
    for svg in &drawn {
        let name = svg.file_name().unwrap().to_string_lossy();
        let (bytes, _) = s
            .artifacts
            .iter()
            .find(|(k, _)| k.contains(&run_id) && k.ends_with(&format!("plots/{name}")))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} not uploaded: {:?}", s.artifacts.keys()));
        assert_eq!(bytes, std::fs::read(svg).unwrap(), "{name}");
    }
    // Two run directories: no way to tell which run is meant.
    let two = aiperf()
        .args(["plot", "--mlflow-upload"])
        .arg(dir.path())
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(two.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&two.stderr).contains("requires exactly one run path"));
    mock.stop().await;
}

mod fake_mlflow {
    // A small MLflow tracking server on 127.0.0.1 that answers the REST calls aiperf makes with
    // MLflow 2.x/3.x's JSON shapes and status codes (`{"error_code": ..., "message": ...}` with
    // 400/401/404), enforces `runs/log-batch`'s limits, serves the artifact proxy
    // (`PUT /api/2.0/mlflow-artifacts/artifacts/...`) and records what arrived.

    use std::collections::BTreeMap;
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper::{Request, Response};
    use serde_json::{json, Value};

    /// One run as the server stores it.
    #[derive(Debug, Clone, Default)]
    pub struct Run {
        pub experiment_id: String,
        pub run_name: String,
        pub user_id: String,
        pub status: String,
        pub start_time: u64,
        pub end_time: Option<u64>,
        pub tags: BTreeMap<String, String>,
        pub params: BTreeMap<String, String>,
        /// key -> (value, timestamp, step)
        pub metrics: BTreeMap<String, (f64, u64, u64)>,
        pub lifecycle_stage: String,
    }

    /// Everything the server holds and saw.
    #[derive(Debug, Default, Clone)]
    pub struct State {
        /// id -> (name, lifecycle_stage)
        pub experiments: BTreeMap<String, (String, String)>,
        pub runs: BTreeMap<String, Run>,
        /// Artifact path under `/api/2.0/mlflow-artifacts/artifacts/` -> (bytes, content type).
        pub artifacts: BTreeMap<String, (Vec<u8>, String)>,
        /// `METHOD path` of each request, in order.
        pub calls: Vec<String>,
        /// The `Authorization` header of each request.
        pub auth: Vec<Option<String>>,
        /// (metrics, params, tags) of each log-batch call.
        pub batches: Vec<(usize, usize, usize)>,
        /// Answer artifact uploads with this status (500: a broken artifact store).
        pub fail_artifacts: bool,
        /// When set, requests without exactly this `Authorization` get 401.
        pub require_auth: Option<String>,
        next_id: u64,
    }

    pub struct FakeMlflow {
        pub url: String,
        pub state: Arc<Mutex<State>>,
    }

    impl FakeMlflow {
        pub async fn start() -> Self {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let mut st = State::default();
            st.experiments
                .insert("0".into(), ("Default".into(), "active".into()));
            let state = Arc::new(Mutex::new(st));
            let s2 = state.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let st = s2.clone();
                    tokio::spawn(async move {
                        let svc = hyper::service::service_fn(move |req| handle(st.clone(), req));
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                            .await;
                    });
                }
            });
            Self { url, state }
        }

        /// Adds an experiment; returns its id.
        pub fn experiment(&self, name: &str, stage: &str) -> String {
            let mut s = self.state.lock().unwrap();
            s.next_id += 1;
            let id = format!("{}", 100 + s.next_id);
            s.experiments
                .insert(id.clone(), (name.into(), stage.into()));
            id
        }

        /// Adds a finished run in experiment 0 (a parent to nest under); returns its id.
        pub fn run(&self, name: &str) -> String {
            let mut s = self.state.lock().unwrap();
            s.next_id += 1;
            let id = format!("parent{:026}", s.next_id);
            s.runs.insert(
                id.clone(),
                Run {
                    experiment_id: "0".into(),
                    run_name: name.into(),
                    status: "FINISHED".into(),
                    lifecycle_stage: "active".into(),
                    ..Run::default()
                },
            );
            id
        }

        pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
            self.state.lock().unwrap()
        }

        /// A copy of what the server holds and saw so far.
        pub fn snapshot(&self) -> State {
            self.lock().clone()
        }
    }

    fn answer(status: u16, body: Value) -> Response<Full<Bytes>> {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()
    }

    fn error(status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
        answer(status, json!({"error_code": code, "message": message}))
    }

    fn run_info(id: &str, r: &Run) -> Value {
        json!({
            "run_id": id,
            "run_uuid": id,
            "run_name": r.run_name,
            "experiment_id": r.experiment_id,
            "user_id": r.user_id,
            "status": r.status,
            "start_time": r.start_time,
            "end_time": r.end_time,
            "artifact_uri": format!("mlflow-artifacts:/{}/{id}/artifacts", r.experiment_id),
            "lifecycle_stage": r.lifecycle_stage,
        })
    }

    fn run_json(id: &str, r: &Run) -> Value {
        let kv = |m: &BTreeMap<String, String>| {
            m.iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect::<Vec<_>>()
        };
        json!({"info": run_info(id, r), "data": {"tags": kv(&r.tags), "params": kv(&r.params)}})
    }

    fn query(uri: &hyper::Uri, key: &str) -> Option<String> {
        uri.query()?.split('&').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            (k == key).then(|| decode(v))
        })
    }

    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() {
                if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    out.push(v);
                    i += 3;
                    continue;
                }
            }
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    async fn handle(
        state: Arc<Mutex<State>>,
        req: Request<hyper::body::Incoming>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        let (parts, body) = req.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let mut s = state.lock().unwrap();
        let path = parts.uri.path().to_string();
        s.calls.push(format!("{} {path}", parts.method));
        let auth = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        s.auth.push(auth.clone());
        if let Some(want) = &s.require_auth {
            if auth.as_deref() != Some(want.as_str()) {
                return Ok(error(401, "UNAUTHENTICATED", "You are not authenticated."));
            }
        }
        let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        const API: &str = "/api/2.0/mlflow/";
        const ARTIFACTS: &str = "/api/2.0/mlflow-artifacts/artifacts/";
        if let Some(p) = path.strip_prefix(ARTIFACTS) {
            if parts.method != hyper::Method::PUT {
                return Ok(error(405, "BAD_REQUEST", "method not allowed"));
            }
            if s.fail_artifacts {
                return Ok(error(500, "INTERNAL_ERROR", "artifact store unavailable"));
            }
            let ct = parts
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            s.artifacts.insert(decode(p), (body.to_vec(), ct));
            return Ok(answer(200, json!({})));
        }
        let Some(endpoint) = path.strip_prefix(API) else {
            return Ok(error(404, "ENDPOINT_NOT_FOUND", "no such endpoint"));
        };
        let r = match (parts.method.as_str(), endpoint) {
            ("GET", "experiments/get-by-name") => {
                let name = query(&parts.uri, "experiment_name").unwrap_or_default();
                match s.experiments.iter().find(|(_, (n, _))| *n == name) {
                    Some((id, (n, stage))) => answer(
                        200,
                        json!({"experiment": {"experiment_id": id, "name": n, "lifecycle_stage": stage,
                            "artifact_location": format!("mlflow-artifacts:/{id}")}}),
                    ),
                    None => error(
                        404,
                        "RESOURCE_DOES_NOT_EXIST",
                        &format!("Could not find experiment with name '{name}'"),
                    ),
                }
            }
            ("POST", "experiments/create") => {
                let name = json_body["name"].as_str().unwrap_or_default().to_string();
                if s.experiments.values().any(|(n, _)| *n == name) {
                    error(400, "RESOURCE_ALREADY_EXISTS", "Experiment already exists.")
                } else {
                    s.next_id += 1;
                    let id = format!("{}", 100 + s.next_id);
                    s.experiments.insert(id.clone(), (name, "active".into()));
                    answer(200, json!({ "experiment_id": id }))
                }
            }
            ("GET", "runs/get") => {
                let id = query(&parts.uri, "run_id").unwrap_or_default();
                match s.runs.get(&id) {
                    Some(r) => answer(200, json!({ "run": run_json(&id, r) })),
                    None => error(
                        404,
                        "RESOURCE_DOES_NOT_EXIST",
                        &format!("Run '{id}' not found."),
                    ),
                }
            }
            ("POST", "runs/create") => {
                let exp = json_body["experiment_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if !s.experiments.contains_key(&exp) {
                    error(404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id")
                } else {
                    s.next_id += 1;
                    let id = format!("run{:029}", s.next_id);
                    let tags = json_body["tags"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|t| {
                            (
                                t["key"].as_str().unwrap_or_default().to_string(),
                                t["value"].as_str().unwrap_or_default().to_string(),
                            )
                        })
                        .collect();
                    let run = Run {
                        experiment_id: exp,
                        run_name: json_body["run_name"].as_str().unwrap_or_default().into(),
                        user_id: json_body["user_id"].as_str().unwrap_or_default().into(),
                        status: "RUNNING".into(),
                        start_time: json_body["start_time"].as_u64().unwrap_or_default(),
                        tags,
                        lifecycle_stage: "active".into(),
                        ..Run::default()
                    };
                    let out = json!({ "run": run_json(&id, &run) });
                    s.runs.insert(id, run);
                    answer(200, out)
                }
            }
            ("POST", "runs/log-batch") => log_batch(&mut s, &json_body),
            ("POST", "runs/update") => {
                let id = json_body["run_id"].as_str().unwrap_or_default().to_string();
                match s.runs.get_mut(&id) {
                    Some(r) => {
                        r.status = json_body["status"].as_str().unwrap_or_default().into();
                        r.end_time = json_body["end_time"].as_u64();
                        answer(200, json!({ "run_info": run_info(&id, r) }))
                    }
                    None => error(404, "RESOURCE_DOES_NOT_EXIST", "Run not found."),
                }
            }
            _ => error(404, "ENDPOINT_NOT_FOUND", "no such endpoint"),
        };
        Ok(r)
    }

    /// MLflow's checks: at most 1000 metrics, 100 params, 100 tags, 1000 entities per call; a
    /// param, once logged, cannot change.
    fn log_batch(s: &mut State, b: &Value) -> Response<Full<Bytes>> {
        let list = |k: &str| b[k].as_array().cloned().unwrap_or_default();
        let (metrics, params, tags) = (list("metrics"), list("params"), list("tags"));
        if metrics.len() > 1000
            || params.len() > 100
            || tags.len() > 100
            || metrics.len() + params.len() + tags.len() > 1000
        {
            return error(
                400,
                "INVALID_PARAMETER_VALUE",
                "A batch logging request can contain at most 1000 metrics, 100 params, 100 tags",
            );
        }
        s.batches.push((metrics.len(), params.len(), tags.len()));
        let id = b["run_id"].as_str().unwrap_or_default().to_string();
        let Some(run) = s.runs.get_mut(&id) else {
            return error(404, "RESOURCE_DOES_NOT_EXIST", "Run not found.");
        };
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        for p in &params {
            let (k, v) = (text(&p["key"]), text(&p["value"]));
            if run.params.get(&k).is_some_and(|old| *old != v) {
                return error(
                    400,
                    "INVALID_PARAMETER_VALUE",
                    "Changing param values is not allowed.",
                );
            }
            run.params.insert(k, v);
        }
        for t in &tags {
            run.tags.insert(text(&t["key"]), text(&t["value"]));
        }
        for m in &metrics {
            let Some(v) = m["value"].as_f64() else {
                return error(
                    400,
                    "INVALID_PARAMETER_VALUE",
                    "metric value must be a number",
                );
            };
            run.metrics.insert(
                text(&m["key"]),
                (
                    v,
                    m["timestamp"].as_u64().unwrap_or_default(),
                    m["step"].as_u64().unwrap_or_default(),
                ),
            );
        }
        answer(200, json!({}))
    }
}
