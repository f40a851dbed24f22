//! The generic parameter search (`--search-space`, `--search-planner`, `--search-sla`, and
//! `max-concurrency-under-sla --search-style`) against the mock's load model, end to end: each
//! point is a real run over loopback, and `search_history.json` is checked against the runs'
//! own summaries.

use std::path::Path;

use crate::common::{mock_with, read_json, stat, Profile};
use aiperf_mock_server::MockConfig;
use serde_json::Value;

/// A mock whose TTFT is 10 + 20 (c - 1) ms with c requests in flight: a 240 ms p95 bound holds
/// up to c = 12 (230 ms) and breaks at 13 (250 ms).
async fn edge_at_12() -> aiperf_mock_server::MockHandle {
    let mut cfg = MockConfig::for_tests(10.0, 1.0);
    cfg.ttft_per_inflight = 20.0;
    mock_with(cfg).await
}

fn base(url: &str) -> Profile {
    Profile::chat(url)
        .streaming()
        .request_count(48)
        .isl(16)
        .osl(3)
        .arg("--search-metric", "output_token_throughput")
        .arg("--search-direction", "maximize")
}

/// Every iteration of the history agrees with its own run's summary: the objective is the
/// run's output token throughput, and feasible means its TTFT p95 was under 240 ms. Returns
/// (concurrency, feasible, objective) per iteration.
fn check_history_against_runs(dir: &Path, history: &Value) -> Vec<(u64, bool, f64)> {
    let iterations = history["iterations"].as_array().unwrap();
    assert!(!iterations.is_empty());
    iterations
        .iter()
        .map(|it| {
            let idx = it["iteration_idx"].as_u64().unwrap();
            let run = dir.join(format!("search_iter_{idx:04}/profile_runs/run_0001"));
            let s = read_json(run.join("profile_export_aiperf.json"));
            let c = it["variation_values"]["phases.profiling.concurrency"]
                .as_u64()
                .unwrap();
            assert_eq!(
                s["input_config"]["phases"]["profiling"]["concurrency"], c,
                "{s}"
            );
            let p95 = stat(&s, "time_to_first_token", "p95");
            let feasible = it["feasible"].as_bool().unwrap();
            assert_eq!(feasible, p95 < 240.0, "iteration {idx}: p95 {p95}");
            let objective = it["objective_values"][0].as_f64().unwrap();
            assert_eq!(objective, stat(&s, "output_token_throughput", "avg"));
            (c, feasible, objective)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monotonic_sla_brackets_the_mock_s_edge() {
    let mock = edge_at_12().await;
    let dir = tempfile::tempdir().unwrap();
    let out = base(&mock.url())
        .arg("--search-space", "phases.profiling.concurrency:1,32:int")
        .arg("--search-max-iterations", 40)
        .arg("--search-planner", "monotonic_sla")
        .arg("--search-sla", "time_to_first_token:p95:lt:240")
        .run_search(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let history = read_json(dir.path().join("search_history.json"));
    let runs = check_history_against_runs(dir.path(), &history);
    // Doubling 1, 2, 4, 8, 16 then bisection, every value run twice (AIPerf's stability
    // window): the first five distinct values are the doubling.
    let distinct: Vec<u64> = runs.chunks(2).map(|c| c[0].0).collect();
    assert_eq!(&distinct[..5], [1, 2, 4, 8, 16], "{runs:?}");
    let b = &history["boundary_summary"];
    let fmax = b["feasible_max"]["value"].as_u64().unwrap();
    let imin = b["infeasible_min"]["value"].as_u64().unwrap();
    assert!((11..=13).contains(&fmax), "{b}");
    assert_eq!(imin, fmax + 1, "{b}");
    assert_eq!(
        b["infeasible_min"]["first_breach"]["metric_tag"],
        "time_to_first_token"
    );
    assert!(
        b["infeasible_min"]["first_breach"]["observed"]
            .as_f64()
            .unwrap()
            >= 240.0
    );
    assert_eq!(history["convergence_reason"], "monotonic_precision_reached");
    assert_eq!(history["config"]["planner"], "monotonic_sla");
    assert_eq!(out.answer.concurrency, Some(fmax as usize));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bayesian_search_finds_the_throughput_maximum_under_the_sla() {
    let mock = edge_at_12().await;
    let dir = tempfile::tempdir().unwrap();
    let out = base(&mock.url())
        .arg("--search-space", "phases.profiling.concurrency:1,24:int")
        .arg("--search-max-iterations", 8)
        .arg("--search-initial-points", 4)
        .arg("--search-random-seed", 11)
        .arg("--search-sla", "time_to_first_token:p95:lt:240")
        .run_search(dir.path())
        .await
        .unwrap();
    let history = read_json(dir.path().join("search_history.json"));
    let runs = check_history_against_runs(dir.path(), &history);
    assert_eq!(runs.len(), 8);
    // Every point differs (integers are never proposed twice).
    let mut cs: Vec<u64> = runs.iter().map(|r| r.0).collect();
    cs.sort_unstable();
    cs.dedup();
    assert_eq!(cs.len(), 8, "{runs:?}");
    // With three output tokens, TTFT dominates: a request takes about 10 + 20 (c - 1) + 2 ms,
    // so throughput, 3c tokens per request time, falls with concurrency (250 tokens/s at 1,
    // 187 at 2, 155 at 12). The maximum is at the bottom of the range, and the search finds it.
    assert!(runs.iter().any(|r| r.0 == 1), "{runs:?}");
    let best_feasible = runs
        .iter()
        .filter(|r| r.1)
        .max_by(|a, b| a.2.total_cmp(&b.2))
        .unwrap();
    assert_eq!(best_feasible.0, 1, "{runs:?}");
    let best = &history["best_trials"][0];
    assert_eq!(best["feasible"], true);
    assert_eq!(best["variation_values"]["phases.profiling.concurrency"], 1);
    // Below the edge the SLA holds, above it it breaks (12 and 13 sit on it).
    for (c, feasible, _) in &runs {
        assert!(*c > 11 || *feasible, "{runs:?}");
        assert!(*c < 14 || !*feasible, "{runs:?}");
    }
    assert_eq!(history["convergence_reason"], "max_iterations");
    assert_eq!(history["config"]["random_seed"], 11);
    assert_eq!(history["config"]["n_initial_points"], 4);
    assert_eq!(out.exit_code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recipe_with_search_style_smooth_isotonic_fits_the_edge() {
    let mock = edge_at_12().await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::chat(&mock.url())
        .streaming()
        .request_count(48)
        .isl(16)
        .osl(3)
        .arg("--search-recipe", "max-concurrency-under-sla")
        .arg("--search-style", "smooth_isotonic")
        .arg("--ttft-sla-ms", 240)
        .arg("--concurrency-max", 64)
        .run_search(dir.path())
        .await
        .unwrap();
    let history = read_json(dir.path().join("search_history.json"));
    let runs = check_history_against_runs(dir.path(), &history);
    // Bracket 1..16, three probes inside, the fitted root: a handful of runs, not a bisection.
    assert!(runs.len() <= 12, "{runs:?}");
    let b = &history["boundary_summary"];
    let fmax = b["feasible_max"]["value"].as_u64().unwrap();
    assert!((11..=13).contains(&fmax), "{b}");
    assert_eq!(b["infeasible_min"]["value"].as_u64().unwrap(), fmax + 1);
    assert_eq!(b["boundary_type"], "smooth");
    assert_eq!(
        b["binding_constraint"],
        "0:time_to_first_token.p95.lt.240.0"
    );
    assert_eq!(history["recipe"], "max-concurrency-under-sla");
    assert_eq!(
        history["convergence_reason"],
        "smooth_isotonic_precision_reached"
    );
    assert_eq!(out.exit_code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_style_grid_sweeps_and_finds_the_breach() {
    let mock = edge_at_12().await;
    let dir = tempfile::tempdir().unwrap();
    let argv = Profile::chat(&mock.url())
        .streaming()
        .request_count(48)
        .isl(16)
        .osl(3)
        .arg("--search-recipe", "max-concurrency-under-sla")
        .arg("--search-style", "grid")
        .arg("--ttft-sla-ms", 240)
        .arg("--concurrency-max", 24)
        .argv(Some(dir.path()));
    let aiperf_config::Command::Profile(args) =
        <aiperf_config::Cli as clap::Parser>::try_parse_from(&argv)
            .unwrap()
            .command
    else {
        panic!("profile")
    };
    let registry = aiperf_plugins::Registry::builtin();
    let Some(aiperf_config::resolve::Search::Sweep { args, post }) =
        aiperf_config::ProfileConfig::resolve_search(&args, &argv, &registry).unwrap()
    else {
        panic!("grid is a sweep")
    };
    let set = aiperf_config::ProfileConfig::resolve_set(*args, &argv, &registry).unwrap();
    let engine = aiperf_engine::Engine::new(std::sync::Arc::new(registry));
    let mut lines = Vec::new();
    let mut print = |s: &str| lines.push(s.to_string());
    let out = engine
        .run_set(&set, "grid", &aiperf_engine::Silent, &mut print)
        .await;
    aiperf_engine::post_process(&set, &out, &post, &mut print).unwrap();
    // 8 log-spaced steps over [1, 24], 24^(i/7) rounded: 1, 2, 2, 4, 6, 10, 15, 24.
    assert_eq!(out.runs.len(), 7);
    let doc = read_json(dir.path().join("sla_breach.json"));
    let xs: Vec<u64> = doc["all_points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["concurrency"].as_u64().unwrap())
        .collect();
    assert_eq!(xs, [1, 2, 4, 6, 10, 15, 24]);
    // The edge is at 12: 10 passes (TTFT about 190 ms), 15 breaks (about 290 ms).
    assert_eq!(doc["max_passing_concurrency"], 10, "{doc:#}");
    assert_eq!(doc["first_failing_concurrency"], 15, "{doc:#}");
    let observed = doc["first_failing_breach"]["observed"].as_f64().unwrap();
    let s = read_json(dir.path().join("concurrency_15/profile_export_aiperf.json"));
    assert_eq!(observed, stat(&s, "time_to_first_token", "p95"));
    assert!(observed >= 240.0);
    assert!(lines
        .iter()
        .any(|l| l == "SLA breach: highest passing concurrency 10, first failing 15"));
}
