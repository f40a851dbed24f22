//! Folds per-request values into run results, then derives the run-level metrics.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io;

use crate::record::{RecordMetrics, RecordValue};
use crate::registry::{Applicability, Flags, Group, MetricKind, MetricSpec, REGISTRY};
use crate::select::{first_reaching, Items};
use crate::spill::{Column, ColumnItems, Spill, LOAD_VALUES};
use crate::stats::{Stats, PERCENTILES};
use crate::steady::{steady_state, SteadyState};
use crate::timeline::{curve_stats, Interval, WeightedStats, CURVES};
use crate::units::Unit;

/// Service-level objectives for goodput (`--goodput "tag:value ..."`, values in display units).
#[derive(Debug, Clone, PartialEq)]
pub struct Goodput {
    /// (registry index, threshold in base units, larger is better)
    slos: Vec<(usize, f64, bool)>,
    /// The text parsed, normalised (`tag:value` items, one space apart): parsing it again gives
    /// the same thresholds bit for bit (a merge of shards does).
    text: String,
}

impl Goodput {
    /// Parses `--goodput`; unknown or non-per-request tags fail with the valid tags listed.
    pub fn parse(text: &str) -> Result<Goodput, String> {
        let valid: Vec<&str> = REGISTRY
            .iter()
            .filter(|m| {
                matches!(m.kind, MetricKind::Record(_))
                    && m.exported()
                    && m.tag != "inter_chunk_latency"
            })
            .map(|m| m.tag)
            .collect();
        let mut slos = Vec::new();
        for item in text.split_whitespace() {
            let Some((tag, value)) = item.split_once(':') else {
                return Err(format!("'{item}': expected tag:value"));
            };
            let value: f64 = value
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| format!("'{item}': '{value}' is not a number"))?;
            let Some(i) = REGISTRY
                .iter()
                .position(|m| m.tag == tag && valid.contains(&m.tag))
            else {
                return Err(format!(
                    "Unknown metric tag(s) in --goodput: {tag}. Valid tags: {}",
                    valid.join(", ")
                ));
            };
            let spec = &REGISTRY[i];
            let base = value / spec.unit.factor_to(spec.display_unit);
            slos.push((i, base, spec.larger_is_better()));
        }
        if slos.is_empty() {
            return Err("no SLOs given; expected \"tag:value tag:value\"".into());
        }
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        Ok(Goodput { slos, text })
    }

    /// The SLOs as `--goodput` text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether a successful request meets every SLO (equality passes; a missing value fails).
    pub fn is_good(&self, m: &RecordMetrics) -> bool {
        self.slos.iter().all(|&(i, threshold, larger_is_better)| {
            let MetricKind::Record(get) = REGISTRY[i].kind else {
                return false;
            };
            match get(m) {
                Some(RecordValue::Scalar(v)) => {
                    if larger_is_better {
                        v >= threshold
                    } else {
                        v <= threshold
                    }
                }
                _ => false,
            }
        })
    }
}

/// Collects every value of a run (exact statistics need them all). With a spill file
/// ([`Accumulator::with_spill`]) the values live on disk past a small in-memory tail, so memory
/// stays flat however long the run.
#[derive(Debug)]
pub struct Accumulator {
    run: Applicability,
    /// Registry indices of the per-request and counter metrics that apply to this run (resolved
    /// once, not per record).
    per_record: Vec<usize>,
    goodput: Option<Goodput>,
    /// Base-unit values per registry index (record and error-record metrics).
    values: Vec<Column>,
    spill: Option<Spill>,
    /// Cleared by a failed write: the chunks written stay readable, new values stay in memory.
    spill_writes: bool,
    /// Spilled columns up to this many values are summarised in memory ([`LOAD_VALUES`]).
    load_values: u64,
    /// The first spill write that failed.
    spill_error: Option<String>,
    /// Counts per registry index (counter metrics).
    counts: Vec<u64>,
    request_count: u64,
    error_count: u64,
    good_count: u64,
    min_request_wall_ns: Option<u64>,
    max_response_wall_ns: Option<u64>,
    /// Successful streamed requests' bounds ([`Interval::values`], for the time-weighted curves).
    intervals: Column,
    /// Fixed window length for rates (timeslices), instead of the benchmark duration.
    window_ns: Option<u64>,
    slices: Option<Slices>,
    /// The run's mean network RTT (ns), when calibrated: `network_adjusted_*` are summarised
    /// from the per-request values ([`crate::network`]).
    network_rtt_ns: Option<f64>,
    /// A fixed-schedule replay: report how late requests went out ([`crate::replay`]).
    replay_fidelity: bool,
}

#[derive(Debug)]
struct Slices {
    origin_wall_ns: u64,
    width_ns: u64,
    accumulators: Vec<Accumulator>,
}

/// Run-level inputs visible to derived metrics, and results derived so far.
#[derive(Debug, Default)]
pub struct Derived {
    pub request_count: u64,
    pub error_count: u64,
    pub good_count: u64,
    pub min_request_wall_ns: Option<u64>,
    pub max_response_wall_ns: Option<u64>,
    window_ns: Option<u64>,
    sums: HashMap<&'static str, f64>,
    results: HashMap<&'static str, f64>,
}

impl Derived {
    /// A run-level result computed earlier (base units).
    pub fn get(&self, tag: &str) -> Option<f64> {
        self.results.get(tag).copied()
    }

    /// Sum of a per-request metric over the run, if it had any values.
    pub fn sum(&self, tag: &str) -> Option<f64> {
        self.sums.get(tag).copied()
    }

    /// `amount` per second of the benchmark duration (or of the timeslice window).
    pub fn per_second(&self, amount: f64) -> Option<f64> {
        let d = match self.window_ns {
            Some(w) => w as f64,
            None => self.get("benchmark_duration")?,
        };
        (d > 0.0).then(|| amount / (d / 1e9))
    }
}

