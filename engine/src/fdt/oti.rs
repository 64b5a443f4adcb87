//! The FDT's FEC-OTI-* attributes (RFC 6726 §3.4.2) to and from the wire layer's [`Oti`].
//!
//! An FDT File entry's attributes, with the FDT-Instance's as defaults, plus the object's
//! Transfer-Length, make one OTI. Every value is checked against the field it stands for and the
//! scheme's limits ([`Oti::validate`]), so an OTI from a hostile FDT is as safe to use as one
//! from an EXT_FTI.

use super::model::FecOtiAttributes;
use crate::wire::{FecEncodingId, Oti, SchemeSpecific, WireError};
use thiserror::Error;

/// Why an FDT's FEC-OTI-* attributes do not make an OTI.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OtiAttributeError {
    /// A required attribute is absent.
    #[error("the FDT gives no {0}")]
    Missing(&'static str),
    /// A value does not fit the field it stands for.
    #[error("FDT attribute {name} = {value} is out of range")]
    OutOfRange {
        /// The attribute.
        name: &'static str,
        /// Its value.
        value: u64,
    },
    /// The values are inconsistent for their scheme.
    #[error(transparent)]
    Wire(#[from] WireError),
}

fn narrow<T: TryFrom<u64>>(name: &'static str, value: u64) -> Result<T, OtiAttributeError> {
    T::try_from(value).map_err(|_| OtiAttributeError::OutOfRange { name, value })
}

impl FecOtiAttributes {
    /// The OTI these attributes describe for an object of `transfer_length` bytes. Attributes
    /// that a scheme's EXT_FTI does not carry may be absent: Maximum-Source-Block-Length for
    /// Raptor and RaptorQ (derived from Z), Max-Number-of-Encoding-Symbols (then equal to the
    /// block length: no repair symbols announced).
    pub fn to_oti(&self, transfer_length: u64) -> Result<Oti, OtiAttributeError> {
        let id = self
            .fec_encoding_id
            .ok_or(OtiAttributeError::Missing("FEC-OTI-FEC-Encoding-ID"))?;
        let fec_encoding_id = FecEncodingId::try_from(id)?;
        let encoding_symbol_length: u16 = narrow(
            "FEC-OTI-Encoding-Symbol-Length",
            self.encoding_symbol_length
                .ok_or(OtiAttributeError::Missing("FEC-OTI-Encoding-Symbol-Length"))?,
        )?;
        let scheme_specific = match fec_encoding_id {
            // Schemes without scheme-specific elements ignore whatever the attribute says.
            FecEncodingId::NoCode
            | FecEncodingId::ReedSolomonGf28
            | FecEncodingId::ReedSolomonGf28UnderSpecified => SchemeSpecific::None,
            // RFC 5510 §4.2.3: absent means the defaults m = 8, G = 1.
            FecEncodingId::ReedSolomonGf2m => match &self.scheme_specific_info {
                Some(bytes) => SchemeSpecific::from_scheme_specific_info(fec_encoding_id, bytes)?,
                None => SchemeSpecific::ReedSolomonGf2m { m: 8, g: 1 },
            },
            FecEncodingId::Raptor | FecEncodingId::RaptorQ => {
                let bytes = self
                    .scheme_specific_info
                    .as_deref()
                    .ok_or(OtiAttributeError::Missing("FEC-OTI-Scheme-Specific-Info"))?;
                SchemeSpecific::from_scheme_specific_info(fec_encoding_id, bytes)?
            }
        };
        let maximum_source_block_length: u32 =
            match (self.maximum_source_block_length, scheme_specific) {
                (Some(b), _) => narrow("FEC-OTI-Maximum-Source-Block-Length", b)?,
                (None, SchemeSpecific::Raptor { z, .. }) => {
                    Oti::derived_maximum_source_block_length(
                        transfer_length,
                        u32::from(z),
                        encoding_symbol_length,
                    )
                }
                (None, SchemeSpecific::RaptorQ { z, .. }) => {
                    Oti::derived_maximum_source_block_length(
                        transfer_length,
                        u32::from(z),
                        encoding_symbol_length,
                    )
                }
                (None, _) => {
                    return Err(OtiAttributeError::Missing(
                        "FEC-OTI-Maximum-Source-Block-Length",
                    ));
                }
            };
        let max_number_of_encoding_symbols = match self.max_number_of_encoding_symbols {
            Some(n) => narrow("FEC-OTI-Max-Number-of-Encoding-Symbols", n)?,
            None => maximum_source_block_length,
        };
        let fec_instance_id = match self.fec_instance_id {
            Some(i) if fec_encoding_id.is_under_specified() => {
                narrow("FEC-OTI-FEC-Instance-ID", i)?
            }
            // An instance ID on a fully-specified scheme has no meaning; RFC 5052 §5 drops it.
            _ => 0,
        };
        let oti = Oti {
            fec_encoding_id,
            fec_instance_id,
            transfer_length,
            encoding_symbol_length,
            maximum_source_block_length,
            max_number_of_encoding_symbols,
            scheme_specific,
        };
        oti.validate()?;
        Ok(oti)
    }

    /// The attributes that announce `oti` in an FDT.
    pub fn from_oti(oti: &Oti) -> Self {
        Self {
            fec_encoding_id: Some(oti.fec_encoding_id.into()),
            fec_instance_id: oti
                .fec_encoding_id
                .is_under_specified()
                .then_some(u64::from(oti.fec_instance_id)),
            maximum_source_block_length: Some(u64::from(oti.maximum_source_block_length)),
            encoding_symbol_length: Some(u64::from(oti.encoding_symbol_length)),
            max_number_of_encoding_symbols: Some(u64::from(oti.max_number_of_encoding_symbols)),
            scheme_specific_info: oti
                .scheme_specific_info_bytes()
                .map(|info| info.as_bytes().to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn oti(id: FecEncodingId, scheme_specific: SchemeSpecific, b: u32, n: u32) -> Oti {
        Oti {
            fec_encoding_id: id,
            fec_instance_id: 0,
            transfer_length: 1_000_000,
            encoding_symbol_length: 1400,
            maximum_source_block_length: b,
            max_number_of_encoding_symbols: n,
            scheme_specific,
        }
    }

    #[test]
    fn every_scheme_round_trips_through_fdt_attributes() {
        let cases = [
            oti(FecEncodingId::NoCode, SchemeSpecific::None, 64, 64),
            oti(FecEncodingId::ReedSolomonGf28, SchemeSpecific::None, 60, 64),
            Oti {
                fec_instance_id: 0,
                ..oti(
                    FecEncodingId::ReedSolomonGf28UnderSpecified,
                    SchemeSpecific::None,
                    60,
                    64,
                )
            },
            oti(
                FecEncodingId::ReedSolomonGf2m,
                SchemeSpecific::ReedSolomonGf2m { m: 16, g: 1 },
                1000,
                1200,
            ),
            oti(
                FecEncodingId::RaptorQ,
                SchemeSpecific::RaptorQ { z: 1, n: 1, al: 4 },
                715,
                715,
            ),
            oti(
                FecEncodingId::Raptor,
                SchemeSpecific::Raptor { z: 1, n: 1, al: 4 },
                715,
                715,
            ),
        ];
        for case in cases {
            let attrs = FecOtiAttributes::from_oti(&case);
            assert_eq!(attrs.to_oti(case.transfer_length), Ok(case), "{case:?}");
        }
    }

    #[test]
    fn raptorq_block_length_is_derived_when_the_fdt_leaves_it_out() {
        let attrs = FecOtiAttributes {
            fec_encoding_id: Some(6),
            encoding_symbol_length: Some(1400),
            scheme_specific_info: Some(vec![2, 0, 1, 4]),
            ..Default::default()
        };
        let oti = attrs.to_oti(1400 * 100).unwrap();
        assert_eq!(oti.maximum_source_block_length, 50);
    }

    #[test]
    fn missing_and_out_of_range_attributes_are_typed_errors() {
        let mut attrs =
            FecOtiAttributes::from_oti(&oti(FecEncodingId::NoCode, SchemeSpecific::None, 64, 64));
        attrs.encoding_symbol_length = Some(70_000);
        assert!(matches!(
            attrs.to_oti(10),
            Err(OtiAttributeError::OutOfRange { .. })
        ));
        attrs.encoding_symbol_length = None;
        assert_eq!(
            attrs.to_oti(10),
            Err(OtiAttributeError::Missing("FEC-OTI-Encoding-Symbol-Length"))
        );
        let unknown = FecOtiAttributes {
            fec_encoding_id: Some(3),
            ..attrs.clone()
        };
        assert!(matches!(
            unknown.to_oti(10),
            Err(OtiAttributeError::Wire(_))
        ));
        // RS GF(2^8): B > max_n is refused by the scheme's own limits.
        let bad = FecOtiAttributes::from_oti(&oti(
            FecEncodingId::ReedSolomonGf28,
            SchemeSpecific::None,
            64,
            64,
        ));
        let bad = FecOtiAttributes {
            max_number_of_encoding_symbols: Some(10),
            ..bad
        };
        assert!(matches!(bad.to_oti(10), Err(OtiAttributeError::Wire(_))));
    }

    proptest! {
        #[test]
        fn arbitrary_attributes_never_panic(
            id in proptest::option::of(any::<u8>()),
            inst in proptest::option::of(any::<u64>()),
            b in proptest::option::of(any::<u64>()),
            e in proptest::option::of(any::<u64>()),
            n in proptest::option::of(any::<u64>()),
            ssi in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..6)),
            len in any::<u64>(),
        ) {
            let attrs = FecOtiAttributes {
                fec_encoding_id: id,
                fec_instance_id: inst,
                maximum_source_block_length: b,
                encoding_symbol_length: e,
                max_number_of_encoding_symbols: n,
                scheme_specific_info: ssi,
            };
            if let Ok(oti) = attrs.to_oti(len) {
                prop_assert!(oti.validate().is_ok());
            }
        }
    }
}
