//! FDT interop with the `flute` crate 1.11.7, both directions, both XML profiles:
//! (a) flute's Sender writes FDTs that xflute parses attribute for attribute;
//! (b) xflute writes FDTs that flute's receiver accepts and turns into the same metadata.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use flute::core::alc::{parse_alc_pkt, parse_payload_id};
use flute::core::lct::Cenc as FluteCenc;
use flute::core::{Oti, UDPEndpoint};
use flute::receiver::MultiReceiver;
use flute::receiver::writer::{ObjectCacheControl, ObjectWriterBufferBuilder};
use flute::sender::{
    CacheControl as FluteCacheControl, Config, FDTPublishMode, FdtXmlProfile as FluteProfile,
    ObjectDesc, Sender, TransferConfig,
};
use xflute::cenc::{self, Cenc as XCenc};
use xflute::fdt::{
    CacheControl, FdtInstance, FdtXmlProfile, FecOtiAttributes, File, ParseLimits, ntp,
};
use xflute::fec::BlockPartition;
use xflute::wire::{
    AlcRepr, ExtFdt, ExtRepr, FecEncodingId, LctRepr, Oti as XOti, PayloadId, PayloadIdFormat,
    SchemeSpecific,
};

const TSI: u64 = 7;

fn endpoint() -> UDPEndpoint {
    UDPEndpoint::new(None, "224.0.0.1".to_owned(), 3400)
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
}

fn xflute_cenc(c: FluteCenc) -> XCenc {
    XCenc::from_code(c as u8).unwrap()
}

// ---- (a) flute writes, xflute reads ------------------------------------------------------

/// One object given to flute's sender, with what its File entry must then say.
struct Sent {
    location: &'static str,
    content_type: &'static str,
    oti: Option<Oti>,
    cenc: FluteCenc,
    cache_control: Option<FluteCacheControl>,
    e_tag: Option<&'static str>,
}

fn sent_objects() -> Vec<Sent> {
    let base = |location, oti| Sent {
        location,
        content_type: "application/octet-stream",
        oti: Some(oti),
        cenc: FluteCenc::Null,
        cache_control: None,
        e_tag: None,
    };
    vec![
        Sent {
            content_type: "text/plain",
            cache_control: Some(FluteCacheControl::NoCache),
            e_tag: Some("etag-\"1\"&<"),
            cenc: FluteCenc::Gzip,
            ..base("file:///no-code.txt", Oti::new_no_code(1024, 32))
        },
        Sent {
            cache_control: Some(FluteCacheControl::MaxStale),
            cenc: FluteCenc::Zlib,
            ..base(
                "file:///rs28.bin",
                Oti::new_reed_solomon_rs28(1024, 40, 10).unwrap(),
            )
        },
        Sent {
            cache_control: Some(FluteCacheControl::ExpiresAt(
                SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000),
            )),
            cenc: FluteCenc::Deflate,
            ..base(
                "file:///rs28-under-specified.bin",
                Oti::new_reed_solomon_rs28_under_specified(1024, 60, 4).unwrap(),
            )
        },
        base(
            "file:///rs2m.bin",
            Oti::new_reed_solomon_rs2m(1024, 64, 20, 8).unwrap(),
        ),
        base(
            "file:///raptorq.bin",
            Oti::new_raptorq(1024, 64, 8, 1, 4).unwrap(),
        ),
        base(
            "file:///raptor.bin",
            Oti::new_raptor(1024, 64, 8, 1, 4).unwrap(),
        ),
        Sent {
            oti: None,
            ..base("file:///default-oti.bin", Oti::new_no_code(1, 1))
        },
    ]
}

