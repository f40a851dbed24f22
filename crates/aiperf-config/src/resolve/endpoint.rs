//! The "Endpoint" group: what to benchmark, where, and how to talk to it.

use aiperf_endpoints::BodyEncoding;
use aiperf_plugins::{EndpointMetadata, Registry};
use aiperf_transport::{redact_url_text, BaseUrl};
use http::HeaderName;

use super::{invalid, positive, ConfigError};
use crate::cli::ProfileArgs;

/// `--wait-for-model-*`: probe the endpoint until it answers before the run starts.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitForModel {
    pub timeout_s: f64,
    pub interval_s: f64,
    /// GET `/v1/models` until it lists models.
    pub models: bool,
    /// Send a one-token request until it succeeds.
    pub inference: bool,
}

/// `--connection-reuse-strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionReuse {
    /// One keep-alive pool shared by every request.
    Pooled,
    /// A new connection for every request, closed after it.
    Never,
    /// One connection per conversation, closed after its last turn.
    StickyUserSessions,
}

/// `--model-selection-strategy`: which of several `--model`s a session sends to. The pick is
/// per session (a session's turns keep one model) and a pure function of the session number
/// and the seed, so sharded runs agree on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelSelection {
    /// `models[session % n]`.
    RoundRobin,
    /// A seeded hash of the session number (the seed's `composer.turn.model_selection`
    /// stream), mod n.
    Random,
}

/// The "Endpoint" flags, checked (the body-shaping ones go to `BodyOptions`).
#[derive(Debug, Clone)]
pub(super) struct Endpoint {
    pub models: Vec<String>,
    pub model_selection: ModelSelection,
    pub endpoint_type: String,
    pub endpoint: EndpointMetadata,
    pub custom_endpoint: Option<String>,
    /// `--streaming`, forced off (with a warning) for endpoints that do not stream.
    pub streaming: bool,
    pub urls: Vec<BaseUrl>,
    pub request_timeout_s: f64,
    pub api_key: Option<String>,
    pub use_server_token_count: bool,
    pub wait_for_model: Option<WaitForModel>,
    pub connection_reuse: ConnectionReuse,
    pub session_header: HeaderName,
    pub download_video_content: bool,
    pub job_poll_interval_s: f64,
    pub http2: bool,
    pub insecure: bool,
    /// `--request-content-type`, checked against the endpoint's own encoding when it is built.
    pub request_content_type: Option<BodyEncoding>,
    /// `--uuid-and-strip` (chat only).
    pub uuid_and_strip: bool,
}

pub(super) fn resolve(
    args: &ProfileArgs,
    registry: &Registry,
    warnings: &mut Vec<String>,
) -> Result<Endpoint, ConfigError> {
    let models = models(args)?;
    let model_selection = model_selection(&args.model_selection_strategy)?;
    registry
        .get("endpoint", &args.endpoint_type)
        .map_err(|e| invalid("--endpoint-type", e.to_string()))?;
    let endpoint = registry
        .endpoint_metadata(&args.endpoint_type)
        .map_err(|e| invalid("--endpoint-type", e.to_string()))?;
    let mut streaming = args.streaming;
    if streaming && !endpoint.supports_streaming {
        warnings.push(format!(
            "--streaming ignored: endpoint type '{}' does not stream",
            args.endpoint_type
        ));
        streaming = false;
    }
    if let Some(p) = &args.custom_endpoint {
        if !p.is_empty() && !p.starts_with('/') {
            return Err(invalid(
                "--custom-endpoint",
                format!("'{p}' must start with '/'"),
            ));
        }
    }
    let urls = urls(&args.url)?;
    positive("--request-timeout-seconds", args.request_timeout_seconds)?;
    let wait_for_model = wait_for_model(args)?;
    let connection_reuse = connection_reuse(&args.connection_reuse_strategy)?;
    let session_header = session_header(args.session_header.as_deref())?;
    positive("--job-poll-interval", args.job_poll_interval)?;
    if args.uuid_and_strip && args.endpoint_type != "chat" {
        return Err(invalid(
            "--uuid-and-strip",
            "--uuid-and-strip requires endpoint type 'chat'",
        ));
    }
    let request_content_type = match args.request_content_type.as_deref() {
        Some("multipart/form-data") => Some(BodyEncoding::Multipart),
        Some(_) => Some(BodyEncoding::Json),
        None => None,
    };
    Ok(Endpoint {
        models,
        model_selection,
        endpoint_type: args.endpoint_type.clone(),
        endpoint,
        custom_endpoint: args.custom_endpoint.clone(),
        streaming,
        urls,
        request_timeout_s: args.request_timeout_seconds,
        api_key: args.api_key.clone(),
        use_server_token_count: args.use_server_token_count,
        wait_for_model,
        connection_reuse,
        session_header,
        download_video_content: args.download_video_content,
        job_poll_interval_s: args.job_poll_interval,
        http2: args.http2,
        insecure: args.insecure,
        request_content_type,
        uuid_and_strip: args.uuid_and_strip,
    })
}

