//! Why the receiver drops a packet or fails an object. A packet that cannot be used is a typed
//! [`ReceiverError`] whose [`DropReason`] is counted in `ReceiverStats`; an object that cannot
//! be delivered ends with an `ObjectEvent::Failed` carrying a [`FailReason`].

use crate::auth::AuthError;
use crate::cenc::CencError;
use crate::fdt::{FdtError, OtiAttributeError};
use crate::wire::{FecEncodingId, WireError};
use thiserror::Error;

use super::path::PathError;

/// Every reason a packet is dropped, for counting. `ReceiverStats::drops` is indexed by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// The ALC/LCT packet does not parse (RFC 5651 §5, RFC 5775 §4).
    Malformed,
    /// A FEC Encoding ID this receiver does not decode (yet).
    UnsupportedFec,
    /// More sessions than `Limits::max_sessions`. No longer hit: the idlest session not listed
    /// by the TSI filter is evicted instead (`ReceiverStats::sessions_evicted`).
    SessionLimit,
    /// More objects described by an FDT in one session than `Limits::max_objects_per_session`.
    ObjectLimit,
    /// An object larger than `Limits::max_object_bytes`.
    ObjectTooLarge,
    /// The bytes of all objects being received would exceed `Limits::max_receiving_bytes`.
    ReceivingBytesLimit,
    /// Packets held before their FDT would exceed `Limits::max_pending_bytes`.
    PendingBytesLimit,
    /// An object would hold repair symbols for more blocks than `Limits::max_concurrent_blocks`.
    BlockLimit,
    /// An FDT instance larger than `Limits::max_fdt_bytes`, encoded or decoded.
    FdtTooLarge,
    /// An FDT instance that does not parse, decode or describe its files.
    FdtInvalid,
    /// An FDT instance with more File entries than allowed.
    FdtTooManyFiles,
    /// An FDT instance that had already expired when it was received (RFC 6726 §3.3).
    FdtExpired,
    /// A TOI 0 packet without EXT_FDT, or FDT packets without the EXT_FTI that gives their size.
    FdtWithoutExtension,
    /// A Content-Location that does not map inside the output directory.
    BadPath,
    /// Neither the FDT nor EXT_FTI gives the object's FEC parameters.
    NoOti,
    /// SBN or ESI outside the object's block partitioning (RFC 5052 §9.1).
    SymbolOutOfRange,
    /// A payload whose length is not that of the symbols it claims to carry.
    SymbolLength,
    /// A packet for an object that has failed (until its TOI is described anew).
    ObjectFailed,
    /// The sink refused the object (full disk, escape attempt, too large).
    Sink,
    /// A Content-Encoding (FDT) or EXT_CENC code that is not null, zlib, deflate or gzip.
    UnknownContentEncoding,
    /// The FEC decoder refused a block's parameters or symbols.
    FecDecode,
    /// A new FDT instance while `Limits::max_fdt_instances_receiving` are being received.
    FdtInstancesLimit,
    /// A File entry of an accepted FDT instance for a new TOI while the session's live
    /// instances already describe `Limits::max_files_per_session` TOIs.
    FilesPerSessionLimit,
    /// A File entry of an accepted FDT instance whose description would exceed
    /// `Limits::max_description_bytes`.
    DescriptionBytesLimit,
    /// A repair symbol of a block whose decode would cost more than
    /// `Limits::max_decode_cost` (the block is not decoded; its source symbols still count).
    DecodeCostLimit,
    /// A File entry of an FDT instance with an invalid or missing value, left out (counted
    /// once per entry; the rest of the instance is applied).
    FdtFileInvalid,
    /// A packet held for its FDT, let go to make room for newer unannounced traffic (see
    /// `Limits::max_unannounced_objects_per_session` and `Limits::max_pending_bytes`).
    PendingEvicted,
    /// With `Config::auth`: no EXT_AUTH of the session's scheme (RFC 6584), an
    /// unauthenticated packet.
    AuthMissing,
    /// With `Config::auth`: an EXT_AUTH whose MAC or signature does not verify, or whose layout
    /// is not the scheme's.
    AuthFailed,
    /// With `Config::auth`: an anti-replay Sequence Number already received, or too old.
    AuthReplayed,
    /// The memory held for unverified input would exceed `Limits::max_memory_bytes`.
    MemoryLimit,
}

