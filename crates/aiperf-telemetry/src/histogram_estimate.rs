//! AIPerf 0.13's percentile estimator for Prometheus histograms, ported step for step from
//! `aiperf/server_metrics/histogram_percentiles.py` (the "polynomial histogram" approach of
//! HistogramTools, arXiv 2504.00001), plus the few numpy routines it leans on, reproduced
//! operation for operation so the numbers agree with AIPerf's to the last bit or nearly.
//!
//! The algorithm ([`compute_estimated_percentiles`]):
//! 1. **Learn in-bucket means** ([`accumulate_bucket_statistics`]): between two consecutive
//!    scrapes whose new observations all fell into one bucket, that bucket's mean for the
//!    interval is exactly `Δsum / Δcount`. Each bucket keeps the count-weighted mean of such
//!    intervals and, from 3 of them on, the sample variance (ddof 1) of their means.
//! 2. **Estimate finite-bucket sums**: `count × learned mean` (when it lies strictly inside
//!    the bucket), else `count × midpoint`. Bucket bounds are `(previous le, le]`, the first
//!    bucket starting at 0.
//! 3. **Back-calculate the `+Inf` bucket**: its observations must sum to
//!    `total_sum − estimated finite sum`; their mean `inf_avg` (or `1.5 × max finite le` when
//!    that is not positive or not above the largest finite bound) places them evenly on
//!    `[max le, 2·inf_avg − max le]` (one observation: at `inf_avg`).
//! 4. **Generate finite-bucket observations** ([`generate_observations_with_sum_constraint`]):
//!    per bucket, F3 two-point mass (learned spread `4σ` < 1 % of the bucket width),
//!    a 50/50 blend of variance-aware and shifted-uniform (spread < 20 % and mean within 30 %
//!    of the centre), variance-aware (other learned variance), or evenly spaced uniform
//!    shifted to the learned mean (no variance) / the overall average (bucket holding ≥ 95 %
//!    of the finite observations) / the midpoint; then shift each bucket toward the exact
//!    remaining sum (share by its sum, at most 40 % of its width) unless already within 0.1 %.
//! 5. numpy's default (`linear`) percentiles p1, p5, p10, p25, p50, p75, p90, p95, p99 of all
//!    generated observations.
//!
//! Counts above 100,000 observations are scaled down (with the sum) to 100,000 first.
//! Fallbacks: no estimate (`None`) for a count ≤ 0, no buckets, a non-finite or negative sum,
//! no finite bucket or nothing generated; all zeros when the sum is exactly 0.

pub use crate::numpy::{np_mean, np_percentile, np_std, np_sum, np_var};

/// The percentiles AIPerf reports for gauges (`p1`..`p99`) and histograms (`p1_estimate`..).
pub const PERCENTILES: [f64; 9] = [1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0];

/// Upper bound on generated observations; larger histograms are scaled down to it.
pub const MAX_OBSERVATIONS: f64 = 100_000.0;

/// Intervals a bucket needs before its variance is trusted.
const MIN_VARIANCE_OBSERVATIONS: usize = 3;

/// `np.clip(x, lo, hi)` (`min(max(x, lo), hi)`; NaN stays NaN).
fn clip(x: f64, lo: f64, hi: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let y = if x < lo { lo } else { x };
    if y > hi {
        hi
    } else {
        y
    }
}

/// `np.linspace(start, stop, num)` (endpoint included, last value exactly `stop`).
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 0 {
        return Vec::new();
    }
    if num == 1 {
        return vec![start];
    }
    let div = (num - 1) as f64;
    let delta = stop - start;
    let step = delta / div;
    let mut y: Vec<f64> = (0..num)
        .map(|i| {
            let i = i as f64;
            if step == 0.0 {
                i / div * delta + start
            } else {
                i * step + start
            }
        })
        .collect();
    y[num - 1] = stop;
    y
}

/// `(np.arange(count) + 0.5) / count`.
fn fractions(count: usize) -> impl Iterator<Item = f64> {
    (0..count).map(move |i| (i as f64 + 0.5) / count as f64)
}

/// Python's `min(x, cap)`: `cap` only when strictly smaller.
fn py_min(x: f64, cap: f64) -> f64 {
    if cap < x {
        cap
    } else {
        x
    }
}

// ---------------------------------------------------------------------------------------
// Learned per-bucket statistics
// ---------------------------------------------------------------------------------------

/// What one bucket taught over the scrape intervals whose observations all fell into it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BucketStatistics {
    /// Observations over those intervals.
    pub observation_count: i64,
    /// `Σ mean × count`.
    pub weighted_mean_sum: f64,
    /// Number of intervals.
    pub sample_count: usize,
    /// Each interval's mean (`Δsum / Δcount`).
    pub observed_means: Vec<f64>,
}

