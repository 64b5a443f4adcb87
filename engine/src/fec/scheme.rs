//! The FEC scheme of one object (RFC 5052 §3), built once from its OTI. The sender and the
//! receiver ask it everything that depends on the FEC Encoding ID: how the object is cut into
//! blocks, which ESIs a block may carry, where a source symbol's bytes lie in its block, the
//! FEC Payload ID layout, the repair symbols sent per block; it makes the object's [`Encoder`]
//! and each block's [`BlockDecoder`].

use super::fountain::{FountainCode, check_k};
use super::rs::{RsBlockDecoder, RsCodes};
use super::{
    BlockPartition, DecodeLimit, FecError, PartitionError, Raptor, RaptorBlockDecoder,
    RaptorEncoder, RaptorQ, RaptorQBlockDecoder, RaptorQEncoder, ReedSolomon, SubBlockLayout,
};
use crate::wire::{FecEncodingId, Oti, PayloadIdFormat, SchemeSpecific};

/// The FEC scheme of one object, its parameters validated: Compact No-Code (RFC 5445 §3, ID 0),
/// Reed-Solomon over GF(2^m) (RFC 5510: IDs 2, 5, and 129 with FEC Instance ID 0), RaptorQ
/// (RFC 6330, ID 6) or Raptor (RFC 5053, ID 1).
#[derive(Debug, Clone)]
pub struct Scheme {
    kind: Kind,
    /// E (T for RaptorQ and Raptor), in bytes.
    symbol_len: u16,
    /// B.
    max_block_len: u32,
    /// max_n.
    max_n: u32,
}

#[derive(Debug, Clone)]
enum Kind {
    NoCode,
    ReedSolomon {
        format: PayloadIdFormat,
        /// The codes of the block lengths seen.
        codes: RsCodes,
        m: u8,
    },
    RaptorQ {
        code: RaptorQ,
        /// Z.
        nb_blocks: u32,
    },
    Raptor {
        code: Raptor,
        /// Z.
        nb_blocks: u32,
    },
}

impl Scheme {
    /// The scheme `oti` announces. Checks what applies to the whole object (m and E, or T, N
    /// and Al); k and n are checked per block, by [`Self::decoder`] and
    /// [`Self::check_block_len`].
    pub fn for_oti(oti: &Oti) -> Result<Self, FecError> {
        let unsupported = || FecError::UnsupportedScheme {
            fec_encoding_id: oti.fec_encoding_id.into(),
            fec_instance_id: oti.fec_instance_id,
        };
        let kind = match (oti.fec_encoding_id, oti.scheme_specific) {
            (FecEncodingId::NoCode, _) => Kind::NoCode,
            (FecEncodingId::RaptorQ, SchemeSpecific::RaptorQ { z, .. }) => Kind::RaptorQ {
                code: RaptorQ::for_oti(oti)?,
                nb_blocks: u32::from(z),
            },
            (FecEncodingId::Raptor, SchemeSpecific::Raptor { z, .. }) => Kind::Raptor {
                code: Raptor::for_oti(oti)?,
                nb_blocks: u32::from(z),
            },
            (FecEncodingId::RaptorQ | FecEncodingId::Raptor, _) => return Err(unsupported()),
            (
                FecEncodingId::ReedSolomonGf2m
                | FecEncodingId::ReedSolomonGf28
                | FecEncodingId::ReedSolomonGf28UnderSpecified,
                _,
            ) => {
                let m = ReedSolomon::field_size_of(oti)?;
                if oti.encoding_symbol_length == 0 {
                    return Err(FecError::ZeroSymbolLength);
                }
                Kind::ReedSolomon {
                    // Every OTI field_size_of accepts has a format.
                    format: PayloadIdFormat::for_oti(oti).map_err(|_| unsupported())?,
                    codes: RsCodes::new(m, usize::from(oti.encoding_symbol_length)),
                    m,
                }
            }
        };
        Ok(Self {
            kind,
            symbol_len: oti.encoding_symbol_length,
            max_block_len: oti.maximum_source_block_length,
            max_n: oti.max_number_of_encoding_symbols,
        })
    }

