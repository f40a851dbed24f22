//! Media references as datasets carry them, taken apart for APIs that want the pieces.

/// An audio clip `"<format>,<base64>"` (AIPerf's encoding) or `data:audio/<format>;base64,...`
/// as `(format, base64)`. Anything else is taken as WAV data.
pub fn split_audio(a: &str) -> (&str, &str) {
    if let Some((mime, data)) = data_uri(a) {
        return (mime.strip_prefix("audio/").unwrap_or(mime), data);
    }
    a.split_once(',').unwrap_or(("wav", a))
}

/// `data:<mime>;base64,<data>` as `(mime, data)`.
pub fn data_uri(s: &str) -> Option<(&str, &str)> {
    let rest = s.strip_prefix("data:")?;
    let (head, data) = rest.split_once(',')?;
    let mime = head.strip_suffix(";base64")?;
    Some((mime, data))
}

/// A file for a multipart upload from a data URI or `"<format>,<base64>"`: `{filename,
/// content_type, data}` with base64 `data`, which [`crate::multipart`] decodes on encoding.
pub fn file_part(source: &str, stem: &str, kind: &str) -> serde_json::Value {
    let (content_type, data) = match data_uri(source) {
        Some((mime, data)) => (mime.to_string(), data),
        None => {
            let (format, data) = source.split_once(',').unwrap_or(("bin", source));
            (format!("{kind}/{format}"), data)
        }
    };
    let ext = content_type.rsplit('/').next().unwrap_or("bin");
    let ext = match ext {
        "jpeg" => "jpg",
        "mpeg" => "mp3",
        e => e,
    };
    serde_json::json!({"filename": format!("{stem}.{ext}"), "content_type": content_type, "data": data})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_and_data_uris() {
        assert_eq!(split_audio("mp3,QUJD"), ("mp3", "QUJD"));
        assert_eq!(split_audio("data:audio/wav;base64,UklG"), ("wav", "UklG"));
        assert_eq!(
            data_uri("data:image/png;base64,AA"),
            Some(("image/png", "AA"))
        );
        assert_eq!(data_uri("http://x/y.png"), None);
        assert_eq!(
            file_part("data:image/jpeg;base64,AA", "image", "image"),
            serde_json::json!({"filename": "image.jpg", "content_type": "image/jpeg", "data": "AA"})
        );
        assert_eq!(
            file_part("wav,UklG", "audio", "audio"),
            serde_json::json!({"filename": "audio.wav", "content_type": "audio/wav", "data": "UklG"})
        );
    }
}
