//! Suites that drive the built `aiperf` binary (`common::Profile::command`, `common::aiperf`):
//! exit codes, stderr, signals, the log file, the terminal UIs, and snapshots of `--help` and
//! of the configuration errors. One module per suite, one test binary.
//!
//! Each child gets its environment explicitly (nothing here calls `std::env::set_var` or
//! changes the current directory), and signals go to child processes only, so the tests run
//! in parallel.

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod dashboard;
mod distributed;
mod hostile;
mod logfile;
mod plot;
mod signals;
mod snapshots;
mod trace_tools;
