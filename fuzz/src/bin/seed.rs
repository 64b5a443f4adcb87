//! Writes the committed seed corpus, `fuzz/seeds/<target>/`, from real sessions: xflute's
//! `Sender` runs one session per FEC scheme (no-code, Reed-Solomon GF(2^8), GF(2^m) with m = 8
//! and 16, the under-specified ID 129, RaptorQ, Raptor), FLUTE v1 and v2 and both FDT XML
//! profiles, each with a plain object and a gzip content-encoded one. Every session is first
//! received by xflute's receiver, which must complete every object, so that each seed is a
//! packet a working receiver takes. Then:
//!
//! - `wire_alc`: ALC packets of each session (the FDT's, the first and last symbols, repair
//!   symbols, close-session);
//! - `wire_fti_payload_id`: each scheme's EXT_FTI behind the target's selector byte;
//! - `fdt_parse`: the FDT instances the senders published;
//! - `cenc_decode`: zlib, deflate and gzip of small inputs and of an FDT;
//! - `pcap_read`: small captures written by the engine's pcap writer (Ethernet/IPv4, raw IPv6);
//! - `auth_verify`: packets of a session signed with the test group key (RFC 6584);
//! - `receiver_sequence` is structure-aware: its seeds are a corpus minimised from fuzzing.
//!
//! Deterministic (fixed clock and contents): running it again rewrites the same files.
//! Run from `fuzz/`: `cargo run --features seedgen --bin seed` (see fuzz/README.md).

use std::collections::BTreeSet;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use xflute::auth::{GroupKey, Signer};
use xflute::cenc::{self, Cenc};
use xflute::endpoint::UdpEndpoint;
use xflute::io::frame::{LinkType, UdpFrameBuilder};
use xflute::io::pcap::PcapWriter;
use xflute::receiver::{Config as ReceiverConfig, MemorySink, MultiReceiver};
use xflute::sender::{Config, FdtXmlProfile, ObjectDesc, Profile, Sender, TransferConfig};
use xflute::wire::{AlcPacket, FecEncodingId, Oti, SchemeSpecific, het};

/// The order of `IDS` in `fuzz_targets/wire_fti_payload_id.rs`: its selector byte.
const FTI_SELECTOR: [FecEncodingId; 6] = [
    FecEncodingId::NoCode,
    FecEncodingId::Raptor,
    FecEncodingId::ReedSolomonGf2m,
    FecEncodingId::ReedSolomonGf28,
    FecEncodingId::RaptorQ,
    FecEncodingId::ReedSolomonGf28UnderSpecified,
];

fn oti(id: FecEncodingId, e: u16, b: u32, max_n: u32, scheme: SchemeSpecific) -> Oti {
    Oti {
        fec_encoding_id: id,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: e,
        maximum_source_block_length: b,
        max_number_of_encoding_symbols: max_n,
        scheme_specific: scheme,
    }
}

/// (name, OTI) of each scheme, with small symbols so that the seeds stay small.
fn schemes() -> Vec<(&'static str, Oti)> {
    use FecEncodingId as Id;
    vec![
        ("nocode", oti(Id::NoCode, 128, 16, 16, SchemeSpecific::None)),
        (
            "rs28",
            oti(Id::ReedSolomonGf28, 128, 16, 24, SchemeSpecific::None),
        ),
        (
            "rs28us",
            oti(
                Id::ReedSolomonGf28UnderSpecified,
                128,
                16,
                24,
                SchemeSpecific::None,
            ),
        ),
        (
            "rs2m8",
            oti(
                Id::ReedSolomonGf2m,
                128,
                16,
                24,
                SchemeSpecific::ReedSolomonGf2m { m: 8, g: 1 },
            ),
        ),
        (
            "rs2m16",
            oti(
                Id::ReedSolomonGf2m,
                128,
                16,
                24,
                SchemeSpecific::ReedSolomonGf2m { m: 16, g: 1 },
            ),
        ),
        (
            "raptorq",
            oti(
                Id::RaptorQ,
                128,
                16,
                24,
                SchemeSpecific::RaptorQ { z: 0, n: 1, al: 4 },
            ),
        ),
        (
            "raptorq-n2",
            oti(
                Id::RaptorQ,
                128,
                16,
                24,
                SchemeSpecific::RaptorQ { z: 0, n: 2, al: 4 },
            ),
        ),
        (
            "raptor",
            oti(
                Id::Raptor,
                128,
                16,
                24,
                SchemeSpecific::Raptor { z: 0, n: 1, al: 4 },
            ),
        ),
    ]
}

