//! The FDT parser on arbitrary documents, strict and lenient: never a panic, never unbounded
//! work; what parses writes back to XML that parses to the same instance; the lenient parse
//! accepts whatever the strict one does, with the same entries and none left out, and what it
//! keeps plus what it leaves out stays within the entry cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xflute::fdt::{FdtInstance, FdtXmlProfile, ParseLimits};

fuzz_target!(|data: &[u8]| {
    let limits = ParseLimits {
        max_document_bytes: 1 << 20,
        max_files: 1000,
    };
    let strict = FdtInstance::parse(data, &limits);
    let lenient = FdtInstance::parse_lenient(data, &limits);
    if let Ok((instance, rejected)) = &lenient {
        assert!(instance.files.len() + rejected.len() <= limits.max_files);
        if let Ok(strict) = &strict {
            assert!(rejected.is_empty());
            assert_eq!(strict, instance);
        }
    } else {
        assert!(strict.is_err(), "lenient parsing refused what strict parsing accepts");
    }
    let Ok((instance, _)) = lenient else {
        return;
    };
    let xml = instance.to_xml(FdtXmlProfile::Extended);
    let again = FdtInstance::parse(&xml, &ParseLimits::default()).expect("written FDT parses");
    assert_eq!(again.files.len(), instance.files.len());
    for (a, b) in again.files.iter().zip(&instance.files) {
        assert_eq!(a.toi, b.toi);
        assert_eq!(a.content_location, b.content_location);
        assert_eq!(a.transfer_length, b.transfer_length);
        assert_eq!(a.fec_oti, b.fec_oti);
    }
    for file in &instance.files {
        let _ = instance.fec_oti_for(file).to_oti(file.transfer_length.unwrap_or(0));
    }
});
