//! Synthetic prompts the way AIPerf makes them (spec §5.2): a token length drawn from
//! N(mean, stddev), a window of that many corpus tokens at a random offset, decoded and
//! re-encoded until the text tokenizes to exactly the drawn length.

use aiperf_core::{Conversation, Turn};

use crate::blocks::BlockPrompts;
use crate::chat_template::{ChatTemplate, TemplateOverhead};
use crate::corpus::Corpus;
use crate::rng::Rng;
use crate::seq_dist::LengthSampler;
use crate::synthetic_media::{AudioConfig, AudioPlan, ImageConfig, ImagePlan};
use crate::tokenizer::TextTokenizer;
use crate::video::{VideoConfig, VideoPlan};

/// What to synthesize.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticConfig {
    /// Number of distinct conversations (`--num-dataset-entries` / `--conversation-num`).
    pub num_entries: usize,
    pub isl_mean: f64,
    pub isl_stddev: f64,
    /// `--osl`; no output length is requested when `None`.
    pub osl_mean: Option<f64>,
    pub osl_stddev: f64,
    /// Texts per turn (`--prompt-batch-size`).
    pub batch_size: usize,
    /// Turns per conversation: `max(1, ceil(N(mean, stddev)))` (`--conversation-turn-mean`).
    pub turns_mean: f64,
    pub turns_stddev: f64,
    /// Delay before each turn after the first: `N(mean, stddev)` ms, positive and rounded up,
    /// times `delay_ratio` (`--conversation-turn-delay-*`). No delay when the mean is 0.
    pub delay_mean_ms: f64,
    pub delay_stddev_ms: f64,
    pub delay_ratio: f64,
    /// `--num-prefix-prompts` prefixes of `--prefix-prompt-length` tokens; each conversation's
    /// first prompt starts with one of them.
    pub prefix_prompts: usize,
    pub prefix_length: usize,
    /// Synthetic images per turn (`--image-*`), if enabled.
    pub images: Option<ImageConfig>,
    /// Synthetic audio clips per turn (`--audio-*`), if enabled.
    pub audio: Option<AudioConfig>,
    /// Synthetic video clips per turn (`--video-*`, encoded by ffmpeg), if enabled.
    pub video: Option<VideoConfig>,
    /// Rankings requests (one query and its passages) instead of prompts, for rankings APIs.
    pub rankings: Option<RankingsConfig>,
    /// `--seq-dist` / `--random-range-ratio`: each turn's (ISL, OSL) drawn from this instead of
    /// `isl_*`/`osl_*`; the ISL is then exact and the OSL is the turn's output length.
    pub lengths: Option<LengthSampler>,
    /// Tokens taken off each conversation's first prompt because a `--cache-bust` marker will
    /// sit in it, so the marked prompt stays at the drawn ISL (AIPerf's compensation).
    pub first_turn_isl_reduction: usize,
    pub seed: u64,
}

/// Synthetic rankings requests (`--rankings-*`, AIPerf's defaults): per entry one query of
/// N(query mean, stddev) tokens and N(passages mean, stddev) passages of N(passage mean,
/// stddev) tokens each.
#[derive(Debug, Clone, PartialEq)]
pub struct RankingsConfig {
    pub passages_mean: f64,
    pub passages_stddev: f64,
    pub passage_tokens_mean: f64,
    pub passage_tokens_stddev: f64,
    pub query_tokens_mean: f64,
    pub query_tokens_stddev: f64,
}

impl Default for RankingsConfig {
    fn default() -> Self {
        Self {
            passages_mean: 1.0,
            passages_stddev: 0.0,
            passage_tokens_mean: 550.0,
            passage_tokens_stddev: 0.0,
            query_tokens_mean: 550.0,
            query_tokens_stddev: 0.0,
        }
    }
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self {
            num_entries: 100,
            isl_mean: 550.0,
            isl_stddev: 0.0,
            osl_mean: None,
            osl_stddev: 0.0,
            batch_size: 1,
            turns_mean: 1.0,
            turns_stddev: 0.0,
            delay_mean_ms: 0.0,
            delay_stddev_ms: 0.0,
            delay_ratio: 1.0,
            prefix_prompts: 0,
            prefix_length: 0,
            images: None,
            audio: None,
            video: None,
            rankings: None,
            lengths: None,
            first_turn_isl_reduction: 0,
            seed: 0,
        }
    }
}

