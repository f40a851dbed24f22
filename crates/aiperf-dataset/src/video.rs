//! Synthetic video for multimodal requests (AIPerf's `--video-*` flags): frames drawn here
//! (`moving_shapes`, `grid_clock` or `noise`, the pictures AIPerf draws) and piped as raw RGB to
//! an `ffmpeg` found on `PATH`, which encodes them (VP9 in WebM by default) with the arguments
//! AIPerf passes, optionally muxing a Gaussian-noise audio track. Each clip is sent as a
//! `data:video/<format>;base64,` URI in a `video_url` part.
//!
//! Frames are streamed to ffmpeg one at a time, so memory holds one frame whatever the
//! duration; the shapes and the clock are the same in every clip (as in AIPerf), the noise
//! frames and the audio track come from per-clip seeds.

use std::ffi::OsString;
use std::io::Write;

use base64::Engine;

use crate::ffmpeg::{self, ScratchDir};
use crate::rng::Rng;

/// `--video-synth-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoSynthType {
    MovingShapes,
    GridClock,
    Noise,
}

impl VideoSynthType {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "moving_shapes" => Some(Self::MovingShapes),
            "grid_clock" => Some(Self::GridClock),
            "noise" => Some(Self::Noise),
            _ => None,
        }
    }

    /// The flag's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::MovingShapes => "moving_shapes",
            Self::GridClock => "grid_clock",
            Self::Noise => "noise",
        }
    }
}

/// `--video-format`: the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoFormat {
    Webm,
    Mp4,
}

impl VideoFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "webm" => Some(Self::Webm),
            "mp4" => Some(Self::Mp4),
            _ => None,
        }
    }

    /// The ffmpeg muxer, file extension and MIME subtype (all the same word).
    pub fn name(self) -> &'static str {
        match self {
            Self::Webm => "webm",
            Self::Mp4 => "mp4",
        }
    }

    /// AIPerf's audio codec for the container when `--video-audio-codec` is not given.
    pub fn default_audio_codec(self) -> VideoAudioCodec {
        match self {
            Self::Webm => VideoAudioCodec::Libvorbis,
            Self::Mp4 => VideoAudioCodec::Libopus,
        }
    }
}

/// `--video-audio-codec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoAudioCodec {
    Aac,
    Libvorbis,
    Libopus,
}

impl VideoAudioCodec {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "aac" => Some(Self::Aac),
            "libvorbis" => Some(Self::Libvorbis),
            "libopus" => Some(Self::Libopus),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Aac => "aac",
            Self::Libvorbis => "libvorbis",
            Self::Libopus => "libopus",
        }
    }
}

/// The audio track muxed into every clip (`--video-audio-num-channels` > 0).
#[derive(Debug, Clone, PartialEq)]
pub struct VideoAudio {
    pub sample_rate_hz: u32,
    /// 1 or 2.
    pub channels: u16,
    /// 8, 16, 24 or 32 bits.
    pub depth: u16,
    pub codec: VideoAudioCodec,
}

/// `--video-*`: what every synthetic clip looks like.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoConfig {
    /// Clips per turn (`--video-batch-size`).
    pub batch: usize,
    /// Seconds.
    pub duration: f64,
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    pub synth: VideoSynthType,
    pub format: VideoFormat,
    /// `--video-codec`, passed to ffmpeg as given.
    pub codec: String,
    pub audio: Option<VideoAudio>,
}

impl VideoConfig {
    /// `int(duration * fps)`, AIPerf's frame count.
    pub fn frames(&self) -> u32 {
        (self.duration * self.fps as f64) as u32
    }

    /// One clip: only the seeds of its noise are drawn, so planning is cheap and in order.
    pub fn plan(&self, rng: &mut Rng) -> VideoPlan {
        VideoPlan {
            cfg: self.clone(),
            noise_seed: rng.next_u64(),
            audio_seed: rng.next_u64(),
        }
    }
}

/// One clip to encode, on any thread.
#[derive(Debug, Clone)]
pub struct VideoPlan {
    cfg: VideoConfig,
    noise_seed: u64,
    audio_seed: u64,
}

impl VideoPlan {
    /// The encoded clip as a `data:video/<format>;base64,` URI.
    pub fn encode(&self) -> Result<String, String> {
        let c = &self.cfg;
        self.encode_with_ffmpeg().map_err(|e| {
            format!(
                "video encoding (codec {}, {}x{}, {} fps, {}): {e}",
                c.codec,
                c.width,
                c.height,
                c.fps,
                c.format.name()
            )
        })
    }

