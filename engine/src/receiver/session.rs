//! One FLUTE session (RFC 6726 §4): packets of one (endpoint, TSI), demultiplexed by TOI into the
//! FDT (TOI 0) and the objects it describes; receive-once, held packets, close flags, timeouts
//! and FDT expiry.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::cenc::{Cenc, CencError};
use crate::fdt::{FdtInstance, RejectedFile};
use crate::wire::{AlcPacket, WireError};

use super::budget::Budget;
use super::config::Config;
use super::deferred::DecodeJob;
use super::error::{DropReason, FailReason, ReceiverError};
use super::event::{ObjectEvent, ObjectMetadata, ReceiverEndpoint};
use super::fdt_state::{DescriptionCharges, FdtFile, FdtFingerprint, FdtReceiving, FileSlot};
use super::object::{
    NotStored, ObjectReceiver, ObjectStart, Pushed, bookkeeping_bytes, is_supported, partition_for,
    sink_reservation,
};
use super::pending::{HeldBudgets, Pending};
use super::repair::IncompleteObject;
use super::sender_clock::SenderClock;
use super::sink::{ObjectDescription, ObjectSink, SinkError};
use super::stats::ReceiverStats;

/// What every session of a receiver shares: configuration, sink, event queue, counters and the
/// budgets of objects being received.
#[derive(Debug)]
pub(crate) struct Shared<S> {
    pub config: Config,
    pub sink: S,
    pub events: VecDeque<ObjectEvent>,
    pub stats: ReceiverStats,
    /// Sink regions taken (`Limits::max_receiving_bytes`).
    pub receiving: Budget,
    /// Packets held for their FDT, over all sessions (`Limits::max_pending_bytes`), and
    /// `memory`.
    pub held: HeldBudgets,
    /// Live FDT file descriptions, over all sessions (`Limits::max_description_bytes`).
    pub descriptions: Budget,
    /// All the memory held for unverified input (`Limits::max_memory_bytes`): objects and FDT
    /// instances being received (bookkeeping, FEC scratch, in-memory regions), held packets,
    /// file descriptions. Each holder keeps its [`Charge`](super::budget::Charge), given back
    /// when it drops.
    pub memory: Budget,
    /// Objects that cannot complete from the network are handed over for a repair by unicast
    /// instead of being discarded (`MultiReceiver::set_hand_over_incomplete`).
    pub hand_over: bool,
    /// Block decodes handed out of `push` (`Config::defer_decode_from_bytes`), until the
    /// caller takes them.
    pub decode_jobs: Vec<DecodeJob>,
}

impl<S> Shared<S> {
    /// Budgets of `config`'s limits, nothing charged yet.
    pub(super) fn new(config: Config, sink: S) -> Self {
        let limits = &config.limits;
        let memory = Budget::new(limits.max_memory_bytes);
        Self {
            receiving: Budget::new(limits.max_receiving_bytes),
            held: HeldBudgets {
                pending: Budget::new(limits.max_pending_bytes as u64),
                memory: memory.clone(),
            },
            descriptions: Budget::new(limits.max_description_bytes as u64),
            memory,
            config,
            sink,
            events: VecDeque::new(),
            stats: ReceiverStats::default(),
            hand_over: false,
            decode_jobs: Vec::new(),
        }
    }

    pub(super) fn emit(&mut self, event: ObjectEvent) {
        if self.events.len() >= self.config.limits.max_events {
            self.stats.events_dropped += 1;
        } else {
            self.events.push_back(event);
        }
    }

    /// Queues a progress event, or updates the last one queued if it is about the same object.
    fn progress(&mut self, key: &ReceiverEndpoint, toi: u128, received: u64, total: u64) {
        if let Some(ObjectEvent::Progress {
            session,
            toi: t,
            received_bytes,
            ..
        }) = self.events.back_mut()
            && *t == toi
            && session == key
        {
            *received_bytes = received;
            return;
        }
        self.emit(ObjectEvent::Progress {
            session: *key,
            toi,
            received_bytes: received,
            transfer_length: total,
        });
    }
}

/// A TOI that was completed (receive-once) or failed for a reason a retry would not fix.
#[derive(Debug)]
struct Done {
    file: Option<Arc<FdtFile>>,
    completed: bool,
    last_seen: SystemTime,
}

/// The state of one session.
#[derive(Debug)]
pub(crate) struct Session<O> {
    key: ReceiverEndpoint,
    objects: super::Map<u128, ObjectReceiver<O>>,
    done: super::Map<u128, Done>,
    done_order: VecDeque<u128>,
    files: super::Map<u128, FileSlot>,
    /// The FDT instances received and not expired, by ID: when each expires, and what tells it
    /// from a new instance reusing its ID.
    live_fdts: super::Map<u32, (Option<SystemTime>, FdtFingerprint)>,
    /// FDT instances taken so far (see [`FileSlot::listed`]).
    instances_taken: u64,
    fdt_receiving: super::Map<u32, FdtReceiving>,
    pending: Pending,
    last_activity: SystemTime,
    closing_since: Option<SystemTime>,
    /// Listed by name in the TSI filter: outside the pool of sessions, never evicted.
    configured: bool,
    /// Objects handed over for repair, until the receiver takes them.
    handed_over: Vec<IncompleteObject<O>>,
    /// The sender's clock, by the Sender Current Time of its packets: FDT expiry is judged on it.
    sender_clock: SenderClock,
}

#[derive(Clone, Copy)]
enum SessionEnd {
    Closed,
    Expired,
}

fn idle_for(now: SystemTime, since: SystemTime, limit: Duration) -> bool {
    now.duration_since(since)
        .is_ok_and(|elapsed| elapsed >= limit)
}

