//! Shared fixtures of the receiver tests: flute 1.11.7's `Sender` producing a session's packets,
//! and an xflute `MultiReceiver` fed through the deterministic `Link`.
#![allow(dead_code, unused_imports)]

use std::time::{Duration, SystemTime};

use flute::core::lct::Cenc as FluteCenc;
use flute::core::{Oti as FluteOti, UDPEndpoint};
use flute::sender::{Config as SenderConfig, ObjectDesc, Sender, TransferConfig};
use xflute::endpoint::UdpEndpoint;
use xflute::receiver::{Config, MemorySink, MultiReceiver, ObjectEvent, ObjectSink, ReceiverError};
use xflute_tests::link::{Link, LinkConfig};

pub const TSI: u64 = 1;

/// The endpoint the packets are said to arrive on.
pub fn endpoint() -> UdpEndpoint {
    UdpEndpoint::new("224.0.0.1".parse().unwrap(), 3400)
}

fn flute_endpoint() -> UDPEndpoint {
    UDPEndpoint::new(None, "224.0.0.1".to_owned(), 3400)
}

/// The tests' deterministic content (compresses somewhat, differs from seed to seed).
pub use xflute_tests::data::content;

/// An object for flute's sender.
pub fn object(
    name: &str,
    data: Vec<u8>,
    cenc: FluteCenc,
    md5: bool,
    max_transfer_count: u32,
) -> Box<ObjectDesc> {
    ObjectDesc::create_from_buffer(
        data,
        "application/octet-stream",
        &url::Url::parse(&format!("file:///{name}")).unwrap(),
        md5,
        TransferConfig {
            cenc,
            max_transfer_count,
            ..Default::default()
        },
    )
    .unwrap()
}

/// A flute sender with `objects` added to `priority` queues, published, drained: every packet
/// it writes until each object has been sent the number of times it asked for.
pub fn flute_session(
    oti: &FluteOti,
    config: &SenderConfig,
    objects: Vec<(u32, Box<ObjectDesc>)>,
    start: SystemTime,
) -> Vec<Vec<u8>> {
    let mut sender = Sender::new(flute_endpoint(), TSI, oti, config);
    let mut tois = Vec::new();
    for (priority, object) in objects {
        let count = object.config.max_transfer_count;
        tois.push((sender.add_object(priority, object).unwrap(), count));
    }
    sender.publish(start).unwrap();
    let mut now = start;
    let mut packets = Vec::new();
    let mut idle = 0;
    loop {
        match sender.read(now) {
            Some(packet) => {
                packets.push(packet);
                idle = 0;
            }
            None => {
                let done = tois.iter().all(|(toi, count)| {
                    sender
                        .nb_transfers(*toi)
                        .is_none_or(|n| n >= u64::from(*count))
                });
                idle += 1;
                if done || idle > 10_000 {
                    break;
                }
                now += Duration::from_millis(10);
            }
        }
    }
    packets
}

/// Every packet xflute's sender writes for one object, `data` at `location` with its
/// Content-MD5, in a session of `session_oti` (the object coded with `object_oti` when given),
/// until the object has been sent once; the sender's clock starts at `start` and moves on a
/// millisecond whenever it has nothing to write.
pub fn xflute_object_packets(
    session_oti: xflute::wire::Oti,
    object_oti: Option<xflute::wire::Oti>,
    config: xflute::sender::Config,
    data: &[u8],
    location: &str,
    start: SystemTime,
) -> Vec<Vec<u8>> {
    use xflute::sender::{ObjectDesc, Sender, TransferConfig};
    let mut sender = Sender::new(endpoint(), TSI, session_oti, config).unwrap();
    let transfer = TransferConfig {
        oti: object_oti,
        ..TransferConfig::default()
    };
    let object = ObjectDesc::from_buffer(
        data.to_vec(),
        "application/octet-stream",
        location,
        true,
        transfer,
    )
    .unwrap();
    sender.add_object(0, object).unwrap();
    let mut buf = vec![0u8; sender.max_packet_len()];
    let mut packets = Vec::new();
    for step in 0..100_000u64 {
        let now = start + Duration::from_millis(step);
        while let Some(len) = sender.write_next(&mut buf, now) {
            packets.push(buf[..len].to_vec());
        }
        if sender.nb_objects() == 0 {
            break;
        }
    }
    packets
}

/// Default sender configuration with the given profile knobs.
pub fn sender_config() -> SenderConfig {
    SenderConfig::default()
}

/// Pushes `packets` through a link into `receiver`; returns the errors of the pushes.
pub fn deliver<S: ObjectSink>(
    receiver: &mut MultiReceiver<S>,
    packets: &[Vec<u8>],
    link: LinkConfig,
    now: SystemTime,
) -> Vec<ReceiverError> {
    let mut link = Link::new(link);
    let mut errors = Vec::new();
    let ep = endpoint();
    for packet in packets {
        for out in link.send(packet) {
            if let Err(e) = receiver.push(&ep, &out, now) {
                errors.push(e);
            }
        }
    }
    for out in link.flush() {
        if let Err(e) = receiver.push(&ep, &out, now) {
            errors.push(e);
        }
    }
    errors
}

/// A receiver into memory with the default configuration.
pub fn memory_receiver() -> MultiReceiver<MemorySink> {
    MultiReceiver::new(MemorySink::new(1 << 30), Config::default())
}

