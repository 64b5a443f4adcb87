//! The receive engine's authentication stage (`runtime/verify.rs`): a capture of a group-MAC
//! session with forgeries interleaved (packets without EXT_AUTH, tampered, signed with another
//! key, replayed), replayed by `RxEngine` with the MACs checked on the stage's thread beside the
//! worker and, in the same test, on the worker itself. Both deliver the file intact and count
//! every forgery under the same reason as a `MultiReceiver` fed the same packets in memory.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime};

use xflute::auth::{GroupKey, Signer, VerifierConfig};
use xflute::endpoint::UdpEndpoint;
use xflute::receiver::{Config, DropReason, MemorySink, MultiReceiver};
use xflute::runtime::{Backend, ChannelSpec, RxEngine};
use xflute_tests::capture::udp_capture_between;
use xflute_tests::data::random_bytes;
use xflute_tests::session::no_code_sender;

const GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 0, 9);
const PORT: u16 = 3400;

fn group_key(byte: u8) -> GroupKey {
    GroupKey::from_file_contents(&[byte; 32]).unwrap()
}

/// Every packet of a session of `data` at `name`, signed with `key` (unsigned when `None`).
fn session(name: &str, data: Vec<u8>, key: Option<u8>) -> Vec<Vec<u8>> {
    let endpoint = UdpEndpoint::new(IpAddr::V4(GROUP), PORT);
    let mut sender = no_code_sender(endpoint, 5, name, data, false);
    if let Some(key) = key {
        sender
            .set_signer(Signer::group_mac(group_key(key)))
            .unwrap();
    }
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut buf = vec![0u8; sender.max_packet_len()];
    let mut out = Vec::new();
    while let Some(len) = sender.write_next(&mut buf, now) {
        out.push(buf[..len].to_vec());
    }
    out
}

/// The genuine session with forgeries around each packet: tampered, the attackers' (signed
/// with another key, or not at all), replayed.
fn under_attack(genuine: &[Vec<u8>], attacker: &[Vec<u8>], plain: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (i, packet) in genuine.iter().enumerate() {
        let mut tampered = packet.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 0x55;
        out.push(tampered);
        out.extend(attacker.iter().cycle().skip(i * 2).take(2).cloned());
        out.extend(plain.iter().cycle().skip(i).take(1).cloned());
        out.push(packet.clone());
        out.push(packet.clone());
        out.push(genuine[i / 2].clone());
    }
    out
}

const REASONS: [DropReason; 3] = [
    DropReason::AuthMissing,
    DropReason::AuthFailed,
    DropReason::AuthReplayed,
];

#[test]
fn the_authentication_stage_refuses_what_the_worker_refuses_and_delivers_the_file() {
    let dir = xflute_tests::TempDir::new("runtime-auth-stage");
    let data = random_bytes(3 << 20, 41);
    let genuine = session("a.bin", data.clone(), Some(7));
    let attacker = session("a.bin", random_bytes(3 << 20, 42), Some(8));
    let plain = session("a.bin", random_bytes(3 << 20, 43), None);
    let packets = under_attack(&genuine, &attacker, &plain);
    let cap = dir.path().join("attack.pcap");
    udp_capture_between(
        &cap,
        "198.18.0.1:4000".parse().unwrap(),
        SocketAddr::new(IpAddr::V4(GROUP), PORT),
        &packets,
    );
    let config = VerifierConfig::group_mac(group_key(7)).leak();

    // What a receiver fed the same packets in memory refuses, reason by reason.
    let mut memory = MultiReceiver::new(
        MemorySink::new(1 << 30),
        Config {
            auth: Some(config),
            ..Config::default()
        },
    );
    let endpoint = UdpEndpoint::new(IpAddr::V4(GROUP), PORT);
    for p in &packets {
        let _ = memory.push(&endpoint, p, SystemTime::now());
    }
    let expected: Vec<u64> = REASONS.iter().map(|&r| memory.stats().drops(r)).collect();
    assert!(expected.iter().all(|&n| n > 100), "{expected:?}");
    assert_eq!(memory.stats().objects_completed, 1);

    for on_worker in [false, true] {
        let out = dir.path().join(format!("out-{on_worker}"));
        std::fs::create_dir_all(&out).unwrap();
        let rx = RxEngine::builder(&out)
            .backend(Backend::Pcap)
            .pcap_in(&cap)
            .channel(ChannelSpec::new(SocketAddr::new(IpAddr::V4(GROUP), PORT)))
            .receiver_config(Config {
                auth: Some(config),
                ..Config::default()
            })
            .auth_on_worker(on_worker)
            .start(Arc::new(AtomicBool::new(false)))
            .unwrap();
        let give_up = Instant::now() + Duration::from_secs(60);
        while !rx.is_finished() {
            assert!(Instant::now() < give_up, "the replay did not end");
            std::thread::sleep(Duration::from_millis(5));
        }
        let stats = rx.join().unwrap();
        let worker = &stats.workers[0].receiver;
        let got: Vec<u64> = REASONS.iter().map(|&r| worker.drops(r)).collect();
        assert_eq!(got, expected, "on the worker: {on_worker}");
        assert_eq!(worker.total_drops(), expected.iter().sum::<u64>());
        assert_eq!(worker.objects_completed, 1, "on the worker: {on_worker}");
        assert_eq!(std::fs::read(out.join("a.bin")).unwrap(), data);
    }
}
