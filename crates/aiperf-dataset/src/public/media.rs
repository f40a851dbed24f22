//! Images, audio and videos of Hub dataset rows, encoded for requests as AIPerf 0.13's
//! `BaseHFDatasetLoader` / `HFASRDatasetLoader` encode them.
//!
//! - Images: AIPerf opens the bytes with PIL and re-encodes them as JPEG (quality 85, no chroma
//!   subsampling) into `data:image/jpeg;base64,...`. PNG sources are decoded and re-encoded the
//!   same way here. JPEG sources are sent as they are (same pixels and size; this build has no
//!   JPEG decoder and a second lossy pass would only change the byte count). Other formats
//!   (WebP, GIF, BMP, TIFF) go through ffmpeg to PNG and then the same JPEG encoder; without
//!   ffmpeg they are sent as they are, under their own MIME type. Bytes no decoder recognises
//!   are skipped, as PIL's `UnidentifiedImageError` is.
//! - Audio: AIPerf decodes with soundfile (to float64) and writes a 16-bit PCM WAV, sent as
//!   `wav,<base64>`; clips longer than 30 s are skipped. WAV sources are decoded here; any other
//!   format (FLAC, MP3, Opus, ...) is decoded by ffmpeg to 32-bit PCM first. Samples are
//!   converted as libsndfile does (normalised to [-1, 1), then `lrint(x * 32767)`).
//! - Videos: URL strings pass through (bare paths become `file://` URLs); `{bytes, path}` dicts
//!   become `data:<mime from the path>;base64,...`.

use std::io::Cursor;

use base64::Engine;
use serde_json::Value;

use super::rows;
use crate::ffmpeg;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// AIPerf's cap on ASR clip length (`_MAX_DURATION_SECONDS`).
pub const MAX_AUDIO_SECONDS: f64 = 30.0;

/// The bytes of an HF media dict (`{bytes, path}`), when it carries any.
fn dict_bytes(v: &Value) -> Option<Vec<u8>> {
    let bytes = rows::binary(v.as_object()?.get("bytes")?)?;
    (!bytes.is_empty()).then_some(bytes)
}

/// The first image of `value` (one `{bytes, path}` dict or a list of them) that decodes, as a
/// data URI; `None` when there is none (AIPerf's `_extract_images`).
pub fn image(value: &Value) -> Option<String> {
    let items: Vec<&Value> = match value {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    for item in items {
        let Some(bytes) = dict_bytes(item) else {
            if let Some(p) = item.get("path").and_then(Value::as_str) {
                tracing::debug!("path-only image dict not supported: {p}");
            }
            continue;
        };
        match image_uri(&bytes) {
            Ok(uri) => return Some(uri),
            Err(e) => tracing::debug!("image skipped: {e}"),
        }
    }
    None
}

/// The kind of image `bytes` hold, by their signature.
fn image_kind(bytes: &[u8]) -> Option<&'static str> {
    let starts = |sig: &[u8]| bytes.starts_with(sig);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        Some("jpeg")
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("gif")
    } else if bytes.len() > 12 && starts(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("webp")
    } else if starts(b"BM") {
        Some("bmp")
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Some("tiff")
    } else {
        None
    }
}

/// One image's bytes as the data URI AIPerf would send.
pub fn image_uri(bytes: &[u8]) -> Result<String, String> {
    let kind = image_kind(bytes).ok_or("not a recognised image")?;
    let jpeg = match kind {
        "jpeg" => bytes.to_vec(),
        "png" => png_to_jpeg(bytes)?,
        other => match via_ffmpeg_png(bytes) {
            Ok(png) => png_to_jpeg(&png)?,
            Err(ffmpeg::FfmpegError::Missing) => {
                return Ok(format!("data:image/{other};base64,{}", B64.encode(bytes)))
            }
            Err(e) => return Err(e.to_string()),
        },
    };
    Ok(format!("data:image/jpeg;base64,{}", B64.encode(jpeg)))
}

/// PIL's `Image.MAX_IMAGE_PIXELS` doubled: past it PIL refuses an image as a bomb.
const MAX_PIXELS: u64 = 2 * 89_478_485;

