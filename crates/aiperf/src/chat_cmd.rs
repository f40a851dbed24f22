//! `aiperf chat`: an interactive conversation with a server, timing each answer, as AIPerf
//! 0.13's `cli_commands/chat.py` does.
//!
//! Each turn is one streaming Chat Completions request sent by the workspace's own
//! `HttpClient`; the reply is printed as its SSE events arrive (a `FrameWatch` frames and
//! parses each read with the same `SseFramer` and chat parser the profiler uses), then the
//! finished exchange is parsed once more exactly as `aiperf profile` parses a record, and
//! `RecordMetrics::of_success` gives the per-turn TTFT, latency, OSL and ITL, so the numbers
//! are the profiler's own.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aiperf_config::ChatArgs;
use aiperf_core::{one_line, Clock};
use aiperf_dataset::tokenizer::{TextTokenizer, TokenizerError};
use aiperf_endpoints::chat::Chat;
use aiperf_endpoints::{output_texts, parse_responses, Endpoint, ParsedResponse};
use aiperf_metrics::record::RecordMetrics;
use aiperf_metrics::RecordInput;
use aiperf_transport::sse::{SseFramer, SseMessage};
use aiperf_transport::{
    redact_url_text, AbortSignal, BaseUrl, Cancel, ClientOptions, ConnChoice, Exchange, FrameWatch,
    HttpClient, RequestSpec,
};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::{json, Value};

/// AIPerf's `AIPERF_CHAT_CONNECT_TIMEOUT` default (seconds).
const CONNECT_TIMEOUT_S: f64 = 10.0;
/// AIPerf's `AIPERF_CHAT_READ_TIMEOUT` default: the longest stall between two body reads.
const READ_TIMEOUT_S: f64 = 300.0;

