//! `aiperf speed-bench-report`: a matrix report over SPEED-Bench category runs.

use std::process::ExitCode;

use aiperf_config::SpeedBenchReportArgs;

/// Runs the subcommand.
pub fn run(_args: &SpeedBenchReportArgs) -> ExitCode {
    eprintln!("aiperf speed-bench-report: not built yet");
    ExitCode::from(1)
}
