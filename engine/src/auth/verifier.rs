//! The receiver's side of RFC 6584: per packet, find the one EXT_AUTH with the session's ASID,
//! check its layout, check its Sequence Number against the session's window (no cryptography
//! for a replay), then the group MAC (constant-time comparison) and/or the signature, with
//! their fields taken as zero, and only then move the window (§3.3.2, §5.3, §6.3.1).
//!
//! Nothing is copied: the MAC and the hash read the packet in place and are fed zeros for the
//! fields. A session is (endpoint, TSI), as the receiver's; windows outlive the receiver's
//! sessions, so that a session replayed whole after it ended is still refused, and their number
//! is bounded: past [`VerifierConfig::max_windows`], the window idle longest is forgotten.

use hmac::Mac;
use sha2::{Digest, Sha256};

use super::keys::{GroupKey, VerifyingKey};
use super::layout::{Layout, Search, find_ext_auth};
use super::replay::ReplayWindow;
use super::{AuthError, DEFAULT_ASID, KeyError};
use crate::endpoint::UdpEndpoint;
use crate::wire::ExtAuth;

/// Zeros fed to the MAC and the hash in place of the authentication fields.
static ZEROS: [u8; ExtAuth::MAX_LEN_BYTES] = [0; ExtAuth::MAX_LEN_BYTES];

/// What a receiver accepts: the scheme, its keys and parameters. Shared by every receiver
/// (worker) of a process; each [`Verifier`] keeps its own windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierConfig {
    asid: u8,
    layout: Layout,
    group: Option<GroupKey>,
    rsa: Option<VerifyingKey>,
    max_windows: usize,
}

impl VerifierConfig {
    /// Windows kept unless set: one per session seen, well above the receiver's default
    /// session limit, at about 150 bytes each.
    pub const DEFAULT_MAX_WINDOWS: usize = 4096;

    fn with_keys(group: Option<GroupKey>, rsa: Option<VerifyingKey>) -> Self {
        Self {
            asid: DEFAULT_ASID,
            layout: Layout {
                anti_replay: true,
                signature_len: rsa.as_ref().map_or(0, VerifyingKey::signature_len_bytes),
                mac_len: group.as_ref().map_or(0, GroupKey::mac_len_bytes),
            },
            group,
            rsa,
            max_windows: Self::DEFAULT_MAX_WINDOWS,
        }
    }

    /// The group-keyed MAC scheme (RFC 6584 §5), with anti-replay.
    pub fn group_mac(key: GroupKey) -> Self {
        Self::with_keys(Some(key), None)
    }

    /// The RSASSA-PSS signature scheme with SHA-256 (RFC 6584 §3), with anti-replay.
    pub fn rsa_pss(key: VerifyingKey) -> Self {
        Self::with_keys(None, Some(key))
    }

    /// Signature and group MAC (RFC 6584 §6), MAC checked first; anti-replay required.
    pub fn combined(key: VerifyingKey, group: GroupKey) -> Self {
        Self::with_keys(Some(group), Some(key))
    }

    /// Accepts ASID `asid` (4 bits) instead of [`DEFAULT_ASID`].
    pub fn with_asid(mut self, asid: u8) -> Result<Self, KeyError> {
        if asid > ExtAuth::ASID_MAX {
            return Err(KeyError::Asid(asid));
        }
        self.asid = asid;
        Ok(self)
    }

    /// Requires anti-replay (the default) or refuses it: packets whose AR flag differs are
    /// dropped as badly authenticated (RFC 6584 §3.4).
    pub fn with_anti_replay(mut self, anti_replay: bool) -> Result<Self, KeyError> {
        if !anti_replay && self.group.is_some() && self.rsa.is_some() {
            return Err(KeyError::CombinedNeedsAntiReplay);
        }
        self.layout.anti_replay = anti_replay;
        Ok(self)
    }

    /// Keeps at most `n` sessions' windows (at least 1).
    pub fn with_max_windows(mut self, n: usize) -> Self {
        self.max_windows = n.max(1);
        self
    }