fn later(a: Option<SystemTime>, b: Option<SystemTime>) -> Option<SystemTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    }
}

fn same_description(a: &Arc<FdtFile>, b: &Arc<FdtFile>) -> bool {
    Arc::ptr_eq(a, b) || a.same_object(b)
}

/// Failures that a new attempt at the same description would meet again. What is wrong with
/// the received content (its MD5, its decoding, its decoded length) is not: one forged symbol
/// in a pass would otherwise block the object for as long as its FDT lives, while the next
/// carousel pass may well be clean.
/// Whether an object that ended so may still be completed by a repair: the network stopped
/// bringing its symbols, nothing was wrong with them.
fn is_repairable_end(reason: &FailReason) -> bool {
    matches!(
        reason,
        FailReason::Timeout
            | FailReason::Interrupted
            | FailReason::SessionClosed
            | FailReason::SessionExpired
    )
}

fn is_permanent(reason: &FailReason) -> bool {
    !matches!(
        reason,
        FailReason::Timeout
            | FailReason::Interrupted
            | FailReason::SessionClosed
            | FailReason::SessionExpired
            | FailReason::Superseded
            | FailReason::ReceivingBytesLimit
            | FailReason::Evicted
            | FailReason::Md5Mismatch
            | FailReason::ContentDecoding(_)
            | FailReason::ContentLength { .. }
    )
}

impl<O: super::sink::SinkObject> Session<O> {
    pub(super) fn new(key: ReceiverEndpoint, configured: bool, now: SystemTime) -> Self {
        Self {
            key,
            objects: super::Map::default(),
            done: super::Map::default(),
            done_order: VecDeque::new(),
            files: super::Map::default(),
            live_fdts: super::Map::default(),
            instances_taken: 0,
            fdt_receiving: super::Map::default(),
            pending: Pending::default(),
            last_activity: now,
            closing_since: None,
            configured,
            handed_over: Vec::new(),
            sender_clock: SenderClock::default(),
        }
    }

    /// The objects handed over for repair since the last call.
    pub(super) fn take_handed_over(&mut self) -> Vec<IncompleteObject<O>> {
        std::mem::take(&mut self.handed_over)
    }

    /// Listed by name in the TSI filter.
    pub(super) fn is_configured(&self) -> bool {
        self.configured
    }

    /// When the session's last packet came.
    pub(super) fn last_activity(&self) -> SystemTime {
        self.last_activity
    }

