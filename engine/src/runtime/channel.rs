//! What the engines are told to carry: the I/O backend and the FLUTE channels (RFC 6726 §4.1: a
//! session is known by its source address, destination and TSI).

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use crate::endpoint::UdpEndpoint;
use crate::io::xdp::Flow;

/// Where packets come from and go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Backend {
    /// XDP steering and AF_XDP sockets, one per queue.
    #[default]
    Xdp,
    /// Kernel UDP sockets (`recvmmsg`, `sendmmsg` with GSO).
    Udp,
    /// A capture file: the send engine writes its frames into one (timestamps following the
    /// rate), the receive engine replays one as fast as it can (each frame's timestamp is the
    /// receiver's clock). The file is given to the builder (`pcap_out`, `pcap_in`).
    Pcap,
}

impl FromStr for Backend {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "xdp" => Ok(Self::Xdp),
            "udp" => Ok(Self::Udp),
            "pcap" => Ok(Self::Pcap),
            other => Err(format!("backend {other:?} is not xdp, udp or pcap")),
        }
    }
}

/// One channel to receive: a destination (multicast group or unicast address) and port, the only
/// source accepted (source-specific multicast) if any, and the TSIs taken (all when empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelSpec {
    /// Destination address and port.
    pub destination: SocketAddr,
    /// The only source accepted.
    pub source: Option<IpAddr>,
    /// The TSIs taken; every TSI when empty.
    pub tsis: Vec<u64>,
}

impl ChannelSpec {
    /// Any source, every TSI.
    pub fn new(destination: SocketAddr) -> Self {
        Self {
            destination,
            source: None,
            tsis: Vec::new(),
        }
    }

    /// The endpoint the receiver files this channel's sessions under.
    pub fn endpoint(&self) -> UdpEndpoint {
        UdpEndpoint {
            source_address: self.source,
            destination: self.destination.ip(),
            port: self.destination.port(),
        }
    }

    /// The flow the XDP program takes out of the kernel stack.
    pub fn xdp_flow(&self) -> Flow {
        Flow {
            destination: self.destination,
            source: self.source,
        }
    }

    /// Whether a datagram from `source` to `destination` belongs to this channel.
    pub fn matches(&self, source: IpAddr, destination: SocketAddr) -> bool {
        self.destination == destination && self.source.is_none_or(|s| s == source)
    }
}
