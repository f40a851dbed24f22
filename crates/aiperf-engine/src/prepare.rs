//! Everything built before the first request: tokenizer, dataset, exact request bodies, headers.

use std::sync::Arc;

use aiperf_config::resolve::ModelSelection;
use aiperf_config::ProfileConfig;
use aiperf_core::{Conversation, PreparedTurn};
use aiperf_dataset::corpus::Corpus;
use aiperf_dataset::loader::LoadContext;
use aiperf_dataset::rng::{fresh_seed, Rng};
use aiperf_dataset::synthetic::ContextConfig;
use aiperf_dataset::{PromptGenerator, Sampler, SyntheticConfig, TextTokenizer, TokenizerError};
use aiperf_endpoints::{
    multipart, payload, BodyEncoding, Endpoint, EndpointMetadata, PayloadOptions,
};
use aiperf_hub::{is_repo_id, HubConfig};
use aiperf_plugins::{DatasetLoaderMetadata, Registry};
use anyhow::{anyhow, Context};
use bytes::Bytes;
use http::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT,
};
use serde_json::{Map, Value};

/// The run's immutable inputs, shared by workers and the record processor.
pub struct Prepared {
    pub endpoint: Arc<dyn Endpoint>,
    /// The endpoint's registry metadata (path, streaming, token production, console title).
    pub meta: EndpointMetadata,
    pub tokenizer: Arc<TextTokenizer>,
    pub seed: u64,
    /// What the run still needs of each dataset conversation once its bodies are rendered.
    pub conversations: Vec<ConversationInfo>,
    /// `turns[model][conversation][turn]`: the exact body of every turn for each model.
    pub turns: Vec<Vec<Vec<PreparedTurn>>>,
    /// `--model-selection-strategy`: which model's bodies each session sends.
    pub model_selection: ModelPick,
    /// Whether the endpoint's bodies carry a message list, so later turns can carry history.
    pub carries_history: bool,
    pub sampler: Sampler,
    /// Path and query per `--url`.
    pub paths: Vec<String>,
    pub headers: HeaderMap,
    /// The header carrying each session's id (`--session-header`, default X-Correlation-ID).
    pub session_header: HeaderName,
    /// Asynchronous jobs (video): poll interval, and whether to fetch the finished content.
    pub job_poll: std::time::Duration,
    pub download_content: bool,
    /// `--connection-reuse-strategy`.
    pub connection_reuse: aiperf_config::resolve::ConnectionReuse,
    /// Per-trajectory `--cache-bust` markers: the run key their digests hash (the seed), so a
    /// conversation sent again gets its session's own marker (`cache_bust::restamp`).
    pub cache_bust_run: Option<String>,
    /// `warmup_isolation_*` `--cache-bust`: `[model][conversation]` first-turn bodies marked
    /// `[warmup]`, sent in the warm-up phase in place of the conversation's first turn.
    pub warmup_first: Vec<Vec<Option<Bytes>>>,
    /// Agent graphs: the roots sessions start with and the branches that start children.
    pub dag: Option<crate::dag::DagPlan>,
    /// `--apply-chat-template`: input lengths count the templated messages of each sent body.
    pub chat_template: Option<Arc<aiperf_dataset::chat_template::ChatTemplate>>,
    /// `--accuracy-benchmark`: each conversation's ground truth and task, and the grader.
    pub accuracy: Option<Arc<crate::accuracy::Answers>>,
}

/// What set-up fetched before the dataset is prepared (on the same blocking thread).
#[derive(Debug, Default)]
pub struct Fetched {
    /// `--public-dataset`'s files.
    pub public: Option<aiperf_dataset::public::Fetched>,
    /// `--accuracy-benchmark`'s problems.
    pub accuracy: Option<Vec<aiperf_accuracy::Problem>>,
}

/// A dataset conversation after rendering: its id, how its turns relate, and its first trace
/// timestamp (the texts live on only inside the request bodies).
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationInfo {
    pub session_id: String,
    pub independent_turns: bool,
    pub turns: usize,
    pub first_timestamp_ms: Option<f64>,
    /// Whether sessions may start with it (agent-graph children start only from a branch).
    pub root: bool,
    /// Requests one session of it causes: its turns plus its branches' children's.
    pub requests: u64,
    /// Requests of its pre-session children, started once per phase.
    pub pre_requests: u64,
}

impl Prepared {
    /// The conversation session `session_num` starts with: the sampler's pick among the roots.
    pub fn pick(&self, session_num: u64) -> usize {
        let k = self.sampler.pick(session_num);
        self.dag.as_ref().map_or(k, |d| d.roots[k])
    }

