//! The "Load Generator", "Fixed Schedule", "User-Centric Rate", "Warmup" and "Request
//! Cancellation" groups: how fast requests go out and when the run stops.

use crate::magic_list::One;
use aiperf_plugins::Registry;
use aiperf_timing::arrival::ArrivalPattern;

use std::sync::Arc;

use aiperf_timing::series::{RatePoint, RateSeries};

use super::{invalid, non_negative, positive, ConfigError};
use crate::cli::ProfileArgs;

/// How load is generated.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadMode {
    /// Closed loop: `concurrency` sessions, each sending when its previous request finished.
    Concurrency {
        concurrency: usize,
        ramp_s: Option<f64>,
    },
    /// Open loop at `rate` req/s with the `pattern` arrival process; `cap` limits requests in flight.
    Rate {
        rate: f64,
        /// The arrival process, gamma with its shape (1 when `--arrival-smoothness` is not given).
        pattern: ArrivalPattern,
        /// `--arrival-smoothness` as given, only for `input_config` (which reports null when the
        /// flag was not used); `pattern` holds the value in effect.
        smoothness: Option<f64>,
        cap: Option<usize>,
        ramp_s: Option<f64>,
    },
    /// `users` simulated users, each sending its conversation's turns `users / rate` seconds
    /// apart; a user that finishes is replaced by a new one, so `rate` turns/s go out in all.
    UserCentric { rate: f64, users: usize },
    /// Replay dataset timestamps. `None` start offset with `auto_offset` means "first timestamp".
    FixedSchedule {
        auto_offset: bool,
        start_offset_ms: Option<i64>,
        end_offset_ms: Option<i64>,
        cap: Option<usize>,
    },
}

/// Everything a timing mode means outside the engine's workers, in one place: how it is
/// described, named in the artifact directory, capped, and what its warmup runs.
impl LoadMode {
    /// Whether requests follow a schedule (rate, replay, user lanes) rather than a closed loop.
    pub fn is_open_loop(&self) -> bool {
        !matches!(self, LoadMode::Concurrency { .. })
    }

    /// The rate the user asked for (req/s or turns/s), in rate modes.
    pub fn requested_rate(&self) -> Option<f64> {
        match self {
            LoadMode::Rate { rate, .. } | LoadMode::UserCentric { rate, .. } => Some(*rate),
            LoadMode::Concurrency { .. } | LoadMode::FixedSchedule { .. } => None,
        }
    }

    /// The limit on requests in flight of a scheduled mode (`--concurrency` with a rate).
    pub fn in_flight_cap(&self) -> Option<usize> {
        match self {
            LoadMode::Rate { cap, .. } | LoadMode::FixedSchedule { cap, .. } => *cap,
            LoadMode::Concurrency { .. } | LoadMode::UserCentric { .. } => None,
        }
    }

    /// What the warmup phase runs: a replay warms up at `concurrency` instead.
    pub fn for_warmup(&self, concurrency: usize) -> LoadMode {
        match self {
            LoadMode::FixedSchedule { .. } => LoadMode::Concurrency {
                concurrency,
                ramp_s: None,
            },
            other => other.clone(),
        }
    }

    /// The mode in words, for the log.
    pub fn describe(&self) -> String {
        match self {
            LoadMode::Concurrency { concurrency, .. } => format!("concurrency {concurrency}"),
            LoadMode::Rate {
                rate, pattern, cap, ..
            } => format!(
                "{pattern} arrivals at {rate} req/s{}",
                cap.map(|c| format!(", at most {c} in flight"))
                    .unwrap_or_default()
            ),
            LoadMode::FixedSchedule { .. } => "fixed-schedule replay".to_string(),
            LoadMode::UserCentric { rate, users } => format!(
                "{users} users at {rate} turns/s in all (one turn per user every {:.3} s)",
                *users as f64 / rate
            ),
        }
    }

