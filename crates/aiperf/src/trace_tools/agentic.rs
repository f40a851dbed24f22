//! The agentic-coding workload model of `aiperf synthesize agentic-code`: its configuration
//! (AIPerf's `SessionDistributionConfig`, same JSON fields and defaults) and the session state
//! machine that draws from it.
//!
//! A session starts with a shared prefix (L1: tools and system prompt, the same for everyone;
//! L1.5: one of `num_groups` repository contexts, picked by a Zipf law) plus a lognormal
//! session prefix (L2). Each later turn waits a mixture delay (agentic or human, shorter as the
//! context fills), adds lognormal new tokens on top of the previous input and output, and the
//! session ends when the context limit is reached or a reset draw (likelier when full) fires.
//! Some early sessions are split at a restart point into a continuation that carries the whole
//! context and is queued later.

use serde_json::{json, Map, Value};

/// Hash-id layout of AIPerf's `PrefixAllocator`: group regions of this many blocks ...
pub const MAX_GROUP_BLOCKS: u64 = 200;
/// ... for at most this many groups, then one region of this many blocks per session.
pub const MAX_GROUPS: u64 = 1_000;
pub const MAX_SESSION_BLOCKS: u64 = 4_000;
/// Output lengths are floored here (or at `generation_length.max` when that is lower).
const OUTPUT_MIN: u64 = 30;

