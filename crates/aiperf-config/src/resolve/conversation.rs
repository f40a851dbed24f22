//! The "Conversation Input", "Prefix Prompt", "Audio Input", "Image Input" and "Video Input"
//! groups: the shape of synthetic conversations and what each one starts with or carries.

use crate::magic_list::One;
use std::path::{Path, PathBuf};

use aiperf_dataset::ffmpeg;
use aiperf_dataset::synthetic_media::{
    AudioConfig, AudioFormat, ImageConfig, ImageFormat, ImageSampling, ImageSource,
    MP3_SAMPLE_RATES_HZ,
};
use aiperf_dataset::video::{
    VideoAudio, VideoAudioCodec, VideoConfig, VideoFormat, VideoSynthType,
};

use super::{invalid, non_negative, ConfigError};
use crate::cli::ProfileArgs;

/// How conversations are synthesized and what every conversation starts with.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConversationOptions {
    /// `--conversation-num`: distinct conversations, and sessions to start before stopping.
    pub conversation_num: Option<usize>,
    pub turn_mean: f64,
    pub turn_stddev: f64,
    pub delay_mean_ms: f64,
    pub delay_stddev_ms: f64,
    pub delay_ratio: f64,
    /// `--num-prefix-prompts` / `--prefix-prompt-length`.
    pub prefix_pool_size: usize,
    pub prefix_length: usize,
    pub shared_system_prompt_length: Option<usize>,
    pub user_context_prompt_length: Option<usize>,
    /// `--system-prompt`, or `--system-prompt-file` (read when the dataset is prepared).
    pub system_prompt: Option<String>,
    pub system_prompt_file: Option<PathBuf>,
    /// `--isl-block-size` for `hash_ids`.
    pub isl_block_size: Option<usize>,
    /// Synthetic images per turn, when `--image-width-mean` and `--image-height-mean` are > 0.
    pub images: Option<ImageConfig>,
    /// Synthetic audio per turn, when `--audio-length-mean` is > 0.
    pub audio: Option<AudioConfig>,
    /// Synthetic video per turn, when `--video-width` and `--video-height` are given and
    /// `--video-batch-size` is > 0.
    pub video: Option<VideoConfig>,
}

/// Largest synthetic video side, frame rate and duration: beyond these a clip is no benchmark
/// input but an hour of encoding.
const MAX_VIDEO_SIDE: u32 = 4096;
const MAX_VIDEO_FPS: u32 = 240;
const MAX_VIDEO_SECONDS: f64 = 600.0;
const MAX_VIDEO_BATCH: usize = 1000;
/// Raw RGB frames of one clip (1080p at 30 fps for a minute is 11 GiB).
const MAX_VIDEO_RAW_BYTES: f64 = 16.0 * (1u64 << 30) as f64;

/// Conversation shape and context flags, checked.
pub(super) fn resolve(args: &ProfileArgs) -> Result<ConversationOptions, ConfigError> {
    if args.conversation_num.one() == Some(0) {
        return Err(invalid("--conversation-num", "must be >= 1"));
    }
    if !(args.turn_mean.one() >= 1.0 && args.turn_mean.one().is_finite()) {
        return Err(invalid(
            "--conversation-turn-mean",
            format!("must be >= 1, got {}", args.turn_mean.one()),
        ));
    }
    non_negative("--conversation-turn-stddev", args.turn_stddev)?;
    non_negative("--conversation-turn-delay-mean", args.turn_delay_mean)?;
    non_negative("--conversation-turn-delay-stddev", args.turn_delay_stddev)?;
    non_negative("--conversation-turn-delay-ratio", args.turn_delay_ratio)?;
    check_prefix_prompts(args)?;
    if args.isl_block_size == Some(0) {
        return Err(invalid("--isl-block-size", "must be >= 1"));
    }
    for (flag, v) in [
        ("--image-width-mean", args.image_width_mean),
        ("--image-width-stddev", args.image_width_stddev),
        ("--image-height-mean", args.image_height_mean),
        ("--image-height-stddev", args.image_height_stddev),
        ("--audio-length-mean", args.audio_length_mean),
        ("--audio-length-stddev", args.audio_length_stddev),
    ] {
        non_negative(flag, v)?;
    }
    let images = images(args)?;
    let audio = audio(args)?;
    let video = video(args)?;
    Ok(ConversationOptions {
        conversation_num: args.conversation_num.one(),
        turn_mean: args.turn_mean.one(),
        turn_stddev: args.turn_stddev,
        delay_mean_ms: args.turn_delay_mean,
        delay_stddev_ms: args.turn_delay_stddev,
        delay_ratio: args.turn_delay_ratio,
        prefix_pool_size: args.prefix_pool_size,
        prefix_length: args.prefix_length,
        shared_system_prompt_length: args.shared_system_prompt_length,
        user_context_prompt_length: args.user_context_prompt_length,
        system_prompt: args.system_prompt.clone(),
        system_prompt_file: args.system_prompt_file.clone(),
        isl_block_size: args.isl_block_size,
        images,
        audio,
        video,
    })
}

