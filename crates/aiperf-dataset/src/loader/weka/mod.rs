//! `weka_trace`: agentic-coding traces from Weka's kv-cache-tester, replayed as AIPerf 0.13's
//! `WekaTraceLoader` replays them. A trace is one JSON object per file (a file, or a
//! directory of `*.json` files read in name order):
//! `{"id", "models", "block_size", "hash_id_scope": "local", "tool_tokens", "system_tokens",
//! "requests": [{"type": "n"|"s", "t", "model", "in", "out", "hash_ids", "api_time",
//! "think_time", ...} | {"type": "subagent", "t", "agent_id", "duration_ms", "requests": [...],
//! ...}]}`.
//!
//! - Each trace is a root conversation of its top-level requests (file order); each subagent
//!   a child conversation `<id>::sa:<agent_id>` of its requests (time order), spawned after
//!   the last parent turn before its marker and joined before the first later parent turn
//!   sent at or after the subagent's recorded end (`duration_ms`, else its last request's
//!   end); a subagent no later turn waits for runs in the background. Subagents that share
//!   spawn and join turns share one branch. A subagent before any parent turn is dropped.
//! - Prompts are rebuilt from `hash_ids` ([`synth`]): every request is the whole recorded
//!   context as system / user / assistant messages, with the recorded assistant answers
//!   (the server's live replies are not threaded in, as in AIPerf's `deltas_with_responses`),
//!   so turns are sent without history of their own. Hash ids are scoped to their trace
//!   (`"local"`); blocks are [`BLOCK_SIZE`] tokens whatever the trace declares (as in AIPerf).
//! - Delays: the idle gap `t_k - (t_{k-1} + api_time_{k-1})` (never < 0), or `think_time`
//!   with `--use-think-time-only` where recorded; capped by `--inter-turn-delay-cap-seconds`.
//!   A child's first turn waits its recorded offset from the branch's spawn time. A root's
//!   first turn carries `t` as its replay timestamp.
//! - `--max-context-length` drops traces whose recorded peak `in + out` exceeds it;
//!   `--synthesis-max-isl` drops top-level requests over it, `--synthesis-max-osl` caps their
//!   `out`; `out` 0 is sent as 1.
//!
//! Refused (AIPerf does them, this build does not): traces whose top-level requests (or a
//! subagent's) hold more than one agent's context, which AIPerf's hash-id prefix detection
//! ([`detect`]) splits into extra spawned conversations (context edits that continue the
//! same agent are kept), and the `--synthesis-*` multipliers.

mod detect;
pub mod exgentic;
pub(crate) mod model;
pub(crate) mod synth;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aiperf_core::{Branch, BranchMode, Conversation, Dag, Turn};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{LoadContext, LoadError, Probe};
use crate::blocks::{BlockPrompts, CorpusPrompts};
use crate::rng::mix;
use model::{Entry, Request, Subagent, Trace};
use synth::{asst_block_caps, Decode, Reconstructor};

/// AIPerf's `_JOIN_EPSILON_SECONDS`: a parent turn at the subagent's end joins it.
const EPSILON_S: f64 = 1e-6;

/// A leading request with at most this output is a title-generation preamble (AIPerf's
/// `_TITLE_GEN_MAX_OUTPUT_TOKENS`).
const TITLE_GEN_MAX_OUTPUT: u64 = 64;

/// The longest prompt a request may ask for: a larger `in` is a broken row, refused before
/// any memory is sized by it.
pub const MAX_INPUT_LENGTH: u64 = 10_000_000;

/// Tokens per hash block: AIPerf 0.13 builds the loader with its catalog `default_block_size`
/// (64), which takes precedence over each trace's own `block_size` (and `--isl-block-size`
/// is rejected for weka).
pub const BLOCK_SIZE: usize = 64;

/// Reads a trace file, or every `*.json` file of a directory in name order.
pub fn load(path: &Path, ctx: &LoadContext<'_>) -> Result<Vec<Conversation>, LoadError> {
    load_with(path, ctx, Some(BLOCK_SIZE))
}

