//! Synthetic images and audio for multimodal requests (AIPerf's `--image-*` and `--audio-*`
//! flags): random-noise pixels, or source images (the bundled assets or a directory's files)
//! resized to the drawn size, encoded as PNG or JPEG data URIs; random-noise PCM encoded as
//! WAV (or MP3 through ffmpeg) in AIPerf's `"wav,<base64>"` form. Sizes, durations, sample
//! rates, depths and source images are drawn per item from seeded streams, so the same seed
//! gives the same bytes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;

use crate::ffmpeg;
use crate::rng::Rng;

/// The bundled source images of `--image-source assets`, in sorted name order (made by
/// `assets/images/make_images.py`).
const ASSETS: [(&str, &[u8]); 4] = [
    ("rings.png", include_bytes!("../assets/images/rings.png")),
    (
        "stripes.png",
        include_bytes!("../assets/images/stripes.png"),
    ),
    ("sunset.png", include_bytes!("../assets/images/sunset.png")),
    ("tiles.png", include_bytes!("../assets/images/tiles.png")),
];

/// File extensions taken as images in an `--image-source` directory (the common ones PIL
/// opens). PNG is decoded here; the others through ffmpeg.
const IMAGE_EXTENSIONS: [&str; 12] = [
    "png", "jpg", "jpeg", "jpe", "jfif", "webp", "bmp", "gif", "tif", "tiff", "ppm", "tga",
];

/// `--image-source`: where image pixels come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageSource {
    /// Random pixels at the drawn size.
    Noise,
    /// The four bundled images.
    Assets,
    /// The image files of a directory, indexed (sorted by path) when the flags are checked.
    Dir {
        dir: PathBuf,
        files: Arc<Vec<PathBuf>>,
    },
}

impl ImageSource {
    /// The image files of `dir`, sorted, or why it cannot be used.
    pub fn index_dir(dir: &Path) -> Result<Self, String> {
        if !dir.exists() {
            return Err(format!("the directory '{}' does not exist", dir.display()));
        }
        if !dir.is_dir() {
            return Err(format!("'{}' is not a directory", dir.display()));
        }
        let entries = std::fs::read_dir(dir).map_err(|e| format!("'{}': {e}", dir.display()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && is_image_name(p))
            .collect();
        if files.is_empty() {
            return Err(format!(
                "no source images found in '{}' (expected files named *.{})",
                dir.display(),
                IMAGE_EXTENSIONS.join(", *.")
            ));
        }
        files.sort();
        Ok(Self::Dir {
            dir: dir.to_path_buf(),
            files: Arc::new(files),
        })
    }

    /// How many images there are to choose from (0 for noise).
    pub fn len(&self) -> usize {
        match self {
            Self::Noise => 0,
            Self::Assets => ASSETS.len(),
            Self::Dir { files, .. } => files.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether some source image can only be decoded by ffmpeg (anything but PNG).
    pub fn needs_ffmpeg(&self) -> bool {
        match self {
            Self::Dir { files, .. } => files.iter().any(|f| !is_png_name(f)),
            _ => false,
        }
    }
}

fn extension(p: &Path) -> String {
    p.extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

fn is_image_name(p: &Path) -> bool {
    IMAGE_EXTENSIONS.contains(&extension(p).as_str())
}

fn is_png_name(p: &Path) -> bool {
    extension(p) == "png"
}

/// `--image-source-sampling`: which source image the next image is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSampling {
    /// Each image drawn independently; repeats may come at once.
    RandomWithReplacement,
    /// Every source once per shuffled cycle, reshuffled when the cycle is used up.
    ShuffleCycle,
    /// Sources in sorted order, wrapping around.
    SequentialCycle,
}

impl ImageSampling {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "random-with-replacement" => Some(Self::RandomWithReplacement),
            "shuffle-cycle" => Some(Self::ShuffleCycle),
            "sequential-cycle" => Some(Self::SequentialCycle),
            _ => None,
        }
    }
}

/// The sampling state of one dataset's source images (AIPerf's `dataset.image.source`
/// stream); make one per dataset with [`ImageConfig::picker`].
pub struct ImagePicker {
    rng: Rng,
    sampling: ImageSampling,
    count: usize,
    /// The rest of the current shuffled cycle, taken from the end.
    cycle: Vec<usize>,
    next: usize,
}

impl ImagePicker {
    /// The index of the next source image.
    fn pick(&mut self) -> usize {
        let n = self.count.max(1);
        match self.sampling {
            ImageSampling::RandomWithReplacement => self.rng.below(n as u64) as usize,
            ImageSampling::SequentialCycle => {
                let k = self.next % n;
                self.next = k + 1;
                k
            }
            ImageSampling::ShuffleCycle => {
                if self.cycle.is_empty() {
                    self.cycle = (0..n).collect();
                    for i in (1..n).rev() {
                        let j = self.rng.below(i as u64 + 1) as usize;
                        self.cycle.swap(i, j);
                    }
                }
                self.cycle.pop().unwrap_or(0)
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Jpeg,
    /// PNG or JPEG, drawn per image.
    Random,
}

impl ImageFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "png" => Some(Self::Png),
            "jpeg" | "jpg" => Some(Self::Jpeg),
            "random" => Some(Self::Random),
            _ => None,
        }
    }
}

/// `--image-width-mean` and friends.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageConfig {
    pub width_mean: f64,
    pub width_stddev: f64,
    pub height_mean: f64,
    pub height_stddev: f64,
    /// Images per turn (`--image-batch-size`).
    pub batch: usize,
    pub format: ImageFormat,
    pub source: ImageSource,
    pub sampling: ImageSampling,
}