    /// The TOIs the live FDT instances describe, with their Content-Location.
    pub(super) fn announced(&self) -> impl Iterator<Item = (u128, &str)> + '_ {
        self.files
            .iter()
            .map(|(toi, slot)| (*toi, slot.file.content_location.as_str()))
    }

    /// Whether the session holds an FDT instance that has not expired (which may list no
    /// file).
    pub(super) fn holds_fdt(&self) -> bool {
        !self.live_fdts.is_empty()
    }

    /// Objects being received.
    pub(super) fn nb_objects(&self) -> usize {
        self.objects.len()
    }

    /// Takes one parsed packet of this session.
    pub(super) fn push<S: ObjectSink<Object = O>>(
        &mut self,
        shared: &mut Shared<S>,
        alc: &AlcPacket<'_>,
        raw: &[u8],
        now: SystemTime,
    ) -> Result<(), Box<ReceiverError>> {
        self.last_activity = now;
        if let Some(time) = alc.ext_time()
            && !self.sender_clock.observe(&time, now)
        {
            shared.stats.sct_invalid += 1;
        }
        let lct = *alc.lct();
        let result = if alc.is_data_less() {
            Ok(())
        } else if lct.toi == 0 {
            self.push_fdt(shared, alc, now)
        } else {
            self.push_object(shared, alc, raw, now)
        };
        if lct.close_object
            && lct.toi != 0
            && let Some(object) = self.objects.get_mut(&lct.toi)
        {
            object.closing_since.get_or_insert(now);
        }
        if lct.close_session {
            self.closing_since.get_or_insert(now);
        }
        result
    }

    fn push_object<S: ObjectSink<Object = O>>(
        &mut self,
        shared: &mut Shared<S>,
        alc: &AlcPacket<'_>,
        raw: &[u8],
        now: SystemTime,
    ) -> Result<(), Box<ReceiverError>> {
        let toi = alc.lct().toi;
        if let Some(object) = self.objects.get_mut(&toi) {
            let complete = match store(&self.key, object, shared, alc, now) {
                Ok(complete) => complete,
                Err(Stored::Refused(e)) => return Err(e),
                Err(Stored::SinkFailed(error)) => {
                    // The sink could not make room for the symbols (a full disk): the object
                    // fails now rather than timing out, and its temporary file goes.
                    self.fail_object(shared, toi, FailReason::Sink(error.to_string()), now);
                    return Err(DropReason::Sink.into());
                }
            };
            if complete {
                self.complete_object(shared, toi, now);
            }
            return Ok(());
        }
        self.start_object(shared, alc, raw, now)
    }

    fn start_object<S: ObjectSink<Object = O>>(
        &mut self,
        shared: &mut Shared<S>,
        alc: &AlcPacket<'_>,
        raw: &[u8],
        now: SystemTime,
    ) -> Result<(), Box<ReceiverError>> {
        let toi = alc.lct().toi;
        let file = self.files.get(&toi).map(|slot| slot.file.clone());
        if let Some(done) = self.done.get_mut(&toi) {
            let same = match (&done.file, &file) {
                (Some(a), Some(b)) => same_description(a, b),
                (None, None) => true,
                _ => false,
            };
            if same {
                done.last_seen = now;
                if done.completed {
                    shared.stats.already_received += 1;
                    return Ok(());
                }
                return Err(DropReason::ObjectFailed.into());
            }
            self.done.remove(&toi);
        }
        let described = match &file {
            Some(file) => describe_from_fdt(file, Some(alc)),
            None if shared.config.receive_without_fdt => describe_from_fti(alc),
            None => Ok(None),
        };
        let meta = match described {
            Ok(Some(meta)) => meta,
            Ok(None) => return self.hold(shared, toi, raw, now),
            Err(refused) => return Err(self.refuse(shared, toi, refused)),
        };
        if self.open_object(shared, toi, meta, file, now)? {
            // An empty object has no symbol to wait for.
            self.complete_object(shared, toi, now);
            self.pending.take(toi);
            return Ok(());
        }
        let result = self.push_object(shared, alc, raw, now);
        self.replay(shared, toi, now);
        result
    }

    /// Starts receiving object `toi` as `meta` describes it, within the receiver's limits;
    /// whether it is complete already (empty).
    fn open_object<S: ObjectSink<Object = O>>(
        &mut self,
        shared: &mut Shared<S>,
        toi: u128,
        meta: ObjectMetadata,
        file: Option<Arc<FdtFile>>,
        now: SystemTime,
    ) -> Result<bool, Box<ReceiverError>> {
        let limits = shared.config.limits;
        if !is_supported(&meta.oti) {
            let id = meta.oti.fec_encoding_id;
            return Err(self.refuse(
                shared,
                toi,
                Refused {
                    drop: ReceiverError::UnsupportedFec(id).into(),
                    reason: FailReason::UnsupportedFec(id),
                },
            ));
        }
        let largest = meta.transfer_length.max(meta.content_length.unwrap_or(0));
        if largest > limits.max_object_bytes {
            return Err(self.refuse(
                shared,
                toi,
                Refused {
                    drop: DropReason::ObjectTooLarge.into(),
                    reason: FailReason::TooLarge {
                        len: largest,
                        max: limits.max_object_bytes,
                    },
                },
            ));
        }
        let from_fdt = file.is_some();
        if from_fdt {
            let announced = self.objects.values().filter(|o| o.from_fdt).count();
            if announced >= limits.max_objects_per_session {
                return Err(DropReason::ObjectLimit.into());
            }
        } else {
            self.make_room_unannounced(shared, toi, now);
        }
        let partition = match partition_for(&meta) {
            Ok(partition) => partition,
            Err(reason) => {
                return Err(self.refuse(
                    shared,
                    toi,
                    Refused {
                        drop: DropReason::NoOti.into(),
                        reason,
                    },
                ));
            }
        };
        let reserved = sink_reservation(&meta);
        let bookkeeping = bookkeeping_bytes(&partition);
        let short = |shared: &Shared<S>| {
            !shared.receiving.fits(reserved) || !shared.memory.fits(bookkeeping)
        };
        // Objects no FDT describes give their bytes up first, the idlest first.
        while short(shared) {
            let Some((_, victim)) = self.idlest_unannounced_object() else {
                break;
            };
            self.fail_object(shared, victim, FailReason::Evicted, now);
            shared.stats.unannounced_evicted += 1;
        }
        let Some(receiving) = shared.receiving.charge(reserved) else {
            return Err(DropReason::ReceivingBytesLimit.into());
        };
        let Some(memory) = shared.memory.charge(bookkeeping) else {
            return Err(DropReason::MemoryLimit.into());
        };
        let desc = sink_description(self.key.tsi, toi, &meta);
        let meta = Arc::new(meta);
        let start = ObjectStart {
            desc,
            meta: meta.clone(),
            partition,
            from_fdt,
            receiving,
            memory,
            max_decode_cost: limits.max_decode_cost,
        };
        let object =
            match ObjectReceiver::start(&mut shared.sink, start, shared.config.check_md5, now) {
                Ok(mut object) => {
                    if let Some(from) = shared.config.defer_decode_from_bytes {
                        object.defer_decodes(from, shared.memory.clone());
                    }
                    object
                }
                Err(reason) => {
                    shared.stats.objects_failed += 1;
                    shared.emit(ObjectEvent::Failed {
                        session: self.key,
                        toi,
                        meta: Some(meta),
                        reason,
                    });
                    self.record_done(shared, toi, file, false, now);
                    self.pending.take(toi);
                    return Err(DropReason::Sink.into());
                }
            };
        shared.stats.objects_started += 1;
        shared.emit(ObjectEvent::Started {
            session: self.key,
            toi,
            meta,
        });
        let empty = object.is_complete();
        self.objects.insert(toi, object);
        Ok(empty)
    }

    /// When the session ends and incomplete objects are handed over for repair: starts the
    /// objects its FDT lists of which no packet came, so that they are handed over too (a
    /// receiver that joined after their transfer fetches them whole). Only those the FDT
    /// describes fully (length and OTI, no content encoding) within the receiver's limits;
    /// the others end unseen. Of the TOIs that share a Content-Location only the
    /// one listed last is the file: an older version its sender replaced is not fetched.
    fn open_unseen_for_repair<S: ObjectSink<Object = O>>(
        &mut self,
        shared: &mut Shared<S>,
        now: SystemTime,
    ) {
        let mut newest: std::collections::HashMap<&str, (u64, usize)> =
            std::collections::HashMap::new();
        for slot in self.files.values() {
            let entry = newest
                .entry(slot.file.content_location.as_str())
                .or_insert((slot.listed, 0));
            match slot.listed.cmp(&entry.0) {
                std::cmp::Ordering::Greater => *entry = (slot.listed, 1),
                std::cmp::Ordering::Equal => entry.1 += 1,
                std::cmp::Ordering::Less => {}
            }
        }
        let unseen: Vec<(u128, Arc<FdtFile>)> = self
            .files
            .iter()
            .filter(|(toi, slot)| {
                !self.objects.contains_key(toi)
                    && !self.done.contains_key(toi)
                    && newest.get(slot.file.content_location.as_str()) == Some(&(slot.listed, 1))
            })
            .map(|(toi, slot)| (*toi, Arc::clone(&slot.file)))
            .collect();
        for (toi, file) in unseen {
            let Ok(Some(meta)) = describe_from_fdt(&file, None) else {
                continue;
            };
            if meta.cenc != Cenc::Null || meta.transfer_length == 0 {
                continue;
            }
            // Refusals are counted (and reported) as for an object whose packet came.
            let _ = self.open_object(shared, toi, meta, Some(file), now);
        }
    }

    /// A packet of `toi` whose description cannot be received: the first time for an FDT
    /// description, queues a `Failed` event with the typed reason, so that the application
    /// learns why (not merely that nothing came); every packet is a drop counted under its own
    /// reason. Objects known by EXT_FTI alone only count their drops.
    fn refuse<S>(
        &mut self,
        shared: &mut Shared<S>,
        toi: u128,
        refused: Refused,
    ) -> Box<ReceiverError> {
        let Refused { drop, reason } = refused;
        if let Some(slot) = self.files.get_mut(&toi)
            && !slot.refusal_reported
        {
            slot.refusal_reported = true;
            shared.stats.objects_failed += 1;
            shared.emit(ObjectEvent::Failed {
                session: self.key,
                toi,
                meta: None,
                reason,
            });
        }
        drop
    }

    fn hold<S>(
        &mut self,
        shared: &mut Shared<S>,
        toi: u128,
        raw: &[u8],
        now: SystemTime,
    ) -> Result<(), Box<ReceiverError>> {
        if !self.pending.contains(toi) {
            self.make_room_unannounced(shared, toi, now);
        }
        // The byte caps are shared by every session: this session makes room by letting its
        // own idlest held TOIs go, never another session's.
        let len = raw.len() as u64;
        let room = |shared: &Shared<S>| shared.held.pending.room().min(shared.memory.room());
        while len > room(shared) {
            match self.pending.idlest_except(toi) {
                Some((victim, _)) => self.evict_pending(shared, victim),
                None => break,
            }
        }
        if !shared.memory.fits(len) {
            return Err(DropReason::MemoryLimit.into());
        }
        self.pending.hold(toi, raw, now, &shared.held, true)?;
        shared.stats.held += 1;
        Ok(())
    }

    /// Objects no FDT describes (TOIs with packets held for their FDT, objects received by
    /// their EXT_FTI alone) share `Limits::max_unannounced_objects_per_session` places, apart
    /// from the objects an FDT describes: when `toi` needs a new one and they are all taken,
    /// the one with no packet for the longest goes. Cycling TOIs thus churns this pool only.
    fn make_room_unannounced<S>(&mut self, shared: &mut Shared<S>, toi: u128, now: SystemTime) {
        let max = shared
            .config
            .limits
            .max_unannounced_objects_per_session
            .max(1);
        loop {
            let unannounced = self.objects.values().filter(|o| !o.from_fdt).count();
            let held = self.pending.nb_objects() - usize::from(self.pending.contains(toi));
            if unannounced + held < max {
                return;
            }
            let idlest_object = self.idlest_unannounced_object();
            let object_first = match (idlest_object, self.pending.idlest_except(toi)) {
                (Some((seen, _)), Some((_, held_seen))) => seen <= held_seen,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => return,
            };
            if object_first {
                if let Some((_, victim)) = idlest_object {
                    self.fail_object(shared, victim, FailReason::Evicted, now);
                    shared.stats.unannounced_evicted += 1;
                }
            } else if let Some((victim, _)) = self.pending.idlest_except(toi) {
                self.evict_pending(shared, victim);
            }
        }
    }

    /// The object being received that no FDT describes and that has gone without a packet the
    /// longest: (its last packet's time, its TOI).
    fn idlest_unannounced_object(&self) -> Option<(SystemTime, u128)> {
        self.objects
            .iter()
            .filter(|(_, o)| !o.from_fdt)
            .map(|(toi, o)| (o.last_activity, *toi))
            .min()
    }

    /// Drops the packets held for `toi`, counted as drops of their own reason.
    fn evict_pending<S>(&mut self, shared: &mut Shared<S>, toi: u128) {
        for _ in self.pending.take(toi) {
            shared.stats.count_drop(DropReason::PendingEvicted);
        }
        shared.stats.unannounced_evicted += 1;
    }

    /// Pushes again the packets held for `toi`.
    fn replay<S: ObjectSink<Object = O>>(
        &mut self,
        shared: &mut Shared<S>,
        toi: u128,
        now: SystemTime,
    ) {
        for raw in self.pending.take(toi) {
            let result = match AlcPacket::parse(&raw) {
                Ok(alc) => self.push_object(shared, &alc, &raw, now),
                Err(e) => Err(e.into()),
            };
            if let Err(e) = result {
                shared.stats.count_drop(e.reason());
            }
        }
    }

    fn record_done<S>(
        &mut self,
        shared: &mut Shared<S>,
        toi: u128,
        file: Option<Arc<FdtFile>>,
        completed: bool,
        now: SystemTime,
    ) {
        let cap = shared.config.limits.max_completed_per_session;
        self.done.insert(
            toi,
            Done {
                file,
                completed,
                last_seen: now,
            },
        );
        self.done_order.push_back(toi);
        while self.done.len() > cap {
            match self.done_order.pop_front() {
                Some(old) => {
                    if self.done.remove(&old).is_some() {
                        shared.stats.receive_once_forgotten += 1;
                    }
                }
                None => break,
            }
        }
        if self.done_order.len() > 2 * cap.max(16) {
            let done = &self.done;
            self.done_order.retain(|toi| done.contains_key(toi));
        }
    }

    fn complete_object<S: ObjectSink<Object = O>>(
        &mut self,
        shared: &mut Shared<S>,
        toi: u128,
        now: SystemTime,
    ) {
        let Some(object) = self.objects.remove(&toi) else {
            return;
        };
        let meta = object.meta.clone();
        let file = if object.from_fdt {
            self.files.get(&toi).map(|slot| slot.file.clone())
        } else {
            None
        };
        let max_object_bytes = shared.config.limits.max_object_bytes;
        match object.finish(&mut shared.sink, max_object_bytes) {
            Ok(()) => {
                shared.stats.objects_completed += 1;
                shared.emit(ObjectEvent::Completed {
                    session: self.key,
                    toi,
                    meta,
                });
                if shared.config.receive_once {
                    self.record_done(shared, toi, file, true, now);
                }
            }
            Err(reason) => {
                shared.stats.objects_failed += 1;
                if matches!(
                    reason,
                    FailReason::ContentDecoding(CencError::TooLarge { .. })
                ) {
                    shared.stats.content_decoding_capped += 1;
                }
                let permanent = is_permanent(&reason);
                shared.emit(ObjectEvent::Failed {
                    session: self.key,
                    toi,
                    meta: Some(meta),
                    reason,
                });
                if permanent {
                    self.record_done(shared, toi, file, false, now);
                }
            }
        }
    }

    fn fail_object<S>(
        &mut self,
        shared: &mut Shared<S>,
        toi: u128,
        reason: FailReason,
        now: SystemTime,
    ) {
        let Some(mut object) = self.objects.remove(&toi) else {
            return;
        };
        let meta = object.meta.clone();
        let file = if object.from_fdt {
            self.files.get(&toi).map(|slot| slot.file.clone())
        } else {
            None
        };
        if shared.hand_over && is_repairable_end(&reason) && object.is_repairable() {
            shared.stats.objects_handed_over += 1;
            object.leave_budgets();
            self.handed_over
                .push(IncompleteObject::new(self.key, toi, reason, object));
            // The repair owns it now: its later packets are repeats, and the session's end
            // must not start it again as an object of which nothing came.
            self.record_done(shared, toi, file, true, now);
            return;
        }
        object.abort();
        shared.stats.objects_failed += 1;
        let permanent = is_permanent(&reason);
        shared.emit(ObjectEvent::Failed {
            session: self.key,
            toi,
            meta: Some(meta),
            reason,
        });
        if permanent {
            self.record_done(shared, toi, file, false, now);
        }
    }

    fn push_fdt<S: ObjectSink<Object = O>>(
        &mut self,
        shared: &mut Shared<S>,
        alc: &AlcPacket<'_>,
        now: SystemTime,
    ) -> Result<(), Box<ReceiverError>> {
        let Some(ext) = alc.ext_fdt() else {
            return Err(DropReason::FdtWithoutExtension.into());
        };
        let id = ext.fdt_instance_id;
        if let Some((_, fingerprint)) = self.live_fdts.get_mut(&id) {
            let payload_id = alc
                .payload_id()
                .ok_or_else(|| Box::new(ReceiverError::Malformed(WireError::PayloadIdNeedsOti)))?;
            let fti = alc.fti();
            if fingerprint.matches(fti.as_ref(), payload_id.sbn, payload_id.esi, alc.payload()) {
                shared.stats.already_received += 1;
                return Ok(());
            }
            // The ID now names other content: the sender was restarted with the same TSI and
            // numbers its instances afresh. The new instance is received; the files it
            // describes differently replace the old descriptions, and with them receive-once.
            tracing::info!(
                tsi = self.key.tsi,
                fdt_instance_id = id,
                "FDT instance ID reused with new content: the sender restarted"
            );
            self.live_fdts.remove(&id);
        }
        let limits = shared.config.limits;
        if !self.fdt_receiving.contains_key(&id) {
            let Some(oti) = alc.fti() else {
                return Err(DropReason::FdtWithoutExtension.into());
            };
            let cenc = match alc.ext_cenc() {
                Some(c) => {
                    Cenc::from_code(c.content_encoding).ok_or(DropReason::UnknownContentEncoding)?
                }
                None => Cenc::Null,
            };
            // A new instance takes the place of the idlest one being received when all are
            // taken: a flood of new instance IDs churns them, but cannot stop a new instance
            // (most take one packet) from being received.
            if self.fdt_receiving.len() >= limits.max_fdt_instances_receiving.max(1) {
                self.evict_idlest_fdt();
                shared.stats.count_drop(DropReason::FdtInstancesLimit);
            }
            let receiving = match FdtReceiving::new(&oti, cenc, &limits, &shared.memory, now) {
                Err(e)
                    if e.reason() == DropReason::MemoryLimit && !self.fdt_receiving.is_empty() =>
                {
                    self.evict_idlest_fdt();
                    FdtReceiving::new(&oti, cenc, &limits, &shared.memory, now)?
                }
                other => other?,
            };
            self.fdt_receiving.insert(id, receiving);
        }
        let payload_id = alc
            .payload_id()
            .ok_or_else(|| Box::new(ReceiverError::Malformed(WireError::PayloadIdNeedsOti)))?;
        let Some(receiving) = self.fdt_receiving.get_mut(&id) else {
            return Ok(());
        };
        receiving.last_activity = now;
        if !receiving.push(payload_id.sbn, payload_id.esi, alc.payload())? {
            return Ok(());
        }
        let Some(receiving) = self.fdt_receiving.remove(&id) else {
            return Ok(());
        };
        let fingerprint = receiving.fingerprint();
        let (instance, rejected) = receiving.parse(limits.max_fdt_files)?;
        self.apply_fdt(shared, id, &instance, fingerprint, now)?;
        self.report_rejected(shared, id, rejected);
        Ok(())
    }

    /// Gives up the FDT instance being received that has gone without a packet the longest.
    fn evict_idlest_fdt(&mut self) {
        let idlest = self
            .fdt_receiving
            .iter()
            .min_by_key(|(_, f)| f.last_activity)
            .map(|(id, _)| *id);
        if let Some(id) = idlest {
            self.fdt_receiving.remove(&id);
        }
    }

    /// The File entries of an applied instance that were left out: each is a drop of its own
    /// reason, and one whose TOI is known fails with what is wrong with it.
    fn report_rejected<S>(&mut self, shared: &mut Shared<S>, id: u32, rejected: Vec<RejectedFile>) {
        for entry in rejected {
            shared.stats.count_drop(DropReason::FdtFileInvalid);
            tracing::debug!(
                tsi = self.key.tsi,
                fdt_instance_id = id,
                toi = ?entry.toi,
                location = ?entry.content_location,
                error = %entry.error,
                "FDT File entry left out"
            );
            if let Some(toi) = entry.toi.filter(|t| *t != 0) {
                shared.stats.objects_failed += 1;
                shared.emit(ObjectEvent::Failed {
                    session: self.key,
                    toi,
                    meta: None,
                    reason: FailReason::InvalidFileEntry(entry.error),
                });
            }
        }
    }

    fn apply_fdt<S: ObjectSink<Object = O>>(
        &mut self,
        shared: &mut Shared<S>,
        id: u32,
        instance: &FdtInstance,
        fingerprint: FdtFingerprint,
        now: SystemTime,
    ) -> Result<(), Box<ReceiverError>> {
        let expires_at = if shared.config.fdt_expiry_check {
            // Expires is on the sender's clock (see `sender_clock`).
            match self.sender_clock.expires_at(instance.expires, now) {
                Some(t) if t > now => Some(t),
                _ => return Err(DropReason::FdtExpired.into()),
            }
        } else {
            None
        };
        self.live_fdts.insert(id, (expires_at, fingerprint));
        shared.stats.fdt_instances += 1;
        self.instances_taken += 1;
        let listed = self.instances_taken;
        let limits = shared.config.limits;
        let mut described = Vec::new();
        for file in &instance.files {
            let toi = file.toi;
            if toi == 0 {
                continue;
            }
            let new = FdtFile::new(instance, file, id);
            let nb_files = self.files.len();
            let replaced_bytes = match self.files.get_mut(&toi) {
                Some(slot) if slot.file.same_object(&new) => {
                    slot.expires_at = later(slot.expires_at, expires_at);
                    slot.listed = listed;
                    continue;
                }
                Some(slot) => slot.file.approx_bytes(),
                None if nb_files >= limits.max_files_per_session => {
                    shared.stats.count_drop(DropReason::FilesPerSessionLimit);
                    continue;
                }
                None => 0,
            };
            // The description it replaces gives its bytes back when the slot is replaced.
            let bytes = new.approx_bytes() as u64;
            if bytes
                > shared
                    .descriptions
                    .room()
                    .saturating_add(replaced_bytes as u64)
            {
                shared.stats.count_drop(DropReason::DescriptionBytesLimit);
                continue;
            }
            // Descriptions are capped by their own budget; the memory budget counts them so
            // that what they take is not given to objects as well.
            let charges = DescriptionCharges {
                descriptions: shared.descriptions.force(bytes),
                memory: shared.memory.force(bytes),
            };
            if new.path.is_err() {
                shared.stats.paths_rejected += 1;
            }
            self.files.insert(
                toi,
                FileSlot {
                    file: Arc::new(new),
                    expires_at,
                    listed,
                    refusal_reported: false,
                    charges,
                },
            );
            if self.objects.get(&toi).is_some_and(|o| o.from_fdt) {
                self.fail_object(shared, toi, FailReason::Superseded, now);
            }
            if self.pending.contains(toi) {
                described.push(toi);
            } else {
                self.expect_object(shared, toi);
            }
        }
        for toi in described {
            self.replay(shared, toi, now);
        }
        Ok(())
    }

    /// Takes back a block decode that `push` handed out: the block lands in its object, which
    /// may complete; a job whose object has ended is dropped.
    pub(super) fn finish_decode<S: ObjectSink<Object = O>>(
        &mut self,
        shared: &mut Shared<S>,
        job: DecodeJob,
        now: SystemTime,
    ) {
        let toi = job.toi;
        let Some(object) = self.objects.get_mut(&toi).filter(|o| o.id == job.object) else {
            return;
        };
        let finished = object.finish_decode(job.block);
        hand_out_decodes(&self.key, toi, object, shared);
        match finished {
            Ok(true) => {
                shared.stats.blocks_decoded_elsewhere += 1;
                shared.stats.repair_symbols_used += object.take_repair_used();
                if object.is_complete() {
                    self.complete_object(shared, toi, now);
                } else if object.progress_due(now, shared.config.progress_every) {
                    let (received, total) = (object.received_bytes(), object.meta.transfer_length);
                    shared.progress(&self.key, toi, received, total);
                }
            }
            Ok(false) => {}
            Err(NotStored::Dropped(reason)) => shared.stats.count_drop(reason),
            Err(NotStored::Sink(error)) => {
                self.fail_object(shared, toi, FailReason::Sink(error.to_string()), now);
                shared.stats.count_drop(DropReason::Sink);
            }
        }
    }

    /// Tells the sink of an object the FDT just described and no packet has started, so that
    /// it can prepare the object's storage ahead (`ObjectSink::expect`): only what
    /// `open_object` would give the sink as it stands.
    fn expect_object<S: ObjectSink<Object = O>>(&self, shared: &mut Shared<S>, toi: u128) {
        if self.objects.contains_key(&toi) || self.done.contains_key(&toi) {
            return;
        }
        let Some(slot) = self.files.get(&toi) else {
            return;
        };
        let Ok(Some(meta)) = describe_from_fdt(&slot.file, None) else {
            return;
        };
        if meta.cenc != Cenc::Null
            || !is_supported(&meta.oti)
            || meta.transfer_length > shared.config.limits.max_object_bytes
        {
            return;
        }
        shared
            .sink
            .expect(&sink_description(self.key.tsi, toi, &meta));
    }

    /// Expires objects, FDT descriptions, held packets and the session itself. Returns `true`
    /// when the session is over and must be dropped.
    pub(super) fn cleanup<S: ObjectSink<Object = O>>(
        &mut self,
        shared: &mut Shared<S>,
        now: SystemTime,
    ) -> bool {
        let config = shared.config;
        let end = if self
            .closing_since
            .is_some_and(|t| idle_for(now, t, config.close_grace))
        {
            Some(SessionEnd::Closed)
        } else if config
            .session_timeout
            .is_some_and(|d| idle_for(now, self.last_activity, d))
        {
            Some(SessionEnd::Expired)
        } else {
            None
        };
        // A decode out comes back to its object: the session and the object wait for it (the
        // caller gives every job back; on a capture's clock a decode can span the close grace).
        let decoding = |o: &ObjectReceiver<O>| o.has_away();
        if let Some(reason) = end
            && !self.objects.values().any(decoding)
        {
            self.close(
                shared,
                || match reason {
                    SessionEnd::Closed => FailReason::SessionClosed,
                    SessionEnd::Expired => FailReason::SessionExpired,
                },
                now,
            );
            return true;
        }
        let expired: Vec<(u128, FailReason)> = self
            .objects
            .iter()
            .filter(|(_, o)| !decoding(o))
            .filter_map(|(toi, o)| {
                if o.closing_since
                    .is_some_and(|t| idle_for(now, t, config.close_grace))
                {
                    Some((*toi, FailReason::Interrupted))
                } else if config
                    .object_timeout
                    .is_some_and(|d| idle_for(now, o.last_activity, d))
                {
                    Some((*toi, FailReason::Timeout))
                } else {
                    None
                }
            })
            .collect();
        for (toi, reason) in expired {
            self.fail_object(shared, toi, reason, now);
        }
        if config.fdt_expiry_check {
            self.files
                .retain(|_, slot| slot.expires_at.is_none_or(|t| t > now));
            self.live_fdts.retain(|_, (t, _)| t.is_none_or(|t| t > now));
        }
        let files = &self.files;
        self.done.retain(|toi, done| match &done.file {
            Some(file) => files
                .get(toi)
                .is_some_and(|slot| same_description(&slot.file, file)),
            None => !config
                .object_timeout
                .is_some_and(|d| idle_for(now, done.last_seen, d)),
        });
        if let Some(timeout) = config.object_timeout {
            self.pending.expire(now, timeout);
            self.fdt_receiving
                .retain(|_, f| !idle_for(now, f.last_activity, timeout));
        }
        false
    }

    /// Fails every object still being received.
    pub(super) fn close<S: ObjectSink<Object = O>>(
        &mut self,
        shared: &mut Shared<S>,
        reason: impl Fn() -> FailReason,
        now: SystemTime,
    ) {
        if shared.hand_over && is_repairable_end(&reason()) {
            self.open_unseen_for_repair(shared, now);
        }
        let tois: Vec<u128> = self.objects.keys().copied().collect();
        for toi in tois {
            self.fail_object(shared, toi, reason(), now);
        }
        let held: Vec<u128> = self.pending.tois().collect();
        for toi in held {
            self.pending.take(toi);
        }
        self.files.clear();
        self.fdt_receiving.clear();
    }
}

