//! The send engine: one worker thread per tx queue, each running its share of the FLUTE
//! sessions. For AF_XDP the worker takes a free UMEM frame, lets [`Sender::write_next`] write the
//! ALC packet in place behind room for the headers, writes the Ethernet/IP/UDP headers from the
//! channel's template ([`UdpFrameBuilder`], checksums included) in front, and hands frames to the
//! tx ring in batches with one kick each; completed frames are recycled from the completion
//! ring. For UDP sockets, packets of equal length are packed back to back and sent with
//! `sendmmsg` and UDP GSO. A token bucket in bits per second paces every worker. The pcap backend
//! writes the frames into a capture instead, on a clock of its own that advances at the rate.
//!
//! A running engine is steered through its handle: objects are added, replaced and removed,
//! the FDT republished and the rate changed while it sends ([`TxEngine::add_object`] and the
//! methods next to it). Each worker takes these requests between two batches, so the packet path
//! never waits on a lock. With [`TxEngineBuilder::persistent`] the sessions stay up with no
//! object until the engine is stopped, as a service's do.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver as CommandReceiver, Sender as CommandSender};

use super::rx::pin;
use super::stats::Published;
use super::{Backend, RuntimeError, TokenBucket, TxCounters, TxStats};
use crate::io::frame::{LinkType, UdpFrameBuilder};
use crate::io::pcap::PcapWriter;
use crate::io::prefetch::prefetch;
use crate::io::udp::UdpSocket;
use crate::io::xsk::{Umem, UmemConfig, XskConfig, XskSocket};
use crate::sender::{ObjectDesc, Sender, SenderEvent, StopReason};

/// Frames per tx ring submission (and kick), packets per `sendmmsg`.
const BATCH: u32 = 64;
/// How often a worker publishes its counters.
const PUBLISH_EVERY: Duration = Duration::from_millis(50);
/// How many rounds ahead the worker prefetches a session's symbols: one packet of user work
/// takes less than the DRAM latency the prefetch has to hide.
const PREFETCH_AHEAD: u32 = 2;
/// The link rate a capture's timestamps follow when no rate is set.
const PCAP_DEFAULT_RATE_BPS: u64 = 1_000_000_000;
/// UDP source port of every session.
const SOURCE_PORT: u16 = 40_000;
/// How long a handle waits for a worker to take a request (a worker takes them between
/// batches, every few microseconds while it sends and at least every millisecond while idle).
const CONTROL_PATIENCE: Duration = Duration::from_secs(5);
/// The largest packet a persistent session may grow to as objects of longer symbols are added:
/// a jumbo frame's payload.
const PERSISTENT_MAX_PACKET: usize = 9216;

/// One FLUTE session to send, with the source address its packets carry.
#[derive(Debug)]
pub struct TxSession {
    /// The sans-IO sender, with its objects added.
    pub sender: Sender,
    /// Source IP address of the packets.
    pub source: IpAddr,
}

/// Builds a [`TxEngine`].
#[derive(Debug)]
pub struct TxEngineBuilder {
    interface: Option<String>,
    queues: u32,
    cores: Vec<usize>,
    backend: Backend,
    sessions: Vec<TxSession>,
    rate_bps: Option<u64>,
    run_for: Option<Duration>,
    macs: Option<([u8; 6], [u8; 6])>,
    pcap_out: Option<PathBuf>,
    gso: bool,
    persistent: bool,
}

/// A running send engine, and the handle that changes what it sends.
#[derive(Debug)]
pub struct TxEngine {
    workers: Vec<JoinHandle<Result<(), RuntimeError>>>,
    published: Vec<Arc<Published<TxCounters>>>,
    stop: Arc<AtomicBool>,
    /// Each worker's request queue.
    control: Vec<CommandSender<TxCommand>>,
    /// Session `i` (in the order given to the builder) is the `.1`th of worker `.0`.
    placement: Vec<(usize, usize)>,
}

/// A request to a worker, with where its answer goes.
enum TxCommand {
    Add {
        session: usize,
        priority: u32,
        object: Box<ObjectDesc>,
        replaces: Option<u128>,
        reply: CommandSender<Result<u128, RuntimeError>>,
    },
    Remove {
        session: usize,
        toi: u128,
        reply: CommandSender<Result<bool, RuntimeError>>,
    },
    Publish {
        session: usize,
        reply: CommandSender<Result<u32, RuntimeError>>,
    },
    SetRate {
        rate_bps: Option<u64>,
        reply: CommandSender<Result<(), RuntimeError>>,
    },
}

impl TxEngine {
    /// A builder with no session yet.
    pub fn builder() -> TxEngineBuilder {
        TxEngineBuilder {
            interface: None,
            queues: 1,
            cores: Vec::new(),
            backend: Backend::Xdp,
            sessions: Vec::new(),
            rate_bps: None,
            run_for: None,
            macs: None,
            pcap_out: None,
            gso: true,
            persistent: false,
        }
    }

    /// Adds `object` to queue `priority` of session `session` (its index in the order the
    /// builder was given sessions), publishes a new FDT Instance listing it, and returns its
    /// TOI. It goes out after the packets already queued, at the engine's rate.
    pub fn add_object(
        &self,
        session: usize,
        priority: u32,
        object: ObjectDesc,
    ) -> Result<u128, RuntimeError> {
        self.ask(session, |session, reply| TxCommand::Add {
            session,
            priority,
            object: Box::new(object),
            replaces: None,
            reply,
        })
    }

