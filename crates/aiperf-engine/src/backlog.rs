//! Backpressure between the workers and the record processor.
//!
//! When the client's cores are saturated the processor can fall behind, and raw records (every
//! chunk of every answer) would queue without bound. Workers count what they hand over; once
//! [`HIGH`] records wait, the next request is held back until the processor is down to [`LOW`].
//! The processor wakes the waiters once per drain (hysteresis), not once per record, so the
//! common case costs two atomic adds per request. Every pause is counted for the client-bound
//! verdict: a paused run measured the client, not only the server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aiperf_core::RawRecord;
use tokio::sync::{mpsc, Notify};

/// Records waiting for the processor at which new requests are held back (a few MiB of raw
/// records at typical sizes).
pub const HIGH: u64 = 1024;
/// Records waiting at which held-back requests go again.
pub const LOW: u64 = HIGH / 2;

/// The shared count of records handed over and not yet taken, and the pauses it caused.
#[derive(Debug, Default)]
pub struct Backlog {
    pending: AtomicU64,
    woken: Notify,
    pauses: AtomicU64,
    paused_ns: AtomicU64,
}

impl Backlog {
    /// The processor took one record.
    pub fn taken(&self) {
        if self.pending.fetch_sub(1, Ordering::Relaxed) == LOW + 1 {
            self.woken.notify_waiters();
        }
    }

    /// Holds the caller while [`HIGH`] or more records wait, until [`LOW`] do. Wakes at least
    /// every 50 ms to re-check, so a processor that stopped never strands a worker.
    pub async fn wait_for_room(&self) {
        if self.pending.load(Ordering::Relaxed) < HIGH {
            return;
        }
        let started = Instant::now();
        self.pauses.fetch_add(1, Ordering::Relaxed);
        loop {
            let woken = self.woken.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if self.pending.load(Ordering::Relaxed) <= LOW {
                break;
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), woken).await;
        }
        self.paused_ns
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }

    /// (times a request was held back, total time held back in seconds).
    pub fn pauses(&self) -> (u64, f64) {
        (
            self.pauses.load(Ordering::Relaxed),
            self.paused_ns.load(Ordering::Relaxed) as f64 / 1e9,
        )
    }
}

/// The workers' end of the record channel: counts each record into the [`Backlog`].
#[derive(Debug, Clone)]
pub struct RecordSender {
    tx: mpsc::UnboundedSender<RawRecord>,
    backlog: std::sync::Arc<Backlog>,
}

impl RecordSender {
    pub fn new(tx: mpsc::UnboundedSender<RawRecord>, backlog: std::sync::Arc<Backlog>) -> Self {
        Self { tx, backlog }
    }

    /// Hands a record over; `false` once the processor is gone.
    pub fn send(&self, record: RawRecord) -> bool {
        self.backlog.pending.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(record).is_err() {
            self.backlog.pending.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    pub fn backlog(&self) -> &Backlog {
        &self.backlog
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn holds_back_above_high_and_releases_at_low() {
        let backlog = Arc::new(Backlog::default());
        backlog.pending.store(HIGH, Ordering::Relaxed);
        let b = backlog.clone();
        let waiter = tokio::spawn(async move { b.wait_for_room().await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !waiter.is_finished(),
            "must wait while HIGH records are pending"
        );
        for _ in 0..(HIGH - LOW - 1) {
            backlog.taken();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "still above LOW");
        backlog.taken();
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("released at LOW")
            .unwrap();
        let (n, secs) = backlog.pauses();
        assert_eq!(n, 1);
        assert!(secs > 0.03, "{secs}");
        // Below HIGH there is no pause at all.
        backlog.wait_for_room().await;
        assert_eq!(backlog.pauses().0, 1);
    }
}
