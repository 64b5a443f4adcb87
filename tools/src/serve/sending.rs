//! A sending session of `serve`: a persistent send engine fed by watched directories. A file
//! that appears (closed by its writer, or renamed into place) is read and added; a file that
//! changes becomes a new version under a new TOI, in a new FDT Instance that no longer lists
//! the old one; a file that leaves, or expires by its rule, leaves the FDT. The API adds and
//! removes objects too.
//!
//! Files are read into memory when they are added, not mapped: a writer that rewrites or
//! truncates a file in place must not pull bytes from under a transfer (a mapped file that
//! shrinks faults on read).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use globset::{Glob, GlobMatcher};
use serde_json::json;
use xflute::endpoint::UdpEndpoint;
use xflute::receiver::MemoryData;
use xflute::runtime::{Backend, TxCounters, TxEngine};
use xflute::sender::{
    CachePolicy, CarouselRepeatMode, Config as SenderConfig, ObjectBytes, ObjectDesc,
    PriorityQueue, Profile, Sender, ToiMaxLength, TransferConfig,
};

use super::config::{CacheRule, Carousel, Rule, SendConfig};
use super::watch::{Change, Watcher};
use crate::send::{FecScheme, fec_oti};

/// How often the session looks at its watched directories.
const POLL_EVERY: Duration = Duration::from_millis(5);
/// How often every watched file is looked at again, in case an event was missed.
const RESCAN_EVERY: Duration = Duration::from_secs(30);
/// A file found by a scan (at start, by the periodic rescan, or in a directory that just
/// appeared) rather than by its close or rename is sent once it has not been modified for this
/// long: its writer may still be writing it, and a truncated copy must not go out as a
/// version. Its close, if it comes first, sends it at once.
const SETTLE: Duration = Duration::from_secs(1);
/// How often files waiting to settle are looked at.
const SETTLE_CHECK_EVERY: Duration = Duration::from_millis(100);
/// How often the watcher thread hands memory back: see [`Feeder::run`].
const COLLECT_EVERY: Duration = Duration::from_secs(1);
/// The largest file a session reads: larger ones are refused (and counted).
pub const MAX_FILE_BYTES: u64 = 4 << 30;

/// One file of the session as last sent.
#[derive(Debug, Clone)]
struct Entry {
    toi: u128,
    size: u64,
    modified: Option<SystemTime>,
    inode: u64,
    version: u64,
    expires_at: Option<SystemTime>,
    from_api: bool,
}

/// What the session has done, for `/metrics` and `/status`.
#[derive(Debug, Clone, Default)]
pub struct SendCounters {
    /// Files and API objects added (new versions included).
    pub versions: u64,
    /// Objects removed (deleted, expired, or by the API).
    pub removed: u64,
    /// Objects expired by their rule.
    pub expired: u64,
    /// Files that could not be sent (unreadable, too large, refused by the sender).
    pub refused: u64,
    /// Delay from a file's change being seen to its object being queued, last one, µs.
    pub last_queue_delay_us: u64,
}

struct Shared {
    files: BTreeMap<String, Entry>,
    counters: SendCounters,
}

/// A running sending session.
pub struct SendSession {
    /// Its configuration (what a reload compares).
    pub config: SendConfig,
    engine: Arc<TxEngine>,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    watcher: Option<JoinHandle<()>>,
    rules: Arc<Vec<(GlobMatcher, Rule)>>,
    started: SystemTime,
    /// The wire rate now (the configured one, or as changed by the API).
    rate_bps: Mutex<Option<u64>>,
}

fn priorities(config: &SendConfig) -> Vec<u32> {
    let mut p: Vec<u32> = config.rules.iter().filter_map(|r| r.priority).collect();
    p.push(0);
    p.sort_unstable();
    p.dedup();
    p
}

/// Ethernet source and destination of AF_XDP frames.
type Macs = ([u8; 6], [u8; 6]);

