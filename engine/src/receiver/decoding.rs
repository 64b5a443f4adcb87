//! The FEC code of an object being received and the decoder of each of its blocks, one
//! interface over Reed-Solomon (RFC 5510: IDs 2, 5 and 129 with FEC Instance ID 0), RaptorQ
//! (RFC 6330, ID 6) and Raptor (RFC 5053, ID 1).
//!
//! Every parameter comes from the network: [`Code::for_oti`] validates the scheme's (m, T, N,
//! Al) once per object, and [`Code::decoder`] validates k and n per block, before any codec sees
//! them. A decoder's scratch (the repair symbols it keeps, and for RaptorQ and Raptor the copies
//! of the source symbols their crates need) is bounded by what [`BlockDecoder::charged`] says,
//! which the receiver charges to its budget while the block is being decoded.

use crate::fec::{
    DecodeLimit, FecError, Raptor, RaptorBlockDecoder, RaptorQ, RaptorQBlockDecoder, ReedSolomon,
    RsBlockDecoder, SubBlockLayout,
};
use crate::wire::{FecEncodingId, Oti};

/// ESIs are 24 bits for RaptorQ (RFC 6330 §3.2) and 16 bits for Raptor (RFC 5053 §3.2).
const RAPTORQ_ESI_END: u32 = 1 << 24;
const RAPTOR_ESI_END: u32 = 1 << 16;

/// Repair symbols a RaptorQ or Raptor block keeps beyond k: these codes are not MDS, and a
/// block whose source symbols were all lost needs a few more than k (with Raptor about
/// 0.85 · 0.567^A of the sets of k + A symbols fail).
const SPARE_REPAIR: u32 = 32;

/// Reed-Solomon codes kept per object: its blocks have at most two lengths (RFC 5052 §9.1).
const RS_CODES_KEPT: usize = 2;

/// The FEC code of one object, its scheme-wide parameters validated.
#[derive(Debug, Clone)]
pub(crate) enum Code {
    /// Reed-Solomon: the code of a block depends on its k; n is bounded by the OTI's max_n.
    ReedSolomon {
        oti: Oti,
        max_n: u32,
        /// The codes of the block lengths seen, so that their per-code tables are computed
        /// once per object rather than once per block.
        codes: Vec<ReedSolomon>,
    },
    RaptorQ(RaptorQ),
    Raptor(Raptor),
}

impl Code {
    /// The code `oti` announces; `Ok(None)` for no-code.
    pub(super) fn for_oti(oti: &Oti) -> Result<Option<Self>, FecError> {
        Ok(Some(match oti.fec_encoding_id {
            FecEncodingId::NoCode => return Ok(None),
            FecEncodingId::ReedSolomonGf2m
            | FecEncodingId::ReedSolomonGf28
            | FecEncodingId::ReedSolomonGf28UnderSpecified => {
                ReedSolomon::field_size_of(oti)?;
                if oti.encoding_symbol_length == 0 {
                    return Err(FecError::ZeroSymbolLength);
                }
                Self::ReedSolomon {
                    oti: *oti,
                    max_n: oti.max_number_of_encoding_symbols,
                    codes: Vec::new(),
                }
            }
            FecEncodingId::RaptorQ => Self::RaptorQ(RaptorQ::for_oti(oti)?),
            FecEncodingId::Raptor => Self::Raptor(Raptor::for_oti(oti)?),
        }))
    }

    /// One past the largest ESI a block of `k` source symbols may carry.
    pub(super) fn esi_end(&self, k: u32) -> u32 {
        match self {
            Self::ReedSolomon { max_n, .. } => (*max_n).max(k),
            Self::RaptorQ(_) => RAPTORQ_ESI_END,
            Self::Raptor(_) => RAPTOR_ESI_END,
        }
    }

    /// Where the source symbols of a block of `k` go when they are not simply one after the
    /// other (RaptorQ and Raptor with N > 1 sub-blocks); `None` when they are.
    pub(super) fn scattered_layout(&self, k: u32) -> Option<SubBlockLayout> {
        let layout = match self {
            Self::ReedSolomon { .. } => return None,
            Self::RaptorQ(code) => code.layout(k),
            Self::Raptor(code) => code.layout(k),
        };
        (!layout.is_contiguous()).then_some(layout)
    }

