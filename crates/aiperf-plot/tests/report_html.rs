//! End-to-end test of `report.html` in headless Chromium (docs/design/plots.md §5).
//!
//! Two CLI calls, no CDP crate: `--dump-dom` returns the DOM after the page's scripts ran, where
//! the report writes `data-ready`, `data-errors` and `data-charts` on `<body>`; `--screenshot`
//! draws the page for a human to look at (saved under `target/report-screenshots/`).
//!
//! Skipped (with a `SKIPPED:` line) when Chromium is not installed; once it starts, any failure
//! fails the test.

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use aiperf_plot::chart::{Axis, Chart, Mark, Role, Series, DEFAULT_STAT};
use aiperf_plot::report;
use aiperf_plot::report_data::{
    FailedRun, MetricRow, Mode, ReportData, RunView, Verdict, REPORT_SCHEMA,
};
use serde_json::{json, Value};

/// How long one Chromium call may take before it is killed and the test fails.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(60);

/// Width of the screenshots, in CSS pixels.
const SCREENSHOT_WIDTH: u32 = 1400;

// ---- fixtures ----

/// A deterministic value in [0, 1) for point `i` (no RNG crate needed for wiggly data).
fn noise(i: usize) -> f64 {
    let mut x = (i as u64)
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51afd7ed558ccd);
    x ^= x >> 33;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

fn range(n: usize, f: impl Fn(usize) -> f64) -> Vec<f64> {
    (0..n).map(f).collect()
}

fn metric(tag: &str, name: &str, unit: &str, larger_is_better: bool, base: f64) -> MetricRow {
    MetricRow {
        tag: tag.into(),
        name: name.into(),
        unit: unit.into(),
        larger_is_better,
        stats: vec![
            ("avg".into(), base),
            ("min".into(), base * 0.5),
            ("max".into(), base * 2.5),
            ("p50".into(), base * 0.95),
            ("p90".into(), base * 1.5),
            ("p99".into(), base * 2.0),
            ("std".into(), base * 0.25),
        ],
    }
}

fn scalar(tag: &str, name: &str, unit: &str, value: f64) -> MetricRow {
    MetricRow {
        tag: tag.into(),
        name: name.into(),
        unit: unit.into(),
        larger_is_better: true,
        stats: vec![("avg".into(), value)],
    }
}

fn run(name: &str, scale: f64, verdict: Option<Verdict>) -> RunView {
    RunView {
        name: name.into(),
        dir: format!("artifacts/{name}"),
        group: None,
        metrics: vec![
            metric(
                "time_to_first_token",
                "Time to First Token",
                "ms",
                false,
                42.0 * scale,
            ),
            metric(
                "inter_token_latency",
                "Inter Token Latency",
                "ms",
                false,
                8.5 * scale,
            ),
            metric(
                "request_latency",
                "Request Latency",
                "ms",
                false,
                950.0 * scale,
            ),
            metric(
                "output_sequence_length",
                "Output Sequence Length",
                "tokens",
                true,
                256.0,
            ),
            scalar(
                "output_token_throughput",
                "Output Token Throughput",
                "tokens/sec",
                1200.0 / scale,
            ),
            scalar(
                "request_throughput",
                "Request Throughput",
                "requests/sec",
                4.5 / scale,
            ),
            scalar("request_count", "Request Count", "requests", 500.0),
        ],
        verdict,
        warnings: vec![],
        cli_command: Some(format!(
            "aiperf profile --model tiny --url localhost:8000 --concurrency {name}"
        )),
        config: json!({"model_names": ["tiny"], "loadgen": {"concurrency": 16, "request_count": 500}}),
    }
}

/// Four series of one quantity, one per statistic of the percentile switch.
fn per_stat(name: &str, mark: Mark, x: &[f64], base: impl Fn(usize) -> f64) -> Vec<Series> {
    [("avg", 1.0), ("p50", 0.9), ("p90", 1.4), ("p99", 2.0)]
        .into_iter()
        .map(|(stat, k)| {
            Series::new(
                format!("{name} {stat}"),
                mark,
                x.to_vec(),
                range(x.len(), |i| base(i) * k),
            )
            .stat(stat)
        })
        .collect()
}

