//! `aiperf slurm generate` (not built yet).

use std::process::ExitCode;

use aiperf_config::SlurmGenerateArgs;

/// Prints the sbatch script of a sharded run.
pub fn generate(_args: &SlurmGenerateArgs) -> ExitCode {
    eprintln!("aiperf slurm generate: not built yet");
    ExitCode::from(1)
}
