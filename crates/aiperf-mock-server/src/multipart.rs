//! A small `multipart/form-data` reader for the upload APIs (image edits, transcriptions,
//! video jobs). Written separately from the client's encoder so each checks the other.

/// One form field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

impl Field {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// The fields of `body`, given the request's `Content-Type`; `None` when it is not multipart
/// or is malformed.
pub fn parse(content_type: &str, body: &[u8]) -> Option<Vec<Field>> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))?
        .trim_matches('"');
    if !content_type.trim_start().starts_with("multipart/form-data") || boundary.is_empty() {
        return None;
    }
    let delim = format!("--{boundary}");
    let mut fields = Vec::new();
    let mut rest = body.strip_prefix(delim.as_bytes())?;
    loop {
        if rest.starts_with(b"--") {
            return Some(fields);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let head_end = find(rest, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&rest[..head_end]).ok()?;
        rest = &rest[head_end + 4..];
        let end = find(rest, format!("\r\n{delim}").as_bytes())?;
        let data = rest[..end].to_vec();
        rest = &rest[end + 2 + delim.len()..];
        let mut field = Field {
            name: String::new(),
            filename: None,
            content_type: None,
            data,
        };
        for line in head.split("\r\n") {
            let (k, v) = line.split_once(':')?;
            if k.eq_ignore_ascii_case("content-disposition") {
                for p in v.split(';').map(str::trim) {
                    if let Some(n) = p.strip_prefix("name=") {
                        field.name = n.trim_matches('"').to_string();
                    } else if let Some(f) = p.strip_prefix("filename=") {
                        field.filename = Some(f.trim_matches('"').to_string());
                    }
                }
            } else if k.eq_ignore_ascii_case("content-type") {
                field.content_type = Some(v.trim().to_string());
            }
        }
        fields.push(field);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_and_file_fields() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nm\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\nRI\r\nFF\r\n--b--\r\n";
        let f = parse("multipart/form-data; boundary=b", body).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].name.as_str(), f[0].text().as_str()), ("model", "m"));
        assert_eq!(f[1].filename.as_deref(), Some("a.wav"));
        assert_eq!(f[1].content_type.as_deref(), Some("audio/wav"));
        assert_eq!(f[1].data, b"RI\r\nFF");
        assert!(parse("application/json", body).is_none());
        assert!(parse("multipart/form-data; boundary=b", b"--b\r\nbroken").is_none());
    }
}