/// One run's charts, covering every mark, both y axes, a log axis and a note.
fn single_run() -> ReportData {
    let n = 300;
    let start = range(n, |i| i as f64 * 0.2 + noise(i) * 0.1);
    let ttft = range(n, |i| {
        30.0 + 25.0 * noise(i + 1000) + if i % 37 == 0 { 60.0 } else { 0.0 }
    });
    let errors_x: Vec<f64> = start.iter().step_by(31).copied().collect();
    let errors_y = range(errors_x.len(), |i| 5.0 + noise(i + 77) * 3.0);

    let mut scatter = Chart::new(
        "ttft_over_time",
        "Time to first token per request",
        Axis::linear("time since start (s)"),
        Axis::linear("TTFT (ms)"),
    );
    scatter.series = vec![
        Series::new("ok", Mark::Scatter, start.clone(), ttft.clone()).role(Role::Ok),
        Series::new("error", Mark::Scatter, errors_x, errors_y).role(Role::Error),
    ];
    scatter.caption = Some("every request drawn".into());

    let seconds = range(60, |i| i as f64);
    let mut line = Chart::new(
        "itl_over_time",
        "Inter-token latency per second",
        Axis::linear("time since start (s)"),
        Axis::linear("ITL (ms)"),
    );
    line.series = per_stat("ITL", Mark::Line, &seconds, |i| 8.0 + 2.0 * noise(i + 5000));

    let mut step = Chart::new(
        "throughput_over_time",
        "Output tokens per second",
        Axis::linear("time since start (s)"),
        Axis::linear("tokens/s"),
    );
    step.series = vec![Series::new(
        "output tokens/s",
        Mark::Step,
        seconds.clone(),
        range(60, |i| 1000.0 + 400.0 * noise(i + 9000)),
    )];

    let mut area = Chart::new(
        "concurrency_over_time",
        "Requests in flight",
        Axis::linear("time since start (s)"),
        Axis::linear("requests"),
    );
    area.series = vec![Series::new(
        "in flight",
        Mark::Area,
        seconds.clone(),
        range(60, |i| {
            ((i as f64).min(16.0) - if i > 50 { (i - 50) as f64 * 1.5 } else { 0.0 }).max(0.0)
        }),
    )];

    let mut bars = Chart::new(
        "ttft_histogram",
        "TTFT distribution",
        Axis::linear("TTFT (ms)"),
        Axis::linear("requests"),
    );
    bars.series = vec![Series::new(
        "requests",
        Mark::Bars,
        range(12, |i| 27.5 + i as f64 * 5.0),
        range(12, |i| {
            (40.0 * (-((i as f64 - 4.0).powi(2)) / 8.0).exp()).round()
        }),
    )
    .width(5.0)];

    let mut band = Chart::new(
        "latency_band",
        "Request latency, median and p10-p90 per second",
        Axis::linear("time since start (s)"),
        Axis::linear("latency (ms)"),
    );
    let median = range(60, |i| 900.0 + 100.0 * noise(i + 300));
    band.series = vec![
        Series::new("median", Mark::Band, seconds.clone(), median.clone())
            .role(Role::Reference)
            .y_range(
                median.iter().map(|m| m * 0.8).collect(),
                median.iter().map(|m| m * 1.3).collect(),
            ),
    ];

    let rows = 24;
    let span_start = range(rows * 3, |i| (i / rows) as f64 * 4.0 + noise(i + 40) * 2.0);
    let span_end: Vec<f64> = span_start
        .iter()
        .enumerate()
        .map(|(i, s)| s + 1.0 + 2.5 * noise(i + 900))
        .collect();
    let span_row = range(rows * 3, |i| (i % rows) as f64);
    let failed: Vec<usize> = (0..rows * 3).filter(|i| i % 11 == 3).collect();
    let pick = |v: &[f64], failed_ones: bool| -> Vec<f64> {
        v.iter()
            .enumerate()
            .filter(|(i, _)| failed.contains(i) == failed_ones)
            .map(|(_, x)| *x)
            .collect()
    };
    let mut spans = Chart::new(
        "request_timeline",
        "Request timeline by worker slot",
        Axis::linear("time since start (s)"),
        Axis::linear("slot"),
    );
    spans.series = vec![
        Series::new(
            "ok",
            Mark::Spans,
            pick(&span_start, false),
            pick(&span_row, false),
        )
        .ends(pick(&span_end, false))
        .role(Role::Ok),
        Series::new(
            "error",
            Mark::Spans,
            pick(&span_start, true),
            pick(&span_row, true),
        )
        .ends(pick(&span_end, true))
        .role(Role::Error),
    ];

    let mut error_bars = Chart::new(
        "ttft_by_isl",
        "TTFT by input length, mean and 95% interval",
        Axis::linear("input tokens"),
        Axis::linear("TTFT (ms)"),
    );
    let isl = vec![128.0, 256.0, 512.0, 1024.0, 2048.0];
    let mean = vec![20.0, 26.0, 38.0, 61.0, 110.0];
    error_bars.series = vec![
        Series::new("TTFT", Mark::ErrorBars, isl.clone(), mean.clone())
            .y_range(
                mean.iter().map(|m| m * 0.85).collect(),
                mean.iter().map(|m| m * 1.2).collect(),
            )
            .x_range(
                isl.iter().map(|x| x * 0.9).collect(),
                isl.iter().map(|x| x * 1.1).collect(),
            ),
    ];

    let mut marker = Chart::new(
        "knee",
        "Latency against throughput, with the knee",
        Axis::linear("tokens/s"),
        Axis::linear("request latency (ms)"),
    );
    let tput = vec![300.0, 580.0, 1050.0, 1800.0, 2400.0, 2600.0];
    let lat = vec![400.0, 420.0, 470.0, 560.0, 900.0, 1700.0];
    marker.series = vec![
        Series::new("runs", Mark::Line, tput.clone(), lat.clone()).labels(
            ["c=1", "c=2", "c=4", "c=8", "c=16", "c=32"]
                .map(String::from)
                .to_vec(),
        ),
        Series::new("knee", Mark::Marker, vec![1800.0], vec![560.0])
            .role(Role::Knee)
            .labels(vec!["knee c=8".into()]),
    ];

    let mut dual = Chart::new(
        "throughput_and_gpu",
        "Throughput and GPU utilization",
        Axis::linear("time since start (s)"),
        Axis::linear("tokens/s"),
    );
    dual.y2 = Some(Axis::linear("GPU utilization (%)"));
    dual.series = vec![
        Series::new(
            "tokens/s",
            Mark::Line,
            seconds.clone(),
            range(60, |i| 1100.0 + 300.0 * noise(i + 61)),
        ),
        Series::new(
            "GPU %",
            Mark::Step,
            seconds.clone(),
            range(60, |i| 60.0 + 35.0 * noise(i + 62)),
        )
        .right(),
    ];

    let mut log = Chart::new(
        "latency_log",
        "Request latency (log scale)",
        Axis::linear("request"),
        Axis {
            label: "latency (ms)".into(),
            log: true,
        },
    );
    log.series = vec![Series::new(
        "latency",
        Mark::Scatter,
        range(200, |i| i as f64),
        range(200, |i| 10f64.powf(1.0 + 3.0 * noise(i + 4242))),
    )];

    let note = Chart::absent("gpu_power", "GPU power", "No GPU telemetry in this run.");

    let mut view = run("concurrency 16", 1.0, None);
    view.verdict = Some(Verdict {
        client_bound: true,
        reasons: vec!["request start lag p99 was 12 ms (limit 5 ms)".into()],
    });
    view.warnings = vec!["23 of 500 requests failed".into()];

    ReportData {
        schema: REPORT_SCHEMA,
        title: "aiperf report: concurrency 16".into(),
        aiperf_version: "0.1.0".into(),
        mode: Mode::Single,
        runs: vec![view],
        charts: vec![
            scatter, line, step, area, bars, band, spans, error_bars, marker, dual, log, note,
        ],
        failed_runs: vec![],
        notes: vec!["timeslices.json not found: per-second charts use the records".into()],
    }
}

