//! Base URLs as users type them (`localhost:8000`, `http://h:8000/v1`), parsed by the `url`
//! crate (WHATWG rules), and joining endpoint paths.
//!
//! Credentials in the userinfo (`http://user:pass@h`) are kept for HTTP Basic auth but never
//! shown: [`BaseUrl`]'s `Display` and `Debug` print `<redacted>` in their place, and
//! [`redact_url_text`] does the same for text that did not even parse, so an error message
//! can quote what the user typed.

use std::fmt;

use base64::Engine as _;
use http::HeaderValue;

/// What replaces a secret in anything printed.
pub const REDACTED: &str = "<redacted>";

/// A parsed `http(s)://[user[:pass]@]host:port/prefix[?query]` base URL.
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// `https://`: the connection is TLS.
    pub tls: bool,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    /// Path prefix without a trailing slash (may be empty).
    pub prefix: String,
    /// Query string without `?` (may be empty).
    pub query: String,
    /// Percent-decoded userinfo, sent as HTTP Basic auth; never printed.
    credentials: Option<(String, String)>,
}

/// Why a URL was rejected. Messages never quote the URL (the caller quotes it redacted).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    #[error("unsupported scheme '{0}': use http:// or https://")]
    Scheme(String),
    #[error("missing host: expected http://host:port or https://host:port")]
    Host,
    #[error("invalid port: ports are integers from 1 to 65535 and a URL has at most one")]
    Port,
    #[error("'{0}' is not allowed in a URL; give several servers as separate --url values or a comma-separated list")]
    Char(char),
    #[error("{0}")]
    Syntax(String),
}

impl BaseUrl {
    /// Parses a base URL; `http://` is assumed when no scheme is given, as AIPerf does.
    pub fn parse(input: &str) -> Result<Self, UrlError> {
        let input = input.trim();
        if let Some(c) = input.chars().find(|c| c.is_whitespace() || *c == ',') {
            return Err(UrlError::Char(c));
        }
        let with_scheme = if input.contains("://") {
            input.to_string()
        } else {
            format!("http://{input}")
        };
        let url = url::Url::parse(&with_scheme).map_err(|e| match e {
            url::ParseError::EmptyHost => UrlError::Host,
            url::ParseError::InvalidPort => UrlError::Port,
            other => UrlError::Syntax(other.to_string()),
        })?;
        let tls = match url.scheme() {
            "https" => true,
            "http" => false,
            other => return Err(UrlError::Scheme(other.to_string())),
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_string(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            _ => return Err(UrlError::Host),
        };
        let port = url
            .port_or_known_default()
            .unwrap_or(if tls { 443 } else { 80 });
        if port == 0 {
            return Err(UrlError::Port);
        }
        let credentials = (!url.username().is_empty() || url.password().is_some()).then(|| {
            (
                percent_decode(url.username()),
                percent_decode(url.password().unwrap_or("")),
            )
        });
        Ok(Self {
            tls,
            host,
            port,
            prefix: url.path().trim_end_matches('/').to_string(),
            query: url.query().unwrap_or("").to_string(),
            credentials,
        })
    }

    /// The userinfo as an `Authorization: Basic ...` value (marked sensitive), if the URL had
    /// one.
    pub fn basic_auth(&self) -> Option<HeaderValue> {
        let (user, pass) = self.credentials.as_ref()?;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        let mut v = HeaderValue::from_str(&format!("Basic {token}")).ok()?;
        v.set_sensitive(true);
        Some(v)
    }

    /// Whether the URL carried a user name or password.
    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    /// Joins an endpoint path onto the base, dropping path segments that the base already ends
    /// with (`http://h/v1` + `/v1/chat/completions` -> `/v1/chat/completions`).
    pub fn join(&self, path: &str) -> String {
        let base: Vec<&str> = self.prefix.split('/').filter(|s| !s.is_empty()).collect();
        let tail: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut overlap = 0;
        for k in (1..=base.len().min(tail.len())).rev() {
            if base[base.len() - k..] == tail[..k] {
                overlap = k;
                break;
            }
        }
        let mut out = String::new();
        for seg in base.iter().chain(tail[overlap..].iter()) {
            out.push('/');
            out.push_str(seg);
        }
        if out.is_empty() {
            out.push('/');
        }
        if !self.query.is_empty() {
            out.push('?');
            out.push_str(&self.query);
        }
        out
    }

    /// `host:port` as sent in the `Host` header.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Prints `scheme://[<redacted>@]host:port/prefix`; the query is left out (it may carry keys).
impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        let userinfo = if self.credentials.is_some() {
            "<redacted>@"
        } else {
            ""
        };
        write!(
            f,
            "{scheme}://{userinfo}{}{}",
            self.authority(),
            self.prefix
        )
    }
}

