//! Which files of the artifact directory a tracker uploads, and under which name: AIPerf's
//! globs matched the way Python's `pathlib.Path.glob` matches them (`*`, `?`, `[...]` within a
//! path segment, `**` for any number of directories, dot files included), each glob's matches
//! sorted by path components, duplicates dropped.
//!
//! Not uploaded: `previous_run/` (an earlier run's files, moved aside by the engine) and
//! `wandb/` (the W&B run directory written by this module's sibling), which are not this run's
//! artifacts.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Top-level directories never uploaded.
const SKIPPED_DIRS: [&str; 2] = ["previous_run", "wandb"];

/// Suffixes MLflow's uploader files under `plots/` (AIPerf's `_PLOT_SUFFIXES`).
const PLOT_SUFFIXES: [&str; 7] = ["png", "jpg", "jpeg", "svg", "gif", "webp", "html"];

/// A file to upload: its path on disk and its path relative to the artifact directory,
/// `/`-separated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArtifactFile {
    pub path: PathBuf,
    pub rel: String,
}

/// The files of `dir` matching `globs`, in AIPerf's order, without `exclude` (relative names).
pub(crate) fn collect(dir: &Path, globs: &[String], exclude: &[&str]) -> Vec<ArtifactFile> {
    let mut files = Vec::new();
    walk(dir, &mut Vec::new(), &mut files);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for glob in globs {
        let pattern: Vec<&str> = glob
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        let mut hits: Vec<&Vec<String>> = files
            .iter()
            .filter(|parts| matches_parts(&pattern, parts))
            .collect();
        hits.sort();
        for parts in hits {
            let rel = parts.join("/");
            if exclude.contains(&rel.as_str()) || !seen.insert(rel.clone()) {
                continue;
            }
            out.push(ArtifactFile {
                path: parts.iter().fold(dir.to_path_buf(), |p, s| p.join(s)),
                rel,
            });
        }
    }
    out
}

/// Every regular file under `dir` (symlinks to files included, symlinked directories not
/// followed), as path components.
fn walk(dir: &Path, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue; // not UTF-8: cannot be named in a URL or a JSON list
        };
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if prefix.is_empty() && SKIPPED_DIRS.contains(&name.as_str()) {
                continue;
            }
            prefix.push(name);
            walk(&entry.path(), prefix, out);
            prefix.pop();
        } else if entry.path().is_file() {
            let mut parts = prefix.clone();
            parts.push(name);
            out.push(parts);
        }
    }
}

/// `pathlib` glob semantics over path components: `**` stands for zero or more directories.
fn matches_parts(pattern: &[&str], path: &[String]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..path.len()).any(|i| matches_parts(rest, &path[i..])),
        Some((seg, rest)) => match path.split_first() {
            Some((first, tail)) => {
                fnmatch(seg.as_bytes(), first.as_bytes()) && matches_parts(rest, tail)
            }
            None => false,
        },
    }
}

/// `fnmatch` within one segment: `*`, `?`, `[seq]`, `[!seq]` (case-sensitive, as on POSIX).
fn fnmatch(pat: &[u8], s: &[u8]) -> bool {
    match pat.first() {
        None => s.is_empty(),
        Some(b'*') => (0..=s.len()).any(|i| fnmatch(&pat[1..], &s[i..])),
        Some(b'?') => !s.is_empty() && fnmatch(&pat[1..], &s[1..]),
        Some(b'[') => match (class(&pat[1..]), s.first()) {
            (Some((set_len, ok)), Some(&c)) => ok(c) && fnmatch(&pat[1 + set_len..], &s[1..]),
            (Some(_), None) => false,
            // An unclosed `[` is a literal, as in fnmatch.
            (None, Some(&c)) => c == b'[' && fnmatch(&pat[1..], &s[1..]),
            (None, None) => false,
        },
        Some(&p) => s.first() == Some(&p) && fnmatch(&pat[1..], &s[1..]),
    }
}

