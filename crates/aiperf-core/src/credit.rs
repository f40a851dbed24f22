//! Credits: the timing stage's permission to send one turn.

/// Which phase of the run a request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Requests that prime the server; sent but excluded from every metric.
    Warmup,
    /// Requests that are measured.
    Profiling,
}

impl Phase {
    /// The name AIPerf writes into `benchmark_phase`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Warmup => "warmup",
            Phase::Profiling => "profiling",
        }
    }
}

/// Permission to send turn `turn_index` of conversation `conversation_index` now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credit {
    pub phase: Phase,
    /// Position of this credit within its phase (0-based).
    pub index: u64,
    /// Which dataset conversation to send.
    pub conversation_index: usize,
    /// Which turn of that conversation.
    pub turn_index: usize,
    /// Session number: one per conversation instance started in the run (0-based).
    pub session_num: u64,
    /// When the credit was issued (run clock ns).
    pub issued_ns: u64,
    /// When the schedule meant it to be issued (rate and fixed-schedule modes; run clock ns).
    pub intended_ns: Option<u64>,
    /// Cancel the request this long after it was sent (`--request-cancellation-rate`).
    pub cancel_after_ns: Option<u64>,
}
