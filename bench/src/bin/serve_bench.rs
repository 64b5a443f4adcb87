//! `xflute serve` against its own targets, in one run, over UDP on loopback:
//!
//! 1. **Watch to wire**: a file renamed into a watched directory, until the first FDT packet
//!    that names it is seen on the group (a socket joined to it): p50, p99, max over many files.
//!    Target: p99 within 100 ms.
//! 2. **Send rate**: `xflute send` and `serve` with the same files, unpaced, carousel on, each
//!    sending worker on core 1, the bytes each puts on the wire per second over the same
//!    window, each twice a round; the ratio is serve over send (median). Target: at least 0.95.
//! 3. **Receive rate**: the same paced `xflute send` into `xflute recv` and into a `serve`
//!    receiving session, from the sender's start to the last file complete in the output
//!    directory; ratio serve over recv (median). Target: at least 0.95.
//! 4. **Adding objects while sending**: a persistent `TxEngine` in this process, its rate over
//!    windows without and with objects added (and removed) 100 times a second; ratio with over
//!    without (median). Target: at least 0.95 (the rate does not drop).
//!
//! In every comparison the two sides are measured one after the other, in the opposite order
//! from one round to the next (the send rates: send, serve, serve, send in every round), so
//! that a machine whose speed drifts during the run (these do, by a third over a minute)
//! favours neither side.
//!
//! `cargo run --release -p xflute-bench --bin serve_bench [ROUNDS]`; needs curl. The `xflute`
//! binary is built with the same profile first (as the harness builds `flute_peer`).

