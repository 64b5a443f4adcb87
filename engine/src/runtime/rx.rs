//! The receive engine: one worker thread per rx queue (AF_XDP), per channel (UDP sockets) or for
//! a replayed capture (pcap), pinned to a core, each owning a [`MultiReceiver`] that writes into
//! memory-mapped `.part` files ([`FileSink`]). A frame's payload is copied once, from the UMEM frame to its offset in
//! the output file, and the frame goes back to the fill ring right after (`XskSocket::recv`).
//!
//! A flow always arrives on the same queue (the NIC hashes it; veth maps the sender's tx queue
//! to the same rx queue), so each worker sees whole sessions and needs no lock.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{Receiver, Sender as EventSender};
use hdrhistogram::Histogram;

use super::busy_poll::BusyPoll;
use super::decode::{DEFER_FROM_BYTES, DecodeStage};
use super::stats::{Published, latency_histogram};
use super::verify::VerifyStage;
use super::xdp_watch::XdpWatch;
use super::{Backend, ChannelSpec, Events, RuntimeError, RxCounters, RxStats};
use crate::endpoint::UdpEndpoint;
use crate::io::file_sink::{FileSink, FileSinkObject, PrepareStats, SinkThreads};
use crate::io::frame::{LinkType, parse_udp};
use crate::io::pcap::{PcapError, PcapReader};
use crate::io::spool::{Spool, SpoolStats};
use crate::io::udp::{RecvBatch, UdpSocket};
use crate::io::xdp::{SteerCounters, XdpSteering};
use crate::io::xsk::{Umem, UmemConfig, XskConfig, XskSocket};
use crate::receiver::{Config, IncompleteObject, MultiReceiver, ObjectEvent, ReceiverEndpoint};

/// An object a receive engine could not complete, with its temporary file, handed over for a
/// repair by unicast ([`RxEngineBuilder::hand_over_incomplete`]).
pub type IncompleteFile = IncompleteObject<FileSinkObject>;

/// Frames taken per `recv` call.
const BATCH: u32 = 64;
/// How often a worker publishes its counters and a receiver runs its timers.
const PUBLISH_EVERY: Duration = Duration::from_millis(50);
const CLEANUP_EVERY: Duration = Duration::from_millis(500);
/// A receive loop turn this long is logged (debug), with what took it.
const LONG_STALL: Duration = Duration::from_millis(1);
/// How long an idle worker blocks before looking at the stop flag again.
const IDLE_WAIT: Duration = Duration::from_millis(20);
/// How long a worker polls its empty rx ring or socket before it sleeps, by default.
pub const DEFAULT_BUSY_POLL: Duration = Duration::from_micros(200);

/// The receiver's defaults, with packets held before their FDT capped at 8 MiB per worker: a
/// carousel repeats the FDT every second anyway, and the engine's memory stays small whatever
/// the network sends.
fn engine_default_config() -> Config {
    let mut config = Config::default();
    config.limits.max_pending_bytes = 8 << 20;
    config
}

/// UMEM frames of 2 KiB per AF_XDP queue by default: 16 MiB, and an rx ring of 4096 frames
/// ([`RxEngineBuilder::umem_frames`] says what that absorbs).
const DEFAULT_UMEM_FRAMES: u32 = 8192;
/// UMEM frames of a receiving socket kept for its tx ring, which it does not use.
const TX_FRAMES: u32 = 64;

/// The rx ring of a socket over `umem_frames`: half of them, so that the fill ring still holds
/// as many again when the rx ring is full and the kernel never finds it empty first.
fn rx_ring_size(umem_frames: u32) -> u32 {
    (umem_frames / 2).next_power_of_two()
}

/// Builds an [`RxEngine`].
#[derive(Debug, Clone)]
pub struct RxEngineBuilder {
    output_dir: PathBuf,
    interface: Option<String>,
    queues: u32,
    cores: Vec<usize>,
    backend: Backend,
    channels: Vec<ChannelSpec>,
    config: Config,
    drop_probability: f64,
    umem_frames: u32,
    pcap_in: Option<PathBuf>,
    spool_bytes: u64,
    busy_poll: Duration,
    track_announced: bool,
    hand_over_incomplete: bool,
    auth_on_worker: bool,
    decode_on_worker: bool,
}

/// What the FDTs of live sessions describe: each session's Content-Locations, refreshed by
/// each worker with its timers; empty unless asked for ([`RxEngineBuilder::track_announced`]).
type Announced = Arc<Mutex<Vec<(ReceiverEndpoint, Vec<String>)>>>;

/// A running receive engine. [`RxEngine::join`] stops it and detaches the XDP program.
#[derive(Debug)]
pub struct RxEngine {
    events: Events,
    /// What new workers are made from (UDP channels added while running).
    factory: RxEngineBuilder,
    events_tx: EventSender<ObjectEvent>,
    workers: Vec<JoinHandle<()>>,
    /// Per worker: its request queue, its own stop flag, and its channels (UDP).
    handles: Vec<WorkerHandle>,
    /// Per worker: what its live sessions' FDTs describe.
    announced: Vec<Announced>,
    published: Vec<Arc<Published<RxCounters>>>,
    /// Shared with the watch, which reattaches the program if someone detaches it.
    steering: Option<Arc<Mutex<XdpSteering>>>,
    watch: Option<XdpWatch>,
    stop: Arc<AtomicBool>,
    spool: Option<Arc<Spool>>,
    /// The workers' sinks unmap finished large objects on this thread.
    sink_threads: Option<(SinkThreads, JoinHandle<u64>)>,
    /// Objects handed over for repair ([`RxEngineBuilder::hand_over_incomplete`]).
    incomplete: Option<(EventSender<IncompleteFile>, Events<IncompleteFile>)>,
}

impl RxEngine {
    /// A builder writing objects below `output_dir`.
    pub fn builder(output_dir: impl Into<PathBuf>) -> RxEngineBuilder {
        RxEngineBuilder {
            output_dir: output_dir.into(),
            interface: None,
            queues: 1,
            cores: Vec::new(),
            backend: Backend::Xdp,
            channels: Vec::new(),
            config: engine_default_config(),
            drop_probability: 0.0,
            umem_frames: DEFAULT_UMEM_FRAMES,
            pcap_in: None,
            spool_bytes: 0,
            busy_poll: DEFAULT_BUSY_POLL,
            track_announced: false,
            hand_over_incomplete: false,
            auth_on_worker: false,
            decode_on_worker: false,
        }
    }

