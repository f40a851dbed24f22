//! `--public-dataset NAME`: AIPerf's named public datasets, downloaded from the Hugging Face
//! Hub into its standard cache (honouring `HF_ENDPOINT`, `HF_HUB_CACHE`/`HF_HOME`,
//! `HF_HUB_OFFLINE`, `HF_TOKEN`) and turned into conversations as AIPerf's loaders do.
//!
//! - [`catalog`]: every name, its repo, split, subset and row shape;
//! - [`files`]: which of the repo's files hold the split (the `datasets` library's rules);
//! - [`rows`]: Parquet / JSON Lines / JSON / CSV rows, only the columns needed;
//! - [`media`]: images, audio and videos of rows, encoded as AIPerf sends them;
//! - [`speed_bench`]: SPEED-Bench JSONL files (`--custom-dataset-type speed_bench_*`).

pub mod catalog;
pub mod files;
pub mod media;
pub mod rows;
pub mod speed_bench;

#[cfg(test)]
mod media_tests;

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

/// Spec-Bench's questions, pinned to the commit AIPerf 0.13 reads (`SpecBenchLoader.url`).
pub const SPEC_BENCH_URL: &str = "https://raw.githubusercontent.com/hemingkx/Spec-Bench/fd2c1cd7d2201ef71db4c5f4e455008f017967bf/data/spec_bench/question.jsonl";

/// Where AIPerf 0.13 keeps Spec-Bench once downloaded (relative to the working directory);
/// read when present, written after a download, as AIPerf does.
pub const AIPERF_SPEC_BENCH_CACHE: &str = ".cache/aiperf/datasets/spec_bench.jsonl";

/// `AIPERF_SPEC_BENCH_URL` overrides where Spec-Bench is downloaded from (a mirror, or a test
/// server); else [`SPEC_BENCH_URL`].
pub fn spec_bench_url() -> String {
    std::env::var("AIPERF_SPEC_BENCH_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| SPEC_BENCH_URL.to_string())
}

/// The prompt AIPerf sends with every ASR clip (`_ASR_PROMPT`).
pub const ASR_PROMPT: &str = "Transcribe this audio.";

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
    /// Spec-Bench is not cached: the caller downloads `url` to `dest` (HTTP lives in the
    /// engine) and asks again.
    #[error("--public-dataset {name}: {dest} is missing; download {url}")]
    NotDownloaded {
        name: String,
        url: String,
        dest: PathBuf,
    },
}

/// What reading a public dataset takes from the run besides its files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadOptions {
    /// `--dataset-filter` for Exgentic (`harness`, `source_model`, `benchmark`).
    pub exgentic_filters: crate::loader::weka::exgentic::Filters,
    /// Whether the run replays on a fixed schedule (Exgentic then times each span).
    pub fixed_schedule: bool,
}

/// AIPerf's `default_block_size` of its Weka public datasets (it overrides the traces' own).
const WEKA_BLOCK_SIZE: usize = 64;

/// Every row of every file, whole (agent-trace formats read all their columns).
fn whole_rows(fetched: &Fetched) -> Result<Vec<Value>, LoadError> {
    Ok(rows::all_rows(&fetched.files)?
        .into_iter()
        .map(Value::Object)
        .collect())
}

/// A public dataset's data files on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The repo commit they come from (`local` for AIPerf's own ShareGPT copy).
    pub commit: String,
    pub files: Vec<PathBuf>,
    /// The most conversations to build (streaming datasets: the run's need), as AIPerf's
    /// `_max_conversations`.
    pub limit: Option<usize>,
}

/// Finds `ds`'s files for `subset` (else its default) in the cache, downloading what is
/// missing. For a streaming dataset ([`PublicDataset::streaming`]) with a `limit`, Parquet
/// files are fetched in order only until they hold `limit` rows, as `datasets` streaming reads
/// no further. Blocking (the Hub client runs its own small runtime).
pub fn fetch(
    hub: &HubConfig,
    ds: &PublicDataset<'_>,
    subset: Option<&str>,
    limit: Option<usize>,
) -> Result<Fetched, PublicError> {
    let limit = limit.filter(|_| ds.streaming());
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
                    limit,
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
                limit,
            })
        }
        Shape::SpecBench => {
            let cached = Path::new(AIPERF_SPEC_BENCH_CACHE);
            if cached.is_file() {
                return Ok(Fetched {
                    commit: "local".into(),
                    files: vec![cached.to_path_buf()],
                    limit,
                });
            }
            Err(PublicError::NotDownloaded {
                name: ds.name.to_string(),
                url: spec_bench_url(),
                dest: cached.to_path_buf(),
            })
        }
        Shape::InstructionResponse { .. }
        | Shape::MtBench
        | Shape::Conversation { .. }
        | Shape::Asr { .. }
        | Shape::Mmvu { .. }
        | Shape::WekaTraces
        | Shape::Exgentic(_) => {
            let req = SplitRequest {
                repo: ds.repo,
                revision: ds.revision,
                subset: subset.or(ds.subset),
                split: ds.split,
                data_files: None,
                limit,
            };
            fetch_split(hub, &req).map_err(|e| match e {
                SplitError::Hub(source) => PublicError::Hub {
                    name: ds.name.to_string(),
                    source,
                },
                SplitError::Files { repo, reason } => PublicError::Files {
                    name: ds.name.to_string(),
                    repo,
                    reason,
                },
            })
        }
    }
}

