//! Prompts built from hashed blocks (Mooncake-style `hash_ids`), so requests that share hash
//! ids share a prompt prefix token for token and a server's prefix cache behaves as it did
//! for the trace.
//!
//! Each hash id owns one block of `block_size` corpus tokens chosen by a seeded draw; a
//! request's prompt is its blocks' tokens concatenated, the last block cut to what is left of
//! `input_length`. Blocks start on a word (a token that begins with a space and a letter) and
//! never end in whitespace, so block boundaries are pre-tokenizer boundaries: re-tokenizing the
//! text gives back the same tokens and the same count.

use std::collections::HashMap;

use crate::corpus::Corpus;
use crate::rng::mix;
use crate::tokenizer::TextTokenizer;

/// AIPerf's default `--isl-block-size` for Mooncake traces.
pub const DEFAULT_BLOCK_SIZE: usize = 512;

pub struct BlockPrompts<'a> {
    tokenizer: &'a TextTokenizer,
    corpus: &'a Corpus,
    seed: u64,
    block_size: usize,
    /// Corpus positions where a block may start.
    word_starts: Vec<usize>,
    /// Each hash id's block: its tokens and their text.
    blocks: HashMap<u64, (Vec<u32>, String)>,
}

impl<'a> BlockPrompts<'a> {
    pub fn new(
        tokenizer: &'a TextTokenizer,
        corpus: &'a Corpus,
        seed: u64,
        block_size: usize,
    ) -> Self {
        let word_starts: Vec<usize> = corpus
            .tokens
            .iter()
            .enumerate()
            .filter(|(_, id)| {
                let t = tokenizer.decode(&[**id]);
                let mut c = t.chars();
                c.next() == Some(' ') && c.next().is_some_and(char::is_alphabetic)
            })
            .map(|(i, _)| i)
            .collect();
        Self {
            tokenizer,
            corpus,
            seed,
            block_size: block_size.max(1),
            word_starts,
            blocks: HashMap::new(),
        }
    }

    /// The first word start at or after corpus offset `offset` (wrapping), so text cut from
    /// there can follow a block without merging tokens across the seam.
    pub fn word_start_after(&self, offset: usize) -> usize {
        if self.word_starts.is_empty() {
            return offset;
        }
        let i = self.word_starts.partition_point(|&s| s < offset);
        self.word_starts[i % self.word_starts.len()]
    }

    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// How many distinct blocks were made so far.
    pub fn distinct_blocks(&self) -> usize {
        self.blocks.len()
    }

    /// Hash id `hash_id`'s block: its tokens and their text (a pure function of the seed, the
    /// id and the corpus, so blocks can be made on any thread).
    fn make(&self, hash_id: u64) -> (Vec<u32>, String) {
        let (corpus, starts, size) = (self.corpus, &self.word_starts, self.block_size);
        let ids = if starts.is_empty() {
            corpus.window(mix(self.seed, hash_id) as usize, size)
        } else {
            let first = (mix(self.seed, hash_id) % starts.len() as u64) as usize;
            // The first candidate start whose block does not end in whitespace.
            (0..starts.len().min(64))
                .map(|k| corpus.window(starts[(first + k) % starts.len()], size))
                .find(|ids| {
                    ids.last()
                        .map(|l| self.tokenizer.decode(&[*l]))
                        .is_none_or(|l| !l.ends_with(char::is_whitespace))
                })
                .unwrap_or_else(|| corpus.window(starts[first], size))
        };
        let text = self.tokenizer.decode(&ids);
        (ids, text)
    }

    /// Makes the blocks of every id in `hash_ids` not made yet, on all cores.
    pub fn prefill(&mut self, hash_ids: impl IntoIterator<Item = u64>) {
        let mut missing: Vec<u64> = hash_ids
            .into_iter()
            .filter(|h| !self.blocks.contains_key(h))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        let made = crate::parallel::map(&missing, |h| self.make(*h));
        self.blocks.extend(missing.into_iter().zip(made));
    }

