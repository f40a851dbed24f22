//! Timing stage: decides how many requests each phase sends and when sending stops.
//!
//! This crate does no I/O and never reads a clock itself: callers pass the current run-clock time,
//! so every rule here is testable in virtual time.
//!
//! Every timing mode asks [`CreditIssuer`] for permission before each request: the first turn
//! of a new session through [`CreditIssuer::try_issue_first`] (which also counts sessions
//! against `--conversation-num`), later turns through [`CreditIssuer::try_issue`]; a refusal
//! ends sending. Stop rules (AIPerf §4.4): the first of `--request-count` reached, the session
//! count reached (started sessions finish), or `--benchmark-duration` elapsed since the phase
//! started; with none of them, 10 requests.

pub mod arrival;
pub mod schedule;
pub mod series;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use aiperf_core::Phase;

/// AIPerf's request count when no stop condition is given.
pub const DEFAULT_REQUEST_COUNT: u64 = 10;

/// What one phase sends.
#[derive(Debug, Clone, PartialEq)]
pub struct PhasePlan {
    pub phase: Phase,
    pub concurrency: usize,
    /// Stop after this many requests.
    pub request_count: Option<u64>,
    /// Start no more than this many sessions (`--conversation-num`); started sessions still
    /// send their remaining turns.
    pub session_count: Option<u64>,
    /// Stop sending this long after the phase starts (ns).
    pub duration_ns: Option<u64>,
    /// With a duration: how long after it in-flight requests may still finish (ns); `None` waits
    /// for them without bound.
    pub grace_ns: Option<u64>,
}

impl PhasePlan {
    /// The moment (relative to phase start) after which in-flight requests are abandoned.
    pub fn drain_deadline_ns(&self) -> Option<u64> {
        match (self.duration_ns, self.grace_ns) {
            (Some(d), Some(g)) => Some(d.saturating_add(g)),
            _ => None,
        }
    }
}

/// Hands out permission to send, one request at a time, lock-free.
#[derive(Debug)]
pub struct CreditIssuer {
    limit: Option<u64>,
    session_limit: Option<u64>,
    sessions: AtomicU64,
    /// Absolute run-clock time after which no credit is issued.
    send_until_ns: Option<u64>,
    issued: AtomicU64,
    stopped: AtomicBool,
}

impl CreditIssuer {
    /// An issuer for `plan`, whose phase started at `phase_start_ns` on the run clock.
    pub fn new(plan: &PhasePlan, phase_start_ns: u64) -> Self {
        let limit = match (plan.request_count, plan.duration_ns, plan.session_count) {
            (None, None, None) => Some(DEFAULT_REQUEST_COUNT),
            (count, _, _) => count,
        };
        Self {
            limit,
            session_limit: plan.session_count,
            sessions: AtomicU64::new(0),
            send_until_ns: plan.duration_ns.map(|d| phase_start_ns.saturating_add(d)),
            issued: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        }
    }

    /// The index of the next request to send, or `None` once the phase must stop sending.
    #[inline]
    pub fn try_issue(&self, now_ns: u64) -> Option<u64> {
        if self.stopped.load(Ordering::Relaxed) {
            return None;
        }
        if self.send_until_ns.is_some_and(|t| now_ns >= t) {
            return None;
        }
        let i = self.issued.fetch_add(1, Ordering::Relaxed);
        match self.limit {
            Some(l) if i >= l => None,
            _ => Some(i),
        }
    }

    /// Like [`try_issue`](Self::try_issue), for the first turn of a new session: also refused
    /// once the session limit is reached.
    #[inline]
    pub fn try_issue_first(&self, now_ns: u64) -> Option<u64> {
        if !self.try_start_session() {
            return None;
        }
        self.try_issue(now_ns)
    }

    /// Counts a new session against the session limit; `false` once it is reached.
    #[inline]
    pub fn try_start_session(&self) -> bool {
        match self.session_limit {
            Some(l) => self.sessions.fetch_add(1, Ordering::Relaxed) < l,
            None => true,
        }
    }

    /// Whether new sessions may still start (the session limit is not reached).
    pub fn sessions_left(&self) -> bool {
        self.session_limit
            .is_none_or(|l| self.sessions.load(Ordering::Relaxed) < l)
    }

    /// Whether a credit asked for at `at_ns` could still be issued as far as time and stopping
    /// go (counts aside): lets a mode skip waiting for a slot that is past the end.
    pub fn open_at(&self, at_ns: u64) -> bool {
        !self.stopped.load(Ordering::Relaxed) && self.send_until_ns.is_none_or(|t| at_ns < t)
    }

