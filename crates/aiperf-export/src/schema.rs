//! JSON Schemas of the artifacts other tools parse, derived from the types that write them, and
//! published under `docs/schemas/` (regenerate with `UPDATE_DOCS=1 cargo test -p aiperf-export`).
//!
//! Every object is closed (`additionalProperties: false`) except the summary's top level, whose
//! extra keys must be metric statistics: a renamed or stray field fails validation.

use crate::json::SummaryJson;
use crate::records::RecordJson;

/// Schema of `profile_export_aiperf.json`.
pub const SUMMARY_SCHEMA_FILE: &str = "profile_export_aiperf.schema.json";
/// Schema of one line of `profile_export.jsonl`.
pub const RECORD_SCHEMA_FILE: &str = "profile_export_record.schema.json";

fn pretty(schema: schemars::Schema) -> String {
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

/// Schema of `profile_export_aiperf_aggregate.json` (repeated runs).
pub const AGGREGATE_SCHEMA_FILE: &str = "profile_export_aiperf_aggregate.schema.json";
/// Schema of `profile_export_aiperf_sweep.json` (sweeps).
pub const SWEEP_SCHEMA_FILE: &str = "profile_export_aiperf_sweep.schema.json";

/// The summary document's schema, pretty-printed.
pub fn summary_schema() -> String {
    pretty(schemars::schema_for!(SummaryJson<'static>))
}

/// One records line's schema, pretty-printed.
pub fn record_schema() -> String {
    pretty(schemars::schema_for!(RecordJson<'static>))
}

/// Schema of one line of `profile_export_raw.jsonl`.
pub const RAW_RECORD_SCHEMA_FILE: &str = "profile_export_raw_record.schema.json";
/// Schema of `outputs.json`.
pub const OUTPUTS_SCHEMA_FILE: &str = "outputs.schema.json";

/// `(file name, current schema)` of every published schema.
pub fn all() -> [(&'static str, String); 6] {
    [
        (
            RAW_RECORD_SCHEMA_FILE,
            pretty(schemars::schema_for!(crate::raw::RawLine<'static>)),
        ),
        (
            OUTPUTS_SCHEMA_FILE,
            pretty(schemars::schema_for!(crate::outputs::OutputsDoc<'static>)),
        ),
        (SUMMARY_SCHEMA_FILE, summary_schema()),
        (RECORD_SCHEMA_FILE, record_schema()),
        (
            AGGREGATE_SCHEMA_FILE,
            pretty(schemars::schema_for!(
                crate::aggregate::AggregateDoc<'static>
            )),
        ),
        (
            SWEEP_SCHEMA_FILE,
            pretty(schemars::schema_for!(crate::aggregate::SweepDoc<'static>)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn docs_schemas_are_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schemas");
        for (file, current) in super::all() {
            let path = dir.join(file);
            if std::env::var_os("UPDATE_DOCS").is_some() {
                std::fs::create_dir_all(&dir).expect("create docs/schemas");
                std::fs::write(&path, &current).expect("write schema");
            }
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                on_disk == current,
                "docs/schemas/{file} is stale: run `UPDATE_DOCS=1 cargo test -p aiperf-export`"
            );
        }
    }
}
