//! Pixels of the swim lane: the lanes on top, the concurrency panel below, drawn with
//! plotters as PNG and SVG. Bars are merged per pixel row and colour, and curves reduced to
//! four points per pixel column (entry, min, max, exit), so 100k requests draw in bounded
//! time and the SVG stays small; the peak is kept exactly.

use std::collections::HashMap;

use plotters::backend::{BitMapBackend, DrawingBackend, SVGBackend};
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, IntoDrawingArea};
use plotters::element::{PathElement, Polygon, Rectangle, Text};
use plotters::style::{Color, FontDesc, FontFamily, FontStyle, RGBColor, ShapeStyle};

use super::{active_curve, idle_curve, layout, peak, Layout, Run};
use crate::render::{RenderError, Rgb, PALETTE};

const WIDTH: u32 = 2000;
const LEFT: i32 = 90;
const RIGHT: i32 = 40;
const TOP: i32 = 90;
const CONC_HEIGHT: i32 = 260;
const GAP: i32 = 50;
const BOTTOM: i32 = 90;
/// The swim panel never grows past this many pixels, however many rows there are.
const MAX_SWIM: f64 = 2400.0;
const BAR: f64 = 0.7;

const FAILED: Rgb = Rgb(0xE5, 0x38, 0x3B);
const ACTIVE: Rgb = Rgb(0x21, 0x96, 0xF3);
const IDLE_LINE: Rgb = Rgb(0x99, 0x99, 0x99);
const TEXT: Rgb = Rgb(0x22, 0x22, 0x22);
const GRID: Rgb = Rgb(0xE4, 0xE4, 0xE4);
const SLOT_LINE: Rgb = Rgb(0xD0, 0x00, 0x00);
const TARGET: Rgb = Rgb(0x2E, 0x9E, 0x2E);
const RAMP: Rgb = Rgb(0xFF, 0x98, 0x00);

/// Everything drawn, computed once from a run.
pub struct Picture<'a> {
    run: &'a Run,
    layout: Layout,
    title: String,
    t0: u64,
    span_s: f64,
    active: Vec<(u64, i64)>,
    idle: Vec<(u64, i64)>,
    /// Peak requests in flight (exact).
    pub peak: i64,
    target: Option<u64>,
    ramp: Option<f64>,
    bench: Option<f64>,
}

impl<'a> Picture<'a> {
    /// Lays out `run`; `target` is `--concurrency`, `ramp`/`bench` the marker times (s).
    pub fn new(
        run: &'a Run,
        title: &str,
        target: Option<u64>,
        ramp: Option<f64>,
        bench: Option<f64>,
    ) -> Self {
        let t0 = run.requests.iter().map(|r| r.start_ns).min().unwrap_or(0);
        let t_end = run.requests.iter().map(|r| r.end_ns).max().unwrap_or(t0);
        let active = active_curve(run);
        Picture {
            layout: layout(run),
            title: clean(title, 120),
            t0,
            span_s: ((t_end - t0) as f64 / 1e9 * 1.01).max(1.0),
            peak: peak(&active),
            idle: idle_curve(run),
            active,
            target,
            ramp,
            bench,
            run,
        }
    }

    /// Number of slots (lanes).
    pub fn slots(&self) -> u32 {
        self.layout.slot_rows.len() as u32
    }

    /// Pixels per row: the panel is 22 px a row, at least 240 px and at most [`MAX_SWIM`].
    fn row_px(&self) -> f64 {
        f64::from(self.swim_height()) / f64::from(self.layout.total_rows().max(1))
    }

    fn swim_height(&self) -> i32 {
        (f64::from(self.layout.total_rows().max(1)) * 22.0).clamp(240.0, MAX_SWIM) as i32
    }

    /// Image size in pixels.
    pub fn size(&self) -> (u32, u32) {
        let h = TOP + self.swim_height() + GAP + CONC_HEIGHT + BOTTOM;
        (WIDTH, h as u32)
    }

    fn x(&self, ns: u64) -> f64 {
        let plot_w = f64::from(WIDTH as i32 - LEFT - RIGHT);
        LEFT as f64 + (ns.saturating_sub(self.t0) as f64 / 1e9) / self.span_s * plot_w
    }

    fn x_s(&self, s: f64) -> f64 {
        let plot_w = f64::from(WIDTH as i32 - LEFT - RIGHT);
        LEFT as f64 + s / self.span_s * plot_w
    }
}

