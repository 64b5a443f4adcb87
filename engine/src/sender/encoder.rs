//! The sender's side of an FEC scheme (RFC 5052 §3): one encoder per object, asked once per
//! source block for that block's repair symbols. Source symbols are never copied through the
//! encoder: the sender sends them straight from the object's bytes (gathered per symbol only
//! under sub-blocking), and only repair symbols are computed into a scratch buffer that is
//! reused block after block.
//!
//! - Compact No-Code (RFC 5445 §3, ID 0): no repair symbols.
//! - Reed-Solomon (RFC 5510, IDs 2, 5 and 129): n = k + (max_n − B) per block, as flute sends.
//! - RaptorQ (RFC 6330, ID 6) and Raptor (RFC 5053, ID 1): max_n − B repair symbols per block;
//!   the number of source blocks Z follows from B and the object's size
//!   ([`resolve_source_blocks`]), as flute derives it.

use super::SenderError;
use crate::fec::{
    BlockPartition, FecError, Raptor, RaptorEncoder, RaptorQ, RaptorQEncoder, ReedSolomon,
    SubBlockLayout,
};
use crate::wire::{FecEncodingId, Oti, SchemeSpecific};

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

    /// Under sub-blocking with N > 1 (RFC 6330 §4.4.1.2, RFC 5053 §5.3.1.2), where the bytes of
    /// each source symbol of a block of `source_block_len` symbols are; `None` when source
    /// symbol i is simply bytes i·T..(i+1)·T of the block.
    fn sub_block_layout(&self, _source_block_len: u32) -> Option<SubBlockLayout> {
        None
    }

    /// Checks that the scheme can code a block of `source_block_len` symbols.
    fn check_block_len(&self, _source_block_len: u32) -> Result<(), SenderError> {
        Ok(())
    }
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

/// Repair symbols per block announced by the OTI: max_n − B.
fn repair_per_block(oti: &Oti) -> u32 {
    oti.max_number_of_encoding_symbols
        .saturating_sub(oti.maximum_source_block_length)
}

/// Reed-Solomon over GF(2^m) (IDs 2, 5 and 129).
#[derive(Debug, Clone)]
pub struct ReedSolomonEncoder {
    oti: Oti,
    nb_repair: u32,
    /// The codes of the block sizes seen (an object has at most two).
    codes: Vec<ReedSolomon>,
}

impl ReedSolomonEncoder {
    /// The encoder of `oti`; checks m, B and max_n.
    pub fn new(oti: &Oti) -> Result<Self, SenderError> {
        let nb_repair = repair_per_block(oti);
        let b = oti.maximum_source_block_length.max(1);
        ReedSolomon::for_oti(oti, b, b.saturating_add(nb_repair))?;
        Ok(Self {
            oti: *oti,
            nb_repair,
            codes: Vec::with_capacity(2),
        })
    }

    fn code(&mut self, k: u32) -> Result<&ReedSolomon, FecError> {
        let i = match self.codes.iter().position(|c| c.nb_source_symbols() == k) {
            Some(i) => i,
            None => {
                if self.codes.len() >= 2 {
                    self.codes.remove(0);
                }
                let n = k.saturating_add(self.nb_repair);
                self.codes.push(ReedSolomon::for_oti(&self.oti, k, n)?);
                self.codes.len() - 1
            }
        };
        self.codes.get(i).ok_or(FecError::ZeroSourceSymbols)
    }
}

impl BlockEncoder for ReedSolomonEncoder {
    fn nb_repair_symbols(&self, _source_block_len: u32) -> u32 {
        self.nb_repair
    }

    fn encode(
        &mut self,
        _sbn: u32,
        source: &[u8],
        source_block_len: u32,
        _symbol_len: usize,
        repair: &mut [u8],
    ) -> Result<(), SenderError> {
        Ok(self.code(source_block_len)?.encode(source, repair)?)
    }

    fn check_block_len(&self, source_block_len: u32) -> Result<(), SenderError> {
        let n = source_block_len.saturating_add(self.nb_repair);
        ReedSolomon::for_oti(&self.oti, source_block_len, n)?;
        Ok(())
    }
}

/// RaptorQ (ID 6).
#[derive(Debug, Clone)]
pub struct RaptorQBlockEncoder {
    encoder: RaptorQEncoder,
    nb_repair: u32,
}

