//! Bounded memory for a run's values: each column keeps a short tail in memory and moves full
//! tails to one unlinked file, so a run of any length holds a few MiB while statistics stay
//! exact (they read the chunks back, see [`crate::select`]).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::select::Items;

/// Values a column holds in memory before its tail is written out (64 KiB).
pub const TAIL_VALUES: usize = 8192;
/// Columns up to this many values (2 MiB) are read back whole and summarised in memory at the end
/// (faster, and bit-identical to a run that never spilled); longer ones by passes, so the summary
/// of a long run does not raise the peak RSS (a million-value column sorted in memory took 16 MiB).
pub const LOAD_VALUES: u64 = 1 << 18;

/// The run's spill file, shared by every column (and every timeslice). Writers reserve their
/// range with one atomic add and write with `pwrite`, so there is no lock.
#[derive(Debug, Clone)]
pub struct Spill(Arc<SpillFile>);

#[derive(Debug)]
struct SpillFile {
    file: File,
    end: AtomicU64,
}

impl Spill {
    /// An anonymous file in `dir` (removed by the OS when the run ends, even on a crash).
    pub fn create_in(dir: &Path) -> io::Result<Spill> {
        Ok(Spill(Arc::new(SpillFile {
            file: tempfile::tempfile_in(dir)?,
            end: AtomicU64::new(0),
        })))
    }

    /// Spills into an already open file (tests use `/dev/full` for a full disk).
    pub fn from_file(file: File) -> Spill {
        Spill(Arc::new(SpillFile {
            file,
            end: AtomicU64::new(0),
        }))
    }

    fn write(&self, values: &[f64]) -> io::Result<u64> {
        let mut bytes = Vec::with_capacity(values.len() * 8);
        for v in values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let offset = self.0.end.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        self.0.file.write_all_at(&bytes, offset)?;
        Ok(offset)
    }

    fn read(
        &self,
        offset: u64,
        len: usize,
        buf: &mut Vec<u8>,
        out: &mut Vec<f64>,
    ) -> io::Result<()> {
        buf.resize(len * 8, 0);
        self.0.file.read_exact_at(buf, offset)?;
        out.clear();
        out.extend(
            buf.chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8-byte chunk"))),
        );
        Ok(())
    }
}

/// An append-only sequence of values: spilled chunks (offset, length) then an in-memory tail.
#[derive(Debug, Default, Clone)]
pub struct Column {
    chunks: Vec<(u64, u32)>,
    tail: Vec<f64>,
    len: u64,
}

impl Column {
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether every value is still in memory ([`Column::in_memory`] is the whole column).
    pub fn is_resident(&self) -> bool {
        self.chunks.is_empty()
    }

    /// The in-memory values; the whole column when [`Column::is_resident`].
    pub fn in_memory(&self) -> &[f64] {
        &self.tail
    }

    /// Appends values; a full tail goes to `spill` (kept in memory when there is none or the
    /// write fails, so nothing is lost; the error is returned once for a warning).
    pub fn extend(&mut self, values: &[f64], spill: Option<&Spill>) -> io::Result<()> {
        self.tail.extend_from_slice(values);
        self.len += values.len() as u64;
        if self.tail.len() >= TAIL_VALUES {
            return self.flush(spill);
        }
        Ok(())
    }

    pub fn push(&mut self, value: f64, spill: Option<&Spill>) -> io::Result<()> {
        self.extend(std::slice::from_ref(&value), spill)
    }

    /// Moves the tail to `spill` (no-op without one or when empty).
    pub fn flush(&mut self, spill: Option<&Spill>) -> io::Result<()> {
        let Some(spill) = spill else { return Ok(()) };
        if self.tail.is_empty() {
            return Ok(());
        }
        let offset = spill.write(&self.tail)?;
        self.chunks.push((offset, self.tail.len() as u32));
        // Freed, not kept: a flushed column may never grow again (a sorted run, an old
        // timeslice), and one allocation per 64 KiB is nothing for one that does.
        self.tail = Vec::new();
        Ok(())
    }

    /// Pieces [`Column::read_piece`] can read: the spilled chunks, then the tail.
    pub fn pieces(&self) -> usize {
        self.chunks.len() + 1
    }