    /// The last part of AIPerf's default artifact directory name.
    pub fn stimulus(&self) -> String {
        match self {
            LoadMode::Concurrency { concurrency, .. } => format!("concurrency{concurrency}"),
            LoadMode::Rate {
                rate, cap: Some(c), ..
            } => format!("concurrency{c}-request_rate{rate}"),
            LoadMode::Rate {
                rate, cap: None, ..
            } => format!("request_rate{rate}"),
            LoadMode::FixedSchedule { .. } => "fixed_schedule".to_string(),
            LoadMode::UserCentric { rate, users } => {
                format!("user_centric_rate{rate}-users{users}")
            }
        }
    }
}

/// `--request-cancellation-rate` and `--request-cancellation-delay`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestCancellation {
    /// Percentage (0-100) of profiling requests to cancel.
    pub rate_pct: f64,
    /// Seconds after sending before a selected request is cancelled.
    pub delay_s: f64,
}

/// The load and stop-condition flags, checked.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Load {
    /// `--concurrency`, 1 when not given.
    pub concurrency: usize,
    pub load: LoadMode,
    pub no_fixed_schedule: bool,
    pub cancellation: Option<RequestCancellation>,
    pub request_count: Option<u64>,
    pub benchmark_duration_s: Option<f64>,
    pub grace_period_s: Option<f64>,
    /// `None` for 0 (no warmup).
    pub warmup_request_count: Option<u64>,
    pub warmup_duration_s: Option<f64>,
    /// `--request-rate-series`, read and checked.
    pub rate_series: Option<Arc<RateSeries>>,
}

/// `has_input_file`: whether a dataset file is used (given, or found for `--public-dataset`).
pub(super) fn resolve(
    args: &ProfileArgs,
    registry: &Registry,
    has_input_file: bool,
) -> Result<Load, ConfigError> {
    if args.concurrency.one() == Some(0) {
        return Err(invalid("--concurrency", "must be >= 1"));
    }
    if args.request_count.one() == Some(0) {
        return Err(invalid("--request-count", "must be >= 1"));
    }
    if let Some(d) = args.benchmark_duration.one() {
        positive("--benchmark-duration", d)?;
    }
    let grace_period_s = grace_period(args)?;
    if let Some(d) = args.warmup_duration {
        positive("--warmup-duration", d)?;
    }
    let rate_series = rate_series(args)?;
    Ok(Load {
        concurrency: args.concurrency.one().unwrap_or(1),
        load: load_mode(args, registry, has_input_file, rate_series.as_deref())?,
        no_fixed_schedule: args.no_fixed_schedule,
        cancellation: cancellation(args)?,
        request_count: args.request_count.one(),
        benchmark_duration_s: args.benchmark_duration.one(),
        grace_period_s,
        warmup_request_count: args.warmup_request_count.filter(|&n| n > 0),
        warmup_duration_s: args.warmup_duration,
        rate_series,
    })
}

