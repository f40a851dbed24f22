//! numpy's float64 arithmetic, operation for operation, so statistics match AIPerf's (which
//! computes them with numpy) to the last bit: pairwise summation, mean, variance with `ddof`,
//! and `percentile` with the `linear` method and numpy's two-sided lerp.

/// numpy's pairwise summation (`np.sum` / `ndarray.sum()` of a contiguous float64 array):
/// under 8 values a plain loop, up to 128 eight interleaved accumulators, above that the
/// halves (split at a multiple of 8) summed recursively.
pub fn np_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let whole = n - n % 8;
        let mut i = 8;
        while i < whole {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[whole..] {
            res += x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        np_sum(&a[..n2]) + np_sum(&a[n2..])
    }
}

/// `np.mean`: pairwise sum over the count. NaN for no values.
pub fn np_mean(a: &[f64]) -> f64 {
    np_sum(a) / a.len() as f64
}

/// `np.var(a, ddof)`: `sum((x - mean)²) / (n - ddof)`, both sums pairwise.
pub fn np_var(a: &[f64], ddof: usize) -> f64 {
    let mean = np_mean(a);
    let sq: Vec<f64> = a
        .iter()
        .map(|x| {
            let d = x - mean;
            d * d
        })
        .collect();
    np_sum(&sq) / a.len().saturating_sub(ddof) as f64
}

/// `np.std(a, ddof)`.
pub fn np_std(a: &[f64], ddof: usize) -> f64 {
    np_var(a, ddof).sqrt()
}

/// `np.percentile(a, pct)` with the default `linear` method over ascending `sorted` values:
/// index `(n − 1) · pct/100`, and numpy's two-sided lerp (`a + d·t` below `t = 0.5`,
/// `b − d·(1 − t)` from it on). NaN for no values.
pub fn np_percentile(sorted: &[f64], pct: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let q = pct / 100.0;
    let virtual_index = (n - 1) as f64 * q;
    if virtual_index >= (n - 1) as f64 {
        return sorted[n - 1];
    }
    if virtual_index < 0.0 {
        return sorted[0];
    }
    let previous = virtual_index.floor();
    let i = previous as usize;
    let (a, b) = (sorted[i], sorted[i + 1]);
    let gamma = virtual_index - previous;
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn np_sum_is_pairwise() {
        // 0.1 summed 10 times: sequentially 0.9999999999999999, numpy's 8 accumulators
        // then the remainder: ((0.1+0.1)+(0.1+0.1)) + ... = 0.8, + 0.1 + 0.1 = 1.0.
        assert_eq!(np_sum(&[0.1; 10]), 1.0);
        assert_eq!([0.1f64; 10].iter().sum::<f64>(), 0.9999999999999999);
        assert_eq!(np_sum(&[]), 0.0);
        assert_eq!(np_sum(&[1.0, 2.0, 3.0]), 6.0);
    }

    #[test]
    fn np_percentile_linear_two_sided_lerp() {
        let v = [1.0, 2.0, 3.0, 4.0];
        // index 3 * 0.5 = 1.5 -> 2 + (3 - 2) * 0.5, from the upper side: 3 - 1 * 0.5.
        assert_eq!(np_percentile(&v, 50.0), 2.5);
        // index 3 * 0.9 = 2.7 -> 4 - 1 * (1 - 0.7).
        assert_eq!(np_percentile(&v, 90.0), 4.0 - (1.0 - (3.0 * 0.9 - 2.0)));
        assert_eq!(np_percentile(&v, 0.0), 1.0);
        assert_eq!(np_percentile(&v, 100.0), 4.0);
        assert_eq!(np_percentile(&[7.0], 25.0), 7.0);
        assert!(np_percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn np_var_sample() {
        // [2, 4, 9]: mean 5, squared deviations 9 + 1 + 16 = 26, / (3 - 1).
        assert_eq!(np_var(&[2.0, 4.0, 9.0], 1), 13.0);
        assert_eq!(np_std(&[2.0, 4.0, 9.0], 0), (26.0f64 / 3.0).sqrt());
    }

    #[test]
    fn pairwise_sum_groups_like_numpy() {
        // 2^53 + 1 rounds back to 2^53 (ties to even), so a left fold loses every 1.0,
        // while numpy's 8-way pairing adds them among themselves first:
        // ((2^53 + 1) + (1 + 1)) + ((1 + 1) + (1 + 1)) = (2^53 + 2) + 4 = 2^53 + 6.
        let big = 9_007_199_254_740_992.0; // 2^53
        let mut v = vec![1.0; 8];
        v[0] = big;
        assert_eq!(np_sum(&v), big + 6.0);
        assert_eq!(v.iter().fold(0.0, |a, b| a + b), big);
    }

    #[test]
    fn numpy_lerp_uses_upper_neighbour_from_half() {
        // [0.3, 0.9], p95: index 0.95, weight >= 0.5 -> numpy computes 0.9 - 0.6 * 0.05,
        // which rounds to exactly 0.87, while 0.3 + 0.6 * 0.95 gives 0.8700000000000001
        // (checked against numpy.percentile).
        assert_eq!(np_percentile(&[0.3, 0.9], 95.0), 0.87);
        assert_eq!(np_percentile(&[0.3, 0.9], 99.0), 0.894);
        assert_eq!(np_percentile(&[0.0, 10.0], 25.0), 2.5);
        assert_eq!(np_percentile(&[4.0], 99.0), 4.0);
    }
}
