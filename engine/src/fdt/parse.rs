//! Parses an FDT-Instance XML document (RFC 6726 §3.4.2) in either the extended form (with the
//! TS 26.346 §7.2.10 extension namespaces) or the TS 26.346 Annex L.6 profile.
//!
//! The parser streams quick-xml events through a small stack of the elements it knows; anything
//! else (unknown elements with their whole subtree, unknown attributes, elements in foreign
//! namespaces) is skipped with a depth counter, so nesting costs no stack and no memory.
//! A DOCTYPE is refused outright, which keeps every entity declaration out; only the predefined
//! XML entities and character references are resolved. The caller bounds the document size and
//! the number of File entries.

use std::borrow::Cow;

use base64::Engine;
use quick_xml::events::BytesStart;
use quick_xml::events::attributes::Attribute;
use quick_xml::name::ResolveResult;

use super::error::FdtError;
use super::model::{
    AlternateContentLocations, CacheControl, FdtInstance, FecOtiAttributes, File,
    SessionIdentityExpiry,
};
use super::names::*;
use crate::xml::{Fault, Step, Walk};

/// Bounds on the work one FDT document may cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// Largest document accepted, in bytes.
    pub max_document_bytes: usize,
    /// Most File entries accepted in one document.
    pub max_files: usize,
}

impl Default for ParseLimits {
    /// 16 MiB and 100 000 files: well above what any carousel publishes in one instance, well
    /// below what would hurt a receiver.
    fn default() -> Self {
        ParseLimits {
            max_document_bytes: 16 << 20,
            max_files: 100_000,
        }
    }
}

/// A File entry [`FdtInstance::parse_lenient`] left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedFile {
    /// Its TOI, if that attribute is there and valid.
    pub toi: Option<u128>,
    /// Its Content-Location, if there.
    pub content_location: Option<String>,
    /// What is wrong with it.
    pub error: FdtError,
}

impl FdtInstance {
    /// Parses an FDT-Instance document within `limits`; any invalid value refuses the whole
    /// document.
    pub fn parse(xml: &[u8], limits: &ParseLimits) -> Result<FdtInstance, FdtError> {
        Self::parse_with(xml, limits, false).map(|(instance, _)| instance)
    }

    /// Parses an FDT-Instance document within `limits`, leaving out the File entries that have
    /// an invalid or missing value (in their attributes or their child elements) and returning
    /// them beside the instance: one bad entry costs that entry, not the instance. What is
    /// wrong with the document itself (malformed XML, a DOCTYPE, an invalid FDT-Instance
    /// attribute, too many entries, rejected ones included) still refuses it.
    pub fn parse_lenient(
        xml: &[u8],
        limits: &ParseLimits,
    ) -> Result<(FdtInstance, Vec<RejectedFile>), FdtError> {
        Self::parse_with(xml, limits, true)
    }

    fn parse_with(
        xml: &[u8],
        limits: &ParseLimits,
        lenient: bool,
    ) -> Result<(FdtInstance, Vec<RejectedFile>), FdtError> {
        if xml.len() > limits.max_document_bytes {
            return Err(FdtError::DocumentTooLarge {
                len: xml.len(),
                cap: limits.max_document_bytes,
            });
        }
        let text = std::str::from_utf8(xml).map_err(|e| FdtError::NotUtf8 {
            valid_up_to: e.valid_up_to(),
        })?;
        Parser::new(text, *limits, lenient).run()
    }
}

/// What a text-only element's content goes into when the element ends.
#[derive(Debug, Clone, Copy)]
enum TextTarget {
    SchemaVersion,
    BaseUrl1,
    BaseUrl2,
    InstanceGroup,
    SessionIdentityExpiry {
        value: u32,
    },
    NoCache,
    MaxStale,
    CacheExpires,
    AlternateLocation {
        second: bool,
    },
    FileGroup,
    FileSessionIdentity,
    /// sv:delimiter carries no information.
    Ignored,
}

/// An open element the parser knows.
#[derive(Debug)]
enum Frame {
    Instance,
    File,
    CacheControl,
    /// An Alternate-Content-Location-1/2; flute writes the URI as its text, the schema as
    /// child elements, and both are read.
    Alternates {
        second: bool,
        text: String,
    },
    Text {
        target: TextTarget,
        text: String,
    },
}

