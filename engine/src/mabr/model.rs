//! The data model of a multicast gateway configuration (TS 103 769 §10.2.2), the subset a
//! FLUTE receiver acts on.

use std::net::IpAddr;

/// A `MulticastGatewayConfiguration` document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GatewayConfiguration {
    /// `validUntil`, as written (an xs:dateTime).
    pub valid_until: Option<String>,
    /// `MulticastGatewayConfigurationTransportSession`: the sessions that carry configuration
    /// (the bootstrap itself, and with GPAC the manifests and initialisation segments).
    pub gateway_sessions: Vec<TransportSession>,
    /// `MulticastSession`: one per service.
    pub sessions: Vec<MulticastSession>,
}

/// A `MulticastSession`: one service and the transport sessions that carry it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MulticastSession {
    /// `serviceIdentifier`, a URI.
    pub service_identifier: String,
    /// `PresentationManifestLocator`s (DASH MPD, HLS master playlist).
    pub manifests: Vec<ManifestLocator>,
    /// `MulticastTransportSession`s.
    pub transport_sessions: Vec<TransportSession>,
}

/// A `PresentationManifestLocator`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManifestLocator {
    /// `manifestId`.
    pub manifest_id: Option<String>,
    /// `contentType` (`application/dash+xml`, `application/vnd.apple.mpegurl`).
    pub content_type: Option<String>,
    /// `transportObjectURI`: the Content-Location the manifest has in the FDT.
    pub transport_object_uri: Option<String>,
    /// The element's text: where the manifest is found over unicast, when given.
    pub url: Option<String>,
}

/// The transport protocol of a session (`TransportProtocol@protocolIdentifier`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportProtocol {
    /// FLUTE (`urn:dvb:metadata:cs:MulticastTransportProtocolCS:2019:FLUTE`).
    Flute,
    /// ROUTE (`...:2019:ROUTE`).
    Route,
    /// Anything else, as written.
    Other(String),
}

impl TransportProtocol {
    const FLUTE: &'static str = "urn:dvb:metadata:cs:MulticastTransportProtocolCS:2019:FLUTE";
    const ROUTE: &'static str = "urn:dvb:metadata:cs:MulticastTransportProtocolCS:2019:ROUTE";

    /// The protocol a `protocolIdentifier` names.
    pub fn from_identifier(identifier: &str) -> Self {
        match identifier.trim() {
            Self::FLUTE => Self::Flute,
            Self::ROUTE => Self::Route,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Its `protocolIdentifier`.
    pub fn identifier(&self) -> &str {
        match self {
            Self::Flute => Self::FLUTE,
            Self::Route => Self::ROUTE,
            Self::Other(s) => s,
        }
    }
}

/// A transport session: a `MulticastTransportSession` or a
/// `MulticastGatewayConfigurationTransportSession`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportSession {
    /// `id` (of a `MulticastTransportSession`).
    pub id: Option<String>,
    /// `TransportProtocol@protocolIdentifier`.
    pub protocol: TransportProtocol,
    /// `TransportProtocol@protocolVersion`.
    pub protocol_version: Option<String>,
    /// `transportSecurity` (`none`, `integrity`, ...).
    pub transport_security: Option<String>,
    /// `EndpointAddress`es.
    pub endpoints: Vec<EndpointAddress>,
    /// `BitRate`.
    pub bit_rate: Option<BitRate>,
    /// `UnicastRepairParameters`: where a receiver repairs the session's objects over HTTP.
    pub repair: Option<UnicastRepair>,
}

impl TransportSession {
    /// A FLUTE session on these endpoints, with no security and no bit rate.
    pub fn flute(endpoints: Vec<EndpointAddress>) -> Self {
        Self {
            id: None,
            protocol: TransportProtocol::Flute,
            protocol_version: Some("1".to_owned()),
            transport_security: Some("none".to_owned()),
            endpoints,
            bit_rate: None,
            repair: None,
        }
    }
}

/// An `EndpointAddress`: where a session's packets go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointAddress {
    /// `NetworkSourceAddress`, for source-specific multicast.
    pub source: Option<IpAddr>,
    /// `NetworkDestinationGroupAddress`.
    pub destination: IpAddr,
    /// `TransportDestinationPort`.
    pub port: u16,
    /// `MediaTransportSessionIdentifier`: the TSI; absent when the receiver must take any.
    pub tsi: Option<u64>,
}

/// `UnicastRepairParameters` (TS 103 769 §10.2.2): the repair servers of a transport session
/// and when a receiver may ask them. An object's repair URL is a `BaseURL` followed by its
/// Content-Location, less `transportObjectBaseURI` when the location starts with it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnicastRepair {
    /// `transportObjectReceptionTimeout`, milliseconds: how long an object may take to arrive
    /// before it is repaired.
    pub reception_timeout_ms: Option<u64>,
    /// `fixedBackOffPeriod`, seconds: the wait before the first repair request.
    pub fixed_back_off_s: Option<u64>,
    /// `randomBackOffPeriod`, seconds: the window of a random wait added to the fixed one.
    pub random_back_off_s: Option<u64>,
    /// `transportObjectBaseURI`: the prefix of Content-Locations that a `BaseURL` replaces.
    pub object_base_uri: Option<String>,
    /// `BaseURL`s, in document order.
    pub base_urls: Vec<RepairBaseUrl>,
}

/// A `BaseURL` of [`UnicastRepair`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairBaseUrl {
    /// The URL, as written.
    pub url: String,
    /// `relativeWeight`; absent means 1, and 0 means not to be used (as GPAC reads it).
    pub relative_weight: Option<u32>,
}

impl UnicastRepair {
    /// The base URLs a receiver should use, highest weight first (document order among equal
    /// weights), without those of weight 0.
    pub fn urls_by_weight(&self) -> Vec<&str> {
        let mut urls: Vec<(u32, &str)> = self
            .base_urls
            .iter()
            .map(|b| (b.relative_weight.unwrap_or(1), b.url.as_str()))
            .filter(|(w, _)| *w > 0)
            .collect();
        urls.sort_by_key(|u| std::cmp::Reverse(u.0));
        urls.into_iter().map(|(_, u)| u).collect()
    }
}

/// A `BitRate`, in bits per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BitRate {
    /// `average`.
    pub average: Option<u64>,
    /// `maximum`.
    pub maximum: Option<u64>,
}

impl GatewayConfiguration {
    /// Every endpoint of a FLUTE session the document lists, configuration sessions first,
    /// each once, in document order.
    pub fn flute_endpoints(&self) -> Vec<EndpointAddress> {
        let sessions = self.gateway_sessions.iter().chain(
            self.sessions
                .iter()
                .flat_map(|s| s.transport_sessions.iter()),
        );
        let mut out: Vec<EndpointAddress> = Vec::new();
        for endpoint in sessions
            .filter(|s| s.protocol == TransportProtocol::Flute)
            .flat_map(|s| s.endpoints.iter())
        {
            if !out.contains(endpoint) {
                out.push(*endpoint);
            }
        }
        out
    }
}
