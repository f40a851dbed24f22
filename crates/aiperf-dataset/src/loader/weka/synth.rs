//! AIPerf's `ConversationReconstructor` (`weka_synth_buf.py`): a conversation's message list
//! rebuilt turn by turn from hash ids, so every request carries the recorded context and a
//! server's prefix cache sees the recorded reuse.
//!
//! Each turn's prompt is tiled by its hash blocks: the blocks it shares with the previous
//! request (their longest common prefix) are kept as they were sent, the rest is new. The
//! first `ceil(prev_out / block_size)` new blocks become the assistant message that answered
//! the previous turn, the remainder (plus the tokens past the last whole block) a user
//! message. A prompt that keeps less than the previous one (compaction) cuts the list back
//! at the common prefix. Turn 0 opens with one system message of the declared tool + system
//! tokens (rounded up to blocks) when the trace declares any.

/// Who a message is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// Text for whole hash blocks followed by a synthetic tail of `n` tokens drawn from `seed`.
pub trait Decode {
    fn text(&self, blocks: &[u64], tail: Option<(usize, u64)>) -> String;
}

/// One message: whole blocks (scoped hash ids), then optional synthetic tail tokens.
#[derive(Debug, Clone)]
pub struct Segment {
    pub role: Role,
    pub blocks: Vec<u64>,
    pub tail: Option<(usize, u64)>,
    pub text: String,
}

impl Segment {
    fn new(role: Role, blocks: Vec<u64>, tail: Option<(usize, u64)>, d: &dyn Decode) -> Self {
        let text = d.text(&blocks, tail);
        Segment {
            role,
            blocks,
            tail,
            text,
        }
    }
}

/// Per-turn block accounting shared by [`Reconstructor::advance`] and [`asst_block_caps`]
/// (AIPerf's `compute_turn_block_geometry`).
struct Geometry {
    lcp: usize,
    covered: usize,
    new_blocks: usize,
    tail: usize,
}

fn lcp(a: &[i64], b: &[i64]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn geometry(prev: &[i64], curr: &[i64], curr_in: usize, bs: usize) -> Geometry {
    let full = curr_in / bs;
    let covered = curr.len().min(full);
    let missing = full.saturating_sub(curr.len()) * bs;
    let l = lcp(prev, curr);
    Geometry {
        lcp: l,
        covered,
        new_blocks: covered.saturating_sub(l),
        tail: curr_in % bs + missing,
    }
}

/// AIPerf's `compute_asst_block_caps`: per turn, the most assistant blocks it may take so a
/// later block-aligned pull-back cuts onto a user block (every request ends with a user
/// message). `turns` is `(hash_ids, input_length)` per turn.
pub fn asst_block_caps(turns: &[(&[i64], usize)], bs: usize) -> Vec<Option<usize>> {
    let mut caps = vec![None; turns.len()];
    let mut tile: Vec<usize> = Vec::new();
    let mut eff_lcp = vec![0usize; turns.len()];
    for (k, &(ids, input)) in turns.iter().enumerate() {
        let prev: &[i64] = if k > 0 { turns[k - 1].0 } else { &[] };
        let g = geometry(prev, ids, input, bs);
        if k == 0 {
            tile = vec![0; g.covered];
            continue;
        }
        let e = g.lcp.min(tile.len());
        eff_lcp[k] = e;
        let new_blocks = g.covered.saturating_sub(e);
        if new_blocks == 0 && g.tail == 0 && e >= 1 {
            let owner = tile[e - 1];
            if owner != 0 && e > eff_lcp[owner] {
                let bound = (e - 1) - eff_lcp[owner];
                caps[owner] = Some(caps[owner].map_or(bound, |c: usize| c.min(bound)));
            }
        }
        tile.truncate(e);
        tile.extend(std::iter::repeat_n(k, new_blocks));
    }
    caps
}

/// The message list of one conversation as it grows turn by turn.
pub struct Reconstructor<'d> {
    bs: usize,
    decode: &'d dyn Decode,
    /// Scopes hash ids to their trace (`hash_id_scope: "local"`).
    scope: &'d dyn Fn(i64) -> u64,
    pub segments: Vec<Segment>,
}

impl<'d> Reconstructor<'d> {
    pub fn new(bs: usize, decode: &'d dyn Decode, scope: &'d dyn Fn(i64) -> u64) -> Self {
        Reconstructor {
            bs,
            decode,
            scope,
            segments: Vec::new(),
        }
    }

    fn scoped(&self, ids: &[i64]) -> Vec<u64> {
        ids.iter().map(|&h| (self.scope)(h)).collect()
    }