struct Parser<'a> {
    walk: Walk<'a>,
    limits: ParseLimits,
    instance: Option<FdtInstance>,
    stack: Vec<Frame>,
    /// Leave out bad File entries instead of refusing the document.
    lenient: bool,
    /// The File entries left out.
    rejected: Vec<RejectedFile>,
    /// What is wrong inside the File entry being read, which is left out when it closes.
    file_error: Option<FdtError>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, limits: ParseLimits, lenient: bool) -> Self {
        Parser {
            walk: Walk::new(text),
            limits,
            instance: None,
            stack: Vec::new(),
            lenient,
            rejected: Vec::new(),
            file_error: None,
        }
    }

    fn xml_error(&self, e: impl std::fmt::Display) -> FdtError {
        from_fault(self.walk.fault(e))
    }

    fn run(mut self) -> Result<(FdtInstance, Vec<RejectedFile>), FdtError> {
        loop {
            match self.walk.next(self.stack.len()).map_err(from_fault)? {
                Step::Open(start) => match self.open_checked(&start)? {
                    Some(frame) => self.stack.push(frame),
                    None => self.walk.skip(),
                },
                Step::Empty(start) => {
                    if let Some(frame) = self.open_checked(&start)? {
                        self.close_checked(frame)?;
                    }
                }
                Step::Close => {
                    if let Some(frame) = self.stack.pop() {
                        self.close_checked(frame)?;
                    }
                }
                Step::Text(text) => self.push_text(&text),
                Step::End => break,
            }
            // One root element: once it is closed the document is done.
            if self.instance.is_some() && self.stack.is_empty() && !self.walk.skipping() {
                break;
            }
        }
        let instance = self.instance.ok_or(FdtError::Empty)?;
        Ok((instance, self.rejected))
    }

    /// Inside a File entry (its element is open).
    fn in_file(&self) -> bool {
        self.stack.iter().any(|f| matches!(f, Frame::File))
    }

    /// [`Self::open`]; in lenient mode an error inside a File entry marks the entry bad and
    /// skips the element.
    fn open_checked(&mut self, start: &BytesStart<'_>) -> Result<Option<Frame>, FdtError> {
        match self.open(start) {
            Err(e) if self.lenient && self.in_file() => {
                self.file_error.get_or_insert(e);
                Ok(None)
            }
            other => other,
        }
    }

    /// [`Self::close`]; in lenient mode an error inside a File entry marks the entry bad, and
    /// a bad entry is left out when it closes.
    fn close_checked(&mut self, frame: Frame) -> Result<(), FdtError> {
        let is_file = matches!(frame, Frame::File);
        match self.close(frame) {
            Err(e) if self.lenient && self.in_file() => {
                self.file_error.get_or_insert(e);
            }
            other => other?,
        }
        if is_file
            && let Some(error) = self.file_error.take()
            && let Some(file) = self.instance.as_mut().and_then(|i| i.files.pop())
        {
            self.rejected.push(RejectedFile {
                toi: Some(file.toi),
                content_location: Some(file.content_location),
                error,
            });
        }
        Ok(())
    }

    /// What can be told of a File entry whose attributes are refused.
    fn rejected_file(&self, start: &BytesStart<'_>, error: FdtError) -> RejectedFile {
        let attributes = self.attributes(start, FILE).unwrap_or_default();
        let value = |name: &str| {
            attributes
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        RejectedFile {
            toi: value(TOI).and_then(|v| v.trim().parse().ok()),
            content_location: value(CONTENT_LOCATION),
            error,
        }
    }

    fn push_text(&mut self, content: &str) {
        if let Some(Frame::Text { text, .. } | Frame::Alternates { text, .. }) =
            self.stack.last_mut()
        {
            text.push_str(content);
        }
    }

    /// Whether a resolved name belongs to this parser: no namespace, an undeclared prefix
    /// (lenient, as flute is), or one of the FDT namespaces.
    fn is_ours(ns: &ResolveResult<'_>) -> bool {
        match ns {
            ResolveResult::Unbound | ResolveResult::Unknown(_) => true,
            ResolveResult::Bound(ns) => is_known_namespace(ns.as_ref()),
        }
    }

    /// The frame for a newly opened element, or `None` to skip it as unknown.
    fn open(&mut self, start: &BytesStart<'_>) -> Result<Option<Frame>, FdtError> {
        let (ns, local) = self.walk.reader.resolver().resolve_element(start.name());
        let ours = Self::is_ours(&ns);
        let local = local.as_ref();
        let Some(parent) = self.stack.last() else {
            if local != FDT_INSTANCE {
                return Err(FdtError::NotFdtInstance(start.name().as_ref().to_owned()));
            }
            self.instance = Some(self.instance_attributes(start)?);
            return Ok(Some(Frame::Instance));
        };
        if !ours {
            return Ok(None);
        }
        let text = |target| {
            Some(Frame::Text {
                target,
                text: String::new(),
            })
        };
        let frame = match (parent, local) {
            (Frame::Instance, "File") => {
                let nb_files = self.instance.as_ref().map_or(0, |i| i.files.len());
                if nb_files + self.rejected.len() >= self.limits.max_files {
                    return Err(FdtError::TooManyFiles {
                        cap: self.limits.max_files,
                    });
                }
                match self.file_attributes(start) {
                    Ok(file) => {
                        self.instance.get_or_insert_default().files.push(file);
                        Some(Frame::File)
                    }
                    Err(e) if self.lenient => {
                        let rejected = self.rejected_file(start, e);
                        self.rejected.push(rejected);
                        None
                    }
                    Err(e) => return Err(e),
                }
            }
            (Frame::Instance, "schemaVersion") => text(TextTarget::SchemaVersion),
            (Frame::Instance, "Base-URL-1") => text(TextTarget::BaseUrl1),
            (Frame::Instance, "Base-URL-2") => text(TextTarget::BaseUrl2),
            (Frame::Instance, "Group") => text(TextTarget::InstanceGroup),
            (Frame::Instance, "MBMS-Session-Identity-Expiry") => {
                let value = self
                    .attributes(start, SESSION_IDENTITY_EXPIRY)?
                    .into_iter()
                    .find(|(name, _)| name == VALUE)
                    .ok_or(FdtError::MissingAttribute {
                        element: SESSION_IDENTITY_EXPIRY,
                        attribute: VALUE,
                    })?;
                let value = parse_num(SESSION_IDENTITY_EXPIRY, VALUE, &value.1)?;
                text(TextTarget::SessionIdentityExpiry { value })
            }
            (Frame::Instance | Frame::File, "delimiter") => text(TextTarget::Ignored),
            (Frame::File, "Cache-Control") => Some(Frame::CacheControl),
            (Frame::File, "Alternate-Content-Location-1" | "Alternate-Content-Location-2") => {
                let element = if local == ALTERNATE_1 {
                    ALTERNATE_1
                } else {
                    ALTERNATE_2
                };
                let availability_time = self
                    .attributes(start, element)?
                    .into_iter()
                    .find(|(name, _)| name == AVAILABILITY_TIME)
                    .map(|(_, value)| value);
                let alternates = AlternateContentLocations {
                    availability_time,
                    locations: Vec::new(),
                };
                if let Some(file) = self.current_file() {
                    if element == ALTERNATE_1 {
                        file.alternate_content_location_1.push(alternates);
                    } else {
                        file.alternate_content_location_2.push(alternates);
                    }
                }
                Some(Frame::Alternates {
                    second: element == ALTERNATE_2,
                    text: String::new(),
                })
            }
            (Frame::File, "Group") => text(TextTarget::FileGroup),
            (Frame::File, "MBMS-Session-Identity") => text(TextTarget::FileSessionIdentity),
            (Frame::CacheControl, "no-cache") => text(TextTarget::NoCache),
            (Frame::CacheControl, "max-stale") => text(TextTarget::MaxStale),
            (Frame::CacheControl, "Expires") => text(TextTarget::CacheExpires),
            (Frame::Alternates { second, .. }, "Alternate-Content-Location") => {
                text(TextTarget::AlternateLocation { second: *second })
            }
            _ => None,
        };
        Ok(frame)
    }

    fn current_file(&mut self) -> Option<&mut File> {
        self.instance.as_mut()?.files.last_mut()
    }

    /// Commits a closed element's content to the model.
    fn close(&mut self, frame: Frame) -> Result<(), FdtError> {
        let (target, text) = match frame {
            Frame::Text { target, text } => (target, text),
            Frame::Alternates { second, text } => {
                let location = text.trim();
                if !location.is_empty()
                    && let Some(list) = self.current_file().and_then(|f| open_alternates(f, second))
                {
                    list.locations.push(location.to_owned());
                }
                return Ok(());
            }
            Frame::Instance | Frame::File | Frame::CacheControl => return Ok(()),
        };
        let value = text.trim();
        let instance = self.instance.get_or_insert_default();
        match target {
            TextTarget::SchemaVersion => {
                instance.schema_version = Some(parse_num(FDT_INSTANCE, SCHEMA_VERSION, value)?);
            }
            TextTarget::BaseUrl1 => instance.base_url_1.push(value.to_owned()),
            TextTarget::BaseUrl2 => instance.base_url_2.push(value.to_owned()),
            TextTarget::InstanceGroup => instance.groups.push(value.to_owned()),
            TextTarget::SessionIdentityExpiry { value: expiry } => {
                let session_identity = parse_num(SESSION_IDENTITY_EXPIRY, "content", value)?;
                instance
                    .mbms_session_identity_expiry
                    .push(SessionIdentityExpiry {
                        session_identity,
                        value: expiry,
                    });
            }
            TextTarget::Ignored => {}
            TextTarget::NoCache | TextTarget::MaxStale | TextTarget::CacheExpires => {
                let cache_control = match target {
                    TextTarget::NoCache => CacheControl::NoCache,
                    TextTarget::MaxStale => CacheControl::MaxStale,
                    _ => CacheControl::Expires(parse_num(CACHE_CONTROL, EXPIRES, value)?),
                };
                if let Some(file) = instance.files.last_mut() {
                    file.cache_control = Some(cache_control);
                }
            }
            TextTarget::AlternateLocation { second } => {
                if let Some(list) = instance
                    .files
                    .last_mut()
                    .and_then(|f| open_alternates(f, second))
                {
                    list.locations.push(value.to_owned());
                }
            }
            TextTarget::FileGroup => {
                if let Some(file) = instance.files.last_mut() {
                    file.groups.push(value.to_owned());
                }
            }
            TextTarget::FileSessionIdentity => {
                let identity = parse_num(SESSION_IDENTITY, "content", value)?;
                if let Some(file) = instance.files.last_mut() {
                    file.mbms_session_identity.push(identity);
                }
            }
        }
        Ok(())
    }

    /// The attributes of `start` that belong to the FDT schemas, by local name, with values
    /// unescaped and normalised. Namespace declarations and foreign attributes are dropped.
    fn attributes(
        &self,
        start: &BytesStart<'_>,
        element: &'static str,
    ) -> Result<Vec<(String, String)>, FdtError> {
        let mut out = Vec::new();
        for attribute in start.attributes() {
            let attribute: Attribute<'_> = attribute.map_err(|e| self.xml_error(e))?;
            let key = attribute.key;
            if key.as_namespace_binding().is_some() {
                continue;
            }
            let (ns, local) = self.walk.reader.resolver().resolve_attribute(key);
            if !Self::is_ours(&ns) {
                continue;
            }
            let local: &str = local.as_ref();
            let value: Cow<'_, str> = attribute
                .normalized_value(self.walk.version)
                .map_err(|e| self.xml_error(format_args!("<{element}> {local}: {e}")))?;
            out.push((local.to_owned(), value.into_owned()));
        }
        Ok(out)
    }

    fn instance_attributes(&self, start: &BytesStart<'_>) -> Result<FdtInstance, FdtError> {
        const EL: &str = FDT_INSTANCE;
        let mut instance = FdtInstance::default();
        let mut expires = None;
        for (name, value) in self.attributes(start, EL)? {
            match name.as_str() {
                EXPIRES => expires = Some(parse_num(EL, EXPIRES, &value)?),
                COMPLETE => instance.complete = Some(parse_bool(EL, COMPLETE, &value)?),
                CONTENT_TYPE => instance.content_type = Some(value),
                CONTENT_ENCODING => instance.content_encoding = Some(value),
                FULL_FDT => instance.full_fdt = Some(parse_bool(EL, FULL_FDT, &value)?),
                _ => fec_oti_attribute(EL, &mut instance.fec_oti, &name, &value)?,
            }
        }
        instance.expires = expires.ok_or(FdtError::MissingAttribute {
            element: EL,
            attribute: EXPIRES,
        })?;
        Ok(instance)
    }

    fn file_attributes(&self, start: &BytesStart<'_>) -> Result<File, FdtError> {
        const EL: &str = FILE;
        let mut file = File::default();
        let (mut location, mut toi) = (None, None);
        for (name, value) in self.attributes(start, EL)? {
            match name.as_str() {
                CONTENT_LOCATION => location = Some(value),
                TOI => toi = Some(parse_num(EL, TOI, &value)?),
                CONTENT_LENGTH => {
                    file.content_length = Some(parse_num(EL, CONTENT_LENGTH, &value)?)
                }
                TRANSFER_LENGTH => {
                    file.transfer_length = Some(parse_num(EL, TRANSFER_LENGTH, &value)?);
                }
                CONTENT_TYPE => file.content_type = Some(value),
                CONTENT_ENCODING => file.content_encoding = Some(value),
                CONTENT_MD5 => file.content_md5 = Some(value),
                DECRYPTION_KEY_URI => file.decryption_key_uri = Some(value),
                FEC_REDUNDANCY_LEVEL => {
                    file.fec_redundancy_level = Some(parse_num(EL, FEC_REDUNDANCY_LEVEL, &value)?);
                }
                FILE_ETAG => file.file_etag = Some(value),
                INDEPENDENT_UNIT_POSITIONS => {
                    let positions = value
                        .split_ascii_whitespace()
                        .map(|v| parse_num(EL, INDEPENDENT_UNIT_POSITIONS, v))
                        .collect::<Result<Vec<u64>, _>>()?;
                    file.independent_unit_positions = Some(positions);
                }
                REPAIR_START => file.repair_start = Some(value),
                REPAIR_LIMIT_PERCENTAGE => {
                    file.repair_limit_percentage =
                        Some(parse_num(EL, REPAIR_LIMIT_PERCENTAGE, &value)?);
                }
                OPTEL_PROPAGATOR => file.optel_propagator = Some(value),
                _ => fec_oti_attribute(EL, &mut file.fec_oti, &name, &value)?,
            }
        }
        file.content_location = location.ok_or(FdtError::MissingAttribute {
            element: EL,
            attribute: CONTENT_LOCATION,
        })?;
        file.toi = toi.ok_or(FdtError::MissingAttribute {
            element: EL,
            attribute: TOI,
        })?;
        Ok(file)
    }
}

