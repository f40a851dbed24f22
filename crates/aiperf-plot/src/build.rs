//! From paths to a [`ReportData`]: discover runs, decide between one run's charts and a
//! comparison, group the points, collect what could not be used.

use std::path::{Path, PathBuf};

use crate::artifacts::read_json;
use crate::discover::{discover, Found, FoundRun};
use crate::error::PlotError;
use crate::multi::{self, Point};
use crate::report_data::{FailedRun, Mode, ReportData, RunView, REPORT_SCHEMA};
use crate::single::{self, RunData};
use crate::summary::Results;

/// What the caller chooses.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `NAME=GLOB` groups: a point whose directory name or path matches GLOB belongs to NAME
    /// (first match wins, AIPerf's `experiment_classification` order).
    pub groups: Vec<(String, String)>,
    /// The aiperf version to print in the report.
    pub version: String,
}

/// Parses `--group NAME=GLOB`.
pub fn parse_group(text: &str) -> Result<(String, String), PlotError> {
    match text.split_once('=') {
        Some((name, glob)) if !name.trim().is_empty() && !glob.trim().is_empty() => {
            Ok((name.trim().to_string(), glob.trim().to_string()))
        }
        _ => Err(PlotError::BadGroup(text.to_string())),
    }
}

/// Reads everything under `paths` into one report.
pub fn build(paths: &[PathBuf], opts: &Options) -> Result<ReportData, PlotError> {
    let found = discover(paths)?;
    let mut failed = found.failed.clone();
    let mut notes = Vec::new();
    failed.extend(failed_cells(&found, &mut notes));
    let points = points(&found, paths, opts, &mut notes)?;
    let title_of = |p: &Path| {
        p.canonicalize()
            .ok()
            .and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| p.display().to_string())
    };
    if points.is_empty() {
        return Err(PlotError::NoRuns {
            paths: paths.iter().map(|p| p.display().to_string()).collect(),
            seen: if failed.is_empty() {
                notes.iter().map(|n| format!("; {n}")).collect()
            } else {
                format!(
                    "; found only runs without results: {}",
                    failed
                        .iter()
                        .map(|f| format!("{} ({})", f.dir, f.reason))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            },
        });
    }
    let (mode, runs, charts) = if let [(point, Some(run), _)] = points.as_slice() {
        let data = RunData::load(&run.files);
        notes.extend(data.notes.iter().cloned());
        let view = point.results.view(
            point.name.clone(),
            run.files.dir.display().to_string(),
            None,
        );
        (
            Mode::Single,
            vec![view],
            single::charts(&data, &point.results),
        )
    } else {
        let views: Vec<RunView> = points
            .iter()
            .map(|(p, _, dir)| {
                let dir = dir.display().to_string();
                p.results.view(
                    p.name.clone(),
                    dir,
                    Some(p.group.clone()).filter(|g| !g.is_empty()),
                )
            })
            .collect();
        let pts: Vec<Point> = points.into_iter().map(|(p, _, _)| p).collect();
        (Mode::Multi, views, multi::charts(&pts))
    };
    let title = match paths {
        [one] => title_of(one),
        _ => format!("{} runs", runs.len()),
    };
    Ok(ReportData {
        schema: REPORT_SCHEMA,
        title: format!("aiperf report: {title}"),
        aiperf_version: opts.version.clone(),
        mode,
        runs,
        charts,
        failed_runs: failed,
        notes,
    })
}

/// A point found and not yet grouped: the point and its run, its directory, the given path
/// it was found under.
type Candidate = ((Point, Option<FoundRun>), PathBuf, Option<usize>);

/// A point, its run (when it is one run) and its directory.
type Placed = (Point, Option<FoundRun>, PathBuf);

