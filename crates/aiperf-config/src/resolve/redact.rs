//! Keeping secrets (`--api-key`, credential headers) out of `cli_command`, messages and logs.

/// Header names whose values are secrets.
pub fn is_sensitive_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization"
        || n == "proxy-authorization"
        || n.contains("api-key")
        || n.contains("apikey")
        || n.contains("token")
        || n.contains("secret")
        || n == "cookie"
}

/// The command line with the values of `--api-key` and credential headers replaced.
pub fn redact_command(argv: &[String]) -> String {
    let mut out = Vec::with_capacity(argv.len());
    let mut redact_next = false;
    let mut header_next = false;
    for a in argv {
        if redact_next {
            out.push("<redacted>".to_string());
            redact_next = false;
            continue;
        }
        if header_next {
            header_next = false;
            out.push(redact_header_arg(a));
            continue;
        }
        if a == "--api-key" {
            redact_next = true;
            out.push(a.clone());
        } else if let Some(_v) = a.strip_prefix("--api-key=") {
            out.push("--api-key=<redacted>".to_string());
        } else if a == "--header" || a == "-H" {
            header_next = true;
            out.push(a.clone());
        } else if let Some(v) = a.strip_prefix("--header=") {
            out.push(format!("--header={}", redact_header_arg(v)));
        } else {
            out.push(a.clone());
        }
    }
    out.join(" ")
}

fn redact_header_arg(h: &str) -> String {
    match h.split_once(':') {
        Some((n, _)) if is_sensitive_header(n.trim()) => format!("{n}:<redacted>"),
        _ => h.to_string(),
    }
}

/// A malformed `--header` as an error message may quote it: the name only, or at most 40
/// characters when there is no colon.
pub(super) fn redact_header_text(h: &str) -> String {
    match h.split_once(':') {
        Some((n, _)) => format!("{n}:<redacted>"),
        None => h.chars().take(40).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_from_the_command() {
        let argv: Vec<String> = [
            "aiperf",
            "profile",
            "--api-key",
            "sk-123",
            "-H",
            "Authorization:Bearer x",
            "-H",
            "X-Trace:1",
            "--api-key=sk-9",
            "--header=X-Api-Key:k",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let c = redact_command(&argv);
        assert_eq!(
            c,
            "aiperf profile --api-key <redacted> -H Authorization:<redacted> -H X-Trace:1 --api-key=<redacted> --header=X-Api-Key:<redacted>"
        );
    }

    #[test]
    fn credential_header_names() {
        for n in [
            "Authorization",
            "proxy-authorization",
            "X-Api-Key",
            "apikey",
            "X-Auth-Token",
            "client-secret",
            "Cookie",
        ] {
            assert!(is_sensitive_header(n), "{n}");
        }
        for n in ["X-Trace", "Accept", "Set-Cookie-Policy"] {
            assert!(!is_sensitive_header(n), "{n}");
        }
        assert_eq!(
            redact_header_text("Authorization Bearer:x"),
            "Authorization Bearer:<redacted>"
        );
        assert_eq!(redact_header_text(&"a".repeat(50)), "a".repeat(40));
    }
}
