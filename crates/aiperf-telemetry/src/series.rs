//! How AIPerf's collector groups one scraped page into series, shared by the aggregation
//! ([`crate::aggregate`]) and the per-scrape exports (`server_metrics_export.parquet`).
//!
//! - **Kept families** ([`is_collected`]): no summaries, and no family whose output name
//!   ends in `_created` or `_uptime` or contains `_uptime_` ([`not_collected`]).
//! - **Output name** ([`output_name`]): counters lose a trailing `_total`.
//! - **Series** ([`family_series`]): per family, its label sets (sorted by label name; for
//!   histograms without `le`) in first-seen order, the last sample of a label set winning.
//!   Non-finite samples are dropped; for a histogram a non-finite `_bucket` / `_sum` /
//!   `_count` drops the whole series from this page ("tainted").
//! - **Histogram samples** are those named `<family>_bucket`, `<family>_sum` and
//!   `<family>_count` (the family name stripped as a prefix, as the parser files them);
//!   others (e.g. a gauge histogram's `_gsum`) are neither read nor taint the series.
//!   Samples named `*_created` in a scalar family are skipped (the parser already drops
//!   them; pages built by hand may still have them).
//! - **Page level** ([`page_families`]): the kept families keyed by output name, a later
//!   family of the same name replacing an earlier one in its place (as a Python dict does),
//!   families left with no series dropped.

use crate::prometheus::{Family, MetricType, Page};

/// Labels of one series, sorted by name (the series identity within its metric).
pub type Labels = Vec<(String, String)>;

/// One histogram series as read from one page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawHistogram {
    /// `(le text, cumulative count)`, first-seen order, last sample per `le` winning.
    pub buckets: Vec<(String, f64)>,
    pub sum: Option<f64>,
    pub count: Option<f64>,
}

impl RawHistogram {
    /// The bucket schema this page gives: `(le text, le value)` sorted by value (`+Inf`
    /// last), an `le` that is not a number left out. The first point of a series fixes it.
    pub fn bucket_schema(&self) -> Vec<(String, f64)> {
        let mut les: Vec<(String, f64)> = self
            .buckets
            .iter()
            .filter_map(|(le, _)| Some((le.clone(), le_value(le)?)))
            .collect();
        les.sort_by(|a, b| a.1.total_cmp(&b.1));
        les
    }

    /// The cumulative count of bucket `le`; 0 when this page lacks it.
    pub fn bucket(&self, le: &str) -> f64 {
        self.buckets
            .iter()
            .find(|(l, _)| l == le)
            .map_or(0.0, |b| b.1)
    }
}

/// An `le` label as a number (`+Inf` is infinity); `None` for text that is not a number.
pub fn le_value(le: &str) -> Option<f64> {
    le.parse::<f64>().ok().filter(|v| !v.is_nan())
}

/// One label set of one family in one page.
#[derive(Debug, Clone, PartialEq)]
pub enum PageSample {
    /// Counter, gauge or untyped value.
    Scalar(f64),
    Histogram(RawHistogram),
}

/// A kept family of one page: its output name, the family, its series.
#[derive(Debug, Clone, PartialEq)]
pub struct PageFamily<'p> {
    pub name: &'p str,
    pub family: &'p Family,
    /// First-seen order.
    pub series: Vec<(Labels, PageSample)>,
}

/// The name a family is collected under: counters without a trailing `_total`.
pub fn output_name(f: &Family) -> &str {
    match f.kind {
        MetricType::Counter => f.name.strip_suffix("_total").unwrap_or(&f.name),
        _ => &f.name,
    }
}

/// AIPerf's collector skips `_created` timestamps and uptime families.
pub fn not_collected(name: &str) -> bool {
    name.ends_with("_created") || name.ends_with("_uptime") || name.contains("_uptime_")
}

/// Whether AIPerf's collector keeps family `f` at all.
pub fn is_collected(f: &Family) -> bool {
    f.kind != MetricType::Summary && !not_collected(output_name(f))
}

fn sorted_labels<'a>(labels: impl Iterator<Item = &'a (String, String)>) -> Labels {
    let mut l: Labels = labels.cloned().collect();
    l.sort();
    l
}

/// Index of `labels` in `out`, appended with `new()` when absent.
fn slot<T>(out: &mut Vec<(Labels, T)>, labels: Labels, new: impl FnOnce() -> T) -> &mut T {
    let i = match out.iter().position(|(l, _)| *l == labels) {
        Some(i) => i,
        None => {
            out.push((labels, new()));
            out.len() - 1
        }
    };
    &mut out[i].1
}

/// Family `f`'s series in one page (see the module docs), whether or not the family is
/// collected; empty when nothing valid is left.
pub fn family_series(f: &Family) -> Vec<(Labels, PageSample)> {
    if f.kind == MetricType::Histogram {
        histogram_series(f)
    } else {
        scalar_series(f)
    }
}

