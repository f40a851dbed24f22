//! Trace synthesis (`--synthesis-*`): a recorded trace reshaped before it is replayed, as
//! AIPerf 0.13's `Synthesizer` does for every trace format (`mooncake_trace`, `bailian_trace`,
//! `burst_gpt_trace`, ...). Prefix-sharing structure is kept while it is stretched:
//!
//! - the *shared prefix* of a row is its leading `hash_ids` that occur in at least two rows
//!   (counted over the whole trace); the rest of its input is its own prompt;
//! - `prefix_len_multiplier` > 1 replaces each prefix block `h` by `h*k .. h*k+k-1`
//!   (`k = floor(m)`) and appends fresh blocks up to `ceil(blocks * m)`; < 1 keeps the first
//!   `max(1, floor(blocks * m))` blocks;
//! - `prompt_len_multiplier` scales the own prompt (`floor(len * m)` tokens, fresh blocks);
//! - `prefix_root_multiplier` R spreads rows over R disjoint copies of the block space (a row
//!   picks a copy at random), so R independent prefix trees replace one;
//! - timestamps are divided by `speedup_ratio`; output lengths scaled (rounded, at least 1) and
//!   capped by `max_osl`; input lengths capped by `max_isl` (rows already longer than it are
//!   skipped by the loaders first: [`MaxIslFilter`]).
//!
//! A row whose prompt is literal text (or messages, or a payload) keeps its text: only its
//! blocks, timestamp and output length change.

use std::collections::{HashMap, HashSet};

use crate::rng::Rng;

/// The `--synthesis-*` flags (identity by default).
#[derive(Debug, Clone, PartialEq)]
pub struct SynthesisParams {
    pub speedup_ratio: f64,
    pub prefix_len_multiplier: f64,
    pub prefix_root_multiplier: u32,
    pub prompt_len_multiplier: f64,
    pub output_len_multiplier: f64,
    pub max_isl: Option<u64>,
    pub max_osl: Option<u64>,
}

impl Default for SynthesisParams {
    fn default() -> Self {
        Self {
            speedup_ratio: 1.0,
            prefix_len_multiplier: 1.0,
            prefix_root_multiplier: 1,
            prompt_len_multiplier: 1.0,
            output_len_multiplier: 1.0,
            max_isl: None,
            max_osl: None,
        }
    }
}

impl SynthesisParams {
    /// Whether any flag reshapes the trace (AIPerf's `_should_synthesize`; the caps alone do
    /// not).
    pub fn reshapes(&self) -> bool {
        self.speedup_ratio != 1.0
            || self.prefix_len_multiplier != 1.0
            || self.prefix_root_multiplier != 1
            || self.prompt_len_multiplier != 1.0
            || self.output_len_multiplier != 1.0
    }

    /// Whether any flag is set at all (then the input must be a trace format).
    pub fn is_set(&self) -> bool {
        self.reshapes() || self.max_isl.is_some() || self.max_osl.is_some()
    }
}

/// `--synthesis-max-isl` as trace loaders apply it before synthesis (AIPerf's
/// `_filter_and_cap_trace`): a row whose recorded input is longer is skipped, not cut (rows that
/// synthesis lengthens past it are cut afterwards, in [`apply`]).
#[derive(Debug, Default)]
pub struct MaxIslFilter {
    max: Option<u64>,
    skipped: u64,
}

impl MaxIslFilter {
    pub fn new(params: &SynthesisParams) -> Self {
        Self {
            max: params.max_isl,
            skipped: 0,
        }
    }

    /// Whether a row of `input_length` recorded tokens (if it gives one) stays.
    pub fn keeps(&mut self, input_length: Option<u64>) -> bool {
        let over = matches!((self.max, input_length), (Some(m), Some(n)) if n > m);
        self.skipped += u64::from(over);
        !over
    }

    /// Says how many rows were skipped, as AIPerf does.
    pub fn report(&self) {
        if let (Some(m), true) = (self.max, self.skipped > 0) {
            tracing::info!(
                "Skipped {} traces because input_length exceeded max_isl of {m}",
                self.skipped
            );
        }
    }
}

