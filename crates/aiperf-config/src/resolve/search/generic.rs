//! The generic search (`--search-space` and its companions), checked as AIPerf 0.13 checks them
//! (`config/flags/_converter_optionals.py`, `orchestrator/search_planner/parsing.py`,
//! `config/sweep/config.py::AdaptiveSearchSweep`), with AIPerf's messages.
//!
//! What this build runs: `bayesian` is a Gaussian process with expected improvement; `optuna`
//! (any sampler) runs the same, with a notice; `monotonic_sla` and `smooth_isotonic` are
//! AIPerf's 1-D SLA-boundary planners.

use super::super::multi_run::{magic_list_flag, search_field, searchable_paths};
use super::super::{invalid, ConfigError};
use crate::cli::ProfileArgs;

/// The stats an `--search-sla` filter may name (AIPerf's `SLAFilter.stat`).
pub const SLA_STATS: [&str; 12] = [
    "avg", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "min", "max",
];
const SLA_OPS: [&str; 4] = ["lt", "le", "gt", "ge"];

/// One searched parameter: a sweepable flag found by AIPerf's config path.
#[derive(Debug, Clone)]
pub struct Dimension {
    /// AIPerf's dotted path (`phases.profiling.concurrency`), the key of `variation_values`.
    pub path: String,
    /// The flag it sets (`--concurrency`).
    pub flag: &'static str,
    pub lo: f64,
    pub hi: f64,
    /// `int`: proposals are rounded to integers.
    pub integer: bool,
    /// Log-uniform prior (the recipes' concurrency): points spread evenly over decades.
    pub log: bool,
    set: fn(&mut ProfileArgs, f64),
}

impl Dimension {
    pub(super) fn apply(&self, args: &mut ProfileArgs, v: f64) {
        (self.set)(args, v);
    }
}

/// What the search optimizes: `{metric}` `{stat}`, up or down.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    pub metric: String,
    pub stat: String,
    pub maximize: bool,
}

/// An SLA comparison: the filter passes when `value op threshold`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SlaOp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl SlaOp {
    pub fn name(self) -> &'static str {
        match self {
            Self::Lt => "lt",
            Self::Le => "le",
            Self::Gt => "gt",
            Self::Ge => "ge",
        }
    }
}

/// One `--search-sla` filter (or a recipe's SLA flag): `stat(tag) op threshold`, in the metric's
/// display unit (`request_error_rate` in percent).
#[derive(Debug, Clone, PartialEq)]
pub struct SlaBound {
    pub tag: String,
    pub stat: String,
    pub op: SlaOp,
    pub threshold: f64,
}

impl SlaBound {
    /// `time_to_first_token:p95:lt:200`.
    pub fn describe(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.tag,
            self.stat,
            self.op.name(),
            self.threshold
        )
    }
}

/// A validated generic search.
#[derive(Debug, Clone)]
pub struct GenericSearch {
    pub dims: Vec<Dimension>,
    pub objective: Objective,
    pub max_iterations: u32,
    /// Random (space-filling) points before the Gaussian process is fitted.
    pub initial_points: u32,
    pub seed: Option<u64>,
    /// The planner as asked (`bayesian`, `optuna`, `monotonic_sla`, `smooth_isotonic`).
    pub planner: &'static str,
    /// What runs: `bayesian` (Gaussian process, expected improvement), `monotonic_sla` or
    /// `smooth_isotonic`.
    pub algorithm: &'static str,
    pub slas: Vec<SlaBound>,
    /// `mean` or `pooled` (the same with one trial per point).
    pub pooling: &'static str,
    /// Echoed into `search_history.json`'s config block.
    pub optuna_sampler: Option<String>,
    pub optuna_acquisition: Option<String>,
    pub optuna_terminator: Option<String>,
    pub constraint_mode: Option<String>,
    /// The recipe this search came from, if any.
    pub recipe: Option<&'static str>,
    /// One line each: what the command line asked for that runs differently here.
    pub notices: Vec<String>,
}

