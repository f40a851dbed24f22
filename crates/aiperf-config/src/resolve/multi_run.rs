//! Help group "Multi-Run": one invocation as a set of runs. Magic lists on the sweepable flags
//! expand into variations (grid or zip), each repeated `--num-profile-runs` times, with the seeds,
//! warm-up and artifact directories AIPerf 0.13 gives them (docs/design/multi-run.md §1-2).
//!
//! Every variation is resolved by [`ProfileConfig::resolve`] on its own copy of the arguments,
//! so each value of a list gets the same checks as a single value would.

use std::fmt;
use std::path::PathBuf;

use aiperf_plugins::Registry;
use sha2::{Digest, Sha256};

use super::{invalid, non_negative, ConfigError, LoadMode, ProfileConfig};
use crate::cli::ProfileArgs;
use crate::magic_list::Sweepable;

mod variant;

/// At most this many trials per variation (AIPerf's bound).
pub const MAX_TRIALS: u32 = 10;
/// At most this many variations: a grid over several long lists is refused, not run for weeks.
pub const MAX_VARIATIONS: usize = 1_000;
/// Seed of every trial when several runs are made without `--random-seed` (AIPerf's choice).
pub const CONSISTENT_SEED: u64 = 42;

/// One value of a swept parameter, printed as AIPerf prints it (`4`, `5.0`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepValue {
    pub value: f64,
    /// The flag takes integers (AIPerf parses it with `int()`).
    pub integer: bool,
}

impl SweepValue {
    pub fn to_json(self) -> serde_json::Value {
        if self.integer {
            serde_json::Value::from(self.value as i64)
        } else {
            serde_json::Value::from(self.value)
        }
    }
}

impl fmt::Display for SweepValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.integer {
            write!(f, "{}", self.value as i64)
        } else {
            f.write_str(&python_float(self.value))
        }
    }
}

/// Python's `repr(float)`: shortest round trip, `.0` on whole numbers, exponent past 1e16.
pub fn python_float(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{v:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        format!("{mantissa}e{sign}{digits:0>2}")
    } else if v.fract() == 0.0 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// A sweepable flag: its name, AIPerf's config path (which orders the sweep and names the
/// directories), and how to read its list and set one value.
struct SweepField {
    flag: &'static str,
    path: &'static str,
    integer: bool,
    values: fn(&ProfileArgs) -> Vec<f64>,
    set: fn(&mut ProfileArgs, f64),
}

/// A sweepable flag found by AIPerf's config path, for `--search-space`: its flag, whether it
/// takes integers, and how to set one value on the arguments.
#[derive(Clone, Copy)]
pub(super) struct SearchField {
    pub flag: &'static str,
    pub integer: bool,
    pub set: fn(&mut ProfileArgs, f64),
}

/// The sweepable flag at `path` (`phases.profiling.concurrency`), if any.
pub(super) fn search_field(path: &str) -> Option<SearchField> {
    SWEEP_FIELDS
        .iter()
        .find(|f| f.path == path)
        .map(|f| SearchField {
            flag: f.flag,
            integer: f.integer,
            set: f.set,
        })
}

/// Every path `--search-space` accepts.
pub(super) fn searchable_paths() -> Vec<&'static str> {
    SWEEP_FIELDS.iter().map(|f| f.path).collect()
}

/// The first sweepable flag given as a list (`--concurrency 1,2`), if any.
pub(super) fn magic_list_flag(args: &ProfileArgs) -> Option<&'static str> {
    SWEEP_FIELDS
        .iter()
        .find(|f| (f.values)(args).len() > 1)
        .map(|f| f.flag)
}

fn all<T: Copy + Into<f64>>(list: &Sweepable<T>) -> Vec<f64> {
    list.values().iter().map(|&v| v.into()).collect()
}

fn opt<T: Copy + Into<f64>>(list: &Option<Sweepable<T>>) -> Vec<f64> {
    list.as_ref().map(all).unwrap_or_default()
}

/// Integer lists are `usize`/`u64`; their values are far below 2^53 (limits.rs), so `f64` holds
/// them exactly.
fn ints<T: Copy + TryInto<u32>>(list: &Option<Sweepable<T>>) -> Vec<f64> {
    list.as_ref()
        .map(|l| {
            l.values()
                .iter()
                .map(|&v| v.try_into().map_or(f64::INFINITY, f64::from))
                .collect()
        })
        .unwrap_or_default()
}

