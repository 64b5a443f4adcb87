//! AF_XDP sockets over `libc` (Linux `Documentation/networking/af_xdp.rst`).
//!
//! One concern per file: [`syscall`](self) wrappers, anonymous and ring `mmap`s, the UMEM, the
//! single-producer/single-consumer rings, and the socket that binds them to one queue of an
//! interface. Callers see a safe API: [`Umem`] owns the packet memory, [`XskSocket`] receives
//! frames into a closure and sends frames written by a closure, in batches, never one syscall per
//! packet.

mod error;
mod mmap;
mod ring;
mod socket;
mod syscall;
mod umem;

pub use error::XskError;
pub use socket::{BindMode, XskConfig, XskSocket, XskStatistics};
pub use syscall::if_index;
pub use umem::{Umem, UmemConfig};
