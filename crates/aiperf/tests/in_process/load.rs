//! Load generation end to end, checked against the mock server's own arrival times.

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constant_rate_is_sent_on_schedule() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    Profile::new("m", &url)
        .request_rate(50)
        .arg("--arrival-pattern", "constant")
        .request_count(20)
        .isl(8)
        .osl(2)
        .run(dir.path())
        .await
        .unwrap();
    // Server-side truth: one request every 20 ms.
    let t = arrivals_ms(&mock);
    assert_eq!(t.len(), 20);
    for (i, got) in t.iter().enumerate() {
        let want = 20.0 * i as f64;
        assert!(
            (got - want).abs() < 15.0,
            "request {i} arrived at {got:.2} ms, scheduled {want} ms: {t:?}"
        );
    }
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    let load = &s["load_report"];
    assert_eq!(load["mode"], "request_rate");
    assert_eq!(load["requested_request_rate"], 50.0);
    assert_close(
        load["scheduled_request_rate"].as_f64().unwrap(),
        50.0,
        1e-6,
        "20 requests over 400 ms",
    );
    let achieved = load["achieved_request_rate"].as_f64().unwrap();
    assert!((achieved - 50.0).abs() < 2.0, "achieved {achieved}");
    // Behaviour, not speed (the benchmark measures precision): on a loaded CI box the pacer may
    // wake late, but never by more than a fraction of the 20 ms interval.
    assert!(
        stat(&s, "schedule_lateness", "p99") < 15.0,
        "pacer lateness p99"
    );
    assert!(s["client_bound"]["verdict"].is_boolean());
    // The event-loop probe ran for the whole phase (400 ms at one probe per 10 ms).
    let lag = load["event_loop_lag_p99_ms"].as_f64().unwrap();
    assert!((0.0..1000.0).contains(&lag), "event-loop lag p99 {lag}");
    assert!(load["event_loop_lag_max_ms"].as_f64().unwrap() >= lag);
    assert_eq!(
        s["client_bound"]["thresholds"]["event_loop_lag_p99_ms"],
        10.0
    );
    assert!(s["co_corrected_request_latency"].is_object());
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_schedule_replays_trace_timestamps() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.jsonl");
    std::fs::write(&trace, "{\"text\": \"a\", \"timestamp\": 1000}\n{\"text\": \"b\", \"timestamp\": 1100}\n\
        {\"text\": \"c\", \"timestamp\": 1250}\n{\"text\": \"d\", \"timestamp\": 1600}\n{\"text\": \"e\", \"timestamp\": 1605}\n")
        .unwrap();
    let url = mock.url();
    let out = Profile::new("m", &url)
        .input_file(trace.display(), "single_turn")
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!(
        out.request_count, 5,
        "auto-promoted to fixed schedule: every entry once"
    );
    // Entries 5 ms apart may overtake each other on separate connections: match by prompt.
    let t = arrivals_ms(&mock);
    let prompts: Vec<String> = mock
        .requests()
        .iter()
        .map(|r| {
            r.json().unwrap()["messages"][0]["content"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for (prompt, want) in [
        ("a", 0.0),
        ("b", 100.0),
        ("c", 250.0),
        ("d", 600.0),
        ("e", 605.0),
    ] {
        let i = prompts.iter().position(|p| p == prompt).unwrap();
        assert!(
            (t[i] - want).abs() < 15.0,
            "{prompt} arrived at {:.2} ms, trace says {want} ms: {t:?}",
            t[i]
        );
    }
    let s = read_json(dir.path().join("run/profile_export_aiperf.json"));
    assert_eq!(s["load_report"]["mode"], "fixed_schedule");
    mock.stop().await;

    // Start/end offsets select a window: entries at 1100..=1600 ms, zero at 1100.
    let mock2 = crate::common::mock(0.0, 0.0).await;
    let url = mock2.url();
    let out = Profile::new("m", &url)
        .arg("--input-file", trace.display())
        .flag("--fixed-schedule")
        .arg("--fixed-schedule-start-offset", 1100)
        .arg("--fixed-schedule-end-offset", 1600)
        .run(&dir.path().join("run2"))
        .await
        .unwrap();
    assert_eq!(out.request_count, 3);
    let t = arrivals_ms(&mock2);
    assert!((t[2] - 500.0).abs() < 15.0, "{t:?}");
    mock2.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrency_cap_delays_sends_and_co_correction_shows_it() {
    // 100 req/s offered, but at most one in flight and each takes ~30 ms: requests queue.
    let mock = mock(30.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    Profile::new("m", &url)
        .streaming()
        .request_rate(100)
        .arg("--arrival-pattern", "constant")
        .concurrency(1)
        .request_count(10)
        .isl(8)
        .osl(1)
        .run(dir.path())
        .await
        .unwrap();
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    let lat = stat(&s, "request_latency", "avg");
    let co = stat(&s, "co_corrected_request_latency", "avg");
    assert!(
        co > lat + 30.0,
        "queueing behind the cap must show: latency {lat}, corrected {co}"
    );
    assert!(
        stat(&s, "send_lateness", "max") > 100.0,
        "the 10th request waited ~200 ms for a slot"
    );
    assert!(
        stat(&s, "schedule_lateness", "p99") < 15.0,
        "but the pacer itself was on time"
    );
    assert!(
        stat(&s, "co_corrected_time_to_first_token", "avg")
            > stat(&s, "time_to_first_token", "avg")
    );
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_requests_are_error_records() {
    let mock = mock(300.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    let out = Profile::new("m", &url)
        .streaming()
        .concurrency(4)
        .request_count(12)
        .isl(8)
        .osl(1)
        .arg("--request-cancellation-rate", 50)
        .arg("--request-cancellation-delay", 0.05)
        .seed(3)
        .run(dir.path())
        .await
        .unwrap();
    assert!(
        out.error_count > 0 && out.request_count > 0,
        "{} ok / {} cancelled",
        out.request_count,
        out.error_count
    );
    assert_eq!(out.request_count + out.error_count, 12);
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    let e = &s["error_summary"][0]["error_details"];
    assert_eq!(e["code"], 499);
    assert_eq!(e["type"], "RequestCancellationError");
    assert_eq!(e["message"], "Request cancelled 0.050s after being sent");
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_ramp_staggers_the_first_sessions() {
    // Long requests keep every session busy, so the first arrival of each shows the ramp.
    let mock = mock(600.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    Profile::new("m", &url)
        .concurrency(4)
        .arg("--concurrency-ramp-duration", 0.3)
        .request_count(4)
        .isl(8)
        .osl(1)
        .run(dir.path())
        .await
        .unwrap();
    let t = arrivals_ms(&mock);
    for (got, want) in t.iter().zip([0.0, 100.0, 200.0, 300.0]) {
        assert!(
            (got - want).abs() < 25.0,
            "arrived {got:.1} ms, ramp says {want} ms: {t:?}"
        );
    }
    mock.stop().await;
}
