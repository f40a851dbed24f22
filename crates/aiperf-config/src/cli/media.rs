//! Synthetic video flags (`--video-*`) and image sources (`--image-source-sampling`): media
//! attached to synthetic turns. Checked in `resolve/conversation.rs`.

use clap::Args;

/// Flattened into `aiperf profile`'s options.
#[derive(Debug, Clone, Default, Args)]
pub struct MediaArgs {
    // ---- Image Input ----
    /// How source images are picked from `--image-source assets` or a directory:
    /// random-with-replacement (each independently), shuffle-cycle (every image once per
    /// shuffled cycle) or sequential-cycle (sorted order, wrapping). Noise allows only
    /// random-with-replacement.
    #[arg(
        long,
        default_value = "random-with-replacement",
        help_heading = "Image Input"
    )]
    pub image_source_sampling: String,

    // ---- Video Input ----
    /// Number of video files to include in each multimodal request (0 disables video).
    #[arg(
        long,
        visible_alias = "batch-size-video",
        default_value_t = 1,
        help_heading = "Video Input"
    )]
    pub video_batch_size: usize,
    /// Duration in seconds of each synthetic clip (frames = duration x fps). AIPerf's help says
    /// 5.0, but 1.0 is what it uses when the flag is not given, and so do we.
    #[arg(long, default_value_t = 1.0, help_heading = "Video Input")]
    pub video_duration: f64,
    /// Frames per second of generated video.
    #[arg(long, default_value_t = 4, help_heading = "Video Input")]
    pub video_fps: u32,
    /// Video frame width in pixels; with --video-height, enables synthetic video (needs
    /// ffmpeg on PATH).
    #[arg(long, help_heading = "Video Input")]
    pub video_width: Option<u32>,
    /// Video frame height in pixels; with --video-width, enables synthetic video.
    #[arg(long, help_heading = "Video Input")]
    pub video_height: Option<u32>,
    /// What the frames show: moving_shapes, grid_clock or noise.
    #[arg(long, default_value = "moving_shapes", help_heading = "Video Input")]
    pub video_synth_type: String,
    /// Container format of generated video: webm or mp4.
    #[arg(long, default_value = "webm", help_heading = "Video Input")]
    pub video_format: String,
    /// The ffmpeg video codec (e.g. libvpx-vp9, libvpx, libx264).
    #[arg(long, default_value = "libvpx-vp9", help_heading = "Video Input")]
    pub video_codec: String,
    /// Sample rate of the embedded audio track, in Hz or kHz (values above 96 are Hz).
    #[arg(long, default_value_t = 44100.0, help_heading = "Video Input")]
    pub video_audio_sample_rate: f64,
    /// Audio channels embedded in each video: 0 (no track), 1 (mono) or 2 (stereo).
    #[arg(
        long = "video-audio-num-channels",
        default_value_t = 0,
        help_heading = "Video Input"
    )]
    pub video_audio_channels: u16,
    /// Codec of the embedded audio track: aac, libvorbis or libopus (default: libvorbis for
    /// webm, libopus for mp4).
    #[arg(long, help_heading = "Video Input")]
    pub video_audio_codec: Option<String>,
    /// Bit depth of the embedded audio track: 8, 16, 24 or 32.
    #[arg(long, default_value_t = 16, help_heading = "Video Input")]
    pub video_audio_depth: u16,
}