impl RaptorQBlockEncoder {
    /// The encoder of `oti`; checks T, N and Al.
    pub fn new(oti: &Oti) -> Result<Self, SenderError> {
        Ok(Self {
            encoder: RaptorQ::for_oti(oti)?.encoder(),
            nb_repair: repair_per_block(oti),
        })
    }
}

impl BlockEncoder for RaptorQBlockEncoder {
    fn nb_repair_symbols(&self, _source_block_len: u32) -> u32 {
        self.nb_repair
    }

    fn encode(
        &mut self,
        sbn: u32,
        source: &[u8],
        source_block_len: u32,
        _symbol_len: usize,
        repair: &mut [u8],
    ) -> Result<(), SenderError> {
        let sbn = u8::try_from(sbn).map_err(|_| SenderError::ObjectTooLarge {
            transfer_length: 0,
            last_sbn: u64::from(sbn),
            last_esi: 0,
        })?;
        Ok(self.encoder.encode(sbn, source_block_len, source, repair)?)
    }

    fn sub_block_layout(&self, source_block_len: u32) -> Option<SubBlockLayout> {
        let layout = self.encoder.code().layout(source_block_len);
        (!layout.is_contiguous()).then_some(layout)
    }

    fn check_block_len(&self, source_block_len: u32) -> Result<(), SenderError> {
        self.encoder.code().decoder(source_block_len)?;
        Ok(())
    }
}

/// Raptor (ID 1).
#[derive(Debug, Clone)]
pub struct RaptorBlockEncoder {
    encoder: RaptorEncoder,
    nb_repair: u32,
}

impl RaptorBlockEncoder {
    /// The encoder of `oti`; checks T, N and Al.
    pub fn new(oti: &Oti) -> Result<Self, SenderError> {
        Ok(Self {
            encoder: Raptor::for_oti(oti)?.encoder(),
            nb_repair: repair_per_block(oti),
        })
    }
}

impl BlockEncoder for RaptorBlockEncoder {
    fn nb_repair_symbols(&self, _source_block_len: u32) -> u32 {
        self.nb_repair
    }

    fn encode(
        &mut self,
        _sbn: u32,
        source: &[u8],
        source_block_len: u32,
        _symbol_len: usize,
        repair: &mut [u8],
    ) -> Result<(), SenderError> {
        Ok(self.encoder.encode(source_block_len, source, repair)?)
    }

    fn sub_block_layout(&self, source_block_len: u32) -> Option<SubBlockLayout> {
        let layout = self.encoder.code().layout(source_block_len);
        (!layout.is_contiguous()).then_some(layout)
    }

    fn check_block_len(&self, source_block_len: u32) -> Result<(), SenderError> {
        self.encoder.code().decoder(source_block_len)?;
        Ok(())
    }
}

/// The encoder of `oti`'s FEC scheme.
pub fn block_encoder_for(oti: &Oti) -> Result<Box<dyn BlockEncoder>, SenderError> {
    match oti.fec_encoding_id {
        FecEncodingId::NoCode => Ok(Box::new(NoCodeEncoder)),
        FecEncodingId::ReedSolomonGf28
        | FecEncodingId::ReedSolomonGf2m
        | FecEncodingId::ReedSolomonGf28UnderSpecified => {
            Ok(Box::new(ReedSolomonEncoder::new(oti)?))
        }
        FecEncodingId::RaptorQ => Ok(Box::new(RaptorQBlockEncoder::new(oti)?)),
        FecEncodingId::Raptor => Ok(Box::new(RaptorBlockEncoder::new(oti)?)),
    }
}

/// Makes a Compact No-Code OTI (FEC Encoding ID 0) describe one source block holding the whole
/// object, when its 16-bit ESI can number every symbol; other OTIs are left as they are.
pub(crate) fn one_no_code_block(oti: &mut Oti) {
    if oti.fec_encoding_id != FecEncodingId::NoCode || oti.encoding_symbol_length == 0 {
        return;
    }
    let symbols = oti
        .transfer_length
        .div_ceil(u64::from(oti.encoding_symbol_length))
        .max(1);
    if let Ok(k) = u32::try_from(symbols)
        && symbols <= super::config::NO_CODE_MAX_BLOCK_SYMBOLS
    {
        oti.maximum_source_block_length = k;
        oti.max_number_of_encoding_symbols = k;
    }
}

