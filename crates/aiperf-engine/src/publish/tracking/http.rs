//! A small JSON-over-HTTP client for trackers' REST APIs, on the workspace's own transport
//! (`aiperf_transport::HttpClient`: rustls, keep-alive, URL userinfo as Basic auth).
//!
//! Every call shares the upload's one deadline. Errors name the method and path, never a
//! credential, and quote at most the start of the server's own message.

use std::time::{Duration, Instant};

use aiperf_core::Clock;
use aiperf_transport::{BaseUrl, Cancel, ClientOptions, ConnChoice, HttpClient, RequestSpec};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::Value;

/// Statuses (and transport failures) tried again, as MLflow's client does.
const RETRY_STATUSES: [u16; 5] = [429, 500, 502, 503, 504];
const ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// How much of a server's error message is quoted.
const QUOTE_CHARS: usize = 200;

/// Why a call failed.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// No answer: connection, TLS, timeout.
    Transport(String),
    /// An answer that is not 2xx, with the REST API's `error_code` when it sent one.
    Status {
        what: String,
        status: u16,
        error_code: Option<String>,
        message: String,
    },
    /// A 2xx answer that is not the JSON expected.
    Body(String),
}

impl ApiError {
    /// The API's `error_code` (`RESOURCE_DOES_NOT_EXIST`, ...), if any.
    pub(crate) fn code(&self) -> Option<&str> {
        match self {
            ApiError::Status { error_code, .. } => error_code.as_deref(),
            _ => None,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Transport(e) | ApiError::Body(e) => f.write_str(e),
            ApiError::Status {
                what,
                status,
                error_code,
                message,
            } => {
                write!(f, "{what}: HTTP {status}")?;
                if let Some(c) = error_code {
                    write!(f, " {c}")?;
                }
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                Ok(())
            }
        }
    }
}

/// One tracker's API: where it is, how to authenticate, until when to try.
pub(crate) struct Api {
    client: HttpClient,
    base: BaseUrl,
    headers: HeaderMap,
    deadline: Instant,
}

impl Api {
    /// A client for `base`; `auth` (an `Authorization` value, sensitive) replaces the URL's
    /// userinfo when given.
    pub(crate) async fn new(
        base: &BaseUrl,
        auth: Option<HeaderValue>,
        insecure: bool,
        deadline: Instant,
    ) -> Result<Self, ApiError> {
        let opts = ClientOptions {
            insecure,
            ..ClientOptions::default()
        };
        let client = HttpClient::with_options(base, Clock::start(), &opts)
            .await
            .map_err(|e| ApiError::Transport(e.to_string()))?;
        let mut headers = HeaderMap::new();
        if let Some(mut a) = auth {
            a.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, a);
        }
        headers.insert(
            header::USER_AGENT,
            HeaderValue::from_static(concat!("aiperf/", env!("CARGO_PKG_VERSION"))),
        );
        Ok(Self {
            client,
            base: base.clone(),
            headers,
            deadline,
        })
    }

    /// `GET <prefix><path>?<query>` answered with JSON.
    pub(crate) async fn get_json(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Value, ApiError> {
        let target = self.target(path, query);
        let body = self
            .call(Method::GET, &target, "application/json", Bytes::new())
            .await?;
        json(&format!("GET {path}"), &body)
    }

    /// `POST <prefix><path>` with a JSON body, answered with JSON.
    pub(crate) async fn post_json(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        let target = self.target(path, &[]);
        let bytes = Bytes::from(body.to_string());
        let answer = self
            .call(Method::POST, &target, "application/json", bytes)
            .await?;
        json(&format!("POST {path}"), &answer)
    }

    /// `PUT <prefix><path>` with raw bytes (an artifact upload).
    pub(crate) async fn put(
        &self,
        path: &str,
        content_type: &'static str,
        body: Bytes,
    ) -> Result<(), ApiError> {
        let target = self.target(path, &[]);
        self.call(Method::PUT, &target, content_type, body)
            .await
            .map(|_| ())
    }

    /// The request target: the base URL's path prefix, `path` (already percent-encoded), the
    /// query pairs and then the base URL's own query.
    fn target(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut t = format!("{}{path}", self.base.prefix);
        let mut pairs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k, false), encode(v, false)))
            .collect();
        if !self.base.query.is_empty() {
            pairs.push(self.base.query.clone());
        }
        if !pairs.is_empty() {
            t.push('?');
            t.push_str(&pairs.join("&"));
        }
        t
    }

    /// Sends one request, trying again after a busy answer or no answer while time is left.
    async fn call(
        &self,
        method: Method,
        target: &str,
        content_type: &'static str,
        body: Bytes,
    ) -> Result<Vec<u8>, ApiError> {
        let what = format!("{method} {}", target.split('?').next().unwrap_or(target));
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let result = self
                .once(&method, target, content_type, body.clone(), &what)
                .await;
            let retry = match &result {
                Err(ApiError::Transport(_)) => true,
                Err(ApiError::Status { status, .. }) => RETRY_STATUSES.contains(status),
                _ => false,
            };
            if !retry || attempt >= ATTEMPTS || Instant::now() + backoff >= self.deadline {
                return result;
            }
            tokio::time::sleep(backoff).await;
            backoff *= 2;
            attempt += 1;
        }
    }

    async fn once(
        &self,
        method: &Method,
        target: &str,
        content_type: &'static str,
        body: Bytes,
        what: &str,
    ) -> Result<Vec<u8>, ApiError> {
        let spec = RequestSpec {
            method: method.clone(),
            path: target,
            headers: &self.headers,
            extra_headers: [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (
                    HeaderName::from_static("accept"),
                    HeaderValue::from_static("application/json"),
                ),
            ],
            body,
            conn: ConnChoice::Pooled,
            watch: None,
        };
        let left = self.deadline.saturating_duration_since(Instant::now());
        let ex = self
            .client
            .send(spec, self.deadline, left.as_secs_f64(), Cancel::default())
            .await;
        if let Some(e) = ex.error {
            return Err(ApiError::Transport(format!("{what}: {e}")));
        }
        let body: Vec<u8> = ex
            .chunks
            .iter()
            .flat_map(|c| c.data.iter().copied())
            .collect();
        match ex.status {
            Some(s) if (200..300).contains(&s) => Ok(body),
            Some(status) => {
                let parsed: Option<Value> = serde_json::from_slice(&body).ok();
                let field = |k: &str| {
                    parsed
                        .as_ref()
                        .and_then(|v| v.get(k))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                };
                let message = field("message").unwrap_or_default();
                Err(ApiError::Status {
                    what: what.to_string(),
                    status,
                    error_code: field("error_code"),
                    message: message
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .chars()
                        .take(QUOTE_CHARS)
                        .collect(),
                })
            }
            None => Err(ApiError::Transport(format!("{what}: no response"))),
        }
    }
}

fn json(what: &str, body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::Body(format!("{what}: the answer is not JSON ({e})")))
}

/// Percent-encodes everything but RFC 3986's unreserved characters (and `/` in paths).
pub(crate) fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_unreserved_characters_and_path_slashes() {
        assert_eq!(encode("plots/a b+ü.png", true), "plots/a%20b%2B%C3%BC.png");
        assert_eq!(encode("a/b&c=d", false), "a%2Fb%26c%3Dd");
    }
}
