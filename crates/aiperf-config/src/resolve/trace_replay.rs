//! The trace replay group (`cli/trace_replay.rs`): checked and typed.
//!
//! AIPerf 0.13 reads the replay knobs (`--replay-speedup`, `--trace-session-sample-ratio`,
//! `--max-idle-gap-cap-seconds`, `--open-loop-replay`, `--open-loop-strict`,
//! `--omit-kv-hints`, `--force-min-tokens`) only in its `baseten_trace` loader. As there, they
//! are refused when the dataset cannot be a baseten trace (no `--input-file`, a
//! `--public-dataset`, another explicit `--custom-dataset-type`); a format detected from the
//! file that ignores them is a warning, given by the engine once the format is known.

use super::{invalid, positive, ConfigError};
use crate::ProfileArgs;

/// The loader that honors the replay knobs.
pub const BASETEN_TRACE: &str = "baseten_trace";

/// How a recorded trace is cut, scaled and turned into requests.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceReplayOptions {
    /// `--ignore-trace-delays`: loaded turns lose their timestamps and delays.
    pub ignore_trace_delays: bool,
    /// `--trace-session-sample-ratio`: the fraction of sessions kept, in (0, 1].
    pub session_sample_ratio: Option<f64>,
    /// `--inter-turn-delay-cap-seconds`: closed-loop think times are clamped to this.
    pub inter_turn_delay_cap_s: Option<f64>,
    /// `--max-idle-gap-cap-seconds`: gaps between consecutive requests are shortened to this.
    pub max_idle_gap_cap_s: Option<f64>,
    /// `--replay-speedup`: recorded times are divided by this (1 when not given).
    pub replay_speedup: f64,
    /// `--open-loop-replay` (default) or `--no-open-loop-replay`.
    pub open_loop: bool,
    /// `--open-loop-strict`: every row its own single-turn session.
    pub open_loop_strict: bool,
    /// `--omit-kv-hints`: no `hash_ids` / `block_size` in the bodies.
    pub omit_kv_hints: bool,
    /// `--force-min-tokens` (default): `min_tokens` = the recorded output length.
    pub force_min_tokens: bool,
    /// The baseten-only flags given on the command line, for the engine's warning when the
    /// detected format ignores them.
    pub baseten_only_flags: Vec<&'static str>,
}

impl Default for TraceReplayOptions {
    fn default() -> Self {
        Self {
            ignore_trace_delays: false,
            session_sample_ratio: None,
            inter_turn_delay_cap_s: None,
            max_idle_gap_cap_s: None,
            replay_speedup: 1.0,
            open_loop: true,
            open_loop_strict: false,
            omit_kv_hints: false,
            force_min_tokens: true,
            baseten_only_flags: Vec::new(),
        }
    }
}

pub(super) fn resolve(
    args: &ProfileArgs,
    _warnings: &mut Vec<String>,
) -> Result<TraceReplayOptions, ConfigError> {
    let t = &args.trace_replay;
    if let Some(r) = t.trace_session_sample_ratio {
        if !(r > 0.0 && r <= 1.0) {
            return Err(invalid(
                "--trace-session-sample-ratio",
                format!("must be > 0 and <= 1, got {r}"),
            ));
        }
    }
    if let Some(s) = t.replay_speedup {
        positive("--replay-speedup", s)?;
    }
    if let Some(s) = t.max_idle_gap_cap_seconds {
        positive("--max-idle-gap-cap-seconds", s)?;
    }
    if let Some(s) = t.inter_turn_delay_cap_seconds {
        super::non_negative("--inter-turn-delay-cap-seconds", s)?;
    }
    let given = baseten_only_flags(args);
    check_baseten_only(args, &given)?;
    if is_baseten(args) {
        check_extra_input_collisions(args)?;
    }
    // Whether the dataset is replayed on its timestamps (where the flag has no effect) is
    // known only once it is loaded: the engine warns then.
    if t.ignore_trace_delays && args.input_file.is_none() && args.public_dataset.is_none() {
        return Err(invalid(
            "--ignore-trace-delays",
            "requires a trace dataset (--input-file)",
        ));
    }
    Ok(TraceReplayOptions {
        ignore_trace_delays: t.ignore_trace_delays,
        session_sample_ratio: t.trace_session_sample_ratio,
        inter_turn_delay_cap_s: t.inter_turn_delay_cap_seconds,
        max_idle_gap_cap_s: t.max_idle_gap_cap_seconds,
        replay_speedup: t.replay_speedup.unwrap_or(1.0),
        open_loop: !t.no_open_loop_replay,
        open_loop_strict: t.open_loop_strict,
        omit_kv_hints: t.omit_kv_hints,
        force_min_tokens: !t.no_force_min_tokens,
        baseten_only_flags: given,
    })
}

