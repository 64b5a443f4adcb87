use std::net::{IpAddr, Ipv4Addr};

use super::*;

fn endpoint(destination: [u8; 4], port: u16, tsi: Option<u64>) -> EndpointAddress {
    EndpointAddress {
        source: None,
        destination: IpAddr::V4(Ipv4Addr::from(destination)),
        port,
        tsi,
    }
}

fn sample() -> GatewayConfiguration {
    let mut media = TransportSession::flute(vec![EndpointAddress {
        source: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
        ..endpoint([239, 1, 2, 3], 5001, Some(10))
    }]);
    media.id = Some("10".into());
    media.bit_rate = Some(BitRate {
        average: Some(1_000_000),
        maximum: Some(2_000_000),
    });
    media.repair = Some(UnicastRepair {
        reception_timeout_ms: Some(2000),
        fixed_back_off_s: Some(1),
        random_back_off_s: Some(3),
        object_base_uri: Some("tag:example.com,2026:s1".into()),
        base_urls: vec![
            RepairBaseUrl {
                url: "http://repair.example/a?x=1&y=2".into(),
                relative_weight: None,
            },
            RepairBaseUrl {
                url: "http://repair2.example/".into(),
                relative_weight: Some(5),
            },
        ],
    });
    GatewayConfiguration {
        valid_until: Some("2030-01-01T00:00:00Z".into()),
        gateway_sessions: vec![TransportSession::flute(vec![endpoint(
            [239, 1, 2, 3],
            5000,
            Some(1),
        )])],
        sessions: vec![MulticastSession {
            service_identifier: "tag:example.com,2026:a&b \"c\"".into(),
            manifests: vec![ManifestLocator {
                manifest_id: Some("m1".into()),
                content_type: Some("application/dash+xml".into()),
                transport_object_uri: Some("tag:example.com,2026:live.mpd".into()),
                url: Some("http://example.com/live.mpd?a=1&b=2".into()),
            }],
            transport_sessions: vec![media],
        }],
    }
}

#[test]
fn written_configuration_reads_back_equal() {
    let config = sample();
    let xml = config.to_xml();
    let parsed = GatewayConfiguration::parse(xml.as_bytes(), &ParseLimits::default()).unwrap();
    assert!(parsed.skipped.is_empty(), "{:?}", parsed.skipped);
    assert_eq!(parsed.config, config);
    assert!(xml.contains(NAMESPACE));
}

/// A document as GPAC's `mabr://` sender writes it for a DASH service (out_route.c).
const GPAC_DASH: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<MulticastGatewayConfiguration xmlns="urn:dvb:metadata:MulticastSessionConfiguration:2023">
<MulticastGatewayConfigurationTransportSession transportSecurity="none">
<TransportProtocol protocolIdentifier="urn:dvb:metadata:cs:MulticastTransportProtocolCS:2019:FLUTE" protocolVersion="1"/>
<EndpointAddress>
<NetworkDestinationGroupAddress>239.1.2.3</NetworkDestinationGroupAddress>
<TransportDestinationPort>5000</TransportDestinationPort>
<MediaTransportSessionIdentifier>1</MediaTransportSessionIdentifier>
</EndpointAddress>
<BitRate average="0" maximum="0"/>
<ObjectCarousel aggregateTransportSize="1234">
<PresentationManifests serviceIdRef="tag:gpac.io,2025:s1" targetAcquisitionLatency="PT1S"/>
</ObjectCarousel>
</MulticastGatewayConfigurationTransportSession>
<MulticastSession serviceIdentifier="tag:gpac.io,2025:s1" contentPlaybackAvailabilityOffset="PT4S">
<PresentationManifestLocator manifestId="gpac_mani_serv_1" contentType="application/dash+xml" transportObjectURI="tag:gpac.io,2025:s1/live.mpd"></PresentationManifestLocator>
<MulticastTransportSession sessionIdleTimeout="60000" transportSecurity="none" id="2" transmissionMode="resource">
<TransportProtocol protocolIdentifier="urn:dvb:metadata:cs:MulticastTransportProtocolCS:2019:FLUTE" protocolVersion="1"/>
<EndpointAddress>
<NetworkDestinationGroupAddress>239.1.2.3</NetworkDestinationGroupAddress>
<TransportDestinationPort>5001</TransportDestinationPort>
<MediaTransportSessionIdentifier>2</MediaTransportSessionIdentifier>
</EndpointAddress>
<BitRate average="128000" maximum="128000"/>
<ServiceComponentIdentifier xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" manifestIdRef="gpac_mani_serv_1" xsi:type="DASHComponentIdentifierType" periodIdentifier="1" adaptationSetIdentifier="1" representationIdentifier="1"/>
</MulticastTransportSession>
</MulticastSession>
</MulticastGatewayConfiguration>
"#;