fn source_address(config: &SendConfig) -> Result<(IpAddr, Option<Macs>)> {
    if let Some(s) = config.source {
        return Ok((s, None));
    }
    let unspecified = match config.dest.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    match config.backend {
        Backend::Xdp => {
            let iface = config.iface.as_deref().context("backend xdp needs iface")?;
            let addrs = crate::netif::addresses(iface)
                .with_context(|| format!("reading the addresses of {iface}"))?;
            let source = addrs.source_for(config.dest.ip()).with_context(|| {
                format!("{iface} has no address of the destination's family; set source")
            })?;
            let macs = addrs
                .mac
                .map(|m| crate::send::xdp_macs(m, config.dest.ip()));
            Ok((source, macs))
        }
        _ => Ok((unspecified, None)),
    }
}

/// The sans-IO sender's configuration for a session.
fn sender_config(config: &SendConfig) -> SenderConfig {
    let profile = if config.flute_version == 1 {
        Profile::Rfc3926
    } else {
        Profile::Rfc6726
    };
    let mut sender_config = SenderConfig {
        profile,
        toi_max_length: ToiMaxLength::ToiMax112,
        // A restarted session must not reuse the TOIs receivers may hold from before.
        toi_initial_value: xflute::random::random_toi(ToiMaxLength::ToiMax32)
            .unwrap_or(1)
            .max(1),
        fdt_duration: config.fdt_expires,
        interleave_blocks: config.interleave_blocks,
        ..SenderConfig::default()
    };
    if config.profile == crate::send::SendProfile::DvbMabr {
        sender_config = sender_config.with_dvb_mabr_profile();
    }
    for p in priorities(config) {
        sender_config.set_priority_queue(p, PriorityQueue::new(3));
    }
    sender_config
}

impl SendSession {
    /// Starts the engine and the watcher; files already in the watched directories are sent.
    pub fn start(config: SendConfig) -> Result<Self> {
        let sender_config = sender_config(&config);
        let fdt_oti = fec_oti(&Default::default(), config.symbol_len, config.block_len)?;
        let endpoint = UdpEndpoint::new(config.dest.ip(), config.dest.port());
        let mut sender = Sender::new(endpoint, config.tsi, fdt_oti, sender_config)
            .map_err(|e| anyhow::anyhow!("the session's parameters are not valid: {e}"))?;
        // The session's own announcement of its repair server, carouselled with it, under a
        // name no file of the session can have (docs/repair.md).
        if let Some(server) = &config.repair_announce {
            let description = crate::send::description_object(std::slice::from_ref(server), true)?;
            sender
                .add_object(0, description)
                .context("adding the associated procedure description")?;
        }
        let rules = config
            .rules
            .iter()
            .map(|r| {
                Glob::new(&r.pattern)
                    .map(|g| (g.compile_matcher(), r.clone()))
                    .map_err(|e| anyhow::anyhow!("rule {:?}: {e}", r.pattern))
            })
            .collect::<Result<Vec<_>>>()?;
        let (source, macs) = source_address(&config)?;
        let mut builder = TxEngine::builder()
            .backend(config.backend)
            .rate_bps(config.rate_bps)
            .cores(config.cores.clone())
            .persistent(true)
            .session(sender, source);
        if let Some(bootstrap) = super::bootstrap::publisher(&config)? {
            builder = builder.session(bootstrap, source);
        }
        if let Some(iface) = &config.iface {
            builder = builder.interface(iface.clone());
        }
        if let Some((src, dst)) = macs {
            builder = builder.macs(src, dst);
        }
        let engine = Arc::new(
            builder
                .start(Arc::new(AtomicBool::new(false)))
                .with_context(|| format!("starting session {}", config.name))?,
        );
        let watcher = Watcher::new(&config.watch)?;
        let session = Self {
            rate_bps: Mutex::new(config.rate_bps),
            config,
            engine,
            shared: Arc::new(Mutex::new(Shared {
                files: BTreeMap::new(),
                counters: SendCounters::default(),
            })),
            stop: Arc::new(AtomicBool::new(false)),
            watcher: None,
            rules: Arc::new(rules),
            started: SystemTime::now(),
        };
        let worker = session.worker();
        let stop = Arc::clone(&session.stop);
        let handle = std::thread::Builder::new()
            .name(format!("watch-{}", session.config.name))
            .spawn(move || worker.run(watcher, &stop))
            .context("spawning the watcher")?;
        Ok(Self {
            watcher: Some(handle),
            ..session
        })
    }

