//! EXT_FTI and FEC Payload ID decoders for every FEC Encoding ID on arbitrary bytes: never a
//! panic; what decodes re-encodes to the same bytes. IDs 0, 1 (Raptor), 2 (m = 2..=16), 5, 6
//! (RaptorQ) and 129 are all covered.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xflute::wire::{FecEncodingId, Oti, PayloadId, PayloadIdFormat};

const IDS: [FecEncodingId; 6] = [
    FecEncodingId::NoCode,
    FecEncodingId::Raptor,
    FecEncodingId::ReedSolomonGf2m,
    FecEncodingId::ReedSolomonGf28,
    FecEncodingId::RaptorQ,
    FecEncodingId::ReedSolomonGf28UnderSpecified,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let id = IDS[usize::from(selector) % IDS.len()];
    if let Ok(oti) = Oti::parse_ext_fti(id, rest) {
        let mut out = vec![0u8; oti.ext_fti_len_bytes()];
        let n = oti.emit_ext_fti(&mut out).expect("a parsed OTI re-emits");
        let again = Oti::parse_ext_fti(id, &out[..n]).expect("a re-emitted OTI parses");
        assert_eq!(again, oti);
        if let Ok(format) = PayloadIdFormat::for_oti(&oti) {
            if let Ok(pid) = PayloadId::parse(format, rest) {
                let mut buf = vec![0u8; format.buffer_len()];
                pid.emit(format, &mut buf).expect("a parsed payload ID re-emits");
                assert_eq!(&buf[..], &rest[..format.buffer_len()]);
            }
        }
    }
    // Every Payload ID layout, whether or not the bytes made an OTI: what parses re-emits to
    // the same bytes.
    let formats = [
        PayloadIdFormat::CompactNoCode,
        PayloadIdFormat::Raptor,
        PayloadIdFormat::ReedSolomonGf28,
        PayloadIdFormat::RaptorQ,
        PayloadIdFormat::SmallBlockSystematic,
    ]
    .into_iter()
    .chain((2..=16).map(|m| PayloadIdFormat::ReedSolomonGf2m { m }));
    for format in formats {
        if let Ok(pid) = PayloadId::parse(format, rest) {
            let mut buf = vec![0u8; format.buffer_len()];
            pid.emit(format, &mut buf).expect("a parsed payload ID re-emits");
            assert_eq!(&buf[..], &rest[..format.buffer_len()]);
        }
    }
});
