//! Exact token counts without building an `Encoding`.
//!
//! Counting output tokens is the largest per-request cost on the client (issue 9): the full
//! `tokenizers` pipeline splits the text into `NormalizedString`s with alignment tables, maps each
//! piece to byte-level characters with another alignment table, runs BPE on it and builds an
//! `Encoding` with ids, offsets and masks, only for us to read its length.
//!
//! For the common tokenizer shape (no normalizer, or a Unicode normalizer on ASCII text; a regex
//! `Split` followed by a non-splitting `ByteLevel`, or a splitting `ByteLevel` alone; a BPE model
//! without dropout) the count is a sum over pieces: the split regex cuts the text into byte
//! ranges, and each piece's count depends only on the piece, so it is cached. The regex runs on
//! the `regex` crate when its syntax allows (GPT-2's, o200k's, cl100k's, Llama 3's and Qwen's
//! patterns do; see [`Splitter`]), else on Oniguruma as in `tokenizers`. Texts that contain an
//! added token, and every other tokenizer shape, take the full pipeline. The tests check the
//! counts against the pipeline and the regex crate's splits against Oniguruma's.

use std::collections::HashMap;
use std::sync::Mutex;

use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::ModelWrapper;
use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::split::SplitPattern;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::utils::SysRegex;
use tokenizers::{Model, SplitDelimiterBehavior, Tokenizer};

use crate::tokenizer::TextTokenizer;

/// GPT-2's splitting regex, which `ByteLevel { use_regex: true }` applies (private in tokenizers).
const GPT2_PATTERN: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

/// Pieces remembered before the cache is cleared (bounded memory over any run length).
const CACHE_PIECES: usize = 1 << 16;

/// The fast path for one tokenizer, if its shape allows one.
pub(crate) struct FastCounter {
    splitter: Splitter,
    behavior: SplitDelimiterBehavior,
    invert: bool,
    /// A normalizer is present: only ASCII text (which NFC/NFD/NFKC/NFKD leave alone) is counted
    /// on the fast path.
    ascii_only: bool,
    /// Finds any added token's content: such texts take the full pipeline.
    added: Option<aho_corasick::AhoCorasick>,
    /// Byte-level character of every byte (GPT-2's table).
    byte_chars: [char; 256],
    /// Tokens per piece, in a few shards: a count takes the first shard no other thread holds
    /// (`try_lock`), so threads counting at once never wait for each other and each still
    /// finds a warm cache (with one shared cache, all but one thread went uncached).
    caches: Box<[Mutex<PieceCache>]>,
}

type PieceCache = HashMap<Box<str>, u32, ahash::RandomState>;

/// Cache shards: one per core, at most this many (each holds up to [`CACHE_PIECES`] pieces).
const CACHE_SHARDS: usize = 8;

impl FastCounter {
    /// The fast path for `tokenizer`, or `None` when its shape is not one this module handles.
    pub(crate) fn for_tokenizer(tokenizer: &Tokenizer) -> Option<Self> {
        let ascii_only = match tokenizer.get_normalizer() {
            None => false,
            Some(
                NormalizerWrapper::NFC(_)
                | NormalizerWrapper::NFD(_)
                | NormalizerWrapper::NFKC(_)
                | NormalizerWrapper::NFKD(_),
            ) => true,
            Some(_) => return None,
        };
        match tokenizer.get_model() {
            ModelWrapper::BPE(bpe) if bpe.dropout.is_none() => {}
            _ => return None,
        }
        let (pattern, behavior, invert) = match tokenizer.get_pre_tokenizer()? {
            PreTokenizerWrapper::ByteLevel(b) if b.use_regex && plain(b) => (
                GPT2_PATTERN.to_string(),
                SplitDelimiterBehavior::Isolated,
                false,
            ),
            PreTokenizerWrapper::Sequence(seq) => match seq.as_ref() {
                [PreTokenizerWrapper::Split(split), PreTokenizerWrapper::ByteLevel(b)]
                    if !b.use_regex && plain(b) =>
                {
                    let SplitPattern::Regex(p) = &split.pattern else {
                        return None;
                    };
                    (p.clone(), split.behavior, split.invert)
                }
                _ => return None,
            },
            _ => return None,
        };
        let contents: Vec<String> = tokenizer
            .get_added_tokens_decoder()
            .into_values()
            .map(|t| t.content)
            .collect();
        Self::new(&pattern, behavior, invert, ascii_only, &contents)
    }

