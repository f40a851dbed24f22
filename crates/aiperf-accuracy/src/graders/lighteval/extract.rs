//! lighteval 0.13's extractive match (`extractive_match_utils.py`): regex cascades for
//! expressions, LaTeX and choice letters, each regex with a priority; the first priority level
//! whose matches yield a parsed answer wins, and the first matched string is kept as a fallback.

use std::sync::OnceLock;

use super::normalize::{normalize_latex, Boxed};
use super::pyre::{Match, Regex};
use crate::graders::symbolic;

/// What one extraction target looks for (`ExprExtractionConfig`, `LatexExtractionConfig`,
/// `IndicesExtractionConfig`), as AIPerf configures them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Numbers and plain arithmetic expressions.
    Expr,
    /// LaTeX environments; `\boxed{}` at the given priority.
    Latex { boxed_priority: i32 },
    /// Choice letters A to D (`NativeLetters`, four choices), anchors required.
    Letters,
}

impl Target {
    /// lighteval orders targets indices, latex, expr before sorting patterns by priority.
    fn order(self) -> u8 {
        match self {
            Target::Letters => 0,
            Target::Latex { .. } => 1,
            Target::Expr => 2,
        }
    }
}

/// One extracted answer: parsed math, or a string (a choice letter or a fallback).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Math(symbolic::Expr),
    Text(String),
}

