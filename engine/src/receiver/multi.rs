//! `MultiReceiver`: the sans-IO FLUTE receiver entry point. Packets come in with the endpoint
//! they arrived on and the time; sessions are told apart by (endpoint, TSI) (RFC 6726 §4.1),
//! optionally filtered; what happens to objects comes out as polled [`ObjectEvent`]s.

use std::collections::VecDeque;
use std::time::SystemTime;

use crate::auth::{Checked, Verifier};
use crate::endpoint::UdpEndpoint;
use crate::wire::AlcPacket;

use super::config::Config;
use super::deferred::DecodeJob;
use super::error::{FailReason, ReceiverError};
use super::event::{ObjectEvent, ReceiverEndpoint};
use super::repair::IncompleteObject;
use super::session::{Session, Shared};
use super::sink::ObjectSink;
use super::stats::ReceiverStats;
use super::tsi_filter::TsiFilter;

/// A FLUTE receiver for any number of sessions, writing objects into a sink `S`.
///
/// ```
/// use std::time::SystemTime;
/// use xflute::endpoint::UdpEndpoint;
/// use xflute::receiver::{Config, MemorySink, MultiReceiver};
///
/// let mut receiver = MultiReceiver::new(MemorySink::new(1 << 30), Config::default());
/// let endpoint = UdpEndpoint::new("224.0.0.1".parse().unwrap(), 3400);
/// // A truncated packet is a typed, counted drop.
/// assert!(receiver.push(&endpoint, &[0x10, 0], SystemTime::now()).is_err());
/// assert_eq!(receiver.stats().total_drops(), 1);
/// while let Some(event) = receiver.poll_event() {
///     println!("{event:?}");
/// }
/// ```
#[derive(Debug)]
pub struct MultiReceiver<S: ObjectSink> {
    shared: Shared<S>,
    sessions: super::Map<ReceiverEndpoint, Session<S::Object>>,
    tsi_filter: TsiFilter,
    tsi_filtering: bool,
    /// Checks each packet first when the receiver authenticates (RFC 6584).
    verifier: Option<Verifier>,
    /// Objects handed over for repair, until taken.
    incomplete: VecDeque<IncompleteObject<S::Object>>,
}

