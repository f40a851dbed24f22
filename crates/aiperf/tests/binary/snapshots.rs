//! Snapshots (`insta`) of what users read first: `aiperf --help`, `aiperf profile --help`, and
//! the one-line error of each of a table of bad command lines. Review a change with
//! `cargo insta review` (or `INSTA_UPDATE=always cargo test -p aiperf --test binary snapshots`
//! and read the diff of the `.snap` files).
//!
//! The binary runs with an empty environment plus `COLUMNS=100`, so neither the terminal's
//! width, colours, `AIPERF_*` variables nor the user's plugins change the text; the crate
//! version and temporary paths are filtered out.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::*;

/// Where no server listens: nothing is ever sent, even if a case were accepted.
const NOWHERE: &str = "http://127.0.0.1:1";

/// The built binary with nothing from this process's environment but a fixed help width.
fn hermetic(mut c: Command) -> Command {
    c.env_clear().env("COLUMNS", "100");
    c
}

/// Replaces what varies by machine or release with placeholders.
fn filters(tmp: Option<&Path>) -> Vec<(String, String)> {
    let version = env!("CARGO_PKG_VERSION").replace('.', r"\.");
    let mut f = vec![(format!(r"\b{version}\b"), "[VERSION]".to_string())];
    if let Some(tmp) = tmp {
        f.push((
            regex_escape(&tmp.display().to_string()),
            "[TMP]".to_string(),
        ));
    }
    f
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = r"\.+*?()|[]{}^$#&-~".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

fn help(args: &[&str]) -> String {
    let mut c = hermetic(aiperf());
    let out = c.args(args).output().expect("run aiperf");
    assert!(out.status.success(), "{args:?}: {out:?}");
    assert!(out.stderr.is_empty(), "{args:?}: nothing on stderr");
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

/// Runs `f` (which asserts snapshots) with the filters and the snapshot names as given.
fn with_filters(tmp: Option<&Path>, f: impl FnOnce()) {
    let mut settings = insta::Settings::clone_current();
    for (re, with) in filters(tmp) {
        settings.add_filter(&re, with);
    }
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(f);
}

#[test]
fn top_level_help() {
    let text = help(&["--help"]);
    with_filters(None, || insta::assert_snapshot!("aiperf_help", text));
}

#[test]
fn profile_help() {
    let text = help(&["profile", "--help"]);
    with_filters(None, || {
        insta::assert_snapshot!("aiperf_profile_help", text)
    });
}

/// The first line of stderr, then clap's `tip:` lines (where "did you mean" lives).
fn error_of(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut lines = stderr.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut text = lines.next().unwrap_or("<nothing on stderr>").to_string();
    for tip in lines.filter(|l| l.starts_with("tip:")) {
        text.push_str("\n    ");
        text.push_str(tip);
    }
    text
}

#[test]
fn config_errors() {
    let p = || Profile::new("m", NOWHERE);
    let tmp = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let f = tmp.path().join(name);
        std::fs::write(&f, text).unwrap();
        f.display().to_string()
    };
    let unknown_rows = file("prompts.jsonl", "{\"prompt\": \"hi\"}\n");
    let cases: Vec<Profile> = vec![
        // Missing requirements.
        Profile::bare().arg("-u", NOWHERE),
        p().arg("--benchmark-grace-period", 3),
        p().arg("--request-cancellation-delay", 1),
        p().flag("--input-file"),
        p().arg("--custom-dataset-type", "single_turn"),
        p().arg("--num-users", 3),
        p().arg("--user-centric-rate", 10),
        p().arg("--arrival-pattern", "constant"),
        p().arg("--request-rate-ramp-duration", 2),
        p().flag("--fixed-schedule"),
        p().arg("--fixed-schedule-start-offset", 10),
        p().arg("--num-prefix-prompts", 2),
        // Bad values.
        p().concurrency(0),
        p().concurrency("four"),
        p().request_count(0),
        p().isl(0),
        p().osl(-3),
        p().arg("--url", "ftp://x"),
        p().arg("--url", "http://user:SECRET@127.0.0.1:8000:8000"),
        p().arg("--url", "127.0.0.1:8000:8000"),
        p().arg("--url", "http://127.0.0.1:1,ftp://u:SECRET@h"),
        p().arg("--benchmark-duration", 0),
        p().arg("--request-timeout-seconds", 0),
        p().flag("--wait-for-model-timeout=-1"),
        p().flag("--isl-stddev=-2"),
        p().arg("--request-cancellation-rate", 150),
        p().arg("--extra-inputs", "bad"),
        p().arg("--goodput", "nonsense"),
        p().arg("-H", "no-colon"),
        p().arg("--custom-endpoint", "v1/chat"),
        p().arg("--session-header", "bad header"),
        p().arg("--input-file", "/nonexistent/data.jsonl"),
        p().arg("--input-file", &unknown_rows),
        p().endpoint("nim_rankings")
            .arg("--rankings-passages-mean", 0),
        p().arg("--public-dataset", "alpaca"),
        p().arg("--conversation-turn-mean", 0),
        p().arg("--audio-length-mean", 1).arg("--audio-depths", 12),
        // Conflicting flags.
        p().request_rate(10)
            .arg("--arrival-pattern", "concurrency_burst"),
        p().request_rate(10)
            .arg("--arrival-pattern", "poisson")
            .arg("--arrival-smoothness", 2),
        p().arg("--num-prefix-prompts", 2)
            .arg("--prefix-prompt-length", 10)
            .arg("--shared-system-prompt-length", 5),
        p().arg("--system-prompt", "x")
            .arg("--system-prompt-file", "y"),
        p().flag("--fixed-schedule").flag("--no-fixed-schedule"),
        p().arg("--api-key", "SECRET")
            .arg("-H", "Authorization:Bearer SECRET"),
        // Typos: "did you mean".
        p().arg("--concurency", 4),
        p().flag("--streamin"),
        p().endpoint("chatt"),
        p().ui("dashbord"),
        p().arg("--dataset-sampling-strategy", "shufle"),
    ];
    let mut table = String::new();
    for (i, case) in cases.iter().enumerate() {
        let dir = tmp.path().join(format!("case{i}"));
        let out = hermetic(case.command(Some(&dir)))
            .output()
            .expect("run aiperf");
        let args = case.argv(None)[1..].join(" ");
        assert!(!out.status.success(), "{args}: accepted");
        assert!(out.stdout.is_empty(), "{args}: nothing on stdout");
        assert!(!dir.exists(), "{args}: no artifact directory");
        let code = out.status.code().unwrap_or(-1);
        let error = error_of(&out);
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("SECRET"),
            "{args}: a secret in the error"
        );
        assert!(
            error.starts_with("aiperf: ") || error.starts_with("error: "),
            "{args}: a configuration error comes first, before any log line: {error}"
        );
        table.push_str(&format!("$ aiperf {args}\n  exit {code}: {error}\n"));
    }
    with_filters(Some(tmp.path()), || {
        insta::assert_snapshot!("config_errors", table)
    });
}