/// `--num-dataset-entries`, else `--conversation-num`, else `--request-count` (at most
/// 100,000), else 100.
pub(super) fn num_dataset_entries(args: &ProfileArgs) -> Result<usize, ConfigError> {
    if args.num_dataset_entries == Some(0) {
        return Err(invalid("--num-dataset-entries", "must be >= 1"));
    }
    Ok(args
        .num_dataset_entries
        .or(args.conversation_num.one())
        .or(args.request_count.one().map(|c| c.min(100_000) as usize))
        .unwrap_or(100))
}

/// Synthetic images, when both mean sides are > 0.
fn images(args: &ProfileArgs) -> Result<Option<ImageConfig>, ConfigError> {
    if !(args.image_width_mean > 0.0 && args.image_height_mean > 0.0) {
        return Ok(None);
    }
    let format = ImageFormat::parse(&args.image_format).ok_or_else(|| {
        invalid(
            "--image-format",
            format!("'{}': choose png, jpeg or random", args.image_format),
        )
    })?;
    let (source, sampling) = image_source(args)?;
    if args.image_batch_size == 0 {
        return Err(invalid("--image-batch-size", "must be >= 1"));
    }
    if args.image_width_mean > 16384.0 || args.image_height_mean > 16384.0 {
        return Err(invalid(
            "--image-width-mean",
            "images larger than 16384 pixels a side are not generated",
        ));
    }
    Ok(Some(ImageConfig {
        width_mean: args.image_width_mean,
        width_stddev: args.image_width_stddev,
        height_mean: args.image_height_mean,
        height_stddev: args.image_height_stddev,
        batch: args.image_batch_size,
        format,
        source,
        sampling,
    }))
}

/// `--image-source` (noise, assets or a directory of images) and `--image-source-sampling`.
fn image_source(args: &ProfileArgs) -> Result<(ImageSource, ImageSampling), ConfigError> {
    let sampling_flag = &args.media.image_source_sampling;
    let sampling = ImageSampling::parse(sampling_flag).ok_or_else(|| {
        invalid(
            "--image-source-sampling",
            format!(
                "'{sampling_flag}': choose random-with-replacement, shuffle-cycle or sequential-cycle"
            ),
        )
    })?;
    let source = match args.image_source.to_ascii_lowercase().as_str() {
        "noise" => ImageSource::Noise,
        "assets" => ImageSource::Assets,
        _ => ImageSource::index_dir(Path::new(&args.image_source))
            .map_err(|e| invalid("--image-source", e))?,
    };
    if source == ImageSource::Noise && sampling != ImageSampling::RandomWithReplacement {
        return Err(invalid(
            "--image-source-sampling",
            format!("'{sampling_flag}' needs --image-source assets or a directory (noise has no finite pool of images)"),
        ));
    }
    if source.needs_ffmpeg() && ffmpeg::find().is_err() {
        return Err(invalid(
            "--image-source",
            format!(
                "'{}' has images other than PNG, which are decoded by ffmpeg, not found on PATH: {}",
                args.image_source,
                ffmpeg::INSTALL_HINT
            ),
        ));
    }
    Ok((source, sampling))
}

