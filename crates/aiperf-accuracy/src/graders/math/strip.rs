//! Port of AIPerf's `_math_strip.py` (`strip_string`): the trt-llm recipe's normalisation of a
//! math answer before comparison, step for step. Python semantics that matter are kept:
//! `str.strip()` whitespace, code-point lengths, `int()` parsing in `_fix_a_slash_b`.
//!
//! Not reproduced: the recipe's `{x}`/`(x)` unwrap guarded by `string.isalnum()` (dead code
//! there: a string starting with `{` is never alphanumeric) and its no-op quote replaces.

use regex::Regex;
use std::sync::OnceLock;

/// The MathQA unit tokens stripped from answers, in the recipe's order (plurals follow).
const UNIT_TEXTS_BASE: [&str; 132] = [
    "east",
    "degree",
    "mph",
    "kmph",
    "ft",
    "m square",
    " m east",
    "sq m",
    "deg",
    "mile",
    "q .",
    "monkey",
    "prime",
    "ratio",
    "profit of rs",
    "rd",
    "o",
    "gm",
    "p . m",
    "lb",
    "tile",
    "per",
    "dm",
    "lt",
    "gain",
    "ab",
    "way",
    "west",
    "a .",
    "b .",
    "c .",
    "d .",
    "e .",
    "f .",
    "g .",
    "h .",
    "t",
    "a",
    "h",
    "no change",
    "men",
    "soldier",
    "pie",
    "bc",
    "excess",
    "st",
    "inches",
    "noon",
    "percent",
    "by",
    "gal",
    "kmh",
    "c",
    "acre",
    "rise",
    "a . m",
    "th",
    "π r 2",
    "sq",
    "mark",
    "l",
    "toy",
    "coin",
    "sq . m",
    "gallon",
    "° f",
    "profit",
    "minw",
    "yr",
    "women",
    "feet",
    "am",
    "pm",
    "hr",
    "cu cm",
    "square",
    "v â € ™",
    "are",
    "rupee",
    "rounds",
    "cubic",
    "cc",
    "mtr",
    "s",
    "ohm",
    "number",
    "kmph",
    "day",
    "hour",
    "minute",
    "min",
    "second",
    "man",
    "woman",
    "sec",
    "cube",
    "mt",
    "sq inch",
    "mp",
    "∏ cm ³",
    "hectare",
    "more",
    "sec",
    "unit",
    "cu . m",
    "cm 2",
    "rs .",
    "rs",
    "kg",
    "g",
    "month",
    "km",
    "m",
    "cm",
    "mm",
    "apple",
    "liter",
    "loss",
    "yard",
    "pure",
    "year",
    "increase",
    "decrease",
    "d",
    "less",
    "Surface",
    "litre",
    "pi sq m",
    "s .",
    "metre",
    "meter",
    "inch",
];

/// Python's `int()` refuses decimal strings longer than this (`sys.int_info`).
const PY_INT_MAX_DIGITS: usize = 4300;

/// Whitespace as Python's `str.isspace` sees it (Rust's set plus the ASCII separators).
pub(crate) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Python's `str.strip()` with no argument.
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("static pattern is valid"))
}

macro_rules! static_regex {
    ($name:ident, $pattern:expr) => {
        fn $name() -> &'static Regex {
            static CELL: OnceLock<Regex> = OnceLock::new();
            regex(&CELL, $pattern)
        }
    };
}

static_regex!(begin_array_re, r"\\begin\{array\}\{.*?\}");
static_regex!(end_array_re, r"\\end\{array\}");
static_regex!(trailing_text_re, r"\\text\{.*?\}$");
static_regex!(text_re, r"\\text\{(.*?)\}");
static_regex!(
    months_re,
    r"(?i)\b(January|February|March|April|May|June|July|August|September|October|November|December)\b"
);
static_regex!(mbox_re, r"\\mbox\{.*?\}");
static_regex!(trailing_zeros_inner_re, r"(\d+)\.0*([^\d])");
static_regex!(trailing_zeros_end_re, r"(\d+)\.0*$");
static_regex!(sqrt_re, r"\\sqrt(\w+)");

