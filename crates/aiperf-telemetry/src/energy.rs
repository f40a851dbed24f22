//! GPU power-efficiency metrics (`nvidia_*` / `amd_*`), as AIPerf 0.13's
//! `EnergyEfficiencyAnalyzer` computes them (reference: `aiperf/metrics/
//! energy_efficiency_analyzer.py`, `aiperf/metrics/types/power_efficiency_metrics.py`,
//! `GPUTelemetryAccumulator.total_energy_joules / total_power_watts`).
//!
//! Per vendor with GPUs in the run (AMD first, then NVIDIA: AIPerf sorts the platform
//! names):
//! - fleet power W = Σ over the vendor's GPUs of avg(power gauge) over `[start, end]`;
//! - fleet energy J = Σ of the energy counter's delta over `[start, end + 666 ms]` (the
//!   trailing scrape closing the phase lands after it), converted to J;
//! - energy source: the counter when its total is > 0 (average power = J / duration),
//!   else power × duration when the power total and duration are > 0 (average power =
//!   fleet power), else nothing but `total_gpu_power`;
//! - then the ratios of [`energy_metrics`]. A ratio with a missing or zero input is left
//!   out, never NaN or infinite.

use crate::gpu::{aggregate_gpus, GpuSample, GpuStats, GpuSummary, Vendor};

/// AIPerf's `AIPERF_GPU_FINAL_SCRAPE_GRACE_NS` default: added to the phase end for the
/// energy counter's window.
pub const FINAL_SCRAPE_GRACE_NS: u64 = 666_000_000;

/// The client-side totals of the profiling phase that the ratios need, in AIPerf's units
/// (each is the value of the AIPerf metric named in its doc).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientTotals {
    /// `request_count`; 0 leaves out per-request metrics.
    pub requests: u64,
    /// `total_isl` (0 when the endpoint has no input tokens).
    pub input_tokens: u64,
    /// `total_osl` (0 when the endpoint produces no tokens).
    pub output_tokens: u64,
    /// Profiling window in seconds: (requests end − phase start) / 1e9. AIPerf divides
    /// energy by this for the average power.
    pub duration_s: f64,
    /// The first profiling phase's concurrency when it is a positive integer; `None` for
    /// rate-only runs (leaves out `energy_per_user`).
    pub concurrency: Option<u64>,
    /// `request_latency` average in ms (AIPerf's display unit; divided by 1000 for the
    /// energy-delay product).
    pub avg_request_latency_ms: Option<f64>,
    /// `request_throughput`, requests/s.
    pub request_throughput: Option<f64>,
    /// `output_token_throughput`, tokens/s.
    pub output_token_throughput: Option<f64>,
    /// `goodput`, good requests/s (only with `--goodput` SLOs).
    pub goodput: Option<f64>,
}

/// One power-efficiency metric, e.g. `nvidia_energy_per_output_token`. In
/// `profile_export_aiperf.json` it is `{"unit": unit, "avg": value}`.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyMetric {
    pub tag: String,
    /// AIPerf's header, e.g. `Energy per Output Token`.
    pub header: String,
    pub unit: String,
    pub value: f64,
    /// AIPerf's `display_order` (700.. for NVIDIA, 800.. for AMD): the console table
    /// "GPU Power Efficiency (NVIDIA|AMD)" sorts by it; JSON keeps emission order.
    pub display_order: u32,
}

/// The twelve metrics of a vendor.
#[derive(Debug, Clone, Copy)]
enum Efficiency {
    TotalPower,
    AveragePower,
    TotalEnergy,
    OutputTokensPerJoule,
    EnergyPerOutputToken,
    EnergyPerTotalToken,
    EnergyPerRequest,
    EnergyPerUser,
    EnergyDelayProduct,
    PerformancePerWatt,
    OutputTpsPerWatt,
    GoodputPerWatt,
}

impl Efficiency {
    /// (tag suffix, header, unit, display order within the vendor's hundred).
    fn spec(self) -> (&'static str, &'static str, &'static str, u32) {
        match self {
            Efficiency::EnergyDelayProduct => {
                ("energy_delay_product", "Energy Delay Product", "J*s", 0)
            }
            Efficiency::PerformancePerWatt => (
                "performance_per_watt",
                "Performance per Watt",
                "requests/sec/W",
                10,
            ),
            Efficiency::OutputTpsPerWatt => (
                "output_tps_per_watt",
                "Output Tokens per Second per Watt",
                "tokens/sec/W",
                12,
            ),
            Efficiency::GoodputPerWatt => {
                ("goodput_per_watt", "Goodput per Watt", "good-req/s/W", 14)
            }
            Efficiency::AveragePower => ("average_gpu_power", "Average GPU Power", "W", 20),
            Efficiency::TotalEnergy => ("total_gpu_energy", "Total GPU Energy", "J", 30),
            Efficiency::TotalPower => ("total_gpu_power", "Total GPU Power", "W", 40),
            Efficiency::EnergyPerTotalToken => (
                "energy_per_total_token",
                "Energy per Total Token",
                "mJ/token",
                45,
            ),
            Efficiency::EnergyPerOutputToken => (
                "energy_per_output_token",
                "Energy per Output Token",
                "mJ/token",
                50,
            ),
            Efficiency::EnergyPerRequest => (
                "energy_per_request",
                "Energy per Request",
                "joules/request",
                55,
            ),
            Efficiency::OutputTokensPerJoule => (
                "output_tokens_per_joule",
                "Output Tokens per Joule",
                "tokens/J",
                60,
            ),
            Efficiency::EnergyPerUser => ("energy_per_user", "Energy per User", "joules/user", 65),
        }
    }