/// Text with every third byte scrambled: compressible, but not so much that a gzip-encoded
/// object gets fewer than the 4 source symbols Raptor needs per block.
fn content(len: usize, seed: u8) -> Vec<u8> {
    let text = b"FLUTE seed corpus: the quick brown fox jumps over the lazy dog. ";
    let mut x = 0x9E37_79B9_u32 ^ u32::from(seed);
    (0..len)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let t = text[i % text.len()];
            if i % 3 == 0 { x as u8 } else { t }
        })
        .collect()
}

/// One finished session: its packets in order and the FDT instances it published.
struct Session {
    packets: Vec<Vec<u8>>,
    fdts: Vec<Vec<u8>>,
}

fn run_session(oti: Oti, profile: Profile, xml: FdtXmlProfile, fdt_cenc: Cenc) -> Session {
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_760_000_000);
    let config = Config {
        profile,
        fdt_xml_profile: xml,
        fdt_cenc,
        ..Config::default()
    };
    let endpoint = UdpEndpoint::new(IpAddr::V4(Ipv4Addr::new(239, 1, 2, 3)), 3400);
    let mut sender =
        Sender::new(endpoint, 7, oti, config).unwrap_or_else(|e| panic!("sender for {oti:?}: {e}"));
    let objects = [
        ("file:///seed/plain.txt", Cenc::Null, 1500),
        ("file:///seed/encoded.txt", Cenc::Gzip, 3000),
    ];
    for (i, (location, cenc, len)) in objects.into_iter().enumerate() {
        let transfer = TransferConfig {
            cenc,
            inband_cenc: cenc != Cenc::Null,
            ..TransferConfig::default()
        };
        let obj = ObjectDesc::from_buffer(
            content(len, i as u8),
            "text/plain",
            location,
            true,
            transfer,
        )
        .unwrap_or_else(|e| panic!("object: {e}"));
        sender
            .add_object(0, obj)
            .unwrap_or_else(|e| panic!("add: {e}"));
    }
    let fdts = vec![sender.fdt_xml(start)];
    let mut receiver = MultiReceiver::new(MemorySink::new(1 << 20), ReceiverConfig::default());
    let mut packets = Vec::new();
    let mut buf = vec![0u8; 65536];
    for ms in 0..10_000u64 {
        let now = start + Duration::from_millis(ms);
        while let Some(len) = sender.write_next(&mut buf, now) {
            let packet = buf[..len].to_vec();
            receiver
                .push(&endpoint, &packet, now)
                .unwrap_or_else(|e| panic!("receiver refused a sender packet: {e}"));
            packets.push(packet);
        }
        if sender.nb_objects() == 0 {
            break;
        }
    }
    let close = sender.read_close_session();
    packets.push(close);
    let completed = receiver.sink_mut().take_completed().len();
    assert_eq!(
        completed, 2,
        "{oti:?}: the receiver completed {completed} of 2 objects"
    );
    Session { packets, fdts }
}

