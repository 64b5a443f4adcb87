//! LCT header extensions (RFC 5651 §5.2): a walk over the raw extensions that never leaves the
//! LCT header, and the typed ones FLUTE uses: EXT_NOP and EXT_AUTH (RFC 5651 §5.2.1; opaque in
//! [`ExtRepr`], decoded by [`ExtAuth`] for the RFC 6584 schemes), EXT_TIME (RFC 5651 §5.2.2),
//! EXT_FTI (RFC 5775 §4.2, see `fti.rs`), EXT_FDT and EXT_CENC (RFC 6726 §3.4.1).
//!
//! ```text
//! HET < 128:  | HET (8) | HEL (8) | body ... (HEL * 4 - 2 bytes)  |
//! HET >= 128: | HET (8) | body (24 bits)                          |
//! ```

use super::WireError;
use super::bytes::{check_fits, put_be, read_u8, read_u32, slice, slice_mut};
use super::oti::{FecEncodingId, Oti};

/// Header Extension Types.
pub mod het {
    /// EXT_NOP, no-operation (RFC 5651 §5.2.1).
    pub const EXT_NOP: u8 = 0;
    /// EXT_AUTH, packet authentication (RFC 5651 §5.2.1).
    pub const EXT_AUTH: u8 = 1;
    /// EXT_TIME, time information (RFC 5651 §5.2.2).
    pub const EXT_TIME: u8 = 2;
    /// EXT_FTI, FEC Object Transmission Information (RFC 5775 §4.2).
    pub const EXT_FTI: u8 = 64;
    /// EXT_FDT, FDT Instance header (RFC 6726 §3.4.1).
    pub const EXT_FDT: u8 = 192;
    /// EXT_CENC, FDT Instance content encoding (RFC 6726 §3.4.1).
    pub const EXT_CENC: u8 = 193;
}

/// HET values from this one on have a fixed length of one word.
const FIXED_HET_MIN: u8 = 128;
/// Largest variable extension HEL (8 bits) can describe.
const HEL_MAX_BYTES: usize = 255 * 4;

/// One header extension as it is on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawExtension<'a> {
    /// Header Extension Type.
    pub het: u8,
    /// The whole extension, HET (and HEL) included.
    pub raw: &'a [u8],
}

impl<'a> RawExtension<'a> {
    /// The extension's content after HET and, for HET < 128, HEL.
    pub fn body(&self) -> &'a [u8] {
        let start = if self.het >= FIXED_HET_MIN { 1 } else { 2 };
        self.raw.get(start..).unwrap_or_default()
    }
}

/// Walks the header extensions of one LCT header. Yields an error, then stops, at the first
/// extension that is malformed (HEL = 0, or running past HDR_LEN).
#[derive(Debug, Clone)]
pub struct ExtensionIter<'a> {
    rest: &'a [u8],
}

impl<'a> ExtensionIter<'a> {
    /// Walks `header_extensions`: the bytes from the end of the TOI to HDR_LEN.
    pub fn new(header_extensions: &'a [u8]) -> Self {
        Self {
            rest: header_extensions,
        }
    }
}

impl<'a> Iterator for ExtensionIter<'a> {
    type Item = Result<RawExtension<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        let &het = self.rest.first()?;
        let remaining = self.rest.len();
        let len = if het >= FIXED_HET_MIN {
            4
        } else {
            match self.rest.get(1) {
                Some(0) => {
                    self.rest = &[];
                    return Some(Err(WireError::ZeroHel { het }));
                }
                Some(&hel) => usize::from(hel) * 4,
                None => 2,
            }
        };
        match (self.rest.get(..len), self.rest.get(len..)) {
            (Some(raw), Some(rest)) => {
                self.rest = rest;
                Some(Ok(RawExtension { het, raw }))
            }
            _ => {
                self.rest = &[];
                Some(Err(WireError::HelPastHeader {
                    het,
                    ext_len_bytes: len,
                    remaining,
                }))
            }
        }
    }
}