const SWEEP_FIELDS: &[SweepField] = &[
    SweepField {
        flag: "--concurrency",
        path: "phases.profiling.concurrency",
        integer: true,
        values: |a| ints(&a.concurrency),
        set: |a, v| a.concurrency = Some(Sweepable::single(v as usize)),
    },
    SweepField {
        flag: "--prefill-concurrency",
        path: "phases.profiling.prefill_concurrency",
        integer: true,
        values: |a| ints(&a.prefill_concurrency),
        set: |a, v| a.prefill_concurrency = Some(Sweepable::single(v as usize)),
    },
    SweepField {
        flag: "--request-rate",
        path: "phases.profiling.rate",
        integer: false,
        values: |a| opt(&a.request_rate),
        set: |a, v| a.request_rate = Some(Sweepable::single(v)),
    },
    SweepField {
        flag: "--request-count",
        path: "phases.profiling.requests",
        integer: true,
        values: |a| ints(&a.request_count),
        set: |a, v| a.request_count = Some(Sweepable::single(v as u64)),
    },
    SweepField {
        flag: "--benchmark-duration",
        path: "phases.profiling.duration",
        integer: false,
        values: |a| opt(&a.benchmark_duration),
        set: |a, v| a.benchmark_duration = Some(Sweepable::single(v)),
    },
    SweepField {
        flag: "--conversation-num",
        path: "phases.profiling.sessions",
        integer: true,
        values: |a| ints(&a.conversation_num),
        set: |a, v| a.conversation_num = Some(Sweepable::single(v as usize)),
    },
    SweepField {
        flag: "--num-users",
        path: "phases.profiling.users",
        integer: true,
        values: |a| ints(&a.num_users),
        set: |a, v| a.num_users = Some(Sweepable::single(v as usize)),
    },
    SweepField {
        flag: "--isl",
        path: "datasets.main.prompts.isl.mean",
        integer: true,
        values: |a| all(&a.isl_mean),
        set: |a, v| a.isl_mean = Sweepable::single(v),
    },
    SweepField {
        flag: "--isl-stddev",
        path: "datasets.main.prompts.isl.stddev",
        integer: false,
        values: |a| all(&a.isl_stddev),
        set: |a, v| a.isl_stddev = Sweepable::single(v),
    },
    SweepField {
        flag: "--osl",
        path: "datasets.main.prompts.osl.mean",
        integer: true,
        values: |a| opt(&a.osl_mean),
        set: |a, v| a.osl_mean = Some(Sweepable::single(v)),
    },
    SweepField {
        flag: "--osl-stddev",
        path: "datasets.main.prompts.osl.stddev",
        integer: false,
        values: |a| all(&a.osl_stddev),
        set: |a, v| a.osl_stddev = Sweepable::single(v),
    },
    SweepField {
        flag: "--conversation-turn-mean",
        path: "datasets.main.turns.mean",
        integer: true,
        values: |a| all(&a.turn_mean),
        set: |a, v| a.turn_mean = Sweepable::single(v),
    },
];

/// A swept flag and its values, as the sweep aggregate names it.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepParam {
    pub flag: &'static str,
    /// AIPerf's dotted config path (`phases.profiling.concurrency`).
    pub path: &'static str,
    pub values: Vec<SweepValue>,
}

impl SweepParam {
    /// The last path segment (`concurrency`, `mean`): the column and directory-name prefix.
    pub fn name(&self) -> &'static str {
        self.path.rsplit('.').next().unwrap_or(self.path)
    }
}

/// Which values of the lists run together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepType {
    /// Every combination (the last path varies fastest).
    Grid,
    /// The i-th value of every list together; the lists have equal lengths.
    Zip,
}

/// Order of runs when a sweep is repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepMode {
    /// Trial 1 of every variation, then trial 2 of every variation...
    Repeated,
    /// Every trial of variation 1, then of variation 2...
    Independent,
}

impl SweepMode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Repeated => "repeated",
            Self::Independent => "independent",
        }
    }
}

