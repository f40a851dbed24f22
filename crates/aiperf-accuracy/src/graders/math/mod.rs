//! AIPerf's `math` grader (`graders/math.py`, the trt-llm recipe's `math_equal`): take the
//! model's answer (last `\boxed{}`, else the last "the answer is X" phrase, else the last
//! number), normalise both sides with [`strip_string`], then compare with the recipe's
//! cascade of rewrites. The recipe's final sympy + latex2sympy step is replaced by
//! [`symbolic`](super::symbolic), keeping its 1e-4 absolute numeric tolerance.
//!
//! Everything before that step is ported exactly (checked against AIPerf 0.13 on a few
//! thousand generated responses). AIPerf always runs here as with sympy installed
//! ("compared via math_equal"); its stdlib fallback mode is not reproduced. Where sympy reads
//! an answer differently from [`symbolic`](super::symbolic), verdicts differ: sympy's
//! `parse_expr` takes plain `2^3` as XOR (AIPerf: not 8; here: 8), `ab` / `x2` as one
//! symbol (AIPerf: `ab` ≠ `ba`), `3, -2` as an ordered tuple (here a list in any order), and
//! does not equate `x \in [1,2)` with `[1,2)` or `π` with `\pi`. Only `\boxed{` is
//! extracted (AIPerf's `math` grader does not look for `\fbox`).

mod strip;

pub use strip::strip_string;

use super::symbolic;
use super::{py_bool, Grader, GraderKind};
use crate::Grade;
use regex::Regex;
use std::sync::OnceLock;
use strip::{is_py_space, py_strip, valid_underscored_digits};

/// `isclose(..., abs_tol=1e-4)` as the recipe compares numbers.
const NUMERIC_ABS_TOL: f64 = 1e-4;
/// Python `math.isclose`'s default relative tolerance.
const PY_REL_TOL: f64 = 1e-9;
/// Recursion guard of `math_equal`'s rewrites.
const MAX_DEPTH: u32 = 5;
const BOXED_TOKEN: &str = "\\boxed{";
const CHOICE_LETTERS: [&str; 5] = ["A", "B", "C", "D", "E"];

/// The `math` grader.
pub struct MathGrader;

impl Grader for MathGrader {
    fn kind(&self) -> GraderKind {
        GraderKind::Math
    }

    fn extract(&self, response: &str) -> String {
        extract_with_flag(response).0
    }

