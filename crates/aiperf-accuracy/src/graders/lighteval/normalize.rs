//! latex2sympy2_extended 1.0.6's `normalize_latex`, with the configuration lighteval 0.13 uses
//! for extraction (`basic_latex`, `units`, `malformed_operators`, `nits`, `equations` all on;
//! `boxed` is "all", or "last" for a bare `\boxed{...}` match).

use std::sync::OnceLock;

use super::pyre::{Match, Regex};

/// Which `\boxed{}` contents `normalize_latex` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Boxed {
    /// Every boxed content, joined by commas.
    All,
    /// The last one, plus those before it separated only by "and", "or" or ",".
    Last,
}

/// Builds the replacement of one match (Python's `repl` template).
type Rewrite = fn(&Match) -> String;

struct Patterns {
    left: Regex,
    right: Regex,
    permutation: Regex,
    to_remove: Regex,
    to_replace: Regex,
    command_slash: Regex,
    equation_split: Regex,
    unit_superscript: Regex,
    units: Regex,
    empty_text: Regex,
    separator: Regex,
    malformed: Vec<(Regex, Rewrite)>,
}

/// `(name, pattern, replacement)` of `to_replace_patterns`; Python substitutes the replacement
/// through a function, so it is inserted literally (`\\%` stays two backslashes).
const TO_REPLACE: [(&str, &str, &str); 16] = [
    ("math", r"\\math(?:rm|it|bf)", r"\text"),
    ("text", r"\\text(?:normal|bf|it|rm)", r"\text"),
    ("frac", r"\\(?:d|t|c)frac", r"\frac"),
    ("decimal_space", r"\s\.", r" 0."),
    ("decimal_brace", r"\{\.", r"{0."),
    ("approx", r"\~\=", r"\approx"),
    ("comma", r"\s*\{\s*,\s*\}", r","),
    ("and_or", r"(?<!\w)(?:and|or)(?!\w)", r";"),
    ("and_or_text", r"(\\text{\s*(?:and|or)\s*})", r";"),
    ("backslash_space", r"(?<!\\)\\\s", r" "),
    ("infinity", r"infinity", r"\infty"),
    ("dot", r",?(\\ldots)", r" "),
    ("percent", r"\s*percent", r"\\%"),
    ("percent_in_text", r"\\text{percent}", r"\\%"),
    ("inf", r"((?<!\\)inf(?!inity))", r"\infty"),
    ("sqrt", r" sqrt", r"\sqrt"),
];

fn group(m: &Match, i: usize) -> String {
    m.group(i).unwrap_or_default()
}

fn compile(pattern: &str) -> Regex {
    // The patterns are literals of this file, covered by the tests; a failure is a bug here.
    match Regex::new(pattern) {
        Ok(re) => re,
        Err(e) => panic!("lighteval normalisation pattern: {e:?}"),
    }
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let to_replace = TO_REPLACE
            .iter()
            .map(|(name, p, _)| format!("(?P<{name}>{p})"))
            .collect::<Vec<_>>()
            .join("|");
        Patterns {
            left: compile(r"\\m?left(\\\{|\{|\\\||\||\[|\(|\\rbracl|\\lgroup|\\lbrace|\\lbrack|\\vert|\\lvert|\\lceil|\\lfloor|\\vert|\\lvert|\\langle|\\llcorner|\\ulcorner)"),
            right: compile(r"\\m?right(\\\}|\}|\\\||\||\]|\)|\\rbrack|\\rgroup|\\rbrace|\\rbrack|\\vert|\\rvert|\\rceil|\\rfloor|\\vert|\\rvert|\\rangle|\\lrcorner|\\urcorner)"),
            permutation: compile(r"\(([a-zA-Z0-9+\-*/\\ ]+?)\)_{([a-zA-Z0-9+\-*/\\ ]+?)}"),
            to_remove: compile(
                r#"\\mathrm\{th\}|\\!\s*|\\text\s*\{\s*\}|\\text\s*\{\s*\}|\\\$|\$|(?<!\\)["']|\\displaystyle"#,
            ),
            to_replace: compile(&to_replace),
            command_slash: compile(r"\\\\(?=[a-zA-Z])"),
            equation_split: compile(r"(?<!\\|\<|\!|\>)="),
            unit_superscript: compile(r"(\\(?:text|mbox){.*?})(\^\d|\{\^\d\})?$"),
            // latex2sympy2's units regex puts `(?=\s)` before each unit, so only its one unit
            // that starts with a space (" m east") can ever match; and its `\1\2` replacement
            // names groups of other alternatives, so a match is replaced by nothing.
            units: compile(r"(?=\s)(?: m east(?:s|es)?)($|\W)"),
            empty_text: compile(r"\\text\s*\{\s*\}"),
            separator: compile(r"^\s*(?:and|or|,)\s*$"),
            malformed: vec![
                (compile(r"\^\s?\((.*?)\)"), |m| format!("^{{{}}}", group(m, 1))),
                (compile(r"sqrt\s?\((.*?)\)"), |m| format!("\\sqrt{{{}}}", group(m, 1))),
                (compile(r"\\frac\s?(\d)\s?(\d+)"), |m| {
                    format!("\\frac{{{}}}{{{}}}", group(m, 1), group(m, 2))
                }),
                (compile(r"\\log_\s?(\d)\s?(\d+)"), |m| {
                    format!("\\log_{{{}}}{{{}}}", group(m, 1), group(m, 2))
                }),
                (compile(r"\\frac\s?{(.*?)}\s?(\d)"), |m| {
                    format!("\\frac{{{}}}{{{}}}", group(m, 1), group(m, 2))
                }),
                (compile(r"\\frac\s?(\d)\s?{(.*?)}"), |m| {
                    format!("\\frac{{{}}}{{{}}}", group(m, 1), group(m, 2))
                }),
                (compile(r"\\sqrt\s?(\d)"), |m| format!("\\sqrt{{{}}}", group(m, 1))),
            ],
        }
    })
}

