//! `aiperf watch DIR...`: the combined progress of a distributed run's shards, read from the
//! files each shard keeps in its artifact directory (`status.json` while sending, `shard.json`
//! from set-up to the end). Reading files needs no port or server on the shards, and works on
//! the shared volume a Kubernetes or Slurm run already writes to.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aiperf_config::WatchArgs;
use serde_json::Value;

/// What each shard writes (`aiperf_engine`'s `status::STATUS_FILE`, which is crate-private).
const STATUS_FILE: &str = "status.json";

/// The status format this build reads; another one counts as no status.
const STATUS_FORMAT: u64 = 1;

/// A running shard rewrites its status every second; one silent for longer than this has likely
/// died or lost its volume.
const STALE_MS: u64 = 5_000;

/// `aiperf watch`.
pub fn run(args: &WatchArgs) -> ExitCode {
    // A typo would otherwise be watched forever as "waiting".
    if let Some(missing) = args.dirs.iter().find(|d| !d.is_dir()) {
        eprintln!("aiperf watch: '{}' is not a directory", missing.display());
        return ExitCode::from(1);
    }
    let tty = std::io::stdout().is_terminal();
    watch(args, &mut std::io::stdout().lock(), tty)
}

/// Refreshes until every shard finished (or once); a terminal is redrawn in place, anything
/// else gets one block per refresh.
fn watch(args: &WatchArgs, out: &mut dyn Write, tty: bool) -> ExitCode {
    let mut previous_lines = 0;
    loop {
        // Expanded on every refresh: a run directory's `shard-<i>/` appear as shards start.
        let dirs = super::expand_run_dirs(&args.dirs);
        let views: Vec<(PathBuf, ShardView)> = dirs
            .iter()
            .map(|d| (d.clone(), ShardView::read(d)))
            .collect();
        let now = unix_ms();
        let mut text = render(&views, now);
        let done = all_finished(&views, now);
        if done {
            text.push_str(&format!(
                "all {} shards finished; merge with: {}\n",
                views.len(),
                merge_hint(&args.dirs, &dirs)
            ));
        }
        let separator = match (previous_lines, tty) {
            (0, _) => String::new(),
            (n, true) => format!("\x1b[{n}A\x1b[J"),
            (_, false) => "\n".to_string(),
        };
        // Nobody reads a closed stdout (`| head`): stop quietly.
        if write!(out, "{separator}{text}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return ExitCode::SUCCESS;
        }
        if done || args.once {
            return ExitCode::SUCCESS;
        }
        previous_lines = text.lines().count();
        std::thread::sleep(Duration::from_secs_f64(args.interval));
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// One shard's `status.json` (mirrors `aiperf_engine`'s private `status::ShardStatus`).
#[derive(Debug, Clone, PartialEq)]
struct Status {
    index: u32,
    count: u32,
    /// Sending is over (the results may still be being written).
    finished: bool,
    phase: String,
    elapsed_s: f64,
    target_requests: Option<u64>,
    duration_s: Option<f64>,
    issued: u64,
    in_flight: u64,
    done: u64,
    errors: u64,
    updated_unix_ms: u64,
}

impl Status {
    fn parse(v: &Value) -> Option<Status> {
        if v["format"].as_u64()? != STATUS_FORMAT {
            return None;
        }
        let u = |k: &str| v[k].as_u64();
        Some(Status {
            index: v["shard"]["index"].as_u64()? as u32,
            count: v["shard"]["count"].as_u64()? as u32,
            finished: v["state"].as_str()? == "finished",
            phase: v["phase"].as_str()?.to_string(),
            elapsed_s: v["elapsed_s"].as_f64()?,
            target_requests: u("target_requests"),
            duration_s: v["duration_s"].as_f64(),
            issued: u("issued")?,
            in_flight: u("in_flight")?,
            done: u("done")?,
            errors: u("errors")?,
            updated_unix_ms: u("updated_unix_ms")?,
        })
    }

    /// `profiling 310/1000 sent, 300 done, 0 errors, 5 in flight, 3.1 s`.
    fn counts(&self) -> String {
        let sent = match self.target_requests {
            Some(t) => format!("{}/{t} sent", self.issued),
            None => format!("{} sent", self.issued),
        };
        let elapsed = match self.duration_s {
            Some(d) => format!("{:.1}/{d:.0} s", self.elapsed_s),
            None => format!("{:.1} s", self.elapsed_s),
        };
        format!(
            "{} {sent}, {} done, {} errors, {} in flight, {elapsed}",
            self.phase, self.done, self.errors, self.in_flight
        )
    }
}

/// What `shard.json` says: written as `started` before the shard sends, rewritten as
/// `finished` once its results are on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Manifest {
    Absent,
    Started,
    Finished,
}

/// Everything one shard directory tells about its shard.
#[derive(Debug, Clone, PartialEq)]
struct ShardView {
    status: Option<Status>,
    manifest: Manifest,
    /// `shard.json`'s shard (index, count), for a shard with no status yet.
    manifest_shard: Option<(u32, u32)>,
}

impl ShardView {
    /// A file that is missing or unreadable counts as absent: the next refresh reads it again.
    fn read(dir: &Path) -> ShardView {
        let json = |name: &str| -> Option<Value> {
            let text = std::fs::read_to_string(dir.join(name)).ok()?;
            serde_json::from_str(&text).ok()
        };
        let status = json(STATUS_FILE).as_ref().and_then(Status::parse);
        let manifest = json(aiperf_engine::SHARD_MANIFEST);
        let (state, manifest_shard) = match &manifest {
            None => (Manifest::Absent, None),
            Some(m) => (
                match m["status"].as_str() {
                    Some("finished") => Manifest::Finished,
                    _ => Manifest::Started,
                },
                m["shard"]["index"]
                    .as_u64()
                    .zip(m["shard"]["count"].as_u64())
                    .map(|(i, c)| (i as u32, c as u32)),
            ),
        };
        ShardView {
            status,
            manifest: state,
            manifest_shard,
        }
    }

    fn kind(&self, now_unix_ms: u64) -> Kind {
        match (&self.status, self.manifest) {
            (_, Manifest::Finished) => Kind::Finished,
            // Sent everything; `merge_records.bin` and the final `shard.json` are being written.
            (Some(s), Manifest::Started) if s.finished => Kind::Finishing,
            (Some(s), _) if s.finished => Kind::Finished,
            (Some(s), _) => {
                let age = now_unix_ms.saturating_sub(s.updated_unix_ms);
                if age > STALE_MS {
                    Kind::Stale(age / 1000)
                } else {
                    Kind::Running
                }
            }
            (None, Manifest::Started) => Kind::Starting,
            (None, Manifest::Absent) => Kind::Waiting,
        }
    }

    /// The shard's count of shards, as the shard itself reports it.
    fn count(&self) -> Option<u32> {
        self.status
            .as_ref()
            .map(|s| s.count)
            .or(self.manifest_shard.map(|(_, c)| c))
    }
}

/// Where a shard is, as the watcher shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// No `shard.json` yet (or no directory).
    Waiting,
    /// Set up, no progress written yet.
    Starting,
    Running,
    /// Running, but its status has not changed for this many seconds.
    Stale(u64),
    /// Done sending, writing its results.
    Finishing,
    Finished,
}

