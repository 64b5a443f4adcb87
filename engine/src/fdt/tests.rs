//! Unit and property tests of the FDT model, parser and writer.

use proptest::prelude::*;

use super::*;
use crate::cenc::Cenc;

fn parse(xml: &str) -> Result<FdtInstance, FdtError> {
    FdtInstance::parse(xml.as_bytes(), &ParseLimits::default())
}

/// An extended-form document with every attribute and element of RFC 6726 and the TS 26.346
/// extensions, written as flute writes it plus the schema's forms flute does not write.
const EXTENDED_EVERYTHING: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<FDT-Instance xmlns="urn:IETF:metadata:2005:FLUTE:FDT" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:mbms2005="urn:3GPP:metadata:2005:MBMS:FLUTE:FDT" xmlns:mbms2007="urn:3GPP:metadata:2007:MBMS:FLUTE:FDT" xmlns:mbms2008="urn:3GPP:metadata:2008:MBMS:FLUTE:FDT_ext" xmlns:mbms2009="urn:3GPP:metadata:2009:MBMS:FLUTE:FDT_ext" xmlns:mbms2012="urn:3GPP:metadata:2012:MBMS:FLUTE:FDT" xmlns:mbms2015="urn:3GPP:metadata:2015:MBMS:FLUTE:FDT" xmlns:sv="urn:3gpp:metadata:2009:MBMS:schemaVersion"
  Expires="3900000000" Complete="true" Content-Type="text/plain" Content-Encoding="gzip"
  FEC-OTI-FEC-Encoding-ID="5" FEC-OTI-FEC-Instance-ID="0" FEC-OTI-Maximum-Source-Block-Length="64"
  FEC-OTI-Encoding-Symbol-Length="1400" FEC-OTI-Max-Number-of-Encoding-Symbols="84"
  FEC-OTI-Scheme-Specific-Info="AQID" mbms2008:FullFDT="true">
  <File Content-Location="file:///a%20b?x=1&amp;y=2" TOI="340282366920938463463374607431768211455"
    Content-Length="1000" Transfer-Length="600" Content-Type="application/octet-stream"
    Content-Encoding="deflate" Content-MD5="1B2M2Y8AsgTpgAmY7PhCfg=="
    FEC-OTI-FEC-Encoding-ID="129" FEC-OTI-FEC-Instance-ID="7" FEC-OTI-Maximum-Source-Block-Length="32"
    FEC-OTI-Encoding-Symbol-Length="1024" FEC-OTI-Max-Number-of-Encoding-Symbols="48"
    FEC-OTI-Scheme-Specific-Info="AAEC AwQ=" mbms2009:Decryption-KEY-URI="http://keys/1"
    mbms2012:FEC-Redundancy-Level="3" mbms2012:File-ETag="v1&quot;x&quot;"
    mbms2015:IndependentUnitPositions="0 100  2000" Repair-Start="2024-01-01T00:00:00Z"
    Repair-Limit-Percentage="20" X-Optel-Propagator="e30=">
    <mbms2007:Cache-Control><mbms2007:Expires>3900000100</mbms2007:Expires></mbms2007:Cache-Control>
    <sv:delimiter>0</sv:delimiter>
    <mbms2012:Alternate-Content-Location-1 Availability-Time="2024-01-01T00:00:00Z">
      <mbms2012:Alternate-Content-Location>http://alt/1</mbms2012:Alternate-Content-Location>
      <mbms2012:Alternate-Content-Location>http://alt/2</mbms2012:Alternate-Content-Location>
    </mbms2012:Alternate-Content-Location-1>
    <mbms2012:Alternate-Content-Location-2>http://flute-style/3</mbms2012:Alternate-Content-Location-2>
    <sv:delimiter>0</sv:delimiter>
    <mbms2005:Group>g1</mbms2005:Group>
    <Group>g2</Group>
    <MBMS-Session-Identity>7</MBMS-Session-Identity>
    <mbms2005:MBMS-Session-Identity>8</mbms2005:MBMS-Session-Identity>
  </File>
  <File Content-Location="file:///second" TOI="2">
    <mbms2007:Cache-Control><mbms2007:no-cache>true</mbms2007:no-cache></mbms2007:Cache-Control>
  </File>
  <File Content-Location="file:///third" TOI="3"><Cache-Control><max-stale>true</max-stale></Cache-Control></File>
  <sv:schemaVersion>4</sv:schemaVersion>
  <mbms2012:Base-URL-1>http://base/1</mbms2012:Base-URL-1>
  <mbms2012:Base-URL-2>http://base/2</mbms2012:Base-URL-2>
  <sv:delimiter>0</sv:delimiter>
  <mbms2005:Group>G</mbms2005:Group>
  <mbms2005:MBMS-Session-Identity-Expiry value="3900000200">9</mbms2005:MBMS-Session-Identity-Expiry>