/// The FEC-OTI attributes flute puts on a File for `oti`.
fn expected_fec_oti(oti: &Oti) -> FecOtiAttributes {
    let attributes = oti.get_attributes();
    FecOtiAttributes {
        fec_encoding_id: attributes.fec_oti_fec_encoding_id,
        fec_instance_id: attributes.fec_oti_fec_instance_id,
        maximum_source_block_length: attributes.fec_oti_maximum_source_block_length,
        encoding_symbol_length: attributes.fec_oti_encoding_symbol_length,
        max_number_of_encoding_symbols: attributes.fec_oti_max_number_of_encoding_symbols,
        scheme_specific_info: attributes
            .fec_oti_scheme_specific_info
            .map(|b64| base64_decode(&b64)),
    }
}

/// Standard base64 (RFC 4648 §4) decoding, enough for the short Scheme-Specific-Info values.
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET
            .iter()
            .position(|&a| a == c)
            .expect("base64 character") as u32;
        bits = (bits << 6) | v;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
        }
    }
    out
}

/// Text, so that flute's content encodings shrink it to under half (checked below).
fn content_of(i: usize) -> Vec<u8> {
    xflute_tests::data::text(20_000, i as u64)
}

/// Reassembles every FDT instance flute sent (TOI 0, no-code, one source block), using
/// flute's own public packet parser, and decodes it with xflute when it carries EXT_CENC.
fn fdt_instances_from(packets: &[Vec<u8>]) -> BTreeMap<u32, Vec<u8>> {
    /// Per FDT Instance ID: transfer length, EXT_CENC, symbols by byte offset.
    type Parts = BTreeMap<u32, (u64, Option<FluteCenc>, BTreeMap<u32, Vec<u8>>)>;
    let mut parts = Parts::new();
    for packet in packets {
        let alc = parse_alc_pkt(packet).unwrap();
        if alc.lct.toi != 0 || alc.data_payload_offset == alc.data.len() {
            continue;
        }
        let oti = alc.oti.clone().expect("the FDT carries EXT_FTI");
        let fdt_info = alc.fdt_info.as_ref().expect("the FDT carries EXT_FDT");
        let payload_id = parse_payload_id(&alc, &oti).unwrap();
        assert_eq!(payload_id.sbn, 0, "FDTs in this test fit one source block");
        let entry = parts
            .entry(fdt_info.fdt_instance_id)
            .or_insert_with(|| (alc.transfer_length.unwrap(), alc.cenc, BTreeMap::new()));
        let offset = payload_id.esi * u32::from(oti.encoding_symbol_length);
        entry
            .2
            .insert(offset, alc.data[alc.data_payload_offset..].to_vec());
    }
    parts
        .into_iter()
        .map(|(id, (transfer_length, cenc, symbols))| {
            let mut bytes = Vec::new();
            for (offset, symbol) in symbols {
                assert_eq!(offset as usize, bytes.len(), "FDT {id} misses a symbol");
                bytes.extend_from_slice(&symbol);
            }
            bytes.truncate(transfer_length as usize);
            let cenc = cenc.map(xflute_cenc).unwrap_or(XCenc::Null);
            (id, cenc::decode(cenc, &bytes, 1 << 20).unwrap())
        })
        .collect()
}