    fn encode_with_ffmpeg(&self) -> Result<String, ffmpeg::FfmpegError> {
        let c = &self.cfg;
        let dir = ScratchDir::new()?;
        let output = dir.path().join(format!("output.{}", c.format.name()));
        let audio = match &c.audio {
            Some(a) => Some((a, self.write_audio_track(a, &dir)?)),
            None => None,
        };
        let args = self.ffmpeg_args(audio.as_ref().map(|(a, p)| (*a, p.as_os_str())), &output);
        let plan = self.clone();
        let bytes = ffmpeg::run(
            &args,
            Some(Box::new(move |w: &mut dyn Write| plan.write_frames(w))),
            &output,
        )?;
        Ok(format!(
            "data:video/{};base64,{}",
            c.format.name(),
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ))
    }

    /// AIPerf's arguments: raw RGB frames on stdin at `fps`, the codec in yuv420p, MP4 with
    /// `faststart`, and the audio track (if any) with its codec, cut to the shorter stream.
    fn ffmpeg_args(
        &self,
        audio: Option<(&VideoAudio, &std::ffi::OsStr)>,
        output: &std::path::Path,
    ) -> Vec<OsString> {
        let c = &self.cfg;
        let mut args = ffmpeg::args([
            "-f".to_string(),
            "rawvideo".into(),
            "-pix_fmt".into(),
            "rgb24".into(),
            "-s".into(),
            format!("{}x{}", c.width, c.height),
            "-r".into(),
            c.fps.to_string(),
            "-i".into(),
            "pipe:".into(),
        ]);
        if let Some((_, wav)) = audio {
            args.extend(ffmpeg::args(["-i"]));
            args.push(wav.to_os_string());
        }
        args.extend(ffmpeg::args([
            "-f",
            c.format.name(),
            "-vcodec",
            c.codec.as_str(),
            "-pix_fmt",
            "yuv420p",
        ]));
        if c.format == VideoFormat::Mp4 {
            args.extend(ffmpeg::args(["-movflags", "faststart"]));
        }
        if let Some((a, _)) = audio {
            args.extend(ffmpeg::args(["-acodec", a.codec.name(), "-shortest"]));
        }
        args.push(output.as_os_str().to_os_string());
        args
    }

    /// Every frame, one at a time, as raw RGB.
    fn write_frames(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let c = &self.cfg;
        let total = c.frames();
        let mut canvas = Canvas::new(c.width, c.height);
        for k in 0..total {
            match c.synth {
                VideoSynthType::MovingShapes => canvas.moving_shapes(k, total),
                VideoSynthType::GridClock => canvas.grid_clock(k, total),
                VideoSynthType::Noise => canvas.noise(crate::rng::mix(self.noise_seed, k as u64)),
            }
            out.write_all(&canvas.px)?;
        }
        out.flush()
    }

    /// Gaussian noise (sigma 0.3, clipped to [-1, 1]) as long as the clip, written as a WAV
    /// of the track's rate, depth and channels, streamed to disk.
    fn write_audio_track(
        &self,
        a: &VideoAudio,
        dir: &ScratchDir,
    ) -> Result<std::path::PathBuf, ffmpeg::FfmpegError> {
        let path = dir.path().join("audio.wav");
        let io = |e: hound::Error| ffmpeg::FfmpegError::Io(format!("audio track: {e}"));
        let spec = hound::WavSpec {
            channels: a.channels,
            sample_rate: a.sample_rate_hz,
            bits_per_sample: a.depth,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).map_err(io)?;
        let samples = (self.cfg.duration * a.sample_rate_hz as f64) as u64 * a.channels as u64;
        let mut rng = Rng::derive(self.audio_seed, "dataset.video.audio");
        // 8-bit is scaled as 16-bit and then narrowed, as soundfile's PCM_U8 does.
        let scale = |depth: u16| ((1i64 << (depth.max(16) - 1)) - 1) as f64;
        for _ in 0..samples {
            let x = (0.3 * rng.standard_normal()).clamp(-1.0, 1.0);
            let v = (x * scale(a.depth)) as i64;
            let s = if a.depth == 8 {
                (v >> 8) as i32
            } else {
                v as i32
            };
            w.write_sample(s).map_err(io)?;
        }
        w.finalize().map_err(io)?;
        Ok(path)
    }
}

type Rgb = [u8; 3];
/// A moving shape: circle (else square), colour, half size, start and per-frame step.
type Shape = (bool, Rgb, f64, (f64, f64), (f64, f64));

