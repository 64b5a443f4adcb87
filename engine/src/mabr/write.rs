//! Writes a [`GatewayConfiguration`] as XML, elements in the order of the TS 103 769 schema
//! and of GPAC's writer, with the text of leaf elements unpadded (GPAC reads it as is).

use super::NAMESPACE;
use super::model::{
    BitRate, EndpointAddress, GatewayConfiguration, ManifestLocator, MulticastSession,
    TransportSession, UnicastRepair,
};

impl GatewayConfiguration {
    /// The document, UTF-8, with an XML declaration.
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(1024);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.push_str("<MulticastGatewayConfiguration xmlns=\"");
        out.push_str(NAMESPACE);
        out.push('"');
        attribute(&mut out, "validUntil", self.valid_until.as_deref());
        out.push_str(">\n");
        for session in &self.gateway_sessions {
            transport_session(
                &mut out,
                "MulticastGatewayConfigurationTransportSession",
                session,
            );
        }
        for session in &self.sessions {
            multicast_session(&mut out, session);
        }
        out.push_str("</MulticastGatewayConfiguration>\n");
        out
    }
}

fn multicast_session(out: &mut String, session: &MulticastSession) {
    out.push_str("<MulticastSession");
    attribute(out, "serviceIdentifier", Some(&session.service_identifier));
    out.push_str(">\n");
    for manifest in &session.manifests {
        manifest_locator(out, manifest);
    }
    for transport in &session.transport_sessions {
        transport_session(out, "MulticastTransportSession", transport);
    }
    out.push_str("</MulticastSession>\n");
}

fn manifest_locator(out: &mut String, manifest: &ManifestLocator) {
    out.push_str("<PresentationManifestLocator");
    attribute(out, "manifestId", manifest.manifest_id.as_deref());
    attribute(out, "contentType", manifest.content_type.as_deref());
    attribute(
        out,
        "transportObjectURI",
        manifest.transport_object_uri.as_deref(),
    );
    out.push('>');
    escape_into(out, manifest.url.as_deref().unwrap_or(""), false);
    out.push_str("</PresentationManifestLocator>\n");
}

fn transport_session(out: &mut String, element: &str, session: &TransportSession) {
    out.push('<');
    out.push_str(element);
    attribute(out, "id", session.id.as_deref());
    attribute(
        out,
        "transportSecurity",
        session.transport_security.as_deref(),
    );
    out.push_str(">\n<TransportProtocol");
    attribute(
        out,
        "protocolIdentifier",
        Some(session.protocol.identifier()),
    );
    attribute(out, "protocolVersion", session.protocol_version.as_deref());
    out.push_str("/>\n");
    for endpoint in &session.endpoints {
        endpoint_address(out, endpoint);
    }
    if let Some(rate) = &session.bit_rate {
        bit_rate(out, rate);
    }
    if let Some(repair) = &session.repair {
        unicast_repair(out, repair);
    }
    out.push_str("</");
    out.push_str(element);
    out.push_str(">\n");
}

fn endpoint_address(out: &mut String, endpoint: &EndpointAddress) {
    out.push_str("<EndpointAddress>\n");
    if let Some(source) = endpoint.source {
        leaf(out, "NetworkSourceAddress", &source.to_string());
    }
    leaf(
        out,
        "NetworkDestinationGroupAddress",
        &endpoint.destination.to_string(),
    );
    leaf(out, "TransportDestinationPort", &endpoint.port.to_string());
    if let Some(tsi) = endpoint.tsi {
        leaf(out, "MediaTransportSessionIdentifier", &tsi.to_string());
    }
    out.push_str("</EndpointAddress>\n");
}

fn bit_rate(out: &mut String, rate: &BitRate) {
    out.push_str("<BitRate");
    attribute(
        out,
        "average",
        rate.average.map(|v| v.to_string()).as_deref(),
    );
    attribute(
        out,
        "maximum",
        rate.maximum.map(|v| v.to_string()).as_deref(),
    );
    out.push_str("/>\n");
}

fn unicast_repair(out: &mut String, repair: &UnicastRepair) {
    let number = |v: Option<u64>| v.map(|v| v.to_string());
    out.push_str("<UnicastRepairParameters");
    attribute(
        out,
        "transportObjectReceptionTimeout",
        number(repair.reception_timeout_ms).as_deref(),
    );
    attribute(
        out,
        "fixedBackOffPeriod",
        number(repair.fixed_back_off_s).as_deref(),
    );
    attribute(
        out,
        "randomBackOffPeriod",
        number(repair.random_back_off_s).as_deref(),
    );
    attribute(
        out,
        "transportObjectBaseURI",
        repair.object_base_uri.as_deref(),
    );
    out.push_str(">\n");
    for base in &repair.base_urls {
        out.push_str("<BaseURL");
        attribute(
            out,
            "relativeWeight",
            base.relative_weight.map(|w| w.to_string()).as_deref(),
        );
        out.push('>');
        escape_into(out, &base.url, false);
        out.push_str("</BaseURL>\n");
    }
    out.push_str("</UnicastRepairParameters>\n");
}

fn leaf(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    escape_into(out, text, false);
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

fn attribute(out: &mut String, name: &str, value: Option<&str>) {
    let Some(value) = value else { return };
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    escape_into(out, value, true);
    out.push('"');
}

/// Escapes the XML special characters; in attribute values also tab, CR and LF, which a parser
/// would otherwise normalise to spaces (XML 1.0 §3.3.3), and CR in text, which end-of-line
/// handling would turn into LF.
fn escape_into(buf: &mut String, value: &str, attribute: bool) {
    for c in quick_xml::escape::escape(value).chars() {
        match c {
            '\r' => buf.push_str("&#13;"),
            '\t' if attribute => buf.push_str("&#9;"),
            '\n' if attribute => buf.push_str("&#10;"),
            c => buf.push(c),
        }
    }
}
