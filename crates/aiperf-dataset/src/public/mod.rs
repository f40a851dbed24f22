//! `--public-dataset NAME`: AIPerf's named public datasets, downloaded from the Hugging Face
//! Hub into its standard cache (honouring `HF_ENDPOINT`, `HF_HUB_CACHE`/`HF_HOME`,
//! `HF_HUB_OFFLINE`, `HF_TOKEN`) and turned into conversations as AIPerf's loaders do.
//!
//! - [`catalog`]: every name, its repo, split, subset and row shape;
//! - [`files`]: which of the repo's files hold the split (the `datasets` library's rules);
//! - [`rows`]: Parquet / JSON Lines / JSON / CSV rows, only the columns needed.

pub mod catalog;
pub mod files;
pub mod rows;

use std::path::{Path, PathBuf};

use aiperf_core::{Conversation, Turn};
use aiperf_hub::{HubConfig, HubError, RepoKind};
use serde_json::Value;

pub use catalog::{find, supported_names, PublicDataset, Shape, CATALOG};

use crate::loader::{LoadContext, LoadError};

/// The ShareGPT file, as AIPerf names it.
pub const SHAREGPT_FILE: &str = "ShareGPT_V3_unfiltered_cleaned_split.json";

/// Where AIPerf 0.13 keeps the ShareGPT file it downloaded (relative to the working
/// directory); used when present so a machine that ran AIPerf downloads nothing again.
pub const AIPERF_SHAREGPT_CACHE: &str =
    ".cache/aiperf/datasets/ShareGPT_V3_unfiltered_cleaned_split.json";

/// Why a public dataset could not be had.
#[derive(Debug, thiserror::Error)]
pub enum PublicError {
    #[error("--public-dataset {name}: {source}")]
    Hub {
        name: String,
        #[source]
        source: HubError,
    },
    #[error("--public-dataset {name}: the Hub dataset '{repo}' {reason}")]
    Files {
        name: String,
        repo: String,
        reason: String,
    },
    #[error("--public-dataset {name}: not available in this build: {reason}")]
    Unsupported { name: String, reason: String },
}

/// A public dataset's data files on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The repo commit they come from (`local` for AIPerf's own ShareGPT copy).
    pub commit: String,
    pub files: Vec<PathBuf>,
}

/// Finds `ds`'s files for `subset` (else its default) in the cache, downloading what is
/// missing. Blocking (the Hub client runs its own small runtime).
pub fn fetch(
    hub: &HubConfig,
    ds: &PublicDataset,
    subset: Option<&str>,
) -> Result<Fetched, PublicError> {
    let hub_err = |source| PublicError::Hub {
        name: ds.name.to_string(),
        source,
    };
    match ds.shape {
        Shape::Unsupported(reason) => Err(PublicError::Unsupported {
            name: ds.name.to_string(),
            reason: reason.to_string(),
        }),
        Shape::ShareGpt => {
            let aiperf_copy = Path::new(AIPERF_SHAREGPT_CACHE);
            if aiperf_copy.is_file() {
                return Ok(Fetched {
                    commit: "local".into(),
                    files: vec![aiperf_copy.to_path_buf()],
                });
            }
            let path = match aiperf_hub::cached_file_of(
                &hub.cache_dir,
                RepoKind::Dataset,
                ds.repo,
                "main",
                SHAREGPT_FILE,
            ) {
                Some(p) => p,
                None => {
                    tracing::info!("downloading {SHAREGPT_FILE} of {} from the Hub", ds.repo);
                    aiperf_hub::download_of(hub, RepoKind::Dataset, ds.repo, "main", SHAREGPT_FILE)
                        .map_err(hub_err)?
                }
            };
            Ok(Fetched {
                commit: "main".into(),
                files: vec![path],
            })
        }
        Shape::InstructionResponse { .. } | Shape::MtBench => {
            let listing = match aiperf_hub::cached_repo_files(
                &hub.cache_dir,
                RepoKind::Dataset,
                ds.repo,
                "main",
            ) {
                // Offline, the cached snapshot is all there is; online, the Hub says what the
                // revision holds now.
                Some(l) if hub.offline => l,
                _ => aiperf_hub::repo_files(hub, RepoKind::Dataset, ds.repo, "main")
                    .map_err(hub_err)?,
            };
            let get = |file: &str| -> Result<PathBuf, PublicError> {
                match aiperf_hub::cached_file_of(
                    &hub.cache_dir,
                    RepoKind::Dataset,
                    ds.repo,
                    &listing.commit,
                    file,
                ) {
                    Some(p) => Ok(p),
                    None => {
                        tracing::info!("downloading {file} of {} from the Hub", ds.repo);
                        aiperf_hub::download_of(
                            hub,
                            RepoKind::Dataset,
                            ds.repo,
                            &listing.commit,
                            file,
                        )
                        .map_err(hub_err)
                    }
                }
            };
            let readme = match listing.files.iter().any(|f| f == "README.md") {
                true => Some(
                    aiperf_core::textfile::read_to_string(&get("README.md")?).map_err(|e| {
                        PublicError::Files {
                            name: ds.name.to_string(),
                            repo: ds.repo.to_string(),
                            reason: format!("README.md unreadable: {e}"),
                        }
                    })?,
                ),
                false => None,
            };
            let chosen = files::select(
                &listing.files,
                readme.as_deref(),
                subset.or(ds.subset),
                ds.split,
            )
            .map_err(|e| PublicError::Files {
                name: ds.name.to_string(),
                repo: ds.repo.to_string(),
                reason: e.to_string(),
            })?;
            let files = chosen
                .iter()
                .map(|f| get(f))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Fetched {
                commit: listing.commit,
                files,
            })
        }
    }
}

