//! What the dataset stage produces: conversations of turns, and turns prepared for sending.

use bytes::Bytes;

/// One user turn of a conversation, before it is rendered for an endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Turn {
    /// Text inputs (usually one prompt; several for batched endpoints; the passages of a
    /// rankings turn that has a `query`).
    pub texts: Vec<String>,
    /// The query of a rankings turn (dataset texts named `query`/`queries`); without one,
    /// rankings endpoints take the first text as the query.
    pub query: Option<String>,
    /// Images: URLs or `data:image/...;base64,` URIs, sent as `image_url` content parts.
    pub images: Vec<String>,
    /// vLLM's multimodal cache ids (`image_uuids`), one per image when given (empty: none).
    /// An image whose content is empty is a cache reference the server resolves by its id.
    pub image_uuids: Vec<String>,
    /// Audio clips as `"<format>,<base64>"` (AIPerf's encoding), sent as `input_audio` parts.
    pub audios: Vec<String>,
    /// Videos: URLs or `data:video/...;base64,` URIs, sent as `video_url` content parts.
    pub videos: Vec<String>,
    /// Verbatim OpenAI message list (trace rows with `messages`): replaces the rendered user
    /// message on message-based APIs.
    pub messages: Option<Vec<serde_json::Value>>,
    /// Verbatim request body (trace rows with `payload`): sent as it is, whatever the endpoint.
    pub payload: Option<serde_json::Map<String, serde_json::Value>>,
    /// Output length to request (`max_completion_tokens` / `max_tokens`), if any.
    pub max_tokens: Option<u32>,
    /// Role of the message (`user` when absent).
    pub role: Option<String>,
    /// Per-turn fields merged last into the request body.
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
    /// Absolute send time from a trace, in milliseconds (fixed-schedule replay).
    pub timestamp_ms: Option<f64>,
    /// Wait this long after the previous turn's response before sending (ms).
    pub delay_ms: Option<f64>,
}

/// A conversation: what one session sends, turn after turn. Turn k is sent only after turn
/// k - 1 answered, and on message-based APIs it carries every earlier turn with the server's
/// actual replies.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Conversation {
    pub session_id: String,
    /// System message sent before the first user message (`--system-prompt`,
    /// `--shared-system-prompt-length`, a hoisted `role: system` turn).
    pub system: Option<String>,
    /// Per-session context message after the system message (`--user-context-prompt-length`).
    pub user_context: Option<String>,
    pub turns: Vec<Turn>,
    /// Turns are sent in order but each on its own, without earlier turns as history
    /// (`single_turn` rows that share a `session_id`).
    pub independent_turns: bool,
    /// Agent graphs (`dag_jsonl`, agentic traces): the branches this conversation starts and
    /// whether it is a root. `None` for every other dataset.
    pub dag: Option<Box<Dag>>,
}

/// A conversation's place in an agent graph (AIPerf's `ConversationBranchInfo` and
/// `SPAWN_JOIN` prerequisites, folded into one record per branch).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dag {
    /// Children (`false`) start only when a parent's branch fires; they are never sampled as
    /// sessions of their own and hold no `--concurrency` slot.
    pub root: bool,
    pub branches: Vec<Branch>,
}

/// Children a conversation starts: after one of its turns answered, or before its first.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// AIPerf's deterministic branch id (`<sid>:<turn>`, `<sid>:<turn>:spawn2`, `<sid>:pre`).
    pub id: String,
    /// The turn whose answer fires the branch; `None` fires it before the first turn
    /// (pre-session spawn).
    pub after_turn: Option<usize>,
    pub mode: BranchMode,
    /// The children's `session_id`s (conversations of the same dataset).
    pub children: Vec<String>,
    /// Fire and forget: nothing waits for these children (the phase still does).
    pub background: bool,
    /// The turn that is sent only once every child (and the children's own joined
    /// descendants) finished; `None` when no turn waits.
    pub join_before: Option<usize>,
}

/// How a child starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchMode {
    /// The child continues the parent's conversation: it starts with every message the
    /// parent sent and received up to the branching turn.
    Fork,
    /// The child starts a fresh conversation. A child's first-turn `delay_ms` counts from
    /// the moment the branch fired (the recorded spawn-to-first-request gap).
    Spawn,
}

impl Conversation {
    /// A single-turn conversation.
    pub fn single(session_id: String, turn: Turn) -> Self {
        Self {
            session_id,
            turns: vec![turn],
            ..Default::default()
        }
    }
}

/// A turn rendered into its exact request body, ready to be sent many times.
///
/// Built once before the run so the hot path only clones a reference-counted buffer. Turns
/// after the first get the conversation history spliced in at send time.
#[derive(Debug, Clone)]
pub struct PreparedTurn {
    /// Exact JSON body sent on the wire (for turn 0 of a conversation it includes the system
    /// and user-context messages; later turns hold only their own message).
    pub body: Bytes,
    /// The body as sent when the endpoint does not send JSON (`multipart/form-data`);
    /// `body` stays the JSON form that `inputs.json` shows.
    pub wire: Option<Bytes>,
    /// The texts whose tokens make up this turn's input sequence, joined by spaces.
    pub input_text: std::sync::Arc<str>,
    /// Their token count, computed once when first needed (by the record processor, off the
    /// request path) or known up front (synthetic prompts of exact length).
    pub input_tokens: std::sync::OnceLock<u32>,
    /// Output length requested, if any.
    pub max_tokens: Option<u32>,
    /// Wait before sending, after the previous turn answered (ms).
    pub delay_ms: Option<f64>,
    /// Absolute trace time (ms), for fixed-schedule replay of later turns.
    pub timestamp_ms: Option<f64>,
}
