//! `--apply-chat-template`: the tokenizer's own chat template, as AIPerf 0.13 uses it.
//!
//! - Input length: the messages of each sent body are rendered through the template with
//!   `add_generation_prompt=True`, and the rendered text is counted without special tokens
//!   (`apply_chat_template(messages, tokenize=True, add_generation_prompt=True)`), plus the tool
//!   texts the messages do not carry (`records/inference_result_parser.py`). Bodies without a
//!   message list (completions, embeddings, rankings) and bodies the template cannot render are
//!   counted as without the flag.
//! - Synthetic prompts are shortened by the template's estimated wrapping so the templated
//!   prompt hits `--isl` (`dataset/composer/base.py::_estimate_chat_template_overheads`).
//! - A tokenizer without a chat template turns the flag into a no-op, as in AIPerf (which says
//!   nothing; here one warning says so).
//!
//! Templates come from `tokenizer_config.json` (`chat_template`: a string, or a list of
//! `{name, template}` of which `default` is used) or `chat_template.jinja` next to
//! `tokenizer.json` (which wins, as in `transformers`), and are rendered with minijinja set up
//! like `transformers`' sandbox: `trim_blocks`, `lstrip_blocks`, loop controls, `tojson` as
//! Python's `json.dumps`, `raise_exception`, `strftime_now`, Python string/dict methods.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use minijinja::value::{Enumerator, Kwargs, Object, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};
use serde_json::Value as Json;

use crate::tokenizer::TextTokenizer;

/// The special-token variables `transformers` passes to every template
/// (`SPECIAL_TOKENS_ATTRIBUTES`), when the tokenizer defines them.
const SPECIAL_TOKENS: [&str; 7] = [
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
];

/// The conversations AIPerf renders to estimate the template's wrapping.
const PROBE_SAMPLES: [&str; 3] = [
    "Hello, how are you today?",
    "Could you write a Python function to reverse a string?",
    "What's the difference between TCP and UDP in networking?",
];

/// Why a chat template could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ChatTemplateError {
    #[error("cannot read '{path}': {reason}")]
    Read { path: PathBuf, reason: String },
    #[error(
        "'{path}' has several chat templates and none named 'default' (it has: {names}); \
         transformers refuses it without a template name"
    )]
    NoDefault { path: PathBuf, names: String },
    #[error("the chat template of '{path}' does not compile: {reason}")]
    Syntax { path: PathBuf, reason: String },
}

/// Tokens the template adds around a conversation, as AIPerf estimates them: `per_request`
/// once per request (the generation prompt), `per_message` around every message (role header,
/// end of turn). `bos` is what the tokenizer's post-processor prepends, which AIPerf takes off
/// the ISL mean separately.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TemplateOverhead {
    pub per_request: usize,
    pub per_message: usize,
    pub bos: usize,
}

/// A tokenizer's chat template, ready to render message lists.
pub struct ChatTemplate {
    env: Environment<'static>,
    /// `bos_token`, `eos_token`, ... as the tokenizer config names them.
    special: Vec<(&'static str, String)>,
    /// Where the template was read from (for messages).
    source: PathBuf,
    /// Whether a body that would not render was reported already (once per run is enough).
    warned: AtomicBool,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("source", &self.source)
            .finish()
    }
}

/// The run's chat template when `--apply-chat-template` is set and the tokenizer has one;
/// otherwise `None`, with a warning saying why the flag does nothing (AIPerf's no-op).
pub fn for_run(apply: bool, tokenizer: &TextTokenizer) -> Option<Arc<ChatTemplate>> {
    if !apply {
        return None;
    }
    match ChatTemplate::of_tokenizer(tokenizer) {
        Ok(t) => Some(Arc::new(t)),
        Err(why) => {
            tracing::warn!(
                "--apply-chat-template has no effect: {why}; input lengths count the bare \
                 prompt text"
            );
            None
        }
    }
}

