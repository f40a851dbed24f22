//! The run plan: which phases run, in which load mode, on which schedule. Built once from the
//! validated config and the prepared dataset, before anything is sent; pure (no clock, no I/O),
//! so every rule here is unit-tested.

use std::sync::Arc;

use aiperf_config::resolve::{PrefillLimit, Shard};
use aiperf_config::{LoadMode, ProfileConfig};
use aiperf_core::Phase;
use aiperf_dataset::rng::Rng;
use aiperf_timing::series::RateSeries;
use aiperf_timing::PhasePlan;

use crate::context::Cancellation;
use crate::prepare::ConversationInfo;

/// Every phase of one run, in order.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub phases: Vec<PlannedPhase>,
    pub cancellation: Option<Cancellation>,
}

/// One phase: its limits, its load mode and what it replays.
#[derive(Debug, Clone)]
pub struct PlannedPhase {
    pub plan: PhasePlan,
    pub mode: LoadMode,
    /// Fixed-schedule replay of the dataset's timestamps.
    pub replay: Option<ReplayOrder>,
    /// Seed of this phase's arrival process (rate modes).
    pub arrival_seed: u64,
    /// The part of the phase this process sends (`--shard`): limits above are already its
    /// share; schedules and user lanes are dealt round robin by the workers.
    pub shard: Shard,
    /// The whole run's mode, before this shard took its share (what a merged run reports).
    pub whole_mode: LoadMode,
    /// `--prefill-concurrency` (or its warm-up variant) for this phase.
    pub prefill: Option<PrefillLimit>,
    /// `--request-rate-series` (profiling at a rate only).
    pub series: Option<Arc<RateSeries>>,
}

/// A fixed schedule: which conversations, in order, and when each starts.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOrder {
    /// The n-th scheduled session sends dataset conversation `order[n]`.
    pub order: Vec<usize>,
    /// The trace time (ms) that maps to phase start.
    pub zero_ms: f64,
    /// Each scheduled session's start after phase start (ns).
    pub offsets_ns: Vec<u64>,
}

impl RunPlan {
    /// The plan for `cfg` over the prepared `conversations`, with `seed` the run's seed.
    pub fn build(
        cfg: &ProfileConfig,
        conversations: &[ConversationInfo],
        seed: u64,
    ) -> anyhow::Result<RunPlan> {
        crate::agentic_replay::check_supported(cfg)?;
        let (mode, mut replay) = effective_mode(cfg, conversations)?;
        let shard = cfg.shard;
        // A shard replays every COUNT-th scheduled session (sessions stay whole).
        if let Some(r) = replay.as_mut().filter(|_| shard.is_part()) {
            let (order, offsets): (Vec<usize>, Vec<u64>) = r
                .order
                .iter()
                .zip(&r.offsets_ns)
                .enumerate()
                .filter(|(i, _)| shard.owns(*i as u64))
                .map(|(_, (c, t))| (*c, *t))
                .unzip();
            r.order = order;
            r.offsets_ns = offsets;
        }
        let mut phases = Vec::new();
        if cfg.has_warmup() {
            let warmup_mode = cfg
                .warmup
                .mode
                .clone()
                .unwrap_or_else(|| mode.for_warmup(cfg.concurrency));
            phases.push(PlannedPhase {
                plan: PhasePlan {
                    phase: Phase::Warmup,
                    concurrency: match &warmup_mode {
                        LoadMode::Concurrency { concurrency, .. } => *concurrency,
                        _ => cfg.concurrency,
                    },
                    request_count: cfg.warmup_request_count,
                    session_count: cfg.warmup.sessions,
                    duration_ns: cfg.warmup_duration_s.map(secs_to_ns),
                    grace_ns: cfg.warmup.grace_s.map(secs_to_ns),
                },
                whole_mode: warmup_mode.clone(),
                mode: warmup_mode,
                replay: None,
                arrival_seed: arrival_seed(seed, Phase::Warmup),
                shard,
                prefill: cfg.warmup.prefill,
                series: None,
            });
        }
        let profiling_count = match &replay {
            Some(r) => {
                // Agent-graph children count too; pre-session children once per phase.
                let turns: u64 = r
                    .order
                    .iter()
                    .map(|&i| conversations[i].requests)
                    .sum::<u64>()
                    + conversations.iter().map(|c| c.pre_requests).sum::<u64>();
                Some(cfg.request_count.map_or(turns, |c| c.min(turns)))
            }
            None => cfg.request_count,
        };
        phases.push(PlannedPhase {
            plan: PhasePlan {
                phase: Phase::Profiling,
                concurrency: cfg.concurrency,
                request_count: profiling_count,
                session_count: cfg.conversation.conversation_num.map(|n| n as u64),
                duration_ns: cfg.benchmark_duration_s.map(secs_to_ns),
                grace_ns: cfg.grace_period_s.map(secs_to_ns),
            },
            whole_mode: mode.clone(),
            series: match &mode {
                LoadMode::Rate { .. } => cfg.rate_series.clone(),
                _ => None,
            },
            mode,
            replay,
            arrival_seed: arrival_seed(seed, Phase::Profiling),
            shard,
            prefill: cfg.prefill,
        });
        if shard.is_part() {
            for p in &mut phases {
                p.take_share();
            }
        }
        let cancellation = cfg.cancellation.map(|c| Cancellation {
            rate_pct: c.rate_pct,
            delay_ns: secs_to_ns(c.delay_s),
            seed: Rng::derive(seed, "timing.request.cancellation").next_u64(),
        });
        Ok(RunPlan {
            phases,
            cancellation,
        })
    }

