//! `aiperf speed-bench-report`: a matrix report over SPEED-Bench category runs (speculative
//! decoding). Run by `crates/aiperf/src/speed_bench_cmd.rs`.

use clap::Args;

/// `aiperf speed-bench-report` flags.
#[derive(Debug, Clone, Default, Args)]
pub struct SpeedBenchReportArgs {}