/// [`load`] with the traces' own `block_size` (`None`) or another.
fn load_with(
    path: &Path,
    ctx: &LoadContext<'_>,
    block_size: Option<usize>,
) -> Result<Vec<Conversation>, LoadError> {
    let files = files(path)?;
    if files.is_empty() {
        return Err(LoadError::file(
            path,
            "the directory holds no *.json trace files",
        ));
    }
    let mut traces: Vec<Source> = Vec::with_capacity(files.len());
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for f in files {
        let trace = read_trace(&f)?;
        if let Some(first) = seen.get(&trace.id) {
            return Err(LoadError::file(
                &f,
                format!(
                    "duplicate trace id '{}' (also in {})",
                    trace.id,
                    first.display()
                ),
            ));
        }
        seen.insert(trace.id.clone(), f.clone());
        traces.push(Source {
            file: f.display().to_string(),
            trace,
        });
    }
    reconstruct(traces, ctx, block_size, path)
}

/// `--public-dataset semianalysis_cc_traces_weka*` and `weka_hf` (AIPerf's
/// `SemiAnalysisCCTracesWekaLoader`): every row of the Hub dataset is one whole trace object,
/// reconstructed exactly as a trace file. `source` names the dataset in messages;
/// `block_size` is the catalog entry's `default_block_size` (64 for every
/// `semianalysis_cc_traces_weka*` entry), which AIPerf uses instead of the traces' own.
pub fn from_rows(
    rows: impl IntoIterator<Item = Value>,
    source: &str,
    block_size: Option<usize>,
    ctx: &LoadContext<'_>,
) -> Result<Vec<Conversation>, LoadError> {
    let origin = Path::new(source);
    let mut traces: Vec<Source> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, row) in rows.into_iter().enumerate() {
        let trace = Trace::deserialize(&row).map_err(|e| {
            LoadError::file(origin, format!("row {i} failed WekaTrace validation: {e}"))
        })?;
        if !seen.insert(trace.id.clone()) {
            return Err(LoadError::file(
                origin,
                format!("duplicate trace id '{}' at row {i}", trace.id),
            ));
        }
        traces.push(Source {
            file: format!("{source} row {i}"),
            trace,
        });
    }
    reconstruct(traces, ctx, block_size, origin)
}

/// Whether `probe` is a Weka trace (AIPerf: a `.json` file that validates as `WekaTrace`, or
/// a directory whose first `*.json` file by name does).
pub fn can_load(probe: &Probe) -> bool {
    let file = if probe.is_dir {
        match files(&probe.path) {
            Ok(f) => match f.into_iter().next() {
                Some(first) => first,
                None => return false,
            },
            Err(_) => return false,
        }
    } else {
        probe.path.clone()
    };
    file.is_file() && file.extension().is_some_and(|e| e == "json") && read_trace(&file).is_ok()
}

fn files(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| LoadError::file(path, e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
        .collect();
    out.sort();
    Ok(out)
}

/// One trace file, checked against the schema; errors name the line serde stopped at.
fn read_trace(path: &Path) -> Result<Trace, LoadError> {
    let text = aiperf_core::textfile::read_to_string(path)
        .map_err(|e| LoadError::file(path, e.to_string()))?;
    let trace: Trace = serde_json::from_str(&text).map_err(|e| {
        let mut err = json_error(path, &e);
        // serde stops past the request it rejects: name the request too.
        if let (LoadError::Line { reason, .. }, Some(i)) = (&mut err, bad_request(&text)) {
            *reason = format!("requests[{i}]: {reason}");
        }
        err
    })?;
    check_input_lengths(&trace).map_err(|e| LoadError::file(path, e))?;
    Ok(trace)
}

/// Refuses a request longer than [`MAX_INPUT_LENGTH`] (whatever path the trace came by:
/// a file, a Hub row or a converted TraceLab session), before any prompt is sized from it.
pub(crate) fn check_input_lengths(trace: &Trace) -> Result<(), String> {
    for (i, e) in trace.requests.iter().enumerate() {
        let too_long = |r: &Request| r.input_length > MAX_INPUT_LENGTH;
        let bad = match e {
            Entry::Normal(r) => too_long(r),
            Entry::Streaming(s) => s.input_length > MAX_INPUT_LENGTH,
            Entry::Subagent(s) => s
                .requests
                .iter()
                .any(|r| too_long(&r.clone().into_request())),
        };
        if bad {
            return Err(format!(
                "requests[{i}]: 'in' must be at most {MAX_INPUT_LENGTH}"
            ));
        }
    }
    Ok(())
}

/// The first entry of `requests` that is not a valid request or subagent, when the file is
/// JSON with a `requests` list.
fn bad_request(text: &str) -> Option<usize> {
    let v: Value = serde_json::from_str(text).ok()?;
    v.get("requests")?
        .as_array()?
        .iter()
        .position(|r| Entry::deserialize(r).is_err())
}

/// `path:line: reason` from a serde error (its position moved into the prefix).
pub(crate) fn json_error(path: &Path, e: &serde_json::Error) -> LoadError {
    let text = e.to_string();
    let reason = match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    if e.line() == 0 {
        return LoadError::file(path, reason);
    }
    LoadError::Line {
        path: path.display().to_string(),
        line: e.line(),
        reason,
    }
}

/// A parsed trace and where it came from (for messages).
pub(crate) struct Source {
    pub file: String,
    pub trace: Trace,
}

/// A request with its position: index in the trace's `requests` (top level) or in the
/// subagent's `requests`.
type Indexed = (usize, Request);

fn normals(trace: &Trace) -> impl Iterator<Item = (usize, Request)> + '_ {
    trace
        .requests
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            Entry::Normal(r) => Some((i, r.clone())),
            Entry::Streaming(s) => Some((i, s.clone().into())),
            Entry::Subagent(_) => None,
        })
}

