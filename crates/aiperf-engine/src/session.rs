//! Sessions: one conversation being sent, turn after turn.
//!
//! A session picks its dataset conversation, model and URL once, keeps one `X-Correlation-ID`,
//! and sends turn k + 1 only after turn k answered. On message-based APIs every later turn
//! carries the earlier messages and the server's actual replies (the reply is parsed when the
//! turn has finished, never per chunk). Timing modes decide *when* each turn goes; this module
//! decides *what* goes.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aiperf_config::resolve::ConnectionReuse;
use aiperf_core::{Credit, ErrorDetails, PreparedTurn, RawRecord};
use aiperf_endpoints::{AsyncJob, JobState};
use aiperf_transport::{Cancel, ConnChoice, Connection, Exchange, RequestSpec, TransportError};
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::Method;
use serde_json::{Map, Value};
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinHandle;

use crate::context::{credit, sleep_until_or_stopped, PhaseContext};
use crate::prefill::FirstToken;

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// One conversation in flight.
pub struct Session {
    pub conversation_index: usize,
    pub session_num: u64,
    target: usize,
    correlation_id: String,
    /// The turn to send next.
    next_turn: usize,
    /// Messages of the last request plus the server's reply: what the next turn starts with.
    history: Vec<Value>,
    /// Input texts so far (user turns and replies), joined by spaces: the next turn's ISL.
    text_so_far: String,
    /// When the last turn finished.
    pub last_end: Option<Instant>,
    /// A `--concurrency` slot, held from the first turn to the last.
    pub permit: Option<OwnedSemaphorePermit>,
    /// Stateful APIs: the id of the last response, sent with the next turn instead of history.
    previous_id: Option<String>,
    /// `sticky-user-sessions`: this conversation's own connection, closed with the session.
    conn: Option<Connection>,
    /// A fork child: starts with its parent's messages, so even its first turn carries them.
    inherited: bool,
    /// Agent graphs: children this session started that a later turn, or its end, waits for.
    children: Vec<Started>,
}

/// What a child session takes over from the parent whose branch started it.
pub struct Inherited {
    pub session_num: u64,
    pub target: usize,
    /// Fork children: the parent's messages and input text so far; empty for spawns.
    pub history: Vec<Value>,
    pub text_so_far: String,
    /// When the branch fired: a child's first-turn delay counts from here.
    pub fired: Instant,
}

impl Session {
    /// A new session on dataset conversation `conversation_index` (or the sampler's pick).
    pub fn start(ctx: &PhaseContext, conversation_index: Option<usize>) -> Self {
        // Numbered as in the whole run, so a shard's sessions sample (and pick models) as the
        // same sessions of a single process would.
        let session_num = ctx
            .shard
            .global(ctx.sessions.fetch_add(1, Ordering::Relaxed));
        let conversation_index =
            conversation_index.unwrap_or_else(|| ctx.prepared.pick(session_num));
        let n_urls = ctx.clients.len().max(1) as u64;
        Self {
            conversation_index,
            session_num,
            target: (session_num % n_urls) as usize,
            correlation_id: uuid::Uuid::new_v4().to_string(),
            next_turn: 0,
            history: Vec::new(),
            text_so_far: String::new(),
            last_end: None,
            permit: None,
            previous_id: None,
            conn: None,
            inherited: false,
            children: Vec::new(),
        }
    }

    /// A child of an agent graph on dataset conversation `conversation`: the parent's session
    /// number (so the same model) and URL, a correlation id of its own.
    pub fn child(conversation: usize, from: Inherited) -> Self {
        Self {
            conversation_index: conversation,
            session_num: from.session_num,
            target: from.target,
            correlation_id: uuid::Uuid::new_v4().to_string(),
            next_turn: 0,
            inherited: !from.history.is_empty() || !from.text_so_far.is_empty(),
            history: from.history,
            text_so_far: from.text_so_far,
            last_end: Some(from.fired),
            permit: None,
            previous_id: None,
            conn: None,
            children: Vec::new(),
        }
    }

