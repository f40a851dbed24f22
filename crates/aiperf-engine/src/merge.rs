//! `aiperf merge`: one run rebuilt from its shards' records, exactly.
//!
//! Never a combination of the shards' summaries: every shard's records (`merge_records.bin`,
//! bit for bit) are fed to one [`Accumulator`] in the order one record processor would have
//! taken them (by take time on the reference clock), so every percentile, time-weighted curve,
//! timeslice and goodput count is what a single process measuring everything would report.
//! Per-record values are intervals on one machine's clock and need no correction; wall times
//! and run-clock timelines are moved onto the reference shard's clock by each shard's measured
//! offset (`shard.json` `clock`). The design is docs/design/merge.md.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};

use aiperf_config::resolve::Shard;
use aiperf_core::ErrorDetails;
use aiperf_export::merge_records::{self, MergeRecordReader, StoredRecord, MERGE_RECORDS_FILE};
use aiperf_export::shards::{ClockAgreement, FailedShard, ShardEntry, ShardsReport};
use aiperf_export::{ClientBound, RecordWriter, INPUTS_FILE, RECORDS_FILE};
use aiperf_metrics::load::{self, LoadInput};
use aiperf_metrics::spill::Spill;
use aiperf_metrics::{Accumulator, Goodput, Summary};
use aiperf_plugins::Registry;
use anyhow::{anyhow, bail, Context};

use crate::report::{self, Measured};
use crate::shard::{ManifestError, ShardManifest, ShardResult};

/// What to merge, and where to.
#[derive(Debug, Clone)]
pub struct MergeOptions {
    /// The shards' artifact directories.
    pub dirs: Vec<PathBuf>,
    pub output: PathBuf,
    /// Merge what exists when shards are missing or failed (they are reported).
    pub allow_partial: bool,
}

/// What a merge produced.
#[derive(Debug)]
pub struct MergeOutcome {
    /// 0 on success; 1 when no merged request succeeded; 130 when a shard was interrupted.
    pub exit_code: i32,
    pub console: String,
    pub request_count: u64,
    pub error_count: u64,
    pub summary: Summary,
    pub shards: ShardsReport,
}

/// Records per batch a reader thread hands over, and batches in flight per shard: enough to
/// keep the fold busy, little enough that memory stays flat whatever the shards' sizes.
const BATCH: usize = 1024;
const BATCHES_IN_FLIGHT: usize = 4;

/// Merges the shards in `opts.dirs` into `opts.output`. Refusals (shards of different plans, a
/// shard twice, missing or failed shards without `--allow-partial`) happen before anything is
/// written.
/// The shards' graded answers as one run's: counts added (exact), and every shard's
/// `accuracy_export.jsonl` lines in shard order in the merged directory.
fn merged_accuracy(
    parts: &[Part],
    out: &Path,
) -> Option<aiperf_accuracy::summary::AccuracySummary> {
    let mut total: Option<aiperf_accuracy::summary::AccuracySummary> = None;
    let mut lines = String::new();
    for p in parts {
        let Some(a) = &p.result.accuracy else {
            continue;
        };
        total.get_or_insert_with(Default::default).merge(a);
        let file = p.dir.join(aiperf_export::accuracy::ACCURACY_JSONL_FILE);
        match std::fs::read_to_string(&file) {
            Ok(text) => lines.push_str(&text),
            Err(e) => tracing::warn!(
                "{}: {e}; the merged accuracy_export.jsonl lacks this shard's lines",
                file.display()
            ),
        }
    }
    if total.is_some() {
        let path = out.join(aiperf_export::accuracy::ACCURACY_JSONL_FILE);
        if let Err(e) = std::fs::write(&path, lines) {
            tracing::warn!("cannot write '{}': {e}", path.display());
        }
    }
    total
}

