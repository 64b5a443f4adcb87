//! Signer and verifier together: the packets of a real `Sender` with a signer, checked by a
//! `Verifier`, then tampered with, stripped, replayed and signed with other keys.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime};

use super::*;
use crate::endpoint::UdpEndpoint;
use crate::sender::{Config, ObjectDesc, Sender, TransferConfig};
use crate::wire::{AlcPacket, ExtAuth, FecEncodingId, Oti, SchemeSpecific};

fn endpoint() -> UdpEndpoint {
    UdpEndpoint::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)), 3400)
}

fn group_key() -> GroupKey {
    GroupKey::from_file_contents(include_bytes!("testdata/group.key")).unwrap()
}

fn signing_key() -> SigningKey {
    SigningKey::from_pkcs8_pem(include_str!("testdata/sign-2048.pem")).unwrap()
}

fn verifying_key() -> VerifyingKey {
    VerifyingKey::from_public_key_pem(include_str!("testdata/verify-2048.pem")).unwrap()
}

/// Every packet of a session of one `len`-byte object, signed by `signer`, Close Session last.
fn session_packets(signer: Signer, len: usize) -> Vec<Vec<u8>> {
    let oti = Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: 100,
        maximum_source_block_length: 8,
        max_number_of_encoding_symbols: 8,
        scheme_specific: SchemeSpecific::None,
    };
    let mut sender = Sender::new(endpoint(), 7, oti, Config::default()).unwrap();
    sender.set_signer(signer).unwrap();
    let content = (0..len).map(|i| (i * 7) as u8).collect();
    let desc = ObjectDesc::from_buffer(
        content,
        "application/octet-stream",
        "file:///o",
        false,
        TransferConfig::default(),
    )
    .unwrap();
    sender.add_object(0, desc).unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut buf = vec![0u8; sender.max_packet_len()];
    let mut packets = Vec::new();
    while let Some(n) = sender.try_write_next(&mut buf, now).unwrap() {
        packets.push(buf[..n].to_vec());
    }
    packets.push(sender.read_close_session());
    packets
}

fn ext_auth_of(packet: &[u8]) -> ExtAuth<'_> {
    let alc = AlcPacket::parse(packet).unwrap();
    let raw = alc
        .extensions()
        .map(Result::unwrap)
        .find(|raw| raw.het == crate::wire::het::EXT_AUTH)
        .unwrap();
    // `raw` borrows from `packet` through `alc`'s lifetime.
    ExtAuth::parse(raw.raw).unwrap()
}

#[test]
fn group_mac_packets_verify_once_each_then_are_replays() {
    let packets = session_packets(Signer::group_mac(group_key()), 1000);
    assert!(packets.len() > 10);
    let mut verifier = Verifier::new(VerifierConfig::group_mac(group_key()));
    for (i, packet) in packets.iter().enumerate() {
        let ext = ext_auth_of(packet);
        assert_eq!(ext.asid, DEFAULT_ASID);
        assert_eq!(ext.sequence_number, Some(i as u64 + 1), "numbered from 1");
        assert_eq!(ext.fields.len(), 16, "HMAC-SHA-256 truncated to 128 bits");
        assert_eq!(verifier.verify(&endpoint(), packet), Ok(()), "packet {i}");
    }
    for packet in &packets {
        assert!(matches!(
            verifier.verify(&endpoint(), packet),
            Err(AuthError::Replayed { .. })
        ));
    }
    // The same packets on another endpoint are another session, with its own window.
    let other = UdpEndpoint::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 2)), 3400);
    assert_eq!(verifier.verify(&other, &packets[0]), Ok(()));
    assert_eq!(verifier.nb_windows(), 2);
}

#[test]
fn any_changed_byte_fails_and_never_moves_the_window() {
    let packets = session_packets(Signer::group_mac(group_key()), 300);
    let config = VerifierConfig::group_mac(group_key());
    for packet in &packets {
        for at in 0..packet.len() {
            let mut forged = packet.clone();
            forged[at] ^= 0x01;
            let mut verifier = Verifier::new(config.clone());
            assert!(verifier.verify(&endpoint(), &forged).is_err(), "byte {at}");
            // The genuine packet still goes through: the forgery recorded nothing.
            assert_eq!(verifier.verify(&endpoint(), packet), Ok(()), "byte {at}");
        }
    }
}