    fn turns<'c>(&self, ctx: &'c PhaseContext) -> &'c [PreparedTurn] {
        ctx.prepared
            .turns_of(self.session_num, self.conversation_index)
    }

    /// The turn to send next, if any is left.
    pub fn next<'c>(&self, ctx: &'c PhaseContext) -> Option<&'c PreparedTurn> {
        self.turns(ctx).get(self.next_turn)
    }

    /// Whether the next turn (if any) is not the first.
    pub fn is_continuation(&self) -> bool {
        self.next_turn > 0
    }

    /// Sleeps the next turn's think time, counted from when the previous turn finished, or,
    /// for a turn that joins children still running, from when the last of them finished (as
    /// AIPerf times a gated turn from the join's release).
    pub async fn wait_delay(&mut self, ctx: &PhaseContext) {
        if let Some(released) = self.await_children(Some(self.next_turn)).await {
            self.last_end = self.last_end.max(Some(released));
        }
        let Some(ms) = self.next(ctx).and_then(|t| t.delay_ms) else {
            return;
        };
        let from = self.last_end.unwrap_or_else(Instant::now);
        // A recorded think time can be anything a file says: past a century is "never" (the
        // phase's stop still wakes the session).
        const NEVER: Duration = Duration::from_secs(100 * 365 * 86_400);
        let wait = Duration::try_from_secs_f64(ms / 1e3).map_or(NEVER, |d| d.min(NEVER));
        sleep_until_or_stopped(ctx, from + wait).await;
    }

    /// Whether turns of this conversation carry the earlier ones (a fork child's carry its
    /// parent's too).
    fn carries_history(&self, ctx: &PhaseContext) -> bool {
        ctx.prepared.carries_history
            && !ctx.prepared.conversations[self.conversation_index].independent_turns
            && (self.turns(ctx).len() > 1 || self.inherited)
    }

    /// Agent graphs: starts the children of the branches fired `after` turn (pre-session
    /// branches are started once per phase instead: [`start_pre_session`]). Fork children
    /// take the messages so far.
    fn fire_branches(&mut self, ctx: &Arc<PhaseContext>, after: usize) {
        let Some(dag) = &ctx.prepared.dag else {
            return;
        };
        let fired = Instant::now();
        for b in &dag.branches[self.conversation_index] {
            if b.after_turn != Some(after) {
                continue;
            }
            let tasks = b
                .children
                .iter()
                .map(|&child| {
                    let fork = b.mode == aiperf_core::BranchMode::Fork;
                    let from = Inherited {
                        session_num: self.session_num,
                        target: self.target,
                        history: if fork {
                            self.history.clone()
                        } else {
                            Vec::new()
                        },
                        text_so_far: if fork {
                            self.text_so_far.clone()
                        } else {
                            String::new()
                        },
                        fired,
                    };
                    spawn_child(ctx, child, from)
                })
                .collect();
            self.children.push(Started {
                join_before: b.join_before,
                background: b.background,
                tasks,
            });
        }
    }

    /// Whether branches fork after `turn` (the parent's messages must then be kept even when
    /// no turn of its own follows).
    fn forks_after(&self, ctx: &PhaseContext, turn: usize) -> bool {
        ctx.prepared.dag.as_ref().is_some_and(|d| {
            d.branches[self.conversation_index]
                .iter()
                .any(|b| b.after_turn == Some(turn) && b.mode == aiperf_core::BranchMode::Fork)
        })
    }

    /// Waits for the children turn `before` joins on, or (`None`) for every child not in the
    /// background: a child counts as finished only with its own joined descendants.
    /// Returns when the last of them finished (`None` when none was waited for).
    pub async fn await_children(&mut self, before: Option<usize>) -> Option<Instant> {
        let (wait, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.children)
            .into_iter()
            .partition(|s| match before {
                Some(turn) => s.join_before == Some(turn),
                None => !s.background,
            });
        self.children = keep;
        let mut released = None;
        for started in wait {
            for task in started.tasks {
                // A child that panicked counts as finished now.
                let end = task.await.unwrap_or_else(|_| Instant::now());
                released = released.max(Some(end));
            }
        }
        released
    }

    /// The body of the next turn: as prepared, with the history spliced in front, or (stateful
    /// APIs) naming the previous response.
    fn body(&self, ctx: &PhaseContext, turn: &PreparedTurn, phase: aiperf_core::Phase) -> Bytes {
        if self.next_turn == 0 && !self.inherited {
            if let Some(b) = self.first_turn_override(ctx, turn, phase) {
                return b;
            }
        }
        let chain = ctx
            .prepared
            .endpoint
            .chain_field()
            .zip(self.previous_id.as_deref());
        if self.history.is_empty() && chain.is_none() {
            return turn.wire.as_ref().unwrap_or(&turn.body).clone();
        }
        let Ok(mut body) = serde_json::from_slice::<Map<String, Value>>(&turn.body) else {
            return turn.body.clone();
        };
        if let Some((field, id)) = chain {
            body.insert(field.to_string(), Value::String(id.to_string()));
        } else if let Some(messages) = ctx.prepared.endpoint.messages_mut(&mut body) {
            messages.splice(0..0, self.history.iter().cloned());
        }
        serde_json::to_vec(&body)
            .map(Bytes::from)
            .unwrap_or_else(|_| turn.body.clone())
    }

    /// `--cache-bust` on a first turn: the warm-up copy in the warm-up phase, else the
    /// conversation's body with this session's own marker (AIPerf mints one per session).
    fn first_turn_override(
        &self,
        ctx: &PhaseContext,
        turn: &PreparedTurn,
        phase: aiperf_core::Phase,
    ) -> Option<Bytes> {
        let p = &ctx.prepared;
        if phase == aiperf_core::Phase::Warmup && !p.warmup_first.is_empty() {
            // The session's own model (`--model-selection-strategy`), as `turns_of` picks it.
            let m = p
                .model_selection
                .model(self.session_num, p.warmup_first.len());
            if let Some(Some(b)) = p.warmup_first[m].get(self.conversation_index) {
                return Some(b.clone());
            }
        }
        let run = p.cache_bust_run.as_deref()?;
        let id = &p.conversations[self.conversation_index].session_id;
        aiperf_dataset::cache_bust::restamp(&turn.body, run, self.session_num, id).map(Bytes::from)
    }

    /// Sends the next turn under `credit` and hands its record on; `false` once the record
    /// processor is gone (the run is over).
    pub async fn send_next(&mut self, ctx: &Arc<PhaseContext>, mut credit: Credit) -> bool {
        if ctx.prepared.dag.is_some() {
            self.await_children(Some(self.next_turn)).await;
        }
        let Some(turn) = self.next(ctx) else {
            return true;
        };
        // Held back (and counted) while the record processor is far behind.
        ctx.records.backlog().wait_for_room().await;
        let history = self.carries_history(ctx);
        credit.session_num = self.session_num;
        credit.conversation_index = self.conversation_index;
        credit.turn_index = self.next_turn;
        if credit.phase == aiperf_core::Phase::Profiling {
            if let Some(c) = ctx.cancellation.filter(|c| c.picks(credit.index)) {
                credit.cancel_after_ns = Some(c.delay_ns);
            }
        }
        let body = self.body(ctx, turn, credit.phase);
        // `--prefill-concurrency`: wait for a slot; the first token (or the end) frees it.
        let mut first_token = match &ctx.prefill {
            Some(gate) => {
                let slot = tokio::select! {
                    slot = gate.take() => slot,
                    _ = ctx.abort.fired() => None,
                };
                match slot {
                    Some(slot) => Some(FirstToken::new(slot, ctx.prepared.endpoint.clone())),
                    // Aborted before it was sent: nothing went out, so no record is owed.
                    None => return true,
                }
            }
            None => None,
        };
        let x_request_id = uuid::Uuid::new_v4().to_string();
        let header = |v: &str| HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("0"));
        let spec = RequestSpec {
            method: Method::POST,
            path: &ctx.prepared.paths[self.target],
            headers: &ctx.prepared.headers,
            extra_headers: [
                (X_REQUEST_ID.clone(), header(&x_request_id)),
                (
                    ctx.prepared.session_header.clone(),
                    header(&self.correlation_id),
                ),
            ],
            body: body.clone(),
            conn: match ctx.prepared.connection_reuse {
                ConnectionReuse::Pooled => ConnChoice::Pooled,
                ConnectionReuse::Never => ConnChoice::Fresh,
                ConnectionReuse::StickyUserSessions => ConnChoice::Sticky(&mut self.conn),
            },
            watch: first_token
                .as_mut()
                .map(|w| w as &mut dyn aiperf_transport::FrameWatch),
        };
        ctx.in_flight.fetch_add(1, Ordering::Relaxed);
        ctx.sent.fetch_add(1, Ordering::Relaxed);
        let request_start_ns = ctx.clock.now_ns();
        let deadline = Instant::now() + ctx.timeout;
        let cancel = Cancel {
            after: credit.cancel_after_ns.map(Duration::from_nanos),
            abort: Some(&ctx.abort),
        };
        let ex = ctx.clients[self.target]
            .send(spec, deadline, ctx.timeout.as_secs_f64(), cancel)
            .await;
        let (ex, job_error) = match ctx.prepared.endpoint.job() {
            Some(job) => self.follow_job(ctx, job, ex, deadline).await,
            None => (ex, None),
        };
        ctx.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.last_end = Some(Instant::now());
        let error = ex
            .error
            .map(|e| ErrorDetails::new(e.code(), e.kind(), e.to_string()))
            .or(job_error);
        // Later turns count their whole input (history included) off the request path.
        let input_text = if history && (self.next_turn > 0 || self.inherited) {
            let mut text = std::mem::take(&mut self.text_so_far);
            text.push(' ');
            text.push_str(&turn.input_text);
            let shared: Arc<str> = text.as_str().into();
            self.text_so_far = text;
            Some(shared)
        } else {
            if history {
                self.text_so_far = turn.input_text.to_string();
            }
            None
        };
        let max_tokens = turn.max_tokens;
        let sent_turn = self.next_turn;
        self.next_turn += 1;
        let forks = self.forks_after(ctx, sent_turn);
        if forks && !history {
            self.text_so_far = turn.input_text.to_string();
        }
        if (history && self.next(ctx).is_some()) || forks {
            let ok = error.is_none() && ex.status.is_some_and(|s| (200..300).contains(&s));
            let reply = ok.then(|| reply_text(ctx, ex.is_sse, &ex.chunks)).flatten();
            if ctx.prepared.endpoint.chain_field().is_some() {
                self.previous_id = ok
                    .then(|| response_id(ctx, ex.is_sse, &ex.chunks))
                    .flatten();
            }
            self.remember(ctx, &body, reply);
        }
        let record = RawRecord {
            credit,
            conversation_id: ctx.prepared.conversations[self.conversation_index]
                .session_id
                .clone(),
            x_request_id,
            x_correlation_id: self.correlation_id.clone(),
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
            input_text,
            max_tokens,
            // The exact bytes sent (a refcount on the prepared body, or the history-spliced
            // buffer): what the raw export writes and the chat template counts.
            sent_body: Some(body),
        };
        let alive = ctx.records.send(record);
        if alive && ctx.prepared.dag.is_some() {
            self.fire_branches(ctx, sent_turn);
        }
        alive
    }

    /// Asynchronous jobs: polls the submitted job until it finishes (and with
    /// `--download-video-content` fetches its content). The exchange keeps the submission's
    /// send timings and takes the last poll's status, body and end.
    async fn follow_job(
        &self,
        ctx: &PhaseContext,
        job: &dyn AsyncJob,
        mut ex: Exchange,
        deadline: Instant,
    ) -> (Exchange, Option<ErrorDetails>) {
        let submit_path = ctx.prepared.paths[self.target]
            .split('?')
            .next()
            .unwrap_or_default()
            .to_string();
        let mut fetched_content = false;
        loop {
            if ex.error.is_some() || !ex.status.is_some_and(|s| (200..300).contains(&s)) {
                return (ex, None);
            }
            let body: Vec<u8> = ex
                .chunks
                .iter()
                .flat_map(|c| c.data.iter().copied())
                .collect();
            if fetched_content {
                return (ex, None);
            }
            let Some((id, state)) = job.status(&String::from_utf8_lossy(&body)) else {
                return (ex, None); // not a job document: the processor judges the body
            };
            let path = match state {
                JobState::Failed(message) => {
                    return (ex, Some(ErrorDetails::new(None, "JobFailedError", message)))
                }
                JobState::Done if !ctx.prepared.download_content => return (ex, None),
                JobState::Done => {
                    fetched_content = true;
                    job.content_path(&submit_path, &id)
                }
                JobState::Running => {
                    let next = Instant::now() + ctx.prepared.job_poll;
                    if next >= deadline {
                        ex.error = Some(TransportError::Timeout(ctx.timeout.as_secs_f64()));
                        return (ex, None);
                    }
                    sleep_until_or_stopped(ctx, next).await;
                    if let Some(reason) = ctx.abort.reason() {
                        ex.error = Some(TransportError::Aborted(reason));
                        return (ex, None);
                    }
                    job.status_path(&submit_path, &id)
                }
            };
            let spec = RequestSpec {
                method: Method::GET,
                path: &path,
                headers: &ctx.prepared.headers,
                extra_headers: [
                    (X_REQUEST_ID.clone(), HeaderValue::from_static("job-poll")),
                    (
                        ctx.prepared.session_header.clone(),
                        HeaderValue::from_str(&self.correlation_id)
                            .unwrap_or(HeaderValue::from_static("0")),
                    ),
                ],
                body: Bytes::new(),
                conn: match ctx.prepared.connection_reuse {
                    ConnectionReuse::Never => ConnChoice::Fresh,
                    _ => ConnChoice::Pooled,
                },
                watch: None,
            };
            let poll = ctx.clients[self.target]
                .send(
                    spec,
                    deadline,
                    ctx.timeout.as_secs_f64(),
                    Cancel {
                        after: None,
                        abort: Some(&ctx.abort),
                    },
                )
                .await;
            ex.status = poll.status;
            ex.is_sse = poll.is_sse;
            ex.chunks = poll.chunks;
            ex.end_ns = poll.end_ns;
            ex.error = poll.error;
        }
    }

    /// Keeps the messages just sent plus the reply as the next turn's history. A failed turn
    /// leaves no assistant message (the next user message follows directly).
    fn remember(&mut self, ctx: &PhaseContext, sent: &[u8], reply: Option<String>) {
        if self.previous_id.is_some() {
            // The server holds the conversation; only the input count grows.
            if let Some(text) = reply {
                self.text_so_far.push(' ');
                self.text_so_far.push_str(&text);
            }
            return;
        }
        let Ok(mut body) = serde_json::from_slice::<Map<String, Value>>(sent) else {
            return;
        };
        let Some(messages) = ctx.prepared.endpoint.messages_mut(&mut body) else {
            return;
        };
        self.history = std::mem::take(messages);
        if let Some(text) = reply {
            self.text_so_far.push(' ');
            self.text_so_far.push_str(&text);
            self.history
                .push(serde_json::json!({"role": "assistant", "content": text}));
        }
    }
}

