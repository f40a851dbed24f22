//! `aiperf analyze swim-lane` and `aiperf analyze turn-messages`, end to end: a short
//! benchmark against the in-process mock, then the built binary on its directory, and the
//! files checked with real decoders (PNG, XML, JSON, and Chromium when installed).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{json, Value};

/// `aiperf analyze SUB ARGS...`.
fn analyze(sub: &str, args: &[&str]) -> Output {
    aiperf()
        .arg("analyze")
        .arg(sub)
        .args(args)
        .output()
        .expect("aiperf runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The largest number of `[start, end)` intervals that hold at one instant, counted by hand:
/// at each start, the intervals that started at or before it and end after it.
fn max_overlap(iv: &[(u64, u64)]) -> usize {
    iv.iter()
        .map(|&(t, _)| iv.iter().filter(|&&(s, e)| s <= t && t < e).count())
        .max()
        .unwrap_or(0)
}

/// Every `<text>` of an SVG, trimmed.
fn svg_texts(path: &Path) -> Vec<String> {
    let svg = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("the SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .collect()
}

/// Width and height of a PNG, read by the `png` decoder (which also checks every chunk).
fn png_size(path: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader
        .next_frame(&mut buf)
        .expect("the PNG image data decodes");
    (info.width, info.height)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swim_lane_of_a_real_run_draws_its_peak_concurrency() {
    let mock = mock(5.0, 2.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::chat(&mock.url())
        .streaming()
        .concurrency(4)
        .request_count(24)
        .isl(8)
        .osl(6)
        .run(dir.path())
        .await
        .expect("the run finishes");
    assert_eq!(out.exit_code, 0);
    mock.stop().await;

    let records = read_jsonl(dir.path().join("profile_export.jsonl"));
    let iv: Vec<(u64, u64)> = records
        .iter()
        .map(|r| {
            let m = &r["metadata"];
            (
                m["request_start_ns"].as_u64().unwrap(),
                m["request_end_ns"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(iv.len(), 24);
    let peak = max_overlap(&iv);
    assert!(
        (1..=4).contains(&peak),
        "concurrency 4 never has more than 4 in flight: {peak}"
    );

    let d = dir.path().to_str().unwrap();
    let o = analyze("swim-lane", &[d, "-c", "4"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let png_path = dir.path().join("swim_lane.png");
    let svg_path = dir.path().join("swim_lane.svg");
    assert_eq!(
        text(&o.stdout),
        format!(
            "saved {}\nsaved {}\n",
            png_path.display(),
            svg_path.display()
        )
    );
    let (w, h) = png_size(&png_path);
    assert_eq!(w, 2000);
    assert!(h > 500 && h < 4000, "{h}");
    let texts = svg_texts(&svg_path);
    assert!(
        texts.contains(&format!("Active requests (peak {peak})")),
        "{texts:?}"
    );
    // Single-turn sessions: one per request, and greedy slot reuse needs exactly as many
    // slots as requests overlap at most.
    let title = texts
        .iter()
        .find(|t| t.contains("sessions across"))
        .unwrap();
    assert!(
        title.ends_with(&format!("24 sessions across {peak} slots")),
        "{title}"
    );
    assert!(
        texts.contains(&"Target concurrency (4)".to_string()),
        "{texts:?}"
    );
    // The benchmark-end marker comes from profile_export_aiperf.json.
    assert!(
        texts.iter().any(|t| t.starts_with("Benchmark end (")),
        "{texts:?}"
    );
}

/// One profile_export.jsonl line.
fn record(corr: &str, turn: u32, start_ms: u64, end_ms: u64, failed: bool) -> String {
    let mut v = json!({
        "metadata": {"x_correlation_id": corr, "conversation_id": corr, "turn_index": turn,
                     "request_start_ns": 1_700_000_000_000_000_000u64 + start_ms * 1_000_000,
                     "request_end_ns": 1_700_000_000_000_000_000u64 + end_ms * 1_000_000},
        "metrics": {"time_to_first_token": {"value": ((end_ms - start_ms) / 4) as f64, "unit": "ms"}}
    });
    if failed {
        v["error"] = json!({"code": 500, "type": "Internal Server Error", "message": "boom"});
        v["metrics"] = json!({});
    }
    v.to_string()
}

fn write_records(dir: &Path, lines: &[String]) {
    std::fs::write(dir.join("profile_export.jsonl"), lines.join("\n") + "\n").unwrap();
}

#[test]
fn swim_lane_hand_written_run_with_out_and_html() {
    // a: two turns [0,100) and [150,300); b: [50,120) failed; c: [310,400) reuses a slot.
    // Overlap counted by hand: at 50 a and b are in flight -> peak 2; 2 slots.
    let dir = tempfile::tempdir().unwrap();
    write_records(
        dir.path(),
        &[
            record("a", 0, 0, 100, false),
            record("a", 1, 150, 300, false),
            record("b", 0, 50, 120, true),
            record("c", 0, 310, 400, false),
        ],
    );
    let out = dir.path().join("pics").join("lanes.png");
    let d = dir.path().to_str().unwrap();
    let o = analyze(
        "swim-lane",
        &[d, "-o", out.to_str().unwrap(), "--html", "--ramp", "0.1"],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let svg = out.with_extension("svg");
    let html = out.with_extension("html");
    assert_eq!(png_size(&out).0, 2000);
    let texts = svg_texts(&svg);
    assert!(
        texts.contains(&"Active requests (peak 2)".to_string()),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.ends_with("3 sessions across 2 slots")),
        "{texts:?}"
    );
    assert!(texts.contains(&"Ramp done (0s)".to_string()), "{texts:?}");
    let svg_text = std::fs::read_to_string(&svg).unwrap().to_lowercase();
    assert!(
        svg_text.contains("#e5383b"),
        "the failed request is drawn in red"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.starts_with("<!DOCTYPE html>") && page.contains("<svg"),
        "{page:.200}"
    );
    assert!(!page.contains("<?xml"));
    assert_eq!(text(&o.stdout).lines().count(), 3);
}

#[test]
fn swim_lane_bad_input_is_one_line_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    // No records file.
    let o = analyze("swim-lane", &[d]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("profile_export.jsonl not found"), "{err}");
    // A malformed line: file:line.
    write_records(
        dir.path(),
        &[record("a", 0, 0, 10, false), "{\"metadata\": [".into()],
    );
    let o = analyze("swim-lane", &[d]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("profile_export.jsonl:2: "), "{err}");
    // --out with two directories is a usage error, as in AIPerf.
    let o = analyze("swim-lane", &[d, d, "-o", "/tmp/x.png"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--out only valid with a single run dir"));
    // No directory at all: clap's usage error.
    assert_eq!(analyze("swim-lane", &[]).status.code(), Some(2));
}

#[test]
fn swim_lane_of_100k_records_is_bounded_in_time_and_size() {
    // 25,000 sessions of 4 turns, 100 in flight at a time: session k starts at k*10 ms and
    // runs 4 back-to-back 250 ms turns (1 s), so 100 sessions overlap at every instant.
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::with_capacity(100_000 * 200);
    for k in 0..25_000u64 {
        for t in 0..4u64 {
            let s = k * 10 + t * 250;
            body.push_str(&record(&format!("s{k}"), t as u32, s, s + 250, k % 97 == 0));
            body.push('\n');
        }
    }
    std::fs::write(dir.path().join("profile_export.jsonl"), body).unwrap();
    let started = Instant::now();
    let o = analyze("swim-lane", &[dir.path().to_str().unwrap()]);
    let took = started.elapsed();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(took < Duration::from_secs(120), "{took:?} (debug build)");
    let svg = dir.path().join("swim_lane.svg");
    let size = std::fs::metadata(&svg).unwrap().len();
    assert!(size < 15_000_000, "{size} bytes of SVG");
    let texts = svg_texts(&svg);
    // Ends before starts: at k*10 ms, session k-100 ends as session k starts -> 100, never 101.
    assert!(
        texts.contains(&"Active requests (peak 100)".to_string()),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.ends_with("25000 sessions across 100 slots")),
        "{texts:?}"
    );
    let (_, h) = png_size(&dir.path().join("swim_lane.png"));
    assert!(h < 4000, "{h}");
}

// ---- turn-messages ----

/// One raw record (AIPerf's profile_export_raw.jsonl line).
fn raw(conv: &str, corr: &str, turn: u32, start: u64, messages: Value) -> String {
    json!({
        "metadata": {"conversation_id": conv, "x_correlation_id": corr, "turn_index": turn,
                     "request_start_ns": start, "request_end_ns": start + 10,
                     "benchmark_phase": "profiling", "agent_depth": 0, "was_cancelled": false},
        "start_perf_ns": 1, "request_headers": {"Authorization": "<redacted>"}, "status": 200,
        "responses": [{"perf_ns": 2, "packets": [{"name": "data", "value": "{}"}]}],
        "payload": {"model": "m<1>", "max_tokens": 8, "stream": true, "messages": messages}
    })
    .to_string()
}

const EVIL: &str = "</script><script>window.PWNED=1</script><img src=x onerror=\"window.PWNED=2\">";

/// The embedded data of a turn-messages page.
fn payload(page: &str) -> Value {
    let open = "<script id=\"payload\" type=\"application/json\">";
    let start = page.find(open).expect("payload script") + open.len();
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end]).expect("the payload is JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turn_messages_without_raw_export_says_to_rerun_with_raw() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::chat(&mock.url())
        .concurrency(2)
        .request_count(4)
        .isl(8)
        .osl(4)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    mock.stop().await;
    let o = analyze("turn-messages", &[dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--export-level raw"), "{err}");
    assert!(!dir.path().join("turn_messages.html").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turn_messages_of_a_raw_run_when_the_engine_writes_one() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let run = Profile::chat(&mock.url())
        .concurrency(2)
        .request_count(6)
        .isl(8)
        .osl(4)
        .arg("--export-level", "raw")
        .run(dir.path())
        .await;
    mock.stop().await;
    let raw_file = dir.path().join("profile_export_raw.jsonl");
    match run {
        Ok(out) if out.exit_code == 0 && raw_file.is_file() => {}
        other => {
            eprintln!(
                "skipped: this build does not write profile_export_raw.jsonl yet ({:?})",
                other.map(|o| o.exit_code)
            );
            return;
        }
    }
    let o = analyze("turn-messages", &[dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let page = std::fs::read_to_string(dir.path().join("turn_messages.html")).unwrap();
    let p = payload(&page);
    // Six single-turn conversations, each with one user message.
    assert_eq!(p["convs"].as_array().unwrap().len(), 6, "{p}");
    for c in p["convs"].as_array().unwrap() {
        assert_eq!(c["turns"].as_array().unwrap().len(), 1);
        assert_eq!(c["turns"][0]["ids"].as_array().unwrap().len(), 1);
    }
}

#[test]
fn turn_messages_hand_written_raw_file_is_escaped_and_limited() {
    let dir = tempfile::tempdir().unwrap();
    let u0 = json!({"role": "user", "content": EVIL});
    let a0 = json!({"role": "assistant", "content": "fine & <dandy>"});
    let u1 = json!({"role": "user", "content": "more"});
    let lines = [
        raw("conv-<b>", "x1", 0, 100, json!([u0])),
        raw("conv-<b>", "x1", 1, 200, json!([u0, a0, u1])),
        raw(
            "other",
            "x2",
            0,
            50,
            json!([{"role": "system", "content": "s"}, u0]),
        ),
        String::new(),
    ];
    std::fs::write(
        dir.path().join("profile_export_raw.jsonl"),
        lines.join("\n"),
    )
    .unwrap();
    let out = dir.path().join("view.html");
    let d = dir.path().to_str().unwrap();
    let o = analyze(
        "turn-messages",
        &[d, "-o", out.to_str().unwrap(), "-n", "1"],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).starts_with(&format!("saved {} (", out.display())));
    let page = std::fs::read_to_string(&out).unwrap();
    // The only scripts are ours: the user text never appears unescaped.
    assert_eq!(page.matches("<script").count(), 2, "payload + viewer");
    assert!(!page.contains("PWNED=1</script>"));
    assert!(!page.contains("<img"));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no network"
    );
    let p = payload(&page);
    // -n 1: only the earliest conversation ("other", starts at 50) is shown.
    assert_eq!(p["convs"].as_array().unwrap().len(), 1);
    assert_eq!(p["convs"][0]["id"], "other");
    assert_eq!(p["msgs"][1]["body"], EVIL);
    assert_eq!(
        p["stat"],
        "2 conversations (1 shown) \u{b7} 3 turns \u{b7} 6 message refs (2 unique) \u{b7} from 1 raw shard(s)"
    );

    // All conversations, rendered by a real browser.
    let full = dir.path().join("full.html");
    let o = analyze("turn-messages", &[d, "-o", full.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let p = payload(&std::fs::read_to_string(&full).unwrap());
    assert_eq!(p["convs"][1]["disp"], "conv-<b>\u{2026}");
    assert_eq!(p["convs"][1]["turns"][1]["ids"], json!([1, 2, 3]));
    browser_check(&full);
}

#[test]
fn turn_messages_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    std::fs::write(
        dir.path().join("profile_export_raw.jsonl"),
        format!("{}\nnot json\n", raw("c", "x", 0, 1, json!([]))),
    )
    .unwrap();
    let o = analyze("turn-messages", &[d]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("profile_export_raw.jsonl:2: "), "{err}");
    let o = analyze("turn-messages", &[d, d, "--out", "x.html"]);
    assert_eq!(o.status.code(), Some(2));
    let o = analyze("turn-messages", &["/nonexistent/run"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("/nonexistent/run"));
}

/// Chromium (`AIPERF_CHROMIUM` or `chromium` on PATH), if it runs.
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
        .is_ok_and(|s| s.success());
    ok.then_some(bin)
}

/// Loads the page with everything expanded (`#expand-all`) and checks the rendered DOM: the
/// hostile message is visible as text, no element of it exists, and the script did not run.
fn browser_check(page: &Path) {
    let Some(bin) = chromium() else {
        eprintln!("skipped the browser check: no chromium (set AIPERF_CHROMIUM)");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let dom_path = work.path().join("dom.html");
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!(
            "--user-data-dir={}",
            work.path().join("profile").display()
        ))
        .arg(format!("file://{}#expand-all", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&dom_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let dom = std::fs::read_to_string(&dom_path).unwrap();
    let body = &dom[dom.find("<body").expect("a body")..];
    let body = &body[..body.find("<script").unwrap_or(body.len())];
    assert!(
        body.contains("&lt;/script&gt;&lt;script&gt;window.PWNED=1&lt;/script&gt;&lt;img src=x"),
        "the message is shown as text: {body:.3000}"
    );
    assert!(!body.contains("<img"), "{body:.3000}");
    assert!(body.contains("fine &amp; &lt;dandy&gt;"), "{body:.3000}");
    assert!(body.contains("conv-&lt;b&gt;"), "{body:.3000}");
    assert!(
        body.contains("3 messages"),
        "turn 1 of conv-<b> lists its 3 messages"
    );
}
