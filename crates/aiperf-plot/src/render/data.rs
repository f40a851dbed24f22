//! Which series are drawn, which of their points can be placed, and the axis ranges.
//!
//! Chart contents are untrusted (they may come from a JSON file): columns can differ in length
//! and hold NaN, infinities or non-positive values on log axes. Everything here reads columns
//! with bounds checks and skips what cannot be placed, instead of failing the whole image.

use crate::chart::{Chart, Mark, Series};

use super::scale::{drawable, AxisRange, Extent};
use super::theme::{Rgb, Theme};

/// SVG scatter series above this many points are evenly thinned (design §3): a browser chokes
/// on hundreds of thousands of `<circle>` elements, a PNG does not care.
pub const SVG_MAX_SCATTER_POINTS: usize = 20_000;

/// A series as the renderer sees it: the source columns plus what was worked out once.
pub(crate) struct View<'a> {
    pub series: &'a Series,
    /// Position among the series shown in images: palette colour and legend order.
    pub order: usize,
    /// Points that have both `x` and `y` (the shorter column wins).
    pub len: usize,
    pub color: Rgb,
    pub xlog: bool,
    pub ylog: bool,
    /// Draw every `step`-th point (1 = all); only above 1 for big scatter series in SVG.
    pub step: usize,
    /// Bar width in x units (given or derived from the spacing of x).
    pub bar_width: f64,
}

/// Everything the drawing code needs besides the chart's texts.
pub(crate) struct Prepared<'a> {
    /// Drawable series in drawing order (fills, then lines, then points, then markers).
    pub views: Vec<View<'a>>,
    pub x: AxisRange,
    pub y: AxisRange,
    /// Present when at least one drawn series is on the right axis.
    pub y2: Option<AxisRange>,
    /// Lines for the caption area saying what was left out (SVG thinning).
    pub notes: Vec<String>,
}

impl<'a> View<'a> {
    /// The value of an optional companion column at `i`, if present and placeable.
    pub(crate) fn col(&self, column: &Option<Vec<f64>>, i: usize, log: bool) -> Option<f64> {
        let v = *column.as_ref()?.get(i)?;
        drawable(v, log).then_some(v)
    }

    /// Point `i` when both coordinates can be placed on this series' axes.
    pub(crate) fn point(&self, i: usize) -> Option<(f64, f64)> {
        let x = *self.series.x.get(i)?;
        let y = *self.series.y.get(i)?;
        (drawable(x, self.xlog) && drawable(y, self.ylog)).then_some((x, y))
    }

    /// The label of point `i`, when the series has labels and few enough points that labels
    /// stay readable (more than 50 would be an unreadable smear).
    pub(crate) fn label(&self, i: usize) -> Option<&'a str> {
        if self.len > 50 {
            return None;
        }
        let label = self.series.labels.as_ref()?.get(i)?;
        (!label.trim().is_empty()).then_some(label.as_str())
    }

    /// Whether at least one point (or span) can be drawn.
    fn has_points(&self) -> bool {
        (0..self.len).any(|i| self.point(i).is_some())
    }
}

/// Picks the series to draw (those shown in images, with at least one placeable point),
/// works out their colours, bar widths and SVG thinning, and the axis ranges.
pub(crate) fn prepare(chart: &Chart, theme: Theme, svg: bool) -> Prepared<'_> {
    let xlog = chart.x.log;
    let y2log = chart.y2.as_ref().is_some_and(|a| a.log);
    // Palette colours go by position among palette series only, as in the report, so a
    // group keeps its colour in every chart whatever other series (fronts, intervals) it has.
    let mut palette_index = 0;
    let mut views: Vec<View<'_>> = chart
        .series
        .iter()
        .filter(|s| s.in_images())
        .enumerate()
        .map(|(index, series)| {
            let len = series.x.len().min(series.y.len());
            let color = theme.role_color(series.role, palette_index);
            if series.role == crate::chart::Role::Palette {
                palette_index += 1;
            }
            let mut view = View {
                series,
                order: index,
                len,
                color,
                xlog,
                ylog: if series.right { y2log } else { chart.y.log },
                step: 1,
                bar_width: 1.0,
            };
            if svg && series.mark == Mark::Scatter && len > SVG_MAX_SCATTER_POINTS {
                view.step = len.div_ceil(SVG_MAX_SCATTER_POINTS);
            }
            if series.mark == Mark::Bars {
                view.bar_width = bar_width(&view);
            }
            view
        })
        .filter(View::has_points)
        .collect();
    views.sort_by_key(|v| layer(v.series.mark));

    let (mut x, mut y, mut y2) = (Extent::default(), Extent::default(), Extent::default());
    for v in &views {
        let target = if v.series.right { &mut y2 } else { &mut y };
        add_extents(v, &mut x, target);
    }
    let notes = views.iter().filter_map(thinning_note).collect();
    Prepared {
        x: AxisRange::from_extent(&x, xlog),
        y: AxisRange::from_extent(&y, chart.y.log),
        y2: (!y2.is_empty()).then(|| AxisRange::from_extent(&y2, y2log)),
        views,
        notes,
    }
}

