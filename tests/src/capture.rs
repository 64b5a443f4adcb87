//! Captures of UDP datagrams, as `recv --pcap`, `inspect` and a pcap `RxEngine` read them.

use std::net::SocketAddr;
use std::path::Path;

use xflute::io::frame::{LinkType, UdpFrameBuilder};
use xflute::io::pcap::PcapWriter;

/// Writes each of `payloads` as a UDP datagram from `source` to `destination`, one Ethernet
/// frame a microsecond apart from t = 1 s, into the capture `path`.
pub fn udp_capture_between<P: AsRef<[u8]>>(
    path: &Path,
    source: SocketAddr,
    destination: SocketAddr,
    payloads: impl IntoIterator<Item = P>,
) {
    let frames = UdpFrameBuilder::new(source, destination).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut pcap = PcapWriter::new(std::io::BufWriter::new(file), LinkType::Ethernet).unwrap();
    for (i, payload) in payloads.into_iter().enumerate() {
        let frame = frames.build(payload.as_ref()).unwrap();
        pcap.write_frame(1_000_000_000 + i as u64 * 1000, &frame)
            .unwrap();
    }
    pcap.into_inner().unwrap();
}

/// [`udp_capture_between`] 198.18.0.1:4000 and 239.255.1.1:3400.
pub fn udp_capture<P: AsRef<[u8]>>(path: &Path, payloads: impl IntoIterator<Item = P>) {
    udp_capture_between(
        path,
        "198.18.0.1:4000".parse().unwrap(),
        "239.255.1.1:3400".parse().unwrap(),
        payloads,
    );
}
