//! Engine: runs one benchmark from a validated config to written artifacts.
//!
//! ```text
//! prepare (tokenizer, dataset, request bodies)      prepare.rs
//!   -> probe the server, create the artifact dir
//!   -> per phase: N workers pull credits, send, stamp  worker.rs
//!        -> RawRecord over a channel
//!   -> record processor thread: parse, count tokens,   process.rs
//!      per-record metrics, JSONL line, accumulate
//!   -> summary artifacts and console                  report.rs
//! ```
//!
//! The request path (worker) only stamps times and keeps bytes; parsing and tokenizing run on the
//! processor thread, off the request path.

mod prepare;
mod process;
mod report;
mod run;
mod worker;

pub use run::{run_profile, RunOutcome};
