//! Aggregation of scraped server metrics over the profiling window (AIPerf 0.13, spec §8.1).
//!
//! Input: the scrapes of one endpoint ([`Scrape`]: run-clock time + parsed [`Page`]), in
//! any order (they are stably sorted by `t_ns`). Output: one [`MetricSummary`] per metric,
//! sorted by name (then kind), each with one [`SeriesSummary`] per label set, sorted by the
//! (sorted) labels. Pure, deterministic, never panics.
//!
//! Window rules, for the window `[start_ns, end_ns]` (an inverted window yields nothing):
//! - **Gauges and untyped families**: the samples of the scrapes with
//!   `start_ns <= t_ns <= end_ns`; if there is none, the last scrape before `start_ns`.
//!   Non-finite samples (NaN, ±Inf) are skipped; a series without any finite sample is
//!   left out.
//! - **Counters, histograms, summary `_count`/`_sum`**: the *reference* is the last scrape
//!   at or before `start_ns` (the baseline), or if there is none the first scrape in the
//!   window; the *end* is the last scrape at or before `end_ns`. Each value (counter,
//!   histogram bucket, `_sum`, `_count`) accumulates its increase over consecutive scrapes
//!   from the reference to the end, reset-safe like PromQL `increase()`: when a value
//!   drops, the counter was reset and that step adds the new value. A non-finite reading is
//!   ignored (the step is skipped, the next finite reading is compared with the last finite
//!   one). A value absent from the reference scrape but seen later was created during the
//!   window and counts from an implicit 0 at the reference; a value seen only in the
//!   reference scrape gives 0. Rates divide by the seconds between the reference and the
//!   end scrapes (`None` when that is 0).
//! - **Summaries**: quantiles of the last scrape (up to the end) that has the series.
//!
//! Naming: counters drop a trailing `_total` (`vllm:prompt_tokens_total` ->
//! `vllm:prompt_tokens`), as AIPerf does. Units: the page's OpenMetrics `# UNIT` if
//! present, else [`infer_unit`] from the name.
//!
//! Histogram quantile estimates use Prometheus `histogram_quantile` linear interpolation
//! over the bucket deltas ([`histogram_quantile`]), not AIPerf's polynomial estimator.

use std::collections::BTreeMap;

use crate::prometheus::{Family, MetricType, Page};

/// Labels of one series, sorted by name (the series identity within its metric).
pub type Labels = Vec<(String, String)>;

/// One scrape of one endpoint: when (run clock ns) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Scrape {
    pub t_ns: u64,
    pub page: Page,
}

/// One metric aggregated over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSummary {
    /// Family name; counters without a trailing `_total`.
    pub name: String,
    /// The family's type (untyped families keep [`MetricType::Untyped`] but get gauge stats).
    pub kind: MetricType,
    /// `# HELP` text of the latest scrape that had one.
    pub help: Option<String>,
    /// `# UNIT` of the latest scrape that had one, else [`infer_unit`] of `name`.
    pub unit: Option<String>,
    /// Sorted by labels.
    pub series: Vec<SeriesSummary>,
}

/// One labelled series of a metric.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSummary {
    /// Sorted by label name; without `le` / `quantile`.
    pub labels: Labels,
    pub stats: SeriesStats,
}

/// The statistics of one series, by metric type.
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesStats {
    /// Gauges and untyped metrics: statistics of the finite samples in the window.
    Gauge {
        avg: f64,
        min: f64,
        max: f64,
        /// Sample standard deviation (n − 1); 0 for one sample.
        std: f64,
        /// Percentiles with linear interpolation between closest ranks (numpy's default).
        p50: f64,
        p90: f64,
        p95: f64,
        p99: f64,
        /// Number of finite samples (at least 1).
        samples: usize,
    },
    /// Counters: reset-safe increase from the reference to the end scrape.
    Counter {
        total: f64,
        /// `total` per second between the reference and end scrapes; `None` if 0 s apart.
        rate: Option<f64>,
    },
    /// Histograms: reset-safe increases of `_count`, `_sum` and every bucket.
    Histogram {
        /// Increase of `_count` (of the `+Inf` bucket when the page has no `_count`).
        count: f64,
        count_rate: Option<f64>,
        /// Increase of `_sum` (0 when the page has no `_sum`).
        sum: f64,
        sum_rate: Option<f64>,
        /// `sum / count`; `None` if `count` is 0 or the page has no `_sum`.
        avg: Option<f64>,
        /// [`histogram_quantile`] over `buckets`; `None` when `count` is 0.
        p50_estimate: Option<f64>,
        p90_estimate: Option<f64>,
        p95_estimate: Option<f64>,
        p99_estimate: Option<f64>,
        /// `(le, increase of the cumulative bucket count)`, sorted by `le`, `+Inf` last.
        buckets: Vec<(f64, f64)>,
    },
    /// Summaries: quantiles passed through, `_count` / `_sum` increases.
    Summary {
        /// `(quantile, value)` of the last scrape that had the series, sorted by quantile.
        quantiles: Vec<(f64, f64)>,
        count: f64,
        sum: f64,
    },
}

