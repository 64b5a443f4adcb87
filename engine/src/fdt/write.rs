//! Serialises an [`FdtInstance`] to XML (RFC 6726 §3.4.2) in one of two profiles: the extended
//! form (RFC 6726 namespace plus the TS 26.346 §7.2.10 extension namespaces, as flute's
//! `FdtXmlProfile::Extended` writes it) or the TS 26.346 Annex L.6 consolidated profile.
//!
//! The output is built in one string with no fallible step: every value is escaped for XML, and
//! tab, CR and LF in attribute values become character references so that a parser's attribute
//! value normalisation gives them back unchanged.

use base64::Engine;

use super::model::{
    AlternateContentLocations, CacheControl, DEFAULT_SCHEMA_VERSION, FdtInstance, FecOtiAttributes,
    File,
};
use super::names::*;

/// Which FDT schema the writer follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FdtXmlProfile {
    /// RFC 6726 namespace with the 3GPP extension namespaces (mbms2005 ... mbms2015, sv) declared
    /// on the root and used with those prefixes, as in TS 26.346 §7.2.10 and as flute writes.
    #[default]
    Extended,
    /// TS 26.346 Annex L.6: one 2022 namespace, no prefixes, only the attributes and elements
    /// of that schema. The extensions it lacks are left out (see
    /// [`FdtXmlProfile::omitted_by`]).
    Ts26346L6,
}

impl FdtXmlProfile {
    /// Names of the fields of `instance` that this profile cannot carry and that
    /// [`FdtInstance::to_xml`] will therefore leave out, so a sender can say so.
    pub fn omitted_by(self, instance: &FdtInstance) -> Vec<&'static str> {
        if self == FdtXmlProfile::Extended {
            return Vec::new();
        }
        let mut omitted = Vec::new();
        let mut check = |present: bool, name: &'static str| {
            if present && !omitted.contains(&name) {
                omitted.push(name);
            }
        };
        check(instance.full_fdt.is_some(), FULL_FDT);
        check(!instance.base_url_1.is_empty(), BASE_URL_1);
        check(!instance.base_url_2.is_empty(), BASE_URL_2);
        check(!instance.groups.is_empty(), GROUP);
        check(
            !instance.mbms_session_identity_expiry.is_empty(),
            SESSION_IDENTITY_EXPIRY,
        );
        for file in &instance.files {
            check(!file.groups.is_empty(), GROUP);
            check(!file.mbms_session_identity.is_empty(), SESSION_IDENTITY);
            check(!file.alternate_content_location_1.is_empty(), ALTERNATE_1);
            check(!file.alternate_content_location_2.is_empty(), ALTERNATE_2);
            check(file.decryption_key_uri.is_some(), DECRYPTION_KEY_URI);
            check(
                file.independent_unit_positions.is_some(),
                INDEPENDENT_UNIT_POSITIONS,
            );
        }
        omitted
    }
}

/// Where the writer puts the FEC OTI attributes (RFC 6726 §3.4.2: those of a `File` override the
/// instance's, which are defaults for its files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtiPlacement {
    /// On the instance and on each `File`, completed there from the instance's values when the
    /// file has the same FEC Encoding ID (or none). Receivers that read them only from `File`
    /// (GPAC) and those that also take the instance's defaults (flute) both find them.
    #[default]
    EachFile,
    /// Where the model has them: defaults on the instance, overrides on the files.
    AsGiven,
}

impl FdtInstance {
    /// This instance as an XML document (UTF-8, with an XML declaration) in `profile`, the FEC
    /// OTI attributes where the model has them ([`OtiPlacement::AsGiven`]): parsing it gives
    /// this instance back.
    pub fn to_xml(&self, profile: FdtXmlProfile) -> Vec<u8> {
        self.to_xml_with(profile, OtiPlacement::AsGiven)
    }