    fn worker(&self) -> Feeder {
        Feeder {
            config: self.config.clone(),
            engine: Arc::clone(&self.engine),
            shared: Arc::clone(&self.shared),
            rules: Arc::clone(&self.rules),
        }
    }

    /// Adds an object from the API: `name` is its path in the session (its Content-Location).
    pub fn add(&self, name: &str, content: Vec<u8>) -> Result<u128> {
        check_api_name(name)?;
        self.worker()
            .publish(name, Arc::new(content), None, true, SystemTime::now())
    }

    /// Removes the object named `name` (a file's relative path, or an API object's name).
    pub fn remove(&self, name: &str) -> Result<bool> {
        self.worker().remove(name)
    }

    /// Changes the session's rate.
    pub fn set_rate(&self, rate_bps: Option<u64>) -> Result<()> {
        self.engine.set_rate(rate_bps)?;
        *self.rate_bps.lock().unwrap_or_else(PoisonError::into_inner) = rate_bps;
        Ok(())
    }

    /// The engine's counters.
    pub fn tx(&self) -> TxCounters {
        self.engine.stats().total()
    }

    /// The session's own counters.
    pub fn counters(&self) -> SendCounters {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .counters
            .clone()
    }

    /// The current rate.
    pub fn rate_bps(&self) -> Option<u64> {
        *self.rate_bps.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The file on disk that holds the version of `name` the session sends now, for the repair
    /// server: `None` for an object added through the API (it lives only in the engine), or
    /// when the file has changed since it was read (another size, time or inode).
    pub fn file_of(&self, name: &str) -> Option<PathBuf> {
        use std::os::unix::fs::MetadataExt;
        let entry = self
            .shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .files
            .get(name)
            .cloned()?;
        if entry.from_api {
            return None;
        }
        self.config.watch.iter().map(|d| d.join(name)).find(|p| {
            std::fs::metadata(p).is_ok_and(|m| {
                m.is_file()
                    && m.len() == entry.size
                    && entry.modified.is_none_or(|t| m.modified().ok() == Some(t))
                    && (entry.inode == 0 || m.ino() == entry.inode)
            })
        })
    }

    /// Objects in the session.
    pub fn objects(&self) -> usize {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .files
            .len()
    }

    /// The session as JSON (`/status`).
    pub fn status(&self) -> serde_json::Value {
        let shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        let tx = self.engine.stats().total();
        let files: Vec<serde_json::Value> = shared
            .files
            .iter()
            .map(|(name, e)| {
                json!({
                    "name": name,
                    "toi": e.toi.to_string(),
                    "bytes": e.size,
                    "version": e.version,
                    "from_api": e.from_api,
                })
            })
            .collect();
        json!({
            "name": self.config.name,
            "direction": "send",
            "destination": self.config.dest.to_string(),
            "tsi": self.config.tsi,
            "backend": backend_name(self.config.backend),
            "rate_bps": self.rate_bps(),
            "started": unix(self.started),
            "running": !self.engine.is_finished(),
            "packets": tx.packets,
            "bytes": tx.bytes,
            "transfers": tx.transfers,
            "fdt_instance_id": tx.fdt_instance_id,
            "carousel_cycle_s": tx.carousel_cycle_us as f64 / 1e6,
            "versions": shared.counters.versions,
            "removed": shared.counters.removed,
            "refused": shared.counters.refused,
            "objects": files,
        })
    }

    /// The session in SDP (TS 26.346 §7.3).
    pub fn sdp(&self) -> String {
        let source = self.config.source.or_else(|| {
            source_address(&self.config)
                .ok()
                .map(|(s, _)| s)
                .filter(|s| !s.is_unspecified())
        });
        let fec = match self.config.fec.scheme {
            FecScheme::None => 0,
            FecScheme::Raptor => 1,
            FecScheme::Rs2m => 2,
            FecScheme::Rs28 => 5,
            FecScheme::Raptorq => 6,
            FecScheme::Rs28Us => 129,
        };
        let version = self
            .started
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        super::sdp::write(
            &super::sdp::SessionDescription {
                name: self.config.name.clone(),
                destination: self.config.dest,
                source,
                tsi: self.config.tsi,
                fec_encoding_id: fec,
                bandwidth_kbps: self.rate_bps().map(|r| r.div_ceil(1000)),
            },
            version,
        )
    }

    /// Stops the watcher and the engine (the receivers are told the session closed).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.watcher.take() {
            let _ = h.join();
        }
        self.engine.stop();
        if let Ok(engine) = Arc::try_unwrap(self.engine)
            && let Err(e) = engine.join()
        {
            tracing::warn!(session = self.config.name, error = %e, "the engine stopped with an error");
        }
    }
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// API object names: a relative path of plain segments.
fn check_api_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 1024
        && !name.starts_with('/')
        && name
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && !s.chars().any(char::is_control));
    if !ok {
        bail!("an object name is a relative path of non-empty segments, without . or ..");
    }
    Ok(())
}

