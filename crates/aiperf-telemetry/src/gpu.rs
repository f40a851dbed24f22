//! GPU telemetry as AIPerf 0.13 collects it from DCGM exporter pages (spec §8.2;
//! reference: `aiperf/gpu_telemetry/{constants,dcgm_collector,metrics_config}.py` and
//! `aiperf/common/models/telemetry_models.py`), and from AMD's ROCm Device Metrics
//! Exporter pages (`github.com/ROCm/device-metrics-exporter`, default
//! `http://host:5000/metrics`) mapped to AIPerf's `amd_*` metrics. See
//! `docs/design/gpu-telemetry.md`.
//!
//! Three pure steps, no I/O:
//! 1. [`gpu_samples`]: one scraped page -> one [`GpuSample`] per GPU, values mapped to
//!    AIPerf's metric names and scaled to AIPerf's units by a [`FieldMap`] (the built-in
//!    DCGM mapping, optionally extended by a custom metrics CSV, [`FieldMap::from_csv`]).
//! 2. [`aggregate_gpus`]: the samples of a run -> one [`GpuSummary`] per GPU over a window
//!    (gauges: avg/min/max/std(ddof=1)/sum/p1..p99; counters: delta from the baseline).
//! 3. `crate::energy`: the vendor-prefixed power-efficiency metrics from the summaries.
//!
//! Arithmetic follows numpy (pairwise summation, `linear` percentiles with numpy's
//! two-sided lerp), so gauge statistics match AIPerf's to the last bit when every sample
//! of a GPU carries the metric (always true for DCGM pages).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use crate::aggregate::{running_increase, PERCENTILE_LABELS};
use crate::histogram_estimate::PERCENTILES;
use crate::numpy::{np_mean, np_percentile, np_std, np_sum};
use crate::prometheus::{Page, Sample};

/// The GPU vendor: AIPerf's `platform` field, and the prefix of the metric names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Vendor {
    Nvidia,
    Amd,
}

impl Vendor {
    /// AIPerf's `platform` string (`"nvidia"` / `"amd"`), also the metric-name prefix.
    pub fn platform(self) -> &'static str {
        match self {
            Vendor::Nvidia => "nvidia",
            Vendor::Amd => "amd",
        }
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.platform())
    }
}

/// Whether a metric is summarised as a distribution or as a delta over the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    Gauge,
    /// Cumulative (energy since boot, error counts): AIPerf reports end − baseline.
    Counter,
}

/// One AIPerf GPU metric (an entry of `GPU_TELEMETRY_METRICS_CONFIG`).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDef {
    /// AIPerf's field name, e.g. `nvidia_power_usage`: the key in `telemetry_data` and
    /// in the jsonl `telemetry_data` object.
    pub name: String,
    /// Display name, e.g. `NVIDIA GPU Power Usage` (CSV/console rows are
    /// `"<display> (<unit>)"`).
    pub display: String,
    /// Unit tag, e.g. `W`, `MJ`, `GB`, `%`, `°C`, `us`, `count`.
    pub unit: String,
    pub kind: MetricKind,
    /// Position in AIPerf's metrics config: built-ins first, then custom CSV metrics in
    /// file order. Exports list a GPU's metrics in this order.
    pub order: usize,
    /// Added by a custom metrics CSV (not one of AIPerf's built-ins).
    pub custom: bool,
}

/// A page metric mapped to an AIPerf metric.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceField {
    /// Metric name on the page, e.g. `DCGM_FI_DEV_POWER_USAGE` (a trailing `_total` of
    /// the page's sample name is ignored when matching, as AIPerf does).
    pub source: String,
    pub metric: Arc<MetricDef>,
    /// Multiplier from the page's unit to the metric's unit.
    pub scale: f64,
}

/// Why a custom metrics CSV line was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GpuError {
    /// `line N: reason`, N counted from 1 like an editor does.
    #[error("line {line}: {reason}")]
    CustomMetricsCsv { line: usize, reason: String },
}

/// The mapping from page metric names to AIPerf GPU metrics, plus the ordered list of
/// metric definitions (built-in NVIDIA and AMD ones, then custom ones).
#[derive(Debug, Clone)]
pub struct FieldMap {
    metrics: Vec<Arc<MetricDef>>,
    sources: Vec<SourceField>,
    /// Per entry of `sources`: which exporter's page it is read from and its rank.
    origins: Vec<Origin>,
    by_source: HashMap<String, usize>,
}

/// Where a mapped page field comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// A DCGM field (built-in or custom CSV): read from samples with a `gpu` label, the
    /// last sample of a metric wins.
    Dcgm,
    /// An AMD Device Metrics Exporter field: read from samples with a `gpu_id` label (and
    /// no `gpu` label). When several fields feed one metric the lowest rank wins,
    /// whatever the page order.
    Amd { rank: u8 },
}

