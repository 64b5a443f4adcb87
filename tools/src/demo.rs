//! `xflute demo`: generates about 256 MiB of files (one of 128 MiB, 128 of about 1 MiB), sends
//! them as one FLUTE session from one network namespace to another over a veth pair, AF_XDP on
//! both sides, with loss injected by the XDP program, Reed-Solomon FEC, and the objects repeated
//! as a carousel until every one is complete; checks every SHA-256, prints goodput and counters, and removes
//! everything.
//! Without root it runs the same transfer over UDP sockets on loopback (no loss injection there).

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use xflute::runtime::{Backend, ChannelSpec};
use xflute_netns::{NetnsPair, PairConfig, Side};

use crate::recv::{LiveRecvArgs, LiveRecvReport, run_live as recv_live, summary};
use crate::send::{FecArgs, FecScheme, LiveArgs, Repair, SendArgs, ToiStart, run_live_with};

/// Reed-Solomon over GF(2^8) (FEC Encoding ID 5, RFC 5510), 64 source symbols per block and 16
/// repair symbols (25%): the 5% injected loss and most ring overflows are repaired within the
/// first round; the carousel repeats for what a burst took whole.
fn demo_fec() -> FecArgs {
    FecArgs {
        scheme: FecScheme::Rs28,
        m: 8,
        repair: Some(Repair::Percent(25.0)),
    }
}

/// Sends as `send` does on the wire, with the demo's FEC.
fn send_live(args: &SendArgs, stop: Arc<AtomicBool>) -> Result<crate::send::LiveReport> {
    run_live_with(args, &demo_fec(), stop, crate::send::Progress::Quiet)
}

/// The demo's send rate on the wire.
const DEMO_RATE_BPS: u64 = 2_000_000_000;

/// How long the demo waits for the transfer before giving up.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(120);

/// A directory removed when dropped.
struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `len` pseudo-random bytes (xorshift64*, seeded) to `path`; returns their SHA-256.
fn write_random(path: &Path, len: u64, seed: u64) -> Result<[u8; 32]> {
    let mut file = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    let mut state = seed | 1;
    let mut hasher = Sha256::new();
    let mut chunk = vec![0u8; 1 << 16];
    let mut left = len;
    while left > 0 {
        for word in chunk.chunks_exact_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            word.copy_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
        }
        let n = left.min(chunk.len() as u64) as usize;
        let part = chunk.get(..n).unwrap_or_default();
        hasher.update(part);
        file.write_all(part)?;
        left -= n as u64;
    }
    file.flush()?;
    Ok(hasher.finalize().into())
}

fn sha256_file(path: &Path) -> Result<[u8; 32]> {
    let bytes = xflute::io::mmap::MappedFile::open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    Ok(Sha256::digest(bytes.as_slice()).into())
}

/// What the demo generates.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    /// The one large file.
    pub large_bytes: u64,
    /// How many small files.
    pub small_files: u64,
    /// Each small file, about.
    pub small_bytes: u64,
}

/// The large file, then the small ones.
fn generate(dir: &Path, sizes: Sizes) -> Result<Vec<(PathBuf, [u8; 32])>> {
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::new();
    let path = dir.join("large.bin");
    files.push((
        path.clone(),
        write_random(&path, sizes.large_bytes.max(1), 0x5846)?,
    ));
    for i in 0..sizes.small_files {
        let path = dir.join(format!("small-{i:03}.bin"));
        // Sizes vary so that the last symbol of most objects is short.
        let len = sizes.small_bytes.saturating_sub((i * 977) % 4096).max(1);
        files.push((path.clone(), write_random(&path, len, 0x1000 + i)?));
    }
    Ok(files)
}

fn is_root() -> bool {
    // SAFETY-free: reading the effective uid from /proc avoids an unsafe call here.
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2))
            == Some("0")
    })
}

