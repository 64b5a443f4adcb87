//! Sans-IO FLUTE receiver (RFC 6726 §4, RFC 5775): sessions by TSI, objects by TOI, FDT state,
//! block assembly, expiry; and the mapping of FDT names to safe output paths.

pub mod path;

pub use path::{PathError, SafeRelativePath};
