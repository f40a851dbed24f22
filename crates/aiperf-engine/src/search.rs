//! `--search-recipe max-concurrency-under-sla`: the highest concurrency whose run meets every SLA
//! filter, found with few runs. The signal is the worst filter's `value / bound` (below 1 means
//! met), which grows with concurrency: the search doubles from `--concurrency-min` until a run
//! breaks the SLA (or `--concurrency-max` passes), then narrows the bracket by interpolating where
//! the signal crosses 1, kept at least a quarter inside the bracket so it always shrinks, until
//! the last passing and first failing concurrencies are neighbours.
//!
//! The generic search (`--search-space`, or the recipe with `--search-style`) runs AIPerf's
//! planners instead: `generic.rs` is its loop and `search_history.json`; `bayes.rs` (Gaussian
//! process, `gp.rs`), `monotonic.rs` and `smooth.rs` (PAVA + PCHIP, `isotonic.rs`) are the
//! planners behind `planner.rs`'s ask/tell trait.

mod bayes;
mod breach;
mod generic;
mod gp;
mod isotonic;
mod monotonic;
mod planner;
mod smooth;

pub(crate) use breach::sla_breach;
use generic::GenericOutcome;
pub(crate) use generic::Sla;

use std::fmt::Write as _;
use std::path::PathBuf;

use aiperf_config::resolve::{SearchPlan, SlaFilter};
use aiperf_export::json::metrics_map;
use serde::Serialize;

use crate::{Engine, Interrupted, Observer};

/// What one probe measured.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub iteration: u32,
    pub concurrency: usize,
    pub feasible: bool,
    /// Worst `value / bound` over the filters (infinite when a run failed or lacked a metric).
    #[serde(serialize_with = "finite_or_null")]
    pub sla_ratio: f64,
    /// `{tag}_{stat}` of every filter, as measured.
    pub values: std::collections::BTreeMap<String, f64>,
    /// tokens/sec (tokens-producing endpoints), the throughput recipes' objective.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_token_throughput: Option<f64>,
    /// requests/sec meeting every `--goodput` SLO (max-goodput-under-slo).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goodput: Option<f64>,
    pub artifact_dir: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn finite_or_null<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else {
        s.serialize_none()
    }
}

/// The search's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// Highest concurrency that met the SLA (`None` when even the minimum broke it).
    pub concurrency: Option<usize>,
    /// Lowest concurrency that broke it (`None` when the maximum still met it).
    pub breaks_at: Option<usize>,
    /// The answer is exact: `breaks_at == concurrency + 1`, or a bound was reached.
    pub exact: bool,
}

/// Everything the search did.
#[derive(Debug, Clone, Serialize)]
pub struct SearchOutcome {
    pub recipe: &'static str,
    pub slas: Vec<SlaJson>,
    pub concurrency_min: usize,
    pub concurrency_max: usize,
    pub answer: Answer,
    pub iterations: Vec<Probe>,
    pub interrupted: bool,
    #[serde(skip)]
    pub exit_code: i32,
    /// The generic search's iterations and history (`None` for the recipe's bracket search).
    #[serde(skip)]
    pub generic: Option<GenericOutcome>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SlaJson {
    pub metric: &'static str,
    pub stat: &'static str,
    /// The bound: met below it...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub less_than: Option<f64>,
    /// ...or at or above it (a fraction to attain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
}

/// The bracket and the next concurrency to try (pure; tested against simulated servers).
#[derive(Debug, Clone)]
pub struct Bracket {
    min: usize,
    max: usize,
    /// Highest passing concurrency and its ratio.
    ok: Option<(usize, f64)>,
    /// Lowest failing concurrency and its ratio.
    bad: Option<(usize, f64)>,
}

impl Bracket {
    pub fn new(min: usize, max: usize) -> Self {
        Self {
            min,
            max,
            ok: None,
            bad: None,
        }
    }

    /// Records a probe. A passing probe above a failing one (noise) moves the failing end up.
    pub fn record(&mut self, c: usize, ratio: f64, feasible: bool) {
        if feasible {
            if self.ok.is_none_or(|(o, _)| c > o) {
                self.ok = Some((c, ratio));
            }
            if self.bad.is_some_and(|(b, _)| b <= c) {
                self.bad = None;
            }
        } else {
            if self.bad.is_none_or(|(b, _)| c < b) {
                self.bad = Some((c, ratio));
            }
            if self.ok.is_some_and(|(o, _)| o >= c) {
                self.ok = None;
            }
        }
    }

    /// The next concurrency to run, or `None` when the answer is known.
    pub fn next(&self) -> Option<usize> {
        match (self.ok, self.bad) {
            (None, None) => Some(self.min),
            (None, Some((b, _))) => (b > self.min).then_some(self.min),
            (Some((o, _)), None) => (o < self.max).then(|| (o * 2).clamp(o + 1, self.max)),
            (Some((o, ro)), Some((b, rb))) => {
                if b <= o + 1 {
                    return None;
                }
                let width = b - o;
                let guess = if rb.is_finite() && rb > ro {
                    o as f64 + (1.0 - ro) * width as f64 / (rb - ro)
                } else {
                    (o + b) as f64 / 2.0
                };
                let margin = if width >= 4 { width / 4 } else { 1 };
                Some((guess.floor() as usize).clamp(o + margin, b - margin))
            }
        }
    }

