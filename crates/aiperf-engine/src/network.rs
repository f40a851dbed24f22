//! Network latency calibration: probes the server's round trip during the run
//! (`--network-latency-automatic`) or takes it as given (`--network-latency-mean`), and adds
//! `network_rtt` and the `network_adjusted_*` metrics to the report.
//!
//! As AIPerf 0.13 (`aiperf/network_latency`): one prober per unique `host:port` of the `--url`s,
//! each opening a fresh TCP connection every ping interval (a pooled client would measure ~0),
//! timing the handshake on the monotonic clock and closing it; no TLS, so http and https
//! measure the same round trip. Hosts are resolved once, so probes time the connect only. A
//! short run is topped up to `MIN_SAMPLES` successful probes at the end, within a wall-clock
//! budget. Every probe is a line of `profile_export_network_latency.jsonl`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aiperf_config::resolve::NetworkLatency;
use aiperf_config::ProfileConfig;
use aiperf_core::Clock;
use aiperf_export::RunReport;
use anyhow::anyhow;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// AIPerf's per-probe artifact (without `--profile-export-prefix`).
pub(crate) const NETWORK_LATENCY_JSONL_FILE: &str = "profile_export_network_latency.jsonl";

/// One probe target: a unique `host:port` of the `--url`s.
#[derive(Debug)]
struct Target {
    /// The URL it came from, credentials redacted.
    url: String,
    host: String,
    port: u16,
    /// Resolved once, before the first probe.
    addr: SocketAddr,
}

/// One probe, as AIPerf's `NetworkLatencySample` serialises it (absent fields left out).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct Sample {
    /// Wall clock when the probe was issued (epoch ns).
    timestamp_ns: u64,
    target_url: String,
    target_host: String,
    target_port: u16,
    probe_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rtt_ns: Option<u64>,
    success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ProbeError>,
}

/// Why a probe failed, in AIPerf's `ErrorDetails` shape (Python exception names).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
struct ProbeError {
    #[serde(rename = "type")]
    kind: String,
    message: String,
    cause_chain: Vec<String>,
}

impl ProbeError {
    fn new(kind: &str, why: impl std::fmt::Display) -> Self {
        ProbeError {
            kind: kind.to_string(),
            message: format!("{kind}({:?})", why.to_string()),
            cause_chain: vec![kind.to_string()],
        }
    }

    fn io(e: &std::io::Error) -> Self {
        use std::io::ErrorKind::*;
        let kind = match e.kind() {
            ConnectionRefused => "ConnectionRefusedError",
            ConnectionReset => "ConnectionResetError",
            ConnectionAborted => "ConnectionAbortedError",
            TimedOut => "TimeoutError",
            _ => "OSError",
        };
        ProbeError::new(kind, e)
    }
}

/// What every probe of a run shares.
#[derive(Clone)]
struct Probing {
    clock: Clock,
    connect_timeout: Duration,
    samples: Arc<Mutex<Vec<Sample>>>,
}

impl Probing {
    /// One handshake: connect, time it, close. Never fails: a failure is a failed sample.
    async fn probe_once(&self, t: &Target) -> bool {
        let timestamp_ns = self.clock.to_wall_ns(self.clock.now_ns());
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.connect_timeout, TcpStream::connect(t.addr)).await;
        let rtt = started.elapsed();
        let (rtt_ns, error) = match outcome {
            Ok(Ok(stream)) => {
                drop(stream);
                (Some(rtt.as_nanos() as u64), None)
            }
            Ok(Err(e)) => (None, Some(ProbeError::io(&e))),
            Err(_) => (
                None,
                Some(ProbeError::new(
                    "TimeoutError",
                    format!("no handshake within {:?}", self.connect_timeout),
                )),
            ),
        };
        let success = rtt_ns.is_some();
        let sample = Sample {
            timestamp_ns,
            target_url: t.url.clone(),
            target_host: t.host.clone(),
            target_port: t.port,
            probe_type: "tcp_connect",
            rtt_ns,
            success,
            error,
        };
        self.samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(sample);
        success
    }

    /// Probes `t` at once and then every `every`, each probe on its own so a slow handshake
    /// does not delay the next; probes still in flight at the stop are dropped.
    async fn run(self, t: Arc<Target>, every: Duration, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut inflight = JoinSet::new();
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let (p, t) = (self.clone(), t.clone());
                    inflight.spawn(async move { p.probe_once(&t).await });
                }
                _ = stop.changed() => break,
            }
            while inflight.try_join_next().is_some() {}
        }
        inflight.abort_all();
    }
}

/// The probing of one run (nothing when calibration is off or a fixed mean is given).
pub(crate) struct Prober {
    running: Option<Running>,
}