    /// A new version of object `old_toi`: adds `object` under a new TOI, removes the old one,
    /// and publishes one FDT Instance that lists only the new version. Returns the new TOI.
    pub fn replace_object(
        &self,
        session: usize,
        old_toi: u128,
        priority: u32,
        object: ObjectDesc,
    ) -> Result<u128, RuntimeError> {
        self.ask(session, |session, reply| TxCommand::Add {
            session,
            priority,
            object: Box::new(object),
            replaces: Some(old_toi),
            reply,
        })
    }

    /// Removes object `toi` from session `session` and publishes an FDT Instance without it
    /// (an object being sent ends with a Close Object packet). Returns false if the session
    /// had no such object.
    pub fn remove_object(&self, session: usize, toi: u128) -> Result<bool, RuntimeError> {
        self.ask(session, |session, reply| TxCommand::Remove {
            session,
            toi,
            reply,
        })
    }

    /// Publishes a new FDT Instance of session `session` now; returns its FDT Instance ID.
    pub fn publish(&self, session: usize) -> Result<u32, RuntimeError> {
        self.ask(session, |session, reply| TxCommand::Publish {
            session,
            reply,
        })
    }

    /// Changes the rate of the whole engine (`None`: unlimited), shared among its workers.
    pub fn set_rate(&self, rate_bps: Option<u64>) -> Result<(), RuntimeError> {
        let share = rate_bps.map(|r| (r / self.control.len().max(1) as u64).max(1));
        for worker in 0..self.control.len() {
            self.ask_worker(worker, |reply| TxCommand::SetRate {
                rate_bps: share,
                reply,
            })?;
        }
        Ok(())
    }

    /// The number of sessions.
    pub fn sessions(&self) -> usize {
        self.placement.len()
    }

    fn ask<T>(
        &self,
        session: usize,
        command: impl FnOnce(usize, CommandSender<Result<T, RuntimeError>>) -> TxCommand,
    ) -> Result<T, RuntimeError> {
        let &(worker, local) = self
            .placement
            .get(session)
            .ok_or_else(|| RuntimeError::Config(format!("no session {session}")))?;
        self.ask_worker(worker, |reply| command(local, reply))
    }

    fn ask_worker<T>(
        &self,
        worker: usize,
        command: impl FnOnce(CommandSender<Result<T, RuntimeError>>) -> TxCommand,
    ) -> Result<T, RuntimeError> {
        let gone = || RuntimeError::Control("the engine has stopped".into());
        let queue = self.control.get(worker).ok_or_else(gone)?;
        let (reply, answer) = crossbeam_channel::bounded(1);
        queue.send(command(reply)).map_err(|_| gone())?;
        match answer.recv_timeout(CONTROL_PATIENCE) {
            Ok(result) => result,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => Err(RuntimeError::Control(
                format!("worker {worker} did not answer within {CONTROL_PATIENCE:?}"),
            )),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Err(gone()),
        }
    }

    /// Counters as last published, per worker.
    pub fn stats(&self) -> TxStats {
        TxStats {
            workers: self.published.iter().map(|p| p.load().0).collect(),
        }
    }

    /// Whether every worker is done (all sessions sent, time up, or stopped).
    pub fn is_finished(&self) -> bool {
        self.workers.iter().all(JoinHandle::is_finished)
    }

    /// Asks the workers to stop after their current batch.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Waits until every session is sent (or time is up, or the stop flag is set) and returns
    /// the final counters.
    pub fn join(mut self) -> Result<TxStats, RuntimeError> {
        let mut result = Ok(());
        for (i, worker) in std::mem::take(&mut self.workers).into_iter().enumerate() {
            match worker.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => result = Err(e),
                Err(_) => result = Err(RuntimeError::WorkerPanicked(i)),
            }
        }
        result.map(|()| self.stats())
    }
}

impl Drop for TxEngine {
    fn drop(&mut self) {
        // After `join` nothing is left to stop; setting the flag then would make the caller's
        // shared flag (also set by SIGINT) read as an interruption of a send that completed.
        if self.workers.is_empty() {
            return;
        }
        self.stop.store(true, Ordering::SeqCst);
        for worker in std::mem::take(&mut self.workers) {
            let _ = worker.join();
        }
    }
}

impl TxEngineBuilder {
    /// The interface to send on (required by AF_XDP; the multicast interface for UDP).
    pub fn interface(mut self, interface: impl Into<String>) -> Self {
        self.interface = Some(interface.into());
        self
    }

    /// Tx queues (AF_XDP): one socket and worker each; sessions are dealt round robin.
    pub fn queues(mut self, queues: u32) -> Self {
        self.queues = queues.max(1);
        self
    }

    /// Cores to pin the workers to (worker `i` on `cores[i % len]`); unpinned by default.
    pub fn cores(mut self, cores: Vec<usize>) -> Self {
        self.cores = cores;
        self
    }

    /// AF_XDP or UDP sockets.
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Adds a session.
    pub fn session(mut self, sender: Sender, source: IpAddr) -> Self {
        self.sessions.push(TxSession { sender, source });
        self
    }

