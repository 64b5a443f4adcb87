//! FEC Encoding IDs and the FEC Object Transmission Information (RFC 5052 §3.3): the common
//! elements, the scheme-specific elements of each scheme (RFC 5445, 5053, 5510, 6330), the limits
//! each scheme puts on them, and the FDT's view of the scheme-specific elements
//! (FEC-OTI-Scheme-Specific-Info, RFC 6726 §3.4.2, base64 of the bytes given here).
//!
//! The EXT_FTI encodings of an `Oti` live in `fti.rs`.

use super::WireError;
use super::bytes::check_fits;

/// FEC Encoding IDs that xflute and flute 1.11.7 both know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum FecEncodingId {
    /// Compact No-Code (RFC 5445 §3).
    NoCode = 0,
    /// Raptor (RFC 5053).
    Raptor = 1,
    /// Reed-Solomon over GF(2^m) (RFC 5510 §4).
    ReedSolomonGf2m = 2,
    /// Reed-Solomon over GF(2^8) (RFC 5510 §5).
    ReedSolomonGf28 = 5,
    /// RaptorQ (RFC 6330).
    RaptorQ = 6,
    /// Small Block Systematic (RFC 5445 §5), Reed-Solomon over GF(2^8) as flute runs it.
    ReedSolomonGf28UnderSpecified = 129,
}

impl TryFrom<u8> for FecEncodingId {
    type Error = WireError;

    fn try_from(value: u8) -> Result<Self, WireError> {
        Ok(match value {
            0 => Self::NoCode,
            1 => Self::Raptor,
            2 => Self::ReedSolomonGf2m,
            5 => Self::ReedSolomonGf28,
            6 => Self::RaptorQ,
            129 => Self::ReedSolomonGf28UnderSpecified,
            other => return Err(WireError::UnsupportedFecEncodingId(other)),
        })
    }
}

impl From<FecEncodingId> for u8 {
    fn from(id: FecEncodingId) -> u8 {
        id as u8
    }
}

impl FecEncodingId {
    /// Under-specified schemes (ID >= 128) carry a FEC Instance ID (RFC 5052 §5).
    pub fn is_under_specified(self) -> bool {
        self as u8 >= 128
    }
}

/// The scheme-specific elements of the FEC OTI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemeSpecific {
    /// IDs 0, 5 and 129 have none.
    None,
    /// RFC 5510 §4.2.3: m (field size in bits, 2..=16) and G (encoding symbols per packet).
    /// Kept as sent: 0 means the default (m = 8, G = 1); see [`SchemeSpecific::effective_m`].
    ReedSolomonGf2m {
        /// m.
        m: u8,
        /// G.
        g: u8,
    },
    /// RFC 5053 §3.2.3: number of source blocks Z (16 bits), sub-blocks N (8 bits), alignment Al.
    Raptor {
        /// Z.
        z: u16,
        /// N.
        n: u8,
        /// Al.
        al: u8,
    },
    /// RFC 6330 §3.3.3: number of source blocks Z (8 bits), sub-blocks N (16 bits), alignment Al.
    RaptorQ {
        /// Z.
        z: u8,
        /// N.
        n: u16,
        /// Al.
        al: u8,
    },
}

/// Default m of RFC 5510 §4.2.3 when the field is 0.
const RS_DEFAULT_M: u8 = 8;
/// Default G of RFC 5510 §4.2.3 when the field is 0.
const RS_DEFAULT_G: u8 = 1;
/// RFC 5053 §3.2.2: the Transfer Length is less than 2^45.
const RAPTOR_MAX_TRANSFER_LENGTH: u64 = (1 << 45) - 1;
/// RFC 6330 §3.3.2 as corrected by erratum 5548 (flute uses the same bound).
const RAPTORQ_MAX_TRANSFER_LENGTH: u64 = 942_574_504_275;

impl SchemeSpecific {
    /// m, with 0 read as the default 8 (RFC 5510 §4.2.3).
    pub fn effective_m(&self) -> Option<u8> {
        match *self {
            Self::ReedSolomonGf2m { m: 0, .. } => Some(RS_DEFAULT_M),
            Self::ReedSolomonGf2m { m, .. } => Some(m),
            _ => None,
        }
    }

