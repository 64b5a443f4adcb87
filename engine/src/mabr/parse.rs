//! Reads a multicast gateway configuration, leniently and within bounds.
//!
//! The document is read into a small tree of elements by local name (any namespace or prefix,
//! as GPAC reads it), capped in size, element count and depth; a DOCTYPE is refused, so no
//! entity is ever declared. Unknown elements and attributes are skipped. A transport session
//! whose values are invalid is left out and reported beside the rest, so one bad entry does
//! not cost a gateway every other session.

use std::net::IpAddr;
use std::str::FromStr;

use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

use super::model::{
    BitRate, EndpointAddress, GatewayConfiguration, ManifestLocator, MulticastSession,
    RepairBaseUrl, TransportProtocol, TransportSession, UnicastRepair,
};

/// Bounds on the work one document may cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// Largest document accepted, in bytes.
    pub max_document_bytes: usize,
    /// Most elements accepted in one document.
    pub max_elements: usize,
    /// Deepest nesting of elements accepted.
    pub max_depth: usize,
}

impl Default for ParseLimits {
    /// 1 MiB, 20 000 elements, 32 levels: a configuration of hundreds of sessions fits many
    /// times over.
    fn default() -> Self {
        Self {
            max_document_bytes: 1 << 20,
            max_elements: 20_000,
            max_depth: 32,
        }
    }
}

/// Why a gateway configuration, or one of its sessions, was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MabrError {
    /// The document is larger than the cap.
    #[error("gateway configuration of {len} bytes exceeds the cap of {cap} bytes")]
    DocumentTooLarge {
        /// Its size, bytes.
        len: usize,
        /// The cap, bytes.
        cap: usize,
    },
    /// More elements than the cap.
    #[error("gateway configuration has more than {cap} elements")]
    TooManyElements {
        /// The cap.
        cap: usize,
    },
    /// Nested deeper than the cap.
    #[error("gateway configuration nests elements deeper than {cap}")]
    TooDeep {
        /// The cap.
        cap: usize,
    },
    /// Not UTF-8.
    #[error("gateway configuration is not valid UTF-8 at byte {valid_up_to}")]
    NotUtf8 {
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
    /// A DOCTYPE, which the document never needs, and which could declare entities.
    #[error("gateway configuration has a DOCTYPE declaration, which is not allowed")]
    DoctypeForbidden,
    /// Not well-formed XML.
    #[error("malformed XML at byte {position}: {reason}")]
    Xml {
        /// Where the XML reader stopped.
        position: u64,
        /// What it reported.
        reason: String,
    },
    /// The root element is another one.
    #[error("root element is <{0}>, not <MulticastGatewayConfiguration>")]
    NotGatewayConfiguration(String),
    /// No root element.
    #[error("gateway configuration document has no root element")]
    Empty,
    /// A required child element is missing.
    #[error("<{parent}> lacks <{element}>")]
    MissingElement {
        /// The element that should hold it.
        parent: &'static str,
        /// The missing element.
        element: &'static str,
    },
    /// A value does not have its type.
    #[error("<{element}> {value:?} is not a valid {expected}")]
    InvalidValue {
        /// The element (or element@attribute) that holds it.
        element: &'static str,
        /// The value, cut to a few dozen characters.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
}

/// A document read: the configuration, and the sessions left out with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// What was understood.
    pub config: GatewayConfiguration,
    /// Transport sessions (and their services' locators) left out, and why.
    pub skipped: Vec<MabrError>,
}

