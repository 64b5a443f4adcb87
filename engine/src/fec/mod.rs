//! AL-FEC building block (RFC 5052) and its schemes.
//!
//! [`Scheme`] is the FEC scheme of one object, one per FEC Encoding ID (no-code, Reed-Solomon,
//! RaptorQ, Raptor), built from the object's OTI, which it validates. The sender and the
//! receiver ask it what depends on the scheme: the object's [`BlockPartition`], the ESIs of a
//! block, its sub-block layout, the FEC Payload ID layout, the repair symbols sent per block,
//! the object's [`Encoder`] and a [`BlockDecoder`] per block.
//!
//! Beneath it, each code on its own: [`rs`] (RFC 5510, GF(2^m) with its SIMD kernels in `gf`,
//! `gf256`, `gf65536`), [`raptorq`] (RFC 6330) and [`raptor`] (RFC 5053), both fountain codes
//! whose block decoder is [`FountainDecoder`]; [`BlockPartition`] and [`SubBlockLayout`] for the
//! partitioning of RFC 5052 §9.1, RFC 6330 §4.4.1.2 and RFC 5053 §5.3.1.2. Every value from the
//! network is checked before a codec sees it: a bad one is a [`FecError`], never a panic.

pub(crate) mod error;
mod fountain;
// The field arithmetic: internals the benchmarks reach, not API.
#[doc(hidden)]
pub mod gf;
#[doc(hidden)]
pub mod gf256;
#[doc(hidden)]
pub mod gf65536;
mod inactivation;
pub(crate) mod partition;
pub mod raptor;
pub mod raptorq;
pub mod rs;
mod scheme;
mod source_symbols;
pub(crate) mod sub_block;
mod xor;

pub use error::FecError;
pub use fountain::{FountainCode, FountainDecoder, FountainSolver};
pub use inactivation::Limit as DecodeLimit;
pub use partition::{BlockPartition, PartitionError, SubBlockPartition};
pub use raptor::{Raptor, RaptorBlockDecoder, RaptorEncoder};
pub use raptorq::{RaptorQ, RaptorQBlockDecoder, RaptorQEncoder};
pub use rs::{ReedSolomon, RsBlockDecoder};
pub use scheme::{BlockDecoder, Encoder, Scheme};
pub use sub_block::SubBlockLayout;
