//! Parser for Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text pages.
//!
//! Pure and synchronous: `parse(&str) -> Result<Page, ParseError>`. One pass over the
//! lines plus hash lookups, so time is linear in the page size. It never panics.
//!
//! Mapping of OpenMetrics-only types onto [`MetricType`]:
//! - `gaugehistogram` -> [`MetricType::Histogram`] (`_bucket`, `_gsum`, `_gcount`;
//!   [`Family::buckets`] reads `_gsum`/`_gcount` as sum/count),
//! - `stateset` and `info` -> [`MetricType::Gauge`] (`info` samples are named `<name>_info`),
//! - `unknown` -> [`MetricType::Untyped`].
//!
//! Leniencies (documented choices, not errors): a repeated `# HELP` / `# UNIT` keeps the
//! first; unknown backslash escapes in HELP text and label values are kept verbatim;
//! samples of one family need not be contiguous; content after `# EOF` is ignored.
//!
//! `_created` samples are dropped: those that belong to a counter / histogram / summary
//! family, and whole `<base>_created` families (as `prometheus_client` emits them in the
//! 0.0.4 format, typed `gauge`) when the page has a counter / histogram / summary for `<base>`.

use std::collections::{HashMap, HashSet};

/// The kind of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Full sample name, e.g. `vllm:e2e_request_latency_seconds_bucket`.
    pub name: String,
    /// Labels in page order (including `le` / `quantile`).
    pub labels: Vec<(String, String)>,
    pub value: f64,
    /// Milliseconds since the epoch (OpenMetrics float seconds are converted).
    pub timestamp_ms: Option<i64>,
}

impl Sample {
    /// The value of label `name`, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A metric family: the samples grouped under one `# TYPE` base name.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// Base name from `# TYPE` (or the sample name for samples without a TYPE).
    pub name: String,
    pub kind: MetricType,
    pub help: Option<String>,
    /// OpenMetrics `# UNIT`.
    pub unit: Option<String>,
    pub samples: Vec<Sample>,
}

/// A parsed page: families in order of first appearance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub families: Vec<Family>,
}

impl Page {
    /// The family named `name`, if any.
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.iter().find(|f| f.name == name)
    }
}

/// One labelled series of a histogram family.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSeries {
    /// The series' labels without `le`, in page order.
    pub labels: Vec<(String, String)>,
    /// `(le, cumulative count)`, sorted by `le`, `+Inf` last.
    pub buckets: Vec<(f64, f64)>,
    pub sum: Option<f64>,
    pub count: Option<f64>,
}

/// One labelled series of a summary family.
#[derive(Debug, Clone, PartialEq)]
pub struct SummarySeries {
    /// The series' labels without `quantile`, in page order.
    pub labels: Vec<(String, String)>,
    /// `(quantile, value)`, sorted by quantile.
    pub quantiles: Vec<(f64, f64)>,
    pub sum: Option<f64>,
    pub count: Option<f64>,
}

/// A malformed page: `line N: reason: "<at most 60 chars of the line>"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}: {snippet:?}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    pub reason: String,
    /// At most 60 characters of the offending line.
    pub snippet: String,
}

const SNIPPET_CHARS: usize = 60;

fn snippet(line: &str) -> String {
    line.chars().take(SNIPPET_CHARS).collect()
}

/// Group key for series: labels minus `skip`, sorted so label order does not matter.
type SeriesKey = Vec<(String, String)>;

fn series_key(labels: &[(String, String)], skip: &str) -> (SeriesKey, Vec<(String, String)>) {
    let kept: Vec<(String, String)> = labels.iter().filter(|(k, _)| k != skip).cloned().collect();
    let mut key = kept.clone();
    key.sort();
    (key, kept)
}

fn sort_pairs(v: &mut [(f64, f64)]) {
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
}

