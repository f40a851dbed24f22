//! `logs/aiperf.log` in the artifact directory: the same lines as stderr, without colours.
//!
//! The directory only exists once the server answered (a run that fails at set-up leaves no
//! artifact directory behind), so lines are held in memory until it appears, then written out
//! then one write per event (a `kill -9` keeps everything logged so far). Log lines
//! never carry secrets: `--api-key` and credential headers are redacted where they are formatted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Lines held before the directory exists (beyond this, older lines are dropped and counted).
const PENDING_LIMIT: usize = 4 << 20;

/// Where the log file goes, relative to the artifact directory.
pub const LOG_FILE: &str = "logs/aiperf.log";

enum State {
    Pending { buf: Vec<u8>, dropped: usize },
    Open(std::fs::File),
    Failed,
}

/// The shared log file of one run.
pub struct LogFile {
    artifact_dir: PathBuf,
    state: Mutex<State>,
}

impl LogFile {
    pub fn new(artifact_dir: &Path) -> Arc<Self> {
        Arc::new(Self {
            artifact_dir: artifact_dir.to_path_buf(),
            state: Mutex::new(State::Pending {
                buf: Vec::new(),
                dropped: 0,
            }),
        })
    }

    pub fn path(&self) -> PathBuf {
        self.artifact_dir.join(LOG_FILE)
    }

    /// Creates the artifact directory if needed and writes the log lines held so far (for a
    /// run that ended before creating it, e.g. interrupted during preparation).
    pub fn write_pending(&self) {
        if std::fs::create_dir_all(&self.artifact_dir).is_ok() {
            self.write_event(b"");
        }
    }

    fn write_event(&self, bytes: &[u8]) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if let State::Pending { buf, dropped } = &mut *state {
            if !self.artifact_dir.is_dir() {
                if buf.len() + bytes.len() <= PENDING_LIMIT {
                    buf.extend_from_slice(bytes);
                } else {
                    *dropped += 1;
                }
                return;
            }
            let path = self.path();
            let opened = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|_| {
                    // A reused artifact directory gets a fresh log, like its other files.
                    std::fs::File::create(&path)
                });
            let next = match opened {
                Ok(mut f) => {
                    let mut head = std::mem::take(buf);
                    if *dropped > 0 {
                        head.extend_from_slice(
                            format!("({dropped} early log lines were not kept)\n").as_bytes(),
                        );
                    }
                    let _ = f.write_all(&head);
                    State::Open(f)
                }
                Err(e) => {
                    eprintln!("aiperf: cannot write {}: {e}", path.display());
                    State::Failed
                }
            };
            *state = next;
        }
        if let State::Open(f) = &mut *state {
            let _ = f.write_all(bytes);
        }
    }
}

/// One event's writer (tracing formats an event into it, then drops it).
pub struct EventWriter {
    log: Arc<LogFile>,
    buf: Vec<u8>,
}

impl EventWriter {
    pub fn new(log: Arc<LogFile>) -> Self {
        Self {
            log,
            buf: Vec::new(),
        }
    }
}

impl Write for EventWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            self.log.write_event(&self.buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_lines_until_the_directory_exists_then_appends() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let log = LogFile::new(&dir);
        EventWriter::new(log.clone())
            .write_all(b"before\n")
            .unwrap();
        assert!(
            !dir.exists(),
            "logging never creates the artifact directory"
        );
        std::fs::create_dir(&dir).unwrap();
        EventWriter::new(log.clone()).write_all(b"after\n").unwrap();
        EventWriter::new(log.clone()).write_all(b"again\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(log.path()).unwrap(),
            "before\nafter\nagain\n"
        );
    }
}