/// A built-in metric: name, display name, unit tag, kind.
type Builtin = (&'static str, &'static str, &'static str, MetricKind);

const fn gauge(name: &'static str, display: &'static str, unit: &'static str) -> Builtin {
    (name, display, unit, MetricKind::Gauge)
}

const fn counter(name: &'static str, display: &'static str, unit: &'static str) -> Builtin {
    (name, display, unit, MetricKind::Counter)
}

/// AIPerf's `GPU_TELEMETRY_METRICS_CONFIG` (in its order) with `GPU_TELEMETRY_COUNTER_METRICS`
/// marked as counters.
const BUILTIN_METRICS: [Builtin; 21] = [
    gauge("nvidia_power_usage", "NVIDIA GPU Power Usage", "W"),
    counter(
        "nvidia_energy_consumption",
        "NVIDIA Energy Consumption",
        "MJ",
    ),
    gauge("nvidia_gpu_utilization", "NVIDIA GPU Utilization", "%"),
    gauge(
        "nvidia_memory_utilization",
        "NVIDIA Memory Utilization",
        "%",
    ),
    gauge("nvidia_memory_used", "NVIDIA GPU Memory Used", "GB"),
    gauge("nvidia_temperature", "NVIDIA GPU Temperature", "°C"),
    gauge("nvidia_sm_utilization", "NVIDIA SM Utilization", "%"),
    gauge(
        "nvidia_decoder_utilization",
        "NVIDIA Decoder Utilization",
        "%",
    ),
    gauge(
        "nvidia_encoder_utilization",
        "NVIDIA Encoder Utilization",
        "%",
    ),
    gauge("nvidia_jpg_utilization", "NVIDIA JPEG Utilization", "%"),
    counter("nvidia_xid_errors", "NVIDIA XID Errors", "count"),
    counter("nvidia_power_violation", "NVIDIA Power Violation", "us"),
    gauge("amd_power", "AMD GPU Power", "W"),
    counter("amd_energy_consumption", "AMD Energy Consumption", "MJ"),
    gauge("amd_gfx_activity", "AMD GFX Activity", "%"),
    gauge("amd_umc_activity", "AMD UMC Activity", "%"),
    gauge("amd_mm_activity", "AMD MM Activity", "%"),
    gauge("amd_memory_used", "AMD GPU Memory Used", "GB"),
    gauge("amd_temperature", "AMD GPU Temperature", "°C"),
    counter("amd_ecc_uncorrectable", "AMD ECC Uncorrectable", "count"),
    gauge("amd_throttle_status", "AMD Throttle Status", "count"),
];

/// AIPerf's `DCGM_TO_FIELD_MAPPING`.
const DCGM_FIELDS: [(&str, &str); 11] = [
    ("DCGM_FI_DEV_POWER_USAGE", "nvidia_power_usage"),
    (
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
        "nvidia_energy_consumption",
    ),
    ("DCGM_FI_DEV_GPU_UTIL", "nvidia_gpu_utilization"),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "nvidia_memory_utilization"),
    ("DCGM_FI_DEV_FB_USED", "nvidia_memory_used"),
    ("DCGM_FI_DEV_GPU_TEMP", "nvidia_temperature"),
    ("DCGM_FI_DEV_ENC_UTIL", "nvidia_encoder_utilization"),
    ("DCGM_FI_DEV_DEC_UTIL", "nvidia_decoder_utilization"),
    ("DCGM_FI_PROF_SM_ACTIVE", "nvidia_sm_utilization"),
    ("DCGM_FI_DEV_XID_ERRORS", "nvidia_xid_errors"),
    ("DCGM_FI_DEV_POWER_VIOLATION", "nvidia_power_violation"),
];

/// AMD Device Metrics Exporter fields (`github.com/ROCm/device-metrics-exporter`,
/// `pkg/amdgpu/gpuagent/gpuagent_gpu_metrics.go`; units from the HELP texts and
/// `docs/configuration/metricslist.md`) as `(page name, AIPerf metric, rank)`. Every one
/// is a gauge on the page; the AIPerf metric's kind decides the aggregation. Rank orders
/// several fields of one metric (0 preferred). The exporter has no throttle-status
/// field, so `amd_throttle_status` has no source.
const AMD_EXPORTER_FIELDS: [(&str, &str, u8); 11] = [
    // W. MI2xx/MI3xx bare metal; on MI3xx amd-smi `current_socket_power`, on MI2xx
    // `average_socket_power`: the probe order of AIPerf's amdsmi collector.
    ("gpu_power_usage", "amd_power", 0),
    // W, current socket power (MI3xx; also on a GIM/SR-IOV hypervisor host).
    ("gpu_package_power", "amd_power", 1),
    // W, average socket power (MI2xx, Radeon).
    ("gpu_average_package_power", "amd_power", 2),
    // µJ, accumulated since boot.
    ("gpu_energy_consumed", "amd_energy_consumption", 0),
    // %, 0..100.
    ("gpu_gfx_activity", "amd_gfx_activity", 0),
    ("gpu_umc_activity", "amd_umc_activity", 0),
    // %, deprecated by AMD from driver 6.14.14 (not exported there).
    ("gpu_mma_activity", "amd_mm_activity", 0),
    // MB as amd-smi counts them: bytes / 2^20, i.e. MiB.
    ("gpu_used_vram", "amd_memory_used", 0),
    // °C. Junction (hotspot) on MI3xx, the sensor AIPerf's amdsmi collector reads; edge
    // only on MI2xx.
    ("gpu_junction_temperature", "amd_temperature", 0),
    ("gpu_edge_temperature", "amd_temperature", 1),
    // Count since boot. A gauge whose name ends in `_total`: matched as written (the
    // DCGM path's `_total` strip is only a fallback for AMD names).
    ("gpu_ecc_uncorrect_total", "amd_ecc_uncorrectable", 0),
];

