//! Prompts built from hashed blocks (Mooncake-style `hash_ids`), so requests that share hash
//! ids share a prompt prefix token for token and a server's prefix cache behaves as it did
//! for the trace.
//!
//! Each hash id owns one block of `block_size` corpus tokens chosen by a seeded draw; a
//! request's prompt is its blocks' tokens concatenated, the last block cut to what is left of
//! `input_length`. Blocks start on a word (a token that begins with a space and a letter) and
//! never end in whitespace, so block boundaries are pre-tokenizer boundaries: re-tokenizing the
//! text gives back the same tokens and the same count.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::corpus::Corpus;
use crate::count::{self, TokenBytes};
use crate::rng::mix;
use crate::synthetic::PromptGenerator;
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
    /// Per corpus position: its token's text ends in whitespace (a block must not end there).
    ends_in_space: Vec<bool>,
    /// The text of each prefilled hash id's whole block. A block is a corpus window fixed by
    /// its start, so nothing else needs keeping: a block that is not here is cut again.
    blocks: HashMap<u64, Box<str>, ahash::RandomState>,
    /// The corpus tokens' bytes, when the tokenizer decodes byte by byte (most do).
    bytes: Option<TokenBytes>,
}

impl<'a> BlockPrompts<'a> {
    pub fn new(
        tokenizer: &'a TextTokenizer,
        corpus: &'a Corpus,
        seed: u64,
        block_size: usize,
    ) -> Self {
        let bytes = TokenBytes::new(tokenizer, &corpus.tokens);
        // Each distinct token is decoded once: (starts a word, ends in whitespace).
        let mut kinds: HashMap<u32, (bool, bool), ahash::RandomState> = HashMap::default();
        let mut word_starts = Vec::new();
        let mut ends_in_space = Vec::with_capacity(corpus.tokens.len());
        for (i, id) in corpus.tokens.iter().enumerate() {
            let (starts_word, ends_space) = *kinds.entry(*id).or_insert_with(|| {
                let t = count::decode(tokenizer, bytes.as_ref(), &[*id]);
                let mut c = t.chars();
                let starts_word =
                    c.next() == Some(' ') && c.next().is_some_and(char::is_alphabetic);
                (starts_word, t.ends_with(char::is_whitespace))
            });
            if starts_word {
                word_starts.push(i);
            }
            ends_in_space.push(ends_space);
        }
        Self {
            tokenizer,
            corpus,
            seed,
            block_size: block_size.max(1),
            word_starts,
            ends_in_space,
            blocks: HashMap::default(),
            bytes,
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

    /// How many distinct blocks are kept (prefilled) so far.
    pub fn distinct_blocks(&self) -> usize {
        self.blocks.len()
    }

    /// Where hash id `hash_id`'s block starts in the corpus: a seeded word start whose block
    /// does not end in whitespace (a pure function of the seed, the id and the corpus, so
    /// blocks can be cut on any thread).
    fn start_of(&self, hash_id: u64) -> usize {
        let (starts, size) = (&self.word_starts, self.block_size);
        let drawn = mix(self.seed, hash_id);
        if starts.is_empty() {
            return drawn as usize;
        }
        let len = self.corpus.tokens.len();
        let first = (drawn % starts.len() as u64) as usize;
        (0..starts.len().min(64))
            .map(|k| starts[(first + k) % starts.len()])
            .find(|&s| !self.ends_in_space[(s + size - 1) % len])
            .unwrap_or(starts[first])
    }

    /// The first `take` tokens of the block starting at corpus position `start`, decoded
    /// (borrowed from the corpus unless the window wraps).
    fn cut(&self, start: usize, take: usize) -> String {
        let tokens = &self.corpus.tokens;
        let ids: Cow<'_, [u32]> = match tokens.len() {
            0 => Cow::Borrowed(&[]),
            len if start % len + take <= len => {
                Cow::Borrowed(&tokens[start % len..start % len + take])
            }
            len => Cow::Owned(self.corpus.window(start % len, take)),
        };
        count::decode(self.tokenizer, self.bytes.as_ref(), &ids)
    }

    /// Keeps the text of the block of every id in `hash_ids` not kept yet (made on all cores),
    /// for ids that are asked for again and again.
    pub fn prefill(&mut self, hash_ids: impl IntoIterator<Item = u64>) {
        let mut missing: Vec<u64> = hash_ids
            .into_iter()
            .filter(|h| !self.blocks.contains_key(h))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        self.keep(missing);
    }

    /// [`prefill`](Self::prefill) for only the ids that occur more than once in `hash_ids`:
    /// an id used by one request is cut when that request's prompt is assembled (as fast, on
    /// all cores, and kept by no one), so a trace of mostly unique blocks costs no memory.
    pub fn prefill_shared(&mut self, hash_ids: impl IntoIterator<Item = u64>) {
        let mut all: Vec<u64> = hash_ids.into_iter().collect();
        all.sort_unstable();
        let mut shared: Vec<u64> = all
            .chunk_by(|a, b| a == b)
            .filter(|run| run.len() > 1 && !self.blocks.contains_key(&run[0]))
            .map(|run| run[0])
            .collect();
        drop(all);
        shared.shrink_to_fit();
        self.keep(shared);
    }

    /// Cuts and keeps the blocks of `ids` (distinct, none kept yet) on all cores.
    fn keep(&mut self, ids: Vec<u64>) {
        let made = crate::parallel::map(&ids, |h| {
            self.cut(self.start_of(*h), self.block_size)
                .into_boxed_str()
        });
        self.blocks.reserve(ids.len());
        self.blocks.extend(ids.into_iter().zip(made));
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
    /// joined (decoded once per kept hash id); other blocks and a partial last block are
    /// decoded per request.
    pub fn prompt(&mut self, input_length: usize, hash_ids: &[u64]) -> Result<String, String> {
        self.prefill(hash_ids.iter().copied());
        self.prompt_prefilled(input_length, hash_ids)
    }

    /// [`prompt`](Self::prompt) for ids already [`prefill`](Self::prefill)ed (a block not
    /// kept is cut on the spot); read-only, so requests can be assembled on all cores.
    pub fn prompt_prefilled(
        &self,
        input_length: usize,
        hash_ids: &[u64],
    ) -> Result<String, String> {
        let last = self.last_block(input_length, hash_ids.len())?;
        // Most tokens are a few bytes; a short guess only costs a regrowth.
        let mut text = String::with_capacity(input_length.saturating_mul(5).min(1 << 20));
        for (i, h) in hash_ids.iter().enumerate() {
            let take = if i + 1 == hash_ids.len() {
                last
            } else {
                self.block_size
            };
            match self.blocks.get(h) {
                Some(block) if take == self.block_size => text.push_str(block),
                _ => text.push_str(&self.cut(self.start_of(*h), take)),
            }
        }
        // Prompts are kept by the million: no slack kept with them.
        text.shrink_to_fit();
        Ok(text)
    }
}

/// Prompts of exactly `n` tokens cut from the corpus at a given start, as
/// [`PromptGenerator::prompt`] cuts them, for trace rows that give only a length (the same
/// text for the same start and length), with the window decoded through the corpus' byte table.
pub(crate) struct CorpusPrompts<'a> {
    generator: PromptGenerator<'a>,
    tokenizer: &'a TextTokenizer,
    corpus: &'a Corpus,
    bytes: Option<TokenBytes>,
}

impl<'a> CorpusPrompts<'a> {
    pub(crate) fn new(tokenizer: &'a TextTokenizer, corpus: &'a Corpus) -> Self {
        Self {
            generator: PromptGenerator::new(tokenizer, corpus),
            tokenizer,
            corpus,
            bytes: TokenBytes::new(tokenizer, &corpus.tokens),
        }
    }

