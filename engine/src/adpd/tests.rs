use super::*;

fn parse(xml: &str) -> Result<AssociatedProcedureDescription, AdpdError> {
    AssociatedProcedureDescription::parse(xml.as_bytes(), &ParseLimits::default())
}

/// The example of TS 26.346 §9.3, as a sender writes it.
const SPEC_EXAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<associatedProcedureDescription xmlns="urn:3GPP:metadata:2005:MBMS:associatedProcedure">
  <postFileRepair offsetTime="5" randomTimePeriod="10">
    <serverURI>http://mbmsrepair1.example.com/path/repair_script</serverURI>
    <serverURI>http://mbmsrepair2.example.com/path/repair_script</serverURI>
  </postFileRepair>
  <postReceptionReport offsetTime="5" randomTimePeriod="10" reportType="star-all" samplePercentage="100">
    <serverURI>http://mbmsreport.example.com/path/report_script</serverURI>
  </postReceptionReport>
</associatedProcedureDescription>
"#;

#[test]
fn the_standard_example_gives_its_repair_servers_in_order_and_its_back_off() {
    let adpd = parse(SPEC_EXAMPLE).unwrap();
    let repair = adpd.post_file_repair.as_ref().unwrap();
    // The reception report's server is another procedure's, not a repair server.
    assert_eq!(
        adpd.server_uris(),
        [
            "http://mbmsrepair1.example.com/path/repair_script",
            "http://mbmsrepair2.example.com/path/repair_script"
        ]
    );
    assert_eq!(
        repair.offset_time(),
        Some(std::time::Duration::from_secs(5))
    );
    assert_eq!(
        repair.random_time_period(),
        Some(std::time::Duration::from_secs(10))
    );
}

#[test]
fn a_written_description_reads_back_equal() {
    let adpd = AssociatedProcedureDescription::file_repair(PostFileRepair {
        server_uris: vec![
            "http://a.example/x?y=1&z=\"2\"<>".to_owned(),
            "http://b.example/\r\n\tend".to_owned(),
        ],
        offset_time_s: Some(u64::MAX),
        random_time_period_s: Some(0),
    });
    let xml = adpd.to_xml();
    assert!(xml.contains(NAMESPACE), "{xml}");
    assert_eq!(parse(&xml).unwrap(), adpd);
    // No back-off of its own: randomTimePeriod, required, is written as 0.
    let plain = AssociatedProcedureDescription::file_repair(PostFileRepair::new(vec![
        "http://c.example/".to_owned(),
    ]));
    let back = parse(&plain.to_xml()).unwrap();
    let repair = back.post_file_repair.unwrap();
    assert_eq!(repair.offset_time_s, None);
    assert_eq!(repair.random_time_period_s, Some(0));
    assert_eq!(repair.server_uris, ["http://c.example/"]);
    let empty = AssociatedProcedureDescription::default();
    assert_eq!(parse(&empty.to_xml()).unwrap(), empty);
    assert!(empty.server_uris().is_empty());
}

#[test]
fn any_prefix_or_none_is_read_and_other_namespaces_are_extensions() {
    let prefixed = r#"<a:associatedProcedureDescription xmlns:a="urn:3GPP:metadata:2005:MBMS:associatedProcedure" xmlns:x="urn:other">
        <a:postFileRepair a:offsetTime="1" randomTimePeriod="2" x:offsetTime="junk">
          <x:serverURI>http://extension.example/</x:serverURI>
          <a:serverURI> http://a.example/ </a:serverURI>
          <x:ext><a:serverURI>http://nested.example/</a:serverURI></x:ext>
        </a:postFileRepair></a:associatedProcedureDescription>"#;
    let adpd = parse(prefixed).unwrap();
    let repair = adpd.post_file_repair.unwrap();
    assert_eq!(repair.server_uris, ["http://a.example/"]);
    assert_eq!(
        (repair.offset_time_s, repair.random_time_period_s),
        (Some(1), Some(2))
    );
    // Without a namespace, as a lenient writer may send it.
    let bare = "<associatedProcedureDescription><postFileRepair><serverURI>http://b/</serverURI>\
                <serverURI/><serverURI>  </serverURI></postFileRepair></associatedProcedureDescription>";
    let repair = parse(bare).unwrap().post_file_repair.unwrap();
    assert_eq!(repair.server_uris, ["http://b/"]);
    assert_eq!(
        (repair.offset_time_s, repair.random_time_period_s),
        (None, None)
    );
    // The root in another namespace is another document.
    let foreign = r#"<associatedProcedureDescription xmlns="urn:other"/>"#;
    assert!(matches!(parse(foreign), Err(AdpdError::NotAdpd(_))));
}