    /// The prepared turns session `session_num` sends for `conversation`, in the model
    /// `--model-selection-strategy` picks for the session (its turns keep that model).
    pub fn turns_of(&self, session_num: u64, conversation: usize) -> &[PreparedTurn] {
        let model = self.model_selection.model(session_num, self.turns.len());
        &self.turns[model][conversation]
    }
}

/// How a session's model is picked: a pure function of the session number (and the seed), so
/// sessions numbered globally across shards pick the same model in any process, in any order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelPick {
    /// `session % n`: the models in turn.
    RoundRobin,
    /// A hash of the session number under `key` (the run seed's
    /// `composer.turn.model_selection` stream, the name AIPerf's composer draws its model
    /// choice from), mod n: a reproducible uniform pick per session.
    Random { key: u64 },
}

impl ModelPick {
    pub fn new(selection: ModelSelection, seed: u64) -> Self {
        match selection {
            ModelSelection::RoundRobin => ModelPick::RoundRobin,
            ModelSelection::Random => ModelPick::Random {
                key: Rng::derive(seed, "composer.turn.model_selection").next_u64(),
            },
        }
    }

    /// The index among `models` models of session `session_num`'s model (0 when none).
    pub fn model(&self, session_num: u64, models: usize) -> usize {
        let n = models.max(1) as u64;
        let k = match self {
            ModelPick::RoundRobin => session_num,
            ModelPick::Random { key } => aiperf_dataset::rng::mix(*key, session_num),
        };
        (k % n) as usize
    }
}

/// Loads the tokenizer named by `--tokenizer` (a local file or directory, the Hugging Face
/// cache, else a download from the Hub at `--tokenizer-revision`; any failure is an error),
/// else the first model's name the same way, else the built-in o200k_base tokenizer as a loud
/// fallback (a warning saying why, and `input_config.tokenizer.fallback` with
/// `fallback_reason` in the summary), as AIPerf does for placeholder model names. A model name
/// is tried on the Hub only when it has the `org/name` shape: served aliases such as
/// `mock-model` are not Hub repos, and asking for them would only cost a round trip.
pub fn load_tokenizer_with(cfg: &ProfileConfig, hub: &HubConfig) -> anyhow::Result<TextTokenizer> {
    let revision = &cfg.tokenizer_revision;
    if let Some(name) = &cfg.tokenizer {
        return match TextTokenizer::load(name, revision) {
            Ok(t) => Ok(t),
            Err(TokenizerError::NotFound { .. }) if aiperf_hub::is_repo_id(name) => {
                let path = aiperf_hub::tokenizer_json(hub, name, revision)
                    .map_err(|e| anyhow!("--tokenizer: {e}"))?;
                TextTokenizer::from_path(&path, name).context("--tokenizer")
            }
            Err(e) => Err(e).context("--tokenizer"),
        };
    }
    let model = &cfg.models[0];
    let reason = match TextTokenizer::load(model, revision) {
        Ok(t) => return Ok(t),
        Err(TokenizerError::NotFound { .. }) if model.contains('/') && is_repo_id(model) => {
            match aiperf_hub::tokenizer_json(hub, model, revision) {
                Ok(path) => match TextTokenizer::from_path(&path, model) {
                    Ok(t) => return Ok(t),
                    Err(e) => e.to_string(),
                },
                Err(e) => e.to_string(),
            }
        }
        Err(TokenizerError::NotFound { .. }) => format!(
            "'{model}' is not a local tokenizer, not in the Hugging Face cache, and not an \
             'org/name' Hub id"
        ),
        Err(e) => e.to_string(),
    };
    tracing::warn!(
        "no tokenizer for model '{model}': {reason}. Token counts (ISL, OSL, throughput) use the \
         built-in o200k_base tokenizer, not the model's, and may differ from the server's; pass \
         --tokenizer to choose"
    );
    Ok(TextTokenizer::builtin_instead_of_because(model, reason)?)
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
    aiperf_endpoints::build(&entry.implementation, &cfg.endpoint, &cfg.body.extra_inputs)
        .map_err(|e| anyhow!("--endpoint-type {}: {e}", cfg.endpoint_type))
}

