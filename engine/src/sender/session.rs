//! The sender state machine (FLUTE RFC 6726 §4 over ALC RFC 5775): objects in priority queues,
//! FDT publishing and carousel, object carousel, target acquisition, Close Object and Close
//! Session. Time is a parameter; packets are written into the caller's buffers.
//!
//! Scheduling, for each packet: the FDT first (an instance being sent goes out whole; a newly
//! published one goes out before any more data), then the priority queues from the highest, and
//! inside a queue its active transfers in turn, one packet each. A lower queue sends only when
//! no higher queue has a packet due.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use super::SenderError;
use super::config::{CarouselRepeatMode, Config, FdtPublishMode, TargetAcquisition};
use super::encoder::{one_no_code_block, resolve_source_blocks};
use super::event::{EventQueue, SenderEvent, StopReason};
use super::fdt::{FdtCarousel, FdtParams, expires_ntp};
use super::object::{CachePolicy, ObjectDesc, ObjectSource, ObjectStream, TransferConfig};
use super::toi::ToiAllocator;
use super::transfer::{
    HeaderSpec, Transfer, TransferParams, TransferSource, Written, check_object_fits,
};
use crate::auth::Signer;
use crate::cenc::Cenc;
use crate::endpoint::UdpEndpoint;
use crate::fdt::{self, FdtInstance, FecOtiAttributes, File};
use crate::fec::Scheme;
use crate::wire::{AlcRepr, ExtAuth, ExtCenc, ExtRepr, FecEncodingId, LctRepr, Oti, TSI_MAX};

/// Longest LCT header with extensions plus the longest FEC Payload ID.
const MAX_OVERHEAD_LEN: usize = 96 + 8;

/// One object of the session.
struct ObjectEntry {
    queue: usize,
    file: File,
    cache_control: Option<CachePolicy>,
    oti: Oti,
    oti_overridden: bool,
    source: ObjectSource,
    config: TransferConfig,
    published: bool,
    transferring: bool,
    /// Transfers in the current carousel round.
    transfer_count: u32,
    total_transfers: u64,
    last_start: Option<SystemTime>,
    last_end: Option<SystemTime>,
}

/// When a pending object may start.
enum Readiness {
    Now,
    At(SystemTime),
    /// Not until an FDT Instance lists it.
    Unpublished,
}

impl ObjectEntry {
    fn max_transfer_count(&self) -> u32 {
        self.config.max_transfer_count.max(1)
    }

    fn readiness(&self, mode: FdtPublishMode, now: SystemTime) -> Readiness {
        if mode == FdtPublishMode::FullFdt && !self.published {
            return Readiness::Unpublished;
        }
        if let Some(start) = self.config.transfer_start_time
            && now < start
        {
            return Readiness::At(start);
        }
        if self.transfer_count < self.max_transfer_count() {
            return Readiness::Now;
        }
        let due = match self.config.carousel_mode {
            None => None,
            Some(CarouselRepeatMode::DelayBetweenTransfers(d)) => {
                self.last_end.and_then(|end| end.checked_add(d))
            }
            Some(CarouselRepeatMode::IntervalBetweenStartTimes(i)) => {
                self.last_start.and_then(|start| start.checked_add(i))
            }
        };
        match due {
            Some(due) if due > now => Readiness::At(due),
            _ => Readiness::Now,
        }
    }

    fn fdt_file(&self, default_oti: &Oti, now: SystemTime) -> File {
        let mut file = self.file.clone();
        if self.oti_overridden || self.oti.fec_encoding_id != default_oti.fec_encoding_id {
            file.fec_oti = FecOtiAttributes::from_oti(&self.oti);
        }
        file.cache_control = self.cache_control.map(|cc| match cc {
            CachePolicy::NoCache => fdt::CacheControl::NoCache,
            CachePolicy::MaxStale => fdt::CacheControl::MaxStale,
            CachePolicy::Expires(d) => fdt::CacheControl::Expires(expires_ntp(now, d)),
            CachePolicy::ExpiresAt(at) => {
                fdt::CacheControl::Expires(expires_ntp(at, std::time::Duration::ZERO))
            }
        });
        file
    }
}

/// When to look at a queue's pending objects again.
#[derive(Debug, Clone, Copy)]
enum Scan {
    Now,
    At(SystemTime),
    /// Nothing pending can start before something changes (publish, add, a transfer ends).
    Idle,
}