    /// G, with 0 read as the default 1 (RFC 5510 §4.2.3).
    pub fn effective_g(&self) -> Option<u8> {
        match *self {
            Self::ReedSolomonGf2m { g: 0, .. } => Some(RS_DEFAULT_G),
            Self::ReedSolomonGf2m { g, .. } => Some(g),
            _ => None,
        }
    }

    /// The encoded scheme-specific elements, the bytes that FEC-OTI-Scheme-Specific-Info carries
    /// in base64 (RFC 6726 §3.4.2): m, G for ID 2; Z (16), N (8), Al for ID 1; Z (8), N (16), Al
    /// for ID 6; none otherwise.
    pub fn to_bytes(&self) -> SchemeSpecificInfo {
        let (bytes, len) = match *self {
            Self::None => ([0; 4], 0),
            Self::ReedSolomonGf2m { m, g } => ([m, g, 0, 0], 2),
            Self::Raptor { z, n, al } => {
                let [z0, z1] = z.to_be_bytes();
                ([z0, z1, n, al], 4)
            }
            Self::RaptorQ { z, n, al } => {
                let [n0, n1] = n.to_be_bytes();
                ([z, n0, n1, al], 4)
            }
        };
        SchemeSpecificInfo { bytes, len }
    }

    /// Decodes FEC-OTI-Scheme-Specific-Info (after base64) for `fec_encoding_id`.
    pub fn from_scheme_specific_info(
        fec_encoding_id: FecEncodingId,
        bytes: &[u8],
    ) -> Result<Self, WireError> {
        let bad_len = |expected| WireError::BadSchemeSpecificLength {
            fec_encoding_id: fec_encoding_id.into(),
            len_bytes: bytes.len(),
            expected,
        };
        match fec_encoding_id {
            FecEncodingId::NoCode
            | FecEncodingId::ReedSolomonGf28
            | FecEncodingId::ReedSolomonGf28UnderSpecified => {
                if bytes.is_empty() {
                    Ok(Self::None)
                } else {
                    Err(bad_len(0))
                }
            }
            FecEncodingId::ReedSolomonGf2m => match *bytes {
                [m, g] => Ok(Self::ReedSolomonGf2m { m, g }),
                _ => Err(bad_len(2)),
            },
            FecEncodingId::Raptor => match *bytes {
                [z0, z1, n, al] => Ok(Self::Raptor {
                    z: u16::from_be_bytes([z0, z1]),
                    n,
                    al,
                }),
                _ => Err(bad_len(4)),
            },
            FecEncodingId::RaptorQ => match *bytes {
                [z, n0, n1, al] => Ok(Self::RaptorQ {
                    z,
                    n: u16::from_be_bytes([n0, n1]),
                    al,
                }),
                _ => Err(bad_len(4)),
            },
        }
    }
}

/// The encoded scheme-specific elements (at most 4 bytes), without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemeSpecificInfo {
    bytes: [u8; 4],
    len: usize,
}

impl SchemeSpecificInfo {
    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// FEC Object Transmission Information of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Oti {
    /// FEC Encoding ID.
    pub fec_encoding_id: FecEncodingId,
    /// FEC Instance ID: only for under-specified schemes (129); 0 otherwise.
    pub fec_instance_id: u16,
    /// Transfer Length (L, or F for Raptor/RaptorQ), in bytes.
    pub transfer_length: u64,
    /// Encoding Symbol Length (E, or T for Raptor/RaptorQ), in bytes.
    pub encoding_symbol_length: u16,
    /// Maximum Source Block Length (B), in symbols. Raptor and RaptorQ do not carry it; parsing
    /// derives it as ceil(F / (Z * T)), the largest source block of RFC 5052 §9.1 partitioning.
    pub maximum_source_block_length: u32,
    /// Maximum Number of Encoding Symbols (max_n). IDs 0, 1 and 6 do not carry it; parsing sets
    /// it to B (no repair symbols are announced), as flute's zero parity count does.
    pub max_number_of_encoding_symbols: u32,
    /// Scheme-specific elements.
    pub scheme_specific: SchemeSpecific,
}

