//! `aiperf plot` and `--auto-plot`: charts and `report.html` from run directories.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aiperf_config::cli::PlotArgs;
use aiperf_plot::render::{Size, Theme};
use aiperf_plot::write::{Formats, Output};

/// Where a run file's plot config is kept beside the results (AIPerf's name).
const SAVED_CONFIG: &str = ".aiperf-plot-config.yaml";

/// `aiperf plot`: exit 0 when at least one chart was drawn, 1 otherwise (with the reason).
pub fn run(args: &PlotArgs) -> ExitCode {
    match plot(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aiperf plot: {e}");
            ExitCode::from(1)
        }
    }
}

fn plot(args: &PlotArgs) -> anyhow::Result<()> {
    let mut groups = Vec::new();
    for g in &args.group {
        groups.push(aiperf_plot::build::parse_group(g)?);
    }
    let first = &args.run_dirs()[0];
    let base = if first.is_file() {
        first.parent().unwrap_or(Path::new(".")).to_path_buf()
    } else {
        first.clone()
    };
    // AIPerf's order: --config, else the config a run file left in the artifact directory.
    let saved = base.join(SAVED_CONFIG);
    let config = args
        .config
        .clone()
        .or_else(|| saved.is_file().then_some(saved));
    if let Some(config) = &config {
        groups.extend(aiperf_plot::config::experiment_groups(config)?);
    }
    let formats = Formats::parse(&args.format).map_err(anyhow::Error::msg)?;
    let theme = Theme::parse(&args.theme).unwrap_or_default();
    // A summary file given as the path stands for its directory.
    let out_dir = args.output.clone().unwrap_or_else(|| base.join("plots"));
    let output = Output {
        dir: out_dir,
        theme,
        size: Size {
            width: args.width,
            height: args.height,
        },
        formats,
    };
    let options = aiperf_plot::Options {
        groups,
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    if args.serve {
        aiperf_plot::serve::serve(args.run_dirs(), &options, &args.host, args.port)?;
        return Ok(());
    }
    draw(args.run_dirs(), &options, &output, args.verbose)
}

/// Draws and prints what was written; an error when nothing could be drawn.
fn draw(
    paths: &[PathBuf],
    options: &aiperf_plot::Options,
    output: &Output,
    verbose: bool,
) -> anyhow::Result<()> {
    let (data, written) = aiperf_plot::draw(paths, options, output)?;
    let drawn = data.charts.iter().filter(|c| c.has_data()).count();
    println!(
        "Saved {} files ({} charts) to: {}",
        written.files.len(),
        drawn,
        output.dir.display()
    );
    for (id, why) in &written.skipped {
        if verbose {
            println!("  not drawn: {id}: {why}");
        }
    }
    if !verbose && !written.skipped.is_empty() {
        println!(
            "  {} charts not drawn (reasons in summary.txt)",
            written.skipped.len()
        );
    }
    for f in &data.failed_runs {
        println!("  run without results: {}: {}", f.dir, f.reason);
    }
    if drawn == 0 {
        anyhow::bail!(
            "nothing to draw: {}",
            written
                .skipped
                .first()
                .map_or("no chart has data".to_string(), |(id, why)| format!(
                    "{id}: {why}"
                ))
        );
    }
    Ok(())
}

/// `--auto-plot` after `aiperf profile`: draws `dir` into `dir/plots`. A failure is a warning
/// unless `required`, when it turns a successful exit code into 1.
pub fn auto_plot(dir: &Path, required: bool, code: i32, config: Option<&Path>) -> i32 {
    let mut groups = Vec::new();
    if let Some(config) = config {
        // Kept beside the results so that `aiperf plot DIR` draws them the same way later.
        if let Err(e) = std::fs::copy(config, dir.join(SAVED_CONFIG)) {
            eprintln!(
                "aiperf: warning: cannot keep the plot config in '{}': {e}",
                dir.display()
            );
        }
        match aiperf_plot::config::experiment_groups(config) {
            Ok(g) => groups = g,
            Err(e) => eprintln!("aiperf: warning: plot config: {e}"),
        }
    }
    let output = Output {
        dir: dir.join("plots"),
        theme: Theme::default(),
        size: Size::default(),
        formats: Formats::default(),
    };
    let options = aiperf_plot::Options {
        groups,
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    match draw(&[dir.to_path_buf()], &options, &output, false) {
        Ok(()) => code,
        Err(e) if required => {
            eprintln!("aiperf: --auto-plot failed (--plot-required): {e}");
            if code == 0 {
                1
            } else {
                code
            }
        }
        Err(e) => {
            eprintln!("aiperf: warning: --auto-plot failed: {e}");
            code
        }
    }
}
