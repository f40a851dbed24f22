//! `--otel-*`, `--stream`, `--metrics-listen` resolved: where the run's own metrics go.
//!
//! The OTel rules are AIPerf 0.13's (`_converter_telemetry.build_otel`): `--otel-url` turns
//! streaming on, `--stream` picks the domains (both by default), the secondary flags without
//! `--otel-url` are refused rather than silently dropped, and the URL is normalised to the
//! OTLP/HTTP metrics path.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use aiperf_transport::{redact_url_text, BaseUrl};

use super::invalid;
use crate::cli::ObservabilityArgs;
use crate::ConfigError;

/// The OTLP/HTTP metrics path (OTLP specification, "OTLP/HTTP Request").
pub const OTLP_METRICS_PATH: &str = "/v1/metrics";

/// Where the run publishes its own metrics (nowhere by default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observability {
    /// `--otel-url` and its companions; `None` without `--otel-url`.
    pub otel: Option<Otel>,
    /// `--metrics-listen`: the Prometheus page's address.
    pub metrics_listen: Option<SocketAddr>,
    /// `AIPERF_METRICS_LISTEN_LINGER_SECONDS` (0 to 3600, default 0): how long the page is
    /// still served once every artifact is written, so a scraper polling every N seconds sees
    /// the final state (the run returns that much later).
    pub metrics_linger: Duration,
}

/// OpenTelemetry metrics streaming, as AIPerf's `OTelConfig`.
#[derive(Debug, Clone, PartialEq)]
pub struct Otel {
    /// The OTLP/HTTP metrics endpoint; `prefix` ends with `/v1/metrics`. Credentials in the
    /// userinfo are sent as Basic auth and printed `<redacted>`.
    pub metrics_url: BaseUrl,
    /// `--stream metrics`: per-request metric histograms.
    pub stream_metrics: bool,
    /// `--stream timing`: the profiling phase's request counters.
    pub stream_timing: bool,
    /// `--otel-resource-attributes`, in the order given (a later key wins).
    pub resource_attributes: Vec<(String, String)>,
    /// `OTEL_RESOURCE_ATTRIBUTES` (`k=v,k2=v2`, values percent-decoded), as the OTel SDK
    /// AIPerf uses reads it: below AIPerf's own attributes and `--otel-resource-attributes`.
    pub env_resource_attributes: Vec<(String, String)>,
    /// `--gen-ai-provider`.
    pub gen_ai_provider: Option<String>,
    /// `AIPERF_OTEL_FLUSH_INTERVAL_SECONDS` (0.1 to 60, default 2): between periodic exports.
    pub flush_interval: Duration,
    /// `AIPERF_OTEL_REQUEST_TIMEOUT_SECONDS` (0.1 to 300, default 10): per export request.
    pub request_timeout: Duration,
}

impl Otel {
    /// AIPerf's diagnostic name of the selection (`default`, `metrics`, `timing`, `none`).
    pub fn stream_name(&self) -> &'static str {
        match (self.stream_metrics, self.stream_timing) {
            (true, true) => "default",
            (true, false) => "metrics",
            (false, true) => "timing",
            (false, false) => "none",
        }
    }
}

pub(super) fn resolve(args: &ObservabilityArgs) -> Result<Observability, ConfigError> {
    let env = |name: &str| std::env::var(name).ok();
    Ok(Observability {
        otel: otel(args, env)?,
        metrics_listen: args
            .metrics_listen
            .as_deref()
            .map(listen_addr)
            .transpose()?,
        metrics_linger: match &args.metrics_listen {
            Some(_) => seconds_env(
                &env,
                "AIPERF_METRICS_LISTEN_LINGER_SECONDS",
                0.0,
                (0.0, 3600.0),
            )?,
            None => Duration::ZERO,
        },
    })
}