/// What the watcher thread and the API share to change the session.
struct Feeder {
    config: SendConfig,
    engine: Arc<TxEngine>,
    shared: Arc<Mutex<Shared>>,
    rules: Arc<Vec<(GlobMatcher, Rule)>>,
}

impl Feeder {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn run(self, mut watcher: Watcher, stop: &AtomicBool) {
        let mut last_scan = Instant::now();
        let mut last_settle_check = Instant::now();
        let mut last_collect = Instant::now();
        // Files found by a scan that were modified too recently to be sent yet.
        let mut unsettled = BTreeSet::new();
        self.rescan(&watcher, &mut unsettled);
        while !stop.load(Ordering::Relaxed) {
            match watcher.poll() {
                Ok(changes) => {
                    for change in changes {
                        match change {
                            Change::Upsert(path) => {
                                unsettled.remove(&path);
                                self.upsert(&watcher, &path);
                            }
                            Change::Found(path) => self.found(&watcher, path, &mut unsettled),
                            Change::Remove(path) => {
                                unsettled.retain(|p: &PathBuf| !p.starts_with(&path));
                                self.remove_path(&watcher, &path);
                            }
                            Change::Rescan => self.rescan(&watcher, &mut unsettled),
                        }
                    }
                }
                Err(e) => tracing::warn!(session = self.config.name, error = %e, "watching"),
            }
            if last_scan.elapsed() >= RESCAN_EVERY {
                self.rescan(&watcher, &mut unsettled);
                last_scan = Instant::now();
            }
            if !unsettled.is_empty() && last_settle_check.elapsed() >= SETTLE_CHECK_EVERY {
                for path in std::mem::take(&mut unsettled) {
                    self.found(&watcher, path, &mut unsettled);
                }
                last_settle_check = Instant::now();
            }
            self.expire(SystemTime::now());
            // This thread allocates every file's content and the engine's thread frees it;
            // mimalloc gives pages freed from another thread back only when their own thread
            // collects, so without this the service's memory creeps up with every version.
            if last_collect.elapsed() >= COLLECT_EVERY {
                crate::release_free_memory();
                last_collect = Instant::now();
            }
            std::thread::sleep(POLL_EVERY);
        }
    }

    /// A file found by a scan: sent if it has not been modified for [`SETTLE`], else kept in
    /// `unsettled` to be looked at again (a file that is gone is dropped: its removal follows).
    fn found(&self, watcher: &Watcher, path: PathBuf, unsettled: &mut BTreeSet<PathBuf>) {
        let Ok(meta) = std::fs::metadata(&path) else {
            return;
        };
        let quiet = meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .is_some_and(|age| age >= SETTLE);
        if quiet {
            self.upsert(watcher, &path);
        } else {
            unsettled.insert(path);
        }
    }

