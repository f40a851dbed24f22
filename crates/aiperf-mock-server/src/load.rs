//! The load model: latency that grows with the number of inference requests in flight, and a
//! capacity above which requests queue. Off by default (`--ttft-per-inflight 0
//! --itl-per-inflight 0 --capacity 0`), when every wait is exactly the configured TTFT / ITL.
//!
//! A request is *in flight* from its admission (after any `--capacity` queue) until its last
//! token is due (generation APIs; the bytes already made are then written without delay) or
//! its reply is built (embeddings, rankings, images, retrieval, transcriptions). Only inference
//! requests count: `/health`, `/v1/models`, `/metrics` and video job polls do not, nor do
//! requests rejected before admission (bad JSON, 400s, injected errors and faults).
//!
//! Each wait of a request ends `base + per * peak` ms (plus jitter) after it starts, where `peak`
//! is the most *other* requests in flight at any moment of that wait (the count when it begins,
//! raised if more are admitted before it ends; it never falls):
//!
//! * the TTFT wait starts at arrival, or at admission when the request queued:
//!   `TTFT = ttft + ttft_per_inflight * peak`;
//! * each inter-token gap starts when the previous token was due:
//!   `gap = itl + itl_per_inflight * peak`.
//!
//! Closed-loop law (c clients, each sending its next request when the previous one ends, n
//! output tokens, no jitter): when c <= capacity (or capacity is unlimited), every request sees
//! exactly c - 1 others, the first wave included as long as it arrives within one TTFT, so
//!
//! ```text
//! TTFT(c)    = ttft + ttft_per_inflight * (c - 1)
//! ITL(c)     = itl  + itl_per_inflight  * (c - 1)
//! latency(c) = S(c) = TTFT(c) + (n - 1) * ITL(c)
//! ```
//!
//! When c > capacity = K, K requests are served at once and each sees K - 1 others, so service
//! takes S(K); the other c - K wait FIFO, throughput is K / S(K), and by Little's law the mean
//! latency is c * S(K) / K, of which (c / K - 1) * S(K) is queueing that the client sees as TTFT:
//! `TTFT = wait + ttft + ttft_per_inflight * (K - 1)`. When c is a multiple of K the requests move
//! in lockstep waves and every wait is an exact multiple of S(K).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// In-flight count and `--capacity` gate of one server.
pub(crate) struct Load {
    in_flight: AtomicUsize,
    queued: AtomicUsize,
    /// `--capacity` permits (FIFO: tokio's semaphore is fair).
    gate: Option<Arc<Semaphore>>,
    /// Woken at every admission, so that waits can grow with the load.
    rose: Notify,
    /// Some wait grows with the load (a `*_per_inflight` is set).
    watched: bool,
}

impl Load {
    pub(crate) fn new(capacity: Option<usize>, watched: bool) -> Arc<Self> {
        Arc::new(Self {
            in_flight: AtomicUsize::new(0),
            queued: AtomicUsize::new(0),
            gate: capacity
                .filter(|&k| k <= Semaphore::MAX_PERMITS)
                .map(|k| Arc::new(Semaphore::new(k))),
            rose: Notify::new(),
            watched,
        })
    }

    /// Inference requests admitted and not yet finished.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Inference requests waiting for a `--capacity` slot.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Waits for a slot (FIFO) when `--capacity` is set and all are taken, then counts the
    /// request as in flight until the returned guard is dropped.
    pub(crate) async fn admit(self: &Arc<Self>) -> Admission {
        let mut waited = false;
        let permit = match &self.gate {
            None => None,
            Some(gate) => match gate.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    waited = true;
                    let _queued = Counted::new(&self.queued);
                    // The semaphore is never closed, so this only fails if that changes.
                    gate.clone().acquire_owned().await.ok()
                }
            },
        };
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        if self.watched {
            self.rose.notify_waiters();
        }
        Admission {
            load: self.clone(),
            at: Instant::now(),
            waited,
            _permit: permit,
        }
    }
}

/// Counts one in a gauge for as long as it lives.
struct Counted<'a>(&'a AtomicUsize);

