//! `aiperf plot` end to end: real runs against the mock, then the chart data checked against
//! the run's own per-request records and aggregates (not pixels), and every image written
//! decoded or parsed.

use std::path::Path;

use aiperf_plot::chart::{Chart, Mark, Series};
use aiperf_plot::render::{Size, Theme};
use aiperf_plot::report_data::Mode;
use aiperf_plot::write::{Formats, Output};
use serde_json::Value;

use crate::common::*;

fn chart<'a>(charts: &'a [Chart], id: &str) -> &'a Chart {
    charts.iter().find(|c| c.id == id).unwrap_or_else(|| {
        panic!(
            "no chart {id}: {:?}",
            charts.iter().map(|c| &c.id).collect::<Vec<_>>()
        )
    })
}

fn series<'a>(c: &'a Chart, name: &str) -> &'a Series {
    c.series
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{}: no series {name}", c.id))
}

fn records(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("profile_export.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn metric(r: &Value, tag: &str) -> Option<f64> {
    r["metrics"][tag]["value"].as_f64()
}

/// Area under a step function (value held until the next point).
fn step_area(s: &Series) -> f64 {
    s.x.windows(2)
        .zip(&s.y)
        .map(|(w, y)| y * (w[1] - w[0]))
        .sum()
}

fn small_output(dir: &Path) -> Output {
    Output {
        dir: dir.to_path_buf(),
        theme: Theme::Dark,
        size: Size {
            width: 640,
            height: 360,
        },
        formats: Formats::default(),
    }
}

/// One streamed run with failures, timeslices, server metrics and two fake GPUs: each chart's
/// data is the records' data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_run_charts_are_the_records_data() {
    let mock = mock_with(aiperf_mock_server::MockConfig {
        fake_gpus: 2,
        error_rate: 25.0,
        ..aiperf_mock_server::MockConfig::for_tests(3.0, 1.0)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::chat(&mock.url())
        .streaming()
        .concurrency(4)
        .request_count(40)
        .isl(16)
        .osl(8)
        .arg("--slice-duration", 0.05)
        .arg("--gpu-telemetry", format!("{}/dcgm/metrics", mock.url()))
        .args(["--server-metrics-formats", "json", "jsonl"])
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let recs = records(dir.path());
    let ok: Vec<&Value> = recs.iter().filter(|r| r.get("error").is_none()).collect();
    let failed = recs.len() - ok.len();
    assert!(
        failed > 0 && !ok.is_empty(),
        "{failed} of {} failed",
        recs.len()
    );

    let data = aiperf_plot::build(&[dir.path().to_path_buf()], &Default::default()).unwrap();
    assert_eq!(data.mode, Mode::Single);
    assert_eq!(data.runs.len(), 1);
    assert!(data.runs[0].verdict.is_some(), "the self-check is shown");
    assert!(
        data.runs[0].warnings.iter().any(|w| w.contains("failed")),
        "{:?}",
        data.runs[0].warnings
    );
    let charts = &data.charts;

    // TTFT over time: one point per successful request, its own TTFT.
    let ttft = series(chart(charts, "ttft_over_time"), "requests");
    let want: Vec<f64> = ok
        .iter()
        .map(|r| metric(r, "time_to_first_token").unwrap())
        .collect();
    assert_eq!(sorted(ttft.y.clone()), sorted(want));

    // Dispersed throughput: the area is every successful request's output tokens.
    let area = step_area(series(
        chart(charts, "dispersed_throughput_over_time"),
        "output tokens/s",
    ));
    let tokens: f64 = ok
        .iter()
        .map(|r| metric(r, "output_sequence_length").unwrap())
        .sum();
    assert!(
        (area - tokens).abs() < 1e-6 * tokens,
        "area {area} vs {tokens} tokens"
    );

    // Timeline: failed requests as failed spans, the others as prefill + decode.
    let timeline = chart(charts, "request_timeline");
    assert_eq!(series(timeline, "failed").len(), failed);
    assert_eq!(series(timeline, "decode").len(), ok.len());
    let rows: std::collections::BTreeSet<u64> = timeline
        .series
        .iter()
        .flat_map(|s| s.y.iter().map(|r| *r as u64))
        .collect();
    assert_eq!(rows.len(), recs.len());

    // Errors over time: every failure counted once.
    let errors: f64 = chart(charts, "errors_over_time")
        .series
        .iter()
        .flat_map(|s| s.y.iter())
        .sum();
    assert_eq!(errors as usize, failed);

    // Timeslices, server gauges and one line per GPU.
    let slices = chart(charts, "timeslices_time_to_first_token");
    assert!(slices
        .series
        .iter()
        .any(|s| s.mark == Mark::Band && !s.is_empty()));
    assert!(chart(charts, "server_running_requests").has_data());
    assert_eq!(chart(charts, "gpu_utilization").series.len(), 2);

    // Every image decodes at its size; every SVG parses; the report embeds the data.
    let plots = tempfile::tempdir().unwrap();
    let written = aiperf_plot::write::write(&data, &small_output(plots.path())).unwrap();
    let drawn = charts.iter().filter(|c| c.has_data()).count();
    let pngs: Vec<_> = written
        .files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "png"))
        .collect();
    assert_eq!(pngs.len(), drawn);
    for f in pngs {
        let reader = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(f).unwrap()))
            .read_info()
            .unwrap();
        assert_eq!(
            (reader.info().width, reader.info().height),
            (640, 360),
            "{}",
            f.display()
        );
    }
    for f in written
        .files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "svg"))
    {
        let text = std::fs::read_to_string(f).unwrap();
        let doc =
            roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
    }
    let html = std::fs::read_to_string(plots.path().join("report.html")).unwrap();
    assert!(html.contains("aiperf-report-data"));
    let summary = std::fs::read_to_string(plots.path().join("summary.txt")).unwrap();
    assert!(summary.contains("report.html"), "{summary}");
}

