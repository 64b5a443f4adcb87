//! Errors of packet authentication: loading keys ([`KeyError`]), signing a packet
//! ([`SignError`]) and verifying one ([`AuthError`], one variant per reason a receiver drops it).

use std::path::PathBuf;

use thiserror::Error;

use crate::wire::WireError;

/// A key or a scheme parameter that cannot be used.
#[derive(Debug, Error)]
pub enum KeyError {
    /// The key file cannot be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A group key shorter than [`crate::auth::GroupKey::MIN_LEN_BYTES`].
    #[error("group key of {len_bytes} bytes; at least {min} are needed")]
    GroupKeyTooShort {
        /// The key's length.
        len_bytes: usize,
        /// The shortest accepted.
        min: usize,
    },
    /// A truncated MAC length that is not a multiple of 32 bits in 32..=256 (RFC 6584 §6.3).
    #[error("MAC length of {0} bits; a multiple of 32 from 32 to 256 is needed")]
    MacBits(u32),
    /// A PEM file that is not the key expected.
    #[error("{what}: {reason}")]
    Pem {
        /// What was expected.
        what: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// An RSA modulus outside 2048..=4096 bits: shorter is weak (RFC 6584 §3.2 and its
    /// RFC 5751), longer does not fit HEL (a signature field of at most 1012 bytes).
    #[error("RSA key of {0} bits; 2048 to 4096 are accepted")]
    RsaKeySize(usize),
    /// An ASID wider than its 4 bits.
    #[error("ASID {0} does not fit 4 bits")]
    Asid(u8),
    /// The combined scheme (RFC 6584 §6.3.2) must use anti-replay.
    #[error("the combined signature and group MAC scheme requires anti-replay")]
    CombinedNeedsAntiReplay,
}

/// Why a packet could not be signed; the sender does not send it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignError {
    /// The packet has no EXT_AUTH of the signer's length to fill in (the header was written
    /// without [`crate::auth::Signer::ext_len_bytes`] reserved), or more than one.
    #[error("packet has no room for its EXT_AUTH")]
    NoPlaceholder,
    /// The packet's LCT header does not parse.
    #[error("packet does not parse: {0}")]
    Malformed(#[from] WireError),
    /// Every 40-bit Sequence Number has been used: going on would repeat them (RFC 6584
    /// §3.3.2); the session must end, or change TSI or key.
    #[error("anti-replay Sequence Numbers exhausted")]
    SequenceNumbersExhausted,
    /// The RSA signature failed (the OS random source for its salt, most likely).
    #[error("RSA signature failed: {0}")]
    Rsa(String),
}

/// Why a receiver with a key drops a packet: unauthenticated ([`AuthError::Missing`]), badly
/// authenticated (the layout, the MAC or the signature) or replayed ([`AuthError::Replayed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AuthError {
    /// The LCT header does not parse, so its EXT_AUTH cannot be found.
    #[error("malformed: {0}")]
    Malformed(WireError),
    /// No EXT_AUTH with the session's ASID: an unauthenticated packet.
    #[error("no EXT_AUTH with ASID {asid}")]
    Missing {
        /// The ASID looked for.
        asid: u8,
    },
    /// More than one EXT_AUTH with the session's ASID (RFC 6584 §3.4: exactly one).
    #[error("more than one EXT_AUTH with ASID {asid}")]
    Duplicate {
        /// The ASID.
        asid: u8,
    },
    /// An EXT_AUTH whose length, AR flag or padding is not that of the session's scheme.
    #[error("EXT_AUTH of {len_bytes} bytes does not have the scheme's layout")]
    BadLayout {
        /// Its length.
        len_bytes: usize,
    },
    /// Sequence Number 0, which no sender uses (the first packet has 1).
    #[error("anti-replay Sequence Number 0")]
    ZeroSequenceNumber,
    /// The group MAC does not match: forged, corrupted, or another key.
    #[error("group MAC does not verify")]
    BadMac,
    /// The signature does not verify: forged, corrupted, or another key.
    #[error("signature does not verify")]
    BadSignature,
    /// A Sequence Number already received, or left of the window: a replay.
    #[error("anti-replay Sequence Number {sequence_number} replayed or too old")]
    Replayed {
        /// The Sequence Number.
        sequence_number: u64,
    },
}