/// Synthetic video, when both `--video-width` and `--video-height` are given (AIPerf's rule)
/// and `--video-batch-size` is > 0; sizes are bounded, and ffmpeg must be on PATH.
fn video(args: &ProfileArgs) -> Result<Option<VideoConfig>, ConfigError> {
    let m = &args.media;
    let (width, height) = match (m.video_width, m.video_height) {
        (None, None) => return Ok(None),
        (Some(w), Some(h)) => (w, h),
        (Some(_), None) => {
            return Err(invalid(
                "--video-width",
                "must be given together with --video-height",
            ))
        }
        (None, Some(_)) => {
            return Err(invalid(
                "--video-height",
                "must be given together with --video-width",
            ))
        }
    };
    for (flag, side) in [("--video-width", width), ("--video-height", height)] {
        if !(1..=MAX_VIDEO_SIDE).contains(&side) {
            return Err(invalid(
                flag,
                format!("{side} pixels: must be in [1, {MAX_VIDEO_SIDE}]"),
            ));
        }
    }
    if !(1..=MAX_VIDEO_FPS).contains(&m.video_fps) {
        return Err(invalid(
            "--video-fps",
            format!("{}: must be in [1, {MAX_VIDEO_FPS}]", m.video_fps),
        ));
    }
    if !(m.video_duration > 0.0 && m.video_duration <= MAX_VIDEO_SECONDS) {
        return Err(invalid(
            "--video-duration",
            format!(
                "{} s: must be > 0 and <= {MAX_VIDEO_SECONDS}",
                m.video_duration
            ),
        ));
    }
    if m.video_duration * (m.video_fps as f64) < 1.0 {
        return Err(invalid(
            "--video-duration",
            format!(
                "{} s at {} fps is no whole frame (duration x fps must be >= 1)",
                m.video_duration, m.video_fps
            ),
        ));
    }
    let raw = width as f64 * height as f64 * 3.0 * (m.video_duration * m.video_fps as f64).floor();
    if raw > MAX_VIDEO_RAW_BYTES {
        return Err(invalid(
            "--video-duration",
            format!(
                "{width}x{height} at {} fps for {} s is {:.0} GiB of raw frames per clip (at most 16 GiB)",
                m.video_fps,
                m.video_duration,
                raw / (1u64 << 30) as f64
            ),
        ));
    }
    if m.video_batch_size > MAX_VIDEO_BATCH {
        return Err(invalid(
            "--video-batch-size",
            format!("{}: must be <= {MAX_VIDEO_BATCH}", m.video_batch_size),
        ));
    }
    let synth = VideoSynthType::parse(&m.video_synth_type).ok_or_else(|| {
        invalid(
            "--video-synth-type",
            format!(
                "'{}': choose moving_shapes, grid_clock or noise",
                m.video_synth_type
            ),
        )
    })?;
    let format = VideoFormat::parse(&m.video_format).ok_or_else(|| {
        invalid(
            "--video-format",
            format!("'{}': choose webm or mp4", m.video_format),
        )
    })?;
    if m.video_codec.trim().is_empty() {
        return Err(invalid("--video-codec", "must not be empty"));
    }
    let audio = video_audio(args, format)?;
    if m.video_batch_size == 0 {
        return Ok(None);
    }
    if ffmpeg::find().is_err() {
        return Err(invalid(
            "--video-width",
            format!(
                "synthetic video is encoded by ffmpeg, which was not found on PATH: {}",
                ffmpeg::INSTALL_HINT
            ),
        ));
    }
    Ok(Some(VideoConfig {
        batch: m.video_batch_size,
        duration: m.video_duration,
        fps: m.video_fps,
        width,
        height,
        synth,
        format,
        codec: m.video_codec.trim().to_string(),
        audio,
    }))
}