/// For RaptorQ and Raptor, sets Z to the number of blocks RFC 5052 §9.1 partitioning with B
/// gives the object (Partition[Kt, Z] then yields the same blocks), as flute does; it must fit
/// Z's field (8 bits for RaptorQ, 16 for Raptor). Other schemes are left as they are.
pub fn resolve_source_blocks(oti: &mut Oti) -> Result<(), SenderError> {
    let blocks = || -> Result<u64, SenderError> {
        Ok(BlockPartition::rfc5052(
            oti.transfer_length,
            u32::from(oti.encoding_symbol_length),
            oti.maximum_source_block_length,
        )?
        .nb_blocks()
        .max(1))
    };
    let too_large = |z: u64| SenderError::ObjectTooLarge {
        transfer_length: oti.transfer_length,
        last_sbn: z.saturating_sub(1),
        last_esi: 0,
    };
    match oti.scheme_specific {
        SchemeSpecific::RaptorQ { n, al, .. } => {
            let z = blocks()?;
            oti.scheme_specific = SchemeSpecific::RaptorQ {
                z: u8::try_from(z).map_err(|_| too_large(z))?,
                n,
                al,
            };
        }
        SchemeSpecific::Raptor { n, al, .. } => {
            let z = blocks()?;
            oti.scheme_specific = SchemeSpecific::Raptor {
                z: u16::try_from(z).map_err(|_| too_large(z))?,
                n,
                al,
            };
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oti(id: FecEncodingId, len: u64, b: u32, repair: u32, scheme: SchemeSpecific) -> Oti {
        Oti {
            fec_encoding_id: id,
            fec_instance_id: 0,
            transfer_length: len,
            encoding_symbol_length: 1024,
            maximum_source_block_length: b,
            max_number_of_encoding_symbols: b + repair,
            scheme_specific: scheme,
        }
    }

    #[test]
    fn raptorq_z_is_the_number_of_rfc5052_blocks_and_must_fit_8_bits() {
        let q = SchemeSpecific::RaptorQ { z: 0, n: 1, al: 4 };
        let mut o = oti(FecEncodingId::RaptorQ, 10 * 64 * 1024 + 1, 64, 8, q);
        resolve_source_blocks(&mut o).unwrap();
        assert_eq!(
            o.scheme_specific,
            SchemeSpecific::RaptorQ { z: 11, n: 1, al: 4 }
        );
        let mut big = oti(FecEncodingId::RaptorQ, 256 * 64 * 1024, 64, 8, q);
        assert!(matches!(
            resolve_source_blocks(&mut big),
            Err(SenderError::ObjectTooLarge { .. })
        ));
    }

    #[test]
    fn encoders_refuse_blocks_their_scheme_cannot_code() {
        let q = SchemeSpecific::RaptorQ { z: 1, n: 1, al: 4 };
        let rq = block_encoder_for(&oti(FecEncodingId::RaptorQ, 1, 64, 8, q)).unwrap();
        assert!(rq.check_block_len(56_403).is_ok());
        assert!(matches!(
            rq.check_block_len(56_404),
            Err(SenderError::Fec(
                FecError::UnsupportedSourceBlockLength { .. }
            ))
        ));
        let r = SchemeSpecific::Raptor { z: 1, n: 1, al: 4 };
        let raptor = block_encoder_for(&oti(FecEncodingId::Raptor, 1, 64, 8, r)).unwrap();
        assert!(raptor.check_block_len(3).is_err());
        assert!(raptor.check_block_len(4).is_ok());
        // RS over GF(2^8): n = B + repair must stay within 255.
        let rs = oti(
            FecEncodingId::ReedSolomonGf28,
            1,
            200,
            100,
            SchemeSpecific::None,
        );
        assert!(matches!(
            block_encoder_for(&rs),
            Err(SenderError::Fec(FecError::TooManyEncodingSymbols { .. }))
        ));
        let sub = SchemeSpecific::RaptorQ { z: 1, n: 0, al: 4 };
        assert!(block_encoder_for(&oti(FecEncodingId::RaptorQ, 1, 64, 8, sub)).is_err());
    }

    #[test]
    fn sub_blocked_encoders_expose_their_layout_and_plain_ones_do_not() {
        let q = SchemeSpecific::RaptorQ { z: 1, n: 2, al: 4 };
        let rq = block_encoder_for(&oti(FecEncodingId::RaptorQ, 1, 64, 8, q)).unwrap();
        assert!(rq.sub_block_layout(10).is_some());
        let q1 = SchemeSpecific::RaptorQ { z: 1, n: 1, al: 4 };
        let rq1 = block_encoder_for(&oti(FecEncodingId::RaptorQ, 1, 64, 8, q1)).unwrap();
        assert!(rq1.sub_block_layout(10).is_none());
    }
}