</FDT-Instance>
"#;

#[test]
fn every_attribute_and_extension_of_the_extended_form_is_parsed() {
    let fdt = parse(EXTENDED_EVERYTHING).unwrap();
    assert_eq!(fdt.expires, 3_900_000_000);
    assert_eq!(fdt.complete, Some(true));
    assert_eq!(fdt.content_type.as_deref(), Some("text/plain"));
    assert_eq!(fdt.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(
        fdt.fec_oti,
        FecOtiAttributes {
            fec_encoding_id: Some(5),
            fec_instance_id: Some(0),
            maximum_source_block_length: Some(64),
            encoding_symbol_length: Some(1400),
            max_number_of_encoding_symbols: Some(84),
            scheme_specific_info: Some(vec![1, 2, 3]),
        }
    );
    assert_eq!(fdt.full_fdt, Some(true));
    assert_eq!(fdt.schema_version, Some(4));
    assert_eq!(fdt.base_url_1, ["http://base/1"]);
    assert_eq!(fdt.base_url_2, ["http://base/2"]);
    assert_eq!(fdt.groups, ["G"]);
    assert_eq!(
        fdt.mbms_session_identity_expiry,
        [SessionIdentityExpiry {
            session_identity: 9,
            value: 3_900_000_200
        }]
    );
    assert_eq!(fdt.files.len(), 3);

    let file = fdt.file(u128::MAX).unwrap();
    assert_eq!(file.content_location, "file:///a%20b?x=1&y=2");
    assert_eq!(file.content_length, Some(1000));
    assert_eq!(file.transfer_length, Some(600));
    assert_eq!(
        file.content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(file.content_encoding.as_deref(), Some("deflate"));
    assert_eq!(file.cenc(), Ok(Cenc::Deflate));
    assert_eq!(
        file.content_md5.as_deref(),
        Some("1B2M2Y8AsgTpgAmY7PhCfg==")
    );
    assert_eq!(
        file.fec_oti,
        FecOtiAttributes {
            fec_encoding_id: Some(129),
            fec_instance_id: Some(7),
            maximum_source_block_length: Some(32),
            encoding_symbol_length: Some(1024),
            max_number_of_encoding_symbols: Some(48),
            scheme_specific_info: Some(vec![0, 1, 2, 3, 4]),
        }
    );
    assert_eq!(file.decryption_key_uri.as_deref(), Some("http://keys/1"));
    assert_eq!(file.fec_redundancy_level, Some(3));
    assert_eq!(file.file_etag.as_deref(), Some("v1\"x\""));
    assert_eq!(file.independent_unit_positions, Some(vec![0, 100, 2000]));
    assert_eq!(file.repair_start.as_deref(), Some("2024-01-01T00:00:00Z"));
    assert_eq!(file.repair_limit_percentage, Some(20));
    assert_eq!(file.optel_propagator.as_deref(), Some("e30="));
    assert_eq!(
        file.cache_control,
        Some(CacheControl::Expires(3_900_000_100))
    );
    assert_eq!(
        file.alternate_content_location_1,
        [AlternateContentLocations {
            availability_time: Some("2024-01-01T00:00:00Z".into()),
            locations: vec!["http://alt/1".into(), "http://alt/2".into()],
        }]
    );
    assert_eq!(
        file.alternate_content_location_2,
        [AlternateContentLocations {
            availability_time: None,
            locations: vec!["http://flute-style/3".into()],
        }]
    );
    assert_eq!(file.groups, ["g1", "g2"]);
    assert_eq!(file.mbms_session_identity, [7, 8]);

    let second = fdt.file(2).unwrap();
    assert_eq!(second.cache_control, Some(CacheControl::NoCache));
    // Inherited from the instance (RFC 6726 §3.4.2).
    assert_eq!(fdt.content_type_for(second), Some("text/plain"));
    assert_eq!(fdt.cenc_for(second), Ok(Cenc::Gzip));
    assert_eq!(fdt.fec_oti_for(second), fdt.fec_oti);
    assert_eq!(
        fdt.file(3).unwrap().cache_control,
        Some(CacheControl::MaxStale)
    );
}

#[test]
fn file_fec_oti_attributes_override_instance_ones_one_by_one() {
    let fdt = parse(
        r#"<FDT-Instance Expires="1" FEC-OTI-FEC-Encoding-ID="0" FEC-OTI-Encoding-Symbol-Length="1400" FEC-OTI-Maximum-Source-Block-Length="64">
        <File Content-Location="a" TOI="1" FEC-OTI-Encoding-Symbol-Length="1024"/></FDT-Instance>"#,
    )
    .unwrap();
    let oti = fdt.fec_oti_for(&fdt.files[0]);
    assert_eq!(oti.fec_encoding_id, Some(0));
    assert_eq!(oti.encoding_symbol_length, Some(1024));
    assert_eq!(oti.maximum_source_block_length, Some(64));
    assert_eq!(oti.scheme_specific_info, None);
}

#[test]
fn l6_profile_document_parses() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<FDT-Instance xmlns="urn:3GPP:metadata:2022:FLUTE:FDT" Expires="3900000000" Complete="false">
<File Content-Location="file:///object1" TOI="1" Content-Length="10" Transfer-Length="10" FEC-Redundancy-Level="2" File-ETag="object1-v1"><Cache-Control><no-cache>true</no-cache></Cache-Control></File>
<schemaVersion>4</schemaVersion>
</FDT-Instance>"#;
    let fdt = parse(xml).unwrap();
    assert_eq!(fdt.complete, Some(false));
    assert_eq!(fdt.schema_version, Some(4));
    let file = fdt.file(1).unwrap();
    assert_eq!(file.file_etag.as_deref(), Some("object1-v1"));
    assert_eq!(file.fec_redundancy_level, Some(2));
    assert_eq!(file.cache_control, Some(CacheControl::NoCache));
}

#[test]
fn l6_writer_uses_one_namespace_and_no_prefix() {
    let mut fdt = parse(EXTENDED_EVERYTHING).unwrap();
    let omitted = FdtXmlProfile::Ts26346L6.omitted_by(&fdt);
    for name in ["FullFDT", "Group", "Base-URL-1", "IndependentUnitPositions"] {
        assert!(omitted.contains(&name), "{name} in {omitted:?}");
    }
    assert!(FdtXmlProfile::Extended.omitted_by(&fdt).is_empty());
    fdt.files.truncate(2);
    let xml = String::from_utf8(fdt.to_xml(FdtXmlProfile::Ts26346L6)).unwrap();
    assert!(
        xml.contains(r#"xmlns="urn:3GPP:metadata:2022:FLUTE:FDT""#),
        "{xml}"
    );
    assert!(!xml.contains("xmlns:"), "{xml}");
    assert!(!xml.contains("mbms20"), "{xml}");
    assert!(xml.contains("<schemaVersion>4</schemaVersion>"), "{xml}");
    assert!(
        xml.contains("<Cache-Control><no-cache>true</no-cache></Cache-Control>"),
        "{xml}"
    );
    assert!(xml.contains(r#"File-ETag="v1&quot;x&quot;""#), "{xml}");
}

#[test]
fn extended_writer_declares_and_uses_the_3gpp_prefixes() {
    let fdt = parse(EXTENDED_EVERYTHING).unwrap();
    let xml = String::from_utf8(fdt.to_xml(FdtXmlProfile::Extended)).unwrap();
    for needle in [
        r#"xmlns="urn:IETF:metadata:2005:FLUTE:FDT""#,
        r#"xmlns:mbms2008="urn:3GPP:metadata:2008:MBMS:FLUTE:FDT_ext""#,
        r#"mbms2008:FullFDT="true""#,
        r#"mbms2012:File-ETag="#,
        "<mbms2007:Cache-Control><mbms2007:no-cache>true</mbms2007:no-cache></mbms2007:Cache-Control>",
        "<sv:schemaVersion>4</sv:schemaVersion>",
        "<sv:delimiter>0</sv:delimiter>",
        "<mbms2012:Base-URL-1>http://base/1</mbms2012:Base-URL-1>",
    ] {
        assert!(xml.contains(needle), "{needle} missing in {xml}");
    }
}

#[test]
fn doctype_is_rejected() {
    let xml = r#"<?xml version="1.0"?><!DOCTYPE FDT-Instance><FDT-Instance Expires="1"/>"#;
    assert_eq!(parse(xml), Err(FdtError::DoctypeForbidden));
}

#[test]
fn entity_declarations_are_rejected_and_never_expanded() {
    let billion_laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<FDT-Instance Expires="1"><File Content-Location="&lol2;" TOI="1"/></FDT-Instance>"#;
    assert_eq!(parse(billion_laughs), Err(FdtError::DoctypeForbidden));
    // Without a DOCTYPE a custom entity is undeclared: a typed error, not an expansion.
    let undeclared =
        r#"<FDT-Instance Expires="1"><File Content-Location="&lol;" TOI="1"/></FDT-Instance>"#;
    assert!(matches!(parse(undeclared), Err(FdtError::Xml { .. })));
    let in_text = r#"<FDT-Instance Expires="1"><Group>&lol;</Group></FDT-Instance>"#;
    assert!(matches!(parse(in_text), Err(FdtError::Xml { .. })));
}

#[test]
fn predefined_entities_and_character_references_are_unescaped() {
    let xml = r#"<FDT-Instance Expires="1"><File Content-Location="a&lt;&gt;&amp;&apos;&quot;&#65;&#x42;&#10;z" TOI="1"><Group>x &amp; &#x263A;<![CDATA[<y>]]></Group></File></FDT-Instance>"#;
    let fdt = parse(xml).unwrap();
    assert_eq!(fdt.files[0].content_location, "a<>&'\"AB\nz");
    assert_eq!(fdt.files[0].groups, ["x & \u{263A}<y>"]);
}

#[test]
fn unknown_elements_attributes_and_namespaces_are_ignored() {
    let xml = r#"<FDT-Instance xmlns="urn:IETF:metadata:2005:FLUTE:FDT" xmlns:x="urn:example:other" Expires="1" Unknown="1" x:Expires="junk" x:FullFDT="junk">
  <!-- a comment --><?pi data?>
  <Unknown a="b"><File Content-Location="nested" TOI="9"/><Deeper><Group>no</Group></Deeper></Unknown>
  <x:File Content-Location="foreign" TOI="8"/>
  <File Content-Location="a" TOI="1" Foo="bar" x:TOI="junk" x:Content-Length="junk">
    <x:Group>foreign</x:Group><Extra>text<Group>no</Group></Extra><Group>yes</Group>
  </File>
  <x:Group>foreign</x:Group>
</FDT-Instance>"#;
    let fdt = parse(xml).unwrap();
    assert_eq!(fdt.expires, 1);
    assert_eq!(fdt.full_fdt, None);
    assert_eq!(fdt.files.len(), 1);
    assert_eq!(fdt.files[0].toi, 1);
    assert_eq!(fdt.files[0].content_length, None);
    assert_eq!(fdt.files[0].groups, ["yes"]);
    assert!(fdt.groups.is_empty());
}

#[test]
fn deeply_nested_unknown_elements_cost_no_stack() {
    let nested = |depth: usize| {
        let mut xml = String::from(r#"<FDT-Instance Expires="1">"#);
        xml.push_str(&"<a>".repeat(depth));
        xml.push_str(&"</a>".repeat(depth));
        xml.push_str(r#"<File Content-Location="a" TOI="1"/></FDT-Instance>"#);
        xml
    };
    assert_eq!(parse(&nested(60_000)).unwrap().files.len(), 1);
    // quick-xml's namespace resolver stops at 65 535 levels: a typed error, not a crash.
    assert!(matches!(parse(&nested(200_000)), Err(FdtError::Xml { .. })));
}

#[test]
fn document_size_cap_is_a_typed_error() {
    let limits = ParseLimits {
        max_document_bytes: 100,
        max_files: 10,
    };
    let xml = EXTENDED_EVERYTHING.as_bytes();
    assert_eq!(
        FdtInstance::parse(xml, &limits),
        Err(FdtError::DocumentTooLarge {
            len: xml.len(),
            cap: 100
        })
    );
}

#[test]
fn file_count_cap_is_a_typed_error() {
    let limits = ParseLimits {
        max_document_bytes: 1 << 20,
        max_files: 2,
    };
    let xml = EXTENDED_EVERYTHING.as_bytes();
    assert_eq!(
        FdtInstance::parse(xml, &limits),
        Err(FdtError::TooManyFiles { cap: 2 })
    );
    let three = ParseLimits {
        max_files: 3,
        ..limits
    };
    assert_eq!(FdtInstance::parse(xml, &three).unwrap().files.len(), 3);
}

#[test]
fn malformed_documents_are_typed_errors() {
    type Check = fn(&FdtError) -> bool;
    let cases: &[(&str, Check)] = &[
        ("", |e| *e == FdtError::Empty),
        ("<!-- only -->", |e| *e == FdtError::Empty),
        (
            r#"<Other Expires="1"/>"#,
            |e| matches!(e, FdtError::NotFdtInstance(n) if n == "Other"),
        ),
        (r#"<FDT-Instance/>"#, |e| {
            matches!(
                e,
                FdtError::MissingAttribute {
                    attribute: "Expires",
                    ..
                }
            )
        }),
        (r#"<FDT-Instance Expires="x"/>"#, |e| {
            matches!(
                e,
                FdtError::InvalidValue {
                    name: "Expires",
                    ..
                }
            )
        }),
        (r#"<FDT-Instance Expires="4294967296"/>"#, |e| {
            matches!(
                e,
                FdtError::InvalidValue {
                    name: "Expires",
                    ..
                }
            )
        }),
        (r#"<FDT-Instance Expires="1" Complete="yes"/>"#, |e| {
            matches!(
                e,
                FdtError::InvalidValue {
                    name: "Complete",
                    ..
                }
            )
        }),
        (
            r#"<FDT-Instance Expires="1"><File TOI="1"/></FDT-Instance>"#,
            |e| {
                matches!(
                    e,
                    FdtError::MissingAttribute {
                        attribute: "Content-Location",
                        ..
                    }
                )
            },
        ),
        (
            r#"<FDT-Instance Expires="1"><File Content-Location="a"/></FDT-Instance>"#,
            |e| {
                matches!(
                    e,
                    FdtError::MissingAttribute {
                        attribute: "TOI",
                        ..
                    }
                )
            },
        ),
        (
            r#"<FDT-Instance Expires="1"><File Content-Location="a" TOI="-1"/></FDT-Instance>"#,
            |e| matches!(e, FdtError::InvalidValue { name: "TOI", .. }),
        ),
        (
            r#"<FDT-Instance Expires="1" FEC-OTI-FEC-Encoding-ID="256"/>"#,
            |e| {
                matches!(
                    e,
                    FdtError::InvalidValue {
                        name: "FEC-OTI-FEC-Encoding-ID",
                        ..
                    }
                )
            },
        ),
        (
            r#"<FDT-Instance Expires="1" FEC-OTI-Scheme-Specific-Info="!!"/>"#,
            |e| {
                matches!(
                    e,
                    FdtError::InvalidValue {
                        name: "FEC-OTI-Scheme-Specific-Info",
                        ..
                    }
                )
            },
        ),
        (
            r#"<FDT-Instance Expires="1"><File Content-Location="a" TOI="1"><Cache-Control><Expires>x</Expires></Cache-Control></File></FDT-Instance>"#,
            |e| {
                matches!(
                    e,
                    FdtError::InvalidValue {
                        element: "Cache-Control",
                        ..
                    }
                )
            },
        ),
        (
            r#"<FDT-Instance Expires="1"><File Content-Location="a" TOI="1"></FDT-Instance>"#,
            |e| matches!(e, FdtError::Xml { .. }),
        ),
        (r#"<FDT-Instance Expires="1" Expires="2"/>"#, |e| {
            matches!(e, FdtError::Xml { .. })
        }),
        (
            r#"<FDT-Instance Expires="1"><File Content-Location="a" TOI="1">"#,
            |e| matches!(e, FdtError::Xml { .. }),
        ),
    ];
    for (xml, expected) in cases {
        let err = parse(xml).unwrap_err();
        assert!(expected(&err), "{xml}: {err:?}");
    }
    assert_eq!(
        FdtInstance::parse(
            b"<FDT-Instance Expires=\"1\xff\"/>",
            &ParseLimits::default()
        ),
        Err(FdtError::NotUtf8 { valid_up_to: 24 })
    );
}

#[test]
fn expires_converts_to_unix_time_without_a_clock() {
    let fdt = FdtInstance::new(ntp::ntp_secs_from_unix_secs(1_700_000_000));
    assert_eq!(fdt.expires_unix_secs(1_699_999_000), Some(1_700_000_000));
}

// ---- round trip -------------------------------------------------------------------------

/// Text for attribute values: any character XML 1.0 can carry, specials and whitespace included.
fn attr_text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[ -~\t\n\r\u{a0}-\u{d7ff}\u{e000}-\u{fffd}]{0,24}").unwrap()
}

