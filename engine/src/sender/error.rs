//! `SenderError`: every way the sender refuses an object, a configuration or a buffer.

use thiserror::Error;

use crate::auth::SignError;
use crate::cenc::CencError;
use crate::fec::{FecError, PartitionError};
use crate::wire::{FecEncodingId, WireError};

/// Why the sender refused an object, a configuration or a call.
#[derive(Debug, Error)]
pub enum SenderError {
    /// `add_object` named a priority queue the configuration does not have.
    #[error("priority queue {0} does not exist")]
    UnknownPriorityQueue(u32),
    /// The FDT was declared complete: no object can be added any more (RFC 6726 §3.4.2).
    #[error("the FDT is complete; no new object may be added")]
    FdtComplete,
    /// The TOI asked for is already used by an object of this session.
    #[error("TOI {0} is already in use")]
    ToiInUse(u128),
    /// The TOI asked for is 0 (the FDT's) or does not fit the configured TOI width.
    #[error("TOI {toi} is not a valid object TOI with a {bits}-bit TOI")]
    InvalidToi {
        /// The TOI asked for.
        toi: u128,
        /// The configured TOI width.
        bits: u32,
    },
    /// Every TOI of the configured width is in use.
    #[error("no free TOI left in {bits} bits")]
    ToiExhausted {
        /// The configured TOI width.
        bits: u32,
    },
    /// The FEC OTI or an LCT field cannot be put on the wire.
    #[error("wire: {0}")]
    Wire(#[from] WireError),
    /// The object cannot be cut into source blocks with the OTI.
    #[error("block partitioning: {0}")]
    Partition(#[from] PartitionError),
    /// The object needs more source blocks or symbols than the FEC Payload ID can number.
    #[error(
        "object of {transfer_length} bytes needs SBN {last_sbn} / ESI {last_esi}, beyond what the FEC Payload ID holds"
    )]
    ObjectTooLarge {
        /// Transfer length of the object, in bytes.
        transfer_length: u64,
        /// Largest SBN the object would need.
        last_sbn: u64,
        /// Largest ESI the object would need.
        last_esi: u32,
    },
    /// The FEC code refused the OTI or a block (invalid m, k, n, T, N, Al for the scheme).
    #[error("FEC: {0}")]
    Fec(#[from] FecError),
    /// The FEC scheme has no encoder in xflute yet.
    #[error("FEC Encoding ID {0:?} has no sender-side encoder yet")]
    UnsupportedFec(FecEncodingId),
    /// Content encoding failed.
    #[error("content encoding: {0}")]
    Cenc(#[from] CencError),
    /// Reading a stream source failed.
    #[error("reading the object stream: {0}")]
    Io(#[from] std::io::Error),
    /// A stream source ended before its announced length.
    #[error("object stream ended after {got} of {expected} bytes")]
    StreamEnded {
        /// Bytes announced.
        expected: u64,
        /// Bytes read.
        got: u64,
    },
    /// The caller's buffer cannot hold the next packet; nothing was consumed.
    #[error("buffer of {got} bytes is too small for a {needed}-byte packet")]
    BufferTooSmall {
        /// Bytes the packet needs.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// The packet could not be authenticated (RFC 6584 EXT_AUTH); it was not written.
    #[error("packet authentication: {0}")]
    Auth(#[from] SignError),
}