struct Running {
    probing: Probing,
    targets: Vec<Arc<Target>>,
    min_samples: u32,
    topup_timeout: Duration,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// What the run measured: every probe, in the order taken.
#[derive(Debug, Default)]
pub(crate) struct Measured {
    samples: Vec<Sample>,
}

impl Measured {
    /// Mean RTT over the successful probes of every target (ns), if there was one.
    fn mean_rtt_ns(&self) -> Option<f64> {
        let ok: Vec<f64> = self
            .samples
            .iter()
            .filter_map(|s| s.rtt_ns)
            .map(|v| v as f64)
            .collect();
        (!ok.is_empty()).then(|| ok.iter().sum::<f64>() / ok.len() as f64)
    }
}

/// The unique `host:port` targets of the `--url`s, each resolved once. A host that cannot be
/// resolved is a set-up error naming it.
async fn targets(cfg: &ProfileConfig) -> anyhow::Result<Vec<Arc<Target>>> {
    let mut out: Vec<Arc<Target>> = Vec::new();
    for url in &cfg.urls {
        if out.iter().any(|t| t.host == url.host && t.port == url.port) {
            continue;
        }
        let addr = tokio::net::lookup_host((url.host.as_str(), url.port))
            .await
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| {
                anyhow!(
                    "--network-latency-automatic: cannot resolve probe target {}",
                    url.authority()
                )
            })?;
        out.push(Arc::new(Target {
            url: url.to_string(),
            host: url.host.clone(),
            port: url.port,
            addr,
        }));
    }
    Ok(out)
}

/// Starts probing (before the first phase). A probe target that cannot be resolved is a
/// set-up error.
pub(crate) async fn start(cfg: &ProfileConfig, clock: Clock) -> anyhow::Result<Prober> {
    let NetworkLatency::Probe(p) = &cfg.network_latency else {
        return Ok(Prober { running: None });
    };
    let targets = targets(cfg).await?;
    let probing = Probing {
        clock,
        connect_timeout: p.connect_timeout,
        samples: Arc::default(),
    };
    let (stop, watch) = watch::channel(false);
    let tasks = targets
        .iter()
        .map(|t| tokio::spawn(probing.clone().run(t.clone(), p.interval, watch.clone())))
        .collect();
    tracing::info!(
        "Network Latency: probing {} target(s) every {:?}",
        targets.len(),
        p.interval
    );
    Ok(Prober {
        running: Some(Running {
            probing,
            targets,
            min_samples: p.min_samples,
            topup_timeout: p.topup_timeout,
            stop,
            tasks,
        }),
    })
}

impl Prober {
    /// Stops probing (after the last response), then tops each target up to the minimum of
    /// successful probes, back to back, within the top-up budget.
    pub(crate) async fn finish(self) -> Measured {
        let Some(r) = self.running else {
            return Measured::default();
        };
        let _ = r.stop.send(true);
        for task in r.tasks {
            let _ = task.await;
        }
        let deadline = Instant::now() + r.topup_timeout;
        for t in &r.targets {
            let successes = |p: &Probing| {
                p.samples
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .filter(|s| s.success && s.target_host == t.host && s.target_port == t.port)
                    .count() as u32
            };
            let mut attempts = 0;
            while successes(&r.probing) < r.min_samples
                && attempts < r.min_samples * 2
                && Instant::now() < deadline
            {
                attempts += 1;
                r.probing.probe_once(t).await;
            }
            if Instant::now() >= deadline {
                tracing::warn!("Network Latency: top-up budget exhausted; proceeding with the samples collected so far");
                break;
            }
        }
        let samples =
            std::mem::take(&mut *r.probing.samples.lock().unwrap_or_else(|e| e.into_inner()));
        Measured { samples }
    }
}

/// The RTT to subtract (ns), if the calibration gives one above 0 (an RTT of 0 would only
/// repeat the raw metrics: AIPerf adds nothing then). The engine hands it to the accumulator
/// before summarising, so the adjusted metrics clamp each request exactly.
pub(crate) fn rtt_ns(cfg: &ProfileConfig, measured: &Measured) -> Option<f64> {
    match &cfg.network_latency {
        NetworkLatency::Off => None,
        NetworkLatency::Fixed { mean_ms } => Some(mean_ms * 1e6),
        NetworkLatency::Probe(_) => measured.mean_rtt_ns(),
    }
    .filter(|r| *r > 0.0)
}

