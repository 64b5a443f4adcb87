//! FLUTE/ALC/LCT wire formats (RFC 5651, 5775, 6726): zero-copy views and high-level reprs.
//!
//! Each format has, in the smoltcp manner, a view over the bytes that checks lengths once
//! (`LctPacket::new_checked`, `AlcPacket::parse`) and a `Repr` that `parse`s into plain fields and
//! `emit`s into a caller's buffer, returning the length written (`buffer_len()` tells it first):
//!
//! - [`LctPacket`] / [`LctRepr`]: the LCT header (RFC 5651 §5.1);
//! - [`ExtRepr`] and its variants: header extensions (RFC 5651 §5.2): EXT_NOP, EXT_AUTH
//!   (RFC 6584), EXT_TIME, EXT_FDT, EXT_CENC;
//! - [`Oti`]: EXT_FTI and the FEC OTI per FEC Encoding ID (RFC 5445, 5053, 5510, 6330);
//! - [`PayloadId`]: FEC Payload IDs per FEC Encoding ID;
//! - [`AlcPacket`] / [`AlcRepr`]: a whole ALC packet (RFC 5775 §4).
//!
//! The encodings are byte for byte those of the flute crate 1.11.7; where flute departs from an
//! RFC, the module says so. Parsing never panics, never reads past the buffer and never
//! allocates; every malformed input is a [`WireError`] variant.

pub(crate) mod alc;
mod bytes;
pub(crate) mod error;
pub(crate) mod ext;
pub(crate) mod fti;
pub(crate) mod lct;
pub(crate) mod oti;
pub(crate) mod payload_id;

pub use alc::{AlcPacket, AlcRepr};
pub use error::WireError;
pub use ext::{
    ExtAuth, ExtCenc, ExtFdt, ExtRepr, ExtTime, ExtensionIter, RawExtension, emit_extensions, het,
};
pub use lct::{
    HDR_LEN_MAX_BYTES, LCT_VERSION, LctPacket, LctRepr, LctWidths, TOI_MAX, TSI_MAX, parse_header,
};
pub use oti::{FecEncodingId, Oti, SchemeSpecific, SchemeSpecificInfo};
pub use payload_id::{PayloadId, PayloadIdFormat};
