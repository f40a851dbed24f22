//! The self-contained `report.html` (docs/design/plots.md §4): one file with uPlot, our script
//! and styles inlined and the [`ReportData`] embedded as JSON, so it opens from `file://`, is
//! mailed or attached to an issue as is, and never touches the network.
//!
//! The page is static HTML for what does not change (verdicts, warnings, summary tables,
//! failed runs, configuration) plus a script that draws the charts and the comparison against a
//! baseline from the embedded data. After drawing, the script writes what it drew to
//! `<body data-charts>` and sets `<body data-ready="1">`; an error collector that runs first
//! writes every error to `<body data-errors>`. The end-to-end test
//! (`tests/report_html.rs`) checks those attributes in headless Chromium.

mod assets;
mod page;
mod text;

use crate::report_data::ReportData;

/// The `id` of the `<script type="application/json">` element holding the [`ReportData`].
pub const DATA_ELEMENT_ID: &str = "aiperf-report-data";

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot serialize the report data: {0}")]
    Json(#[from] serde_json::Error),
}

/// The complete `report.html` for `data`.
///
/// Every string of `data` is untrusted (model names, directories, configuration values come
/// from the run): the HTML parts are escaped, and the embedded JSON cannot end its script block.
pub fn html(data: &ReportData) -> Result<String, ReportError> {
    let json = text::script_safe_json(&serde_json::to_string(data)?);
    Ok(page::document(data, &json, DATA_ELEMENT_ID))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{Axis, Chart, Mark, Role, Series};
    use crate::report_data::{FailedRun, MetricRow, Mode, RunView, Verdict, REPORT_SCHEMA};
    use sha2::{Digest, Sha256};

    fn sha256_hex(bytes: &[u8]) -> String {
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A small report whose run is named to break out of a script block if it could.
    fn hostile_report() -> ReportData {
        let evil = "</script><script>alert(1)</script>";
        let mut chart = Chart::new(
            "ttft_over_time",
            "TTFT <over> time & more",
            Axis::linear("time (s)"),
            Axis::linear("TTFT (ms)"),
        );
        chart.series.push(
            Series::new(
                evil,
                Mark::Scatter,
                vec![0.0, 1.5, 3.0],
                vec![10.0, 12.25, 9.5],
            )
            .role(Role::Ok)
            .labels(vec!["a".into(), "<b>".into(), "c&d".into()]),
        );
        chart.caption = Some(format!("caption {evil}"));
        ReportData {
            schema: REPORT_SCHEMA,
            title: format!("aiperf report: {evil}"),
            aiperf_version: "0.1.0".into(),
            mode: Mode::Multi,
            runs: vec![RunView {
                name: evil.into(),
                dir: format!("runs/{evil}"),
                group: Some(evil.into()),
                metrics: vec![MetricRow {
                    tag: "time_to_first_token".into(),
                    name: format!("TTFT {evil}"),
                    unit: "ms".into(),
                    larger_is_better: false,
                    stats: vec![("avg".into(), 10.5), ("p99".into(), 12.25)],
                }],
                verdict: Some(Verdict {
                    client_bound: true,
                    reasons: vec![evil.into()],
                }),
                warnings: vec![evil.into()],
                cli_command: Some(format!("aiperf profile --model '{evil}'")),
                config: serde_json::json!({ "model": evil, "url": "http://localhost:8000" }),
            }],
            charts: vec![chart, Chart::absent("gpu", "GPU", evil)],
            failed_runs: vec![FailedRun {
                dir: evil.into(),
                reason: evil.into(),
            }],
            notes: vec![evil.into()],
        }
    }

    /// The text of the embedded JSON block.
    fn embedded_json(page: &str) -> &str {
        let open = format!("<script type=\"application/json\" id=\"{DATA_ELEMENT_ID}\">");
        let start = page.find(&open).expect("data block present") + open.len();
        let len = page[start..].find("</script>").expect("data block closed");
        &page[start..start + len]
    }

    #[test]
    fn vendored_uplot_digests_match() {
        assert_eq!(
            sha256_hex(assets::UPLOT_JS.as_bytes()),
            assets::UPLOT_JS_SHA256,
            "uPlot.iife.min.js differs from uplot 1.6.32: run scripts/vendor_uplot.sh"
        );
        assert_eq!(
            sha256_hex(assets::UPLOT_CSS.as_bytes()),
            assets::UPLOT_CSS_SHA256,
            "uPlot.min.css differs from uplot 1.6.32: run scripts/vendor_uplot.sh"
        );
    }

    /// An inlined asset containing `</script` or `<!--` would end or derail its block.
    #[test]
    fn inlined_assets_cannot_end_their_blocks() {
        for (name, text) in [
            ("uPlot.iife.min.js", assets::UPLOT_JS),
            ("LICENSE.uplot", assets::UPLOT_LICENSE),
            ("errors.js", assets::ERRORS_JS),
            ("report.js", assets::REPORT_JS),
        ] {
            let lower = text.to_ascii_lowercase();
            assert!(!lower.contains("<script"), "{name} contains <script");
            assert!(!lower.contains("</script"), "{name} contains </script");
            assert!(!lower.contains("<!--"), "{name} contains <!--");
        }
        assert!(
            !assets::UPLOT_LICENSE.contains("*/"),
            "the licence sits in a /* comment */"
        );
        for (name, text) in [
            ("uPlot.min.css", assets::UPLOT_CSS),
            ("report.css", assets::REPORT_CSS),
        ] {
            assert!(
                !text.to_ascii_lowercase().contains("</style"),
                "{name} contains </style"
            );
        }
    }

    /// Our script must not log: any console line is an error to the end-to-end test.
    #[test]
    fn report_script_does_not_log() {
        for call in [
            "console.log",
            "console.warn",
            "console.info",
            "console.debug",
            "console.error(",
        ] {
            assert!(!assets::REPORT_JS.contains(call), "report.js calls {call}");
        }
    }

    #[test]
    fn no_external_urls_in_src_or_href() {
        let page = html(&hostile_report()).unwrap();
        let lower = page.to_ascii_lowercase();
        for attr in ["src=", "href="] {
            for (at, _) in lower.match_indices(attr) {
                let value = lower[at + attr.len()..].trim_start_matches(['"', '\'', ' ']);
                assert!(
                    !value.starts_with("http://")
                        && !value.starts_with("https://")
                        && !value.starts_with("//"),
                    "external URL at {attr}{}",
                    &value[..value.len().min(60)]
                );
            }
        }
        // And nothing loads from anywhere: no <link>, no script with a source.
        assert!(!lower.contains("<link"));
        assert!(!lower.contains("<script src"));
    }

    #[test]
    fn script_in_run_name_is_escaped() {
        let data = hostile_report();
        let page = html(&data).unwrap();
        let lower = page.to_ascii_lowercase();
        // Errors, uPlot, data, ours: one opening and one closing tag each, nothing more.
        assert_eq!(lower.matches("<script").count(), 4, "script openings");
        assert_eq!(lower.matches("</script").count(), 4, "script closings");
        assert!(!page.contains("<script>alert(1)"));
        assert!(page.contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));

        let json = embedded_json(&page);
        assert!(json.contains("\\u003c/script\\u003e"));
        let back: ReportData = serde_json::from_str(json).unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn page_has_the_structure_the_script_and_test_expect() {
        let page = html(&hostile_report()).unwrap();
        assert!(page.starts_with("<!doctype html>"));
        assert!(page.contains("<body data-errors=\"[]\">"));
        assert!(page.contains("data-chart=\"ttft_over_time\"><h3>"));
        assert!(page.contains("data-chart=\"gpu\" data-note=\"1\""));
        assert!(page.contains("client-bound: the client may have limited this run"));
        assert!(page.contains("id=\"baseline-picker\""));
        assert!(page.contains("id=\"diff\""));
        assert!(page.contains("id=\"stat-avg\" value=\"avg\" checked"));
        // The error collector runs before uPlot and our script.
        let errors = page.find("aiperfRecordError = record").unwrap();
        assert!(errors < page.find("var uPlot=").unwrap());
        assert!(errors < page.find(DATA_ELEMENT_ID).unwrap());
    }

    #[test]
    fn single_run_without_verdict_says_so() {
        let mut data = hostile_report();
        data.mode = Mode::Single;
        data.runs[0].verdict = None;
        let page = html(&data).unwrap();
        assert!(page.contains("no client self-check"));
        assert!(!page.contains("id=\"baseline-picker\""));
        data.runs[0].verdict = Some(Verdict {
            client_bound: false,
            reasons: vec![],
        });
        assert!(html(&data).unwrap().contains("client kept up"));
    }
}