/// Aggregates every series of every metric over `[start_ns, end_ns]` (see the module docs).
pub fn aggregate(scrapes: &[Scrape], start_ns: u64, end_ns: u64) -> Vec<MetricSummary> {
    if start_ns > end_ns {
        return Vec::new();
    }
    let mut sorted: Vec<&Scrape> = scrapes.iter().collect();
    sorted.sort_by_key(|s| s.t_ns);
    let in_window = |s: &&Scrape| start_ns <= s.t_ns && s.t_ns <= end_ns;

    let mut gauge_scrapes: Vec<&Scrape> = sorted.iter().copied().filter(in_window).collect();
    if gauge_scrapes.is_empty() {
        if let Some(s) = sorted.iter().rev().find(|s| s.t_ns < start_ns) {
            gauge_scrapes.push(s);
        }
    }

    let reference = sorted
        .iter()
        .rposition(|s| s.t_ns <= start_ns)
        .or_else(|| sorted.iter().position(in_window));
    let end = sorted.iter().rposition(|s| s.t_ns <= end_ns);
    let cumulative: &[&Scrape] = match (reference, end) {
        (Some(r), Some(e)) if r <= e => &sorted[r..=e],
        _ => &[],
    };
    let elapsed_s = match (cumulative.first(), cumulative.last()) {
        (Some(a), Some(b)) if b.t_ns > a.t_ns => Some((b.t_ns - a.t_ns) as f64 / 1e9),
        _ => None,
    };

    let mut metrics: BTreeMap<(String, u8), MetricAcc> = BTreeMap::new();
    for scrape in &gauge_scrapes {
        for f in &scrape.page.families {
            if matches!(f.kind, MetricType::Gauge | MetricType::Untyped) {
                metric_acc(&mut metrics, f).add_gauge(f);
            }
        }
    }
    for (pos, scrape) in cumulative.iter().enumerate() {
        let at_reference = pos == 0;
        for f in &scrape.page.families {
            match f.kind {
                MetricType::Counter => metric_acc(&mut metrics, f).add_counter(f, at_reference),
                MetricType::Histogram => metric_acc(&mut metrics, f).add_histogram(f, at_reference),
                MetricType::Summary => metric_acc(&mut metrics, f).add_summary(f, at_reference),
                MetricType::Gauge | MetricType::Untyped => {}
            }
        }
    }

    metrics
        .into_iter()
        .filter_map(|((name, _), m)| {
            let series: Vec<SeriesSummary> = m
                .series
                .into_iter()
                .filter_map(|(labels, acc)| {
                    acc.finish(elapsed_s)
                        .map(|stats| SeriesSummary { labels, stats })
                })
                .collect();
            if series.is_empty() {
                return None;
            }
            let unit = m.unit.or_else(|| infer_unit(&name).map(str::to_string));
            Some(MetricSummary {
                name,
                kind: m.kind,
                help: m.help,
                unit,
                series,
            })
        })
        .collect()
}

/// Unit inferred from a metric name (documented, deliberately small rule set; first match):
/// suffix `_seconds` -> `seconds`, `_milliseconds` -> `milliseconds`, `_bytes` -> `bytes`,
/// `_perc` / `_ratio` -> `ratio` (vLLM's `*_usage_perc` are fractions 0..1),
/// `_percent` -> `percent`; otherwise a name containing `tokens` -> `tokens`, containing
/// `requests` or ending in `_reqs` -> `requests`; else `None`. A trailing `_total` is
/// ignored; matching is case-insensitive.
pub fn infer_unit(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let n = lower.strip_suffix("_total").unwrap_or(&lower);
    const SUFFIXES: [(&str, &str); 6] = [
        ("_seconds", "seconds"),
        ("_milliseconds", "milliseconds"),
        ("_bytes", "bytes"),
        ("_perc", "ratio"),
        ("_ratio", "ratio"),
        ("_percent", "percent"),
    ];
    if let Some((_, unit)) = SUFFIXES.iter().find(|(s, _)| n.ends_with(s)) {
        return Some(unit);
    }
    if n.contains("tokens") {
        return Some("tokens");
    }
    if n.contains("requests") || n.ends_with("_reqs") {
        return Some("requests");
    }
    None
}

/// Percentile `q` (fraction in `[0, 1]`) of ascending `sorted` values with linear
/// interpolation between closest ranks (numpy's default `linear` method).
/// `None` for no values or `q` outside `[0, 1]`.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = (pos.floor() as usize).min(sorted.len() - 1);
    let hi = (pos.ceil() as usize).min(sorted.len() - 1);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

