//! A JSON Lines file appended to while the run goes on: lines are buffered, flushed regularly,
//! and when a write fails (a full disk) the file is cut back to its last flushed whole line and
//! later writes are refused. Shared by the records, raw records and outputs fragment files.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::{io_err, ExportError};

pub struct LineFile {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    lines: u64,
    /// One line, serialized before it is handed to the buffer.
    line: Vec<u8>,
    /// Bytes handed to the buffer, and bytes known to be on disk as whole lines.
    written: u64,
    flushed: u64,
    /// Lines in the file as of the last successful flush.
    flushed_lines: u64,
}

impl LineFile {
    /// Creates (or truncates) `path`, and its directory.
    pub fn create(path: &Path) -> Result<Self, ExportError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        let file = File::create(path).map_err(io_err(path))?;
        Ok(Self {
            path: path.to_path_buf(),
            out: Some(BufWriter::with_capacity(256 << 10, file)),
            lines: 0,
            line: Vec::with_capacity(1024),
            written: 0,
            flushed: 0,
            flushed_lines: 0,
        })
    }

    /// Appends `value` as one line.
    pub fn write<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ExportError> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, value).map_err(|e| ExportError::Io {
            path: self.path.clone(),
            source: e.into(),
        })?;
        self.line.push(b'\n');
        let Some(out) = self.out.as_mut() else {
            return Err(self.closed());
        };
        if let Err(e) = out.write_all(&self.line) {
            return Err(self.fail(e));
        }
        self.written += self.line.len() as u64;
        self.lines += 1;
        Ok(())
    }

    /// Pushes buffered lines to the OS (called periodically so a crash loses little).
    pub fn flush(&mut self) -> Result<(), ExportError> {
        let Some(out) = self.out.as_mut() else {
            return Err(self.closed());
        };
        match out.flush() {
            Ok(()) => {
                self.flushed = self.written;
                self.flushed_lines = self.lines;
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Drops what is buffered and cuts the file back to its last whole flushed line.
    fn fail(&mut self, e: std::io::Error) -> ExportError {
        if let Some(out) = self.out.take() {
            let (file, _unwritten) = out.into_parts();
            let _ = file.set_len(self.flushed);
        }
        self.lines = self.flushed_lines;
        io_err(&self.path)(e)
    }

    fn closed(&self) -> ExportError {
        io_err(&self.path)(std::io::Error::other("an earlier write failed"))
    }

    /// Lines written (after a failure: lines kept in the file).
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Bytes handed to the file so far (the offset the next line starts at).
    pub fn bytes(&self) -> u64 {
        self.written
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn a_failed_write_keeps_only_whole_flushed_lines() {
        // /dev/full accepts the open and fails every write with ENOSPC.
        let mut f = LineFile::create(Path::new("/dev/full")).expect("open /dev/full");
        f.write(&serde_json::json!({"a": 1})).expect("buffered");
        assert!(f.flush().is_err());
        assert_eq!(f.lines(), 0);
        let e = f.write(&1).unwrap_err().to_string();
        assert_eq!(e, "cannot write '/dev/full': an earlier write failed");
    }

    #[test]
    fn lines_are_json_values_one_per_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sub/x.jsonl");
        let mut f = LineFile::create(&path).expect("create with its directory");
        f.write(&serde_json::json!({"a": 1})).expect("write");
        f.write("two").expect("write");
        f.flush().expect("flush");
        assert_eq!(f.lines(), 2);
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "{\"a\":1}\n\"two\"\n"
        );
    }
}
