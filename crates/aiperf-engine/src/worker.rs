//! Workers: closed-loop concurrency. Each worker asks for a credit, sends one request, hands the
//! raw record to the processor, and asks again until the phase stops issuing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aiperf_core::{Clock, Credit, Phase, RawRecord};
use aiperf_timing::CreditIssuer;
use aiperf_transport::{HttpClient, RequestSpec};
use http::header::{HeaderName, HeaderValue};
use tokio::sync::mpsc;

use crate::prepare::Prepared;

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
static X_CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");

/// What every worker of a phase shares.
pub struct PhaseContext {
    pub phase: Phase,
    pub clock: Clock,
    pub issuer: CreditIssuer,
    pub prepared: Arc<Prepared>,
    pub clients: Arc<Vec<HttpClient>>,
    /// Session numbers continue across phases, so sampling continues too.
    pub sessions: Arc<AtomicU64>,
    pub timeout: Duration,
    pub records: mpsc::UnboundedSender<RawRecord>,
    /// Requests currently on the wire.
    pub in_flight: AtomicU64,
}

pub async fn run_worker(ctx: Arc<PhaseContext>) {
    let n_models = ctx.prepared.turns.len().max(1) as u64;
    let n_urls = ctx.clients.len().max(1) as u64;
    while let Some(index) = ctx.issuer.try_issue(ctx.clock.now_ns()) {
        let issued_ns = ctx.clock.now_ns();
        let session_num = ctx.sessions.fetch_add(1, Ordering::Relaxed);
        let conversation_index = ctx.prepared.sampler.pick(session_num);
        let turn = &ctx.prepared.turns[(session_num % n_models) as usize][conversation_index];
        let target = (session_num % n_urls) as usize;
        let x_request_id = uuid::Uuid::new_v4().to_string();
        let x_correlation_id = uuid::Uuid::new_v4().to_string();
        let extra_headers = [
            (
                X_REQUEST_ID.clone(),
                HeaderValue::from_str(&x_request_id).unwrap_or(HeaderValue::from_static("0")),
            ),
            (
                X_CORRELATION_ID.clone(),
                HeaderValue::from_str(&x_correlation_id).unwrap_or(HeaderValue::from_static("0")),
            ),
        ];
        let spec = RequestSpec {
            path: &ctx.prepared.paths[target],
            headers: &ctx.prepared.headers,
            extra_headers,
            body: turn.body.clone(),
        };
        ctx.in_flight.fetch_add(1, Ordering::Relaxed);
        let request_start_ns = ctx.clock.now_ns();
        let deadline = Instant::now() + ctx.timeout;
        let ex = ctx.clients[target]
            .send(spec, deadline, ctx.timeout.as_secs_f64())
            .await;
        ctx.in_flight.fetch_sub(1, Ordering::Relaxed);
        let error = ex
            .error
            .map(|e| aiperf_core::ErrorDetails::new(None, e.kind(), e.to_string()));
        let record = RawRecord {
            credit: Credit {
                phase: ctx.phase,
                index,
                conversation_index,
                turn_index: 0,
                session_num,
                issued_ns,
            },
            conversation_id: ctx.prepared.conversations[conversation_index]
                .session_id
                .clone(),
            x_request_id,
            x_correlation_id,
            request_start_ns,
            request_ack_ns: ex.ack_ns,
            response_head_ns: ex.head_ns,
            connection_ready_ns: ex.conn_ready_ns,
            connect_ns: ex.connect_ns,
            connection_reused: ex.reused,
            bytes_sent: ex.bytes_sent,
            request_end_ns: ex.end_ns,
            status: ex.status,
            is_sse: ex.is_sse,
            chunks: ex.chunks,
            error,
            input_tokens: turn.input_tokens,
            max_tokens: turn.max_tokens,
        };
        if ctx.records.send(record).is_err() {
            break; // processor gone: the run is ending
        }
    }
}
