//! `aiperf analyze swim-lane` and `aiperf analyze turn-messages`: views over a finished run.

use std::process::ExitCode;

use aiperf_config::AnalyzeCommand;

/// Runs the subcommand.
pub fn run(_cmd: &AnalyzeCommand) -> ExitCode {
    eprintln!("aiperf analyze: not built yet");
    ExitCode::from(1)
}
