//! Reads an associated delivery procedure description, within bounds.
//!
//! The reader streams quick-xml events through a small stack of the elements it knows;
//! anything else (unknown elements with their whole subtree, unknown attributes, extensions in
//! other namespaces) is skipped with a depth counter, so nesting costs no stack and no memory.
//! An element or attribute is the document's when it is in the ADPD namespace, in none, or has
//! an undeclared prefix (lenient, as the FDT parser is). A DOCTYPE is refused outright, which
//! keeps every entity declaration out; only the predefined XML entities and character
//! references are resolved. The caller bounds the document size and the number of servers.

use quick_xml::events::BytesStart;
use quick_xml::name::ResolveResult;

use super::{AssociatedProcedureDescription, NAMESPACE, PostFileRepair};
use crate::xml::{Fault, Step, Walk};

/// Bounds on the work one document may cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// Largest document accepted, in bytes.
    pub max_document_bytes: usize,
    /// Most `serverURI`s accepted in `postFileRepair`.
    pub max_servers: usize,
}

impl Default for ParseLimits {
    /// 64 KiB and 16 servers: a description names a handful of servers, and a receiver tries
    /// them one after the other.
    fn default() -> Self {
        Self {
            max_document_bytes: 64 << 10,
            max_servers: 16,
        }
    }
}