/// The Alternate-Content-Location-1 (or -2 when `second`) element being read: the last one.
fn open_alternates(file: &mut File, second: bool) -> Option<&mut AlternateContentLocations> {
    if second {
        file.alternate_content_location_2.last_mut()
    } else {
        file.alternate_content_location_1.last_mut()
    }
}

/// Sets one FEC-OTI attribute by name; other names are unknown attributes and are ignored.
fn fec_oti_attribute(
    element: &'static str,
    oti: &mut FecOtiAttributes,
    name: &str,
    value: &str,
) -> Result<(), FdtError> {
    match name {
        FEC_ENCODING_ID => oti.fec_encoding_id = Some(parse_num(element, FEC_ENCODING_ID, value)?),
        FEC_INSTANCE_ID => oti.fec_instance_id = Some(parse_num(element, FEC_INSTANCE_ID, value)?),
        MAX_SOURCE_BLOCK_LENGTH => {
            oti.maximum_source_block_length =
                Some(parse_num(element, MAX_SOURCE_BLOCK_LENGTH, value)?);
        }
        ENCODING_SYMBOL_LENGTH => {
            oti.encoding_symbol_length = Some(parse_num(element, ENCODING_SYMBOL_LENGTH, value)?);
        }
        MAX_NUMBER_OF_ENCODING_SYMBOLS => {
            oti.max_number_of_encoding_symbols =
                Some(parse_num(element, MAX_NUMBER_OF_ENCODING_SYMBOLS, value)?);
        }
        SCHEME_SPECIFIC_INFO => {
            // xs:base64Binary allows whitespace between the characters.
            let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .map_err(|_| FdtError::invalid(element, SCHEME_SPECIFIC_INFO, value, "base64"))?;
            oti.scheme_specific_info = Some(bytes);
        }
        _ => {}
    }
    Ok(())
}

/// An xs:unsignedLong-like number (leading "+" and surrounding whitespace allowed) that must
/// fit `T`.
fn parse_num<T: std::str::FromStr>(
    element: &'static str,
    name: &'static str,
    value: &str,
) -> Result<T, FdtError> {
    value
        .trim()
        .parse()
        .map_err(|_| FdtError::invalid(element, name, value, std::any::type_name::<T>()))
}

/// An xs:boolean: "true", "false", "1" or "0".
fn parse_bool(element: &'static str, name: &'static str, value: &str) -> Result<bool, FdtError> {
    match value.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(FdtError::invalid(element, name, value, "boolean")),
    }
}

/// A fault of the XML walk as this parser's error.
fn from_fault(fault: Fault) -> FdtError {
    match fault {
        Fault::Doctype => FdtError::DoctypeForbidden,
        Fault::Xml { position, reason } => FdtError::Xml { position, reason },
    }
}
