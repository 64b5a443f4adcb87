//! FEC Payload IDs (RFC 5052 §3.2), one format per FEC Encoding ID:
//!
//! | ID | layout | source |
//! |----|--------|--------|
//! | 0 | SBN (16), ESI (16) | RFC 5445 §3.1 |
//! | 1 | SBN (16), ESI (16) | RFC 5053 §3.2.1 |
//! | 2 | SBN (32 - m), ESI (m) | RFC 5510 §4.1 |
//! | 5 | SBN (24), ESI (8) | RFC 5510 §5.1 |
//! | 6 | SBN (8), ESI (24) | RFC 6330 §3.2 |
//! | 129 | SBN (32), Source Block Length (16), ESI (16) | RFC 5445 §5.1 |
//!
//! flute 1.11.7 writes the same layouts. Emitting checks that each value fits its field (flute
//! masks silently; we refuse).

use super::WireError;
use super::bytes::{be_uint, check_fits, put_be, slice, slice_mut};
use super::oti::{FecEncodingId, Oti};

/// The layout of the FEC Payload ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadIdFormat {
    /// ID 0: SBN 16, ESI 16.
    CompactNoCode,
    /// ID 1: SBN 16, ESI 16.
    Raptor,
    /// ID 2: SBN 32 - m, ESI m (2 <= m <= 16).
    ReedSolomonGf2m {
        /// m, the field size in bits (already defaulted: never 0).
        m: u8,
    },
    /// ID 5: SBN 24, ESI 8.
    ReedSolomonGf28,
    /// ID 6: SBN 8, ESI 24.
    RaptorQ,
    /// ID 129: SBN 32, Source Block Length 16, ESI 16.
    SmallBlockSystematic,
}

impl PayloadIdFormat {
    /// The format for an FEC Encoding ID alone; ID 2 needs m from the OTI
    /// ([`PayloadIdFormat::for_oti`]).
    pub fn for_fec_encoding_id(id: FecEncodingId) -> Result<Self, WireError> {
        Ok(match id {
            FecEncodingId::NoCode => Self::CompactNoCode,
            FecEncodingId::Raptor => Self::Raptor,
            FecEncodingId::ReedSolomonGf2m => return Err(WireError::PayloadIdNeedsOti),
            FecEncodingId::ReedSolomonGf28 => Self::ReedSolomonGf28,
            FecEncodingId::RaptorQ => Self::RaptorQ,
            FecEncodingId::ReedSolomonGf28UnderSpecified => Self::SmallBlockSystematic,
        })
    }

    /// The format for an object's OTI.
    pub fn for_oti(oti: &Oti) -> Result<Self, WireError> {
        match oti.scheme_specific.effective_m() {
            Some(m) if oti.fec_encoding_id == FecEncodingId::ReedSolomonGf2m => {
                Ok(Self::ReedSolomonGf2m { m })
            }
            _ => Self::for_fec_encoding_id(oti.fec_encoding_id),
        }
    }

    /// Length of the FEC Payload ID, in bytes.
    pub fn buffer_len(self) -> usize {
        match self {
            Self::SmallBlockSystematic => 8,
            _ => 4,
        }
    }

    /// (SBN bits, ESI bits) of the 32-bit formats.
    fn split(self) -> Result<(u32, u32), WireError> {
        Ok(match self {
            Self::CompactNoCode | Self::Raptor => (16, 16),
            Self::ReedSolomonGf28 => (24, 8),
            Self::RaptorQ => (8, 24),
            Self::ReedSolomonGf2m { m } if (2..=16).contains(&m) => {
                (32 - u32::from(m), u32::from(m))
            }
            Self::ReedSolomonGf2m { .. } => {
                return Err(WireError::InvalidOti {
                    fec_encoding_id: 2,
                    reason: "m must be between 2 and 16",
                });
            }
            Self::SmallBlockSystematic => (32, 16),
        })
    }
}

/// A decoded FEC Payload ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PayloadId {
    /// Source Block Number.
    pub sbn: u32,
    /// Encoding Symbol ID.
    pub esi: u32,
    /// Source Block Length: carried by ID 129 only, and required for it.
    pub source_block_length: Option<u32>,
}

impl PayloadId {
    /// Decodes the FEC Payload ID at the start of `buf`.
    pub fn parse(format: PayloadIdFormat, buf: &[u8]) -> Result<Self, WireError> {
        let bytes = slice(buf, 0..format.buffer_len())?;
        let (_, esi_bits) = format.split()?;
        let value = be_uint(bytes);
        if format == PayloadIdFormat::SmallBlockSystematic {
            return Ok(Self {
                sbn: (value >> 32) as u32,
                esi: (value & 0xFFFF) as u32,
                source_block_length: Some(((value >> 16) & 0xFFFF) as u32),
            });
        }
        let value = value as u32;
        Ok(Self {
            sbn: value.checked_shr(esi_bits).unwrap_or(0),
            esi: value & (u32::MAX >> (32 - esi_bits)),
            source_block_length: None,
        })
    }

