//! Packets built to attack a receiver, shared by the library's tests and the CLI's.

use xflute::cenc::Cenc;
use xflute::wire::{
    AlcRepr, ExtCenc, ExtFdt, ExtRepr, FecEncodingId, LctRepr, Oti, PayloadId, PayloadIdFormat,
    SchemeSpecific,
};

/// The first packet of FDT instance `id` of session `tsi`, declaring `oti` (its
/// Transfer-Length and symbols) and, with `cenc`, an EXT_CENC; its one symbol is junk.
pub fn fdt_packet(tsi: u64, id: u32, oti: Oti, cenc: Option<Cenc>) -> Vec<u8> {
    let mut exts = vec![
        ExtRepr::Fdt(ExtFdt {
            flute_version: 2,
            fdt_instance_id: id,
        }),
        ExtRepr::Fti(oti),
    ];
    if let Some(c) = cenc {
        exts.push(ExtRepr::Cenc(ExtCenc {
            content_encoding: c.code(),
        }));
    }
    let symbol = vec![0x1fu8; usize::from(oti.encoding_symbol_length)];
    let repr = AlcRepr {
        lct: LctRepr::with_min_widths(0, tsi, Some(0), 0).expect("a 64-bit TSI fits"),
        extensions: &exts,
        payload_id: Some((
            PayloadIdFormat::CompactNoCode,
            PayloadId {
                sbn: 0,
                esi: 0,
                source_block_length: None,
            },
        )),
    };
    let mut buf = vec![0u8; repr.buffer_len() + symbol.len()];
    let len = repr
        .emit(&mut buf)
        .expect("the buffer has the packet's length");
    buf[len..].copy_from_slice(&symbol);
    buf
}

/// A Compact No-Code OTI for `transfer_length` bytes in symbols of `symbol_len` bytes, at most
/// `block_len` per block.
pub fn no_code_oti(transfer_length: u64, symbol_len: u16, block_len: u32) -> Oti {
    Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length,
        encoding_symbol_length: symbol_len,
        maximum_source_block_length: block_len,
        max_number_of_encoding_symbols: block_len,
        scheme_specific: SchemeSpecific::None,
    }
}