fn subagents(trace: &Trace) -> impl Iterator<Item = (usize, &Subagent)> {
    trace
        .requests
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            Entry::Subagent(s) => Some((i, s)),
            _ => None,
        })
}

/// AIPerf's `_trace_peak_context_length`: the largest `in + out` sent, top-level `out` capped
/// by `--synthesis-max-osl`, subagents' not, 0 sent as 1.
pub(crate) fn peak_context(trace: &Trace, max_osl: Option<u64>) -> u64 {
    let top = normals(trace).map(|(_, r)| {
        r.input_length
            .saturating_add(cap_output(r.output_length, max_osl))
    });
    let inner = subagents(trace).flat_map(|(_, s)| {
        s.requests.iter().map(|r| {
            let r = r.clone().into_request();
            r.input_length.saturating_add(r.output_length.max(1))
        })
    });
    top.chain(inner).max().unwrap_or(0)
}

/// AIPerf's `_cap_output`: `--synthesis-max-osl` applied, at least 1 (servers reject 0).
fn cap_output(out: u64, max_osl: Option<u64>) -> u64 {
    max_osl.map_or(out, |m| out.min(m)).max(1)
}

fn max_tokens(n: u64) -> Option<u32> {
    Some(n.min(u64::from(u32::MAX)) as u32)
}

/// AIPerf's `_subagent_request_absolute_t`: inner times before the spawn marker are relative
/// to it (older captures).
fn absolute_t(entry: &Subagent, t: f64) -> f64 {
    if t + EPSILON_S < entry.t {
        entry.t + t
    } else {
        t
    }
}

fn request_end(t: f64, api_time: Option<f64>) -> f64 {
    t + api_time.filter(|a| a.is_finite()).unwrap_or(0.0).max(0.0)
}

/// AIPerf's `_sa_end_seconds`: spawn + `duration_ms`, else the last inner request's end, else
/// the spawn time.
fn subagent_end(entry: &Subagent) -> f64 {
    if let Some(d) = entry.duration_ms {
        return entry.t + (d as f64 / 1000.0).max(0.0);
    }
    entry
        .requests
        .iter()
        .map(|r| {
            let r = r.clone().into_request();
            request_end(absolute_t(entry, r.t), r.api_time)
        })
        .reduce(f64::max)
        .unwrap_or(entry.t)
}

/// The delay before request `k` of a stream (AIPerf's parent/child timing): the recorded
/// `think_time` with `--use-think-time-only`, else the idle gap since the previous request
/// ended; capped, never negative, absent for non-finite values.
fn delay_ms(prev: &Request, req: &Request, think_only: bool, cap_ms: Option<f64>) -> Option<f64> {
    let raw = match req.think_time {
        Some(tt) if think_only => tt * 1000.0,
        _ => {
            let api = prev.api_time.filter(|a| a.is_finite()).unwrap_or(0.0) * 1000.0;
            (req.t * 1000.0 - prev.t * 1000.0 - api).max(0.0)
        }
    };
    if !raw.is_finite() {
        return None;
    }
    Some(cap_ms.map_or(raw, |c| raw.min(c)).max(0.0))
}