/// PNG to JPEG as PIL's `convert("RGB")` then `save(format="JPEG", quality=85, subsampling=0)`:
/// grey replicated, palettes expanded, alpha dropped.
fn png_to_jpeg(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut dec = png::Decoder::new(Cursor::new(bytes));
    dec.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = dec.read_info().map_err(|e| format!("png decoding: {e}"))?;
    // PIL's decompression-bomb limit, checked before the pixel buffer is allocated.
    let (w, h) = (reader.info().width, reader.info().height);
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(format!("png decoding: {w}x{h} is too large"));
    }
    let size = reader
        .output_buffer_size()
        .ok_or("png decoding: image too large")?;
    let mut buf = vec![0; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("png decoding: {e}"))?;
    buf.truncate(info.buffer_size());
    let channels = info.color_type.samples();
    if channels == 0 || info.width > u16::MAX as u32 || info.height > u16::MAX as u32 {
        return Err("png decoding: unsupported size or colour type".into());
    }
    let rgb: Vec<u8> = buf
        .chunks_exact(channels)
        .flat_map(|p| match channels {
            1 | 2 => [p[0], p[0], p[0]],
            _ => [p[0], p[1], p[2]],
        })
        .collect();
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 85);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_4_4);
    enc.encode(
        &rgb,
        info.width as u16,
        info.height as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .map_err(|e| format!("jpeg encoding: {e}"))?;
    Ok(out)
}

/// The first frame of an image ffmpeg can read, as PNG.
fn via_ffmpeg_png(bytes: &[u8]) -> Result<Vec<u8>, ffmpeg::FfmpegError> {
    ffmpeg::find()?;
    let dir = ffmpeg::ScratchDir::new()?;
    let input = dir.write("image.in", bytes)?;
    let out = dir.path().join("image.png");
    let mut args = ffmpeg::args(["-i"]);
    args.push(input.into_os_string());
    args.extend(ffmpeg::args(["-frames:v", "1"]));
    args.push(out.as_os_str().to_os_string());
    ffmpeg::run(&args, None, &out)
}

/// One clip, decoded: interleaved samples normalised as libsndfile normalises them.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    pub sample_rate: u32,
    pub channels: u16,
    pub samples: Vec<f64>,
}

impl Clip {
    /// Seconds (`sf.info(...).duration`: frames / rate).
    pub fn duration(&self) -> f64 {
        let frames = self.samples.len() / self.channels.max(1) as usize;
        frames as f64 / self.sample_rate.max(1) as f64
    }

    /// The clip as a 16-bit PCM WAV (`sf.write(..., format="WAV")`'s default subtype).
    pub fn to_wav16(&self) -> Result<Vec<u8>, String> {
        let spec = hound::WavSpec {
            channels: self.channels,
            sample_rate: self.sample_rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let err = |e: hound::Error| format!("wav encoding: {e}");
        let mut cursor = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut cursor, spec).map_err(err)?;
        for s in &self.samples {
            w.write_sample(to_i16(*s)).map_err(err)?;
        }
        w.finalize().map_err(err)?;
        Ok(cursor.into_inner())
    }
}

/// libsndfile's double to 16-bit conversion: `lrint(x * 0x7FFF)` (ties to even), clamped
/// where libsndfile would wrap.
pub fn to_i16(x: f64) -> i16 {
    (x * 32767.0)
        .round_ties_even()
        .clamp(i16::MIN as f64, i16::MAX as f64) as i16
}

/// A WAV file's samples, normalised as libsndfile reads them to double (integers divided by
/// 2^(bits-1), floats as they are).
pub fn decode_wav(bytes: &[u8]) -> Result<Clip, String> {
    let err = |e: hound::Error| format!("wav decoding: {e}");
    let mut r = hound::WavReader::new(Cursor::new(bytes)).map_err(err)?;
    let spec = r.spec();
    let samples = match spec.sample_format {
        hound::SampleFormat::Float => r
            .samples::<f32>()
            .map(|s| s.map(f64::from))
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?,
        hound::SampleFormat::Int => {
            let scale = 2f64.powi(i32::from(spec.bits_per_sample.clamp(1, 32)) - 1);
            r.samples::<i32>()
                .map(|s| s.map(|v| v as f64 / scale))
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?
        }
    };
    Ok(Clip {
        sample_rate: spec.sample_rate,
        channels: spec.channels,
        samples,
    })
}