/// A small seeded generator (xoshiro256**, seeded by SplitMix64): the same seed gives the same
/// dataset in every build of this program.
pub struct Rng([u64; 4]);

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng([next(), next(), next(), next()])
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let out = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform integer in [lo, hi) (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        let span = hi.saturating_sub(lo);
        lo + ((self.uniform() * span as f64) as u64).min(span.saturating_sub(1))
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Why a configuration was refused.
pub type ConfigError = String;

/// A lognormal given by its real-space mean and median (`mu = ln median`,
/// `sigma = sqrt(2 ln(mean/median))`), optionally bounded by rejection.
#[derive(Debug, Clone, PartialEq)]
pub struct Lognormal {
    pub mu: f64,
    pub sigma: f64,
    pub mean: f64,
    pub median: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Lognormal {
    pub fn new(mean: f64, median: f64) -> Self {
        let ratio = mean / median;
        Lognormal {
            mu: median.ln(),
            sigma: if ratio > 1.0 {
                (2.0 * ratio.ln()).sqrt()
            } else {
                0.0
            },
            mean,
            median,
            min: None,
            max: None,
        }
    }

    fn bounded(mut self, min: Option<f64>, max: Option<f64>) -> Self {
        self.min = min;
        self.max = max;
        self
    }

    /// One draw: redrawn up to 100 times while outside `[min, max]`, then clamped into it,
    /// then floored at `clip_min`.
    pub fn sample(&self, rng: &mut Rng, clip_min: Option<f64>) -> f64 {
        let draw = |rng: &mut Rng| (self.mu + self.sigma * rng.normal()).exp();
        let outside =
            |x: f64| self.min.is_some_and(|lo| x < lo) || self.max.is_some_and(|hi| x > hi);
        let mut x = draw(rng);
        for _ in 0..100 {
            if !outside(x) {
                break;
            }
            x = draw(rng);
        }
        if let Some(lo) = self.min {
            x = x.max(lo);
        }
        if let Some(hi) = self.max {
            x = x.min(hi);
        }
        clip_min.map_or(x, |c| x.max(c))
    }

    pub fn to_json(&self) -> Value {
        json!({"mu": self.mu, "sigma": self.sigma, "mean": self.mean, "median": self.median,
               "min": self.min, "max": self.max})
    }

    /// From `{"mean", "median", "min"?, "max"?, "mu"?, "sigma"?}` (`mu` and `sigma` as a pair,
    /// else derived); `default` when absent.
    fn from_json(v: Option<&Value>, name: &str, default: Lognormal) -> Result<Self, ConfigError> {
        let Some(v) = v else { return Ok(default) };
        let o = object(v, name)?;
        let mean = positive(o, name, "mean", None)?;
        let median = positive(o, name, "median", None)?;
        if mean < median {
            return Err(format!(
                "{name}: mean ({mean}) must be >= median ({median}) for lognormal"
            ));
        }
        let min = optional_positive(o, name, "min")?;
        let max = optional_positive(o, name, "max")?;
        if let (Some(lo), Some(hi)) = (min, max) {
            if lo > hi {
                return Err(format!("{name}: min ({lo}) must be <= max ({hi})"));
            }
        }
        let mut out = Lognormal::new(mean, median).bounded(min, max);
        match (number(o, name, "mu")?, number(o, name, "sigma")?) {
            (Some(mu), Some(sigma)) if sigma >= 0.0 => (out.mu, out.sigma) = (mu, sigma),
            (None, None) => {}
            _ => {
                return Err(format!(
                    "{name}: mu and sigma must be supplied as a pair, sigma >= 0"
                ))
            }
        }
        Ok(out)
    }
}

/// AIPerf's `SessionDistributionConfig` (without the explicit-turns mode).
#[derive(Debug, Clone, PartialEq)]
pub struct AgenticConfig {
    pub new_tokens: Lognormal,
    pub new_tokens_bias: f64,
    pub generation_length: Lognormal,
    pub agentic_fraction: f64,
    pub agentic_delay: Lognormal,
    pub human_delay: Lognormal,
    pub delay_max: Option<f64>,
    /// `(base_probability, context_scaling)`; `None`: no probabilistic resets.
    pub reset: Option<(f64, f64)>,
    pub max_prompt_tokens: u64,
    pub block_size: u64,
    pub layer1_tokens: u64,
    pub layer1_5_tokens: u64,
    pub layer2: Lognormal,
    pub num_groups: u64,
    pub zipf_alpha: f64,
    pub restart_initial_probability: f64,
    pub restart_turn_range: [u64; 2],
}

impl Default for AgenticConfig {
    fn default() -> Self {
        AgenticConfig {
            new_tokens: Lognormal::new(3_500.0, 1_800.0),
            new_tokens_bias: 1.0,
            generation_length: Lognormal::new(500.0, 300.0),
            agentic_fraction: 0.7,
            agentic_delay: Lognormal::new(2_500.0, 1_800.0),
            human_delay: Lognormal::new(40_000.0, 25_000.0),
            delay_max: None,
            reset: Some((0.02, 2.0)),
            max_prompt_tokens: 200_000,
            block_size: 512,
            layer1_tokens: 32_000,
            layer1_5_tokens: 20_000,
            layer2: Lognormal::new(10_000.0, 5_000.0),
            num_groups: 50,
            zipf_alpha: 1.2,
            restart_initial_probability: 0.0,
            restart_turn_range: [5, 15],
        }
    }
}

fn object<'a>(v: &'a Value, name: &str) -> Result<&'a Map<String, Value>, ConfigError> {
    v.as_object()
        .ok_or_else(|| format!("{name} must be a JSON object"))
}

fn number(o: &Map<String, Value>, name: &str, key: &str) -> Result<Option<f64>, ConfigError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|x| x.is_finite())
            .map(Some)
            .ok_or_else(|| format!("{name}.{key} must be a number, got {v}")),
    }
}

fn positive(
    o: &Map<String, Value>,
    name: &str,
    key: &str,
    default: Option<f64>,
) -> Result<f64, ConfigError> {
    match number(o, name, key)?.or(default) {
        Some(x) if x > 0.0 => Ok(x),
        Some(x) => Err(format!("{name}.{key} must be > 0, got {x}")),
        None => Err(format!("{name}.{key} is required")),
    }
}

fn optional_positive(
    o: &Map<String, Value>,
    name: &str,
    key: &str,
) -> Result<Option<f64>, ConfigError> {
    match number(o, name, key)? {
        Some(x) if x <= 0.0 => Err(format!("{name}.{key} must be > 0, got {x}")),
        x => Ok(x),
    }
}

