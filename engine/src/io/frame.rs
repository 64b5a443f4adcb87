//! Link, network and transport framing around an ALC payload: Ethernet II (with at most one
//! 802.1Q/802.1ad tag), Linux cooked capture (SLL, SLL2), raw IP; IPv4 (RFC 791) and IPv6
//! (RFC 8200, with its common extension headers); UDP (RFC 768).
//!
//! Used wherever a whole frame reaches user space (AF_XDP, pcap): [`parse_udp`] finds the UDP
//! payload and the flow it belongs to without copying; [`UdpFrameBuilder`] writes the headers in
//! front of a payload, with correct IPv4 and UDP checksums, for pcap output and tx templates.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use thiserror::Error;

/// The link type of a captured or received frame (pcap LINKTYPE_* values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// LINKTYPE_ETHERNET (1).
    Ethernet,
    /// LINKTYPE_RAW (101) and the DLT_RAW aliases 12 and 14: the frame starts with an IP header.
    RawIp,
    /// LINKTYPE_IPV4 (228).
    Ipv4,
    /// LINKTYPE_IPV6 (229).
    Ipv6,
    /// LINKTYPE_LINUX_SLL (113).
    LinuxSll,
    /// LINKTYPE_LINUX_SLL2 (276).
    LinuxSll2,
}

impl LinkType {
    /// The link type of a pcap LINKTYPE_* number, if xflute reads it.
    pub fn from_linktype(linktype: u32) -> Option<Self> {
        Some(match linktype {
            1 => Self::Ethernet,
            12 | 14 | 101 => Self::RawIp,
            228 => Self::Ipv4,
            229 => Self::Ipv6,
            113 => Self::LinuxSll,
            276 => Self::LinuxSll2,
            _ => return None,
        })
    }

    /// The pcap LINKTYPE_* number.
    pub fn linktype(self) -> u32 {
        match self {
            Self::Ethernet => 1,
            Self::RawIp => 101,
            Self::Ipv4 => 228,
            Self::Ipv6 => 229,
            Self::LinuxSll => 113,
            Self::LinuxSll2 => 276,
        }
    }
}

/// Why a frame is not a UDP datagram xflute can take. Each is counted by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FrameError {
    /// The frame ends inside a header.
    #[error("frame truncated in the {0} header")]
    Truncated(&'static str),
    /// Not IPv4 or IPv6 (ARP, LLDP, ...).
    #[error("not an IP frame (ethertype {0:#06x})")]
    NotIp(u16),
    /// IP, but not UDP.
    #[error("IP protocol {0} is not UDP")]
    NotUdp(u8),
    /// An IP fragment: xflute does not reassemble.
    #[error("IP fragment")]
    Fragment,
    /// An IPv4 header length or IPv6 extension length that does not fit.
    #[error("bad IP header")]
    BadIpHeader,
    /// A UDP length that does not fit the IP payload.
    #[error("bad UDP length")]
    BadUdpLength,
}

/// A UDP datagram found in a frame: where it came from and went to, and its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpDatagram<'a> {
    /// Source address and port.
    pub source: SocketAddr,
    /// Destination address and port.
    pub destination: SocketAddr,
    /// The UDP payload (the ALC packet), borrowed from the frame.
    pub payload: &'a [u8],
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const IPPROTO_UDP: u8 = 17;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn array<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at + N)?.try_into().ok()
}

/// Find the UDP datagram in a frame of the given link type.
pub fn parse_udp(link: LinkType, frame: &[u8]) -> Result<UdpDatagram<'_>, FrameError> {
    let (ethertype, l3) = match link {
        LinkType::Ethernet => ethernet(frame)?,
        LinkType::LinuxSll => {
            let t = be16(frame, 14).ok_or(FrameError::Truncated("SLL"))?;
            (t, frame.get(16..).ok_or(FrameError::Truncated("SLL"))?)
        }
        LinkType::LinuxSll2 => {
            let t = be16(frame, 0).ok_or(FrameError::Truncated("SLL2"))?;
            (t, frame.get(20..).ok_or(FrameError::Truncated("SLL2"))?)
        }
        LinkType::RawIp => match frame.first().map(|b| b >> 4) {
            Some(4) => (ETHERTYPE_IPV4, frame),
            Some(6) => (ETHERTYPE_IPV6, frame),
            Some(_) => return Err(FrameError::BadIpHeader),
            None => return Err(FrameError::Truncated("IP")),
        },
        LinkType::Ipv4 => (ETHERTYPE_IPV4, frame),
        LinkType::Ipv6 => (ETHERTYPE_IPV6, frame),
    };
    match ethertype {
        ETHERTYPE_IPV4 => ipv4(l3),
        ETHERTYPE_IPV6 => ipv6(l3),
        other => Err(FrameError::NotIp(other)),
    }
}