/// Text for element content: as above, without the surrounding whitespace a parser trims.
fn element_text() -> impl Strategy<Value = String> {
    attr_text().prop_map(|s| s.trim().to_owned())
}

fn fec_oti() -> impl Strategy<Value = FecOtiAttributes> {
    (
        any::<Option<u8>>(),
        any::<Option<u64>>(),
        any::<Option<u64>>(),
        any::<Option<u64>>(),
        any::<Option<u64>>(),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..12)),
    )
        .prop_map(|(id, inst, msbl, esl, max, ssi)| FecOtiAttributes {
            fec_encoding_id: id,
            fec_instance_id: inst,
            maximum_source_block_length: msbl,
            encoding_symbol_length: esl,
            max_number_of_encoding_symbols: max,
            scheme_specific_info: ssi,
        })
}

fn cache_control() -> impl Strategy<Value = Option<CacheControl>> {
    proptest::option::of(prop_oneof![
        Just(CacheControl::NoCache),
        Just(CacheControl::MaxStale),
        any::<u32>().prop_map(CacheControl::Expires),
    ])
}

fn alternates() -> impl Strategy<Value = Vec<AlternateContentLocations>> {
    proptest::collection::vec(
        (
            proptest::option::of(attr_text()),
            proptest::collection::vec(
                element_text().prop_filter("non-empty", |s| !s.is_empty()),
                0..3,
            ),
        )
            .prop_map(|(availability_time, locations)| AlternateContentLocations {
                availability_time,
                locations,
            }),
        0..2,
    )
}