/// `--url` values (a comma-separated list was already split by clap, as AIPerf splits it). An
/// error quotes the value with its `user:password@` and credential query values redacted.
fn urls(values: &[String]) -> Result<Vec<BaseUrl>, ConfigError> {
    let urls = values
        .iter()
        .filter(|u| !u.trim().is_empty())
        .map(|u| {
            BaseUrl::parse(u)
                .map_err(|e| invalid("--url", format!("'{}': {e}", redact_url_text(u.trim()))))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if urls.is_empty() {
        return Err(invalid(
            "--url",
            "is empty: give a server's base URL (e.g. http://localhost:8000)",
        ));
    }
    Ok(urls)
}

/// `--model` names, trimmed; at least one is required.
fn models(args: &ProfileArgs) -> Result<Vec<String>, ConfigError> {
    let models: Vec<String> = args
        .model_names
        .iter()
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .collect();
    if models.is_empty() {
        return Err(invalid(
            "--model",
            "is required: name the model to benchmark (e.g. --model mock-model)",
        ));
    }
    Ok(models)
}

/// `--model-selection-strategy` (any case). `weighted` needs per-model weights, which only
/// AIPerf's YAML model items carry, so from the command line it fails as AIPerf's does.
fn model_selection(strategy: &str) -> Result<ModelSelection, ConfigError> {
    match strategy.to_ascii_lowercase().as_str() {
        "round_robin" => Ok(ModelSelection::RoundRobin),
        "random" => Ok(ModelSelection::Random),
        "weighted" => Err(invalid(
            "--model-selection-strategy",
            "weighted: All models must have weights specified when using weighted strategy \
             (per-model weights cannot be given on the command line; use round_robin or random)",
        )),
        other => Err(invalid(
            "--model-selection-strategy",
            format!("'{other}': choose round_robin or random"),
        )),
    }
}

/// Probing is on when `--wait-for-model-timeout` > 0; the mode says which probes run.
fn wait_for_model(args: &ProfileArgs) -> Result<Option<WaitForModel>, ConfigError> {
    let timeout = args.wait_for_model_timeout;
    // +inf is accepted (wait forever); NaN and negatives are not.
    if timeout.is_nan() || timeout < 0.0 {
        return Err(invalid("--wait-for-model-timeout", "must be >= 0"));
    }
    if timeout == 0.0 {
        return Ok(None);
    }
    positive("--wait-for-model-interval", args.wait_for_model_interval)?;
    let (models, inference) = match args.wait_for_model_mode.as_str() {
        "models" => (true, false),
        "inference" => (false, true),
        "both" => (true, true),
        other => {
            return Err(invalid(
                "--wait-for-model-mode",
                format!("'{other}': choose models, inference or both"),
            ))
        }
    };
    Ok(Some(WaitForModel {
        timeout_s: timeout,
        interval_s: args.wait_for_model_interval,
        models,
        inference,
    }))
}

fn connection_reuse(strategy: &str) -> Result<ConnectionReuse, ConfigError> {
    match strategy {
        "pooled" => Ok(ConnectionReuse::Pooled),
        "never" => Ok(ConnectionReuse::Never),
        "sticky-user-sessions" => Ok(ConnectionReuse::StickyUserSessions),
        other => Err(invalid(
            "--connection-reuse-strategy",
            format!("'{other}': choose pooled, never or sticky-user-sessions"),
        )),
    }
}

/// `--session-header`, default X-Correlation-ID (as AIPerf).
fn session_header(name: Option<&str>) -> Result<HeaderName, ConfigError> {
    let name = name.unwrap_or("X-Correlation-ID");
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        invalid(
            "--session-header",
            format!("'{name}' is not a valid header name"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::args;
    use super::*;

    fn endpoint(a: &[&str]) -> Result<(Endpoint, Vec<String>), String> {
        let mut warnings = Vec::new();
        resolve(&args(a), &Registry::builtin(), &mut warnings)
            .map(|e| (e, warnings))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        let (e, warnings) = endpoint(&["-m", " a ", "-m", ""]).unwrap();
        assert_eq!(e.models, ["a"]);
        assert_eq!(e.endpoint_type, "chat");
        assert_eq!(e.urls.len(), 1);
        assert_eq!(e.request_timeout_s, 21600.0);
        assert_eq!(e.wait_for_model, None);
        assert_eq!(e.connection_reuse, ConnectionReuse::Pooled);
        assert_eq!(
            e.session_header,
            HeaderName::from_static("x-correlation-id")
        );
        assert_eq!(e.job_poll_interval_s, 0.5);
        assert!(warnings.is_empty());
    }

    #[test]
    fn model_selection_strategies() {
        let pick = |a: &[&str]| endpoint(a).map(|(e, _)| e.model_selection);
        assert_eq!(pick(&["-m", "a,b"]), Ok(ModelSelection::RoundRobin));
        assert_eq!(
            pick(&["-m", "a,b", "--model-selection-strategy", "Random"]),
            Ok(ModelSelection::Random)
        );
        assert_eq!(
            pick(&["-m", "a,b", "--model-selection-strategy", "round_robin"]),
            Ok(ModelSelection::RoundRobin)
        );
        let err = pick(&["-m", "a,b", "--model-selection-strategy", "weighted"]).unwrap_err();
        assert!(err.starts_with("--model-selection-strategy: "), "{err}");
        assert!(
            err.contains("All models must have weights specified when using weighted strategy"),
            "{err}"
        );
    }

    #[test]
    fn wait_for_model_modes() {
        let wait = |mode: &str| {
            endpoint(&[
                "-m",
                "a",
                "--wait-for-model-timeout",
                "3",
                "--wait-for-model-mode",
                mode,
            ])
            .unwrap()
            .0
            .wait_for_model
            .map(|w| (w.timeout_s, w.interval_s, w.models, w.inference))
        };
        assert_eq!(wait("models"), Some((3.0, 5.0, true, false)));
        assert_eq!(wait("inference"), Some((3.0, 5.0, false, true)));
        assert_eq!(wait("both"), Some((3.0, 5.0, true, true)));
    }

    #[test]
    fn connection_reuse_and_session_header() {
        let (e, _) = endpoint(&[
            "-m",
            "a",
            "--connection-reuse-strategy",
            "sticky-user-sessions",
            "--session-header",
            "X-Session",
        ])
        .unwrap();
        assert_eq!(e.connection_reuse, ConnectionReuse::StickyUserSessions);
        assert_eq!(e.session_header.as_str(), "x-session");
        assert_eq!(connection_reuse("never"), Ok(ConnectionReuse::Never));
        assert_eq!(
            connection_reuse("sometimes").unwrap_err().to_string(),
            "--connection-reuse-strategy: 'sometimes': choose pooled, never or sticky-user-sessions"
        );
    }

    #[test]
    fn streaming_is_forced_off_for_embeddings() {
        let (e, warnings) =
            endpoint(&["-m", "e", "--endpoint-type", "embeddings", "--streaming"]).unwrap();
        assert!(!e.streaming);
        assert_eq!(
            warnings,
            ["--streaming ignored: endpoint type 'embeddings' does not stream"]
        );
    }

    #[test]
    fn rejections() {
        let cases: [(&[&str], &str); 8] = [
            (
                &[],
                "--model: is required: name the model to benchmark (e.g. --model mock-model)",
            ),
            (
                &["-m", "a", "--custom-endpoint", "v1/x"],
                "--custom-endpoint: 'v1/x' must start with '/'",
            ),
            (
                &["-m", "a", "--request-timeout-seconds", "0"],
                "--request-timeout-seconds: must be > 0, got 0",
            ),
            (
                &["-m", "a", "--wait-for-model-timeout=-1"],
                "--wait-for-model-timeout: must be >= 0",
            ),
            (
                &[
                    "-m",
                    "a",
                    "--wait-for-model-timeout",
                    "1",
                    "--wait-for-model-interval",
                    "0",
                ],
                "--wait-for-model-interval: must be > 0, got 0",
            ),
            (
                &["-m", "a", "--session-header", "bad header"],
                "--session-header: 'bad header' is not a valid header name",
            ),
            (
                &["-m", "a", "--job-poll-interval", "0"],
                "--job-poll-interval: must be > 0, got 0",
            ),
            (
                &["-m", "a", "--endpoint-type", "chatt"],
                "--endpoint-type: Type 'chatt' not found",
            ),
        ];
        for (a, want) in cases {
            let got = endpoint(a).unwrap_err();
            assert!(got.starts_with(want), "{a:?}: {got}");
        }
        assert!(endpoint(&["-m", "a", "--url", "ftp://x"])
            .unwrap_err()
            .starts_with("--url: 'ftp://x': "));
    }

    #[test]
    fn urls_split_on_commas_as_aiperf_does() {
        let (e, _) = endpoint(&[
            "-m",
            "a",
            "--url",
            "h:1, http://h:2/v1",
            "-u",
            "https://h:3",
        ])
        .unwrap();
        let urls: Vec<String> = e.urls.iter().map(|u| u.to_string()).collect();
        assert_eq!(urls, ["http://h:1", "http://h:2/v1", "https://h:3"]);
    }

    #[test]
    fn url_errors_name_the_flag_and_hide_credentials() {
        let port = "invalid port: ports are integers from 1 to 65535 and a URL has at most one";
        let cases = [
            (
                "http://user:SECRET@127.0.0.1:8000:8000",
                format!("--url: 'http://<redacted>@127.0.0.1:8000:8000': {port}"),
            ),
            ("127.0.0.1:8000:8000", format!("--url: '127.0.0.1:8000:8000': {port}")),
            (
                "http://h:1,ftp://u:SECRET@h",
                "--url: 'ftp://<redacted>@h': unsupported scheme 'ftp': use http:// or https://"
                    .to_string(),
            ),
            (
                "http://h:1 http://h:2",
                "--url: 'http://h:1 http://h:2': ' ' is not allowed in a URL; give several servers as separate --url values or a comma-separated list".to_string(),
            ),
            (
                ",",
                "--url: is empty: give a server's base URL (e.g. http://localhost:8000)"
                    .to_string(),
            ),
        ];
        for (url, want) in cases {
            let got = endpoint(&["-m", "a", "--url", url]).unwrap_err();
            assert_eq!(got, want, "{url}");
            assert!(!got.contains("SECRET"));
        }
        // Credentials are kept for Basic auth, never shown.
        let (e, _) = endpoint(&["-m", "a", "--url", "http://u:SECRET@h:1"]).unwrap();
        assert!(e.urls[0].has_credentials());
        assert_eq!(e.urls[0].to_string(), "http://<redacted>@h:1");
    }
}
