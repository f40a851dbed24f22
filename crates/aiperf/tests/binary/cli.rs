//! The real binary: exit codes, one-line errors naming the flag, `--help` groups.

use crate::common::*;

fn run(p: &Profile, artifact_dir: Option<&std::path::Path>) -> std::process::Output {
    p.command(artifact_dir).output().expect("run aiperf")
}

#[test]
fn invalid_flags_fail_before_any_request_with_the_flag_named() {
    let m = || Profile::bare().arg("-m", "m");
    let cases = [
        (m().concurrency(0), "--concurrency"),
        (
            m().arg("--benchmark-grace-period", 3),
            "--benchmark-grace-period",
        ),
        (m().endpoint("nope"), "--endpoint-type"),
        (m().arg("--extra-inputs", "bad"), "--extra-inputs"),
        (
            Profile::bare().arg("--url", "http://127.0.0.1:1"),
            "--model",
        ),
        (m().concurrency("1,a"), "--concurrency"),
        (m().concurrency("0,4"), "--concurrency"),
        (
            m().arg("--profile-run-cooldown-seconds", 5),
            "--profile-run-cooldown-seconds: only applies when running multiple trials",
        ),
        (m().arg("--num-profile-runs", 11), "--num-profile-runs"),
        (
            m().concurrency("1,2")
                .isl("8,16,32")
                .arg("--sweep-type", "zip"),
            "zip sweep parameters must all have equal length",
        ),
    ];
    for (p, flag) in cases {
        let args = p.argv(None);
        let out = run(&p, None);
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
    let out = run(&Profile::new("m", &url).isl(8), Some(&dir.path().join("x")));
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
    let out = aiperf().args(["profile", "--help"]).output().unwrap();
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

#[test]
fn compare_refuses_what_it_cannot_read_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = aiperf()
        .args(["compare"])
        .arg(dir.path())
        .arg(dir.path().join("missing"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("aiperf compare: '") && stderr.contains("no profile_export_aiperf.json"),
        "{stderr}"
    );
}
