//! `WireError`: every way an LCT/ALC packet can be malformed on parse, and every way a value can
//! fail to fit its field on emit. One variant per case so that receivers can count them apart.

use thiserror::Error;

/// A malformed packet (parse) or a value that cannot be put on the wire (emit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum WireError {
    /// The packet ends before a field that must be there.
    #[error("packet truncated: {needed} bytes needed, {got} present")]
    Truncated {
        /// Bytes needed to read the field.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The LCT version number (V) is not 1 (RFC 5651 §5.1).
    #[error("unsupported LCT version {0}")]
    BadVersion(u8),
    /// HDR_LEN is shorter than the fixed part of the LCT header that the flags announce.
    #[error(
        "HDR_LEN {hdr_len_bytes} bytes is shorter than the {fixed_len_bytes}-byte fixed LCT header"
    )]
    HdrLenTooShort {
        /// HDR_LEN, in bytes.
        hdr_len_bytes: usize,
        /// The length of the fixed part (first word, CCI, TSI, TOI), in bytes.
        fixed_len_bytes: usize,
    },
    /// HDR_LEN runs past the end of the packet.
    #[error("HDR_LEN {hdr_len_bytes} bytes runs past the {buffer_len}-byte packet")]
    HdrLenPastBuffer {
        /// HDR_LEN, in bytes.
        hdr_len_bytes: usize,
        /// Packet length, in bytes.
        buffer_len: usize,
    },
    /// A variable-length header extension has HEL = 0, which would never advance.
    #[error("header extension HET {het} has HEL 0")]
    ZeroHel {
        /// Header Extension Type.
        het: u8,
    },
    /// A header extension runs past the end of the LCT header (HDR_LEN).
    #[error(
        "header extension HET {het} of {ext_len_bytes} bytes runs past HDR_LEN ({remaining} bytes left)"
    )]
    HelPastHeader {
        /// Header Extension Type.
        het: u8,
        /// The extension's length (HEL), in bytes.
        ext_len_bytes: usize,
        /// Bytes left in the LCT header from the start of the extension.
        remaining: usize,
    },
    /// A known header extension does not have the length its format requires.
    #[error("header extension HET {het} has a bad length of {len_bytes} bytes")]
    BadExtLength {
        /// Header Extension Type.
        het: u8,
        /// The extension's length, in bytes.
        len_bytes: usize,
    },
    /// The FEC Encoding ID is not one xflute knows.
    #[error("unsupported FEC Encoding ID {0}")]
    UnsupportedFecEncodingId(u8),
    /// The FLUTE version in EXT_FDT is neither 1 (RFC 3926) nor 2 (RFC 6726).
    #[error("unsupported FLUTE version {0} in EXT_FDT")]
    UnsupportedFluteVersion(u8),
    /// A value does not fit the width of its field.
    #[error("{field} = {value} does not fit in {bits} bits")]
    FieldOverflow {
        /// The field, in the RFC's words.
        field: &'static str,
        /// The value that was asked for.
        value: u128,
        /// The width of the field.
        bits: u32,
    },
    /// An LCT field width that the header flags cannot express (CCI 4/8/12/16 bytes; TSI 0/2/4/6
    /// and TOI 0..=14 bytes in steps of 2, both odd or both even in half-words).
    #[error("LCT {field} width of {len_bytes} bytes cannot be expressed by the header flags")]
    BadFieldWidth {
        /// `CCI`, `TSI` or `TOI`.
        field: &'static str,
        /// The width asked for, in bytes.
        len_bytes: usize,
    },
    /// The caller's buffer is too small for what is to be written.
    #[error("buffer too small: {needed} bytes needed, {got} available")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
    /// The FEC OTI carries values that the FEC scheme forbids.
    #[error("invalid FEC OTI for FEC Encoding ID {fec_encoding_id}: {reason}")]
    InvalidOti {
        /// The FEC Encoding ID.
        fec_encoding_id: u8,
        /// What is wrong, in the RFC's words.
        reason: &'static str,
    },
    /// The FEC-OTI-Scheme-Specific-Info does not have the length the scheme defines.
    #[error(
        "FEC Encoding ID {fec_encoding_id}: scheme-specific info of {len_bytes} bytes, expected {expected}"
    )]
    BadSchemeSpecificLength {
        /// The FEC Encoding ID.
        fec_encoding_id: u8,
        /// The length received.
        len_bytes: usize,
        /// The length the scheme defines.
        expected: usize,
    },
    /// The scheme-specific parameters do not belong to the FEC Encoding ID.
    #[error("scheme-specific parameters do not match FEC Encoding ID {0}")]
    SchemeSpecificMismatch(u8),
    /// The FEC Payload ID of Reed-Solomon GF(2^m) (ID 2) cannot be read without m, which only the
    /// FEC OTI (EXT_FTI or the FDT) carries.
    #[error("FEC Payload ID for FEC Encoding ID 2 needs m from the FEC OTI")]
    PayloadIdNeedsOti,
    /// The Source Block Length is carried only by FEC Encoding ID 129, and must be given for it.
    #[error("source block length must be present for FEC Encoding ID 129 and absent otherwise")]
    SourceBlockLength,
}