/// A sweep with repeated trials: one point per configuration at the aggregate's mean, with
/// the aggregate's confidence interval as error bars.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_of_trials_is_compared_at_the_aggregate_means() {
    let mock = mock(2.0, 0.5).await;
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = Profile::chat(&mock.url())
        .streaming()
        .concurrency("1,3")
        .request_count(6)
        .isl(16)
        .osl(4)
        .arg("--num-profile-runs", 2)
        .run_set(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let data = aiperf_plot::build(&[dir.path().to_path_buf()], &Default::default()).unwrap();
    assert_eq!(data.mode, Mode::Multi);
    assert_eq!(
        data.runs.len(),
        2,
        "{:?}",
        data.runs.iter().map(|r| &r.name).collect::<Vec<_>>()
    );
    let agg = |c: u32| {
        read_json(dir.path().join(format!(
            "aggregate/concurrency_{c}/profile_export_aiperf_aggregate.json"
        )))
    };
    let mean = |a: &Value, key: &str, field: &str| a["metrics"][key][field].as_f64().unwrap();
    let (a1, a3) = (agg(1), agg(3));
    let c = chart(&data.charts, "ttft_vs_throughput");
    let line = series(c, "avg");
    let mut want = [
        (
            mean(&a1, "output_token_throughput_avg", "mean"),
            mean(&a1, "time_to_first_token_avg", "mean"),
        ),
        (
            mean(&a3, "output_token_throughput_avg", "mean"),
            mean(&a3, "time_to_first_token_avg", "mean"),
        ),
    ];
    want.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(line.x, want.iter().map(|p| p.0).collect::<Vec<_>>());
    assert_eq!(line.y, want.iter().map(|p| p.1).collect::<Vec<_>>());
    assert_eq!(line.labels.as_ref().unwrap().len(), 2);
    let bars = series(c, "avg confidence interval");
    let lows: Vec<f64> = bars.y_low.clone().unwrap();
    let want_lows = sorted(vec![
        mean(&a1, "time_to_first_token_avg", "ci_low"),
        mean(&a3, "time_to_first_token_avg", "ci_low"),
    ]);
    assert_eq!(sorted(lows), want_lows);
}

/// A re-run into the same directory is still one run (the earlier one moved to
/// `previous_run/`), and a run where every request failed still gets its timeline and error
/// chart, with notes instead of empty latency charts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reruns_and_all_failed_runs_get_honest_pictures() {
    let mock = mock_with(aiperf_mock_server::MockConfig {
        error_rate: 100.0,
        ..aiperf_mock_server::MockConfig::for_tests(1.0, 0.5)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let profile = Profile::chat(&mock.url())
        .streaming()
        .concurrency(2)
        .request_count(6)
        .isl(8)
        .osl(4);
    profile.run(dir.path()).await.unwrap();
    profile.run(dir.path()).await.unwrap();
    assert!(dir.path().join("previous_run").is_dir());
    let data = aiperf_plot::build(&[dir.path().to_path_buf()], &Default::default()).unwrap();
    assert_eq!(data.mode, Mode::Single);
    let ttft = chart(&data.charts, "ttft_over_time");
    assert!(!ttft.has_data() && ttft.note.is_some(), "{ttft:?}");
    assert_eq!(
        series(chart(&data.charts, "request_timeline"), "failed").len(),
        6
    );
    let errors: f64 = chart(&data.charts, "errors_over_time")
        .series
        .iter()
        .flat_map(|s| s.y.iter())
        .sum();
    assert_eq!(errors, 6.0);
}
