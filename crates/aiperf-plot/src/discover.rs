//! Finding runs under the paths given to `aiperf plot`, by what the directories hold rather
//! than by fixed names, so prefixed exports, re-runs, repeated trials and sweeps are all found
//! (docs/design/plots.md §2.1).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::artifacts::RunFiles;
use crate::error::PlotError;
use crate::report_data::FailedRun;

/// Directories never searched: earlier runs moved aside, our own output, logs.
const SKIPPED_DIRS: [&str; 3] = ["previous_run", "plots", "logs"];
/// How deep a search goes below a given path (a sweep of trials is 3 levels deep).
const MAX_DEPTH: usize = 8;

const SUMMARY: &str = "profile_export_aiperf.json";
const RECORDS: &str = "profile_export.jsonl";
const AGGREGATE: &str = "profile_export_aiperf_aggregate.json";
const SWEEP: &str = "profile_export_aiperf_sweep.json";

/// JSON files of a run directory that are never a prefixed summary.
const NOT_SUMMARIES: [&str; 6] = [
    "_timeslices.json",
    "_server_metrics.json",
    "_aggregate.json",
    "_sweep.json",
    "inputs.json",
    "_export.json",
];

/// What a search found.
#[derive(Debug, Default)]
pub struct Found {
    /// Run directories with a summary, in path order.
    pub runs: Vec<FoundRun>,
    /// `profile_export_aiperf_aggregate.json` files (a configuration's trials).
    pub aggregates: Vec<PathBuf>,
    /// `profile_export_aiperf_sweep.json` files.
    pub sweeps: Vec<PathBuf>,
    /// Directories with records but no summary.
    pub failed: Vec<FailedRun>,
}

/// A run directory and the given path it was found under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundRun {
    pub files: RunFiles,
    /// Index into the paths given.
    pub root: usize,
}

/// Searches `paths` for runs. A path that is itself a run directory is taken as given (even a
/// `previous_run/`); otherwise its tree is searched.
pub fn discover(paths: &[PathBuf]) -> Result<Found, PlotError> {
    let mut found = Found::default();
    let mut seen = HashSet::new();
    for (root, path) in paths.iter().enumerate() {
        if !path.exists() {
            return Err(PlotError::Missing(path.clone()));
        }
        if path.is_file() {
            // A summary file given directly stands for its directory.
            let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
            visit(&dir, root, 0, true, &mut found, &mut seen);
        } else {
            visit(path, root, 0, true, &mut found, &mut seen);
        }
    }
    found
        .runs
        .sort_by(|a, b| (a.root, &a.files.dir).cmp(&(b.root, &b.files.dir)));
    found.aggregates.sort();
    Ok(found)
}

/// Orders names as people do: `concurrency_4` before `concurrency_16` (digit runs compared as
/// numbers), so sweeps are listed in the order they were swept.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        let (Some(ca), Some(cb)) = (a.chars().next(), b.chars().next()) else {
            return a.len().cmp(&b.len());
        };
        let ord = if ca.is_ascii_digit() && cb.is_ascii_digit() {
            let da = a.len() - a.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let db = b.len() - b.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let (na, nb) = (
                a[..da].trim_start_matches('0'),
                b[..db].trim_start_matches('0'),
            );
            let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            a = &a[da..];
            b = &b[db..];
            ord
        } else {
            a = &a[ca.len_utf8()..];
            b = &b[cb.len_utf8()..];
            ca.cmp(&cb)
        };
        if ord != std::cmp::Ordering::Equal {
            return ord;
        }
    }
}

fn visit(
    dir: &Path,
    root: usize,
    depth: usize,
    given: bool,
    found: &mut Found,
    seen: &mut HashSet<PathBuf>,
) {
    // Symbolic-link loops and a directory given twice are visited once.
    let Ok(canonical) = dir.canonicalize() else {
        return;
    };
    if !seen.insert(canonical) {
        return;
    }
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if !given && SKIPPED_DIRS.contains(&name) {
        return;
    }
    if dir.join(AGGREGATE).is_file() {
        found.aggregates.push(dir.join(AGGREGATE));
    }
    if dir.join(SWEEP).is_file() {
        found.sweeps.push(dir.join(SWEEP));
    }
    if let Some(files) = run_files(dir) {
        found.runs.push(FoundRun { files, root });
        return;
    }
    if dir.join(RECORDS).is_file() {
        found.failed.push(FailedRun {
            dir: dir.display().to_string(),
            reason:
                "records but no summary: the run did not finish (killed, crashed or still running)"
                    .into(),
        });
    }
    if depth >= MAX_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    // Symbolic links are not followed below a given path: `/proc/N/cwd` and friends would
    // take the search out of the tree.
    let mut subdirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    subdirs.sort();
    for sub in subdirs {
        visit(&sub, root, depth + 1, false, found, seen);
    }
}

