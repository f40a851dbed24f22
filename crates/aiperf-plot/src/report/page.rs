//! The static parts of `report.html`: everything a reader needs that does not move when a
//! control changes (verdicts, warnings, summary tables, failed runs, configuration) is written
//! here as plain HTML, so it reads even where scripts are off. The charts and the comparison
//! table are filled in by `report.js` from the embedded JSON.

use crate::chart::{Chart, DEFAULT_STAT, STATS};
use crate::report_data::{FailedRun, MetricRow, Mode, ReportData, RunView};

use super::assets;
use super::text::{escape, number};

/// Columns of the summary tables, in this order, each shown when some metric of the run has it.
const SUMMARY_STATS: [&str; 7] = ["avg", "min", "max", "p50", "p90", "p99", "std"];

/// The whole page around the embedded JSON (`data_json`, already made script-safe).
pub fn document(data: &ReportData, data_json: &str, data_id: &str) -> String {
    let mut out = String::with_capacity(
        assets::UPLOT_JS.len() + assets::REPORT_JS.len() + data_json.len() + 64 * 1024,
    );
    out.push_str(&head(data));
    out.push_str("<body data-errors=\"[]\">\n");
    out.push_str(&header(data));
    out.push_str(&controls(data));
    out.push_str("<main>\n");
    out.push_str(&charts(&data.charts));
    if data.mode == Mode::Multi {
        out.push_str(&comparison());
    }
    out.push_str(&summaries(data));
    out.push_str(&failed_runs(&data.failed_runs));
    out.push_str(&configuration(data));
    out.push_str("</main>\n");
    out.push_str(&footer(data));
    out.push_str(&format!(
        "<script type=\"application/json\" id=\"{data_id}\">{data_json}</script>\n"
    ));
    out.push_str(&format!("<script>\n{}\n</script>\n", assets::REPORT_JS));
    out.push_str("</body>\n</html>\n");
    out
}

/// `<head>`: styles, then the error collector (first, so it sees every later error), then
/// uPlot preceded by its licence.
fn head(data: &ReportData) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"aiperf {version}\">\n\
         <title>{title}</title>\n\
         <style>\n{uplot_css}\n{report_css}\n</style>\n\
         <script>\n{errors_js}\n</script>\n\
         <script>\n/* uPlot {uplot_version}, vendored by scripts/vendor_uplot.sh. LICENSE.uplot:\n\n\
         {license}\n*/\n{uplot_js}\n</script>\n\
         </head>\n",
        version = escape(&data.aiperf_version),
        title = escape(&data.title),
        uplot_css = assets::UPLOT_CSS,
        report_css = assets::REPORT_CSS,
        errors_js = assets::ERRORS_JS,
        uplot_version = assets::UPLOT_VERSION,
        license = assets::UPLOT_LICENSE.trim_end(),
        uplot_js = assets::UPLOT_JS,
    )
}

