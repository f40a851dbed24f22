//! `aiperf chat`: an interactive conversation with a server, timing each answer.

use std::process::ExitCode;

use aiperf_config::ChatArgs;

/// Runs the subcommand.
pub fn run(_args: &ChatArgs) -> ExitCode {
    eprintln!("aiperf chat: not built yet");
    ExitCode::from(1)
}