impl BucketStatistics {
    /// Count-weighted average of the interval means; `None` before any interval.
    pub fn estimated_mean(&self) -> Option<f64> {
        (self.observation_count != 0)
            .then(|| self.weighted_mean_sum / self.observation_count as f64)
    }

    /// Sample variance (ddof 1) of the interval means, from 3 intervals on.
    pub fn estimated_variance(&self) -> Option<f64> {
        (self.observed_means.len() >= MIN_VARIANCE_OBSERVATIONS)
            .then(|| np_var(&self.observed_means, 1))
    }

    /// One single-bucket interval: `count` observations averaging `mean`.
    pub fn record(&mut self, mean: f64, count: i64) {
        self.observation_count += count;
        self.weighted_mean_sum += mean * count as f64;
        self.sample_count += 1;
        self.observed_means.push(mean);
    }
}

/// Learns [`BucketStatistics`] from a histogram's scrapes `start_idx..` (cumulative `sums`,
/// `counts` and `bucket_counts` rows, one row per scrape, buckets in ascending `le` order).
/// An interval counts when `Δcount` (truncated to an integer) is positive and exactly one
/// bucket gained observations (per-bucket increases, negative ones read as 0). The result
/// has one entry per bucket (of the shortest row), `None` for buckets that never had such
/// an interval.
pub fn accumulate_bucket_statistics(
    sums: &[f64],
    counts: &[f64],
    bucket_counts: &[Vec<f64>],
    start_idx: usize,
) -> Vec<Option<BucketStatistics>> {
    let n_buckets = bucket_counts.iter().map(Vec::len).min().unwrap_or(0);
    let mut stats: Vec<Option<BucketStatistics>> = vec![None; n_buckets];
    let n = sums.len().min(counts.len()).min(bucket_counts.len());
    if n <= start_idx + 1 {
        return stats;
    }
    for i in start_idx..n - 1 {
        let count_delta = (counts[i + 1] - counts[i]) as i64;
        let sum_delta = sums[i + 1] - sums[i];
        if count_delta <= 0 {
            continue;
        }
        let (prev, next) = (&bucket_counts[i], &bucket_counts[i + 1]);
        let cumulative: Vec<f64> = (0..n_buckets)
            .map(|j| (next[j] - prev[j]).max(0.0))
            .collect();
        let mut active = (0..n_buckets).filter(|&j| {
            let per = if j == 0 {
                cumulative[0]
            } else {
                cumulative[j] - cumulative[j - 1]
            };
            per > 0.0
        });
        if let (Some(j), None) = (active.next(), active.next()) {
            stats[j]
                .get_or_insert_with(BucketStatistics::default)
                .record(sum_delta / count_delta as f64, count_delta);
        }
    }
    stats
}

// ---------------------------------------------------------------------------------------
// The estimator
// ---------------------------------------------------------------------------------------

/// AIPerf's p1..p99 estimates ([`PERCENTILES`]) for one histogram over a window.
///
/// `buckets`: `(le, cumulative count increase)` sorted by `le`, `+Inf` (if any) last;
/// `stats`: what [`accumulate_bucket_statistics`] learned, by the same bucket index (may be
/// shorter or empty); `total_sum` / `total_count`: the window's `_sum` / `_count` increases.
pub fn compute_estimated_percentiles(
    buckets: &[(f64, f64)],
    stats: &[Option<BucketStatistics>],
    total_sum: f64,
    total_count: i64,
) -> Option<[f64; 9]> {
    if total_count <= 0 || buckets.is_empty() {
        return None;
    }
    if !total_sum.is_finite() || total_sum < 0.0 {
        return None;
    }
    if total_sum == 0.0 {
        return Some([0.0; 9]);
    }
    let finite: Vec<usize> = (0..buckets.len())
        .filter(|&i| !is_inf_bucket(buckets[i].0))
        .collect();
    if finite.is_empty() {
        return None;
    }
    let max_finite_bucket = finite
        .iter()
        .map(|&i| buckets[i].0)
        .fold(f64::NEG_INFINITY, |m, le| if le > m { le } else { m });

    let mut per_bucket = cumulative_to_per_bucket(buckets);
    let total_obs_count: f64 = per_bucket.iter().map(|b| b.count).sum();
    let mut total_sum = total_sum;
    if total_obs_count > MAX_OBSERVATIONS {
        let ratio = MAX_OBSERVATIONS / total_obs_count;
        for b in &mut per_bucket {
            b.count *= ratio;
        }
        total_sum *= ratio;
    }

    let raw_inf_count = per_bucket.iter().find(|b| b.inf).map_or(0.0, |b| b.count);
    let inf_count = if raw_inf_count > 0.0 {
        raw_inf_count.ceil() as i64
    } else {
        0
    };

    let estimated_finite_sum: f64 = estimate_bucket_sums(&per_bucket, stats).iter().sum();
    let inf_observations = estimate_inf_bucket_observations(
        total_sum,
        estimated_finite_sum,
        inf_count,
        max_finite_bucket,
    );
    let inf_sum_estimate = if inf_observations.is_empty() {
        0.0
    } else {
        np_sum(&inf_observations)
    };
    let actual_finite_sum = total_sum - inf_sum_estimate;

    let mut all = generate_observations_with_sum_constraint(&per_bucket, actual_finite_sum, stats);
    all.extend_from_slice(&inf_observations);
    if all.is_empty() {
        return None;
    }
    all.sort_by(f64::total_cmp);
    Some(PERCENTILES.map(|p| np_percentile(&all, p)))
}