    /// Sets the Z of a RaptorQ or Raptor OTI to the number of blocks RFC 5052 §9.1 partitioning
    /// with B gives the object (Partition[Kt, Z] then yields the same blocks), as flute derives
    /// it; other OTIs are left as they are.
    pub fn resolve_source_blocks(oti: &mut Oti) -> Result<(), FecError> {
        let (SchemeSpecific::RaptorQ { .. } | SchemeSpecific::Raptor { .. }) = oti.scheme_specific
        else {
            return Ok(());
        };
        let nb_blocks = BlockPartition::rfc5052(
            oti.transfer_length,
            u32::from(oti.encoding_symbol_length),
            oti.maximum_source_block_length,
        )?
        .nb_blocks()
        .max(1);
        let too_many = |max: u64| FecError::TooManySourceBlocks { nb_blocks, max };
        match &mut oti.scheme_specific {
            SchemeSpecific::RaptorQ { z, .. } => {
                *z = u8::try_from(nb_blocks).map_err(|_| too_many(u8::MAX.into()))?;
            }
            SchemeSpecific::Raptor { z, .. } => {
                *z = u16::try_from(nb_blocks).map_err(|_| too_many(u16::MAX.into()))?;
            }
            _ => {}
        }
        Ok(())
    }

    /// The source blocks of an object of `transfer_length` bytes: RFC 6330 §4.4.1.2 / RFC 5053
    /// §5.3.1.2 into the Z blocks the OTI announces for RaptorQ and Raptor, RFC 5052 §9.1 with
    /// B for the other schemes.
    pub fn partition(&self, transfer_length: u64) -> Result<BlockPartition, PartitionError> {
        let symbol_len = u32::from(self.symbol_len);
        match &self.kind {
            Kind::RaptorQ { nb_blocks, .. } | Kind::Raptor { nb_blocks, .. } => {
                BlockPartition::raptor(transfer_length, symbol_len, *nb_blocks)
            }
            Kind::NoCode | Kind::ReedSolomon { .. } => {
                BlockPartition::rfc5052(transfer_length, symbol_len, self.max_block_len)
            }
        }
    }

    /// The layout of the FEC Payload ID.
    pub fn payload_id_format(&self) -> PayloadIdFormat {
        match &self.kind {
            Kind::NoCode => PayloadIdFormat::CompactNoCode,
            Kind::ReedSolomon { format, .. } => *format,
            Kind::RaptorQ { .. } => PayloadIdFormat::RaptorQ,
            Kind::Raptor { .. } => PayloadIdFormat::Raptor,
        }
    }

    /// Whether blocks carry repair symbols (all schemes but no-code).
    pub fn has_repair_symbols(&self) -> bool {
        !matches!(self.kind, Kind::NoCode)
    }

    /// One past the largest ESI a block of `k` source symbols may carry: max_n (at least k) for
    /// Reed-Solomon, the whole ESI space for RaptorQ (2^24) and Raptor (2^16).
    pub fn esi_end(&self, k: u32) -> u32 {
        match &self.kind {
            Kind::NoCode => k,
            Kind::ReedSolomon { .. } => self.max_n.max(k),
            Kind::RaptorQ { .. } => RaptorQ::ESI_END,
            Kind::Raptor { .. } => Raptor::ESI_END,
        }
    }

    /// The repair symbols the sender sends after the source symbols of each block: max_n − B,
    /// as flute does (for Reed-Solomon, n = k + max_n − B).
    pub fn nb_repair_symbols(&self) -> u32 {
        match self.kind {
            Kind::NoCode => 0,
            _ => self.max_n.saturating_sub(self.max_block_len),
        }
    }

    /// Where the bytes of each source symbol of a block of `k` lie, when they are not simply
    /// bytes i·T..(i+1)·T of the block: RaptorQ and Raptor with N > 1 sub-blocks
    /// (RFC 6330 §4.4.1.2, RFC 5053 §5.3.1.2).
    pub fn scattered_layout(&self, k: u32) -> Option<SubBlockLayout> {
        let layout = match &self.kind {
            Kind::RaptorQ { code, .. } => code.layout(k),
            Kind::Raptor { code, .. } => code.layout(k),
            Kind::NoCode | Kind::ReedSolomon { .. } => return None,
        };
        (!layout.is_contiguous()).then_some(layout)
    }

    /// Whether blocks are laid out in sub-blocks (then an object's bytes are only known in
    /// order once it is complete).
    pub fn is_sub_blocked(&self) -> bool {
        self.scattered_layout(1).is_some()
    }

    /// Checks that the sender can code a block of `k` source symbols and its
    /// [`Self::nb_repair_symbols`].
    pub fn check_block_len(&self, k: u32) -> Result<(), FecError> {
        match &self.kind {
            Kind::NoCode => Ok(()),
            Kind::ReedSolomon { m, .. } => {
                let n = k.saturating_add(self.nb_repair_symbols());
                ReedSolomon::new(*m, k, n, usize::from(self.symbol_len)).map(drop)
            }
            Kind::RaptorQ { .. } => check_k::<RaptorQ>(k),
            Kind::Raptor { .. } => check_k::<Raptor>(k),
        }
    }