    /// Total rate over all workers, bits per second on the wire; `None` for as fast as possible.
    pub fn rate_bps(mut self, rate_bps: Option<u64>) -> Self {
        self.rate_bps = rate_bps;
        self
    }

    /// Stop after this long even if objects remain (carousels never end by themselves).
    pub fn run_for(mut self, duration: Option<Duration>) -> Self {
        self.run_for = duration;
        self
    }

    /// Ethernet source and destination for unicast destinations (AF_XDP); multicast
    /// destinations always use the group's MAC.
    pub fn macs(mut self, source: [u8; 6], destination: [u8; 6]) -> Self {
        self.macs = Some((source, destination));
        self
    }

    /// Whether the UDP backend hands the kernel runs of packets as one GSO datagram (where the
    /// kernel has UDP GSO; on by default). Off, every packet is its own `sendmmsg` message, as
    /// a capture on the sending host then records it.
    pub fn gso(mut self, on: bool) -> Self {
        self.gso = on;
        self
    }

    /// Keeps the sessions up when they have no object left (a service adds objects as they
    /// come, through [`TxEngine::add_object`]), until the engine is stopped; without it, a
    /// session ends once its objects are sent. A persistent session's packets may grow up to a
    /// jumbo frame as objects of longer symbols are added.
    pub fn persistent(mut self, on: bool) -> Self {
        self.persistent = on;
        self
    }

    /// The capture file the pcap backend writes (replacing any file there). Its timestamps
    /// follow the rate (1 Gbit/s when none is set), and `run_for` counts in capture time, so a
    /// carousel of a given duration can be captured in far less.
    pub fn pcap_out(mut self, path: impl Into<PathBuf>) -> Self {
        self.pcap_out = Some(path.into());
        self
    }

    /// Opens the sockets (in the calling thread's network namespace) and starts sending.
    pub fn start(self, stop: Arc<AtomicBool>) -> Result<TxEngine, RuntimeError> {
        if self.sessions.is_empty() {
            return Err(RuntimeError::Config("no session to send".into()));
        }
        let workers_n = match self.backend {
            Backend::Xdp => self.queues.min(self.sessions.len() as u32).max(1) as usize,
            Backend::Udp | Backend::Pcap => 1,
        };
        let mut shares: Vec<Vec<OutSession>> = (0..workers_n).map(|_| Vec::new()).collect();
        let mut placement = Vec::with_capacity(self.sessions.len());
        for (i, session) in self.sessions.into_iter().enumerate() {
            let destination = session.sender.endpoint().destination_socket();
            let mut frames =
                UdpFrameBuilder::new(SocketAddr::new(session.source, SOURCE_PORT), destination)?;
            if let Some((src, dst)) = self.macs {
                let dst = if destination.ip().is_multicast() {
                    UdpFrameBuilder::new(SocketAddr::new(session.source, SOURCE_PORT), destination)?
                        .destination_mac()
                } else {
                    dst
                };
                frames = frames.with_macs(src, dst);
            }
            if let Some(share) = shares.get_mut(i % workers_n) {
                placement.push((i % workers_n, share.len()));
                share.push(OutSession {
                    sender: session.sender,
                    frames,
                    destination,
                    done: false,
                    cycle: CycleClock::default(),
                });
            }
        }
        let rate_share = self.rate_bps.map(|r| (r / workers_n as u64).max(1));
        let deadline = match self.backend {
            // Capture time, counted by the worker.
            Backend::Pcap => None,
            Backend::Xdp | Backend::Udp => self.run_for.map(|d| Instant::now() + d),
        };
        let mut engine = TxEngine {
            workers: Vec::new(),
            published: Vec::new(),
            stop,
            control: Vec::new(),
            placement,
        };
        for (i, channels) in shares.into_iter().enumerate() {
            let (control, commands) = crossbeam_channel::unbounded();
            engine.control.push(control);
            let published = Published::new(TxCounters::default());
            engine.published.push(Arc::clone(&published));
            let core = super::worker_core(&self.cores, i);
            let worker = TxWorker {
                channels,
                bucket: TokenBucket::new(rate_share, 64 * 1514 * 8, Instant::now()),
                counters: TxCounters::default(),
                published,
                stop: Arc::clone(&engine.stop),
                deadline,
                next: 0,
                commands,
                persistent: self.persistent,
                capacity: None,
            };
            let handle = match self.backend {
                Backend::Xdp => {
                    let interface = self.interface.clone().ok_or_else(|| {
                        RuntimeError::Config("the XDP backend needs an interface".into())
                    })?;
                    let (socket, room) = open_xsk(&interface, i as u32, &worker.channels)?;
                    spawn(i, move || {
                        pin(core);
                        worker.run(XdpBackend { socket, room })
                    })?
                }
                Backend::Udp => {
                    let mut socket = open_udp(&worker.channels, self.interface.as_deref())?;
                    if !self.gso {
                        socket.set_gso(false);
                    }
                    spawn(i, move || {
                        pin(core);
                        let backend = UdpBackend::new(socket, &worker);
                        worker.run(backend)
                    })?
                }
                Backend::Pcap => {
                    let path = self.pcap_out.clone().ok_or_else(|| {
                        RuntimeError::Config("the pcap backend needs a capture file".into())
                    })?;
                    let file = File::create(&path).map_err(|source| RuntimeError::Io {
                        what: format!("creating {}", path.display()),
                        source,
                    })?;
                    let pcap = PcapWriter::new(BufWriter::new(file), LinkType::Ethernet)?;
                    let rate = self.rate_bps.unwrap_or(PCAP_DEFAULT_RATE_BPS).max(1);
                    let run_for = self.run_for;
                    spawn(i, move || {
                        pin(core);
                        worker.run(PcapBackend::new(pcap, rate, run_for))
                    })?
                }
            };
            engine.workers.push(handle);
        }
        Ok(engine)
    }
}

