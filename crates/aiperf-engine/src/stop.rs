//! Interruption: SIGINT / SIGTERM, the dashboard's `q`, or a caller stopping a run.
//!
//! The first stop ends issuing and lets in-flight requests finish for a bounded time
//! (`AIPERF_TIMING_CANCEL_DRAIN_TIMEOUT`, default 10 s); a second stop, or the end of that time,
//! cancels them. Either way every artifact is written.
//!
//! A run can also stop itself (`--failed-request-threshold`): the same path on a signal of its
//! own ([`StopSignal::stop_early`]), so the engine's signal, and the runs after it, are untouched.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Shared by the signal watcher, the UI and the phase loop. An [`crate::Engine`] keeps one for
/// all its runs, so a stopped sweep does not start its next run.
#[derive(Default)]
pub struct StopSignal {
    pub stop: AtomicBool,
    pub abort: AtomicBool,
    /// Why a run stopped itself ([`StopSignal::stop_early`]); `None` for an interruption.
    reason: Mutex<Option<String>>,
    /// Wakes [`StopSignal::wait_stopped`] at once when stopped through a method.
    woken: tokio::sync::Notify,
}

/// A run stopped by an interruption before its first request: nothing was sent or written.
/// The binary exits 130 on it, like any interrupted run.
#[derive(Debug, thiserror::Error)]
#[error("interrupted while {0}; nothing was sent")]
pub struct Interrupted(pub &'static str);

/// Default bound on draining in-flight requests after the first signal.
const CANCEL_DRAIN_TIMEOUT_S: f64 = 10.0;

impl StopSignal {
    /// First interruption: stop sending; in-flight requests get the drain time, then are
    /// cancelled.
    pub fn first(self: &Arc<Self>) {
        let drain = drain_timeout_s();
        tracing::warn!("interrupted: no new requests; waiting up to {drain} s for in-flight ones (interrupt again to cancel them), then exporting");
        self.stop_then_abort(drain);
    }

    /// A run stopping itself, `reason` saying why (the report's `incomplete_reason`): as
    /// [`StopSignal::first`], sending stops and in-flight requests get the drain time, then are
    /// cancelled. Only the first call counts.
    pub fn stop_early(self: &Arc<Self>, reason: String) {
        {
            let mut r = self.reason.lock().unwrap_or_else(|e| e.into_inner());
            if r.is_some() {
                return;
            }
            *r = Some(reason);
        }
        self.stop_then_abort(drain_timeout_s());
    }

    /// Why the run stopped itself, if it did.
    pub fn early_reason(&self) -> Option<String> {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn stop_then_abort(self: &Arc<Self>, drain: f64) {
        self.stop.store(true, Ordering::Relaxed);
        self.woken.notify_waiters();
        let s = self.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs_f64(drain));
            s.abort.store(true, Ordering::Relaxed);
        });
    }

    /// Second interruption: cancel in-flight requests now.
    pub fn second(&self) {
        tracing::warn!("interrupted again: cancelling in-flight requests, then exporting");
        self.abort.store(true, Ordering::Relaxed);
    }

    /// Whether sending should stop.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Resolves once sending should stop: at once when stopped through a method, else (the
    /// flag stored directly) within 50 ms.
    pub async fn wait_stopped(&self) {
        loop {
            let woken = self.woken.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if self.stopped() {
                return;
            }
            tokio::select! {
                _ = woken => {}
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
    }

    /// Whether in-flight requests should be cancelled.
    pub fn aborted(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
    }
}

/// `AIPERF_TIMING_CANCEL_DRAIN_TIMEOUT` (seconds), default 10.
fn drain_timeout_s() -> f64 {
    std::env::var("AIPERF_TIMING_CANCEL_DRAIN_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v >= 0.0)
        .unwrap_or(CANCEL_DRAIN_TIMEOUT_S)
}

/// Turns SIGINT / SIGTERM into `first` then `second` until the task is aborted.
pub(crate) async fn watch_signals(stop: Arc<StopSignal>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        let mut count = 0;
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            count += 1;
            if count == 1 {
                stop.first();
            } else {
                stop.second();
            }
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop.stop.store(true, Ordering::Relaxed);
        }
    }
}
