//! What the dashboard shows, kept cheaply while the run goes on.
//!
//! The record processor folds each finished record into running aggregates (HDR histograms,
//! counters, per-second buckets) under one uncontended lock, on its own thread, never on the
//! request path; the dashboard copies a snapshot about four times a second. Final numbers still
//! come from the exact statistics of the metrics stage.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

use aiperf_core::ErrorDetails;
use aiperf_metrics::RecordValues;
use hdrhistogram::Histogram;

use crate::snapshot::PhaseSnapshot;

/// Seconds of history kept for the sparklines.
pub const HISTORY_S: usize = 120;
/// Log lines kept for the log panel.
pub const LOG_LINES: usize = 200;

/// A distribution in display units (ms or tokens), as HDR histograms of integer micro-units.
#[derive(Clone)]
pub struct Running {
    hist: Histogram<u64>,
    sum: f64,
    sum_sq: f64,
    /// Display value = recorded / scale.
    scale: f64,
}

impl Running {
    fn new(scale: f64) -> Self {
        Self {
            hist: Histogram::new(3).expect("3 significant digits is a valid HDR precision"),
            sum: 0.0,
            sum_sq: 0.0,
            scale,
        }
    }

    fn add(&mut self, v: f64) {
        if v.is_finite() && v >= 0.0 {
            let _ = self.hist.record((v * self.scale).round() as u64);
            self.sum += v;
            self.sum_sq += v * v;
        }
    }

    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// avg, min, max, p99, p90, p50, std (the console table's columns), in display units.
    pub fn row(&self) -> Option<[f64; 7]> {
        let n = self.hist.len();
        if n == 0 {
            return None;
        }
        let q = |p: f64| self.hist.value_at_quantile(p) as f64 / self.scale;
        let mean = self.sum / n as f64;
        let var = (self.sum_sq / n as f64 - mean * mean).max(0.0);
        Some([
            mean,
            self.hist.min() as f64 / self.scale,
            self.hist.max() as f64 / self.scale,
            q(0.99),
            q(0.90),
            q(0.50),
            var.sqrt(),
        ])
    }
}

/// One second of finished requests.
#[derive(Clone, Copy, Default)]
pub struct Second {
    pub requests: u64,
    pub output_tokens: f64,
    pub ttft_ms_sum: f64,
    pub ttft_n: u64,
}

/// One GPU's latest reading, for the dashboard's GPU panel.
#[derive(Clone, Debug, PartialEq)]
pub struct GpuLive {
    /// `gpu 0 NVIDIA H100 80GB HBM3`.
    pub label: String,
    pub power_w: Option<f64>,
    pub utilization_pct: Option<f64>,
    pub memory_used_gb: Option<f64>,
    pub temperature_c: Option<f64>,
}

impl GpuLive {
    fn from_sample(s: &aiperf_telemetry::GpuSample) -> Self {
        let v = |name: &str| s.value(name);
        let p = s.gpu.vendor.platform();
        Self {
            label: format!("gpu {} {}", s.gpu.index, s.gpu.name),
            power_w: v(&format!("{p}_power_usage")).or_else(|| v("amd_power")),
            utilization_pct: v("nvidia_gpu_utilization").or_else(|| v("amd_gfx_activity")),
            memory_used_gb: v(&format!("{p}_memory_used")),
            temperature_c: v(&format!("{p}_temperature")),
        }
    }
}

/// Everything the dashboard draws.
#[derive(Clone)]
pub struct LiveState {
    pub phase: Option<PhaseSnapshot>,
    /// What the run is doing now (`warmup`, `profiling`, `grace`, `exporting`).
    pub stage: &'static str,
    pub ttft_ms: Running,
    pub ttst_ms: Running,
    pub itl_ms: Running,
    pub per_user_tps: Running,
    pub latency_ms: Running,
    pub isl: Running,
    pub osl: Running,
    pub lateness_ms: Running,
    pub ok: u64,
    pub errors: u64,
    pub output_tokens: f64,
    pub errors_by: BTreeMap<String, u64>,
    pub last_error: Option<String>,
    /// Per-second buckets since the profiling phase started (oldest first).
    pub seconds: VecDeque<Second>,
    /// The latest GPU readings per telemetry source.
    pub gpus: BTreeMap<String, Vec<GpuLive>>,
    first_second: Option<Instant>,
    base: u64,
}

/// Shared between the record processor (writer), the engine (phases) and the dashboard.
pub struct Live {
    state: Mutex<LiveState>,
}

impl Default for Live {
    fn default() -> Self {
        Self {
            state: Mutex::new(LiveState {
                phase: None,
                stage: "preparing",
                ttft_ms: Running::new(1e3),
                ttst_ms: Running::new(1e3),
                itl_ms: Running::new(1e3),
                per_user_tps: Running::new(1e3),
                latency_ms: Running::new(1e3),
                isl: Running::new(1.0),
                osl: Running::new(1.0),
                lateness_ms: Running::new(1e3),
                ok: 0,
                errors: 0,
                output_tokens: 0.0,
                errors_by: BTreeMap::new(),
                last_error: None,
                seconds: VecDeque::new(),
                gpus: BTreeMap::new(),
                first_second: None,
                base: 0,
            }),
        }
    }
}

impl Live {
    pub fn snapshot(&self) -> Option<LiveState> {
        self.state.lock().ok().map(|s| s.clone())
    }

    pub fn set_stage(&self, stage: &'static str) {
        if let Ok(mut s) = self.state.lock() {
            s.stage = stage;
        }
    }