/// Position (char index) of the `}` closing the `{` at `open`, before `max`.
fn closing_brace(text: &[char], open: usize, max: usize) -> Option<usize> {
    let mut depth = 1usize;
    for (i, &c) in text.iter().enumerate().take(max).skip(open + 1) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Last start of `needle` in `text[..end]` (char indices).
fn rfind(text: &[char], needle: &str, end: usize) -> Option<usize> {
    let needle: Vec<char> = needle.chars().collect();
    let end = end.min(text.len());
    (0..=end.checked_sub(needle.len())?)
        .rev()
        .find(|&i| text[i..i + needle.len()] == needle[..])
}

/// `extract_boxed_content`: the contents of `\boxed{...}` / `\fbox{...}`, scanning right to
/// left; the text unchanged when there is none.
pub(crate) fn extract_boxed_content(text: &str, mode: Boxed) -> String {
    let chars: Vec<char> = text.chars().collect();
    let to_string = |s: &[char]| s.iter().collect::<String>();
    let mut results: Vec<String> = Vec::new();
    let mut current = chars.len();
    let mut max_pos = chars.len();
    let mut last_boxed_start: Option<usize> = None;
    loop {
        let boxed = rfind(&chars, "\\boxed", current);
        let fbox = rfind(&chars, "\\fbox", current);
        let (start, command_len) = match (boxed, fbox) {
            (None, None) => break,
            (Some(b), Some(f)) if f > b => (f, 5),
            (Some(b), _) => (b, 6),
            (None, Some(f)) => (f, 5),
        };
        let mut next = start + command_len;
        while next < max_pos && chars[next].is_whitespace() {
            next += 1;
        }
        if next >= max_pos {
            break;
        }
        if chars[next] != '{' {
            if results.is_empty() {
                results.push(to_string(&chars[next..]));
            }
            break;
        }
        let Some(close) = closing_brace(&chars, next, max_pos) else {
            if results.is_empty() {
                results.push(to_string(&chars[next..]));
            }
            break;
        };
        if let (Boxed::Last, Some(later)) = (mode, last_boxed_start) {
            let between = to_string(chars.get(close + 1..later).unwrap_or_default());
            if !patterns().separator.is_prefix_match(&between) {
                break;
            }
        }
        results.push(to_string(&chars[next + 1..close]).trim().to_string());
        last_boxed_start = Some(start);
        max_pos = start;
        current = start;
    }
    if results.is_empty() {
        return text.to_string();
    }
    results.reverse();
    results.join(",")
}

/// `_fix_fracs`: `\frac12` to `\frac{1}{2}`.
fn fix_fracs(text: &str) -> String {
    let mut parts = text.split("\\frac");
    let mut out = parts.next().unwrap_or_default().to_string();
    for part in parts {
        let part = part.trim_start();
        out.push_str("\\frac");
        let mut chars = part.chars();
        match (chars.next(), chars.next()) {
            (Some('{'), _) => out.push_str(part),
            (Some(a), Some(b)) => {
                let rest = chars.as_str();
                if b == '{' {
                    out.push_str(&format!("{{{a}}}{b}{rest}"));
                } else {
                    out.push_str(&format!("{{{a}}}{{{b}}}{rest}"));
                }
            }
            _ => return text.to_string(),
        }
    }
    out
}

/// `_fix_a_slash_b`: `2/3` to `\frac{2}{3}` when the whole text is exactly two integers.
fn fix_a_slash_b(text: &str) -> String {
    let parts: Vec<&str> = text.split('/').collect();
    let [a, b] = parts[..] else {
        return text.to_string();
    };
    match (py_int(a), py_int(b)) {
        (Some(a), Some(b)) if text == format!("{a}/{b}") => format!("\\frac{{{a}}}{{{b}}}"),
        _ => text.to_string(),
    }
}

/// Python's `int(s)` for the plain decimal forms that can round-trip through `str`.
fn py_int(s: &str) -> Option<i128> {
    let t = s.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// `_fix_sqrt`: `\sqrt3` to `\sqrt{3}`.
fn fix_sqrt(text: &str) -> String {
    if !text.contains("\\sqrt") {
        return text.to_string();
    }
    let mut parts = text.split("\\sqrt");
    let mut out = parts.next().unwrap_or_default().to_string();
    for part in parts {
        let part = part.trim_start();
        let mut chars = part.chars();
        match chars.next() {
            Some(a) if a != '{' && a != '[' => {
                out.push_str(&format!("\\sqrt{{{a}}}{}", chars.as_str()));
            }
            _ => {
                out.push_str("\\sqrt");
                out.push_str(part);
            }
        }
    }
    out
}

fn fix_malformed_operators(text: &str) -> String {
    let mut s = text.to_string();
    for (re, replace) in &patterns().malformed {
        s = re.replace_all(&s, replace);
    }
    s.replace(" sqrt", "\\sqrt")
}

fn basic_latex(text: &str) -> String {
    let p = patterns();
    let mut t = text
        .replace(r"\mathrm{T}", "T")
        .replace(r"\mathrm{d}", "d")
        .replace(r"{\rm d}", "d")
        .replace(r"\left[\begin{matrix}", r"\begin{bmatrix}")
        .replace(r"\end{matrix}\right]", r"\end{bmatrix}");
    t = p.left.replace_all(&t, |m| group(m, 1));
    t = p.right.replace_all(&t, |m| group(m, 1));
    t = p.permutation.replace_all(&t, |m| {
        let (a, b) = (group(m, 1), group(m, 2));
        format!("\\frac{{({a})!}}{{(({a})-({b}))!}}")
    });
    t = p.to_remove.replace_all(&t, |_| String::new());
    t = p.to_replace.replace_all(&t, |m| {
        let name = m.named_groups().find(|(_, v)| v.is_some()).map(|(n, _)| n);
        TO_REPLACE
            .iter()
            .find(|(n, _, _)| Some(*n) == name)
            .map_or_else(String::new, |(_, _, r)| (*r).to_string())
    });
    t = t.replace(['\n', '\t'], " ");
    if !t.contains("matrix") {
        t = p.command_slash.replace_all(&t, |_| "\\".to_string());
    }
    t
}

fn remove_units(text: &str) -> String {
    let p = patterns();
    let mut t = text.to_string();
    let stripped = p.unit_superscript.replace_all(&t, |_| String::new());
    let stripped = stripped.trim();
    if !stripped.is_empty() && stripped != t {
        t = stripped.to_string();
    }
    for _ in 0..2 {
        let removed = p.units.replace_all(&t, |_| String::new());
        if !removed.is_empty() && removed != t {
            t = removed;
        }
    }
    p.empty_text.replace_all(&t, |_| " ".to_string())
}

/// `normalize_latex` with lighteval's extraction configuration.
pub(crate) fn normalize_latex(text: &str, boxed: Boxed) -> String {
    let mut t = extract_boxed_content(text, boxed);
    t = basic_latex(&t);
    // equations: keep the last side of `a = b = c`, unless a list like `a=1,b=2`.
    if !t.contains(',') && !t.contains(';') {
        let mut parts = patterns().equation_split.split(&t);
        if parts.len() > 2 {
            t = parts.pop().unwrap_or_default();
        }
    }
    t = remove_units(&t);
    // nits
    if t.starts_with('.') {
        t.insert(0, '0');
    }
    if t == "0.5" {
        t = "\\frac{1}{2}".to_string();
    }
    t = fix_malformed_operators(&t);
    t = fix_sqrt(&t);
    t = fix_fracs(&t);
    t = fix_a_slash_b(&t);
    t.trim().to_string()
}
