//! Message digests the protocol needs: MD5 (RFC 1321) for Content-MD5 (RFC 6726 §3.4.2,
//! RFC 1864), which the sender announces in the FDT and the receiver checks on each object.

pub mod md5;
