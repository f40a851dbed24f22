//! Time-weighted metrics over the run window (AIPerf's "effective" and "active" metrics, §2.4).
//!
//! Every successful streamed request contributes three intervals: in flight `[start, end)`,
//! prefill `[start, first token)` and decode `[first token, end)`. A sweep line over all interval
//! boundaries turns them into step curves (concurrencies, summed per-request token rates). A curve
//! is summarised duration-weighted: `avg = Σ v·Δt / Σ Δt`, weighted std, and percentiles where
//! each value counts for as long as it held. "Effective" curves cover the whole run window;
//! "active" curves only the time a request was in the relevant phase.

use std::io;

use crate::select::{first_reaching_series, SeriesItems};
use crate::spill::{Column, Spill};

/// One successful request's bounds (run clock ns) and token counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub start: u64,
    pub first_token: u64,
    pub end: u64,
    pub isl: f64,
    pub osl: f64,
}

/// Which curve a time-weighted metric summarises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    Concurrency,
    PrefillConcurrency,
    DecodeConcurrency,
    PrefillThroughput,
    DecodeThroughput,
    TotalThroughput,
    PrefillThroughputPerUser,
    DecodeThroughputPerUser,
    TokensInFlight,
    ActivePrefillThroughput,
    ActiveDecodeThroughput,
    ActiveTotalThroughput,
    ActivePrefillThroughputPerUser,
    ActiveDecodeThroughputPerUser,
}

/// Duration-weighted statistics of a step curve.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedStats {
    pub avg: f64,
    pub min: f64,
    pub max: f64,
    pub std: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
}

/// The state between two consecutive boundaries.
#[derive(Debug, Clone, Copy, Default)]
struct Segment {
    duration: f64,
    in_flight: f64,
    prefill: f64,
    decode: f64,
    prefill_rate: f64,
    decode_rate: f64,
    tokens: f64,
}

/// Every curve, in a fixed order (the series index of spilled statistics).
pub const CURVES: [Curve; 14] = [
    Curve::Concurrency,
    Curve::PrefillConcurrency,
    Curve::DecodeConcurrency,
    Curve::PrefillThroughput,
    Curve::DecodeThroughput,
    Curve::TotalThroughput,
    Curve::PrefillThroughputPerUser,
    Curve::DecodeThroughputPerUser,
    Curve::TokensInFlight,
    Curve::ActivePrefillThroughput,
    Curve::ActiveDecodeThroughput,
    Curve::ActiveTotalThroughput,
    Curve::ActivePrefillThroughputPerUser,
    Curve::ActiveDecodeThroughputPerUser,
];

/// Values an interval takes in a [`Column`] (see [`Interval::values`]).
pub const INTERVAL_VALUES: usize = 5;
/// Values a boundary event or a segment takes in a spilled column.
const EVENT_VALUES: usize = 7;

impl Interval {
    /// The interval as column values (run-clock ns are exact in f64 below 2^53 ns, 104 days).
    pub fn values(&self) -> [f64; INTERVAL_VALUES] {
        [
            self.start as f64,
            self.first_token as f64,
            self.end as f64,
            self.isl,
            self.osl,
        ]
    }

    pub(crate) fn from_values(v: &[f64]) -> Interval {
        Interval {
            start: v[0] as u64,
            first_token: v[1] as u64,
            end: v[2] as u64,
            isl: v[3],
            osl: v[4],
        }
    }

    /// The interval's three boundaries: (time, in_flight, prefill, decode, prefill_rate,
    /// decode_rate, tokens) deltas.
    fn events(&self, out: &mut Vec<(u64, [f64; 6])>) {
        let iv = self;
        if iv.end <= iv.start {
            return;
        }
        let first = iv.first_token.clamp(iv.start, iv.end);
        let ttft_s = (first - iv.start) as f64 / 1e9;
        let decode_s = (iv.end - first) as f64 / 1e9;
        let prefill_rate = if ttft_s > 0.0 { iv.isl / ttft_s } else { 0.0 };
        let decode_rate = if decode_s > 0.0 {
            iv.osl / decode_s
        } else {
            0.0
        };
        let tokens = iv.isl + iv.osl;
        out.push((iv.start, [1.0, 1.0, 0.0, prefill_rate, 0.0, tokens]));
        out.push((first, [0.0, -1.0, 1.0, -prefill_rate, decode_rate, 0.0]));
        out.push((iv.end, [-1.0, 0.0, -1.0, 0.0, -decode_rate, -tokens]));
    }
}

