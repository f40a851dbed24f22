//! Sweeps whose runs are whole configurations rather than magic lists: AIPerf's `sweep: {type:
//! scenarios, runs: [...]}` and grid / zip sweeps over text values (`datasets.main.format:
//! [a, b]`). Each run is the file with its overrides applied to the tree (AIPerf's
//! `_deep_merge`: mappings merge, lists of named mappings merge by `name`, a distribution whose
//! kind changes is replaced, anything else is replaced), read like any file, and becomes one
//! `--variant "name: flag=value, ..."` holding the flags where its arguments differ from the
//! base file's (`docs/multi-run.md`).

use super::read::camel;
use super::tree::{Key, Node, Value};
use super::Reported;

type R<T> = Result<T, Reported>;

/// One run of the sweep: its name, the line it was declared on and the whole file it stands for.
pub(crate) struct Run {
    pub name: String,
    pub line: u32,
    pub root: Node,
}

/// The runs, and the sweep's own settings as flags (cool-down, seed, order).
pub(crate) struct Runs {
    pub runs: Vec<Run>,
    pub flags: Vec<String>,
}

fn entries(node: &Node) -> &[(Key, Node)] {
    match &node.value {
        Value::Map(e) => e,
        _ => &[],
    }
}

fn entry<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    entries(node)
        .iter()
        .find(|(k, _)| camel(&k.name) == key)
        .map(|(_, v)| v)
}

fn entry_mut<'a>(node: &'a mut Node, key: &str) -> Option<&'a mut Node> {
    match &mut node.value {
        Value::Map(e) => e
            .iter_mut()
            .find(|(k, _)| camel(&k.name) == key)
            .map(|(_, v)| v),
        _ => None,
    }
}

fn text(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Takes a sweep that needs whole-configuration runs out of `root` (which becomes the base);
/// `None` leaves the file as it was (no sweep, or numbers over magic-list paths).
pub(crate) fn take(root: &mut Node) -> R<Option<Runs>> {
    let Some(sweep) = entry(root, "sweep") else {
        return Ok(None);
    };
    let kind = entry(sweep, "type").and_then(text);
    let runs = match kind.as_deref() {
        Some("scenarios") => scenario_runs(root, sweep)?,
        Some("grid" | "zip") | None if has_text_values(sweep) => {
            grid_runs(root, sweep, kind.as_deref() == Some("zip"))?
        }
        _ => return Ok(None),
    };
    let flags = sweep_flags(sweep)?;
    if let Value::Map(e) = &mut root.value {
        e.retain(|(k, _)| k.name != "sweep");
    }
    Ok(Some(Runs { runs, flags }))
}

/// Keys of a sweep's envelope besides its runs or parameters.
const SHARED: &[&str] = &["type", "cooldownSeconds", "sameSeed", "iterationOrder"];

fn sweep_flags(sweep: &Node) -> R<Vec<String>> {
    let mut flags = Vec::new();
    for (k, v) in entries(sweep) {
        let key = camel(&k.name);
        let flag = match key.as_str() {
            "cooldownSeconds" => "--parameter-sweep-cooldown-seconds",
            "iterationOrder" => "--parameter-sweep-mode",
            "sameSeed" => {
                match v.value {
                    Value::Bool(true) => flags.push("--parameter-sweep-same-seed".into()),
                    Value::Bool(false) => flags.push("--no-parameter-sweep-same-seed".into()),
                    _ => return Err(Reported::at(v.line, "'sameSeed' must be true or false")),
                }
                continue;
            }
            _ => continue,
        };
        let value = text(v).ok_or_else(|| {
            Reported::at(
                v.line,
                format!("'{}' must be a value, got {}", k.name, v.describe()),
            )
        })?;
        flags.push(flag.into());
        flags.push(value);
    }
    Ok(flags)
}

/// Whether any swept value is text that is not a number or a duration (which magic lists take).
fn has_text_values(sweep: &Node) -> bool {
    let Some(params) = entry(sweep, "parameters") else {
        return false;
    };
    entries(params).iter().any(|(_, v)| match &v.value {
        Value::Seq(items) => items.iter().any(|n| match &n.value {
            Value::Str(s) => {
                s.trim().parse::<f64>().is_err() && super::read::parse_duration(s).is_none()
            }
            Value::Bool(_) => true,
            _ => false,
        }),
        _ => false,
    })
}

/// `runs: [{name, benchmark, variables, values}]`, each merged over the base.
fn scenario_runs(root: &Node, sweep: &Node) -> R<Vec<Run>> {
    check_keys(sweep, &[SHARED, &["runs"]].concat(), "sweep")?;
    let Some(list) = entry(sweep, "runs") else {
        return Err(Reported::at(sweep.line, "a 'scenarios' sweep needs 'runs'"));
    };
    let Value::Seq(items) = &list.value else {
        return Err(Reported::at(
            list.line,
            format!("'runs' must be a list, got {}", list.describe()),
        ));
    };
    if items.is_empty() {
        return Err(Reported::at(list.line, "'runs' must hold at least one run"));
    }
    let mut base = root.clone();
    if let Value::Map(e) = &mut base.value {
        e.retain(|(k, _)| k.name != "sweep");
    }
    let mut runs: Vec<Run> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let run = scenario(&base, item, i)?;
        if let Some(first) = runs.iter().find(|r| r.name == run.name) {
            return Err(Reported::at(
                run.line,
                format!(
                    "two runs are named '{}' (also on line {})",
                    run.name, first.line
                ),
            ));
        }
        runs.push(run);
    }
    Ok(runs)
}

