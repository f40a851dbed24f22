//! AIPerf's flattened-agent detection (`weka_agent_chains.detect_agent_chains`): which of a
//! stream's requests continue one context and which start another agent's.
//!
//! Phase 1 walks the requests in `(t, index)` order: a request whose hash ids extend a chain's
//! last ones (same model, after it ended) continues that chain, any other starts a new chain
//! forked from the chain it shares the longest prefix with. Phase 2 splices a fork back onto
//! its parent when it is the parent's continuation after a context edit (compaction): the
//! parent stopped there, the fork starts after it ended on the same model, and it is not a
//! long-idle, low-overlap restart. Requests without hash ids stay on the first chain.
//!
//! This build replays the result only when it is one chain: the loader refuses the rest.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use super::model::Request;

const EPSILON_S: f64 = 1e-6;
/// AIPerf's `WEKA_SEAM_MAX_GAP_SECONDS` default.
const SEAM_MAX_GAP_S: f64 = 3600.0;
/// AIPerf's `WEKA_SEAM_MIN_OVERLAP_RATIO` default.
const SEAM_MIN_OVERLAP: f64 = 0.5;

struct Fork {
    depth: usize,
    fork_time: f64,
}

#[derive(Default)]
struct Chain {
    /// Outer indices, in the order the chain holds them.
    requests: Vec<usize>,
    fork: Option<Fork>,
    spliced_into: Option<usize>,
    tail_outer: Option<usize>,
}

/// The detected chains: the main one (owning the earliest request) and the others.
pub struct Detection {
    pub main: Vec<usize>,
    pub workers: Vec<Vec<usize>>,
}

fn end(r: &Request) -> f64 {
    r.t + r.api_time.filter(|a| a.is_finite()).unwrap_or(0.0).max(0.0)
}

