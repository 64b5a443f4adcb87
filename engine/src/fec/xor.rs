//! The symbol arithmetic of the Raptor and RaptorQ decoders (RFC 5053 §5.4.2.1, RFC 6330 §5.7.2:
//! symbol addition is byte-wise XOR): `dst ^= src` and `dst = Σ srcs`, vectorised for the CPU at
//! hand by `multiversion`. Sources shorter than `dst` count as zero-padded (the object's last,
//! short source symbol).

use multiversion::multiversion;

/// dst ^= src over their common prefix.
#[multiversion(targets("x86_64+avx512f+avx512bw", "x86_64+avx2"))]
pub(super) fn xor_into(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= *s;
    }
}

/// dst = a ^ b, each zero-padded to `dst`'s length.
#[multiversion(targets("x86_64+avx512f+avx512bw", "x86_64+avx2"))]
fn xor3(dst: &mut [u8], a: &[u8], b: &[u8]) {
    if a.len() >= dst.len() && b.len() >= dst.len() {
        for ((d, x), y) in dst.iter_mut().zip(a).zip(b) {
            *d = *x ^ *y;
        }
    } else {
        copy_padded(dst, a);
        xor_into(dst, b);
    }
}

/// dst = src, zero-padded.
pub(super) fn copy_padded(dst: &mut [u8], src: &[u8]) {
    let len = dst.len().min(src.len());
    let (head, tail) = dst.split_at_mut(len);
    head.copy_from_slice(src.get(..len).unwrap_or_default());
    tail.fill(0);
}

/// dst = Σ srcs (zero when there are none), writing `dst` once for the first two sources.
pub(super) fn xor_sum<'a>(dst: &mut [u8], mut srcs: impl Iterator<Item = &'a [u8]>) {
    match (srcs.next(), srcs.next()) {
        (None, _) => dst.fill(0),
        (Some(a), None) => copy_padded(dst, a),
        (Some(a), Some(b)) => {
            xor3(dst, a, b);
            for s in srcs {
                xor_into(dst, s);
            }
        }
    }
}
