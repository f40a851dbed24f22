//! `aiperf analyze swim-lane`: one lane per concurrent session slot of a run, each request a
//! bar from its start to its end (the first token splits it into waiting and generating;
//! failed requests in red), and the requests-in-flight curve below, as AIPerf 0.13's
//! `aiperf/analysis/swim_lane.py` lays it out.
//!
//! Reading streams `profile_export.jsonl` line by line and keeps a few numbers per request
//! ([`Request`]); drawing ([`draw`]) merges bars per pixel, so the image size and the number
//! of SVG elements are bounded whatever the run's length.

mod draw;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use draw::{png, svg, Picture};

/// The records file AIPerf reads.
pub const RECORDS_FILE: &str = "profile_export.jsonl";
/// The summary file the ramp and benchmark-end markers come from.
pub const SUMMARY_FILE: &str = "profile_export_aiperf.json";

/// Why no swim lane could be drawn; the message names the file (and line).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SwimLaneError(pub String);

/// One request, as much as the picture needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request {
    /// Wall-clock request start and end (ns).
    pub start_ns: u64,
    pub end_ns: u64,
    /// Start + TTFT, clamped into the request; `None` without a TTFT.
    pub first_token_ns: Option<u64>,
    /// The record carries an `error`.
    pub failed: bool,
    /// Index of the record's session in [`Run::sessions`].
    pub session: u32,
    /// The record's `turn_index`.
    pub turn: u32,
}

/// One session instance (`x_correlation_id`, else `conversation_id`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Session {
    pub id: String,
    /// Ran at `agent_depth > 0`.
    pub is_sub: bool,
    /// `root_correlation_id`, if any record of the session carries one.
    pub root: Option<String>,
    /// `parent_correlation_id`, if any record of the session carries one.
    pub parent: Option<String>,
}

/// The requests of one run that have a start and an end and were not cancelled.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub requests: Vec<Request>,
    pub sessions: Vec<Session>,
}

#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    metrics: Option<Metrics>,
    #[serde(default)]
    error: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize, Default)]
struct Meta {
    request_start_ns: Option<u64>,
    request_end_ns: Option<u64>,
    x_correlation_id: Option<String>,
    conversation_id: Option<String>,
    root_correlation_id: Option<String>,
    parent_correlation_id: Option<String>,
    turn_index: Option<u32>,
    agent_depth: Option<u32>,
    was_cancelled: Option<bool>,
}

#[derive(Deserialize)]
struct Metrics {
    time_to_first_token: Option<Value>,
}

#[derive(Deserialize)]
struct Value {
    value: Option<f64>,
}

/// Reads `path` line by line. Skips blank lines, cancelled records and records without a
/// start or end, as AIPerf does; a line that is not a record is an error naming `file:line`.
pub fn read_run(path: &Path) -> Result<Run, SwimLaneError> {
    let file = std::fs::File::open(path)
        .map_err(|e| SwimLaneError(format!("{}: {}", path.display(), io_reason(&e))))?;
    let mut run = Run::default();
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut buf = String::new();
    let mut reader = BufReader::new(file);
    for number in 1.. {
        buf.clear();
        let n = reader
            .read_line(&mut buf)
            .map_err(|e| SwimLaneError(format!("{}:{number}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        if buf.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(buf.trim()).map_err(|e| {
            SwimLaneError(format!(
                "{}:{number}: not a JSON record: {e}",
                path.display()
            ))
        })?;
        run.push(line, &mut ids);
    }
    Ok(run)
}

fn io_reason(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        "not found".to_string()
    } else {
        e.to_string()
    }
}