    /// The profiling phase (always the last).
    pub fn profiling(&self) -> Option<&PlannedPhase> {
        self.phases
            .iter()
            .find(|p| p.plan.phase == Phase::Profiling)
    }
}

impl PlannedPhase {
    /// Cuts the phase's limits to this shard's share: concurrency, request and session counts,
    /// and the in-flight caps, each dealt round robin so the shards' shares add up to the
    /// whole. (The replay count was computed from the shard's own sessions already.)
    fn take_share(&mut self) {
        let s = self.shard;
        let share = |n: usize| s.share(n as u64) as usize;
        self.plan.concurrency = share(self.plan.concurrency);
        if self.replay.is_none() {
            self.plan.request_count = self.plan.request_count.map(|n| s.share(n));
        }
        self.plan.session_count = self.plan.session_count.map(|n| s.share(n));
        if let Some(p) = &mut self.prefill {
            p.slots = share(p.slots).max(1);
        }
        match &mut self.mode {
            LoadMode::Concurrency { concurrency, .. } => *concurrency = share(*concurrency),
            LoadMode::Rate { cap, .. } | LoadMode::FixedSchedule { cap, .. } => {
                *cap = cap.map(|c| share(c).max(1));
            }
            // Lanes are dealt by the workers; rate and users stay global.
            LoadMode::UserCentric { .. } => {}
        }
    }

    /// The mode in words, for the log.
    pub fn describe(&self) -> String {
        self.mode.describe()
    }
}

/// The seed of a phase's arrival process, derived from the run's seed.
fn arrival_seed(seed: u64, phase: Phase) -> u64 {
    Rng::derive(seed, &format!("timing.request.{}_interval", phase.as_str())).next_u64()
}

/// Formats whose timestamps never switch a run to fixed-schedule replay by themselves (AIPerf
/// 0.13 replays weka traces under the load mode given; `--fixed-schedule` still replays them).
const NEVER_AUTO_REPLAYED: [&str; 1] = ["weka_trace"];

/// The mode the run really uses: a dataset whose entries all carry timestamps is replayed on its
/// schedule unless `--no-fixed-schedule`. When replaying, also which conversations go when.
fn effective_mode(
    cfg: &ProfileConfig,
    conversations: &[ConversationInfo],
) -> anyhow::Result<(LoadMode, Option<ReplayOrder>)> {
    // Agent-graph children start from their parents' branches, never from the schedule.
    let roots = || conversations.iter().enumerate().filter(|(_, c)| c.root);
    let stamped: Vec<(usize, f64)> = roots()
        .filter_map(|(i, c)| c.first_timestamp_ms.map(|ts| (i, ts)))
        .collect();
    let all_stamped = !stamped.is_empty() && stamped.len() == roots().count();
    let mode = match &cfg.load {
        LoadMode::FixedSchedule { .. } => cfg.load.clone(),
        _ if all_stamped
            && cfg.input_file.is_some()
            && !cfg.no_fixed_schedule
            && !NEVER_AUTO_REPLAYED.contains(&cfg.custom_dataset_type.as_deref().unwrap_or("")) =>
        {
            tracing::info!("dataset entries carry timestamps: replaying them (fixed schedule); --no-fixed-schedule disables this");
            LoadMode::FixedSchedule {
                auto_offset: true,
                start_offset_ms: None,
                end_offset_ms: None,
                cap: None,
            }
        }
        other => other.clone(),
    };
    let LoadMode::FixedSchedule {
        auto_offset,
        start_offset_ms,
        end_offset_ms,
        ..
    } = &mode
    else {
        return Ok((mode, None));
    };
    if !all_stamped {
        anyhow::bail!("--fixed-schedule: every dataset entry needs a 'timestamp' (ms)");
    }
    let replay = replay_order(stamped, *auto_offset, *start_offset_ms, *end_offset_ms)?;
    Ok((mode, Some(replay)))
}

