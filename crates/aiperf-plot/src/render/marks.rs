//! Drawing each [`Mark`] in pixels.
//!
//! Points are mapped to pixels once through the chart's coordinates and everything else
//! (whisker caps, span thickness, label offsets, minimum bar width) is decided in pixels, so
//! marks look the same on linear and log axes and at any data scale.

use plotters::coord::cartesian::Cartesian2d;
use plotters::coord::{CoordTranslate, Shift};
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind};
use plotters::element::{Circle, PathElement, Polygon, Rectangle};
use plotters::prelude::DrawingBackend;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, ShapeStyle};

use crate::chart::Mark;

use super::data::View;
use super::layout::Look;
use super::scale::{drawable, AxisRange, Scale};
use super::text;

/// What drawing returns: plotters' error for this backend.
pub(crate) type DrawResult<DB> =
    Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// The plotting rectangle with one pair of axes (left or right y).
pub(crate) struct Canvas<'a, DB: DrawingBackend> {
    /// The plotting rectangle in pixels relative to its top-left corner; plotters clamps every
    /// coordinate drawn here into it.
    area: DrawingArea<DB, Shift>,
    base: (i32, i32),
    coord: &'a Cartesian2d<Scale, Scale>,
    /// The x axis (any x will do to find the pixel row of a y value).
    x: AxisRange,
    /// The y axis of this canvas (bars and areas start at its base).
    y: AxisRange,
    look: &'a Look,
}

impl<'a, DB: DrawingBackend> Canvas<'a, DB> {
    pub(crate) fn new(
        plotting: &'a DrawingArea<DB, Cartesian2d<Scale, Scale>>,
        (x, y): (AxisRange, AxisRange),
        look: &'a Look,
    ) -> Self {
        Canvas {
            area: plotting.strip_coord_spec(),
            base: plotting.get_base_pixel(),
            coord: plotting.as_coord_spec(),
            x,
            y,
            look,
        }
    }

    /// The pixel of a data point, relative to the plotting rectangle.
    fn px(&self, x: f64, y: f64) -> (i32, i32) {
        let (a, b) = self.coord.translate(&(x, y));
        (a.saturating_sub(self.base.0), b.saturating_sub(self.base.1))
    }

    /// The plotting rectangle's height in pixels.
    fn height(&self) -> i32 {
        self.area.dim_in_pixel().1 as i32
    }
}

/// Draws one series with its mark.
pub(crate) fn draw_view<DB: DrawingBackend>(c: &Canvas<'_, DB>, v: &View<'_>) -> DrawResult<DB> {
    match v.series.mark {
        Mark::Scatter => scatter(c, v)?,
        Mark::Line => line(c, v, false)?,
        Mark::Step => line(c, v, true)?,
        Mark::Area => area(c, v)?,
        Mark::Bars => bars(c, v)?,
        Mark::Band => band(c, v)?,
        Mark::Spans => spans(c, v)?,
        Mark::ErrorBars => error_bars(c, v)?,
        Mark::Marker => markers(c, v)?,
    }
    if matches!(v.series.mark, Mark::Scatter | Mark::Line | Mark::Marker) {
        point_labels(c, v)?;
    }
    Ok(())
}

/// Small, slightly transparent filled circles, so dense regions read darker; every
/// `step`-th point only when the SVG is thinned.
fn scatter<DB: DrawingBackend>(c: &Canvas<'_, DB>, v: &View<'_>) -> DrawResult<DB> {
    let style = v.color.rgb().mix(0.75).filled();
    let r = c.look.point_radius;
    for i in (0..v.len).step_by(v.step.max(1)) {
        if let Some((x, y)) = v.point(i) {
            c.area.draw(&Circle::new(c.px(x, y), r, style))?;
        }
    }
    Ok(())
}

/// Collects pixel polylines: consecutive drawable points, broken where a point cannot be
/// drawn (a gap, as Plotly's `connectgaps: false`), repeated pixels dropped (a 50,000-point
/// line collapses to about one vertex per pixel column).
struct Polylines {
    current: Vec<(i32, i32)>,
    done: Vec<Vec<(i32, i32)>>,
}

impl Polylines {
    fn new() -> Self {
        Polylines {
            current: Vec::new(),
            done: Vec::new(),
        }
    }

    fn push(&mut self, p: (i32, i32)) {
        if self.current.last() != Some(&p) {
            self.current.push(p);
        }
    }

    fn last(&self) -> Option<(i32, i32)> {
        self.current.last().copied()
    }

    fn gap(&mut self) {
        if !self.current.is_empty() {
            self.done.push(std::mem::take(&mut self.current));
        }
    }

    fn finish(mut self) -> Vec<Vec<(i32, i32)>> {
        self.gap();
        self.done
    }
}