/// A `[...]` class after its `[`: its length including `]`, and its membership test.
#[allow(clippy::type_complexity)]
fn class(p: &[u8]) -> Option<(usize, Box<dyn Fn(u8) -> bool + '_>)> {
    let negate = p.first() == Some(&b'!');
    let start = usize::from(negate);
    // A `]` right after `[` or `[!` is a member.
    let close = p
        .iter()
        .enumerate()
        .skip(start + 1)
        .find(|(_, &b)| b == b']')
        .map(|(i, _)| i)?;
    let set = &p[start..close];
    let test = move |c: u8| {
        let mut hit = false;
        let mut i = 0;
        while i < set.len() {
            if i + 2 < set.len() && set[i + 1] == b'-' {
                hit |= set[i] <= c && c <= set[i + 2];
                i += 3;
            } else {
                hit |= set[i] == c;
                i += 1;
            }
        }
        hit != negate
    };
    Some((close + 1, Box::new(test)))
}

/// Where MLflow's uploader puts a file (AIPerf's `resolve_artifact_path`): `plots/` for
/// pictures and HTML, `exports/` for the rest, keeping the file's subdirectory (without a
/// leading `plots`/`exports` already naming the base).
pub(crate) fn mlflow_dir(rel: &str) -> String {
    let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    let base = if ext.is_some_and(|e| PLOT_SUFFIXES.contains(&e.as_str())) {
        "plots"
    } else {
        "exports"
    };
    let mut parts: Vec<&str> = parent.split('/').filter(|p| !p.is_empty()).collect();
    if parts.first() == Some(&base) {
        parts.remove(0);
    }
    if parts.is_empty() {
        base.to_string()
    } else {
        format!("{base}/{}", parts.join("/"))
    }
}

/// Python's `mimetypes.guess_type` for the files AIPerf writes; MLflow sends
/// `application/octet-stream` for anything it does not know.
pub(crate) fn content_type(rel: &str) -> &'static str {
    let ext = rel.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("json") => "application/json",
        Some("csv") => "text/csv",
        Some("txt") | Some("log") => "text/plain",
        Some("html") => "text/html",
        Some("png") => "image/png",
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("svg") => "image/svg+xml",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("yaml") | Some("yml") => "application/yaml",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path, globs: &[&str]) -> Vec<String> {
        let globs: Vec<String> = globs.iter().map(|g| g.to_string()).collect();
        collect(dir, &globs, &["mlflow_export.json"])
            .into_iter()
            .map(|f| f.rel)
            .collect()
    }

    #[test]
    fn globs_match_as_pathlib_does() {
        let d = tempfile::tempdir().unwrap();
        for f in [
            "b.json",
            "a.json",
            ".hidden.json",
            "mlflow_export.json",
            "x_timeslices.csv",
            "r.jsonl",
            "plots/p.png",
            "plots/deep/q.png",
            "top.png",
            "previous_run/old.json",
            "previous_run/old.png",
            "wandb/run/files/w.png",
            "sub/c.json",
        ] {
            let p = d.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"x").unwrap();
        }
        let defaults: Vec<&str> = aiperf_config::resolve::Tracking::DEFAULT_ARTIFACT_GLOBS.to_vec();
        assert_eq!(
            names(d.path(), &defaults),
            [
                ".hidden.json",
                "a.json",
                "b.json",
                "x_timeslices.csv",
                "r.jsonl",
                "plots/deep/q.png",
                "plots/p.png",
                "top.png",
            ]
        );
        assert_eq!(
            names(d.path(), &["sub/*.json", "[ab].json", "?.json"]),
            ["sub/c.json", "a.json", "b.json"]
        );
        assert_eq!(names(d.path(), &["[!a].json"]), ["b.json"]);
        assert!(
            names(d.path(), &["**"]).is_empty(),
            "`**` alone names directories"
        );
    }

    #[test]
    fn mlflow_dirs_follow_aiperfs_resolve_artifact_path() {
        assert_eq!(mlflow_dir("profile_export_aiperf.json"), "exports");
        assert_eq!(mlflow_dir("plots/ttft.png"), "plots");
        assert_eq!(mlflow_dir("plots/deep/ttft.PNG"), "plots/deep");
        assert_eq!(mlflow_dir("sub/report.html"), "plots/sub");
        assert_eq!(mlflow_dir("exports/x/a.csv"), "exports/x");
        assert_eq!(mlflow_dir("plots/a.csv"), "exports/plots");
    }
}
