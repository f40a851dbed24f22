//! Publishing during the run: OpenTelemetry (`--otel-url`, `--stream`) and the
//! `--metrics-listen` Prometheus page of the client's own metrics.
//!
//! Both are fed by record taps that only fold numbers (`live/otel.rs`, `live/prom.rs`); the
//! sending and serving happen on tasks of their own. The Prometheus page stays up until
//! [`Live::finish`], that is until every artifact is written (plus
//! `AIPERF_METRICS_LISTEN_LINGER_SECONDS`), so a last scrape sees every record; then the port
//! closes. `docs/observability.md` says what is sent.

mod buckets;
mod otel;
mod otlp;
mod prom;
mod semconv;

use std::sync::Arc;

use aiperf_config::ProfileConfig;
use aiperf_core::Clock;
use aiperf_export::RunReport;

use super::RecordTap;

/// The live publishers of one run.
pub(super) struct Live {
    prom: Option<(Arc<prom::PromStats>, prom::Server)>,
    otel: Option<(Arc<otel::OtelTap>, otlp::Exporter)>,
}

pub(super) async fn start(cfg: &ProfileConfig, clock: Clock) -> anyhow::Result<Live> {
    let prom = match cfg.observability.metrics_listen {
        Some(addr) => {
            let stats = Arc::new(prom::PromStats::default());
            let server = prom::serve(addr, stats.clone()).await?;
            tracing::info!(
                "--metrics-listen: serving live metrics on http://{}/metrics",
                server.addr
            );
            Some((stats, server))
        }
        None => None,
    };
    let otel = match &cfg.observability.otel {
        Some(o) if o.stream_metrics || o.stream_timing => {
            let tap = Arc::new(otel::OtelTap::new(o.stream_metrics, o.stream_timing, clock));
            otlp::Exporter::start(cfg, tap.clone(), clock).map(|e| {
                tracing::info!(
                    "--otel-url: streaming '{}' telemetry to {} every {:.1} s",
                    o.stream_name(),
                    o.metrics_url,
                    o.flush_interval.as_secs_f64()
                );
                (tap, e)
            })
        }
        Some(_) => {
            tracing::info!("--stream none: no OTel telemetry is sent");
            None
        }
        None => None,
    };
    Ok(Live { prom, otel })
}

impl Live {
    pub(super) fn taps(&self) -> Vec<Arc<dyn RecordTap>> {
        let mut taps: Vec<Arc<dyn RecordTap>> = Vec::new();
        if let Some((stats, _)) = &self.prom {
            taps.push(stats.clone());
        }
        if let Some((tap, _)) = &self.otel {
            taps.push(tap.clone());
        }
        taps
    }

    /// Sends the final state and stops; returns the number of failed deliveries (the final
    /// OTLP export: earlier ones are made up for by it, the data being cumulative).
    pub(super) async fn finish(self, cfg: &ProfileConfig, _rep: &RunReport) -> usize {
        let mut failed = 0;
        if let Some((_, exporter)) = self.otel {
            if !exporter.finish().await {
                let url = cfg
                    .observability
                    .otel
                    .as_ref()
                    .map(|o| o.metrics_url.to_string())
                    .unwrap_or_default();
                tracing::error!("--otel-url: the final metrics export to {url} failed");
                failed += 1;
            }
        }
        if let Some((_, server)) = self.prom {
            let linger = cfg.observability.metrics_linger;
            if !linger.is_zero() {
                tracing::info!(
                    "--metrics-listen: serving the final state for {:.1} s more",
                    linger.as_secs_f64()
                );
                tokio::time::sleep(linger).await;
            }
            server.stop().await;
        }
        failed
    }
}