    /// Sessions whose windows are kept at most.
    pub fn max_windows(&self) -> usize {
        self.max_windows
    }

    /// The ASID.
    pub fn asid(&self) -> u8 {
        self.asid
    }

    /// Bytes of EXT_AUTH in each accepted packet.
    pub fn ext_len_bytes(&self) -> usize {
        self.layout.ext_len()
    }

    /// Moves the configuration to the heap for the rest of the process, as
    /// [`crate::receiver::Config::auth`] (a `Copy` configuration) refers to it.
    pub fn leak(self) -> &'static Self {
        Box::leak(Box::new(self))
    }
}

/// What [`VerifierConfig::check`] found in one packet, for [`Verifier::admit`]: its session
/// and Sequence Number, and whether its MAC and signature verified. It needs no window, so
/// packets can be checked on other threads than the receiver's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    found: Result<Found, AuthError>,
    crypto: Result<(), AuthError>,
}

/// The EXT_AUTH of a packet, its layout checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Found {
    tsi: u64,
    sequence_number: Option<u64>,
    offset: usize,
}

impl VerifierConfig {
    /// Checks what of `packet` needs no session state: one EXT_AUTH of the scheme's layout, its
    /// MAC and its signature. The same packet then goes to [`Verifier::admit`], which checks
    /// the Sequence Number against its session's window.
    pub fn check(&self, packet: &[u8]) -> Checked {
        match self.parse(packet) {
            Ok(found) => Checked {
                found: Ok(found),
                crypto: self.crypto(packet, &found),
            },
            Err(e) => Checked {
                found: Err(e),
                crypto: Err(e),
            },
        }
    }

    fn parse(&self, packet: &[u8]) -> Result<Found, AuthError> {
        let asid = self.asid;
        let (search, tsi) = find_ext_auth(packet, Some(asid)).map_err(AuthError::Malformed)?;
        let found = match search {
            Search::One(found) => found,
            Search::None => return Err(AuthError::Missing { asid }),
            Search::Several => return Err(AuthError::Duplicate { asid }),
        };
        let layout = self.layout;
        let bad_layout = AuthError::BadLayout {
            len_bytes: found.len,
        };
        if found.len != layout.ext_len() {
            return Err(bad_layout);
        }
        let fields = layout.fields_at(found.offset);
        let ext = packet
            .get(fields.ext.clone())
            .and_then(|raw| ExtAuth::parse(raw).ok())
            .ok_or(bad_layout)?;
        if ext.sequence_number.is_some() != layout.anti_replay {
            return Err(bad_layout);
        }
        if ext.sequence_number == Some(0) {
            return Err(AuthError::ZeroSequenceNumber);
        }
        Ok(Found {
            tsi,
            sequence_number: ext.sequence_number,
            offset: found.offset,
        })
    }

    fn crypto(&self, packet: &[u8], found: &Found) -> Result<(), AuthError> {
        let layout = self.layout;
        let fields = layout.fields_at(found.offset);
        let bad_layout = AuthError::BadLayout {
            len_bytes: layout.ext_len(),
        };
        let before = packet.get(..fields.signature_field.start);
        let after = packet.get(fields.mac.end..);
        let (Some(before), Some(after)) = (before, after) else {
            return Err(bad_layout);
        };
        if let Some(group) = &self.group {
            // With a signature (combined scheme) the MAC covers it: only the MAC is zero.
            let signature = packet
                .get(fields.signature_field.clone())
                .unwrap_or_default();
            let mut mac = group.mac().clone();
            mac.update(before);
            mac.update(signature);
            mac.update(ZEROS.get(..layout.mac_len).unwrap_or_default());
            mac.update(after);
            let tag = packet.get(fields.mac.clone()).unwrap_or_default();
            mac.verify_truncated_left(tag)
                .map_err(|_| AuthError::BadMac)?;
        }
        if let Some(key) = &self.rsa {
            let field = packet
                .get(fields.signature_field.clone())
                .unwrap_or_default();
            let (signature, padding) = field.split_at(layout.signature_len.min(field.len()));
            if padding.iter().any(|&b| b != 0) {
                return Err(bad_layout);
            }
            let mut hash = Sha256::new();
            hash.update(before);
            hash.update(
                ZEROS
                    .get(..layout.signature_field_len() + layout.mac_len)
                    .unwrap_or_default(),
            );
            hash.update(after);
            key.key()
                .pss_verify_prehash::<Sha256>(&hash.finalize(), signature)
                .map_err(|_| AuthError::BadSignature)?;
        }
        Ok(())
    }
}