#[test]
fn text_is_unescaped_and_the_first_post_file_repair_counts() {
    let xml = "<associatedProcedureDescription xmlns=\"urn:3GPP:metadata:2005:MBMS:associatedProcedure\">\
        <!-- a comment --><?pi x?>\
        <postFileRepair randomTimePeriod=\" 3 \"><serverURI>http://a/?b=1&amp;c=&#x32;<![CDATA[&d]]></serverURI></postFileRepair>\
        <postFileRepair randomTimePeriod=\"9\"><serverURI>http://second/</serverURI></postFileRepair>\
        </associatedProcedureDescription>";
    let repair = parse(xml).unwrap().post_file_repair.unwrap();
    assert_eq!(repair.server_uris, ["http://a/?b=1&c=2&d"]);
    assert_eq!(repair.random_time_period_s, Some(3));
}

#[test]
fn hostile_documents_are_refused_with_why() {
    let err = |xml: &str| parse(xml).unwrap_err();
    let doctype = "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"y\">]>\
                   <associatedProcedureDescription>&x;</associatedProcedureDescription>";
    assert_eq!(err(doctype), AdpdError::DoctypeForbidden);
    assert_eq!(err(""), AdpdError::Empty);
    assert_eq!(err("<!-- nothing -->"), AdpdError::Empty);
    assert!(matches!(err("<FDT-Instance/>"), AdpdError::NotAdpd(n) if n == "FDT-Instance"));
    for malformed in [
        "<associatedProcedureDescription>",
        "<associatedProcedureDescription></other>",
        "<associatedProcedureDescription><postFileRepair><serverURI>&bogus;</serverURI></postFileRepair></associatedProcedureDescription>",
        "<associatedProcedureDescription><postFileRepair><serverURI>&#0;</serverURI></postFileRepair></associatedProcedureDescription>",
        "<associatedProcedureDescription><postFileRepair offsetTime=\"1\" offsetTime=\"2\"/></associatedProcedureDescription>",
        "<associatedProcedureDescription><x><y></x></y></associatedProcedureDescription>",
    ] {
        assert!(
            matches!(err(malformed), AdpdError::Xml { .. }),
            "{malformed}: {:?}",
            parse(malformed)
        );
    }
    for (value, attribute) in [
        ("-1", "offsetTime"),
        ("1.5", "offsetTime"),
        ("18446744073709551616", "randomTimePeriod"),
        ("", "randomTimePeriod"),
        ("PT5S", "randomTimePeriod"),
    ] {
        let xml = format!(
            "<associatedProcedureDescription><postFileRepair {attribute}=\"{value}\"/></associatedProcedureDescription>"
        );
        assert!(
            matches!(err(&xml), AdpdError::InvalidValue { attribute: a, .. } if a.ends_with(attribute)),
            "{xml}"
        );
    }
    assert!(matches!(
        AssociatedProcedureDescription::parse(&[0xff, 0xfe, b'<'], &ParseLimits::default()),
        Err(AdpdError::NotUtf8 { valid_up_to: 0 })
    ));
}