/// EXT_TIME (RFC 5651 §5.2.2). Each flag of the Use field brings one 32-bit value, in this order.
///
/// ```text
/// | HET = 2 | HEL >= 1 |SCT-Hi|SCT-Low|ERT|SLC| reserved (4) | PI-specific (8) |
/// | SCT-High | SCT-Low | ERT | SLC   (those flagged, 32 bits each)              |
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ExtTime {
    /// Sender Current Time, NTP seconds.
    pub sct_high: Option<u32>,
    /// Sender Current Time, NTP fraction of a second.
    pub sct_low: Option<u32>,
    /// Expected Residual Time, seconds.
    pub ert: Option<u32>,
    /// Session Last Changed, NTP seconds.
    pub slc: Option<u32>,
    /// The 8 PI-specific bits of the Use field.
    pub pi_specific: u8,
}

impl ExtTime {
    fn values(&self) -> [Option<u32>; 4] {
        [self.sct_high, self.sct_low, self.ert, self.slc]
    }

    /// Length in bytes: one word, plus one per value present.
    pub fn buffer_len(&self) -> usize {
        4 + 4 * self.values().iter().flatten().count()
    }

    /// Decodes an EXT_TIME extension (`raw` from HET on).
    pub fn parse(raw: &[u8]) -> Result<Self, WireError> {
        let use_bits = slice(raw, 2..4)?;
        let flags = use_bits.first().copied().unwrap_or(0);
        let pi_specific = use_bits.get(1).copied().unwrap_or(0);
        let present = |bit: u8| flags & (0x80 >> bit) != 0;
        let expected = 4 + 4 * (0..4).filter(|&bit| present(bit)).count();
        if raw.len() != expected {
            return Err(WireError::BadExtLength {
                het: het::EXT_TIME,
                len_bytes: raw.len(),
            });
        }
        let mut offset = 4;
        let mut next = |bit: u8| -> Result<Option<u32>, WireError> {
            if !present(bit) {
                return Ok(None);
            }
            let value = read_u32(raw, offset)?;
            offset += 4;
            Ok(Some(value))
        };
        Ok(Self {
            sct_high: next(0)?,
            sct_low: next(1)?,
            ert: next(2)?,
            slc: next(3)?,
            pi_specific,
        })
    }

    /// Writes the extension, returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.buffer_len();
        let out = slice_mut(buf, 0..len)?;
        let flags = self
            .values()
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_some())
            .fold(0u8, |acc, (bit, _)| acc | (0x80 >> bit));
        slice_mut(out, 0..4)?.copy_from_slice(&[
            het::EXT_TIME,
            (len / 4) as u8,
            flags,
            self.pi_specific,
        ]);
        for (i, value) in self.values().iter().flatten().enumerate() {
            put_be(slice_mut(out, 4 + 4 * i..8 + 4 * i)?, u128::from(*value));
        }
        Ok(len)
    }
}

/// EXT_AUTH as the RFC 6584 schemes lay it out (§3.1, §4.1, §5.1, §6.1): a 4-bit
/// Authentication Scheme IDentifier, the anti-replay flag AR, a Sequence Number of 8 bits (AR = 0,
/// zero) or 40 bits (AR = 1), then the scheme's fields (a signature and/or a group MAC, each
/// padded to whole words), which this type carries as one opaque run of words.
///
/// ```text
/// | HET = 1 | HEL | ASID (4) | rsvd (3) | AR | SN (8 bits; with AR the 8 high bits of 40) |
/// | SN (the 32 low bits, with AR only)                                                   |
/// | Signature / Group-keyed MAC ... (whole words)                                        |
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtAuth<'a> {
    /// Authentication Scheme IDentifier, 4 bits: which scheme the fields follow, agreed out of
    /// band per session (RFC 6584 §2).
    pub asid: u8,
    /// The anti-replay Sequence Number (AR = 1), 40 bits; `None` without anti-replay (AR = 0).
    pub sequence_number: Option<u64>,
    /// The scheme's fields after the Sequence Number, a whole number of words.
    pub fields: &'a [u8],
}

