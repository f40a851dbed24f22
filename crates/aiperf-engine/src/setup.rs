//! Set-up stage: everything between a validated config and the first request. Reaches every
//! server before anything is created on disk, so a typo in `--url` leaves no artifact behind;
//! then creates the artifact directory, `inputs.json`, the record writer and the accumulator.

use aiperf_config::ProfileConfig;
use aiperf_core::Clock;
use aiperf_export::{inputs, RecordWriter, INPUTS_FILE, RECORDS_FILE};
use aiperf_metrics::spill::Spill;
use aiperf_metrics::{Accumulator, Applicability};
use aiperf_transport::{ClientOptions, HttpClient};
use anyhow::Context;

use crate::prepare::Prepared;

/// One client per `--url` (host names resolved now, so DNS stays out of the measured requests),
/// each probed with one connection unless `--wait-for-model-*` asks to wait for the server
/// first ([`reach`] then probes after the dataset is ready). Runs before the dataset is
/// prepared, so a wrong `--url` fails in milliseconds, not after tokenizing.
pub(crate) async fn clients(cfg: &ProfileConfig, clock: Clock) -> anyhow::Result<Vec<HttpClient>> {
    let mut clients = Vec::with_capacity(cfg.urls.len());
    for url in &cfg.urls {
        let opts = ClientOptions {
            http2: cfg.http2,
            insecure: cfg.insecure,
            ..Default::default()
        };
        let client = HttpClient::with_options(url, clock, &opts)
            .await
            .map_err(|e| anyhow::anyhow!("--url {url}: {e}"))?;
        clients.push(client);
    }
    if cfg.wait_for_model.is_none() {
        probe(cfg, &clients).await?;
    }
    Ok(clients)
}

/// `--wait-for-model-*` (which may send a prepared request), then the connection probe.
pub(crate) async fn reach(
    cfg: &ProfileConfig,
    prepared: &Prepared,
    clients: &[HttpClient],
) -> anyhow::Result<()> {
    if let Some(wait) = &cfg.wait_for_model {
        crate::readiness::wait_for_model(cfg, prepared, wait, clients).await?;
        probe(cfg, clients).await?;
    }
    Ok(())
}

/// Opens one connection to every server; the error is one line with a hint when there is one.
async fn probe(cfg: &ProfileConfig, clients: &[HttpClient]) -> anyhow::Result<()> {
    for (client, url) in clients.iter().zip(&cfg.urls) {
        client.probe().await.map_err(|e| {
            anyhow::anyhow!(
                "cannot reach the server at {url}: {e}{}",
                e.hint(cfg.insecure)
            )
        })?;
    }
    Ok(())
}

/// Which metrics apply to this run.
pub(crate) fn applicability(cfg: &ProfileConfig, prepared: &Prepared) -> Applicability {
    Applicability {
        streaming: cfg.streaming,
        produces_tokens: prepared.meta.produces_tokens,
        tokenizes_input: prepared.meta.tokenizes_input,
        goodput: cfg.goodput.is_some(),
        usage_diff: !cfg.use_server_token_count,
        show_experimental: std::env::var_os("AIPERF_DEV_SHOW_EXPERIMENTAL_METRICS")
            .is_some_and(|v| v != "0"),
    }
}

/// The artifact directory with `inputs.json` written, the per-record writer and the
/// accumulator the record processor fills.
pub(crate) fn open_artifacts(
    cfg: &ProfileConfig,
    prepared: &Prepared,
    run: Applicability,
) -> anyhow::Result<(RecordWriter, Accumulator)> {
    std::fs::create_dir_all(&cfg.artifact_dir).with_context(|| {
        format!(
            "cannot create artifact directory '{}'",
            cfg.artifact_dir.display()
        )
    })?;
    write_inputs(cfg, prepared)?;
    let mut accumulator = Accumulator::new(run);
    // Values past a small in-memory tail go to an unlinked file beside the artifacts, so memory
    // stays flat on long runs; without one (e.g. a filesystem lacking O_TMPFILE) they stay in RAM.
    match Spill::create_in(&cfg.artifact_dir) {
        Ok(spill) => accumulator = accumulator.with_spill(spill),
        Err(e) => tracing::warn!(
            "cannot create a metric spill file in '{}' ({e}); keeping every value in memory",
            cfg.artifact_dir.display()
        ),
    }
    if let Some(g) = &cfg.goodput {
        accumulator = accumulator.with_goodput(g.clone());
    }
    let writer = RecordWriter::create(&cfg.artifact_dir.join(RECORDS_FILE), run)?;
    Ok((writer, accumulator))
}

/// `inputs.json`: the exact body of every dataset entry (first model's bodies).
fn write_inputs(cfg: &ProfileConfig, prepared: &Prepared) -> anyhow::Result<()> {
    let sessions: Vec<(&str, Vec<&[u8]>)> = prepared
        .conversations
        .iter()
        .zip(&prepared.turns[0])
        .map(|(c, turns)| {
            (
                c.session_id.as_str(),
                turns.iter().map(|t| t.body.as_ref()).collect(),
            )
        })
        .collect();
    inputs::write(&cfg.artifact_dir.join(INPUTS_FILE), &sessions)?;
    Ok(())
}

/// The dashboard's title: models, endpoint type and URLs.
pub(crate) fn title(cfg: &ProfileConfig) -> String {
    format!(
        "{} | {} | {}",
        cfg.models.join(","),
        cfg.endpoint_type,
        cfg.urls
            .iter()
            .map(|u| u.to_string())
            .collect::<Vec<_>>()
            .join(",")
    )
}