impl Kind {
    /// The state's name in the combined line.
    fn name(self) -> &'static str {
        match self {
            Kind::Running => "running",
            Kind::Stale(_) => "stale",
            Kind::Finishing => "finishing",
            Kind::Starting => "starting",
            Kind::Waiting => "waiting",
            Kind::Finished => "finished",
        }
    }
}

/// The combined line's order: what needs attention first.
const HEADER_ORDER: [&str; 6] = [
    "running",
    "stale",
    "finishing",
    "starting",
    "waiting",
    "finished",
];

/// Shards the shards themselves count that have no directory here: the run is not over while
/// one is missing.
fn not_found(statuses: &[(PathBuf, ShardView)]) -> usize {
    let expected = statuses
        .iter()
        .filter_map(|(_, v)| v.count())
        .max()
        .unwrap_or(0) as usize;
    expected.saturating_sub(statuses.len())
}

fn all_finished(statuses: &[(PathBuf, ShardView)], now_unix_ms: u64) -> bool {
    !statuses.is_empty()
        && not_found(statuses) == 0
        && statuses
            .iter()
            .all(|(_, v)| v.kind(now_unix_ms) == Kind::Finished)
}

/// The combined line, then one line per shard; every line ends in a newline.
fn render(statuses: &[(PathBuf, ShardView)], now_unix_ms: u64) -> String {
    let kinds: Vec<Kind> = statuses.iter().map(|(_, v)| v.kind(now_unix_ms)).collect();
    let missing = not_found(statuses);
    let total = statuses.len() + missing;
    let mut states: Vec<String> = HEADER_ORDER
        .iter()
        .filter_map(|name| {
            let n = kinds.iter().filter(|k| k.name() == *name).count();
            (n > 0).then(|| format!("{n} {name}"))
        })
        .collect();
    if missing > 0 {
        states.push(format!("{missing} not found"));
    }
    let noun = if total == 1 { "shard" } else { "shards" };
    let mut out = format!("{total} {noun}: {}", states.join(", "));
    if let Some(combined) = combined(statuses) {
        out.push_str(" | ");
        out.push_str(&combined);
    }
    out.push('\n');
    for ((dir, view), kind) in statuses.iter().zip(&kinds) {
        let label = match (&view.status, view.manifest_shard) {
            (Some(s), _) => format!("shard {}", s.index),
            (None, Some((i, _))) => format!("shard {i}"),
            (None, None) => dir.display().to_string(),
        };
        let counts = view.status.as_ref().map(Status::counts);
        let what = match (kind, counts) {
            (Kind::Running, Some(c)) => c,
            (Kind::Stale(s), Some(c)) => format!("no status for {s} s (stale), last: {c}"),
            (Kind::Finishing, Some(c)) => format!("sending done, writing results; {c}"),
            (Kind::Finished, Some(c)) => format!("finished; {c}"),
            (Kind::Finished, None) => "finished".to_string(),
            (Kind::Starting, _) => "started, no progress yet".to_string(),
            _ => "waiting (no shard.json yet)".to_string(),
        };
        out.push_str(&format!("  {label}: {what}\n"));
    }
    out
}