fn spawn(
    index: usize,
    f: impl FnOnce() -> Result<(), RuntimeError> + Send + 'static,
) -> Result<JoinHandle<Result<(), RuntimeError>>, RuntimeError> {
    std::thread::Builder::new()
        .name(format!("xflute-tx{index}"))
        .spawn(f)
        .map_err(|source| RuntimeError::Io {
            what: "spawning a worker".into(),
            source,
        })
}

/// An AF_XDP socket on `queue`, and the bytes a frame of its UMEM holds.
fn open_xsk(
    interface: &str,
    queue: u32,
    channels: &[OutSession],
) -> Result<(XskSocket, usize), RuntimeError> {
    let umem = Umem::new(UmemConfig {
        frame_count: 4096,
        ..UmemConfig::default()
    })?;
    let room = umem.frame_size() as usize;
    for c in channels {
        let need = c.frames.header_len() + c.sender.max_packet_len();
        if need > room {
            return Err(RuntimeError::Config(format!(
                "packets of {need} bytes do not fit {room}-byte UMEM frames; use a shorter symbol length"
            )));
        }
    }
    let config = XskConfig {
        rx_frames: 64,
        tx_frames: 4032,
        rx_size: 64,
        tx_size: 2048,
        ..XskConfig::default()
    };
    Ok((XskSocket::bind(&umem, interface, queue, &config)?, room))
}

fn open_udp(channels: &[OutSession], interface: Option<&str>) -> Result<UdpSocket, RuntimeError> {
    let v4 = channels.first().is_none_or(|c| c.destination.is_ipv4());
    let any: IpAddr = if v4 {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        Ipv6Addr::UNSPECIFIED.into()
    };
    let source = channels
        .first()
        .map(|c| c.frames.source().ip())
        .filter(|ip| !ip.is_unspecified())
        .unwrap_or(any);
    let socket = UdpSocket::bind(SocketAddr::new(source, 0))?;
    if let Some(interface) = interface {
        socket.set_multicast_out(interface, 8)?;
    }
    Ok(socket)
}

/// A session with its header template.
struct OutSession {
    sender: Sender,
    frames: UdpFrameBuilder,
    destination: SocketAddr,
    done: bool,
    cycle: CycleClock,
}

impl OutSession {
    fn finished(&self, persistent: bool, deadline: Option<Instant>, now: Instant) -> bool {
        (!persistent && self.sender.nb_objects() == 0) || deadline.is_some_and(|d| now >= d)
    }
}

/// The carousel's cycle: the time from one start of an object's transfer to its next start,
/// the latest one measured. Bounded by the session's objects (an entry leaves with its object).
#[derive(Default)]
struct CycleClock {
    last_start: HashMap<u128, SystemTime>,
}

impl CycleClock {
    /// Takes a sender event; returns the cycle it closes, if any.
    fn event(&mut self, event: &SenderEvent) -> Option<Duration> {
        match *event {
            SenderEvent::TransferStarted { toi, now, .. } => self
                .last_start
                .insert(toi, now)
                .and_then(|before| now.duration_since(before).ok()),
            SenderEvent::TransferStopped { toi, reason, .. } => {
                if reason.is_final() {
                    self.last_start.remove(&toi);
                }
                None
            }
        }
    }
}

struct TxWorker {
    channels: Vec<OutSession>,
    bucket: TokenBucket,
    counters: TxCounters,
    published: Arc<Published<TxCounters>>,
    stop: Arc<AtomicBool>,
    deadline: Option<Instant>,
    next: usize,
    commands: CommandReceiver<TxCommand>,
    persistent: bool,
    /// The longest ALC packet the worker's buffers take (set when its loop starts).
    capacity: Option<usize>,
}

impl TxWorker {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Marks sessions that are finished (all of them when `expired`); returns the index of one
    /// that needs its Close Session packet sent, and whether all are done.
    fn closing(&mut self, expired: bool) -> (Option<usize>, bool) {
        let now = Instant::now();
        let stop = expired || self.stopped();
        let mut all = true;
        let mut close = None;
        for (i, c) in self.channels.iter_mut().enumerate() {
            if !c.done && (stop || c.finished(self.persistent, self.deadline, now)) {
                c.done = true;
                close = close.or(Some(i));
            }
            all &= c.done;
        }
        (close, all)
    }

