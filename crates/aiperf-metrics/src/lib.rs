//! Metrics stage: what every number means, computed once.
//!
//! - [`registry`] declares each metric (tag, header, units, flags, console order) in one table,
//!   in dependency order, with AIPerf's names and definitions.
//! - [`record`] computes the per-request values of a finished, parsed request.
//! - [`accumulate`] folds per-request values into a run and derives the run-level metrics.
//! - [`load`] judges whether the client kept up (load report, client-bound verdict).
//! - [`stats`] is the statistics (population std, numpy's linear-interpolation percentiles).
//! - [`spill`] keeps a run's values in bounded memory (full chunks go to an unlinked file) and
//!   [`select`] finds exact order statistics over them by passes.
//!
//! Exporters and UIs only format the resulting [`Summary`]; they never compute.

pub mod accumulate;
pub mod confidence;
pub mod load;
pub mod media;
pub mod network;
pub mod record;
pub mod reference;
pub mod registry;
pub mod replay;
pub mod select;
pub mod spec_decode;
pub mod spill;
pub mod stats;
pub mod steady;
pub mod sweep;
pub mod timeline;
pub mod units;
pub mod usage;

pub use accumulate::{Accumulator, Goodput, MetricResult, MetricValue, Summary};
pub use record::{HttpTrace, RecordInput, RecordValues};
pub use registry::{Applicability, Flags, Group, MetricKind, MetricSpec, REGISTRY};
pub use stats::Stats;
pub use timeline::WeightedStats;
pub use units::Unit;