/// The points to show: each configuration with repeated trials at its aggregate (the trials
/// themselves not shown again), and every other run. A single point keeps its run directory
/// for per-request charts; a single configuration's trials are shown one point each.
fn points(
    found: &Found,
    paths: &[PathBuf],
    opts: &Options,
    notes: &mut Vec<String>,
) -> Result<Vec<Placed>, PlotError> {
    let mut runs: Vec<(FoundRun, Results)> = Vec::new();
    for run in &found.runs {
        match read_json(&run.files.summary) {
            Ok(v) if v.is_object() => runs.push((run.clone(), Results::Run(v))),
            Ok(_) => notes.push(format!(
                "skipped '{}': not a summary (a JSON object)",
                run.files.summary.display()
            )),
            Err(e) => notes.push(format!("skipped: {e}")),
        }
    }
    let mut aggregates: Vec<(PathBuf, serde_json::Value)> = Vec::new();
    for path in &found.aggregates {
        match read_json(path) {
            // One trial has no interval: its run stands for itself.
            Ok(a) if trials_in(&a) >= 2 => aggregates.push((path.clone(), a)),
            Ok(_) => {}
            Err(e) => notes.push(format!("skipped: {e}")),
        }
    }
    let mut covered = vec![false; runs.len()];
    let mut out: Vec<Candidate> = Vec::new();
    for (path, aggregate) in &aggregates {
        let base = set_base(path, "aggregate");
        let label = aggregate
            .pointer("/metadata/variation_label")
            .and_then(|v| v.as_str())
            .unwrap_or("base")
            .to_string();
        let mut trials = Vec::new();
        for (i, (run, r)) in runs.iter().enumerate() {
            let same_set = base.is_some() && set_base(&run.files.dir, "profile_runs") == base;
            if same_set && r.variation_label().unwrap_or("base") == label {
                covered[i] = true;
                if let Results::Run(v) = r {
                    trials.push(v.clone());
                }
            }
        }
        let dir = path.parent().unwrap_or(path).to_path_buf();
        let results = Results::Aggregate {
            aggregate: aggregate.clone(),
            trials,
        };
        let name = point_name(&results, base.as_deref().unwrap_or(&dir));
        let root = root_of(path, paths);
        out.push(((point(name, results), None), dir, root));
    }
    if aggregates.len() == 1 && out.len() == 1 && !covered.iter().all(|c| !c) {
        // One configuration's trials: trial against trial says more than one point.
        notes.push("one configuration with repeated trials: each point is one trial".into());
        out.clear();
        covered.iter_mut().for_each(|c| *c = false);
    } else if !aggregates.is_empty() {
        notes.push(format!(
            "{} configuration(s) with repeated trials: each point is the mean over its trials, with its confidence interval",
            aggregates.len()
        ));
    }
    for ((run, results), covered) in runs.into_iter().zip(covered) {
        if !covered {
            let name = point_name(&results, &run.files.dir);
            let dir = run.files.dir.clone();
            let root = Some(run.root);
            out.push(((point(name, results), Some(run)), dir, root));
        }
    }
    assign_groups(&mut out, paths, opts);
    let mut placed: Vec<Placed> = out.into_iter().map(|((p, r), d, _)| (p, r, d)).collect();
    // Names must tell points of one group apart: add the directory when two share one.
    let keys: Vec<(String, String)> = placed
        .iter()
        .map(|(p, _, _)| (p.group.clone(), p.name.clone()))
        .collect();
    for (p, run, _) in &mut placed {
        let key = (p.group.clone(), p.name.clone());
        if keys.iter().filter(|k| **k == key).count() > 1 {
            if let Some(r) = run {
                p.name = format!("{} ({})", p.name, short_dir(&r.files.dir));
            }
        }
    }
    Ok(placed)
}

fn point(name: String, results: Results) -> Point {
    Point {
        name,
        group: String::new(),
        results,
    }
}

/// Successful trials behind an aggregate.
fn trials_in(aggregate: &serde_json::Value) -> u64 {
    aggregate
        .pointer("/metadata/num_successful_runs")
        .and_then(|v| v.as_u64())
        .unwrap_or(0)
}

/// The directory holding the nearest `marker` directory (`aggregate`, `profile_runs`) above
/// `path`: the base of a set of runs, in both of AIPerf's layouts.
fn set_base(path: &Path, marker: &str) -> Option<PathBuf> {
    path.ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == marker))
        .and_then(|a| a.parent())
        .map(Path::to_path_buf)
}

