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
        ConfigCommand::Init { list: true, .. } => {
            Ok(yaml::templates().iter().map(|t| format!("{t}\n")).collect())
        }
        ConfigCommand::Init {
            template, output, ..
        } => {
            let name = template.as_deref().unwrap_or("minimal");
            let text = yaml::template(name).ok_or_else(|| {
                format!(
                    "unknown template '{name}'; available: {}",
                    yaml::templates().join(", ")
                )
            })?;
            match output {
                None => Ok(text.to_string()),
                Some(path) => {
                    write_new(path, text)?;
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
        ConfigCommand::Expand { file, format } => {
            let args = yaml::load_file(file).map_err(|e| e.to_string())?;
            // Secrets stay in the file: what is printed may end up in a log or a ticket.
            if format == "yaml" {
                yaml::to_yaml(&aiperf_config::resolve::redact_args(&args))
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
