//! Rows of a Hub dataset's data files (Parquet, JSON Lines, JSON, CSV), reduced to the columns
//! a conversion reads, as JSON values.

use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use serde_json::{Map, Value};

use crate::loader::LoadError;

/// One row: the wanted columns it has.
pub type Row = Map<String, Value>;

/// `columns` asking for every column of the file (whole-record formats: agent traces).
pub const EVERY_COLUMN: &[&str] = &["*"];

fn every(columns: &[&str]) -> bool {
    columns == EVERY_COLUMN
}

/// Every row of every file, in order, with every column (agent-trace formats, accuracy
/// benchmarks).
pub fn all_rows(files: &[std::path::PathBuf]) -> Result<Vec<Row>, LoadError> {
    let mut out = Vec::new();
    for file in files {
        read(file, EVERY_COLUMN, &mut |_, row| {
            out.push(row);
            Ok(())
        })?;
    }
    Ok(out)
}

/// Reads `columns` of every row of `path` (by its extension), calling `each` per row with its
/// 1-based row number. A column missing from the file's schema is an error naming the
/// columns it has.
pub fn read(
    path: &Path,
    columns: &[&str],
    each: &mut dyn FnMut(usize, Row) -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".parquet") {
        parquet_rows(path, columns, each)
    } else if name.ends_with(".csv") || name.ends_with(".tsv") {
        csv_rows(path, columns, name.ends_with(".tsv"), each)
    } else {
        json_rows(path, columns, each)
    }
}

fn missing(path: &Path, column: &str, available: Vec<String>) -> LoadError {
    LoadError::file(
        path,
        format!(
            "column '{column}' not found; available columns: {}",
            available.join(", ")
        ),
    )
}