struct Active {
    transfer: Transfer,
    /// The object was removed from the session while being sent.
    removed: bool,
    /// Which transfer of the object this is, from 1 (for its events).
    number: u64,
}

struct Queue {
    priority: u32,
    pending: VecDeque<u128>,
    /// One slot per multiplexed file; a freed slot takes the next object at once, so the
    /// rotation order stays that of the slots.
    active: Vec<Option<Active>>,
    next: usize,
    scan: Scan,
}

/// A FLUTE sender for one session (one TSI on one endpoint).
pub struct Sender {
    endpoint: UdpEndpoint,
    tsi: u64,
    oti: Oti,
    config: Config,
    objects: BTreeMap<u128, ObjectEntry>,
    queues: Vec<Queue>,
    fdt: FdtCarousel,
    tois: ToiAllocator,
    complete: bool,
    max_symbol_len: usize,
    events: EventQueue,
    /// Authenticates every packet written (RFC 6584), when set.
    signer: Option<Signer>,
    /// A packet has been written: too late to set a signer.
    started: bool,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("endpoint", &self.endpoint)
            .field("tsi", &self.tsi)
            .field("nb_objects", &self.objects.len())
            .finish_non_exhaustive()
    }
}

fn oti_template_check(oti: &Oti) -> Result<(), SenderError> {
    let mut oti = *oti;
    resolve_source_blocks(&mut oti)?;
    oti.validate()?;
    Scheme::for_oti(&oti)?.encoder()?;
    if oti.encoding_symbol_length == 0 {
        return Err(SenderError::InvalidConfig("encoding symbol length is 0"));
    }
    if oti.maximum_source_block_length == 0 {
        return Err(SenderError::InvalidConfig(
            "maximum source block length is 0",
        ));
    }
    Ok(())
}

impl Sender {
    /// A sender of session `tsi` on `endpoint`; `oti` is the FEC OTI of the FDT and of every
    /// object that brings none (its Transfer Length is ignored).
    pub fn new(
        endpoint: UdpEndpoint,
        tsi: u64,
        oti: Oti,
        config: Config,
    ) -> Result<Self, SenderError> {
        if tsi > TSI_MAX {
            return Err(SenderError::InvalidConfig(
                "TSI does not fit the 48-bit LCT field",
            ));
        }
        // The template's Transfer Length is ignored: Z is derived per object.
        oti_template_check(&Oti {
            transfer_length: 0,
            ..oti
        })?;
        if config.priority_queues.is_empty() {
            return Err(SenderError::InvalidConfig("no priority queue"));
        }
        let queues = config
            .priority_queues
            .iter()
            .map(|(&priority, q)| Queue {
                priority,
                pending: VecDeque::new(),
                active: std::iter::repeat_with(|| None)
                    .take(q.multiplex_files.max(1) as usize)
                    .collect(),
                next: 0,
                scan: Scan::Now,
            })
            .collect();
        let fdt = FdtCarousel::new(
            FdtParams {
                tsi,
                oti,
                flute_version: config.profile.flute_version(),
                cenc: config.fdt_cenc,
                inband_sct: config.fdt_inband_sct,
                carousel: config.fdt_carousel_mode,
                validity: config.fdt_duration,
                profile: config.fdt_xml_profile,
                oti_placement: config.fdt_oti_placement,
                one_block: config.no_code_one_block,
                interleave_blocks: config.interleave_blocks,
                lct_widths: config.lct_widths,
                auth_len: 0,
            },
            config.fdt_start_id,
        );
        let tois = ToiAllocator::new(config.toi_max_length, config.toi_initial_value);
        let events = EventQueue::new(config.max_events);
        Ok(Self {
            endpoint,
            tsi,
            oti,
            max_symbol_len: usize::from(oti.encoding_symbol_length),
            config,
            objects: BTreeMap::new(),
            queues,
            fdt,
            tois,
            complete: false,
            events,
            signer: None,
            started: false,
        })
    }

