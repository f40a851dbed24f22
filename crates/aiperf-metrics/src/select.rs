//! Exact order statistics over data too large to hold: radix selection by passes.
//!
//! Values map to order-preserving 64-bit keys. Each pass counts (and weighs) the items under the
//! next 12 key bits inside every target's current key range, which narrows each target to one
//! bucket; a range small enough is collected and sorted. Memory is a few 4096-bucket histograms
//! and at most [`COLLECT`] items per target; the data is read about four times.

use std::io;

/// Calls its argument with `(value, weight)` for every item, in the same order on every call.
pub trait Items {
    fn scan(&self, f: &mut dyn FnMut(f64, f64)) -> io::Result<()>;
}

/// Items in several independent series (e.g. one per curve), selected in the same passes.
pub trait SeriesItems {
    /// Calls `f(series, value, weight)` for every item, in the same order on every call.
    fn scan(&self, f: &mut dyn FnMut(usize, f64, f64)) -> io::Result<()>;
}

struct One<'a>(&'a dyn Items);

impl SeriesItems for One<'_> {
    fn scan(&self, f: &mut dyn FnMut(usize, f64, f64)) -> io::Result<()> {
        self.0.scan(&mut |v, w| f(0, v, w))
    }
}

impl Items for Vec<(f64, f64)> {
    fn scan(&self, f: &mut dyn FnMut(f64, f64)) -> io::Result<()> {
        for &(v, w) in self {
            f(v, w);
        }
        Ok(())
    }
}

const DIGIT: u32 = 12;
/// A key range with at most this many items is sorted in memory (128 KiB of pairs).
const COLLECT: u64 = 1 << 13;

/// Order-preserving key: `key(a) < key(b)` iff `a.total_cmp(&b)` is `Less`.
fn key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | 1 << 63
    }
}

fn from_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

#[derive(Debug, Clone)]
struct Target {
    series: usize,
    threshold: f64,
    /// Key bits fixed so far, and their value.
    depth: u32,
    prefix: u64,
    /// Total weight of the items below the range.
    before: f64,
    /// Items inside the range (unknown before the first pass).
    count: Option<u64>,
    found: Option<f64>,
}

impl Target {
    /// Series and inclusive key range.
    fn range(&self) -> (usize, u64, u64) {
        let span = 64 - self.depth;
        if span == 64 {
            (self.series, 0, u64::MAX)
        } else {
            let lo = self.prefix << span;
            (self.series, lo, lo | ((1u64 << span) - 1))
        }
    }
}

enum Group {
    /// (weight, count) per bucket, side by side for locality.
    Histogram(Vec<(f64, u64)>),
    Collect(Vec<(f64, f64)>),
}

/// For each threshold, the first value in ascending order at which the running total of weights
/// reaches it (the largest value when none does). `None` when there are no items. Items must have
/// finite values and positive weights; with unit weights, threshold `k + 1` is the `k`-th
/// smallest value (0-based), exactly.
pub fn first_reaching(items: &dyn Items, thresholds: &[f64]) -> io::Result<Option<Vec<f64>>> {
    let targets: Vec<(usize, f64)> = thresholds.iter().map(|&t| (0, t)).collect();
    let found = first_reaching_series(&One(items), &targets)?;
    Ok(found.into_iter().collect())
}

