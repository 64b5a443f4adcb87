//! Unicast file repair (3GPP TS 26.346 §9.3, the associated-delivery procedure; DVB-MABR
//! unicast repair): the I/O side of `xflute::receiver::repair`. Objects the receive engine
//! could not complete come in with what they hold; each one waits its back-off (the offset
//! time plus a random time in the window, so that receivers that lost the same packets do not
//! ask at once), asks the repair server for the byte ranges its plan gives with HTTP/1.1
//! `Range` requests (many ranges per request, answered as multipart/byteranges), feeds the
//! bytes back, and is verified (MD5 when announced) before it takes its final name.
//!
//! One thread runs a one-thread tokio runtime with hyper's HTTP/1.1 client: a bounded number
//! of objects at once, one kept-alive connection each, a timeout per request, retries with a
//! doubling pause, then the next repair server, and one failure per object when none answers.
//! `http://` only: a repair server reached over TLS needs a proxy in front.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use crossbeam_channel::Receiver;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_RANGE, CONTENT_TYPE, HOST, RANGE};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use url::Url;
use xflute::receiver::{FailReason, ObjectEvent};
use xflute::runtime::{EventWait, Events, IncompleteFile};

/// Longest `Range` header value a request carries: well under the 8 KiB request line and header
/// buffers of common servers (nginx's `large_client_header_buffers`).
const MAX_RANGE_HEADER_BYTES: usize = 4000;

/// Plan, fetch and feed rounds per object: one suffices unless a RaptorQ or Raptor block
/// fails to decode with k symbols, or a server answers less than asked.
const MAX_ROUNDS: u32 = 4;

/// What the repair of objects may do.
#[derive(Debug, Clone, PartialEq)]
pub struct RepairOptions {
    /// Repair servers, tried in turn: an object's Content-Location is resolved against each.
    pub bases: Vec<Url>,
    /// Objects repaired at once.
    pub concurrency: usize,
    /// Attempts per request after the first, each after a pause twice the last.
    pub retries: u32,
    /// Most a connection, or a request and its whole answer, may take.
    pub timeout: Duration,
    /// Wait before an object's first request (TS 26.346 §9.3.4 offset time).
    pub offset_time: Duration,
    /// A random wait, uniform in this window, added to the offset time (TS 26.346 §9.3.4
    /// random time period).
    pub random_window: Duration,
    /// Repair servers learnt while receiving (announced in gateway configurations, and in
    /// associated delivery procedure descriptions received in the sessions), used when
    /// `bases` is empty.
    pub announced: Option<AnnouncedBases>,
    /// Prefixes of Content-Locations that a base stands in for (DVB-MABR
    /// `transportObjectBaseURI`): a location that starts with one is resolved without it.
    pub object_base_uris: Vec<String>,
}

/// Repair servers announced while receiving, shared between the thread that reads the
/// announcements and the repairs. Runtime state, not configuration: any two compare equal, so
/// that a configuration read again is not taken as changed.
///
/// Two sources are kept apart, so that one that announces nothing does not take away what the
/// other announced: the gateway configuration ([`Self::set`]) and the associated delivery
/// procedure description of the sessions received ([`Self::set_described`]).
#[derive(Debug, Clone, Default)]
pub struct AnnouncedBases(Arc<std::sync::RwLock<Sources>>);

#[derive(Debug, Default)]
struct Sources {
    gateway: Announced,
    described: Option<Described>,
}

/// The repair servers announced, and the object base URIs they stand in for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Announced {
    /// The servers, preferred first.
    pub bases: Vec<Url>,
    /// As [`RepairOptions::object_base_uris`].
    pub object_base_uris: Vec<String>,
}

/// What an associated delivery procedure description (3GPP TS 26.346 §9.3) received in a
/// session announces: its `postFileRepair` servers that can be used, and its back-off.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Described {
    /// The `http://` servers, in the document's order, each once.
    pub bases: Vec<Url>,
    /// `offsetTime`.
    pub offset_time: Option<Duration>,
    /// `randomTimePeriod`.
    pub random_window: Option<Duration>,
}

/// The longest back-off an announcement may impose; longer ones are cut to it, so that a
/// mistaken or hostile description cannot hold objects (and `recv`'s end) for days.
pub const MAX_ANNOUNCED_BACK_OFF: Duration = Duration::from_secs(3600);