/// Prometheus `histogram_quantile` over cumulative `buckets` (`(le, count)` sorted by
/// `le`, usually the window's deltas): rank `q * total` (total = last bucket's count), the
/// first bucket whose cumulative count reaches the rank, linear interpolation inside it
/// (lower bound 0 for the first bucket unless its `le` is <= 0, then that `le`). A rank in
/// the `+Inf` bucket returns the highest finite `le`. Counts are made monotonic first
/// (running maximum), as Prometheus does. `None` for `q` outside `[0, 1]`, no buckets, a
/// total of 0 (or not finite), or only a `+Inf` bucket.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    if !(0.0..=1.0).contains(&q) {
        return None;
    }
    let mut cum: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    let mut running = 0.0f64;
    for &(le, c) in buckets {
        if le.is_nan() || c.is_nan() {
            continue;
        }
        running = running.max(c);
        cum.push((le, running));
    }
    let &(_, total) = cum.last()?;
    if !(total > 0.0 && total.is_finite()) {
        return None;
    }
    let rank = q * total;
    let b = cum.iter().position(|&(_, c)| c >= rank)?;
    let (le_b, c_b) = cum[b];
    if le_b == f64::INFINITY {
        return if b == 0 { None } else { Some(cum[b - 1].0) };
    }
    if b == 0 && le_b <= 0.0 {
        return Some(le_b);
    }
    let (lower, below) = if b == 0 { (0.0, 0.0) } else { cum[b - 1] };
    let in_bucket = c_b - below;
    if in_bucket <= 0.0 {
        return Some(lower);
    }
    Some(lower + (le_b - lower) * ((rank - below) / in_bucket))
}

/// Reset-safe increase of one cumulative value (PromQL `increase()` without extrapolation).
#[derive(Debug, Clone)]
struct Increase {
    prev: Option<f64>,
    total: f64,
}

impl Increase {
    /// A value first seen in the reference scrape has no baseline yet; one first seen later
    /// was created during the window and starts from 0.
    fn new(at_reference: bool) -> Self {
        Increase {
            prev: if at_reference { None } else { Some(0.0) },
            total: 0.0,
        }
    }

    fn observe(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        if let Some(p) = self.prev {
            self.total += if v >= p { v - p } else { v };
        }
        self.prev = Some(v);
    }
}

fn observe(slot: &mut Option<Increase>, v: Option<f64>, at_reference: bool) {
    if let Some(v) = v {
        slot.get_or_insert_with(|| Increase::new(at_reference))
            .observe(v);
    }
}

#[derive(Debug)]
enum SeriesAcc {
    Gauge(Vec<f64>),
    Counter(Increase),
    Histogram {
        buckets: Vec<(f64, Increase)>,
        sum: Option<Increase>,
        count: Option<Increase>,
    },
    Summary {
        quantiles: Vec<(f64, f64)>,
        sum: Option<Increase>,
        count: Option<Increase>,
    },
}

impl SeriesAcc {
    fn finish(self, elapsed_s: Option<f64>) -> Option<SeriesStats> {
        let rate = |total: f64| elapsed_s.map(|s| total / s);
        match self {
            SeriesAcc::Gauge(mut v) => {
                if v.is_empty() {
                    return None;
                }
                v.sort_by(f64::total_cmp);
                let n = v.len();
                let avg = v.iter().sum::<f64>() / n as f64;
                let std = if n > 1 {
                    (v.iter().map(|x| (x - avg) * (x - avg)).sum::<f64>() / (n - 1) as f64).sqrt()
                } else {
                    0.0
                };
                let p = |q: f64| percentile(&v, q).unwrap_or(f64::NAN);
                Some(SeriesStats::Gauge {
                    avg,
                    min: v[0],
                    max: v[n - 1],
                    std,
                    p50: p(0.50),
                    p90: p(0.90),
                    p95: p(0.95),
                    p99: p(0.99),
                    samples: n,
                })
            }
            SeriesAcc::Counter(inc) => Some(SeriesStats::Counter {
                total: inc.total,
                rate: rate(inc.total),
            }),
            SeriesAcc::Histogram {
                mut buckets,
                sum,
                count,
            } => {
                buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
                let buckets: Vec<(f64, f64)> = buckets
                    .into_iter()
                    .map(|(le, inc)| (le, inc.total))
                    .collect();
                let count = match count {
                    Some(c) => c.total,
                    None => buckets
                        .last()
                        .filter(|(le, _)| *le == f64::INFINITY)
                        .map_or(0.0, |&(_, c)| c),
                };
                let has_sum = sum.is_some();
                let sum = sum.map_or(0.0, |s| s.total);
                let est = |q: f64| {
                    if count > 0.0 {
                        histogram_quantile(q, &buckets)
                    } else {
                        None
                    }
                };
                Some(SeriesStats::Histogram {
                    count,
                    count_rate: rate(count),
                    sum,
                    sum_rate: rate(sum),
                    avg: (has_sum && count > 0.0).then(|| sum / count),
                    p50_estimate: est(0.50),
                    p90_estimate: est(0.90),
                    p95_estimate: est(0.95),
                    p99_estimate: est(0.99),
                    buckets,
                })
            }
            SeriesAcc::Summary {
                quantiles,
                sum,
                count,
            } => Some(SeriesStats::Summary {
                quantiles,
                count: count.map_or(0.0, |c| c.total),
                sum: sum.map_or(0.0, |s| s.total),
            }),
        }
    }
}

