//! Packet authentication (RFC 6584) costs: verifying one 1400-byte-symbol packet with the group
//! MAC (HMAC-SHA-256, 128-bit tag) and with an RSASSA-PSS 2048-bit signature (SHA-256), signing
//! one, and the authenticated receive rate as a ratio of the unauthenticated one, in the same
//! run, MD5 on (the receiver's default) and off:
//! - in memory: the same 32 MiB object sent by xflute's `Sender` with a group-MAC `Signer` and
//!   without, each pushed into a `MultiReceiver` (recycled `MemorySink`) with and without
//!   `Config::auth`: on one thread (`push`, which verifies), and with the MACs checked on a
//!   second thread (`VerifierConfig::check`) a batch ahead of the receiving one (`push_checked`);
//! - through the receive engine: both sessions replayed from a capture in /dev/shm by
//!   `RxEngine` into files there, with its authentication stage (the default on more than one
//!   core), with verification on the worker (`auth_on_worker`), and without authentication.
//!
//! Prints each and the ratios; the target is 0.8 or more with the group MAC.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, Throughput};
use xflute::auth::{GroupKey, Signer, SigningKey, Verifier, VerifierConfig, VerifyingKey};
use xflute::endpoint::UdpEndpoint;
use xflute::receiver::{Config, MemorySink, MultiReceiver};
use xflute::runtime::{Backend, ChannelSpec, RxEngine};
use xflute::sender::{Config as SenderConfig, ObjectDesc, Sender, TransferConfig};
use xflute::wire::{FecEncodingId, Oti, SchemeSpecific};
use xflute_tests::capture::udp_capture_between;

const OBJECT_BYTES: usize = 32 << 20;
const SYMBOL_BYTES: u16 = 1400;
/// Packets signed for the RSA rows: each signature costs about a millisecond.
const RSA_PACKETS: usize = 200;

const GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 6, 6);
const PORT: u16 = 3400;

fn endpoint() -> UdpEndpoint {
    UdpEndpoint::new(IpAddr::V4(GROUP), PORT)
}

fn group_key() -> GroupKey {
    GroupKey::from_file_contents(include_bytes!("../../engine/src/auth/testdata/group.key"))
        .unwrap()
}

fn signing_key() -> SigningKey {
    SigningKey::from_pkcs8_pem(include_str!("../../engine/src/auth/testdata/sign-2048.pem"))
        .unwrap()
}

fn verifying_key() -> VerifyingKey {
    VerifyingKey::from_public_key_pem(include_str!(
        "../../engine/src/auth/testdata/verify-2048.pem"
    ))
    .unwrap()
}

/// The first `limit` packets of a session of one `len`-byte object, signed by `signer` if any.
fn session(len: usize, signer: Option<Signer>, limit: usize) -> Vec<Vec<u8>> {
    let oti = Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: SYMBOL_BYTES,
        maximum_source_block_length: 64,
        max_number_of_encoding_symbols: 64,
        scheme_specific: SchemeSpecific::None,
    };
    let mut sender = Sender::new(endpoint(), 1, oti, SenderConfig::default()).unwrap();
    if let Some(signer) = signer {
        sender.set_signer(signer).unwrap();
    }
    let data: Vec<u8> = (0..len).map(|i| (i * 31 + i / 4096) as u8).collect();
    let object = ObjectDesc::from_buffer(
        data,
        "application/octet-stream",
        "file:///bench.bin",
        true,
        TransferConfig::default(),
    )
    .unwrap();
    sender.add_object(0, object).unwrap();
    let now = SystemTime::now();
    let mut buf = vec![0u8; sender.max_packet_len()];
    let mut out = Vec::new();
    while out.len() < limit {
        match sender.write_next(&mut buf, now) {
            Some(n) => out.push(buf[..n].to_vec()),
            None => break,
        }
    }
    out
}

/// Verifies every packet with a fresh verifier (windows start empty each pass).
fn verify_all(config: &VerifierConfig, packets: &[Vec<u8>]) {
    let mut verifier = Verifier::new(config.clone());
    let endpoint = endpoint();
    for p in packets {
        verifier.verify(&endpoint, black_box(p)).unwrap();
    }
}

/// Checks that `receiver` took every packet and completed the one object, and gives the
/// object's buffer back to its sink.
fn give_back(receiver: MultiReceiver<MemorySink>) -> MemorySink {
    assert_eq!(receiver.stats().total_drops(), 0);
    let mut sink = receiver.into_sink();
    let mut done = sink.take_completed();
    assert_eq!(done.len(), 1);
    let object = done.remove(0);
    assert_eq!(object.data.len(), OBJECT_BYTES);
    sink.recycle(black_box(object.data));
    sink
}

