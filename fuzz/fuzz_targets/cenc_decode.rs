//! Content decoding of arbitrary bytes with each encoding: never a panic, never more output
//! than the cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xflute::cenc::{Cenc, decode};

const CAP: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    for cenc in Cenc::ALL {
        if let Ok(out) = decode(cenc, data, CAP) {
            assert!(out.len() <= CAP);
        }
    }
});