    fn grade(&self, response: &str, ground_truth: &str) -> Grade {
        let (pred_raw, unparsed) = extract_with_flag(response);
        let pred_stripped = strip_string(&pred_raw);
        let gold_stripped = strip_string(ground_truth);
        let correct = math_equal(&pred_stripped, &gold_stripped, 0);
        let reasoning = format!(
            "extracted '{pred_raw}' (stripped '{pred_stripped}'); ground_truth '{ground_truth}' \
             (stripped '{gold_stripped}'); compared via math_equal; match={}{}",
            py_bool(correct),
            if unparsed { " (regex fallback)" } else { "" }
        );
        Grade::scored(
            correct,
            unparsed,
            reasoning,
            pred_raw,
            py_strip(ground_truth).to_string(),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Extraction

/// `(answer, unparsed)`: `unparsed` is set when the answer was not in a `\boxed{}`.
fn extract_with_flag(response: &str) -> (String, bool) {
    if response.is_empty() {
        return (String::new(), true);
    }
    if let Some(boxed) = extract_last_boxed(response) {
        return (format_response_tail(boxed), false);
    }
    if let Some(tail) = last_answer_phrase(response) {
        let tail = py_strip(&tail);
        if let Some(boxed) = extract_last_boxed(tail) {
            return (format_response_tail(boxed), true);
        }
        // LaTeX-looking tails are kept whole: the last number of `\frac{1}{2}` is `2`.
        if tail.contains(['\\', '{', '}']) {
            return (tail.to_string(), true);
        }
        let answer = extract_last_number(tail).unwrap_or(tail);
        return (answer.to_string(), true);
    }
    if let Some(number) = extract_last_number(response) {
        return (number.to_string(), true);
    }
    (py_strip(response).to_string(), true)
}

/// Contents of the last `\boxed{` up to its balancing `}`; `None` when unbalanced.
fn extract_last_boxed(text: &str) -> Option<&str> {
    let start = text.rfind(BOXED_TOKEN)? + BOXED_TOKEN.len();
    let mut depth = 0usize;
    for (i, c) in text[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(&text[start..start + i]),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn number_re() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    CELL.get_or_init(|| Regex::new(r"-?\d+(?:\.\d+)?(?:/\d+)?").expect("static pattern"))
}

/// The last int, decimal or `a/b` literal in `text`.
fn extract_last_number(text: &str) -> Option<&str> {
    number_re().find_iter(text).last().map(|m| m.as_str())
}

/// The recipe's `format_response` cleanup: drop newlines (and the indentation after them),
/// a leading `:`, then a trailing `.` and a trailing `/`.
fn format_response_tail(boxed: &str) -> String {
    static CELL: OnceLock<Regex> = OnceLock::new();
    let newline_re = CELL.get_or_init(|| Regex::new(r"\n[\s\x1c-\x1f]*").expect("static pattern"));
    let mut pred = newline_re.replace_all(boxed, "").into_owned();
    if pred.starts_with(':') {
        pred.remove(0);
    }
    if pred.ends_with('.') {
        pred.pop();
    }
    if pred.ends_with('/') {
        pred.pop();
    }
    pred
}

// ---------------------------------------------------------------------------------------------
// The answer-phrase regex, by hand (it needs look-around, which `regex` lacks):
//
//   (?i)(?:final\s+answer|the\s+answer\s+is|answer\s*[:=]|answer\s+is)\s*[:=]?\s*
//       (.+?)(?:(?<!\d)\.(?!\d)|\n|$)
//
// `findall` semantics: leftmost, non-overlapping matches; the group of the last one is kept.

/// One piece of a phrase alternative.
#[derive(Clone, Copy)]
enum Piece {
    Word(&'static str),
    /// `\s+`
    Spaces,
    /// `\s*`
    OptSpaces,
    /// `[:=]`
    Colon,
}

/// The alternatives in the regex's order.
const PHRASES: [&[Piece]; 4] = [
    &[Piece::Word("final"), Piece::Spaces, Piece::Word("answer")],
    &[
        Piece::Word("the"),
        Piece::Spaces,
        Piece::Word("answer"),
        Piece::Spaces,
        Piece::Word("is"),
    ],
    &[Piece::Word("answer"), Piece::OptSpaces, Piece::Colon],
    &[Piece::Word("answer"), Piece::Spaces, Piece::Word("is")],
];

/// The captured tail of the last answer phrase in `text`.
fn last_answer_phrase(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut last = None;
    let mut pos = 0;
    while pos < chars.len() {
        match match_phrase_at(&chars, pos) {
            Some((group, end)) => {
                last = Some(group);
                pos = end.max(pos + 1);
            }
            None => pos += 1,
        }
    }
    last.map(|(a, b)| chars[a..b].iter().collect())
}

/// A match starting at `pos`: (group span, end of match).
fn match_phrase_at(chars: &[char], pos: usize) -> Option<((usize, usize), usize)> {
    PHRASES.iter().find_map(|phrase| {
        let after = match_pieces(chars, pos, phrase)?;
        match_tail(chars, after)
    })
}

fn match_pieces(chars: &[char], mut pos: usize, pieces: &[Piece]) -> Option<usize> {
    for piece in pieces {
        pos = match piece {
            Piece::Word(word) => match_word(chars, pos, word)?,
            Piece::Spaces => {
                let end = skip_spaces(chars, pos);
                (end > pos).then_some(end)?
            }
            Piece::OptSpaces => skip_spaces(chars, pos),
            Piece::Colon => matches!(chars.get(pos), Some(':' | '=')).then_some(pos + 1)?,
        };
    }
    Some(pos)
}

/// Case-insensitive as Python's `re.IGNORECASE` (which also folds `ı`, `İ`, `ſ`).
fn match_word(chars: &[char], pos: usize, word: &str) -> Option<usize> {
    let mut at = pos;
    for w in word.chars() {
        let c = *chars.get(at)?;
        let same = c.to_ascii_lowercase() == w
            || (w == 'i' && matches!(c, 'ı' | 'İ'))
            || (w == 's' && c == 'ſ');
        if !same {
            return None;
        }
        at += 1;
    }
    Some(at)
}

fn skip_spaces(chars: &[char], mut pos: usize) -> usize {
    while chars.get(pos).is_some_and(|c| is_py_space(*c)) {
        pos += 1;
    }
    pos
}

/// `\s*[:=]?\s*(.+?)(terminator)` from `start`. The group can begin at any position the
/// optional prefix reaches; the regex prefers them from the farthest back to `start`, and a
/// start works unless it is a newline or the end of the text.
fn match_tail(chars: &[char], start: usize) -> Option<((usize, usize), usize)> {
    let first_run_end = skip_spaces(chars, start);
    let farthest = if matches!(chars.get(first_run_end), Some(':' | '=')) {
        skip_spaces(chars, first_run_end + 1)
    } else {
        first_run_end
    };
    let group_start = (start..=farthest)
        .rev()
        .find(|&q| chars.get(q).is_some_and(|c| *c != '\n'))?;
    let mut end = group_start + 1;
    loop {
        match chars.get(end) {
            None => return Some(((group_start, end), end)),
            Some('\n') => return Some(((group_start, end), end + 1)),
            Some('.')
                if !is_unicode_digit(chars[end - 1])
                    && !chars.get(end + 1).is_some_and(|c| is_unicode_digit(*c)) =>
            {
                return Some(((group_start, end), end + 1))
            }
            Some(_) => end += 1,
        }
    }
}

/// Python's `\d`: any Unicode decimal digit.
fn is_unicode_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    static CELL: OnceLock<Regex> = OnceLock::new();
    let re = CELL.get_or_init(|| Regex::new(r"^\d$").expect("static pattern"));
    re.is_match(c.encode_utf8(&mut [0; 4]))
}

// ---------------------------------------------------------------------------------------------
// math_equal

/// The recipe's `math_equal` on two stripped answers.
fn math_equal(pred: &str, reference: &str, depth: u32) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    if py_strip(pred).to_lowercase() == py_strip(reference).to_lowercase() {
        return true;
    }
    if single_choice_letter_matches(pred, reference)
        || single_choice_prefix_matches(pred, reference, depth)
        || comma_lists_match(pred, reference, depth)
    {
        return true;
    }
    // Terminal when both sides are numbers.
    if let Some(verdict) = numeric_equality_with_percent(pred, reference) {
        return verdict;
    }
    if pred.is_empty() {
        return false;
    }
    brace_paren_equal(pred, reference)
        || equation_rewrites_match(pred, reference, depth)
        || symbolic_equal(pred, reference)
}

/// A reference of `A`..`E` matches when it is the last standalone A-E letter of the
/// (cleaned, upper-cased) prediction.
fn single_choice_letter_matches(pred: &str, reference: &str) -> bool {
    if !CHOICE_LETTERS.contains(&reference) {
        return false;
    }
    static CELL: OnceLock<Regex> = OnceLock::new();
    let letter_re = CELL.get_or_init(|| Regex::new(r"\b(A|B|C|D|E)\b").expect("static pattern"));
    let cleaned = pred
        .trim_matches('\n')
        .trim_end_matches('.')
        .trim_end_matches('/')
        .trim_matches(' ')
        .trim_start_matches(':')
        .to_uppercase();
    letter_re
        .find_iter(&cleaned)
        .last()
        .is_some_and(|m| m.as_str() == reference)
}

/// The recipe's choice prefixes, in its order: `(A)`, `A.`, `A)`, `**A**`, `A:`.
fn single_choice_prefixes() -> impl Iterator<Item = String> {
    let shapes: [fn(&str) -> String; 5] = [
        |l| format!("({l})"),
        |l| format!("{l}."),
        |l| format!("{l})"),
        |l| format!("**{l}**"),
        |l| format!("{l}:"),
    ];
    shapes
        .into_iter()
        .flat_map(|shape| CHOICE_LETTERS.into_iter().map(shape))
}

/// A prediction starting with a choice prefix is compared again without it.
fn single_choice_prefix_matches(pred: &str, reference: &str, depth: u32) -> bool {
    single_choice_prefixes().any(|prefix| {
        pred.strip_prefix(prefix.as_str())
            .is_some_and(|rest| math_equal(py_strip(rest), reference, depth + 1))
    })
}

/// Comma lists compared element-wise after sorting both.
fn comma_lists_match(pred: &str, reference: &str, depth: u32) -> bool {
    if !pred.contains(',') || !reference.contains(',') {
        return false;
    }
    let (p, r) = (sorted_parts(pred), sorted_parts(reference));
    p.len() == r.len() && p.iter().zip(&r).all(|(a, b)| math_equal(a, b, depth + 1))
}

fn sorted_parts(s: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(',').map(py_strip).collect();
    parts.sort_unstable();
    parts
}

/// `None` unless both sides are numbers; otherwise whether the prediction is close to the
/// reference, the reference / 100 or the reference * 100.
fn numeric_equality_with_percent(pred: &str, reference: &str) -> Option<bool> {
    let p = parse_digits(pred)?;
    let r = parse_digits(reference)?;
    Some(
        [r / 100.0, r, r * 100.0]
            .into_iter()
            .any(|c| is_close(p, c, NUMERIC_ABS_TOL)),
    )
}

/// The recipe's `parse_digits`: commas dropped, then `float()`, else a `%` (or `\%`) suffix
/// read as a percentage.
fn parse_digits(s: &str) -> Option<f64> {
    let s = s.replace(',', "");
    if let Some(v) = py_float(&s) {
        return Some(v);
    }
    let inner = s.strip_suffix('%')?;
    let inner = inner.strip_suffix('\\').unwrap_or(inner);
    py_float(inner).map(|v| v / 100.0)
}

/// Python's `float(str)`: surrounding whitespace, `inf`/`nan`, exponents and single
/// underscores between digits accepted. (Non-ASCII digits, which Python accepts, are not.)
fn py_float(text: &str) -> Option<f64> {
    let t = py_strip(text);
    if t.contains('_') && !underscores_between_digits(t) {
        return None;
    }
    let cleaned = t.replace('_', "");
    if cleaned
        .bytes()
        .any(|b| !b.is_ascii_alphanumeric() && !b"+-.".contains(&b))
    {
        return None;
    }
    cleaned.parse::<f64>().ok()
}

/// Each `_` sits between two ASCII digits.
fn underscores_between_digits(t: &str) -> bool {
    t.split(|c: char| !c.is_ascii_digit() && c != '_')
        .filter(|run| run.contains('_'))
        .all(valid_underscored_digits)
}

/// Python's `math.isclose(a, b, rel_tol=1e-9, abs_tol=abs_tol)`.
fn is_close(a: f64, b: f64, abs_tol: f64) -> bool {
    if a == b {
        return true;
    }
    if a.is_infinite() || b.is_infinite() {
        return false;
    }
    let diff = (a - b).abs();
    diff <= PY_REL_TOL * b.abs() || diff <= PY_REL_TOL * a.abs() || diff <= abs_tol
}

/// Outer brackets stripped when their kinds do not clash, then all braces and parentheses
/// dropped, compared case-insensitively.
fn brace_paren_equal(pred: &str, reference: &str) -> bool {
    let mut p = py_strip(pred);
    let mut r = py_strip(reference);
    let wrapped = (p.starts_with('[') && p.ends_with(']') && !r.starts_with('('))
        || (p.starts_with('(') && p.ends_with(')') && !r.starts_with('['));
    if wrapped {
        let brackets: &[char] = &['[', ']', '(', ')'];
        p = p.trim_matches(brackets);
        r = r.trim_matches(brackets);
    }
    let drop = |s: &str| s.replace(['{', '}', '(', ')'], "").to_lowercase();
    drop(p) == drop(r)
}

/// `a = b` vs `c = d` compares `a - (b)` with `c - (d)`; `x = v` (left side of at most two
/// characters) vs a plain value compares `v` with it.
fn equation_rewrites_match(pred: &str, reference: &str, depth: u32) -> bool {
    let p_eq = pred.matches('=').count();
    let r_eq = reference.matches('=').count();
    let short_lhs = |s: &str| {
        s.split('=')
            .next()
            .is_some_and(|l| py_strip(l).chars().count() <= 2)
    };
    let rhs = |s: &str| s.split('=').nth(1).unwrap_or_default().to_string();
    if p_eq == 1 && r_eq == 1 {
        let difference = |s: &str| {
            let (l, r) = s.split_once('=').unwrap_or((s, ""));
            format!("{} - ({})", py_strip(l), py_strip(r))
        };
        return symbolic_equal(&difference(pred), &difference(reference));
    }
    if p_eq == 1 && short_lhs(pred) && r_eq == 0 {
        return math_equal(&rhs(pred), reference, depth + 1);
    }
    if r_eq == 1 && short_lhs(reference) && p_eq == 0 {
        return math_equal(pred, &rhs(reference), depth + 1);
    }
    false
}

/// Stand-in for the recipe's sympy `symbolic_equal`: exact comparison by
/// [`symbolic::equal`], then numeric values within `1e-4` as the recipe's `N()` fallback.
/// Text neither side can parse compares as raw strings, as the recipe's does.
fn symbolic_equal(a_raw: &str, b_raw: &str) -> bool {
    let parse = |s: &str| symbolic::parse(&s.replace("\\\\", "\\")).or_else(|| symbolic::parse(s));
    match (parse(a_raw), parse(b_raw)) {
        (Some(a), Some(b)) => {
            symbolic::equal(&a, &b)
                || matches!(
                    (symbolic::evaluate(&a), symbolic::evaluate(&b)),
                    (Some(x), Some(y)) if is_close(x, y, NUMERIC_ABS_TOL)
                )
        }
        (None, None) => a_raw == b_raw,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grade(response: &str, truth: &str) -> Grade {
        MathGrader.grade(response, truth)
    }

    /// (correct, unparsed, extracted)
    fn outcome(response: &str, truth: &str) -> (bool, bool, String) {
        let g = grade(response, truth);
        (g.correct, g.unparsed, g.extracted)
    }

    #[test]
    fn kind_is_math() {
        assert_eq!(MathGrader.kind(), GraderKind::Math);
    }

    #[test]
    fn frac_shorthand_matches_decimal_with_aiperf_reasoning() {
        let g = grade("So \\boxed{\\frac12}", " 0.5 ");
        assert!(g.correct);
        assert!(!g.unparsed);
        assert_eq!(g.confidence, 1.0);
        assert_eq!(g.extracted, "\\frac12");
        assert_eq!(g.ground_truth, "0.5");
        assert_eq!(
            g.reasoning,
            "extracted '\\frac12' (stripped '\\frac{1}{2}'); ground_truth ' 0.5 ' \
             (stripped '0.5'); compared via math_equal; match=True"
        );
    }

    #[test]
    fn half_in_every_spelling() {
        assert!(grade("\\boxed{\\dfrac{1}{2}}", "1/2").correct);
        assert!(grade("\\boxed{0.5}", "\\frac{1}{2}").correct);
        assert!(grade("\\boxed{\\frac{3}{4}}", "3/4").correct);
        assert!(grade("\\boxed{4/6}", "\\frac{2}{3}").correct);
    }

    #[test]
    fn sqrt_forms_match_symbolically() {
        assert!(grade("\\boxed{\\sqrt{8}}", "2\\sqrt{2}").correct);
        assert!(grade("\\boxed{2\\sqrt{2}}", "\\sqrt{8}").correct);
        assert!(grade("\\boxed{\\sqrt2}", "\\sqrt{2}").correct);
        assert!(grade("\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{\\sqrt3}{2}").correct);
    }

    #[test]
    fn percent_matches_value_fraction_and_hundredfold() {
        // "10\%" strips to "10"; the recipe accepts reference/100, reference, reference*100.
        assert!(grade("\\boxed{10\\%}", "0.1").correct);
        assert!(grade("\\boxed{10\\%}", "10").correct);
        assert!(grade("\\boxed{10}", "0.1").correct);
        assert!(!grade("\\boxed{11}", "0.1").correct);
    }

    #[test]
    fn units_are_stripped() {
        assert!(grade("\\boxed{5 \\text{ cm}}", "5").correct);
        assert!(grade("\\boxed{12 \\text{ inches}}", "12").correct);
        assert!(grade("\\boxed{3 mph}", "3").correct);
        assert!(grade("\\boxed{100 \\text{ degrees}}", "100").correct);
    }

    #[test]
    fn assignments_compare_their_value() {
        assert!(grade("\\boxed{x = 3}", "3").correct);
        assert!(grade("\\boxed{k = 5}", "5").correct);
        assert!(grade("\\boxed{5}", "x=5").correct);
        assert!(grade("\\boxed{y = 2x + 1}", "y=2x+1").correct);
        // "2x + 1 = y" keeps its long left side; gold "y = 2x+1" strips to "2x+1".
        assert!(!grade("\\boxed{2x + 1 = y}", "y = 2x+1").correct);
    }

    #[test]
    fn half_open_interval_differs_from_open() {
        assert_eq!(
            outcome("\\boxed{(1,2]}", "(1,2)"),
            (false, false, "(1,2]".into())
        );
        assert!(!grade("\\boxed{[1,2]}", "(1,2)").correct);
    }

    #[test]
    fn sets_match_in_any_order() {
        assert!(grade("\\boxed{\\{2,1\\}}", "\\{1,2\\}").correct);
        assert!(grade("\\boxed{\\{1, 2\\}}", "{2,1}").correct);
        assert!(grade("\\boxed{3, 1, 2}", "1,2,3").correct);
    }

    #[test]
    fn tuples_match_in_order_only() {
        assert!(grade("\\boxed{(1,2)}", "(1,2)").correct);
        assert!(!grade("\\boxed{(1,2)}", "(2,1)").correct);
    }

    #[test]
    fn boxed_thousands_separator_matches() {
        assert!(grade("\\boxed{1,000}", "1000").correct);
        assert!(grade("\\boxed{1_000}", "1000").correct);
    }

    #[test]
    fn unboxed_thousands_lose_to_the_last_number() {
        // The phrase tail "1,000." ends at the text's end (the "." follows a digit), and its
        // last number literal is "000".
        let g = grade("The answer is 1,000.", "1000");
        assert_eq!((g.correct, g.unparsed), (false, true));
        assert_eq!(g.extracted, "000");
        assert!(g.reasoning.ends_with("match=False (regex fallback)"));
    }

    #[test]
    fn negative_fraction_and_decimal() {
        assert!(grade("\\boxed{-\\frac{3}{4}}", "-0.75").correct);
        assert!(!grade("\\boxed{-5}", "5").correct);
        assert!(grade("\\boxed{ -7/ 2}", "-3.5").correct);
        assert!(grade("\\boxed{12/5}", "2.4").correct);
    }

    #[test]
    fn pi_over_two_forms() {
        assert!(grade("\\boxed{\\pi/2}", "\\frac{\\pi}{2}").correct);
        // The recipe's numeric fallback: within 1e-4.
        assert!(grade("\\boxed{\\frac{\\pi}{2}}", "1.5708").correct);
        assert!(grade("\\boxed{3.1416}", "\\pi").correct);
        assert!(!grade("\\boxed{3.14}", "\\pi").correct);
    }

    #[test]
    fn degrees_dropped() {
        assert!(grade("\\boxed{90^\\circ}", "90").correct);
    }

    #[test]
    fn nested_boxed_takes_the_innermost_last() {
        assert_eq!(
            outcome("\\boxed{\\boxed{5}}", "5"),
            (true, false, "5".into())
        );
        assert_eq!(
            outcome("\\boxed{5}.\n The answer is 6", "5"),
            (true, false, "5".into())
        );
        assert_eq!(
            outcome("The answer is: $\\boxed{9}$", "9"),
            (true, false, "9".into())
        );
    }

    #[test]
    fn missing_boxed_falls_back_to_last_number() {
        assert_eq!(
            outcome("no boxed here, 41 then 42", "42"),
            (true, true, "42".into())
        );
        assert_eq!(
            outcome("42 is the final answer", "42"),
            (true, true, "42".into())
        );
    }

    #[test]
    fn unbalanced_boxed_falls_back() {
        assert_eq!(
            outcome("\\boxed{\\frac{1}{2}", "0.5"),
            (false, true, "2".into())
        );
    }

    #[test]
    fn empty_output() {
        let g = grade("", "5");
        assert_eq!((g.correct, g.unparsed, g.confidence), (false, true, 0.0));
        assert_eq!(
            g.reasoning,
            "extracted '' (stripped ''); ground_truth '5' (stripped '5'); compared via \
             math_equal; match=False (regex fallback)"
        );
    }

    #[test]
    fn garbage_output() {
        assert_eq!(outcome("garbage!!", "5"), (false, true, "garbage!!".into()));
        assert_eq!(outcome("\\boxed{ǅ}", "1"), (false, false, "ǅ".into()));
    }

    #[test]
    fn megabyte_of_open_braces_is_quick() {
        let braces = "{".repeat(1 << 20);
        let started = std::time::Instant::now();
        let g = grade(&braces, "1");
        assert!(!g.correct);
        assert!(g.unparsed);
        assert_eq!(g.extracted.len(), 1 << 20);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        let boxed = format!("\\boxed{{{braces}");
        assert!(!grade(&boxed, "1").correct);
    }

    #[test]
    fn answer_phrases() {
        assert_eq!(
            outcome("The final answer is 3.14.", "3.14"),
            (true, true, "3.14".into())
        );
        assert_eq!(
            outcome("answer: 7\nmore text 9", "7"),
            (true, true, "7".into())
        );
        assert_eq!(
            outcome("The answer is \\frac{1}{2}. ok", "1/2"),
            (true, true, "\\frac{1}{2}".into())
        );
        assert_eq!(outcome("Answer = 17\n", "17"), (true, true, "17".into()));
        assert_eq!(
            outcome("final answer 2.5 apples.", "2.5"),
            (true, true, "2.5".into())
        );
        assert_eq!(outcome("answer is\n42.", "42"), (true, true, "42".into()));
        assert_eq!(outcome("ANSWER: 3/4", "0.75"), (true, true, "3/4".into()));
        // Python's IGNORECASE folds the dotless i into "i".
        assert_eq!(outcome("ıs the answer ıs 5", "5"), (true, true, "5".into()));
        // The self-correction wins: the last phrase.
        assert_eq!(
            outcome("the answer is 5. Wait, the answer is 12", "12"),
            (true, true, "12".into())
        );
    }

    #[test]
    fn phrase_without_a_tail_uses_the_whole_response() {
        assert_eq!(
            outcome("The answer is\n\n", "1"),
            (false, true, "The answer is".into())
        );
    }

    #[test]
    fn choice_letters() {
        assert_eq!(
            outcome("the answer is (B).", "B"),
            (true, true, "(B)".into())
        );
        assert!(grade("\\boxed{B}", "B").correct);
        assert!(grade("\\boxed{(C) 5}", "5").correct);
        assert!(grade("\\boxed{A. 12}", "12").correct);
        assert!(grade("\\boxed{\\text{(A)}}", "A").correct);
        assert!(!grade("\\boxed{(C)}", "B").correct);
    }

    #[test]
    fn case_and_trailing_zeros() {
        assert!(grade("\\boxed{a}", "A").correct);
        assert!(grade("\\boxed{E}", "e").correct);
        assert!(grade("\\boxed{3.000}", "3").correct);
        assert!(grade("\\boxed{0}", "0.0").correct);
        assert!(grade("\\boxed{\\$18.90}", "18.9").correct);
    }

    #[test]
    fn month_names_are_erased() {
        assert_eq!(
            outcome("\\boxed{\\text{June}}", "6"),
            (false, false, "\\text{June}".into())
        );
    }

    #[test]
    fn numeric_tolerance_is_absolute_1e4() {
        assert!(grade("\\boxed{1/3}", "0.3333").correct);
        assert!(!grade("\\boxed{1/3}", "0.33").correct);
        assert!(grade("\\boxed{2.00005}", "2").correct);
        assert!(!grade("\\boxed{2.0002}", "2").correct);
    }

    #[test]
    fn infinity_and_nan_words() {
        assert!(grade("\\boxed{\\infty}", "inf").correct);
        assert!(grade("\\boxed{inf}", "infinity").correct);
        assert!(grade("\\boxed{nan}", "nan").correct);
    }

    #[test]
    fn polynomials_and_powers() {
        assert!(grade("\\boxed{x^2+2x+1}", "(x+1)^2").correct);
        assert!(grade("\\boxed{2^{10}}", "1024").correct);
        assert!(grade("\\boxed{x^2}", "x**2").correct);
    }

    #[test]
    fn matrices_compare_as_strings() {
        assert!(
            grade(
                "\\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}",
                "\\begin{pmatrix}1\\\\2\\end{pmatrix}"
            )
            .correct
        );
    }

    #[test]
    fn format_response_tail_trims_like_the_recipe() {
        assert_eq!(format_response_tail(":5./"), "5.");
        assert_eq!(format_response_tail("1\n   2."), "12");
        assert_eq!(format_response_tail("7/"), "7");
        assert_eq!(format_response_tail(""), "");
    }

    #[test]
    fn extract_matches_grade() {
        assert_eq!(MathGrader.extract("\\boxed{\\frac{1}{2}}"), "\\frac{1}{2}");
        assert_eq!(MathGrader.extract("x 1.5 y -2/3 z"), "-2/3");
        assert_eq!(MathGrader.extract("  nothing  "), "nothing");
    }

    #[test]
    fn python_float_and_isclose() {
        assert_eq!(py_float(" 1_0.5 "), Some(10.5));
        assert_eq!(py_float("_1"), None);
        assert_eq!(py_float("1__0"), None);
        assert_eq!(py_float("1e3"), Some(1000.0));
        assert!(py_float("nan").is_some_and(f64::is_nan));
        assert_eq!(parse_digits("12\\%"), Some(0.12));
        assert_eq!(parse_digits("1,234"), Some(1234.0));
        assert!(is_close(1.0, 1.0 + 1e-10, 0.0));
        assert!(!is_close(f64::NAN, f64::NAN, 1.0));
        assert!(!is_close(f64::INFINITY, 1e308, 1e-4));
    }

    #[test]
    fn arbitrary_text_never_panics() {
        let pieces = [
            "\\boxed{",
            "}",
            "{",
            "answer:",
            "\n",
            ".",
            "1",
            "-",
            "/",
            "\\frac",
            "é",
            "π",
            "=",
            ",",
            "(",
            "]",
            "%",
            "\\",
            " ",
            "the answer is",
            "ǅ",
            "2.5",
            "x",
            "^",
        ];
        let mut state = 0x2545_f491_u32;
        for _ in 0..2000 {
            let mut text = String::new();
            for _ in 0..(state % 12) {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                text.push_str(pieces[state as usize % pieces.len()]);
            }
            let g = grade(&text, &text);
            assert!(g.confidence == 0.0 || g.confidence == 1.0);
        }
    }
}
