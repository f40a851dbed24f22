//! `baseten_trace`: Baseten completion traces, a Parquet (`.parquet`) or Arrow IPC (`.arrow`,
//! `.ipc`) table with one recorded request per row.
//!
//! Columns (as AIPerf's `BasetenTrace`): `timestamp_start_unix_ms`, `prompt` (the literal
//! prompt, sent as it is), `input_tokens`, `output_tokens` required; `total_hashes` (KV-cache
//! block hashes), `block_size`, `duration_e2e_ms`, and a session column
//! (`provided_session_id`, else `poor_man_session_id`; `AIPERF_DATASET_BASETEN_SESSION_COLUMN`
//! picks which is tried first) optional. Other columns are ignored.
//!
//! Replay, as AIPerf's `BasetenTraceDatasetLoader` (the only loader that reads the replay
//! flags, see [`crate::replay`]): times are shifted so the earliest row is 0 and divided by
//! `--replay-speedup`; rows of one session are one conversation in time order (rows without a
//! session are each their own), sessions ordered by first time; a turn sends its recorded prompt
//! alone (the earlier turns are not added as history, as in AIPerf 0.13). Open loop (the default): every
//! turn keeps its time (a later turn goes at max(its time, the previous answer));
//! `--open-loop-strict` makes every row its own session; `--no-open-loop-replay` turns later
//! turns into think times after the previous answer. The request asks for the recorded output
//! length (0 becomes 1) as `max_tokens` and, unless `--no-force-min-tokens`, `min_tokens`; the
//! KV hints `hash_ids` / `block_size` are sent unless `--omit-kv-hints`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use aiperf_core::{Conversation, Turn};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use serde_json::{Map, Value};

use super::{LoadContext, LoadError, Probe};
use crate::replay::{self, Recorded, ReplayOptions};

const TIME: &str = "timestamp_start_unix_ms";
const SESSION: &str = "provided_session_id";
const POOR_MAN_SESSION: &str = "poor_man_session_id";
const REQUIRED: [&str; 4] = [TIME, "prompt", "input_tokens", "output_tokens"];
const OPTIONAL: [&str; 3] = ["total_hashes", "block_size", "duration_e2e_ms"];

fn is_arrow_ipc(path: &Path) -> bool {
    extension(path).is_some_and(|x| x == "arrow" || x == "ipc")
}

fn extension(path: &Path) -> Option<String> {
    path.extension().map(|x| x.to_string_lossy().to_lowercase())
}

/// The column names of the table at `path`.
fn schema(path: &Path) -> Result<SchemaRef, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    if is_arrow_ipc(path) {
        let reader = arrow_ipc::reader::FileReader::try_new(file, None)
            .map_err(|e| format!("not an Arrow IPC file: {e}"))?;
        return Ok(reader.schema());
    }
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| format!("not a Parquet file: {e}"))?;
    Ok(builder.schema().clone())
}

/// AIPerf's `can_load`: a `.parquet`, `.arrow` or `.ipc` file whose schema has the required
/// columns.
pub fn can_load(probe: &Probe) -> bool {
    if probe.is_dir
        || !extension(&probe.path)
            .is_some_and(|x| matches!(x.as_str(), "parquet" | "arrow" | "ipc"))
    {
        return false;
    }
    schema(&probe.path).is_ok_and(|s| REQUIRED.iter().all(|c| s.field_with_name(c).is_ok()))
}

/// The session column: the configured one if present, else the other.
fn session_column(schema: &SchemaRef) -> Option<&'static str> {
    let configured = match std::env::var("AIPERF_DATASET_BASETEN_SESSION_COLUMN").as_deref() {
        Ok(POOR_MAN_SESSION) => POOR_MAN_SESSION,
        _ => SESSION,
    };
    let fallback = if configured == SESSION {
        POOR_MAN_SESSION
    } else {
        SESSION
    };
    [configured, fallback]
        .into_iter()
        .find(|c| schema.field_with_name(c).is_ok())
}

