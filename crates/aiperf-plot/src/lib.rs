//! Pictures of runs (`aiperf plot`, `--auto-plot`): artifact directories are read into chart
//! data ([`chart::Chart`], [`report_data::ReportData`]), which is then drawn as PNG/SVG images
//! and as one self-contained `report.html`.
//!
//! Data flow: discover runs -> read their artifacts -> compute series (single run: per request
//! over time; several runs: one point per run) -> render. Only the last step knows about
//! pixels; everything before it is tested against hand-worked values.

pub mod artifacts;
pub mod calc;
pub mod chart;
pub mod error;
pub mod render;
pub mod report;
pub mod report_data;
pub mod summary;

pub use error::PlotError;
pub mod build;
pub mod discover;
pub mod multi;
pub mod single;

pub use build::{build, Options};
pub mod config;
pub mod serve;
pub mod swim_lane;
pub mod write;

/// Reads `paths` and writes the pictures `output` asks for: the report data and what was
/// written.
pub fn draw(
    paths: &[std::path::PathBuf],
    options: &Options,
    output: &write::Output,
) -> Result<(report_data::ReportData, write::Written), PlotError> {
    let data = build(paths, options)?;
    let written = write::write(&data, output)?;
    Ok((data, written))
}
