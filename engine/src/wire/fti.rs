//! EXT_FTI (HET = 64, RFC 5775 §4.2, RFC 6726 §3.4.1): the FEC OTI carried in an LCT header
//! extension, one layout per FEC Encoding ID. Offsets below are from the start of the extension
//! (HET at 0, HEL at 1); reserved bits are written as zero and ignored on parse.
//!
//! | ID | HEL | layout after HET/HEL | source |
//! |----|-----|----------------------|--------|
//! | 0 | 4 | L (48), Reserved (16), E (16), B (32) | RFC 5445 §3.2.3 |
//! | 1 | 4 | F (48), Reserved (16), T (16), Z (16), N (8), Al (8) | RFC 5053 §3.2.2-3 |
//! | 2 | 4 | L (48), m (8), G (8), E (16), B (16), max_n (16) | RFC 5510 §4.2.3 |
//! | 5 | 3 | L (48), E (16), B (8), max_n (8) | RFC 5510 §5.2.3 |
//! | 6 | 4 | F (40), Reserved (8), T (16), Z (8), N (16), Al (8), padding (16) | RFC 6330 §3.3.2-3 |
//! | 129 | 4 | L (48), FEC Instance ID (16), E (16), B (16), max_n (16) | RFC 5445 §5.2.3 |
//!
//! These are byte for byte what flute 1.11.7 writes. RFC 6330 defines the 12 bytes of RaptorQ
//! OTI but not how they sit in EXT_FTI; flute (like other ALC implementations) pads them to
//! HEL = 4 with two zero bytes at the end, and so do we.

use super::WireError;
use super::bytes::{be_uint, put_be, read_u8, read_u16, read_u32, slice, slice_mut};
use super::ext::het;
use super::oti::{FecEncodingId, Oti, SchemeSpecific};

impl FecEncodingId {
    /// Length of this scheme's EXT_FTI, in bytes, HET and HEL included.
    pub fn ext_fti_len_bytes(self) -> usize {
        match self {
            Self::ReedSolomonGf28 => 12,
            _ => 16,
        }
    }
}

fn read_u48(buf: &[u8], offset: usize) -> Result<u64, WireError> {
    Ok(be_uint(slice(buf, offset..offset + 6)?) as u64)
}

impl Oti {
    /// Length of this OTI's EXT_FTI, in bytes.
    pub fn ext_fti_len_bytes(&self) -> usize {
        self.fec_encoding_id.ext_fti_len_bytes()
    }

    /// Decodes an EXT_FTI extension (`ext` from HET to the end of the extension) for the FEC
    /// Encoding ID the packet announces.
    pub fn parse_ext_fti(fec_encoding_id: FecEncodingId, ext: &[u8]) -> Result<Oti, WireError> {
        if ext.len() != fec_encoding_id.ext_fti_len_bytes() {
            return Err(WireError::BadExtLength {
                het: het::EXT_FTI,
                len_bytes: ext.len(),
            });
        }
        let mut oti = Oti {
            fec_encoding_id,
            fec_instance_id: 0,
            transfer_length: read_u48(ext, 2)?,
            encoding_symbol_length: 0,
            maximum_source_block_length: 0,
            max_number_of_encoding_symbols: 0,
            scheme_specific: SchemeSpecific::None,
        };
        match fec_encoding_id {
            FecEncodingId::NoCode => {
                oti.encoding_symbol_length = read_u16(ext, 10)?;
                oti.maximum_source_block_length = read_u32(ext, 12)?;
                oti.max_number_of_encoding_symbols = oti.maximum_source_block_length;
            }
            FecEncodingId::ReedSolomonGf28UnderSpecified => {
                oti.fec_instance_id = read_u16(ext, 8)?;
                oti.encoding_symbol_length = read_u16(ext, 10)?;
                oti.maximum_source_block_length = read_u16(ext, 12)?.into();
                oti.max_number_of_encoding_symbols = read_u16(ext, 14)?.into();
            }
            FecEncodingId::ReedSolomonGf28 => {
                oti.encoding_symbol_length = read_u16(ext, 8)?;
                oti.maximum_source_block_length = read_u8(ext, 10)?.into();
                oti.max_number_of_encoding_symbols = read_u8(ext, 11)?.into();
            }
            FecEncodingId::ReedSolomonGf2m => {
                oti.scheme_specific = SchemeSpecific::ReedSolomonGf2m {
                    m: read_u8(ext, 8)?,
                    g: read_u8(ext, 9)?,
                };
                oti.encoding_symbol_length = read_u16(ext, 10)?;
                oti.maximum_source_block_length = read_u16(ext, 12)?.into();
                oti.max_number_of_encoding_symbols = read_u16(ext, 14)?.into();
            }
            FecEncodingId::Raptor => {
                oti.encoding_symbol_length = read_u16(ext, 10)?;
                let z = read_u16(ext, 12)?;
                oti.scheme_specific = SchemeSpecific::Raptor {
                    z,
                    n: read_u8(ext, 14)?,
                    al: read_u8(ext, 15)?,
                };
                oti.set_derived_block_lengths(z.into());
            }
            FecEncodingId::RaptorQ => {
                oti.transfer_length = read_u48(ext, 2)? >> 8;
                oti.encoding_symbol_length = read_u16(ext, 8)?;
                let z = read_u8(ext, 10)?;
                oti.scheme_specific = SchemeSpecific::RaptorQ {
                    z,
                    n: read_u16(ext, 11)?,
                    al: read_u8(ext, 13)?,
                };
                oti.set_derived_block_lengths(z.into());
            }
        }
        oti.validate()?;
        Ok(oti)
    }