fn hash_lcp(a: &[i64], b: &[i64]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// AIPerf's `_split_off_preamble`: the earliest request, when it shares no prefix with any
/// other and is small (a title-generation call) or shares no block at all, is left out of
/// chain detection (it stays on the main chain for replay). Returns its position.
fn preamble(reqs: &[Indexed]) -> Option<usize> {
    if reqs.len() < 2 {
        return None;
    }
    let first = (0..reqs.len()).min_by(|&a, &b| {
        reqs[a]
            .1
            .t
            .total_cmp(&reqs[b].1.t)
            .then(reqs[a].0.cmp(&reqs[b].0))
    })?;
    let lead = &reqs[first].1;
    if lead.hash_ids.is_empty() {
        return None;
    }
    let rest = || {
        reqs.iter()
            .enumerate()
            .filter(move |(i, _)| *i != first)
            .map(|(_, r)| &r.1)
    };
    if rest().any(|o| !o.hash_ids.is_empty() && hash_lcp(&lead.hash_ids, &o.hash_ids) > 0) {
        return None;
    }
    if lead.output_length > TITLE_GEN_MAX_OUTPUT {
        let other: std::collections::HashSet<i64> =
            rest().flat_map(|o| o.hash_ids.iter().copied()).collect();
        if lead.hash_ids.iter().any(|h| other.contains(h)) {
            return None;
        }
    }
    Some(first)
}

/// AIPerf's chain detection over one stream (past a preamble): the main chain's requests in
/// the order AIPerf replays a subagent's (the preamble merged back by time), or, when the
/// requests form more than one agent chain, why they are refused.
fn main_chain(reqs: &[Indexed]) -> Result<Vec<usize>, String> {
    let pre = preamble(reqs);
    let rest: Vec<Indexed> = reqs
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != pre)
        .map(|(_, r)| r.clone())
        .collect();
    let found = detect::detect(&rest);
    if !found.workers.is_empty() {
        let starts: Vec<String> = found
            .workers
            .iter()
            .take(5)
            .map(|w| w[0].to_string())
            .collect();
        return Err(format!(
            "{} more agent chain(s) start at request(s) {}{} (their hash ids do not continue the main context); AIPerf 0.13 replays them as separate spawned conversations (hash-id prefix detection), which this build does not reproduce",
            found.workers.len(),
            starts.join(", "),
            if found.workers.len() > 5 { ", ..." } else { "" }
        ));
    }
    let mut main = found.main;
    if let Some(p) = pre {
        main.push(reqs[p].0);
        let at: HashMap<usize, f64> = reqs.iter().map(|(i, r)| (*i, r.t)).collect();
        main.sort_by(|a, b| at[a].total_cmp(&at[b]).then(a.cmp(b)));
    }
    Ok(main)
}

/// Prompt text for the reconstructor: whole blocks from the corpus by scoped hash id, then
/// a corpus window of the tail's length starting on a word.
struct Texts<'a> {
    blocks: &'a BlockPrompts<'a>,
    plain: &'a CorpusPrompts<'a>,
    corpus_len: u64,
}

impl Decode for Texts<'_> {
    fn text(&self, blocks: &[u64], tail: Option<(usize, u64)>) -> String {
        let bs = self.blocks.block_size();
        // Whole blocks always fit.
        let mut text = if blocks.is_empty() {
            String::new()
        } else {
            self.blocks
                .prompt_prefilled(blocks.len() * bs, blocks)
                .unwrap_or_default()
        };
        if let Some((n, seed)) = tail {
            let start = self
                .blocks
                .word_start_after((mix(seed, 0) % self.corpus_len.max(1)) as usize);
            text.push_str(&self.plain.prompt(start, n));
        }
        text
    }
}