/// A number field within `[lo, hi]`, `default` when absent.
fn within(
    o: &Map<String, Value>,
    name: &str,
    key: &str,
    default: f64,
    lo: f64,
    hi: f64,
) -> Result<f64, ConfigError> {
    let x = number(o, name, key)?.unwrap_or(default);
    if !(lo..=hi).contains(&x) {
        return Err(format!("{name}.{key} must be in [{lo}, {hi}], got {x}"));
    }
    Ok(x)
}

/// A whole-number field within `[lo, hi]`, `default` when absent.
fn whole(
    o: &Map<String, Value>,
    name: &str,
    key: &str,
    default: u64,
    lo: u64,
    hi: u64,
) -> Result<u64, ConfigError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .filter(|x| (lo..=hi).contains(x))
            .ok_or_else(|| format!("{name}.{key} must be a whole number in [{lo}, {hi}], got {v}")),
    }
}

impl AgenticConfig {
    /// AIPerf's bundled `default` config (`--config default`).
    pub const BUNDLED_DEFAULT: &'static str = r#"{
  "new_tokens_per_turn": {"mean": 6000, "median": 6000, "max": 10000, "bias": 1.1},
  "generation_length": {"mean": 1000, "median": 1000, "max": 1500},
  "inter_turn_delay": {"agentic_fraction": 0.7,
    "agentic_delay": {"mean": 2500, "median": 1800, "max": 10000},
    "human_delay": {"mean": 40000, "median": 25000, "max": 120000}, "max": null},
  "reset": {"base_probability": 0.01, "context_scaling": 1.5},
  "max_prompt_tokens": 167000, "block_size": 512,
  "cache": {"layer1_tokens": 32000, "layer1_5_tokens": 0,
    "layer2": {"mean": 15000, "median": 5000, "max": 30000},
    "layer1_5_groups": {"num_groups": 1, "zipf_alpha": 0.6}}
}"#;

    /// A config file's JSON (or a previous run's `manifest.json`, whose `generation_params`
    /// it is); fields left out take AIPerf's defaults, unknown ones are ignored as AIPerf does.
    pub fn from_json(v: &Value) -> Result<Self, ConfigError> {
        let mut root = object(v, "config")?;
        if let Some(p) = root.get("generation_params") {
            root = object(p, "generation_params")?;
        }
        if root.get("turns").is_some_and(|t| !t.is_null()) {
            return Err("the explicit 'turns' mode is not supported by this build".into());
        }
        let d = AgenticConfig::default();
        let nt = root.get("new_tokens_per_turn");
        let new_tokens = Lognormal::from_json(nt, "new_tokens_per_turn", d.new_tokens.clone())?;
        let new_tokens_bias = match nt.and_then(Value::as_object) {
            Some(o) => positive(o, "new_tokens_per_turn", "bias", Some(1.0))?,
            None => 1.0,
        };
        let generation_length = Lognormal::from_json(
            root.get("generation_length"),
            "generation_length",
            d.generation_length.clone(),
        )?;
        let empty = Map::new();
        let itd = match root.get("inter_turn_delay") {
            Some(v) => object(v, "inter_turn_delay")?,
            None => &empty,
        };
        let reset = match root.get("reset") {
            Some(Value::Null) => None,
            Some(v) => {
                let o = object(v, "reset")?;
                Some((
                    within(o, "reset", "base_probability", 0.02, 0.0, 1.0)?,
                    within(o, "reset", "context_scaling", 2.0, 1.0, f64::MAX)?,
                ))
            }
            None => d.reset,
        };
        let cache = match root.get("cache") {
            Some(v) => object(v, "cache")?,
            None => &empty,
        };
        let groups = match cache.get("layer1_5_groups") {
            Some(v) => object(v, "cache.layer1_5_groups")?,
            None => &empty,
        };
        let range = match root.get("restart_turn_range") {
            None => d.restart_turn_range,
            Some(v) => match v
                .as_array()
                .map(|a| a.iter().map(Value::as_u64).collect::<Vec<_>>())
            {
                Some(r) if r.len() == 2 && r[0].is_some_and(|lo| lo >= 1) && r[1] > r[0] => {
                    [r[0].unwrap_or(1), r[1].unwrap_or(2)]
                }
                _ => return Err("restart_turn_range must be [min, max) with 1 <= min < max".into()),
            },
        };
        let cfg = AgenticConfig {
            new_tokens,
            new_tokens_bias,
            generation_length,
            agentic_fraction: within(itd, "inter_turn_delay", "agentic_fraction", 0.7, 0.0, 1.0)?,
            agentic_delay: Lognormal::from_json(
                itd.get("agentic_delay"),
                "inter_turn_delay.agentic_delay",
                d.agentic_delay.clone(),
            )?,
            human_delay: Lognormal::from_json(
                itd.get("human_delay"),
                "inter_turn_delay.human_delay",
                d.human_delay.clone(),
            )?,
            delay_max: number(itd, "inter_turn_delay", "max")?,
            reset,
            max_prompt_tokens: whole(root, "config", "max_prompt_tokens", 200_000, 1, 1 << 24)?,
            block_size: whole(root, "config", "block_size", 512, 1, 1 << 20)?,
            layer1_tokens: whole(cache, "cache", "layer1_tokens", 32_000, 0, 1 << 24)?,
            layer1_5_tokens: whole(cache, "cache", "layer1_5_tokens", 20_000, 0, 1 << 24)?,
            layer2: Lognormal::from_json(cache.get("layer2"), "cache.layer2", d.layer2.clone())?,
            num_groups: whole(
                groups,
                "cache.layer1_5_groups",
                "num_groups",
                50,
                1,
                MAX_GROUPS,
            )?,
            zipf_alpha: within(
                groups,
                "cache.layer1_5_groups",
                "zipf_alpha",
                1.2,
                0.0,
                f64::MAX,
            )?,
            restart_initial_probability: within(
                root,
                "config",
                "restart_initial_probability",
                0.0,
                0.0,
                1.0,
            )?,
            restart_turn_range: range,
        };
        Ok(cfg)
    }

    /// `--max-isl` (the context limit) and `--max-osl` (the output cap), then the checks that
    /// keep every session within AIPerf's hash-id layout.
    pub fn with_overrides(
        mut self,
        max_isl: Option<u64>,
        max_osl: Option<u64>,
    ) -> Result<Self, ConfigError> {
        if let Some(isl) = max_isl {
            self.max_prompt_tokens = isl;
        }
        if let Some(osl) = max_osl {
            let g = &self.generation_length;
            if g.min.is_some_and(|lo| lo > osl as f64) {
                return Err(format!("--max-osl {osl} is below generation_length.min"));
            }
            self.generation_length.max = Some(osl as f64);
        }
        self.check_layout()?;
        Ok(self)
    }

    fn check_layout(&self) -> Result<(), ConfigError> {
        if self.max_prompt_tokens < 2 {
            return Err("max_prompt_tokens (--max-isl) must be at least 2".into());
        }
        let l15 = self.layer1_5_tokens.div_ceil(self.block_size);
        if l15 > MAX_GROUP_BLOCKS {
            return Err(format!(
                "cache.layer1_5_tokens={} needs {l15} blocks, exceeding {MAX_GROUP_BLOCKS}",
                self.layer1_5_tokens
            ));
        }
        let allocator = Allocator::new(self);
        let needed = allocator.session_blocks(self.max_prompt_tokens - 1);
        if needed > MAX_SESSION_BLOCKS {
            return Err(format!(
                "max_prompt_tokens (--max-isl) {} needs {needed} session blocks of {} tokens, exceeding {MAX_SESSION_BLOCKS}",
                self.max_prompt_tokens, self.block_size
            ));
        }
        Ok(())
    }

    /// `generation_params` of `manifest.json`, in AIPerf's field order.
    pub fn to_json(&self) -> Value {
        let mut nt = self.new_tokens.to_json();
        nt["bias"] = json!(self.new_tokens_bias);
        json!({
            "new_tokens_per_turn": nt,
            "generation_length": self.generation_length.to_json(),
            "inter_turn_delay": {
                "agentic_fraction": self.agentic_fraction,
                "agentic_delay": self.agentic_delay.to_json(),
                "human_delay": self.human_delay.to_json(),
                "max": self.delay_max,
            },
            "reset": self.reset.map(|(b, s)| json!({"base_probability": b, "context_scaling": s})),
            "turns": null,
            "max_prompt_tokens": self.max_prompt_tokens,
            "block_size": self.block_size,
            "cache": {
                "layer1_tokens": self.layer1_tokens,
                "layer1_5_tokens": self.layer1_5_tokens,
                "layer2": self.layer2.to_json(),
                "layer1_5_groups": {"num_groups": self.num_groups, "zipf_alpha": self.zipf_alpha},
            },
            "restart_initial_probability": self.restart_initial_probability,
            "restart_turn_range": self.restart_turn_range,
        })
    }
}

