//! Output flags beyond the artifact directory and export level: file naming
//! (`--profile-export-prefix`), extra exports (`--export-outputs-json`, `--export-http-trace`)
//! and the HTTP trace console table (`--show-trace-timing`). Resolved in `resolve/output.rs`.

use clap::Args;

/// `aiperf profile` flags choosing extra artifacts and their names.
#[derive(Debug, Clone, Default, Args)]
pub struct OutputArgs {}
