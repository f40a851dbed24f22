//! `status.json`: a shard's running counters, so `aiperf watch` can show a distributed run's
//! combined progress from the shards' artifact directories alone (no port, no server: the
//! directories are what Kubernetes and Slurm runs already share).
//!
//! The file is rewritten whole (write then rename) from the phase loop's tick, at most once a
//! second, so a reader never sees half a file and the request path never waits on it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aiperf_config::resolve::Shard;
use serde::{Deserialize, Serialize};

use crate::observe::Observer;
use crate::snapshot::PhaseSnapshot;
use crate::stop::StopSignal;
use crate::ui::live::Live;

/// The status file's name in each shard's artifact directory.
pub(crate) const STATUS_FILE: &str = "status.json";

/// The status format this build writes (`aiperf watch` reads only this one).
pub(crate) const STATUS_FORMAT: u32 = 1;

/// Ticks come every 200 ms; a watcher refreshes every few seconds, so one write a second is
/// plenty and keeps the file system quiet on long runs.
const MIN_WRITE_INTERVAL: Duration = Duration::from_secs(1);

/// Whether the shard is still sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum State {
    Running,
    /// Sending is over; the results (`merge_records.bin`, the final `shard.json`) follow.
    Finished,
}

/// `status.json`: the latest [`PhaseSnapshot`] of one shard, in plain numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ShardStatus {
    pub format: u32,
    pub shard: Shard,
    pub state: State,
    /// `warmup` or `profiling`.
    pub phase: String,
    pub elapsed_s: f64,
    pub target_requests: Option<u64>,
    pub duration_s: Option<f64>,
    pub requested_rate: Option<f64>,
    pub issued: u64,
    pub in_flight: u64,
    pub done: u64,
    pub errors: u64,
    /// Wall clock of the write: a watcher calls a running shard whose file stopped changing
    /// stale.
    pub updated_unix_ms: u64,
}

impl ShardStatus {
    fn new(shard: Shard, state: State, s: &PhaseSnapshot) -> Self {
        ShardStatus {
            format: STATUS_FORMAT,
            shard,
            state,
            phase: s.phase.as_str().to_string(),
            elapsed_s: s.elapsed_s,
            target_requests: s.target_requests,
            duration_s: s.duration_s,
            requested_rate: s.requested_rate,
            issued: s.issued,
            in_flight: s.in_flight,
            done: s.done,
            errors: s.errors,
            updated_unix_ms: unix_ms(),
        }
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `observer`, plus the status file in `cfg.artifact_dir` when the run writes merge records
/// (every shard).
pub(crate) fn tee<'a>(
    observer: &'a dyn Observer,
    cfg: &aiperf_config::ProfileConfig,
) -> Box<dyn Observer + 'a> {
    let status = cfg
        .merge_records
        .then(|| StatusWriter::new(cfg.artifact_dir.join(STATUS_FILE), cfg.shard));
    Box::new(Tee {
        inner: observer,
        status,
    })
}

/// Forwards every call unchanged; the status file is a side effect that never fails the run.
struct Tee<'a> {
    inner: &'a dyn Observer,
    status: Option<StatusWriter>,
}

impl Observer for Tee<'_> {
    fn live(&self) -> Option<Arc<Live>> {
        self.inner.live()
    }
    fn run_started(&self, title: &str, stop: &Arc<StopSignal>) {
        self.inner.run_started(title, stop)
    }
    fn phase_started(&self, phase: &PhaseSnapshot) {
        self.inner.phase_started(phase);
        if let Some(w) = &self.status {
            w.snapshot(phase, true);
        }
    }
    fn phase_tick(&self, phase: &PhaseSnapshot) {
        self.inner.phase_tick(phase);
        if let Some(w) = &self.status {
            w.snapshot(phase, false);
        }
    }
    fn phase_finished(&self, phase: &PhaseSnapshot) {
        self.inner.phase_finished(phase);
        if let Some(w) = &self.status {
            w.snapshot(phase, true);
        }
    }
    fn run_finished(&self) {
        self.inner.run_finished();
        if let Some(w) = &self.status {
            w.finished();
        }
    }
}

/// Writes one shard's `status.json`.
struct StatusWriter {
    path: PathBuf,
    shard: Shard,
    inner: Mutex<Written>,
    /// Files written (tests check the throttle with it).
    writes: AtomicU64,
}

