//! RaptorQ (RFC 6330, FEC Encoding ID 6): encoding on top of the `raptorq` crate, decoding by
//! our own RFC 6330 decoder (`raptorq/solver.rs`).
//!
//! The crate panics on parameters it does not expect (a zero alignment, K > K'max = 56403, an
//! ESI of 24 bits or more, a symbol of the wrong length: its issues #173 and #194), so every
//! value that comes from the network is checked first and turned into a [`FecError`].
//!
//! - Sender: [`RaptorQEncoder::encode`] computes the repair symbols of one block. The crate
//!   needs the block as K whole symbols: only the object's last block, which may end inside its
//!   last symbol, is copied into a padded scratch (reused). Encoding plans
//!   (`SourceBlockEncodingPlan`, which depend on K only) are kept for the block sizes seen, so
//!   the large and the small blocks of an object each pay for theirs once.
//! - Receiver: [`RaptorQBlockDecoder`], per block (a [`FountainDecoder`]). Our decoder
//!   decodes whenever the symbols determine the block (maximum likelihood, with the HDPC rows
//!   over GF(256)): the crate could decode no set it fails. RaptorQ is not MDS: with K symbols
//!   decoding fails about once in a hundred; `decode` then returns `Ok(false)` and succeeds
//!   once a symbol or two more have arrived.

use ::raptorq::{ObjectTransmissionInformation, SourceBlockEncoder, SourceBlockEncodingPlan};

mod params;
mod solver;
mod tables;

use super::fountain::{FountainCode, FountainDecoder, check_encode};
use super::{FecError, SubBlockPartition};
use crate::wire::{FecEncodingId, Oti, SchemeSpecific};
// The solver on its own: for the benchmark against the crate, not API.
#[doc(hidden)]
pub use solver::{
    Received as RaptorQReceived, Solver as RaptorQSolver, Unsolved as RaptorQUnsolved,
};

/// The RaptorQ code of one object: symbol size T, N sub-blocks, alignment Al, all validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaptorQ {
    symbol_len: u16,
    nb_sub_blocks: u16,
    al: u8,
    sub_blocks: SubBlockPartition,
}

impl RaptorQ {
    /// A code with symbols of `symbol_len` T bytes, `nb_sub_blocks` N sub-blocks and alignment
    /// `al`: T > 0, Al > 0, T a multiple of Al, 1 ≤ N ≤ T/Al.
    pub fn new(symbol_len: u16, nb_sub_blocks: u16, al: u8) -> Result<Self, FecError> {
        if symbol_len == 0 {
            return Err(FecError::ZeroSymbolLength);
        }
        let sub_blocks =
            SubBlockPartition::new(u32::from(symbol_len), u32::from(nb_sub_blocks), al)?;
        Ok(Self {
            symbol_len,
            nb_sub_blocks,
            al,
            sub_blocks,
        })
    }

    /// The code an OTI announces (FEC Encoding ID 6 and its scheme-specific N and Al).
    pub fn for_oti(oti: &Oti) -> Result<Self, FecError> {
        match (oti.fec_encoding_id, oti.scheme_specific) {
            (FecEncodingId::RaptorQ, SchemeSpecific::RaptorQ { n, al, .. }) => {
                Self::new(oti.encoding_symbol_length, n, al)
            }
            _ => Err(FecError::UnsupportedScheme {
                fec_encoding_id: oti.fec_encoding_id.into(),
                fec_instance_id: oti.fec_instance_id,
            }),
        }
    }

    /// The crate's parameters for one block of `k` symbols (K checked by the caller).
    fn block_config(&self, k: u32) -> ObjectTransmissionInformation {
        // K·T ≤ 56403 · 65535 < 2^32: within the crate's transfer length bound.
        let block_len = u64::from(k) * u64::from(self.symbol_len);
        ObjectTransmissionInformation::new(
            block_len,
            self.symbol_len,
            1,
            self.nb_sub_blocks,
            self.al,
        )
    }

    /// An encoder for the blocks of an object.
    pub fn encoder(&self) -> RaptorQEncoder {
        RaptorQEncoder {
            code: *self,
            plans: Vec::new(),
            padded: Vec::new(),
        }
    }

    /// A decoder for one block of `k` source symbols.
    pub fn decoder(&self, k: u32) -> Result<RaptorQBlockDecoder, FecError> {
        FountainDecoder::new(*self, k)
    }
}

impl FountainCode for RaptorQ {
    type Solver = RaptorQSolver;
    const NAME: &'static str = "RaptorQ";
    const MIN_SOURCE_SYMBOLS: u32 = 1;
    /// K'max (RFC 6330 §5.1.2).
    const MAX_SOURCE_SYMBOLS: u32 = 56_403;
    /// ESIs are 24 bits (RFC 6330 §3.2).
    const ESI_END: u32 = 1 << 24;

    fn symbol_len(&self) -> usize {
        usize::from(self.symbol_len)
    }

    fn sub_blocks(&self) -> SubBlockPartition {
        self.sub_blocks
    }
}

/// Decoding state of one RaptorQ source block.
pub type RaptorQBlockDecoder = FountainDecoder<RaptorQ>;

/// Computes repair symbols block after block, with plans and padding scratch reused.
#[derive(Debug, Clone)]
pub struct RaptorQEncoder {
    code: RaptorQ,
    /// Plans by K; an object has at most two block sizes.
    plans: Vec<(u32, SourceBlockEncodingPlan)>,
    padded: Vec<u8>,
}

impl RaptorQEncoder {
    /// The code.
    pub fn code(&self) -> &RaptorQ {
        &self.code
    }

    fn plan_index(&mut self, k: u32) -> usize {
        if let Some(i) = self.plans.iter().position(|(pk, _)| *pk == k) {
            return i;
        }
        if self.plans.len() >= 2 {
            self.plans.remove(0);
        }
        // k ≤ 56403 was checked by check_encode.
        self.plans
            .push((k, SourceBlockEncodingPlan::generate(k as u16)));
        self.plans.len() - 1
    }

    /// Writes the repair symbols ESI K, K + 1, … of a block of K = `k` source symbols,
    /// `source_block` (contiguous sub-blocks as RFC 6330 §4.4.1.2 lays them out, the last
    /// symbol maybe short), into `repair`, as many as it holds.
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
        let config = self.code.block_config(k);
        let t = self.code.symbol_len();
        let i = self.plan_index(k);
        let full = k as usize * t;
        let data = if source_block.len() == full {
            source_block
        } else {
            self.padded.clear();
            self.padded.extend_from_slice(source_block);
            self.padded.resize(full, 0);
            &self.padded
        };
        let Some((_, plan)) = self.plans.get(i) else {
            return Err(FecError::CodecRejected("RaptorQ"));
        };
        // The SBN only labels the crate's packets: the symbols do not depend on it.
        let encoder = SourceBlockEncoder::with_encoding_plan(0, &config, data, plan);
        // nb_repair < 2^24 − k: fits u32.
        let packets = encoder.repair_packets(0, nb_repair as u32);
        for (dst, packet) in repair.chunks_exact_mut(t).zip(&packets) {
            let src = packet.data();
            if src.len() != t {
                return Err(FecError::CodecRejected("RaptorQ"));
            }
            dst.copy_from_slice(src);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