    /// Checks that the sender can code every block of `partition` (its one or two lengths).
    pub fn check_blocks(&self, partition: &BlockPartition) -> Result<(), FecError> {
        if partition.nb_large_blocks() > 0 {
            self.check_block_len(partition.large_block_len())?;
        }
        if partition.nb_blocks() > partition.nb_large_blocks() {
            self.check_block_len(partition.small_block_len())?;
        }
        Ok(())
    }

    /// The encoder of the object's blocks. Checks, for Reed-Solomon, that a block of B source
    /// symbols and its repair symbols fit the field.
    pub fn encoder(&self) -> Result<Encoder, FecError> {
        Ok(Encoder(match &self.kind {
            Kind::NoCode => EncoderKind::NoCode,
            Kind::ReedSolomon { m, .. } => {
                self.check_block_len(self.max_block_len.max(1))?;
                EncoderKind::ReedSolomon {
                    codes: RsCodes::new(*m, usize::from(self.symbol_len)),
                    nb_repair: self.nb_repair_symbols(),
                }
            }
            Kind::RaptorQ { code, .. } => EncoderKind::RaptorQ(code.encoder()),
            Kind::Raptor { code, .. } => EncoderKind::Raptor(Box::new(code.encoder())),
        }))
    }

    /// A decoder for one block of `k` source symbols (checked against the scheme). No-code has
    /// none: its blocks have no repair symbols.
    pub fn decoder(&mut self, k: u32) -> Result<BlockDecoder, FecError> {
        let n = self.max_n.max(k);
        let codec = match &mut self.kind {
            Kind::NoCode => {
                return Err(FecError::UnsupportedScheme {
                    fec_encoding_id: FecEncodingId::NoCode.into(),
                    fec_instance_id: 0,
                });
            }
            Kind::ReedSolomon { codes, .. } => Codec::ReedSolomon(codes.get(k, n)?.decoder()),
            Kind::RaptorQ { code, .. } => Codec::RaptorQ(Box::new(code.decoder(k)?)),
            Kind::Raptor { code, .. } => Codec::Raptor(Box::new(code.decoder(k)?)),
        };
        Ok(BlockDecoder { codec, k })
    }
}

/// Computes the repair symbols of each source block of one object.
#[derive(Debug, Clone)]
pub struct Encoder(EncoderKind);

#[derive(Debug, Clone)]
enum EncoderKind {
    NoCode,
    ReedSolomon {
        codes: RsCodes,
        nb_repair: u32,
    },
    RaptorQ(RaptorQEncoder),
    /// Boxed: its solver scratch is by far the largest.
    Raptor(Box<RaptorEncoder>),
}

impl Encoder {
    /// Writes the repair symbols ESI k, k + 1, … of a block of `k` source symbols, `source`
    /// (laid out as the scheme says; the object's last symbol may be short, then it counts as
    /// zero-padded), into `repair`, as many whole symbols as it holds.
    pub fn encode(&mut self, k: u32, source: &[u8], repair: &mut [u8]) -> Result<(), FecError> {
        match &mut self.0 {
            EncoderKind::NoCode => Ok(()),
            EncoderKind::ReedSolomon { codes, nb_repair } => codes
                .get(k, k.saturating_add(*nb_repair))?
                .encode(source, repair),
            EncoderKind::RaptorQ(encoder) => encoder.encode(k, source, repair),
            EncoderKind::Raptor(encoder) => encoder.encode(k, source, repair),
        }
    }
}

/// The decoding state of one source block, whatever the scheme. The caller writes each source
/// symbol to its place in the block's destination and reports it; repair symbols are kept here
/// until [`Self::decode`] writes the missing source symbols into the destination.
#[derive(Debug)]
pub struct BlockDecoder {
    codec: Codec,
    k: u32,
}

#[derive(Debug)]
enum Codec {
    ReedSolomon(RsBlockDecoder),
    RaptorQ(Box<RaptorQBlockDecoder>),
    Raptor(Box<RaptorBlockDecoder>),
}

/// `$body` with `$d` bound to the block decoder, whichever the scheme.
macro_rules! each_codec {
    ($codec:expr, $d:ident => $body:expr) => {
        match $codec {
            Codec::ReedSolomon($d) => $body,
            Codec::RaptorQ($d) => $body,
            Codec::Raptor($d) => $body,
        }
    };
}

impl BlockDecoder {
    /// k.
    pub fn nb_source_symbols(&self) -> u32 {
        self.k
    }