    /// Every file again: new or changed ones sent (once settled), vanished ones removed.
    fn rescan(&self, watcher: &Watcher, unsettled: &mut BTreeSet<PathBuf>) {
        let present = watcher.scan();
        let names: std::collections::HashSet<String> = present
            .iter()
            .filter_map(|p| watcher.relative(p))
            .filter_map(|(_, rel)| rel.to_str().map(str::to_owned))
            .collect();
        let gone: Vec<String> = self
            .lock()
            .files
            .iter()
            .filter(|(name, e)| !e.from_api && !names.contains(*name))
            .map(|(name, _)| name.clone())
            .collect();
        for name in gone {
            let _ = self.remove(&name);
        }
        for path in present {
            self.found(watcher, path, unsettled);
        }
    }

    fn upsert(&self, watcher: &Watcher, path: &Path) {
        let seen = Instant::now();
        let Some((_, rel)) = watcher.relative(path) else {
            return;
        };
        let Some(name) = rel.to_str().map(str::to_owned) else {
            tracing::warn!(path = %path.display(), "not a UTF-8 name: not sent");
            self.lock().counters.refused += 1;
            return;
        };
        let Ok(meta) = std::fs::metadata(path) else {
            return; // gone again; its removal follows
        };
        if !meta.is_file() {
            return;
        }
        let modified = meta.modified().ok();
        if let Some(e) = self.lock().files.get(&name)
            && e.size == meta.len()
            && e.modified == modified
            && e.inode == meta.ino()
        {
            return;
        }
        if meta.len() > MAX_FILE_BYTES {
            tracing::warn!(path = %path.display(), bytes = meta.len(), "file too large for a session: not sent");
            self.lock().counters.refused += 1;
            return;
        }
        let content = match read_content(path, meta.len()) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read: not sent");
                self.lock().counters.refused += 1;
                return;
            }
        };
        let identity = (meta.len(), modified, meta.ino());
        match self.publish(&name, content, Some(identity), false, SystemTime::now()) {
            Ok(toi) => {
                let delay = seen.elapsed().as_micros().min(u128::from(u64::MAX)) as u64;
                self.lock().counters.last_queue_delay_us = delay;
                tracing::info!(session = self.config.name, name, toi = %toi, "queued");
            }
            Err(e) => {
                tracing::warn!(session = self.config.name, name, error = %e, "not sent");
                self.lock().counters.refused += 1;
            }
        }
    }

    /// Adds `content` as `name`, a new version of it when it is in the session already.
    fn publish(
        &self,
        name: &str,
        content: Arc<dyn ObjectBytes>,
        identity: Option<(u64, Option<SystemTime>, u64)>,
        from_api: bool,
        now: SystemTime,
    ) -> Result<u128> {
        let rule = self
            .rules
            .iter()
            .find(|(m, _)| m.is_match(name))
            .map(|(_, r)| r.clone());
        let carousel = rule
            .as_ref()
            .and_then(|r| r.carousel)
            .unwrap_or(self.config.carousel);
        let expires_at = rule.as_ref().and_then(|r| r.expires).map(|d| now + d);
        let cache_control = match (rule.as_ref().and_then(|r| r.cache_control), expires_at) {
            (Some(CacheRule::NoCache), _) => Some(CachePolicy::NoCache),
            (Some(CacheRule::MaxStale), _) => Some(CachePolicy::MaxStale),
            (None, Some(at)) => Some(CachePolicy::ExpiresAt(at)),
            (None, None) => None,
        };
        let fec = rule
            .as_ref()
            .and_then(|r| r.fec.as_ref())
            .unwrap_or(&self.config.fec);
        let oti = fec_oti(fec, self.config.symbol_len, self.config.block_len)?;
        let transfer = TransferConfig {
            oti: Some(oti),
            cenc: rule.as_ref().and_then(|r| r.cenc).unwrap_or_default(),
            carousel_mode: match carousel {
                Carousel::Off => None,
                Carousel::Every(d) => Some(CarouselRepeatMode::DelayBetweenTransfers(d)),
            },
            cache_control,
            ..TransferConfig::default()
        };
        let size = content.as_bytes().len() as u64;
        let object = ObjectDesc::from_bytes(
            content,
            crate::send::content_type(Path::new(name)),
            crate::send::content_location(
                name,
                self.config.profile == crate::send::SendProfile::DvbMabr,
            ),
            true,
            transfer,
        )?;
        let priority = rule.as_ref().and_then(|r| r.priority).unwrap_or(0);
        let previous = self.lock().files.get(name).cloned();
        let toi = match &previous {
            Some(old) => self.engine.replace_object(0, old.toi, priority, object)?,
            None => self.engine.add_object(0, priority, object)?,
        };
        let (size, modified, inode) = identity.unwrap_or((size, None, 0));
        let mut shared = self.lock();
        shared.counters.versions += 1;
        shared.files.insert(
            name.to_owned(),
            Entry {
                toi,
                size,
                modified,
                inode,
                version: previous.map_or(1, |p| p.version + 1),
                expires_at,
                from_api,
            },
        );
        Ok(toi)
    }

    fn remove_path(&self, watcher: &Watcher, path: &Path) {
        let Some((_, rel)) = watcher.relative(path) else {
            return;
        };
        let Some(name) = rel.to_str() else { return };
        // A directory that went takes every file below it.
        let prefix = format!("{name}/");
        let names: Vec<String> = self
            .lock()
            .files
            .iter()
            .filter(|(n, e)| !e.from_api && (n.as_str() == name || n.starts_with(&prefix)))
            .map(|(n, _)| n.clone())
            .collect();
        for n in names {
            if let Err(e) = self.remove(&n) {
                tracing::warn!(session = self.config.name, name = n, error = %e, "removing");
            }
        }
    }

    fn remove(&self, name: &str) -> Result<bool> {
        let Some(entry) = self.lock().files.remove(name) else {
            return Ok(false);
        };
        self.engine.remove_object(0, entry.toi)?;
        self.lock().counters.removed += 1;
        tracing::info!(session = self.config.name, name, "removed from the FDT");
        Ok(true)
    }

    fn expire(&self, now: SystemTime) {
        let due: Vec<String> = self
            .lock()
            .files
            .iter()
            .filter(|(_, e)| e.expires_at.is_some_and(|t| t <= now))
            .map(|(n, _)| n.clone())
            .collect();
        for name in due {
            if self.remove(&name).unwrap_or(false) {
                self.lock().counters.expired += 1;
            }
        }
    }
}