/// `--audio-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioFormat {
    Wav,
    /// Encoded by ffmpeg (libmp3lame); only the sample rates MP3 has.
    Mp3,
}

impl AudioFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "wav" => Some(Self::Wav),
            "mp3" => Some(Self::Mp3),
            _ => None,
        }
    }
}

/// The sample rates (Hz) an MP3 can have, as AIPerf allows them.
pub const MP3_SAMPLE_RATES_HZ: [u32; 9] =
    [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];

/// `--audio-length-mean` and friends.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioConfig {
    /// Seconds.
    pub length_mean: f64,
    pub length_stddev: f64,
    /// kHz, one drawn per clip.
    pub sample_rates_khz: Vec<f64>,
    /// Bits per sample (8, 16, 24 or 32), one drawn per clip.
    pub depths: Vec<u16>,
    pub channels: u16,
    /// Clips per turn (`--audio-batch-size`).
    pub batch: usize,
    pub format: AudioFormat,
}

/// Where one image's pixels come from.
#[derive(Debug, Clone)]
enum Pixels {
    Noise(u64),
    Asset(usize),
    File(PathBuf),
}

/// What to draw for one image, decided in entry order so encoding can run on any core.
#[derive(Debug, Clone)]
pub struct ImagePlan {
    width: u32,
    height: u32,
    jpeg: bool,
    pixels: Pixels,
}

/// What to draw for one audio clip.
#[derive(Debug, Clone, Copy)]
pub struct AudioPlan {
    samples: u32,
    sample_rate: u32,
    depth: u16,
    channels: u16,
    seed: u64,
    format: AudioFormat,
}

impl ImageConfig {
    /// The source-image sampling state for one dataset built with `seed`.
    pub fn picker(&self, seed: u64) -> ImagePicker {
        ImagePicker {
            rng: Rng::derive(seed, "dataset.image.source"),
            sampling: self.sampling,
            count: self.source.len(),
            cycle: Vec::new(),
            next: 0,
        }
    }

    /// One image: size and format from `rng`, the source image from `picker`.
    pub fn plan_with(&self, rng: &mut Rng, picker: &mut ImagePicker) -> ImagePlan {
        let mut plan = self.plan(rng);
        plan.pixels = match &self.source {
            ImageSource::Noise => plan.pixels,
            ImageSource::Assets => Pixels::Asset(picker.pick()),
            ImageSource::Dir { files, .. } => {
                Pixels::File(files[picker.pick() % files.len()].clone())
            }
        };
        plan
    }