/// Multiplier from the page's unit to the AIPerf metric's unit, keyed by the AIPerf metric
/// (so any page field mapped to that metric, custom ones included, is scaled alike):
/// AIPerf's DCGM `SCALING_FACTORS`, and for the AMD exporter's fields the conversions to
/// the units of AIPerf's `amd_*` metrics.
fn unit_scale(metric: &str) -> f64 {
    match metric {
        "nvidia_energy_consumption" => 1e-9, // mJ -> MJ
        "nvidia_memory_used" => 1.048576e-3, // MiB -> GB
        "nvidia_sm_utilization" => 100.0,    // ratio 0..1 -> %
        "nvidia_power_violation" => 1e-3,    // AIPerf's comment: ns -> us
        "amd_energy_consumption" => 1e-12,   // µJ -> MJ
        "amd_memory_used" => 1.048576e-3,    // MiB -> GB (AIPerf's amdsmi: bytes * 1e-9)
        _ => 1.0,
    }
}

impl Default for FieldMap {
    /// AIPerf's built-in metrics and DCGM mapping, plus the AMD Device Metrics Exporter
    /// fields for the `amd_*` metrics.
    fn default() -> Self {
        let metrics: Vec<Arc<MetricDef>> = BUILTIN_METRICS
            .iter()
            .enumerate()
            .map(|(order, &(name, display, unit, kind))| {
                Arc::new(MetricDef {
                    name: name.to_string(),
                    display: display.to_string(),
                    unit: unit.to_string(),
                    kind,
                    order,
                    custom: false,
                })
            })
            .collect();
        let mut map = FieldMap {
            metrics,
            sources: Vec::new(),
            origins: Vec::new(),
            by_source: HashMap::new(),
        };
        for (source, metric) in DCGM_FIELDS {
            if let Some(def) = map.metric(metric).cloned() {
                map.add_source(source, def, Origin::Dcgm);
            }
        }
        for (source, metric, rank) in AMD_EXPORTER_FIELDS {
            if let Some(def) = map.metric(metric).cloned() {
                map.add_source(source, def, Origin::Amd { rank });
            }
        }
        map
    }
}

/// One accepted line of a custom metrics CSV.
struct CustomLine<'a> {
    field: &'a str,
    help: &'a str,
}

impl FieldMap {
    /// Built-ins plus the custom metrics of a DCGM-style CSV (`--gpu-telemetry FILE.csv`):
    /// `DCGM_FIELD, gauge|counter, help text` per line, `#` comments and blank lines
    /// ignored, commas allowed in the help text.
    ///
    /// Strict: the first bad line is an error naming it (`line 3: ...`). AIPerf itself
    /// logs such lines and skips them; [`FieldMap::from_csv_lenient`] does that.
    pub fn from_csv(text: &str) -> Result<FieldMap, GpuError> {
        let mut map = FieldMap::default();
        for (line, parsed) in csv_lines(text) {
            let entry = parsed.map_err(|reason| GpuError::CustomMetricsCsv { line, reason })?;
            map.add_custom(entry);
        }
        Ok(map)
    }

    /// Like [`FieldMap::from_csv`] but, as AIPerf does, skips bad lines and returns them as
    /// warnings.
    pub fn from_csv_lenient(text: &str) -> (FieldMap, Vec<GpuError>) {
        let mut map = FieldMap::default();
        let mut warnings = Vec::new();
        for (line, parsed) in csv_lines(text) {
            match parsed {
                Ok(entry) => map.add_custom(entry),
                Err(reason) => warnings.push(GpuError::CustomMetricsCsv { line, reason }),
            }
        }
        (map, warnings)
    }

    /// All metric definitions, in AIPerf's config order.
    pub fn metrics(&self) -> &[Arc<MetricDef>] {
        &self.metrics
    }

    /// The definition of AIPerf metric `name` (e.g. `amd_power`), to build samples by hand.
    pub fn metric(&self, name: &str) -> Option<&Arc<MetricDef>> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// All page fields that are mapped: DCGM built-ins, AMD exporter built-ins, custom.
    pub fn sources(&self) -> &[SourceField] {
        &self.sources
    }

    /// The mapping of page metric `name` (exact, without any `_total` stripping).
    pub fn source(&self, name: &str) -> Option<&SourceField> {
        self.by_source.get(name).map(|&i| &self.sources[i])
    }

    fn add_source(&mut self, source: &str, metric: Arc<MetricDef>, origin: Origin) {
        let scale = unit_scale(&metric.name);
        self.by_source
            .insert(source.to_string(), self.sources.len());
        self.sources.push(SourceField {
            source: source.to_string(),
            metric,
            scale,
        });
        self.origins.push(origin);
    }

