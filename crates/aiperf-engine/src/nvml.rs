//! `--gpu-telemetry pynvml`: this machine's NVIDIA GPUs read through NVML, the library behind
//! `nvidia-smi`, instead of a DCGM exporter. The library is opened at run time
//! (`nvml-wrapper` loads `libnvidia-ml.so` with `libloading`), so it is never a build or
//! start-up requirement: without it, or without GPUs, the run says so in one line and goes on.
//!
//! Readings follow AIPerf's pynvml collector (`gpu_telemetry/pynvml_collector.py`): every
//! 333 ms on a thread of its own (NVML calls block), scaled to AIPerf's units, as
//! [`GpuSample`]s from the source `pynvml://localhost`, so they are summarised and exported
//! exactly like DCGM pages.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use aiperf_core::Clock;
use aiperf_telemetry::{endpoint_display, FieldMap, GpuId, GpuSample, GpuValue, Vendor};

use crate::ui::live::Live;
use nvml_wrapper::enum_wrappers::device::{PerformancePolicy, TemperatureSensor};
use nvml_wrapper::{Device, Nvml};

/// AIPerf's source URL for local NVML readings.
pub const SOURCE_URL: &str = "pynvml://localhost";
const INTERVAL: Duration = Duration::from_millis(333);

/// The sampling thread; [`NvmlSampler::finish`] takes a last reading and returns them all.
pub struct NvmlSampler {
    stop: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<Vec<GpuSample>>,
}

/// Opens NVML and starts sampling; `None` (after one info line) when the library or the
/// GPUs are not there.
pub fn start(map: &FieldMap, clock: Clock, live: Option<Arc<Live>>) -> Option<NvmlSampler> {
    let nvml = match Nvml::init() {
        Ok(n) => n,
        Err(e) => {
            tracing::info!("--gpu-telemetry pynvml: NVML is not available ({e}); no GPU telemetry");
            return None;
        }
    };
    let count = nvml.device_count().unwrap_or(0);
    if count == 0 {
        tracing::info!("--gpu-telemetry pynvml: NVML sees no GPU; no GPU telemetry");
        return None;
    }
    let map = map.clone();
    let (stop, stopped) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("nvml".into())
        .spawn(move || sample_until_stopped(&nvml, count, &map, clock, live, &stopped))
        .ok()?;
    Some(NvmlSampler { stop, thread })
}

impl NvmlSampler {
    pub fn finish(self) -> Vec<GpuSample> {
        let _ = self.stop.send(());
        self.thread.join().unwrap_or_default()
    }
}

fn sample_until_stopped(
    nvml: &Nvml,
    count: u32,
    map: &FieldMap,
    clock: Clock,
    live: Option<Arc<Live>>,
    stopped: &mpsc::Receiver<()>,
) -> Vec<GpuSample> {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string());
    let mut out = Vec::new();
    let read_all = |out: &mut Vec<GpuSample>| {
        let t_ns = clock.to_wall_ns(clock.now_ns());
        let from = out.len();
        for index in 0..count {
            if let Ok(device) = nvml.device_by_index(index) {
                out.extend(read(&device, index, hostname.clone(), map, t_ns));
            }
        }
        if let Some(l) = &live {
            l.set_gpus(SOURCE_URL, &out[from..]);
        }
    };
    loop {
        read_all(&mut out);
        // Asked to stop (or the engine is gone): one more reading, after the last response,
        // closes the window.
        if !matches!(
            stopped.recv_timeout(INTERVAL),
            Err(mpsc::RecvTimeoutError::Timeout)
        ) {
            read_all(&mut out);
            return out;
        }
    }
}

/// One GPU's reading; a value the GPU does not support is left out, as AIPerf leaves it.
fn read(
    device: &Device,
    index: u32,
    hostname: Option<String>,
    map: &FieldMap,
    t_ns: u64,
) -> Option<GpuSample> {
    let mut raw: Vec<(&str, f64)> = Vec::new();
    if let Ok(mw) = device.power_usage() {
        raw.push(("nvidia_power_usage", f64::from(mw) * 1e-3));
    }
    if let Ok(mj) = device.total_energy_consumption() {
        raw.push(("nvidia_energy_consumption", mj as f64 * 1e-9));
    }
    if let Ok(u) = device.utilization_rates() {
        raw.push(("nvidia_gpu_utilization", f64::from(u.gpu)));
        raw.push(("nvidia_memory_utilization", f64::from(u.memory)));
    }
    if let Ok(m) = device.memory_info() {
        raw.push(("nvidia_memory_used", m.used as f64 * 1e-9));
    }
    if let Ok(t) = device.temperature(TemperatureSensor::Gpu) {
        raw.push(("nvidia_temperature", f64::from(t)));
    }
    if let Ok(d) = device.decoder_utilization() {
        raw.push(("nvidia_decoder_utilization", f64::from(d.utilization)));
    }
    if let Ok(e) = device.encoder_utilization() {
        raw.push(("nvidia_encoder_utilization", f64::from(e.utilization)));
    }
    if let Ok(v) = device.violation_status(PerformancePolicy::Power) {
        raw.push(("nvidia_power_violation", v.violation_time as f64 * 1e-3));
    }
    let values: Vec<GpuValue> = raw
        .into_iter()
        .filter_map(|(name, value)| {
            let metric = Arc::clone(map.metric(name)?);
            Some(GpuValue { metric, value })
        })
        .collect();
    if values.is_empty() {
        return None;
    }
    let gpu = GpuId {
        endpoint: endpoint_display(SOURCE_URL),
        index,
        uuid: device.uuid().ok()?,
        name: device.name().unwrap_or_else(|_| "Unknown".into()),
        hostname,
        pci_bus_id: device.pci_info().ok().map(|p| p.bus_id),
        device: Some(format!("nvidia{index}")),
        namespace: None,
        pod_name: None,
        vendor: Vendor::Nvidia,
    };
    Some(GpuSample {
        t_ns,
        source_url: SOURCE_URL.to_string(),
        gpu,
        values,
    })
}