    /// The objects the workers could not complete, with their temporary files, when the
    /// engine hands them over ([`RxEngineBuilder::hand_over_incomplete`]): those of sessions
    /// that closed or timed out, of objects their sender closed or that timed out, and, when
    /// the engine stops, every object still being received. `None` otherwise.
    pub fn incomplete(&self) -> Option<&Events<IncompleteFile>> {
        self.incomplete.as_ref().map(|(_, rx)| rx)
    }

    /// Each session that holds an unexpired FDT Instance and the Content-Locations its
    /// instances describe (none when the sender's FDT lists no file), as the workers last saw
    /// them (every half second, with [`RxEngineBuilder::track_announced`]). A session without
    /// such an instance (between two, or its sender gone) is not listed: its files are unknown,
    /// not withdrawn.
    pub fn announced(&self) -> Vec<(ReceiverEndpoint, Vec<String>)> {
        self.announced
            .iter()
            .flat_map(|a| a.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .collect()
    }

    /// Object events of every worker, in the order each worker saw them.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// Starts receiving `channel` too. AF_XDP: the steering program takes its flow to the
    /// queues' sockets and every worker learns it; UDP: a socket and worker of its own.
    pub fn add_channel(&mut self, channel: ChannelSpec) -> Result<(), RuntimeError> {
        match self.factory.backend {
            Backend::Pcap => Err(RuntimeError::Config(
                "a capture replay cannot take channels while it runs".into(),
            )),
            Backend::Xdp => {
                if let Some(steering) = &self.steering {
                    steering
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .add_flow(&channel.xdp_flow())?;
                }
                for handle in &mut self.handles {
                    let _ = handle.commands.send(RxCommand::Add(channel.clone()));
                    handle.channels.push(channel.clone());
                }
                self.factory.channels.push(channel);
                Ok(())
            }
            Backend::Udp => {
                let index = self.handles.len();
                let socket = open_udp(&channel, self.factory.interface.as_deref())?;
                let mut setup = self.factory.worker(index, self.events_tx.clone(), self)?;
                setup.channels = vec![channel.clone()];
                let core = self.factory.core_for(index);
                let busy_poll = self.factory.busy_poll;
                self.published.push(Arc::clone(&setup.published));
                self.handles.push(setup.handle());
                self.announced.push(Arc::clone(&setup.announced));
                let handle = spawn(index, move || {
                    pin(core);
                    setup.into_worker().run(UdpSource::new(socket), busy_poll);
                })?;
                self.workers.push(handle);
                self.factory.channels.push(channel);
                Ok(())
            }
        }
    }

    /// Stops receiving the channel to `destination` from `source` (as it was added). Objects
    /// of its sessions not yet complete are dropped when their sessions time out (AF_XDP) or at
    /// once with its worker (UDP). Returns false if no such channel was received.
    pub fn remove_channel(
        &mut self,
        destination: SocketAddr,
        source: Option<IpAddr>,
    ) -> Result<bool, RuntimeError> {
        let is = |c: &ChannelSpec| c.destination == destination && c.source == source;
        let Some(spec) = self.factory.channels.iter().find(|c| is(c)).cloned() else {
            return Ok(false);
        };
        self.factory.channels.retain(|c| !is(c));
        match self.factory.backend {
            Backend::Pcap => {}
            Backend::Xdp => {
                if let Some(steering) = &self.steering {
                    steering
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .remove_flow(&spec.xdp_flow())?;
                }
                for handle in &mut self.handles {
                    let _ = handle.commands.send(RxCommand::Remove(destination, source));
                    handle.channels.retain(|c| !is(c));
                }
            }
            Backend::Udp => {
                // Its worker goes, with its socket (and so its group membership).
                for handle in &mut self.handles {
                    if handle.channels.iter().any(is) {
                        handle.retire.store(true, Ordering::SeqCst);
                        handle.channels.clear();
                    }
                }
            }
        }
        Ok(true)
    }

    /// The channels being received.
    pub fn channels(&self) -> &[ChannelSpec] {
        &self.factory.channels
    }

    /// The workers' counters and latencies as last published (every 50 ms), merged.
    pub fn stats(&self) -> RxStats {
        RxStats::merge(self.published.iter().map(|p| p.load()).collect())
    }

    /// What the spool has done (see [`RxEngineBuilder::spool`]); `None` without one.
    pub fn spool_stats(&self) -> Option<SpoolStats> {
        self.spool.as_ref().map(|s| s.stats())
    }

    /// What the file sink's thread did to prepare announced objects ahead (see
    /// [`crate::io::file_sink::PrepareStats`]); `None` once the engine is stopped.
    pub fn prepare_stats(&self) -> Option<PrepareStats> {
        self.sink_threads.as_ref().map(|(t, _)| t.prepare_stats())
    }

    /// The XDP program's counters (XDP backend only).
    pub fn steering_counters(&self) -> Option<SteerCounters> {
        let steering = self.steering.as_ref()?;
        let steering = steering.lock().unwrap_or_else(PoisonError::into_inner);
        steering.counters().ok()
    }

    /// Times the XDP program was found detached from the interface by someone else and
    /// attached again (checked once a second; XDP backend only).
    pub fn xdp_reattached(&self) -> u64 {
        self.watch.as_ref().map_or(0, XdpWatch::reattached)
    }

    /// Changes the injected loss (XDP backend only).
    pub fn set_drop_probability(&mut self, p: f64) -> Result<(), RuntimeError> {
        if let Some(s) = &self.steering {
            s.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .set_drop_probability(p)?;
        }
        Ok(())
    }

    /// Whether every worker has ended (stopped, or failed).
    pub fn is_finished(&self) -> bool {
        self.workers.iter().all(JoinHandle::is_finished)
    }

    /// Asks the workers to stop; [`Self::join`] waits for them.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Stops the workers, waits for them (each ends within a few tens of milliseconds, dropping
    /// unfinished objects' `.part` files), detaches the XDP program, and returns the final
    /// counters; or the error that stopped the engine when the XDP program, detached by someone
    /// else, could not be attached again.
    pub fn join(mut self) -> Result<RxStats, RuntimeError> {
        self.stop();
        let mut panicked = None;
        for (i, worker) in std::mem::take(&mut self.workers).into_iter().enumerate() {
            if worker.join().is_err() {
                panicked = Some(i);
            }
        }
        self.finish_sink_threads();
        let lost = self.watch.as_mut().and_then(XdpWatch::finish);
        drop(self.steering.take());
        if let Some(e) = lost {
            return Err(e.into());
        }
        match panicked {
            Some(i) => Err(RuntimeError::WorkerPanicked(i)),
            None => Ok(self.stats()),
        }
    }
}

impl Drop for RxEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for worker in std::mem::take(&mut self.workers) {
            let _ = worker.join();
        }
        self.finish_sink_threads();
    }
}

