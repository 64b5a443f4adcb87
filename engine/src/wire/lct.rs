//! The LCT header (RFC 5651 §5.1): a zero-copy view, `LctPacket`, and its high-level form,
//! `LctRepr`.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   V   | C |PSI|S| O |H|Res|A|B|   HDR_LEN     | Codepoint (CP)|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Congestion Control Information (CCI, length = 32*(C+1) bits)  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Transport Session Identifier (TSI, length = 32*S+16*H bits)  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Transport Object Identifier (TOI, length = 32*O+16*H bits)  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                Header Extensions (if applicable)              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use super::WireError;
use super::bytes::{be_uint, check_fits, put_be, slice_mut};

/// The LCT version this crate speaks (RFC 5651 §5.1).
pub const LCT_VERSION: u8 = 1;
/// Largest TSI the 48-bit TSI field holds.
pub const TSI_MAX: u64 = (1 << 48) - 1;
/// Largest TOI the 112-bit TOI field holds.
pub const TOI_MAX: u128 = (1 << 112) - 1;
/// Largest LCT header HDR_LEN can describe (255 words).
pub const HDR_LEN_MAX_BYTES: usize = 255 * 4;

mod field {
    /// V (4 bits), C (2 bits), PSI (2 bits).
    pub(super) const V_C_PSI: usize = 0;
    /// S (1), O (2), H (1), Reserved (2), A (1), B (1).
    pub(super) const S_O_H_A_B: usize = 1;
    pub(super) const HDR_LEN: usize = 2;
    pub(super) const CODEPOINT: usize = 3;
    /// CCI starts right after the first word; TSI and TOI follow at offsets set by the flags.
    pub(super) const CCI: usize = 4;
}

