//! Everything built before the first request: tokenizer, dataset, exact request bodies, headers.

use std::sync::Arc;

use aiperf_config::ProfileConfig;
use aiperf_core::{Conversation, PreparedTurn};
use aiperf_dataset::corpus::Corpus;
use aiperf_dataset::rng::{fresh_seed, Rng};
use aiperf_dataset::{PromptGenerator, Sampler, SamplingStrategy, SyntheticConfig, TextTokenizer};
use aiperf_endpoints::{payload, Endpoint, EndpointMetadata, PayloadOptions};
use aiperf_plugins::{DatasetLoaderMetadata, Registry};
use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use http::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT,
};

/// The run's immutable inputs, shared by workers and the record processor.
pub struct Prepared {
    pub endpoint: Arc<dyn Endpoint>,
    /// The endpoint's registry metadata (path, streaming, token production, console title).
    pub meta: EndpointMetadata,
    pub tokenizer: Arc<TextTokenizer>,
    pub seed: u64,
    pub conversations: Vec<Conversation>,
    /// `turns[model][conversation]`: the exact body of each dataset entry for each model.
    pub turns: Vec<Vec<PreparedTurn>>,
    pub sampler: Sampler,
    /// Path and query per `--url`.
    pub paths: Vec<String>,
    pub headers: HeaderMap,
}

/// Loads the tokenizer named by `--tokenizer`, else the model name if it resolves locally, else
/// the built-in one (with a notice, as AIPerf does for placeholder model names).
pub fn load_tokenizer(cfg: &ProfileConfig) -> anyhow::Result<TextTokenizer> {
    if let Some(name) = &cfg.tokenizer {
        return TextTokenizer::load(name, &cfg.tokenizer_revision)
            .with_context(|| "--tokenizer".to_string());
    }
    let model = &cfg.models[0];
    match TextTokenizer::load(model, &cfg.tokenizer_revision) {
        Ok(t) => Ok(t),
        Err(_) => {
            tracing::info!(
                "no tokenizer for model '{model}' found locally; counting tokens with the built-in o200k_base tokenizer (use --tokenizer to choose)"
            );
            Ok(TextTokenizer::builtin()?)
        }
    }
}

/// The endpoint object a registry entry names: one registered in code, or a built-in.
fn endpoint_for(cfg: &ProfileConfig, registry: &Registry) -> anyhow::Result<Arc<dyn Endpoint>> {
    let entry = registry.get("endpoint", &cfg.endpoint_type)?;
    if let Some(instance) = &entry.instance {
        return instance
            .downcast_ref::<Arc<dyn Endpoint>>()
            .cloned()
            .ok_or_else(|| {
                anyhow!(
                    "endpoint '{}' was registered with an object that is not an Endpoint",
                    entry.name
                )
            });
    }
    aiperf_endpoints::build(&entry.implementation, &cfg.endpoint, &cfg.extra_inputs)
        .map_err(|e| anyhow!("--endpoint-type {}: {e}", cfg.endpoint_type))
}

/// Conversations from `--input-file` (through its registered loader) or synthesized.
fn conversations(
    cfg: &ProfileConfig,
    registry: &Registry,
    tokenizer: &TextTokenizer,
    seed: u64,
) -> anyhow::Result<Vec<Conversation>> {
    let (Some(file), Some(kind)) = (&cfg.input_file, &cfg.custom_dataset_type) else {
        let corpus = Corpus::sonnets(tokenizer);
        let synthetic = SyntheticConfig {
            num_entries: cfg.num_dataset_entries,
            isl_mean: cfg.isl_mean,
            isl_stddev: cfg.isl_stddev,
            osl_mean: cfg.osl_mean,
            osl_stddev: cfg.osl_stddev,
            batch_size: cfg.batch_size,
            seed,
        };
        return Ok(PromptGenerator::new(tokenizer, &corpus).conversations(&synthetic));
    };
    let entry = registry.get("custom_dataset_loader", kind)?;
    let loaded = match entry.exec_path() {
        Some(exec) => {
            let meta: DatasetLoaderMetadata =
                registry.typed_metadata("custom_dataset_loader", kind)?;
            crate::external::load_dataset(exec, &meta.args, file, seed)?
        }
        None => aiperf_dataset::loader::load(&entry.implementation, file)?,
    };
    if let Some(c) = loaded.iter().find(|c| c.turns.len() > 1) {
        bail!(
            "--input-file: session '{}' has {} turns; multi-turn conversations are not supported yet",
            c.session_id,
            c.turns.len()
        );
    }
    Ok(loaded)
}

