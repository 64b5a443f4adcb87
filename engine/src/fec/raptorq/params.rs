//! The code parameters of one RaptorQ source block and the functions that pick each encoding
//! symbol's neighbours: `Rand` (RFC 6330 §5.3.5.1), `Deg` (§5.3.5.2), `Tuple` (§5.3.5.4), and
//! the derived sizes of §5.3.3.3 (L, P, P1, B, U).

use super::tables::{SYSTEMATIC_INDICES, V0, V1, V2, V3};

/// `Rand[y, i, m]` (RFC 6330 §5.3.5.1); `m` > 0.
pub(super) fn rand(y: u32, i: u32, m: u32) -> u32 {
    let pick = |table: &[u32; 256], shift: u32| {
        let index = (y >> shift).wrapping_add(i) & 0xFF;
        table.get(index as usize).copied().unwrap_or_default()
    };
    let x = pick(&V0, 0) ^ pick(&V1, 8) ^ pick(&V2, 16) ^ pick(&V3, 24);
    x.checked_rem(m).unwrap_or_default()
}

/// The degree distribution of RFC 6330 §5.3.5.2, Table 1: f[d] for d = 0..=30.
const DEGREE_BOUNDS: [u32; 31] = [
    0, 5243, 529531, 704294, 791675, 844104, 879057, 904023, 922747, 937311, 948962, 958494,
    966438, 973160, 978921, 983914, 988283, 992138, 995565, 998631, 1001391, 1003887, 1006157,
    1008229, 1010129, 1011876, 1013490, 1014983, 1016370, 1017662, 1048576,
];

/// `Deg[v]` (RFC 6330 §5.3.5.2) for v < 2^20: the d with f[d−1] ≤ v < f[d], at most W − 2.
pub(super) fn deg(v: u32, w: u32) -> u32 {
    let d = DEGREE_BOUNDS
        .iter()
        .skip(1)
        .position(|&f| v < f)
        .map_or(30, |p| p as u32 + 1);
    d.min(w.saturating_sub(2))
}

/// The parameters of a block of K source symbols, extended to K' (RFC 6330 §5.3.1, §5.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Params {
    /// K, the source symbols of the block.
    pub k: u32,
    /// K', the extended block size (padding symbols K..K' are zero).
    pub k_prime: u32,
    /// J(K'), the systematic index.
    pub j: u32,
    /// S, the LDPC symbols.
    pub s: u32,
    /// H, the HDPC symbols.
    pub h: u32,
    /// W, the LT symbols.
    pub w: u32,
    /// L = K' + S + H, the intermediate symbols.
    pub l: u32,
    /// P = L − W, the permanently inactivated symbols.
    pub p: u32,
    /// P1, the smallest prime ≥ P.
    pub p1: u32,
}

fn is_prime(n: u32) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2u32;
    while d.saturating_mul(d) <= n {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 1;
    }
    true
}

impl Params {
    /// The parameters for K source symbols: the first row of Table 2 with K' ≥ K.
    pub(super) fn new(k: u32) -> Option<Self> {
        if k == 0 {
            return None;
        }
        let &(k_prime, j, s, h, w) = SYSTEMATIC_INDICES
            .iter()
            .find(|row| u32::from(row.0) >= k)?;
        let (k_prime, j, s, h, w) = (
            u32::from(k_prime),
            u32::from(j),
            u32::from(s),
            u32::from(h),
            u32::from(w),
        );
        let l = k_prime + s + h;
        let p = l.checked_sub(w)?;
        let mut p1 = p.max(2);
        while !is_prime(p1) {
            p1 += 1;
        }
        Some(Self {
            k,
            k_prime,
            j,
            s,
            h,
            w,
            l,
            p,
            p1,
        })
    }

    /// B = W − S, the LT symbols that are not LDPC symbols.
    pub(super) fn b(&self) -> u32 {
        self.w - self.s
    }

    /// The ISI of encoding symbol `esi` (RFC 6330 §5.3.1): repair ESIs skip the padding.
    pub(super) fn isi(&self, esi: u32) -> u32 {
        if esi < self.k {
            esi
        } else {
            esi + (self.k_prime - self.k)
        }
    }

    /// `Tuple[K', X]` (RFC 6330 §5.3.5.4): (d, a, b, d1, a1, b1).
    pub(super) fn tuple(&self, x: u32) -> Tuple {
        let mut a = 53591u32.wrapping_add(self.j.wrapping_mul(997));
        if a.is_multiple_of(2) {
            a = a.wrapping_add(1);
        }
        let b = 10267u32.wrapping_mul(self.j.wrapping_add(1));
        let y = b.wrapping_add(x.wrapping_mul(a));
        let v = rand(y, 0, 1 << 20);
        let d = deg(v, self.w);
        let a = 1 + rand(y, 1, self.w - 1);
        let b = rand(y, 2, self.w);
        let d1 = if d < 4 { 2 + rand(x, 3, 2) } else { 2 };
        let a1 = 1 + rand(x, 4, self.p1 - 1);
        let b1 = rand(x, 5, self.p1);
        Tuple {
            d,
            a,
            b,
            d1,
            a1,
            b1,
        }
    }

    /// Calls `f` with each intermediate symbol index that `Enc[K', C, Tuple[K', x]]`
    /// (RFC 6330 §5.3.5.3) adds up, in the RFC's order (an index may repeat only when
    /// P1 wraps onto itself, which the callers cancel over GF(2)).
    pub(super) fn for_each_lt_column(&self, x: u32, mut f: impl FnMut(u32)) {
        let t = self.tuple(x);
        let (w, p, p1) = (self.w, self.p, self.p1);
        let mut b = t.b;
        f(b);
        for _ in 1..t.d {
            b = (b + t.a) % w;
            f(b);
        }
        let mut b1 = t.b1;
        while b1 >= p {
            b1 = (b1 + t.a1) % p1;
        }
        f(w + b1);
        for _ in 1..t.d1 {
            b1 = (b1 + t.a1) % p1;
            while b1 >= p {
                b1 = (b1 + t.a1) % p1;
            }
            f(w + b1);
        }
    }
}

/// The output of `Tuple` (RFC 6330 §5.3.5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tuple {
    pub d: u32,
    pub a: u32,
    pub b: u32,
    pub d1: u32,
    pub a1: u32,
    pub b1: u32,
}
