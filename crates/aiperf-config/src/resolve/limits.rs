//! Upper bounds on values that size memory: a typo like `--concurrency 100000000000` or
//! `--isl 1000000000000` is refused with the limit named, never allocated.

use super::{invalid, ConfigError, ProfileConfig};

/// Requests one process keeps in flight at most (each holds a connection and its buffers).
pub const MAX_CONCURRENCY: usize = 1_000_000;
/// Dataset entries prepared at most (each is kept in memory as text and request body).
pub const MAX_DATASET_ENTRIES: usize = 10_000_000;
/// Tokens in one synthetic prompt at most (mean plus four standard deviations).
pub const MAX_PROMPT_TOKENS: f64 = 10_000_000.0;
/// Turns per synthetic conversation at most (mean plus four standard deviations).
pub const MAX_TURNS: f64 = 100_000.0;
/// Texts per request at most (`--prompt-batch-size`).
pub const MAX_BATCH_SIZE: usize = 100_000;
/// Seconds any duration, ramp or wait may last at most (30 days): beyond it nanosecond clocks
/// and deadlines stop being meaningful.
pub const MAX_SECONDS: f64 = 30.0 * 86_400.0;
/// Requests (or user turns) per second at least: one every 30 days.
pub const MIN_RATE: f64 = 1.0 / MAX_SECONDS;

/// Checks the resolved values against the limits above.
pub(super) fn check(cfg: &ProfileConfig) -> Result<(), ConfigError> {
    let concurrency = match &cfg.load {
        super::LoadMode::Concurrency { concurrency, .. } => Some(*concurrency),
        other => other.in_flight_cap(),
    }
    .into_iter()
    .chain([cfg.concurrency]);
    for c in concurrency {
        at_most("--concurrency", c as f64, MAX_CONCURRENCY as f64)?;
    }
    if let super::LoadMode::UserCentric { users, .. } = &cfg.load {
        at_most("--num-users", *users as f64, MAX_CONCURRENCY as f64)?;
    }
    if let Some(n) = cfg.conversation.conversation_num {
        at_most("--conversation-num", n as f64, MAX_DATASET_ENTRIES as f64)?;
    }
    at_most(
        "--num-dataset-entries",
        cfg.num_dataset_entries as f64,
        MAX_DATASET_ENTRIES as f64,
    )?;
    at_most(
        "--isl",
        cfg.isl_mean + 4.0 * cfg.isl_stddev,
        MAX_PROMPT_TOKENS,
    )?;
    at_most(
        "--conversation-turn-mean",
        cfg.conversation.turn_mean + 4.0 * cfg.conversation.turn_stddev,
        MAX_TURNS,
    )?;
    at_most(
        "--prompt-batch-size",
        cfg.batch_size as f64,
        MAX_BATCH_SIZE as f64,
    )?;
    for (flag, secs) in [
        ("--benchmark-duration", cfg.benchmark_duration_s),
        ("--benchmark-grace-period", cfg.grace_period_s),
        ("--warmup-duration", cfg.warmup_duration_s),
        ("--request-timeout-seconds", Some(cfg.request_timeout_s)),
    ] {
        if let Some(s) = secs {
            seconds(flag, s)?;
        }
    }
    if let Some(rate) = cfg.load.requested_rate() {
        if rate < MIN_RATE {
            return Err(invalid(
                "--request-rate",
                format!("{rate} is below one request per 30 days ({MIN_RATE:.3e} per second)"),
            ));
        }
    }
    Ok(())
}

/// A number of seconds no larger than [`MAX_SECONDS`].
pub(super) fn seconds(flag: &'static str, s: f64) -> Result<(), ConfigError> {
    if s <= MAX_SECONDS {
        return Ok(());
    }
    Err(invalid(
        flag,
        format!("{s} s is more than this client allows (30 days, {MAX_SECONDS} s)"),
    ))
}

fn at_most(flag: &'static str, value: f64, limit: f64) -> Result<(), ConfigError> {
    if value <= limit {
        return Ok(());
    }
    Err(invalid(
        flag,
        format!(
            "{} is more than this client allows ({}); such a value cannot be held in memory",
            human(value),
            human(limit)
        ),
    ))
}

/// `1000000` as `1,000,000`; fractions kept as typed.
fn human(v: f64) -> String {
    if v.fract() != 0.0 || v >= 1e18 {
        return format!("{v}");
    }
    aiperf_core::numfmt::group_digits(&format!("{}", v as u64))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{err, resolve};
    use super::*;

    #[test]
    fn absurd_sizes_are_refused_with_the_flag_and_the_limit() {
        for (a, msg) in [
            (
                &["-m", "x", "--concurrency", "100000000000", "--request-count", "5"][..],
                "--concurrency: 100,000,000,000 is more than this client allows (1,000,000)",
            ),
            (
                &["-m", "x", "--request-rate", "5", "--concurrency", "2000000"],
                "--concurrency: 2,000,000 is more than this client allows (1,000,000)",
            ),
            (
                &["-m", "x", "--isl", "1000000000000"],
                "--isl: 1,000,000,000,000 is more than this client allows (10,000,000)",
            ),
            (
                &["-m", "x", "--isl", "9000000", "--isl-stddev", "500000"],
                "--isl: 11,000,000 is more than this client allows (10,000,000)",
            ),
            (
                &["-m", "x", "--num-dataset-entries", "1000000000000"],
                "--num-dataset-entries: 1,000,000,000,000 is more than this client allows (10,000,000)",
            ),
            (
                &["-m", "x", "--conversation-num", "20000000"],
                "--conversation-num: 20,000,000 is more than this client allows (10,000,000)",
            ),
            (
                &["-m", "x", "--conversation-turn-mean", "1e9"],
                "--conversation-turn-mean: 1,000,000,000 is more than this client allows (100,000)",
            ),
            (
                &["-m", "x", "--prompt-batch-size", "1000000"],
                "--prompt-batch-size: 1,000,000 is more than this client allows (100,000)",
            ),
        ] {
            let e = err(a);
            assert!(e.starts_with(msg), "{a:?}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }

    #[test]
    fn the_limits_themselves_are_accepted() {
        for a in [
            &["-m", "x", "--concurrency", "1000000"][..],
            &["-m", "x", "--isl", "10000000"],
            &["-m", "x", "--num-dataset-entries", "10000000"],
        ] {
            assert!(resolve(a).is_ok(), "{a:?}");
        }
        assert_eq!(human(1234567.0), "1,234,567");
        assert_eq!(human(999.0), "999");
        assert_eq!(human(1.5), "1.5");
    }
}