impl<'a> ExtAuth<'a> {
    /// Largest Sequence Number (40 bits).
    pub const SEQUENCE_NUMBER_MAX: u64 = (1 << 40) - 1;
    /// Largest ASID (4 bits).
    pub const ASID_MAX: u8 = 15;
    /// Largest EXT_AUTH, bytes: HEL is 8 bits of words.
    pub const MAX_LEN_BYTES: usize = HEL_MAX_BYTES;

    /// Bytes before the scheme's fields: one word, two with anti-replay.
    pub const fn fields_offset(anti_replay: bool) -> usize {
        if anti_replay { 8 } else { 4 }
    }

    /// Length in bytes on the wire.
    pub fn buffer_len(&self) -> usize {
        Self::fields_offset(self.sequence_number.is_some()) + self.fields.len()
    }

    /// Decodes an EXT_AUTH extension (`raw` from HET on, as [`ExtensionIter`] yields it).
    pub fn parse(raw: &'a [u8]) -> Result<Self, WireError> {
        let bad = || WireError::BadExtLength {
            het: het::EXT_AUTH,
            len_bytes: raw.len(),
        };
        let flags = *raw.get(2).ok_or_else(bad)?;
        let anti_replay = flags & 1 != 0;
        let offset = Self::fields_offset(anti_replay);
        let fields = raw.get(offset..).ok_or_else(bad)?;
        if raw.first() != Some(&het::EXT_AUTH) || !raw.len().is_multiple_of(4) {
            return Err(bad());
        }
        let sequence_number = if anti_replay {
            let high = u64::from(read_u8(raw, 3)?);
            Some(high << 32 | u64::from(read_u32(raw, 4)?))
        } else {
            None
        };
        Ok(Self {
            asid: flags >> 4,
            sequence_number,
            fields,
        })
    }

    /// Writes the extension, returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        check_fits("ASID", self.asid.into(), 4)?;
        let len = self.buffer_len();
        if !self.fields.len().is_multiple_of(4) || len > HEL_MAX_BYTES {
            return Err(WireError::BadExtLength {
                het: het::EXT_AUTH,
                len_bytes: len,
            });
        }
        let out = slice_mut(buf, 0..len)?;
        let ar = u8::from(self.sequence_number.is_some());
        let sn = self.sequence_number.unwrap_or(0);
        check_fits("Sequence Number", sn.into(), 40)?;
        slice_mut(out, 0..4)?.copy_from_slice(&[
            het::EXT_AUTH,
            (len / 4) as u8,
            self.asid << 4 | ar,
            (sn >> 32) as u8,
        ]);
        if self.sequence_number.is_some() {
            put_be(slice_mut(out, 4..8)?, u128::from(sn & 0xFFFF_FFFF));
        }
        let offset = Self::fields_offset(self.sequence_number.is_some());
        slice_mut(out, offset..len)?.copy_from_slice(self.fields);
        Ok(len)
    }
}

/// EXT_FDT (RFC 6726 §3.4.1): `| HET = 192 | V (4) | FDT Instance ID (20) |`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtFdt {
    /// FLUTE version: 1 for RFC 3926, 2 for RFC 6726.
    pub flute_version: u8,
    /// FDT Instance ID, 20 bits.
    pub fdt_instance_id: u32,
}

impl ExtFdt {
    fn check_version(version: u8) -> Result<(), WireError> {
        match version {
            1 | 2 => Ok(()),
            other => Err(WireError::UnsupportedFluteVersion(other)),
        }
    }

    /// Decodes an EXT_FDT extension (`raw` from HET on).
    pub fn parse(raw: &[u8]) -> Result<Self, WireError> {
        if raw.len() != 4 {
            return Err(WireError::BadExtLength {
                het: het::EXT_FDT,
                len_bytes: raw.len(),
            });
        }
        let word = read_u32(raw, 0)?;
        let flute_version = ((word >> 20) & 0xF) as u8;
        Self::check_version(flute_version)?;
        Ok(Self {
            flute_version,
            fdt_instance_id: word & 0xF_FFFF,
        })
    }