/// Groups: `--group` globs first (on the directory's name and its path below the given path);
/// otherwise the sub-directory of the given path that holds several points (a sweep among
/// other results), prefixed by the given path's name when several were given. When every
/// point ends in the same group, there are no groups.
fn assign_groups(out: &mut [Candidate], paths: &[PathBuf], opts: &Options) {
    let roots = root_names(paths);
    let relative: Vec<Vec<String>> = out
        .iter()
        .map(|(_, dir, root)| {
            let base = root.and_then(|r| paths[r].canonicalize().ok());
            let dir = dir.canonicalize().unwrap_or_else(|_| dir.clone());
            let rel = base
                .as_deref()
                .and_then(|b| dir.strip_prefix(b).ok())
                .unwrap_or(&dir);
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        })
        .collect();
    let first = |i: usize| relative[i].first().cloned().unwrap_or_default();
    let groups: Vec<String> = (0..out.len())
        .map(|i| {
            let name = out[i]
                .1
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let rel = relative[i].join("/");
            if let Some((group, _)) = opts.groups.iter().find(|(_, glob)| {
                glob_match(glob, &name)
                    || glob_match(glob, &rel)
                    || relative[i].iter().any(|c| glob_match(glob, c))
            }) {
                return group.clone();
            }
            let head = first(i);
            let shared = (0..out.len())
                .filter(|&j| out[j].2 == out[i].2 && first(j) == head)
                .count()
                > 1;
            let sub = if shared && relative[i].len() > 1 {
                head
            } else {
                String::new()
            };
            match (paths.len() > 1, out[i].2) {
                (true, Some(r)) if sub.is_empty() => roots[r].clone(),
                (true, Some(r)) => format!("{}/{sub}", roots[r]),
                _ => sub,
            }
        })
        .collect();
    let same = groups.iter().all(|g| *g == groups[0]);
    for ((p, _), g) in out.iter_mut().map(|(p, _, _)| p).zip(groups) {
        p.group = if same { String::new() } else { g };
    }
}

/// Display names of the given paths, unique: the last component, or the last two when two
/// paths end alike (`e1/artifacts`, `e2/artifacts`).
fn root_names(paths: &[PathBuf]) -> Vec<String> {
    let last = |p: &Path, n: usize| {
        let c = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let parts: Vec<String> = c
            .components()
            .rev()
            .take(n)
            .map(|x| x.as_os_str().to_string_lossy().into_owned())
            .collect();
        parts.into_iter().rev().collect::<Vec<_>>().join("/")
    };
    let short: Vec<String> = paths.iter().map(|p| last(p, 1)).collect();
    paths
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if short.iter().filter(|s| **s == short[i]).count() > 1 {
                last(p, 2)
            } else {
                short[i].clone()
            }
        })
        .collect()
}

/// Which given path a file lies under.
fn root_of(path: &Path, paths: &[PathBuf]) -> Option<usize> {
    let canonical = path.canonicalize().ok()?;
    paths
        .iter()
        .position(|p| p.canonicalize().is_ok_and(|c| canonical.starts_with(c)))
}

/// The last two components of a directory, for telling runs apart.
fn short_dir(dir: &Path) -> String {
    let parts: Vec<String> = dir
        .components()
        .rev()
        .take(2)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.into_iter().rev().collect::<Vec<_>>().join("/")
}