/// When repeating stops early (`--convergence-*`).
#[derive(Debug, Clone, PartialEq)]
pub struct Convergence {
    /// Metric tag and statistic: the aggregate key is `{metric}_{stat}`.
    pub metric: String,
    pub stat: String,
    pub mode: ConvergenceMode,
    pub threshold: f64,
    /// Trials before convergence is judged at all (AIPerf: 2).
    pub min_runs: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvergenceMode {
    /// Confidence-interval width relative to the mean: `2 t se / |mean|`.
    CiWidth,
    /// Coefficient of variation `std / |mean|`.
    Cv,
}

/// What identifies a run inside its invocation; `run_info` in the summary JSON.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunIdentity {
    /// Zero-based trial within the variation.
    pub trial: u32,
    /// Set for every run of a multi-run invocation; absent for a plain single run.
    pub multi: Option<MultiRunIdentity>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MultiRunIdentity {
    /// One UUID for the whole invocation (the binary fills it in).
    pub sweep_id: String,
    /// `run_NNNN` (1-based trial).
    pub run_label: String,
    /// `path=value, path=value`, or `base` without a sweep.
    pub variation_label: String,
    pub variation_index: usize,
    pub variation_values: Vec<(&'static str, SweepValue)>,
}

/// One point of the sweep (or the only one, `base`).
#[derive(Debug, Clone)]
pub struct Variation {
    pub index: usize,
    pub label: String,
    /// `concurrency_4`, `mean_50__concurrency_1`; empty without a sweep.
    pub dir_name: String,
    pub values: Vec<(&'static str, SweepValue)>,
    pub config: ProfileConfig,
}

/// Every run one invocation makes, and where the results go.
#[derive(Debug, Clone)]
pub struct RunSet {
    pub variations: Vec<Variation>,
    pub params: Vec<SweepParam>,
    pub sweep_type: SweepType,
    pub trials: u32,
    pub mode: SweepMode,
    pub trial_cooldown_s: f64,
    pub variation_cooldown_s: f64,
    pub confidence_level: f64,
    pub convergence: Option<Convergence>,
    /// `--no-sweep-table` not given.
    pub sweep_table: bool,
    warmup_after_first: bool,
    consistent_seed: bool,
    same_seed: bool,
    vary_seed_per_trial: bool,
    /// The user's `--random-seed`.
    random_seed: Option<u64>,
    /// The invocation's directory: `--artifact-dir`, or the first variation's automatic name.
    pub base_dir: PathBuf,
}

/// One run of the set with its final configuration.
#[derive(Debug, Clone)]
pub struct PlannedRun {
    pub variation: usize,
    pub trial: u32,
    pub config: ProfileConfig,
}

impl RunSet {
    /// A plain run: one variation, one trial, no sweep.
    pub fn is_single(&self) -> bool {
        !self.is_sweep() && self.trials == 1
    }

    /// Several configurations (magic lists or `--variant`s).
    pub fn is_sweep(&self) -> bool {
        self.variations.len() > 1
    }

    pub fn total_runs(&self) -> usize {
        self.variations.len() * self.trials as usize
    }

    /// Every run in execution order; `sweep_id` names the invocation in each `run_info`.
    pub fn runs(&self, sweep_id: &str) -> Vec<PlannedRun> {
        let trials = 0..self.trials;
        let cells: Vec<(usize, u32)> = match self.mode {
            SweepMode::Repeated => trials
                .flat_map(|t| (0..self.variations.len()).map(move |v| (v, t)))
                .collect(),
            SweepMode::Independent => (0..self.variations.len())
                .flat_map(|v| (0..self.trials).map(move |t| (v, t)))
                .collect(),
        };
        cells
            .into_iter()
            .map(|(v, trial)| PlannedRun {
                variation: v,
                trial,
                config: self.run_config(v, trial, sweep_id),
            })
            .collect()
    }

    fn run_config(&self, v: usize, trial: u32, sweep_id: &str) -> ProfileConfig {
        let variation = &self.variations[v];
        let mut cfg = variation.config.clone();
        if self.is_single() {
            return cfg;
        }
        cfg.random_seed = self.seed(variation, trial);
        if trial > 0 && !self.warmup_after_first {
            cfg.disable_warmup();
        }
        cfg.artifact_dir = self.run_dir(variation, trial);
        cfg.run = RunIdentity {
            trial,
            multi: Some(MultiRunIdentity {
                sweep_id: sweep_id.to_string(),
                run_label: format!("run_{:04}", trial + 1),
                variation_label: variation.label.clone(),
                variation_index: variation.index,
                variation_values: variation.values.clone(),
            }),
        };
        cfg
    }

    /// AIPerf's seeds: the user's or 42, plus the variation index unless
    /// `--parameter-sweep-same-seed`; per trial only with `--vary-seed-per-trial`.
    fn seed(&self, variation: &Variation, trial: u32) -> Option<u64> {
        let Some(base) = self
            .random_seed
            .or(self.consistent_seed.then_some(CONSISTENT_SEED))
        else {
            // Unseeded on purpose: every run draws its own data (and the engine cannot mistake
            // two runs' datasets for one).
            return Some(fresh_seed());
        };
        if self.vary_seed_per_trial {
            return Some(derived_seed(
                base,
                &format!("{}:trial:{trial}", variation.label),
            ));
        }
        if self.same_seed {
            Some(base)
        } else {
            Some(base + variation.index as u64)
        }
    }

    /// A run's own directory (docs/design/multi-run.md §2).
    pub fn run_dir(&self, variation: &Variation, trial: u32) -> PathBuf {
        let base = &self.base_dir;
        match (self.is_sweep(), self.trials > 1, self.mode) {
            (false, false, _) => base.clone(),
            (false, true, _) => base.join("profile_runs").join(run_dir_name(trial)),
            (true, false, _) => base.join(&variation.dir_name),
            (true, true, SweepMode::Repeated) => base
                .join("profile_runs")
                .join(trial_dir_name(trial))
                .join(&variation.dir_name),
            (true, true, SweepMode::Independent) => base
                .join(&variation.dir_name)
                .join("profile_runs")
                .join(trial_dir_name(trial)),
        }
    }

    /// Where a variation's confidence aggregate goes.
    pub fn aggregate_dir(&self, variation: &Variation) -> PathBuf {
        let base = &self.base_dir;
        match (self.is_sweep(), self.mode) {
            (false, _) => base.join("aggregate"),
            (true, SweepMode::Independent) if self.trials > 1 => {
                base.join(&variation.dir_name).join("aggregate")
            }
            (true, _) => base.join("aggregate").join(&variation.dir_name),
        }
    }

    /// Where the sweep-wide aggregate goes (sweeps only).
    pub fn sweep_aggregate_dir(&self) -> Option<PathBuf> {
        if !self.is_sweep() {
            return None;
        }
        Some(if self.trials > 1 && self.mode == SweepMode::Repeated {
            self.base_dir.join("aggregate").join("sweep_aggregate")
        } else {
            self.base_dir.join("sweep_aggregate")
        })
    }
}

/// A seed no other run of this process gets.
fn fresh_seed() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(std::time::SystemTime::now())
}

fn run_dir_name(trial: u32) -> String {
    format!("run_{:04}", trial + 1)
}

fn trial_dir_name(trial: u32) -> String {
    format!("trial_{:04}", trial + 1)
}

/// AIPerf's `derive_variation_seed`: SHA-256 of `"{root}:variation:{label}"`, first 8 bytes
/// big-endian, masked to 63 bits.
pub fn derived_seed(root: u64, label: &str) -> u64 {
    let digest = Sha256::digest(format!("{root}:variation:{label}").as_bytes());
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(head) & (i64::MAX as u64)
}

/// `--flag` given with the value of a flag given next to it, for the "only with several
/// trials" check.
fn across_trial_flags(args: &ProfileArgs) -> Vec<&'static str> {
    let mut given = Vec::new();
    if args.set_consistent_seed || args.no_set_consistent_seed {
        given.push("--set-consistent-seed");
    }
    if args.profile_run_disable_warmup_after_first || args.no_profile_run_disable_warmup_after_first
    {
        given.push("--profile-run-disable-warmup-after-first");
    }
    if args.profile_run_cooldown_seconds.is_some() {
        given.push("--profile-run-cooldown-seconds");
    }
    given
}

fn check_flags(args: &ProfileArgs) -> Result<Option<Convergence>, ConfigError> {
    let n = args.num_profile_runs;
    if !(1..=MAX_TRIALS).contains(&n) {
        return Err(invalid(
            "--num-profile-runs",
            format!("must be between 1 and {MAX_TRIALS}, got {n}"),
        ));
    }
    let level = args.confidence_level;
    if !(level > 0.0 && level < 1.0) {
        return Err(invalid(
            "--confidence-level",
            format!("must be between 0 and 1 (exclusive), got {level}"),
        ));
    }
    for (flag, c) in [
        (
            "--profile-run-cooldown-seconds",
            args.profile_run_cooldown_seconds,
        ),
        (
            "--parameter-sweep-cooldown-seconds",
            args.parameter_sweep_cooldown_seconds,
        ),
    ] {
        if let Some(c) = c {
            non_negative(flag, c)?;
            // AIPerf's bound (`multiRun.cooldownSeconds le=86400`).
            if c > 86_400.0 {
                return Err(invalid(
                    flag,
                    format!("must be at most 86400 (a day), got {c}"),
                ));
            }
        }
    }
    if args.search_recipe.is_none() {
        let search_only = [
            ("--ttft-sla-ms", args.ttft_sla_ms.is_some()),
            ("--itl-sla-ms", args.itl_sla_ms.is_some()),
            ("--e2e-sla-ms", args.e2e_sla_ms.is_some()),
            ("--error-rate-sla", args.error_rate_sla.is_some()),
            ("--concurrency-min", args.concurrency_min.is_some()),
            ("--concurrency-max", args.concurrency_max.is_some()),
            ("--concurrency-steps", args.concurrency_steps.is_some()),
            ("--isl-osl-pairs", args.isl_osl_pairs.is_some()),
            (
                "--slo-attainment-fraction",
                args.slo_attainment_fraction.is_some(),
            ),
            ("--isl-min", args.isl_min.is_some()),
            ("--isl-max", args.isl_max.is_some()),
            ("--isl-steps", args.isl_steps.is_some()),
            ("--osl-min", args.osl_min.is_some()),
            ("--osl-max", args.osl_max.is_some()),
            ("--osl-steps", args.osl_steps.is_some()),
            (
                "--search-max-iterations",
                // The generic search (`--search-space`) takes it too.
                args.search_max_iterations.is_some() && args.search.search_space.is_empty(),
            ),
            (
                "--degradation-threshold",
                args.degradation_threshold.is_some(),
            ),
            (
                "--degradation-metric-tag",
                args.degradation_metric_tag.is_some(),
            ),
            ("--degradation-stat", args.degradation_stat.is_some()),
        ];
        if let Some((flag, _)) = search_only.iter().find(|(_, set)| *set) {
            return Err(invalid(flag, "only applies with --search-recipe"));
        }
    } else if !args.variant.is_empty() {
        return Err(invalid(
            "--variant",
            "is mutually exclusive with --search-recipe: recipes own the sweep parameters",
        ));
    }
    if n == 1 {
        if let Some(flag) = across_trial_flags(args).first() {
            return Err(invalid(
                flag,
                format!(
                    "only applies when running multiple trials (--num-profile-runs > 1). \
                     Either remove {flag} or add --num-profile-runs 5 (or higher)."
                ),
            ));
        }
    }
    if args.parameter_sweep_same_seed && args.random_seed.is_none() {
        return Err(invalid(
            "--parameter-sweep-same-seed",
            "needs --random-seed (the seed every configuration shares)",
        ));
    }
    convergence(args)
}

fn convergence(args: &ProfileArgs) -> Result<Option<Convergence>, ConfigError> {
    let Some(metric) = args.convergence_metric.clone() else {
        return Ok(None);
    };
    let Some(spec) = aiperf_metrics::REGISTRY.iter().find(|m| m.tag == metric) else {
        return Err(invalid(
            "--convergence-metric",
            format!(
                "unknown metric '{metric}' (a tag such as time_to_first_token or request_latency)"
            ),
        ));
    };
    if spec.flags.contains(aiperf_metrics::Flags::STREAMING_ONLY) && !args.streaming {
        return Err(invalid(
            "--convergence-metric",
            format!("'{metric}' is only measured with --streaming"),
        ));
    }
    let mode = match args.convergence_mode.as_str() {
        "cv" => ConvergenceMode::Cv,
        "ci_width" => ConvergenceMode::CiWidth,
        other => {
            return Err(invalid(
                "--convergence-mode",
                format!("'{other}' is not supported by this build; use ci_width or cv"),
            ))
        }
    };
    let min_runs = 2;
    if args.num_profile_runs < min_runs {
        return Err(invalid(
            "--convergence-metric",
            format!(
                "convergence.min_runs ({min_runs}) must be <= num_runs ({}). Either lower \
                 min_runs or raise num_runs.",
                args.num_profile_runs
            ),
        ));
    }
    let threshold = args.convergence_threshold.unwrap_or(match mode {
        ConvergenceMode::CiWidth => 0.10,
        ConvergenceMode::Cv => 0.05,
    });
    if !(threshold > 0.0 && threshold < 1.0) {
        return Err(invalid(
            "--convergence-threshold",
            format!("must be between 0 and 1 (exclusive), got {threshold}"),
        ));
    }
    Ok(Some(Convergence {
        metric,
        stat: args.convergence_stat.clone(),
        mode,
        threshold,
        min_runs,
    }))
}

/// The swept flags, sorted by AIPerf path (which fixes the order of combinations).
fn sweep_params(args: &ProfileArgs) -> Vec<SweepParam> {
    let mut params: Vec<SweepParam> = SWEEP_FIELDS
        .iter()
        .filter_map(|f| {
            let values = (f.values)(args);
            (values.len() > 1).then(|| SweepParam {
                flag: f.flag,
                path: f.path,
                values: values
                    .into_iter()
                    .map(|value| SweepValue {
                        value,
                        integer: f.integer,
                    })
                    .collect(),
            })
        })
        .collect();
    params.sort_by_key(|p| p.path);
    params
}

/// The value index of every parameter, per combination.
fn combinations(params: &[SweepParam], kind: SweepType) -> Result<Vec<Vec<usize>>, ConfigError> {
    match kind {
        SweepType::Zip => {
            let len = params[0].values.len();
            if params.iter().any(|p| p.values.len() != len) {
                let lengths: Vec<String> = params
                    .iter()
                    .map(|p| format!("'{}': {}", p.path, p.values.len()))
                    .collect();
                return Err(invalid(
                    "--sweep-type",
                    format!(
                        "zip sweep parameters must all have equal length; got {{{}}}.",
                        lengths.join(", ")
                    ),
                ));
            }
            Ok((0..len).map(|i| vec![i; params.len()]).collect())
        }
        SweepType::Grid => {
            let total = params
                .iter()
                .try_fold(1usize, |acc, p| acc.checked_mul(p.values.len()))
                .filter(|t| *t <= MAX_VARIATIONS)
                .ok_or_else(|| {
                    invalid(
                        "--sweep-type",
                        format!("the grid has more than {MAX_VARIATIONS} combinations"),
                    )
                })?;
            Ok((0..total)
                .map(|mut k| {
                    let mut idx = vec![0; params.len()];
                    for (slot, p) in idx.iter_mut().zip(params).rev() {
                        *slot = k % p.values.len();
                        k /= p.values.len();
                    }
                    idx
                })
                .collect())
        }
    }
}

/// AIPerf's `_sanitize_dir_segment`: no separators, `..` or characters Windows refuses.
fn sanitize_dir(name: &str) -> String {
    name.replace(['/', '\\'], "")
        .replace("..", "")
        .replace(['<', '>', ':', '"', '|', '?', '*'], "")
}

impl ProfileConfig {
    /// Resolves an invocation that may sweep and repeat: every variation is validated before
    /// anything runs. A plain invocation gives a set of one run, the config [`Self::resolve`]
    /// would give.
    pub fn resolve_set(
        args: ProfileArgs,
        argv: &[String],
        registry: &Registry,
    ) -> Result<RunSet, ConfigError> {
        let convergence = check_flags(&args)?;
        let params = sweep_params(&args);
        let sweep_type = if args.sweep_type == "zip" {
            SweepType::Zip
        } else {
            SweepType::Grid
        };
        if !params.is_empty() && args.fixed_schedule {
            return Err(invalid(
                "--fixed-schedule",
                "Parameter sweeps (e.g., --concurrency 1,2) cannot be used with --fixed-schedule \
                 mode. Fixed schedule replays exact timing patterns from the trace, which is \
                 incompatible with varying parameter values. Use a single parameter value.",
            ));
        }
        if !args.variant.is_empty() {
            if !params.is_empty() {
                let flags: Vec<&str> = params.iter().map(|p| p.flag).collect();
                return Err(invalid(
                    "--variant",
                    format!(
                        "is mutually exclusive with magic-list flags ({}): lists declare a \
                         Cartesian sweep, --variant declares hand-picked scenarios",
                        flags.join(", ")
                    ),
                ));
            }
            // A run file's flags come before the typed ones in every variant's command line.
            let layered;
            let argv = match &args.config {
                Some(file) => {
                    layered = crate::yaml::layered_argv(argv, file)
                        .map_err(|e| invalid("--config", e))?;
                    &layered[..]
                }
                None => argv,
            };
            let variations = variant::resolve_all(&args.variant, argv, registry)?;
            return Self::set_of(args, variations, params, sweep_type, convergence);
        }
        let combos = if params.is_empty() {
            vec![vec![]]
        } else {
            combinations(&params, sweep_type)?
        };
        let mut variations = Vec::with_capacity(combos.len());
        for (index, combo) in combos.iter().enumerate() {
            let mut cell = args.clone();
            let mut values = Vec::with_capacity(params.len());
            for (p, &i) in params.iter().zip(combo) {
                let field = SWEEP_FIELDS
                    .iter()
                    .find(|f| f.path == p.path)
                    .expect("sweep params come from SWEEP_FIELDS");
                (field.set)(&mut cell, p.values[i].value);
                values.push((p.path, p.values[i]));
            }
            let config = ProfileConfig::resolve(cell, argv, registry)?;
            variations.push(Variation {
                index,
                label: variation_label(&values),
                dir_name: sanitize_dir(
                    &values
                        .iter()
                        .map(|(path, v)| format!("{}_{v}", path.rsplit('.').next().unwrap_or(path)))
                        .collect::<Vec<_>>()
                        .join("__"),
                ),
                values,
                config,
            });
        }
        if !params.is_empty() {
            if let Some(v) = variations
                .iter()
                .find(|v| matches!(v.config.load, LoadMode::FixedSchedule { .. }))
            {
                return Err(invalid(
                    "--fixed-schedule",
                    format!(
                        "variation '{}' replays a trace's timestamps; sweeps cannot vary a \
                         fixed schedule (pass --no-fixed-schedule)",
                        v.label
                    ),
                ));
            }
        }
        Self::set_of(args, variations, params, sweep_type, convergence)
    }

