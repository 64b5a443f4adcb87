//! ALC packets out of a UDP GSO super-datagram in a capture.
//!
//! A sender using UDP GSO (`UDP_SEGMENT`, as `xflute send --backend udp` does unless
//! `--no-gso`) hands the kernel one datagram holding many ALC packets back to back, each
//! `gso_size` bytes except perhaps the last, which is shorter. The kernel cuts it into datagrams
//! of `gso_size` at the device or in software; a capture taken on the sending host (`lo`, or
//! the sending end of a veth) records it before that cut, as one UDP datagram of up to 64 KiB.
//! Nothing in the capture gives `gso_size`.
//!
//! The rule: the payload is split at every multiple of the smallest `s` for which a new ALC
//! packet of the same session starts there, i.e. at each of `s`, `2s`, ... (below the payload's
//! length) the bytes parse as an ALC packet (LCT header and FEC Payload ID whole within its
//! segment) whose first byte (version, congestion control width, PSI) equals the first
//! packet's, whose S and H flags (the TSI's width) equal the first packet's, and whose TSI is
//! the first packet's TSI. The TOI width, the close flags, the codepoint and the header length
//! may differ from one segment to the next (an FDT packet and an object's packet of the same
//! length can share a super-datagram). A payload with no such `s` is one packet. For object
//! data to be split by mistake, it would have to hold, at every one of those offsets, a byte
//! equal to the header's first, the same two flag bits and the session's TSI (at least 16
//! more bits), and parse as a whole ALC header: one chance in far more than 2^26 per offset.

use xflute::wire::AlcPacket;
use xflute::wire::parse_header;

/// The S and H flags of the LCT header's second byte: the width of the TSI.
const TSI_WIDTH_FLAGS: u8 = 0x90;

/// The ALC packets `payload` holds: itself, or the segments of a GSO super-datagram.
pub fn split(payload: &[u8]) -> Vec<&[u8]> {
    match segment_len(payload) {
        Some(s) => payload.chunks(s).collect(),
        None => vec![payload],
    }
}

/// The segment length of a super-datagram, or `None` when `payload` is one packet.
fn segment_len(payload: &[u8]) -> Option<usize> {
    let first = AlcPacket::parse(payload).ok()?;
    let tsi = first.lct().tsi;
    let (&b0, &b1) = (payload.first()?, payload.get(1)?);
    // A segment holds at least the first packet's header and one byte more.
    let smallest = first.header_len() + 1;
    (smallest..payload.len()).find(|&s| {
        let mut at = s;
        while at < payload.len() {
            let Some(segment) = payload.get(at..(at + s).min(payload.len())) else {
                return false;
            };
            let same_start = segment.first() == Some(&b0)
                && segment
                    .get(1)
                    .is_some_and(|b| b & TSI_WIDTH_FLAGS == b1 & TSI_WIDTH_FLAGS);
            if !same_start
                || !parse_header(segment).is_ok_and(|(lct, _)| lct.tsi == tsi)
                || AlcPacket::parse(segment).is_err()
            {
                return false;
            }
            at += s;
        }
        true
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;
    use xflute::endpoint::UdpEndpoint;
    use xflute::sender::{Config, ObjectDesc, Sender, TransferConfig};

    /// The packets of a session of one object of `len` bytes.
    fn packets(len: usize, symbol_len: u16) -> Vec<Vec<u8>> {
        let endpoint = UdpEndpoint::new("239.1.1.1".parse().unwrap(), 3400);
        let oti = crate::send::fec_oti(&Default::default(), symbol_len, 64).unwrap();
        let mut sender = Sender::new(endpoint, 7, oti, Config::default()).unwrap();
        let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        let object = ObjectDesc::from_bytes(
            std::sync::Arc::new(data),
            "application/octet-stream",
            "file:///a".to_owned(),
            true,
            TransferConfig::default(),
        )
        .unwrap();
        sender.add_object(0, object).unwrap();
        let now = SystemTime::now();
        let mut out = Vec::new();
        let mut buf = vec![0u8; 2048];
        while let Some(n) = sender.write_next(&mut buf, now) {
            out.push(buf[..n].to_vec());
        }
        out
    }

    #[test]
    fn a_super_datagram_of_equal_packets_and_a_short_last_one_splits_back() {
        let pkts = packets(20_500, 1000);
        let object: Vec<&Vec<u8>> = pkts
            .iter()
            .filter(|p| AlcPacket::parse(p).is_ok_and(|a| a.lct().toi == 1))
            .collect();
        let full = object.iter().map(|p| p.len()).max().unwrap();
        let mut run: Vec<&Vec<u8>> = object
            .iter()
            .copied()
            .filter(|p| p.len() == full)
            .take(10)
            .collect();
        run.extend(object.iter().copied().find(|p| p.len() < full));
        assert_eq!(run.len(), 11);
        let joined: Vec<u8> = run.iter().flat_map(|p| p.iter().copied()).collect();
        let split = split(&joined);
        assert_eq!(split.len(), run.len());
        for (a, b) in split.iter().zip(&run) {
            assert_eq!(*a, b.as_slice());
        }
    }

    #[test]
    fn a_single_packet_stays_whole() {
        for p in packets(5_000, 1400) {
            assert_eq!(split(&p), vec![p.as_slice()]);
        }
        assert_eq!(split(b"not alc"), vec![&b"not alc"[..]]);
    }
}
