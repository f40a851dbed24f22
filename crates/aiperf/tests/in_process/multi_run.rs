//! Sweeps and repeated trials end to end (`Engine::run_set`): the runs made, their directories
//! and `run_info`, and the aggregates checked against values recomputed here from the per-run
//! summaries.

use std::path::Path;

use aiperf_mock_server::MockConfig;
use serde_json::Value;

use crate::common::*;

/// Student-t quantile for 95 % two-sided with 2 degrees of freedom (statistical tables;
/// scipy's `t.ppf(0.975, 2)`).
const T_95_DF2: f64 = 4.302652729749462;

fn throughput(dir: &Path) -> f64 {
    stat(
        &read_json(dir.join("profile_export_aiperf.json")),
        "request_throughput",
        "avg",
    )
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_trials_aggregate_to_hand_computed_confidence() {
    let mock = mock(2.0, 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let (out, printed) = Profile::chat(&mock.url())
        .streaming()
        .concurrency(2)
        .request_count(6)
        .isl(16)
        .osl(4)
        .arg("--warmup-request-count", 2)
        .arg("--num-profile-runs", 3)
        .run_set(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    // Warm-up only before the first trial: 3 x 6 + 2 requests.
    assert_eq!(posts(&mock).len(), 20);
    let runs: Vec<_> = (1..=3)
        .map(|i| dir.path().join(format!("profile_runs/run_{i:04}")))
        .collect();
    for (i, run) in runs.iter().enumerate() {
        let info = &read_json(run.join("profile_export_aiperf.json"))["run_info"];
        assert_eq!(info["trial"], i);
        assert_eq!(info["random_seed"], 42, "one seed for every trial");
        assert_eq!(info["run_label"], format!("run_{:04}", i + 1));
        assert_eq!(info["variation_label"], "base");
        assert_eq!(info["variation_values"], serde_json::json!({}));
        assert_eq!(info["sweep_id"], "test-sweep");
    }
    // Same seed, same dataset: every trial's inputs.json is the first's.
    let inputs: Vec<String> = runs
        .iter()
        .map(|r| std::fs::read_to_string(r.join("inputs.json")).unwrap())
        .collect();
    assert!(inputs[0].contains("\"session_id\""));
    assert!(inputs.iter().all(|i| *i == inputs[0]));

    let xs: Vec<f64> = runs.iter().map(|r| throughput(r)).collect();
    let mean = xs.iter().sum::<f64>() / 3.0;
    let std = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
    let se = std / 3f64.sqrt();
    let agg = read_json(
        dir.path()
            .join("aggregate/profile_export_aiperf_aggregate.json"),
    );
    let t = &agg["metrics"]["request_throughput_avg"];
    assert!(close(t["mean"].as_f64().unwrap(), mean), "{t}");
    assert!(close(t["std"].as_f64().unwrap(), std), "{t}");
    assert!(close(t["se"].as_f64().unwrap(), se), "{t}");
    assert!(close(t["t_critical"].as_f64().unwrap(), T_95_DF2), "{t}");
    assert!(
        close(t["ci_low"].as_f64().unwrap(), mean - T_95_DF2 * se),
        "{t}"
    );
    assert!(
        close(t["ci_high"].as_f64().unwrap(), mean + T_95_DF2 * se),
        "{t}"
    );
    assert_eq!(t["unit"], "requests/sec");
    assert_eq!(agg["metadata"]["num_profile_runs"], 3);
    assert_eq!(
        agg["metadata"]["run_labels"],
        serde_json::json!(["run_0001", "run_0002", "run_0003"])
    );
    let csv = std::fs::read_to_string(
        dir.path()
            .join("aggregate/profile_export_aiperf_aggregate.csv"),
    )
    .unwrap();
    assert!(csv.starts_with("metric,mean,std,min,max,cv,se,ci_low,ci_high,t_critical,unit\n"));
    assert!(
        csv.contains(&format!("request_throughput_avg,{mean:.2},{std:.2},")),
        "{csv}"
    );
    let all = printed.join("\n");
    assert!(all.contains("Starting Multi-Run Benchmark"));
    assert!(all.contains("AGGREGATE STATISTICS SUMMARY"));
    assert!(all.contains("All runs complete: 3/3 runs successful"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grid_sweep_runs_every_combination_in_its_own_directory() {
    let mock = mock(1.0, 0.5).await;
    let dir = tempfile::tempdir().unwrap();
    let (out, printed) = Profile::chat(&mock.url())
        .streaming()
        .concurrency("1,2")
        .osl("3,5")
        .request_count(4)
        .isl(16)
        .run_set(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert_eq!(out.runs.len(), 4);
    // osl's path (datasets...) sorts before concurrency's (phases...): osl varies slowest.
    let expected = [(3, 1), (3, 2), (5, 1), (5, 2)];
    for (i, (osl, c)) in expected.iter().enumerate() {
        let run = dir.path().join(format!("mean_{osl}__concurrency_{c}"));
        let s = read_json(run.join("profile_export_aiperf.json"));
        assert_eq!(stat(&s, "output_sequence_length", "avg"), *osl as f64);
        assert_eq!(s["run_info"]["variation_index"], i);
        assert_eq!(
            s["run_info"]["variation_values"],
            serde_json::json!({"datasets.main.prompts.osl.mean": osl,
                               "phases.profiling.concurrency": c})
        );
        // Variation i gets seed 42 + i.
        assert_eq!(s["run_info"]["random_seed"], 42 + i);
        assert!(dir
            .path()
            .join(format!(
                "aggregate/mean_{osl}__concurrency_{c}/profile_export_aiperf_aggregate.json"
            ))
            .is_file());
    }
    let sweep = read_json(
        dir.path()
            .join("sweep_aggregate/profile_export_aiperf_sweep.json"),
    );
    assert_eq!(sweep["metadata"]["num_combinations"], 4);
    let names: Vec<&str> = sweep["metadata"]["sweep_parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["mean", "concurrency"]);
    let combos = sweep["per_combination_metrics"].as_array().unwrap();
    assert_eq!(combos.len(), 4);
    // The best throughput is the largest of the four runs' own throughputs.
    let best = (0..4)
        .map(|i| {
            let (osl, c) = expected[i];
            throughput(&dir.path().join(format!("mean_{osl}__concurrency_{c}")))
        })
        .fold(f64::MIN, f64::max);
    let picked = sweep["best_configurations"]["best_throughput"]["metric"]
        .as_f64()
        .unwrap();
    assert!(close(picked, best), "{picked} vs {best}");
    assert!(printed.join("\n").contains("Best Configurations:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_sweep_pairs_the_lists() {
    let mock = mock(1.0, 0.5).await;
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = Profile::chat(&mock.url())
        .streaming()
        .concurrency("1,2")
        .osl("3,5")
        .request_count(4)
        .isl(16)
        .arg("--sweep-type", "zip")
        .run_set(dir.path())
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.runs.len()), (0, 2));
    for (osl, c) in [(3, 1), (5, 2)] {
        let s = read_json(dir.path().join(format!(
            "mean_{osl}__concurrency_{c}/profile_export_aiperf.json"
        )));
        assert_eq!(stat(&s, "output_sequence_length", "avg"), osl as f64);
    }
    assert!(!dir.path().join("mean_3__concurrency_2").exists());
    assert_eq!(posts(&mock).len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_variation_is_recorded_and_the_sweep_goes_on() {
    let mut cfg = MockConfig::for_tests(1.0, 0.5);
    cfg.max_output_tokens = 50;
    let mock = mock_with(cfg).await;
    let dir = tempfile::tempdir().unwrap();
    let (out, printed) = Profile::chat(&mock.url())
        .streaming()
        .osl("4,100,8")
        .request_count(3)
        .isl(16)
        .run_set(dir.path())
        .await
        .unwrap();
    // Two of three succeeded: enough to aggregate, as AIPerf exits 0 then.
    assert_eq!(out.exit_code, 0);
    assert_eq!(out.runs.len(), 3);
    assert!(out.runs[1].result.outcome.is_err());
    // The failed run still left its records.
    assert_eq!(
        read_jsonl(dir.path().join("mean_100/profile_export.jsonl")).len(),
        3
    );
    assert!(!dir.path().join("aggregate/mean_100").exists());
    let sweep = read_json(
        dir.path()
            .join("sweep_aggregate/profile_export_aiperf_sweep.json"),
    );
    assert_eq!(sweep["num_successful_runs"], 2);
    assert_eq!(
        sweep["per_combination_metrics"].as_array().unwrap().len(),
        2
    );
    let failed = &sweep["failed_runs"][0];
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .starts_with("datasets.main.prompts.osl.mean=100: "),
        "{failed}"
    );
    assert!(printed.join("\n").contains("Failed runs: 1 of 3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_with_one_success_exits_1_but_keeps_its_files() {
    let mut cfg = MockConfig::for_tests(1.0, 0.5);
    cfg.max_output_tokens = 50;
    let mock = mock_with(cfg).await;
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = Profile::chat(&mock.url())
        .streaming()
        .osl("4,100")
        .request_count(2)
        .run_set(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 1);
    let sweep: Value = read_json(
        dir.path()
            .join("sweep_aggregate/profile_export_aiperf_sweep.json"),
    );
    assert_eq!(sweep["num_successful_runs"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn convergence_stops_repeating_once_the_metric_settles() {
    // A fixed-latency mock and a loose bound: two trials agree well enough.
    let mock = mock(5.0, 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = Profile::chat(&mock.url())
        .streaming()
        .request_count(4)
        .isl(16)
        .osl(4)
        .arg("--num-profile-runs", 5)
        .arg("--convergence-metric", "output_sequence_length")
        .arg("--convergence-mode", "cv")
        .run_set(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    // Output lengths are exactly 4 every time: cv 0 after the minimum two trials.
    assert_eq!(out.runs.len(), 2);
    assert!(!dir.path().join("profile_runs/run_0003").exists());
}

/// A run against a mock whose TTFT is `ttft` ms, +- 2 ms jitter.
async fn run_ttft(ttft: f64, dir: &Path) {
    let mut cfg = MockConfig::for_tests(ttft, 0.5);
    cfg.ttft_jitter = 2.0;
    let mock = mock_with(cfg).await;
    let out = Profile::chat(&mock.url())
        .streaming()
        .concurrency(4)
        .request_count(40)
        .isl(16)
        .osl(4)
        .run(dir)
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_flags_a_planted_20_percent_regression_and_not_1_percent() {
    let root = tempfile::tempdir().unwrap();
    let (base, slow, same) = (
        root.path().join("base"),
        root.path().join("slow"),
        root.path().join("same"),
    );
    run_ttft(40.0, &base).await;
    run_ttft(48.0, &slow).await;
    run_ttft(40.4, &same).await;
    let args = |candidate: &Path| aiperf_config::CompareArgs {
        dirs: vec![base.clone(), candidate.to_path_buf()],
        fail_if: vec!["avg(time_to_first_token) > +5%".into()],
        metrics: vec![],
        confidence_level: 0.95,
    };
    let (text, fired) = aiperf::compare::compare(&args(&slow)).unwrap();
    assert_eq!(fired.len(), 1, "{text}");
    assert!(fired[0].starts_with("avg(time_to_first_token) > +5%"));
    let row = text
        .lines()
        .find(|l| {
            let mut cells = l.split_whitespace();
            (cells.next(), cells.next()) == (Some("time_to_first_token"), Some("avg"))
        })
        .unwrap();
    assert!(row.ends_with("worse"), "{row}");
    let (text, fired) = aiperf::compare::compare(&args(&same)).unwrap();
    assert!(fired.is_empty(), "{text}");
}

/// A mock whose TTFT is 10 + 20 (c - 1) ms with c requests in flight: a 240 ms bound holds up
/// to c = 12 (230 ms) and breaks at 13 (250 ms).
async fn edge_at_12() -> aiperf_mock_server::MockHandle {
    let mut cfg = MockConfig::for_tests(10.0, 1.0);
    cfg.ttft_per_inflight = 20.0;
    mock_with(cfg).await
}

/// A `recipe` search against [`edge_at_12`] with a 240 ms TTFT bound.
fn search_probe(url: &str, recipe: &str) -> Profile {
    Profile::chat(url)
        .streaming()
        .request_count(48)
        .isl(16)
        .osl(3)
        .arg("--search-recipe", recipe)
        .arg("--ttft-sla-ms", 240)
        .arg("--concurrency-max", 64)
}

/// The answer, which must sit at the edge (12, give or take the noise of one step).
fn assert_found_near_12(out: &aiperf_engine::SearchOutcome) -> usize {
    let found = out.answer.concurrency.unwrap();
    assert!(
        (11..=13).contains(&found),
        "found {found}: {:#?}",
        out.iterations
    );
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrency_under_sla_finds_the_mock_s_known_edge() {
    let mock = edge_at_12().await;
    let dir = tempfile::tempdir().unwrap();
    let out = search_probe(&mock.url(), "max-concurrency-under-sla")
        .run_search(dir.path())
        .await
        .unwrap();
    let found = assert_found_near_12(&out);
    assert!(out.answer.exact);
    assert!(out.iterations.len() <= 8, "{} runs", out.iterations.len());
    assert_eq!(out.exit_code, 0);
    // Every probe left its own run directory, and the history names each.
    let history = read_json(dir.path().join("search_history.json"));
    let iterations = history["iterations"].as_array().unwrap();
    assert_eq!(iterations.len(), out.iterations.len());
    for it in iterations {
        let c = it["concurrency"].as_u64().unwrap();
        let run = dir.path().join(format!("concurrency_{c}"));
        let s = read_json(run.join("profile_export_aiperf.json"));
        let p95 = stat(&s, "time_to_first_token", "p95");
        assert_eq!(
            it["values"]["time_to_first_token_p95"].as_f64().unwrap(),
            p95
        );
        assert_eq!(it["feasible"].as_bool().unwrap(), p95 < 240.0);
    }
    assert_eq!(history["answer"]["concurrency"], found);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_state_keeps_to_the_plateau_and_obeys_little_s_law() {
    let mock = mock(15.0, 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    Profile::chat(&mock.url())
        .streaming()
        .concurrency(4)
        .request_count(60)
        .isl(16)
        .osl(3)
        .run(dir.path())
        .await
        .unwrap();
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    let ss = &s["steady_state"];
    assert_eq!(ss["concurrency"], 4);
    let completed = ss["completed_requests"].as_u64().unwrap();
    // The plateau leaves out the drain: the last three requests end after it.
    assert!((2..=57).contains(&completed), "{ss}");
    let (a, b) = (
        ss["window_start_ns"].as_u64().unwrap(),
        ss["window_end_ns"].as_u64().unwrap(),
    );
    assert!(a < b);
    assert!((ss["duration_sec"].as_f64().unwrap() - (b - a) as f64 / 1e9).abs() < 1e-9);
    // Little's law on the plateau: throughput = requests in flight / latency.
    let x = ss["request_throughput"].as_f64().unwrap();
    let r = ss["request_latency"]["avg"].as_f64().unwrap() / 1e3;
    assert!((x * r / 4.0 - 1.0).abs() < 0.15, "X {x} R {r}");
    // Output tokens: 3 per request.
    assert!((ss["output_token_throughput"].as_f64().unwrap() - 3.0 * x).abs() < 1e-6);

    // An open-loop run has no plateau to report.
    let dir = tempfile::tempdir().unwrap();
    Profile::chat(&mock.url())
        .streaming()
        .request_rate(200)
        .request_count(20)
        .isl(16)
        .osl(3)
        .run(dir.path())
        .await
        .unwrap();
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    assert!(s.get("steady_state").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variants_run_as_named_scenarios() {
    let mock = mock(1.0, 0.5).await;
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = Profile::chat(&mock.url())
        .streaming()
        .request_count(4)
        .isl(16)
        .osl(4)
        .arg("--variant", "short: osl=2")
        .arg("--variant", "long: osl=6, concurrency=2")
        .run_set(dir.path())
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.runs.len()), (0, 2));
    for (name, osl) in [("short", 2.0), ("long", 6.0)] {
        let s = read_json(dir.path().join(name).join("profile_export_aiperf.json"));
        assert_eq!(stat(&s, "output_sequence_length", "avg"), osl);
        assert_eq!(s["run_info"]["variation_label"], name);
    }
    let sweep = read_json(
        dir.path()
            .join("sweep_aggregate/profile_export_aiperf_sweep.json"),
    );
    assert_eq!(
        sweep["metadata"]["sweep_parameters"],
        serde_json::json!([{"name": "variant", "values": ["short", "long"]}])
    );
    assert_eq!(
        sweep["per_combination_metrics"][1]["parameters"]["variant"],
        "long"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_ramp_finds_the_capacity_knee() {
    // Capacity 4: up to 4 in flight the latency is flat (~44 ms); at 8 requests queue and
    // take about twice as long, past the 50 % threshold. The median keeps a loaded machine's
    // stragglers out of the comparison.
    let mut cfg = MockConfig::for_tests(40.0, 1.0);
    cfg.capacity = 4;
    let mock = mock_with(cfg).await;
    let dir = tempfile::tempdir().unwrap();
    let p = Profile::chat(&mock.url())
        .streaming()
        .request_count(32)
        .isl(16)
        .osl(3)
        .arg("--search-recipe", "concurrency-ramp")
        .arg("--concurrency-max", 16)
        .arg("--concurrency-steps", 5)
        .arg("--degradation-threshold", 0.5)
        .arg("--degradation-stat", "p50");
    let (out, lines) = run_grid_recipe(p, dir.path()).await;
    // Five log-spaced concurrencies, one run each.
    assert_eq!(out.runs.len(), 5);
    assert_eq!(out.exit_code, 0);
    let k = read_json(dir.path().join("degradation_knee.json"));
    assert_eq!(k["baseline_concurrency"], 1);
    assert_eq!(k["knee_concurrency"], 8, "{k:#}");
    assert!(lines
        .iter()
        .any(|l| l.starts_with("Degradation knee: concurrency 8")));
}

/// Runs a grid recipe (`--search-recipe` resolving to a sweep) the way the binary does.
async fn run_grid_recipe(p: Profile, dir: &Path) -> (aiperf_engine::SetOutcome, Vec<String>) {
    let argv = p.argv(Some(dir));
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
        panic!("a grid recipe")
    };
    let set = aiperf_config::ProfileConfig::resolve_set(*args, &argv, &registry).unwrap();
    let engine = aiperf_engine::Engine::new(std::sync::Arc::new(registry));
    let mut lines = Vec::new();
    let mut print = |s: &str| lines.push(s.to_string());
    let out = engine
        .run_set(&set, "grid", &aiperf_engine::Silent, &mut print)
        .await;
    aiperf_engine::post_process(&set, &out, &post, &mut print).unwrap();
    (out, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefill_curve_recovers_the_mock_s_cost_per_prompt_token() {
    // The mock's prefill model: TTFT = 5 ms + 0.05 ms per prompt token.
    let mut cfg = MockConfig::for_tests(5.0, 0.5);
    cfg.ttft_per_input_token = 0.05;
    let mock = mock_with(cfg).await;
    let dir = tempfile::tempdir().unwrap();
    let p = Profile::chat(&mock.url())
        .streaming()
        .request_count(4)
        .osl(2)
        .arg("--search-recipe", "prefill-ttft-curve")
        .arg("--isl-min", 200)
        .arg("--isl-max", 1600)
        .arg("--isl-steps", 4);
    let (out, lines) = run_grid_recipe(p, dir.path()).await;
    assert_eq!(out.runs.len(), 4);
    let c = read_json(dir.path().join("prefill_curve.json"));
    assert_eq!(c["fit_form"], "linear", "{c:#}");
    let slope = c["coefficients"][0].as_f64().unwrap();
    assert!(
        (0.045..0.06).contains(&slope),
        "slope {slope} ms/token: {c:#}"
    );
    assert!(c["r_squared"].as_f64().unwrap() > 0.95, "{c:#}");
    let isls: Vec<f64> = c["raw_points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["isl"].as_f64().unwrap())
        .collect();
    assert_eq!(isls, [200.0, 400.0, 800.0, 1600.0]);
    assert!(lines
        .iter()
        .any(|l| l.starts_with("Prefill curve (linear fit")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn itl_surface_is_the_measured_grid() {
    // ITL = 2 + 3 ms per other request in flight: grows with concurrency, not with OSL.
    let mut cfg = MockConfig::for_tests(1.0, 2.0);
    cfg.itl_per_inflight = 3.0;
    let mock = mock_with(cfg).await;
    let dir = tempfile::tempdir().unwrap();
    let p = Profile::chat(&mock.url())
        .streaming()
        .request_count(8)
        .isl(16)
        .arg("--search-recipe", "decode-itl-curve")
        .arg("--concurrency-max", 4)
        .arg("--concurrency-steps", 2)
        .arg("--osl-min", 4)
        .arg("--osl-max", 8)
        .arg("--osl-steps", 2);
    let (out, _) = run_grid_recipe(p, dir.path()).await;
    assert_eq!(out.runs.len(), 4);
    let s = read_json(dir.path().join("decode_itl_surface.json"));
    assert_eq!(s["surface"]["concurrency_axis"], serde_json::json!([1, 4]));
    assert_eq!(s["surface"]["osl_axis"], serde_json::json!([4, 8]));
    let grid = &s["surface"]["itl_grid"];
    let itl = |c: usize, o: usize| grid[c][o].as_f64().unwrap();
    // Alone: about 2 ms; four at once: up to 2 + 3 x 3 = 11 ms (less while the first requests
    // of a run are still starting), well above the lone request's either way.
    for o in 0..2 {
        assert!(itl(0, o) > 1.0, "{grid}");
        assert!(itl(1, o) > itl(0, o) + 4.0, "{grid}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_goodput_under_slo_finds_where_good_requests_run_out() {
    // Every request meets the 240 ms TTFT SLO up to c = 12 and none from c = 13, so 95 %
    // attainment ends between them.
    let mock = edge_at_12().await;
    let dir = tempfile::tempdir().unwrap();
    let out = search_probe(&mock.url(), "max-goodput-under-slo")
        .arg("--tpot-sla-ms", 50)
        .arg("--e2e-sla-ms", 2000)
        .run_search(dir.path())
        .await
        .unwrap();
    let found = assert_found_near_12(&out);
    let at = out
        .iterations
        .iter()
        .find(|p| p.concurrency == found)
        .unwrap();
    assert!(at.values["good_request_fraction_avg"] >= 0.95, "{at:#?}");
    assert!(at.goodput.unwrap() > 0.0);
    let history = read_json(dir.path().join("search_history.json"));
    assert_eq!(history["slas"][0]["metric"], "good_request_fraction");
    assert_eq!(history["slas"][0]["at_least"], 0.95);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pareto_sweep_marks_the_front_over_shapes() {
    let mut cfg = MockConfig::for_tests(5.0, 1.0);
    cfg.ttft_per_inflight = 5.0;
    let mock = mock_with(cfg).await;
    let dir = tempfile::tempdir().unwrap();
    let p = Profile::chat(&mock.url())
        .streaming()
        .request_count(8)
        .arg("--search-recipe", "pareto-sweep")
        .arg("--isl-osl-pairs", "16/4,32/8")
        .concurrency("1,4");
    let (out, lines) = run_grid_recipe(p, dir.path()).await;
    assert_eq!((out.exit_code, out.runs.len()), (0, 4));
    for shape in [
        "shape_16_4_c1",
        "shape_16_4_c4",
        "shape_32_8_c1",
        "shape_32_8_c4",
    ] {
        assert!(dir
            .path()
            .join(shape)
            .join("profile_export_aiperf.json")
            .is_file());
    }
    let doc = read_json(dir.path().join("pareto_sweep.json"));
    let cells = doc["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4);
    // Recompute the front by hand from the cells: undominated on (lower x, higher y).
    for a in cells {
        let (ax, ay) = (a["x"].as_f64().unwrap(), a["y"].as_f64().unwrap());
        let dominated = cells.iter().any(|b| {
            let (bx, by) = (b["x"].as_f64().unwrap(), b["y"].as_f64().unwrap());
            bx <= ax && by >= ay && (bx < ax || by > ay)
        });
        assert_eq!(a["pareto_optimal"], !dominated, "{a}");
    }
    assert_eq!(cells[3]["isl"], 32);
    assert_eq!(cells[3]["concurrency"], 4);
    assert!(lines
        .iter()
        .any(|l| l.starts_with("Pareto front (TTFT p95")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mistake_every_run_would_repeat_stops_the_sweep_before_it_starts() {
    let mock = mock(1.0, 0.5).await;
    let dir = tempfile::tempdir().unwrap();
    let (out, printed) = Profile::chat(&mock.url())
        .concurrency("1,2")
        .request_count(2)
        .arg("--api-key", "sk-x")
        .arg("-H", "Authorization:Bearer y")
        .run_set(dir.path())
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.runs.len()), (1, 0));
    assert!(printed.is_empty(), "{printed:?}");
    assert!(posts(&mock).is_empty());
}
