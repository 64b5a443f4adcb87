//! The code parameters of one Raptor source block (RFC 5053 §5.4.2.3: X, S, H, H', L, L') and
//! the functions that pick the intermediate symbols each row adds up: `Rand` (§5.4.4.1), `Deg`
//! (§5.4.4.2), `Trip` (§5.4.4.4) with LTEnc's walk over C (§5.4.4.3), the LDPC rows and the
//! Gray-code half rows (§5.4.2.3).

use super::tables::{FIRST_K, SYSTEMATIC_INDICES, V0, V1};

/// `Rand[X, i, m]` (RFC 5053 §5.4.4.1); 0 when m = 0.
pub(super) fn rand(x: u32, i: u32, m: u32) -> u32 {
    let pick = |table: &[u32; 256], y: u32| {
        table
            .get((y.wrapping_add(i) % 256) as usize)
            .copied()
            .unwrap_or_default()
    };
    (pick(&V0, x) ^ pick(&V1, x / 256))
        .checked_rem(m)
        .unwrap_or_default()
}

/// The degree distribution of RFC 5053 §5.4.4.2: (f[j], d[j]) for j = 1..=7.
const DEGREES: [(u32, u32); 7] = [
    (10241, 1),
    (491582, 2),
    (712794, 3),
    (831695, 4),
    (948446, 10),
    (1032189, 11),
    (1048576, 40),
];

/// `Deg[v]` (RFC 5053 §5.4.4.2) for v < 2^20: d[j] for the j with f[j−1] ≤ v < f[j].
pub(super) fn deg(v: u32) -> u32 {
    DEGREES
        .iter()
        .find(|&&(f, _)| v < f)
        .map_or(40, |&(_, d)| d)
}

/// Q of `Trip` (RFC 5053 §5.4.4.4): the largest prime below 2^16.
const Q: u64 = 65521;

fn is_prime(n: u32) -> bool {
    n >= 2
        && (2..n)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

fn next_prime(mut n: u32) -> u32 {
    while !is_prime(n) {
        n += 1;
    }
    n
}

/// choose(n, r), saturating (only compared with K + S ≤ 8192 + a few hundred).
fn choose(n: u32, r: u32) -> u64 {
    (0..u64::from(r)).fold(1u64, |acc, i| {
        acc.saturating_mul(u64::from(n) - i) / (i + 1)
    })
}

/// The parameters of a block of K source symbols (RFC 5053 §5.4.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Params {
    /// K, the source symbols of the block.
    pub k: u32,
    /// J(K), the systematic index (§5.7).
    pub j: u32,
    /// S, the LDPC symbols.
    pub s: u32,
    /// H, the half symbols.
    pub h: u32,
    /// H' = ceil(H/2), the bits set in each half-row Gray code.
    pub h_prime: u32,
    /// L = K + S + H, the intermediate symbols.
    pub l: u32,
    /// L', the smallest prime ≥ L.
    pub l_prime: u32,
}

impl Params {
    /// The parameters for K source symbols, 4 ≤ K ≤ 8192 (where J(K) is defined).
    pub(super) fn new(k: u32) -> Option<Self> {
        let j = u32::from(*SYSTEMATIC_INDICES.get(k.checked_sub(FIRST_K)? as usize)?);
        // X: the smallest positive integer with X·(X − 1) ≥ 2K.
        let mut x = 1u32;
        while x * (x - 1) < 2 * k {
            x += 1;
        }
        let s = next_prime(k.div_ceil(100) + x);
        let mut h = 1u32;
        while choose(h, h.div_ceil(2)) < u64::from(k + s) {
            h += 1;
        }
        let l = k + s + h;
        Some(Self {
            k,
            j,
            s,
            h,
            h_prime: h.div_ceil(2),
            l,
            l_prime: next_prime(l),
        })
    }

    /// `Trip[K, X]` (RFC 5053 §5.4.4.4): (d, a, b).
    pub(super) fn triple(&self, x: u32) -> (u32, u32, u32) {
        let j = u64::from(self.j);
        let a = (53591 + j * 997) % Q;
        let b = 10267 * (j + 1) % Q;
        // Y < Q < 2^16.
        let y = ((b + u64::from(x) * a) % Q) as u32;
        let v = rand(y, 0, 1 << 20);
        let d = deg(v);
        let a = 1 + rand(y, 1, self.l_prime - 1);
        let b = rand(y, 2, self.l_prime);
        (d, a, b)
    }

    /// Calls `f` with each intermediate symbol that `LTEnc[K, C, Trip[K, x]]` (RFC 5053
    /// §5.4.4.3) adds up. They are distinct: the walk b, b + a, … (mod the prime L') visits
    /// L' different values before repeating, and at most L of them are kept.
    pub(super) fn for_each_lt_column(&self, x: u32, mut f: impl FnMut(u32)) {
        let (d, a, mut b) = self.triple(x);
        let (l, l_prime) = (self.l, self.l_prime);
        let step = |b: u32| {
            let mut b = (b + a) % l_prime;
            while b >= l {
                b = (b + a) % l_prime;
            }
            b
        };
        while b >= l {
            b = (b + a) % l_prime;
        }
        f(b);
        for _ in 1..d.min(l) {
            b = step(b);
            f(b);
        }
    }

    /// The LDPC rows (RFC 5053 §5.4.2.3): row i holds the source columns that add into
    /// C[K + i], and K + i itself.
    pub(super) fn ldpc_rows(&self) -> Vec<Vec<u32>> {
        let (k, s) = (self.k, self.s);
        let mut rows = vec![Vec::new(); s as usize];
        let mut add = |row: u32, col: u32| {
            if let Some(r) = rows.get_mut(row as usize) {
                r.push(col);
            }
        };
        for i in 0..k {
            let a = 1 + (i / s) % (s - 1);
            let mut b = i % s;
            add(b, i);
            b = (b + a) % s;
            add(b, i);
            b = (b + a) % s;
            add(b, i);
        }
        for i in 0..s {
            add(i, k + i);
        }
        rows
    }

    /// The half rows (RFC 5053 §5.4.2.3): row h holds the columns j < K + S whose Gray code
    /// g[j] (the j-th Gray code with H' bits set) has bit h, and K + S + h itself.
    pub(super) fn half_rows(&self) -> Vec<Vec<u32>> {
        let width = self.k + self.s;
        let mut rows = vec![Vec::new(); self.h as usize];
        let gray = (0u32..)
            .map(|x| x ^ (x >> 1))
            .filter(|g| g.count_ones() == self.h_prime);
        for (j, g) in (0..width).zip(gray) {
            for (h, row) in rows.iter_mut().enumerate() {
                if g >> h & 1 != 0 {
                    row.push(j);
                }
            }
        }
        for (h, row) in (0u32..).zip(rows.iter_mut()) {
            row.push(width + h);
        }
        rows
    }
}