/// `--request-rate-series FILE`: AIPerf's JSON, `{"points": [{"time_s", "qps"}, ...]}` or the
/// bare array; errors name the flag and the file.
fn rate_series(args: &ProfileArgs) -> Result<Option<Arc<RateSeries>>, ConfigError> {
    const FLAG: &str = "--request-rate-series";
    let Some(path) = &args.request_rate_series else {
        return Ok(None);
    };
    if args.request_rate.is_some() {
        return Err(invalid(
            FLAG,
            "--request-rate and --request-rate-series are mutually exclusive.",
        ));
    }
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        invalid(
            FLAG,
            format!("cannot read request-rate series JSON '{shown}': {e}"),
        )
    })?;
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        invalid(
            FLAG,
            format!("invalid request-rate series JSON '{shown}': {e}"),
        )
    })?;
    let points = match &doc {
        serde_json::Value::Array(a) => a,
        serde_json::Value::Object(o) => match (o.len(), o.get("points")) {
            (1, Some(serde_json::Value::Array(a))) => a,
            (1, Some(_)) => {
                return Err(invalid(FLAG, format!("'{shown}': Request-rate series JSON points must be an array")))
            }
            _ => {
                return Err(invalid(FLAG, format!("'{shown}': Request-rate series JSON must contain exactly one top-level key: points")))
            }
        },
        _ => {
            return Err(invalid(FLAG, format!("'{shown}': Request-rate series JSON must be an object with points or a points array")))
        }
    };
    let mut parsed = Vec::with_capacity(points.len().min(1 << 20));
    for (i, p) in points.iter().enumerate() {
        let field = |name: &str| p.get(name).and_then(serde_json::Value::as_f64);
        let extra = p
            .as_object()
            .is_none_or(|o| o.keys().any(|k| k != "time_s" && k != "qps"));
        match (field("time_s"), field("qps")) {
            (Some(time_s), Some(qps)) if !extra => parsed.push(RatePoint { time_s, qps }),
            _ => {
                return Err(invalid(FLAG, format!("'{shown}': Invalid request-rate series point {i}: expected {{\"time_s\": number, \"qps\": number}}, got {p}")))
            }
        }
    }
    RateSeries::new(parsed)
        .map(|s| Some(Arc::new(s)))
        .map_err(|e| invalid(FLAG, format!("'{shown}': {e}")))
}

/// Only with a duration: AIPerf's 30 s by default, except that user-centric runs wait for every
/// started user.
fn grace_period(args: &ProfileArgs) -> Result<Option<f64>, ConfigError> {
    match (args.benchmark_grace_period, args.benchmark_duration.one()) {
        (Some(_), None) => Err(invalid(
            "--benchmark-grace-period",
            "requires --benchmark-duration to be set",
        )),
        (Some(g), Some(_)) => {
            if g.is_nan() || g < 0.0 {
                return Err(invalid(
                    "--benchmark-grace-period",
                    format!("must be >= 0, got {g}"),
                ));
            }
            Ok(Some(g))
        }
        (None, Some(_)) if args.user_centric_rate.is_some() => Ok(None),
        (None, Some(_)) => Ok(Some(30.0)),
        (None, None) => Ok(None),
    }
}

fn cancellation(args: &ProfileArgs) -> Result<Option<RequestCancellation>, ConfigError> {
    match (
        args.request_cancellation_rate,
        args.request_cancellation_delay,
    ) {
        (None, Some(_)) => Err(invalid(
            "--request-cancellation-delay",
            "requires --request-cancellation-rate to be set",
        )),
        (None, None) => Ok(None),
        (Some(r), d) => {
            if !(0.0..=100.0).contains(&r) {
                return Err(invalid(
                    "--request-cancellation-rate",
                    format!("must be between 0 and 100, got {r}"),
                ));
            }
            let d = d.unwrap_or(0.0);
            non_negative("--request-cancellation-delay", d)?;
            Ok(Some(RequestCancellation {
                rate_pct: r,
                delay_s: d,
            }))
        }
    }
}

