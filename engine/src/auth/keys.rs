//! The keys of RFC 6584's schemes: the group key of the group-keyed MAC (§5), and the RSA key
//! pair of the signature scheme (§3), with the parameters that go with them.
//!
//! File formats, as `xflute send/recv --auth-*` read them:
//! - a group key file holds the key itself: if its content, trailing whitespace removed, is
//!   an even number of hex digits it is read as hex (`openssl rand -hex 32 > group.key`),
//!   otherwise its bytes are the key (`head -c 32 /dev/urandom > group.key`); at least 16 bytes,
//!   32 recommended for HMAC-SHA-256;
//! - a signing key is an RSA private key in PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, as
//!   `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048` writes it), a verifying
//!   key the matching public key in SPKI PEM (`-----BEGIN PUBLIC KEY-----`, `openssl pkey
//!   -pubout`).

use std::path::Path;

use hmac::{Hmac, KeyInit};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey, PublicKey};
use sha2::{Digest, Sha256};

use super::KeyError;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The shared key of the group-keyed MAC scheme (RFC 6584 §5), keyed once: each packet's MAC
/// starts from a copy of the keyed state. Its `Debug` shows a fingerprint, never the key.
#[derive(Clone)]
pub struct GroupKey {
    mac: HmacSha256,
    /// SHA-256 of the key: tells keys apart (equality, logs) without keeping them.
    fingerprint: [u8; 32],
    mac_len_bytes: usize,
}

impl GroupKey {
    /// Shortest key accepted: 128 bits.
    pub const MIN_LEN_BYTES: usize = 16;
    /// n_m, the truncated MAC length used unless set: 128 bits, half of HMAC-SHA-256's output,
    /// the least RFC 2104 §5 advises (RFC 6584 §5.3.1).
    pub const DEFAULT_MAC_BITS: u32 = 128;

    /// A group key of `key`'s bytes, at least [`Self::MIN_LEN_BYTES`].
    pub fn new(key: &[u8]) -> Result<Self, KeyError> {
        if key.len() < Self::MIN_LEN_BYTES {
            return Err(KeyError::GroupKeyTooShort {
                len_bytes: key.len(),
                min: Self::MIN_LEN_BYTES,
            });
        }
        let mac = <HmacSha256 as KeyInit>::new_from_slice(key).map_err(|_| {
            KeyError::GroupKeyTooShort {
                len_bytes: key.len(),
                min: Self::MIN_LEN_BYTES,
            }
        })?;
        Ok(Self {
            mac,
            fingerprint: Sha256::digest(key).into(),
            mac_len_bytes: (Self::DEFAULT_MAC_BITS / 8) as usize,
        })
    }

    /// A group key from a key file's content: hex when it is nothing but an even number of hex
    /// digits (trailing whitespace aside), else the raw bytes.
    pub fn from_file_contents(contents: &[u8]) -> Result<Self, KeyError> {
        let text = contents.trim_ascii_end();
        match decode_hex(text) {
            Some(key) => Self::new(&key),
            None => Self::new(contents),
        }
    }

    /// Reads a key file (see [`Self::from_file_contents`]).
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let contents = std::fs::read(path).map_err(|source| KeyError::Io {
            path: path.into(),
            source,
        })?;
        Self::from_file_contents(&contents)
    }

    /// Truncates the MAC to its `bits` leftmost bits (n_m): a multiple of 32 from 32 to 256
    /// (the field is whole words). Below 128 it is weak on its own; the combined scheme uses 32.
    pub fn with_mac_bits(mut self, bits: u32) -> Result<Self, KeyError> {
        if !(32..=256).contains(&bits) || !bits.is_multiple_of(32) {
            return Err(KeyError::MacBits(bits));
        }
        self.mac_len_bytes = (bits / 8) as usize;
        Ok(self)
    }

    /// The truncated MAC length, bytes.
    pub fn mac_len_bytes(&self) -> usize {
        self.mac_len_bytes
    }

    /// The keyed HMAC state, to clone per packet.
    pub(crate) fn mac(&self) -> &HmacSha256 {
        &self.mac
    }

    /// The first bytes of the key's SHA-256, in hex: names the key in logs.
    pub fn fingerprint(&self) -> String {
        hex(self.fingerprint.get(..8).unwrap_or_default())
    }
}

impl PartialEq for GroupKey {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint && self.mac_len_bytes == other.mac_len_bytes
    }
}

impl Eq for GroupKey {}

impl std::fmt::Debug for GroupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupKey")
            .field("fingerprint", &self.fingerprint())
            .field("mac_len_bytes", &self.mac_len_bytes)
            .finish()
    }
}

/// Accepted RSA moduli, bits.
const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=4096;

fn check_rsa_size(bits: usize) -> Result<(), KeyError> {
    if RSA_BITS.contains(&bits) {
        Ok(())
    } else {
        Err(KeyError::RsaKeySize(bits))
    }
}

fn read_pem(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.into(),
        source,
    })
}

/// The sender's RSA private key for RSASSA-PSS with SHA-256 (RFC 6584 §3). Its `Debug` shows
/// only the modulus length.
#[derive(Clone)]
pub struct SigningKey {
    key: PrivateKey,
}

