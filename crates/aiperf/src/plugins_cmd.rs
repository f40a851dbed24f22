//! `aiperf plugins`: packages, categories, entries, details, validation.

use std::process::ExitCode;

use aiperf_config::PluginsArgs;
use aiperf_plugins::Registry;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(120);
    t.set_header(header.to_vec());
    t
}

/// AIPerf 0.13's plugin categories without entries here, and why: nothing to pick in one
/// process, or built but chosen by its own flag.
const NOT_APPLICABLE: [(&str, &str); 13] = [
    ("service", "one process: no services to start"),
    ("service_manager", "one process: nothing to manage"),
    ("api_router", "no status API; `aiperf watch` and --metrics-listen instead"),
    ("communication", "no ZMQ: stages talk over in-process channels"),
    ("communication_client", "no ZMQ: stages talk over in-process channels"),
    ("zmq_proxy", "no ZMQ"),
    ("dataset_backing_store", "the dataset is prepared in memory, once per run"),
    ("dataset_client_store", "workers share the prepared dataset directly"),
    ("record_observer", "see stream_exporter: record taps on the processor thread"),
    ("analyzer", "post-run views are subcommands (`aiperf analyze`, `compare`, `plot`)"),
    (
        "dataset_composer, public_dataset_loader",
        "built, picked by --input-file / --public-dataset (docs/public-datasets.md), not yet entries",
    ),
    ("plot", "built, picked by `aiperf plot` itself (docs/plots.md), not yet entries"),
    (
        "search_recipe, search_recipe_post_process, convergence_criterion",
        "built, picked by --search-recipe / --convergence-* (docs/search.md), not yet entries",
    ),
];

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Runs the subcommand; prints to stdout, errors to stderr.
pub fn run(args: &PluginsArgs, registry: &Registry) -> ExitCode {
    match render(args, registry) {
        Ok((text, ok)) => {
            print!("{text}");
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("aiperf: {e}");
            ExitCode::from(1)
        }
    }
}

/// The text to print and whether the command succeeded.
pub fn render(
    args: &PluginsArgs,
    registry: &Registry,
) -> Result<(String, bool), aiperf_plugins::PluginError> {
    if args.validate {
        let mut problems = registry.validate_all(&aiperf_engine::is_builtin_implementation);
        problems.extend(registry.warnings().iter().map(|w| format!("warning: {w}")));
        let entries: usize = registry
            .categories()
            .map(|c| registry.all_entries(&c.name).len())
            .sum();
        return Ok(if problems.is_empty() {
            (format!("All {entries} plugin entries are valid.\n"), true)
        } else {
            (problems.iter().map(|p| format!("{p}\n")).collect(), false)
        });
    }
    match (&args.category, &args.name) {
        (None, _) if args.all => {
            let mut out = String::new();
            for c in registry.categories() {
                out.push_str(&format!("{} — {}\n", c.name, first_line(&c.description)));
                out.push_str(&category_table(registry, &c.name).to_string());
                out.push_str("\n\n");
            }
            out.push_str("AIPerf categories with no counterpart here\n");
            let mut t = table(&["Category", "Why"]);
            for (name, why) in NOT_APPLICABLE {
                t.add_row(vec![name, why]);
            }
            out.push_str(&format!("{t}\n"));
            Ok((out, true))
        }
        (None, _) => {
            let mut t = table(&["Package", "Version", "Plugins", "Manifests"]);
            for p in registry.packages() {
                let count: usize = registry
                    .categories()
                    .map(|c| {
                        registry
                            .all_entries(&c.name)
                            .iter()
                            .filter(|e| e.package == p.name)
                            .count()
                    })
                    .sum();
                t.add_row(vec![
                    p.name.clone(),
                    p.version.clone(),
                    count.to_string(),
                    p.manifests.join("\n"),
                ]);
            }
            Ok((
                format!(
                    "{t}\n\nCategories: {}\n",
                    registry
                        .categories()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                true,
            ))
        }
        (Some(cat), None) => {
            let c = registry.category(cat)?;
            let flag = c
                .flag
                .as_deref()
                .map(|f| format!(" (chosen with {f})"))
                .unwrap_or_default();
            Ok((
                format!(
                    "{}{flag}: {}\n{}\n",
                    c.name,
                    c.description,
                    category_table(registry, cat)
                ),
                true,
            ))
        }
        (Some(cat), Some(name)) => {
            let e = registry.get(cat, name)?;
            let mut lines = vec![
                format!("Type: {}", e.name),
                format!("Category: {}", e.category),
                format!("Package: {}", e.package),
                format!("Implementation: {}", e.implementation),
                format!("Priority: {}", e.priority),
                format!("Source: {}", e.source),
            ];
            let shadowed: Vec<String> = registry
                .all_entries(cat)
                .iter()
                .filter(|o| o.name == e.name && o.implementation != e.implementation)
                .map(|o| format!("{} ({})", o.implementation, o.package))
                .collect();
            if !shadowed.is_empty() {
                lines.push(format!("Shadows: {}", shadowed.join(", ")));
            }
            if e.metadata.as_object().is_some_and(|m| !m.is_empty()) {
                lines.push(format!(
                    "Metadata: {}",
                    serde_json::to_string_pretty(&e.metadata).unwrap_or_default()
                ));
            }
            lines.push(String::new());
            lines.push(e.description.clone());
            let mut t = table(&[&e.full_name()]);
            t.add_row(vec![lines.join("\n")]);
            Ok((format!("{t}\n"), true))
        }
    }
}

fn category_table(registry: &Registry, category: &str) -> Table {
    let mut t = table(&["Name", "Package", "Description"]);
    for e in registry.iter(category) {
        t.add_row(vec![
            e.name.clone(),
            e.package.clone(),
            first_line(&e.description).to_string(),
        ]);
    }
    t
}
