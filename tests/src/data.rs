//! Reproducible test data: one seeded generator for the objects, files and random decisions
//! of the tests and benchmarks, so that a failing run replays from its seed and a receiver's
//! output can be checked against what the sender was given without keeping a copy.

/// SplitMix64: a small, well-distributed PRNG, no dependency; every stream of bytes here and
/// every random decision (loss, order, timing) of the tests comes from it.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed (any value, zero included).
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform float in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform integer in [0, n), n > 0.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % hi.saturating_sub(lo).max(1)
    }

    /// Fills `buf` with the next words, little-endian; a last partial word is cut short.
    /// Filling a buffer in pieces whose lengths are multiples of 8 gives the same bytes as
    /// filling it at once, so a large file can be written a chunk at a time.
    pub fn fill_bytes(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }

    /// `count` distinct numbers of `0..n`, in random order (a partial Fisher-Yates shuffle).
    pub fn pick(&mut self, count: usize, n: u32) -> Vec<u32> {
        let mut all: Vec<u32> = (0..n).collect();
        for i in (1..all.len()).rev() {
            let j = self.below(i + 1);
            all.swap(i, j);
        }
        all.truncate(count);
        all
    }
}

/// `len` incompressible bytes from `seed`: no block of an object repeats another, and objects
/// of different seeds differ, so a misplaced or stale symbol shows.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut data = vec![0u8; len];
    SplitMix64::new(seed).fill_bytes(&mut data);
    data
}

/// Whether `data` is exactly the first `data.len()` bytes of [`random_bytes`] of `seed`;
/// compares a few KiB at a time, so that checking a large object allocates nothing and costs
/// little next to receiving it.
pub fn is_random_bytes(data: &[u8], seed: u64) -> bool {
    const RUN: usize = 4096;
    let mut rng = SplitMix64::new(seed);
    let mut expected = [0u8; RUN];
    data.chunks(RUN).all(|chunk| {
        // Every run but the last is whole words long, so the stream stays in step.
        let expected = &mut expected[..chunk.len()];
        rng.fill_bytes(expected);
        expected == chunk
    })
}

/// `len` bytes from `seed` that compress somewhat (three bytes in seven spell `FLUTE`), so
/// that every content encoding has something to do.
pub fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = SplitMix64::new(seed);
    (0..len)
        .map(|i| {
            if i % 7 < 3 {
                b"FLUTE"[i % 5]
            } else {
                rng.next_u64() as u8
            }
        })
        .collect()
}

/// `len` bytes of numbered text lines that name `seed`: compresses to a small fraction, for
/// the tests of content encodings that expect a real saving.
pub fn text(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut line = 0u64;
    while out.len() < len {
        out.extend_from_slice(format!("line {line} of object {seed}\n").as_bytes());
        line += 1;
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_are_reproducible_and_filled_in_pieces_alike() {
        let whole = random_bytes(1 << 14, 7);
        assert_eq!(whole, random_bytes(1 << 14, 7));
        assert_ne!(whole, random_bytes(1 << 14, 8));
        let mut pieces = vec![0u8; 1 << 14];
        let mut rng = SplitMix64::new(7);
        for piece in pieces.chunks_mut(4096) {
            rng.fill_bytes(piece);
        }
        assert_eq!(whole, pieces);
    }

    #[test]
    fn is_random_bytes_checks_every_byte_and_the_seed() {
        let data = random_bytes(10_003, 3);
        assert!(is_random_bytes(&data, 3));
        assert!(!is_random_bytes(&data, 4));
        let mut changed = data.clone();
        changed[10_000] ^= 1;
        assert!(!is_random_bytes(&changed, 3));
    }

    #[test]
    fn pick_gives_distinct_numbers_below_n() {
        let mut picked = SplitMix64::new(1).pick(40, 50);
        picked.sort_unstable();
        picked.dedup();
        assert_eq!(picked.len(), 40);
        assert!(picked.iter().all(|&x| x < 50));
    }
}