/// The hash-id layout: L1 ids `0..l1`, group `g`'s L1.5 ids from `l1 + g * 200`, session `s`'s
/// ids from `l1 + 1000 * 200 + s * 4000`.
pub struct Allocator {
    block_size: u64,
    l1_blocks: u64,
    l15_blocks: u64,
}

impl Allocator {
    pub fn new(cfg: &AgenticConfig) -> Self {
        Allocator {
            block_size: cfg.block_size,
            l1_blocks: cfg.layer1_tokens.div_ceil(cfg.block_size),
            l15_blocks: cfg.layer1_5_tokens.div_ceil(cfg.block_size),
        }
    }

    /// Tokens of the shared prefix as whole blocks, where session content starts.
    pub fn prefix_tokens(&self) -> u64 {
        (self.l1_blocks + self.l15_blocks) * self.block_size
    }

    /// Session-own blocks (L2 + L3) of a prompt of `input_length` tokens.
    pub fn session_blocks(&self, input_length: u64) -> u64 {
        let total = input_length.div_ceil(self.block_size);
        let rest = total - self.l1_blocks.min(total);
        rest - self.l15_blocks.min(rest)
    }

    /// The hash ids of a prompt of `input_length` tokens: L1, the group's L1.5, then the
    /// session's own ids (always a run from its base, carried over from turn to turn).
    pub fn hash_ids(&self, session_index: u64, group: u64, input_length: u64) -> Vec<u64> {
        let total = input_length.div_ceil(self.block_size);
        let l1 = self.l1_blocks.min(total);
        let l15 = self.l15_blocks.min(total - l1);
        let own = total - l1 - l15;
        let group_base = self.l1_blocks + group * MAX_GROUP_BLOCKS;
        let session_base =
            self.l1_blocks + MAX_GROUPS * MAX_GROUP_BLOCKS + session_index * MAX_SESSION_BLOCKS;
        (0..l1)
            .chain(group_base..group_base + l15)
            .chain(session_base..session_base + own)
            .collect()
    }
}