pub fn merge(opts: &MergeOptions, registry: &Registry) -> anyhow::Result<MergeOutcome> {
    let mut selection = select(opts)?;
    let frame = Frame::of(&selection.parts)?;
    std::fs::create_dir_all(&opts.output)
        .with_context(|| format!("cannot create '{}'", opts.output.display()))?;
    crate::setup::move_aside_earlier_run(&opts.output)?;
    let started = std::time::Instant::now();
    let folded = fold(&selection.parts, &frame, &opts.output)?;
    let fold_s = started.elapsed().as_secs_f64();
    // A records file that turned out shorter than its trailer said (damaged since): its whole
    // records are in, and the run says it is partial.
    for (p, (&got, err)) in selection
        .parts
        .iter()
        .zip(folded.merged.iter().zip(&folded.stream_errors))
    {
        let listed = selection.failed.iter().any(|f| f.index == Some(p.index));
        if !listed && (got != p.result.records.count || err.is_some()) {
            selection.failed.push(FailedShard {
                index: Some(p.index),
                dir: p.dir.display().to_string(),
                why: format!(
                    "its records file held {got} of {} records{}: the records read are merged",
                    p.result.records.count,
                    err.as_ref().map_or(String::new(), |e| format!(" ({e})"))
                ),
            });
        }
    }
    let first = &selection.parts[0];
    let (mut rep, shards) = report_of(&selection, &frame, &folded, &opts.output);
    tracing::info!(
        "merged {} records of {} shard(s): folded in {fold_s:.1} s, summarised in {:.1} s",
        folded.request_count + folded.error_count,
        selection.parts.len(),
        started.elapsed().as_secs_f64() - fold_s
    );
    rep.malformed_sse_events = selection
        .parts
        .iter()
        .map(|p| p.result.records.malformed_sse)
        .sum();
    rep.accuracy = merged_accuracy(&selection.parts, &opts.output);
    let copied = copy_run_files(&first.dir, &opts.output);
    let mut shards = shards;
    if copied
        .iter()
        .any(|f| f.starts_with("server_metrics") || f.starts_with("gpu_"))
    {
        shards.server_metrics = Some(format!(
            "copied from shard {} (its own window)",
            first.index
        ));
    }
    rep.shards = Some(shards.clone());
    let (mut console, failed) = crate::exporters::run_exporters(registry, &opts.output, &rep)?;
    console.push_str(&shard_lines(&shards));
    let summary = rep.summary;
    let mut exit_code = crate::engine::exit_code(
        interrupted(&selection.parts),
        rep.was_cancelled,
        folded.request_count,
        folded.error_count,
    );
    if exit_code == 0 && (failed > 0 || folded.jsonl_error.is_some() || damaged(&shards)) {
        if let Some(e) = &folded.jsonl_error {
            tracing::error!("{e}");
        }
        exit_code = 1;
    }
    Ok(MergeOutcome {
        exit_code,
        console,
        request_count: folded.request_count,
        error_count: folded.error_count,
        summary,
        shards,
    })
}

/// What a user's interrupt leaves as a shard's `incomplete_reason`.
const USER_CANCEL: &str = "cancelled by user";

/// Whether a user interrupted any merged shard (the merge then exits 130, as the run would).
fn interrupted(parts: &[Part]) -> bool {
    parts.iter().any(|p| {
        p.result.was_cancelled
            && p.result
                .incomplete_reason
                .as_deref()
                .is_none_or(|r| r == USER_CANCEL)
    })
}

/// Whether a merged shard's records turned out damaged while merging (the merge exits 1).
fn damaged(shards: &ShardsReport) -> bool {
    shards
        .failed
        .iter()
        .any(|f| f.why.contains("the records read are merged"))
}

/// Shards whose profiling starts lie further apart than this (on corrected clocks) are not one
/// run; their timeslices alone would fill memory.
const MAX_START_SPREAD_NS: u64 = 600_000_000_000;

/// A shard that will be merged.
struct Part {
    index: u32,
    dir: PathBuf,
    manifest: ShardManifest,
    result: ShardResult,
}

/// The shards chosen, and what was left out.
struct Selection {
    parts: Vec<Part>,
    count: u32,
    plan_hash: String,
    missing: Vec<u32>,
    failed: Vec<FailedShard>,
}