/// `ds`'s conversations from its fetched files.
pub fn load(
    ds: &PublicDataset,
    fetched: &Fetched,
    ctx: &LoadContext<'_>,
) -> Result<Vec<Conversation>, LoadError> {
    let first = fetched
        .files
        .first()
        .ok_or_else(|| LoadError::file(Path::new(ds.repo), "no data files"))?;
    let mut out = Vec::new();
    match ds.shape {
        Shape::ShareGpt => return crate::loader::sharegpt::load(first, ctx),
        Shape::Unsupported(reason) => return Err(LoadError::file(Path::new(ds.repo), reason)),
        Shape::InstructionResponse {
            prompt_column,
            template,
        } => {
            let placeholders = template.map(placeholders).unwrap_or_default();
            let columns: Vec<&str> = match template {
                Some(_) => placeholders.iter().map(String::as_str).collect(),
                None => vec![prompt_column],
            };
            for file in &fetched.files {
                rows::read(file, &columns, &mut |_, row| {
                    let prompt = match template {
                        Some(t) => fill(t, &row),
                        None => row.get(prompt_column).map(as_text).unwrap_or_default(),
                    };
                    if !prompt.trim().is_empty() {
                        let turn = Turn {
                            texts: vec![prompt],
                            ..Default::default()
                        };
                        out.push(Conversation::single(
                            format!("{}_{:06}", ds.name, out.len()),
                            turn,
                        ));
                    }
                    Ok(())
                })?;
            }
        }
        Shape::MtBench => {
            for file in &fetched.files {
                rows::read(file, &["prompt"], &mut |_, row| {
                    let Some(Value::Array(items)) = row.get("prompt") else {
                        return Ok(());
                    };
                    let turns: Vec<Turn> = items
                        .iter()
                        .map(|t| as_text(t).trim().to_string())
                        .filter(|t| !t.is_empty())
                        .map(|t| Turn {
                            texts: vec![t],
                            ..Default::default()
                        })
                        .collect();
                    if !turns.is_empty() {
                        out.push(Conversation {
                            session_id: format!("{}_{:06}", ds.name, out.len()),
                            turns,
                            ..Default::default()
                        });
                    }
                    Ok(())
                })?;
            }
        }
    }
    if out.is_empty() {
        return Err(LoadError::file(
            first,
            format!(
                "no rows with a non-empty prompt in {} (split '{}')",
                ds.repo, ds.split
            ),
        ));
    }
    Ok(out)
}

/// A cell as prompt text: strings as they are, anything else as JSON (Python's `str()` of a
/// number is the same).
fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The `{name}` placeholders of a Python format string (`{{` and `}}` are literal braces).
fn placeholders(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('{') {
            if let Some(end) = tail.find('}') {
                let name = tail[1..end].to_string();
                if !out.contains(&name) {
                    out.push(name);
                }
                rest = &tail[end + 1..];
                continue;
            }
        }
        rest = &tail[1..];
    }
    out
}

/// `template` with each `{name}` replaced by the row's value (Python `str.format(**row)`).
fn fill(template: &str, row: &rows::Row) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("{{") {
            out.push('{');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            out.push('}');
            rest = after;
        } else if let (true, Some(end)) = (tail.starts_with('{'), tail.find('}')) {
            out.push_str(&row.get(&tail[1..end]).map(as_text).unwrap_or_default());
            rest = &tail[end + 1..];
        } else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_like_python_format() {
        let t = "Fix {code} per {change_request}; keep {{braces}} and {code} again";
        assert_eq!(placeholders(t), vec!["code", "change_request"]);
        let mut row = rows::Row::new();
        row.insert("code".into(), Value::from("x = 1"));
        row.insert("change_request".into(), Value::from("use 2"));
        assert_eq!(
            fill(t, &row),
            "Fix x = 1 per use 2; keep {braces} and x = 1 again"
        );
        row.insert("code".into(), Value::from(7));
        assert!(fill("{code}", &row) == "7");
    }

    #[test]
    fn every_supported_name_has_a_repo_and_split() {
        for d in CATALOG {
            assert!(!d.split.is_empty(), "{}", d.name);
            if !matches!(d.shape, Shape::Unsupported(_)) {
                assert!(aiperf_hub::is_repo_id(d.repo), "{}", d.name);
            }
        }
        assert_eq!(find("spec_al_gsm8k").map(|d| d.subset), Some(Some("main")));
        assert!(supported_names().starts_with("sharegpt, aimo, aimo_aime"));
    }
}