/// The load mode from AIPerf's rules: fixed schedule, else user-centric rate, else request
/// rate, else concurrency.
fn load_mode(
    args: &ProfileArgs,
    registry: &Registry,
    has_input_file: bool,
    series: Option<&RateSeries>,
) -> Result<LoadMode, ConfigError> {
    if series.is_some() && (args.fixed_schedule || args.user_centric_rate.is_some()) {
        return Err(invalid(
            "--request-rate-series",
            "needs a rate-controlled phase; it cannot be combined with --fixed-schedule or --user-centric-rate",
        ));
    }
    if args.num_users.one().is_some() && args.user_centric_rate.is_none() {
        return Err(invalid("--num-users", "requires --user-centric-rate"));
    }
    if let Some(c) = args.concurrency_ramp_duration {
        positive("--concurrency-ramp-duration", c)?;
    }
    if let Some(r) = args.request_rate_ramp_duration {
        positive("--request-rate-ramp-duration", r)?;
    }
    check_fixed_schedule_offsets(args, has_input_file)?;
    if let Some(p) = &args.arrival_pattern {
        registry
            .get("arrival_pattern", p)
            .map_err(|e| invalid("--arrival-pattern", e.to_string()))?;
    }
    if let Some(k) = args.arrival_smoothness {
        positive("--arrival-smoothness", k)?;
        if args
            .arrival_pattern
            .as_deref()
            .is_some_and(|p| p != "gamma")
        {
            return Err(invalid(
                "--arrival-smoothness",
                "is only supported with --arrival-pattern gamma",
            ));
        }
    }
    if args.fixed_schedule {
        if !has_input_file {
            return Err(invalid(
                "--fixed-schedule",
                "requires --input-file with per-request timestamps",
            ));
        }
        if args.request_rate.one().is_some() {
            return Err(invalid(
                "--request-rate",
                "cannot be combined with --fixed-schedule",
            ));
        }
        return Ok(LoadMode::FixedSchedule {
            auto_offset: args.fixed_schedule_start_offset.is_none(),
            start_offset_ms: args.fixed_schedule_start_offset,
            end_offset_ms: args.fixed_schedule_end_offset,
            cap: args.concurrency.one(),
        });
    }
    if let Some(rate) = args.user_centric_rate {
        return user_centric(args, rate, has_input_file);
    }
    match args
        .request_rate
        .one()
        .or(series.map(RateSeries::initial_qps))
    {
        Some(rate) => request_rate(args, registry, rate),
        None => {
            if args.request_rate_ramp_duration.is_some() {
                return Err(invalid(
                    "--request-rate-ramp-duration",
                    "can only be used with rate-controlled scheduling (--request-rate)",
                ));
            }
            if args
                .arrival_pattern
                .as_deref()
                .is_some_and(|p| p != "concurrency_burst")
                || args.arrival_smoothness.is_some()
            {
                return Err(invalid("--arrival-pattern", "requires --request-rate"));
            }
            Ok(LoadMode::Concurrency {
                concurrency: args.concurrency.one().unwrap_or(1),
                ramp_s: args.concurrency_ramp_duration,
            })
        }
    }
}

fn check_fixed_schedule_offsets(
    args: &ProfileArgs,
    has_input_file: bool,
) -> Result<(), ConfigError> {
    let offsets = args.fixed_schedule_auto_offset
        || args.fixed_schedule_start_offset.is_some()
        || args.fixed_schedule_end_offset.is_some();
    if offsets && !args.fixed_schedule && !has_input_file {
        return Err(invalid(
            "--fixed-schedule-offset",
            "--fixed-schedule-{auto,start,end}-offset requires --fixed-schedule",
        ));
    }
    if let (Some(s), Some(e)) = (
        args.fixed_schedule_start_offset,
        args.fixed_schedule_end_offset,
    ) {
        if s > e {
            return Err(invalid(
                "--fixed-schedule-start-offset",
                format!("must be <= --fixed-schedule-end-offset ({s} > {e})"),
            ));
        }
    }
    if args.fixed_schedule_auto_offset && args.fixed_schedule_start_offset.is_some() {
        return Err(invalid(
            "--fixed-schedule-auto-offset",
            "cannot be combined with --fixed-schedule-start-offset",
        ));
    }
    Ok(())
}

fn user_centric(
    args: &ProfileArgs,
    rate: f64,
    has_input_file: bool,
) -> Result<LoadMode, ConfigError> {
    positive("--user-centric-rate", rate)?;
    let Some(users) = args.num_users.one() else {
        return Err(invalid("--user-centric-rate", "requires --num-users"));
    };
    if users == 0 {
        return Err(invalid("--num-users", "must be >= 1"));
    }
    if args.request_rate.one().is_some() {
        return Err(invalid(
            "--user-centric-rate",
            "cannot be combined with --request-rate",
        ));
    }
    if args.turn_mean.one() < 2.0 && !has_input_file {
        return Err(invalid("--user-centric-rate", "User-centric rate mode requires --session-turns-mean >= 2. For single-turn workloads, use --request-rate instead."));
    }
    if let Some(s) = args.conversation_num.one().filter(|s| *s < users) {
        return Err(invalid(
            "--num-sessions",
            format!("--num-sessions ({s}) must be >= --num-users ({users})"),
        ));
    }
    if let Some(r) = args.request_count.one().filter(|r| *r < users as u64) {
        return Err(invalid(
            "--request-count",
            format!("--request-count ({r}) must be >= --num-users ({users})"),
        ));
    }
    Ok(LoadMode::UserCentric { rate, users })
}