impl<S: ObjectSink> MultiReceiver<S> {
    /// A receiver writing into `sink`, accepting every session until TSI filtering is enabled.
    pub fn new(sink: S, config: Config) -> Self {
        let verifier = config.auth.map(|auth| Verifier::new(auth.clone()));
        Self {
            verifier,
            shared: Shared::new(config, sink),
            incomplete: VecDeque::new(),
            sessions: super::Map::default(),
            tsi_filter: TsiFilter::default(),
            tsi_filtering: false,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Authenticates every packet with `verifier` from now on, or no longer when `None`
    /// (replaces what `Config::auth` set up).
    pub fn set_verifier(&mut self, verifier: Option<Verifier>) {
        self.verifier = verifier;
    }

    /// The packet verifier, when packets are authenticated.
    pub fn verifier(&self) -> Option<&Verifier> {
        self.verifier.as_ref()
    }

    /// Only accept the sessions added with [`Self::add_listen_tsi`] / [`Self::add_listen_all_tsi`].
    pub fn set_tsi_filtering(&mut self, enable: bool) {
        self.tsi_filtering = enable;
    }

    /// Accept TSI `tsi` on `endpoint` (when filtering).
    pub fn add_listen_tsi(&mut self, endpoint: UdpEndpoint, tsi: u64) {
        self.tsi_filter.add(endpoint, tsi);
    }

    /// Stop accepting TSI `tsi` on `endpoint`.
    pub fn remove_listen_tsi(&mut self, endpoint: &UdpEndpoint, tsi: u64) {
        self.tsi_filter.remove(endpoint, tsi);
    }

    /// Accept every TSI on `endpoint` (when filtering).
    pub fn add_listen_all_tsi(&mut self, endpoint: UdpEndpoint) {
        self.tsi_filter.add_all(endpoint);
    }

    /// Stop accepting every TSI on `endpoint`.
    pub fn remove_listen_all_tsi(&mut self, endpoint: &UdpEndpoint) {
        self.tsi_filter.remove_all(endpoint);
    }

    /// Takes one ALC packet (a UDP payload) that arrived on `endpoint` at `now`.
    ///
    /// `Ok` when the packet was used, held for its FDT, or recognised as a repeat; `Err` with a
    /// typed reason, also counted in [`Self::stats`], when it was dropped.
    pub fn push(
        &mut self,
        endpoint: &UdpEndpoint,
        packet: &[u8],
        now: SystemTime,
    ) -> Result<(), ReceiverError> {
        let result = self.push_inner(endpoint, packet, None, now);
        if let Err(e) = &result {
            self.shared.stats.count_drop(e.reason());
        }
        result
    }

    /// As [`Self::push`], for a packet whose MAC and signature were already checked, on any
    /// thread, by [`VerifierConfig::check`](crate::auth::VerifierConfig::check) of this
    /// receiver's configuration: only its Sequence Number is left to check against its
    /// session's window. `checked` must be that of this very packet. Without a verifier the
    /// packet is taken as by `push`.
    pub fn push_checked(
        &mut self,
        endpoint: &UdpEndpoint,
        packet: &[u8],
        checked: &Checked,
        now: SystemTime,
    ) -> Result<(), ReceiverError> {
        let result = self.push_inner(endpoint, packet, Some(checked), now);
        if let Err(e) = &result {
            self.shared.stats.count_drop(e.reason());
        }
        result
    }

    fn push_inner(
        &mut self,
        endpoint: &UdpEndpoint,
        packet: &[u8],
        checked: Option<&Checked>,
        now: SystemTime,
    ) -> Result<(), ReceiverError> {
        self.shared.stats.packets += 1;
        self.shared.stats.bytes += packet.len() as u64;
        if let Some(verifier) = &mut self.verifier {
            // Before anything else reads the packet: what does not verify touches no state.
            match checked {
                Some(checked) => verifier.admit(endpoint, checked)?,
                None => verifier.verify(endpoint, packet)?,
            }
        }
        let alc = AlcPacket::parse(packet)?;
        let tsi = alc.lct().tsi;
        if self.tsi_filtering && !self.tsi_filter.accepts(endpoint, tsi) {
            self.shared.stats.filtered += 1;
            return Ok(());
        }
        let key = ReceiverEndpoint {
            endpoint: *endpoint,
            tsi,
        };
        let session = match self.sessions.get_mut(&key) {
            Some(session) => session,
            None => {
                if alc.lct().close_session && alc.is_data_less() {
                    // Closing a session never seen: nothing to do.
                    return Ok(());
                }
                let configured = self.tsi_filtering && self.tsi_filter.lists(endpoint, tsi);
                if !configured {
                    self.make_room_for_a_session(now);
                }
                self.shared.stats.sessions_opened += 1;
                self.sessions
                    .entry(key)
                    .or_insert_with(|| Session::new(key, configured, now))
            }
        };
        session
            .push(&mut self.shared, &alc, packet, now)
            .map_err(|e| *e)
    }

    /// Sessions that the TSI filter does not list by name share `Limits::max_sessions` places:
    /// when they are all taken, the one with no packet for the longest goes (its objects fail
    /// with `FailReason::Evicted`). A flood of new TSIs thus churns through the idlest places
    /// and leaves an active session its own; a configured session has a place beyond the pool.
    fn make_room_for_a_session(&mut self, now: SystemTime) {
        let max = self.shared.config.limits.max_sessions;
        loop {
            let mut pooled = 0;
            let mut idlest: Option<(ReceiverEndpoint, SystemTime)> = None;
            for (key, session) in &self.sessions {
                if session.is_configured() {
                    continue;
                }
                pooled += 1;
                let seen = session.last_activity();
                if idlest.is_none_or(|(_, t)| seen < t) {
                    idlest = Some((*key, seen));
                }
            }
            let Some((victim, _)) = idlest.filter(|_| pooled >= max.max(1)) else {
                return;
            };
            if let Some(mut session) = self.sessions.remove(&victim) {
                session.close(&mut self.shared, || FailReason::Evicted, now);
                self.incomplete.extend(session.take_handed_over());
                self.shared.stats.sessions_evicted += 1;
                self.shared.stats.sessions_closed += 1;
            }
        }
    }

    /// The block decodes handed out of `push` since the last call
    /// (`Config::defer_decode_from_bytes`): run each ([`DecodeJob::run`]), on any thread, and
    /// give it back with [`Self::finish_decode`].
    pub fn take_decode_jobs(&mut self) -> Vec<DecodeJob> {
        if self.shared.decode_jobs.is_empty() {
            return Vec::new();
        }
        std::mem::take(&mut self.shared.decode_jobs)
    }

    /// Takes back a decode job, run or not (one not run is tried again with more symbols):
    /// its block lands in its object, which may complete. A job whose object has ended since
    /// is dropped.
    pub fn finish_decode(&mut self, job: DecodeJob, now: SystemTime) {
        if let Some(session) = self.sessions.get_mut(&job.session) {
            session.finish_decode(&mut self.shared, job, now);
        }
    }

    /// Expires what has timed out: objects (failed with `Timeout`), objects and sessions closed
    /// by the sender once the close grace has passed, idle sessions, expired FDT instances and
    /// their descriptions, and held packets. Call it from time to time (every second is plenty).
    pub fn cleanup(&mut self, now: SystemTime) {
        let shared = &mut self.shared;
        let incomplete = &mut self.incomplete;
        let before = self.sessions.len();
        self.sessions.retain(|_, session| {
            let ended = session.cleanup(shared, now);
            incomplete.extend(session.take_handed_over());
            !ended
        });
        self.shared.stats.sessions_closed += (before - self.sessions.len()) as u64;
    }

    /// Fails every object still being received (the sink discards them) and forgets every
    /// session: what a receiver does when it stops.
    pub fn close_all(&mut self, now: SystemTime) {
        let shared = &mut self.shared;
        for session in self.sessions.values_mut() {
            session.close(shared, || FailReason::SessionClosed, now);
            self.incomplete.extend(session.take_handed_over());
        }
        self.shared.stats.sessions_closed += self.sessions.len() as u64;
        self.sessions.clear();
    }

    /// Whether objects that cannot complete from the network (their session closed or timed
    /// out, the sender closed them, no packet within the object timeout) are handed over for
    /// a repair by unicast ([`Self::take_incomplete`]) instead of being discarded. Only objects
    /// an FDT describes with a Content-Location and no content encoding are: their bytes are
    /// the file's. Off by default.
    pub fn set_hand_over_incomplete(&mut self, on: bool) {
        self.shared.hand_over = on;
    }

    /// The next object handed over for repair, oldest first (see
    /// [`Self::set_hand_over_incomplete`]). It holds its sink object: the temporary file stays
    /// until it is finished or aborted.
    pub fn take_incomplete(&mut self) -> Option<IncompleteObject<S::Object>> {
        self.incomplete.pop_front()
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<ObjectEvent> {
        self.shared.events.pop_front()
    }

    /// The counters.
    pub fn stats(&self) -> &ReceiverStats {
        &self.shared.stats
    }

    /// The sink.
    pub fn sink(&self) -> &S {
        &self.shared.sink
    }

    /// The sink, mutably (to take completed objects from a [`super::MemorySink`]).
    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.shared.sink
    }

    /// The sink, giving up the receiver (objects still being received are dropped with it;
    /// call [`Self::close_all`] first to have the sink discard them).
    pub fn into_sink(self) -> S {
        self.shared.sink
    }

    /// The objects announced by the live FDT instances of every session, as (session, TOI,
    /// Content-Location): what a receiver expects, whether or not any packet of it came.
    pub fn announced(&self) -> impl Iterator<Item = (&ReceiverEndpoint, u128, &str)> + '_ {
        self.sessions.iter().flat_map(|(key, session)| {
            session
                .announced()
                .map(move |(toi, location)| (key, toi, location))
        })
    }

    /// The sessions tracked.
    pub fn sessions(&self) -> impl Iterator<Item = &ReceiverEndpoint> + '_ {
        self.sessions.keys()
    }

