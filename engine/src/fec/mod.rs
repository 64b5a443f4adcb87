//! AL-FEC building block (RFC 5052) and its schemes.
//!
//! For now: block partitioning (RFC 5052 §9.1, RFC 5053 §5.3.1.2, RFC 6330 §4.4.1.2). The codecs
//! (no-code, Reed-Solomon RFC 5510, Raptor RFC 5053, RaptorQ RFC 6330) arrive with the FEC issue.

pub mod partition;

pub use partition::{BlockPartition, PartitionError, SubBlockPartition};
