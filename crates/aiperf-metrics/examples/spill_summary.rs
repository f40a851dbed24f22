//! Memory and time of summarising a long run with spilled values.
//!
//! `cargo run --release -p aiperf-metrics --example spill_summary -- [requests] [osl] [memory]`
//! (`memory`: no spill file, every value kept in RAM, for comparison)
//! prints RSS after accumulating, the peak during the summary, and how long each took.

use std::time::Instant;

use aiperf_metrics::record::RecordMetrics;
use aiperf_metrics::spill::Spill;
use aiperf_metrics::{Accumulator, Applicability, RecordInput};

fn status(field: &str) -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let requests: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let osl: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);
    let run = Applicability::STREAMED_CHAT;
    let in_memory = args.next().is_some_and(|a| a == "memory");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut acc = Accumulator::new(run);
    if !in_memory {
        acc = acc.with_spill(Spill::create_in(dir.path()).expect("spill"));
    }
    let base = status("VmRSS:");
    let t0 = Instant::now();
    let mut x = 1u64;
    let mut content = Vec::with_capacity(osl as usize);
    for i in 0..requests {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let start = i * 100_000;
        let first = start + 1_000_000 + (x >> 44);
        content.clear();
        content.extend((0..osl).map(|k| first + k * (200_000 + (x >> 50))));
        let m = RecordMetrics::of_success(&RecordInput {
            start_ns: start,
            end_ns: *content.last().unwrap_or(&first),
            content_ns: &content,
            input_tokens: Some(128),
            output_tokens: Some(osl),
            ..Default::default()
        })
        .expect("valid record");
        acc.add_success(&m, start);
    }
    let fill = t0.elapsed();
    let filled = status("VmRSS:");
    let t1 = Instant::now();
    let summary = acc.summarize();
    println!(
        "{requests} requests, OSL {osl}: accumulate {:.2} s ({:.0} ns/request), summarize {:.2} s; RSS {base:.1} MiB at start, {filled:.1} MiB filled, peak {:.1} MiB; {} metrics",
        fill.as_secs_f64(),
        fill.as_nanos() as f64 / requests as f64,
        t1.elapsed().as_secs_f64(),
        status("VmHWM:"),
        summary.results.len()
    );
}