    /// This instance as an XML document in `profile`, the FEC OTI attributes placed by `oti`.
    pub fn to_xml_with(&self, profile: FdtXmlProfile, oti: OtiPlacement) -> Vec<u8> {
        let mut out = Xml::default();
        out.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.open(FDT_INSTANCE);
        match profile {
            FdtXmlProfile::Extended => {
                out.attr("xmlns", NS_FDT);
                for (prefix, ns) in EXTENSION_NAMESPACES {
                    out.attr_prefixed("xmlns", prefix, ns);
                }
            }
            FdtXmlProfile::Ts26346L6 => out.attr("xmlns", NS_FDT_L6),
        }
        out.attr(EXPIRES, &self.expires.to_string());
        if let Some(complete) = self.complete {
            out.attr(COMPLETE, bool_str(complete));
        }
        out.attr_opt(CONTENT_TYPE, self.content_type.as_deref());
        out.attr_opt(CONTENT_ENCODING, self.content_encoding.as_deref());
        out.fec_oti(&self.fec_oti);
        if profile == FdtXmlProfile::Extended
            && let Some(full) = self.full_fdt
        {
            out.attr_prefixed("mbms2008", FULL_FDT, bool_str(full));
        }
        out.end_open();

        for file in &self.files {
            let file_oti = match oti {
                OtiPlacement::EachFile => completed(&file.fec_oti, &self.fec_oti),
                OtiPlacement::AsGiven => file.fec_oti.clone(),
            };
            write_file(&mut out, file, &file_oti, profile);
        }
        let schema_version = self.schema_version.unwrap_or(DEFAULT_SCHEMA_VERSION);
        match profile {
            FdtXmlProfile::Extended => {
                // The element order is the main schema's sequence.
                out.text_element("sv:schemaVersion", &schema_version.to_string());
                for url in &self.base_url_1 {
                    out.text_element("mbms2012:Base-URL-1", url);
                }
                for url in &self.base_url_2 {
                    out.text_element("mbms2012:Base-URL-2", url);
                }
                out.text_element("sv:delimiter", "0");
                for group in &self.groups {
                    out.text_element(GROUP, group);
                }
                for expiry in &self.mbms_session_identity_expiry {
                    out.open(SESSION_IDENTITY_EXPIRY);
                    out.attr(VALUE, &expiry.value.to_string());
                    out.end_open();
                    out.text(&expiry.session_identity.to_string());
                    out.close(SESSION_IDENTITY_EXPIRY);
                }
            }
            FdtXmlProfile::Ts26346L6 => {
                out.text_element(SCHEMA_VERSION, &schema_version.to_string());
            }
        }
        out.close(FDT_INSTANCE);
        out.buf.push('\n');
        out.buf.into_bytes()
    }
}

/// A file's FEC OTI attributes with those it lacks taken from the instance's, unless it names
/// another FEC scheme (the instance's values would then describe a different code).
fn completed(file: &FecOtiAttributes, instance: &FecOtiAttributes) -> FecOtiAttributes {
    match (file.fec_encoding_id, instance.fec_encoding_id) {
        (Some(own), Some(default)) if own != default => file.clone(),
        _ => file.or(instance),
    }
}

fn write_file(out: &mut Xml, file: &File, oti: &FecOtiAttributes, profile: FdtXmlProfile) {
    let extended = profile == FdtXmlProfile::Extended;
    out.open(FILE);
    out.attr(CONTENT_LOCATION, &file.content_location);
    out.attr(TOI, &file.toi.to_string());
    out.attr_opt(
        CONTENT_LENGTH,
        file.content_length.map(|v| v.to_string()).as_deref(),
    );
    out.attr_opt(
        TRANSFER_LENGTH,
        file.transfer_length.map(|v| v.to_string()).as_deref(),
    );
    out.attr_opt(CONTENT_TYPE, file.content_type.as_deref());
    out.attr_opt(CONTENT_ENCODING, file.content_encoding.as_deref());
    out.attr_opt(CONTENT_MD5, file.content_md5.as_deref());
    out.fec_oti(oti);
    // The extended form qualifies the 3GPP attributes with their namespace; L.6 has them in its
    // own namespace, unqualified.
    let ext_attr = |out: &mut Xml, prefix: &str, name: &str, value: Option<&str>| {
        if let Some(value) = value {
            if extended {
                out.attr_prefixed(prefix, name, value);
            } else {
                out.attr(name, value);
            }
        }
    };
    if extended {
        ext_attr(
            out,
            "mbms2009",
            DECRYPTION_KEY_URI,
            file.decryption_key_uri.as_deref(),
        );
    }
    ext_attr(
        out,
        "mbms2012",
        FEC_REDUNDANCY_LEVEL,
        file.fec_redundancy_level.map(|v| v.to_string()).as_deref(),
    );
    ext_attr(out, "mbms2012", FILE_ETAG, file.file_etag.as_deref());
    if extended && let Some(positions) = &file.independent_unit_positions {
        let list = positions
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        out.attr_prefixed("mbms2015", INDEPENDENT_UNIT_POSITIONS, &list);
    }
    out.attr_opt(REPAIR_START, file.repair_start.as_deref());
    out.attr_opt(
        REPAIR_LIMIT_PERCENTAGE,
        file.repair_limit_percentage
            .map(|v| v.to_string())
            .as_deref(),
    );
    out.attr_opt(OPTEL_PROPAGATOR, file.optel_propagator.as_deref());
    out.end_open();

    if let Some(cache_control) = file.cache_control {
        let (cc, prefix) = if extended {
            ("mbms2007:Cache-Control", "mbms2007:")
        } else {
            (CACHE_CONTROL, "")
        };
        out.open(cc);
        out.end_open();
        match cache_control {
            CacheControl::NoCache => out.text_element(&format!("{prefix}{NO_CACHE}"), "true"),
            CacheControl::MaxStale => out.text_element(&format!("{prefix}{MAX_STALE}"), "true"),
            CacheControl::Expires(ntp) => {
                out.text_element(&format!("{prefix}{EXPIRES}"), &ntp.to_string());
            }
        }
        out.close(cc);
    }
    if extended {
        // The main schema's File sequence: Cache-Control, delimiter, alternates, delimiter,
        // then Group and MBMS-Session-Identity.
        out.text_element("sv:delimiter", "0");
        for alternates in &file.alternate_content_location_1 {
            write_alternates(out, "mbms2012:Alternate-Content-Location-1", alternates);
        }
        for alternates in &file.alternate_content_location_2 {
            write_alternates(out, "mbms2012:Alternate-Content-Location-2", alternates);
        }
        out.text_element("sv:delimiter", "0");
        for group in &file.groups {
            out.text_element(GROUP, group);
        }
        for identity in &file.mbms_session_identity {
            out.text_element(SESSION_IDENTITY, &identity.to_string());
        }
    }
    out.close(FILE);
}