/// Every record batch of the table, with only `columns`.
fn batches(path: &Path, columns: &[&str]) -> Result<Vec<RecordBatch>, LoadError> {
    let fail = |e: String| LoadError::file(path, e);
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let project = |batch: RecordBatch| -> Result<RecordBatch, LoadError> {
        let schema = batch.schema();
        let idx: Vec<usize> = columns
            .iter()
            .filter_map(|c| schema.index_of(c).ok())
            .collect();
        batch.project(&idx).map_err(|e| fail(e.to_string()))
    };
    if is_arrow_ipc(path) {
        let reader = arrow_ipc::reader::FileReader::try_new(file, None)
            .map_err(|e| fail(format!("not an Arrow IPC file: {e}")))?;
        return reader
            .map(|b| b.map_err(|e| fail(e.to_string())).and_then(project))
            .collect();
    }
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| fail(format!("not a Parquet file: {e}")))?;
    let schema = builder.schema().clone();
    let roots: Vec<usize> = columns
        .iter()
        .filter_map(|c| schema.index_of(c).ok())
        .collect();
    let mask = parquet::arrow::ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(1024)
        .build()
        .map_err(|e| fail(e.to_string()))?;
    reader
        .map(|b| b.map_err(|e| fail(e.to_string())).and_then(project))
        .collect()
}

/// One cell as JSON (`Null` when null), for the types trace columns use.
fn cell(col: &ArrayRef, i: usize) -> Result<Value, String> {
    if col.is_null(i) {
        return Ok(Value::Null);
    }
    let list = |values: ArrayRef| -> Result<Value, String> {
        (0..values.len())
            .map(|j| cell(&values, j))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
    };
    Ok(match col.data_type() {
        DataType::Int8 => col.as_primitive::<Int8Type>().value(i).into(),
        DataType::Int16 => col.as_primitive::<Int16Type>().value(i).into(),
        DataType::Int32 => col.as_primitive::<Int32Type>().value(i).into(),
        DataType::Int64 => col.as_primitive::<Int64Type>().value(i).into(),
        DataType::UInt8 => col.as_primitive::<UInt8Type>().value(i).into(),
        DataType::UInt16 => col.as_primitive::<UInt16Type>().value(i).into(),
        DataType::UInt32 => col.as_primitive::<UInt32Type>().value(i).into(),
        DataType::UInt64 => col.as_primitive::<UInt64Type>().value(i).into(),
        DataType::Float32 => f64::from(
            col.as_primitive::<arrow_array::types::Float32Type>()
                .value(i),
        )
        .into(),
        DataType::Float64 => col
            .as_primitive::<arrow_array::types::Float64Type>()
            .value(i)
            .into(),
        DataType::Boolean => col.as_boolean().value(i).into(),
        DataType::Utf8 => col.as_string::<i32>().value(i).into(),
        DataType::LargeUtf8 => col.as_string::<i64>().value(i).into(),
        DataType::Utf8View => col.as_string_view().value(i).into(),
        DataType::List(_) => list(col.as_list::<i32>().value(i))?,
        DataType::LargeList(_) => list(col.as_list::<i64>().value(i))?,
        other => return Err(format!("unsupported column type {other}")),
    })
}

/// One validated row.
#[derive(Debug, Clone)]
struct Row {
    time: i64,
    prompt: String,
    input_tokens: i64,
    output_tokens: i64,
    hashes: Vec<i64>,
    block_size: Option<i64>,
    e2e_ms: Option<i64>,
    session: Option<String>,
}

/// A non-negative integer field (an integral float is accepted, as pydantic does).
fn non_negative(row: &Map<String, Value>, name: &str) -> Result<Option<i64>, String> {
    let v = match row.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    let n = v
        .as_i64()
        .or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                .map(|f| f as i64)
        })
        .ok_or_else(|| format!("'{name}' must be an integer, got {v}"))?;
    if n < 0 {
        return Err(format!("'{name}' must be >= 0, got {n}"));
    }
    Ok(Some(n))
}

