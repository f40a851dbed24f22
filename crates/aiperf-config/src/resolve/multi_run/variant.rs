//! `--variant "name: flag=value, flag=value"`: AIPerf's hand-picked scenario sweeps. Each variant
//! is the command line with those flags set (a later value wins over the one typed before), so
//! any `aiperf profile` flag can vary and every variant gets the full validation.

use aiperf_plugins::Registry;
use clap::{CommandFactory, FromArgMatches};

use super::{sanitize_dir, Variation};
use crate::cli::{Cli, Command};
use crate::resolve::{invalid, ConfigError, ProfileConfig};

/// A variant's optional name and its `(flag, value)` pairs.
type Parsed = (Option<String>, Vec<(String, String)>);

/// `[name:] key=value, key=value` as AIPerf parses it (`variant_parser.parse_variant`).
fn parse(raw: &str) -> Result<Parsed, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("variant string is empty".into());
    }
    let (name, body) = match s.split_once(':') {
        Some((head, tail)) if !head.contains('=') => {
            let head = head.trim();
            if head.is_empty() {
                return Err(format!("variant '{raw}': empty name before ':'"));
            }
            (Some(head.to_string()), tail.trim())
        }
        _ => (None, s),
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    for chunk in split_pairs(body)
        .into_iter()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        let (k, v) = chunk.split_once('=').ok_or_else(|| {
            format!("variant '{raw}': token '{chunk}' is missing '=' (expected key=value)")
        })?;
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() {
            return Err(format!("variant '{raw}': empty key in token '{chunk}'"));
        }
        if pairs.iter().any(|(seen, _)| seen == k) {
            return Err(format!("variant '{raw}': duplicate key '{k}'"));
        }
        let v = match v.as_bytes() {
            [q, .., e] if q == e && (*q == b'"' || *q == b'\'') => &v[1..v.len() - 1],
            _ => v,
        };
        pairs.push((k.to_string(), v.to_string()));
    }
    if pairs.is_empty() {
        return Err(format!("variant '{raw}': no key=value pairs"));
    }
    Ok((name, pairs))
}

/// `aiperf profile`'s `--{flag}` (by name or alias).
fn arg_of(flag: &str) -> Option<clap::Arg> {
    let cmd = Cli::command();
    let profile = cmd.find_subcommand("profile")?;
    let found = profile
        .get_arguments()
        .find(|a| {
            a.get_long() == Some(flag)
                || a.get_all_aliases()
                    .is_some_and(|aliases| aliases.contains(&flag))
        })
        .cloned();
    found
}

fn known_flag(flag: &str) -> bool {
    arg_of(flag).is_some()
}

/// Flags that shape the whole invocation, not one configuration of it.
fn per_invocation(arg: &clap::Arg) -> bool {
    matches!(
        arg.get_help_heading(),
        Some("Multi-Run" | "Config" | "UI" | "Service")
    ) || arg.get_long() == Some("output-artifact-dir")
}

/// The command line without `--{flag}` (a switch) under any of its names.
fn without_switch(cell: &mut Vec<String>, arg: &clap::Arg) {
    let mut names: Vec<String> = arg
        .get_long()
        .map(|l| format!("--{l}"))
        .into_iter()
        .collect();
    if let Some(aliases) = arg.get_all_aliases() {
        names.extend(aliases.iter().map(|a| format!("--{a}")));
    }
    cell.retain(|a| !names.contains(a));
}

/// The command line without its `--variant` occurrences.
fn without_variants(argv: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let mut skip = false;
    for a in argv {
        if skip {
            skip = false;
            continue;
        }
        if a == "--variant" || a == "--sweep-variant" {
            skip = true;
            continue;
        }
        if a.starts_with("--variant=") || a.starts_with("--sweep-variant=") {
            continue;
        }
        out.push(a.clone());
    }
    out
}

