//! One FDT instance (TOI 0) reassembled by `inspect` from the packets of a capture, with the
//! engine's own FEC block decoders (`xflute::fec`: Reed-Solomon, RaptorQ, Raptor, the ones the
//! receiver uses), so that an FDT sent with repair symbols, or with lost source symbols that
//! repair symbols make up for, can be shown.

use xflute::cenc::Cenc;
use xflute::fec::{
    BlockPartition, FecError, Raptor, RaptorBlockDecoder, RaptorQ, RaptorQBlockDecoder,
    ReedSolomon, RsBlockDecoder,
};
use xflute::wire::{FecEncodingId, Oti, SchemeSpecific};

/// The decoder of one source block.
enum Decoder {
    /// No-code: only source symbols.
    None,
    Rs(RsBlockDecoder),
    RaptorQ(RaptorQBlockDecoder),
    Raptor(Box<RaptorBlockDecoder>),
}

struct Block {
    decoder: Decoder,
    /// Source symbols in place.
    have: Vec<bool>,
    complete: bool,
}

/// An FDT instance being reassembled.
pub struct FdtAssembly {
    partition: BlockPartition,
    symbol_len: usize,
    data: Vec<u8>,
    blocks: Vec<Block>,
    /// Content encoding of the instance (EXT_CENC).
    pub cenc: Cenc,
    done: bool,
}

impl FdtAssembly {
    /// An instance described by `oti` (its EXT_FTI), at most `max_bytes` long.
    pub fn new(oti: &Oti, cenc: Cenc, max_bytes: u64) -> Result<Self, String> {
        if oti.transfer_length > max_bytes {
            return Err(format!(
                "{} bytes, over the {max_bytes}-byte cap",
                oti.transfer_length
            ));
        }
        let symbol_len = u32::from(oti.encoding_symbol_length);
        let partition = match oti.scheme_specific {
            SchemeSpecific::Raptor { z, .. } => {
                BlockPartition::raptor(oti.transfer_length, symbol_len, u32::from(z))
            }
            SchemeSpecific::RaptorQ { z, .. } => {
                BlockPartition::raptor(oti.transfer_length, symbol_len, u32::from(z))
            }
            _ => BlockPartition::rfc5052(
                oti.transfer_length,
                symbol_len,
                oti.maximum_source_block_length,
            ),
        }
        .map_err(|e| e.to_string())?;
        let mut blocks = Vec::new();
        for sbn in 0..partition.nb_blocks() {
            let k = partition
                .block_len_symbols(sbn)
                .ok_or("a block outside the partition")?;
            let decoder = match oti.fec_encoding_id {
                FecEncodingId::NoCode => Decoder::None,
                FecEncodingId::ReedSolomonGf2m
                | FecEncodingId::ReedSolomonGf28
                | FecEncodingId::ReedSolomonGf28UnderSpecified => {
                    let n = oti.max_number_of_encoding_symbols.max(k);
                    Decoder::Rs(ReedSolomon::for_oti(oti, k, n).map_err(fec)?.decoder())
                }
                FecEncodingId::RaptorQ => {
                    let sbn = u8::try_from(sbn).map_err(|_| "RaptorQ SBN over 255")?;
                    Decoder::RaptorQ(
                        RaptorQ::for_oti(oti)
                            .map_err(fec)?
                            .decoder(sbn, k)
                            .map_err(fec)?,
                    )
                }
                FecEncodingId::Raptor => Decoder::Raptor(Box::new(
                    Raptor::for_oti(oti).map_err(fec)?.decoder(k).map_err(fec)?,
                )),
            };
            blocks.push(Block {
                decoder,
                have: vec![false; k as usize],
                complete: false,
            });
        }
        let len = usize::try_from(oti.transfer_length).map_err(|e| e.to_string())?;
        Ok(Self {
            partition,
            symbol_len: symbol_len as usize,
            data: vec![0; len],
            done: blocks.is_empty(),
            blocks,
            cenc,
        })
    }

    /// The instance's bytes (whole once [`Self::push`] has returned `true`).
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Takes one encoding symbol (source or repair); returns whether the instance is now whole.
    pub fn push(&mut self, sbn: u32, esi: u32, payload: &[u8]) -> Result<bool, String> {
        if self.done {
            return Ok(true);
        }
        let sbn64 = u64::from(sbn);
        let (Some(offset), Some(len)) = (
            self.partition.block_offset_bytes(sbn64),
            self.partition.block_len_bytes(sbn64),
        ) else {
            return Err(format!("SBN {sbn} is not a block of the instance"));
        };
        let range = offset as usize..(offset + len) as usize;
        let symbol_len = self.symbol_len;
        let (Some(block), Some(dst)) =
            (self.blocks.get_mut(sbn as usize), self.data.get_mut(range))
        else {
            return Err(format!("SBN {sbn} is not a block of the instance"));
        };
        if block.complete {
            return Ok(false);
        }
        let is_source = (esi as usize) < block.have.len();
        if is_source {
            if block.have.get(esi as usize) == Some(&true) {
                return Ok(false);
            }
            let symbol = payload
                .get(..symbol_len.min(payload.len()))
                .unwrap_or(payload);
            match &mut block.decoder {
                Decoder::None | Decoder::Rs(_) => {
                    let at = esi as usize * symbol_len;
                    let n = symbol.len().min(dst.len().saturating_sub(at));
                    if let (Some(to), Some(from)) = (dst.get_mut(at..at + n), symbol.get(..n)) {
                        to.copy_from_slice(from);
                    }
                    if let Decoder::Rs(d) = &mut block.decoder {
                        d.source_received(esi).map_err(fec)?;
                    }
                }
                Decoder::RaptorQ(d) => {
                    d.write_source_symbol(dst, esi, symbol).map_err(fec)?;
                }
                Decoder::Raptor(d) => {
                    d.write_source_symbol(dst, esi, symbol).map_err(fec)?;
                }
            }
            if let Some(h) = block.have.get_mut(esi as usize) {
                *h = true;
            }
            if block.have.iter().all(|h| *h) {
                block.complete = true;
            }
        } else {
            let decodable = match &mut block.decoder {
                Decoder::None => return Ok(false),
                Decoder::Rs(d) => {
                    d.push_repair(esi, payload).map_err(fec)?;
                    d.is_decodable()
                }
                Decoder::RaptorQ(d) => {
                    d.push_repair(esi, payload).map_err(fec)?;
                    d.is_decodable()
                }
                Decoder::Raptor(d) => {
                    d.push_repair(esi, payload).map_err(fec)?;
                    d.is_decodable()
                }
            };
            if decodable {
                block.complete = match &mut block.decoder {
                    Decoder::None => false,
                    Decoder::Rs(d) => d.decode(dst).map(|()| true).map_err(fec)?,
                    Decoder::RaptorQ(d) => d.decode(dst).map_err(fec)?,
                    Decoder::Raptor(d) => d.decode(dst).map_err(fec)?,
                };
            }
        }
        // A source symbol can also make a block decodable when repair symbols came first.
        if !block.complete {
            let decoded = match &mut block.decoder {
                Decoder::Rs(d) if d.is_decodable() => d.decode(dst).map(|()| true).map_err(fec)?,
                Decoder::RaptorQ(d) if d.is_decodable() => d.decode(dst).map_err(fec)?,
                Decoder::Raptor(d) if d.is_decodable() => d.decode(dst).map_err(fec)?,
                _ => false,
            };
            block.complete = decoded;
        }
        self.done = self.blocks.iter().all(|b| b.complete);
        Ok(self.done)
    }
}

fn fec(e: FecError) -> String {
    e.to_string()
}