    /// One image with random pixels (source images drawn with replacement from `rng`; use
    /// [`Self::plan_with`] for the other samplings).
    pub fn plan(&self, rng: &mut Rng) -> ImagePlan {
        let width = rng.positive_normal_integer(self.width_mean, self.width_stddev);
        let height = rng.positive_normal_integer(self.height_mean, self.height_stddev);
        let jpeg = match self.format {
            ImageFormat::Png => false,
            ImageFormat::Jpeg => true,
            ImageFormat::Random => rng.below(2) == 1,
        };
        let seed = rng.next_u64();
        let pixels = match &self.source {
            ImageSource::Noise => Pixels::Noise(seed),
            ImageSource::Assets => Pixels::Asset(seed as usize % ASSETS.len()),
            ImageSource::Dir { files, .. } => {
                Pixels::File(files[seed as usize % files.len()].clone())
            }
        };
        ImagePlan {
            width: width.min(u16::MAX as u32),
            height: height.min(u16::MAX as u32),
            jpeg,
            pixels,
        }
    }
}

impl AudioConfig {
    pub fn plan(&self, rng: &mut Rng) -> AudioPlan {
        // A positive duration: N(mean, stddev) redrawn while <= 0 (at most 100 tries).
        let mut secs = self.length_mean;
        for _ in 0..100 {
            secs = self.length_mean + self.length_stddev * rng.standard_normal();
            if secs > 0.0 || self.length_stddev <= 0.0 {
                break;
            }
        }
        let pick = |rng: &mut Rng, n: usize| rng.below(n.max(1) as u64) as usize;
        let khz = self
            .sample_rates_khz
            .get(pick(rng, self.sample_rates_khz.len()))
            .copied()
            .unwrap_or(16.0);
        let depth = self
            .depths
            .get(pick(rng, self.depths.len()))
            .copied()
            .unwrap_or(16);
        let sample_rate = (khz * 1000.0).round().max(1.0) as u32;
        AudioPlan {
            samples: (secs.max(0.001) * sample_rate as f64).round() as u32,
            sample_rate,
            depth,
            channels: self.channels.max(1),
            seed: rng.next_u64(),
            format: self.format,
        }
    }
}

/// Random bytes from a seed (splitmix64), for pixel and sample noise.
pub(crate) fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 8);
    let mut x = seed;
    while out.len() < n {
        x = crate::rng::splitmix(x);
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}