impl Run {
    fn push(&mut self, line: Line, ids: &mut HashMap<String, u32>) {
        let m = line.metadata;
        let (Some(start_ns), Some(end_ns)) = (m.request_start_ns, m.request_end_ns) else {
            return;
        };
        if m.was_cancelled == Some(true) {
            return;
        }
        let key = m
            .x_correlation_id
            .filter(|s| !s.is_empty())
            .or(m.conversation_id)
            .unwrap_or_default();
        let next = self.sessions.len() as u32;
        let session = *ids.entry(key.clone()).or_insert(next);
        if session == next {
            self.sessions.push(Session {
                id: key,
                ..Session::default()
            });
        }
        let s = &mut self.sessions[session as usize];
        s.is_sub |= m.agent_depth.unwrap_or(0) > 0;
        if s.root.is_none() {
            s.root = m.root_correlation_id.filter(|r| !r.is_empty());
        }
        if s.parent.is_none() {
            s.parent = m.parent_correlation_id.filter(|r| !r.is_empty());
        }
        let end_ns = end_ns.max(start_ns);
        let ttft_ms = line
            .metrics
            .and_then(|m| m.time_to_first_token)
            .and_then(|v| v.value);
        self.requests.push(Request {
            start_ns,
            end_ns,
            first_token_ns: first_token(start_ns, end_ns, ttft_ms),
            failed: line.error.is_some(),
            session,
            turn: m.turn_index.unwrap_or(0),
        });
    }
}

/// Start + TTFT clamped into `[start, end]` (AIPerf's `_generation_start_ns`).
fn first_token(start_ns: u64, end_ns: u64, ttft_ms: Option<f64>) -> Option<u64> {
    let ttft = ttft_ms.filter(|t| t.is_finite())?;
    let at = start_ns as f64 + (ttft * 1e6).max(0.0);
    Some((at.round() as u64).clamp(start_ns, end_ns))
}

/// Where every request goes: its slot's row in the picture.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Row of each request (same order as [`Run::requests`]).
    pub request_row: Vec<u32>,
    /// Lane colour index of each request (its lane group's order).
    pub request_lane: Vec<u32>,
    /// First row and row count of each slot.
    pub slot_rows: Vec<(u32, u32)>,
    /// Sessions' idle gaps between their requests.
    pub idle: Vec<Idle>,
    /// A later lane group taking over a slot: (slot, its start ns).
    pub reuse: Vec<(u32, u64)>,
    /// Number of lane groups (root sessions).
    pub lanes: u32,
}

/// A session's gap between two of its requests, drawn as a pale band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Idle {
    pub row: u32,
    pub rows: u32,
    pub from_ns: u64,
    pub to_ns: u64,
    pub lane: u32,
}

impl Layout {
    /// Number of rows of the picture.
    pub fn total_rows(&self) -> u32 {
        self.slot_rows.last().map_or(0, |(first, n)| first + n)
    }
}

/// AIPerf's layout: sessions grouped under their root (`root_correlation_id`, else the
/// `parent_correlation_id` walk), groups greedily packed into slots (a slot is reused once its
/// group ended), parallel requests of a session stacked in sub-rows, subagents in child rows.
pub fn layout(run: &Run) -> Layout {
    let roots = root_keys(&run.sessions);
    let mut by_session: Vec<Vec<usize>> = vec![Vec::new(); run.sessions.len()];
    for (i, r) in run.requests.iter().enumerate() {
        by_session[r.session as usize].push(i);
    }
    let mut group_of: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for (s, key) in roots.iter().enumerate() {
        if by_session[s].is_empty() {
            continue;
        }
        let g = *group_of.entry(key.as_str()).or_insert_with(|| {
            groups.push(Group::default());
            groups.len() - 1
        });
        let span = span(run, &by_session[s]);
        let group = &mut groups[g];
        group.span = merge_span(group.span, span);
        if run.sessions[s].id == *key {
            group.root = Some(s);
        } else {
            group.kids.push(s);
        }
    }
    place(run, &by_session, groups)
}

#[derive(Default)]
struct Group {
    root: Option<usize>,
    kids: Vec<usize>,
    span: Option<(u64, u64)>,
}

fn span(run: &Run, reqs: &[usize]) -> Option<(u64, u64)> {
    let start = reqs.iter().map(|&i| run.requests[i].start_ns).min()?;
    let end = reqs.iter().map(|&i| run.requests[i].end_ns).max()?;
    Some((start, end))
}

