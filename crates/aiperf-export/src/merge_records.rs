//! `merge_records.bin`: every profiled request of a shard, bit for bit, for `aiperf merge`.
//!
//! `profile_export.jsonl` rounds values to display units and leaves out what the summary needs
//! (the requested OSL, run-clock timelines, the order the record processor saw the records), so
//! a merge built on it could not reproduce a single run's numbers. This file keeps the
//! [`RecordLine`] exactly (floats as their bits) in processing order.
//!
//! Layout, little-endian: a header (`AIPERFMR`, `u32` version, `u64` the shard clock's wall
//! anchor, `u32` shard index); per record a `u32` length and a postcard-encoded
//! [`StoredRecord`]; a trailer (`u32::MAX`, `u64` record count, `END1`). A file without its
//! trailer belongs to a shard that did not finish writing, and says so ([`MergeRecordReader::
//! complete`]).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use aiperf_core::ErrorDetails;
use aiperf_metrics::record::RecordMetrics;
use serde::{Deserialize, Serialize};

use crate::records::{PartialResponse, RecordMetadata};
use crate::{io_err, ExportError, RecordLine};

/// The file's name in a shard's artifact directory.
pub const MERGE_RECORDS_FILE: &str = "merge_records.bin";

const MAGIC: &[u8; 8] = b"AIPERFMR";
const VERSION: u32 = 1;
const TRAILER_MARK: u32 = u32::MAX;
const TRAILER_END: &[u8; 4] = b"END1";
/// No record comes near this; a larger length is a damaged file, not an allocation.
const MAX_RECORD_BYTES: u32 = 256 << 20;

/// What the header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Wall ns of the shard's run clock at zero: the records' `timeline` is relative to it.
    pub clock_wall_start_ns: u64,
    pub shard_index: u32,
}

/// The metadata fields that vary per request. The others (worker, processor, phase names) are
/// the same on every profiling record and are restored by [`StoredRecord::into_line`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredMeta<S> {
    pub session_num: u64,
    pub x_request_id: S,
    pub x_correlation_id: S,
    pub conversation_id: S,
    pub turn_index: usize,
    pub credit_issued_ns: u64,
    pub intended_send_ns: Option<u64>,
    pub request_start_ns: u64,
    pub request_ack_ns: Option<u64>,
    pub request_end_ns: u64,
    pub profiling_index: u64,
    pub was_cancelled: bool,
    pub stream_incomplete: bool,
    pub partial_response: Option<PartialResponse>,
    pub malformed_sse_events: u32,
}

/// One record as stored: its place in the shard's processing order, when the processor took it
/// (shard wall ns), and the line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRecord<S = String, V = RecordMetrics, E = Option<ErrorDetails>> {
    pub seq: u64,
    pub taken_wall_ns: u64,
    pub meta: StoredMeta<S>,
    pub values: V,
    pub error: E,
}

/// The borrowed form written from a [`RecordLine`] without copying it.
type StoredRef<'a> = StoredRecord<&'a str, &'a RecordMetrics, &'a Option<ErrorDetails>>;

/// Splits the metadata; listing every field (no `..`) makes a new field a compile error here
/// rather than a silent loss in merged runs.
fn stored_meta(m: &RecordMetadata) -> StoredMeta<&str> {
    let RecordMetadata {
        session_num,
        x_request_id,
        x_correlation_id,
        conversation_id,
        turn_index,
        credit_issued_ns,
        intended_send_ns,
        request_start_ns,
        request_ack_ns,
        request_end_ns,
        worker_id: _,
        record_processor_id: _,
        benchmark_phase: _,
        phase_index: _,
        profiling_index,
        phase_name: _,
        phase_kind: _,
        was_cancelled,
        stream_incomplete,
        partial_response,
        malformed_sse_events,
    } = m;
    StoredMeta {
        session_num: *session_num,
        x_request_id,
        x_correlation_id,
        conversation_id,
        turn_index: *turn_index,
        credit_issued_ns: *credit_issued_ns,
        intended_send_ns: *intended_send_ns,
        request_start_ns: *request_start_ns,
        request_ack_ns: *request_ack_ns,
        request_end_ns: *request_end_ns,
        profiling_index: *profiling_index,
        was_cancelled: *was_cancelled,
        stream_incomplete: *stream_incomplete,
        partial_response: partial_response.clone(),
        malformed_sse_events: *malformed_sse_events,
    }
}