/// A metric's final value, in display units.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    Distribution(Stats),
    /// Time-weighted summary (no count or sum).
    Weighted(WeightedStats),
    Scalar(f64),
}

/// One exported metric.
#[derive(Debug, Clone)]
pub struct MetricResult {
    pub spec: &'static MetricSpec,
    /// The spec's tag, or `adj_<tag>` for an error-adjusted companion.
    pub tag: Cow<'static, str>,
    pub header: Cow<'static, str>,
    pub value: MetricValue,
}

impl MetricResult {
    fn new(spec: &'static MetricSpec, value: MetricValue) -> Self {
        Self {
            spec,
            tag: Cow::Borrowed(spec.tag),
            header: Cow::Borrowed(spec.header),
            value,
        }
    }

    /// The unit of the exported value (the metric's display unit).
    pub fn display_unit(&self) -> Unit {
        self.spec.display_unit
    }

    pub fn group(&self) -> Group {
        self.spec.group
    }
}

/// Everything a run measured, ready to export.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// In registry order (error-adjusted companions right after their metric).
    pub results: Vec<MetricResult>,
    /// Per-window summaries when timeslices were requested: (start epoch ns, end epoch ns, summary).
    pub timeslices: Vec<(u64, u64, Summary)>,
    /// Problems worth a warning panel (usage discrepancies, OSL mismatches).
    pub warnings: Vec<String>,
    /// The plateau at full concurrency (streamed runs).
    pub steady_state: Option<SteadyState>,
}

impl Summary {
    pub fn get(&self, tag: &str) -> Option<&MetricResult> {
        self.results.iter().find(|r| r.tag == tag)
    }

    /// A scalar result, or the average of a distribution, in display units.
    pub fn value(&self, tag: &str) -> Option<f64> {
        self.get(tag).map(|r| match &r.value {
            MetricValue::Scalar(v) => *v,
            MetricValue::Distribution(s) => s.avg,
            MetricValue::Weighted(w) => w.avg,
        })
    }
}

impl Accumulator {
    pub fn new(run: Applicability) -> Self {
        let per_record = REGISTRY
            .iter()
            .enumerate()
            .filter(|(_, m)| {
                m.applies(&run)
                    && matches!(
                        m.kind,
                        MetricKind::Record(_) | MetricKind::ErrorRecord(_) | MetricKind::Counter(_)
                    )
            })
            .map(|(i, _)| i)
            .collect();
        Self {
            run,
            per_record,
            goodput: None,
            values: vec![Column::default(); REGISTRY.len()],
            spill: None,
            spill_writes: true,
            load_values: LOAD_VALUES,
            spill_error: None,
            counts: vec![0; REGISTRY.len()],
            request_count: 0,
            error_count: 0,
            good_count: 0,
            min_request_wall_ns: None,
            max_response_wall_ns: None,
            intervals: Column::default(),
            window_ns: None,
            slices: None,
            network_rtt_ns: None,
            replay_fidelity: false,
        }
    }

    /// Reports the replay fidelity metrics (`replay_sched_*`): a fixed-schedule run. Run-level
    /// only, so timeslice windows do not inherit it.
    pub fn with_replay_fidelity(mut self) -> Self {
        self.replay_fidelity = true;
        self
    }

    /// The run's mean network RTT (AIPerf's `set_network_rtt_ns`): with one above 0, the
    /// summary (and each timeslice) adds `network_rtt` and the `network_adjusted_*` metrics,
    /// each request clamped at 0 exactly.
    pub fn set_network_rtt_ns(&mut self, rtt_ns: Option<f64>) {
        self.network_rtt_ns = rtt_ns.filter(|r| *r > 0.0 && r.is_finite());
        if let Some(s) = &mut self.slices {
            for a in &mut s.accumulators {
                a.set_network_rtt_ns(rtt_ns);
            }
        }
    }

    /// Moves full value chunks to `spill` (shared with timeslice windows).
    pub fn with_spill(mut self, spill: Spill) -> Self {
        self.spill = Some(spill);
        self
    }

    /// Summarises spilled columns longer than `values` by passes instead of in memory
    /// (benchmarks and tests use 0 to take the bounded-memory path at any size).
    pub fn with_load_limit(mut self, values: u64) -> Self {
        self.load_values = values;
        self
    }

    /// Counts good requests against these SLOs.
    pub fn with_goodput(mut self, goodput: Goodput) -> Self {
        self.goodput = Some(goodput);
        self
    }

    /// Also summarises windows of `width_ns` starting at `origin_wall_ns` (by request start).
    pub fn with_timeslices(mut self, origin_wall_ns: u64, width_ns: u64) -> Self {
        self.slices = Some(Slices {
            origin_wall_ns,
            width_ns: width_ns.max(1),
            accumulators: Vec::new(),
        });
        self
    }

    fn slice(&mut self, start_wall_ns: u64) -> Option<&mut Accumulator> {
        let s = self.slices.as_mut()?;
        let i = (start_wall_ns.saturating_sub(s.origin_wall_ns) / s.width_ns) as usize;
        while s.accumulators.len() <= i {
            // Windows before the new one get few late values: move their tails out.
            for old in &mut s.accumulators {
                old.flush();
            }
            let mut a = Accumulator::new(self.run);
            a.goodput = self.goodput.clone();
            a.window_ns = Some(s.width_ns);
            a.spill = self.spill.clone();
            a.load_values = self.load_values;
            a.network_rtt_ns = self.network_rtt_ns;
            s.accumulators.push(a);
        }
        Some(&mut s.accumulators[i])
    }

