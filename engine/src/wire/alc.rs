//! An ALC packet (RFC 5775 §4): LCT header with its extensions, then the FEC Payload ID, then
//! the encoding symbol(s). A packet that ends with its LCT header is data-less (RFC 5775 §4.1,
//! e.g. a close-session packet) and has no FEC Payload ID.
//!
//! FLUTE puts the FEC Encoding ID in the LCT codepoint (RFC 3926 §5.1; flute does so under both
//! profiles), so the Payload ID format comes from the codepoint, refined by EXT_FTI (or the FDT's
//! OTI) for Reed-Solomon GF(2^m), whose SBN/ESI split depends on m.
//!
//! Parsing reads the packet in place and does not allocate.

use super::WireError;
use super::bytes::slice_mut;
use super::ext::{ExtCenc, ExtFdt, ExtRepr, ExtTime, ExtensionIter, emit_extensions, het};
use super::lct::{HDR_LEN_MAX_BYTES, LctPacket, LctRepr};
use super::oti::{FecEncodingId, Oti};
use super::payload_id::{PayloadId, PayloadIdFormat};

/// A parsed ALC packet borrowing its buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlcPacket<'a> {
    lct: LctRepr,
    header_len: usize,
    header_extensions: &'a [u8],
    after_header: &'a [u8],
    fdt: Option<ExtFdt>,
    cenc: Option<ExtCenc>,
    time: Option<ExtTime>,
    fti: Option<Oti>,
    payload_id: Option<PayloadId>,
    payload_id_len: usize,
}

impl<'a> AlcPacket<'a> {
    /// Parses the LCT header, walks and decodes its extensions (the first of each known type
    /// wins, as in flute), and decodes the FEC Payload ID when the packet alone says how: always,
    /// except for ID 2 without EXT_FTI (then see [`AlcPacket::parse_with_oti`]).
    pub fn parse(buf: &'a [u8]) -> Result<Self, WireError> {
        let view = LctPacket::new_checked(buf)?;
        let lct = LctRepr::parse(&view)?;
        let header_len = view.hdr_len_bytes();
        let header_extensions = buf
            .get(view.fixed_len_bytes()..header_len)
            .unwrap_or_default();
        let after_header = buf.get(header_len..).unwrap_or_default();
        let mut packet = Self {
            lct,
            header_len,
            header_extensions,
            after_header,
            fdt: None,
            cenc: None,
            time: None,
            fti: None,
            payload_id: None,
            payload_id_len: 0,
        };
        for raw in ExtensionIter::new(header_extensions) {
            let raw = raw?;
            match raw.het {
                het::EXT_FDT if packet.fdt.is_none() => packet.fdt = Some(ExtFdt::parse(raw.raw)?),
                het::EXT_CENC if packet.cenc.is_none() => {
                    packet.cenc = Some(ExtCenc::parse(raw.raw)?);
                }
                het::EXT_TIME if packet.time.is_none() => {
                    packet.time = Some(ExtTime::parse(raw.raw)?);
                }
                het::EXT_FTI if packet.fti.is_none() => {
                    let id = FecEncodingId::try_from(lct.codepoint)?;
                    packet.fti = Some(Oti::parse_ext_fti(id, raw.raw)?);
                }
                _ => {}
            }
        }
        if packet.is_data_less() {
            return Ok(packet);
        }
        let format = match packet.fti {
            Some(ref oti) => PayloadIdFormat::for_oti(oti)?,
            None => match PayloadIdFormat::for_fec_encoding_id(packet.fec_encoding_id()?) {
                Ok(format) => format,
                Err(WireError::PayloadIdNeedsOti) => return Ok(packet),
                Err(e) => return Err(e),
            },
        };
        packet.set_payload_id(format)?;
        Ok(packet)
    }

    /// Like [`AlcPacket::parse`], with the object's OTI from the FDT for packets that carry no
    /// EXT_FTI. An in-band EXT_FTI still takes precedence.
    pub fn parse_with_oti(buf: &'a [u8], oti: &Oti) -> Result<Self, WireError> {
        Self::parse(buf)?.with_oti(oti)
    }

    /// This packet with its FEC Payload ID read under the object's `oti`, for a packet whose
    /// payload ID the packet alone does not define (ID 2 without EXT_FTI: its layout depends on
    /// m). Only the payload ID is read: the header was checked once, by [`AlcPacket::parse`].
    pub fn with_oti(mut self, oti: &Oti) -> Result<Self, WireError> {
        if self.payload_id.is_none() && !self.is_data_less() {
            self.set_payload_id(PayloadIdFormat::for_oti(oti)?)?;
        }
        Ok(self)
    }