pub fn prepare(cfg: &ProfileConfig, registry: &Registry) -> anyhow::Result<Prepared> {
    let endpoint = endpoint_for(cfg, registry)?;
    let meta = cfg.endpoint.clone();
    let tokenizer = Arc::new(load_tokenizer(cfg)?);
    let seed = cfg.random_seed.unwrap_or_else(fresh_seed);
    let conversations = conversations(cfg, registry, &tokenizer, seed)?;
    let count_input = meta.tokenizes_input && !cfg.use_server_token_count;
    let input_tokens: Vec<Option<u32>> = conversations
        .iter()
        .map(|c| {
            count_input
                .then(|| tokenizer.count(&endpoint.input_texts(&c.turns[0]).join(" ")) as u32)
        })
        .collect();
    let mut extra_inputs = cfg.extra_inputs.clone();
    for key in endpoint.consumed_extra_inputs() {
        extra_inputs.remove(*key);
    }
    let mut turns = Vec::with_capacity(cfg.models.len());
    for model in &cfg.models {
        let opts = PayloadOptions {
            model: model.clone(),
            streaming: cfg.streaming,
            use_legacy_max_tokens: cfg.use_legacy_max_tokens,
            per_chunk_usage: cfg.per_chunk_usage,
            extra_inputs: extra_inputs.clone(),
        };
        let per_model = conversations
            .iter()
            .zip(&input_tokens)
            .map(|(c, isl)| {
                let turn = &c.turns[0];
                let body = endpoint.payload(turn, &opts).map_err(|e| {
                    anyhow!(
                        "--endpoint-type {}: {e} (dataset entry {})",
                        cfg.endpoint_type,
                        c.session_id
                    )
                })?;
                let body = payload::finish(body, turn, &opts);
                let body = serde_json::to_vec(&body).context("serializing a request body")?;
                Ok(PreparedTurn {
                    body: Bytes::from(body),
                    input_tokens: *isl,
                    max_tokens: turn.max_tokens,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        turns.push(per_model);
    }
    let sampler_entry = registry.get("dataset_sampler", &cfg.sampling)?;
    let strategy = SamplingStrategy::from_implementation(&sampler_entry.implementation)
        .ok_or_else(|| {
            anyhow!(
                "sampler '{}' has no implementation in this build",
                cfg.sampling
            )
        })?;
    let sampler = Sampler::new(
        strategy,
        conversations.len(),
        Rng::derive(seed, "dataset.sampling").next_u64(),
    );
    let default_path = match (cfg.streaming, &meta.streaming_path) {
        (true, Some(p)) => p.as_str(),
        _ => meta.endpoint_path.as_deref().unwrap_or(""),
    };
    let path = cfg.custom_endpoint.as_deref().unwrap_or(default_path);
    let paths = cfg.urls.iter().map(|u| u.join(path)).collect();
    Ok(Prepared {
        endpoint,
        meta,
        tokenizer,
        seed,
        conversations,
        turns,
        sampler,
        paths,
        headers: headers(cfg)?,
    })
}

/// Headers shared by every request: AIPerf's set plus the user's (`--header` wins).
fn headers(cfg: &ProfileConfig) -> anyhow::Result<HeaderMap> {
    let mut h = HeaderMap::new();
    h.insert(
        USER_AGENT,
        HeaderValue::from_static(concat!("aiperf/", env!("CARGO_PKG_VERSION"))),
    );
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(
        ACCEPT,
        HeaderValue::from_static(if cfg.streaming {
            "text/event-stream"
        } else {
            "application/json"
        }),
    );
    if let Some(key) = &cfg.api_key {
        let mut v = HeaderValue::from_str(&format!("Bearer {key}"))
            .map_err(|_| anyhow!("--api-key: contains characters not allowed in an HTTP header"))?;
        v.set_sensitive(true);
        h.insert(AUTHORIZATION, v);
    }
    for (name, value) in &cfg.headers {
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| anyhow!("--header: invalid header name '{name}'"))?;
        let mut v = HeaderValue::from_str(value)
            .map_err(|_| anyhow!("--header: invalid value for header '{name}'"))?;
        v.set_sensitive(aiperf_config::resolve::is_sensitive_header(name));
        h.insert(n, v);
    }
    Ok(h)
}