#[test]
fn packets_without_the_sessions_ext_auth_are_missing() {
    let plain = session_packets(Signer::group_mac(group_key()), 10);
    let mut verifier = Verifier::new(VerifierConfig::group_mac(group_key()));
    // Another ASID is another scheme: not this session's authentication.
    let other_asid = session_packets(Signer::group_mac(group_key()).with_asid(2).unwrap(), 10);
    assert_eq!(
        verifier.verify(&endpoint(), &other_asid[0]),
        Err(AuthError::Missing { asid: DEFAULT_ASID })
    );
    // A sender without a signer.
    let oti = Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: 100,
        maximum_source_block_length: 8,
        max_number_of_encoding_symbols: 8,
        scheme_specific: SchemeSpecific::None,
    };
    let sender = Sender::new(endpoint(), 7, oti, Config::default()).unwrap();
    assert_eq!(
        verifier.verify(&endpoint(), &sender.read_close_session()),
        Err(AuthError::Missing { asid: DEFAULT_ASID })
    );
    assert!(matches!(
        verifier.verify(&endpoint(), &[0x10, 0]),
        Err(AuthError::Malformed(_))
    ));
    assert_eq!(verifier.verify(&endpoint(), &plain[0]), Ok(()));
}

#[test]
fn another_group_key_or_mac_length_fails() {
    let packets = session_packets(Signer::group_mac(group_key()), 10);
    let other = GroupKey::new(&[0x42; 32]).unwrap();
    let mut verifier = Verifier::new(VerifierConfig::group_mac(other));
    assert_eq!(
        verifier.verify(&endpoint(), &packets[0]),
        Err(AuthError::BadMac)
    );
    let shorter = group_key().with_mac_bits(64).unwrap();
    let mut verifier = Verifier::new(VerifierConfig::group_mac(shorter));
    assert!(matches!(
        verifier.verify(&endpoint(), &packets[0]),
        Err(AuthError::BadLayout { .. })
    ));
}

#[test]
fn anti_replay_must_match_on_both_ends() {
    let without = Signer::group_mac(group_key())
        .with_anti_replay(false)
        .unwrap();
    let packets = session_packets(without, 500);
    assert_eq!(ext_auth_of(&packets[0]).sequence_number, None);
    let mut verifier = Verifier::new(
        VerifierConfig::group_mac(group_key())
            .with_anti_replay(false)
            .unwrap(),
    );
    for packet in &packets {
        assert_eq!(verifier.verify(&endpoint(), packet), Ok(()));
        // Without anti-replay a repeat is taken (RFC 6584 §7.2.3: ALC ignores it anyway).
        assert_eq!(verifier.verify(&endpoint(), packet), Ok(()));
    }
    assert_eq!(verifier.nb_windows(), 0);
    let mut strict = Verifier::new(VerifierConfig::group_mac(group_key()));
    assert!(matches!(
        strict.verify(&endpoint(), &packets[0]),
        Err(AuthError::BadLayout { .. })
    ));
}

#[test]
fn rsa_pss_packets_verify_and_other_keys_fail() {
    let packets = session_packets(Signer::rsa_pss(signing_key()), 150);
    let ext = ext_auth_of(&packets[0]);
    assert_eq!(ext.fields.len(), 256);
    let mut verifier = Verifier::new(VerifierConfig::rsa_pss(verifying_key()));
    for packet in &packets {
        assert_eq!(verifier.verify(&endpoint(), packet), Ok(()));
    }
    let other =
        VerifyingKey::from_public_key_pem(include_str!("testdata/other-verify-2048.pem")).unwrap();
    let mut verifier = Verifier::new(VerifierConfig::rsa_pss(other));
    assert_eq!(
        verifier.verify(&endpoint(), &packets[0]),
        Err(AuthError::BadSignature)
    );
    let mut forged = packets[1].clone();
    let last = forged.len() - 1;
    forged[last] ^= 0x80;
    let mut verifier = Verifier::new(VerifierConfig::rsa_pss(verifying_key()));
    assert_eq!(
        verifier.verify(&endpoint(), &forged),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn combined_scheme_checks_the_mac_before_the_signature() {
    let group = || group_key().with_mac_bits(32).unwrap();
    let packets = session_packets(Signer::combined(signing_key(), group()), 150);
    let ext = ext_auth_of(&packets[0]);
    assert_eq!(ext.fields.len(), 256 + 4);
    let config = VerifierConfig::combined(verifying_key(), group());
    let mut verifier = Verifier::new(config.clone());
    for packet in &packets {
        assert_eq!(verifier.verify(&endpoint(), packet), Ok(()));
    }
    // An outsider's forgery stops at the MAC.
    let mut forged = packets[0].clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let mut verifier = Verifier::new(config.clone());
    assert_eq!(
        verifier.verify(&endpoint(), &forged),
        Err(AuthError::BadMac)
    );
    // A group member who signs nothing but computes the MAC still fails the signature.
    let member = Signer::group_mac(group());
    let member_packets = session_packets(member, 150);
    let mut verifier = Verifier::new(config);
    assert!(matches!(
        verifier.verify(&endpoint(), &member_packets[0]),
        Err(AuthError::BadLayout { .. })
    ));
    assert!(
        Signer::combined(signing_key(), group())
            .with_anti_replay(false)
            .is_err()
    );
}

#[test]
fn windows_are_bounded() {
    let packets = session_packets(Signer::group_mac(group_key()), 10);
    let mut verifier = Verifier::new(VerifierConfig::group_mac(group_key()).with_max_windows(2));
    for port in 1..=5 {
        let endpoint = UdpEndpoint::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)), port);
        assert_eq!(verifier.verify(&endpoint, &packets[0]), Ok(()));
        assert!(verifier.nb_windows() <= 2);
    }
}