/// Ethernet II with at most one VLAN tag: the ethertype and the L3 bytes.
fn ethernet(frame: &[u8]) -> Result<(u16, &[u8]), FrameError> {
    let mut ethertype = be16(frame, 12).ok_or(FrameError::Truncated("Ethernet"))?;
    let mut at = 14;
    if ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ {
        ethertype = be16(frame, 16).ok_or(FrameError::Truncated("VLAN"))?;
        at = 18;
    }
    Ok((ethertype, frame.get(at..).unwrap_or(&[])))
}

fn ipv4(ip: &[u8]) -> Result<UdpDatagram<'_>, FrameError> {
    let first = *ip.first().ok_or(FrameError::Truncated("IPv4"))?;
    let ihl = usize::from(first & 0x0f) * 4;
    if first >> 4 != 4 || ihl < 20 {
        return Err(FrameError::BadIpHeader);
    }
    if ip.len() < ihl {
        return Err(FrameError::Truncated("IPv4"));
    }
    let total_len = usize::from(be16(ip, 2).ok_or(FrameError::Truncated("IPv4"))?);
    if total_len < ihl || total_len > ip.len() {
        return Err(FrameError::BadIpHeader);
    }
    let flags_frag = be16(ip, 6).ok_or(FrameError::Truncated("IPv4"))?;
    // More Fragments set, or a non-zero offset.
    if flags_frag & 0x3fff != 0 {
        return Err(FrameError::Fragment);
    }
    let protocol = *ip.get(9).ok_or(FrameError::Truncated("IPv4"))?;
    if protocol != IPPROTO_UDP {
        return Err(FrameError::NotUdp(protocol));
    }
    let src = Ipv4Addr::from(array::<4>(ip, 12).ok_or(FrameError::Truncated("IPv4"))?);
    let dst = Ipv4Addr::from(array::<4>(ip, 16).ok_or(FrameError::Truncated("IPv4"))?);
    let l4 = ip.get(ihl..total_len).ok_or(FrameError::BadIpHeader)?;
    udp(IpAddr::V4(src), IpAddr::V4(dst), l4)
}

fn ipv6(ip: &[u8]) -> Result<UdpDatagram<'_>, FrameError> {
    if ip.len() < 40 {
        return Err(FrameError::Truncated("IPv6"));
    }
    if ip.first().map(|b| b >> 4) != Some(6) {
        return Err(FrameError::BadIpHeader);
    }
    let payload_len = usize::from(be16(ip, 4).ok_or(FrameError::Truncated("IPv6"))?);
    let end = 40 + payload_len;
    if end > ip.len() {
        return Err(FrameError::BadIpHeader);
    }
    let src = Ipv6Addr::from(array::<16>(ip, 8).ok_or(FrameError::Truncated("IPv6"))?);
    let dst = Ipv6Addr::from(array::<16>(ip, 24).ok_or(FrameError::Truncated("IPv6"))?);
    let mut next = *ip.get(6).ok_or(FrameError::Truncated("IPv6"))?;
    let mut at = 40;
    // Walk the extension headers that may precede UDP (RFC 8200 §4); a handful at most.
    for _ in 0..8 {
        match next {
            IPPROTO_UDP => {
                let l4 = ip.get(at..end).ok_or(FrameError::BadIpHeader)?;
                return udp(IpAddr::V6(src), IpAddr::V6(dst), l4);
            }
            // Fragment header.
            44 => return Err(FrameError::Fragment),
            // Hop-by-hop, routing, destination options: (next, len in 8-octet units - 1).
            0 | 43 | 60 => {
                next = *ip.get(at).ok_or(FrameError::Truncated("IPv6 extension"))?;
                let len = *ip
                    .get(at + 1)
                    .ok_or(FrameError::Truncated("IPv6 extension"))?;
                at += (usize::from(len) + 1) * 8;
                if at > end {
                    return Err(FrameError::BadIpHeader);
                }
            }
            other => return Err(FrameError::NotUdp(other)),
        }
    }
    Err(FrameError::BadIpHeader)
}