impl RxEngine {
    /// Once the workers are gone: lets the file sinks' threads finish the work they were given.
    fn finish_sink_threads(&mut self) {
        if let Some((threads, handle)) = self.sink_threads.take() {
            drop(threads);
            let _ = handle.join();
        }
    }
}

impl RxEngineBuilder {
    /// The interface to receive on (required by the XDP backend and for multicast joins).
    pub fn interface(mut self, interface: impl Into<String>) -> Self {
        self.interface = Some(interface.into());
        self
    }

    /// Rx queues of the interface to take (XDP backend): one AF_XDP socket and worker each.
    pub fn queues(mut self, queues: u32) -> Self {
        self.queues = queues.max(1);
        self
    }

    /// Lets [`RxEngine::announced`] tell what the live sessions' FDTs describe (off by default:
    /// it costs a copy of the descriptions' names every half second).
    pub fn track_announced(mut self, on: bool) -> Self {
        self.track_announced = on;
        self
    }

    /// Hands over, on [`RxEngine::incomplete`], the objects that cannot complete from the
    /// network instead of discarding them, for a repair by unicast (see
    /// [`RepairPlan`](crate::receiver::RepairPlan)); off by default.
    pub fn hand_over_incomplete(mut self, on: bool) -> Self {
        self.hand_over_incomplete = on;
        self
    }

    /// Cores to pin the workers to, worker `i` on `cores[i % len]`; unpinned by default (the
    /// same rule as the send engine's).
    pub fn cores(mut self, cores: Vec<usize>) -> Self {
        self.cores = cores;
        self
    }

    /// AF_XDP or UDP sockets.
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Adds a channel to receive.
    pub fn channel(mut self, channel: ChannelSpec) -> Self {
        self.channels.push(channel);
        self
    }

    /// The sans-IO receiver's configuration (timeouts, limits).
    pub fn receiver_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Drops each channel frame with probability `p` in the XDP program (tests and demos).
    pub fn drop_probability(mut self, p: f64) -> Self {
        self.drop_probability = p;
        self
    }

    /// The capture the pcap backend replays (pcap or pcapng): one worker takes its frames as
    /// fast as it can, each frame's timestamp being the receiver's clock, so timeouts and FDT
    /// expiry behave as on the wire; at the end of the capture pending closes and timeouts take
    /// effect, unfinished objects fail, and the worker ends ([`RxEngine::is_finished`]).
    pub fn pcap_in(mut self, path: impl Into<PathBuf>) -> Self {
        self.pcap_in = Some(path.into());
        self
    }

    /// UMEM frames of 2 KiB per queue (default 8192, 16 MiB): half of them make the rx ring
    /// (4096 by default), the rest but 64 are lent to the kernel through the fill ring. The
    /// defaults absorb a 1 ms stall of the worker at 10 Gbit/s: the 1.25 MB that arrive in it
    /// are 3699 frames at most for FLUTE packets of 256-byte symbols or larger (338 bytes on the
    /// wire with preamble, gap and FCS), 813 for full 1500-byte packets, which the 4096-frame
    /// ring then holds for 5 ms. The UMEM (RssAnon unless on huge pages) and the receiver's
    /// memory budget of 48 MiB ([`crate::receiver::Limits::max_memory_bytes`]) make up the
    /// worker's bound of 64 MiB. Fewer frames absorb a shorter stall; more take memory from
    /// that bound.
    pub fn umem_frames(mut self, frames: u32) -> Self {
        self.umem_frames = frames.max(128);
        self
    }

    /// Reserves `bytes` of output space before the engine starts, and again in the background
    /// (at idle priority, between transfers) each time an object takes it: the next object
    /// larger than 4 MiB and no larger than `bytes` is written into space that is already
    /// allocated and mapped, so its packets never wait for the file system (see
    /// [`crate::io::spool`]). 0, the
    /// default, reserves nothing. The space counts against the output file system while held.
    pub fn spool(mut self, bytes: u64) -> Self {
        self.spool_bytes = bytes;
        self
    }

    /// How long a worker keeps polling its AF_XDP rx ring or UDP socket after the last packet
    /// before it sleeps in the kernel (default [`DEFAULT_BUSY_POLL`]; zero sleeps as soon as
    /// nothing is queued). It polls only while packets come faster than 50,000 a second: then
    /// the wake-up that a sleeping worker needs from the softirq filling its ring (on the
    /// sending side's core over a veth) would come every few frames, and cost a tenth of the
    /// end-to-end goodput here. A slow stream or an idle link lets the worker sleep.
    pub fn busy_poll(mut self, window: Duration) -> Self {
        self.busy_poll = window;
        self
    }

    /// With packet authentication (`Config::auth`), checks each packet's MAC and signature on
    /// the worker's own thread instead of a stage thread beside it. By default, when the
    /// machine has more than one core, each worker has such a stage (`runtime/verify.rs`): the
    /// MAC of a packet costs about as much as the rest of its receive path, and the stage
    /// checks one batch while the worker takes the one before.
    pub fn auth_on_worker(mut self, on: bool) -> Self {
        self.auth_on_worker = on;
        self
    }