/// Adds the calibration's metrics to the report and writes its artifacts; returns how many
/// artifacts failed to be written (each warned about).
pub(crate) fn apply(cfg: &ProfileConfig, measured: &Measured, rep: &mut RunReport) -> usize {
    let failed = match cfg.network_latency.probes() {
        true => write_samples(cfg, &measured.samples),
        false => 0,
    };
    let Some(rtt) = rtt_ns(cfg, measured) else {
        if cfg.network_latency.probes() && measured.mean_rtt_ns().is_none() {
            tracing::warn!("Network latency calibration enabled but no successful RTT probes were collected; skipping network_adjusted_* metrics.");
        }
        return failed;
    };
    let probes = measured.samples.iter().filter(|s| s.success).count();
    match cfg.network_latency {
        NetworkLatency::Probe(_) => tracing::info!(
            "Network latency calibration: subtracting measured mean RTT of {:.3} ms (over {probes} TCP-handshake probes) from latency metrics (network_adjusted_* metrics).",
            rtt / 1e6
        ),
        _ => tracing::info!(
            "Network latency calibration: subtracting a fixed mean RTT of {:.3} ms from latency metrics (network_adjusted_* metrics).",
            rtt / 1e6
        ),
    }
    for w in aiperf_metrics::network::adjust_summary(&mut rep.summary, rtt) {
        tracing::warn!("{w}");
    }
    failed
}

/// AIPerf's name: `<prefix>_network_latency.jsonl` with `--profile-export-prefix`, else
/// `profile_export_network_latency.jsonl`, in the artifact directory.
fn jsonl_path(cfg: &ProfileConfig) -> std::path::PathBuf {
    let name = match &cfg.output.prefix {
        Some(base) => format!("{base}_network_latency.jsonl"),
        None => NETWORK_LATENCY_JSONL_FILE.to_string(),
    };
    cfg.artifact_dir.join(name)
}

/// `profile_export_network_latency.jsonl`: one line per probe, successful or not.
fn write_samples(cfg: &ProfileConfig, samples: &[Sample]) -> usize {
    let mut text = String::new();
    for s in samples {
        match serde_json::to_string(s) {
            Ok(line) => {
                text.push_str(&line);
                text.push('\n');
            }
            Err(e) => tracing::warn!("network latency sample not written: {e}"),
        }
    }
    let path = jsonl_path(cfg);
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    match aiperf_export::write_atomic(&path, &text) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("{e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(rtt_ns: Option<u64>) -> Sample {
        Sample {
            timestamp_ns: 1_700_000_000_000_000_000,
            target_url: "http://127.0.0.1:8000".into(),
            target_host: "127.0.0.1".into(),
            target_port: 8000,
            probe_type: "tcp_connect",
            rtt_ns,
            success: rtt_ns.is_some(),
            error: rtt_ns
                .is_none()
                .then(|| ProbeError::new("ConnectionRefusedError", "refused")),
        }
    }

    #[test]
    fn mean_rtt_is_over_successful_probes_only() {
        // 100 us and 300 us succeed, one fails: mean 200 us.
        let m = Measured {
            samples: vec![sample(Some(100_000)), sample(None), sample(Some(300_000))],
        };
        assert_eq!(m.mean_rtt_ns(), Some(200_000.0));
        assert_eq!(Measured::default().mean_rtt_ns(), None);
    }

    #[test]
    fn samples_serialise_as_aiperf_writes_them() {
        assert_eq!(
            serde_json::to_string(&sample(Some(1234))).unwrap(),
            r#"{"timestamp_ns":1700000000000000000,"target_url":"http://127.0.0.1:8000","target_host":"127.0.0.1","target_port":8000,"probe_type":"tcp_connect","rtt_ns":1234,"success":true}"#
        );
        assert_eq!(
            serde_json::to_string(&sample(None)).unwrap(),
            r#"{"timestamp_ns":1700000000000000000,"target_url":"http://127.0.0.1:8000","target_host":"127.0.0.1","target_port":8000,"probe_type":"tcp_connect","success":false,"error":{"type":"ConnectionRefusedError","message":"ConnectionRefusedError(\"refused\")","cause_chain":["ConnectionRefusedError"]}}"#
        );
    }

    #[tokio::test]
    async fn a_probe_times_a_real_handshake_and_a_refused_one_fails() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let p = Probing {
            clock: Clock::start(),
            connect_timeout: Duration::from_secs(5),
            samples: Arc::default(),
        };
        let target = |addr: SocketAddr| Target {
            url: format!("http://{addr}"),
            host: addr.ip().to_string(),
            port: addr.port(),
            addr,
        };
        assert!(p.probe_once(&target(addr)).await);
        drop(listener);
        assert!(!p.probe_once(&target(addr)).await);
        let s = p.samples.lock().unwrap().clone();
        let rtt = s[0].rtt_ns.unwrap();
        assert!(rtt > 0 && rtt < 1_000_000_000, "{rtt}");
        assert_eq!(s[1].error.as_ref().unwrap().kind, "ConnectionRefusedError");
    }
}
