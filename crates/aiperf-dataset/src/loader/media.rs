//! Media fields of dataset rows: URLs and data URIs pass through, local files are read and
//! base64-encoded (AIPerf's rule), relative paths resolve against the dataset file's folder.

use std::path::Path;

use base64::Engine;

/// Which content part a media value becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Audio,
    Video,
}

/// The value to send for one media field: a URL or data URI for images and videos,
/// `"<format>,<base64>"` for audio.
pub fn resolve(value: &str, kind: MediaKind, base_dir: &Path) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(format!("empty {} value", kind.name()));
    }
    let is_url = v.starts_with("http://") || v.starts_with("https://");
    if kind != MediaKind::Audio && (is_url || v.starts_with("data:")) {
        return Ok(v.to_string());
    }
    if kind == MediaKind::Audio {
        if let Some((format, _)) = v.split_once(',') {
            if matches!(format, "wav" | "mp3" | "flac" | "ogg" | "webm") {
                return Ok(v.to_string());
            }
        }
        if is_url {
            return Err(format!(
                "audio '{v}': give a local file or 'wav,<base64>', not a URL"
            ));
        }
    }
    let path = base_dir.join(v);
    let bytes = std::fs::read(&path)
        .map_err(|e| format!("{} file '{}': {e}", kind.name(), path.display()))?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    Ok(match kind {
        MediaKind::Audio => format!("{},{b64}", if ext.is_empty() { "wav" } else { &ext }),
        MediaKind::Image => {
            let mime = match ext.as_str() {
                "jpg" | "jpeg" => "jpeg",
                "" => "png",
                other => other,
            };
            format!("data:image/{mime};base64,{b64}")
        }
        MediaKind::Video => {
            let mime = if ext.is_empty() { "mp4" } else { &ext };
            format!("data:video/{mime};base64,{b64}")
        }
    })
}

impl MediaKind {
    fn name(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pass_files_are_encoded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.png"), [1u8, 2, 3]).unwrap();
        std::fs::write(dir.path().join("b.wav"), [4u8]).unwrap();
        let d = dir.path();
        assert_eq!(
            resolve("https://x/y.png", MediaKind::Image, d).unwrap(),
            "https://x/y.png"
        );
        assert_eq!(
            resolve("a.png", MediaKind::Image, d).unwrap(),
            "data:image/png;base64,AQID"
        );
        assert_eq!(resolve("b.wav", MediaKind::Audio, d).unwrap(), "wav,BA==");
        assert_eq!(
            resolve("wav,AAAA", MediaKind::Audio, d).unwrap(),
            "wav,AAAA"
        );
        let e = resolve("missing.jpg", MediaKind::Image, d).unwrap_err();
        assert!(e.starts_with("image file '"), "{e}");
    }
}
