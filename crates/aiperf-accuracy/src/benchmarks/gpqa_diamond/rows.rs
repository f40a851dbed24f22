//! Reading dataset rows the way AIPerf's Python does: `row[col]` (a missing column is an
//! error), `str(value)` (Python's formatting of ints, floats, booleans and `None`), and the
//! one-source-per-call bookkeeping every benchmark needs. Shared by the lighteval-style and
//! AIME benchmarks.

use serde_json::Value;

use crate::benchmarks::Source;
use crate::{AccuracyError, Problem, Row};

/// One row of one source, for column access with errors that name where the row came from.
pub(crate) struct RowRef<'a> {
    pub source: &'a str,
    pub index: usize,
    pub row: &'a Row,
}

impl<'a> RowRef<'a> {
    pub fn new(source: &'a str, index: usize, row: &'a Row) -> Self {
        Self { source, index, row }
    }

    /// A `BadRow` error for this row.
    pub fn bad(&self, reason: impl Into<String>) -> AccuracyError {
        AccuracyError::BadRow {
            source_name: self.source.to_string(),
            row: self.index,
            reason: reason.into(),
        }
    }

    /// `row[col]`: the value, or `BadRow` when the column is missing.
    pub fn get(&self, col: &str) -> Result<&'a Value, AccuracyError> {
        self.row
            .get(col)
            .ok_or_else(|| self.bad(format!("missing column {col:?}")))
    }

    /// `row[col]` where Python needs a `str` (concatenation, `.encode()`).
    pub fn text(&self, col: &str) -> Result<&'a str, AccuracyError> {
        match self.get(col)? {
            Value::String(s) => Ok(s),
            other => Err(self.bad(format!(
                "column {col:?}: expected a string, got {}",
                type_name(other)
            ))),
        }
    }

    /// `str(row[col])` (also what an f-string or `str.format` renders).
    pub fn py_str(&self, col: &str) -> Result<String, AccuracyError> {
        let value = self.get(col)?;
        py_str(value).ok_or_else(|| {
            self.bad(format!(
                "column {col:?}: expected a scalar, got {}",
                type_name(value)
            ))
        })
    }

    /// `row.get(col) or default` for a text column: a missing, null or empty value gives
    /// `None`; any other non-string value is `BadRow`.
    pub fn text_or_none(&self, col: &str) -> Result<Option<&'a str>, AccuracyError> {
        match self.row.get(col) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.bad(format!(
                "column {col:?}: expected a string, got {}",
                type_name(other)
            ))),
        }
    }
}

/// The JSON type of `value`, for messages.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Python's `str()` of a scalar (`None`, `True`, `42`, `33.0`, `1e+16`, text as is); `None`
/// for lists and objects.
pub(crate) fn py_str(value: &Value) -> Option<String> {
    match value {
        Value::Null => Some("None".to_string()),
        Value::Bool(true) => Some("True".to_string()),
        Value::Bool(false) => Some("False".to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_f64() => n.as_f64().map(py_float_repr),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// Python's `repr(float)`: shortest round-trip digits, positional for decimal exponents in
/// `-4..16`, else `d.ddde+XX`.
pub(crate) fn py_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let plain = format!("{x}");
        if plain.contains('.') {
            plain
        } else {
            format!("{plain}.0")
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// The rows of the single source a one-`load_dataset` benchmark reads, with its label.
pub(crate) fn single_source<'a>(
    sources: &[Source],
    rows: &'a [Vec<Row>],
) -> Result<(String, &'a [Row]), AccuracyError> {
    match (sources, rows) {
        ([source], [rows]) => Ok((source.label(), rows)),
        _ => Err(AccuracyError::Invalid(format!(
            "expected rows for {} source(s), got {}",
            sources.len(),
            rows.len()
        ))),
    }
}

/// One problem per row of the single source, in row order (`problem` of each row).
pub(crate) fn problem_per_row(
    sources: &[Source],
    rows: &[Vec<Row>],
    problem: impl Fn(&RowRef) -> Result<Problem, AccuracyError>,
) -> Result<Vec<Problem>, AccuracyError> {
    let (label, rows) = single_source(sources, rows)?;
    rows.iter()
        .enumerate()
        .map(|(i, r)| problem(&RowRef::new(&label, i, r)))
        .collect()
}

/// A row from `(column, value)` pairs, in column order.
pub(crate) fn row(pairs: Vec<(&str, Value)>) -> Row {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Rows as CSV text (RFC 4180, `\n` line ends, a field quoted when it holds a comma, quote,
/// or line break), columns in the first row's order.
pub(crate) fn to_csv(rows: &[Row]) -> String {
    let Some(first) = rows.first() else {
        return String::new();
    };
    let columns: Vec<&String> = first.keys().collect();
    let mut out = csv_line(columns.iter().map(|c| c.to_string()));
    for row in rows {
        let cells = columns
            .iter()
            .map(|c| row.get(*c).and_then(csv_cell).unwrap_or_default());
        out.push_str(&csv_line(cells));
    }
    out
}

/// A CSV cell: text as is, numbers and booleans as pandas writes them, null empty.
fn csv_cell(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        other => py_str(other),
    }
}

fn csv_line(cells: impl Iterator<Item = String>) -> String {
    let quoted: Vec<String> = cells
        .map(|cell| {
            if cell.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", cell.replace('"', "\"\""))
            } else {
                cell
            }
        })
        .collect();
    format!("{}\n", quoted.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn py_str_formats_like_python() {
        assert_eq!(py_str(&json!(72)).as_deref(), Some("72"));
        assert_eq!(py_str(&json!(-3)).as_deref(), Some("-3"));
        assert_eq!(py_str(&json!(33.0)).as_deref(), Some("33.0"));
        assert_eq!(py_str(&json!(0.1)).as_deref(), Some("0.1"));
        assert_eq!(py_str(&json!(1e16)).as_deref(), Some("1e+16"));
        assert_eq!(py_str(&json!(1.5e-5)).as_deref(), Some("1.5e-05"));
        assert_eq!(py_str(&json!(0.0001)).as_deref(), Some("0.0001"));
        assert_eq!(
            py_str(&json!(123456789012345.6)).as_deref(),
            Some("123456789012345.6")
        );
        assert_eq!(py_str(&json!(null)).as_deref(), Some("None"));
        assert_eq!(py_str(&json!(true)).as_deref(), Some("True"));
        assert_eq!(py_str(&json!("x")).as_deref(), Some("x"));
        assert_eq!(py_str(&json!([1])), None);
    }

    #[test]
    fn column_errors_name_source_row_and_column() {
        let r = row(vec![("a", json!(1))]);
        let rr = RowRef::new("openai/gsm8k[main]:test", 4, &r);
        let err = rr.text("question").unwrap_err();
        assert_eq!(
            err.to_string(),
            "openai/gsm8k[main]:test row 4: missing column \"question\""
        );
        let err = rr.text("a").unwrap_err();
        assert_eq!(
            err.to_string(),
            "openai/gsm8k[main]:test row 4: column \"a\": expected a string, got a number"
        );
        assert_eq!(rr.py_str("a").unwrap(), "1");
        assert_eq!(rr.text_or_none("b").unwrap(), None);
    }

    #[test]
    fn csv_quotes_fields_that_need_it() {
        let rows = vec![
            row(vec![("Q", json!("a, \"b\"\nc")), ("n", json!(3))]),
            row(vec![("Q", json!("plain")), ("n", json!(null))]),
        ];
        assert_eq!(to_csv(&rows), "Q,n\n\"a, \"\"b\"\"\nc\",3\nplain,\n");
    }
}