/// A read-only (or, for `AsMut` buffers, writable) view of an LCT header at the start of `buffer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LctPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> LctPacket<T> {
    /// Wraps `buffer` without checking it; accessors then return 0 or empty slices for fields
    /// that are missing. Use [`LctPacket::new_checked`] on untrusted input.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps `buffer` after [`LctPacket::check_len`].
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the first word, CCI, TSI and TOI are all present, and that HDR_LEN covers
    /// them and does not run past the buffer. After this, no accessor reads out of bounds.
    pub fn check_len(&self) -> Result<(), WireError> {
        let got = self.buffer.as_ref().len();
        if got < field::CCI {
            return Err(WireError::Truncated {
                needed: field::CCI,
                got,
            });
        }
        let fixed_len_bytes = self.fixed_len_bytes();
        if got < fixed_len_bytes {
            return Err(WireError::Truncated {
                needed: fixed_len_bytes,
                got,
            });
        }
        let hdr_len_bytes = self.hdr_len_bytes();
        if hdr_len_bytes < fixed_len_bytes {
            return Err(WireError::HdrLenTooShort {
                hdr_len_bytes,
                fixed_len_bytes,
            });
        }
        if hdr_len_bytes > got {
            return Err(WireError::HdrLenPastBuffer {
                hdr_len_bytes,
                buffer_len: got,
            });
        }
        Ok(())
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn byte(&self, offset: usize) -> u8 {
        self.buffer.as_ref().get(offset).copied().unwrap_or(0)
    }

    fn uint(&self, offset: usize, len: usize) -> u128 {
        self.buffer
            .as_ref()
            .get(offset..offset + len)
            .map_or(0, be_uint)
    }

    /// LCT version number (V).
    pub fn version(&self) -> u8 {
        self.byte(field::V_C_PSI) >> 4
    }

    /// CCI length in bytes: 4 * (C + 1).
    pub fn cci_len_bytes(&self) -> usize {
        (usize::from((self.byte(field::V_C_PSI) >> 2) & 0x3) + 1) * 4
    }

    /// Protocol-Specific Indication (PSI), 2 bits.
    pub fn psi(&self) -> u8 {
        self.byte(field::V_C_PSI) & 0x3
    }

    fn s(&self) -> usize {
        usize::from(self.byte(field::S_O_H_A_B) >> 7)
    }

    fn o(&self) -> usize {
        usize::from((self.byte(field::S_O_H_A_B) >> 5) & 0x3)
    }

    fn h(&self) -> usize {
        usize::from((self.byte(field::S_O_H_A_B) >> 4) & 0x1)
    }

    /// TSI length in bytes: 4 * S + 2 * H.
    pub fn tsi_len_bytes(&self) -> usize {
        4 * self.s() + 2 * self.h()
    }

    /// TOI length in bytes: 4 * O + 2 * H.
    pub fn toi_len_bytes(&self) -> usize {
        4 * self.o() + 2 * self.h()
    }

    /// Close Session flag (A).
    pub fn close_session(&self) -> bool {
        self.byte(field::S_O_H_A_B) & 0x2 != 0
    }

    /// Close Object flag (B).
    pub fn close_object(&self) -> bool {
        self.byte(field::S_O_H_A_B) & 0x1 != 0
    }

    /// HDR_LEN, converted from 32-bit words to bytes.
    pub fn hdr_len_bytes(&self) -> usize {
        usize::from(self.byte(field::HDR_LEN)) * 4
    }

    /// Codepoint (CP).
    pub fn codepoint(&self) -> u8 {
        self.byte(field::CODEPOINT)
    }

    /// Length of the first word, CCI, TSI and TOI; header extensions start here.
    pub fn fixed_len_bytes(&self) -> usize {
        field::CCI + self.cci_len_bytes() + self.tsi_len_bytes() + self.toi_len_bytes()
    }

    /// Congestion Control Information (CCI).
    pub fn cci(&self) -> u128 {
        self.uint(field::CCI, self.cci_len_bytes())
    }

    /// Transport Session Identifier (TSI); 0 when the field is absent.
    pub fn tsi(&self) -> u64 {
        self.uint(field::CCI + self.cci_len_bytes(), self.tsi_len_bytes()) as u64
    }

    /// Transport Object Identifier (TOI); 0 when the field is absent.
    pub fn toi(&self) -> u128 {
        let offset = field::CCI + self.cci_len_bytes() + self.tsi_len_bytes();
        self.uint(offset, self.toi_len_bytes())
    }

    /// The header extensions: from the end of the TOI to HDR_LEN.
    pub fn header_extensions(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(self.fixed_len_bytes()..self.hdr_len_bytes())
            .unwrap_or_default()
    }

    /// Everything after the LCT header (HDR_LEN).
    pub fn payload(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(self.hdr_len_bytes()..)
            .unwrap_or_default()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> LctPacket<T> {
    /// Sets HDR_LEN, in bytes (a multiple of 4, at most [`HDR_LEN_MAX_BYTES`]).
    pub fn set_hdr_len_bytes(&mut self, len_bytes: usize) -> Result<(), WireError> {
        if !len_bytes.is_multiple_of(4) {
            return Err(WireError::BadFieldWidth {
                field: "HDR_LEN",
                len_bytes,
            });
        }
        let words = len_bytes / 4;
        check_fits("HDR_LEN", words as u128, 8)?;
        let slot = slice_mut(self.buffer.as_mut(), field::HDR_LEN..field::HDR_LEN + 1)?;
        put_be(slot, words as u128);
        Ok(())
    }
}

/// The LCT header's fields, with the widths chosen for CCI, TSI and TOI (so that re-emitting a
/// parsed header gives the same bytes whatever widths its sender picked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LctRepr {
    /// Protocol-Specific Indication, 2 bits.
    pub psi: u8,
    /// Congestion Control Information.
    pub cci: u128,
    /// CCI width: 4, 8, 12 or 16 bytes.
    pub cci_len_bytes: u8,
    /// Transport Session Identifier.
    pub tsi: u64,
    /// TSI width: 0, 2, 4 or 6 bytes.
    pub tsi_len_bytes: u8,
    /// Transport Object Identifier.
    pub toi: u128,
    /// TOI width: 0 to 14 bytes in steps of 2; odd in half-words exactly when the TSI's is.
    pub toi_len_bytes: u8,
    /// Close Session flag (A).
    pub close_session: bool,
    /// Close Object flag (B).
    pub close_object: bool,
    /// Codepoint (CP); FLUTE puts the FEC Encoding ID here.
    pub codepoint: u8,
}

/// How a sender sizes the TSI and TOI fields of its LCT headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LctWidths {
    /// The smallest widths, chosen as the flute crate chooses them
    /// ([`LctRepr::with_min_widths`]): a 16-bit TSI with a TOI over 16 bits gives a 48-bit TOI.
    #[default]
    Minimal,
    /// TSI and TOI both 16 bits when both fit, else both 32 bits, and a TOI field in Close
    /// Session packets too: the only layouts receivers such as GPAC read. TSI and TOI must then
    /// fit 32 bits.
    Words16Or32,
}

