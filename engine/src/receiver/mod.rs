//! Sans-IO FLUTE receiver (RFC 6726 §4, RFC 5775): sessions by (endpoint, TSI), objects by TOI,
//! FDT state, block assembly, expiry; the mapping of FDT names to safe output paths; and the sink
//! contract that received objects are written through.
//!
//! [`MultiReceiver::push`] takes a packet, the endpoint it came from and the time; nothing here
//! reads a clock or opens a file (the sink does). Objects are described by the FDT or, with
//! `Config::receive_without_fdt`, by EXT_FTI alone. Packets that come before their FDT are held
//! within a byte cap. Each source symbol is copied once, to its final offset in the sink's
//! region, and the Content-MD5 is computed on the in-order prefix as it grows. FEC: no-code
//! (ID 0), Reed-Solomon (IDs 2, 5, and 129 with FEC Instance ID 0), RaptorQ (ID 6) and Raptor
//! (ID 1), whose repair symbols are kept in a per-block decoder scratch charged to the memory
//! budget and decode the missing source symbols in place (`decoding.rs`), within a decode cost
//! per block; with sub-blocks (N > 1) source symbols are scattered to their sub-blocks and the
//! MD5 is computed once the object is complete. What happens to objects is polled with
//! [`MultiReceiver::poll_event`]; every dropped packet is a typed [`ReceiverError`] counted in
//! [`ReceiverStats`], and every limit ([`Limits`]) keeps memory and work bounded whatever the
//! network sends: one budget (`Limits::max_memory_bytes`) for all the memory held for input
//! not verified yet, charged as it is allocated; pools apart for what no FDT announces.
//!
//! Files: `multi` (entry point, TSI filter, session pool) → `session` (FDT, receive-once, held
//! packets, close flags, timeouts, object pools) → `object` (sink region, FEC, MD5) → `content`
//! (streamed content decoding) and `decoding` (per-block FEC decoders) → `blocks` (which
//! symbols are in); `fdt_state` (FDT instances and file descriptions), `fdt_assembly` (an FDT
//! instance reassembled outside a receiver), `pending`, `event`, `error`, `stats`, `config`,
//! `path`, `sink`.

mod blocks;
mod budget;
pub(crate) mod config;
mod content;
mod decoding;
mod deferred;
pub(crate) mod error;
pub(crate) mod event;
pub(crate) mod fdt_assembly;
mod fdt_state;
pub(crate) mod multi;
mod object;
pub(crate) mod path;
mod pending;
pub(crate) mod repair;
mod sender_clock;
mod session;
pub(crate) mod sink;
pub(crate) mod stats;
pub(crate) mod tsi_filter;

/// The receiver's maps on the packet path, keyed by values from the network (endpoints, TSIs,
/// TOIs, SBNs): foldhash, seeded at random per process, is several times faster than std's
/// SipHash on these small keys, and every such map is bounded by a [`Limits`] field.
pub(crate) type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

pub use config::{Config, Limits};
pub use deferred::DecodeJob;
pub use error::{DropReason, FailReason, ReceiverError};
pub use event::{ObjectEvent, ObjectMetadata, ReceiverEndpoint};
pub use fdt_assembly::FdtAssembly;
pub use multi::MultiReceiver;
pub use object::ENCODED_IN_MEMORY_MAX_BYTES;
pub use path::{MAX_COMPONENT_BYTES, MAX_PATH_BYTES, PathError, SafeRelativePath};
pub use repair::{IncompleteObject, RepairError, RepairPlan};
pub use sink::{
    HUGE_PAGE_THRESHOLD_BYTES, MemoryData, MemoryObject, MemorySink, MemorySinkObject,
    ObjectDescription, ObjectSink, SinkError, SinkObject,
};
pub use stats::ReceiverStats;
pub use tsi_filter::TsiFilter;
