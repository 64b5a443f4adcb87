//! The MD5 compression function (RFC 1321 §3.4).
//!
//! Each step is a ← b + ((a + f(b, c, d) + X[k] + T[i]) <<< s), and every step needs the b of
//! the one before, so the speed of MD5 is the length of that chain: b → f → add → rotate → add.
//! `X[k] + T[i]` and the previous a are known early, so they are added first, off the chain.
//! - F(b, c, d) = d ^ (b & (c ^ d)): `c ^ d` is ready before b; two operations on b's path.
//! - G(b, c, d) = (b & d) | (c & !d): the terms are disjoint, so `|` is `+`, and `c & !d` does not
//!   depend on b: it is added to a before b is known, leaving one operation (`b & d`) on b's path.
//! - H(b, c, d) = b ^ (c ^ d): one operation on b's path.
//! - I(b, c, d) = c ^ (b | !d): `!d` is ready early; two operations on b's path.

use super::{BLOCK_BYTES, T, words};

/// The 64 steps of RFC 1321 §3.4 in order: for each, the round's step macro with the state words
/// in their rotated roles, the message word index k, the step index i (for T[i]) and the shift.
macro_rules! rounds {
    ($f:ident, $g:ident, $h:ident, $i:ident, $a:ident, $b:ident, $c:ident, $d:ident) => {
        // Round 1.
        $f!($a, $b, $c, $d, 0, 0, 7);
        $f!($d, $a, $b, $c, 1, 1, 12);
        $f!($c, $d, $a, $b, 2, 2, 17);
        $f!($b, $c, $d, $a, 3, 3, 22);
        $f!($a, $b, $c, $d, 4, 4, 7);
        $f!($d, $a, $b, $c, 5, 5, 12);
        $f!($c, $d, $a, $b, 6, 6, 17);
        $f!($b, $c, $d, $a, 7, 7, 22);
        $f!($a, $b, $c, $d, 8, 8, 7);
        $f!($d, $a, $b, $c, 9, 9, 12);
        $f!($c, $d, $a, $b, 10, 10, 17);
        $f!($b, $c, $d, $a, 11, 11, 22);
        $f!($a, $b, $c, $d, 12, 12, 7);
        $f!($d, $a, $b, $c, 13, 13, 12);
        $f!($c, $d, $a, $b, 14, 14, 17);
        $f!($b, $c, $d, $a, 15, 15, 22);
        // Round 2.
        $g!($a, $b, $c, $d, 1, 16, 5);
        $g!($d, $a, $b, $c, 6, 17, 9);
        $g!($c, $d, $a, $b, 11, 18, 14);
        $g!($b, $c, $d, $a, 0, 19, 20);
        $g!($a, $b, $c, $d, 5, 20, 5);
        $g!($d, $a, $b, $c, 10, 21, 9);
        $g!($c, $d, $a, $b, 15, 22, 14);
        $g!($b, $c, $d, $a, 4, 23, 20);
        $g!($a, $b, $c, $d, 9, 24, 5);
        $g!($d, $a, $b, $c, 14, 25, 9);
        $g!($c, $d, $a, $b, 3, 26, 14);
        $g!($b, $c, $d, $a, 8, 27, 20);
        $g!($a, $b, $c, $d, 13, 28, 5);
        $g!($d, $a, $b, $c, 2, 29, 9);
        $g!($c, $d, $a, $b, 7, 30, 14);
        $g!($b, $c, $d, $a, 12, 31, 20);
        // Round 3.
        $h!($a, $b, $c, $d, 5, 32, 4);
        $h!($d, $a, $b, $c, 8, 33, 11);
        $h!($c, $d, $a, $b, 11, 34, 16);
        $h!($b, $c, $d, $a, 14, 35, 23);
        $h!($a, $b, $c, $d, 1, 36, 4);
        $h!($d, $a, $b, $c, 4, 37, 11);
        $h!($c, $d, $a, $b, 7, 38, 16);
        $h!($b, $c, $d, $a, 10, 39, 23);
        $h!($a, $b, $c, $d, 13, 40, 4);
        $h!($d, $a, $b, $c, 0, 41, 11);
        $h!($c, $d, $a, $b, 3, 42, 16);
        $h!($b, $c, $d, $a, 6, 43, 23);
        $h!($a, $b, $c, $d, 9, 44, 4);
        $h!($d, $a, $b, $c, 12, 45, 11);
        $h!($c, $d, $a, $b, 15, 46, 16);
        $h!($b, $c, $d, $a, 2, 47, 23);
        // Round 4.
        $i!($a, $b, $c, $d, 0, 48, 6);
        $i!($d, $a, $b, $c, 7, 49, 10);
        $i!($c, $d, $a, $b, 14, 50, 15);
        $i!($b, $c, $d, $a, 5, 51, 21);
        $i!($a, $b, $c, $d, 12, 52, 6);
        $i!($d, $a, $b, $c, 3, 53, 10);
        $i!($c, $d, $a, $b, 10, 54, 15);
        $i!($b, $c, $d, $a, 1, 55, 21);
        $i!($a, $b, $c, $d, 8, 56, 6);
        $i!($d, $a, $b, $c, 15, 57, 10);
        $i!($c, $d, $a, $b, 6, 58, 15);
        $i!($b, $c, $d, $a, 13, 59, 21);
        $i!($a, $b, $c, $d, 4, 60, 6);
        $i!($d, $a, $b, $c, 11, 61, 10);
        $i!($c, $d, $a, $b, 2, 62, 15);
        $i!($b, $c, $d, $a, 9, 63, 21);
    };
}