impl<'a> Counted<'a> {
    fn new(gauge: &'a AtomicUsize) -> Self {
        gauge.fetch_add(1, Ordering::Relaxed);
        Self(gauge)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One admitted request: counted as in flight, holding its `--capacity` slot, until dropped
/// (on every exit path: a finished reply, an early return, a client gone mid-stream, a panic).
#[must_use = "the request stops counting as in flight when this is dropped"]
pub(crate) struct Admission {
    load: Arc<Load>,
    /// When the request was admitted.
    pub(crate) at: Instant,
    /// Whether it waited in the `--capacity` queue (its TTFT then starts at `at`).
    pub(crate) waited: bool,
    /// Released after `in_flight` is decremented (fields drop after `Drop::drop`), so the next
    /// queued request never counts this one.
    _permit: Option<OwnedSemaphorePermit>,
}

impl Admission {
    /// Other requests in flight now.
    pub(crate) fn others(&self) -> usize {
        self.load.in_flight().saturating_sub(1)
    }

    /// Sleeps until `w` is due; when its load term is on, raises `w.peak` (and so the deadline)
    /// whenever more requests are admitted before then. `w` ends with its final deadline.
    pub(crate) async fn wait(&self, w: &mut Wait) {
        if w.per <= 0.0 || !self.load.watched {
            tokio::time::sleep_until(w.due().into()).await;
            return;
        }
        loop {
            // Registered before the count is read, so no admission is missed.
            let rose = self.load.rose.notified();
            w.peak = w.peak.max(self.others());
            tokio::select! {
                _ = tokio::time::sleep_until(w.due().into()) => return,
                _ = rose => {}
            }
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.load.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One timed wait (a TTFT or an inter-token gap): it ends `base + per * peak` ms, jittered by
/// `+/- jitter` ms with the uniform draw `u`, after `start`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wait {
    pub(crate) start: Instant,
    pub(crate) base: f64,
    /// Load term: ms per other request in flight.
    pub(crate) per: f64,
    pub(crate) jitter: f64,
    pub(crate) u: f64,
    /// The most other requests in flight seen during the wait.
    pub(crate) peak: usize,
}

impl Wait {
    pub(crate) fn due(&self) -> Instant {
        let load = if self.per > 0.0 {
            self.per * self.peak as f64
        } else {
            0.0
        };
        self.start + ms(jittered(self.base + load, self.jitter, self.u))
    }
}

pub(crate) fn ms(v: f64) -> Duration {
    Duration::from_secs_f64(v.max(0.0) / 1000.0)
}

/// `base +/- jitter` from a uniform draw `u` in [0, 1).
pub(crate) fn jittered(base: f64, jitter: f64, u: f64) -> f64 {
    if jitter <= 0.0 {
        base
    } else {
        (base + jitter * (2.0 * u - 1.0)).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_flight_and_queue_follow_the_guards() {
        let load = Load::new(Some(1), false);
        let a = load.admit().await;
        assert!(!a.waited);
        assert_eq!((load.in_flight(), a.others()), (1, 0));
        let queued = tokio::spawn({
            let load = load.clone();
            async move { load.admit().await.waited }
        });
        while load.queued() == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(load.in_flight(), 1);
        drop(a);
        assert!(queued.await.unwrap(), "the second request queued");
        assert_eq!((load.in_flight(), load.queued()), (0, 0));

        // A queued request whose client gives up leaves the queue.
        let a = load.admit().await;
        let gave_up = tokio::time::timeout(Duration::from_millis(20), load.admit()).await;
        assert!(gave_up.is_err());
        assert_eq!((load.in_flight(), load.queued()), (1, 0));
        drop(a);
    }

    #[tokio::test]
    async fn unlimited_and_zero_load_terms_are_plain_sleeps() {
        let load = Load::new(None, false);
        let guards: Vec<_> = admit_n(&load, 5).await;
        assert_eq!(load.in_flight(), 5);
        assert_eq!(guards[0].others(), 4);
        let start = Instant::now();
        let w = Wait {
            start,
            base: 7.0,
            per: 0.0,
            jitter: 0.0,
            u: 0.5,
            peak: 4,
        };
        assert_eq!(w.due(), start + ms(7.0));
        let w = Wait { per: 2.0, ..w };
        assert_eq!(w.due(), start + ms(15.0));
        drop(guards);
        assert_eq!(load.in_flight(), 0);
    }

    async fn admit_n(load: &Arc<Load>, n: usize) -> Vec<Admission> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(load.admit().await);
        }
        v
    }

    #[tokio::test]
    async fn a_wait_grows_when_more_requests_are_admitted() {
        let load = Load::new(None, true);
        let a = load.admit().await;
        let mut w = Wait {
            start: Instant::now(),
            base: 100.0,
            per: 30.0,
            jitter: 0.0,
            u: 0.0,
            peak: a.others(),
        };
        let later = {
            let load = load.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                let b = load.admit().await;
                let c = load.admit().await;
                tokio::time::sleep(Duration::from_millis(500)).await;
                drop((b, c));
            })
        };
        a.wait(&mut w).await;
        assert_eq!(w.peak, 2);
        // 100 + 30 * 2 ms: the two admitted during the wait count.
        assert!(w.start.elapsed() >= ms(160.0), "{:?}", w.start.elapsed());
        later.await.unwrap();
    }
}
