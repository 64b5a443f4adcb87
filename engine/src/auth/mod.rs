//! Packet authentication for ALC (RFC 6584): each packet carries one EXT_AUTH header extension
//! (HET 1, laid out by [`crate::wire::ExtAuth`]) with a group-keyed MAC (HMAC-SHA-256, §5), an
//! RSASSA-PSS signature with SHA-256 (§3), or both (§6: the MAC is checked first, so that a
//! flood of forged packets costs a MAC each, not an RSA verification). The MAC and the
//! signature cover the whole ALC packet, the LCT header with all its extensions, the FEC
//! Payload ID and the symbols, with their own fields set to zero (§3.3.1, §5.3.1). With
//! anti-replay (AR = 1, §3.3.2) a 40-bit Sequence Number, counted from 1 by the sender, is
//! checked against a sliding window per session (the IPsec ESP window, RFC 4303 §3.4.3): a
//! duplicate or a number left of the window is dropped before any cryptography, and the window
//! moves only once the packet has verified.
//!
//! - [`Signer`]: the sender's side; [`crate::sender::Sender::set_signer`] makes every packet it
//!   writes carry EXT_AUTH.
//! - [`VerifierConfig`] and [`Verifier`]: the receiver's side; with
//!   [`crate::receiver::Config::auth`] set, [`crate::receiver::MultiReceiver::push`] verifies each
//!   packet first and drops what is unauthenticated, badly signed or replayed, each counted
//!   under its own drop reason, before it touches any session or object.
//!   [`VerifierConfig::check`] does the MAC and signature part of that on any thread, and
//!   [`crate::receiver::MultiReceiver::push_checked`] the rest (the replay window), so that
//!   another core can verify (the receive engine's authentication stage).
//! - [`GroupKey`], [`SigningKey`], [`VerifyingKey`]: the keys, from bytes or files (a raw or hex
//!   group key; PKCS#8 and SPKI PEM RSA keys).
//!
//! The out-of-band parameters of §3.2 and §5.2 are fixed here: SHA-256, RSASSA-PSS with a
//! 32-byte salt, HMAC-SHA-256 truncated to [`GroupKey::DEFAULT_MAC_BITS`] (32 bits in the
//! combined scheme, its §6.4 default), ASID [`DEFAULT_ASID`]; both ends must agree on them and on
//! anti-replay.
//!
//! What this does not protect against is in `docs/robustness.md`: a group member forging as the
//! sender (group MAC), a sender restarted with the same TSI and key (its Sequence Numbers start
//! again at 1 and are replays to a receiver that saw the first run), traffic analysis (nothing is
//! encrypted), and the CPU cost of checking a flood (RFC 6584 §7.1).

mod error;
mod keys;
mod layout;
mod replay;
mod signer;
mod verifier;

pub use error::{AuthError, KeyError, SignError};
pub use keys::{GroupKey, SigningKey, VerifyingKey};
pub use replay::ReplayWindow;
pub use signer::Signer;
pub use verifier::{Checked, Verifier, VerifierConfig};

/// The ASID used unless both ends agree on another (RFC 6584 §2: the mapping of ASID to scheme
/// is agreed out of band, per session).
pub const DEFAULT_ASID: u8 = 1;

#[cfg(test)]
mod tests;