/// The sums over the shards in the latest phase any shard reached (warmup and profiling counts
/// do not add up): `profiling 1234/4000 sent, 1200 done (3 errors), 30 in flight, 412.3 req/s`.
/// The target is summed only when every shard reports one, or the sum would understate it.
fn combined(statuses: &[(PathBuf, ShardView)]) -> Option<String> {
    let reported: Vec<&Status> = statuses
        .iter()
        .filter_map(|(_, v)| v.status.as_ref())
        .collect();
    let phase = if reported.iter().any(|s| s.phase == "profiling") {
        "profiling"
    } else {
        reported.first()?.phase.as_str()
    };
    let in_phase: Vec<&Status> = reported.into_iter().filter(|s| s.phase == phase).collect();
    let sum = |f: fn(&Status) -> u64| -> u64 { in_phase.iter().map(|s| f(s)).sum() };
    let issued = sum(|s| s.issued);
    let target: Option<u64> = if in_phase.len() == statuses.len() && not_found(statuses) == 0 {
        in_phase.iter().map(|s| s.target_requests).sum()
    } else {
        None
    };
    let sent = match target {
        Some(t) => format!("{issued}/{t} sent"),
        None => format!("{issued} sent"),
    };
    let longest = in_phase.iter().map(|s| s.elapsed_s).fold(0.0, f64::max);
    let rate = if longest > 0.0 {
        issued as f64 / longest
    } else {
        0.0
    };
    Some(format!(
        "{phase} {sent}, {} done ({} errors), {} in flight, {rate:.1} req/s",
        sum(|s| s.done),
        sum(|s| s.errors),
        sum(|s| s.in_flight),
    ))
}

