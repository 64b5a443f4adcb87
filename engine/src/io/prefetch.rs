//! Software prefetch: asks the CPU to bring bytes into its caches ahead of their use.
//!
//! The sans-IO sender says which object bytes its next packet will copy
//! ([`crate::sender::Sender::upcoming_payload`]); the transmit loop prefetches them while the
//! packet it just built goes out. The hardware prefetcher does not follow a stream across
//! 4 KiB pages, so without this every third 1.4 KB symbol of a large object waits for DRAM.

/// A cache line, the unit of a prefetch.
const LINE: usize = 64;

/// Hints the CPU to load `bytes` into all cache levels. Has no effect on the program's
/// results, only on timing; a no-op where there is no prefetch instruction.
pub fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in bytes.chunks(LINE) {
        // SAFETY: PREFETCHT0 is a hint: it reads nothing the program observes, never faults,
        // and is in the x86_64 baseline (SSE); the address is inside `bytes` in any case.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                line.as_ptr().cast(),
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetching_any_slice_leaves_it_unchanged() {
        let data: Vec<u8> = (0..=255).cycle().take(5000).collect();
        for (start, end) in [(0, 0), (0, 1), (3, 67), (63, 64), (100, 5000), (4999, 5000)] {
            prefetch(&data[start..end]);
        }
        assert!(data.iter().zip((0..=255).cycle()).all(|(a, b)| *a == b));
    }
}
