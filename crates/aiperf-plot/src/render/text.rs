//! Text from the chart made safe to draw: titles, labels and notes are untrusted strings.

/// `s` on one line, without control characters (they are invalid in SVG/XML and draw as boxes
/// in a PNG), at most `max_chars` characters (an ellipsis marks a cut), so one absurd label
/// cannot push the layout off the image.
pub(crate) fn clean(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars * 4));
    let mut count = 0;
    let mut last_space = true;
    for c in s.chars() {
        let c = if c.is_control() || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' && last_space {
            continue;
        }
        if count == max_chars {
            out.push('\u{2026}');
            return out.trim_end().to_string();
        }
        last_space = c == ' ';
        out.push(c);
        count += 1;
    }
    out.trim_end().to_string()
}

/// Splits `s` into lines of at most about `width` characters at spaces (a word longer than
/// the width gets a line of its own, cut by [`clean`] later), keeping at most `max_lines`.
pub(crate) fn wrap(s: &str, width: usize, max_lines: usize) -> Vec<String> {
    let width = width.max(8);
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in clean(s, width * max_lines).split(' ') {
        let needed =
            current.chars().count() + usize::from(!current.is_empty()) + word.chars().count();
        if !current.is_empty() && needed > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            last.push('\u{2026}');
        }
    }
    lines.into_iter().map(|l| clean(&l, width)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_and_cuts() {
        assert_eq!(clean("a\u{0}b\n\tc  d", 100), "a b c d");
        assert_eq!(clean("abcdef", 3), "abc\u{2026}");
        assert_eq!(clean("", 3), "");
    }

    #[test]
    fn wraps_at_spaces() {
        let lines = wrap("one two three four five six seven", 10, 10);
        assert!(lines.iter().all(|l| l.chars().count() <= 11), "{lines:?}");
        assert_eq!(lines.join(" "), "one two three four five six seven");
        assert_eq!(wrap("a b c d e f g h i j k l m n o p", 8, 1).len(), 1);
    }
}
