//! AIPerf's AGENTIC_REPLAY timing (selected by `--scenario`), the pure part: where each
//! trajectory starts (a seeded t* between the start ratios of its recorded duration), which
//! request of each stream the warm-up primes (its last before t*), where profiling resumes
//! (its first turn at/after t*), when each of those is sent, and the idle-gap caps. Times are
//! passed in (ms on the trace's own clock), so every rule is tested without sleeping.
//!
//! The phases do not run this mode yet: [`check_supported`] refuses it before anything is
//! sent or written, rather than measuring a different load than the scenario defines.

// The phases will call the planners; until then only the tests and `check_supported` do.
#![cfg_attr(not(test), allow(dead_code))]

use aiperf_config::ProfileConfig;
use aiperf_dataset::rng::Rng;

/// Refuses what the phases cannot run yet, naming the flag.
pub fn check_supported(cfg: &ProfileConfig) -> anyhow::Result<()> {
    let a = &cfg.agentic_replay;
    if let Some(spec) = a.scenario {
        anyhow::bail!(
            "--scenario {}: AGENTIC_REPLAY timing (trajectory warm-up and resume) is not \
             implemented yet",
            spec.name
        );
    }
    if let Some(cap) = a.trace_idle_gap_cap_s {
        anyhow::bail!(
            "--trace-idle-gap-cap-seconds {cap}: capping a trace's idle gaps is not implemented \
             yet"
        );
    }
    Ok(())
}

/// The first and last request start of one trace (parent and subagents), if any is timed.
pub fn trace_bounds<'a>(streams: impl IntoIterator<Item = &'a [f64]>) -> Option<(f64, f64)> {
    streams.into_iter().flatten().fold(None, |b, &t| match b {
        None => Some((t, t)),
        Some((lo, hi)) => Some((f64::min(lo, t), f64::max(hi, t))),
    })
}

/// t* of one lane of trace `trace_id`: uniform in `[start + min·d, start + max·d]` (AIPerf's
/// `_build_timestamped_trajectory`), from a stream named after the trace and the lane so
/// repeated lanes of one trace differ and the choice depends on the seed alone.
pub fn sample_t_star(
    (start, end): (f64, f64),
    (min, max): (f64, f64),
    seed: u64,
    trace_id: &str,
    lane: usize,
) -> f64 {
    let duration = end - start;
    let lo = start + min * duration;
    let hi = f64::max(lo, start + max * duration);
    if hi == lo {
        return lo;
    }
    let u = Rng::derive(seed, &format!("agentic_replay:{trace_id}:{lane}")).uniform();
    lo + u * (hi - lo)
}

/// One stream (root or subagent chain) of a trajectory at t*.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamStart {
    /// The first turn at/after t*: where profiling resumes.
    pub resume_turn: usize,
    /// Its recorded offset after t* (ms, never negative).
    pub offset_ms: f64,
    /// The turn the warm-up primes (the last before t*) and how long before t* it was
    /// recorded (ms); `None` when the stream had sent nothing by t*.
    pub prime: Option<(usize, f64)>,
}

/// Where a stream with turns recorded at `times` (ascending) stands at t*; `None` when it
/// ended before t* (nothing left to profile).
pub fn stream_start(times: &[f64], t_star: f64) -> Option<StreamStart> {
    let resume_turn = times.iter().position(|&t| t >= t_star)?;
    let prime = resume_turn.checked_sub(1).map(|k| (k, t_star - times[k]));
    Some(StreamStart {
        resume_turn,
        offset_ms: f64::max(0.0, times[resume_turn] - t_star),
        prime,
    })
}

/// One stream of a trace as recorded: its conversation, whether it is the root, and its turns'
/// start times (ascending, ms).
pub struct RecordedStream<'a> {
    pub conversation: usize,
    pub root: bool,
    pub times: &'a [f64],
}

/// One stream of a lane as planned.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedStream {
    pub conversation: usize,
    pub start: StreamStart,
    /// When profiling sends its resume turn, ms after the phase starts.
    pub resume_at_ms: f64,
}