    /// The next packet of any session due at `now`, taking the sessions in turn: written at
    /// `buf[header_len..]` with the session's Ethernet/IP/UDP headers in front when `frames`, at
    /// `buf[..]` otherwise. Returns the session, the frame's (or packet's) length and the ALC
    /// length; `None` when nothing is due.
    fn write_next(
        &mut self,
        buf: &mut [u8],
        now: SystemTime,
        frames: bool,
    ) -> Option<(usize, usize, usize)> {
        let n = self.channels.len();
        for _ in 0..n {
            let i = self.next % n;
            self.next = self.next.wrapping_add(1);
            let Some(c) = self.channels.get_mut(i) else {
                continue;
            };
            if c.done {
                continue;
            }
            let hdr = if frames { c.frames.header_len() } else { 0 };
            let (head, body) = buf.split_at_mut(hdr.min(buf.len()));
            if let Some(len) = c.sender.write_next(body, now) {
                let payload = body.get(..len)?;
                if frames {
                    c.frames.write_headers(head, payload).ok()?;
                }
                if let Some(next) = c.sender.upcoming_payload(PREFETCH_AHEAD) {
                    prefetch(next);
                }
                return Some((i, hdr + len, len));
            }
        }
        None
    }

    /// The longest Ethernet/IP/UDP headers of the worker's sessions.
    fn max_header_len(&self) -> usize {
        self.channels
            .iter()
            .map(|c| c.frames.header_len())
            .max()
            .unwrap_or_default()
    }

    /// The longest ALC packet of the worker's sessions; a persistent worker leaves room for
    /// sessions whose objects' symbols grow.
    fn max_packet_len(&self) -> usize {
        let longest = self
            .channels
            .iter()
            .map(|c| c.sender.max_packet_len())
            .max()
            .unwrap_or(1500);
        if self.persistent {
            longest.max(PERSISTENT_MAX_PACKET)
        } else {
            longest
        }
    }

    /// How long to sleep when nothing is due: until the earliest session timeout, at most 1 ms.
    fn idle_for(&self, now: SystemTime) -> Duration {
        self.channels
            .iter()
            .filter(|c| !c.done)
            .filter_map(|c| c.sender.next_timeout())
            .min()
            .map_or(Duration::from_millis(1), |t| {
                t.duration_since(now).unwrap_or_default()
            })
            .min(Duration::from_millis(1))
    }

    fn publish(&self) {
        self.published.store(&self.counters, None);
    }

    /// Takes the handle's requests and the senders' events; called between batches.
    fn control(&mut self, now: SystemTime) {
        while let Ok(command) = self.commands.try_recv() {
            match command {
                TxCommand::Add {
                    session,
                    priority,
                    object,
                    replaces,
                    reply,
                } => {
                    let _ = reply.send(self.add(session, priority, *object, replaces, now));
                }
                TxCommand::Remove {
                    session,
                    toi,
                    reply,
                } => {
                    let result = self.session(session).and_then(|c| {
                        let removed = c.sender.remove_object(toi);
                        // An object removed between transfers gets no stop event.
                        c.cycle.last_start.remove(&toi);
                        let id = if removed {
                            Some(c.sender.publish(now)?)
                        } else {
                            None
                        };
                        Ok((removed, id))
                    });
                    let result = result.map(|(removed, id)| {
                        if let Some(id) = id {
                            self.counters.fdt_instance_id = id;
                        }
                        removed
                    });
                    let _ = reply.send(result);
                }
                TxCommand::Publish { session, reply } => {
                    let result = self
                        .session(session)
                        .and_then(|c| Ok(c.sender.publish(now)?));
                    if let Ok(id) = result {
                        self.counters.fdt_instance_id = id;
                    }
                    let _ = reply.send(result);
                }
                TxCommand::SetRate { rate_bps, reply } => {
                    self.bucket = TokenBucket::new(rate_bps, 64 * 1514 * 8, Instant::now());
                    let _ = reply.send(Ok(()));
                }
            }
        }
        for c in &mut self.channels {
            while let Some(event) = c.sender.poll_event() {
                if let Some(cycle) = c.cycle.event(&event) {
                    self.counters.carousel_cycle_us =
                        u64::try_from(cycle.as_micros()).unwrap_or(u64::MAX);
                }
                if let SenderEvent::TransferStopped { reason, .. } = event {
                    match reason {
                        StopReason::Sent | StopReason::Expired => self.counters.transfers += 1,
                        StopReason::Failed => self.counters.transfers_failed += 1,
                        StopReason::Removed => {}
                    }
                }
            }
        }
    }

    fn session(&mut self, session: usize) -> Result<&mut OutSession, RuntimeError> {
        match self.channels.get_mut(session) {
            Some(c) if !c.done => Ok(c),
            Some(_) => Err(RuntimeError::Control(format!(
                "session {session} has ended"
            ))),
            None => Err(RuntimeError::Control(format!("no session {session}"))),
        }
    }

    fn add(
        &mut self,
        session: usize,
        priority: u32,
        object: ObjectDesc,
        replaces: Option<u128>,
        now: SystemTime,
    ) -> Result<u128, RuntimeError> {
        let capacity = self.capacity;
        let c = self.session(session)?;
        let toi = c.sender.add_object(priority, object)?;
        // The worker's buffers were sized when it started: an object whose packets would not
        // fit them is refused rather than cut.
        if capacity.is_some_and(|room| c.sender.max_packet_len() > room) {
            c.sender.remove_object(toi);
            return Err(RuntimeError::Config(format!(
                "the object's packets would be longer than the {} bytes this engine sends",
                capacity.unwrap_or_default()
            )));
        }
        if let Some(old) = replaces {
            c.sender.remove_object(old);
        }
        let id = c.sender.publish(now)?;
        self.counters.fdt_instance_id = id;
        Ok(toi)
    }