    /// Adds a successful request that started at `start_wall_ns` (epoch ns).
    pub fn add_success(&mut self, m: &RecordMetrics, start_wall_ns: u64) {
        if let Some(s) = self.slice(start_wall_ns) {
            s.add_success(m, start_wall_ns);
        }
        self.request_count += 1;
        self.min_request_wall_ns = Some(
            self.min_request_wall_ns
                .map_or(start_wall_ns, |v| v.min(start_wall_ns)),
        );
        if let Some(lat) = m.request_latency {
            let end = start_wall_ns + lat as u64;
            self.max_response_wall_ns = Some(self.max_response_wall_ns.map_or(end, |v| v.max(end)));
        }
        if self.goodput.as_ref().is_some_and(|g| g.is_good(m)) {
            self.good_count += 1;
        }
        if self.run.streaming {
            if let Some((start, Some(first), end)) = m.timeline {
                let iv = Interval {
                    start,
                    first_token: first,
                    end,
                    isl: m.input_sequence_length.unwrap_or(0.0),
                    osl: m.output_sequence_length.unwrap_or(0.0),
                };
                let spill = self.spill.as_ref().filter(|_| self.spill_writes);
                if let Err(e) = self.intervals.extend(&iv.values(), spill) {
                    spill_failed(&mut self.spill_writes, &mut self.spill_error, e);
                }
            }
        }
        self.push(m, false);
    }

    /// Adds a failed request that started at `start_wall_ns`.
    pub fn add_error(&mut self, m: &RecordMetrics, start_wall_ns: u64) {
        if let Some(s) = self.slice(start_wall_ns) {
            s.add_error(m, start_wall_ns);
        }
        self.error_count += 1;
        self.push(m, true);
    }

    fn push(&mut self, m: &RecordMetrics, error: bool) {
        for &i in &self.per_record {
            let spec = &REGISTRY[i];
            let get = match (spec.kind, error) {
                (MetricKind::Record(get), false) | (MetricKind::ErrorRecord(get), true) => get,
                (MetricKind::Counter(pred), false) => {
                    if pred(m) {
                        self.counts[i] += 1;
                    }
                    continue;
                }
                _ => continue,
            };
            let spill = self.spill.as_ref().filter(|_| self.spill_writes);
            let written = match get(m) {
                Some(RecordValue::Scalar(v)) => self.values[i].push(v, spill),
                Some(RecordValue::List(list)) => self.values[i].extend(&list, spill),
                None => Ok(()),
            };
            if let Err(e) = written {
                spill_failed(&mut self.spill_writes, &mut self.spill_error, e);
            }
        }
    }

    /// Moves every in-memory tail to the spill file.
    fn flush(&mut self) {
        if !self.spill_writes {
            return;
        }
        let spill = self.spill.as_ref();
        let flushed = self
            .values
            .iter_mut()
            .chain(std::iter::once(&mut self.intervals))
            .try_for_each(|c| c.flush(spill));
        if let Err(e) = flushed {
            spill_failed(&mut self.spill_writes, &mut self.spill_error, e);
        }
    }

    /// Statistics of a record metric's values, from memory or read back from the spill file.
    fn column_stats(&self, i: usize, problems: &mut Vec<String>) -> Option<Stats> {
        let column = &self.values[i];
        if column.is_resident() {
            return Stats::compute(column.in_memory());
        }
        if column.len() <= self.load_values {
            return match column.load(self.spill.as_ref()) {
                Ok(all) => Stats::compute(&all),
                Err(e) => {
                    problems.push(format!("cannot read back {} values: {e}", REGISTRY[i].tag));
                    None
                }
            };
        }
        let items = ColumnItems {
            column,
            spill: self.spill.as_ref(),
        };
        Stats::compute_streaming(&items).unwrap_or_else(|e| {
            problems.push(format!("cannot read back {} values: {e}", REGISTRY[i].tag));
            None
        })
    }

    /// The error-adjusted companion of column `i` whose plain statistics are `stats`.
    fn column_error_adjusted(&self, i: usize, stats: &Stats, problems: &mut Vec<String>) -> Stats {
        let column = &self.values[i];
        let order = |ranks: &[u64]| -> Vec<f64> {
            let sorted = |values: &[f64]| -> Vec<f64> {
                let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
                v.sort_unstable_by(f64::total_cmp);
                ranks.iter().map(|&k| v[k as usize]).collect()
            };
            if column.is_resident() {
                return sorted(column.in_memory());
            }
            if column.len() <= self.load_values {
                if let Ok(all) = column.load(self.spill.as_ref()) {
                    return sorted(&all);
                }
            }
            let items = ColumnItems {
                column,
                spill: self.spill.as_ref(),
            };
            let thresholds: Vec<f64> = ranks.iter().map(|&k| (k + 1) as f64).collect();
            match first_reaching(&crate::stats::Finite(&items), &thresholds) {
                Ok(Some(v)) => v,
                Ok(None) => vec![f64::NAN; ranks.len()],
                Err(e) => {
                    problems.push(format!("cannot read back {} values: {e}", REGISTRY[i].tag));
                    vec![f64::NAN; ranks.len()]
                }
            }
        };
        error_adjusted(stats, self.error_count, order)
    }

    /// `network_rtt` and the `network_adjusted_*` results, from the source columns clamped
    /// per request.
    fn network_adjusted(
        &self,
        rtt: f64,
        results: &mut Vec<MetricResult>,
        problems: &mut Vec<String>,
    ) {
        for (tag, source) in crate::network::SOURCES {
            let Some(i) = REGISTRY.iter().position(|m| m.tag == source) else {
                continue;
            };
            if !REGISTRY[i].applies(&self.run) {
                continue;
            }
            if let Some(stats) = self.shifted_column_stats(i, rtt, problems) {
                crate::network::insert_ordered(
                    results,
                    crate::network::adjusted_result(tag, &stats),
                );
            }
        }
        if let Some(r) = crate::network::rtt_result(rtt) {
            crate::network::insert_ordered(results, r);
        }
    }