/// The pixel paths of a line (`step: false`, points joined in the given order) or of an `hv`
/// step function (`step: true`: y holds from one x to the next, then jumps).
fn paths(c: &Canvas<'_, impl DrawingBackend>, v: &View<'_>, step: bool) -> Vec<Vec<(i32, i32)>> {
    let mut lines = Polylines::new();
    for i in 0..v.len {
        match v.point(i) {
            Some((x, y)) => {
                let p = c.px(x, y);
                if let (true, Some(prev)) = (step, lines.last()) {
                    lines.push((p.0, prev.1));
                }
                lines.push(p);
            }
            None => lines.gap(),
        }
    }
    lines.finish()
}

/// A line or step function; an isolated point (no neighbour to join) gets a dot so it is not
/// lost.
fn line<DB: DrawingBackend>(c: &Canvas<'_, DB>, v: &View<'_>, step: bool) -> DrawResult<DB> {
    let style = v.color.rgb().stroke_width(c.look.line_width);
    for path in paths(c, v, step) {
        stroke(c, path, style)?;
    }
    Ok(())
}

/// Draws a pixel path, or a dot for a single point.
fn stroke<DB: DrawingBackend>(
    c: &Canvas<'_, DB>,
    path: Vec<(i32, i32)>,
    style: ShapeStyle,
) -> DrawResult<DB> {
    match path.as_slice() {
        [] => Ok(()),
        [p] => c
            .area
            .draw(&Circle::new(*p, c.look.line_width.max(2), style.filled())),
        _ => c.area.draw(&PathElement::new(path, style)),
    }
}

/// A step function filled down to the axis base (0, or the bottom of a log axis), with the
/// step outline on top.
fn area<DB: DrawingBackend>(c: &Canvas<'_, DB>, v: &View<'_>) -> DrawResult<DB> {
    let base = c.px(c.x.lo, c.y.base()).1;
    let fill = v.color.rgb().mix(0.3).filled();
    let outline = v.color.rgb().stroke_width(c.look.line_width);
    for path in paths(c, v, true) {
        if let (Some(first), Some(last)) = (path.first().copied(), path.last().copied()) {
            if path.len() > 1 {
                let mut poly = Vec::with_capacity(path.len() + 2);
                poly.push((first.0, base));
                poly.extend_from_slice(&path);
                poly.push((last.0, base));
                c.area.draw(&Polygon::new(poly, fill))?;
            }
        }
        stroke(c, path, outline)?;
    }
    Ok(())
}

/// Bars centred on x, `width` wide, from the axis base to y; at least one pixel wide so
/// narrow bars on a wide axis still show.
fn bars<DB: DrawingBackend>(c: &Canvas<'_, DB>, v: &View<'_>) -> DrawResult<DB> {
    let fill = v.color.rgb().mix(0.85).filled();
    let half = v.bar_width / 2.0;
    let base = c.y.base();
    for i in 0..v.len {
        let Some((x, y)) = v.point(i) else {
            continue;
        };
        // On a log x axis the left edge may fall at or below 0: start the bar at x then.
        let left = if drawable(x - half, v.xlog) {
            x - half
        } else {
            x
        };
        let right = if drawable(x + half, v.xlog) {
            x + half
        } else {
            x
        };
        let (a, b) = (c.px(left, base), c.px(right, y));
        let (x0, x1) = (a.0.min(b.0), a.0.max(b.0).max(a.0.min(b.0) + 1));
        let (y0, y1) = (a.1.min(b.1), a.1.max(b.1));
        c.area.draw(&Rectangle::new([(x0, y0), (x1, y1)], fill))?;
    }
    Ok(())
}

/// A translucent band between `y_low` and `y_high` (one polygon per run of points where x and
/// both bounds are drawable) and the centre line y on top.
fn band<DB: DrawingBackend>(c: &Canvas<'_, DB>, v: &View<'_>) -> DrawResult<DB> {
    let s = v.series;
    let fill = v.color.rgb().mix(0.2).filled();
    let mut upper: Vec<(i32, i32)> = Vec::new();
    let mut lower: Vec<(i32, i32)> = Vec::new();
    for i in 0..=v.len {
        let bounds = (i < v.len)
            .then(|| {
                let x = *s.x.get(i)?;
                if !drawable(x, v.xlog) {
                    return None;
                }
                Some((x, v.col(&s.y_low, i, v.ylog)?, v.col(&s.y_high, i, v.ylog)?))
            })
            .flatten();
        match bounds {
            Some((x, lo, hi)) => {
                upper.push(c.px(x, hi));
                lower.push(c.px(x, lo));
            }
            None => {
                if upper.len() > 1 {
                    let mut poly = std::mem::take(&mut upper);
                    poly.extend(lower.drain(..).rev());
                    c.area.draw(&Polygon::new(poly, fill))?;
                }
                upper.clear();
                lower.clear();
            }
        }
    }
    line(c, v, false)
}