    /// The send loop, the same for every backend: take the handle's requests, close the
    /// sessions that are done, pace, write and send, publish the counters.
    fn run<B: TxBackend>(mut self, mut backend: B) -> Result<(), RuntimeError> {
        self.capacity = Some(backend.capacity(&self));
        let mut last_publish = Instant::now();
        loop {
            self.control(backend.now());
            let (close, all_done) = self.closing(backend.expired());
            if let Some(i) = close {
                backend.close_session(&mut self, i)?;
            }
            if all_done {
                break;
            }
            let allowed = match backend.packet_bits() {
                Some(bits) => {
                    self.bucket.refill(Instant::now());
                    let allowed = self.bucket.allowance(bits).min(u64::from(BATCH)) as u32;
                    if allowed == 0 {
                        std::thread::sleep(self.bucket.wait_for(bits));
                        continue;
                    }
                    allowed
                }
                None => 1,
            };
            let now = backend.now();
            match backend.send(&mut self, allowed, now)? {
                Sent::Packets(0) => backend.idle(&self, now),
                Sent::Packets(_) => {}
                Sent::Blocked => std::thread::yield_now(),
            }
            let t = Instant::now();
            if t.duration_since(last_publish) >= PUBLISH_EVERY {
                self.publish();
                last_publish = t;
            }
        }
        backend.finish(&mut self)?;
        self.publish();
        Ok(())
    }
}

/// What a send backend did with a batch.
enum Sent {
    /// This many packets went (none: nothing was due).
    Packets(u32),
    /// The backend had no room (a full tx ring): try again at once.
    Blocked,
}

/// Where a send worker's packets go: the one part of the loop ([`TxWorker::run`]) that differs
/// between AF_XDP, UDP sockets and a capture file.
trait TxBackend {
    /// The longest ALC packet the backend's buffers take.
    fn capacity(&self, worker: &TxWorker) -> usize;

    /// The clock the senders run on: the wall clock, or a capture's own.
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    /// Whether the run's time is up on the backend's clock (a capture's `run_for`); live
    /// engines end at the worker's deadline instead.
    fn expired(&self) -> bool {
        false
    }

    /// What one packet may cost the rate limiter, in bits; `None`: the backend is not paced in
    /// real time and takes one packet at a time.
    fn packet_bits(&self) -> Option<u64>;

    /// Writes and sends at most `allowed` packets due at `now`.
    fn send(
        &mut self,
        worker: &mut TxWorker,
        allowed: u32,
        now: SystemTime,
    ) -> Result<Sent, RuntimeError>;

    /// Sends session `i`'s Close Session packet, after every packet already queued.
    fn close_session(&mut self, worker: &mut TxWorker, i: usize) -> Result<(), RuntimeError>;

    /// Nothing was due at `now`: waits until something may be.
    fn idle(&mut self, worker: &TxWorker, now: SystemTime) {
        std::thread::sleep(worker.idle_for(now));
    }

    /// After the last packet: lets what is queued out.
    fn finish(&mut self, worker: &mut TxWorker) -> Result<(), RuntimeError>;
}

/// AF_XDP: packets written in place in UMEM frames behind their headers, a kick per batch.
struct XdpBackend {
    socket: XskSocket,
    /// Bytes a UMEM frame holds.
    room: usize,
}

impl TxBackend for XdpBackend {
    fn capacity(&self, worker: &TxWorker) -> usize {
        self.room.saturating_sub(worker.max_header_len())
    }

    fn packet_bits(&self) -> Option<u64> {
        Some(1514 * 8)
    }

    fn send(
        &mut self,
        worker: &mut TxWorker,
        allowed: u32,
        now: SystemTime,
    ) -> Result<Sent, RuntimeError> {
        let mut bits = 0u64;
        let mut alc = 0u64;
        let free_before = self.socket.tx_free_frames();
        let queued =
            self.socket
                .send(allowed, |frame| match worker.write_next(frame, now, true) {
                    Some((_, len, alc_len)) => {
                        bits += (len as u64 + 24) * 8;
                        alc += alc_len as u64;
                        len
                    }
                    None => 0,
                })?;
        worker.bucket.consume(bits);
        worker.counters.packets += u64::from(queued);
        worker.counters.bytes += bits / 8;
        worker.counters.alc_bytes += alc;
        if queued > 0 {
            worker.counters.batches += 1;
        }
        if free_before == 0 && queued == 0 {
            worker.counters.ring_full += 1;
            return Ok(Sent::Blocked);
        }
        Ok(Sent::Packets(queued))
    }