    fn set_payload_id(&mut self, format: PayloadIdFormat) -> Result<(), WireError> {
        let id = PayloadId::parse(format, self.after_header).map_err(|e| match e {
            WireError::Truncated { needed, got } => WireError::Truncated {
                needed: needed + self.header_len,
                got: got + self.header_len,
            },
            other => other,
        })?;
        self.payload_id = Some(id);
        self.payload_id_len = format.buffer_len();
        Ok(())
    }

    /// The LCT header fields.
    pub fn lct(&self) -> &LctRepr {
        &self.lct
    }

    /// HDR_LEN in bytes: where the FEC Payload ID starts.
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// The packet ends with its LCT header (RFC 5775 §4.1).
    pub fn is_data_less(&self) -> bool {
        self.after_header.is_empty()
    }

    /// The FEC Encoding ID, read from the codepoint.
    pub fn fec_encoding_id(&self) -> Result<FecEncodingId, WireError> {
        FecEncodingId::try_from(self.lct.codepoint)
    }

    /// All header extensions, raw, in order.
    pub fn extensions(&self) -> ExtensionIter<'a> {
        ExtensionIter::new(self.header_extensions)
    }

    /// All header extensions, decoded, in order (for re-emitting the packet).
    pub fn extension_reprs(&self) -> impl Iterator<Item = Result<ExtRepr<'a>, WireError>> + 'a {
        let codepoint = self.lct.codepoint;
        self.extensions()
            .map(move |raw| raw.and_then(|raw| ExtRepr::parse(&raw, codepoint)))
    }

    /// EXT_FDT, if present.
    pub fn ext_fdt(&self) -> Option<ExtFdt> {
        self.fdt
    }

    /// EXT_CENC, if present.
    pub fn ext_cenc(&self) -> Option<ExtCenc> {
        self.cenc
    }

    /// EXT_TIME, if present.
    pub fn ext_time(&self) -> Option<ExtTime> {
        self.time
    }

    /// The OTI from EXT_FTI, if present.
    pub fn fti(&self) -> Option<Oti> {
        self.fti
    }

    /// The FEC Payload ID, if decoded (see [`AlcPacket::parse`]).
    pub fn payload_id(&self) -> Option<PayloadId> {
        self.payload_id
    }

    /// The encoding symbol(s) after the FEC Payload ID; empty if the payload ID is not decoded.
    pub fn payload(&self) -> &'a [u8] {
        match self.payload_id {
            Some(_) => self
                .after_header
                .get(self.payload_id_len..)
                .unwrap_or_default(),
            None => &[],
        }
    }

    /// Everything after the LCT header: FEC Payload ID and symbols.
    pub fn after_header(&self) -> &'a [u8] {
        self.after_header
    }
}

/// What to write in front of the encoding symbol(s) of an ALC packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlcRepr<'a> {
    /// The LCT header (HDR_LEN is computed).
    pub lct: LctRepr,
    /// Header extensions, written in this order.
    pub extensions: &'a [ExtRepr<'a>],
    /// The FEC Payload ID; `None` for a data-less packet.
    pub payload_id: Option<(PayloadIdFormat, PayloadId)>,
}