    /// The DCGM mapping of a page sample name (less a trailing `_total`, as AIPerf).
    fn dcgm_source(&self, base: &str) -> Option<(&SourceField, u8)> {
        let &i = self.by_source.get(base)?;
        (self.origins[i] == Origin::Dcgm).then(|| (&self.sources[i], 0))
    }

    /// The AMD exporter mapping of a page sample name (as written, else less `_total`)
    /// and its rank.
    fn amd_source(&self, name: &str, base: &str) -> Option<(&SourceField, u8)> {
        [name, base].into_iter().find_map(|n| {
            let &i = self.by_source.get(n)?;
            match self.origins[i] {
                Origin::Amd { rank } => Some((&self.sources[i], rank)),
                Origin::Dcgm => None,
            }
        })
    }

    /// AIPerf's `build_custom_metrics_from_csv` for one line. A field already mapped is
    /// skipped (AIPerf skips built-ins; a repeated custom line keeps the first). The
    /// declared type is not used: AIPerf aggregates every custom metric as a gauge.
    fn add_custom(&mut self, entry: CustomLine<'_>) {
        if self.by_source.contains_key(entry.field) {
            return;
        }
        let name = custom_metric_name(entry.field);
        let def = match self.metric(&name) {
            Some(existing) => existing.clone(),
            None => {
                let def = Arc::new(MetricDef {
                    display: custom_display_name(entry.help, &name),
                    unit: unit_from_help(entry.help).to_string(),
                    name,
                    kind: MetricKind::Gauge,
                    order: self.metrics.len(),
                    custom: true,
                });
                self.metrics.push(def.clone());
                def
            }
        };
        self.add_source(entry.field, def, Origin::Dcgm);
    }
}

/// The non-blank, non-comment lines of a custom metrics CSV, numbered from 1.
fn csv_lines(text: &str) -> impl Iterator<Item = (usize, Result<CustomLine<'_>, String>)> {
    text.lines().enumerate().filter_map(|(i, raw)| {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            None
        } else {
            Some((i + 1, parse_csv_line(line)))
        }
    })
}

/// `field, type, help` split on the first two commas, with AIPerf's checks and messages.
fn parse_csv_line(line: &str) -> Result<CustomLine<'_>, String> {
    let parts: Vec<&str> = line.splitn(3, ',').map(str::trim).collect();
    let [field, kind, help] = parts[..] else {
        return Err(format!(
            "expected 3 comma-separated values, got {}",
            parts.len()
        ));
    };
    if !field.starts_with("DCGM_FI_") {
        return Err(format!("DCGM field '{field}' should start with 'DCGM_FI_'"));
    }
    if kind != "gauge" && kind != "counter" {
        return Err(format!(
            "metric type '{kind}' should be 'gauge' or 'counter'"
        ));
    }
    Ok(CustomLine { field, help })
}

/// `DCGM_FI_DEV_SM_CLOCK` -> `nvidia_sm_clock` (`DCGM_FI_PROF_` is stripped alike; any
/// other `DCGM_FI_*` field keeps its whole name).
fn custom_metric_name(field: &str) -> String {
    let suffix = field
        .strip_prefix("DCGM_FI_DEV_")
        .or_else(|| field.strip_prefix("DCGM_FI_PROF_"))
        .unwrap_or(field);
    format!("nvidia_{}", suffix.to_lowercase())
}

/// The help text before its first `(`, title-cased with acronyms upper-cased; the metric
/// name with spaces when that is empty.
fn custom_display_name(help: &str, name: &str) -> String {
    let before_paren = help.split('(').next().unwrap_or("").trim();
    let base = if before_paren.is_empty() {
        name.replace('_', " ")
    } else {
        before_paren.to_string()
    };
    title_case(&base)
}