/// Smallest width in bytes, in steps of 2 and at least 2, that holds `value`.
fn half_words_needed(value: u128) -> u8 {
    let significant_bytes = 16 - value.leading_zeros() / 8;
    let even = significant_bytes.div_ceil(2) * 2;
    even.max(2) as u8
}

impl LctRepr {
    /// A header with the smallest widths, chosen as the flute crate chooses them so that
    /// xflute's packets are byte-identical to its: CCI at least 32 bits; TSI and TOI at least 16
    /// bits each, grown in half-words; if either needs an odd number of half-words, H = 1 and
    /// both get one. `toi = None` leaves out the TOI (O = 0, H = 0 unless the TSI needs it), as
    /// in a close-session packet; a 16-bit TSI is then carried in 32 bits.
    pub fn with_min_widths(
        cci: u128,
        tsi: u64,
        toi: Option<u128>,
        codepoint: u8,
    ) -> Result<Self, WireError> {
        check_fits("TSI", u128::from(tsi), 48)?;
        if let Some(toi) = toi {
            check_fits("TOI", toi, 112)?;
        }
        let cci_len_bytes = (16 - cci.leading_zeros() / 8).div_ceil(4).max(1) * 4;
        let mut tsi_need = half_words_needed(u128::from(tsi));
        let toi_need = match toi {
            Some(toi) => half_words_needed(toi),
            None => {
                if tsi_need == 2 {
                    tsi_need = 4;
                }
                0
            }
        };
        let h = tsi_need % 4 == 2 || toi_need % 4 == 2;
        let widen = |need: u8| {
            if h && need.is_multiple_of(4) {
                need + 2
            } else {
                need
            }
        };
        Ok(Self {
            psi: 0,
            cci,
            cci_len_bytes: cci_len_bytes as u8,
            tsi,
            tsi_len_bytes: widen(tsi_need),
            toi: toi.unwrap_or(0),
            toi_len_bytes: widen(toi_need),
            close_session: false,
            close_object: false,
            codepoint,
        })
    }