fn scalar_series(f: &Family) -> Vec<(Labels, PageSample)> {
    let mut out: Vec<(Labels, PageSample)> = Vec::new();
    for s in &f.samples {
        if s.name.ends_with("_created") || !s.value.is_finite() {
            continue;
        }
        *slot(&mut out, sorted_labels(s.labels.iter()), || {
            PageSample::Scalar(0.0)
        }) = PageSample::Scalar(s.value);
    }
    out
}

fn histogram_series(f: &Family) -> Vec<(Labels, PageSample)> {
    let mut out: Vec<(Labels, RawHistogram)> = Vec::new();
    let mut tainted: Vec<Labels> = Vec::new();
    for s in &f.samples {
        let Some(part) = s.name.strip_prefix(f.name.as_str()) else {
            continue;
        };
        if !matches!(part, "_bucket" | "_sum" | "_count") {
            continue;
        }
        let labels = sorted_labels(s.labels.iter().filter(|(k, _)| k != "le"));
        if !s.value.is_finite() {
            tainted.push(labels);
            continue;
        }
        let raw = slot(&mut out, labels, RawHistogram::default);
        match part {
            "_bucket" => {
                let le = s.label("le").unwrap_or("+Inf");
                match raw.buckets.iter_mut().find(|(l, _)| l == le) {
                    Some(b) => b.1 = s.value,
                    None => raw.buckets.push((le.to_string(), s.value)),
                }
            }
            "_sum" => raw.sum = Some(s.value),
            _ => raw.count = Some(s.value),
        }
    }
    out.into_iter()
        .filter(|(l, _)| !tainted.contains(l))
        .map(|(l, h)| (l, PageSample::Histogram(h)))
        .collect()
}

/// The families AIPerf keeps from a page, keyed by output name (a later family of the same
/// name replaces an earlier one in its place, as a Python dict does), each with its series
/// in first-seen order. Families left with no series are dropped.
pub fn page_families(page: &Page) -> Vec<PageFamily<'_>> {
    let mut out: Vec<PageFamily<'_>> = Vec::new();
    for family in page.families.iter().filter(|f| is_collected(f)) {
        let series = family_series(family);
        if series.is_empty() {
            continue;
        }
        let entry = PageFamily {
            name: output_name(family),
            family,
            series,
        };
        match out.iter_mut().find(|p| p.name == entry.name) {
            Some(p) => *p = entry,
            None => out.push(entry),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prometheus::parse;

    fn series_of(text: &str) -> Vec<(String, Vec<(Labels, PageSample)>)> {
        let page = parse(text).unwrap();
        page_families(&page)
            .into_iter()
            .map(|p| (p.name.to_string(), p.series))
            .collect()
    }

    fn l(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn kept_families_names_and_first_seen_order() {
        let got = series_of(
            "# TYPE req_total counter\nreq_total{b=\"2\",a=\"1\"} 3\nreq_total{a=\"0\"} 1\n\
             req_total{a=\"1\",b=\"2\"} 4\n\
             # TYPE lat summary\nlat_sum 1\nlat_count 1\n\
             # TYPE process_uptime_seconds gauge\nprocess_uptime_seconds 9\n\
             # TYPE g gauge\ng NaN\n",
        );
        assert_eq!(
            got,
            vec![(
                "req".to_string(),
                vec![
                    (l(&[("a", "1"), ("b", "2")]), PageSample::Scalar(4.0)),
                    (l(&[("a", "0")]), PageSample::Scalar(1.0)),
                ]
            )]
        );
    }

    #[test]
    fn histogram_buckets_and_taint() {
        let got = series_of(
            "# TYPE h histogram\n\
             h_bucket{m=\"a\",le=\"1\"} 1\nh_bucket{m=\"a\",le=\"+Inf\"} 2\nh_sum{m=\"a\"} 3\n\
             h_bucket{m=\"b\",le=\"1\"} 1\nh_count{m=\"b\"} NaN\n",
        );
        let raw = RawHistogram {
            buckets: vec![("1".to_string(), 1.0), ("+Inf".to_string(), 2.0)],
            sum: Some(3.0),
            count: None,
        };
        assert_eq!(
            got,
            vec![(
                "h".to_string(),
                vec![(l(&[("m", "a")]), PageSample::Histogram(raw.clone()))]
            )]
        );
        assert_eq!(
            raw.bucket_schema(),
            vec![("1".to_string(), 1.0), ("+Inf".to_string(), f64::INFINITY)]
        );
        assert_eq!(raw.bucket("2"), 0.0);
    }

    #[test]
    fn a_later_family_of_the_same_name_replaces_the_earlier_in_place() {
        let got = series_of(
            "# TYPE x_total counter\nx_total 1\n# TYPE g gauge\ng 2\n# TYPE x counter\nx 5\n",
        );
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["x", "g"]);
        assert_eq!(got[0].1, vec![(Vec::new(), PageSample::Scalar(5.0))]);
    }
}