/// What synthesis reads and rewrites of one trace row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TraceRow {
    pub hash_ids: Vec<u64>,
    pub input_length: Option<u64>,
    pub output_length: Option<u64>,
    /// In the format's own unit (divided by the speed-up as it is).
    pub timestamp: Option<f64>,
    /// The prompt is literal (`text_input`, `messages`, `payload`): its length is not rewritten.
    pub literal: bool,
}

/// Why a trace cannot be synthesized.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("row {row}: input_length {input_length} is shorter than its {blocks} shared prefix blocks of {block_size} tokens")]
pub struct SynthesisError {
    pub row: usize,
    pub input_length: u64,
    pub blocks: usize,
    pub block_size: u64,
}

/// Rewrites `rows` (the whole trace, in file order) with `params`; `block_size` is the trace's
/// tokens per hash block. Only when [`SynthesisParams::is_set`].
pub fn apply(
    params: &SynthesisParams,
    rows: &mut [TraceRow],
    block_size: u64,
    seed: u64,
) -> Result<(), SynthesisError> {
    if params.reshapes() {
        reshape_blocks(params, rows, block_size, seed)?;
    }
    for row in rows.iter_mut() {
        if row.hash_ids.is_empty() && !row.literal && row.input_length.is_none() {
            row.input_length = Some(block_size);
        }
        if let (Some(cap), Some(len), false) = (params.max_isl, row.input_length, row.literal) {
            row.input_length = Some(len.min(cap));
        }
        if let Some(ts) = row.timestamp.filter(|_| params.speedup_ratio > 0.0) {
            row.timestamp = Some((ts / params.speedup_ratio).trunc());
        }
        if let Some(osl) = row.output_length {
            // Python's round(): halves to even.
            let mut scaled = (osl as f64 * params.output_len_multiplier).round_ties_even() as u64;
            if let Some(cap) = params.max_osl {
                scaled = scaled.min(cap);
            }
            row.output_length = Some(scaled.max(1));
        }
    }
    Ok(())
}