/// `--search-space "path:lo,hi[:kind]"` (AIPerf's grammar and messages), with the path checked
/// against the flags this build can set.
pub fn parse_dimension(raw: &str) -> Result<Dimension, ConfigError> {
    let bad = |r: String| invalid("--search-space", format!("'{raw}': {r}"));
    let shape = "expected 'path:lo,hi[:kind]', e.g. 'phases.profiling.concurrency:1,1000:int'.";
    if !raw.contains(':') || !raw.contains(',') {
        return Err(bad(shape.into()));
    }
    let parts: Vec<&str> = raw.split(':').collect();
    let (path, bounds, kind) = match parts[..] {
        [p, b] => (p, b, "real"),
        [p, b, k] => (p, b, k),
        _ => {
            return Err(bad(format!(
                "expected 'path:lo,hi[:kind]', got {} parts.",
                parts.len()
            )))
        }
    };
    if kind != "int" && kind != "real" {
        return Err(bad(format!("kind must be 'int' or 'real', got '{kind}'.")));
    }
    let Some((lo_s, hi_s)) = bounds.split_once(',') else {
        return Err(bad(
            "expected 'path:lo,hi[:kind]', missing ',' in bounds.".into()
        ));
    };
    let num = |s: &str| s.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    let (Some(lo), Some(hi)) = (num(lo_s), num(hi_s)) else {
        return Err(bad(format!(
            "could not parse bound as float ('{lo_s}', '{hi_s}')."
        )));
    };
    if hi <= lo {
        return Err(bad(format!("hi ({hi}) must be > lo ({lo}).")));
    }
    let Some(field) = search_field(path) else {
        return Err(bad(format!(
            "path '{path}' is not a searchable parameter; searchable: {}",
            searchable_paths().join(", ")
        )));
    };
    let integer = kind == "int";
    if field.integer && !integer {
        return Err(bad(format!(
            "'{path}' ({}) takes integers; use ':int'",
            field.flag
        )));
    }
    let (lo, hi) = if integer {
        (lo.trunc(), hi.trunc())
    } else {
        (lo, hi)
    };
    if integer && hi <= lo {
        return Err(bad(format!("no integer between lo ({lo}) and hi ({hi}).")));
    }
    Ok(Dimension {
        path: path.to_string(),
        flag: field.flag,
        lo,
        hi,
        integer,
        log: false,
        set: field.set,
    })
}

/// The concurrency dimension of the max-concurrency recipe.
pub(super) fn concurrency_dimension(lo: usize, hi: usize, log: bool) -> Dimension {
    let field =
        search_field("phases.profiling.concurrency").expect("concurrency is a sweepable flag");
    Dimension {
        path: "phases.profiling.concurrency".into(),
        flag: field.flag,
        lo: lo as f64,
        hi: hi as f64,
        integer: true,
        log,
        set: field.set,
    }
}

/// `--search-sla "metric_tag:stat:op:threshold"` (AIPerf's `parse_sla_filter`).
pub fn parse_sla(value: &str) -> Result<SlaBound, ConfigError> {
    let bad = |r: String| invalid("--search-sla", format!("'{value}': {r}"));
    let parts: Vec<&str> = value.split(':').collect();
    let [tag, stat, op, threshold] = parts[..] else {
        return Err(bad(format!(
            "expected 4 colon-separated parts 'metric_tag:stat:op:threshold', got {}. \
             Example: 'time_to_first_token:p95:lt:200'.",
            parts.len()
        )));
    };
    if tag.trim().is_empty() {
        return Err(bad("metric_tag must be a non-empty string.".into()));
    }
    if !SLA_STATS.contains(&stat) {
        return Err(bad(format!(
            "unknown stat '{stat}'; expected one of {}.",
            SLA_STATS.join(", ")
        )));
    }
    let op = match op {
        "lt" => SlaOp::Lt,
        "le" => SlaOp::Le,
        "gt" => SlaOp::Gt,
        "ge" => SlaOp::Ge,
        other => {
            return Err(bad(format!(
                "unknown op '{other}'; expected one of {}.",
                SLA_OPS.join(", ")
            )))
        }
    };
    let threshold = match threshold.parse::<f64>() {
        Ok(t) if t.is_finite() => t,
        Ok(t) => return Err(bad(format!("threshold must be finite, got {t}."))),
        Err(_) => return Err(bad(format!("threshold '{threshold}' is not a float."))),
    };
    Ok(SlaBound {
        tag: tag.to_string(),
        stat: stat.to_string(),
        op,
        threshold,
    })
}

