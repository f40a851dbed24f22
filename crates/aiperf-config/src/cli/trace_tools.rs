//! `aiperf analyze-trace`, `aiperf validate` and `aiperf synthesize`: tools for trace files.

use clap::Args;

/// `aiperf analyze-trace FILE`.
#[derive(Debug, Clone, Args)]
pub struct AnalyzeTraceArgs {}

/// `aiperf validate --target mooncake-trace --input FILE`.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {}

/// `aiperf synthesize --target agentic-code`.
#[derive(Debug, Clone, Args)]
pub struct SynthesizeArgs {}