impl Described {
    /// The servers and back-off of `description`; servers that are not `http://` URLs are
    /// left out with a warning.
    pub fn of(description: &xflute::adpd::AssociatedProcedureDescription) -> Self {
        let mut bases: Vec<Url> = Vec::new();
        for text in description.server_uris() {
            match Url::parse(text) {
                Ok(url) if url.scheme() == "http" && url.host_str().is_some() => {
                    if !bases.contains(&url) {
                        bases.push(url);
                    }
                }
                _ => tracing::warn!(
                    "announced repair server {:?} is not an http:// URL: left out",
                    crate::units::printable(text)
                ),
            }
        }
        let repair = description.post_file_repair.as_ref();
        Self {
            bases,
            offset_time: repair.and_then(xflute::adpd::PostFileRepair::offset_time),
            random_window: repair.and_then(xflute::adpd::PostFileRepair::random_time_period),
        }
    }
}

impl PartialEq for AnnouncedBases {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl AnnouncedBases {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Sources> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Sources> {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Replaces what the gateway configuration announces.
    pub fn set(&self, announced: Announced) {
        self.write().gateway = announced;
    }

    /// What the gateway configuration announces so far.
    pub fn get(&self) -> Announced {
        self.read().gateway.clone()
    }

    /// Replaces what the sessions' associated delivery procedure description announces.
    pub fn set_described(&self, described: Described) {
        self.write().described = Some(described);
    }

    /// What the sessions' associated delivery procedure description announces so far.
    pub fn described(&self) -> Option<Described> {
        self.read().described.clone()
    }

    /// The servers to repair from, the description's first (the session's own word), then the
    /// gateway configuration's, each once; and the back-off of `options`, lengthened to the
    /// description's (each at most [`MAX_ANNOUNCED_BACK_OFF`]).
    fn resolve(&self, options: &RepairOptions) -> (Announced, Duration, Duration) {
        let sources = self.read();
        let mut announced = sources.gateway.clone();
        let (mut offset, mut window) = (options.offset_time, options.random_window);
        if let Some(described) = &sources.described {
            let mut bases = described.bases.clone();
            for base in std::mem::take(&mut announced.bases) {
                if !bases.contains(&base) {
                    bases.push(base);
                }
            }
            announced.bases = bases;
            let cap = |d: Option<Duration>| d.unwrap_or_default().min(MAX_ANNOUNCED_BACK_OFF);
            offset = offset.max(cap(described.offset_time));
            window = window.max(cap(described.random_window));
        }
        (announced, offset, window)
    }
}

/// The associated delivery procedure description stored at `path` (a completed object);
/// `None`, logged, when it cannot be read.
pub fn read_description(
    path: &std::path::Path,
) -> Option<xflute::adpd::AssociatedProcedureDescription> {
    use std::io::Read as _;
    let limits = xflute::adpd::ParseLimits::default();
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| {
        f.take(limits.max_document_bytes as u64 + 1)
            .read_to_end(&mut bytes)
    });
    if let Err(e) = read {
        tracing::warn!(
            "reading the associated procedure description {}: {e}",
            path.display()
        );
        return None;
    }
    match xflute::adpd::AssociatedProcedureDescription::parse(&bytes, &limits) {
        Ok(description) => Some(description),
        Err(e) => {
            tracing::warn!(
                "unreadable associated procedure description {}: {e}",
                path.display()
            );
            None
        }
    }
}

impl Default for RepairOptions {
    fn default() -> Self {
        Self {
            bases: Vec::new(),
            concurrency: 4,
            retries: 3,
            timeout: Duration::from_secs(10),
            offset_time: Duration::ZERO,
            random_window: Duration::ZERO,
            announced: None,
            object_base_uris: Vec::new(),
        }
    }
}

/// What the repairs did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepairStats {
    /// Objects handed over for repair.
    pub objects: u64,
    /// Objects completed and verified by a repair.
    pub repaired: u64,
    /// Objects a repair could not complete.
    pub failed: u64,
    /// HTTP requests made (retries included).
    pub requests: u64,
    /// Requests that failed and were made again.
    pub retries: u64,
    /// Bytes of the objects' source symbols not held when they were handed over.
    pub missing_bytes: u64,
    /// Bytes asked for in `Range` headers.
    pub requested_bytes: u64,
    /// Bytes of content received in answers.
    pub received_bytes: u64,
    /// Source symbols asked for.
    pub requested_symbols: u64,
    /// From the first object taken to the last one repaired or failed, seconds.
    pub seconds: f64,
}