    /// Whether the request count is used up (nothing more will ever be issued by count).
    pub fn exhausted(&self) -> bool {
        self.limit
            .is_some_and(|l| self.issued.load(Ordering::Relaxed) >= l)
    }

    /// Stops issuing (Ctrl-C, fatal error).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    /// How many credits were handed out.
    pub fn issued(&self) -> u64 {
        let n = self.issued.load(Ordering::Relaxed);
        self.limit.map_or(n, |l| n.min(l))
    }

    /// How many sessions can ever start in this phase, if bounded: each needs a request, so
    /// no more than the request count, and no more than the session limit. Closed-loop modes
    /// start no more workers than this, whatever the concurrency.
    pub fn max_sessions(&self) -> Option<u64> {
        match (self.limit, self.session_limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The request count this phase aims for, if it is count-bound.
    pub fn target_count(&self) -> Option<u64> {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(count: Option<u64>, duration_ns: Option<u64>) -> PhasePlan {
        PhasePlan {
            phase: Phase::Profiling,
            concurrency: 4,
            request_count: count,
            session_count: None,
            duration_ns,
            grace_ns: None,
        }
    }

    #[test]
    fn count_limit_issues_exactly_n() {
        let i = CreditIssuer::new(&plan(Some(3), None), 0);
        assert!(!i.exhausted());
        let got: Vec<_> = (0..5).map(|_| i.try_issue(0)).collect();
        assert_eq!(got, [Some(0), Some(1), Some(2), None, None]);
        assert_eq!(i.issued(), 3);
        assert!(i.exhausted());
    }

    #[test]
    fn default_is_ten_requests() {
        let i = CreditIssuer::new(&plan(None, None), 0);
        assert_eq!((0..20).filter_map(|_| i.try_issue(0)).count(), 10);
        assert_eq!(i.target_count(), Some(10));
    }

    #[test]
    fn duration_stops_sending_at_phase_start_plus_duration() {
        let i = CreditIssuer::new(&plan(None, Some(1_000)), 500);
        assert_eq!(i.try_issue(500), Some(0));
        assert_eq!(i.try_issue(1_499), Some(1));
        assert_eq!(i.try_issue(1_500), None);
    }

    #[test]
    fn sessions_are_bounded_by_requests_and_the_session_limit() {
        assert_eq!(
            CreditIssuer::new(&plan(Some(20), None), 0).max_sessions(),
            Some(20)
        );
        assert_eq!(
            CreditIssuer::new(&plan(None, Some(1)), 0).max_sessions(),
            None
        );
        let mut p = plan(Some(20), None);
        p.session_count = Some(5);
        assert_eq!(CreditIssuer::new(&p, 0).max_sessions(), Some(5));
        p.request_count = Some(3);
        assert_eq!(CreditIssuer::new(&p, 0).max_sessions(), Some(3));
        p.request_count = None;
        assert_eq!(CreditIssuer::new(&p, 0).max_sessions(), Some(5));
    }

    #[test]
    fn count_and_duration_first_wins() {
        let i = CreditIssuer::new(&plan(Some(1), Some(1_000)), 0);
        assert_eq!(i.try_issue(0), Some(0));
        assert_eq!(i.try_issue(1), None);
    }

    #[test]
    fn session_limit_stops_new_sessions_not_their_turns() {
        let mut p = plan(None, None);
        p.session_count = Some(2);
        let i = CreditIssuer::new(&p, 0);
        assert_eq!(
            i.target_count(),
            None,
            "no default request count with a session limit"
        );
        assert_eq!(i.try_issue_first(0), Some(0));
        assert_eq!(i.try_issue(0), Some(1));
        assert_eq!(i.try_issue_first(0), Some(2));
        assert!(!i.sessions_left());
        assert_eq!(i.try_issue_first(0), None);
        assert_eq!(i.try_issue(0), Some(3), "continuations still go out");
        p.request_count = Some(1);
        let j = CreditIssuer::new(&p, 0);
        assert_eq!(j.try_issue_first(0), Some(0));
        assert_eq!(j.try_issue(0), None, "request count still wins");
    }

    #[test]
    fn stop_refuses_further_credits() {
        let i = CreditIssuer::new(&plan(Some(100), Some(50)), 0);
        assert!(i.try_issue(0).is_some());
        assert!(i.open_at(49) && !i.open_at(50));
        i.stop();
        assert!(!i.open_at(0));
        assert_eq!(i.try_issue(0), None);
    }

    #[test]
    fn drain_deadline_needs_duration_and_grace() {
        let mut p = plan(None, Some(10));
        assert_eq!(p.drain_deadline_ns(), None);
        p.grace_ns = Some(5);
        assert_eq!(p.drain_deadline_ns(), Some(15));
    }
}