/// Why an associated delivery procedure description was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdpdError {
    /// The document is larger than the cap.
    #[error("associated procedure description of {len} bytes exceeds the cap of {cap} bytes")]
    DocumentTooLarge {
        /// Its size, bytes.
        len: usize,
        /// The cap, bytes.
        cap: usize,
    },
    /// More `serverURI`s than the cap.
    #[error("associated procedure description names more than {cap} repair servers")]
    TooManyServers {
        /// The cap.
        cap: usize,
    },
    /// Not UTF-8.
    #[error("associated procedure description is not valid UTF-8 at byte {valid_up_to}")]
    NotUtf8 {
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
    /// A DOCTYPE, which the document never needs, and which could declare entities.
    #[error("associated procedure description has a DOCTYPE declaration, which is not allowed")]
    DoctypeForbidden,
    /// Not well-formed XML.
    #[error("malformed XML at byte {position}: {reason}")]
    Xml {
        /// Where the XML reader stopped.
        position: u64,
        /// What it reported.
        reason: String,
    },
    /// The root element is another one (or in another namespace).
    #[error("root element is <{0}>, not <associatedProcedureDescription>")]
    NotAdpd(String),
    /// No root element.
    #[error("document has no associatedProcedureDescription element")]
    Empty,
    /// An attribute does not have its type.
    #[error("{attribute}={value:?} is not a valid {expected}")]
    InvalidValue {
        /// The element and attribute (`postFileRepair@offsetTime`).
        attribute: &'static str,
        /// The value, cut to a few dozen characters.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
}

const ROOT: &str = "associatedProcedureDescription";
const POST_FILE_REPAIR: &str = "postFileRepair";
const SERVER_URI: &str = "serverURI";
const OFFSET_TIME: &str = "offsetTime";
const RANDOM_TIME_PERIOD: &str = "randomTimePeriod";

impl AssociatedProcedureDescription {
    /// Reads a document within `limits`. Malformed XML, a DOCTYPE, another root element, an
    /// `offsetTime` or `randomTimePeriod` that is not an unsigned integer, or a bound exceeded
    /// refuse it. Of several `postFileRepair` elements (the schema allows one) the first is
    /// read; a `serverURI` left empty is skipped.
    pub fn parse(xml: &[u8], limits: &ParseLimits) -> Result<Self, AdpdError> {
        if xml.len() > limits.max_document_bytes {
            return Err(AdpdError::DocumentTooLarge {
                len: xml.len(),
                cap: limits.max_document_bytes,
            });
        }
        let text = std::str::from_utf8(xml).map_err(|e| AdpdError::NotUtf8 {
            valid_up_to: e.valid_up_to(),
        })?;
        Parser::new(text, *limits).run()
    }
}

/// An open element the parser knows.
enum Frame {
    Root,
    PostFileRepair,
    ServerUri(String),
}

struct Parser<'a> {
    walk: Walk<'a>,
    limits: ParseLimits,
    document: Option<AssociatedProcedureDescription>,
    stack: Vec<Frame>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, limits: ParseLimits) -> Self {
        Self {
            walk: Walk::new(text),
            limits,
            document: None,
            stack: Vec::new(),
        }
    }

    fn xml_error(&self, e: impl std::fmt::Display) -> AdpdError {
        from_fault(self.walk.fault(e))
    }

    fn run(mut self) -> Result<AssociatedProcedureDescription, AdpdError> {
        loop {
            match self.walk.next(self.stack.len()).map_err(from_fault)? {
                Step::Open(start) => match self.open(&start)? {
                    Some(frame) => self.stack.push(frame),
                    None => self.walk.skip(),
                },
                Step::Empty(start) => {
                    if let Some(frame) = self.open(&start)? {
                        self.close(frame)?;
                    }
                }
                Step::Close => {
                    if let Some(frame) = self.stack.pop() {
                        self.close(frame)?;
                    }
                }
                Step::Text(text) => self.push_text(&text),
                Step::End => break,
            }
            // One root element: once it is closed the document is done.
            if self.document.is_some() && self.stack.is_empty() && !self.walk.skipping() {
                break;
            }
        }
        self.document.ok_or(AdpdError::Empty)
    }

    fn push_text(&mut self, content: &str) {
        if let Some(Frame::ServerUri(text)) = self.stack.last_mut() {
            text.push_str(content);
        }
    }

    /// Whether a resolved name is the document's: no namespace, an undeclared prefix, or the
    /// ADPD namespace (in any case, as writers spell `3GPP` both ways).
    fn is_ours(ns: &ResolveResult<'_>) -> bool {
        match ns {
            ResolveResult::Unbound | ResolveResult::Unknown(_) => true,
            ResolveResult::Bound(ns) => ns.as_ref().eq_ignore_ascii_case(NAMESPACE),
        }
    }

    /// The frame for a newly opened element, or `None` to skip it.
    fn open(&mut self, start: &BytesStart<'_>) -> Result<Option<Frame>, AdpdError> {
        let (ns, local) = self.walk.reader.resolver().resolve_element(start.name());
        let ours = Self::is_ours(&ns);
        let local = local.as_ref();
        let Some(parent) = self.stack.last() else {
            if !ours || local != ROOT {
                return Err(AdpdError::NotAdpd(cut(start.name().as_ref())));
            }
            self.document = Some(AssociatedProcedureDescription::default());
            return Ok(Some(Frame::Root));
        };
        if !ours {
            return Ok(None);
        }
        let frame = match (parent, local) {
            (Frame::Root, l) if l == POST_FILE_REPAIR => {
                let Some(document) = self.document.as_ref() else {
                    return Ok(None);
                };
                if document.post_file_repair.is_some() {
                    return Ok(None);
                }
                let repair = self.post_file_repair(start)?;
                if let Some(document) = self.document.as_mut() {
                    document.post_file_repair = Some(repair);
                }
                Some(Frame::PostFileRepair)
            }
            (Frame::PostFileRepair, l) if l == SERVER_URI => Some(Frame::ServerUri(String::new())),
            _ => None,
        };
        Ok(frame)
    }

    /// Commits a closed element's content.
    fn close(&mut self, frame: Frame) -> Result<(), AdpdError> {
        let Frame::ServerUri(text) = frame else {
            return Ok(());
        };
        let uri = text.trim();
        if uri.is_empty() {
            return Ok(());
        }
        let cap = self.limits.max_servers;
        if let Some(repair) = self
            .document
            .as_mut()
            .and_then(|d| d.post_file_repair.as_mut())
        {
            if repair.server_uris.len() >= cap {
                return Err(AdpdError::TooManyServers { cap });
            }
            repair.server_uris.push(uri.to_owned());
        }
        Ok(())
    }

    fn post_file_repair(&self, start: &BytesStart<'_>) -> Result<PostFileRepair, AdpdError> {
        let mut repair = PostFileRepair::default();
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|e| self.xml_error(e))?;
            let key = attribute.key;
            if key.as_namespace_binding().is_some() {
                continue;
            }
            let (ns, local) = self.walk.reader.resolver().resolve_attribute(key);
            if !Self::is_ours(&ns) {
                continue;
            }
            let local = local.as_ref();
            let slot = if local == OFFSET_TIME {
                (&mut repair.offset_time_s, "postFileRepair@offsetTime")
            } else if local == RANDOM_TIME_PERIOD {
                (
                    &mut repair.random_time_period_s,
                    "postFileRepair@randomTimePeriod",
                )
            } else {
                continue;
            };
            let value = attribute
                .normalized_value(self.walk.version)
                .map_err(|e| self.xml_error(format_args!("<{POST_FILE_REPAIR}>: {e}")))?;
            let (field, name) = slot;
            *field = Some(
                value
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| AdpdError::InvalidValue {
                        attribute: name,
                        value: cut(&value),
                        expected: "unsigned integer (seconds)",
                    })?,
            );
        }
        Ok(repair)
    }
}

/// A value as shown in an error: at most 64 characters.
fn cut(value: &str) -> String {
    value.chars().take(64).collect()
}

/// A fault of the XML walk as this parser's error.
fn from_fault(fault: Fault) -> AdpdError {
    match fault {
        Fault::Doctype => AdpdError::DoctypeForbidden,
        Fault::Xml { position, reason } => AdpdError::Xml { position, reason },
    }
}
