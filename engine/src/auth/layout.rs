//! Where the fields of one scheme's EXT_AUTH are, and how to find that extension in a packet.
//!
//! ```text
//! | HET=1 | HEL | ASID|rsvd|AR | SN ... | Signature (padded to words) | Group-keyed MAC |
//!  <-------- 4 or 8 bytes ----------->  <-- signature_field_len -->  <-- mac_len --->
//! ```
//! The signature or the MAC is absent in the single schemes; the combined one (RFC 6584 §6.1)
//! has both, in this order.

use core::ops::Range;

use crate::wire::{ExtAuth, ExtensionIter, LctPacket, WireError, het};

/// The sizes of one scheme's EXT_AUTH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) anti_replay: bool,
    /// The signature's own length, bytes (0: no signature).
    pub(crate) signature_len: usize,
    /// The truncated MAC's length, bytes, whole words (0: no MAC).
    pub(crate) mac_len: usize,
}

/// The byte ranges, in the packet, of one EXT_AUTH's parts.
#[derive(Debug, Clone)]
pub(crate) struct Fields {
    /// The whole extension.
    pub(crate) ext: Range<usize>,
    /// The signature field, padding included.
    pub(crate) signature_field: Range<usize>,
    /// The MAC field.
    pub(crate) mac: Range<usize>,
}

impl Layout {
    /// The signature field: the signature, zero-padded to whole words.
    pub(crate) fn signature_field_len(&self) -> usize {
        self.signature_len.div_ceil(4) * 4
    }

    /// The whole extension, bytes.
    pub(crate) fn ext_len(&self) -> usize {
        ExtAuth::fields_offset(self.anti_replay) + self.signature_field_len() + self.mac_len
    }

    /// The ranges of an extension of this layout that starts at `offset` in the packet.
    pub(crate) fn fields_at(&self, offset: usize) -> Fields {
        let signature_start = offset + ExtAuth::fields_offset(self.anti_replay);
        let mac_start = signature_start + self.signature_field_len();
        Fields {
            ext: offset..offset + self.ext_len(),
            signature_field: signature_start..mac_start,
            mac: mac_start..mac_start + self.mac_len,
        }
    }
}

/// One EXT_AUTH found in a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    /// Its offset in the packet.
    pub(crate) offset: usize,
    /// Its length, bytes.
    pub(crate) len: usize,
}

/// What looking for an EXT_AUTH gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Search {
    None,
    One(Found),
    /// More than one matched.
    Several,
}

/// The EXT_AUTH extensions of `packet` whose ASID is `asid` (any ASID when `None`), and the
/// packet's TSI. The LCT header must parse, and its extensions walk to HDR_LEN.
pub(crate) fn find_ext_auth(packet: &[u8], asid: Option<u8>) -> Result<(Search, u64), WireError> {
    let view = LctPacket::new_checked(packet)?;
    let mut offset = view.fixed_len_bytes();
    let mut search = Search::None;
    for raw in ExtensionIter::new(view.header_extensions()) {
        let raw = raw?;
        let matches = raw.het == het::EXT_AUTH
            && asid.is_none_or(|asid| raw.raw.get(2).is_some_and(|b| b >> 4 == asid));
        if matches {
            search = match search {
                Search::None => Search::One(Found {
                    offset,
                    len: raw.raw.len(),
                }),
                Search::One(_) | Search::Several => Search::Several,
            };
        }
        offset += raw.raw.len();
    }
    Ok((search, view.tsi()))
}
