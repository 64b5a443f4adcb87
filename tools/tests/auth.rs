//! RFC 6584 packet authentication on the wire (root, two network namespaces): `xflute send
//! --auth-*` reaches `xflute recv --auth-*` over UDP while two forgers flood the same group and
//! TSI with sessions of the same file names and other bytes, one without EXT_AUTH (valid headers,
//! nothing to check) and one with the wrong key. With the group MAC the forgeries are captured
//! once (`send --pcap-out`) and replayed in a loop by tcpreplay at top speed, as fast as the
//! veth pair takes them: the forgeries are most of what arrives and, when they outrun the
//! receiver, the kernel drops genuine packets too and the carousel repeats them. Every file
//! arrives intact, the receiver
//! exits 0, and its summary counts the forged packets it refused; a receiver without the key
//! would have taken the forgers' files.

#[path = "common/cli.rs"]
mod cli;

use cli::{Proc, all_received, json_field, make_files, s};
use std::path::{Path, PathBuf};
use std::time::Duration;
use xflute_tests::TempDir;
use xflute_tests::netns::{NetnsPair, PairConfig, Side};

const GROUP: &str = "239.7.7.9:3400";

fn testdata(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../engine/src/auth/testdata")
        .join(name)
        .display()
        .to_string()
}

/// `send` of `files` to the group, TSI 5, as a carousel for `run`, at `rate` (unpaced when
/// `None`), with `auth`.
fn sender(
    pair: &NetnsPair,
    files: &[(PathBuf, [u8; 32])],
    rate: Option<&str>,
    run: &str,
    auth: &[String],
    log: &Path,
) -> Proc {
    let mut args = s(&[
        "send",
        "--backend",
        "udp",
        "--iface",
        &pair.sender.interface,
        "--dest",
        GROUP,
        "--tsi",
        "5",
        "--carousel",
        run,
    ]);
    if let Some(rate) = rate {
        args.extend(s(&["--rate", rate]));
    }
    args.extend(auth.iter().cloned());
    args.extend(files.iter().map(|(p, _)| p.display().to_string()));
    Proc::spawn(pair, Side::Sender, &args, log)
}

/// Forged sessions of `files`, one per `(auth, name)` (`send` with `auth`), each captured once,
/// then replayed in turn, in a loop, at top speed by one tcpreplay from the sender's namespace
/// until dropped: every kind arrives within each round, whichever the link favours.
fn replay(
    pair: &NetnsPair,
    dir: &Path,
    files: &[(PathBuf, [u8; 32])],
    forgeries: &[(&[String], &str)],
) -> Proc {
    let mut captures = Vec::new();
    for (auth, name) in forgeries {
        let capture = dir.join(format!("forged-{name}.pcap"));
        let mut args = s(&[
            "send",
            "--pcap-out",
            capture.to_str().unwrap(),
            "--dest",
            GROUP,
            "--source",
            &pair.sender.ipv4.to_string(),
            "--tsi",
            "5",
        ]);
        args.extend(auth.iter().cloned());
        args.extend(files.iter().map(|(p, _)| p.display().to_string()));
        let out = std::process::Command::new(cli::BIN)
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        captures.push(capture.to_str().unwrap().to_owned());
    }
    let mut args = s(&[
        "--intf1",
        &pair.sender.interface,
        "--topspeed",
        "--loop=0",
        "--quiet",
    ]);
    args.extend(captures);
    Proc::spawn_command(
        pair,
        Side::Sender,
        "tcpreplay",
        &args,
        &dir.join("forgers.log"),
    )
}