/// The audio track of every clip, when `--video-audio-num-channels` is 1 or 2.
fn video_audio(args: &ProfileArgs, format: VideoFormat) -> Result<Option<VideoAudio>, ConfigError> {
    let m = &args.media;
    if m.video_audio_channels > 2 {
        return Err(invalid(
            "--video-audio-num-channels",
            format!("{}: choose 0, 1 or 2", m.video_audio_channels),
        ));
    }
    let codec = match &m.video_audio_codec {
        None => None,
        Some(c) => Some(VideoAudioCodec::parse(c).ok_or_else(|| {
            invalid(
                "--video-audio-codec",
                format!("'{c}': choose aac, libvorbis or libopus"),
            )
        })?),
    };
    if let (Some(c), 0) = (codec, m.video_audio_channels) {
        return Err(invalid(
            "--video-audio-codec",
            format!("'{}' is set but --video-audio-num-channels is 0 (audio disabled): set it to 1 or 2", c.name()),
        ));
    }
    if ![8, 16, 24, 32].contains(&m.video_audio_depth) {
        return Err(invalid(
            "--video-audio-depth",
            format!("{} bits: choose from 8, 16, 24, 32", m.video_audio_depth),
        ));
    }
    // AIPerf takes values above 96 as Hz.
    let rate = m.video_audio_sample_rate;
    let khz = if rate > 96.0 { rate / 1000.0 } else { rate };
    if !(8.0..=96.0).contains(&khz) {
        return Err(invalid(
            "--video-audio-sample-rate",
            format!("{rate}: must be 8 to 96 kHz (or 8000 to 96000 Hz)"),
        ));
    }
    if m.video_audio_channels == 0 {
        return Ok(None);
    }
    Ok(Some(VideoAudio {
        sample_rate_hz: (khz * 1000.0).round() as u32,
        channels: m.video_audio_channels,
        depth: m.video_audio_depth,
        codec: codec.unwrap_or(format.default_audio_codec()),
    }))
}

/// Synthetic audio, when the mean length is > 0.
fn audio(args: &ProfileArgs) -> Result<Option<AudioConfig>, ConfigError> {
    if args.audio_length_mean.is_nan() || args.audio_length_mean <= 0.0 {
        return Ok(None);
    }
    let format = AudioFormat::parse(&args.audio_format).ok_or_else(|| {
        invalid(
            "--audio-format",
            format!("'{}': choose wav or mp3", args.audio_format),
        )
    })?;
    if let Some(d) = args
        .audio_depths
        .iter()
        .find(|d| ![8, 16, 24, 32].contains(*d))
    {
        return Err(invalid(
            "--audio-depths",
            format!("{d} bits: choose from 8, 16, 24, 32"),
        ));
    }
    if let Some(r) = args
        .audio_sample_rates
        .iter()
        .find(|r| !(**r > 0.0 && **r <= 384.0))
    {
        return Err(invalid(
            "--audio-sample-rates",
            format!("{r} kHz: must be in (0, 384]"),
        ));
    }
    if args.audio_num_channels == 0 || args.audio_batch_size == 0 {
        return Err(invalid(
            "--audio-num-channels",
            "channels and --audio-batch-size must be >= 1",
        ));
    }
    if format == AudioFormat::Mp3 {
        check_mp3(&args.audio_sample_rates)?;
    }
    Ok(Some(AudioConfig {
        length_mean: args.audio_length_mean,
        length_stddev: args.audio_length_stddev,
        sample_rates_khz: args.audio_sample_rates.clone(),
        depths: args.audio_depths.clone(),
        channels: args.audio_num_channels,
        batch: args.audio_batch_size,
        format,
    }))
}

/// MP3 has nine sample rates, and is encoded by ffmpeg.
fn check_mp3(rates_khz: &[f64]) -> Result<(), ConfigError> {
    if let Some(r) = rates_khz
        .iter()
        .find(|r| !MP3_SAMPLE_RATES_HZ.contains(&((**r * 1000.0).round() as u32)))
    {
        let allowed: Vec<String> = MP3_SAMPLE_RATES_HZ
            .iter()
            .map(|hz| (*hz as f64 / 1000.0).to_string())
            .collect();
        return Err(invalid(
            "--audio-sample-rates",
            format!(
                "{r} kHz is not an MP3 sample rate (choose from {} kHz)",
                allowed.join(", ")
            ),
        ));
    }
    if ffmpeg::find().is_err() {
        return Err(invalid(
            "--audio-format",
            format!(
                "mp3 is encoded by ffmpeg, which was not found on PATH: {}",
                ffmpeg::INSTALL_HINT
            ),
        ));
    }
    Ok(())
}

