//! Shell completions: `aiperf completions SHELL`, and AIPerf's `--install-completion` /
//! `--show-completion` (recognised before parsing, in `lib.rs`).

use std::process::ExitCode;

use aiperf_config::CompletionsArgs;

/// `aiperf completions ...`.
pub fn run(_args: &CompletionsArgs) -> ExitCode {
    eprintln!("aiperf completions: not built yet");
    ExitCode::from(1)
}

/// `aiperf --install-completion [SHELL]` (`install`) or `--show-completion [SHELL]`; `argv`
/// is the whole command line.
pub fn legacy(argv: &[String], install: bool) -> ExitCode {
    let _ = (argv, install);
    eprintln!("aiperf: shell completion is not built yet");
    ExitCode::from(1)
}