/// Why a session ended (AIPerf's `SessionEndReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    ForcedRetire,
    ProbabilisticReset,
    RestartSplit,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// Whole prompt: previous input + previous output + new tokens.
    pub input_length: u64,
    pub output_length: u64,
    pub new_tokens: u64,
    pub delay_ms: f64,
    pub timestamp_ms: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub session_id: String,
    pub group_id: u64,
    /// Whose hash-id region the session's own blocks use (a continuation keeps its origin's).
    pub session_index: u64,
    pub turns: Vec<Turn>,
    pub end_reason: EndReason,
    pub is_restart_continuation: bool,
}

/// Draws sessions from an [`AgenticConfig`] with one seeded generator.
pub struct Synthesizer {
    cfg: AgenticConfig,
    rng: Rng,
    allocator: Allocator,
    group_cdf: Vec<f64>,
    new_tokens: Lognormal,
    output_min: f64,
    sessions_started: u64,
}

impl Synthesizer {
    pub fn new(cfg: AgenticConfig, seed: u64) -> Self {
        let weights: Vec<f64> = (1..=cfg.num_groups)
            .map(|k| 1.0 / (k as f64).powf(cfg.zipf_alpha))
            .collect();
        let sum: f64 = weights.iter().sum();
        let group_cdf = weights
            .iter()
            .scan(0.0, |acc, w| {
                *acc += w / sum;
                Some(*acc)
            })
            .collect();
        let mut new_tokens = cfg.new_tokens.clone();
        if cfg.new_tokens_bias != 1.0 {
            new_tokens.mu += cfg.new_tokens_bias.ln();
            new_tokens.mean *= cfg.new_tokens_bias;
            new_tokens.median *= cfg.new_tokens_bias;
        }
        let output_min = match cfg.generation_length.max {
            Some(max) => (OUTPUT_MIN as f64).min(max.trunc()),
            None => OUTPUT_MIN as f64,
        };
        Synthesizer {
            allocator: Allocator::new(&cfg),
            rng: Rng::new(seed),
            cfg,
            group_cdf,
            new_tokens,
            output_min,
            sessions_started: 0,
        }
    }