/// Horizontal bars from x to `x_high` at row y (a request timeline). Thickness is 80% of the
/// smallest pixel distance between rows, between half a pixel (so ten thousand rows on a few
/// hundred pixels still draw as one-pixel lines) and a tenth of the plot height.
fn spans<DB: DrawingBackend>(c: &Canvas<'_, DB>, v: &View<'_>) -> DrawResult<DB> {
    let s = v.series;
    let fill = v.color.rgb().mix(0.9).filled();
    let thickness = (2.0 * span_half_thickness(c, v)).round().max(1.0) as i32;
    for i in 0..v.len {
        let (Some((x, y)), Some(end)) = (v.point(i), v.col(&s.x_high, i, v.xlog)) else {
            continue;
        };
        let (a, b) = (c.px(x, y), c.px(end, y));
        let (x0, x1) = (a.0.min(b.0), a.0.max(b.0).max(a.0.min(b.0) + 1));
        // Rectangles are half-open: [y0, y0 + thickness) rows of pixels.
        let y0 = a.1 - (thickness - 1) / 2;
        let y1 = y0 + thickness;
        c.area.draw(&Rectangle::new([(x0, y0), (x1, y1)], fill))?;
    }
    Ok(())
}

/// Half the thickness of a span in pixels (see [`spans`]).
fn span_half_thickness<DB: DrawingBackend>(c: &Canvas<'_, DB>, v: &View<'_>) -> f64 {
    let mut rows: Vec<i32> = (0..v.len)
        .filter_map(|i| v.point(i).map(|(x, y)| c.px(x, y).1))
        .collect();
    rows.sort_unstable();
    rows.dedup();
    let gap = rows
        .windows(2)
        .map(|w| w[1] - w[0])
        .min()
        .unwrap_or_else(|| c.height() / 4);
    let max = (f64::from(c.height()) / 10.0).max(1.0);
    (f64::from(gap) * 0.4).clamp(0.5, max)
}

/// A dot with whiskers: vertical from `y_low` to `y_high`, horizontal from `x_low` to
/// `x_high`, each with caps; a missing or undrawable bound ends the whisker at the point.
fn error_bars<DB: DrawingBackend>(c: &Canvas<'_, DB>, v: &View<'_>) -> DrawResult<DB> {
    let s = v.series;
    let color = v.color.rgb();
    let whisker = color.stroke_width(c.look.line_width.div_ceil(2).max(1));
    let cap = c.look.cap;
    for i in 0..v.len {
        let Some((x, y)) = v.point(i) else {
            continue;
        };
        let centre = c.px(x, y);
        let lo = v.col(&s.y_low, i, v.ylog).map_or(centre, |l| c.px(x, l));
        let hi = v.col(&s.y_high, i, v.ylog).map_or(centre, |h| c.px(x, h));
        if lo != hi {
            c.area.draw(&PathElement::new(vec![lo, hi], whisker))?;
            for end in [lo, hi] {
                let bar = vec![(end.0 - cap, end.1), (end.0 + cap, end.1)];
                c.area.draw(&PathElement::new(bar, whisker))?;
            }
        }
        let left = v.col(&s.x_low, i, v.xlog).map_or(centre, |l| c.px(l, y));
        let right = v.col(&s.x_high, i, v.xlog).map_or(centre, |h| c.px(h, y));
        if left != right {
            c.area.draw(&PathElement::new(vec![left, right], whisker))?;
            for end in [left, right] {
                let bar = vec![(end.0, end.1 - cap), (end.0, end.1 + cap)];
                c.area.draw(&PathElement::new(bar, whisker))?;
            }
        }
        c.area.draw(&Circle::new(
            centre,
            c.look.point_radius + 1,
            color.filled(),
        ))?;
    }
    Ok(())
}

/// Big points ringed in the background colour so they stand out from the lines they sit on
/// (the knee of a Pareto front); their labels are written by [`point_labels`].
fn markers<DB: DrawingBackend>(c: &Canvas<'_, DB>, v: &View<'_>) -> DrawResult<DB> {
    let ring = c
        .look
        .colors
        .background
        .rgb()
        .stroke_width(c.look.line_width);
    let r = c.look.marker_radius;
    for i in 0..v.len {
        if let Some((x, y)) = v.point(i) {
            let p = c.px(x, y);
            c.area.draw(&Circle::new(p, r, v.color.rgb().filled()))?;
            c.area.draw(&Circle::new(p, r, ring))?;
        }
    }
    Ok(())
}

/// Each point's label above and to the right of it (series with at most 50 points, see
/// [`View::label`]); marker labels in the full text colour, others muted.
fn point_labels<DB: DrawingBackend>(c: &Canvas<'_, DB>, v: &View<'_>) -> DrawResult<DB> {
    if v.series.labels.is_none() || v.len > 50 {
        return Ok(());
    }
    let look = c.look;
    let (color, offset) = if v.series.mark == Mark::Marker {
        (look.colors.text, look.marker_radius + 3)
    } else {
        (look.colors.muted_text, look.point_radius + 3)
    };
    let style = look
        .font(look.point_label_px, color)
        .pos(Pos::new(HPos::Left, VPos::Bottom));
    for i in 0..v.len {
        let (Some((x, y)), Some(label)) = (v.point(i), v.label(i)) else {
            continue;
        };
        let p = c.px(x, y);
        let label = text::clean(label, 40);
        c.area
            .draw_text(&label, &style, (p.0 + offset, p.1 - offset / 2))?;
    }
    Ok(())
}