fn merge_span(a: Option<(u64, u64)>, b: Option<(u64, u64)>) -> Option<(u64, u64)> {
    match (a, b) {
        (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
        (a, b) => a.or(b),
    }
}

/// The lane key of every session.
fn root_keys(sessions: &[Session]) -> Vec<String> {
    if sessions.iter().any(|s| s.root.is_some()) {
        return sessions
            .iter()
            .map(|s| s.root.clone().unwrap_or_else(|| s.id.clone()))
            .collect();
    }
    let index: HashMap<&str, usize> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    (0..sessions.len())
        .map(|i| walk_to_root(sessions, &index, i))
        .collect()
}

/// Follows `parent` through sessions present in the export; an absent parent is the key.
fn walk_to_root(sessions: &[Session], index: &HashMap<&str, usize>, from: usize) -> String {
    let mut seen = vec![from];
    let mut cur = from;
    while let Some(parent) = sessions[cur].parent.as_deref() {
        match index.get(parent) {
            Some(&p) if seen.contains(&p) => return sessions[from].id.clone(),
            Some(&p) => {
                seen.push(p);
                cur = p;
            }
            None => return parent.to_string(),
        }
    }
    sessions[cur].id.clone()
}

/// Greedy first-fit of intervals into rows: the row of each interval, and the row count.
fn pack(intervals: &[(u64, u64)]) -> (Vec<u32>, u32) {
    let mut order: Vec<usize> = (0..intervals.len()).collect();
    order.sort_by_key(|&i| intervals[i]);
    let mut ends: Vec<u64> = Vec::new();
    let mut rows = vec![0u32; intervals.len()];
    for i in order {
        let (start, end) = intervals[i];
        let row = match ends.iter().position(|&e| start >= e) {
            Some(r) => r,
            None => {
                ends.push(0);
                ends.len() - 1
            }
        };
        ends[row] = end;
        rows[i] = row as u32;
    }
    (rows, ends.len() as u32)
}

fn place(run: &Run, by_session: &[Vec<usize>], mut groups: Vec<Group>) -> Layout {
    groups.sort_by_key(|g| g.span);
    let spans: Vec<(u64, u64)> = groups.iter().map(|g| g.span.unwrap_or((0, 0))).collect();
    let (slot_of, n_slots) = pack(&spans);
    let mut request_row = vec![0u32; run.requests.len()];
    let mut request_lane = vec![0u32; run.requests.len()];
    let mut slot_height = vec![1u32; n_slots as usize];
    let mut placed: Vec<(u32, u32, u32, usize)> = Vec::new(); // (slot, row in slot, rows, session)
    for (gi, g) in groups.iter_mut().enumerate() {
        let slot = slot_of[gi];
        let root_rows = g.root.map_or(0, |s| session_rows(run, &by_session[s]).1);
        if let Some(s) = g.root {
            placed.push((slot, 0, root_rows, s));
        }
        g.kids.sort_by_key(|&k| span(run, &by_session[k]));
        let kid_spans: Vec<(u64, u64)> = g
            .kids
            .iter()
            .map(|&k| span(run, &by_session[k]).unwrap_or((0, 0)))
            .collect();
        let mut row_ends: Vec<u64> = Vec::new();
        for (j, &k) in g.kids.iter().enumerate() {
            let rows = session_rows(run, &by_session[k]).1;
            let (start, end) = kid_spans[j];
            let row = (0..=row_ends.len())
                .find(|&r| {
                    (r..r + rows as usize).all(|x| row_ends.get(x).is_none_or(|&e| e <= start))
                })
                .unwrap_or(row_ends.len());
            row_ends.resize(row_ends.len().max(row + rows as usize), 0);
            row_ends[row..row + rows as usize].fill(end);
            placed.push((slot, root_rows + row as u32, rows, k));
        }
        let h = root_rows + row_ends.len() as u32;
        slot_height[slot as usize] = slot_height[slot as usize].max(h);
        for &s in g.root.iter().chain(&g.kids) {
            for &i in &by_session[s] {
                request_lane[i] = gi as u32;
            }
        }
    }
    let mut slot_rows = Vec::with_capacity(n_slots as usize);
    let mut first = 0;
    for h in &slot_height {
        slot_rows.push((first, *h));
        first += h;
    }
    let mut idle = Vec::new();
    for &(slot, row0, rows, s) in &placed {
        let base = slot_rows[slot as usize].0 + row0;
        let (depths, _) = session_rows(run, &by_session[s]);
        let lane = request_lane[by_session[s][0]];
        for (&i, d) in by_session[s].iter().zip(depths) {
            request_row[i] = base + d;
        }
        for (from_ns, to_ns) in gaps(run, &by_session[s]) {
            idle.push(Idle {
                row: base,
                rows,
                from_ns,
                to_ns,
                lane,
            });
        }
    }
    let mut reuse = Vec::new();
    let mut seen = vec![false; n_slots as usize];
    for (gi, &slot) in slot_of.iter().enumerate() {
        if std::mem::replace(&mut seen[slot as usize], true) {
            reuse.push((slot, spans[gi].0));
        }
    }
    Layout {
        request_row,
        request_lane,
        slot_rows,
        idle,
        reuse,
        lanes: groups.len() as u32,
    }
}

/// Sub-row of each of a session's requests (parallel ones stacked) and the row count.
fn session_rows(run: &Run, reqs: &[usize]) -> (Vec<u32>, u32) {
    let iv: Vec<(u64, u64)> = reqs
        .iter()
        .map(|&i| (run.requests[i].start_ns, run.requests[i].end_ns))
        .collect();
    pack(&iv)
}

/// The gaps between the union of a session's request intervals.
fn gaps(run: &Run, reqs: &[usize]) -> Vec<(u64, u64)> {
    let mut iv: Vec<(u64, u64)> = reqs
        .iter()
        .map(|&i| (run.requests[i].start_ns, run.requests[i].end_ns))
        .collect();
    iv.sort_unstable();
    let mut out = Vec::new();
    let mut end = match iv.first() {
        Some(f) => f.1,
        None => return out,
    };
    for &(s, e) in &iv[1..] {
        if s > end {
            out.push((end, s));
        }
        end = end.max(e);
    }
    out
}

/// Exact step curve of a count over time: `(t, value from t on)` at every event, ends before
/// starts at equal times (AIPerf's `concurrency_sweep_line`).
pub fn sweep(intervals: impl Iterator<Item = (u64, u64)>) -> Vec<(u64, i64)> {
    let mut events: Vec<(u64, i8)> = Vec::new();
    for (s, e) in intervals {
        events.push((s, 1));
        events.push((e, -1));
    }
    events.sort_unstable();
    let mut level = 0i64;
    events
        .into_iter()
        .map(|(t, d)| {
            level += i64::from(d);
            (t, level)
        })
        .collect()
}

/// Requests in flight over time.
pub fn active_curve(run: &Run) -> Vec<(u64, i64)> {
    sweep(run.requests.iter().map(|r| (r.start_ns, r.end_ns)))
}

/// Sessions alive (between their first start and last end) but with no request in flight.
pub fn idle_curve(run: &Run) -> Vec<(u64, i64)> {
    let mut spans: Vec<Option<(u64, u64)>> = vec![None; run.sessions.len()];
    for r in &run.requests {
        let s = &mut spans[r.session as usize];
        *s = merge_span(*s, Some((r.start_ns, r.end_ns)));
    }
    let mut events: Vec<(u64, i8, i64)> = Vec::new();
    for (s, e) in spans.into_iter().flatten() {
        events.push((s, 1, 1));
        events.push((e, 0, -1));
    }
    for r in &run.requests {
        events.push((r.start_ns, 1, -1));
        events.push((r.end_ns, 0, 1));
    }
    events.sort_unstable();
    let mut level = 0i64;
    let mut out: Vec<(u64, i64)> = Vec::new();
    for (t, _, d) in events {
        level += d;
        match out.last_mut() {
            Some(last) if last.0 == t => last.1 = level.max(0),
            _ => out.push((t, level.max(0))),
        }
    }
    out
}

/// The largest value of a curve.
pub fn peak(curve: &[(u64, i64)]) -> i64 {
    curve.iter().map(|p| p.1).max().unwrap_or(0)
}

/// Ramp duration and benchmark duration (seconds) from the run's summary, when present.
pub fn markers(run_dir: &Path) -> (Option<f64>, Option<f64>) {
    let Ok(text) = std::fs::read_to_string(run_dir.join(SUMMARY_FILE)) else {
        return (None, None);
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return (None, None);
    };
    let input = &v["input_config"];
    let phases = input["phases"].as_array().into_iter().flatten();
    let ramp = phases
        .filter(|p| p["exclude_from_results"].as_bool() != Some(true))
        .find_map(|p| p["concurrency_ramp"]["duration"].as_f64())
        .or_else(|| input["loadgen"]["concurrency_ramp_duration"].as_f64());
    let bench = [
        &v["benchmark_duration"],
        &input["loadgen"]["benchmark_duration"],
    ]
    .into_iter()
    .find_map(|b| b["avg"].as_f64().or_else(|| b.as_f64()));
    (ramp, bench)
}

/// Everything `aiperf analyze swim-lane` needs for one run directory.
#[derive(Debug, Clone)]
pub struct Options {
    pub out: Option<PathBuf>,
    pub concurrency: Option<u64>,
    pub ramp: Option<f64>,
}

/// The files written for one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub png: PathBuf,
    pub svg: PathBuf,
    /// Peak requests in flight.
    pub peak: i64,
    /// Number of slots (lanes) drawn.
    pub slots: u32,
}