/// `--uuid-and-strip` on a loaded file: AIPerf strips single_turn sessions, refuses
/// multi_turn files and leaves other formats as they are.
fn strip_repeated_images(kind: &str, loaded: &mut [Conversation]) -> anyhow::Result<()> {
    if kind == "multi_turn" {
        anyhow::bail!("--uuid-and-strip is not supported with --custom-dataset-type multi_turn. Load-time dedup of repeated images is only implemented for the single_turn loader. Use --custom-dataset-type single_turn (with session_id-grouped rows) for cache-reuse benchmarks.");
    }
    if kind == "single_turn" {
        for c in loaded {
            aiperf_dataset::image_uuids::strip_repeated_images(c);
        }
    }
    Ok(())
}

/// Conversations from `--input-file` (through its registered loader) or synthesized, with the
/// system and user-context messages the flags ask for.
fn conversations(
    cfg: &ProfileConfig,
    registry: &Registry,
    endpoint: &dyn Endpoint,
    tokenizer: &TextTokenizer,
    chat_template: Option<&aiperf_dataset::chat_template::ChatTemplate>,
    seed: u64,
    fetched: &Fetched,
) -> anyhow::Result<Vec<Conversation>> {
    if let Some(problems) = &fetched.accuracy {
        return Ok(crate::accuracy::conversations(cfg, problems));
    }
    let public = fetched.public.as_ref();
    let conv = &cfg.conversation;
    let implementation = match &cfg.custom_dataset_type {
        Some(kind) => Some(registry.get("custom_dataset_loader", kind)?),
        None => None,
    };
    // Synthesis and loaders whose metadata says so cut prompts from the corpus; plain text
    // files skip tokenizing it.
    let loader_meta = match &cfg.custom_dataset_type {
        Some(kind) => {
            Some(registry.typed_metadata::<DatasetLoaderMetadata>("custom_dataset_loader", kind)?)
        }
        None => None,
    };
    let loader_needs_corpus = loader_meta.as_ref().is_none_or(|m| m.needs_corpus);
    // `--prompt-corpus`, else the format's own default (coding for agentic traces).
    let public_default = cfg
        .public_dataset
        .as_ref()
        .and_then(|c| aiperf_dataset::public::find(&c.name))
        .and_then(|d| d.default_prompt_corpus());
    let corpus_choice = cfg.shaping.prompt_corpus.unwrap_or_else(|| {
        loader_meta
            .as_ref()
            .and_then(|m| m.default_prompt_corpus.as_deref())
            .and_then(aiperf_dataset::corpus::PromptCorpus::parse)
            .or(public_default)
            .unwrap_or_default()
    });
    let needs_corpus = loader_needs_corpus
        || conv.shared_system_prompt_length.is_some()
        || conv.user_context_prompt_length.is_some();
    let corpus = if needs_corpus {
        Corpus::choose(corpus_choice, cfg.shaping.random_corpus_style, tokenizer)
    } else {
        Corpus { tokens: Vec::new() }
    };
    let generator = PromptGenerator::new(tokenizer, &corpus).with_chat_template(chat_template);
    let mut loaded = match (&cfg.input_file, implementation) {
        (None, None) if public.is_some() => {
            crate::public_dataset::conversations(cfg, public, tokenizer, &corpus, seed)?
        }
        (Some(file), Some(entry)) => {
            let kind = cfg.custom_dataset_type.as_deref().unwrap_or_default();
            let mut loaded = match entry.exec_path() {
                Some(exec) => {
                    let meta: DatasetLoaderMetadata =
                        registry.typed_metadata("custom_dataset_loader", kind)?;
                    crate::external::load_dataset(exec, &meta.args, file, seed)?
                }
                None => {
                    let ctx = LoadContext {
                        tokenizer,
                        corpus: &corpus,
                        seed,
                        block_size: conv.isl_block_size,
                        num_conversations: conv.conversation_num,
                        osl_mean: cfg.osl_mean,
                        replay: replay_options(cfg, kind)?,
                        synthesis: cfg.synthesis.clone(),
                        agentic: cfg.agentic.clone(),
                    };
                    aiperf_dataset::loader::load(&entry.implementation, file, &ctx)?
                }
            };
            if cfg.trace_replay.ignore_trace_delays {
                ignore_trace_delays(cfg, &mut loaded);
            }
            if cfg.uuid_and_strip {
                strip_repeated_images(kind, &mut loaded)?;
            }
            // `--osl` applies to turns the file gives no output length.
            if let Some(m) = cfg.osl_mean {
                let mut osl = Rng::derive(seed, "composer.turn.max_tokens");
                for t in loaded.iter_mut().flat_map(|c| c.turns.iter_mut()) {
                    if t.max_tokens.is_none() && t.payload.is_none() {
                        t.max_tokens = Some(osl.positive_normal_integer(m, cfg.osl_stddev));
                    }
                }
            }
            loaded
        }
        _ => {
            let synthetic = SyntheticConfig {
                num_entries: cfg.num_dataset_entries,
                isl_mean: cfg.isl_mean,
                isl_stddev: cfg.isl_stddev,
                osl_mean: cfg.osl_mean,
                osl_stddev: cfg.osl_stddev,
                batch_size: cfg.batch_size,
                turns_mean: conv.turn_mean,
                turns_stddev: conv.turn_stddev,
                delay_mean_ms: conv.delay_mean_ms,
                delay_stddev_ms: conv.delay_stddev_ms,
                delay_ratio: conv.delay_ratio,
                prefix_prompts: conv.prefix_pool_size,
                prefix_length: conv.prefix_length,
                images: conv.images.clone(),
                audio: conv.audio.clone(),
                video: conv.video.clone(),
                rankings: endpoint.ranks_passages().then(|| cfg.rankings.clone()),
                lengths: cfg
                    .shaping
                    .lengths(aiperf_dataset::corpus::special_tokens_added(tokenizer)),
                first_turn_isl_reduction: aiperf_dataset::cache_bust::first_turn_reduction(
                    cfg.shaping.cache_bust,
                    cfg.shaping.has_system_prompt,
                    tokenizer,
                ),
                seed,
            };
            let mut synthesized = generator
                .conversations(&synthetic)
                .map_err(|e| anyhow!("synthetic dataset: {e}"))?;
            // Per-trajectory markers keyed by the seed, so one seed gives the same bodies.
            aiperf_dataset::cache_bust::mark_trajectories(
                &mut synthesized,
                cfg.shaping.cache_bust,
                &seed.to_string(),
                cfg.shaping.has_system_prompt,
            );
            synthesized
        }
    };
    let system_prompt = match (&conv.system_prompt, &conv.system_prompt_file) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(f)) => Some(
            aiperf_core::textfile::read_to_string(f)
                .with_context(|| format!("--system-prompt-file '{}'", f.display()))?,
        ),
        (None, None) => None,
    };
    generator.add_context(
        &mut loaded,
        &ContextConfig {
            system_prompt,
            shared_system_length: conv.shared_system_prompt_length,
            user_context_length: conv.user_context_prompt_length,
            seed,
        },
    );
    Ok(loaded)
}