fn otel(
    args: &ObservabilityArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Otel>, ConfigError> {
    let Some(url) = &args.otel_url else {
        let offenders: Vec<&str> = [
            ("--stream", args.stream.is_some()),
            (
                "--otel-resource-attributes",
                args.otel_resource_attributes.is_some(),
            ),
            ("--gen-ai-provider", args.gen_ai_provider.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, set)| set.then_some(f))
        .collect();
        if offenders.is_empty() {
            return Ok(None);
        }
        return Err(invalid(
            "--otel-url",
            format!(
                "{} requires --otel-url to be set; OTel streaming is disabled when no OTLP \
                 endpoint is configured",
                offenders.join(", ")
            ),
        ));
    };
    let (stream_metrics, stream_timing) = stream_domains(args.stream.as_deref().unwrap_or(&[]))?;
    Ok(Some(Otel {
        metrics_url: metrics_url(url)?,
        stream_metrics,
        stream_timing,
        resource_attributes: resource_attributes(
            args.otel_resource_attributes.as_deref().unwrap_or(&[]),
        )?,
        env_resource_attributes: env("OTEL_RESOURCE_ATTRIBUTES")
            .map(|v| env_resource_attributes(&v))
            .unwrap_or_default(),
        gen_ai_provider: args
            .gen_ai_provider
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string),
        flush_interval: seconds_env(&env, "AIPERF_OTEL_FLUSH_INTERVAL_SECONDS", 2.0, (0.1, 60.0))?,
        request_timeout: seconds_env(
            &env,
            "AIPERF_OTEL_REQUEST_TIMEOUT_SECONDS",
            10.0,
            (0.1, 300.0),
        )?,
    }))
}

/// `--otel-url` as AIPerf normalises it: `http://` assumed, http(s) only, a host required,
/// and the path ending in `/v1/metrics` (appended to any other path).
fn metrics_url(url: &str) -> Result<BaseUrl, ConfigError> {
    let shown = redact_url_text(url.trim());
    if url.trim().is_empty() {
        return Err(invalid("--otel-url", "cannot be empty"));
    }
    let mut base = BaseUrl::parse(url).map_err(|e| {
        invalid(
            "--otel-url",
            format!(
                "invalid value '{shown}': {e} (expected host[:port] or a full OTLP/HTTP URL; \
                 OTLP/gRPC is not supported)"
            ),
        )
    })?;
    if !base.prefix.ends_with(OTLP_METRICS_PATH) {
        base.prefix.push_str(OTLP_METRICS_PATH);
    }
    Ok(base)
}

/// `--stream` into (metrics, timing), as AIPerf's `_resolve_stream_domains`.
fn stream_domains(domains: &[String]) -> Result<(bool, bool), ConfigError> {
    const ALLOWED: [&str; 4] = ["default", "metrics", "none", "timing"];
    let domains: Vec<&str> = domains.iter().map(|d| d.trim()).collect();
    let bad: Vec<&str> = domains
        .iter()
        .copied()
        .filter(|d| !ALLOWED.contains(d))
        .collect();
    if !bad.is_empty() {
        return Err(invalid(
            "--stream",
            format!(
                "invalid value(s) {}; allowed: {}",
                bad.join(", "),
                ALLOWED.join(", ")
            ),
        ));
    }
    if domains.contains(&"none") {
        return Ok((false, false));
    }
    let all = domains.is_empty() || domains.contains(&"default");
    Ok((
        all || domains.contains(&"metrics"),
        all || domains.contains(&"timing"),
    ))
}