    /// Size of the last block of a request of `input_length` tokens over `m` hash ids, which
    /// must lie in `(0, block_size]` (AIPerf's rule).
    pub fn last_block(&self, input_length: usize, m: usize) -> Result<usize, String> {
        if m == 0 {
            return Err("'hash_ids' is empty".into());
        }
        let last = input_length as i64 - ((m as i64 - 1) * self.block_size as i64);
        if last <= 0 || last > self.block_size as i64 {
            return Err(format!(
                "input_length {input_length} does not fit {m} hash_ids of block size {}: the last block would hold {last} tokens (must be 1..={})",
                self.block_size, self.block_size
            ));
        }
        Ok(last as usize)
    }

    /// The prompt for a request of `input_length` tokens made of `hash_ids` blocks, the last
    /// block cut to what is left. Blocks start on a word, so the text is the blocks' texts
    /// joined (decoded once per hash id); only a partial last block is decoded per request.
    pub fn prompt(&mut self, input_length: usize, hash_ids: &[u64]) -> Result<String, String> {
        self.prefill(hash_ids.iter().copied());
        self.prompt_prefilled(input_length, hash_ids)
    }

    /// [`prompt`](Self::prompt) for ids already [`prefill`](Self::prefill)ed (a missing block
    /// is made on the spot); read-only, so requests can be assembled on all cores.
    pub fn prompt_prefilled(
        &self,
        input_length: usize,
        hash_ids: &[u64],
    ) -> Result<String, String> {
        let last = self.last_block(input_length, hash_ids.len())?;
        let mut text = String::new();
        for (i, h) in hash_ids.iter().enumerate() {
            let made;
            let (ids, block_text) = match self.blocks.get(h) {
                Some(b) => b,
                None => {
                    made = self.make(*h);
                    &made
                }
            };
            let take = if i + 1 == hash_ids.len() {
                last
            } else {
                ids.len()
            };
            if take >= ids.len() {
                text.push_str(block_text);
            } else {
                text.push_str(&self.tokenizer.decode(&ids[..take]));
            }
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_hash_ids_share_a_token_prefix_and_lengths_are_exact() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        let mut b = BlockPrompts::new(&t, &c, 7, 16);
        let a = b.prompt(40, &[1, 2, 3]).unwrap();
        let x = b.prompt(40, &[1, 2, 4]).unwrap();
        let y = b.prompt(20, &[1, 9]).unwrap();
        let (ta, tx, ty) = (t.encode(&a), t.encode(&x), t.encode(&y));
        assert_eq!((ta.len(), tx.len(), ty.len()), (40, 40, 20));
        assert_eq!(ta[..32], tx[..32], "two shared blocks");
        assert_ne!(ta[32..], tx[32..]);
        assert_eq!(ta[..16], ty[..16], "one shared block");
        assert_ne!(ta[16..20], ty[16..20]);
        assert_eq!(b.distinct_blocks(), 5);
        // Exact lengths over many requests.
        for i in 0..200u64 {
            let ids: Vec<u64> = (0..3).map(|k| i * 3 + k).collect();
            let p = b.prompt(40, &ids).unwrap();
            assert_eq!(t.count(&p), 40, "{p:?}");
        }
        assert!(b
            .prompt(49, &[1, 2, 3])
            .unwrap_err()
            .contains("last block would hold 17"));
        assert!(b.prompt(32, &[1, 2, 3]).is_err());
        // Same seed, same text; other seed, other text.
        let mut b2 = BlockPrompts::new(&t, &c, 7, 16);
        assert_eq!(b2.prompt(40, &[1, 2, 3]).unwrap(), a);
        let mut b3 = BlockPrompts::new(&t, &c, 8, 16);
        assert_ne!(b3.prompt(40, &[1, 2, 3]).unwrap(), a);
    }
}