fn run_flute_sender(
    profile: FluteProfile,
    flute_version: flute::sender::Profile,
    fdt_cenc: FluteCenc,
    publish_mode: FDTPublishMode,
) {
    let label = format!("{profile:?}/{flute_version:?}/{fdt_cenc:?}/{publish_mode:?}");
    let groups = vec!["group-a".to_owned(), "group&b".to_owned()];
    let config = Config {
        fdt_xml_profile: profile,
        profile: flute_version,
        fdt_cenc,
        fdt_publish_mode: publish_mode,
        groups: Some(groups.clone()),
        ..Config::default()
    };
    let default_oti = Oti::new_no_code(1400, 64);
    let mut sender = Sender::new(endpoint(), TSI, &default_oti, &config);
    let now = SystemTime::now();
    let sent = sent_objects();
    let mut tois = Vec::new();
    for (i, object) in sent.iter().enumerate() {
        let desc = ObjectDesc::create_from_buffer(
            content_of(i),
            object.content_type,
            &url::Url::parse(object.location).unwrap(),
            true,
            TransferConfig {
                max_transfer_count: 1,
                cache_control: object.cache_control,
                e_tag: object.e_tag.map(str::to_owned),
                cenc: object.cenc,
                inband_cenc: true,
                oti: object.oti.clone(),
                ..TransferConfig::default()
            },
        )
        .unwrap();
        tois.push(sender.add_object(0, desc).unwrap());
    }
    if publish_mode == FDTPublishMode::FullFDT {
        sender.set_complete();
        sender.publish(now).unwrap();
    }
    let mut packets = Vec::new();
    while let Some(packet) = sender.read(now) {
        packets.push(packet);
        assert!(packets.len() < 100_000, "{label}: sender never drains");
    }

    let instances = fdt_instances_from(&packets);
    assert!(!instances.is_empty(), "{label}: no FDT sent");
    let mut seen = BTreeMap::new();
    for (id, xml) in &instances {
        let fdt = FdtInstance::parse(xml, &ParseLimits::default())
            .unwrap_or_else(|e| panic!("{label} FDT {id}: {e}\n{}", String::from_utf8_lossy(xml)));
        // Instance attributes.
        let expires = fdt.expires_unix_secs(unix_secs(now)).unwrap();
        assert!(
            expires.abs_diff(unix_secs(now) + 3600) <= 2,
            "{label}: Expires {expires}"
        );
        assert_eq!(fdt.schema_version, Some(4), "{label}");
        assert_eq!(fdt.fec_oti, expected_fec_oti(&default_oti), "{label}");
        match (profile, publish_mode) {
            (FluteProfile::Extended, FDTPublishMode::FullFDT) => {
                assert_eq!(fdt.full_fdt, Some(true), "{label}");
                assert_eq!(fdt.complete, Some(true), "{label}");
            }
            (FluteProfile::Ts26346L6, FDTPublishMode::FullFDT) => {
                assert_eq!(fdt.full_fdt, None, "{label}");
                assert_eq!(fdt.complete, Some(true), "{label}");
            }
            _ => assert_eq!(fdt.full_fdt, None, "{label}"),
        }
        match profile {
            FluteProfile::Extended => assert_eq!(fdt.groups, groups, "{label}"),
            FluteProfile::Ts26346L6 => assert!(fdt.groups.is_empty(), "{label}"),
        }
        for file in &fdt.files {
            seen.insert(file.toi, file.clone());
        }
    }

    for (i, (object, toi)) in sent.iter().zip(&tois).enumerate() {
        let file = seen
            .get(toi)
            .unwrap_or_else(|| panic!("{label}: TOI {toi} in no FDT"));
        let content = content_of(i);
        assert_eq!(file.content_location, object.location, "{label}");
        assert_eq!(file.content_length, Some(content.len() as u64), "{label}");
        // flute compresses with its own settings; the length is that of its output.
        if object.cenc == FluteCenc::Null {
            assert_eq!(file.transfer_length, Some(content.len() as u64), "{label}");
        } else {
            assert!(file.transfer_length.unwrap() < content.len() as u64 / 2);
        }
        assert_eq!(
            file.content_type.as_deref(),
            Some(object.content_type),
            "{label}"
        );
        assert_eq!(
            file.cenc(),
            Ok(xflute_cenc(object.cenc)),
            "{label} {}",
            object.location
        );
        // flute writes Content-MD5 as base64 of the digest: 24 characters, "==" padded.
        let md5 = file.content_md5.as_deref().unwrap();
        assert_eq!(md5.len(), 24, "{label}");
        assert!(md5.ends_with("=="), "{label}");
        assert_eq!(file.file_etag.as_deref(), object.e_tag, "{label}");
        let expected_cache = object.cache_control.map(|cc| match cc {
            FluteCacheControl::NoCache => CacheControl::NoCache,
            FluteCacheControl::MaxStale => CacheControl::MaxStale,
            FluteCacheControl::ExpiresAt(t) => {
                CacheControl::Expires(ntp::ntp_secs_from_unix_secs(unix_secs(t)))
            }
            FluteCacheControl::Expires(d) => {
                CacheControl::Expires(ntp::ntp_secs_from_unix_secs(unix_secs(now + d)))
            }
        });
        assert_eq!(
            file.cache_control, expected_cache,
            "{label} {}",
            object.location
        );
        let mut expected_oti = object
            .oti
            .as_ref()
            .map(expected_fec_oti)
            .unwrap_or_default();
        // Raptor (1) and RaptorQ (6) carry Z, the object's number of source blocks, in their
        // Scheme-Specific-Info (RFC 5053 §3.2.3, RFC 6330 §3.3.3): flute fills it per object.
        let z = (content.len() as u64)
            .div_ceil(expected_oti.encoding_symbol_length.unwrap_or(1))
            .div_ceil(expected_oti.maximum_source_block_length.unwrap_or(1));
        match (
            expected_oti.fec_encoding_id,
            &mut expected_oti.scheme_specific_info,
        ) {
            (Some(6), Some(info)) => info[0] = z as u8,
            (Some(1), Some(info)) => info[..2].copy_from_slice(&(z as u16).to_be_bytes()),
            _ => {}
        }
        assert_eq!(file.fec_oti, expected_oti, "{label} {}", object.location);
        // Absent FEC-OTI attributes are inherited from the instance.
        let effective = object.oti.clone().unwrap_or(default_oti.clone());
        let instance_defaults = expected_fec_oti(&default_oti);
        let effective = match object.oti {
            Some(_) => expected_oti.clone(),
            None => expected_fec_oti(&effective),
        };
        assert_eq!(file.fec_oti.or(&instance_defaults), effective, "{label}");
    }
}