    /// Authenticates every packet from now on with `signer` (RFC 6584 EXT_AUTH: group MAC,
    /// RSASSA-PSS signature, or both). Call it before the first packet is written: packets of
    /// transfers already under way could not carry EXT_AUTH.
    pub fn set_signer(&mut self, signer: Signer) -> Result<(), SenderError> {
        if self.started {
            return Err(SenderError::InvalidConfig(
                "a signer must be set before the first packet",
            ));
        }
        self.fdt.set_auth_len(signer.ext_len_bytes());
        self.signer = Some(signer);
        Ok(())
    }

    /// The signer, if packets are authenticated.
    pub fn signer(&self) -> Option<&Signer> {
        self.signer.as_ref()
    }

    /// Bytes of EXT_AUTH in each packet (0 without a signer).
    fn auth_len(&self) -> usize {
        self.signer.as_ref().map_or(0, Signer::ext_len_bytes)
    }

    /// The endpoint of the session.
    pub fn endpoint(&self) -> &UdpEndpoint {
        &self.endpoint
    }

    /// The TSI of the session.
    pub fn tsi(&self) -> u64 {
        self.tsi
    }

    /// Adds an object to queue `priority` and returns its TOI. In [`FdtPublishMode::FullFdt`]
    /// it is sent once an FDT Instance lists it: call [`Sender::publish`].
    pub fn add_object(&mut self, priority: u32, obj: ObjectDesc) -> Result<u128, SenderError> {
        let queue = self
            .queues
            .iter()
            .position(|q| q.priority == priority)
            .ok_or(SenderError::UnknownPriorityQueue(priority))?;
        if self.complete {
            return Err(SenderError::FdtComplete);
        }
        let mut oti = obj.config.oti.unwrap_or(self.oti);
        oti.transfer_length = obj.transfer_length;
        let one_block =
            self.config.no_code_one_block && oti.fec_encoding_id == FecEncodingId::NoCode;
        if one_block {
            one_no_code_block(&mut oti);
        }
        resolve_source_blocks(&mut oti)?;
        oti_template_check(&oti)?;
        check_object_fits(&oti)?;
        let toi = match obj.config.toi {
            Some(toi) => {
                self.tois.reserve(toi)?;
                toi
            }
            None => self.tois.allocate()?,
        };
        let ObjectDesc {
            content_location,
            content_type,
            content_length,
            transfer_length,
            md5,
            config,
            source,
        } = obj;
        let file = File {
            content_location,
            toi,
            content_length: Some(content_length),
            transfer_length: Some(transfer_length),
            content_type: Some(content_type),
            content_encoding: (config.cenc != Cenc::Null).then(|| config.cenc.as_str().into()),
            content_md5: md5,
            groups: config.groups.clone(),
            file_etag: config.e_tag.clone(),
            ..File::default()
        };
        self.max_symbol_len = self
            .max_symbol_len
            .max(usize::from(oti.encoding_symbol_length));
        self.objects.insert(
            toi,
            ObjectEntry {
                queue,
                file,
                cache_control: config.cache_control,
                oti,
                oti_overridden: config.oti.is_some() || one_block,
                source,
                config,
                published: false,
                transferring: false,
                transfer_count: 0,
                total_transfers: 0,
                last_start: None,
                last_end: None,
            },
        );
        if let Some(q) = self.queues.get_mut(queue) {
            q.pending.push_back(toi);
            q.scan = Scan::Now;
        }
        Ok(toi)
    }

    /// Removes an object from the session (the next FDT Instance no longer lists it). An
    /// object being sent stops at once with a Close Object packet if it has been sent in full
    /// at least once (or allows an immediate stop), else after its first transfer. Returns
    /// false if no such object is in the session.
    pub fn remove_object(&mut self, toi: u128) -> bool {
        let Some(entry) = self.objects.remove(&toi) else {
            return false;
        };
        let Some(queue) = self.queues.get_mut(entry.queue) else {
            return true;
        };
        if entry.transferring {
            let stoppable = entry.total_transfers > 0
                || entry.config.allow_immediate_stop_before_first_transfer;
            if let Some(active) = queue
                .active
                .iter_mut()
                .flatten()
                .find(|a| a.transfer.toi() == toi && !a.removed)
            {
                active.removed = true;
                if stoppable {
                    active.transfer.stop_with_close_object();
                }
            }
        } else {
            queue.pending.retain(|&t| t != toi);
            self.tois.release(toi);
        }
        true
    }