/// A backend as the configuration file names it.
pub fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Xdp => "xdp",
        Backend::Udp => "udp",
        Backend::Pcap => "pcap",
    }
}
/// The `len` bytes of the file at `path`, copied into memory the sender reads fast (huge pages
/// for a large file: see [`MemoryData`]). A file no longer `len` bytes long is an error: it is
/// being written, and the change that follows sends it again.
fn read_content(path: &Path, len: u64) -> std::io::Result<Arc<dyn ObjectBytes>> {
    use std::io::Read;
    let len = usize::try_from(len).map_err(|_| std::io::Error::other("too large"))?;
    let mut file = std::fs::File::open(path)?;
    let mut data = MemoryData::zeroed(len)?;
    file.read_exact(&mut data)?;
    if file.read(&mut [0u8; 1])? != 0 {
        return Err(std::io::Error::other("the file grew while it was read"));
    }
    Ok(Arc::new(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sessions_interleaving_reaches_the_sender() {
        let session = |extra: &str| {
            let text = format!("[[send]]\nname = \"s\"\ndest = \"239.255.0.1:3400\"\n{extra}");
            let mut c = super::super::config::parse(&text, std::path::Path::new("/")).unwrap();
            c.send.remove(0)
        };
        assert_eq!(
            sender_config(&session("")).interleave_blocks,
            SenderConfig::DEFAULT_INTERLEAVE_BLOCKS
        );
        let c = session("fec = \"rs28\"\ninterleave_blocks = 16");
        assert_eq!(sender_config(&c).interleave_blocks, 16);
        let c = session("interleave_blocks = 1");
        assert_eq!(sender_config(&c).interleave_blocks, 1);
    }
}
