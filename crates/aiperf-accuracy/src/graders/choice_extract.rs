//! Shared multiple-choice letter extraction (AIPerf's `graders/_choice_extract.py`), plus the
//! few Python string semantics the simple graders need to behave byte for byte like AIPerf.
//!
//! AIPerf adapts TIGER-AI-Lab MMLU-Pro's three-tier cascade (`extract_answer` /
//! `extract_again` / `extract_final` of `evaluate_from_api.py`), parameterised on the letter
//! range so MMLU (A-D), MMLU-Pro (A-J) and GPQA share it:
//!
//! | tier | Python pattern (`L` = `[letters]`) | which match |
//! | --- | --- | --- |
//! | 1 | `answer is \(?(L)\)?` | the last one (`finditer(...)[-1]`) |
//! | 2 | `.*[aA]nswer:\s*(L)` with `DOTALL` | the last one (greedy `.*`) |
//! | 3 | `\bL\b(?!.*\bL\b)` with `DOTALL` | the last standalone letter |
//!
//! The Rust `regex` crate has no look-around, and its `\s`, `\w` and `\b` are not Python's, so
//! the tiers are hand-written scans here with Python's definitions:
//! [`py_is_space`] (`str.isspace`, `\s`, what `str.strip()` removes) and [`py_is_word`]
//! (`\w`, which decides `\b`). Each scan returns what the Python pattern returns; the tests
//! below pin that down.

use std::sync::LazyLock;

use regex::Regex;

use super::py_bool;
use crate::Grade;

/// The letters of MMLU (and `multiple_choice`): A-D.
pub(crate) const LETTERS_ABCD: &str = "ABCD";

/// The letters of MMLU-Pro: A-J (`extract_choice_letter`'s default in AIPerf).
pub(crate) const LETTERS_A_TO_J: &str = "ABCDEFGHIJ";

/// Which rule of the cascade found the letter; `tier as u8` is AIPerf's tier number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum ChoiceTier {
    /// `0`: nothing matched; the letter is empty.
    None = 0,
    /// `1`: the clean, requested format: the last `answer is X` / `answer is (X)`.
    AnswerIs = 1,
    /// `2`: the last `answer: X` / `Answer: X` (any whitespace between).
    AnswerColon = 2,
    /// `3`: last resort, the last letter that stands alone (not inside a word).
    LastLoneLetter = 3,
}

/// AIPerf's `extract_choice_letter(text, letters)`: a choice letter from model output and the
/// tier that found it, or `("", ChoiceTier::None)`.
///
/// `letters` is the set of valid choices, one character each (e.g. [`LETTERS_ABCD`],
/// [`LETTERS_A_TO_J`]); AIPerf pastes it into a regex class `[letters]`, so only plain letters
/// are meaningful. Tier 1 is tried first over the whole text, then tier 2, then tier 3 (see the
/// module docs); every tier is last-oriented, since a chain of thought may mention an
/// intermediate answer before the final one.
pub(crate) fn extract_choice_letter(text: &str, letters: &str) -> (String, ChoiceTier) {
    if let Some(c) = last_answer_is(text, letters) {
        return (c.to_string(), ChoiceTier::AnswerIs);
    }
    if let Some(c) = last_answer_colon(text, letters) {
        return (c.to_string(), ChoiceTier::AnswerColon);
    }
    if let Some(c) = last_lone_letter(text, letters) {
        return (c.to_string(), ChoiceTier::LastLoneLetter);
    }
    (String::new(), ChoiceTier::None)
}

/// Tier 1: the letter of the last match of `answer is \(?([letters])\)?` (case-sensitive,
/// exactly one space each side of `is`). Matches cannot overlap (each starts with `answer is `,
/// which no match contains again), so the last occurrence is the last `finditer` match.
pub(crate) fn last_answer_is(text: &str, letters: &str) -> Option<char> {
    const KEY: &str = "answer is ";
    // Neither key can overlap itself, so scanning from the right sees every occurrence.
    text.rmatch_indices(KEY)
        .filter_map(|(i, _)| {
            let mut rest = text[i + KEY.len()..].chars();
            match rest.next()? {
                // `\(?` greedy: take the parenthesis when a letter follows it; otherwise the
                // backtrack to no parenthesis asks for `(` itself to be a letter, which it is not.
                '(' => rest.next().filter(|c| letters.contains(*c)),
                c => letters.contains(c).then_some(c),
            }
        })
        .next()
}