/// Conversation-level messages added to every conversation (synthetic or loaded).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContextConfig {
    /// `--system-prompt` / `--system-prompt-file`: verbatim, identical for every conversation.
    pub system_prompt: Option<String>,
    /// `--shared-system-prompt-length`: one synthetic system prompt of this many tokens.
    pub shared_system_length: Option<usize>,
    /// `--user-context-prompt-length`: a distinct synthetic context message per conversation.
    pub user_context_length: Option<usize>,
    pub seed: u64,
}

/// One text to cut: corpus offset, token count, and the prefix-pool entry to put first.
type TextPlan = (usize, usize, Option<usize>);
/// One turn: its texts, output length, delay, images, audio and video clips.
struct TurnPlan {
    texts: Vec<TextPlan>,
    max_tokens: Option<u32>,
    delay: Option<f64>,
    images: Vec<ImagePlan>,
    audios: Vec<AudioPlan>,
    videos: Vec<VideoPlan>,
}

/// One turn's encoded content: texts, images, audio clips, videos.
type TurnContent = (Vec<String>, Vec<String>, Vec<String>, Vec<String>);

/// The exact length of a prompt whose ISL was drawn from a `--seq-dist` / `--random-range-ratio`
/// pair, less `reduction` (a cache-bust marker's tokens), at least 1; 0 is kept only when a
/// prefix prompt carries the request, as AIPerf does.
fn exact_isl(isl: usize, reduction: usize, with_prefix: bool) -> usize {
    let floor = usize::from(!with_prefix);
    isl.saturating_sub(reduction).max(floor)
}

/// Cuts exact-length prompts out of a corpus.
pub struct PromptGenerator<'a> {
    tokenizer: &'a TextTokenizer,
    corpus: &'a Corpus,
    /// `--apply-chat-template`: the template's wrapping, taken off synthetic prompts.
    template: TemplateOverhead,
}

impl<'a> PromptGenerator<'a> {
    pub fn new(tokenizer: &'a TextTokenizer, corpus: &'a Corpus) -> Self {
        Self {
            tokenizer,
            corpus,
            template: TemplateOverhead::default(),
        }
    }

    /// Synthetic prompts shortened by `template`'s estimated wrapping so the templated prompt
    /// has the drawn length (AIPerf's ISL budget compensation under `--apply-chat-template`);
    /// `None` leaves them as they are.
    pub fn with_chat_template(mut self, template: Option<&ChatTemplate>) -> Self {
        self.template = template.map_or_else(TemplateOverhead::default, |t| {
            let o = t.overhead(self.tokenizer);
            tracing::debug!(
                "--apply-chat-template: synthetic prompts shortened by {} tokens on a \
                 conversation's first turn, {} on later ones",
                o.per_request + o.per_message,
                o.per_message
            );
            o
        });
        self
    }

    /// Tokens taken off turn `k`'s synthetic prompt: AIPerf's `first_turn_isl_adjustment` (the
    /// template's per-request and per-message wrapping, plus `first_turn` for a cache-bust
    /// marker) or `subsequent_turn_isl_adjustment` (per-message wrapping). `drawn_mean`: the
    /// length comes from the ISL mean, which AIPerf first lowers by the special tokens the
    /// tokenizer prepends (`_get_turn_sequence_lengths`), as the template estimate assumes;
    /// here that is done only with a template, the one case where the estimate relies on it.
    fn isl_reduction(&self, k: u32, first_turn: usize, drawn_mean: bool) -> usize {
        let t = &self.template;
        let bos = if drawn_mean && t.per_request + t.per_message > 0 {
            t.bos
        } else {
            0
        };
        match k {
            0 => first_turn + t.per_request + t.per_message + bos,
            _ => t.per_message + bos,
        }
    }

    /// A prompt of exactly `n` tokens starting at corpus offset `start` (best effort after 10
    /// corrections, which in practice always suffice).
    pub fn prompt(&self, start: usize, n: usize) -> String {
        let mut ids = self.corpus.window(start, n);
        let mut next = start + n; // where top-up tokens come from: deterministic, no RNG
        let mut text = self.tokenizer.decode(&ids);
        for _ in 0..10 {
            // Counting is cheaper than encoding, and the first cut is usually exact.
            if self.tokenizer.count(&text) == n {
                return text;
            }
            let re = self.tokenizer.encode(&text);
            if re.len() > n {
                ids = re[..n].to_vec();
            } else {
                ids = re;
                let missing = n - ids.len();
                ids.extend(self.corpus.window(next, missing));
                next += missing;
            }
            text = self.tokenizer.decode(&ids);
        }
        text
    }

