//! FDT publishing (RFC 6726 §3.2, §3.4): each published FDT Instance gets the next 20-bit FDT
//! Instance ID (wrapping from 2^20 - 1 to 0), is serialised in the configured XML profile,
//! content-encoded if asked (announced by EXT_CENC), and sent as TOI 0 with EXT_FDT, EXT_FTI and
//! optionally EXT_TIME. The latest instance is repeated in its own carousel, and republished
//! before it expires.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::SenderError;
use super::config::CarouselRepeatMode;
use super::encoder::{one_no_code_block, resolve_source_blocks};
use super::transfer::{HeaderSpec, Transfer, TransferParams, TransferSource, Written};
use crate::cenc::{self, Cenc};
use crate::fdt::{FdtInstance, FdtXmlProfile, OtiPlacement};
use crate::fec::{BlockPartition, Scheme};
use crate::wire::{ExtCenc, ExtFdt, FecEncodingId, LctRepr, LctWidths, Oti, SchemeSpecific};

/// FDT Instance IDs are 20 bits (RFC 6726 §3.4.1).
pub(crate) const FDT_INSTANCE_ID_MASK: u32 = 0xF_FFFF;

/// Expires as NTP seconds: `now` plus `duration`, rounded up to the next whole second so that an
/// instance is never announced for less than its validity (a 1 s validity would otherwise
/// expire at once for receivers when published late in a second).
pub(crate) fn expires_ntp(now: SystemTime, duration: Duration) -> u32 {
    let unix = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_add(duration);
    let secs = unix.as_secs() + u64::from(unix.subsec_nanos() > 0);
    crate::fdt::ntp::ntp_secs_from_unix_secs(secs)
}

/// How long after publishing an instance a fresh one is published, so that receivers never
/// hold an expired one: a margin of 5 s, or half the validity when that is shorter, for the
/// fresh instance to reach receivers behind the one being sent.
fn refresh_after(validity: Duration) -> Duration {
    validity - (validity / 2).min(Duration::from_secs(5))
}

/// An encoded FDT Instance and its ID.
#[derive(Debug, Clone)]
struct Instance {
    id: u32,
    bytes: Arc<Vec<u8>>,
}

/// What the FDT packets need from the session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FdtParams {
    pub(crate) tsi: u64,
    pub(crate) oti: Oti,
    pub(crate) flute_version: u8,
    pub(crate) cenc: Cenc,
    pub(crate) inband_sct: bool,
    pub(crate) carousel: CarouselRepeatMode,
    pub(crate) validity: Duration,
    pub(crate) profile: FdtXmlProfile,
    pub(crate) oti_placement: OtiPlacement,
    /// A No-Code FDT goes in one source block (see `Config::no_code_one_block`).
    pub(crate) one_block: bool,
    pub(crate) interleave_blocks: u32,
    pub(crate) lct_widths: LctWidths,
    /// Bytes of EXT_AUTH each packet reserves (0: none).
    pub(crate) auth_len: usize,
}

/// The FDT carousel of one session.
pub(crate) struct FdtCarousel {
    params: FdtParams,
    next_id: u32,
    current: Option<Instance>,
    pending: Option<Instance>,
    transfer: Option<Transfer>,
    last_start: Option<SystemTime>,
    last_end: Option<SystemTime>,
    published_at: Option<SystemTime>,
}

impl FdtCarousel {
    pub(crate) fn new(params: FdtParams, start_id: u32) -> Self {
        Self {
            params,
            next_id: start_id & FDT_INSTANCE_ID_MASK,
            current: None,
            pending: None,
            transfer: None,
            last_start: None,
            last_end: None,
            published_at: None,
        }
    }

    /// Serialises and queues `instance`; it goes out once the instance being sent, if any, is
    /// done. Returns its FDT Instance ID.
    pub(crate) fn publish(
        &mut self,
        instance: &FdtInstance,
        now: SystemTime,
    ) -> Result<u32, SenderError> {
        let xml = instance.to_xml_with(self.params.profile, self.params.oti_placement);
        let bytes = match self.params.cenc {
            Cenc::Null => xml,
            cenc => cenc::encode(cenc, &xml)?,
        };
        let id = self.next_id;
        self.next_id = (id + 1) & FDT_INSTANCE_ID_MASK;
        self.pending = Some(Instance {
            id,
            bytes: Arc::new(bytes),
        });
        self.published_at = Some(now);
        Ok(id)
    }

    /// True before the first instance, and when the current one is about to expire.
    pub(crate) fn needs_publish(&self, now: SystemTime) -> bool {
        match self.published_at {
            None => true,
            Some(at) => {
                self.pending.is_none()
                    && at
                        .checked_add(refresh_after(self.params.validity))
                        .is_none_or(|due| now >= due)
            }
        }
    }

    /// An instance waits to be sent.
    pub(crate) fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// When the current instance is due again, by its carousel.
    fn carousel_due(&self) -> Option<SystemTime> {
        self.current.as_ref()?;
        match self.params.carousel {
            CarouselRepeatMode::DelayBetweenTransfers(d) => match self.last_end {
                Some(end) => end.checked_add(d),
                None => Some(SystemTime::UNIX_EPOCH),
            },
            CarouselRepeatMode::IntervalBetweenStartTimes(i) => match self.last_start {
                Some(start) => start.checked_add(i),
                None => Some(SystemTime::UNIX_EPOCH),
            },
        }
    }