/// FNV-1a of a string: stable across runs and platforms (session and trace ids become seeds).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One stream's turns: each request's whole context as messages, its delay, its output.
#[allow(clippy::too_many_arguments)]
fn stream_turns(
    reqs: &[Indexed],
    session_id: &str,
    bs: usize,
    texts: &Texts<'_>,
    scope: &dyn Fn(i64) -> u64,
    init_tokens: (i64, i64),
    ctx: &LoadContext<'_>,
    max_osl: Option<u64>,
) -> Result<Vec<Turn>, String> {
    let caps = asst_block_caps(
        &reqs
            .iter()
            .map(|(_, r)| (r.hash_ids.as_slice(), r.input_length as usize))
            .collect::<Vec<_>>(),
        bs,
    );
    let mut recon = Reconstructor::new(bs, texts, scope);
    let seed = mix(ctx.seed, fnv(session_id));
    let think_only = ctx.agentic.use_think_time_only;
    let cap_ms = ctx.replay.inter_turn_delay_cap_ms;
    let mut turns = Vec::with_capacity(reqs.len());
    for (k, (_, r)) in reqs.iter().enumerate() {
        let tail_seed = mix(seed, k as u64);
        let mut delay = None;
        if k == 0 {
            recon.init(
                &r.hash_ids,
                r.input_length as usize,
                init_tokens.0,
                init_tokens.1,
                tail_seed,
            )?;
        } else {
            let prev = &reqs[k - 1].1;
            recon.advance(
                &prev.hash_ids,
                prev.output_length as usize,
                &r.hash_ids,
                r.input_length as usize,
                tail_seed,
                caps[k],
            );
            delay = delay_ms(prev, r, think_only, cap_ms);
        }
        let messages: Vec<Value> = recon
            .segments
            .iter()
            .map(|s| json!({"role": s.role.as_str(), "content": s.text}))
            .collect();
        turns.push(Turn {
            texts: recon.segments.iter().map(|s| s.text.clone()).collect(),
            messages: Some(messages),
            max_tokens: max_tokens(cap_output(r.output_length, max_osl)),
            delay_ms: delay,
            ..Default::default()
        });
    }
    Ok(turns)
}

/// What one trace becomes before prompts are built.
struct Plan<'t> {
    source: &'t Source,
    bs: usize,
    /// Retained top-level requests, in file order.
    normals: Vec<Indexed>,
    /// Per retained subagent: its outer index, entry, child session id and requests (time
    /// order, absolute times).
    children: Vec<(usize, &'t Subagent, String, Vec<Indexed>)>,
}

/// AIPerf's `convert_to_conversations` over parsed traces (shared with `tracelab`): roots in
/// trace order, then every trace's subagent children. `block_size` overrides the traces'
/// own (tracelab's `--isl-block-size`).
pub(crate) fn reconstruct(
    traces: Vec<Source>,
    ctx: &LoadContext<'_>,
    block_size: Option<usize>,
    origin: &Path,
) -> Result<Vec<Conversation>, LoadError> {
    if ctx.synthesis.reshapes() {
        return Err(LoadError::file(
            origin,
            "weka traces take only --synthesis-max-isl and --synthesis-max-osl of the --synthesis-* options",
        ));
    }
    for s in &traces {
        check_input_lengths(&s.trace).map_err(|e| LoadError::File {
            path: s.file.clone(),
            reason: format!("trace '{}': {e}", s.trace.id),
        })?;
    }
    let max_osl = ctx.synthesis.max_osl;
    let traces = select(traces, ctx.agentic.max_context_length, max_osl)
        .map_err(|e| LoadError::file(origin, e))?;
    let in_file = |s: &Source, e: String| LoadError::File {
        path: s.file.clone(),
        reason: format!("trace '{}': {e}", s.trace.id),
    };
    let mut plans = Vec::with_capacity(traces.len());
    for source in &traces {
        plans.push(plan(source, ctx, block_size).map_err(|e| in_file(source, e))?);
    }
    // One block table per block size in use (usually one).
    let mut tables: HashMap<usize, BlockPrompts<'_>> = HashMap::new();
    for p in &plans {
        tables
            .entry(p.bs)
            .or_insert_with(|| BlockPrompts::new(ctx.tokenizer, ctx.corpus, ctx.seed, p.bs));
    }
    let plain = CorpusPrompts::new(ctx.tokenizer, ctx.corpus);
    let corpus_len = ctx.corpus.tokens.len() as u64;
    let built = crate::parallel::map(&plans, |p| {
        let texts = Texts {
            // Inserted above for every plan's size.
            blocks: &tables[&p.bs],
            plain: &plain,
            corpus_len,
        };
        build(p, &texts, ctx, max_osl).map_err(|e| in_file(p.source, e))
    });
    let mut roots = Vec::with_capacity(built.len());
    let mut children = Vec::new();
    for b in built {
        let (root, kids) = b?;
        roots.extend(root);
        children.extend(kids);
    }
    roots.extend(children);
    Ok(roots)
}

