//! Big-endian field access that cannot panic: every read and write goes through `get`, and a
//! missing byte becomes a typed error instead of an index out of bounds.

use core::ops::Range;

use super::WireError;

/// `buf[range]`, or `Truncated` when the packet ends first.
pub(crate) fn slice(buf: &[u8], range: Range<usize>) -> Result<&[u8], WireError> {
    let needed = range.end;
    buf.get(range).ok_or(WireError::Truncated {
        needed,
        got: buf.len(),
    })
}

/// `&mut buf[range]`, or `BufferTooSmall` when the caller's buffer ends first.
pub(crate) fn slice_mut(buf: &mut [u8], range: Range<usize>) -> Result<&mut [u8], WireError> {
    let got = buf.len();
    let needed = range.end;
    buf.get_mut(range)
        .ok_or(WireError::BufferTooSmall { needed, got })
}

/// The big-endian unsigned integer in `bytes` (at most 16 bytes; callers guarantee it).
pub(crate) fn be_uint(bytes: &[u8]) -> u128 {
    bytes
        .iter()
        .fold(0u128, |acc, &b| (acc << 8) | u128::from(b))
}

/// Writes the low `dst.len()` bytes of `value`, big-endian. The caller has checked that `value`
/// fits; higher bytes would be dropped.
pub(crate) fn put_be(dst: &mut [u8], value: u128) {
    for (i, byte) in dst.iter_mut().rev().enumerate() {
        let shift = u32::try_from(i * 8).unwrap_or(u32::MAX);
        *byte = value.checked_shr(shift).unwrap_or(0) as u8;
    }
}

/// Big-endian `u16` at `offset`.
pub(crate) fn read_u16(buf: &[u8], offset: usize) -> Result<u16, WireError> {
    Ok(be_uint(slice(buf, offset..offset + 2)?) as u16)
}

/// Big-endian `u32` at `offset`.
pub(crate) fn read_u32(buf: &[u8], offset: usize) -> Result<u32, WireError> {
    Ok(be_uint(slice(buf, offset..offset + 4)?) as u32)
}

/// The byte at `offset`.
pub(crate) fn read_u8(buf: &[u8], offset: usize) -> Result<u8, WireError> {
    buf.get(offset).copied().ok_or(WireError::Truncated {
        needed: offset + 1,
        got: buf.len(),
    })
}

/// `FieldOverflow` unless `value` fits in `bits` bits.
pub(crate) fn check_fits(field: &'static str, value: u128, bits: u32) -> Result<(), WireError> {
    if value.checked_shr(bits).unwrap_or(0) == 0 {
        Ok(())
    } else {
        Err(WireError::FieldOverflow { field, value, bits })
    }
}
