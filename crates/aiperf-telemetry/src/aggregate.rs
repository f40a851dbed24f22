//! Aggregation of scraped server metrics over the profiling window, computing exactly the
//! statistics of AIPerf 0.13 (`aiperf/server_metrics/export_stats.py`, spec §8.1).
//!
//! Input: the scrapes of one endpoint ([`Scrape`]: run-clock time + parsed [`Page`]), in
//! any order (they are stably sorted by `t_ns`). Output: one [`MetricSummary`] per metric,
//! sorted by name (then kind), each with one [`SeriesSummary`] per label set, sorted by the
//! (sorted) labels. Pure, deterministic, never panics.
//!
//! What is kept, as AIPerf's collector keeps it: per series, one point per scrape that has
//! the series. Non-finite samples are dropped (for a histogram, the whole series in that
//! scrape); within a page the last sample of a label set wins; summaries and families named
//! `*_created`, `*_uptime` or `*_uptime_*` are not collected at all. A histogram's bucket
//! list is fixed by its first point (sorted by `le`); later points read a missing bucket as
//! 0 and ignore extra ones; a missing `_sum` / `_count` reads as 0.
//!
//! Window `[start_ns, end_ns]` (an empty or inverted window yields nothing; AIPerf ends a
//! profiling window at [`aiperf_window_end`], which takes in the final post-run scrapes),
//! per series:
//! - **Gauges and untyped families**: the points with `start_ns <= t <= end_ns` (none: the
//!   series is left out): `avg`, `min`, `max`, `std` (sample, ddof 1; 0 for one point) and
//!   numpy `linear` percentiles p1, p5, p10, p25, p50, p75, p90, p95, p99.
//! - **Counters**: the *reference* is the last point before `start_ns` (strictly), else the
//!   first point in the window (none in the window: left out). `total` = the reset-safe
//!   increase from the reference to the last point in the window, like PromQL `increase()`
//!   (a drop is a restart from 0; AIPerf takes `max(last − reference, 0)`, which agrees
//!   whenever the counter never drops: the issue asks for reset safety); `rate = total / seconds from
//!   the reference to the last point`, 0 when they coincide.
//! - **Histograms**: reference as for counters (else the first point), *final* the last
//!   point at or before `end_ns` (none: left out). `count = trunc(Δ_count)` and `sum = Δ_sum`
//!   clamped at 0; with a count of 0 only `count` (and the buckets) are reported; else
//!   `avg = sum / count`, `count_rate` / `sum_rate` per second between the two points
//!   (`None` when they coincide), the per-`le` bucket increases (all left out when one
//!   decreased: a reset) and, from those, AIPerf's p1..p99 estimates
//!   ([`crate::histogram_estimate`]), whose in-bucket means are learned from every scrape
//!   interval from the reference to the last point of the series.
//! - **One deliberate difference from AIPerf**: a counter or histogram series that has no
//!   point before the window although the endpoint *was* scraped before it (a label set
//!   created during the run, e.g. a `finished_reason` that first occurs mid-run) gets an
//!   implicit all-zero point at that last pre-window scrape as its reference, so what it
//!   counted during the window is not lost. AIPerf would take the series' own first point
//!   as the reference and drop the observations before it. Series that existed before the
//!   window are computed exactly as in AIPerf.
//! - With a slice duration ([`aggregate_sliced`]), the window is cut into slices from
//!   `start_ns` (the last one partial if the window is not a multiple): counters get each
//!   slice's increase and rate, and `rate_avg`/`rate_min`/`rate_max`/`rate_std` (ddof 1) over
//!   the *complete* slices; gauges each slice's `avg`/`min`/`max`; histograms each slice's
//!   `count`/`sum`/`avg`/buckets.
//!
//! Arithmetic follows numpy (pairwise sums, `linear` percentiles with numpy's lerp).
//!
//! Naming: counters drop a trailing `_total` (`vllm:prompt_tokens_total` ->
//! `vllm:prompt_tokens`), as AIPerf does. Units: AIPerf's inference from the name
//! and HELP text ([`crate::units::infer_unit`]), else the page's OpenMetrics `# UNIT`.
//!
//! [`histogram_quantile`] (Prometheus linear interpolation) stays available for callers
//! that merge series (the console's server-vs-client latency section).

use std::collections::BTreeMap;

use crate::histogram_estimate::{
    accumulate_bucket_statistics, compute_estimated_percentiles, np_mean, np_percentile, np_std,
    PERCENTILES,
};
use crate::prometheus::{Family, MetricType, Page};
pub use crate::series::Labels;
use crate::series::{family_series, is_collected, output_name, PageSample, RawHistogram};

/// Names of [`PERCENTILES`] as AIPerf writes them for gauges (`p1`..`p99`); histogram
/// estimates are the same names with `_estimate` appended.
pub const PERCENTILE_LABELS: [&str; 9] =
    ["p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99"];

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
    /// The family's type (untyped families keep [`MetricType::Untyped`] but get gauge stats;
    /// summaries never appear).
    pub kind: MetricType,
    /// `# HELP` text of the first scrape that had the family (AIPerf keeps the first).
    pub help: Option<String>,
    /// AIPerf's [`crate::units::infer_unit`] of the name and HELP text, else the `# UNIT` of
    /// the latest scrape that had one.
    pub unit: Option<String>,
    /// Sorted by labels.
    pub series: Vec<SeriesSummary>,
}

/// One labelled series of a metric.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSummary {
    /// Sorted by label name; without `le`.
    pub labels: Labels,
    pub stats: SeriesStats,
}

/// A histogram bucket's increase.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    /// The `le` label as the page wrote it (`"0.1"`, `"1.0"`, `"+Inf"`): AIPerf's key.
    pub le: String,
    /// `le` as a number (`f64::INFINITY` for `+Inf`).
    pub upper: f64,
    /// Increase of the cumulative count (truncated to an integer, as AIPerf does).
    pub count: u64,
}

/// A gauge over one slice of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeTimeslice {
    pub start_ns: u64,
    pub end_ns: u64,
    /// `false` for the final, shorter slice.
    pub is_complete: bool,
    pub avg: f64,
    pub min: f64,
    pub max: f64,
}

/// A counter over one slice of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterTimeslice {
    pub start_ns: u64,
    pub end_ns: u64,
    pub is_complete: bool,
    /// Increase from the last point at or before the slice start to the last at or before
    /// its end (0 if negative).
    pub total: f64,
    /// `total` per second of the slice.
    pub rate: f64,
}

