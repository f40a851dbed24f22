//! The prompt corpora (`--prompt-corpus`), each tokenized once into one long token sequence
//! that prompts are cut from: `sonnet` (bundled public-domain Shakespeare, AIPerf's default),
//! `coding` (code, shell output, logs, tracebacks, diffs), `random` (the tokenizer's own
//! vocabulary in id order, AIPerf's random-token prompts).

use tokenizers::PostProcessor;

use crate::seq_dist::RandomCorpusStyle;
use crate::tokenizer::TextTokenizer;

/// Shakespeare's sonnets (public domain).
pub static SONNETS: &str = include_str!("../../../assets/corpus/sonnets.txt");

/// Coding content written for this project (code in several languages, build and test output,
/// logs, JSON, tracebacks, diffs, requests a developer would type). Blocks are separated by a
/// blank line.
pub static CODING: &str = include_str!("corpora/coding.txt");

/// `--prompt-corpus`: which text synthetic prompts are cut from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PromptCorpus {
    #[default]
    Sonnet,
    Coding,
    Random,
}

impl PromptCorpus {
    /// The corpus a registry or flag spelling names.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sonnet" => Some(Self::Sonnet),
            "coding" => Some(Self::Coding),
            "random" => Some(Self::Random),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sonnet => "sonnet",
            Self::Coding => "coding",
            Self::Random => "random",
        }
    }
}

/// A corpus as token ids of the run's tokenizer.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub tokens: Vec<u32>,
}

impl Corpus {
    /// AIPerf's recipe: non-empty lines, trimmed, joined with spaces, tokenized in chunks of about
    /// 10,000 characters (cut at a space), token lists concatenated. Chunks are tokenized on all
    /// cores; the result does not depend on how many.
    pub fn from_text(text: &str, tokenizer: &TextTokenizer) -> Self {
        let joined: String = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let chunks = split_chunks(&joined, 10_000);
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(chunks.len().max(1));
        let per = chunks.len().div_ceil(threads.max(1)).max(1);
        let parts: Vec<Vec<u32>> = std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .chunks(per)
                .map(|group| {
                    s.spawn(move || {
                        group
                            .iter()
                            .flat_map(|c| tokenizer.encode(c))
                            .collect::<Vec<u32>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        Self {
            tokens: parts.concat(),
        }
    }

    /// The bundled sonnets corpus.
    pub fn sonnets(tokenizer: &TextTokenizer) -> Self {
        Self::from_text(SONNETS, tokenizer)
    }

    /// The corpus `--prompt-corpus` names, for this tokenizer.
    pub fn choose(
        choice: PromptCorpus,
        style: RandomCorpusStyle,
        tokenizer: &TextTokenizer,
    ) -> Self {
        match choice {
            PromptCorpus::Sonnet => Self::sonnets(tokenizer),
            PromptCorpus::Coding => Self::coding(tokenizer),
            PromptCorpus::Random => Self::random(tokenizer, style),
        }
    }

    /// The coding corpus. Unlike prose its lines and indentation matter, so blocks (separated
    /// by blank lines) keep their newlines and are joined by a blank line, as AIPerf joins its
    /// generated coding blocks.
    pub fn coding(tokenizer: &TextTokenizer) -> Self {
        let blocks: Vec<String> = CODING
            .split("\n\n")
            .map(str::trim_end)
            .filter(|b| !b.trim().is_empty())
            .map(|b| format!("{b}\n\n"))
            .collect();
        let tokens = crate::parallel::map(&blocks, |b| tokenizer.encode(b)).concat();
        Self { tokens }
    }

    /// AIPerf's `random` corpus: the vocabulary in id order, a prompt being a run of
    /// consecutive ids from a random offset. vLLM style leaves the special tokens out (as
    /// `vllm bench serve` does); SGLang style keeps every id below the vocabulary size.
    pub fn random(tokenizer: &TextTokenizer, style: RandomCorpusStyle) -> Self {
        let inner = &tokenizer.inner;
        let special: std::collections::HashSet<u32> = inner
            .get_added_tokens_decoder()
            .into_iter()
            .filter(|(_, t)| t.special)
            .map(|(id, _)| id)
            .collect();
        let vocab = inner.get_vocab_size(false) as u32;
        let tokens = (0..vocab)
            .filter(|id| style == RandomCorpusStyle::Sglang || !special.contains(id))
            .collect();
        Self { tokens }
    }

    /// `n` tokens starting at `start`, wrapping around the end.
    pub fn window(&self, start: usize, n: usize) -> Vec<u32> {
        let len = self.tokens.len();
        if len == 0 {
            return Vec::new();
        }
        (0..n).map(|i| self.tokens[(start + i) % len]).collect()
    }
}

/// How many special tokens the tokenizer adds around one sequence (a BOS, ...): what the
/// server counts on top of a prompt's own tokens, taken off the ISL window by
/// `--random-range-ratio` as AIPerf does.
pub fn special_tokens_added(tokenizer: &TextTokenizer) -> u32 {
    tokenizer
        .inner
        .get_post_processor()
        .map_or(0, |p| p.added_tokens(false) as u32)
}

/// Splits at the last space before each `max_chars` boundary (char-boundary safe).
fn split_chunks(text: &str, max_chars: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while rest.len() > max_chars {
        let mut cut = max_chars;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let cut = rest[..cut].rfind(' ').filter(|&i| i > 0).unwrap_or(cut);
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_text_exactly() {
        let text = "aa bb cc dd ee ff gg";
        let chunks = split_chunks(text, 7);
        assert_eq!(chunks.concat(), text);
        assert!(chunks.iter().all(|c| c.len() <= 7));
    }

    /// The coding corpus keeps its newlines and indentation; the random corpus is the
    /// vocabulary in order, without the special tokens in vLLM style.
    #[test]
    fn coding_and_random_corpora() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::coding(&t);
        assert!(c.tokens.len() > 6_000, "{}", c.tokens.len());
        let text = t.decode(&c.tokens);
        assert!(text.contains("    def delay_for(self, attempt: int) -> float:\n"));
        assert!(text.contains("Traceback (most recent call last):"));
        let v = Corpus::random(&t, RandomCorpusStyle::Vllm);
        let s = Corpus::random(&t, RandomCorpusStyle::Sglang);
        let vocab = t.inner.get_vocab_size(false);
        assert_eq!(s.tokens.len(), vocab);
        assert_eq!(&s.tokens[..3], &[0, 1, 2]);
        assert!(v.tokens.len() <= vocab && v.tokens.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(special_tokens_added(&t), 0, "o200k adds no BOS");
    }

    #[test]
    fn sonnets_corpus_is_substantial() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        assert!(c.tokens.len() > 20_000, "{}", c.tokens.len());
        assert_eq!(
            c.window(c.tokens.len() - 1, 2),
            vec![c.tokens[c.tokens.len() - 1], c.tokens[0]]
        );
    }
}