impl ImagePlan {
    /// The RGB pixels of the image at its drawn size.
    fn rgb(&self) -> Result<Vec<u8>, String> {
        let (w, h) = (self.width, self.height);
        match &self.pixels {
            Pixels::Noise(seed) => Ok(noise(*seed, (w * h * 3) as usize)),
            Pixels::Asset(k) => {
                let (name, bytes) = ASSETS[k % ASSETS.len()];
                let (sw, sh, px) = decode_png(bytes).map_err(|e| format!("{name}: {e}"))?;
                Ok(resize(&px, sw, sh, w, h))
            }
            Pixels::File(path) if is_png_name(path) => {
                let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
                let (sw, sh, px) =
                    decode_png(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
                Ok(resize(&px, sw, sh, w, h))
            }
            Pixels::File(path) => decode_with_ffmpeg(path, w, h),
        }
    }

    /// The encoded image as a `data:image/...;base64,` URI.
    pub fn encode(&self) -> Result<String, String> {
        let (w, h) = (self.width, self.height);
        let pixels = self.rgb()?;
        let mut bytes = Vec::new();
        if self.jpeg {
            jpeg_encoder::Encoder::new(&mut bytes, 85)
                .encode(&pixels, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
                .map_err(|e| format!("jpeg encoding: {e}"))?;
        } else {
            let mut enc = png::Encoder::new(&mut bytes, w, h);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut writer = enc
                .write_header()
                .map_err(|e| format!("png encoding: {e}"))?;
            writer
                .write_image_data(&pixels)
                .map_err(|e| format!("png encoding: {e}"))?;
            writer.finish().map_err(|e| format!("png encoding: {e}"))?;
        }
        let mime = if self.jpeg { "jpeg" } else { "png" };
        Ok(format!(
            "data:image/{mime};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ))
    }
}

/// A PNG's width, height and 8-bit RGB pixels (grey, palette and alpha images converted; alpha
/// dropped, as PIL's `convert("RGB")`). The png crate's default limits refuse absurd sizes.
fn decode_png(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), String> {
    let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
    dec.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = dec.read_info().map_err(|e| format!("png decoding: {e}"))?;
    let size = reader
        .output_buffer_size()
        .ok_or("png decoding: image too large")?;
    let mut buf = vec![0; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("png decoding: {e}"))?;
    buf.truncate(info.buffer_size());
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err("png decoding: unexpanded palette".into()),
    };
    let rgb = buf
        .chunks_exact(channels)
        .flat_map(|p| match channels {
            1 | 2 => [p[0], p[0], p[0]],
            _ => [p[0], p[1], p[2]],
        })
        .collect();
    Ok((info.width, info.height, rgb))
}

/// A non-PNG source image decoded and resized (bicubic) by ffmpeg.
fn decode_with_ffmpeg(path: &Path, w: u32, h: u32) -> Result<Vec<u8>, String> {
    let fail = |e: ffmpeg::FfmpegError| format!("{}: {e}", path.display());
    let dir = ffmpeg::ScratchDir::new().map_err(fail)?;
    let out = dir.path().join("image.rgb");
    let mut args = ffmpeg::args(["-i"]);
    args.push(path.as_os_str().to_os_string());
    args.extend(ffmpeg::args([
        "-frames:v".to_string(),
        "1".into(),
        "-vf".into(),
        format!("scale={w}:{h}:flags=bicubic"),
        "-f".into(),
        "rawvideo".into(),
        "-pix_fmt".into(),
        "rgb24".into(),
    ]));
    args.push(out.as_os_str().to_os_string());
    let px = ffmpeg::run(&args, None, &out).map_err(fail)?;
    if px.len() != (w * h * 3) as usize {
        return Err(format!(
            "{}: ffmpeg gave {} bytes for a {w}x{h} image",
            path.display(),
            px.len()
        ));
    }
    Ok(px)
}

/// PIL's bicubic kernel (a = -0.5).
fn bicubic(x: f64) -> f64 {
    let (a, x) = (-0.5, x.abs());
    if x < 1.0 {
        ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * a
    } else {
        0.0
    }
}

/// For each output index along an axis of `src` -> `dst` samples: the first input index and
/// the normalised weights, with the kernel widened when shrinking (PIL's antialiasing).
fn axis_weights(src: u32, dst: u32) -> Vec<(usize, Vec<f64>)> {
    let scale = src as f64 / dst as f64;
    let stretch = scale.max(1.0);
    let support = 2.0 * stretch;
    (0..dst)
        .map(|i| {
            let centre = (i as f64 + 0.5) * scale;
            let lo = ((centre - support).floor().max(0.0)) as usize;
            let hi = ((centre + support).ceil() as usize).min(src as usize);
            let mut w: Vec<f64> = (lo..hi)
                .map(|j| bicubic((j as f64 + 0.5 - centre) / stretch))
                .collect();
            let sum: f64 = w.iter().sum();
            if sum != 0.0 {
                w.iter_mut().for_each(|x| *x /= sum);
            }
            (lo, w)
        })
        .collect()
}

/// `src` (`sw` x `sh` RGB) resized to `dw` x `dh`, separably: rows, then columns.
fn resize(src: &[u8], sw: u32, sh: u32, dw: u32, dh: u32) -> Vec<u8> {
    if (sw, sh) == (dw, dh) {
        return src.to_vec();
    }
    let (xs, ys) = (axis_weights(sw, dw), axis_weights(sh, dh));
    let mut wide = vec![0f64; dw as usize * sh as usize * 3];
    for y in 0..sh as usize {
        for (x, (lo, w)) in xs.iter().enumerate() {
            for c in 0..3 {
                wide[(y * dw as usize + x) * 3 + c] = w
                    .iter()
                    .enumerate()
                    .map(|(k, wk)| wk * src[(y * sw as usize + lo + k) * 3 + c] as f64)
                    .sum();
            }
        }
    }
    let mut out = vec![0u8; dw as usize * dh as usize * 3];
    for (y, (lo, w)) in ys.iter().enumerate() {
        for x in 0..dw as usize {
            for c in 0..3 {
                let v: f64 = w
                    .iter()
                    .enumerate()
                    .map(|(k, wk)| wk * wide[((lo + k) * dw as usize + x) * 3 + c])
                    .sum();
                out[(y * dw as usize + x) * 3 + c] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

impl AudioPlan {
    /// The encoded clip as `"wav,<base64>"` or `"mp3,<base64>"`.
    pub fn encode(&self) -> Result<String, String> {
        let wav = self.wav()?;
        match self.format {
            AudioFormat::Wav => Ok(format!(
                "wav,{}",
                base64::engine::general_purpose::STANDARD.encode(wav)
            )),
            AudioFormat::Mp3 => {
                let mp3 = wav_to_mp3(&wav).map_err(|e| format!("mp3 encoding: {e}"))?;
                Ok(format!(
                    "mp3,{}",
                    base64::engine::general_purpose::STANDARD.encode(mp3)
                ))
            }
        }
    }

    fn wav(&self) -> Result<Vec<u8>, String> {
        let spec = hound::WavSpec {
            channels: self.channels,
            sample_rate: self.sample_rate,
            bits_per_sample: self.depth,
            sample_format: hound::SampleFormat::Int,
        };
        let n = self.samples as usize * self.channels as usize;
        let raw = noise(self.seed, n * 4);
        let mut cursor = std::io::Cursor::new(Vec::new());
        {
            let err = |e: hound::Error| format!("wav encoding: {e}");
            let mut w = hound::WavWriter::new(&mut cursor, spec).map_err(err)?;
            for i in 0..n {
                let v = i32::from_le_bytes([
                    raw[4 * i],
                    raw[4 * i + 1],
                    raw[4 * i + 2],
                    raw[4 * i + 3],
                ]);
                // Quiet noise (1/8 of full scale) at the clip's depth.
                let s = match self.depth {
                    8 => (v >> 27) as i8 as i32,
                    16 => (v >> 19) as i16 as i32,
                    24 => v >> 11,
                    _ => v >> 3,
                };
                w.write_sample(s).map_err(err)?;
            }
            w.finalize().map_err(err)?;
        }
        Ok(cursor.into_inner())
    }
}

/// A WAV file re-encoded as MP3 by ffmpeg's default MP3 encoder.
fn wav_to_mp3(wav: &[u8]) -> Result<Vec<u8>, ffmpeg::FfmpegError> {
    let dir = ffmpeg::ScratchDir::new()?;
    let input = dir.write("audio.wav", wav)?;
    let out = dir.path().join("audio.mp3");
    let mut args = ffmpeg::args(["-i"]);
    args.push(input.into_os_string());
    args.extend(ffmpeg::args(["-f", "mp3"]));
    args.push(out.as_os_str().to_os_string());
    ffmpeg::run(&args, None, &out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn decode(b64: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    }

    #[test]
    fn images_decode_to_the_drawn_size_and_format() {
        let cfg = ImageConfig {
            width_mean: 40.0,
            width_stddev: 0.0,
            height_mean: 24.0,
            height_stddev: 0.0,
            batch: 1,
            format: ImageFormat::Png,
            source: ImageSource::Noise,
            sampling: ImageSampling::RandomWithReplacement,
        };
        let mut rng = Rng::derive(1, "img");
        let uri = cfg.plan(&mut rng).encode().unwrap();
        let b64 = uri.strip_prefix("data:image/png;base64,").unwrap();
        let dec = png::Decoder::new(std::io::Cursor::new(decode(b64)));
        let reader = dec.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (40, 24));
        let jpeg = ImageConfig {
            format: ImageFormat::Jpeg,
            ..cfg.clone()
        };
        let uri = jpeg.plan(&mut rng).encode().unwrap();
        let bytes = decode(uri.strip_prefix("data:image/jpeg;base64,").unwrap());
        assert_eq!(&bytes[..2], &[0xFF, 0xD8], "JPEG SOI marker");
        // Same seed, same bytes; sizes vary with a stddev.
        let a = cfg.plan(&mut Rng::derive(5, "img")).encode().unwrap();
        let b = cfg.plan(&mut Rng::derive(5, "img")).encode().unwrap();
        assert_eq!(a, b);
        let varied = ImageConfig {
            width_stddev: 10.0,
            ..cfg
        };
        let mut r = Rng::derive(2, "img");
        let widths: std::collections::HashSet<u32> =
            (0..20).map(|_| varied.plan(&mut r).width).collect();
        assert!(widths.len() > 3, "{widths:?}");
    }

    #[test]
    fn audio_is_a_wav_of_the_drawn_length_rate_and_depth() {
        let cfg = AudioConfig {
            length_mean: 0.5,
            length_stddev: 0.0,
            sample_rates_khz: vec![8.0],
            depths: vec![16],
            channels: 2,
            batch: 1,
            format: AudioFormat::Wav,
        };
        let clip = cfg.plan(&mut Rng::derive(1, "aud")).encode().unwrap();
        let bytes = decode(clip.strip_prefix("wav,").unwrap());
        let r = hound::WavReader::new(std::io::Cursor::new(bytes)).unwrap();
        let spec = r.spec();
        assert_eq!(
            (spec.sample_rate, spec.bits_per_sample, spec.channels),
            (8000, 16, 2)
        );
        assert_eq!(r.duration(), 4000, "0.5 s at 8 kHz");
    }

    fn sourced(source: ImageSource, sampling: ImageSampling) -> ImageConfig {
        ImageConfig {
            width_mean: 40.0,
            width_stddev: 0.0,
            height_mean: 30.0,
            height_stddev: 0.0,
            batch: 1,
            format: ImageFormat::Png,
            source,
            sampling,
        }
    }

    fn picks(cfg: &ImageConfig, n: usize) -> Vec<usize> {
        let mut picker = cfg.picker(7);
        (0..n).map(|_| picker.pick()).collect()
    }

    #[test]
    fn sampling_orders() {
        let seq = sourced(ImageSource::Assets, ImageSampling::SequentialCycle);
        assert_eq!(picks(&seq, 6), [0, 1, 2, 3, 0, 1]);
        let shuffle = sourced(ImageSource::Assets, ImageSampling::ShuffleCycle);
        let p = picks(&shuffle, 12);
        for cycle in p.chunks(4) {
            let mut c = cycle.to_vec();
            c.sort();
            assert_eq!(c, [0, 1, 2, 3], "each cycle visits every image once: {p:?}");
        }
        assert_ne!(p[..4], p[4..8], "reshuffled (seed 7): {p:?}");
        let random = sourced(ImageSource::Assets, ImageSampling::RandomWithReplacement);
        let p = picks(&random, 40);
        assert!(p.iter().all(|&k| k < 4));
        assert!(
            p.windows(4).any(|w| {
                let mut c = w.to_vec();
                c.sort();
                c.dedup();
                c.len() < 4
            }),
            "repeats within four draws happen: {p:?}"
        );
        assert_eq!(p, picks(&random, 40), "same seed, same draws");
    }

    #[test]
    fn assets_are_resized_to_the_drawn_size() {
        let cfg = sourced(ImageSource::Assets, ImageSampling::SequentialCycle);
        let mut picker = cfg.picker(1);
        let mut rng = Rng::derive(1, "img");
        for k in 0..4 {
            let plan = cfg.plan_with(&mut rng, &mut picker);
            assert!(matches!(plan.pixels, Pixels::Asset(i) if i == k));
            let uri = plan.encode().unwrap();
            let bytes = decode(uri.strip_prefix("data:image/png;base64,").unwrap());
            let reader = png::Decoder::new(std::io::Cursor::new(bytes))
                .read_info()
                .unwrap();
            assert_eq!((reader.info().width, reader.info().height), (40, 30));
        }
    }

    #[test]
    fn resize_keeps_flat_colours_and_halves_a_checker_to_grey() {
        let red: Vec<u8> = [200, 10, 30].repeat(8 * 6);
        assert_eq!(resize(&red, 8, 6, 3, 5), [200, 10, 30].repeat(15));
        // A 1-pixel black/white checker shrunk 4x averages to mid grey.
        let checker: Vec<u8> = (0..16 * 16)
            .flat_map(|i| {
                let v = if (i % 16 + i / 16) % 2 == 0 { 255 } else { 0 };
                [v, v, v]
            })
            .collect();
        let small = resize(&checker, 16, 16, 4, 4);
        assert!(small.iter().all(|&v| (120..=135).contains(&v)), "{small:?}");
        // Upscaling a two-pixel ramp keeps the ends near their values and is monotonic.
        let ramp = [0, 0, 0, 200, 200, 200];
        let big = resize(&ramp, 2, 1, 8, 1);
        let reds: Vec<u8> = big.chunks(3).map(|p| p[0]).collect();
        assert!(reds.windows(2).all(|w| w[0] <= w[1]), "{reds:?}");
        assert!(reds[0] < 10 && reds[7] > 190, "{reds:?}");
    }

    #[test]
    fn a_directory_lists_its_images_sorted_and_refuses_none() {
        let dir = crate::ffmpeg::ScratchDir::new().unwrap();
        for name in ["b.png", "a.PNG", "notes.txt", "c.jpg"] {
            dir.write(name, ASSETS[0].1).unwrap();
        }
        let src = ImageSource::index_dir(dir.path()).unwrap();
        let ImageSource::Dir { files, .. } = &src else {
            panic!("{src:?}")
        };
        let names: Vec<_> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.PNG", "b.png", "c.jpg"]);
        assert!(src.needs_ffmpeg(), "c.jpg");
        let empty = crate::ffmpeg::ScratchDir::new().unwrap();
        let err = ImageSource::index_dir(empty.path()).unwrap_err();
        assert!(err.starts_with("no source images found in '"), "{err}");
        let missing = ImageSource::index_dir(&empty.path().join("nope")).unwrap_err();
        assert!(missing.ends_with("/nope' does not exist"), "{missing}");
        // A PNG in the directory is read and resized without ffmpeg.
        let only_png = crate::ffmpeg::ScratchDir::new().unwrap();
        only_png.write("x.png", ASSETS[2].1).unwrap();
        let cfg = sourced(
            ImageSource::index_dir(only_png.path()).unwrap(),
            ImageSampling::SequentialCycle,
        );
        let mut picker = cfg.picker(1);
        let uri = cfg
            .plan_with(&mut Rng::derive(1, "img"), &mut picker)
            .encode()
            .unwrap();
        assert!(uri.starts_with("data:image/png;base64,"));
    }

    #[test]
    fn mp3_goes_through_ffmpeg() {
        if crate::ffmpeg::find().is_err() {
            eprintln!("skipped: ffmpeg is not on PATH");
            return;
        }
        let cfg = AudioConfig {
            length_mean: 0.5,
            length_stddev: 0.0,
            sample_rates_khz: vec![16.0],
            depths: vec![16],
            channels: 1,
            batch: 1,
            format: AudioFormat::Mp3,
        };
        let clip = cfg.plan(&mut Rng::derive(1, "aud")).encode().unwrap();
        let bytes = decode(clip.strip_prefix("mp3,").unwrap());
        // An ID3 tag or an MPEG frame sync.
        assert!(bytes.starts_with(b"ID3") || (bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0));
    }
}