    /// Writes the FEC Payload ID into `buf`, returns its length.
    pub fn emit(&self, format: PayloadIdFormat, buf: &mut [u8]) -> Result<usize, WireError> {
        let (sbn_bits, esi_bits) = format.split()?;
        check_fits("SBN", self.sbn.into(), sbn_bits)?;
        check_fits("ESI", self.esi.into(), esi_bits)?;
        let is_129 = format == PayloadIdFormat::SmallBlockSystematic;
        if is_129 != self.source_block_length.is_some() {
            return Err(WireError::SourceBlockLength);
        }
        let len = format.buffer_len();
        let out = slice_mut(buf, 0..len)?;
        let value = match self.source_block_length {
            Some(sbl) => {
                check_fits("Source Block Length", sbl.into(), 16)?;
                u128::from(self.sbn) << 32 | u128::from(sbl) << 16 | u128::from(self.esi)
            }
            None => u128::from(self.sbn) << esi_bits | u128::from(self.esi),
        };
        put_be(out, value);
        Ok(len)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn format_and_id() -> impl Strategy<Value = (PayloadIdFormat, PayloadId)> {
        let format = prop_oneof![
            Just(PayloadIdFormat::CompactNoCode),
            Just(PayloadIdFormat::Raptor),
            (2u8..=16).prop_map(|m| PayloadIdFormat::ReedSolomonGf2m { m }),
            Just(PayloadIdFormat::ReedSolomonGf28),
            Just(PayloadIdFormat::RaptorQ),
            Just(PayloadIdFormat::SmallBlockSystematic),
        ];
        (format, any::<u32>(), any::<u32>(), any::<u16>()).prop_map(|(format, sbn, esi, sbl)| {
            let (sbn_bits, esi_bits) = format.split().unwrap();
            let mask = |bits: u32| u32::MAX.checked_shr(32 - bits).unwrap_or(0);
            let is_129 = format == PayloadIdFormat::SmallBlockSystematic;
            let id = PayloadId {
                sbn: sbn & mask(sbn_bits),
                esi: esi & mask(esi_bits),
                source_block_length: is_129.then_some(u32::from(sbl)),
            };
            (format, id)
        })
    }

    proptest! {
        #[test]
        fn payload_id_round_trips_for_each_format((format, id) in format_and_id()) {
            let mut buf = [0u8; 8];
            let len = id.emit(format, &mut buf).unwrap();
            prop_assert_eq!(len, format.buffer_len());
            prop_assert_eq!(PayloadId::parse(format, &buf[..len]).unwrap(), id);
        }
    }

    #[test]
    fn values_too_large_for_their_field_are_emit_errors() {
        let mut buf = [0u8; 8];
        let cases = [
            (PayloadIdFormat::CompactNoCode, 1 << 16, 0, "SBN"),
            (PayloadIdFormat::CompactNoCode, 0, 1 << 16, "ESI"),
            (PayloadIdFormat::ReedSolomonGf28, 1 << 24, 0, "SBN"),
            (PayloadIdFormat::ReedSolomonGf28, 0, 256, "ESI"),
            (PayloadIdFormat::RaptorQ, 256, 0, "SBN"),
            (PayloadIdFormat::RaptorQ, 0, 1 << 24, "ESI"),
            (PayloadIdFormat::ReedSolomonGf2m { m: 8 }, 1 << 24, 0, "SBN"),
            (PayloadIdFormat::ReedSolomonGf2m { m: 4 }, 0, 16, "ESI"),
        ];
        for (format, sbn, esi, field) in cases {
            let id = PayloadId {
                sbn,
                esi,
                source_block_length: None,
            };
            assert!(
                matches!(id.emit(format, &mut buf), Err(WireError::FieldOverflow { field: f, .. }) if f == field),
                "{format:?} {sbn} {esi}"
            );
        }
        let no_sbl = PayloadId::default();
        assert_eq!(
            no_sbl.emit(PayloadIdFormat::SmallBlockSystematic, &mut buf),
            Err(WireError::SourceBlockLength)
        );
        let big_sbl = PayloadId {
            source_block_length: Some(1 << 16),
            ..no_sbl
        };
        assert!(matches!(
            big_sbl.emit(PayloadIdFormat::SmallBlockSystematic, &mut buf),
            Err(WireError::FieldOverflow { .. })
        ));
        assert!(matches!(
            no_sbl.emit(PayloadIdFormat::ReedSolomonGf2m { m: 17 }, &mut buf),
            Err(WireError::InvalidOti { .. })
        ));
    }

    #[test]
    fn payload_id_matches_flute_rs2m_vectors() {
        // From flute's own test of ID 2: (m, sbn, esi, header).
        for (m, sbn, esi, header) in [
            (16u8, 0x1234u32, 300u32, 0x1234_012Cu32),
            (8, 0x12_3456, 0xAB, 0x1234_56AB),
            (4, 0x123_4567, 0xE, 0x1234_567E),
            (2, 0x3FFF_FFFF, 2, 0xFFFF_FFFE),
        ] {
            let format = PayloadIdFormat::ReedSolomonGf2m { m };
            let id = PayloadId {
                sbn,
                esi,
                source_block_length: None,
            };
            let mut buf = [0u8; 4];
            id.emit(format, &mut buf).unwrap();
            assert_eq!(buf, header.to_be_bytes());
        }
    }

    #[test]
    fn truncated_payload_id_is_truncated() {
        assert_eq!(
            PayloadId::parse(PayloadIdFormat::SmallBlockSystematic, &[0; 7]),
            Err(WireError::Truncated { needed: 8, got: 7 })
        );
    }
}