    /// Starts the next transfer of a carousel object now, or at `at`, instead of when its
    /// carousel would. Does nothing to an object being sent. Returns false if no such object
    /// is in the session.
    pub fn trigger_transfer_at(&mut self, toi: u128, at: Option<SystemTime>) -> bool {
        let Some(entry) = self.objects.get_mut(&toi) else {
            return false;
        };
        if entry.transferring {
            return true;
        }
        entry.last_start = None;
        entry.last_end = None;
        if at.is_some() {
            entry.config.transfer_start_time = at;
        }
        if let Some(q) = self.queues.get_mut(entry.queue) {
            q.scan = Scan::Now;
        }
        true
    }

    /// The FDT Instance that would be published at `now`, as the XML (before content
    /// encoding) that would be sent.
    pub fn fdt_xml(&self, now: SystemTime) -> Vec<u8> {
        self.fdt_instance(now)
            .to_xml_with(self.config.fdt_xml_profile, self.config.fdt_oti_placement)
    }

    /// True while `toi` is an object of the session.
    pub fn is_added(&self, toi: u128) -> bool {
        self.objects.contains_key(&toi)
    }

    /// Number of objects in the session (an object leaves it after its last transfer).
    pub fn nb_objects(&self) -> usize {
        self.objects.len()
    }

    /// How many times `toi` has been sent in full, or `None` if it is not in the session.
    pub fn nb_transfers(&self, toi: u128) -> Option<u64> {
        self.objects.get(&toi).map(|e| e.total_transfers)
    }

    /// The next transfer event, oldest first (see [`SenderEvent`] for when each fires). At most
    /// [`Config::max_events`] wait; poll after each batch of [`Sender::write_next`] calls.
    pub fn poll_event(&mut self) -> Option<SenderEvent> {
        self.events.pop()
    }

    /// Events dropped because [`Config::max_events`] were already waiting to be polled.
    pub fn events_dropped(&self) -> u64 {
        self.events.dropped()
    }

    /// Declares the FDT complete: no object can be added any more, and the next instances
    /// carry Complete="true" (RFC 6726 §3.4.2). Call [`Sender::publish`] to announce it.
    pub fn set_complete(&mut self) {
        self.complete = true;
    }

    /// The FDT Instance that would be published at `now`.
    pub fn fdt_instance(&self, now: SystemTime) -> FdtInstance {
        let files = self
            .objects
            .values()
            .filter(|e| match self.config.fdt_publish_mode {
                FdtPublishMode::FullFdt => true,
                FdtPublishMode::ObjectsBeingTransferred => e.transferring,
            })
            .map(|e| e.fdt_file(&self.oti, now))
            .collect();
        FdtInstance {
            expires: expires_ntp(now, self.config.fdt_duration),
            complete: self.complete.then_some(true),
            fec_oti: FecOtiAttributes::from_oti(&self.oti),
            full_fdt: (self.config.fdt_publish_mode == FdtPublishMode::FullFdt).then_some(true),
            files,
            groups: self.config.groups.clone(),
            ..FdtInstance::default()
        }
    }

    /// Publishes a new FDT Instance listing the objects (all of them, or those being sent, by
    /// the publish mode); it goes out before any further data packet. Returns its FDT Instance
    /// ID.
    pub fn publish(&mut self, now: SystemTime) -> Result<u32, SenderError> {
        let instance = self.fdt_instance(now);
        let id = self.fdt.publish(&instance, now)?;
        if self.config.fdt_publish_mode == FdtPublishMode::FullFdt {
            for entry in self.objects.values_mut() {
                entry.published = true;
            }
            for q in &mut self.queues {
                q.scan = Scan::Now;
            }
        }
        Ok(id)
    }

    /// The longest packet [`Sender::write_next`] may write: a buffer this long never fails.
    pub fn max_packet_len(&self) -> usize {
        MAX_OVERHEAD_LEN + self.auth_len() + self.max_symbol_len
    }

    /// Writes the next ALC packet into `buf` and returns its length, or `None` when nothing is
    /// due at `now` (see [`Sender::next_timeout`]). An error is logged and reported as `None`;
    /// [`Sender::try_write_next`] returns it instead. Does not allocate.
    pub fn write_next(&mut self, buf: &mut [u8], now: SystemTime) -> Option<usize> {
        match self.try_write_next(buf, now) {
            Ok(written) => written,
            Err(e) => {
                tracing::warn!(tsi = self.tsi, error = %e, "sender: packet not written");
                None
            }
        }
    }

