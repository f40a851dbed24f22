//! The page: title, legend, the plot with its axes, caption, or the note that replaces an
//! empty chart. Sizes scale with the image so a 800×400 thumbnail and a 3200×1600 print look
//! alike.

use plotters::chart::{ChartBuilder, ChartContext};
use plotters::coord::cartesian::Cartesian2d;
use plotters::coord::Shift;
use plotters::drawing::DrawingArea;
use plotters::prelude::DrawingBackend;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, FontDesc, FontFamily, FontStyle, TextStyle, TRANSPARENT};

use crate::chart::Chart;

use super::data::{self, Prepared};
use super::legend;
use super::marks::{self, Canvas, DrawResult};
use super::scale::Scale;
use super::text;
use super::theme::{Colors, Rgb, Theme};

/// Sizes (pixels) and colours for one image.
pub(crate) struct Look {
    pub colors: Colors,
    pub title_px: f64,
    pub axis_px: f64,
    pub tick_px: f64,
    pub legend_px: f64,
    pub caption_px: f64,
    pub point_label_px: f64,
    pub margin: i32,
    pub line_width: u32,
    pub point_radius: i32,
    pub marker_radius: i32,
    /// Half-width of error-bar caps.
    pub cap: i32,
}

impl Look {
    /// Sizes for a `width`×`height` image, designed at 1600×800 and scaled by the smaller
    /// ratio, with floors so that small images keep readable text.
    pub(crate) fn new(theme: Theme, (width, height): (u32, u32)) -> Self {
        let k = (f64::from(width) / 1600.0)
            .min(f64::from(height) / 800.0)
            .clamp(0.25, 8.0);
        let px = |base: f64, min: f64| (base * k).max(min);
        let int = |base: f64, min: f64| (base * k).round().max(min) as i32;
        Look {
            colors: theme.colors(),
            title_px: px(30.0, 12.0),
            axis_px: px(20.0, 10.0),
            tick_px: px(17.0, 9.0),
            legend_px: px(18.0, 10.0),
            caption_px: px(16.0, 9.0),
            point_label_px: px(14.0, 8.0),
            margin: int(18.0, 4.0),
            line_width: int(2.5, 1.0) as u32,
            point_radius: int(3.5, 2.0),
            marker_radius: int(9.0, 4.0),
            cap: int(6.0, 2.0),
        }
    }

    /// Our registered sans-serif (the only font plotters can draw with here) at `px` pixels.
    pub(crate) fn font(&self, px: f64, color: Rgb) -> TextStyle<'static> {
        FontDesc::new(FontFamily::SansSerif, px, FontStyle::Normal).color(&color.rgb())
    }

    /// Roughly how many characters of a `px` font fit in `width` pixels (DejaVu Sans averages
    /// a little over half an em per character); used to wrap long titles, notes and captions.
    fn chars_in(width: i32, px: f64) -> usize {
        (f64::from(width.max(1)) / (px * 0.55)).max(8.0) as usize
    }
}

/// Draws the whole chart on `root` (the image) and presents it.
pub(crate) fn draw_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
    theme: Theme,
    svg: bool,
) -> DrawResult<DB> {
    let (width, height) = root.dim_in_pixel();
    let (width, height) = (width as i32, height as i32);
    let look = Look::new(theme, root.dim_in_pixel());
    root.fill(&look.colors.background.rgb())?;
    let mut top = look.margin;
    top += draw_title(root, &look, &chart.title, width)?;

    let prep = data::prepare(chart, theme, svg);
    let caption_chars = Look::chars_in(width - 2 * look.margin, look.caption_px);
    let mut caption = chart
        .caption
        .as_deref()
        .map(|c| text::wrap(c, caption_chars, 3))
        .unwrap_or_default();

    if chart.note.is_some() || prep.views.is_empty() {
        let note = chart
            .note
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or("No data to draw.");
        let bottom = draw_caption(root, &look, &caption, height)?;
        draw_note(root, &look, note, top, bottom)?;
        return root.present();
    }

    let legend = legend::layout(root, &look, &legend::items(&prep), width - 2 * look.margin)?;
    legend::draw(root, &look, &legend, top, width)?;
    top += legend.height;

    for note in &prep.notes {
        caption.extend(text::wrap(note, caption_chars, 2));
    }
    let bottom = draw_caption(root, &look, &caption, height)?;
    let gap = if caption.is_empty() {
        0
    } else {
        look.margin / 2
    };
    let region = root.margin(top, height - bottom + gap, look.margin, look.margin);
    draw_plot(&region, chart, &prep, &look)?;
    root.present()
}

/// The title centred at the top, wrapped to two lines at most; returns the height used.
fn draw_title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    look: &Look,
    title: &str,
    width: i32,
) -> Result<i32, plotters::drawing::DrawingAreaErrorKind<DB::ErrorType>> {
    let lines = text::wrap(
        title,
        Look::chars_in(width - 2 * look.margin, look.title_px),
        2,
    );
    let style = look
        .font(look.title_px, look.colors.text)
        .pos(Pos::new(HPos::Center, VPos::Top));
    let line_h = (look.title_px * 1.2).round() as i32;
    for (i, line) in lines.iter().enumerate() {
        root.draw_text(line, &style, (width / 2, look.margin + i as i32 * line_h))?;
    }
    Ok(line_h * lines.len() as i32 + if lines.is_empty() { 0 } else { look.margin / 2 })
}