    /// The `replay_sched_*` results of a fixed-schedule run, from the send offsets anchored at
    /// the smallest; the warning when degraded.
    fn replay_fidelity(
        &self,
        results: &mut Vec<MetricResult>,
        problems: &mut Vec<String>,
    ) -> Option<String> {
        if !self.replay_fidelity {
            return None;
        }
        let i = REGISTRY
            .iter()
            .position(|m| m.tag == "replay_send_schedule_offset")?;
        let min = self.column_stats(i, problems)?.min;
        // Anchoring is a shift by -min: every value >= min, so nothing is clamped.
        let anchored = self.shifted_column_stats(i, min, problems)?;
        let (replay, warning) = crate::replay::results(&anchored);
        for r in replay {
            crate::network::insert_ordered(results, r);
        }
        warning
    }

    /// Statistics of column `i` with every value `v` replaced by `max(v - rtt, 0)`.
    fn shifted_column_stats(
        &self,
        i: usize,
        rtt: f64,
        problems: &mut Vec<String>,
    ) -> Option<Stats> {
        let column = &self.values[i];
        let shift = |values: &[f64]| -> Vec<f64> {
            values
                .iter()
                .map(|&v| crate::network::adjusted(v, rtt))
                .collect()
        };
        if column.is_resident() {
            return Stats::compute(&shift(column.in_memory()));
        }
        if column.len() <= self.load_values {
            return match column.load(self.spill.as_ref()) {
                Ok(all) => Stats::compute(&shift(&all)),
                Err(e) => {
                    problems.push(format!("cannot read back {} values: {e}", REGISTRY[i].tag));
                    None
                }
            };
        }
        let items = Shifted {
            inner: ColumnItems {
                column,
                spill: self.spill.as_ref(),
            },
            rtt,
        };
        Stats::compute_streaming(&items).unwrap_or_else(|e| {
            problems.push(format!("cannot read back {} values: {e}", REGISTRY[i].tag));
            None
        })
    }

    pub fn request_count(&self) -> u64 {
        self.request_count
    }

    /// The plateau of the streamed requests, when their intervals are in memory or small
    /// enough to load (a run that spilled millions of them skips it).
    fn steady_state(&self) -> Option<SteadyState> {
        if self.intervals.is_empty() {
            return None;
        }
        let values = if self.intervals.is_resident() {
            std::borrow::Cow::Borrowed(self.intervals.in_memory())
        } else if self.intervals.len() <= self.load_values / 4 {
            std::borrow::Cow::Owned(self.intervals.load(self.spill.as_ref()).ok()?)
        } else {
            return None;
        };
        let intervals: Vec<Interval> = values
            .chunks_exact(crate::timeline::INTERVAL_VALUES)
            .map(Interval::from_values)
            .collect();
        steady_state(&intervals)
    }

    pub fn error_count(&self) -> u64 {
        self.error_count
    }

    /// Final results. Metrics without a value are absent.
    ///
    /// Columns are independent, so on a large run they are summarised on every core (spilled
    /// columns are read back with positioned reads); the result is the same, bit for bit, on
    /// any number of threads.
    pub fn summarize(&self) -> Summary {
        let threads = if self.request_count + self.error_count >= PARALLEL_FROM {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            1
        };
        self.summarize_on(threads)
    }

    fn summarize_on(&self, threads: usize) -> Summary {
        let mut derived = Derived {
            request_count: self.request_count,
            error_count: self.error_count,
            good_count: self.good_count,
            min_request_wall_ns: self.min_request_wall_ns,
            max_response_wall_ns: self.max_response_wall_ns,
            window_ns: self.window_ns,
            ..Default::default()
        };
        let mut results = Vec::new();
        let mut problems: Vec<String> = self.spill_error.iter().cloned().collect();
        // Every column's statistics (and the time-weighted curves, one more job) at once.
        let columns: Vec<usize> = REGISTRY
            .iter()
            .enumerate()
            .filter(|(_, spec)| {
                spec.applies(&self.run)
                    && matches!(
                        spec.kind,
                        MetricKind::Record(_) | MetricKind::ErrorRecord(_)
                    )
            })
            .map(|(i, _)| i)
            .collect();
        let mut jobs: Vec<Option<usize>> = vec![None];
        jobs.extend(columns.iter().map(|&i| Some(i)));
        let mut done = parallel_map(&jobs, threads, |job| {
            let mut problems = Vec::new();
            let out = match *job {
                None => Computed::Curves(self.curves(&mut problems)),
                Some(i) => {
                    Computed::Column(self.column_and_adjusted(i, &mut problems).map(Box::new))
                }
            };
            (out, problems)
        })
        .into_iter();
        let mut column_results: Vec<Option<(Stats, Option<Stats>)>> = vec![None; REGISTRY.len()];
        let mut curves = Vec::new();
        for job in &jobs {
            let Some((out, job_problems)) = done.next() else {
                break;
            };
            problems.extend(job_problems);
            match (job, out) {
                (None, Computed::Curves(c)) => curves = c,
                (Some(i), Computed::Column(c)) => column_results[*i] = c.map(|b| *b),
                _ => {}
            }
        }
        for (i, spec) in REGISTRY.iter().enumerate() {
            if !spec.applies(&self.run) {
                continue;
            }
            let factor = spec.unit.factor_to(spec.display_unit);
            match spec.kind {
                MetricKind::Record(_) | MetricKind::ErrorRecord(_) => {
                    let Some((stats, adjusted)) = column_results[i].take() else {
                        continue;
                    };
                    derived.sums.insert(spec.tag, stats.sum);
                    results.push(MetricResult::new(
                        spec,
                        MetricValue::Distribution(stats.scaled(factor)),
                    ));
                    if let Some(adj) = adjusted {
                        let adj = adj.scaled(factor);
                        results.push(MetricResult {
                            spec,
                            tag: Cow::Owned(format!("adj_{}", spec.tag)),
                            header: Cow::Owned(format!("{} (error-adjusted)", spec.header)),
                            value: MetricValue::Distribution(adj),
                        });
                    }
                }
                MetricKind::Counter(_) => {
                    let v = self.counts[i] as f64;
                    derived.results.insert(spec.tag, v);
                    results.push(MetricResult::new(spec, MetricValue::Scalar(v)));
                }
                MetricKind::Derived(f) => {
                    let Some(v) = f(&derived).filter(|v| v.is_finite()) else {
                        continue;
                    };
                    derived.results.insert(spec.tag, v);
                    results.push(MetricResult::new(spec, MetricValue::Scalar(v * factor)));
                }
                MetricKind::Timeline(curve) => {
                    let at = CURVES.iter().position(|c| *c == curve);
                    let Some(w) = at.and_then(|k| curves.get(k).cloned().flatten()) else {
                        continue;
                    };
                    results.push(MetricResult::new(spec, MetricValue::Weighted(w)));
                }
            }
        }
        if let Some(rtt) = self.network_rtt_ns {
            self.network_adjusted(rtt, &mut results, &mut problems);
        }
        let replay_warning = self.replay_fidelity(&mut results, &mut problems);
        let mut summary = Summary {
            results,
            timeslices: Vec::new(),
            warnings: Vec::new(),
            steady_state: self.steady_state(),
        };
        summary.warnings = warnings(&summary, self.request_count, &self.run);
        summary.warnings.extend(replay_warning);
        summary.warnings.extend(problems);
        if let Some(s) = &self.slices {
            // Slices are independent too: one per thread, each summarised on its own.
            let inner = parallel_map(&s.accumulators, threads, |a| a.summarize_on(1));
            for (k, mut inner) in inner.into_iter().enumerate() {
                let start = s.origin_wall_ns + k as u64 * s.width_ns;
                inner.warnings.clear();
                inner.steady_state = None;
                summary.timeslices.push((start, start + s.width_ns, inner));
            }
        }
        summary
    }