    /// Like [`Sender::write_next`], with errors. A buffer too small consumes nothing; an
    /// object whose transfer fails (its stream breaks) is dropped from the session.
    pub fn try_write_next(
        &mut self,
        buf: &mut [u8],
        now: SystemTime,
    ) -> Result<Option<usize>, SenderError> {
        self.started = true;
        let written = self.write_unsigned(buf, now)?;
        if let (Some(len), Some(signer)) = (written, &self.signer) {
            signer.sign(buf.get_mut(..len).unwrap_or_default())?;
        }
        Ok(written)
    }

    /// The next packet, its EXT_AUTH (if any) left to fill in.
    fn write_unsigned(
        &mut self,
        buf: &mut [u8],
        now: SystemTime,
    ) -> Result<Option<usize>, SenderError> {
        if self.fdt.needs_publish(now) {
            self.publish(now)?;
        }
        if let Some(len) = self.fdt.write(buf, now)? {
            return Ok(Some(len));
        }
        for qi in 0..self.queues.len() {
            self.start_due_transfers(qi, now)?;
            if self.fdt.has_pending()
                && let Some(len) = self.fdt.write(buf, now)?
            {
                return Ok(Some(len));
            }
            if let Some(len) = self.write_queue(qi, buf, now)? {
                return Ok(Some(len));
            }
        }
        Ok(None)
    }