/// AIPerf's `_title_case_metric_name`: words split on whitespace, acronyms upper-cased,
/// others capitalised (first letter upper, the rest lower), joined by one space.
fn title_case(text: &str) -> String {
    const ACRONYMS: [&str; 10] = [
        "gpu", "xid", "sm", "nvlink", "pci", "pcie", "cpu", "ram", "vram", "ecc",
    ];
    text.split_whitespace()
        .map(|word| {
            let lower = word.to_lowercase();
            if ACRONYMS.contains(&lower.as_str()) {
                word.to_uppercase()
            } else {
                let mut chars = word.chars();
                match chars.next() {
                    Some(first) => first
                        .to_uppercase()
                        .chain(chars.flat_map(char::to_lowercase))
                        .collect(),
                    None => String::new(),
                }
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The unit of a help text's first `(in UNIT)` (case-insensitive), mapped as AIPerf maps
/// it; `count` when absent or unknown. Only a label: values are not converted. (AIPerf
/// maps `mJ` to `MJ` because it compares lower-cased text; kept for compatibility.)
fn unit_from_help(help: &str) -> &'static str {
    let Some(token) = first_in_unit(help) else {
        return "count";
    };
    match token.to_lowercase().as_str() {
        "w" => "W",
        "%" | "percent" => "%",
        "gb" | "gib" => "GB",
        "mb" | "mib" => "MB",
        "kb" | "kib" => "KB",
        "mhz" => "MHz",
        "ghz" => "GHz",
        "c" | "°c" | "celsius" => "°C",
        "count" => "count",
        "us" => "us",
        "ms" => "ms",
        "s" => "sec",
        "mj" => "MJ",
        "j" => "J",
        _ => "count",
    }
}

/// The first match of the regex `\(in\s+([^\s)]+)\)` (case-insensitive), hand-rolled.
fn first_in_unit(help: &str) -> Option<&str> {
    help.match_indices('(').find_map(|(open, _)| {
        let rest = &help[open + 1..];
        let prefix = rest.get(..2)?;
        if !prefix.eq_ignore_ascii_case("in") {
            return None;
        }
        let after_in = &rest[2..];
        let token_start = after_in.trim_start();
        if token_start.len() == after_in.len() {
            return None; // `\s+` needs at least one whitespace
        }
        let token_len = token_start
            .find(|c: char| c.is_whitespace() || c == ')')
            .unwrap_or(token_start.len());
        let token = &token_start[..token_len];
        (!token.is_empty() && token_start[token_len..].starts_with(')')).then_some(token)
    })
}

/// One GPU as AIPerf identifies it: per telemetry endpoint, by UUID; `index` orders and
/// names it (`gpu_0`). Field order makes the derived `Ord` sort by endpoint, then numeric
/// index, then UUID.
///
/// From an AMD Device Metrics Exporter page (see [`gpu_samples`]) the labels are
/// `gpu_id`, `gpu_uuid`/`serial_number`, `card_model`/`card_series`, `hostname`,
/// `namespace`, `pod`; it has no PCI bus id or device label.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GpuId {
    /// Display form of the telemetry source ([`endpoint_display`]): `host:port`, the
    /// `endpoints` key of `telemetry_data`.
    pub endpoint: String,
    /// DCGM label `gpu` (AMD: `gpu_id`).
    pub index: u32,
    /// DCGM label `UUID` (AMD: `gpu_uuid`, else `serial_number`, see [`gpu_samples`]).
    pub uuid: String,
    /// DCGM label `modelName` (AIPerf `gpu_model_name` / `gpu_name`; AMD: `card_model`,
    /// else `card_series`).
    pub name: String,
    /// DCGM label `Hostname` (AMD: `hostname`).
    pub hostname: Option<String>,
    /// DCGM label `pci_bus_id` (AMD: none).
    pub pci_bus_id: Option<String>,
    /// DCGM label `device`, e.g. `nvidia0` (AMD: none).
    pub device: Option<String>,
    /// DCGM label `namespace` (Kubernetes); an empty label stays `Some("")` as in AIPerf.
    /// (AMD: `namespace`, empty -> `None`.)
    pub namespace: Option<String>,
    /// DCGM label `pod` (AMD: `pod`, empty -> `None`).
    pub pod_name: Option<String>,
    pub vendor: Vendor,
}

/// One metric value of one GPU in one scrape, already in AIPerf's unit.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuValue {
    pub metric: Arc<MetricDef>,
    pub value: f64,
}

/// One GPU in one scrape: a line of `gpu_telemetry_export.jsonl`.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuSample {
    /// Scrape time. AIPerf uses wall-clock `time.time_ns()` for both the jsonl
    /// `timestamp_ns` and the phase window, so the window passed to [`aggregate_gpus`]
    /// must be on the same clock.
    pub t_ns: u64,
    /// The URL scraped, e.g. `http://localhost:9400/metrics` (jsonl `telemetry_source_url`).
    pub source_url: String,
    pub gpu: GpuId,
    /// In AIPerf's jsonl order: built-ins in config order, then custom metrics in page
    /// order.
    pub values: Vec<GpuValue>,
}

impl GpuSample {
    /// The value of metric `name` in this scrape, if the page had it.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.values
            .iter()
            .find(|v| v.metric.name == name)
            .map(|v| v.value)
    }
}

/// AIPerf's `normalize_endpoint_display`: drop the scheme and a trailing `/metrics`
/// (`http://node1:9400/metrics` -> `node1:9400`, `https://h:1/api/metrics` -> `h:1/api`).
/// Query and fragment are dropped, as `urlparse` keeps them out of netloc and path.
pub fn endpoint_display(url: &str) -> String {
    let without_scheme = match url.split_once("://") {
        Some((_, rest)) => rest,
        None => url,
    };
    let without_query = without_scheme
        .split(['?', '#'])
        .next()
        .unwrap_or(without_scheme);
    let (netloc, path) = match without_query.find('/') {
        Some(slash) => without_query.split_at(slash),
        None => (without_query, ""),
    };
    let path = path.strip_suffix("/metrics").unwrap_or(path);
    format!("{netloc}{path}")
}

/// AIPerf's key for a GPU under `telemetry_data.endpoints.<endpoint>.gpus`: `gpu_<index>`.
pub fn telemetry_json_key(gpu: &GpuId) -> String {
    format!("gpu_{}", gpu.index)
}