    /// Decodes every FEC block on the worker's own thread. By default, when the machine has
    /// more than one core, each worker has a stage thread beside it that decodes the blocks of
    /// at least a MiB (`runtime/decode.rs`, `Config::defer_decode_from_bytes`, which sets
    /// another threshold): a RaptorQ block of a few thousand symbols takes milliseconds to
    /// decode, while the worker's rx ring holds a few milliseconds of packets.
    pub fn decode_on_worker(mut self, on: bool) -> Self {
        self.decode_on_worker = on;
        self
    }

    /// Opens the sockets (in the calling thread's network namespace), attaches the XDP program
    /// and starts the workers; they stop when `stop` is set or the engine is joined.
    pub fn start(self, stop: Arc<AtomicBool>) -> Result<RxEngine, RuntimeError> {
        if self.channels.is_empty() {
            return Err(RuntimeError::Config("no channel to receive".into()));
        }
        std::fs::create_dir_all(&self.output_dir).map_err(|source| RuntimeError::Io {
            what: format!("creating {}", self.output_dir.display()),
            source,
        })?;
        let probe = FileSink::new(&self.output_dir, self.config.limits.max_object_bytes).map_err(
            |source| RuntimeError::Io {
                what: format!("opening {}", self.output_dir.display()),
                source,
            },
        )?;
        let stale = probe
            .remove_stale_parts()
            .map_err(|source| RuntimeError::Io {
                what: "removing stale .part files".into(),
                source,
            })?;
        if stale > 0 {
            tracing::info!(stale, "removed .part files of an earlier run");
        }
        let spool = self.open_spool(probe.root())?;
        let (events_tx, events) = crossbeam_channel::unbounded();
        let core_for = |i: usize| self.core_for(i);
        let mut engine = RxEngine {
            events: Events::new(events),
            factory: self.clone(),
            events_tx: events_tx.clone(),
            handles: Vec::new(),
            announced: Vec::new(),
            workers: Vec::new(),
            published: Vec::new(),
            steering: None,
            watch: None,
            stop,
            spool,
            sink_threads: Some(SinkThreads::start().map_err(|source| RuntimeError::Io {
                what: "spawning the file sink's threads".into(),
                source,
            })?),
            incomplete: self.hand_over_incomplete.then(|| {
                let (tx, rx) = crossbeam_channel::unbounded();
                (tx, Events::new(rx))
            }),
        };
        match self.backend {
            Backend::Xdp => {
                let interface = self.interface.as_deref().ok_or_else(|| {
                    RuntimeError::Config("the XDP backend needs an interface".into())
                })?;
                let mut steering = XdpSteering::attach(interface)?;
                for channel in &self.channels {
                    steering.add_flow(&channel.xdp_flow())?;
                }
                steering.set_drop_probability(self.drop_probability)?;
                let mut sockets = Vec::new();
                for queue in 0..self.queues {
                    let umem = Umem::new(UmemConfig {
                        frame_count: self.umem_frames,
                        ..UmemConfig::default()
                    })?;
                    let config = XskConfig {
                        rx_frames: self.umem_frames - TX_FRAMES,
                        tx_frames: TX_FRAMES,
                        rx_size: rx_ring_size(self.umem_frames),
                        tx_size: 64,
                        ..XskConfig::default()
                    };
                    let socket = XskSocket::bind(&umem, interface, queue, &config)?;
                    steering.register_socket(queue, &socket)?;
                    sockets.push(socket);
                }
                let steering = Arc::new(Mutex::new(steering));
                let watch = XdpWatch::start(Arc::clone(&steering), Arc::clone(&engine.stop))
                    .map_err(|source| RuntimeError::Io {
                        what: "spawning the XDP watch".into(),
                        source,
                    })?;
                engine.watch = Some(watch);
                engine.steering = Some(steering);
                for (i, socket) in sockets.into_iter().enumerate() {
                    let worker = self.worker(i, events_tx.clone(), &engine)?;
                    engine.published.push(Arc::clone(&worker.published));
                    engine.handles.push(worker.handle());
                    engine.announced.push(Arc::clone(&worker.announced));
                    let core = core_for(i);
                    let busy_poll = self.busy_poll;
                    let handle = spawn(i, move || {
                        pin(core);
                        let source = XdpSource {
                            socket,
                            start: Instant::now(),
                        };
                        worker.into_worker().run(source, busy_poll);
                    })?;
                    engine.workers.push(handle);
                }
            }
            Backend::Pcap => {
                let path = self.pcap_in.clone().ok_or_else(|| {
                    RuntimeError::Config("the pcap backend needs a capture to replay".into())
                })?;
                let file = std::fs::File::open(&path).map_err(|source| RuntimeError::Io {
                    what: format!("opening {}", path.display()),
                    source,
                })?;
                let reader = PcapReader::new(std::io::BufReader::new(file))?;
                let worker = self.worker(0, events_tx.clone(), &engine)?;
                engine.published.push(Arc::clone(&worker.published));
                engine.handles.push(worker.handle());
                engine.announced.push(Arc::clone(&worker.announced));
                let core = core_for(0);
                let handle = spawn(0, move || {
                    pin(core);
                    let source = PcapSource {
                        reader,
                        now: SystemTime::UNIX_EPOCH,
                    };
                    // A replay never waits for packets: no busy polling.
                    worker.into_worker().run(source, Duration::ZERO);
                })?;
                engine.workers.push(handle);
            }
            Backend::Udp => {
                for (i, channel) in self.channels.iter().enumerate() {
                    let socket = open_udp(channel, self.interface.as_deref())?;
                    let mut worker = self.worker(i, events_tx.clone(), &engine)?;
                    worker.channels = vec![channel.clone()];
                    engine.published.push(Arc::clone(&worker.published));
                    engine.handles.push(worker.handle());
                    engine.announced.push(Arc::clone(&worker.announced));
                    let core = core_for(i);
                    let busy_poll = self.busy_poll;
                    let handle = spawn(i, move || {
                        pin(core);
                        worker.into_worker().run(UdpSource::new(socket), busy_poll);
                    })?;
                    engine.workers.push(handle);
                }
            }
        }
        Ok(engine)
    }