/// All events queued.
pub fn events<S: ObjectSink>(receiver: &mut MultiReceiver<S>) -> Vec<ObjectEvent> {
    std::iter::from_fn(|| receiver.poll_event()).collect()
}

/// Every file below `dir`, relative, sorted.
pub fn files_below(dir: &std::path::Path) -> Vec<String> {
    fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                walk(root, &path, out);
            } else {
                out.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Hand-built ALC packets (xflute's own emitters), for what flute's sender cannot be made to
/// send: hostile FDTs, huge lengths, garbage.
pub mod craft {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use xflute::fdt::{FdtInstance, FdtXmlProfile, FecOtiAttributes, File, ntp};
    use xflute::fec::BlockPartition;
    use xflute::wire::{
        AlcRepr, ExtCenc, ExtFdt, ExtRepr, FecEncodingId, LctRepr, Oti, PayloadId, PayloadIdFormat,
        SchemeSpecific,
    };

    pub const SYMBOL_LEN: u16 = 1000;
    pub const BLOCK_LEN: u32 = 16;

    pub fn oti(transfer_length: u64) -> Oti {
        Oti {
            fec_encoding_id: FecEncodingId::NoCode,
            fec_instance_id: 0,
            transfer_length,
            encoding_symbol_length: SYMBOL_LEN,
            maximum_source_block_length: BLOCK_LEN,
            max_number_of_encoding_symbols: BLOCK_LEN,
            scheme_specific: SchemeSpecific::None,
        }
    }

    /// One ALC packet.
    #[allow(clippy::too_many_arguments)]
    pub fn packet(
        tsi: u64,
        toi: u128,
        sbn: u32,
        esi: u32,
        payload: &[u8],
        fti: Option<Oti>,
        fdt_id: Option<u32>,
        cenc: Option<u8>,
        close_object: bool,
    ) -> Vec<u8> {
        let mut lct = LctRepr::with_min_widths(0, tsi, Some(toi), 0).unwrap();
        lct.close_object = close_object;
        let mut exts = Vec::new();
        if let Some(id) = fdt_id {
            exts.push(ExtRepr::Fdt(ExtFdt {
                flute_version: 2,
                fdt_instance_id: id,
            }));
        }
        if let Some(c) = cenc {
            exts.push(ExtRepr::Cenc(ExtCenc {
                content_encoding: c,
            }));
        }
        if let Some(oti) = fti {
            exts.push(ExtRepr::Fti(oti));
        }
        let repr = AlcRepr {
            lct,
            extensions: &exts,
            payload_id: Some((
                PayloadIdFormat::CompactNoCode,
                PayloadId {
                    sbn,
                    esi,
                    source_block_length: None,
                },
            )),
        };
        let mut buf = vec![0u8; repr.buffer_len() + payload.len()];
        let len = repr.emit(&mut buf).unwrap();
        buf[len..].copy_from_slice(payload);
        buf
    }

    /// Every packet of a transport object, in order, each with EXT_FTI if `fti`.
    pub fn object(
        tsi: u64,
        toi: u128,
        data: &[u8],
        fti: bool,
        fdt_id: Option<u32>,
        cenc: Option<u8>,
    ) -> Vec<Vec<u8>> {
        let oti = oti(data.len() as u64);
        let p =
            BlockPartition::rfc5052(data.len() as u64, u32::from(SYMBOL_LEN), BLOCK_LEN).unwrap();
        let mut out = Vec::new();
        for sbn in 0..p.nb_blocks() {
            for esi in 0..p.block_len_symbols(sbn).unwrap() {
                let off = p.symbol_offset_bytes(sbn, esi).unwrap() as usize;
                let len = p.source_symbol_len_bytes(sbn, esi).unwrap() as usize;
                out.push(packet(
                    tsi,
                    toi,
                    sbn as u32,
                    esi,
                    &data[off..off + len],
                    fti.then_some(oti),
                    fdt_id,
                    cenc,
                    false,
                ));
            }
        }
        if out.is_empty() {
            out.push(packet(
                tsi,
                toi,
                0,
                0,
                &[],
                fti.then_some(oti),
                fdt_id,
                cenc,
                true,
            ));
        }
        out
    }

    /// NTP seconds of `now + secs`.
    pub fn expires_in(now: SystemTime, secs: i64) -> u32 {
        let unix = now.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64 + secs;
        ntp::ntp_secs_from_unix_secs(unix as u64)
    }

    /// A File entry with no-code OTI attributes.
    pub fn file(toi: u128, location: &str, transfer_length: u64) -> File {
        let mut f = File::new(location, toi);
        f.transfer_length = Some(transfer_length);
        f.content_length = Some(transfer_length);
        f.fec_oti = FecOtiAttributes::from_oti(&oti(transfer_length));
        f
    }

    /// The packets of FDT instance `id` listing `files`, expiring `expires_secs` from `now`.
    pub fn fdt(
        tsi: u64,
        id: u32,
        files: Vec<File>,
        now: SystemTime,
        expires_secs: i64,
    ) -> Vec<Vec<u8>> {
        let mut instance = FdtInstance::new(expires_in(now, expires_secs));
        instance.files = files;
        let xml = instance.to_xml(FdtXmlProfile::Extended);
        object(tsi, 0, &xml, true, Some(id), None)
    }

    pub fn later(now: SystemTime, secs: u64) -> SystemTime {
        now + Duration::from_secs(secs)
    }
}
