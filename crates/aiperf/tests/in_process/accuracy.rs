//! `--accuracy-benchmark` end to end, for each of the eleven benchmarks: its fixture repo (the
//! real Hub layout) served by the fake Hub, the problems loaded as a run loads them, the mock
//! server answering as an oracle that is right for exactly half of each task's problems (the
//! floor of it), and the run's reported accuracy compared with that, per task: in
//! `accuracy_results.csv`, the summary JSON's `accuracy.*` entries, and each graded line of
//! `accuracy_export.jsonl`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::common::*;
use crate::fake_hub::{engine, fake_hub};
use aiperf_accuracy::benchmarks::{Fixture, FixtureFile};
use aiperf_accuracy::oracle::{self, OracleAnswer};
use aiperf_accuracy::{BenchmarkKind, Problem, Row};
use aiperf_hub::HubConfig;
use aiperf_mock_server::MockConfig;
use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
use serde_json::Value;

/// A Parquet file of JSON rows: each column typed by its first non-null value (string, integer,
/// float, bool, list of strings), nulls kept, as `datasets` writes them.
fn parquet_of(rows: &[Row]) -> Vec<u8> {
    let mut names: Vec<String> = Vec::new();
    for r in rows {
        for k in r.keys() {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    let columns: Vec<(&str, ArrayRef)> = names
        .iter()
        .map(|name| {
            let values: Vec<Option<&Value>> = rows
                .iter()
                .map(|r| r.get(name).filter(|v| !v.is_null()))
                .collect();
            let array: ArrayRef = match values.iter().flatten().next() {
                Some(Value::Bool(_)) => Arc::new(BooleanArray::from(
                    values
                        .iter()
                        .map(|v| v.and_then(Value::as_bool))
                        .collect::<Vec<_>>(),
                )),
                Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Arc::new(Int64Array::from(
                    values
                        .iter()
                        .map(|v| v.and_then(Value::as_i64))
                        .collect::<Vec<_>>(),
                )),
                Some(Value::Number(_)) => Arc::new(Float64Array::from(
                    values
                        .iter()
                        .map(|v| v.and_then(Value::as_f64))
                        .collect::<Vec<_>>(),
                )),
                Some(Value::Array(_)) => {
                    let mut b = ListBuilder::new(StringBuilder::new());
                    for v in &values {
                        match v.and_then(Value::as_array) {
                            Some(items) => {
                                for i in items {
                                    b.values().append_option(i.as_str());
                                }
                                b.append(true);
                            }
                            None => b.append(false),
                        }
                    }
                    Arc::new(b.finish())
                }
                _ => Arc::new(StringArray::from(
                    values
                        .iter()
                        .map(|v| v.and_then(Value::as_str))
                        .collect::<Vec<_>>(),
                )),
            };
            (name.as_str(), array)
        })
        .collect();
    crate::fake_hub::parquet_file(columns)
}

/// A fixture's files as the fake Hub serves them.
fn repo_files(fixture: &Fixture) -> HashMap<String, Vec<u8>> {
    fixture
        .files
        .iter()
        .map(|f| match f {
            FixtureFile::Text { path, text } => (path.clone(), text.clone().into_bytes()),
            FixtureFile::Rows { path, rows } if path.ends_with(".parquet") => {
                (path.clone(), parquet_of(rows))
            }
            FixtureFile::Rows { path, rows } => {
                let mut text = String::new();
                for r in rows {
                    text.push_str(&serde_json::to_string(r).unwrap());
                    text.push('\n');
                }
                (path.clone(), text.into_bytes())
            }
        })
        .collect()
}

/// What a run reported, read back from its files.
struct Reported {
    exit_code: i32,
    csv: Vec<(String, u64, u64)>,
    summary: Value,
    lines: Vec<Value>,
}

/// A benchmark's fixture on the fake Hub, its problems as a run loads them, and the mock
/// answering as an oracle right for `fraction` of each task.
struct Setup {
    dir: tempfile::TempDir,
    hub: HubConfig,
    answers: Vec<OracleAnswer>,
    per_task: BTreeMap<String, (u64, u64)>,
    mock: aiperf_mock_server::MockHandle,
}

fn profile(kind: BenchmarkKind, url: &str, extra: &[&str]) -> Profile {
    Profile::chat(url)
        .streaming()
        .arg("--accuracy-benchmark", kind.name())
        .arg("--tokenizer", "builtin")
        .args(extra)
}

async fn setup(kind: BenchmarkKind, fraction: f64, extra: &[&str]) -> Setup {
    let repos: HashMap<String, HashMap<String, Vec<u8>>> = kind
        .benchmark()
        .fixture()
        .iter()
        .map(|f| (f.repo.to_string(), repo_files(f)))
        .collect();
    assert!(!repos.is_empty(), "{} has a fixture", kind.name());
    let (hub_url, _) = fake_hub(repos);
    let dir = tempfile::tempdir().unwrap();
    let hub = HubConfig::new(&hub_url, dir.path().join("hf-cache"));
    let probe = profile(kind, "http://127.0.0.1:9", extra).config(&dir.path().join("probe"));
    let hub2 = hub.clone();
    let problems: Vec<Problem> =
        tokio::task::spawn_blocking(move || aiperf_engine::accuracy_problems(&probe, &hub2))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    let (answers, per_task) = oracle::answers(kind, &problems, fraction);
    let mut file = String::new();
    for a in &answers {
        let line = serde_json::json!({"key": a.key, "reply": a.reply});
        file.push_str(&format!("{line}\n"));
    }
    let oracle_path = dir.path().join("oracle.jsonl");
    std::fs::write(&oracle_path, file).unwrap();
    let mock = mock_with(MockConfig {
        oracle_answers: Some(oracle_path),
        ..MockConfig::for_tests(0.0, 0.0)
    })
    .await;
    Setup {
        dir,
        hub,
        answers,
        per_task,
        mock,
    }
}

/// Runs `kind` on its fixture against the oracle mock (right for `fraction` of each task),
/// with `extra` arguments; returns the oracle's answers, its per-task (right, total) and what
/// the run reported.
async fn run_oracle(
    kind: BenchmarkKind,
    fraction: f64,
    extra: &[&str],
) -> (Vec<OracleAnswer>, BTreeMap<String, (u64, u64)>, Reported) {
    let s = setup(kind, fraction, extra).await;
    let out_dir = s.dir.path().join("run");
    let p = profile(kind, &s.mock.url(), extra)
        .request_count(s.answers.len())
        .concurrency(2);
    let out = engine(&s.hub)
        .run(&p.config(&out_dir), &aiperf_engine::Silent)
        .await
        .unwrap();
    s.mock.stop().await;
    let csv_text = std::fs::read_to_string(out_dir.join("accuracy_results.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(csv_text.as_bytes());
    assert_eq!(
        rows.headers().unwrap(),
        vec!["task", "correct", "total", "unparsed", "accuracy"]
    );
    let csv = rows
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].to_string(),
                r[1].parse().unwrap(),
                r[2].parse().unwrap(),
            )
        })
        .collect();
    let reported = Reported {
        exit_code: out.exit_code,
        csv,
        summary: read_json(out_dir.join("profile_export_aiperf.json")),
        lines: read_jsonl(out_dir.join("accuracy_export.jsonl")),
    };
    (s.answers, s.per_task, reported)
}

