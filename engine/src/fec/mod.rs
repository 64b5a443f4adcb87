//! AL-FEC building block (RFC 5052) and its schemes.
//!
//! - Block partitioning (RFC 5052 §9.1, RFC 5053 §5.3.1.2, RFC 6330 §4.4.1.2): [`partition`].
//! - Finite fields GF(2^m) of RFC 5510 §8.1 and their SIMD kernels: [`gf`], [`gf256`],
//!   [`gf65536`].
//! - Reed-Solomon over GF(2^m), RFC 5510 (FEC Encoding IDs 2, 5 and 129/0): [`rs`], with a
//!   block encoder and an in-place block decoder.

pub mod error;
pub mod gf;
pub mod gf256;
pub mod gf65536;
pub mod partition;
pub mod rs;

pub use error::FecError;
pub use partition::{BlockPartition, PartitionError, SubBlockPartition};
pub use rs::{ReedSolomon, RsBlockDecoder};