fn parquet_rows(
    path: &Path,
    columns: &[&str],
    each: &mut dyn FnMut(usize, Row) -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    let bad = |e: &dyn std::fmt::Display| LoadError::file(path, format!("not a Parquet file: {e}"));
    let file = std::fs::File::open(path).map_err(|e| LoadError::file(path, e.to_string()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(&e))?;
    let schema = builder.schema().clone();
    let mut roots = Vec::new();
    if every(columns) {
        roots.extend(0..schema.fields().len());
    }
    for c in columns.iter().filter(|_| !every(columns)) {
        match schema.index_of(c) {
            Ok(i) => roots.push(i),
            Err(_) => {
                return Err(missing(
                    path,
                    c,
                    schema.fields().iter().map(|f| f.name().clone()).collect(),
                ))
            }
        }
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(4096)
        .build()
        .map_err(|e| bad(&e))?;
    let mut n = 0;
    for batch in reader {
        let batch: RecordBatch = batch.map_err(|e| bad(&e))?;
        let cols: Vec<(String, Arc<dyn Array>)> = batch
            .schema()
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(f, a)| (f.name().clone(), a.clone()))
            .collect();
        for i in 0..batch.num_rows() {
            n += 1;
            let mut row = Row::new();
            for (name, array) in &cols {
                row.insert(name.clone(), cell(array.as_ref(), i));
            }
            each(n, row)?;
        }
    }
    Ok(())
}

/// The key of the one-entry object a binary cell becomes ([`binary`] reads it back): JSON has
/// no bytes, and Hub image/audio columns are `{bytes: binary, path}` structs.
pub const BINARY_KEY: &str = "$binary";

/// The bytes of a binary cell (see [`BINARY_KEY`]).
pub fn binary(v: &Value) -> Option<Vec<u8>> {
    use base64::Engine;
    let b64 = v.as_object()?.get(BINARY_KEY)?.as_str()?;
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

fn binary_cell(bytes: &[u8]) -> Value {
    use base64::Engine;
    let mut m = Map::new();
    m.insert(
        BINARY_KEY.into(),
        Value::from(base64::engine::general_purpose::STANDARD.encode(bytes)),
    );
    Value::Object(m)
}

/// One Arrow cell as JSON: strings, numbers, booleans, lists and structs; binary as a
/// [`BINARY_KEY`] object (image and audio bytes).
fn cell(array: &dyn Array, i: usize) -> Value {
    if array.is_null(i) {
        return Value::Null;
    }
    macro_rules! num {
        ($t:ty) => {
            Value::from(array.as_primitive::<$t>().value(i))
        };
    }
    match array.data_type() {
        DataType::Utf8 => Value::from(array.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Value::from(array.as_string::<i64>().value(i)),
        DataType::Utf8View => Value::from(array.as_string_view().value(i)),
        DataType::Boolean => Value::from(array.as_boolean().value(i)),
        DataType::Int8 => num!(Int8Type),
        DataType::Int16 => num!(Int16Type),
        DataType::Int32 => num!(Int32Type),
        DataType::Int64 => num!(Int64Type),
        DataType::UInt8 => num!(UInt8Type),
        DataType::UInt16 => num!(UInt16Type),
        DataType::UInt32 => num!(UInt32Type),
        DataType::UInt64 => num!(UInt64Type),
        DataType::Float32 => {
            serde_json::Number::from_f64(array.as_primitive::<Float32Type>().value(i) as f64)
                .map_or(Value::Null, Value::Number)
        }
        DataType::Float64 => {
            serde_json::Number::from_f64(array.as_primitive::<Float64Type>().value(i))
                .map_or(Value::Null, Value::Number)
        }
        DataType::Binary => binary_cell(array.as_binary::<i32>().value(i)),
        DataType::LargeBinary => binary_cell(array.as_binary::<i64>().value(i)),
        DataType::BinaryView => binary_cell(array.as_binary_view().value(i)),
        DataType::FixedSizeBinary(_) => binary_cell(array.as_fixed_size_binary().value(i)),
        DataType::List(_) => list(array.as_list::<i32>().value(i).as_ref()),
        DataType::LargeList(_) => list(array.as_list::<i64>().value(i).as_ref()),
        DataType::Struct(_) => {
            let s = array.as_struct();
            let mut m = Map::new();
            for (name, child) in s.column_names().iter().zip(s.columns()) {
                m.insert(name.to_string(), cell(child.as_ref(), i));
            }
            Value::Object(m)
        }
        _ => Value::Null,
    }
}

fn list(values: &dyn Array) -> Value {
    Value::Array((0..values.len()).map(|j| cell(values, j)).collect())
}

fn project(path: &Path, mut obj: Row, columns: &[&str], line: usize) -> Result<Row, LoadError> {
    if every(columns) {
        return Ok(obj);
    }
    let mut row = Row::new();
    for c in columns {
        match obj.remove(*c) {
            Some(v) => {
                row.insert(c.to_string(), v);
            }
            None if line == 1 => {
                return Err(missing(path, c, obj.keys().cloned().collect()));
            }
            None => {
                row.insert(c.to_string(), Value::Null);
            }
        }
    }
    Ok(row)
}

fn json_rows(
    path: &Path,
    columns: &[&str],
    each: &mut dyn FnMut(usize, Row) -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    use std::io::BufRead;
    let mut reader =
        aiperf_core::textfile::open(path).map_err(|e| LoadError::file(path, e.to_string()))?;
    let starts_with_array = {
        let buf = reader
            .fill_buf()
            .map_err(|e| LoadError::file(path, e.to_string()))?;
        buf.iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'[')
    };
    if starts_with_array {
        let all: Vec<Value> = serde_json::from_reader(reader).map_err(|e| LoadError::Line {
            path: path.display().to_string(),
            line: e.line(),
            reason: format!("not a JSON array of rows: {e}"),
        })?;
        for (i, v) in all.into_iter().enumerate() {
            let Value::Object(obj) = v else {
                return Err(LoadError::file(
                    path,
                    format!("row {} is not an object", i + 1),
                ));
            };
            each(i + 1, project(path, obj, columns, i + 1)?)?;
        }
        return Ok(());
    }
    let mut line = String::new();
    let (mut number, mut rows) = (0, 0);
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| LoadError::file(path, e.to_string()))?;
        if n == 0 {
            break;
        }
        number += 1;
        if line.trim().is_empty() {
            continue;
        }
        let at = |reason: String| LoadError::Line {
            path: path.display().to_string(),
            line: number,
            reason,
        };
        let obj: Row =
            serde_json::from_str(&line).map_err(|e| at(format!("not a JSON object: {e}")))?;
        rows += 1;
        each(rows, project(path, obj, columns, rows)?)?;
    }
    Ok(())
}

fn csv_rows(
    path: &Path,
    columns: &[&str],
    tabs: bool,
    each: &mut dyn FnMut(usize, Row) -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    let reader =
        aiperf_core::textfile::open(path).map_err(|e| LoadError::file(path, e.to_string()))?;
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(if tabs { b'\t' } else { b',' })
        .from_reader(reader);
    let headers = csv
        .headers()
        .map_err(|e| LoadError::file(path, e.to_string()))?
        .clone();
    let mut index = Vec::new();
    if every(columns) {
        index.extend(headers.iter().enumerate().map(|(i, h)| (h.to_string(), i)));
    }
    for c in columns.iter().filter(|_| !every(columns)) {
        match headers.iter().position(|h| h == *c) {
            Some(i) => index.push((c.to_string(), i)),
            None => {
                return Err(missing(
                    path,
                    c,
                    headers.iter().map(str::to_string).collect(),
                ))
            }
        }
    }
    for (n, rec) in csv.records().enumerate() {
        let rec = rec.map_err(|e| LoadError::Line {
            path: path.display().to_string(),
            line: n + 2,
            reason: e.to_string(),
        })?;
        let mut row = Row::new();
        for (name, i) in &index {
            row.insert(name.clone(), rec.get(*i).map_or(Value::Null, Value::from));
        }
        each(n + 1, row)?;
    }
    Ok(())
}