impl SigningKey {
    /// Decodes a PKCS#8 PEM RSA private key of 2048 to 4096 bits.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        let key = PrivateKey::from_pkcs8_pem(pem).map_err(|e| KeyError::Pem {
            what: "not an RSA private key in PKCS#8 PEM",
            reason: e.to_string(),
        })?;
        check_rsa_size(key.n().bit_width() as usize)?;
        Ok(Self { key })
    }

    /// Reads a PKCS#8 PEM file.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        Self::from_pkcs8_pem(&read_pem(path)?)
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey {
            key: self.key.to_public_key(),
        }
    }

    /// The signature's length, bytes: the modulus's.
    pub fn signature_len_bytes(&self) -> usize {
        self.key.size()
    }

    pub(crate) fn key(&self) -> &PrivateKey {
        &self.key
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("bits", &self.key.n().bit_width())
            .finish_non_exhaustive()
    }
}

/// The receivers' RSA public key for RSASSA-PSS with SHA-256 (RFC 6584 §3).
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    key: PublicKey,
}

impl VerifyingKey {
    /// Decodes an SPKI PEM RSA public key of 2048 to 4096 bits.
    pub fn from_public_key_pem(pem: &str) -> Result<Self, KeyError> {
        let key = PublicKey::from_public_key_pem(pem).map_err(|e| KeyError::Pem {
            what: "not an RSA public key in SPKI PEM",
            reason: e.to_string(),
        })?;
        check_rsa_size(key.n().bit_width() as usize)?;
        Ok(Self { key })
    }

    /// Reads an SPKI PEM file.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        Self::from_public_key_pem(&read_pem(path)?)
    }

    /// The signature's length, bytes: the modulus's.
    pub fn signature_len_bytes(&self) -> usize {
        self.key.size()
    }

    pub(crate) fn key(&self) -> &PublicKey {
        &self.key
    }
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("bits", &self.key.n().bit_width())
            .finish_non_exhaustive()
    }
}

/// `text` as hex, if it is an even, non-zero number of hex digits and nothing else.
fn decode_hex(text: &[u8]) -> Option<Vec<u8>> {
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks_exact(2)
        .map(|pair| {
            let digit = |c: u8| char::from(c).to_digit(16);
            Some((digit(*pair.first()?)? * 16 + digit(*pair.get(1)?)?) as u8)
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_key_file_is_hex_or_raw() {
        let hex_file = b"000102030405060708090a0b0c0d0e0f\n";
        let raw: Vec<u8> = (0u8..16).collect();
        assert_eq!(
            GroupKey::from_file_contents(hex_file).unwrap(),
            GroupKey::new(&raw).unwrap()
        );
        // Upper case too.
        assert_eq!(
            GroupKey::from_file_contents(b"000102030405060708090A0B0C0D0E0F").unwrap(),
            GroupKey::new(&raw).unwrap()
        );
        // Not hex (odd length, or a non-digit): the bytes themselves, newline included.
        let odd = b"0123456789abcdef0\n";
        assert_eq!(
            GroupKey::from_file_contents(odd).unwrap(),
            GroupKey::new(odd).unwrap()
        );
        let binary = [0xFFu8; 20];
        assert_eq!(
            GroupKey::from_file_contents(&binary).unwrap(),
            GroupKey::new(&binary).unwrap()
        );
    }

    #[test]
    fn short_group_keys_and_odd_mac_lengths_are_refused() {
        assert!(matches!(
            GroupKey::new(&[1; 15]),
            Err(KeyError::GroupKeyTooShort { len_bytes: 15, .. })
        ));
        // 30 hex digits are 15 bytes.
        assert!(GroupKey::from_file_contents(&[b'a'; 30]).is_err());
        let key = GroupKey::new(&[7; 32]).unwrap();
        for bits in [0, 16, 48, 100, 288] {
            assert!(matches!(
                key.clone().with_mac_bits(bits),
                Err(KeyError::MacBits(_))
            ));
        }
        assert_eq!(key.with_mac_bits(32).unwrap().mac_len_bytes(), 4);
    }

    #[test]
    fn debug_never_shows_the_group_key() {
        let key = GroupKey::new(b"secret-secret-secret-secret!").unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert_eq!(key.fingerprint().len(), 16);
    }

    #[test]
    fn rsa_keys_load_from_pem_and_match() {
        let signing = SigningKey::from_pkcs8_pem(include_str!("testdata/sign-2048.pem")).unwrap();
        let verifying =
            VerifyingKey::from_public_key_pem(include_str!("testdata/verify-2048.pem")).unwrap();
        assert_eq!(signing.verifying_key(), verifying);
        assert_eq!(signing.signature_len_bytes(), 256);
        assert!(format!("{signing:?}").contains("2048"));
        // A public key is not a private key, and the reverse.
        assert!(SigningKey::from_pkcs8_pem(include_str!("testdata/verify-2048.pem")).is_err());
        assert!(VerifyingKey::from_public_key_pem(include_str!("testdata/sign-2048.pem")).is_err());
    }
}