/// Like `Display`, plus the query with credential values redacted.
impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.query.is_empty() {
            write!(f, "BaseUrl({self})")
        } else {
            write!(
                f,
                "BaseUrl({})",
                redact_url_text(&format!("{self}?{}", self.query))
            )
        }
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Query parameter names whose values are secrets (AIPerf's list, matched case-insensitively).
fn is_sensitive_query_name(name: &str) -> bool {
    let n = percent_decode(name)
        .to_ascii_lowercase()
        .replace(['-', ' '], "_");
    const EXACT: [&str; 9] = [
        "key",
        "sig",
        "signature",
        "password",
        "passwd",
        "secret",
        "credential",
        "token",
        "awsaccesskeyid",
    ];
    EXACT.contains(&n.as_str())
        || n.contains("api_key")
        || n.contains("apikey")
        || n.ends_with("_token")
        || n.ends_with("_secret")
        || n.ends_with("_credential")
        || n.ends_with("_signature")
        || n.contains("access_key")
}

/// `text` (anything a user typed as a URL, parsed or not) with the userinfo and the values of
/// credential query parameters (`api_key`, `token`, `sig`, ...) replaced by `<redacted>`.
/// `user:pass@host` without a scheme counts as userinfo too.
pub fn redact_url_text(text: &str) -> String {
    let (scheme, rest) = match text.find("://") {
        Some(i) => (&text[..i + 3], &text[i + 3..]),
        None => ("", text),
    };
    // The authority ends at the first '/', '?' or '#'; its userinfo at the last '@' in it.
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    let authority = match authority.rfind('@') {
        Some(at) => format!("{REDACTED}{}", &authority[at..]),
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((q, f)) => (q, Some(f)),
                None => (query, None),
            };
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if is_sensitive_query_name(name) => {
                        format!("{name}={REDACTED}")
                    }
                    _ => pair.to_string(),
                })
                .collect();
            let mut t = format!("{path}?{}", query.join("&"));
            if let Some(f) = fragment {
                t.push('#');
                t.push_str(f);
            }
            t
        }
        None => tail.to_string(),
    };
    format!("{scheme}{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_and_without_scheme() {
        let u = BaseUrl::parse("localhost:8000").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.prefix.as_str()),
            ("localhost", 8000, "")
        );
        let u = BaseUrl::parse("http://127.0.0.1:9/v1/").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.prefix.as_str()),
            ("127.0.0.1", 9, "/v1")
        );
        let u = BaseUrl::parse("http://[::1]:8080").unwrap();
        assert_eq!(u.host, "::1");
        assert_eq!(u.authority(), "[::1]:8080");
        assert_eq!(BaseUrl::parse("http://h").unwrap().port, 80);
        let u = BaseUrl::parse("HTTPS://api.example.com/v1").unwrap();
        assert_eq!((u.tls, u.port), (true, 443));
        assert_eq!(u.to_string(), "https://api.example.com:443/v1");
        assert!(!u.has_credentials());
        assert_eq!(u.basic_auth(), None);
    }

    #[test]
    fn rejects_bad_urls() {
        assert!(matches!(
            BaseUrl::parse("ftp://h"),
            Err(UrlError::Scheme(_))
        ));
        assert_eq!(BaseUrl::parse("http://:80"), Err(UrlError::Host));
        assert_eq!(BaseUrl::parse("http://h:abc"), Err(UrlError::Port));
        assert_eq!(BaseUrl::parse("http://h:0"), Err(UrlError::Port));
        assert_eq!(BaseUrl::parse("http://h:70000"), Err(UrlError::Port));
        // Two ports used to become the IPv6 host `[h:1]`.
        assert_eq!(BaseUrl::parse("h:1:2"), Err(UrlError::Port));
        assert_eq!(BaseUrl::parse("http://127.0.0.1:1:2"), Err(UrlError::Port));
        // A list that reached the parser whole used to become `[h:1,http]`.
        assert_eq!(
            BaseUrl::parse("http://h:1,http://h:2"),
            Err(UrlError::Char(','))
        );
        assert_eq!(BaseUrl::parse("http://h:1 h:2"), Err(UrlError::Char(' ')));
        assert!(BaseUrl::parse("http://[::1").is_err());
    }

    #[test]
    fn credentials_become_basic_auth_and_are_never_printed() {
        let u = BaseUrl::parse("http://user:SECRET@127.0.0.1:9/v1").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("127.0.0.1", 9));
        assert!(u.has_credentials());
        let auth = u.basic_auth().unwrap();
        assert!(auth.is_sensitive());
        // base64("user:SECRET")
        assert_eq!(auth.to_str().unwrap(), "Basic dXNlcjpTRUNSRVQ=");
        assert_eq!(u.to_string(), "http://<redacted>@127.0.0.1:9/v1");
        assert!(!format!("{u:?}").contains("SECRET"));
        let u = BaseUrl::parse("h:1/v1?api-version=2&api_key=SECRET").unwrap();
        assert_eq!(
            format!("{u:?}"),
            "BaseUrl(http://h:1/v1?api-version=2&api_key=<redacted>)"
        );
        let u = BaseUrl::parse("u%40x:p%3Aw@h:1").unwrap();
        // base64("u@x:p:w")
        assert_eq!(
            u.basic_auth().unwrap().to_str().unwrap(),
            "Basic dUB4OnA6dw=="
        );
        assert!(!BaseUrl::parse("http://h:1/a@b").unwrap().has_credentials());
    }

    #[test]
    fn redacts_text_that_may_not_parse() {
        for (input, want) in [
            ("http://user:SECRET@h:1:2/v1", "http://<redacted>@h:1:2/v1"),
            ("user:SECRET@h:1", "<redacted>@h:1"),
            ("https://a@b@h/x@y", "https://<redacted>@h/x@y"),
            (
                "http://h/v1?api_key=SECRET&x=1&Token=SECRET#f",
                "http://h/v1?api_key=<redacted>&x=1&Token=<redacted>#f",
            ),
            ("http://h:1/v1?model=a", "http://h:1/v1?model=a"),
            ("plain text", "plain text"),
        ] {
            assert_eq!(redact_url_text(input), want, "{input}");
        }
    }

    #[test]
    fn joins_with_overlap_removed() {
        let u = BaseUrl::parse("http://h:1/v1").unwrap();
        assert_eq!(u.join("/v1/chat/completions"), "/v1/chat/completions");
        let u = BaseUrl::parse("http://h:1/proxy").unwrap();
        assert_eq!(u.join("/v1/completions"), "/proxy/v1/completions");
        let u = BaseUrl::parse("http://h:1?key=1").unwrap();
        assert_eq!(u.join("/v1/models"), "/v1/models?key=1");
        assert_eq!(u.join(""), "/?key=1");
    }
}
