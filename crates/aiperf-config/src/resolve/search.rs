//! `--search-recipe`: find the most load that still meets the SLA flags. The recipe becomes a
//! [`SearchPlan`]; the engine probes concurrencies one run at a time (`aiperf_engine` search).
//!
//! SLA filters are AIPerf 0.13's (`search_recipes/_max_concurrency_under_sla.py`): TTFT p95,
//! inter-token latency p95, request latency p99 (all strictly below the bound, in ms) and the
//! error rate (a fraction on the command line, a percentage in the summary).
//!
//! The generic search (`--search-space`, `--search-sla`, `--search-planner`, ...) is checked in
//! `generic.rs` and travels in [`SearchPlan::generic`]; `--search-style` turns
//! `max-concurrency-under-sla` into such a search.

mod generic;

use std::path::PathBuf;

use aiperf_plugins::Registry;

pub use generic::{GenericSearch, SlaBound, SlaOp};

use super::{invalid, positive, ConfigError, LoadMode, ProfileConfig};
use crate::cli::ProfileArgs;
use crate::magic_list::Sweepable;

/// Recipes this build runs.
pub const RECIPES: [&str; 8] = [
    "max-concurrency-under-sla",
    "max-throughput-ttft-sla",
    "max-throughput-itl-sla",
    "max-goodput-under-slo",
    "concurrency-ramp",
    "prefill-ttft-curve",
    "decode-itl-curve",
    "pareto-sweep",
];

/// What `--search-recipe` asks for.
#[derive(Debug, Clone)]
pub enum Search {
    /// Probe concurrencies one run at a time up to the SLA's edge.
    Adaptive(Box<SearchPlan>),
    /// A fixed grid run as a sweep (these arguments, with the lists set), then a result read
    /// off the sweep.
    Sweep {
        args: Box<ProfileArgs>,
        post: PostProcess,
    },
}

/// What a grid recipe computes from its finished sweep.
#[derive(Debug, Clone, PartialEq)]
pub enum PostProcess {
    /// `concurrency-ramp`: `degradation_knee.json`.
    Knee(KneeSpec),
    /// `prefill-ttft-curve`: `prefill_curve.json`, TTFT against ISL fitted.
    PrefillCurve,
    /// `decode-itl-curve`: `decode_itl_surface.json`, ITL over concurrency x OSL.
    ItlSurface,
    /// `pareto-sweep`: `pareto_sweep.json`, TTFT p95 against output throughput per shape.
    ParetoShapes,
    /// `max-concurrency-under-sla --search-style grid`: `sla_breach.json`, the highest passing
    /// and first failing concurrency under these filters.
    SlaBreach(Vec<SlaBound>),
}

/// `--isl-osl-pairs "128/128,512/256"` as AIPerf parses it: positive pairs, no duplicates.
pub fn parse_isl_osl_pairs(raw: &str) -> Result<Vec<(usize, usize)>, ConfigError> {
    let bad = |r: String| invalid("--isl-osl-pairs", r);
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for token in raw.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (i, o) = token
            .split_once('/')
            .filter(|(_, o)| !o.contains('/'))
            .ok_or_else(|| bad(format!("'{token}' expected '<isl>/<osl>' (one slash)")))?;
        let num = |v: &str| v.trim().parse::<usize>().ok().filter(|n| *n > 0);
        let (Some(i), Some(o)) = (num(i), num(o)) else {
            return Err(bad(format!("'{token}' both sides must be a positive int")));
        };
        if pairs.contains(&(i, o)) {
            return Err(bad(format!("'{token}' is given twice")));
        }
        pairs.push((i, o));
    }
    if pairs.is_empty() {
        return Err(bad("at least one pair required".into()));
    }
    Ok(pairs)
}

/// `pareto-sweep`: every ISL/OSL pair at every concurrency, as named scenarios
/// (`shape_{isl}_{osl}_c{concurrency}`, AIPerf's names), ISL and OSL kept paired.
fn pareto(args: &ProfileArgs) -> Result<Search, ConfigError> {
    if !args.streaming {
        return Err(invalid(
            "--streaming",
            "recipe 'pareto-sweep' plots TTFT, which only a stream shows",
        ));
    }
    let raw = args.isl_osl_pairs.as_deref().ok_or_else(|| {
        invalid(
            "--search-recipe",
            "recipe 'pareto-sweep' requires --isl-osl-pairs (e.g. '128/128,256/256')",
        )
    })?;
    let pairs = parse_isl_osl_pairs(raw)?;
    let concurrencies: Vec<usize> = match &args.concurrency {
        Some(c) => c.values().to_vec(),
        None => vec![1, 4, 16, 64, 256],
    };
    if pairs.len() * concurrencies.len() < 2 {
        return Err(invalid(
            "--isl-osl-pairs",
            "a Pareto sweep with a single point is meaningless: pass at least 2 pairs or 2 concurrencies",
        ));
    }
    let mut sweep = spent(args.clone());
    sweep.concurrency = None;
    sweep.isl_osl_pairs = None;
    sweep.variant = pairs
        .iter()
        .flat_map(|(i, o)| {
            concurrencies
                .iter()
                .map(move |c| format!("shape_{i}_{o}_c{c}: isl={i}, osl={o}, concurrency={c}"))
        })
        .collect();
    Ok(Search::Sweep {
        args: Box::new(sweep),
        post: PostProcess::ParetoShapes,
    })
}

