//! `random_pool`: entries drawn with replacement from a pool. A file is one pool; a directory
//! holds one pool per file (e.g. `queries.jsonl`, `passages.jsonl`) and each request takes one
//! entry from every pool, in file-name order, so a query meets a random passage.
//! Rows have the single-turn input fields only; `--conversation-num` entries are drawn
//! (default 100), reproducibly under `--random-seed`.

use std::path::{Path, PathBuf};

use aiperf_core::{Conversation, Turn};

use super::single_turn::{base_dir, TurnFields};
use super::{for_each_line, LoadContext, LoadError};
use crate::rng::Rng;

/// Entries drawn when `--conversation-num` is not given.
pub const DEFAULT_ENTRIES: usize = 100;

/// A pool row's own rule: input fields only.
fn check_row(row: &TurnFields) -> Result<(), String> {
    super::check_format(row.format.as_deref(), "random_pool")?;
    if row.session_id.is_some() || row.timestamp.is_some() || row.delay.is_some() {
        return Err(
            "random_pool rows take input fields only (no session_id, timestamp or delay)".into(),
        );
    }
    row.check()
}

/// Whether `path` is a directory of pools (at least one file whose first record is a pool
/// row), or a file whose first record says `"type": "random_pool"`. Other single files are
/// never claimed: their rows look exactly like `single_turn` rows (AIPerf's rule).
pub fn can_load(probe: &super::Probe) -> bool {
    if !probe.is_dir {
        return probe
            .first_as::<TurnFields>()
            .is_some_and(|row| row.format.is_some() && check_row(&row).is_ok());
    }
    let Ok(entries) = std::fs::read_dir(&probe.path) else {
        return false;
    };
    entries.filter_map(|e| e.ok().map(|e| e.path())).any(|f| {
        f.is_file()
            && super::Probe::read(&f)
                .first_as::<TurnFields>()
                .is_some_and(|row| check_row(&row).is_ok())
    })
}

fn pool(path: &Path) -> Result<Vec<Turn>, LoadError> {
    let base = base_dir(path);
    let mut rows = Vec::new();
    for_each_line(path, |_, row: TurnFields| {
        check_row(&row)?;
        rows.push(row.into_turn(base)?);
        Ok(())
    })?;
    if rows.is_empty() {
        return Err(LoadError::file(path, "no entries in pool"));
    }
    Ok(rows)
}

pub fn load(path: &Path, ctx: &LoadContext<'_>) -> Result<Vec<Conversation>, LoadError> {
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut f: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| LoadError::file(path, e.to_string()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        f.sort();
        if f.is_empty() {
            return Err(LoadError::file(path, "directory holds no pool files"));
        }
        f
    } else {
        vec![path.to_path_buf()]
    };
    let pools = files
        .iter()
        .map(|f| pool(f))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rng = Rng::derive(ctx.seed, "dataset.random_pool");
    let n = ctx.num_conversations.unwrap_or(DEFAULT_ENTRIES).max(1);
    Ok((0..n)
        .map(|i| {
            let mut turn = Turn::default();
            for p in &pools {
                let pick = &p[rng.below(p.len() as u64) as usize];
                turn.texts.extend(pick.texts.iter().cloned());
                turn.images.extend(pick.images.iter().cloned());
                turn.audios.extend(pick.audios.iter().cloned());
                turn.videos.extend(pick.videos.iter().cloned());
                turn.max_tokens = turn.max_tokens.or(pick.max_tokens);
                turn.role = turn.role.take().or(pick.role.clone());
                if let Some(extra) = &pick.extra {
                    turn.extra
                        .get_or_insert_with(Default::default)
                        .extend(extra.clone());
                }
            }
            Conversation::single(format!("session_{i:06}"), turn)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Corpus;
    use crate::loader::test_util::context;
    use crate::TextTokenizer;

    #[test]
    fn draws_with_replacement_reproducibly_from_every_pool() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a_queries.jsonl"),
            "{\"text\": \"q1\"}\n{\"text\": \"q2\"}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("b_passages.jsonl"),
            "{\"text\": \"p1\"}\n{\"text\": \"p2\"}\n{\"text\": \"p3\"}\n",
        )
        .unwrap();
        let mut ctx = context(&t, &c);
        ctx.num_conversations = Some(50);
        let a = load(dir.path(), &ctx).unwrap();
        assert_eq!(a.len(), 50);
        assert!(a.iter().all(|c| c.turns[0].texts.len() == 2
            && c.turns[0].texts[0].starts_with('q')
            && c.turns[0].texts[1].starts_with('p')));
        let distinct: std::collections::HashSet<_> =
            a.iter().map(|c| c.turns[0].texts.clone()).collect();
        assert_eq!(distinct.len(), 6, "all 2x3 pairs appear in 50 draws");
        assert_eq!(a, load(dir.path(), &ctx).unwrap());
        ctx.seed = 2;
        assert_ne!(a, load(dir.path(), &ctx).unwrap());

        let single = dir.path().join("a_queries.jsonl");
        ctx.num_conversations = None;
        assert_eq!(load(&single, &ctx).unwrap().len(), DEFAULT_ENTRIES);
        std::fs::write(
            dir.path().join("bad.jsonl"),
            "{\"text\": \"x\", \"delay\": 5}\n",
        )
        .unwrap();
        let e = load(&dir.path().join("bad.jsonl"), &ctx)
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("bad.jsonl:1: random_pool rows take input fields only (no session_id, timestamp or delay)"), "{e}");
    }
}