fn check_keys(node: &Node, allowed: &[&str], what: &str) -> R<()> {
    match entries(node)
        .iter()
        .find(|(k, _)| !allowed.contains(&camel(&k.name).as_str()))
    {
        Some((k, _)) => Err(Reported::at(
            k.line,
            format!(
                "unknown key '{}' in {what} (expected one of: {})",
                k.name,
                allowed.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

/// One scenario: `benchmark` and `variables` merged over the base; `values` (AIPerf's labels)
/// accepted and unused.
fn scenario(base: &Node, item: &Node, index: usize) -> R<Run> {
    if !matches!(item.value, Value::Map(_)) {
        return Err(Reported::at(
            item.line,
            format!("each run must be a mapping, got {}", item.describe()),
        ));
    }
    check_keys(
        item,
        &["name", "benchmark", "variables", "values"],
        "a scenario run",
    )?;
    let name = match entry(item, "name") {
        Some(n) => text(n).ok_or_else(|| Reported::at(n.line, "'name' must be text"))?,
        None => format!("scenario_{index}"),
    };
    if name.contains([':', '=', ',']) || name.trim().is_empty() {
        return Err(Reported::at(
            item.line,
            format!("run name '{name}' must be non-empty, without ':', '=' or ','"),
        ));
    }
    let mut root = base.clone();
    for key in ["benchmark", "variables"] {
        if let Some(over) = entry(item, key) {
            merge_under(&mut root, key, over);
        }
    }
    Ok(Run {
        name,
        line: item.line,
        root,
    })
}

/// `root.key` merged with `over` (added when the base has no such key).
fn merge_under(root: &mut Node, key: &str, over: &Node) {
    if let Some(slot) = entry_mut(root, key) {
        merge(slot, over);
    } else if let Value::Map(e) = &mut root.value {
        e.push((
            Key {
                name: key.to_string(),
                line: over.line,
            },
            over.clone(),
        ));
    }
}

/// Keys that say which kind of distribution a mapping is (AIPerf's `_DIST_DISCRIMINATOR_KEYS`).
const DIST_KINDS: &[&str] = &["peaks", "points", "value", "median", "stddev"];

fn dist_kinds(e: &[(Key, Node)]) -> Vec<String> {
    let mut kinds: Vec<String> = e
        .iter()
        .map(|(k, _)| camel(&k.name))
        .filter(|k| DIST_KINDS.contains(&k.as_str()))
        .collect();
    kinds.sort();
    kinds
}

fn name_of(n: &Node) -> Option<String> {
    entry(n, "name").and_then(|v| match &v.value {
        Value::Str(s) => Some(s.clone()),
        _ => None,
    })
}

fn named_list(items: &[Node]) -> bool {
    !items.is_empty() && items.iter().all(|n| name_of(n).is_some())
}

/// AIPerf's `_deep_merge` of `over` into `base`.
fn merge(base: &mut Node, over: &Node) {
    match (&mut base.value, &over.value) {
        (Value::Map(b), Value::Map(o)) => {
            let (bk, ok) = (dist_kinds(b), dist_kinds(o));
            if !bk.is_empty() && !ok.is_empty() && bk != ok {
                *base = over.clone();
                return;
            }
            for (k, v) in o {
                match b.iter_mut().find(|(x, _)| camel(&x.name) == camel(&k.name)) {
                    Some((_, slot)) => merge(slot, v),
                    None => b.push((k.clone(), v.clone())),
                }
            }
        }
        (Value::Seq(b), Value::Seq(o)) if named_list(b) && named_list(o) => {
            for item in o {
                match b.iter_mut().find(|x| name_of(x) == name_of(item)) {
                    Some(slot) => merge(slot, item),
                    None => b.push(item.clone()),
                }
            }
        }
        _ => *base = over.clone(),
    }
}

/// A grid (every combination, the last parameter fastest, as `itertools.product`) or zip sweep
/// as runs, each the base with its values set at their paths under `benchmark`.
fn grid_runs(root: &Node, sweep: &Node, zip: bool) -> R<Vec<Run>> {
    check_keys(sweep, &[SHARED, &["parameters"]].concat(), "sweep")?;
    let mut base = root.clone();
    if let Value::Map(e) = &mut base.value {
        e.retain(|(k, _)| k.name != "sweep");
    }
    let params = entry(sweep, "parameters").map(entries).unwrap_or_default();
    let mut lists: Vec<(&Key, &[Node])> = Vec::new();
    for (k, v) in params {
        match &v.value {
            Value::Seq(items) if !items.is_empty() => lists.push((k, items)),
            _ => {
                return Err(Reported::at(
                    v.line,
                    format!("sweep parameter '{}' must be a non-empty list", k.name),
                ))
            }
        }
    }
    let combos = if zip {
        zipped(&lists)?
    } else {
        product(&lists)
    };
    combos
        .into_iter()
        .map(|combo| {
            let mut run = base.clone();
            let mut label = Vec::new();
            for (i, value) in combo.iter().enumerate() {
                let (key, _) = lists[i];
                set_path(&mut run, key, value)?;
                label.push(text(value).unwrap_or_else(|| value.describe()));
            }
            let name: String = label
                .join("_")
                .chars()
                .map(|c| if matches!(c, ':' | '=' | ',') { '_' } else { c })
                .collect();
            Ok(Run {
                name,
                line: combo.first().map_or(sweep.line, |n| n.line),
                root: run,
            })
        })
        .collect()
}

fn product<'a>(lists: &[(&Key, &'a [Node])]) -> Vec<Vec<&'a Node>> {
    lists.iter().fold(vec![Vec::new()], |acc, (_, items)| {
        acc.iter()
            .flat_map(|prefix| {
                items.iter().map(move |n| {
                    let mut next = prefix.clone();
                    next.push(n);
                    next
                })
            })
            .collect()
    })
}

fn zipped<'a>(lists: &[(&Key, &'a [Node])]) -> R<Vec<Vec<&'a Node>>> {
    let len = lists.first().map_or(0, |(_, l)| l.len());
    if let Some((k, _)) = lists.iter().find(|(_, l)| l.len() != len) {
        return Err(Reported::at(
            k.line,
            "zip sweep parameters must all have the same number of values",
        ));
    }
    Ok((0..len)
        .map(|i| lists.iter().map(|(_, l)| &l[i]).collect())
        .collect())
}

