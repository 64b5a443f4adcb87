//! Sans-IO FLUTE receiver (RFC 6726 §4, RFC 5775): sessions by (endpoint, TSI), objects by TOI,
//! FDT state, block assembly, expiry; the mapping of FDT names to safe output paths; and the sink
//! contract that received objects are written through.
//!
//! [`MultiReceiver::push`] takes a packet, the endpoint it came from and the time; nothing here
//! reads a clock or opens a file (the sink does). Objects are described by the FDT or, with
//! `Config::receive_without_fdt`, by EXT_FTI alone. Packets that come before their FDT are held
//! within a byte cap. Each source symbol is copied once, to its final offset in the sink's
//! region. What happens to objects is polled with [`MultiReceiver::poll_event`]; every dropped
//! packet is a typed [`ReceiverError`] counted in [`ReceiverStats`].

mod blocks;
pub mod config;
pub mod error;
pub mod event;
mod fdt_state;
pub mod multi;
mod object;
pub mod path;
mod pending;
mod session;
pub mod sink;
pub mod stats;
pub mod tsi_filter;

pub use config::{Config, Limits};
pub use error::{DropReason, FailReason, ReceiverError};
pub use event::{ObjectEvent, ObjectMetadata, ReceiverEndpoint};
pub use multi::MultiReceiver;
pub use path::{PathError, SafeRelativePath};
pub use sink::{MemorySink, ObjectDescription, ObjectSink, SinkError, SinkObject};
pub use stats::ReceiverStats;
pub use tsi_filter::TsiFilter;
