//! `--network-latency-*` resolved: whether and how the run measures the network's round trip.
//!
//! AIPerf 0.13's rules (`build_network_latency`): automatic and mean exclude each other, the
//! ping interval needs automatic, a mean of 0 enables nothing measurable (no adjusted metrics).
//! The probing knobs AIPerf takes from `AIPERF_NETWORK_LATENCY_*` are read here, once, so the
//! engine sees only typed values.

use std::time::Duration;

use super::{invalid, non_negative, positive};
use crate::cli::NetworkArgs;
use crate::ConfigError;

/// The network latency calibration of a run (off by default).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum NetworkLatency {
    /// No calibration: no `network_*` metrics.
    #[default]
    Off,
    /// `--network-latency-mean`: this RTT (ms) is subtracted; nothing is probed.
    Fixed { mean_ms: f64 },
    /// `--network-latency-automatic`: the TCP-handshake RTT is probed during profiling.
    Probe(ProbeSettings),
}

/// How the handshake RTT is probed.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeSettings {
    /// Between probes of one target (`--network-latency-ping-interval`).
    pub interval: Duration,
    /// Successful samples topped up to at the end of a short run (`..._MIN_SAMPLES`).
    pub min_samples: u32,
    /// One handshake's time limit (`..._CONNECT_TIMEOUT`).
    pub connect_timeout: Duration,
    /// Wall-clock budget of the final top-up (`..._COMPLETE_TOPUP_TIMEOUT`).
    pub topup_timeout: Duration,
}

impl NetworkLatency {
    /// Whether the run probes (AIPerf's `should_probe`).
    pub fn probes(&self) -> bool {
        matches!(self, NetworkLatency::Probe(_))
    }
}

pub(super) fn resolve(args: &NetworkArgs) -> Result<NetworkLatency, ConfigError> {
    resolve_with(args, &|k| std::env::var(k).ok())
}

fn resolve_with(
    args: &NetworkArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<NetworkLatency, ConfigError> {
    const AUTO: &str = "--network-latency-automatic";
    const MEAN: &str = "--network-latency-mean";
    const INTERVAL: &str = "--network-latency-ping-interval";
    if let Some(i) = args.network_latency_ping_interval {
        positive(INTERVAL, i)?;
    }
    if let Some(mean) = args.network_latency_mean {
        non_negative(MEAN, mean)?;
        if args.network_latency_automatic {
            return Err(invalid(
                AUTO,
                "cannot be used with --network-latency-mean: automatic measures the RTT, mean sets it",
            ));
        }
        if args.network_latency_ping_interval.is_some() {
            return Err(invalid(
                INTERVAL,
                "only applies with --network-latency-automatic, not with --network-latency-mean",
            ));
        }
        return Ok(NetworkLatency::Fixed { mean_ms: mean });
    }
    if !args.network_latency_automatic {
        if args.network_latency_ping_interval.is_some() {
            return Err(invalid(
                INTERVAL,
                "only applies when --network-latency-automatic is set",
            ));
        }
        return Ok(NetworkLatency::Off);
    }
    let secs = |name: &'static str, default: f64, lo: f64, hi: f64| {
        env_number(env, name, default, lo, hi).map(Duration::from_secs_f64)
    };
    let interval = match args.network_latency_ping_interval {
        Some(i) => Duration::from_secs_f64(i),
        None => secs(
            "AIPERF_NETWORK_LATENCY_DEFAULT_PROBE_INTERVAL",
            1.0,
            0.001,
            300.0,
        )?,
    };
    Ok(NetworkLatency::Probe(ProbeSettings {
        interval,
        min_samples: env_number(
            env,
            "AIPERF_NETWORK_LATENCY_MIN_SAMPLES",
            5.0,
            1.0,
            100_000.0,
        )? as u32,
        connect_timeout: secs("AIPERF_NETWORK_LATENCY_CONNECT_TIMEOUT", 5.0, 0.001, 300.0)?,
        topup_timeout: secs(
            "AIPERF_NETWORK_LATENCY_COMPLETE_TOPUP_TIMEOUT",
            3.0,
            0.0,
            30.0,
        )?,
    }))
}

