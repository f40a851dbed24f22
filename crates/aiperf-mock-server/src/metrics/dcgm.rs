//! The fake GPUs (`--fake-gpus N`): their model (power, energy, utilization, frame buffer, all
//! moving with the load the mock serves) and dcgm-exporter's page at `GET /dcgm/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http::Response;

use super::prometheus::{head, prometheus_response};
use crate::config::MockConfig;
use crate::server::{MockBody, State};

/// Frame buffer of an H100 80GB HBM3, MiB (as nvidia-smi reports it).
const FB_TOTAL_MIB: u64 = 81_559;
/// Frame buffer used with an empty KV cache (weights, activations, CUDA context), MiB.
const FB_BASE_MIB: u64 = 17_000;
/// Frame buffer the full KV cache takes, MiB.
const FB_KV_MIB: f64 = 57_000.0;
/// GPU utilization per inference request in flight, percent (capped at 100).
const UTIL_PER_REQUEST: u64 = 10;

/// The fake GPUs' settings: how many, and their energy model in integers.
pub(super) struct Gpus {
    n: u64,
    idle_watts: f64,
    joules_per_token: f64,
    /// `--gpu-idle-watts` in milliwatts.
    idle_mw: u64,
    /// `--gpu-joules-per-token` in millijoules, for all GPUs together.
    mj_per_token: u64,
}

/// What every fake GPU shows in one scrape (energy aside).
pub(super) struct GpuSnapshot {
    power_w: f64,
    util: u64,
    pub(super) fb_used_mib: u64,
    temp_c: u64,
    sm_clock: u64,
    elapsed: Duration,
    tokens: u64,
}

impl Gpus {
    pub(super) fn new(cfg: &MockConfig) -> Self {
        Self {
            n: u64::from(cfg.fake_gpus),
            idle_watts: cfg.gpu_idle_watts,
            joules_per_token: cfg.gpu_joules_per_token,
            idle_mw: (cfg.gpu_idle_watts * 1000.0).round() as u64,
            mj_per_token: (cfg.gpu_joules_per_token * 1000.0).round() as u64,
        }
    }

    pub(super) fn snapshot(&self, state: &State) -> GpuSnapshot {
        let m = &state.metrics;
        let running = state.load.in_flight() as u64;
        let elapsed = m.started.elapsed();
        let per_gpu = self.n.max(1) as f64;
        let power_w =
            self.idle_watts + self.joules_per_token * m.rate.per_second(elapsed) / per_gpu;
        GpuSnapshot {
            power_w,
            util: (running * UTIL_PER_REQUEST).min(100),
            fb_used_mib: FB_BASE_MIB + (m.kv_usage() * FB_KV_MIB).round() as u64,
            temp_c: (30.0 + 0.06 * power_w).round() as u64,
            sm_clock: if running > 0 { 1980 } else { 345 },
            elapsed,
            tokens: m.generation_tokens.load(Ordering::Relaxed),
        }
    }
}

/// Energy counter of GPU `i` of `n`, in mJ: idle power times the time since start, plus an
/// even share of `tokens * mj_per_token` (the remainder of the division goes one mJ each to
/// the first GPUs, so the GPUs always add up to exactly `tokens * mj_per_token`).
fn gpu_energy_mj(
    idle_mw: u64,
    elapsed: Duration,
    tokens: u64,
    mj_per_token: u64,
    n: u64,
    i: u64,
) -> u64 {
    let idle = u128::from(idle_mw) * elapsed.as_nanos() / 1_000_000_000;
    let work = u128::from(tokens) * u128::from(mj_per_token);
    let n = u128::from(n.max(1));
    let share = (work + n - 1 - u128::from(i)) / n;
    u64::try_from(idle + share).unwrap_or(u64::MAX)
}

/// H100 HGX boards' PCI bus numbers, GPU 0 to 7.
const HGX_BUS: [u8; 8] = [0x18, 0x2A, 0x3A, 0x5D, 0x9A, 0xAB, 0xBA, 0xDB];