    /// Whether some blocks of this code are laid out in sub-blocks (then the object's bytes
    /// are only known in order once it is complete).
    pub(super) fn is_sub_blocked(&self) -> bool {
        self.scattered_layout(1).is_some()
    }

    /// A decoder for a block of `k` source symbols.
    pub(super) fn decoder(&mut self, k: u32) -> Result<BlockDecoder, FecError> {
        let (inner, charged) = match self {
            Self::ReedSolomon { oti, max_n, codes } => {
                let code = match codes.iter().find(|c| c.nb_source_symbols() == k) {
                    Some(code) => code.clone(),
                    None => {
                        let code = ReedSolomon::for_oti(oti, k, (*max_n).max(k))?;
                        if codes.len() >= RS_CODES_KEPT {
                            codes.remove(0);
                        }
                        codes.push(code.clone());
                        code
                    }
                };
                let charged = u64::from(code.nb_source_symbols().min(code.nb_repair_symbols()))
                    * code.symbol_len() as u64;
                (Inner::ReedSolomon(code.decoder()), charged)
            }
            Self::RaptorQ(code) => {
                let decoder = code.decoder(k)?;
                (
                    Inner::RaptorQ(decoder),
                    u64::from(k + SPARE_REPAIR) * code.symbol_len() as u64,
                )
            }
            Self::Raptor(code) => {
                let decoder = code.decoder(k)?;
                (
                    Inner::Raptor(Box::new(decoder)),
                    u64::from(k + SPARE_REPAIR) * code.symbol_len() as u64,
                )
            }
        };
        Ok(BlockDecoder {
            inner,
            charged,
            k,
            nb_repair: 0,
            next_attempt: k,
            spent: 0,
        })
    }
}

#[derive(Debug)]
enum Inner {
    ReedSolomon(RsBlockDecoder),
    RaptorQ(RaptorQBlockDecoder),
    /// Boxed: by far the largest, and blocks are decoded one by one.
    Raptor(Box<RaptorBlockDecoder>),
}

/// The decoding state of one block: which source symbols are in the destination, and the
/// repair symbols kept.
#[derive(Debug)]
pub(crate) struct BlockDecoder {
    inner: Inner,
    charged: u64,
    k: u32,
    /// Repair symbols kept (RaptorQ and Raptor keep at most k + SPARE_REPAIR).
    nb_repair: u32,
    /// Symbols known at which the next decode is tried (RaptorQ and Raptor, after a failure).
    next_attempt: u32,
    /// What the failed attempts so far cost, as `Limits::max_decode_cost` counts it.
    spent: u64,
}

impl BlockDecoder {
    /// Bytes this decoder may hold: RS min(k, n − k) repair symbols; RaptorQ and Raptor
    /// k + SPARE_REPAIR symbols (the repair kept, and the source copies the RaptorQ crate takes
    /// when it is tried).
    pub(super) fn charged(&self) -> u64 {
        self.charged
    }

    /// Source symbol `esi` is in the destination.
    pub(super) fn source_received(&mut self, esi: u32) -> Result<(), FecError> {
        match &mut self.inner {
            Inner::ReedSolomon(d) => d.source_received(esi)?,
            Inner::RaptorQ(d) => d.source_received(esi)?,
            Inner::Raptor(d) => d.source_received(esi)?,
        };
        Ok(())
    }

    /// Keeps repair symbol `esi`; whether it was new and kept.
    pub(super) fn push_repair(&mut self, esi: u32, symbol: &[u8]) -> Result<bool, FecError> {
        let kept = match &mut self.inner {
            Inner::ReedSolomon(d) => return d.push_repair(esi, symbol),
            _ if self.nb_repair >= self.k.saturating_add(SPARE_REPAIR) => return Ok(false),
            Inner::RaptorQ(d) => d.push_repair(esi, symbol)?,
            Inner::Raptor(d) => d.push_repair(esi, symbol)?,
        };
        if kept {
            self.nb_repair += 1;
        }
        Ok(kept)
    }