impl DropReason {
    /// Every reason, in counter order.
    pub const ALL: [DropReason; 31] = [
        DropReason::Malformed,
        DropReason::UnsupportedFec,
        DropReason::SessionLimit,
        DropReason::ObjectLimit,
        DropReason::ObjectTooLarge,
        DropReason::ReceivingBytesLimit,
        DropReason::PendingBytesLimit,
        DropReason::BlockLimit,
        DropReason::FdtTooLarge,
        DropReason::FdtInvalid,
        DropReason::FdtTooManyFiles,
        DropReason::FdtExpired,
        DropReason::FdtWithoutExtension,
        DropReason::BadPath,
        DropReason::NoOti,
        DropReason::SymbolOutOfRange,
        DropReason::SymbolLength,
        DropReason::ObjectFailed,
        DropReason::Sink,
        DropReason::UnknownContentEncoding,
        DropReason::FecDecode,
        DropReason::FdtInstancesLimit,
        DropReason::FilesPerSessionLimit,
        DropReason::DescriptionBytesLimit,
        DropReason::DecodeCostLimit,
        DropReason::FdtFileInvalid,
        DropReason::PendingEvicted,
        DropReason::AuthMissing,
        DropReason::AuthFailed,
        DropReason::AuthReplayed,
        DropReason::MemoryLimit,
    ];

    /// The number of reasons.
    pub const COUNT: usize = Self::ALL.len();

    /// The counter index of this reason.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// A stable snake_case name, for logs and machine-readable summaries.
    pub const fn name(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::UnsupportedFec => "unsupported_fec",
            DropReason::SessionLimit => "session_limit",
            DropReason::ObjectLimit => "object_limit",
            DropReason::ObjectTooLarge => "object_too_large",
            DropReason::ReceivingBytesLimit => "receiving_bytes_limit",
            DropReason::PendingBytesLimit => "pending_bytes_limit",
            DropReason::BlockLimit => "block_limit",
            DropReason::FdtTooLarge => "fdt_too_large",
            DropReason::FdtInvalid => "fdt_invalid",
            DropReason::FdtTooManyFiles => "fdt_too_many_files",
            DropReason::FdtExpired => "fdt_expired",
            DropReason::FdtWithoutExtension => "fdt_without_extension",
            DropReason::BadPath => "bad_path",
            DropReason::NoOti => "no_oti",
            DropReason::SymbolOutOfRange => "symbol_out_of_range",
            DropReason::SymbolLength => "symbol_length",
            DropReason::ObjectFailed => "object_failed",
            DropReason::Sink => "sink",
            DropReason::UnknownContentEncoding => "unknown_content_encoding",
            DropReason::FecDecode => "fec_decode",
            DropReason::FdtInstancesLimit => "fdt_instances_limit",
            DropReason::FilesPerSessionLimit => "files_per_session_limit",
            DropReason::DescriptionBytesLimit => "description_bytes_limit",
            DropReason::DecodeCostLimit => "decode_cost_limit",
            DropReason::FdtFileInvalid => "fdt_file_invalid",
            DropReason::PendingEvicted => "pending_evicted",
            DropReason::AuthMissing => "auth_missing",
            DropReason::AuthFailed => "auth_failed",
            DropReason::AuthReplayed => "auth_replayed",
            DropReason::MemoryLimit => "memory_limit",
        }
    }
}