/// `--ignore-trace-delays`: recorded times dropped, unless the dataset is replayed on them
/// (`--fixed-schedule`, or every entry stamped and no `--no-fixed-schedule`), where AIPerf
/// says the flag has no effect.
fn ignore_trace_delays(cfg: &ProfileConfig, loaded: &mut [Conversation]) {
    let stamped = loaded
        .iter()
        .all(|c| c.turns.first().is_some_and(|t| t.timestamp_ms.is_some()));
    let fixed = matches!(cfg.load, aiperf_config::LoadMode::FixedSchedule { .. });
    if fixed || (stamped && !cfg.no_fixed_schedule) {
        tracing::warn!(
            "--ignore-trace-delays has no effect: the dataset is replayed on its timestamps \
             (fixed schedule); add --no-fixed-schedule to send turns back-to-back"
        );
        return;
    }
    aiperf_dataset::replay::strip_delays(loaded);
}

/// The replay flags as the loaders read them. They belong to `baseten_trace` (as in AIPerf):
/// for a format detected from the file that ignores them this warns, and a detected baseten
/// trace gets the `--extra-inputs` check an explicit `--custom-dataset-type` got in config.
fn replay_options(
    cfg: &ProfileConfig,
    kind: &str,
) -> anyhow::Result<aiperf_dataset::replay::ReplayOptions> {
    let t = &cfg.trace_replay;
    if kind == "baseten_trace" {
        if let Some(reason) = aiperf_dataset::replay::extra_input_collisions(
            &cfg.body.extra_inputs,
            t.force_min_tokens,
            t.omit_kv_hints,
        ) {
            anyhow::bail!("--extra-inputs: {reason}");
        }
    } else if !t.baseten_only_flags.is_empty() {
        tracing::warn!(
            "{} resolved to {kind}, which ignores the baseten_trace-only replay option(s): {}",
            cfg.input_file
                .as_deref()
                .map_or_else(String::new, |p| p.display().to_string()),
            t.baseten_only_flags.join(", ")
        );
    }
    Ok(aiperf_dataset::replay::ReplayOptions {
        session_sample_ratio: t.session_sample_ratio,
        speedup: t.replay_speedup,
        max_idle_gap_cap_ms: t.max_idle_gap_cap_s.map(|s| s * 1000.0),
        inter_turn_delay_cap_ms: t.inter_turn_delay_cap_s.map(|s| s * 1000.0),
        open_loop: t.open_loop,
        open_loop_strict: t.open_loop_strict,
        omit_kv_hints: t.omit_kv_hints,
        force_min_tokens: t.force_min_tokens,
    })
}