impl StoredRecord {
    /// The records line again, with the profiling phase's constant fields.
    pub fn into_line(self) -> RecordLine {
        let StoredMeta {
            session_num,
            x_request_id,
            x_correlation_id,
            conversation_id,
            turn_index,
            credit_issued_ns,
            intended_send_ns,
            request_start_ns,
            request_ack_ns,
            request_end_ns,
            profiling_index,
            was_cancelled,
            stream_incomplete,
            partial_response,
            malformed_sse_events,
        } = self.meta;
        const PROFILING: &str = "profiling";
        RecordLine {
            metadata: RecordMetadata {
                session_num,
                x_request_id,
                x_correlation_id,
                conversation_id,
                turn_index,
                credit_issued_ns,
                intended_send_ns,
                request_start_ns,
                request_ack_ns,
                request_end_ns,
                worker_id: "worker_0",
                record_processor_id: "record_processor_0",
                benchmark_phase: PROFILING,
                phase_index: 0,
                profiling_index,
                phase_name: PROFILING,
                phase_kind: PROFILING,
                was_cancelled,
                stream_incomplete,
                partial_response,
                malformed_sse_events,
            },
            values: self.values,
            error: self.error,
        }
    }
}

/// Writes a shard's records as the record processor takes them.
pub struct MergeRecordWriter {
    path: PathBuf,
    out: BufWriter<File>,
    count: u64,
    buf: Vec<u8>,
}

impl MergeRecordWriter {
    pub fn create(path: &Path, header: Header) -> Result<Self, ExportError> {
        let file = File::create(path).map_err(io_err(path))?;
        let mut w = Self {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 16, file),
            count: 0,
            buf: Vec::with_capacity(1024),
        };
        let mut head = Vec::with_capacity(24);
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&VERSION.to_le_bytes());
        head.extend_from_slice(&header.clock_wall_start_ns.to_le_bytes());
        head.extend_from_slice(&header.shard_index.to_le_bytes());
        w.put(&head)?;
        Ok(w)
    }

    /// Appends one record: `seq` is its place in processing order, `taken_wall_ns` when the
    /// processor took it.
    pub fn write(
        &mut self,
        seq: u64,
        taken_wall_ns: u64,
        line: &RecordLine,
    ) -> Result<(), ExportError> {
        let record: StoredRef<'_> = StoredRecord {
            seq,
            taken_wall_ns,
            meta: stored_meta(&line.metadata),
            values: &line.values,
            error: &line.error,
        };
        self.buf.clear();
        self.buf.extend_from_slice(&[0; 4]);
        let encoded = postcard::to_extend(&record, std::mem::take(&mut self.buf))
            .map_err(|e| self.invalid(e))?;
        self.buf = encoded;
        let len = (self.buf.len() - 4) as u32;
        self.buf[..4].copy_from_slice(&len.to_le_bytes());
        let buf = std::mem::take(&mut self.buf);
        let put = self.put(&buf);
        self.buf = buf;
        put?;
        self.count += 1;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), ExportError> {
        self.out.flush().map_err(io_err(&self.path))
    }

    /// Records written so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Writes the trailer: the file is complete.
    pub fn finish(mut self) -> Result<u64, ExportError> {
        let mut tail = Vec::with_capacity(16);
        tail.extend_from_slice(&TRAILER_MARK.to_le_bytes());
        tail.extend_from_slice(&self.count.to_le_bytes());
        tail.extend_from_slice(TRAILER_END);
        self.put(&tail)?;
        self.flush()?;
        Ok(self.count)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), ExportError> {
        self.out.write_all(bytes).map_err(io_err(&self.path))
    }

    fn invalid(&self, e: postcard::Error) -> ExportError {
        ExportError::Io {
            path: self.path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        }
    }
}

/// Why a records file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read '{path}': {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("'{path}' is not a shard records file ({why})")]
    Format { path: PathBuf, why: String },
}

/// Reads a shard's records in the order they were written.
pub struct MergeRecordReader {
    path: PathBuf,
    input: BufReader<File>,
    header: Header,
    state: State,
    read: u64,
    buf: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    /// The trailer was read and its count matched.
    Complete,
    /// The file ended without a trailer (or inside a record): the shard stopped writing.
    Truncated,
}

/// The record count in the file's trailer, read from its end without reading the records:
/// `None` when the file has no trailer (its writer stopped early).
pub fn trailer_count(path: &Path) -> Result<Option<u64>, ReadError> {
    use std::io::{Seek, SeekFrom};
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len < 24 + 16 {
        return Ok(None);
    }
    file.seek(SeekFrom::End(-16)).map_err(io)?;
    let mut tail = [0u8; 16];
    file.read_exact(&mut tail).map_err(io)?;
    let mark = u32::from_le_bytes(tail[..4].try_into().unwrap_or_default());
    if mark != TRAILER_MARK || &tail[12..] != TRAILER_END {
        return Ok(None);
    }
    Ok(Some(u64::from_le_bytes(
        tail[4..12].try_into().unwrap_or_default(),
    )))
}

