//! AIPerf's YAML run files (`aiperf profile --config FILE`, schema 2.0) turned into the
//! equivalent `aiperf profile` arguments, so that every check of the command line applies to
//! them too; and back (`to_yaml`), plus the templates of `aiperf config init` and the file's
//! JSON Schema.
//!
//! A file goes through five steps: YAML to a tree that keeps lines ([`tree`]); `${VAR}`,
//! `${VAR:default}` and `{{ name }}` references replaced ([`subst`]); the tree checked key by key
//! into [`model::RunFile`] ([`read`]); inline dataset `records` written to a content-addressed
//! JSONL file ([`inline`]); flags written from it ([`emit`]). A sweep of whole configurations
//! (scenarios, text values) is split into runs first, each going through the same steps and
//! becoming a `--variant` ([`scenarios`]). Every problem is one line
//! naming `file:line`.

mod emit;
mod inline;
pub mod model;
mod read;
mod reverse;
mod scenarios;
mod subst;
mod templates;
mod tree;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

pub use templates::{
    template, template_infos, templates, with_overrides, TemplateInfo, CATEGORY_ORDER,
};

/// Why a run file (or an argument list, for [`to_yaml`]) was rejected: one line,
/// `file:line: reason` (or `file: reason` when no line applies).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{location}: {reason}")]
pub struct YamlError {
    /// `file:line` or `file`.
    pub location: String,
    /// 1-based line, when the problem has one.
    pub line: Option<u32>,
    pub reason: String,
}

/// A problem found before the file name is attached.
#[derive(Debug)]
pub(crate) struct Reported {
    line: Option<u32>,
    reason: String,
}

impl Reported {
    pub(crate) fn at(line: u32, reason: impl Into<String>) -> Self {
        Self {
            line: (line > 0).then_some(line),
            reason: reason.into(),
        }
    }

    pub(crate) fn file(reason: impl Into<String>) -> Self {
        Self {
            line: None,
            reason: reason.into(),
        }
    }

    fn in_file(self, origin: &str) -> YamlError {
        YamlError {
            location: match self.line {
                Some(l) => format!("{origin}:{l}"),
                None => origin.to_string(),
            },
            line: self.line,
            reason: self.reason,
        }
    }
}

/// A YAML run file turned into `aiperf profile` arguments (flag, value pairs, in a stable
/// order).
pub fn load_file(path: &Path) -> Result<Vec<String>, YamlError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| YamlError {
        location: origin.clone(),
        line: None,
        reason: format!("cannot read the file: {e}"),
    })?;
    load_str(&text, &origin)
}

/// [`load_file`] on text; `origin` names the file in messages.
pub fn load_str(text: &str, origin: &str) -> Result<Vec<String>, YamlError> {
    load_with_env(text, origin, &|name| std::env::var(name).ok())
}