    fn metric(self, vendor: Vendor, value: f64) -> EnergyMetric {
        let (suffix, header, unit, offset) = self.spec();
        let base = match vendor {
            Vendor::Nvidia => 700,
            Vendor::Amd => 800,
        };
        EnergyMetric {
            tag: format!("{}_{suffix}", vendor.platform()),
            header: header.to_string(),
            unit: unit.to_string(),
            value,
            display_order: base + offset,
        }
    }
}

/// AIPerf's power gauge and energy counter of a vendor.
fn power_and_energy_fields(vendor: Vendor) -> (&'static str, &'static str) {
    match vendor {
        Vendor::Nvidia => ("nvidia_power_usage", "nvidia_energy_consumption"),
        Vendor::Amd => ("amd_power", "amd_energy_consumption"),
    }
}

/// The efficiency metrics from one set of summaries used for both power and energy.
///
/// AIPerf averages power over `[start, end]` but takes the energy delta over
/// `[start, end + FINAL_SCRAPE_GRACE_NS]`; with summaries of a single window the power
/// average may differ slightly. [`energy_metrics_for_window`] reproduces both windows.
pub fn energy_metrics(gpus: &[GpuSummary], totals: &ClientTotals) -> Vec<EnergyMetric> {
    energy_metrics_split(gpus, gpus, totals)
}

/// The efficiency metrics exactly as AIPerf windows them: power gauges over
/// `[start_ns, end_ns]`, energy counters over `[start_ns, end_ns + FINAL_SCRAPE_GRACE_NS]`
/// (`end_ns` = the profiling phase's requests end). When `totals.duration_s` is not
/// positive, the duration falls back to the span of all samples, as AIPerf does for an
/// unbounded window.
pub fn energy_metrics_for_window(
    samples: &[GpuSample],
    start_ns: u64,
    end_ns: u64,
    totals: &ClientTotals,
) -> Vec<EnergyMetric> {
    let power_window = aggregate_gpus(samples, start_ns, end_ns);
    let energy_window = aggregate_gpus(
        samples,
        start_ns,
        end_ns.saturating_add(FINAL_SCRAPE_GRACE_NS),
    );
    let mut totals = totals.clone();
    if totals.duration_s <= 0.0 {
        totals.duration_s = scrape_span_s(samples);
    }
    energy_metrics_split(&power_window, &energy_window, &totals)
}

/// Seconds between the first and last sample (0 without two distinct times).
fn scrape_span_s(samples: &[GpuSample]) -> f64 {
    let first = samples.iter().map(|s| s.t_ns).min();
    let last = samples.iter().map(|s| s.t_ns).max();
    match (first, last) {
        (Some(a), Some(b)) if b > a => (b - a) as f64 / 1e9,
        _ => 0.0,
    }
}

/// Per vendor present in `energy_window` (AMD, then NVIDIA): power from `power_window`,
/// energy from `energy_window`.
pub fn energy_metrics_split(
    power_window: &[GpuSummary],
    energy_window: &[GpuSummary],
    totals: &ClientTotals,
) -> Vec<EnergyMetric> {
    let mut out = Vec::new();
    for vendor in [Vendor::Amd, Vendor::Nvidia] {
        let present = energy_window
            .iter()
            .chain(power_window)
            .any(|g| g.gpu.vendor == vendor);
        if present {
            out.extend(vendor_metrics(vendor, power_window, energy_window, totals));
        }
    }
    out
}

/// A sum over GPUs and how many GPUs contributed (0 = the signal is absent).
#[derive(Debug, Clone, Copy, Default)]
struct FleetTotal {
    value: f64,
    gpus: usize,
}

/// Σ avg(power) over the vendor's GPUs that have the power gauge.
fn fleet_power_w(vendor: Vendor, gpus: &[GpuSummary]) -> FleetTotal {
    let (power, _) = power_and_energy_fields(vendor);
    gpus.iter()
        .filter(|g| g.gpu.vendor == vendor)
        .filter_map(|g| match g.metric(power)?.stats {
            GpuStats::Gauge { avg, .. } => Some(avg),
            GpuStats::Counter { .. } => None,
        })
        .fold(FleetTotal::default(), |acc, w| FleetTotal {
            value: acc.value + w,
            gpus: acc.gpus + 1,
        })
}

