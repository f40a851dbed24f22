//! The legend: one row (or a few) of "swatch + series name" under the title, centred, so it
//! never hides data the way a box inside the plot can.

use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind};
use plotters::element::{Circle, PathElement, Rectangle};
use plotters::prelude::DrawingBackend;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::Color;

use crate::chart::Mark;

use super::data::Prepared;
use super::layout::Look;
use super::marks::DrawResult;
use super::text;
use super::theme::Rgb;

/// At most this many legend rows; further entries are summarised as "+N more".
const MAX_ROWS: usize = 3;

/// How an entry shows its series.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Swatch {
    Dot,
    Line,
    Block,
    /// The "+N more" entry.
    Nothing,
}

/// One legend entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    label: String,
    color: Rgb,
    swatch: Swatch,
}

/// Entries laid out in rows, with their widths in pixels.
pub(crate) struct Legend {
    rows: Vec<Vec<(Item, i32)>>,
    /// Height taken under the title (0 without a legend).
    pub height: i32,
}

/// The entries: every named series in chart order (same name and colour once), "(right
/// axis)" added for series on the right; none when no drawn series has a name.
pub(crate) fn items(prep: &Prepared<'_>) -> Vec<Item> {
    let mut views: Vec<_> = prep.views.iter().collect();
    views.sort_by_key(|v| v.order);
    let mut out: Vec<Item> = Vec::new();
    for v in views {
        let name = text::clean(&v.series.name, 60);
        if name.is_empty() {
            continue;
        }
        let label = if v.series.right {
            format!("{name} (right axis)")
        } else {
            name
        };
        let swatch = match v.series.mark {
            Mark::Scatter | Mark::ErrorBars | Mark::Marker => Swatch::Dot,
            Mark::Line | Mark::Step => Swatch::Line,
            Mark::Area | Mark::Bars | Mark::Band | Mark::Spans => Swatch::Block,
        };
        let item = Item {
            label,
            color: v.color,
            swatch,
        };
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Places entries left to right, starting a new row when the next one would not fit in
/// `max_width`.
pub(crate) fn layout<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    look: &Look,
    items: &[Item],
    max_width: i32,
) -> Result<Legend, DrawingAreaErrorKind<DB::ErrorType>> {
    let style = look.font(look.legend_px, look.colors.text);
    let swatch_w = (look.legend_px * 2.0).round() as i32;
    let gap = (look.legend_px * 0.5).round() as i32;
    let spacing = (look.legend_px * 1.5).round() as i32;
    let mut rows: Vec<Vec<(Item, i32)>> = Vec::new();
    let mut row_width = 0;
    for (n, item) in items.iter().enumerate() {
        let text_w = root.estimate_text_size(&item.label, &style)?.0 as i32;
        let w = swatch_w + gap + text_w;
        let fits = rows
            .last()
            .is_some_and(|_| row_width + spacing + w <= max_width);
        if !fits {
            if rows.len() == MAX_ROWS {
                let more = Item {
                    label: format!("+{} more", items.len() - n),
                    color: look.colors.muted_text,
                    swatch: Swatch::Nothing,
                };
                let more_w = root.estimate_text_size(&more.label, &style)?.0 as i32;
                if let Some(last) = rows.last_mut() {
                    last.push((more, more_w));
                }
                break;
            }
            rows.push(Vec::new());
            row_width = -spacing;
        }
        row_width += spacing + w;
        if let Some(last) = rows.last_mut() {
            last.push((item.clone(), w));
        }
    }
    let row_h = row_height(look);
    let height = if rows.is_empty() {
        0
    } else {
        row_h * rows.len() as i32 + look.margin / 2
    };
    Ok(Legend { rows, height })
}

/// The height of one legend row.
fn row_height(look: &Look) -> i32 {
    (look.legend_px * 1.5).round() as i32
}

/// Draws the legend rows centred in `width`, the first one at `top`.
pub(crate) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    look: &Look,
    legend: &Legend,
    top: i32,
    width: i32,
) -> DrawResult<DB> {
    let style = look
        .font(look.legend_px, look.colors.text)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let swatch_w = (look.legend_px * 2.0).round() as i32;
    let gap = (look.legend_px * 0.5).round() as i32;
    let spacing = (look.legend_px * 1.5).round() as i32;
    let row_h = row_height(look);
    for (r, row) in legend.rows.iter().enumerate() {
        let total: i32 =
            row.iter().map(|(_, w)| *w).sum::<i32>() + spacing * (row.len() as i32 - 1).max(0);
        let mut x = (width - total) / 2;
        let y = top + r as i32 * row_h + row_h / 2;
        for (item, w) in row {
            if item.swatch == Swatch::Nothing {
                root.draw_text(&item.label, &style, (x, y))?;
            } else {
                draw_swatch(root, look, item, (x, y), swatch_w)?;
                root.draw_text(&item.label, &style, (x + swatch_w + gap, y))?;
            }
            x += w + spacing;
        }
    }
    Ok(())
}

/// The little picture of a series: a dot, a line or a block in its colour.
fn draw_swatch<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    look: &Look,
    item: &Item,
    (x, y): (i32, i32),
    w: i32,
) -> DrawResult<DB> {
    let color = item.color.rgb();
    let h = (look.legend_px * 0.35).round() as i32;
    match item.swatch {
        Swatch::Dot => root.draw(&Circle::new(
            (x + w / 2, y),
            look.point_radius + 2,
            color.filled(),
        )),
        Swatch::Line => root.draw(&PathElement::new(
            vec![(x, y), (x + w, y)],
            color.stroke_width(look.line_width + 1),
        )),
        Swatch::Block => root.draw(&Rectangle::new(
            [(x, y - h), (x + w, y + h)],
            color.mix(0.8).filled(),
        )),
        Swatch::Nothing => Ok(()),
    }
}