    pub fn allocator(&self) -> &Allocator {
        &self.allocator
    }

    fn session_id(&mut self) -> String {
        format!("sess-{:012x}", self.rng.next_u64() >> 16)
    }

    fn group(&mut self) -> u64 {
        let u = self.rng.uniform();
        self.group_cdf
            .iter()
            .position(|&c| u < c)
            .unwrap_or(self.group_cdf.len() - 1) as u64
    }

    fn initial_context(&mut self) -> u64 {
        let l2 = (self.cfg.layer2.sample(&mut self.rng, None) as u64).max(1);
        (self.allocator.prefix_tokens() + l2).min(self.cfg.max_prompt_tokens - 1)
    }

    fn output_length(&mut self) -> u64 {
        self.cfg
            .generation_length
            .sample(&mut self.rng, Some(self.output_min)) as u64
    }

    fn new_tokens(&mut self) -> u64 {
        (self.new_tokens.sample(&mut self.rng, None) as u64).max(1)
    }

    /// A mixture delay, shortened as the context fills (down to a fifth), capped by `max`.
    fn delay_ms(&mut self, prev_input: u64) -> f64 {
        let agentic = self.rng.uniform() < self.cfg.agentic_fraction;
        let dist = if agentic {
            &self.cfg.agentic_delay
        } else {
            &self.cfg.human_delay
        };
        let mut d = dist.sample(&mut self.rng, None);
        let ratio = prev_input as f64 / self.cfg.max_prompt_tokens as f64;
        d *= (1.0 - 0.8 * ratio).max(0.2);
        if let Some(max) = self.cfg.delay_max {
            d = d.min(max);
        }
        d
    }

    fn should_reset(&mut self, input_length: u64) -> bool {
        let Some((base, scaling)) = self.cfg.reset else {
            return false;
        };
        let ratio = input_length as f64 / self.cfg.max_prompt_tokens as f64;
        self.rng.uniform() < base * (1.0 + (scaling - 1.0) * ratio)
    }

    /// Turns after the first until the context limit or a reset; `restart_at` splits there.
    fn grow(&mut self, turns: &mut Vec<Turn>, restart_at: Option<usize>) -> Option<EndReason> {
        loop {
            if restart_at == Some(turns.len()) {
                return None;
            }
            let last = turns.last().cloned().unwrap_or(Turn {
                input_length: 0,
                output_length: 0,
                new_tokens: 0,
                delay_ms: 0.0,
                timestamp_ms: 0.0,
            });
            let delay_ms = self.delay_ms(last.input_length);
            let new_tokens = self.new_tokens();
            let input_length = last.input_length + last.output_length + new_tokens;
            if input_length >= self.cfg.max_prompt_tokens {
                return Some(EndReason::ForcedRetire);
            }
            if self.should_reset(input_length) {
                return Some(EndReason::ProbabilisticReset);
            }
            let output_length = self.output_length();
            turns.push(Turn {
                input_length,
                output_length,
                new_tokens,
                delay_ms,
                timestamp_ms: last.timestamp_ms + delay_ms,
            });
        }
    }