/// Any audio file's samples: WAV read directly, anything else decoded by ffmpeg to 32-bit PCM
/// (exact for 16- and 24-bit sources such as FLAC).
pub fn decode_audio(bytes: &[u8]) -> Result<Clip, String> {
    if bytes.len() > 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WAVE" {
        if let Ok(clip) = decode_wav(bytes) {
            return Ok(clip);
        }
    }
    let fail = |e: ffmpeg::FfmpegError| format!("audio decoding: {e}");
    let dir = ffmpeg::ScratchDir::new().map_err(fail)?;
    let input = dir.write("audio.in", bytes).map_err(fail)?;
    let out = dir.path().join("audio.wav");
    let mut args = ffmpeg::args(["-i"]);
    args.push(input.into_os_string());
    // Decoding stops just past the longest clip kept: an hour of audio is never expanded.
    let limit = format!("{:.3}", MAX_AUDIO_SECONDS + 0.001);
    args.extend(ffmpeg::args(["-t", limit.as_str()]));
    args.extend(ffmpeg::args(["-vn", "-c:a", "pcm_s32le", "-f", "wav"]));
    args.push(out.as_os_str().to_os_string());
    let wav = ffmpeg::run(&args, None, &out).map_err(fail)?;
    decode_wav(&wav)
}

/// An ASR row's audio (`{bytes, path}`) as AIPerf sends it: `wav,<base64>` of a 16-bit WAV,
/// with the clip's duration. `None` for a row AIPerf skips (no bytes, undecodable, or
/// longer than [`MAX_AUDIO_SECONDS`]).
pub fn asr_audio(value: &Value) -> Option<(String, f64)> {
    let bytes = dict_bytes(value)?;
    let clip = match decode_audio(&bytes) {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!("audio skipped: {e}");
            return None;
        }
    };
    let secs = clip.duration();
    if secs > MAX_AUDIO_SECONDS {
        return None;
    }
    match clip.to_wav16() {
        Ok(wav) => Some((format!("wav,{}", B64.encode(wav)), secs)),
        Err(e) => {
            tracing::debug!("audio skipped: {e}");
            None
        }
    }
}

/// A row's video as AIPerf's `_extract_videos` gives it: URL strings as they are (a bare path
/// becomes a `file://` URL), `{bytes, path}` as a data URI typed by the path's extension.
pub fn video(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(if s.contains("://") || s.starts_with("data:") {
            s.clone()
        } else {
            format!("file://{s}")
        }),
        Value::Object(m) => {
            let bytes = dict_bytes(value)?;
            let path = m.get("path").and_then(Value::as_str).unwrap_or("");
            Some(format!(
                "data:{};base64,{}",
                video_mime(path),
                B64.encode(bytes)
            ))
        }
        _ => None,
    }
}