struct Counters {
    /// What the times below count from.
    base: std::time::Instant,
    first_taken_us: AtomicU64,
    last_done_us: AtomicU64,
    objects: AtomicU64,
    repaired: AtomicU64,
    failed: AtomicU64,
    requests: AtomicU64,
    retries: AtomicU64,
    missing_bytes: AtomicU64,
    requested_bytes: AtomicU64,
    received_bytes: AtomicU64,
    requested_symbols: AtomicU64,
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            base: std::time::Instant::now(),
            first_taken_us: AtomicU64::new(u64::MAX),
            last_done_us: AtomicU64::new(0),
            objects: AtomicU64::default(),
            repaired: AtomicU64::default(),
            failed: AtomicU64::default(),
            requests: AtomicU64::default(),
            retries: AtomicU64::default(),
            missing_bytes: AtomicU64::default(),
            requested_bytes: AtomicU64::default(),
            received_bytes: AtomicU64::default(),
            requested_symbols: AtomicU64::default(),
        }
    }
}

impl Counters {
    fn now_us(&self) -> u64 {
        self.base.elapsed().as_micros().min(u128::from(u64::MAX)) as u64
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> RepairStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let (first, last) = (get(&self.first_taken_us), get(&self.last_done_us));
        RepairStats {
            seconds: last.saturating_sub(first) as f64 / 1e6,
            objects: get(&self.objects),
            repaired: get(&self.repaired),
            failed: get(&self.failed),
            requests: get(&self.requests),
            retries: get(&self.retries),
            missing_bytes: get(&self.missing_bytes),
            requested_bytes: get(&self.requested_bytes),
            received_bytes: get(&self.received_bytes),
            requested_symbols: get(&self.requested_symbols),
        }
    }
}

/// The repair thread: takes incomplete objects, gives back one event per object (completed, or
/// failed with the reason).
pub struct Repairer {
    thread: std::thread::JoinHandle<()>,
    outcomes: Receiver<ObjectEvent>,
    counters: Arc<Counters>,
}

/// Where a [`Repairer`] takes the objects to repair from.
pub enum Objects {
    /// What a running receive engine hands over, until it has stopped.
    Engine(Events<IncompleteFile>),
    /// These (a capture's incomplete objects, after its last frame).
    List(std::collections::VecDeque<IncompleteFile>),
}

impl Objects {
    /// The next object, or why none: none waiting now, or none will come.
    fn take(&mut self) -> std::result::Result<IncompleteFile, EventWait> {
        match self {
            Self::Engine(events) => events.take(),
            Self::List(list) => list.pop_front().ok_or(EventWait::Closed),
        }
    }
}

impl Repairer {
    /// Starts repairing what comes from `objects`, until none will come.
    pub fn spawn(options: RepairOptions, objects: Objects) -> Result<Self> {
        if options.bases.is_empty() && options.announced.is_none() {
            bail!("no repair server");
        }
        for base in &options.bases {
            if base.scheme() != "http" || base.host_str().is_none() {
                bail!("repair server {base}: only http://HOST[:PORT]/PATH is supported");
            }
        }
        let (tx, outcomes) = crossbeam_channel::unbounded();
        let counters = Arc::new(Counters::default());
        let shared = Arc::clone(&counters);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the repair runtime")?;
        let thread = std::thread::Builder::new()
            .name("xflute-repair".into())
            .spawn(move || runtime.block_on(run(options, objects, tx, shared)))
            .context("spawning the repair thread")?;
        Ok(Self {
            thread,
            outcomes,
            counters,
        })
    }

    /// Events of repaired (`Completed`) and unrepaired (`Failed`) objects.
    pub fn outcomes(&self) -> &Receiver<ObjectEvent> {
        &self.outcomes
    }

    /// The counters so far.
    pub fn stats(&self) -> RepairStats {
        self.counters.snapshot()
    }

    /// Whether every object taken has been dealt with and no more can come.
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Waits for the thread to end (after the input channel closed), then returns the last
    /// outcomes and the counters.
    pub fn join(self) -> (Vec<ObjectEvent>, RepairStats) {
        let _ = self.thread.join();
        let rest = self.outcomes.try_iter().collect();
        (rest, self.counters.snapshot())
    }
}