    /// A counter splitting by `pattern` as a `Split` pre-tokenizer with `behavior` and `invert`
    /// would; texts containing one of `added` go to the full pipeline.
    fn new(
        pattern: &str,
        behavior: SplitDelimiterBehavior,
        invert: bool,
        ascii_only: bool,
        added: &[String],
    ) -> Option<Self> {
        let splitter = Splitter::new(pattern)?;
        let added: Vec<&String> = added.iter().filter(|c| !c.is_empty()).collect();
        let added = if added.is_empty() {
            None
        } else {
            Some(aho_corasick::AhoCorasick::new(added).ok()?)
        };
        Some(Self {
            splitter,
            behavior,
            invert,
            ascii_only,
            added,
            byte_chars: byte_chars(),
            caches: (0..cache_shards())
                .map(|_| Mutex::new(PieceCache::default()))
                .collect(),
        })
    }

    /// Tokens in `text`, or `None` when this text must take the full pipeline.
    pub(crate) fn count(&self, tokenizer: &Tokenizer, text: &str) -> Option<usize> {
        if self.ascii_only && !text.is_ascii() {
            return None;
        }
        if self.added.as_ref().is_some_and(|a| a.is_match(text)) {
            return None;
        }
        let mut cache = self.caches.iter().find_map(|c| c.try_lock().ok());
        if let Some(c) = cache.as_mut().filter(|c| c.len() >= CACHE_PIECES) {
            c.clear();
        }
        let mut total = 0usize;
        let mut failed = false;
        self.pieces(text, |piece| {
            if failed || piece.is_empty() {
                return;
            }
            if let Some(&n) = cache.as_ref().and_then(|c| c.get(piece)) {
                total += n as usize;
                return;
            }
            let mapped: String = piece.bytes().map(|b| self.byte_chars[b as usize]).collect();
            match tokenizer.get_model().tokenize(&mapped) {
                Ok(tokens) => {
                    total += tokens.len();
                    if let Some(c) = cache.as_mut() {
                        c.insert(piece.into(), tokens.len() as u32);
                    }
                }
                Err(_) => failed = true,
            }
        });
        (!failed).then_some(total)
    }

    /// Calls `f` with every piece the pre-tokenizer would keep, in order: the stretches of
    /// `Pattern::find_matches` (delimiters and the text between them) joined or dropped as
    /// `NormalizedString::split` does for each behaviour, over byte ranges instead of strings.
    fn pieces(&self, text: &str, mut f: impl FnMut(&str)) {
        let mut merge = Merge::new(self.behavior);
        let mut prev = 0;
        self.splitter.matches(text, |start, end| {
            if prev != start {
                merge.push(text, prev, start, self.invert, &mut f);
            }
            merge.push(text, start, end, !self.invert, &mut f);
            prev = end;
        });
        if prev != text.len() {
            merge.push(text, prev, text.len(), self.invert, &mut f);
        }
        merge.finish(text, &mut f);
    }
}

/// How many piece caches a counter keeps: one per core the process may run on.
fn cache_shards() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, CACHE_SHARDS)
}

/// The text of token ids without the `tokenizers` pipeline, for byte-level tokenizers (GPT-2,
/// o200k, cl100k, Llama 3, Qwen): their decoder maps each token's characters back to bytes
/// through GPT-2's table and reads the joined bytes as UTF-8 (lossily), and dropping special
/// tokens is a per-id decision, so a table of each id's bytes gives the same text. The pipeline
/// clones every token's string and maps it char by char through a hash map: most of the time
/// of cutting prompts from the corpus went there.
pub(crate) struct TokenBytes {
    /// Per id (index): where its bytes are in `bytes`; `None` for ids not in the table.
    spans: Vec<Option<(u32, u32)>>,
    bytes: Vec<u8>,
}

