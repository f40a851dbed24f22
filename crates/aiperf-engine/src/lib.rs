//! Engine: runs benchmarks from a validated config to written artifacts, as many times as a
//! caller asks ([`Engine::run`]).
//!
//! ```text
//! engine.rs        orchestrates the stages below, caches tokenizer and dataset across runs
//!   prepare.rs     tokenizer, dataset, exact request bodies
//!   setup.rs       reach the servers, create the artifact dir, inputs.json, record writer
//!   plan.rs        phases, load modes, schedules (pure)
//!   phases.rs      per phase: workers pull credits, send, stamp        worker.rs, session.rs
//!                    (--prefill-concurrency slots: prefill.rs)
//!                    -> RawRecord over a channel                        backlog.rs
//!   process.rs     record processor thread: parse, count tokens, per-record metrics,
//!                  JSONL line, accumulate
//!   report.rs      the run report; exporters.rs writes every artifact
//!   network.rs     --network-latency-*: round-trip probes beside the phases
//! multi_run.rs     a sweep or repeated trials: runs in order, cool-downs, aggregates
//! search.rs        --search-recipe and the generic --search-space search; planners in search/
//!                    (Gaussian-process EI, monotonic_sla, smooth_isotonic)
//! scrape.rs        --server-metrics, --gpu-telemetry: Prometheus pages read beside the phases
//! gpu.rs           the DCGM pages turned into per-GPU summaries and power efficiency
//! publish/        the run beyond its artifacts: OTLP, --metrics-listen, MLflow, W&B
//! observe.rs       what a caller or UI sees: phase snapshots (snapshot.rs), ui/ implements it
//! ```
//!
//! The request path (worker) only stamps times and keeps bytes; parsing and tokenizing run on the
//! processor thread, off the request path.

mod accuracy;
mod agentic_replay;
mod backlog;
mod budget;
mod clock_sync;
mod context;
mod control;
mod dag;
mod engine;
mod exporters;
pub mod external;
mod gpu;
mod merge;
mod multi_run;
mod network;
mod nvml;
mod observe;
mod phases;
mod plan;
mod prefill;
mod prepare;
mod process;
mod public_dataset;
mod publish;
mod readiness;
mod report;
mod scrape;
mod search;
pub mod session;
mod setup;
mod shard;
mod snapshot;
mod status;
mod stop;
pub mod ui;
pub mod worker;

pub use accuracy::load as accuracy_problems;
pub use context::{Cancellation, PhaseContext};
pub use engine::{Engine, RunOutcome};
pub use merge::{merge, MergeOptions, MergeOutcome};
pub use multi_run::{post_process, RunRecord, SetOutcome};
pub use observe::{Observer, Silent};
pub use plan::{PlannedPhase, ReplayOrder, RunPlan};
pub use publish::upload_to_mlflow_run;
pub use search::{Answer, Bracket, Probe, SearchOutcome};
pub use shard::MANIFEST as SHARD_MANIFEST;
pub use snapshot::PhaseSnapshot;
pub use stop::{Interrupted, StopSignal};

/// Built-ins of the load categories, which config maps to typed values (`LoadMode`,
/// `ArrivalPattern`) rather than constructing from the entry.
const LOAD_BUILTINS: [(&str, &str); 5] = [
    ("timing_strategy", "aiperf_timing::CreditIssuer"),
    ("timing_strategy", "aiperf_timing::schedule::Schedule::rate"),
    (
        "timing_strategy",
        "aiperf_timing::schedule::Schedule::fixed",
    ),
    ("arrival_pattern", "aiperf_engine::worker::run_worker"),
    (
        "url_selection_strategy",
        "aiperf_engine::worker::RoundRobin",
    ),
];