fn lcp(a: &[i64], b: &[i64]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Runs both phases over `reqs` (outer index, request).
pub fn detect(reqs: &[(usize, Request)]) -> Detection {
    let by_outer: HashMap<usize, &Request> = reqs.iter().map(|(i, r)| (*i, r)).collect();
    let mut ordered: Vec<&(usize, Request)> = reqs.iter().collect();
    ordered.sort_by(|a, b| a.1.t.total_cmp(&b.1.t).then(a.0.cmp(&b.0)));
    let mut chains: Vec<Chain> = Vec::new();
    let mut chain_of: HashMap<usize, usize> = HashMap::new();
    let mut forks_by_tail: HashMap<usize, Vec<usize>> = HashMap::new();
    let tail = |c: &Chain| c.tail_outer.map(|o| by_outer[&o]);
    let append =
        |chains: &mut Vec<Chain>, chain_of: &mut HashMap<usize, usize>, ci: usize, o: usize| {
            chains[ci].requests.push(o);
            chain_of.insert(o, ci);
            if !by_outer[&o].hash_ids.is_empty() {
                chains[ci].tail_outer = Some(o);
            }
        };
    for &&(o, ref r) in &ordered {
        if r.hash_ids.is_empty() || chains.is_empty() {
            if chains.is_empty() {
                chains.push(Chain::default());
            }
            append(&mut chains, &mut chain_of, 0, o);
            continue;
        }
        let h = &r.hash_ids;
        // Extension: the deepest tail that is a whole prefix of h (ties: lowest index).
        let mut best: Option<(usize, usize)> = None;
        for (ci, c) in chains.iter().enumerate() {
            let Some(t) = tail(c) else { continue };
            let tl = t.hash_ids.len();
            if tl > h.len() || best.is_some_and(|(_, l)| tl <= l) {
                continue;
            }
            if t.model != r.model || end(t) > r.t + EPSILON_S {
                continue;
            }
            if h[..tl] == t.hash_ids[..] {
                best = Some((ci, tl));
            }
        }
        if let Some((ci, _)) = best {
            append(&mut chains, &mut chain_of, ci, o);
            continue;
        }
        // Fork from the deepest shared prefix (ties: deeper tail, then lowest index).
        let mut parent: Option<usize> = None;
        let mut key = (0usize, 0usize);
        for (ci, c) in chains.iter().enumerate() {
            let Some(t) = tail(c) else { continue };
            let d = lcp(&t.hash_ids, h);
            if d > 0 && (d, t.hash_ids.len()) > key {
                parent = Some(ci);
                key = (d, t.hash_ids.len());
            }
        }
        if parent.is_none() && chains.iter().all(|c| c.tail_outer.is_none()) {
            append(&mut chains, &mut chain_of, 0, o);
            continue;
        }
        let fork_outer = parent.and_then(|p| chains[p].tail_outer);
        let new = chains.len();
        chains.push(Chain {
            fork: Some(Fork {
                depth: key.0,
                fork_time: r.t,
            }),
            ..Default::default()
        });
        append(&mut chains, &mut chain_of, new, o);
        if let (Some(fo), true) = (fork_outer, key.0 > 0) {
            forks_by_tail.entry(fo).or_default().push(new);
        }
    }
    resolve_seams(&mut chains, &mut forks_by_tail, &mut chain_of, &by_outer);
    let resolve = |mut i: usize, chains: &[Chain]| {
        while let Some(j) = chains[i].spliced_into {
            i = j;
        }
        i
    };
    let Some(first) = ordered.first() else {
        return Detection {
            main: Vec::new(),
            workers: Vec::new(),
        };
    };
    let main = resolve(chain_of[&first.0], &chains);
    let mut workers: Vec<usize> = (0..chains.len())
        .filter(|&i| chains[i].spliced_into.is_none() && i != main)
        .collect();
    workers.sort_by(|&a, &b| {
        let (ra, rb) = (chains[a].requests[0], chains[b].requests[0]);
        by_outer[&ra]
            .t
            .total_cmp(&by_outer[&rb].t)
            .then(ra.cmp(&rb))
    });
    Detection {
        main: std::mem::take(&mut chains[main].requests),
        workers: workers
            .into_iter()
            .map(|i| std::mem::take(&mut chains[i].requests))
            .collect(),
    }
}

fn last_hash(c: &Chain, by_outer: &HashMap<usize, &Request>) -> Option<usize> {
    c.requests
        .iter()
        .rev()
        .copied()
        .find(|o| !by_outer[o].hash_ids.is_empty())
}

/// Phase 2 (AIPerf's `_resolve_seams`), fork tails visited in outer-index order.
fn resolve_seams(
    chains: &mut [Chain],
    forks_by_tail: &mut HashMap<usize, Vec<usize>>,
    chain_of: &mut HashMap<usize, usize>,
    by_outer: &HashMap<usize, &Request>,
) {
    let mut keys: BinaryHeap<Reverse<usize>> = forks_by_tail.keys().map(|&k| Reverse(k)).collect();
    let mut processed: HashSet<usize> = HashSet::new();
    while let Some(Reverse(fo)) = keys.pop() {
        if !processed.insert(fo) {
            continue;
        }
        let mut owner = chain_of[&fo];
        while let Some(j) = chains[owner].spliced_into {
            owner = j;
        }
        if last_hash(&chains[owner], by_outer) != Some(fo) {
            continue;
        }
        let registered: Vec<usize> = forks_by_tail[&fo]
            .iter()
            .copied()
            .filter(|&ci| chains[ci].spliced_into.is_none())
            .collect();
        let t_req = by_outer[&fo];
        let t_end = end(t_req);
        let tail_blocks = t_req.hash_ids.len();
        let elected = registered
            .iter()
            .copied()
            .filter(|&ci| {
                let c = &chains[ci];
                let Some(f) = &c.fork else { return false };
                let first = by_outer[&c.requests[0]];
                let blocked = tail_blocks > 0
                    && first.t - t_end > SEAM_MAX_GAP_S
                    && (f.depth as f64 / tail_blocks as f64) < SEAM_MIN_OVERLAP;
                f.depth > 0
                    && t_end <= first.t + EPSILON_S
                    && first.model == t_req.model
                    && !blocked
            })
            .max_by(|&a, &b| {
                let (fa, fb) = (
                    chains[a]
                        .fork
                        .as_ref()
                        .map_or((0, 0.0), |f| (f.depth, f.fork_time)),
                    chains[b]
                        .fork
                        .as_ref()
                        .map_or((0, 0.0), |f| (f.depth, f.fork_time)),
                );
                fa.0.cmp(&fb.0).then(fb.1.total_cmp(&fa.1)).then(b.cmp(&a))
            });
        let Some(elected) = elected else { continue };
        let moved = chains[elected].requests.clone();
        for &o in &moved {
            chain_of.insert(o, owner);
        }
        chains[owner].requests.extend(moved);
        chains[elected].spliced_into = Some(owner);
        let Some(new_tail) = last_hash(&chains[owner], by_outer) else {
            continue;
        };
        // Re-key the other forks of the consumed tail against the merged chain's new tail.
        let mut rekeyed = false;
        for &ci in &registered {
            if ci == elected || chains[ci].spliced_into.is_some() || chains[ci].fork.is_none() {
                continue;
            }
            let d = lcp(
                &by_outer[&new_tail].hash_ids,
                &by_outer[&chains[ci].requests[0]].hash_ids,
            );
            if d == 0 {
                continue;
            }
            if let Some(f) = chains[ci].fork.as_mut() {
                f.depth = d;
            }
            forks_by_tail.entry(new_tail).or_default().push(ci);
            rekeyed = true;
        }
        if rekeyed {
            processed.remove(&new_tail);
            keys.push(Reverse(new_tail));
        }
    }
}