/// `key=value` pairs, each argument possibly comma-separated; keys and values trimmed and
/// non-empty, as AIPerf's `_parse_otel_resource_attributes`.
fn resource_attributes(items: &[String]) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in items.iter().flat_map(|i| i.split(',')) {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let Some((k, v)) = pair.split_once('=') else {
            return Err(invalid(
                "--otel-resource-attributes",
                format!("entry '{pair}': expected key=value"),
            ));
        };
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() {
            return Err(invalid(
                "--otel-resource-attributes",
                format!("entry '{pair}': key cannot be empty"),
            ));
        }
        if v.is_empty() {
            return Err(invalid(
                "--otel-resource-attributes",
                format!("entry '{pair}': value cannot be empty"),
            ));
        }
        out.retain(|(old, _)| old != k);
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// `OTEL_RESOURCE_ATTRIBUTES` as the OTel SDKs read it: comma-separated `key=value`, both
/// trimmed, values percent-decoded; malformed entries are skipped (the SDKs only warn).
fn env_resource_attributes(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in text.split(',').filter_map(|p| p.split_once('=')) {
        let k = k.trim();
        if k.is_empty() {
            continue;
        }
        out.retain(|(old, _)| old != k);
        out.push((k.to_string(), percent_decode(v.trim())));
    }
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = (b[i] == b'%')
            .then(|| b.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(x) => {
                out.push(x);
                i += 3;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A seconds setting from the environment, within AIPerf's bounds.
fn seconds_env(
    env: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: f64,
    (lo, hi): (f64, f64),
) -> Result<Duration, ConfigError> {
    let Some(raw) = env(name) else {
        return Ok(Duration::from_secs_f64(default));
    };
    match raw.trim().parse::<f64>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(Duration::from_secs_f64(v)),
        _ => Err(invalid(
            name,
            format!("'{raw}' is not a number of seconds from {lo} to {hi}"),
        )),
    }
}

/// `--metrics-listen`: `HOST:PORT` (an IP address or `localhost`), or `:PORT` for every
/// interface. No name lookup: the address must be known before anything is sent.
fn listen_addr(s: &str) -> Result<SocketAddr, ConfigError> {
    let s = s.trim();
    let bad = |why: &str| {
        invalid(
            "--metrics-listen",
            format!("'{s}' {why} (expected HOST:PORT, [IPv6]:PORT or :PORT)"),
        )
    };
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err(bad("has no port"));
    };
    let port: u16 = port.parse().map_err(|_| bad("has an invalid port"))?;
    let ip = match host {
        "" | "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        h => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| bad("is not an IP address and port"))?,
    };
    Ok(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(f: impl FnOnce(&mut ObservabilityArgs)) -> ObservabilityArgs {
        let mut a = ObservabilityArgs::default();
        f(&mut a);
        a
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn strings(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn otel_url_is_normalised_to_the_metrics_path() {
        for (typed, prefix, port) in [
            ("localhost:4318", "/v1/metrics", 4318),
            ("http://collector:4318/", "/v1/metrics", 4318),
            ("https://c/otlp", "/otlp/v1/metrics", 443),
            ("http://c:9/v1/metrics", "/v1/metrics", 9),
        ] {
            let o = otel(&args(|a| a.otel_url = Some(typed.into())), no_env)
                .unwrap()
                .unwrap();
            assert_eq!(o.metrics_url.prefix, prefix, "{typed}");
            assert_eq!(o.metrics_url.port, port, "{typed}");
            assert_eq!(o.stream_name(), "default");
            assert_eq!(o.flush_interval, Duration::from_secs(2));
            assert_eq!(o.request_timeout, Duration::from_secs(10));
        }
        let e = otel(
            &args(|a| a.otel_url = Some("grpc://u:SECRET@h:4317".into())),
            no_env,
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("--otel-url: invalid value"), "{e}");
        assert!(e.contains("unsupported scheme 'grpc'"), "{e}");
        assert!(!e.contains("SECRET"), "{e}");
        let o = otel(
            &args(|a| a.otel_url = Some("http://u:SECRET@h:1".into())),
            no_env,
        )
        .unwrap()
        .unwrap();
        assert!(o.metrics_url.has_credentials());
        assert!(!format!("{o:?}").contains("SECRET"));
    }

    #[test]
    fn stream_domains_follow_aiperf() {
        let s = |v: &[&str]| stream_domains(&strings(v).unwrap_or_default());
        assert_eq!(s(&[]).unwrap(), (true, true));
        assert_eq!(s(&["default"]).unwrap(), (true, true));
        assert_eq!(s(&["metrics"]).unwrap(), (true, false));
        assert_eq!(s(&["timing"]).unwrap(), (false, true));
        assert_eq!(s(&["metrics", "timing"]).unwrap(), (true, true));
        assert_eq!(s(&["default", "none"]).unwrap(), (false, false));
        let e = s(&["metrics", "traces"]).unwrap_err().to_string();
        assert_eq!(
            e,
            "--stream: invalid value(s) traces; allowed: default, metrics, none, timing"
        );
    }

    #[test]
    fn secondary_flags_need_the_url() {
        let e = otel(
            &args(|a| {
                a.stream = strings(&["metrics"]);
                a.gen_ai_provider = Some("openai".into());
            }),
            no_env,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("--otel-url: --stream, --gen-ai-provider requires --otel-url"),
            "{e}"
        );
        assert_eq!(otel(&args(|_| {}), no_env).unwrap(), None);
    }

    #[test]
    fn resource_attributes_are_pairs() {
        let got = resource_attributes(&strings(&["a=1,b = 2", "a=3", ""]).unwrap()).unwrap();
        assert_eq!(
            got,
            vec![("b".into(), "2".into()), ("a".into(), "3".into())]
        );
        for (bad, why) in [
            ("x", "expected key=value"),
            ("=1", "key cannot be empty"),
            ("k=", "value cannot be empty"),
        ] {
            let e = resource_attributes(&[bad.to_string()])
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("--otel-resource-attributes: entry"), "{e}");
            assert!(e.ends_with(why), "{e}");
        }
    }

    #[test]
    fn env_settings_are_bounded() {
        let a = args(|a| a.otel_url = Some("h:1".into()));
        let o = otel(&a, |n| {
            (n == "AIPERF_OTEL_FLUSH_INTERVAL_SECONDS").then(|| "0.25".to_string())
        })
        .unwrap()
        .unwrap();
        assert_eq!(o.flush_interval, Duration::from_millis(250));
        let e = otel(&a, |n| {
            (n == "AIPERF_OTEL_REQUEST_TIMEOUT_SECONDS").then(|| "0".to_string())
        })
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "AIPERF_OTEL_REQUEST_TIMEOUT_SECONDS: '0' is not a number of seconds from 0.1 to 300"
        );
    }

    #[test]
    fn otel_resource_attributes_env_is_read_as_the_sdks_do() {
        assert_eq!(
            env_resource_attributes(" a = 1 ,bad,=x,b=x%20y%2Cz,a=2"),
            vec![("b".into(), "x y,z".into()), ("a".into(), "2".into())]
        );
        let a = args(|a| a.otel_url = Some("h:1".into()));
        let o = otel(&a, |n| {
            (n == "OTEL_RESOURCE_ATTRIBUTES").then(|| "k=v".to_string())
        })
        .unwrap()
        .unwrap();
        assert_eq!(o.env_resource_attributes, vec![("k".into(), "v".into())]);
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(
            listen_addr("127.0.0.1:9464").unwrap(),
            "127.0.0.1:9464".parse().unwrap()
        );
        assert_eq!(
            listen_addr(":9464").unwrap(),
            "0.0.0.0:9464".parse().unwrap()
        );
        assert_eq!(
            listen_addr("localhost:0").unwrap(),
            "127.0.0.1:0".parse().unwrap()
        );
        assert_eq!(
            listen_addr("[::1]:80").unwrap(),
            "[::1]:80".parse().unwrap()
        );
        for bad in ["9464", "host.example:80", "127.0.0.1:99999"] {
            let e = listen_addr(bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--metrics-listen: '{bad}'")), "{e}");
        }
    }
}