    /// The sessions that hold an FDT instance that has not expired: those whose
    /// [`announced`](Self::announced) files are the sender's whole list, even when it is empty.
    pub fn sessions_with_fdt(&self) -> impl Iterator<Item = &ReceiverEndpoint> + '_ {
        self.sessions
            .iter()
            .filter(|(_, session)| session.holds_fdt())
            .map(|(key, _)| key)
    }

    /// Sessions tracked.
    pub fn nb_sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Objects being received, over all sessions.
    pub fn nb_objects(&self) -> usize {
        self.sessions.values().map(Session::nb_objects).sum()
    }

    /// Bytes of packets held for their FDT, over all sessions.
    pub fn held_bytes(&self) -> usize {
        self.shared.held.pending.used() as usize
    }

    /// Bytes of file descriptions kept from live FDT instances, over all sessions.
    pub fn description_bytes(&self) -> usize {
        self.shared.descriptions.used() as usize
    }

    /// Bytes of sink regions taken by the objects being received (`Limits::max_receiving_bytes`).
    pub fn receiving_bytes(&self) -> u64 {
        self.shared.receiving.used()
    }

    /// Memory held for input not verified yet (`Limits::max_memory_bytes`): held packets,
    /// file descriptions, FDT instances and objects being received.
    pub fn memory_bytes(&self) -> u64 {
        self.shared.memory.used()
    }
}