/// A comparison of three runs: per-run points, a Pareto front with its knee, per-stat lines,
/// grouped bars, error bars and a note.
fn multi_run() -> ReportData {
    let names = ["concurrency 4", "concurrency 16", "concurrency 64"];
    let tput = [900.0, 2300.0, 2900.0];
    let lat = [380.0, 520.0, 1400.0];
    let runs = vec![
        run(
            names[0],
            0.6,
            Some(Verdict {
                client_bound: false,
                reasons: vec![],
            }),
        ),
        run(names[1], 1.0, None),
        run(
            names[2],
            2.4,
            Some(Verdict {
                client_bound: true,
                reasons: vec!["credit issue lag p99 was 40 ms".into(), "CPU at 98%".into()],
            }),
        ),
    ];

    let mut pareto = Chart::new(
        "pareto",
        "Latency against throughput",
        Axis::linear("output tokens/s"),
        Axis::linear("request latency (ms)"),
    );
    for (i, name) in names.iter().enumerate() {
        pareto.series.push(
            Series::new(*name, Mark::Scatter, vec![tput[i]], vec![lat[i]]).role(if i == 0 {
                Role::Baseline
            } else {
                Role::Palette
            }),
        );
    }
    pareto.series.push(
        Series::new("Pareto front", Mark::Line, tput.to_vec(), lat.to_vec()).role(Role::Front),
    );
    pareto.series.push(
        Series::new("knee", Mark::Marker, vec![tput[1]], vec![lat[1]])
            .role(Role::Knee)
            .labels(vec!["knee: concurrency 16".into()]),
    );

    let concurrency = vec![4.0, 16.0, 64.0];
    let mut by_concurrency = Chart::new(
        "ttft_by_concurrency",
        "TTFT by concurrency",
        Axis {
            label: "concurrency".into(),
            log: true,
        },
        Axis::linear("TTFT (ms)"),
    );
    by_concurrency.series = per_stat("TTFT", Mark::Line, &concurrency, |i| [25.0, 42.0, 100.0][i]);
    for s in &mut by_concurrency.series {
        s.labels = Some(vec!["c=4".into(), "c=16".into(), "c=64".into()]);
    }

    let mut interval = Chart::new(
        "itl_interval",
        "ITL, mean and 95% interval over 3 trials",
        Axis::linear("concurrency"),
        Axis::linear("ITL (ms)"),
    );
    interval.series = vec![Series::new(
        "ITL",
        Mark::ErrorBars,
        concurrency.clone(),
        vec![5.1, 8.5, 20.4],
    )
    .y_range(vec![4.8, 8.0, 18.0], vec![5.5, 9.2, 23.5])];

    let mut grouped = Chart::new(
        "throughput_bars",
        "Throughput per run",
        Axis::linear("trial"),
        Axis::linear("output tokens/s"),
    );
    for (i, name) in names.iter().enumerate() {
        grouped.series.push(
            Series::new(
                *name,
                Mark::Bars,
                vec![1.0, 2.0, 3.0],
                range(3, |t| tput[i] * (0.95 + 0.1 * noise(t + i * 3))),
            )
            .width(0.8),
        );
    }

    ReportData {
        schema: REPORT_SCHEMA,
        title: "aiperf report: sweep".into(),
        aiperf_version: "0.1.0".into(),
        mode: Mode::Multi,
        runs,
        charts: vec![
            pareto,
            by_concurrency,
            interval,
            grouped,
            Chart::absent(
                "gpu_utilization",
                "GPU utilization",
                "No run has GPU telemetry.",
            ),
        ],
        failed_runs: vec![FailedRun {
            dir: "artifacts/concurrency 256".into(),
            reason: "every request failed (connection refused)".into(),
        }],
        notes: vec!["1 run directory without results is listed at the end".into()],
    }
}