fn opt_attr() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(attr_text())
}

fn file() -> impl Strategy<Value = File> {
    (
        (
            attr_text(),
            any::<u128>(),
            any::<Option<u64>>(),
            any::<Option<u64>>(),
        ),
        (
            opt_attr(),
            opt_attr(),
            opt_attr(),
            fec_oti(),
            cache_control(),
        ),
        (alternates(), alternates()),
        (
            proptest::collection::vec(element_text(), 0..3),
            proptest::collection::vec(any::<u8>(), 0..3),
        ),
        (opt_attr(), any::<Option<u32>>(), opt_attr()),
        (
            proptest::option::of(proptest::collection::vec(any::<u64>(), 0..4)),
            opt_attr(),
            any::<Option<u32>>(),
            opt_attr(),
        ),
    )
        .prop_map(|(a, b, c, d, e, f)| File {
            content_location: a.0,
            toi: a.1,
            content_length: a.2,
            transfer_length: a.3,
            content_type: b.0,
            content_encoding: b.1,
            content_md5: b.2,
            fec_oti: b.3,
            cache_control: b.4,
            alternate_content_location_1: c.0,
            alternate_content_location_2: c.1,
            groups: d.0,
            mbms_session_identity: d.1,
            decryption_key_uri: e.0,
            fec_redundancy_level: e.1,
            file_etag: e.2,
            independent_unit_positions: f.0,
            repair_start: f.1,
            repair_limit_percentage: f.2,
            optel_propagator: f.3,
        })
}

