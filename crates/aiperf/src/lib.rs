//! The `aiperf` command line as a library, so Rust programs can embed it with their own plugins:
//! build a [`Registry`], [`Registry::register`] your implementations, then call [`run`]
//! (see `examples/custom_endpoint.rs`).

pub mod analyze_cmd;
pub mod chat_cmd;
pub mod compare;
pub mod completions_cmd;
pub mod config_cmd;
pub mod distributed;
pub mod logfile;
pub mod plot_cmd;
pub mod plugins_cmd;
pub mod speed_bench_cmd;
pub mod trace_tools;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use aiperf_config::resolve::Search;
use aiperf_config::{Cli, Command, LogLevel, ProfileConfig, UiType};
pub use aiperf_plugins::Registry;
use clap::Parser;

/// Runs the command line `argv` (program name first) with the plugins in `registry`.
pub fn run(argv: Vec<String>, registry: Registry) -> ExitCode {
    // AIPerf's (cyclopts') completion options come before any subcommand.
    match argv.get(1).map(String::as_str) {
        Some("--install-completion") => return completions_cmd::legacy(&argv, true),
        Some("--show-completion") => return completions_cmd::legacy(&argv, false),
        _ => {}
    }
    let cli = match Cli::try_parse_from(&argv) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    match cli.command {
        Command::Plugins(args) => plugins_cmd::run(&args, &registry),
        Command::Compare(args) => compare::run(&args),
        Command::Plot(args) => plot_cmd::run(&args),
        Command::Config(cmd) => config_cmd::run(&cmd, &registry),
        Command::Profile(args) => profile(*args, &argv, registry),
        Command::AnalyzeTrace(args) => trace_tools::analyze(&args),
        Command::Validate(args) => trace_tools::validate(&args),
        Command::Synthesize(args) => trace_tools::synthesize(&args),
        Command::Merge(args) => distributed::merge(&args, &registry),
        Command::Watch(args) => distributed::watch::run(&args),
        Command::Kube(cmd) => distributed::kube(&cmd, &registry),
        Command::Slurm(cmd) => distributed::slurm(&cmd),
        Command::Chat(args) => chat_cmd::run(&args),
        Command::Analyze(cmd) => analyze_cmd::run(&cmd),
        Command::SpeedBenchReport(args) => speed_bench_cmd::run(&args),
        Command::Completions(args) => completions_cmd::run(&args),
    }
}

