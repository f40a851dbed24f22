//! The Prometheus text format (0.0.4) the server-metrics pages of every style, and the DCGM
//! page, are written in: HELP/TYPE heads, samples, histogram blocks, and the series every style
//! shares.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http::{Response, StatusCode};

use super::histogram::Histogram;
use super::Metrics;
use crate::server::{respond, MockBody};

/// A Prometheus text page as the HTTP response.
pub(super) fn prometheus_response(text: String) -> Response<MockBody> {
    respond(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        MockBody::Full(Some(Bytes::from(text))),
    )
}

/// The `# HELP` and `# TYPE` lines of metric `name`.
pub(super) fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The value of one series of a style's page (see [`Text::series`]).
pub(super) enum Series<'a> {
    Gauge(f64),
    Counter(u64),
    Histogram(&'a Histogram),
}

/// A Prometheus text (0.0.4) page being written.
pub(super) struct Text {
    pub(super) out: String,
    /// Python's prometheus_client (vLLM, SGLang, trtllm-serve) prints every number as a float
    /// (`3.0`) and `_count` before `_sum`; Rust's prometheus crate (Dynamo) prints `3`, `_sum`
    /// first.
    python: bool,
}

impl Text {
    pub(super) fn new(python: bool) -> Self {
        Self {
            out: String::with_capacity(16 * 1024),
            python,
        }
    }

    pub(super) fn head(&mut self, name: &str, kind: &str, help: &str) {
        head(&mut self.out, name, kind, help);
    }

    fn number(&mut self, v: f64) {
        let _ = if self.python {
            write!(self.out, "{v:?}")
        } else {
            write!(self.out, "{v}")
        };
    }

    pub(super) fn sample(&mut self, name: &str, labels: &str, v: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            let _ = write!(self.out, "{{{labels}}}");
        }
        self.out.push(' ');
        self.number(v);
        self.out.push('\n');
    }

    fn gauge(&mut self, name: &str, help: &str, labels: &str, v: f64) {
        self.head(name, "gauge", help);
        self.sample(name, labels, v);
    }

    fn counter(&mut self, name: &str, help: &str, labels: &str, v: u64) {
        self.head(name, "counter", help);
        self.sample(name, labels, v as f64);
    }

    fn histogram(&mut self, name: &str, help: &str, labels: &str, h: &Histogram) {
        self.head(name, "histogram", help);
        let (cumulative, sum) = h.snapshot();
        let sep = if labels.is_empty() { "" } else { "," };
        let les = h.bounds.iter().map(Some).chain(std::iter::once(None));
        for (le, count) in les.zip(&cumulative) {
            let _ = write!(self.out, "{name}_bucket{{{labels}{sep}le=\"");
            match le {
                Some(&b) => self.number(b),
                None => self.out.push_str("+Inf"),
            }
            self.out.push_str("\"} ");
            self.number(*count as f64);
            self.out.push('\n');
        }
        let count = cumulative.last().copied().unwrap_or(0) as f64;
        let (count_name, sum_name) = (format!("{name}_count"), format!("{name}_sum"));
        if self.python {
            self.sample(&count_name, labels, count);
            self.sample(&sum_name, labels, sum);
        } else {
            self.sample(&sum_name, labels, sum);
            self.sample(&count_name, labels, count);
        }
    }

    /// Writes each `(name, help, value)` in turn, every one with the same `labels`: the one
    /// way every style's page lists its plain gauges, counters and histograms.
    pub(super) fn series(&mut self, labels: &str, series: &[(&str, &str, Series)]) {
        for (name, help, value) in series {
            match value {
                Series::Gauge(v) => self.gauge(name, help, labels, *v),
                Series::Counter(v) => self.counter(name, help, labels, *v),
                Series::Histogram(h) => self.histogram(name, help, labels, h),
            }
        }
    }

    /// The mock's own counter of injected errors, on every style's page.
    pub(super) fn mock_errors(&mut self, m: &Metrics) {
        self.counter(
            "aiperf_mock_errors_total",
            "Injected errors.",
            "",
            m.errors.load(Ordering::Relaxed),
        );
    }

    /// `finished_reason` series of a success counter: only the reasons seen so far (a
    /// labelled prometheus_client counter shows a series once it is used).
    pub(super) fn success_by_reason(&mut self, m: &Metrics, name: &str, help: &str, labels: &str) {
        self.head(name, "counter", help);
        for (i, reason) in ["stop", "length"].into_iter().enumerate() {
            let n = m.finished(i);
            if n > 0 {
                self.sample(
                    name,
                    &format!("{labels},finished_reason=\"{reason}\""),
                    n as f64,
                );
            }
        }
    }
}