/// Runs the demo; returns whether every file arrived intact.
pub fn run(sizes: Sizes, loss: f64, stop: Arc<AtomicBool>) -> Result<bool> {
    if !(0.0..0.5).contains(&loss) {
        bail!(crate::UsageError(format!(
            "loss {loss} is not between 0 and 0.5"
        )));
    }
    let work = WorkDir(std::env::temp_dir().join(format!("xflute-demo-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&work.0);
    let input = work.0.join("in");
    let output = work.0.join("out");
    let mib = (sizes.large_bytes + sizes.small_files * sizes.small_bytes) >> 20;
    println!(
        "== generating {} files, about {mib} MiB, in {}",
        sizes.small_files + 1,
        input.display()
    );
    let files = generate(&input, sizes)?;
    let total: u64 = files
        .iter()
        .map(|(p, _)| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    let report = if is_root() {
        println!(
            "== root: two network namespaces joined by a veth pair; AF_XDP send -> AF_XDP receive, {:.1}% loss injected by the XDP program, Reed-Solomon GF(2^8) k=64 + 16 repair, carousel",
            loss * 100.0
        );
        over_veth(&files, &output, loss, &stop)?
    } else {
        println!(
            "== not root: no namespaces or XDP; sending over UDP sockets on loopback instead (no loss injection)"
        );
        over_loopback(&files, &output, &stop)?
    };
    println!("{}", summary(&report, false));
    let mut intact = 0;
    for (path, digest) in &files {
        let name = path.file_name().context("file name")?;
        let got = output.join(name);
        match sha256_file(&got) {
            Ok(d) if d == *digest => intact += 1,
            Ok(_) => println!("MISMATCH {}", got.display()),
            Err(e) => println!("MISSING {}: {e:#}", got.display()),
        }
    }
    println!(
        "== {intact} of {} files ({:.1} MiB) intact (SHA-256); goodput {:.2} Gbit/s",
        files.len(),
        total as f64 / (1 << 20) as f64,
        report.completed_bytes as f64 * 8.0 / report.active.as_secs_f64().max(1e-6) / 1e9
    );
    Ok(intact == files.len())
}

fn send_args(
    files: &[(PathBuf, [u8; 32])],
    dest: SocketAddr,
    live: LiveArgs,
    source: Option<IpAddr>,
) -> SendArgs {
    SendArgs {
        auth: None,
        files: files.iter().map(|(p, _)| p.clone()).collect(),
        profile: crate::send::SendProfile::Default,
        pcap_out: None,
        dest,
        source,
        tsi: 1,
        symbol_len: 1400,
        block_len: 64,
        cenc: xflute::cenc::Cenc::Null,
        flute_version: 2,
        // Paced below what one receive worker takes on these machines (a veth's rx ring
        // overflows in bursts otherwise, and a whole-block loss waits for the next round).
        rate_bps: Some(DEMO_RATE_BPS),
        carousel: Some(TRANSFER_TIMEOUT),
        priority: 0,
        toi_start: ToiStart::default(),
        // One object at a time: what FEC cannot repair comes back only in the next round, and a
        // round is shortest when no small object is repeated meanwhile.
        multiplex: 1,
        live,
        bootstrap: None,
        repair_base: Vec::new(),
    }
}

/// The receiver's spool: room for the large file, reserved before the transfer starts, so that
/// its packets never wait for the file system (`recv --spool`); none when no file is over the
/// 4 MiB under which the sink reserves an object whole anyway.
fn spool_for(files: &[(PathBuf, [u8; 32])]) -> u64 {
    let largest = files
        .iter()
        .filter_map(|(path, _)| std::fs::metadata(path).ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0);
    if largest > xflute::io::file_sink::RESERVE_CHUNK {
        largest
    } else {
        0
    }
}

fn recv_args<'a>(
    out: &'a Path,
    channel: ChannelSpec,
    iface: Option<String>,
    backend: Backend,
    files: &[(PathBuf, [u8; 32])],
    loss: f64,
    cores: Vec<usize>,
) -> LiveRecvArgs<'a> {
    LiveRecvArgs {
        out,
        channels: vec![channel],
        iface,
        backend,
        queues: 1,
        cores,
        count: Some(files.len() as u64),
        timeout: Some(TRANSFER_TIMEOUT),
        json: false,
        spool: spool_for(files),
        busy_poll: xflute::runtime::DEFAULT_BUSY_POLL,
        inject_loss: loss,
        until_closed: false,
        follow_gateway: false,
        auth: None,
        repair: None,
    }
}

/// Sender and receiver in two namespaces; the receiver's end is the first to start.
fn over_veth(
    files: &[(PathBuf, [u8; 32])],
    output: &Path,
    loss: f64,
    stop: &Arc<AtomicBool>,
) -> Result<LiveRecvReport> {
    let pair = NetnsPair::with_config(PairConfig::default());
    let group: SocketAddr = "239.255.0.1:3400".parse()?;
    let rx_args = recv_args(
        output,
        ChannelSpec::new(group),
        Some(pair.receiver.interface.clone()),
        Backend::Xdp,
        files,
        loss,
        vec![1],
    );
    let tx_args = send_args(
        files,
        group,
        LiveArgs {
            iface: Some(pair.sender.interface.clone()),
            backend: Backend::Xdp,
            queues: 1,
            cores: vec![0],
            gso: true,
        },
        Some(IpAddr::V4(pair.sender.ipv4)),
    );
    let result = transfer(&pair, &rx_args, &tx_args, stop);
    pair.close();
    result
}

/// Runs receiver and sender side by side (in their namespaces when `pair` is given); the
/// sender's carousel stops when the receiver is done.
fn transfer(
    pair: &NetnsPair,
    rx_args: &LiveRecvArgs<'_>,
    tx_args: &SendArgs,
    stop: &Arc<AtomicBool>,
) -> Result<LiveRecvReport> {
    let tx_stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        let rx = scope.spawn(|| {
            pair.run_in(Side::Receiver, || {
                let ready = ready_tx.clone();
                let r = recv_live(
                    rx_args,
                    Arc::clone(stop),
                    move || {
                        let _ = ready.send(());
                    },
                    &mut std::io::sink(),
                );
                drop(ready_tx);
                r
            })
        });
        let started = ready_rx.recv_timeout(Duration::from_secs(10)).is_ok();
        let tx = started.then(|| {
            scope.spawn(|| pair.run_in(Side::Sender, || send_live(tx_args, Arc::clone(&tx_stop))))
        });
        let rx_result = rx
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the receiver panicked")));
        tx_stop.store(true, Ordering::SeqCst);
        if let Some(tx) = tx {
            match tx.join() {
                Ok(Ok(report)) => {
                    let t = report.stats.total();
                    println!(
                        "sender: {} packets, {:.1} MiB on the wire in {:.2} s",
                        t.packets,
                        t.bytes as f64 / (1 << 20) as f64,
                        report.elapsed.as_secs_f64()
                    );
                }
                Ok(Err(e)) => return Err(e.context("sender")),
                Err(_) => bail!("the sender panicked"),
            }
        }
        rx_result
    })
}

