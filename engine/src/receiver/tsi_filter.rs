//! Which sessions a receiver accepts: (endpoint, TSI) pairs, or every TSI of an endpoint
//! (RFC 6726 §4.1: a session is identified by the sender's address and the TSI). A rule without
//! a source address matches any source.

use std::collections::HashSet;

use crate::endpoint::UdpEndpoint;

/// Accepted sessions.
#[derive(Debug, Default, Clone)]
pub struct TsiFilter {
    tsis: HashSet<(UdpEndpoint, u64)>,
    all: HashSet<UdpEndpoint>,
}

impl TsiFilter {
    /// Accept TSI `tsi` on `endpoint`.
    pub fn add(&mut self, endpoint: UdpEndpoint, tsi: u64) {
        self.tsis.insert((endpoint, tsi));
    }

    /// Stop accepting TSI `tsi` on `endpoint`.
    pub fn remove(&mut self, endpoint: &UdpEndpoint, tsi: u64) {
        self.tsis.remove(&(*endpoint, tsi));
    }

    /// Accept every TSI on `endpoint`.
    pub fn add_all(&mut self, endpoint: UdpEndpoint) {
        self.all.insert(endpoint);
    }

    /// Stop accepting every TSI on `endpoint`.
    pub fn remove_all(&mut self, endpoint: &UdpEndpoint) {
        self.all.remove(endpoint);
    }

    /// Whether TSI `tsi` on `endpoint` is listed by name (with or without a source), not only
    /// accepted as one of every TSI of its endpoint: a configured session, whose place no
    /// other session can take.
    pub fn lists(&self, endpoint: &UdpEndpoint, tsi: u64) -> bool {
        let any_source = UdpEndpoint {
            source_address: None,
            ..*endpoint
        };
        self.tsis.contains(&(*endpoint, tsi))
            || (endpoint.source_address.is_some() && self.tsis.contains(&(any_source, tsi)))
    }

    /// Whether a packet of TSI `tsi` that arrived on `endpoint` is accepted.
    pub fn accepts(&self, endpoint: &UdpEndpoint, tsi: u64) -> bool {
        let any_source = UdpEndpoint {
            source_address: None,
            ..*endpoint
        };
        self.tsis.contains(&(*endpoint, tsi))
            || self.all.contains(endpoint)
            || (endpoint.source_address.is_some()
                && (self.tsis.contains(&(any_source, tsi)) || self.all.contains(&any_source)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn rules_match_by_endpoint_and_tsi_and_any_source() {
        let group = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1));
        let src = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let any = UdpEndpoint::new(group, 3400);
        let ssm = UdpEndpoint::with_source(src, group, 3400);
        let other_port = UdpEndpoint::new(group, 3401);
        let mut f = TsiFilter::default();
        assert!(!f.accepts(&any, 1));
        f.add(any, 1);
        assert!(f.accepts(&any, 1));
        assert!(f.accepts(&ssm, 1));
        assert!(!f.accepts(&any, 2));
        assert!(!f.accepts(&other_port, 1));
        f.add_all(other_port);
        assert!(f.accepts(&other_port, 99));
        assert!(!f.lists(&other_port, 99), "accepted as any TSI, not listed");
        assert!(f.lists(&any, 1) && f.lists(&ssm, 1));
        f.remove(&any, 1);
        assert!(!f.accepts(&ssm, 1));
        f.add(ssm, 7);
        assert!(f.accepts(&ssm, 7));
        assert!(!f.accepts(&any, 7));
        f.remove_all(&other_port);
        assert!(!f.accepts(&other_port, 99));
    }
}
