//! Colours: the light and dark themes (AIPerf's constants) and the colour of each series
//! [`Role`], so the same thing has the same colour in every image and in both themes.

use plotters::style::RGBColor;

use crate::chart::Role;

/// Light or dark images (`--theme light|dark`, AIPerf's two themes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    #[default]
    Light,
    Dark,
}

/// A colour as 8-bit red, green, blue; [`Rgb::hex`] gives the `#rrggbb` form that HTML wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// The fixed colours of one theme (everything that is not a series).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colors {
    /// The whole image ("paper").
    pub background: Rgb,
    /// Inside the axes.
    pub plot_background: Rgb,
    /// Title, axis labels, tick labels, legend.
    pub text: Rgb,
    /// Captions, notes and point labels: readable but quieter than [`Colors::text`].
    pub muted_text: Rgb,
    /// Grid lines.
    pub grid: Rgb,
    /// Axis lines and tick marks.
    pub axis: Rgb,
}

/// NVIDIA green, AIPerf's primary colour: successful requests, the Pareto front and the first
/// series of the palette.
pub const PRIMARY: Rgb = Rgb(0x76, 0xB9, 0x00);

/// Series colours by position ([`Role::Palette`]). Mid-luminance hues so that each reads on
/// white and on `#252525`, and neighbours differ in hue as well as lightness.
pub const PALETTE: [Rgb; 8] = [
    PRIMARY,
    Rgb(0x2F, 0x80, 0xED), // blue
    Rgb(0xF2, 0x99, 0x4A), // orange
    Rgb(0x9B, 0x51, 0xE0), // purple
    Rgb(0x00, 0xA6, 0xA6), // teal
    Rgb(0xE0, 0x56, 0x9B), // pink
    Rgb(0xC9, 0xA4, 0x00), // ochre
    Rgb(0xB5, 0x65, 0x1D), // brown
];

/// Failed requests: a red that stays distinct from the palette's pink and orange.
const ERROR: Rgb = Rgb(0xE5, 0x38, 0x3B);
/// Cancelled requests: amber, between "ok" green and "error" red.
const CANCELLED: Rgb = Rgb(0xF2, 0xA9, 0x00);
/// The knee of a Pareto front: magenta, which no other role or early palette entry uses.
const KNEE: Rgb = Rgb(0xE6, 0x00, 0x7E);

impl Theme {
    /// Reads `light` or `dark` (any case, surrounding blanks ignored); `None` for anything else
    /// so the caller can list the accepted values.
    pub fn parse(s: &str) -> Option<Theme> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("light") {
            Some(Theme::Light)
        } else if s.eq_ignore_ascii_case("dark") {
            Some(Theme::Dark)
        } else {
            None
        }
    }

    /// The name [`Theme::parse`] accepts.
    pub fn name(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    /// AIPerf's theme constants (light: white, `#0a0a0a`, grid `#CCCCCC`; dark: `#1a1a1a`,
    /// plot `#252525`, `#E0E0E0`, grid `#333333`).
    pub fn colors(self) -> Colors {
        match self {
            Theme::Light => Colors {
                background: Rgb(0xFF, 0xFF, 0xFF),
                plot_background: Rgb(0xFF, 0xFF, 0xFF),
                text: Rgb(0x0A, 0x0A, 0x0A),
                muted_text: Rgb(0x55, 0x55, 0x55),
                grid: Rgb(0xCC, 0xCC, 0xCC),
                axis: Rgb(0x44, 0x44, 0x44),
            },
            Theme::Dark => Colors {
                background: Rgb(0x1A, 0x1A, 0x1A),
                plot_background: Rgb(0x25, 0x25, 0x25),
                text: Rgb(0xE0, 0xE0, 0xE0),
                muted_text: Rgb(0xA8, 0xA8, 0xA8),
                grid: Rgb(0x33, 0x33, 0x33),
                axis: Rgb(0x88, 0x88, 0x88),
            },
        }
    }

    /// The colour of a series with `role`; `index` is its position among the drawn series and
    /// only matters for [`Role::Palette`] (wrapping around after [`PALETTE`]'s length).
    pub fn role_color(self, role: Role, index: usize) -> Rgb {
        match role {
            Role::Palette => PALETTE[index % PALETTE.len()],
            Role::Ok | Role::Front => PRIMARY,
            Role::Error => ERROR,
            Role::Cancelled => CANCELLED,
            Role::Knee => KNEE,
            // Greys: muted against either background, reference lighter on dark paper.
            Role::Reference => match self {
                Theme::Light => Rgb(0x80, 0x80, 0x80),
                Theme::Dark => Rgb(0xA0, 0xA0, 0xA0),
            },
            Role::Baseline => match self {
                Theme::Light => Rgb(0xA6, 0xA6, 0xA6),
                Theme::Dark => Rgb(0x8C, 0x8C, 0x8C),
            },
        }
    }
}

impl Rgb {
    /// `#rrggbb`, for the HTML report and for tests.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// The plotters colour.
    pub(crate) fn rgb(self) -> RGBColor {
        RGBColor(self.0, self.1, self.2)
    }
}