/// Every packet of a no-code session of one object, authenticated by `signer`.
fn signed_session(signer: Signer) -> Vec<Vec<u8>> {
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_760_000_000);
    let endpoint = UdpEndpoint::new(IpAddr::V4(Ipv4Addr::new(239, 1, 2, 3)), 3400);
    let oti = oti(FecEncodingId::NoCode, 128, 16, 16, SchemeSpecific::None);
    let mut sender =
        Sender::new(endpoint, 7, oti, Config::default()).unwrap_or_else(|e| panic!("sender: {e}"));
    sender
        .set_signer(signer)
        .unwrap_or_else(|e| panic!("signer: {e}"));
    let obj = ObjectDesc::from_buffer(
        content(1500, 9),
        "text/plain",
        "file:///seed/signed.txt",
        true,
        TransferConfig::default(),
    )
    .unwrap_or_else(|e| panic!("object: {e}"));
    sender
        .add_object(0, obj)
        .unwrap_or_else(|e| panic!("add: {e}"));
    let mut packets = Vec::new();
    let mut buf = vec![0u8; 65536];
    while let Some(len) = sender.write_next(&mut buf, start) {
        packets.push(buf[..len].to_vec());
    }
    packets.push(sender.read_close_session());
    packets
}

struct Seeds {
    root: PathBuf,
    bytes: usize,
    files: usize,
}

impl Seeds {
    fn write(&mut self, target: &str, name: &str, data: &[u8]) {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let path = dir.join(name);
        fs::write(&path, data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        self.bytes += data.len();
        self.files += 1;
    }
}

/// A few packets of each kind: every FDT packet's first, the first and last packets of each
/// object, a repair symbol, and the close-session packet.
fn pick(packets: &[Vec<u8>]) -> Vec<&Vec<u8>> {
    let mut chosen = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, p) in packets.iter().enumerate() {
        let Ok(alc) = AlcPacket::parse(p) else {
            continue;
        };
        let toi = alc.lct().toi;
        let last_of_toi = packets
            .get(i + 1)
            .and_then(|n| AlcPacket::parse(n).ok())
            .is_none_or(|n| n.lct().toi != toi);
        let kind = (
            toi,
            alc.fti().is_some(),
            alc.ext_cenc().is_some(),
            alc.lct().close_session,
        );
        if seen.insert(kind) || last_of_toi || i + 1 == packets.len() {
            chosen.push(p);
        }
    }
    chosen
}

fn pcap(frames: &[Vec<u8>], link: LinkType) -> Vec<u8> {
    let mut writer = PcapWriter::new(Vec::new(), link).unwrap_or_else(|e| panic!("pcap: {e}"));
    for (i, f) in frames.iter().enumerate() {
        writer
            .write_frame(1_760_000_000_000_000_000 + i as u64 * 1_000_000, f)
            .unwrap_or_else(|e| panic!("pcap: {e}"));
    }
    writer.into_inner().unwrap_or_else(|e| panic!("pcap: {e}"))
}