/// Sets `benchmark.<path>` to `value`: mapping keys (created when missing) or list entries by
/// `name` (`phases.profiling` also finds the one phase that is not a warm-up); `datasets.<name>`
/// also reaches a singular `dataset`.
fn set_path(root: &mut Node, key: &Key, value: &Node) -> R<()> {
    let segs: Vec<String> = key.name.split('.').map(camel).collect();
    let missing = || {
        Reported::at(
            key.line,
            format!("sweep path '{}' names nothing in 'benchmark'", key.name),
        )
    };
    let mut node = entry_mut(root, "benchmark").ok_or_else(missing)?;
    let mut i = 0;
    while i + 1 < segs.len() {
        let seg = segs[i].as_str();
        if seg == "datasets"
            && entry(node, "datasets").is_none()
            && entry(node, "dataset").is_some()
        {
            // `datasets.<any>` is the one singular dataset.
            node = entry_mut(node, "dataset").ok_or_else(missing)?;
            i += 2;
            continue;
        }
        node =
            step(node, seg, segs.get(i.wrapping_sub(1)).map(String::as_str)).ok_or_else(missing)?;
        i += 1;
    }
    let last = segs.last().ok_or_else(missing)?;
    match &mut node.value {
        Value::Map(e) => match e.iter_mut().find(|(k, _)| camel(&k.name) == *last) {
            Some((_, v)) => *v = value.clone(),
            None => e.push((
                Key {
                    name: last.clone(),
                    line: key.line,
                },
                value.clone(),
            )),
        },
        _ => return Err(missing()),
    }
    Ok(())
}