#[test]
fn bounds_refuse_large_documents_and_too_many_servers() {
    let limits = ParseLimits {
        max_document_bytes: 4096,
        max_servers: 3,
    };
    let servers = |n: usize| {
        let mut xml = String::from("<associatedProcedureDescription><postFileRepair>");
        for i in 0..n {
            xml.push_str(&format!("<serverURI>http://s{i}/</serverURI>"));
        }
        xml.push_str("</postFileRepair></associatedProcedureDescription>");
        xml
    };
    let three = AssociatedProcedureDescription::parse(servers(3).as_bytes(), &limits).unwrap();
    assert_eq!(three.server_uris().len(), 3);
    assert_eq!(
        AssociatedProcedureDescription::parse(servers(4).as_bytes(), &limits),
        Err(AdpdError::TooManyServers { cap: 3 })
    );
    let big = format!(
        "<associatedProcedureDescription><!--{}--></associatedProcedureDescription>",
        "x".repeat(5000)
    );
    assert_eq!(
        AssociatedProcedureDescription::parse(big.as_bytes(), &limits),
        Err(AdpdError::DocumentTooLarge {
            len: big.len(),
            cap: 4096
        })
    );
}

#[test]
fn deep_unknown_subtrees_cost_no_stack() {
    let depth = 20_000;
    let xml = format!(
        "<associatedProcedureDescription>{}{}<postFileRepair><serverURI>http://a/</serverURI></postFileRepair></associatedProcedureDescription>",
        "<x>".repeat(depth),
        "</x>".repeat(depth)
    );
    let limits = ParseLimits {
        max_document_bytes: 1 << 20,
        ..ParseLimits::default()
    };
    let adpd = AssociatedProcedureDescription::parse(xml.as_bytes(), &limits).unwrap();
    assert_eq!(adpd.server_uris(), ["http://a/"]);
}

#[test]
fn the_fdt_entry_is_told_by_its_type_or_xflutes_location() {
    assert!(is_associated_procedure_description(
        None,
        Some(CONTENT_TYPE)
    ));
    assert!(is_associated_procedure_description(
        Some("file:///x"),
        Some(" Application/MBMS-Associated-Procedure-Description+XML; charset=utf-8")
    ));
    assert!(is_associated_procedure_description(
        Some(CONTENT_LOCATION),
        None
    ));
    assert!(!is_associated_procedure_description(
        Some("file:///adpd.xml"),
        Some("application/xml")
    ));
    assert!(!is_associated_procedure_description(None, None));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Any text XML can carry, white space and markup characters included.
    fn text() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[ -~\t\n\r\u{a0}-\u{d7ff}\u{e000}-\u{fffd}]{0,40}").unwrap()
    }

    /// Text as a serverURI keeps it: no white space at either end, not empty.
    fn trimmed() -> impl Strategy<Value = String> {
        text().prop_filter_map("blank", |t| {
            let t = t.trim().to_owned();
            (!t.is_empty()).then_some(t)
        })
    }

    fn description() -> impl Strategy<Value = AssociatedProcedureDescription> {
        proptest::option::of((
            proptest::collection::vec(trimmed(), 0..=16),
            proptest::option::of(any::<u64>()),
            any::<u64>(),
        ))
        .prop_map(|repair| AssociatedProcedureDescription {
            post_file_repair: repair.map(|(server_uris, offset, window)| PostFileRepair {
                server_uris,
                offset_time_s: offset,
                random_time_period_s: Some(window),
            }),
        })
    }

    proptest! {
        #[test]
        fn any_description_written_reads_back_equal(adpd in description()) {
            prop_assert_eq!(parse(&adpd.to_xml()).unwrap(), adpd);
        }

        #[test]
        fn any_bytes_parse_or_are_refused_without_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let _ = AssociatedProcedureDescription::parse(&bytes, &ParseLimits::default());
        }

        #[test]
        fn any_cut_of_a_document_parses_or_is_refused(cut in 0usize..400) {
            let end = cut.min(SPEC_EXAMPLE.len());
            let _ = AssociatedProcedureDescription::parse(
                &SPEC_EXAMPLE.as_bytes()[..end],
                &ParseLimits::default(),
            );
        }
    }
}
