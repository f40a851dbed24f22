//! Which files of a Hub dataset repo hold a config's split, as the `datasets` library decides
//! for repos without a loading script (AIPerf passes `trust_remote_code=False`):
//!
//! 1. the README's YAML front matter `configs:` block, when present: the config named by the
//!    subset (else the one marked `default: true`, else `default`, else the only one), and its
//!    `data_files` for the split (`[{split, path}]`, or a bare pattern list meaning `train`),
//!    patterns relative to its `data_dir`;
//! 2. otherwise the split is read from the file names: a path part equal to one of the split's
//!    keywords (`train`/`training`; `validation`/`valid`/`val`/`dev`; `test`/`testing`/`eval`/
//!    `evaluation`), parts cut at `/`, `-`, `_`, `.`, spaces and digits; when no file names a
//!    split, every data file is `train`. A subset with no configs block picks the directory of
//!    that name (`main/test-00000-of-00001.parquet`).

use serde::Deserialize;

/// File types read as rows.
pub const DATA_EXTENSIONS: &[&str] = &[".parquet", ".jsonl", ".json", ".csv", ".tsv"];

/// Why no data files were found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("its README's configs block is not valid YAML: {0}")]
    BadReadme(String),
    #[error("has no config '{wanted}' (configs: {available})")]
    NoConfig { wanted: String, available: String },
    #[error("config '{config}' has no split '{split}' (splits: {available})")]
    NoSplit {
        config: String,
        split: String,
        available: String,
    },
    #[error("has no data files (.parquet, .jsonl, .json, .csv) for split '{split}'{within}")]
    NoFiles { split: String, within: String },
}

#[derive(Debug, Deserialize)]
struct FrontMatter {
    #[serde(default)]
    configs: Vec<ConfigEntry>,
}

#[derive(Debug, Deserialize)]
struct ConfigEntry {
    #[serde(default = "default_name")]
    config_name: String,
    #[serde(default)]
    default: bool,
    #[serde(default)]
    data_dir: Option<String>,
    #[serde(default)]
    data_files: Option<DataFiles>,
}