/// `--max-context-length`: AIPerf's filter (traces over the ceiling dropped; none left is an
/// error naming the smallest peak).
fn select(
    traces: Vec<Source>,
    max_context: Option<u64>,
    max_osl: Option<u64>,
) -> Result<Vec<Source>, String> {
    let Some(max) = max_context else {
        return Ok(traces);
    };
    let scanned = traces.len();
    let mut smallest = u64::MAX;
    let kept: Vec<Source> = traces
        .into_iter()
        .filter(|s| {
            let peak = peak_context(&s.trace, max_osl);
            smallest = smallest.min(peak);
            peak <= max
        })
        .collect();
    if kept.is_empty() {
        let mut msg = format!("no trace fits --max-context-length={max} (scanned {scanned})");
        if smallest != u64::MAX && smallest > 0 {
            msg.push_str(&format!(
                "; the smallest needs {smallest} tokens: raise --max-context-length to at least that"
            ));
        }
        return Err(msg);
    }
    Ok(kept)
}

/// Requests kept, subagents kept and checked, child ids minted (AIPerf's
/// `_build_reconstruction_plans` without flattened-agent splitting, which is refused).
fn plan<'t>(
    source: &'t Source,
    ctx: &LoadContext<'_>,
    block_size: Option<usize>,
) -> Result<Plan<'t>, String> {
    let trace = &source.trace;
    let bs = block_size.unwrap_or(trace.block_size.get() as usize).max(1);
    let max_isl = ctx.synthesis.max_isl;
    let normals: Vec<Indexed> = normals(trace)
        .filter(|(_, r)| max_isl.is_none_or(|m| r.input_length <= m))
        .collect();
    // Split traces are refused; a single chain keeps the file order (as AIPerf).
    if normals.len() > 1 {
        main_chain(&normals)?;
    }
    let first_normal = normals.iter().map(|(i, _)| *i).min();
    let mut children = Vec::new();
    let mut agent_ids = std::collections::HashSet::new();
    for (outer, entry) in subagents(trace) {
        // A subagent before every parent turn has nothing to spawn it (AIPerf drops it).
        if first_normal.is_none_or(|f| f > outer) {
            tracing::info!(
                "dropping subagent '{}' of trace {}: no parent turn before it",
                entry.agent_id,
                trace.id
            );
            continue;
        }
        if !agent_ids.insert(entry.agent_id.clone()) {
            return Err(format!(
                "duplicate subagent agent_id '{}' (each retained subagent needs its own)",
                entry.agent_id
            ));
        }
        let inner: Vec<Indexed> = entry
            .requests
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut r = r.clone().into_request();
                r.t = absolute_t(entry, r.t);
                (i, r)
            })
            .collect();
        let order = if inner.is_empty() {
            Vec::new()
        } else {
            main_chain(&inner).map_err(|e| format!("subagent '{}': {e}", entry.agent_id))?
        };
        let reqs: Vec<Indexed> = order.into_iter().map(|i| inner[i].clone()).collect();
        let sid = format!("{}::sa:{}", trace.id, entry.agent_id);
        children.push((outer, entry, sid, reqs));
    }
    Ok(Plan {
        source,
        bs,
        normals,
        children,
    })
}

/// Subagents sharing a (spawning turn, joining turn): their indices and earliest spawn time.
type Group = ((usize, Option<usize>), Vec<usize>, f64);