/// Every stream of one trajectory live at t*: the root (unless it ended), and each subagent
/// that had started by t* (one starting later is spawned by its parent during profiling, as
/// AIPerf's snapshot treats a child without a recorded branch start), with its resume time.
pub fn plan_lane(
    streams: &[RecordedStream<'_>],
    t_star: f64,
    burst: bool,
    cap_ms: Option<f64>,
) -> Vec<PlannedStream> {
    let live: Vec<(usize, StreamStart)> = streams
        .iter()
        .filter(|s| s.root || s.times.first().is_some_and(|&t| t <= t_star))
        .filter_map(|s| stream_start(s.times, t_star).map(|st| (s.conversation, st)))
        .collect();
    let offsets: Vec<f64> = live.iter().map(|(_, st)| st.offset_ms).collect();
    live.into_iter()
        .zip(resume_offsets(&offsets, burst, cap_ms))
        .map(|((conversation, start), resume_at_ms)| PlannedStream {
            conversation,
            start,
            resume_at_ms,
        })
        .collect()
}

/// When each priming request goes, ms after the warm-up starts, given each one's lead before
/// its t*. Spread (AIPerf's default): `max_lead - lead`, so every trajectory's t* lands at
/// the warm-up's end; leads are first clamped to the trace idle-gap cap, as AIPerf's
/// `_capped_warmup_lead_ms`. Burst: all at 0.
pub fn warmup_offsets(leads_ms: &[f64], burst: bool, cap_ms: Option<f64>) -> Vec<f64> {
    if burst {
        return vec![0.0; leads_ms.len()];
    }
    let capped: Vec<f64> = leads_ms
        .iter()
        .map(|&l| cap_ms.map_or(l, |c| l.min(c)))
        .collect();
    let max = capped.iter().copied().fold(0.0, f64::max);
    capped.iter().map(|l| max - l).collect()
}

/// When each stream of one trajectory resumes, ms after profiling starts, from its recorded
/// offsets after t*. The lane's leading idle is cut to the trace idle-gap cap by one uniform
/// shift (AIPerf's `_leading_idle_shift_ms`, keeping the streams' spacing); burst moves the
/// lane's first request to 0, again keeping the spacing.
pub fn resume_offsets(offsets_ms: &[f64], burst: bool, cap_ms: Option<f64>) -> Vec<f64> {
    let Some(first) = offsets_ms.iter().copied().reduce(f64::min) else {
        return Vec::new();
    };
    let shift = cap_ms.map_or(0.0, |c| f64::max(0.0, first - c));
    let t0 = if burst { first - shift } else { 0.0 };
    offsets_ms.iter().map(|o| o - shift - t0).collect()
}

/// How far every pending timer moves earlier under `--system-idle-gap-cap-seconds` (AIPerf's
/// `enforce_system_idle_cap`): only while nothing is in flight, by what the next timer is due
/// beyond the idle budget left. Seconds.
pub fn system_idle_shift(
    in_flight: usize,
    idle_elapsed_s: f64,
    next_due_in_s: Option<f64>,
    cap_s: f64,
) -> f64 {
    match next_due_in_s {
        Some(due) if in_flight == 0 => {
            let budget = f64::max(0.0, cap_s - idle_elapsed_s);
            f64::max(0.0, due - budget)
        }
        _ => 0.0,
    }
}

/// A trace's request starts (ascending) with every gap between consecutive starts above
/// `cap_ms` cut to it (AIPerf's `_IdleGapTimeWarp` for `--trace-idle-gap-cap-seconds`):
/// parent and subagent requests share one timeline, so a subagent request inside a gap
/// splits it.
pub fn cap_idle_gaps(starts_ms: &[f64], cap_ms: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(starts_ms.len());
    let mut removed = 0.0;
    for (i, &t) in starts_ms.iter().enumerate() {
        if i > 0 {
            removed += f64::max(0.0, t - starts_ms[i - 1] - cap_ms);
        }
        out.push(t - removed);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_star_stays_between_the_ratios_and_follows_the_seed() {
        let bounds = (1_000.0, 11_000.0);
        let a = sample_t_star(bounds, (0.25, 0.75), 7, "t1", 0);
        assert!((3_500.0..=8_500.0).contains(&a), "{a}");
        assert_eq!(a, sample_t_star(bounds, (0.25, 0.75), 7, "t1", 0));
        assert_ne!(a, sample_t_star(bounds, (0.25, 0.75), 7, "t1", 1));
        assert_ne!(a, sample_t_star(bounds, (0.25, 0.75), 8, "t1", 0));
        // Equal ratios leave no choice: start + 0.5 * 10 s.
        assert_eq!(sample_t_star(bounds, (0.5, 0.5), 7, "t1", 0), 6_000.0);
    }

    #[test]
    fn bounds_span_parent_and_subagents() {
        let parent = [0.0, 500.0];
        let child = [150.0, 250.0, 900.0];
        assert_eq!(trace_bounds([&parent[..], &child[..]]), Some((0.0, 900.0)));
        assert_eq!(trace_bounds(std::iter::empty::<&[f64]>()), None);
    }

    #[test]
    fn a_stream_resumes_at_its_first_turn_at_or_after_t_star() {
        let times = [0.0, 100.0, 400.0, 1_000.0];
        // t* = 250: turn 1 (100 ms) primes, 150 ms before t*; turn 2 resumes 150 ms after.
        assert_eq!(
            stream_start(&times, 250.0),
            Some(StreamStart {
                resume_turn: 2,
                offset_ms: 150.0,
                prime: Some((1, 150.0))
            })
        );
        // A turn exactly at t* resumes at offset 0.
        assert_eq!(stream_start(&times, 400.0).unwrap().resume_turn, 2);
        // Nothing sent yet: nothing to prime.
        assert_eq!(stream_start(&times, 0.0).unwrap().prime, None);
        // Ended before t*: nothing to profile.
        assert_eq!(stream_start(&times, 1_000.5), None);
    }

    /// The Weka fixture of `tests/agentic_replay.rs`: parent requests at 0 and 500 ms, a
    /// subagent's at 150 and 250 ms.
    fn weka() -> [RecordedStream<'static>; 2] {
        [
            RecordedStream {
                conversation: 0,
                root: true,
                times: &[0.0, 500.0],
            },
            RecordedStream {
                conversation: 1,
                root: false,
                times: &[150.0, 250.0],
            },
        ]
    }

    #[test]
    fn a_lane_resumes_every_live_stream() {
        let streams = weka();
        let bounds = trace_bounds(streams.iter().map(|s| s.times)).unwrap();
        // Ratios 0.5/0.5 of 0..500: t* = 250. The parent primes turn 0 (lead 250) and resumes
        // turn 1 250 ms in; the subagent primes turn 0 (lead 100) and resumes turn 1 at 0.
        let t = sample_t_star(bounds, (0.5, 0.5), 1, "t1", 0);
        assert_eq!(t, 250.0);
        let lane = plan_lane(&streams, t, false, None);
        let at: Vec<_> = lane
            .iter()
            .map(|p| {
                (
                    p.conversation,
                    p.start.resume_turn,
                    p.start.prime,
                    p.resume_at_ms,
                )
            })
            .collect();
        assert_eq!(
            at,
            [
                (0, 1, Some((0, 250.0)), 250.0),
                (1, 1, Some((0, 100.0)), 0.0)
            ]
        );
        // The warm-up sends the parent's prime at 0 and the subagent's at 150: both t* at 250.
        let leads: Vec<f64> = lane
            .iter()
            .filter_map(|p| p.start.prime.map(|x| x.1))
            .collect();
        assert_eq!(warmup_offsets(&leads, false, None), [0.0, 150.0]);
        // t* = 150 (ratios 0.3): the subagent starts exactly at t*, nothing of it to prime.
        let lane = plan_lane(&streams, 150.0, false, None);
        assert_eq!(lane[1].start.prime, None);
        assert_eq!((lane[0].resume_at_ms, lane[1].resume_at_ms), (350.0, 0.0));
        // t* = 100: the subagent has not started; its parent spawns it during profiling.
        let lane = plan_lane(&streams, 100.0, true, None);
        assert_eq!(lane.len(), 1);
        assert_eq!((lane[0].start.resume_turn, lane[0].resume_at_ms), (1, 0.0));
    }

    #[test]
    fn warmup_spreads_so_every_t_star_lands_at_its_end() {
        // Leads 150, 400, 0 ms: sent at 250, 0, 400; each + its lead = 400 (the end).
        assert_eq!(
            warmup_offsets(&[150.0, 400.0, 0.0], false, None),
            [250.0, 0.0, 400.0]
        );
        assert_eq!(warmup_offsets(&[150.0, 400.0], true, None), [0.0, 0.0]);
        // A 200 ms cap clamps the 400 ms lead: max lead 200.
        assert_eq!(
            warmup_offsets(&[150.0, 400.0], false, Some(200.0)),
            [50.0, 0.0]
        );
    }

    #[test]
    fn profiling_keeps_recorded_offsets_or_bursts_the_first() {
        assert_eq!(resume_offsets(&[150.0, 700.0], false, None), [150.0, 700.0]);
        assert_eq!(resume_offsets(&[150.0, 700.0], true, None), [0.0, 550.0]);
        // Leading idle 150 ms over a 100 ms cap: both move 50 ms earlier.
        assert_eq!(
            resume_offsets(&[150.0, 700.0], false, Some(100.0)),
            [100.0, 650.0]
        );
        assert!(resume_offsets(&[], false, None).is_empty());
    }

    #[test]
    fn system_idle_cap_shifts_only_when_idle() {
        // Idle 4 s of a 10 s budget, next timer in 20 s: it moves 14 s earlier (due in 6 s).
        assert_eq!(system_idle_shift(0, 4.0, Some(20.0), 10.0), 14.0);
        assert_eq!(system_idle_shift(0, 4.0, Some(5.0), 10.0), 0.0);
        assert_eq!(system_idle_shift(1, 4.0, Some(20.0), 10.0), 0.0);
        assert_eq!(system_idle_shift(0, 4.0, None, 10.0), 0.0);
    }

    #[test]
    fn trace_idle_gaps_are_cut_to_the_cap() {
        // AIPerf's example, cap 60 s: 0, 20 (subagent), 220 -> 0, 20, 80.
        assert_eq!(
            cap_idle_gaps(&[0.0, 20_000.0, 220_000.0, 230_000.0], 60_000.0),
            [0.0, 20_000.0, 80_000.0, 90_000.0]
        );
    }
}