/// One RGB frame and the few drawing operations AIPerf's pictures need.
struct Canvas {
    w: u32,
    h: u32,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: u32, h: u32) -> Self {
        Self {
            w,
            h,
            px: vec![0; w as usize * h as usize * 3],
        }
    }

    fn fill(&mut self, c: Rgb) {
        for p in self.px.chunks_exact_mut(3) {
            p.copy_from_slice(&c);
        }
    }

    fn set(&mut self, x: i64, y: i64, c: Rgb) {
        if x >= 0 && y >= 0 && x < self.w as i64 && y < self.h as i64 {
            let i = (y as usize * self.w as usize + x as usize) * 3;
            self.px[i..i + 3].copy_from_slice(&c);
        }
    }

    /// Every pixel of the box `[x0, x1] x [y0, y1]` (clipped) for which `inside` holds.
    fn paint(
        &mut self,
        x0: f64,
        y0: f64,
        x1: f64,
        y1: f64,
        c: Rgb,
        inside: impl Fn(f64, f64) -> bool,
    ) {
        let (xa, xb) = (
            x0.floor().max(0.0) as i64,
            x1.ceil().min(self.w as f64 - 1.0) as i64,
        );
        let (ya, yb) = (
            y0.floor().max(0.0) as i64,
            y1.ceil().min(self.h as f64 - 1.0) as i64,
        );
        for y in ya..=yb {
            for x in xa..=xb {
                if inside(x as f64, y as f64) {
                    self.set(x, y, c);
                }
            }
        }
    }

    /// A filled ellipse in the bounding box `[x0, x1] x [y0, y1]`, as PIL's `ellipse(fill=)`.
    fn ellipse(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, c: Rgb) {
        let (cx, cy, rx, ry) = (
            (x0 + x1) / 2.0,
            (y0 + y1) / 2.0,
            (x1 - x0) / 2.0,
            (y1 - y0) / 2.0,
        );
        self.paint(x0, y0, x1, y1, c, |x, y| {
            let (dx, dy) = ((x - cx) / rx.max(0.5), (y - cy) / ry.max(0.5));
            dx * dx + dy * dy <= 1.0
        });
    }

    /// A ring `width` pixels wide just inside the circle of `radius` around `(cx, cy)`.
    fn ring(&mut self, cx: f64, cy: f64, radius: f64, width: f64, c: Rgb) {
        self.paint(
            cx - radius,
            cy - radius,
            cx + radius,
            cy + radius,
            c,
            |x, y| {
                let d = ((x - cx).powi(2) + (y - cy).powi(2)).sqrt();
                d <= radius && d > radius - width
            },
        );
    }

    fn rectangle(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, c: Rgb) {
        self.paint(x0, y0, x1, y1, c, |x, y| {
            x >= x0 && x <= x1 && y >= y0 && y <= y1
        });
    }

    /// A segment `width` pixels thick.
    fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), width: f64, c: Rgb) {
        let half = width / 2.0;
        let (dx, dy) = (x1 - x0, y1 - y0);
        let len2 = (dx * dx + dy * dy).max(1e-12);
        self.paint(
            x0.min(x1) - half,
            y0.min(y1) - half,
            x0.max(x1) + half,
            y0.max(y1) + half,
            c,
            |x, y| {
                let t = (((x - x0) * dx + (y - y0) * dy) / len2).clamp(0.0, 1.0);
                let (px, py) = (x0 + t * dx - x, y0 + t * dy - y);
                px * px + py * py <= half * half
            },
        );
    }

    fn text(&mut self, x: i64, y: i64, s: &str, c: Rgb) {
        for (i, ch) in s.chars().enumerate() {
            let rows = glyph(ch);
            for (r, bits) in rows.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        self.set(x + i as i64 * 6 + col, y + r as i64, c);
                    }
                }
            }
        }
    }

    /// AIPerf's `moving_shapes`: on black, a red circle crossing left to right, a green square
    /// falling from the top and a blue circle moving up-left from the bottom-right corner,
    /// wrapping at the edges.
    fn moving_shapes(&mut self, k: u32, total: u32) {
        let (w, h, t, k) = (self.w as f64, self.h as f64, total as f64, k as f64);
        self.fill([0, 0, 0]);
        let shapes: [Shape; 3] = [
            (
                true,
                [255, 0, 0],
                15.0,
                (0.0, (self.h / 2) as f64),
                (w / t * 2.0, 0.0),
            ),
            (
                false,
                [0, 255, 0],
                12.0,
                ((self.w / 2) as f64, 0.0),
                (0.0, h / t * 2.0),
            ),
            (
                true,
                [0, 0, 255],
                10.0,
                (w, h),
                (-w / t * 1.5, -h / t * 1.5),
            ),
        ];
        for (circle, color, half, (sx, sy), (dx, dy)) in shapes {
            let x = (sx + dx * k).rem_euclid(w);
            let y = (sy + dy * k).rem_euclid(h);
            if circle {
                self.ellipse(x - half, y - half, x + half, y + half, color);
            } else {
                self.rectangle(x - half, y - half, x + half, y + half, color);
            }
        }
    }

    /// AIPerf's `grid_clock`: a 32-pixel grid on dark grey, a clock face whose minute hand
    /// turns once per clip and hour hand a twelfth of that, and the frame number.
    fn grid_clock(&mut self, k: u32, total: u32) {
        self.fill([32, 32, 32]);
        let (w, h) = (self.w as f64, self.h as f64);
        let grid = [64, 64, 64];
        for x in (0..self.w).step_by(32) {
            self.line((x as f64, 0.0), (x as f64, h), 1.0, grid);
        }
        for y in (0..self.h).step_by(32) {
            self.line((0.0, y as f64), (w, y as f64), 1.0, grid);
        }
        let (cx, cy) = ((self.w / 2) as f64, (self.h / 2) as f64);
        let radius = (self.w.min(self.h) / 4) as f64;
        let angle = k as f64 / total as f64 * std::f64::consts::TAU;
        let hand = |a: f64, len: f64| {
            let a = a - std::f64::consts::FRAC_PI_2;
            (cx + radius * len * a.cos(), cy + radius * len * a.sin())
        };
        self.line((cx, cy), hand(angle / 12.0, 0.6), 3.0, [255, 255, 0]);
        self.line((cx, cy), hand(angle, 0.9), 2.0, [255, 255, 255]);
        self.ring(cx, cy, radius, 2.0, [128, 128, 128]);
        self.ellipse(cx - 3.0, cy - 3.0, cx + 3.0, cy + 3.0, [255, 0, 0]);
        self.text(10, 10, &format!("Frame {k}"), [255, 255, 255]);
    }

    fn noise(&mut self, seed: u64) {
        self.px = crate::synthetic_media::noise(seed, self.px.len());
    }
}

