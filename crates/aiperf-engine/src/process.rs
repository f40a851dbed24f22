//! The record processor: turns raw records into per-request metrics, JSONL lines and run totals.
//! Runs on its own thread so parsing and tokenization never delay a request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aiperf_core::{Clock, ErrorDetails, Phase, RawRecord};
use aiperf_endpoints::{parse_responses, ParsedResponse};
use aiperf_export::merge_records::MergeRecordWriter;
use aiperf_export::outputs::{OutputEntry, OutputMetrics, OutputsWriter};
use aiperf_export::raw::{Packet, RawExchange, RawResponse, RawWriter};
use aiperf_export::records::{PartialResponse, RecordMetadata, TraceData};
use aiperf_export::{RecordLine, RecordWriter};
use aiperf_metrics::{Accumulator, Applicability, HttpTrace, RecordInput, RecordValues};
use indexmap::IndexMap;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::prepare::Prepared;

/// What the processor hands back when the run ends.
pub struct Processed {
    pub accumulator: Accumulator,
    pub errors: HashMap<ErrorDetails, u64>,
    pub write_error: Option<String>,
    /// Malformed SSE messages dropped over the run's profiling records.
    pub malformed_sse: u64,
    /// `merge_records.bin`, when written: its records and whether it is complete.
    pub merge_records: Option<MergeRecordsWritten>,
    /// Why `profile_export_raw.jsonl` or `outputs.json` is incomplete or missing (also set in
    /// `write_error` when the records file is fine, so the run exits 1).
    pub extra_write_error: Option<String>,
}

/// What became of `merge_records.bin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRecordsWritten {
    pub count: u64,
    /// Trailer written after every record: the merge can trust the file to hold them all.
    pub complete: bool,
    pub error: Option<String>,
}

/// The per-record files the processor writes.
pub struct Writers {
    /// `profile_export.jsonl`; `None` under `--export-level summary`.
    pub records: Option<RecordWriter>,
    /// `merge_records.bin` (sharded runs and `--merge-records`).
    pub merge: Option<MergeRecordWriter>,
    /// `profile_export_raw.jsonl` (`--export-level raw`), warm-up requests included as in
    /// AIPerf.
    pub raw: Option<RawWriter>,
    /// `outputs.json` (`--export-outputs-json`): fragments during the run, the file at the end.
    pub outputs: Option<(OutputsWriter, std::path::PathBuf)>,
    /// `--export-http-trace`: a `trace_data` object on each records line.
    pub http_trace: bool,
    /// The headers every request carries (sensitive values redacted), for raw lines; the
    /// request id and session headers are added per request.
    pub request_headers: IndexMap<String, String>,
}

impl Writers {
    /// No per-record files beyond what is given.
    pub fn new(records: Option<RecordWriter>, merge: Option<MergeRecordWriter>) -> Self {
        Self {
            records,
            merge,
            raw: None,
            outputs: None,
            http_trace: false,
            request_headers: IndexMap::new(),
        }
    }
}

/// Live counters for progress display.
#[derive(Default)]
pub struct Progress {
    pub profiled: AtomicU64,
    pub errors: AtomicU64,
}

pub struct ProcessorConfig {
    pub clock: Clock,
    pub run: Applicability,
    pub use_server_token_count: bool,
    pub per_chunk_usage: bool,
    /// `--slice-duration`: (profiling start in epoch ns, set when profiling starts; width ns).
    pub timeslices: Option<(Arc<AtomicU64>, u64)>,
    /// The dashboard's running aggregates, when it is shown.
    pub live: Option<Arc<crate::ui::live::Live>>,
    /// Publishers that see every profiling record (`publish/`).
    pub taps: Vec<Arc<dyn crate::publish::RecordTap>>,
    /// Count each request's images (`num_images`, `image_*`): only when the dataset can hold
    /// any, so text runs never scan their bodies.
    pub count_media: bool,
    /// Counts records taken, releasing held-back workers once the queue has drained.
    pub backlog: Arc<crate::backlog::Backlog>,
    /// `--failed-request-threshold`: stops the run once too many profiling records failed.
    pub failed_threshold: Option<FailedThreshold>,
    /// `--accuracy-benchmark`: every profiling answer goes to the grading thread.
    pub grading: Option<std::sync::mpsc::Sender<crate::accuracy::Job>>,
}

/// `--failed-request-threshold` (AIPerf 0.13's `_maybe_trigger_failed_request_abort`): after
/// each profiling record, once `floor` records came back, a failed share above `threshold`
/// stops the run (once) through its own stop signal.
pub struct FailedThreshold {
    pub threshold: f64,
    /// `max(concurrency, 10)`: so a single early failure cannot end the run.
    pub floor: u64,
    /// The run's own stop signal (not the engine's: the next run of a sweep is not stopped).
    pub stop: Arc<crate::stop::StopSignal>,
}

impl FailedThreshold {
    pub fn new(threshold: f64, concurrency: usize, stop: Arc<crate::stop::StopSignal>) -> Self {
        Self {
            threshold,
            floor: (concurrency as u64).max(10),
            stop,
        }
    }

    /// Checks the counts after one more profiling record; stops the run the first time the
    /// threshold is exceeded.
    fn check(&self, errors: u64, total: u64) {
        if self.stop.early_reason().is_some()
            || !exceeded(errors, total, self.threshold, self.floor)
        {
            return;
        }
        let rate = errors as f64 / total as f64;
        tracing::warn!(
            "--failed-request-threshold exceeded: {errors}/{total} = {rate:.3} > {:.3} (grace floor {}, phase_index 0). Requesting PROFILE_CANCEL to terminate the run.",
            self.threshold,
            self.floor
        );
        self.stop.stop_early(format!(
            "--failed-request-threshold exceeded: {errors}/{total} = {rate:.3} > {:.3}",
            self.threshold
        ));
    }
}

/// Whether `errors` of `total` records exceed the failed-request `threshold`: only once `total`
/// reached the grace `floor`, and only strictly above it (a share equal to it is not).
pub(crate) fn exceeded(errors: u64, total: u64, threshold: f64, floor: u64) -> bool {
    total > 0 && total >= floor && errors as f64 / total as f64 > threshold
}