fn instance() -> impl Strategy<Value = FdtInstance> {
    (
        (
            any::<u32>(),
            any::<Option<bool>>(),
            opt_attr(),
            opt_attr(),
            fec_oti(),
        ),
        (
            any::<Option<bool>>(),
            proptest::collection::vec(file(), 0..4),
            any::<u32>(),
        ),
        (
            proptest::collection::vec(element_text(), 0..2),
            proptest::collection::vec(element_text(), 0..2),
            proptest::collection::vec(element_text(), 0..3),
            proptest::collection::vec(
                (any::<u8>(), any::<u32>()).prop_map(|(session_identity, value)| {
                    SessionIdentityExpiry {
                        session_identity,
                        value,
                    }
                }),
                0..3,
            ),
        ),
    )
        .prop_map(|(a, b, c)| FdtInstance {
            expires: a.0,
            complete: a.1,
            content_type: a.2,
            content_encoding: a.3,
            fec_oti: a.4,
            full_fdt: b.0,
            files: b.1,
            schema_version: Some(b.2),
            base_url_1: c.0,
            base_url_2: c.1,
            groups: c.2,
            mbms_session_identity_expiry: c.3,
        })
}

/// What the L.6 profile keeps of an instance: everything but the extensions it has no place for.
fn l6_projection(mut fdt: FdtInstance) -> FdtInstance {
    fdt.full_fdt = None;
    fdt.base_url_1.clear();
    fdt.base_url_2.clear();
    fdt.groups.clear();
    fdt.mbms_session_identity_expiry.clear();
    for file in &mut fdt.files {
        file.groups.clear();
        file.mbms_session_identity.clear();
        file.alternate_content_location_1.clear();
        file.alternate_content_location_2.clear();
        file.decryption_key_uri = None;
        file.independent_unit_positions = None;
    }
    fdt
}