impl GatewayConfiguration {
    /// Reads a document within `limits`. Malformed XML, a DOCTYPE, another root element or a
    /// bound exceeded refuse it; an invalid transport session is left out and reported.
    pub fn parse(xml: &[u8], limits: &ParseLimits) -> Result<Parsed, MabrError> {
        if xml.len() > limits.max_document_bytes {
            return Err(MabrError::DocumentTooLarge {
                len: xml.len(),
                cap: limits.max_document_bytes,
            });
        }
        let text = std::str::from_utf8(xml).map_err(|e| MabrError::NotUtf8 {
            valid_up_to: e.valid_up_to(),
        })?;
        let tree = Tree::read(text, limits)?;
        let root = tree.nodes.first().ok_or(MabrError::Empty)?;
        if root.name != ROOT {
            return Err(MabrError::NotGatewayConfiguration(cut(&root.name)));
        }
        let mut skipped = Vec::new();
        let mut config = GatewayConfiguration {
            valid_until: root.attribute("validUntil").map(str::to_owned),
            ..GatewayConfiguration::default()
        };
        for child in tree.children(0) {
            match child.name.as_str() {
                GATEWAY_SESSION => match transport_session(&tree, child) {
                    Ok(s) => config.gateway_sessions.push(s),
                    Err(e) => skipped.push(e),
                },
                MULTICAST_SESSION => {
                    config
                        .sessions
                        .push(multicast_session(&tree, child, &mut skipped));
                }
                _ => {}
            }
        }
        Ok(Parsed { config, skipped })
    }
}

const ROOT: &str = "MulticastGatewayConfiguration";
const GATEWAY_SESSION: &str = "MulticastGatewayConfigurationTransportSession";
const MULTICAST_SESSION: &str = "MulticastSession";
const TRANSPORT_SESSION: &str = "MulticastTransportSession";
const ENDPOINT: &str = "EndpointAddress";

fn multicast_session(tree: &Tree, node: &Node, skipped: &mut Vec<MabrError>) -> MulticastSession {
    let mut session = MulticastSession {
        service_identifier: node
            .attribute("serviceIdentifier")
            .unwrap_or_default()
            .to_owned(),
        ..MulticastSession::default()
    };
    for child in tree.children(node.index) {
        match child.name.as_str() {
            "PresentationManifestLocator" => session.manifests.push(ManifestLocator {
                manifest_id: child.attribute("manifestId").map(str::to_owned),
                content_type: child.attribute("contentType").map(str::to_owned),
                transport_object_uri: child.attribute("transportObjectURI").map(str::to_owned),
                url: Some(child.text.trim())
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            }),
            TRANSPORT_SESSION => match transport_session(tree, child) {
                Ok(s) => session.transport_sessions.push(s),
                Err(e) => skipped.push(e),
            },
            _ => {}
        }
    }
    session
}

fn transport_session(tree: &Tree, node: &Node) -> Result<TransportSession, MabrError> {
    let parent = if node.name == GATEWAY_SESSION {
        GATEWAY_SESSION
    } else {
        TRANSPORT_SESSION
    };
    let protocol = tree
        .child(node, "TransportProtocol")
        .ok_or(MabrError::MissingElement {
            parent,
            element: "TransportProtocol",
        })?;
    let mut session = TransportSession {
        id: node.attribute("id").map(str::to_owned),
        protocol: TransportProtocol::from_identifier(
            protocol.attribute("protocolIdentifier").unwrap_or_default(),
        ),
        protocol_version: protocol.attribute("protocolVersion").map(str::to_owned),
        transport_security: node.attribute("transportSecurity").map(str::to_owned),
        endpoints: Vec::new(),
        bit_rate: None,
        repair: None,
    };
    for child in tree.children(node.index) {
        match child.name.as_str() {
            ENDPOINT => session.endpoints.push(endpoint(tree, child)?),
            "BitRate" => {
                session.bit_rate = Some(BitRate {
                    average: child
                        .attribute("average")
                        .map(|v| number("BitRate@average", v))
                        .transpose()?,
                    maximum: child
                        .attribute("maximum")
                        .map(|v| number("BitRate@maximum", v))
                        .transpose()?,
                });
            }
            "UnicastRepairParameters" => session.repair = Some(unicast_repair(tree, child)),
            _ => {}
        }
    }
    Ok(session)
}

