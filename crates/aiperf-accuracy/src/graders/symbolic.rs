//! Placeholder: being written. Exact comparison of math answers (LaTeX or plain text).

/// A parsed math answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr(String);

/// Parses a LaTeX (`\frac{1}{2}`, `\sqrt{3}`, `(1, 2]`) or plain (`1/2`, `sqrt(3)`) answer;
/// `None` when it is not math this module understands.
pub fn parse(s: &str) -> Option<Expr> {
    let t = s.trim();
    (!t.is_empty()).then(|| Expr(t.to_string()))
}

/// Whether two parsed answers are mathematically equal.
pub fn equal(a: &Expr, b: &Expr) -> bool {
    a == b
}

/// Whether two answers, as text, are mathematically equal (both must parse).
pub fn equivalent(a: &str, b: &str) -> bool {
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => equal(&x, &y),
        _ => false,
    }
}
