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

mod backlog;
pub mod external;
mod prepare;
mod process;
mod readiness;
mod report;
mod run;
pub mod session;
pub mod ui;
pub mod worker;

pub use run::{run_profile, RunOutcome};

/// Every built-in implementation this build has, by registry category (for `aiperf plugins
/// --validate` and the manifest cross-check test).
pub fn builtin_implementations() -> Vec<(&'static str, &'static str)> {
    let mut v = Vec::new();
    v.extend(
        aiperf_endpoints::IMPLEMENTATIONS
            .iter()
            .map(|i| ("endpoint", *i)),
    );
    v.extend(
        aiperf_dataset::sampling::IMPLEMENTATIONS
            .iter()
            .map(|i| ("dataset_sampler", *i)),
    );
    v.extend(
        aiperf_dataset::loader::IMPLEMENTATIONS
            .iter()
            .map(|i| ("custom_dataset_loader", *i)),
    );
    v.extend(
        aiperf_export::IMPLEMENTATIONS
            .iter()
            .map(|i| ("data_exporter", *i)),
    );
    v.extend(ui::IMPLEMENTATIONS.iter().map(|i| ("ui", *i)));
    v.push(("timing_strategy", "aiperf_timing::CreditIssuer"));
    v.push(("timing_strategy", "aiperf_timing::schedule::Schedule::rate"));
    v.push((
        "timing_strategy",
        "aiperf_timing::schedule::Schedule::fixed",
    ));
    v.push(("arrival_pattern", "aiperf_engine::worker::run_worker"));
    v.push((
        "arrival_pattern",
        "aiperf_timing::arrival::ArrivalPattern::Constant",
    ));
    v.push((
        "arrival_pattern",
        "aiperf_timing::arrival::ArrivalPattern::Poisson",
    ));
    v.push((
        "arrival_pattern",
        "aiperf_timing::arrival::ArrivalPattern::Gamma",
    ));
    v.push((
        "url_selection_strategy",
        "aiperf_engine::worker::RoundRobin",
    ));
    v
}

/// Whether `implementation` is built in for `category`.
pub fn is_builtin_implementation(category: &str, implementation: &str) -> bool {
    builtin_implementations()
        .iter()
        .any(|(c, i)| *c == category && *i == implementation)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded manifest and the code agree: every built-in entry has an implementation, and
    /// every implementation is reachable through an entry.
    #[test]
    fn builtin_manifest_matches_implementations() {
        let registry = aiperf_plugins::Registry::builtin();
        let problems = registry.validate_all(&is_builtin_implementation);
        assert!(problems.is_empty(), "{problems:#?}");
        for (category, implementation) in builtin_implementations() {
            assert!(
                registry.find_name(category, implementation).is_some(),
                "{category}: implementation {implementation} is not in plugins.yaml"
            );
        }
        for category in registry.categories() {
            assert!(
                !registry.names(&category.name).is_empty(),
                "category {} has no entries",
                category.name
            );
        }
    }
}