    /// The spool, reserved now, or `None` when none is asked for or the file system cannot
    /// hold one (no `O_TMPFILE`: logged, and the engine goes on without).
    fn open_spool(&self, root: &std::path::Path) -> Result<Option<Arc<Spool>>, RuntimeError> {
        if self.spool_bytes == 0 {
            return Ok(None);
        }
        tracing::info!(bytes = self.spool_bytes, dir = %root.display(), "reserving the spool");
        match Spool::new(root, self.spool_bytes) {
            Ok(spool) => Ok(Some(Arc::new(spool))),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EISDIR)) => {
                tracing::warn!(error = %e, "this file system cannot hold a spool; going on without");
                Ok(None)
            }
            Err(source) => Err(RuntimeError::Io {
                what: format!(
                    "reserving a {} byte spool in {}",
                    self.spool_bytes,
                    root.display()
                ),
                source,
            }),
        }
    }

    fn core_for(&self, i: usize) -> Option<core_affinity::CoreId> {
        super::worker_core(&self.cores, i)
    }

    fn worker(
        &self,
        index: usize,
        events: EventSender<ObjectEvent>,
        engine: &RxEngine,
    ) -> Result<WorkerSetup, RuntimeError> {
        let mut sink = FileSink::new(&self.output_dir, self.config.limits.max_object_bytes)
            .map_err(|source| RuntimeError::Io {
                what: format!("opening {}", self.output_dir.display()),
                source,
            })?;
        if let Some(spool) = &engine.spool {
            sink = sink.with_spool(Arc::clone(spool));
        }
        if let Some((threads, _)) = &engine.sink_threads {
            sink = sink.with_threads(threads.clone());
        }
        let stop = &engine.stop;
        let (commands_tx, commands) = crossbeam_channel::unbounded();
        Ok(WorkerSetup {
            index,
            sink,
            config: self.config,
            channels: self.channels.clone(),
            events,
            published: Published::new(RxCounters::default()),
            stop: Arc::clone(stop),
            retire: Arc::new(AtomicBool::new(false)),
            commands,
            commands_tx,
            announced: Arc::new(Mutex::new(Vec::new())),
            track_announced: self.track_announced,
            incomplete: engine.incomplete.as_ref().map(|(tx, _)| tx.clone()),
            auth_stage: self.config.auth.is_some() && !self.auth_on_worker && several_cores(),
            decode_stage: !self.decode_on_worker && several_cores(),
        })
    }
}

/// What a worker is made of, moved to its thread, where its receiver is built (the receiver
/// never leaves its thread).
struct WorkerSetup {
    index: usize,
    sink: FileSink,
    config: Config,
    channels: Vec<ChannelSpec>,
    events: EventSender<ObjectEvent>,
    published: Arc<Published<RxCounters>>,
    stop: Arc<AtomicBool>,
    retire: Arc<AtomicBool>,
    commands: Receiver<RxCommand>,
    commands_tx: EventSender<RxCommand>,
    announced: Announced,
    track_announced: bool,
    incomplete: Option<EventSender<IncompleteFile>>,
    /// Packets are authenticated, on a stage thread beside the worker.
    auth_stage: bool,
    /// Large blocks are decoded on a stage thread beside the worker.
    decode_stage: bool,
}

/// A change of channels, for a running worker.
enum RxCommand {
    Add(ChannelSpec),
    Remove(SocketAddr, Option<IpAddr>),
}

/// What the engine keeps of a worker to steer it.
#[derive(Debug)]
struct WorkerHandle {
    commands: EventSender<RxCommand>,
    retire: Arc<AtomicBool>,
    channels: Vec<ChannelSpec>,
}

impl std::fmt::Debug for RxCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Add(c) => write!(f, "Add({})", c.destination),
            Self::Remove(d, _) => write!(f, "Remove({d})"),
        }
    }
}

impl WorkerSetup {
    fn handle(&self) -> WorkerHandle {
        WorkerHandle {
            commands: self.commands_tx.clone(),
            retire: Arc::clone(&self.retire),
            channels: self.channels.clone(),
        }
    }

    fn into_worker(self) -> Worker {
        let verify = match self.config.auth {
            Some(auth) if self.auth_stage => match VerifyStage::start(auth, self.index) {
                Ok(stage) => Some(stage),
                Err(e) => {
                    tracing::warn!(error = %e, "no authentication stage: the worker checks its packets itself");
                    None
                }
            },
            _ => None,
        };
        let decode = if self.decode_stage {
            DecodeStage::start(self.index)
                .inspect_err(|e| tracing::warn!(error = %e, "no decoding stage: the worker decodes every block itself"))
                .ok()
        } else {
            None
        };
        // The receiver reports an object's progress at most once per publication of the
        // counters: far more often than that, no one reads it.
        let config = Config {
            progress_every: self.config.progress_every.max(PUBLISH_EVERY),
            defer_decode_from_bytes: match &decode {
                Some(_) => self
                    .config
                    .defer_decode_from_bytes
                    .or(Some(DEFER_FROM_BYTES)),
                None => None,
            },
            ..self.config
        };
        let mut receiver = MultiReceiver::new(self.sink, config);
        receiver.set_hand_over_incomplete(self.incomplete.is_some());
        if self.channels.iter().any(|c| !c.tsis.is_empty()) {
            receiver.set_tsi_filtering(true);
            for channel in &self.channels {
                listen(&mut receiver, channel);
            }
        }
        Worker {
            index: self.index,
            receiver,
            routes: routes(&self.channels),
            channels: self.channels,
            counters: RxCounters::default(),
            started: HashMap::new(),
            latency: latency_histogram(),
            events: self.events,
            published: self.published,
            stop: self.stop,
            retire: self.retire,
            commands: self.commands,
            announced: self.track_announced.then_some(self.announced),
            incomplete: self.incomplete,
            verify,
            decode,
        }
    }
}

/// Lets `receiver` take `channel`'s TSIs (every TSI when it names none).
fn listen(receiver: &mut MultiReceiver<FileSink>, channel: &ChannelSpec) {
    if channel.tsis.is_empty() {
        receiver.add_listen_all_tsi(channel.endpoint());
    }
    for &tsi in &channel.tsis {
        receiver.add_listen_tsi(channel.endpoint(), tsi);
    }
}