impl ChatTemplate {
    /// The template next to the tokenizer's `tokenizer.json`, or why there is none (one line).
    pub fn of_tokenizer(tokenizer: &TextTokenizer) -> Result<Self, String> {
        let name = tokenizer.name();
        let Some(dir) = tokenizer.source_dir() else {
            return Err(format!(
                "tokenizer '{name}' is the built-in one, which has no chat template"
            ));
        };
        match Self::from_dir(dir) {
            Ok(Some(t)) => Ok(t),
            Ok(None) => Err(format!(
                "tokenizer '{name}' has no chat template (no chat_template in '{}' and no \
                 chat_template.jinja)",
                dir.join("tokenizer_config.json").display()
            )),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The template of a model directory (`chat_template.jinja`, else `tokenizer_config.json`'s
    /// `chat_template`); `None` when it has neither.
    pub fn from_dir(dir: &Path) -> Result<Option<Self>, ChatTemplateError> {
        let config_path = dir.join("tokenizer_config.json");
        let config = read_json(&config_path)?;
        let mut special = config.as_ref().map(special_tokens).unwrap_or_default();
        // Older repos keep the special tokens only in special_tokens_map.json.
        if let Some(map) = read_json(&dir.join("special_tokens_map.json"))? {
            for (name, value) in special_tokens(&map) {
                if !special.iter().any(|(n, _)| *n == name) {
                    special.push((name, value));
                }
            }
        }
        let jinja = dir.join("chat_template.jinja");
        let (source, path) = if jinja.is_file() {
            let text = aiperf_core::textfile::read_to_string(&jinja).map_err(|e| {
                ChatTemplateError::Read {
                    path: jinja.clone(),
                    reason: e.to_string(),
                }
            })?;
            (text, jinja)
        } else {
            match config.as_ref().and_then(|c| c.get("chat_template")) {
                Some(Json::String(s)) => (s.clone(), config_path),
                Some(Json::Array(named)) => {
                    let default = named.iter().find(|t| t["name"] == "default");
                    match default.and_then(|t| t["template"].as_str()) {
                        Some(s) => (s.to_string(), config_path),
                        None => {
                            let names: Vec<&str> =
                                named.iter().filter_map(|t| t["name"].as_str()).collect();
                            return Err(ChatTemplateError::NoDefault {
                                path: config_path,
                                names: names.join(", "),
                            });
                        }
                    }
                }
                _ => return Ok(None),
            }
        };
        Self::new(&source, special, path).map(Some)
    }

    /// A template from its source text and special tokens; `source` names it in messages.
    pub fn new(
        template: &str,
        special: Vec<(&'static str, String)>,
        source: PathBuf,
    ) -> Result<Self, ChatTemplateError> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_filter("tojson", tojson);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime_now);
        env.add_template_owned("chat", without_generation_tags(template))
            .map_err(|e| ChatTemplateError::Syntax {
                path: source.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            env,
            special,
            source,
            warned: AtomicBool::new(false),
        })
    }

    /// Renders `messages` (JSON objects with `role`, `content`, ...) as `apply_chat_template`
    /// does with `tools=None`.
    pub fn render(&self, messages: &[Json], add_generation_prompt: bool) -> Result<String, Error> {
        self.render_with(messages, None, add_generation_prompt)
    }

    /// [`Self::render`] with tool schemas passed to the template as `tools`.
    pub fn render_with(
        &self,
        messages: &[Json],
        tools: Option<&[Json]>,
        add_generation_prompt: bool,
    ) -> Result<String, Error> {
        let mut ctx: Vec<(&str, Value)> = vec![
            (
                "messages",
                Value::from(messages.iter().map(to_value).collect::<Vec<_>>()),
            ),
            ("add_generation_prompt", Value::from(add_generation_prompt)),
            (
                "tools",
                tools.map_or(Value::from(()), |t| {
                    Value::from(t.iter().map(to_value).collect::<Vec<_>>())
                }),
            ),
            ("documents", Value::from(())),
        ];
        for (name, value) in &self.special {
            ctx.push((name, Value::from(value.as_str())));
        }
        self.env.get_template("chat")?.render(Value::from_iter(ctx))
    }

    /// AIPerf's templated input length of a sent request body: the template rendered over its
    /// messages with the generation prompt, counted without special tokens, plus its tool texts
    /// joined with spaces. `None` when the body has no message list or does not render (the
    /// caller then counts as without the flag, as AIPerf falls back to bare text).
    pub fn input_tokens(&self, tokenizer: &TextTokenizer, body: &[u8]) -> Option<u64> {
        let payload: Json = serde_json::from_slice(body).ok()?;
        let extracted = extract(&payload)?;
        if extracted.messages.is_empty() {
            return None;
        }
        let rendered = match self.render(&extracted.messages, true) {
            Ok(r) => r,
            Err(e) => {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "--apply-chat-template: the chat template of '{}' cannot render a \
                         request's messages ({e}); such requests count the bare prompt text",
                        self.source.display()
                    );
                }
                return None;
            }
        };
        let tools = extracted.tool_texts.join(" ");
        Some((tokenizer.count(&rendered) + tokenizer.count(&tools)) as u64)
    }

