//! `--public-dataset`: the dataset's files fetched from the Hugging Face Hub (into its standard
//! cache; nothing is downloaded twice) before the dataset is prepared, then read into
//! conversations as AIPerf's public loaders do.

use aiperf_config::ProfileConfig;
use aiperf_core::Conversation;
use aiperf_dataset::corpus::Corpus;
use aiperf_dataset::loader::LoadContext;
use aiperf_dataset::public::{self, Fetched, PublicDataset};
use aiperf_dataset::rng::Rng;
use aiperf_dataset::TextTokenizer;
use aiperf_hub::HubConfig;
use anyhow::anyhow;

fn chosen(cfg: &ProfileConfig) -> anyhow::Result<Option<&'static PublicDataset>> {
    let Some(choice) = &cfg.public_dataset else {
        return Ok(None);
    };
    public::find(&choice.name)
        .map(Some)
        .ok_or_else(|| anyhow!("--public-dataset {}: not a public dataset", choice.name))
}

/// The public dataset's local files, downloaded when not cached; `None` without
/// `--public-dataset`. Blocking: call it from a blocking thread.
pub fn fetch(cfg: &ProfileConfig, hub: &HubConfig) -> anyhow::Result<Option<Fetched>> {
    let Some(ds) = chosen(cfg)? else {
        return Ok(None);
    };
    let subset = cfg
        .public_dataset
        .as_ref()
        .and_then(|c| c.subset.as_deref());
    let started = std::time::Instant::now();
    let fetched = public::fetch(hub, ds, subset)?;
    tracing::info!(
        "public dataset {}: {} file(s) of {} (commit {}, split {}) ready in {:.1} s",
        ds.name,
        fetched.files.len(),
        ds.repo,
        fetched.commit,
        ds.split,
        started.elapsed().as_secs_f64()
    );
    Ok(Some(fetched))
}

/// The conversations of the fetched public dataset, `--osl` sampled for turns that give no
/// output length (as for dataset files).
pub fn conversations(
    cfg: &ProfileConfig,
    fetched: Option<&Fetched>,
    tokenizer: &TextTokenizer,
    corpus: &Corpus,
    seed: u64,
) -> anyhow::Result<Vec<Conversation>> {
    let (Some(ds), Some(fetched)) = (chosen(cfg)?, fetched) else {
        return Err(anyhow!("--public-dataset: its files were not fetched"));
    };
    let ctx = LoadContext {
        tokenizer,
        corpus,
        seed,
        block_size: None,
        num_conversations: cfg.conversation.conversation_num,
        osl_mean: cfg.osl_mean,
        replay: Default::default(),
        synthesis: Default::default(),
        agentic: Default::default(),
    };
    let mut loaded = public::load(ds, fetched, &ctx)?;
    if let Some(m) = cfg.osl_mean {
        let mut osl = Rng::derive(seed, "composer.turn.max_tokens");
        for t in loaded.iter_mut().flat_map(|c| c.turns.iter_mut()) {
            if t.max_tokens.is_none() {
                t.max_tokens = Some(osl.positive_normal_integer(m, cfg.osl_stddev));
            }
        }
    }
    Ok(loaded)
}
