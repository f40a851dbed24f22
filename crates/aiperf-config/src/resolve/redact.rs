//! Keeping secrets (`--api-key`, credential headers, URL credentials) out of `cli_command`,
//! messages and logs.

use aiperf_transport::{redact_url_text, REDACTED};

/// Header names whose values are secrets.
pub fn is_sensitive_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("auth")
        || n.contains("api-key")
        || n.contains("apikey")
        || n.contains("token")
        || n.contains("secret")
        || n == "cookie"
}

/// The command line with the values of `--api-key` and credential headers replaced, URL
/// credentials (`user:password@`, `?api_key=`) redacted, and each argument quoted for a POSIX
/// shell where it needs it, so the echo can be pasted back into a terminal.
/// Flags whose values are URLs that may carry `user:password@` or credential query values.
const URL_FLAGS: [&str; 4] = ["--url", "-u", "--otel-url", "--mlflow-tracking-uri"];

pub fn redact_command(argv: &[String]) -> String {
    redact_args(argv)
        .iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The arguments with every secret replaced (see [`redact_command`]), unquoted.
pub fn redact_args(argv: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let mut variant_next = false;
    let mut redact_next = false;
    let mut header_next = false;
    let mut url_next = false;
    for a in argv {
        if redact_next {
            out.push(REDACTED.to_string());
            redact_next = false;
            continue;
        }
        if variant_next {
            variant_next = false;
            out.push(redact_variant(a));
            continue;
        }
        if a == "--variant" || a == "--sweep-variant" {
            variant_next = true;
            out.push(a.clone());
            continue;
        }
        if let Some((flag, v)) = a
            .split_once('=')
            .filter(|(f, _)| *f == "--variant" || *f == "--sweep-variant")
        {
            out.push(format!("{flag}={}", redact_variant(v)));
            continue;
        }
        if header_next {
            header_next = false;
            out.push(redact_header_arg(a));
            continue;
        }
        if url_next {
            url_next = false;
            out.push(redact_url_list(a));
            continue;
        }
        if a == "--api-key" {
            redact_next = true;
            out.push(a.clone());
        } else if let Some(_v) = a.strip_prefix("--api-key=") {
            out.push(format!("--api-key={REDACTED}"));
        } else if a == "--header" || a == "-H" {
            header_next = true;
            out.push(a.clone());
        } else if let Some(v) = a.strip_prefix("--header=") {
            out.push(format!("--header={}", redact_header_arg(v)));
        } else if let Some(v) = a.strip_prefix("-H").filter(|v| !v.is_empty()) {
            let v = v.strip_prefix('=').unwrap_or(v);
            out.push(format!("-H{}", redact_header_arg(v)));
        } else if URL_FLAGS.contains(&a.as_str()) {
            url_next = true;
            out.push(a.clone());
        } else if let Some((flag, v)) = a
            .split_once('=')
            .filter(|(f, _)| URL_FLAGS.contains(f) && f.starts_with("--"))
        {
            out.push(format!("{flag}={}", redact_url_list(v)));
        } else if let Some(v) = a.strip_prefix("-u").filter(|v| !v.is_empty()) {
            let v = v.strip_prefix('=').unwrap_or(v);
            out.push(format!("-u{}", redact_url_list(v)));
        } else if a.contains("://") {
            // Any other URL-looking value (a future flag, a typo'd flag name).
            out.push(redact_url_text(a));
        } else {
            out.push(a.clone());
        }
    }
    out
}

/// A `--variant "name: flag=value, ..."` with the values of `api-key`, credential headers and
/// URL credentials replaced.
fn redact_variant(v: &str) -> String {
    let (head, body) = match v.split_once(':') {
        Some((h, b)) if !h.contains('=') => (Some(h), b),
        _ => (None, v),
    };
    let pairs: Vec<String> = body
        .split(',')
        .map(|chunk| match chunk.split_once('=') {
            Some((k, val)) => {
                let key = k.trim().replace('_', "-");
                let val = if key == "api-key" {
                    REDACTED.to_string()
                } else if key == "header" || key == "H" {
                    redact_header_arg(val.trim())
                } else {
                    redact_url_text(val)
                };
                format!("{k}={val}")
            }
            None => chunk.to_string(),
        })
        .collect();
    match head {
        Some(h) => format!("{h}:{}", pairs.join(",")),
        None => pairs.join(","),
    }
}

/// A `--url` value, possibly a comma-separated list, with each URL's secrets redacted.
fn redact_url_list(v: &str) -> String {
    v.split(',')
        .map(redact_url_text)
        .collect::<Vec<_>>()
        .join(",")
}

/// `arg` as a POSIX shell reads it back: unchanged when it holds only characters no shell
/// treats specially, else in single quotes (a `'` inside becomes `'\''`).
pub fn shell_quote(arg: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-+=%@:,./".contains(c);
    if !arg.is_empty() && arg.chars().all(safe) {
        return arg.to_string();
    }
    format!("'{}'", arg.replace('\'', "'\\''"))
}

fn redact_header_arg(h: &str) -> String {
    match h.split_once(':') {
        Some((n, _)) if is_sensitive_header(n.trim()) => format!("{n}:{REDACTED}"),
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
            "aiperf profile --api-key '<redacted>' -H 'Authorization:<redacted>' -H X-Trace:1 '--api-key=<redacted>' '--header=X-Api-Key:<redacted>'"
        );
    }

    #[test]
    fn variants_and_odd_header_names_keep_their_secrets() {
        let c = command(&[
            "aiperf",
            "profile",
            "--variant",
            "a: api-key=sk-SECRET1, isl=5",
            "--variant=b: header=X-Auth-Token:SECRET2",
            "--header=Authorization2: Bearer SECRET3",
        ]);
        assert!(!c.contains("SECRET"), "{c}");
        assert!(c.contains("isl=5"), "{c}");
    }

    fn command(args: &[&str]) -> String {
        let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        redact_command(&argv)
    }

    #[test]
    fn url_credentials_are_redacted_in_every_spelling() {
        let c = command(&[
            "aiperf",
            "profile",
            "--url",
            "http://user:SECRET@h:1",
            "-u",
            "user:SECRET@h:2,https://a:SECRET@h:3/v1?api_key=SECRET&x=1",
            "--url=http://u:SECRET@h:4",
            "-uhttp://u:SECRET@h:5",
            "-u=u:SECRET@h:6",
            "--urll",
            "http://u:SECRET@h:7",
            "-HAuthorization:SECRET",
        ]);
        assert!(!c.contains("SECRET"), "{c}");
        assert_eq!(
            c,
            "aiperf profile --url 'http://<redacted>@h:1' -u '<redacted>@h:2,https://<redacted>@h:3/v1?api_key=<redacted>&x=1' \
             '--url=http://<redacted>@h:4' '-uhttp://<redacted>@h:5' '-u<redacted>@h:6' --urll 'http://<redacted>@h:7' \
             '-HAuthorization:<redacted>'"
        );
    }

    #[test]
    fn tracker_and_collector_urls_lose_their_credentials_too() {
        let c = command(&[
            "aiperf",
            "profile",
            "--otel-url",
            "u:SECRET@collector:4318",
            "--otel-url=http://u:SECRET@c:4318",
            "--mlflow-tracking-uri",
            "https://u:SECRET@mlflow:5000",
            "--mlflow-tracking-uri=http://u:SECRET@m:1",
        ]);
        assert_eq!(
            c,
            "aiperf profile --otel-url '<redacted>@collector:4318' '--otel-url=http://<redacted>@c:4318' \
             --mlflow-tracking-uri 'https://<redacted>@mlflow:5000' '--mlflow-tracking-uri=http://<redacted>@m:1'"
        );
    }

    #[test]
    fn arguments_are_quoted_for_a_shell() {
        assert_eq!(
            command(&[
                "aiperf",
                "profile",
                "--extra-inputs",
                "{\"a\": 1}",
                "--goodput",
                "time_to_first_token:200 inter_token_latency:20",
                "--system-prompt",
                "it's $HOME",
                "--custom-endpoint",
                "",
                "-m",
                "org/model-1.5:latest",
                "--url",
                "http://h:1/v1",
            ]),
            "aiperf profile --extra-inputs '{\"a\": 1}' --goodput 'time_to_first_token:200 inter_token_latency:20' \
             --system-prompt 'it'\\''s $HOME' --custom-endpoint '' -m org/model-1.5:latest --url http://h:1/v1"
        );
        for (arg, quoted) in [
            ("a;b", "'a;b'"),
            ("*", "'*'"),
            ("~", "'~'"),
            ("a\nb", "'a\nb'"),
        ] {
            assert_eq!(shell_quote(arg), quoted);
        }
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