/// An `AIPERF_NETWORK_LATENCY_*` setting within AIPerf's bounds (integers stay integers:
/// `MIN_SAMPLES` is checked to be whole).
fn env_number(
    env: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: f64,
    lo: f64,
    hi: f64,
) -> Result<f64, ConfigError> {
    let Some(text) = env(name) else {
        return Ok(default);
    };
    let whole = default.fract() == 0.0 && name.ends_with("SAMPLES");
    match text.trim().parse::<f64>() {
        Ok(v) if v >= lo && v <= hi && (!whole || v.fract() == 0.0) => Ok(v),
        _ => Err(invalid(
            name,
            format!("must be a number in [{lo}, {hi}], got '{text}'"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{args, err};
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn net(a: &[&str]) -> Result<NetworkLatency, ConfigError> {
        resolve_with(&args(a).network, &no_env)
    }

    #[test]
    fn off_by_default() {
        assert_eq!(net(&[]).unwrap(), NetworkLatency::Off);
        assert!(!net(&[]).unwrap().probes());
    }

    #[test]
    fn fixed_mean_takes_milliseconds_and_probes_nothing() {
        let n = net(&["--network-latency-mean", "5"]).unwrap();
        assert_eq!(n, NetworkLatency::Fixed { mean_ms: 5.0 });
        assert!(!n.probes());
        assert_eq!(
            net(&["--network-latency-mean", "0"]).unwrap(),
            NetworkLatency::Fixed { mean_ms: 0.0 }
        );
    }

    #[test]
    fn automatic_has_aiperf_defaults_and_takes_the_interval() {
        let NetworkLatency::Probe(p) = net(&["--network-latency-automatic"]).unwrap() else {
            panic!("not probing")
        };
        assert_eq!(
            p,
            ProbeSettings {
                interval: Duration::from_secs(1),
                min_samples: 5,
                connect_timeout: Duration::from_secs(5),
                topup_timeout: Duration::from_secs(3),
            }
        );
        let a = args(&[
            "--network-latency-automatic",
            "--network-latency-ping-interval",
            "0.25",
        ]);
        let NetworkLatency::Probe(p) = resolve_with(&a.network, &no_env).unwrap() else {
            panic!("not probing")
        };
        assert_eq!(p.interval, Duration::from_millis(250));
    }

    #[test]
    fn environment_settings_are_read_and_checked() {
        let a = args(&["--network-latency-automatic"]);
        let env = |k: &str| match k {
            "AIPERF_NETWORK_LATENCY_MIN_SAMPLES" => Some("12".to_string()),
            "AIPERF_NETWORK_LATENCY_DEFAULT_PROBE_INTERVAL" => Some("0.5".to_string()),
            _ => None,
        };
        let NetworkLatency::Probe(p) = resolve_with(&a.network, &env).unwrap() else {
            panic!("not probing")
        };
        assert_eq!(
            (p.min_samples, p.interval),
            (12, Duration::from_millis(500))
        );
        let bad = |k: &str| (k == "AIPERF_NETWORK_LATENCY_MIN_SAMPLES").then(|| "2.5".to_string());
        assert_eq!(
            resolve_with(&a.network, &bad).unwrap_err().to_string(),
            "AIPERF_NETWORK_LATENCY_MIN_SAMPLES: must be a number in [1, 100000], got '2.5'"
        );
    }

    #[test]
    fn rejections_name_the_flag_and_value() {
        assert_eq!(
            err(&["-m", "m", "--network-latency-automatic", "--network-latency-mean", "5"]),
            "--network-latency-automatic: cannot be used with --network-latency-mean: automatic measures the RTT, mean sets it"
        );
        assert_eq!(
            err(&["-m", "m", "--network-latency-mean", "5", "--network-latency-ping-interval", "1"]),
            "--network-latency-ping-interval: only applies with --network-latency-automatic, not with --network-latency-mean"
        );
        assert_eq!(
            err(&["-m", "m", "--network-latency-ping-interval", "1"]),
            "--network-latency-ping-interval: only applies when --network-latency-automatic is set"
        );
        assert_eq!(
            err(&["-m", "m", "--network-latency-mean", "-1"]),
            "--network-latency-mean: must be >= 0, got -1"
        );
        assert_eq!(
            err(&[
                "-m",
                "m",
                "--network-latency-automatic",
                "--network-latency-ping-interval",
                "0"
            ]),
            "--network-latency-ping-interval: must be > 0, got 0"
        );
        assert_eq!(
            err(&["-m", "m", "--network-latency-mean", "NaN"]),
            "--network-latency-mean: must be >= 0, got NaN"
        );
    }
}
