//! Why an announced object is not received (issue 18, class 8): a refused name, an invalid FEC
//! OTI, an unknown content encoding, an unsupported FEC scheme, an object over the size limit
//! and an FDT File entry with an invalid value each fail their object once with their own typed
//! reason (they used to look like "no packet received"), every packet is counted under its own
//! drop reason, and one bad File entry costs only that entry, not its FDT instance.

mod receiver_support;

use std::time::SystemTime;

use receiver_support::craft::{self, file};
use receiver_support::*;
use xflute::fdt::{FdtError, FdtInstance, FdtXmlProfile, FecOtiAttributes};
use xflute::receiver::{DropReason, FailReason, ObjectEvent};
use xflute::wire::FecEncodingId;

#[test]
fn each_unusable_description_fails_once_with_its_own_reason_and_a_bad_entry_costs_only_itself() {
    let now = SystemTime::now();
    let data = content(2_500, 1);
    let len = data.len() as u64;
    let traversal = file(1, "../../escape", len);
    let mut bad_oti = file(2, "bad-oti", len);
    bad_oti.fec_oti = FecOtiAttributes {
        fec_encoding_id: Some(0),
        ..FecOtiAttributes::default()
    };
    let mut unknown_encoding = file(3, "brotli", len);
    unknown_encoding.content_encoding = Some("br".into());
    let mut unsupported = file(4, "unsupported", len);
    unsupported.fec_oti.fec_encoding_id = Some(129);
    unsupported.fec_oti.fec_instance_id = Some(5);
    let huge = file(5, "huge", 1 << 47);
    let good = file(7, "good", len);
    let mut instance = FdtInstance::new(craft::expires_in(now, 3600));
    instance.files = vec![
        traversal,
        bad_oti,
        unknown_encoding,
        unsupported,
        huge,
        good,
    ];
    // One entry no writer would make: a negative Content-Length.
    let xml = String::from_utf8(instance.to_xml(FdtXmlProfile::Extended)).unwrap();
    let xml = xml.replace(
        "</FDT-Instance>",
        r#"<File Content-Location="file:///negative" TOI="6" Content-Length="-5"/></FDT-Instance>"#,
    );
    let mut packets = craft::object(TSI, 0, xml.as_bytes(), true, Some(1), None);
    for toi in 1..=7 {
        // Three packets each, the first twice: every one is a counted drop, one event each.
        let object = craft::object(TSI, toi, &data, false, None, None);
        packets.push(object[0].clone());
        packets.extend(object);
    }
    let mut r = memory_receiver();
    let errors = deliver(&mut r, &packets, Default::default(), now);
    let mut failed: Vec<(u128, FailReason)> = Vec::new();
    let mut completed = Vec::new();
    for event in events(&mut r) {
        match event {
            ObjectEvent::Failed { toi, reason, .. } => failed.push((toi, reason)),
            ObjectEvent::Completed { toi, .. } => completed.push(toi),
            _ => {}
        }
    }
    failed.sort_by_key(|(toi, _)| *toi);
    assert_eq!(
        completed,
        [7],
        "the good entry of the same instance is received"
    );
    assert_eq!(failed.len(), 6, "{failed:?}");
    assert!(matches!(failed[0], (1, FailReason::Path(_))), "{failed:?}");
    assert!(
        matches!(failed[1], (2, FailReason::InvalidOti(_))),
        "{failed:?}"
    );
    assert!(
        matches!(&failed[2], (3, FailReason::UnknownContentEncoding(name)) if name == "br"),
        "{failed:?}"
    );
    assert_eq!(
        failed[3],
        (
            4,
            FailReason::UnsupportedFec(FecEncodingId::ReedSolomonGf28UnderSpecified)
        )
    );
    assert!(
        matches!(failed[4], (5, FailReason::TooLarge { .. })),
        "{failed:?}"
    );
    assert!(
        matches!(
            &failed[5],
            (6, FailReason::InvalidFileEntry(FdtError::InvalidValue { name, .. }))
                if *name == "Content-Length"
        ),
        "{failed:?}"
    );
    let stats = r.stats();
    for reason in [
        DropReason::BadPath,
        DropReason::NoOti,
        DropReason::UnknownContentEncoding,
        DropReason::UnsupportedFec,
        DropReason::ObjectTooLarge,
    ] {
        assert_eq!(stats.drops(reason), 4, "{reason:?}: {stats:?}");
    }
    assert_eq!(stats.drops(DropReason::FdtFileInvalid), 1);
    assert_eq!(stats.fdt_instances, 1);
    // TOI 6 has no description: its packets wait for one.
    assert_eq!(stats.held, 4);
    assert_eq!(errors.len() as u64 + 1, stats.total_drops());
}