/// One regex per unit token (base list, then the plurals), as the recipe builds them: the
/// token is spliced into the pattern unescaped, so `.` in `"q ."` matches any character.
fn unit_regexes() -> &'static [Regex] {
    static CELL: OnceLock<Vec<Regex>> = OnceLock::new();
    CELL.get_or_init(|| {
        let plurals = UNIT_TEXTS_BASE.iter().map(|t| format!("{t}s"));
        UNIT_TEXTS_BASE
            .iter()
            .map(|t| t.to_string())
            .chain(plurals)
            .map(|t| Regex::new(&format!(r"(^|\W){t}($|\W)")).expect("unit pattern is valid"))
            .collect()
    })
}

/// Normalises a math/LaTeX answer string for comparison (`strip_string`).
pub fn strip_string(input: &str) -> String {
    let mut s = py_strip(input).replace('\n', "");
    s = s.trim_end_matches('.').to_string();
    s = s.replace("\\!", "");

    // matrix
    s = begin_array_re()
        .replace_all(&s, regex::NoExpand("\\begin{pmatrix}"))
        .into_owned();
    s = end_array_re()
        .replace_all(&s, regex::NoExpand("\\end{pmatrix}"))
        .into_owned();
    s = s.replace("bmatrix", "pmatrix");

    // fraction variants and relations
    s = s.replace("tfrac", "frac").replace("dfrac", "frac");
    s = s
        .replace("\\neq", "\\ne")
        .replace("\\leq", "\\le")
        .replace("\\geq", "\\ge");

    // spacing and escaped braces
    s = s.replace("\\left", "").replace("\\right", "");
    s = s.replace("\\{", "{").replace("\\}", "}");

    // trailing \text{...}
    let without_text = py_strip(&trailing_text_re().replace_all(&s, "")).to_string();
    if !without_text.is_empty() && without_text != s {
        s = without_text;
    }

    s = strip_units(s);

    // degrees, currency, inline-math delimiters
    s = s.replace("^{\\circ}", "").replace("^\\circ", "");
    s = s.replace("\\$", "").replace('$', "");
    s = s.replace("\\(", "").replace("\\)", "");

    s = text_re().replace_all(&s, "${1}").into_owned();

    for key in [
        "x=", "y=", "z=", "x\\in", "y\\in", "z\\in", "x\\to", "y\\to", "z\\to",
    ] {
        s = s.replace(key, "");
    }
    s = s.replace("\\emptyset", "{}");
    s = s.replace("(-\\infty,\\infty)", "\\mathbb{R}");

    // percentages; the recipe removes `\%` twice (`\\%%` needs both passes)
    s = s.replace("\\%", "").replace("\\%", "").replace('%', "");

    s = months_re().replace_all(&s, "").into_owned();

    // leading zero for bare decimals
    s = s.replace(" .", " 0.").replace("{.", "{0.");

    // infinity
    s = s.replace("infinity", "\\infty");
    if !s.contains("\\infty") {
        s = s.replace("inf", "\\infty");
    }
    s = s.replace("+\\inity", "\\infty");

    s = s.replace("and", "").replace("\\mathbf", "");
    s = mbox_re().replace_all(&s, "").into_owned();

    // imaginary unit
    if s.contains('j') && !s.contains('i') {
        s = s.replace('j', "i");
    }

    // trailing .000 of numerals
    s = trailing_zeros_inner_re()
        .replace_all(&s, "${1}${2}")
        .into_owned();
    s = trailing_zeros_end_re().replace_all(&s, "${1}").into_owned();

    if s.is_empty() {
        return s;
    }
    if s.starts_with('.') {
        s.insert(0, '0');
    }

    // "k = X" -> "X"
    if let Some((lhs, rhs)) = s.split_once('=') {
        if !rhs.contains('=') && lhs.chars().count() <= 2 {
            s = rhs.to_string();
        }
    }

    s = sqrt_re().replace_all(&s, "\\sqrt{${1}}").into_owned();
    s = s.replace(' ', "");
    s = fix_fracs(&s);
    fix_a_slash_b(&s)
}

