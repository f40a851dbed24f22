//! `aiperf analyze swim-lane` and `aiperf analyze turn-messages`: views over a finished run
//! (docs/analyze.md). As in AIPerf, each run directory is handled on its own: `saved PATH` on
//! stdout for every file written, `skip DIR: REASON` on stderr for a run that failed, exit 1
//! if any did, exit 2 for `--out` with several directories.

#[path = "analyze/turn_messages.rs"]
pub mod turn_messages;

use std::path::Path;
use std::process::ExitCode;

use aiperf_config::{AnalyzeCommand, SwimLaneArgs, TurnMessagesArgs};
use aiperf_plot::swim_lane;

/// Runs the subcommand.
pub fn run(cmd: &AnalyzeCommand) -> ExitCode {
    match cmd {
        AnalyzeCommand::SwimLane(args) => swim_lanes(args),
        AnalyzeCommand::TurnMessages(args) => turn_messages_cmd(args),
    }
}

/// AIPerf refuses `--out` with several run directories (exit 2).
fn check_out(has_out: bool, dirs: usize) -> Result<(), ExitCode> {
    if has_out && dirs > 1 {
        eprintln!("error: --out only valid with a single run dir");
        return Err(ExitCode::from(2));
    }
    if dirs == 0 {
        eprintln!("error: at least one run directory is required");
        return Err(ExitCode::from(2));
    }
    Ok(())
}

/// Exit 1 if any run failed.
fn exit(failures: usize) -> ExitCode {
    if failures > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn swim_lanes(args: &SwimLaneArgs) -> ExitCode {
    if let Err(code) = check_out(args.out.is_some(), args.run_dirs.len()) {
        return code;
    }
    let options = swim_lane::Options {
        out: args.out.clone(),
        concurrency: args.concurrency,
        ramp: args.ramp,
    };
    let mut failures = 0;
    for dir in &args.run_dirs {
        match swim_lane_one(dir, &options, args.html) {
            Ok(()) => {}
            Err(e) => {
                eprintln!("skip {}: {e}", dir.display());
                failures += 1;
            }
        }
    }
    exit(failures)
}

/// Writes one run's PNG and SVG (and, with `--html`, a page showing the SVG).
fn swim_lane_one(dir: &Path, options: &swim_lane::Options, html: bool) -> Result<(), String> {
    let written = swim_lane::plot(dir, options).map_err(|e| e.to_string())?;
    println!("saved {}", written.png.display());
    println!("saved {}", written.svg.display());
    if html {
        let path = written.png.with_extension("html");
        let svg = std::fs::read_to_string(&written.svg)
            .map_err(|e| format!("{}: {e}", written.svg.display()))?;
        let title = turn_messages::escape_html(&dir.display().to_string());
        let page = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Swim lane: {title}</title></head>\n<body style=\"margin:0\">\n{}\n</body></html>\n",
            strip_xml_declaration(&svg)
        );
        std::fs::write(&path, page)
            .map_err(|e| format!("failed to write {}: {e}", path.display()))?;
        println!("saved {}", path.display());
    }
    Ok(())
}

/// An SVG document without its `<?xml …?>` line, to inline it in HTML.
fn strip_xml_declaration(svg: &str) -> &str {
    match svg.strip_prefix("<?xml") {
        Some(rest) => rest
            .split_once("?>")
            .map_or(svg, |(_, body)| body.trim_start()),
        None => svg,
    }
}

fn turn_messages_cmd(args: &TurnMessagesArgs) -> ExitCode {
    if let Err(code) = check_out(args.out.is_some(), args.run_dirs.len()) {
        return code;
    }
    let limits = turn_messages::Limits {
        conversations: args.limit_conversations,
        turns: args.max_turns,
        content_cap: args.content_cap,
    };
    let mut failures = 0;
    for dir in &args.run_dirs {
        match turn_messages::write(dir, args.out.as_deref(), limits) {
            Ok(path) => {
                let kb = std::fs::metadata(&path).map_or(0, |m| m.len() / 1024);
                println!(
                    "saved {} ({} KB)",
                    path.display(),
                    turn_messages::group(kb as usize)
                );
            }
            Err(e) => {
                eprintln!("skip {}: {e}", dir.display());
                failures += 1;
            }
        }
    }
    exit(failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_declaration_is_dropped_for_inlining() {
        assert_eq!(
            strip_xml_declaration("<?xml version=\"1.0\"?>\n<svg/>"),
            "<svg/>"
        );
        assert_eq!(strip_xml_declaration("<svg/>"), "<svg/>");
    }
}