impl TokenBytes {
    /// A table of the ids in `ids` (say, a corpus), or `None` when `tokenizer`'s decoder is
    /// not the plain byte-level one.
    pub(crate) fn new(tokenizer: &TextTokenizer, ids: &[u32]) -> Option<Self> {
        let t = &tokenizer.inner;
        if !matches!(t.get_decoder(), Some(DecoderWrapper::ByteLevel(_))) {
            return None;
        }
        let inverse: HashMap<char, u8> = byte_chars()
            .iter()
            .enumerate()
            .map(|(b, c)| (*c, b as u8))
            .collect();
        let max = ids.iter().copied().max().map_or(0, |m| m as usize + 1);
        let mut table = Self {
            spans: vec![None; max],
            bytes: Vec::new(),
        };
        for &id in ids {
            if table.spans[id as usize].is_some() {
                continue;
            }
            // As `Tokenizer::decode` looks a token up; an unknown id stays out of the table.
            let Some(token) = t.id_to_token(id) else {
                continue;
            };
            let from = table.bytes.len();
            if !t.get_added_vocabulary().is_special_token(&token) {
                let mapped: Option<Vec<u8>> =
                    token.chars().map(|c| inverse.get(&c).copied()).collect();
                table
                    .bytes
                    .extend_from_slice(mapped.as_deref().unwrap_or(token.as_bytes()));
            }
            table.spans[id as usize] = Some((from as u32, (table.bytes.len() - from) as u32));
        }
        Some(table)
    }

    /// The text of `ids` as `tokenizer.decode` gives it, or `None` when an id is not in the
    /// table.
    pub(crate) fn decode(&self, ids: &[u32]) -> Option<String> {
        // Sized exactly: a million prompts are kept, and slack would be kept with them.
        let mut size = 0;
        for &id in ids {
            size += (*self.spans.get(id as usize)?)?.1 as usize;
        }
        let mut out = Vec::with_capacity(size);
        for &id in ids {
            let (from, len) = (*self.spans.get(id as usize)?)?;
            out.extend_from_slice(&self.bytes[from as usize..(from + len) as usize]);
        }
        Some(match String::from_utf8(out) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }
}

/// `tokenizer.decode(ids)`, through `table` when it has every id.
pub(crate) fn decode(tokenizer: &TextTokenizer, table: Option<&TokenBytes>, ids: &[u32]) -> String {
    table
        .and_then(|t| t.decode(ids))
        .unwrap_or_else(|| tokenizer.decode(ids))
}

/// GPT-2's whitespace rule, the only part of the common patterns the `regex` crate lacks.
const WHITESPACE_TAIL: &str = r"|\s+(?!\S)|\s+";

/// Unicode classes whose members the `regex` crate and Oniguruma agree on, code point by code
/// point (`tests::classes_agree_with_oniguruma`).
const VERIFIED_CLASSES: [&str; 8] = ["L", "N", "Lu", "Ll", "Lt", "Lm", "Lo", "M"];

/// Lazy-DFA cache per thread: text spanning many scripts outgrows the default 2 MiB, and then the
/// engine falls back to its slower NFA simulation.
const DFA_CACHE: usize = 8 << 20;

/// Finds the pre-tokenizer's regex matches.
enum Splitter {
    /// Oniguruma, as `tokenizers` runs it.
    Onig(SysRegex),
    /// The `regex` crate, about 6x faster, for patterns that end in [`WHITESPACE_TAIL`] and use
    /// only syntax both engines read the same way. The tail becomes `|\s+`; a match that came from
    /// it is then shortened as the lookahead would (see [`Splitter::matches`]).
    Rust {
        regex: regex::Regex,
        /// Every alternative before the tail, anchored: tells a tail match from an earlier one.
        head: regex::Regex,
    },
}

impl Splitter {
    fn new(pattern: &str) -> Option<Self> {
        if let Some(head) = pattern.strip_suffix(WHITESPACE_TAIL) {
            if verified_syntax(head) {
                let rewritten = format!(r"{head}|\s+");
                let regex = regex::RegexBuilder::new(&rewritten)
                    .dfa_size_limit(DFA_CACHE)
                    .build();
                let anchored = regex::Regex::new(&format!("^(?:{head})"));
                // A pattern that can match nothing would need Oniguruma's empty-match stepping.
                let never_empty = regex_syntax::parse(&rewritten)
                    .ok()
                    .and_then(|h| h.properties().minimum_len())
                    .is_some_and(|n| n > 0);
                if let (Ok(regex), Ok(head), true) = (regex, anchored, never_empty) {
                    return Some(Self::Rust { regex, head });
                }
            }
        }
        SysRegex::new(pattern).ok().map(Self::Onig)
    }