/// Receives every packet into a new `MultiReceiver` over `sink`, authenticating with `auth`;
/// the object's buffer goes back to the sink.
fn receive(
    packets: &[Vec<u8>],
    auth: Option<&'static VerifierConfig>,
    md5: bool,
    sink: MemorySink,
) -> MemorySink {
    let config = Config {
        auth,
        check_md5: md5,
        ..Config::default()
    };
    let mut receiver = MultiReceiver::new(sink, config);
    let now = SystemTime::now();
    let endpoint = endpoint();
    for p in packets {
        let _ = receiver.push(&endpoint, p, now);
    }
    give_back(receiver)
}

/// As [`receive`], with the MACs checked on a second thread, a batch ahead of this one.
fn receive_pipelined(
    packets: &[Vec<u8>],
    auth: &'static VerifierConfig,
    md5: bool,
    sink: MemorySink,
) -> MemorySink {
    const BATCH: usize = 64;
    let config = Config {
        auth: Some(auth),
        check_md5: md5,
        ..Config::default()
    };
    let mut receiver = MultiReceiver::new(sink, config);
    let now = SystemTime::now();
    let endpoint = endpoint();
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<_>>(2);
        scope.spawn(move || {
            for batch in packets.chunks(BATCH) {
                let checked = batch.iter().map(|p| auth.check(p)).collect();
                if tx.send(checked).is_err() {
                    return;
                }
            }
        });
        for (batch, checked) in packets.chunks(BATCH).zip(rx) {
            for (p, c) in batch.iter().zip(&checked) {
                let _ = receiver.push_checked(&endpoint, p, c, now);
            }
        }
    });
    give_back(receiver)
}

/// How long `RxEngine` takes to replay `capture` into files under `out` (emptied first).
fn engine_receive(
    capture: &Path,
    out: &Path,
    auth: Option<&'static VerifierConfig>,
    on_worker: bool,
    md5: bool,
) -> Duration {
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).unwrap();
    let config = Config {
        auth,
        check_md5: md5,
        ..Config::default()
    };
    let t = Instant::now();
    let rx = RxEngine::builder(out)
        .backend(Backend::Pcap)
        .pcap_in(capture)
        .channel(ChannelSpec::new(SocketAddr::new(IpAddr::V4(GROUP), PORT)))
        .receiver_config(config)
        .auth_on_worker(on_worker)
        .start(Arc::new(AtomicBool::new(false)))
        .unwrap();
    // `join` stops the workers: the replay ends first.
    while !rx.is_finished() {
        std::thread::sleep(Duration::from_micros(200));
    }
    let stats = rx.join().unwrap();
    let took = t.elapsed();
    let completed: u64 = stats
        .workers
        .iter()
        .map(|w| w.receiver.objects_completed)
        .sum();
    assert_eq!(completed, 1, "{stats:?}");
    took
}

/// A directory in /dev/shm (RAM) for the captures and files, removed on drop.
struct ShmDir(PathBuf);

