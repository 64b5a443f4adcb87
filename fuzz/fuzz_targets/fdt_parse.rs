//! The FDT parser on arbitrary documents: never a panic, never unbounded work; what parses
//! writes back to XML that parses to the same instance.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xflute::fdt::{FdtInstance, FdtXmlProfile, ParseLimits};

fuzz_target!(|data: &[u8]| {
    let limits = ParseLimits {
        max_document_bytes: 1 << 20,
        max_files: 1000,
    };
    let Ok(instance) = FdtInstance::parse(data, &limits) else {
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