#[test]
fn flute_sender_fdts_parse_in_xflute_with_every_attribute() {
    for profile in [FluteProfile::Extended, FluteProfile::Ts26346L6] {
        for version in [
            flute::sender::Profile::RFC6726,
            flute::sender::Profile::RFC3926,
        ] {
            for (fdt_cenc, mode) in [
                (FluteCenc::Null, FDTPublishMode::FullFDT),
                (FluteCenc::Gzip, FDTPublishMode::ObjectsBeingTransferred),
                (FluteCenc::Zlib, FDTPublishMode::FullFDT),
                (FluteCenc::Deflate, FDTPublishMode::ObjectsBeingTransferred),
            ] {
                run_flute_sender(profile, version, fdt_cenc, mode);
            }
        }
    }
}

// ---- (b) xflute writes, flute reads ------------------------------------------------------

/// Every no-code ALC packet of one object, emitted with `xflute::wire` and partitioned with
/// `xflute::fec` (RFC 5052 §9.1), with the given header extensions on each packet.
fn no_code_packets(
    toi: u128,
    extensions: &[ExtRepr<'_>],
    data: &[u8],
    symbol_len: u32,
    max_sbl: u32,
) -> Vec<Vec<u8>> {
    let partition = BlockPartition::rfc5052(data.len() as u64, symbol_len, max_sbl).unwrap();
    let lct = LctRepr::with_min_widths(0, TSI, Some(toi), FecEncodingId::NoCode.into()).unwrap();
    let mut packets = Vec::new();
    for sbn in 0..partition.nb_blocks() {
        for esi in 0..partition.block_len_symbols(sbn).unwrap() {
            let offset = partition.symbol_offset_bytes(sbn, esi).unwrap() as usize;
            let len = partition.source_symbol_len_bytes(sbn, esi).unwrap() as usize;
            let repr = AlcRepr {
                lct,
                extensions,
                payload_id: Some((
                    PayloadIdFormat::CompactNoCode,
                    PayloadId {
                        sbn: sbn as u32,
                        esi,
                        source_block_length: None,
                    },
                )),
            };
            let mut packet = vec![0u8; repr.buffer_len() + len];
            let header_len = repr.emit(&mut packet).unwrap();
            packet[header_len..].copy_from_slice(&data[offset..offset + len]);
            packets.push(packet);
        }
    }
    packets
}

/// An object described by xflute's FDT: its raw content and its encoding.
struct Described {
    file: File,
    content: Vec<u8>,
    cenc: XCenc,
}

fn described_objects() -> (FdtInstance, Vec<Described>) {
    let now_unix = unix_secs(SystemTime::now());
    let mut fdt = FdtInstance::new(ntp::ntp_secs_from_unix_secs(now_unix + 600));
    fdt.content_type = Some("application/x-instance-default".into());
    fdt.fec_oti = FecOtiAttributes {
        fec_encoding_id: Some(0),
        maximum_source_block_length: Some(64),
        encoding_symbol_length: Some(1400),
        ..FecOtiAttributes::default()
    };
    fdt.full_fdt = Some(true);
    fdt.complete = Some(true);
    fdt.groups = vec!["instance-group".into()];
    fdt.schema_version = Some(4);

    let mut objects = Vec::new();
    let mut add = |toi: u128, cenc: XCenc, edit: &dyn Fn(&mut File)| {
        let content = xflute_tests::data::content(5_000 + toi as usize * 3_001, toi as u64);
        let encoded = cenc::encode(cenc, &content).unwrap();
        let mut file = File::new(format!("file:///xflute/{toi}.bin"), toi);
        file.content_length = Some(content.len() as u64);
        file.transfer_length = Some(encoded.len() as u64);
        if cenc != XCenc::Null {
            file.content_encoding = Some(cenc.as_str().into());
        }
        edit(&mut file);
        objects.push(Described {
            file,
            content,
            cenc,
        });
    };
    add(1, XCenc::Gzip, &|f| {
        f.content_type = Some("text/plain; charset=\"utf-8\"".into());
        f.content_md5 = Some("XrY7u+Ae7tCTyyK7j1rNww==".into());
        f.cache_control = Some(CacheControl::NoCache);
        f.file_etag = Some("\"v1\" & <more>".into());
        f.groups = vec!["file-group".into()];
    });
    add(2, XCenc::Zlib, &|f| {
        f.cache_control = Some(CacheControl::MaxStale);
        // File-level FEC-OTI overriding the instance's, attribute by attribute.
        f.fec_oti.encoding_symbol_length = Some(500);
        f.fec_oti.maximum_source_block_length = Some(10);
    });
    add(3, XCenc::Deflate, &|f| {
        f.cache_control = Some(CacheControl::Expires(ntp::ntp_secs_from_unix_secs(
            1_900_000_000,
        )));
        f.fec_oti = FecOtiAttributes {
            fec_encoding_id: Some(0),
            fec_instance_id: Some(0),
            maximum_source_block_length: Some(7),
            encoding_symbol_length: Some(256),
            max_number_of_encoding_symbols: Some(7),
            scheme_specific_info: None,
        };
    });
    add(4, XCenc::Null, &|f| {
        f.transfer_length = None; // Content-Length serves as the transfer length.
    });
    fdt.files = objects.iter().map(|o| o.file.clone()).collect();
    (fdt, objects)
}

fn flute_receives_xflute_fdt(profile: FdtXmlProfile, flute_version: u8) {
    let label = format!("{profile:?}/FLUTE v{flute_version}");
    let (fdt, objects) = described_objects();
    let xml = fdt.to_xml(profile);

    let fti = XOti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length: xml.len() as u64,
        encoding_symbol_length: 1400,
        maximum_source_block_length: 64,
        max_number_of_encoding_symbols: 64,
        scheme_specific: SchemeSpecific::None,
    };
    let fdt_extensions = [
        ExtRepr::Fdt(ExtFdt {
            flute_version,
            fdt_instance_id: 1,
        }),
        ExtRepr::Fti(fti),
    ];
    let mut packets = no_code_packets(0, &fdt_extensions, &xml, 1400, 64);
    for object in &objects {
        let oti = fdt.fec_oti_for(&object.file);
        let encoded = cenc::encode(object.cenc, &object.content).unwrap();
        packets.extend(no_code_packets(
            object.file.toi,
            &[],
            &encoded,
            oti.encoding_symbol_length.unwrap() as u32,
            oti.maximum_source_block_length.unwrap() as u32,
        ));
    }

    let output = Rc::new(ObjectWriterBufferBuilder::new(false));
    let mut receiver = MultiReceiver::new(output.clone(), None, false);
    let now = SystemTime::now();
    for packet in &packets {
        receiver.push(&endpoint(), packet, now).unwrap();
    }

    let received = output.objects.borrow();
    assert_eq!(received.len(), objects.len(), "{label}");
    let expires_at = SystemTime::UNIX_EPOCH
        + Duration::from_secs(fdt.expires_unix_secs(unix_secs(now)).unwrap());
    for object in &objects {
        let file = &object.file;
        let got = received
            .iter()
            .map(|o| o.borrow())
            .find(|o| o.meta.content_location == file.content_location)
            .unwrap_or_else(|| panic!("{label}: {} not received", file.content_location));
        assert!(
            got.complete && !got.error,
            "{label} {}",
            file.content_location
        );
        assert_eq!(got.data, object.content, "{label}: content after decoding");
        let meta = &got.meta;
        assert_eq!(meta.content_length, file.content_length.map(|v| v as usize));
        assert_eq!(
            meta.transfer_length,
            file.transfer_length_or_content_length().map(|v| v as usize),
            "{label}"
        );
        assert_eq!(
            meta.content_type.as_deref(),
            fdt.content_type_for(file),
            "{label}"
        );
        assert_eq!(meta.md5, file.content_md5, "{label}");
        assert_eq!(meta.e_tag, file.file_etag, "{label}");
        assert_eq!(
            meta.cenc.map(xflute_cenc),
            Some(fdt.cenc_for(file).unwrap()),
            "{label}"
        );
        let expected_cache = match file.cache_control {
            Some(CacheControl::NoCache) => ObjectCacheControl::NoCache,
            Some(CacheControl::MaxStale) => ObjectCacheControl::MaxStale,
            Some(CacheControl::Expires(ntp_secs)) => ObjectCacheControl::ExpiresAt(
                SystemTime::UNIX_EPOCH
                    + Duration::from_secs(
                        ntp::unix_secs_from_ntp_secs(ntp_secs, unix_secs(now)).unwrap(),
                    ),
            ),
            None => ObjectCacheControl::ExpiresAtHint(expires_at),
        };
        assert_eq!(meta.cache_control, expected_cache, "{label}");
        let expected_groups: Vec<String> = match profile {
            // L.6 has no Group element.
            FdtXmlProfile::Ts26346L6 => Vec::new(),
            FdtXmlProfile::Extended => fdt.groups.iter().chain(&file.groups).cloned().collect(),
        };
        assert_eq!(
            meta.groups.clone().unwrap_or_default(),
            expected_groups,
            "{label}"
        );
        let oti = meta.oti.as_ref().expect("OTI from the FDT");
        let declared = fdt.fec_oti_for(file);
        assert_eq!(Some(oti.fec_encoding_id as u8), declared.fec_encoding_id);
        assert_eq!(
            Some(u64::from(oti.encoding_symbol_length)),
            declared.encoding_symbol_length,
            "{label}"
        );
        assert_eq!(
            Some(u64::from(oti.maximum_source_block_length)),
            declared.maximum_source_block_length,
            "{label}"
        );
        assert_eq!(oti.max_number_of_parity_symbols, 0, "{label}");
        assert_eq!(
            u64::from(oti.fec_instance_id),
            declared.fec_instance_id.unwrap_or(0)
        );
    }
}

#[test]
fn xflute_fdts_are_accepted_by_the_flute_receiver_with_the_same_metadata() {
    for profile in [FdtXmlProfile::Extended, FdtXmlProfile::Ts26346L6] {
        // EXT_FDT version 2 is FLUTE v2 (RFC 6726), version 1 FLUTE v1 (RFC 3926).
        for version in [2, 1] {
            flute_receives_xflute_fdt(profile, version);
        }
    }
}
