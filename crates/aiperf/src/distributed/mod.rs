//! `aiperf merge`, `aiperf kube`, `aiperf slurm`: a benchmark run as shards on engines that
//! already schedule pods and ranks, merged exactly.

pub mod kube;
pub mod slurm;

use std::process::ExitCode;

use aiperf_config::{KubeCommand, MergeArgs, SlurmCommand};

/// `aiperf merge DIR... --output DIR`.
pub fn merge(_args: &MergeArgs) -> ExitCode {
    eprintln!("aiperf merge: not built yet");
    ExitCode::from(1)
}

/// `aiperf kube generate|results`.
pub fn kube(cmd: &KubeCommand) -> ExitCode {
    match cmd {
        KubeCommand::Generate(args) => kube::generate(args),
        KubeCommand::Results(args) => merge(args),
    }
}

/// `aiperf slurm generate`.
pub fn slurm(cmd: &SlurmCommand) -> ExitCode {
    match cmd {
        SlurmCommand::Generate(args) => slurm::generate(args),
    }
}