/// A stable, UUID-shaped id for GPU `i`.
fn gpu_uuid(i: u64) -> String {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let (a, b) = (mix(2 * i), mix(2 * i + 1));
    format!(
        "GPU-{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        ((b >> 48) & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

/// The labels dcgm-exporter puts on every sample of GPU `i`.
fn gpu_labels(i: u64) -> String {
    format!(
        "gpu=\"{i}\",UUID=\"{}\",pci_bus_id=\"{:08X}:{:02X}:00.0\",device=\"nvidia{i}\",\
         modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"aiperf-mock\",\
         DCGM_FI_DRIVER_VERSION=\"550.54.15\",container=\"\",namespace=\"\",pod=\"\"",
        gpu_uuid(i),
        i / 8,
        HGX_BUS[(i % 8) as usize]
    )
}

/// A DCGM field's value on every GPU, printed as dcgm-exporter prints it.
enum Dcgm {
    /// An integer field.
    Int(u64),
    /// A float field (six decimals).
    Float(f64),
    /// The energy counter, which differs per GPU ([`gpu_energy_mj`]).
    Energy,
}

/// `GET /dcgm/metrics`: a DCGM-exporter page for the `--fake-gpus`.
pub(crate) fn dcgm_page(state: &State) -> Response<MockBody> {
    let m = &state.metrics;
    m.dcgm_scrapes.fetch_add(1, Ordering::Relaxed);
    let gpus = &m.gpus;
    let s = gpus.snapshot(state);
    let active = s.util as f64 / 100.0;
    #[rustfmt::skip]
    let fields = [
        ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz).", Dcgm::Int(s.sm_clock)),
        ("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz).", Dcgm::Int(2619)),
        ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).", Dcgm::Int(s.temp_c)),
        ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", Dcgm::Float(s.power_w)),
        ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter",
            "Total energy consumption since boot (in mJ).", Dcgm::Energy),
        ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "Total number of PCIe retries.", Dcgm::Int(0)),
        ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", Dcgm::Int(s.util)),
        ("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %).", Dcgm::Int(s.util / 2)),
        ("DCGM_FI_DEV_ENC_UTIL", "gauge", "Encoder utilization (in %).", Dcgm::Int(0)),
        ("DCGM_FI_DEV_DEC_UTIL", "gauge", "Decoder utilization (in %).", Dcgm::Int(0)),
        ("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered.", Dcgm::Int(0)),
        ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).",
            Dcgm::Int(FB_TOTAL_MIB - s.fb_used_mib)),
        ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).", Dcgm::Int(s.fb_used_mib)),
        ("DCGM_FI_DEV_POWER_VIOLATION", "counter",
            "Throttling duration due to power constraints (in us).", Dcgm::Int(0)),
        ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active.",
            Dcgm::Float(active)),
        ("DCGM_FI_PROF_SM_ACTIVE", "gauge", "The ratio of cycles an SM has at least 1 warp assigned.",
            Dcgm::Float(active)),
        ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gauge", "Ratio of cycles the tensor (HMMA) pipe is active.",
            Dcgm::Float(active / 2.0)),
    ];
    let labels: Vec<String> = (0..gpus.n).map(gpu_labels).collect();
    let mut out = String::with_capacity(512 * fields.len() * labels.len().max(1));
    for (name, kind, help, value) in &fields {
        head(&mut out, name, kind, help);
        for (i, l) in (0..).zip(&labels) {
            let _ = match value {
                Dcgm::Int(v) => writeln!(out, "{name}{{{l}}} {v}"),
                Dcgm::Float(v) => writeln!(out, "{name}{{{l}}} {v:.6}"),
                Dcgm::Energy => {
                    let mj = gpu_energy_mj(
                        gpus.idle_mw,
                        s.elapsed,
                        s.tokens,
                        gpus.mj_per_token,
                        gpus.n,
                        i,
                    );
                    writeln!(out, "{name}{{{l}}} {mj}")
                }
            };
        }
    }
    prometheus_response(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_splits_exactly_across_gpus() {
        let e = |idle_mw, secs, tokens, n, i| {
            gpu_energy_mj(idle_mw, Duration::from_secs(secs), tokens, 500, n, i)
        };
        // 2 GPUs, 0.5 J/token, 1000 tokens: 250 J each.
        assert_eq!(
            (e(0, 9, 1000, 2, 0), e(0, 9, 1000, 2, 1)),
            (250_000, 250_000)
        );
        // 3 GPUs, 1 token (500 mJ): 167 + 167 + 166, exactly 500 in all.
        let split: Vec<u64> = (0..3).map(|i| e(0, 0, 1, 3, i)).collect();
        assert_eq!(split, vec![167, 167, 166]);
        // Idle: 70 W for 2 s is 140 J.
        assert_eq!(e(70_000, 2, 0, 1, 0), 140_000);
    }

    #[test]
    fn gpu_ids_are_stable_and_distinct() {
        let ids: std::collections::HashSet<String> = (0..64).map(gpu_uuid).collect();
        assert_eq!(ids.len(), 64);
        assert_eq!(gpu_uuid(3), gpu_uuid(3));
        assert_eq!(
            gpu_uuid(0).len(),
            "GPU-2f3c1b7e-9a41-4c5d-8e2f-0b1a2c3d4e5f".len()
        );
        assert!(gpu_labels(9).contains("pci_bus_id=\"00000001:2A:00.0\",device=\"nvidia9\""));
    }
}