    /// Calls `f(start, end)` for every match, left to right, as Oniguruma's `find_iter` would.
    fn matches(&self, text: &str, mut f: impl FnMut(usize, usize)) {
        match self {
            Self::Onig(regex) => {
                for (start, end) in regex.find_iter(text) {
                    f(start, end);
                }
            }
            Self::Rust { regex, head } => {
                let mut at = 0;
                while let Some(m) = regex.find_at(text, at) {
                    let (start, mut end) = (m.start(), m.end());
                    // `\s+(?!\S)` takes a whitespace run that ends the text whole, and otherwise
                    // all of it but the last character (which then starts the next match), when
                    // that leaves at least one; `\s+` takes a lone character. The regex crate's
                    // `\s+` took the whole run, so give the last character back, unless an
                    // earlier alternative matched here.
                    let run = &text[start..end];
                    if end < text.len()
                        && run.chars().nth(1).is_some()
                        && run.chars().all(char::is_whitespace)
                        && !head.is_match(&text[start..])
                    {
                        end -= run.chars().next_back().map_or(0, char::len_utf8);
                    }
                    f(start, end);
                    at = end;
                }
            }
        }
    }
}

/// Whether `pattern` uses only syntax the two engines agree on: plain characters and classes,
/// escaped punctuation, `\s`, `\S`, `\r`, `\n`, `\t`, the [`VERIFIED_CLASSES`], counted
/// repetition and `(?:` / `(?i:` groups; no anchors, lookaround, possessive quantifiers or class
/// set operations.
fn verified_syntax(pattern: &str) -> bool {
    if ["&&", "--", "~~", "[[", "++", "*+", "?+"]
        .iter()
        .any(|op| pattern.contains(op))
    {
        return false;
    }
    let b = pattern.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => match b.get(i + 1) {
                Some(b's' | b'S' | b'r' | b'n' | b't') => i += 2,
                Some(b'p') => {
                    let Some((name, _)) = pattern[i + 2..]
                        .strip_prefix('{')
                        .and_then(|r| r.split_once('}'))
                    else {
                        return false;
                    };
                    if !VERIFIED_CLASSES.contains(&name) {
                        return false;
                    }
                    i += 4 + name.len();
                }
                Some(c) if c.is_ascii_punctuation() => i += 2,
                _ => return false,
            },
            b'$' => return false,
            b'^' if i == 0 || b[i - 1] != b'[' => return false,
            b'(' if b.get(i + 1) == Some(&b'?') => {
                if pattern[i..].starts_with("(?:") {
                    i += 3;
                } else if pattern[i..].starts_with("(?i:") {
                    i += 4;
                } else {
                    return false;
                }
            }
            _ => i += 1,
        }
    }
    true
}

/// Joins a stream of stretches into pieces by one `SplitDelimiterBehavior`.
struct Merge {
    behavior: SplitDelimiterBehavior,
    /// The piece being built (byte range), not yet emitted.
    pending: Option<(usize, usize)>,
    previous_match: bool,
}

impl Merge {
    fn new(behavior: SplitDelimiterBehavior) -> Self {
        Self {
            behavior,
            pending: None,
            previous_match: false,
        }
    }