/// Tier 2: the letter of `.*[aA]nswer:\s*([letters])` (`DOTALL`): the greedy `.*` makes it the
/// last `answer:` / `Answer:` that is followed, after any Python whitespace, by a letter.
pub(crate) fn last_answer_colon(text: &str, letters: &str) -> Option<char> {
    const KEY: &str = "nswer:";
    text.rmatch_indices(KEY)
        .filter(|(i, _)| matches!(text[..*i].chars().next_back(), Some('a' | 'A')))
        .filter_map(|(i, _)| {
            // `\s*` then a letter; letters are never whitespace, so backtracking `\s*` cannot
            // help and skipping all of it is the same.
            let c = text[i + KEY.len()..].chars().find(|c| !py_is_space(*c))?;
            letters.contains(c).then_some(c)
        })
        .next()
}

/// Tier 3: `\b[letters]\b(?!.*\b[letters]\b)` (`DOTALL`): the last letter with no Python word
/// character (`\w`) on either side. Note a letter inside a word ("FLAG") never counts.
pub(crate) fn last_lone_letter(text: &str, letters: &str) -> Option<char> {
    lone_letters(text, letters).next_back()
}

/// The first letter with no Python word character on either side: `(?<!\w)([letters])(?!\w)`
/// (`multiple_choice`'s `_LETTER_RE`, used with `letters` = A-D).
pub(crate) fn first_lone_letter(text: &str, letters: &str) -> Option<char> {
    lone_letters(text, letters).next()
}

/// The first line of `response`, Python-stripped.
pub(crate) fn stripped_first_line(response: &str) -> &str {
    py_strip(response.split('\n').next().unwrap_or(""))
}

/// `s` is exactly one letter of `letters` (a bare, non-chain-of-thought answer).
pub(crate) fn is_bare_letter(s: &str, letters: &str) -> bool {
    s.chars().count() == 1 && letters.contains(s)
}

/// How a letter grader words its reasoning:
/// `{extracted} '<pred>'{fallback, when unparsed}; {gold} '<gold>'; match=<True|False>`.
pub(crate) struct LetterWording {
    pub extracted: &'static str,
    pub fallback: &'static str,
    pub gold: &'static str,
}

/// The grade of an extracted letter `pred` (`unparsed`: a fallback found it) against the
/// stripped gold: correct when the two are equal and not empty.
pub(crate) fn grade_letter(
    pred: String,
    unparsed: bool,
    ground_truth: &str,
    wording: &LetterWording,
) -> Grade {
    let gold = py_strip(ground_truth).to_string();
    let correct = pred == gold && !pred.is_empty();
    let reasoning = format!(
        "{} '{pred}'{}; {} '{gold}'; match={}",
        wording.extracted,
        if unparsed { wording.fallback } else { "" },
        wording.gold,
        py_bool(correct),
    );
    Grade::scored(correct, unparsed, reasoning, pred, gold)
}

/// Every letter of `letters` in `text` whose neighbours (or the text's ends) are not Python
/// word characters, in order. Such letters can never be adjacent, so this is every position
/// where `\b[letters]\b` (or `(?<!\w)[letters](?!\w)`) matches.
fn lone_letters<'a>(text: &'a str, letters: &'a str) -> impl DoubleEndedIterator<Item = char> + 'a {
    text.char_indices().filter_map(move |(i, c)| {
        if !letters.contains(c) {
            return None;
        }
        let before = text[..i].chars().next_back();
        let after = text[i + c.len_utf8()..].chars().next();
        let lone = !before.is_some_and(py_is_word) && !after.is_some_and(py_is_word);
        lone.then_some(c)
    })
}

