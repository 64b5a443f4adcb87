//! Receiver configuration: timeouts, behaviour switches and the limits that keep memory bounded
//! whatever the network sends. Every limit has a safe default and can be changed.

use std::time::Duration;

/// Bounds on what one [`super::MultiReceiver`] holds. Exceeding one is a counted, typed drop
/// (see [`super::DropReason`]), never unbounded growth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Sessions (endpoint, TSI) tracked at once, besides those the TSI filter lists by name;
    /// when they are all taken, a new session evicts the idlest
    /// (`ReceiverStats::sessions_evicted`).
    pub max_sessions: usize,
    /// Objects being received that an FDT describes, per session. Hit:
    /// `DropReason::ObjectLimit`.
    pub max_objects_per_session: usize,
    /// Objects no FDT describes, per session: TOIs with packets held before their FDT, and
    /// objects received by their EXT_FTI alone. A pool apart from the described objects, so
    /// that cycling unknown TOIs cannot take their places; when it is full the idlest goes
    /// (`ReceiverStats::unannounced_evicted`, `DropReason::PendingEvicted` for held packets).
    pub max_unannounced_objects_per_session: usize,
    /// Largest object accepted, in bytes: its Transfer-Length and its Content-Length; also the
    /// cap on content decoding when the FDT gives no Content-Length. Hit:
    /// `DropReason::ObjectTooLarge` (`ReceiverStats::content_decoding_capped` when decoding).
    pub max_object_bytes: u64,
    /// Bytes of sink regions (the files of the file sink, the buffers of the memory sink)
    /// taken by the objects being received, at their Transfer-Length, across all sessions.
    /// Hit: `DropReason::ReceivingBytesLimit`.
    pub max_receiving_bytes: u64,
    /// Memory the receiver itself holds for input not verified yet, across all sessions:
    /// packets held for their FDT, file descriptions, FDT instances being received, symbol
    /// bookkeeping, FEC scratch and content-encoded objects received in memory; each charged
    /// when it is allocated, never at a size the network declares. Content-encoded objects
    /// over `ENCODED_IN_MEMORY_MAX_BYTES` go through the sink instead. Hit:
    /// `DropReason::MemoryLimit` (and the limits below for their parts).
    pub max_memory_bytes: u64,
    /// Bytes of packets held, over all sessions, while they wait for the FDT that describes
    /// them. A session short of room lets its own idlest held TOIs go first
    /// (`DropReason::PendingEvicted`). Hit: `DropReason::PendingBytesLimit`.
    pub max_pending_bytes: usize,
    /// Source blocks of one object holding FEC repair symbols (a decoder and its scratch) at
    /// once. Blocks that only have source symbols cost nothing beyond the object's own state.
    /// Hit: `DropReason::BlockLimit`.
    pub max_concurrent_blocks: usize,
    /// Most work one block's FEC decode may take, in symbol bytes combined: a Reed-Solomon
    /// decode of e missing source symbols out of k, E bytes each, with n encoding symbols, costs
    /// e·k·E + 2·k·n (its quadratic part: GF(2^16) allows k in the tens of thousands); a
    /// RaptorQ or Raptor decode attempt is counted by its solver (peeling's scans, then the
    /// dense phase's matrix and symbol operations, added up before they are done). A block
    /// over it is not decoded: its repair symbols are dropped, the block can still complete
    /// from its source symbols. The default takes any GF(2^8) block of symbols up to 4 KiB
    /// with every source symbol lost, and RaptorQ or Raptor blocks of a few thousand 1400-byte
    /// symbols. Hit: `DropReason::DecodeCostLimit`.
    pub max_decode_cost: u64,
    /// Largest FDT instance accepted, in bytes, encoded and decoded. Hit: `DropReason::FdtTooLarge`.
    pub max_fdt_bytes: usize,
    /// Most File entries in one FDT instance. Hit: `DropReason::FdtTooManyFiles`.
    pub max_fdt_files: usize,
    /// Most TOIs described by the live FDT instances of one session. Hit (per File entry):
    /// `DropReason::FilesPerSessionLimit`.
    pub max_files_per_session: usize,
    /// Bytes of file descriptions kept from live FDT instances, over all sessions. Hit (per File
    /// entry): `DropReason::DescriptionBytesLimit`.
    pub max_description_bytes: usize,
    /// Most completed TOIs remembered per session for receive-once; the oldest are forgotten
    /// (`ReceiverStats::receive_once_forgotten`).
    pub max_completed_per_session: usize,
    /// FDT instances being received at once per session. Hit: `DropReason::FdtInstancesLimit`.
    pub max_fdt_instances_receiving: usize,
    /// Events queued and not yet polled; past it, events are dropped and counted
    /// (`ReceiverStats::events_dropped`).
    pub max_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_sessions: 256,
            max_objects_per_session: 1024,
            max_unannounced_objects_per_session: 64,
            max_object_bytes: 4 << 30,
            max_receiving_bytes: 8 << 30,
            max_memory_bytes: 48 << 20,
            max_pending_bytes: 16 << 20,
            max_concurrent_blocks: 4096,
            max_decode_cost: 1 << 28,
            max_fdt_bytes: 4 << 20,
            max_fdt_files: 100_000,
            max_files_per_session: 100_000,
            max_description_bytes: 24 << 20,
            max_completed_per_session: 100_000,
            max_fdt_instances_receiving: 8,
            max_events: 1 << 16,
        }
    }
}