// ---- driving Chromium ----

/// The Chromium to use: `AIPERF_CHROMIUM` or `chromium` on PATH, if `--version` runs.
fn chromium() -> Option<PathBuf> {
    let bin = std::env::var_os("AIPERF_CHROMIUM")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("chromium"));
    let ok = Command::new(&bin)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    ok.then_some(bin)
}

struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs headless Chromium with the flags of the design (§5) plus `extra`, killing it after
/// [`CHROMIUM_TIMEOUT`]. Output goes to files, so a large DOM cannot fill a pipe and stall it.
fn run_chromium(bin: &Path, work: &Path, name: &str, extra: &[String]) -> Run {
    let profile = work.join(format!("profile-{name}"));
    fs::create_dir_all(&profile).unwrap();
    let out_path = work.join(format!("{name}.stdout"));
    let err_path = work.join(format!("{name}.stderr"));
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + CHROMIUM_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium ({name}) did not finish within {CHROMIUM_TIMEOUT:?}; stderr:\n{}",
                fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Run {
        status,
        stdout: fs::read_to_string(&out_path).unwrap(),
        stderr: fs::read_to_string(&err_path).unwrap(),
    }
}

/// Where screenshots go for a human: `$CARGO_TARGET_DIR` or the workspace's `target/`.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("report-screenshots");
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The value of attribute `name` of the dumped `<body>` tag, unescaped.
fn body_attribute(dom: &str, name: &str) -> Option<String> {
    // Scripts mention `<body …>` in comments: the tag is the first one after the head.
    let head_end = dom.find("</head>")?;
    let start = head_end + dom[head_end..].find("<body")?;
    let end = start + dom[start..].find('>')?;
    let tag = &dom[start..end];
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    let len = tag[at..].find('"')?;
    Some(
        tag[at..at + len]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#39;", "'")
            .replace("&nbsp;", "\u{a0}")
            .replace("&amp;", "&"),
    )
}

