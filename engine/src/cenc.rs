//! Content encodings (RFC 6726 §3.4.2 Content-Encoding, EXT_CENC): null, zlib, deflate, gzip.