/// `--request-rate` with its arrival pattern: the one named, else gamma when a smoothness is
/// given, else poisson; resolved through the registry entry's implementation.
fn request_rate(
    args: &ProfileArgs,
    registry: &Registry,
    rate: f64,
) -> Result<LoadMode, ConfigError> {
    positive("--request-rate", rate)?;
    let name = match (&args.arrival_pattern, args.arrival_smoothness) {
        (Some(p), _) => p.as_str(),
        (None, Some(_)) => "gamma",
        (None, None) => "poisson",
    };
    if name == "concurrency_burst" {
        return Err(invalid("--arrival-pattern", "concurrency_burst has no rate; drop --request-rate or choose constant, poisson or gamma"));
    }
    if args.concurrency_ramp_duration.is_some() && args.concurrency.one().is_none() {
        return Err(invalid(
            "--concurrency-ramp-duration",
            "requires --concurrency",
        ));
    }
    let pattern = arrival_pattern(registry, "--arrival-pattern", name, args.arrival_smoothness)?;
    Ok(LoadMode::Rate {
        rate,
        pattern,
        smoothness: args.arrival_smoothness,
        cap: args.concurrency.one(),
        ramp_s: args.request_rate_ramp_duration,
    })
}

/// The arrival process registered as `name`; `smoothness` is gamma's shape (1, a Poisson
/// process, when not given). Errors name `flag`.
pub(super) fn arrival_pattern(
    registry: &Registry,
    flag: &'static str,
    name: &str,
    smoothness: Option<f64>,
) -> Result<ArrivalPattern, ConfigError> {
    let entry = registry
        .get("arrival_pattern", name)
        .map_err(|e| invalid(flag, e.to_string()))?;
    ArrivalPattern::from_implementation(&entry.implementation, smoothness.unwrap_or(1.0))
        .ok_or_else(|| {
            invalid(
                flag,
                format!("'{name}' has no implementation in this build"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::args;
    use super::*;

    fn load(a: &[&str]) -> Result<Load, String> {
        resolve(&args(a), &Registry::builtin(), false).map_err(|e| e.to_string())
    }

    fn mode(a: &[&str]) -> LoadMode {
        load(a).unwrap().load
    }

    #[test]
    fn defaults() {
        assert_eq!(
            load(&[]).unwrap(),
            Load {
                concurrency: 1,
                load: LoadMode::Concurrency {
                    concurrency: 1,
                    ramp_s: None
                },
                no_fixed_schedule: false,
                cancellation: None,
                request_count: None,
                benchmark_duration_s: None,
                grace_period_s: None,
                warmup_request_count: None,
                warmup_duration_s: None,
                rate_series: None,
            }
        );
        let l = load(&["--benchmark-duration", "5", "--warmup-request-count", "0"]).unwrap();
        assert_eq!(l.grace_period_s, Some(30.0));
        assert_eq!(
            l.warmup_request_count, None,
            "0 warmup requests is no warmup"
        );
        let l = load(&["--benchmark-duration", "5", "--benchmark-grace-period", "0"]).unwrap();
        assert_eq!(l.grace_period_s, Some(0.0));
    }

    #[test]
    fn request_rate_patterns() {
        assert_eq!(
            mode(&["--request-rate", "12.5"]),
            LoadMode::Rate {
                rate: 12.5,
                pattern: ArrivalPattern::Poisson,
                smoothness: None,
                cap: None,
                ramp_s: None
            }
        );
        assert_eq!(
            mode(&[
                "--request-rate",
                "10",
                "--arrival-smoothness",
                "0.5",
                "--concurrency",
                "4"
            ]),
            LoadMode::Rate {
                rate: 10.0,
                pattern: ArrivalPattern::Gamma { smoothness: 0.5 },
                smoothness: Some(0.5),
                cap: Some(4),
                ramp_s: None
            }
        );
        let LoadMode::Rate {
            pattern,
            smoothness,
            ..
        } = mode(&["--request-rate", "1", "--arrival-pattern", "gamma"])
        else {
            panic!("not a rate mode")
        };
        assert_eq!(
            (pattern, smoothness),
            (ArrivalPattern::Gamma { smoothness: 1.0 }, None)
        );
        let LoadMode::Rate {
            pattern, ramp_s, ..
        } = mode(&[
            "--request-rate",
            "1",
            "--request-rate-mode",
            "constant",
            "--request-rate-ramp-duration",
            "3",
        ])
        else {
            panic!("not a rate mode")
        };
        assert_eq!((pattern, ramp_s), (ArrivalPattern::Constant, Some(3.0)));
        assert_eq!(
            mode(&[
                "--arrival-pattern",
                "concurrency_burst",
                "--concurrency",
                "3",
                "--concurrency-ramp-duration",
                "2"
            ]),
            LoadMode::Concurrency {
                concurrency: 3,
                ramp_s: Some(2.0)
            }
        );
    }

    #[test]
    fn user_centric_and_fixed_schedule() {
        let l = load(&[
            "--user-centric-rate",
            "5",
            "--num-users",
            "2",
            "--session-turns-mean",
            "2",
            "--benchmark-duration",
            "10",
        ])
        .unwrap();
        assert_eq!(
            l.load,
            LoadMode::UserCentric {
                rate: 5.0,
                users: 2
            }
        );
        assert_eq!(
            l.grace_period_s, None,
            "user-centric waits for every user by default"
        );
        let fixed = resolve(
            &args(&[
                "--fixed-schedule",
                "--fixed-schedule-end-offset",
                "9",
                "--concurrency",
                "2",
            ]),
            &Registry::builtin(),
            true,
        )
        .unwrap();
        assert_eq!(
            fixed.load,
            LoadMode::FixedSchedule {
                auto_offset: true,
                start_offset_ms: None,
                end_offset_ms: Some(9),
                cap: Some(2)
            }
        );
    }

    #[test]
    fn cancellation_is_named() {
        let c = load(&[
            "--request-cancellation-rate",
            "10",
            "--request-cancellation-delay",
            "0.5",
        ])
        .unwrap()
        .cancellation;
        assert_eq!(
            c,
            Some(RequestCancellation {
                rate_pct: 10.0,
                delay_s: 0.5
            })
        );
        let c = load(&["--request-cancellation-rate", "100"])
            .unwrap()
            .cancellation;
        assert_eq!(
            c,
            Some(RequestCancellation {
                rate_pct: 100.0,
                delay_s: 0.0
            })
        );
    }

    #[test]
    fn rejections() {
        let cases: [(&[&str], &str); 24] = [
            (&["--concurrency", "0"], "--concurrency: must be >= 1"),
            (&["--request-count", "0"], "--request-count: must be >= 1"),
            (&["--benchmark-duration", "0"], "--benchmark-duration: must be > 0, got 0"),
            (&["--benchmark-grace-period", "10"], "--benchmark-grace-period: requires --benchmark-duration to be set"),
            (&["--benchmark-duration", "1", "--benchmark-grace-period=-1"], "--benchmark-grace-period: must be >= 0, got -1"),
            (&["--warmup-duration", "0"], "--warmup-duration: must be > 0, got 0"),
            (&["--num-users", "4"], "--num-users: requires --user-centric-rate"),
            (&["--concurrency-ramp-duration", "0"], "--concurrency-ramp-duration: must be > 0, got 0"),
            (&["--request-rate-ramp-duration", "0"], "--request-rate-ramp-duration: must be > 0, got 0"),
            (&["--fixed-schedule-end-offset", "5"], "--fixed-schedule-offset: --fixed-schedule-{auto,start,end}-offset requires --fixed-schedule"),
            (&["--fixed-schedule", "--fixed-schedule-start-offset", "5", "--fixed-schedule-end-offset", "1"], "--fixed-schedule-start-offset: must be <= --fixed-schedule-end-offset (5 > 1)"),
            (&["--fixed-schedule", "--fixed-schedule-auto-offset", "--fixed-schedule-start-offset", "1"], "--fixed-schedule-auto-offset: cannot be combined with --fixed-schedule-start-offset"),
            (&["--arrival-smoothness", "0"], "--arrival-smoothness: must be > 0, got 0"),
            (&["--request-rate", "1", "--arrival-pattern", "constant", "--arrival-smoothness", "2"], "--arrival-smoothness: is only supported with --arrival-pattern gamma"),
            (&["--fixed-schedule"], "--fixed-schedule: requires --input-file with per-request timestamps"),
            (&["--user-centric-rate", "0", "--num-users", "1"], "--user-centric-rate: must be > 0, got 0"),
            (&["--user-centric-rate", "5"], "--user-centric-rate: requires --num-users"),
            (&["--user-centric-rate", "5", "--num-users", "0"], "--num-users: must be >= 1"),
            (&["--user-centric-rate", "5", "--num-users", "1", "--request-rate", "1"], "--user-centric-rate: cannot be combined with --request-rate"),
            (&["--request-rate", "0"], "--request-rate: must be > 0, got 0"),
            (&["--request-rate", "1", "--arrival-pattern", "concurrency_burst"], "--arrival-pattern: concurrency_burst has no rate; drop --request-rate or choose constant, poisson or gamma"),
            (&["--request-rate", "1", "--concurrency-ramp-duration", "1"], "--concurrency-ramp-duration: requires --concurrency"),
            (&["--request-rate-ramp-duration", "1"], "--request-rate-ramp-duration: can only be used with rate-controlled scheduling (--request-rate)"),
            (&["--arrival-pattern", "constant"], "--arrival-pattern: requires --request-rate"),
        ];
        for (a, want) in cases {
            assert_eq!(load(a).unwrap_err(), want, "{a:?}");
        }
        let cases: [(&[&str], &str); 5] = [
            (&["--user-centric-rate", "5", "--num-users", "2"], "--user-centric-rate: User-centric rate mode requires --session-turns-mean >= 2. For single-turn workloads, use --request-rate instead."),
            (&["--user-centric-rate", "5", "--num-users", "4", "--session-turns-mean", "2", "--num-sessions", "3"], "--num-sessions: --num-sessions (3) must be >= --num-users (4)"),
            (&["--user-centric-rate", "5", "--num-users", "4", "--session-turns-mean", "2", "--request-count", "3"], "--request-count: --request-count (3) must be >= --num-users (4)"),
            (&["--request-cancellation-delay", "1"], "--request-cancellation-delay: requires --request-cancellation-rate to be set"),
            (&["--request-cancellation-rate", "101"], "--request-cancellation-rate: must be between 0 and 100, got 101"),
        ];
        for (a, want) in cases {
            assert_eq!(load(a).unwrap_err(), want, "{a:?}");
        }
        assert_eq!(
            load(&[
                "--request-cancellation-rate",
                "5",
                "--request-cancellation-delay=-1"
            ])
            .unwrap_err(),
            "--request-cancellation-delay: must be >= 0, got -1"
        );
        assert!(load(&["--arrival-pattern", "bursty"])
            .unwrap_err()
            .starts_with("--arrival-pattern: Type 'bursty'"));
    }
}
