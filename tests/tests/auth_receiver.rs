//! RFC 6584 packet authentication end to end in memory: a sender with a key, a receiver with
//! the key, and forged packets interleaved with the session at ten per genuine one — valid
//! headers without EXT_AUTH, genuine packets with a changed byte, a whole session signed with
//! another key (same TSI, same TOIs, other bytes), replays. Every forgery is dropped under its
//! own reason before it reaches a session, and the genuine object arrives intact.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime};

use xflute::auth::{GroupKey, Signer, SigningKey, VerifierConfig, VerifyingKey};
use xflute::endpoint::UdpEndpoint;
use xflute::receiver::{Config, DropReason, MemorySink, MultiReceiver};
use xflute::sender::Sender;
use xflute::wire::{AlcPacket, AlcRepr, ExtRepr, PayloadIdFormat};
use xflute_tests::data::random_bytes;
use xflute_tests::session::no_code_sender;

const TSI: u64 = 3;

fn endpoint() -> UdpEndpoint {
    UdpEndpoint::new(IpAddr::V4(Ipv4Addr::new(239, 255, 0, 1)), 3400)
}

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
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

/// Every packet of a session of one object, `data` at `name`, signed by `signer` if any.
fn packets(name: &str, data: Vec<u8>, signer: Option<Signer>) -> Vec<Vec<u8>> {
    let mut sender: Sender = no_code_sender(endpoint(), TSI, name, data, false);
    if let Some(signer) = signer {
        sender.set_signer(signer).unwrap();
    }
    let mut buf = vec![0u8; sender.max_packet_len()];
    let mut out = Vec::new();
    while let Some(len) = sender.write_next(&mut buf, now()) {
        out.push(buf[..len].to_vec());
    }
    out
}

/// `packet` re-emitted without its EXT_AUTH: a well-formed, unauthenticated packet.
fn strip_auth(packet: &[u8]) -> Vec<u8> {
    let alc = AlcPacket::parse(packet).unwrap();
    let exts: Vec<ExtRepr<'_>> = alc
        .extension_reprs()
        .map(Result::unwrap)
        .filter(|e| !matches!(e, ExtRepr::Auth { .. }))
        .collect();
    let format = match alc.fti() {
        Some(oti) => PayloadIdFormat::for_oti(&oti).unwrap(),
        None => PayloadIdFormat::CompactNoCode,
    };
    let repr = AlcRepr {
        lct: *alc.lct(),
        extensions: &exts,
        payload_id: alc.payload_id().map(|id| (format, id)),
    };
    let mut out = vec![0u8; repr.buffer_len() + alc.payload().len()];
    let len = repr.emit(&mut out).unwrap();
    out[len..].copy_from_slice(alc.payload());
    out
}

fn receiver(auth: Option<VerifierConfig>) -> MultiReceiver<MemorySink> {
    let config = Config {
        auth: auth.map(VerifierConfig::leak),
        ..Config::default()
    };
    MultiReceiver::new(MemorySink::new(1 << 30), config)
}

/// The forgeries sent around genuine packet `i`, and the reason each must be dropped for.
struct Forgeries {
    missing: u64,
    failed: u64,
    replayed: u64,
}

/// Pushes the genuine `session` with forgeries interleaved, ten per genuine packet; returns how
/// many of each kind were pushed.
fn push_under_attack(
    receiver: &mut MultiReceiver<MemorySink>,
    session: &[Vec<u8>],
    attacker: &[Vec<u8>],
) -> Forgeries {
    let ep = endpoint();
    let mut sent = Forgeries {
        missing: 0,
        failed: 0,
        replayed: 0,
    };
    for (i, genuine) in session.iter().enumerate() {
        // Before the genuine packet: its twin with a changed byte (same Sequence Number), and
        // the same packet without EXT_AUTH.
        let mut tampered = genuine.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 0x55;
        assert!(receiver.push(&ep, &tampered, now()).is_err());
        assert!(receiver.push(&ep, &strip_auth(genuine), now()).is_err());
        sent.failed += 1;
        sent.missing += 1;
        // The attacker's own session, signed with another key, for the same TSI and TOIs. A
        // Sequence Number the session already used is refused as a replay before any MAC or
        // signature is computed (RFC 6584 §3.3.2); a new one fails the check.
        for forged in attacker.iter().cycle().skip(i * 3).take(3) {
            match receiver.push(&ep, forged, now()).map_err(|e| e.reason()) {
                Err(DropReason::AuthFailed) => sent.failed += 1,
                Err(DropReason::AuthReplayed) => sent.replayed += 1,
                other => panic!("forged packet: {other:?}"),
            }
            assert!(receiver.push(&ep, &strip_auth(forged), now()).is_err());
            sent.missing += 1;
        }
        receiver.push(&ep, genuine, now()).unwrap();
        // Replays: this packet and an older one.
        assert!(receiver.push(&ep, genuine, now()).is_err());
        assert!(receiver.push(&ep, &session[i / 2], now()).is_err());
        sent.replayed += 2;
    }
    sent
}