/// Removes MathQA unit tokens; a substitution that would empty the string is skipped.
fn strip_units(mut s: String) -> String {
    for re in unit_regexes() {
        let replaced = re.replace_all(&s, "${1}${2}");
        if !replaced.is_empty() {
            s = replaced.into_owned();
        }
    }
    s
}

/// `\fracXY` -> `\frac{X}{Y}` and `\fracX{Y}` -> `\frac{X}{Y}` (recipe's `_fix_fracs`); a
/// `\frac` followed by fewer than two characters leaves the whole input unchanged.
fn fix_fracs(s: &str) -> String {
    let mut pieces = s.split("\\frac");
    let mut out = pieces.next().unwrap_or_default().to_string();
    for piece in pieces {
        out.push_str("\\frac");
        let mut chars = piece.chars();
        let (first, second) = match (chars.next(), chars.next()) {
            (Some('{'), _) => {
                out.push_str(piece);
                continue;
            }
            (Some(a), Some(b)) => (a, b),
            _ => return s.to_string(),
        };
        let rest = chars.as_str();
        out.push('{');
        out.push(first);
        out.push('}');
        if second == '{' {
            out.push('{');
        } else {
            out.push('{');
            out.push(second);
            out.push('}');
        }
        out.push_str(rest);
    }
    out
}

/// `a/b` with integer `a` and `b` (or either holding `sqrt`) -> `\frac{a}{b}`, the integers
/// written as Python's `str(int(...))` writes them.
fn fix_a_slash_b(s: &str) -> String {
    let Some((a, b)) = s.split_once('/') else {
        return s.to_string();
    };
    if b.contains('/') {
        return s.to_string();
    }
    let convert = |part: &str| {
        if part.contains("sqrt") {
            Some(part.to_string())
        } else {
            py_int_str(part)
        }
    };
    match (convert(a), convert(b)) {
        (Some(a), Some(b)) => format!("\\frac{{{a}}}{{{b}}}"),
        _ => s.to_string(),
    }
}

