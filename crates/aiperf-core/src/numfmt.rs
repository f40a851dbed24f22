//! Numbers as people read them, shared by the console tables, error messages and charts.

/// A run of ASCII digits with a comma every three from the right: `1234567` -> `1,234,567`.
pub fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_every_three_digits_from_the_right() {
        assert_eq!(group_digits("1234567"), "1,234,567");
        assert_eq!(group_digits("123456"), "123,456");
        assert_eq!(group_digits("12"), "12");
        assert_eq!(group_digits(""), "");
    }
}
