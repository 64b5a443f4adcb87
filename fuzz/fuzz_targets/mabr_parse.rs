//! The gateway configuration parser on arbitrary documents: never a panic, never unbounded
//! work; what parses writes back to XML that parses to the same configuration.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xflute::mabr::{GatewayConfiguration, ParseLimits};

fuzz_target!(|data: &[u8]| {
    let limits = ParseLimits {
        max_document_bytes: 1 << 16,
        max_elements: 2000,
        max_depth: 32,
    };
    let Ok(parsed) = GatewayConfiguration::parse(data, &limits) else {
        return;
    };
    let xml = parsed.config.to_xml();
    let again = GatewayConfiguration::parse(xml.as_bytes(), &ParseLimits::default())
        .expect("a written configuration parses");
    assert!(again.skipped.is_empty());
    assert_eq!(again.config, parsed.config);
    let _ = parsed.config.flute_endpoints();
});
