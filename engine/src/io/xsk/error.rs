//! Errors of the AF_XDP layer.

use std::io;

/// An AF_XDP socket or UMEM could not be set up or used.
#[derive(Debug, thiserror::Error)]
pub enum XskError {
    /// A system call failed.
    #[error("AF_XDP {op} failed: {source}")]
    Syscall {
        /// Which operation (`socket`, `setsockopt(XDP_UMEM_REG)`, `bind`, `mmap` ...).
        op: &'static str,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
    /// No interface has this name in the calling thread's network namespace.
    #[error("no network interface named {0:?}")]
    UnknownInterface(String),
    /// A size or count is out of range.
    #[error("invalid AF_XDP configuration: {0}")]
    Config(String),
    /// The UMEM has fewer unclaimed frames than the socket asks for.
    #[error("UMEM has {available} free frames, socket asks for {wanted}")]
    OutOfFrames {
        /// Frames the socket asked for.
        wanted: u32,
        /// Frames left in the UMEM.
        available: u32,
    },
}

impl XskError {
    pub(crate) fn last_os(op: &'static str) -> Self {
        Self::Syscall {
            op,
            source: io::Error::last_os_error(),
        }
    }

    pub(crate) fn os(op: &'static str, source: io::Error) -> Self {
        Self::Syscall { op, source }
    }
}