#[test]
fn gpac_dash_configuration_lists_bootstrap_and_media_sessions() {
    let parsed =
        GatewayConfiguration::parse(GPAC_DASH.as_bytes(), &ParseLimits::default()).unwrap();
    assert!(parsed.skipped.is_empty());
    let config = parsed.config;
    assert_eq!(
        config.flute_endpoints(),
        vec![
            endpoint([239, 1, 2, 3], 5000, Some(1)),
            endpoint([239, 1, 2, 3], 5001, Some(2))
        ]
    );
    let session = &config.sessions[0];
    assert_eq!(session.service_identifier, "tag:gpac.io,2025:s1");
    assert_eq!(
        session.manifests[0].transport_object_uri.as_deref(),
        Some("tag:gpac.io,2025:s1/live.mpd")
    );
    assert_eq!(session.manifests[0].url, None);
    assert_eq!(session.transport_sessions[0].id.as_deref(), Some("2"));
    assert_eq!(
        session.transport_sessions[0].bit_rate,
        Some(BitRate {
            average: Some(128_000),
            maximum: Some(128_000)
        })
    );
}

/// The `UnicastRepairParameters` GPAC's `mabr://` sender writes with `repair_urls` (out_route.c),
/// with a weighted alternative, one of weight 0 and an unknown child.
const GPAC_REPAIR: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<MulticastGatewayConfiguration xmlns="urn:dvb:metadata:MulticastSessionConfiguration:2023">
<MulticastSession serviceIdentifier="tag:gpac.io,2025:s1">
<MulticastTransportSession transportSecurity="none" id="2">
<TransportProtocol protocolIdentifier="urn:dvb:metadata:cs:MulticastTransportProtocolCS:2019:FLUTE" protocolVersion="1"/>
<EndpointAddress>
<NetworkDestinationGroupAddress>239.1.2.3</NetworkDestinationGroupAddress>
<TransportDestinationPort>5001</TransportDestinationPort>
<MediaTransportSessionIdentifier>2</MediaTransportSessionIdentifier>
</EndpointAddress>
<BitRate average="128000" maximum="128000"/>
<UnicastRepairParameters transportObjectReceptionTimeout="1000" fixedBackOffPeriod="10" randomBackOffPeriod="20" transportObjectBaseURI="tag:gpac.io,2025:s1">
<BaseURL>http://a.example/live/</BaseURL>
<BaseURL relativeWeight="3">http://b.example/live/</BaseURL>
<BaseURL relativeWeight="0">http://never.example/</BaseURL>
<Other/>
</UnicastRepairParameters>
</MulticastTransportSession>
</MulticastSession>
</MulticastGatewayConfiguration>
"#;

#[test]
fn gpac_repair_parameters_are_read_and_ordered_by_weight() {
    let parsed =
        GatewayConfiguration::parse(GPAC_REPAIR.as_bytes(), &ParseLimits::default()).unwrap();
    assert!(parsed.skipped.is_empty());
    let repair = parsed.config.sessions[0].transport_sessions[0]
        .repair
        .clone()
        .unwrap();
    assert_eq!(repair.reception_timeout_ms, Some(1000));
    assert_eq!(repair.fixed_back_off_s, Some(10));
    assert_eq!(repair.random_back_off_s, Some(20));
    assert_eq!(
        repair.object_base_uri.as_deref(),
        Some("tag:gpac.io,2025:s1")
    );
    assert_eq!(repair.base_urls.len(), 3);
    assert_eq!(
        repair.urls_by_weight(),
        vec!["http://b.example/live/", "http://a.example/live/"]
    );
    // Written back in GPAC's order, it reads back the same.
    let xml = parsed.config.to_xml();
    let at = |needle: &str| xml.find(needle).unwrap();
    assert!(at("<BitRate") < at("<UnicastRepairParameters"));
    assert!(at("transportObjectReceptionTimeout=") < at("fixedBackOffPeriod="));
    assert!(at("fixedBackOffPeriod=") < at("randomBackOffPeriod="));
    assert!(at("randomBackOffPeriod=") < at("transportObjectBaseURI="));
    let again = GatewayConfiguration::parse(xml.as_bytes(), &ParseLimits::default()).unwrap();
    assert_eq!(again.config, parsed.config);
}