    /// Writes the extension (4 bytes).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        Self::check_version(self.flute_version)?;
        super::bytes::check_fits("FDT Instance ID", self.fdt_instance_id.into(), 20)?;
        let word = u32::from(het::EXT_FDT) << 24
            | u32::from(self.flute_version) << 20
            | self.fdt_instance_id;
        slice_mut(buf, 0..4)?.copy_from_slice(&word.to_be_bytes());
        Ok(4)
    }
}

/// EXT_CENC (RFC 6726 §3.4.1): `| HET = 193 | CENC (8) | Reserved (16) |`. The algorithm is kept
/// as its code (0 null, 1 ZLIB, 2 DEFLATE, 3 GZIP); `cenc` maps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtCenc {
    /// Content encoding algorithm code.
    pub content_encoding: u8,
}

impl ExtCenc {
    /// Decodes an EXT_CENC extension (`raw` from HET on).
    pub fn parse(raw: &[u8]) -> Result<Self, WireError> {
        match *raw {
            [_, content_encoding, _, _] => Ok(Self { content_encoding }),
            _ => Err(WireError::BadExtLength {
                het: het::EXT_CENC,
                len_bytes: raw.len(),
            }),
        }
    }

    /// Writes the extension (4 bytes).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        slice_mut(buf, 0..4)?.copy_from_slice(&[het::EXT_CENC, self.content_encoding, 0, 0]);
        Ok(4)
    }
}

/// A header extension, decoded: what is parsed from and emitted into an LCT header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtRepr<'a> {
    /// EXT_NOP with its body (ignored by receivers).
    Nop {
        /// Body after HET/HEL.
        body: &'a [u8],
    },
    /// EXT_AUTH, opaque here: [`ExtAuth`] decodes the RFC 6584 layout, `crate::auth` checks it.
    Auth {
        /// Body after HET/HEL.
        body: &'a [u8],
    },
    /// EXT_TIME.
    Time(ExtTime),
    /// EXT_FTI, decoded for the packet's FEC Encoding ID.
    Fti(Oti),
    /// EXT_FDT.
    Fdt(ExtFdt),
    /// EXT_CENC.
    Cenc(ExtCenc),
    /// Any other extension, skipped by its length.
    Unknown {
        /// Header Extension Type.
        het: u8,
        /// Body after HET (and HEL when HET < 128).
        body: &'a [u8],
    },
}

impl<'a> ExtRepr<'a> {
    /// Decodes `raw`; EXT_FTI needs the packet's FEC Encoding ID (FLUTE's codepoint).
    pub fn parse(raw: &RawExtension<'a>, fec_encoding_id: u8) -> Result<Self, WireError> {
        Ok(match raw.het {
            het::EXT_NOP => Self::Nop { body: raw.body() },
            het::EXT_AUTH => Self::Auth { body: raw.body() },
            het::EXT_TIME => Self::Time(ExtTime::parse(raw.raw)?),
            het::EXT_FTI => Self::Fti(Oti::parse_ext_fti(
                FecEncodingId::try_from(fec_encoding_id)?,
                raw.raw,
            )?),
            het::EXT_FDT => Self::Fdt(ExtFdt::parse(raw.raw)?),
            het::EXT_CENC => Self::Cenc(ExtCenc::parse(raw.raw)?),
            het => Self::Unknown {
                het,
                body: raw.body(),
            },
        })
    }

    /// Length in bytes on the wire; a variable body is padded to a whole word.
    pub fn buffer_len(&self) -> usize {
        match self {
            Self::Nop { body } | Self::Auth { body } => var_len(body),
            Self::Unknown { het, body } if *het < FIXED_HET_MIN => var_len(body),
            Self::Unknown { .. } | Self::Fdt(_) | Self::Cenc(_) => 4,
            Self::Time(time) => time.buffer_len(),
            Self::Fti(oti) => oti.ext_fti_len_bytes(),
        }
    }