/// Σ energy-counter delta over the vendor's GPUs, in joules.
fn fleet_energy_j(vendor: Vendor, gpus: &[GpuSummary]) -> FleetTotal {
    let (_, energy) = power_and_energy_fields(vendor);
    gpus.iter()
        .filter(|g| g.gpu.vendor == vendor)
        .filter_map(|g| {
            let metric = g.metric(energy)?;
            match metric.stats {
                GpuStats::Counter { delta } => Some(delta * joules_per_unit(&metric.unit)),
                GpuStats::Gauge { .. } => None,
            }
        })
        .fold(FleetTotal::default(), |acc, j| FleetTotal {
            value: acc.value + j,
            gpus: acc.gpus + 1,
        })
}

/// Joules in one `unit`. AIPerf's energy fields are in MJ and it always multiplies by
/// 1e6, so an unknown unit is read as MJ too.
fn joules_per_unit(unit: &str) -> f64 {
    match unit {
        "J" => 1.0,
        "mJ" => 1e-3,
        "kJ" => 1e3,
        _ => 1_000_000.0,
    }
}

/// Total energy (J) and average power (W); `None` when neither signal gives energy
/// (AIPerf's `EnergySource.UNAVAILABLE`).
fn resolve_energy(energy: FleetTotal, power: FleetTotal, duration_s: f64) -> Option<(f64, f64)> {
    if energy.gpus > 0 && energy.value > 0.0 {
        let avg_power = if duration_s > 0.0 {
            energy.value / duration_s
        } else {
            0.0
        };
        return Some((energy.value, avg_power));
    }
    if power.gpus > 0 && power.value > 0.0 && duration_s > 0.0 {
        return Some((power.value * duration_s, power.value));
    }
    None
}

/// AIPerf's `_analyze_vendor`, in its emission order.
fn vendor_metrics(
    vendor: Vendor,
    power_window: &[GpuSummary],
    energy_window: &[GpuSummary],
    totals: &ClientTotals,
) -> Vec<EnergyMetric> {
    let power = fleet_power_w(vendor, power_window);
    let energy = fleet_energy_j(vendor, energy_window);
    let mut out = Vec::new();
    if power.gpus > 0 {
        out.push(Efficiency::TotalPower.metric(vendor, power.value));
    }
    let Some((energy_j, avg_power_w)) = resolve_energy(energy, power, totals.duration_s) else {
        return out;
    };
    if avg_power_w > 0.0 {
        out.push(Efficiency::AveragePower.metric(vendor, avg_power_w));
    }
    out.push(Efficiency::TotalEnergy.metric(vendor, energy_j));
    out.extend(
        energy_ratios(energy_j, totals)
            .into_iter()
            .map(|(which, value)| which.metric(vendor, value)),
    );
    out.extend(
        per_watt(avg_power_w, totals)
            .into_iter()
            .map(|(which, value)| which.metric(vendor, value)),
    );
    out
}

const MS_PER_SECOND: f64 = 1000.0;

/// AIPerf's `_energy_ratio_metrics` (`energy_j` > 0 here).
fn energy_ratios(energy_j: f64, totals: &ClientTotals) -> Vec<(Efficiency, f64)> {
    let mut out = Vec::new();
    let output_tokens = totals.output_tokens as f64;
    if totals.output_tokens > 0 {
        out.push((Efficiency::OutputTokensPerJoule, output_tokens / energy_j));
        out.push((
            Efficiency::EnergyPerOutputToken,
            energy_j * MS_PER_SECOND / output_tokens,
        ));
    }
    let total_tokens = totals.input_tokens as f64 + output_tokens;
    if total_tokens > 0.0 {
        out.push((
            Efficiency::EnergyPerTotalToken,
            energy_j * MS_PER_SECOND / total_tokens,
        ));
    }
    let per_request = (totals.requests > 0).then(|| energy_j / totals.requests as f64);
    if let Some(j) = per_request {
        out.push((Efficiency::EnergyPerRequest, j));
    }
    if let Some(users) = totals.concurrency.filter(|&c| c > 0) {
        out.push((Efficiency::EnergyPerUser, energy_j / users as f64));
    }
    let latency_ms = totals
        .avg_request_latency_ms
        .filter(|&ms| ms != 0.0 && ms.is_finite());
    if let (Some(j), Some(ms)) = (per_request, latency_ms) {
        out.push((Efficiency::EnergyDelayProduct, j * (ms / MS_PER_SECOND)));
    }
    out
}

/// AIPerf's `_per_watt_metrics`: a throughput of 0 still gives 0 per watt (only a
/// missing one is left out).
fn per_watt(avg_power_w: f64, totals: &ClientTotals) -> Vec<(Efficiency, f64)> {
    if avg_power_w <= 0.0 {
        return Vec::new();
    }
    [
        (Efficiency::PerformancePerWatt, totals.request_throughput),
        (Efficiency::OutputTpsPerWatt, totals.output_token_throughput),
        (Efficiency::GoodputPerWatt, totals.goodput),
    ]
    .into_iter()
    .filter_map(|(which, value)| {
        let v = value.filter(|v| v.is_finite())?;
        Some((which, v / avg_power_w))
    })
    .collect()
}