/// One `--search-sla-tier "[LABEL:]FILTER[,FILTER...]"` (AIPerf's `parse_sla_tier`).
pub fn parse_tier(value: &str, index: usize) -> Result<(String, Vec<SlaBound>), ConfigError> {
    let flag = "--search-sla-tier";
    if value.trim().is_empty() {
        return Err(invalid(flag, "value must not be empty."));
    }
    let first = value.split(',').next().unwrap_or_default();
    let (label, rest) = if first.matches(':').count() != 3 {
        let (label, rest) = value.split_once(':').unwrap_or((value, ""));
        if label.is_empty() {
            return Err(invalid(
                flag,
                format!("'{value}': label before ':' must not be empty."),
            ));
        }
        (label.to_string(), rest)
    } else {
        (format!("tier_{}", index + 1), value)
    };
    let filters: Vec<&str> = rest
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect();
    if filters.is_empty() {
        return Err(invalid(
            flag,
            format!(
                "'{value}': tier '{label}' contains zero filters. Each tier must have at least \
                 one filter in 'metric_tag:stat:op:threshold' format."
            ),
        ));
    }
    let parsed = filters
        .iter()
        .map(|f| {
            parse_sla(f).map_err(|e| {
                invalid(
                    flag,
                    format!("'{value}': error parsing filter '{f}' in tier '{label}': {e}"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((label, parsed))
}

/// AIPerf's `validate_tier_list`: 2-10 tiers, unique labels.
pub fn validate_tiers(tiers: &[(String, Vec<SlaBound>)]) -> Result<(), ConfigError> {
    let flag = "--search-sla-tier";
    if !(2..=10).contains(&tiers.len()) {
        return Err(invalid(
            flag,
            format!("expected between 2 and 10 tiers, got {}.", tiers.len()),
        ));
    }
    for (i, (label, _)) in tiers.iter().enumerate() {
        if let Some(j) = tiers[..i].iter().position(|(l, _)| l == label) {
            return Err(invalid(
                flag,
                format!(
                    "duplicate label '{label}' (tiers {} and {}). Each tier must have a unique label.",
                    j + 1,
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}

/// The `--search-*` flags that define a search (AIPerf's `_RECIPE_DEFINING_FIELDS`), as set.
pub(super) fn defining_flags_set(args: &ProfileArgs) -> Vec<&'static str> {
    let s = &args.search;
    [
        ("search_space", !s.search_space.is_empty()),
        ("search_metric", s.search_metric.is_some()),
        ("search_stat", s.search_stat.is_some()),
        ("search_direction", s.search_direction.is_some()),
        ("search_planner", s.search_planner.is_some()),
        ("optuna_sampler", s.optuna_sampler.is_some()),
        ("optuna_acquisition", s.optuna_acquisition.is_some()),
        ("optuna_terminator", s.optuna_terminator.is_some()),
        (
            "search_percentile_pooling",
            s.search_percentile_pooling.is_some(),
        ),
        ("bo_constraint_mode", s.bo_constraint_mode.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// The tunable ones (`_RECIPE_TUNABLE_FIELDS`), as set.
pub(super) fn tunable_flags_set(args: &ProfileArgs) -> Vec<&'static str> {
    [
        (
            "search_max_iterations",
            args.search_max_iterations.is_some(),
        ),
        (
            "search_initial_points",
            args.search.search_initial_points.is_some(),
        ),
        (
            "search_random_seed",
            args.search.search_random_seed.is_some(),
        ),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

fn python_list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    format!("[{}]", quoted.join(", "))
}

/// Checks that hold with or without `--search-space`: SLA filters, tiers, and the optuna and
/// pooling combinations.
fn check_filters(args: &ProfileArgs) -> Result<Vec<SlaBound>, ConfigError> {
    let s = &args.search;
    let slas = s
        .search_sla
        .iter()
        .map(|v| parse_sla(v))
        .collect::<Result<Vec<_>, _>>()?;
    if !s.search_sla_tier.is_empty() {
        let tiers = s
            .search_sla_tier
            .iter()
            .enumerate()
            .map(|(i, v)| parse_tier(v, i))
            .collect::<Result<Vec<_>, _>>()?;
        validate_tiers(&tiers)?;
        return Err(invalid(
            "--search-sla-tier",
            "multi-tier SLO search is not supported yet; search one tier with --search-sla",
        ));
    }
    Ok(slas)
}

fn check_combinations(args: &ProfileArgs) -> Result<(), ConfigError> {
    let s = &args.search;
    if let (Some(acq), Some(sampler)) = (&s.optuna_acquisition, &s.optuna_sampler) {
        if sampler != "botorch" {
            return Err(invalid(
                "--optuna-acquisition",
                format!(
                    "'{acq}' requires --optuna-sampler botorch; got --optuna-sampler \
                     '{sampler}'. Acquisition overrides are only consulted on the BoTorch path."
                ),
            ));
        }
    }
    if let Some(acq) = &s.optuna_acquisition {
        if matches!(acq.as_str(), "qehvi" | "qnehvi" | "qlognehvi") {
            return Err(invalid(
                "--optuna-acquisition",
                format!(
                    "'{acq}' is multi-objective; got 1 objective. Use a single-objective \
                     acquisition (qlognei recommended) or add a second objective."
                ),
            ));
        }
    }
    if s.search_percentile_pooling.as_deref() == Some("pooled")
        && s.search_stat.as_deref() == Some("avg")
    {
        return Err(invalid(
            "--search-percentile-pooling",
            "pooled requires --search-stat to be a percentile (p50/p90/p95/p99); pooling means \
             is a no-op. Either switch --search-stat to a percentile or drop \
             --search-percentile-pooling.",
        ));
    }
    if let Some(0) = s.search_initial_points {
        return Err(invalid("--search-initial-points", "must be >= 1, got 0"));
    }
    Ok(())
}

/// `--search-max-iterations` within AIPerf's 2-200.
pub(super) fn max_iterations(given: Option<u32>, default: u32) -> Result<u32, ConfigError> {
    let n = given.unwrap_or(default);
    if !(2..=200).contains(&n) {
        return Err(invalid(
            "--search-max-iterations",
            format!("must be between 2 and 200, got {n}"),
        ));
    }
    Ok(n)
}

/// What runs for `planner`, and the notices for what runs differently than asked.
fn algorithm(planner: &'static str, args: &ProfileArgs) -> (&'static str, Vec<String>) {
    let s = &args.search;
    let mut notices = Vec::new();
    if planner == "optuna" {
        let sampler = s.optuna_sampler.as_deref().unwrap_or("botorch");
        notices.push(format!(
            "--search-planner optuna: Optuna's '{sampler}' sampler is not built in; the \
             Gaussian-process planner with expected improvement runs instead"
        ));
    } else if s.optuna_sampler.is_some() {
        notices.push(format!(
            "--optuna-sampler is only consulted with --search-planner optuna; the {planner} \
             planner runs"
        ));
    }
    if let Some(acq) = &s.optuna_acquisition {
        notices.push(format!(
            "--optuna-acquisition {acq}: expected improvement runs instead"
        ));
    }
    if let Some(t) = s.optuna_terminator.as_deref().filter(|t| *t != "none") {
        notices.push(format!(
            "--optuna-terminator {t}: not built in; the search stops at \
             --search-max-iterations, after 10 iterations without improvement or on a plateau"
        ));
    }
    let algorithm = match planner {
        "monotonic_sla" => "monotonic_sla",
        "smooth_isotonic" => "smooth_isotonic",
        _ => "bayesian",
    };
    (algorithm, notices)
}

/// The 1-D SLA planners' requirements (AIPerf's messages).
pub(super) fn check_one_d(
    planner: &str,
    dims: &[Dimension],
    slas: &[SlaBound],
) -> Result<(), ConfigError> {
    if !matches!(planner, "monotonic_sla" | "smooth_isotonic") {
        return Ok(());
    }
    let flag = "--search-planner";
    if dims.len() != 1 {
        return Err(invalid(
            flag,
            format!(
                "{planner} planner requires exactly one search-space dimension; got {}. For \
                 multi-dimensional search use the bayesian planner via `--search-planner bayesian`.",
                dims.len()
            ),
        ));
    }
    if !dims[0].integer {
        return Err(invalid(
            flag,
            format!(
                "{planner} planner v1 supports kind='int' dimensions only; got kind='real' on \
                 path '{}'. Use the bayesian planner for real-valued dimensions.",
                dims[0].path
            ),
        ));
    }
    if slas.is_empty() {
        return Err(invalid(
            flag,
            format!(
                "{planner} planner requires at least one SLA filter (sla_filters is empty); \
                 pass --search-sla."
            ),
        ));
    }
    Ok(())
}

/// `n_initial_points < max_iterations` for the Gaussian-process planners.
pub(super) fn check_initial_points(
    algorithm: &str,
    initial: u32,
    max: u32,
) -> Result<(), ConfigError> {
    if algorithm == "bayesian" && initial >= max {
        return Err(invalid(
            "--search-initial-points",
            format!(
                "n_initial_points ({initial}) must be < max_iterations ({max}); otherwise the \
                 GP never fits."
            ),
        ));
    }
    Ok(())
}

/// The search-only checks shared with recipes, then the generic search itself when
/// `--search-space` is given. Without it (and without a recipe), any other `--search-*` flag is
/// refused as AIPerf refuses it.
pub fn from_flags(args: &ProfileArgs) -> Result<Option<GenericSearch>, ConfigError> {
    let extra_slas = check_filters(args)?;
    let s = &args.search;
    if args.search_recipe.is_some() {
        return Ok(None);
    }
    if s.search_space.is_empty() {
        let mut set = defining_flags_set(args);
        set.extend(tunable_flags_set(args));
        set.sort_unstable();
        if let Some(first) = set.first() {
            let flag = match *first {
                "search_max_iterations" => "--search-max-iterations",
                _ => "--search-space",
            };
            return Err(invalid(
                flag,
                format!(
                    "--search-* flags {} require --search-space.",
                    python_list(&set)
                ),
            ));
        }
        if !extra_slas.is_empty() {
            return Err(invalid(
                "--search-sla",
                "applies to a search: add --search-space (with --search-metric, \
                 --search-direction, --search-max-iterations) or --search-recipe",
            ));
        }
        return Ok(None);
    }
    for (flag, given) in [
        ("--search-metric", s.search_metric.is_some()),
        ("--search-direction", s.search_direction.is_some()),
        (
            "--search-max-iterations",
            args.search_max_iterations.is_some(),
        ),
    ] {
        if !given {
            return Err(invalid(
                "--search-space",
                format!("requires {flag} (companion flag missing)."),
            ));
        }
    }
    check_combinations(args)?;
    if let Some(flag) = magic_list_flag(args) {
        return Err(invalid(
            flag,
            "a list is a sweep, which is mutually exclusive with --search-space",
        ));
    }
    if !args.variant.is_empty() {
        return Err(invalid(
            "--variant",
            "is mutually exclusive with --search-space",
        ));
    }
    if args.convergence_metric.is_some() {
        return Err(invalid(
            "--convergence-metric",
            "--search-* (Bayesian Optimization) is mutually exclusive with --convergence-metric \
             (trial-level adaptive early-stop). The two operate at different levels (outer-loop \
             vs. inner-trial) and their composition is undefined. Drop one of them.",
        ));
    }
    let dims = s
        .search_space
        .iter()
        .map(|raw| parse_dimension(raw))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, d) in dims.iter().enumerate() {
        if dims[..i].iter().any(|e| e.path == d.path) {
            return Err(invalid(
                "--search-space",
                format!(
                    "search_space dimensions must have unique paths; duplicates: ['{}'].",
                    d.path
                ),
            ));
        }
    }
    let metric = s.search_metric.clone().unwrap_or_default();
    if metric.trim().is_empty() {
        return Err(invalid("--search-metric", "must be a non-empty metric tag"));
    }
    let max = max_iterations(args.search_max_iterations, 20)?;
    let planner: &'static str = match s.search_planner.as_deref() {
        Some("optuna") => "optuna",
        Some("monotonic_sla") => "monotonic_sla",
        Some("smooth_isotonic") => "smooth_isotonic",
        _ => "bayesian",
    };
    let (algorithm, notices) = algorithm(planner, args);
    let initial = s.search_initial_points.unwrap_or(5);
    check_initial_points(algorithm, initial, max)?;
    check_one_d(planner, &dims, &extra_slas)?;
    Ok(Some(GenericSearch {
        dims,
        objective: Objective {
            metric,
            stat: s.search_stat.clone().unwrap_or_else(|| "avg".into()),
            maximize: s.search_direction.as_deref() == Some("maximize"),
        },
        max_iterations: max,
        initial_points: initial,
        seed: s.search_random_seed,
        planner,
        algorithm,
        slas: extra_slas,
        pooling: match s.search_percentile_pooling.as_deref() {
            Some("pooled") => "pooled",
            _ => "mean",
        },
        optuna_sampler: s.optuna_sampler.clone(),
        optuna_acquisition: s.optuna_acquisition.clone(),
        optuna_terminator: s.optuna_terminator.clone(),
        constraint_mode: s.bo_constraint_mode.clone(),
        recipe: None,
        notices,
    }))
}

/// `--search-style` of `max-concurrency-under-sla` as AIPerf's recipe expands it: the concurrency
/// in `[lo, hi]`, output token throughput maximized under the recipe's filters (then
/// `--search-sla`'s).
pub(super) fn for_recipe_style(
    style: &str,
    args: &ProfileArgs,
    filters: Vec<SlaBound>,
    (lo, hi): (usize, usize),
) -> Result<GenericSearch, ConfigError> {
    let mut slas = filters;
    slas.extend(check_filters(args)?);
    let (planner, max_default, log): (&'static str, u32, bool) = match style {
        "smooth_isotonic" => ("smooth_isotonic", 30, false),
        "monotonic" => ("monotonic_sla", 20, false),
        "bo" => ("bayesian", 30, true),
        "optuna" => ("optuna", 30, true),
        _ => {
            return Err(invalid(
                "--search-style",
                format!("'{style}' is a sweep, not an adaptive search"),
            ))
        }
    };
    let (algorithm, notices) = algorithm(planner, args);
    let max = max_iterations(args.search_max_iterations, max_default)?;
    let initial = args
        .search
        .search_initial_points
        .unwrap_or(if log { 5 } else { 1 });
    if initial == 0 {
        return Err(invalid("--search-initial-points", "must be >= 1, got 0"));
    }
    check_initial_points(algorithm, initial, max)?;
    Ok(GenericSearch {
        dims: vec![concurrency_dimension(lo, hi, log)],
        objective: Objective {
            metric: "output_token_throughput".into(),
            stat: "avg".into(),
            maximize: true,
        },
        max_iterations: max,
        initial_points: initial,
        seed: args.search.search_random_seed,
        planner,
        algorithm,
        slas,
        pooling: "mean",
        optuna_sampler: None,
        optuna_acquisition: None,
        optuna_terminator: None,
        constraint_mode: None,
        recipe: Some("max-concurrency-under-sla"),
        notices,
    })
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::args;
    use super::super::{Search, SearchPlan};
    use super::*;
    use crate::resolve::ProfileConfig;
    use aiperf_plugins::Registry;

    const BASE: [&str; 6] = [
        "-m",
        "m",
        "--streaming",
        "--artifact-dir",
        "/tmp/g",
        "--request-count",
    ];

    fn search(extra: &[&str]) -> Result<Option<SearchPlan>, ConfigError> {
        let mut full = BASE.to_vec();
        full.push("20");
        full.extend_from_slice(extra);
        let argv: Vec<String> = full.iter().map(|s| s.to_string()).collect();
        ProfileConfig::resolve_search(&args(&full), &argv, &Registry::builtin()).map(|s| match s {
            Some(Search::Adaptive(p)) => Some(*p),
            Some(Search::Sweep { .. }) => panic!("a sweep"),
            None => None,
        })
    }

    fn err(extra: &[&str]) -> String {
        search(extra).map(|_| ()).unwrap_err().to_string()
    }

    const SPACE: [&str; 8] = [
        "--search-space",
        "phases.profiling.concurrency:1,64:int",
        "--search-metric",
        "output_token_throughput",
        "--search-direction",
        "maximize",
        "--search-max-iterations",
        "12",
    ];

    fn with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut v = SPACE.to_vec();
        v.extend_from_slice(extra);
        v
    }

    #[test]
    fn dimensions_follow_aiperf_s_grammar() {
        let d = parse_dimension("phases.profiling.concurrency:1,1000:int").unwrap();
        assert_eq!(
            (d.path.as_str(), d.flag, d.lo, d.hi, d.integer),
            (
                "phases.profiling.concurrency",
                "--concurrency",
                1.0,
                1000.0,
                true
            )
        );
        let d = parse_dimension("phases.profiling.rate:0.5,20").unwrap();
        assert_eq!((d.lo, d.hi, d.integer), (0.5, 20.0, false));
        for (raw, says) in [
            ("concurrency", "expected 'path:lo,hi[:kind]', e.g."),
            ("a:b:c:d,1", "expected 'path:lo,hi[:kind]', got 4 parts."),
            (
                "phases.profiling.concurrency:1,8:float",
                "kind must be 'int' or 'real', got 'float'.",
            ),
            (
                "phases.profiling.concurrency:x,8:int",
                "could not parse bound as float",
            ),
            (
                "phases.profiling.concurrency:8,8:int",
                "hi (8) must be > lo (8).",
            ),
            (
                "phases.profiling.warp:1,8:int",
                "path 'phases.profiling.warp' is not a searchable parameter",
            ),
            (
                "phases.profiling.concurrency:1,8",
                "takes integers; use ':int'",
            ),
            (
                "phases.profiling.concurrency:1.2,1.9:int",
                "no integer between",
            ),
        ] {
            let e = parse_dimension(raw).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--search-space: '{raw}': ")), "{e}");
            assert!(e.contains(says), "{raw}: {e}");
        }
    }

    #[test]
    fn sla_filters_and_tiers_follow_aiperf_s_grammar() {
        let f = parse_sla("time_to_first_token:p95:lt:200").unwrap();
        assert_eq!(
            (f.tag.as_str(), f.stat.as_str(), f.op, f.threshold),
            ("time_to_first_token", "p95", SlaOp::Lt, 200.0)
        );
        assert_eq!(
            parse_sla("request_error_rate:avg:ge:1").unwrap().op,
            SlaOp::Ge
        );
        for (raw, says) in [
            (
                "ttft:p95:lt",
                "expected 4 colon-separated parts 'metric_tag:stat:op:threshold', got 3.",
            ),
            ("ttft:p42:lt:1", "unknown stat 'p42'"),
            (
                "ttft:p95:eq:1",
                "unknown op 'eq'; expected one of lt, le, gt, ge.",
            ),
            ("ttft:p95:lt:fast", "threshold 'fast' is not a float."),
            ("ttft:p95:lt:inf", "threshold must be finite"),
            (":p95:lt:1", "metric_tag must be a non-empty string."),
        ] {
            let e = parse_sla(raw).unwrap_err().to_string();
            assert!(e.starts_with("--search-sla: "), "{e}");
            assert!(e.contains(says), "{raw}: {e}");
        }
        let (label, f) = parse_tier("fast:ttft:p95:lt:200,itl:p99:le:20", 0).unwrap();
        assert_eq!((label.as_str(), f.len()), ("fast", 2));
        let (label, _) = parse_tier("ttft:p95:lt:900", 1).unwrap();
        assert_eq!(label, "tier_2");
        assert!(parse_tier("fast:", 0)
            .unwrap_err()
            .to_string()
            .contains("contains zero filters"));
        assert!(parse_tier("fast:ttft:p95:xx:1", 0)
            .unwrap_err()
            .to_string()
            .contains("error parsing filter 'ttft:p95:xx:1' in tier 'fast'"));
        let one = vec![parse_tier("a:t:avg:lt:1", 0).unwrap()];
        assert!(validate_tiers(&one)
            .unwrap_err()
            .to_string()
            .contains("expected between 2 and 10 tiers, got 1."));
        let dup = vec![one[0].clone(), one[0].clone()];
        assert!(validate_tiers(&dup)
            .unwrap_err()
            .to_string()
            .contains("duplicate label 'a' (tiers 1 and 2)"));
    }

    #[test]
    fn a_generic_search_resolves_with_aiperf_s_defaults() {
        let p = search(&with(&["--search-sla", "time_to_first_token:p95:lt:200"]))
            .unwrap()
            .unwrap();
        let g = p.generic.as_ref().unwrap();
        assert_eq!(
            (
                g.planner,
                g.algorithm,
                g.initial_points,
                g.max_iterations,
                g.seed
            ),
            ("bayesian", "bayesian", 5, 12, None)
        );
        assert_eq!(
            g.objective,
            Objective {
                metric: "output_token_throughput".into(),
                stat: "avg".into(),
                maximize: true
            }
        );
        assert_eq!(g.slas.len(), 1);
        assert!(g.notices.is_empty());
        // A point becomes the run's configuration, in AIPerf's adaptive directory.
        let cfg = p.probe_point(&[7.0], 3, &Registry::builtin()).unwrap();
        assert_eq!(cfg.concurrency, 7);
        assert_eq!(
            cfg.artifact_dir,
            std::path::PathBuf::from("/tmp/g/search_iter_0003/profile_runs/run_0001")
        );
        // Two dimensions.
        let p = search(&with(&[
            "--search-space",
            "datasets.main.prompts.osl.mean:16,64:int",
            "--search-random-seed",
            "9",
        ]))
        .unwrap()
        .unwrap();
        let cfg = p
            .probe_point(&[3.0, 40.0], 0, &Registry::builtin())
            .unwrap();
        assert_eq!(cfg.concurrency, 3);
        assert_eq!(p.generic.as_ref().unwrap().seed, Some(9));
        // Without any search flag, nothing.
        assert!(search(&[]).unwrap().is_none());
    }

    #[test]
    fn optuna_choices_run_the_gaussian_process_with_a_notice() {
        let p = search(&with(&[
            "--search-planner",
            "optuna",
            "--optuna-sampler",
            "botorch",
            "--optuna-acquisition",
            "qlognei",
            "--optuna-terminator",
            "regret",
            "--bo-constraint-mode",
            "eic",
        ]))
        .unwrap()
        .unwrap();
        let g = p.generic.unwrap();
        assert_eq!((g.planner, g.algorithm), ("optuna", "bayesian"));
        assert_eq!(g.notices.len(), 3, "{:?}", g.notices);
        assert!(g.notices[0].contains("Optuna's 'botorch' sampler is not built in"));
        assert!(g.notices[2].starts_with("--optuna-terminator regret: not built in"));
        assert_eq!(g.constraint_mode.as_deref(), Some("eic"));
    }

    #[test]
    fn bad_generic_searches_are_refused_with_aiperf_s_messages() {
        assert_eq!(
            err(&["--search-metric", "x"]),
            "--search-space: --search-* flags ['search_metric'] require --search-space."
        );
        assert_eq!(
            err(&["--search-max-iterations", "5", "--search-stat", "p99"]),
            "--search-max-iterations: --search-* flags ['search_max_iterations', 'search_stat'] require --search-space."
        );
        assert!(
            err(&["--search-sla", "a:avg:lt:1"]).starts_with("--search-sla: applies to a search")
        );
        assert_eq!(
            err(&SPACE[..6]),
            "--search-space: requires --search-max-iterations (companion flag missing)."
        );
        assert!(err(&with(&[
            "--optuna-sampler",
            "tpe",
            "--optuna-acquisition",
            "qnei"
        ]))
        .contains("'qnei' requires --optuna-sampler botorch; got --optuna-sampler 'tpe'."));
        assert!(err(&with(&["--optuna-acquisition", "qnehvi"]))
            .contains("is multi-objective; got 1 objective."));
        assert!(err(&with(&[
            "--search-stat",
            "avg",
            "--search-percentile-pooling",
            "pooled"
        ]))
        .starts_with(
            "--search-percentile-pooling: pooled requires --search-stat to be a percentile"
        ));
        assert_eq!(err(&with(&["--search-initial-points", "12"])), "--search-initial-points: n_initial_points (12) must be < max_iterations (12); otherwise the GP never fits.");
        assert!(err(&with(&["--search-initial-points", "0"]))
            .starts_with("--search-initial-points: must be >= 1"));
        assert!(err(&with(&["--search-planner", "monotonic_sla"]))
            .contains("monotonic_sla planner requires at least one SLA filter"));
        assert!(err(&with(&[
            "--search-planner",
            "smooth_isotonic",
            "--search-sla",
            "a:avg:lt:1",
            "--search-space",
            "phases.profiling.rate:1,5"
        ]))
        .contains("requires exactly one search-space dimension; got 2."));
        assert!(err(&with(&[
            "--search-space",
            "phases.profiling.concurrency:2,4:int"
        ]))
        .contains("must have unique paths; duplicates: ['phases.profiling.concurrency']."));
        assert!(
            err(&with(&["--convergence-metric", "request_latency"])).starts_with(
                "--convergence-metric: --search-* (Bayesian Optimization) is mutually exclusive"
            )
        );
        assert!(err(&with(&["--isl", "10,20"])).starts_with("--isl: a list is a sweep"));
        assert!(err(&with(&["--num-profile-runs", "2"]))
            .starts_with("--num-profile-runs: repeated trials per search point"));
        assert!(
            err(&[&SPACE[..6], &["--search-max-iterations", "201"][..]].concat())
                .starts_with("--search-max-iterations: must be between 2 and 200, got 201")
        );
        assert_eq!(
            err(&with(&["--search-sla-tier", "a:t:avg:lt:1", "--search-sla-tier", "b:t:avg:lt:2"])),
            "--search-sla-tier: multi-tier SLO search is not supported yet; search one tier with --search-sla"
        );
        // A space whose corner is not a valid run is refused before anything runs.
        assert!(err(&with(&[
            "--search-space",
            "phases.profiling.requests:0,10:int"
        ]))
        .starts_with("--request-count"));
    }

    #[test]
    fn recipes_take_search_style_and_refuse_defining_flags() {
        let r = [
            "--search-recipe",
            "max-concurrency-under-sla",
            "--ttft-sla-ms",
            "200",
        ];
        let plan = |extra: &[&str]| {
            let mut v = r.to_vec();
            v.extend_from_slice(extra);
            search(&v)
        };
        // Without --search-style: the recipe's own bracket.
        assert!(plan(&[]).unwrap().unwrap().generic.is_none());
        let g = plan(&[
            "--search-style",
            "monotonic",
            "--search-sla",
            "request_latency:p99:lt:900",
        ])
        .unwrap()
        .unwrap()
        .generic
        .unwrap();
        assert_eq!(
            (g.planner, g.algorithm, g.max_iterations, g.recipe),
            (
                "monotonic_sla",
                "monotonic_sla",
                20,
                Some("max-concurrency-under-sla")
            )
        );
        // The recipe's filters first, then --search-sla's.
        let d: Vec<String> = g.slas.iter().map(SlaBound::describe).collect();
        assert_eq!(
            d,
            [
                "time_to_first_token:p95:lt:200",
                "request_latency:p99:lt:900"
            ]
        );
        assert_eq!(
            (g.dims[0].lo, g.dims[0].hi, g.dims[0].log),
            (1.0, 1000.0, false)
        );
        let g = plan(&["--search-style", "bo", "--search-random-seed", "4"])
            .unwrap()
            .unwrap()
            .generic
            .unwrap();
        assert_eq!(
            (
                g.algorithm,
                g.max_iterations,
                g.initial_points,
                g.seed,
                g.dims[0].log
            ),
            ("bayesian", 30, 5, Some(4), true)
        );
        assert_eq!(
            plan(&["--search-style", "smooth_isotonic"])
                .unwrap()
                .unwrap()
                .generic
                .unwrap()
                .max_iterations,
            30
        );
        let e = plan(&["--search-metric", "x"])
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--search-recipe: 'max-concurrency-under-sla' is mutually exclusive with recipe-defining --search-* flags ['search_metric']."), "{e}");
        // --search-sla alone: AIPerf's default planner, so the filters compose.
        let g = plan(&["--search-sla", "a:avg:lt:1"])
            .unwrap()
            .unwrap()
            .generic
            .unwrap();
        assert_eq!((g.planner, g.slas.len()), ("smooth_isotonic", 2));
        let e = search(&[
            "--search-recipe",
            "max-throughput-ttft-sla",
            "--ttft-sla-ms",
            "100",
            "--search-sla",
            "a:avg:lt:1",
        ])
        .map(|_| ())
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("--search-sla: with --search-recipe"), "{e}");
        let e = search(&[
            "--search-recipe",
            "concurrency-ramp",
            "--search-random-seed",
            "1",
        ])
        .map(|_| ())
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(
                "expanded to a grid sweep, but tunable --search-* flags ['--search-random-seed']"
            ),
            "{e}"
        );
    }

    #[test]
    fn search_style_grid_is_a_log_spaced_sweep_with_the_breach_knee() {
        let mut full = BASE.to_vec();
        full.extend_from_slice(&[
            "20",
            "--search-recipe",
            "max-concurrency-under-sla",
            "--ttft-sla-ms",
            "200",
            "--search-style",
            "grid",
            "--search-sla",
            "request_latency:p99:le:900",
            "--concurrency-max",
            "128",
        ]);
        let argv: Vec<String> = full.iter().map(|s| s.to_string()).collect();
        let Some(Search::Sweep { args, post }) =
            ProfileConfig::resolve_search(&args(&full), &argv, &Registry::builtin()).unwrap()
        else {
            panic!("not a sweep")
        };
        // AIPerf's 8 log-spaced steps over [1, 128]: 128^(i/7) rounded half to even.
        assert_eq!(
            args.concurrency.clone().unwrap().values(),
            [1, 2, 4, 8, 16, 32, 64, 128]
        );
        let super::super::PostProcess::SlaBreach(filters) = post else {
            panic!("not the breach knee")
        };
        let d: Vec<String> = filters.iter().map(SlaBound::describe).collect();
        assert_eq!(
            d,
            [
                "time_to_first_token:p95:lt:200",
                "request_latency:p99:le:900"
            ]
        );
        // What remains is a plain sweep.
        let set = ProfileConfig::resolve_set(*args, &[], &Registry::builtin()).unwrap();
        assert_eq!(set.variations.len(), 8);
    }
}
