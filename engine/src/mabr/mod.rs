//! The DVB-MABR multicast gateway configuration (ETSI TS 103 769 §10.2): the XML document a
//! multicast server puts, as an object, on the bootstrap FLUTE session so that a gateway can
//! find every other session from one address and port.
//!
//! Only the part a FLUTE receiver needs is modelled: the transport sessions (protocol, source
//! and destination address, port, TSI, bit rate, unicast repair servers), grouped by service, and each service's
//! presentation manifest locators. Element names, the namespace, the object's Content-Location
//! and Content-Type are the ones GPAC's DVB-MABR sender and receiver use (TS 103 769 §8.3.5);
//! everything else in a document is skipped when read. Sans-IO: text in, text out.

mod bootstrap;
mod model;
mod parse;
mod write;

#[cfg(test)]
mod tests;

pub use bootstrap::BootstrapReader;
pub use model::{
    BitRate, EndpointAddress, GatewayConfiguration, ManifestLocator, MulticastSession,
    RepairBaseUrl, TransportProtocol, TransportSession, UnicastRepair,
};
pub use parse::{MabrError, ParseLimits, Parsed};

/// The namespace of the gateway configuration document.
pub const NAMESPACE: &str = "urn:dvb:metadata:MulticastSessionConfiguration:2023";
/// The Content-Type of the gateway configuration object in the FDT.
pub const CONTENT_TYPE: &str = "application/xml+dvb-mabr-session-configuration";
/// The Content-Location of the gateway configuration object in the FDT (TS 103 769 §8.3.5).
pub const CONTENT_LOCATION: &str =
    "urn:dvb:metadata:cs:MulticastTransportObjectTypeCS:2021:gateway-configuration";
/// The TSI of the bootstrap session that carries the configuration, as GPAC sends it.
pub const BOOTSTRAP_TSI: u64 = 1;

/// Whether an FDT entry with this Content-Location and Content-Type is a gateway
/// configuration: either one names it (a sender may leave the type out, or use another name).
pub fn is_gateway_configuration(
    content_location: Option<&str>,
    content_type: Option<&str>,
) -> bool {
    content_type.is_some_and(|t| t.trim().eq_ignore_ascii_case(CONTENT_TYPE))
        || content_location.is_some_and(|l| l.trim() == CONTENT_LOCATION)
}