/// One session's window, with when it was last used.
#[derive(Debug, Clone)]
struct Entry {
    window: ReplayWindow,
    last_used: u64,
}

/// Verifies packets for one receiver: the configuration and the sessions' anti-replay windows.
#[derive(Debug, Clone)]
pub struct Verifier {
    config: VerifierConfig,
    windows: std::collections::HashMap<(UdpEndpoint, u64), Entry, foldhash::fast::RandomState>,
    /// Packets verified, as the windows' clock.
    verified: u64,
}

impl Verifier {
    /// A verifier with no window yet.
    pub fn new(config: VerifierConfig) -> Self {
        Self {
            config,
            windows: Default::default(),
            verified: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &VerifierConfig {
        &self.config
    }

    /// Sessions with a window.
    pub fn nb_windows(&self) -> usize {
        self.windows.len()
    }

    /// Checks `packet` (a whole ALC packet) that arrived on `endpoint`: `Ok` when it carries one
    /// EXT_AUTH of the configured scheme that verifies and, with anti-replay, a Sequence Number
    /// not seen before in its session (which is then recorded).
    pub fn verify(&mut self, endpoint: &UdpEndpoint, packet: &[u8]) -> Result<(), AuthError> {
        let found = self.config.parse(packet)?;
        // The window first: a replay costs no cryptography.
        self.check_window(endpoint, &found)?;
        self.config.crypto(packet, &found)?;
        self.record_found(endpoint, &found);
        Ok(())
    }

    /// Takes a packet [`VerifierConfig::check`] checked (on any thread): `Ok` when it verified
    /// and its Sequence Number is new in its session (then recorded), as [`Self::verify`] of
    /// the same packet would say.
    pub fn admit(&mut self, endpoint: &UdpEndpoint, checked: &Checked) -> Result<(), AuthError> {
        let found = checked.found?;
        self.check_window(endpoint, &found)?;
        checked.crypto?;
        self.record_found(endpoint, &found);
        Ok(())
    }

    fn check_window(&self, endpoint: &UdpEndpoint, found: &Found) -> Result<(), AuthError> {
        if let Some(sn) = found.sequence_number
            && self
                .windows
                .get(&(*endpoint, found.tsi))
                .is_some_and(|e| !e.window.check(sn))
        {
            return Err(AuthError::Replayed {
                sequence_number: sn,
            });
        }
        Ok(())
    }

    fn record_found(&mut self, endpoint: &UdpEndpoint, found: &Found) {
        if let Some(sn) = found.sequence_number {
            self.record((*endpoint, found.tsi), sn);
        }
    }

    fn record(&mut self, key: (UdpEndpoint, u64), sequence_number: u64) {
        self.verified += 1;
        let now = self.verified;
        if !self.windows.contains_key(&key) && self.windows.len() >= self.config.max_windows {
            // Forget the window idle longest: only packets that verified make windows, so
            // this takes a key holder opening more sessions than the bound.
            if let Some(oldest) = self
                .windows
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| *k)
            {
                self.windows.remove(&oldest);
            }
        }
        let entry = self.windows.entry(key).or_insert_with(|| Entry {
            window: ReplayWindow::default(),
            last_used: now,
        });
        entry.window.update(sequence_number);
        entry.last_used = now;
    }
}