/// The genuine session, `send` with `send_auth` and `recv` with `recv_auth`, under a flood of
/// forgeries sent at `flood_rate` each (unpaced when `None`).
fn delivered_intact_under_a_flood(
    name: &str,
    sizes: &[usize],
    send_auth: &[String],
    recv_auth: &[String],
    flood_rate: Option<&str>,
) {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new(name);
    let files = make_files(&dir.0.join("in"), sizes, 11);
    // The forgers' files: the same names, other bytes.
    let forged = make_files(&dir.0.join("forged"), sizes, 12);
    let wrong_key = dir.0.join("wrong.key");
    std::fs::write(&wrong_key, [0x5Au8; 32]).unwrap();
    let out = dir.0.join("out");

    let mut args = s(&[
        "recv",
        "--backend",
        "udp",
        "--iface",
        &pair.receiver.interface,
        "--group",
        GROUP,
        "--out",
        out.to_str().unwrap(),
        "--count",
        &files.len().to_string(),
        "--timeout",
        "60s",
        "--json",
    ]);
    args.extend(recv_auth.iter().cloned());
    let mut recv = Proc::spawn(&pair, Side::Receiver, &args, &dir.0.join("recv.log"));
    std::thread::sleep(Duration::from_millis(500));

    // The forgers start first and outlast the genuine sender.
    let wrong_auth = s(&["--auth-hmac-key", wrong_key.to_str().unwrap()]);
    let forgers: Vec<Proc> = match flood_rate {
        Some(rate) => vec![
            sender(
                &pair,
                &forged,
                Some(rate),
                "90s",
                &[],
                &dir.0.join("forger-plain.log"),
            ),
            sender(
                &pair,
                &forged,
                Some(rate),
                "90s",
                &wrong_auth,
                &dir.0.join("forger-key.log"),
            ),
        ],
        None => vec![replay(
            &pair,
            &dir.0,
            &forged,
            &[(&[], "plain"), (&wrong_auth, "key")],
        )],
    };
    std::thread::sleep(Duration::from_millis(500));
    let genuine = sender(
        &pair,
        &files,
        Some("40M"),
        "60s",
        send_auth,
        &dir.0.join("send.log"),
    );

    let status = recv.wait_for(Duration::from_secs(70));
    let log = recv.output();
    let context = format!(
        "recv:\n{log}\nsend:\n{}\nforgers (no EXT_AUTH, wrong key):\n{}",
        genuine.output(),
        forgers
            .iter()
            .map(Proc::output)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    drop((genuine, forgers));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{context}");
    assert!(all_received(&files, &out), "a file differs\n{context}");
    assert_eq!(
        json_field(&log, "completed"),
        Some(files.len() as u64),
        "{context}"
    );
    assert_eq!(json_field(&log, "incomplete"), Some(0), "{context}");
    let missing = json_field(&log, "auth_missing").unwrap_or(0);
    let failed = json_field(&log, "auth_failed").unwrap_or(0);
    let replayed = json_field(&log, "auth_replayed").unwrap_or(0);
    let kernel = json_field(&log, "kernel").unwrap_or(0);
    eprintln!(
        "{name}: refused {missing} without EXT_AUTH, {failed} badly authenticated, {replayed} \
         replayed; {kernel} dropped by the kernel"
    );
    if flood_rate.is_none() {
        // At full speed the forgeries are most of what arrives; what outruns the receiver the
        // kernel drops (counted above), though a receiver that keeps up drops nothing.
        let frames = json_field(&log, "frames").unwrap_or(0);
        assert!(
            missing + failed + replayed > frames / 2,
            "not a flood: {frames} frames\n{context}"
        );
    }
    assert!(
        missing > 100,
        "forgeries without EXT_AUTH counted: {missing}\n{context}"
    );
    assert!(
        failed + replayed > 100,
        "forgeries with the wrong key counted: {failed} failed, {replayed} replayed\n{context}"
    );
    // No object of the forgers was ever started: their packets never reached a session.
    assert!(!log.contains("\"event\":\"failed\""), "{context}");
    pair.close();
}

#[test]
fn group_mac_session_is_delivered_intact_under_a_flood_of_forged_packets() {
    let key = s(&["--auth-hmac-key", &testdata("group.key")]);
    delivered_intact_under_a_flood(
        "auth-mac-flood",
        &[4_000_000, 60_000, 1_000],
        &key,
        &key,
        None,
    );
}

#[test]
fn signed_session_is_delivered_intact_under_a_flood_of_forged_packets() {
    // Each signature costs a few milliseconds of the sender's CPU: smaller files.
    delivered_intact_under_a_flood(
        "auth-rsa-flood",
        &[60_000, 6_000, 100],
        // A 2048-bit signature takes 264 bytes of each packet: smaller symbols fit the MTU.
        &s(&[
            "--auth-sign-key",
            &testdata("sign-2048.pem"),
            "--symbol-len",
            "1100",
        ]),
        &s(&["--auth-verify-key", &testdata("verify-2048.pem")]),
        // Each forged signature costs the receiver an RSA verification (RFC 6584 §7.1):
        // a paced flood (docs/robustness.md, "A flood against signatures alone").
        Some("150M"),
    );
}

#[test]
fn recv_refuses_a_key_it_cannot_use_with_one_line_and_exit_2() {
    let dir = TempDir::new("auth-bad-key");
    let short = dir.0.join("short.key");
    std::fs::write(&short, b"0011").unwrap();
    for (flag, file) in [
        ("--auth-hmac-key", short.display().to_string()),
        ("--auth-verify-key", testdata("sign-2048.pem")),
        ("--auth-hmac-key", "/nonexistent/key".to_owned()),
    ] {
        let out = std::process::Command::new(cli::BIN)
            .args(["recv", "--group", GROUP, "--backend", "udp", "--out"])
            .arg(dir.0.join("out"))
            .args([flag, &file])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {file}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with(&format!("xflute: {flag}")), "{stderr}");
    }
    let out = std::process::Command::new(cli::BIN)
        .args(["send", "--pcap-out"])
        .arg(dir.0.join("x.pcap"))
        .args([
            "--auth-sign-key",
            &testdata("verify-2048.pem"),
            "/etc/hostname",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("xflute: --auth-sign-key"), "{stderr}");
}