#[test]
fn unreadable_repair_values_cost_only_themselves() {
    let xml = GPAC_REPAIR
        .replace("\"1000\"", "\"soon\"")
        .replace("\"10\"", "\"-1\"")
        .replace("relativeWeight=\"3\"", "relativeWeight=\"heavy\"")
        .replace(
            "<BaseURL>http://a.example/live/</BaseURL>",
            "<BaseURL>  </BaseURL>",
        );
    let parsed = GatewayConfiguration::parse(xml.as_bytes(), &ParseLimits::default()).unwrap();
    assert!(parsed.skipped.is_empty());
    let session = &parsed.config.sessions[0].transport_sessions[0];
    assert_eq!(session.endpoints.len(), 1);
    let repair = session.repair.as_ref().unwrap();
    assert_eq!(repair.reception_timeout_ms, None);
    assert_eq!(repair.fixed_back_off_s, None);
    assert_eq!(repair.random_back_off_s, Some(20));
    assert_eq!(repair.urls_by_weight(), vec!["http://b.example/live/"]);
}

#[test]
fn invalid_session_is_left_out_and_the_others_kept() {
    let xml = GPAC_DASH.replacen(
        "<TransportDestinationPort>5001<",
        "<TransportDestinationPort>70000<",
        1,
    );
    let parsed = GatewayConfiguration::parse(xml.as_bytes(), &ParseLimits::default()).unwrap();
    assert_eq!(parsed.skipped.len(), 1);
    assert!(matches!(
        parsed.skipped[0],
        MabrError::InvalidValue {
            element: "TransportDestinationPort",
            ..
        }
    ));
    assert_eq!(
        parsed.config.flute_endpoints(),
        vec![endpoint([239, 1, 2, 3], 5000, Some(1))]
    );
    let missing = GPAC_DASH.replacen(
        "<NetworkDestinationGroupAddress>239.1.2.3</NetworkDestinationGroupAddress>\n<TransportDestinationPort>5001",
        "<TransportDestinationPort>5001",
        1,
    );
    let parsed = GatewayConfiguration::parse(missing.as_bytes(), &ParseLimits::default()).unwrap();
    assert!(matches!(
        parsed.skipped[..],
        [MabrError::MissingElement {
            element: "NetworkDestinationGroupAddress",
            ..
        }]
    ));
}

#[test]
fn route_sessions_are_not_flute_endpoints() {
    let mut config = sample();
    config.sessions[0].transport_sessions[0].protocol = TransportProtocol::Route;
    let parsed =
        GatewayConfiguration::parse(config.to_xml().as_bytes(), &ParseLimits::default()).unwrap();
    assert_eq!(
        parsed.config.sessions[0].transport_sessions[0].protocol,
        TransportProtocol::Route
    );
    assert_eq!(
        parsed.config.flute_endpoints(),
        vec![endpoint([239, 1, 2, 3], 5000, Some(1))]
    );
}

#[test]
fn prefixed_names_and_unknown_elements_are_read_by_local_name() {
    let xml = r#"<m:MulticastGatewayConfiguration xmlns:m="urn:x"><m:Unknown><a/><b>t</b></m:Unknown>
<m:MulticastGatewayConfigurationTransportSession><m:TransportProtocol protocolIdentifier=" urn:dvb:metadata:cs:MulticastTransportProtocolCS:2019:FLUTE "/>
<m:EndpointAddress><m:NetworkDestinationGroupAddress> ff15::1 </m:NetworkDestinationGroupAddress><m:TransportDestinationPort>9</m:TransportDestinationPort></m:EndpointAddress>
</m:MulticastGatewayConfigurationTransportSession></m:MulticastGatewayConfiguration>"#;
    let parsed = GatewayConfiguration::parse(xml.as_bytes(), &ParseLimits::default()).unwrap();
    assert_eq!(
        parsed.config.flute_endpoints(),
        vec![EndpointAddress {
            source: None,
            destination: "ff15::1".parse().unwrap(),
            port: 9,
            tsi: None
        }]
    );
}

