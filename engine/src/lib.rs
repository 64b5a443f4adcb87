//! xflute: FLUTE (RFC 6726) over ALC (RFC 5775) / LCT (RFC 5651) with AL-FEC (RFC 5052, 5053,
//! 5510, 6330), built to send and receive files over IP multicast at multi-Gbps.
//!
//! The protocol core (`wire`, `fdt`, `fec`, `cenc`) is sans-IO: it never opens a socket, reads a
//! clock or holds an unchecked block. Packets come in as `&[u8]` and go out into a caller's `&mut [u8]`.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
// Every public item is documented, and `pub` inside the crate means part of the API.
#![warn(missing_docs, unreachable_pub)]

pub mod adpd;
pub mod auth;
pub mod cenc;
pub mod endpoint;
pub mod fdt;
pub mod fec;
pub mod hash;
pub mod io;
pub mod mabr;
pub mod random;
pub mod receiver;
pub mod runtime;
pub mod sender;
pub mod wire;
mod xml;

/// The library page's Rust examples, compiled and run as doctests so that they stay true.
#[doc = include_str!("../../docs/library.md")]
#[cfg(doctest)]
pub struct LibraryDocDoctests;