    /// `PromptGenerator::prompt(start, n)`: the window of `n` tokens at `start` when its text
    /// counts `n` tokens (the usual case, and the generator's own first try); otherwise the
    /// generator's search for an exact cut, which begins from that same text.
    pub(crate) fn prompt(&self, start: usize, n: usize) -> String {
        let tokens = &self.corpus.tokens;
        let ids: Cow<'_, [u32]> = if start < tokens.len() && start + n <= tokens.len() {
            Cow::Borrowed(&tokens[start..start + n])
        } else {
            Cow::Owned(self.corpus.window(start, n))
        };
        let text = count::decode(self.tokenizer, self.bytes.as_ref(), &ids);
        if self.tokenizer.count(&text) == n {
            text
        } else {
            self.generator.prompt(start, n)
        }
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

    /// Kept and cut-on-the-spot blocks give the same text: a prompt over ids prefilled, kept
    /// only when shared, or not prefilled at all is the same, and only shared ids are kept.
    #[test]
    fn only_shared_blocks_are_kept_and_texts_do_not_change() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        let rows: Vec<Vec<u64>> = (0..50u64).map(|i| vec![i % 3, 100 + i, 200 + i]).collect();
        let mut all = BlockPrompts::new(&t, &c, 5, 16);
        all.prefill(rows.iter().flatten().copied());
        assert_eq!(all.distinct_blocks(), 103);
        let mut shared = BlockPrompts::new(&t, &c, 5, 16);
        shared.prefill_shared(rows.iter().flatten().copied());
        assert_eq!(
            shared.distinct_blocks(),
            3,
            "ids 0, 1, 2 are used by many rows"
        );
        let none = BlockPrompts::new(&t, &c, 5, 16);
        for ids in &rows {
            let want = all.prompt_prefilled(45, ids).unwrap();
            assert_eq!(shared.prompt_prefilled(45, ids).unwrap(), want);
            assert_eq!(none.prompt_prefilled(45, ids).unwrap(), want);
            assert_eq!(t.count(&want), 45, "{want:?}");
        }
    }

    /// Corpus prompts are the generator's, token for token, also across the corpus' end.
    #[test]
    fn corpus_prompts_are_the_generators() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        let generator = PromptGenerator::new(&t, &c);
        let prompts = CorpusPrompts::new(&t, &c);
        let len = c.tokens.len();
        let starts = (0..300).map(|i| i * 1013 % len).chain([len - 3, len - 1]);
        for (k, start) in starts.enumerate() {
            let n = 1 + k % 90;
            let text = prompts.prompt(start, n);
            assert_eq!(text, generator.prompt(start, n), "start {start}, n {n}");
            assert_eq!(t.count(&text), n);
        }
    }
}
