//! The warm-up phase's own load (`--warmup-concurrency`, `--warmup-request-rate`, ...,
//! `--num-warmup-sessions`, `--warmup-grace-period`) and prefill concurrency
//! (`--prefill-concurrency`, its ramp and its warm-up variants), by AIPerf 0.13's rules
//! (`config/flags/_converter_warmup.py`): a warm-up flag falls back to its profiling flag, a
//! warm-up runs at a rate only when a warm-up or profiling rate is given (closed loop
//! otherwise, even before a fixed-schedule or user-centric profiling phase), and warm-up flags
//! without a warm-up trigger do nothing (we say so).

use aiperf_plugins::Registry;

use super::limits::MAX_CONCURRENCY;
use super::load::arrival_pattern;
use super::{invalid, non_negative, positive, ConfigError, LoadMode};
use crate::cli::ProfileArgs;
use crate::magic_list::One;

/// `--prefill-concurrency`: at most `slots` requests of a phase wait for their first token at
/// once; a request holds its slot from just before sending until its first content arrives (or
/// it ends without any).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrefillLimit {
    pub slots: usize,
    /// `--prefill-concurrency-ramp-duration`: slots open one by one from 1 over this long.
    pub ramp_s: Option<f64>,
}

/// What the warm-up phase runs besides its request count and duration
/// (`ProfileConfig::warmup_request_count`, `warmup_duration_s`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WarmupOptions {
    /// `--num-warmup-sessions`: a warm-up trigger of its own.
    pub sessions: Option<u64>,
    /// `--warmup-grace-period` (needs `--warmup-duration`); `None` waits for every response.
    pub grace_s: Option<f64>,
    /// The warm-up's load; `None` when there is no warm-up.
    pub mode: Option<LoadMode>,
    pub prefill: Option<PrefillLimit>,
}

/// Profiling's `--prefill-concurrency`, checked against `streaming` and the phase's
/// concurrency (`cap`: `--concurrency`, or 1 in a closed loop).
pub(super) fn profiling_prefill(
    args: &ProfileArgs,
    streaming: bool,
    mode: &LoadMode,
) -> Result<Option<PrefillLimit>, ConfigError> {
    if let Some(r) = args.prefill_concurrency_ramp_duration {
        positive("--prefill-concurrency-ramp-duration", r)?;
    }
    let Some(slots) = args.prefill_concurrency.one() else {
        return Ok(None);
    };
    let limit = PrefillLimit {
        slots,
        ramp_s: args.prefill_concurrency_ramp_duration,
    };
    check_prefill(
        "--prefill-concurrency",
        "profiling",
        limit,
        streaming,
        concurrency_of(mode),
    )?;
    Ok(Some(limit))
}

/// The concurrency a phase's prefill limit must not exceed, when it has one.
fn concurrency_of(mode: &LoadMode) -> Option<usize> {
    match mode {
        LoadMode::Concurrency { concurrency, .. } => Some(*concurrency),
        other => other.in_flight_cap(),
    }
}

fn check_prefill(
    flag: &'static str,
    phase: &str,
    limit: PrefillLimit,
    streaming: bool,
    concurrency: Option<usize>,
) -> Result<(), ConfigError> {
    if limit.slots == 0 {
        return Err(invalid(flag, "must be >= 1"));
    }
    if limit.slots > MAX_CONCURRENCY {
        return Err(invalid(
            flag,
            format!("must be <= {MAX_CONCURRENCY}, got {}", limit.slots),
        ));
    }
    if !streaming {
        return Err(invalid(
            flag,
            format!("Phase '{phase}': prefill_concurrency requires endpoint.streaming=true (add --streaming: the first token ends a request's prefill)"),
        ));
    }
    if concurrency.is_some_and(|c| limit.slots > c) {
        return Err(invalid(
            flag,
            format!("Phase '{phase}': prefill_concurrency must be <= concurrency"),
        ));
    }
    Ok(())
}

