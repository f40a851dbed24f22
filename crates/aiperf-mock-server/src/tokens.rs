//! Token counting and output token generation for the mock.

use std::io::Read;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use tokenizers::Tokenizer;

static BUILTIN_GZ: &[u8] =
    include_bytes!("../../../assets/tokenizers/o200k_base/tokenizer.json.gz");
static CORPUS: &str = include_str!("../../../assets/corpus/sonnets.txt");

/// Counts prompt tokens and hands out output tokens as text pieces.
pub struct TokenSource {
    tokenizer: Option<Tokenizer>,
    /// The corpus as one text piece per token, in order.
    pieces: Vec<String>,
    /// Prompt hash -> token count. Benchmarks resend the same prompts, and tokenizing each one
    /// again would make the mock, not the client, the bottleneck.
    counts: Mutex<HashMap<u64, u32>>,
}

const COUNT_CACHE_ENTRIES: usize = 1 << 16;

impl TokenSource {
    pub fn new(spec: &str) -> anyhow::Result<Self> {
        let tokenizer = match spec {
            "none" => None,
            "builtin" | "" => {
                let mut json = Vec::new();
                flate2::read::GzDecoder::new(BUILTIN_GZ).read_to_end(&mut json)?;
                Some(
                    Tokenizer::from_bytes(&json)
                        .map_err(|e| anyhow::anyhow!("builtin tokenizer: {e}"))?,
                )
            }
            path => Some(
                Tokenizer::from_file(path)
                    .map_err(|e| anyhow::anyhow!("tokenizer '{path}': {e}"))?,
            ),
        };
        let text: String = CORPUS.split_whitespace().collect::<Vec<_>>().join(" ");
        let pieces: Vec<String> = match &tokenizer {
            Some(t) => {
                let enc = t
                    .encode_fast(text.as_str(), false)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                enc.get_ids()
                    .iter()
                    .map(|&id| t.decode(&[id], false).unwrap_or_default())
                    .collect()
            }
            None => text.split(' ').map(|w| format!(" {w}")).collect(),
        };
        let pieces: Vec<String> = pieces.into_iter().filter(|p| !p.is_empty()).collect();
        anyhow::ensure!(!pieces.is_empty(), "empty output corpus");
        Ok(Self {
            tokenizer,
            pieces,
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// Tokens in a prompt (about four characters a token without a tokenizer).
    pub fn count(&self, text: &str) -> u32 {
        let Some(t) = &self.tokenizer else {
            return text.len().div_ceil(4) as u32;
        };
        let mut h = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut h);
        let key = h.finish();
        if let Some(n) = self.counts.lock().ok().and_then(|c| c.get(&key).copied()) {
            return n;
        }
        let n = t
            .encode_fast(text, false)
            .map(|e| e.len() as u32)
            .unwrap_or(0);
        if let Ok(mut c) = self.counts.lock() {
            if c.len() >= COUNT_CACHE_ENTRIES {
                c.clear();
            }
            c.insert(key, n);
        }
        n
    }

    /// Output token `i` of the reply seeded by `seed`: the corpus from a position derived
    /// from the seed, wrapping around.
    pub fn piece(&self, seed: u64, i: usize) -> &str {
        let len = self.pieces.len();
        let start = (seed % len as u64) as usize;
        self.pieces[(start + i % len) % len].as_str()
    }
}
