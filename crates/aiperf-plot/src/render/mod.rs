//! PNG and SVG images of [`Chart`]s, drawn with `plotters` and our embedded font, so no
//! browser and no system font is needed (docs/design/plots.md §3).
//!
//! [`png`] draws into an RGB buffer and encodes it with the `png` crate; [`svg`] writes SVG
//! text whose `<text>` elements name `sans-serif` (laid out with our font's metrics). Both
//! draw the same picture: title, legend, axes with grid, the series shown in images
//! ([`crate::chart::Series::in_images`]), caption. A chart with a `note`, or with nothing
//! drawable, becomes a picture of its title and the note. Chart contents are untrusted:
//! odd values are skipped, never a panic.

mod data;
mod layout;
mod legend;
mod marks;
mod scale;
mod text;
mod theme;

use std::sync::OnceLock;

use plotters::backend::{BitMapBackend, SVGBackend};
use plotters::drawing::IntoDrawingArea;
use plotters::style::{register_font, FontStyle};

use crate::chart::Chart;

pub use data::SVG_MAX_SCATTER_POINTS;
pub use theme::{Colors, Rgb, Theme, PALETTE, PRIMARY};

/// DejaVu Sans 2.37 (Debian `fonts-dejavu-core`), unmodified; licence in
/// `assets/fonts/LICENSE.dejavu`.
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The largest side we draw: beyond it the RGB buffer alone runs into hundreds of megabytes.
pub const MAX_SIDE: u32 = 10_000;

/// Image size in pixels (SVG: user units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Default for Size {
    /// AIPerf's 1600×800.
    fn default() -> Self {
        Size {
            width: 1600,
            height: 800,
        }
    }
}

/// Why an image could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A side is zero or larger than [`MAX_SIDE`].
    #[error("image size {width}x{height} is not drawable (each side must be 1..={max})", max = MAX_SIDE)]
    Size { width: u32, height: u32 },
    /// The embedded font was rejected by the text renderer.
    #[error("the embedded font could not be loaded: {0}")]
    Font(String),
    /// plotters failed while drawing.
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    /// The PNG encoder failed.
    #[error("encoding the PNG failed: {0}")]
    Encode(String),
}

/// Draws `chart` as a PNG of exactly `size` pixels (8-bit RGB). Every point is drawn.
pub fn png(chart: &Chart, theme: Theme, size: Size) -> Result<Vec<u8>, RenderError> {
    check_size(size)?;
    ensure_font()?;
    let (w, h) = (size.width, size.height);
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        layout::draw_chart(&root, chart, theme, false).map_err(draw_error)?;
    }
    encode_png(&pixels, size)
}

/// Draws `chart` as an SVG document of `size` user units. Scatter series above
/// [`SVG_MAX_SCATTER_POINTS`] are evenly thinned and the caption says so.
pub fn svg(chart: &Chart, theme: Theme, size: Size) -> Result<String, RenderError> {
    check_size(size)?;
    ensure_font()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (size.width, size.height)).into_drawing_area();
        layout::draw_chart(&root, chart, theme, true).map_err(draw_error)?;
    }
    Ok(out)
}

/// Rejects sizes that cannot make an image (zero) or would need an unreasonable buffer.
fn check_size(size: Size) -> Result<(), RenderError> {
    let ok = |side: u32| (1..=MAX_SIDE).contains(&side);
    if ok(size.width) && ok(size.height) {
        Ok(())
    } else {
        Err(RenderError::Size {
            width: size.width,
            height: size.height,
        })
    }
}

/// Registers the embedded font as plotters' `sans-serif` once per process: with the
/// `ab_glyph` feature plotters can only draw registered fonts.
pub(crate) fn ensure_font() -> Result<(), RenderError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font("sans-serif", FontStyle::Normal, FONT)
                .map_err(|_| "DejaVuSans.ttf is not a valid font".to_string())
        })
        .clone()
        .map_err(RenderError::Font)
}

/// plotters' errors carry the backend's error type; the message is all a caller can use.
fn draw_error(e: impl std::fmt::Display) -> RenderError {
    RenderError::Draw(e.to_string())
}

/// Encodes an RGB buffer (what `BitMapBackend::with_buffer` draws into) as PNG, with fast
/// compression: charts are mostly flat colour, which compresses well even at that level.
pub(crate) fn encode_png(pixels: &[u8], size: Size) -> Result<Vec<u8>, RenderError> {
    let encode = |e: png::EncodingError| RenderError::Encode(e.to_string());
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, size.width, size.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(encode)?;
    writer.write_image_data(pixels).map_err(encode)?;
    writer.finish().map_err(encode)?;
    Ok(out)
}
