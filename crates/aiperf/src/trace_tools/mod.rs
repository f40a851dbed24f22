//! `aiperf analyze-trace`, `aiperf validate` and `aiperf synthesize`: tools for trace files
//! (`docs/trace-tools.md`).

pub mod agentic;
pub mod analyze;
pub mod comparison;
mod lines;
pub mod synthesize;
pub mod validate;

use std::process::ExitCode;

use aiperf_config::{AnalyzeTraceArgs, SynthesizeArgs, ValidateArgs};

/// `aiperf analyze-trace`: the report on standard output, 1 with the reason on a bad file.
pub fn analyze(args: &AnalyzeTraceArgs) -> ExitCode {
    match analyze::run(args.input(), args.block_size, args.output_file.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aiperf: analyze-trace: {e}");
            ExitCode::from(1)
        }
    }
}

/// `aiperf validate`: AIPerf's verdict on standard output, 0 when the file passed.
pub fn validate(args: &ValidateArgs) -> ExitCode {
    debug_assert_eq!(args.target(), "mooncake-trace");
    if validate::run(&args.input) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `aiperf synthesize`: the run directory, or 1 with the reason before anything is written.
pub fn synthesize(args: &SynthesizeArgs) -> ExitCode {
    debug_assert_eq!(args.target(), "agentic-code");
    let req = synthesize::Request {
        num_sessions: args.num_sessions,
        output: &args.output,
        config: args.config.as_deref(),
        seed: args.seed,
        max_isl: args.max_isl,
        max_osl: args.max_osl,
    };
    match synthesize::run(&req) {
        Ok(written) => {
            synthesize::print_summary(&written);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("aiperf: synthesize: {e}");
            ExitCode::from(1)
        }
    }
}
