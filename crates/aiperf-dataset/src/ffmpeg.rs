//! The `ffmpeg` program, found on `PATH` at run time, as AIPerf uses it: synthetic video (raw
//! RGB frames piped in), mp3 audio, and decoding source images other than PNG. Output always
//! goes to a seekable file in a private temporary directory (a WebM written to a pipe has no
//! duration in its header, which frame-sampling decoders such as vLLM's need).

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

/// How to install FFmpeg, for the error that names the flag needing it.
pub const INSTALL_HINT: &str = "install FFmpeg (Debian/Ubuntu: apt-get install ffmpeg; Fedora: dnf install ffmpeg; macOS: brew install ffmpeg; or conda install -c conda-forge ffmpeg) and make sure `ffmpeg` is on PATH";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FfmpegError {
    #[error("ffmpeg was not found on PATH: {INSTALL_HINT}")]
    Missing,
    #[error("ffmpeg could not be started: {0}")]
    Spawn(String),
    #[error("ffmpeg failed ({status}): {stderr}")]
    Failed { status: String, stderr: String },
    #[error("ffmpeg temporary files: {0}")]
    Io(String),
}

/// The `ffmpeg` executable on `PATH`.
pub fn find() -> Result<PathBuf, FfmpegError> {
    find_in(&std::env::var_os("PATH").unwrap_or_default())
}

/// The `ffmpeg` executable in one of the directories of `path` (a `PATH`-style list).
pub fn find_in(path: &OsStr) -> Result<PathBuf, FfmpegError> {
    std::env::split_paths(path)
        .map(|dir| dir.join("ffmpeg"))
        .find(|p| is_executable(p))
        .ok_or(FfmpegError::Missing)
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// A private directory under the system temporary directory, removed when dropped.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new() -> Result<Self, FfmpegError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "aiperf-ffmpeg-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir(&dir)
            .map_err(|e| FfmpegError::Io(format!("{}: {e}", dir.display())))?;
        Ok(Self(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, FfmpegError> {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).map_err(|e| FfmpegError::Io(format!("{}: {e}", p.display())))?;
        Ok(p)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes ffmpeg's standard input (raw frames), on a thread of its own.
pub type Feed = Box<dyn FnOnce(&mut dyn Write) -> std::io::Result<()> + Send>;

/// Runs ffmpeg with `args` (after `-hide_banner -loglevel error -y`), feeding its standard input
/// from `feed` on a thread of its own (so a full stderr pipe cannot deadlock the writer), and
/// returns the bytes of `output`, which the arguments must name.
pub fn run(args: &[OsString], feed: Option<Feed>, output: &Path) -> Result<Vec<u8>, FfmpegError> {
    let exe = find()?;
    let mut child = Command::new(exe)
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .stdin(if feed.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| FfmpegError::Spawn(e.to_string()))?;
    let writer = match (feed, child.stdin.take()) {
        (Some(feed), Some(mut stdin)) => Some(std::thread::spawn(move || feed(&mut stdin))),
        _ => None,
    };
    let out = child
        .wait_with_output()
        .map_err(|e| FfmpegError::Spawn(e.to_string()))?;
    // A writer error is ffmpeg closing its input early; its stderr says why.
    let fed = writer.map(|w| w.join());
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(FfmpegError::Failed {
            status: out.status.to_string(),
            stderr: one_line(&stderr),
        });
    }
    if let Some(Ok(Err(e))) = fed {
        return Err(FfmpegError::Io(format!("writing frames to ffmpeg: {e}")));
    }
    let bytes =
        std::fs::read(output).map_err(|e| FfmpegError::Io(format!("{}: {e}", output.display())))?;
    if bytes.is_empty() {
        return Err(FfmpegError::Failed {
            status: out.status.to_string(),
            stderr: "no output".into(),
        });
    }
    Ok(bytes)
}

/// ffmpeg's diagnostics as one line, at most 400 characters.
fn one_line(stderr: &str) -> String {
    let line = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(400) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line,
    }
}

/// Shorthand for building an argument list.
pub fn args<I, S>(items: I) -> Vec<OsString>
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    items.into_iter().map(Into::into).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ffmpeg_says_how_to_install_it() {
        let empty = ScratchDir::new().unwrap();
        let err = find_in(empty.path().as_os_str()).unwrap_err();
        assert_eq!(err, FfmpegError::Missing);
        let msg = err.to_string();
        assert!(msg.starts_with("ffmpeg was not found on PATH: install FFmpeg (Debian/Ubuntu: apt-get install ffmpeg"), "{msg}");
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn finds_an_executable_named_ffmpeg_and_skips_plain_files() {
        use std::os::unix::fs::PermissionsExt;
        let a = ScratchDir::new().unwrap();
        let b = ScratchDir::new().unwrap();
        let plain = a.write("ffmpeg", b"not executable").unwrap();
        let exe = b.write("ffmpeg", b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = std::env::join_paths([a.path(), b.path()]).unwrap();
        assert_eq!(find_in(&path), Ok(exe));
        assert!(plain.exists());
        let dir = a.path().to_path_buf();
        drop(a);
        assert!(!dir.exists(), "scratch directories are removed");
    }
}