    fn first_turn(input_length: u64, output_length: u64) -> Turn {
        Turn {
            input_length,
            output_length,
            new_tokens: input_length,
            delay_ms: 0.0,
            timestamp_ms: 0.0,
        }
    }

    /// One session, or a session and its restart continuation.
    pub fn session(&mut self, inject_restart: bool) -> Vec<Session> {
        let session_index = self.sessions_started;
        self.sessions_started += 1;
        let session_id = self.session_id();
        let [lo, hi] = self.cfg.restart_turn_range;
        let restart_at = inject_restart.then(|| self.rng.range(lo, hi) as usize);
        let group_id = self.group();
        let initial = self.initial_context();
        let output = self.output_length();
        let mut turns = vec![Self::first_turn(initial, output)];
        let end = self.grow(&mut turns, restart_at);
        let first = Session {
            session_id,
            group_id,
            session_index,
            end_reason: end.unwrap_or(EndReason::RestartSplit),
            turns,
            is_restart_continuation: false,
        };
        if end.is_some() {
            return vec![first];
        }
        let last = first.turns.last().cloned();
        let carried = last.map_or(0, |t| t.input_length + t.output_length);
        let continuation = self.continuation(session_index, group_id, carried);
        vec![first, continuation]
    }

    /// A restart continuation: its first turn carries the whole context of the split session.
    fn continuation(&mut self, session_index: u64, group_id: u64, carried: u64) -> Session {
        let session_id = self.session_id();
        let initial = carried.min(self.cfg.max_prompt_tokens - 1);
        let output = self.output_length();
        let mut turns = vec![Self::first_turn(initial, output)];
        let end = self
            .grow(&mut turns, None)
            .unwrap_or(EndReason::ForcedRetire);
        Session {
            session_id,
            group_id,
            session_index,
            turns,
            end_reason: end,
            is_restart_continuation: true,
        }
    }