async fn run(
    options: RepairOptions,
    mut objects: Objects,
    outcomes: crossbeam_channel::Sender<ObjectEvent>,
    counters: Arc<Counters>,
) {
    let options = Arc::new(options);
    let mut tasks = tokio::task::JoinSet::new();
    let mut closed = false;
    loop {
        while tasks.len() < options.concurrency.max(1) && !closed {
            match objects.take() {
                Ok(object) => {
                    let (options, counters, outcomes) = (
                        Arc::clone(&options),
                        Arc::clone(&counters),
                        outcomes.clone(),
                    );
                    tasks.spawn(async move {
                        let event =
                            repair_object(object, Arc::clone(&options), Arc::clone(&counters))
                                .await;
                        counters
                            .last_done_us
                            .fetch_max(counters.now_us(), Ordering::Relaxed);
                        let _ = outcomes.send(event);
                    });
                }
                Err(EventWait::Timeout) => break,
                Err(EventWait::Closed) => closed = true,
            }
        }
        if closed && tasks.is_empty() {
            return;
        }
        if tasks.len() >= options.concurrency.max(1) {
            let _ = tasks.join_next().await;
        } else {
            // New objects come from the receive workers' threads: look again shortly.
            tokio::select! {
                _ = tasks.join_next(), if !tasks.is_empty() => {}
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
    }
}

/// A uniformly random duration in `0..window`.
fn random_within(window: Duration) -> Duration {
    let mut bytes = [0u8; 8];
    if window.is_zero() || getrandom::fill(&mut bytes).is_err() {
        return Duration::ZERO;
    }
    let nanos = window.as_nanos().min(u128::from(u64::MAX)) as u64;
    Duration::from_nanos(u64::from_le_bytes(bytes) % nanos.max(1))
}

/// Where the repair server `base` has the file of `location` (an FDT Content-Location): a
/// relative location is resolved against `base`; an absolute one (`http://origin/a/b`,
/// `file:///a/b`) by its path, so that the server stands in for its origin.
pub fn resolve(base: &Url, location: &str) -> Result<Url> {
    let relative = match Url::parse(location) {
        Ok(absolute) => absolute.path().trim_start_matches('/').to_owned(),
        Err(_) => location.trim_start_matches('/').to_owned(),
    };
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base.join(&relative)
        .with_context(|| format!("resolving {location} against {base}"))
}

/// `location` less the first of `prefixes` it starts with and the `/` after it (the object
/// base URI a repair server's base stands in for); as it is when none matches.
pub fn without_object_base<'a>(location: &'a str, prefixes: &[String]) -> &'a str {
    prefixes
        .iter()
        .filter(|p| !p.is_empty())
        .find_map(|p| location.strip_prefix(p.as_str()))
        .map_or(location, |rest| rest.trim_start_matches('/'))
}

async fn repair_object(
    object: IncompleteFile,
    options: Arc<RepairOptions>,
    counters: Arc<Counters>,
) -> ObjectEvent {
    Counters::add(&counters.objects, 1);
    counters
        .first_taken_us
        .fetch_min(counters.now_us(), Ordering::Relaxed);
    Counters::add(&counters.missing_bytes, object.missing_bytes());
    let session = *object.session();
    let toi = object.toi();
    let meta = Arc::clone(object.meta());
    let started = std::time::Instant::now();
    let reason = match fetch_all(object, options, Arc::clone(&counters)).await {
        Ok(object) => {
            let fetched = started.elapsed();
            // The rest of the MD5 and the write-back of the file: off the runtime's thread,
            // so that other objects' requests go on meanwhile.
            let finished = tokio::task::spawn_blocking(move || object.finish()).await;
            tracing::debug!(
                toi,
                fetch_ms = fetched.as_millis() as u64,
                finish_ms = (started.elapsed() - fetched).as_millis() as u64,
                "repair done"
            );
            match finished {
                Ok(Ok(())) => {
                    Counters::add(&counters.repaired, 1);
                    return ObjectEvent::Completed { session, toi, meta };
                }
                Ok(Err(reason)) => reason,
                Err(e) => FailReason::RepairFailed(e.to_string()),
            }
        }
        // The object, if it came back, was dropped: its temporary file is removed.
        Err(e) => FailReason::RepairFailed(format!("{e:#}")),
    };
    tracing::warn!(toi, location = ?meta.content_location, %reason, "repair failed");
    Counters::add(&counters.failed, 1);
    ObjectEvent::Failed {
        session,
        toi,
        meta: Some(meta),
        reason,
    }
}