/// Why a packet was not used. Each variant maps to one [`DropReason`].
#[derive(Debug, PartialEq, Eq, Error)]
pub enum ReceiverError {
    /// The packet does not parse.
    #[error("malformed ALC packet: {0}")]
    Malformed(#[from] WireError),
    /// The FEC scheme is known on the wire but not decoded by this receiver.
    #[error("FEC Encoding ID {0:?} is not supported by the receiver")]
    UnsupportedFec(FecEncodingId),
    /// An FDT instance was refused.
    #[error("FDT instance refused: {0}")]
    Fdt(#[from] FdtError),
    /// An FDT instance's content encoding could not be undone.
    #[error("FDT instance content decoding failed: {0}")]
    FdtDecoding(CencError),
    /// The FDT's FEC-OTI attributes do not make an OTI.
    #[error("FDT FEC OTI refused: {0}")]
    Oti(#[from] OtiAttributeError),
    /// A Content-Location that does not map inside the output directory.
    #[error("Content-Location refused: {0}")]
    Path(#[from] PathError),
    /// Any other drop: a limit, a symbol out of range, a failed object ...
    #[error("packet dropped: {0:?}")]
    Dropped(DropReason),
    /// Not authenticated as `Config::auth` requires (RFC 6584).
    #[error("packet not authenticated: {0}")]
    Auth(#[from] AuthError),
}

impl ReceiverError {
    /// The counter this error is counted under.
    pub fn reason(&self) -> DropReason {
        match self {
            ReceiverError::Malformed(_) => DropReason::Malformed,
            ReceiverError::UnsupportedFec(_) => DropReason::UnsupportedFec,
            ReceiverError::Fdt(FdtError::DocumentTooLarge { .. }) => DropReason::FdtTooLarge,
            ReceiverError::Fdt(FdtError::TooManyFiles { .. }) => DropReason::FdtTooManyFiles,
            ReceiverError::Fdt(_) => DropReason::FdtInvalid,
            ReceiverError::FdtDecoding(CencError::TooLarge { .. }) => DropReason::FdtTooLarge,
            ReceiverError::FdtDecoding(_) => DropReason::FdtInvalid,
            ReceiverError::Oti(_) => DropReason::NoOti,
            ReceiverError::Path(_) => DropReason::BadPath,
            ReceiverError::Dropped(reason) => *reason,
            ReceiverError::Auth(AuthError::Malformed(_)) => DropReason::Malformed,
            ReceiverError::Auth(AuthError::Missing { .. }) => DropReason::AuthMissing,
            ReceiverError::Auth(AuthError::Replayed { .. }) => DropReason::AuthReplayed,
            ReceiverError::Auth(_) => DropReason::AuthFailed,
        }
    }
}

impl From<DropReason> for ReceiverError {
    fn from(reason: DropReason) -> Self {
        ReceiverError::Dropped(reason)
    }
}

// Inside the receiver, drops travel boxed: a `Result<(), Box<ReceiverError>>` is one register,
// where an 80-byte error returned through memory makes every packet's `Ok(())` a partial store
// followed by a wide load, which waits for the payload copy's stores to drain.
impl From<DropReason> for Box<ReceiverError> {
    fn from(reason: DropReason) -> Self {
        Box::new(ReceiverError::Dropped(reason))
    }
}

impl From<WireError> for Box<ReceiverError> {
    fn from(e: WireError) -> Self {
        Box::new(ReceiverError::Malformed(e))
    }
}

impl From<FdtError> for Box<ReceiverError> {
    fn from(e: FdtError) -> Self {
        Box::new(ReceiverError::Fdt(e))
    }
}

impl From<OtiAttributeError> for Box<ReceiverError> {
    fn from(e: OtiAttributeError) -> Self {
        Box::new(ReceiverError::Oti(e))
    }
}

impl From<PathError> for Box<ReceiverError> {
    fn from(e: PathError) -> Self {
        Box::new(ReceiverError::Path(e))
    }
}

/// Why an object was not delivered. The sink has discarded whatever it had written.
#[derive(Debug, PartialEq, Eq, Error)]
pub enum FailReason {
    /// The received content does not match the FDT's Content-MD5 (RFC 6726 §3.4.2).
    #[error("Content-MD5 mismatch")]
    Md5Mismatch,
    /// The FDT's Content-MD5 is not the base64 of 16 bytes.
    #[error("Content-MD5 is not a valid base64 MD5 digest")]
    BadMd5,
    /// No packet for the object within the object timeout.
    #[error("no packet within the object timeout")]
    Timeout,
    /// The sender closed the object (LCT B flag) before it was complete.
    #[error("closed by the sender before completion")]
    Interrupted,
    /// The sender closed the session (LCT A flag) before the object was complete.
    #[error("session closed before completion")]
    SessionClosed,
    /// The session timed out before the object was complete.
    #[error("session timed out before completion")]
    SessionExpired,
    /// A newer FDT instance describes the TOI as a different object.
    #[error("superseded by a new FDT description of the TOI")]
    Superseded,
    /// Content decoding failed or exceeded its cap.
    #[error("content decoding failed: {0}")]
    ContentDecoding(CencError),
    /// The decoded content does not have the FDT's Content-Length.
    #[error("decoded {got} bytes, Content-Length says {expected}")]
    ContentLength {
        /// Content-Length from the FDT.
        expected: u64,
        /// Bytes decoded.
        got: u64,
    },
    /// The Content-Location does not map inside the output directory.
    #[error("Content-Location refused: {0}")]
    Path(PathError),
    /// Unannounced traffic needed the place (of its session, or of an object not described by
    /// any FDT) and this one had gone without a packet the longest.
    #[error("evicted to make room for newer unannounced traffic")]
    Evicted,
    /// The object is larger than `Limits::max_object_bytes`.
    #[error("object of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Transfer or content length, in bytes.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// Receiving it would exceed `Limits::max_receiving_bytes`.
    #[error("receiver byte budget exhausted")]
    ReceivingBytesLimit,
    /// The object's FEC parameters are unusable (partitioning, FEC scheme).
    #[error("unusable FEC parameters: {0}")]
    Fec(String),
    /// The sink refused to store or commit the object.
    #[error("sink: {0}")]
    Sink(String),
    /// The content encoding (FDT Content-Encoding, or EXT_CENC code) is not null, zlib,
    /// deflate or gzip.
    #[error("unknown content encoding {0:?}")]
    UnknownContentEncoding(String),
    /// The FDT's FEC-OTI attributes do not make an OTI.
    #[error("invalid FEC OTI in the FDT: {0}")]
    InvalidOti(OtiAttributeError),
    /// The FEC scheme is one this receiver does not decode.
    #[error("FEC Encoding ID {0:?} is not supported by the receiver")]
    UnsupportedFec(FecEncodingId),
    /// The object's File entry in the FDT has an invalid or missing value; the entry was left
    /// out, the rest of the instance applied.
    #[error("invalid FDT File entry: {0}")]
    InvalidFileEntry(FdtError),
    /// A repair by unicast (3GPP TS 26.346 §9.3) could not complete the object: its servers
    /// did not answer, answered too little, or its bytes were refused.
    #[error("repair failed: {0}")]
    RepairFailed(String),
}