    /// The earliest time an FDT packet is due (at or before "now" when one is due now).
    pub(crate) fn next_due(&self) -> Option<SystemTime> {
        if self.transfer.is_some() || self.pending.is_some() || self.published_at.is_none() {
            return Some(SystemTime::UNIX_EPOCH);
        }
        let republish = self
            .published_at
            .and_then(|at| at.checked_add(refresh_after(self.params.validity)));
        [self.carousel_due(), republish].into_iter().flatten().min()
    }

    fn start(&mut self, instance: &Instance, now: SystemTime) -> Result<(), SenderError> {
        let p = &self.params;
        let mut oti = fdt_oti(p.oti, instance.bytes.len() as u64);
        if p.one_block {
            one_no_code_block(&mut oti);
        }
        resolve_source_blocks(&mut oti)?;
        let spec = HeaderSpec {
            lct: LctRepr::with_widths(p.lct_widths, 0, p.tsi, Some(0), oti.fec_encoding_id.into())?,
            fdt: Some(ExtFdt {
                flute_version: p.flute_version,
                fdt_instance_id: instance.id,
            }),
            cenc: (p.cenc != Cenc::Null).then_some(ExtCenc {
                content_encoding: p.cenc.code(),
            }),
            sct: p.inband_sct,
            fti: true,
            auth_len: p.auth_len,
        };
        let transfer = Transfer::new(
            TransferParams {
                toi: 0,
                oti,
                spec,
                interleave_blocks: p.interleave_blocks,
                closable: false,
                pacing: None,
            },
            TransferSource::Bytes(instance.bytes.clone()),
            now,
        )?;
        self.transfer = Some(transfer);
        self.last_start = Some(now);
        Ok(())
    }

    /// Writes the next FDT packet if one is due: the rest of the instance being sent, else a
    /// newly published instance, else the current one when its carousel says so.
    pub(crate) fn write(
        &mut self,
        buf: &mut [u8],
        now: SystemTime,
    ) -> Result<Option<usize>, SenderError> {
        if self.transfer.is_none() {
            if let Some(instance) = self.pending.take() {
                self.start(&instance, now)?;
                self.current = Some(instance);
            } else if self.carousel_due().is_some_and(|due| due <= now) {
                if let Some(instance) = self.current.clone() {
                    self.start(&instance, now)?;
                }
            } else {
                return Ok(None);
            }
        }
        let Some(transfer) = self.transfer.as_mut() else {
            return Ok(None);
        };
        match transfer.write(buf, now)? {
            Written::Packet { len, last } => {
                if last {
                    self.transfer = None;
                    self.last_end = Some(now);
                }
                Ok(Some(len))
            }
            Written::NotYet(_) => Ok(None),
        }
    }

    /// Reserves `len` bytes of EXT_AUTH in the packets of the instances sent from now on.
    pub(crate) fn set_auth_len(&mut self, len: usize) {
        self.params.auth_len = len;
    }

    /// The longest FDT packet.
    pub(crate) fn max_packet_len(&self) -> usize {
        self.transfer.as_ref().map_or(0, Transfer::max_packet_len)
    }
}

/// The OTI an FDT instance of `len` bytes goes out with: the session's, unless its scheme cannot
/// code the instance's blocks (Raptor needs K >= 4 source symbols per block, RFC 5053
/// §5.1.2.2, and a small FDT has fewer), in which case the FDT goes with no-code FEC (ID 0) and
/// the same symbol and block lengths. The blocks are cut as flute cuts an FDT's (RFC 5052 §9.1
/// with the session's B). The FDT's packets carry their own EXT_FTI and codepoint, so receivers
/// (flute's among them) take it either way.
pub(crate) fn fdt_oti(session: Oti, len: u64) -> Oti {
    let mut oti = session;
    oti.transfer_length = len;
    if session.fec_encoding_id != FecEncodingId::NoCode {
        let codable = Scheme::for_oti(&session).is_ok_and(|scheme| {
            BlockPartition::rfc5052(
                len,
                u32::from(session.encoding_symbol_length),
                session.maximum_source_block_length,
            )
            .is_ok_and(|p| p.nb_blocks() > 0 && scheme.check_blocks(&p).is_ok())
        });
        if !codable {
            oti.fec_encoding_id = FecEncodingId::NoCode;
            oti.fec_instance_id = 0;
            oti.max_number_of_encoding_symbols = oti.maximum_source_block_length;
            oti.scheme_specific = SchemeSpecific::None;
        }
    }
    oti
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_keeps_a_margin_before_expiry() {
        assert_eq!(
            refresh_after(Duration::from_secs(3600)),
            Duration::from_secs(3595)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(20)),
            Duration::from_secs(15)
        );
        // Short validities (serve's `fdt_expires` may be a few seconds) keep half of theirs.
        assert_eq!(
            refresh_after(Duration::from_secs(5)),
            Duration::from_millis(2500)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(1)),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn expires_is_ntp_seconds_of_now_plus_validity() {
        // 2024-01-01T00:00:00Z is NTP 3913056000.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_067_200);
        assert_eq!(
            expires_ntp(now, Duration::from_secs(60)),
            3_913_056_000 + 60
        );
        // Never shorter than the validity: a fraction of a second rounds up.
        assert_eq!(
            expires_ntp(now + Duration::from_millis(700), Duration::from_secs(1)),
            3_913_056_000 + 2
        );
    }
}