/// `aiperf profile`: one run, or a sweep / repeated trials when the flags ask for several.
fn profile(args: aiperf_config::ProfileArgs, argv: &[String], registry: Registry) -> ExitCode {
    // A run file first, the command line over it.
    let args = match &args.config {
        Some(file) => match aiperf_config::yaml::layered(argv, file) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("aiperf: {e}");
                return ExitCode::from(1);
            }
        },
        None => args,
    };
    let auto_plot = args.auto_plot && !args.no_auto_plot;
    let plot_required = args.plot_required;
    let plot_config = args.plot_config.clone();
    let (args, search, post) = match ProfileConfig::resolve_search(&args, argv, &registry) {
        Ok(Some(Search::Adaptive(plan))) => (args, Some(plan), None),
        Ok(Some(Search::Sweep { args, post })) => (*args, None, Some(post)),
        Ok(None) => (args, None, None),
        Err(e) => {
            eprintln!("aiperf: {e}");
            return ExitCode::from(1);
        }
    };
    let mut set = match ProfileConfig::resolve_set(args, argv, &registry) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("aiperf: {e}");
            return ExitCode::from(1);
        }
    };
    let first = &set.variations[0].config;
    // AIPerf's rule: the dashboard on a terminal, simple progress otherwise.
    let ui = first.ui.unwrap_or(
        if std::io::stdout().is_terminal() && std::io::stderr().is_terminal() {
            UiType::Dashboard
        } else {
            UiType::Simple
        },
    );
    // The live sweep table is for a person watching a plain terminal.
    set.sweep_table &= std::io::stdout().is_terminal() && ui != UiType::Dashboard;
    let log_dir = search.as_ref().map_or(&set.base_dir, |p| &p.base_dir);
    let log = logfile::LogFile::new(log_dir);
    init_logging(first.log_level, Some(log.clone()), ui == UiType::Dashboard);
    for w in registry.warnings() {
        tracing::warn!("{w}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("aiperf: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let engine = aiperf_engine::Engine::new(Arc::new(registry));
    let observer = aiperf_engine::ui::observer(ui);
    let code = if let Some(plan) = &search {
        let mut print = |s: &str| println!("{s}");
        match runtime.block_on(engine.run_search(plan, observer.as_ref(), &mut print)) {
            Ok(outcome) => outcome.exit_code,
            Err(e) => {
                eprintln!("aiperf: {}", aiperf_core::one_line(e.as_ref()));
                1
            }
        }
    } else if set.is_single() {
        let result = runtime.block_on(engine.run(first, observer.as_ref()));
        single_run_exit(result, &log)
    } else {
        let sweep_id = uuid::Uuid::new_v4().to_string();
        let mut print = |s: &str| println!("{s}");
        let outcome =
            runtime.block_on(engine.run_set(&set, &sweep_id, observer.as_ref(), &mut print));
        let post_failed = post.as_ref().is_some_and(|post| {
            aiperf_engine::post_process(&set, &outcome, post, &mut print)
                .map_err(|e| eprintln!("aiperf: --search-recipe: {e}"))
                .is_err()
        });
        if log.path().is_file() {
            println!("Log File: {}", log.path().display());
        } else if outcome.interrupted {
            log.write_pending();
        }
        if post_failed && outcome.exit_code == 0 {
            1
        } else {
            outcome.exit_code
        }
    };
    // Work a stop left behind (a preparation cut short) dies with the process.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    // Pictures of what finished, even of an interrupted run (not of one that wrote nothing).
    let code = if auto_plot && log_dir.is_dir() {
        plot_cmd::auto_plot(log_dir, plot_required, code, plot_config.as_deref())
    } else {
        code
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}

/// Prints a single run's result and picks its exit code.
fn single_run_exit(
    result: anyhow::Result<aiperf_engine::RunOutcome>,
    log: &logfile::LogFile,
) -> i32 {
    match result {
        Ok(outcome) => {
            println!("{}", outcome.console);
            if log.path().is_file() {
                println!("Log File: {}", log.path().display());
            }
            outcome.exit_code
        }
        Err(e) if e.is::<aiperf_engine::Interrupted>() => {
            eprintln!("aiperf: {e}");
            // Nothing else was written: keep at least the log of what happened.
            log.write_pending();
            130
        }
        Err(e) => {
            eprintln!("aiperf: {}", aiperf_core::one_line(e.as_ref()));
            1
        }
    }
}

/// Logs to stderr (or, under the dashboard, to its log panel) and, when given, to the run's
/// `logs/aiperf.log` (without colours).
pub(crate) fn init_logging(level: LogLevel, file: Option<Arc<logfile::LogFile>>, dashboard: bool) {
    use tracing_subscriber::prelude::*;
    // tracing has fewer levels than AIPerf: NOTICE and SUCCESS log as INFO.
    let filter = match level {
        LogLevel::Trace => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info | LogLevel::Notice | LogLevel::Success => "info",
        LogLevel::Warning => "warn",
        LogLevel::Error | LogLevel::Critical => "error",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("AIPERF_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{filter},hyper=warn,tokenizers=warn"))
    });
    // Colours only for a terminal: a redirected stderr gets plain text (as does NO_COLOR).
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let stderr = (!dashboard).then(|| {
        tracing_subscriber::fmt::layer()
            .with_ansi(colour)
            .with_writer(std::io::stderr)
            .with_target(false)
    });
    let panel = dashboard.then(|| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_target(false)
            .without_time()
            .with_writer(aiperf_engine::ui::live::LogRing::default)
    });
    let file = file.map(|log| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_target(false)
            .with_writer(move || logfile::EventWriter::new(log.clone()))
    });
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(panel)
        .with(file)
        .try_init();
}