/// Why [`store`] did not store a packet.
enum Stored {
    /// The packet is refused; the object goes on.
    Refused(Box<ReceiverError>),
    /// The sink could not make room for it: the object cannot go on.
    SinkFailed(SinkError),
}

impl From<NotStored> for Stored {
    fn from(e: NotStored) -> Self {
        match e {
            NotStored::Dropped(reason) => Self::Refused(reason.into()),
            NotStored::Sink(error) => Self::SinkFailed(error),
        }
    }
}

impl<E: Into<Box<ReceiverError>>> From<E> for Stored {
    fn from(e: E) -> Self {
        Self::Refused(e.into())
    }
}

/// Stores a packet of an object being received; `true` when the object is complete.
fn store<O: super::sink::SinkObject, S>(
    key: &ReceiverEndpoint,
    object: &mut ObjectReceiver<O>,
    shared: &mut Shared<S>,
    alc: &AlcPacket<'_>,
    now: SystemTime,
) -> Result<bool, Stored> {
    object.last_activity = now;
    // A packet whose FEC Payload ID the packet alone does not define (ID 2 without EXT_FTI)
    // has it read now that the object's OTI is known.
    let resolved;
    let alc = match alc.payload_id() {
        Some(_) => alc,
        None => {
            resolved = alc.with_oti(&object.meta.oti)?;
            &resolved
        }
    };
    let payload_id = alc
        .payload_id()
        .ok_or_else(|| Box::new(ReceiverError::Malformed(WireError::PayloadIdNeedsOti)))?;
    let payload = alc.payload();
    let max_concurrent_blocks = shared.config.limits.max_concurrent_blocks;
    match object.push(
        payload_id.sbn,
        payload_id.esi,
        payload,
        payload_id.source_block_length,
        max_concurrent_blocks,
    )? {
        Pushed::Duplicate => shared.stats.duplicates += 1,
        Pushed::New { block_completed } => {
            hand_out_decodes(key, alc.lct().toi, object, shared);
            shared.stats.payload_bytes += payload.len() as u64;
            shared.stats.repair_symbols_used += object.take_repair_used();
            if block_completed
                && !object.is_complete()
                && object.progress_due(now, shared.config.progress_every)
            {
                shared.progress(
                    key,
                    alc.lct().toi,
                    object.received_bytes(),
                    object.meta.transfer_length,
                );
            }
        }
    }
    Ok(object.is_complete())
}