#[derive(Debug)]
struct MetricAcc {
    kind: MetricType,
    help: Option<String>,
    unit: Option<String>,
    series: BTreeMap<Labels, SeriesAcc>,
}

fn kind_rank(kind: MetricType) -> u8 {
    match kind {
        MetricType::Counter => 0,
        MetricType::Gauge => 1,
        MetricType::Histogram => 2,
        MetricType::Summary => 3,
        MetricType::Untyped => 4,
    }
}

fn output_name(f: &Family) -> &str {
    if f.kind == MetricType::Counter {
        f.name.strip_suffix("_total").unwrap_or(&f.name)
    } else {
        &f.name
    }
}

fn sorted_labels(labels: &[(String, String)]) -> Labels {
    let mut l = labels.to_vec();
    l.sort();
    l
}

fn metric_acc<'a>(
    metrics: &'a mut BTreeMap<(String, u8), MetricAcc>,
    f: &Family,
) -> &'a mut MetricAcc {
    let m = metrics
        .entry((output_name(f).to_string(), kind_rank(f.kind)))
        .or_insert_with(|| MetricAcc {
            kind: f.kind,
            help: None,
            unit: None,
            series: BTreeMap::new(),
        });
    // Scrapes are visited in time order: the latest HELP / UNIT wins.
    if f.help.is_some() {
        m.help.clone_from(&f.help);
    }
    if f.unit.is_some() {
        m.unit.clone_from(&f.unit);
    }
    m
}

impl MetricAcc {
    fn add_gauge(&mut self, f: &Family) {
        for s in &f.samples {
            let acc = self
                .series
                .entry(sorted_labels(&s.labels))
                .or_insert_with(|| SeriesAcc::Gauge(Vec::new()));
            if let SeriesAcc::Gauge(v) = acc {
                if s.value.is_finite() {
                    v.push(s.value);
                }
            }
        }
    }

    fn add_counter(&mut self, f: &Family, at_reference: bool) {
        for s in &f.samples {
            let acc = self
                .series
                .entry(sorted_labels(&s.labels))
                .or_insert_with(|| SeriesAcc::Counter(Increase::new(at_reference)));
            if let SeriesAcc::Counter(inc) = acc {
                inc.observe(s.value);
            }
        }
    }

    fn add_histogram(&mut self, f: &Family, at_reference: bool) {
        for h in f.buckets() {
            let acc = self
                .series
                .entry(sorted_labels(&h.labels))
                .or_insert_with(|| SeriesAcc::Histogram {
                    buckets: Vec::new(),
                    sum: None,
                    count: None,
                });
            let SeriesAcc::Histogram {
                buckets,
                sum,
                count,
            } = acc
            else {
                continue;
            };
            for &(le, c) in &h.buckets {
                let i = match buckets.iter().position(|(l, _)| l.total_cmp(&le).is_eq()) {
                    Some(i) => i,
                    None => {
                        buckets.push((le, Increase::new(at_reference)));
                        buckets.len() - 1
                    }
                };
                buckets[i].1.observe(c);
            }
            observe(sum, h.sum, at_reference);
            observe(count, h.count, at_reference);
        }
    }

