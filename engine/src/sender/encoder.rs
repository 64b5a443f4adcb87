//! How the sender completes an object's OTI for its FEC scheme ([`crate::fec::Scheme`], which
//! encodes the object's blocks).

use super::SenderError;
use crate::fec::{FecError, Scheme};
use crate::wire::{FecEncodingId, Oti};

/// Makes a Compact No-Code OTI (FEC Encoding ID 0) describe one source block holding the whole
/// object, when its 16-bit ESI can number every symbol; other OTIs are left as they are.
pub(crate) fn one_no_code_block(oti: &mut Oti) {
    if oti.fec_encoding_id != FecEncodingId::NoCode || oti.encoding_symbol_length == 0 {
        return;
    }
    let symbols = oti
        .transfer_length
        .div_ceil(u64::from(oti.encoding_symbol_length))
        .max(1);
    if let Ok(k) = u32::try_from(symbols)
        && symbols <= super::config::NO_CODE_MAX_BLOCK_SYMBOLS
    {
        oti.maximum_source_block_length = k;
        oti.max_number_of_encoding_symbols = k;
    }
}

/// For RaptorQ and Raptor, sets Z as flute derives it ([`Scheme::resolve_source_blocks`]); an
/// object with more blocks than Z can announce is too large.
pub fn resolve_source_blocks(oti: &mut Oti) -> Result<(), SenderError> {
    let transfer_length = oti.transfer_length;
    Scheme::resolve_source_blocks(oti).map_err(|e| match e {
        FecError::Partition(e) => SenderError::Partition(e),
        FecError::TooManySourceBlocks { nb_blocks, .. } => SenderError::ObjectTooLarge {
            transfer_length,
            last_sbn: nb_blocks.saturating_sub(1),
            last_esi: 0,
        },
        e => SenderError::Fec(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::SchemeSpecific;

    #[test]
    fn raptorq_z_is_the_number_of_rfc5052_blocks_and_must_fit_8_bits() {
        let mut o = Oti {
            fec_encoding_id: FecEncodingId::RaptorQ,
            fec_instance_id: 0,
            transfer_length: 10 * 64 * 1024 + 1,
            encoding_symbol_length: 1024,
            maximum_source_block_length: 64,
            max_number_of_encoding_symbols: 72,
            scheme_specific: SchemeSpecific::RaptorQ { z: 0, n: 1, al: 4 },
        };
        resolve_source_blocks(&mut o).unwrap();
        assert_eq!(
            o.scheme_specific,
            SchemeSpecific::RaptorQ { z: 11, n: 1, al: 4 }
        );
        o.transfer_length = 256 * 64 * 1024;
        assert!(matches!(
            resolve_source_blocks(&mut o),
            Err(SenderError::ObjectTooLarge { last_sbn: 255, .. })
        ));
    }
}
