//! Synthetic workload shaping flags (`--seq-dist`, `--random-range-ratio`, `--prompt-corpus`,
//! `--cache-bust`, ...): how synthetic prompt lengths and texts are drawn.

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, FromArgMatches};

/// The shaping flags as typed, under AIPerf's names and `--help` groups.
#[derive(Debug, Clone, Default, Args)]
pub struct ShapingFlags {
    /// Source corpus for synthetic prompt text generation: sonnet (Shakespeare, the default),
    /// coding (code, shell output, JSON, tracebacks, diffs) or random (random vocabulary token
    /// ids). Honored only for synthesized content.
    #[arg(long = "prompt-corpus", value_name = "CORPUS", help_heading = "Prompt")]
    pub prompt_corpus: Option<String>,

    /// Where (and how) to inject a cache-bust marker: none, system_prefix, system_suffix,
    /// first_turn_prefix, first_turn_suffix (a per-conversation [rid:<digest>] marker), or
    /// warmup_isolation_system, warmup_isolation_first_turn (a constant [warmup] marker in the
    /// warm-up phase only).
    #[arg(
        long = "cache-bust",
        value_name = "TARGET",
        default_value = "none",
        help_heading = "Cache Bust"
    )]
    pub cache_bust: String,

    /// Distribution of (ISL, OSL) pairs with probabilities for mixed workload simulation:
    /// `ISL,OSL:PCT;ISL,OSL:PCT` (percentages summing to 100), with optional stddevs
    /// `ISL|SD,OSL|SD:PCT`; also the bracket form `[(256,128):40,(512,256):60]` and JSON
    /// `{"pairs": [{"isl": 256, "osl": 128, "prob": 40}, ...]}`.
    #[arg(
        long = "seq-dist",
        visible_alias = "sequence-distribution",
        value_name = "DIST",
        help_heading = "Input Sequence Length (ISL)"
    )]
    pub seq_dist: Option<String>,

    /// ISL distribution in AIPerf's run-file form, as JSON: a number, {"mean", "stddev"},
    /// {"mean", "median"} (log-normal), {"peaks": [{..., "weight"}, ...]} (mixture) or
    /// {"points": [{"value", "weight"}, ...]}, each with optional "min"/"max".
    #[arg(
        long = "isl-distribution",
        value_name = "JSON",
        help_heading = "Input Sequence Length (ISL)"
    )]
    pub isl_distribution: Option<String>,

    /// OSL distribution, in the same forms as --isl-distribution.
    #[arg(
        long = "osl-distribution",
        value_name = "JSON",
        help_heading = "Output Sequence Length (OSL)"
    )]
    pub osl_distribution: Option<String>,

    /// Sample ISL and OSL uniformly from a ratio-defined integer window around the configured
    /// means (needs explicit --isl and --osl): vllm style [floor(m(1-r)), ceil(m(1+r))], sglang
    /// style [max(1, int(m*r)), m]. A float for both, or (vllm only) '{"input": r, "output": r}'.
    #[arg(
        long = "random-range-ratio",
        value_name = "RATIO",
        help_heading = "Input Sequence Length (ISL)"
    )]
    pub random_range_ratio: Option<String>,

    /// Benchmark style for the random corpus and --random-range-ratio: vllm (symmetric window,
    /// special tokens excluded from the random pool) or sglang (lower-bounded window, whole
    /// vocabulary).
    #[arg(
        long = "random-corpus-style",
        value_name = "STYLE",
        default_value = "vllm",
        help_heading = "Input Sequence Length (ISL)"
    )]
    pub random_corpus_style: String,
}

/// Flattened into `aiperf profile`'s options: the flags, plus whether `--isl` was typed
/// (`--random-range-ratio` needs an explicit ISL mean, and `--isl` has a default).
#[derive(Debug, Clone, Default)]
pub struct ShapingArgs {
    pub flags: ShapingFlags,
    /// `--isl` (or an alias) was on the command line, not left at its default.
    pub isl_given: bool,
}

/// A group holding only `--isl`: clap records a group with its member's value source, and the
/// group outlives the member's value, which `ProfileArgs` takes out of the matches before this
/// flattened struct is read.
const ISL_GROUP: &str = "shaping_isl_source";

/// Whether the ISL mean came from the command line (not from its default).
fn isl_given(m: &ArgMatches) -> bool {
    m.try_contains_id(ISL_GROUP).unwrap_or(false)
        && m.value_source(ISL_GROUP) == Some(ValueSource::CommandLine)
}

impl FromArgMatches for ShapingArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(Self {
            flags: ShapingFlags::from_arg_matches(m)?,
            isl_given: isl_given(m),
        })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        self.flags.update_from_arg_matches(m)?;
        self.isl_given |= isl_given(m);
        Ok(())
    }
}

impl Args for ShapingArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let cmd = ShapingFlags::augment_args(cmd);
        if cmd.get_arguments().any(|a| a.get_id() == "isl_mean") {
            cmd.group(
                clap::ArgGroup::new(ISL_GROUP)
                    .arg("isl_mean")
                    .multiple(true)
                    .required(false),
            )
        } else {
            cmd
        }
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        ShapingFlags::augment_args_for_update(cmd)
    }
}