/// Pieces that are not picked by a name in code (one of each, or chosen by a flag's own
/// parsing), listed so that `aiperf plugins` names every stage of the run.
const ONE_PROCESS_BUILTINS: [(&str, &str); 14] = [
    ("transport", "aiperf_transport::client::HttpClient"),
    ("console_exporter", "aiperf_export::console::render"),
    (
        "console_exporter",
        "aiperf_export::console::render_trace_timing",
    ),
    ("console_exporter", "aiperf_export::server_console::render"),
    (
        "stream_exporter",
        "aiperf_engine::publish::live::otel::OtelTap",
    ),
    (
        "stream_exporter",
        "aiperf_engine::publish::live::prom::PromStats",
    ),
    (
        "gpu_telemetry_collector",
        "aiperf_engine::scrape::gpu_targets",
    ),
    ("gpu_telemetry_collector", "aiperf_engine::nvml::start"),
    ("search_planner", "aiperf_engine::search::bayes::Bayes"),
    (
        "search_planner",
        "aiperf_engine::search::monotonic::Monotonic",
    ),
    (
        "search_planner",
        "aiperf_engine::search::smooth::SmoothIsotonic",
    ),
    ("record_processor", "aiperf_engine::process::spawn"),
    ("accumulator", "aiperf_metrics::accumulate::Accumulator"),
    ("ramp", "aiperf_timing::schedule::ramped_concurrency"),
];