#[derive(Default)]
struct Written {
    last_write: Option<Instant>,
    /// What was last written: `run_finished` carries no snapshot, so the final state repeats
    /// the last counts.
    last: Option<ShardStatus>,
    /// A write failed once already (logged then; later failures stay quiet).
    failed: bool,
}

impl StatusWriter {
    fn new(path: PathBuf, shard: Shard) -> Self {
        // An earlier run's file would tell a watcher this run finished before it started
        // sending; it is only a progress view, so it goes rather than being kept aside.
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                tracing::debug!("cannot remove an earlier '{}': {e}", path.display())
            }
            _ => {}
        }
        StatusWriter {
            path,
            shard,
            inner: Mutex::new(Written::default()),
            writes: AtomicU64::new(0),
        }
    }

    /// Writes `s` as running; a tick (`force` false) only once [`MIN_WRITE_INTERVAL`] passed.
    fn snapshot(&self, s: &PhaseSnapshot, force: bool) {
        let mut w = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if !force
            && w.last_write
                .is_some_and(|t| t.elapsed() < MIN_WRITE_INTERVAL)
        {
            return;
        }
        let status = ShardStatus::new(self.shard, State::Running, s);
        self.write(&mut w, status);
    }

    /// Writes the last counts as finished (nothing when no phase ever started: the shard's
    /// `shard.json` then tells the watcher how it ended).
    fn finished(&self) {
        let mut w = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut status) = w.last.clone() {
            status.state = State::Finished;
            status.updated_unix_ms = unix_ms();
            self.write(&mut w, status);
        }
    }

    fn write(&self, w: &mut Written, status: ShardStatus) {
        w.last_write = Some(Instant::now());
        let written = serde_json::to_string_pretty(&status)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                aiperf_export::write_atomic(&self.path, &text).map_err(|e| e.to_string())
            });
        match written {
            Ok(()) => {
                self.writes.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) if !w.failed => {
                w.failed = true;
                tracing::debug!(
                    "cannot write '{}' for aiperf watch: {e}",
                    self.path.display()
                );
            }
            Err(_) => {}
        }
        w.last = Some(status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_config::{Cli, Command, ProfileConfig};
    use aiperf_core::Phase;
    use aiperf_plugins::Registry;
    use clap::Parser;

    fn config(dir: &std::path::Path, extra: &[&str]) -> ProfileConfig {
        let dir = dir.display().to_string();
        let mut argv = vec![
            "aiperf",
            "profile",
            "-m",
            "mock-model",
            "--url",
            "http://127.0.0.1:1",
            "--artifact-dir",
            &dir,
            "--random-seed",
            "5",
        ];
        argv.extend_from_slice(extra);
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let Command::Profile(p) = Cli::try_parse_from(&argv).expect("parses").command else {
            panic!("not profile")
        };
        ProfileConfig::resolve(*p, &argv, &Registry::builtin()).expect("valid")
    }

    /// Names every callback it receives, in order.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Recorder {
        fn push(&self, what: String) {
            self.0.lock().unwrap().push(what);
        }
    }

    impl Observer for Recorder {
        fn run_started(&self, title: &str, _stop: &Arc<StopSignal>) {
            self.push(format!("run_started {title}"));
        }
        fn phase_started(&self, s: &PhaseSnapshot) {
            self.push(format!("phase_started {}", s.issued));
        }
        fn phase_tick(&self, s: &PhaseSnapshot) {
            self.push(format!("phase_tick {}", s.issued));
        }
        fn phase_finished(&self, s: &PhaseSnapshot) {
            self.push(format!("phase_finished {}", s.issued));
        }
        fn run_finished(&self) {
            self.push("run_finished".into());
        }
    }

    fn read(dir: &std::path::Path) -> ShardStatus {
        let text = std::fs::read_to_string(dir.join(STATUS_FILE)).expect("status.json");
        serde_json::from_str(&text).expect("parses")
    }

    /// The tee is transparent: the UI sees exactly what it would without it, status file or not.
    #[test]
    fn every_call_reaches_the_inner_observer() {
        let dir = tempfile::tempdir().unwrap();
        for merge in [false, true] {
            let extra: &[&str] = if merge { &["--merge-records"] } else { &[] };
            let cfg = config(dir.path(), extra);
            let inner = Recorder::default();
            let tee = tee(&inner, &cfg);
            let s = crate::snapshot::sample(Phase::Profiling);
            tee.run_started("title", &Arc::new(StopSignal::default()));
            tee.phase_started(&s);
            tee.phase_tick(&s);
            tee.phase_finished(&s);
            tee.run_finished();
            assert!(tee.live().is_none());
            assert_eq!(
                *inner.0.lock().unwrap(),
                [
                    "run_started title",
                    "phase_started 40",
                    "phase_tick 40",
                    "phase_finished 40",
                    "run_finished"
                ]
            );
        }
    }

    /// A run that writes no merge records is not a shard: no status file appears.
    #[test]
    fn an_ordinary_run_writes_no_status() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), &[]);
        assert!(!cfg.merge_records);
        let tee = tee(&crate::observe::Silent, &cfg);
        let s = crate::snapshot::sample(Phase::Profiling);
        tee.phase_started(&s);
        tee.phase_tick(&s);
        tee.run_finished();
        assert!(!dir.path().join(STATUS_FILE).exists());
    }

    /// A shard's file carries its identity and the snapshot's numbers, and says finished once
    /// the run is.
    #[test]
    fn a_shard_writes_its_counters_and_then_finished() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), &["--shard", "1/2"]);
        let tee = tee(&crate::observe::Silent, &cfg);
        let s = crate::snapshot::sample(Phase::Profiling);
        let before = unix_ms();
        tee.phase_started(&s);
        let running = read(dir.path());
        assert_eq!(running.state, State::Running);
        tee.phase_tick(&s);
        tee.run_finished();
        let status = read(dir.path());
        assert_eq!(
            status,
            ShardStatus {
                format: 1,
                shard: Shard { index: 1, count: 2 },
                state: State::Finished,
                phase: "profiling".into(),
                elapsed_s: 2.0,
                target_requests: Some(100),
                duration_s: None,
                requested_rate: None,
                issued: 40,
                in_flight: 2,
                done: 38,
                errors: 1,
                updated_unix_ms: status.updated_unix_ms,
            }
        );
        assert!(status.updated_unix_ms >= before);
        // The field names `aiperf watch` reads.
        let raw: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(STATUS_FILE)).unwrap())
                .unwrap();
        assert_eq!(raw["state"], "finished");
        assert_eq!(raw["shard"]["index"], 1);
        assert_eq!(raw["target_requests"], 100);
        assert!(!dir.path().join("status.tmp").exists());
    }

    /// Ticks come every 200 ms; the file changes at most once a second, while phase starts and
    /// ends are always written.
    #[test]
    fn ticks_are_throttled_to_one_write_a_second() {
        let dir = tempfile::tempdir().unwrap();
        let w = StatusWriter::new(dir.path().join(STATUS_FILE), Shard::WHOLE);
        let mut s = crate::snapshot::sample(Phase::Warmup);
        w.snapshot(&s, false);
        s.issued = 41;
        std::thread::sleep(Duration::from_millis(10));
        w.snapshot(&s, false);
        assert_eq!(w.writes.load(Ordering::Relaxed), 1);
        assert_eq!(read(dir.path()).issued, 40);
        // A second later the next tick is written.
        w.inner.lock().unwrap().last_write = Some(Instant::now() - MIN_WRITE_INTERVAL);
        w.snapshot(&s, false);
        assert_eq!(w.writes.load(Ordering::Relaxed), 2);
        assert_eq!(read(dir.path()).issued, 41);
        // A phase boundary is written at once.
        s.issued = 42;
        w.snapshot(&s, true);
        assert_eq!(w.writes.load(Ordering::Relaxed), 3);
        assert_eq!(read(dir.path()).issued, 42);
    }

    /// A directory that cannot be written costs the run nothing: no panic, no error.
    #[test]
    fn write_failures_are_quiet() {
        let dir = tempfile::tempdir().unwrap();
        let w = StatusWriter::new(dir.path().join("missing/status.json"), Shard::WHOLE);
        let s = crate::snapshot::sample(Phase::Profiling);
        w.snapshot(&s, true);
        w.snapshot(&s, true);
        w.finished();
        assert_eq!(w.writes.load(Ordering::Relaxed), 0);
        assert!(w.inner.lock().unwrap().failed);
    }

    /// A file left by an earlier run in the same directory goes when the next run starts.
    #[test]
    fn an_earlier_runs_status_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STATUS_FILE), "{\"state\":\"finished\"}").unwrap();
        let cfg = config(dir.path(), &["--merge-records"]);
        let _tee = tee(&crate::observe::Silent, &cfg);
        assert!(!dir.path().join(STATUS_FILE).exists());
    }
}