    /// Turn 0 (AIPerf's `init_turn_0`): the declared tool + system prefix as one system
    /// message, the rest user content. Refused when the prefix needs more blocks than were
    /// recorded (AIPerf: synthesizing it would fake the cache prefix the trace measures).
    pub fn init(
        &mut self,
        hash_ids: &[i64],
        input: usize,
        tool_tokens: i64,
        system_tokens: i64,
        tail_seed: u64,
    ) -> Result<(), String> {
        let bs = self.bs;
        let full = input / bs;
        let partial = input - full * bs;
        let covered = full.min(hash_ids.len());
        let missing = (full - covered) * bs;
        let mut cursor = 0;
        let mut segs = Vec::new();
        if tool_tokens > 0 || system_tokens > 0 {
            let prefix = tool_tokens.max(0).saturating_add(system_tokens.max(0)) as usize;
            let mut blocks = prefix.div_ceil(bs);
            if blocks > 0 {
                if blocks > hash_ids.len() {
                    return Err(format!(
                        "the turn-0 system prefix needs {blocks} hash blocks but only {} were recorded (tool_tokens={tool_tokens}, system_tokens={system_tokens}, block_size={bs})",
                        hash_ids.len()
                    ));
                }
                blocks = blocks.min(covered);
            }
            if blocks > 0 {
                segs.push(Segment::new(
                    Role::System,
                    self.scoped(&hash_ids[..blocks]),
                    None,
                    self.decode,
                ));
                cursor = blocks;
            }
        }
        let tail_n = missing + partial;
        let user_blocks = self.scoped(&hash_ids[cursor..covered]);
        if !user_blocks.is_empty() || tail_n > 0 || segs.is_empty() {
            let tail = (tail_n > 0).then_some((tail_n, tail_seed));
            segs.push(Segment::new(Role::User, user_blocks, tail, self.decode));
        }
        self.segments = segs;
        Ok(())
    }

    /// Turn k > 0 (AIPerf's `advance_turn`): cut back to the common prefix with the previous
    /// request, then the previous answer's blocks as an assistant message and the rest as a
    /// user message.
    #[allow(clippy::too_many_arguments)]
    pub fn advance(
        &mut self,
        prev_hash_ids: &[i64],
        prev_out: usize,
        hash_ids: &[i64],
        input: usize,
        tail_seed: u64,
        max_asst_blocks: Option<usize>,
    ) {
        let bs = self.bs;
        let g = geometry(prev_hash_ids, hash_ids, input, bs);
        self.truncate(g.lcp);
        let new_ids = if g.lcp < g.covered {
            self.scoped(&hash_ids[g.lcp..g.covered])
        } else {
            Vec::new()
        };
        let mut asst = if prev_out > 0 {
            prev_out.div_ceil(bs)
        } else {
            0
        };
        if !self.segments.iter().any(|s| s.role == Role::User) {
            asst = 0;
        }
        asst = asst.min(g.new_blocks);
        if let Some(cap) = max_asst_blocks {
            asst = asst.min(cap);
        }
        if g.tail == 0 && asst == g.new_blocks && asst > 0 {
            asst -= 1;
        }
        let (a, u) = new_ids.split_at(asst.min(new_ids.len()));
        if !a.is_empty() {
            self.segments
                .push(Segment::new(Role::Assistant, a.to_vec(), None, self.decode));
        }
        if !u.is_empty() || g.tail > 0 {
            let tail = (g.tail > 0).then_some((g.tail, tail_seed));
            self.segments
                .push(Segment::new(Role::User, u.to_vec(), tail, self.decode));
        }
    }

    /// AIPerf's `truncate_synth_buf_at_block`: keep the first `target` blocks.
    fn truncate(&mut self, target: usize) {
        if target == 0 {
            self.segments.clear();
            return;
        }
        let mut cursor = 0;
        for i in 0..self.segments.len() {
            let n = self.segments[i].blocks.len();
            if cursor + n < target {
                cursor += n;
                continue;
            }
            if cursor + n == target {
                let seg = &mut self.segments[i];
                if seg.tail.take().is_some() {
                    seg.text = self.decode.text(&seg.blocks, None);
                }
                self.segments.truncate(i + 1);
                return;
            }
            if cursor == target {
                self.segments.truncate(i);
                return;
            }
            let seg = &mut self.segments[i];
            seg.blocks.truncate(target - cursor);
            seg.tail = None;
            seg.text = self.decode.text(&seg.blocks, None);
            self.segments.truncate(i + 1);
            return;
        }
    }
}