fn write_alternates(out: &mut Xml, name: &str, alternates: &AlternateContentLocations) {
    out.open(name);
    out.attr_opt(AVAILABILITY_TIME, alternates.availability_time.as_deref());
    out.end_open();
    for location in &alternates.locations {
        out.text_element("mbms2012:Alternate-Content-Location", location);
    }
    out.close(name);
}

fn bool_str(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// A minimal XML text builder. Elements are opened with `open` + attributes + `end_open`.
#[derive(Default)]
struct Xml {
    buf: String,
}

impl Xml {
    fn raw(&mut self, s: &str) {
        self.buf.push_str(s);
    }

    fn open(&mut self, name: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
    }

    fn attr(&mut self, name: &str, value: &str) {
        self.buf.push(' ');
        self.buf.push_str(name);
        self.attr_value(value);
    }

    fn attr_prefixed(&mut self, prefix: &str, name: &str, value: &str) {
        self.buf.push(' ');
        self.buf.push_str(prefix);
        self.buf.push(':');
        self.buf.push_str(name);
        self.attr_value(value);
    }

    fn attr_value(&mut self, value: &str) {
        self.buf.push_str("=\"");
        escape_into(&mut self.buf, value, true);
        self.buf.push('"');
    }

    fn attr_opt(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.attr(name, value);
        }
    }

    fn fec_oti(&mut self, oti: &FecOtiAttributes) {
        let num = |v: Option<u64>| v.map(|v| v.to_string());
        self.attr_opt(
            FEC_ENCODING_ID,
            oti.fec_encoding_id.map(|v| v.to_string()).as_deref(),
        );
        self.attr_opt(FEC_INSTANCE_ID, num(oti.fec_instance_id).as_deref());
        self.attr_opt(
            MAX_SOURCE_BLOCK_LENGTH,
            num(oti.maximum_source_block_length).as_deref(),
        );
        self.attr_opt(
            ENCODING_SYMBOL_LENGTH,
            num(oti.encoding_symbol_length).as_deref(),
        );
        self.attr_opt(
            MAX_NUMBER_OF_ENCODING_SYMBOLS,
            num(oti.max_number_of_encoding_symbols).as_deref(),
        );
        if let Some(info) = &oti.scheme_specific_info {
            let b64 = base64::engine::general_purpose::STANDARD.encode(info);
            self.attr(SCHEME_SPECIFIC_INFO, &b64);
        }
    }

    fn end_open(&mut self) {
        self.buf.push('>');
    }

    fn text(&mut self, text: &str) {
        escape_into(&mut self.buf, text, false);
    }

    fn close(&mut self, name: &str) {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
    }

    fn text_element(&mut self, name: &str, text: &str) {
        self.open(name);
        self.end_open();
        self.text(text);
        self.close(name);
    }
}

/// Escapes the five XML special characters; in attribute values also tab, CR and LF, which a
/// parser would otherwise normalise to spaces (XML 1.0 §3.3.3). In text, CR is escaped too, or
/// end-of-line handling (§2.11) would turn it into LF.
fn escape_into(buf: &mut String, value: &str, attribute: bool) {
    for c in value.chars() {
        match c {
            '&' => buf.push_str("&amp;"),
            '<' => buf.push_str("&lt;"),
            '>' => buf.push_str("&gt;"),
            '"' => buf.push_str("&quot;"),
            '\'' => buf.push_str("&apos;"),
            '\r' => buf.push_str("&#13;"),
            '\t' if attribute => buf.push_str("&#9;"),
            '\n' if attribute => buf.push_str("&#10;"),
            c => buf.push(c),
        }
    }
}
