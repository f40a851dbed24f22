//! The "Conversation Input", "Prefix Prompt", "Audio Input" and "Image Input" groups: the
//! shape of synthetic conversations and what each one starts with or carries.

use crate::magic_list::One;
use std::path::PathBuf;

use aiperf_dataset::synthetic_media::{AudioConfig, ImageConfig, ImageFormat};

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
}

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
    if args.image_source != "noise" {
        return Err(invalid(
            "--image-source",
            format!(
                "'{}' is not available in this build (available: noise)",
                args.image_source
            ),
        ));
    }
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
    }))
}

/// Synthetic audio, when the mean length is > 0.
fn audio(args: &ProfileArgs) -> Result<Option<AudioConfig>, ConfigError> {
    if args.audio_length_mean.is_nan() || args.audio_length_mean <= 0.0 {
        return Ok(None);
    }
    if args.audio_format != "wav" {
        return Err(invalid(
            "--audio-format",
            format!(
                "'{}' is not available in this build (available: wav)",
                args.audio_format
            ),
        ));
    }
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
    Ok(Some(AudioConfig {
        length_mean: args.audio_length_mean,
        length_stddev: args.audio_length_stddev,
        sample_rates_khz: args.audio_sample_rates.clone(),
        depths: args.audio_depths.clone(),
        channels: args.audio_num_channels,
        batch: args.audio_batch_size,
    }))
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
            (&["--image-width-mean", "8", "--image-height-mean", "8", "--image-source", "file"], "--image-source: 'file' is not available in this build (available: noise)"),
            (&["--image-width-mean", "8", "--image-height-mean", "8", "--image-batch-size", "0"], "--image-batch-size: must be >= 1"),
            (&["--image-width-mean", "20000", "--image-height-mean", "8"], "--image-width-mean: images larger than 16384 pixels a side are not generated"),
            (&["--audio-length-mean", "1", "--audio-format", "mp3"], "--audio-format: 'mp3' is not available in this build (available: wav)"),
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
}