    /// The time-weighted curves (concurrency, throughput), from the request intervals.
    fn curves(&self, problems: &mut Vec<String>) -> Vec<Option<WeightedStats>> {
        if self.intervals.is_empty() {
            return Vec::new();
        }
        curve_stats(&self.intervals, self.spill.as_ref(), self.load_values).unwrap_or_else(|e| {
            problems.push(format!("cannot read back request intervals: {e}"));
            Vec::new()
        })
    }

    /// A column's statistics and, for error-adjusted metrics of a run with errors, its
    /// error-adjusted ones.
    fn column_and_adjusted(
        &self,
        i: usize,
        problems: &mut Vec<String>,
    ) -> Option<(Stats, Option<Stats>)> {
        let stats = self.column_stats(i, problems)?;
        let adjusted = (REGISTRY[i].flags.contains(Flags::ERROR_ADJUSTED) && self.error_count > 0)
            .then(|| self.column_error_adjusted(i, &stats, problems));
        Some((stats, adjusted))
    }
}

/// A column's values less the network RTT, clamped at 0 (read by passes when spilled).
struct Shifted<'a> {
    inner: ColumnItems<'a>,
    rtt: f64,
}

impl Items for Shifted<'_> {
    fn scan(&self, f: &mut dyn FnMut(f64, f64)) -> io::Result<()> {
        self.inner
            .scan(&mut |v, w| f(crate::network::adjusted(v, self.rtt), w))
    }
}

/// Runs (requests + errors) from which [`Accumulator::summarize`] uses every core: below it,
/// starting threads costs more than the columns take.
const PARALLEL_FROM: u64 = 20_000;

/// What one summary job computed.
enum Computed {
    Curves(Vec<Option<WeightedStats>>),
    Column(Option<Box<(Stats, Option<Stats>)>>),
}

/// `f` over `items` on up to `threads` threads, results in `items`' order.
fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(item) = items.get(k) else {
                    break;
                };
                let r = f(item);
                *slots[k].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            });
        }
    });
    slots
        .into_iter()
        .filter_map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect()
}

/// Stops spilling after a failed write; everything from then on stays in memory.
fn spill_failed(writes: &mut bool, error: &mut Option<String>, e: io::Error) {
    *writes = false;
    error.get_or_insert_with(|| {
        format!("cannot write the metric spill file ({e}); values kept in memory")
    });
}

/// AIPerf's error-adjusted statistics: successes plus one +inf per failure, nearest-rank
/// percentiles; avg, sum and max become +inf (and are then dropped from exports); std is undefined.
/// `stats` are the successes' statistics; `order` returns the successes' order statistics at the
/// given 0-based ranks.
fn error_adjusted(stats: &Stats, errors: u64, order: impl FnOnce(&[u64]) -> Vec<f64>) -> Stats {
    let finite = stats.count;
    let n = finite + errors;
    // numpy "nearest": index = round-half-to-even(q/100 * (n - 1)); past the successes is +inf.
    let idx: Vec<u64> = PERCENTILES
        .iter()
        .map(|(q, _)| (round_half_even(q / 100.0 * (n - 1) as f64) as u64).min(n - 1))
        .collect();
    let ranks: Vec<u64> = idx.iter().copied().filter(|&k| k < finite).collect();
    let mut found = order(&ranks).into_iter();
    let mut percentiles = [0.0; 9];
    for (slot, k) in percentiles.iter_mut().zip(idx) {
        *slot = if k < finite {
            found.next().unwrap_or(f64::NAN)
        } else {
            f64::INFINITY
        };
    }
    Stats {
        avg: f64::INFINITY,
        min: stats.min,
        max: f64::INFINITY,
        std: f64::NAN,
        sum: f64::INFINITY,
        count: n,
        percentiles,
    }
}

fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    }
}

