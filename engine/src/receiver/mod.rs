//! Sans-IO FLUTE receiver (RFC 6726 §4, RFC 5775): sessions by TSI, objects by TOI, FDT state,
//! block assembly, expiry; the mapping of FDT names to safe output paths; and the sink contract
//! that received objects are written through.

pub mod path;
pub mod sink;

pub use path::{PathError, SafeRelativePath};
pub use sink::{MemorySink, ObjectDescription, ObjectSink, SinkError, SinkObject};
