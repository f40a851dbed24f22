//! Help groups "Server Metrics" and "GPU Telemetry": which Prometheus pages to scrape while a
//! run goes on, and what to write from them. AIPerf collects both by default (spec §8).

use std::path::PathBuf;

use super::{invalid, ConfigError};
use crate::cli::ProfileArgs;

/// Server metrics files (`--server-metrics-formats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsFormat {
    Json,
    Csv,
    Jsonl,
    Parquet,
}

/// `--server-metrics`, `--no-server-metrics`, `--server-metrics-formats`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerMetrics {
    pub enabled: bool,
    /// Extra endpoints, normalised to `http://host:port/.../metrics`, besides each `--url`'s.
    pub extra_urls: Vec<String>,
    pub formats: Vec<MetricsFormat>,
    /// The user asked for it by flag (not only the default).
    pub explicit: bool,
}

/// Where GPU telemetry comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum GpuSource {
    /// DCGM exporter pages: the defaults (`localhost:9400`, `:9401`) plus any URLs given.
    Dcgm { urls: Vec<String> },
    /// The local NVIDIA library.
    Pynvml,
    /// The local AMD library.
    Amdsmi,
}

/// `--gpu-telemetry`, `--no-gpu-telemetry`.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuTelemetry {
    pub enabled: bool,
    pub source: GpuSource,
    /// A live panel in the dashboard.
    pub dashboard: bool,
    /// A custom DCGM field mapping.
    pub custom_csv: Option<PathBuf>,
    /// The user asked for it by flag (not only the default).
    pub explicit: bool,
}

/// AIPerf's normalisation: `http://` prepended when no scheme, `/metrics` appended when the
/// URL has no path.
pub fn metrics_url(raw: &str) -> String {
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("http://{raw}")
    };
    let after_scheme = with_scheme.split_once("://").map_or("", |(_, r)| r);
    if after_scheme.contains('/') {
        with_scheme
    } else {
        format!("{with_scheme}/metrics")
    }
}

pub(super) fn server_metrics(args: &ProfileArgs) -> Result<ServerMetrics, ConfigError> {
    let given = args.server_metrics.clone().unwrap_or_default();
    if args.no_server_metrics && !given.is_empty() {
        return Err(invalid(
            "--no-server-metrics",
            "contradicts the --server-metrics endpoints given; drop one",
        ));
    }
    let formats = if args.server_metrics_formats.is_empty() {
        vec![MetricsFormat::Json, MetricsFormat::Csv]
    } else {
        let mut f: Vec<MetricsFormat> = args
            .server_metrics_formats
            .iter()
            .map(|s| match s.to_ascii_lowercase().as_str() {
                "csv" => MetricsFormat::Csv,
                "jsonl" => MetricsFormat::Jsonl,
                "parquet" => MetricsFormat::Parquet,
                _ => MetricsFormat::Json,
            })
            .collect();
        f.dedup();
        f
    };
    Ok(ServerMetrics {
        enabled: !args.no_server_metrics,
        extra_urls: given.iter().map(|u| metrics_url(u)).collect(),
        formats,
        explicit: args.server_metrics.is_some() || !args.server_metrics_formats.is_empty(),
    })
}

pub(super) fn gpu_telemetry(args: &ProfileArgs) -> Result<GpuTelemetry, ConfigError> {
    let given = args.gpu_telemetry.clone().unwrap_or_default();
    if args.no_gpu_telemetry && !given.is_empty() {
        return Err(invalid(
            "--no-gpu-telemetry",
            "contradicts the --gpu-telemetry sources given; drop one",
        ));
    }
    let mut dashboard = false;
    let mut custom_csv = None;
    let mut library = None;
    let mut urls = Vec::new();
    for v in &given {
        match v.to_ascii_lowercase().as_str() {
            "dashboard" => dashboard = true,
            "pynvml" | "amdsmi" if library.is_some() => {
                return Err(invalid("--gpu-telemetry", "name one of pynvml and amdsmi"))
            }
            "pynvml" => library = Some(GpuSource::Pynvml),
            "amdsmi" => library = Some(GpuSource::Amdsmi),
            _ if v.to_ascii_lowercase().ends_with(".csv") => {
                let p = PathBuf::from(v);
                if !p.is_file() {
                    return Err(invalid("--gpu-telemetry", format!("'{v}' is not a file")));
                }
                custom_csv = Some(p);
            }
            _ => urls.push(metrics_url(v)),
        }
    }
    let source = match library {
        Some(_) if !urls.is_empty() => {
            return Err(invalid(
                "--gpu-telemetry",
                "a local library (pynvml, amdsmi) and DCGM URLs cannot be combined",
            ))
        }
        Some(l) => l,
        None => GpuSource::Dcgm { urls },
    };
    Ok(GpuTelemetry {
        enabled: !args.no_gpu_telemetry,
        source,
        dashboard,
        custom_csv,
        explicit: args.gpu_telemetry.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{args, err};
    use super::*;

    #[test]
    fn aiperf_scripts_flags_are_accepted() {
        let a = args(&["-m", "m", "--no-server-metrics", "--no-gpu-telemetry"]);
        assert!(!server_metrics(&a).unwrap().enabled);
        assert!(!gpu_telemetry(&a).unwrap().enabled);
        let s = server_metrics(&args(&["-m", "m"])).unwrap();
        assert!(s.enabled && !s.explicit && s.extra_urls.is_empty());
        assert_eq!(s.formats, [MetricsFormat::Json, MetricsFormat::Csv]);
        let s = server_metrics(&args(&[
            "--server-metrics",
            "node1:8081",
            "http://node2:9090/custom",
            "--server-metrics-formats",
            "json",
            "JSONL",
        ]))
        .unwrap();
        assert_eq!(
            s.extra_urls,
            ["http://node1:8081/metrics", "http://node2:9090/custom"]
        );
        assert_eq!(s.formats, [MetricsFormat::Json, MetricsFormat::Jsonl]);
        let g = gpu_telemetry(&args(&["--gpu-telemetry", "dashboard", "node1:9400"])).unwrap();
        assert!(g.dashboard && g.explicit);
        assert_eq!(
            g.source,
            GpuSource::Dcgm {
                urls: vec!["http://node1:9400/metrics".into()]
            }
        );
        assert_eq!(
            gpu_telemetry(&args(&["--gpu-telemetry", "pynvml"]))
                .unwrap()
                .source,
            GpuSource::Pynvml
        );
    }

    #[test]
    fn contradictions_are_refused() {
        assert!(
            err(&["-m", "m", "--no-server-metrics", "--server-metrics", "a:1"])
                .starts_with("--no-server-metrics")
        );
        assert!(err(&["-m", "m", "--gpu-telemetry", "pynvml", "node:9400"])
            .starts_with("--gpu-telemetry"));
        assert!(err(&["-m", "m", "--gpu-telemetry", "nope.csv"]).contains("is not a file"));
    }
}
