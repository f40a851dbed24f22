//! `--prefill-concurrency`: at most N requests of a phase wait for their first token at once.
//!
//! A request takes a slot just before it is sent and gives it back when the first SSE event
//! carrying content arrives (AIPerf's first-token callback: a role-only delta does not count),
//! or when it ends without one (an error, a cancellation). The check runs on the request's own
//! task for the first few reads only: the endpoint parses each complete event until one has
//! content, then the watcher is dropped from the read loop.

use std::sync::Arc;

use aiperf_config::resolve::PrefillLimit;
use aiperf_core::Clock;
use aiperf_endpoints::Endpoint;
use aiperf_transport::sse::{SseFramer, SseMessage};
use aiperf_transport::FrameWatch;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

/// A phase's prefill slots, opening one by one over the ramp.
pub struct PrefillGate {
    slots: Arc<Semaphore>,
    ramp: Option<JoinHandle<()>>,
}

impl PrefillGate {
    /// The gate of a phase that started at `start_ns` on the run clock.
    pub fn open(limit: PrefillLimit, clock: Clock, start_ns: u64) -> PrefillGate {
        let target = limit.slots.max(1);
        let ramp_ns = limit
            .ramp_s
            .map(|s| (s * 1e9) as u64)
            .filter(|&r| r > 0 && target > 1);
        let initial = if ramp_ns.is_some() { 1 } else { target };
        let slots = Arc::new(Semaphore::new(initial));
        let ramp = ramp_ns.map(|ramp| {
            let slots = slots.clone();
            tokio::spawn(async move {
                for k in 1..target {
                    let at = start_ns + ramp_offset_ns(ramp, k, target);
                    tokio::time::sleep_until(clock.instant_at(at).into()).await;
                    slots.add_permits(1);
                }
            })
        });
        PrefillGate { slots, ramp }
    }

    /// Waits for a slot.
    pub async fn take(&self) -> Option<OwnedSemaphorePermit> {
        self.slots.clone().acquire_owned().await.ok()
    }

    /// Slots free now (tests and the live view).
    pub fn available(&self) -> usize {
        self.slots.available_permits()
    }
}

impl Drop for PrefillGate {
    fn drop(&mut self) {
        if let Some(r) = &self.ramp {
            r.abort();
        }
    }
}

/// When slot `k` (0-based) of `target` opens under a linear ramp of `ramp_ns`: slot 0 at once,
/// the last at the end of the ramp (as the closed-loop concurrency ramp spreads its workers).
fn ramp_offset_ns(ramp_ns: u64, k: usize, target: usize) -> u64 {
    if target <= 1 {
        return 0;
    }
    (ramp_ns as f64 * k as f64 / (target - 1) as f64) as u64
}

/// Holds a request's slot until its first content arrives.
pub struct FirstToken {
    slot: Option<OwnedSemaphorePermit>,
    endpoint: Arc<dyn Endpoint>,
    framer: SseFramer,
    messages: Vec<SseMessage>,
}

impl FirstToken {
    pub fn new(slot: OwnedSemaphorePermit, endpoint: Arc<dyn Endpoint>) -> FirstToken {
        FirstToken {
            slot: Some(slot),
            endpoint,
            framer: SseFramer::new(),
            messages: Vec::new(),
        }
    }

    /// Whether the slot is still held.
    #[cfg(test)]
    pub fn holding(&self) -> bool {
        self.slot.is_some()
    }
}

impl FrameWatch for FirstToken {
    fn frame(&mut self, data: &[u8]) -> bool {
        self.framer.push(0, data, &mut self.messages);
        let content = self.messages.drain(..).any(|m| {
            m.data
                .as_deref()
                .filter(|d| !d.is_empty() && *d != "[DONE]")
                .is_some_and(|d| self.endpoint.parse_event(d, false).0.is_some())
        });
        if content {
            self.slot = None;
        }
        content
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// How long a test may wait for a ramp step (generous: the ramp is exact, the machine is not).
    const STEP_SLACK: Duration = Duration::from_millis(500);

    fn chat() -> Arc<dyn Endpoint> {
        Arc::new(aiperf_endpoints::chat::Chat)
    }

    #[tokio::test]
    async fn the_slot_is_freed_by_the_first_content_not_by_a_role_delta() {
        let gate = PrefillGate::open(
            PrefillLimit {
                slots: 1,
                ramp_s: None,
            },
            Clock::start(),
            0,
        );
        let slot = gate.take().await.unwrap();
        assert_eq!(gate.available(), 0);
        let mut watch = FirstToken::new(slot, chat());
        let role = br#"data: {"object":"chat.completion.chunk","choices":[{"delta":{"role":"assistant","content":""}}]}"#;
        assert!(!watch.frame(role));
        assert!(!watch.frame(b"\n\n"), "a role-only delta is not a token");
        assert!(watch.holding());
        // The event split across two reads: only its end completes it.
        assert!(!watch.frame(
            br#"data: {"object":"chat.completion.chunk","choices":[{"delta":{"content":"Hi"}}]}"#
        ));
        assert_eq!(gate.available(), 0);
        assert!(watch.frame(b"\n\n"));
        assert!(!watch.holding());
        assert_eq!(gate.available(), 1);
    }

    #[tokio::test]
    async fn a_request_without_a_token_frees_its_slot_when_it_ends() {
        let gate = PrefillGate::open(
            PrefillLimit {
                slots: 2,
                ramp_s: None,
            },
            Clock::start(),
            0,
        );
        let watch = FirstToken::new(gate.take().await.unwrap(), chat());
        assert_eq!(gate.available(), 1);
        drop(watch);
        assert_eq!(gate.available(), 2);
    }

    #[test]
    fn ramp_steps_spread_evenly() {
        // 4 slots over 3 s: at 0, 1, 2 and 3 s.
        let at: Vec<u64> = (0..4).map(|k| ramp_offset_ns(3_000, k, 4)).collect();
        assert_eq!(at, [0, 1_000, 2_000, 3_000]);
    }

    #[tokio::test]
    async fn a_ramp_opens_one_slot_then_the_rest_over_time() {
        let clock = Clock::start();
        let gate = PrefillGate::open(
            PrefillLimit {
                slots: 3,
                ramp_s: Some(0.2),
            },
            clock,
            clock.now_ns(),
        );
        assert_eq!(gate.available(), 1, "one slot at the start");
        tokio::time::sleep(Duration::from_millis(200) + STEP_SLACK).await;
        assert_eq!(gate.available(), 3, "every slot after the ramp");
    }
}