fn required(row: &Map<String, Value>, name: &str) -> Result<i64, String> {
    non_negative(row, name)?.ok_or_else(|| format!("'{name}' is required"))
}

/// AIPerf's `BasetenTrace` rules for one row.
fn row(r: &Map<String, Value>, session_key: Option<&str>) -> Result<Row, String> {
    let prompt = match r.get("prompt") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => return Err("'prompt' is required".into()),
        Some(v) => return Err(format!("'prompt' must be a string, got {v}")),
    };
    let hashes = match r.get("total_hashes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|h| match h.as_i64() {
                Some(n) if n >= 0 => Ok(n),
                _ => Err(format!("'total_hashes' must hold integers >= 0, got {h}")),
            })
            .collect::<Result<_, _>>()?,
        Some(v) => return Err(format!("'total_hashes' must be a list, got {v}")),
    };
    let block_size = non_negative(r, "block_size")?;
    if block_size == Some(0) {
        return Err("'block_size' must be > 0, got 0".into());
    }
    let session = match session_key.and_then(|k| r.get(k)) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => Some(
            v.as_i64()
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    format!(
                        "'{}' must be a string or an integer >= 0, got {v}",
                        session_key.unwrap_or_default()
                    )
                })?
                .to_string(),
        ),
    };
    Ok(Row {
        time: required(r, TIME)?,
        prompt,
        input_tokens: required(r, "input_tokens")?,
        output_tokens: required(r, "output_tokens")?,
        hashes,
        block_size,
        e2e_ms: non_negative(r, "duration_e2e_ms")?,
        session,
    })
}

/// Every row of the table, validated (`file:row: reason` on the first bad one).
fn read_rows(path: &Path) -> Result<(Vec<Row>, Option<&'static str>), LoadError> {
    let schema = schema(path).map_err(|e| LoadError::file(path, e))?;
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| schema.field_with_name(c).is_err())
        .collect();
    if !missing.is_empty() {
        return Err(LoadError::file(
            path,
            format!(
                "not a baseten trace: missing required column(s) {}",
                missing.join(", ")
            ),
        ));
    }
    let session_key = session_column(&schema);
    let mut columns: Vec<&str> = REQUIRED.iter().chain(OPTIONAL.iter()).copied().collect();
    columns.extend(session_key);
    let mut rows = Vec::new();
    for batch in batches(path, &columns)? {
        let schema: Arc<arrow_schema::Schema> = batch.schema();
        for i in 0..batch.num_rows() {
            let line = rows.len() + 1;
            let err = |reason: String| LoadError::Line {
                path: path.display().to_string(),
                line,
                reason,
            };
            let mut r = Map::new();
            for (field, col) in schema.fields().iter().zip(batch.columns()) {
                let v = cell(col, i).map_err(|e| err(format!("'{}': {e}", field.name())))?;
                r.insert(field.name().clone(), v);
            }
            rows.push(row(&r, session_key).map_err(err)?);
        }
    }
    Ok((rows, session_key))
}

/// A row on its way to a turn: its replay time (ms, `None` once it is a think time).
struct Item {
    row: Row,
    time: Option<f64>,
    delay: Option<f64>,
}

/// Keeps whole sessions (and session-less rows) at `--trace-session-sample-ratio`.
fn sample(rows: Vec<Row>, has_sessions: bool, ratio: f64, seed: u64) -> Vec<Row> {
    if !has_sessions {
        tracing::warn!(
            "trace_session_sample_ratio requested, but neither provided_session_id nor \
             poor_man_session_id exists; skipping sampling."
        );
        return rows;
    }
    let mut first: HashMap<&str, i64> = HashMap::new();
    let mut sessionless = 0;
    for r in &rows {
        match &r.session {
            Some(s) => {
                let t = first.entry(s).or_insert(r.time);
                *t = (*t).min(r.time);
            }
            None => sessionless += 1,
        }
    }
    let sessions: Vec<(f64, String)> = first
        .iter()
        .map(|(s, t)| (*t as f64, s.to_string()))
        .collect();
    let (kept, kept_rows) = replay::sample_sessions(&sessions, sessionless, ratio, seed);
    tracing::info!(
        "Sampled {} of {} sessions and {} of {} null-session rows with trace_session_sample_ratio={ratio}",
        kept.len(),
        sessions.len(),
        kept_rows.iter().filter(|k| **k).count(),
        sessionless
    );
    let mut ordinal = 0;
    rows.into_iter()
        .filter(|r| match &r.session {
            Some(s) => kept.contains(s),
            None => {
                ordinal += 1;
                kept_rows[ordinal - 1]
            }
        })
        .collect()
}