impl AlcRepr<'_> {
    /// Length of everything [`AlcRepr::emit`] writes, in bytes.
    pub fn buffer_len(&self) -> usize {
        self.lct.buffer_len()
            + self
                .extensions
                .iter()
                .map(ExtRepr::buffer_len)
                .sum::<usize>()
            + self.payload_id.map_or(0, |(format, _)| format.buffer_len())
    }

    /// Writes the LCT header, its extensions and the FEC Payload ID into `buf`, and returns
    /// their length: the caller copies the encoding symbol right after.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let needed = self.buffer_len();
        if buf.len() < needed {
            return Err(WireError::BufferTooSmall {
                needed,
                got: buf.len(),
            });
        }
        let fixed = self.lct.emit(buf)?;
        let ext_len = emit_extensions(self.extensions, buf.get_mut(fixed..).unwrap_or_default())?;
        let header_len = fixed + ext_len;
        if header_len > HDR_LEN_MAX_BYTES {
            return Err(WireError::FieldOverflow {
                field: "HDR_LEN",
                value: (header_len / 4) as u128,
                bits: 8,
            });
        }
        LctPacket::new_unchecked(&mut *buf).set_hdr_len_bytes(header_len)?;
        let pid_len = match self.payload_id {
            Some((format, id)) => id.emit(format, slice_mut(buf, header_len..needed)?)?,
            None => 0,
        };
        Ok(header_len + pid_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ext::tests::ext_time;
    use crate::wire::lct::tests::lct_repr;
    use crate::wire::oti::SchemeSpecific;
    use proptest::prelude::*;

    /// An OTI and a payload ID that fits its format.
    fn oti_and_payload_id() -> impl Strategy<Value = (Oti, PayloadId)> {
        (
            crate::wire::fti::tests::oti(),
            any::<u32>(),
            any::<u32>(),
            any::<u16>(),
        )
            .prop_map(|(oti, sbn, esi, sbl)| {
                let format = PayloadIdFormat::for_oti(&oti).unwrap();
                let (sbn_bits, esi_bits) = match format {
                    PayloadIdFormat::CompactNoCode | PayloadIdFormat::Raptor => (16, 16),
                    PayloadIdFormat::ReedSolomonGf2m { m } => (32 - u32::from(m), u32::from(m)),
                    PayloadIdFormat::ReedSolomonGf28 => (24, 8),
                    PayloadIdFormat::RaptorQ => (8, 24),
                    PayloadIdFormat::SmallBlockSystematic => (32, 16),
                };
                let mask = |bits: u32| u32::MAX.checked_shr(32 - bits).unwrap_or(0);
                let id = PayloadId {
                    sbn: sbn & mask(sbn_bits),
                    esi: esi & mask(esi_bits),
                    source_block_length: (format == PayloadIdFormat::SmallBlockSystematic)
                        .then_some(sbl.into()),
                };
                (oti, id)
            })
    }

    proptest! {
        #[test]
        fn whole_alc_packet_round_trips(
            mut lct in lct_repr(),
            (oti, id) in oti_and_payload_id(),
            time in prop::option::of(ext_time()),
            fdt_id in prop::option::of(0u32..(1 << 20)),
            cenc in prop::option::of(any::<u8>()),
            symbol in prop::collection::vec(any::<u8>(), 1..64),
        ) {
            lct.codepoint = oti.fec_encoding_id.into();
            let mut exts = Vec::new();
            if let Some(id) = fdt_id {
                exts.push(ExtRepr::Fdt(ExtFdt { flute_version: 2, fdt_instance_id: id }));
            }
            if let Some(c) = cenc {
                exts.push(ExtRepr::Cenc(ExtCenc { content_encoding: c }));
            }
            if let Some(t) = time {
                exts.push(ExtRepr::Time(t));
            }
            exts.push(ExtRepr::Fti(oti));
            let format = PayloadIdFormat::for_oti(&oti).unwrap();
            let repr = AlcRepr { lct, extensions: &exts, payload_id: Some((format, id)) };
            let mut buf = vec![0u8; repr.buffer_len() + symbol.len()];
            let len = repr.emit(&mut buf).unwrap();
            prop_assert_eq!(len, repr.buffer_len());
            buf[len..].copy_from_slice(&symbol);

            let packet = AlcPacket::parse(&buf).unwrap();
            prop_assert_eq!(packet.lct(), &lct);
            prop_assert_eq!(packet.fti(), Some(oti));
            prop_assert_eq!(packet.ext_time(), time);
            prop_assert_eq!(packet.ext_fdt().map(|f| f.fdt_instance_id), fdt_id);
            prop_assert_eq!(packet.ext_cenc().map(|c| c.content_encoding), cenc);
            prop_assert_eq!(packet.payload_id(), Some(id));
            prop_assert_eq!(packet.payload(), &symbol[..]);
            let reprs: Vec<_> = packet.extension_reprs().collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(reprs, exts.clone());

            // Every shorter packet is a typed error, or a shorter symbol.
            for cut in 0..buf.len() {
                match AlcPacket::parse(&buf[..cut]) {
                    Ok(p) => {
                        prop_assert!(cut >= len || cut == packet.header_len());
                        if cut >= len {
                            prop_assert_eq!(p.payload(), &symbol[..cut - len]);
                        }
                    }
                    Err(e) => prop_assert!(matches!(
                        e,
                        WireError::Truncated { .. } | WireError::HdrLenPastBuffer { .. }
                    ), "{:?}", e),
                }
            }
        }

        #[test]
        fn alc_parse_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
            let _ = AlcPacket::parse(&bytes);
        }
    }

    fn sample() -> (Vec<u8>, usize) {
        let lct = LctRepr::with_min_widths(0, 0x1234, Some(5), 0).unwrap();
        let oti = Oti {
            fec_encoding_id: FecEncodingId::NoCode,
            fec_instance_id: 0,
            transfer_length: 5000,
            encoding_symbol_length: 1400,
            maximum_source_block_length: 64,
            max_number_of_encoding_symbols: 64,
            scheme_specific: SchemeSpecific::None,
        };
        let exts = [ExtRepr::Fti(oti)];
        let repr = AlcRepr {
            lct,
            extensions: &exts,
            payload_id: Some((
                PayloadIdFormat::CompactNoCode,
                PayloadId {
                    sbn: 1,
                    esi: 2,
                    source_block_length: None,
                },
            )),
        };
        let mut buf = vec![0xEE; repr.buffer_len() + 10];
        let len = repr.emit(&mut buf).unwrap();
        (buf, len)
    }

    #[test]
    fn truncation_at_every_offset_gives_the_expected_variant() {
        let (buf, len) = sample();
        let hdr_len = 12 + 16;
        assert_eq!(len, hdr_len + 4);
        for cut in 0..buf.len() {
            let got = AlcPacket::parse(&buf[..cut]);
            match cut {
                0..4 => assert_eq!(
                    got,
                    Err(WireError::Truncated {
                        needed: 4,
                        got: cut
                    })
                ),
                4..12 => assert_eq!(
                    got,
                    Err(WireError::Truncated {
                        needed: 12,
                        got: cut
                    })
                ),
                12..28 => assert_eq!(
                    got,
                    Err(WireError::HdrLenPastBuffer {
                        hdr_len_bytes: hdr_len,
                        buffer_len: cut
                    })
                ),
                28 => assert!(got.unwrap().is_data_less()),
                29..32 => assert_eq!(
                    got,
                    Err(WireError::Truncated {
                        needed: 32,
                        got: cut
                    })
                ),
                _ => assert_eq!(got.unwrap().payload().len(), cut - len),
            }
        }
    }

    #[test]
    fn malformed_extensions_are_typed_errors() {
        let (buf, _) = sample();
        let mut zero_hel = buf.clone();
        zero_hel[13] = 0;
        assert_eq!(
            AlcPacket::parse(&zero_hel),
            Err(WireError::ZeroHel { het: 64 })
        );
        let mut long_hel = buf.clone();
        long_hel[13] = 5;
        assert_eq!(
            AlcPacket::parse(&long_hel),
            Err(WireError::HelPastHeader {
                het: 64,
                ext_len_bytes: 20,
                remaining: 16
            })
        );
        let mut unknown_fec = buf.clone();
        unknown_fec[3] = 3;
        assert_eq!(
            AlcPacket::parse(&unknown_fec),
            Err(WireError::UnsupportedFecEncodingId(3))
        );
        let mut short_hdr = buf;
        short_hdr[2] = 2;
        assert_eq!(
            AlcPacket::parse(&short_hdr),
            Err(WireError::HdrLenTooShort {
                hdr_len_bytes: 8,
                fixed_len_bytes: 12
            })
        );
    }

    #[test]
    fn rs2m_payload_id_without_fti_needs_the_oti() {
        let lct = LctRepr::with_min_widths(0, 1, Some(2), 2).unwrap();
        let oti = Oti {
            fec_encoding_id: FecEncodingId::ReedSolomonGf2m,
            fec_instance_id: 0,
            transfer_length: 1000,
            encoding_symbol_length: 1400,
            maximum_source_block_length: 64,
            max_number_of_encoding_symbols: 84,
            scheme_specific: SchemeSpecific::ReedSolomonGf2m { m: 16, g: 1 },
        };
        let id = PayloadId {
            sbn: 1,
            esi: 70,
            source_block_length: None,
        };
        let format = PayloadIdFormat::for_oti(&oti).unwrap();
        let repr = AlcRepr {
            lct,
            extensions: &[],
            payload_id: Some((format, id)),
        };
        let mut buf = vec![0u8; repr.buffer_len() + 4];
        repr.emit(&mut buf).unwrap();
        let packet = AlcPacket::parse(&buf).unwrap();
        assert_eq!(packet.payload_id(), None);
        assert!(packet.payload().is_empty());
        let packet = AlcPacket::parse_with_oti(&buf, &oti).unwrap();
        assert_eq!(packet.payload_id(), Some(id));
        assert_eq!(packet.payload().len(), 4);
    }

    #[test]
    fn emit_into_a_short_buffer_is_buffer_too_small() {
        let (buf, len) = sample();
        let packet = AlcPacket::parse(&buf).unwrap();
        let exts: Vec<_> = packet.extension_reprs().collect::<Result<_, _>>().unwrap();
        let repr = AlcRepr {
            lct: *packet.lct(),
            extensions: &exts,
            payload_id: Some((PayloadIdFormat::CompactNoCode, packet.payload_id().unwrap())),
        };
        for short in 0..len {
            assert_eq!(
                repr.emit(&mut vec![0u8; short]),
                Err(WireError::BufferTooSmall {
                    needed: len,
                    got: short
                })
            );
        }
        let mut out = vec![0u8; len];
        assert_eq!(repr.emit(&mut out), Ok(len));
        assert_eq!(&out[..], &buf[..len]);
    }
}
