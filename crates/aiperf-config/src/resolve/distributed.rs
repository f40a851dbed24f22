//! `--shard INDEX/COUNT` and `--start-at`: this run as one shard of a larger one.

use super::{invalid, ConfigError};
use crate::cli::ShardArgs;

/// Which part of the one global plan this process sends. `Shard::WHOLE` is an ordinary run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The whole run: one shard of one.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Whether this is a part of a larger run.
    pub fn is_part(&self) -> bool {
        self.count > 1
    }

    /// This shard's exact share of `n` items dealt round robin (item `i` goes to shard
    /// `i mod count`): the shares of all shards add up to `n`.
    pub fn share(&self, n: u64) -> u64 {
        let (count, index) = (u64::from(self.count), u64::from(self.index));
        n / count + u64::from(index < n % count)
    }

    /// Whether global item `i` (a scheduled arrival, a session, a user lane) is this shard's.
    pub fn owns(&self, i: u64) -> bool {
        i % u64::from(self.count) == u64::from(self.index)
    }

    /// The global number of this shard's `n`-th item.
    pub fn global(&self, n: u64) -> u64 {
        n * u64::from(self.count) + u64::from(self.index)
    }
}

/// The shard and the agreed start, from the flags, else from the environment of a Kubernetes
/// Indexed Job (`JOB_COMPLETION_INDEX` with `AIPERF_SHARD_COUNT`) or a Slurm step
/// (`SLURM_PROCID` with `SLURM_NTASKS`).
pub(super) fn resolve(
    args: &ShardArgs,
    env: &dyn Fn(&str) -> Option<String>,
    random_seed: Option<u64>,
) -> Result<Distributed, ConfigError> {
    let from_env = || -> Result<Option<Shard>, ConfigError> {
        for (index, count) in [
            ("JOB_COMPLETION_INDEX", "AIPERF_SHARD_COUNT"),
            ("SLURM_PROCID", "SLURM_NTASKS"),
        ] {
            if let (Some(i), Some(c)) = (env(index), env(count)) {
                return parse(&format!("{i}/{c}"))
                    .map(Some)
                    .map_err(|why| invalid("--shard", format!("from {index}/{count}: {why}")));
            }
        }
        Ok(None)
    };
    let shard = match &args.shard {
        Some(s) => parse(s).map_err(|why| invalid("--shard", why))?,
        None => from_env()?.unwrap_or(Shard::WHOLE),
    };
    if shard.is_part() && random_seed.is_none() {
        return Err(invalid(
            "--shard",
            "needs --random-seed, so that every shard draws the same dataset and arrival schedule",
        ));
    }
    let start_at = match &args.start_at {
        Some(t) => Some(parse_instant(t).map_err(|why| invalid("--start-at", why))?),
        None => None,
    };
    let clock_reference = match &args.clock_reference {
        Some(r) => Some(parse_reference(r).map_err(|why| invalid("--clock-reference", why))?),
        None => None,
    };
    Ok(Distributed {
        shard,
        start_at_ns: start_at,
        clock_reference,
        merge_records: args.merge_records || shard.is_part(),
    })
}

/// What `--shard`, `--start-at`, `--clock-reference` and `--merge-records` resolve to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Distributed {
    pub shard: Shard,
    pub start_at_ns: Option<u64>,
    pub clock_reference: Option<ClockReference>,
    pub merge_records: bool,
}

/// `--clock-reference HOST:PORT`: where shard 0 answers clock probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockReference {
    /// `HOST:PORT` as given (resolved when probing: the reference may not exist yet).
    pub address: String,
    pub port: u16,
}

fn parse_reference(s: &str) -> Result<ClockReference, String> {
    let (host, port) = s
        .trim()
        .rsplit_once(':')
        .ok_or_else(|| format!("'{s}' is not HOST:PORT"))?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("'{port}' is not a port (1-65535)"))?;
    if host.is_empty() {
        return Err(format!("'{s}' names no host"));
    }
    Ok(ClockReference {
        address: s.trim().to_string(),
        port,
    })
}

fn parse(s: &str) -> Result<Shard, String> {
    let (i, c) = s
        .split_once('/')
        .ok_or_else(|| format!("'{s}' is not INDEX/COUNT"))?;
    let index: u32 = i
        .trim()
        .parse()
        .map_err(|_| format!("'{i}' is not a shard index"))?;
    let count: u32 = c
        .trim()
        .parse()
        .map_err(|_| format!("'{c}' is not a shard count"))?;
    if count == 0 || count > 100_000 {
        return Err(format!("the shard count must be 1..=100000, got {count}"));
    }
    if index >= count {
        return Err(format!("index {index} is not below the count {count}"));
    }
    Ok(Shard { index, count })
}

