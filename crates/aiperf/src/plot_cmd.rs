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
    let written = draw(args.run_dirs(), &options, &output, args.verbose)?;
    if args.mlflow_upload {
        upload_to_mlflow(args, &output.dir, &written)?;
    }
    Ok(())
}

/// `--mlflow-upload`: AIPerf's target resolution (one run directory; the flags, else its
/// `mlflow_export.json`, whose stored URL has its credentials redacted and so cannot be used).
fn upload_to_mlflow(args: &PlotArgs, dir: &Path, files: &[PathBuf]) -> anyhow::Result<()> {
    let [run] = args.run_dirs() else {
        anyhow::bail!("--mlflow-upload requires exactly one run path in --paths so the target run can be resolved.");
    };
    let metadata_file = run.join("mlflow_export.json");
    let metadata: serde_json::Value = match std::fs::read_to_string(&metadata_file) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("'{}' is not JSON: {e}", metadata_file.display()))?,
        Err(_) => serde_json::Value::Null,
    };
    let stored = |k: &str| metadata[k].as_str().map(str::to_string);
    let uri = match (&args.mlflow_tracking_uri, stored("tracking_uri")) {
        (Some(u), _) => u.clone(),
        (None, Some(u)) if u.contains("<redacted>") => anyhow::bail!(
            "MLflow tracking URI in {} has redacted credentials and cannot be used directly. Pass --mlflow-tracking-uri with the original credentialed URI.",
            metadata_file.display()
        ),
        (None, Some(u)) => u,
        (None, None) => anyhow::bail!(
            "MLflow tracking URI is required for --mlflow-upload. Provide --mlflow-tracking-uri or ensure {} contains 'tracking_uri'.",
            metadata_file.display()
        ),
    };
    let Some(run_id) = args.mlflow_run_id.clone().or_else(|| stored("run_id")) else {
        anyhow::bail!(
            "MLflow run id is required for --mlflow-upload. Provide --mlflow-run-id or ensure {} contains 'run_id'.",
            metadata_file.display()
        );
    };
    if files.is_empty() {
        println!("No plots were generated; skipping MLflow plot upload.");
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let n = runtime
        .block_on(aiperf_engine::upload_to_mlflow_run(
            &uri, &run_id, dir, files,
        ))
        .map_err(|e| {
            anyhow::anyhow!("--mlflow-upload: {}", aiperf_transport::redact_url_text(&e))
        })?;
    let word = if n == 1 { "artifact" } else { "artifacts" };
    println!("Uploaded {n} plot {word} to MLflow run {run_id}.");
    Ok(())
}

/// Draws and prints what was written; an error when nothing could be drawn.
fn draw(
    paths: &[PathBuf],
    options: &aiperf_plot::Options,
    output: &Output,
    verbose: bool,
) -> anyhow::Result<Vec<PathBuf>> {
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
    Ok(written.files)
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
        Ok(_) => code,
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