    /// AIPerf's estimate of the template's wrapping, from three probe conversations: one user
    /// message against user/assistant/user. Zero when a probe does not render or the estimate
    /// comes out negative (skipping compensation beats over-correcting).
    pub fn overhead(&self, tokenizer: &TextTokenizer) -> TemplateOverhead {
        let bos = crate::corpus::special_tokens_added(tokenizer) as usize;
        let mut fixed = 0.0;
        let mut wrap = 0.0;
        for sample in PROBE_SAMPLES {
            let user = serde_json::json!({"role": "user", "content": sample});
            let assistant = serde_json::json!({"role": "assistant", "content": sample});
            let single = self.render(std::slice::from_ref(&user), true);
            let triple = self.render(&[user.clone(), assistant, user], true);
            let (Ok(single), Ok(triple)) = (single, triple) else {
                return TemplateOverhead::default();
            };
            let single = tokenizer.count(&single) as f64;
            let triple = tokenizer.count(&triple) as f64;
            let bare = tokenizer.count(sample) as f64;
            let avg_wrap = (triple - single - 2.0 * bare) / 2.0;
            let per_request = single - bare - avg_wrap - bos as f64;
            if avg_wrap < 0.0 || per_request < 0.0 {
                return TemplateOverhead::default();
            }
            fixed += per_request;
            wrap += avg_wrap;
        }
        let n = PROBE_SAMPLES.len() as f64;
        // Python's round(): halves to even.
        TemplateOverhead {
            per_request: (fixed / n).round_ties_even() as usize,
            per_message: (wrap / n).round_ties_even() as usize,
            bos,
        }
    }

    /// Where the template was read from.
    pub fn source(&self) -> &Path {
        &self.source
    }
}

/// A JSON file's content; `None` when the file does not exist.
fn read_json(path: &Path) -> Result<Option<Json>, ChatTemplateError> {
    if !path.is_file() {
        return Ok(None);
    }
    let read_error = |reason: String| ChatTemplateError::Read {
        path: path.to_path_buf(),
        reason,
    };
    let text =
        aiperf_core::textfile::read_to_string(path).map_err(|e| read_error(e.to_string()))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| read_error(format!("not JSON ({e})")))
}

/// The named special tokens of a tokenizer config: strings, or `AddedToken` objects whose
/// `content` is the token.
fn special_tokens(config: &Json) -> Vec<(&'static str, String)> {
    SPECIAL_TOKENS
        .iter()
        .filter_map(|&name| {
            let token = match config.get(name)? {
                Json::String(s) => s.clone(),
                Json::Object(o) => o.get("content")?.as_str()?.to_string(),
                _ => return None,
            };
            Some((name, token))
        })
        .collect()
}

/// `{% generation %}` blocks (transformers' assistant-mask extension) render their body; as
/// `{% if true %}` minijinja renders them the same, keeping their whitespace control.
fn without_generation_tags(template: &str) -> String {
    static TAGS: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = TAGS.get_or_init(|| {
        regex::Regex::new(r"\{%(-?)\s*(end)?generation\s*(-?)%\}").expect("a valid regex")
    });
    re.replace_all(template, |c: &regex::Captures<'_>| {
        let body = if c.get(2).is_some() {
            "endif"
        } else {
            "if true"
        };
        format!("{{%{} {body} {}%}}", &c[1], &c[3])
    })
    .into_owned()
}

/// `raise_exception(message)`: the template refuses the conversation.
fn raise_exception(message: String) -> Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, message))
}

/// `strftime_now(format)`: local time in a Python strftime format (Llama 3.2+ date lines).
fn strftime_now(format: String) -> Result<String, Error> {
    use chrono::format::{Item, StrftimeItems};
    let items: Vec<Item<'_>> = StrftimeItems::new(&format).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("strftime_now: bad format {format:?}"),
        ));
    }
    Ok(chrono::Local::now()
        .format_with_items(items.into_iter())
        .to_string())
}

/// A JSON object kept in its key order (minijinja's own maps sort keys without its
/// `preserve_order` feature, which would change other crates' templates).
#[derive(Debug)]
struct OrderedMap(Vec<(Value, Value)>);

impl Object for OrderedMap {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.iter().map(|(k, _)| k.clone()).collect())
    }
}

fn to_value(json: &Json) -> Value {
    match json {
        Json::Null => Value::from(()),
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(u)) => Value::from(u),
            _ => Value::from(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(a) => Value::from(a.iter().map(to_value).collect::<Vec<_>>()),
        Json::Object(o) => Value::from_object(OrderedMap(
            o.iter()
                .map(|(k, v)| (Value::from(k.as_str()), to_value(v)))
                .collect(),
        )),
    }
}

/// `tojson`, as transformers overrides it: Python's `json.dumps(x, ensure_ascii=False,
/// indent=None, separators=None, sort_keys=False)`, so `", "` and `": "` between items and no
/// HTML escaping (the templates' expected text depends on it).
fn tojson(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    let ensure_ascii: Option<bool> = kwargs.get("ensure_ascii")?;
    let separators: Option<Vec<String>> = kwargs.get("separators")?;
    kwargs.assert_all_used()?;
    let (item_sep, key_sep) = match separators.as_deref() {
        Some([item, key]) => (item.clone(), key.clone()),
        Some(_) => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "tojson: separators must be (item_separator, key_separator)",
            ))
        }
        None if indent.is_some() => (",".to_string(), ": ".to_string()),
        None => (", ".to_string(), ": ".to_string()),
    };
    let mut out = String::new();
    let opts = DumpOptions {
        indent,
        item_sep: &item_sep,
        key_sep: &key_sep,
        sort_keys: sort_keys.unwrap_or(false),
        ensure_ascii: ensure_ascii.unwrap_or(false),
    };
    dump(value, &opts, 0, &mut out)?;
    Ok(out)
}