    /// The next packet, in a new buffer.
    pub fn read(&mut self, now: SystemTime) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; self.max_packet_len().max(self.fdt.max_packet_len())];
        let len = self.write_next(&mut buf, now)?;
        buf.truncate(len);
        Some(buf)
    }

    /// Writes a Close Session packet (LCT flag A, no TOI, no payload: RFC 5775 §4.1, RFC 6726
    /// §3.1) and returns its length.
    pub fn write_close_session(&self, buf: &mut [u8]) -> Result<usize, SenderError> {
        let mut lct = LctRepr::with_widths(
            self.config.lct_widths,
            0,
            self.tsi,
            None,
            self.oti.fec_encoding_id.into(),
        )?;
        lct.close_session = true;
        let placeholder = [0u8; ExtAuth::MAX_LEN_BYTES];
        let auth = [ExtRepr::Auth {
            body: placeholder
                .get(..self.auth_len().saturating_sub(2))
                .unwrap_or_default(),
        }];
        let repr = AlcRepr {
            lct,
            extensions: if self.signer.is_some() { &auth } else { &[] },
            payload_id: None,
        };
        let len = repr.emit(buf)?;
        if let Some(signer) = &self.signer {
            signer.sign(buf.get_mut(..len).unwrap_or_default())?;
        }
        Ok(len)
    }

    /// A Close Session packet, in a new buffer (empty if it cannot be authenticated).
    pub fn read_close_session(&self) -> Vec<u8> {
        let mut buf = vec![0u8; MAX_OVERHEAD_LEN + self.auth_len()];
        let len = self.write_close_session(&mut buf).unwrap_or(0);
        buf.truncate(len);
        buf
    }

    /// Object bytes that a coming [`Sender::write_next`] most likely copies, for the I/O layer
    /// to prefetch while the frame it just wrote goes out: the symbol that the transfer whose
    /// turn is next (in the highest queue that has one) sends `ahead` rounds after its next
    /// packet; `ahead` 0 is the next packet's symbol. An object much larger than the caches is
    /// read from DRAM once, and that wait is as long as the sender's own work per packet:
    /// prefetched a few packets ahead, it overlaps the work. `None` when no data symbol is in
    /// sight.
    pub fn upcoming_payload(&self, ahead: u32) -> Option<&[u8]> {
        let q = self
            .queues
            .iter()
            .find(|q| q.active.iter().any(Option::is_some))?;
        let n = q.active.len();
        (0..n)
            .filter_map(|step| q.active.get((q.next + step) % n)?.as_ref())
            .next()?
            .transfer
            .upcoming_symbol(ahead)
    }

    /// The earliest time a packet is due: a time at or before the caller's clock means "call
    /// `write_next` now". `None` when nothing will ever be due without a call that changes the
    /// session (`add_object`, `publish`).
    pub fn next_timeout(&self) -> Option<SystemTime> {
        let mut earliest = self.fdt.next_due();
        let mut consider = |t: SystemTime| {
            earliest = Some(earliest.map_or(t, |e| e.min(t)));
        };
        for q in &self.queues {
            for active in q.active.iter().flatten() {
                consider(active.transfer.next_due().unwrap_or(SystemTime::UNIX_EPOCH));
            }
            if q.active.iter().any(Option::is_none) {
                for toi in &q.pending {
                    let Some(entry) = self.objects.get(toi) else {
                        continue;
                    };
                    match entry.readiness(self.config.fdt_publish_mode, SystemTime::UNIX_EPOCH) {
                        Readiness::Now => consider(SystemTime::UNIX_EPOCH),
                        Readiness::At(t) => consider(t),
                        Readiness::Unpublished => {}
                    }
                }
            }
        }
        earliest
    }

    /// Starts pending objects of queue `qi` while it has free slots.
    fn start_due_transfers(&mut self, qi: usize, now: SystemTime) -> Result<(), SenderError> {
        loop {
            let Some(q) = self.queues.get_mut(qi) else {
                return Ok(());
            };
            let Some(free) = q.active.iter().position(Option::is_none) else {
                return Ok(());
            };
            if q.pending.is_empty() {
                return Ok(());
            }
            match q.scan {
                Scan::Idle => return Ok(()),
                Scan::At(t) if now < t => return Ok(()),
                _ => {}
            }
            let mut found = None;
            let mut earliest: Option<SystemTime> = None;
            for (pos, toi) in q.pending.iter().enumerate() {
                let Some(entry) = self.objects.get(toi) else {
                    continue;
                };
                match entry.readiness(self.config.fdt_publish_mode, now) {
                    Readiness::Now => {
                        found = Some(pos);
                        break;
                    }
                    Readiness::At(t) => earliest = Some(earliest.map_or(t, |e| e.min(t))),
                    Readiness::Unpublished => {}
                }
            }
            let Some(pos) = found else {
                q.scan = earliest.map_or(Scan::Idle, Scan::At);
                return Ok(());
            };
            let Some(toi) = q.pending.remove(pos) else {
                return Ok(());
            };
            let number = self
                .objects
                .get(&toi)
                .map_or(1, |e| e.total_transfers.saturating_add(1));
            match self.start_transfer(toi, now) {
                Ok(Some(transfer)) => {
                    self.events.push(SenderEvent::TransferStarted {
                        toi,
                        now,
                        transfer: number,
                    });
                    if let Some(slot) = self.queues.get_mut(qi).and_then(|q| q.active.get_mut(free))
                    {
                        *slot = Some(Active {
                            transfer,
                            removed: false,
                            number,
                        });
                    }
                    if self.config.fdt_publish_mode == FdtPublishMode::ObjectsBeingTransferred {
                        self.publish(now)?;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    // flute announces the start before it opens the object, then the stop.
                    self.events.push(SenderEvent::TransferStarted {
                        toi,
                        now,
                        transfer: number,
                    });
                    self.events.push(SenderEvent::TransferStopped {
                        toi,
                        now,
                        transfer: number,
                        reason: StopReason::Failed,
                    });
                    self.drop_object(toi);
                    return Err(e);
                }
            }
        }
    }

    fn start_transfer(
        &mut self,
        toi: u128,
        now: SystemTime,
    ) -> Result<Option<Transfer>, SenderError> {
        let Some(entry) = self.objects.get_mut(&toi) else {
            return Ok(None);
        };
        let max = entry.max_transfer_count();
        if entry.config.carousel_mode.is_some() && entry.transfer_count >= max {
            entry.transfer_count = 0;
        }
        let closable =
            entry.config.carousel_mode.is_none() && entry.transfer_count.saturating_add(1) >= max;
        let pacing = match entry.config.target_acquisition {
            TargetAcquisition::AsFastAsPossible => None,
            TargetAcquisition::WithinDuration(d) => Some(d),
            TargetAcquisition::WithinTime(t) => Some(t.duration_since(now).unwrap_or_default()),
        };
        let source = match &mut entry.source {
            ObjectSource::Bytes(bytes) => TransferSource::Bytes(Arc::clone(bytes)),
            ObjectSource::Stream(stream) => match stream.take() {
                Some(stream) => TransferSource::Stream(stream),
                None => return Ok(None),
            },
        };
        let spec = HeaderSpec {
            lct: LctRepr::with_widths(
                self.config.lct_widths,
                0,
                self.tsi,
                Some(toi),
                entry.oti.fec_encoding_id.into(),
            )?,
            fdt: None,
            cenc: entry.config.inband_cenc.then_some(ExtCenc {
                content_encoding: entry.config.cenc.code(),
            }),
            sct: false,
            fti: self.config.inband_fti,
            auth_len: self.signer.as_ref().map_or(0, Signer::ext_len_bytes),
        };
        let transfer = Transfer::new(
            TransferParams {
                toi,
                oti: entry.oti,
                spec,
                interleave_blocks: self.config.interleave_blocks,
                closable,
                pacing,
            },
            source,
            now,
        )?;
        entry.transferring = true;
        entry.last_start = Some(now);
        Ok(Some(transfer))
    }

    /// Drops an object whose transfer cannot go on.
    fn drop_object(&mut self, toi: u128) {
        if let Some(entry) = self.objects.remove(&toi)
            && let Some(q) = self.queues.get_mut(entry.queue)
        {
            q.pending.retain(|&t| t != toi);
        }
        self.tois.release(toi);
    }

    /// One packet from the active transfers of queue `qi`, in turn.
    fn write_queue(
        &mut self,
        qi: usize,
        buf: &mut [u8],
        now: SystemTime,
    ) -> Result<Option<usize>, SenderError> {
        let Some(q) = self.queues.get_mut(qi) else {
            return Ok(None);
        };
        let n = q.active.len();
        for step in 0..n {
            let pos = (q.next + step) % n;
            let Some(Some(active)) = q.active.get_mut(pos) else {
                continue;
            };
            match active.transfer.write(buf, now) {
                Ok(Written::Packet { len, last }) => {
                    q.next = pos + 1;
                    if last {
                        self.finish_transfer(qi, pos, now);
                    }
                    return Ok(Some(len));
                }
                Ok(Written::NotYet(_)) => {}
                Err(e @ SenderError::BufferTooSmall { .. }) => return Err(e),
                Err(e) => {
                    let toi = active.transfer.toi();
                    let number = active.number;
                    if let Some(slot) = q.active.get_mut(pos) {
                        *slot = None;
                    }
                    self.events.push(SenderEvent::TransferStopped {
                        toi,
                        now,
                        transfer: number,
                        reason: StopReason::Failed,
                    });
                    self.drop_object(toi);
                    return Err(e);
                }
            }
        }
        Ok(None)
    }

    /// Books the end of a transfer: the object goes back to its queue for its next transfer,
    /// or leaves the session after its last one.
    fn finish_transfer(&mut self, qi: usize, pos: usize, now: SystemTime) {
        let Some(q) = self.queues.get_mut(qi) else {
            return;
        };
        let Some(active) = q.active.get_mut(pos).and_then(Option::take) else {
            return;
        };
        let toi = active.transfer.toi();
        let stopped = |reason| SenderEvent::TransferStopped {
            toi,
            now,
            transfer: active.number,
            reason,
        };
        let stream: Option<Box<dyn ObjectStream>> = active.transfer.into_stream();
        let entry = match self.objects.get_mut(&toi) {
            Some(entry) if !active.removed => entry,
            _ => {
                self.events.push(stopped(StopReason::Removed));
                self.tois.release(toi);
                return;
            }
        };
        entry.transferring = false;
        entry.transfer_count = entry.transfer_count.saturating_add(1);
        entry.total_transfers += 1;
        entry.last_end = Some(now);
        if let (ObjectSource::Stream(slot), Some(stream)) = (&mut entry.source, stream) {
            *slot = Some(stream);
        }
        if entry.config.carousel_mode.is_none()
            && entry.transfer_count >= entry.max_transfer_count()
        {
            self.objects.remove(&toi);
            self.tois.release(toi);
            self.events.push(stopped(StopReason::Expired));
        } else {
            q.pending.push_back(toi);
            q.scan = Scan::Now;
            self.events.push(stopped(StopReason::Sent));
        }
    }
}