impl Family {
    /// Histogram series grouped by labels minus `le` (empty for non-histograms).
    pub fn buckets(&self) -> Vec<HistogramSeries> {
        if self.kind != MetricType::Histogram {
            return Vec::new();
        }
        let mut out: Vec<HistogramSeries> = Vec::new();
        let mut index: HashMap<SeriesKey, usize> = HashMap::new();
        for s in &self.samples {
            let Some(suffix) = s.name.strip_prefix(self.name.as_str()) else {
                continue;
            };
            let (key, kept) = series_key(&s.labels, "le");
            let i = *index.entry(key).or_insert_with(|| {
                out.push(HistogramSeries {
                    labels: kept,
                    buckets: Vec::new(),
                    sum: None,
                    count: None,
                });
                out.len() - 1
            });
            let series = &mut out[i];
            match suffix {
                "_bucket" => {
                    if let Some(le) = s.label("le").and_then(parse_float) {
                        series.buckets.push((le, s.value));
                    }
                }
                "_sum" | "_gsum" => series.sum = Some(s.value),
                "_count" | "_gcount" => series.count = Some(s.value),
                _ => {}
            }
        }
        for series in &mut out {
            sort_pairs(&mut series.buckets);
        }
        out
    }

    /// Summary series grouped by labels minus `quantile` (empty for non-summaries).
    pub fn summaries(&self) -> Vec<SummarySeries> {
        if self.kind != MetricType::Summary {
            return Vec::new();
        }
        let mut out: Vec<SummarySeries> = Vec::new();
        let mut index: HashMap<SeriesKey, usize> = HashMap::new();
        for s in &self.samples {
            let Some(suffix) = s.name.strip_prefix(self.name.as_str()) else {
                continue;
            };
            let (key, kept) = series_key(&s.labels, "quantile");
            let i = *index.entry(key).or_insert_with(|| {
                out.push(SummarySeries {
                    labels: kept,
                    quantiles: Vec::new(),
                    sum: None,
                    count: None,
                });
                out.len() - 1
            });
            let series = &mut out[i];
            match suffix {
                "" => {
                    if let Some(q) = s.label("quantile").and_then(parse_float) {
                        series.quantiles.push((q, s.value));
                    }
                }
                "_sum" => series.sum = Some(s.value),
                "_count" => series.count = Some(s.value),
                _ => {}
            }
        }
        for series in &mut out {
            sort_pairs(&mut series.quantiles);
        }
        out
    }
}

/// The declared type as written, finer than [`MetricType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decl {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    Unknown,
    Untyped,
}

impl Decl {
    fn from_word(w: &str) -> Option<Decl> {
        Some(match w {
            "counter" => Decl::Counter,
            "gauge" => Decl::Gauge,
            "histogram" => Decl::Histogram,
            "gaugehistogram" => Decl::GaugeHistogram,
            "summary" => Decl::Summary,
            "info" => Decl::Info,
            "stateset" => Decl::StateSet,
            "unknown" => Decl::Unknown,
            "untyped" => Decl::Untyped,
            _ => return None,
        })
    }

    fn kind(self) -> MetricType {
        match self {
            Decl::Counter => MetricType::Counter,
            Decl::Gauge | Decl::Info | Decl::StateSet => MetricType::Gauge,
            Decl::Histogram | Decl::GaugeHistogram => MetricType::Histogram,
            Decl::Summary => MetricType::Summary,
            Decl::Unknown | Decl::Untyped => MetricType::Untyped,
        }
    }

    /// Whether a sample named `<family><suffix>` belongs to a family of this type.
    fn accepts(self, suffix: &str) -> bool {
        match self {
            Decl::Counter => matches!(suffix, "" | "_total" | "_created"),
            Decl::Gauge | Decl::StateSet | Decl::Unknown | Decl::Untyped => suffix.is_empty(),
            Decl::Histogram => matches!(suffix, "_bucket" | "_sum" | "_count" | "_created"),
            Decl::GaugeHistogram => matches!(suffix, "_bucket" | "_gsum" | "_gcount"),
            Decl::Summary => matches!(suffix, "" | "_sum" | "_count" | "_created"),
            Decl::Info => suffix == "_info",
        }
    }

    /// Families whose `<base>_created` companions are dropped.
    fn has_created(self) -> bool {
        matches!(self, Decl::Counter | Decl::Histogram | Decl::Summary)
    }
}

const SUFFIXES: [&str; 8] = [
    "_bucket", "_sum", "_count", "_created", "_total", "_gsum", "_gcount", "_info",
];

struct Builder {
    families: Vec<Family>,
    decls: Vec<Option<Decl>>,
    by_name: HashMap<String, usize>,
    openmetrics: bool,
}