/// Answers fetched ahead of the one being fed, per object: the next request is on the wire
/// while the bytes of the last one are stored (and hashed).
const FETCHED_AHEAD: usize = 2;

/// How long an object handed over before any repair server is announced waits for one.
const ANNOUNCEMENT_WAIT: Duration = Duration::from_secs(5);
/// How often it looks meanwhile.
const ANNOUNCEMENT_POLL: Duration = Duration::from_millis(100);

/// Fetches and feeds what the object's plan asks for, round after round, until it is
/// complete; the object back, complete, or an error (the object dropped).
async fn fetch_all(
    mut object: IncompleteFile,
    options: Arc<RepairOptions>,
    counters: Arc<Counters>,
) -> Result<IncompleteFile> {
    // What arrived by broadcast is written back while the rest is fetched and hashed, so the
    // commit waits only for the repaired pages.
    object.start_write_back();
    let location = object
        .meta()
        .content_location
        .clone()
        .ok_or_else(|| anyhow!("no Content-Location"))?;
    let servers = || match &options.announced {
        Some(announced) if options.bases.is_empty() => announced.resolve(&options),
        _ => (
            Announced {
                bases: options.bases.clone(),
                object_base_uris: options.object_base_uris.clone(),
            },
            options.offset_time,
            options.random_window,
        ),
    };
    let mut resolved = servers();
    // The description travels in the session like any object: lost, it comes again with the
    // carousel's next round, perhaps after the objects it would repair have ended.
    let mut waited = Duration::ZERO;
    while resolved.0.bases.is_empty() && options.announced.is_some() && waited < ANNOUNCEMENT_WAIT {
        tokio::time::sleep(ANNOUNCEMENT_POLL).await;
        waited += ANNOUNCEMENT_POLL;
        resolved = servers();
    }
    let (
        Announced {
            bases,
            object_base_uris,
        },
        offset,
        window,
    ) = resolved;
    if bases.is_empty() {
        bail!("no repair server announced");
    }
    let relative = without_object_base(&location, &object_base_uris);
    let urls: Arc<Vec<Url>> = Arc::new(
        bases
            .iter()
            .map(|base| resolve(base, relative))
            .collect::<Result<Vec<_>>>()?,
    );
    tokio::time::sleep(offset.saturating_add(random_within(window))).await;
    for _ in 0..MAX_ROUNDS {
        let plan = object.plan();
        if plan.is_empty() {
            return Ok(object);
        }
        Counters::add(&counters.requested_symbols, plan.symbols);
        let groups: Vec<Vec<Range<u64>>> = batches(&plan.ranges)
            .into_iter()
            .map(<[_]>::to_vec)
            .collect();
        let (tx, mut rx) = tokio::sync::mpsc::channel(FETCHED_AHEAD);
        let fetcher = {
            let (urls, options, counters) = (
                Arc::clone(&urls),
                Arc::clone(&options),
                Arc::clone(&counters),
            );
            tokio::spawn(async move {
                let mut client = Client::default();
                for group in groups {
                    let parts = client.fetch(&urls, &group, &options, &counters).await;
                    let failed = parts.is_err();
                    if tx.send(parts).await.is_err() || failed {
                        return;
                    }
                }
            })
        };
        let (mut waiting, mut feeding, mut answers) = (Duration::ZERO, Duration::ZERO, 0u32);
        loop {
            let asked = std::time::Instant::now();
            let Some(parts) = rx.recv().await else {
                break;
            };
            waiting += asked.elapsed();
            answers += 1;
            let parts = match parts {
                Ok(parts) => parts,
                Err(e) => {
                    fetcher.abort();
                    return Err(e);
                }
            };
            let received: u64 = parts.iter().map(|(_, b)| b.len() as u64).sum();
            Counters::add(&counters.received_bytes, received);
            let location = location.clone();
            let fed = tokio::task::spawn_blocking(move || {
                let started = std::time::Instant::now();
                let fed = parts.iter().try_for_each(|(offset, bytes)| {
                    object
                        .feed(*offset, bytes)
                        .with_context(|| format!("{location}: bytes at {offset}"))
                });
                (object, fed, started.elapsed())
            })
            .await;
            match fed {
                Ok((back, Ok(()), took)) => {
                    object = back;
                    feeding += took;
                }
                Ok((_, Err(e), _)) => {
                    fetcher.abort();
                    return Err(e);
                }
                Err(e) => {
                    fetcher.abort();
                    return Err(anyhow!("storing repair bytes: {e}"));
                }
            }
        }
        // Where a round's time went: waiting for answers, or storing and hashing them.
        tracing::debug!(
            location,
            answers,
            waiting_ms = waiting.as_millis() as u64,
            storing_ms = feeding.as_millis() as u64,
            "repair round"
        );
    }
    if object.is_complete() {
        Ok(object)
    } else {
        bail!("{location}: still incomplete after {MAX_ROUNDS} rounds")
    }
}

