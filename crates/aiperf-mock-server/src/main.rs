//! `aiperf-mock-server`: run the mock inference server from the command line.

use clap::Parser;

/// mimalloc: the client and mock allocate many small short-lived buffers per request; glibc's
/// malloc/free showed up as ~25 % of client CPU in `perf` (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cfg = aiperf_mock_server::MockConfig::parse();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(w) = cfg.workers {
        rt.worker_threads(w.max(1));
    }
    rt.enable_all().build()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind((cfg.host.as_str(), cfg.port)).await?;
        eprintln!(
            "aiperf-mock-server listening on http://{} (ttft {} ms, itl {} ms)",
            listener.local_addr()?,
            cfg.ttft_ms(),
            cfg.itl_ms()
        );
        if cfg.ttft_per_inflight_ms() > 0.0 || cfg.itl_per_inflight_ms() > 0.0 || cfg.capacity > 0 {
            eprintln!(
                "load model: +{} ms TTFT and +{} ms ITL per other request in flight, capacity {}",
                cfg.ttft_per_inflight_ms(),
                cfg.itl_per_inflight_ms(),
                cfg.capacity()
                    .map_or("unlimited".to_string(), |k| k.to_string())
            );
        }
        if cfg.metrics_style != aiperf_mock_server::MetricsStyle::Vllm || cfg.fake_gpus > 0 {
            eprintln!(
                "metrics: {} style{}",
                clap::ValueEnum::to_possible_value(&cfg.metrics_style)
                    .map_or(String::new(), |v| v.get_name().to_string()),
                if cfg.fake_gpus > 0 {
                    format!(
                        ", {} fake GPUs at /dcgm/metrics ({} W idle, {} J per token)",
                        cfg.fake_gpus, cfg.gpu_idle_watts, cfg.gpu_joules_per_token
                    )
                } else {
                    String::new()
                }
            );
        }
        aiperf_mock_server::serve(listener, cfg, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    })
}