    fn close_session(&mut self, worker: &mut TxWorker, i: usize) -> Result<(), RuntimeError> {
        let Some(c) = worker.channels.get(i) else {
            return Ok(());
        };
        let frame = c.frames.build(&c.sender.read_close_session())?;
        for _ in 0..100 {
            let sent = self
                .socket
                .send(1, |buf| match buf.get_mut(..frame.len()) {
                    Some(dst) => {
                        dst.copy_from_slice(&frame);
                        frame.len()
                    }
                    None => 0,
                })?;
            if sent == 1 {
                worker.counters.packets += 1;
                break;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        Ok(())
    }

    fn finish(&mut self, _worker: &mut TxWorker) -> Result<(), RuntimeError> {
        // Let the kernel finish what is in the ring (copy mode sends inside the kick).
        let give_up = Instant::now() + Duration::from_millis(500);
        while self.socket.tx_in_flight() > 0 && Instant::now() < give_up {
            self.socket.flush()?;
            self.socket.complete();
            std::thread::yield_now();
        }
        Ok(())
    }
}

/// UDP sockets: packets of one length to one destination, back to back, for one `sendmmsg`
/// with GSO.
struct UdpBackend {
    socket: UdpSocket,
    run: Run,
    /// The longest packet the run's slots take.
    max_len: usize,
}

impl UdpBackend {
    fn new(socket: UdpSocket, worker: &TxWorker) -> Self {
        let max_len = worker.max_packet_len();
        Self {
            socket,
            run: Run::new(max_len, BATCH as usize),
            max_len,
        }
    }

    fn flush(&mut self, worker: &mut TxWorker) -> Result<(), RuntimeError> {
        let all = self.run.count;
        if all > 0 {
            self.send_run(worker, all)?;
            self.run.after_flush(all);
        }
        Ok(())
    }

    /// Sends the first `count` packets of the run.
    fn send_run(&mut self, worker: &mut TxWorker, count: usize) -> Result<(), RuntimeError> {
        let (data, segment) = self.run.packets(count);
        let Some(destination) = self.run.destination else {
            return Ok(());
        };
        let mut sent = 0;
        let mut stalls = 0;
        while sent < count {
            let rest = data.get(sent * segment..).unwrap_or_default();
            let n = self.socket.send_segments(destination, rest, segment)?;
            if n == 0 {
                stalls += 1;
                worker.counters.ring_full += 1;
                if stalls > 1000 {
                    break;
                }
                std::thread::sleep(Duration::from_micros(50));
            }
            sent += n;
        }
        worker.counters.packets += sent as u64;
        worker.counters.bytes += data.len() as u64;
        worker.counters.batches += 1;
        Ok(())
    }
}

impl TxBackend for UdpBackend {
    fn capacity(&self, _worker: &TxWorker) -> usize {
        self.max_len
    }

    fn packet_bits(&self) -> Option<u64> {
        Some((self.max_len as u64 + 28) * 8)
    }

    fn send(
        &mut self,
        worker: &mut TxWorker,
        allowed: u32,
        now: SystemTime,
    ) -> Result<Sent, RuntimeError> {
        let mut wrote = 0;
        while wrote < allowed {
            let Some((i, len, _)) = worker.write_next(self.run.tail(), now, false) else {
                break;
            };
            wrote += 1;
            worker.bucket.consume((len as u64 + 28) * 8);
            worker.counters.alc_bytes += len as u64;
            let destination = worker
                .channels
                .get(i)
                .map(|c| c.destination)
                .unwrap_or_else(|| SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0));
            if let Some(flush) = self.run.push(destination, len) {
                self.send_run(worker, flush)?;
                self.run.after_flush(flush);
            }
        }
        self.flush(worker)?;
        Ok(Sent::Packets(wrote))
    }

    fn close_session(&mut self, worker: &mut TxWorker, i: usize) -> Result<(), RuntimeError> {
        self.flush(worker)?;
        if let Some(c) = worker.channels.get(i) {
            let packet = c.sender.read_close_session();
            self.socket.send_batch(c.destination, &[&packet])?;
            worker.counters.packets += 1;
        }
        Ok(())
    }

    fn finish(&mut self, worker: &mut TxWorker) -> Result<(), RuntimeError> {
        self.flush(worker)
    }
}

/// A capture file, written as fast as it can: the clock (the senders' `now` and the frames'
/// timestamps) advances by each frame's time on a link of `rate_bps`, and jumps to the next
/// timeout when nothing is due. `end` is in capture time.
struct PcapBackend {
    pcap: Option<PcapWriter<BufWriter<File>>>,
    now: SystemTime,
    end: Option<SystemTime>,
    rate_bps: u64,
    buf: Vec<u8>,
}

impl PcapBackend {
    fn new(pcap: PcapWriter<BufWriter<File>>, rate_bps: u64, run_for: Option<Duration>) -> Self {
        let now = SystemTime::now();
        Self {
            pcap: Some(pcap),
            now,
            end: run_for.map(|d| now + d),
            rate_bps,
            buf: Vec::new(),
        }
    }

    /// Writes one frame at the clock, and moves the clock past it (Ethernet preamble, start
    /// delimiter and inter-frame gap count on the wire too).
    fn write(
        pcap: &mut Option<PcapWriter<BufWriter<File>>>,
        now: &mut SystemTime,
        rate_bps: u64,
        frame: &[u8],
    ) -> Result<(), RuntimeError> {
        let ns = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        if let Some(pcap) = pcap {
            pcap.write_frame(u64::try_from(ns).unwrap_or(u64::MAX), frame)?;
        }
        let bits = (frame.len() as u64 + 24) * 8;
        *now += Duration::from_nanos((bits.saturating_mul(1_000_000_000) / rate_bps).max(1));
        Ok(())
    }
}

impl TxBackend for PcapBackend {
    fn capacity(&self, worker: &TxWorker) -> usize {
        worker.max_packet_len()
    }

    fn now(&self) -> SystemTime {
        self.now
    }

    fn expired(&self) -> bool {
        self.end.is_some_and(|e| self.now >= e)
    }

    fn packet_bits(&self) -> Option<u64> {
        None
    }

