//! Axis ranges from data, and one plotters coordinate type for linear and log axes.
//!
//! [`Scale`] wraps plotters' linear and logarithmic coordinates in one type so that a chart
//! with any mix of log/linear x, y and y2 is a single `Cartesian2d<Scale, Scale>` (one drawing
//! code path instead of eight monomorphised ones).

use std::ops::Range;

use plotters::coord::combinators::{IntoLogRange, LogCoord};
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;

/// Largest magnitude we draw: beyond it, differences of values overflow and tick arithmetic
/// loses meaning, so such values are treated like infinities (skipped).
const MAX_MAGNITUDE: f64 = 1e300;

/// Whether `v` can be placed on an axis: finite, not absurdly large, and positive on a log
/// axis (log of zero or a negative number has no position).
pub(crate) fn drawable(v: f64, log: bool) -> bool {
    v.is_finite() && v.abs() <= MAX_MAGNITUDE && (!log || v > 0.0)
}

/// The smallest and largest value seen so far on one axis.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Extent {
    bounds: Option<(f64, f64)>,
    /// Set for Bars and Area: the axis should show 0 (their base) when linear.
    include_zero: bool,
}

impl Extent {
    /// Adds a value that the caller has already checked with [`drawable`].
    pub(crate) fn add(&mut self, v: f64) {
        self.bounds = Some(match self.bounds {
            None => (v, v),
            Some((lo, hi)) => (lo.min(v), hi.max(v)),
        });
    }

    /// Asks for 0 to be shown (bars and areas grow from it).
    pub(crate) fn include_zero(&mut self) {
        self.include_zero = true;
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bounds.is_none()
    }
}

/// A finished axis range: where it starts and ends and whether it is logarithmic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AxisRange {
    pub lo: f64,
    pub hi: f64,
    pub log: bool,
}

impl AxisRange {
    /// The range for the values in `extent`: 5% padding on a linear axis (none below a zero
    /// base of bars), whole decades on a log axis (plotters only labels powers of the base,
    /// so a sub-decade range would get no tick labels), and a widened range when all values are
    /// (nearly: closer than 1e-12 relative, where tick arithmetic runs out of precision) equal so
    /// that the single value sits in the middle instead of dividing by zero.
    pub(crate) fn from_extent(extent: &Extent, log: bool) -> Self {
        let Some((lo, hi)) = extent.bounds else {
            return AxisRange::fallback(log);
        };
        if log {
            return AxisRange::log_decades(lo, hi);
        }
        let (mut lo, mut hi) = (lo, hi);
        let zero_base = extent.include_zero;
        if zero_base {
            lo = lo.min(0.0);
            hi = hi.max(0.0);
        }
        let magnitude = lo.abs().max(hi.abs());
        if hi - lo <= magnitude * 1e-12 {
            let mid = (lo + hi) / 2.0;
            let half = if mid == 0.0 { 1.0 } else { mid.abs() * 0.1 };
            return AxisRange {
                lo: mid - half,
                hi: mid + half,
                log: false,
            };
        }
        let pad = (hi - lo) * 0.05;
        if !(zero_base && lo == 0.0) {
            lo -= pad;
        }
        if !(zero_base && hi == 0.0) {
            hi += pad;
        }
        AxisRange { lo, hi, log: false }
    }

    /// An axis without data (e.g. the left axis when every series is on the right).
    fn fallback(log: bool) -> Self {
        if log {
            AxisRange {
                lo: 1.0,
                hi: 10.0,
                log: true,
            }
        } else {
            AxisRange {
                lo: 0.0,
                hi: 1.0,
                log: false,
            }
        }
    }

    /// Rounds a positive range out to powers of ten, at least one decade wide.
    fn log_decades(lo: f64, hi: f64) -> Self {
        let lo_exp = lo.log10().floor().clamp(-300.0, 299.0);
        let hi_exp = hi.log10().ceil().clamp(lo_exp + 1.0, 300.0);
        AxisRange {
            lo: 10f64.powf(lo_exp),
            hi: 10f64.powf(hi_exp),
            log: true,
        }
    }

    /// The plotters coordinate for this range.
    pub(crate) fn scale(&self) -> Scale {
        if self.log {
            Scale::Log((self.lo..self.hi).log_scale().into())
        } else {
            Scale::Linear((self.lo..self.hi).into())
        }
    }

    /// Where bars and areas start: 0 when it is on the axis, else the bottom of the axis
    /// (always the case on a log axis, which has no 0).
    pub(crate) fn base(&self) -> f64 {
        if !self.log && self.lo <= 0.0 && 0.0 <= self.hi {
            0.0
        } else {
            self.lo
        }
    }
}

/// A linear or logarithmic axis (see the module documentation).
pub(crate) enum Scale {
    Linear(RangedCoordf64),
    Log(LogCoord<f64>),
}

impl Ranged for Scale {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        match self {
            Scale::Linear(c) => c.map(value, limit),
            Scale::Log(c) => c.map(value, limit),
        }
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        match self {
            Scale::Linear(c) => c.key_points(hint),
            Scale::Log(c) => c.key_points(hint),
        }
    }

    fn range(&self) -> Range<f64> {
        match self {
            Scale::Linear(c) => c.range(),
            Scale::Log(c) => c.range(),
        }
    }
}

impl ValueFormatter<f64> for Scale {
    fn format(value: &f64) -> String {
        format_tick(*value)
    }
}

/// A short tick label: at most four significant digits, `k`/`M`/`G` suffixes for large
/// values and exponent notation for tiny or huge ones, so labels fit a fixed-width axis margin
/// and float noise (`0.30000000000000004`) never shows.
pub(crate) fn format_tick(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let a = v.abs();
    if a < 1e-12 {
        return "0".to_string();
    }
    if !(1e-4..1e15).contains(&a) {
        return trim_exponent(&format!("{v:.1e}"));
    }
    let (scaled, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    format!("{}{suffix}", significant(scaled, 4))
}

/// `v` rounded to `digits` significant digits, without trailing zeros.
fn significant(v: f64, digits: i32) -> String {
    let a = v.abs();
    let magnitude = a.log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).clamp(0, 12) as usize;
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".to_string()
    } else {
        s
    }
}

/// `1.0e6` -> `1e6`, `2.5e-7` stays.
fn trim_exponent(s: &str) -> String {
    s.replace(".0e", "e")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_short() {
        assert_eq!(format_tick(0.0), "0");
        assert_eq!(format_tick(0.30000000000000004), "0.3");
        assert_eq!(format_tick(2500.0), "2500");
        assert_eq!(format_tick(12500.0), "12.5k");
        assert_eq!(format_tick(-3_000_000.0), "-3M");
        assert_eq!(format_tick(1e-6), "1e-6");
        assert_eq!(format_tick(1e20), "1e20");
    }

    #[test]
    fn ranges() {
        let mut e = Extent::default();
        e.add(5.0);
        let r = AxisRange::from_extent(&e, false);
        assert!(r.lo < 5.0 && r.hi > 5.0);
        let mut e = Extent::default();
        e.add(120.0);
        e.add(950.0);
        let r = AxisRange::from_extent(&e, true);
        assert_eq!((r.lo, r.hi), (100.0, 1000.0));
        let mut e = Extent::default();
        e.add(3.0);
        e.add(7.0);
        e.include_zero();
        let r = AxisRange::from_extent(&e, false);
        assert_eq!(r.lo, 0.0);
        assert!(r.hi > 7.0);
        assert!(AxisRange::from_extent(&Extent::default(), false).hi > 0.0);
    }
}
