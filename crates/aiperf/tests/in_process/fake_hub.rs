//! A fake Hugging Face Hub on 127.0.0.1 for the public-dataset suites, answering as the real
//! one does: `/api/datasets/<repo>/revision/<rev>` lists a repo's files, `/datasets/<repo>/
//! resolve/<rev>/<file>` serves one with `X-Repo-Commit` and `ETag`; `private/*` answers 401.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::common::*;
use aiperf_engine::Engine;
use aiperf_hub::HubConfig;
use aiperf_plugins::Registry;
use serde_json::{json, Value};

/// The commit every fake repo is at.
pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// Repos: `repo -> {file -> bytes}`. Answers 401 for `private/*`. Returns its URL and the
/// paths asked for.
pub fn fake_hub(
    repos: HashMap<String, HashMap<String, Vec<u8>>>,
) -> (String, Arc<Mutex<Vec<String>>>) {
    fake_http(move |path| answer(&repos, path))
}

fn answer(
    repos: &HashMap<String, HashMap<String, Vec<u8>>>,
    path: &str,
) -> (&'static str, String, Vec<u8>) {
    let not_found = ("404 Not Found", String::new(), Vec::new());
    if path.contains("/private/") {
        return ("401 Unauthorized", String::new(), Vec::new());
    }
    if let Some(rest) = path.strip_prefix("/api/datasets/") {
        let Some((repo, _rev)) = rest.split_once("/revision/") else {
            return not_found;
        };
        let Some(files) = repos.get(repo) else {
            return not_found;
        };
        let siblings: Vec<Value> = files.keys().map(|f| json!({"rfilename": f})).collect();
        let body = json!({"id": repo, "sha": COMMIT, "siblings": siblings}).to_string();
        return ("200 OK", String::new(), body.into_bytes());
    }
    if let Some(rest) = path.strip_prefix("/datasets/") {
        let Some((repo, tail)) = rest.split_once("/resolve/") else {
            return not_found;
        };
        let Some((_rev, file)) = tail.split_once('/') else {
            return not_found;
        };
        if let Some(bytes) = repos.get(repo).and_then(|r| r.get(file)) {
            let etag = format!("{:016x}", fxhash(bytes));
            return (
                "200 OK",
                format!("X-Repo-Commit: {COMMIT}\r\nETag: \"{etag}\"\r\n"),
                bytes.clone(),
            );
        }
    }
    not_found
}

/// A content hash for ETags (any stable one will do).
fn fxhash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100000001b3)
    })
}

/// An engine that reads the Hub at `hub`.
pub fn engine(hub: &HubConfig) -> Engine {
    Engine::new(Arc::new(Registry::builtin())).with_hub(hub.clone())
}

/// Writes `columns` as one Parquet file (Snappy, as `datasets` writes them).
pub fn parquet_file(columns: Vec<(&str, arrow_array::ArrayRef)>) -> Vec<u8> {
    let batch = arrow_array::RecordBatch::try_from_iter(columns).unwrap();
    let mut out = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    out
}
