//! Synthetic prompts the way AIPerf makes them (spec §5.2): a token length drawn from
//! N(mean, stddev), a window of that many corpus tokens at a random offset, decoded and
//! re-encoded until the text tokenizes to exactly the drawn length.

use aiperf_core::{Conversation, Turn};

use crate::corpus::Corpus;
use crate::rng::Rng;
use crate::tokenizer::TextTokenizer;

/// What to synthesize.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticConfig {
    /// Number of distinct conversations (`--num-dataset-entries`).
    pub num_entries: usize,
    pub isl_mean: f64,
    pub isl_stddev: f64,
    /// `--osl`; no output length is requested when `None`.
    pub osl_mean: Option<f64>,
    pub osl_stddev: f64,
    /// Texts per turn (`--prompt-batch-size`).
    pub batch_size: usize,
    pub seed: u64,
}

/// Per entry: `(corpus offset, token count)` of each text, and the output length to request.
type EntryPlan = (Vec<(usize, usize)>, Option<u32>);

/// Cuts exact-length prompts out of a corpus.
pub struct PromptGenerator<'a> {
    tokenizer: &'a TextTokenizer,
    corpus: &'a Corpus,
}

impl<'a> PromptGenerator<'a> {
    pub fn new(tokenizer: &'a TextTokenizer, corpus: &'a Corpus) -> Self {
        Self { tokenizer, corpus }
    }

    /// A prompt of exactly `n` tokens starting at corpus offset `start` (best effort after 10
    /// corrections, which in practice always suffice).
    pub fn prompt(&self, start: usize, n: usize) -> String {
        let mut ids = self.corpus.window(start, n);
        let mut next = start + n; // where top-up tokens come from: deterministic, no RNG
        let mut text = self.tokenizer.decode(&ids);
        for _ in 0..10 {
            let re = self.tokenizer.encode(&text);
            if re.len() == n {
                return text;
            }
            if re.len() > n {
                ids = re[..n].to_vec();
            } else {
                ids = re;
                let missing = n - ids.len();
                ids.extend(self.corpus.window(next, missing));
                next += missing;
            }
            text = self.tokenizer.decode(&ids);
        }
        text
    }

    /// Builds `cfg.num_entries` single-turn conversations named `session_000000`, ...
    ///
    /// Random draws happen in entry order from named streams; the expensive decode/encode work
    /// then runs on all cores, so the result is the same whatever the core count.
    pub fn conversations(&self, cfg: &SyntheticConfig) -> Vec<Conversation> {
        let mut lengths = Rng::derive(cfg.seed, "dataset.prompt.length");
        let mut offsets = Rng::derive(cfg.seed, "dataset.prompt.corpus");
        let mut osl = Rng::derive(cfg.seed, "composer.turn.max_tokens");
        let corpus_len = self.corpus.tokens.len().max(1) as u64;
        let batch = cfg.batch_size.max(1);
        let mut plans: Vec<EntryPlan> = Vec::with_capacity(cfg.num_entries);
        for _ in 0..cfg.num_entries {
            let texts = (0..batch)
                .map(|_| {
                    let n = lengths.positive_normal_integer(cfg.isl_mean, cfg.isl_stddev) as usize;
                    (offsets.below(corpus_len) as usize, n)
                })
                .collect();
            let max_tokens = cfg
                .osl_mean
                .map(|m| osl.positive_normal_integer(m, cfg.osl_stddev));
            plans.push((texts, max_tokens));
        }
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let per = plans.len().div_ceil(threads).max(1);
        let texts: Vec<Vec<String>> = std::thread::scope(|s| {
            let handles: Vec<_> = plans
                .chunks(per)
                .map(|group| {
                    s.spawn(move || {
                        group
                            .iter()
                            .map(|(texts, _)| {
                                texts
                                    .iter()
                                    .map(|&(start, n)| self.prompt(start, n))
                                    .collect()
                            })
                            .collect::<Vec<Vec<String>>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        texts
            .into_iter()
            .zip(plans)
            .enumerate()
            .map(|(i, (texts, (_, max_tokens)))| Conversation {
                session_id: format!("session_{i:06}"),
                turns: vec![Turn {
                    texts,
                    max_tokens,
                    role: None,
                    extra: None,
                    timestamp_ms: None,
                }],
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (TextTokenizer, Corpus) {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        (t, c)
    }

    #[test]
    fn prompts_hit_exact_token_counts() {
        let (t, c) = setup();
        let g = PromptGenerator::new(&t, &c);
        let mut r = Rng::derive(3, "x");
        for n in [1usize, 2, 5, 17, 128, 550, 2000] {
            for _ in 0..5 {
                let start = r.below(c.tokens.len() as u64) as usize;
                let p = g.prompt(start, n);
                assert_eq!(t.count(&p), n, "n={n} start={start} prompt={p:?}");
            }
        }
    }

    #[test]
    fn conversations_are_reproducible_and_follow_the_config() {
        let (t, c) = setup();
        let g = PromptGenerator::new(&t, &c);
        let cfg = SyntheticConfig {
            num_entries: 20,
            isl_mean: 64.0,
            isl_stddev: 8.0,
            osl_mean: Some(32.0),
            osl_stddev: 0.0,
            batch_size: 1,
            seed: 42,
        };
        let a = g.conversations(&cfg);
        let b = g.conversations(&cfg);
        assert_eq!(a, b);
        assert_eq!(a.len(), 20);
        assert_eq!(a[3].session_id, "session_000003");
        assert!(a.iter().all(|c| c.turns[0].max_tokens == Some(32)));
        let lens: Vec<usize> = a.iter().map(|c| t.count(&c.turns[0].texts[0])).collect();
        assert!(
            lens.iter().any(|&l| l != 64),
            "stddev 8 should vary lengths: {lens:?}"
        );
        let other = g.conversations(&SyntheticConfig {
            seed: 43,
            ..cfg.clone()
        });
        assert_ne!(a, other);
        let none = g.conversations(&SyntheticConfig {
            osl_mean: None,
            ..cfg
        });
        assert!(none.iter().all(|c| c.turns[0].max_tokens.is_none()));
    }
}
