//! The UDP endpoint a FLUTE session travels on: destination group (or unicast address) and port,
//! and for source-specific multicast the source address. Sessions are told apart by
//! (endpoint, TSI) (RFC 6726 §4.1).

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// Where a FLUTE session's packets go, and for SSM where they come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UdpEndpoint {
    /// The sender's address for a source-specific channel; `None` for any source.
    pub source_address: Option<IpAddr>,
    /// The destination group (or unicast) address.
    pub destination: IpAddr,
    /// The destination UDP port.
    pub port: u16,
}

impl UdpEndpoint {
    /// An any-source endpoint.
    pub fn new(destination: IpAddr, port: u16) -> Self {
        Self {
            source_address: None,
            destination,
            port,
        }
    }

    /// A source-specific endpoint.
    pub fn with_source(source: IpAddr, destination: IpAddr, port: u16) -> Self {
        Self {
            source_address: Some(source),
            destination,
            port,
        }
    }

    /// The destination as a socket address.
    pub fn destination_socket(&self) -> SocketAddr {
        SocketAddr::new(self.destination, self.port)
    }
}

impl From<SocketAddr> for UdpEndpoint {
    fn from(a: SocketAddr) -> Self {
        Self::new(a.ip(), a.port())
    }
}

impl fmt::Display for UdpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = self.source_address {
            write!(f, "{s}->")?;
        }
        write!(f, "{}", self.destination_socket())
    }
}