/// Reads `run_dir`'s records and writes the PNG (`out`, default `<run_dir>/swim_lane.png`) and
/// an SVG beside it.
pub fn plot(run_dir: &Path, options: &Options) -> Result<Written, SwimLaneError> {
    let records = run_dir.join(RECORDS_FILE);
    if !records.is_file() {
        return Err(SwimLaneError(format!("{} not found", records.display())));
    }
    let run = read_run(&records)?;
    if run.requests.is_empty() {
        return Err(SwimLaneError(format!(
            "no valid records in {}",
            records.display()
        )));
    }
    let (ramp, bench) = markers(run_dir);
    let title = run_dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| run_dir.display().to_string());
    let picture = Picture::new(
        &run,
        &title,
        options.concurrency,
        options.ramp.or(ramp),
        bench,
    );
    let png_path = options
        .out
        .clone()
        .unwrap_or_else(|| run_dir.join("swim_lane.png"));
    let svg_path = png_path.with_extension("svg");
    let write = |path: &Path, bytes: &[u8]| {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| SwimLaneError(format!("failed to write {}: {e}", path.display())))?;
        }
        std::fs::write(path, bytes)
            .map_err(|e| SwimLaneError(format!("failed to write {}: {e}", path.display())))
    };
    let draw_err = |e: crate::render::RenderError| SwimLaneError(e.to_string());
    write(&png_path, &png(&picture).map_err(draw_err)?)?;
    write(&svg_path, svg(&picture).map_err(draw_err)?.as_bytes())?;
    Ok(Written {
        png: png_path,
        svg: svg_path,
        peak: picture.peak,
        slots: picture.slots(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(session: u32, start_ns: u64, end_ns: u64) -> Request {
        Request {
            start_ns,
            end_ns,
            first_token_ns: None,
            failed: false,
            session,
            turn: 0,
        }
    }

    fn sessions(ids: &[&str]) -> Vec<Session> {
        ids.iter()
            .map(|id| Session {
                id: id.to_string(),
                ..Session::default()
            })
            .collect()
    }

    #[test]
    fn sweep_counts_overlaps_and_ends_before_starts() {
        // [0,10) [5,15) [10,20): at 10 one ends and one starts, so the peak is 2, not 3.
        let curve = sweep([(0, 10), (5, 15), (10, 20)].into_iter());
        assert_eq!(peak(&curve), 2);
        assert_eq!(
            curve,
            vec![(0, 1), (5, 2), (10, 1), (10, 2), (15, 1), (20, 0)]
        );
    }

    #[test]
    fn slots_are_reused_after_a_session_ends() {
        // a: [0,10] [12,20]; b: [5,8]; c: [21,30] starts after a and b ended -> slot 0 reused.
        let run = Run {
            requests: vec![req(0, 0, 10), req(0, 12, 20), req(1, 5, 8), req(2, 21, 30)],
            sessions: sessions(&["a", "b", "c"]),
        };
        let l = layout(&run);
        assert_eq!(l.slot_rows, vec![(0, 1), (1, 1)]);
        assert_eq!(l.request_row, vec![0, 0, 1, 0]);
        assert_eq!(l.reuse, vec![(0, 21)]);
        assert_eq!(
            l.idle,
            vec![Idle {
                row: 0,
                rows: 1,
                from_ns: 10,
                to_ns: 12,
                lane: 0
            }]
        );
        assert_eq!(l.lanes, 3);
    }

    #[test]
    fn parallel_requests_and_subagents_get_rows_of_their_own() {
        // root r has two overlapping requests (2 rows); its subagent s nests below them.
        let mut ss = sessions(&["r", "s"]);
        ss[0].root = Some("r".into());
        ss[1].root = Some("r".into());
        ss[1].is_sub = true;
        let run = Run {
            requests: vec![req(0, 0, 10), req(0, 2, 6), req(1, 3, 9)],
            sessions: ss,
        };
        let l = layout(&run);
        assert_eq!(l.slot_rows, vec![(0, 3)]);
        assert_eq!(l.request_row, vec![0, 1, 2]);
        assert_eq!(l.lanes, 1);
    }

    #[test]
    fn parent_walk_groups_legacy_subagents_under_an_absent_root() {
        let mut ss = sessions(&["k1", "k2"]);
        ss[0].parent = Some("gone".into());
        ss[1].parent = Some("k1".into());
        assert_eq!(root_keys(&ss), vec!["gone".to_string(), "gone".to_string()]);
    }

    #[test]
    fn idle_curve_counts_sessions_between_turns() {
        // session 0: [0,10] then [20,30]; idle exactly on (10,20).
        let run = Run {
            requests: vec![req(0, 0, 10), req(0, 20, 30)],
            sessions: sessions(&["a"]),
        };
        assert_eq!(idle_curve(&run), vec![(0, 0), (10, 1), (20, 0), (30, 0)]);
    }

    #[test]
    fn first_token_is_clamped_into_the_request() {
        assert_eq!(
            first_token(1_000_000, 5_000_000, Some(2.0)),
            Some(3_000_000)
        );
        assert_eq!(
            first_token(1_000_000, 5_000_000, Some(9.0)),
            Some(5_000_000)
        );
        assert_eq!(first_token(1_000_000, 5_000_000, None), None);
    }

    #[test]
    fn read_run_streams_skips_and_names_the_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(RECORDS_FILE);
        let good = r#"{"metadata":{"x_correlation_id":"a","request_start_ns":1000000,"request_end_ns":9000000},"metrics":{"time_to_first_token":{"value":2.0,"unit":"ms"}}}"#;
        let failed = r#"{"metadata":{"x_correlation_id":"b","request_start_ns":1,"request_end_ns":2},"metrics":{},"error":{"code":500}}"#;
        let cancelled = r#"{"metadata":{"x_correlation_id":"c","request_start_ns":1,"request_end_ns":2,"was_cancelled":true}}"#;
        let no_end = r#"{"metadata":{"x_correlation_id":"d","request_start_ns":1}}"#;
        std::fs::write(
            &path,
            format!("{good}\n\n{failed}\n{cancelled}\n{no_end}\n"),
        )
        .unwrap();
        let run = read_run(&path).unwrap();
        assert_eq!(run.requests.len(), 2);
        assert_eq!(run.requests[0].first_token_ns, Some(3_000_000));
        assert!(!run.requests[0].failed && run.requests[1].failed);
        assert_eq!(run.sessions.len(), 2);

        std::fs::write(&path, format!("{good}\n{{not json\n")).unwrap();
        let err = read_run(&path).unwrap_err().0;
        assert!(err.starts_with(&format!("{}:2: ", path.display())), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn markers_read_ramp_and_benchmark_duration() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(SUMMARY_FILE),
            r#"{"benchmark_duration":{"avg":12.5},"input_config":{"phases":[{"exclude_from_results":true,"concurrency_ramp":{"duration":1}},{"concurrency_ramp":{"duration":3.0}}]}}"#,
        )
        .unwrap();
        assert_eq!(markers(dir.path()), (Some(3.0), Some(12.5)));
        assert_eq!(markers(&dir.path().join("none")), (None, None));
    }
}