/// One prefix scheme at a time (a pool of prefixes, or shared system and per-user context
/// prompts), and at most one verbatim system prompt, whose file must exist.
fn check_prefix_prompts(args: &ProfileArgs) -> Result<(), ConfigError> {
    match (args.prefix_pool_size, args.prefix_length) {
        (0, 0) => {}
        (0, _) => {
            return Err(invalid(
                "--prefix-prompt-length",
                "requires --num-prefix-prompts >= 1",
            ))
        }
        (_, 0) => {
            return Err(invalid(
                "--num-prefix-prompts",
                "requires --prefix-prompt-length >= 1",
            ))
        }
        _ => {
            if args.shared_system_prompt_length.is_some()
                || args.user_context_prompt_length.is_some()
            {
                return Err(invalid(
                    "--num-prefix-prompts",
                    "cannot be combined with --shared-system-prompt-length or --user-context-prompt-length (choose one prefix scheme)",
                ));
            }
        }
    }
    if args.shared_system_prompt_length == Some(0) {
        return Err(invalid("--shared-system-prompt-length", "must be >= 1"));
    }
    if args.user_context_prompt_length == Some(0) {
        return Err(invalid("--user-context-prompt-length", "must be >= 1"));
    }
    if args.system_prompt.is_some() && args.system_prompt_file.is_some() {
        return Err(invalid(
            "--system-prompt",
            "cannot be combined with --system-prompt-file",
        ));
    }
    if let Some(f) = &args.system_prompt_file {
        if !f.is_file() {
            return Err(invalid(
                "--system-prompt-file",
                format!("'{}' is not a file", f.display()),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::args;
    use super::*;

    fn conv(a: &[&str]) -> Result<ConversationOptions, String> {
        resolve(&args(a)).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_media() {
        let c = conv(&[]).unwrap();
        assert_eq!(
            (c.turn_mean, c.delay_ratio, c.prefix_pool_size),
            (1.0, 1.0, 0)
        );
        assert_eq!((c.images, c.audio), (None, None));
        let c = conv(&[
            "--num-sessions",
            "7",
            "--session-turns-mean",
            "3",
            "--session-turn-delay-mean",
            "50",
            "--image-width-mean",
            "64",
            "--image-height-mean",
            "32",
            "--audio-length-mean",
            "1",
            "--audio-sample-rates",
            "8,16",
        ])
        .unwrap();
        assert_eq!(c.conversation_num, Some(7));
        assert_eq!(c.turn_mean, 3.0);
        assert_eq!(c.delay_mean_ms, 50.0);
        assert_eq!(c.images.as_ref().map(|i| i.width_mean), Some(64.0));
        assert_eq!(
            c.audio.as_ref().map(|a| a.sample_rates_khz.clone()),
            Some(vec![8.0, 16.0])
        );
    }

    #[test]
    fn dataset_size() {
        let n = |a: &[&str]| num_dataset_entries(&args(a)).map_err(|e| e.to_string());
        assert_eq!(n(&[]), Ok(100));
        assert_eq!(n(&["--request-count", "7"]), Ok(7));
        assert_eq!(n(&["--request-count", "1000000"]), Ok(100_000));
        assert_eq!(n(&["--num-sessions", "5", "--request-count", "7"]), Ok(5));
        assert_eq!(n(&["--num-prompts", "3", "--num-sessions", "5"]), Ok(3));
        assert_eq!(
            n(&["--num-dataset-entries", "0"]),
            Err("--num-dataset-entries: must be >= 1".into())
        );
    }

    #[test]
    fn rejections() {
        let cases: [(&[&str], &str); 20] = [
            (&["--conversation-num", "0"], "--conversation-num: must be >= 1"),
            (&["--session-turns-mean", "0.5"], "--conversation-turn-mean: must be >= 1, got 0.5"),
            (&["--conversation-turn-stddev=-1"], "--conversation-turn-stddev: must be >= 0, got -1"),
            (&["--conversation-turn-delay-ratio=-1"], "--conversation-turn-delay-ratio: must be >= 0, got -1"),
            (&["--prefix-prompt-length", "10"], "--prefix-prompt-length: requires --num-prefix-prompts >= 1"),
            (&["--num-prefix-prompts", "2"], "--num-prefix-prompts: requires --prefix-prompt-length >= 1"),
            (&["--num-prefix-prompts", "2", "--prefix-prompt-length", "10", "--shared-system-prompt-length", "5"], "--num-prefix-prompts: cannot be combined with --shared-system-prompt-length or --user-context-prompt-length (choose one prefix scheme)"),
            (&["--shared-system-prompt-length", "0"], "--shared-system-prompt-length: must be >= 1"),
            (&["--user-context-prompt-length", "0"], "--user-context-prompt-length: must be >= 1"),
            (&["--system-prompt", "x", "--system-prompt-file", "y"], "--system-prompt: cannot be combined with --system-prompt-file"),
            (&["--system-prompt-file", "/nonexistent/p.txt"], "--system-prompt-file: '/nonexistent/p.txt' is not a file"),
            (&["--isl-block-size", "0"], "--isl-block-size: must be >= 1"),
            (&["--image-width-mean=-1"], "--image-width-mean: must be >= 0, got -1"),
            (&["--image-width-mean", "8", "--image-height-mean", "8", "--image-format", "gif"], "--image-format: 'gif': choose png, jpeg or random"),
            (&["--image-width-mean", "8", "--image-height-mean", "8", "--image-source", "/nonexistent/imgs"], "--image-source: the directory '/nonexistent/imgs' does not exist"),
            (&["--image-width-mean", "8", "--image-height-mean", "8", "--image-batch-size", "0"], "--image-batch-size: must be >= 1"),
            (&["--image-width-mean", "20000", "--image-height-mean", "8"], "--image-width-mean: images larger than 16384 pixels a side are not generated"),
            (&["--audio-length-mean", "1", "--audio-format", "flac"], "--audio-format: 'flac': choose wav or mp3"),
            (&["--audio-length-mean", "1", "--audio-depths", "12"], "--audio-depths: 12 bits: choose from 8, 16, 24, 32"),
            (&["--audio-length-mean", "1", "--audio-sample-rates", "500"], "--audio-sample-rates: 500 kHz: must be in (0, 384]"),
        ];
        for (a, want) in cases {
            assert_eq!(conv(a).unwrap_err(), want, "{a:?}");
        }
        assert_eq!(
            conv(&["--audio-length-mean", "1", "--audio-num-channels", "0"]).unwrap_err(),
            "--audio-num-channels: channels and --audio-batch-size must be >= 1"
        );
    }

    /// With ffmpeg on PATH the config resolves; without it, the one-line error naming the flag.
    fn ok_or_no_ffmpeg<T: std::fmt::Debug>(r: Result<T, String>, flag: &str) -> Option<T> {
        match (r, ffmpeg::find()) {
            (Ok(v), Ok(_)) => Some(v),
            (Err(e), Err(_)) => {
                assert!(e.starts_with(flag), "{e}");
                assert!(e.contains("not found on PATH: install FFmpeg"), "{e}");
                None
            }
            (r, found) => panic!("{r:?} with ffmpeg {found:?}"),
        }
    }

    #[test]
    fn video_needs_both_sides_and_resolves_aiperfs_defaults() {
        assert_eq!(conv(&[]).unwrap().video, None);
        let Some(c) = ok_or_no_ffmpeg(
            conv(&["--video-width", "64", "--video-height", "48"]),
            "--video-width",
        ) else {
            return;
        };
        assert_eq!(
            c.video,
            Some(VideoConfig {
                batch: 1,
                duration: 1.0,
                fps: 4,
                width: 64,
                height: 48,
                synth: VideoSynthType::MovingShapes,
                format: VideoFormat::Webm,
                codec: "libvpx-vp9".into(),
                audio: None,
            })
        );
        let c = conv(&[
            "--video-width",
            "32",
            "--video-height",
            "32",
            "--video-format",
            "mp4",
            "--video-audio-num-channels",
            "2",
            "--video-audio-sample-rate",
            "16000",
            "--video-synth-type",
            "grid_clock",
            "--batch-size-video",
            "2",
        ])
        .unwrap();
        let v = c.video.unwrap();
        assert_eq!(
            (v.batch, v.synth, v.format),
            (2, VideoSynthType::GridClock, VideoFormat::Mp4)
        );
        assert_eq!(
            v.audio,
            Some(VideoAudio {
                sample_rate_hz: 16000,
                channels: 2,
                depth: 16,
                codec: VideoAudioCodec::Libopus
            })
        );
        let c = conv(&[
            "--video-width",
            "32",
            "--video-height",
            "32",
            "--video-audio-num-channels",
            "1",
            "--video-audio-sample-rate",
            "44.1",
        ])
        .unwrap();
        assert_eq!(
            c.video.unwrap().audio.map(|a| (a.sample_rate_hz, a.codec)),
            Some((44100, VideoAudioCodec::Libvorbis))
        );
        let c = conv(&[
            "--video-width",
            "32",
            "--video-height",
            "32",
            "--video-batch-size",
            "0",
        ])
        .unwrap();
        assert_eq!(c.video, None, "batch 0 disables video");
    }

    #[test]
    fn video_rejections() {
        let v = ["--video-width", "64", "--video-height", "48"];
        let with = |extra: &[&'static str]| -> Vec<&'static str> {
            v.iter().copied().chain(extra.iter().copied()).collect()
        };
        let cases: Vec<(Vec<&str>, &str)> = vec![
            (vec!["--video-width", "64"], "--video-width: must be given together with --video-height"),
            (vec!["--video-height", "64"], "--video-height: must be given together with --video-width"),
            (vec!["--video-width", "0", "--video-height", "48"], "--video-width: 0 pixels: must be in [1, 4096]"),
            (vec!["--video-width", "64", "--video-height", "5000"], "--video-height: 5000 pixels: must be in [1, 4096]"),
            (with(&["--video-fps", "0"]), "--video-fps: 0: must be in [1, 240]"),
            (with(&["--video-fps", "1000"]), "--video-fps: 1000: must be in [1, 240]"),
            (with(&["--video-duration", "0"]), "--video-duration: 0 s: must be > 0 and <= 600"),
            (with(&["--video-duration", "3600"]), "--video-duration: 3600 s: must be > 0 and <= 600"),
            (with(&["--video-duration", "0.1"]), "--video-duration: 0.1 s at 4 fps is no whole frame (duration x fps must be >= 1)"),
            (with(&["--video-batch-size", "5000"]), "--video-batch-size: 5000: must be <= 1000"),
            (vec!["--video-width", "4096", "--video-height", "4096", "--video-fps", "60", "--video-duration", "10"], "--video-duration: 4096x4096 at 60 fps for 10 s is 28 GiB of raw frames per clip (at most 16 GiB)"),
            (with(&["--video-synth-type", "fractal"]), "--video-synth-type: 'fractal': choose moving_shapes, grid_clock or noise"),
            (with(&["--video-format", "avi"]), "--video-format: 'avi': choose webm or mp4"),
            (with(&["--video-codec", " "]), "--video-codec: must not be empty"),
            (with(&["--video-audio-num-channels", "3"]), "--video-audio-num-channels: 3: choose 0, 1 or 2"),
            (with(&["--video-audio-codec", "mp3"]), "--video-audio-codec: 'mp3': choose aac, libvorbis or libopus"),
            (with(&["--video-audio-codec", "aac"]), "--video-audio-codec: 'aac' is set but --video-audio-num-channels is 0 (audio disabled): set it to 1 or 2"),
            (with(&["--video-audio-num-channels", "1", "--video-audio-depth", "12"]), "--video-audio-depth: 12 bits: choose from 8, 16, 24, 32"),
            (with(&["--video-audio-num-channels", "1", "--video-audio-sample-rate", "4"]), "--video-audio-sample-rate: 4: must be 8 to 96 kHz (or 8000 to 96000 Hz)"),
            (with(&["--video-audio-num-channels", "1", "--video-audio-sample-rate", "192000"]), "--video-audio-sample-rate: 192000: must be 8 to 96 kHz (or 8000 to 96000 Hz)"),
        ];
        for (a, want) in cases {
            assert_eq!(conv(&a).unwrap_err(), want, "{a:?}");
        }
    }

    #[test]
    fn image_sources_and_sampling() {
        let img = ["--image-width-mean", "8", "--image-height-mean", "8"];
        let with = |extra: &[&str]| -> Result<ConversationOptions, String> {
            let a: Vec<&str> = img.iter().copied().chain(extra.iter().copied()).collect();
            conv(&a)
        };
        let c = with(&[
            "--image-source",
            "assets",
            "--image-source-sampling",
            "shuffle-cycle",
        ])
        .unwrap();
        let i = c.images.unwrap();
        assert_eq!(
            (i.source, i.sampling),
            (ImageSource::Assets, ImageSampling::ShuffleCycle)
        );
        assert_eq!(
            with(&[]).unwrap().images.unwrap().source,
            ImageSource::Noise
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.png"), b"x").unwrap();
        std::fs::write(dir.path().join("a.png"), b"x").unwrap();
        let d = dir.path().to_str().unwrap();
        let i = with(&["--image-source", d]).unwrap().images.unwrap();
        assert_eq!(
            i.source,
            ImageSource::Dir {
                dir: d.into(),
                files: vec![dir.path().join("a.png"), dir.path().join("b.png")].into()
            }
        );
        assert_eq!(
            with(&["--image-source-sampling", "sequential-cycle"]).unwrap_err(),
            "--image-source-sampling: 'sequential-cycle' needs --image-source assets or a directory (noise has no finite pool of images)"
        );
        assert_eq!(
            with(&["--image-source", "assets", "--image-source-sampling", "round-robin"]).unwrap_err(),
            "--image-source-sampling: 'round-robin': choose random-with-replacement, shuffle-cycle or sequential-cycle"
        );
        let empty = tempfile::tempdir().unwrap();
        let e = empty.path().to_str().unwrap();
        assert_eq!(
            with(&["--image-source", e]).unwrap_err(),
            format!("--image-source: no source images found in '{e}' (expected files named *.png, *.jpg, *.jpeg, *.jpe, *.jfif, *.webp, *.bmp, *.gif, *.tif, *.tiff, *.ppm, *.tga)")
        );
        let f = dir.path().join("a.png");
        assert_eq!(
            with(&["--image-source", f.to_str().unwrap()]).unwrap_err(),
            format!("--image-source: '{}' is not a directory", f.display())
        );
        std::fs::write(dir.path().join("c.jpg"), b"x").unwrap();
        ok_or_no_ffmpeg(with(&["--image-source", d]), "--image-source");
    }

    #[test]
    fn mp3_audio() {
        let mp3 = |rate: &str| {
            conv(&[
                "--audio-length-mean",
                "1",
                "--audio-format",
                "mp3",
                "--audio-sample-rates",
                rate,
            ])
        };
        assert_eq!(
            mp3("44.2").unwrap_err(),
            "--audio-sample-rates: 44.2 kHz is not an MP3 sample rate (choose from 8, 11.025, 12, 16, 22.05, 24, 32, 44.1, 48 kHz)"
        );
        if let Some(c) = ok_or_no_ffmpeg(mp3("22.05"), "--audio-format") {
            assert_eq!(c.audio.unwrap().format, AudioFormat::Mp3);
        }
    }
}