/// How the receiver behaves. `Config::default()` matches the flute crate's receiver defaults
/// where it has them (object timeout 10 s, receive-once, FDT expiry check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// An object with no packet for this long fails; `None` never.
    pub object_timeout: Option<Duration>,
    /// A session with no packet for this long is dropped with its objects; `None` never.
    pub session_timeout: Option<Duration>,
    /// After the LCT close-object (B) or close-session (A) flag, packets that were reordered
    /// behind the flagged one are still taken for this long before the object or session is
    /// closed.
    pub close_grace: Duration,
    /// A completed TOI is not received again while an FDT instance describing it lives.
    pub receive_once: bool,
    /// FDT instances whose Expires has passed are refused, and their descriptions forgotten.
    pub fdt_expiry_check: bool,
    /// Verify Content-MD5 when the FDT gives one.
    pub check_md5: bool,
    /// Receive objects whose packets carry EXT_FTI but that no FDT describes (plain ALC), with
    /// no path; otherwise their packets are held for the FDT within `max_pending_bytes`.
    pub receive_without_fdt: bool,
    /// The limits.
    pub limits: Limits,
    /// Packet authentication (RFC 6584): when set, every packet must carry an EXT_AUTH of this
    /// scheme that verifies and, with anti-replay, is not a replay; any other is dropped before
    /// it reaches a session (`DropReason::AuthMissing`, `AuthFailed`, `AuthReplayed`). A
    /// reference for the process's life ([`crate::auth::VerifierConfig::leak`]) keeps this
    /// configuration `Copy`; each receiver keeps its own anti-replay windows.
    pub auth: Option<&'static crate::auth::VerifierConfig>,
    /// At most one `ObjectEvent::Progress` per object per this much of the time given to
    /// `push`; zero reports every block completed. Either way a progress event not polled yet
    /// is updated rather than followed by another of the same object.
    pub progress_every: Duration,
    /// Blocks of at least this many bytes are not decoded inside `push` but handed out as
    /// [`DecodeJob`](super::DecodeJob)s (`MultiReceiver::take_decode_jobs`), to be run on
    /// another thread and given back (`MultiReceiver::finish_decode`): a RaptorQ block of a
    /// few thousand symbols takes milliseconds to decode, which a receive loop would spend
    /// while its ring fills. A job holds a copy of its block, charged to the memory budget
    /// (without room the block is decoded in `push` after all). `None`: every block is
    /// decoded in `push`.
    pub defer_decode_from_bytes: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            object_timeout: Some(Duration::from_secs(10)),
            session_timeout: Some(Duration::from_secs(300)),
            close_grace: Duration::from_millis(500),
            receive_once: true,
            fdt_expiry_check: true,
            check_md5: true,
            receive_without_fdt: false,
            limits: Limits::default(),
            auth: None,
            progress_every: Duration::ZERO,
            defer_decode_from_bytes: None,
        }
    }
}