/// One step: `$a` becomes `$b + ((a + early + late) <<< s)`, where `early` does not depend on
/// `$b` (it is summed first) and `late` does.
macro_rules! step {
    ($a:ident, $b:ident, $x:expr, $t:expr, $s:expr, $early:expr, $late:expr) => {
        $a = $a
            .wrapping_add($x.wrapping_add($t))
            .wrapping_add($early)
            .wrapping_add($late)
            .rotate_left($s)
            .wrapping_add($b);
    };
}

/// Compresses one block into `state`.
#[inline(always)]
fn block(state: &mut [u32; 4], input: &[u8; BLOCK_BYTES], t: &[u32; 64]) {
    let x = words(input);
    let [mut a, mut b, mut c, mut d] = *state;
    // Round 1, F: X[i], shifts 7, 12, 17, 22.
    macro_rules! f {
        ($a:ident, $b:ident, $c:ident, $d:ident, $k:expr, $i:expr, $s:expr) => {
            step!($a, $b, x[$k], t[$i], $s, 0, $d ^ ($b & ($c ^ $d)))
        };
    }
    // Round 2, G: X[(1 + 5i) mod 16], shifts 5, 9, 14, 20.
    macro_rules! g {
        ($a:ident, $b:ident, $c:ident, $d:ident, $k:expr, $i:expr, $s:expr) => {
            step!($a, $b, x[$k], t[$i], $s, $c & !$d, $b & $d)
        };
    }
    // Round 3, H: X[(5 + 3i) mod 16], shifts 4, 11, 16, 23.
    macro_rules! h {
        ($a:ident, $b:ident, $c:ident, $d:ident, $k:expr, $i:expr, $s:expr) => {
            step!($a, $b, x[$k], t[$i], $s, 0, $b ^ ($c ^ $d))
        };
    }
    // Round 4, I: X[7i mod 16], shifts 6, 10, 15, 21.
    macro_rules! i {
        ($a:ident, $b:ident, $c:ident, $d:ident, $k:expr, $i:expr, $s:expr) => {
            step!($a, $b, x[$k], t[$i], $s, 0, $c ^ ($b | !$d))
        };
    }
    rounds!(f, g, h, i, a, b, c, d);
    for (s, v) in state.iter_mut().zip([a, b, c, d]) {
        *s = s.wrapping_add(v);
    }
}

/// Compresses `blocks` into `state`, in order.
pub(super) fn compress(state: &mut [u32; 4], blocks: &[[u8; BLOCK_BYTES]]) {
    // Hidden from the optimiser: with T[i] as an immediate, LLVM adds it last, after f(b, c, d),
    // which puts one more add on the chain; as a load it is summed with X[k] early.
    let t = std::hint::black_box(&T);
    for input in blocks {
        block(state, input, t);
    }
}