    /// Parses the header of a checked packet. Only V = 1 is accepted: flute 1.11.7 also lets
    /// V = 2 through (it never sends it), but RFC 5651 defines version 1 alone.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(packet: &LctPacket<T>) -> Result<Self, WireError> {
        packet.check_len()?;
        let version = packet.version();
        if version != LCT_VERSION {
            return Err(WireError::BadVersion(version));
        }
        Ok(Self {
            psi: packet.psi(),
            cci: packet.cci(),
            cci_len_bytes: packet.cci_len_bytes() as u8,
            tsi: packet.tsi(),
            tsi_len_bytes: packet.tsi_len_bytes() as u8,
            toi: packet.toi(),
            toi_len_bytes: packet.toi_len_bytes() as u8,
            close_session: packet.close_session(),
            close_object: packet.close_object(),
            codepoint: packet.codepoint(),
        })
    }

    /// Length of the fixed header (first word, CCI, TSI, TOI), in bytes.
    pub fn buffer_len(&self) -> usize {
        field::CCI
            + usize::from(self.cci_len_bytes)
            + usize::from(self.tsi_len_bytes)
            + usize::from(self.toi_len_bytes)
    }

    /// A header sized by `widths`: [`Self::with_min_widths`], or for
    /// [`LctWidths::Words16Or32`] TSI and TOI of 16 bits each when both fit, else 32 bits each
    /// (`toi = None`, a Close Session packet, then carries a TOI of 0).
    pub fn with_widths(
        widths: LctWidths,
        cci: u128,
        tsi: u64,
        toi: Option<u128>,
        codepoint: u8,
    ) -> Result<Self, WireError> {
        match widths {
            LctWidths::Minimal => Self::with_min_widths(cci, tsi, toi, codepoint),
            LctWidths::Words16Or32 => {
                let toi = toi.unwrap_or(0);
                check_fits("TSI", u128::from(tsi), 32)?;
                check_fits("TOI", toi, 32)?;
                let mut repr = Self::with_min_widths(cci, tsi, Some(toi), codepoint)?;
                let width = if tsi <= 0xFFFF && toi <= 0xFFFF { 2 } else { 4 };
                repr.tsi_len_bytes = width;
                repr.toi_len_bytes = width;
                Ok(repr)
            }
        }
    }

    /// The C, S, O, H flags for the widths, or `BadFieldWidth`.
    fn flags(&self) -> Result<(u8, u8, u8, u8), WireError> {
        let bad = |field, len: u8| WireError::BadFieldWidth {
            field,
            len_bytes: usize::from(len),
        };
        let c = match self.cci_len_bytes {
            4 | 8 | 12 | 16 => self.cci_len_bytes / 4 - 1,
            len => return Err(bad("CCI", len)),
        };
        if !matches!(self.tsi_len_bytes, 0 | 2 | 4 | 6) {
            return Err(bad("TSI", self.tsi_len_bytes));
        }
        if self.toi_len_bytes > 14 || !self.toi_len_bytes.is_multiple_of(2) {
            return Err(bad("TOI", self.toi_len_bytes));
        }
        let h = self.tsi_len_bytes % 4 / 2;
        if self.toi_len_bytes % 4 / 2 != h {
            // H is shared: TSI and TOI are both whole words or both a half-word over.
            return Err(bad("TOI", self.toi_len_bytes));
        }
        let s = self.tsi_len_bytes / 4;
        let o = self.toi_len_bytes / 4;
        Ok((c, s, o, h))
    }

    /// Writes the fixed header into `buf` with HDR_LEN covering just it, and returns its length.
    /// Emitting header extensions afterwards raises HDR_LEN (see `AlcRepr::emit`).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let (c, s, o, h) = self.flags()?;
        check_fits("PSI", u128::from(self.psi), 2)?;
        check_fits("CCI", self.cci, u32::from(self.cci_len_bytes) * 8)?;
        check_fits(
            "TSI",
            u128::from(self.tsi),
            u32::from(self.tsi_len_bytes) * 8,
        )?;
        check_fits("TOI", self.toi, u32::from(self.toi_len_bytes) * 8)?;
        let len = self.buffer_len();
        let out = slice_mut(buf, 0..len)?;
        let first_word = [
            (LCT_VERSION << 4) | (c << 2) | self.psi,
            (s << 7)
                | (o << 5)
                | (h << 4)
                | (u8::from(self.close_session) << 1)
                | u8::from(self.close_object),
            (len / 4) as u8,
            self.codepoint,
        ];
        let cci_end = field::CCI + usize::from(self.cci_len_bytes);
        let tsi_end = cci_end + usize::from(self.tsi_len_bytes);
        slice_mut(out, 0..field::CCI)?.copy_from_slice(&first_word);
        put_be(slice_mut(out, field::CCI..cci_end)?, self.cci);
        put_be(slice_mut(out, cci_end..tsi_end)?, u128::from(self.tsi));
        put_be(slice_mut(out, tsi_end..len)?, self.toi);
        Ok(len)
    }
}