/// Children a session started and may still wait for.
#[derive(Debug)]
pub struct Started {
    pub join_before: Option<usize>,
    pub background: bool,
    /// Each child's task, returning when the child (with its joined descendants) finished.
    pub tasks: Vec<JoinHandle<Instant>>,
}

/// Pre-session branches, as AIPerf dispatches them: once per profiling phase, for every root
/// conversation (sampled or not), before the first root turn; later sessions of a root do not
/// start them again. Their children belong to no session: the first URL and model.
pub fn start_pre_session(ctx: &Arc<PhaseContext>) {
    let Some(dag) = &ctx.prepared.dag else {
        return;
    };
    // Once per phase of the whole run: the first shard starts them.
    if ctx.phase != aiperf_core::Phase::Profiling || ctx.shard.index != 0 {
        return;
    }
    let fired = std::time::Instant::now();
    for &root in &dag.roots {
        for b in dag.branches[root].iter().filter(|b| b.after_turn.is_none()) {
            for &child in &b.children {
                let from = Inherited {
                    session_num: 0,
                    target: 0,
                    history: Vec::new(),
                    text_so_far: String::new(),
                    fired,
                };
                // Nothing joins a pre-session child; the phase waits for it.
                drop(spawn_child(ctx, child, from));
            }
        }
    }
}