/// The GPUs of one DCGM exporter page, as AIPerf's `DCGMTelemetryCollector` reads it,
/// or of one AMD Device Metrics Exporter page.
///
/// DCGM: every finite sample with an integer `gpu` label identifies a GPU; the labels of
/// its first such sample (mapped or not) give the GPU's identity. Samples whose name (less
/// a trailing `_total`) is mapped by `map` give values, scaled; the last sample of a
/// metric wins. A GPU without mapped values yields no sample. If a sample with a `gpu`
/// label lacks `modelName` or `UUID`, AIPerf's validation fails for the whole page, so
/// the result is empty. Output order is that of the GPUs' first mapped value.
///
/// AMD (no AIPerf reference; `docs/design/gpu-telemetry.md`): a finite sample without a
/// `gpu` label, with an integer `gpu_id` label and a name mapped to an AMD exporter field
/// gives a value of GPU `gpu_id` (`vendor: Vendor::Amd`); the first such sample gives the
/// identity: uuid = non-empty `gpu_uuid` (an optional label), else non-empty
/// `serial_number` (suffixed `-partition-<k>` for a compute partition `gpu_partition_id`
/// k > 0, whose partitions share the card's serial), else `GPU-unknown-<gpu_id>` (AIPerf's
/// amdsmi fallback); name = non-empty `card_model`, else `card_series`, else
/// `Unknown AMD GPU`; `hostname`, `namespace`, `pod` when non-empty (the exporter sends
/// them empty outside Kubernetes). Where several fields feed one metric the preferred
/// one wins (power: `gpu_power_usage` over `gpu_package_power` over
/// `gpu_average_package_power`; temperature: junction over edge).
pub fn gpu_samples(source_url: &str, page: &Page, t_ns: u64, map: &FieldMap) -> Vec<GpuSample> {
    let endpoint = endpoint_display(source_url);
    // AIPerf's `gpu_metadata` and `gpu_data` dicts, keyed by GPU index (and vendor, so an
    // AMD `gpu_id` never merges with a DCGM `gpu`), insertion-ordered. Values carry the
    // rank of the field they came from.
    let mut ids: Vec<(GpuKey, GpuId)> = Vec::new();
    let mut values: Vec<(GpuKey, Vec<RankedValue>)> = Vec::new();
    for sample in page.families.iter().flat_map(|f| f.samples.iter()) {
        if !sample.value.is_finite() {
            continue;
        }
        let base = sample.name.strip_suffix("_total").unwrap_or(&sample.name);
        let (key, mapped) = match sample.label("gpu") {
            Some(label) => {
                let Some(index) = parse_gpu_index(label) else {
                    continue;
                };
                let key = (Vendor::Nvidia, index);
                if !ids.iter().any(|(k, _)| *k == key) {
                    let Some(id) = gpu_id(&endpoint, index, sample) else {
                        return Vec::new();
                    };
                    ids.push((key, id));
                }
                (key, map.dcgm_source(base))
            }
            None => {
                let Some(mapped) = map.amd_source(&sample.name, base) else {
                    continue;
                };
                let Some(index) = sample.label("gpu_id").and_then(parse_gpu_index) else {
                    continue;
                };
                let key = (Vendor::Amd, index);
                if !ids.iter().any(|(k, _)| *k == key) {
                    ids.push((key, amd_gpu_id(&endpoint, index, sample)));
                }
                (key, Some(mapped))
            }
        };
        let Some((field, rank)) = mapped else {
            continue;
        };
        let slot = match values.iter().position(|(k, _)| *k == key) {
            Some(slot) => slot,
            None => {
                values.push((key, Vec::new()));
                values.len() - 1
            }
        };
        set_value(&mut values[slot].1, field, rank, sample.value);
    }
    values
        .into_iter()
        .filter_map(|(key, gpu_values)| {
            let (_, gpu) = ids.iter().find(|(k, _)| *k == key)?;
            let mut gpu_values: Vec<GpuValue> = gpu_values.into_iter().map(|(v, _)| v).collect();
            gpu_values.sort_by_key(|v| jsonl_position(&v.metric));
            Some(GpuSample {
                t_ns,
                source_url: source_url.to_string(),
                gpu: gpu.clone(),
                values: gpu_values,
            })
        })
        .collect()
}

/// A GPU of one page: vendor and index.
type GpuKey = (Vendor, u32);

/// A value and the rank of the field it came from.
type RankedValue = (GpuValue, u8);

/// Sort key giving AIPerf's jsonl field order: built-in fields in declaration order,
/// custom (extra) fields after them, among themselves in page order (stable sort).
fn jsonl_position(metric: &MetricDef) -> usize {
    if metric.custom {
        usize::MAX
    } else {
        metric.order
    }
}

/// Sets the scaled value of `field`'s metric, or overwrites it (keeping its position)
/// unless it came from a preferred field (lower rank). DCGM fields all have rank 0: the
/// last sample wins, as in AIPerf.
fn set_value(values: &mut Vec<RankedValue>, field: &SourceField, rank: u8, raw: f64) {
    let value = raw * field.scale;
    match values
        .iter_mut()
        .find(|(v, _)| v.metric.name == field.metric.name)
    {
        Some((existing, existing_rank)) => {
            if rank <= *existing_rank {
                existing.value = value;
                *existing_rank = rank;
            }
        }
        None => values.push((
            GpuValue {
                metric: field.metric.clone(),
                value,
            },
            rank,
        )),
    }
}