impl MergeRecordReader {
    pub fn open(path: &Path) -> Result<Self, ReadError> {
        let file = File::open(path).map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut input = BufReader::with_capacity(1 << 20, file);
        let mut head = [0u8; 24];
        let format = |why: &str| ReadError::Format {
            path: path.to_path_buf(),
            why: why.to_string(),
        };
        if read_full(&mut input, &mut head).map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })? < head.len()
            || &head[..8] != MAGIC
        {
            return Err(format("no AIPERFMR header"));
        }
        let version = u32::from_le_bytes(head[8..12].try_into().unwrap_or_default());
        if version != VERSION {
            return Err(format(&format!(
                "version {version}; this aiperf reads version {VERSION}"
            )));
        }
        let header = Header {
            clock_wall_start_ns: u64::from_le_bytes(head[12..20].try_into().unwrap_or_default()),
            shard_index: u32::from_le_bytes(head[20..24].try_into().unwrap_or_default()),
        };
        Ok(Self {
            path: path.to_path_buf(),
            input,
            header,
            state: State::Reading,
            read: 0,
            buf: Vec::new(),
        })
    }

    pub fn header(&self) -> Header {
        self.header
    }

    /// Whether the file ended with its trailer; meaningful once the reader returned `None`.
    pub fn complete(&self) -> bool {
        self.state == State::Complete
    }

    /// Records read so far.
    pub fn read_count(&self) -> u64 {
        self.read
    }

    fn format(&self, why: String) -> ReadError {
        ReadError::Format {
            path: self.path.clone(),
            why,
        }
    }

    fn next_record(&mut self) -> Result<Option<StoredRecord>, ReadError> {
        if self.state != State::Reading {
            return Ok(None);
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ReadError::Io { path, source }
        };
        let mut len = [0u8; 4];
        if read_full(&mut self.input, &mut len).map_err(io(&self.path))? < 4 {
            self.state = State::Truncated;
            return Ok(None);
        }
        let len = u32::from_le_bytes(len);
        if len == TRAILER_MARK {
            let mut tail = [0u8; 12];
            let got = read_full(&mut self.input, &mut tail).map_err(io(&self.path))?;
            if got < tail.len() || &tail[8..] != TRAILER_END {
                self.state = State::Truncated;
                return Ok(None);
            }
            let count = u64::from_le_bytes(tail[..8].try_into().unwrap_or_default());
            if count != self.read {
                return Err(self.format(format!(
                    "the trailer counts {count} records, the file holds {}",
                    self.read
                )));
            }
            self.state = State::Complete;
            return Ok(None);
        }
        if len > MAX_RECORD_BYTES {
            return Err(self.format(format!("record {} claims {len} bytes", self.read + 1)));
        }
        self.buf.resize(len as usize, 0);
        if read_full(&mut self.input, &mut self.buf).map_err(io(&self.path))? < len as usize {
            self.state = State::Truncated;
            return Ok(None);
        }
        let record: StoredRecord = postcard::from_bytes(&self.buf)
            .map_err(|e| self.format(format!("record {} does not decode: {e}", self.read + 1)))?;
        self.read += 1;
        Ok(Some(record))
    }
}