/// Drawing order: fills first so lines and points stay visible on top, markers (the knee and
/// its label) last of all.
fn layer(mark: Mark) -> u8 {
    match mark {
        Mark::Area | Mark::Band | Mark::Bars | Mark::Spans => 0,
        Mark::Line | Mark::Step => 1,
        Mark::Scatter | Mark::ErrorBars => 2,
        Mark::Marker => 3,
    }
}

/// The given bar width when usable, else 80% of the smallest gap between distinct x values
/// (bars then never overlap), else 1.
fn bar_width(view: &View<'_>) -> f64 {
    if let Some(w) = view.series.width {
        if w.is_finite() && w > 0.0 && w <= 1e300 {
            return w;
        }
    }
    let mut xs: Vec<f64> = (0..view.len)
        .filter_map(|i| view.point(i).map(|p| p.0))
        .collect();
    xs.sort_by(f64::total_cmp);
    let gap = xs
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 0.0)
        .fold(f64::INFINITY, f64::min);
    if gap.is_finite() {
        gap * 0.8
    } else {
        1.0
    }
}

/// Widens the x and y extents by everything this series draws: its points, whiskers, span
/// ends and bar edges, and 0 for bars and areas.
fn add_extents(v: &View<'_>, x: &mut Extent, y: &mut Extent) {
    let s = v.series;
    if matches!(s.mark, Mark::Bars | Mark::Area) {
        y.include_zero();
    }
    for i in 0..v.len {
        let Some((px, py)) = v.point(i) else {
            continue;
        };
        if s.mark == Mark::Spans {
            // A span needs both ends; without an end it is a zero-length span at x.
            x.add(px);
            if let Some(end) = v.col(&s.x_high, i, v.xlog) {
                x.add(end);
            }
            y.add(py);
            continue;
        }
        x.add(px);
        y.add(py);
        if s.mark == Mark::Bars {
            for edge in [px - v.bar_width / 2.0, px + v.bar_width / 2.0] {
                if drawable(edge, v.xlog) {
                    x.add(edge);
                }
            }
        }
        if matches!(s.mark, Mark::Band | Mark::ErrorBars) {
            for col in [&s.y_low, &s.y_high] {
                if let Some(val) = v.col(col, i, v.ylog) {
                    y.add(val);
                }
            }
        }
        if s.mark == Mark::ErrorBars {
            for col in [&s.x_low, &s.x_high] {
                if let Some(val) = v.col(col, i, v.xlog) {
                    x.add(val);
                }
            }
        }
    }
}

/// The caption line for a thinned SVG scatter series.
fn thinning_note(v: &View<'_>) -> Option<String> {
    if v.step <= 1 {
        return None;
    }
    let shown = v.len.div_ceil(v.step);
    let name = v.series.name.trim();
    let what = if name.is_empty() {
        String::from("points")
    } else {
        format!("points of \u{201c}{name}\u{201d}")
    };
    Some(format!(
        "SVG shows every {} of {} {what} ({} drawn); the PNG draws every one of those",
        ordinal(v.step),
        group_thousands(v.len),
        group_thousands(shown)
    ))
}

/// `2` -> `2nd`, `11` -> `11th`, `23` -> `23rd`.
pub(crate) fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// `30000` -> `30,000`.
pub(crate) fn group_thousands(n: usize) -> String {
    aiperf_core::numfmt::group_digits(&n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(ordinal(2), "2nd");
        assert_eq!(ordinal(12), "12th");
        assert_eq!(ordinal(23), "23rd");
        assert_eq!(group_thousands(30000), "30,000");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
    }
}