/// lighteval's `compare_gold_target`: any (gold, prediction) pair equal; math against math,
/// text against text (trimmed, non-empty), never math against text.
pub(crate) fn any_equal(golds: &[Value], preds: &[Value]) -> bool {
    golds.iter().any(|g| {
        preds.iter().any(|p| match (g, p) {
            (Value::Math(a), Value::Math(b)) => symbolic::equal(a, b),
            (Value::Text(a), Value::Text(b)) => {
                let (a, b) = (a.trim(), b.trim());
                !a.is_empty() && a == b
            }
            _ => false,
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Patterns (English literals: answer word "answer", "and"/"or", punctuation . , :)

const OPERATORS: &str = r"\+\-\*\×\/\^\(\)\÷";
const SPACE_RE: &str = r"(?:\s|\ )";
const FULL_STOP_RE: &str = r"[\.\.]";
const COMMA_RE: &str = r"[,\,]";
const COLON_RE: &str = r"[:\:]";
const ANSWER_RE: &str = r"(?i:answer)";

/// `lazy_expr_regex` for English with `try_extract_without_anchor`.
fn expr_patterns() -> Vec<(String, i32)> {
    let number_re = concat!(
        r"(?:(?P<integer1>-?\d{1,3}(?:[ ,]\d{3})+)(?P<decimal1>\.\d+)?|",
        r"(?P<integer2>-?\d+)(?P<decimal2>[.,]\d+)|",
        r"(?P<decimal3>\.\d+)|",
        r"(?P<integer3>-?\d+))",
        r"(?P<percent>\s*(?:%|[Pp]ercent|\s*[Pp]ercentage|\s*[Pp]ct))?"
    );
    let all_expr_chars = format!(r"[\d\.\s{OPERATORS}]");
    let expr_re = format!(r"(?P<expr>-?\(?-?\d{all_expr_chars}*[{OPERATORS}]{all_expr_chars}+\)?)");
    let prefix = format!(r"(?:^|{SPACE_RE}|\=)(?:\*\*)?");
    let suffix =
        format!(r"(?:\*\*)?(?:{FULL_STOP_RE}|{COMMA_RE}|\s?{COLON_RE}|{SPACE_RE}|\)|\$|$)");
    let currency = "[$€£¥₹₽₪₩₫฿₡₢₣₤₥₦₧₨₩₪₫₭₮₯₰₱₲₳₴₵₶₷₸₹₺₻₼₽₾₿]";
    let expr_with_anchors = format!(r"(?:{prefix}{expr_re}{suffix})");
    let number_with_anchors = format!(r"(?:{prefix}{currency}?{number_re})");
    let expr_or_number = format!(r"(?:{expr_with_anchors}|{number_with_anchors})");
    vec![
        (
            format!(r"(?i:final answer is)\:?\s*{expr_or_number}\.?\s?I hope"),
            0,
        ),
        (
            format!(r"(?i:final answer.{{0,100}}?)\s+is\:?{expr_or_number}"),
            50,
        ),
        (
            format!(
                r"{ANSWER_RE}\s?{COLON_RE}(?:.{{0,100}}=\s*|.{{0,50}}?){expr_or_number}(?!\s*=)"
            ),
            100,
        ),
        (
            format!(r"{ANSWER_RE}(?:.{{0,100}}=\s*|.{{0,50}}?){expr_or_number}(?!\s*=)"),
            200,
        ),
        (expr_with_anchors, 300),
        (number_with_anchors, 300),
    ]
}

/// `make_latex_env_pattern`: `$$..$$`, `\[..\]`, `$..$`, `\(..\)`, ` [..] ` (and, in plain
/// context, a bare `\frac{n}{m}`), each optionally followed by a percent sign.
fn latex_env(prefix: &str, boxed: bool) -> String {
    let contents = [
        r"(?:[^$]|\$(?!\$))",
        r"(?:[^\\]|\\(?!\]))",
        r"(?:\\[$]|[^\n$])",
        r"(?:[^\\\n]|\\(?!\)))",
        r"[^\n\]\[]",
    ];
    let [dd, db, id, ip, ib] = contents.map(|c| {
        if boxed {
            format!(r"{c}*?\\boxed{{{c}+?}}{c}*?")
        } else {
            format!("{c}+?")
        }
    });
    let mut alternatives = vec![
        format!(r"(?<!\\)\$\$(?P<{prefix}latexDisplayDollar>{dd})(?<!\\)\$\$"),
        format!(r"(?<!\\)\\\[(?P<{prefix}latexDisplayBracket>{db})(?<!\\)\\\]"),
        format!(r"(?<!\\|\d)\$(?P<{prefix}latexInlineDollar>{id})(?<!\\)\$"),
        format!(r"(?<!\\)\\\((?P<{prefix}latexInlineParenthesis>{ip})(?<!\\)\\\)"),
        format!(r"\s\[(?P<{prefix}latexInlineBracket>{ib})\]\s"),
    ];
    if !boxed {
        let simple_number = r"-?\d+(?:[.,]\d+)?";
        alternatives.push(format!(
            r"(?P<{prefix}latexFraction>-?\\frac{{{simple_number}}}{{{simple_number}}})"
        ));
    }
    let percent = format!(r"(?P<{prefix}percent>(?:\\?%|[Pp]ercent|[Pp]ercentage|[Pp]ct))");
    format!(r"(?:(?:{})\s*{percent}?)", alternatives.join("|"))
}

/// An environment followed by up to five more joined by "and", "or" or ",".
fn latex_envs(boxed: bool) -> String {
    let next: String = (1..=5)
        .map(|i| {
            format!(
                r"(?:\s*(?:and|or|,)\s*{})?",
                latex_env(&format!("next{i}_"), boxed)
            )
        })
        .collect();
    format!("(?:{}{next})", latex_env("first_", boxed))
}

/// `lazy_latex_regex` for English with `try_extract_without_anchor` (compiled with DOTALL).
fn latex_patterns(boxed_priority: i32) -> Vec<(String, i32)> {
    let l = latex_envs(false);
    let mut out = vec![
        (format!(r"(?i:final answer is)\:?\s*{l}\.?\s?I hope"), 0),
        (format!(r"(?i:final answer.{{0,100}}?)\s+is\:?\s*{l}"), 50),
        (format!(r"{ANSWER_RE}\s?{COLON_RE}.{{0,50}}?{l}"), 100),
        (format!(r"{ANSWER_RE}.{{0,50}}?{l}"), 200),
        (l, 300),
    ];
    if boxed_priority >= 0 {
        out.push((latex_envs(true), boxed_priority));
        out.push((
            r"(?P<first_latexBoxed>\\boxed{.+})".to_string(),
            boxed_priority,
        ));
    }
    out
}

/// `lazy_indices_regex` for letters A-D without the anchor-free patterns.
fn letter_patterns() -> Vec<(String, i32)> {
    let indices = "ABCD"
        .chars()
        .map(|c| format!(r"(?:{c}|\({c}\))"))
        .collect::<Vec<_>>()
        .join("|");
    let ind = format!("(?P<indices>{indices})");
    let suffix = format!(r"(?:\*\*)?(?:{FULL_STOP_RE}|{COMMA_RE}|\s?{COLON_RE}|\ |$)");
    let answer_re = format!(r"(?:^|\ )(?:\*\*)?{ind}{suffix}");
    vec![
        (format!(r"(?i:final answer is)\:?\s*{ind}\.?\s?I hope"), 0),
        (format!(r"(?i:final answer.{{0,100}}?)\s+is\:?\s*{ind}"), 50),
        (
            format!(r"{ANSWER_RE}\s?{COLON_RE}.{{0,50}}?{answer_re}"),
            100,
        ),
        (format!(r"{ANSWER_RE}.{{0,50}}?{answer_re}"), 150),
        (format!(r"^(?:\*\*)?{ind}{suffix}"), 200),
        (format!(r"\n(?:\*\*)?{ind}{suffix}"), 210),
    ]
}

// ---------------------------------------------------------------------------------------------
// Extraction

/// The compiled, priority-sorted patterns of a list of targets (`get_extraction_regexes`).
pub(crate) struct Extractor {
    patterns: Vec<(Regex, i32, Target)>,
}

impl Extractor {
    pub(crate) fn new(targets: &[Target]) -> Self {
        let mut targets = targets.to_vec();
        targets.sort_by_key(|t| t.order());
        let mut patterns = Vec::new();
        for target in targets {
            let (sources, dotall) = match target {
                Target::Expr => (expr_patterns(), false),
                Target::Latex { boxed_priority } => (latex_patterns(boxed_priority), true),
                Target::Letters => (letter_patterns(), false),
            };
            for (source, priority) in sources {
                let compiled = if dotall {
                    Regex::dotall(&source)
                } else {
                    Regex::new(&source)
                };
                // The patterns are literals of this file, covered by the tests.
                match compiled {
                    Ok(re) => patterns.push((re, priority, target)),
                    Err(e) => panic!("lighteval extraction pattern: {e:?}"),
                }
            }
        }
        patterns.sort_by_key(|p| p.1);
        Extractor { patterns }
    }

    /// `extract_target_from_pred` with `fallback_mode="first_match"`, `extraction_mode=
    /// "any_match"`: the first parsed answer of the best priority level that has one, then
    /// the first matched string.
    pub(crate) fn extract(&self, text: &str) -> Vec<Value> {
        let chars: Vec<char> = text.chars().collect();
        let mut extracted = Vec::new();
        let mut fallbacks: Vec<String> = Vec::new();
        for level in self.patterns.chunk_by(|a, b| a.1 == b.1) {
            let mut matches: Vec<(Match, Target)> = level
                .iter()
                .flat_map(|(re, _, target)| re.find_iter(&chars).into_iter().map(|m| (m, *target)))
                .collect();
            // Rightmost end first, then leftmost start; stable otherwise.
            matches.sort_by(|(a, _), (b, _)| b.end().cmp(&a.end()).then(a.start().cmp(&b.start())));
            for (m, target) in &matches {
                let (value, fallback) = extract_match(m, *target);
                if !fallback.is_empty() {
                    fallbacks.push(fallback);
                }
                if let Some(value) = value {
                    extracted.push(value);
                    break;
                }
            }
            if !extracted.is_empty() {
                break;
            }
        }
        if let Some(first) = fallbacks.into_iter().next() {
            extracted.push(Value::Text(first));
        }
        extracted
    }
}

fn extract_match(m: &Match, target: Target) -> (Option<Value>, String) {
    match target {
        Target::Expr => extract_expr(m),
        Target::Latex { .. } => extract_latex(m),
        Target::Letters => {
            let letter: String = m
                .named("indices")
                .unwrap_or_default()
                .replace(['(', ')'], "")
                .trim()
                .to_string();
            (Some(Value::Text(letter.clone())), letter)
        }
    }
}

/// First non-empty group whose name starts with `prefix`, in definition order.
fn first_group(m: &Match, prefix: &str) -> Option<(String, String)> {
    m.named_groups().find_map(|(name, v)| {
        v.filter(|v| name.starts_with(prefix) && !v.is_empty())
            .map(|v| (name.to_string(), v))
    })
}

/// `extract_expr`: a number (thousand separators and leading zeros dropped, `%` divides by
/// 100) or an arithmetic expression.
fn extract_expr(m: &Match) -> (Option<Value>, String) {
    let integer = first_group(m, "integer").map(|g| g.1).unwrap_or_default();
    let decimal = first_group(m, "decimal").map(|g| g.1).unwrap_or_default();
    let is_percentage = m.named("percent").is_some_and(|p| !p.is_empty());
    if !integer.is_empty() || !decimal.is_empty() {
        let mut integer: String = integer.chars().filter(|c| *c != ',' && *c != ' ').collect();
        integer = integer.trim_start_matches('0').to_string();
        if integer.is_empty() {
            integer = "0".to_string();
        }
        let number_str = format!("{integer}{}", decimal.replace(',', "."));
        let canonical = canonical_number(&number_str);
        let value = if is_percentage {
            symbolic::parse(&format!("{canonical}/100"))
        } else {
            symbolic::parse(&canonical)
        };
        return (value.map(Value::Math), number_str);
    }
    let expr = m.named("expr").unwrap_or_default();
    if expr.is_empty() {
        return (None, expr);
    }
    // sympy's `parse_expr` rejects the `×` and `÷` the pattern admits.
    let value = if expr.contains(['×', '÷']) {
        None
    } else {
        symbolic::parse(&expr.replace('\n', " ").replace("**", "^"))
    };
    (value.map(Value::Math), expr)
}

/// sympy's `Number("-007")` is -7; strip the zeros the sign shielded from `lstrip("0")`.
fn canonical_number(s: &str) -> String {
    match s.strip_prefix('-') {
        Some(rest) => {
            let digits = rest.trim_start_matches('0');
            if digits.is_empty() || digits.starts_with('.') {
                format!("-0{digits}")
            } else {
                format!("-{digits}")
            }
        }
        None => s.to_string(),
    }
}

/// `extract_latex`: each matched environment normalised and parsed; several parsed ones form
/// a set (joined by commas), otherwise the first one counts.
fn extract_latex(m: &Match) -> (Option<Value>, String) {
    let groups = std::iter::once(first_group(m, "first_latex"))
        .chain((1..=5).map(|i| first_group(m, &format!("next{i}_latex"))))
        .flatten();
    let mut parsed = Vec::new();
    let mut strings = Vec::new();
    for (name, latex) in groups {
        let mut parts = name.split('_');
        let prefix = parts.next().unwrap_or_default();
        let boxed = if parts.next() == Some("latexBoxed") {
            Boxed::Last
        } else {
            Boxed::All
        };
        let is_percentage = m
            .named(&format!("{prefix}_percent"))
            .is_some_and(|p| !p.is_empty());
        let normalized = normalize_latex(&latex, boxed);
        let value = if is_percentage {
            symbolic::parse(&format!("\\frac{{{normalized}}}{{100}}"))
        } else {
            symbolic::parse(&normalized)
        };
        parsed.push(value);
        strings.push(normalized);
    }
    if parsed.is_empty() {
        return (None, String::new());
    }
    if parsed.len() > 1 && parsed.iter().all(Option::is_some) {
        let set = symbolic::parse(&strings.join(","));
        return (set.map(Value::Math), strings.join(" and "));
    }
    let first = parsed.swap_remove(0).map(Value::Math);
    (first, strings.swap_remove(0))
}

/// The prediction targets of all three math graders: expressions, and LaTeX with `\boxed{}`
/// first.
pub(crate) fn math_prediction() -> &'static Extractor {
    static E: OnceLock<Extractor> = OnceLock::new();
    E.get_or_init(|| Extractor::new(&[Target::Expr, Target::Latex { boxed_priority: 0 }]))
}

/// AIME gold: an expression (usually a bare integer).
pub(crate) fn expr_gold() -> &'static Extractor {
    static E: OnceLock<Extractor> = OnceLock::new();
    E.get_or_init(|| Extractor::new(&[Target::Expr]))
}

/// MATH-500 gold: LaTeX with the default boxed priority 55.
pub(crate) fn latex_gold() -> &'static Extractor {
    static E: OnceLock<Extractor> = OnceLock::new();
    E.get_or_init(|| Extractor::new(&[Target::Latex { boxed_priority: 55 }]))
}

/// GPQA: choice letters, for gold and prediction alike.
pub(crate) fn letters() -> &'static Extractor {
    static E: OnceLock<Extractor> = OnceLock::new();
    E.get_or_init(|| Extractor::new(&[Target::Letters]))
}