/// The run files of `dir`, if it is a run directory: AIPerf's names, or `PREFIX.json` with
/// `input_config` beside `PREFIX.jsonl` (`--profile-export-prefix`).
pub fn run_files(dir: &Path) -> Option<RunFiles> {
    let summary = dir.join(SUMMARY);
    if summary.is_file() {
        let records = dir.join(RECORDS);
        return Some(RunFiles {
            dir: dir.to_path_buf(),
            summary,
            records: records.is_file().then_some(records),
        });
    }
    let entries = std::fs::read_dir(dir).ok()?;
    let mut candidates: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".json")
                && !NOT_SUMMARIES.iter().any(|s| name.ends_with(s))
                && p.with_extension("jsonl").is_file()
        })
        .collect();
    candidates.sort();
    candidates.into_iter().find_map(|summary| {
        let has_config = crate::artifacts::read_json(&summary)
            .ok()?
            .get("input_config")
            .is_some();
        has_config.then(|| RunFiles {
            dir: dir.to_path_buf(),
            records: Some(summary.with_extension("jsonl")),
            summary,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    fn run(dir: &Path) {
        touch(&dir.join(SUMMARY), r#"{"input_config": {}}"#);
        touch(&dir.join(RECORDS), "");
    }

    fn names(found: &Found, base: &Path) -> Vec<String> {
        found
            .runs
            .iter()
            .map(|r| {
                r.files
                    .dir
                    .strip_prefix(base)
                    .expect("under base")
                    .display()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn a_rerun_directory_is_one_run_not_two() {
        let t = tempfile::tempdir().expect("tempdir");
        run(t.path());
        run(&t.path().join("previous_run"));
        let found = discover(&[t.path().to_path_buf()]).expect("found");
        assert_eq!(names(&found, t.path()), vec![""]);
        // Asked for by name, the earlier run is found.
        let found = discover(&[t.path().join("previous_run")]).expect("found");
        assert_eq!(found.runs.len(), 1);
    }

    #[test]
    fn repeated_runs_and_a_sweep_of_trials_are_found_with_their_aggregates() {
        let t = tempfile::tempdir().expect("tempdir");
        let b = t.path();
        for trial in ["trial_0001", "trial_0002"] {
            for c in ["concurrency_1", "concurrency_4"] {
                run(&b.join("profile_runs").join(trial).join(c));
            }
        }
        touch(&b.join("aggregate/concurrency_1").join(AGGREGATE), "{}");
        touch(&b.join("aggregate/concurrency_4").join(AGGREGATE), "{}");
        touch(&b.join("aggregate/sweep_aggregate").join(SWEEP), "{}");
        touch(&b.join("logs/aiperf.log"), "");
        let found = discover(&[b.to_path_buf()]).expect("found");
        assert_eq!(
            names(&found, b),
            vec![
                "profile_runs/trial_0001/concurrency_1",
                "profile_runs/trial_0001/concurrency_4",
                "profile_runs/trial_0002/concurrency_1",
                "profile_runs/trial_0002/concurrency_4",
            ]
        );
        assert_eq!(found.aggregates.len(), 2);
        assert_eq!(found.sweeps.len(), 1);
    }

    #[test]
    fn prefixed_exports_and_killed_runs_are_recognised() {
        let t = tempfile::tempdir().expect("tempdir");
        let b = t.path();
        touch(
            &b.join("a/my_run.json"),
            r#"{"input_config": {"models": ["m"]}}"#,
        );
        touch(&b.join("a/my_run.jsonl"), "");
        touch(&b.join("a/my_run_timeslices.json"), "{}");
        // A JSON beside a JSONL without input_config is not a summary.
        touch(&b.join("b/data.json"), r#"{"rows": []}"#);
        touch(&b.join("b/data.jsonl"), "");
        touch(&b.join("killed").join(RECORDS), "{}\n");
        let found = discover(&[b.to_path_buf()]).expect("found");
        assert_eq!(names(&found, b), vec!["a"]);
        assert_eq!(
            found.runs[0].files.timeslices(),
            Some(b.join("a/my_run_timeslices.json"))
        );
        assert_eq!(found.failed.len(), 1);
        assert!(found.failed[0].dir.ends_with("killed"));
    }

    #[test]
    fn sweeps_sort_by_their_numbers() {
        let mut v = vec!["c_16", "c_4", "c_1", "c_32", "c_04x", "b"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, vec!["b", "c_1", "c_4", "c_04x", "c_16", "c_32"]);
        assert_eq!(
            natural_cmp("rate_2.5", "rate_10.0"),
            std::cmp::Ordering::Less
        );
    }

    #[test]
    fn a_missing_path_is_named() {
        let err = discover(&[PathBuf::from("/no/such/dir")]).expect_err("missing");
        assert!(err.to_string().contains("/no/such/dir"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_below_a_given_path_are_not_followed() {
        let t = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        run(&t.path().join("r"));
        run(&outside.path().join("elsewhere"));
        std::os::unix::fs::symlink(t.path(), t.path().join("loop")).expect("symlink");
        std::os::unix::fs::symlink(outside.path(), t.path().join("out")).expect("symlink");
        let found = discover(&[t.path().to_path_buf()]).expect("found");
        assert_eq!(names(&found, t.path()), vec!["r"]);
        // Given by name, a link is followed.
        let found = discover(&[t.path().join("out")]).expect("found");
        assert_eq!(found.runs.len(), 1);
    }
}