/// Queues the block decodes `object` made ready to go out of `push` for the caller to take.
fn hand_out_decodes<O: super::sink::SinkObject, S>(
    key: &ReceiverEndpoint,
    toi: u128,
    object: &mut ObjectReceiver<O>,
    shared: &mut Shared<S>,
) {
    for block in object.take_away() {
        shared.decode_jobs.push(DecodeJob {
            session: *key,
            toi,
            object: object.id,
            block,
        });
    }
}

/// Why an object cannot be received from its description: the packet's drop, and the reason
/// the object fails with.
struct Refused {
    drop: Box<ReceiverError>,
    reason: FailReason,
}

/// The content encoding of a packet's EXT_CENC, if it has one.
fn packet_cenc(alc: &AlcPacket<'_>) -> Result<Option<Cenc>, Refused> {
    match alc.ext_cenc() {
        Some(c) => match Cenc::from_code(c.content_encoding) {
            Some(cenc) => Ok(Some(cenc)),
            None => Err(Refused {
                drop: DropReason::UnknownContentEncoding.into(),
                reason: FailReason::UnknownContentEncoding(format!(
                    "EXT_CENC code {}",
                    c.content_encoding
                )),
            }),
        },
        None => Ok(None),
    }
}

/// What the sink is told of object `toi` of session `tsi` described by `meta`.
fn sink_description(tsi: u64, toi: u128, meta: &ObjectMetadata) -> ObjectDescription {
    ObjectDescription {
        tsi,
        toi,
        path: meta.path.clone(),
        len: meta.transfer_length,
        content_type: meta.content_type.clone(),
    }
}