    /// Writes the extension, returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        match *self {
            Self::Nop { body } => emit_var(het::EXT_NOP, body, buf),
            Self::Auth { body } => emit_var(het::EXT_AUTH, body, buf),
            Self::Unknown { het, body } if het < FIXED_HET_MIN => emit_var(het, body, buf),
            Self::Unknown { het, body } => {
                let [a, b, c] = *body else {
                    return Err(WireError::BadExtLength {
                        het,
                        len_bytes: body.len() + 1,
                    });
                };
                slice_mut(buf, 0..4)?.copy_from_slice(&[het, a, b, c]);
                Ok(4)
            }
            Self::Time(time) => time.emit(buf),
            Self::Fti(oti) => oti.emit_ext_fti(buf),
            Self::Fdt(fdt) => fdt.emit(buf),
            Self::Cenc(cenc) => cenc.emit(buf),
        }
    }
}

fn var_len(body: &[u8]) -> usize {
    (2 + body.len()).div_ceil(4) * 4
}

fn emit_var(het: u8, body: &[u8], buf: &mut [u8]) -> Result<usize, WireError> {
    let len = var_len(body);
    if len > HEL_MAX_BYTES {
        return Err(WireError::FieldOverflow {
            field: "HEL",
            value: (len / 4) as u128,
            bits: 8,
        });
    }
    let out = slice_mut(buf, 0..len)?;
    out.fill(0);
    slice_mut(out, 0..2)?.copy_from_slice(&[het, (len / 4) as u8]);
    slice_mut(out, 2..2 + body.len())?.copy_from_slice(body);
    Ok(len)
}

