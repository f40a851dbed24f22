//! `aiperf`: parse the command line, run, print, and pick the exit code.
//!
//! Exit codes follow AIPerf: 0 success, 1 for invalid configuration, set-up failures and runs in
//! which every request failed, 130 when interrupted (artifacts are still written).

use std::io::IsTerminal;
use std::process::ExitCode;

use aiperf_config::{Cli, Command, ProfileConfig, UiType};

/// mimalloc: the client and mock allocate many small short-lived buffers per request; glibc's
/// malloc/free showed up as ~25 % of client CPU in `perf` (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::Parser;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let cli = Cli::parse();
    match cli.command {
        Command::Profile(args) => {
            let cfg = match ProfileConfig::resolve(*args, &argv) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("aiperf: {e}");
                    return ExitCode::from(1);
                }
            };
            init_logging(&cfg.log_level);
            let ui = cfg.ui.unwrap_or(if std::io::stderr().is_terminal() {
                UiType::Simple
            } else {
                UiType::None
            });
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("aiperf: cannot start the async runtime: {e}");
                    return ExitCode::from(1);
                }
            };
            match runtime.block_on(aiperf_engine::run_profile(cfg, ui)) {
                Ok(outcome) => {
                    println!("{}", outcome.console);
                    ExitCode::from(outcome.exit_code.clamp(0, 255) as u8)
                }
                Err(e) => {
                    eprintln!("aiperf: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

fn init_logging(level: &str) {
    let filter = match level {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "WARNING" => "warn",
        "ERROR" | "CRITICAL" => "error",
        _ => "info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("AIPERF_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{filter},hyper=warn,tokenizers=warn"))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
