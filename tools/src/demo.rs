//! `xflute demo`: generates about 256 MiB of files (one of 128 MiB, 128 of about 1 MiB), sends
//! them as one FLUTE session from one network namespace to another over a veth pair, AF_XDP on
//! both sides, with loss injected by the XDP program, Reed-Solomon FEC, and the objects repeated
//! as a carousel until every one is complete; checks every SHA-256, prints goodput and counters, and removes
//! everything.
//! Without root it runs the same transfer over UDP sockets on loopback (no loss injection there).

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::ffi::OsString;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use xflute_netns::{NetnsPair, PairConfig, Side};

use crate::recv::{Derived, LiveRecvReport, RecvCli, run_live as recv_live, summary};
use crate::send::{SendCli, run_live_with};

/// Sends as `send` does on the wire.
fn send_live(args: &SendCli, stop: Arc<AtomicBool>) -> Result<crate::send::LiveReport> {
    let checked = args.check()?;
    run_live_with(args, &checked, stop, crate::send::Progress::Quiet)
}

/// The options of a subcommand as its command line `args` gives them, so that the demo runs
/// `send` and `recv` with the defaults and checks they have on the command line.
fn parse_options<T: clap::Args>(command: &'static str, args: Vec<OsString>) -> Result<T> {
    let parser = T::augment_args(clap::Command::new(command).no_binary_name(true));
    let matches = parser
        .try_get_matches_from(args)
        .with_context(|| format!("the demo's {command} options"))?;
    T::from_arg_matches(&matches).with_context(|| format!("the demo's {command} options"))
}

/// The demo's send rate on the wire by default (`--rate`): about what one receive worker
/// takes with Reed-Solomon on these 2-core machines, so that FEC repairs the injected loss in
/// the first pass instead of the carousel repeating what a full rx ring dropped.
pub const DEMO_RATE: &str = "4G";

/// The demo's repair symbols per block by default, percent (`--repair-pct`): 13 for 64 source
/// symbols, over three times what 5% loss takes from a block on average.
pub const DEMO_REPAIR_PCT: f64 = 20.0;

/// How the demo sends: the loss injected at the receiver, the sender's rate (`unpaced`, or
/// as `send --rate` takes it) and its repair symbols per block.
#[derive(Clone, Debug)]
pub struct Wire {
    /// Fraction of the channel's frames the receiver's XDP program drops.
    pub loss: f64,
    /// `send --rate`, or `unpaced`.
    pub rate: String,
    /// `send --repair-pct`.
    pub repair_pct: f64,
}

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

