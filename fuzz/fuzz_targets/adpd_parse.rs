//! The associated delivery procedure description parser on arbitrary documents: never a panic,
//! never unbounded work; what parses writes back to XML that parses to the same description
//! (an absent randomTimePeriod, which the schema requires, is written as 0).
#![no_main]

use libfuzzer_sys::fuzz_target;
use xflute::adpd::{AssociatedProcedureDescription, ParseLimits};

fuzz_target!(|data: &[u8]| {
    let limits = ParseLimits {
        max_document_bytes: 1 << 16,
        max_servers: 16,
    };
    let Ok(mut adpd) = AssociatedProcedureDescription::parse(data, &limits) else {
        return;
    };
    assert!(adpd.server_uris().len() <= limits.max_servers);
    let xml = adpd.to_xml();
    let again = AssociatedProcedureDescription::parse(xml.as_bytes(), &limits)
        .expect("a written description parses");
    if let Some(repair) = &mut adpd.post_file_repair {
        repair.random_time_period_s.get_or_insert(0);
    }
    assert_eq!(again, adpd);
});
