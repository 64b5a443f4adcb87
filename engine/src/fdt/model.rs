//! The FDT-Instance data model: RFC 6726 §3.4.2 attributes and elements of FDT-Instance and
//! File, and the 3GPP TS 26.346 §7.2.10 / Annex L extensions (mbms2005 ... mbms2015, sv).
//!
//! Values are kept as the schema types them, without interpreting them: the FEC OTI attributes
//! stay raw numbers (turning them into an `Oti` for an encoding ID is the wire layer's job), the
//! Content-MD5 stays its base64 text, and the 3GPP date-times stay text.

use crate::cenc::Cenc;

/// The FEC Object Transmission Information attributes of RFC 6726 §3.4.2, as they appear on an
/// FDT-Instance (defaults for every File) or on a File. Each one is optional on its own.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FecOtiAttributes {
    /// FEC-OTI-FEC-Encoding-ID.
    pub fec_encoding_id: Option<u8>,
    /// FEC-OTI-FEC-Instance-ID (only under-specified schemes use it).
    pub fec_instance_id: Option<u64>,
    /// FEC-OTI-Maximum-Source-Block-Length, in symbols.
    pub maximum_source_block_length: Option<u64>,
    /// FEC-OTI-Encoding-Symbol-Length, in bytes.
    pub encoding_symbol_length: Option<u64>,
    /// FEC-OTI-Max-Number-of-Encoding-Symbols.
    pub max_number_of_encoding_symbols: Option<u64>,
    /// FEC-OTI-Scheme-Specific-Info, base64-decoded.
    pub scheme_specific_info: Option<Vec<u8>>,
}

impl FecOtiAttributes {
    /// True when no attribute is set.
    pub fn is_empty(&self) -> bool {
        *self == FecOtiAttributes::default()
    }

    /// Each attribute of `self`, or when missing the one of `defaults` (RFC 6726 §3.4.2: a File
    /// inherits every FEC-OTI attribute it lacks from its FDT-Instance).
    pub fn or(&self, defaults: &FecOtiAttributes) -> FecOtiAttributes {
        FecOtiAttributes {
            fec_encoding_id: self.fec_encoding_id.or(defaults.fec_encoding_id),
            fec_instance_id: self.fec_instance_id.or(defaults.fec_instance_id),
            maximum_source_block_length: self
                .maximum_source_block_length
                .or(defaults.maximum_source_block_length),
            encoding_symbol_length: self
                .encoding_symbol_length
                .or(defaults.encoding_symbol_length),
            max_number_of_encoding_symbols: self
                .max_number_of_encoding_symbols
                .or(defaults.max_number_of_encoding_symbols),
            scheme_specific_info: self
                .scheme_specific_info
                .clone()
                .or_else(|| defaults.scheme_specific_info.clone()),
        }
    }
}

/// The 3GPP Cache-Control element of a File (TS 26.346 §7.2.10.2, namespace mbms2007).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheControl {
    /// `no-cache`: the file should not be cached.
    NoCache,
    /// `max-stale`: the file may be cached and used after it expires.
    MaxStale,
    /// `Expires`: the file is valid until this time, in NTP seconds (see [`super::ntp`]).
    Expires(u32),
}

/// One mbms2005 MBMS-Session-Identity-Expiry element of an FDT-Instance (TS 26.346 §7.2.10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionIdentityExpiry {
    /// The MBMS session identity (the element's content).
    pub session_identity: u8,
    /// Expiry of that session identity, in NTP seconds (the `value` attribute).
    pub value: u32,
}

/// One mbms2012 Alternate-Content-Location-1 or -2 element of a File (TS 26.346 §7.2.10.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlternateContentLocations {
    /// `Availability-Time` attribute, an xs:dateTime kept as text.
    pub availability_time: Option<String>,
    /// The Alternate-Content-Location URIs it lists.
    pub locations: Vec<String>,
}

/// One File element of an FDT-Instance (RFC 6726 §3.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct File {
    /// Content-Location: the URI of the file.
    pub content_location: String,
    /// TOI: the transport object carrying the file. An unbounded decimal in the schema; LCT
    /// carries at most 112 bits.
    pub toi: u128,
    /// Content-Length: size of the file before content encoding, in bytes.
    pub content_length: Option<u64>,
    /// Transfer-Length: size of the transport object (after content encoding), in bytes.
    pub transfer_length: Option<u64>,
    /// Content-Type (a MIME type).
    pub content_type: Option<String>,
    /// Content-Encoding, as written (see [`File::cenc`]).
    pub content_encoding: Option<String>,
    /// Content-MD5: base64 of the MD5 digest of the content (RFC 1864), as written.
    pub content_md5: Option<String>,
    /// FEC OTI attributes of this file.
    pub fec_oti: FecOtiAttributes,
    /// mbms2007 Cache-Control.
    pub cache_control: Option<CacheControl>,
    /// mbms2012 Alternate-Content-Location-1 elements.
    pub alternate_content_location_1: Vec<AlternateContentLocations>,
    /// mbms2012 Alternate-Content-Location-2 elements.
    pub alternate_content_location_2: Vec<AlternateContentLocations>,
    /// mbms2005 Group elements: the groups this file belongs to.
    pub groups: Vec<String>,
    /// mbms2005 MBMS-Session-Identity elements.
    pub mbms_session_identity: Vec<u8>,
    /// mbms2009 Decryption-KEY-URI.
    pub decryption_key_uri: Option<String>,
    /// mbms2012 FEC-Redundancy-Level.
    pub fec_redundancy_level: Option<u32>,
    /// mbms2012 File-ETag.
    pub file_etag: Option<String>,
    /// mbms2015 IndependentUnitPositions: byte offsets of independently decodable units.
    pub independent_unit_positions: Option<Vec<u64>>,
    /// Repair-Start (TS 26.346 L.6 profile), an xs:dateTime kept as text.
    pub repair_start: Option<String>,
    /// Repair-Limit-Percentage (TS 26.346 L.6 profile).
    pub repair_limit_percentage: Option<u32>,
    /// X-Optel-Propagator: the flute crate's OpenTelemetry context (base64 JSON), as written.
    pub optel_propagator: Option<String>,
}