proptest! {
    #[test]
    fn extended_form_round_trips(fdt in instance()) {
        let xml = fdt.to_xml(FdtXmlProfile::Extended);
        let parsed = FdtInstance::parse(&xml, &ParseLimits::default());
        prop_assert_eq!(parsed, Ok(fdt), "{}", String::from_utf8_lossy(&xml));
    }

    #[test]
    fn l6_profile_round_trips_what_it_can_carry(fdt in instance()) {
        let xml = fdt.to_xml(FdtXmlProfile::Ts26346L6);
        let parsed = FdtInstance::parse(&xml, &ParseLimits::default());
        prop_assert_eq!(parsed, Ok(l6_projection(fdt)), "{}", String::from_utf8_lossy(&xml));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = FdtInstance::parse(&bytes, &ParseLimits::default());
    }

    #[test]
    fn mutated_documents_never_panic(cut in 0usize..2000, byte in any::<u8>()) {
        let mut xml = EXTENDED_EVERYTHING.as_bytes().to_vec();
        let at = cut % xml.len();
        xml[at] = byte;
        let _ = FdtInstance::parse(&xml, &ParseLimits::default());
        xml.truncate(at);
        let _ = FdtInstance::parse(&xml, &ParseLimits::default());
    }
}

#[test]
fn lenient_parsing_leaves_out_only_the_bad_file_entries() {
    let xml = r#"<FDT-Instance Expires="3900000000">
  <File Content-Location="file:///good-1" TOI="1" Content-Length="10"/>
  <File Content-Location="file:///bad-toi" TOI="one"/>
  <File Content-Location="file:///bad-length" TOI="3" Content-Length="-5"><Group>g</Group></File>
  <File TOI="4"/>
  <File Content-Location="file:///bad-child" TOI="5"><Cache-Control><Expires>soon</Expires></Cache-Control></File>
  <File Content-Location="file:///good-6" TOI="6"><Cache-Control><no-cache>true</no-cache></Cache-Control></File>
</FDT-Instance>"#;
    let limits = ParseLimits::default();
    assert!(matches!(
        FdtInstance::parse(xml.as_bytes(), &limits),
        Err(FdtError::InvalidValue { .. })
    ));
    let (instance, rejected) = FdtInstance::parse_lenient(xml.as_bytes(), &limits).unwrap();
    let kept: Vec<u128> = instance.files.iter().map(|f| f.toi).collect();
    assert_eq!(kept, [1, 6]);
    assert_eq!(instance.files[1].cache_control, Some(CacheControl::NoCache));
    let left_out: Vec<(Option<u128>, Option<&str>)> = rejected
        .iter()
        .map(|r| (r.toi, r.content_location.as_deref()))
        .collect();
    assert_eq!(
        left_out,
        [
            (None, Some("file:///bad-toi")),
            (Some(3), Some("file:///bad-length")),
            (Some(4), None),
            (Some(5), Some("file:///bad-child")),
        ]
    );
    assert!(matches!(
        rejected[3].error,
        FdtError::InvalidValue {
            name: "Expires",
            ..
        }
    ));
    // Left-out entries still count towards the cap on entries.
    let two = ParseLimits {
        max_files: 2,
        ..limits
    };
    assert_eq!(
        FdtInstance::parse_lenient(xml.as_bytes(), &two),
        Err(FdtError::TooManyFiles { cap: 2 })
    );
    // What is wrong with the instance itself still refuses it.
    assert!(FdtInstance::parse_lenient(b"<FDT-Instance Expires=\"x\"/>", &limits).is_err());
}