/// Whether the machine has a core for a stage beside each worker.
fn several_cores() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
}

fn spawn(index: usize, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, RuntimeError> {
    std::thread::Builder::new()
        .name(format!("xflute-rx{index}"))
        .spawn(f)
        .map_err(|source| RuntimeError::Io {
            what: "spawning a worker".into(),
            source,
        })
}

/// How the packet path finds a datagram's channel: its destination, the only source it
/// accepts (if any), and the endpoint the receiver files its sessions under.
struct Route {
    destination: SocketAddr,
    source: Option<IpAddr>,
    endpoint: UdpEndpoint,
}

fn routes(channels: &[ChannelSpec]) -> Vec<Route> {
    channels
        .iter()
        .map(|c| Route {
            destination: c.destination,
            source: c.source,
            endpoint: c.endpoint(),
        })
        .collect()
}

pub(super) fn pin(core: Option<core_affinity::CoreId>) {
    if let Some(core) = core
        && !core_affinity::set_for_current(core)
    {
        tracing::warn!(core = core.id, "could not pin a worker to its core");
    }
}

fn open_udp(channel: &ChannelSpec, interface: Option<&str>) -> Result<UdpSocket, RuntimeError> {
    let group = channel.destination.ip();
    if group.is_multicast() && interface.is_none() {
        return Err(RuntimeError::Config(format!(
            "joining {group} needs an interface (--iface)"
        )));
    }
    let socket = UdpSocket::bind_receiver(channel.destination, channel.source, interface)?;
    if let Err(e) = socket.set_recv_buffer(64 << 20) {
        tracing::warn!(error = %e, "could not enlarge the socket receive buffer");
    }
    socket.set_read_timeout(Some(IDLE_WAIT))?;
    Ok(socket)
}

/// What one worker owns: its receiver, counters and latency histogram.
struct Worker {
    index: usize,
    receiver: MultiReceiver<FileSink>,
    channels: Vec<ChannelSpec>,
    /// The channels as the packet path matches them, each with the endpoint its sessions are
    /// filed under, made once per change of channels rather than once per packet.
    routes: Vec<Route>,
    counters: RxCounters,
    /// When each object being received started, for the latency histogram.
    started: HashMap<(ReceiverEndpoint, u128), Instant>,
    latency: Option<Histogram<u64>>,
    events: EventSender<ObjectEvent>,
    published: Arc<Published<RxCounters>>,
    stop: Arc<AtomicBool>,
    retire: Arc<AtomicBool>,
    commands: Receiver<RxCommand>,
    announced: Option<Announced>,
    incomplete: Option<EventSender<IncompleteFile>>,
    /// Where the packets go to have their authentication checked, when not on this thread.
    verify: Option<VerifyStage>,
    /// Where large blocks go to be decoded, when not on this thread.
    decode: Option<DecodeStage>,
}

impl Worker {
    /// Copies what the live sessions' FDTs describe for [`RxEngine::announced`].
    fn share_announced(&self) {
        let Some(shared) = &self.announced else {
            return;
        };
        let mut by_session: Vec<(ReceiverEndpoint, Vec<String>)> = self
            .receiver
            .sessions_with_fdt()
            .map(|s| (*s, Vec::new()))
            .collect();
        for (session, _, location) in self.receiver.announced() {
            if let Some((_, names)) = by_session.iter_mut().find(|(s, _)| s == session) {
                names.push(location.to_owned());
            }
        }
        *shared.lock().unwrap_or_else(PoisonError::into_inner) = by_session;
    }

    /// Takes the engine's changes of channels.
    fn control(&mut self) {
        while let Ok(command) = self.commands.try_recv() {
            match command {
                RxCommand::Add(channel) => {
                    let filtering = !channel.tsis.is_empty()
                        || self.channels.iter().any(|c| !c.tsis.is_empty());
                    if filtering {
                        self.receiver.set_tsi_filtering(true);
                        for c in self.channels.iter().chain(std::iter::once(&channel)) {
                            listen(&mut self.receiver, c);
                        }
                    }
                    self.channels.push(channel);
                }
                RxCommand::Remove(destination, source) => {
                    for c in self
                        .channels
                        .iter()
                        .filter(|c| c.destination == destination && c.source == source)
                    {
                        self.receiver.remove_listen_all_tsi(&c.endpoint());
                        for &tsi in &c.tsis {
                            self.receiver.remove_listen_tsi(&c.endpoint(), tsi);
                        }
                    }
                    self.channels
                        .retain(|c| !(c.destination == destination && c.source == source));
                }
            }
            self.routes = routes(&self.channels);
        }
    }

    fn datagram(
        &mut self,
        source: Option<IpAddr>,
        destination: SocketAddr,
        payload: &[u8],
        now: SystemTime,
    ) {
        // A handful of channels per worker: a scan of a few words beats hashing.
        let route = self
            .routes
            .iter()
            .find(|r| r.destination == destination && r.source.is_none_or(|s| Some(s) == source));
        let Some(route) = route else {
            self.counters.unknown_channel += 1;
            return;
        };
        if let Some(stage) = &mut self.verify {
            stage.stage(route.endpoint, payload, now);
            return;
        }
        // Drops are typed and counted in the receiver's stats.
        let _ = self.receiver.push(&route.endpoint, payload, now);
    }

    /// A whole frame of `link` type (`None`: a link type xflute does not read, counted).
    fn frame(&mut self, link: Option<LinkType>, frame: &[u8], now: SystemTime) {
        self.counters.frames += 1;
        self.counters.bytes += frame.len() as u64;
        match link.map(|link| parse_udp(link, frame)) {
            Some(Ok(udp)) => {
                self.datagram(Some(udp.source.ip()), udp.destination, udp.payload, now)
            }
            _ => self.counters.frame_errors += 1,
        }
    }

    fn drain_events(&mut self) {
        while let Some(event) = self.receiver.poll_event() {
            match &event {
                ObjectEvent::Started { session, toi, .. } => {
                    self.started.insert((*session, *toi), Instant::now());
                }
                ObjectEvent::Progress { .. } => {}
                ObjectEvent::Completed { session, toi, .. } => {
                    if let (Some(t0), Some(h)) =
                        (self.started.remove(&(*session, *toi)), &mut self.latency)
                    {
                        let us = t0.elapsed().as_micros().clamp(1, 3_600_000_000) as u64;
                        let _ = h.record(us);
                    }
                }
                ObjectEvent::Failed { session, toi, .. } => {
                    self.started.remove(&(*session, *toi));
                }
            }
            // The application may have gone; the engine keeps receiving until stopped.
            let _ = self.events.send(event);
        }
        if let Some(tx) = &self.incomplete {
            while let Some(object) = self.receiver.take_incomplete() {
                let key = (*object.session(), object.toi());
                self.started.remove(&key);
                // Dropped with the object if the application has gone: its file is removed.
                let _ = tx.send(object);
            }
        }
    }

    fn publish(&mut self) {
        self.counters.receiver = self.receiver.stats().clone();
        self.published.store(&self.counters, self.latency.as_ref());
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.retire.load(Ordering::Relaxed)
    }

    /// Runs timers, forwards events and publishes counters when due; `ticks` is the source's
    /// monotonic clock, `now` the time the receiver's timeouts run on.
    fn tick(&mut self, timers: &mut Timers, ticks: Duration, now: SystemTime) {
        self.control();
        if ticks.saturating_sub(timers.cleanup) >= CLEANUP_EVERY {
            self.receiver.cleanup(now);
            self.share_announced();
            timers.cleanup = ticks;
        }
        self.drain_events();
        if ticks.saturating_sub(timers.publish) >= PUBLISH_EVERY {
            self.publish();
            timers.publish = ticks;
        }
    }

    /// The last word: events of what completed, final counters. Unfinished objects are dropped
    /// with the receiver, which removes their `.part` files.
    fn finish(mut self) {
        if self.incomplete.is_some() {
            // What is still being received is handed over for repair rather than dropped.
            self.receiver.close_all(SystemTime::now());
        }
        self.drain_events();
        self.publish();
        tracing::debug!(worker = self.index, "receive worker stopped");
    }
}

/// When a worker's timers last ran, on its source's clock ([`RxSource::ticks`]).
struct Timers {
    cleanup: Duration,
    publish: Duration,
}

impl Timers {
    fn new(now: Duration) -> Self {
        Self {
            cleanup: now,
            publish: now,
        }
    }

    /// Whether the publish or cleanup timer is due at `now`.
    fn due(&self, now: Duration) -> bool {
        now.saturating_sub(self.publish) >= PUBLISH_EVERY
            || now.saturating_sub(self.cleanup) >= CLEANUP_EVERY
    }
}

/// Where a receive worker's packets come from: the one part of the loop ([`Worker::run`]) that
/// differs between AF_XDP, UDP sockets and a replayed capture.
trait RxSource {
    /// Hands what is ready, at most a batch, to `worker`: how many frames, `None` when the
    /// source has ended (a capture's end). `spin`: the worker busy-polls, so do not block.
    fn receive(&mut self, worker: &mut Worker, spin: bool) -> Option<u32>;

    /// Nothing was ready and the worker does not spin: waits a while for more.
    fn wait(&mut self) {}

    /// The time the receiver's timeouts run on: the wall clock, or the capture's.
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    /// A monotonic clock for the worker's timers: time since the worker started, or capture
    /// time.
    fn ticks(&self) -> Duration;

    /// Reads counters that cost a system call (called with the timers).
    fn counters(&mut self, _counters: &mut RxCounters) {}

    /// After the last packet.
    fn end(&mut self, _worker: &mut Worker) {}
}

impl Worker {
    /// The receive loop, the same for every source: take what is ready, busy-poll or wait
    /// when nothing is, run the timers, forward events, publish counters.
    fn run<S: RxSource>(mut self, mut source: S, busy_poll: Duration) {
        let mut timers = Timers::new(source.ticks());
        let mut poll = BusyPoll::new(busy_poll, Instant::now());
        let mut spin = false;
        let mut start = Instant::now();
        while !self.stopped() {
            let Some(n) = source.receive(&mut self, spin) else {
                break;
            };
            if let Some(stage) = &mut self.verify {
                stage.flush(&mut self.receiver, n == 0);
            }
            if let Some(stage) = &mut self.decode {
                stage.exchange(&mut self.receiver, source.now(), false);
            }
            let t = Instant::now();
            poll.received(u64::from(n), t);
            spin = poll.spin(t);
            if n == 0 {
                // A decode out comes back without a packet to wake the worker.
                let decoding = self.decode.as_ref().is_some_and(DecodeStage::busy);
                if spin || decoding {
                    std::hint::spin_loop();
                } else {
                    source.wait();
                }
            }
            let ticks = source.ticks();
            if timers.due(ticks) {
                source.counters(&mut self.counters);
                self.tick(&mut timers, ticks, source.now());
            } else {
                self.drain_events();
            }
            let end = Instant::now();
            // A batch taken: until the next read, the queue holds what arrives.
            if n > 0 {
                let stall = end.saturating_duration_since(start);
                self.counters.stalls.record(stall);
                if stall >= LONG_STALL {
                    tracing::debug!(
                        worker = self.index,
                        frames = n,
                        stall_us = stall.as_micros() as u64,
                        taking_us = t.saturating_duration_since(start).as_micros() as u64,
                        "long stall of the receive loop (taking is the batch's own part)"
                    );
                }
            }
            start = end;
        }
        if let Some(stage) = &mut self.verify {
            stage.flush(&mut self.receiver, true);
        }
        // A capture's end closes its sessions: every decode out lands first.
        if let Some(stage) = &mut self.decode {
            stage.exchange(&mut self.receiver, source.now(), true);
        }
        source.end(&mut self);
        if let Some(stage) = &mut self.verify {
            stage.flush(&mut self.receiver, true);
        }
        if let Some(stage) = &mut self.decode {
            stage.exchange(&mut self.receiver, source.now(), true);
        }
        self.finish();
    }
}

/// AF_XDP: frames from the UMEM, each given back to the fill ring once read.
struct XdpSource {
    socket: XskSocket,
    start: Instant,
}

impl RxSource for XdpSource {
    fn receive(&mut self, worker: &mut Worker, _spin: bool) -> Option<u32> {
        let now = SystemTime::now();
        Some(self.socket.recv(BATCH, |frame| {
            worker.frame(Some(LinkType::Ethernet), frame, now)
        }))
    }

    fn wait(&mut self) {
        let _ = self.socket.wait_readable(IDLE_WAIT);
    }

    fn ticks(&self) -> Duration {
        self.start.elapsed()
    }

    fn counters(&mut self, counters: &mut RxCounters) {
        if let Ok(s) = self.socket.statistics() {
            counters.rx_ring_full = s.rx_ring_full;
            counters.fill_ring_empty = s.rx_fill_ring_empty_descs;
            counters.kernel_dropped = s.rx_dropped;
        }
    }
}

/// A UDP socket of one channel: datagrams by `recvmmsg`, blocking at most [`IDLE_WAIT`] unless
/// the worker spins.
struct UdpSource {
    socket: UdpSocket,
    batch: RecvBatch,
    start: Instant,
}

impl UdpSource {
    fn new(socket: UdpSocket) -> Self {
        Self {
            socket,
            batch: RecvBatch::new(9216),
            start: Instant::now(),
        }
    }
}

impl RxSource for UdpSource {
    fn receive(&mut self, worker: &mut Worker, spin: bool) -> Option<u32> {
        let received = if spin {
            self.socket.recv_batch_nowait(&mut self.batch)
        } else {
            self.socket.recv_batch(&mut self.batch)
        };
        let n = match received {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "receive error");
                std::thread::sleep(IDLE_WAIT);
                return Some(0);
            }
        };
        let now = SystemTime::now();
        if let Some(dropped) = self.batch.kernel_drops() {
            worker.counters.kernel_dropped = u64::from(dropped);
        }
        let destination = worker
            .channels
            .first()
            .map(|c| c.destination)
            .unwrap_or_else(|| SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0));
        for (source, payload) in self.batch.iter().take(n) {
            worker.counters.frames += 1;
            worker.counters.bytes += payload.len() as u64;
            worker.datagram(source.map(|s| s.ip()), destination, payload, now);
        }
        Some(n as u32)
    }

    fn ticks(&self) -> Duration {
        self.start.elapsed()
    }
}