    fn set_of(
        args: ProfileArgs,
        variations: Vec<Variation>,
        params: Vec<SweepParam>,
        sweep_type: SweepType,
        convergence: Option<Convergence>,
    ) -> Result<RunSet, ConfigError> {
        distinct_dirs(&variations, &params)?;
        Ok(Self::assemble(
            args,
            variations,
            params,
            sweep_type,
            convergence,
        ))
    }

    fn assemble(
        args: ProfileArgs,
        variations: Vec<Variation>,
        params: Vec<SweepParam>,
        sweep_type: SweepType,
        convergence: Option<Convergence>,
    ) -> RunSet {
        let base_dir = variations[0].config.artifact_dir.clone();
        RunSet {
            params,
            sweep_type,
            trials: args.num_profile_runs,
            mode: if args.parameter_sweep_mode == "independent" {
                SweepMode::Independent
            } else {
                SweepMode::Repeated
            },
            trial_cooldown_s: args.profile_run_cooldown_seconds.unwrap_or(0.0),
            variation_cooldown_s: args.parameter_sweep_cooldown_seconds.unwrap_or(0.0),
            confidence_level: args.confidence_level,
            convergence,
            sweep_table: !args.no_sweep_table,
            warmup_after_first: args.no_profile_run_disable_warmup_after_first,
            consistent_seed: !args.no_set_consistent_seed,
            same_seed: args.parameter_sweep_same_seed,
            vary_seed_per_trial: args.vary_seed_per_trial,
            random_seed: args.random_seed,
            base_dir,
            variations,
        }
    }
}

/// Two configurations writing into one directory would overwrite each other: a value given
/// twice, or variant names that differ only in characters a directory name cannot hold.
fn distinct_dirs(variations: &[Variation], params: &[SweepParam]) -> Result<(), ConfigError> {
    if variations.len() < 2 {
        return Ok(());
    }
    let flag = if params.is_empty() {
        "--variant"
    } else {
        params[0].flag
    };
    for (i, v) in variations.iter().enumerate() {
        if v.dir_name.is_empty() || v.dir_name.len() > 200 {
            return Err(invalid(
                flag,
                format!("'{}' cannot name a directory (empty once unsafe characters are removed, or longer than 200 bytes)", v.label),
            ));
        }
        if let Some(w) = variations[..i].iter().find(|w| w.dir_name == v.dir_name) {
            return Err(invalid(
                flag,
                format!(
                    "'{}' and '{}' would share the directory '{}' (a value given twice?)",
                    w.label, v.label, v.dir_name
                ),
            ));
        }
    }
    Ok(())
}

fn variation_label(values: &[(&'static str, SweepValue)]) -> String {
    if values.is_empty() {
        return "base".to_string();
    }
    values
        .iter()
        .map(|(path, v)| format!("{path}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::test_support::args;
    use super::*;
    use std::path::Path;

    fn set(a: &[&str]) -> Result<RunSet, ConfigError> {
        let mut full = vec!["aiperf", "profile", "-m", "m", "--artifact-dir", "/tmp/x"];
        full.extend_from_slice(a);
        let argv: Vec<String> = full.iter().map(|s| s.to_string()).collect();
        ProfileConfig::resolve_set(args(&full[2..]), &argv, &Registry::builtin())
    }

    fn err(a: &[&str]) -> String {
        set(a).map(|_| ()).unwrap_err().to_string()
    }

    fn dirs(s: &RunSet) -> Vec<String> {
        s.runs("id")
            .iter()
            .map(|r| {
                r.config
                    .artifact_dir
                    .strip_prefix("/tmp/x")
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn a_plain_invocation_is_one_run_with_its_usual_config() {
        let s = set(&["--concurrency", "3"]).unwrap();
        assert!(s.is_single());
        let runs = s.runs("id");
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].config.concurrency, 3);
        assert_eq!(runs[0].config.artifact_dir, PathBuf::from("/tmp/x"));
        assert_eq!(runs[0].config.run, RunIdentity::default());
        assert_eq!(runs[0].config.random_seed, None);
    }

    #[test]
    fn grid_sorts_paths_and_varies_the_last_fastest() {
        // P2 of docs/design/multi-run.md: isl's path sorts before concurrency's.
        let s = set(&["--concurrency", "1,2", "--isl", "50,100"]).unwrap();
        let cells: Vec<(f64, usize)> = s
            .variations
            .iter()
            .map(|v| (v.config.isl_mean, v.config.concurrency))
            .collect();
        assert_eq!(cells, [(50.0, 1), (50.0, 2), (100.0, 1), (100.0, 2)]);
        assert_eq!(
            dirs(&s),
            [
                "mean_50__concurrency_1",
                "mean_50__concurrency_2",
                "mean_100__concurrency_1",
                "mean_100__concurrency_2"
            ]
        );
        assert_eq!(
            s.variations[1].label,
            "datasets.main.prompts.isl.mean=50, phases.profiling.concurrency=2"
        );
        let names: Vec<&str> = s.params.iter().map(SweepParam::name).collect();
        assert_eq!(names, ["mean", "concurrency"]);
    }

    #[test]
    fn zip_pairs_values_and_wants_equal_lengths() {
        let s = set(&[
            "--concurrency",
            "1,2",
            "--isl",
            "50,100",
            "--sweep-type",
            "zip",
        ])
        .unwrap();
        assert_eq!(
            dirs(&s),
            ["mean_50__concurrency_1", "mean_100__concurrency_2"]
        );
        let e = err(&[
            "--concurrency",
            "1,2",
            "--isl",
            "10,20,30",
            "--sweep-type",
            "zip",
        ]);
        assert!(
            e.contains("zip sweep parameters must all have equal length")
                && e.contains("'datasets.main.prompts.isl.mean': 3")
                && e.contains("'phases.profiling.concurrency': 2"),
            "{e}"
        );
    }

    #[test]
    fn every_listed_value_is_validated_like_a_single_one() {
        let e = err(&["--concurrency", "0,1"]);
        assert!(e.starts_with("--concurrency"), "{e}");
        let e = err(&["--request-rate", "5,-1"]);
        assert!(e.starts_with("--request-rate"), "{e}");
    }

    #[test]
    fn a_prefill_concurrency_list_is_a_sweep() {
        let s = set(&[
            "--streaming",
            "--concurrency",
            "8",
            "--prefill-concurrency",
            "1,4",
        ])
        .unwrap();
        assert_eq!(dirs(&s), ["prefill_concurrency_1", "prefill_concurrency_4"]);
        let slots: Vec<usize> = s
            .variations
            .iter()
            .map(|v| v.config.prefill.unwrap().slots)
            .collect();
        assert_eq!(slots, [1, 4]);
    }

    #[test]
    fn floats_print_as_python_does() {
        let s = set(&["--request-rate", "5,2.5"]).unwrap();
        assert_eq!(dirs(&s), ["rate_5.0", "rate_2.5"]);
        assert_eq!(python_float(1e16), "1e+16");
        assert_eq!(python_float(1e-5), "1e-05");
        assert_eq!(python_float(0.1), "0.1");
    }

    #[test]
    fn repeated_runs_get_seed_42_and_numbered_dirs() {
        let s = set(&[
            "--num-profile-runs",
            "3",
            "--warmup-request-count",
            "2",
            "--num-warmup-sessions",
            "1",
        ])
        .unwrap();
        let runs = s.runs("sid");
        assert_eq!(
            dirs(&s),
            [
                "profile_runs/run_0001",
                "profile_runs/run_0002",
                "profile_runs/run_0003"
            ]
        );
        assert!(runs.iter().all(|r| r.config.random_seed == Some(42)));
        let warm: Vec<Option<u64>> = runs.iter().map(|r| r.config.warmup_request_count).collect();
        assert_eq!(warm, [Some(2), None, None]);
        // Every warm-up trigger goes, not only the count.
        assert!(runs
            .iter()
            .map(|r| r.config.has_warmup())
            .eq([true, false, false]));
        let m = runs[1].config.run.multi.as_ref().unwrap();
        assert_eq!(
            (runs[1].config.run.trial, m.run_label.as_str()),
            (1, "run_0002")
        );
        assert_eq!(
            (m.variation_label.as_str(), m.sweep_id.as_str()),
            ("base", "sid")
        );
        assert_eq!(
            s.aggregate_dir(&s.variations[0]),
            Path::new("/tmp/x/aggregate")
        );
        assert_eq!(s.sweep_aggregate_dir(), None);
    }

    #[test]
    fn sweep_seeds_add_the_variation_index_unless_shared() {
        let seeds = |a: &[&str]| -> Vec<Option<u64>> {
            set(a)
                .unwrap()
                .runs("s")
                .iter()
                .map(|r| r.config.random_seed)
                .collect()
        };
        assert_eq!(seeds(&["--concurrency", "1,2"]), [Some(42), Some(43)]);
        assert_eq!(
            seeds(&["--concurrency", "1,2", "--random-seed", "7"]),
            [Some(7), Some(8)]
        );
        assert_eq!(
            seeds(&[
                "--concurrency",
                "1,2",
                "--random-seed",
                "7",
                "--parameter-sweep-same-seed"
            ]),
            [Some(7), Some(7)]
        );
        let free = seeds(&["--num-profile-runs", "2", "--no-set-consistent-seed"]);
        assert!(free[0].is_some() && free[0] != free[1], "{free:?}");
        let varied = seeds(&["--num-profile-runs", "2", "--vary-seed-per-trial"]);
        assert_eq!(varied[0], Some(derived_seed(42, "base:trial:0")));
        assert_ne!(varied[0], varied[1]);
    }

    #[test]
    fn repeated_sweeps_lay_out_as_aiperf() {
        // L2 and L3 of docs/design/multi-run.md.
        let s = set(&["--concurrency", "1,2", "--num-profile-runs", "2"]).unwrap();
        assert_eq!(
            dirs(&s),
            [
                "profile_runs/trial_0001/concurrency_1",
                "profile_runs/trial_0001/concurrency_2",
                "profile_runs/trial_0002/concurrency_1",
                "profile_runs/trial_0002/concurrency_2"
            ]
        );
        assert_eq!(
            s.aggregate_dir(&s.variations[1]),
            Path::new("/tmp/x/aggregate/concurrency_2")
        );
        assert_eq!(
            s.sweep_aggregate_dir().unwrap(),
            Path::new("/tmp/x/aggregate/sweep_aggregate")
        );
        let s = set(&[
            "--concurrency",
            "1,2",
            "--num-profile-runs",
            "2",
            "--parameter-sweep-mode",
            "independent",
        ])
        .unwrap();
        assert_eq!(
            dirs(&s),
            [
                "concurrency_1/profile_runs/trial_0001",
                "concurrency_1/profile_runs/trial_0002",
                "concurrency_2/profile_runs/trial_0001",
                "concurrency_2/profile_runs/trial_0002"
            ]
        );
        assert_eq!(
            s.aggregate_dir(&s.variations[0]),
            Path::new("/tmp/x/concurrency_1/aggregate")
        );
        assert_eq!(
            s.sweep_aggregate_dir().unwrap(),
            Path::new("/tmp/x/sweep_aggregate")
        );
        let one = set(&["--concurrency", "1,2"]).unwrap();
        assert_eq!(dirs(&one), ["concurrency_1", "concurrency_2"]);
        assert_eq!(
            one.aggregate_dir(&one.variations[0]),
            Path::new("/tmp/x/aggregate/concurrency_1")
        );
    }

    #[test]
    fn multi_run_flags_are_checked() {
        let e = err(&["--num-profile-runs", "11"]);
        assert_eq!(e, "--num-profile-runs: must be between 1 and 10, got 11");
        assert!(err(&["--num-profile-runs", "0"]).contains("between 1 and 10"));
        assert!(err(&["--confidence-level", "1"]).starts_with("--confidence-level"));
        let e = err(&["--profile-run-cooldown-seconds", "5"]);
        assert_eq!(
            e,
            "--profile-run-cooldown-seconds: only applies when running multiple trials \
             (--num-profile-runs > 1). Either remove --profile-run-cooldown-seconds or add \
             --num-profile-runs 5 (or higher)."
        );
        assert!(err(&["--set-consistent-seed"]).starts_with("--set-consistent-seed"));
        let e = err(&["--num-profile-runs", "3", "--convergence-metric", "bogus"]);
        assert!(e.contains("unknown metric 'bogus'"), "{e}");
        let e = err(&[
            "--num-profile-runs",
            "3",
            "--convergence-metric",
            "time_to_first_token",
        ]);
        assert!(e.contains("only measured with --streaming"), "{e}");
        let e = err(&["--convergence-metric", "request_latency"]);
        assert!(
            e.contains("convergence.min_runs (2) must be <= num_runs (1)"),
            "{e}"
        );
        assert!(err(&["--parameter-sweep-same-seed"]).contains("--random-seed"));
        let c = set(&[
            "--num-profile-runs",
            "5",
            "--convergence-metric",
            "request_latency",
            "--convergence-stat",
            "p99",
        ])
        .unwrap()
        .convergence
        .unwrap();
        assert_eq!(
            (c.metric.as_str(), c.stat.as_str(), c.mode, c.threshold),
            ("request_latency", "p99", ConvergenceMode::CiWidth, 0.10)
        );
        // Accepted by AIPerf without several trials.
        assert!(set(&["--confidence-level", "0.9"]).is_ok());
    }

    #[test]
    fn variants_are_hand_picked_configurations() {
        let s = set(&[
            "--concurrency",
            "2",
            "--isl",
            "100",
            "--variant",
            "small: isl=32, osl=8",
            "--variant",
            "busy: concurrency=16, streaming=true",
        ])
        .unwrap();
        assert!(s.is_sweep() && !s.is_single());
        let cells: Vec<(&str, usize, f64, Option<f64>, bool)> = s
            .variations
            .iter()
            .map(|v| {
                let c = &v.config;
                (
                    v.label.as_str(),
                    c.concurrency,
                    c.isl_mean,
                    c.osl_mean,
                    c.streaming,
                )
            })
            .collect();
        // Each variant overrides the typed value and keeps the rest.
        assert_eq!(
            cells,
            [
                ("small", 2, 32.0, Some(8.0), false),
                ("busy", 16, 100.0, None, true)
            ]
        );
        assert_eq!(dirs(&s), ["small", "busy"]);
        // A switch typed on the command line is switched off by `=false`.
        let s = set(&[
            "--streaming",
            "--variant",
            "a: streaming=false",
            "--variant",
            "b: isl=2",
        ])
        .unwrap();
        let streams: Vec<bool> = s.variations.iter().map(|v| v.config.streaming).collect();
        assert_eq!(streams, [false, true]);
        let e = err(&[
            "--variant",
            "a: artifact-dir=/tmp/y",
            "--variant",
            "b: isl=2",
        ]);
        assert!(e.contains("applies to the whole command"), "{e}");
        let e = err(&[
            "--variant",
            "a: num-profile-runs=3",
            "--variant",
            "b: isl=2",
        ]);
        assert!(e.contains("applies to the whole command"), "{e}");
        let e = err(&["--variant", "a: isl=1"]);
        assert!(e.contains("single occurrence is rejected"), "{e}");
        let e = err(&["--variant", "a: nope=1", "--variant", "b: isl=2"]);
        assert!(e.contains("unknown flag '--nope'"), "{e}");
        let e = err(&["--variant", "a: concurrency=0", "--variant", "b: isl=2"]);
        assert!(e.contains("'a': --concurrency"), "{e}");
        let e = err(&[
            "--concurrency",
            "1,2",
            "--variant",
            "a: isl=1",
            "--variant",
            "b: isl=2",
        ]);
        assert!(
            e.contains("mutually exclusive with magic-list flags (--concurrency)"),
            "{e}"
        );
    }

    #[test]
    fn configurations_never_share_a_directory() {
        let e = err(&["--concurrency", "2,2"]);
        assert!(
            e.starts_with("--concurrency: ") && e.contains("share the directory 'concurrency_2'"),
            "{e}"
        );
        // Zip may repeat a value within a list as long as the pairs differ.
        assert!(set(&[
            "--concurrency",
            "2,2",
            "--isl",
            "8,16",
            "--sweep-type",
            "zip"
        ])
        .is_ok());
        let e = err(&["--variant", "a/b: isl=5", "--variant", "ab: isl=6"]);
        assert!(e.contains("share the directory 'ab'"), "{e}");
        let e = err(&["--variant", "..: isl=5", "--variant", "b: isl=6"]);
        assert!(e.contains("cannot name a directory"), "{e}");
    }

    #[test]
    fn search_flags_need_a_recipe_and_cooldowns_a_bound() {
        assert_eq!(
            err(&["--ttft-sla-ms", "20"]),
            "--ttft-sla-ms: only applies with --search-recipe"
        );
        let e = err(&[
            "--concurrency",
            "1,2",
            "--parameter-sweep-cooldown-seconds",
            "1e300",
        ]);
        assert!(
            e.starts_with("--parameter-sweep-cooldown-seconds: must be at most 86400"),
            "{e}"
        );
        let e = err(&[
            "--search-recipe",
            "max-concurrency-under-sla",
            "--ttft-sla-ms",
            "5",
            "--variant",
            "a: isl=1",
            "--variant",
            "b: isl=2",
        ]);
        assert!(e.contains("mutually exclusive with --search-recipe"), "{e}");
        assert!(err(&["--benchmark-duration", "1e300"]).starts_with("--benchmark-duration: "));
        assert!(err(&["--request-rate", "1e-300"]).starts_with("--request-rate: "));
    }

    #[test]
    fn absurd_grids_are_refused() {
        let list: Vec<String> = (1..=40).map(|i| i.to_string()).collect();
        let list = list.join(",");
        let e = err(&["--concurrency", &list, "--isl", &list]);
        assert!(e.contains("more than 1000 combinations"), "{e}");
    }
}