impl Drop for ShmDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Prints the in-memory receive rates, unauthenticated and with the group MAC (on this thread,
/// or a second one when `pipelined`), and their ratio, MD5 on and off: same run, median of 9.
fn in_memory_ratios(
    plain: &[Vec<u8>],
    signed: &[Vec<u8>],
    config: &'static VerifierConfig,
    pipelined: bool,
) {
    for md5 in [true, false] {
        let tag = if md5 { "MD5 on " } else { "MD5 off" };
        let mut slot = Some(MemorySink::new(1 << 30));
        let mut base = Vec::new();
        let mut auth = Vec::new();
        // Interleaved, so that load from elsewhere on the machine hits both alike.
        for _ in 0..9 {
            base.push(time(|| {
                slot = Some(receive(plain, None, md5, slot.take().unwrap()))
            }));
            auth.push(time(|| {
                let sink = slot.take().unwrap();
                slot = Some(if pipelined {
                    receive_pipelined(signed, config, md5, sink)
                } else {
                    receive(signed, Some(config), md5, sink)
                })
            }));
        }
        let (b, a) = (gbps(median(base)), gbps(median(auth)));
        println!(
            "  {tag}: unauthenticated {b:6.2} Gbit/s  group MAC {a:6.2} Gbit/s  ratio {:.2} (target >= 0.80)",
            a / b
        );
    }
}

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn gbps(d: Duration) -> f64 {
    OBJECT_BYTES as f64 * 8.0 / d.as_secs_f64() / 1e9
}

fn per_packet(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e9 / n as f64
}

fn main() {
    let mac_config = VerifierConfig::group_mac(group_key()).leak();
    let rsa_config = VerifierConfig::rsa_pss(verifying_key());
    let plain = session(OBJECT_BYTES, None, usize::MAX);
    let mac_signed = session(
        OBJECT_BYTES,
        Some(Signer::group_mac(group_key())),
        usize::MAX,
    );
    let rsa_signed = session(
        OBJECT_BYTES,
        Some(Signer::rsa_pss(signing_key())),
        RSA_PACKETS,
    );
    let n = mac_signed.len();

    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut group = criterion.benchmark_group("auth_verify_1400B");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("hmac_sha256", |b| {
        b.iter(|| verify_all(mac_config, &mac_signed))
    });
    group.throughput(Throughput::Elements(RSA_PACKETS as u64));
    group.bench_function("rsassa_pss_2048", |b| {
        b.iter(|| verify_all(&rsa_config, &rsa_signed))
    });
    group.finish();
    let mut group = criterion.benchmark_group("auth_receive_32MiB_1400B_md5_off");
    group.throughput(Throughput::Bytes(OBJECT_BYTES as u64));
    let mut slot = Some(MemorySink::new(1 << 30));
    group.bench_function("unauthenticated", |b| {
        b.iter(|| slot = Some(receive(&plain, None, false, slot.take().unwrap())))
    });
    group.bench_function("group_mac", |b| {
        b.iter(|| {
            slot = Some(receive(
                &mac_signed,
                Some(mac_config),
                false,
                slot.take().unwrap(),
            ))
        })
    });
    group.finish();

    println!("\nauthentication (RFC 6584), 1400-byte symbols, same run, median of 9:");
    let mut mac = Vec::new();
    let mut rsa = Vec::new();
    let mut sign_mac = Vec::new();
    let mut sign_rsa = Vec::new();
    let mac_signer = Signer::group_mac(group_key());
    let rsa_signer = Signer::rsa_pss(signing_key());
    let mut scratch = mac_signed.clone();
    let mut rsa_scratch: Vec<Vec<u8>> = rsa_signed.iter().take(20).cloned().collect();
    for _ in 0..9 {
        mac.push(time(|| verify_all(mac_config, &mac_signed)));
        rsa.push(time(|| verify_all(&rsa_config, &rsa_signed)));
        sign_mac.push(time(|| {
            for p in &mut scratch {
                mac_signer.sign(p).unwrap();
            }
        }));
        sign_rsa.push(time(|| {
            for p in &mut rsa_scratch {
                rsa_signer.sign(p).unwrap();
            }
        }));
    }
    let mac_ns = per_packet(median(mac), n);
    let rsa_ns = per_packet(median(rsa), RSA_PACKETS);
    println!(
        "  verify: group MAC {mac_ns:8.0} ns/packet   RSASSA-PSS 2048 {rsa_ns:8.0} ns/packet ({:.1}x the MAC)",
        rsa_ns / mac_ns
    );
    println!(
        "  sign:   group MAC {:8.0} ns/packet   RSASSA-PSS 2048 {:8.0} ns/packet",
        per_packet(median(sign_mac), n),
        per_packet(median(sign_rsa), rsa_scratch.len())
    );

    println!(
        "\nreceive, 32 MiB object, {n} packets, authenticated (group MAC, anti-replay) vs not, same run, median of 9:"
    );
    in_memory_ratios(&plain, &mac_signed, mac_config, false);
    println!(
        "\nreceive, same packets, MACs checked on a second thread a batch ahead (VerifierConfig::check, push_checked):"
    );
    in_memory_ratios(&plain, &mac_signed, mac_config, true);

    let dir = ShmDir(PathBuf::from(format!(
        "/dev/shm/xflute-auth-bench-{}",
        std::process::id()
    )));
    std::fs::create_dir_all(&dir.0).unwrap();
    let (plain_cap, mac_cap) = (dir.0.join("plain.pcap"), dir.0.join("mac.pcap"));
    let (from, to) = (
        "198.18.0.1:4000".parse().unwrap(),
        SocketAddr::new(IpAddr::V4(GROUP), PORT),
    );
    udp_capture_between(&plain_cap, from, to, &plain);
    udp_capture_between(&mac_cap, from, to, &mac_signed);
    let out = dir.0.join("out");
    println!(
        "\nRxEngine replaying a capture into files (/dev/shm), {} cores, same run, median of 7:",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for md5 in [true, false] {
        let tag = if md5 { "MD5 on " } else { "MD5 off" };
        let (mut base, mut stage, mut worker) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..7 {
            base.push(engine_receive(&plain_cap, &out, None, false, md5));
            stage.push(engine_receive(&mac_cap, &out, Some(mac_config), false, md5));
            worker.push(engine_receive(&mac_cap, &out, Some(mac_config), true, md5));
        }
        let (b, st, w) = (
            gbps(median(base)),
            gbps(median(stage)),
            gbps(median(worker)),
        );
        println!(
            "  {tag}: unauthenticated {b:6.2} Gbit/s  group MAC with the stage {st:6.2} Gbit/s (ratio {:.2}, target >= 0.80)  on the worker {w:6.2} Gbit/s (ratio {:.2})",
            st / b,
            w / b
        );
    }
}