fn load_with_env(
    text: &str,
    origin: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, YamlError> {
    load_tree(text, origin, env).map_err(|e| e.in_file(origin))
}

/// The file's arguments; a sweep of whole configurations ([`scenarios`]) becomes the base
/// file's arguments plus one `--variant` per run.
fn load_tree(
    text: &str,
    origin: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, Reported> {
    let mut root = parse(text)?;
    let runs = scenarios::take(&mut root)?;
    let base = tree_args(root, origin, env)?;
    let Some(runs) = runs else {
        return Ok(base);
    };
    if let [only] = runs.runs.as_slice() {
        // One run is the base with its overrides (a --variant needs at least two).
        let mut args = tree_args(only.root.clone(), origin, env)?;
        args.extend(runs.flags);
        return Ok(args);
    }
    let mut args = base.clone();
    for run in runs.runs {
        let own = tree_args(run.root, origin, env)?;
        args.push("--variant".to_string());
        args.push(scenarios::variant(&run.name, run.line, &base, &own)?);
    }
    args.extend(runs.flags);
    Ok(args)
}

/// One configuration's arguments from its tree (variables, substitution, reading, inline
/// records, flags).
fn tree_args(
    root: tree::Node,
    origin: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, Reported> {
    let mut file = read_tree(root, env)?;
    inline::materialise(&mut file)?;
    let mut args = emit::args(&file);
    args.extend(plot_args(&file, origin));
    Ok(args)
}

fn parse(text: &str) -> Result<tree::Node, Reported> {
    tree::parse(text).map_err(|e| Reported {
        line: e.line,
        reason: e.reason,
    })
}

/// A `plot:` section asks for pictures after the run (unless `artifacts.autoPlot: false`), with
/// that plot config: the referenced file (relative to the run file), or the run file itself.
fn plot_args(file: &model::RunFile, origin: &str) -> Vec<String> {
    let Some(plot) = &file.plot else {
        return Vec::new();
    };
    let auto_plot = file
        .benchmark
        .artifacts
        .as_ref()
        .or(file.artifacts.as_ref())
        .and_then(|a| a.auto_plot);
    let config = match plot {
        model::PlotEnvelope::File(path) if Path::new(path).is_absolute() => PathBuf::from(path),
        model::PlotEnvelope::File(path) => Path::new(origin)
            .parent()
            .unwrap_or(Path::new(""))
            .join(path),
        model::PlotEnvelope::Inline(_) => PathBuf::from(origin),
    };
    let mut args = Vec::new();
    if auto_plot.is_none() {
        args.push("--auto-plot".to_string());
    }
    args.push("--plot-config".to_string());
    args.push(config.display().to_string());
    args
}

/// The checked file, before it becomes flags.
#[cfg(test)]
pub(crate) fn read_file(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<model::RunFile, Reported> {
    read_tree(parse(text)?, env)
}

/// [`read_file`] on a parsed tree.
fn read_tree(
    mut root: tree::Node,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<model::RunFile, Reported> {
    let mut vars = take_variables(&mut root, env)?;
    subst::resolve_variables(&mut vars)?;
    subst::substitute(&mut root, &vars, env)?;
    read::run_file(&root)
}

/// The `variables` mapping (its own values see only the environment); the key stays in the
/// tree so that it reads as known.
fn take_variables(
    root: &mut tree::Node,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<subst::Variables, Reported> {
    let mut vars = IndexMap::new();
    let tree::Value::Map(entries) = &mut root.value else {
        return Ok(vars);
    };
    for (k, v) in entries.iter_mut() {
        if k.name != "variables" {
            continue;
        }
        subst::substitute_env(v, env)?;
        match &v.value {
            tree::Value::Map(items) => {
                for (name, value) in items {
                    vars.insert(name.name.clone(), value.clone());
                }
            }
            tree::Value::Null => {}
            _ => {
                return Err(Reported::at(
                    v.line,
                    format!("'variables' must be a mapping, got {}", v.describe()),
                ))
            }
        }
        v.value = tree::Value::Null;
    }
    Ok(vars)
}

/// The command line [`layered`] parses: program name, `profile`, the file's arguments, then
/// everything typed after `profile`. What a `--variant` (a run of the file's scenarios) is
/// applied to.
pub fn layered_argv(argv: &[String], file: &Path) -> Result<Vec<String>, String> {
    let from_file = load_file(file).map_err(|e| e.to_string())?;
    let typed = argv
        .iter()
        .position(|a| a == "profile")
        .map_or(&argv[argv.len()..], |i| &argv[i + 1..]);
    let mut all: Vec<String> = vec![
        argv.first().cloned().unwrap_or_else(|| "aiperf".into()),
        "profile".into(),
    ];
    all.extend(from_file);
    all.extend(typed.iter().cloned());
    Ok(all)
}

/// `aiperf profile --config FILE ...`: the file's arguments, then everything typed after
/// `profile`, parsed so that a flag given on the command line wins over the file's (program
/// name first in `argv`).
pub fn layered(argv: &[String], file: &Path) -> Result<crate::ProfileArgs, String> {
    use clap::{CommandFactory, FromArgMatches};
    let all = layered_argv(argv, file)?;
    let cli = crate::Cli::command()
        .mut_subcommand("profile", |c| c.args_override_self(true))
        .try_get_matches_from(&all)
        .and_then(|m| crate::Cli::from_arg_matches(&m))
        .map_err(|e| {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            format!(
                "{}: {}",
                file.display(),
                first.trim_start_matches("error: ")
            )
        })?;
    match cli.command {
        crate::Command::Profile(p) => Ok(*p),
        _ => Err(format!(
            "{}: not an aiperf profile run file",
            file.display()
        )),
    }
}

/// The JSON Schema of the accepted file, as pretty JSON.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(model::RunFile);
    serde_json::to_string_pretty(&schema).expect("a schema serializes")
}

/// The reverse of [`load_str`]: `aiperf profile` arguments (without `aiperf profile`) as a run
/// file. Fails, naming the flag, when an argument has no place in a run file.
pub fn to_yaml(args: &[String]) -> Result<String, YamlError> {
    reverse::to_yaml(args)
}

#[cfg(test)]
mod tests;