    /// One stretch `start..end`, a delimiter when `is_match`.
    fn push(
        &mut self,
        text: &str,
        start: usize,
        end: usize,
        is_match: bool,
        f: &mut impl FnMut(&str),
    ) {
        use SplitDelimiterBehavior::*;
        let extend = match self.behavior {
            Isolated => return f(&text[start..end]),
            Removed => {
                if !is_match {
                    f(&text[start..end]);
                }
                return;
            }
            Contiguous => is_match == self.previous_match,
            MergedWithPrevious => is_match && !self.previous_match,
            // tokenizers folds from the end: a delimiter joins the stretch after it when that one
            // is not a delimiter. Read forwards, a pending delimiter absorbs a following
            // non-delimiter.
            MergedWithNext => !is_match && self.previous_match,
        };
        self.previous_match = is_match;
        match self.pending.as_mut() {
            Some(p) if extend => p.1 = end,
            _ => {
                if let Some((s, e)) = self.pending.replace((start, end)) {
                    f(&text[s..e]);
                }
            }
        }
    }

    fn finish(&mut self, text: &str, f: &mut impl FnMut(&str)) {
        if let Some((s, e)) = self.pending.take() {
            f(&text[s..e]);
        }
    }
}

/// No prefix space: the only `ByteLevel` option that changes what is tokenized.
fn plain(b: &ByteLevel) -> bool {
    !b.add_prefix_space
}

