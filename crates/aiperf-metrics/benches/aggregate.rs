//! Record building and metric aggregation (issue 9).
//!
//! `cargo bench -p aiperf-metrics --bench aggregate`

use aiperf_metrics::record::RecordMetrics;
use aiperf_metrics::spill::Spill;
use aiperf_metrics::{Accumulator, Applicability, RecordInput};
use divan::Bencher;

fn main() {
    divan::main();
}

const RUN: Applicability = Applicability::STREAMED_CHAT;

/// Content-chunk times of a streamed answer of `osl` tokens (TTFT 20 ms, ITL 5 ms + jitter).
fn chunks(i: u64, osl: u64) -> Vec<u64> {
    (0..osl)
        .map(|k| 20_000_000 + k * 5_000_000 + (i * 7919 + k * 104_729) % 300_000)
        .collect()
}

fn record(i: u64, content: &[u64]) -> RecordMetrics {
    RecordMetrics::of_success(&RecordInput {
        start_ns: 0,
        end_ns: *content.last().unwrap_or(&0),
        content_ns: content,
        input_tokens: Some(128),
        output_tokens: Some(content.len() as u64),
        requested_osl: Some(content.len() as u64),
        ..Default::default()
    })
    .unwrap_or_else(|| panic!("record {i} has no metrics"))
}

/// Every per-request metric of one streamed answer (OSL 64).
#[divan::bench]
fn build_record(bencher: Bencher) {
    let content = chunks(1, 64);
    bencher.bench(|| record(1, divan::black_box(&content)));
}

/// Folding one record into the run (in memory, then with the spill file).
#[divan::bench(args = [false, true])]
fn accumulate(bencher: Bencher, spill: bool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut acc = Accumulator::new(RUN);
    if spill {
        acc = acc.with_spill(Spill::create_in(dir.path()).expect("spill file"));
    }
    let m = record(1, &chunks(1, 64));
    let mut start = 0u64;
    bencher.bench_local(|| {
        start += 1_000_000;
        acc.add_success(divan::black_box(&m), start);
    });
}

/// The end-of-run summary of 100,000 requests (OSL 16): every value in memory; spilled and read
/// back whole (the default below a million values per column); spilled and read by passes (the
/// bounded-memory path longer runs take).
#[divan::bench(args = ["memory", "spilled", "passes"], sample_count = 5, sample_size = 1)]
fn summarize_100k(bencher: Bencher, mode: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut acc = Accumulator::new(RUN);
    if mode != "memory" {
        acc = acc.with_spill(Spill::create_in(dir.path()).expect("spill file"));
    }
    if mode == "passes" {
        acc = acc.with_load_limit(0);
    }
    for i in 0..100_000u64 {
        let m = record(i, &chunks(i, 16));
        acc.add_success(&m, i * 100_000);
    }
    bencher.bench_local(|| acc.summarize());
}
