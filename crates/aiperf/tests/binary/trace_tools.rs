//! `aiperf analyze-trace`, `aiperf validate` and `aiperf synthesize` as a user runs them.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::*;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = aiperf().args(args).output().expect("run aiperf");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Four rows, worked by hand at block size 512.
///
/// ISL 1000, 1200, 300, 1500: mean 1000; sorted 300, 1000, 1200, 1500: P25 at rank 0.75 =
/// 300 + 0.75 × 700 = 825, median (1000 + 1200) / 2 = 1100, P75 at rank 2.25 = 1275;
/// population std = sqrt((0 + 40000 + 490000 + 250000) / 4) = sqrt(195000) = 441.59.
/// OSL 10..40: mean 25, std sqrt(125) = 11.18, P25 17.5, P75 32.5.
/// (position, id) pairs (0,1) ×3 and (1,2) ×2 repeat: row 1 is all repeated (context = its
/// ISL, 1000), row 2 has 2 repeated blocks (1024, unique 176), row 3 none (0, unique 300),
/// row 4 one (512, unique 988). Context mean 634, max 1024.
/// Hit rates (blocks before the first never-seen one): 0/2, 2/3 (1, 2 seen), 0/1, 1/3:
/// mean (0 + 0.667 + 0 + 0.333) / 4 = 0.25, median (0 + 1/3) / 2 = 0.17, max 0.67.
/// Prefixes: 1, 1-2, 1-2-3, 4, 1-5, 1-5-6 = 6; first blocks 1 (×3) and 4: one group.
const TRACE: &str = r#"{"timestamp": 0, "input_length": 1000, "output_length": 10, "hash_ids": [1, 2]}
{"timestamp": 10, "input_length": 1200, "output_length": 20, "hash_ids": [1, 2, 3]}

{"timestamp": 20, "input_length": 300, "output_length": 30, "hash_ids": [4]}
{"timestamp": 30, "input_length": 1500, "output_length": 40, "hash_ids": [1, 5, 6]}
"#;

#[test]
fn analyze_trace_prints_and_writes_the_hand_worked_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let trace = write(dir.path(), "t.jsonl", TRACE);
    let report = dir.path().join("sub/report.json");
    let (code, out, err) = run(&[
        "analyze-trace",
        trace.to_str().unwrap(),
        "--output-file",
        report.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let want = "
Trace Analysis Report
Total requests:   4
Unique prefixes:  6
Prefix groups:    1

                                        Trace Statistics                                         
┏━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━┓
┃                Metric ┃     Mean ┃ Std Dev ┃    Min ┃    P25 ┃   Median ┃      P75 ┃      Max ┃
┡━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━┩
│          Input Length │ 1,000.00 │  441.59 │ 300.00 │ 825.00 │ 1,100.00 │ 1,275.00 │ 1,500.00 │
│        Context Length │   634.00 │  419.19 │   0.00 │ 384.00 │   756.00 │ 1,006.00 │ 1,024.00 │
│  Unique Prompt Length │   366.00 │  374.60 │   0.00 │ 132.00 │   238.00 │   472.00 │   988.00 │
│         Output Length │    25.00 │   11.18 │  10.00 │  17.50 │    25.00 │    32.50 │    40.00 │
│ Theoretical Hit Rates │     0.25 │    0.28 │   0.00 │   0.00 │     0.17 │     0.42 │     0.67 │
└───────────────────────┴──────────┴─────────┴────────┴────────┴──────────┴──────────┴──────────┘

";
    assert!(out.starts_with(want), "{out}");
    assert!(out.ends_with(&format!("Analysis report saved to {}\n", report.display())));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "total_requests",
            "unique_prefixes",
            "num_prefix_groups",
            "cache_hit_rate",
            "min_isl",
            "max_isl",
            "avg_isl",
            "min_osl",
            "max_osl",
            "avg_osl",
            "prefix_reuse_ratio",
            "isl_stats",
            "osl_stats",
            "context_length_stats",
            "unique_prompt_length_stats",
            "hit_rate_stats"
        ]
    );
    assert_eq!(json["isl_stats"]["p25"], 825.0);
    assert_eq!(json["isl_stats"]["median"], 1100.0);
    assert_eq!(json["avg_osl"], 25.0);
    assert_eq!(json["context_length_stats"]["mean"], 634.0);
    // 5 of the 9 trie passes go through a prefix two rows share (1 ×3, 1-2 ×2).
    assert_eq!(json["prefix_reuse_ratio"], 5.0 / 9.0);
    assert_eq!(json["hit_rate_stats"]["max"], 2.0 / 3.0);
    // A smaller block shrinks the partly repeated rows' context: 1000, 2×64, 0, 64.
    let (code, out, _) = run(&[
        "analyze-trace",
        "--input-file",
        trace.to_str().unwrap(),
        "--block-size",
        "64",
    ]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("│        Context Length │   298.00 │"),
        "{out}"
    );
}