fn reshape_blocks(
    params: &SynthesisParams,
    rows: &mut [TraceRow],
    block_size: u64,
    seed: u64,
) -> Result<(), SynthesisError> {
    let mut seen: HashMap<u64, u32> = HashMap::new();
    for h in rows.iter().flat_map(|r| r.hash_ids.iter()) {
        *seen.entry(*h).or_default() += 1;
    }
    let shared: HashSet<u64> = seen
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(h, _)| h)
        .collect();
    let stretch = params.prefix_len_multiplier;
    let k = if stretch > 1.0 { stretch as u64 } else { 1 };
    // AIPerf's `max_hash_id` is (largest shared id + 1) * k; fresh ids start above it.
    let mut next_fresh = (shared.iter().copied().max().unwrap_or(0) + 1) * k + 1;
    for (i, row) in rows.iter_mut().enumerate() {
        if row.hash_ids.is_empty() {
            continue;
        }
        let prefix: Vec<u64> = row
            .hash_ids
            .iter()
            .take_while(|h| shared.contains(h))
            .copied()
            .collect();
        let input_length = row.input_length.unwrap_or(0);
        let prefix_len = prefix.len() as u64 * block_size;
        let Some(own_len) = input_length.checked_sub(prefix_len) else {
            return Err(SynthesisError {
                row: i + 1,
                input_length,
                blocks: prefix.len(),
                block_size,
            });
        };
        let mut ids: Vec<u64>;
        let new_prefix_len;
        if stretch > 1.0 {
            ids = prefix
                .iter()
                .flat_map(|h| (0..k).map(move |j| h * k + j))
                .collect();
            let target = (prefix.len() as f64 * stretch).ceil() as usize;
            while ids.len() < target {
                ids.push(next_fresh);
                next_fresh += 1;
            }
            new_prefix_len = ids.len() as u64 * block_size;
        } else if stretch < 1.0 {
            let keep = ((prefix.len() as f64 * stretch) as usize).max(1);
            ids = prefix[..keep.min(prefix.len())].to_vec();
            new_prefix_len = keep as u64 * block_size;
        } else {
            ids = prefix;
            new_prefix_len = prefix_len;
        }
        let new_own_len = (own_len as f64 * params.prompt_len_multiplier) as u64;
        let own_blocks = new_own_len.div_ceil(block_size);
        ids.extend(next_fresh..next_fresh + own_blocks);
        next_fresh += own_blocks;
        row.hash_ids = ids;
        if !row.literal {
            row.input_length = Some(new_prefix_len + new_own_len);
        }
    }
    if params.prefix_root_multiplier > 1 {
        let offset = next_fresh;
        let mut rng = Rng::derive(seed, "dataset.synthesis.synthesizer");
        for row in rows.iter_mut().filter(|r| !r.hash_ids.is_empty()) {
            let tree = rng.below(u64::from(params.prefix_root_multiplier));
            for h in &mut row.hash_ids {
                *h += tree * offset;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ids: &[u64], isl: u64, osl: u64, ts: f64) -> TraceRow {
        TraceRow {
            hash_ids: ids.to_vec(),
            input_length: Some(isl),
            output_length: Some(osl),
            timestamp: Some(ts),
            literal: false,
        }
    }

    /// Two rows share blocks 0 and 1; row 1 has its own block 2, row 2 its own block 3
    /// (block size 4). Worked by hand below.
    fn trace() -> Vec<TraceRow> {
        vec![
            row(&[0, 1, 2], 10, 5, 1000.0),
            row(&[0, 1, 3], 12, 7, 2500.0),
        ]
    }

    #[test]
    fn identity_changes_nothing() {
        let mut t = trace();
        apply(&SynthesisParams::default(), &mut t, 4, 1).unwrap();
        assert_eq!(t, trace());
    }

    #[test]
    fn prefix_stretch_by_two_doubles_shared_blocks_only() {
        let mut t = trace();
        let p = SynthesisParams {
            prefix_len_multiplier: 2.0,
            ..Default::default()
        };
        apply(&p, &mut t, 4, 1).unwrap();
        // Shared {0, 1}, max 1: fresh ids start above (1 + 1) * 2 = 4. Prefix 0,1 -> 0,1,2,3
        // (16 tokens); own prompt 10 - 8 = 2 tokens -> one fresh block 5; length 16 + 2.
        // (AIPerf 0.13's Synthesizer gives the same ids and lengths on this trace.)
        assert_eq!(t[0].hash_ids, vec![0, 1, 2, 3, 5]);
        assert_eq!(t[0].input_length, Some(18));
        // Row 2: own prompt 12 - 8 = 4 tokens -> one block 6; length 20.
        assert_eq!(t[1].hash_ids, vec![0, 1, 2, 3, 6]);
        assert_eq!(t[1].input_length, Some(20));
    }

    #[test]
    fn fractional_stretch_adds_fresh_prefix_blocks() {
        let mut t = trace();
        let p = SynthesisParams {
            prefix_len_multiplier: 1.5,
            ..Default::default()
        };
        apply(&p, &mut t, 4, 1).unwrap();
        // k = 1, fresh from 3; target ceil(2 * 1.5) = 3 prefix blocks: 0, 1, fresh 3;
        // own 2 tokens -> fresh 4; length 12 + 2 = 14.
        assert_eq!(t[0].hash_ids, vec![0, 1, 3, 4]);
        assert_eq!(t[0].input_length, Some(14));
        // Row 2: fresh prefix block 5, own block 6; 12 + 4 = 16.
        assert_eq!(t[1].hash_ids, vec![0, 1, 5, 6]);
        assert_eq!(t[1].input_length, Some(16));
    }

    #[test]
    fn shrinking_and_prompt_scaling() {
        let mut t = trace();
        let p = SynthesisParams {
            prefix_len_multiplier: 0.5,
            prompt_len_multiplier: 3.0,
            ..Default::default()
        };
        apply(&p, &mut t, 4, 1).unwrap();
        // Keep max(1, floor(2 * 0.5)) = 1 prefix block; own 2 * 3 = 6 tokens -> 2 fresh
        // blocks from 3; length 4 + 6 = 10.
        assert_eq!(t[0].hash_ids, vec![0, 3, 4]);
        assert_eq!(t[0].input_length, Some(10));
        // Row 2: own 4 * 3 = 12 tokens -> 3 blocks 5, 6, 7; 4 + 12 = 16.
        assert_eq!(t[1].hash_ids, vec![0, 5, 6, 7]);
        assert_eq!(t[1].input_length, Some(16));
    }

    #[test]
    fn speedup_caps_and_output_scaling() {
        let mut t = trace();
        let p = SynthesisParams {
            speedup_ratio: 4.0,
            output_len_multiplier: 1.5,
            max_isl: Some(11),
            max_osl: Some(10),
            ..Default::default()
        };
        apply(&p, &mut t, 4, 1).unwrap();
        assert_eq!(t[0].timestamp, Some(250.0));
        assert_eq!(t[1].timestamp, Some(625.0));
        // round(5 * 1.5) = 8 (7.5 to even); round(7 * 1.5) = 10 (10.5 to even), at the cap of 10.
        assert_eq!(t[0].output_length, Some(8));
        assert_eq!(t[1].output_length, Some(10));
        assert_eq!(t[0].input_length, Some(10));
        assert_eq!(t[1].input_length, Some(11));
        // A speed-up alone reshapes too: own blocks get fresh ids above 2.
        assert_eq!(t[0].hash_ids, vec![0, 1, 3]);
        assert_eq!(t[1].hash_ids, vec![0, 1, 4]);
    }

    #[test]
    fn root_multiplier_spreads_rows_over_disjoint_trees() {
        let mut rows: Vec<TraceRow> = (0..200).map(|_| row(&[0, 1], 8, 1, 0.0)).collect();
        let p = SynthesisParams {
            prefix_root_multiplier: 3,
            ..Default::default()
        };
        apply(&p, &mut rows, 4, 7).unwrap();
        // Fresh ids start at 3 (above (1 + 1) * 1) and none are added: offset 3. Each row
        // is [0, 1] + t * 3 for t in {0, 1, 2}.
        let mut trees: Vec<Vec<u64>> = rows.iter().map(|r| r.hash_ids.clone()).collect();
        trees.sort();
        trees.dedup();
        assert_eq!(trees, vec![vec![0, 1], vec![3, 4], vec![6, 7]]);
        let again = {
            let mut r: Vec<TraceRow> = (0..200).map(|_| row(&[0, 1], 8, 1, 0.0)).collect();
            apply(&p, &mut r, 4, 7).unwrap();
            r
        };
        assert_eq!(rows, again, "same seed, same trees");
    }

    #[test]
    fn a_row_shorter_than_its_prefix_is_an_error() {
        let mut t = vec![row(&[0, 1], 3, 1, 0.0), row(&[0, 1], 8, 1, 0.0)];
        let p = SynthesisParams {
            prompt_len_multiplier: 2.0,
            ..Default::default()
        };
        assert_eq!(
            apply(&p, &mut t, 4, 1).unwrap_err().to_string(),
            "row 1: input_length 3 is shorter than its 2 shared prefix blocks of 4 tokens"
        );
    }

    #[test]
    fn literal_prompts_keep_their_length() {
        let mut t = trace();
        t[0].literal = true;
        let p = SynthesisParams {
            prompt_len_multiplier: 2.0,
            max_isl: Some(1),
            ..Default::default()
        };
        apply(&p, &mut t, 4, 1).unwrap();
        assert_eq!(t[0].input_length, Some(10));
        assert_eq!(t[1].input_length, Some(1));
    }
}