/// Python's `str.isspace()` for one character, which is also what `\s` matches in a `str`
/// pattern and what `str.strip()` (no argument) removes: Unicode `White_Space` (Rust's
/// [`char::is_whitespace`]) plus the four ASCII separators U+001C to U+001F.
pub(crate) fn py_is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()` with no argument.
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(py_is_space)
}

/// Python's `\w` for a `str` pattern (what `\b` looks at): `str.isalnum()` or `_`, which is
/// exactly the general categories L* and N* plus `_` (checked over every code point against
/// CPython 3.11). Rust's own `\w` and [`char::is_alphanumeric`] differ: they take combining
/// marks and other connector punctuation, and miss some numerics.
pub(crate) fn py_is_word(c: char) -> bool {
    static WORD: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[\p{L}\p{N}_]$").expect("valid regex"));
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    let mut buf = [0u8; 4];
    WORD.is_match(c.encode_utf8(&mut buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abcd(text: &str) -> (String, u8) {
        let (l, t) = extract_choice_letter(text, LETTERS_ABCD);
        (l, t as u8)
    }

    fn aj(text: &str) -> (String, u8) {
        let (l, t) = extract_choice_letter(text, LETTERS_A_TO_J);
        (l, t as u8)
    }

    #[test]
    fn cascade_table() {
        // (text, letters A-D?, expected letter, expected tier)
        let rows: &[(&str, bool, &str, u8)] = &[
            ("", true, "", 0),
            ("The answer is (B).", true, "B", 1),
            ("The answer is B", true, "B", 1),
            ("the answer is (C", true, "C", 1),
            ("answer is A ... actually the answer is (D)", true, "D", 1),
            ("The answer is (E)", true, "", 0),
            ("The answer is (E)", false, "E", 1),
            ("the answer is  B", true, "B", 3), // two spaces: not tier 1
            ("The Answer is B", true, "B", 3),  // capital A: not tier 1
            ("answer is (Bob)", true, "B", 1),  // no boundary needed in tier 1
            ("answer is b", true, "", 0),
            ("Answer: C", true, "C", 2),
            ("answer:\n\t D because", true, "D", 2),
            ("Answer: A. Later... Answer: C", true, "C", 2),
            ("Answer: C then Answer: maybe", true, "C", 2),
            ("ANSWER: C", true, "C", 3),
            ("Answer: (C)", true, "C", 3),    // `(` is not whitespace
            ("Answer:\u{1f}B", true, "B", 2), // Python's \s includes U+001F
            ("I pick B, not C.", true, "C", 3),
            ("FLAG", true, "", 0),
            ("CAB", true, "", 0),
            ("A_", true, "", 0),
            ("(A) or (B)?", true, "B", 3),
            ("A1", true, "", 0),
            ("A\u{301}", true, "A", 3), // combining mark is not a Python word char
            ("éA", true, "", 0),
            ("A²", true, "", 0), // U+00B2 is numeric, so a Python word char
            ("Option J", false, "J", 3),
            ("Option J", true, "", 0),
            ("answer is (B) and Answer: C", true, "B", 1),
        ];
        for (text, four, letter, tier) in rows {
            let got = if *four { abcd(text) } else { aj(text) };
            assert_eq!(got, (letter.to_string(), *tier), "text {text:?}");
        }
    }

    #[test]
    fn lone_letter_first_and_last() {
        assert_eq!(first_lone_letter("A. 0, B. 4", LETTERS_ABCD), Some('A'));
        assert_eq!(last_lone_letter("A. 0, B. 4", LETTERS_ABCD), Some('B'));
        assert_eq!(first_lone_letter("Bad Dog", LETTERS_ABCD), None);
        assert_eq!(first_lone_letter("**B**", LETTERS_ABCD), Some('B'));
    }

    #[test]
    fn python_whitespace_and_word() {
        assert_eq!(py_strip("\u{1c}\u{a0} B \u{3000}\r\n"), "B");
        assert_eq!(py_strip("\u{200b}B"), "\u{200b}B"); // zero-width space is not whitespace
        assert!(py_is_word('_') && py_is_word('é') && py_is_word('½') && py_is_word('٣'));
        assert!(!py_is_word('\u{301}') && !py_is_word('\u{200d}') && !py_is_word('‿'));
    }
}
