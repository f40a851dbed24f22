//! The files `report.html` inlines, embedded at compile time so that the report needs no
//! network, no files beside it and no build script (docs/design/plots.md §4).
//!
//! uPlot is vendored by `scripts/vendor_uplot.sh`; the tests pin its digests, so a hand edit
//! of a vendored file (or a silent refresh to another version) fails the build's tests.

/// uPlot's version, as written in the page's footer.
pub const UPLOT_VERSION: &str = "1.6.32";

/// uPlot 1.6.32, `dist/uPlot.iife.min.js` (defines the global `uPlot`).
pub const UPLOT_JS: &str = include_str!("../../assets/report/uPlot.iife.min.js");

/// uPlot 1.6.32, `dist/uPlot.min.css`.
pub const UPLOT_CSS: &str = include_str!("../../assets/report/uPlot.min.css");

/// uPlot's MIT licence, which must travel with every copy: it precedes the library in the page.
pub const UPLOT_LICENSE: &str = include_str!("../../assets/report/LICENSE.uplot");

/// Our error collector: the first script of the page.
pub const ERRORS_JS: &str = include_str!("../../assets/report/errors.js");

/// Our chart and comparison script: the last script of the page.
pub const REPORT_JS: &str = include_str!("../../assets/report/report.js");

/// Our styles, after uPlot's.
pub const REPORT_CSS: &str = include_str!("../../assets/report/report.css");

/// sha256 of [`UPLOT_JS`] as published in the npm tarball of uplot 1.6.32.
#[cfg(test)]
pub const UPLOT_JS_SHA256: &str =
    "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f";

/// sha256 of [`UPLOT_CSS`] as published in the npm tarball of uplot 1.6.32.
#[cfg(test)]
pub const UPLOT_CSS_SHA256: &str =
    "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04";
