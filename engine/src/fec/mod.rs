//! AL-FEC building block (RFC 5052) and its schemes.
//!
//! - Block partitioning (RFC 5052 §9.1, RFC 5053 §5.3.1.2, RFC 6330 §4.4.1.2): [`partition`].
//! - Finite fields GF(2^m) of RFC 5510 §8.1 and their SIMD kernels: `gf`, `gf256`, `gf65536`
//!   (internals, hidden from these docs).
//! - Reed-Solomon over GF(2^m), RFC 5510 (FEC Encoding IDs 2, 5 and 129/0): [`rs`], with a
//!   block encoder and an in-place block decoder.
//!
//! # Use from the sender and the receiver
//!
//! One [`ReedSolomon`] per block shape, from the object's OTI: `ReedSolomon::for_oti(&oti, k,
//! n)` with k the block's source symbols (from [`BlockPartition`]) and n = k + repair symbols.
//! It validates m, k, n and E (they come from the network) and is cheap to clone; its repair
//! coefficients are computed once, on first encode, and shared by the clones. Repair symbol j
//! depends only on k and j, never on n (n only bounds the ESIs): flute sends n = k + (max_n − B)
//! for every block, and a receiver may build its code with any n up to 2^m − 1 that covers the
//! ESIs it accepts.
//!
//! - Sender: `code.encode(source_block, &mut repair)` writes the repair symbols ESI k, k + 1, …
//!   of one block into the caller's buffer (as many as it holds), once per block. The source
//!   block may end inside its last symbol (the object's end): that symbol counts as zero-padded.
//! - Receiver: `code.decoder()` gives an [`RsBlockDecoder`] per block. The receiver writes each
//!   source symbol straight to its offset in the block's destination (the mmap'd file) and calls
//!   `source_received(esi)`; it hands repair symbols to `push_repair(esi, symbol)`, which keeps
//!   them in the decoder's scratch until k distinct symbols are known (`is_decodable()`). Then
//!   `decode(destination)` computes this erasure pattern's coefficients once (O(k·e)) and writes
//!   the missing source symbols into the destination, which may also end inside its last symbol.
//!   `reset()` reuses the scratch for another block of the same code.
//!
//! RaptorQ (RFC 6330, ID 6: [`raptorq`]) and Raptor (RFC 5053, ID 1: [`raptor`]) follow the same
//! pattern, with the sub-blocking of their RFCs: `RaptorQ::for_oti(&oti)` /
//! `Raptor::for_oti(&oti)` validate T, N and Al; `encoder()` gives a per-object encoder whose
//! `encode` fills a repair buffer per block; `decoder(sbn, k)` / `decoder(k)` a per-block decoder
//! (`write_source_symbol` scatters a source symbol into the destination, `push_repair`,
//! `is_decodable`, `decode(destination) -> Ok(true)` when recovered, `Ok(false)` when more
//! symbols are needed — these codes are not MDS).

pub mod error;
// The field arithmetic: internals the benchmarks reach, not API.
#[doc(hidden)]
pub mod gf;
#[doc(hidden)]
pub mod gf256;
#[doc(hidden)]
pub mod gf65536;
mod inactivation;
pub mod partition;
pub mod raptor;
pub mod raptorq;
pub mod rs;
mod source_symbols;
pub mod sub_block;
mod xor;

pub use error::FecError;
pub use inactivation::Limit as DecodeLimit;
pub use partition::{BlockPartition, PartitionError, SubBlockPartition};
pub use raptor::{Raptor, RaptorBlockDecoder, RaptorEncoder};
pub use raptorq::{RaptorQ, RaptorQBlockDecoder, RaptorQEncoder};
pub use rs::{ReedSolomon, RsBlockDecoder};
pub use sub_block::SubBlockLayout;