impl Oti {
    fn invalid(&self, reason: &'static str) -> WireError {
        WireError::InvalidOti {
            fec_encoding_id: self.fec_encoding_id.into(),
            reason,
        }
    }

    /// Checks that every element fits its field and meets its scheme's limits. Both parsing and
    /// emitting EXT_FTI call it, so a parsed `Oti` can always be re-emitted.
    pub fn validate(&self) -> Result<(), WireError> {
        use FecEncodingId as Id;
        let id = self.fec_encoding_id;
        if !id.is_under_specified() && self.fec_instance_id != 0 {
            return Err(self.invalid("FEC Instance ID is only defined for under-specified schemes"));
        }
        let transfer_length_bits = if id == Id::RaptorQ { 40 } else { 48 };
        check_fits(
            "Transfer Length",
            u128::from(self.transfer_length),
            transfer_length_bits,
        )?;
        let b = self.maximum_source_block_length;
        let max_n = self.max_number_of_encoding_symbols;
        match (id, self.scheme_specific) {
            (Id::NoCode, SchemeSpecific::None) => Ok(()),
            (Id::ReedSolomonGf28, SchemeSpecific::None) => {
                check_fits("Maximum Source Block Length", u128::from(b), 8)?;
                check_fits("Max Number of Encoding Symbols", u128::from(max_n), 8)?;
                self.check_b_le_max_n()
            }
            (Id::ReedSolomonGf28UnderSpecified, SchemeSpecific::None) => {
                check_fits("Maximum Source Block Length", u128::from(b), 16)?;
                check_fits("Max Number of Encoding Symbols", u128::from(max_n), 16)?;
                self.check_b_le_max_n()
            }
            (Id::ReedSolomonGf2m, scheme @ SchemeSpecific::ReedSolomonGf2m { .. }) => {
                check_fits("Maximum Source Block Length", u128::from(b), 16)?;
                check_fits("Max Number of Encoding Symbols", u128::from(max_n), 16)?;
                let m = scheme.effective_m().unwrap_or(RS_DEFAULT_M);
                if !(2..=16).contains(&m) {
                    return Err(self.invalid("m must be between 2 and 16"));
                }
                if u64::from(max_n) > (1u64 << m) - 1 {
                    return Err(self.invalid("max_n must be at most 2^m - 1"));
                }
                self.check_b_le_max_n()
            }
            (Id::Raptor, SchemeSpecific::Raptor { z, n, al }) => {
                if self.transfer_length > RAPTOR_MAX_TRANSFER_LENGTH {
                    return Err(self.invalid("Transfer Length (F) must be less than 2^45"));
                }
                self.check_raptor_family(u32::from(z), u32::from(n), al)
            }
            (Id::RaptorQ, SchemeSpecific::RaptorQ { z, n, al }) => {
                if self.transfer_length > RAPTORQ_MAX_TRANSFER_LENGTH {
                    return Err(self.invalid("Transfer Length (F) must be at most 942574504275"));
                }
                self.check_raptor_family(u32::from(z), u32::from(n), al)
            }
            _ => Err(WireError::SchemeSpecificMismatch(id.into())),
        }
    }

    /// flute rejects max_n < B for ID 5 but clamps it for IDs 2 and 129; no sender of ours or
    /// flute's writes it, so we reject it for all three rather than guess a repair count.
    fn check_b_le_max_n(&self) -> Result<(), WireError> {
        if self.maximum_source_block_length > self.max_number_of_encoding_symbols {
            return Err(self.invalid(
                "Max Number of Encoding Symbols is lower than the Maximum Source Block Length",
            ));
        }
        Ok(())
    }