/// Every variant resolved into a configuration of the sweep.
pub(super) fn resolve_all(
    variants: &[String],
    argv: &[String],
    registry: &Registry,
) -> Result<Vec<Variation>, ConfigError> {
    if variants.len() == 1 {
        return Err(invalid(
            "--variant",
            "single occurrence is rejected. Use the individual --isl/--osl/--concurrency flags \
             for a one-off; --variant is for multi-variant sweeps. Pass --variant at least twice.",
        ));
    }
    let base = without_variants(argv);
    let mut out: Vec<Variation> = Vec::with_capacity(variants.len());
    for (index, raw) in variants.iter().enumerate() {
        let (name, pairs) = parse(raw).map_err(|e| invalid("--variant", e))?;
        let label = name.unwrap_or_else(|| format!("v{index}"));
        if out.iter().any(|v| v.label == label) {
            return Err(invalid(
                "--variant",
                format!("two variants are named '{label}'"),
            ));
        }
        let mut cell = base.clone();
        for (k, v) in &pairs {
            let flag = k.replace('_', "-");
            let Some(arg) = arg_of(&flag) else {
                return Err(invalid(
                    "--variant",
                    format!("'{raw}': unknown flag '--{flag}' (any aiperf profile flag without its dashes)"),
                ));
            };
            if per_invocation(&arg) {
                return Err(invalid(
                    "--variant",
                    format!("'{raw}': --{flag} applies to the whole command, not to one variant"),
                ));
            }
            let switch = !arg.get_action().takes_values();
            let negated = format!("no-{flag}");
            match v.to_ascii_lowercase().as_str() {
                "true" if switch => cell.push(format!("--{flag}")),
                "false" if known_flag(&negated) => cell.push(format!("--{negated}")),
                "false" if switch => without_switch(&mut cell, &arg),
                _ if switch => {
                    return Err(invalid(
                        "--variant",
                        format!("'{raw}': --{flag} is a switch: use {k}=true or {k}=false"),
                    ))
                }
                _ => {
                    cell.push(format!("--{flag}"));
                    cell.push(v.clone());
                }
            }
        }
        let matches = Cli::command()
            .mut_subcommand("profile", |c| c.args_override_self(true))
            .try_get_matches_from(&cell)
            .and_then(|m| Cli::from_arg_matches(&m))
            .map_err(|e| {
                let first = e.to_string();
                let first = first
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("error: ");
                invalid("--variant", format!("'{raw}': {first}"))
            })?;
        let Command::Profile(args) = matches.command else {
            return Err(invalid("--variant", "not an aiperf profile command line"));
        };
        if args.concurrency.as_ref().is_some_and(|c| c.is_list()) {
            return Err(invalid(
                "--variant",
                format!("'{raw}': a variant takes single values"),
            ));
        }
        let config = ProfileConfig::resolve(*args, argv, registry)
            .map_err(|e| invalid("--variant", format!("'{label}': {e}")))?;
        out.push(Variation {
            index,
            dir_name: sanitize_dir(&label),
            label,
            values: Vec::new(),
            config,
        });
    }
    Ok(out)
}

/// `body` split at the commas outside brackets and braces, so a JSON value
/// (`isl-distribution={"mean": 1024, "median": 904}`) stays whole.
fn split_pairs(body: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0i32, 0, Vec::new());
    for (i, c) in body.char_indices() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&body[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_parse_as_aiperf() {
        assert_eq!(
            parse("small: isl=128, osl=64").unwrap(),
            (
                Some("small".to_string()),
                vec![("isl".into(), "128".into()), ("osl".into(), "64".into())]
            )
        );
        assert_eq!(parse("concurrency=4").unwrap().0, None);
        assert_eq!(parse("x: model='a b'").unwrap().1[0].1, "a b");
        assert!(parse("x: isl").unwrap_err().contains("missing '='"));
        assert!(parse("x: isl=1, isl=2")
            .unwrap_err()
            .contains("duplicate key"));
        assert!(parse(": isl=1").unwrap_err().contains("empty name"));
        assert!(parse("x:").unwrap_err().contains("no key=value"));
    }

    #[test]
    fn only_variant_flags_go() {
        let argv: Vec<String> = [
            "aiperf",
            "profile",
            "--variant",
            "a: isl=1",
            "-m",
            "m",
            "--variant=b: isl=2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(without_variants(&argv), ["aiperf", "profile", "-m", "m"]);
        assert!(
            known_flag("isl") && known_flag("streaming") && known_flag("no-set-consistent-seed")
        );
        assert!(!known_flag("nope"));
    }
}