fn select(opts: &MergeOptions) -> anyhow::Result<Selection> {
    let output = canonical(&opts.output);
    for name in [crate::shard::MANIFEST, MERGE_RECORDS_FILE] {
        if opts.output.join(name).exists() {
            bail!(
                "--output '{}' holds a shard's {name}; the merged run needs a directory of its own",
                opts.output.display()
            );
        }
    }
    let mut parts: Vec<Part> = Vec::new();
    let mut failed = Vec::new();
    let mut plan: Option<(String, u32, PathBuf)> = None;
    let mut dataset: Option<(String, PathBuf)> = None;
    let mut start_at: Option<Option<String>> = None;
    let mut seen: HashMap<u32, PathBuf> = HashMap::new();
    for dir in &opts.dirs {
        if canonical(dir) == output {
            bail!(
                "--output '{}' is one of the shard directories; the merged run needs its own",
                opts.output.display()
            );
        }
        let manifest = match ShardManifest::read(dir) {
            Ok(m) => m,
            Err(ManifestError::Absent(why)) => {
                failed.push(FailedShard {
                    index: None,
                    dir: dir.display().to_string(),
                    why,
                });
                continue;
            }
            Err(ManifestError::Invalid(why)) => bail!("{why}"),
        };
        let index = manifest.shard.index;
        if manifest.shard.count == 0 || index >= manifest.shard.count {
            bail!(
                "'{}': shard {index} of {} is no shard",
                dir.display(),
                manifest.shard.count
            );
        }
        match &plan {
            None => {
                plan = Some((
                    manifest.plan_hash.clone(),
                    manifest.shard.count,
                    dir.clone(),
                ));
                start_at = Some(manifest.start_at.clone());
            }
            Some((hash, count, first)) => {
                if start_at.as_ref() != Some(&manifest.start_at) {
                    bail!(
                        "'{}' started at {} and '{}' at {}: shards of different runs of one plan do not merge",
                        dir.display(),
                        manifest.start_at.as_deref().unwrap_or("(no --start-at)"),
                        first.display(),
                        start_at.clone().flatten().as_deref().unwrap_or("(no --start-at)")
                    );
                }
                if *hash != manifest.plan_hash {
                    bail!(
                        "'{}' is shard {index} of another plan (plan hash {}, '{}' has {hash}): only shards of one run merge",
                        dir.display(),
                        manifest.plan_hash,
                        first.display()
                    );
                }
                if *count != manifest.shard.count {
                    bail!(
                        "'{}' is shard {index} of {}, '{}' one of {count}",
                        dir.display(),
                        manifest.shard.count,
                        first.display()
                    );
                }
            }
        }
        if let Some(other) = seen.insert(index, dir.clone()) {
            bail!(
                "shard {index} is given twice: '{}' and '{}'",
                other.display(),
                dir.display()
            );
        }
        let why_not = |why: String| FailedShard {
            index: Some(index),
            dir: dir.display().to_string(),
            why,
        };
        let Some(result) = manifest.result.clone() else {
            failed.push(why_not(
                "it did not finish (shard.json says started: it stopped or is still running)"
                    .into(),
            ));
            continue;
        };
        match &dataset {
            None => dataset = Some((result.dataset_hash.clone(), dir.clone())),
            Some((hash, first)) if *hash != result.dataset_hash => bail!(
                "'{}' sent a different dataset than '{}' (inputs.json differs): the shards did not prepare the same plan",
                dir.display(),
                first.display()
            ),
            Some(_) => {}
        }
        // A non-zero exit code is itself a measurement (every request failed, an artifact
        // could not be written, an interrupt): its records count as they are.
        let path = dir.join(&result.records.file);
        if let Err(e) = MergeRecordReader::open(&path) {
            failed.push(why_not(e.to_string()));
            continue;
        }
        let trailer = merge_records::trailer_count(&path).map_err(|e| anyhow!("{e}"))?;
        if !result.records.complete || trailer != Some(result.records.count) {
            failed.push(why_not(format!(
                "its records file is incomplete ({}, shard.json counts {}): its whole records are merged",
                trailer.map_or("no trailer".to_string(), |n| format!("{n} in its trailer")),
                result.records.count
            )));
        }
        parts.push(Part {
            index,
            dir: dir.clone(),
            manifest,
            result,
        });
    }
    let Some((plan_hash, count, _)) = plan else {
        bail!(
            "no shard to merge: {}",
            failed
                .iter()
                .map(|f| f.why.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        );
    };
    let missing: Vec<u32> = (0..count).filter(|i| !seen.contains_key(i)).collect();
    if (!missing.is_empty() || !failed.is_empty()) && !opts.allow_partial {
        let mut why: Vec<String> = Vec::new();
        if !missing.is_empty() {
            why.push(format!("shard(s) {} not given", list(&missing)));
        }
        for f in &failed {
            let who = f
                .index
                .map_or(format!("'{}'", f.dir), |i| format!("shard {i}"));
            why.push(format!("{who}: {}", f.why));
        }
        bail!(
            "the run of {count} shard(s) cannot be merged whole ({}); --allow-partial merges the rest",
            why.join("; ")
        );
    }
    if parts.is_empty() {
        bail!("no shard to merge: every shard given failed");
    }
    parts.sort_by_key(|p| p.index);
    Ok(Selection {
        parts,
        count,
        plan_hash,
        missing,
        failed,
    })
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

fn list(xs: &[u32]) -> String {
    xs.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// The merged run's time base: every shard's offset to the reference clock, and the merged
/// run clock's zero and profiling start on it.
struct Frame {
    /// Per part (same order): ns to add to the shard's wall times.
    theta: Vec<i64>,
    /// Per part: ns to add to the shard's run-clock times (its clock's zero on the merged one).
    timeline_shift: Vec<u64>,
    /// The merged run clock's zero (wall ns, reference clock).
    anchor: u64,
    /// The earliest profiling start (wall ns, reference clock): timeslices count from it.
    origin: u64,
}

fn shifted(v: u64, by: i64) -> u64 {
    (v as i128 + by as i128).clamp(0, u64::MAX as i128) as u64
}

impl Frame {
    fn of(parts: &[Part]) -> anyhow::Result<Frame> {
        let theta: Vec<i64> = parts
            .iter()
            .map(|p| p.manifest.clock.as_ref().map_or(0, |c| c.offset_ns()))
            .collect();
        let starts: Vec<u64> = parts
            .iter()
            .zip(&theta)
            .map(|(p, t)| shifted(p.result.times.clock_wall_start_ns, *t))
            .collect();
        let anchor = starts.iter().copied().min().unwrap_or(0);
        let origins: Vec<u64> = parts
            .iter()
            .zip(&theta)
            .map(|(p, t)| shifted(p.result.times.profiling_origin_wall_ns, *t))
            .collect();
        let origin = origins.iter().copied().min().unwrap_or(0);
        let latest = origins.iter().copied().max().unwrap_or(0);
        if latest - origin > MAX_START_SPREAD_NS {
            let k = origins.iter().position(|o| *o == latest).unwrap_or(0);
            bail!(
                "shard {} started profiling {:.0} s after the first shard: not one run, or clocks far apart (--clock-reference measures them)",
                parts[k].index,
                (latest - origin) as f64 / 1e9
            );
        }
        Ok(Frame {
            timeline_shift: starts.iter().map(|s| s - anchor).collect(),
            theta,
            anchor,
            origin,
        })
    }

    fn wall(&self, k: usize, v: u64) -> u64 {
        shifted(v, self.theta[k])
    }
}

/// What folding every record produced.
struct Folded {
    accumulator: Accumulator,
    errors: HashMap<ErrorDetails, u64>,
    request_count: u64,
    error_count: u64,
    /// Records merged per part.
    merged: Vec<u64>,
    /// Per part: why its records file ended early, if it did.
    stream_errors: Vec<Option<String>>,
    jsonl_error: Option<String>,
}

/// One reader thread's messages.
enum Batch {
    Records(Vec<StoredRecord>),
    Failed(String),
}

/// Reads a part's records on its own thread, in batches, so decoding overlaps the fold.
fn reader(path: PathBuf) -> anyhow::Result<Receiver<Batch>> {
    let mut input = MergeRecordReader::open(&path)?;
    let (tx, rx) = sync_channel(BATCHES_IN_FLIGHT);
    std::thread::Builder::new()
        .name("merge-reader".into())
        .spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            for r in input.by_ref() {
                match r {
                    Ok(rec) => {
                        batch.push(rec);
                        if batch.len() == BATCH
                            && tx
                                .send(Batch::Records(std::mem::replace(
                                    &mut batch,
                                    Vec::with_capacity(BATCH),
                                )))
                                .is_err()
                        {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Batch::Records(std::mem::take(&mut batch)));
                        let _ = tx.send(Batch::Failed(e.to_string()));
                        return;
                    }
                }
            }
            let _ = tx.send(Batch::Records(batch));
            if !input.complete() {
                let _ = tx.send(Batch::Failed(
                    "the file ends before its trailer".to_string(),
                ));
            }
        })
        .context("spawning a merge reader thread")?;
    Ok(rx)
}

/// One part's stream of records, a batch at a time.
struct Stream {
    rx: Receiver<Batch>,
    head: VecDeque<StoredRecord>,
    done: bool,
    /// Why the file ended early, if it did.
    error: Option<String>,
}

impl Stream {
    /// The next record, or `None` at the end; a damaged file ends its stream with a warning
    /// (its whole records are merged).
    fn next(&mut self, dir: &Path) -> Option<StoredRecord> {
        loop {
            if let Some(r) = self.head.pop_front() {
                return Some(r);
            }
            if self.done {
                return None;
            }
            match self.rx.recv() {
                Ok(Batch::Records(b)) if !b.is_empty() => self.head = b.into(),
                Ok(Batch::Records(_)) => {}
                Ok(Batch::Failed(e)) => {
                    tracing::warn!("'{}': {e}; the records before it are merged", dir.display());
                    self.error = Some(e);
                    self.done = true;
                }
                Err(_) => self.done = true,
            }
        }
    }
}

/// Feeds every part's records to one accumulator, in the order one processor would have taken
/// them: by take time on the reference clock, then each shard's own order (ties across shards
/// go to the lower index). Writes the merged `profile_export.jsonl` on the way.
fn fold(parts: &[Part], frame: &Frame, output: &Path) -> anyhow::Result<Folded> {
    let settings = &parts[0].result;
    let mut accumulator = Accumulator::new(settings.applicability);
    match Spill::create_in(output) {
        Ok(spill) => accumulator = accumulator.with_spill(spill),
        Err(e) => tracing::warn!(
            "cannot create a metric spill file in '{}' ({e}); keeping every value in memory",
            output.display()
        ),
    }
    if let Some(text) = &settings.goodput {
        let goodput = Goodput::parse(text).map_err(|e| anyhow!("shard.json goodput: {e}"))?;
        accumulator = accumulator.with_goodput(goodput);
    }
    if let Some(width) = settings.slice_ns {
        accumulator = accumulator.with_timeslices(frame.origin, width);
    }
    let writer = RecordWriter::create(&output.join(RECORDS_FILE), settings.applicability)?;
    let (lines, jsonl) = jsonl_writer(writer)?;
    let mut batch = Vec::with_capacity(BATCH);
    let mut streams = Vec::with_capacity(parts.len());
    for p in parts {
        streams.push(Stream {
            rx: reader(p.dir.join(&p.result.records.file))?,
            head: VecDeque::new(),
            done: false,
            error: None,
        });
    }
    let key = |k: usize, r: &StoredRecord| (frame.wall(k, r.taken_wall_ns), r.seq, k);
    let mut heap = BinaryHeap::new();
    let mut pending: Vec<Option<StoredRecord>> = Vec::with_capacity(parts.len());
    for (k, s) in streams.iter_mut().enumerate() {
        let r = s.next(&parts[k].dir);
        if let Some(r) = &r {
            heap.push(Reverse(key(k, r)));
        }
        pending.push(r);
    }
    let mut errors = HashMap::new();
    let mut merged = vec![0u64; parts.len()];
    while let Some(Reverse((_, _, k))) = heap.pop() {
        let Some(rec) = pending[k].take() else {
            continue;
        };
        let next = streams[k].next(&parts[k].dir);
        if let Some(n) = &next {
            heap.push(Reverse(key(k, n)));
        }
        pending[k] = next;
        let shard = Shard {
            index: parts[k].index,
            count: parts[k].manifest.shard.count,
        };
        let line = corrected(rec, k, frame, shard);
        let start_wall = line.metadata.request_start_ns;
        match &line.error {
            None => accumulator.add_success(&line.values, start_wall),
            Some(e) => {
                accumulator.add_error(&line.values, start_wall);
                *errors.entry(e.clone()).or_insert(0) += 1;
            }
        }
        merged[k] += 1;
        batch.push(line);
        if batch.len() == BATCH {
            // A writer that stopped (a full disk) has said why; folding goes on.
            let _ = lines.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
        }
    }
    let _ = lines.send(batch);
    drop(lines);
    let jsonl_error = jsonl
        .join()
        .map_err(|_| anyhow!("the merged records writer panicked"))?;
    Ok(Folded {
        request_count: accumulator.request_count(),
        error_count: accumulator.error_count(),
        accumulator,
        errors,
        merged,
        stream_errors: streams.into_iter().map(|s| s.error).collect(),
        jsonl_error,
    })
}

/// The merged `profile_export.jsonl` written on its own thread (serializing a line costs more
/// than folding it), fed in batches; joins to the first write error, if any.
#[allow(clippy::type_complexity)]
fn jsonl_writer(
    mut writer: RecordWriter,
) -> anyhow::Result<(
    std::sync::mpsc::SyncSender<Vec<aiperf_export::RecordLine>>,
    std::thread::JoinHandle<Option<String>>,
)> {
    let (tx, rx) = sync_channel::<Vec<aiperf_export::RecordLine>>(BATCHES_IN_FLIGHT);
    let handle = std::thread::Builder::new()
        .name("merge-jsonl".into())
        .spawn(move || {
            for batch in rx {
                for line in &batch {
                    if let Err(e) = writer.write(line) {
                        return Some(format!(
                            "{e}; the merged records file keeps its first {} lines",
                            writer.lines()
                        ));
                    }
                }
            }
            writer.flush().err().map(|e| e.to_string())
        })
        .context("spawning the merged records writer")?;
    Ok((tx, handle))
}

/// A shard's record on the merged run's clocks, numbered as in the whole run.
fn corrected(
    rec: StoredRecord,
    k: usize,
    frame: &Frame,
    shard: Shard,
) -> aiperf_export::RecordLine {
    let mut line = rec.into_line();
    let m = &mut line.metadata;
    let wall = |v: u64| frame.wall(k, v);
    m.credit_issued_ns = wall(m.credit_issued_ns);
    m.intended_send_ns = m.intended_send_ns.map(wall);
    m.request_start_ns = wall(m.request_start_ns);
    m.request_ack_ns = m.request_ack_ns.map(wall);
    m.request_end_ns = wall(m.request_end_ns);
    if let Some(p) = &mut m.partial_response {
        p.response_head_ns = p.response_head_ns.map(wall);
        p.first_chunk_ns = p.first_chunk_ns.map(wall);
        p.last_chunk_ns = p.last_chunk_ns.map(wall);
    }
    m.profiling_index = shard.global(m.profiling_index);
    let by = frame.timeline_shift[k];
    if let Some((start, first, end)) = &mut line.values.timeline {
        *start += by;
        *first = first.map(|f| f + by);
        *end += by;
    }
    line
}

/// The merged run's report and its `shards` block.
fn report_of(
    sel: &Selection,
    frame: &Frame,
    folded: &Folded,
    output: &Path,
) -> (aiperf_export::RunReport, ShardsReport) {
    let parts = &sel.parts;
    let mut ctx = parts[0].result.report.clone();
    ctx.cli_command = crate::shard::whole_command(&ctx.cli_command);
    ctx.run_info.cli_command = ctx.cli_command.clone();
    ctx.input_config.artifacts.dir = output.to_path_buf();
    let mut summary = folded.accumulator.summarize();
    if !ctx.concurrency_mode {
        summary.steady_state = None;
    }
    let since_origin = |k: usize, v: u64| (frame.wall(k, v) as f64 - frame.origin as f64) / 1e9;
    let window = |pick: fn(&crate::shard::ShardLoad) -> f64| {
        parts
            .iter()
            .enumerate()
            .map(|(k, p)| {
                since_origin(k, p.result.times.profiling_origin_wall_ns) + pick(&p.result.load)
            })
            .fold(0.0, f64::max)
    };
    let lag: Vec<f64> = parts
        .iter()
        .flat_map(|p| p.result.load.event_loop_lag_ms.iter().copied())
        .collect();
    let cpus: Option<Vec<(Option<&str>, crate::report::CpuUsage)>> = parts
        .iter()
        .map(|p| p.result.load.cpu.map(|c| (p.result.host.as_deref(), c)))
        .collect();
    let input = LoadInput {
        open_loop: ctx.open_loop,
        requested_rate: ctx.requested_rate,
        sent: parts.iter().map(|p| p.result.load.sent).sum(),
        intended_window_s: window(|l| l.intended_window_s),
        actual_window_s: window(|l| l.actual_window_s),
        event_loop_lag_ms: &lag,
        backlog_pauses: parts.iter().map(|p| p.result.load.backlog_pauses).sum(),
        backlog_paused_s: parts.iter().map(|p| p.result.load.backlog_paused_s).sum(),
        backlog_high: crate::backlog::HIGH,
        cpu: cpus.map(|c| load::CpuUsage {
            cpu_s: c.iter().map(|(_, u)| u.cpu_s).sum(),
            wall_s: c.iter().map(|(_, u)| u.wall_s).fold(0.0, f64::max),
            cores: cores_once_per_host(&c),
        }),
    };
    let analysis = load::analyze(&summary, &input);
    let cancelled: Vec<u32> = parts
        .iter()
        .filter(|p| p.result.was_cancelled)
        .map(|p| p.index)
        .collect();
    let partial = !sel.missing.is_empty() || !sel.failed.is_empty();
    let incomplete_reason = if !cancelled.is_empty() {
        let why: Vec<String> = parts
            .iter()
            .filter(|p| p.result.was_cancelled)
            .map(|p| {
                let reason = p.result.incomplete_reason.as_deref();
                format!("shard {}: {}", p.index, reason.unwrap_or(USER_CANCEL))
            })
            .collect();
        Some(why.join("; "))
    } else if partial {
        Some(format!(
            "partial merge: {} of {} shards merged",
            parts.len(),
            sel.count
        ))
    } else {
        None
    };
    let end = parts
        .iter()
        .enumerate()
        .map(|(k, p)| frame.wall(k, p.result.times.end_wall_ns))
        .max()
        .unwrap_or(frame.anchor);
    let mut rep = report::assemble(
        &ctx,
        Measured {
            summary,
            errors: folded.errors.clone(),
            was_cancelled: !cancelled.is_empty(),
            incomplete_reason,
            start_time: report::iso_of_wall_ns(frame.anchor),
            end_time: report::iso_of_wall_ns(end),
        },
        &analysis,
    );
    rep.client_bound = merged_verdict(rep.client_bound, parts);
    (rep, shards_report(sel, frame, partial))
}

/// The cores the shards had: shards on one host share its cores (a shard of unknown host is
/// counted on its own).
fn cores_once_per_host(cpus: &[(Option<&str>, crate::report::CpuUsage)]) -> usize {
    let mut per_host: HashMap<&str, usize> = HashMap::new();
    let mut unknown = 0;
    for (host, u) in cpus {
        match host {
            Some(h) => {
                let c = per_host.entry(h).or_insert(0);
                *c = (*c).max(u.cores);
            }
            None => unknown += u.cores,
        }
    }
    per_host.values().sum::<usize>() + unknown
}

/// The merged run's verdict, with every shard's own reasons: one shard held back by its CPU
/// limited the run even when the totals look fine.
fn merged_verdict(mut bound: ClientBound, parts: &[Part]) -> ClientBound {
    for p in parts {
        let own = &p.result.load.client_bound;
        if let Some(reasons) = own.get("reasons").and_then(|r| r.as_array()) {
            for r in reasons.iter().filter_map(|r| r.as_str()) {
                bound.reasons.push(format!("shard {}: {r}", p.index));
            }
        }
        if own.get("verdict").and_then(|v| v.as_bool()) == Some(true) {
            bound.verdict = true;
        }
    }
    bound
}

fn shards_report(sel: &Selection, frame: &Frame, partial: bool) -> ShardsReport {
    let parts = &sel.parts;
    let clocks: Vec<Option<&crate::shard::ClockEstimate>> =
        parts.iter().map(|p| p.manifest.clock.as_ref()).collect();
    let measured = clocks.iter().all(|c| c.is_some());
    let mut uncertainties: Vec<u64> = clocks
        .iter()
        .flatten()
        .map(|c| c.uncertainty_ns())
        .collect();
    uncertainties.sort_unstable_by(|a, b| b.cmp(a));
    let ms = |ns: f64| ns / 1e6;
    let clock = ClockAgreement {
        measured,
        reference: clocks
            .iter()
            .flatten()
            .map(|c| c.reference.clone())
            .find(|r| !r.is_empty()),
        max_pair_uncertainty_ms: measured
            .then(|| ms(uncertainties.iter().take(2).sum::<u64>() as f64)),
        note: (!measured).then(|| {
            "clock offsets not measured (no --clock-reference, or the reference did not answer); times assume the machines' clocks agree".to_string()
        }),
    };
    let per_shard = parts
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let c = p.manifest.clock.as_ref();
            let r = &p.result;
            ShardEntry {
                index: p.index,
                dir: p.dir.display().to_string(),
                requests: r.records.requests,
                errors: r.records.errors,
                sent: r.load.sent,
                exit_code: r.exit_code,
                records_complete: r.records.complete,
                start_lateness_ms: p.manifest.start_lateness_ms,
                phase_start_offset_ms: ms(
                    frame.wall(k, r.times.profiling_origin_wall_ns) as f64 - frame.origin as f64
                ),
                clock_offset_ms: c.map(|c| ms(c.offset_ns() as f64)),
                clock_uncertainty_ms: c.map(|c| ms(c.uncertainty_ns() as f64)),
                clock_drift_ms: c.and_then(|c| c.after.map(|_| ms(c.drift_ns() as f64))),
                load_report: r.load.load_report.clone(),
                client_bound: r.load.client_bound.clone(),
            }
        })
        .collect();
    ShardsReport {
        count: sel.count,
        merged: parts.iter().map(|p| p.index).collect(),
        missing: sel.missing.clone(),
        failed: sel.failed.clone(),
        partial,
        plan_hash: sel.plan_hash.clone(),
        clock,
        server_metrics: None,
        per_shard,
    }
}