/// Where `concurrency-ramp` calls the latency degraded: the first point whose `{tag}` `{stat}`
/// exceeds the first point's by `threshold` (a fraction).
#[derive(Debug, Clone, PartialEq)]
pub struct KneeSpec {
    pub tag: String,
    pub stat: String,
    pub threshold: f64,
}

/// AIPerf's `_logspace_int_steps`: `steps` log-spaced integers over `[lo, hi]`, rounded half to
/// even, duplicates dropped, ascending.
pub fn logspace_int_steps(lo: usize, hi: usize, steps: usize) -> Vec<usize> {
    let (a, b) = ((lo as f64).ln(), (hi as f64).ln());
    let mut v: Vec<usize> = (0..steps)
        .map(|i| {
            let x = (a + (b - a) * i as f64 / (steps - 1) as f64).exp();
            (x.round_ties_even() as usize).max(1)
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// One bound a run must meet: `{tag}_{stat} < threshold` (display unit).
#[derive(Debug, Clone, PartialEq)]
pub struct SlaFilter {
    pub tag: &'static str,
    pub stat: &'static str,
    pub threshold: f64,
    /// The flag that set it, for messages.
    pub flag: &'static str,
    /// `value >= threshold` is met (a fraction to attain) instead of `value < threshold`.
    pub at_least: bool,
}

impl SlaFilter {
    /// `time_to_first_token p95 < 200`.
    pub fn describe(&self) -> String {
        let op = if self.at_least { ">=" } else { "<" };
        format!("{} {} {op} {}", self.tag, self.stat, self.threshold)
    }

    /// Whether `value` meets the bound.
    pub fn met(&self, value: f64) -> bool {
        if self.at_least {
            value >= self.threshold
        } else {
            value < self.threshold
        }
    }

    /// How far `value` is from breaking the bound: below 1 it is met, growing with load.
    pub fn ratio(&self, value: f64) -> f64 {
        if self.at_least {
            if value > 0.0 {
                self.threshold / value
            } else {
                f64::INFINITY
            }
        } else {
            value / self.threshold
        }
    }
}

/// A search: the command line to vary, the filters, the bounds.
#[derive(Debug, Clone)]
pub struct SearchPlan {
    pub recipe: &'static str,
    pub filters: Vec<SlaFilter>,
    pub min: usize,
    pub max: usize,
    pub max_iterations: u32,
    /// Where the probes' directories and `search_history.json` go.
    pub base_dir: PathBuf,
    /// A generic search (`--search-space`, or the recipe with `--search-style`): a planner
    /// proposes each point. `None`: the recipe's own concurrency bracket.
    pub generic: Option<GenericSearch>,
    args: ProfileArgs,
    argv: Vec<String>,
}

impl SearchPlan {
    /// The full configuration of the probe at `concurrency`, in its own directory.
    pub fn probe(
        &self,
        concurrency: usize,
        registry: &Registry,
    ) -> Result<ProfileConfig, ConfigError> {
        let mut args = self.args.clone();
        args.concurrency = Some(Sweepable::single(concurrency));
        let mut cfg = ProfileConfig::resolve(args, &self.argv, registry)?;
        cfg.artifact_dir = self.base_dir.join(format!("concurrency_{concurrency}"));
        Ok(cfg)
    }

    /// The full configuration of a generic search's point (one value per dimension), in
    /// AIPerf's adaptive-search directory `search_iter_NNNN/profile_runs/run_0001/`.
    pub fn probe_point(
        &self,
        values: &[f64],
        iteration: u32,
        registry: &Registry,
    ) -> Result<ProfileConfig, ConfigError> {
        let mut cfg = ProfileConfig::resolve(self.args_at(values), &self.argv, registry)?;
        cfg.artifact_dir = self
            .base_dir
            .join(format!("search_iter_{iteration:04}"))
            .join("profile_runs")
            .join("run_0001");
        Ok(cfg)
    }

    fn args_at(&self, values: &[f64]) -> ProfileArgs {
        let mut args = self.args.clone();
        if let Some(g) = &self.generic {
            for (d, v) in g.dims.iter().zip(values) {
                d.apply(&mut args, *v);
            }
        }
        args
    }
}

/// The plan of a generic search: the command line checked at both corners of the space.
fn generic_plan(
    g: GenericSearch,
    args: &ProfileArgs,
    argv: &[String],
    registry: &Registry,
) -> Result<SearchPlan, ConfigError> {
    if args.num_profile_runs > 1 {
        return Err(invalid(
            "--num-profile-runs",
            "repeated trials per search point are not supported yet; drop it or --search-space",
        ));
    }
    let mut plan = SearchPlan {
        recipe: g.recipe.unwrap_or("search"),
        filters: Vec::new(),
        min: 0,
        max: 0,
        max_iterations: g.max_iterations,
        base_dir: PathBuf::new(),
        generic: None,
        args: args.clone(),
        argv: argv.to_vec(),
    };
    let lows: Vec<f64> = g.dims.iter().map(|d| d.lo).collect();
    let highs: Vec<f64> = g.dims.iter().map(|d| d.hi).collect();
    plan.generic = Some(g);
    let first = ProfileConfig::resolve(plan.args_at(&lows), argv, registry)?;
    ProfileConfig::resolve(plan.args_at(&highs), argv, registry)?;
    plan.base_dir = first.artifact_dir;
    Ok(plan)
}

/// `--search-style grid`: AIPerf's log-spaced 8-step concurrency sweep, then the SLA-breach
/// knee (the recipe's filters, then `--search-sla`'s).
fn breach_grid(
    args: &ProfileArgs,
    filters: &[SlaFilter],
    min: usize,
    max: usize,
) -> Result<Search, ConfigError> {
    let mut bounds: Vec<SlaBound> = filters.iter().map(bound_of).collect();
    for raw in &args.search.search_sla {
        bounds.push(generic::parse_sla(raw)?);
    }
    let mut sweep = spent(args.clone());
    sweep.concurrency = Some(list(&logspace_int_steps(min, max, 8)));
    sweep.search.search_style = None;
    sweep.search.search_sla.clear();
    Ok(Search::Sweep {
        args: Box::new(sweep),
        post: PostProcess::SlaBreach(bounds),
    })
}

/// A recipe's SLA flag as a generic filter.
fn bound_of(f: &SlaFilter) -> SlaBound {
    SlaBound {
        tag: f.tag.to_string(),
        stat: f.stat.to_string(),
        op: if f.at_least { SlaOp::Ge } else { SlaOp::Lt },
        threshold: f.threshold,
    }
}

/// AIPerf's rules for `--search-*` flags beside `--search-recipe`: the defining ones are the
/// recipe's; the tunable ones only mean something to an adaptive search.
fn check_recipe_search_flags(recipe: &str, args: &ProfileArgs) -> Result<(), ConfigError> {
    let defining = generic::defining_flags_set(args);
    if !defining.is_empty() {
        let quoted: Vec<String> = defining.iter().map(|n| format!("'{n}'")).collect();
        return Err(invalid(
            "--search-recipe",
            format!(
                "'{recipe}' is mutually exclusive with recipe-defining --search-* flags [{}]. \
                 These flags choose the objective / search space / planner -- the recipe owns \
                 those. Tunable knobs (--search-max-iterations, --search-initial-points, \
                 --search-random-seed) are accepted alongside a recipe.",
                quoted.join(", ")
            ),
        ));
    }
    let adaptive = matches!(
        recipe,
        "max-concurrency-under-sla"
            | "max-throughput-ttft-sla"
            | "max-throughput-itl-sla"
            | "max-goodput-under-slo"
    );
    let s = &args.search;
    if !adaptive && (s.search_initial_points.is_some() || s.search_random_seed.is_some()) {
        let mut flags = Vec::new();
        if s.search_initial_points.is_some() {
            flags.push("'--search-initial-points'");
        }
        if s.search_random_seed.is_some() {
            flags.push("'--search-random-seed'");
        }
        return Err(invalid(
            "--search-recipe",
            format!(
                "'{recipe}' expanded to a grid sweep, but tunable --search-* flags [{}] are only \
                 meaningful for BO recipes. Drop the flags or pick a BO recipe.",
                flags.join(", ")
            ),
        ));
    }
    if !s.search_sla.is_empty() && recipe != "max-concurrency-under-sla" {
        return Err(invalid(
            "--search-sla",
            format!(
                "with --search-recipe, composes with the recipe's filters only for \
                 'max-concurrency-under-sla' here (not '{recipe}')"
            ),
        ));
    }
    Ok(())
}

fn sla_filters(args: &ProfileArgs) -> Result<Vec<SlaFilter>, ConfigError> {
    let mut filters = Vec::new();
    let mut add = |flag, tag, stat, v: Option<f64>, scale: f64| -> Result<(), ConfigError> {
        if let Some(v) = v {
            positive(flag, v)?;
            filters.push(SlaFilter {
                tag,
                stat,
                threshold: v * scale,
                flag,
                at_least: false,
            });
        }
        Ok(())
    };
    add(
        "--ttft-sla-ms",
        "time_to_first_token",
        "p95",
        args.ttft_sla_ms,
        1.0,
    )?;
    add(
        "--itl-sla-ms",
        "inter_token_latency",
        "p95",
        args.itl_sla_ms,
        1.0,
    )?;
    add(
        "--e2e-sla-ms",
        "request_latency",
        "p99",
        args.e2e_sla_ms,
        1.0,
    )?;
    if let Some(e) = args.error_rate_sla {
        if !(e > 0.0 && e <= 1.0) {
            return Err(invalid(
                "--error-rate-sla",
                format!("must be a fraction in (0, 1], got {e}"),
            ));
        }
    }
    add(
        "--error-rate-sla",
        "request_error_rate",
        "avg",
        args.error_rate_sla,
        100.0,
    )?;
    Ok(filters)
}

/// `--{name}-min/-max/-steps` of a log-spaced grid, checked.
fn grid(
    flags: [&'static str; 3],
    given: (Option<usize>, Option<usize>, Option<usize>),
    defaults: (usize, usize, usize),
) -> Result<Vec<usize>, ConfigError> {
    let lo = given.0.unwrap_or(defaults.0);
    let hi = given.1.unwrap_or(defaults.1);
    let steps = given.2.unwrap_or(defaults.2);
    if lo == 0 {
        return Err(invalid(flags[0], "must be >= 1, got 0"));
    }
    if lo >= hi {
        return Err(invalid(
            flags[0],
            format!("{} ({lo}) must be < {} ({hi})", flags[0], flags[1]),
        ));
    }
    if !(2..=100).contains(&steps) {
        return Err(invalid(
            flags[2],
            format!("must be between 2 and 100, got {steps}"),
        ));
    }
    Ok(logspace_int_steps(lo, hi, steps))
}

/// A list of integers as a magic-list value.
fn list<T: std::str::FromStr>(values: &[usize]) -> Sweepable<T>
where
    T::Err: std::fmt::Display,
{
    let text: Vec<String> = values.iter().map(usize::to_string).collect();
    text.join(",")
        .parse()
        .expect("integers parse as a magic list")
}

/// The curve recipes (AIPerf's `prefill-ttft-curve` and `decode-itl-curve`).
fn curve(recipe: &str, args: &ProfileArgs) -> Result<Search, ConfigError> {
    if !args.streaming {
        return Err(invalid(
            "--streaming",
            format!("recipe '{recipe}' measures TTFT/ITL, which only a stream shows"),
        ));
    }
    let mut sweep = spent(args.clone());
    let post = if recipe == "prefill-ttft-curve" {
        let isl = grid(
            ["--isl-min", "--isl-max", "--isl-steps"],
            (args.isl_min, args.isl_max, args.isl_steps),
            (256, 32768, 8),
        )?;
        sweep.isl_mean = list(&isl);
        // Concurrency 1: the prefill cost alone, no queueing.
        sweep.concurrency = Some(Sweepable::single(1));
        PostProcess::PrefillCurve
    } else {
        let c = grid(
            [
                "--concurrency-min",
                "--concurrency-max",
                "--concurrency-steps",
            ],
            (
                args.concurrency_min,
                args.concurrency_max,
                args.concurrency_steps,
            ),
            (1, 200, 6),
        )?;
        let osl = grid(
            ["--osl-min", "--osl-max", "--osl-steps"],
            (args.osl_min, args.osl_max, args.osl_steps),
            (64, 1024, 4),
        )?;
        sweep.concurrency = Some(list(&c));
        sweep.osl_mean = Some(list(&osl));
        PostProcess::ItlSurface
    };
    Ok(Search::Sweep {
        args: Box::new(sweep),
        post,
    })
}

/// `max-goodput-under-slo` (DistServe's goodput): the three latency bounds become per-request
/// `--goodput` SLOs, so a request is good when it meets all three.
fn goodput_slos(args: &mut ProfileArgs) -> Result<(), ConfigError> {
    let (Some(t), Some(i), Some(e)) = (args.ttft_sla_ms, args.itl_sla_ms, args.e2e_sla_ms) else {
        return Err(invalid(
            "--search-recipe",
            "recipe 'max-goodput-under-slo' requires --ttft-sla-ms, --tpot-sla-ms and --e2e-sla-ms",
        ));
    };
    if !args.streaming {
        return Err(invalid(
            "--streaming",
            "recipe 'max-goodput-under-slo' bounds TTFT and TPOT, which only a stream shows",
        ));
    }
    if args.goodput.is_some() {
        return Err(invalid(
            "--goodput",
            "recipe 'max-goodput-under-slo' sets the SLOs from --ttft-sla-ms, --tpot-sla-ms and --e2e-sla-ms",
        ));
    }
    let f = args.slo_attainment_fraction.unwrap_or(0.95);
    if !(f > 0.0 && f <= 1.0) {
        return Err(invalid(
            "--slo-attainment-fraction",
            format!("must be in (0, 1], got {f}"),
        ));
    }
    for (flag, v) in [
        ("--ttft-sla-ms", t),
        ("--itl-sla-ms", i),
        ("--e2e-sla-ms", e),
    ] {
        positive(flag, v)?;
    }
    args.goodput = Some(format!(
        "time_to_first_token:{t} inter_token_latency:{i} request_latency:{e}"
    ));
    Ok(())
}

/// The arguments without the recipe's own flags: what remains is a plain sweep.
fn spent(mut a: ProfileArgs) -> ProfileArgs {
    a.search_recipe = None;
    a.concurrency_min = None;
    a.concurrency_max = None;
    a.concurrency_steps = None;
    a.isl_min = None;
    a.isl_max = None;
    a.isl_steps = None;
    a.osl_min = None;
    a.osl_max = None;
    a.osl_steps = None;
    a.degradation_threshold = None;
    a.degradation_metric_tag = None;
    a.degradation_stat = None;
    a.ttft_sla_ms = None;
    a.itl_sla_ms = None;
    a.e2e_sla_ms = None;
    a.error_rate_sla = None;
    a.search_max_iterations = None;
    a.slo_attainment_fraction = None;
    a
}

fn ramp(args: &ProfileArgs, min: usize, max: usize) -> Result<Search, ConfigError> {
    let steps = args.concurrency_steps.unwrap_or(8);
    if !(2..=100).contains(&steps) {
        return Err(invalid(
            "--concurrency-steps",
            format!("must be between 2 and 100, got {steps}"),
        ));
    }
    let threshold = args.degradation_threshold.unwrap_or(0.20);
    positive("--degradation-threshold", threshold)?;
    let tag = args
        .degradation_metric_tag
        .clone()
        .unwrap_or_else(|| "request_latency".to_string());
    if matches!(tag.as_str(), "time_to_first_token" | "inter_token_latency") && !args.streaming {
        return Err(invalid(
            "--degradation-metric-tag",
            format!("'{tag}' needs --streaming"),
        ));
    }
    let mut ramp = spent(args.clone());
    ramp.concurrency = Some(list(&logspace_int_steps(min, max, steps)));
    Ok(Search::Sweep {
        args: Box::new(ramp),
        post: PostProcess::Knee(KneeSpec {
            tag,
            stat: args
                .degradation_stat
                .clone()
                .unwrap_or_else(|| "p99".to_string()),
            threshold,
        }),
    })
}

impl ProfileConfig {
    /// The search `--search-recipe` asks for, or `None` without one. The command line is
    /// validated once at `--concurrency-min`.
    pub fn resolve_search(
        args: &ProfileArgs,
        argv: &[String],
        registry: &Registry,
    ) -> Result<Option<Search>, ConfigError> {
        let generic = generic::from_flags(args)?;
        let Some(recipe) = args.search_recipe.as_deref() else {
            return match generic {
                Some(g) => generic_plan(g, args, argv, registry)
                    .map(|p| Some(Search::Adaptive(Box::new(p)))),
                None => Ok(None),
            };
        };
        let recipe = match RECIPES.iter().find(|r| **r == recipe) {
            Some(r) => *r,
            None => {
                return Err(invalid(
                    "--search-recipe",
                    format!(
                        "unknown recipe '{recipe}'; available: {}",
                        RECIPES.join(", ")
                    ),
                ))
            }
        };
        check_recipe_search_flags(recipe, args)?;
        // The one recipe that takes a concurrency list.
        if recipe == "pareto-sweep" {
            return pareto(args).map(Some);
        }
        if args.concurrency.as_ref().is_some_and(Sweepable::is_list) {
            return Err(invalid(
                "--concurrency",
                "a search picks the concurrency itself; use --concurrency-min/--concurrency-max",
            ));
        }
        let min = args.concurrency_min.unwrap_or(1);
        let max = args.concurrency_max.unwrap_or(1000);
        if min == 0 {
            return Err(invalid("--concurrency-min", "must be >= 1, got 0"));
        }
        if min >= max {
            return Err(invalid(
                "--concurrency-min",
                format!(
                    "recipe '{recipe}': --concurrency-min ({min}) must be < --concurrency-max \
                     ({max}); inverted bounds collapse the search space."
                ),
            ));
        }
        if recipe == "concurrency-ramp" {
            return ramp(args, min, max).map(Some);
        }
        if matches!(recipe, "prefill-ttft-curve" | "decode-itl-curve") {
            return curve(recipe, args).map(Some);
        }
        let mut args = args.clone();
        let args = &mut args;
        if recipe == "max-goodput-under-slo" {
            goodput_slos(args)?;
        }
        let mut filters = sla_filters(args)?;
        // The throughput recipes watch one latency only (AIPerf's definitions).
        let only = match recipe {
            "max-throughput-ttft-sla" => Some(("time_to_first_token", "--ttft-sla-ms")),
            "max-throughput-itl-sla" => Some(("inter_token_latency", "--itl-sla-ms")),
            _ => None,
        };
        if let Some((tag, flag)) = only {
            filters.retain(|f| f.tag == tag);
            if filters.is_empty() {
                return Err(invalid(
                    "--search-recipe",
                    format!("recipe '{recipe}' requires {flag}"),
                ));
            }
        }
        if recipe == "max-goodput-under-slo" {
            // The latency bounds are per request (they define a good request); the search
            // bounds the share of good requests.
            filters = vec![SlaFilter {
                tag: "good_request_fraction",
                stat: "avg",
                threshold: args.slo_attainment_fraction.unwrap_or(0.95),
                flag: "--slo-attainment-fraction",
                at_least: true,
            }];
        }
        if filters.is_empty() {
            return Err(invalid(
                "--search-recipe",
                format!(
                    "recipe '{recipe}' requires at least one of --ttft-sla-ms / --itl-sla-ms / \
                     --e2e-sla-ms / --error-rate-sla"
                ),
            ));
        }
        let streaming_only = filters
            .iter()
            .any(|f| matches!(f.tag, "time_to_first_token" | "inter_token_latency"));
        if streaming_only && !args.streaming {
            return Err(invalid(
                "--streaming",
                "TTFT and inter-token SLAs need --streaming (only a stream shows the first token)",
            ));
        }
        if recipe == "max-concurrency-under-sla"
            && args.search.search_style.as_deref() == Some("grid")
        {
            return Ok(Some(breach_grid(args, &filters, min, max)?));
        }
        if args.num_profile_runs > 1 {
            return Err(invalid(
                "--num-profile-runs",
                "repeated trials per search point are not supported yet; drop it or the recipe",
            ));
        }
        let max_iterations = args.search_max_iterations.unwrap_or(20);
        if !(2..=200).contains(&max_iterations) {
            return Err(invalid(
                "--search-max-iterations",
                format!("must be between 2 and 200, got {max_iterations}"),
            ));
        }
        let mut first = args.clone();
        first.concurrency = Some(Sweepable::single(min));
        let cfg = ProfileConfig::resolve(first.clone(), argv, registry)?;
        if !matches!(cfg.load, LoadMode::Concurrency { .. }) {
            return Err(invalid(
                "--search-recipe",
                format!("'{recipe}' varies a closed-loop concurrency; drop --request-rate, --user-centric-rate and --fixed-schedule"),
            ));
        }
        // Validate the top of the range too (limits on concurrency).
        let mut last = args.clone();
        last.concurrency = Some(Sweepable::single(max));
        ProfileConfig::resolve(last, argv, registry)?;
        // `--search-style` runs AIPerf's planners (only this recipe takes it, as in AIPerf);
        // `--search-sla` alone runs AIPerf's default one, so its filters compose.
        let style = args
            .search
            .search_style
            .as_deref()
            .or((!args.search.search_sla.is_empty()).then_some("smooth_isotonic"));
        let generic = match style {
            Some(style) if recipe == "max-concurrency-under-sla" => {
                Some(generic::for_recipe_style(
                    style,
                    args,
                    filters.iter().map(bound_of).collect(),
                    (min, max),
                )?)
            }
            _ => None,
        };
        let max_iterations = generic
            .as_ref()
            .map_or(max_iterations, |g| g.max_iterations);
        Ok(Some(Search::Adaptive(Box::new(SearchPlan {
            recipe,
            filters,
            min,
            max,
            max_iterations,
            base_dir: cfg.artifact_dir,
            generic,
            args: first,
            argv: argv.to_vec(),
        }))))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::args;
    use super::*;

    fn search(a: &[&str]) -> Result<Option<Search>, ConfigError> {
        let mut full = vec!["-m", "m", "--streaming", "--artifact-dir", "/tmp/s"];
        full.extend_from_slice(a);
        let argv: Vec<String> = full.iter().map(|s| s.to_string()).collect();
        ProfileConfig::resolve_search(&args(&full), &argv, &Registry::builtin())
    }

    fn plan(a: &[&str]) -> Result<Option<SearchPlan>, ConfigError> {
        search(a).map(|s| match s {
            Some(Search::Adaptive(p)) => Some(*p),
            Some(Search::Sweep { .. }) => panic!("a sweep"),
            None => None,
        })
    }

    #[test]
    fn goodput_and_pareto_recipes() {
        let p = plan(&[
            "--search-recipe",
            "max-goodput-under-slo",
            "--ttft-sla-ms",
            "500",
            "--tpot-sla-ms",
            "15",
            "--e2e-sla-ms",
            "2000",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(p.filters.len(), 1);
        let f = &p.filters[0];
        assert_eq!(
            (f.tag, f.threshold, f.at_least),
            ("good_request_fraction", 0.95, true)
        );
        assert!(f.met(0.95) && !f.met(0.9) && f.ratio(0.95) == 1.0);
        let probe = p.probe(4, &Registry::builtin()).unwrap();
        assert!(probe.goodput.is_some());
        let e = search(&[
            "--search-recipe",
            "max-goodput-under-slo",
            "--ttft-sla-ms",
            "5",
        ])
        .map(|_| ())
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("requires --ttft-sla-ms, --tpot-sla-ms and --e2e-sla-ms"),
            "{e}"
        );

        let Some(Search::Sweep { args, post }) = search(&[
            "--search-recipe",
            "pareto-sweep",
            "--isl-osl-pairs",
            "128/64, 512/128",
            "--concurrency",
            "1,4",
        ])
        .unwrap() else {
            panic!("not a sweep")
        };
        assert_eq!(post, PostProcess::ParetoShapes);
        assert_eq!(
            args.variant,
            [
                "shape_128_64_c1: isl=128, osl=64, concurrency=1",
                "shape_128_64_c4: isl=128, osl=64, concurrency=4",
                "shape_512_128_c1: isl=512, osl=128, concurrency=1",
                "shape_512_128_c4: isl=512, osl=128, concurrency=4"
            ]
        );
        for bad in ["", "128", "128/0", "a/b", "1/2/3", "128/64,128/64"] {
            assert!(parse_isl_osl_pairs(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn curves_are_grids() {
        let Some(Search::Sweep { args, post }) = search(&[
            "--search-recipe",
            "prefill-ttft-curve",
            "--isl-min",
            "100",
            "--isl-max",
            "800",
            "--isl-steps",
            "4",
        ])
        .unwrap() else {
            panic!("not a sweep")
        };
        assert_eq!(post, PostProcess::PrefillCurve);
        assert_eq!(args.isl_mean.values(), [100.0, 200.0, 400.0, 800.0]);
        let set = ProfileConfig::resolve_set(*args, &[], &Registry::builtin()).unwrap();
        assert!(set.variations.iter().all(|v| v.config.concurrency == 1));
        let Some(Search::Sweep { args, post }) =
            search(&["--search-recipe", "decode-itl-curve"]).unwrap()
        else {
            panic!("not a sweep")
        };
        assert_eq!(post, PostProcess::ItlSurface);
        // AIPerf's defaults: 6 concurrencies in [1, 200], 4 OSLs in [64, 1024].
        assert_eq!(
            args.concurrency.clone().unwrap().values(),
            [1, 3, 8, 24, 69, 200]
        );
        assert_eq!(
            args.osl_mean.clone().unwrap().values(),
            [64.0, 161.0, 406.0, 1024.0]
        );
        let set = ProfileConfig::resolve_set(*args, &[], &Registry::builtin()).unwrap();
        assert_eq!(set.variations.len(), 24);
    }

    #[test]
    fn logspace_matches_aiperf() {
        // numpy-free check: exp(ln(1) + ln(1000) i / 7) = 1, 2.68, 7.20, 19.3, 51.8, 139, 373, 1000.
        assert_eq!(
            logspace_int_steps(1, 1000, 8),
            [1, 3, 7, 19, 52, 139, 373, 1000]
        );
        assert_eq!(logspace_int_steps(1, 4, 8), [1, 2, 3, 4]);
    }

    #[test]
    fn ramps_and_throughput_recipes() {
        let Some(Search::Sweep {
            args,
            post: PostProcess::Knee(knee),
        }) = search(&[
            "--search-recipe",
            "concurrency-ramp",
            "--concurrency-max",
            "16",
            "--concurrency-steps",
            "5",
        ])
        .unwrap()
        else {
            panic!("not a ramp")
        };
        assert_eq!(args.concurrency.clone().unwrap().values(), [1, 2, 4, 8, 16]);
        // The ramp's arguments resolve as a plain sweep.
        let set = ProfileConfig::resolve_set(*args, &[], &Registry::builtin()).unwrap();
        assert_eq!(set.variations.len(), 5);
        assert_eq!(
            knee,
            KneeSpec {
                tag: "request_latency".into(),
                stat: "p99".into(),
                threshold: 0.2
            }
        );
        let p = plan(&[
            "--search-recipe",
            "max-throughput-ttft-sla",
            "--ttft-sla-ms",
            "100",
            "--e2e-sla-ms",
            "900",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(p.filters.len(), 1);
        assert_eq!(p.filters[0].tag, "time_to_first_token");
        assert!(search(&[
            "--search-recipe",
            "max-throughput-itl-sla",
            "--ttft-sla-ms",
            "5"
        ])
        .map(|_| ())
        .unwrap_err()
        .to_string()
        .contains("requires --itl-sla-ms"));
    }

    fn err(a: &[&str]) -> String {
        plan(a).map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn filters_follow_aiperf() {
        let p = plan(&[
            "--search-recipe",
            "max-concurrency-under-sla",
            "--ttft-sla-ms",
            "200",
            "--tpot-sla-ms",
            "20",
            "--e2e-sla-ms",
            "900",
            "--error-rate-sla",
            "0.01",
        ])
        .unwrap()
        .unwrap();
        let f: Vec<(&str, &str, f64)> = p
            .filters
            .iter()
            .map(|f| (f.tag, f.stat, f.threshold))
            .collect();
        assert_eq!(
            f,
            [
                ("time_to_first_token", "p95", 200.0),
                ("inter_token_latency", "p95", 20.0),
                ("request_latency", "p99", 900.0),
                ("request_error_rate", "avg", 1.0)
            ]
        );
        assert_eq!((p.min, p.max, p.max_iterations), (1, 1000, 20));
        let c = p.probe(12, &Registry::builtin()).unwrap();
        assert_eq!(c.concurrency, 12);
        assert_eq!(c.artifact_dir, PathBuf::from("/tmp/s/concurrency_12"));
        assert!(plan(&[]).unwrap().is_none());
    }

    #[test]
    fn bad_searches_are_refused_by_flag() {
        let r = ["--search-recipe", "max-concurrency-under-sla"];
        assert!(err(&r).contains("requires at least one of --ttft-sla-ms"));
        assert!(err(&["--search-recipe", "nope", "--ttft-sla-ms", "5"])
            .contains("unknown recipe 'nope'"));
        assert!(search(&["--search-recipe", "pareto-sweep"])
            .map(|_| ())
            .unwrap_err()
            .to_string()
            .contains("requires --isl-osl-pairs"));
        let with = |extra: &[&str]| {
            let mut a = r.to_vec();
            a.extend_from_slice(&["--ttft-sla-ms", "100"]);
            a.extend_from_slice(extra);
            err(&a)
        };
        assert!(with(&["--concurrency", "1,2"]).starts_with("--concurrency"));
        assert!(with(&["--concurrency-min", "8", "--concurrency-max", "8"])
            .contains("must be < --concurrency-max"));
        assert!(with(&["--request-rate", "5"]).contains("closed-loop"));
        assert!(with(&["--search-max-iterations", "1"]).starts_with("--search-max-iterations"));
        assert!(err(&[
            "--search-recipe",
            "max-concurrency-under-sla",
            "--error-rate-sla",
            "2"
        ])
        .starts_with("--error-rate-sla"));
        assert!(err(&[
            "--search-recipe",
            "max-concurrency-under-sla",
            "--ttft-sla-ms",
            "0"
        ])
        .starts_with("--ttft-sla-ms"));
    }
}