/// Where the demo's files go: `TMPDIR` when set, else `/dev/shm` (memory) when there is one,
/// else the system's temporary directory. The receiver writes through memory mappings, and on
/// a disk file system each first write to a page waits for the file system; the demo shows
/// the engine, not the disk.
fn work_root() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if std::env::var_os("TMPDIR").is_none() && shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
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
pub fn run(sizes: Sizes, wire: &Wire, stop: Arc<AtomicBool>) -> Result<bool> {
    let loss = wire.loss;
    if !(0.0..0.5).contains(&loss) {
        bail!(crate::UsageError(format!(
            "loss {loss} is not between 0 and 0.5"
        )));
    }
    let work = WorkDir(work_root().join(format!("xflute-demo-{}", std::process::id())));
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
            "== root: two network namespaces joined by a veth pair; AF_XDP send ({}) -> AF_XDP receive, {:.1}% loss injected by the XDP program, Reed-Solomon GF(2^8) k=64 + {}% repair, carousel",
            pace(&wire.rate),
            loss * 100.0,
            wire.repair_pct
        );
        over_veth(&files, &output, wire, &stop)?
    } else {
        println!(
            "== not root: no namespaces or XDP; sending over UDP sockets on loopback instead (no loss injection)"
        );
        over_loopback(&files, &output, wire, &stop)?
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

/// `send FILES --dest DEST --source SOURCE` on the wire with `wire` (--backend and the
/// like), as the demo sends.
fn send_args(
    files: &[(PathBuf, [u8; 32])],
    dest: SocketAddr,
    source: IpAddr,
    pacing: &Wire,
    wire: &[&str],
) -> Result<SendCli> {
    let repair_pct = pacing.repair_pct.to_string();
    let mut args = options(&[
        "--dest",
        &dest.to_string(),
        "--source",
        &source.to_string(),
        // Reed-Solomon over GF(2^8) (FEC Encoding ID 5, RFC 5510), 64 source symbols per
        // block (the default --block-len) and 16 repair symbols: the 5% injected loss and
        // most ring overflows are repaired within the first round; the carousel repeats for
        // what a burst took whole.
        "--fec",
        "rs28",
        "--repair-pct",
        &repair_pct,
        "--carousel",
        &format!("{}s", TRANSFER_TIMEOUT.as_secs()),
        // One object at a time: what FEC cannot repair comes back only in the next round, and a
        // round is shortest when no small object is repeated meanwhile.
        "--multiplex",
        "1",
    ]);
    // Paced by default below what one receive worker takes on these machines (a veth's rx
    // ring overflows in bursts otherwise, and a whole-block loss waits for the next round).
    if pacing.rate != "unpaced" {
        args.extend(options(&["--rate", &pacing.rate]));
    }
    args.extend(options(wire));
    args.extend(files.iter().map(|(p, _)| p.clone().into_os_string()));
    parse_options("send", args)
}

/// The sender's pace as the demo prints it.
fn pace(rate: &str) -> String {
    if rate == "unpaced" {
        "unpaced".into()
    } else {
        format!("paced at {rate}bit/s")
    }
}

/// Command-line words as `OsString`s.
fn options(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
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

/// `recv --out OUT --group GROUP` on the wire with `wire` (--backend and the like), until
/// every file is complete, as the demo receives.
fn recv_args(
    out: &Path,
    group: SocketAddr,
    files: &[(PathBuf, [u8; 32])],
    wire: &[&str],
) -> Result<RecvCli> {
    let mut args = vec![OsString::from("--out"), out.as_os_str().to_owned()];
    args.extend(options(&[
        "--group",
        &group.to_string(),
        "--count",
        &files.len().to_string(),
        "--timeout",
        &format!("{}s", TRANSFER_TIMEOUT.as_secs()),
        "--spool",
        &spool_for(files).to_string(),
    ]));
    args.extend(options(wire));
    parse_options("recv", args)
}

/// Sender and receiver in two namespaces; the receiver's end is the first to start.
fn over_veth(
    files: &[(PathBuf, [u8; 32])],
    output: &Path,
    wire: &Wire,
    stop: &Arc<AtomicBool>,
) -> Result<LiveRecvReport> {
    let pair = NetnsPair::with_config(PairConfig::default());
    let group: SocketAddr = "239.255.0.1:3400".parse()?;
    let rx_args = recv_args(
        output,
        group,
        files,
        &[
            "--iface",
            &pair.receiver.interface,
            "--backend",
            "xdp",
            "--cores",
            "1",
            "--inject-loss",
            &wire.loss.to_string(),
        ],
    );
    let tx_args = send_args(
        files,
        group,
        IpAddr::V4(pair.sender.ipv4),
        wire,
        &[
            "--iface",
            &pair.sender.interface,
            "--backend",
            "xdp",
            "--cores",
            "0",
        ],
    );
    let result = match (rx_args, tx_args) {
        (Ok(rx_args), Ok(tx_args)) => transfer(&pair, &rx_args, &tx_args, stop),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    pair.close();
    result
}

/// Runs receiver and sender side by side (in their namespaces when `pair` is given); the
/// sender's carousel stops when the receiver is done.
fn transfer(
    pair: &NetnsPair,
    rx_args: &RecvCli,
    tx_args: &SendCli,
    stop: &Arc<AtomicBool>,
) -> Result<LiveRecvReport> {
    let rx_derived = Derived::on_group(rx_args)?;
    let tx_stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        let rx = scope.spawn(|| {
            pair.run_in(Side::Receiver, || {
                let ready = ready_tx.clone();
                let r = recv_live(
                    rx_args,
                    &rx_derived,
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
    wire: &Wire,
    stop: &Arc<AtomicBool>,
) -> Result<LiveRecvReport> {
    let dest = SocketAddr::new(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        3400 + (std::process::id() % 1000) as u16,
    );
    let rx_args = recv_args(output, dest, files, &["--backend", "udp"])?;
    let rx_derived = Derived::on_group(&rx_args)?;
    let tx_args = send_args(
        files,
        dest,
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        wire,
        &["--backend", "udp"],
    )?;
    let tx_stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        let rx = scope.spawn(|| {
            recv_live(
                &rx_args,
                &rx_derived,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo's command lines are only parsed when it runs: a flag renamed in `send` or
    /// `recv` must fail here, not in the middle of a demo.
    #[test]
    fn demo_command_lines_parse_into_the_send_and_recv_options() {
        let files = [(PathBuf::from("/tmp/a.bin"), [0u8; 32])];
        let dest: SocketAddr = "239.255.0.1:3400".parse().unwrap();
        let wire = Wire {
            loss: 0.05,
            rate: DEMO_RATE.into(),
            repair_pct: DEMO_REPAIR_PCT,
        };
        let send = send_args(
            &files,
            dest,
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            &wire,
            &["--backend", "udp"],
        )
        .unwrap();
        let checked = send.check().unwrap();
        assert_eq!(
            send.rate_bps,
            Some(crate::units::parse_rate(DEMO_RATE).unwrap())
        );
        assert_eq!(send.carousel, Some(TRANSFER_TIMEOUT));
        assert_eq!(send.multiplex, 1);
        assert_eq!(
            checked.fec,
            crate::send::FecArgs {
                scheme: crate::send::FecScheme::Rs28,
                m: 8,
                repair: Some(crate::send::Repair::Percent(DEMO_REPAIR_PCT)),
            }
        );
        let unpaced = Wire {
            rate: "unpaced".into(),
            ..wire.clone()
        };
        let send = send_args(&files, dest, IpAddr::V4(Ipv4Addr::LOCALHOST), &unpaced, &[]).unwrap();
        assert_eq!(send.rate_bps, None);
        let bad = Wire {
            rate: "fast".into(),
            ..wire
        };
        assert!(send_args(&files, dest, IpAddr::V4(Ipv4Addr::LOCALHOST), &bad, &[]).is_err());
        let recv = recv_args(
            Path::new("/tmp/out"),
            dest,
            &files,
            &[
                "--backend",
                "xdp",
                "--iface",
                "veth0",
                "--inject-loss",
                "0.05",
            ],
        )
        .unwrap();
        assert_eq!(recv.count, Some(1));
        assert_eq!(recv.inject_loss, 0.05);
        assert_eq!(recv.busy_poll, xflute::runtime::DEFAULT_BUSY_POLL);
        let derived = Derived::on_group(&recv).unwrap();
        assert_eq!(
            derived.channels,
            vec![xflute::runtime::ChannelSpec::new(dest)]
        );
    }
}