#[test]
fn each_file_placement_completes_files_of_the_same_scheme_only() {
    let defaults = FecOtiAttributes {
        fec_encoding_id: Some(0),
        encoding_symbol_length: Some(1400),
        maximum_source_block_length: Some(64),
        max_number_of_encoding_symbols: Some(64),
        ..FecOtiAttributes::default()
    };
    let raptor = FecOtiAttributes {
        fec_encoding_id: Some(1),
        encoding_symbol_length: Some(1000),
        ..FecOtiAttributes::default()
    };
    let fdt = FdtInstance {
        expires: 1,
        fec_oti: defaults.clone(),
        files: vec![
            File {
                content_location: "a".into(),
                toi: 1,
                ..File::default()
            },
            File {
                content_location: "b".into(),
                toi: 2,
                fec_oti: FecOtiAttributes {
                    maximum_source_block_length: Some(9),
                    ..FecOtiAttributes::default()
                },
                ..File::default()
            },
            File {
                content_location: "c".into(),
                toi: 3,
                fec_oti: raptor.clone(),
                ..File::default()
            },
        ],
        ..FdtInstance::default()
    };
    let xml = fdt.to_xml_with(FdtXmlProfile::Extended, OtiPlacement::EachFile);
    let back = FdtInstance::parse(&xml, &ParseLimits::default()).unwrap();
    assert_eq!(back.fec_oti, defaults);
    assert_eq!(back.file(1).unwrap().fec_oti, defaults);
    assert_eq!(
        back.file(2).unwrap().fec_oti,
        FecOtiAttributes {
            maximum_source_block_length: Some(9),
            ..defaults.clone()
        }
    );
    assert_eq!(back.file(3).unwrap().fec_oti, raptor);
    // As given, the first file has none of its own.
    let xml = fdt.to_xml(FdtXmlProfile::Extended);
    let back = FdtInstance::parse(&xml, &ParseLimits::default()).unwrap();
    assert!(back.file(1).unwrap().fec_oti.is_empty());
}