#[test]
fn hostile_documents_are_refused_with_typed_errors() {
    let limits = ParseLimits::default();
    let parse = |xml: &str| GatewayConfiguration::parse(xml.as_bytes(), &limits);
    assert_eq!(
        parse("<!DOCTYPE x [<!ENTITY a \"b\">]><MulticastGatewayConfiguration/>"),
        Err(MabrError::DoctypeForbidden)
    );
    assert_eq!(
        parse("<FDT-Instance/>"),
        Err(MabrError::NotGatewayConfiguration("FDT-Instance".into()))
    );
    assert_eq!(parse("  "), Err(MabrError::Empty));
    assert!(matches!(
        parse("<MulticastGatewayConfiguration>"),
        Err(MabrError::Xml { .. })
    ));
    assert!(matches!(
        parse("<MulticastGatewayConfiguration/><MulticastGatewayConfiguration/>"),
        Err(MabrError::Xml { .. })
    ));
    assert!(matches!(
        parse("<MulticastGatewayConfiguration>&bomb;</MulticastGatewayConfiguration>"),
        Err(MabrError::Xml { .. })
    ));
    assert!(matches!(
        GatewayConfiguration::parse(&[0xff, 0xfe], &limits),
        Err(MabrError::NotUtf8 { valid_up_to: 0 })
    ));
    let deep = format!(
        "<MulticastGatewayConfiguration>{}{}</MulticastGatewayConfiguration>",
        "<a>".repeat(64),
        "</a>".repeat(64)
    );
    assert_eq!(parse(&deep), Err(MabrError::TooDeep { cap: 32 }));
    let wide = format!(
        "<MulticastGatewayConfiguration>{}</MulticastGatewayConfiguration>",
        "<a/>".repeat(30)
    );
    let small = ParseLimits {
        max_elements: 20,
        ..limits
    };
    assert_eq!(
        GatewayConfiguration::parse(wide.as_bytes(), &small),
        Err(MabrError::TooManyElements { cap: 20 })
    );
    let big = vec![b' '; limits.max_document_bytes + 1];
    assert!(matches!(
        GatewayConfiguration::parse(&big, &limits),
        Err(MabrError::DocumentTooLarge { .. })
    ));
}

#[test]
fn configuration_object_is_known_by_type_or_location() {
    assert!(is_gateway_configuration(None, Some(CONTENT_TYPE)));
    assert!(is_gateway_configuration(Some(CONTENT_LOCATION), None));
    assert!(is_gateway_configuration(
        Some("x"),
        Some("Application/XML+DVB-MABR-Session-Configuration")
    ));
    assert!(!is_gateway_configuration(
        Some("tag:x/live.mpd"),
        Some("application/dash+xml")
    ));
    assert!(!is_gateway_configuration(None, None));
}

/// Every packet of a sender carrying `objects` (Content-Location, Content-Type, bytes), FDT
/// published once, until it idles.
fn session_packets(objects: &[(&str, &str, Vec<u8>)]) -> Vec<Vec<u8>> {
    use crate::endpoint::UdpEndpoint;
    use crate::sender::{Config, ObjectDesc, Sender, TransferConfig};
    use crate::wire::{FecEncodingId, Oti, SchemeSpecific};
    let oti = Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: 100,
        maximum_source_block_length: 64,
        max_number_of_encoding_symbols: 64,
        scheme_specific: SchemeSpecific::None,
    };
    let endpoint = UdpEndpoint::new(IpAddr::V4(Ipv4Addr::new(239, 1, 2, 3)), 5000);
    let mut sender = Sender::new(endpoint, BOOTSTRAP_TSI, oti, Config::default()).unwrap();
    for (location, content_type, bytes) in objects {
        let obj = ObjectDesc::from_buffer(
            bytes.clone(),
            *content_type,
            *location,
            false,
            TransferConfig::default(),
        )
        .unwrap();
        sender.add_object(0, obj).unwrap();
    }
    let now = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    sender.publish(now).unwrap();
    let mut buf = vec![0u8; sender.max_packet_len()];
    let mut out = Vec::new();
    while let Some(len) = sender.write_next(&mut buf, now) {
        out.push(buf[..len].to_vec());
        assert!(out.len() < 10_000);
    }
    out
}

