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

/// Frames per tx ring submission (and kick).
const BATCH: u32 = 64;
/// How many rounds ahead the worker prefetches a session's symbols: one packet of user work
/// is about 100 ns, less than the DRAM latency the prefetch has to hide.
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
        let mut shares: Vec<Vec<Channel>> = (0..workers_n).map(|_| Vec::new()).collect();
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
                share.push(Channel {
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
            let mut worker = TxWorker {
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
                    let headers = worker
                        .channels
                        .iter()
                        .map(|c| c.frames.header_len())
                        .max()
                        .unwrap_or_default();
                    worker.capacity = Some(room.saturating_sub(headers));
                    spawn(i, move || {
                        pin(core);
                        worker.run_xdp(socket)
                    })?
                }
                Backend::Udp => {
                    let mut socket = open_udp(&worker.channels, self.interface.as_deref())?;
                    if !self.gso {
                        socket.set_gso(false);
                    }
                    spawn(i, move || {
                        pin(core);
                        worker.run_udp(socket)
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
                        worker.run_pcap(pcap, rate, run_for)
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
    channels: &[Channel],
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

fn open_udp(channels: &[Channel], interface: Option<&str>) -> Result<UdpSocket, RuntimeError> {
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
struct Channel {
    sender: Sender,
    frames: UdpFrameBuilder,
    destination: SocketAddr,
    done: bool,
    cycle: CycleClock,
}

impl Channel {
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
    channels: Vec<Channel>,
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

    /// Marks sessions that are finished; returns the index of one that needs its Close Session
    /// packet sent, and whether all are done.
    fn closing(&mut self) -> (Option<usize>, bool) {
        self.closing_if(false)
    }

    /// As [`Self::closing`], every session finishing when `expired`.
    fn closing_if(&mut self, expired: bool) -> (Option<usize>, bool) {
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

    /// The next packet of any session due at `now`, written at `buf[header_len..]`, headers in
    /// front; returns the frame's length and the ALC length, or `None` when nothing is due.
    fn write_frame(&mut self, buf: &mut [u8], now: SystemTime) -> Option<(usize, usize)> {
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
            let hdr = c.frames.header_len();
            let (head, body) = buf.split_at_mut(hdr.min(buf.len()));
            if let Some(len) = c.sender.write_next(body, now) {
                let payload = body.get(..len)?;
                c.frames.write_headers(head, payload).ok()?;
                if let Some(next) = c.sender.upcoming_payload(PREFETCH_AHEAD) {
                    prefetch(next);
                }
                return Some((hdr + len, len));
            }
        }
        None
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

    fn session(&mut self, session: usize) -> Result<&mut Channel, RuntimeError> {
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

    fn run_xdp(mut self, mut socket: XskSocket) -> Result<(), RuntimeError> {
        let frame_bits = 1514 * 8;
        let mut last_publish = Instant::now();
        loop {
            self.control(SystemTime::now());
            let (close, all_done) = self.closing();
            if let Some(i) = close {
                self.send_close_xdp(&mut socket, i)?;
            }
            if all_done {
                break;
            }
            let t = Instant::now();
            self.bucket.refill(t);
            let allowed = self.bucket.allowance(frame_bits).min(u64::from(BATCH)) as u32;
            if allowed == 0 {
                std::thread::sleep(self.bucket.wait_for(frame_bits));
                continue;
            }
            let now = SystemTime::now();
            let mut bits = 0u64;
            let mut alc = 0u64;
            let free_before = socket.tx_free_frames();
            let queued = socket.send(allowed, |frame| match self.write_frame(frame, now) {
                Some((len, alc_len)) => {
                    bits += (len as u64 + 24) * 8;
                    alc += alc_len as u64;
                    len
                }
                None => 0,
            })?;
            self.bucket.consume(bits);
            self.counters.packets += u64::from(queued);
            self.counters.bytes += bits / 8;
            self.counters.alc_bytes += alc;
            if queued > 0 {
                self.counters.batches += 1;
            }
            if free_before == 0 && queued == 0 {
                self.counters.ring_full += 1;
                std::thread::yield_now();
            } else if queued == 0 {
                std::thread::sleep(self.idle_for(now));
            }
            if t.duration_since(last_publish) >= Duration::from_millis(50) {
                self.publish();
                last_publish = t;
            }
        }
        // Let the kernel finish what is in the ring (copy mode sends inside the kick).
        let give_up = Instant::now() + Duration::from_millis(500);
        while socket.tx_in_flight() > 0 && Instant::now() < give_up {
            socket.flush()?;
            socket.complete();
            std::thread::yield_now();
        }
        self.publish();
        Ok(())
    }

    fn send_close_xdp(&mut self, socket: &mut XskSocket, i: usize) -> Result<(), RuntimeError> {
        let Some(c) = self.channels.get(i) else {
            return Ok(());
        };
        let close = c.sender.read_close_session();
        let frame = c.frames.build(&close)?;
        for _ in 0..100 {
            let sent = socket.send(1, |buf| match buf.get_mut(..frame.len()) {
                Some(dst) => {
                    dst.copy_from_slice(&frame);
                    frame.len()
                }
                None => 0,
            })?;
            if sent == 1 {
                self.counters.packets += 1;
                break;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        Ok(())
    }

    fn run_udp(mut self, mut socket: UdpSocket) -> Result<(), RuntimeError> {
        let mut max_len = self
            .channels
            .iter()
            .map(|c| c.sender.max_packet_len())
            .max()
            .unwrap_or(1500);
        if self.persistent {
            max_len = max_len.max(PERSISTENT_MAX_PACKET);
        }
        self.capacity = Some(max_len);
        // Packets of one length, back to back, for one `sendmmsg` with GSO.
        let mut run = Run::new(max_len, 64);
        let mut last_publish = Instant::now();
        loop {
            self.control(SystemTime::now());
            let (close, all_done) = self.closing();
            if let Some(i) = close {
                self.flush_run(&mut socket, &mut run)?;
                if let Some(c) = self.channels.get(i) {
                    let packet = c.sender.read_close_session();
                    socket.send_batch(c.destination, &[&packet])?;
                    self.counters.packets += 1;
                }
            }
            if all_done {
                break;
            }
            let t = Instant::now();
            self.bucket.refill(t);
            let packet_bits = (max_len as u64 + 28) * 8;
            let allowed = self.bucket.allowance(packet_bits).min(64);
            if allowed == 0 {
                std::thread::sleep(self.bucket.wait_for(packet_bits));
                continue;
            }
            let now = SystemTime::now();
            let mut wrote = 0;
            while wrote < allowed {
                let (i, len) = {
                    let tail = run.tail();
                    let n = self.channels.len();
                    let mut found = None;
                    for _ in 0..n {
                        let i = self.next % n;
                        self.next = self.next.wrapping_add(1);
                        let Some(c) = self.channels.get_mut(i) else {
                            continue;
                        };
                        if c.done {
                            continue;
                        }
                        if let Some(len) = c.sender.write_next(tail, now) {
                            if let Some(next) = c.sender.upcoming_payload(PREFETCH_AHEAD) {
                                prefetch(next);
                            }
                            found = Some((i, len));
                            break;
                        }
                    }
                    match found {
                        Some(f) => f,
                        None => break,
                    }
                };
                wrote += 1;
                self.bucket.consume((len as u64 + 28) * 8);
                self.counters.alc_bytes += len as u64;
                let destination = self
                    .channels
                    .get(i)
                    .map(|c| c.destination)
                    .unwrap_or_else(|| SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0));
                if let Some(flush) = run.push(destination, len) {
                    self.send_run(&mut socket, &run, flush)?;
                    run.after_flush(flush);
                }
            }
            self.flush_run(&mut socket, &mut run)?;
            if wrote == 0 {
                std::thread::sleep(self.idle_for(now));
            }
            if t.duration_since(last_publish) >= Duration::from_millis(50) {
                self.publish();
                last_publish = t;
            }
        }
        self.publish();
        Ok(())
    }

    /// Writes every session into the capture as fast as it can, the clock (the senders' `now`
    /// and the frames' timestamps) advancing by each frame's time on a link of `rate_bps`, and
    /// jumping to the next timeout when nothing is due. `run_for` is capture time.
    fn run_pcap(
        mut self,
        mut pcap: PcapWriter<BufWriter<File>>,
        rate_bps: u64,
        run_for: Option<Duration>,
    ) -> Result<(), RuntimeError> {
        let start = SystemTime::now();
        let end = run_for.map(|d| start + d);
        let mut now = start;
        let headers = self
            .channels
            .iter()
            .map(|c| c.frames.header_len())
            .max()
            .unwrap_or_default();
        let mut max_len = self
            .channels
            .iter()
            .map(|c| c.frames.header_len() + c.sender.max_packet_len())
            .max()
            .unwrap_or(1514);
        if self.persistent {
            max_len = max_len.max(headers + PERSISTENT_MAX_PACKET);
        }
        self.capacity = Some(max_len - headers);
        let mut buf = vec![0u8; max_len];
        let ns = |t: SystemTime| {
            let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
        };
        // Ethernet preamble, start delimiter and inter-frame gap count on the wire too.
        let wire_time = |len: usize| {
            let bits = (len as u64 + 24) * 8;
            Duration::from_nanos((bits.saturating_mul(1_000_000_000) / rate_bps).max(1))
        };
        loop {
            self.control(now);
            let expired = end.is_some_and(|e| now >= e);
            let (close, all_done) = self.closing_if(expired);
            if let Some(c) = close.and_then(|i| self.channels.get(i)) {
                let frame = c.frames.build(&c.sender.read_close_session())?;
                pcap.write_frame(ns(now), &frame)?;
                self.counters.packets += 1;
                self.counters.bytes += frame.len() as u64;
                now += wire_time(frame.len());
            }
            if all_done {
                break;
            }
            match self.write_frame(&mut buf, now) {
                Some((len, alc)) => {
                    pcap.write_frame(ns(now), buf.get(..len).unwrap_or_default())?;
                    self.counters.packets += 1;
                    self.counters.bytes += len as u64;
                    self.counters.alc_bytes += alc as u64;
                    now += wire_time(len);
                    if self.counters.packets.is_multiple_of(4096) {
                        self.publish();
                    }
                }
                // Nothing due: on to the earliest timeout (at least 1 µs on, so that a timeout
                // that is already due but gives nothing cannot hold the clock still).
                None => {
                    let wake = self
                        .channels
                        .iter()
                        .filter(|c| !c.done)
                        .filter_map(|c| c.sender.next_timeout())
                        .min()
                        .unwrap_or(now + Duration::from_millis(1));
                    now = wake.max(now + Duration::from_micros(1));
                }
            }
        }
        // Flushes the buffered writer: an error writing the file's tail is returned here.
        pcap.into_inner()?;
        self.publish();
        Ok(())
    }

    fn flush_run(&mut self, socket: &mut UdpSocket, run: &mut Run) -> Result<(), RuntimeError> {
        let all = run.count;
        if all > 0 {
            self.send_run(socket, run, all)?;
            run.after_flush(all);
        }
        Ok(())
    }

    /// Sends the first `count` packets of the run.
    fn send_run(
        &mut self,
        socket: &mut UdpSocket,
        run: &Run,
        count: usize,
    ) -> Result<(), RuntimeError> {
        let (data, segment) = run.packets(count);
        let Some(destination) = run.destination else {
            return Ok(());
        };
        let mut sent = 0;
        let mut stalls = 0;
        while sent < count {
            let rest = data.get(sent * segment..).unwrap_or_default();
            let n = socket.send_segments(destination, rest, segment)?;
            if n == 0 {
                stalls += 1;
                self.counters.ring_full += 1;
                if stalls > 1000 {
                    break;
                }
                std::thread::sleep(Duration::from_micros(50));
            }
            sent += n;
        }
        self.counters.packets += sent as u64;
        self.counters.bytes += data.len() as u64;
        self.counters.batches += 1;
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
