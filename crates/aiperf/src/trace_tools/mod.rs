//! `aiperf analyze-trace`, `aiperf validate` and `aiperf synthesize`: tools for trace files.

use std::process::ExitCode;

use aiperf_config::{AnalyzeTraceArgs, SynthesizeArgs, ValidateArgs};

/// `aiperf analyze-trace`.
pub fn analyze(_args: &AnalyzeTraceArgs) -> ExitCode {
    eprintln!("aiperf: analyze-trace is not built yet");
    ExitCode::from(1)
}

/// `aiperf validate`.
pub fn validate(_args: &ValidateArgs) -> ExitCode {
    eprintln!("aiperf: validate is not built yet");
    ExitCode::from(1)
}

/// `aiperf synthesize`.
pub fn synthesize(_args: &SynthesizeArgs) -> ExitCode {
    eprintln!("aiperf: synthesize is not built yet");
    ExitCode::from(1)
}
