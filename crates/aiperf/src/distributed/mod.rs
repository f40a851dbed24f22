//! `aiperf merge`, `aiperf kube`, `aiperf slurm`: a benchmark run as shards on engines that
//! already schedule pods and ranks, merged exactly.

pub mod kube;
pub mod slurm;
pub mod watch;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aiperf_config::{KubeCommand, MergeArgs, SlurmCommand};
use aiperf_engine::MergeOptions;
use aiperf_plugins::Registry;

/// `aiperf merge DIR... --output DIR`: prints the merged run's tables, exits as a run would.
pub fn merge(args: &MergeArgs, registry: &Registry) -> ExitCode {
    crate::init_logging(aiperf_config::LogLevel::Info, None, false);
    let opts = MergeOptions {
        dirs: expand_run_dirs(&args.dirs),
        output: args.output.clone(),
        allow_partial: args.allow_partial,
    };
    match aiperf_engine::merge(&opts, registry) {
        Ok(outcome) => {
            println!("{}", outcome.console);
            ExitCode::from(outcome.exit_code.clamp(0, 255) as u8)
        }
        Err(e) => {
            eprintln!("aiperf merge: {}", aiperf_core::one_line(e.as_ref()));
            ExitCode::from(1)
        }
    }
}

/// A run directory (what the Kubernetes and Slurm generators write: `shard-<i>/` inside it)
/// stands for its shard directories; a shard directory stands for itself.
pub(crate) fn expand_run_dirs(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in dirs {
        match shard_dirs_in(dir) {
            Some(shards) if !dir.join(aiperf_engine::SHARD_MANIFEST).exists() => out.extend(shards),
            _ => out.push(dir.clone()),
        }
    }
    out
}

/// `dir/shard-<i>` directories, by index; `None` when there are none.
fn shard_dirs_in(dir: &Path) -> Option<Vec<PathBuf>> {
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name();
            let index = name.to_str()?.strip_prefix("shard-")?.parse().ok()?;
            e.path().is_dir().then(|| (index, e.path()))
        })
        .collect();
    found.sort();
    (!found.is_empty()).then(|| found.into_iter().map(|(_, p)| p).collect())
}

/// `aiperf kube generate|results`.
pub fn kube(cmd: &KubeCommand, registry: &Registry) -> ExitCode {
    match cmd {
        KubeCommand::Generate(args) => kube::generate(args),
        KubeCommand::Results(args) => merge(args, registry),
    }
}

/// `aiperf slurm generate`.
pub fn slurm(cmd: &SlurmCommand) -> ExitCode {
    match cmd {
        SlurmCommand::Generate(args) => slurm::generate(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout the Kubernetes merge Job and the Slurm script hand over: a run directory
    /// with `shard-<i>/` (and `.aiperf/` markers) stands for its shards, in index order; a
    /// shard directory stands for itself.
    #[test]
    fn a_run_directory_stands_for_its_shards() {
        let run = tempfile::tempdir().unwrap();
        for i in [10, 2, 0, 1] {
            std::fs::create_dir_all(run.path().join(format!("shard-{i}"))).unwrap();
        }
        std::fs::create_dir_all(run.path().join(".aiperf")).unwrap();
        std::fs::write(run.path().join(".aiperf/done-0"), "0\n").unwrap();
        std::fs::write(run.path().join("shard-x"), "").unwrap();
        let own = run.path().join("shard-2");
        std::fs::write(own.join(aiperf_engine::SHARD_MANIFEST), "{}").unwrap();
        let got = expand_run_dirs(&[run.path().to_path_buf(), own.clone()]);
        let names: Vec<String> = got
            .iter()
            .map(|p| p.strip_prefix(run.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            ["shard-0", "shard-1", "shard-2", "shard-10", "shard-2"]
        );
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            expand_run_dirs(&[empty.path().to_path_buf()]),
            [empty.path()]
        );
    }
}