    /// `cfg.num_entries` single-turn conversations, each one rankings request: a query (the
    /// turn's `query`) and its passages (its `texts`), every text of exactly its drawn length.
    fn rankings(&self, cfg: &SyntheticConfig, r: &RankingsConfig) -> Vec<Conversation> {
        let mut offsets = Rng::derive(cfg.seed, "dataset.prompt.corpus");
        let mut counts = Rng::derive(cfg.seed, "dataset.rankings.passages");
        let mut passage_len = Rng::derive(cfg.seed, "dataset.rankings.passages.tokens");
        let mut query_len = Rng::derive(cfg.seed, "dataset.rankings.query.tokens");
        let mut osl = Rng::derive(cfg.seed, "composer.turn.max_tokens");
        let corpus_len = self.corpus.tokens.len().max(1) as u64;
        // (start, tokens) of the query, then of each passage; and the output length.
        type Plan = (Vec<(usize, usize)>, Option<u32>);
        let plans: Vec<Plan> = (0..cfg.num_entries)
            .map(|_| {
                let passages = counts.positive_normal_integer(r.passages_mean, r.passages_stddev);
                let mut texts = vec![(
                    offsets.below(corpus_len) as usize,
                    query_len.positive_normal_integer(r.query_tokens_mean, r.query_tokens_stddev)
                        as usize,
                )];
                texts.extend((0..passages).map(|_| {
                    (
                        offsets.below(corpus_len) as usize,
                        passage_len
                            .positive_normal_integer(r.passage_tokens_mean, r.passage_tokens_stddev)
                            as usize,
                    )
                }));
                let max_tokens = cfg
                    .osl_mean
                    .map(|m| osl.positive_normal_integer(m, cfg.osl_stddev));
                (texts, max_tokens)
            })
            .collect();
        let texts: Vec<Vec<String>> = crate::parallel::map(&plans, |(texts, _)| {
            texts
                .iter()
                .map(|&(start, n)| self.prompt(start, n))
                .collect()
        });
        texts
            .into_iter()
            .zip(plans)
            .enumerate()
            .map(|(i, (mut texts, (_, max_tokens)))| {
                let query = texts.remove(0);
                let turn = Turn {
                    query: Some(query),
                    texts,
                    max_tokens,
                    ..Default::default()
                };
                Conversation::single(format!("session_{i:06}"), turn)
            })
            .collect()
    }

