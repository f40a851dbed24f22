//! What a chart shows, independent of how it is drawn: the PNG/SVG renderer and the HTML
//! report draw the same [`Chart`] values, and tests check these values, never pixels.
//!
//! Series are columnar (`x`, `y` and optional companion columns) so that the report's embedded
//! JSON stays small for runs with tens of thousands of requests.

use serde::{Deserialize, Serialize};

/// One chart: axes, series, and, when there is nothing to draw, the reason why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    /// File stem and HTML id, e.g. `ttft_over_time` (AIPerf's preset names where one exists).
    pub id: String,
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    /// A right-hand axis for series with `right: true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y2: Option<Axis>,
    pub series: Vec<Series>,
    /// Set when the chart has no data: the sentence shown instead of an empty chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// A line under the chart (e.g. "every 3rd request drawn").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

/// An axis: its label (with unit) and scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    pub label: String,
    #[serde(default)]
    pub log: bool,
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// Points at (x, y).
    Scatter,
    /// Points joined in x order.
    Line,
    /// A step function: y holds from x until the next x (Plotly's `hv`).
    Step,
    /// A step function filled down to zero.
    Area,
    /// Bars centred on x, `width` wide, from 0 to y.
    Bars,
    /// The region between `y_low` and `y_high` along x (y is the centre line, drawn too).
    Band,
    /// Horizontal spans from x to `x_high` at row y (a request timeline).
    Spans,
    /// Points with whiskers: `y_low..y_high` and/or `x_low..x_high`.
    ErrorBars,
    /// Highlighted points with their `labels` written beside them (the knee of a curve).
    Marker,
}

/// What a series stands for; the renderers pick its colour from this, so the same thing has
/// the same colour in every chart and in both themes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The next colour of the palette, by series position.
    #[default]
    Palette,
    /// Successful requests.
    Ok,
    /// Failed requests.
    Error,
    /// Cancelled requests.
    Cancelled,
    /// Percentile lines and bands, reference lines (muted).
    Reference,
    /// A baseline group in a comparison (grey, as AIPerf).
    Baseline,
    /// The Pareto front.
    Front,
    /// The knee of the front.
    Knee,
}

/// One series: columns of equal length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    pub mark: Mark,
    #[serde(default)]
    pub role: Role,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y_low: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y_high: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_low: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_high: Option<Vec<f64>>,
    /// A label per point (a sweep value, "c=16").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// Bar width in x units, for [`Mark::Bars`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<f64>,
    /// Drawn against the right-hand axis.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub right: bool,
    /// The statistic this series shows (`avg`, `p50`, `p90`, `p99`) when the chart has one
    /// series per statistic: the report shows the chosen one, images show [`DEFAULT_STAT`]'s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<String>,
}

/// The statistic images show for charts that have one series per statistic.
pub const DEFAULT_STAT: &str = "avg";

/// The statistics the report's percentile switch offers.
pub const STATS: [&str; 4] = ["avg", "p50", "p90", "p99"];

impl Axis {
    pub fn linear(label: impl Into<String>) -> Self {
        Axis {
            label: label.into(),
            log: false,
        }
    }
}

impl Series {
    /// A series of points drawn with `mark`; companion columns are added with the `with_*`
    /// builders.
    pub fn new(name: impl Into<String>, mark: Mark, x: Vec<f64>, y: Vec<f64>) -> Self {
        debug_assert_eq!(x.len(), y.len(), "series {} columns differ", x.len());
        Series {
            name: name.into(),
            mark,
            role: Role::Palette,
            x,
            y,
            y_low: None,
            y_high: None,
            x_low: None,
            x_high: None,
            labels: None,
            width: None,
            right: false,
            stat: None,
        }
    }

    pub fn role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }

    pub fn y_range(mut self, low: Vec<f64>, high: Vec<f64>) -> Self {
        self.y_low = Some(low);
        self.y_high = Some(high);
        self
    }

    pub fn x_range(mut self, low: Vec<f64>, high: Vec<f64>) -> Self {
        self.x_low = Some(low);
        self.x_high = Some(high);
        self
    }

    /// Spans end at `x_high` (the start is `x`).
    pub fn ends(mut self, x_high: Vec<f64>) -> Self {
        self.x_high = Some(x_high);
        self
    }

    pub fn labels(mut self, labels: Vec<String>) -> Self {
        self.labels = Some(labels);
        self
    }

    pub fn width(mut self, width: f64) -> Self {
        self.width = Some(width);
        self
    }

    pub fn right(mut self) -> Self {
        self.right = true;
        self
    }

    pub fn stat(mut self, stat: &str) -> Self {
        self.stat = Some(stat.to_string());
        self
    }

    pub fn len(&self) -> usize {
        self.x.len()
    }

    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Whether images draw this series: all without a statistic, and those of [`DEFAULT_STAT`].
    pub fn in_images(&self) -> bool {
        self.stat.as_deref().is_none_or(|s| s == DEFAULT_STAT)
    }
}

impl Chart {
    pub fn new(id: &str, title: &str, x: Axis, y: Axis) -> Self {
        Chart {
            id: id.to_string(),
            title: title.to_string(),
            x,
            y,
            y2: None,
            series: Vec::new(),
            note: None,
            caption: None,
        }
    }

    /// A chart that cannot be drawn, with the reason shown in its place.
    pub fn absent(id: &str, title: &str, why: impl Into<String>) -> Self {
        let mut c = Chart::new(id, title, Axis::linear(""), Axis::linear(""));
        c.note = Some(why.into());
        c
    }

    /// Whether there is at least one point to draw.
    pub fn has_data(&self) -> bool {
        self.note.is_none() && self.series.iter().any(|s| !s.is_empty())
    }
}