    fn add_summary(&mut self, f: &Family, at_reference: bool) {
        for s in f.summaries() {
            let acc = self
                .series
                .entry(sorted_labels(&s.labels))
                .or_insert_with(|| SeriesAcc::Summary {
                    quantiles: Vec::new(),
                    sum: None,
                    count: None,
                });
            let SeriesAcc::Summary {
                quantiles,
                sum,
                count,
            } = acc
            else {
                continue;
            };
            *quantiles = s.quantiles.clone();
            observe(sum, s.sum, at_reference);
            observe(count, s.count, at_reference);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prometheus::parse;

    const S: u64 = 1_000_000_000;

    fn scrape(t_ns: u64, text: &str) -> Scrape {
        Scrape {
            t_ns,
            page: parse(text).expect("test page parses"),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn metric<'a>(out: &'a [MetricSummary], name: &str) -> &'a MetricSummary {
        out.iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no metric {name} in {out:#?}"))
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    fn close_opt(a: Option<f64>, b: f64) {
        close(a.unwrap_or_else(|| panic!("expected Some({b})")), b);
    }

    fn counter(m: &MetricSummary, i: usize) -> (f64, Option<f64>) {
        match &m.series[i].stats {
            SeriesStats::Counter { total, rate } => (*total, *rate),
            other => panic!("not a counter: {other:?}"),
        }
    }

    #[test]
    fn empty_input_gives_empty_output() {
        assert!(aggregate(&[], 0, 10 * S).is_empty());
        // Scrapes only after the window: no gauge fallback, no counter end.
        let late = [scrape(
            20 * S,
            "# TYPE g gauge\ng 1\n# TYPE c counter\nc_total 5\n",
        )];
        assert!(aggregate(&late, 0, 10 * S).is_empty());
        // Inverted window.
        let s = [scrape(5 * S, "# TYPE g gauge\ng 1\n")];
        assert!(aggregate(&s, 10 * S, 0).is_empty());
    }

    #[test]
    fn gauge_stats_over_window_skip_outside_scrape() {
        let page = |v: f64| format!("# HELP g Queue depth.\n# TYPE g gauge\ng{{a=\"x\"}} {v}\n");
        let scrapes = [
            scrape(0, &page(100.0)), // before the window: ignored
            scrape(10 * S, &page(2.0)),
            scrape(20 * S, &page(4.0)),
            scrape(30 * S, &page(9.0)),
        ];
        let out = aggregate(&scrapes, 5 * S, 30 * S);
        assert_eq!(out.len(), 1);
        let m = &out[0];
        assert_eq!(m.name, "g");
        assert_eq!(m.kind, MetricType::Gauge);
        assert_eq!(m.help.as_deref(), Some("Queue depth."));
        assert_eq!(m.series[0].labels, labels(&[("a", "x")]));
        // Samples 2, 4, 9: avg 5; deviations -3, -1, 4 -> 9 + 1 + 16 = 26; std = sqrt(26/2).
        // numpy linear: pos = q * 2 over [2, 4, 9]:
        // p50 pos 1 -> 4; p90 pos 1.8 -> 4 + 5*0.8 = 8; p95 pos 1.9 -> 8.5; p99 pos 1.98 -> 8.9.
        match &m.series[0].stats {
            SeriesStats::Gauge {
                avg,
                min,
                max,
                std,
                p50,
                p90,
                p95,
                p99,
                samples,
            } => {
                assert_eq!(*avg, 5.0);
                assert_eq!(*min, 2.0);
                assert_eq!(*max, 9.0);
                assert_eq!(*std, 13f64.sqrt());
                assert_eq!(*p50, 4.0);
                close(*p90, 8.0);
                close(*p95, 8.5);
                close(*p99, 8.9);
                assert_eq!(*samples, 3);
            }
            other => panic!("not a gauge: {other:?}"),
        }
    }

    #[test]
    fn gauge_falls_back_to_last_scrape_before_window() {
        let scrapes = [
            scrape(0, "g 1\n"), // untyped: treated like a gauge
            scrape(2 * S, "g 7\n"),
            scrape(20 * S, "g 50\n"),
        ];
        let out = aggregate(&scrapes, 5 * S, 10 * S);
        let m = metric(&out, "g");
        assert_eq!(m.kind, MetricType::Untyped);
        match &m.series[0].stats {
            SeriesStats::Gauge {
                avg, std, samples, ..
            } => {
                assert_eq!((*avg, *std, *samples), (7.0, 0.0, 1));
            }
            other => panic!("not a gauge: {other:?}"),
        }
    }

    #[test]
    fn nan_gauge_sample_is_skipped() {
        let scrapes = [
            scrape(S, "# TYPE g gauge\ng 1\nonly_nan NaN\n"),
            scrape(2 * S, "# TYPE g gauge\ng NaN\nonly_nan NaN\n"),
            scrape(3 * S, "# TYPE g gauge\ng 3\nonly_nan NaN\n"),
        ];
        let out = aggregate(&scrapes, 0, 10 * S);
        // A series with no finite sample is left out (and so is its metric).
        assert_eq!(out.len(), 1);
        match &out[0].series[0].stats {
            SeriesStats::Gauge {
                avg,
                min,
                max,
                std,
                samples,
                ..
            } => {
                // Samples 1, 3: avg 2, std sqrt(((1-2)^2 + (3-2)^2) / 1) = sqrt(2).
                assert_eq!((*avg, *min, *max, *samples), (2.0, 1.0, 3.0, 2));
                assert_eq!(*std, 2f64.sqrt());
            }
            other => panic!("not a gauge: {other:?}"),
        }
    }

    #[test]
    fn counter_with_reset_and_rate() {
        let page = |v: u32| format!("# TYPE reqs counter\nreqs_total {v}\n");
        let scrapes = [
            scrape(0, &page(10)),
            scrape(S, &page(15)),
            scrape(2 * S, &page(3)), // reset: this step adds 3
            scrape(3 * S, &page(8)),
        ];
        let out = aggregate(&scrapes, 0, 3 * S);
        let m = metric(&out, "reqs");
        assert_eq!(m.kind, MetricType::Counter);
        // (15 - 10) + 3 + (8 - 3) = 13 over 3 s.
        let (total, rate) = counter(m, 0);
        assert_eq!(total, 13.0);
        close_opt(rate, 13.0 / 3.0);
    }

    #[test]
    fn counter_declared_with_total_suffix_is_stripped() {
        let page = |v: u32| {
            format!("# TYPE vllm:prompt_tokens_total counter\nvllm:prompt_tokens_total {v}\n")
        };
        let out = aggregate(&[scrape(0, &page(1)), scrape(2 * S, &page(5))], 0, 2 * S);
        let m = metric(&out, "vllm:prompt_tokens");
        assert_eq!(m.unit.as_deref(), Some("tokens"));
        assert_eq!(counter(m, 0), (4.0, Some(2.0)));
    }

    #[test]
    fn counter_baseline_before_window() {
        let page = |v: u32| format!("# TYPE c counter\nc_total {v}\n");
        let scrapes = [
            scrape(0, &page(100)),
            scrape(2 * S, &page(110)), // reference: last scrape at or before start = 3 s
            scrape(4 * S, &page(130)),
            scrape(6 * S, &page(160)),  // end: last scrape at or before 6 s
            scrape(8 * S, &page(1000)), // after the window
        ];
        let out = aggregate(&scrapes, 3 * S, 6 * S);
        // (130 - 110) + (160 - 130) = 50 over 6 s - 2 s = 4 s -> 12.5/s.
        assert_eq!(counter(metric(&out, "c"), 0), (50.0, Some(12.5)));
    }

    #[test]
    fn counter_without_baseline_uses_first_window_scrape() {
        let page = |v: u32| format!("# TYPE c counter\nc_total {v}\n");
        let scrapes = [scrape(5 * S, &page(40)), scrape(7 * S, &page(46))];
        let out = aggregate(&scrapes, 3 * S, 10 * S);
        // Reference 5 s (40), end 7 s (46): 6 over 2 s.
        assert_eq!(counter(metric(&out, "c"), 0), (6.0, Some(3.0)));
    }

    #[test]
    fn counter_single_scrape_gives_zero_and_no_rate() {
        let out = aggregate(&[scrape(S, "# TYPE c counter\nc_total 42\n")], 0, 10 * S);
        assert_eq!(counter(metric(&out, "c"), 0), (0.0, None));
    }

    #[test]
    fn counter_nan_step_is_skipped() {
        let page = |v: &str| format!("# TYPE c counter\nc_total {v}\n");
        let scrapes = [
            scrape(0, &page("10")),
            scrape(S, &page("NaN")),
            scrape(2 * S, &page("15")),
        ];
        // NaN ignored: 15 - 10 = 5 over 2 s.
        assert_eq!(
            counter(metric(&aggregate(&scrapes, 0, 2 * S), "c"), 0),
            (5.0, Some(2.5))
        );
    }

    #[test]
    fn series_created_mid_window_counts_from_zero() {
        let scrapes = [
            scrape(
                0,
                "# TYPE c counter\nc_total{m=\"a\"} 10\nc_total{m=\"gone\"} 99\n",
            ),
            scrape(S, "# TYPE c counter\nc_total{m=\"a\"} 12\n"),
            scrape(
                2 * S,
                "# TYPE c counter\nc_total{m=\"b\"} 7\nc_total{m=\"a\"} 13\n",
            ),
            scrape(
                4 * S,
                "# TYPE c counter\nc_total{m=\"a\"} 20\nc_total{m=\"b\"} 9\n",
            ),
        ];
        let out = aggregate(&scrapes, 0, 4 * S);
        let m = metric(&out, "c");
        // Series sorted by labels: a, b, gone.
        let names: Vec<&str> = m.series.iter().map(|s| s.labels[0].1.as_str()).collect();
        assert_eq!(names, ["a", "b", "gone"]);
        // a: 20 - 10 = 10 over 4 s.
        assert_eq!(counter(m, 0), (10.0, Some(2.5)));
        // b: created after the reference: (7 - 0) + (9 - 7) = 9; rate over the full 4 s.
        assert_eq!(counter(m, 1), (9.0, Some(2.25)));
        // gone: only in the reference scrape -> 0.
        assert_eq!(counter(m, 2), (0.0, Some(0.0)));
    }

    fn hist_page(b: [u32; 4], count: u32, sum: f64) -> String {
        format!(
            "# HELP lat_seconds Request latency.\n# TYPE lat_seconds histogram\n\
             lat_seconds_bucket{{model=\"m\",le=\"0.1\"}} {}\n\
             lat_seconds_bucket{{model=\"m\",le=\"0.5\"}} {}\n\
             lat_seconds_bucket{{model=\"m\",le=\"1\"}} {}\n\
             lat_seconds_bucket{{model=\"m\",le=\"+Inf\"}} {}\n\
             lat_seconds_sum{{model=\"m\"}} {sum}\n\
             lat_seconds_count{{model=\"m\"}} {count}\n",
            b[0], b[1], b[2], b[3]
        )
    }

    #[test]
    fn histogram_deltas_and_quantile_estimates() {
        let scrapes = [
            scrape(0, &hist_page([5, 10, 20, 25], 25, 10.0)),
            scrape(5 * S, &hist_page([9, 30, 50, 60], 60, 25.0)),
            scrape(10 * S, &hist_page([15, 50, 75, 85], 85, 40.0)),
        ];
        let out = aggregate(&scrapes, 0, 10 * S);
        let m = metric(&out, "lat_seconds");
        assert_eq!(m.kind, MetricType::Histogram);
        assert_eq!(m.unit.as_deref(), Some("seconds"));
        assert_eq!(m.help.as_deref(), Some("Request latency."));
        assert_eq!(out.len(), 1);
        assert_eq!(m.series[0].labels, labels(&[("model", "m")]));
        match &m.series[0].stats {
            SeriesStats::Histogram {
                count,
                count_rate,
                sum,
                sum_rate,
                avg,
                p50_estimate,
                p90_estimate,
                p95_estimate,
                p99_estimate,
                buckets,
            } => {
                // Cumulative deltas: 15-5 = 10, 50-10 = 40, 75-20 = 55, 85-25 = 60.
                assert_eq!(
                    buckets,
                    &vec![(0.1, 10.0), (0.5, 40.0), (1.0, 55.0), (f64::INFINITY, 60.0)]
                );
                // count 85 - 25 = 60, sum 40 - 10 = 30 over 10 s; avg 30 / 60 = 0.5.
                assert_eq!((*count, *sum), (60.0, 30.0));
                assert_eq!((*count_rate, *sum_rate), (Some(6.0), Some(3.0)));
                assert_eq!(*avg, Some(0.5));
                // p50: rank 0.5 * 60 = 30 -> first bucket with cum >= 30 is le 0.5 (40):
                //   0.1 + (0.5 - 0.1) * (30 - 10) / (40 - 10) = 0.1 + 0.4 * 2/3 = 0.36667.
                close_opt(*p50_estimate, 0.1 + 0.4 * (20.0 / 30.0));
                // p90: rank 54 -> le 1 (55): 0.5 + (1 - 0.5) * (54 - 40) / (55 - 40) = 0.96667.
                close_opt(*p90_estimate, 0.5 + 0.5 * (14.0 / 15.0));
                // p95: rank 57 > 55 -> +Inf bucket -> highest finite le = 1.
                assert_eq!(*p95_estimate, Some(1.0));
                // p99: rank 59.4 -> +Inf bucket -> 1.
                assert_eq!(*p99_estimate, Some(1.0));
            }
            other => panic!("not a histogram: {other:?}"),
        }
    }

    #[test]
    fn histogram_quantile_in_inf_bucket_and_edge_cases() {
        // 2 of 10 observations <= 1, 8 above: p50 rank 5 lands in +Inf -> 1.
        assert_eq!(
            histogram_quantile(0.5, &[(1.0, 2.0), (f64::INFINITY, 10.0)]),
            Some(1.0)
        );
        // rank 1 in the first bucket, lower bound 0: 0 + 1 * 1/2.
        assert_eq!(
            histogram_quantile(0.1, &[(1.0, 2.0), (f64::INFINITY, 10.0)]),
            Some(0.5)
        );
        assert_eq!(histogram_quantile(0.5, &[(f64::INFINITY, 10.0)]), None);
        assert_eq!(histogram_quantile(0.5, &[]), None);
        assert_eq!(
            histogram_quantile(0.5, &[(1.0, 0.0), (f64::INFINITY, 0.0)]),
            None
        );
        assert_eq!(histogram_quantile(1.5, &[(1.0, 1.0)]), None);
    }

    #[test]
    fn histogram_without_new_observations_has_no_estimates() {
        let page = hist_page([1, 2, 3, 4], 4, 1.0);
        let out = aggregate(&[scrape(0, &page), scrape(S, &page)], 0, S);
        match &out[0].series[0].stats {
            SeriesStats::Histogram {
                count,
                avg,
                p50_estimate,
                p99_estimate,
                ..
            } => {
                assert_eq!(*count, 0.0);
                assert_eq!((*avg, *p50_estimate, *p99_estimate), (None, None, None));
            }
            other => panic!("not a histogram: {other:?}"),
        }
    }

    #[test]
    fn histogram_reset_is_per_bucket() {
        let scrapes = [
            scrape(0, &hist_page([4, 8, 10, 10], 10, 5.0)),
            // Server restarted: every value dropped -> each step adds the new value.
            scrape(S, &hist_page([1, 2, 3, 3], 3, 1.5)),
            scrape(2 * S, &hist_page([2, 4, 5, 6], 6, 3.0)),
        ];
        let out = aggregate(&scrapes, 0, 2 * S);
        match &out[0].series[0].stats {
            SeriesStats::Histogram {
                count,
                sum,
                buckets,
                ..
            } => {
                // le 0.1: 1 + 1 = 2; 0.5: 2 + 2 = 4; 1: 3 + 2 = 5; +Inf: 3 + 3 = 6.
                let deltas: Vec<f64> = buckets.iter().map(|b| b.1).collect();
                assert_eq!(deltas, [2.0, 4.0, 5.0, 6.0]);
                // count 3 + 3 = 6; sum 1.5 + 1.5 = 3.
                assert_eq!((*count, *sum), (6.0, 3.0));
            }
            other => panic!("not a histogram: {other:?}"),
        }
    }

    #[test]
    fn summary_quantiles_from_last_scrape_and_deltas() {
        let page = |q50: f64, count: u32, sum: u32| {
            format!(
                "# TYPE rpc summary\nrpc{{quantile=\"0.5\"}} {q50}\nrpc{{quantile=\"0.9\"}} 0.8\n\
                 rpc_sum {sum}\nrpc_count {count}\n"
            )
        };
        let scrapes = [
            scrape(0, &page(0.2, 10, 4)),
            scrape(S, &page(0.3, 30, 12)),
            scrape(9 * S, &page(0.9, 90, 90)), // after the window
        ];
        let out = aggregate(&scrapes, 0, 2 * S);
        match &metric(&out, "rpc").series[0].stats {
            SeriesStats::Summary {
                quantiles,
                count,
                sum,
            } => {
                assert_eq!(quantiles, &vec![(0.5, 0.3), (0.9, 0.8)]);
                assert_eq!((*count, *sum), (20.0, 8.0));
            }
            other => panic!("not a summary: {other:?}"),
        }
    }

    #[test]
    fn output_is_sorted_and_label_order_insensitive() {
        let scrapes = [
            scrape(
                0,
                "# TYPE zz gauge\nzz{b=\"2\",a=\"1\"} 1\nzz{a=\"0\"} 5\n# TYPE aa gauge\naa 1\n",
            ),
            scrape(S, "# TYPE zz gauge\nzz{a=\"1\",b=\"2\"} 3\n"),
        ];
        let out = aggregate(&scrapes, 0, S);
        let names: Vec<&str> = out.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["aa", "zz"]);
        let zz = metric(&out, "zz");
        assert_eq!(zz.series.len(), 2);
        assert_eq!(zz.series[0].labels, labels(&[("a", "0")]));
        assert_eq!(zz.series[1].labels, labels(&[("a", "1"), ("b", "2")]));
        match &zz.series[1].stats {
            SeriesStats::Gauge { avg, samples, .. } => assert_eq!((*avg, *samples), (2.0, 2)),
            other => panic!("not a gauge: {other:?}"),
        }
    }

    #[test]
    fn unit_inference() {
        assert_eq!(
            infer_unit("vllm:e2e_request_latency_seconds"),
            Some("seconds")
        );
        assert_eq!(
            infer_unit("vllm:time_to_first_token_seconds"),
            Some("seconds")
        );
        assert_eq!(infer_unit("process_resident_memory_bytes"), Some("bytes"));
        assert_eq!(infer_unit("vllm:prompt_tokens_total"), Some("tokens"));
        assert_eq!(infer_unit("vllm:num_requests_running"), Some("requests"));
        assert_eq!(infer_unit("sglang:num_reqs"), Some("requests"));
        assert_eq!(infer_unit("vllm:gpu_cache_usage_perc"), Some("ratio"));
        assert_eq!(infer_unit("DCGM_FI_DEV_POWER_USAGE"), None);
        // OpenMetrics `# UNIT` wins over inference.
        let out = aggregate(
            &[scrape(
                0,
                "# TYPE mem gauge\n# UNIT mem kibibytes\nmem 1\n# EOF\n",
            )],
            0,
            S,
        );
        assert_eq!(out[0].unit.as_deref(), Some("kibibytes"));
    }

    #[test]
    fn percentile_matches_numpy_linear() {
        let v = [1.0, 2.0, 3.0, 4.0];
        // pos = q * 3: 0.5 -> 1.5 -> 2.5; 0.9 -> 2.7 -> 3.7.
        assert_eq!(percentile(&v, 0.5), Some(2.5));
        close_opt(percentile(&v, 0.9), 3.7);
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 1.0), Some(4.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