    pub fn answer(&self) -> Answer {
        let concurrency = self.ok.map(|(o, _)| o);
        let breaks_at = self.bad.map(|(b, _)| b);
        let exact = match (concurrency, breaks_at) {
            (Some(o), Some(b)) => b == o + 1,
            (Some(o), None) => o == self.max,
            (None, Some(b)) => b == self.min,
            (None, None) => false,
        };
        Answer {
            concurrency,
            breaks_at,
            exact,
        }
    }
}

/// `{tag}_{stat}` values and the worst `value / bound`.
/// `{tag}_{stat}` values, the worst `value / bound` (inverted for at-least bounds) and whether
/// every bound is met.
fn judge(
    filters: &[SlaFilter],
    metrics: &aiperf_export::json::MetricsMap,
) -> (f64, Vec<(String, f64)>, bool) {
    let mut worst: f64 = 0.0;
    let mut met = true;
    let mut values = Vec::new();
    for f in filters {
        let v = metrics
            .get(f.tag)
            .and_then(|m| m.fields().into_iter().find(|(s, _)| *s == f.stat))
            .map(|(_, v)| v)
            // No failed request means no error rate: 0 % meets any bound.
            .or((f.tag == "request_error_rate").then_some(0.0));
        match v {
            Some(v) => {
                values.push((format!("{}_{}", f.tag, f.stat), v));
                worst = worst.max(f.ratio(v));
                met &= f.met(v);
            }
            None => {
                worst = f64::INFINITY;
                met = false;
            }
        }
    }
    (worst, values, met)
}

impl Engine {
    /// Runs the search, printing each probe's console and a closing summary through `print`,
    /// and writes `search_history.json` into the plan's base directory.
    pub async fn run_search(
        &self,
        plan: &SearchPlan,
        observer: &dyn Observer,
        print: &mut dyn FnMut(&str),
    ) -> anyhow::Result<SearchOutcome> {
        if let Some(spec) = generic::Spec::of(plan) {
            return self.run_generic(plan, &spec, observer, print).await;
        }
        let mut bracket = Bracket::new(plan.min, plan.max);
        let mut probes: Vec<Probe> = Vec::new();
        let mut interrupted = false;
        let slas: Vec<String> = plan.filters.iter().map(SlaFilter::describe).collect();
        print(&format!(
            "Searching {} in [{}, {}] for: {}",
            plan.recipe,
            plan.min,
            plan.max,
            slas.join(", ")
        ));
        while let Some(c) = bracket.next() {
            if probes.len() as u32 >= plan.max_iterations {
                tracing::warn!("--search-max-iterations ({}) reached", plan.max_iterations);
                break;
            }
            if self.stop.stopped() {
                interrupted = true;
                break;
            }
            let cfg = plan.probe(c, self.registry())?;
            print(&format!("[search {}] concurrency {c}", probes.len() + 1));
            let (mut throughput, mut goodput) = (None, None);
            let (feasible, ratio, values, error) = match self.run(&cfg, observer).await {
                Ok(o) => {
                    print(&o.console);
                    if o.exit_code == 130 {
                        interrupted = true;
                    }
                    throughput = o.summary.value("output_token_throughput");
                    goodput = o.summary.value("goodput");
                    let (ratio, values, met) = judge(&plan.filters, &metrics_map(&o.summary));
                    let error = (o.exit_code != 0).then(|| format!("run exited {}", o.exit_code));
                    (o.exit_code == 0 && met, ratio, values, error)
                }
                Err(e) if e.is::<Interrupted>() => {
                    interrupted = true;
                    break;
                }
                Err(e) => (
                    false,
                    f64::INFINITY,
                    Vec::new(),
                    Some(aiperf_core::one_line(e.as_ref())),
                ),
            };
            bracket.record(c, ratio, feasible);
            print(&format!(
                "[search {}] concurrency {c}: {} (worst value / bound {:.3})",
                probes.len() + 1,
                if feasible {
                    "meets the SLA"
                } else {
                    "breaks the SLA"
                },
                ratio
            ));
            probes.push(Probe {
                iteration: probes.len() as u32 + 1,
                concurrency: c,
                feasible,
                sla_ratio: ratio,
                values: values.into_iter().collect(),
                output_token_throughput: throughput,
                goodput,
                artifact_dir: cfg.artifact_dir,
                error,
            });
            if interrupted {
                break;
            }
        }
        let answer = bracket.answer();
        let outcome = SearchOutcome {
            recipe: plan.recipe,
            slas: plan
                .filters
                .iter()
                .map(|f| SlaJson {
                    metric: f.tag,
                    stat: f.stat,
                    less_than: (!f.at_least).then_some(f.threshold),
                    at_least: f.at_least.then_some(f.threshold),
                })
                .collect(),
            concurrency_min: plan.min,
            concurrency_max: plan.max,
            exit_code: if interrupted {
                130
            } else if answer.concurrency.is_some() {
                0
            } else {
                1
            },
            answer,
            iterations: probes,
            interrupted,
            generic: None,
        };
        let path = plan.base_dir.join("search_history.json");
        std::fs::create_dir_all(&plan.base_dir)?;
        let mut text = serde_json::to_string_pretty(&outcome)?;
        text.push('\n');
        aiperf_export::write_atomic(&path, &text)?;
        print(&summary(&outcome, &slas));
        print(&format!("Search history: {}", path.display()));
        Ok(outcome)
    }
}

fn summary(o: &SearchOutcome, slas: &[String]) -> String {
    let mut out = format!("\n{}\n", "=".repeat(80));
    let a = &o.answer;
    let _ = match (a.concurrency, a.breaks_at) {
        (Some(c), Some(b)) => writeln!(
            out,
            "Max concurrency under SLA: {c} ({} breaks it){}",
            b,
            if a.exact {
                ""
            } else {
                "; not exact: the search stopped early"
            }
        ),
        (Some(c), None) => writeln!(
            out,
            "Max concurrency under SLA: {c} (the SLA still holds at --concurrency-max)"
        ),
        (None, _) => {
            let why = o
                .iterations
                .first()
                .and_then(|p| p.error.as_deref())
                .map(|e| format!(" (its run failed: {e})"))
                .unwrap_or_default();
            writeln!(
                out,
                "No concurrency meets the SLA: even --concurrency-min {} breaks it{why}",
                o.concurrency_min
            )
        }
    };
    let at_answer = o
        .iterations
        .iter()
        .find(|p| Some(p.concurrency) == a.concurrency);
    if let Some(t) = at_answer.and_then(|p| p.output_token_throughput) {
        let _ = writeln!(out, "Output token throughput there: {t:.2} tokens/sec");
    }
    if let Some(g) = at_answer.and_then(|p| p.goodput) {
        let _ = writeln!(out, "Goodput there: {g:.2} requests/sec");
    }
    let _ = writeln!(out, "SLA: {}", slas.join(", "));
    let _ = writeln!(out, "Runs: {}", o.iterations.len());
    for p in &o.iterations {
        let vals: Vec<String> = p
            .values
            .iter()
            .map(|(k, v)| format!("{k} {v:.2}"))
            .collect();
        let _ = writeln!(
            out,
            "  {:>3}. concurrency {:>5}  {}  {}",
            p.iteration,
            p.concurrency,
            if p.feasible { "ok  " } else { "FAIL" },
            vals.join(", ")
        );
    }
    out.push_str(&"=".repeat(80));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the search against a simulated server whose ratio is `law(c)`; returns the answer
    /// and the number of runs.
    fn simulate(min: usize, max: usize, law: impl Fn(usize) -> f64) -> (Answer, usize) {
        let mut b = Bracket::new(min, max);
        let mut runs = 0;
        while let Some(c) = b.next() {
            runs += 1;
            assert!(runs <= 40, "the search does not end");
            let r = law(c);
            b.record(c, r, r < 1.0);
        }
        (b.answer(), runs)
    }

    #[test]
    fn a_linear_law_is_found_exactly_in_few_runs() {
        // TTFT = 10 c ms against a 125 ms bound: 12 passes, 13 breaks.
        let (a, runs) = simulate(1, 1000, |c| 10.0 * c as f64 / 125.0);
        assert_eq!(
            a,
            Answer {
                concurrency: Some(12),
                breaks_at: Some(13),
                exact: true
            }
        );
        assert!(runs <= 8, "{runs} runs");
    }

    #[test]
    fn a_queueing_knee_is_found_too() {
        // Flat until capacity 40, then the queue adds latency quickly.
        let law = |c: usize| {
            if c <= 40 {
                0.5
            } else {
                0.5 + (c - 40) as f64 * 0.3
            }
        };
        let (a, runs) = simulate(1, 1000, law);
        assert_eq!((a.concurrency, a.breaks_at), (Some(41), Some(42)));
        assert!(runs <= 14, "{runs} runs");
    }

    #[test]
    fn bounds_and_failures_end_the_search() {
        let (a, runs) = simulate(1, 100, |_| 0.1);
        assert_eq!(
            (a.concurrency, a.breaks_at, a.exact),
            (Some(100), None, true)
        );
        assert!(runs <= 8);
        let (a, runs) = simulate(4, 100, |_| 2.0);
        assert_eq!(
            (a.concurrency, a.breaks_at, a.exact, runs),
            (None, Some(4), true, 1)
        );
        // Failed runs (infinite ratio) fall back to bisection.
        let (a, _) = simulate(1, 64, |c| if c > 20 { f64::INFINITY } else { 0.5 });
        assert_eq!((a.concurrency, a.breaks_at), (Some(20), Some(21)));
    }

    #[test]
    fn noise_above_a_failure_moves_the_bracket_up() {
        let mut b = Bracket::new(1, 100);
        b.record(8, 1.2, false);
        b.record(10, 0.9, true);
        assert_eq!(b.answer().concurrency, Some(10));
        assert_eq!(b.answer().breaks_at, None);
    }
}