use std::io::{BufRead, BufReader, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use xflute::endpoint::UdpEndpoint;
use xflute::runtime::{Backend, TxEngine};
use xflute::sender::{CarouselRepeatMode, Config, ObjectDesc, Sender, TransferConfig};
use xflute::wire::{AlcPacket, FecEncodingId, Oti, SchemeSpecific};
use xflute_bench::procs::{Guard, Scratch, free_port, xflute_binary};
use xflute_bench::summary::median;
use xflute_tests::data::random_bytes;

fn curl(url: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["-sf", "--max-time", "2", url])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The value of the first sample of `metric` in a Prometheus exposition.
fn metric(text: &str, metric: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(metric))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Starts `serve` with `config` (written into `dir`) and waits for its API.
fn serve(bin: &Path, dir: &Path, config: &str, port: u16) -> Result<Guard, String> {
    let path = dir.join("serve.toml");
    std::fs::write(&path, config).map_err(|e| e.to_string())?;
    let child = Command::new(bin)
        .args(["serve", "--config"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting serve: {e}"))?;
    let guard = Guard(child);
    let give_up = Instant::now() + Duration::from_secs(10);
    while Instant::now() < give_up {
        if curl(&format!("http://127.0.0.1:{port}/status")).is_some() {
            return Ok(guard);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err("serve's API did not come up".into())
}

fn write_files(dir: &Path, count: usize, bytes: usize) -> Vec<PathBuf> {
    let _ = std::fs::create_dir_all(dir);
    (0..count)
        .map(|i| {
            let path = dir.join(format!("file-{i:03}.bin"));
            let _ = std::fs::write(&path, random_bytes(bytes, i as u64));
            path
        })
        .collect()
}

/// 1: rename to first FDT packet naming the file, per file, in ms.
fn watch_to_wire(bin: &Path, scratch: &Path, files: usize) -> Result<Vec<f64>, String> {
    let port = free_port();
    let group: SocketAddr = "239.255.77.1:4777".parse().map_err(|e| format!("{e}"))?;
    let watch = scratch.join("latency-watch");
    std::fs::create_dir_all(&watch).map_err(|e| e.to_string())?;
    let config = format!(
        "[http]\nlisten = \"127.0.0.1:{port}\"\n[[send]]\nname = \"lat\"\ndest = \"{group}\"\n\
         iface = \"lo\"\nrate = \"500M\"\ncarousel = \"off\"\nwatch = [\"{}\"]\n",
        watch.display()
    );
    let socket = UdpSocket::bind(SocketAddr::new(
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        group.port(),
    ))
    .map_err(|e| format!("binding the listener: {e}"))?;
    if let IpAddr::V4(g) = group.ip() {
        socket
            .join_multicast_v4(&g, &Ipv4Addr::LOCALHOST)
            .map_err(|e| format!("joining {g} on lo: {e}"))?;
    }
    socket
        .set_read_timeout(Some(Duration::from_millis(5)))
        .map_err(|e| e.to_string())?;
    let _serve = serve(bin, scratch, &config, port)?;
    let mut buf = vec![0u8; 65536];
    let mut out = Vec::new();
    for i in 0..files {
        let name = format!("late-{i:04}.bin");
        let hidden = watch.join(format!(".{name}.tmp"));
        std::fs::write(&hidden, vec![i as u8; 2000]).map_err(|e| e.to_string())?;
        // Drain what earlier files left on the socket.
        while socket.recv(&mut buf).is_ok() {}
        let t0 = Instant::now();
        std::fs::rename(&hidden, watch.join(&name)).map_err(|e| e.to_string())?;
        let give_up = t0 + Duration::from_secs(5);
        let mut seen = None;
        while seen.is_none() && Instant::now() < give_up {
            let Ok(n) = socket.recv(&mut buf) else {
                continue;
            };
            let Some(packet) = buf.get(..n) else { continue };
            if let Ok(alc) = AlcPacket::parse(packet)
                && alc.lct().toi == 0
                && alc
                    .payload()
                    .windows(name.len())
                    .any(|w| w == name.as_bytes())
            {
                seen = Some(t0.elapsed());
            }
        }
        match seen {
            Some(d) => out.push(d.as_secs_f64() * 1e3),
            None => return Err(format!("{name} never reached the wire")),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(out)
}

/// 2: bytes per second on the wire of `send` (A) and of `serve` (B) with the same files.
fn send_rates(
    bin: &Path,
    scratch: &Path,
    files: &[PathBuf],
    dir: &Path,
) -> Result<(f64, f64), String> {
    let window = (Duration::from_secs(2), Duration::from_secs(5));
    // A, B, B, A: a speed that drifts steadily during the round weighs on both sides alike.
    let a1 = send_rate(bin, files, window)?;
    let b1 = serve_rate(bin, scratch, dir, window)?;
    let b2 = serve_rate(bin, scratch, dir, window)?;
    let a2 = send_rate(bin, files, window)?;
    Ok(((a1 + a2) / 2.0, (b1 + b2) / 2.0))
}

/// A: `xflute send`, from its stats events.
fn send_rate(bin: &Path, files: &[PathBuf], window: (Duration, Duration)) -> Result<f64, String> {
    let mut args: Vec<String> = vec![
        "send".into(),
        "--dest".into(),
        "239.255.77.2:4778".into(),
        "--iface".into(),
        "lo".into(),
        "--backend".into(),
        "udp".into(),
        "--carousel".into(),
        "6s".into(),
        "--cores".into(),
        "1".into(),
        "--json".into(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let child = Command::new(bin)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut send = Guard(child);
    let stdout = send.0.stdout.take().ok_or("no stdout")?;
    let mut samples: Vec<(f64, f64)> = Vec::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if v["event"] == "stats"
            && let (Some(s), Some(b)) = (v["seconds"].as_f64(), v["bytes"].as_f64())
        {
            samples.push((s, b));
        }
    }
    drop(send);
    let at = |t: Duration| {
        samples
            .iter()
            .min_by(|a, b| {
                (a.0 - t.as_secs_f64())
                    .abs()
                    .total_cmp(&(b.0 - t.as_secs_f64()).abs())
            })
            .copied()
    };
    match (at(window.0), at(window.1)) {
        (Some((t0, b0)), Some((t1, b1))) if t1 > t0 => Ok((b1 - b0) / (t1 - t0)),
        _ => Err("send printed too few stats events".into()),
    }
}

/// B: `serve`, from its metrics.
fn serve_rate(
    bin: &Path,
    scratch: &Path,
    dir: &Path,
    window: (Duration, Duration),
) -> Result<f64, String> {
    let port = free_port();
    let config = format!(
        "[http]\nlisten = \"127.0.0.1:{port}\"\n[[send]]\nname = \"rate\"\n\
         dest = \"239.255.77.2:4778\"\niface = \"lo\"\ncarousel = \"0s\"\ncores = [1]\n\
         watch = [\"{}\"]\n",
        dir.display()
    );
    let _serve = serve(bin, scratch, &config, port)?;
    let started = Instant::now();
    let read = || {
        curl(&format!("http://127.0.0.1:{port}/metrics"))
            .and_then(|m| metric(&m, "xflute_send_bytes_total"))
    };
    std::thread::sleep(window.0.saturating_sub(started.elapsed()));
    let (t0, b0) = (Instant::now(), read().ok_or("no metrics")?);
    std::thread::sleep(window.1 - window.0);
    let (t1, b1) = (Instant::now(), read().ok_or("no metrics")?);
    Ok((b1 - b0) / (t1 - t0).as_secs_f64())
}

/// `(a(), b())`, measured in that order or, with `b_first`, the other: alternating the order
/// from round to round keeps a machine that speeds up or slows down during the run from
/// favouring one side.
fn in_order<T>(
    b_first: bool,
    a: impl FnOnce() -> Result<T, String>,
    b: impl FnOnce() -> Result<T, String>,
) -> Result<(T, T), String> {
    if b_first {
        let b = b()?;
        Ok((a()?, b))
    } else {
        let a = a()?;
        Ok((a, b()?))
    }
}

/// Waits until every file of `names` is in `out` with `bytes` bytes; the time it took.
fn all_in(out: &Path, names: &[String], bytes: u64, since: Instant) -> Option<Duration> {
    let give_up = since + Duration::from_secs(60);
    while Instant::now() < give_up {
        let done = names
            .iter()
            .all(|n| std::fs::metadata(out.join(n)).is_ok_and(|m| m.len() == bytes));
        if done {
            return Some(since.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// 3: seconds from the sender's start to the last file in place: `recv` (A), `serve` (B).
fn receive_times(
    bin: &Path,
    scratch: &Path,
    files: &[PathBuf],
    bytes: u64,
    serve_first: bool,
) -> Result<(f64, f64), String> {
    let group = "239.255.77.3:4779";
    let names: Vec<String> = files
        .iter()
        .filter_map(|f| f.file_name().and_then(|n| n.to_str()).map(str::to_owned))
        .collect();
    let sender = |bin: &Path| -> Result<Guard, String> {
        let mut args: Vec<String> = ["send", "--dest", group, "--iface", "lo", "--backend", "udp"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        args.extend([
            "--rate".into(),
            "1G".into(),
            "--carousel".into(),
            "60s".into(),
        ]);
        args.extend(files.iter().map(|f| f.display().to_string()));
        Command::new(bin)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(Guard)
            .map_err(|e| e.to_string())
    };
    let with_recv = || -> Result<f64, String> {
        let out_a = scratch.join("recv-out");
        let _ = std::fs::remove_dir_all(&out_a);
        let recv = Command::new(bin)
            .args([
                "recv",
                "--group",
                group,
                "--iface",
                "lo",
                "--backend",
                "udp",
                "--out",
            ])
            .arg(&out_a)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(Guard)
            .map_err(|e| e.to_string())?;
        std::thread::sleep(Duration::from_millis(300));
        let t0 = Instant::now();
        let send = sender(bin)?;
        let a = all_in(&out_a, &names, bytes, t0).ok_or("recv did not get every file")?;
        drop(send);
        drop(recv);
        Ok(a.as_secs_f64())
    };
    let with_serve = || -> Result<f64, String> {
        let out_b = scratch.join("serve-out");
        let _ = std::fs::remove_dir_all(&out_b);
        let port = free_port();
        let config = format!(
            "[http]\nlisten = \"127.0.0.1:{port}\"\n[[receive]]\nname = \"in\"\ngroup = \"{group}\"\n\
         iface = \"lo\"\nout = \"{}\"\n",
            out_b.display()
        );
        let serve_guard = serve(bin, scratch, &config, port)?;
        let t0 = Instant::now();
        let send = sender(bin)?;
        let b = all_in(&out_b, &names, bytes, t0).ok_or("serve did not get every file")?;
        drop(send);
        drop(serve_guard);
        Ok(b.as_secs_f64())
    };
    in_order(serve_first, with_recv, with_serve)
}

fn no_code_oti() -> Oti {
    Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: 1400,
        maximum_source_block_length: 64,
        max_number_of_encoding_symbols: 64,
        scheme_specific: SchemeSpecific::None,
    }
}

fn carousel_object(name: &str, bytes: usize, seed: u8) -> Result<ObjectDesc, String> {
    let transfer = TransferConfig {
        carousel_mode: Some(CarouselRepeatMode::DelayBetweenTransfers(Duration::ZERO)),
        ..TransferConfig::default()
    };
    ObjectDesc::from_buffer(
        vec![seed; bytes],
        "application/octet-stream",
        format!("file:///{name}"),
        false,
        transfer,
    )
    .map_err(|e| e.to_string())
}

/// 4: a persistent engine's bytes per second without (A) and with (B) objects added and
/// removed 100 times a second.
fn engine_rates(window: Duration, adding_first: bool) -> Result<(f64, f64), String> {
    let endpoint = UdpEndpoint::new("239.255.77.4".parse().map_err(|e| format!("{e}"))?, 4780);
    let sender =
        Sender::new(endpoint, 1, no_code_oti(), Config::default()).map_err(|e| e.to_string())?;
    let engine = TxEngine::builder()
        .backend(Backend::Udp)
        .interface("lo")
        .cores(vec![1])
        .persistent(true)
        .session(sender, IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        .start(Arc::new(AtomicBool::new(false)))
        .map_err(|e| e.to_string())?;
    for i in 0..4 {
        engine
            .add_object(
                0,
                0,
                carousel_object(&format!("base-{i}"), 8 << 20, i as u8)?,
            )
            .map_err(|e| e.to_string())?;
    }
    std::thread::sleep(Duration::from_millis(300));
    let rate = |adding: bool| -> Result<f64, String> {
        let b0 = engine.stats().total().bytes;
        let t0 = Instant::now();
        let mut added = std::collections::VecDeque::new();
        let mut n = 0u32;
        while t0.elapsed() < window {
            if adding {
                let toi = engine
                    .add_object(
                        0,
                        0,
                        carousel_object(&format!("add-{n}"), 64 << 10, n as u8)?,
                    )
                    .map_err(|e| e.to_string())?;
                added.push_back(toi);
                n += 1;
                if added.len() > 8
                    && let Some(old) = added.pop_front()
                {
                    engine.remove_object(0, old).map_err(|e| e.to_string())?;
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        for toi in added {
            engine.remove_object(0, toi).map_err(|e| e.to_string())?;
        }
        Ok((engine.stats().total().bytes - b0) as f64 / t0.elapsed().as_secs_f64())
    };
    let (a, b) = in_order(adding_first, || rate(false), || rate(true))?;
    engine.stop();
    engine.join().map_err(|e| e.to_string())?;
    Ok((a, b))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len().max(1)) - 1)
        .copied()
        .unwrap_or(f64::NAN)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn run(rounds: usize) -> Result<(), String> {
    let bin = xflute_binary()?;
    let scratch =
        Scratch(std::env::temp_dir().join(format!("xflute-serve-bench-{}", std::process::id())));
    std::fs::create_dir_all(&scratch.0).map_err(|e| e.to_string())?;
    let out = &mut std::io::stdout();
    let _ = writeln!(
        out,
        "xflute serve benchmark over UDP on lo, {rounds} rounds"
    );

    let mut lat = watch_to_wire(&bin, &scratch.0, 200)?;
    lat.sort_by(f64::total_cmp);
    let p99 = percentile(&lat, 99.0);
    let _ = writeln!(
        out,
        "watch to wire, {} files renamed in: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 <= 100 ms: {})",
        lat.len(),
        percentile(&lat, 50.0),
        p99,
        lat.last().copied().unwrap_or(f64::NAN),
        verdict(p99 <= 100.0)
    );

    let files_dir = scratch.0.join("files");
    let files = write_files(&files_dir, 8, 4 << 20);
    let mut send_ratios = Vec::new();
    let mut recv_ratios = Vec::new();
    let mut engine_ratios = Vec::new();
    for round in 1..=rounds {
        let second_first = round % 2 == 0;
        let (a, b) = send_rates(&bin, &scratch.0, &files, &files_dir)?;
        let _ = writeln!(
            out,
            "round {round}: send {:.2} Gbit/s, serve {:.2} Gbit/s on the wire: {:.2}",
            a * 8e-9,
            b * 8e-9,
            b / a
        );
        send_ratios.push(b / a);
        let (a, b) = receive_times(&bin, &scratch.0, &files, 4 << 20, second_first)?;
        let _ = writeln!(
            out,
            "round {round}: all files in place after {a:.2} s with recv, {b:.2} s with serve: rate ratio {:.2}",
            a / b
        );
        recv_ratios.push(a / b);
        let (a, b) = engine_rates(Duration::from_secs(2), second_first)?;
        let _ = writeln!(
            out,
            "round {round}: TxEngine {:.2} Gbit/s, {:.2} Gbit/s while adding 100 objects/s: {:.2}",
            a * 8e-9,
            b * 8e-9,
            b / a
        );
        engine_ratios.push(b / a);
    }
    for (what, ratios) in [
        ("serve / send, bytes on the wire per second", &send_ratios),
        ("serve / recv, receive rate", &recv_ratios),
        ("TxEngine adding objects / not adding", &engine_ratios),
    ] {
        let m = median(ratios).unwrap_or(f64::NAN);
        let _ = writeln!(
            out,
            "median {what}: {m:.2} (target >= 0.95: {})",
            verdict(m >= 0.95)
        );
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let rounds = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3usize)
        .max(1);
    match run(rounds) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("serve_bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