/// AIPerf identifies the overflow bucket by its `le` text `+Inf`; numerically, `+∞`.
fn is_inf_bucket(le: f64) -> bool {
    le == f64::INFINITY
}

/// One bucket's own (not cumulative) count, with its bounds `(lower, upper]`.
#[derive(Debug, Clone, Copy)]
pub struct PerBucket {
    /// Index into the caller's bucket list (and the statistics).
    pub index: usize,
    pub lower: f64,
    pub upper: f64,
    pub count: f64,
    /// The `+Inf` bucket.
    pub inf: bool,
}

/// Cumulative counts to per-bucket counts, finite buckets first (ascending), `+Inf` last;
/// lower bounds from the previous finite bucket, 0 for the first.
fn cumulative_to_per_bucket(buckets: &[(f64, f64)]) -> Vec<PerBucket> {
    let mut out = Vec::with_capacity(buckets.len());
    let mut prev_cumulative = 0.0;
    let mut lower = 0.0;
    for (index, &(le, cumulative)) in buckets.iter().enumerate() {
        if is_inf_bucket(le) {
            continue;
        }
        out.push(PerBucket {
            index,
            lower,
            upper: le,
            count: cumulative - prev_cumulative,
            inf: false,
        });
        prev_cumulative = cumulative;
        lower = le;
    }
    if let Some((index, &(_, cumulative))) =
        buckets.iter().enumerate().find(|(_, b)| is_inf_bucket(b.0))
    {
        out.push(PerBucket {
            index,
            lower,
            upper: f64::INFINITY,
            count: cumulative - prev_cumulative,
            inf: true,
        });
    }
    out
}

/// The learned mean of a bucket when it lies strictly inside the bucket.
fn learned_mean(b: &PerBucket, stats: &[Option<BucketStatistics>]) -> Option<f64> {
    let m = stats.get(b.index)?.as_ref()?.estimated_mean()?;
    (b.lower < m && m < b.upper).then_some(m)
}

/// `count × (learned mean or midpoint)` per finite bucket with observations.
fn estimate_bucket_sums(per_bucket: &[PerBucket], stats: &[Option<BucketStatistics>]) -> Vec<f64> {
    per_bucket
        .iter()
        .filter(|b| !b.inf && b.count > 0.0)
        .map(|b| {
            let mean = learned_mean(b, stats).unwrap_or((b.lower + b.upper) / 2.0);
            b.count * mean
        })
        .collect()
}

/// The `+Inf` bucket's observations from the sum left over by the finite buckets.
fn estimate_inf_bucket_observations(
    total_sum: f64,
    estimated_finite_sum: f64,
    inf_count: i64,
    max_finite_bucket: f64,
) -> Vec<f64> {
    if inf_count <= 0 {
        return Vec::new();
    }
    let inf_sum = total_sum - estimated_finite_sum;
    let mut inf_avg = if inf_sum <= 0.0 {
        max_finite_bucket * 1.5
    } else {
        inf_sum / inf_count as f64
    };
    if inf_sum > 0.0 && inf_avg <= max_finite_bucket {
        inf_avg = max_finite_bucket * 1.5;
    }
    let mut upper_estimate = 2.0 * inf_avg - max_finite_bucket;
    if upper_estimate <= max_finite_bucket {
        upper_estimate = max_finite_bucket * 2.0;
    }
    if inf_count == 1 {
        return vec![inf_avg];
    }
    linspace(max_finite_bucket, upper_estimate, inf_count as usize)
}

/// F3 two-point mass: `⌊count · p_x⌋` observations at the lower bound, the rest at
/// `mean + variance / (mean − lower)` (clipped to the bucket).
fn f3_observations(count: usize, lower: f64, upper: f64, mean: f64, variance: f64) -> Vec<f64> {
    let x = lower;
    let a = if mean - x > 0.0 {
        mean + variance / (mean - x)
    } else {
        upper
    };
    let a = clip(a, lower, upper);
    let denominator = variance + (mean - x) * (mean - x);
    let p_x = if denominator > 0.0 {
        variance / denominator
    } else {
        0.5
    };
    let p_x = clip(p_x, 0.0, 1.0);
    let n_x = ((count as f64 * p_x) as usize).min(count);
    let mut out = vec![x; n_x];
    out.resize(count, a);
    out
}