impl Builder {
    fn family_index(&mut self, name: &str) -> usize {
        if let Some(&i) = self.by_name.get(name) {
            return i;
        }
        self.families.push(Family {
            name: name.to_string(),
            kind: MetricType::Untyped,
            help: None,
            unit: None,
            samples: Vec::new(),
        });
        self.decls.push(None);
        let i = self.families.len() - 1;
        self.by_name.insert(name.to_string(), i);
        i
    }

    /// Finds the family a sample belongs to: `(index, suffix)`; creates an untyped
    /// family named by the sample when nothing declared fits.
    fn resolve(&mut self, sample_name: &str) -> Result<(usize, &'static str), String> {
        if let Some(&i) = self.by_name.get(sample_name) {
            match self.decls[i] {
                None => return Ok((i, "")),
                Some(d) if d.accepts("") => return Ok((i, "")),
                Some(_) => {}
            }
        }
        for suffix in SUFFIXES {
            let Some(base) = sample_name.strip_suffix(suffix) else {
                continue;
            };
            if let Some(&i) = self.by_name.get(base) {
                if let Some(d) = self.decls[i] {
                    if d.accepts(suffix) {
                        return Ok((i, suffix));
                    }
                }
            }
            // Prometheus-style counter declared with `_total`: `<base>_created` belongs to it.
            if suffix == "_created" {
                let total = format!("{base}_total");
                if let Some(&i) = self.by_name.get(total.as_str()) {
                    if self.decls[i] == Some(Decl::Counter) {
                        return Ok((i, suffix));
                    }
                }
            }
        }
        if let Some(&i) = self.by_name.get(sample_name) {
            let d = self.decls[i].map(Decl::kind).unwrap_or(MetricType::Untyped);
            return Err(format!(
                "sample `{sample_name}` does not fit its {d:?} family"
            ));
        }
        Ok((self.family_index(sample_name), ""))
    }

    fn finish(self) -> Page {
        let Builder {
            families, decls, ..
        } = self;
        let mut has_created: HashMap<&str, ()> = HashMap::new();
        for (f, d) in families.iter().zip(&decls) {
            if d.is_some_and(Decl::has_created) {
                has_created.insert(f.name.as_str(), ());
                if let Some(base) = f.name.strip_suffix("_total") {
                    has_created.insert(base, ());
                }
            }
        }
        let drop: Vec<bool> = families
            .iter()
            .zip(&decls)
            .map(|(f, d)| {
                !d.is_some_and(Decl::has_created)
                    && f.name
                        .strip_suffix("_created")
                        .is_some_and(|base| has_created.contains_key(base))
            })
            .collect();
        let families = families
            .into_iter()
            .zip(drop)
            .filter(|(_, d)| !d)
            .map(|(f, _)| f)
            .collect();
        Page { families }
    }
}

/// Parses a Prometheus text 0.0.4 or OpenMetrics 1.0 page.
///
/// A page whose last non-blank line is `# EOF` is read as OpenMetrics (timestamps in float
/// seconds); otherwise timestamps are integer milliseconds.
pub fn parse(text: &str) -> Result<Page, ParseError> {
    let openmetrics = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.trim_end() == "# EOF");
    let mut b = Builder {
        families: Vec::new(),
        decls: Vec::new(),
        by_name: HashMap::new(),
        openmetrics,
    };
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        match parse_line(&mut b, line) {
            Ok(true) => {}
            Ok(false) => break,
            Err(reason) => {
                return Err(ParseError {
                    line: i + 1,
                    // Keep the message on one line whatever the input held.
                    reason: reason
                        .chars()
                        .map(|c| if c.is_control() { ' ' } else { c })
                        .collect(),
                    snippet: snippet(line),
                });
            }
        }
    }
    Ok(b.finish())
}

fn is_ws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn skip_ws(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

/// Splits the leading run of non-whitespace off `s`.
fn token(s: &str) -> (&str, &str) {
    let end = s.bytes().position(is_ws).unwrap_or(s.len());
    s.split_at(end)
}

fn is_name_start(c: u8, colon: bool) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || (colon && c == b':')
}

fn is_name_char(c: u8, colon: bool) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || (colon && c == b':')
}