/// Why a split's files could not be had (the caller names its flag).
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error(transparent)]
    Hub(#[from] HubError),
    #[error("the Hub dataset '{repo}' {reason}")]
    Files { repo: String, reason: String },
}

/// One split of a Hub dataset repo, as `datasets.load_dataset(repo, subset, split=split)`
/// names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitRequest<'a> {
    pub repo: &'a str,
    pub revision: &'a str,
    pub subset: Option<&'a str>,
    pub split: &'a str,
    /// `load_dataset(..., data_files=...)`: globs over the repo's files that replace the
    /// README's and the file names' choice.
    pub data_files: Option<&'a [String]>,
    /// Stop fetching Parquet files once they hold this many rows (streaming datasets).
    pub limit: Option<usize>,
}

/// The split's data files on this machine, fetched into the Hub cache when missing (offline,
/// from the cached snapshot only). Blocking.
pub fn fetch_split(hub: &HubConfig, req: &SplitRequest<'_>) -> Result<Fetched, SplitError> {
    let files_err = |reason: String| SplitError::Files {
        repo: req.repo.to_string(),
        reason,
    };
    let listing = match aiperf_hub::cached_repo_files(
        &hub.cache_dir,
        RepoKind::Dataset,
        req.repo,
        req.revision,
    ) {
        // Offline, the cached snapshot is all there is; online, the Hub says what the
        // revision holds now.
        Some(l) if hub.offline => l,
        _ => aiperf_hub::repo_files(hub, RepoKind::Dataset, req.repo, req.revision)?,
    };
    let get = |file: &str| -> Result<PathBuf, SplitError> {
        match aiperf_hub::cached_file_of(
            &hub.cache_dir,
            RepoKind::Dataset,
            req.repo,
            &listing.commit,
            file,
        ) {
            Some(p) => Ok(p),
            None => {
                tracing::info!("downloading {file} of {} from the Hub", req.repo);
                Ok(aiperf_hub::download_of(
                    hub,
                    RepoKind::Dataset,
                    req.repo,
                    &listing.commit,
                    file,
                )?)
            }
        }
    };
    let chosen = match req.data_files {
        Some(globs) => {
            let picked: Vec<String> = listing
                .files
                .iter()
                .filter(|f| globs.iter().any(|g| files::glob_match(g, f)))
                .cloned()
                .collect();
            if picked.is_empty() {
                return Err(files_err(format!(
                    "has no file matching {}",
                    globs.join(", ")
                )));
            }
            picked
        }
        None => {
            // `datasets` 5 (AIPerf 0.13's) refuses repos with a loading script, whatever else
            // they hold.
            let script = format!("{}.py", req.repo.rsplit('/').next().unwrap_or(req.repo));
            if listing.files.contains(&script) {
                return Err(files_err(format!(
                    "is based on a loading script ({script}); dataset scripts are no longer supported by the `datasets` library AIPerf uses, so AIPerf cannot read it either"
                )));
            }
            let readme = match listing.files.iter().any(|f| f == "README.md") {
                true => Some(
                    aiperf_core::textfile::read_to_string(&get("README.md")?)
                        .map_err(|e| files_err(format!("README.md unreadable: {e}")))?,
                ),
                false => None,
            };
            files::select(&listing.files, readme.as_deref(), req.subset, req.split)
                .map_err(|e| files_err(e.to_string()))?
        }
    };
    let mut files = Vec::new();
    let mut rows = 0usize;
    for f in &chosen {
        if req.limit.is_some_and(|l| rows >= l) {
            break;
        }
        let path = get(f)?;
        rows = rows.saturating_add(parquet_rows(&path).unwrap_or(0));
        files.push(path);
    }
    Ok(Fetched {
        commit: listing.commit,
        files,
        limit: req.limit,
    })
}

