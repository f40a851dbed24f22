//! The real binary under a hostile user: absurd sizes, interrupts during preparation, reruns
//! after `kill -9`, a full disk. Each case checks what the user sees (exit code, one-line
//! reason) and what is left on disk.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// Runs `profile` under `sh -c` with a virtual-memory cap (KiB), as `ulimit -v` sets it.
fn run_capped(profile: &Profile, dir: Option<&Path>, kib: u64) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {kib} && exec {}",
            profile.shell_line(dir)
        ))
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env_remove("AIPERF_PLUGIN_PATH")
        .output()
        .expect("run sh")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Waits for `child` at most `limit`; kills it and fails the test when it takes longer.
fn wait_at_most(mut child: Child, limit: Duration, what: &str) -> Output {
    let t0 = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("{what}: still running after {limit:?}\n{}", stderr(&out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn absurd_sizes_are_refused_in_one_line_without_allocating() {
    let m = || Profile::new("m", "http://127.0.0.1:1").ui("none");
    for (p, flag) in [
        (
            m().concurrency("100000000000").request_count(5),
            "--concurrency",
        ),
        (m().arg("--isl", "1000000000000"), "--isl"),
        (
            m().arg("--num-dataset-entries", "1000000000000"),
            "--num-dataset-entries",
        ),
    ] {
        // 1 GiB of address space: an attempt to allocate would abort, not pass.
        let out = run_capped(&p, None, 1 << 20);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {err}");
        assert!(
            lines[0].starts_with(&format!("aiperf: {flag}: ")) && lines[0].contains("allows"),
            "{err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_concurrency_starts_only_the_sessions_that_can_run() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let p = Profile::new("m", &mock.url())
        .streaming()
        .isl(8)
        .osl(2)
        .ui("none")
        .concurrency(1_000_000)
        .request_count(20);
    // One worker per slot would need ~13 GiB; 20 requests need a few MiB.
    let out = {
        let dir = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || run_capped(&p, Some(&dir), 4 << 20))
            .await
            .unwrap()
    };
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    assert_eq!(stat(&s, "request_count", "avg"), 20.0);
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_during_preparation_ends_the_run_at_once() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("run");
    // 80 million prompt tokens: most of a minute of synthesis, about 2 GiB when done.
    let child = Profile::new("m", &mock.url())
        .arg("--isl", 2000)
        .arg("--num-dataset-entries", 40_000)
        .ui("none")
        .command(Some(&art))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    signal(&child, "-INT");
    let out = tokio::task::spawn_blocking(move || {
        wait_at_most(child, Duration::from_secs(20), "interrupted preparation")
    })
    .await
    .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains("aiperf: interrupted while preparing the dataset; nothing was sent"),
        "{err}"
    );
    assert!(mock.requests().is_empty());
    assert!(art.join("logs/aiperf.log").is_file(), "the log is kept");
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_after_kill_9_never_mixes_two_runs() {
    let mock = mock(20.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let p = |n: u64| {
        Profile::new("m", &mock.url())
            .streaming()
            .isl(8)
            .osl(2)
            .ui("none")
            .concurrency(2)
            .request_count(n)
    };
    let first = p(6).command(Some(dir.path())).output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        !stderr(&first).contains('\x1b'),
        "no colour codes in a redirected stderr: {:?}",
        stderr(&first)
    );
    let old = read_jsonl(dir.path().join("profile_export.jsonl"));
    assert_eq!(old.len(), 6);

    // The second run is killed mid-way: its partial records must not sit beside the first
    // run's complete summary.
    let child = p(100_000)
        .command(Some(dir.path()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while mock.requests().len() < 40 {
        assert!(t0.elapsed() < Duration::from_secs(60), "never sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    signal(&child, "-KILL");
    let killed = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        stderr(&killed).contains("file(s) of an earlier run; moved them to"),
        "{}",
        stderr(&killed)
    );
    assert!(!dir.path().join("profile_export_aiperf.json").exists());
    let aside = dir.path().join("previous_run");
    let moved = read_json(aside.join("profile_export_aiperf.json"));
    assert_eq!(stat(&moved, "request_count", "avg"), 6.0);
    let ids = |lines: &[serde_json::Value]| -> Vec<String> {
        lines
            .iter()
            .map(|l| l["metadata"]["x_request_id"].as_str().unwrap().to_string())
            .collect()
    };
    let partial = std::fs::read_to_string(dir.path().join("profile_export.jsonl")).unwrap();
    let partial: Vec<serde_json::Value> = partial
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let old_ids = ids(&old);
    assert!(ids(&partial).iter().all(|i| !old_ids.contains(i)));

    // A third run moves the killed run's leftovers aside in turn and ends complete.
    let third = p(4).command(Some(dir.path())).output().unwrap();
    assert!(third.status.success(), "{}", stderr(&third));
    assert_eq!(read_jsonl(dir.path().join("profile_export.jsonl")).len(), 4);
    assert!(!aside.join("profile_export_aiperf.json").exists());
    assert!(aside.join("profile_export.jsonl").is_file());
    mock.stop().await;
}

/// Runs `profile` with its artifact directory on a 256 KiB tmpfs in a private mount namespace
/// (`unshare -rm`: no root needed where user namespaces are allowed), then copies what was
/// written to `keep`. `None` when this machine cannot mount one.
fn run_on_tiny_disk(profile: &Profile, keep: &Path) -> Option<(i32, Output)> {
    let probe = Command::new("unshare")
        .args(["-rm", "sh", "-c", "mount -t tmpfs -o size=4k tmpfs /mnt"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        return None;
    }
    let disk = tempfile::tempdir().unwrap();
    let d = disk.path().display().to_string();
    let k = keep.display().to_string();
    let script = format!(
        "mount -t tmpfs -o size=256k tmpfs '{d}' || exit 99\n\
         {} ; echo $? > '{k}/rc'\n\
         cp -r '{d}/.' '{k}/'",
        profile.shell_line(Some(disk.path()))
    );
    let out = Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env_remove("AIPERF_PLUGIN_PATH")
        .output()
        .unwrap();
    let rc = std::fs::read_to_string(keep.join("rc")).ok()?;
    Some((rc.trim().parse().unwrap(), out))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_keeps_the_tables_whole_lines_and_no_temporaries() {
    let mock = mock(0.0, 0.0).await;
    let keep = tempfile::tempdir().unwrap();
    let p = Profile::new("m", &mock.url())
        .streaming()
        .isl(8)
        .osl(4)
        .ui("none")
        .concurrency(4)
        .request_count(3000)
        .arg("--num-dataset-entries", 10);
    let k = keep.path().to_path_buf();
    let Some((rc, out)) = tokio::task::spawn_blocking(move || run_on_tiny_disk(&p, &k))
        .await
        .unwrap()
    else {
        eprintln!("skipped: this machine cannot mount a tmpfs in a user namespace");
        mock.stop().await;
        return;
    };
    let err = stderr(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(rc, 1, "missing artifacts fail the run\n{err}");
    assert!(
        stdout.contains("NVIDIA AIPerf | LLM Metrics") && stdout.contains("Request Latency"),
        "the tables are printed whatever was lost:\n{stdout}\n{err}"
    );
    let warnings = err.matches("records are no longer written").count();
    assert_eq!(warnings, 1, "one warning at the first failed write:\n{err}");
    let records = std::fs::read_to_string(keep.path().join("profile_export.jsonl")).unwrap();
    assert!(records.ends_with('\n') || records.is_empty());
    let kept = records.lines().count();
    assert!(kept < 3000, "the disk was meant to fill ({kept} lines)");
    for l in records.lines() {
        serde_json::from_str::<serde_json::Value>(l).expect("only whole lines are kept");
    }
    let leftovers: Vec<_> = std::fs::read_dir(keep.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(mock.requests().len(), 3000, "the run went on");
    mock.stop().await;
}
