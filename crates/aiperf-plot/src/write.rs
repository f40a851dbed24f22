//! Writing the pictures: `<id>.png` and `<id>.svg` per chart with data, `report.html`,
//! `summary.txt` (what was written and what was not, and why) and `plot_config.yaml` (the
//! settings and charts of this drawing, so it can be reproduced and compared).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::PlotError;
use crate::render::{self, Size, Theme};
use crate::report_data::ReportData;

/// Significant digits of the values embedded in `report.html` (hover shows 4).
const REPORT_DIGITS: i32 = 6;

/// Which files to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Formats {
    pub png: bool,
    pub svg: bool,
    pub html: bool,
}

impl Default for Formats {
    fn default() -> Self {
        Formats {
            png: true,
            svg: true,
            html: true,
        }
    }
}

impl Formats {
    /// From `--format png,svg,html` values.
    pub fn parse(names: &[String]) -> Result<Formats, String> {
        let mut f = Formats {
            png: false,
            svg: false,
            html: false,
        };
        for n in names {
            match n.trim().to_ascii_lowercase().as_str() {
                "png" => f.png = true,
                "svg" => f.svg = true,
                "html" => f.html = true,
                other => return Err(format!("--format: '{other}' is not one of png, svg, html")),
            }
        }
        Ok(f)
    }
}

/// Where and how to draw.
#[derive(Debug, Clone)]
pub struct Output {
    pub dir: PathBuf,
    pub theme: Theme,
    pub size: Size,
    pub formats: Formats,
}

/// What was written.
#[derive(Debug, Default)]
pub struct Written {
    pub files: Vec<PathBuf>,
    /// Charts not drawn, with the reason.
    pub skipped: Vec<(String, String)>,
}

/// Writes every requested file for `data` into `out.dir`.
pub fn write(data: &ReportData, out: &Output) -> Result<Written, PlotError> {
    std::fs::create_dir_all(&out.dir).map_err(|e| write_err(&out.dir, e))?;
    remove_previous(&out.dir);
    let mut written = Written::default();
    for chart in &data.charts {
        if !chart.has_data() {
            let why = chart.note.clone().unwrap_or_else(|| "no data".into());
            written.skipped.push((chart.id.clone(), why));
            continue;
        }
        if out.formats.png {
            match render::png(chart, out.theme, out.size) {
                Ok(bytes) => {
                    written
                        .files
                        .push(save(&out.dir, &format!("{}.png", chart.id), &bytes)?)
                }
                Err(e) => written
                    .skipped
                    .push((format!("{}.png", chart.id), e.to_string())),
            }
        }
        if out.formats.svg {
            match render::svg(chart, out.theme, out.size) {
                Ok(text) => written.files.push(save(
                    &out.dir,
                    &format!("{}.svg", chart.id),
                    text.as_bytes(),
                )?),
                Err(e) => written
                    .skipped
                    .push((format!("{}.svg", chart.id), e.to_string())),
            }
        }
    }
    if out.formats.html {
        let html = crate::report::html(&data.rounded(REPORT_DIGITS))
            .map_err(|e| write_err(&out.dir.join("report.html"), e))?;
        written
            .files
            .push(save(&out.dir, "report.html", html.as_bytes())?);
    }
    written.files.push(save(
        &out.dir,
        "plot_config.yaml",
        plot_config(data, out).as_bytes(),
    )?);
    let summary = summary_text(data, &written);
    written
        .files
        .push(save(&out.dir, "summary.txt", summary.as_bytes())?);
    Ok(written)
}

