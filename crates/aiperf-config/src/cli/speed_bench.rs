//! `aiperf speed-bench-report`: a matrix report over SPEED-Bench category runs (speculative
//! decoding). Run by `crates/aiperf/src/speed_bench_cmd.rs`. Flags and defaults are AIPerf
//! 0.13's (`cli_commands/speed_bench_report.py`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Where the report goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum SpeedBenchFormat {
    Csv,
    Table,
    #[default]
    Both,
}

/// Which value fills the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum SpeedBenchMetric {
    /// Mean accepted tokens per draft step (server metrics).
    #[default]
    #[value(name = "accept_length", alias = "accept-length")]
    AcceptLength,
    /// Accepted / draft tokens (server metrics).
    #[value(name = "accept_rate", alias = "accept-rate")]
    AcceptRate,
    /// Output tokens per second (the run's summary).
    Throughput,
}

/// `aiperf speed-bench-report` flags.
#[derive(Debug, Clone, Default, Args)]
pub struct SpeedBenchReportArgs {
    /// Run directories or parent directories containing run subdirectories.
    #[arg(required = true, value_name = "PATHS")]
    pub paths: Vec<PathBuf>,

    /// Output CSV file path.
    #[arg(long, default_value = "speed_bench_report.csv")]
    pub output: PathBuf,

    /// Output format: 'csv', 'table', or 'both'.
    #[arg(long = "format", value_name = "FORMAT", value_enum, default_value_t = SpeedBenchFormat::Both)]
    pub output_format: SpeedBenchFormat,

    /// Which metric to report: 'accept_length', 'accept_rate', or 'throughput'.
    #[arg(long, value_enum, default_value_t = SpeedBenchMetric::AcceptLength)]
    pub metric: SpeedBenchMetric,
}

impl SpeedBenchReportArgs {
    /// `--metric` as AIPerf spells it (`accept_length`, `accept_rate`, `throughput`).
    pub fn metric_name(&self) -> &'static str {
        match self.metric {
            SpeedBenchMetric::AcceptLength => "accept_length",
            SpeedBenchMetric::AcceptRate => "accept_rate",
            SpeedBenchMetric::Throughput => "throughput",
        }
    }

    /// Whether the CSV file is written (`--format csv|both`).
    pub fn writes_csv(&self) -> bool {
        self.output_format != SpeedBenchFormat::Table
    }

    /// Whether the table is printed (`--format table|both`).
    pub fn prints_table(&self) -> bool {
        self.output_format != SpeedBenchFormat::Csv
    }
}