/// The top of the page: title, what was measured, and first of all whether the client can be
/// trusted to have kept up, then warnings and notes.
fn header(data: &ReportData) -> String {
    let mut out = String::from("<header>\n");
    out.push_str(&format!("<h1>{}</h1>\n", escape(&data.title)));
    out.push_str(&format!("<p class=\"identity\">{}</p>\n", identity(data)));
    out.push_str(&verdicts(data));
    out.push_str(&warnings(data));
    if !data.notes.is_empty() {
        out.push_str("<ul class=\"notes\">\n");
        for note in &data.notes {
            out.push_str(&format!("<li>{}</li>\n", escape(note)));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</header>\n");
    out
}

/// One line saying which run (or how many) the report is about.
fn identity(data: &ReportData) -> String {
    match (data.mode, data.runs.as_slice()) {
        (Mode::Single, [run]) => format!(
            "run <span class=\"run-name\">{}</span> &middot; <code>{}</code>",
            escape(&run.name),
            escape(&run.dir)
        ),
        (_, runs) => {
            let failed = match data.failed_runs.len() {
                0 => String::new(),
                n => format!(", {n} without results"),
            };
            format!("{} runs compared{failed}", runs.len())
        }
    }
}

/// The client self-check of every run, in a warning style when the client may have limited it.
fn verdicts(data: &ReportData) -> String {
    let mut out = String::from("<div class=\"verdicts\">\n");
    let named = data.mode == Mode::Multi;
    for run in &data.runs {
        out.push_str(&verdict(run, named));
    }
    out.push_str("</div>\n");
    out
}

fn verdict(run: &RunView, named: bool) -> String {
    let who = if named {
        format!("<span class=\"run-name\">{}</span>: ", escape(&run.name))
    } else {
        String::new()
    };
    match &run.verdict {
        Some(v) if v.client_bound => {
            let mut out = format!(
                "<div class=\"verdict bound\">{who}<strong>client-bound: the client may have \
                 limited this run</strong>"
            );
            if !v.reasons.is_empty() {
                out.push_str("<ul>");
                for reason in &v.reasons {
                    out.push_str(&format!("<li>{}</li>", escape(reason)));
                }
                out.push_str("</ul>");
            }
            out.push_str("</div>\n");
            out
        }
        Some(_) => {
            format!("<div class=\"verdict kept-up\">{who}<strong>client kept up</strong></div>\n")
        }
        None => format!(
            "<div class=\"verdict unknown\">{who}no client self-check in this run's summary</div>\n"
        ),
    }
}

/// Each run's warnings, prefixed by the run's name when there are several runs.
fn warnings(data: &ReportData) -> String {
    let named = data.mode == Mode::Multi;
    let items: Vec<String> = data
        .runs
        .iter()
        .flat_map(|run| {
            run.warnings.iter().map(move |w| {
                if named {
                    format!(
                        "<li><span class=\"run-name\">{}</span>: {}</li>",
                        escape(&run.name),
                        escape(w)
                    )
                } else {
                    format!("<li>{}</li>", escape(w))
                }
            })
        })
        .collect();
    if items.is_empty() {
        return String::new();
    }
    format!("<ul class=\"warnings\">\n{}\n</ul>\n", items.join("\n"))
}

/// The control bar: statistic, log scale, theme, and the baseline for a comparison.
fn controls(data: &ReportData) -> String {
    let mut out = String::from("<nav id=\"controls\" aria-label=\"chart controls\">\n");
    out.push_str("<fieldset class=\"segmented\" id=\"stat-switch\"><legend>statistic</legend>");
    for stat in STATS {
        let checked = if stat == DEFAULT_STAT { " checked" } else { "" };
        out.push_str(&format!(
            "<input type=\"radio\" name=\"stat\" id=\"stat-{stat}\" value=\"{stat}\"{checked}>\
             <label for=\"stat-{stat}\">{stat}</label>"
        ));
    }
    out.push_str("</fieldset>\n");
    out.push_str("<label><input type=\"checkbox\" id=\"log-scale\"> log y scale</label>\n");
    out.push_str("<button type=\"button\" id=\"theme-toggle\">dark theme</button>\n");
    if data.mode == Mode::Multi && !data.runs.is_empty() {
        out.push_str("<label>baseline <select id=\"baseline-picker\">");
        for (i, run) in data.runs.iter().enumerate() {
            out.push_str(&format!(
                "<option value=\"{i}\">{}</option>",
                escape(&run.name)
            ));
        }
        out.push_str("</select></label>\n");
    }
    out.push_str(
        "<span class=\"hint\">drag to zoom, double-click to reset; click a legend entry to \
         hide its series</span>\n</nav>\n",
    );
    out
}

/// One figure per chart: a holder the script draws into, or the reason it cannot be drawn.
fn charts(charts: &[Chart]) -> String {
    let mut out = String::from("<section id=\"charts\">\n<h2>Charts</h2>\n");
    if charts.is_empty() {
        out.push_str("<p class=\"hint\">No charts: nothing in the input could be drawn.</p>\n");
    } else {
        out.push_str("<div class=\"grid\">\n");
        for chart in charts {
            out.push_str(&figure(chart));
        }
        out.push_str("</div>\n");
    }
    out.push_str("</section>\n");
    out
}

fn figure(chart: &Chart) -> String {
    let id = escape(&chart.id);
    let title = escape(&chart.title);
    let caption = chart
        .caption
        .as_deref()
        .map(|c| format!("<figcaption>{}</figcaption>", escape(c)))
        .unwrap_or_default();
    match &chart.note {
        Some(note) => format!(
            "<figure class=\"chart\" data-chart=\"{id}\" data-note=\"1\"><h3>{title}</h3>\
             <p class=\"note\">{}</p>{caption}</figure>\n",
            escape(note)
        ),
        None => format!(
            "<figure class=\"chart\" data-chart=\"{id}\"><h3>{title}</h3>\
             <div class=\"plot\"></div>{caption}</figure>\n"
        ),
    }
}

/// Where the script writes the comparison against the chosen baseline.
fn comparison() -> String {
    "<section id=\"comparison\">\n<h2>Comparison against the baseline</h2>\n\
     <p class=\"hint\">Each run's value of the chosen statistic and its change from the \
     baseline: green is better, red is worse (changes under 1% are not coloured); metrics with \
     a single value show it for every statistic.</p>\n\
     <div class=\"table-wrap\" id=\"diff\"></div>\n</section>\n"
        .to_string()
}

/// Per-run summary tables; open for one run, folded when several runs are compared.
fn summaries(data: &ReportData) -> String {
    let mut out = String::from("<section id=\"summary\">\n<h2>Summary</h2>\n");
    if data.runs.is_empty() {
        out.push_str("<p class=\"hint\">No run has results.</p>\n");
    }
    let open = if data.mode == Mode::Single {
        " open"
    } else {
        ""
    };
    for run in &data.runs {
        out.push_str(&format!(
            "<details class=\"run-summary\"{open}><summary><span class=\"run-name\">{}</span> \
             &middot; {} metrics</summary>\n",
            escape(&run.name),
            run.metrics.len()
        ));
        out.push_str(&summary_table(&run.metrics));
        out.push_str("</details>\n");
    }
    out.push_str("</section>\n");
    out
}

/// A table of metrics with the statistics that at least one of them has.
fn summary_table(metrics: &[MetricRow]) -> String {
    if metrics.is_empty() {
        return "<p class=\"hint\">No metrics in this run's summary.</p>\n".to_string();
    }
    let columns: Vec<&str> = SUMMARY_STATS
        .into_iter()
        .filter(|stat| metrics.iter().any(|m| m.stat(stat).is_some()))
        .collect();
    let mut out = String::from(
        "<div class=\"table-wrap\"><table class=\"data\"><thead><tr><th>Metric</th><th>Unit</th>",
    );
    for column in &columns {
        out.push_str(&format!("<th>{column}</th>"));
    }
    out.push_str("</tr></thead><tbody>\n");
    for metric in metrics {
        out.push_str(&format!(
            "<tr><td>{}</td><td class=\"unit\">{}</td>",
            escape(&metric.name),
            escape(&metric.unit)
        ));
        for column in &columns {
            let value = metric.stat(column).map(number).unwrap_or_default();
            out.push_str(&format!("<td>{value}</td>"));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
    out
}

/// Runs found without results, and why, so that a sweep's missing cell is not silently absent.
fn failed_runs(failed: &[FailedRun]) -> String {
    if failed.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<section id=\"failed-runs\">\n<h2>Runs without results</h2>\n<ul class=\"failed\">\n",
    );
    for run in failed {
        out.push_str(&format!(
            "<li><code>{}</code>: {}</li>\n",
            escape(&run.dir),
            escape(&run.reason)
        ));
    }
    out.push_str("</ul>\n</section>\n");
    out
}

/// Each run's command line and `input_config`, folded: needed to reproduce, not to read first.
fn configuration(data: &ReportData) -> String {
    let mut out = String::from("<section id=\"configuration\">\n<h2>Configuration</h2>\n");
    for run in &data.runs {
        out.push_str(&format!(
            "<details class=\"run-config\"><summary><span class=\"run-name\">{}</span> &middot; \
             <code>{}</code></summary>\n",
            escape(&run.name),
            escape(&run.dir)
        ));
        match &run.cli_command {
            Some(cli) => out.push_str(&format!(
                "<p>command:</p><pre class=\"cli\">{}</pre>\n",
                escape(cli)
            )),
            None => {
                out.push_str("<p class=\"hint\">The summary does not record the command.</p>\n")
            }
        }
        out.push_str(&format!(
            "<p>input_config:</p><pre class=\"config\">{}</pre>\n</details>\n",
            escape(&pretty_json(&run.config))
        ));
    }
    out.push_str("</section>\n");
    out
}

/// Pretty JSON of a configuration value (a `Value` always serializes; the fallback is compact).
fn pretty_json(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

fn footer(data: &ReportData) -> String {
    format!(
        "<footer>aiperf {} &middot; report schema {} &middot; charts drawn with uPlot {} \
         (MIT licence, &copy; 2022 Leon Sorokin)</footer>\n",
        escape(&data.aiperf_version),
        data.schema,
        assets::UPLOT_VERSION
    )
}