/// The warm-up flags resolved. `profiling_prefill` is profiling's limit (the warm-up's
/// fallback); `warnings` gets one line per warm-up flag that has no warm-up to apply to.
pub(super) fn resolve(
    args: &ProfileArgs,
    registry: &Registry,
    streaming: bool,
    warnings: &mut Vec<String>,
) -> Result<WarmupOptions, ConfigError> {
    check_values(args)?;
    let triggered = args.warmup_request_count.is_some_and(|n| n > 0)
        || args.num_warmup_sessions.is_some()
        || args.warmup_duration.is_some();
    if !triggered {
        if args.warmup_grace_period.is_some() {
            return Err(invalid(
                "--warmup-grace-period",
                "--warmup-grace-period was supplied without any warmup trigger; warmup runs only when --warmup-request-count, --num-warmup-sessions, or --warmup-duration is set. Pass --warmup-duration to enable a duration-bounded warmup with the grace period, or drop --warmup-grace-period.",
            ));
        }
        warn_untriggered(args, warnings);
        return Ok(WarmupOptions::default());
    }
    if args.warmup_grace_period.is_some() && args.warmup_duration.is_none() {
        return Err(invalid(
            "--warmup-grace-period",
            "--warmup-grace-period requires --warmup-duration; grace_period applies only to duration-bounded warmup phases. Either set --warmup-duration, or drop --warmup-grace-period when using --warmup-request-count / --num-warmup-sessions.",
        ));
    }
    let mode = warmup_mode(args, registry)?;
    let prefill = match args
        .warmup_prefill_concurrency
        .or(args.prefill_concurrency.one())
    {
        Some(slots) => {
            let limit = PrefillLimit {
                slots,
                ramp_s: args
                    .warmup_prefill_concurrency_ramp_duration
                    .or(args.prefill_concurrency_ramp_duration),
            };
            let flag = if args.warmup_prefill_concurrency.is_some() {
                "--warmup-prefill-concurrency"
            } else {
                "--prefill-concurrency"
            };
            check_prefill(flag, "warmup", limit, streaming, concurrency_of(&mode))?;
            Some(limit)
        }
        None => None,
    };
    Ok(WarmupOptions {
        sessions: args.num_warmup_sessions,
        grace_s: args.warmup_grace_period,
        mode: Some(mode),
        prefill,
    })
}

/// Single values checked as AIPerf's field constraints do.
fn check_values(args: &ProfileArgs) -> Result<(), ConfigError> {
    let at_least_one = [
        ("--num-warmup-sessions", args.num_warmup_sessions),
        (
            "--warmup-concurrency",
            args.warmup_concurrency.map(|c| c as u64),
        ),
        (
            "--warmup-prefill-concurrency",
            args.warmup_prefill_concurrency.map(|c| c as u64),
        ),
    ];
    for (flag, v) in at_least_one {
        if v == Some(0) {
            return Err(invalid(flag, "must be >= 1"));
        }
        if v.is_some_and(|v| v > MAX_CONCURRENCY as u64) && flag != "--num-warmup-sessions" {
            return Err(invalid(flag, format!("must be <= {MAX_CONCURRENCY}")));
        }
    }
    for (flag, v) in [
        ("--warmup-request-rate", args.warmup_request_rate),
        (
            "--warmup-concurrency-ramp-duration",
            args.warmup_concurrency_ramp_duration,
        ),
        (
            "--warmup-prefill-concurrency-ramp-duration",
            args.warmup_prefill_concurrency_ramp_duration,
        ),
        (
            "--warmup-request-rate-ramp-duration",
            args.warmup_request_rate_ramp_duration,
        ),
    ] {
        if let Some(v) = v {
            positive(flag, v)?;
        }
    }
    if let Some(g) = args.warmup_grace_period {
        non_negative("--warmup-grace-period", g)?;
    }
    Ok(())
}