/// UDP sockets on loopback, both in this process.
fn over_loopback(
    files: &[(PathBuf, [u8; 32])],
    output: &Path,
    stop: &Arc<AtomicBool>,
) -> Result<LiveRecvReport> {
    let dest = SocketAddr::new(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        3400 + (std::process::id() % 1000) as u16,
    );
    let rx_args = recv_args(
        output,
        ChannelSpec::new(dest),
        None,
        Backend::Udp,
        files,
        0.0,
        Vec::new(),
    );
    let tx_args = send_args(
        files,
        dest,
        LiveArgs {
            iface: None,
            backend: Backend::Udp,
            queues: 1,
            cores: Vec::new(),
            gso: true,
        },
        Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    );
    let tx_stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        let rx = scope.spawn(|| {
            recv_live(
                &rx_args,
                Arc::clone(stop),
                move || {
                    let _ = ready_tx.send(());
                },
                &mut std::io::sink(),
            )
        });
        let started = ready_rx.recv_timeout(Duration::from_secs(10)).is_ok();
        let tx = started.then(|| scope.spawn(|| send_live(&tx_args, Arc::clone(&tx_stop))));
        let rx_result = rx
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the receiver panicked")));
        tx_stop.store(true, Ordering::SeqCst);
        if let Some(tx) = tx {
            match tx.join() {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e.context("sender")),
                Err(_) => bail!("the sender panicked"),
            }
        }
        rx_result
    })
}