/// A capture replayed as fast as it reads, on its own clock (each frame's timestamp). At its
/// end, what it leaves pending (close grace periods, timeouts a second on) takes effect and
/// what is still unfinished fails.
struct PcapSource<R> {
    reader: PcapReader<R>,
    now: SystemTime,
}

impl<R: std::io::Read> RxSource for PcapSource<R> {
    fn receive(&mut self, worker: &mut Worker, _spin: bool) -> Option<u32> {
        let mut n = 0;
        while n < BATCH {
            let frame = match self.reader.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                // A capture cut short (the capturing process killed) ends at its last whole
                // frame.
                Err(PcapError::Truncated(what)) => {
                    tracing::warn!(what, "capture truncated; stopping at its last whole frame");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "capture unreadable; stopping there");
                    worker.counters.frame_errors += 1;
                    break;
                }
            };
            self.now = SystemTime::UNIX_EPOCH + Duration::from_nanos(frame.timestamp_ns);
            worker.frame(frame.link, frame.data, self.now);
            n += 1;
        }
        // Fewer than a batch: the capture has ended (or cannot be read further).
        (n == BATCH).then_some(n)
    }

    fn now(&self) -> SystemTime {
        self.now
    }

    fn ticks(&self) -> Duration {
        self.now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
    }

    fn counters(&mut self, counters: &mut RxCounters) {
        counters.records_over_cap = self.reader.records_over_cap();
    }

    fn end(&mut self, worker: &mut Worker) {
        worker.counters.records_over_cap = self.reader.records_over_cap();
        let end = self.now + Duration::from_secs(1);
        worker.receiver.cleanup(end);
        worker.receiver.close_all(end);
    }
}