/// What the page must report for each chart (for statistic `stat`): a note, or the points per shown series.
type Expected = Result<(Vec<u64>, Vec<String>), String>;

fn expected_charts(data: &ReportData, stat: &str) -> Vec<(String, Expected)> {
    data.charts
        .iter()
        .map(|chart| {
            let expected = match &chart.note {
                Some(note) => Err(note.clone()),
                None => {
                    let drawn: Vec<(u64, String)> = chart
                        .series
                        .iter()
                        .filter(|s| s.stat.as_deref().is_none_or(|st| st == stat))
                        .map(|s| {
                            let points =
                                s.x.iter()
                                    .zip(&s.y)
                                    .filter(|(x, y)| x.is_finite() && y.is_finite())
                                    .count();
                            (points as u64, s.name.clone())
                        })
                        .filter(|(n, _)| *n > 0)
                        .collect();
                    Ok(drawn.into_iter().unzip())
                }
            };
            (chart.id.clone(), expected)
        })
        .collect()
}

/// Checks `data-charts` of a dumped DOM against what `data` should draw for `stat`.
fn check_charts(dom: &str, data: &ReportData, stat: &str) {
    let charts: Vec<Value> =
        serde_json::from_str(&body_attribute(dom, "data-charts").expect("data-charts")).unwrap();
    let expected = expected_charts(data, stat);
    assert_eq!(charts.len(), expected.len(), "charts listed: {charts:?}");
    for ((id, want), got) in expected.iter().zip(&charts) {
        assert_eq!(got["id"], json!(id), "chart order");
        match want {
            Err(note) => assert_eq!(got["note"], json!(note), "{id} should be a note"),
            Ok((points, names)) => {
                assert!(got.get("note").is_none(), "{id} drawn as a note: {got}");
                assert_eq!(got["names"], json!(names), "{id} ({stat}): series drawn");
                assert!(!points.is_empty() && points.iter().all(|n| *n >= 1));
                assert_eq!(
                    got["series"],
                    json!(points),
                    "{id} ({stat}): points drawn per series"
                );
            }
        }
    }
}

