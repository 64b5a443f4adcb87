//! Raptor (RFC 5053, FEC Encoding ID 1): our own encoder and maximum-likelihood decoder
//! (`raptor/solver.rs`, on the inactivation decoding of `fec/inactivation.rs`). The repair
//! symbols are byte for byte those of the `raptor-code` crate, the codec flute 1.11.7 uses
//! (checked in the tests), so either side interoperates with flute.
//!
//! The systematic indices J(K) of RFC 5053 §5.7 are only defined for K in 4..=8192, and every
//! value from the network (K, ESIs, lengths) is checked here before the solver sees it.
//!
//! Sub-blocking (RFC 5053 §5.3.1.2): the Raptor code works on each byte position of a symbol
//! alike (its arithmetic is XOR), so encoding the N sub-blocks separately, as the RFC describes,
//! gives the same bytes as encoding the whole symbols at once; both sides here code whole
//! symbols, the sub-symbols gathered from (or scattered to) their places in the block.
//!
//! Use from the sender and the receiver is the same as for [`super::raptorq`]:
//! [`RaptorEncoder::encode`] per block; [`RaptorBlockDecoder`] per block (a
//! [`FountainDecoder`]).

mod params;
mod solver;
mod tables;

// The solver is reached by the benchmarks and tests; the API is the block decoder.
#[doc(hidden)]
pub use solver::{Received as RaptorReceived, Solver as RaptorSolver, Unsolved as RaptorUnsolved};

use super::fountain::{FountainCode, FountainDecoder, check_encode};
use super::{FecError, SubBlockPartition};
use crate::wire::{FecEncodingId, Oti, SchemeSpecific};

/// The Raptor code of one object: symbol size T, N sub-blocks, alignment Al, all validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raptor {
    symbol_len: u16,
    sub_blocks: SubBlockPartition,
}

impl Raptor {
    /// A code with symbols of `symbol_len` T bytes, `nb_sub_blocks` N sub-blocks and alignment
    /// `al`: T > 0, Al > 0, T a multiple of Al, 1 ≤ N ≤ T/Al.
    pub fn new(symbol_len: u16, nb_sub_blocks: u8, al: u8) -> Result<Self, FecError> {
        if symbol_len == 0 {
            return Err(FecError::ZeroSymbolLength);
        }
        let sub_blocks =
            SubBlockPartition::new(u32::from(symbol_len), u32::from(nb_sub_blocks), al)?;
        Ok(Self {
            symbol_len,
            sub_blocks,
        })
    }

    /// The code an OTI announces (FEC Encoding ID 1 and its scheme-specific N and Al).
    pub fn for_oti(oti: &Oti) -> Result<Self, FecError> {
        match (oti.fec_encoding_id, oti.scheme_specific) {
            (FecEncodingId::Raptor, SchemeSpecific::Raptor { n, al, .. }) => {
                Self::new(oti.encoding_symbol_length, n, al)
            }
            _ => Err(FecError::UnsupportedScheme {
                fec_encoding_id: oti.fec_encoding_id.into(),
                fec_instance_id: oti.fec_instance_id,
            }),
        }
    }

    /// An encoder for the blocks of an object.
    pub fn encoder(&self) -> RaptorEncoder {
        RaptorEncoder {
            code: *self,
            symbols: Vec::new(),
            solver: RaptorSolver::default(),
        }
    }

    /// A decoder for one block of `k` source symbols.
    pub fn decoder(&self, k: u32) -> Result<RaptorBlockDecoder, FecError> {
        FountainDecoder::new(*self, k)
    }
}

impl FountainCode for Raptor {
    type Solver = RaptorSolver;
    const NAME: &'static str = "Raptor";
    /// Smallest K with systematic indices J(K) (RFC 5053 §5.7).
    const MIN_SOURCE_SYMBOLS: u32 = 4;
    /// Largest K with systematic indices J(K) (RFC 5053 §5.7).
    const MAX_SOURCE_SYMBOLS: u32 = 8192;
    /// ESIs are 16 bits (RFC 5053 §3.2).
    const ESI_END: u32 = 1 << 16;

    fn symbol_len(&self) -> usize {
        usize::from(self.symbol_len)
    }

    fn sub_blocks(&self) -> SubBlockPartition {
        self.sub_blocks
    }
}

/// Decoding state of one Raptor source block.
pub type RaptorBlockDecoder = FountainDecoder<Raptor>;

/// Computes repair symbols block after block.
#[derive(Debug, Clone)]
pub struct RaptorEncoder {
    code: Raptor,
    /// The block as whole symbols, when it has to be gathered (reused).
    symbols: Vec<u8>,
    solver: RaptorSolver,
}

impl RaptorEncoder {
    /// The code.
    pub fn code(&self) -> &Raptor {
        &self.code
    }

    /// Writes the repair symbols ESI K, K + 1, … of a block of `k` source symbols,
    /// `source_block` (contiguous sub-blocks, the last symbol maybe short), into `repair`.
    pub fn encode(
        &mut self,
        k: u32,
        source_block: &[u8],
        repair: &mut [u8],
    ) -> Result<(), FecError> {
        let nb_repair = check_encode(&self.code, k, source_block.len(), repair.len())?;
        if nb_repair == 0 {
            return Ok(());
        }
        let t = self.code.symbol_len();
        let layout = self.code.layout(k);
        let data = if layout.is_contiguous() {
            source_block
        } else {
            self.symbols.resize(k as usize * t, 0);
            for (esi, symbol) in (0..k).zip(self.symbols.chunks_exact_mut(t)) {
                layout.gather(source_block, esi, symbol)?;
            }
            &self.symbols
        };
        self.solver
            .encode(k, t, data, k, repair)
            .map_err(|_| FecError::CodecRejected("Raptor"))
    }
}

#[cfg(test)]
mod tests;