/// The picture as PNG (8-bit RGB).
pub fn png(p: &Picture<'_>) -> Result<Vec<u8>, RenderError> {
    crate::render::ensure_font()?;
    let (w, h) = p.size();
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        draw_all(&root, p).map_err(|e| RenderError::Draw(e.to_string()))?;
        root.present()
            .map_err(|e| RenderError::Draw(e.to_string()))?;
    }
    crate::render::encode_png(
        &pixels,
        crate::render::Size {
            width: w,
            height: h,
        },
    )
}

/// The picture as an SVG document.
pub fn svg(p: &Picture<'_>) -> Result<String, RenderError> {
    crate::render::ensure_font()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, p.size()).into_drawing_area();
        draw_all(&root, p).map_err(|e| RenderError::Draw(e.to_string()))?;
        root.present()
            .map_err(|e| RenderError::Draw(e.to_string()))?;
    }
    Ok(out)
}

/// `s` on one line without control characters, cut at `max` characters.
fn clean(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if s.chars().count() > max {
        out.push('\u{2026}');
    }
    out
}

type Area<DB> = DrawingArea<DB, Shift>;
type Res<DB> =
    Result<(), plotters::drawing::DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// `c` mixed with white: `keep` of the colour stays.
fn pale(c: Rgb, keep: f64) -> Rgb {
    let mix = |v: u8| (f64::from(v) * keep + 255.0 * (1.0 - keep)).round() as u8;
    Rgb(mix(c.0), mix(c.1), mix(c.2))
}

fn font(px: f64, c: Rgb) -> plotters::style::TextStyle<'static> {
    FontDesc::new(FontFamily::SansSerif, px, FontStyle::Normal).color(&rgb(c))
}

fn draw_all<DB: DrawingBackend>(area: &Area<DB>, p: &Picture<'_>) -> Res<DB> {
    area.fill(&plotters::style::WHITE)?;
    let n_sub = p.run.sessions.iter().filter(|s| s.is_sub).count();
    let counts = if n_sub > 0 {
        format!(
            "{} sessions + {n_sub} subagents",
            p.run.sessions.len() - n_sub
        )
    } else {
        format!("{} sessions", p.run.sessions.len())
    };
    let title = format!("{}  \u{2014}  {counts} across {} slots", p.title, p.slots());
    area.draw(&Text::new(title, (LEFT, 18), font(22.0, TEXT)))?;
    legend(area, LEFT, 54, &top_legend(n_sub > 0))?;
    let swim_bottom = TOP + p.swim_height();
    time_grid(area, p, TOP, swim_bottom, false)?;
    lanes(area, p)?;
    slot_axis(area, p)?;
    let conc_top = swim_bottom + GAP;
    time_grid(area, p, conc_top, conc_top + CONC_HEIGHT, true)?;
    concurrency(area, p, conc_top)?;
    markers(area, p, TOP, swim_bottom)?;
    markers(area, p, conc_top, conc_top + CONC_HEIGHT)?;
    legend(area, LEFT, conc_top + CONC_HEIGHT + 52, &conc_legend(p))
}

/// One legend entry: colour, label, drawn as a line instead of a box.
type Entry = (Rgb, String, bool);

fn top_legend(subagents: bool) -> Vec<Entry> {
    let c = PALETTE[0];
    let mut v = vec![
        (pale(c, 0.45), "Waiting for first token".to_string(), false),
        (c, "Generating (after first token)".to_string(), false),
        (FAILED, "Failed request".to_string(), false),
    ];
    if subagents {
        v.push((pale(c, 0.7), "Subagent request".to_string(), false));
    }
    v.push((pale(c, 0.18), "Inter-turn delay".to_string(), false));
    v.push((Rgb(0, 0, 0), "New session in slot".to_string(), true));
    v
}

fn conc_legend(p: &Picture<'_>) -> Vec<Entry> {
    let mut v = vec![
        (ACTIVE, format!("Active requests (peak {})", p.peak), true),
        (IDLE_LINE, "Idle sessions (between turns)".to_string(), true),
        (SLOT_LINE, format!("Slot count ({})", p.slots()), true),
    ];
    if let Some(c) = p.target {
        v.push((TARGET, format!("Target concurrency ({c})"), true));
    }
    if let Some(r) = p.ramp {
        v.push((RAMP, format!("Ramp done ({r:.0}s)"), true));
    }
    if let Some(b) = p.bench {
        v.push((SLOT_LINE, format!("Benchmark end ({b:.0}s)"), true));
    }
    v
}

