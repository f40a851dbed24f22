//! The real binary: exit codes, one-line errors naming the flag, `--help` groups.

use std::process::Command;

fn aiperf(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_aiperf"))
        .args(args)
        .output()
        .expect("run aiperf")
}

#[test]
fn invalid_flags_fail_before_any_request_with_the_flag_named() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["profile", "-m", "m", "--concurrency", "0"],
            "--concurrency",
        ),
        (
            &["profile", "-m", "m", "--benchmark-grace-period", "3"],
            "--benchmark-grace-period",
        ),
        (
            &["profile", "-m", "m", "--endpoint-type", "nope"],
            "--endpoint-type",
        ),
        (
            &["profile", "-m", "m", "--extra-inputs", "bad"],
            "--extra-inputs",
        ),
        (&["profile", "--url", "http://127.0.0.1:1"], "--model"),
    ];
    for (args, flag) in cases {
        let out = aiperf(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
}

#[test]
fn unreachable_server_is_one_line_and_exit_1() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let out = aiperf(&[
        "profile",
        "-m",
        "m",
        "-u",
        &url,
        "--isl",
        "8",
        "--artifact-dir",
        dir.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("aiperf: "))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.contains(&url), "{line}");
}

#[test]
fn help_groups_options_like_aiperf() {
    let out = aiperf(&["profile", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for heading in [
        "Endpoint:",
        "Tokenizer:",
        "Input:",
        "Input Sequence Length (ISL):",
        "Output Sequence Length (OSL):",
        "Load Generator:",
        "Warmup:",
        "Output:",
        "UI:",
        "Service:",
    ] {
        assert!(help.contains(heading), "missing group {heading}");
    }
    for flag in [
        "--synthetic-input-tokens-mean",
        "--output-tokens-mean",
        "--request-count",
        "--warmup-request-count",
    ] {
        assert!(help.contains(flag), "missing {flag}");
    }
}