impl Iterator for MergeRecordReader {
    type Item = Result<StoredRecord, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_record() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => None,
            Err(e) => {
                self.state = State::Truncated;
                Some(Err(e))
            }
        }
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_metrics::record::HttpTrace;

    fn line(i: u64) -> RecordLine {
        let mut values = RecordMetrics {
            time_to_first_token: Some(1.0 / 3.0 + i as f64),
            inter_token_latency: Some(f64::NAN),
            e2e_output_token_throughput: Some(f64::INFINITY),
            requested_osl: Some(64.0),
            inter_chunk_latency: if i.is_multiple_of(2) {
                vec![]
            } else {
                vec![0.1, -0.0, f64::NEG_INFINITY, 1e300]
            },
            http: (i == 1).then_some(HttpTrace {
                blocked_ns: 1,
                connecting_ns: 2,
                sending_ns: 3,
                waiting_ns: 4,
                receiving_ns: 5,
                reused: true,
                bytes_sent: 6,
                bytes_received: 7,
                chunks_received: 8,
            }),
            timeline: Some((10 + i, (i == 0).then_some(11), 12 + i)),
            ..RecordMetrics::default()
        };
        values.usage.prompt_audio_seconds = Some(0.1 + 0.2);
        RecordLine {
            metadata: RecordMetadata {
                session_num: i,
                x_request_id: format!("req-{i}"),
                x_correlation_id: "corr".into(),
                conversation_id: String::new(),
                turn_index: 2,
                credit_issued_ns: u64::MAX - i,
                intended_send_ns: (i == 0).then_some(5),
                request_start_ns: 6,
                request_ack_ns: None,
                request_end_ns: 8,
                worker_id: "worker_0",
                record_processor_id: "record_processor_0",
                benchmark_phase: "profiling",
                phase_index: 0,
                profiling_index: i,
                phase_name: "profiling",
                phase_kind: "profiling",
                was_cancelled: i == 2,
                stream_incomplete: i == 1,
                partial_response: (i == 2).then_some(PartialResponse {
                    status: Some(200),
                    response_head_ns: Some(9),
                    chunks_received: 3,
                    bytes_received: 40,
                    first_chunk_ns: None,
                    last_chunk_ns: Some(11),
                }),
                malformed_sse_events: i as u32,
            },
            values,
            error: (i == 2).then(|| ErrorDetails {
                code: Some(503),
                kind: "Service Unavailable".into(),
                message: "ünïcode".into(),
            }),
        }
    }

    fn write(path: &Path, n: u64, finish: bool) {
        let header = Header {
            clock_wall_start_ns: 1_700_000_000_123_456_789,
            shard_index: 3,
        };
        let mut w = MergeRecordWriter::create(path, header).unwrap();
        for i in 0..n {
            w.write(i, 100 + i, &line(i)).unwrap();
        }
        if finish {
            assert_eq!(w.finish().unwrap(), n);
        } else {
            w.flush().unwrap();
        }
    }

    /// Bit equality, NaN included (`PartialEq` on f64 says NaN != NaN).
    fn same_bits(a: &RecordLine, b: &RecordLine) -> bool {
        let bits = |l: &RecordLine| {
            postcard::to_allocvec(&(
                stored_meta(&l.metadata),
                &l.values,
                &l.error,
                l.metadata.worker_id,
                l.metadata.benchmark_phase,
                l.metadata.phase_kind,
            ))
            .unwrap()
        };
        bits(a) == bits(b)
    }

    #[test]
    fn every_field_comes_back_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MERGE_RECORDS_FILE);
        write(&path, 3, true);
        assert_eq!(trailer_count(&path).unwrap(), Some(3));
        let mut r = MergeRecordReader::open(&path).unwrap();
        assert_eq!(r.header().shard_index, 3);
        assert_eq!(r.header().clock_wall_start_ns, 1_700_000_000_123_456_789);
        let back: Vec<StoredRecord> = r.by_ref().map(|x| x.unwrap()).collect();
        assert!(r.complete());
        assert_eq!(back.len(), 3);
        for (i, rec) in back.into_iter().enumerate() {
            assert_eq!((rec.seq, rec.taken_wall_ns), (i as u64, 100 + i as u64));
            let got = rec.into_line();
            let want = line(i as u64);
            assert!(same_bits(&got, &want), "record {i}: {got:?}");
            assert!(got.values.inter_token_latency.unwrap().is_nan());
            assert_eq!(
                got.values.usage.prompt_audio_seconds.unwrap().to_bits(),
                (0.1f64 + 0.2).to_bits()
            );
        }
    }

    #[test]
    fn a_file_without_its_trailer_reads_as_incomplete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.bin");
        write(&path, 3, false);
        assert_eq!(trailer_count(&path).unwrap(), None);
        let mut r = MergeRecordReader::open(&path).unwrap();
        assert_eq!(r.by_ref().filter(|x| x.is_ok()).count(), 3);
        assert!(!r.complete());

        // Cut inside the last record: the whole records before it still read.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
        let mut r = MergeRecordReader::open(&path).unwrap();
        assert_eq!(r.by_ref().filter(|x| x.is_ok()).count(), 2);
        assert!(!r.complete());
    }

    #[test]
    fn damaged_files_are_refused_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.bin");
        std::fs::write(&path, b"{\"not\": \"binary\"}").unwrap();
        let e = MergeRecordReader::open(&path).err().unwrap().to_string();
        assert!(e.contains("m.bin") && e.contains("header"), "{e}");

        write(&path, 1, true);
        let mut bytes = std::fs::read(&path).unwrap();
        // An absurd record length is refused, not allocated.
        bytes[24..28].copy_from_slice(&(u32::MAX - 1).to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let e = MergeRecordReader::open(&path)
            .unwrap()
            .next()
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(e.contains("claims"), "{e}");

        // A trailer whose count disagrees with the records is refused.
        write(&path, 2, true);
        let mut bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 12..n - 4].copy_from_slice(&5u64.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let errors: Vec<String> = MergeRecordReader::open(&path)
            .unwrap()
            .filter_map(|x| x.err().map(|e| e.to_string()))
            .collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("counts 5"), "{errors:?}");
    }
}
