//! CPython's `random.Random` (MT19937) as far as seeding from an int and `shuffle` go, so
//! seeded permutations match Python's bit for bit.

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// `random.Random(seed)` for a non-negative int seed.
pub(crate) struct PyRandom {
    mt: [u32; N],
    index: usize,
}

impl PyRandom {
    /// `random.Random(seed)`: `init_by_array` over the seed's 32-bit words, least
    /// significant first (one zero word for seed 0), as `random_seed` in `_randommodule.c`.
    pub fn new(seed: u128) -> Self {
        let mut key = Vec::new();
        let mut rest = seed;
        loop {
            key.push(rest as u32);
            rest >>= 32;
            if rest == 0 {
                break;
            }
        }
        let mut rng = Self {
            mt: [0; N],
            index: N,
        };
        rng.init_by_array(&key);
        rng
    }

    fn init_genrand(&mut self, seed: u32) {
        self.mt[0] = seed;
        for i in 1..N {
            let prev = self.mt[i - 1];
            self.mt[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        self.index = N;
    }

    fn init_by_array(&mut self, key: &[u32]) {
        self.init_genrand(19_650_218);
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
        }
        self.mt[0] = 0x8000_0000;
    }

    fn twist(&mut self) {
        for k in 0..N {
            let y = (self.mt[k] & UPPER_MASK) | (self.mt[(k + 1) % N] & LOWER_MASK);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            self.mt[k] = self.mt[(k + M) % N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }

    /// `genrand_uint32`: the next tempered 32-bit output.
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `getrandbits(k)` for `1 <= k <= 32`.
    fn getrandbits(&mut self, k: u32) -> u32 {
        self.next_u32() >> (32 - k)
    }

    /// `_randbelow_with_getrandbits(n)` for `n >= 1`: `n.bit_length()` bits, redrawn while
    /// out of range.
    fn randbelow(&mut self, n: u32) -> u32 {
        let k = u32::BITS - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }

    /// `random.shuffle(items)`: Fisher-Yates from the end, `j = _randbelow(i + 1)`.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.randbelow(i as u32 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shuffled(seed: u128, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        PyRandom::new(seed).shuffle(&mut v);
        v
    }

    /// `[random.Random(s).getrandbits(32) for _ in range(3)]` from CPython 3.11.
    #[test]
    fn outputs_match_cpython() {
        let first3 = |seed| {
            let mut r = PyRandom::new(seed);
            [r.next_u32(), r.next_u32(), r.next_u32()]
        };
        assert_eq!(first3(0), PY_BITS_0);
        assert_eq!(first3(42), PY_BITS_42);
        assert_eq!(first3(4_294_967_295), PY_BITS_MAX32);
        assert_eq!(first3(1 << 40), PY_BITS_2_40);
    }

    /// `x = list(range(n)); random.Random(s).shuffle(x)` from CPython 3.11.
    #[test]
    fn shuffles_match_cpython() {
        for (seed, n, expected) in PY_SHUFFLES {
            assert_eq!(shuffled(*seed, *n), *expected, "seed {seed} n {n}");
        }
    }

    const PY_BITS_0: [u32; 3] = [3626764237, 1654615998, 3255389356];
    const PY_BITS_42: [u32; 3] = [2746317213, 478163327, 107420369];
    const PY_BITS_MAX32: [u32; 3] = [2728839433, 2661025012, 872737089];
    const PY_BITS_2_40: [u32; 3] = [445128065, 1517081360, 2880015531];
    const PY_SHUFFLES: &[(u128, usize, &[usize])] = &[
        (0, 4, &[2, 0, 1, 3]),
        (1, 4, &[3, 0, 2, 1]),
        (42, 4, &[2, 1, 3, 0]),
        (12345, 4, &[1, 0, 2, 3]),
        (4294967295, 4, &[2, 3, 0, 1]),
        (2718281828, 4, &[1, 0, 2, 3]),
        (7, 10, &[8, 3, 1, 4, 7, 0, 9, 6, 2, 5]),
        (
            99,
            33,
            &[
                32, 21, 0, 26, 1, 10, 22, 18, 14, 20, 28, 3, 29, 9, 11, 13, 30, 15, 23, 17, 16, 12,
                8, 2, 31, 4, 27, 7, 5, 19, 6, 24, 25,
            ],
        ),
        (1 << 40, 7, &[5, 1, 4, 3, 6, 2, 0]),
    ];
}