pub fn spawn(
    cfg: ProcessorConfig,
    accumulator: Accumulator,
    prepared: Arc<Prepared>,
    mut rx: mpsc::UnboundedReceiver<RawRecord>,
    writers: Writers,
    progress: Arc<Progress>,
) -> std::thread::JoinHandle<Processed> {
    std::thread::Builder::new()
        .name("record-processor".into())
        .spawn(move || {
            let Writers {
                records: mut writer,
                mut merge,
                raw: mut raw_writer,
                mut outputs,
                http_trace,
                request_headers,
            } = writers;
            let mut out = Processed {
                accumulator,
                errors: HashMap::new(),
                write_error: None,
                malformed_sse: 0,
                merge_records: None,
                extra_write_error: None,
            };
            let mut seq = 0u64;
            let mut since_flush = 0u32;
            let mut slices = cfg.timeslices.clone();
            let expects_done = prepared.meta.stream_done_sentinel;
            let (mut profiled, mut failed) = (0u64, 0u64);
            while let Some(raw) = next_record(&mut rx) {
                cfg.backlog.taken();
                if raw.credit.phase == Phase::Warmup {
                    if let Some(w) = raw_writer.as_mut() {
                        let meta = metadata(&cfg.clock, &raw, expects_done);
                        let error = raw_error(&raw);
                        let written = write_raw(w, &prepared, &request_headers, &raw, &meta, error.as_ref(), rx.is_empty());
                        if let Err(e) = written {
                            extra_failed(&mut out, &raw_kept(w.lines()), e);
                            raw_writer = None;
                        }
                    }
                    continue;
                }
                // When this processor took the record: the order a merge replays shards in (read
                // only when merge records are written).
                let taken_wall_ns = merge
                    .as_ref()
                    .map_or(0, |_| cfg.clock.to_wall_ns(cfg.clock.now_ns()));
                // Profiling records only arrive after its start time was published.
                if let Some((origin, width)) = slices.take() {
                    let acc = std::mem::replace(&mut out.accumulator, Accumulator::new(cfg.run));
                    out.accumulator = acc.with_timeslices(origin.load(Ordering::Relaxed), width);
                }
                let want_text = outputs.is_some() || cfg.grading.is_some();
                let (values, error, malformed, texts) =
                    process_one_with_text(&cfg, &prepared, &raw, want_text);
                if let Some(tx) = &cfg.grading {
                    // A closed grader (it panicked) only loses the grades, never the run.
                    let _ = tx.send(grading_job(&cfg.clock, &raw, texts.as_ref()));
                }
                let text = texts.map(|(content, _)| content);
                out.malformed_sse += u64::from(malformed);
                let partial = error
                    .as_ref()
                    .and_then(|_| partial_response(&cfg.clock, &raw));
                if let Some(live) = &cfg.live {
                    live.record(&values, error.as_ref());
                }
                let start_wall = cfg.clock.to_wall_ns(raw.request_start_ns);
                for tap in &cfg.taps {
                    tap.record(&values, error.as_ref(), start_wall);
                }
                match &error {
                    None => {
                        out.accumulator.add_success(&values, start_wall);
                    }
                    Some(e) => {
                        out.accumulator.add_error(&values, start_wall);
                        *out.errors.entry(e.clone()).or_insert(0) += 1;
                        progress.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                progress.profiled.fetch_add(1, Ordering::Relaxed);
                profiled += 1;
                failed += u64::from(error.is_some());
                if let Some(t) = &cfg.failed_threshold {
                    t.check(failed, profiled);
                }
                let jsonl_live = writer.is_some() && out.write_error.is_none();
                if jsonl_live || merge.is_some() || raw_writer.is_some() || outputs.is_some() {
                    let mut metadata = metadata(&cfg.clock, &raw, expects_done);
                    metadata.partial_response = partial;
                    metadata.malformed_sse_events = malformed;
                    let line = RecordLine {
                        metadata,
                        values,
                        error,
                    };
                    since_flush += 1;
                    let flush_now = since_flush >= 256 || rx.is_empty();
                    if flush_now {
                        since_flush = 0;
                    }
                    if let Some(w) = raw_writer.as_mut() {
                        let written = write_raw(w, &prepared, &request_headers, &raw, &line.metadata, line.error.as_ref(), flush_now);
                        if let Err(e) = written {
                            extra_failed(&mut out, &raw_kept(w.lines()), e);
                            raw_writer = None;
                        }
                    }
                    if let Some((w, _)) = outputs.as_mut() {
                        let mut written = w.add(&output_entry(&line, text.as_deref()));
                        if written.is_ok() && flush_now {
                            written = w.flush();
                        }
                        if let Err(e) = written {
                            extra_failed(&mut out, "no outputs.json is written", e);
                            if let Some((w, _)) = outputs.take() {
                                w.abandon();
                            }
                        }
                    }
                    if let Some(m) = &mut merge {
                        let mut result = m.write(seq, taken_wall_ns, &line);
                        if result.is_ok() && flush_now {
                            result = m.flush();
                        }
                        if let Err(e) = result {
                            tracing::warn!(
                                "{e}; the shard's merge records stop after {} (the merge will say this shard is incomplete)",
                                m.count()
                            );
                            out.merge_records = Some(MergeRecordsWritten {
                                count: m.count(),
                                complete: false,
                                error: Some(e.to_string()),
                            });
                            merge = None;
                        }
                    }
                    if let Some(writer) = writer.as_mut().filter(|_| jsonl_live) {
                        let trace = http_trace.then(|| trace_data(&cfg.clock, &raw)).flatten();
                        let mut result = writer.write_traced(&line, trace.as_ref());
                        if result.is_ok() && flush_now {
                            result = writer.flush();
                        }
                        if let Err(e) = result {
                            tracing::warn!(
                                "{e}; records are no longer written (the file keeps its first {} whole lines), the run goes on and the summary counts every request",
                                writer.lines()
                            );
                            out.write_error = Some(e.to_string());
                        }
                    }
                }
                seq += 1;
            }
            if let Some(m) = merge {
                let count = m.count();
                out.merge_records = Some(match m.finish() {
                    Ok(count) => MergeRecordsWritten {
                        count,
                        complete: true,
                        error: None,
                    },
                    Err(e) => {
                        tracing::warn!("{e}; the shard's merge records are incomplete");
                        MergeRecordsWritten {
                            count,
                            complete: false,
                            error: Some(e.to_string()),
                        }
                    }
                });
            }
            if let Some(writer) = writer.as_mut().filter(|_| out.write_error.is_none()) {
                if let Err(e) = writer.flush() {
                    tracing::warn!("{e}; the records file keeps its first {} whole lines", writer.lines());
                    out.write_error = Some(e.to_string());
                }
            }
            if let Some(w) = raw_writer.as_mut() {
                if let Err(e) = w.flush() {
                    extra_failed(&mut out, &raw_kept(w.lines()), e);
                }
            }
            if let Some((w, path)) = outputs {
                match w.finish(&path) {
                    Ok(n) => tracing::info!("Exported {n} records to {}", path.display()),
                    Err(e) => extra_failed(&mut out, "outputs.json is not written", e),
                }
            }
            if out.write_error.is_none() {
                out.write_error = out.extra_write_error.clone();
            }
            out
        })
        .expect("spawning the record processor thread")
}

/// Notes that a raw records or outputs file failed (warned once per file; the run goes on and
/// exits 1). `consequence` says what became of the file.
fn extra_failed(out: &mut Processed, consequence: &str, e: aiperf_export::ExportError) {
    tracing::warn!("{e}; {consequence}, the run goes on");
    out.extra_write_error.get_or_insert_with(|| e.to_string());
}

/// What a failed raw records file keeps.
fn raw_kept(lines: u64) -> String {
    format!("raw records are no longer written (the file keeps its first {lines} whole lines)")
}

/// A warm-up record's error for its raw line: the transport's, or the HTTP status's (its body
/// not parsed, as warm-up records are not processed).
fn raw_error(raw: &RawRecord) -> Option<ErrorDetails> {
    raw.error.clone().or_else(|| http_error(raw))
}

/// A response whose status is not 2xx: the status, its reason and the body's first 1,000
/// characters.
fn http_error(raw: &RawRecord) -> Option<ErrorDetails> {
    let status = raw.status.unwrap_or(0);
    if (200..300).contains(&status) {
        return None;
    }
    let body: Vec<u8> = raw
        .chunks
        .iter()
        .flat_map(|c| c.data.iter().copied())
        .collect();
    let text = String::from_utf8_lossy(&body);
    let message: String = text.trim().chars().take(1000).collect();
    let kind = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("HTTPError");
    Some(ErrorDetails::new(Some(status), kind, message))
}

/// Writes one raw line (and flushes when asked).
fn write_raw(
    w: &mut RawWriter,
    prepared: &Prepared,
    base_headers: &IndexMap<String, String>,
    raw: &RawRecord,
    metadata: &RecordMetadata,
    error: Option<&ErrorDetails>,
    flush: bool,
) -> Result<(), aiperf_export::ExportError> {
    let mut headers = base_headers.clone();
    headers.insert("x-request-id".into(), raw.x_request_id.clone());
    headers.insert(
        prepared.session_header.as_str().to_string(),
        raw.x_correlation_id.clone(),
    );
    let payload = sent_body(prepared, raw);
    w.write(&RawExchange {
        metadata,
        start_perf_ns: raw.request_start_ns,
        request_headers: &headers,
        status: raw.status,
        responses: raw_responses(raw),
        error,
        payload: payload.as_deref(),
    })?;
    if flush {
        w.flush()?;
    }
    Ok(())
}

/// The body a request sent: the one the session kept, else the prepared turn's where that is
/// what was sent (no history, no chained response id, no cache-bust copy, no agent graph).
/// `None` when unknown (then `payload` is `null`).
fn sent_body(prepared: &Prepared, raw: &RawRecord) -> Option<bytes::Bytes> {
    if let Some(b) = &raw.sent_body {
        return Some(b.clone());
    }
    let plain = raw.input_text.is_none()
        && prepared.endpoint.chain_field().is_none()
        && prepared.cache_bust_run.is_none()
        && prepared.warmup_first.is_empty()
        && prepared.dag.is_none();
    if !plain {
        return None;
    }
    let turn = prepared
        .turns_of(raw.credit.session_num, raw.credit.conversation_index)
        .get(raw.credit.turn_index)?;
    Some(turn.wire.as_ref().unwrap_or(&turn.body).clone())
}

/// The response as received: SSE messages with their fields, or the whole body as text.
fn raw_responses(raw: &RawRecord) -> Vec<RawResponse> {
    if raw.chunks.is_empty() {
        return Vec::new();
    }
    if !raw.is_sse {
        let body: Vec<u8> = raw
            .chunks
            .iter()
            .flat_map(|c| c.data.iter().copied())
            .collect();
        return vec![RawResponse::Text {
            perf_ns: raw.chunks.last().map_or(0, |c| c.recv_ns),
            text: String::from_utf8_lossy(&body).into_owned(),
        }];
    }
    aiperf_transport::sse::frame_all(raw.chunks.iter().map(|c| (c.recv_ns, &c.data[..])))
        .into_iter()
        .map(|m| {
            let fields = [
                ("event", m.event),
                ("id", m.id),
                ("", m.comment),
                ("data", m.data),
            ];
            RawResponse::Sse {
                perf_ns: m.recv_ns,
                packets: fields
                    .into_iter()
                    .filter_map(|(name, value)| value.map(|value| Packet { name, value }))
                    .collect(),
            }
        })
        .collect()
}

/// A profiling record's `outputs.json` entry.
fn output_entry<'a>(line: &'a RecordLine, text: Option<&'a str>) -> OutputEntry<'a> {
    let m = &line.metadata;
    OutputEntry {
        session_num: m.session_num,
        conversation_id: &m.conversation_id,
        turn_index: m.turn_index,
        x_request_id: &m.x_request_id,
        request_start_ns: m.request_start_ns,
        request_end_ns: m.request_end_ns,
        metrics: OutputMetrics {
            values: &line.values,
            failed: line.error.is_some(),
        },
        response_text: text.filter(|t| !t.is_empty()),
    }
}

/// `trace_data` of a records line (`--export-http-trace`): the transport's timestamps on the
/// wall clock and the same k6-style phases as the `http_req_*` metrics. `None` when no
/// connection was ever ready (nothing was sent).
fn trace_data(clock: &Clock, raw: &RawRecord) -> Option<TraceData> {
    let ready = raw.connection_ready_ns?;
    let wall = |ns: u64| clock.to_wall_ns(ns);
    let ack = raw.request_ack_ns.unwrap_or(ready);
    let head = raw.response_head_ns.unwrap_or(raw.request_end_ns);
    let connect_start = ready.saturating_sub(raw.connect_ns);
    let new_connection = raw.connect_ns > 0;
    Some(TraceData {
        trace_type: "hyper",
        request_send_start_ns: Some(wall(ready)),
        request_chunks: Vec::new(),
        request_send_end_ns: Some(wall(ack)),
        request_chunks_count: 1,
        request_bytes_total: raw.bytes_sent,
        response_status_code: raw.status,
        response_reason: raw
            .status
            .and_then(|s| http::StatusCode::from_u16(s).ok())
            .and_then(|s| s.canonical_reason())
            .map(str::to_string),
        response_receive_start_ns: raw.response_head_ns.map(wall),
        response_headers_received_ns: raw.response_head_ns.map(wall),
        response_chunks: Vec::new(),
        response_chunks_count: raw.chunks.len() as u64,
        response_bytes_total: raw.chunks.iter().map(|c| c.data.len() as u64).sum(),
        response_receive_end_ns: Some(wall(raw.request_end_ns)),
        error_timestamp_ns: raw.error.as_ref().map(|_| wall(raw.request_end_ns)),
        connection_pool_wait_start_ns: Some(wall(raw.request_start_ns)),
        connection_pool_wait_end_ns: Some(wall(connect_start)),
        tcp_connect_start_ns: new_connection.then(|| wall(connect_start)),
        tcp_connect_end_ns: new_connection.then(|| wall(ready)),
        connection_reused_ns: raw.connection_reused.then(|| wall(ready)),
        sending_ns: ack.saturating_sub(ready),
        waiting_ns: head.saturating_sub(ack),
        receiving_ns: raw.request_end_ns.saturating_sub(head),
        duration_ns: raw.request_end_ns.saturating_sub(ready),
        blocked_ns: connect_start.saturating_sub(raw.request_start_ns),
        connecting_ns: raw.connect_ns,
    })
}

/// How long the processor sleeps when it finds no record waiting.
const IDLE_POLL: std::time::Duration = std::time::Duration::from_millis(1);

/// The next record, polling: when none is waiting the thread sleeps [`IDLE_POLL`] instead of
/// parking on the channel. A parked receiver makes every send wake it, two context switches per
/// request on a shared core (about a sixth of the client's CPU at saturation, by `perf`); polled,
/// records are taken in batches and a send is a queue push. `None` once every sender is gone
/// and the queue is empty.
fn next_record(rx: &mut mpsc::UnboundedReceiver<RawRecord>) -> Option<RawRecord> {
    loop {
        match rx.try_recv() {
            Ok(raw) => return Some(raw),
            Err(mpsc::error::TryRecvError::Disconnected) => return None,
            Err(mpsc::error::TryRecvError::Empty) => std::thread::sleep(IDLE_POLL),
        }
    }
}

/// `expects_done`: the API ends streams with `data: [DONE]` (OpenAI-style), so a stream without it
/// is marked partial.
fn metadata(clock: &Clock, raw: &RawRecord, expects_done: bool) -> RecordMetadata {
    let phase = raw.credit.phase.as_str();
    RecordMetadata {
        session_num: raw.credit.session_num,
        x_request_id: raw.x_request_id.clone(),
        x_correlation_id: raw.x_correlation_id.clone(),
        conversation_id: raw.conversation_id.clone(),
        turn_index: raw.credit.turn_index,
        credit_issued_ns: clock.to_wall_ns(raw.credit.issued_ns),
        intended_send_ns: raw.credit.intended_ns.map(|n| clock.to_wall_ns(n)),
        request_start_ns: clock.to_wall_ns(raw.request_start_ns),
        request_ack_ns: raw.request_ack_ns.map(|n| clock.to_wall_ns(n)),
        request_end_ns: clock.to_wall_ns(raw.request_end_ns),
        worker_id: "worker_0",
        record_processor_id: "record_processor_0",
        benchmark_phase: phase,
        phase_index: 0,
        profiling_index: raw.credit.index,
        phase_name: phase,
        phase_kind: phase,
        // Cancelled by `--request-cancellation-*`, a drain deadline or an interrupt.
        was_cancelled: raw
            .error
            .as_ref()
            .is_some_and(|e| e.code == Some(499) && e.kind == "RequestCancellationError"),
        partial_response: None,
        malformed_sse_events: 0,
        stream_incomplete: expects_done
            && raw.is_sse
            && raw.error.is_none()
            && !ends_with_done(raw),
    }
}

/// For a failed request, what had arrived: `None` when nothing did (no head, no body).
fn partial_response(clock: &Clock, raw: &RawRecord) -> Option<PartialResponse> {
    if raw.response_head_ns.is_none() && raw.chunks.is_empty() {
        return None;
    }
    Some(PartialResponse {
        status: raw.status,
        response_head_ns: raw.response_head_ns.map(|n| clock.to_wall_ns(n)),
        chunks_received: raw.chunks.len() as u64,
        bytes_received: raw.chunks.iter().map(|c| c.data.len() as u64).sum(),
        first_chunk_ns: raw.chunks.first().map(|c| clock.to_wall_ns(c.recv_ns)),
        last_chunk_ns: raw.chunks.last().map(|c| clock.to_wall_ns(c.recv_ns)),
    })
}

/// Whether an SSE body's last message is `data: [DONE]` (OpenAI-style streams end with it): the
/// body's last bytes, trailing ASCII whitespace skipped, spell `[DONE]`. Reads only the tail, not
/// the whole body.
fn ends_with_done(raw: &RawRecord) -> bool {
    const DONE: &[u8] = b"[DONE]";
    // Walk the body backwards across chunk boundaries, matching `[DONE]` from its last byte.
    let mut matched = 0;
    for chunk in raw.chunks.iter().rev() {
        for &b in chunk.data.iter().rev() {
            if matched == 0 && b.is_ascii_whitespace() {
                continue;
            }
            if b != DONE[DONE.len() - 1 - matched] {
                return false;
            }
            matched += 1;
            if matched == DONE.len() {
                return true;
            }
        }
    }
    false
}

/// Per-request metrics of one raw record, or why it failed; and how many malformed SSE
/// messages its response had.
#[cfg(test)]
pub fn process_one(
    cfg: &ProcessorConfig,
    prepared: &Prepared,
    raw: &RawRecord,
) -> (RecordValues, Option<ErrorDetails>, u32) {
    let (values, error, malformed, _) = process_one_with_text(cfg, prepared, raw, false);
    (values, error, malformed)
}

/// What the grader sees of a record (AIPerf's `_extract_output_and_thinking`): the content,
/// or the reasoning when no content came; the reasoning apart when there is some.
fn grading_job(
    clock: &Clock,
    raw: &RawRecord,
    texts: Option<&(String, String)>,
) -> crate::accuracy::Job {
    let (content, reasoning) = texts.cloned().unwrap_or_default();
    let thinking = (!reasoning.is_empty()).then_some(reasoning);
    let output = match (content.is_empty(), &thinking) {
        (true, Some(r)) => r.clone(),
        _ => content,
    };
    crate::accuracy::Job {
        conversation: raw.credit.conversation_index,
        session_num: raw.credit.session_num,
        conversation_id: raw.conversation_id.clone(),
        x_request_id: raw.x_request_id.clone(),
        end_wall_ns: clock.to_wall_ns(raw.request_end_ns),
        output,
        thinking,
    }
}

/// [`process_one`], and the generated text (content, reasoning) when `want_text`
/// (`--export-outputs-json`, accuracy grading).
pub fn process_one_with_text(
    cfg: &ProcessorConfig,
    prepared: &Prepared,
    raw: &RawRecord,
    want_text: bool,
) -> (
    RecordValues,
    Option<ErrorDetails>,
    u32,
    Option<(String, String)>,
) {
    // Later turns of a conversation carry their whole input text; count it here, off the
    // request path. `--apply-chat-template`: the sent body's messages through the tokenizer's
    // chat template; bodies without messages (or that the template refuses) count as without
    // it, as AIPerf falls back to bare text.
    let templated = || {
        let template = prepared.chat_template.as_ref()?;
        template.input_tokens(&prepared.tokenizer, raw.sent_body.as_ref()?)
    };
    let isl = (prepared.meta.tokenizes_input && !cfg.use_server_token_count)
        .then(|| {
            templated().or_else(|| match &raw.input_text {
                Some(text) => Some(prepared.tokenizer.count(text) as u64),
                None => prepared
                    .turns_of(raw.credit.session_num, raw.credit.conversation_index)
                    .get(raw.credit.turn_index)
                    .map(|t| {
                        u64::from(
                            *t.input_tokens
                                .get_or_init(|| prepared.tokenizer.count(&t.input_text) as u32),
                        )
                    }),
            })
        })
        .flatten();
    // A failure's message decides `context_overflow` (AIPerf's context-length phrases).
    let fail = |e: ErrorDetails, malformed: u32| {
        (
            RecordValues::of_failure(isl, &e.message),
            Some(e),
            malformed,
            None,
        )
    };
    if let Some(e) = &raw.error {
        return fail(e.clone(), 0);
    }
    if let Some(e) = http_error(raw) {
        return fail(e, 0);
    }
    let (responses, malformed) = match parse_responses(&*prepared.endpoint, raw.is_sse, &raw.chunks)
    {
        Ok(p) => (p.responses, p.malformed),
        Err(e) => return fail(e, 0),
    };
    let content_ns: Vec<u64> = responses
        .iter()
        .filter(|r| r.data.is_some())
        .map(|r| r.recv_ns)
        .collect();
    if content_ns.is_empty() {
        return fail(
            ErrorDetails::new(
                None,
                "InvalidInferenceResultError",
                "Invalid inference result: no responses with actual content were received",
            ),
            malformed,
        );
    }
    let produces_tokens = cfg.run.produces_tokens;
    let mut texts = None;
    let mut output_texts = || {
        texts
            .get_or_insert_with(|| aiperf_endpoints::output_texts(&responses))
            .clone()
    };
    let (input_tokens, output_tokens, reasoning_tokens) = if cfg.use_server_token_count {
        server_counts(&responses)
    } else if produces_tokens {
        let (out, reasoning) = output_texts();
        let out_n = prepared.tokenizer.count(&out) as u64;
        let reasoning_n =
            (!reasoning.is_empty()).then(|| prepared.tokenizer.count(&reasoning) as u64);
        (isl, Some(out_n), reasoning_n)
    } else {
        (isl, None, None)
    };
    let first_output_ns = responses
        .iter()
        .find(|r| r.data.as_ref().is_some_and(|d| !d.output_text().is_empty()))
        .map(|r| r.recv_ns);
    let usage = responses.iter().rev().find_map(|r| r.usage.as_ref());
    // With per-chunk usage, the first content chunk's cumulative completion count is the number
    // of tokens it carried.
    let first_chunk_tokens = cfg
        .per_chunk_usage
        .then(|| responses.iter().find(|r| r.data.is_some()))
        .flatten()
        .and_then(|r| r.usage.as_ref())
        .and_then(|u| u.get("completion_tokens"))
        .and_then(Value::as_u64);
    let http = raw.connection_ready_ns.map(|ready| {
        let ack = raw.request_ack_ns.unwrap_or(ready);
        let head = raw.response_head_ns.unwrap_or(raw.request_end_ns);
        HttpTrace {
            blocked_ns: ready
                .saturating_sub(raw.request_start_ns)
                .saturating_sub(raw.connect_ns),
            connecting_ns: raw.connect_ns,
            sending_ns: ack.saturating_sub(ready),
            waiting_ns: head.saturating_sub(ack),
            receiving_ns: raw.request_end_ns.saturating_sub(head),
            reused: raw.connection_reused,
            bytes_sent: raw.bytes_sent,
            bytes_received: raw.chunks.iter().map(|c| c.data.len() as u64).sum(),
            chunks_received: raw.chunks.len() as u64,
        }
    });
    let input = RecordInput {
        credit_issued_ns: raw.credit.issued_ns,
        intended_ns: raw.credit.intended_ns,
        start_ns: raw.request_start_ns,
        response_head_ns: raw.response_head_ns,
        end_ns: raw.request_end_ns,
        content_ns: &content_ns,
        first_output_ns,
        input_tokens,
        output_tokens: if produces_tokens { output_tokens } else { None },
        reasoning_tokens: if produces_tokens {
            reasoning_tokens
        } else {
            None
        },
        requested_osl: raw.max_tokens.map(u64::from),
        first_chunk_tokens,
        usage,
        http,
    };
    let text = want_text.then(&mut output_texts);
    match RecordValues::of_success(&input) {
        Some(v) if cfg.count_media => {
            let images = raw
                .sent_body
                .as_deref()
                .or_else(|| {
                    prepared
                        .turns_of(raw.credit.session_num, raw.credit.conversation_index)
                        .get(raw.credit.turn_index)
                        .map(|t| &t.body[..])
                })
                .map_or(0, |b| {
                    aiperf_metrics::media::MediaCounts::from_body(b).images
                });
            (v.with_media(images, None), None, malformed, text)
        }
        Some(v) => (v, None, malformed, text),
        None => fail(
            ErrorDetails::new(
                None,
                "InvalidInferenceResultError",
                "Invalid inference result: response timestamps out of order",
            ),
            malformed,
        ),
    }
}

/// Token counts from the server's `usage` (`--use-server-token-count`): each count from the
/// latest usage object that has it, so APIs that split usage over events (Anthropic: input
/// tokens in `message_start`, output tokens in `message_delta`) count fully.
fn server_counts(responses: &[ParsedResponse]) -> (Option<u64>, Option<u64>, Option<u64>) {
    let usages: Vec<&Value> = responses
        .iter()
        .rev()
        .filter_map(|r| r.usage.as_ref())
        .collect();
    let find = |get: &dyn Fn(&Value) -> Option<u64>| usages.iter().find_map(|u| get(u));
    let prompt = find(&|u| {
        u.get("prompt_tokens")
            .or_else(|| u.get("input_tokens"))
            .and_then(Value::as_u64)
    });
    let completion = find(&|u| {
        u.get("completion_tokens")
            .or_else(|| u.get("output_tokens"))
            .and_then(Value::as_u64)
    });
    let reasoning = find(&|u| {
        u.pointer("/completion_tokens_details/reasoning_tokens")
            .or_else(|| u.pointer("/output_tokens_details/reasoning_tokens"))
            .and_then(Value::as_u64)
    });
    let output = completion.map(|c| c.saturating_sub(reasoning.unwrap_or(0)));
    (prompt, output, reasoning)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_core::{Chunk, Credit, PreparedTurn};
    use aiperf_dataset::{Sampler, SamplingStrategy, TextTokenizer};
    use bytes::Bytes;

    const MS: u64 = 1_000_000;

    fn prepared() -> Prepared {
        let registry = aiperf_plugins::Registry::builtin();
        let meta = registry.endpoint_metadata("chat").unwrap();
        Prepared {
            endpoint: aiperf_endpoints::build(
                "aiperf_endpoints::chat::Chat",
                &meta,
                &Default::default(),
            )
            .unwrap(),
            meta,
            tokenizer: Arc::new(TextTokenizer::builtin().unwrap()),
            seed: 0,
            conversations: Vec::new(),
            turns: vec![vec![vec![PreparedTurn {
                wire: None,
                body: Bytes::new(),
                input_text: "one two three four five six seven".into(),
                input_tokens: Default::default(),
                max_tokens: Some(2),
                delay_ms: None,
                timestamp_ms: None,
            }]]],
            model_selection: crate::prepare::ModelPick::RoundRobin,
            carries_history: true,
            sampler: Sampler::new(SamplingStrategy::Sequential, 1, 0),
            paths: Vec::new(),
            headers: Default::default(),
            session_header: http::HeaderName::from_static("x-correlation-id"),
            job_poll: std::time::Duration::from_millis(10),
            download_content: false,
            connection_reuse: aiperf_config::resolve::ConnectionReuse::Pooled,
            cache_bust_run: None,
            warmup_first: Vec::new(),
            chat_template: None,
            accuracy: None,
            dag: None,
        }
    }

    fn raw(chunks: Vec<(u64, &str)>) -> RawRecord {
        RawRecord {
            credit: Credit {
                phase: Phase::Profiling,
                index: 0,
                conversation_index: 0,
                turn_index: 0,
                session_num: 0,
                issued_ns: 0,
                intended_ns: None,
                cancel_after_ns: None,
            },
            conversation_id: "s".into(),
            x_request_id: "r".into(),
            x_correlation_id: "c".into(),
            request_start_ns: MS,
            request_ack_ns: Some(MS + 10),
            response_head_ns: Some(2 * MS),
            connection_ready_ns: Some(MS + 5),
            connect_ns: 0,
            connection_reused: true,
            bytes_sent: 10,
            request_end_ns: 60 * MS,
            status: Some(200),
            is_sse: true,
            chunks: chunks
                .into_iter()
                .map(|(t, d)| Chunk {
                    recv_ns: t,
                    data: Bytes::from(d.to_string()),
                })
                .collect(),
            error: None,
            input_text: None,
            max_tokens: Some(2),
            sent_body: None,
        }
    }

    #[test]
    fn done_is_found_across_reads_and_only_at_the_end() {
        let ends =
            |chunks: Vec<&str>| ends_with_done(&raw(chunks.into_iter().map(|c| (MS, c)).collect()));
        assert!(ends(vec!["data: {}\n\n", "data: [DONE]\n\n"]));
        // Split over three reads, and trailing whitespace in a read of its own.
        assert!(ends(vec![
            "data: {}\n\ndata: [D",
            "ON",
            "E]\r\n",
            "\r\n \n"
        ]));
        assert!(!ends(vec!["data: [DONE]\n\n", "data: {}\n\n"]));
        assert!(!ends(vec!["data: {}\n\n"]));
        assert!(!ends(vec!["ONE]\n\n"]));
        assert!(!ends(vec![]));
    }

    #[test]
    fn later_turns_count_their_whole_input_text() {
        let p = prepared();
        let mut r = raw(vec![(10 * MS, "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n")]);
        r.input_text = Some("hello there general kenobi".into());
        let (v, e, _) = process_one(&cfg(), &p, &r);
        assert!(e.is_none(), "{e:?}");
        let want = p.tokenizer.count("hello there general kenobi") as u64;
        assert_eq!(v.input_sequence_length, Some(want as f64));
    }

    fn cfg() -> ProcessorConfig {
        ProcessorConfig {
            clock: Clock::start(),
            run: Applicability {
                streaming: true,
                produces_tokens: true,
                tokenizes_input: true,
                ..Default::default()
            },
            use_server_token_count: false,
            per_chunk_usage: false,
            timeslices: None,
            live: None,
            taps: Vec::new(),
            count_media: false,
            backlog: Default::default(),
            failed_threshold: None,
            grading: None,
        }
    }

    #[test]
    fn the_failed_request_threshold_waits_for_its_floor_and_is_strict() {
        // Below the grace floor nothing counts, however many failed.
        assert!(!exceeded(9, 9, 0.5, 10));
        assert!(!exceeded(0, 0, 0.0, 0));
        // At the floor the share counts; equal to the threshold is not above it.
        assert!(exceeded(6, 10, 0.5, 10));
        assert!(!exceeded(5, 10, 0.5, 10));
        assert!(!exceeded(0, 10, 0.0, 10));
        assert!(exceeded(1, 10, 0.0, 10));
        assert!(!exceeded(10, 10, 1.0, 10));
        // Early failures diluted by later successes never arm it.
        assert!(!exceeded(3, 12, 0.5, 10));
    }

    #[test]
    fn the_failed_request_threshold_stops_the_run_once_with_its_reason() {
        let stop = Arc::new(crate::stop::StopSignal::default());
        let t = FailedThreshold::new(0.5, 4, stop.clone());
        assert_eq!(t.floor, 10, "max(concurrency, 10)");
        assert_eq!(FailedThreshold::new(0.5, 32, stop.clone()).floor, 32);
        // Every record failed, but the floor is not reached: the run goes on.
        for n in 1..10 {
            t.check(n, n);
        }
        assert!(!stop.stopped());
        t.check(10, 10);
        assert!(stop.stopped());
        assert_eq!(
            stop.early_reason().as_deref(),
            Some("--failed-request-threshold exceeded: 10/10 = 1.000 > 0.500")
        );
        t.check(12, 12);
        assert_eq!(
            stop.early_reason().as_deref(),
            Some("--failed-request-threshold exceeded: 10/10 = 1.000 > 0.500"),
            "fires once"
        );
    }

    const CHUNK: &str = r#"{"object":"chat.completion.chunk","choices":[{"delta":"#;

    #[test]
    fn role_only_first_chunk_and_usage_only_trailer_do_not_count() {
        let p = prepared();
        let r = raw(vec![
            (3 * MS, &format!("data: {CHUNK}{{\"role\":\"assistant\",\"content\":\"\"}}}}]}}\n\n")),
            (10 * MS, &format!("data: {CHUNK}{{\"content\":\"Hello\"}}}}]}}\n\n")),
            (20 * MS, &format!("data: {CHUNK}{{\"content\":\" world\"}}}}]}}\n\n")),
            (50 * MS, "data: {\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n"),
        ]);
        let (m, err, _) = process_one(&cfg(), &p, &r);
        assert_eq!(err, None);
        // TTFT from the first content (10 ms), latency to the last content (20 ms), not 3 or 50 ms.
        assert_eq!(m.time_to_first_token, Some(9e6));
        assert_eq!(m.request_latency, Some(19e6));
        assert_eq!(
            m.output_sequence_length,
            Some(2.0),
            "'Hello world' is two o200k tokens"
        );
        assert_eq!(
            m.usage.completion,
            Some(2.0),
            "usage-only trailer still read"
        );
        let h = m.http.unwrap();
        assert_eq!(
            (h.blocked_ns, h.sending_ns, h.waiting_ns),
            (5, 5, 2 * MS - MS - 10)
        );
        assert_eq!(h.chunks_received, 4);
    }

    #[test]
    fn a_stream_without_content_is_an_error_record() {
        let p = prepared();
        let r = raw(vec![(
            3 * MS,
            &format!("data: {CHUNK}{{\"role\":\"assistant\"}}}}]}}\n\ndata: [DONE]\n\n"),
        )]);
        let (m, err, _) = process_one(&cfg(), &p, &r);
        assert_eq!(err.unwrap().kind, "InvalidInferenceResultError");
        assert_eq!(m.input_sequence_length, Some(7.0), "error_isl kept");
    }

    #[test]
    fn sse_error_event_and_http_errors() {
        let p = prepared();
        let r = raw(vec![(
            3 * MS,
            "event: error\n: model overloaded\ndata: {}\n\n",
        )]);
        let err = process_one(&cfg(), &p, &r).1.unwrap();
        assert_eq!(
            (err.code, err.kind.as_str(), err.message.as_str()),
            (Some(502), "SSEResponseError", "model overloaded")
        );
        let mut r = raw(vec![(3 * MS, "{\"error\": \"busy\"}")]);
        r.status = Some(429);
        r.is_sse = false;
        let err = process_one(&cfg(), &p, &r).1.unwrap();
        assert_eq!(
            (err.code, err.kind.as_str(), err.message.as_str()),
            (Some(429), "Too Many Requests", "{\"error\": \"busy\"}")
        );
    }

    #[test]
    fn server_counts_take_the_last_usage_and_split_reasoning() {
        let r = |usage: Option<Value>| ParsedResponse {
            recv_ns: 0,
            data: None,
            usage,
        };
        let responses = vec![
            r(Some(
                serde_json::json!({"prompt_tokens": 1, "completion_tokens": 1}),
            )),
            r(None),
            r(Some(
                serde_json::json!({"prompt_tokens": 10, "completion_tokens": 8, "completion_tokens_details": {"reasoning_tokens": 3}}),
            )),
        ];
        assert_eq!(server_counts(&responses), (Some(10), Some(5), Some(3)));
        assert_eq!(server_counts(&[r(None)]), (None, None, None));
        // Anthropic: input tokens only in message_start, output tokens in message_delta.
        let split = vec![
            r(Some(
                serde_json::json!({"input_tokens": 7, "output_tokens": 1}),
            )),
            r(Some(serde_json::json!({"output_tokens": 12}))),
        ];
        assert_eq!(server_counts(&split), (Some(7), Some(12), None));
    }

    #[test]
    fn trace_data_matches_the_http_metrics_on_the_wall_clock() {
        let clock = Clock::start();
        let wall = |ns: u64| clock.to_wall_ns(ns);
        let first = format!("data: {CHUNK}{{\"content\":\"Hi\"}}}}]}}\n\n");
        let mut r = raw(vec![(3 * MS, &first), (4 * MS, "data: [DONE]\n\n")]);
        let bytes = (first.len() + "data: [DONE]\n\n".len()) as u64;
        // A new connection: 2 ns to connect, ready at MS + 5, body sent by MS + 10, head at
        // 2 ms, end at 60 ms.
        r.connection_reused = false;
        r.connect_ns = 2;
        let t = trace_data(&clock, &r).expect("a connection was ready");
        assert_eq!(t.request_send_start_ns, Some(wall(MS + 5)));
        assert_eq!(t.request_send_end_ns, Some(wall(MS + 10)));
        assert_eq!(t.response_headers_received_ns, Some(wall(2 * MS)));
        assert_eq!(t.response_receive_end_ns, Some(wall(60 * MS)));
        assert_eq!(t.tcp_connect_start_ns, Some(wall(MS + 3)));
        assert_eq!(t.tcp_connect_end_ns, Some(wall(MS + 5)));
        assert_eq!(t.connection_reused_ns, None);
        assert_eq!(
            (t.blocked_ns, t.connecting_ns, t.sending_ns, t.waiting_ns),
            (3, 2, 5, 2 * MS - MS - 10)
        );
        assert_eq!(t.receiving_ns, 58 * MS);
        assert_eq!(t.duration_ns, 60 * MS - MS - 5);
        assert_eq!(
            (t.response_chunks_count, t.response_bytes_total),
            (2, bytes)
        );
        assert_eq!(t.request_bytes_total, 10);
        assert_eq!(t.response_reason.as_deref(), Some("OK"));
        // The same phases as the record's http_req_* metrics.
        let (v, _, _) = process_one(&cfg(), &prepared(), &r);
        let h = v.http.expect("http trace");
        assert_eq!(
            (
                h.blocked_ns,
                h.connecting_ns,
                h.sending_ns,
                h.waiting_ns,
                h.receiving_ns
            ),
            (
                t.blocked_ns,
                t.connecting_ns,
                t.sending_ns,
                t.waiting_ns,
                t.receiving_ns
            )
        );
        r.connection_ready_ns = None;
        assert_eq!(trace_data(&clock, &r), None, "nothing was sent");
    }

    #[test]
    fn raw_responses_are_sse_messages_or_one_text_body() {
        let r = raw(vec![
            (3 * MS, "event: error\n: overloaded\ndata: {\"a\""),
            (4 * MS, ":1}\n\ndata: [DONE]\n\n"),
        ]);
        assert_eq!(
            raw_responses(&r),
            vec![
                RawResponse::Sse {
                    perf_ns: 4 * MS,
                    packets: vec![
                        Packet {
                            name: "event",
                            value: "error".into()
                        },
                        Packet {
                            name: "",
                            value: "overloaded".into()
                        },
                        Packet {
                            name: "data",
                            value: "{\"a\":1}".into()
                        },
                    ],
                },
                RawResponse::Sse {
                    perf_ns: 4 * MS,
                    packets: vec![Packet {
                        name: "data",
                        value: "[DONE]".into()
                    }],
                },
            ]
        );
        let mut r = raw(vec![(3 * MS, "{\"x\":"), (5 * MS, "1}")]);
        r.is_sse = false;
        assert_eq!(
            raw_responses(&r),
            vec![RawResponse::Text {
                perf_ns: 5 * MS,
                text: "{\"x\":1}".into()
            }]
        );
        assert_eq!(raw_responses(&raw(vec![])), Vec::new());
    }

    #[test]
    fn the_sent_body_is_the_kept_one_else_the_prepared_one_when_that_was_sent() {
        let mut p = prepared();
        p.turns[0][0][0].body = bytes::Bytes::from_static(b"{\"prepared\":1}");
        let mut r = raw(vec![]);
        assert_eq!(sent_body(&p, &r).as_deref(), Some(&b"{\"prepared\":1}"[..]));
        r.sent_body = Some(bytes::Bytes::from_static(b"{\"kept\":1}"));
        assert_eq!(sent_body(&p, &r).as_deref(), Some(&b"{\"kept\":1}"[..]));
        // A later turn carried history the prepared body lacks: unknown, not guessed.
        r.sent_body = None;
        r.input_text = Some("earlier turns".into());
        assert_eq!(sent_body(&p, &r), None);
    }

    #[test]
    fn outputs_text_is_the_generated_content() {
        let r = raw(vec![
            (
                10 * MS,
                &format!("data: {CHUNK}{{\"content\":\"Hello\"}}}}]}}\n\n"),
            ),
            (
                20 * MS,
                &format!("data: {CHUNK}{{\"content\":\" world\"}}}}]}}\n\n"),
            ),
        ]);
        let (_, e, _, text) = process_one_with_text(&cfg(), &prepared(), &r, true);
        assert_eq!(e, None);
        assert_eq!(text, Some(("Hello world".to_string(), String::new())));
        let (_, _, _, text) = process_one_with_text(&cfg(), &prepared(), &r, false);
        assert_eq!(text, None, "only computed when asked");
    }
}
