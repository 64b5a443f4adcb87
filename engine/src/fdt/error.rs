//! Errors of the FDT-Instance parser (RFC 6726 §3.4.2): every way a document is refused, typed.

/// Why an FDT-Instance document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FdtError {
    /// The document is larger than the caller's cap.
    #[error("FDT document of {len} bytes exceeds the cap of {cap} bytes")]
    DocumentTooLarge {
        /// Size of the document, in bytes.
        len: usize,
        /// The caller's cap, in bytes.
        cap: usize,
    },
    /// The document declares more File entries than the caller's cap.
    #[error("FDT declares more than {cap} File entries")]
    TooManyFiles {
        /// The caller's cap.
        cap: usize,
    },
    /// The document has a DOCTYPE (and with it, possibly, entity declarations). FDTs never need
    /// one, and refusing it is what keeps entity expansion attacks out.
    #[error("FDT has a DOCTYPE declaration, which is not allowed")]
    DoctypeForbidden,
    /// The document is not UTF-8 (RFC 6726 §3.4.2 requires UTF-8).
    #[error("FDT is not valid UTF-8 at byte {valid_up_to}")]
    NotUtf8 {
        /// Length of the valid UTF-8 prefix.
        valid_up_to: usize,
    },
    /// The document is not well-formed XML.
    #[error("malformed XML at byte {position}: {reason}")]
    Xml {
        /// Byte offset where the XML parser stopped.
        position: u64,
        /// What the XML parser reported.
        reason: String,
    },
    /// The root element is not an FDT-Instance.
    #[error("root element is <{0}>, not <FDT-Instance>")]
    NotFdtInstance(String),
    /// The document has no root element.
    #[error("FDT document has no FDT-Instance element")]
    Empty,
    /// A required attribute is missing.
    #[error("<{element}> lacks the required {attribute} attribute")]
    MissingAttribute {
        /// The element.
        element: &'static str,
        /// The missing attribute.
        attribute: &'static str,
    },
    /// An attribute or element value does not have the type the schema gives it.
    #[error("<{element}> {name}={value:?} is not a valid {expected}")]
    InvalidValue {
        /// The element that holds it.
        element: &'static str,
        /// The attribute or child element name.
        name: &'static str,
        /// The raw value (cut to a few dozen characters).
        value: String,
        /// What the schema expects.
        expected: &'static str,
    },
}

impl FdtError {
    pub(crate) fn invalid(
        element: &'static str,
        name: &'static str,
        value: &str,
        expected: &'static str,
    ) -> Self {
        const SHOWN_CHARS: usize = 64;
        FdtError::InvalidValue {
            element,
            name,
            value: value.chars().take(SHOWN_CHARS).collect(),
            expected,
        }
    }
}