fn udp(src: IpAddr, dst: IpAddr, l4: &[u8]) -> Result<UdpDatagram<'_>, FrameError> {
    let sport = be16(l4, 0).ok_or(FrameError::Truncated("UDP"))?;
    let dport = be16(l4, 2).ok_or(FrameError::Truncated("UDP"))?;
    let len = usize::from(be16(l4, 4).ok_or(FrameError::Truncated("UDP"))?);
    if len < 8 || len > l4.len() {
        return Err(FrameError::BadUdpLength);
    }
    Ok(UdpDatagram {
        source: SocketAddr::new(src, sport),
        destination: SocketAddr::new(dst, dport),
        payload: l4.get(8..len).ok_or(FrameError::BadUdpLength)?,
    })
}

/// The one's-complement sum of RFC 1071 over `data` (16-bit big-endian words), folded into
/// `acc`; the result is at most 0xffff.
///
/// The sum does not depend on byte order (RFC 1071 §2(B)), so whole 32-bit words are added in
/// the machine's order into a 64-bit accumulator, which compiles to vector adds, and the folded
/// sum is put into network order once. A 1400-byte payload sums in a fraction of the time a
/// 16-bit loop takes, once per packet the sender builds.
fn ones_complement_sum(acc: u32, data: &[u8]) -> u32 {
    let (words, rest) = data.as_chunks::<4>();
    let native = sum_words(words);
    let mut sum = u64::from(acc) + u64::from(u16::from_be(fold(native)));
    // `rest` starts at an even offset: its pairs are whole 16-bit words.
    let mut pairs = rest.chunks_exact(2);
    for pair in &mut pairs {
        if let [hi, lo] = pair {
            sum += u64::from(u16::from_be_bytes([*hi, *lo]));
        }
    }
    if let [last] = pairs.remainder() {
        sum += u64::from(*last) << 8;
    }
    u32::from(fold(sum))
}

/// The plain sum of `words` read in the machine's byte order, on the widest vector unit the CPU
/// has. Frames are far below the 2^32 words that could carry out of 64 bits.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512bw", "x86_64+avx2"))]
fn sum_words(words: &[[u8; 4]]) -> u64 {
    words
        .iter()
        .map(|w| u64::from(u32::from_ne_bytes(*w)))
        .sum()
}

/// Folds a one's-complement sum's carries back in until it fits 16 bits.
fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // The loop left at most 0xffff.
    sum as u16
}

/// Writes Ethernet / IPv4 or IPv6 / UDP headers in front of a payload, for one flow.
#[derive(Debug, Clone)]
pub struct UdpFrameBuilder {
    source: SocketAddr,
    destination: SocketAddr,
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    ttl: u8,
}

/// Errors building a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BuildError {
    /// Source and destination are not the same IP version.
    #[error("source and destination address families differ")]
    MixedFamilies,
    /// The payload does not fit an IP datagram.
    #[error("payload of {0} bytes does not fit a UDP datagram")]
    PayloadTooLarge(usize),
    /// The header buffer is shorter than the headers.
    #[error("header buffer too small")]
    BufferTooSmall,
}