/// AIPerf's post-run warnings, each only where it applies (`run`).
fn warnings(s: &Summary, requests: u64, run: &Applicability) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(n) = s.value("usage_discrepancy_count").filter(|n| *n > 0.0) {
        out.push(format!(
            "Token Count Discrepancy Warning: for {n:.0} of {requests} requests the server's usage differs from the client-side token count by more than {:.0} %. Check that --tokenizer matches the served model, or use --use-server-token-count.",
            crate::record::USAGE_DIFF_THRESHOLD_PCT
        ));
    }
    if let Some(n) = s.value("osl_mismatch_count").filter(|n| *n > 0.0) {
        out.push(format!(
            "Output Sequence Length Mismatch Warning: {n:.0} of {requests} requests produced an output length that differs from the requested max_tokens by more than min({:.0} %, {:.0} tokens). The server may stop early: add --extra-inputs ignore_eos:true or min_tokens.",
            crate::record::OSL_MISMATCH_PCT,
            crate::record::OSL_MISMATCH_MAX_TOKENS
        ));
    }
    // Prefix caching is a generation-server feature: no advice for embeddings or rankings.
    if run.produces_tokens
        && s.get("usage_prompt_tokens").is_some()
        && s.get("usage_prompt_cache_read_tokens").is_none()
    {
        out.push(
            "Token usage is reported but no prompt-cache read tokens were seen (usage.prompt_tokens_details.cached_tokens absent). If your server uses prefix caching, enable cache reporting (vLLM --enable-prompt-tokens-details, SGLang --enable-cache-report).".to_string(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordInput;

    const MS: u64 = 1_000_000;
    const STREAMING: Applicability = Applicability::STREAMED_CHAT;

    fn success(start: u64, content: &[u64], isl: u64, osl: u64) -> RecordMetrics {
        RecordMetrics::of_success(&RecordInput {
            start_ns: start,
            end_ns: *content.last().unwrap(),
            content_ns: content,
            input_tokens: Some(isl),
            output_tokens: Some(osl),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn run_level_metrics_by_hand() {
        let mut acc = Accumulator::new(STREAMING);
        // Request A: wall start 1_000 ms, latency 100 ms, 10 tokens out, 50 in.
        acc.add_success(&success(0, &[10 * MS, 100 * MS], 50, 10), 1_000 * MS);
        // Request B: wall start 1_050 ms, latency 150 ms -> ends at 1_200 ms; 30 out, 70 in.
        acc.add_success(&success(0, &[30 * MS, 150 * MS], 70, 30), 1_050 * MS);
        acc.add_error(&RecordMetrics::of_error(Some(40)), 1_100 * MS);
        let s = acc.summarize();
        // Duration = 1_200 - 1_000 = 200 ms = 0.2 s.
        assert!((s.value("benchmark_duration").unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(s.value("request_count"), Some(2.0));
        assert_eq!(s.value("error_request_count"), Some(1.0));
        assert_eq!(s.value("completed_request_count"), Some(3.0));
        assert!((s.value("request_error_rate").unwrap() - 100.0 / 3.0).abs() < 1e-9);
        assert!((s.value("request_throughput").unwrap() - 10.0).abs() < 1e-9);
        assert_eq!(s.value("total_osl"), Some(40.0));
        assert!((s.value("output_token_throughput").unwrap() - 200.0).abs() < 1e-9);
        assert!((s.value("input_token_throughput").unwrap() - 600.0).abs() < 1e-9);
        assert!((s.value("total_token_throughput").unwrap() - 800.0).abs() < 1e-9);
        assert_eq!(s.value("total_error_isl"), Some(40.0));
        let MetricValue::Distribution(lat) = &s.get("request_latency").unwrap().value else {
            panic!()
        };
        assert_eq!(
            (lat.min, lat.max, lat.avg, lat.count),
            (100.0, 150.0, 125.0, 2)
        );
        assert!(s.get("min_request_timestamp").is_some());
        assert!(s.get("effective_concurrency").is_some());
    }

    #[test]
    fn error_adjusted_companions() {
        let mut acc = Accumulator::new(STREAMING);
        for lat in [10, 20, 30] {
            acc.add_success(&success(0, &[MS, lat * MS], 5, 5), 0);
        }
        acc.add_error(&RecordMetrics::of_error(None), 0);
        let s = acc.summarize();
        let r = s.get("adj_request_latency").unwrap();
        assert_eq!(r.header, "Request Latency (error-adjusted)");
        let MetricValue::Distribution(a) = &r.value else {
            panic!()
        };
        // Sorted [10, 20, 30, inf], n = 4: p50 -> round(1.5) = 2 -> 30; p25 -> round(0.75) = 1 -> 20.
        assert_eq!(a.count, 4);
        assert_eq!(
            (a.percentile("p50"), a.percentile("p25"), a.percentile("p1")),
            (Some(30.0), Some(20.0), Some(10.0))
        );
        assert_eq!(a.percentile("p99"), Some(f64::INFINITY));
        assert!(a.avg.is_infinite() && a.std.is_nan());
        assert_eq!(a.min, 10.0);
        assert!(s.get("adj_time_to_first_token").is_some());
        // Without failures there is no companion.
        let mut ok = Accumulator::new(STREAMING);
        ok.add_success(&success(0, &[MS, 2 * MS], 5, 5), 0);
        assert!(ok.summarize().get("adj_request_latency").is_none());
        assert_eq!(round_half_even(2.5), 2.0);
        assert_eq!(round_half_even(1.5), 2.0);
    }

    #[test]
    fn goodput_by_hand() {
        // SLOs in display units: TTFT <= 20 ms, output throughput per user >= 100 tokens/s.
        let g =
            Goodput::parse("time_to_first_token:20 output_token_throughput_per_user:100").unwrap();
        let mut acc = Accumulator::new(Applicability {
            goodput: true,
            ..STREAMING
        })
        .with_goodput(g);
        // TTFT 20 ms (equality passes), ITL (40-20)/4 = 5 ms -> 200 tok/s: good.
        acc.add_success(&success(0, &[20 * MS, 40 * MS], 5, 5), 0);
        // TTFT 30 ms: bad.
        acc.add_success(&success(0, &[30 * MS, 50 * MS], 5, 5), 1_000 * MS);
        // TTFT 10 ms but ITL (210-10)/4 = 50 ms -> 20 tok/s: bad.
        acc.add_success(&success(0, &[10 * MS, 210 * MS], 5, 5), 0);
        acc.add_error(&RecordMetrics::of_error(None), 0);
        let s = acc.summarize();
        assert_eq!(s.value("good_request_count"), Some(1.0));
        assert_eq!(s.value("good_request_fraction"), Some(0.25));
        // Duration: first start 0 to the end of the second request (1_000 + 50 ms) = 1.05 s.
        assert!((s.value("goodput").unwrap() - 1.0 / 1.05).abs() < 1e-9);
    }

    #[test]
    fn goodput_rejects_unknown_tags() {
        let e = Goodput::parse("time_to_first_tokn:10").unwrap_err();
        assert!(
            e.starts_with("Unknown metric tag(s) in --goodput: time_to_first_tokn.")
                && e.contains("time_to_first_token"),
            "{e}"
        );
        assert!(Goodput::parse("request_latency:fast")
            .unwrap_err()
            .contains("not a number"));
        assert!(
            Goodput::parse("request_throughput:5")
                .unwrap_err()
                .starts_with("Unknown metric tag"),
            "run-level metrics cannot be SLOs"
        );
    }

    #[test]
    fn all_failed_and_zero_duration() {
        let mut acc = Accumulator::new(STREAMING);
        acc.add_error(&RecordMetrics::of_error(None), 0);
        let s = acc.summarize();
        assert_eq!(s.value("request_count"), Some(0.0));
        assert_eq!(s.value("error_request_count"), Some(1.0));
        assert!(s.get("benchmark_duration").is_none());
        assert!(s.get("request_throughput").is_none());
        assert!(s.get("request_latency").is_none());
        // Zero duration: one instantaneous request has a duration of 0 and no throughput.
        let mut acc = Accumulator::new(Applicability {
            streaming: false,
            ..STREAMING
        });
        let m = RecordMetrics::of_success(&RecordInput {
            content_ns: &[0],
            output_tokens: Some(1),
            ..Default::default()
        })
        .unwrap();
        acc.add_success(&m, 5);
        let s = acc.summarize();
        assert_eq!(s.value("benchmark_duration"), Some(0.0));
        assert!(s.get("request_throughput").is_none());
    }

    #[test]
    fn counters_and_warnings() {
        let mut acc = Accumulator::new(STREAMING);
        let usage = serde_json::json!({"prompt_tokens": 200, "completion_tokens": 5});
        let m = RecordMetrics::of_success(&RecordInput {
            content_ns: &[MS, 2 * MS],
            input_tokens: Some(100),
            output_tokens: Some(5),
            requested_osl: Some(100),
            usage: Some(&usage),
            ..Default::default()
        })
        .unwrap();
        acc.add_success(&m, 0);
        let s = acc.summarize();
        assert_eq!(s.value("usage_discrepancy_count"), Some(1.0));
        assert_eq!(s.value("osl_mismatch_count"), Some(1.0));
        assert_eq!(s.value("total_usage_prompt_tokens"), Some(200.0));
        assert_eq!(s.warnings.len(), 3, "{:?}", s.warnings);
        assert!(s.warnings[0].starts_with("Token Count Discrepancy Warning"));
    }

    #[test]
    fn context_overflows_are_counted_among_failures_only() {
        // One success, three failures of which two overflowed the context: count 2.
        let mut acc = Accumulator::new(STREAMING);
        acc.add_success(&success(0, &[MS, 2 * MS], 10, 2), 0);
        assert_eq!(
            acc.summarize().get("context_overflow_count").map(|_| ()),
            None
        );
        for body in [
            "This model's maximum context length is 4096 tokens",
            "Injected HTTP 500",
            r#"{"error":{"code":"context_length_exceeded"}}"#,
        ] {
            acc.add_error(&RecordMetrics::of_failure(Some(7), body), 0);
        }
        let s = acc.summarize();
        assert_eq!(s.value("context_overflow_count"), Some(2.0));
        assert_eq!(s.value("error_request_count"), Some(3.0));
        // Failures whose message was never classified leave it absent, not 0.
        let mut unknown = Accumulator::new(STREAMING);
        unknown.add_error(&RecordMetrics::of_error(Some(7)), 0);
        assert_eq!(
            unknown
                .summarize()
                .get("context_overflow_count")
                .map(|_| ()),
            None
        );
        let mut clean = Accumulator::new(STREAMING);
        clean.add_error(&RecordMetrics::of_failure(Some(7), "Injected HTTP 500"), 0);
        assert_eq!(clean.summarize().value("context_overflow_count"), Some(0.0));
    }

    #[test]
    fn no_prefix_cache_advice_for_endpoints_that_do_not_generate() {
        let run = Applicability {
            streaming: false,
            produces_tokens: false,
            ..STREAMING
        };
        let mut acc = Accumulator::new(run);
        let usage = serde_json::json!({"prompt_tokens": 200});
        let m = RecordMetrics::of_success(&RecordInput {
            content_ns: &[3 * MS],
            input_tokens: Some(200),
            usage: Some(&usage),
            ..Default::default()
        })
        .unwrap();
        acc.add_success(&m, 0);
        let s = acc.summarize();
        assert_eq!(s.value("total_usage_prompt_tokens"), Some(200.0));
        assert_eq!(s.warnings, Vec::<String>::new());
    }

    #[test]
    fn spilled_run_summarises_like_an_in_memory_one() {
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::create_in(dir.path()).unwrap();
        let mut mem = Accumulator::new(STREAMING).with_timeslices(0, 2_000 * MS);
        // Summarised by passes (bounded memory) ...
        let mut disk = Accumulator::new(STREAMING)
            .with_spill(spill.clone())
            .with_load_limit(0)
            .with_timeslices(0, 2_000 * MS);
        // ... and read back whole (the default up to 262,144 values).
        let mut loaded = Accumulator::new(STREAMING)
            .with_spill(spill)
            .with_timeslices(0, 2_000 * MS);
        // 20,000 requests: three times the in-memory tail for the scalar metrics, far more for
        // the pooled inter-chunk latencies; every 50th fails.
        let mut x = 12345u64;
        for i in 0..20_000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let start = i * MS / 2;
            if i % 50 == 0 {
                let m = RecordMetrics::of_error(Some(x % 300));
                mem.add_error(&m, start);
                loaded.add_error(&m, start);
                disk.add_error(&m, start);
                continue;
            }
            let first = MS + (x >> 40) % (40 * MS);
            let content: Vec<u64> = (0..8).map(|k| first + k * ((x >> 20) % (5 * MS))).collect();
            let m = success(0, &content, 100 + x % 50, 8);
            mem.add_success(&m, start);
            loaded.add_success(&m, start);
            disk.add_success(&m, start);
        }
        assert!(
            !disk.values.iter().all(|c| c.is_resident()),
            "nothing was spilled"
        );
        let (a, b, c) = (mem.summarize(), disk.summarize(), loaded.summarize());
        assert!(
            b.warnings.iter().all(|w| !w.contains("spill")),
            "{:?}",
            b.warnings
        );
        let compare = |a: &Summary, b: &Summary| {
            assert_eq!(a.results.len(), b.results.len());
            for (x, y) in a.results.iter().zip(&b.results) {
                assert_eq!(x.tag, y.tag);
                match (&x.value, &y.value) {
                    (MetricValue::Distribution(p), MetricValue::Distribution(q)) => {
                        assert_eq!(p.percentiles, q.percentiles, "{}", x.tag);
                        assert_eq!((p.min, p.count), (q.min, q.count), "{}", x.tag);
                        for (u, v) in [(p.avg, q.avg), (p.sum, q.sum), (p.std, q.std)] {
                            let same = u == v || (u - v).abs() <= 1e-9 * u.abs().max(1.0);
                            assert!(same || (u.is_nan() && v.is_nan()), "{}: {u} vs {v}", x.tag);
                        }
                    }
                    (p, q) => assert_eq!(p, q, "{}", x.tag),
                }
            }
        };
        compare(&a, &b);
        compare(&a, &c);
        // Read back whole, a spilled column is summarised from the same values in the same
        // order as in memory: identical to the last bit (Debug, so NaN std matches NaN).
        let bits = |s: &Summary| {
            format!(
                "{:?}",
                s.results.iter().map(|r| &r.value).collect::<Vec<_>>()
            )
        };
        assert_eq!(bits(&a), bits(&c));
        assert!(a.get("adj_request_latency").is_some());
        assert!(b.get("effective_concurrency").is_some() && b.get("inter_chunk_latency").is_some());
        assert_eq!(a.timeslices.len(), b.timeslices.len());
        assert_eq!(a.timeslices.len(), 5);
        for ((x, y), z) in a.timeslices.iter().zip(&b.timeslices).zip(&c.timeslices) {
            compare(&x.2, &y.2);
            compare(&x.2, &z.2);
        }
        // On every core or on one, the summary is the same to the last bit: columns, curves,
        // timeslices and warnings (the run is above the threshold that uses every core).
        assert!(disk.request_count + disk.error_count >= PARALLEL_FROM);
        for acc in [&disk, &loaded] {
            let one = acc.summarize_on(1);
            let four = acc.summarize_on(4);
            let all = |s: &Summary| format!("{:?} {:?} {:?}", s.results, s.timeslices, s.warnings);
            assert_eq!(all(&one), all(&four));
        }
    }

    #[test]
    fn a_full_disk_keeps_every_value_in_memory_and_warns() {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let mut mem = Accumulator::new(STREAMING);
        let mut disk = Accumulator::new(STREAMING).with_spill(Spill::from_file(full));
        for i in 0..10_000u64 {
            let m = success(0, &[MS + i, 2 * MS + 3 * i], 10, 2);
            mem.add_success(&m, i * MS);
            disk.add_success(&m, i * MS);
        }
        let (a, b) = (mem.summarize(), disk.summarize());
        assert_eq!(
            b.warnings.last().map(String::as_str),
            Some("cannot write the metric spill file (No space left on device (os error 28)); values kept in memory")
        );
        assert_eq!(a.results.len(), b.results.len());
        for (x, y) in a.results.iter().zip(&b.results) {
            assert_eq!((&x.tag, &x.value), (&y.tag, &y.value));
        }
        assert_eq!(b.value("request_count"), Some(10_000.0));
    }

    #[test]
    fn timeslices_split_by_request_start() {
        let mut acc = Accumulator::new(STREAMING).with_timeslices(0, 1_000 * MS);
        acc.add_success(&success(0, &[10 * MS, 100 * MS], 5, 10), 100 * MS);
        acc.add_success(&success(0, &[10 * MS, 200 * MS], 5, 30), 1_500 * MS);
        acc.add_success(&success(0, &[10 * MS, 300 * MS], 5, 20), 1_600 * MS);
        let s = acc.summarize();
        assert_eq!(s.timeslices.len(), 2);
        let (start, end, first) = &s.timeslices[0];
        assert_eq!((*start, *end), (0, 1_000 * MS));
        assert_eq!(first.value("request_count"), Some(1.0));
        // Rates use the window length: 50 tokens in a 1 s window.
        assert_eq!(
            s.timeslices[1].2.value("output_token_throughput"),
            Some(50.0)
        );
        assert_eq!(s.timeslices[1].2.value("request_throughput"), Some(2.0));
    }
}