#[test]
fn analyze_trace_names_missing_files_and_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(&["analyze-trace", "/no/such/trace.jsonl"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "aiperf: analyze-trace: /no/such/trace.jsonl: Input file not found\n"
    );
    let bad = write(
        dir.path(),
        "bad.jsonl",
        "{\"input_length\": 5}\n\n{\"input_length\": -3}\n",
    );
    let (code, out, err) = run(&["analyze-trace", bad.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(out.is_empty(), "{out}");
    assert_eq!(
        err,
        format!(
            "aiperf: analyze-trace: {}:3: 'input_length' must be a whole number >= 0, got -3\n",
            bad.display()
        )
    );
}

#[test]
fn validate_passes_good_traces_and_lists_bad_rows_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.jsonl", TRACE);
    for form in [
        &["validate", "mooncake-trace"][..],
        &["validate", "--target", "mooncake-trace"],
    ] {
        let mut args = form.to_vec();
        args.extend(["--input", good.to_str().unwrap()]);
        let (code, out, _) = run(&args);
        assert_eq!(code, Some(0), "{args:?}");
        assert_eq!(out, "Validation passed: 4 rows are Mooncake-compatible.\n");
    }
    let bad = write(
        dir.path(),
        "bad.jsonl",
        "{\"input_length\": 5, \"text_input\": \"x\"}\n\n{\"output_length\": 3}\nnot json\n{\"input_length\": 5, \"group_id\": 3}\n",
    );
    let (code, out, _) = run(&[
        "validate",
        "--target",
        "mooncake-trace",
        "--input",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    let b = bad.display();
    let one = "give exactly one of 'input_length', 'text_input', 'messages', 'payload'";
    assert_eq!(
        out,
        format!(
            "Validation failed with 3 error(s):\n  {b}:1: {one}\n  {b}:3: {one}\n  {b}:4: expected ident at line 1 column 2\n"
        )
    );
    // AIPerf lists at most ten.
    let many = write(dir.path(), "many.jsonl", &"{}\n".repeat(25));
    let (code, out, _) = run(&[
        "validate",
        "mooncake-trace",
        "--input",
        many.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert!(
        out.starts_with("Validation failed with 10 error(s):\n"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 11);
    let (code, out, _) = run(&["validate", "mooncake-trace", "--input", "/no/such.jsonl"]);
    assert_eq!(
        (code, out.as_str()),
        (
            Some(1),
            "Validation failed: /no/such.jsonl is not a file.\n"
        )
    );
    let (code, _, err) = run(&["validate", "--target", "sharegpt", "--input", "x"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("mooncake-trace"), "{err}");
}

/// A workload small enough to replay in a moment: 16-token blocks (L1 4 blocks, L1.5 2), short
/// turns and millisecond delays.
const SMALL: &str = r#"{
  "new_tokens_per_turn": {"mean": 30, "median": 20},
  "generation_length": {"mean": 8, "median": 5, "max": 12},
  "inter_turn_delay": {"agentic_fraction": 0.5,
    "agentic_delay": {"mean": 2, "median": 1}, "human_delay": {"mean": 4, "median": 3}},
  "reset": {"base_probability": 0.1, "context_scaling": 2.0},
  "max_prompt_tokens": 400, "block_size": 16,
  "cache": {"layer1_tokens": 64, "layer1_5_tokens": 32,
    "layer2": {"mean": 40, "median": 20}, "layer1_5_groups": {"num_groups": 3, "zipf_alpha": 1.0}},
  "restart_initial_probability": 0.5
}"#;

fn synthesize(out: &Path, extra: &[&str]) -> PathBuf {
    let mut args = vec![
        "synthesize",
        "--target",
        "agentic-code",
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    let (code, stdout, err) = run(&args);
    assert_eq!(code, Some(0), "{err}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Run directory: "))
        .expect(&stdout);
    PathBuf::from(line.trim_start_matches("Run directory: "))
}

#[test]
fn synthesize_is_reproducible_and_shaped_like_aiperf() {
    let dir = tempfile::tempdir().unwrap();
    let a = synthesize(
        &dir.path().join("a"),
        &["--num-sessions", "30", "--seed", "7"],
    );
    let b = synthesize(
        &dir.path().join("b"),
        &["--num-sessions", "30", "--seed", "7"],
    );
    let c = synthesize(
        &dir.path().join("c"),
        &["--num-sessions", "30", "--seed", "8"],
    );
    let name = a.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("default_30s_seed7_2"), "{name}");
    for f in [
        "dataset.jsonl",
        "manifest.json",
        "quality.json",
        "comparison.txt",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    let dataset = std::fs::read_to_string(a.join("dataset.jsonl")).unwrap();
    assert_ne!(
        dataset,
        std::fs::read_to_string(c.join("dataset.jsonl")).unwrap()
    );
    let rows: Vec<Value> = dataset
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut sessions = std::collections::HashSet::new();
    for r in &rows {
        let n = r["input_length"].as_u64().unwrap();
        // Exactly ceil(input_length / 512) blocks per row.
        assert_eq!(
            r["hash_ids"].as_array().unwrap().len() as u64,
            n.div_ceil(512),
            "{r}"
        );
        let first = sessions.insert(r["session_id"].as_str().unwrap().to_string());
        assert_eq!(r.get("timestamp").is_some(), first, "{r}");
        assert_eq!(r.get("group_id").is_some(), first, "{r}");
        assert_eq!(r.get("delay").is_some(), !first, "{r}");
        if first {
            // L1 (63 blocks of 32,000 tokens) + L1.5 (40 blocks) + at least one own block.
            assert!(n > 103 * 512 && n < 200_000, "{n}");
            assert_eq!(r["hash_ids"][0], 0);
        } else {
            assert!(r["output_length"].as_u64().unwrap() >= 30);
        }
    }
    assert_eq!(sessions.len(), 30);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["seed"], 7);
    assert_eq!(manifest["config_name"], "default");
    assert_eq!(
        manifest["generation_params"]["cache"]["layer1_tokens"],
        32_000
    );
    let quality: Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("quality.json")).unwrap()).unwrap();
    assert_eq!(quality["session_end_stats"]["total_sessions"], 30);
    assert_eq!(
        quality["observed_vs_target"]["generation_length"]["observed"]["count"],
        rows.len()
    );
    let (code, out, _) = run(&[
        "validate",
        "mooncake-trace",
        "--input",
        a.join("dataset.jsonl").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0));
    assert_eq!(
        out,
        format!(
            "Validation passed: {} rows are Mooncake-compatible.\n",
            rows.len()
        )
    );
    // --max-isl caps every prompt (whole context: earlier inputs and outputs included),
    // --max-osl every output.
    let capped = synthesize(
        &dir.path().join("d"),
        &[
            "--num-sessions",
            "20",
            "--max-isl",
            "60000",
            "--max-osl",
            "100",
        ],
    );
    let mut context: std::collections::HashMap<String, u64> = Default::default();
    for line in std::fs::read_to_string(capped.join("dataset.jsonl"))
        .unwrap()
        .lines()
    {
        let r: Value = serde_json::from_str(line).unwrap();
        let total = context
            .entry(r["session_id"].as_str().unwrap().into())
            .or_default();
        *total += r["input_length"].as_u64().unwrap();
        assert!(*total < 60_000, "{total}");
        let out = r["output_length"].as_u64().unwrap();
        assert!((30..=100).contains(&out), "{out}");
        *total += out;
    }
    let q: Value =
        serde_json::from_str(&std::fs::read_to_string(capped.join("quality.json")).unwrap())
            .unwrap();
    assert_eq!(q["config_summary"]["max_prompt_tokens"], 60_000);
    assert!(
        q["session_end_stats"]["final_context_utilization"]["p99"]
            .as_f64()
            .unwrap()
            <= 1.0
    );
    assert!(
        q["observed_vs_target"]["generation_length"]["observed"]["p99"]
            .as_f64()
            .unwrap()
            <= 100.0
    );
}

#[test]
fn synthesize_refuses_bad_configs_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let bad = write(
        dir.path(),
        "bad.json",
        r#"{"generation_length": {"mean": 1, "median": 5}}"#,
    );
    for (args, want) in [
        (
            vec!["--config", bad.to_str().unwrap()],
            "generation_length: mean (1) must be >= median (5) for lognormal",
        ),
        (
            vec!["--config", "/no/such.json"],
            "--config /no/such.json: ",
        ),
        (vec!["--max-isl", "5000000"], "exceeding 4000"),
    ] {
        let mut all = vec![
            "synthesize",
            "agentic-code",
            "--output",
            out.to_str().unwrap(),
        ];
        all.extend(args);
        let (code, _, err) = run(&all);
        assert_eq!(code, Some(1), "{all:?}");
        assert!(
            err.starts_with("aiperf: synthesize: ") && err.contains(want),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert!(!out.exists());
}

/// Synthesizes the small workload and replays `dataset.jsonl` (rewritten by `edit`) against
/// the mock: every row becomes one record.
async fn replay_synthesized(edit: fn(&str) -> String) {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "small.json", SMALL);
    let run_dir = synthesize(
        &dir.path().join("syn"),
        &[
            "--num-sessions",
            "4",
            "--seed",
            "3",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert!(run_dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("small_4s_seed3_"));
    let text = edit(&std::fs::read_to_string(run_dir.join("dataset.jsonl")).unwrap());
    let dataset = write(dir.path(), "replay.jsonl", &text);
    let rows = text.lines().count();
    assert!(rows >= 4);
    let mock = mock(0.5, 0.2).await;
    let artifacts = dir.path().join("artifacts");
    let mut cmd = Profile::chat(&mock.url())
        .args([
            "--input-file",
            dataset.to_str().unwrap(),
            "--custom-dataset-type",
            "mooncake_trace",
            "--isl-block-size",
            "16",
        ])
        .command(Some(&artifacts));
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("run aiperf"))
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = std::fs::read_to_string(artifacts.join("profile_export.jsonl")).unwrap();
    assert_eq!(records.lines().count(), rows);
}

/// The file exactly as written: the mooncake loader takes `group_id` and `is_restart`.
#[tokio::test(flavor = "multi_thread")]
async fn synthesized_file_replays_against_the_mock_as_written() {
    replay_synthesized(str::to_string).await;
}