impl UdpFrameBuilder {
    /// A builder for `source` → `destination`. For a multicast destination the Ethernet
    /// destination is the group's MAC (RFC 1112 §6.4, RFC 2464 §7).
    pub fn new(source: SocketAddr, destination: SocketAddr) -> Result<Self, BuildError> {
        if source.is_ipv4() != destination.is_ipv4() {
            return Err(BuildError::MixedFamilies);
        }
        let dst_mac = match destination.ip() {
            IpAddr::V4(a) if a.is_multicast() => {
                let o = a.octets();
                [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
            }
            IpAddr::V6(a) if a.is_multicast() => {
                let o = a.octets();
                [0x33, 0x33, o[12], o[13], o[14], o[15]]
            }
            _ => [0x02, 0, 0, 0, 0, 0x02],
        };
        Ok(Self {
            source,
            destination,
            src_mac: [0x02, 0, 0, 0, 0, 0x01],
            dst_mac,
            ttl: 64,
        })
    }

    /// Set the Ethernet addresses.
    pub fn with_macs(mut self, src: [u8; 6], dst: [u8; 6]) -> Self {
        self.src_mac = src;
        self.dst_mac = dst;
        self
    }

    /// The source address and port the headers carry.
    pub fn source(&self) -> SocketAddr {
        self.source
    }

    /// The Ethernet destination the headers carry.
    pub fn destination_mac(&self) -> [u8; 6] {
        self.dst_mac
    }

    /// Bytes of Ethernet + IP + UDP headers.
    pub fn header_len(&self) -> usize {
        14 + if self.destination.is_ipv4() { 20 } else { 40 } + 8
    }

    /// The whole frame: headers followed by `payload`.
    pub fn build(&self, payload: &[u8]) -> Result<Vec<u8>, BuildError> {
        let mut frame = vec![0u8; self.header_len() + payload.len()];
        let (head, body) = frame.split_at_mut(self.header_len());
        body.copy_from_slice(payload);
        self.write_headers(head, payload)?;
        Ok(frame)
    }

    /// Write the headers for `payload` into `head`, which is at least [`Self::header_len`] long.
    pub fn write_headers(&self, head: &mut [u8], payload: &[u8]) -> Result<(), BuildError> {
        let too_large = BuildError::PayloadTooLarge(payload.len());
        let udp_len = u16::try_from(payload.len() + 8).map_err(|_| too_large)?;
        let head = head
            .get_mut(..self.header_len())
            .ok_or(BuildError::BufferTooSmall)?;
        put(head, 0, &self.dst_mac);
        put(head, 6, &self.src_mac);
        let (l4_at, addrs) = match (self.source.ip(), self.destination.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let total = udp_len.checked_add(20).ok_or(too_large)?;
                let mut ip = [0u8; 20];
                ip[0] = 0x45;
                ip[2..4].copy_from_slice(&total.to_be_bytes());
                ip[6] = 0x40; // Don't Fragment
                ip[8] = self.ttl;
                ip[9] = IPPROTO_UDP;
                ip[12..16].copy_from_slice(&s.octets());
                ip[16..20].copy_from_slice(&d.octets());
                let sum = !(ones_complement_sum(0, &ip) as u16);
                ip[10..12].copy_from_slice(&sum.to_be_bytes());
                put(head, 12, &ETHERTYPE_IPV4.to_be_bytes());
                put(head, 14, &ip);
                (
                    34,
                    ones_complement_sum(ones_complement_sum(0, &s.octets()), &d.octets()),
                )
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let mut ip = [0u8; 40];
                ip[0] = 0x60;
                ip[4..6].copy_from_slice(&udp_len.to_be_bytes());
                ip[6] = IPPROTO_UDP;
                ip[7] = self.ttl;
                ip[8..24].copy_from_slice(&s.octets());
                ip[24..40].copy_from_slice(&d.octets());
                put(head, 12, &ETHERTYPE_IPV6.to_be_bytes());
                put(head, 14, &ip);
                (
                    54,
                    ones_complement_sum(ones_complement_sum(0, &s.octets()), &d.octets()),
                )
            }
            _ => return Err(BuildError::MixedFamilies),
        };
        let mut udp = [0u8; 8];
        udp[0..2].copy_from_slice(&self.source.port().to_be_bytes());
        udp[2..4].copy_from_slice(&self.destination.port().to_be_bytes());
        udp[4..6].copy_from_slice(&udp_len.to_be_bytes());
        let mut sum = ones_complement_sum(addrs, &[0, IPPROTO_UDP]);
        sum = ones_complement_sum(sum, &udp_len.to_be_bytes());
        sum = ones_complement_sum(sum, &udp);
        sum = ones_complement_sum(sum, payload);
        // RFC 768: a computed zero is sent as all ones (zero means "no checksum" in IPv4).
        let sum = match !(sum as u16) {
            0 => 0xffff,
            s => s,
        };
        udp[6..8].copy_from_slice(&sum.to_be_bytes());
        put(head, l4_at, &udp);
        Ok(())
    }
}

