//! `aiperf analyze-trace`, `aiperf validate` and `aiperf synthesize`: tools for trace files.
//!
//! AIPerf (cyclopts) takes each of their first parameters either by position or by name
//! (`aiperf validate mooncake-trace --input F` and `aiperf validate --target mooncake-trace
//! --input F` both work), so each has a positional and a named form here; `conflicts_with`
//! refuses both at once and the accessor methods give whichever was used.

use std::path::{Path, PathBuf};

use clap::Args;

/// `aiperf analyze-trace INPUT_FILE [--block-size 512] [--output-file F]`.
#[derive(Debug, Clone, Args)]
pub struct AnalyzeTraceArgs {
    /// Path to input mooncake trace JSONL file.
    #[arg(value_name = "INPUT_FILE", required_unless_present = "input_file_flag")]
    pub input_file: Option<PathBuf>,
    /// Path to input mooncake trace JSONL file (the named form of INPUT_FILE).
    #[arg(
        long = "input-file",
        value_name = "PATH",
        conflicts_with = "input_file"
    )]
    pub input_file_flag: Option<PathBuf>,
    /// KV cache block size for analysis.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=1 << 24))]
    pub block_size: u64,
    /// Optional output path for analysis report (JSON).
    #[arg(long, value_name = "PATH")]
    pub output_file: Option<PathBuf>,
}

impl AnalyzeTraceArgs {
    /// The trace to analyse, whichever form named it.
    pub fn input(&self) -> &Path {
        self.input_file
            .as_deref()
            .or(self.input_file_flag.as_deref())
            .unwrap_or(Path::new(""))
    }
}

/// `aiperf validate --target mooncake-trace --input FILE`.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// Artifact format to validate.
    #[arg(value_name = "TARGET", value_parser = ["mooncake-trace"],
          required_unless_present = "target_flag")]
    pub target: Option<String>,
    /// Artifact format to validate (the named form of TARGET).
    #[arg(long = "target", value_name = "TARGET", value_parser = ["mooncake-trace"],
          conflicts_with = "target")]
    pub target_flag: Option<String>,
    /// Path to the artifact file.
    #[arg(long = "input", value_name = "PATH")]
    pub input: PathBuf,
}

impl ValidateArgs {
    /// The format to check against, whichever form named it.
    pub fn target(&self) -> &str {
        self.target
            .as_deref()
            .or(self.target_flag.as_deref())
            .unwrap_or("mooncake-trace")
    }
}

/// `aiperf synthesize --target agentic-code`.
#[derive(Debug, Clone, Args)]
pub struct SynthesizeArgs {
    /// Dataset workload to synthesize.
    #[arg(value_name = "TARGET", value_parser = ["agentic-code"],
          required_unless_present = "target_flag")]
    pub target: Option<String>,
    /// Dataset workload to synthesize (the named form of TARGET).
    #[arg(long = "target", value_name = "TARGET", value_parser = ["agentic-code"],
          conflicts_with = "target")]
    pub target_flag: Option<String>,
    /// Number of sessions to generate.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=MAX_SESSIONS))]
    pub num_sessions: u64,
    /// Parent directory for the run directory.
    #[arg(long, default_value = ".", value_name = "PATH")]
    pub output: PathBuf,
    /// Path to config/manifest JSON.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Random seed for reproducibility.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Maximum input sequence length.
    #[arg(long, value_parser = clap::value_parser!(u64).range(2..=1 << 24))]
    pub max_isl: Option<u64>,
    /// Maximum output sequence length.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1 << 24))]
    pub max_osl: Option<u64>,
}

/// The most sessions `aiperf synthesize` writes in one run (each is held in memory until the
/// files are written; a million would be gigabytes).
pub const MAX_SESSIONS: u64 = 100_000;

impl SynthesizeArgs {
    /// The workload to synthesize, whichever form named it.
    pub fn target(&self) -> &str {
        self.target
            .as_deref()
            .or(self.target_flag.as_deref())
            .unwrap_or("agentic-code")
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::{Cli, Command};

    fn parse(args: &[&str]) -> Result<Command, String> {
        let mut argv = vec!["aiperf"];
        argv.extend(args);
        Cli::try_parse_from(argv)
            .map(|c| c.command)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn positional_and_named_forms_both_work() {
        let Ok(Command::Validate(a)) = parse(&["validate", "mooncake-trace", "--input", "f"])
        else {
            panic!("validate positional");
        };
        assert_eq!(a.target(), "mooncake-trace");
        let Ok(Command::Validate(a)) =
            parse(&["validate", "--target", "mooncake-trace", "--input", "f"])
        else {
            panic!("validate named");
        };
        assert_eq!(
            (a.target(), a.input.to_str()),
            ("mooncake-trace", Some("f"))
        );
        let Ok(Command::AnalyzeTrace(a)) = parse(&["analyze-trace", "--input-file", "t.jsonl"])
        else {
            panic!("analyze named");
        };
        assert_eq!(a.input().to_str(), Some("t.jsonl"));
        assert_eq!(a.block_size, 512);
        let Ok(Command::Synthesize(a)) = parse(&["synthesize", "--target", "agentic-code"]) else {
            panic!("synthesize");
        };
        assert_eq!((a.num_sessions, a.seed, a.max_isl), (1000, 42, None));
    }

    #[test]
    fn wrong_targets_and_absurd_sizes_are_refused() {
        for args in [
            &["validate", "--target", "sharegpt", "--input", "f"][..],
            &["validate", "--input", "f"],
            &[
                "validate",
                "mooncake-trace",
                "--target",
                "mooncake-trace",
                "--input",
                "f",
            ],
            &["synthesize", "agentic-chat"],
            &["synthesize", "agentic-code", "--num-sessions", "0"],
            &["synthesize", "agentic-code", "--num-sessions", "100001"],
            &["synthesize", "agentic-code", "--max-isl", "1"],
            &["analyze-trace", "t.jsonl", "--block-size", "0"],
            &["analyze-trace"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }
}
