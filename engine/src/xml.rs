//! The one XML event loop of the engine's document readers (the FDT, the associated delivery
//! procedure description): a [`Walk`] hands a reader the elements that open and close and the
//! text between them, with character data, CDATA and references resolved, DOCTYPE refused, and
//! the subtree of an element the reader chose to skip consumed without a word, at any depth
//! and without recursion.

use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, BytesStart, Event};

/// What the document says next.
pub(crate) enum Step<'a> {
    /// An element opens; the reader pushes its frame or calls [`Walk::skip`].
    Open(BytesStart<'a>),
    /// An element opens and closes at once (`<x/>`).
    Empty(BytesStart<'a>),
    /// The element last opened (and not skipped) closes.
    Close,
    /// Text inside the element last opened (and not skipped).
    Text(String),
    /// The document ended with every element closed.
    End,
}

/// Why the document cannot be read, for the reader to turn into its own error.
pub(crate) enum Fault {
    /// A DOCTYPE (entity expansion and external references are refused with it).
    Doctype,
    /// Not well-formed: where the XML parser stopped, and why.
    Xml { position: u64, reason: String },
}

/// The walk through one document.
pub(crate) struct Walk<'a> {
    /// The reader, for the namespaces of names and the attributes.
    pub(crate) reader: NsReader<&'a [u8]>,
    /// The document's XML version (from its declaration), for text and attribute values.
    pub(crate) version: XmlVersion,
    /// Depth inside a skipped element's subtree; 0 when not skipping.
    skip_depth: usize,
}

impl<'a> Walk<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut reader = NsReader::from_str(text);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        Self {
            reader,
            version: XmlVersion::Implicit1_0,
            skip_depth: 0,
        }
    }

    /// An error at the reader's position.
    pub(crate) fn fault(&self, reason: impl std::fmt::Display) -> Fault {
        Fault::Xml {
            position: self.reader.buffer_position(),
            reason: reason.to_string(),
        }
    }

    /// Skips the subtree of the element just opened ([`Step::Open`]).
    pub(crate) fn skip(&mut self) {
        self.skip_depth = 1;
    }

    /// Inside a skipped subtree.
    pub(crate) fn skipping(&self) -> bool {
        self.skip_depth > 0
    }

    /// The next step of the document; `open` is how many elements the reader holds open, so
    /// that an end of input inside one is an error.
    pub(crate) fn next(&mut self, open: usize) -> Result<Step<'a>, Fault> {
        loop {
            let event = self.reader.read_event().map_err(|e| Fault::Xml {
                position: self.reader.error_position(),
                reason: e.to_string(),
            })?;
            match event {
                Event::DocType(_) => return Err(Fault::Doctype),
                Event::Decl(decl) => {
                    self.version = decl.xml_version().map_err(|e| self.fault(e))?;
                }
                Event::Start(_) if self.skip_depth > 0 => self.skip_depth += 1,
                Event::Start(start) => return Ok(Step::Open(start)),
                Event::Empty(start) if self.skip_depth == 0 => return Ok(Step::Empty(start)),
                Event::End(_) if self.skip_depth > 0 => self.skip_depth -= 1,
                Event::End(_) => return Ok(Step::Close),
                // A reference is checked even where skipped: an undeclared entity makes the
                // document ill-formed wherever it is.
                Event::GeneralRef(reference) if self.skip_depth > 0 => {
                    self.resolve_reference(&reference)?;
                }
                Event::Text(_) | Event::CData(_) if self.skip_depth > 0 => {}
                Event::Text(text) => {
                    return Ok(Step::Text(text.xml_content(self.version).into_owned()));
                }
                Event::CData(cdata) => {
                    return Ok(Step::Text(cdata.xml_content(self.version).into_owned()));
                }
                Event::GeneralRef(reference) => {
                    return Ok(Step::Text(self.resolve_reference(&reference)?));
                }
                Event::Empty(_) | Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => {
                    if open > 0 || self.skip_depth > 0 {
                        return Err(self.fault("document ends inside an open element"));
                    }
                    return Ok(Step::End);
                }
            }
        }
    }

    fn resolve_reference(&self, reference: &BytesRef<'_>) -> Result<String, Fault> {
        if reference.is_char_ref() {
            return match reference.resolve_char_ref() {
                Ok(Some(c)) => Ok(c.to_string()),
                Ok(None) => Err(self.fault("character reference to no character")),
                Err(e) => Err(self.fault(e)),
            };
        }
        let name = reference.xml_content(self.version);
        quick_xml::escape::resolve_xml_entity(&name)
            .map(str::to_owned)
            .ok_or_else(|| self.fault(format_args!("undeclared entity &{name};")))
    }
}
