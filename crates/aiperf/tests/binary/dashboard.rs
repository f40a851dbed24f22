//! The dashboard in a real terminal: the binary runs inside tmux (a pseudo-terminal), the
//! screen is captured mid-run and checked for plausible panel values, then `q` stops the run
//! and the terminal must be back on the normal screen with the final tables and artifacts.
//! `.ci/run` installs tmux; without it this test says so and passes vacuously.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::*;

struct Tmux {
    socket: String,
}

impl Tmux {
    /// A private tmux server for one test, or `None` (with a note) when tmux is missing.
    fn start_server(name: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("SKIPPED: tmux is not installed (.ci/run installs it)");
            return None;
        }
        Some(Tmux {
            socket: format!("aiperf-{name}-{}", std::process::id()),
        })
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    fn alternate_screen(&self) -> bool {
        let out = self.run(&["display-message", "-p", "-t", "t", "#{alternate_on}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    /// Polls the screen until `pred` holds (or panics with the last screen after `secs`).
    async fn wait_for(&self, secs: u64, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let t0 = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(secs),
                "{what} never appeared; screen:\n{s}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// The numbers on the screen line that starts with `label`.
fn numbers(screen: &str, label: &str) -> Vec<f64> {
    let line = screen
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no '{label}' line in:\n{screen}"));
    line.split(label)
        .nth(1)
        .unwrap_or("")
        .split(|c: char| c.is_whitespace() || c == '│')
        .filter_map(|w| w.parse::<f64>().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_shows_live_panels_and_q_restores_the_terminal() {
    let Some(tmux) = Tmux::start_server("dashboard") else {
        return;
    };
    let mock = mock_with(aiperf_mock_server::MockConfig {
        fake_gpus: 1,
        ..aiperf_mock_server::MockConfig::for_tests(40.0, 4.0)
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let profile = Profile::new("mock-model", &mock.url())
        .streaming()
        .concurrency(4)
        .request_count(100000)
        .isl(16)
        .osl(24)
        .arg("--gpu-telemetry", format!("{}/dcgm/metrics", mock.url()))
        .ui("dashboard");
    let cmd = format!(
        "XDG_CONFIG_HOME=/nonexistent {}; echo EXIT=$?; sleep 120",
        profile.shell_line(Some(&dir))
    );
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "140",
        "-y",
        "45",
        "sh",
        "-c",
        &cmd,
    ]);
    assert!(started.status.success(), "{started:?}");

    // Mid-run: every panel, with values that fit the mock (TTFT 40 ms, ITL 4 ms).
    let screen = tmux
        .wait_for(60, "live TTFT", |s| s.contains("Time to First Token (ms)"))
        .await;
    assert!(
        tmux.alternate_screen(),
        "the dashboard uses the alternate screen"
    );
    for panel in [
        "aiperf | mock-model | chat",
        "stage: profiling",
        "in flight",
        "live metrics",
        "Inter Token Latency (ms)",
        "requests per second",
        "TTFT per second",
        "errors (code type)",
        "no errors",
        " log ",
        "q / Ctrl-C",
        // The GPU panel, fed by the fake GPU's exporter page.
        "GPUs (power",
        "gpu 0 NVIDIA H100",
    ] {
        assert!(screen.contains(panel), "missing '{panel}' in:\n{screen}");
    }
    let ttft = numbers(&screen, "Time to First Token (ms)");
    assert_eq!(ttft.len(), 7, "avg min max p99 p90 p50 std: {ttft:?}");
    assert!((35.0..300.0).contains(&ttft[0]), "TTFT avg {ttft:?}");
    let itl = numbers(&screen, "Inter Token Latency (ms)");
    assert!((3.0..50.0).contains(&itl[5]), "ITL p50 {itl:?}");
    let sent = numbers(&screen, "sent ");
    assert!(sent[0] >= 4.0, "requests were sent: {sent:?}");

    // Resizing redraws to the new size instead of breaking the screen.
    tmux.run(&["resize-window", "-t", "t", "-x", "90", "-y", "32"]);
    let small = tmux
        .wait_for(20, "redraw at 90 columns", |s| {
            // The whole table, not just its title: a capture can land mid-redraw.
            s.contains("live metrics")
                && s.contains("Time to First Token")
                && s.lines().next().is_some_and(|l| l.chars().count() <= 90)
        })
        .await;
    assert!(small.lines().all(|l| l.chars().count() <= 90), "{small}");
    assert!(small.contains("Time to First Token"), "{small}");

    // q: graceful stop; the shell gets the normal screen back with the final tables.
    tmux.run(&["send-keys", "-t", "t", "q"]);
    let after = tmux
        .wait_for(60, "exit status", |s| s.contains("EXIT="))
        .await;
    assert!(
        after.contains("EXIT=130"),
        "interrupted runs exit 130:\n{after}"
    );
    assert!(
        !tmux.alternate_screen(),
        "terminal restored to the normal screen"
    );
    // The screen's last lines: the end of the final tables (server metrics come last) and
    // the footer.
    assert!(
        after.contains("┆") && after.contains("JSON Export"),
        "final tables printed:\n{after}"
    );
    let summary = read_json(dir.join("profile_export_aiperf.json"));
    assert_eq!(summary["was_cancelled"], true);
    assert!(dir.join("profile_export.jsonl").is_file());
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_ui_draws_a_progress_bar_per_phase_on_a_terminal() {
    let Some(tmux) = Tmux::start_server("simple") else {
        return;
    };
    let mock = mock(5.0, 1.0).await;
    let tmp = tempfile::tempdir().unwrap();
    let profile = Profile::new("mock-model", &mock.url())
        .streaming()
        .concurrency(4)
        .arg("--warmup-request-count", 8)
        .request_count(60)
        .isl(8)
        .osl(4)
        .ui("simple");
    let cmd = format!(
        "XDG_CONFIG_HOME=/nonexistent {} >/dev/null; echo EXIT=$?; sleep 120",
        profile.shell_line(Some(&tmp.path().join("run")))
    );
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "140",
        "-y",
        "30",
        "sh",
        "-c",
        &cmd,
    ]);
    assert!(started.status.success(), "{started:?}");
    let screen = tmux.wait_for(60, "exit", |s| s.contains("EXIT=")).await;
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        screen.contains("warmup [") && screen.contains("8/8 requests"),
        "{screen}"
    );
    assert!(
        screen.contains("profiling [") && screen.contains("60/60 requests"),
        "{screen}"
    );
    assert!(screen.contains("0 errors"), "{screen}");
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn final_tables_fit_a_narrow_terminal() {
    let Some(tmux) = Tmux::start_server("narrow") else {
        return;
    };
    let mock = mock(0.0, 0.0).await;
    let tmp = tempfile::tempdir().unwrap();
    let profile = Profile::new("mock-model", &mock.url())
        .streaming()
        .request_count(10)
        .isl(8)
        .osl(4)
        .ui("none");
    let cmd = format!(
        "XDG_CONFIG_HOME=/nonexistent {} 2>/dev/null; echo EXIT=$?; sleep 120",
        profile.shell_line(Some(&tmp.path().join("run")))
    );
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "80",
        "-y",
        "200",
        "sh",
        "-c",
        &cmd,
    ]);
    assert!(started.status.success(), "{started:?}");
    tmux.wait_for(60, "exit", |s| s.contains("EXIT=")).await;
    // -J joins lines the terminal wrapped: a table wider than the pane shows up as a long line.
    let out = tmux.run(&["capture-pane", "-p", "-J", "-S", "-", "-t", "t"]);
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(screen.contains("NVIDIA AIPerf | LLM Metrics"), "{screen}");
    let table_lines: Vec<&str> = screen
        .lines()
        .filter(|l| l.starts_with(['┌', '│', '├', '└', '╞']))
        .collect();
    assert!(table_lines.len() > 10, "{screen}");
    for l in &table_lines {
        assert!(
            l.chars().count() <= 80,
            "wider than the terminal:\n{l}\n{screen}"
        );
    }
    mock.stop().await;
}