/// Removes the files an earlier drawing listed in its `summary.txt`, so a chart that is not
/// drawn this time does not linger from last time. Only plain file names in `dir` are removed;
/// nothing else the directory holds is touched.
fn remove_previous(dir: &Path) {
    let Ok(listing) = std::fs::read_to_string(dir.join("summary.txt")) else {
        return;
    };
    let files = listing
        .lines()
        .skip_while(|l| !l.starts_with("Written"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(str::trim);
    for name in files {
        let plain = !name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.');
        let ours = [".png", ".svg", ".html", ".yaml", ".txt"]
            .iter()
            .any(|e| name.ends_with(e));
        if plain && ours {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
}

fn write_err(path: &Path, e: impl std::fmt::Display) -> PlotError {
    PlotError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Writes through a temporary name so a reader never sees half a file.
fn save(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, PlotError> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).map_err(|e| write_err(&path, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| write_err(&path, e))?;
    Ok(path)
}

/// A YAML string (JSON's quoting is valid YAML).
fn q(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// The settings and the charts of this drawing.
fn plot_config(data: &ReportData, out: &Output) -> String {
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Written by aiperf plot {}: what was drawn and how.",
        data.aiperf_version
    );
    let _ = writeln!(
        y,
        "theme: {}",
        match out.theme {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    );
    let _ = writeln!(
        y,
        "size: {{width: {}, height: {}}}",
        out.size.width, out.size.height
    );
    let formats: Vec<&str> = [
        ("png", out.formats.png),
        ("svg", out.formats.svg),
        ("html", out.formats.html),
    ]
    .iter()
    .filter(|f| f.1)
    .map(|f| f.0)
    .collect();
    let _ = writeln!(y, "formats: [{}]", formats.join(", "));
    let _ = writeln!(
        y,
        "mode: {}",
        match data.mode {
            crate::report_data::Mode::Single => "single_run",
            crate::report_data::Mode::Multi => "multi_run",
        }
    );
    let _ = writeln!(y, "runs:");
    for r in &data.runs {
        let _ = writeln!(
            y,
            "  - {{name: {}, dir: {}{}}}",
            q(&r.name),
            q(&r.dir),
            r.group
                .as_ref()
                .map_or(String::new(), |g| format!(", group: {}", q(g)))
        );
    }
    let _ = writeln!(y, "charts:");
    for c in &data.charts {
        let _ = writeln!(y, "  - id: {}", c.id);
        let _ = writeln!(y, "    title: {}", q(&c.title));
        if let Some(note) = &c.note {
            let _ = writeln!(y, "    drawn: false\n    reason: {}", q(note));
            continue;
        }
        let _ = writeln!(y, "    x: {}", q(&c.x.label));
        let _ = writeln!(y, "    y: {}", q(&c.y.label));
        if let Some(y2) = &c.y2 {
            let _ = writeln!(y, "    y2: {}", q(&y2.label));
        }
        let names: Vec<String> = c
            .series
            .iter()
            .filter(|s| s.in_images())
            .map(|s| q(&s.name))
            .collect();
        let _ = writeln!(y, "    series: [{}]", names.join(", "));
    }
    y
}

/// `summary.txt`: files written, charts skipped and why, notes, failed runs.
fn summary_text(data: &ReportData, written: &Written) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", data.title);
    let _ = writeln!(s, "\nWritten ({}):", written.files.len() + 1);
    for f in &written.files {
        let _ = writeln!(
            s,
            "  {}",
            f.file_name().map_or_else(
                || f.display().to_string(),
                |n| n.to_string_lossy().into_owned()
            )
        );
    }
    let _ = writeln!(s, "  summary.txt");
    if !written.skipped.is_empty() {
        let _ = writeln!(s, "\nNot drawn:");
        for (id, why) in &written.skipped {
            let _ = writeln!(s, "  {id}: {why}");
        }
    }
    if !data.failed_runs.is_empty() {
        let _ = writeln!(s, "\nRuns without results:");
        for f in &data.failed_runs {
            let _ = writeln!(s, "  {}: {}", f.dir, f.reason);
        }
    }
    if !data.notes.is_empty() {
        let _ = writeln!(s, "\nNotes:");
        for n in &data.notes {
            let _ = writeln!(s, "  {n}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_the_last_drawing_listed_is_removed() {
        let t = tempfile::tempdir().expect("tempdir");
        let d = t.path();
        for f in ["old_chart.png", "mine.png", "notes.csv", "report.html"] {
            std::fs::write(d.join(f), "x").expect("write");
        }
        std::fs::write(
            d.join("summary.txt"),
            "title\n\nWritten (4):\n  old_chart.png\n  notes.csv\n  ../escape.png\n  report.html\n\nNot drawn:\n  mine.png: why\n",
        )
        .expect("write");
        remove_previous(d);
        assert!(!d.join("old_chart.png").exists());
        assert!(!d.join("report.html").exists());
        assert!(d.join("mine.png").exists(), "listed under Not drawn only");
        assert!(d.join("notes.csv").exists(), "not a kind of file we write");
    }

    #[test]
    fn formats_parse_and_refuse_unknown_names() {
        let f = Formats::parse(&["PNG".into(), "html".into()]).expect("formats");
        assert_eq!((f.png, f.svg, f.html), (true, false, true));
        assert!(Formats::parse(&["gif".into()]).is_err());
    }
}