/// The row count a Parquet file's footer gives; `None` for other files.
fn parquet_rows(path: &Path) -> Option<usize> {
    if !path
        .to_string_lossy()
        .to_ascii_lowercase()
        .ends_with(".parquet")
    {
        return None;
    }
    let file = std::fs::File::open(path).ok()?;
    let reader = parquet::file::reader::SerializedFileReader::new(file).ok()?;
    use parquet::file::reader::FileReader;
    usize::try_from(reader.metadata().file_metadata().num_rows()).ok()
}

/// A message's text (`_text_from_message_dict`): a string under `key`, `<image>` tags removed,
/// trimmed; `None` when empty or not a string.
fn message_text(msg: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    let text = msg.get(key)?.as_str()?.replace("<image>", "");
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// The first user message's text of a conversation cell (`_extract_first_message`): turns
/// wrapped in lists (VisionArena) unwrapped; the first `user`/`human` message by `role` or
/// `from`, else the first message when none has such a role.
fn first_user_text(messages: &Value, key: &str) -> Option<String> {
    let normalized: Vec<&serde_json::Map<String, Value>> = messages
        .as_array()?
        .iter()
        .filter_map(|item| match item {
            Value::Array(a) => a.first(),
            v => Some(v),
        })
        .filter_map(Value::as_object)
        .filter(|m| !m.is_empty())
        .collect();
    let role = |m: &serde_json::Map<String, Value>| {
        [m.get("role"), m.get("from")]
            .into_iter()
            .flatten()
            .find_map(|v| v.as_str().filter(|s| !s.is_empty()))
            .unwrap_or("")
            .to_lowercase()
    };
    match normalized
        .iter()
        .find(|m| matches!(role(m).as_str(), "user" | "human"))
    {
        Some(m) => message_text(m, key),
        None => message_text(normalized.first()?, key),
    }
}

/// Python truthiness of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// MMVU's prompt (`MMVUDatasetLoader._format_prompt`): the question, then `A.x B.y ...` for
/// the non-empty choices.
fn mmvu_prompt(row: &rows::Row) -> String {
    let question = row
        .get("question")
        .filter(|v| truthy(v))
        .map(as_text)
        .unwrap_or_default()
        .trim()
        .to_string();
    let Some(Value::Object(choices)) = row.get("choices") else {
        return question;
    };
    let choices = choices
        .iter()
        .filter(|(_, v)| truthy(v))
        .map(|(k, v)| format!("{k}.{}", as_text(v)))
        .collect::<Vec<_>>()
        .join(" ");
    match (question.is_empty(), choices.is_empty()) {
        (false, false) => format!("{question} {choices}"),
        (false, true) => question,
        _ => choices,
    }
}

/// `ds`'s conversations from its fetched files.
pub fn load(
    ds: &PublicDataset<'_>,
    fetched: &Fetched,
    ctx: &LoadContext<'_>,
    opts: &LoadOptions,
) -> Result<Vec<Conversation>, LoadError> {
    let first = fetched
        .files
        .first()
        .ok_or_else(|| LoadError::file(Path::new(ds.repo), "no data files"))?;
    let mut out = Vec::new();
    match ds.shape {
        Shape::ShareGpt => return crate::loader::sharegpt::load(first, ctx),
        Shape::WekaTraces => {
            let rows = whole_rows(fetched)?;
            return crate::loader::weka::from_rows(rows, ds.repo, Some(WEKA_BLOCK_SIZE), ctx);
        }
        Shape::Exgentic(version) => {
            let rows = whole_rows(fetched)?;
            return crate::loader::weka::exgentic::from_rows(
                rows,
                version,
                &opts.exgentic_filters,
                opts.fixed_schedule,
                fetched.limit,
            )
            .map_err(|e| LoadError::file(Path::new(ds.repo), e));
        }
        Shape::Unsupported(reason) => return Err(LoadError::file(Path::new(ds.repo), reason)),
        Shape::InstructionResponse {
            prompt_column,
            template,
            image_column,
        } => {
            let placeholders = template.map(placeholders).unwrap_or_default();
            let mut columns: Vec<&str> = match template {
                Some(_) => placeholders.iter().map(String::as_str).collect(),
                None => vec![prompt_column],
            };
            columns.extend(image_column.filter(|c| !columns.contains(c)));
            for file in &fetched.files {
                rows::read(file, &columns, &mut |_, row| {
                    let prompt = match template {
                        Some(t) => fill(t, &row),
                        None => row.get(prompt_column).map(as_text).unwrap_or_default(),
                    };
                    if !prompt.trim().is_empty() {
                        let images = image_column.and_then(|c| row.get(c)).and_then(media::image);
                        let turn = Turn {
                            texts: vec![prompt],
                            images: images.into_iter().collect(),
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
        Shape::Conversation {
            column,
            content_key,
            image_column,
        } => {
            read_capped(
                fetched,
                &[column, image_column],
                &mut |row| {
                    let image = row.get(image_column).and_then(media::image);
                    let prompt = row
                        .get(column)
                        .and_then(|m| first_user_text(m, content_key))?;
                    Some(Turn {
                        texts: vec![prompt],
                        images: image.into_iter().collect(),
                        ..Default::default()
                    })
                },
                &mut out,
                ds.name,
            )?;
        }
        Shape::Asr { audio_column } => {
            read_capped(
                fetched,
                &[audio_column],
                &mut |row| {
                    let (audio, _secs) = media::asr_audio(row.get(audio_column)?)?;
                    Some(Turn {
                        texts: vec![ASR_PROMPT.to_string()],
                        audios: vec![audio],
                        ..Default::default()
                    })
                },
                &mut out,
                ds.name,
            )?;
        }
        Shape::Mmvu { video_column } => {
            read_capped(
                fetched,
                &["question", "choices", video_column],
                &mut |row| {
                    let prompt = mmvu_prompt(row);
                    if prompt.is_empty() {
                        return None;
                    }
                    let Some(video) = row.get(video_column).and_then(media::video) else {
                        tracing::warn!("Row has no video in column '{video_column}' — skipping.");
                        return None;
                    };
                    Some(Turn {
                        texts: vec![prompt],
                        videos: vec![video],
                        ..Default::default()
                    })
                },
                &mut out,
                ds.name,
            )?;
        }
        Shape::SpecBench => {
            read_capped(
                fetched,
                &["turns"],
                &mut |row| {
                    let first = row.get("turns")?.as_array()?.first()?;
                    let prompt = match truthy(first) {
                        true => as_text(first).trim().to_string(),
                        false => String::new(),
                    };
                    (!prompt.is_empty()).then(|| Turn {
                        texts: vec![prompt],
                        ..Default::default()
                    })
                },
                &mut out,
                ds.name,
            )?;
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

/// Reads the rows of `fetched`'s files, one single-turn conversation per row `turn` keeps, up
/// to `fetched.limit` conversations (AIPerf's `_max_conversations`).
fn read_capped(
    fetched: &Fetched,
    columns: &[&str],
    turn: &mut dyn FnMut(&rows::Row) -> Option<Turn>,
    out: &mut Vec<Conversation>,
    name: &str,
) -> Result<(), LoadError> {
    /// Ends the read early once the cap is reached (not an error to the caller).
    const ENOUGH: &str = "\0enough rows";
    for file in &fetched.files {
        let r = rows::read(file, columns, &mut |_, row| {
            if fetched.limit.is_some_and(|l| out.len() >= l) {
                return Err(LoadError::file(file, ENOUGH));
            }
            if let Some(t) = turn(&row) {
                out.push(Conversation::single(format!("{name}_{:06}", out.len()), t));
            }
            Ok(())
        });
        match r {
            Err(LoadError::File { reason, .. }) if reason == ENOUGH => return Ok(()),
            r => r?,
        }
    }
    Ok(())
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
            // weka_hf's repo is the one --hf-weka-dataset names.
            if !matches!(d.shape, Shape::Unsupported(_)) && d.name != "weka_hf" {
                assert!(aiperf_hub::is_repo_id(d.repo), "{}", d.name);
            }
        }
        assert_eq!(find("spec_al_gsm8k").map(|d| d.subset), Some(Some("main")));
        assert!(supported_names()
            .starts_with("exgentic_v2, exgentic, sharegpt, aimo, mmstar, mmvu, vision_arena"));
        assert!(supported_names().contains("spec_bench, spec_al_gsm8k"));
        assert!(supported_names().contains("librispeech, voxpopuli, gigaspeech, ami, spgispeech"));
        assert!(supported_names().ends_with("semianalysis_cc_traces_weka_062126_256k, weka_hf"));
        assert_eq!(CATALOG.len(), 42, "every name AIPerf 0.13 lists");
    }
}
