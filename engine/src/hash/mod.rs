//! Message digests the protocol needs: MD5 (RFC 1321) for Content-MD5 (RFC 6726 §3.4.2,
//! RFC 1864), which the sender announces in the FDT and the receiver checks on each object.

// The compression kernels are reached by the MD5 benchmark; the API is `Md5`.
#[doc(hidden)]
pub mod md5;

pub use md5::Md5;
