//! Synthetic images and audio for multimodal requests (AIPerf's `--image-*` and `--audio-*`
//! flags): random-noise pixels encoded as PNG or JPEG data URIs, random-noise PCM encoded as
//! WAV in AIPerf's `"wav,<base64>"` form. Sizes, durations, sample rates and depths are drawn
//! per item from seeded streams, so the same seed gives the same bytes.

use base64::Engine;

use crate::rng::Rng;

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
}

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
}

/// What to draw for one image, decided in entry order so encoding can run on any core.
#[derive(Debug, Clone, Copy)]
pub struct ImagePlan {
    width: u32,
    height: u32,
    jpeg: bool,
    seed: u64,
}

/// What to draw for one audio clip.
#[derive(Debug, Clone, Copy)]
pub struct AudioPlan {
    samples: u32,
    sample_rate: u32,
    depth: u16,
    channels: u16,
    seed: u64,
}

impl ImageConfig {
    pub fn plan(&self, rng: &mut Rng) -> ImagePlan {
        let width = rng.positive_normal_integer(self.width_mean, self.width_stddev);
        let height = rng.positive_normal_integer(self.height_mean, self.height_stddev);
        let jpeg = match self.format {
            ImageFormat::Png => false,
            ImageFormat::Jpeg => true,
            ImageFormat::Random => rng.below(2) == 1,
        };
        ImagePlan {
            width: width.min(u16::MAX as u32),
            height: height.min(u16::MAX as u32),
            jpeg,
            seed: rng.next_u64(),
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
        }
    }
}

/// Random bytes from a seed (splitmix64), for pixel and sample noise.
fn noise(seed: u64, n: usize) -> Vec<u8> {
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
    /// The encoded image as a `data:image/...;base64,` URI.
    pub fn encode(&self) -> Result<String, String> {
        let (w, h) = (self.width, self.height);
        let pixels = noise(self.seed, (w * h * 3) as usize);
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

impl AudioPlan {
    /// The encoded clip as `"wav,<base64>"`.
    pub fn encode(&self) -> Result<String, String> {
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
        Ok(format!(
            "wav,{}",
            base64::engine::general_purpose::STANDARD.encode(cursor.into_inner())
        ))
    }
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
}