/// An RFC 3339 instant as epoch nanoseconds.
fn parse_instant(s: &str) -> Result<u64, String> {
    let t = chrono::DateTime::parse_from_rfc3339(s.trim())
        .map_err(|e| format!("'{s}' is not an RFC 3339 time ({e})"))?;
    t.timestamp_nanos_opt()
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| format!("'{s}' is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(shard: Option<&str>, start: Option<&str>) -> ShardArgs {
        ShardArgs {
            shard: shard.map(str::to_string),
            start_at: start.map(str::to_string),
            ..ShardArgs::default()
        }
    }

    #[test]
    fn shares_add_up_and_items_are_dealt_round_robin() {
        for count in 1..=7u32 {
            for n in [0u64, 1, 5, 100, 101, 1_000_003] {
                let total: u64 = (0..count)
                    .map(|index| Shard { index, count }.share(n))
                    .sum();
                assert_eq!(total, n, "{n} over {count}");
            }
        }
        let s = Shard { index: 2, count: 4 };
        assert_eq!(s.share(10), 2, "items 2 and 6 of 0..10");
        assert_eq!((0..10).filter(|&i| s.owns(i)).collect::<Vec<_>>(), [2, 6]);
        assert_eq!((0..3).map(|n| s.global(n)).collect::<Vec<_>>(), [2, 6, 10]);
    }

    #[test]
    fn flags_then_environment_and_clear_errors() {
        let none = |_: &str| None;
        let d = resolve(
            &args(Some("1/4"), Some("2026-12-07T16:00:00Z")),
            &none,
            Some(1),
        )
        .unwrap();
        assert_eq!(d.shard, Shard { index: 1, count: 4 });
        assert_eq!(d.start_at_ns, Some(1_796_659_200_000_000_000));
        assert!(
            d.merge_records,
            "a shard always writes what the merge reads"
        );
        let k8s = |k: &str| match k {
            "JOB_COMPLETION_INDEX" => Some("3".to_string()),
            "AIPERF_SHARD_COUNT" => Some("8".to_string()),
            _ => None,
        };
        assert_eq!(
            resolve(&args(None, None), &k8s, Some(1)).unwrap().shard,
            Shard { index: 3, count: 8 }
        );
        let slurm = |k: &str| match k {
            "SLURM_PROCID" => Some("0".to_string()),
            "SLURM_NTASKS" => Some("1".to_string()),
            _ => None,
        };
        assert_eq!(
            resolve(&args(None, None), &slurm, None).unwrap().shard,
            Shard::WHOLE
        );
        assert!(
            !resolve(&args(None, None), &none, None)
                .unwrap()
                .merge_records
        );
        let err = |a: ShardArgs, seed| resolve(&a, &none, seed).unwrap_err().to_string();
        assert_eq!(
            err(args(Some("4/4"), None), Some(1)),
            "--shard: index 4 is not below the count 4"
        );
        assert_eq!(
            err(args(Some("x"), None), Some(1)),
            "--shard: 'x' is not INDEX/COUNT"
        );
        assert!(err(args(Some("0/2"), None), None).starts_with("--shard: needs --random-seed"));
        assert!(err(args(None, Some("tomorrow")), None)
            .starts_with("--start-at: 'tomorrow' is not an RFC 3339 time"));
        let reference = |r: &str| {
            let a = ShardArgs {
                clock_reference: Some(r.to_string()),
                ..args(Some("1/2"), None)
            };
            resolve(&a, &none, Some(1)).map(|d| d.clock_reference.unwrap())
        };
        let ok = reference("aiperf-0.aiperf:7787").unwrap();
        assert_eq!(
            (ok.address.as_str(), ok.port),
            ("aiperf-0.aiperf:7787", 7787)
        );
        assert_eq!(reference("[::1]:9").unwrap().port, 9);
        assert_eq!(
            reference("host").unwrap_err().to_string(),
            "--clock-reference: 'host' is not HOST:PORT"
        );
        assert_eq!(
            reference("host:0").unwrap_err().to_string(),
            "--clock-reference: '0' is not a port (1-65535)"
        );
    }
}
