//! A file dataset's inline `records:` turned into what the loaders read: a JSONL file (or, for
//! named `random_pool` pools, a directory of them) under the system temp dir, named by the
//! SHA-256 of its content (`aiperf-inline-<sha256>.jsonl`), so the same records always give the
//! same path, a rerun rewrites nothing, and the run's arguments stay plain `--input-file`.
//! Files are written under a temporary name and renamed, so a reader never sees half a file.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::model::{Dataset, InlineRecords, RunFile};
use super::Reported;

/// Replaces the dataset's `records` by the `path` of the written file (and spells out AIPerf's
/// default format, `single_turn`, so the loader is not guessed from the rows).
pub(crate) fn materialise(file: &mut RunFile) -> Result<(), Reported> {
    materialise_in(file, &std::env::temp_dir())
}

/// [`materialise`] writing under `dir`.
pub(crate) fn materialise_in(file: &mut RunFile, dir: &Path) -> Result<(), Reported> {
    let Some(d) = file.benchmark.dataset.as_mut() else {
        return Ok(());
    };
    let Some(records) = d.records.take() else {
        return Ok(());
    };
    let path = write_records(&records, dir).map_err(|e| {
        Reported::at(
            d.records_line,
            format!(
                "cannot write the inline 'records' under {}: {e}",
                dir.display()
            ),
        )
    })?;
    set_source(d, path);
    Ok(())
}

fn set_source(d: &mut Dataset, path: PathBuf) {
    d.path = Some(path.display().to_string());
    d.format.get_or_insert_with(|| "single_turn".to_string());
}

/// One JSON object per line, in the order written.
fn jsonl(rows: &[serde_json::Value]) -> String {
    rows.iter().map(|r| format!("{r}\n")).collect()
}

fn sha256_hex(parts: &[(&str, &str)]) -> String {
    let mut h = Sha256::new();
    for (name, text) in parts {
        // Lengths first, so two splits of the same bytes hash apart.
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Where `records` live on disk, written if not there yet.
pub(crate) fn write_records(records: &InlineRecords, dir: &Path) -> std::io::Result<PathBuf> {
    match records {
        InlineRecords::Rows(rows) => {
            let text = jsonl(rows);
            let path = dir.join(format!(
                "aiperf-inline-{}.jsonl",
                sha256_hex(&[("", &text)])
            ));
            if !path.is_file() {
                write_atomic(&path, |tmp| fs::write(tmp, &text))?;
            }
            Ok(path)
        }
        InlineRecords::Pools(pools) => {
            // The loader takes pools in file-name order: a numeric prefix keeps the written order.
            let files: Vec<(String, String)> = pools
                .iter()
                .enumerate()
                .map(|(i, (name, rows))| (format!("{i:03}_{}.jsonl", safe(name)), jsonl(rows)))
                .collect();
            let parts: Vec<(&str, &str)> = files
                .iter()
                .map(|(n, t)| (n.as_str(), t.as_str()))
                .collect();
            let path = dir.join(format!("aiperf-inline-{}", sha256_hex(&parts)));
            if !path.is_dir() {
                write_atomic(&path, |tmp| {
                    fs::create_dir(tmp)?;
                    files
                        .iter()
                        .try_for_each(|(name, text)| fs::write(tmp.join(name), text))
                })?;
            }
            Ok(path)
        }
    }
}

/// A pool name as a file-name part: letters, digits, `-` and `_` kept, the rest `_`.
fn safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes through `write` at a name of this process's own, then renames it to `path`; when a
/// concurrent run got there first, its identical copy is kept.
fn write_atomic(
    path: &Path,
    write: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    remove(&tmp);
    let done = write(&tmp).and_then(|()| fs::rename(&tmp, path));
    match done {
        Ok(()) => Ok(()),
        Err(_) if path.exists() => {
            remove(&tmp);
            Ok(())
        }
        Err(e) => {
            remove(&tmp);
            Err(e)
        }
    }
}

fn remove(p: &Path) {
    let _ = fs::remove_dir_all(p);
    let _ = fs::remove_file(p);
}