/// The exact body of one turn: the endpoint's payload (or the turn's verbatim one), extra
/// inputs merged, and for a conversation's opening request its system and context messages.
fn render_turn(
    endpoint: &dyn Endpoint,
    conversation: &Conversation,
    turn_index: usize,
    opts: &PayloadOptions,
) -> Result<Map<String, Value>, String> {
    let turn = &conversation.turns[turn_index];
    if let Some(p) = &turn.payload {
        return Ok(p.clone());
    }
    let body = endpoint.payload(turn, opts)?;
    let mut body = payload::finish(endpoint, body, turn, opts);
    let (system, context) = (
        conversation.system.as_deref(),
        conversation.user_context.as_deref(),
    );
    if (turn_index == 0 || conversation.independent_turns)
        && (system.is_some() || context.is_some())
    {
        endpoint.insert_preamble(&mut body, system, context);
    }
    Ok(body)
}

/// Renders the dataset into request bodies with `tokenizer` (loaded by the caller, so it can be
/// reused across runs).
/// A public dataset's files and an accuracy benchmark's problems are fetched before
/// (`public_dataset::fetch`, `accuracy::load`).
pub fn prepare_with(
    cfg: &ProfileConfig,
    registry: &Registry,
    tokenizer: Arc<TextTokenizer>,
    fetched: &Fetched,
) -> anyhow::Result<Prepared> {
    let endpoint = endpoint_for(cfg, registry)?;
    let chat_template = aiperf_dataset::chat_template::for_run(cfg.apply_chat_template, &tokenizer);
    let meta = cfg.endpoint.clone();
    let seed = cfg.random_seed.unwrap_or_else(fresh_seed);
    let started = std::time::Instant::now();
    let conversations = conversations(
        cfg,
        registry,
        &*endpoint,
        &tokenizer,
        chat_template.as_deref(),
        seed,
        fetched,
    )?;
    tracing::debug!(
        "dataset: {} conversations loaded or synthesized in {:.0} ms",
        conversations.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let dag = crate::dag::DagPlan::build(&conversations)?;
    // The endpoint already took the extra inputs it consumes (template and raw settings).
    let mut body = cfg.body.clone();
    for key in endpoint.consumed_extra_inputs() {
        body.extra_inputs.remove(*key);
    }
    let started = std::time::Instant::now();
    let options: Vec<PayloadOptions> = cfg
        .models
        .iter()
        .map(|model| PayloadOptions {
            model: model.clone(),
            body: body.clone(),
        })
        .collect();
    // Whether bodies have a message list (then later turns carry history), from a real body.
    let carries_history = conversations.first().is_some_and(|c| {
        c.turns.first().is_some_and(|t| t.payload.is_none())
            && render_turn(&*endpoint, c, 0, &options[0])
                .is_ok_and(|mut b| endpoint.messages_mut(&mut b).is_some())
    });
    if !carries_history
        && conversations
            .iter()
            .any(|c| c.system.is_some() || c.user_context.is_some())
    {
        tracing::warn!(
            "--endpoint-type {} has no message list: system and user-context prompts are not sent",
            cfg.endpoint_type
        );
    }
    // Each conversation becomes its bodies for every model and is dropped right away, so texts
    // and bodies never all live at once. Input token counts are taken when first needed, by
    // the record processor.
    type Rendered = anyhow::Result<(ConversationInfo, Vec<Vec<PreparedTurn>>, Vec<Option<Bytes>>)>;
    let cache_bust = cfg.shaping.cache_bust;
    let rendered: Vec<Rendered> = aiperf_dataset::parallel::map_into(conversations, |c| {
        let inputs: Vec<Arc<str>> = c
            .turns
            .iter()
            .map(|t| endpoint.input_texts(t).join(" ").into())
            .collect();
        let per_model = options
            .iter()
            .map(|opts| {
                (0..c.turns.len())
                    .map(|k| {
                        let body = render_turn(&*endpoint, &c, k, opts).map_err(|e| {
                            anyhow!(
                                "--endpoint-type {}: {e} (dataset entry {}, turn {k})",
                                cfg.endpoint_type,
                                c.session_id
                            )
                        })?;
                        let wire = match endpoint.encoding() {
                            BodyEncoding::Json => None,
                            BodyEncoding::Multipart => {
                                Some(Bytes::from(multipart::encode(&body).map_err(|e| {
                                    anyhow!("{e} (dataset entry {}, turn {k})", c.session_id)
                                })?))
                            }
                        };
                        let body =
                            serde_json::to_vec(&body).context("serializing a request body")?;
                        let turn = &c.turns[k];
                        Ok(PreparedTurn {
                            body: Bytes::from(body),
                            wire,
                            input_text: inputs[k].clone(),
                            input_tokens: Default::default(),
                            max_tokens: turn.max_tokens,
                            delay_ms: turn.delay_ms,
                            timestamp_ms: turn.timestamp_ms,
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        // Per model; empty unless `--cache-bust warmup_isolation_*` asks for warm-up copies.
        let warmup_first = match aiperf_dataset::cache_bust::warmup_copy(&c, cache_bust) {
            Some(w) => options
                .iter()
                .map(|opts| {
                    let body = render_turn(&*endpoint, &w, 0, opts)
                        .map_err(|e| anyhow!("warm-up copy of {}: {e}", c.session_id))?;
                    let body = serde_json::to_vec(&body).context("serializing a request body")?;
                    Ok(Some(Bytes::from(body)))
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        // Keep only what the run still reads (ids, turn counts, timing).
        let info = ConversationInfo {
            first_timestamp_ms: c.turns.first().and_then(|t| t.timestamp_ms),
            root: c.dag.as_ref().is_none_or(|d| d.root),
            requests: c.turns.len() as u64,
            pre_requests: 0,
            turns: c.turns.len(),
            independent_turns: c.independent_turns,
            session_id: c.session_id,
        };
        Ok((info, per_model, warmup_first))
    });
    let mut conversations = Vec::with_capacity(rendered.len());
    let mut turns: Vec<Vec<Vec<PreparedTurn>>> = options
        .iter()
        .map(|_| Vec::with_capacity(rendered.len()))
        .collect();
    let mut warmup_first: Vec<Vec<Option<Bytes>>> = match cache_bust.is_warmup_isolation() {
        true => options
            .iter()
            .map(|_| Vec::with_capacity(rendered.len()))
            .collect(),
        false => Vec::new(),
    };
    for r in rendered {
        let (info, per_model, warmups) = r?;
        conversations.push(info);
        for (m, t) in per_model.into_iter().enumerate() {
            turns[m].push(t);
        }
        for (m, w) in warmup_first.iter_mut().enumerate() {
            w.push(warmups.get(m).cloned().flatten());
        }
    }
    if let Some(d) = &dag {
        let turns: Vec<usize> = conversations.iter().map(|c| c.turns).collect();
        let (own, pre) = d.requests(&turns);
        for ((c, own), pre) in conversations.iter_mut().zip(own).zip(pre) {
            c.requests = own;
            c.pre_requests = pre;
        }
    }
    tracing::debug!(
        "dataset: request bodies rendered in {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let sampler = Sampler::new(
        cfg.sampling.strategy,
        dag.as_ref().map_or(conversations.len(), |d| d.roots.len()),
        Rng::derive(seed, "dataset.sampling").next_u64(),
    );
    let default_path = match (cfg.streaming, &meta.streaming_path) {
        (true, Some(p)) => p.as_str(),
        _ => meta.endpoint_path.as_deref().unwrap_or(""),
    };
    let path = cfg.custom_endpoint.as_deref().unwrap_or(default_path);
    let paths = cfg.urls.iter().map(|u| u.join(path)).collect();
    let headers = headers(cfg, &*endpoint)?;
    Ok(Prepared {
        endpoint,
        meta,
        tokenizer,
        seed,
        carries_history,
        conversations,
        turns,
        model_selection: ModelPick::new(cfg.model_selection, seed),
        sampler,
        paths,
        headers,
        session_header: cfg.session_header.clone(),
        job_poll: std::time::Duration::from_secs_f64(cfg.job_poll_interval_s),
        download_content: cfg.download_video_content,
        connection_reuse: cfg.connection_reuse,
        cache_bust_run: cache_bust.is_per_trajectory().then(|| seed.to_string()),
        warmup_first,
        chat_template,
        accuracy: fetched
            .accuracy
            .as_deref()
            .and_then(|p| crate::accuracy::Answers::new(cfg, p))
            .map(Arc::new),
        dag,
    })
}

/// The shared request headers of `cfg`, built (and checked) without preparing anything else,
/// so a credential conflict fails before the servers are contacted or the dataset is built.
pub(crate) fn check_headers(cfg: &ProfileConfig, registry: &Registry) -> anyhow::Result<()> {
    headers(cfg, &*endpoint_for(cfg, registry)?).map(|_| ())
}

/// `--request-content-type` against the body encoding the endpoint speaks, with AIPerf's
/// messages (only an endpoint that takes form data can be sent form data, and it takes nothing
/// else).
fn check_content_type(cfg: &ProfileConfig, endpoint: &dyn Endpoint) -> anyhow::Result<()> {
    let kind = &cfg.endpoint_type;
    match (cfg.request_content_type, endpoint.encoding()) {
        (Some(BodyEncoding::Json), BodyEncoding::Multipart) => Err(anyhow!(
            "--request-content-type: endpoint type {kind} requires multipart/form-data; application/json is not supported."
        )),
        (Some(BodyEncoding::Multipart), BodyEncoding::Json) => Err(anyhow!(
            "--request-content-type: request_content_type=multipart/form-data is only supported for endpoint types that accept form-data (e.g. image_edit, video_generation); endpoint type {kind} does not."
        )),
        _ => Ok(()),
    }
}

/// Headers shared by every request: AIPerf's set, the endpoint's credential headers from
/// `--api-key`, and the user's `--header`s. Two sources of the same credential header
/// (`--api-key`, a `--url` with `user:password@`, a `--header`) are refused: one would
/// silently replace the other.
fn headers(cfg: &ProfileConfig, endpoint: &dyn Endpoint) -> anyhow::Result<HeaderMap> {
    check_content_type(cfg, endpoint)?;
    let mut h = HeaderMap::new();
    h.insert(
        USER_AGENT,
        HeaderValue::from_static(concat!("aiperf/", env!("CARGO_PKG_VERSION"))),
    );
    let content_type = match endpoint.encoding() {
        BodyEncoding::Json => HeaderValue::from_static("application/json"),
        BodyEncoding::Multipart => HeaderValue::from_str(&multipart::content_type())?,
    };
    h.insert(CONTENT_TYPE, content_type);
    h.insert(
        ACCEPT,
        HeaderValue::from_static(if cfg.streaming {
            "text/event-stream"
        } else {
            "application/json"
        }),
    );
    // Which option set each credential header, to name both sides of a conflict.
    let mut credential_from: Vec<(HeaderName, String)> = Vec::new();
    if let Some(url) = cfg.urls.iter().find(|u| u.has_credentials()) {
        credential_from.push((AUTHORIZATION, format!("--url {url} (user:password@)")));
    }
    let mut claim = |name: &HeaderName, by: String| -> anyhow::Result<()> {
        if let Some((_, first)) = credential_from.iter().find(|(n, _)| n == name) {
            anyhow::bail!("{by} and {first} both set the '{name}' header: give only one of them");
        }
        credential_from.push((name.clone(), by));
        Ok(())
    };
    if let Some(key) = &cfg.api_key {
        for (name, value) in endpoint.auth_headers(key) {
            let name = HeaderName::from_static(name);
            if aiperf_config::resolve::is_sensitive_header(name.as_str()) {
                claim(&name, "--api-key".to_string())?;
            }
            let mut v = HeaderValue::from_str(&value).map_err(|_| {
                anyhow!("--api-key: contains characters not allowed in an HTTP header")
            })?;
            v.set_sensitive(true);
            h.insert(name, v);
        }
    }
    for (name, value) in &cfg.headers {
        if aiperf_config::resolve::is_sensitive_header(name.as_str()) {
            claim(name, format!("--header {name}"))?;
        }
        h.insert(name.clone(), value.clone());
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_config::{Cli, Command};
    use clap::Parser;

    fn config(args: &[&str]) -> ProfileConfig {
        let mut argv = vec!["aiperf", "profile", "--url", "http://127.0.0.1:1"];
        argv.extend_from_slice(args);
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let Command::Profile(p) = Cli::try_parse_from(&argv).expect("parses").command else {
            panic!("not profile")
        };
        ProfileConfig::resolve(*p, &argv, &Registry::builtin()).expect("valid")
    }

    /// Round robin takes the models in turn; random is a reproducible, roughly uniform pick
    /// per session that depends on the seed.
    #[test]
    fn model_pick_per_session() {
        let rr = ModelPick::new(ModelSelection::RoundRobin, 7);
        let picks: Vec<usize> = (0..7).map(|s| rr.model(s, 3)).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(rr.model(5, 0), 0, "no models: index 0");

        let random = |seed: u64| -> Vec<usize> {
            let pick = ModelPick::new(ModelSelection::Random, seed);
            (0..1000).map(|s| pick.model(s, 3)).collect()
        };
        let a = random(42);
        assert_eq!(a, random(42), "the same seed picks the same models");
        // Asked in any order (as shards and workers do), a session gets the same model.
        let pick = ModelPick::new(ModelSelection::Random, 42);
        for s in (0..1000u64).rev() {
            assert_eq!(pick.model(s, 3), a[s as usize]);
        }
        let mut counts = [0usize; 3];
        for &m in &a {
            counts[m] += 1;
        }
        for c in counts {
            assert!((250..=420).contains(&c), "roughly uniform: {counts:?}");
        }
        assert_ne!(a, random(43), "another seed, other picks");
        assert_ne!(
            a,
            (0..1000).map(|s| (s % 3) as usize).collect::<Vec<_>>(),
            "not round robin"
        );
    }

    fn body(turn: &PreparedTurn) -> Value {
        serde_json::from_slice(&turn.body).expect("a JSON body")
    }

    /// Synthetic chat bodies: exact prompt length, one set per model, the flags' fields, the
    /// shared headers, and the same bytes again from the same seed.
    #[test]
    fn synthetic_bodies_are_exact_per_model_and_reproducible() {
        let cfg = config(&[
            "-m",
            "alpha,beta",
            "--streaming",
            "--isl",
            "16",
            "--osl",
            "4",
            "--num-dataset-entries",
            "3",
            "--random-seed",
            "9",
            "--api-key",
            "sk-test",
            "-H",
            "X-Trace:on",
        ]);
        let registry = Registry::builtin();
        let tokenizer = Arc::new(TextTokenizer::builtin().unwrap());
        let p = prepare_with(&cfg, &registry, tokenizer.clone(), &Fetched::default()).unwrap();
        assert_eq!(p.conversations.len(), 3);
        assert_eq!(p.turns.len(), 2, "one set of bodies per model");
        for c in 0..3 {
            let a = body(&p.turns_of(0, c)[0]);
            let b = body(&p.turns_of(1, c)[0]);
            assert_eq!(
                (a["model"].as_str(), b["model"].as_str()),
                (Some("alpha"), Some("beta"))
            );
            assert_eq!(
                a["messages"], b["messages"],
                "the same prompt for both models"
            );
            assert_eq!(a["stream"], true);
            assert_eq!(a["max_completion_tokens"], 4);
            let text = a["messages"][0]["content"].as_str().expect("text content");
            assert_eq!(tokenizer.count(text), 16, "{text:?}");
        }
        assert_eq!(
            p.turns_of(2, 0)[0].body,
            p.turns_of(0, 0)[0].body,
            "models alternate"
        );
        assert_eq!(p.headers["authorization"], "Bearer sk-test");
        assert!(p.headers["authorization"].is_sensitive());
        assert_eq!(p.headers["x-trace"], "on");
        assert_eq!(p.headers["accept"], "text/event-stream");
        let again = prepare_with(&cfg, &registry, tokenizer, &Fetched::default()).unwrap();
        for (x, y) in p.turns[0].iter().zip(&again.turns[0]) {
            assert_eq!(x[0].body, y[0].body);
        }
    }

    /// Multi-turn synthetic conversations carry every turn, in order.
    #[test]
    fn conversations_keep_their_turns() {
        let cfg = config(&[
            "-m",
            "m",
            "--isl",
            "8",
            "--conversation-num",
            "2",
            "--conversation-turn-mean",
            "3",
            "--random-seed",
            "1",
        ]);
        let tokenizer = Arc::new(TextTokenizer::builtin().unwrap());
        let p = prepare_with(&cfg, &Registry::builtin(), tokenizer, &Fetched::default()).unwrap();
        assert_eq!(p.conversations.len(), 2);
        for (info, turns) in p.conversations.iter().zip(&p.turns[0]) {
            assert_eq!(info.turns, 3);
            assert_eq!(turns.len(), 3);
            assert!(!info.independent_turns);
        }
        assert!(p.carries_history, "chat bodies have a message list");
    }
}