/// A 5x7 bitmap of the characters the frame label uses (rows top to bottom, bit 4 leftmost).
fn glyph(c: char) -> [u8; 7] {
    match c {
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'r' => [0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10],
        'a' => [0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F],
        'm' => [0x00, 0x00, 0x1A, 0x15, 0x15, 0x15, 0x15],
        'e' => [0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        _ => [0; 7],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(synth: VideoSynthType) -> VideoConfig {
        VideoConfig {
            batch: 1,
            duration: 1.0,
            fps: 4,
            width: 64,
            height: 48,
            synth,
            format: VideoFormat::Webm,
            codec: "libvpx-vp9".into(),
            audio: None,
        }
    }

    fn frames(plan: &VideoPlan) -> Vec<u8> {
        let mut out = Vec::new();
        plan.write_frames(&mut out).unwrap();
        out
    }

    fn pixel(frames: &[u8], w: u32, h: u32, k: u32, x: u32, y: u32) -> Rgb {
        let i = ((k * h + y) * w + x) as usize * 3;
        [frames[i], frames[i + 1], frames[i + 2]]
    }

    #[test]
    fn frame_count_truncates_like_aiperf() {
        let mut c = cfg(VideoSynthType::Noise);
        assert_eq!(c.frames(), 4);
        c.duration = 0.3;
        c.fps = 10;
        assert_eq!(c.frames(), 3);
        c.duration = 0.1;
        c.fps = 4;
        assert_eq!(c.frames(), 0);
    }

    #[test]
    fn moving_shapes_are_where_aiperf_draws_them() {
        let c = cfg(VideoSynthType::MovingShapes);
        let f = frames(&c.plan(&mut Rng::derive(1, "v")));
        assert_eq!(f.len(), 64 * 48 * 3 * 4);
        // Frame 0: red circle centred at (0, 24), green square at (32, 0), blue circle at
        // (64 % 64, 48 % 48) = (0, 0) drawn last.
        assert_eq!(pixel(&f, 64, 48, 0, 3, 24), [255, 0, 0]);
        assert_eq!(pixel(&f, 64, 48, 0, 32, 5), [0, 255, 0]);
        assert_eq!(pixel(&f, 64, 48, 0, 2, 2), [0, 0, 255]);
        assert_eq!(pixel(&f, 64, 48, 0, 50, 40), [0, 0, 0]);
        // Frame 1 of 4: red moved 64/4*2 = 32 to the right, green 48/4*2 = 24 down, blue
        // -24, -18 to (40, 30).
        // (The green square, drawn after it, covers the red circle's centre.)
        assert_eq!(pixel(&f, 64, 48, 1, 19, 24), [255, 0, 0]);
        assert_eq!(pixel(&f, 64, 48, 1, 32, 12), [0, 255, 0]);
        assert_eq!(pixel(&f, 64, 48, 1, 40, 30), [0, 0, 255]);
        assert_eq!(pixel(&f, 64, 48, 1, 3, 24), [0, 0, 0]);
    }

    #[test]
    fn grid_clock_has_grid_hands_and_label() {
        let c = VideoConfig {
            width: 128,
            height: 96,
            ..cfg(VideoSynthType::GridClock)
        };
        let f = frames(&c.plan(&mut Rng::derive(1, "v")));
        let (w, h) = (128, 96);
        assert_eq!(pixel(&f, w, h, 0, 5, 90), [32, 32, 32], "background");
        assert_eq!(pixel(&f, w, h, 0, 32, 90), [64, 64, 64], "grid line x = 32");
        assert_eq!(pixel(&f, w, h, 0, 64, 48), [255, 0, 0], "centre dot");
        // Frame 0: both hands point up (radius 24: the minute hand, drawn over the hour
        // hand, reaches 21.6 px up).
        assert_eq!(pixel(&f, w, h, 0, 64, 48 - 18), [255, 255, 255]);
        // Frame 1 of 4: the minute hand points right, the hour hand 7.5 degrees right of up
        // (its end at (65.9, 33.7)).
        assert_eq!(pixel(&f, w, h, 1, 64 + 18, 48), [255, 255, 255]);
        assert_eq!(pixel(&f, w, h, 1, 65, 38), [255, 255, 0]);
        assert_eq!(
            pixel(&f, w, h, 1, 64, 48 - 18),
            [64, 64, 64],
            "only the grid line x = 64"
        );
        // Clock face ring at radius 24 (bottom), grey.
        assert_eq!(pixel(&f, w, h, 0, 64, 48 + 23), [128, 128, 128]);
        // "F" of the label starts at (10, 10).
        assert_eq!(pixel(&f, w, h, 0, 10, 10), [255, 255, 255]);
    }

    #[test]
    fn noise_frames_follow_the_seed() {
        let c = cfg(VideoSynthType::Noise);
        let a = frames(&c.plan(&mut Rng::derive(1, "v")));
        let b = frames(&c.plan(&mut Rng::derive(1, "v")));
        let other = frames(&c.plan(&mut Rng::derive(2, "v")));
        assert_eq!(a, b);
        assert_ne!(a, other);
        let frame = 64 * 48 * 3;
        assert_ne!(a[..frame], a[frame..2 * frame], "each frame differs");
    }

    #[test]
    fn ffmpeg_arguments_are_aiperfs() {
        let mut c = cfg(VideoSynthType::MovingShapes);
        c.format = VideoFormat::Mp4;
        let plan = c.plan(&mut Rng::derive(1, "v"));
        let audio = VideoAudio {
            sample_rate_hz: 44100,
            channels: 1,
            depth: 16,
            codec: VideoAudioCodec::Libopus,
        };
        let args = plan.ffmpeg_args(
            Some((&audio, std::ffi::OsStr::new("/t/audio.wav"))),
            std::path::Path::new("/t/output.mp4"),
        );
        let line: Vec<String> = args.iter().map(|a| a.to_string_lossy().into()).collect();
        assert_eq!(
            line.join(" "),
            "-f rawvideo -pix_fmt rgb24 -s 64x48 -r 4 -i pipe: -i /t/audio.wav -f mp4 \
             -vcodec libvpx-vp9 -pix_fmt yuv420p -movflags faststart -acodec libopus -shortest \
             /t/output.mp4"
        );
    }

    /// With ffmpeg on PATH: the clip is a WebM that starts with the EBML magic.
    #[test]
    fn encodes_a_webm_when_ffmpeg_is_present() {
        if ffmpeg::find().is_err() {
            eprintln!("skipped: ffmpeg is not on PATH");
            return;
        }
        let c = cfg(VideoSynthType::GridClock);
        let uri = c.plan(&mut Rng::derive(1, "v")).encode().unwrap();
        let b64 = uri.strip_prefix("data:video/webm;base64,").unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(&bytes[..4], &[0x1A, 0x45, 0xDF, 0xA3]);
        let bad = VideoConfig {
            codec: "no-such-codec".into(),
            ..c
        };
        let err = bad.plan(&mut Rng::derive(1, "v")).encode().unwrap_err();
        assert!(
            err.starts_with(
                "video encoding (codec no-such-codec, 64x48, 4 fps, webm): ffmpeg failed"
            ),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }
}
