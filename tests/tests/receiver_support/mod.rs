//! Shared fixtures of the receiver tests: flute 1.11.7's `Sender` producing a session's packets,
//! and an xflute `MultiReceiver` fed through the deterministic `Link`.
#![allow(dead_code)]

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

/// A deterministic payload of `len` bytes that compresses somewhat (so every content encoding
/// has something to do) and differs from object to object.
pub fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|i| {
            if i % 7 < 3 {
                b"FLUTE"[i % 5]
            } else {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            }
        })
        .collect()
}

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

/// A fresh directory below the system temp dir, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("xflute-receiver-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
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