/// Starts child conversation `conversation` of a session as a task of its own. Children hold no
/// `--concurrency` slot (as in AIPerf), take credits from the same issuer (so stop conditions
/// hold them too), keep the parent's session number (model) and URL; a child counts as
/// finished once its last turn answered and its own children that are not in the background
/// finished too.
pub fn spawn_child(
    ctx: &Arc<PhaseContext>,
    conversation: usize,
    from: Inherited,
) -> JoinHandle<Instant> {
    let live = crate::context::LiveChild::new(ctx);
    let ctx = ctx.clone();
    tokio::spawn(async move {
        let _live = live;
        let mut session = Session::child(conversation, from);
        loop {
            // The first turn's delay counts from the branch firing, later ones from the
            // previous answer (`last_end`).
            session.wait_delay(&ctx).await;
            let now = ctx.clock.now_ns();
            let Some(index) = ctx.issuer.try_issue(now) else {
                break;
            };
            if !session
                .send_next(&ctx, credit(ctx.phase, index, now, None))
                .await
            {
                break;
            }
            if session.next(&ctx).is_none() {
                break;
            }
        }
        session.await_children(None).await;
        Instant::now()
    })
}

/// The id of a finished response (stateful APIs): from the whole body, or the first stream
/// event that carries one.
fn response_id(ctx: &PhaseContext, is_sse: bool, chunks: &[aiperf_core::Chunk]) -> Option<String> {
    let endpoint = &*ctx.prepared.endpoint;
    if !is_sse {
        let body: Vec<u8> = chunks.iter().flat_map(|c| c.data.iter().copied()).collect();
        return endpoint.response_id(&String::from_utf8_lossy(&body));
    }
    aiperf_transport::sse::frame_all(chunks.iter().map(|c| (c.recv_ns, &c.data[..])))
        .iter()
        .filter_map(|m| m.data.as_deref())
        .find_map(|d| endpoint.response_id(d))
}

/// The output text of a finished response (SSE or not), as the metrics stage would read it.
fn reply_text(ctx: &PhaseContext, is_sse: bool, chunks: &[aiperf_core::Chunk]) -> Option<String> {
    let parsed = aiperf_endpoints::parse_responses(&*ctx.prepared.endpoint, is_sse, chunks).ok()?;
    Some(aiperf_endpoints::output_texts(&parsed.responses).0)
}