    /// RFC 5053 §3.2.3 / RFC 6330 §3.3.3 and §4.4.1.2: Al >= 1, T a non-zero multiple of Al,
    /// N >= 1, and Z >= 1 unless the object is empty.
    fn check_raptor_family(&self, z: u32, n: u32, al: u8) -> Result<(), WireError> {
        let t = self.encoding_symbol_length;
        if al == 0 {
            return Err(self.invalid("symbol alignment Al must be at least 1"));
        }
        if t == 0 || !t.is_multiple_of(u16::from(al)) {
            return Err(self.invalid("symbol size T must be a non-zero multiple of Al"));
        }
        if n == 0 {
            return Err(self.invalid("number of sub-blocks N must be at least 1"));
        }
        if z == 0 && self.transfer_length != 0 {
            return Err(self.invalid("number of source blocks Z must be at least 1"));
        }
        Ok(())
    }

    /// For Raptor and RaptorQ, the Maximum Source Block Length that the FTI does not carry:
    /// ceil(F / (Z * T)) (equal to ceil(ceil(F / T) / Z), RFC 5052 §9.1's KL).
    pub(crate) fn derived_maximum_source_block_length(
        transfer_length: u64,
        z: u32,
        symbol_len: u16,
    ) -> u32 {
        let per_block = u128::from(z) * u128::from(symbol_len);
        if per_block == 0 {
            return 0;
        }
        let kl = u128::from(transfer_length).div_ceil(per_block);
        u32::try_from(kl).unwrap_or(u32::MAX)
    }

    /// FEC-OTI-Scheme-Specific-Info bytes (to be base64-encoded into the FDT), or `None` for
    /// schemes that have no scheme-specific elements.
    pub fn scheme_specific_info_bytes(&self) -> Option<SchemeSpecificInfo> {
        let info = self.scheme_specific.to_bytes();
        (!info.as_bytes().is_empty()).then_some(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fec_encoding_ids_round_trip_and_others_are_unsupported() {
        for byte in 0..=255u8 {
            match FecEncodingId::try_from(byte) {
                Ok(id) => assert_eq!(u8::from(id), byte),
                Err(e) => assert_eq!(e, WireError::UnsupportedFecEncodingId(byte)),
            }
        }
    }

    proptest! {
        #[test]
        fn scheme_specific_info_round_trips(z in any::<u16>(), n in any::<u16>(), al in any::<u8>(), m in any::<u8>()) {
            for (id, scheme) in [
                (FecEncodingId::Raptor, SchemeSpecific::Raptor { z, n: n as u8, al }),
                (FecEncodingId::RaptorQ, SchemeSpecific::RaptorQ { z: z as u8, n, al }),
                (FecEncodingId::ReedSolomonGf2m, SchemeSpecific::ReedSolomonGf2m { m, g: al }),
                (FecEncodingId::NoCode, SchemeSpecific::None),
            ] {
                let info = scheme.to_bytes();
                let parsed = SchemeSpecific::from_scheme_specific_info(id, info.as_bytes()).unwrap();
                prop_assert_eq!(parsed, scheme);
            }
        }
    }

    #[test]
    fn scheme_specific_info_of_wrong_length_is_rejected() {
        assert_eq!(
            SchemeSpecific::from_scheme_specific_info(FecEncodingId::RaptorQ, &[1, 2, 3]),
            Err(WireError::BadSchemeSpecificLength {
                fec_encoding_id: 6,
                len_bytes: 3,
                expected: 4
            })
        );
        assert!(SchemeSpecific::from_scheme_specific_info(FecEncodingId::NoCode, &[1]).is_err());
    }

    #[test]
    fn scheme_specific_info_matches_flute_bytes() {
        // flute: RaptorQ Z(8) N(16) Al(8); Raptor Z(16) N(8) Al(8); RS2m m, G.
        let q = SchemeSpecific::RaptorQ {
            z: 3,
            n: 0x0102,
            al: 4,
        };
        assert_eq!(q.to_bytes().as_bytes(), &[3, 1, 2, 4]);
        let r = SchemeSpecific::Raptor {
            z: 0x0102,
            n: 3,
            al: 4,
        };
        assert_eq!(r.to_bytes().as_bytes(), &[1, 2, 3, 4]);
        let rs = SchemeSpecific::ReedSolomonGf2m { m: 16, g: 1 };
        assert_eq!(rs.to_bytes().as_bytes(), &[16, 1]);
        assert!(SchemeSpecific::None.to_bytes().as_bytes().is_empty());
    }
}