/// Runs the subcommand.
pub fn run(args: &ChatArgs) -> ExitCode {
    // Before the runtime: a Hub download blocks on a runtime of its own.
    let tokenizer = match load_tokenizer(args.tokenizer.as_deref(), &args.model) {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    match rt.block_on(chat(args, tokenizer)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("Error running aiperf chat: {message}");
    ExitCode::from(1)
}

/// Everything a turn needs, set up once.
struct Session {
    client: HttpClient,
    clock: Clock,
    path: String,
    headers: HeaderMap,
    model: String,
    tokenizer: TextTokenizer,
    connect_timeout: Duration,
    read_timeout: Duration,
}

async fn chat(args: &ChatArgs, tokenizer: TextTokenizer) -> Result<(), String> {
    let session = Session::open(args, tokenizer).await?;
    let system: Vec<Value> = args
        .system_prompt
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| json!({"role": "system", "content": s}))
        .collect();
    if let Some(message) = &args.quick {
        let messages = turn_messages(&system, &[], message);
        return session.turn(messages).await.map(|_| ());
    }
    repl(&session, &system, args.history || !args.no_history).await;
    Ok(())
}

/// The interactive loop: one line of stdin per turn until end of input. A failed turn is
/// reported and the loop goes on, as AIPerf's does.
async fn repl(session: &Session, system: &[Value], keep_history: bool) {
    println!("Please enter a message for the chat model (Ctrl-D to exit):");
    let mut history: Vec<Value> = Vec::new();
    let mut lines = std::io::stdin().lock().lines();
    loop {
        print!("> ");
        let _ = std::io::stdout().flush();
        let Some(Ok(message)) = lines.next() else {
            println!();
            return;
        };
        match session
            .turn(turn_messages(system, &history, &message))
            .await
        {
            Ok(reply) if keep_history => {
                history.push(json!({"role": "user", "content": message}));
                history.push(json!({"role": "assistant", "content": reply}));
            }
            Ok(_) => {}
            Err(e) => eprintln!("request failed: {e}"),
        }
    }
}

/// System prompt, earlier turns (none under `--no-history`), then the new user message.
fn turn_messages(system: &[Value], history: &[Value], message: &str) -> Vec<Value> {
    let user = json!({"role": "user", "content": message});
    system
        .iter()
        .chain(history)
        .cloned()
        .chain([user])
        .collect()
}

/// The request path for a base URL as AIPerf resolves it: a full `/chat/completions` path as
/// given, a `/v1` base gets `/chat/completions`, anything else `/v1/chat/completions`.
pub fn chat_path(url: &BaseUrl) -> String {
    let prefix = url.prefix.as_str();
    let mut path = if prefix.ends_with("/chat/completions") {
        prefix.to_string()
    } else if prefix.ends_with("/v1") {
        format!("{prefix}/chat/completions")
    } else {
        format!("{prefix}/v1/chat/completions")
    };
    if !url.query.is_empty() {
        path.push('?');
        path.push_str(&url.query);
    }
    path
}

/// Seconds from an `AIPERF_CHAT_*` variable, else the default.
fn env_secs(var: &str, default: f64) -> Result<Duration, String> {
    let secs = match std::env::var(var) {
        Ok(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0)
            .ok_or_else(|| format!("{var}='{v}' is not a positive number of seconds"))?,
        Err(_) => default,
    };
    Ok(Duration::from_secs_f64(secs))
}

/// `--api-key`, else `$OPENAI_API_KEY`, as a sensitive `Authorization: Bearer` value.
fn auth_header(api_key: Option<&str>) -> Result<Option<HeaderValue>, String> {
    let env = std::env::var("OPENAI_API_KEY").ok();
    let Some(key) = api_key.or(env.as_deref()).filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    let (_, value) = Chat
        .auth_headers(key)
        .into_iter()
        .next()
        .ok_or("--api-key: no credential header")?;
    let mut v = HeaderValue::from_str(&value)
        .map_err(|_| "--api-key: contains characters not allowed in an HTTP header")?;
    v.set_sensitive(true);
    Ok(Some(v))
}

/// The tokenizer as `aiperf profile` loads one: `--tokenizer` must load; the model's name
/// falls back to the built-in o200k_base with a warning when it is not a tokenizer (only an
/// `org/name` model is looked up on the Hub: served aliases are not repos).
fn load_tokenizer(tokenizer: Option<&str>, model: &str) -> Result<TextTokenizer, String> {
    let hub = aiperf_hub::HubConfig::from_env();
    let hub_id =
        |name: &str| aiperf_hub::is_repo_id(name) && (tokenizer.is_some() || name.contains('/'));
    let load = |name: &str| match TextTokenizer::load(name, "main") {
        Err(TokenizerError::NotFound { .. }) if hub_id(name) => {
            let path = aiperf_hub::tokenizer_json(&hub, name, "main").map_err(|e| e.to_string())?;
            TextTokenizer::from_path(&path, name).map_err(|e| e.to_string())
        }
        Err(TokenizerError::NotFound { .. }) => Err(format!(
            "'{name}' is not a local tokenizer, not in the Hugging Face cache, and not an \
             'org/name' Hub id"
        )),
        other => other.map_err(|e| e.to_string()),
    };
    if let Some(name) = tokenizer {
        return load(name).map_err(|e| format!("--tokenizer {name}: {e}"));
    }
    load(model).or_else(|reason| {
        eprintln!(
            "warning: no tokenizer for model '{model}': {reason}. Token counts use the built-in \
             o200k_base tokenizer; pass --tokenizer to choose"
        );
        TextTokenizer::builtin_instead_of_because(model, reason).map_err(|e| e.to_string())
    })
}

impl Session {
    async fn open(args: &ChatArgs, tokenizer: TextTokenizer) -> Result<Self, String> {
        let url = BaseUrl::parse(&args.url)
            .map_err(|e| format!("--url '{}': {e}", redact_url_text(&args.url)))?;
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(auth) = auth_header(args.api_key.as_deref())? {
            headers.insert(http::header::AUTHORIZATION, auth);
        }
        let clock = Clock::start();
        let client = HttpClient::with_options(&url, clock, &ClientOptions::default())
            .await
            .map_err(|e| format!("--url {url}: {}", one_line(&e)))?;
        Ok(Self {
            client,
            clock,
            path: chat_path(&url),
            headers,
            model: args.model.clone(),
            tokenizer,
            connect_timeout: env_secs("AIPERF_CHAT_CONNECT_TIMEOUT", CONNECT_TIMEOUT_S)?,
            read_timeout: env_secs("AIPERF_CHAT_READ_TIMEOUT", READ_TIMEOUT_S)?,
        })
    }

    /// One streamed turn: prints the reply live and the stats block; returns the reply text
    /// (the reasoning when there was no content) for the history.
    async fn turn(&self, messages: Vec<Value>) -> Result<String, String> {
        let body = json!({
            "messages": messages,
            "model": self.model,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        let start_ns = self.clock.now_ns();
        let ex = self.send(Bytes::from(body.to_string())).await;
        let responses = self.check(&ex)?;
        println!();
        let (out, reasoning) = output_texts(&responses);
        let stats = Stats::of(self, start_ns, &ex, &responses, &out, &reasoning);
        println!("{}", stats.render());
        Ok(if out.is_empty() { reasoning } else { out })
    }

    /// Sends the request with a live printer attached; a stall longer than the read timeout
    /// (or no connection within the connect timeout) aborts it.
    async fn send(&self, body: Bytes) -> Exchange {
        let activity = Arc::new(AtomicU64::new(0));
        let mut printer = LivePrinter::new(activity.clone(), self.clock);
        let spec = RequestSpec {
            method: Method::POST,
            path: &self.path,
            headers: &self.headers,
            extra_headers: request_ids(),
            body,
            conn: ConnChoice::Pooled,
            watch: Some(&mut printer),
        };
        let abort = AbortSignal::default();
        let far = Instant::now() + Duration::from_secs(365 * 86_400);
        let send = self.client.send(
            spec,
            far,
            f64::INFINITY,
            Cancel {
                after: None,
                abort: Some(&abort),
            },
        );
        tokio::pin!(send);
        let start = self.clock.now_ns();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tokio::select! {
                ex = &mut send => return ex,
                _ = tick.tick() => self.watchdog(&abort, start, activity.load(Ordering::Relaxed)),
            }
        }
    }

    /// Fires `abort` when the first read is later than connect + read timeouts, or a later
    /// read is more than the read timeout after the previous one.
    fn watchdog(&self, abort: &AbortSignal, start_ns: u64, last_read_ns: u64) {
        let now = self.clock.now_ns();
        let (since, limit) = if last_read_ns == 0 {
            (start_ns, self.connect_timeout + self.read_timeout)
        } else {
            (last_read_ns, self.read_timeout)
        };
        if now.saturating_sub(since) > limit.as_nanos() as u64 {
            abort
                .fire("the server sent nothing within the read timeout (AIPERF_CHAT_READ_TIMEOUT)");
        }
    }

    /// The exchange's content responses, or one line saying why there are none.
    fn check(&self, ex: &Exchange) -> Result<Vec<ParsedResponse>, String> {
        if let Some(e) = &ex.error {
            let hint = e.hint(false);
            let target = self.client.target();
            return Err(format!("{target}: {}{hint}", one_line(e)));
        }
        let status = ex.status.unwrap_or(0);
        if !(200..300).contains(&status) {
            return Err(http_error(status, ex));
        }
        parse_responses(&Chat, ex.is_sse, &ex.chunks)
            .map(|p| p.responses)
            .map_err(|e| format!("{}: {}", e.kind, e.message))
    }
}

/// `HTTP 404 Not Found: <first 500 characters of the body>`: OpenAI-compatible servers put
/// the real diagnostic (unknown model, context too long) in the body.
fn http_error(status: u16, ex: &Exchange) -> String {
    let body: Vec<u8> = ex
        .chunks
        .iter()
        .flat_map(|c| c.data.iter().copied())
        .collect();
    let text = String::from_utf8_lossy(&body);
    let detail: String = text
        .chars()
        .take(500)
        .collect::<String>()
        .trim()
        .replace(['\r', '\n'], " ");
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let head = format!("HTTP {status} {reason}").trim_end().to_string();
    if detail.is_empty() {
        head
    } else {
        format!("{head}: {detail}")
    }
}

fn request_ids() -> [(HeaderName, HeaderValue); 2] {
    let id = uuid::Uuid::new_v4().to_string();
    let value = HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("aiperf-chat"));
    [
        (HeaderName::from_static("x-request-id"), value.clone()),
        (HeaderName::from_static("x-correlation-id"), value),
    ]
}

/// Prints reasoning and content as each SSE event arrives (the request's own task calls it
/// per body read) and stamps the read for the stall watchdog.
struct LivePrinter {
    framer: SseFramer,
    messages: Vec<SseMessage>,
    activity: Arc<AtomicU64>,
    clock: Clock,
}

impl LivePrinter {
    fn new(activity: Arc<AtomicU64>, clock: Clock) -> Self {
        Self {
            framer: SseFramer::new(),
            messages: Vec::new(),
            activity,
            clock,
        }
    }
}

impl FrameWatch for LivePrinter {
    fn frame(&mut self, data: &[u8]) -> bool {
        let now = self.clock.now_ns().max(1);
        self.activity.store(now, Ordering::Relaxed);
        self.framer.push(now, data, &mut self.messages);
        let mut out = std::io::stdout().lock();
        for m in self.messages.drain(..) {
            let Some(text) = m
                .data
                .as_deref()
                .filter(|t| !t.is_empty() && *t != "[DONE]")
            else {
                continue;
            };
            if let (Some(d), _) = Chat.parse_event(text, false) {
                let _ = out.write_all(d.reasoning_text().as_bytes());
                let _ = out.write_all(d.output_text().as_bytes());
            }
        }
        let _ = out.flush();
        false
    }
}

/// The per-turn numbers, from the profiler's own per-request formulas.
struct Stats {
    metrics: Option<RecordMetrics>,
    reasoning_tokens: Option<u64>,
}

impl Stats {
    fn of(
        s: &Session,
        start_ns: u64,
        ex: &Exchange,
        responses: &[ParsedResponse],
        out: &str,
        reasoning: &str,
    ) -> Self {
        let count = |t: &str| (!t.is_empty()).then(|| s.tokenizer.count(t) as u64);
        let content: Vec<&ParsedResponse> = responses.iter().filter(|r| r.data.is_some()).collect();
        let content_ns: Vec<u64> = content.iter().map(|r| r.recv_ns).collect();
        let first_output_ns = content
            .iter()
            .find(|r| r.data.as_ref().is_some_and(|d| !d.output_text().is_empty()))
            .map(|r| r.recv_ns);
        let usage = responses.iter().rev().find_map(|r| r.usage.as_ref());
        let input_tokens = usage
            .and_then(aiperf_metrics::usage::Usage::parse)
            .and_then(|u| u.prompt)
            .map(|p| p as u64);
        let reasoning_tokens = count(reasoning);
        let input = RecordInput {
            credit_issued_ns: start_ns,
            start_ns,
            end_ns: ex.end_ns,
            content_ns: &content_ns,
            first_output_ns,
            input_tokens,
            output_tokens: count(out),
            reasoning_tokens,
            usage,
            ..Default::default()
        };
        Self {
            metrics: RecordMetrics::of_success(&input),
            reasoning_tokens,
        }
    }

    /// AIPerf's stats block: TTFT, TPS, then ITL and the prompt-cache line when known.
    fn render(&self) -> String {
        let Some(m) = &self.metrics else {
            return "(no tokens received)".into();
        };
        let (Some(ttft), Some(latency), Some(osl)) = (
            m.time_to_first_token,
            m.request_latency,
            m.output_sequence_length,
        ) else {
            return "(no tokens received)".into();
        };
        if osl == 0.0 {
            return "(no tokens received)".into();
        }
        let latency_s = latency / 1e9;
        let tps = if latency_s > 0.0 {
            osl / latency_s
        } else {
            0.0
        };
        let mut tokens = format!("{osl} tokens");
        if let Some(r) = self.reasoning_tokens.filter(|r| *r > 0) {
            tokens.push_str(&format!(", {r} reasoning"));
        }
        let mut lines = vec![
            format!("TTFT: {:.2} ms", ttft / 1e6),
            format!("TPS:  {tps:.2} tokens/s ({tokens} in {latency_s:.2}s)"),
        ];
        if let Some(itl) = m.inter_token_latency.filter(|v| *v != 0.0) {
            lines.push(format!(
                "ITL:  {:.2} ms/token (decode {:.2} tokens/s)",
                itl / 1e6,
                1e9 / itl
            ));
        }
        if let (Some(isl), Some(read)) = (
            m.input_sequence_length.filter(|v| *v != 0.0),
            m.usage.prompt_cache_read,
        ) {
            lines.push(format!(
                "Cache: {read}/{isl} prompt tokens cached ({:.1}%)",
                100.0 * read / isl
            ));
        }
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_path_follows_aiperf() {
        let p = |u: &str| chat_path(&BaseUrl::parse(u).unwrap());
        assert_eq!(p("localhost:8000"), "/v1/chat/completions");
        assert_eq!(p("http://h:1/v1/"), "/v1/chat/completions");
        assert_eq!(p("http://h:1/openai"), "/openai/v1/chat/completions");
        assert_eq!(p("http://h:1/x/chat/completions"), "/x/chat/completions");
    }

    #[test]
    fn stats_block_matches_aiperf_format() {
        // 10 tokens, TTFT 50 ms, latency 500 ms: TPS 10 / 0.5 = 20; ITL 450 / 9 = 50 ms.
        let m = RecordMetrics::of_success(&RecordInput {
            content_ns: &[50_000_000, 500_000_000],
            output_tokens: Some(10),
            end_ns: 500_000_000,
            ..Default::default()
        });
        let s = Stats {
            metrics: m,
            reasoning_tokens: None,
        };
        assert_eq!(
            s.render(),
            "TTFT: 50.00 ms\nTPS:  20.00 tokens/s (10 tokens in 0.50s)\n\
             ITL:  50.00 ms/token (decode 20.00 tokens/s)"
        );
    }
}