#[cfg(test)]
mod ring_sizing {
    use super::*;

    /// What arrives in a 1 ms stall at 10 Gbit/s, in bytes.
    const STALL_BYTES: u64 = 10_000_000_000 / 8 / 1000;
    /// The smallest frame the rings are sized for, in bytes on the wire: preamble and gap (20),
    /// Ethernet header and FCS (18), IPv4 (20), UDP (8), the shortest LCT header with a FEC
    /// Payload ID (16), and a symbol of 256 bytes.
    const SMALLEST_FRAME_ON_WIRE: u64 = 20 + 18 + 20 + 8 + 16 + 256;
    /// The receive worker's anonymous memory bound.
    const RSS_ANON_BOUND: u64 = 64 << 20;

    #[test]
    fn the_default_rings_absorb_1ms_at_10gbits_and_the_umem_fits_beside_the_receivers_budget() {
        let builder = RxEngine::builder("out");
        let stall_frames = STALL_BYTES.div_ceil(SMALLEST_FRAME_ON_WIRE);
        let rx_ring = u64::from(rx_ring_size(builder.umem_frames));
        assert!(
            rx_ring >= stall_frames,
            "an rx ring of {rx_ring} frames overflows in a 1 ms stall ({stall_frames} frames)"
        );
        // The worker may be holding a batch when it stalls; every other frame is in the fill
        // or rx ring.
        let fill = u64::from(builder.umem_frames - TX_FRAMES) - u64::from(BATCH);
        assert!(
            fill >= stall_frames,
            "{fill} frames to fill cannot take a 1 ms stall ({stall_frames} frames)"
        );
        let umem = u64::from(builder.umem_frames) * u64::from(UmemConfig::default().frame_size);
        let budget = builder.config.limits.max_memory_bytes;
        assert!(
            umem + budget <= RSS_ANON_BOUND,
            "UMEM {umem} bytes and the receiver's budget {budget} exceed {RSS_ANON_BOUND}"
        );
    }

    #[test]
    fn a_full_size_packet_stall_is_a_small_part_of_the_ring() {
        // 1500-byte IP packets: 1538 bytes on the wire.
        let frames = STALL_BYTES.div_ceil(1538);
        assert_eq!(frames, 813);
        assert!(u64::from(rx_ring_size(DEFAULT_UMEM_FRAMES)) >= 5 * frames);
    }
}