/// The metadata of an object from its FDT description and, for what the FDT leaves out, the
/// packet's EXT_FTI and EXT_CENC when there is a packet. `Ok(None)`: not enough is known yet
/// (no OTI).
fn describe_from_fdt(
    file: &FdtFile,
    alc: Option<&AlcPacket<'_>>,
) -> Result<Option<ObjectMetadata>, Refused> {
    let path = file.path.clone().map_err(|e| Refused {
        drop: ReceiverError::Path(e.clone()).into(),
        reason: FailReason::Path(e),
    })?;
    let cenc = match alc.map(packet_cenc).transpose()?.flatten() {
        Some(cenc) => cenc,
        None => file.cenc.clone().map_err(|name| Refused {
            drop: DropReason::UnknownContentEncoding.into(),
            reason: FailReason::UnknownContentEncoding(name),
        })?,
    };
    let fti = alc.and_then(AlcPacket::fti);
    let transfer_length =
        file.transfer_length
            .or(fti.map(|o| o.transfer_length))
            .or(if cenc == Cenc::Null {
                file.content_length
            } else {
                None
            });
    let Some(transfer_length) = transfer_length else {
        return Ok(None);
    };
    let from_fdt = if file.fec_oti.fec_encoding_id.is_some() {
        match file.fec_oti.to_oti(transfer_length) {
            Ok(oti) => Some(oti),
            Err(e) if fti.is_none() => {
                return Err(Refused {
                    drop: ReceiverError::Oti(e.clone()).into(),
                    reason: FailReason::InvalidOti(e),
                });
            }
            Err(_) => None,
        }
    } else {
        None
    };
    let Some(mut oti) = from_fdt.or(fti) else {
        return Ok(None);
    };
    oti.transfer_length = transfer_length;
    Ok(Some(ObjectMetadata {
        content_location: Some(file.content_location.clone()),
        path: Some(path),
        content_length: file.content_length,
        transfer_length,
        content_type: file.content_type.clone(),
        content_md5: file.content_md5.clone(),
        oti,
        cenc,
        etag: file.etag.clone(),
        groups: file.groups.clone(),
        cache_control: file.cache_control,
        fdt_instance_id: Some(file.fdt_instance_id),
    }))
}

/// The metadata of an object that no FDT describes, from its EXT_FTI (and EXT_CENC).
fn describe_from_fti(alc: &AlcPacket<'_>) -> Result<Option<ObjectMetadata>, Refused> {
    let Some(oti) = alc.fti() else {
        return Ok(None);
    };
    let cenc = packet_cenc(alc)?.unwrap_or(Cenc::Null);
    Ok(Some(ObjectMetadata {
        content_location: None,
        path: None,
        content_length: None,
        transfer_length: oti.transfer_length,
        content_type: None,
        content_md5: None,
        oti,
        cenc,
        etag: None,
        groups: Vec::new(),
        cache_control: None,
        fdt_instance_id: None,
    }))
}