    /// Bytes of scratch this decoder may hold: for Reed-Solomon the min(k, n − k) repair
    /// symbols it keeps; for RaptorQ and Raptor k + 32 symbols, the repair symbols it keeps and
    /// as much matrix scratch for a decode attempt.
    pub fn scratch_bytes(&self) -> u64 {
        each_codec!(&self.codec, d => d.max_scratch_bytes())
    }

    /// Bytes this decoder holds from the start, which a receiver charges when it makes it:
    /// Reed-Solomon's whole scratch; RaptorQ and Raptor nothing, as they hold up to K + 32
    /// repair symbols, which a receiver charges as they are kept ([`Self::held_per_repair`]).
    pub fn held_at_start(&self) -> u64 {
        match &self.codec {
            Codec::ReedSolomon(d) => d.max_scratch_bytes(),
            Codec::RaptorQ(_) | Codec::Raptor(_) => 0,
        }
    }

    /// Bytes each repair symbol kept adds to what the decoder holds beyond
    /// [`Self::held_at_start`].
    pub fn held_per_repair(&self) -> u64 {
        match &self.codec {
            Codec::ReedSolomon(_) => 0,
            Codec::RaptorQ(d) => d.symbol_len() as u64,
            Codec::Raptor(d) => d.symbol_len() as u64,
        }
    }

    /// Source symbol `esi` is in the destination (contiguous layouts: at bytes esi·E..; with
    /// sub-blocks, scattered by the caller). Returns whether it is new.
    pub fn source_received(&mut self, esi: u32) -> Result<bool, FecError> {
        each_codec!(&mut self.codec, d => d.source_received(esi))
    }

    /// Keeps repair symbol `esi`; whether it was new and kept (RaptorQ and Raptor keep at most
    /// k + 32, Reed-Solomon no more than a decode uses).
    pub fn push_repair(&mut self, esi: u32, symbol: &[u8]) -> Result<bool, FecError> {
        each_codec!(&mut self.codec, d => d.push_repair(esi, symbol))
    }

    /// Source symbols of the block not in the destination: what a decode recovers.
    pub fn missing_source(&self) -> u32 {
        match &self.codec {
            Codec::ReedSolomon(d) => d.missing_source_esis().count() as u32,
            Codec::RaptorQ(d) => self.k.saturating_sub(d.nb_source_received()),
            Codec::Raptor(d) => self.k.saturating_sub(d.nb_source_received()),
        }
    }

    /// Distinct symbols of the block known, source and repair.
    pub fn nb_received(&self) -> u32 {
        each_codec!(&self.codec, d => d.nb_received())
    }

    /// At least k distinct symbols are known: Reed-Solomon (MDS) then decodes, RaptorQ and
    /// Raptor almost always.
    pub fn is_decodable(&self) -> bool {
        each_codec!(&self.codec, d => d.is_decodable())
    }

    /// What decoding the block now would cost, in symbol bytes combined, when it can be told
    /// before the work (Reed-Solomon); 0 for RaptorQ and Raptor, whose solver checks the limit
    /// given to [`Self::decode`] as it goes.
    pub fn decode_cost(&self) -> u64 {
        match &self.codec {
            Codec::ReedSolomon(d) => d.decode_cost(),
            Codec::RaptorQ(_) | Codec::Raptor(_) => 0,
        }
    }

    /// Writes the missing source symbols into `block`, the block's destination (which may end
    /// inside its last symbol). `Ok(false)`: the symbols known do not determine the block yet
    /// (RaptorQ and Raptor are not MDS); more are needed. RaptorQ and Raptor give up with
    /// [`FecError::DecodeCostLimit`] on an attempt that would cost more than `max_work` or
    /// allocate more than [`Self::scratch_bytes`]; Reed-Solomon is checked before, by
    /// [`Self::decode_cost`].
    pub fn decode(&mut self, block: &mut [u8], max_work: u64) -> Result<bool, FecError> {
        let limit = DecodeLimit {
            work: max_work,
            scratch: self.scratch_bytes(),
        };
        match &mut self.codec {
            Codec::ReedSolomon(d) => d.decode(block).map(|()| true),
            Codec::RaptorQ(d) => {
                d.set_limit(limit);
                d.decode(block)
            }
            Codec::Raptor(d) => {
                d.set_limit(limit);
                d.decode(block)
            }
        }
    }

    /// What the last [`Self::decode`] cost, as [`DecodeLimit::work`] counts it (RaptorQ and
    /// Raptor; 0 for Reed-Solomon).
    pub fn last_work(&self) -> u64 {
        match &self.codec {
            Codec::ReedSolomon(_) => 0,
            Codec::RaptorQ(d) => d.last_work(),
            Codec::Raptor(d) => d.last_work(),
        }
    }
}

#[cfg(test)]
mod tests;