/// A trace's root (none when no top-level request is left) and child conversations, with
/// the spawn / join topology.
fn build(
    p: &Plan<'_>,
    texts: &Texts<'_>,
    ctx: &LoadContext<'_>,
    max_osl: Option<u64>,
) -> Result<(Option<Conversation>, Vec<Conversation>), String> {
    let trace = &p.source.trace;
    if p.normals.is_empty() {
        // Nothing to send and nothing to spawn the subagents (all dropped by plan()).
        return Ok((None, Vec::new()));
    }
    let scope_seed = mix(ctx.seed, fnv(&trace.id));
    let scope = move |h: i64| mix(scope_seed, h as u64);
    let mut turns = stream_turns(
        &p.normals,
        &trace.id,
        p.bs,
        texts,
        &scope,
        (trace.tool_tokens, trace.system_tokens),
        ctx,
        max_osl,
    )
    .map_err(|e| format!("request {}: {e}", p.normals[0].0))?;
    turns[0].timestamp_ms = Some(p.normals[0].1.t * 1000.0).filter(|t| t.is_finite());

    // Subagents grouped by (spawning turn, joining turn), groups in order of first
    // appearance; a group's spawn time is its earliest marker.
    let mut by_outer: Vec<(usize, usize, f64)> = p
        .normals
        .iter()
        .enumerate()
        .map(|(pos, (outer, r))| (*outer, pos, r.t))
        .collect();
    by_outer.sort_by_key(|n| n.0);
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of = Vec::with_capacity(p.children.len());
    for (ci, (outer, entry, _, _)) in p.children.iter().enumerate() {
        // plan() kept only subagents after some parent turn.
        let spawn = by_outer
            .iter()
            .filter(|n| n.0 < *outer)
            .map(|n| n.1)
            .max()
            .unwrap_or(0);
        let end = subagent_end(entry);
        let join = by_outer
            .iter()
            .find(|n| n.0 > *outer && n.2 + EPSILON_S >= end)
            .map(|n| n.1);
        let g = match groups.iter().position(|g| g.0 == (spawn, join)) {
            Some(g) => {
                groups[g].1.push(ci);
                groups[g].2 = groups[g].2.min(entry.t);
                g
            }
            None => {
                groups.push(((spawn, join), vec![ci], entry.t));
                groups.len() - 1
            }
        };
        group_of.push(g);
    }
    // Children in subagent order (AIPerf's emission order).
    let mut kids = Vec::new();
    for (ci, (_, entry, sid, reqs)) in p.children.iter().enumerate() {
        // A subagent without requests sends nothing: left out (AIPerf's empty child).
        if reqs.is_empty() {
            continue;
        }
        let mut t = stream_turns(
            reqs,
            sid,
            p.bs,
            texts,
            &scope,
            (entry.tool_tokens, entry.system_tokens),
            ctx,
            None,
        )
        .map_err(|e| format!("subagent '{}': {e}", entry.agent_id))?;
        // The recorded gap from the branch's spawn to the child's first request.
        let start_s = groups[group_of[ci]].2;
        t[0].delay_ms =
            Some((reqs[0].1.t * 1000.0 - start_s * 1000.0).max(0.0)).filter(|d| d.is_finite());
        kids.push(Conversation {
            session_id: sid.clone(),
            turns: t,
            independent_turns: true,
            dag: Some(Box::new(Dag {
                root: false,
                branches: Vec::new(),
            })),
            ..Default::default()
        });
    }
    let branches = groups
        .iter()
        .filter_map(|((spawn, join), members, _)| {
            let children: Vec<String> = members
                .iter()
                .map(|&ci| &p.children[ci])
                .filter(|c| !c.3.is_empty())
                .map(|c| c.2.clone())
                .collect();
            (!children.is_empty()).then(|| Branch {
                id: format!("{}:spawn:{}", trace.id, p.children[members[0]].1.agent_id),
                after_turn: Some(*spawn),
                mode: BranchMode::Spawn,
                children,
                background: join.is_none(),
                join_before: *join,
            })
        })
        .collect();
    let root = Conversation {
        session_id: trace.id.clone(),
        turns,
        independent_turns: true,
        dag: Some(Box::new(Dag {
            root: true,
            branches,
        })),
        ..Default::default()
    };
    Ok((Some(root), kids))
}

#[cfg(test)]
mod tests;