/// One step down a sweep path: a mapping's key (created when missing) or a named list entry.
fn step<'a>(node: &'a mut Node, seg: &str, parent: Option<&str>) -> Option<&'a mut Node> {
    match &mut node.value {
        Value::Map(e) => {
            if !e.iter().any(|(k, _)| camel(&k.name) == seg) {
                e.push((
                    Key {
                        name: seg.to_string(),
                        line: 0,
                    },
                    Node {
                        line: 0,
                        value: Value::Map(Vec::new()),
                    },
                ));
            }
            e.iter_mut()
                .find(|(k, _)| camel(&k.name) == seg)
                .map(|(_, v)| v)
        }
        Value::Seq(items) => {
            let by_name = items
                .iter()
                .position(|n| name_of(n).as_deref() == Some(seg));
            let profiling = || {
                let not_warmup: Vec<usize> = (0..items.len())
                    .filter(|&i| !is_warmup(&items[i]))
                    .collect();
                (not_warmup.len() == 1).then(|| not_warmup[0])
            };
            let at = by_name.or_else(|| {
                (parent == Some("phases") && seg == "profiling")
                    .then(profiling)
                    .flatten()
            })?;
            items.get_mut(at)
        }
        _ => None,
    }
}

fn is_warmup(n: &Node) -> bool {
    name_of(n).as_deref() == Some("warmup")
        || entry(n, "excludeFromResults").is_some_and(|v| v.value == Value::Bool(true))
}

