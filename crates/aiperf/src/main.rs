//! `aiperf`: discover plugins, then run the command line.
//!
//! Exit codes follow AIPerf: 0 success, 1 for invalid configuration, set-up failures and runs in
//! which every request failed, 130 when interrupted (artifacts are still written).

use std::process::ExitCode;

/// mimalloc: the client and mock allocate many small short-lived buffers per request; glibc's
/// malloc/free showed up as ~30 % of client CPU in `perf` (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let registry = match aiperf::Registry::discover() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("aiperf: plugin manifest rejected: {e}");
            return ExitCode::from(1);
        }
    };
    aiperf::run(std::env::args().collect(), registry)
}