/// A script appended to a copy of the page that uses every control the way a reader would
/// (p99, log scale, the other theme, another baseline, a narrower window, hovering each chart),
/// then marks `<body data-interacted="1">`. Errors and redraws land in the usual attributes.
const INTERACTION_SCRIPT: &str = r#"<script>
setTimeout(function () {
  document.getElementById("stat-p99").click();
  document.getElementById("log-scale").click();
  document.getElementById("theme-toggle").click();
  var picker = document.getElementById("baseline-picker");
  if (picker) {
    picker.value = String(picker.options.length - 1);
    picker.dispatchEvent(new Event("change"));
  }
  window.dispatchEvent(new Event("resize"));
  setTimeout(function () {
    document.querySelectorAll("figure[data-chart] .u-over").forEach(function (over) {
      var r = over.getBoundingClientRect();
      var at = { clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, bubbles: true };
      over.dispatchEvent(new MouseEvent("mouseenter", at));
      over.dispatchEvent(new MouseEvent("mousemove", at));
      over.dispatchEvent(new MouseEvent("dblclick", at));
    });
    setTimeout(function () { document.body.dataset.interacted = "1"; }, 100);
  }, 100);
}, 200);
</script>
"#;

/// Uses the controls of the page in Chromium and checks that it redrew without errors.
fn check_interaction(bin: &Path, work: &Path, html: &str, data: &ReportData) {
    let end = html.rfind("</body>").expect("</body>");
    let page = work.join("interaction.html");
    fs::write(
        &page,
        format!("{}{INTERACTION_SCRIPT}{}", &html[..end], &html[end..]),
    )
    .unwrap();
    let dom = &clean_dom(bin, work, "interaction", &page, "after using the controls");
    assert_eq!(
        body_attribute(dom, "data-interacted").as_deref(),
        Some("1"),
        "script did not finish"
    );
    check_charts(dom, data, "p99");
    if data.mode == Mode::Multi {
        let last = data
            .runs
            .last()
            .map(|r| r.name.as_str())
            .unwrap_or_default();
        assert!(
            dom.contains(&format!("{last} (baseline)")),
            "comparison did not follow the baseline"
        );
        assert!(
            dom.contains("Metric (p99)"),
            "comparison did not follow the statistic"
        );
    }
    assert!(
        dom.contains("<html lang=\"en\" data-theme=\"dark\">"),
        "theme did not change"
    );
}

/// A window tall enough for the whole page (headless screenshots capture the window only).
fn page_height(data: &ReportData) -> u32 {
    let chart_rows = data.charts.len().div_ceil(2) as u32;
    let metric_rows = data.runs.first().map_or(0, |r| r.metrics.len() as u32);
    // Header and controls, a row of two figures per two charts, then the metric table (the
    // summary for one run, the comparison for several) and the folded sections below.
    350 + 70 * data.runs.len() as u32 + chart_rows * 410 + metric_rows * 30 + 450
}

/// Renders `data` in Chromium and checks what the page says it drew, then takes screenshots.
/// Loads `page` in Chromium and returns the DOM after its scripts ran; fails on a crash, any
/// console line (the report logs nothing) or an error the page's collector caught.
fn clean_dom(bin: &Path, work: &Path, name: &str, page: &Path, when: &str) -> String {
    let run = run_chromium(bin, work, name, &["--dump-dom".into(), file_url(page)]);
    assert!(
        run.status.success(),
        "chromium failed {when}: {:?}\n{}",
        run.status,
        run.stderr
    );
    let console: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .collect();
    assert!(
        console.is_empty(),
        "console output {when}:\n{}",
        console.join("\n")
    );
    assert_eq!(
        body_attribute(&run.stdout, "data-errors").as_deref(),
        Some("[]"),
        "errors {when}"
    );
    run.stdout
}

