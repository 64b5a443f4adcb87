//! The runtime: worker threads that run the sans-IO [`crate::receiver`] and [`crate::sender`]
//! over the kernel I/O of [`crate::io`].
//!
//! - [`RxEngine`]: one worker per rx queue, pinned to a core; each owns its
//!   [`crate::receiver::MultiReceiver`] writing into memory-mapped files, so no lock sits on the
//!   packet path. Object events leave as [`Events`]; counters and latency histograms are
//!   published by each worker every few milliseconds and merged on demand. Channels can be
//!   added and removed while it runs.
//! - [`TxEngine`]: one worker per tx queue; each builds Ethernet/IP/UDP headers from a template
//!   per channel and lets [`crate::sender::Sender::write_next`] write the ALC packet in place
//!   behind them, in the UMEM frame (AF_XDP) or in a batch buffer (UDP, `sendmmsg` with GSO),
//!   paced by a token bucket. Its handle adds, replaces and removes objects, republishes the
//!   FDT and changes the rate while it sends.
//! - Both stop when their stop flag is set (the CLI sets it on SIGINT/SIGTERM): a receiver keeps
//!   what was completed and verified, and every unfinished object's `.part` file is removed;
//!   the XDP program is detached when the engine is joined.
//! - The receive engine checks once a second that its XDP program is still attached and
//!   reattaches it if someone detached it (counted), or stops with the error if it cannot.

mod busy_poll;
mod channel;
mod decode;
mod error;
mod events;
mod pacing;
mod rx;
mod stats;
mod tx;
mod verify;
mod xdp_watch;

pub use channel::{Backend, ChannelSpec};
pub use error::RuntimeError;
pub use events::{EventWait, Events};
pub use pacing::TokenBucket;
pub use rx::{DEFAULT_BUSY_POLL, IncompleteFile, RxEngine, RxEngineBuilder};
pub use stats::{RxCounters, RxStats, StallHistogram, TxCounters, TxStats};
pub use tx::{TxEngine, TxEngineBuilder, TxSession};

/// The core worker `i` of an engine is pinned to: `cores[i % len]`, or none (the scheduler
/// places it) when no core is given. Both engines follow this rule, so a process that sends and
/// receives puts each direction where its configuration says.
fn worker_core(cores: &[usize], i: usize) -> Option<core_affinity::CoreId> {
    cores
        .get(i % cores.len().max(1))
        .map(|&id| core_affinity::CoreId { id })
}
