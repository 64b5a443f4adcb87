//! MD5 (RFC 1321): an incremental hasher ([`Md5`]) and a one-shot [`digest`].
//!
//! The receiver hashes each object's in-order prefix as it arrives, so MD5 runs on the receive
//! path at line rate. Its speed is the latency of the chain of 64 dependent steps per block, which
//! `compress.rs` shortens where the round functions allow (`cargo bench -p xflute-bench --bench
//! md5` compares it with the `md-5` crate and the `md5` crate flute uses; figures in
//! docs/benchmarks.md). There is no SIMD kernel: one message is one dependent chain, and a vector
//! unit runs each dependent integer step no faster than the general-purpose registers do.

mod compress;

/// Bytes per MD5 block (RFC 1321 §3.4: sixteen 32-bit words).
pub const BLOCK_BYTES: usize = 64;

/// The initial state A, B, C, D (RFC 1321 §3.3).
const INITIAL_STATE: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// T[i] = floor(2^32 · |sin(i + 1)|) (RFC 1321 §3.4), indexed by step.
const T: [u32; 64] = [
    0xd76a_a478,
    0xe8c7_b756,
    0x2420_70db,
    0xc1bd_ceee,
    0xf57c_0faf,
    0x4787_c62a,
    0xa830_4613,
    0xfd46_9501,
    0x6980_98d8,
    0x8b44_f7af,
    0xffff_5bb1,
    0x895c_d7be,
    0x6b90_1122,
    0xfd98_7193,
    0xa679_438e,
    0x49b4_0821,
    0xf61e_2562,
    0xc040_b340,
    0x265e_5a51,
    0xe9b6_c7aa,
    0xd62f_105d,
    0x0244_1453,
    0xd8a1_e681,
    0xe7d3_fbc8,
    0x21e1_cde6,
    0xc337_07d6,
    0xf4d5_0d87,
    0x455a_14ed,
    0xa9e3_e905,
    0xfcef_a3f8,
    0x676f_02d9,
    0x8d2a_4c8a,
    0xfffa_3942,
    0x8771_f681,
    0x6d9d_6122,
    0xfde5_380c,
    0xa4be_ea44,
    0x4bde_cfa9,
    0xf6bb_4b60,
    0xbebf_bc70,
    0x289b_7ec6,
    0xeaa1_27fa,
    0xd4ef_3085,
    0x0488_1d05,
    0xd9d4_d039,
    0xe6db_99e5,
    0x1fa2_7cf8,
    0xc4ac_5665,
    0xf429_2244,
    0x432a_ff97,
    0xab94_23a7,
    0xfc93_a039,
    0x655b_59c3,
    0x8f0c_cc92,
    0xffef_f47d,
    0x8584_5dd1,
    0x6fa8_7e4f,
    0xfe2c_e6e0,
    0xa301_4314,
    0x4e08_11a1,
    0xf753_7e82,
    0xbd3a_f235,
    0x2ad7_d2bb,
    0xeb86_d391,
];

/// The message words of a block, little-endian (RFC 1321 §3.4).
fn words(block: &[u8; BLOCK_BYTES]) -> [u32; 16] {
    let (quads, _) = block.as_chunks::<4>();
    let mut x = [0u32; 16];
    for (w, q) in x.iter_mut().zip(quads) {
        *w = u32::from_le_bytes(*q);
    }
    x
}

/// An incremental MD5 hasher.
#[derive(Debug, Clone)]
pub struct Md5 {
    state: [u32; 4],
    /// The start of a block not yet complete; `buffered` bytes of it are valid.
    buffer: [u8; BLOCK_BYTES],
    buffered: usize,
    /// The message length so far, modulo 2^64 bytes (RFC 1321 §3.2 keeps it in bits, mod 2^64).
    length_bytes: u64,
}

impl Default for Md5 {
    fn default() -> Self {
        Self::new()
    }
}

impl Md5 {
    /// A hasher for a new message.
    pub fn new() -> Self {
        Self {
            state: INITIAL_STATE,
            buffer: [0; BLOCK_BYTES],
            buffered: 0,
            length_bytes: 0,
        }
    }

    /// Appends `data` to the message.
    pub fn update(&mut self, mut data: &[u8]) {
        self.length_bytes = self.length_bytes.wrapping_add(data.len() as u64);
        if self.buffered > 0 {
            let take = (BLOCK_BYTES - self.buffered).min(data.len());
            let (head, rest) = data.split_at(take);
            if let Some(room) = self.buffer.get_mut(self.buffered..self.buffered + take) {
                room.copy_from_slice(head);
            }
            self.buffered += take;
            data = rest;
            if self.buffered < BLOCK_BYTES {
                return;
            }
            compress::compress(&mut self.state, std::slice::from_ref(&self.buffer));
            self.buffered = 0;
        }
        let (blocks, tail) = data.as_chunks::<BLOCK_BYTES>();
        if !blocks.is_empty() {
            compress::compress(&mut self.state, blocks);
        }
        if let Some(room) = self.buffer.get_mut(..tail.len()) {
            room.copy_from_slice(tail);
        }
        self.buffered = tail.len();
    }

    /// Pads the message (RFC 1321 §3.1, §3.2) and returns the digest (§3.5).
    pub fn finalize(mut self) -> [u8; 16] {
        let length_bits = self.length_bytes.wrapping_mul(8);
        // A 0x80 byte, zeros up to 56 mod 64, then the length in bits, little-endian.
        let mut tail = [0u8; 2 * BLOCK_BYTES];
        let buffered = self.buffer.get(..self.buffered).unwrap_or_default();
        let end = if self.buffered < BLOCK_BYTES - 8 {
            BLOCK_BYTES
        } else {
            2 * BLOCK_BYTES
        };
        if let Some(head) = tail.get_mut(..buffered.len()) {
            head.copy_from_slice(buffered);
        }
        if let Some(mark) = tail.get_mut(buffered.len()) {
            *mark = 0x80;
        }
        if let Some(length) = tail.get_mut(end - 8..end) {
            length.copy_from_slice(&length_bits.to_le_bytes());
        }
        let (blocks, _) = tail
            .get(..end)
            .unwrap_or_default()
            .as_chunks::<BLOCK_BYTES>();
        compress::compress(&mut self.state, blocks);
        let mut digest = [0u8; 16];
        let (quads, _) = digest.as_chunks_mut::<4>();
        for (q, s) in quads.iter_mut().zip(self.state) {
            *q = s.to_le_bytes();
        }
        digest
    }
}

/// The MD5 digest of `data`.
pub fn digest(data: &[u8]) -> [u8; 16] {
    let mut hasher = Md5::new();
    hasher.update(data);
    hasher.finalize()
}

#[cfg(test)]
mod tests;
