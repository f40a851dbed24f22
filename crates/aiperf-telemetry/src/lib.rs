//! Server-metrics scraping for AIPerf: parsing `/metrics` pages of inference servers
//! (vLLM, SGLang, TensorRT-LLM, Dynamo, Triton) and the DCGM exporter.
//!
//! Crate decision: own parser. `prometheus-parse` matches names with `\w+` (no colons, so
//! no `vllm:*`/`sglang:*`) and knows no OpenMetrics (`# EOF`, `# UNIT`, exemplars);
//! `openmetrics-parser` (0.x, API still changing per its README) has its own typed model
//! and validation we would have to map and audit against AIPerf's grouping rules
//! (`_total` declared both ways, `_created` dropped, untyped fallback). Small enough to own.

pub mod aggregate;
pub mod prometheus;

pub use aggregate::{aggregate, MetricSummary, Scrape, SeriesStats, SeriesSummary};
pub use prometheus::{
    parse, Family, HistogramSeries, MetricType, Page, ParseError, Sample, SummarySeries,
};