/// GPT-2's `bytes_to_unicode`: printable bytes map to themselves, the rest to U+0100 onwards.
fn byte_chars() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..=255u8 {
        let printable = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        table[b as usize] = if printable {
            char::from(b)
        } else {
            let c = char::from_u32(next).unwrap_or('\0');
            next += 1;
            c
        };
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Corpus;
    use crate::rng::Rng;
    use crate::TextTokenizer;
    use tokenizers::pre_tokenizers::split::Split;
    use tokenizers::{OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer};

    /// Texts that exercise every branch of o200k's regex, added tokens and odd bytes.
    fn awkward_texts() -> Vec<String> {
        let mut texts: Vec<String> = [
            "",
            " ",
            "Hello world!",
            "  leading and trailing  ",
            "tabs\tand\r\nCRLF\n\n\nlines   \n  ",
            "I'LL say it's THEY'RE we'd you've I'm",
            "numbers 1 12 123 1234 1234567 3.14159 1,000,000",
            "emoji 🤖🚀 and ZWJ 👩‍💻 families 👨‍👩‍👧",
            "中文文本，日本語のテキスト、한국어 텍스트",
            "combining e\u{301} and Ångström, naïve café",
            "symbols ~!@#$%^&*()_+-={}[]|\\:;\"'<>,.?/ end",
            "special <|endoftext|> token inside",
            "<|endofprompt|>",
            "CamelCaseWordsAndALLCAPSAndmixedCASE",
            "url https://example.com/a/b?c=d&e=f#g and path /usr/local/bin/",
            "\u{0} nul \u{7f} del \u{a0} nbsp \u{2028} line sep",
            "     \n\n     x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Random strings over a mixed alphabet: letters, digits, spaces, newlines, punctuation,
        // accents, CJK and emoji, in every combination.
        let alphabet: Vec<char> = "aZ09 \n\t\r'.,!?-_/éÅß中文😀👍\u{301}$%sStT"
            .chars()
            .collect();
        let mut rng = Rng::derive(7, "count.tests");
        for _ in 0..400 {
            let len = (rng.next_u64() % 40) as usize;
            texts.push(
                (0..len)
                    .map(|_| alphabet[(rng.next_u64() % alphabet.len() as u64) as usize])
                    .collect(),
            );
        }
        texts
    }

    #[test]
    fn matches_the_full_pipeline() {
        let t = TextTokenizer::builtin().expect("bundled tokenizer");
        assert!(
            t.fast.is_some(),
            "the bundled tokenizer must take the fast path"
        );
        let corpus = Corpus::sonnets(&t);
        let mut texts = awkward_texts();
        texts.extend((0..300).map(|i| t.decode(&corpus.window(i * 331, 1 + i % 97))));
        // Twice: the second round answers from the piece cache.
        for round in 0..2 {
            for text in &texts {
                assert_eq!(
                    t.count(text),
                    t.count_by_pipeline(text),
                    "round {round}, text {text:?}"
                );
            }
        }
    }

    #[test]
    fn texts_with_added_tokens_take_the_pipeline() {
        let t = TextTokenizer::builtin().expect("bundled tokenizer");
        let fast = t.fast.as_ref().expect("fast path");
        assert_eq!(fast.count(&t.inner, "a <|endoftext|> b"), None);
        assert_eq!(t.count("a <|endoftext|> b"), 4); // "a", " ", the special token, " b"
        assert_eq!(fast.count(&t.inner, "a b"), Some(2));
    }

    /// The byte table decodes as the pipeline does: corpus windows, every id of the vocabulary
    /// in runs (special tokens dropped, ids that cut a character in two read lossily), and
    /// ids it was not built for fall back to the pipeline.
    #[test]
    fn token_bytes_decode_as_the_pipeline() {
        let t = TextTokenizer::builtin().expect("bundled tokenizer");
        let corpus = Corpus::sonnets(&t);
        let table = TokenBytes::new(&t, &corpus.tokens).expect("o200k decodes byte-level");
        for i in 0..500 {
            let ids = corpus.window(i * 977, 1 + i % 120);
            assert_eq!(table.decode(&ids).as_deref(), Some(t.decode(&ids).as_str()));
        }
        let vocab: Vec<u32> = (0..t.inner.get_vocab_size(true) as u32 + 50).collect();
        let all = TokenBytes::new(&t, &vocab).expect("table");
        let mut rng = Rng::derive(3, "count.tests.decode");
        let mut lossy = 0;
        for chunk in vocab.chunks(7) {
            let mut ids = chunk.to_vec();
            ids.push((rng.next_u64() % vocab.len() as u64) as u32);
            let want = t.decode(&ids);
            lossy += usize::from(want.contains('\u{fffd}'));
            assert_eq!(decode(&t, Some(&all), &ids), want, "{ids:?}");
        }
        assert!(
            lossy > 100,
            "byte tokens that split characters were covered"
        );
        assert_eq!(t.decode(&[199_999]), "", "the special token is dropped");
        assert_eq!(all.decode(&[199_999, 40]), Some(t.decode(&[40])));
        // Ids the table was not built for go to the pipeline.
        assert_eq!(table.decode(&[199_999]), None);
        assert_eq!(decode(&t, Some(&table), &[9_999_999, 40]), t.decode(&[40]));
    }

    /// A tokenizer whose decoder is not byte-level gets no table.
    #[test]
    fn token_bytes_need_a_byte_level_decoder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokenizer.json");
        std::fs::write(
            &path,
            r#"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],
            "normalizer":null,"pre_tokenizer":{"type":"Whitespace"},"post_processor":null,
            "decoder":null,"model":{"type":"WordLevel","vocab":{"a":0,"b":1,"[UNK]":2},
            "unk_token":"[UNK]"}}"#,
        )
        .expect("write");
        let t = TextTokenizer::from_path(&path, "word-level").expect("loads");
        assert!(TokenBytes::new(&t, &[0, 1]).is_none());
        assert_eq!(decode(&t, None, &[0, 1]), "a b");
    }

    /// Threads counting at once each get a cache: with the first shard held, a count fills
    /// another one (and agrees with the pipeline).
    #[test]
    fn a_busy_cache_shard_is_passed_over() {
        let t = TextTokenizer::builtin().expect("bundled tokenizer");
        let fast = t.fast.as_ref().expect("fast path");
        if fast.caches.len() < 2 {
            return; // one core: one shard
        }
        let held = fast.caches[0].lock().expect("lock");
        let text = "shards of a cache";
        assert_eq!(fast.count(&t.inner, text), Some(t.count_by_pipeline(text)));
        let second = fast.caches[1].lock().expect("lock");
        assert_eq!(
            second.len(),
            4,
            "its pieces: 'shards', ' of', ' a', ' cache'"
        );
        assert!(held.is_empty());
    }

    /// The piece logic against tokenizers' own `Split` for every behaviour, both ways round.
    #[test]
    fn pieces_match_split_for_every_behaviour() {
        use SplitDelimiterBehavior::*;
        let o200k = o200k_pattern();
        let patterns = [
            r"\s+",
            r"[a-z]+",
            r"\p{N}{1,3}",
            r"\s+(?!\S)|\s+",
            r"x*",
            GPT2_PATTERN,
            o200k.as_str(),
        ];
        for pattern in patterns {
            for behavior in [
                Isolated,
                Removed,
                Contiguous,
                MergedWithPrevious,
                MergedWithNext,
            ] {
                for invert in [false, true] {
                    let fast = FastCounter::new(pattern, behavior, invert, false, &[])
                        .expect("pattern compiles");
                    let split = Split::new(SplitPattern::Regex(pattern.into()), behavior, invert)
                        .expect("pattern compiles");
                    for text in awkward_texts() {
                        let mut ours = Vec::new();
                        fast.pieces(&text, |p| {
                            if !p.is_empty() {
                                ours.push(p.to_string())
                            }
                        });
                        let mut pre = PreTokenizedString::from(text.as_str());
                        split.pre_tokenize(&mut pre).expect("split");
                        let theirs: Vec<String> = pre
                            .get_splits(OffsetReferential::Original, OffsetType::Byte)
                            .into_iter()
                            .map(|(s, _, _)| s.to_string())
                            .collect();
                        assert_eq!(
                            ours, theirs,
                            "{pattern} {behavior:?} invert={invert} {text:?}"
                        );
                    }
                }
            }
        }
    }

    /// The bundled tokenizer's split regex.
    fn o200k_pattern() -> String {
        let t = TextTokenizer::builtin().expect("bundled tokenizer");
        match t.inner.get_pre_tokenizer() {
            Some(PreTokenizerWrapper::Sequence(seq)) => match seq.as_ref().first() {
                Some(PreTokenizerWrapper::Split(split)) => match &split.pattern {
                    SplitPattern::Regex(p) => p.clone(),
                    SplitPattern::String(_) => panic!("o200k splits by a regex"),
                },
                _ => panic!("o200k starts with a Split"),
            },
            _ => panic!("o200k has a Sequence pre-tokenizer"),
        }
    }

    fn spans(splitter: &Splitter, text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        splitter.matches(text, |s, e| out.push((s, e)));
        out
    }

    /// Every Unicode scalar value, in order.
    fn all_chars() -> String {
        (0..=0x10FFFFu32).filter_map(char::from_u32).collect()
    }

    #[test]
    fn common_patterns_take_the_regex_crate() {
        for p in [o200k_pattern().as_str(), GPT2_PATTERN] {
            assert!(
                matches!(Splitter::new(p), Some(Splitter::Rust { .. })),
                "{p}"
            );
        }
        // Lookaround elsewhere, possessive quantifiers, unverified classes, anchors: Oniguruma.
        for p in [
            r"a(?=b)|\s+(?!\S)|\s+",
            r"\p{L}++|\s+(?!\S)|\s+",
            r"\p{P}|\s+(?!\S)|\s+",
            r"\d|\s+(?!\S)|\s+",
            r"^a|\s+(?!\S)|\s+",
            r"\s+",
        ] {
            assert!(matches!(Splitter::new(p), Some(Splitter::Onig(_))), "{p}");
        }
    }

    #[test]
    fn classes_agree_with_oniguruma() {
        let text = all_chars();
        let mut classes: Vec<String> = VERIFIED_CLASSES
            .iter()
            .map(|c| format!(r"\p{{{c}}}"))
            .collect();
        classes.extend([
            r"\s".to_string(),
            r"\S".to_string(),
            r"[^\s\p{L}\p{N}]".to_string(),
        ]);
        for class in classes {
            let onig: Vec<(usize, usize)> = SysRegex::new(&class)
                .expect("onig")
                .find_iter(&text)
                .collect();
            let rust: Vec<(usize, usize)> = regex::Regex::new(&class)
                .expect("regex")
                .find_iter(&text)
                .map(|m| (m.start(), m.end()))
                .collect();
            assert!(
                onig == rust,
                "{class}: {} vs {} matches",
                onig.len(),
                rust.len()
            );
        }
        // `char::is_whitespace`, used to recognise a whitespace run, is the same `\s`.
        let ws: Vec<char> = text.chars().filter(|c| c.is_whitespace()).collect();
        let rx: Vec<char> = regex::Regex::new(r"\s")
            .expect("regex")
            .find_iter(&text)
            .flat_map(|m| m.as_str().chars())
            .collect();
        assert_eq!(ws, rx);
    }

    /// `pattern` on the regex crate (asserted: else the comparisons compare Oniguruma with itself)
    /// and on Oniguruma.
    fn both_engines(pattern: &str) -> (Splitter, Splitter) {
        let rust = Splitter::new(pattern).expect("compiles");
        assert!(matches!(rust, Splitter::Rust { .. }), "{pattern}");
        (rust, Splitter::Onig(SysRegex::new(pattern).expect("onig")))
    }

    #[test]
    fn splits_agree_with_oniguruma_after_every_character() {
        // Case-insensitive suffixes (`'s` against the long s, Kelvin sign, ...) and the whitespace
        // rule, with every scalar value in the places where it matters.
        let (rust, onig) = both_engines(&o200k_pattern());
        // One long text per template (every character once), so each engine runs once per template.
        let templates: [fn(char) -> String; 4] = [
            |c| format!("x'{c}|"),
            |c| format!("A'{c}{c} |"),
            |c| format!("  {c}|"),
            |c| format!("1{c}\n  |"),
        ];
        for template in templates {
            let text: String = all_chars().chars().map(template).collect();
            let (a, b) = (spans(&rust, &text), spans(&onig, &text));
            if let Some(i) = (0..a.len().min(b.len())).find(|&i| a[i] != b[i]) {
                let (s, e) = (a[i].0.saturating_sub(16), (a[i].1 + 16).min(text.len()));
                let near: String = text.get(s..e).unwrap_or("(not on a char boundary)").into();
                panic!("spans differ at {:?} vs {:?}, near {near:?}", a[i], b[i]);
            }
            assert_eq!(a.len(), b.len());
        }
    }

    #[test]
    fn random_texts_split_alike() {
        let engines = [both_engines(&o200k_pattern()), both_engines(GPT2_PATTERN)];
        // ASCII-heavy, with every kind of whitespace, cased and uncased letters, marks, digits.
        let pool: Vec<char> = "aAzZ09 '\t\r\n\u{b}\u{c}.,;:!?/-_()[]{}\"#$%&*+=<>@\\^`|~"
            .chars()
            .chain("\u{85}\u{a0}\u{1680}\u{2000}\u{2028}\u{2029}\u{202f}\u{3000}\u{feff}".chars())
            .chain("éÉßſKΣσςДд中文日本ひらカナ한국٣٤\u{301}\u{308}\u{200d}😀👍🏽ǅᾈ".chars())
            .collect();
        let mut rng = Rng::derive(11, "count.tests.split");
        for _ in 0..20_000 {
            let len = (rng.next_u64() % 24) as usize;
            let text: String = (0..len)
                .map(|_| pool[(rng.next_u64() % pool.len() as u64) as usize])
                .collect();
            for (rust, onig) in &engines {
                assert_eq!(spans(rust, &text), spans(onig, &text), "{text:?}");
            }
        }
    }

    #[test]
    fn byte_table_is_gpt2s() {
        let table = byte_chars();
        assert_eq!(table[b'A' as usize], 'A');
        assert_eq!(table[b' ' as usize], 'Ġ');
        assert_eq!(table[b'\n' as usize], 'Ċ');
        assert_eq!(table[0], 'Ā');
        assert_eq!(table[0xAD], 'Ń'); // the soft hyphen, the 68th unprintable byte
        let distinct: std::collections::HashSet<char> = table.iter().copied().collect();
        assert_eq!(distinct.len(), 256);
    }
}