/// Evenly spaced fractions mapped linearly from the mean toward each edge, at most 3σ.
fn variance_aware_observations(
    count: usize,
    lower: f64,
    upper: f64,
    mean: f64,
    std: f64,
) -> Vec<f64> {
    let stds_to_lower = py_min(if std > 0.0 { (mean - lower) / std } else { 3.0 }, 3.0);
    let stds_to_upper = py_min(if std > 0.0 { (upper - mean) / std } else { 3.0 }, 3.0);
    fractions(count)
        .map(|f| {
            let p = if f < 0.5 {
                mean - stds_to_lower * std * (1.0 - 2.0 * f)
            } else {
                mean + stds_to_upper * std * (2.0 * f - 1.0)
            };
            clip(p, lower, upper)
        })
        .collect()
}

/// Half shifted-uniform, half variance-aware.
fn blended_observations(count: usize, lower: f64, upper: f64, mean: f64, std: f64) -> Vec<f64> {
    const BLEND: f64 = 0.5;
    let width = upper - lower;
    let midpoint = (lower + upper) / 2.0;
    let shift = mean - midpoint;
    let variance = variance_aware_observations(count, lower, upper, mean, std);
    fractions(count)
        .zip(variance)
        .map(|(f, v)| {
            let u = clip(lower + width * f + shift, lower, upper);
            clip((1.0 - BLEND) * u + BLEND * v, lower, upper)
        })
        .collect()
}