/// Python's `int()` on the `gpu` label, limited to non-negative values: surrounding
/// whitespace, an optional `+`, ASCII digits.
fn parse_gpu_index(label: &str) -> Option<u32> {
    let digits = label.trim();
    let digits = digits.strip_prefix('+').unwrap_or(digits);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// AIPerf's `GpuMetadata` from a sample's labels; `None` when `modelName` or `UUID` is
/// missing (AIPerf's validation error).
fn gpu_id(endpoint: &str, index: u32, sample: &Sample) -> Option<GpuId> {
    let owned = |name: &str| sample.label(name).map(str::to_string);
    Some(GpuId {
        endpoint: endpoint.to_string(),
        index,
        uuid: owned("UUID")?,
        name: owned("modelName")?,
        hostname: owned("Hostname"),
        pci_bus_id: owned("pci_bus_id"),
        device: owned("device"),
        namespace: owned("namespace"),
        pod_name: owned("pod"),
        vendor: Vendor::Nvidia,
    })
}

/// The identity of GPU `index` from the labels of an AMD Device Metrics Exporter sample
/// (rules in [`gpu_samples`]). Never fails: every label has a fallback.
fn amd_gpu_id(endpoint: &str, index: u32, sample: &Sample) -> GpuId {
    let non_empty = |name: &str| {
        sample
            .label(name)
            .filter(|v| !v.trim().is_empty())
            .map(str::to_string)
    };
    let uuid = non_empty("gpu_uuid")
        .or_else(|| {
            non_empty("serial_number").map(|serial| {
                match sample.label("gpu_partition_id").and_then(parse_gpu_index) {
                    Some(partition) if partition > 0 => {
                        format!("{serial}-partition-{partition}")
                    }
                    _ => serial,
                }
            })
        })
        .unwrap_or_else(|| format!("GPU-unknown-{index}"));
    GpuId {
        endpoint: endpoint.to_string(),
        index,
        uuid,
        name: non_empty("card_model")
            .or_else(|| non_empty("card_series"))
            .unwrap_or_else(|| "Unknown AMD GPU".to_string()),
        hostname: non_empty("hostname"),
        pci_bus_id: None,
        device: None,
        namespace: non_empty("namespace"),
        pod_name: non_empty("pod"),
        vendor: Vendor::Amd,
    }
}

/// A metric of one GPU over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuMetric {
    /// AIPerf field name, e.g. `nvidia_power_usage`.
    pub name: String,
    /// Display name, e.g. `NVIDIA GPU Power Usage`.
    pub display: String,
    pub unit: String,
    pub stats: GpuStats,
}

/// The statistics of one GPU metric. In `telemetry_data` a gauge is
/// `{unit, avg, p1..p99, min, max, std, count, sum}` and a counter `{unit, avg: delta}`.
#[derive(Debug, Clone, PartialEq)]
pub enum GpuStats {
    Gauge {
        avg: f64,
        min: f64,
        max: f64,
        /// Sample standard deviation (ddof = 1); 0 for a single value.
        std: f64,
        sum: f64,
        /// p1, p5, p10, p25, p50, p75, p90, p95, p99 (the order of [`PERCENTILE_LABELS`]),
        /// numpy `linear` interpolation. [`GpuStats::labelled_percentiles`] pairs them
        /// with their labels.
        percentiles: [f64; 9],
        /// AIPerf's `count`: scrapes of this GPU in the window (with or without this
        /// metric).
        count: usize,
        /// Values of this metric in the window.
        samples: usize,
    },
    /// Increase from the baseline to the last value in the window.
    Counter { delta: f64 },
}

impl GpuStats {
    /// A gauge percentile by label (`"p50"`); `None` for counters or unknown labels.
    pub fn percentile(&self, label: &str) -> Option<f64> {
        self.labelled_percentiles()?
            .into_iter()
            .find(|(l, _)| *l == label)
            .map(|(_, v)| v)
    }

    /// A gauge's percentiles as `(label, value)`, `p1` first; `None` for counters.
    pub fn labelled_percentiles(&self) -> Option<[(&'static str, f64); 9]> {
        match self {
            GpuStats::Gauge { percentiles, .. } => {
                let mut i = 0;
                Some(PERCENTILE_LABELS.map(|label| {
                    let value = percentiles[i];
                    i += 1;
                    (label, value)
                }))
            }
            GpuStats::Counter { .. } => None,
        }
    }
}

/// One GPU over the window: a `gpus.gpu_<i>` entry of `telemetry_data`.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuSummary {
    pub gpu: GpuId,
    /// In AIPerf's config order; metrics without data in the window are left out.
    pub metrics: Vec<GpuMetric>,
}

impl GpuSummary {
    /// The metric named `name`, if it had data in the window.
    pub fn metric(&self, name: &str) -> Option<&GpuMetric> {
        self.metrics.iter().find(|m| m.name == name)
    }
}