impl File {
    /// A File with only its two required attributes set.
    pub fn new(content_location: impl Into<String>, toi: u128) -> File {
        File {
            content_location: content_location.into(),
            toi,
            ..File::default()
        }
    }

    /// The Content-Encoding of this file as a known [`Cenc`]; absent means [`Cenc::Null`],
    /// `Err` carries an encoding name xflute does not know.
    pub fn cenc(&self) -> Result<Cenc, &str> {
        match self.content_encoding.as_deref() {
            None => Ok(Cenc::Null),
            Some(name) => Cenc::from_content_encoding(name).ok_or(name),
        }
    }

    /// The transfer length: Transfer-Length, or Content-Length when the object is not content
    /// encoded and the sender left Transfer-Length out (RFC 6726 §3.4.2).
    pub fn transfer_length_or_content_length(&self) -> Option<u64> {
        self.transfer_length.or(self.content_length)
    }
}

/// An FDT-Instance (RFC 6726 §3.4.2) with its 3GPP TS 26.346 extensions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FdtInstance {
    /// Expires: when this instance stops being valid, in NTP seconds (see [`super::ntp`]).
    pub expires: u32,
    /// Complete: no new File will appear in later instances of this session.
    pub complete: Option<bool>,
    /// Content-Type default for every File.
    pub content_type: Option<String>,
    /// Content-Encoding default for every File.
    pub content_encoding: Option<String>,
    /// FEC OTI defaults for every File.
    pub fec_oti: FecOtiAttributes,
    /// mbms2008 FullFDT: this instance lists every file of the session.
    pub full_fdt: Option<bool>,
    /// The File entries.
    pub files: Vec<File>,
    /// sv schemaVersion. The writer puts [`DEFAULT_SCHEMA_VERSION`] when it is `None`, since both
    /// schemas require the element.
    pub schema_version: Option<u32>,
    /// mbms2012 Base-URL-1 elements.
    pub base_url_1: Vec<String>,
    /// mbms2012 Base-URL-2 elements.
    pub base_url_2: Vec<String>,
    /// mbms2005 Group elements of the instance.
    pub groups: Vec<String>,
    /// mbms2005 MBMS-Session-Identity-Expiry elements.
    pub mbms_session_identity_expiry: Vec<SessionIdentityExpiry>,
}

/// The schemaVersion the writer puts when the model has none: the version flute writes.
pub const DEFAULT_SCHEMA_VERSION: u32 = 4;

impl FdtInstance {
    /// An instance valid until `expires` (NTP seconds) with no File yet.
    pub fn new(expires: u32) -> FdtInstance {
        FdtInstance {
            expires,
            ..FdtInstance::default()
        }
    }

    /// The File entry of transport object `toi`.
    pub fn file(&self, toi: u128) -> Option<&File> {
        self.files.iter().find(|file| file.toi == toi)
    }

    /// The FEC OTI attributes of `file`, each one inherited from this instance when the File
    /// lacks it (RFC 6726 §3.4.2).
    pub fn fec_oti_for(&self, file: &File) -> FecOtiAttributes {
        file.fec_oti.or(&self.fec_oti)
    }

    /// Content-Type of `file`, inherited from this instance when the File lacks it.
    pub fn content_type_for<'a>(&'a self, file: &'a File) -> Option<&'a str> {
        file.content_type
            .as_deref()
            .or(self.content_type.as_deref())
    }

    /// Content-Encoding of `file`, inherited from this instance when the File lacks it.
    pub fn content_encoding_for<'a>(&'a self, file: &'a File) -> Option<&'a str> {
        file.content_encoding
            .as_deref()
            .or(self.content_encoding.as_deref())
    }

    /// The encoding of `file` (inherited as above) as a known [`Cenc`]; absent means
    /// [`Cenc::Null`], `Err` carries an encoding name xflute does not know.
    pub fn cenc_for<'a>(&'a self, file: &'a File) -> Result<Cenc, &'a str> {
        match self.content_encoding_for(file) {
            None => Ok(Cenc::Null),
            Some(name) => Cenc::from_content_encoding(name).ok_or(name),
        }
    }

    /// Expires as Unix seconds, the era picked nearest `reference_unix_secs`.
    pub fn expires_unix_secs(&self, reference_unix_secs: u64) -> Option<u64> {
        super::ntp::unix_secs_from_ntp_secs(self.expires, reference_unix_secs)
    }
}
