//! Snapshots of the summary artifacts (JSON, CSV, timeslices, console text) rendered from a
//! hand-made, deterministic run, so a renamed field, a reordered key or a changed number format
//! fails a test instead of silently breaking whoever parses AIPerf's files.
//!
//! Review a change with `cargo insta review` (or `INSTA_UPDATE=always cargo test -p aiperf-export`)
//! and commit the `.snap` files.

use aiperf_core::ErrorDetails;
use aiperf_export::input_config::{
    Artifacts, DatasetConfig, EndpointConfig, InputConfig, LoadConfig, MeanStddev, Phases,
    ProfilingPhase, Prompts, RunInfo, SyntheticDataset, TimingMode, TokenizerConfig, TurnDelay,
};
use aiperf_export::{ClientBound, Exporter, LoadReport, RunReport};
use aiperf_metrics::load::{LoadAnalysis, Spread};
use aiperf_metrics::{Accumulator, Applicability, RecordInput, RecordValues, Summary};
use serde_json::json;

/// Wall-clock origin of the fake run (epoch ns).
const T0: u64 = 1_700_000_000_000_000_000;
const MS: u64 = 1_000_000;

/// Three streamed successes and one failure, in two one-second timeslices.
fn summary() -> Summary {
    let mut acc = Accumulator::new(Applicability::STREAMED_CHAT).with_timeslices(T0, 1_000 * MS);
    let successes: [(u64, &[u64], u64, u64); 3] = [
        (0, &[20 * MS, 25 * MS, 31 * MS, 40 * MS], 12, 8),
        (300 * MS, &[15 * MS, 18 * MS, 22 * MS], 10, 6),
        (
            1_200 * MS,
            &[30 * MS, 34 * MS, 37 * MS, 41 * MS, 50 * MS],
            14,
            10,
        ),
    ];
    for (start, content, isl, osl) in successes {
        let end = *content.last().unwrap_or(&0);
        let v = RecordValues::of_success(&RecordInput {
            credit_issued_ns: 0,
            start_ns: 0,
            response_head_ns: Some(content[0] / 2),
            end_ns: end,
            content_ns: content,
            first_output_ns: Some(content[0]),
            input_tokens: Some(isl),
            output_tokens: Some(osl),
            ..Default::default()
        })
        .expect("ordered timestamps");
        acc.add_success(&v, T0 + start);
    }
    acc.add_error(&RecordValues::of_error(Some(9)), T0 + 700 * MS);
    acc.summarize()
}

/// The typed load analysis of the fake run: 4 requests meant for 0.4 s went out over 0.421 s
/// (5 % short) with a late p99, so the run is client-bound for two reasons.
fn load() -> LoadAnalysis {
    LoadAnalysis {
        requests_sent: 4,
        requested_rate: Some(10.0),
        scheduled_rate: Some(10.0),
        achieved_rate: Some(9.5),
        lateness: Spread {
            p50_ms: Some(0.25),
            p99_ms: Some(1.5),
            max_ms: Some(1.75),
        },
        event_loop_lag: Some(Spread {
            p50_ms: Some(0.5),
            p99_ms: Some(0.75),
            max_ms: Some(1.0),
        }),
        backlog_pauses: 0,
        backlog_paused_s: 0.0,
        cpu: None,
        reasons: vec![
            "achieved send rate 9.5 req/s is more than 1 % below the schedule's 10.0 req/s".into(),
            "schedule lateness p99 1.50 ms exceeds 1 ms".into(),
        ],
    }
}

