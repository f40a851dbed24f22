//! A memory budget for the synthetic dataset, checked before it is built: `--num-dataset-entries`
//! and `--isl` can each be within their limits and still ask for more memory than the machine
//! has. Refusing up front beats the kernel's OOM killer an hour into preparation.

use aiperf_config::ProfileConfig;

/// Bytes a prepared synthetic prompt keeps per token: its text, its request body (per model)
/// and bookkeeping; measured at ~25 on a 100,000-prompt dataset (docs/performance.md).
const BYTES_PER_TOKEN: f64 = 24.0;
/// Bytes each prepared turn keeps besides its prompt tokens.
const BYTES_PER_TURN: f64 = 1024.0;
/// The share of available memory a dataset may take.
const SHARE_OF_AVAILABLE: f64 = 0.8;

/// Estimated bytes of the synthetic dataset `cfg` asks for; 0 with `--input-file` (its size is
/// the file's).
pub(crate) fn synthetic_dataset_bytes(cfg: &ProfileConfig) -> f64 {
    if cfg.input_file.is_some() {
        return 0.0;
    }
    let turns = cfg.num_dataset_entries as f64 * cfg.conversation.turn_mean.max(1.0);
    let isl = cfg.shaping.mean_isl(cfg.isl_mean);
    let tokens_per_turn = cfg.batch_size as f64 * isl * cfg.models.len().max(1) as f64;
    turns * (tokens_per_turn * BYTES_PER_TOKEN + BYTES_PER_TURN)
}

/// Refuses a synthetic dataset that would not fit in `available` bytes.
pub(crate) fn check(cfg: &ProfileConfig, available: Option<f64>) -> anyhow::Result<()> {
    let Some(available) = available else {
        return Ok(());
    };
    let need = synthetic_dataset_bytes(cfg);
    if need <= available * SHARE_OF_AVAILABLE {
        return Ok(());
    }
    anyhow::bail!(
        "--num-dataset-entries {} x --isl {}: the synthetic dataset needs about {:.1} GiB, more than the {:.1} GiB this machine has available; lower either flag",
        cfg.num_dataset_entries,
        cfg.isl_mean,
        need / GIB,
        available / GIB
    )
}

const GIB: f64 = (1u64 << 30) as f64;

/// `MemAvailable` from `/proc/meminfo`, in bytes; `None` where it cannot be read.
pub(crate) fn available_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_config::{Cli, Command};
    use aiperf_plugins::Registry;
    use clap::Parser;

    fn config(args: &[&str]) -> ProfileConfig {
        let mut argv = vec!["aiperf", "profile", "-m", "m"];
        argv.extend_from_slice(args);
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let Command::Profile(p) = Cli::try_parse_from(&argv).unwrap().command else {
            panic!()
        };
        ProfileConfig::resolve(*p, &argv, &Registry::builtin()).unwrap()
    }

    #[test]
    fn the_estimate_follows_entries_turns_batch_and_length() {
        // 1,000 entries x 1 turn x (128 tokens x 24 B + 1 KiB) = 4,096,000 B.
        let c = config(&["--num-dataset-entries", "1000", "--isl", "128"]);
        assert_eq!(
            synthetic_dataset_bytes(&c),
            1000.0 * (128.0 * 24.0 + 1024.0)
        );
        let c = config(&[
            "--num-dataset-entries",
            "1000",
            "--isl",
            "128",
            "--conversation-turn-mean",
            "2",
            "--prompt-batch-size",
            "3",
        ]);
        assert_eq!(
            synthetic_dataset_bytes(&c),
            2000.0 * (3.0 * 128.0 * 24.0 + 1024.0)
        );
    }

    #[test]
    fn a_dataset_larger_than_memory_is_refused_naming_both_flags() {
        // 10,000,000 entries x 10,000 tokens: ~2.2 PiB.
        let c = config(&["--num-dataset-entries", "10000000", "--isl", "10000"]);
        let e = check(&c, Some(24.0 * GIB)).unwrap_err().to_string();
        assert!(
            e.starts_with(
                "--num-dataset-entries 10000000 x --isl 10000: the synthetic dataset needs about"
            ),
            "{e}"
        );
        assert!(e.contains("24.0 GiB"), "{e}");
        let small = config(&["--num-dataset-entries", "100", "--isl", "128"]);
        assert!(check(&small, Some(24.0 * GIB)).is_ok());
        assert!(check(&c, None).is_ok(), "unknown memory: not refused");
    }
}