struct DumpOptions<'a> {
    indent: Option<usize>,
    item_sep: &'a str,
    key_sep: &'a str,
    sort_keys: bool,
    ensure_ascii: bool,
}

fn dump(v: &Value, o: &DumpOptions<'_>, level: usize, out: &mut String) -> Result<(), Error> {
    let newline = |out: &mut String, level: usize| {
        if let Some(n) = o.indent {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', n * level));
        }
    };
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::Number => match v.as_i64() {
            Some(i) if !is_float(v) => out.push_str(&i.to_string()),
            _ => out.push_str(&float_repr(f64::try_from(v.clone()).unwrap_or(f64::NAN))),
        },
        ValueKind::String => push_string(v.as_str().unwrap_or_default(), o.ensure_ascii, out),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = v.try_iter()?.collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(o.item_sep);
                }
                newline(out, level + 1);
                dump(item, o, level + 1, out)?;
            }
            newline(out, level);
            out.push(']');
        }
        ValueKind::Map => {
            let mut keys: Vec<Value> = v.try_iter()?.collect();
            if keys.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            if o.sort_keys {
                keys.sort();
            }
            out.push('{');
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(o.item_sep);
                }
                newline(out, level + 1);
                // JSON keys are strings; Python's json.dumps turns numbers and booleans into them.
                let k = match key.as_str() {
                    Some(s) => s.to_string(),
                    None => {
                        let mut k = String::new();
                        dump(key, o, level, &mut k)?;
                        k
                    }
                };
                push_string(&k, o.ensure_ascii, out);
                out.push_str(o.key_sep);
                dump(&v.get_item(key)?, o, level + 1, out)?;
            }
            newline(out, level);
            out.push('}');
        }
        _ => push_string(&v.to_string(), o.ensure_ascii, out),
    }
    Ok(())
}

fn is_float(v: &Value) -> bool {
    matches!(
        serde_json::to_value(v),
        Ok(Json::Number(n)) if n.is_f64()
    )
}

/// A float as Python's `json.dumps` writes it (`1.0`, `0.1`, `NaN`, `Infinity`).
fn float_repr(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else {
        serde_json::to_string(&f).unwrap_or_else(|_| f.to_string())
    }
}

/// A JSON string literal as Python escapes it (with `ensure_ascii`, non-ASCII as `\uXXXX`).
fn push_string(s: &str, ensure_ascii: bool, out: &mut String) {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    if !ensure_ascii {
        out.push_str(&quoted);
        return;
    }
    for c in quoted.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
}

/// What AIPerf's payload walk (`endpoints/payload_extraction.py`) gives the chat-template
/// path: the role/content view of the message list, and the tool texts it does not carry.
#[derive(Debug, Default, PartialEq)]
pub struct Extracted {
    /// `{"role", "content"}` per message with a string role, the content its text parts
    /// concatenated; replayed `tool_calls` passed through.
    pub messages: Vec<Json>,
    /// `tools` schemas (name, description, JSON parameters) and Responses
    /// `function_call`/`function_call_output` items.
    pub tool_texts: Vec<String>,
}

/// The chat-template view of a request body; `None` when it has no message list (`messages`
/// or a Responses `input` array of role/type items), as for completions or embeddings.
pub fn extract(payload: &Json) -> Option<Extracted> {
    let mut out = Extracted::default();
    let mut found = None;
    for (field, text_types) in [
        ("messages", &["text"][..]),
        ("input", &["input_text", "output_text"][..]),
    ] {
        let Some(items) = payload.get(field).and_then(Json::as_array) else {
            continue;
        };
        if !items
            .iter()
            .any(|i| i.get("role").is_some() || i.get("type").is_some())
        {
            continue;
        }
        found = Some(field);
        for item in items.iter().filter(|i| i.is_object()) {
            walk_item(item, text_types, &mut out);
        }
    }
    walk_tools(payload, &mut out.tool_texts);
    let field = found?;
    // Responses `instructions` are its system prompt, a leading system message to the template.
    if field == "input" {
        let instructions = match payload.get("instructions") {
            Some(Json::String(s)) => Some(s.clone()),
            Some(Json::Array(parts)) => {
                let text: String = parts
                    .iter()
                    .filter_map(|p| p.as_str().or_else(|| p.get("text")?.as_str()))
                    .collect();
                (!text.is_empty()).then_some(text)
            }
            _ => None,
        };
        if let Some(s) = instructions {
            out.messages
                .insert(0, serde_json::json!({"role": "system", "content": s}));
        }
    }
    Some(out)
}