/// The run's accuracy is the oracle's, per task and overall, in every artifact; each graded
/// line says what the oracle meant.
async fn accuracy_is_the_oracles(kind: BenchmarkKind, extra: &[&str]) {
    let (answers, per_task, r) = run_oracle(kind, 0.5, extra).await;
    assert_eq!(r.exit_code, 0, "{}", kind.name());
    let schema = crate::schemas::validator("profile_export_aiperf.schema.json");
    assert_eq!(
        crate::schemas::violations(&schema, &r.summary),
        "",
        "{}",
        kind.name()
    );
    let right: u64 = per_task.values().map(|(k, _)| k).sum();
    let total: u64 = per_task.values().map(|(_, n)| n).sum();
    assert!(
        right > 0 && right < total,
        "{}: a mixed oracle",
        kind.name()
    );
    let mut expected = vec![("OVERALL".to_string(), right, total)];
    expected.extend(per_task.iter().map(|(t, (k, n))| (t.clone(), *k, *n)));
    assert_eq!(r.csv, expected, "{}", kind.name());
    let overall = &r.summary["accuracy.overall"];
    assert_eq!(
        (overall["count"].as_u64(), overall["sum"].as_u64()),
        (Some(total), Some(right)),
        "{}",
        kind.name()
    );
    for (task, (k, n)) in &per_task {
        let e = &r.summary[format!("accuracy.task.{task}").as_str()];
        assert_eq!(
            (e["count"].as_u64(), e["sum"].as_u64()),
            (Some(*n), Some(*k))
        );
    }
    assert_eq!(r.lines.len(), answers.len(), "{}", kind.name());
    for line in &r.lines {
        let id = line["conversation_id"].as_str().unwrap();
        let i: usize = id.trim_start_matches("session_").parse().unwrap();
        assert_eq!(
            line["passed"].as_bool(),
            Some(answers[i].correct),
            "{}: {line}",
            kind.name()
        );
        assert_eq!(line["grader_name"], kind.defaults().grader.name());
        assert_eq!(line["benchmark_phase"], "profiling");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mmlu() {
    // Every subject is fetched unless asked otherwise; the fixture holds two.
    accuracy_is_the_oracles(
        BenchmarkKind::Mmlu,
        &["--accuracy-tasks", "abstract_algebra,anatomy"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mmlu_pro() {
    accuracy_is_the_oracles(BenchmarkKind::MmluPro, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aime() {
    accuracy_is_the_oracles(BenchmarkKind::Aime, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hellaswag() {
    accuracy_is_the_oracles(BenchmarkKind::Hellaswag, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bigbench() {
    accuracy_is_the_oracles(
        BenchmarkKind::Bigbench,
        &[
            "--accuracy-tasks",
            "boolean_expressions",
            "--accuracy-tasks",
            "sports_understanding",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aime24() {
    accuracy_is_the_oracles(BenchmarkKind::Aime24, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aime25() {
    accuracy_is_the_oracles(BenchmarkKind::Aime25, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn math_500() {
    accuracy_is_the_oracles(BenchmarkKind::Math500, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gsm8k() {
    accuracy_is_the_oracles(BenchmarkKind::Gsm8k, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpqa_diamond() {
    accuracy_is_the_oracles(BenchmarkKind::GpqaDiamond, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lcb_codegeneration() {
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED lcb_codegeneration: no python3 on PATH to run the generated code");
        return;
    }
    accuracy_is_the_oracles(BenchmarkKind::LcbCodegeneration, &[]).await;
}

/// A server that answers nothing a grader can read: every answer unparsed, accuracy 0, and the
/// console says the server is the likely cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oracle_that_is_always_wrong_scores_zero_and_gsm8k_sends_its_prompts() {
    let (answers, _, r) = run_oracle(BenchmarkKind::Gsm8k, 0.0, &[]).await;
    assert_eq!(r.exit_code, 0);
    assert!(answers.iter().all(|a| !a.correct));
    assert_eq!(r.csv[0].1, 0);
    assert_eq!(r.summary["accuracy.overall"]["sum"], 0);
    assert_eq!(
        r.summary["accuracy.unparsed"]["count"].as_u64(),
        Some(answers.len() as u64)
    );
    // Accuracy mode turns off the output-length mismatch metrics, as AIPerf does.
    assert!(r.summary.get("osl_mismatch_count").is_none());
}

/// Repeated trials report accuracy beside the timings: the aggregate's `accuracy.overall_avg`
/// is the oracle's share in every trial, so its mean is that share and its spread 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_trials_aggregate_accuracy() {
    let kind = BenchmarkKind::Gsm8k;
    let s = setup(kind, 0.5, &[]).await;
    let out_dir = s.dir.path().join("trials");
    let argv = profile(kind, &s.mock.url(), &[])
        .request_count(s.answers.len())
        .arg("--num-profile-runs", 2)
        .argv(Some(&out_dir));
    let aiperf_config::Command::Profile(p) =
        <aiperf_config::Cli as clap::Parser>::try_parse_from(&argv)
            .unwrap()
            .command
    else {
        panic!("a profile command")
    };
    let set =
        aiperf_config::ProfileConfig::resolve_set(*p, &argv, &aiperf_plugins::Registry::builtin())
            .unwrap();
    let out = engine(&s.hub)
        .run_set(&set, "acc", &aiperf_engine::Silent, &mut |_| {})
        .await;
    s.mock.stop().await;
    assert_eq!(out.exit_code, 0);
    let (right, total) = s.per_task["gsm8k"];
    let agg = read_json(out_dir.join("aggregate/profile_export_aiperf_aggregate.json"));
    let a = &agg["metrics"]["accuracy.overall_avg"];
    assert_eq!(a["mean"].as_f64(), Some(right as f64 / total as f64), "{a}");
    assert_eq!(a["std"].as_f64(), Some(0.0), "{a}");
}

/// A sharded accuracy run: each shard grades its own answers, the merge adds the counts
/// exactly (the oracle's per-task share over all problems) and joins the graded lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_grade_their_share_and_the_merge_adds_the_counts() {
    let kind = BenchmarkKind::Gsm8k;
    let s = setup(kind, 0.5, &[]).await;
    let n = s.answers.len();
    let mut parts = Vec::new();
    for k in 0..2 {
        let d = s.dir.path().join(format!("shard-{k}"));
        let p = profile(kind, &s.mock.url(), &[])
            .request_count(n)
            .concurrency(2)
            .seed(7)
            .arg("--shard", format!("{k}/2"));
        let out = engine(&s.hub)
            .run(&p.config(&d), &aiperf_engine::Silent)
            .await
            .unwrap();
        assert_eq!(out.exit_code, 0, "shard {k}: {}", out.console);
        assert!(
            out.accuracy.unwrap().overall.total < n as u64,
            "shard {k} graded a share"
        );
        parts.push(d);
    }
    s.mock.stop().await;
    let merged = s.dir.path().join("merged");
    let outcome = aiperf_engine::merge(
        &aiperf_engine::MergeOptions {
            dirs: parts,
            output: merged.clone(),
            allow_partial: false,
        },
        &aiperf_plugins::Registry::builtin(),
    )
    .unwrap();
    assert_eq!(outcome.exit_code, 0);
    let (right, total) = s.per_task["gsm8k"];
    let summary = read_json(merged.join("profile_export_aiperf.json"));
    let overall = &summary["accuracy.overall"];
    assert_eq!(
        (overall["count"].as_u64(), overall["sum"].as_u64()),
        (Some(total), Some(right))
    );
    assert_eq!(read_jsonl(merged.join("accuracy_export.jsonl")).len(), n);
    let csv = std::fs::read_to_string(merged.join("accuracy_results.csv")).unwrap();
    assert!(csv.contains(&format!("OVERALL,{right},{total},")), "{csv}");
}