fn default_name() -> String {
    "default".into()
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DataFiles {
    One(String),
    Splits(Vec<SplitFiles>),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
struct SplitFiles {
    split: String,
    path: Patterns,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Patterns {
    One(String),
    Many(Vec<String>),
}

impl Patterns {
    fn list(&self) -> Vec<String> {
        match self {
            Patterns::One(p) => vec![p.clone()],
            Patterns::Many(v) => v.clone(),
        }
    }
}

/// The YAML between the leading `---` lines of a README, if any.
fn front_matter(readme: &str) -> Option<&str> {
    let rest = readme
        .strip_prefix("---\n")
        .or_else(|| readme.strip_prefix("---\r\n"))?;
    let end = rest.find("\n---")?;
    Some(&rest[..end + 1])
}

/// The data files of `split` in config `subset` (None: the default config), among `files`
/// (the repo's paths), given the README's text when the repo has one.
pub fn select(
    files: &[String],
    readme: Option<&str>,
    subset: Option<&str>,
    split: &str,
) -> Result<Vec<String>, SelectError> {
    let configs = match readme.and_then(front_matter) {
        Some(yaml) => {
            serde_saphyr::from_str::<FrontMatter>(yaml)
                .map_err(|e| SelectError::BadReadme(e.to_string()))?
                .configs
        }
        None => Vec::new(),
    };
    let data: Vec<&String> = files.iter().filter(|f| is_data_file(f)).collect();
    let chosen = if configs.is_empty() {
        by_file_names(&data, subset, split)?
    } else {
        by_configs(&configs, &data, subset, split)?
    };
    if chosen.is_empty() {
        return Err(SelectError::NoFiles {
            split: split.to_string(),
            within: subset.map(|s| format!(" in '{s}'")).unwrap_or_default(),
        });
    }
    Ok(chosen)
}

fn is_data_file(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    !name.starts_with('.') && DATA_EXTENSIONS.iter().any(|e| lower.ends_with(e))
}

fn by_configs(
    configs: &[ConfigEntry],
    data: &[&String],
    subset: Option<&str>,
    split: &str,
) -> Result<Vec<String>, SelectError> {
    let config = match subset {
        Some(s) => configs.iter().find(|c| c.config_name == s),
        None => configs
            .iter()
            .find(|c| c.default)
            .or_else(|| configs.iter().find(|c| c.config_name == "default"))
            .or_else(|| (configs.len() == 1).then(|| &configs[0])),
    };
    let Some(config) = config else {
        return Err(SelectError::NoConfig {
            wanted: subset.unwrap_or("default").to_string(),
            available: configs
                .iter()
                .map(|c| c.config_name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    let dir = config
        .data_dir
        .as_deref()
        .map(|d| format!("{}/", d.trim_end_matches('/')));
    let within: Vec<&String> = data
        .iter()
        .copied()
        .filter(|f| dir.as_deref().is_none_or(|d| f.starts_with(d)))
        .collect();
    let patterns = match &config.data_files {
        None => return by_file_names(&within, None, split),
        Some(DataFiles::One(p)) if split == "train" => vec![p.clone()],
        Some(DataFiles::Many(v)) if split == "train" => v.clone(),
        Some(DataFiles::One(_)) | Some(DataFiles::Many(_)) => {
            return Err(SelectError::NoSplit {
                config: config.config_name.clone(),
                split: split.to_string(),
                available: "train".into(),
            })
        }
        Some(DataFiles::Splits(splits)) => match splits.iter().find(|s| s.split == split) {
            Some(s) => s.path.list(),
            None => {
                return Err(SelectError::NoSplit {
                    config: config.config_name.clone(),
                    split: split.to_string(),
                    available: splits
                        .iter()
                        .map(|s| s.split.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })
            }
        },
    };
    let prefix = dir.unwrap_or_default();
    let mut out: Vec<String> = within
        .iter()
        .filter(|f| {
            patterns
                .iter()
                .any(|p| glob_match(&format!("{prefix}{}", p.trim_start_matches("./")), f))
        })
        .map(|f| f.to_string())
        .collect();
    out.sort();
    Ok(out)
}

const SPLIT_KEYWORDS: &[(&str, &[&str])] = &[
    ("train", &["train", "training"]),
    ("validation", &["validation", "valid", "val", "dev"]),
    ("test", &["test", "testing", "eval", "evaluation"]),
];

/// The split a path names, if any.
fn split_of(path: &str) -> Option<&'static str> {
    let parts = path
        .split(|c: char| matches!(c, '/' | '-' | '_' | '.' | ' ') || c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>();
    SPLIT_KEYWORDS.iter().find_map(|(split, words)| {
        parts
            .iter()
            .any(|p| words.contains(&p.as_str()))
            .then_some(*split)
    })
}

fn by_file_names(
    data: &[&String],
    subset: Option<&str>,
    split: &str,
) -> Result<Vec<String>, SelectError> {
    let within: Vec<&String> = match subset {
        Some(s) => {
            let dir = format!("{s}/");
            let inside: Vec<&String> = data
                .iter()
                .copied()
                .filter(|f| f.starts_with(&dir))
                .collect();
            if inside.is_empty() {
                let mut dirs: Vec<&str> = data
                    .iter()
                    .filter_map(|f| f.split_once('/').map(|(d, _)| d))
                    .collect();
                dirs.sort();
                dirs.dedup();
                return Err(SelectError::NoConfig {
                    wanted: s.to_string(),
                    available: if dirs.is_empty() {
                        "default".into()
                    } else {
                        dirs.join(", ")
                    },
                });
            }
            inside
        }
        None => data.to_vec(),
    };
    let named: Vec<(&String, Option<&str>)> = within.iter().map(|f| (*f, split_of(f))).collect();
    let any_named = named.iter().any(|(_, s)| s.is_some());
    let mut out: Vec<String> = named
        .iter()
        .filter(|(_, s)| {
            if any_named {
                *s == Some(split)
            } else {
                split == "train"
            }
        })
        .map(|(f, _)| f.to_string())
        .collect();
    if out.is_empty() && !within.is_empty() {
        let mut available: Vec<&str> = named.iter().filter_map(|(_, s)| *s).collect();
        if available.is_empty() {
            available.push("train");
        }
        available.sort();
        available.dedup();
        return Err(SelectError::NoSplit {
            config: subset.unwrap_or("default").to_string(),
            split: split.to_string(),
            available: available.join(", "),
        });
    }
    out.sort();
    Ok(out)
}

/// `fnmatch`-style matching as `datasets` resolves data-file patterns: `*` within one path
/// part, `**` across parts, `?` one character.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some(b'*') if p.get(1) == Some(&b'*') => {
                let rest = p[2..].strip_prefix(b"/").unwrap_or(&p[2..]);
                (0..=s.len()).any(|i| go(rest, &s[i..]) || go(&p[2..], &s[i..]))
            }
            Some(b'*') => (0..=s.len())
                .take_while(|&i| i == 0 || s[i - 1] != b'/')
                .any(|i| go(&p[1..], &s[i..])),
            Some(b'?') => !s.is_empty() && s[0] != b'/' && go(&p[1..], &s[1..]),
            Some(c) => s.first() == Some(c) && go(&p[1..], &s[1..]),
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn globs_match_within_and_across_parts() {
        assert!(glob_match(
            "data/train-*",
            "data/train-00000-of-00001.parquet"
        ));
        assert!(!glob_match("data/train-*", "data/sub/train-0.parquet"));
        assert!(glob_match("**/train-*", "a/b/train-0.parquet"));
        assert!(glob_match("**/train-*", "train-0.parquet"));
        assert!(glob_match(
            "main/test-?????-of-*.parquet",
            "main/test-00000-of-00001.parquet"
        ));
        assert!(!glob_match(
            "main/test-*.parquet",
            "socratic/test-0.parquet"
        ));
    }

    #[test]
    fn gsm8k_layout_picks_the_subset_directory_and_split() {
        // openai/gsm8k: README configs main and socratic, each with train and test.
        let readme = "---\nconfigs:\n- config_name: main\n  data_files:\n  - split: train\n    path: main/train-*\n  - split: test\n    path: main/test-*\n- config_name: socratic\n  data_files:\n  - split: train\n    path: socratic/train-*\n  - split: test\n    path: socratic/test-*\n---\n# GSM8K\n";
        let files = paths(&[
            ".gitattributes",
            "README.md",
            "main/test-00000-of-00001.parquet",
            "main/train-00000-of-00001.parquet",
            "socratic/test-00000-of-00001.parquet",
            "socratic/train-00000-of-00001.parquet",
        ]);
        assert_eq!(
            select(&files, Some(readme), Some("main"), "test").unwrap(),
            vec!["main/test-00000-of-00001.parquet"]
        );
        assert_eq!(
            select(&files, Some(readme), Some("socratic"), "train").unwrap(),
            vec!["socratic/train-00000-of-00001.parquet"]
        );
        let e = select(&files, Some(readme), Some("nope"), "test").unwrap_err();
        assert_eq!(
            e.to_string(),
            "has no config 'nope' (configs: main, socratic)"
        );
        let e = select(&files, Some(readme), Some("main"), "validation").unwrap_err();
        assert_eq!(
            e.to_string(),
            "config 'main' has no split 'validation' (splits: train, test)"
        );
        // Two configs, none default, no subset: nothing to choose.
        assert!(matches!(
            select(&files, Some(readme), None, "test"),
            Err(SelectError::NoConfig { .. })
        ));
    }

    #[test]
    fn without_configs_the_split_comes_from_file_names() {
        let files = paths(&[
            "README.md",
            "data/train-00000-of-00002.parquet",
            "data/train-00001-of-00002.parquet",
            "data/test-00000-of-00001.parquet",
            "data/validation.jsonl",
        ]);
        assert_eq!(
            select(&files, None, None, "train").unwrap(),
            vec![
                "data/train-00000-of-00002.parquet",
                "data/train-00001-of-00002.parquet"
            ]
        );
        assert_eq!(
            select(&files, Some("# no front matter"), None, "validation").unwrap(),
            vec!["data/validation.jsonl"]
        );
        // Files naming no split are all `train`.
        let plain = paths(&["prompts.jsonl", "more/prompts2.parquet", "notes.txt"]);
        assert_eq!(
            select(&plain, None, None, "train").unwrap(),
            vec!["more/prompts2.parquet", "prompts.jsonl"]
        );
        assert_eq!(
            select(&plain, None, None, "test").unwrap_err().to_string(),
            "config 'default' has no split 'test' (splits: train)"
        );
        // `contest.jsonl` does not name the test split: parts are whole words.
        assert_eq!(split_of("data/contest.jsonl"), None);
        assert_eq!(split_of("data/test2.jsonl"), Some("test"));
    }

    #[test]
    fn a_default_config_and_its_data_dir_are_honoured() {
        let readme = "---\nlicense: mit\nconfigs:\n- config_name: all\n  default: true\n  data_dir: full\n  data_files:\n  - split: test\n    path: \"test-*\"\n- config_name: small\n  data_files: small/*.jsonl\n---\n";
        let files = paths(&[
            "full/test-0.parquet",
            "full/train-0.parquet",
            "small/a.jsonl",
        ]);
        assert_eq!(
            select(&files, Some(readme), None, "test").unwrap(),
            vec!["full/test-0.parquet"]
        );
        assert_eq!(
            select(&files, Some(readme), Some("small"), "train").unwrap(),
            vec!["small/a.jsonl"]
        );
        assert!(select(&files, Some("---\nconfigs: [\n---\n"), None, "test").is_err());
    }
}