/// Repair parameters are advice: a value that cannot be read is left out rather than costing
/// the session, and a `BaseURL` without text is skipped.
fn unicast_repair(tree: &Tree, node: &Node) -> UnicastRepair {
    let number = |name: &str| {
        node.attribute(name)
            .and_then(|v| u64::from_str(v.trim()).ok())
    };
    UnicastRepair {
        reception_timeout_ms: number("transportObjectReceptionTimeout"),
        fixed_back_off_s: number("fixedBackOffPeriod"),
        random_back_off_s: number("randomBackOffPeriod"),
        object_base_uri: node.attribute("transportObjectBaseURI").map(str::to_owned),
        base_urls: tree
            .children(node.index)
            .filter(|c| c.name == "BaseURL")
            .filter_map(|c| {
                let url = c.text.trim();
                (!url.is_empty()).then(|| RepairBaseUrl {
                    url: url.to_owned(),
                    relative_weight: c
                        .attribute("relativeWeight")
                        .and_then(|w| u32::from_str(w.trim()).ok()),
                })
            })
            .collect(),
    }
}

fn endpoint(tree: &Tree, node: &Node) -> Result<EndpointAddress, MabrError> {
    let text = |name: &'static str| tree.child(node, name).map(|c| c.text.trim());
    let required = |name: &'static str| {
        text(name).ok_or(MabrError::MissingElement {
            parent: ENDPOINT,
            element: name,
        })
    };
    let address = |name: &'static str, value: &str| {
        IpAddr::from_str(value).map_err(|_| invalid(name, value, "IP address"))
    };
    const DESTINATION: &str = "NetworkDestinationGroupAddress";
    const SOURCE: &str = "NetworkSourceAddress";
    const PORT: &str = "TransportDestinationPort";
    const TSI: &str = "MediaTransportSessionIdentifier";
    let port = required(PORT)?;
    Ok(EndpointAddress {
        destination: address(DESTINATION, required(DESTINATION)?)?,
        source: text(SOURCE).map(|s| address(SOURCE, s)).transpose()?,
        port: u16::from_str(port).map_err(|_| invalid(PORT, port, "port"))?,
        tsi: text(TSI).map(|t| number(TSI, t)).transpose()?,
    })
}

fn number(element: &'static str, value: &str) -> Result<u64, MabrError> {
    u64::from_str(value.trim()).map_err(|_| invalid(element, value, "unsigned integer"))
}

fn invalid(element: &'static str, value: &str, expected: &'static str) -> MabrError {
    MabrError::InvalidValue {
        element,
        value: cut(value),
        expected,
    }
}

/// A value as shown in an error: at most 64 characters.
fn cut(value: &str) -> String {
    value.chars().take(64).collect()
}

/// An element: its local name, attributes by local name, text, and children.
struct Node {
    index: usize,
    name: String,
    attributes: Vec<(String, String)>,
    text: String,
    children: Vec<usize>,
}

