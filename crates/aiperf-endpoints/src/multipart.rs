//! `multipart/form-data` bodies (image edits, transcriptions, video jobs), encoded once before
//! the run from the same JSON map the JSON endpoints build, so `inputs.json` shows every field.

use base64::Engine as _;
use serde_json::{Map, Value};

/// The boundary of every multipart body this build sends (it never occurs in base64 or in
/// generated text).
pub const BOUNDARY: &str = "aiperf-form-boundary-5f2c9e7a1b3d";

/// The `Content-Type` header value for [`encode`]d bodies.
pub fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// Encodes `fields` in order. Strings, numbers and booleans become text fields; an object
/// `{filename, content_type, data}` becomes a file whose base64 `data` is decoded; an array
/// repeats its field name per item; any other object is sent as JSON text.
pub fn encode(fields: &Map<String, Value>) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for (name, value) in fields {
        match value {
            Value::Array(items) => {
                for item in items {
                    part(&mut out, name, item)?;
                }
            }
            v => part(&mut out, name, v)?,
        }
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    Ok(out)
}

fn part(out: &mut Vec<u8>, name: &str, value: &Value) -> Result<(), String> {
    out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
    if let Some((filename, content_type, data)) = file_fields(value) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| format!("multipart field '{name}': file data is not base64: {e}"))?;
        out.extend_from_slice(
            format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
                 Content-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(&bytes);
    } else {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            v => v.to_string(),
        };
        out.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
        );
        out.extend_from_slice(text.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

fn file_fields(v: &Value) -> Option<(&str, &str, &str)> {
    let o = v.as_object()?;
    if o.len() != 3 {
        return None;
    }
    Some((
        o.get("filename")?.as_str()?,
        o.get("content_type")?.as_str()?,
        o.get("data")?.as_str()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn golden_body() {
        let Value::Object(fields) = json!({
            "model": "m",
            "n": 1,
            "image": [{"filename": "image.png", "content_type": "image/png", "data": "AAE="}],
        }) else {
            unreachable!()
        };
        let body = encode(&fields).unwrap();
        let b = BOUNDARY;
        let mut want = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nm\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n1\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"image.png\"\r\nContent-Type: image/png\r\n\r\n"
        )
        .into_bytes();
        want.extend_from_slice(&[0, 1]);
        want.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
        assert_eq!(body, want);
        let Value::Object(bad) =
            json!({"f": {"filename": "a", "content_type": "x/y", "data": "%%"}})
        else {
            unreachable!()
        };
        assert!(encode(&bad).unwrap_err().contains("'f'"));
    }
}
