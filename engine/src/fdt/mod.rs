//! The FDT-Instance (RFC 6726 §3.4.2) and its 3GPP TS 26.346 extensions.