/// Sorts `(conversation, timestamp ms)` by time, keeps those between the offsets and maps them
/// to offsets from phase start.
fn replay_order(
    mut entries: Vec<(usize, f64)>,
    auto_offset: bool,
    start_offset_ms: Option<i64>,
    end_offset_ms: Option<i64>,
) -> anyhow::Result<ReplayOrder> {
    entries.sort_by(|a, b| a.1.total_cmp(&b.1));
    let first = entries.first().map_or(0.0, |e| e.1);
    let zero = match (start_offset_ms, auto_offset) {
        (Some(s), _) => s as f64,
        (None, true) => first,
        (None, false) => 0.0,
    };
    entries.retain(|(_, ts)| *ts >= zero && end_offset_ms.is_none_or(|e| *ts <= e as f64));
    if entries.is_empty() {
        anyhow::bail!("--fixed-schedule: no dataset entry falls between the start and end offsets");
    }
    Ok(ReplayOrder {
        order: entries.iter().map(|(i, _)| *i).collect(),
        zero_ms: zero,
        offsets_ns: entries
            .iter()
            .map(|(_, ts)| ((ts - zero) * 1e6).round().max(0.0) as u64)
            .collect(),
    })
}

/// Seconds to nanoseconds, saturating.
pub fn secs_to_ns(s: f64) -> u64 {
    (s * 1e9).round().min(u64::MAX as f64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_config::{Cli, Command};
    use clap::Parser;

    fn config(args: &[&str]) -> ProfileConfig {
        let mut argv = vec![
            "aiperf",
            "profile",
            "-m",
            "m",
            "--url",
            "http://127.0.0.1:1",
        ];
        argv.extend_from_slice(args);
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let Command::Profile(p) = Cli::try_parse_from(&argv).expect("parses").command else {
            panic!("not profile")
        };
        ProfileConfig::resolve(*p, &argv, &aiperf_plugins::Registry::builtin()).expect("valid")
    }

    fn conversation(turns: usize, ts: Option<f64>) -> ConversationInfo {
        ConversationInfo {
            session_id: "s".into(),
            independent_turns: false,
            turns,
            first_timestamp_ms: ts,
            root: true,
            requests: turns as u64,
            pre_requests: 0,
        }
    }

    #[test]
    fn a_closed_loop_run_is_one_profiling_phase() {
        let cfg = config(&["--concurrency", "4", "--request-count", "20"]);
        let plan = RunPlan::build(&cfg, &[conversation(1, None)], 7).unwrap();
        assert_eq!(plan.phases.len(), 1);
        let p = &plan.phases[0];
        assert_eq!(p.plan.phase, Phase::Profiling);
        assert_eq!((p.plan.concurrency, p.plan.request_count), (4, Some(20)));
        assert!(crate::phases::open_loop_schedule(p).is_none() && p.replay.is_none());
        assert_eq!(p.mode.in_flight_cap(), None);
        assert_eq!(p.describe(), "concurrency 4");
        assert!(plan.cancellation.is_none());
    }

    #[test]
    fn warmup_comes_first_with_its_own_limits() {
        let cfg = config(&[
            "--request-rate",
            "10",
            "--concurrency",
            "3",
            "--warmup-request-count",
            "5",
            "--benchmark-duration",
            "2",
        ]);
        let plan = RunPlan::build(&cfg, &[conversation(1, None)], 7).unwrap();
        let [warmup, profiling] = &plan.phases[..] else {
            panic!("two phases")
        };
        assert_eq!(warmup.plan.phase, Phase::Warmup);
        assert_eq!(warmup.plan.request_count, Some(5));
        assert_eq!(warmup.plan.duration_ns, None);
        assert_eq!(profiling.plan.duration_ns, Some(2_000_000_000));
        assert_eq!(
            profiling.plan.grace_ns,
            Some(30_000_000_000),
            "AIPerf's 30 s"
        );
        assert_eq!(profiling.mode.in_flight_cap(), Some(3));
        assert_eq!(profiling.mode.requested_rate(), Some(10.0));
        let (_, cap) = crate::phases::open_loop_schedule(profiling).expect("open loop");
        assert_eq!(cap, Some(3));
        assert_ne!(warmup.arrival_seed, profiling.arrival_seed);
        assert_eq!(plan.profiling().unwrap().plan.phase, Phase::Profiling);
    }

    #[test]
    fn rate_schedules_are_reproducible_from_the_seed() {
        let cfg = config(&["--request-rate", "4", "--arrival-pattern", "constant"]);
        let offsets = |seed| {
            let plan = RunPlan::build(&cfg, &[conversation(1, None)], seed).unwrap();
            let (mut s, _) = crate::phases::open_loop_schedule(&plan.phases[0]).expect("open loop");
            (0..4).map(|_| s.next_offset()).collect::<Vec<_>>()
        };
        // Constant arrivals at 4 req/s: one every 250 ms, the first one interval in.
        let expected: Vec<Option<u64>> = (1..=4).map(|k| Some(k * 250_000_000)).collect();
        assert_eq!(offsets(1), expected);
        let poisson = config(&["--request-rate", "4"]);
        let draw = |seed| {
            let plan = RunPlan::build(&poisson, &[conversation(1, None)], seed).unwrap();
            let (mut s, _) = crate::phases::open_loop_schedule(&plan.phases[0]).expect("open loop");
            (0..8).map(|_| s.next_offset()).collect::<Vec<_>>()
        };
        assert_eq!(draw(9), draw(9));
        assert_ne!(draw(9), draw(10));
    }

    #[test]
    fn replay_orders_by_time_within_the_offsets() {
        let entries = vec![(0, 300.0), (1, 100.0), (2, 200.0)];
        let r = replay_order(entries.clone(), true, None, None).unwrap();
        assert_eq!(r.order, vec![1, 2, 0]);
        assert_eq!(r.zero_ms, 100.0);
        assert_eq!(r.offsets_ns, vec![0, 100_000_000, 200_000_000]);
        let r = replay_order(entries.clone(), false, Some(150), Some(250)).unwrap();
        assert_eq!((r.order, r.offsets_ns), (vec![2], vec![50_000_000]));
        let r = replay_order(entries.clone(), false, None, None).unwrap();
        assert_eq!(r.offsets_ns, vec![100_000_000, 200_000_000, 300_000_000]);
        let e = replay_order(entries, true, Some(400), None).unwrap_err();
        assert!(
            e.to_string().contains("no dataset entry falls between"),
            "{e}"
        );
    }

    #[test]
    fn timestamped_files_are_replayed_unless_disabled() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("trace.jsonl");
        std::fs::write(&file, "{\"timestamp\": 0, \"input_length\": 4}\n").unwrap();
        let f = file.to_str().unwrap();
        let convs = [conversation(2, Some(1000.0)), conversation(3, Some(500.0))];
        let plan = RunPlan::build(&config(&["--input-file", f]), &convs, 1).unwrap();
        let p = plan.profiling().unwrap();
        assert!(matches!(p.mode, LoadMode::FixedSchedule { .. }));
        assert_eq!(p.replay.as_ref().unwrap().order, vec![1, 0]);
        assert_eq!(p.plan.request_count, Some(5), "every turn of the trace");
        let capped = config(&["--input-file", f, "--request-count", "4"]);
        let plan = RunPlan::build(&capped, &convs, 1).unwrap();
        assert_eq!(plan.profiling().unwrap().plan.request_count, Some(4));
        let off = config(&["--input-file", f, "--no-fixed-schedule"]);
        let plan = RunPlan::build(&off, &convs, 1).unwrap();
        assert!(plan.profiling().unwrap().replay.is_none());
        // Explicit --fixed-schedule on a file with an unstamped entry is refused.
        let fixed = config(&["--input-file", f, "--fixed-schedule"]);
        let e = RunPlan::build(&fixed, &[conversation(1, None)], 1).unwrap_err();
        assert!(e.to_string().contains("needs a 'timestamp'"), "{e}");
    }

    #[test]
    fn cancellation_is_seeded_from_the_run() {
        let cfg = config(&[
            "--request-cancellation-rate",
            "25",
            "--request-cancellation-delay",
            "0.5",
        ]);
        let a = RunPlan::build(&cfg, &[conversation(1, None)], 3).unwrap();
        let b = RunPlan::build(&cfg, &[conversation(1, None)], 4).unwrap();
        let (a, b) = (a.cancellation.unwrap(), b.cancellation.unwrap());
        assert_eq!((a.rate_pct, a.delay_ns), (25.0, 500_000_000));
        assert_ne!(a.seed, b.seed);
    }

    #[test]
    fn modes_are_described_for_the_log() {
        let user = LoadMode::UserCentric {
            rate: 2.0,
            users: 4,
        };
        assert_eq!(
            user.describe(),
            "4 users at 2 turns/s in all (one turn per user every 2.000 s)"
        );
        assert_eq!(secs_to_ns(1.5), 1_500_000_000);
        assert_eq!(secs_to_ns(f64::MAX), u64::MAX);
    }
}