/// The baseten-only flags the user gave (a boolean pair counts in either polarity).
fn baseten_only_flags(args: &ProfileArgs) -> Vec<&'static str> {
    let t = &args.trace_replay;
    [
        (
            t.trace_session_sample_ratio.is_some(),
            "--trace-session-sample-ratio",
        ),
        (t.replay_speedup.is_some(), "--replay-speedup"),
        (
            t.max_idle_gap_cap_seconds.is_some(),
            "--max-idle-gap-cap-seconds",
        ),
        (
            t.open_loop_replay || t.no_open_loop_replay,
            "--open-loop-replay/--no-open-loop-replay",
        ),
        (t.open_loop_strict, "--open-loop-strict"),
        (t.omit_kv_hints, "--omit-kv-hints"),
        (
            t.force_min_tokens || t.no_force_min_tokens,
            "--force-min-tokens/--no-force-min-tokens",
        ),
    ]
    .into_iter()
    .filter(|(set, _)| *set)
    .map(|(_, flag)| flag)
    .collect()
}

fn is_baseten(args: &ProfileArgs) -> bool {
    args.custom_dataset_type.as_deref() == Some(BASETEN_TRACE)
}

/// AIPerf's `_reject_baseten_only_trace_flags`: the knobs need a file that can be a baseten
/// trace.
fn check_baseten_only(args: &ProfileArgs, given: &[&'static str]) -> Result<(), ConfigError> {
    let Some(&first) = given.first() else {
        return Ok(());
    };
    let also = if given.len() > 1 {
        format!(" (as are {})", given[1..].join(", "))
    } else {
        String::new()
    };
    let msg = format!("is only supported by the baseten_trace loader{also}");
    if args.public_dataset.is_some() || args.input_file.is_none() {
        return Err(invalid(
            first,
            format!("{msg}; provide --input-file and --custom-dataset-type baseten_trace"),
        ));
    }
    match args.custom_dataset_type.as_deref() {
        Some(kind) if kind != BASETEN_TRACE => Err(invalid(
            first,
            format!("{msg}, but --custom-dataset-type is {kind}"),
        )),
        _ => Ok(()),
    }
}

/// AIPerf's `_reject_baseten_trace_extra_input_collisions`: `--extra-inputs` keys the loader
/// overwrites per turn are refused, naming the flag that stops the overwrite.
fn check_extra_input_collisions(args: &ProfileArgs) -> Result<(), ConfigError> {
    let extra = super::input::parse_extra_inputs(&args.extra_inputs)?;
    let t = &args.trace_replay;
    match aiperf_dataset::replay::extra_input_collisions(
        &extra,
        !t.no_force_min_tokens,
        t.omit_kv_hints,
    ) {
        Some(reason) => Err(invalid("--extra-inputs", reason)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use crate::{Cli, Command, ProfileArgs};
    use clap::Parser;

    fn args(extra: &[&str]) -> ProfileArgs {
        let mut argv = vec!["aiperf", "profile", "-m", "m"];
        argv.extend_from_slice(extra);
        let Command::Profile(p) = Cli::try_parse_from(argv).expect("parses").command else {
            panic!("not profile")
        };
        *p
    }

    fn resolve(extra: &[&str]) -> Result<super::TraceReplayOptions, String> {
        let mut w = Vec::new();
        super::resolve(&args(extra), &mut w).map_err(|e| e.to_string())
    }

    const BASETEN: [&str; 4] = [
        "--input-file",
        "t.parquet",
        "--custom-dataset-type",
        "baseten_trace",
    ];

    fn baseten(extra: &[&str]) -> Result<super::TraceReplayOptions, String> {
        let mut a = BASETEN.to_vec();
        a.extend_from_slice(extra);
        resolve(&a)
    }

    #[test]
    fn defaults_are_aiperfs() {
        let o = resolve(&[]).unwrap();
        assert_eq!(o, super::TraceReplayOptions::default());
        assert!(o.open_loop && o.force_min_tokens && !o.omit_kv_hints);
        assert_eq!(o.replay_speedup, 1.0);
        let o = baseten(&[
            "--replay-speedup",
            "10",
            "--no-open-loop-replay",
            "--no-force-min-tokens",
            "--omit-kv-hints",
            "--trace-session-sample-ratio",
            "0.5",
            "--max-idle-gap-cap-seconds",
            "2",
        ])
        .unwrap();
        assert_eq!(o.replay_speedup, 10.0);
        assert!(!o.open_loop && !o.force_min_tokens && o.omit_kv_hints);
        assert_eq!(o.session_sample_ratio, Some(0.5));
        assert_eq!(o.max_idle_gap_cap_s, Some(2.0));
        assert_eq!(o.baseten_only_flags.len(), 6);
        // The last of a pair wins.
        let o = baseten(&["--no-open-loop-replay", "--open-loop-replay"]).unwrap();
        assert!(o.open_loop);
    }

    #[test]
    fn out_of_range_values_name_their_flag() {
        assert_eq!(
            baseten(&["--trace-session-sample-ratio", "0"]).unwrap_err(),
            "--trace-session-sample-ratio: must be > 0 and <= 1, got 0"
        );
        assert_eq!(
            baseten(&["--trace-session-sample-ratio", "1.5"]).unwrap_err(),
            "--trace-session-sample-ratio: must be > 0 and <= 1, got 1.5"
        );
        assert_eq!(
            baseten(&["--replay-speedup", "0"]).unwrap_err(),
            "--replay-speedup: must be > 0, got 0"
        );
        assert_eq!(
            baseten(&["--max-idle-gap-cap-seconds", "-1"]).unwrap_err(),
            "--max-idle-gap-cap-seconds: must be > 0, got -1"
        );
        assert_eq!(
            resolve(&["--inter-turn-delay-cap-seconds", "-1"]).unwrap_err(),
            "--inter-turn-delay-cap-seconds: must be >= 0, got -1"
        );
        assert_eq!(
            baseten(&["--replay-speedup", "NaN"]).unwrap_err(),
            "--replay-speedup: must be > 0, got NaN"
        );
    }

    #[test]
    fn baseten_only_flags_need_a_baseten_file() {
        assert_eq!(
            resolve(&["--replay-speedup", "2"]).unwrap_err(),
            "--replay-speedup: is only supported by the baseten_trace loader; provide \
             --input-file and --custom-dataset-type baseten_trace"
        );
        assert_eq!(
            resolve(&[
                "--input-file",
                "t.jsonl",
                "--custom-dataset-type",
                "mooncake_trace",
                "--omit-kv-hints",
                "--no-force-min-tokens"
            ])
            .unwrap_err(),
            "--omit-kv-hints: is only supported by the baseten_trace loader (as are \
             --force-min-tokens/--no-force-min-tokens), but --custom-dataset-type is \
             mooncake_trace"
        );
        assert_eq!(
            resolve(&["--public-dataset", "sharegpt", "--open-loop-strict"]).unwrap_err(),
            "--open-loop-strict: is only supported by the baseten_trace loader; provide \
             --input-file and --custom-dataset-type baseten_trace"
        );
        // A file whose format is detected later: accepted here (the engine warns if the
        // detected format ignores them).
        let o = resolve(&["--input-file", "t.parquet", "--replay-speedup", "2"]).unwrap();
        assert_eq!(o.baseten_only_flags, ["--replay-speedup"]);
    }

    #[test]
    fn extra_inputs_the_loader_overwrites_are_refused() {
        assert_eq!(
            baseten(&["--extra-inputs", "min_tokens:5"]).unwrap_err(),
            "--extra-inputs: min_tokens is overwritten per-turn by the baseten_trace loader; \
             pass --no-force-min-tokens to send your value instead"
        );
        assert_eq!(
            baseten(&[
                "--extra-inputs",
                "hash_ids:[1]",
                "--extra-inputs",
                "block_size:4"
            ])
            .unwrap_err(),
            "--extra-inputs: hash_ids is overwritten per-turn by the baseten_trace loader; \
             pass --omit-kv-hints to send your value instead; block_size is overwritten \
             per-turn by the baseten_trace loader; pass --omit-kv-hints to send your value \
             instead"
        );
        assert!(baseten(&["--extra-inputs", "min_tokens:5", "--no-force-min-tokens"]).is_ok());
        assert!(baseten(&["--extra-inputs", "hash_ids:[1]", "--omit-kv-hints"]).is_ok());
        assert!(baseten(&["--extra-inputs", "max_tokens:5"]).is_ok());
    }

    #[test]
    fn ignore_trace_delays_needs_a_file() {
        assert_eq!(
            resolve(&["--ignore-trace-delays"]).unwrap_err(),
            "--ignore-trace-delays: requires a trace dataset (--input-file)"
        );
        let o = resolve(&["--input-file", "t.jsonl", "--ignore-trace-delays"]).unwrap();
        assert!(o.ignore_trace_delays);
    }
}