fn walk_item(item: &Json, text_types: &[&str], out: &mut Extracted) {
    let mut text = String::new();
    match item.get("content") {
        Some(Json::String(s)) => text.push_str(s),
        Some(Json::Array(parts)) => {
            for part in parts {
                let is_text = part
                    .get("type")
                    .and_then(Json::as_str)
                    .is_some_and(|t| text_types.contains(&t));
                if let (true, Some(t)) = (is_text, part.get("text").and_then(Json::as_str)) {
                    text.push_str(t);
                }
            }
        }
        _ => {}
    }
    match item.get("type").and_then(Json::as_str) {
        Some("function_call") => {
            for key in ["name", "arguments"] {
                if let Some(s) = item
                    .get(key)
                    .and_then(Json::as_str)
                    .filter(|s| !s.is_empty())
                {
                    out.tool_texts.push(s.to_string());
                }
            }
        }
        Some("function_call_output") => {
            if let Some(s) = item
                .get("output")
                .and_then(Json::as_str)
                .filter(|s| !s.is_empty())
            {
                out.tool_texts.push(s.to_string());
            }
        }
        _ => {}
    }
    let Some(role) = item.get("role").and_then(Json::as_str) else {
        // Calls outside a message are not in the template's view: counted as tool text.
        for call in item
            .get("tool_calls")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let function = call.get("function");
            for key in ["name", "arguments"] {
                if let Some(s) = function
                    .and_then(|f| f.get(key))
                    .and_then(Json::as_str)
                    .filter(|s| !s.is_empty())
                {
                    out.tool_texts.push(s.to_string());
                }
            }
        }
        return;
    };
    let mut msg = serde_json::Map::new();
    msg.insert("role".into(), Json::from(role));
    msg.insert("content".into(), Json::from(text));
    if let Some(calls) = item
        .get("tool_calls")
        .filter(|c| c.as_array().is_some_and(|a| !a.is_empty()))
    {
        msg.insert("tool_calls".into(), calls.clone());
    }
    out.messages.push(Json::Object(msg));
}