/// Splits a metric name (`colon`) or label name off the front of `s`.
fn name_prefix(s: &str, colon: bool) -> Option<(&str, &str)> {
    let bytes = s.as_bytes();
    if !bytes.first().is_some_and(|&c| is_name_start(c, colon)) {
        return None;
    }
    let end = bytes
        .iter()
        .position(|&c| !is_name_char(c, colon))
        .unwrap_or(bytes.len());
    Some(s.split_at(end))
}

fn is_metric_name(s: &str) -> bool {
    name_prefix(s, true).is_some_and(|(_, rest)| rest.is_empty())
}

/// Parses one line; `Ok(false)` stops the page (`# EOF`).
fn parse_line(b: &mut Builder, line: &str) -> Result<bool, String> {
    let t = skip_ws(line);
    if t.is_empty() {
        return Ok(true);
    }
    if let Some(comment) = t.strip_prefix('#') {
        return parse_comment(b, comment);
    }
    parse_sample(b, t)?;
    Ok(true)
}

fn parse_comment(b: &mut Builder, comment: &str) -> Result<bool, String> {
    // `# HELP`, `# TYPE`, `# UNIT` need whitespace after `#` and after the keyword.
    if !comment.bytes().next().is_some_and(is_ws) {
        return Ok(true);
    }
    let c = skip_ws(comment);
    let (keyword, rest) = token(c);
    if keyword == "EOF" && rest.trim().is_empty() {
        return Ok(false);
    }
    if !matches!(keyword, "HELP" | "TYPE" | "UNIT") || !rest.bytes().next().is_some_and(is_ws) {
        return Ok(true);
    }
    let rest = skip_ws(rest);
    let (name, after) = token(rest);
    if !is_metric_name(name) {
        return Err(format!("invalid metric name in # {keyword}"));
    }
    let value = if after.is_empty() {
        ""
    } else {
        // One separating blank; HELP text keeps the rest verbatim (minus trailing blanks).
        skip_ws(after)
    };
    match keyword {
        "HELP" => {
            let i = b.family_index(name);
            if b.families[i].help.is_none() {
                b.families[i].help = Some(unescape_help(value));
            }
        }
        "UNIT" => {
            let unit = value.trim_end_matches([' ', '\t']);
            let i = b.family_index(name);
            if b.families[i].unit.is_none() && !unit.is_empty() {
                b.families[i].unit = Some(unit.to_string());
            }
        }
        _ => {
            let word = value.trim_end_matches([' ', '\t']);
            let decl = Decl::from_word(word)
                .ok_or_else(|| format!("unknown metric type `{}`", snippet(word)))?;
            let i = b.family_index(name);
            if b.decls[i].is_some() {
                return Err(format!("duplicate TYPE for `{name}`"));
            }
            if !b.families[i].samples.is_empty() {
                return Err(format!("TYPE for `{name}` after its samples"));
            }
            b.decls[i] = Some(decl);
            b.families[i].kind = decl.kind();
        }
    }
    Ok(true)
}

fn unescape_help(s: &str) -> String {
    let s = s.trim_end_matches([' ', '\t']);
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

type Labels = Vec<(String, String)>;

/// Parses `{name="value",...}` at the front of `s` (which starts with `{`).
fn parse_labels(s: &str) -> Result<(Labels, &str), String> {
    let mut labels: Labels = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut rest = skip_ws(&s[1..]);
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        let (name, r) = name_prefix(rest, false).ok_or("invalid label name")?;
        let r = skip_ws(r);
        let r = r.strip_prefix('=').ok_or("expected `=` after label name")?;
        let r = skip_ws(r);
        let r = r
            .strip_prefix('"')
            .ok_or("expected `\"` to open label value")?;
        let (value, r) = parse_quoted(r)?;
        // Linear scan for the usual handful of labels; a set keeps huge label sets linear.
        let duplicate = if labels.len() < 16 {
            labels.iter().any(|(k, _)| k == name)
        } else {
            if seen.is_empty() {
                seen.extend(labels.iter().map(|(k, _)| k.clone()));
            }
            !seen.insert(name.to_string())
        };
        if duplicate {
            return Err(format!("duplicate label `{name}`"));
        }
        labels.push((name.to_string(), value));
        let r = skip_ws(r);
        rest = if let Some(r) = r.strip_prefix(',') {
            skip_ws(r)
        } else if r.starts_with('}') {
            r
        } else {
            return Err("expected `,` or `}` after label value".to_string());
        };
    }
}

