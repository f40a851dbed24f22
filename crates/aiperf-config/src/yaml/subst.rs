//! `${VAR}` / `${VAR:default}` (environment, then `variables`) and Jinja `{{ ... }}`
//! (`variables`) in string values, as AIPerf 0.13 renders run files: strict (an undefined
//! name is an error), a rendered value that reads as a boolean or number becomes one, and
//! `variables` may use each other in any order (a cycle is an error). Request-time templates
//! (`template`, `body`, `payloadTemplate`) and `userFiles` are left for later.

use indexmap::IndexMap;
use minijinja::{Environment, UndefinedBehavior};

use super::tree::{Node, Value};
use super::Reported;

/// The `variables` of a file: name to value node.
pub(crate) type Variables = IndexMap<String, Node>;

/// Keys whose values are rendered later, with run-time context.
const LATER: &[&str] = &[
    "template",
    "body",
    "payloadTemplate",
    "payload_template",
    "userFiles",
    "user_files",
];

fn jinja() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env
}

fn has_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%")
}

/// AIPerf's `_coerce_rendered`: true/false, then an integer, then a float, else the text.
fn coerce(rendered: String) -> Value {
    if rendered.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if rendered.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if let Ok(i) = rendered.trim().parse::<i64>() {
        return Value::Int(i);
    }
    match rendered.trim().parse::<f64>() {
        Ok(f) if !rendered.trim().is_empty() => Value::Float(f),
        _ => Value::Str(rendered),
    }
}

/// Renders `text` with `vars` as the context.
fn render(
    env: &Environment<'_>,
    text: &str,
    vars: &serde_json::Map<String, serde_json::Value>,
    line: u32,
) -> Result<String, Reported> {
    env.render_str(text, vars).map_err(|e| {
        let detail = match e.detail() {
            Some(d) => format!("{}: {d}", e.kind()),
            None => e.kind().to_string(),
        };
        Reported::at(line, format!("{text:?}: {detail}"))
    })
}

/// The variables as a render context.
fn context(vars: &Variables) -> serde_json::Map<String, serde_json::Value> {
    vars.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()
}

/// Renders the `variables` that use other variables, in dependency order (AIPerf's Kahn
/// pass): each round renders those whose names all resolve; a round without progress is a
/// cycle or an undefined name.
pub(crate) fn resolve_variables(vars: &mut Variables) -> Result<(), Reported> {
    let env = jinja();
    let mut pending: Vec<String> = vars
        .iter()
        .filter(|(_, v)| matches!(&v.value, Value::Str(s) if has_template(s)))
        .map(|(k, _)| k.clone())
        .collect();
    while !pending.is_empty() {
        let ready: Vec<String> = pending
            .iter()
            .filter(|name| {
                let Some(Value::Str(text)) = vars.get(*name).map(|n| &n.value) else {
                    return false;
                };
                let others: Variables = vars
                    .iter()
                    .filter(|(k, _)| !pending.contains(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                env.render_str(text, context(&others)).is_ok()
            })
            .cloned()
            .collect();
        if ready.is_empty() {
            let first = &pending[0];
            let line = vars.get(first).map_or(0, |n| n.line);
            return Err(Reported::at(
                line,
                format!(
                    "variables {} refer to each other in a cycle or to an undefined name",
                    pending.join(", ")
                ),
            ));
        }
        for name in &ready {
            let settled: Variables = vars
                .iter()
                .filter(|(k, _)| !pending.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let ctx = context(&settled);
            if let Some(node) = vars.get_mut(name) {
                if let Value::Str(text) = &node.value {
                    let out = render(&env, text, &ctx, node.line)?;
                    node.value = coerce(out);
                }
            }
        }
        pending.retain(|p| !ready.contains(p));
    }
    Ok(())
}

/// Replaces every reference in the string scalars under `node`. A string that is exactly one
/// `{{ name }}` takes the variable's value as is (a number stays a number).
pub(crate) fn substitute(
    node: &mut Node,
    vars: &Variables,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Reported> {
    let jinja = jinja();
    let ctx = context(vars);
    substitute_in(node, vars, &ctx, &jinja, env)
}

fn substitute_in(
    node: &mut Node,
    vars: &Variables,
    ctx: &serde_json::Map<String, serde_json::Value>,
    jinja: &Environment<'_>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Reported> {
    let line = node.line;
    match &mut node.value {
        Value::Str(s) => {
            let text = env_refs(s, line, vars, env)?;
            if let Some(name) = whole_template(&text) {
                // A list or mapping variable stands in as itself.
                let var = lookup(name, vars, line)?;
                node.value = var.value.clone();
            } else if has_template(&text) {
                node.value = coerce(render(jinja, &text, ctx, line)?);
            } else {
                *s = text;
            }
        }
        Value::Seq(items) => {
            for item in items {
                substitute_in(item, vars, ctx, jinja, env)?;
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries {
                if LATER.contains(&k.name.as_str()) {
                    continue;
                }
                substitute_in(v, vars, ctx, jinja, env)?;
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