/// AIPerf's `_warmup_pattern_type`: at a rate (the warm-up's, else profiling's) with the
/// concurrency as an optional cap, else closed loop at the warm-up's concurrency, else
/// `--concurrency`, else 1.
fn warmup_mode(args: &ProfileArgs, registry: &Registry) -> Result<LoadMode, ConfigError> {
    let concurrency = args.warmup_concurrency.or(args.concurrency.one());
    let rate_ramp = args
        .warmup_request_rate_ramp_duration
        .or(args.request_rate_ramp_duration);
    let Some(rate) = args.warmup_request_rate.or(args.request_rate.one()) else {
        if args.warmup_request_rate_ramp_duration.is_some() {
            return Err(invalid(
                "--warmup-request-rate-ramp-duration",
                "--warmup-request-rate-ramp-duration requires warmup rate-controlled scheduling. Pass --warmup-request-rate, or drop --warmup-request-rate-ramp-duration.",
            ));
        }
        return Ok(LoadMode::Concurrency {
            concurrency: concurrency.unwrap_or(1),
            ramp_s: args
                .warmup_concurrency_ramp_duration
                .or(args.concurrency_ramp_duration),
        });
    };
    let (flag, name) = match (&args.warmup_arrival_pattern, &args.arrival_pattern) {
        (Some(p), _) => ("--warmup-arrival-pattern", p.as_str()),
        (None, Some(p)) => ("--arrival-pattern", p.as_str()),
        (None, None) => ("--warmup-arrival-pattern", "poisson"),
    };
    if name == "concurrency_burst" {
        return Err(invalid(
            flag,
            "concurrency_burst has no rate; a warmup at a rate needs constant, poisson or gamma",
        ));
    }
    let smoothness = (name == "gamma")
        .then_some(args.arrival_smoothness)
        .flatten();
    Ok(LoadMode::Rate {
        rate,
        pattern: arrival_pattern(registry, flag, name, smoothness)?,
        smoothness,
        cap: concurrency,
        ramp_s: rate_ramp,
    })
}

