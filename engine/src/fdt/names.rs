//! Namespaces, prefixes, element and attribute names of the FDT schemas: RFC 6726 §3.4.2 and
//! 3GPP TS 26.346 §7.2.10 (main schema and its 2005 ... 2015 extensions, schemaVersion) and
//! Annex L.6 (the consolidated 2022 schema).

/// RFC 6726 FDT namespace, default namespace of the extended form.
pub const NS_FDT: &str = "urn:IETF:metadata:2005:FLUTE:FDT";
/// TS 26.346 L.6 consolidated FDT namespace.
pub const NS_FDT_L6: &str = "urn:3GPP:metadata:2022:FLUTE:FDT";
/// XML Schema instance namespace, declared by flute.
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// mbms2005: Group, MBMS-Session-Identity(-Expiry) types.
pub const NS_MBMS_2005: &str = "urn:3GPP:metadata:2005:MBMS:FLUTE:FDT";
/// mbms2007: Cache-Control.
pub const NS_MBMS_2007: &str = "urn:3GPP:metadata:2007:MBMS:FLUTE:FDT";
/// mbms2008: FullFDT.
pub const NS_MBMS_2008: &str = "urn:3GPP:metadata:2008:MBMS:FLUTE:FDT_ext";
/// mbms2009: Decryption-KEY-URI.
pub const NS_MBMS_2009: &str = "urn:3GPP:metadata:2009:MBMS:FLUTE:FDT_ext";
/// mbms2012: Alternate-Content-Location-1/2, Base-URL-1/2, FEC-Redundancy-Level, File-ETag.
pub const NS_MBMS_2012: &str = "urn:3GPP:metadata:2012:MBMS:FLUTE:FDT";
/// mbms2015: IndependentUnitPositions.
pub const NS_MBMS_2015: &str = "urn:3GPP:metadata:2015:MBMS:FLUTE:FDT";
/// sv: schemaVersion and delimiter.
pub const NS_SV: &str = "urn:3gpp:metadata:2009:MBMS:schemaVersion";

/// Prefix and namespace of each extension, as the extended form declares them (and as flute's
/// serde-based parser expects them literally).
pub(crate) const EXTENSION_NAMESPACES: [(&str, &str); 8] = [
    ("xsi", NS_XSI),
    ("mbms2005", NS_MBMS_2005),
    ("mbms2007", NS_MBMS_2007),
    ("mbms2008", NS_MBMS_2008),
    ("mbms2009", NS_MBMS_2009),
    ("mbms2012", NS_MBMS_2012),
    ("mbms2015", NS_MBMS_2015),
    ("sv", NS_SV),
];

/// Whether a namespace is one whose names this parser knows. URN namespace identifiers are
/// case-insensitive (RFC 8141 §3.1) and both "3GPP" and "3gpp" spellings occur in the wild.
pub(crate) fn is_known_namespace(ns: &str) -> bool {
    ns.eq_ignore_ascii_case(NS_FDT)
        || ns.eq_ignore_ascii_case(NS_FDT_L6)
        || EXTENSION_NAMESPACES
            .iter()
            .any(|(_, known)| ns.eq_ignore_ascii_case(known))
}

pub(crate) const FDT_INSTANCE: &str = "FDT-Instance";
pub(crate) const FILE: &str = "File";

pub(crate) const EXPIRES: &str = "Expires";
pub(crate) const COMPLETE: &str = "Complete";
pub(crate) const CONTENT_TYPE: &str = "Content-Type";
pub(crate) const CONTENT_ENCODING: &str = "Content-Encoding";
pub(crate) const FEC_ENCODING_ID: &str = "FEC-OTI-FEC-Encoding-ID";
pub(crate) const FEC_INSTANCE_ID: &str = "FEC-OTI-FEC-Instance-ID";
pub(crate) const MAX_SOURCE_BLOCK_LENGTH: &str = "FEC-OTI-Maximum-Source-Block-Length";
pub(crate) const ENCODING_SYMBOL_LENGTH: &str = "FEC-OTI-Encoding-Symbol-Length";
pub(crate) const MAX_NUMBER_OF_ENCODING_SYMBOLS: &str = "FEC-OTI-Max-Number-of-Encoding-Symbols";
pub(crate) const SCHEME_SPECIFIC_INFO: &str = "FEC-OTI-Scheme-Specific-Info";
pub(crate) const FULL_FDT: &str = "FullFDT";

pub(crate) const CONTENT_LOCATION: &str = "Content-Location";
pub(crate) const TOI: &str = "TOI";
pub(crate) const CONTENT_LENGTH: &str = "Content-Length";
pub(crate) const TRANSFER_LENGTH: &str = "Transfer-Length";
pub(crate) const CONTENT_MD5: &str = "Content-MD5";
pub(crate) const DECRYPTION_KEY_URI: &str = "Decryption-KEY-URI";
pub(crate) const FEC_REDUNDANCY_LEVEL: &str = "FEC-Redundancy-Level";
pub(crate) const FILE_ETAG: &str = "File-ETag";
pub(crate) const INDEPENDENT_UNIT_POSITIONS: &str = "IndependentUnitPositions";
pub(crate) const REPAIR_START: &str = "Repair-Start";
pub(crate) const REPAIR_LIMIT_PERCENTAGE: &str = "Repair-Limit-Percentage";
pub(crate) const OPTEL_PROPAGATOR: &str = "X-Optel-Propagator";

pub(crate) const SCHEMA_VERSION: &str = "schemaVersion";
pub(crate) const BASE_URL_1: &str = "Base-URL-1";
pub(crate) const BASE_URL_2: &str = "Base-URL-2";
pub(crate) const GROUP: &str = "Group";
pub(crate) const SESSION_IDENTITY_EXPIRY: &str = "MBMS-Session-Identity-Expiry";
pub(crate) const SESSION_IDENTITY: &str = "MBMS-Session-Identity";
pub(crate) const VALUE: &str = "value";
pub(crate) const CACHE_CONTROL: &str = "Cache-Control";
pub(crate) const NO_CACHE: &str = "no-cache";
pub(crate) const MAX_STALE: &str = "max-stale";
pub(crate) const ALTERNATE_1: &str = "Alternate-Content-Location-1";
pub(crate) const ALTERNATE_2: &str = "Alternate-Content-Location-2";
pub(crate) const AVAILABILITY_TIME: &str = "Availability-Time";