/// Every built-in implementation this build has, by registry category, gathered from each
/// stage's table of built-ins (for `aiperf plugins --validate` and the manifest cross-check).
pub fn builtin_implementations() -> Vec<(&'static str, &'static str)> {
    let mut v = Vec::new();
    v.extend(
        aiperf_endpoints::BUILTINS
            .iter()
            .map(|(i, _)| ("endpoint", *i)),
    );
    v.extend(
        aiperf_dataset::sampling::BUILTINS
            .iter()
            .map(|(i, _)| ("dataset_sampler", *i)),
    );
    v.extend(
        aiperf_dataset::loader::BUILTINS
            .iter()
            .chain(&aiperf_dataset::public::speed_bench::BUILTINS)
            .map(|b| ("custom_dataset_loader", b.implementation)),
    );
    v.extend(
        aiperf_export::BUILTINS
            .iter()
            .map(|(i, _)| ("data_exporter", *i)),
    );
    v.extend(
        aiperf_timing::arrival::BUILTINS
            .iter()
            .map(|(i, _)| ("arrival_pattern", *i)),
    );
    v.extend(aiperf_config::UI_BUILTINS.iter().map(|(i, _)| ("ui", *i)));
    v.extend(LOAD_BUILTINS);
    v.extend(ONE_PROCESS_BUILTINS);
    v.extend(aiperf_accuracy::BUILTINS);
    v.push((
        "spec_decode_adapter",
        "aiperf_metrics::spec_decode::SpecDecode",
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
    use std::collections::{BTreeMap, BTreeSet};

    /// Each module (file) of this crate and the modules its non-test code names.
    fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        // Every `.rs` file, however deep (`publish/live/otel.rs` is `publish::live::otel`).
        let mut files = Vec::new();
        let mut dirs = vec![src.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        let name = |p: &std::path::Path| {
            let rel = p.strip_prefix(&src).unwrap().with_extension("");
            let rel = rel.to_string_lossy().replace('/', "::");
            rel.strip_suffix("::mod").unwrap_or(&rel).to_string()
        };
        let modules: BTreeSet<String> = files.iter().map(|p| name(p)).collect();
        let resolve = |path: &str| -> Option<String> {
            let segs: Vec<&str> = path.split("::").collect();
            (1..=segs.len().min(3))
                .rev()
                .map(|n| segs[..n].join("::"))
                .find(|m| modules.contains(m))
        };
        let mut graph = BTreeMap::new();
        for file in &files {
            let me = name(file);
            let text = std::fs::read_to_string(file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            let parent = me.rsplit_once("::").map(|(p, _)| p.to_string());
            let mut deps = BTreeSet::new();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                let mut paths = Vec::new();
                for (prefix, base) in [("crate::", None), ("super::", parent.as_deref())] {
                    for (i, _) in line.match_indices(prefix) {
                        let rest = &line[i + prefix.len()..];
                        let group: Vec<&str> = match rest.strip_prefix('{') {
                            Some(g) => g.split('}').next().unwrap_or("").split(',').collect(),
                            None => vec![rest],
                        };
                        for item in group {
                            let item: String = item
                                .trim()
                                .chars()
                                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                                .collect();
                            paths.push(match base {
                                Some(b) => format!("{b}::{item}"),
                                None => item,
                            });
                        }
                    }
                }
                for p in paths {
                    if let Some(m) = resolve(&p).filter(|m| *m != me && *m != "lib") {
                        deps.insert(m);
                    }
                }
            }
            graph.insert(me, deps);
        }
        graph
    }

    /// The engine's modules form a DAG: a reader can start at the leaves (stop, snapshot,
    /// backlog, prepare) and never meet a module that needs one they have not read yet.
    #[test]
    fn modules_have_no_import_cycles() {
        let graph = module_graph();
        assert!(graph["worker"].contains("session"), "the scan sees imports");
        assert!(
            graph["ui::dashboard"].contains("ui::live"),
            "the scan sees super::"
        );
        fn visit(
            m: &str,
            graph: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) {
            if done.contains(m) {
                return;
            }
            if let Some(i) = path.iter().position(|p| p == m) {
                panic!("import cycle: {} -> {m}", path[i..].join(" -> "));
            }
            path.push(m.to_string());
            for d in graph.get(m).into_iter().flatten() {
                visit(d, graph, path, done);
            }
            path.pop();
            done.insert(m.to_string());
        }
        let mut done = BTreeSet::new();
        for m in graph.keys() {
            visit(m, &graph, &mut Vec::new(), &mut done);
        }
    }

    /// Whether `path` (`crate_name::module::...::Item[::member]`) names an item defined in this
    /// workspace's source: a type, function, trait, constant or re-export in the module's
    /// file, and, for a member, a function or enum variant of that name in the same file.
    fn names_a_real_item(path: &str) -> Result<(), String> {
        let segs: Vec<&str> = path.split("::").collect();
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut file = crates.join(segs[0].replace('_', "-")).join("src/lib.rs");
        let mut dir = file.parent().map(|d| d.to_path_buf()).unwrap_or_default();
        let mut rest = &segs[1..];
        while let Some(seg) = rest.first() {
            let (flat, nested) = (dir.join(format!("{seg}.rs")), dir.join(seg).join("mod.rs"));
            let next = [flat, nested].into_iter().find(|p| p.is_file());
            let Some(next) = next else { break };
            dir = dir.join(seg);
            file = next;
            rest = &rest[1..];
        }
        let text = std::fs::read_to_string(&file).map_err(|e| format!("{path}: {e}"))?;
        let defines = |name: &str, kinds: &[&str]| {
            text.lines().any(|l| {
                let words: Vec<&str> = l
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .filter(|w| !w.is_empty())
                    .collect();
                words
                    .windows(2)
                    .any(|w| kinds.contains(&w[0]) && w[1] == name)
                    || (l.trim_start().starts_with("pub use") && words.last() == Some(&name))
            })
        };
        let item_kinds = ["struct", "enum", "fn", "trait", "type", "const", "static"];
        let variant = |name: &str| {
            text.lines().any(|l| {
                let t = l.trim_start();
                t.strip_prefix(name)
                    .is_some_and(|r| r.starts_with([',', ' ', '{', '(']) || r.is_empty())
            })
        };
        match rest {
            [item] if defines(item, &item_kinds) => Ok(()),
            [item, member]
                if defines(item, &item_kinds) && (defines(member, &["fn"]) || variant(member)) =>
            {
                Ok(())
            }
            _ => Err(format!("{path}: no such item in {}", file.display())),
        }
    }

    #[test]
    fn every_builtin_implementation_names_a_real_item() {
        let registry = aiperf_plugins::Registry::builtin();
        let mut problems = Vec::new();
        for category in registry.categories() {
            for entry in registry.iter(&category.name) {
                if let Err(e) = names_a_real_item(&entry.implementation) {
                    problems.push(format!("{}:{}: {e}", category.name, entry.name));
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
        // The check can fail: near misses are refused.
        for bad in [
            "aiperf_endpoints::chat::Chatt",
            "aiperf_endpoints::nope::Chat",
            "aiperf_timing::arrival::ArrivalPattern::Uniform",
            "aiperf_timing::schedule::Schedule::rated",
        ] {
            assert!(names_a_real_item(bad).is_err(), "{bad}");
        }
    }

    /// A built-in is named once in code (its stage's table) and once in `plugins.yaml`: a
    /// second match arm or list naming it would be one more place to touch when adding one.
    #[test]
    fn each_builtin_is_named_once_in_code() {
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut sources = Vec::new();
        let mut dirs = vec![crates.clone()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                let name = e.file_name().to_string_lossy().to_string();
                if p.is_dir() && name != "tests" && name != "target" {
                    dirs.push(p);
                } else if name.ends_with(".rs") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    let code = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
                    sources.push((p, code));
                }
            }
        }
        let mut problems = Vec::new();
        for (category, implementation) in builtin_implementations() {
            // The SPEED-Bench family is one generated table: its `builtins!` invocation names
            // each variant once, as an identifier.
            if let Some(name) =
                implementation.strip_prefix("aiperf_dataset::public::speed_bench::BUILTINS::")
            {
                let arm = format!("    {name} => ");
                let total: usize = sources.iter().map(|(_, c)| c.matches(&arm).count()).sum();
                if total != 1 {
                    problems.push(format!("{category}: {implementation}: {total} table rows"));
                }
                continue;
            }
            let quoted = format!("\"{implementation}\"");
            let places: Vec<String> = sources
                .iter()
                .filter(|(_, code)| code.contains(&quoted))
                .map(|(p, code)| format!("{} ({}x)", p.display(), code.matches(&quoted).count()))
                .collect();
            let total: usize = sources
                .iter()
                .map(|(_, c)| c.matches(&quoted).count())
                .sum();
            if total != 1 {
                problems.push(format!(
                    "{category}: {implementation} is named {total} times: {places:?}"
                ));
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }

    /// The recipes in `docs/architecture.md` stay within the issue's budgets, say how many places
    /// they list, and name paths that exist.
    #[test]
    fn recipes_stay_short() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let doc = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
        let budgets = [
            ("A flag that changes request bodies", 3),
            ("A flag for another stage", 4),
            ("A timing mode", 4),
            ("An endpoint type", 3),
            ("A metric", 2),
            ("A dataset format", 3),
            ("An exporter", 3),
            ("A sweepable flag", 2),
        ];
        for (title, budget) in budgets {
            let head = format!("### {title} (");
            let start = doc
                .find(&head)
                .unwrap_or_else(|| panic!("recipe '{title}' is missing"));
            let section = &doc[start..];
            let declared: usize = section[head.len()..]
                .split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("'{title}' does not say how many places"));
            let body = section[head.len()..]
                .split("\n### ")
                .next()
                .unwrap_or_default()
                .split("\n## ")
                .next()
                .unwrap_or_default();
            let steps: Vec<&str> = body
                .lines()
                .filter(|l| {
                    l.split_once(". `")
                        .is_some_and(|(n, _)| n.parse::<usize>().is_ok())
                })
                .collect();
            assert_eq!(steps.len(), declared, "'{title}' lists {steps:#?}");
            assert!(
                declared <= budget,
                "'{title}': {declared} places, budget {budget}"
            );
            for step in steps {
                let path = step.split('`').nth(1).unwrap_or_default();
                // `<name>` stands for the new item: its folder must exist.
                let path = path.split("<name>").next().unwrap_or_default();
                assert!(root.join(path).exists(), "'{title}': {path} does not exist");
            }
        }
    }

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