#[test]
fn a_signer_needs_its_placeholder_and_comes_before_the_first_packet() {
    let signer = Signer::group_mac(group_key());
    let mut bare = Sender::new(
        endpoint(),
        7,
        Oti {
            fec_encoding_id: FecEncodingId::NoCode,
            fec_instance_id: 0,
            transfer_length: 0,
            encoding_symbol_length: 100,
            maximum_source_block_length: 8,
            max_number_of_encoding_symbols: 8,
            scheme_specific: SchemeSpecific::None,
        },
        Config::default(),
    )
    .unwrap();
    let mut close = bare.read_close_session();
    assert_eq!(signer.sign(&mut close), Err(SignError::NoPlaceholder));
    // Too late once a packet was written.
    let mut buf = vec![0u8; bare.max_packet_len()];
    let _ = bare.try_write_next(&mut buf, SystemTime::UNIX_EPOCH);
    assert!(bare.set_signer(Signer::group_mac(group_key())).is_err());
    assert_eq!(signer.packets_signed(), 0);
}

#[test]
fn verifier_config_equality_follows_the_keys() {
    let a = VerifierConfig::group_mac(group_key());
    assert_eq!(a, VerifierConfig::group_mac(group_key()));
    assert_ne!(
        a,
        VerifierConfig::group_mac(GroupKey::new(&[1; 32]).unwrap())
    );
    assert_ne!(a, a.clone().with_asid(3).unwrap());
    assert!(a.clone().with_asid(16).is_err());
    assert_eq!(a.ext_len_bytes(), 8 + 16);
}

#[test]
fn the_last_sequence_number_is_used_once_then_signing_stops() {
    let signer = Signer::group_mac(group_key());
    signer.skip_to(ExtAuth::SEQUENCE_NUMBER_MAX - 2);
    let packets = session_packets_with(&signer, 2);
    assert_eq!(packets.len(), 2);
    assert_eq!(
        ext_auth_of(&packets[1]).sequence_number,
        Some(ExtAuth::SEQUENCE_NUMBER_MAX)
    );
    let mut more = packets[0].clone();
    assert_eq!(
        signer.sign(&mut more),
        Err(SignError::SequenceNumbersExhausted)
    );
}

/// The first `n` packets `signer` signs, re-signing one packet template.
fn session_packets_with(signer: &Signer, n: usize) -> Vec<Vec<u8>> {
    let template = session_packets(Signer::group_mac(group_key()), 10).remove(0);
    (0..n)
        .map(|_| {
            let mut packet = template.clone();
            signer.sign(&mut packet).unwrap();
            packet
        })
        .collect()
}

/// `check` (on any thread) then `admit` says what `verify` says, packet for packet: genuine
/// packets once, their replays, tampered packets (which never move the window), packets
/// without EXT_AUTH, and the same for the combined scheme.
#[test]
fn check_then_admit_agrees_with_verify() {
    let group = || VerifierConfig::group_mac(group_key());
    let combined = || VerifierConfig::combined(verifying_key(), group_key());
    for (config, signer, len) in [
        (group(), Signer::group_mac(group_key()), 2000),
        (
            combined(),
            Signer::combined(signing_key(), group_key().with_mac_bits(32).unwrap()),
            300,
        ),
    ] {
        let genuine = session_packets(signer, len);
        let mut sequence: Vec<Vec<u8>> = Vec::new();
        for (i, p) in genuine.iter().enumerate() {
            let mut tampered = p.clone();
            let last = tampered.len() - 1;
            tampered[last] ^= 1;
            sequence.push(tampered);
            sequence.push(p.clone());
            if i % 3 == 0 {
                sequence.push(p.clone());
            }
        }
        // EXT_AUTH of another ASID only: unauthenticated for this receiver.
        let other_asid = Signer::group_mac(group_key()).with_asid(2).unwrap();
        sequence.extend(session_packets_with(&other_asid, 5));
        let mut one = Verifier::new(config.clone());
        let mut two = Verifier::new(config.clone());
        let mut refused = 0;
        for p in &sequence {
            let verified = one.verify(&endpoint(), p);
            let checked = config.check(p);
            assert_eq!(two.admit(&endpoint(), &checked), verified);
            refused += usize::from(verified.is_err());
        }
        assert!(refused > genuine.len(), "{refused} refused");
        assert_eq!(one.nb_windows(), two.nb_windows());
    }
}