/// The `--variant` for a run: `name: flag=value, ...` where its arguments differ from the base's.
pub(crate) fn variant(name: &str, line: u32, base: &[String], run: &[String]) -> R<String> {
    let (b, r) = (groups(base), groups(run));
    let fail = |what: String| Reported::at(line, format!("run '{name}': {what}"));
    let mut pairs: Vec<String> = Vec::new();
    let mut flags: Vec<&String> = r.iter().map(|(f, _)| f).collect();
    flags.extend(b.iter().map(|(f, _)| f));
    let mut seen: Vec<&String> = Vec::new();
    for flag in flags {
        if seen.contains(&flag) {
            continue;
        }
        seen.push(flag);
        let of = |g: &[(String, Vec<String>)]| -> Vec<Vec<String>> {
            g.iter()
                .filter(|(f, _)| f == flag)
                .map(|(_, v)| v.clone())
                .collect()
        };
        let (bv, rv) = (of(&b), of(&r));
        if bv == rv {
            continue;
        }
        let key = long_name(flag).ok_or_else(|| fail(format!("'{flag}' has no long name")))?;
        let cannot = |why: &str| fail(format!("{why} '{flag}', which a --variant cannot express"));
        // A list flag (-m, -H, --url) given again adds to the base's values.
        if arg_of(flag).is_some_and(|a| matches!(a.get_action(), clap::ArgAction::Append)) {
            return Err(cannot("varies the list flag"));
        }
        match (bv.as_slice(), rv.as_slice()) {
            (_, [one]) if bv.len() <= 1 => match one.as_slice() {
                [] => pairs.push(format!("{key}=true")),
                [v] if variant_value(v) => pairs.push(format!("{key}={v}")),
                _ => return Err(cannot("changes")),
            },
            ([one], []) if one.is_empty() => pairs.push(format!("{key}=false")),
            (_, []) => return Err(cannot("drops")),
            _ => return Err(cannot("varies the repeated flag")),
        }
    }
    if pairs.is_empty() {
        pairs.push(same_as_base(&b).ok_or_else(|| {
            fail("changes nothing and the base has no single-valued flag to repeat".into())
        })?);
    }
    Ok(format!("{name}: {}", pairs.join(", ")))
}

/// A value a `--variant` pair can carry: no commas outside a JSON value (the variant splits
/// pairs at commas outside brackets and braces), nothing to trim, not empty.
fn variant_value(v: &str) -> bool {
    let json = v.starts_with('{') || v.starts_with('[');
    !v.is_empty() && v.trim() == v && (json || !v.contains(','))
}

/// A run equal to the base still needs one pair: a base flag set again to its own value.
fn same_as_base(b: &[(String, Vec<String>)]) -> Option<String> {
    b.iter().find_map(|(flag, values)| {
        let once = b.iter().filter(|(f, _)| f == flag).count() == 1;
        let arg = arg_of(flag)?;
        let single = matches!(arg.get_action(), clap::ArgAction::Set);
        match values.as_slice() {
            [v] if once && single && variant_value(v) => Some(format!("{}={v}", arg.get_long()?)),
            _ => None,
        }
    })
}

/// Arguments as `(flag, values)`: a flag is `--name` or a one-letter `-x`.
fn groups(args: &[String]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for a in args {
        let is_flag = (a.starts_with("--") && a.len() > 2)
            || (a.len() == 2 && a.starts_with('-') && a.as_bytes()[1].is_ascii_alphabetic());
        match out.last_mut() {
            Some((_, values)) if !is_flag => values.push(a.clone()),
            _ => out.push((a.clone(), Vec::new())),
        }
    }
    out
}

fn arg_of(flag: &str) -> Option<clap::Arg> {
    use clap::CommandFactory;
    let cmd = crate::Cli::command();
    let profile = cmd.find_subcommand("profile")?;
    let found = profile
        .get_arguments()
        .find(|a| match flag.strip_prefix("--") {
            Some(long) => a.get_long() == Some(long),
            None => flag
                .chars()
                .nth(1)
                .is_some_and(|c| a.get_short() == Some(c)),
        })
        .cloned();
    found
}

/// `--isl` → `isl`; `-m` → `model`.
fn long_name(flag: &str) -> Option<String> {
    if let Some(long) = flag.strip_prefix("--") {
        return Some(long.to_string());
    }
    arg_of(flag).and_then(|a| a.get_long().map(str::to_string))
}