/// A histogram over one slice of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramTimeslice {
    pub start_ns: u64,
    pub end_ns: u64,
    pub is_complete: bool,
    pub count: u64,
    pub sum: f64,
    /// `sum / count`, 0 for no observations.
    pub avg: f64,
    /// `None` when a bucket decreased.
    pub buckets: Option<Vec<Bucket>>,
}

/// The statistics of one series, by metric type (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesStats {
    /// Gauges and untyped metrics.
    Gauge {
        avg: f64,
        min: f64,
        max: f64,
        /// Sample standard deviation (ddof 1); 0 for one sample.
        std: f64,
        /// p1..p99 ([`PERCENTILE_LABELS`]), numpy `linear`.
        percentiles: [f64; 9],
        /// Number of points in the window (at least 1).
        samples: usize,
        /// With a slice duration: the slices that had points (`None` when fewer than 2
        /// points or no slice had any).
        timeslices: Option<Vec<GaugeTimeslice>>,
    },
    /// Counters.
    Counter {
        total: f64,
        /// Per second from the reference to the last point; 0 when no time passed.
        rate: f64,
        /// Over the complete slices (with a slice duration and at least one such slice).
        rate_avg: Option<f64>,
        rate_min: Option<f64>,
        rate_max: Option<f64>,
        /// ddof 1; 0 for one slice.
        rate_std: Option<f64>,
        /// With a slice duration: every slice, complete or not (possibly empty).
        timeslices: Option<Vec<CounterTimeslice>>,
    },
    /// Histograms.
    Histogram {
        count: u64,
        /// `None` (like everything below but `buckets`) when `count` is 0.
        sum: Option<f64>,
        avg: Option<f64>,
        /// `None` also when no time passed between the reference and final points.
        count_rate: Option<f64>,
        sum_rate: Option<f64>,
        /// AIPerf's p1..p99 estimates; `None` when they cannot be computed.
        estimates: Option<[f64; 9]>,
        /// Sorted by `le`, `+Inf` last; `None` when a bucket decreased (a reset).
        buckets: Option<Vec<Bucket>>,
        /// With a slice duration: slices without a reset (`None` when none).
        timeslices: Option<Vec<HistogramTimeslice>>,
    },
}

