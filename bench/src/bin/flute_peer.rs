//! The `flute` crate 1.11.7 (the reference implementation) as a real UDP peer, so the netns
//! benchmark harness can run it against xflute over the same links and loss.
//!
//! - `flute_peer recv --bind GROUP:PORT --iface-addr IP --out-count N --timeout SECS
//!   [--fec none|rs28|rs2m|raptorq]` joins the IPv4 group on the interface with address IP, feeds
//!   every datagram to a `flute::receiver::MultiReceiver` writing into flute's in-memory
//!   `ObjectWriterBufferBuilder` (MD5 checked, as flute's default), and exits once N objects are
//!   complete or SECS after start. Each completed object is checked against the generated
//!   pattern when its Content-Location names one (`file:///gen/NNNNNN.bin`) and its buffer is
//!   then freed, so the resident set measures the receiver, not a pile of finished objects.
//! - `flute_peer send --dest GROUP:PORT --bind-addr IP --rate-mbps M --fec
//!   none|rs28|rs2m|raptorq [--symbol-len E] [--k K] [--r R] [--fdt-interval-ms T]
//!   (--file PATH... | --gen-bytes N --gen-count C)` sends one pass of every object with
//!   `flute::sender::Sender` (FDT published first, then repeated by flute's FDT carousel every
//!   T ms, default 100), paced by a token bucket at M Mbit/s of UDP payload (0: unpaced).
//!
//! Each prints one JSON line on stdout and exits 0 (also when the receiver timed out: the line
//! says so). Times are seconds since the process started; `null` when there was none.
//!
//! - recv: `completed`, `bytes` (of completed objects), `first_packet_s`, `last_complete_s`,
//!   `packets`, `rss_anon_kib_max` (sampled every 100 ms and at the end), `cpu_s` (user + sys),
//!   `latencies_ms` (per object, its first packet → flute's completion call, in completion
//!   order), `corrupt` (completed, bytes not the pattern), `unverified` (completed, not a
//!   generated name), `errors` (flute gave up on the object, e.g. MD5 mismatch), `push_errors`
//!   (packets flute rejected), `verify_s` (time spent checking patterns, inside `cpu_s`),
//!   `rcvbuf` (the SO_RCVBUF granted), `timed_out`. Before it, once the group is joined, one
//!   line on stderr starting `flute_peer: listening`, so that a caller can start its sender.
//! - send: `packets`, `bytes` (UDP payload), `elapsed_s` (first read → last send), `cpu_s`,
//!   `send_retries` (ENOBUFS/EAGAIN, retried after 50 µs), `setup_s` (start → first read:
//!   generating, MD5 and FEC setup), `idle_waits` (200 µs naps when flute had nothing due).
//!
//! `--fec` on the receiver is informational: flute learns the scheme from the packets (in-band
//! FTI). Generated object `index` is `xflute_tests::data::random_bytes` seeded by the index, as
//! the harness's own objects are.

// setsockopt(2) and getsockopt(2) are FFI; each block says why it is sound.
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use flute::core::{Oti, UDPEndpoint};
use flute::receiver::writer::{
    ObjectMetadata, ObjectWriter, ObjectWriterBuffer, ObjectWriterBufferBuilder,
    ObjectWriterBuilder, ObjectWriterBuilderResult,
};
use flute::receiver::{Config as ReceiverConfig, MultiReceiver};
use flute::sender::{
    CarouselRepeatMode, Config as SenderConfig, CreateFromBuffer, CreateFromFile, Sender,
};
use xflute::runtime::TokenBucket;
use xflute_bench::sys::{process_cpu_seconds, rss_anon_kib};
use xflute_tests::data::{is_random_bytes, random_bytes};

