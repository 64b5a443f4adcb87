//! RFC 6584 EXT_AUTH parsing and packet verification on arbitrary bytes: a selector byte picks
//! the receiver's scheme (group MAC or RSASSA-PSS or both, with or without anti-replay, with
//! the test keys of `engine/src/auth/testdata`), the rest is the packet. Never a panic; an
//! EXT_AUTH that parses re-emits to the same fields; a packet that verifies with anti-replay is
//! refused as a replay the second time, and no refused packet moves the window (the genuine
//! packet after a refused one still verifies when it did before). `check` then `admit` gives
//! `verify`'s verdicts.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use xflute::auth::{AuthError, GroupKey, Verifier, VerifierConfig, VerifyingKey};
use xflute::endpoint::UdpEndpoint;
use xflute::wire::{AlcPacket, ExtAuth, het};

fn configs() -> &'static [VerifierConfig; 6] {
    static CONFIGS: OnceLock<[VerifierConfig; 6]> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let group = GroupKey::from_file_contents(include_bytes!(
            "../../engine/src/auth/testdata/group.key"
        ))
        .expect("test group key");
        let rsa = VerifyingKey::from_public_key_pem(include_str!(
            "../../engine/src/auth/testdata/verify-2048.pem"
        ))
        .expect("test public key");
        let short = group.clone().with_mac_bits(32).expect("32-bit MAC");
        let mac = VerifierConfig::group_mac(group.clone());
        let rsa_only = VerifierConfig::rsa_pss(rsa.clone());
        [
            mac.clone(),
            mac.with_anti_replay(false).expect("no anti-replay"),
            rsa_only.clone(),
            rsa_only.with_anti_replay(false).expect("no anti-replay"),
            VerifierConfig::combined(rsa, short),
            VerifierConfig::group_mac(group)
                .with_asid(15)
                .expect("ASID 15"),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, packet)) = data.split_first() else {
        return;
    };
    let configs = configs();
    let config = &configs[usize::from(selector) % configs.len()];
    let endpoint = UdpEndpoint::new([239, 255, 0, 1].into(), 3400);

    // Every EXT_AUTH in the packet: parse, re-emit, same bytes.
    if let Ok(alc) = AlcPacket::parse(packet) {
        for raw in alc.extensions().flatten() {
            if raw.het != het::EXT_AUTH {
                continue;
            }
            if let Ok(ext) = ExtAuth::parse(raw.raw) {
                // Re-emitted, the same length and fields; the reserved bits, and the 8-bit SN
                // without anti-replay, are written as zero (RFC 6584 §3.1: ignored on receipt).
                let mut out = vec![0u8; ext.buffer_len()];
                assert_eq!(ext.emit(&mut out), Ok(raw.raw.len()));
                assert_eq!(ExtAuth::parse(&out), Ok(ext));
            }
        }
    }

    let mut verifier = Verifier::new(config.clone());
    let first = verifier.verify(&endpoint, packet);
    let second = verifier.verify(&endpoint, packet);
    match (&first, &second) {
        (Ok(()), Err(AuthError::Replayed { .. })) => {}
        // Without anti-replay the same packet verifies again.
        (Ok(()), Ok(())) => assert_eq!(verifier.nb_windows(), 0),
        (Ok(()), Err(e)) => panic!("verified once, then {e:?}"),
        // A refused packet recorded nothing: refused again for the same reason.
        (Err(a), b) => assert_eq!(*b, Err(*a)),
    }

    // Checked on another thread, admitted by the receiver's: the same verdicts.
    let mut admitting = Verifier::new(config.clone());
    let checked = config.check(packet);
    assert_eq!(admitting.admit(&endpoint, &checked), first);
    assert_eq!(admitting.admit(&endpoint, &checked), second);
});