impl SeriesStats {
    /// `(label, value)` of a gauge's percentiles or a histogram's estimates (`p1` first,
    /// labels without `_estimate`); `None` for counters and histograms without estimates.
    pub fn labelled_percentiles(&self) -> Option<[(&'static str, f64); 9]> {
        let values = match self {
            SeriesStats::Gauge { percentiles, .. } => *percentiles,
            SeriesStats::Histogram { estimates, .. } => (*estimates)?,
            SeriesStats::Counter { .. } => return None,
        };
        let mut i = 0;
        Some(PERCENTILE_LABELS.map(|label| {
            let v = values[i];
            i += 1;
            (label, v)
        }))
    }
}

/// [`aggregate_sliced`] without slices.
pub fn aggregate(scrapes: &[Scrape], start_ns: u64, end_ns: u64) -> Vec<MetricSummary> {
    aggregate_sliced(scrapes, start_ns, end_ns, None)
}

/// Aggregates every series of every metric over `[start_ns, end_ns]`, with per-slice
/// statistics when `slice_duration_s` (AIPerf's `--slice-duration`, seconds) is positive
/// (see the module docs).
pub fn aggregate_sliced(
    scrapes: &[Scrape],
    start_ns: u64,
    end_ns: u64,
    slice_duration_s: Option<f64>,
) -> Vec<MetricSummary> {
    if start_ns >= end_ns {
        return Vec::new();
    }
    let mut window = Window {
        start_ns,
        end_ns,
        created_after: None,
        slice_ns: slice_duration_s
            .filter(|s| *s > 0.0)
            .map(|s| (s * 1e9) as u64)
            .filter(|&ns| ns > 0),
    };
    let mut sorted: Vec<&Scrape> = scrapes.iter().collect();
    sorted.sort_by_key(|s| s.t_ns);
    window.created_after = sorted.iter().rev().map(|s| s.t_ns).find(|&t| t < start_ns);

    let mut metrics: BTreeMap<(String, u8), MetricAcc> = BTreeMap::new();
    for scrape in &sorted {
        for f in &scrape.page.families {
            if !is_collected(f) {
                continue;
            }
            let m = metric_acc(&mut metrics, f);
            for (labels, sample) in family_series(f) {
                m.add(scrape.t_ns, labels, sample);
            }
        }
    }

    metrics
        .into_iter()
        .filter_map(|((name, _), m)| {
            let kind = m.kind;
            let series: Vec<SeriesSummary> = m
                .series
                .into_iter()
                .filter_map(|(labels, data)| {
                    let stats = match (kind, data) {
                        (MetricType::Counter, SeriesData::Scalar(p)) => counter_stats(&p, &window),
                        (MetricType::Histogram, SeriesData::Histogram(h)) => {
                            histogram_stats(&h, &window)
                        }
                        (_, SeriesData::Scalar(p)) => gauge_stats(&p, &window),
                        (_, SeriesData::Histogram(_)) => None,
                    }?;
                    Some(SeriesSummary { labels, stats })
                })
                .collect();
            if series.is_empty() {
                return None;
            }
            let help = m.help.as_deref().unwrap_or("");
            let unit = crate::units::infer_unit(&name, help)
                .map(str::to_string)
                .or(m.unit);
            Some(MetricSummary {
                name,
                kind,
                help: m.help,
                unit,
                series,
            })
        })
        .collect()
}

/// The window end AIPerf aggregates a profiling phase up to, for one endpoint:
/// `max(profiling_end_ns, time of the last scrape whose page differed from the scrape before
/// it)`, so the final scrapes taken just after the run count (AIPerf compares response
/// hashes; parsed pages are compared here).
pub fn aiperf_window_end(scrapes: &[Scrape], profiling_end_ns: u64) -> u64 {
    let mut sorted: Vec<&Scrape> = scrapes.iter().collect();
    sorted.sort_by_key(|s| s.t_ns);
    let last_update = sorted
        .iter()
        .enumerate()
        .filter(|(i, s)| *i == 0 || sorted[i - 1].page != s.page)
        .map(|(_, s)| s.t_ns)
        .max();
    last_update.map_or(profiling_end_ns, |t| t.max(profiling_end_ns))
}

/// The aggregation window and how it is sliced.
#[derive(Debug, Clone, Copy)]
struct Window {
    start_ns: u64,
    end_ns: u64,
    /// The endpoint's last scrape before the window: series first seen after it start
    /// from an implicit zero there.
    created_after: Option<u64>,
    /// `int(slice_duration * 1e9)`, when slicing.
    slice_ns: Option<u64>,
}

/// First index with `t >= x` (`np.searchsorted(ts, x, side="left")`).
fn lower_bound(ts: &[u64], x: u64) -> usize {
    ts.partition_point(|&t| t < x)
}

/// First index with `t > x` (`np.searchsorted(ts, x, side="right")`).
fn upper_bound(ts: &[u64], x: u64) -> usize {
    ts.partition_point(|&t| t <= x)
}

/// Last index with `t < start` (the reference point), if any.
fn reference_idx(ts: &[u64], start_ns: u64) -> Option<usize> {
    lower_bound(ts, start_ns).checked_sub(1)
}

/// `(start, end, complete)` of each slice of `[start, end]`, from `start` on, the last one
/// clipped to `end` and marked incomplete when shorter. `None` when no slice fits.
fn timeslice_boundaries(w: &Window, slice_ns: u64) -> Option<Vec<(u64, u64, bool)>> {
    if slice_ns == 0 || w.start_ns >= w.end_ns {
        return None;
    }
    let mut out = Vec::new();
    let mut s = w.start_ns;
    while s < w.end_ns {
        let e = s.saturating_add(slice_ns);
        out.push((s, e.min(w.end_ns), e <= w.end_ns));
        s = e;
    }
    if let Some(&(_, last_end, true)) = out.last() {
        if last_end < w.end_ns {
            out.push((last_end, w.end_ns, false));
        }
    }
    Some(out)
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

fn seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

fn gauge_stats(points: &[(u64, f64)], w: &Window) -> Option<SeriesStats> {
    let ts: Vec<u64> = points.iter().map(|p| p.0).collect();
    let (a, b) = (lower_bound(&ts, w.start_ns), upper_bound(&ts, w.end_ns));
    if a >= b {
        return None;
    }
    let values: Vec<f64> = points[a..b].iter().map(|p| p.1).collect();
    let n = values.len();
    let std = if n > 1 { np_std(&values, 1) } else { 0.0 };
    let mut sorted = values.clone();
    sorted.sort_by(f64::total_cmp);
    let timeslices = w
        .slice_ns
        .and_then(|s| gauge_timeslices(&ts[a..b], &values, w, s));
    Some(SeriesStats::Gauge {
        avg: np_mean(&values),
        min: sorted[0],
        max: sorted[n - 1],
        std,
        percentiles: PERCENTILES.map(|p| np_percentile(&sorted, p)),
        samples: n,
        timeslices,
    })
}

/// Each slice's points: from the first at or after its start to the last before its end
/// (the very last point also counts for the last slice when it ends exactly there).
fn gauge_timeslices(
    ts: &[u64],
    values: &[f64],
    w: &Window,
    slice_ns: u64,
) -> Option<Vec<GaugeTimeslice>> {
    if ts.len() < 2 {
        return None;
    }
    let bounds = timeslice_boundaries(w, slice_ns)?;
    let last = bounds.len() - 1;
    let out: Vec<GaugeTimeslice> = bounds
        .iter()
        .enumerate()
        .filter_map(|(i, &(start_ns, end_ns, is_complete))| {
            let a = lower_bound(ts, start_ns);
            let b = if i == last && end_ns == ts[ts.len() - 1] {
                ts.len()
            } else {
                lower_bound(ts, end_ns)
            };
            if a >= b {
                return None;
            }
            let v = &values[a..b];
            let (min, max) = min_max(v);
            Some(GaugeTimeslice {
                start_ns,
                end_ns,
                is_complete,
                avg: np_mean(v),
                min,
                max,
            })
        })
        .collect();
    (!out.is_empty()).then_some(out)
}

fn counter_stats(points: &[(u64, f64)], w: &Window) -> Option<SeriesStats> {
    let with_zero: Vec<(u64, f64)>;
    let mut points = points;
    if let (Some(t0), Some(first)) = (w.created_after, points.first()) {
        if first.0 >= w.start_ns {
            with_zero = std::iter::once((t0, 0.0))
                .chain(points.iter().copied())
                .collect();
            points = &with_zero;
        }
    }
    let ts: Vec<u64> = points.iter().map(|p| p.0).collect();
    let reference = reference_idx(&ts, w.start_ns);
    let (a, b) = (lower_bound(&ts, w.start_ns), upper_bound(&ts, w.end_ns));
    if a >= b {
        return None;
    }
    let first = reference.unwrap_or(a);
    let ref_t = points[first].0;
    let last_t = points[b - 1].0;
    let total = running_increase(points[first..b].iter().map(|p| p.1))
        .last()
        .copied()
        .unwrap_or(0.0);
    let duration_ns = last_t.saturating_sub(ref_t);
    let rate = if duration_ns > 0 {
        total / seconds(duration_ns)
    } else {
        0.0
    };
    let mut stats = SeriesStats::Counter {
        total,
        rate,
        rate_avg: None,
        rate_min: None,
        rate_max: None,
        rate_std: None,
        timeslices: None,
    };
    if let Some(slice_ns) = w.slice_ns {
        let slices = counter_timeslices(points, reference, a, b, w, slice_ns);
        let rates: Vec<f64> = slices
            .iter()
            .filter(|s| s.is_complete)
            .map(|s| s.rate)
            .collect();
        if let SeriesStats::Counter {
            rate_avg,
            rate_min,
            rate_max,
            rate_std,
            timeslices,
            ..
        } = &mut stats
        {
            if !rates.is_empty() {
                let (lo, hi) = min_max(&rates);
                *rate_avg = Some(np_mean(&rates));
                *rate_min = Some(lo);
                *rate_max = Some(hi);
                *rate_std = Some(if rates.len() > 1 {
                    np_std(&rates, 1)
                } else {
                    0.0
                });
            }
            *timeslices = Some(slices);
        }
    }
    Some(stats)
}

/// The running reset-safe increase of a counter's values, like PromQL's `increase()`: a
/// value below the one before it means the counter restarted from 0. Kept per run of
/// non-decreasing values (`value − run start`), so without a drop the last entry is exactly
/// `last − first`, AIPerf's arithmetic, to the bit; AIPerf's `max(last − first, 0)` loses
/// everything counted before a restart. Used for server counters and GPU energy alike.
pub(crate) fn running_increase(values: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut out = Vec::new();
    let mut values = values.into_iter();
    let Some(first) = values.next() else {
        return out;
    };
    let (mut before_runs, mut run_start, mut prev) = (0.0, first, first);
    out.push(0.0);
    for v in values {
        if v < prev {
            before_runs += prev - run_start;
            run_start = 0.0;
        }
        prev = v;
        out.push(before_runs + (v - run_start));
    }
    out
}

/// Each slice's increase between the last points at or before its start and its end, over
/// the reference point followed by the window's points.
fn counter_timeslices(
    points: &[(u64, f64)],
    reference: Option<usize>,
    a: usize,
    b: usize,
    w: &Window,
    slice_ns: u64,
) -> Vec<CounterTimeslice> {
    let series: Vec<(u64, f64)> = reference
        .map(|i| points[i])
        .into_iter()
        .chain(points[a..b].iter().copied())
        .collect();
    if series.len() < 2 {
        return Vec::new();
    }
    let Some(bounds) = timeslice_boundaries(w, slice_ns) else {
        return Vec::new();
    };
    let ts: Vec<u64> = series.iter().map(|p| p.0).collect();
    let running = running_increase(series.iter().map(|p| p.1));
    let at = |x: u64| running[upper_bound(&ts, x).saturating_sub(1).min(series.len() - 1)];
    bounds
        .into_iter()
        .map(|(start_ns, end_ns, is_complete)| {
            let total = (at(end_ns) - at(start_ns)).max(0.0);
            let duration = end_ns - start_ns;
            CounterTimeslice {
                start_ns,
                end_ns,
                is_complete,
                total,
                rate: if duration > 0 {
                    total / seconds(duration)
                } else {
                    0.0
                },
            }
        })
        .collect()
}

/// Per-`le` increases from `from` to `to` (rows in schema order); `None` if one decreased.
fn bucket_increases(les: &[(String, f64)], from: &[f64], to: &[f64]) -> Option<Vec<Bucket>> {
    les.iter()
        .enumerate()
        .map(|(j, (le, upper))| {
            let d = to[j] - from[j];
            (d >= 0.0).then(|| Bucket {
                le: le.clone(),
                upper: *upper,
                count: d as u64,
            })
        })
        .collect()
}

fn histogram_stats(h: &HistSeries, w: &Window) -> Option<SeriesStats> {
    if let (Some(t0), Some(first)) = (w.created_after, h.points.first()) {
        if first.t_ns >= w.start_ns {
            let zero = HistPoint {
                t_ns: t0,
                sum: 0.0,
                count: 0.0,
                buckets: vec![0.0; h.les.len()],
            };
            let h = HistSeries {
                les: h.les.clone(),
                points: std::iter::once(zero)
                    .chain(h.points.iter().cloned())
                    .collect(),
            };
            return histogram_stats(
                &h,
                &Window {
                    created_after: None,
                    ..*w
                },
            );
        }
    }
    let p = &h.points;
    if p.is_empty() {
        return None;
    }
    let ts: Vec<u64> = p.iter().map(|x| x.t_ns).collect();
    let reference = reference_idx(&ts, w.start_ns);
    let fin = upper_bound(&ts, w.end_ns).checked_sub(1)?;
    let base = reference.unwrap_or(0);
    let sum_delta = p[fin].sum - p[base].sum;
    let count_delta = (p[fin].count - p[base].count) as i64;
    let duration_ns = ts[fin].saturating_sub(ts[base]);
    let sum = if sum_delta < 0.0 { 0.0 } else { sum_delta };
    let count = count_delta.max(0) as u64;
    let buckets = bucket_increases(&h.les, &p[base].buckets, &p[fin].buckets);
    if count == 0 {
        return Some(SeriesStats::Histogram {
            count: 0,
            sum: None,
            avg: None,
            count_rate: None,
            sum_rate: None,
            estimates: None,
            buckets,
            timeslices: None,
        });
    }
    let per_second = |v: f64| (duration_ns > 0).then(|| v / seconds(duration_ns));
    let estimates = match &buckets {
        Some(b) if !b.is_empty() => {
            let sums: Vec<f64> = p.iter().map(|x| x.sum).collect();
            let counts: Vec<f64> = p.iter().map(|x| x.count).collect();
            let rows: Vec<Vec<f64>> = p.iter().map(|x| x.buckets.clone()).collect();
            let learned = accumulate_bucket_statistics(&sums, &counts, &rows, base);
            let cumulative: Vec<(f64, f64)> = b.iter().map(|x| (x.upper, x.count as f64)).collect();
            compute_estimated_percentiles(&cumulative, &learned, sum, count as i64)
        }
        _ => None,
    };
    let timeslices = w
        .slice_ns
        .and_then(|s| histogram_timeslices(h, &ts, base, fin, w, s));
    Some(SeriesStats::Histogram {
        count,
        sum: Some(sum),
        avg: Some(sum / count as f64),
        count_rate: per_second(count as f64),
        sum_rate: per_second(sum),
        estimates,
        buckets,
        timeslices,
    })
}

/// Each slice's increases between the last points at or before its start and its end
/// (over all points of the series); slices where `_sum` or `_count` decreased are left out.
fn histogram_timeslices(
    h: &HistSeries,
    ts: &[u64],
    base: usize,
    fin: usize,
    w: &Window,
    slice_ns: u64,
) -> Option<Vec<HistogramTimeslice>> {
    if fin <= base {
        return None;
    }
    let bounds = timeslice_boundaries(w, slice_ns)?;
    let p = &h.points;
    let at = |x: u64| upper_bound(ts, x).saturating_sub(1).min(ts.len() - 1);
    let out: Vec<HistogramTimeslice> = bounds
        .into_iter()
        .filter_map(|(start_ns, end_ns, is_complete)| {
            let (i, j) = (at(start_ns), at(end_ns));
            let sum = p[j].sum - p[i].sum;
            let count = p[j].count - p[i].count;
            if sum < 0.0 || count < 0.0 {
                return None;
            }
            Some(HistogramTimeslice {
                start_ns,
                end_ns,
                is_complete,
                count: count as u64,
                sum,
                avg: if count > 0.0 { sum / count } else { 0.0 },
                buckets: if h.les.is_empty() {
                    None
                } else {
                    bucket_increases(&h.les, &p[i].buckets, &p[j].buckets)
                },
            })
        })
        .collect();
    (!out.is_empty()).then_some(out)
}

/// One histogram point: cumulative `_sum`, `_count` and buckets in schema order.
#[derive(Debug, Clone)]
struct HistPoint {
    t_ns: u64,
    sum: f64,
    count: f64,
    buckets: Vec<f64>,
}

/// A histogram series: its bucket schema (`le` text and value, ascending; fixed by the first
/// point) and its points.
#[derive(Debug, Clone, Default)]
struct HistSeries {
    les: Vec<(String, f64)>,
    points: Vec<HistPoint>,
}

#[derive(Debug)]
enum SeriesData {
    /// `(t_ns, value)` of counters, gauges and untyped metrics.
    Scalar(Vec<(u64, f64)>),
    Histogram(HistSeries),
}

#[derive(Debug)]
struct MetricAcc {
    kind: MetricType,
    help: Option<String>,
    unit: Option<String>,
    series: BTreeMap<Labels, SeriesData>,
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

fn metric_acc<'a>(
    metrics: &'a mut BTreeMap<(String, u8), MetricAcc>,
    f: &Family,
) -> &'a mut MetricAcc {
    let m = metrics
        .entry((output_name(f).to_string(), kind_rank(f.kind)))
        .or_insert_with(|| MetricAcc {
            kind: f.kind,
            // AIPerf keeps the description of the first scrape that had the family.
            help: f.help.clone(),
            unit: None,
            series: BTreeMap::new(),
        });
    // Scrapes are visited in time order: the latest UNIT wins.
    if f.unit.is_some() {
        m.unit.clone_from(&f.unit);
    }
    m
}

impl MetricAcc {
    /// Appends one page's point to series `labels` (a sample of the other shape than the
    /// series' first is ignored).
    fn add(&mut self, t_ns: u64, labels: Labels, sample: PageSample) {
        match sample {
            PageSample::Scalar(v) => {
                if let SeriesData::Scalar(points) = self
                    .series
                    .entry(labels)
                    .or_insert_with(|| SeriesData::Scalar(Vec::new()))
                {
                    points.push((t_ns, v));
                }
            }
            PageSample::Histogram(raw) => {
                if let SeriesData::Histogram(h) = self
                    .series
                    .entry(labels)
                    .or_insert_with(|| SeriesData::Histogram(HistSeries::default()))
                {
                    h.push(t_ns, &raw);
                }
            }
        }
    }
}

impl HistSeries {
    fn push(&mut self, t_ns: u64, raw: &RawHistogram) {
        if self.points.is_empty() {
            // The first point fixes the bucket schema, sorted by `le` value.
            self.les = raw.bucket_schema();
        }
        self.points.push(HistPoint {
            t_ns,
            sum: raw.sum.unwrap_or(0.0),
            count: raw.count.unwrap_or(0.0),
            buckets: self.les.iter().map(|(le, _)| raw.bucket(le)).collect(),
        });
    }
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
        assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} != {b}");
    }

    fn counter(m: &MetricSummary, i: usize) -> (f64, f64) {
        match &m.series[i].stats {
            SeriesStats::Counter { total, rate, .. } => (*total, *rate),
            other => panic!("not a counter: {other:?}"),
        }
    }

    #[test]
    fn empty_input_gives_empty_output() {
        assert!(aggregate(&[], 0, 10 * S).is_empty());
        // Scrapes only after the window: no gauge point, no counter point, no histogram end.
        let late = [scrape(
            20 * S,
            "# TYPE g gauge\ng 1\n# TYPE c counter\nc_total 5\n",
        )];
        assert!(aggregate(&late, 0, 10 * S).is_empty());
        // Inverted and empty windows (AIPerf skips `start >= end`).
        let s = [scrape(5 * S, "# TYPE g gauge\ng 1\n")];
        assert!(aggregate(&s, 10 * S, 0).is_empty());
        assert!(aggregate(&s, 5 * S, 5 * S).is_empty());
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
        // numpy linear, index 2p/100 over [2, 4, 9] (from the upper side once the weight is
        // >= 0.5): p1 0.02 -> 2.04, p5 0.1 -> 2.2, p10 0.2 -> 2.4, p25 0.5 -> 4 - 2*0.5 = 3,
        // p50 1 -> 4, p75 1.5 -> 9 - 5*0.5 = 6.5, p90 1.8 -> 8, p95 1.9 -> 8.5, p99 1.98 -> 8.9.
        // Same numbers as AIPerf's compute_stats on these points.
        match &m.series[0].stats {
            SeriesStats::Gauge {
                avg,
                min,
                max,
                std,
                percentiles,
                samples,
                timeslices,
            } => {
                assert_eq!((*avg, *min, *max), (5.0, 2.0, 9.0));
                assert_eq!(*std, 13f64.sqrt());
                let expect = [2.04, 2.2, 2.4, 3.0, 4.0, 6.5, 8.0, 8.5, 8.9];
                for (g, e) in percentiles.iter().zip(expect) {
                    close(*g, e);
                }
                assert_eq!(*samples, 3);
                assert_eq!(*timeslices, None);
            }
            other => panic!("not a gauge: {other:?}"),
        }
        let p = m.series[0].stats.labelled_percentiles().unwrap();
        assert_eq!((p[0].0, p[8].0), ("p1", "p99"));
        assert_eq!(p[4], ("p50", 4.0));
    }

    #[test]
    fn gauge_without_points_in_window_is_left_out() {
        let scrapes = [
            scrape(0, "g 1\n"), // untyped: treated like a gauge
            scrape(2 * S, "g 7\nh 3\n"),
            scrape(20 * S, "g 50\n"),
        ];
        // No point of g or h within [5 s, 10 s]: nothing (AIPerf has no fallback).
        assert!(aggregate(&scrapes, 5 * S, 10 * S).is_empty());
        let out = aggregate(&scrapes, S, 10 * S);
        let m = metric(&out, "h");
        assert_eq!(m.kind, MetricType::Untyped);
        match &m.series[0].stats {
            SeriesStats::Gauge {
                avg, std, samples, ..
            } => assert_eq!((*avg, *std, *samples), (3.0, 0.0, 1)),
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
    fn running_increase_restarts_from_zero_after_a_drop() {
        assert_eq!(running_increase([10.0, 12.0, 15.0]), [0.0, 2.0, 5.0]);
        // 10 -> 12 (+2), restart, 3 -> 4 (+4 counted from 0).
        assert_eq!(
            running_increase([10.0, 12.0, 3.0, 4.0]),
            [0.0, 2.0, 5.0, 6.0]
        );
        assert_eq!(running_increase([7.0]), [0.0]);
        assert!(running_increase([]).is_empty());
    }

    #[test]
    fn counter_total_is_reset_safe_like_promql_increase() {
        let page = |v: u32| format!("# TYPE reqs counter\nreqs_total {v}\n");
        let run = |vals: [u32; 4]| {
            let scrapes: Vec<Scrape> = vals
                .iter()
                .enumerate()
                .map(|(i, v)| scrape(i as u64 * S, &page(*v)))
                .collect();
            counter(metric(&aggregate(&scrapes, 0, 3 * S), "reqs"), 0)
        };
        // Without a drop: 20 - 10 over 3 s.
        let (total, rate) = run([10, 15, 17, 20]);
        assert_eq!(total, 10.0);
        close(rate, 10.0 / 3.0);
        // A restart between 15 and 3: 5 before it, then 3 from zero, then 17 more: 25
        // (AIPerf's max(20 - 10, 0) would say 10).
        let (total, rate) = run([10, 15, 3, 20]);
        assert_eq!(total, 25.0);
        close(rate, 25.0 / 3.0);
        // Ends below the reference: 5 + 3 + 5 = 13, not AIPerf's 0.
        assert_eq!(run([10, 15, 3, 8]).0, 13.0);
    }

    #[test]
    fn counter_declared_with_total_suffix_is_stripped() {
        let page = |v: u32| {
            format!("# TYPE vllm:prompt_tokens_total counter\nvllm:prompt_tokens_total {v}\n")
        };
        let out = aggregate(&[scrape(0, &page(1)), scrape(2 * S, &page(5))], 0, 2 * S);
        let m = metric(&out, "vllm:prompt_tokens");
        assert_eq!(m.unit.as_deref(), Some("tokens"));
        assert_eq!(counter(m, 0), (4.0, 2.0));
    }

    #[test]
    fn counter_baseline_before_window() {
        let page = |v: u32| format!("# TYPE c counter\nc_total {v}\n");
        let scrapes = [
            scrape(0, &page(100)),
            scrape(2 * S, &page(110)), // reference: last scrape before start = 3 s
            scrape(4 * S, &page(130)),
            scrape(6 * S, &page(160)), // last scrape at or before the end, 6 s
            scrape(8 * S, &page(1000)), // after the window
        ];
        let out = aggregate(&scrapes, 3 * S, 6 * S);
        // 160 - 110 = 50 over 6 s - 2 s = 4 s -> 12.5/s.
        assert_eq!(counter(metric(&out, "c"), 0), (50.0, 12.5));
    }

    #[test]
    fn reference_is_strictly_before_the_window() {
        let page = |v: u32| format!("# TYPE c counter\nc_total {v}\n");
        let scrapes = [
            scrape(S, &page(5)),
            scrape(2 * S, &page(7)), // exactly at the start: inside the window
            scrape(4 * S, &page(10)),
        ];
        // Reference 1 s (5): 10 - 5 over 3 s.
        let (total, rate) = counter(metric(&aggregate(&scrapes, 2 * S, 4 * S), "c"), 0);
        assert_eq!(total, 5.0);
        close(rate, 5.0 / 3.0);
    }

    #[test]
    fn counter_without_baseline_uses_first_window_scrape() {
        let page = |v: u32| format!("# TYPE c counter\nc_total {v}\n");
        let scrapes = [scrape(5 * S, &page(40)), scrape(7 * S, &page(46))];
        let out = aggregate(&scrapes, 3 * S, 10 * S);
        // Reference 5 s (40), end 7 s (46): 6 over 2 s.
        assert_eq!(counter(metric(&out, "c"), 0), (6.0, 3.0));
    }

    #[test]
    fn counter_single_scrape_gives_zero_and_zero_rate() {
        let out = aggregate(&[scrape(S, "# TYPE c counter\nc_total 42\n")], 0, 10 * S);
        assert_eq!(counter(metric(&out, "c"), 0), (0.0, 0.0));
    }

    #[test]
    fn counter_nan_reading_is_dropped() {
        let page = |v: &str| format!("# TYPE c counter\nc_total {v}\n");
        let scrapes = [
            scrape(0, &page("10")),
            scrape(S, &page("NaN")),
            scrape(2 * S, &page("15")),
        ];
        // NaN dropped: 15 - 10 = 5 over 2 s.
        assert_eq!(
            counter(metric(&aggregate(&scrapes, 0, 2 * S), "c"), 0),
            (5.0, 2.5)
        );
    }

    #[test]
    fn series_appearing_mid_window_start_from_their_first_point() {
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
        assert_eq!(counter(m, 0), (10.0, 2.5));
        // b: no point before the window: its first point (7 at 2 s) is the reference.
        assert_eq!(counter(m, 1), (2.0, 1.0));
        // gone: one point -> 0, no time -> rate 0.
        assert_eq!(counter(m, 2), (0.0, 0.0));
    }

    #[test]
    fn series_created_after_the_pre_window_scrape_count_from_zero() {
        let scrapes = [
            scrape(0, "# TYPE c counter\nc_total{m=\"a\"} 10\n"), // before the window
            scrape(
                2 * S,
                "# TYPE c counter\nc_total{m=\"a\"} 12\nc_total{m=\"b\"} 7\n",
            ),
            scrape(
                4 * S,
                "# TYPE c counter\nc_total{m=\"a\"} 20\nc_total{m=\"b\"} 9\n",
            ),
        ];
        let out = aggregate(&scrapes, S, 4 * S);
        let m = metric(&out, "c");
        // a existed before the window: 20 - 10 over 4 s, as in AIPerf.
        assert_eq!(counter(m, 0), (10.0, 2.5));
        // b was created after the pre-window scrape: from an implicit 0 at 0 s, 9 over 4 s
        // (AIPerf would report 9 - 7 = 2 over 2 s).
        assert_eq!(counter(m, 1), (9.0, 2.25));
        // The same for a histogram that first appears mid-run.
        let h = |n: u32| {
            format!(
                "# TYPE h histogram\nh_bucket{{le=\"1.0\"}} {n}\nh_bucket{{le=\"+Inf\"}} {n}\n\
                 h_sum {n}\nh_count {n}\n"
            )
        };
        let scrapes = [
            scrape(0, "# TYPE up gauge\nup 1\n"),
            scrape(2 * S, &h(3)),
            scrape(4 * S, &h(5)),
        ];
        match &metric(&aggregate(&scrapes, S, 4 * S), "h").series[0].stats {
            SeriesStats::Histogram {
                count, count_rate, ..
            } => assert_eq!((*count, *count_rate), (5, Some(1.25))),
            other => panic!("not a histogram: {other:?}"),
        }
    }

    #[test]
    fn window_end_reaches_the_last_changed_scrape() {
        let page = |v: u32| format!("# TYPE c counter\nc_total {v}\n");
        let scrapes = [
            scrape(0, &page(1)),
            scrape(5 * S, &page(4)),
            scrape(6 * S, &page(9)), // after the run: the last change
            scrape(7 * S, &page(9)), // unchanged
        ];
        assert_eq!(aiperf_window_end(&scrapes, 5 * S), 6 * S);
        assert_eq!(aiperf_window_end(&scrapes, 8 * S), 8 * S);
        assert_eq!(aiperf_window_end(&[], 3 * S), 3 * S);
    }

    #[test]
    fn counter_timeslice_rates() {
        let page = |v: u32| format!("# TYPE c counter\nc_total {v}\n");
        let scrapes = [
            scrape(0, &page(0)),
            scrape(S, &page(10)),
            scrape(2 * S, &page(30)),
            scrape(3 * S, &page(60)),
        ];
        // Window 0..3.5 s in 1 s slices: rates 10, 20, 30 and a partial slice 3..3.5 s
        // with nothing new (rate 0, left out of the rate statistics): avg 20, min 10,
        // max 30, std (ddof 1) 10. Same as AIPerf's compute_stats on these points.
        let out = aggregate_sliced(&scrapes, 0, 3 * S + S / 2, Some(1.0));
        match &metric(&out, "c").series[0].stats {
            SeriesStats::Counter {
                total,
                rate,
                rate_avg,
                rate_min,
                rate_max,
                rate_std,
                timeslices,
            } => {
                assert_eq!((*total, *rate), (60.0, 20.0));
                assert_eq!(
                    (*rate_avg, *rate_min, *rate_max, *rate_std),
                    (Some(20.0), Some(10.0), Some(30.0), Some(10.0))
                );
                let t = timeslices.as_ref().unwrap();
                let got: Vec<(u64, u64, bool, f64)> = t
                    .iter()
                    .map(|s| (s.start_ns, s.end_ns, s.is_complete, s.rate))
                    .collect();
                assert_eq!(
                    got,
                    [
                        (0, S, true, 10.0),
                        (S, 2 * S, true, 20.0),
                        (2 * S, 3 * S, true, 30.0),
                        (3 * S, 3 * S + S / 2, false, 0.0)
                    ]
                );
                assert_eq!(t[1].total, 20.0);
            }
            other => panic!("not a counter: {other:?}"),
        }
        // Without slices: no rate statistics.
        match &metric(&aggregate(&scrapes, 0, 3 * S), "c").series[0].stats {
            SeriesStats::Counter {
                rate_avg,
                timeslices,
                ..
            } => assert_eq!((*rate_avg, timeslices.is_none()), (None, true)),
            other => panic!("not a counter: {other:?}"),
        }
    }

    #[test]
    fn gauge_timeslices() {
        let page = |v: u32| format!("# TYPE g gauge\ng {v}\n");
        let scrapes = [
            scrape(0, &page(1)),
            scrape(S / 2, &page(3)),
            scrape(S, &page(5)),
            scrape(3 * S / 2, &page(7)),
        ];
        let out = aggregate_sliced(&scrapes, 0, 2 * S, Some(1.0));
        match &out[0].series[0].stats {
            SeriesStats::Gauge {
                avg,
                std,
                percentiles,
                timeslices,
                ..
            } => {
                // AIPerf's compute_stats: avg 4, std 2.581988897471611, p1 1.06, p95 6.7.
                assert_eq!(*avg, 4.0);
                close(*std, 2.581988897471611);
                close(percentiles[0], 1.06);
                close(percentiles[7], 6.699999999999999);
                let t = timeslices.as_ref().unwrap();
                assert_eq!(
                    t,
                    &vec![
                        GaugeTimeslice {
                            start_ns: 0,
                            end_ns: S,
                            is_complete: true,
                            avg: 2.0,
                            min: 1.0,
                            max: 3.0
                        },
                        GaugeTimeslice {
                            start_ns: S,
                            end_ns: 2 * S,
                            is_complete: true,
                            avg: 6.0,
                            min: 5.0,
                            max: 7.0
                        },
                    ]
                );
            }
            other => panic!("not a gauge: {other:?}"),
        }
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

    fn hist_scrapes() -> Vec<Scrape> {
        vec![
            scrape(0, &hist_page([5, 10, 20, 25], 25, 10.0)),
            scrape(5 * S, &hist_page([9, 30, 50, 60], 60, 25.0)),
            scrape(10 * S, &hist_page([15, 50, 75, 85], 85, 40.0)),
            // 3 observations, all in (0.1, 0.5], sum 1.2: a learned in-bucket mean of 0.4.
            scrape(12 * S, &hist_page([15, 53, 78, 88], 88, 41.2)),
        ]
    }

    #[test]
    fn histogram_stats_and_estimates_match_aiperf() {
        let out = aggregate(&hist_scrapes(), 0, 12 * S);
        let m = metric(&out, "lat_seconds");
        assert_eq!(m.kind, MetricType::Histogram);
        assert_eq!(m.unit.as_deref(), Some("seconds"));
        assert_eq!(m.help.as_deref(), Some("Request latency."));
        assert_eq!(out.len(), 1);
        assert_eq!(m.series[0].labels, labels(&[("model", "m")]));
        match &m.series[0].stats {
            SeriesStats::Histogram {
                count,
                sum,
                avg,
                count_rate,
                sum_rate,
                estimates,
                buckets,
                timeslices,
            } => {
                // Reference: the first scrape (nothing before the window). Buckets
                // 15-5, 53-10, 78-20, 88-25; count 63, sum 31.2 over 12 s.
                let b: Vec<(&str, u64)> = buckets
                    .as_ref()
                    .unwrap()
                    .iter()
                    .map(|b| (b.le.as_str(), b.count))
                    .collect();
                assert_eq!(b, [("0.1", 10), ("0.5", 43), ("1", 58), ("+Inf", 63)]);
                assert_eq!(*count, 63);
                close(sum.unwrap(), 31.2);
                close(avg.unwrap(), 0.4952380952380953);
                assert_eq!((*count_rate, *sum_rate), (Some(5.25), Some(2.6)));
                // AIPerf 0.13's own compute_stats (export_stats.py) on the same four
                // scrapes, run from a scratch script under /tmp.
                let expect = [
                    0.012039765359678925,
                    0.03683976535967892,
                    0.06783976535967892,
                    0.279235647048385,
                    0.4671144349271728,
                    0.6459298137285172,
                    0.9559298137285173,
                    1.1124999999999972,
                    1.4224999999999905,
                ];
                let e = estimates.unwrap();
                for (g, x) in e.iter().zip(expect) {
                    close(*g, x);
                }
                assert_eq!(*timeslices, None);
            }
            other => panic!("not a histogram: {other:?}"),
        }
    }

    #[test]
    fn histogram_timeslices_match_aiperf() {
        let out = aggregate_sliced(&hist_scrapes(), 0, 12 * S, Some(5.0));
        let SeriesStats::Histogram { timeslices, .. } = &out[0].series[0].stats else {
            panic!("not a histogram");
        };
        let t = timeslices.as_ref().unwrap();
        let got: Vec<(u64, u64, bool, u64, f64)> = t
            .iter()
            .map(|s| (s.start_ns, s.end_ns, s.is_complete, s.count, s.avg))
            .collect();
        assert_eq!(got[0], (0, 5 * S, true, 35, 15.0 / 35.0));
        assert_eq!(got[1], (5 * S, 10 * S, true, 25, 0.6));
        assert_eq!(
            (got[2].0, got[2].1, got[2].2, got[2].3),
            (10 * S, 12 * S, false, 3)
        );
        close(got[2].4, 0.4);
        let b: Vec<u64> = t[2]
            .buckets
            .as_ref()
            .unwrap()
            .iter()
            .map(|b| b.count)
            .collect();
        assert_eq!(b, [0, 3, 3, 3]);
    }

    #[test]
    fn histogram_without_new_observations_reports_count_only() {
        let page = hist_page([1, 2, 3, 4], 4, 1.0);
        let out = aggregate(&[scrape(0, &page), scrape(S, &page)], 0, S);
        match &out[0].series[0].stats {
            SeriesStats::Histogram {
                count,
                sum,
                avg,
                count_rate,
                estimates,
                buckets,
                ..
            } => {
                assert_eq!(*count, 0);
                assert_eq!(
                    (*sum, *avg, *count_rate, *estimates),
                    (None, None, None, None)
                );
                let b: Vec<u64> = buckets.as_ref().unwrap().iter().map(|b| b.count).collect();
                assert_eq!(b, [0, 0, 0, 0]);
            }
            other => panic!("not a histogram: {other:?}"),
        }
    }

    #[test]
    fn histogram_reset_drops_buckets_and_estimates() {
        let scrapes = [
            scrape(0, &hist_page([4, 8, 10, 12], 12, 5.0)),
            // Server restarted: every value dropped.
            scrape(S, &hist_page([1, 2, 3, 3], 3, 1.5)),
            scrape(2 * S, &hist_page([5, 9, 14, 16], 16, 7.0)),
        ];
        let out = aggregate(&scrapes, 0, 2 * S);
        match &out[0].series[0].stats {
            SeriesStats::Histogram {
                count,
                sum,
                estimates,
                buckets,
                ..
            } => {
                // Only the two end points count (as in AIPerf): count 16 - 12 = 4, sum
                // 7 - 5 = 2, every bucket ended above where it began, so the restart in
                // between is invisible and the buckets (1, 1, 4, 4) are kept.
                assert_eq!((*count, *sum), (4, Some(2.0)));
                assert!(buckets.is_some() && estimates.is_some());
            }
            other => panic!("not a histogram: {other:?}"),
        }
        let scrapes = [
            scrape(0, &hist_page([4, 8, 10, 10], 10, 5.0)),
            scrape(S, &hist_page([1, 2, 3, 3], 3, 1.5)),
            scrape(2 * S, &hist_page([2, 4, 5, 12], 12, 6.0)),
        ];
        match &aggregate(&scrapes, 0, 2 * S)[0].series[0].stats {
            SeriesStats::Histogram {
                count,
                estimates,
                buckets,
                ..
            } => {
                // le 0.1 went 4 -> 2: a reset, so no buckets and no estimates.
                assert_eq!((*count, buckets, estimates), (2, &None, &None));
            }
            other => panic!("not a histogram: {other:?}"),
        }
    }

    #[test]
    fn histogram_keeps_le_text_and_first_bucket_schema() {
        let page = |extra: &str, a: u32, b: u32| {
            format!(
                "# TYPE h histogram\nh_bucket{{le=\"1.0\"}} {a}\n{extra}h_bucket{{le=\"+Inf\"}} {b}\n\
                 h_sum {b}\nh_count {b}\n"
            )
        };
        let scrapes = [
            scrape(0, &page("", 1, 2)),
            // A bucket the first scrape did not have is ignored.
            scrape(S, &page("h_bucket{le=\"5.0\"} 4\n", 3, 6)),
        ];
        match &aggregate(&scrapes, 0, S)[0].series[0].stats {
            SeriesStats::Histogram { buckets, .. } => {
                let b: Vec<(&str, f64, u64)> = buckets
                    .as_ref()
                    .unwrap()
                    .iter()
                    .map(|b| (b.le.as_str(), b.upper, b.count))
                    .collect();
                assert_eq!(b, [("1.0", 1.0, 2), ("+Inf", f64::INFINITY, 4)]);
            }
            other => panic!("not a histogram: {other:?}"),
        }
    }

    #[test]
    fn summaries_created_and_uptime_families_are_not_collected() {
        let page = "# TYPE rpc summary\nrpc{quantile=\"0.5\"} 0.2\nrpc_sum 4\nrpc_count 10\n\
                    # TYPE start_created gauge\nstart_created 1700000000\n\
                    # TYPE process_uptime_seconds gauge\nprocess_uptime_seconds 12\n\
                    # TYPE engine_uptime gauge\nengine_uptime 3\n\
                    # TYPE up gauge\nup 1\n";
        let out = aggregate(&[scrape(0, page), scrape(S, page)], 0, S);
        let names: Vec<&str> = out.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["up"]);
    }

    #[test]
    fn last_sample_of_a_label_set_wins_within_a_page() {
        let out = aggregate(&[scrape(0, "# TYPE g gauge\ng 1\ng 5\n")], 0, S);
        match &out[0].series[0].stats {
            SeriesStats::Gauge { avg, samples, .. } => assert_eq!((*avg, *samples), (5.0, 1)),
            other => panic!("not a gauge: {other:?}"),
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
    fn units_are_aiperf_s_inference_then_the_openmetrics_unit() {
        let page = "# HELP ttft_seconds Time to first token.\n# TYPE ttft_seconds gauge\n\
                    ttft_seconds 1\n# TYPE mem gauge\n# UNIT mem kibibytes\nmem 1\n# EOF\n";
        let out = aggregate(&[scrape(0, page)], 0, S);
        let unit = |name: &str| {
            out.iter()
                .find(|m| m.name == name)
                .and_then(|m| m.unit.clone())
        };
        // Inferred from the name, as AIPerf does.
        assert_eq!(unit("ttft_seconds").as_deref(), Some("seconds"));
        // Nothing to infer: the page's own `# UNIT`.
        assert_eq!(unit("mem").as_deref(), Some("kibibytes"));
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
}
