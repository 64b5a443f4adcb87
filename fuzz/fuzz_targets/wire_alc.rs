//! The LCT/ALC parser on arbitrary bytes: never a panic; a packet that parses re-emits to a
//! packet that parses to the same fields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xflute::wire::{AlcPacket, AlcRepr, ExtRepr, PayloadIdFormat};

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = AlcPacket::parse(data) else {
        return;
    };
    let _ = packet.payload();
    let extensions: Result<Vec<ExtRepr<'_>>, _> = packet.extension_reprs().collect();
    let Ok(extensions) = extensions else {
        return;
    };
    let format = match packet.fti() {
        Some(oti) => PayloadIdFormat::for_oti(&oti).ok(),
        None => packet
            .fec_encoding_id()
            .ok()
            .and_then(|id| PayloadIdFormat::for_fec_encoding_id(id).ok()),
    };
    let repr = AlcRepr {
        lct: *packet.lct(),
        extensions: &extensions,
        payload_id: packet.payload_id().zip(format).map(|(id, f)| (f, id)),
    };
    let mut out = vec![0u8; repr.buffer_len() + packet.payload().len()];
    let Ok(header_len) = repr.emit(&mut out) else {
        return;
    };
    out[header_len..].copy_from_slice(packet.payload());
    let again = AlcPacket::parse(&out).expect("a re-emitted packet parses");
    assert_eq!(again.lct(), packet.lct());
    assert_eq!(again.payload_id(), packet.payload_id());
    assert_eq!(again.payload(), packet.payload());
    assert_eq!(again.fti(), packet.fti());
    assert_eq!(again.ext_fdt(), packet.ext_fdt());
});