    fn send(
        &mut self,
        worker: &mut TxWorker,
        _allowed: u32,
        now: SystemTime,
    ) -> Result<Sent, RuntimeError> {
        let len = worker.max_header_len() + worker.capacity.unwrap_or_default();
        if self.buf.len() < len {
            self.buf.resize(len, 0);
        }
        let Some((_, len, alc)) = worker.write_next(&mut self.buf, now, true) else {
            return Ok(Sent::Packets(0));
        };
        let frame = self.buf.get(..len).unwrap_or_default();
        Self::write(&mut self.pcap, &mut self.now, self.rate_bps, frame)?;
        worker.counters.packets += 1;
        worker.counters.bytes += len as u64;
        worker.counters.alc_bytes += alc as u64;
        Ok(Sent::Packets(1))
    }

    fn close_session(&mut self, worker: &mut TxWorker, i: usize) -> Result<(), RuntimeError> {
        if let Some(c) = worker.channels.get(i) {
            let frame = c.frames.build(&c.sender.read_close_session())?;
            Self::write(&mut self.pcap, &mut self.now, self.rate_bps, &frame)?;
            worker.counters.packets += 1;
            worker.counters.bytes += frame.len() as u64;
        }
        Ok(())
    }

    /// Nothing due: on to the earliest timeout (at least 1 µs on, so that a timeout that is
    /// already due but gives nothing cannot hold the clock still).
    fn idle(&mut self, worker: &TxWorker, now: SystemTime) {
        let wake = worker
            .channels
            .iter()
            .filter(|c| !c.done)
            .filter_map(|c| c.sender.next_timeout())
            .min()
            .unwrap_or(now + Duration::from_millis(1));
        self.now = wake.max(now + Duration::from_micros(1));
    }

    /// Flushes the buffered writer: an error writing the file's tail is returned here.
    fn finish(&mut self, _worker: &mut TxWorker) -> Result<(), RuntimeError> {
        if let Some(pcap) = self.pcap.take() {
            pcap.into_inner()?;
        }
        Ok(())
    }
}

/// A run of packets to one destination, all `segment` bytes long except perhaps the last.
struct Run {
    buf: Vec<u8>,
    max_len: usize,
    capacity: usize,
    count: usize,
    segment: usize,
    used: usize,
    destination: Option<SocketAddr>,
    /// The packet that did not fit the run, kept at `buf[used..]` for the next run.
    carried: Option<(SocketAddr, usize)>,
    /// The last packet is shorter than `segment`: the run cannot grow.
    closed: bool,
}

impl Run {
    fn new(max_len: usize, capacity: usize) -> Self {
        Self {
            buf: vec![0; max_len * (capacity + 1)],
            max_len,
            capacity,
            count: 0,
            segment: 0,
            used: 0,
            destination: None,
            carried: None,
            closed: false,
        }
    }

    /// Room for the next packet, right after the run.
    fn tail(&mut self) -> &mut [u8] {
        let end = (self.used + self.max_len).min(self.buf.len());
        self.buf.get_mut(self.used..end).unwrap_or_default()
    }

    /// Takes the packet of `len` bytes just written at the tail. Returns how many packets to
    /// send now when the run cannot take it (it is carried to the next run).
    fn push(&mut self, destination: SocketAddr, len: usize) -> Option<usize> {
        let fits = self.count == 0
            || (!self.closed
                && self.destination == Some(destination)
                && len <= self.segment
                && self.count < self.capacity);
        if fits {
            if self.count == 0 {
                self.segment = len;
                self.destination = Some(destination);
            }
            self.closed = len < self.segment;
            self.count += 1;
            self.used += len;
            None
        } else {
            self.carried = Some((destination, len));
            Some(self.count)
        }
    }

    fn packets(&self, count: usize) -> (&[u8], usize) {
        let bytes = if count == self.count {
            self.used
        } else {
            count * self.segment
        };
        (self.buf.get(..bytes).unwrap_or_default(), self.segment)
    }

    /// Empties the run; a carried packet moves to the front and starts the next one.
    fn after_flush(&mut self, _count: usize) {
        let carried = self.carried.take();
        let from = self.used;
        self.count = 0;
        self.used = 0;
        self.closed = false;
        self.destination = None;
        if let Some((destination, len)) = carried {
            self.buf.copy_within(from..from + len, 0);
            let _ = self.push(destination, len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_keeps_equal_packets_together_and_carries_a_longer_one() {
        let dst: SocketAddr = "239.0.0.1:1".parse().unwrap();
        let mut run = Run::new(10, 4);
        for byte in [1u8, 2] {
            run.tail()[..8].fill(byte);
            assert_eq!(run.push(dst, 8), None);
        }
        run.tail()[..10].fill(3);
        assert_eq!(run.push(dst, 10), Some(2), "longer packet ends the run");
        let (data, seg) = run.packets(2);
        assert_eq!((data.len(), seg), (16, 8));
        run.after_flush(2);
        assert_eq!(run.count, 1);
        assert_eq!(run.packets(1).0, &[3; 10]);
        run.tail()[..4].fill(4);
        assert_eq!(run.push(dst, 4), None, "a shorter packet may end a run");
        run.tail()[..4].fill(5);
        assert_eq!(run.push(dst, 4), Some(2), "but nothing follows it");
    }
}