    /// Builds `cfg.num_entries` conversations named `session_000000`, ...
    ///
    /// Random draws happen in entry order from named streams; the expensive decode/encode work
    /// then runs on all cores, so the result is the same whatever the core count. Fails only if
    /// a synthetic image or audio clip cannot be encoded.
    pub fn conversations(&self, cfg: &SyntheticConfig) -> Result<Vec<Conversation>, String> {
        if let Some(r) = &cfg.rankings {
            return Ok(self.rankings(cfg, r));
        }
        let mut lengths = Rng::derive(cfg.seed, "dataset.prompt.length");
        let mut offsets = Rng::derive(cfg.seed, "dataset.prompt.corpus");
        let mut osl = Rng::derive(cfg.seed, "composer.turn.max_tokens");
        let mut turn_counts = Rng::derive(cfg.seed, "composer.conversation.turn_count");
        let mut delays = Rng::derive(cfg.seed, "composer.conversation.turn_delay");
        let mut prefix_pick = Rng::derive(cfg.seed, "composer.prefix.choice");
        let mut image_rng = Rng::derive(cfg.seed, "dataset.image");
        let mut audio_rng = Rng::derive(cfg.seed, "dataset.audio");
        let mut video_rng = Rng::derive(cfg.seed, "dataset.video");
        // Which source image comes next (`--image-source-sampling`), over the whole dataset.
        let mut image_picker = cfg.images.as_ref().map(|c| c.picker(cfg.seed));
        let mut pairs = cfg
            .lengths
            .as_ref()
            .map(|l| (l, Rng::derive(cfg.seed, l.stream())));
        let corpus_len = self.corpus.tokens.len().max(1) as u64;
        let batch = cfg.batch_size.max(1);
        // Prefix pool entries are word-aligned blocks, and the prompts after them start on a
        // word, so prefix + prompt tokenizes to exactly prefix_length + n tokens.
        let prefixes = (cfg.prefix_prompts > 0 && cfg.prefix_length > 0).then(|| {
            let mut b = BlockPrompts::new(
                self.tokenizer,
                self.corpus,
                Rng::derive(cfg.seed, "dataset.prefix_prompt").next_u64(),
                cfg.prefix_length,
            );
            let pool: Vec<String> = (0..cfg.prefix_prompts as u64)
                .map(|k| b.prompt(cfg.prefix_length, &[k]).unwrap_or_default())
                .collect();
            (b, pool)
        });
        let mut plans: Vec<Vec<TurnPlan>> = Vec::with_capacity(cfg.num_entries);
        for _ in 0..cfg.num_entries {
            let turns = if cfg.turns_mean == 1.0 && cfg.turns_stddev == 0.0 {
                1
            } else {
                turn_counts.positive_normal_integer(cfg.turns_mean, cfg.turns_stddev)
            };
            let conversation = (0..turns)
                .map(|k| {
                    let with_prefix = k == 0 && prefixes.is_some();
                    // A drawn pair fixes the ISL of every text of the turn and its OSL.
                    let pair = pairs.as_mut().map(|(l, rng)| l.sample(rng));
                    let reduction =
                        self.isl_reduction(k, cfg.first_turn_isl_reduction, pair.is_none());
                    let texts = (0..batch)
                        .map(|b| {
                            let n = match pair {
                                Some((isl, _)) => {
                                    exact_isl(isl as usize, reduction, with_prefix && b == 0)
                                }
                                None => {
                                    let mean = match reduction {
                                        0 => cfg.isl_mean,
                                        r => (cfg.isl_mean - r as f64).max(1.0),
                                    };
                                    lengths.positive_normal_integer(mean, cfg.isl_stddev) as usize
                                }
                            };
                            let start = offsets.below(corpus_len) as usize;
                            match &prefixes {
                                Some((blocks, pool)) if k == 0 && b == 0 => {
                                    let pick = prefix_pick.below(pool.len() as u64) as usize;
                                    (blocks.word_start_after(start), n, Some(pick))
                                }
                                _ => (start, n, None),
                            }
                        })
                        .collect();
                    let max_tokens = match pair {
                        Some((_, Some(o))) => Some(o.max(1)),
                        _ => cfg
                            .osl_mean
                            .map(|m| osl.positive_normal_integer(m, cfg.osl_stddev)),
                    };
                    let delay = (k > 0 && cfg.delay_mean_ms > 0.0).then(|| {
                        delays.positive_normal_integer(cfg.delay_mean_ms, cfg.delay_stddev_ms)
                            as f64
                            * cfg.delay_ratio
                    });
                    let images = match (&cfg.images, image_picker.as_mut()) {
                        (Some(c), Some(picker)) => (0..c.batch)
                            .map(|_| c.plan_with(&mut image_rng, picker))
                            .collect(),
                        _ => Vec::new(),
                    };
                    let audios = cfg
                        .audio
                        .as_ref()
                        .map(|c| (0..c.batch).map(|_| c.plan(&mut audio_rng)).collect())
                        .unwrap_or_default();
                    let videos = cfg
                        .video
                        .as_ref()
                        .map(|c| (0..c.batch).map(|_| c.plan(&mut video_rng)).collect())
                        .unwrap_or_default();
                    TurnPlan {
                        texts,
                        max_tokens,
                        delay,
                        images,
                        audios,
                        videos,
                    }
                })
                .collect();
            plans.push(conversation);
        }
        let pool = prefixes.as_ref().map(|(_, p)| p.as_slice()).unwrap_or(&[]);
        let contents: Vec<Result<Vec<TurnContent>, String>> =
            crate::parallel::map(&plans, |conversation| {
                conversation
                    .iter()
                    .map(|turn| {
                        let texts = turn
                            .texts
                            .iter()
                            .map(|&(start, n, prefix)| {
                                let p = if n == 0 {
                                    String::new()
                                } else {
                                    self.prompt(start, n)
                                };
                                match prefix {
                                    Some(k) => format!("{}{p}", pool[k]),
                                    None => p,
                                }
                            })
                            .collect();
                        let images = turn
                            .images
                            .iter()
                            .map(|i| i.encode())
                            .collect::<Result<_, _>>()?;
                        let audios = turn
                            .audios
                            .iter()
                            .map(|a| a.encode())
                            .collect::<Result<_, _>>()?;
                        let videos = turn
                            .videos
                            .iter()
                            .map(|v| v.encode())
                            .collect::<Result<_, _>>()?;
                        Ok((texts, images, audios, videos))
                    })
                    .collect()
            });
        let contents = contents.into_iter().collect::<Result<Vec<_>, _>>()?;
        Ok(contents
            .into_iter()
            .zip(plans)
            .enumerate()
            .map(|(i, (contents, plan))| Conversation {
                session_id: format!("session_{i:06}"),
                turns: contents
                    .into_iter()
                    .zip(plan)
                    .map(|((texts, images, audios, videos), p)| Turn {
                        texts,
                        images,
                        audios,
                        videos,
                        max_tokens: p.max_tokens,
                        delay_ms: p.delay,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect())
    }

    /// Adds the system and user-context messages `cfg` asks for to every conversation. A
    /// verbatim system prompt goes before a conversation's own, separated by a blank line.
    pub fn add_context(&self, conversations: &mut [Conversation], cfg: &ContextConfig) {
        let mut offsets = Rng::derive(cfg.seed, "dataset.context.corpus");
        let corpus_len = self.corpus.tokens.len().max(1) as u64;
        // A `--cache-bust` system marker already in place takes its tokens out of the shared
        // prompt, so the system message keeps `--shared-system-prompt-length` tokens.
        let marker_tokens = conversations
            .first()
            .and_then(|c| c.system.as_deref())
            .filter(|own| crate::cache_bust::is_system_marker(own))
            .map_or(0, |own| self.tokenizer.count(own.trim()));
        let shared = cfg
            .shared_system_length
            .filter(|n| *n > 0)
            .map(|n| n.saturating_sub(marker_tokens).max(1))
            .map(|n| self.prompt(offsets.below(corpus_len) as usize, n));
        let system: Option<String> = match (&cfg.system_prompt, shared) {
            (Some(a), Some(b)) => Some(format!("{a}\n\n{b}")),
            (a, b) => a.clone().or(b),
        };
        if let Some(s) = &system {
            for c in conversations.iter_mut() {
                c.system = Some(match c.system.take() {
                    Some(own) => crate::cache_bust::join_system(s, &own),
                    None => s.clone(),
                });
            }
        }
        if let Some(n) = cfg.user_context_length.filter(|n| *n > 0) {
            let starts: Vec<usize> = conversations
                .iter()
                .map(|_| offsets.below(corpus_len) as usize)
                .collect();
            let contexts = crate::parallel::map(&starts, |&s| self.prompt(s, n));
            for (c, ctx) in conversations.iter_mut().zip(contexts) {
                c.user_context = Some(ctx);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (TextTokenizer, Corpus) {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        (t, c)
    }

    #[test]
    fn prompts_hit_exact_token_counts() {
        let (t, c) = setup();
        let g = PromptGenerator::new(&t, &c);
        let mut r = Rng::derive(3, "x");
        for n in [1usize, 2, 5, 17, 128, 550, 2000] {
            for _ in 0..5 {
                let start = r.below(c.tokens.len() as u64) as usize;
                let p = g.prompt(start, n);
                assert_eq!(t.count(&p), n, "n={n} start={start} prompt={p:?}");
            }
        }
    }

    #[test]
    fn conversations_are_reproducible_and_follow_the_config() {
        let (t, c) = setup();
        let g = PromptGenerator::new(&t, &c);
        let cfg = SyntheticConfig {
            num_entries: 20,
            isl_mean: 64.0,
            isl_stddev: 8.0,
            osl_mean: Some(32.0),
            osl_stddev: 0.0,
            batch_size: 1,
            seed: 42,
            ..Default::default()
        };
        let a = g.conversations(&cfg).unwrap();
        let b = g.conversations(&cfg).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 20);
        assert_eq!(a[3].session_id, "session_000003");
        assert!(a.iter().all(|c| c.turns[0].max_tokens == Some(32)));
        let lens: Vec<usize> = a.iter().map(|c| t.count(&c.turns[0].texts[0])).collect();
        assert!(
            lens.iter().any(|&l| l != 64),
            "stddev 8 should vary lengths: {lens:?}"
        );
        let other = g
            .conversations(&SyntheticConfig {
                seed: 43,
                ..cfg.clone()
            })
            .unwrap();
        assert_ne!(a, other);
        let none = g
            .conversations(&SyntheticConfig {
                osl_mean: None,
                ..cfg
            })
            .unwrap();
        assert!(none.iter().all(|c| c.turns[0].max_tokens.is_none()));
    }

    /// Rankings entries are a query and passages of exactly their drawn lengths, reproducible.
    #[test]
    fn rankings_entries_have_a_query_and_passages() {
        let (t, c) = setup();
        let g = PromptGenerator::new(&t, &c);
        let cfg = SyntheticConfig {
            num_entries: 12,
            rankings: Some(RankingsConfig {
                passages_mean: 3.0,
                passages_stddev: 1.0,
                passage_tokens_mean: 24.0,
                passage_tokens_stddev: 0.0,
                query_tokens_mean: 9.0,
                query_tokens_stddev: 0.0,
            }),
            seed: 5,
            ..Default::default()
        };
        let a = g.conversations(&cfg).unwrap();
        assert_eq!(a.len(), 12);
        let mut counts = std::collections::BTreeSet::new();
        for conv in &a {
            assert_eq!(conv.turns.len(), 1);
            let turn = &conv.turns[0];
            assert_eq!(t.count(turn.query.as_deref().unwrap()), 9);
            assert!(!turn.texts.is_empty());
            assert!(turn.texts.iter().all(|p| t.count(p) == 24));
            counts.insert(turn.texts.len());
        }
        assert!(counts.len() > 1, "the passage count varies: {counts:?}");
        assert_eq!(a, g.conversations(&cfg).unwrap());
        let one = g
            .conversations(&SyntheticConfig {
                num_entries: 2,
                rankings: Some(RankingsConfig::default()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            one[0].turns[0].texts.len(),
            1,
            "AIPerf's default: one passage"
        );
        assert_eq!(t.count(&one[0].turns[0].texts[0]), 550);
    }

    #[test]
    fn multi_turn_counts_delays_and_prefixes() {
        let (t, c) = setup();
        let g = PromptGenerator::new(&t, &c);
        let cfg = SyntheticConfig {
            num_entries: 30,
            isl_mean: 20.0,
            turns_mean: 3.0,
            turns_stddev: 1.0,
            delay_mean_ms: 100.0,
            delay_stddev_ms: 10.0,
            delay_ratio: 0.5,
            prefix_prompts: 2,
            prefix_length: 12,
            seed: 5,
            ..Default::default()
        };
        let convs = g.conversations(&cfg).unwrap();
        assert_eq!(convs, g.conversations(&cfg).unwrap());
        let counts: Vec<usize> = convs.iter().map(|c| c.turns.len()).collect();
        assert!(counts.iter().all(|&n| n >= 1));
        assert!(
            counts.iter().any(|&n| n != 3),
            "stddev 1 varies turn counts: {counts:?}"
        );
        let mean = counts.iter().sum::<usize>() as f64 / counts.len() as f64;
        assert!((2.5..=4.0).contains(&mean), "{mean}");
        let mut prefixes = std::collections::HashSet::new();
        for conv in &convs {
            assert_eq!(conv.turns[0].delay_ms, None);
            for turn in &conv.turns[1..] {
                let d = turn.delay_ms.unwrap();
                // ceil(N(100, 10)) * 0.5, far from the tails.
                assert!(
                    (30.0..=70.0).contains(&d) && (d * 2.0).fract() == 0.0,
                    "{d}"
                );
            }
            let first = &conv.turns[0].texts[0];
            let ids = t.encode(first);
            assert_eq!(ids.len(), 32, "prefix 12 + prompt 20 exactly: {first:?}");
            prefixes.insert(ids[..12].to_vec());
            for turn in &conv.turns[1..] {
                assert_eq!(t.count(&turn.texts[0]), 20);
            }
        }
        assert_eq!(prefixes.len(), 2, "two pool entries, both used");
    }

    /// A drawn pair fixes every text's ISL and the turn's output length; the cache-bust
    /// reduction shortens only first turns; `exact_isl` keeps 0 only under a prefix.
    #[test]
    fn drawn_pairs_and_first_turn_reduction() {
        use crate::seq_dist::{LengthSampler, SeqDist};
        let (t, c) = setup();
        let g = PromptGenerator::new(&t, &c);
        let cfg = SyntheticConfig {
            num_entries: 40,
            isl_mean: 999.0,
            osl_mean: Some(999.0),
            batch_size: 2,
            turns_mean: 2.0,
            lengths: Some(LengthSampler::Distribution(
                SeqDist::parse("20,5:50;40,7:50").unwrap(),
            )),
            first_turn_isl_reduction: 3,
            seed: 9,
            ..Default::default()
        };
        let convs = g.conversations(&cfg).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for conv in &convs {
            for (k, turn) in conv.turns.iter().enumerate() {
                let osl = turn.max_tokens.unwrap();
                let want = match osl {
                    5 => 20,
                    7 => 40,
                    other => panic!("OSL {other} is not a pair's"),
                } - if k == 0 { 3 } else { 0 };
                assert_eq!(turn.texts.len(), 2);
                assert!(turn.texts.iter().all(|x| t.count(x) == want), "turn {k}");
                seen.insert((k, osl));
            }
        }
        assert_eq!(
            seen.len(),
            4,
            "both pairs on first and later turns: {seen:?}"
        );
        assert_eq!(
            (
                exact_isl(2, 3, false),
                exact_isl(2, 3, true),
                exact_isl(9, 3, true)
            ),
            (1, 0, 6)
        );
    }

    /// `--apply-chat-template`: first turns lose the template's per-request and per-message
    /// wrapping, later turns the per-message wrapping; a mean-drawn length also loses the
    /// tokenizer's BOS (AIPerf lowers the mean by it), a drawn pair does not.
    #[test]
    fn chat_template_compensation() {
        let (t, c) = setup();
        let template = crate::chat_template::ChatTemplate::new(
            "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n\
             {% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
            Vec::new(),
            "test".into(),
        )
        .unwrap();
        let g = PromptGenerator::new(&t, &c).with_chat_template(Some(&template));
        let o = g.template;
        assert!(o.per_request > 0 && o.per_message > 0, "{o:?}");
        let cfg = SyntheticConfig {
            num_entries: 5,
            isl_mean: 40.0,
            turns_mean: 2.0,
            seed: 4,
            ..Default::default()
        };
        for conv in g.conversations(&cfg).unwrap() {
            assert_eq!(
                t.count(&conv.turns[0].texts[0]),
                40 - o.per_request - o.per_message
            );
            assert_eq!(t.count(&conv.turns[1].texts[0]), 40 - o.per_message);
        }
        let mut g = PromptGenerator::new(&t, &c).with_chat_template(None);
        assert_eq!(
            g.isl_reduction(0, 2, true),
            2,
            "no template: only the marker"
        );
        g.template = TemplateOverhead {
            per_request: 3,
            per_message: 4,
            bos: 1,
        };
        assert_eq!(
            [
                g.isl_reduction(0, 2, true),
                g.isl_reduction(1, 2, true),
                g.isl_reduction(0, 2, false),
                g.isl_reduction(1, 2, false)
            ],
            [10, 5, 9, 4]
        );
    }

    #[test]
    fn context_messages() {
        let (t, c) = setup();
        let g = PromptGenerator::new(&t, &c);
        let mut convs = g
            .conversations(&SyntheticConfig {
                num_entries: 3,
                isl_mean: 8.0,
                seed: 1,
                ..Default::default()
            })
            .unwrap();
        convs[2].system = Some("own".into());
        g.add_context(
            &mut convs,
            &ContextConfig {
                system_prompt: Some("Be brief.".into()),
                shared_system_length: Some(10),
                user_context_length: Some(6),
                seed: 1,
            },
        );
        let s0 = convs[0].system.clone().unwrap();
        let (verbatim, shared) = s0.split_once("\n\n").unwrap();
        assert_eq!(verbatim, "Be brief.");
        assert_eq!(t.count(shared), 10);
        assert_eq!(convs[1].system, convs[0].system);
        assert_eq!(
            convs[2].system.as_deref(),
            Some(format!("{s0}\n\nown").as_str())
        );
        let ctx: Vec<&String> = convs
            .iter()
            .map(|c| c.user_context.as_ref().unwrap())
            .collect();
        assert!(ctx.iter().all(|c| t.count(c) == 6));
        assert_ne!(ctx[0], ctx[1]);
    }
}