    /// `n` sessions. Restarts are likeliest at the start and never after 75 % of them; each
    /// continuation is queued at least a quarter of the sessions after its origin.
    pub fn sessions(&mut self, n: u64) -> Vec<Session> {
        let p0 = self.cfg.restart_initial_probability;
        let mut primary: Vec<Session> = Vec::with_capacity(n as usize);
        let mut deferred: Vec<(Session, usize)> = Vec::new();
        for i in 0..n {
            let progress = i as f64 / (n.max(2) - 1) as f64;
            let p = if progress >= 0.75 {
                0.0
            } else {
                p0 * (1.0 - progress / 0.75)
            };
            let inject = self.rng.uniform() < p;
            let mut out = self.session(inject).into_iter();
            let origin = primary.len();
            primary.extend(out.next());
            deferred.extend(out.map(|s| (s, origin)));
        }
        let min_offset = ((n as f64 * 0.25) as usize).max(1);
        for (session, origin) in deferred {
            let low = (origin + min_offset).min(primary.len());
            let pos = if low >= primary.len() {
                primary.len()
            } else {
                self.rng.range(low as u64, primary.len() as u64 + 1) as usize
            };
            primary.insert(pos, session);
        }
        primary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lognormal_from_mean_and_median() {
        let l = Lognormal::new(3_500.0, 1_800.0);
        assert_eq!(l.mu, 1_800f64.ln());
        assert!((l.sigma - 1.153_235_711_893_495_7).abs() < 1e-12);
        assert_eq!(Lognormal::new(5.0, 5.0).sigma, 0.0);
    }

    #[test]
    fn bounded_draws_stay_in_bounds_and_median_is_right() {
        let mut rng = Rng::new(7);
        let l = Lognormal::new(3_500.0, 1_800.0).bounded(Some(100.0), Some(5_000.0));
        for _ in 0..2_000 {
            let x = l.sample(&mut rng, None);
            assert!((100.0..=5_000.0).contains(&x), "{x}");
        }
        let free = Lognormal::new(3_500.0, 1_800.0);
        let mut v: Vec<f64> = (0..20_001).map(|_| free.sample(&mut rng, None)).collect();
        v.sort_by(f64::total_cmp);
        assert!(
            (v[10_000] / 1_800.0 - 1.0).abs() < 0.05,
            "median {}",
            v[10_000]
        );
    }

    /// Defaults: L1 = ceil(32000/512) = 63 blocks (ids 0..62), L1.5 = ceil(20000/512) = 40
    /// (group 7: 63 + 1400 = 1463..1502), session 0 from 63 + 200000 = 200063.
    #[test]
    fn hash_id_layout_matches_aiperf() {
        let a = Allocator::new(&AgenticConfig::default());
        assert_eq!(a.prefix_tokens(), 103 * 512);
        let ids = a.hash_ids(0, 7, 53_238);
        assert_eq!(ids.len(), 104);
        assert_eq!(
            (ids[62], ids[63], ids[102], ids[103]),
            (62, 1463, 1502, 200_063)
        );
        assert_eq!(a.hash_ids(1, 0, 600), vec![0, 1]);
        assert_eq!(a.hash_ids(2, 0, 103 * 512 + 1)[103], 200_063 + 2 * 4_000);
    }

    #[test]
    fn sessions_follow_the_state_machine() {
        let cfg = AgenticConfig {
            restart_initial_probability: 1.0,
            ..Default::default()
        };
        let mut s = Synthesizer::new(cfg.clone(), 3);
        let sessions = s.sessions(40);
        assert!(sessions.len() > 40, "restarts add continuations");
        for sess in &sessions {
            let t0 = &sess.turns[0];
            assert!(t0.input_length < cfg.max_prompt_tokens);
            if !sess.is_restart_continuation {
                assert!(t0.input_length > 103 * 512);
            }
            for w in sess.turns.windows(2) {
                assert_eq!(
                    w[1].input_length,
                    w[0].input_length + w[0].output_length + w[1].new_tokens
                );
                assert!(w[1].timestamp_ms >= w[0].timestamp_ms);
            }
            assert!(sess.turns.iter().all(|t| t.output_length >= 30));
        }
        let again = Synthesizer::new(cfg, 3).sessions(40);
        assert_eq!(sessions, again);
    }

    #[test]
    fn config_files_are_read_with_defaults_and_refused_when_wrong() {
        let bundled: Value = serde_json::from_str(AgenticConfig::BUNDLED_DEFAULT).unwrap();
        let c = AgenticConfig::from_json(&bundled).unwrap();
        assert_eq!(
            (c.max_prompt_tokens, c.layer1_5_tokens, c.new_tokens_bias),
            (167_000, 0, 1.1)
        );
        assert_eq!(c.agentic_delay.max, Some(10_000.0));
        let round = AgenticConfig::from_json(&json!({"generation_params": c.to_json()})).unwrap();
        assert_eq!(round, c);
        assert_eq!(
            AgenticConfig::from_json(&json!({})).unwrap(),
            AgenticConfig::default()
        );
        for (bad, want) in [
            (
                json!({"generation_length": {"mean": 1, "median": 2}}),
                "generation_length: mean (1) must be >= median (2) for lognormal",
            ),
            (
                json!({"block_size": 0}),
                "config.block_size must be a whole number in [1, 1048576], got 0",
            ),
            (
                json!({"turns": {"mean": 5}}),
                "the explicit 'turns' mode is not supported by this build",
            ),
            (json!([1]), "config must be a JSON object"),
        ] {
            assert_eq!(AgenticConfig::from_json(&bad).unwrap_err(), want);
        }
        let huge = AgenticConfig::default()
            .with_overrides(Some(4_000_000), None)
            .unwrap_err();
        assert!(huge.contains("exceeding 4000"), "{huge}");
    }
}