fn check_in_chromium(data: &ReportData, name: &str) {
    let Some(bin) = chromium() else {
        println!("SKIPPED: chromium is not installed (.ci/run installs it)");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let page = work.path().join("report.html");
    let html = report::html(data).expect("report renders");
    fs::write(&page, &html).unwrap();
    let shots = screenshot_dir();
    fs::write(shots.join(format!("{name}.html")), &html).unwrap();
    println!("{name}: report.html is {} bytes", html.len());

    let dom = &clean_dom(&bin, work.path(), "dom", &page, "on loading");
    assert_eq!(
        body_attribute(dom, "data-ready").as_deref(),
        Some("1"),
        "page not ready"
    );

    check_charts(dom, data, DEFAULT_STAT);

    check_interaction(&bin, work.path(), &html, data);

    let height = page_height(data);
    for (shot, dark) in [(name.to_string(), false), (format!("{name}-dark"), true)] {
        let png_path = shots.join(format!("{shot}.png"));
        let _ = fs::remove_file(&png_path);
        let mut args = vec![
            format!("--window-size={SCREENSHOT_WIDTH},{height}"),
            format!("--screenshot={}", png_path.display()),
        ];
        if dark {
            args.push("--force-dark-mode".into());
        }
        args.push(file_url(&page));
        let run = run_chromium(&bin, work.path(), &shot, &args);
        assert!(
            run.status.success(),
            "screenshot failed: {:?}\n{}",
            run.status,
            run.stderr
        );
        let bytes = fs::read(&png_path).expect("screenshot written");
        let reader = png::Decoder::new(Cursor::new(bytes))
            .read_info()
            .expect("PNG header");
        let info = reader.info();
        assert_eq!(
            (info.width, info.height),
            (SCREENSHOT_WIDTH, height),
            "{shot} size"
        );
        println!("{shot}: screenshot at {}", png_path.display());
    }
}

#[test]
fn single_run_report_renders_in_chromium() {
    check_in_chromium(&single_run(), "single-run");
}

#[test]
fn multi_run_report_renders_in_chromium() {
    check_in_chromium(&multi_run(), "multi-run");
}

/// The fixtures themselves cover what the Chromium tests claim to cover.
#[test]
fn fixtures_cover_every_mark() {
    let data = single_run();
    let marks: Vec<Mark> = data
        .charts
        .iter()
        .flat_map(|c| c.series.iter().map(|s| s.mark))
        .collect();
    for mark in [
        Mark::Scatter,
        Mark::Line,
        Mark::Step,
        Mark::Area,
        Mark::Bars,
        Mark::Band,
        Mark::Spans,
        Mark::ErrorBars,
        Mark::Marker,
    ] {
        assert!(marks.contains(&mark), "{mark:?} not covered");
    }
    assert!(data.charts.iter().any(|c| c.series.iter().any(|s| s.right)));
    assert!(data.charts.iter().any(|c| c.y.log));
    assert!(data.charts.iter().any(|c| c.note.is_some()));
    assert_eq!(multi_run().runs.len(), 3);
}

/// Report data `aiperf plot` built from real runs against the mock (a streamed run with
/// failures, timeslices, server metrics and two fake GPUs; a concurrency sweep with two trials
/// each), values rounded to 6 digits as `report.html` embeds them. Regenerate with
/// `aiperf plot DIR --serve --port P` and `curl http://127.0.0.1:P/data.json`.
fn mock_fixture(name: &str) -> ReportData {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn a_real_runs_report_renders_in_chromium() {
    let data = mock_fixture("mock_single_run.json");
    assert!(data.charts.iter().filter(|c| c.has_data()).count() >= 15);
    check_in_chromium(&data, "mock-single-run");
}

#[test]
fn a_real_sweeps_report_renders_in_chromium() {
    let data = mock_fixture("mock_sweep_with_trials.json");
    assert_eq!(data.runs.len(), 3);
    check_in_chromium(&data, "mock-sweep");
}
