//! The sender's side of an FEC scheme (RFC 5052 §3): one encoder per object, asked once per
//! source block for that block's repair symbols. Source symbols are never copied through the
//! encoder: the sender sends them straight from the object's bytes, and only repair symbols
//! are computed into a scratch buffer that is reused block after block.
//!
//! Compact No-Code (RFC 5445 §3, FEC Encoding ID 0) has no repair symbols. Reed-Solomon,
//! Raptor and RaptorQ plug in here with their own [`BlockEncoder`].

use super::SenderError;
use crate::wire::{FecEncodingId, Oti};

/// Produces the repair symbols of each source block of one object.
pub trait BlockEncoder: Send {
    /// How many repair symbols follow the `source_block_len` source symbols of a block.
    fn nb_repair_symbols(&self, source_block_len: u32) -> u32;

    /// Computes the repair symbols of block `sbn` from its source symbols, `source` (the last
    /// symbol of the object may be short: the encoder pads it with zeros as its scheme says),
    /// into `repair`, which holds exactly `nb_repair_symbols(source_block_len)` symbols of
    /// `symbol_len` bytes each.
    fn encode(
        &mut self,
        sbn: u32,
        source: &[u8],
        source_block_len: u32,
        symbol_len: usize,
        repair: &mut [u8],
    ) -> Result<(), SenderError>;
}

/// Compact No-Code: source symbols only.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCodeEncoder;

impl BlockEncoder for NoCodeEncoder {
    fn nb_repair_symbols(&self, _source_block_len: u32) -> u32 {
        0
    }

    fn encode(
        &mut self,
        _sbn: u32,
        _source: &[u8],
        _source_block_len: u32,
        _symbol_len: usize,
        _repair: &mut [u8],
    ) -> Result<(), SenderError> {
        Ok(())
    }
}

/// The encoder of `oti`'s FEC scheme.
pub fn block_encoder_for(oti: &Oti) -> Result<Box<dyn BlockEncoder>, SenderError> {
    match oti.fec_encoding_id {
        FecEncodingId::NoCode => Ok(Box::new(NoCodeEncoder)),
        other => Err(SenderError::UnsupportedFec(other)),
    }
}
