//! Base URLs as users type them (`localhost:8000`, `http://h:8000/v1`) and joining endpoint paths.

use std::fmt;

/// A parsed `http(s)://host:port/prefix` base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// `https://`: the connection is TLS.
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path prefix without a trailing slash (may be empty).
    pub prefix: String,
    /// Query string without `?` (may be empty).
    pub query: String,
}

/// Why a URL was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    #[error("unsupported scheme '{0}': use http:// or https://")]
    Scheme(String),
    #[error("missing host")]
    Host,
    #[error("invalid port '{0}'")]
    Port(String),
}

impl BaseUrl {
    /// Parses a base URL; `http://` is assumed when no scheme is given, as AIPerf does.
    pub fn parse(input: &str) -> Result<Self, UrlError> {
        let input = input.trim();
        let (tls, rest) = match input.split_once("://") {
            Some((scheme, rest)) => {
                if scheme.eq_ignore_ascii_case("https") {
                    (true, rest)
                } else if scheme.eq_ignore_ascii_case("http") {
                    (false, rest)
                } else {
                    return Err(UrlError::Scheme(scheme.to_string()));
                }
            }
            None => (false, input),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, q.to_string()),
            None => (rest, String::new()),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
            // IPv6 literal: [::1]:8000
            let (h, p) = stripped.split_once(']').ok_or(UrlError::Host)?;
            (h.to_string(), p.strip_prefix(':').unwrap_or(""))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p),
                None => (authority.to_string(), ""),
            }
        };
        if host.is_empty() {
            return Err(UrlError::Host);
        }
        let port = if port.is_empty() {
            if tls {
                443
            } else {
                80
            }
        } else {
            port.parse().map_err(|_| UrlError::Port(port.to_string()))?
        };
        Ok(Self {
            tls,
            host,
            port,
            prefix: path.trim_end_matches('/').to_string(),
            query,
        })
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

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority(), self.prefix)
    }
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
    }

    #[test]
    fn rejects_bad_urls() {
        assert!(matches!(
            BaseUrl::parse("ftp://h"),
            Err(UrlError::Scheme(_))
        ));
        assert_eq!(BaseUrl::parse("http://:80"), Err(UrlError::Host));
        assert!(matches!(
            BaseUrl::parse("http://h:abc"),
            Err(UrlError::Port(_))
        ));
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