/// The sweep line: fed boundary events in time order, emits the segment between consecutive
/// distinct times with the state after every event at the earlier one.
#[derive(Default)]
struct Sweep {
    now: Option<u64>,
    state: [f64; 6],
}

impl Sweep {
    fn event(&mut self, t: u64, delta: &[f64; 6], emit: &mut impl FnMut(Segment)) {
        if let Some(now) = self.now.filter(|&n| t > n) {
            let s = &self.state;
            emit(Segment {
                duration: (t - now) as f64,
                in_flight: s[0].max(0.0),
                prefill: s[1].max(0.0),
                decode: s[2].max(0.0),
                prefill_rate: s[3].max(0.0),
                decode_rate: s[4].max(0.0),
                tokens: s[5].max(0.0),
            });
        }
        for (s, d) in self.state.iter_mut().zip(delta) {
            *s += d;
        }
        self.now = Some(self.now.map_or(t, |n| n.max(t)));
    }
}

impl Segment {
    fn values(&self) -> [f64; EVENT_VALUES] {
        [
            self.duration,
            self.in_flight,
            self.prefill,
            self.decode,
            self.prefill_rate,
            self.decode_rate,
            self.tokens,
        ]
    }

    fn from_values(v: &[f64]) -> Segment {
        Segment {
            duration: v[0],
            in_flight: v[1],
            prefill: v[2],
            decode: v[3],
            prefill_rate: v[4],
            decode_rate: v[5],
            tokens: v[6],
        }
    }

    /// The value of `curve` on this segment; `None` when the segment does not count for it.
    fn value(&self, curve: Curve) -> Option<f64> {
        let s = self;
        let per_user = |rate: f64, n: f64| if n > 0.0 { rate / n } else { 0.0 };
        Some(match curve {
            Curve::Concurrency => s.in_flight,
            Curve::PrefillConcurrency => s.prefill,
            Curve::DecodeConcurrency => s.decode,
            Curve::PrefillThroughput => s.prefill_rate,
            Curve::DecodeThroughput => s.decode_rate,
            Curve::TotalThroughput => s.prefill_rate + s.decode_rate,
            Curve::PrefillThroughputPerUser => per_user(s.prefill_rate, s.prefill),
            Curve::DecodeThroughputPerUser => per_user(s.decode_rate, s.decode),
            Curve::TokensInFlight => s.tokens,
            Curve::ActivePrefillThroughput if s.in_flight > 0.0 => s.prefill_rate,
            Curve::ActiveDecodeThroughput if s.in_flight > 0.0 => s.decode_rate,
            Curve::ActiveTotalThroughput if s.in_flight > 0.0 => s.prefill_rate + s.decode_rate,
            Curve::ActivePrefillThroughputPerUser if s.prefill > 0.0 => s.prefill_rate / s.prefill,
            Curve::ActiveDecodeThroughputPerUser if s.decode > 0.0 => s.decode_rate / s.decode,
            _ => return None,
        })
    }
}

/// The curves of a set of requests.
#[derive(Debug, Default)]
pub struct Timeline {
    segments: Vec<Segment>,
}

impl Timeline {
    pub fn build(intervals: &[Interval]) -> Timeline {
        let mut events: Vec<(u64, [f64; 6])> = Vec::with_capacity(intervals.len() * 3);
        for iv in intervals {
            iv.events(&mut events);
        }
        events.sort_by_key(|e| e.0);
        let mut sweep = Sweep::default();
        let mut segments = Vec::new();
        for (t, d) in &events {
            sweep.event(*t, d, &mut |s| segments.push(s));
        }
        Timeline { segments }
    }

    /// Statistics of `curve`; `None` when no time qualifies.
    pub fn stats(&self, curve: Curve) -> Option<WeightedStats> {
        let points: Vec<(f64, f64)> = self
            .segments
            .iter()
            .filter_map(|s| Some((s.value(curve)?, s.duration)))
            .collect();
        weighted(points)
    }
}