/// Rows grouped by session (a session-less row alone), each in time order, sessions by
/// (first time, id).
fn group(items: Vec<Item>) -> Vec<(String, Vec<Item>)> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<(String, Vec<Item>)> = Vec::new();
    let mut generated = 0usize;
    for item in items {
        let id = match &item.row.session {
            Some(s) => s.clone(),
            None => {
                generated += 1;
                format!("session_{:06}", generated - 1)
            }
        };
        let i = *index.entry(id.clone()).or_insert_with(|| {
            groups.push((id, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(item);
    }
    let key = |it: &Item| it.time.unwrap_or(0.0).trunc() as i64;
    for (_, items) in &mut groups {
        items.sort_by_key(key);
    }
    groups.sort_by(|a, b| {
        let first = |g: &[Item]| g.iter().map(key).min().unwrap_or(0);
        first(&a.1).cmp(&first(&b.1)).then_with(|| a.0.cmp(&b.0))
    });
    groups
}

/// Shortens idle gaps among the items that still have a time.
fn cap_idle_gaps<'a>(items: impl Iterator<Item = &'a mut Item>, cap_ms: f64) {
    let mut timed: Vec<&mut Item> = items.filter(|i| i.time.is_some()).collect();
    let times: Vec<f64> = timed.iter().map(|i| i.time.unwrap_or(0.0)).collect();
    for (item, t) in timed
        .iter_mut()
        .zip(replay::reflow_idle_gaps(&times, cap_ms))
    {
        item.time = Some(t);
    }
}

/// A row's output length after `--synthesis-output-len-multiplier` and `--synthesis-max-osl`
/// (AIPerf: the floor of 1 first, then the Synthesizer's rounding, then the cap).
fn synthesized_output(output_tokens: i64, params: &crate::synthesis::SynthesisParams) -> i64 {
    let mut n = output_tokens.max(1);
    if params.output_len_multiplier != 1.0 {
        n = ((n as f64 * params.output_len_multiplier).round_ties_even() as i64).max(1);
    }
    match params.max_osl {
        Some(cap) => n.min(i64::try_from(cap).unwrap_or(i64::MAX)),
        None => n,
    }
}

/// The per-turn body fields: `min_tokens` and the KV hints.
fn request_body(row: &Row, output_length: u32, opts: &ReplayOptions) -> Option<Map<String, Value>> {
    let mut body = Map::new();
    if opts.force_min_tokens {
        body.insert("min_tokens".into(), output_length.into());
    }
    if !opts.omit_kv_hints {
        if !row.hashes.is_empty() {
            body.insert("hash_ids".into(), row.hashes.clone().into());
        }
        if let Some(b) = row.block_size {
            body.insert("block_size".into(), b.into());
        }
    }
    (!body.is_empty()).then_some(body)
}

fn turn(item: Item, opts: &ReplayOptions) -> Turn {
    let output_length = item.row.output_tokens.clamp(1, u32::MAX as i64) as u32;
    Turn {
        extra: request_body(&item.row, output_length, opts),
        texts: vec![item.row.prompt],
        max_tokens: Some(output_length),
        timestamp_ms: item.time,
        delay_ms: item.delay,
        ..Default::default()
    }
}

pub fn load(path: &Path, ctx: &LoadContext<'_>) -> Result<Vec<Conversation>, LoadError> {
    let opts = &ctx.replay;
    let (mut rows, session_key) = read_rows(path)?;
    let mut max_isl = crate::synthesis::MaxIslFilter::new(&ctx.synthesis);
    rows.retain(|r| max_isl.keeps(Some(r.input_tokens.max(0) as u64)));
    max_isl.report();
    // Of `--synthesis-*`, only the output length applies (the configuration refuses the rest):
    // the recorded prompt and its KV hints go out as they are.
    for r in &mut rows {
        r.output_tokens = synthesized_output(r.output_tokens, &ctx.synthesis);
    }
    let Some(zero) = rows.iter().map(|r| r.time).min() else {
        return Ok(Vec::new());
    };
    if let Some(ratio) = opts.session_sample_ratio.filter(|r| *r < 1.0) {
        rows = sample(rows, session_key.is_some(), ratio, ctx.seed);
    }
    let mut items: Vec<Item> = rows
        .into_iter()
        .map(|row| Item {
            time: Some((row.time - zero) as f64 / opts.speedup),
            delay: None,
            row,
        })
        .collect();
    // Open loop caps gaps between all rows; closed loop only between session starts, after
    // the think times are taken from the recorded gaps.
    if let (true, Some(cap)) = (opts.open_loop, opts.max_idle_gap_cap_ms) {
        cap_idle_gaps(items.iter_mut(), cap);
    }
    let mut sessions = group(items);
    if opts.open_loop && opts.open_loop_strict {
        sessions = sessions
            .into_iter()
            .flat_map(|(id, items)| {
                items
                    .into_iter()
                    .enumerate()
                    .map(move |(i, item)| (format!("{id}#{i}"), vec![item]))
            })
            .collect();
    } else if !opts.open_loop {
        for (_, items) in &mut sessions {
            let recorded: Vec<Recorded> = items
                .iter()
                .map(|i| Recorded {
                    start_ms: i.time.unwrap_or(0.0),
                    e2e_ms: i.row.e2e_ms.map(|e| e as f64),
                })
                .collect();
            let delays =
                replay::back_pressure(&recorded, opts.speedup, opts.inter_turn_delay_cap_ms);
            for (item, delay) in items.iter_mut().zip(delays).skip(1) {
                item.delay = delay;
                item.time = None;
            }
        }
        if let Some(cap) = opts.max_idle_gap_cap_ms {
            cap_idle_gaps(
                sessions.iter_mut().flat_map(|(_, items)| items.iter_mut()),
                cap,
            );
        }
    }
    Ok(sessions
        .into_iter()
        .map(|(session_id, items)| Conversation {
            session_id,
            turns: items.into_iter().map(|i| turn(i, opts)).collect(),
            // A recorded prompt is the whole prompt the server saw: AIPerf 0.13 sends each
            // turn alone, without the session's earlier turns.
            independent_turns: true,
            ..Default::default()
        })
        .collect())
}

/// Writes a baseten trace Parquet file (tests and fixtures): one row per
/// `(time, session, prompt, input_tokens, output_tokens, total_hashes, duration_e2e_ms)`.
#[doc(hidden)]
#[allow(clippy::type_complexity)]
pub fn write_parquet(
    path: &Path,
    rows: &[(i64, Option<&str>, &str, i64, i64, Vec<i64>, Option<i64>)],
) -> std::io::Result<()> {
    write_parquet_compressed(path, rows, parquet::basic::Compression::SNAPPY)
}

/// [`write_parquet`] with another codec (the reader takes Snappy, zstd and gzip).
#[doc(hidden)]
#[allow(clippy::type_complexity)]
pub fn write_parquet_compressed(
    path: &Path,
    rows: &[(i64, Option<&str>, &str, i64, i64, Vec<i64>, Option<i64>)],
    compression: parquet::basic::Compression,
) -> std::io::Result<()> {
    use arrow_array::builder::{Int64Builder, ListBuilder};
    use arrow_array::{Int64Array, StringArray};
    let mut hashes = ListBuilder::new(Int64Builder::new());
    for r in rows {
        hashes.values().append_slice(&r.5);
        hashes.append(true);
    }
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            TIME,
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
        ),
        (
            SESSION,
            Arc::new(StringArray::from_iter(rows.iter().map(|r| r.1))),
        ),
        (
            "prompt",
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2))),
        ),
        (
            "input_tokens",
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.3))),
        ),
        (
            "output_tokens",
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.4))),
        ),
        ("total_hashes", Arc::new(hashes.finish())),
        (
            "duration_e2e_ms",
            Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.6))),
        ),
    ];
    let batch = RecordBatch::try_from_iter(columns).map_err(std::io::Error::other)?;
    let file = std::fs::File::create(path)?;
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(compression)
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props))
        .map_err(std::io::Error::other)?;
    w.write(&batch).map_err(std::io::Error::other)?;
    w.close().map_err(std::io::Error::other)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Corpus;
    use crate::loader::test_util::context;
    use crate::TextTokenizer;
    use serde_json::json;

    type R = (
        i64,
        Option<&'static str>,
        &'static str,
        i64,
        i64,
        Vec<i64>,
        Option<i64>,
    );

    /// Session a: rows at 1_000_000 (e2e 300) and 1_002_000; session b at 1_001_000 and
    /// 1_011_000; a session-less row at 1_000_500 (0 output tokens).
    fn trace() -> Vec<R> {
        vec![
            (1_002_000, Some("a"), "a2", 9, 4, vec![1, 2, 3], None),
            (1_000_000, Some("a"), "a1", 5, 3, vec![1, 2], Some(300)),
            (1_001_000, Some("b"), "b1", 5, 2, vec![], Some(100)),
            (1_011_000, Some("b"), "b2", 5, 2, vec![7], None),
            (1_000_500, None, "solo", 5, 0, vec![], None),
        ]
    }

    fn load_with(rows: &[R], opts: ReplayOptions) -> Result<Vec<Conversation>, LoadError> {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus { tokens: vec![] };
        let mut ctx = context(&t, &c);
        ctx.replay = opts;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.parquet");
        write_parquet(&p, rows).unwrap();
        assert!(can_load(&Probe::read(&p)));
        load(&p, &ctx)
    }

    /// `(session, [(prompt, time, delay)])` per conversation.
    type Shape = Vec<(String, Vec<(String, Option<f64>, Option<f64>)>)>;

    fn shape(convs: &[Conversation]) -> Shape {
        convs
            .iter()
            .map(|c| {
                (
                    c.session_id.clone(),
                    c.turns
                        .iter()
                        .map(|t| (t.texts[0].clone(), t.timestamp_ms, t.delay_ms))
                        .collect(),
                )
            })
            .collect()
    }

    fn s(x: &str) -> String {
        x.to_string()
    }

    /// `--synthesis-max-isl` 5 drops a2 (9 input tokens); outputs x 2.5 rounded, capped at 6.
    #[test]
    fn synthesis_scales_outputs_and_skips_long_inputs() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus { tokens: vec![] };
        let mut ctx = context(&t, &c);
        ctx.synthesis.max_isl = Some(5);
        ctx.synthesis.output_len_multiplier = 2.5;
        ctx.synthesis.max_osl = Some(6);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.parquet");
        write_parquet(&p, &trace()).unwrap();
        let convs = load(&p, &ctx).unwrap();
        let got: Vec<(String, Vec<Option<u32>>)> = convs
            .iter()
            .map(|c| {
                (
                    c.session_id.clone(),
                    c.turns.iter().map(|t| t.max_tokens).collect(),
                )
            })
            .collect();
        // a1: 3 x 2.5 = 7.5 -> 8 -> capped 6; b: 2 x 2.5 = 5; solo: 0 -> 1 -> 2.5 -> 2
        // (Python's round() takes halves to even).
        assert_eq!(got[0], (s("a"), vec![Some(6)]));
        assert_eq!(got[2], (s("b"), vec![Some(5), Some(5)]));
        assert_eq!(got[1].1, vec![Some(2)]);
    }

    #[test]
    fn zstd_and_gzip_parquet_read_as_snappy_does() {
        use parquet::basic::{Compression, GzipLevel, ZstdLevel};
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus { tokens: vec![] };
        let ctx = context(&t, &c);
        let dir = tempfile::tempdir().unwrap();
        let want = shape(&load_with(&trace(), ReplayOptions::default()).unwrap());
        for (name, codec) in [
            ("zstd", Compression::ZSTD(ZstdLevel::default())),
            ("gzip", Compression::GZIP(GzipLevel::default())),
        ] {
            let p = dir.path().join(format!("{name}.parquet"));
            write_parquet_compressed(&p, &trace(), codec).unwrap();
            assert_eq!(shape(&load(&p, &ctx).unwrap()), want, "{name}");
        }
    }

    #[test]
    fn open_loop_keeps_every_recorded_time_and_sends_hints() {
        let convs = load_with(&trace(), ReplayOptions::default()).unwrap();
        assert_eq!(
            shape(&convs),
            [
                (
                    s("a"),
                    vec![(s("a1"), Some(0.0), None), (s("a2"), Some(2000.0), None)]
                ),
                (s("session_000000"), vec![(s("solo"), Some(500.0), None)]),
                (
                    s("b"),
                    vec![
                        (s("b1"), Some(1000.0), None),
                        (s("b2"), Some(11000.0), None)
                    ]
                ),
            ]
        );
        let a2 = &convs[0].turns[1];
        assert_eq!(a2.max_tokens, Some(4));
        assert_eq!(
            Value::Object(a2.extra.clone().unwrap()),
            json!({"min_tokens": 4, "hash_ids": [1, 2, 3]})
        );
        // Zero recorded output tokens ask for 1.
        assert_eq!(convs[1].turns[0].max_tokens, Some(1));
        assert!(
            convs[0].independent_turns,
            "a recorded prompt is sent alone, as AIPerf does"
        );
    }

    #[test]
    fn speedup_gap_cap_and_strict_rewrite_times() {
        let opts = ReplayOptions {
            speedup: 10.0,
            max_idle_gap_cap_ms: Some(300.0),
            ..Default::default()
        };
        // /10: a 0, 200; solo 50; b 100, 1100 -> gaps capped at 300: b2 = 200 + 300 = 500.
        assert_eq!(
            shape(&load_with(&trace(), opts).unwrap()),
            [
                (
                    s("a"),
                    vec![(s("a1"), Some(0.0), None), (s("a2"), Some(200.0), None)]
                ),
                (s("session_000000"), vec![(s("solo"), Some(50.0), None)]),
                (
                    s("b"),
                    vec![(s("b1"), Some(100.0), None), (s("b2"), Some(500.0), None)]
                ),
            ]
        );
        let strict = ReplayOptions {
            open_loop_strict: true,
            omit_kv_hints: true,
            force_min_tokens: false,
            ..Default::default()
        };
        let convs = load_with(&trace(), strict).unwrap();
        let ids: Vec<&str> = convs.iter().map(|c| c.session_id.as_str()).collect();
        assert_eq!(ids, ["a#0", "a#1", "session_000000#0", "b#0", "b#1"]);
        assert!(convs.iter().all(|c| c.turns[0].extra.is_none()));
    }

    #[test]
    fn closed_loop_turns_later_turns_into_think_times() {
        let opts = ReplayOptions {
            open_loop: false,
            max_idle_gap_cap_ms: Some(200.0),
            ..Default::default()
        };
        // a2: 2000 - 0 - 300 = 1700 after a1's answer; b2: 10000 - 100 = 9900, no cap on
        // think times; session starts 0, 500, 1000 capped to gaps of 200: 0, 200, 400.
        assert_eq!(
            shape(&load_with(&trace(), opts.clone()).unwrap()),
            [
                (
                    s("a"),
                    vec![(s("a1"), Some(0.0), None), (s("a2"), None, Some(1700.0))]
                ),
                (s("session_000000"), vec![(s("solo"), Some(200.0), None)]),
                (
                    s("b"),
                    vec![(s("b1"), Some(400.0), None), (s("b2"), None, Some(9900.0))]
                ),
            ]
        );
        let capped = ReplayOptions {
            inter_turn_delay_cap_ms: Some(5000.0),
            max_idle_gap_cap_ms: None,
            ..opts
        };
        let convs = load_with(&trace(), capped).unwrap();
        assert_eq!(convs[2].turns[1].delay_ms, Some(5000.0));
    }

    #[test]
    fn sampling_keeps_whole_sessions() {
        let rows: Vec<R> = (0..200)
            .flat_map(|i| {
                let id: &'static str = Box::leak(format!("s{i}").into_boxed_str());
                (0..3).map(move |k| (i * 10 + k, Some(id), "p", 1, 1, vec![], None))
            })
            .collect();
        let opts = ReplayOptions {
            session_sample_ratio: Some(0.25),
            ..Default::default()
        };
        let a = load_with(&rows, opts.clone()).unwrap();
        let b = load_with(&rows, opts).unwrap();
        assert_eq!(shape(&a), shape(&b), "one seed, one sample");
        assert!(a.iter().all(|c| c.turns.len() == 3), "whole sessions");
        // Binomial(200, 0.25): mean 50, sd 6.1; 5 sd either side.
        assert!((20..=80).contains(&a.len()), "{}", a.len());
    }

    /// Arrow IPC files are read like Parquet, and both are detected by extension and schema
    /// alone (a table without the required columns is not a baseten trace).
    #[test]
    fn arrow_ipc_and_detection() {
        let dir = tempfile::tempdir().unwrap();
        let parquet = dir.path().join("t.parquet");
        write_parquet(&parquet, &trace()).unwrap();
        let file = std::fs::File::open(&parquet).unwrap();
        let batches: Vec<RecordBatch> =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap()
                .build()
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        let arrow = dir.path().join("t.arrow");
        let mut w = arrow_ipc::writer::FileWriter::try_new(
            std::fs::File::create(&arrow).unwrap(),
            &batches[0].schema(),
        )
        .unwrap();
        for b in &batches {
            w.write(b).unwrap();
        }
        w.finish().unwrap();
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus { tokens: vec![] };
        let ctx = context(&t, &c);
        assert_eq!(
            shape(&load(&arrow, &ctx).unwrap()),
            shape(&load(&parquet, &ctx).unwrap())
        );
        let candidates: Vec<(&str, &str)> = [
            ("mooncake_trace", "aiperf_dataset::loader::mooncake::load"),
            ("baseten_trace", "aiperf_dataset::loader::baseten::load"),
            ("raw_payload", "aiperf_dataset::loader::raw_payload::load"),
        ]
        .to_vec();
        for p in [&parquet, &arrow] {
            assert_eq!(
                super::super::detect(p, &candidates).unwrap(),
                "baseten_trace"
            );
        }
        // The same table under another name, or without a required column, is not one.
        let renamed = dir.path().join("t.bin");
        std::fs::copy(&parquet, &renamed).unwrap();
        assert!(!can_load(&Probe::read(&renamed)));
        let partial = dir.path().join("p.parquet");
        let batch = batches[0].project(&[0, 2]).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&partial).unwrap(),
            batch.schema(),
            None,
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        assert!(!can_load(&Probe::read(&partial)));
        let e = load(&partial, &ctx).unwrap_err().to_string();
        assert!(
            e.ends_with("p.parquet: not a baseten trace: missing required column(s) input_tokens, output_tokens"),
            "{e}"
        );
    }

    #[test]
    fn bad_rows_and_files_are_named() {
        let mut rows = trace();
        rows[3].3 = -1;
        let e = load_with(&rows, ReplayOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("t.parquet:4: 'input_tokens' must be >= 0, got -1"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.parquet");
        std::fs::write(&p, "not parquet").unwrap();
        assert!(!can_load(&Probe::read(&p)));
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus { tokens: vec![] };
        let e = load(&p, &context(&t, &c)).unwrap_err().to_string();
        assert!(e.contains("x.parquet: not a Parquet file"), "{e}");
    }
}