    /// Source symbols of the block not in the destination: what a decode recovers from repair
    /// symbols.
    pub(super) fn missing_source(&self) -> u32 {
        match &self.inner {
            Inner::ReedSolomon(d) => d.missing_source_esis().count() as u32,
            Inner::RaptorQ(d) => self.k.saturating_sub(d.nb_source_received()),
            Inner::Raptor(d) => self.k.saturating_sub(d.nb_source_received()),
        }
    }

    /// Distinct symbols of the block known, source and repair: what a repair by unicast
    /// counts on before it asks for more.
    pub(super) fn nb_known(&self) -> u32 {
        match &self.inner {
            Inner::ReedSolomon(d) => d.nb_received(),
            Inner::RaptorQ(d) => d.nb_received(),
            Inner::Raptor(d) => d.nb_received(),
        }
    }

    /// At least k distinct symbols are known.
    fn is_decodable(&self) -> bool {
        match &self.inner {
            Inner::ReedSolomon(d) => d.is_decodable(),
            Inner::RaptorQ(d) => d.is_decodable(),
            Inner::Raptor(d) => d.is_decodable(),
        }
    }

    /// Whether a decode should be tried now: at least k symbols are known and, after a failed
    /// attempt (RaptorQ and Raptor are not MDS), a new symbol has come. Once the failed
    /// attempts together have cost more than the limit, the known symbols beyond k must also
    /// have doubled: attempts then come at k + 1, k + 3, k + 7, …, so a block costs at most
    /// the limit plus 2 + log2(k + 1) attempts of at most the limit each (the symbols known
    /// are at most 2k + 32), while a cheap block is tried at every symbol.
    pub(super) fn is_due(&self) -> bool {
        self.is_decodable() && self.nb_known() >= self.next_attempt
    }

    /// What decoding the block now would cost, in symbol bytes combined (see
    /// `Limits::max_decode_cost`): for Reed-Solomon, each of the e missing source symbols is a
    /// combination of k symbols of E bytes (e·k·E), after per-code tables of k·n field
    /// elements (counted as 2·k·n). RaptorQ and Raptor (0 here) are checked by their solver as
    /// it goes, once peeling has shown what the dense phase will cost (see [`Self::decode`]).
    pub(super) fn decode_cost(&self) -> u64 {
        match &self.inner {
            Inner::ReedSolomon(d) => {
                let code = d.code();
                let (k, n) = (
                    u64::from(code.nb_source_symbols()),
                    u64::from(code.nb_encoding_symbols()),
                );
                let missing = d.missing_source_esis().count() as u64;
                missing
                    .saturating_mul(k)
                    .saturating_mul(code.symbol_len() as u64)
                    .saturating_add(k.saturating_mul(n).saturating_mul(2))
            }
            Inner::RaptorQ(_) | Inner::Raptor(_) => 0,
        }
    }

    /// Writes the missing source symbols into `block`. `Ok(false)`: the symbols known do not
    /// determine the block yet (RaptorQ and Raptor are not MDS); more are needed.
    /// RaptorQ and Raptor give up with `FecError::DecodeCostLimit` on an attempt that would
    /// cost more than `max_cost` (as [`Self::decode_cost`] counts) or allocate more matrix
    /// scratch than the block is charged for; Reed-Solomon is checked before, by its cost.
    pub(super) fn decode(&mut self, block: &mut [u8], max_cost: u64) -> Result<bool, FecError> {
        let limit = DecodeLimit {
            work: max_cost,
            scratch: self.charged,
        };
        let decoded = match &mut self.inner {
            Inner::ReedSolomon(d) => return d.decode(block).map(|()| true),
            Inner::RaptorQ(d) => {
                d.set_limit(limit);
                d.decode(block)
            }
            Inner::Raptor(d) => {
                d.set_limit(limit);
                d.decode(block)
            }
        };
        let work = match &self.inner {
            Inner::ReedSolomon(_) => 0,
            Inner::RaptorQ(d) => d.last_work(),
            Inner::Raptor(d) => d.last_work(),
        };
        if let Ok(false) = decoded {
            self.spent = self.spent.saturating_add(work);
            let known = self.nb_known();
            self.next_attempt = if self.spent <= max_cost {
                known.saturating_add(1)
            } else {
                let beyond = known.saturating_sub(self.k);
                self.k
                    .saturating_add(beyond.saturating_mul(2))
                    .saturating_add(1)
            };
        }
        decoded
    }
}