/// One warning naming the warm-up flags given without a warm-up (AIPerf drops them silently).
fn warn_untriggered(args: &ProfileArgs, warnings: &mut Vec<String>) {
    let given: Vec<&str> = [
        ("--warmup-concurrency", args.warmup_concurrency.is_some()),
        (
            "--warmup-prefill-concurrency",
            args.warmup_prefill_concurrency.is_some(),
        ),
        ("--warmup-request-rate", args.warmup_request_rate.is_some()),
        (
            "--warmup-arrival-pattern",
            args.warmup_arrival_pattern.is_some(),
        ),
        (
            "--warmup-concurrency-ramp-duration",
            args.warmup_concurrency_ramp_duration.is_some(),
        ),
        (
            "--warmup-prefill-concurrency-ramp-duration",
            args.warmup_prefill_concurrency_ramp_duration.is_some(),
        ),
        (
            "--warmup-request-rate-ramp-duration",
            args.warmup_request_rate_ramp_duration.is_some(),
        ),
    ]
    .into_iter()
    .filter_map(|(flag, set)| set.then_some(flag))
    .collect();
    if !given.is_empty() {
        warnings.push(format!(
            "{} {} no effect without a warmup phase (--warmup-request-count, --num-warmup-sessions or --warmup-duration)",
            given.join(", "),
            if given.len() == 1 { "has" } else { "have" }
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{err, resolve};
    use super::*;
    use aiperf_timing::arrival::ArrivalPattern;

    fn warmup(a: &[&str]) -> WarmupOptions {
        let mut full = vec!["-m", "m", "--streaming"];
        full.extend_from_slice(a);
        resolve(&full).unwrap().warmup
    }

    #[test]
    fn warmup_flags_fall_back_to_profiling_flags() {
        // Closed loop at --concurrency when neither warm-up nor profiling has a rate.
        let w = warmup(&["--concurrency", "8", "--warmup-request-count", "5"]);
        assert_eq!(
            w.mode,
            Some(LoadMode::Concurrency {
                concurrency: 8,
                ramp_s: None
            })
        );
        // Its own concurrency and ramp win.
        let w = warmup(&[
            "--concurrency",
            "8",
            "--concurrency-ramp-duration",
            "3",
            "--num-warmup-sessions",
            "2",
            "--warmup-concurrency",
            "2",
        ]);
        assert_eq!(
            w.mode,
            Some(LoadMode::Concurrency {
                concurrency: 2,
                ramp_s: Some(3.0)
            })
        );
        assert_eq!(w.sessions, Some(2));
        // At profiling's rate and pattern, with --concurrency as the cap.
        let w = warmup(&[
            "--request-rate",
            "50",
            "--arrival-pattern",
            "constant",
            "--concurrency",
            "4",
            "--warmup-duration",
            "2",
            "--warmup-grace-period",
            "1",
        ]);
        assert_eq!(
            w.mode,
            Some(LoadMode::Rate {
                rate: 50.0,
                pattern: ArrivalPattern::Constant,
                smoothness: None,
                cap: Some(4),
                ramp_s: None
            })
        );
        assert_eq!(w.grace_s, Some(1.0));
        // A warm-up rate of its own before a closed-loop profiling phase.
        let w = warmup(&[
            "--warmup-request-count",
            "5",
            "--warmup-request-rate",
            "20",
            "--warmup-request-rate-ramp-duration",
            "2",
        ]);
        assert_eq!(
            w.mode,
            Some(LoadMode::Rate {
                rate: 20.0,
                pattern: ArrivalPattern::Poisson,
                smoothness: None,
                cap: None,
                ramp_s: Some(2.0)
            })
        );
    }

    #[test]
    fn no_trigger_no_warmup_and_a_warning() {
        let cfg = resolve(&["-m", "m", "--warmup-concurrency", "3"]).unwrap();
        assert_eq!(cfg.warmup, WarmupOptions::default());
        assert!(
            cfg.warnings
                .iter()
                .any(|w| w.starts_with("--warmup-concurrency has no effect without a warmup phase")),
            "{:?}",
            cfg.warnings
        );
    }

    #[test]
    fn prefill_limits_follow_aiperfs_rules() {
        let cfg = resolve(&[
            "-m",
            "m",
            "--streaming",
            "--concurrency",
            "8",
            "--prefill-concurrency",
            "2",
            "--prefill-concurrency-ramp-duration",
            "4",
            "--warmup-request-count",
            "3",
        ])
        .unwrap();
        let limit = PrefillLimit {
            slots: 2,
            ramp_s: Some(4.0),
        };
        assert_eq!(cfg.prefill, Some(limit));
        assert_eq!(cfg.warmup.prefill, Some(limit), "warm-up falls back to it");
        assert_eq!(
            err(&["-m", "m", "--concurrency", "4", "--prefill-concurrency", "2"]),
            "--prefill-concurrency: Phase 'profiling': prefill_concurrency requires endpoint.streaming=true (add --streaming: the first token ends a request's prefill)"
        );
        assert_eq!(
            err(&[
                "-m",
                "m",
                "--streaming",
                "--concurrency",
                "4",
                "--prefill-concurrency",
                "8"
            ]),
            "--prefill-concurrency: Phase 'profiling': prefill_concurrency must be <= concurrency"
        );
        // Closed loop without --concurrency runs one session: a prefill limit above it is refused.
        assert!(
            err(&["-m", "m", "--streaming", "--prefill-concurrency", "2"])
                .ends_with("prefill_concurrency must be <= concurrency")
        );
        // At a rate without a cap, any limit goes.
        assert!(resolve(&[
            "-m",
            "m",
            "--streaming",
            "--request-rate",
            "10",
            "--prefill-concurrency",
            "64"
        ])
        .is_ok());
        assert_eq!(
            err(&[
                "-m",
                "m",
                "--streaming",
                "--concurrency",
                "4",
                "--warmup-request-count",
                "2",
                "--warmup-concurrency",
                "1",
                "--warmup-prefill-concurrency",
                "2"
            ]),
            "--warmup-prefill-concurrency: Phase 'warmup': prefill_concurrency must be <= concurrency"
        );
    }

    #[test]
    fn warmup_mistakes_are_named_as_aiperf_names_them() {
        assert!(err(&["-m", "m", "--warmup-grace-period", "2"]).starts_with(
            "--warmup-grace-period: --warmup-grace-period was supplied without any warmup trigger"
        ));
        assert!(err(&[
            "-m",
            "m",
            "--warmup-request-count",
            "2",
            "--warmup-grace-period",
            "2"
        ])
        .starts_with("--warmup-grace-period: --warmup-grace-period requires --warmup-duration"));
        assert!(err(&[
            "-m",
            "m",
            "--warmup-request-count",
            "2",
            "--warmup-request-rate-ramp-duration",
            "2"
        ])
        .contains("requires warmup rate-controlled scheduling"));
        assert_eq!(
            err(&["-m", "m", "--num-warmup-sessions", "0"]),
            "--num-warmup-sessions: must be >= 1"
        );
        assert_eq!(
            err(&[
                "-m",
                "m",
                "--warmup-request-count",
                "1",
                "--warmup-request-rate",
                "0"
            ]),
            "--warmup-request-rate: must be > 0, got 0"
        );
        assert!(err(&[
            "-m",
            "m",
            "--warmup-request-count",
            "1",
            "--warmup-request-rate",
            "5",
            "--warmup-arrival-pattern",
            "nope"
        ])
        .starts_with("--warmup-arrival-pattern"));
    }
}