/// Content-Location of generated object `index`; the pattern is reproducible from it.
const GEN_PREFIX: &str = "file:///gen/";
const GEN_SUFFIX: &str = ".bin";
/// The TSI of the session (the receiver accepts any).
const TSI: u64 = 1;
/// Largest UDP payload.
const MAX_DATAGRAM: usize = 65_536;
/// How often the receiver samples RssAnon.
const RSS_SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// How often the receiver lets flute drop expired objects and sessions.
const CLEANUP_EVERY: Duration = Duration::from_secs(1);

#[derive(Parser)]
#[command(
    name = "flute_peer",
    about = "The flute 1.11.7 crate as a UDP FLUTE peer"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Receive objects from a multicast group.
    Recv(RecvArgs),
    /// Send one pass of objects to a multicast group.
    Send(SendArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum Fec {
    /// No-Code (FEC Encoding ID 0).
    None,
    /// Reed-Solomon over GF(2^8) (FEC Encoding ID 5).
    Rs28,
    /// Reed-Solomon over GF(2^m), m = 8 (FEC Encoding ID 2): flute's ID 5 takes at most 255
    /// source blocks (22.8 MB at k = 64, 1400-byte symbols); ID 2 numbers blocks in 24 bits.
    Rs2m,
    /// RaptorQ (FEC Encoding ID 6).
    Raptorq,
}

#[derive(clap::Args)]
struct RecvArgs {
    /// Multicast group and UDP port to bind.
    #[arg(long)]
    bind: SocketAddrV4,
    /// Address of the interface on which to join the group.
    #[arg(long)]
    iface_addr: Ipv4Addr,
    /// Exit once this many objects are complete.
    #[arg(long)]
    out_count: usize,
    /// Exit after this many seconds since start, complete or not.
    #[arg(long)]
    timeout: f64,
    /// FEC scheme the sender uses (informational; flute reads it from the packets).
    #[arg(long, value_enum, default_value = "none")]
    fec: Fec,
    /// SO_RCVBUF(FORCE) in bytes.
    #[arg(long, default_value_t = 64 << 20)]
    rcvbuf: usize,
}

#[derive(clap::Args)]
struct SendArgs {
    /// Multicast group and UDP port to send to.
    #[arg(long)]
    dest: SocketAddrV4,
    /// Local address to send from (also the multicast interface).
    #[arg(long)]
    bind_addr: Ipv4Addr,
    /// Pace UDP payload at this many Mbit/s; 0 sends as fast as the socket takes packets.
    #[arg(long)]
    rate_mbps: f64,
    /// FEC scheme.
    #[arg(long, value_enum)]
    fec: Fec,
    /// Encoding symbol length in bytes.
    #[arg(long, default_value_t = 1400)]
    symbol_len: u16,
    /// Source symbols per block (maximum source block length).
    #[arg(long, default_value_t = 64)]
    k: u16,
    /// Repair symbols per block (rs28, raptorq).
    #[arg(long, default_value_t = 24)]
    r: u16,
    /// Milliseconds between two FDT transmissions (flute's FDT carousel).
    #[arg(long, default_value_t = 100)]
    fdt_interval_ms: u64,
    /// Files to send.
    #[arg(long = "file", num_args = 1.., conflicts_with_all = ["gen_bytes", "gen_count"])]
    files: Vec<PathBuf>,
    /// Size of each generated object.
    #[arg(long, requires = "gen_count")]
    gen_bytes: Option<usize>,
    /// Number of generated objects.
    #[arg(long, requires = "gen_bytes")]
    gen_count: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    match Cli::parse().command {
        Command::Recv(args) => receive(&args, started),
        Command::Send(args) => send(&args, started),
    }
}

// ---------------------------------------------------------------------------------------------
// Generated content

/// Content-Location of generated object `index`.
fn gen_content_location(index: usize) -> String {
    format!("{GEN_PREFIX}{index:06}{GEN_SUFFIX}")
}

/// The index of a generated object's Content-Location, `None` for anything else.
fn gen_index(content_location: &str) -> Option<u64> {
    content_location
        .strip_prefix(GEN_PREFIX)?
        .strip_suffix(GEN_SUFFIX)?
        .parse()
        .ok()
}

// ---------------------------------------------------------------------------------------------
// Receiver

/// How flute ended an object.
enum Outcome {
    Complete,
    Error,
}

/// One object flute finished, as seen by its writer when flute called it.
struct Finished {
    toi: u128,
    outcome: Outcome,
    at: Instant,
    object: Rc<RefCell<ObjectWriterBuffer>>,
}

type FinishedLog = Rc<RefCell<Vec<Finished>>>;

/// flute's in-memory writer, wrapped to note when (and for which TOI) each object ends.
struct TrackingBuilder {
    buffers: ObjectWriterBufferBuilder,
    finished: FinishedLog,
}

struct TrackingWriter {
    inner: Box<dyn ObjectWriter>,
    toi: u128,
    object: Rc<RefCell<ObjectWriterBuffer>>,
    finished: FinishedLog,
}

impl TrackingWriter {
    fn finish(&self, outcome: Outcome) {
        self.finished.borrow_mut().push(Finished {
            toi: self.toi,
            outcome,
            at: Instant::now(),
            object: Rc::clone(&self.object),
        });
    }
}

impl ObjectWriterBuilder for TrackingBuilder {
    fn new_object_writer(
        &self,
        endpoint: &UDPEndpoint,
        tsi: &u64,
        toi: &u128,
        meta: &ObjectMetadata,
        now: SystemTime,
    ) -> ObjectWriterBuilderResult {
        match self
            .buffers
            .new_object_writer(endpoint, tsi, toi, meta, now)
        {
            ObjectWriterBuilderResult::StoreObject(inner) => {
                // The buffer builder has just appended this object's buffer.
                let Some(object) = self.buffers.objects.borrow().last().cloned() else {
                    return ObjectWriterBuilderResult::Abort;
                };
                ObjectWriterBuilderResult::StoreObject(Box::new(TrackingWriter {
                    inner,
                    toi: *toi,
                    object,
                    finished: Rc::clone(&self.finished),
                }))
            }
            other => other,
        }
    }

    fn update_cache_control(
        &self,
        endpoint: &UDPEndpoint,
        tsi: &u64,
        toi: &u128,
        meta: &ObjectMetadata,
        now: SystemTime,
    ) {
        self.buffers
            .update_cache_control(endpoint, tsi, toi, meta, now);
    }

    fn fdt_received(
        &self,
        endpoint: &UDPEndpoint,
        tsi: &u64,
        fdt_xml: &str,
        expires: SystemTime,
        meta: &ObjectMetadata,
        transfer_duration: Duration,
        now: SystemTime,
        ext_time: Option<SystemTime>,
    ) {
        self.buffers.fdt_received(
            endpoint,
            tsi,
            fdt_xml,
            expires,
            meta,
            transfer_duration,
            now,
            ext_time,
        );
    }
}

impl ObjectWriter for TrackingWriter {
    fn open(&self, now: SystemTime) -> flute::error::Result<()> {
        self.inner.open(now)
    }

    fn write(&self, sbn: u32, data: &[u8], now: SystemTime) -> flute::error::Result<()> {
        self.inner.write(sbn, data, now)
    }

    fn complete(&self, now: SystemTime) {
        self.inner.complete(now);
        self.finish(Outcome::Complete);
    }

    fn error(&self, now: SystemTime) {
        self.inner.error(now);
        self.finish(Outcome::Error);
    }

    fn interrupted(&self, now: SystemTime) {
        self.inner.interrupted(now);
        self.finish(Outcome::Error);
    }

    fn enable_md5_check(&self) -> bool {
        self.inner.enable_md5_check()
    }
}

/// The TOI of an ALC/LCT packet (RFC 5651 §5.1), read without flute so that the first packet
/// of each object is timed even before its FDT entry arrives. `None` if malformed.
fn lct_toi(pkt: &[u8]) -> Option<u128> {
    let (&b0, &b1) = (pkt.first()?, pkt.get(1)?);
    let c = usize::from((b0 >> 2) & 0b11);
    let s = usize::from(b1 >> 7);
    let o = usize::from((b1 >> 5) & 0b11);
    let h = usize::from((b1 >> 4) & 0b1);
    let toi_at = 4 + 4 * (c + 1) + 4 * s + 2 * h;
    let toi_len = 4 * o + 2 * h;
    let bytes = pkt.get(toi_at..toi_at + toi_len)?;
    Some(
        bytes
            .iter()
            .fold(0u128, |acc, &b| (acc << 8) | u128::from(b)),
    )
}

fn receive(args: &RecvArgs, started: Instant) -> anyhow::Result<()> {
    let group = *args.bind.ip();
    if !group.is_multicast() {
        bail!("--bind {} is not an IPv4 multicast group", args.bind);
    }
    let socket = UdpSocket::bind(args.bind).with_context(|| format!("bind {}", args.bind))?;
    socket
        .join_multicast_v4(&group, &args.iface_addr)
        .with_context(|| format!("join {group} on {}", args.iface_addr))?;
    let rcvbuf = set_rcvbuf(&socket, args.rcvbuf);
    socket.set_read_timeout(Some(RSS_SAMPLE_EVERY))?;
    // The one line on stderr: a caller may start its sender once it sees it.
    eprintln!(
        "flute_peer: listening on {} via {} (SO_RCVBUF {rcvbuf})",
        args.bind, args.iface_addr
    );

    let finished: FinishedLog = Rc::default();
    let builder = Rc::new(TrackingBuilder {
        buffers: ObjectWriterBufferBuilder::new(true),
        finished: Rc::clone(&finished),
    });
    let timeout = Duration::from_secs_f64(args.timeout.max(0.0));
    let config = ReceiverConfig {
        // An object must not expire while a slow or lossy benchmark is still sending it.
        object_timeout: Some(timeout.max(Duration::from_secs(10))),
        ..ReceiverConfig::default()
    };
    let mut receiver = MultiReceiver::new(builder.clone(), Some(config), false);
    let endpoint = UDPEndpoint::new(None, group.to_string(), args.bind.port());

    let mut report = RecvReport {
        rcvbuf,
        ..RecvReport::default()
    };
    let mut first_packet_of: HashMap<u128, Instant> = HashMap::new();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut last_rss = Instant::now();
    let mut last_cleanup = Instant::now();
    report.rss_anon_kib_max = rss_anon_kib(None).unwrap_or(0);

    while report.completed < args.out_count {
        match socket.recv(&mut buf) {
            Ok(len) => {
                let at = Instant::now();
                let pkt = buf.get(..len).unwrap_or_default();
                report.packets += 1;
                report.first_packet.get_or_insert(at);
                if let Some(toi) = lct_toi(pkt) {
                    first_packet_of.entry(toi).or_insert(at);
                }
                if receiver.push(&endpoint, pkt, SystemTime::now()).is_err() {
                    report.push_errors += 1;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e).context("recv"),
        }
        if !finished.borrow().is_empty() {
            let done: Vec<Finished> = std::mem::take(&mut *finished.borrow_mut());
            for f in done {
                report.account(f, &first_packet_of, started);
            }
            builder
                .buffers
                .objects
                .borrow_mut()
                .retain(|o| !o.borrow().complete && !o.borrow().error);
        }
        let now = Instant::now();
        if now.duration_since(last_rss) >= RSS_SAMPLE_EVERY {
            last_rss = now;
            report.sample_rss();
        }
        if now.duration_since(last_cleanup) >= CLEANUP_EVERY {
            last_cleanup = now;
            receiver.cleanup(SystemTime::now());
        }
        if now.duration_since(started) >= timeout {
            report.timed_out = report.completed < args.out_count;
            break;
        }
    }
    report.sample_rss();
    println!("{}", report.to_json(started));
    Ok(())
}

#[derive(Default)]
struct RecvReport {
    completed: usize,
    bytes: u64,
    packets: u64,
    corrupt: usize,
    unverified: usize,
    errors: usize,
    push_errors: u64,
    first_packet: Option<Instant>,
    last_complete: Option<Instant>,
    latencies_ms: Vec<f64>,
    verify: Duration,
    rss_anon_kib_max: u64,
    rcvbuf: usize,
    timed_out: bool,
}

impl RecvReport {
    /// Counts a finished object, checks its bytes, and frees its buffer.
    fn account(&mut self, f: Finished, first_packet_of: &HashMap<u128, Instant>, started: Instant) {
        match f.outcome {
            Outcome::Error => self.errors += 1,
            Outcome::Complete => {
                self.completed += 1;
                self.last_complete = Some(f.at);
                let first = first_packet_of.get(&f.toi).copied().unwrap_or(started);
                self.latencies_ms
                    .push(f.at.duration_since(first).as_secs_f64() * 1e3);
                let mut object = f.object.borrow_mut();
                let data = std::mem::take(&mut object.data);
                self.bytes += data.len() as u64;
                let t = Instant::now();
                match gen_index(&object.meta.content_location) {
                    Some(index) if is_random_bytes(&data, index) => {}
                    Some(_) => self.corrupt += 1,
                    None => self.unverified += 1,
                }
                self.verify += t.elapsed();
            }
        }
    }

    fn sample_rss(&mut self) {
        if let Some(kib) = rss_anon_kib(None) {
            self.rss_anon_kib_max = self.rss_anon_kib_max.max(kib);
        }
    }

    fn to_json(&self, started: Instant) -> String {
        let since = |t: Option<Instant>| {
            t.map_or("null".to_owned(), |t| {
                format!("{:.6}", t.duration_since(started).as_secs_f64())
            })
        };
        let mut latencies = String::new();
        for (i, l) in self.latencies_ms.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(latencies, "{sep}{l:.3}");
        }
        format!(
            concat!(
                "{{\"completed\":{},\"bytes\":{},\"first_packet_s\":{},\"last_complete_s\":{},",
                "\"packets\":{},\"rss_anon_kib_max\":{},\"cpu_s\":{:.6},\"latencies_ms\":[{}],",
                "\"corrupt\":{},\"unverified\":{},\"errors\":{},\"push_errors\":{},",
                "\"verify_s\":{:.6},\"rcvbuf\":{},\"timed_out\":{}}}"
            ),
            self.completed,
            self.bytes,
            since(self.first_packet),
            since(self.last_complete),
            self.packets,
            self.rss_anon_kib_max,
            process_cpu_seconds(),
            latencies,
            self.corrupt,
            self.unverified,
            self.errors,
            self.push_errors,
            self.verify.as_secs_f64(),
            self.rcvbuf,
            self.timed_out,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Sender

fn oti(args: &SendArgs) -> anyhow::Result<Oti> {
    let flute_err = |e: flute::error::FluteError| anyhow::anyhow!("{e:?}");
    Ok(match args.fec {
        Fec::None => Oti::new_no_code(args.symbol_len, args.k),
        Fec::Rs28 => {
            let k = u8::try_from(args.k).context("rs28 --k must be < 256")?;
            let r = u8::try_from(args.r).context("rs28 --r must be < 256")?;
            Oti::new_reed_solomon_rs28(args.symbol_len, k, r).map_err(flute_err)?
        }
        Fec::Rs2m => {
            Oti::new_reed_solomon_rs2m(args.symbol_len, args.k, args.r, 8).map_err(flute_err)?
        }
        // One sub-block, symbol alignment 4 (RFC 6330 §4.3's recommendation).
        Fec::Raptorq => {
            Oti::new_raptorq(args.symbol_len, args.k, args.r, 1, 4).map_err(flute_err)?
        }
    })
}

fn send(args: &SendArgs, started: Instant) -> anyhow::Result<()> {
    if args.files.is_empty() && args.gen_count.is_none() {
        bail!("give --file PATH... or --gen-bytes N --gen-count C");
    }
    let flute_err = |e: flute::error::FluteError| anyhow::anyhow!("{e:?}");
    let oti = oti(args)?;
    let config = SenderConfig {
        fdt_carousel_mode: CarouselRepeatMode::DelayBetweenTransfers(Duration::from_millis(
            args.fdt_interval_ms,
        )),
        ..SenderConfig::default()
    };
    let endpoint = UDPEndpoint::new(None, args.dest.ip().to_string(), args.dest.port());
    let mut sender = Sender::new(endpoint, TSI, &oti, &config);

    for path in &args.files {
        let object = CreateFromFile::builder()
            .path(path.clone())
            .content_type("application/octet-stream".to_owned())
            .build()
            .create()
            .map_err(flute_err)
            .with_context(|| format!("read {}", path.display()))?;
        sender.add_object(0, object).map_err(flute_err)?;
    }
    if let (Some(len), Some(count)) = (args.gen_bytes, args.gen_count) {
        for index in 0..count {
            let object = CreateFromBuffer::builder()
                .content(random_bytes(len, index as u64))
                .content_type("application/octet-stream".to_owned())
                .content_location(url::Url::parse(&gen_content_location(index))?)
                .build()
                .create()
                .map_err(flute_err)?;
            sender.add_object(0, object).map_err(flute_err)?;
        }
    }
    sender.publish(SystemTime::now()).map_err(flute_err)?;

    let socket =
        UdpSocket::bind((args.bind_addr, 0)).with_context(|| format!("bind {}", args.bind_addr))?;
    socket.set_multicast_ttl_v4(1)?;
    set_multicast_if(&socket, args.bind_addr).context("IP_MULTICAST_IF")?;
    socket.connect(args.dest)?;

    let mut bucket = token_bucket(args.rate_mbps);
    let (mut packets, mut bytes, mut retries, mut idle_waits) = (0u64, 0u64, 0u64, 0u64);
    let sending = Instant::now();
    loop {
        let Some(pkt) = sender.read(SystemTime::now()) else {
            if sender.nb_objects() == 0 {
                break;
            }
            // Nothing due yet (an FDT about to go out); flute's timers are in milliseconds.
            idle_waits += 1;
            std::thread::sleep(Duration::from_micros(200));
            continue;
        };
        pace(&mut bucket, pkt.len());
        loop {
            match socket.send(&pkt) {
                Ok(_) => break,
                // The qdisc or the socket buffer is full: wait for it to drain.
                Err(e)
                    if e.kind() == ErrorKind::WouldBlock
                        || e.raw_os_error() == Some(libc::ENOBUFS) =>
                {
                    retries += 1;
                    std::thread::sleep(Duration::from_micros(50));
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e).context("send"),
            }
        }
        packets += 1;
        bytes += pkt.len() as u64;
    }
    let elapsed = sending.elapsed();
    println!(
        concat!(
            "{{\"packets\":{},\"bytes\":{},\"elapsed_s\":{:.6},\"cpu_s\":{:.6},",
            "\"send_retries\":{},\"setup_s\":{:.6},\"idle_waits\":{}}}"
        ),
        packets,
        bytes,
        elapsed.as_secs_f64(),
        process_cpu_seconds(),
        retries,
        sending.duration_since(started).as_secs_f64(),
        idle_waits,
    );
    Ok(())
}

/// The engine's token bucket at `rate_mbps` of UDP payload (unlimited at 0), with a burst of
/// 5 ms (at least 32 full frames) so that sleep overshoot and short preemptions are caught up
/// rather than lost: the rate stays the rate on a busy machine.
fn token_bucket(rate_mbps: f64) -> TokenBucket {
    let rate_bps = (rate_mbps > 0.0).then_some((rate_mbps * 1e6) as u64);
    let burst_bits = rate_bps.map_or(0, |rate| (rate / 200).max(32 * 1500 * 8));
    TokenBucket::new(rate_bps, burst_bits, Instant::now())
}

/// Waits until `bucket` lets `len` bytes go, and takes them.
fn pace(bucket: &mut TokenBucket, len: usize) {
    let bits = len as u64 * 8;
    loop {
        bucket.refill(Instant::now());
        if bucket.allowance(bits) > 0 {
            bucket.consume(bits);
            return;
        }
        std::thread::sleep(bucket.wait_for(bits).max(Duration::from_micros(50)));
    }
}

// ---------------------------------------------------------------------------------------------
// Process and socket plumbing

fn setsockopt_int(socket: &UdpSocket, level: i32, name: i32, value: i32) -> std::io::Result<()> {
    // SAFETY: the fd is open for the socket's lifetime; the option value is an int whose size
    // is passed along.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Sets the receive buffer, past `rmem_max` when root (SO_RCVBUFFORCE); returns what the kernel
/// granted (it doubles the request for bookkeeping).
fn set_rcvbuf(socket: &UdpSocket, bytes: usize) -> usize {
    let bytes = i32::try_from(bytes).unwrap_or(i32::MAX);
    if setsockopt_int(socket, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, bytes).is_err() {
        let _ = setsockopt_int(socket, libc::SOL_SOCKET, libc::SO_RCVBUF, bytes);
    }
    let mut value: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid for writes and `len` holds `value`'s size.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&raw mut value).cast(),
            &raw mut len,
        )
    };
    if rc == 0 {
        usize::try_from(value).unwrap_or(0)
    } else {
        0
    }
}

/// IP_MULTICAST_IF: send the group's packets out of the interface that has `addr`.
fn set_multicast_if(socket: &UdpSocket, addr: Ipv4Addr) -> std::io::Result<()> {
    let value = libc::in_addr {
        s_addr: u32::from(addr).to_be(),
    };
    // SAFETY: the fd is open; the option value is an in_addr whose size is passed along.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            (&raw const value).cast(),
            std::mem::size_of::<libc::in_addr>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_holds_the_rate_after_the_burst_and_never_waits_unpaced() {
        let mut unpaced = token_bucket(0.0);
        let t = Instant::now();
        for _ in 0..10_000 {
            pace(&mut unpaced, 1500);
        }
        assert!(t.elapsed() < Duration::from_millis(100));
        // 40 Mbit/s: a burst of 32 frames, then 100 more take 30 ms.
        let mut bucket = token_bucket(40.0);
        let t = Instant::now();
        for _ in 0..132 {
            pace(&mut bucket, 1500);
        }
        assert!(
            t.elapsed() >= Duration::from_millis(29),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn gen_content_location_parses_back_to_its_index() {
        assert_eq!(gen_index(&gen_content_location(123)), Some(123));
        assert_eq!(gen_index("file:///other.bin"), None);
    }

    #[test]
    fn lct_toi_reads_the_toi_of_a_flute_packet() {
        let oti = Oti::new_no_code(1400, 64);
        let mut sender = Sender::new(
            UDPEndpoint::new(None, "239.0.0.1".into(), 5000),
            TSI,
            &oti,
            &SenderConfig::default(),
        );
        let object = CreateFromBuffer::builder()
            .content(vec![1; 3000])
            .content_type("application/octet-stream".to_owned())
            .content_location(url::Url::parse("file:///x").unwrap())
            .build()
            .create()
            .unwrap();
        let toi = sender.add_object(0, object).unwrap();
        sender.publish(SystemTime::now()).unwrap();
        let tois: Vec<u128> = std::iter::from_fn(|| sender.read(SystemTime::now()))
            .map(|p| lct_toi(&p).unwrap())
            .collect();
        assert_eq!(tois.first(), Some(&0), "the FDT (TOI 0) goes first");
        assert!(tois.contains(&toi));
    }
}
