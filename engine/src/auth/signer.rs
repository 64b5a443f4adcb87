//! The sender's side of RFC 6584: fills in the EXT_AUTH that a packet's header reserved
//! ([`Signer::ext_len_bytes`] of zeros, written last among the extensions) with the ASID, the
//! next anti-replay Sequence Number, then the signature and/or the group MAC over the whole
//! packet with their own fields zero (§3.3.1, §5.3.1; in the combined scheme the signature
//! first, then the MAC over the packet with the signature in it, §6.3.1).
//!
//! Signing takes `&self` (the Sequence Number is an atomic counter) so that a sender can sign
//! its Close Session packet from a shared reference. An RSASSA-PSS signature is randomised by
//! design: its salt and the blinding of the private-key operation come from the operating
//! system's generator, as `crate::random` does, and a failure of it is a [`SignError`].

use std::sync::atomic::{AtomicU64, Ordering};

use hmac::Mac;
use sha2::{Digest, Sha256};

use super::keys::{GroupKey, SigningKey};
use super::layout::{Layout, Search, find_ext_auth};
use super::{DEFAULT_ASID, KeyError, SignError};
use crate::wire::ExtAuth;

/// Signs the packets of one session (one TSI): one Sequence Number counter.
#[derive(Debug)]
pub struct Signer {
    asid: u8,
    layout: Layout,
    group: Option<GroupKey>,
    rsa: Option<SigningKey>,
    /// The last Sequence Number used; the first packet gets 1 (RFC 6584 §3.3.2).
    last_sequence_number: AtomicU64,
}

impl Signer {
    fn with_keys(group: Option<GroupKey>, rsa: Option<SigningKey>) -> Self {
        Self {
            asid: DEFAULT_ASID,
            layout: Layout {
                anti_replay: true,
                signature_len: rsa.as_ref().map_or(0, SigningKey::signature_len_bytes),
                mac_len: group.as_ref().map_or(0, GroupKey::mac_len_bytes),
            },
            group,
            rsa,
            last_sequence_number: AtomicU64::new(0),
        }
    }

    /// The group-keyed MAC scheme (RFC 6584 §5), with anti-replay.
    pub fn group_mac(key: GroupKey) -> Self {
        Self::with_keys(Some(key), None)
    }

    /// The RSASSA-PSS signature scheme with SHA-256 (RFC 6584 §3), with anti-replay.
    pub fn rsa_pss(key: SigningKey) -> Self {
        Self::with_keys(None, Some(key))
    }

    /// Signature and group MAC (RFC 6584 §6): receivers check the cheap MAC first. Anti-replay
    /// is required. The MAC is whatever length `group` has; the RFC's default is 32 bits
    /// (`GroupKey::with_mac_bits(32)`).
    pub fn combined(key: SigningKey, group: GroupKey) -> Self {
        Self::with_keys(Some(group), Some(key))
    }

    /// Uses ASID `asid` (4 bits) instead of [`DEFAULT_ASID`].
    pub fn with_asid(mut self, asid: u8) -> Result<Self, KeyError> {
        if asid > ExtAuth::ASID_MAX {
            return Err(KeyError::Asid(asid));
        }
        self.asid = asid;
        Ok(self)
    }

    /// Turns anti-replay (AR, the Sequence Number) on or off; on by default, as RFC 6584 §7.2
    /// recommends, and required by the combined scheme.
    pub fn with_anti_replay(mut self, anti_replay: bool) -> Result<Self, KeyError> {
        if !anti_replay && self.group.is_some() && self.rsa.is_some() {
            return Err(KeyError::CombinedNeedsAntiReplay);
        }
        self.layout.anti_replay = anti_replay;
        Ok(self)
    }

    /// Bytes of EXT_AUTH each packet's header must reserve.
    pub fn ext_len_bytes(&self) -> usize {
        self.layout.ext_len()
    }

    /// The ASID.
    pub fn asid(&self) -> u8 {
        self.asid
    }

    /// Continues after `sequence_number`, as if that many packets had been signed.
    #[cfg(test)]
    pub(crate) fn skip_to(&self, sequence_number: u64) {
        self.last_sequence_number
            .store(sequence_number, Ordering::Relaxed);
    }

    /// Sequence Numbers used so far.
    pub fn packets_signed(&self) -> u64 {
        self.last_sequence_number.load(Ordering::Relaxed)
    }

    /// Fills in the one EXT_AUTH of [`Self::ext_len_bytes`] in `packet` (a whole ALC packet,
    /// whatever the placeholder holds) and authenticates the packet.
    pub fn sign(&self, packet: &mut [u8]) -> Result<(), SignError> {
        let found = match find_ext_auth(packet, None)?.0 {
            Search::One(found) if found.len == self.layout.ext_len() => found,
            _ => return Err(SignError::NoPlaceholder),
        };
        let sequence_number = if self.layout.anti_replay {
            let sn = self
                .last_sequence_number
                .fetch_add(1, Ordering::Relaxed)
                .saturating_add(1);
            if sn > ExtAuth::SEQUENCE_NUMBER_MAX {
                return Err(SignError::SequenceNumbersExhausted);
            }
            Some(sn)
        } else {
            None
        };
        let fields = self.layout.fields_at(found.offset);
        let zeros = [0u8; 0];
        let header = ExtAuth {
            asid: self.asid,
            sequence_number,
            fields: &zeros,
        };
        let ext = packet
            .get_mut(fields.ext.clone())
            .ok_or(SignError::NoPlaceholder)?;
        header.emit(ext)?;
        // The HEL `emit` wrote is that of the header alone: the fields follow it.
        if let Some(hel) = ext.get_mut(1) {
            *hel = (self.layout.ext_len() / 4) as u8;
        }
        ext.get_mut(ExtAuth::fields_offset(self.layout.anti_replay)..)
            .unwrap_or_default()
            .fill(0);
        if let Some(key) = &self.rsa {
            let hash = Sha256::digest(&*packet);
            let signature = key
                .key()
                .pss_sign_prehash::<Sha256>(&hash)
                .map_err(|e| SignError::Rsa(e.to_string()))?;
            let start = fields.signature_field.start;
            packet
                .get_mut(start..start + signature.len())
                .ok_or(SignError::NoPlaceholder)?
                .copy_from_slice(&signature);
        }
        if let Some(group) = &self.group {
            let mut mac = group.mac().clone();
            mac.update(packet);
            let tag = mac.finalize().into_bytes();
            let out = packet
                .get_mut(fields.mac.clone())
                .ok_or(SignError::NoPlaceholder)?;
            out.copy_from_slice(tag.get(..out.len()).ok_or(SignError::NoPlaceholder)?);
        }
        Ok(())
    }
}
