//! The prompt corpus: bundled public-domain text (Shakespeare's sonnets, AIPerf's `sonnet`
//! corpus) tokenized once into one long token sequence that prompts are cut from.

use crate::tokenizer::TextTokenizer;

/// Shakespeare's sonnets (public domain).
pub static SONNETS: &str = include_str!("../../../assets/corpus/sonnets.txt");

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

    /// `n` tokens starting at `start`, wrapping around the end.
    pub fn window(&self, start: usize, n: usize) -> Vec<u32> {
        let len = self.tokens.len();
        if len == 0 {
            return Vec::new();
        }
        (0..n).map(|i| self.tokens[(start + i) % len]).collect()
    }
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