/// Python's `mimetypes.guess_type` for common video extensions, else `video/mp4`.
fn video_mime(path: &str) -> &'static str {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "webm" => "video/webm",
        "mov" | "qt" => "video/quicktime",
        "avi" => "video/x-msvideo",
        "mkv" => "video/x-matroska",
        "mpeg" | "mpg" | "mpe" => "video/mpeg",
        "ogv" => "video/ogg",
        "flv" => "video/x-flv",
        "wmv" => "video/x-ms-wmv",
        _ => "video/mp4",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bin(bytes: &[u8]) -> Value {
        json!({ rows::BINARY_KEY: B64.encode(bytes) })
    }

    fn png_2x1() -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, 2, 1);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&[255, 0, 0, 10, 0, 0, 255, 255])
            .unwrap();
        w.finish().unwrap();
        out
    }

    #[test]
    fn jpeg_passes_through_and_png_becomes_jpeg() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3];
        let uri = image(&json!({"bytes": bin(&jpeg), "path": "a.jpg"})).unwrap();
        assert_eq!(uri, format!("data:image/jpeg;base64,{}", B64.encode(jpeg)));
        // A list: the first image that decodes wins; garbage and path-only entries are skipped.
        let list = json!([
            {"bytes": null, "path": "only.png"},
            {"bytes": bin(b"not an image"), "path": "x"},
            {"bytes": bin(&png_2x1()), "path": "b.png"}
        ]);
        let uri = image(&list).unwrap();
        let b64 = uri.strip_prefix("data:image/jpeg;base64,").unwrap();
        let out = B64.decode(b64).unwrap();
        assert_eq!(&out[..2], &[0xFF, 0xD8]);
        // SOF0 says 2x1, 3 components, each sampled 1x1 (4:4:4, as PIL's subsampling=0).
        let sof = out.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        assert_eq!(&out[sof + 5..sof + 10], &[0, 1, 0, 2, 3]);
        assert_eq!(out[sof + 11], 0x11);
        assert_eq!(image(&json!([{"bytes": null, "path": "p"}])), None);
        assert_eq!(image(&Value::Null), None);
    }

    #[test]
    fn wav_is_rewritten_as_16_bit_as_libsndfile_does() {
        // 16-bit: small samples survive; the extremes shrink as lrint(s / 32768 * 32767).
        assert_eq!(to_i16(1000.0 / 32768.0), 1000);
        assert_eq!(to_i16(32767.0 / 32768.0), 32766);
        assert_eq!(to_i16(-1.0), -32767);
        assert_eq!(to_i16(16384.5 / 32767.0), 16384); // ties to even
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut c = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut c, spec).unwrap();
        for s in [0i16, 1000, -1000, 32767, -32768] {
            w.write_sample(s).unwrap();
        }
        w.finalize().unwrap();
        let (uri, secs) =
            asr_audio(&json!({"bytes": bin(&c.into_inner()), "path": "a.wav"})).unwrap();
        assert_eq!(secs, 5.0 / 8000.0);
        let wav = B64.decode(uri.strip_prefix("wav,").unwrap()).unwrap();
        let mut r = hound::WavReader::new(Cursor::new(wav)).unwrap();
        assert_eq!(r.spec(), spec);
        let got: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
        assert_eq!(got, vec![0, 1000, -1000, 32766, -32767]);
    }

    /// FLAC (LibriSpeech's format) through ffmpeg keeps 16-bit samples exactly; a GIF becomes
    /// a JPEG. Passes with a message when ffmpeg is absent.
    #[test]
    fn other_formats_go_through_ffmpeg() {
        if ffmpeg::find().is_err() {
            eprintln!("ffmpeg not on PATH: FLAC/GIF decoding not checked");
            return;
        }
        let dir = ffmpeg::ScratchDir::new().unwrap();
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 16000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut c = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut c, spec).unwrap();
        let samples: Vec<i16> = (0..200).map(|i| (i * 97 % 2000 - 1000) as i16).collect();
        for s in &samples {
            w.write_sample(*s).unwrap();
        }
        w.finalize().unwrap();
        let wav_in = dir.write("in.wav", &c.into_inner()).unwrap();
        let flac = dir.path().join("out.flac");
        let mut args = ffmpeg::args(["-i"]);
        args.push(wav_in.into_os_string());
        args.push(flac.as_os_str().to_os_string());
        let flac_bytes = ffmpeg::run(&args, None, &flac).unwrap();
        let (uri, secs) = asr_audio(&json!({"bytes": bin(&flac_bytes), "path": "a.flac"})).unwrap();
        assert_eq!(secs, 100.0 / 16000.0);
        let wav = B64.decode(uri.strip_prefix("wav,").unwrap()).unwrap();
        let mut r = hound::WavReader::new(Cursor::new(wav)).unwrap();
        assert_eq!(r.spec(), spec);
        let got: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
        assert_eq!(got, samples);

        let png = png_2x1();
        let png_in = dir.write("in.png", &png).unwrap();
        let gif = dir.path().join("out.gif");
        let mut args = ffmpeg::args(["-i"]);
        args.push(png_in.into_os_string());
        args.push(gif.as_os_str().to_os_string());
        let gif_bytes = ffmpeg::run(&args, None, &gif).unwrap();
        let uri = image_uri(&gif_bytes).unwrap();
        let out = B64
            .decode(uri.strip_prefix("data:image/jpeg;base64,").unwrap())
            .unwrap();
        assert_eq!(&out[..2], &[0xFF, 0xD8]);
    }

    #[test]
    fn long_or_missing_audio_is_skipped() {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 100,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut c = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut c, spec).unwrap();
        for _ in 0..3001 {
            w.write_sample(0i16).unwrap();
        }
        w.finalize().unwrap();
        assert_eq!(asr_audio(&json!({"bytes": bin(&c.into_inner())})), None);
        assert_eq!(asr_audio(&json!({"bytes": null, "path": "x.flac"})), None);
        assert_eq!(asr_audio(&json!("x.wav")), None);
    }

    #[test]
    fn videos_are_urls_or_data_uris() {
        assert_eq!(
            video(&json!("https://h/v.mp4")).as_deref(),
            Some("https://h/v.mp4")
        );
        assert_eq!(
            video(&json!("videos/a.mp4")).as_deref(),
            Some("file://videos/a.mp4")
        );
        assert_eq!(
            video(&json!({"bytes": bin(b"abc"), "path": "x.webm"})).as_deref(),
            Some("data:video/webm;base64,YWJj")
        );
        assert_eq!(
            video(&json!({"bytes": bin(b"abc"), "path": null})).as_deref(),
            Some("data:video/mp4;base64,YWJj")
        );
        assert_eq!(video(&json!("")), None);
    }
}
