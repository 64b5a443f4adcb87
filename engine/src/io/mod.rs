//! Kernel I/O: the only module of xflute with `unsafe`.
//!
//! - [`xdp`] loads the XDP steering program (`xdp-prog/xflute_steer.bpf.c`) with aya and manages
//!   its maps: the FLUTE channels it takes out of the kernel stack, the AF_XDP socket per queue,
//!   its counters and its loss-injection knob.
//!   A small rtnetlink query (`netlink`) tells whether the program is still attached.
//! - `xdp_gen` transmits copies of a frame from inside the kernel, for benchmarks and tests
//!   (hidden from these docs, as `prefetch` is).
//! - [`xsk`] is AF_XDP over `libc`: UMEM, the fill/completion/rx/tx rings, batched receive and
//!   send, `need_wakeup`, zero-copy with a fallback to copy mode.
//! - [`udp`] is the UDP-socket backend for where XDP is not allowed: `recvmmsg`/`sendmmsg`
//!   batches, UDP GSO, any-source and source-specific multicast joins.
//! - [`file_sink`] receives objects into memory-mapped `NAME.part` files, renamed on commit;
//!   [`spool`] reserves their space ahead of time, off the receive path.
//! - [`affinity`] limits a thread to a set of cores (a service's threads off its workers').
//! - [`frame`] writes and parses the Ethernet/IP/UDP headers around an ALC packet in a frame;
//!   [`pcap`] reads and writes capture files.
//!
//! Kernel features used and how each degrades: native (driver) XDP falls back to generic (SKB)
//! XDP with a warning; zero-copy AF_XDP falls back to copy mode (veth has no zero-copy); 2 MiB
//! huge pages for the UMEM fall back to 4 KiB pages; UDP GSO falls back to one datagram per
//! message when the kernel refuses `UDP_SEGMENT`.

// The one module of the crate allowed to hold unchecked code; every block says why it is sound.
#![allow(unsafe_code)]

pub mod affinity;
pub mod file_sink;
pub mod frame;
pub mod mmap;
mod netlink;
pub mod pcap;
// Internals the benchmarks reach, not API.
#[doc(hidden)]
pub mod prefetch;
pub mod spool;
pub mod udp;
pub mod xdp;
#[doc(hidden)]
pub mod xdp_gen;
pub mod xsk;