fn main() {
    let root = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds"));
    for target in [
        "wire_alc",
        "wire_fti_payload_id",
        "fdt_parse",
        "cenc_decode",
        "pcap_read",
    ] {
        let _ = fs::remove_dir_all(root.join(target));
    }
    let mut seeds = Seeds {
        root: root.clone(),
        bytes: 0,
        files: 0,
    };
    let variants = [
        ("v2", Profile::Rfc6726, FdtXmlProfile::Extended, Cenc::Null),
        ("v1", Profile::Rfc3926, FdtXmlProfile::Ts26346L6, Cenc::Null),
        (
            "v2gz",
            Profile::Rfc6726,
            FdtXmlProfile::Ts26346L6,
            Cenc::Gzip,
        ),
    ];
    let v4 = (
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(239, 1, 2, 3)), 3400),
    );
    let v6 = (
        SocketAddr::new(
            IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1)),
            40000,
        ),
        SocketAddr::new(
            IpAddr::V6(Ipv6Addr::new(0xff3e, 0, 0, 0, 0, 0, 0, 0x1234)),
            3400,
        ),
    );
    for (scheme, oti) in schemes() {
        for (variant, profile, xml, fdt_cenc) in variants {
            // Only no-code runs every variant; the FEC schemes run FLUTE v2 alone.
            if scheme != "nocode" && variant != "v2" {
                continue;
            }
            let name = format!("{scheme}-{variant}");
            let session = run_session(oti, profile, xml, fdt_cenc);
            let picked = pick(&session.packets);
            for (i, p) in picked.iter().enumerate() {
                seeds.write("wire_alc", &format!("{name}-{i:02}"), p);
            }
            for (i, fdt) in session.fdts.iter().enumerate() {
                seeds.write("fdt_parse", &format!("{name}-{i}.xml"), fdt);
            }
            // Each distinct EXT_FTI, behind the selector of its FEC Encoding ID.
            let mut ftis = BTreeSet::new();
            for p in &session.packets {
                let Ok(alc) = AlcPacket::parse(p) else {
                    continue;
                };
                let Ok(id) = alc.fec_encoding_id() else {
                    continue;
                };
                let Some(sel) = FTI_SELECTOR.iter().position(|&s| s == id) else {
                    continue;
                };
                for ext in alc.extensions().flatten() {
                    if ext.het == het::EXT_FTI {
                        let mut seed = vec![sel as u8];
                        seed.extend_from_slice(ext.raw);
                        ftis.insert(seed);
                    }
                }
            }
            for (i, seed) in ftis.iter().enumerate() {
                seeds.write("wire_fti_payload_id", &format!("{name}-{i}"), seed);
            }
            // A capture of the session's first packets, IPv4 over Ethernet and IPv6 raw.
            let (link, (src, dst)) = if variant == "v1" {
                (LinkType::RawIp, v6)
            } else {
                (LinkType::Ethernet, v4)
            };
            let builder = UdpFrameBuilder::new(src, dst).unwrap_or_else(|e| panic!("{e}"));
            let frames: Vec<Vec<u8>> = session
                .packets
                .iter()
                .take(6)
                .map(|p| {
                    let frame = builder.build(p).unwrap_or_else(|e| panic!("{e}"));
                    match link {
                        // The frame builder writes Ethernet; raw IP starts after it.
                        LinkType::RawIp => frame.get(14..).unwrap_or_default().to_vec(),
                        _ => frame,
                    }
                })
                .collect();
            seeds.write("pcap_read", &format!("{name}.pcap"), &pcap(&frames, link));
            if scheme == "nocode" && variant == "v2" {
                let fdt = session.fdts.first().cloned().unwrap_or_default();
                for c in [Cenc::Zlib, Cenc::Deflate, Cenc::Gzip] {
                    let encoded = cenc::encode(c, &fdt).unwrap_or_else(|e| panic!("{e}"));
                    seeds.write("cenc_decode", &format!("fdt.{c}"), &encoded);
                }
            }
        }
    }
    for (i, input) in [&b""[..], b"a", &content(4000, 3), &[0u8; 8192]]
        .iter()
        .enumerate()
    {
        for c in [Cenc::Zlib, Cenc::Deflate, Cenc::Gzip] {
            let encoded = cenc::encode(c, input).unwrap_or_else(|e| panic!("{e}"));
            seeds.write("cenc_decode", &format!("input{i}.{c}"), &encoded);
        }
    }
    // auth_verify: packets of a session signed with the test group key, behind the selector of
    // the receiver's scheme in the target (0: group MAC, 1: without anti-replay, 5: ASID 15).
    // RSA signatures are randomised, so the RSA selectors start from mutations of these.
    let _ = fs::remove_dir_all(root.join("auth_verify"));
    let group = || {
        GroupKey::from_file_contents(include_bytes!(
            "../../../engine/src/auth/testdata/group.key"
        ))
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let signers = [
        (0u8, Signer::group_mac(group())),
        (
            1,
            Signer::group_mac(group())
                .with_anti_replay(false)
                .unwrap_or_else(|e| panic!("{e}")),
        ),
        (
            5,
            Signer::group_mac(group())
                .with_asid(15)
                .unwrap_or_else(|e| panic!("{e}")),
        ),
    ];
    for (selector, signer) in signers {
        let packets = signed_session(signer);
        for (i, p) in pick(&packets).iter().enumerate() {
            let seed = [&[selector][..], p].concat();
            seeds.write("auth_verify", &format!("s{selector}-{i:02}"), &seed);
        }
    }
    println!(
        "wrote {} seed files, {} bytes, under {}",
        seeds.files,
        seeds.bytes,
        root.display()
    );
}