/// A point's label: the swept value, else the concurrency, else the directory name.
fn point_name(results: &Results, dir: &Path) -> String {
    if let Some(v) = results.variation() {
        return v;
    }
    if let Some(c) = results.concurrency() {
        return format!("concurrency={c}");
    }
    dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Shell-style glob: `*` any run of characters, `?` one character, everything else literal.
pub fn glob_match(glob: &str, text: &str) -> bool {
    let (g, t): (Vec<char>, Vec<char>) = (glob.chars().collect(), text.chars().collect());
    let (mut gi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if gi < g.len() && (g[gi] == '?' || g[gi] == t[ti]) {
            gi += 1;
            ti += 1;
        } else if gi < g.len() && g[gi] == '*' {
            star = Some((gi, ti));
            gi += 1;
        } else if let Some((sg, st)) = star {
            gi = sg + 1;
            ti = st + 1;
            star = Some((sg, st + 1));
        } else {
            return false;
        }
    }
    g[gi..].iter().all(|c| *c == '*')
}

/// Failed configurations and trials recorded by sweep and aggregate files.
fn failed_cells(found: &Found, notes: &mut Vec<String>) -> Vec<FailedRun> {
    let mut out = Vec::new();
    for path in found.sweeps.iter().chain(&found.aggregates) {
        let Ok(v) = read_json(path) else {
            notes.push(format!("skipped unreadable {}", path.display()));
            continue;
        };
        let list = v
            .get("failed_runs")
            .or_else(|| v.pointer("/metadata/failed_runs"));
        for f in list.and_then(|l| l.as_array()).into_iter().flatten() {
            let label = f
                .get("label")
                .or_else(|| f.get("run_label"))
                .or_else(|| f.get("variation_label"));
            let dir = label
                .and_then(|l| l.as_str())
                .map_or_else(|| f.to_string(), str::to_string);
            let reason = f
                .get("error")
                .or_else(|| f.get("reason"))
                .and_then(|e| e.as_str())
                .unwrap_or("failed")
                .to_string();
            out.push(FailedRun { dir, reason });
        }
    }
    // A sweep's failed cell is listed by both its aggregate and the sweep file.
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| seen.insert((f.dir.clone(), f.reason.clone())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::report_data::Mode;

    /// A run directory with a summary of three metrics and its sweep value.
    fn run(dir: &Path, concurrency: u64, tokens: f64) {
        std::fs::create_dir_all(dir).expect("mkdir");
        let summary = serde_json::json!({
            "output_token_throughput": {"unit": "tokens/sec", "avg": tokens},
            "time_to_first_token": {"unit": "ms", "avg": 10.0 + tokens / 100.0},
            "request_latency": {"unit": "ms", "avg": 100.0},
            "input_config": {"models": ["m"]},
            "run_info": {"variation_values": {"phases.profiling.concurrency": concurrency},
                         "variation_label": format!("phases.profiling.concurrency={concurrency}")}
        });
        std::fs::write(dir.join("profile_export_aiperf.json"), summary.to_string()).expect("write");
    }

    fn groups(data: &ReportData) -> Vec<(String, Option<String>)> {
        data.runs
            .iter()
            .map(|r| (r.name.clone(), r.group.clone()))
            .collect()
    }

    #[test]
    fn two_experiments_with_the_same_folder_name_stay_apart() {
        let t = tempfile::tempdir().expect("tempdir");
        for (e, scale) in [("e1", 1.0), ("e2", 2.0)] {
            for c in [1, 4] {
                run(
                    &t.path()
                        .join(e)
                        .join("artifacts")
                        .join(format!("concurrency_{c}")),
                    c,
                    100.0 * c as f64 * scale,
                );
            }
        }
        let paths = [t.path().join("e1/artifacts"), t.path().join("e2/artifacts")];
        let data = build(&paths, &Options::default()).expect("report");
        assert_eq!(data.mode, Mode::Multi);
        let g = groups(&data);
        assert_eq!(
            g[0],
            (
                "concurrency=1".to_string(),
                Some("e1/artifacts".to_string())
            )
        );
        assert_eq!(
            g[3],
            (
                "concurrency=4".to_string(),
                Some("e2/artifacts".to_string())
            )
        );
        let chart = data
            .charts
            .iter()
            .find(|c| c.id == "ttft_vs_throughput")
            .expect("chart");
        let lines: Vec<&str> = chart
            .series
            .iter()
            .filter(|s| s.stat.as_deref() == Some("avg"))
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(lines, vec!["e1/artifacts avg", "e2/artifacts avg"]);
    }

    #[test]
    fn a_sweep_among_single_runs_is_its_own_line() {
        let t = tempfile::tempdir().expect("tempdir");
        run(&t.path().join("sweep/concurrency_1"), 1, 100.0);
        run(&t.path().join("sweep/concurrency_8"), 8, 400.0);
        run(&t.path().join("c2"), 2, 150.0);
        run(&t.path().join("c16"), 16, 500.0);
        let data = build(&[t.path().to_path_buf()], &Options::default()).expect("report");
        let g = groups(&data);
        assert_eq!(
            g.iter()
                .filter(|(_, g)| g.as_deref() == Some("sweep"))
                .count(),
            2,
            "{g:?}"
        );
        assert_eq!(g.iter().filter(|(_, g)| g.is_none()).count(), 2, "{g:?}");
        // Globs look below the given path only.
        let opts = Options {
            groups: vec![(
                "tmp".into(),
                format!("*{}*", t.path().file_name().unwrap().to_string_lossy()),
            )],
            ..Options::default()
        };
        let data = build(&[t.path().to_path_buf()], &opts).expect("report");
        assert!(groups(&data)
            .iter()
            .all(|(_, g)| g.as_deref() != Some("tmp")));
    }

    #[test]
    fn an_unreadable_summary_is_named_when_nothing_else_is_found() {
        let t = tempfile::tempdir().expect("tempdir");
        std::fs::write(t.path().join("profile_export_aiperf.json"), "not json").expect("write");
        let err = build(&[t.path().to_path_buf()], &Options::default()).expect_err("no runs");
        assert!(
            err.to_string().contains("profile_export_aiperf.json"),
            "{err}"
        );
        assert!(err.to_string().contains("skipped"), "{err}");
    }

    #[test]
    fn globs_match_like_fnmatch() {
        assert!(glob_match("baseline*", "baseline_c4"));
        assert!(glob_match("*_c?", "run_c4"));
        assert!(!glob_match("*_c?", "run_c44"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("a*b", "acd"));
    }

    #[test]
    fn groups_parse_as_name_equals_glob() {
        assert_eq!(
            parse_group("base=runs/a*").ok(),
            Some(("base".into(), "runs/a*".into()))
        );
        assert!(parse_group("nogl").is_err());
        assert!(parse_group("=x").is_err());
    }
}