/// Copy `bytes` to `buf[at..]`; the caller has checked that `buf` is long enough.
fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = buf.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// Verify the UDP checksum of an IPv4 or IPv6 frame built or received on Ethernet: the
/// one's-complement sum over pseudo-header, header and payload is all ones.
pub fn udp_checksum_ok(frame: &[u8]) -> Option<bool> {
    let (ethertype, ip) = ethernet(frame).ok()?;
    let (addrs, l4) = match ethertype {
        ETHERTYPE_IPV4 => {
            let ihl = usize::from(*ip.first()? & 0x0f) * 4;
            let total = usize::from(be16(ip, 2)?);
            (ip.get(12..20)?, ip.get(ihl..total)?)
        }
        ETHERTYPE_IPV6 => (ip.get(8..40)?, ip.get(40..40 + usize::from(be16(ip, 4)?))?),
        _ => return None,
    };
    if be16(l4, 6)? == 0 {
        return Some(ethertype == ETHERTYPE_IPV4);
    }
    let len = u16::try_from(l4.len()).ok()?;
    let mut sum = ones_complement_sum(0, addrs);
    sum = ones_complement_sum(sum, &[0, IPPROTO_UDP]);
    sum = ones_complement_sum(sum, &len.to_be_bytes());
    sum = ones_complement_sum(sum, l4);
    Some(sum == 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn built_ipv4_multicast_frame_parses_back_with_valid_checksums() {
        let b = UdpFrameBuilder::new(addr("192.0.2.1:5000"), addr("239.1.2.3:3400")).unwrap();
        let frame = b.build(b"hello alc").unwrap();
        assert_eq!(&frame[0..6], &[0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]);
        let d = parse_udp(LinkType::Ethernet, &frame).unwrap();
        assert_eq!(d.source, addr("192.0.2.1:5000"));
        assert_eq!(d.destination, addr("239.1.2.3:3400"));
        assert_eq!(d.payload, b"hello alc");
        assert_eq!(udp_checksum_ok(&frame), Some(true));
        // IPv4 header checksum: the sum over the header is all ones.
        assert_eq!(ones_complement_sum(0, &frame[14..34]), 0xffff);
    }

    #[test]
    fn built_ipv6_frame_parses_back_with_valid_checksum() {
        let b = UdpFrameBuilder::new(addr("[2001:db8::1]:5000"), addr("[ff15::1:2]:3400")).unwrap();
        let frame = b.build(&[7u8; 1001]).unwrap();
        assert_eq!(&frame[0..6], &[0x33, 0x33, 0, 0x01, 0, 0x02]);
        let d = parse_udp(LinkType::Ethernet, &frame).unwrap();
        assert_eq!(d.destination, addr("[ff15::1:2]:3400"));
        assert_eq!(d.payload.len(), 1001);
        assert_eq!(udp_checksum_ok(&frame), Some(true));
    }

    #[test]
    fn a_flipped_payload_bit_fails_the_checksum() {
        let b = UdpFrameBuilder::new(addr("192.0.2.1:5000"), addr("192.0.2.2:3400")).unwrap();
        let mut frame = b.build(b"payload").unwrap();
        *frame.last_mut().unwrap() ^= 1;
        assert_eq!(udp_checksum_ok(&frame), Some(false));
    }

    #[test]
    fn vlan_tagged_frame_is_read_through_its_tag() {
        let b = UdpFrameBuilder::new(addr("192.0.2.1:5000"), addr("239.1.2.3:3400")).unwrap();
        let plain = b.build(b"x").unwrap();
        let mut tagged = plain[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
        tagged.extend_from_slice(&plain[12..]);
        assert_eq!(
            parse_udp(LinkType::Ethernet, &tagged).unwrap().payload,
            b"x"
        );
    }

    #[test]
    fn sll_sll2_and_raw_ip_frames_are_read() {
        let b = UdpFrameBuilder::new(addr("192.0.2.1:5000"), addr("239.1.2.3:3400")).unwrap();
        let frame = b.build(b"abc").unwrap();
        let ip = &frame[14..];
        assert_eq!(parse_udp(LinkType::RawIp, ip).unwrap().payload, b"abc");
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        sll.extend_from_slice(ip);
        assert_eq!(parse_udp(LinkType::LinuxSll, &sll).unwrap().payload, b"abc");
        let mut sll2 = ETHERTYPE_IPV4.to_be_bytes().to_vec();
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(ip);
        assert_eq!(
            parse_udp(LinkType::LinuxSll2, &sll2).unwrap().payload,
            b"abc"
        );
    }

    #[test]
    fn fragments_arp_and_tcp_are_typed_rejections() {
        let b = UdpFrameBuilder::new(addr("192.0.2.1:5000"), addr("239.1.2.3:3400")).unwrap();
        let mut frame = b.build(b"abc").unwrap();
        frame[14 + 6] = 0x20; // More Fragments
        assert_eq!(
            parse_udp(LinkType::Ethernet, &frame),
            Err(FrameError::Fragment)
        );
        frame[14 + 6] = 0x40;
        frame[14 + 9] = 6;
        assert_eq!(
            parse_udp(LinkType::Ethernet, &frame),
            Err(FrameError::NotUdp(6))
        );
        frame[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert_eq!(
            parse_udp(LinkType::Ethernet, &frame),
            Err(FrameError::NotIp(0x0806))
        );
    }

    #[test]
    fn every_truncation_of_a_frame_is_an_error_not_a_panic() {
        for dst in ["239.1.2.3:3400", "[ff02::1]:3400"] {
            let src = if dst.starts_with('[') {
                "[fe80::1]:1"
            } else {
                "10.0.0.1:1"
            };
            let frame = UdpFrameBuilder::new(addr(src), addr(dst))
                .unwrap()
                .build(b"0123456789")
                .unwrap();
            for cut in 0..frame.len() {
                assert!(
                    parse_udp(LinkType::Ethernet, &frame[..cut]).is_err(),
                    "cut {cut}"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(link in 0usize..6, bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let link = [LinkType::Ethernet, LinkType::RawIp, LinkType::Ipv4, LinkType::Ipv6,
                        LinkType::LinuxSll, LinkType::LinuxSll2][link];
            let _ = parse_udp(link, &bytes);
            let _ = udp_checksum_ok(&bytes);
        }

        #[test]
        fn build_parse_round_trip(payload in proptest::collection::vec(any::<u8>(), 0..1500), v6 in any::<bool>()) {
            let (s, d) = if v6 { ("[2001:db8::1]:1234", "[2001:db8::2]:3400") } else { ("10.1.1.1:1234", "10.1.1.2:3400") };
            let frame = UdpFrameBuilder::new(addr(s), addr(d)).unwrap().build(&payload).unwrap();
            let got = parse_udp(LinkType::Ethernet, &frame).unwrap();
            prop_assert_eq!(got.payload, &payload[..]);
            prop_assert_eq!(udp_checksum_ok(&frame), Some(true));
        }

        #[test]
        fn word_sum_equals_rfc1071_sum_of_16_bit_words(acc in 0u32..=0xffff, bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
            prop_assert_eq!(ones_complement_sum(acc, &bytes), rfc1071_sum(acc, &bytes));
        }
    }

    /// RFC 1071's sum as the RFC writes it: 16-bit big-endian words, a lone last byte padded.
    fn rfc1071_sum(acc: u32, data: &[u8]) -> u32 {
        let mut sum = u64::from(acc);
        for pair in data.chunks(2) {
            sum += u64::from(pair[0]) << 8 | u64::from(*pair.get(1).unwrap_or(&0));
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u32
    }

    #[test]
    fn all_ones_words_sum_to_0xffff_not_zero() {
        assert_eq!(
            ones_complement_sum(0xffff, &[0xff; 1401]),
            rfc1071_sum(0xffff, &[0xff; 1401])
        );
        assert_eq!(ones_complement_sum(0, &[0xff; 1400]), 0xffff);
        assert_eq!(ones_complement_sum(0, &[]), 0);
    }
}
