//! Past one machine: `--shard`/`--start-at` on `aiperf profile`, `aiperf merge`, and the
//! generators for the engines that schedule shards (`aiperf kube`, `aiperf slurm`).

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `aiperf profile` flags that make the run one shard of a larger one.
#[derive(Debug, Clone, Default, Args)]
pub struct ShardArgs {
    /// Run shard INDEX of COUNT (e.g. `2/8`): this process sends its deterministic part of the
    /// one global plan. Defaults from `JOB_COMPLETION_INDEX` + `AIPERF_SHARD_COUNT`
    /// (Kubernetes Indexed Jobs) or `SLURM_PROCID` + `SLURM_NTASKS` (Slurm) when set.
    #[arg(long, value_name = "INDEX/COUNT", help_heading = "Distributed")]
    pub shard: Option<String>,
    /// Wall-clock instant (RFC 3339) at which every shard starts its first phase.
    #[arg(long, value_name = "RFC3339", help_heading = "Distributed")]
    pub start_at: Option<String>,
    /// Measure this shard's clock offset against the reference shard's at HOST:PORT (UDP; shard
    /// 0 answers on PORT), so the merge puts every shard's times on one clock.
    #[arg(long, value_name = "HOST:PORT", help_heading = "Distributed")]
    pub clock_reference: Option<String>,
    /// Also write `merge_records.bin` and `shard.json` for a whole run (a sharded run always
    /// writes them): what `aiperf merge` reads.
    #[arg(long, hide = true)]
    pub merge_records: bool,
}

/// `aiperf merge DIR... --output DIR`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The shards' artifact directories, or a run directory holding `shard-<i>/` ones.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where the merged run's artifacts go.
    #[arg(long, short = 'o', value_name = "DIR")]
    pub output: PathBuf,
    /// Merge the shards that exist when some are missing or failed (they are reported).
    #[arg(long)]
    pub allow_partial: bool,
}

/// `aiperf watch DIR...`.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// The shards' artifact directories, or run directories holding `shard-<i>/` ones.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Seconds between two refreshes.
    #[arg(long, default_value_t = 2.0, value_parser = positive_seconds)]
    pub interval: f64,
    /// Print the combined progress once and exit.
    #[arg(long)]
    pub once: bool,
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if v.is_finite() && (0.05..=3600.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("'{s}' is not between 0.05 and 3600 seconds"))
    }
}

/// `aiperf kube ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum KubeCommand {
    /// Print a Kubernetes Indexed Job running a benchmark as shards, and the Job merging them.
    Generate(KubeGenerateArgs),
    /// Merge the shards' results in a run directory on the shared volume (its `shard-<i>/`).
    Results(MergeArgs),
}

/// `aiperf kube generate --shards N --image IMAGE [...] -- PROFILE ARGS...`.
#[derive(Debug, Clone, Args)]
pub struct KubeGenerateArgs {
    /// How many shards (pods) run the benchmark.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub shards: u32,
    /// Container image with the `aiperf` binary.
    #[arg(long)]
    pub image: String,
    /// Namespace of every object.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// Name prefix of the objects.
    #[arg(long, default_value = "aiperf")]
    pub name: String,
    /// PersistentVolumeClaim (ReadWriteMany) the shards write their results to.
    #[arg(long, default_value = "aiperf-results")]
    pub results_pvc: String,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// The `aiperf profile` arguments every shard runs (after `--`).
    #[arg(last = true, required = true, value_name = "PROFILE ARGS")]
    pub profile: Vec<String>,
}

/// `aiperf slurm ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum SlurmCommand {
    /// Print an sbatch script running a benchmark as `srun` ranks and merging them.
    Generate(SlurmGenerateArgs),
}

/// `aiperf slurm generate --shards N [...] -- PROFILE ARGS...`.
#[derive(Debug, Clone, Args)]
pub struct SlurmGenerateArgs {
    /// How many shards (ranks) run the benchmark.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub shards: u32,
    /// Directory on the shared filesystem for the shards' and the merged results.
    #[arg(long, default_value = "aiperf-results")]
    pub results_dir: PathBuf,
    /// Job name.
    #[arg(long, default_value = "aiperf")]
    pub name: String,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// The `aiperf profile` arguments every shard runs (after `--`).
    #[arg(last = true, required = true, value_name = "PROFILE ARGS")]
    pub profile: Vec<String>,
}