/// Parses an LCT header from the start of `buf`: the repr and HDR_LEN in bytes.
pub fn parse_header(buf: &[u8]) -> Result<(LctRepr, usize), WireError> {
    let packet = LctPacket::new_checked(buf)?;
    let repr = LctRepr::parse(&packet)?;
    Ok((repr, packet.hdr_len_bytes()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn widths() -> impl Strategy<Value = (u8, u8, u8)> {
        let cci = prop_oneof![Just(4u8), Just(8), Just(12), Just(16)];
        let tsi_toi = prop_oneof![
            // H = 0
            (
                prop_oneof![Just(0u8), Just(4)],
                prop_oneof![Just(0u8), Just(4), Just(8), Just(12)]
            ),
            // H = 1
            (
                prop_oneof![Just(2u8), Just(6)],
                prop_oneof![Just(2u8), Just(6), Just(10), Just(14)]
            ),
        ];
        (cci, tsi_toi).prop_map(|(c, (s, o))| (c, s, o))
    }

    fn mask(len_bytes: u8) -> u128 {
        if len_bytes >= 16 {
            u128::MAX
        } else {
            (1u128 << (u32::from(len_bytes) * 8)) - 1
        }
    }

    pub(crate) fn lct_repr() -> impl Strategy<Value = LctRepr> {
        (
            widths(),
            any::<u128>(),
            any::<u64>(),
            any::<u128>(),
            0u8..4,
            any::<bool>(),
            any::<bool>(),
            any::<u8>(),
        )
            .prop_map(|((c, s, o), cci, tsi, toi, psi, a, b, cp)| LctRepr {
                psi,
                cci: cci & mask(c),
                cci_len_bytes: c,
                tsi: (u128::from(tsi) & mask(s)) as u64,
                tsi_len_bytes: s,
                toi: toi & mask(o),
                toi_len_bytes: o,
                close_session: a,
                close_object: b,
                codepoint: cp,
            })
    }

    proptest! {
        #[test]
        fn lct_header_round_trips_for_all_widths(repr in lct_repr()) {
            let mut buf = [0u8; 64];
            let len = repr.emit(&mut buf).unwrap();
            prop_assert_eq!(len, repr.buffer_len());
            let (parsed, hdr_len) = parse_header(&buf[..len]).unwrap();
            prop_assert_eq!(parsed, repr);
            prop_assert_eq!(hdr_len, len);
        }

        #[test]
        fn min_widths_hold_the_values_and_round_trip(
            cci in any::<u128>(),
            tsi in 0..=TSI_MAX,
            toi in prop::option::of(0..=TOI_MAX),
            cp in any::<u8>(),
        ) {
            let repr = LctRepr::with_min_widths(cci, tsi, toi, cp).unwrap();
            let mut buf = [0u8; 64];
            let len = repr.emit(&mut buf).unwrap();
            let (parsed, _) = parse_header(&buf[..len]).unwrap();
            prop_assert_eq!(parsed, repr);
            prop_assert_eq!(parsed.toi, toi.unwrap_or(0));
        }

        #[test]
        fn lct_parse_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
            let _ = parse_header(&bytes);
        }
    }

    #[test]
    fn words_16_or_32_never_give_a_48_bit_toi() {
        let cases = [
            (5, Some(7), 2),
            (5, Some(0x1234_5678), 4),
            (0x1_0000, Some(1), 4),
            (5, None, 2),
            (0xFFFF_FFFF, Some(0xFFFF_FFFF), 4),
        ];
        for (tsi, toi, width) in cases {
            let repr = LctRepr::with_widths(LctWidths::Words16Or32, 0, tsi, toi, 0).unwrap();
            assert_eq!((repr.tsi_len_bytes, repr.toi_len_bytes), (width, width));
            let mut buf = [0u8; 32];
            let len = repr.emit(&mut buf).unwrap();
            let back = LctRepr::parse(&LctPacket::new_checked(&buf[..len]).unwrap()).unwrap();
            assert_eq!((back.tsi, back.toi), (tsi, toi.unwrap_or(0)));
        }
        // The minimal widths put a 32-bit TOI beside a 16-bit TSI in 48 bits, as flute does.
        let min = LctRepr::with_widths(LctWidths::Minimal, 0, 5, Some(0x1234_5678), 0).unwrap();
        assert_eq!((min.tsi_len_bytes, min.toi_len_bytes), (2, 6));
        assert!(LctRepr::with_widths(LctWidths::Words16Or32, 0, 1, Some(1 << 32), 0).is_err());
    }

    #[test]
    fn min_widths_match_flute_choices() {
        // CCI 0, TSI 1, TOI 1: H=1, 16-bit TSI and TOI -> 3 words.
        let r = LctRepr::with_min_widths(0, 1, Some(1), 0).unwrap();
        assert_eq!(
            (r.cci_len_bytes, r.tsi_len_bytes, r.toi_len_bytes),
            (4, 2, 2)
        );
        // TSI needs 32 bits, TOI 16: H=1 widens the TSI to 48 bits.
        let r = LctRepr::with_min_widths(0, 0x1_0000, Some(1), 0).unwrap();
        assert_eq!((r.tsi_len_bytes, r.toi_len_bytes), (6, 2));
        // Both need whole words: H=0.
        let r = LctRepr::with_min_widths(1 << 40, 0x1_0000, Some(0x1_0000), 0).unwrap();
        assert_eq!(
            (r.cci_len_bytes, r.tsi_len_bytes, r.toi_len_bytes),
            (8, 4, 4)
        );
        // No TOI: a 16-bit TSI is carried in 32 bits.
        let r = LctRepr::with_min_widths(0, 1, None, 0).unwrap();
        assert_eq!((r.tsi_len_bytes, r.toi_len_bytes), (4, 0));
        let r = LctRepr::with_min_widths(0, 0x1234_5678_9ABC, None, 0).unwrap();
        assert_eq!((r.tsi_len_bytes, r.toi_len_bytes), (6, 2));
        // flute's close-session packet for TSI 1.
        let mut r = LctRepr::with_min_widths(0, 1, None, 0).unwrap();
        r.close_session = true;
        let mut buf = [0u8; 16];
        let len = r.emit(&mut buf).unwrap();
        assert_eq!(&buf[..len], &[0x10, 0x82, 3, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn tsi_and_toi_over_their_fields_are_emit_errors() {
        assert!(matches!(
            LctRepr::with_min_widths(0, TSI_MAX + 1, Some(0), 0),
            Err(WireError::FieldOverflow { field: "TSI", .. })
        ));
        assert!(matches!(
            LctRepr::with_min_widths(0, 0, Some(TOI_MAX + 1), 0),
            Err(WireError::FieldOverflow { field: "TOI", .. })
        ));
        let mut r = LctRepr::with_min_widths(0, 0x1_0000, Some(1), 0).unwrap();
        r.tsi_len_bytes = 2;
        assert!(matches!(
            r.emit(&mut [0u8; 32]),
            Err(WireError::FieldOverflow { field: "TSI", .. })
        ));
        r.tsi_len_bytes = 4; // TOI has H = 1, TSI would not
        assert!(matches!(
            r.emit(&mut [0u8; 32]),
            Err(WireError::BadFieldWidth { field: "TOI", .. })
        ));
        r.tsi_len_bytes = 6;
        r.psi = 4;
        assert!(matches!(
            r.emit(&mut [0u8; 32]),
            Err(WireError::FieldOverflow { field: "PSI", .. })
        ));
    }

    #[test]
    fn emit_into_a_short_buffer_is_buffer_too_small() {
        let r = LctRepr::with_min_widths(0, 1, Some(1), 0).unwrap();
        for len in 0..r.buffer_len() {
            let mut buf = vec![0u8; len];
            assert_eq!(
                r.emit(&mut buf),
                Err(WireError::BufferTooSmall {
                    needed: r.buffer_len(),
                    got: len
                })
            );
        }
    }

    #[test]
    fn truncated_header_is_truncated_at_every_offset() {
        let r = LctRepr::with_min_widths(1 << 100, 0x1234_5678_9ABC, Some(TOI_MAX), 7).unwrap();
        let mut buf = [0u8; 64];
        let len = r.emit(&mut buf).unwrap();
        for cut in 0..len {
            let needed = if cut < 4 { 4 } else { len };
            assert_eq!(
                parse_header(&buf[..cut]),
                Err(WireError::Truncated { needed, got: cut }),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn bad_hdr_len_and_version_are_rejected() {
        let r = LctRepr::with_min_widths(0, 1, Some(1), 0).unwrap();
        let mut buf = [0u8; 32];
        let len = r.emit(&mut buf).unwrap();
        let mut short = buf;
        short[2] = 2;
        assert_eq!(
            parse_header(&short[..len]),
            Err(WireError::HdrLenTooShort {
                hdr_len_bytes: 8,
                fixed_len_bytes: 12
            })
        );
        let mut long = buf;
        long[2] = 4;
        assert_eq!(
            parse_header(&long[..len]),
            Err(WireError::HdrLenPastBuffer {
                hdr_len_bytes: 16,
                buffer_len: 12
            })
        );
        let mut v2 = buf;
        v2[0] = (2 << 4) | (v2[0] & 0x0F);
        assert_eq!(parse_header(&v2[..len]), Err(WireError::BadVersion(2)));
    }
}
