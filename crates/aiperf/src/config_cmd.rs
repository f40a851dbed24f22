//! `aiperf config init | validate | expand | schema`: YAML run files without running them.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use aiperf_config::resolve::Search;
use aiperf_config::{yaml, ConfigCommand, ProfileConfig};
use aiperf_plugins::Registry;

pub fn run(cmd: &ConfigCommand, registry: &Registry) -> ExitCode {
    match outcome(cmd, registry) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("aiperf config: {e}");
            ExitCode::from(1)
        }
    }
}

/// What the command prints, or why it failed (one line).
pub fn outcome(cmd: &ConfigCommand, registry: &Registry) -> Result<String, String> {
    match cmd {
        ConfigCommand::Init {
            list: true,
            category,
            verbose,
            ..
        } => list_templates(
            yaml::template_infos()
                .into_iter()
                .filter(|i| {
                    category
                        .as_ref()
                        .is_none_or(|c| i.category.eq_ignore_ascii_case(c))
                })
                .collect(),
            *verbose,
        ),
        ConfigCommand::Init {
            search: Some(keyword),
            verbose,
            ..
        } => {
            let hits: Vec<_> = yaml::template_infos()
                .into_iter()
                .filter(|i| i.matches(keyword))
                .collect();
            if hits.is_empty() {
                return Ok(format!(
                    "No templates match '{keyword}'.\nRun 'aiperf config init --list' to see all templates.\n"
                ));
            }
            list_templates(hits, *verbose)
        }
        ConfigCommand::Init {
            name,
            template,
            model,
            url,
            output,
            ..
        } => {
            let name = name.as_deref().or(template.as_deref()).unwrap_or("minimal");
            let text = yaml::template(name).ok_or_else(|| {
                format!(
                    "unknown template '{name}'; available: {}",
                    yaml::templates().join(", ")
                )
            })?;
            let text = yaml::with_overrides(text, model.as_deref(), url.as_deref());
            match output {
                None => Ok(text),
                Some(path) => {
                    write_new(path, &text)?;
                    Ok(format!("wrote {}\n", path.display()))
                }
            }
        }
        ConfigCommand::Validate { file } => {
            let set = resolve(file, registry)?;
            let engine = aiperf_engine::Engine::new(std::sync::Arc::new(registry.clone()));
            for v in &set.variations {
                engine.check(&v.config).map_err(|e| {
                    format!("{}: {}", file.display(), aiperf_core::one_line(e.as_ref()))
                })?;
            }
            Ok(format!(
                "{}: valid: {} run(s) ({} configuration(s) x {} trial(s)) into {}\n",
                file.display(),
                set.total_runs(),
                set.variations.len(),
                set.trials,
                set.base_dir.display()
            ))
        }
        ConfigCommand::Expand {
            file,
            index: Some(i),
            format,
            ..
        } => variation(file, *i, format, registry),
        ConfigCommand::Expand { file, format, .. } => {
            let args = yaml::load_file(file).map_err(|e| e.to_string())?;
            // Secrets stay in the file: what is printed may end up in a log or a ticket.
            if format == "yaml" {
                yaml::to_yaml(&aiperf_config::resolve::redact_args(&args))
                    .map_err(|e| e.to_string())
            } else if format == "json" {
                let redacted = aiperf_config::resolve::redact_args(&args);
                serde_json::to_string_pretty(&redacted)
                    .map(|j| format!("{j}\n"))
                    .map_err(|e| e.to_string())
            } else {
                let mut argv = vec!["aiperf".to_string(), "profile".to_string()];
                argv.extend(args);
                Ok(format!(
                    "{}\n",
                    aiperf_config::resolve::redact_command(&argv)
                ))
            }
        }
        ConfigCommand::Schema => Ok(format!("{}\n", yaml::json_schema())),
    }
}

/// The templates as a table per category (`--verbose`: with tags and difficulty).
fn list_templates(infos: Vec<yaml::TemplateInfo>, verbose: bool) -> Result<String, String> {
    let mut out = String::new();
    for category in yaml::CATEGORY_ORDER {
        let group: Vec<_> = infos.iter().filter(|i| i.category == *category).collect();
        if group.is_empty() {
            continue;
        }
        let mut t = comfy_table::Table::new();
        t.load_preset(comfy_table::presets::NOTHING);
        let mut header = vec!["Name", "Title", "Description"];
        if verbose {
            header.extend(["Tags", "Difficulty"]);
        }
        t.set_header(header);
        for i in group {
            let mut row = vec![i.name.to_string(), i.title.clone(), i.description.clone()];
            if verbose {
                row.extend([i.tags.join(", "), i.difficulty.clone()]);
            }
            t.add_row(row);
        }
        out.push_str(&format!("{category}\n{t}\n\n"));
    }
    if out.is_empty() {
        return Err("no template in that category; categories: ".to_string()
            + &yaml::CATEGORY_ORDER.join(", "));
    }
    Ok(out)
}

/// `config expand --index I`: one variation of a sweep, its directory and swept values.
fn variation(
    file: &Path,
    index: usize,
    format: &str,
    registry: &Registry,
) -> Result<String, String> {
    let set = resolve(file, registry)?;
    let count = set.variations.len();
    let v = set.variations.get(index).ok_or_else(|| {
        format!(
            "--index {index}: '{}' has {count} variation(s) (0..{})",
            file.display(),
            count.saturating_sub(1)
        )
    })?;
    let values: Vec<(String, String)> = v
        .values
        .iter()
        .map(|(path, value)| (path.to_string(), value.to_string()))
        .collect();
    if format == "json" {
        let doc = serde_json::json!({
            "index": v.index,
            "label": v.label,
            "dir_name": v.dir_name,
            "values": values
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect::<serde_json::Map<_, _>>(),
        });
        return serde_json::to_string_pretty(&doc)
            .map(|j| format!("{j}\n"))
            .map_err(|e| e.to_string());
    }
    let mut out = format!(
        "variation {} of {count}: {} ({})\n",
        v.index, v.label, v.dir_name
    );
    for (path, value) in values {
        out.push_str(&format!("  {path} = {value}\n"));
    }
    Ok(out)
}

/// The run file resolved as `aiperf profile --config FILE` would resolve it.
fn resolve(file: &Path, registry: &Registry) -> Result<aiperf_config::resolve::RunSet, String> {
    let argv: Vec<String> = vec![
        "aiperf".into(),
        "profile".into(),
        "--config".into(),
        file.display().to_string(),
    ];
    let args = yaml::layered(&argv, file)?;
    let named = |e: aiperf_config::ConfigError| format!("{}: {e}", file.display());
    // A ramp runs as a sweep; an adaptive search is validated by resolving its first run.
    let args = match ProfileConfig::resolve_search(&args, &argv, registry).map_err(named)? {
        Some(Search::Sweep { args, .. }) => *args,
        _ => args,
    };
    ProfileConfig::resolve_set(args, &argv, registry).map_err(named)
}

/// Creates `path` with `text`; an existing file is left alone.
fn write_new(path: &Path, text: &str) -> Result<(), String> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| format!("cannot create '{}': {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write '{}': {e}", path.display()))
}