/// Copies the files every shard has whole (`inputs.json`: the same on every shard of a plan)
/// and, for now, the first shard's server-metrics and GPU files (re-aggregating them over the
/// merged window needs the raw scrapes). Returns the names copied.
fn copy_run_files(from: &Path, to: &Path) -> Vec<String> {
    use aiperf_export::gpu_telemetry as gpu;
    use aiperf_export::server_metrics as sm;
    let names = [
        INPUTS_FILE,
        sm::SERVER_METRICS_JSON_FILE,
        sm::SERVER_METRICS_CSV_FILE,
        sm::SERVER_METRICS_JSONL_FILE,
        aiperf_export::server_metrics_parquet::SERVER_METRICS_PARQUET_FILE,
        gpu::GPU_TELEMETRY_JSON_FILE,
        gpu::GPU_TELEMETRY_CSV_FILE,
        gpu::GPU_TELEMETRY_JSONL_FILE,
    ];
    let mut copied = Vec::new();
    for name in names {
        let src = from.join(name);
        if !src.is_file() {
            continue;
        }
        match std::fs::copy(&src, to.join(name)) {
            Ok(_) => copied.push(name.to_string()),
            Err(e) => tracing::warn!("cannot copy '{}': {e}", src.display()),
        }
    }
    copied
}