    /// Piece `i` of [`Column::pieces`] into `out`.
    pub fn read_piece(
        &self,
        i: usize,
        spill: Option<&Spill>,
        buf: &mut Vec<u8>,
        out: &mut Vec<f64>,
    ) -> io::Result<()> {
        self.read_part(i, 0, usize::MAX, spill, buf, out)
    }

    /// Up to `max` values of piece `i` from its `from`-th into `out` (empty past its end), so a
    /// reader can walk a piece in small blocks.
    pub fn read_part(
        &self,
        i: usize,
        from: usize,
        max: usize,
        spill: Option<&Spill>,
        buf: &mut Vec<u8>,
        out: &mut Vec<f64>,
    ) -> io::Result<()> {
        match self.chunks.get(i) {
            Some(&(offset, len)) => {
                let n = (len as usize).saturating_sub(from).min(max);
                spill
                    .ok_or_else(|| io::Error::other("spilled column without a file"))?
                    .read(offset + from as u64 * 8, n, buf, out)
            }
            None => {
                out.clear();
                let from = from.min(self.tail.len());
                let to = from.saturating_add(max).min(self.tail.len());
                out.extend_from_slice(&self.tail[from..to]);
                Ok(())
            }
        }
    }

    /// Every value, read back into memory.
    pub fn load(&self, spill: Option<&Spill>) -> io::Result<Vec<f64>> {
        let mut all = Vec::with_capacity(self.len as usize);
        self.scan(spill, |c| all.extend_from_slice(c))?;
        Ok(all)
    }

    /// Calls `f` with every value in order, chunk by chunk (one chunk in memory at a time).
    pub fn scan(&self, spill: Option<&Spill>, mut f: impl FnMut(&[f64])) -> io::Result<()> {
        if !self.chunks.is_empty() {
            let spill = spill.ok_or_else(|| io::Error::other("spilled column without a file"))?;
            let (mut buf, mut values) = (Vec::new(), Vec::new());
            for &(offset, len) in &self.chunks {
                spill.read(offset, len as usize, &mut buf, &mut values)?;
                f(&values);
            }
        }
        f(&self.tail);
        Ok(())
    }
}

/// A column's values as selection input (unit weights).
pub struct ColumnItems<'a> {
    pub column: &'a Column,
    pub spill: Option<&'a Spill>,
}

impl Items for ColumnItems<'_> {
    fn scan(&self, f: &mut dyn FnMut(f64, f64)) -> io::Result<()> {
        self.column.scan(self.spill, |chunk| {
            for &v in chunk {
                f(v, 1.0);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spilled_values_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::create_in(dir.path()).unwrap();
        let mut a = Column::default();
        let mut b = Column::default();
        for i in 0..(TAIL_VALUES * 2 + 5) {
            a.push(i as f64, Some(&spill)).unwrap();
            b.extend(&[-(i as f64), 0.5], Some(&spill)).unwrap();
        }
        assert!(!a.is_resident() && a.in_memory().len() < TAIL_VALUES);
        assert_eq!(a.len(), (TAIL_VALUES * 2 + 5) as u64);
        let mut seen = Vec::new();
        a.scan(Some(&spill), |c| seen.extend_from_slice(c)).unwrap();
        assert_eq!(
            seen,
            (0..TAIL_VALUES * 2 + 5)
                .map(|i| i as f64)
                .collect::<Vec<_>>()
        );
        let mut seen = Vec::new();
        b.scan(Some(&spill), |c| seen.extend_from_slice(c)).unwrap();
        assert_eq!(seen.len(), (TAIL_VALUES * 2 + 5) * 2);
        assert_eq!(
            (seen[2], seen[3], seen[seen.len() - 2]),
            (-1.0, 0.5, -((TAIL_VALUES * 2 + 4) as f64))
        );
    }

    #[test]
    fn without_a_file_everything_stays_in_memory() {
        let mut c = Column::default();
        for i in 0..TAIL_VALUES * 3 {
            c.push(i as f64, None).unwrap();
        }
        assert!(c.is_resident());
        assert_eq!(c.in_memory().len(), TAIL_VALUES * 3);
    }
}