/// Finite-bucket observations placed by the learned statistics, then shifted toward
/// `target_sum` (AIPerf's `_generate_observations_with_sum_constraint`).
pub fn generate_observations_with_sum_constraint(
    per_bucket: &[PerBucket],
    target_sum: f64,
    stats: &[Option<BucketStatistics>],
) -> Vec<f64> {
    let mut per_bucket = per_bucket.to_vec();
    let mut target_sum = target_sum;
    let finite_total =
        |pb: &[PerBucket]| -> f64 { pb.iter().filter(|b| !b.inf).map(|b| b.count).sum() };
    let mut total_count = finite_total(&per_bucket);
    if total_count > MAX_OBSERVATIONS {
        let ratio = MAX_OBSERVATIONS / total_count;
        for b in &mut per_bucket {
            b.count *= ratio;
        }
        target_sum *= ratio;
        total_count = finite_total(&per_bucket);
    }
    let finite: Vec<PerBucket> = per_bucket.into_iter().filter(|b| !b.inf).collect();

    // A bucket holding >= 95 % of the finite observations is centred on the overall average.
    let avg = if total_count > 0.0 {
        target_sum / total_count
    } else {
        0.0
    };
    let mut dominant: Option<usize> = None;
    if total_count > 0.0 {
        let max_count = finite
            .iter()
            .map(|b| b.count)
            .fold(f64::NEG_INFINITY, |m, c| if c > m { c } else { m });
        if max_count / total_count >= 0.95 {
            dominant = finite.iter().position(|b| b.count == max_count);
        }
    }

    let int_counts: Vec<i64> = finite.iter().map(|b| b.count as i64).collect();
    let total_observations: i64 = int_counts.iter().sum();
    if total_observations <= 0 {
        return Vec::new();
    }
    let total_observations = total_observations as usize;
    let mut observations: Vec<f64> = Vec::with_capacity(total_observations);
    // (start, count, lower, upper) of each bucket's run.
    let mut ranges: Vec<(usize, usize, f64, f64)> = Vec::new();

    for (k, b) in finite.iter().enumerate() {
        if int_counts[k] <= 0 {
            continue;
        }
        let remaining = total_observations - observations.len();
        if remaining == 0 {
            break;
        }
        let count = (int_counts[k] as usize).min(remaining);
        let (lower, upper) = (b.lower, b.upper);
        let width = upper - lower;
        let midpoint = (lower + upper) / 2.0;
        let start = observations.len();

        let mean = learned_mean(b, stats);
        let variance = stats
            .get(b.index)
            .and_then(Option::as_ref)
            .and_then(BucketStatistics::estimated_variance);

        let generated = match (mean, variance) {
            (Some(mean), Some(variance)) if variance > 0.0 => {
                let std = variance.sqrt();
                let spread_coverage = (4.0 * std) / width;
                let mean_offset = (mean - midpoint).abs() / width;
                Some(if spread_coverage < 0.01 {
                    f3_observations(count, lower, upper, mean, variance)
                } else if spread_coverage < 0.2 && mean_offset < 0.3 {
                    blended_observations(count, lower, upper, mean, std)
                } else {
                    variance_aware_observations(count, lower, upper, mean, std)
                })
            }
            _ => None,
        };
        match generated {
            Some(obs) => observations.extend(obs),
            None => {
                let mut center = mean.unwrap_or(midpoint);
                if dominant == Some(k) && lower < avg && avg < upper {
                    center = avg;
                }
                let shift = center - midpoint;
                observations.extend(
                    fractions(count).map(|f| clip(lower + width * f + shift, lower, upper)),
                );
            }
        }
        ranges.push((start, count, lower, upper));
    }

    // Pass 2: move each bucket toward the exact sum, in proportion to its share of it.
    let generated_sum = np_sum(&observations);
    if generated_sum <= 0.0 || target_sum <= 0.0 {
        return observations;
    }
    let discrepancy = target_sum - generated_sum;
    if discrepancy.abs() / target_sum < 0.001 {
        return observations;
    }
    for &(start, count, lower, upper) in &ranges {
        if count == 0 {
            continue;
        }
        let width = upper - lower;
        let slice = &mut observations[start..start + count];
        let weight = np_sum(slice) / generated_sum;
        let per_obs_shift = discrepancy * weight / count as f64;
        let max_shift = width * 0.4;
        let shift = clip(per_obs_shift, -max_shift, max_shift);
        for x in slice.iter_mut() {
            *x = clip(*x + shift, lower, upper);
        }
    }
    observations
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!(
            (a - b).abs() <= 1e-12 * b.abs().max(1.0),
            "{a} != {b} (diff {})",
            a - b
        );
    }

    fn close_all(a: [f64; 9], b: [f64; 9]) {
        for (x, y) in a.iter().zip(b) {
            close(*x, y);
        }
    }

    #[test]
    fn linspace_matches_numpy() {
        assert_eq!(linspace(1.0, 2.0, 3), vec![1.0, 1.5, 2.0]);
        assert_eq!(linspace(10.0, 50.0, 5), vec![10.0, 20.0, 30.0, 40.0, 50.0]);
    }

    #[test]
    fn learns_means_only_from_single_bucket_intervals() {
        // Buckets le 1, 2, +Inf. Scrapes (cumulative): interval 0->1 puts 4 observations
        // (sum 2.0) in bucket 0 only; 1->2 spreads over two buckets (ignored); 2->3 puts 2
        // observations (sum 3.2) in bucket 1 only; 3->4 adds nothing.
        let sums = [0.0, 2.0, 5.0, 8.2, 8.2];
        let counts = [0.0, 4.0, 6.0, 8.0, 8.0];
        let rows = vec![
            vec![0.0, 0.0, 0.0],
            vec![4.0, 4.0, 4.0],
            vec![5.0, 6.0, 6.0],
            vec![5.0, 8.0, 8.0],
            vec![5.0, 8.0, 8.0],
        ];
        let stats = accumulate_bucket_statistics(&sums, &counts, &rows, 0);
        assert_eq!(stats.len(), 3);
        let b0 = stats[0].as_ref().unwrap();
        assert_eq!((b0.observation_count, b0.sample_count), (4, 1));
        assert_eq!(b0.estimated_mean(), Some(0.5));
        assert_eq!(b0.estimated_variance(), None);
        let b1 = stats[1].as_ref().unwrap();
        close(b1.estimated_mean().unwrap(), 3.2 / 2.0);
        assert!(stats[2].is_none());
        // Starting after the first interval forgets bucket 0.
        let later = accumulate_bucket_statistics(&sums, &counts, &rows, 1);
        assert!(later[0].is_none() && later[1].is_some());
        // Too few scrapes.
        assert!(
            accumulate_bucket_statistics(&sums[..1], &counts[..1], &rows[..1], 0)
                .iter()
                .all(Option::is_none)
        );
    }

    #[test]
    fn variance_needs_three_intervals() {
        let mut s = BucketStatistics::default();
        s.record(0.3, 10);
        s.record(0.5, 20);
        close(
            s.estimated_mean().unwrap(),
            (0.3 * 10.0 + 0.5 * 20.0) / 30.0,
        );
        assert_eq!(s.estimated_variance(), None);
        s.record(0.4, 10);
        close(s.estimated_variance().unwrap(), 0.01);
    }

    #[test]
    fn fallbacks() {
        let b = [(1.0, 4.0), (f64::INFINITY, 4.0)];
        assert_eq!(compute_estimated_percentiles(&b, &[], 2.0, 0), None);
        assert_eq!(compute_estimated_percentiles(&[], &[], 2.0, 4), None);
        assert_eq!(compute_estimated_percentiles(&b, &[], f64::NAN, 4), None);
        assert_eq!(compute_estimated_percentiles(&b, &[], -1.0, 4), None);
        assert_eq!(
            compute_estimated_percentiles(&b, &[], 0.0, 4),
            Some([0.0; 9])
        );
        // Only a +Inf bucket: nothing finite to anchor on.
        assert_eq!(
            compute_estimated_percentiles(&[(f64::INFINITY, 4.0)], &[], 2.0, 4),
            None
        );
    }

    #[test]
    fn uniform_midpoint_fallback_worked_by_hand() {
        // 4 observations in (0, 1], sum 2.0, nothing learned. Only one finite bucket, so it
        // is dominant (100 %) and centred on avg = 2.0 / 4 = 0.5 = its midpoint: the
        // observations are 0.125, 0.375, 0.625, 0.875 (sum 2.0 exactly, no adjustment).
        // numpy linear over them: index 3p/100, e.g. p50 -> 1.5 -> 0.5, p1 -> 0.03 ->
        // 0.125 + 0.25 * 0.03 = 0.1325, p99 -> 2.97 -> 0.875 - 0.25 * 0.03 = 0.8675.
        let got = compute_estimated_percentiles(&[(1.0, 4.0), (f64::INFINITY, 4.0)], &[], 2.0, 4)
            .unwrap();
        let expect = PERCENTILES.map(|p| {
            let obs = [0.125, 0.375, 0.625, 0.875];
            np_percentile(&obs, p)
        });
        close_all(got, expect);
        close(got[0], 0.1325);
        close(got[4], 0.5);
        close(got[8], 0.8675);
    }

    #[test]
    fn inf_bucket_back_calculated_by_hand() {
        // 2 observations in (0, 1] (midpoint 0.5 -> estimated sum 1.0), 2 above 1, total
        // sum 7.0: the +Inf pair sums 6.0, mean 3.0, spread on linspace(1, 2*3 - 1 = 5, 2)
        // = [1, 5]. Finite part: target 7 - 6 = 1.0; the bucket holds 100 % of the finite
        // observations, avg 1.0 / 2 = 0.5 -> [0.25, 0.75] (sum 1.0, no adjustment).
        // All: [0.25, 0.75, 1, 5]; p50 index 1.5 -> 0.875; p99 index 2.97 -> 5 - 4 * 0.03.
        let got = compute_estimated_percentiles(&[(1.0, 2.0), (f64::INFINITY, 4.0)], &[], 7.0, 4)
            .unwrap();
        let obs = [0.25, 0.75, 1.0, 5.0];
        close_all(got, PERCENTILES.map(|p| np_percentile(&obs, p)));
        close(got[4], 0.875);
        close(got[8], 5.0 - 4.0 * (1.0 - (3.0 * 0.99 - 2.0)));
    }

    #[test]
    fn single_inf_observation_sits_at_its_mean() {
        // 1 of 2 observations above le 1 with total 10.5: finite midpoint 0.5, so the +Inf
        // one is 10.0 exactly (not linspace's lower end).
        let got = compute_estimated_percentiles(&[(1.0, 1.0), (f64::INFINITY, 2.0)], &[], 10.5, 2)
            .unwrap();
        close(got[8], 0.5 + (10.0 - 0.5) * 0.99);
    }

    #[test]
    fn inf_sum_not_above_max_falls_back_to_one_and_a_half() {
        // Finite estimate 2 * 0.5 = 1.0 >= total 1.0: inf_sum 0 -> inf_avg 1.5, upper 2.
        // The single +Inf observation: 1.5. Finite target 1.0 - 1.5 = -0.5 -> no
        // adjustment (target <= 0); the finite bucket is not dominant (2 of 2 finite -> it
        // is, but avg -0.25 is outside (0, 1]) -> midpoint: [0.25, 0.75].
        let got = compute_estimated_percentiles(&[(1.0, 2.0), (f64::INFINITY, 3.0)], &[], 1.0, 3)
            .unwrap();
        let obs = [0.25, 0.75, 1.5];
        close_all(got, PERCENTILES.map(|p| np_percentile(&obs, p)));
    }

    /// Reference values from AIPerf 0.13's own Python functions
    /// (`aiperf.server_metrics.histogram_percentiles.compute_estimated_percentiles` with
    /// `accumulate_bucket_statistics`, numpy 2.4), run on the same data from a scratch
    /// script under /tmp.
    #[test]
    fn matches_aiperf_reference_numbers() {
        for case in reference_cases() {
            let stats = accumulate_bucket_statistics(&case.sums, &case.counts, &case.rows, 0);
            let last = case.rows.len() - 1;
            let buckets: Vec<(f64, f64)> = case
                .les
                .iter()
                .enumerate()
                .map(|(j, &le)| (le, case.rows[last][j] - case.rows[0][j]))
                .collect();
            let sum = case.sums[last] - case.sums[0];
            let count = (case.counts[last] - case.counts[0]) as i64;
            let got = compute_estimated_percentiles(&buckets, &stats, sum, count);
            match (got, case.expect) {
                (Some(g), Some(e)) => {
                    for (x, y) in g.iter().zip(e) {
                        assert!(
                            (x - y).abs() <= 1e-12 * y.abs().max(1e-300),
                            "{}: {g:?} != {e:?}",
                            case.name
                        );
                    }
                }
                (g, e) => assert_eq!(g, e, "{}", case.name),
            }
        }
    }

    struct Case {
        name: &'static str,
        les: Vec<f64>,
        sums: Vec<f64>,
        counts: Vec<f64>,
        rows: Vec<Vec<f64>>,
        expect: Option<[f64; 9]>,
    }

    fn reference_cases() -> Vec<Case> {
        vec![
            Case {
                name: "midpoints_and_sum_constraint",
                les: vec![
                    0.005,
                    0.01,
                    0.025,
                    0.05,
                    0.1,
                    0.25,
                    0.5,
                    1.0,
                    2.5,
                    5.0,
                    f64::INFINITY,
                ],
                sums: vec![
                    0.0,
                    1.9467026674686791,
                    4.102777294066796,
                    7.590904529979723,
                    9.918507551639363,
                    12.122458728772166,
                    14.79644237628384,
                ],
                counts: vec![0.0, 7.0, 14.0, 21.0, 28.0, 35.0, 42.0],
                rows: vec![
                    vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                    vec![0.0, 0.0, 0.0, 0.0, 2.0, 3.0, 6.0, 7.0, 7.0, 7.0, 7.0],
                    vec![0.0, 0.0, 0.0, 1.0, 5.0, 6.0, 12.0, 14.0, 14.0, 14.0, 14.0],
                    vec![0.0, 0.0, 0.0, 1.0, 5.0, 8.0, 15.0, 21.0, 21.0, 21.0, 21.0],
                    vec![0.0, 0.0, 0.0, 2.0, 6.0, 11.0, 20.0, 28.0, 28.0, 28.0, 28.0],
                    vec![0.0, 0.0, 0.0, 2.0, 8.0, 14.0, 25.0, 35.0, 35.0, 35.0, 35.0],
                    vec![0.0, 0.0, 0.0, 2.0, 8.0, 15.0, 30.0, 42.0, 42.0, 42.0, 42.0],
                ],
                expect: Some([
                    0.03275998254110803,
                    0.050263498254110806,
                    0.06443663174888273,
                    0.14205848995374226,
                    0.3138498254110803,
                    0.5,
                    0.7360329841554939,
                    0.8214496508221604,
                    0.8897829841554938,
                ]),
            },
            Case {
                name: "learned_mean_shifted_uniform",
                les: vec![0.1, 0.5, 1.0, f64::INFINITY],
                sums: vec![0.0, 1.31, 2.15, 4.3, 5.329999999999999],
                counts: vec![0.0, 3.0, 5.0, 10.0, 13.0],
                rows: vec![
                    vec![0.0, 0.0, 0.0, 0.0],
                    vec![0.0, 3.0, 3.0, 3.0],
                    vec![0.0, 5.0, 5.0, 5.0],
                    vec![1.0, 8.0, 10.0, 10.0],
                    vec![2.0, 10.0, 13.0, 13.0],
                ],
                expect: Some([
                    0.028377777777777766,
                    0.05237777777777777,
                    0.10460833333333333,
                    0.2835305555555555,
                    0.4335305555555554,
                    0.47853055555555546,
                    0.6773333333333332,
                    0.7773333333333329,
                    0.8573333333333331,
                ]),
            },
            Case {
                name: "variance_aware",
                les: vec![1.0, 2.0, 4.0, f64::INFINITY],
                sums: vec![
                    0.0,
                    2.3,
                    5.999999999999999,
                    7.299999999999999,
                    11.799999999999999,
                    19.499999999999996,
                ],
                counts: vec![0.0, 2.0, 4.0, 5.0, 8.0, 12.0],
                rows: vec![
                    vec![0.0, 0.0, 0.0, 0.0],
                    vec![0.0, 2.0, 2.0, 2.0],
                    vec![0.0, 4.0, 4.0, 4.0],
                    vec![0.0, 5.0, 5.0, 5.0],
                    vec![0.0, 8.0, 8.0, 8.0],
                    vec![1.0, 10.0, 12.0, 12.0],
                ],
                expect: Some([
                    0.5489887493770251,
                    0.7837759860246706,
                    1.0344548517880454,
                    1.208621518454712,
                    1.5044548517880452,
                    1.8252881851213787,
                    2.3888552956737525,
                    2.891751641290682,
                    3.3317516412906834,
                ]),
            },
            Case {
                name: "blended",
                les: vec![1.0, 2.0, 4.0, f64::INFINITY],
                sums: vec![
                    0.0,
                    3.02,
                    5.98,
                    7.510000000000001,
                    12.020000000000001,
                    25.720000000000002,
                ],
                counts: vec![0.0, 2.0, 4.0, 5.0, 8.0, 13.0],
                rows: vec![
                    vec![0.0, 0.0, 0.0, 0.0],
                    vec![0.0, 2.0, 2.0, 2.0],
                    vec![0.0, 4.0, 4.0, 4.0],
                    vec![0.0, 5.0, 5.0, 5.0],
                    vec![0.0, 8.0, 8.0, 8.0],
                    vec![1.0, 10.0, 12.0, 13.0],
                ],
                expect: Some([
                    0.5903348488328393,
                    0.9516742441641961,
                    1.2652758865933105,
                    1.3776452034701636,
                    1.5649273982649186,
                    1.7522095930596735,
                    3.3000000000000007,
                    4.378999999999998,
                    5.433799999999999,
                ]),
            },
            Case {
                name: "f3_two_point",
                les: vec![1.0, 2.0, 4.0, f64::INFINITY],
                sums: vec![0.0, 2.6, 3.9001, 6.5, 9.1, 18.1],
                counts: vec![0.0, 2.0, 3.0, 5.0, 7.0, 12.0],
                rows: vec![
                    vec![0.0, 0.0, 0.0, 0.0],
                    vec![0.0, 2.0, 2.0, 2.0],
                    vec![0.0, 3.0, 3.0, 3.0],
                    vec![0.0, 5.0, 5.0, 5.0],
                    vec![0.0, 7.0, 7.0, 7.0],
                    vec![1.0, 10.0, 12.0, 12.0],
                ],
                expect: Some([
                    0.5847692283971865,
                    0.9348351659526933,
                    1.2928571475435526,
                    1.2928571475435526,
                    1.2928571475435526,
                    1.2928571475435526,
                    2.3644505323992284,
                    2.9335164640498577,
                    3.373516464049859,
                ]),
            },
            Case {
                name: "inf_tail",
                les: vec![0.1, 0.5, 1.0, f64::INFINITY],
                sums: vec![0.0, 12.05, 25.15, 51.0],
                counts: vec![0.0, 5.0, 8.0, 11.0],
                rows: vec![
                    vec![0.0, 0.0, 0.0, 0.0],
                    vec![1.0, 2.0, 3.0, 5.0],
                    vec![1.0, 3.0, 5.0, 8.0],
                    vec![1.0, 5.0, 7.0, 11.0],
                ],
                expect: Some([
                    0.060000000000000005,
                    0.1,
                    0.15000000000000002,
                    0.3,
                    0.625,
                    4.6875,
                    15.75,
                    19.4375,
                    22.387500000000003,
                ]),
            },
            Case {
                name: "downsampled",
                les: vec![
                    0.005,
                    0.01,
                    0.025,
                    0.05,
                    0.1,
                    0.25,
                    0.5,
                    1.0,
                    2.5,
                    5.0,
                    f64::INFINITY,
                ],
                sums: vec![0.0, 15621.78635153625, 33466.30711723892],
                counts: vec![0.0, 70000.0, 150000.0],
                rows: vec![
                    vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                    vec![
                        37.0, 335.0, 3235.0, 11282.0, 26664.0, 51166.0, 63276.0, 68374.0, 69870.0,
                        69992.0, 70000.0,
                    ],
                    vec![
                        68.0, 695.0, 6800.0, 24162.0, 57381.0, 109861.0, 135616.0, 146508.0,
                        149709.0, 149979.0, 150000.0,
                    ],
                ],
                expect: Some([
                    0.010286704218998324,
                    0.025,
                    0.033178920192950774,
                    0.0628169387363228,
                    0.1334187095891296,
                    0.25,
                    0.45770973918495317,
                    0.7433730562442807,
                    1.7637135840873235,
                ]),
            },
            Case {
                name: "dominant_bucket",
                les: vec![0.1, 0.5, 1.0, f64::INFINITY],
                sums: vec![0.0, 0.7100000000000001, 3.23],
                counts: vec![0.0, 4.0, 14.0],
                rows: vec![
                    vec![0.0, 0.0, 0.0, 0.0],
                    vec![1.0, 4.0, 4.0, 4.0],
                    vec![1.0, 14.0, 14.0, 14.0],
                ],
                expect: Some([
                    0.054811220986128284,
                    0.08182060614384472,
                    0.1,
                    0.12672919898782786,
                    0.2267291989878279,
                    0.32672919898782793,
                    0.3867291989878279,
                    0.4067291989878279,
                    0.4227291989878279,
                ]),
            },
        ]
    }
}
