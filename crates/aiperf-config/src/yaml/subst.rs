//! `${VAR}` / `${VAR:default}` (environment, then `variables`) and `{{ name }}` (`variables`)
//! references in string values.

use indexmap::IndexMap;

use super::tree::{Node, Value};
use super::Reported;

/// The `variables` of a file: name to value node.
pub(crate) type Variables = IndexMap<String, Node>;

/// Replaces every reference in the string scalars under `node`. A string that is exactly one
/// `{{ name }}` takes the variable's value as is (a number stays a number).
pub(crate) fn substitute(
    node: &mut Node,
    vars: &Variables,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Reported> {
    let line = node.line;
    match &mut node.value {
        Value::Str(s) => {
            let text = env_refs(s, line, vars, env)?;
            match whole_template(&text) {
                Some(name) => {
                    let var = lookup(name, vars, line)?;
                    node.value = var.value.clone();
                }
                None => *s = jinja_refs(&text, vars, line)?,
            }
        }
        Value::Seq(items) => {
            for item in items {
                substitute(item, vars, env)?;
            }
        }
        Value::Map(entries) => {
            for (_, v) in entries {
                substitute(v, vars, env)?;
            }
        }
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {}
    }
    Ok(())
}

/// Only environment references: for the values of `variables` themselves.
pub(crate) fn substitute_env(
    node: &mut Node,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Reported> {
    substitute_with(node, &|s, line| env_refs(s, line, &IndexMap::new(), env))
}

fn substitute_with(
    node: &mut Node,
    f: &dyn Fn(&str, u32) -> Result<String, Reported>,
) -> Result<(), Reported> {
    let line = node.line;
    match &mut node.value {
        Value::Str(s) => *s = f(s, line)?,
        Value::Seq(items) => {
            for item in items {
                substitute_with(item, f)?;
            }
        }
        Value::Map(entries) => {
            for (_, v) in entries {
                substitute_with(v, f)?;
            }
        }
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {}
    }
    Ok(())
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `${NAME}` and `${NAME:default}`: the environment first, then `variables`, then the default.
fn env_refs(
    text: &str,
    line: u32,
    vars: &Variables,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Reported> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(Reported::at(
                line,
                format!("unterminated '${{' in {text:?} (write ${{NAME}} or ${{NAME:default}})"),
            ));
        };
        let inner = &after[..end];
        let (name, default) = match inner.split_once(':') {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        if !is_name(name) {
            return Err(Reported::at(
                line,
                format!("'${{{inner}}}' is not a variable reference (write ${{NAME}} or ${{NAME:default}})"),
            ));
        }
        let value = match env(name) {
            Some(v) => v,
            None => match (vars.get(name), default) {
                (Some(node), _) => scalar_text(node).ok_or_else(|| {
                    Reported::at(line, format!("variable '{name}' is not a scalar"))
                })?,
                (None, Some(d)) => d.to_string(),
                (None, None) => {
                    return Err(Reported::at(
                        line,
                        format!("environment variable '{name}' is not set and '${{{name}}}' has no default (write ${{{name}:default}})"),
                    ))
                }
            },
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The name in a string that is exactly `{{ name }}`.
fn whole_template(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && is_name(inner.trim())).then(|| inner.trim())
}

fn lookup<'v>(name: &str, vars: &'v Variables, line: u32) -> Result<&'v Node, Reported> {
    vars.get(name).ok_or_else(|| {
        let hint = super::read::suggest(name, vars.keys().map(String::as_str))
            .map(|s| format!(" (did you mean '{s}'?)"))
            .unwrap_or_default();
        Reported::at(
            line,
            format!("undefined variable '{name}' in '{{{{ {name} }}}}'{hint}"),
        )
    })
}

/// A scalar's text as it reads in YAML.
fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        Value::Seq(_) | Value::Map(_) => None,
    }
}

/// `{{ name }}` inside a longer string.
fn jinja_refs(text: &str, vars: &Variables, line: u32) -> Result<String, Reported> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(Reported::at(
                line,
                format!("unterminated '{{{{' in {text:?}"),
            ));
        };
        let inner = after[..end].trim();
        if !is_name(inner) {
            return Err(Reported::at(
                line,
                format!("'{{{{ {inner} }}}}': only '{{{{ name }}}}' references to variables are supported (no expressions or filters)"),
            ));
        }
        let node = lookup(inner, vars, line)?;
        out.push_str(
            &scalar_text(node)
                .ok_or_else(|| Reported::at(line, format!("variable '{inner}' is not a scalar")))?,
        );
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}