/// Statistics of every curve ([`CURVES`] order) over the intervals in `column`
/// ([`INTERVAL_VALUES`] each): in memory when the column is, otherwise in bounded memory (each
/// spilled chunk becomes a sorted run of events, the runs are merged into segments on disk, and
/// the segments are read back by passes).
pub fn curve_stats(
    column: &Column,
    spill: Option<&Spill>,
    load_values: u64,
) -> io::Result<Vec<Option<WeightedStats>>> {
    // Small enough to sweep in memory (events and segments take about 70 bytes per value).
    if column.is_resident() || column.len() <= load_values / 4 {
        let values = if column.is_resident() {
            std::borrow::Cow::Borrowed(column.in_memory())
        } else {
            std::borrow::Cow::Owned(column.load(spill)?)
        };
        let intervals: Vec<Interval> = values
            .chunks_exact(INTERVAL_VALUES)
            .map(Interval::from_values)
            .collect();
        let t = Timeline::build(&intervals);
        return Ok(CURVES.iter().map(|c| t.stats(*c)).collect());
    }
    let spill = spill.ok_or_else(|| io::Error::other("spilled intervals without a file"))?;
    let (mut buf, mut values) = (Vec::new(), Vec::new());
    // Sorted runs, one per piece of the interval column.
    let mut runs: Vec<Column> = Vec::new();
    let mut events = Vec::new();
    for piece in 0..column.pieces() {
        column.read_piece(piece, Some(spill), &mut buf, &mut values)?;
        events.clear();
        for v in values.chunks_exact(INTERVAL_VALUES) {
            Interval::from_values(v).events(&mut events);
        }
        if events.is_empty() {
            continue;
        }
        events.sort_by_key(|e| e.0);
        let mut run = Column::default();
        for (t, d) in &events {
            let mut row = [0.0; EVENT_VALUES];
            row[0] = *t as f64;
            row[1..].copy_from_slice(d);
            run.extend(&row, Some(spill))?;
        }
        run.flush(Some(spill))?;
        runs.push(run);
    }
    // Merge the runs into segments (written out) and the per-curve totals.
    let mut segments = Column::default();
    let mut totals = vec![CurveTotals::default(); CURVES.len()];
    let mut failed = None;
    let mut on_segment = |s: Segment| {
        for (t, c) in totals.iter_mut().zip(CURVES) {
            if let Some(v) = s.value(c).filter(|v| v.is_finite() && s.duration > 0.0) {
                t.add(v, s.duration);
            }
        }
        if let Err(e) = segments.extend(&s.values(), Some(spill)) {
            failed.get_or_insert(e);
        }
    };
    let mut cursors: Vec<Cursor> = Vec::with_capacity(runs.len());
    let mut heap = std::collections::BinaryHeap::new();
    for (i, run) in runs.iter().enumerate() {
        let mut c = Cursor::default();
        if c.advance(run, spill, &mut buf)? {
            heap.push(std::cmp::Reverse((c.time(), i)));
        }
        cursors.push(c);
    }
    let mut sweep = Sweep::default();
    while let Some(std::cmp::Reverse((t, i))) = heap.pop() {
        let c = &mut cursors[i];
        let delta: [f64; 6] = c.row()[1..].try_into().expect("six deltas");
        sweep.event(t, &delta, &mut on_segment);
        if c.advance(&runs[i], spill, &mut buf)? {
            heap.push(std::cmp::Reverse((c.time(), i)));
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    segments.flush(Some(spill))?;
    // Second pass: deviations from each curve's mean.
    let avg: Vec<f64> = totals.iter().map(|t| t.vd / t.total).collect();
    let mut var = vec![0.0f64; CURVES.len()];
    segments.scan(Some(spill), |chunk| {
        for row in chunk.chunks_exact(EVENT_VALUES) {
            let s = Segment::from_values(row);
            for (k, c) in CURVES.iter().enumerate() {
                if let Some(v) = s.value(*c).filter(|v| v.is_finite() && s.duration > 0.0) {
                    var[k] += (v - avg[k]) * (v - avg[k]) * s.duration;
                }
            }
        }
    })?;
    // Percentiles by selection over (curve, value, duration).
    const QS: [f64; 4] = [50.0, 90.0, 95.0, 99.0];
    let mut targets = Vec::new();
    for (k, t) in totals.iter().enumerate() {
        if t.total > 0.0 {
            for q in QS {
                targets.push((k, q / 100.0 * t.total - 1e-9 * t.total));
            }
        }
    }
    let found = first_reaching_series(
        &SegmentItems {
            segments: &segments,
            spill,
        },
        &targets,
    )?;
    let mut found = found.into_iter();
    Ok(totals
        .iter()
        .enumerate()
        .map(|(k, t)| {
            if t.total <= 0.0 {
                return None;
            }
            let mut p = [0.0; 4];
            for slot in &mut p {
                *slot = found.next().flatten().unwrap_or(f64::NAN);
            }
            Some(WeightedStats {
                avg: avg[k],
                min: t.min,
                max: t.max,
                std: (var[k] / t.total).sqrt(),
                p50: p[0],
                p90: p[1],
                p95: p[2],
                p99: p[3],
            })
        })
        .collect())
}

/// A curve's running duration-weighted totals (in segment order, as [`weighted`] sums them).
#[derive(Debug, Clone, Copy)]
struct CurveTotals {
    total: f64,
    vd: f64,
    min: f64,
    max: f64,
}

impl Default for CurveTotals {
    fn default() -> Self {
        Self {
            total: 0.0,
            vd: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl CurveTotals {
    fn add(&mut self, v: f64, d: f64) {
        self.total += d;
        self.vd += v * d;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }
}

/// Events a merge cursor reads at a time (7 KiB), so merging many runs stays small.
const CURSOR_EVENTS: usize = 128;

/// Reads one sorted run of events in small blocks.
#[derive(Default)]
struct Cursor {
    piece: usize,
    /// Where in the piece the next block starts.
    next: usize,
    values: Vec<f64>,
    pos: usize,
}

impl Cursor {
    /// Moves to the next event; `false` at the end of the run.
    fn advance(&mut self, run: &Column, spill: &Spill, buf: &mut Vec<u8>) -> io::Result<bool> {
        if !self.values.is_empty() {
            self.pos += EVENT_VALUES;
        }
        while self.pos >= self.values.len() {
            if self.piece >= run.pieces() {
                return Ok(false);
            }
            let block = CURSOR_EVENTS * EVENT_VALUES;
            run.read_part(
                self.piece,
                self.next,
                block,
                Some(spill),
                buf,
                &mut self.values,
            )?;
            self.pos = 0;
            if self.values.is_empty() {
                self.piece += 1;
                self.next = 0;
            } else {
                self.next += self.values.len();
            }
        }
        Ok(true)
    }

    fn row(&self) -> &[f64] {
        &self.values[self.pos..self.pos + EVENT_VALUES]
    }

    fn time(&self) -> u64 {
        self.values[self.pos] as u64
    }
}

struct SegmentItems<'a> {
    segments: &'a Column,
    spill: &'a Spill,
}

impl SeriesItems for SegmentItems<'_> {
    fn scan(&self, f: &mut dyn FnMut(usize, f64, f64)) -> io::Result<()> {
        self.segments.scan(Some(self.spill), |chunk| {
            for row in chunk.chunks_exact(EVENT_VALUES) {
                let s = Segment::from_values(row);
                for (k, c) in CURVES.iter().enumerate() {
                    if let Some(v) = s.value(*c).filter(|v| v.is_finite() && s.duration > 0.0) {
                        f(k, v, s.duration);
                    }
                }
            }
        })
    }
}

/// Duration-weighted summary of `(value, duration)` points.
pub fn weighted(mut points: Vec<(f64, f64)>) -> Option<WeightedStats> {
    points.retain(|(v, d)| v.is_finite() && *d > 0.0);
    let total: f64 = points.iter().map(|p| p.1).sum();
    if points.is_empty() || total <= 0.0 {
        return None;
    }
    let avg = points.iter().map(|(v, d)| v * d).sum::<f64>() / total;
    let var = points
        .iter()
        .map(|(v, d)| (v - avg) * (v - avg) * d)
        .sum::<f64>()
        / total;
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let pct = |q: f64| {
        let target = q / 100.0 * total;
        let mut acc = 0.0;
        for (v, d) in &points {
            acc += d;
            if acc >= target - 1e-9 * total {
                return *v;
            }
        }
        points[points.len() - 1].0
    };
    Some(WeightedStats {
        avg,
        min: points[0].0,
        max: points[points.len() - 1].0,
        std: var.sqrt(),
        p50: pct(50.0),
        p90: pct(90.0),
        p95: pct(95.0),
        p99: pct(99.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn two_overlapping_requests_by_hand() {
        // A: [0, 4) s, first token at 1 s, ISL 100, OSL 30 -> prefill 100 tok/s, decode 10 tok/s.
        // B: [2, 6) s, first token at 4 s, ISL 200, OSL 20 -> prefill 100 tok/s, decode 10 tok/s.
        let t = Timeline::build(&[
            Interval {
                start: 0,
                first_token: S,
                end: 4 * S,
                isl: 100.0,
                osl: 30.0,
            },
            Interval {
                start: 2 * S,
                first_token: 4 * S,
                end: 6 * S,
                isl: 200.0,
                osl: 20.0,
            },
        ]);
        // In flight: 1 on [0,2), 2 on [2,4), 1 on [4,6): avg = (2 + 4 + 2) / 6 = 4/3.
        let c = t.stats(Curve::Concurrency).unwrap();
        assert!((c.avg - 4.0 / 3.0).abs() < 1e-12);
        assert_eq!((c.min, c.max, c.p50, c.p99), (1.0, 2.0, 1.0, 2.0));
        // Decode rate: 10 on [1,4) (A), 10 on [4,6) (B): avg over 6 s = (30 + 20) / 6.
        let d = t.stats(Curve::DecodeThroughput).unwrap();
        assert!((d.avg - 50.0 / 6.0).abs() < 1e-12);
        // Decode throughput integrates to the total OSL (50 tokens over the window).
        assert!((d.avg * 6.0 - 50.0).abs() < 1e-9);
        // Prefill integrates to the total ISL: 100 on [0,1) + 100 on [2,4) = 300 tokens.
        let p = t.stats(Curve::PrefillThroughput).unwrap();
        assert!((p.avg * 6.0 - 300.0).abs() < 1e-9);
        // Active: busy the whole window here, so equal to effective.
        assert!((t.stats(Curve::ActiveDecodeThroughput).unwrap().avg - d.avg).abs() < 1e-12);
        // Per-user decode: 10 whenever anyone decodes ([1,6)), 0 on [0,1): avg 50/6.
        let u = t.stats(Curve::DecodeThroughputPerUser).unwrap();
        assert!((u.avg - 50.0 / 6.0).abs() < 1e-12);
        assert_eq!(
            t.stats(Curve::ActiveDecodeThroughputPerUser).unwrap().avg,
            10.0
        );
    }

    #[test]
    fn spilled_curves_match_in_memory_ones() {
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::create_in(dir.path()).unwrap();
        let mut col = Column::default();
        let mut mem = Vec::new();
        let mut x = 7u64;
        for i in 0..30_000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Millisecond grid, so many boundaries coincide.
            let start = (i / 4) * 1_000_000;
            let first = start + (x >> 50) * 1_000_000;
            let end = first + ((x >> 20) % 64) * 1_000_000;
            let iv = Interval {
                start,
                first_token: first,
                end,
                isl: (100 + x % 50) as f64,
                osl: (x % 30) as f64,
            };
            mem.push(iv);
            col.extend(&iv.values(), Some(&spill)).unwrap();
        }
        assert!(!col.is_resident());
        let t = Timeline::build(&mem);
        let got = curve_stats(&col, Some(&spill), 0).unwrap();
        for (c, g) in CURVES.iter().zip(got) {
            let (a, b) = (t.stats(*c).unwrap(), g.unwrap());
            let close = |u: f64, v: f64| (u - v).abs() <= 1e-9 * u.abs().max(1.0);
            assert!(
                close(a.avg, b.avg) && close(a.std, b.std),
                "{c:?}: {a:?} vs {b:?}"
            );
            assert_eq!((a.min, a.max), (b.min, b.max), "{c:?}");
            for (u, v) in [
                (a.p50, b.p50),
                (a.p90, b.p90),
                (a.p95, b.p95),
                (a.p99, b.p99),
            ] {
                assert!(close(u, v), "{c:?}: {a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn idle_gaps_count_for_effective_not_active() {
        let t = Timeline::build(&[
            Interval {
                start: 0,
                first_token: S,
                end: 2 * S,
                isl: 10.0,
                osl: 10.0,
            },
            Interval {
                start: 4 * S,
                first_token: 5 * S,
                end: 6 * S,
                isl: 10.0,
                osl: 10.0,
            },
        ]);
        let eff = t.stats(Curve::DecodeThroughput).unwrap().avg;
        let act = t.stats(Curve::ActiveDecodeThroughput).unwrap().avg;
        assert!((eff - 20.0 / 6.0).abs() < 1e-12);
        assert!((act - 20.0 / 4.0).abs() < 1e-12);
        assert!(Timeline::build(&[]).stats(Curve::Concurrency).is_none());
    }
}