/// The ranges split into groups whose `Range` header stays within [`MAX_RANGE_HEADER_BYTES`].
fn batches(ranges: &[Range<u64>]) -> Vec<&[Range<u64>]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut len = 0;
    for (i, r) in ranges.iter().enumerate() {
        let item = format!("{}-{},", r.start, r.end - 1).len();
        if len + item > MAX_RANGE_HEADER_BYTES && i > start {
            out.push(&ranges[start..i]);
            start = i;
            len = 0;
        }
        len += item;
    }
    if start < ranges.len() {
        out.push(&ranges[start..]);
    }
    out
}

/// The `Range` header value for `ranges` (RFC 9110 §14.1.2).
pub fn range_header(ranges: &[Range<u64>]) -> String {
    let specs: Vec<String> = ranges
        .iter()
        .map(|r| format!("{}-{}", r.start, r.end - 1))
        .collect();
    format!("bytes={}", specs.join(","))
}

/// One kept-alive HTTP/1.1 connection to the repair server in use.
#[derive(Default)]
struct Client {
    conn: Option<(String, SendRequest<Empty<Bytes>>)>,
}

impl Client {
    /// Asks for `ranges` of the file, with retries and then the next server.
    async fn fetch(
        &mut self,
        urls: &[Url],
        ranges: &[Range<u64>],
        options: &RepairOptions,
        counters: &Counters,
    ) -> Result<Vec<(u64, Bytes)>> {
        let requested: u64 = ranges.iter().map(|r| r.end - r.start).sum();
        let mut pause = Duration::from_millis(100);
        let mut last = anyhow!("no repair server");
        for attempt in 0..=options.retries {
            let Some(url) = urls.get(attempt as usize % urls.len().max(1)) else {
                break;
            };
            if attempt > 0 {
                Counters::add(&counters.retries, 1);
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            Counters::add(&counters.requests, 1);
            Counters::add(&counters.requested_bytes, requested);
            match tokio::time::timeout(options.timeout, self.get(url, ranges)).await {
                Ok(Ok(parts)) => return Ok(parts),
                Ok(Err(e)) => last = e.context(format!("GET {url}")),
                Err(_) => {
                    last = anyhow!("GET {url}: no answer within {:?}", options.timeout);
                }
            }
            // A connection that failed once is not trusted again.
            self.conn = None;
        }
        Err(last.context(format!("after {} attempts", options.retries + 1)))
    }

    async fn get(&mut self, url: &Url, ranges: &[Range<u64>]) -> Result<Vec<(u64, Bytes)>> {
        let host = url.host_str().ok_or_else(|| anyhow!("no host"))?;
        let port = url.port_or_known_default().unwrap_or(80);
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        let reuse = matches!(&self.conn, Some((a, s)) if *a == authority && !s.is_closed());
        if !reuse {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let stream = tokio::net::TcpStream::connect((host, port)).await?;
            let _ = stream.set_nodelay(true);
            let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.conn = Some((authority.clone(), sender));
        }
        let Some((_, sender)) = self.conn.as_mut() else {
            bail!("no connection");
        };
        sender.ready().await?;
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let request = Request::get(target)
            .header(HOST, authority)
            .header(RANGE, range_header(ranges))
            .body(Empty::<Bytes>::new())?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let content_range = response
            .headers()
            .get(CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.into_body().collect().await?.to_bytes();
        match status {
            StatusCode::PARTIAL_CONTENT => {
                if let Some(boundary) = content_type.as_deref().and_then(multipart_boundary) {
                    parse_byteranges(&body, &boundary)
                } else {
                    let (start, end, _) = content_range
                        .as_deref()
                        .and_then(parse_content_range)
                        .ok_or_else(|| anyhow!("206 without a usable Content-Range"))?;
                    if (end - start) as usize != body.len() {
                        bail!("206 body of {} bytes for {start}-{}", body.len(), end - 1);
                    }
                    Ok(vec![(start, body)])
                }
            }
            // A server that ignores Range sends the whole file: take the ranges from it.
            StatusCode::OK => ranges
                .iter()
                .map(|r| {
                    let part = body
                        .get(r.start as usize..r.end as usize)
                        .ok_or_else(|| anyhow!("200 body of {} bytes is short", body.len()))?;
                    Ok((r.start, body.slice_ref(part)))
                })
                .collect(),
            status => bail!("{status}"),
        }
    }
}

/// The boundary of a `multipart/byteranges` Content-Type, if it is one.
fn multipart_boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let kind = params.next()?.trim();
    if !kind.eq_ignore_ascii_case("multipart/byteranges") {
        return None;
    }
    params.find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// `bytes FIRST-LAST/LEN` (RFC 9110 §14.4) as (first, one past last, length if known).
pub fn parse_content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (span, len) = rest.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    let first: u64 = first.trim().parse().ok()?;
    let last: u64 = last.trim().parse().ok()?;
    let len = match len.trim() {
        "*" => None,
        n => Some(n.parse().ok()?),
    };
    (last >= first).then_some((first, last + 1, len))
}

/// The parts of a `multipart/byteranges` body (RFC 9110 §14.6): each part's Content-Range and
/// bytes; its headers are read with httparse, its bytes by the length its Content-Range gives.
pub fn parse_byteranges(body: &Bytes, boundary: &str) -> Result<Vec<(u64, Bytes)>> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut at = find(body, delimiter.as_bytes(), 0)
        .ok_or_else(|| anyhow!("multipart body without its boundary"))?;
    loop {
        at += delimiter.len();
        if body.get(at..at + 2) == Some(b"--") {
            return Ok(parts);
        }
        // The rest of the delimiter line (transport padding, CRLF).
        at = find(body, b"\r\n", at).ok_or_else(|| anyhow!("truncated multipart body"))? + 2;
        let mut headers = [httparse::EMPTY_HEADER; 8];
        let rest = body.get(at..).unwrap_or_default();
        let (consumed, headers) = match httparse::parse_headers(rest, &mut headers)? {
            httparse::Status::Complete(done) => done,
            httparse::Status::Partial => bail!("truncated multipart part headers"),
        };
        let (start, end, _) = headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-range"))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .and_then(parse_content_range)
            .ok_or_else(|| anyhow!("multipart part without a usable Content-Range"))?;
        at += consumed;
        let len = usize::try_from(end - start)?;
        let data = body
            .get(at..at + len)
            .ok_or_else(|| anyhow!("multipart part shorter than its Content-Range"))?;
        parts.push((start, body.slice_ref(data)));
        at = find(body, delimiter.as_bytes(), at + len)
            .ok_or_else(|| anyhow!("multipart body without its closing boundary"))?;
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_locations_resolve_against_the_base() {
        let base = Url::parse("http://10.0.0.1:8080/files").unwrap();
        assert_eq!(
            resolve(&base, "a/b.bin").unwrap().as_str(),
            "http://10.0.0.1:8080/files/a/b.bin"
        );
        assert_eq!(
            resolve(&base, "file:///x.bin").unwrap().as_str(),
            "http://10.0.0.1:8080/files/x.bin"
        );
        assert_eq!(
            resolve(&base, "http://origin.example/dir/y z.bin")
                .unwrap()
                .as_str(),
            "http://10.0.0.1:8080/files/dir/y%20z.bin"
        );
    }

    #[test]
    fn the_object_base_uri_is_left_out_of_the_locations_that_start_with_it() {
        let prefixes = vec![String::new(), "tag:gpac.io,2025:s1".to_owned()];
        assert_eq!(
            without_object_base("tag:gpac.io,2025:s1/seg/1.m4s", &prefixes),
            "seg/1.m4s"
        );
        assert_eq!(without_object_base("other/a.bin", &prefixes), "other/a.bin");
        let base = Url::parse("http://10.0.0.1/live/").unwrap();
        assert_eq!(
            resolve(
                &base,
                without_object_base("tag:gpac.io,2025:s1/a.mpd", &prefixes)
            )
            .unwrap()
            .as_str(),
            "http://10.0.0.1/live/a.mpd"
        );
    }

    #[test]
    fn a_description_announces_its_http_servers_and_lengthens_the_back_off() {
        use xflute::adpd::{AssociatedProcedureDescription, PostFileRepair};
        let description = AssociatedProcedureDescription::file_repair(PostFileRepair {
            server_uris: vec![
                "http://a.example/x/".into(),
                "ftp://b.example/".into(),
                "http://a.example/x/".into(),
                "not a url".into(),
                "http://c.example/".into(),
            ],
            offset_time_s: Some(5),
            random_time_period_s: Some(u64::MAX),
        });
        let described = Described::of(&description);
        let urls: Vec<&str> = described.bases.iter().map(Url::as_str).collect();
        assert_eq!(urls, ["http://a.example/x/", "http://c.example/"]);
        let shared = AnnouncedBases::default();
        let options = RepairOptions {
            offset_time: Duration::from_secs(7),
            random_window: Duration::from_secs(1),
            announced: Some(shared.clone()),
            ..RepairOptions::default()
        };
        // Nothing announced yet: no server, the receiver's own back-off.
        let (none, offset, window) = shared.resolve(&options);
        assert!(none.bases.is_empty());
        assert_eq!(
            (offset, window),
            (options.offset_time, options.random_window)
        );
        shared.set(Announced {
            bases: vec![
                Url::parse("http://gateway.example/").unwrap(),
                Url::parse("http://c.example/").unwrap(),
            ],
            object_base_uris: vec!["tag:x".into()],
        });
        shared.set_described(described);
        let (announced, offset, window) = shared.resolve(&options);
        let urls: Vec<&str> = announced.bases.iter().map(Url::as_str).collect();
        // The session's own servers first, then the configuration's, each once.
        assert_eq!(
            urls,
            [
                "http://a.example/x/",
                "http://c.example/",
                "http://gateway.example/"
            ]
        );
        assert_eq!(announced.object_base_uris, ["tag:x"]);
        // Never shorter than the receiver's own, never longer than the cap.
        assert_eq!(offset, Duration::from_secs(7));
        assert_eq!(window, MAX_ANNOUNCED_BACK_OFF);
        // A configuration that announces nothing takes nothing the description gave.
        shared.set(Announced::default());
        assert_eq!(shared.resolve(&options).0.bases.len(), 2);
    }

    #[test]
    fn multipart_byteranges_bodies_give_their_parts() {
        let body = Bytes::from_static(
            b"\r\n--XYZ\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-3/100\r\n\r\nabcd\r\n--XYZ\r\nContent-Range: bytes 10-11/100\r\n\r\n--\r\n--XYZ--\r\n",
        );
        let parts = parse_byteranges(&body, "XYZ").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].0, &parts[0].1[..]), (0, &b"abcd"[..]));
        // Part bytes are taken by length, even when they look like a delimiter.
        assert_eq!((parts[1].0, &parts[1].1[..]), (10, &b"--"[..]));
        assert_eq!(
            multipart_boundary("multipart/byteranges; boundary=\"XYZ\""),
            Some("XYZ".into())
        );
        assert_eq!(multipart_boundary("text/plain"), None);
        assert!(parse_byteranges(&Bytes::from_static(b"--XYZ\r\n\r\n"), "XYZ").is_err());
    }

    #[test]
    fn range_headers_stay_within_their_size() {
        let ranges: Vec<Range<u64>> = (0..1000u64)
            .map(|i| i * 1_000_000..i * 1_000_000 + 1400)
            .collect();
        let groups = batches(&ranges);
        assert!(groups.len() > 1);
        assert_eq!(groups.iter().map(|g| g.len()).sum::<usize>(), 1000);
        for g in groups {
            assert!(range_header(g).len() <= MAX_RANGE_HEADER_BYTES + 8);
        }
        assert_eq!(range_header(&[0..10, 20..21]), "bytes=0-9,20-20");
        assert_eq!(
            parse_content_range("bytes 5-9/100"),
            Some((5, 10, Some(100)))
        );
        assert_eq!(parse_content_range("bytes 9-5/100"), None);
    }
}