/// Writes `extensions` one after the other, returns their total length (a multiple of 4).
pub fn emit_extensions(extensions: &[ExtRepr<'_>], buf: &mut [u8]) -> Result<usize, WireError> {
    let mut offset = 0;
    for ext in extensions {
        let rest = buf.get_mut(offset..).unwrap_or_default();
        offset += ext.emit(rest).map_err(|e| match e {
            WireError::BufferTooSmall { needed, got } => WireError::BufferTooSmall {
                needed: needed + offset,
                got: got + offset,
            },
            other => other,
        })?;
    }
    Ok(offset)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn ext_time() -> impl Strategy<Value = ExtTime> {
        (
            prop::option::of(any::<u32>()),
            prop::option::of(any::<u32>()),
            prop::option::of(any::<u32>()),
            prop::option::of(any::<u32>()),
            any::<u8>(),
        )
            .prop_map(|(sct_high, sct_low, ert, slc, pi_specific)| ExtTime {
                sct_high,
                sct_low,
                ert,
                slc,
                pi_specific,
            })
    }

    /// Extensions whose parse(emit(x)) == x (variable bodies already a whole number of words).
    pub(crate) fn ext_repr(bodies: &'static [u8]) -> impl Strategy<Value = ExtRepr<'static>> {
        let body = (0usize..8).prop_map(move |words| {
            let len = (words * 4 + 2).min(bodies.len());
            &bodies[..len]
        });
        prop_oneof![
            body.clone().prop_map(|body| ExtRepr::Nop { body }),
            body.clone().prop_map(|body| ExtRepr::Auth { body }),
            (3u8..64, body).prop_map(|(het, body)| ExtRepr::Unknown { het, body }),
            (194u8..=255, 0usize..4).prop_map(move |(het, at)| ExtRepr::Unknown {
                het,
                body: &bodies[at..at + 3]
            }),
            ext_time().prop_map(ExtRepr::Time),
            (1u8..=2, 0u32..(1 << 20)).prop_map(|(flute_version, fdt_instance_id)| {
                ExtRepr::Fdt(ExtFdt {
                    flute_version,
                    fdt_instance_id,
                })
            }),
            any::<u8>().prop_map(|content_encoding| ExtRepr::Cenc(ExtCenc { content_encoding })),
        ]
    }

    static BODIES: [u8; 40] = [0xA5; 40];

    proptest! {
        #[test]
        fn each_extension_round_trips(ext in ext_repr(&BODIES)) {
            let mut buf = [0u8; 64];
            let len = ext.emit(&mut buf).unwrap();
            prop_assert_eq!(len, ext.buffer_len());
            prop_assert_eq!(len % 4, 0);
            let mut iter = ExtensionIter::new(&buf[..len]);
            let raw = iter.next().unwrap().unwrap();
            prop_assert!(iter.next().is_none());
            prop_assert_eq!(ExtRepr::parse(&raw, 0).unwrap(), ext);
        }

        #[test]
        fn fti_extension_round_trips(oti in crate::wire::fti::tests::oti()) {
            let ext = ExtRepr::Fti(oti);
            let mut buf = [0u8; 32];
            let len = ext.emit(&mut buf).unwrap();
            let raw = ExtensionIter::new(&buf[..len]).next().unwrap().unwrap();
            prop_assert_eq!(ExtRepr::parse(&raw, oti.fec_encoding_id.into()).unwrap(), ext);
        }

        #[test]
        fn extension_walk_never_panics_nor_leaves_the_header(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let mut total = 0;
            for ext in ExtensionIter::new(&bytes) {
                match ext {
                    Ok(raw) => {
                        total += raw.raw.len();
                        let _ = ExtRepr::parse(&raw, 0);
                    }
                    Err(_) => break,
                }
            }
            prop_assert!(total <= bytes.len());
        }
    }

    fn ext_auth() -> impl Strategy<Value = (u8, Option<u64>, Vec<u8>)> {
        (
            0u8..=ExtAuth::ASID_MAX,
            prop::option::of(0..=ExtAuth::SEQUENCE_NUMBER_MAX),
            (0usize..64).prop_flat_map(|words| prop::collection::vec(any::<u8>(), words * 4)),
        )
    }

    proptest! {
        #[test]
        fn ext_auth_round_trips((asid, sequence_number, fields) in ext_auth()) {
            let ext = ExtAuth { asid, sequence_number, fields: &fields };
            let mut buf = vec![0xEEu8; ext.buffer_len() + 4];
            let len = ext.emit(&mut buf).unwrap();
            prop_assert_eq!(len, ext.buffer_len());
            prop_assert_eq!(len % 4, 0);
            let mut iter = ExtensionIter::new(&buf[..len]);
            let raw = iter.next().unwrap().unwrap();
            prop_assert!(iter.next().is_none());
            prop_assert_eq!(raw.het, het::EXT_AUTH);
            prop_assert_eq!(ExtAuth::parse(raw.raw).unwrap(), ext);
            // The generic walk sees the same bytes, opaque.
            let opaque = ExtRepr::parse(&raw, 0).unwrap();
            prop_assert_eq!(opaque, ExtRepr::Auth { body: &buf[2..len] });
        }

        #[test]
        fn ext_auth_parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(ext) = ExtAuth::parse(&bytes) {
                prop_assert_eq!(ext.buffer_len(), bytes.len());
                prop_assert!(ext.asid <= ExtAuth::ASID_MAX);
                prop_assert!(ext.sequence_number.is_none_or(|sn| sn <= ExtAuth::SEQUENCE_NUMBER_MAX));
            }
        }
    }

    #[test]
    fn ext_auth_matches_the_rfc_6584_figures() {
        // Figure 3: ECDSA-256, no anti-replay: HEL 9, one word then 32 bytes of signature.
        let signature = [0x5Au8; 32];
        let mut buf = [0u8; 36];
        let ext = ExtAuth {
            asid: 3,
            sequence_number: None,
            fields: &signature,
        };
        assert_eq!(ext.emit(&mut buf), Ok(36));
        assert_eq!(&buf[..4], &[1, 9, 0x30, 0]);
        // Figure 7: anti-replay, 128-byte signature and a 32-bit MAC: HEL 35, AR set, the 40-bit
        // SN over the last byte of the first word and the whole second word.
        let fields = [0xA5u8; 132];
        let mut buf = [0u8; 140];
        let sn = 0x12_3456_789A;
        let ext = ExtAuth {
            asid: 15,
            sequence_number: Some(sn),
            fields: &fields,
        };
        assert_eq!(ext.emit(&mut buf), Ok(140));
        assert_eq!(&buf[..8], &[1, 35, 0xF1, 0x12, 0x34, 0x56, 0x78, 0x9A]);
        assert_eq!(ExtAuth::parse(&buf), Ok(ext));
    }

    #[test]
    fn ext_auth_refuses_what_does_not_fit() {
        let fields = [0u8; 4];
        let too_wide = |asid, sequence_number| {
            ExtAuth {
                asid,
                sequence_number,
                fields: &fields,
            }
            .emit(&mut [0u8; 16])
        };
        assert!(matches!(
            too_wide(16, None),
            Err(WireError::FieldOverflow { field: "ASID", .. })
        ));
        assert!(matches!(
            too_wide(1, Some(1 << 40)),
            Err(WireError::FieldOverflow {
                field: "Sequence Number",
                ..
            })
        ));
        let ragged = ExtAuth {
            asid: 1,
            sequence_number: None,
            fields: &[0u8; 3],
        };
        assert!(matches!(
            ragged.emit(&mut [0u8; 16]),
            Err(WireError::BadExtLength { .. })
        ));
        let huge = [0u8; 1020];
        let huge = ExtAuth {
            asid: 1,
            sequence_number: None,
            fields: &huge,
        };
        assert!(matches!(
            huge.emit(&mut [0u8; 2048]),
            Err(WireError::BadExtLength { .. })
        ));
        // AR set but only one word: the SN is cut.
        assert!(ExtAuth::parse(&[1, 1, 0x11, 0]).is_err());
        // Not an EXT_AUTH.
        assert!(ExtAuth::parse(&[0, 1, 0x10, 0]).is_err());
    }

    #[test]
    fn nop_body_is_padded_to_a_word() {
        let mut buf = [0xFFu8; 8];
        let len = ExtRepr::Nop { body: &[1, 2, 3] }.emit(&mut buf).unwrap();
        assert_eq!(&buf[..len], &[0, 2, 1, 2, 3, 0, 0, 0]);
    }

    #[test]
    fn hel_zero_and_hel_past_header_are_errors() {
        let mut iter = ExtensionIter::new(&[2, 0, 0, 0, 64, 4, 0, 0]);
        assert_eq!(iter.next(), Some(Err(WireError::ZeroHel { het: 2 })));
        assert_eq!(iter.next(), None);
        let mut iter = ExtensionIter::new(&[0, 1, 0, 0, 64, 4, 0, 0]);
        assert!(matches!(iter.next(), Some(Ok(RawExtension { het: 0, .. }))));
        assert_eq!(
            iter.next(),
            Some(Err(WireError::HelPastHeader {
                het: 64,
                ext_len_bytes: 16,
                remaining: 4
            }))
        );
        assert_eq!(iter.next(), None);
    }

    #[test]
    fn unsupported_flute_version_in_ext_fdt_is_rejected() {
        let raw = [192u8, 0x30, 0, 1];
        assert_eq!(
            ExtFdt::parse(&raw),
            Err(WireError::UnsupportedFluteVersion(3))
        );
        assert_eq!(
            ExtFdt {
                flute_version: 2,
                fdt_instance_id: 1 << 20
            }
            .emit(&mut [0; 4]),
            Err(WireError::FieldOverflow {
                field: "FDT Instance ID",
                value: 1 << 20,
                bits: 20
            })
        );
    }

    #[test]
    fn ext_time_length_must_match_its_flags() {
        // SCT-High flagged but HEL = 1.
        let raw = [2u8, 1, 0x80, 0];
        assert_eq!(
            ExtTime::parse(&raw),
            Err(WireError::BadExtLength {
                het: 2,
                len_bytes: 4
            })
        );
    }

    #[test]
    fn ext_fti_with_unknown_fec_encoding_id_is_unsupported() {
        let raw = RawExtension {
            het: het::EXT_FTI,
            raw: &[64, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        };
        assert_eq!(
            ExtRepr::parse(&raw, 7),
            Err(WireError::UnsupportedFecEncodingId(7))
        );
    }
}