/// Reads a label value after its opening quote; returns the value and what follows
/// the closing quote.
fn parse_quoted(s: &str) -> Result<(String, &str), String> {
    let bytes = s.as_bytes();
    let mut out = String::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                out.push_str(&s[start..i]);
                return Ok((out, &s[i + 1..]));
            }
            b'\\' => {
                out.push_str(&s[start..i]);
                match bytes.get(i + 1) {
                    Some(b'\\') => out.push('\\'),
                    Some(b'"') => out.push('"'),
                    Some(b'n') => out.push('\n'),
                    // Unknown escape: keep the backslash; the next char is copied as-is.
                    Some(_) => {
                        out.push('\\');
                        start = i + 1;
                        i += 1;
                        continue;
                    }
                    None => break,
                }
                i += 2;
                start = i;
            }
            _ => i += 1,
        }
    }
    Err("unterminated label value".to_string())
}

fn parse_float(s: &str) -> Option<f64> {
    // Rust accepts `NaN`, `inf`, `+Inf`, `-Infinity`, exponents and integers, like Go's
    // `strconv.ParseFloat` that Prometheus uses (hex floats aside).
    s.parse::<f64>().ok()
}

fn parse_timestamp(s: &str, openmetrics: bool) -> Result<i64, String> {
    if let Ok(ms) = s.parse::<i64>() {
        if !openmetrics {
            return Ok(ms);
        }
    }
    if !openmetrics {
        return Err(format!(
            "invalid timestamp `{}` (integer ms expected)",
            snippet(s)
        ));
    }
    let secs = parse_float(s)
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("invalid timestamp `{}`", snippet(s)))?;
    let ms = (secs * 1000.0).round();
    if ms.abs() >= 9.2e18 {
        return Err(format!("timestamp `{}` out of range", snippet(s)));
    }
    Ok(ms as i64)
}

/// Validates and drops an OpenMetrics exemplar: `{labels} value [timestamp]`.
fn parse_exemplar(s: &str) -> Result<(), String> {
    let s = skip_ws(s);
    if !s.starts_with('{') {
        return Err("exemplar must start with a label set".to_string());
    }
    let (_, r) = parse_labels(s)?;
    let (value, r) = token(skip_ws(r));
    parse_float(value).ok_or("invalid exemplar value")?;
    let (ts, r) = token(skip_ws(r));
    if !ts.is_empty() {
        parse_float(ts).ok_or("invalid exemplar timestamp")?;
    }
    if !skip_ws(r).is_empty() {
        return Err("unexpected text after exemplar".to_string());
    }
    Ok(())
}

fn parse_sample(b: &mut Builder, line: &str) -> Result<(), String> {
    let (name, rest) = name_prefix(line, true).ok_or("invalid metric name")?;
    let rest = skip_ws(rest);
    let (labels, rest) = if rest.starts_with('{') {
        parse_labels(rest)?
    } else {
        (Vec::new(), rest)
    };
    let rest = skip_ws(rest);
    let (value_tok, rest) = token(rest);
    if value_tok.is_empty() {
        return Err("missing value".to_string());
    }
    let value =
        parse_float(value_tok).ok_or_else(|| format!("invalid value `{}`", snippet(value_tok)))?;
    let mut rest = skip_ws(rest);
    let mut timestamp_ms = None;
    if !rest.is_empty() && !rest.starts_with('#') {
        let (ts, r) = token(rest);
        timestamp_ms = Some(parse_timestamp(ts, b.openmetrics)?);
        rest = skip_ws(r);
    }
    if let Some(ex) = rest.strip_prefix('#') {
        parse_exemplar(ex)?;
    } else if !rest.is_empty() {
        return Err("unexpected text after sample".to_string());
    }

    let (i, suffix) = b.resolve(name)?;
    if suffix == "_created" {
        return Ok(());
    }
    if suffix == "_bucket" {
        let le = labels
            .iter()
            .find(|(k, _)| k == "le")
            .ok_or("histogram bucket without `le` label")?;
        if parse_float(&le.1).is_none_or(f64::is_nan) {
            return Err(format!("invalid `le` value `{}`", snippet(&le.1)));
        }
    }
    b.families[i].samples.push(Sample {
        name: name.to_string(),
        labels,
        value,
        timestamp_ms,
    });
    Ok(())
}