/// Summarises every GPU seen in `samples` over the window `[start_ns, end_ns]` (both
/// inclusive, as AIPerf's time filter).
///
/// GPUs are told apart by (endpoint, UUID); the identity of a GPU is that of its first
/// sample in `samples`. Every GPU appears, even one without data in the window (its
/// `metrics` then empty), as in AIPerf's export. Output sorted by endpoint, then index.
///
/// - Gauges: statistics of the values in the window; left out if there is none.
/// - Counters: delta from the reference — the last value strictly before `start_ns`
///   (AIPerf's baseline), or without one the first value in the window — to the last
///   value in the window; left out if the window has none. Reset-safe like
///   `aggregate.rs`: a drop means the counter restarted from 0, so the increase after it
///   counts from 0. Without drops this is exactly AIPerf's `last − reference`; AIPerf
///   itself clamps a negative `last − reference` to 0 instead.
pub fn aggregate_gpus(samples: &[GpuSample], start_ns: u64, end_ns: u64) -> Vec<GpuSummary> {
    let mut groups: BTreeMap<(&str, &str), Vec<&GpuSample>> = BTreeMap::new();
    for sample in samples {
        groups
            .entry((sample.gpu.endpoint.as_str(), sample.gpu.uuid.as_str()))
            .or_default()
            .push(sample);
    }
    let mut out: Vec<GpuSummary> = groups
        .into_values()
        .map(|mut gpu_samples| {
            let gpu = gpu_samples[0].gpu.clone();
            gpu_samples.sort_by_key(|s| s.t_ns);
            GpuSummary {
                gpu,
                metrics: summarize_gpu(&gpu_samples, start_ns, end_ns),
            }
        })
        .collect();
    out.sort_by(|a, b| a.gpu.cmp(&b.gpu));
    out
}

/// The metrics of one GPU (samples sorted by time).
fn summarize_gpu(samples: &[&GpuSample], start_ns: u64, end_ns: u64) -> Vec<GpuMetric> {
    let in_window = |t: u64| start_ns <= t && t <= end_ns;
    let scrapes_in_window = samples.iter().filter(|s| in_window(s.t_ns)).count();
    metrics_seen(samples)
        .into_iter()
        .filter_map(|def| {
            let series: Vec<(u64, f64)> = samples
                .iter()
                .filter_map(|s| s.value(&def.name).map(|v| (s.t_ns, v)))
                .filter(|(_, v)| v.is_finite())
                .collect();
            let stats = match def.kind {
                MetricKind::Counter => counter_stats(&series, start_ns, end_ns)?,
                MetricKind::Gauge => {
                    let values: Vec<f64> = series
                        .iter()
                        .filter(|(t, _)| in_window(*t))
                        .map(|&(_, v)| v)
                        .collect();
                    gauge_stats(&values, scrapes_in_window)?
                }
            };
            Some(GpuMetric {
                name: def.name.clone(),
                display: def.display.clone(),
                unit: def.unit.clone(),
                stats,
            })
        })
        .collect()
}

/// The distinct metric definitions in `samples`, in config order.
fn metrics_seen(samples: &[&GpuSample]) -> Vec<Arc<MetricDef>> {
    let mut defs: Vec<Arc<MetricDef>> = Vec::new();
    for value in samples.iter().flat_map(|s| s.values.iter()) {
        if !defs.iter().any(|d| d.name == value.metric.name) {
            defs.push(value.metric.clone());
        }
    }
    defs.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.name.cmp(&b.name)));
    defs
}

/// Counter delta over the window (see [`aggregate_gpus`]); `series` sorted by time.
fn counter_stats(series: &[(u64, f64)], start_ns: u64, end_ns: u64) -> Option<GpuStats> {
    let window: Vec<f64> = series
        .iter()
        .filter(|(t, _)| start_ns <= *t && *t <= end_ns)
        .map(|&(_, v)| v)
        .collect();
    let (&first_in_window, rest) = window.split_first()?;
    let baseline = series
        .iter()
        .rev()
        .find(|(t, _)| *t < start_ns)
        .map(|&(_, v)| v);
    let from = match baseline {
        Some(reference) => std::iter::once(reference).chain(window.iter().copied()),
        None => std::iter::once(first_in_window).chain(rest.iter().copied()),
    };
    let delta = running_increase(from).last().copied().unwrap_or(0.0);
    Some(GpuStats::Counter { delta })
}

/// Gauge statistics as numpy computes them; `None` without values.
fn gauge_stats(values: &[f64], count: usize) -> Option<GpuStats> {
    if values.is_empty() {
        return None;
    }
    let sum = np_sum(values);
    let avg = np_mean(values);
    let std = if values.len() > 1 {
        np_std(values, 1)
    } else {
        0.0
    };
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let percentiles = PERCENTILES.map(|percent| np_percentile(&sorted, percent));
    Some(GpuStats::Gauge {
        avg,
        min: sorted[0],
        max: sorted[sorted.len() - 1],
        std,
        sum,
        percentiles,
        count,
        samples: values.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_unit_token_follows_the_regex() {
        assert_eq!(first_in_unit("SM clock (in MHz)."), Some("MHz"));
        assert_eq!(first_in_unit("x (IN  W)"), Some("W"));
        assert_eq!(first_in_unit("x (inW)"), None);
        assert_eq!(first_in_unit("x (in W x)"), None);
        assert_eq!(first_in_unit("(note) then (in %)"), Some("%"));
    }
}