/// Top-level `tools`: each one's `name`, `description` and serialized `parameters`, from its
/// `function` object and from itself (Responses tools are flat).
fn walk_tools(payload: &Json, out: &mut Vec<String>) {
    let Some(tools) = payload.get("tools").and_then(Json::as_array) else {
        return;
    };
    for tool in tools.iter().filter(|t| t.is_object()) {
        let function = tool.get("function").filter(|f| f.is_object());
        for source in function.into_iter().chain([tool]) {
            for key in ["name", "description"] {
                if let Some(s) = source
                    .get(key)
                    .and_then(Json::as_str)
                    .filter(|s| !s.is_empty())
                {
                    out.push(s.to_string());
                }
            }
            if let Some(p) = source.get("parameters").filter(|p| p.is_object()) {
                // orjson.dumps: compact, key order kept.
                out.push(p.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Qwen2.5-7B-Instruct's `chat_template` (tokenizer_config.json).
    const QWEN25: &str = r##"{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
"##;

    /// Qwen3-8B's `chat_template`.
    const QWEN3: &str = r##"{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\n\n' }}
    {%- endif %}
    {{- "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.content is string %}
        {%- set content = message.content %}
    {%- else %}
        {%- set content = '' %}
    {%- endif %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in content %}
                {%- set reasoning_content = content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
                {%- set content = content.split('</think>')[-1].lstrip('\n') %}
            {%- endif %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\n<think>\n' + reasoning_content.strip('\n') + '\n</think>\n\n' + content.lstrip('\n') }}
            {%- else %}
                {{- '<|im_start|>' + message.role + '\n' + content }}
            {%- endif %}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\n' + content }}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and content) or (not loop.first) %}
                    {{- '\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- endif %}
{%- endif %}"##;

    /// Llama-3.1-8B-Instruct's `chat_template`.
    const LLAMA31: &str = r##"{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message + builtin tools #}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\n\n"}}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{#- Custom tools are passed in a user message with some extra guidance #}
{%- if tools_in_user_message and not tools is none %}
    {#- Extract the first user message so we can plug it in here #}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
{%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\n\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\n\n" }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {%- if builtin_tools is defined and tool_call.name in builtin_tools %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
            {{- "<|python_tag|>" + tool_call.name + ".call(" }}
            {%- for arg_name, arg_val in tool_call.arguments | items %}
                {{- arg_name + '="' + arg_val + '"' }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- endif %}
                {%- endfor %}
            {{- ")" }}
        {%- else  %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
            {{- '{"name": "' + tool_call.name + '", ' }}
            {{- '"parameters": ' }}
            {{- tool_call.arguments | tojson }}
            {{- "}" }}
        {%- endif %}
        {%- if builtin_tools is defined %}
            {#- This means we're in ipython mode #}
            {{- "<|eom_id|>" }}
        {%- else %}
            {{- "<|eot_id|>" }}
        {%- endif %}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
"##;

    /// Mistral-7B-Instruct-v0.2's `chat_template`.
    const MISTRAL: &str = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

    /// A model directory with a tokenizer_config.json holding `config`.
    fn model_dir(config: Json) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("tokenizer_config.json"),
            serde_json::to_string_pretty(&config).unwrap(),
        )
        .unwrap();
        dir
    }

    fn load(config: Json) -> ChatTemplate {
        let dir = model_dir(config);
        ChatTemplate::from_dir(dir.path())
            .expect("loads")
            .expect("has a template")
    }

    fn chat(pairs: &[(&str, &str)]) -> Vec<Json> {
        pairs
            .iter()
            .map(|(r, c)| json!({"role": r, "content": c}))
            .collect()
    }

    #[test]
    fn qwen25_renders_system_user_and_default_system() {
        let t = load(json!({"chat_template": QWEN25, "eos_token": "<|im_end|>",
            "bos_token": null, "pad_token": "<|endoftext|>"}));
        assert_eq!(
            t.render(&chat(&[("system", "You are terse."), ("user", "Hi")]), true)
                .unwrap(),
            "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n\
             <|im_start|>assistant\n"
        );
        assert_eq!(
            t.render(
                &chat(&[("user", "Hello"), ("assistant", "Hi there")]),
                false
            )
            .unwrap(),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful \
             assistant.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n\
             Hi there<|im_end|>\n"
        );
        // A replayed tool call and its answer; arguments as the OpenAI API sends them (a JSON
        // string), which tojson quotes as Python's json.dumps does.
        let msgs = vec![
            json!({"role": "user", "content": "Weather?"}),
            json!({"role": "assistant", "content": "", "tool_calls": [{"id": "c1",
                "type": "function", "function": {"name": "get", "arguments": "{\"city\": \"Paris\"}"}}]}),
            json!({"role": "tool", "content": "sunny"}),
        ];
        assert_eq!(
            t.render(&msgs, true).unwrap(),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful \
             assistant.<|im_end|>\n<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n\
             <tool_call>\n{\"name\": \"get\", \"arguments\": \"{\\\"city\\\": \\\"Paris\\\"}\"}\n\
             </tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\nsunny\n\
             </tool_response><|im_end|>\n<|im_start|>assistant\n"
        );
        // Tools passed to the template: json.dumps separators, key order kept.
        let tools = [json!({"type": "function", "function": {"name": "get",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}})];
        let with_tools = t
            .render_with(&chat(&[("user", "Hi")]), Some(&tools), true)
            .unwrap();
        assert!(
            with_tools.contains(
                "<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get\", \
                 \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \
                 \"string\"}}}}}\n</tools>"
            ),
            "{with_tools}"
        );
    }

    #[test]
    fn qwen3_renders_think_blocks_with_python_methods() {
        let t = load(json!({"chat_template": QWEN3, "eos_token": "<|im_end|>"}));
        assert_eq!(
            t.render(&chat(&[("user", "Hello"), ("assistant", "Hi there")]), true)
                .unwrap(),
            "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n\
             Hi there<|im_end|>\n<|im_start|>assistant\n"
        );
        // An earlier assistant turn loses its reasoning (split/rstrip/lstrip).
        assert_eq!(
            t.render(
                &chat(&[
                    ("system", "Be brief."),
                    ("user", "A"),
                    ("assistant", "<think>\nhmm\n</think>\n\nB"),
                    ("user", "C")
                ]),
                true
            )
            .unwrap(),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nA<|im_end|>\n\
             <|im_start|>assistant\nB<|im_end|>\n<|im_start|>user\nC<|im_end|>\n\
             <|im_start|>assistant\n"
        );
    }

    #[test]
    fn llama31_renders_bos_header_and_date() {
        let t = load(json!({"chat_template": LLAMA31,
            "bos_token": {"content": "<|begin_of_text|>", "lstrip": false, "normalized": false,
                "rstrip": false, "single_word": false, "special": true},
            "eos_token": "<|eot_id|>"}));
        assert_eq!(
            t.render(
                &chat(&[("system", "You are terse. "), ("user", " Hi")]),
                true
            )
            .unwrap(),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge \
             Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are terse.<|eot_id|>\
             <|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>\
             assistant<|end_header_id|>\n\n"
        );
        // `'tool_calls' in message`, tojson of a dict's arguments.
        let msgs = vec![
            json!({"role": "user", "content": "Weather?"}),
            json!({"role": "assistant", "content": "", "tool_calls": [{"function":
                {"name": "get", "arguments": {"city": "Paris", "days": 2}}}]}),
        ];
        let out = t.render(&msgs, false).unwrap();
        assert!(
            out.ends_with(
                "<|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"get\", \
                 \"parameters\": {\"city\": \"Paris\", \"days\": 2}}<|eot_id|>"
            ),
            "{out}"
        );
    }

    #[test]
    fn mistral_renders_inst_and_raises_on_a_system_message() {
        let t = load(json!({"chat_template": MISTRAL, "bos_token": "<s>", "eos_token": "</s>"}));
        assert_eq!(
            t.render(&chat(&[("user", "Hello"), ("assistant", "Hi there")]), true)
                .unwrap(),
            "<s>[INST] Hello [/INST]Hi there</s>"
        );
        let e = t
            .render(&chat(&[("system", "S"), ("user", "Hello")]), true)
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("Conversation roles must alternate user/assistant/user/assistant/..."),
            "{e}"
        );
    }

    #[test]
    fn gpt2_style_config_has_no_template() {
        let dir = model_dir(
            json!({"tokenizer_class": "GPT2Tokenizer", "model_max_length": 1024,
            "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"}),
        );
        assert!(ChatTemplate::from_dir(dir.path()).unwrap().is_none());
        // Nothing at all next to the tokenizer: no template either.
        let empty = tempfile::tempdir().unwrap();
        assert!(ChatTemplate::from_dir(empty.path()).unwrap().is_none());
    }

    /// The built-in tokenizer, and one whose directory has no template, make the flag a no-op,
    /// with a one-line reason.
    #[test]
    fn no_template_is_a_one_line_reason() {
        let builtin = TextTokenizer::builtin().unwrap();
        assert!(for_run(true, &builtin).is_none());
        assert_eq!(
            ChatTemplate::of_tokenizer(&builtin).unwrap_err(),
            "tokenizer 'builtin' is the built-in one, which has no chat template"
        );
        let dir = model_dir(json!({"eos_token": "</s>"}));
        std::fs::write(dir.path().join("tokenizer.json"), builtin_json()).unwrap();
        let path = dir.path().to_str().unwrap().to_string();
        let t = TextTokenizer::load(&path, "main").unwrap();
        let why = ChatTemplate::of_tokenizer(&t).unwrap_err();
        assert_eq!(
            why,
            format!(
                "tokenizer '{path}' has no chat template (no chat_template in '{}' and no \
                 chat_template.jinja)",
                dir.path().join("tokenizer_config.json").display()
            )
        );
        assert!(!why.contains('\n'));
        assert!(for_run(false, &t).is_none());
    }

    fn builtin_json() -> Vec<u8> {
        use std::io::Read;
        let gz = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../assets/tokenizers/o200k_base/tokenizer.json.gz"),
        )
        .unwrap();
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut json)
            .unwrap();
        json
    }

    /// chat_template.jinja wins over the config's template (as in transformers); a list of
    /// named templates uses `default`, and without one is an error naming them.
    #[test]
    fn jinja_file_and_named_templates() {
        let dir = model_dir(json!({"chat_template": "config", "bos_token": "<s>"}));
        std::fs::write(
            dir.path().join("chat_template.jinja"),
            "{{ bos_token }}jinja{% generation %}!{% endgeneration %}\n",
        )
        .unwrap();
        let t = ChatTemplate::from_dir(dir.path()).unwrap().unwrap();
        assert_eq!(t.render(&[], true).unwrap(), "<s>jinja!");
        assert_eq!(t.source(), dir.path().join("chat_template.jinja"));

        let named = load(json!({"chat_template": [
            {"name": "tool_use", "template": "tools"},
            {"name": "default", "template": "plain {{ messages|length }}"}]}));
        assert_eq!(
            named.render(&chat(&[("user", "x")]), true).unwrap(),
            "plain 1"
        );
        let dir = model_dir(json!({"chat_template": [{"name": "rag", "template": "r"}]}));
        let e = ChatTemplate::from_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("none named 'default' (it has: rag)"), "{e}");

        let dir = model_dir(json!({"chat_template": "{% if %}"}));
        let e = ChatTemplate::from_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("does not compile"), "{e}");
    }

    #[test]
    fn tojson_is_python_json_dumps() {
        let t = ChatTemplate::new(
            "{{ x|tojson }}|{{ x|tojson(indent=2) }}|{{ x|tojson(sort_keys=true) }}|\
             {{ 'é<'|tojson }}|{{ 'é'|tojson(ensure_ascii=true) }}|{{ 1.0|tojson }}|{{ none|tojson }}",
            Vec::new(),
            PathBuf::from("test"),
        )
        .unwrap();
        let out = t
            .env
            .get_template("chat")
            .unwrap()
            .render(minijinja::context! { x => to_value(&json!({"b": [1, true], "a": {}})) })
            .unwrap();
        assert_eq!(
            out,
            "{\"b\": [1, true], \"a\": {}}|{\n  \"b\": [\n    1,\n    true\n  ],\n  \"a\": {}\n}|\
             {\"a\": {}, \"b\": [1, true]}|\"é<\"|\"\\u00e9\"|1.0|null"
        );
    }

    #[test]
    fn strftime_now_and_raise_exception() {
        let t = ChatTemplate::new(
            "{{ strftime_now('%Y') }}",
            Vec::new(),
            PathBuf::from("test"),
        )
        .unwrap();
        let year = t.render(&[], true).unwrap();
        assert_eq!(year, chrono::Local::now().format("%Y").to_string());
        let t = ChatTemplate::new(
            "{{ raise_exception('no') }}",
            Vec::new(),
            PathBuf::from("t"),
        )
        .unwrap();
        assert!(t.render(&[], true).unwrap_err().to_string().contains("no"));
    }

    /// AIPerf's payload walk: messages with text parts joined, tool_calls kept, tool schemas
    /// and Responses function-call items as tool texts, Responses instructions as a system
    /// message; a completions body has no message view.
    #[test]
    fn extracts_like_aiperf() {
        let chat_body = json!({"model": "m", "messages": [
            {"role": "system", "content": "S"},
            {"role": "user", "content": [{"type": "text", "text": "a"},
                {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "b"}]},
            {"role": "assistant", "content": "r", "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}],
            "tools": [{"type": "function", "function": {"name": "f", "description": "does f",
                "parameters": {"type": "object", "properties": {}}}}]});
        let e = extract(&chat_body).unwrap();
        assert_eq!(
            e.messages,
            vec![
                json!({"role": "system", "content": "S"}),
                json!({"role": "user", "content": "ab"}),
                json!({"role": "assistant", "content": "r", "tool_calls":
                    [{"function": {"name": "f", "arguments": "{}"}}]}),
            ]
        );
        assert_eq!(
            e.tool_texts,
            vec!["f", "does f", r#"{"type":"object","properties":{}}"#]
        );
        let responses = json!({"instructions": "I", "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "q"}]},
            {"type": "function_call", "name": "g", "arguments": "{\"k\":1}"},
            {"type": "function_call_output", "output": "done"}]});
        let e = extract(&responses).unwrap();
        assert_eq!(
            e.messages,
            vec![
                json!({"role": "system", "content": "I"}),
                json!({"role": "user", "content": "q"})
            ]
        );
        assert_eq!(e.tool_texts, vec!["g", "{\"k\":1}", "done"]);
        assert!(extract(&json!({"prompt": "hello"})).is_none());
        assert!(extract(&json!({"input": ["a", "b"]})).is_none());
    }

    /// Templated ISL of a sent body: the rendered text's tokens plus the tool texts'; no
    /// message list or a refused conversation leaves it to the bare count.
    #[test]
    fn input_tokens_count_the_rendered_messages() {
        let tok = TextTokenizer::builtin().unwrap();
        let t = load(json!({"chat_template": QWEN25}));
        let body = json!({"messages": [{"role": "user", "content": "Hello world!"}],
            "tools": [{"function": {"name": "lookup", "description": "Find it"}}]});
        let rendered = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a \
            helpful assistant.<|im_end|>\n<|im_start|>user\nHello world!<|im_end|>\n\
            <|im_start|>assistant\n";
        assert_eq!(
            t.input_tokens(&tok, &serde_json::to_vec(&body).unwrap()),
            Some((tok.count(rendered) + tok.count("lookup Find it")) as u64)
        );
        assert_eq!(t.input_tokens(&tok, br#"{"prompt": "Hello"}"#), None);
        assert_eq!(t.input_tokens(&tok, b"not json"), None);
        let m = load(json!({"chat_template": MISTRAL}));
        let system_first = json!({"messages": [{"role": "system", "content": "S"}]});
        assert_eq!(
            m.input_tokens(&tok, &serde_json::to_vec(&system_first).unwrap()),
            None
        );
    }

    /// The wrapping estimate for ChatML with o200k: per request the generation prompt plus the
    /// default system message, per message `<|im_start|>role\n ... <|im_end|>\n`; a template
    /// that refuses the probes gives no compensation.
    #[test]
    fn overhead_is_aiperfs_estimate() {
        let tok = TextTokenizer::builtin().unwrap();
        let t = load(json!({"chat_template": QWEN25}));
        let o = t.overhead(&tok);
        let wrap = tok.count("<|im_start|>user\nHello, how are you today?<|im_end|>\n")
            - tok.count("Hello, how are you today?");
        assert_eq!(o.per_message, wrap, "{o:?}");
        let system = tok.count(
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful \
             assistant.<|im_end|>\n",
        );
        assert_eq!(
            o.per_request,
            system + tok.count("<|im_start|>assistant\n"),
            "{o:?}"
        );
        assert_eq!(o.bos, 0);
        let refusing =
            ChatTemplate::new("{{ raise_exception('x') }}", Vec::new(), PathBuf::from("t"))
                .unwrap();
        assert_eq!(refusing.overhead(&tok), TemplateOverhead::default());
    }
}