fn check(receiver: &mut MultiReceiver<MemorySink>, sent: &Forgeries, data: &[u8]) {
    let stats = receiver.stats();
    assert_eq!(stats.drops(DropReason::AuthMissing), sent.missing);
    assert_eq!(stats.drops(DropReason::AuthFailed), sent.failed);
    assert_eq!(stats.drops(DropReason::AuthReplayed), sent.replayed);
    assert_eq!(
        stats.total_drops(),
        sent.missing + sent.failed + sent.replayed,
        "no forgery reached the session to be dropped there"
    );
    assert_eq!(stats.objects_completed, 1);
    assert_eq!(stats.objects_failed, 0);
    assert_eq!(receiver.nb_sessions(), 1);
    let done = receiver.sink_mut().take_completed();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].data.clone().into_vec(), data);
}

#[test]
fn group_mac_session_is_delivered_intact_while_forgeries_are_dropped_and_counted() {
    let data = random_bytes(300_000, 1);
    let session = packets(
        "genuine.bin",
        data.clone(),
        Some(Signer::group_mac(group_key())),
    );
    let other_key = GroupKey::new(&[0x42; 32]).unwrap();
    let attacker = packets(
        "genuine.bin",
        random_bytes(300_000, 2),
        Some(Signer::group_mac(other_key)),
    );
    let mut receiver = receiver(Some(VerifierConfig::group_mac(group_key())));
    let sent = push_under_attack(&mut receiver, &session, &attacker);
    assert!(sent.missing + sent.failed + sent.replayed >= 10 * session.len() as u64);
    check(&mut receiver, &sent, &data);
}

#[test]
fn rsa_pss_session_is_delivered_intact_while_forgeries_are_dropped_and_counted() {
    let data = random_bytes(40_000, 3);
    let session = packets(
        "signed.bin",
        data.clone(),
        Some(Signer::rsa_pss(signing_key())),
    );
    // Without the private key an attacker can only sign with its own.
    let attacker = packets(
        "signed.bin",
        random_bytes(40_000, 4),
        Some(Signer::group_mac(group_key())),
    );
    let mut receiver = receiver(Some(VerifierConfig::rsa_pss(verifying_key())));
    let sent = push_under_attack(&mut receiver, &session, &attacker);
    check(&mut receiver, &sent, &data);
}

#[test]
fn combined_session_is_delivered_intact_while_forgeries_are_dropped_and_counted() {
    let group = || group_key().with_mac_bits(32).unwrap();
    let data = random_bytes(40_000, 5);
    let session = packets(
        "both.bin",
        data.clone(),
        Some(Signer::combined(signing_key(), group())),
    );
    let attacker = packets(
        "both.bin",
        random_bytes(40_000, 6),
        Some(Signer::combined(
            signing_key(),
            GroupKey::new(&[7; 32]).unwrap().with_mac_bits(32).unwrap(),
        )),
    );
    let mut receiver = receiver(Some(VerifierConfig::combined(verifying_key(), group())));
    let sent = push_under_attack(&mut receiver, &session, &attacker);
    check(&mut receiver, &sent, &data);
}

#[test]
fn unauthenticated_sessions_open_nothing_at_a_receiver_with_a_key() {
    let mut receiver = receiver(Some(VerifierConfig::group_mac(group_key())));
    for tsi_offset in 0..50u64 {
        let mut sender =
            no_code_sender(endpoint(), TSI + 1 + tsi_offset, "x", vec![1; 3000], false);
        let mut buf = vec![0u8; sender.max_packet_len()];
        while let Some(len) = sender.write_next(&mut buf, now()) {
            assert!(receiver.push(&endpoint(), &buf[..len], now()).is_err());
        }
    }
    assert_eq!(receiver.nb_sessions(), 0);
    assert_eq!(receiver.stats().sessions_opened, 0);
    assert_eq!(
        receiver.stats().drops(DropReason::AuthMissing),
        receiver.stats().packets
    );
}

#[test]
fn a_receiver_without_a_key_takes_authenticated_packets_as_any_other() {
    let data = random_bytes(50_000, 7);
    let session = packets(
        "plain.bin",
        data.clone(),
        Some(Signer::group_mac(group_key())),
    );
    let mut receiver = receiver(None);
    for packet in &session {
        receiver.push(&endpoint(), packet, now()).unwrap();
    }
    let done = receiver.sink_mut().take_completed();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].data.clone().into_vec(), data);
}

#[test]
fn a_session_replayed_whole_after_it_ended_is_refused() {
    let data = random_bytes(20_000, 8);
    let session = packets(
        "once.bin",
        data.clone(),
        Some(Signer::group_mac(group_key())),
    );
    let mut receiver = receiver(Some(VerifierConfig::group_mac(group_key())));
    for packet in &session {
        receiver.push(&endpoint(), packet, now()).unwrap();
    }
    receiver.close_all(now());
    assert_eq!(receiver.nb_sessions(), 0);
    for packet in &session {
        assert!(receiver.push(&endpoint(), packet, now()).is_err());
    }
    assert_eq!(receiver.nb_sessions(), 0);
    assert_eq!(
        receiver.stats().drops(DropReason::AuthReplayed),
        session.len() as u64
    );
    assert_eq!(receiver.sink_mut().take_completed().len(), 1);
}
