//! Server-metrics scraping for AIPerf: parsing `/metrics` pages of inference servers
//! (vLLM, SGLang, TensorRT-LLM, Dynamo, Triton) and the DCGM exporter.
//!
//! Crate decision: own parser. `prometheus-parse` matches names with `\w+` (no colons, so
//! no `vllm:*`/`sglang:*`) and knows no OpenMetrics (`# EOF`, `# UNIT`, exemplars);
//! `openmetrics-parser` (0.x, API still changing per its README) has its own typed model
//! and validation we would have to map and audit against AIPerf's grouping rules
//! (`_total` declared both ways, `_created` dropped, untyped fallback). Small enough to own.

pub mod aggregate;
pub mod energy;
pub mod gpu;
pub mod histogram_estimate;
pub mod numpy;
pub mod prometheus;
pub mod series;
pub mod units;

pub use aggregate::{aggregate, MetricSummary, Scrape, SeriesStats, SeriesSummary};
pub use energy::{
    energy_metrics, energy_metrics_for_window, energy_metrics_split, ClientTotals, EnergyMetric,
    FINAL_SCRAPE_GRACE_NS,
};
pub use gpu::{
    aggregate_gpus, endpoint_display, gpu_samples, telemetry_json_key, FieldMap, GpuError, GpuId,
    GpuMetric, GpuSample, GpuStats, GpuSummary, GpuValue, MetricDef, MetricKind, SourceField,
    Vendor,
};
pub use prometheus::{
    parse, Family, HistogramSeries, MetricType, Page, ParseError, Sample, SummarySeries,
};