/// One console line per shard, under the tables.
fn shard_lines(s: &ShardsReport) -> String {
    let mut out = format!(
        "Merged {} of {} shard(s) (plan {}){}\n",
        s.merged.len(),
        s.count,
        s.plan_hash,
        if s.partial { ", PARTIAL" } else { "" }
    );
    for e in &s.per_shard {
        let clock = match (e.clock_offset_ms, e.clock_uncertainty_ms) {
            (Some(o), Some(u)) => format!("clock {o:+.3} ms ± {u:.3} ms"),
            _ => "clock not measured".to_string(),
        };
        out.push_str(&format!(
            "  shard {}: {} requests, {} errors, started {:+.1} ms, {clock}{}\n",
            e.index,
            e.requests,
            e.errors,
            e.phase_start_offset_ms,
            if e.client_bound.get("verdict").and_then(|v| v.as_bool()) == Some(true) {
                ", client-bound"
            } else {
                ""
            }
        ));
    }
    for f in &s.missing {
        out.push_str(&format!("  shard {f}: missing\n"));
    }
    for f in &s.failed {
        let who = f.index.map_or(f.dir.clone(), |i| format!("shard {i}"));
        out.push_str(&format!("  {who}: {}\n", f.why));
    }
    if let Some(note) = &s.clock.note {
        out.push_str(&format!("  {note}\n"));
    }
    out
}