fn input_config() -> InputConfig {
    InputConfig {
        models: vec!["mock-model".into()],
        endpoint: EndpointConfig {
            kind: "chat".into(),
            urls: vec!["http://127.0.0.1:8000".into()],
            custom_endpoint: None,
            streaming: true,
            timeout: 600.0,
            use_legacy_max_tokens: false,
            use_server_token_count: false,
            extra: json!({"temperature": 0.5})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            headers: [("x-trace", "on"), ("Authorization", "<redacted>")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            api_key: Some("<redacted>".into()),
        },
        tokenizer: TokenizerConfig {
            name: "org/placeholder-model".into(),
            revision: "main".into(),
            used: "builtin".into(),
            fallback: true,
            fallback_reason: Some(
                "Hugging Face Hub answered HTTP 404 for 'tokenizer.json' of \
                 'org/placeholder-model' at revision 'main': no such repo, revision or file"
                    .into(),
            ),
        },
        datasets: vec![DatasetConfig::Synthetic(Box::new(SyntheticDataset {
            entries: 100,
            sampling: "shuffle".into(),
            prompts: Prompts {
                isl: MeanStddev {
                    mean: 12.0,
                    stddev: 0.0,
                },
                osl: Some(MeanStddev {
                    mean: 8.0,
                    stddev: 0.0,
                }),
                batch_size: 1,
            },
            turns: MeanStddev {
                mean: 1.0,
                stddev: 0.0,
            },
            turn_delay_ms: TurnDelay {
                mean: 0.0,
                stddev: 0.0,
                ratio: 1.0,
            },
            prefix_prompts: None,
            shared_system_prompt_length: None,
            user_context_prompt_length: None,
            system_prompt: false,
            images: None,
            audio: None,
            video: None,
            rankings: None,
        }))],
        phases: Phases {
            warmup: None,
            profiling: ProfilingPhase {
                mode: TimingMode::RequestRate,
                concurrency: 1,
                requests: Some(4),
                sessions: None,
                duration: None,
                grace_period: None,
                load: LoadConfig::RequestRate {
                    request_rate: 10.0,
                    arrival_pattern: "poisson".into(),
                    arrival_smoothness: None,
                    max_concurrency: None,
                    ramp_duration: None,
                },
            },
        },
        artifacts: Artifacts {
            dir: "artifacts/run".into(),
        },
    }
}

/// A finished request-rate run over a synthetic dataset, as the engine reports it.
fn report() -> RunReport {
    let load = load();
    RunReport {
        summary: summary(),
        errors: vec![(
            ErrorDetails::new(Some(503), "Service Unavailable", "busy"),
            1,
        )],
        benchmark_id: "0123456789ab".into(),
        input_config: input_config(),
        run_info: RunInfo::new(
            "0123456789ab".into(),
            42,
            &Default::default(),
            "aiperf profile -m mock-model --streaming --request-rate 10".into(),
        ),
        was_cancelled: false,
        incomplete_reason: None,
        start_time: "2024-01-02T03:04:05.000006".into(),
        end_time: "2024-01-02T03:04:07.500000".into(),
        metrics_title: "LLM Metrics".into(),
        cli_command: "aiperf profile -m mock-model --streaming --request-rate 10".into(),
        load_report: LoadReport::new(TimingMode::RequestRate, &load),
        client_bound: ClientBound::from(&load),
        malformed_sse_events: 0,
        server_metrics: None,
        gpu_telemetry: None,
        shards: None,
        accuracy: None,
    }
}

/// The version written into the JSON changes with every release: not part of the layout.
fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(
        &format!(
            r#""aiperf_version": "{}""#,
            regex_escape(env!("CARGO_PKG_VERSION"))
        ),
        r#""aiperf_version": "[version]""#,
    );
    s.add_filter(r"/tmp/[^\s]+/", "[dir]/");
    s
}

fn regex_escape(s: &str) -> String {
    s.replace('.', r"\.")
}

#[test]
fn summary_json() {
    settings().bind(|| insta::assert_snapshot!(aiperf_export::json::render(&report())));
}

#[test]
fn summary_csv() {
    insta::assert_snapshot!(aiperf_export::csv_export::render(&report().summary));
}

#[test]
fn timeslices() {
    let r = report();
    assert_eq!(r.summary.timeslices.len(), 2, "two one-second windows");
    insta::assert_snapshot!(
        "timeslices_json",
        aiperf_export::timeslices::render_json(&r)
    );
    insta::assert_snapshot!("timeslices_csv", aiperf_export::timeslices::render_csv(&r));
}

#[test]
fn console_text() {
    let dir = std::path::Path::new("/artifacts/run");
    let text = aiperf_export::console::render(
        &report(),
        140,
        Some(&dir.join(aiperf_export::CSV_FILE)),
        Some(&dir.join(aiperf_export::JSON_FILE)),
    );
    insta::assert_snapshot!(text);
}

#[test]
fn written_files_match_the_renderers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let r = report();
    let out = aiperf_export::write_summary(dir.path(), &r, &Exporter::ALL, 140);
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    let console = out.console;
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).expect("written");
    assert_eq!(
        read(aiperf_export::JSON_FILE),
        aiperf_export::json::render(&r)
    );
    assert_eq!(
        read(aiperf_export::CSV_FILE),
        aiperf_export::csv_export::render(&r.summary)
    );
    assert_eq!(read(aiperf_export::CONSOLE_FILE), console);
    assert!(dir
        .path()
        .join(aiperf_export::timeslices::JSON_FILE)
        .is_file());
}