fn legend<DB: DrawingBackend>(area: &Area<DB>, x0: i32, y: i32, entries: &[Entry]) -> Res<DB> {
    let mut x = x0;
    for (c, label, line) in entries {
        if *line {
            area.draw(&PathElement::new(
                vec![(x, y + 7), (x + 22, y + 7)],
                rgb(*c).stroke_width(2),
            ))?;
        } else {
            area.draw(&Rectangle::new(
                [(x, y), (x + 22, y + 14)],
                rgb(*c).filled(),
            ))?;
        }
        area.draw(&Text::new(label.clone(), (x + 28, y), font(14.0, TEXT)))?;
        x += 28 + (label.chars().count() as i32) * 8 + 24;
    }
    Ok(())
}

/// A "nice" tick step covering `span` with about `n` ticks.
fn tick_step(span: f64, n: f64) -> f64 {
    let raw = span / n;
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

fn time_grid<DB: DrawingBackend>(
    area: &Area<DB>,
    p: &Picture<'_>,
    top: i32,
    bottom: i32,
    labels: bool,
) -> Res<DB> {
    let step = tick_step(p.span_s, 12.0);
    let right = WIDTH as i32 - RIGHT;
    let mut t = 0.0;
    while t <= p.span_s + 1e-9 {
        let x = p.x_s(t).round() as i32;
        area.draw(&PathElement::new(vec![(x, top), (x, bottom)], rgb(GRID)))?;
        if labels {
            let text = if step >= 1.0 {
                format!("{t:.0}")
            } else {
                format!("{t:.2}")
            };
            area.draw(&Text::new(text, (x - 8, bottom + 6), font(13.0, TEXT)))?;
        }
        t += step;
    }
    let frame = vec![
        (LEFT, top),
        (right, top),
        (right, bottom),
        (LEFT, bottom),
        (LEFT, top),
    ];
    area.draw(&PathElement::new(frame, rgb(IDLE_LINE)))?;
    if labels {
        let mid = (LEFT + right) / 2 - 50;
        area.draw(&Text::new(
            "Time (seconds)",
            (mid, bottom + 26),
            font(15.0, TEXT),
        ))?;
    }
    Ok(())
}

/// Rectangles keyed by pixel band and colour, their x spans merged when closer than a pixel.
#[derive(Default)]
struct Bars(HashMap<BarKey, Vec<(f64, f64)>>);

/// Top and bottom pixel row and colour of a group of bars.
type BarKey = (i32, i32, (u8, u8, u8));

impl Bars {
    fn add(&mut self, y0: f64, y1: f64, x0: f64, x1: f64, c: Rgb) {
        let top = y0.round() as i32;
        let bottom = (y1.round() as i32).max(top + 1);
        self.0
            .entry((top, bottom, (c.0, c.1, c.2)))
            .or_default()
            .push((x0, x1));
    }

    fn draw<DB: DrawingBackend>(self, area: &Area<DB>) -> Res<DB> {
        let mut keys: Vec<_> = self.0.into_iter().collect();
        keys.sort_by_key(|(k, _)| *k);
        for ((top, bottom, (r, g, b)), mut spans) in keys {
            spans.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (x0, x1) in merge_px(&spans) {
                let rect = [(x0, top), (x1, bottom)];
                area.draw(&Rectangle::new(rect, RGBColor(r, g, b).filled()))?;
            }
        }
        Ok(())
    }
}

/// Sorted float spans as whole-pixel spans (each at least one pixel), touching ones merged.
fn merge_px(spans: &[(f64, f64)]) -> Vec<(i32, i32)> {
    let mut out: Vec<(i32, i32)> = Vec::new();
    for &(a, b) in spans {
        let x0 = a.floor() as i32;
        let x1 = (b.ceil() as i32).max(x0 + 1);
        match out.last_mut() {
            Some(last) if x0 <= last.1 => last.1 = last.1.max(x1),
            _ => out.push((x0, x1)),
        }
    }
    out
}

fn lanes<DB: DrawingBackend>(area: &Area<DB>, p: &Picture<'_>) -> Res<DB> {
    let row = p.row_px();
    let y = |r: u32| TOP as f64 + f64::from(r) * row;
    let pad = row * (1.0 - BAR) / 2.0;
    let mut bars = Bars::default();
    for idle in &p.layout.idle {
        let c = pale(PALETTE[idle.lane as usize % PALETTE.len()], 0.18);
        let (y0, y1) = (y(idle.row) + pad, y(idle.row + idle.rows) - pad);
        bars.add(y0, y1, p.x(idle.from_ns), p.x(idle.to_ns), c);
    }
    for (i, r) in p.run.requests.iter().enumerate() {
        let lane = PALETTE[p.layout.request_lane[i] as usize % PALETTE.len()];
        let lane = if p.run.sessions[r.session as usize].is_sub {
            pale(lane, 0.7)
        } else {
            lane
        };
        let (y0, y1) = (
            y(p.layout.request_row[i]) + pad,
            y(p.layout.request_row[i] + 1) - pad,
        );
        let (x0, x1) = (p.x(r.start_ns), p.x(r.end_ns));
        match (r.failed, r.first_token_ns) {
            (true, _) => bars.add(y0, y1, x0, x1, FAILED),
            (false, Some(ft)) => {
                bars.add(y0, y1, x0, p.x(ft), pale(lane, 0.45));
                bars.add(y0, y1, p.x(ft), x1, lane);
            }
            (false, None) => bars.add(y0, y1, x0, x1, lane),
        }
    }
    bars.draw(area)?;
    for &(slot, at) in &p.layout.reuse {
        let (first, n) = p.layout.slot_rows[slot as usize];
        let x = p.x(at).round() as i32;
        let line = vec![
            (x, (y(first) + pad) as i32),
            (x, (y(first + n) - pad) as i32),
        ];
        area.draw(&PathElement::new(
            line,
            plotters::style::BLACK.stroke_width(2),
        ))?;
    }
    Ok(())
}

fn slot_axis<DB: DrawingBackend>(area: &Area<DB>, p: &Picture<'_>) -> Res<DB> {
    let row = p.row_px();
    let slots = &p.layout.slot_rows;
    let spread = slots.len() > 1 && p.layout.total_rows() as usize > slots.len();
    let min_gap = 14.0;
    let mut last_label = f64::NEG_INFINITY;
    for (s, &(first, n)) in slots.iter().enumerate() {
        let top = TOP as f64 + f64::from(first) * row;
        if spread && s > 0 && row >= 1.0 {
            let yy = top.round() as i32;
            area.draw(&PathElement::new(
                vec![(LEFT, yy), (WIDTH as i32 - RIGHT, yy)],
                rgb(GRID),
            ))?;
        }
        let mid = top + f64::from(n) * row / 2.0;
        if mid - last_label >= min_gap {
            area.draw(&Text::new(
                s.to_string(),
                (LEFT - 40, mid as i32 - 7),
                font(12.0, TEXT),
            ))?;
            last_label = mid;
        }
    }
    area.draw(&Text::new("Session slot", (4, TOP - 22), font(14.0, TEXT)))
}

/// A step curve as pixel points: entry, min, max and exit value per pixel column.
fn step_points(p: &Picture<'_>, curve: &[(u64, i64)], y: impl Fn(f64) -> f64) -> Vec<(i32, i32)> {
    let mut out: Vec<(i32, i32)> = Vec::new();
    let mut level = 0i64;
    let mut i = 0;
    while i < curve.len() {
        let col = p.x(curve[i].0).round() as i32;
        let enter = level;
        let (mut lo, mut hi) = (level, level);
        while i < curve.len() && p.x(curve[i].0).round() as i32 == col {
            level = curve[i].1;
            lo = lo.min(level);
            hi = hi.max(level);
            i += 1;
        }
        for v in [enter, lo, hi, level] {
            let pt = (col, y(v as f64).round() as i32);
            if out.last() != Some(&pt) {
                out.push(pt);
            }
        }
    }
    out
}

fn concurrency<DB: DrawingBackend>(area: &Area<DB>, p: &Picture<'_>, top: i32) -> Res<DB> {
    let bottom = top + CONC_HEIGHT;
    let slots = f64::from(p.slots());
    let target = p.target.map_or(0.0, |t| t as f64);
    let y_max = (p.peak as f64 * 1.15)
        .max(slots * 1.15)
        .max(target * 1.15)
        .max(1.0);
    let y = |v: f64| bottom as f64 - v / y_max * f64::from(CONC_HEIGHT);
    let step = tick_step(y_max, 5.0).max(1.0);
    let mut v = 0.0;
    while v <= y_max {
        let yy = y(v).round() as i32;
        area.draw(&PathElement::new(
            vec![(LEFT, yy), (WIDTH as i32 - RIGHT, yy)],
            rgb(GRID),
        ))?;
        area.draw(&Text::new(
            format!("{v:.0}"),
            (LEFT - 40, yy - 7),
            font(12.0, TEXT),
        ))?;
        v += step;
    }
    area.draw(&Text::new("Sessions", (4, top - 22), font(14.0, TEXT)))?;
    let active = step_points(p, &p.active, y);
    if let (Some(first), Some(last)) = (active.first(), active.last()) {
        let mut poly = active.clone();
        poly.push((last.0, bottom));
        poly.push((first.0, bottom));
        area.draw(&Polygon::new(poly, rgb(pale(ACTIVE, 0.3)).filled()))?;
    }
    area.draw(&PathElement::new(
        step_points(p, &p.idle, y),
        rgb(IDLE_LINE).stroke_width(1),
    ))?;
    area.draw(&PathElement::new(active, rgb(ACTIVE).stroke_width(1)))?;
    hline(area, y(slots), SLOT_LINE, 3)?;
    if p.target.is_some() {
        hline(area, y(target), TARGET, 8)?;
    }
    Ok(())
}

fn hline<DB: DrawingBackend>(area: &Area<DB>, y: f64, c: Rgb, dash: i32) -> Res<DB> {
    let yy = y.round() as i32;
    let mut x = LEFT;
    while x < WIDTH as i32 - RIGHT {
        let end = (x + dash).min(WIDTH as i32 - RIGHT);
        area.draw(&PathElement::new(
            vec![(x, yy), (end, yy)],
            ShapeStyle::from(rgb(c)).stroke_width(2),
        ))?;
        x += dash * 2;
    }
    Ok(())
}

fn markers<DB: DrawingBackend>(area: &Area<DB>, p: &Picture<'_>, top: i32, bottom: i32) -> Res<DB> {
    for (at, c) in [(p.ramp, RAMP), (p.bench, SLOT_LINE)] {
        let Some(s) = at.filter(|s| s.is_finite() && *s >= 0.0 && *s <= p.span_s) else {
            continue;
        };
        let x = p.x_s(s).round() as i32;
        let mut yy = top;
        while yy < bottom {
            let end = (yy + 8).min(bottom);
            area.draw(&PathElement::new(
                vec![(x, yy), (x, end)],
                ShapeStyle::from(rgb(c)).stroke_width(2),
            ))?;
            yy += 16;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Request, Session};
    use super::*;

    fn run(n: u64) -> Run {
        // n requests of 1 s each, 4 sessions, start every 250 ms: 4 in flight at a time.
        let requests = (0..n)
            .map(|i| Request {
                start_ns: i * 250_000_000,
                end_ns: i * 250_000_000 + 1_000_000_000,
                first_token_ns: Some(i * 250_000_000 + 100_000_000),
                failed: i % 7 == 3,
                session: (i % 4) as u32,
                turn: (i / 4) as u32,
            })
            .collect();
        let sessions = (0..4)
            .map(|i| Session {
                id: format!("<s{i}>&"),
                ..Session::default()
            })
            .collect();
        Run { requests, sessions }
    }

    #[test]
    fn merge_px_joins_touching_spans_and_keeps_one_pixel() {
        assert_eq!(
            merge_px(&[(0.2, 0.3), (0.9, 3.5), (5.0, 6.0)]),
            vec![(0, 4), (5, 6)]
        );
    }

    #[test]
    fn png_and_svg_are_real_images() {
        let r = run(40);
        let p = Picture::new(&r, "run <b>&", Some(4), Some(1.0), Some(10.0));
        assert_eq!(p.slots(), 4);
        // At 0.75 s + k*0.25 four requests overlap ([s, s+1) with s every 250 ms, ends first).
        assert_eq!(p.peak, 4);
        let bytes = png(&p).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), p.size());
        let svg = svg(&p).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let texts: Vec<String> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text().map(|t| t.trim().to_string()))
            .collect();
        assert!(texts.iter().any(|t| t.contains("run <b>&")), "{texts:?}");
        assert!(
            texts.iter().any(|t| t == "Active requests (peak 4)"),
            "{texts:?}"
        );
        // Failed requests are drawn in their own red.
        assert!(svg.to_lowercase().contains("#e5383b"));
        if let Ok(dir) = std::env::var("SWIM_LANE_SAMPLE_DIR") {
            std::fs::write(format!("{dir}/sample.svg"), &svg).unwrap();
            std::fs::write(format!("{dir}/sample.png"), png(&p).unwrap()).unwrap();
        }
    }

    #[test]
    fn svg_size_is_bounded_for_100k_requests() {
        let r = run(100_000);
        let p = Picture::new(&r, "big", None, None, None);
        let svg = svg(&p).unwrap();
        let rects = svg.matches("<rect").count();
        // 4 rows x 2 colours + failed, each merged to a handful of spans per pixel row.
        assert!(rects < 20_000, "{rects} rects");
        assert!(svg.len() < 8_000_000, "{} bytes", svg.len());
    }
}