    fn set_derived_block_lengths(&mut self, z: u32) {
        let b = Self::derived_maximum_source_block_length(
            self.transfer_length,
            z,
            self.encoding_symbol_length,
        );
        self.maximum_source_block_length = b;
        self.max_number_of_encoding_symbols = b;
    }

    /// Writes this OTI as EXT_FTI into `buf`, returns its length. Fails if a value does not fit
    /// its field or breaks its scheme's limits ([`Oti::validate`]).
    pub fn emit_ext_fti(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        self.validate()?;
        let len = self.ext_fti_len_bytes();
        let out = slice_mut(buf, 0..len)?;
        out.fill(0);
        put_be(
            slice_mut(out, 0..2)?,
            u128::from(het::EXT_FTI) << 8 | (len / 4) as u128,
        );
        let b = u128::from(self.maximum_source_block_length);
        let max_n = u128::from(self.max_number_of_encoding_symbols);
        let e = u128::from(self.encoding_symbol_length);
        let put = |out: &mut [u8], start: usize, end: usize, value: u128| {
            slice_mut(out, start..end).map(|dst| put_be(dst, value))
        };
        match (self.fec_encoding_id, self.scheme_specific) {
            (FecEncodingId::RaptorQ, SchemeSpecific::RaptorQ { z, n, al }) => {
                put(out, 2, 7, self.transfer_length.into())?;
                put(out, 8, 10, e)?;
                put(out, 10, 11, z.into())?;
                put(out, 11, 13, n.into())?;
                put(out, 13, 14, al.into())?;
                return Ok(len);
            }
            (id, scheme) => {
                put(out, 2, 8, self.transfer_length.into())?;
                match (id, scheme) {
                    (FecEncodingId::NoCode, _) => {
                        put(out, 10, 12, e)?;
                        put(out, 12, 16, b)?;
                    }
                    (FecEncodingId::ReedSolomonGf28UnderSpecified, _) => {
                        put(out, 8, 10, self.fec_instance_id.into())?;
                        put(out, 10, 12, e)?;
                        put(out, 12, 14, b)?;
                        put(out, 14, 16, max_n)?;
                    }
                    (FecEncodingId::ReedSolomonGf28, _) => {
                        put(out, 8, 10, e)?;
                        put(out, 10, 11, b)?;
                        put(out, 11, 12, max_n)?;
                    }
                    (FecEncodingId::ReedSolomonGf2m, SchemeSpecific::ReedSolomonGf2m { m, g }) => {
                        put(out, 8, 9, m.into())?;
                        put(out, 9, 10, g.into())?;
                        put(out, 10, 12, e)?;
                        put(out, 12, 14, b)?;
                        put(out, 14, 16, max_n)?;
                    }
                    (FecEncodingId::Raptor, SchemeSpecific::Raptor { z, n, al }) => {
                        put(out, 10, 12, e)?;
                        put(out, 12, 14, z.into())?;
                        put(out, 14, 15, n.into())?;
                        put(out, 15, 16, al.into())?;
                    }
                    (id, _) => return Err(WireError::SchemeSpecificMismatch(id.into())),
                }
            }
        }
        Ok(len)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A valid OTI for each FEC Encoding ID, with the elements the FTI does not carry set to what
    /// parsing derives, so that parse(emit(oti)) == oti.
    pub(crate) fn oti() -> impl Strategy<Value = Oti> {
        let l48 = 0u64..(1 << 48);
        prop_oneof![
            (l48.clone(), any::<u16>(), any::<u32>()).prop_map(|(l, e, b)| Oti {
                fec_encoding_id: FecEncodingId::NoCode,
                fec_instance_id: 0,
                transfer_length: l,
                encoding_symbol_length: e,
                maximum_source_block_length: b,
                max_number_of_encoding_symbols: b,
                scheme_specific: SchemeSpecific::None,
            }),
            (
                l48.clone(),
                any::<u16>(),
                any::<u16>(),
                any::<u8>(),
                any::<u8>()
            )
                .prop_map(|(l, instance, e, b, extra)| Oti {
                    fec_encoding_id: FecEncodingId::ReedSolomonGf28UnderSpecified,
                    fec_instance_id: instance,
                    transfer_length: l,
                    encoding_symbol_length: e,
                    maximum_source_block_length: b.into(),
                    max_number_of_encoding_symbols: u32::from(b) + u32::from(extra),
                    scheme_specific: SchemeSpecific::None,
                }),
            (l48.clone(), any::<u16>(), any::<u8>(), any::<u8>()).prop_map(|(l, e, x, y)| Oti {
                fec_encoding_id: FecEncodingId::ReedSolomonGf28,
                fec_instance_id: 0,
                transfer_length: l,
                encoding_symbol_length: e,
                maximum_source_block_length: x.min(y).into(),
                max_number_of_encoding_symbols: x.max(y).into(),
                scheme_specific: SchemeSpecific::None,
            }),
            (
                l48.clone(),
                2u8..=16,
                any::<u8>(),
                any::<u16>(),
                any::<u16>(),
                any::<u16>()
            )
                .prop_map(|(l, m, g, e, x, y)| {
                    let top = ((1u32 << m) - 1) as u16;
                    let (x, y) = (x.min(top), y.min(top));
                    Oti {
                        fec_encoding_id: FecEncodingId::ReedSolomonGf2m,
                        fec_instance_id: 0,
                        transfer_length: l,
                        encoding_symbol_length: e,
                        maximum_source_block_length: x.min(y).into(),
                        max_number_of_encoding_symbols: x.max(y).into(),
                        scheme_specific: SchemeSpecific::ReedSolomonGf2m { m, g },
                    }
                }),
            (
                0u64..(1 << 45),
                1u16..=u16::MAX,
                1u16..=u16::MAX,
                1u8..=u8::MAX,
                1u8..=8
            )
                .prop_map(|(f, t, z, n, al)| {
                    let t = (t / u16::from(al)).max(1) * u16::from(al);
                    let mut oti = Oti {
                        fec_encoding_id: FecEncodingId::Raptor,
                        fec_instance_id: 0,
                        transfer_length: f,
                        encoding_symbol_length: t,
                        maximum_source_block_length: 0,
                        max_number_of_encoding_symbols: 0,
                        scheme_specific: SchemeSpecific::Raptor { z, n, al },
                    };
                    oti.set_derived_block_lengths(z.into());
                    oti
                }),
            (
                0u64..=942_574_504_275,
                1u16..=u16::MAX,
                1u8..=u8::MAX,
                1u16..=u16::MAX,
                1u8..=8
            )
                .prop_map(|(f, t, z, n, al)| {
                    let t = (t / u16::from(al)).max(1) * u16::from(al);
                    let mut oti = Oti {
                        fec_encoding_id: FecEncodingId::RaptorQ,
                        fec_instance_id: 0,
                        transfer_length: f,
                        encoding_symbol_length: t,
                        maximum_source_block_length: 0,
                        max_number_of_encoding_symbols: 0,
                        scheme_specific: SchemeSpecific::RaptorQ { z, n, al },
                    };
                    oti.set_derived_block_lengths(z.into());
                    oti
                }),
        ]
    }

    proptest! {
        #[test]
        fn ext_fti_round_trips_for_each_fec_encoding_id(oti in oti()) {
            let mut buf = [0u8; 32];
            let len = oti.emit_ext_fti(&mut buf).unwrap();
            prop_assert_eq!(len, oti.ext_fti_len_bytes());
            prop_assert_eq!(buf[0], het::EXT_FTI);
            prop_assert_eq!(usize::from(buf[1]) * 4, len);
            let parsed = Oti::parse_ext_fti(oti.fec_encoding_id, &buf[..len]).unwrap();
            prop_assert_eq!(parsed, oti);
        }

        #[test]
        fn ext_fti_parse_never_panics(id in prop::sample::select(vec![0u8, 1, 2, 5, 6, 129]),
                                      bytes in prop::collection::vec(any::<u8>(), 0..20)) {
            let _ = Oti::parse_ext_fti(FecEncodingId::try_from(id).unwrap(), &bytes);
        }
    }

    fn raptorq(f: u64, t: u16, z: u8, n: u16, al: u8) -> Oti {
        Oti {
            fec_encoding_id: FecEncodingId::RaptorQ,
            fec_instance_id: 0,
            transfer_length: f,
            encoding_symbol_length: t,
            maximum_source_block_length: 1,
            max_number_of_encoding_symbols: 1,
            scheme_specific: SchemeSpecific::RaptorQ { z, n, al },
        }
    }

    #[test]
    fn raptorq_ext_fti_matches_rfc6330_layout() {
        let mut buf = [0u8; 16];
        raptorq(0x12_3456_789A, 1400, 3, 0x0102, 4)
            .emit_ext_fti(&mut buf)
            .unwrap();
        assert_eq!(
            buf,
            [
                64, 4, 0x12, 0x34, 0x56, 0x78, 0x9A, 0, 0x05, 0x78, 3, 1, 2, 4, 0, 0
            ]
        );
    }

    #[test]
    fn out_of_range_values_are_emit_errors() {
        let mut buf = [0u8; 16];
        // Transfer length over 40 bits for RaptorQ, over 48 for the others.
        assert!(matches!(
            raptorq(1 << 40, 1400, 1, 1, 4).emit_ext_fti(&mut buf),
            Err(WireError::FieldOverflow { bits: 40, .. })
        ));
        assert!(matches!(
            raptorq(942_574_504_276, 1400, 1, 1, 4).emit_ext_fti(&mut buf),
            Err(WireError::InvalidOti {
                fec_encoding_id: 6,
                ..
            })
        ));
        for bad in [
            raptorq(1000, 1400, 1, 1, 0),
            raptorq(1000, 1402, 1, 1, 4),
            raptorq(1000, 1400, 0, 1, 4),
            raptorq(1000, 1400, 1, 0, 4),
            raptorq(1000, 0, 1, 1, 4),
        ] {
            assert!(
                matches!(
                    bad.emit_ext_fti(&mut buf),
                    Err(WireError::InvalidOti { .. })
                ),
                "{bad:?}"
            );
        }
        let no_code = Oti {
            fec_encoding_id: FecEncodingId::NoCode,
            fec_instance_id: 0,
            transfer_length: 1 << 48,
            encoding_symbol_length: 1400,
            maximum_source_block_length: 64,
            max_number_of_encoding_symbols: 64,
            scheme_specific: SchemeSpecific::None,
        };
        assert!(matches!(
            no_code.emit_ext_fti(&mut buf),
            Err(WireError::FieldOverflow { bits: 48, .. })
        ));
        let rs28 = Oti {
            fec_encoding_id: FecEncodingId::ReedSolomonGf28,
            maximum_source_block_length: 256,
            max_number_of_encoding_symbols: 256,
            transfer_length: 10,
            ..no_code
        };
        assert!(matches!(
            rs28.emit_ext_fti(&mut buf),
            Err(WireError::FieldOverflow { bits: 8, .. })
        ));
        let rs2m = Oti {
            fec_encoding_id: FecEncodingId::ReedSolomonGf2m,
            maximum_source_block_length: 10,
            max_number_of_encoding_symbols: 20,
            transfer_length: 10,
            scheme_specific: SchemeSpecific::ReedSolomonGf2m { m: 17, g: 1 },
            ..no_code
        };
        assert!(matches!(
            rs2m.emit_ext_fti(&mut buf),
            Err(WireError::InvalidOti {
                fec_encoding_id: 2,
                ..
            })
        ));
        let mismatch = Oti {
            scheme_specific: SchemeSpecific::None,
            ..rs2m
        };
        assert_eq!(
            mismatch.emit_ext_fti(&mut buf),
            Err(WireError::SchemeSpecificMismatch(2))
        );
        assert_eq!(
            no_code
                .emit_ext_fti(&mut [0u8; 15])
                .map_err(|e| matches!(e, WireError::FieldOverflow { .. })),
            Err(true)
        );
        let small = Oti {
            transfer_length: 1,
            ..no_code
        };
        assert_eq!(
            small.emit_ext_fti(&mut [0u8; 15]),
            Err(WireError::BufferTooSmall {
                needed: 16,
                got: 15
            })
        );
    }

    #[test]
    fn ext_fti_of_the_wrong_length_is_bad_ext_length() {
        let bytes = [64u8, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            Oti::parse_ext_fti(FecEncodingId::NoCode, &bytes),
            Err(WireError::BadExtLength {
                het: 64,
                len_bytes: 12
            })
        );
    }

    #[test]
    fn rs28_fti_with_max_n_below_b_is_invalid() {
        // B = 60, max_n = 59: flute rejects this as well.
        let bytes = [64u8, 3, 0, 0, 0, 0, 3, 0xE8, 0x05, 0x78, 60, 59];
        assert!(matches!(
            Oti::parse_ext_fti(FecEncodingId::ReedSolomonGf28, &bytes),
            Err(WireError::InvalidOti {
                fec_encoding_id: 5,
                ..
            })
        ));
    }
}