/// Caption lines centred at the bottom; returns the y where they start (the bottom of the
/// space left for the plot).
fn draw_caption<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    look: &Look,
    lines: &[String],
    height: i32,
) -> Result<i32, plotters::drawing::DrawingAreaErrorKind<DB::ErrorType>> {
    let line_h = (look.caption_px * 1.35).round() as i32;
    let start = height - look.margin - line_h * lines.len() as i32;
    let style = look
        .font(look.caption_px, look.colors.muted_text)
        .pos(Pos::new(HPos::Center, VPos::Top));
    let centre = root.dim_in_pixel().0 as i32 / 2;
    for (i, line) in lines.iter().enumerate() {
        root.draw_text(line, &style, (centre, start + i as i32 * line_h))?;
    }
    Ok(start)
}

/// The sentence that replaces a chart without data, centred between the title and the
/// caption.
fn draw_note<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    look: &Look,
    note: &str,
    top: i32,
    bottom: i32,
) -> DrawResult<DB> {
    let width = root.dim_in_pixel().0 as i32;
    let px = look.axis_px;
    let lines = text::wrap(note, Look::chars_in(width * 4 / 5, px), 8);
    let line_h = (px * 1.4).round() as i32;
    let block = line_h * lines.len() as i32;
    let start = top + ((bottom - top) - block).max(0) / 2;
    let style = look
        .font(px, look.colors.muted_text)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (i, line) in lines.iter().enumerate() {
        root.draw_text(line, &style, (width / 2, start + i as i32 * line_h))?;
    }
    Ok(())
}

/// The grid, the x axis and the left y axis with their labels; `ticks` is the number of
/// labels wanted on x and y.
fn draw_mesh<DB: DrawingBackend>(
    ctx: &mut ChartContext<'_, DB, Cartesian2d<Scale, Scale>>,
    chart: &Chart,
    look: &Look,
    (x_ticks, y_ticks): (usize, usize),
) -> DrawResult<DB> {
    ctx.configure_mesh()
        .x_desc(text::clean(&chart.x.label, 150))
        .y_desc(text::clean(&chart.y.label, 100))
        .x_labels(x_ticks)
        .y_labels(y_ticks)
        .max_light_lines(0)
        .bold_line_style(look.colors.grid.rgb().stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(look.colors.axis.rgb())
        .label_style(look.font(look.tick_px, look.colors.text))
        .axis_desc_style(look.font(look.axis_px, look.colors.text))
        .draw()
}

/// Axes, grid and series inside `region`; a secondary (right) y axis when a series needs it.
fn draw_plot<DB: DrawingBackend>(
    region: &DrawingArea<DB, Shift>,
    chart: &Chart,
    prep: &Prepared<'_>,
    look: &Look,
) -> DrawResult<DB> {
    let (rw, rh) = region.dim_in_pixel();
    let y_area = (look.tick_px * 4.2 + look.axis_px * 1.8).round() as u32;
    let x_area = (look.tick_px * 1.6 + look.axis_px * 1.9).round() as u32;
    let mut builder = ChartBuilder::on(region);
    builder
        .x_label_area_size(x_area)
        .y_label_area_size(y_area)
        .margin_top(look.margin / 2)
        .margin_right(if prep.y2.is_some() { 0 } else { look.margin });
    if prep.y2.is_some() {
        builder.right_y_label_area_size(y_area);
    }
    let mut ctx = builder.build_cartesian_2d(prep.x.scale(), prep.y.scale())?;
    ctx.plotting_area()
        .fill(&look.colors.plot_background.rgb())?;
    let ticks = (
        (rw / 150).clamp(3, 12) as usize,
        (rh / 90).clamp(3, 10) as usize,
    );

    let Some(y2) = prep.y2 else {
        draw_mesh(&mut ctx, chart, look, ticks)?;
        let canvas = Canvas::new(ctx.plotting_area(), (prep.x, prep.y), look);
        for v in &prep.views {
            marks::draw_view(&canvas, v)?;
        }
        return Ok(());
    };
    // The secondary coordinates take over the right label area, so the primary mesh must be
    // drawn after they are set (else the left axis is labelled on both sides).
    let mut dual = ctx.set_secondary_coord(prep.x.scale(), y2.scale());
    draw_mesh(&mut dual, chart, look, ticks)?;
    let y2_label = chart.y2.as_ref().map(|a| a.label.as_str()).unwrap_or("");
    dual.configure_secondary_axes()
        .y_desc(text::clean(y2_label, 100))
        .y_labels(ticks.1)
        .axis_style(look.colors.axis.rgb())
        .label_style(look.font(look.tick_px, look.colors.text))
        .axis_desc_style(look.font(look.axis_px, look.colors.text))
        .draw()?;
    let left = Canvas::new(dual.plotting_area(), (prep.x, prep.y), look);
    let right = Canvas::new(dual.secondary_plotting_area(), (prep.x, y2), look);
    for v in &prep.views {
        marks::draw_view(if v.series.right { &right } else { &left }, v)?;
    }
    Ok(())
}