/// [`first_reaching`] for `(series, threshold)` targets over several series at once; `None` for a
/// target whose series has no items.
pub fn first_reaching_series(
    items: &dyn SeriesItems,
    targets: &[(usize, f64)],
) -> io::Result<Vec<Option<f64>>> {
    let mut present: Vec<bool> = Vec::new();
    let mut targets: Vec<Target> = targets
        .iter()
        .map(|&(series, threshold)| Target {
            series,
            threshold,
            depth: 0,
            prefix: 0,
            before: 0.0,
            count: None,
            found: None,
        })
        .collect();
    loop {
        // Every open target has the same depth (all advance one digit per pass).
        let mut ranges: Vec<(usize, u64, u64)> = Vec::new();
        for t in targets.iter_mut().filter(|t| t.found.is_none()) {
            if t.depth == 64 {
                t.found = Some(from_key(t.prefix));
                continue;
            }
            let r = t.range();
            if !ranges.contains(&r) {
                ranges.push(r);
            }
        }
        if ranges.is_empty() {
            break;
        }
        ranges.sort_unstable();
        let depth = targets
            .iter()
            .find(|t| t.found.is_none())
            .map_or(0, |t| t.depth);
        let bits = DIGIT.min(64 - depth);
        let mut groups: Vec<Group> = ranges
            .iter()
            .map(|r| {
                let count = targets
                    .iter()
                    .find(|t| t.found.is_none() && t.range() == *r)
                    .and_then(|t| t.count);
                match count {
                    Some(c) if c <= COLLECT => Group::Collect(Vec::with_capacity(c as usize)),
                    _ => Group::Histogram(vec![(0.0, 0); 1 << bits]),
                }
            })
            .collect();
        let shift = 64 - depth - bits;
        let mask = (1u64 << bits) - 1;
        let first_pass = present.is_empty();
        // Where each series' ranges start and end in `ranges` (sorted by series, then key).
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for (i, r) in ranges.iter().enumerate() {
            if spans.len() <= r.0 {
                spans.resize(r.0 + 1, (i, i));
            }
            spans[r.0].1 = i + 1;
        }
        items.scan(&mut |series, v, w| {
            if first_pass {
                if present.len() <= series {
                    present.resize(series + 1, false);
                }
                present[series] = true;
            }
            let Some(&(from, to)) = spans.get(series) else {
                return;
            };
            let k = key(v);
            let i = match to - from {
                0 => return,
                1 => from + 1,
                _ => from + ranges[from..to].partition_point(|r| r.1 <= k),
            };
            if i == from || k < ranges[i - 1].1 || k > ranges[i - 1].2 {
                return;
            }
            match &mut groups[i - 1] {
                Group::Histogram(buckets) => {
                    let b = &mut buckets[((k >> shift) & mask) as usize];
                    b.0 += w;
                    b.1 += 1;
                }
                Group::Collect(items) => items.push((v, w)),
            }
        })?;
        if first_pass {
            // A series without items resolves to nothing; so does everything when all are empty.
            present.push(false);
            for t in targets
                .iter_mut()
                .filter(|t| !present.get(t.series).copied().unwrap_or(false))
            {
                t.found = Some(f64::NAN);
                t.series = usize::MAX;
            }
        }
        for g in &mut groups {
            if let Group::Collect(items) = g {
                items.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
            }
        }
        for t in targets.iter_mut().filter(|t| t.found.is_none()) {
            let i = ranges
                .binary_search(&t.range())
                .expect("every open target has a range");
            match &groups[i] {
                Group::Collect(items) => {
                    let mut acc = t.before;
                    let mut found = items.last().map(|x| x.0);
                    for &(v, w) in items {
                        acc += w;
                        if acc >= t.threshold {
                            found = Some(v);
                            break;
                        }
                    }
                    // An empty range cannot happen (a target only enters non-empty buckets).
                    t.found = Some(found.unwrap_or(f64::NAN));
                }
                Group::Histogram(buckets) => {
                    let mut acc = t.before;
                    let mut chosen = None;
                    for (b, &(weight, count)) in buckets.iter().enumerate() {
                        if count == 0 {
                            continue;
                        }
                        chosen = Some((b, acc, count));
                        if acc + weight >= t.threshold {
                            break;
                        }
                        acc += weight;
                    }
                    let Some((b, before, count)) = chosen else {
                        // Nothing in range: only possible for an empty input.
                        t.found = Some(f64::NAN);
                        continue;
                    };
                    t.prefix = if t.depth == 0 {
                        b as u64
                    } else {
                        (t.prefix << bits) | b as u64
                    };
                    t.depth += bits;
                    t.before = before;
                    t.count = Some(count);
                }
            }
        }
    }
    Ok(targets
        .into_iter()
        .map(|t| (t.series != usize::MAX).then(|| t.found.unwrap_or(f64::NAN)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random values with heavy clustering and ties.
    fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                match i % 4 {
                    0 => 5e6 + (s % 1000) as f64,         // clustered (ITL-like, ns)
                    1 => (s % 7) as f64,                  // many ties
                    2 => -((s % 100_000) as f64) / 3.0,   // negatives
                    _ => f64::from_bits(s >> 2) * 1e-300, // wide spread
                }
            })
            .collect()
    }

    #[test]
    fn keys_preserve_order() {
        let mut v = vec![-1e300, -2.5, -0.0, 0.0, 1e-310, 3.0, 1e300];
        v.sort_by(f64::total_cmp);
        for w in v.windows(2) {
            assert!(key(w[0]) < key(w[1]), "{w:?}");
        }
        for x in v {
            assert_eq!(from_key(key(x)).to_bits(), x.to_bits());
        }
    }

    #[test]
    fn every_rank_matches_a_full_sort() {
        for n in [1, 2, 7, 1000, 200_003] {
            let v = values(n, n as u64 + 1);
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            let items: Vec<(f64, f64)> = v.iter().map(|&x| (x, 1.0)).collect();
            let ranks: Vec<usize> = [0, n / 100, n / 4, n / 2, n * 99 / 100, n - 1].to_vec();
            let thresholds: Vec<f64> = ranks.iter().map(|&k| (k + 1) as f64).collect();
            let got = first_reaching(&items, &thresholds).unwrap().unwrap();
            for (k, g) in ranks.iter().zip(got) {
                assert_eq!(g.to_bits(), sorted[*k].to_bits(), "n={n} rank={k}");
            }
        }
    }

    #[test]
    fn weighted_thresholds_match_a_sorted_walk() {
        let v = values(150_000, 9);
        let items: Vec<(f64, f64)> = v
            .iter()
            .enumerate()
            .map(|(i, &x)| (x, 1.0 + (i % 13) as f64))
            .collect();
        let total: f64 = items.iter().map(|p| p.1).sum();
        let mut sorted = items.clone();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let walk = |t: f64| {
            let mut acc = 0.0;
            for (v, w) in &sorted {
                acc += w;
                if acc >= t {
                    return *v;
                }
            }
            sorted.last().unwrap().0
        };
        let thresholds: Vec<f64> = [0.5, 0.9, 0.99, 1.0, 2.0]
            .iter()
            .map(|q| q * total)
            .collect();
        let got = first_reaching(&items, &thresholds).unwrap().unwrap();
        for (t, g) in thresholds.iter().zip(got) {
            assert_eq!(g, walk(*t), "threshold {t}");
        }
    }

    #[test]
    fn no_items_is_none() {
        let empty: Vec<(f64, f64)> = Vec::new();
        assert!(first_reaching(&empty, &[1.0]).unwrap().is_none());
    }
}