/// `str(int(text))` for a base-10 literal: surrounding whitespace, a sign and single
/// underscores between digits allowed; `None` where Python raises `ValueError`.
/// (Python also accepts non-ASCII decimal digits; those are refused here.)
fn py_int_str(text: &str) -> Option<String> {
    let t = py_strip(text);
    let (negative, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if !valid_underscored_digits(body) {
        return None;
    }
    let digits: String = body.chars().filter(|c| *c != '_').collect();
    if digits.len() > PY_INT_MAX_DIGITS {
        return None;
    }
    let trimmed = digits.trim_start_matches('0');
    Some(match (trimmed.is_empty(), negative) {
        (true, _) => "0".to_string(),
        (false, true) => format!("-{trimmed}"),
        (false, false) => trimmed.to_string(),
    })
}

/// ASCII digits, with each `_` between two digits (Python's numeric-literal rule).
pub(crate) fn valid_underscored_digits(body: &str) -> bool {
    let bytes = body.as_bytes();
    !bytes.is_empty()
        && bytes.iter().enumerate().all(|(i, &c)| {
            c.is_ascii_digit()
                || (c == b'_'
                    && i > 0
                    && bytes[i - 1].is_ascii_digit()
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_are_braced() {
        assert_eq!(strip_string("\\frac12"), "\\frac{1}{2}");
        assert_eq!(strip_string("\\dfrac{1}{2}"), "\\frac{1}{2}");
        assert_eq!(strip_string("\\frac1{2}"), "\\frac{1}{2}");
        // Fewer than two characters after \frac: unchanged.
        assert_eq!(strip_string("\\frac1"), "\\frac1");
    }

    #[test]
    fn slash_ratios_become_fracs_only_for_integers() {
        assert_eq!(strip_string("4/6"), "\\frac{4}{6}");
        assert_eq!(strip_string("007/-05"), "\\frac{7}{-5}");
        assert_eq!(strip_string("1/2/3"), "1/2/3");
        assert_eq!(strip_string("\\sqrt3/2"), "\\frac{\\sqrt{3}}{2}");
        assert_eq!(strip_string("\\sqrt{x}/2"), "\\frac{\\sqrt{x}}{2}");
        // "a" is a unit token, so "a/b" loses it before the ratio check.
        assert_eq!(strip_string("a/b"), "/b");
    }

    #[test]
    fn percent_degrees_currency_text() {
        assert_eq!(strip_string("10\\%"), "10");
        assert_eq!(strip_string("90^\\circ"), "90");
        assert_eq!(strip_string("\\$18.90"), "18.90");
        assert_eq!(strip_string("5 \\text{ cm}"), "5");
        assert_eq!(strip_string("\\text{June}"), "");
        assert_eq!(strip_string("\\mbox{x}2"), "2");
    }

    #[test]
    fn units_including_regex_wildcards() {
        assert_eq!(strip_string("12 inches"), "12");
        assert_eq!(strip_string("10 mph"), "10");
        // "q ." is spliced into the pattern unescaped: its "." eats the "x".
        assert_eq!(strip_string("q x y"), "y");
    }

    #[test]
    fn assignments_and_sets() {
        assert_eq!(strip_string("x = 3"), "3");
        assert_eq!(strip_string("k=5"), "5");
        assert_eq!(strip_string("abc=5"), "abc=5");
        assert_eq!(strip_string("\\{1,2\\}"), "{1,2}");
        assert_eq!(strip_string("\\emptyset"), "{}");
        assert_eq!(strip_string("(-\\infty,\\infty)"), "\\mathbb{R}");
        assert_eq!(strip_string("\\left( 1,2 \\right]"), "(1,2]");
    }

    #[test]
    fn percent_escape_is_removed_twice() {
        // `\\%\!%` -> `\\%%` -> `\%` -> `` -> ``.
        assert_eq!(strip_string("\\\\%\\!%"), "");
    }

    #[test]
    fn numerals() {
        assert_eq!(strip_string("1,000"), "1,000");
        assert_eq!(strip_string("3.000"), "3");
        assert_eq!(strip_string("0.50"), "0.50");
        assert_eq!(strip_string(".5"), "0.5");
        assert_eq!(strip_string("2\\!000"), "2000");
        assert_eq!(strip_string("January 5"), "5");
    }

    #[test]
    fn infinity_imaginary_matrices() {
        assert_eq!(strip_string("inf"), "\\infty");
        assert_eq!(strip_string("+\\inity"), "\\infty");
        assert_eq!(strip_string("\\infty and more"), "\\infty");
        assert_eq!(strip_string("j+1"), "i+1");
        assert_eq!(strip_string("\\sqrt2x"), "\\sqrt{2x}");
        assert_eq!(
            strip_string("\\begin{array}{cc} 1 \\end{array}"),
            "\\begin{pmatrix}1\\end{pmatrix}"
        );
    }

    #[test]
    fn empty_and_dots() {
        assert_eq!(strip_string(""), "");
        assert_eq!(strip_string(" . "), "");
        assert_eq!(strip_string("ǅé/π"), "ǅé/π");
    }

    #[test]
    fn python_int_rules() {
        assert_eq!(py_int_str(" +0_1 "), Some("1".into()));
        assert_eq!(py_int_str("-0"), Some("0".into()));
        assert_eq!(py_int_str("1__0"), None);
        assert_eq!(py_int_str(""), None);
        assert_eq!(py_int_str(&"9".repeat(4301)), None);
        assert_eq!(py_int_str(&"9".repeat(4300)).map(|s| s.len()), Some(4300));
    }
}
