//! `--wait-for-model-timeout`: before the run, probe each server until it is ready, the way
//! AIPerf does: `models` GETs `/v1/models` until it answers 2xx, `inference` sends a canned
//! one-token request until it answers 2xx, `both` does the first then the second.

use std::time::{Duration, Instant};

use aiperf_config::resolve::WaitForModel;
use aiperf_config::ProfileConfig;
use aiperf_core::Turn;
use aiperf_endpoints::{multipart, payload, BodyEncoding, PayloadOptions};
use aiperf_transport::{BaseUrl, Cancel, ConnChoice, HttpClient, RequestSpec};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};

use crate::prepare::Prepared;

/// The body of the one-token readiness request (the first dataset turn when the endpoint needs
/// inputs a canned text cannot give, such as an image to edit).
fn probe_body(cfg: &ProfileConfig, prepared: &Prepared) -> Bytes {
    let turn = Turn {
        texts: vec!["Hello".to_string()],
        max_tokens: Some(1),
        ..Default::default()
    };
    let opts = PayloadOptions {
        model: cfg.models.first().cloned().unwrap_or_default(),
        ..Default::default()
    };
    let endpoint = &*prepared.endpoint;
    let canned = endpoint.payload(&turn, &opts).ok().and_then(|b| {
        let body = payload::finish(endpoint, b, &turn, &opts);
        match endpoint.encoding() {
            BodyEncoding::Json => serde_json::to_vec(&body).ok().map(Bytes::from),
            BodyEncoding::Multipart => multipart::encode(&body).ok().map(Bytes::from),
        }
    });
    canned.unwrap_or_else(|| {
        prepared
            .turns
            .first()
            .and_then(|m| m.first())
            .and_then(|c| c.first())
            .map(|t| t.wire.clone().unwrap_or_else(|| t.body.clone()))
            .unwrap_or_default()
    })
}

/// Probes every server until ready or `wait.timeout_s` has passed; the error names the URL and
/// the last reason.
pub async fn wait_for_model(
    cfg: &ProfileConfig,
    prepared: &Prepared,
    wait: &WaitForModel,
    clients: &[HttpClient],
) -> anyhow::Result<()> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(wait.timeout_s);
    let body = probe_body(cfg, prepared);
    let mut headers = prepared.headers.clone();
    // The probe is not streamed, whatever the run does.
    headers.insert(
        http::header::ACCEPT,
        HeaderValue::from_static("application/json"),
    );
    for (i, (client, url)) in clients.iter().zip(&cfg.urls).enumerate() {
        let mut checks: Vec<(Method, String, Bytes)> = Vec::new();
        if wait.models {
            checks.push((Method::GET, models_path(url), Bytes::new()));
        }
        if wait.inference {
            checks.push((Method::POST, prepared.paths[i].clone(), body.clone()));
        }
        for (method, path, body) in checks {
            let mut attempt = 0u32;
            loop {
                attempt += 1;
                let reason = match probe(
                    client,
                    &headers,
                    method.clone(),
                    &path,
                    body.clone(),
                    deadline,
                )
                .await
                {
                    Ok(()) => break,
                    Err(reason) => reason,
                };
                let next = Instant::now() + Duration::from_secs_f64(wait.interval_s);
                if next >= deadline {
                    anyhow::bail!(
                        "--wait-for-model-timeout: {url}{path} was not ready within {:.1} s \
                         ({attempt} attempts; last: {reason})",
                        wait.timeout_s
                    );
                }
                tracing::info!("waiting for {url}{path} (attempt {attempt}: {reason})");
                tokio::time::sleep_until(next.into()).await;
            }
        }
    }
    tracing::info!(
        "endpoint ready after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn models_path(url: &BaseUrl) -> String {
    url.join("/v1/models")
}

async fn probe(
    client: &HttpClient,
    headers: &http::HeaderMap,
    method: Method,
    path: &str,
    body: Bytes,
    deadline: Instant,
) -> Result<(), String> {
    let spec = RequestSpec {
        method,
        path,
        headers,
        extra_headers: [
            (
                HeaderName::from_static("x-request-id"),
                HeaderValue::from_static("aiperf-readiness-probe"),
            ),
            (
                HeaderName::from_static("x-correlation-id"),
                HeaderValue::from_static("aiperf-readiness-probe"),
            ),
        ],
        body,
        conn: ConnChoice::Pooled,
        watch: None,
    };
    let timeout = deadline.saturating_duration_since(Instant::now());
    let ex = client
        .send(spec, deadline, timeout.as_secs_f64(), Cancel::default())
        .await;
    ex.success()
}