/// The `aiperf merge` command for what was watched: the directories as given, into `merged/`
/// beside the shards (inside a run directory, or next to the shard directories named).
fn merge_hint(given: &[PathBuf], expanded: &[PathBuf]) -> String {
    let run_dir = match given {
        [one] if expanded != given => one.clone(),
        _ => given
            .first()
            .and_then(|d| d.parent())
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
    };
    let dirs: Vec<String> = given.iter().map(|d| shell_word(d)).collect();
    format!(
        "aiperf merge {} --output {}",
        dirs.join(" "),
        shell_word(&run_dir.join("merged"))
    )
}

/// `path` as one shell word, quoted only when it needs to be.
fn shell_word(path: &Path) -> String {
    let s = path.display().to_string();
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@,".contains(c));
    if plain {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000_000;

    fn status(index: u32, phase: &str, issued: u64, elapsed_s: f64) -> Status {
        Status {
            index,
            count: 4,
            finished: false,
            phase: phase.into(),
            elapsed_s,
            target_requests: Some(1000),
            duration_s: None,
            issued,
            in_flight: 5,
            done: issued.saturating_sub(10),
            errors: 0,
            updated_unix_ms: NOW - 1_000,
        }
    }

    fn view(status: Option<Status>, manifest: Manifest) -> ShardView {
        let manifest_shard = (manifest != Manifest::Absent).then_some((9, 4));
        ShardView {
            manifest_shard: status
                .as_ref()
                .map(|s| (s.index, s.count))
                .or(manifest_shard),
            status,
            manifest,
        }
    }

    fn dir(i: u32) -> PathBuf {
        PathBuf::from(format!("/run/shard-{i}"))
    }

    /// Running, finished, stale and waiting shards: the combined line sums the three with
    /// counts (no target: shard 3 reports none) over the longest elapsed time.
    #[test]
    fn a_mixed_run_renders_every_state() {
        let finished = Status {
            finished: true,
            issued: 1000,
            done: 1000,
            errors: 2,
            in_flight: 0,
            ..status(1, "profiling", 1000, 10.0)
        };
        let stale = Status {
            done: 190,
            errors: 1,
            in_flight: 10,
            updated_unix_ms: NOW - 12_400,
            ..status(2, "profiling", 200, 2.0)
        };
        let running = Status {
            done: 300,
            elapsed_s: 3.12,
            ..status(0, "profiling", 310, 3.1)
        };
        let views = vec![
            (dir(0), view(Some(running), Manifest::Started)),
            (dir(1), view(Some(finished), Manifest::Finished)),
            (dir(2), view(Some(stale), Manifest::Started)),
            (dir(3), view(None, Manifest::Absent)),
        ];
        assert_eq!(
            render(&views, NOW),
            "4 shards: 1 running, 1 stale, 1 waiting, 1 finished | profiling 1510 sent, 1490 done (3 errors), 15 in flight, 151.0 req/s\n\
             \x20 shard 0: profiling 310/1000 sent, 300 done, 0 errors, 5 in flight, 3.1 s\n\
             \x20 shard 1: finished; profiling 1000/1000 sent, 1000 done, 2 errors, 0 in flight, 10.0 s\n\
             \x20 shard 2: no status for 12 s (stale), last: profiling 200/1000 sent, 190 done, 1 errors, 10 in flight, 2.0 s\n\
             \x20 /run/shard-3: waiting (no shard.json yet)\n"
        );
        assert!(!all_finished(&views, NOW));
    }

    /// Targets add up when every shard reports one in the same phase; a shard still warming up
    /// is left out of the sums (and a missing one leaves the target out), and a time-bound
    /// shard shows its duration.
    #[test]
    fn targets_add_up_only_when_every_shard_has_one() {
        let a = Status {
            count: 2,
            ..status(0, "profiling", 100, 2.0)
        };
        let b = Status {
            count: 2,
            ..status(1, "profiling", 50, 4.0)
        };
        let views = vec![
            (dir(0), view(Some(a.clone()), Manifest::Started)),
            (dir(1), view(Some(b), Manifest::Started)),
        ];
        assert_eq!(
            render(&views, NOW).lines().next().unwrap(),
            "2 shards: 2 running | profiling 150/2000 sent, 130 done (0 errors), 10 in flight, 37.5 req/s"
        );
        let warm = Status {
            count: 2,
            target_requests: None,
            duration_s: Some(60.0),
            ..status(1, "warmup", 7, 1.0)
        };
        let views = vec![
            (dir(0), view(Some(a.clone()), Manifest::Started)),
            (dir(1), view(Some(warm), Manifest::Started)),
        ];
        let text = render(&views, NOW);
        assert_eq!(
            text.lines().next().unwrap(),
            "2 shards: 2 running | profiling 100 sent, 90 done (0 errors), 5 in flight, 50.0 req/s"
        );
        assert_eq!(
            text.lines().nth(2).unwrap(),
            "  shard 1: warmup 7 sent, 0 done, 0 errors, 5 in flight, 1.0/60 s"
        );
        // The shards count four; three directories are not there (yet).
        let four = Status { count: 4, ..a };
        let views = vec![(dir(0), view(Some(four), Manifest::Started))];
        assert_eq!(
            render(&views, NOW).lines().next().unwrap(),
            "4 shards: 1 running, 3 not found | profiling 100 sent, 90 done (0 errors), 5 in flight, 50.0 req/s"
        );
    }

    /// A shard done sending but still writing its results is not finished: merging now would
    /// find no `merge_records.bin`.
    #[test]
    fn finished_means_results_written() {
        let sent = Status {
            count: 2,
            finished: true,
            ..status(0, "profiling", 1000, 10.0)
        };
        let views = vec![
            (dir(0), view(Some(sent.clone()), Manifest::Started)),
            (
                dir(1),
                ShardView {
                    status: None,
                    manifest: Manifest::Started,
                    manifest_shard: Some((1, 2)),
                },
            ),
        ];
        assert_eq!(
            render(&views, NOW),
            "2 shards: 1 finishing, 1 starting | profiling 1000 sent, 990 done (0 errors), 5 in flight, 100.0 req/s\n\
             \x20 shard 0: sending done, writing results; profiling 1000/1000 sent, 990 done, 0 errors, 5 in flight, 10.0 s\n\
             \x20 shard 1: started, no progress yet\n"
        );
        assert!(!all_finished(&views, NOW));
        let views = vec![
            (dir(0), view(Some(sent), Manifest::Finished)),
            (
                dir(1),
                ShardView {
                    status: None,
                    manifest: Manifest::Finished,
                    manifest_shard: Some((1, 2)),
                },
            ),
        ];
        assert_eq!(
            render(&views, NOW).lines().nth(2),
            Some("  shard 1: finished")
        );
        assert!(all_finished(&views, NOW));
        assert_eq!(render(&[], NOW), "0 shards: \n");
        assert!(!all_finished(&[], NOW));
    }

    #[test]
    fn the_merge_hint_names_what_was_watched() {
        let run = PathBuf::from("/data/run 1");
        let shards = [run.join("shard-0"), run.join("shard-1")];
        assert_eq!(
            merge_hint(std::slice::from_ref(&run), &shards),
            "aiperf merge '/data/run 1' --output '/data/run 1/merged'"
        );
        let given = [PathBuf::from("a/shard-0"), PathBuf::from("a/shard-1")];
        assert_eq!(
            merge_hint(&given, &given),
            "aiperf merge a/shard-0 a/shard-1 --output a/merged"
        );
        let bare = [PathBuf::from("s0")];
        assert_eq!(
            merge_hint(&bare, &bare),
            "aiperf merge s0 --output ./merged"
        );
    }

    /// Files on disk: shard 0 wrote a finished status, shard 1 only its manifest.
    #[test]
    fn watch_once_reads_a_run_directory() {
        let run = tempfile::tempdir().unwrap();
        let s0 = run.path().join("shard-0");
        let s1 = run.path().join("shard-1");
        std::fs::create_dir_all(&s0).unwrap();
        std::fs::create_dir_all(&s1).unwrap();
        let finished = serde_json::json!({
            "format": 1, "shard": {"index": 0, "count": 2}, "state": "finished",
            "phase": "profiling", "elapsed_s": 4.0, "target_requests": 8, "duration_s": null,
            "requested_rate": null, "issued": 8, "in_flight": 0, "done": 8, "errors": 0,
            "updated_unix_ms": 1
        });
        std::fs::write(s0.join(STATUS_FILE), finished.to_string()).unwrap();
        let manifest = serde_json::json!({"format": 1, "status": "started",
            "shard": {"index": 1, "count": 2}});
        std::fs::write(s1.join(aiperf_engine::SHARD_MANIFEST), manifest.to_string()).unwrap();

        let v0 = ShardView::read(&s0);
        assert_eq!(v0.kind(NOW), Kind::Finished);
        assert_eq!(
            v0.status.as_ref().map(|s| (s.index, s.issued)),
            Some((0, 8))
        );
        let v1 = ShardView::read(&s1);
        assert_eq!(v1.kind(NOW), Kind::Starting);
        assert_eq!(v1.manifest_shard, Some((1, 2)));
        assert_eq!(
            ShardView::read(&run.path().join("nope")).kind(NOW),
            Kind::Waiting
        );
        let args = WatchArgs {
            dirs: vec![run.path().to_path_buf()],
            interval: 1.0,
            once: true,
        };
        let mut out = Vec::new();
        assert_eq!(
            run_code_of(watch(&args, &mut out, false)),
            run_code_of(ExitCode::SUCCESS)
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2 shards: 1 starting, 1 finished | profiling 8 sent, 8 done (0 errors), 0 in flight, 2.0 req/s\n\
             \x20 shard 0: finished; profiling 8/8 sent, 8 done, 0 errors, 0 in flight, 4.0 s\n\
             \x20 shard 1: started, no progress yet\n"
        );
        // The command's own entry point (prints the same block).
        assert_eq!(run_code(&args), run_code_of(ExitCode::SUCCESS));
        // Once shard 1 finished too, the watch ends with the merge command (without --once).
        let done = manifest.to_string().replace("started", "finished");
        std::fs::write(s1.join(aiperf_engine::SHARD_MANIFEST), done).unwrap();
        let mut out = Vec::new();
        let looping = WatchArgs {
            once: false,
            ..args.clone()
        };
        assert_eq!(
            run_code_of(watch(&looping, &mut out, true)),
            run_code_of(ExitCode::SUCCESS)
        );
        let out = String::from_utf8(out).unwrap();
        let last = out.lines().last().unwrap();
        assert_eq!(
            last,
            format!(
                "all 2 shards finished; merge with: {}",
                merge_hint(&args.dirs, &[s0.clone(), s1.clone()])
            )
        );
        assert!(out.starts_with("2 shards: 2 finished | "), "{out}");
        // Another format is no status.
        std::fs::write(
            s0.join(STATUS_FILE),
            finished.to_string().replace("\"format\":1", "\"format\":2"),
        )
        .unwrap();
        assert_eq!(ShardView::read(&s0).status, None);
    }

    #[test]
    fn a_missing_directory_fails() {
        let run = tempfile::tempdir().unwrap();
        let args = WatchArgs {
            dirs: vec![run.path().to_path_buf(), run.path().join("nope")],
            interval: 1.0,
            once: true,
        };
        assert_eq!(run_code(&args), run_code_of(ExitCode::from(1)));
    }

    fn run_code(args: &WatchArgs) -> String {
        run_code_of(run(args))
    }

    fn run_code_of(code: ExitCode) -> String {
        format!("{code:?}")
    }
}