    /// The phase's latest counts; the stage becomes its name, or `grace` past its duration.
    pub fn set_phase(&self, phase: &PhaseSnapshot) {
        if let Ok(mut s) = self.state.lock() {
            s.stage = if phase.past_duration() {
                "grace"
            } else {
                phase.phase.as_str()
            };
            s.phase = Some(phase.clone());
        }
    }

    /// The latest reading of a GPU telemetry source (its scrape task or the NVML thread).
    pub fn set_gpus(&self, source: &str, samples: &[aiperf_telemetry::GpuSample]) {
        if let Ok(mut s) = self.state.lock() {
            let gpus = samples.iter().map(GpuLive::from_sample).collect();
            s.gpus.insert(source.to_string(), gpus);
        }
    }

    /// Folds one profiling record in (processor thread).
    pub fn record(&self, v: &RecordValues, error: Option<&ErrorDetails>) {
        let Ok(mut s) = self.state.lock() else {
            return;
        };
        let now = Instant::now();
        let origin = *s.first_second.get_or_insert(now);
        let sec = now.duration_since(origin).as_secs();
        // Buckets cover seconds `base ..= base + len - 1` since the first record.
        while s.base + s.seconds.len() as u64 <= sec {
            s.seconds.push_back(Second::default());
            if s.seconds.len() > HISTORY_S {
                s.seconds.pop_front();
                s.base += 1;
            }
        }
        let ms = |ns: Option<f64>| ns.map(|v| v / 1e6);
        match error {
            Some(e) => {
                s.errors += 1;
                let key = format!(
                    "{} {}",
                    e.code.map_or("-".into(), |c| c.to_string()),
                    e.kind
                );
                *s.errors_by.entry(key).or_insert(0) += 1;
                s.last_error = Some(e.message.chars().take(200).collect());
            }
            None => {
                s.ok += 1;
                if let Some(t) = ms(v.time_to_first_token) {
                    s.ttft_ms.add(t);
                    if let Some(b) = s.seconds.back_mut() {
                        b.ttft_ms_sum += t;
                        b.ttft_n += 1;
                    }
                }
                if let Some(t) = ms(v.time_to_second_token) {
                    s.ttst_ms.add(t);
                }
                if let Some(t) = ms(v.inter_token_latency) {
                    s.itl_ms.add(t);
                }
                if let Some(t) = v.output_token_throughput_per_user {
                    s.per_user_tps.add(t);
                }
                if let Some(t) = ms(v.request_latency) {
                    s.latency_ms.add(t);
                }
                if let Some(n) = v.output_sequence_length {
                    s.osl.add(n);
                    s.output_tokens += n;
                    if let Some(b) = s.seconds.back_mut() {
                        b.output_tokens += n;
                    }
                }
                if let Some(b) = s.seconds.back_mut() {
                    b.requests += 1;
                }
            }
        }
        if let Some(n) = v.input_sequence_length {
            s.isl.add(n);
        }
        if let Some(t) = ms(v.schedule_lateness) {
            s.lateness_ms.add(t);
        }
    }
}

/// The most recent log lines, for the dashboard's log panel (filled by [`LogRing`]).
pub static LOG_RING: Mutex<VecDeque<String>> = Mutex::new(VecDeque::new());

/// Set once the dashboard has given the terminal back: later lines go to stderr as well.
pub static ECHO_TO_STDERR: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// A `tracing` writer that keeps each formatted event in [`LOG_RING`].
#[derive(Default)]
pub struct LogRing(Vec<u8>);

impl std::io::Write for LogRing {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogRing {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        if ECHO_TO_STDERR.load(std::sync::atomic::Ordering::Relaxed) {
            eprint!("{text}");
        }
        if let Ok(mut ring) = LOG_RING.lock() {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                ring.push_back(line.to_string());
                if ring.len() > LOG_LINES {
                    ring.pop_front();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_rows_match_hand_computed_statistics() {
        let mut r = Running::new(1e3);
        for v in [1.0, 2.0, 3.0, 4.0] {
            r.add(v);
        }
        let [avg, min, max, p99, _p90, p50, std] = r.row().unwrap();
        // HDR buckets hold 3 significant digits: percentiles within 0.1 %.
        let near = |a: f64, b: f64| (a - b).abs() <= b * 1e-3;
        assert_eq!(avg, 2.5);
        assert!(near(min, 1.0) && near(max, 4.0) && near(p99, 4.0) && near(p50, 2.0));
        assert!((std - 1.118_034).abs() < 1e-6, "population std: {std}");
        assert!(Running::new(1.0).row().is_none());
    }

    #[test]
    fn records_fold_into_counts_errors_and_seconds() {
        let live = Live::default();
        let ok = RecordValues {
            time_to_first_token: Some(20e6),
            request_latency: Some(100e6),
            output_sequence_length: Some(8.0),
            ..Default::default()
        };
        live.record(&ok, None);
        live.record(&ok, None);
        let e = ErrorDetails::new(Some(503), "Service Unavailable", "busy");
        live.record(&RecordValues::default(), Some(&e));
        let s = live.snapshot().unwrap();
        assert_eq!((s.ok, s.errors, s.output_tokens), (2, 1, 16.0));
        assert_eq!(s.errors_by["503 Service Unavailable"], 1);
        assert_eq!(s.last_error.as_deref(), Some("busy"));
        assert_eq!(s.ttft_ms.row().unwrap()[0], 20.0, "the mean is exact");
        assert_eq!(s.seconds.back().unwrap().requests, 2);
    }
}
