//! What a hostile (or just unlucky) new user types: URLs with credentials, two ports or a
//! comma-separated list, `https://` to a plain server, contradictory flags, two sources of the
//! same credential. Each must fail at once with one line naming the flag, or work as AIPerf
//! does, and no secret may reach the console or an artifact.

use std::path::Path;

use crate::common::*;

const SECRET: &str = "S3cr3t-Pa55";

/// `http://user:SECRET@127.0.0.1:port` for a mock's `http://127.0.0.1:port`.
fn with_credentials(url: &str) -> String {
    url.replacen("http://", &format!("http://alice:{SECRET}@"), 1)
}

/// Every file under `dir`, recursively, as text.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                out.push((path.display().to_string(), text));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_credentials_go_as_basic_auth_and_are_never_written() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = with_credentials(&mock.url());
    let out = Profile::new("m", &url)
        .request_count(2)
        .isl(8)
        .osl(2)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.error_count), (0, 0));
    let req = &mock.requests()[0];
    // base64("alice:S3cr3t-Pa55")
    assert_eq!(
        req.header("authorization"),
        Some("Basic YWxpY2U6UzNjcjN0LVBhNTU=")
    );
    assert!(!out.console.contains(SECRET), "{}", out.console);
    let written = files(dir.path());
    assert!(written.len() >= 3, "{written:?}");
    for (path, text) in &written {
        assert!(!text.contains(SECRET), "secret leaked into {path}");
        assert!(!text.contains("YWxpY2U6"), "credentials leaked into {path}");
    }
    let summary = read_json(dir.path().join("profile_export_aiperf.json"));
    let echoed = summary.to_string();
    assert!(echoed.contains("http://<redacted>@127.0.0.1:"), "{echoed}");
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_urls_fail_at_config_time_with_one_redacted_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            format!("http://bob:{SECRET}@127.0.0.1:8000:8000"),
            "--url: 'http://<redacted>@127.0.0.1:8000:8000': invalid port",
        ),
        (
            "127.0.0.1:8000:8000".to_string(),
            "--url: '127.0.0.1:8000:8000': invalid port",
        ),
        (
            format!("http://127.0.0.1:1,ftp://u:{SECRET}@h"),
            "--url: 'ftp://<redacted>@h': unsupported scheme 'ftp'",
        ),
        (
            "http://127.0.0.1:1 http://127.0.0.1:2".to_string(),
            "--url: 'http://127.0.0.1:1 http://127.0.0.1:2': ' ' is not allowed",
        ),
        (
            "http://:8000".to_string(),
            "--url: 'http://:8000': missing host",
        ),
    ];
    for (url, want) in cases {
        let run = dir.path().join("run");
        let err = Profile::new("m", &url)
            .request_count(1)
            .run(&run)
            .await
            .unwrap_err();
        // A configuration error, not a transport one: nothing was prepared or contacted.
        assert!(
            err.downcast_ref::<aiperf_config::ConfigError>().is_some(),
            "{url}: {err:#}"
        );
        let line = aiperf_core::one_line(err.as_ref());
        assert!(line.starts_with(want), "{url}: {line}");
        assert!(!line.contains(SECRET) && !line.contains('\n'), "{line}");
        assert!(!run.exists());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comma_separated_url_list_is_round_robin_as_in_aiperf() {
    let (a, b) = (mock(0.0, 0.0).await, mock(0.0, 0.0).await);
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::new("m", &format!("{},{}", a.url(), b.url()))
        .request_count(4)
        .isl(8)
        .osl(2)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.error_count), (0, 0));
    let posts = |m: &aiperf_mock_server::MockHandle| {
        m.requests().iter().filter(|r| r.method == "POST").count()
    };
    assert_eq!((posts(&a), posts(&b)), (2, 2));
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_reported_before_the_dataset_is_read() {
    let dir = tempfile::tempdir().unwrap();
    // A dataset that would fail to load: the URL must be the error reported.
    let data = dir.path().join("broken.jsonl");
    std::fs::write(&data, "this is not json\n").unwrap();
    let err = Profile::new("m", "http://127.0.0.1:1")
        .input_file(data.display(), "single_turn")
        .request_count(1)
        .run(&dir.path().join("run"))
        .await
        .unwrap_err();
    let line = aiperf_core::one_line(err.as_ref());
    assert!(
        line.starts_with(
            "cannot reach the server at http://127.0.0.1:1: connection to 127.0.0.1:1 failed"
        ),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sources_of_one_credential_are_refused() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            Profile::new("m", &mock.url())
                .arg("--api-key", SECRET)
                .arg("-H", format!("Authorization: Bearer {SECRET}")),
            "--header authorization and --api-key both set the 'authorization' header: give only one of them",
        ),
        (
            Profile::new("m", &with_credentials(&mock.url())).arg("--api-key", SECRET),
            "--api-key and --url http://<redacted>@127.0.0.1:",
        ),
        (
            Profile::new("m", &with_credentials(&mock.url()))
                .arg("-H", format!("authorization:Basic {SECRET}")),
            "--header authorization and --url http://<redacted>@127.0.0.1:",
        ),
        (
            Profile::new("m", &mock.url())
                .endpoint("messages")
                .arg("--api-key", SECRET)
                .arg("-H", format!("x-api-key:{SECRET}")),
            "--header x-api-key and --api-key both set the 'x-api-key' header",
        ),
    ];
    for (profile, want) in cases {
        let run = dir.path().join("run");
        let err = profile.request_count(1).run(&run).await.unwrap_err();
        let line = aiperf_core::one_line(err.as_ref());
        assert!(line.starts_with(want), "{line}");
        assert!(!line.contains(SECRET), "{line}");
        assert!(!run.exists());
    }
    assert!(mock.requests().is_empty(), "nothing was sent");
    // An API key in its own header next to an unrelated custom header is fine.
    let out = Profile::new("m", &mock.url())
        .request_count(1)
        .isl(8)
        .osl(2)
        .arg("--api-key", SECRET)
        .arg("-H", "X-Team:blue")
        .run(&dir.path().join("ok"))
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_errors_are_one_line_with_a_hint() {
    let plain = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let https = plain.url().replace("http://", "https://");
    let err = Profile::new("m", &https)
        .request_count(1)
        .run(&dir.path().join("a"))
        .await
        .unwrap_err();
    let line = aiperf_core::one_line(err.as_ref());
    assert!(
        line.ends_with(
            "; hint: the server does not seem to speak TLS: use http:// instead of https://"
        ),
        "{line}"
    );
    assert_eq!(line.matches("corrupt message").count(), 1, "{line}");
    plain.stop().await;

    let tls = mock_with(aiperf_mock_server::MockConfig::for_tests_tls(0.0, 0.0)).await;
    let err = Profile::new("m", &tls.url())
        .request_count(1)
        .run(&dir.path().join("b"))
        .await
        .unwrap_err();
    let line = aiperf_core::one_line(err.as_ref());
    assert!(
        line.contains("hint: the server's certificate is not trusted: add --insecure"),
        "{line}"
    );
    assert!(!line.contains('\n'));
    tls.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contradictory_flags_are_an_error_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let err = Profile::new("m", "http://127.0.0.1:1")
        .flag("--fixed-schedule")
        .flag("--no-fixed-schedule")
        .run(dir.path())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'--fixed-schedule'") && err.contains("'--no-fixed-schedule'"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echoed_command_can_be_pasted_into_a_shell() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::new("m", &mock.url())
        .request_count(1)
        .isl(8)
        .osl(2)
        .arg("--system-prompt", "it's $HOME; rm -rf *")
        .arg("--extra-inputs", r#"{"temperature": 0.5}"#)
        .run(dir.path())
        .await
        .unwrap();
    assert!(
        out.console.contains(
            r#" --system-prompt 'it'\''s $HOME; rm -rf *' --extra-inputs '{"temperature": 0.5}' "#
        ),
        "{}",
        out.console
    );
    mock.stop().await;
}
