//! Text as the page writes it: HTML escaping of everything that comes from a run (names,
//! directories, warnings, configuration values are untrusted) and numbers in table cells.

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// JSON for a `<script type="application/json">` block: `<`, `>` and `&` only occur inside
/// JSON strings, where `\u003c`, `\u003e` and `\u0026` mean the same characters, so the text
/// stays valid JSON but can never contain `</script>` or `<!--` and end or change the block.
pub fn script_safe_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            _ => out.push(c),
        }
    }
    out
}

/// A number with about four significant digits, as the report's script formats them too
/// (`fmt` in report.js), so tables and hover values read alike.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return "\u{2013}".to_string();
    }
    let a = v.abs();
    if a == 0.0 {
        return "0".to_string();
    }
    if !(1e-3..1e6).contains(&a) {
        return format!("{v:.3e}");
    }
    if a >= 1000.0 {
        return format!("{v:.0}");
    }
    if a >= 100.0 {
        return format!("{v:.1}");
    }
    if a >= 1.0 {
        return format!("{v:.2}");
    }
    // Three significant digits below 1: 0.5 -> 0.500, 0.01234 -> 0.0123.
    let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn script_safe_json_stays_json() {
        let json = serde_json::to_string("</script><!-- & >").unwrap();
        let safe = script_safe_json(&json);
        assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('&'));
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, "</script><!-- & >");
    }

    #[test]
    fn numbers_have_about_four_significant_digits() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(12345.6), "12346");
        assert_eq!(number(123.45), "123.5");
        assert_eq!(number(1.2345), "1.23");
        assert_eq!(number(0.5), "0.500");
        assert_eq!(number(0.01234), "0.0123");
        assert_eq!(number(-2.5), "-2.50");
        assert_eq!(number(2.5e7), "2.500e7");
        assert_eq!(number(f64::NAN), "\u{2013}");
    }
}