#[test]
fn bootstrap_reader_finds_the_configuration_among_other_objects() {
    let config = sample();
    let xml = config.to_xml().into_bytes();
    let packets = session_packets(&[
        ("tag:x/live.mpd", "application/dash+xml", vec![7; 5000]),
        (CONTENT_LOCATION, CONTENT_TYPE, xml.clone()),
    ]);
    let limits = crate::receiver::Limits::default();
    // Object packets before the FDT that names them are of no use; the carousel's second turn
    // completes the configuration.
    let fdt_at = packets
        .iter()
        .position(|p| crate::wire::AlcPacket::parse(p).unwrap().lct().toi == 0)
        .unwrap();
    let mut reader = BootstrapReader::new(&limits);
    let mut found = Vec::new();
    let turn = packets[fdt_at + 1..]
        .iter()
        .chain(&packets[..=fdt_at])
        .chain(&packets[fdt_at + 1..]);
    for packet in turn {
        if let Some(parsed) = reader.push(packet) {
            found.push(parsed.unwrap());
        }
    }
    assert_eq!(found.len(), 1, "reported once, however often it comes");
    assert_eq!(found[0].config, config);
    assert_eq!(reader.dropped(), 0);
    // Garbage is counted, never a panic.
    assert!(reader.push(&[0xff; 3]).is_none());
    assert_eq!(reader.dropped(), 1);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Any text XML can carry in an attribute, white space and markup characters included.
    fn text() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[ -~\t\n\r\u{a0}-\u{d7ff}\u{e000}-\u{fffd}]{0,24}").unwrap()
    }

    /// Text as element content keeps: no white space at either end, not empty.
    fn trimmed() -> impl Strategy<Value = String> {
        text().prop_filter_map("blank", |t| {
            let t = t.trim().to_owned();
            (!t.is_empty()).then_some(t)
        })
    }

    fn endpoint() -> impl Strategy<Value = EndpointAddress> {
        (
            proptest::option::of(any::<Ipv4Addr>().prop_map(IpAddr::V4)),
            any::<std::net::Ipv6Addr>().prop_map(IpAddr::V6),
            any::<u16>(),
            proptest::option::of(any::<u64>()),
        )
            .prop_map(|(source, destination, port, tsi)| EndpointAddress {
                source,
                destination,
                port,
                tsi,
            })
    }

    fn transport() -> impl Strategy<Value = TransportSession> {
        let protocol = prop_oneof![
            Just(TransportProtocol::Flute),
            Just(TransportProtocol::Route),
            trimmed().prop_map(|t| TransportProtocol::from_identifier(&t)),
        ];
        (
            proptest::option::of(text()),
            protocol,
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::collection::vec(endpoint(), 0..3),
            proptest::option::of((
                proptest::option::of(any::<u64>()),
                proptest::option::of(any::<u64>()),
            )),
            proptest::option::of(repair()),
        )
            .prop_map(
                |(id, protocol, protocol_version, transport_security, endpoints, rate, repair)| {
                    TransportSession {
                        id,
                        protocol,
                        protocol_version,
                        transport_security,
                        endpoints,
                        bit_rate: rate.map(|(average, maximum)| BitRate { average, maximum }),
                        repair,
                    }
                },
            )
    }

    fn repair() -> impl Strategy<Value = UnicastRepair> {
        let base =
            (trimmed(), proptest::option::of(any::<u32>())).prop_map(|(url, relative_weight)| {
                RepairBaseUrl {
                    url,
                    relative_weight,
                }
            });
        (
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(text()),
            proptest::collection::vec(base, 0..3),
        )
            .prop_map(
                |(
                    reception_timeout_ms,
                    fixed_back_off_s,
                    random_back_off_s,
                    object_base_uri,
                    base_urls,
                )| {
                    UnicastRepair {
                        reception_timeout_ms,
                        fixed_back_off_s,
                        random_back_off_s,
                        object_base_uri,
                        base_urls,
                    }
                },
            )
    }

    fn configuration() -> impl Strategy<Value = GatewayConfiguration> {
        let manifest = (
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(trimmed()),
        )
            .prop_map(
                |(manifest_id, content_type, transport_object_uri, url)| ManifestLocator {
                    manifest_id,
                    content_type,
                    transport_object_uri,
                    url,
                },
            );
        let session = (
            text(),
            proptest::collection::vec(manifest, 0..3),
            proptest::collection::vec(transport(), 0..3),
        )
            .prop_map(|(service_identifier, manifests, transport_sessions)| {
                MulticastSession {
                    service_identifier,
                    manifests,
                    transport_sessions,
                }
            });
        (
            proptest::option::of(text()),
            proptest::collection::vec(transport(), 0..3),
            proptest::collection::vec(session, 0..3),
        )
            .prop_map(
                |(valid_until, gateway_sessions, sessions)| GatewayConfiguration {
                    valid_until,
                    gateway_sessions,
                    sessions,
                },
            )
    }

    proptest! {
        #[test]
        fn any_configuration_reads_back_as_written(config in configuration()) {
            let parsed = GatewayConfiguration::parse(config.to_xml().as_bytes(), &ParseLimits::default()).unwrap();
            prop_assert!(parsed.skipped.is_empty());
            prop_assert_eq!(parsed.config, config);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = GatewayConfiguration::parse(&bytes, &ParseLimits::default());
        }
    }
}