impl Node {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The elements of a document, the root first.
struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    fn children(&self, index: usize) -> impl Iterator<Item = &Node> + '_ {
        self.nodes
            .get(index)
            .into_iter()
            .flat_map(|n| n.children.iter())
            .filter_map(|&c| self.nodes.get(c))
    }

    fn child(&self, node: &Node, name: &str) -> Option<&Node> {
        self.children(node.index).find(|c| c.name == name)
    }

    fn read(text: &str, limits: &ParseLimits) -> Result<Self, MabrError> {
        let mut reader = Reader::from_str(text);
        reader.config_mut().check_end_names = true;
        let xml_error = |reader: &Reader<&[u8]>, e: &dyn std::fmt::Display| MabrError::Xml {
            position: reader.buffer_position(),
            reason: e.to_string(),
        };
        let mut version = XmlVersion::Implicit1_0;
        let mut tree = Tree { nodes: Vec::new() };
        let mut open: Vec<usize> = Vec::new();
        loop {
            let event = reader.read_event().map_err(|e| MabrError::Xml {
                position: reader.error_position(),
                reason: e.to_string(),
            })?;
            match event {
                Event::DocType(_) => return Err(MabrError::DoctypeForbidden),
                Event::Decl(decl) => {
                    version = decl.xml_version().map_err(|e| xml_error(&reader, &e))?;
                }
                Event::Start(start) => tree.open(&reader, &start, &mut open, limits, version)?,
                Event::Empty(start) => {
                    tree.open(&reader, &start, &mut open, limits, version)?;
                    open.pop();
                }
                Event::End(_) => {
                    open.pop();
                }
                Event::Text(t) => {
                    let content = t.xml_content(version);
                    tree.push_text(&open, &content);
                }
                Event::CData(c) => {
                    let content = c.xml_content(version);
                    tree.push_text(&open, &content);
                }
                Event::GeneralRef(reference) => {
                    let resolved = if reference.is_char_ref() {
                        match reference.resolve_char_ref() {
                            Ok(Some(c)) => c.to_string(),
                            Ok(None) => {
                                return Err(xml_error(&reader, &"reference to no character"));
                            }
                            Err(e) => return Err(xml_error(&reader, &e)),
                        }
                    } else {
                        let name = reference.xml_content(version);
                        quick_xml::escape::resolve_xml_entity(&name)
                            .map(str::to_owned)
                            .ok_or_else(|| {
                                xml_error(&reader, &format_args!("undeclared entity &{name};"))
                            })?
                    };
                    tree.push_text(&open, &resolved);
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => {
                    if !open.is_empty() {
                        return Err(xml_error(&reader, &"document ends inside an element"));
                    }
                    return Ok(tree);
                }
            }
        }
    }

    /// Adds an element that starts, below the innermost open one.
    fn open(
        &mut self,
        reader: &Reader<&[u8]>,
        start: &BytesStart<'_>,
        open: &mut Vec<usize>,
        limits: &ParseLimits,
        version: XmlVersion,
    ) -> Result<(), MabrError> {
        let index = self.nodes.len();
        if open.is_empty() && index > 0 {
            return Err(MabrError::Xml {
                position: reader.buffer_position(),
                reason: "content after the root element".to_owned(),
            });
        }
        if index >= limits.max_elements {
            return Err(MabrError::TooManyElements {
                cap: limits.max_elements,
            });
        }
        if open.len() >= limits.max_depth {
            return Err(MabrError::TooDeep {
                cap: limits.max_depth,
            });
        }
        let node = element(reader, start, index, version)?;
        if let Some(parent) = open.last().and_then(|&p| self.nodes.get_mut(p)) {
            parent.children.push(index);
        }
        self.nodes.push(node);
        open.push(index);
        Ok(())
    }

    fn push_text(&mut self, open: &[usize], content: &str) {
        if let Some(node) = open.last().and_then(|&i| self.nodes.get_mut(i)) {
            node.text.push_str(content);
        }
    }
}

fn element(
    reader: &Reader<&[u8]>,
    start: &BytesStart<'_>,
    index: usize,
    version: XmlVersion,
) -> Result<Node, MabrError> {
    let xml_error = |e: &dyn std::fmt::Display| MabrError::Xml {
        position: reader.buffer_position(),
        reason: e.to_string(),
    };
    let name = start.local_name().as_ref().to_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| xml_error(&e))?;
        if attribute.key.as_namespace_binding().is_some() {
            continue;
        }
        let key = attribute.key.local_name().as_ref().to_owned();
        let value = attribute
            .normalized_value(version)
            .map_err(|e| xml_error(&e))?;
        attributes.push((key, value.into_owned()));
    }
    Ok(Node {
        index,
        name,
        attributes,
        text: String::new(),
        children: Vec::new(),
    })
}
