//! DVB-MABR bootstrap with GPAC (`../shared/tools/gpac/gpac`), on UDP between two network
//! namespaces (needs root, as CI runs): receivers start from the multicast gateway
//! configuration alone (ETSI TS 103 769), never from the address of a data session.
//!
//! - GPAC's `mabr://` sender → `xflute recv --bootstrap`: plain files (one in a
//!   subdirectory) and a DASH session made by GPAC's own dasher, every file compared byte for
//!   byte with what GPAC sent.
//! - `xflute send --bootstrap` → GPAC's `mabr://` receiver, which finds xflute's session from
//!   xflute's configuration and stores every file intact.

#[path = "common/cli.rs"]
mod cli;
mod common;
#[path = "common/gpac.rs"]
mod gpac;

use cli::{Proc, make_files, s, sha256};
use common::{TempDir, wait_for};
use gpac::Gpac;
use std::path::{Path, PathBuf};
use std::time::Duration;
use xflute_tests::netns::{NetnsPair, Side};

/// Every regular file below `dir`, as (path relative to `dir`, SHA-256).
fn tree(dir: &Path) -> Vec<(PathBuf, [u8; 32])> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, [u8; 32])>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if let Some(digest) = sha256(&path) {
                out.push((path.strip_prefix(root).unwrap().to_owned(), digest));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Whether every file of `sent` (name, SHA-256) is below `out` with those bytes, found by its
/// path relative to `out` ending in the sent name (a receiver may put it in directories of
/// its own, such as GPAC's `service1/` or a URI's authority).
fn all_below(sent: &[(PathBuf, [u8; 32])], out: &Path) -> bool {
    let got = tree(out);
    sent.iter().all(|(name, digest)| {
        got.iter()
            .any(|(path, d)| path.ends_with(name) && d == digest)
    })
}

/// What each of `sent` is missing or differs in, for a failure message.
fn missing(sent: &[(PathBuf, [u8; 32])], out: &Path) -> Vec<String> {
    let got = tree(out);
    sent.iter()
        .filter(|(name, digest)| !got.iter().any(|(p, d)| p.ends_with(name) && d == digest))
        .map(|(name, _)| name.display().to_string())
        .chain(std::iter::once(format!("received: {got:?}")))
        .collect()
}

/// `xflute recv --bootstrap` in the receiving namespace.
fn recv_from_bootstrap(pair: &NetnsPair, bootstrap: &str, out: &Path, log: &Path) -> Proc {
    recv_from_bootstrap_with(pair, bootstrap, out, log, &[])
}

/// [`recv_from_bootstrap`] with more options.
fn recv_from_bootstrap_with(
    pair: &NetnsPair,
    bootstrap: &str,
    out: &Path,
    log: &Path,
    extra: &[&str],
) -> Proc {
    let mut args = s(&[
        "recv",
        "--bootstrap",
        bootstrap,
        "--backend",
        "udp",
        "--iface",
        &pair.receiver.interface,
        "--out",
        out.to_str().unwrap(),
        "--timeout",
        "25s",
    ]);
    args.extend(s(extra));
    Proc::spawn(pair, Side::Receiver, &args, log)
}

/// Waits until the receiving namespace has joined `group` (`recv --bootstrap` listens).
fn wait_joined(pair: &NetnsPair, group: &str) {
    let iface = &pair.receiver.interface;
    let joined = wait_for(Duration::from_secs(10), || {
        let out = pair.exec(Side::Receiver, &["ip", "maddr", "show", "dev", iface]);
        String::from_utf8_lossy(&out.stdout).contains(group)
    });
    assert!(joined, "the receiver never joined {group}");
}

#[test]
fn gpac_files_reach_xflute_from_the_gateway_configuration_alone() {
    let tmp = TempDir::new("gpac-bootstrap-files");
    let pair = NetnsPair::new();
    let src = tmp.path().join("src");
    let files = make_files(&src, &[700_000, 1], 20);
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("sub/c.txt"), b"in a subdirectory\n").unwrap();
    let out = tmp.path().join("out");
    let mut recv =
        recv_from_bootstrap(&pair, "239.20.0.1:5000", &out, &tmp.path().join("recv.log"));
    wait_joined(&pair, "239.20.0.1");
    let mut args = Vec::new();
    for (path, _) in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        args.extend([
            "-i".to_owned(),
            format!("{}:#MCASTName={name}", path.display()),
        ]);
    }
    args.extend([
        "-i".to_owned(),
        format!("{}:#MCASTName=sub/c.txt", src.join("sub/c.txt").display()),
        "-o".to_owned(),
        "mabr://239.20.0.1:5000:runfor=12000".to_owned(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _gpac = Gpac::spawn(
        Some(&pair.sender.netns),
        &args,
        &tmp.path().join("gpac.log"),
    );
    let sent = tree(&src);
    let done = wait_for(Duration::from_secs(15), || all_below(&sent, &out));
    recv.interrupt();
    let log = recv.output();
    assert!(
        done,
        "missing from xflute: {:?}\n{log}",
        missing(&sent, &out)
    );
    // The data session is GPAC's PORT+1: only the configuration said so.
    assert!(
        log.contains("gateway configuration on 239.20.0.1:5000: receiving")
            && log.contains("239.20.0.1:5001"),
        "{log}"
    );
    assert_eq!(
        sha256(&out.join("sub/c.txt")),
        sha256(&src.join("sub/c.txt")),
        "{log}"
    );
}

#[test]
fn gpac_dash_session_reaches_xflute_from_the_gateway_configuration_alone() {
    let tmp = TempDir::new("gpac-bootstrap-dash");
    let pair = NetnsPair::new();
    // A short live-profile DASH session from GPAC's own generator and dasher: an MPD, an
    // initialisation segment and 1 s media segments.
    let dash = tmp.path().join("dash");
    let mpd = format!("{}:segdur=1", dash.join("live.mpd").display());
    let js = gpac::js_dirs_arg();
    let mut dasher = Gpac::spawn(
        None,
        &[&js, "avgen:type=a:dur=3", "-o", &mpd],
        &tmp.path().join("dasher.log"),
    );
    let status = dasher.wait_for(Duration::from_secs(20));
    assert!(status.is_some_and(|s| s.success()), "{}", dasher.output());
    let sent = tree(&dash);
    assert!(sent.len() >= 4, "the dasher made {sent:?}");
    let out = tmp.path().join("out");
    let mut recv = recv_from_bootstrap_with(
        &pair,
        "239.20.0.5:9000",
        &out,
        &tmp.path().join("recv.log"),
        &["--json"],
    );
    // The receiver listens before GPAC starts: the segments go out once, in real time.
    wait_joined(&pair, "239.20.0.5");
    let input = dash.join("live.mpd");
    let _gpac = Gpac::spawn(
        Some(&pair.sender.netns),
        &[
            "-i",
            input.to_str().unwrap(),
            "dashin:forward=file",
            "-o",
            "mabr://239.20.0.5:9000/",
        ],
        &tmp.path().join("gpac.log"),
    );
    let done = wait_for(Duration::from_secs(15), || all_below(&sent, &out));
    recv.interrupt();
    let log = recv.output();
    assert!(
        done,
        "missing from xflute: {:?}\n{log}",
        missing(&sent, &out)
    );
    // With --json, which sessions the configuration gave is one event: the bootstrap (where
    // GPAC puts the MPD and initialisation segment) and GPAC's media session on PORT+1.
    let event = log
        .lines()
        .find(|l| l.contains("\"event\":\"bootstrap\""))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        event.contains("\"destination\":\"239.20.0.5:9000\",\"source\":null,\"tsis\":[1]")
            && event.contains("\"destination\":\"239.20.0.5:9001\""),
        "{event}"
    );
}

#[test]
fn gpac_receives_xflute_files_from_xflute_gateway_configuration() {
    let tmp = TempDir::new("gpac-bootstrap-reverse");
    let pair = NetnsPair::new();
    let src = tmp.path().join("src");
    make_files(&src, &[2_000_000, 3000], 21);
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("sub/c.txt"), b"in a subdirectory\n").unwrap();
    let out = tmp.path().join("gpac-out");
    let gpac_in = format!("mabr://239.20.0.2:6000:odir={}", out.display());
    let gpac = Gpac::spawn(
        Some(&pair.receiver.netns),
        &["-i", &gpac_in],
        &tmp.path().join("gpac.log"),
    );
    let send = s(&[
        "send",
        src.to_str().unwrap(),
        "--profile",
        "dvb-mabr",
        "--dest",
        "239.20.0.2:6001",
        "--tsi",
        "5",
        "--bootstrap",
        "239.20.0.2:6000",
        "--backend",
        "udp",
        "--iface",
        &pair.sender.interface,
        "--rate",
        "50M",
        "--carousel",
        "20s",
    ]);
    let mut sender = Proc::spawn(&pair, Side::Sender, &send, &tmp.path().join("send.log"));
    let sent = tree(&src);
    let done = wait_for(Duration::from_secs(15), || all_below(&sent, &out));
    sender.interrupt();
    assert!(
        done,
        "missing from GPAC: {:?}\nsend: {}\ngpac: {}",
        missing(&sent, &out),
        sender.output(),
        gpac.output()
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The tree is kept: GPAC stores the service's files below a directory of its own.
    assert!(tree(&out).iter().any(|(p, _)| p.ends_with("sub/c.txt")));
}

#[test]
fn inspect_shows_the_gateway_configuration_send_bootstrap_publishes() {
    let tmp = TempDir::new("bootstrap-inspect");
    let src = tmp.path().join("src");
    make_files(&src, &[5000], 22);
    let pcap = tmp.path().join("s.pcap");
    let send = |dest: &str, extra: &[&str]| {
        let mut args = s(&[
            "send",
            src.to_str().unwrap(),
            "--pcap-out",
            pcap.to_str().unwrap(),
            "--dest",
            dest,
            "--bootstrap",
            "239.20.0.3:7000",
        ]);
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        common::xflute(&args)
    };
    // The session itself cannot be its own bootstrap.
    let (ok, _, err) = send("239.20.0.3:7000", &["--tsi", "1"]);
    assert!(!ok && err.contains("--bootstrap"), "{err}");
    let (ok, _, err) = send(
        "239.20.0.3:7001",
        &[
            "--tsi",
            "9",
            "--source",
            "198.18.0.1",
            "--repair-base",
            "http://repair.example/files/",
        ],
    );
    assert!(ok, "{err}");
    let (ok, out, err) = common::xflute(&["inspect", "--summary", pcap.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        out.contains("gateway configuration on 239.20.0.3:7000: 1 service(s)")
            && out.contains("configuration session: FLUTE 239.20.0.3:7000 tsi 1")
            && out.contains(
                "session: FLUTE 239.20.0.3:7001 tsi 9 from 198.18.0.1 repair http://repair.example/files/"
            ),
        "{out}"
    );
    let (ok, out, _) = common::xflute(&["inspect", "--summary", "--json", pcap.to_str().unwrap()]);
    assert!(ok);
    let event = out
        .lines()
        .find(|l| l.contains("\"event\":\"gateway_configuration\""))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(event.contains("\"port\":7001,\"tsi\":9"), "{event}");
    // The repair server the session announces, as recv --bootstrap would use it.
    assert!(
        event.contains("\"repair\":[\"http://repair.example/files/\"]"),
        "{event}"
    );
}

#[test]
fn serve_receives_what_serve_announces_on_its_bootstrap() {
    let tmp = TempDir::new("serve-bootstrap");
    let pair = NetnsPair::new();
    let outbox = tmp.path().join("outbox");
    make_files(&outbox, &[300_000, 10], 23);
    let inbox = tmp.path().join("inbox");
    let sending = tmp.path().join("send.toml");
    std::fs::write(
        &sending,
        format!(
            "[[send]]\nname = \"news\"\ndest = \"239.20.0.4:8001\"\ntsi = 7\niface = \"{}\"\n\
             backend = \"udp\"\nrate = \"50M\"\ncarousel = \"500ms\"\nwatch = [\"{}\"]\n\
             bootstrap = \"239.20.0.4:8000\"\n",
            pair.sender.interface,
            outbox.display()
        ),
    )
    .unwrap();
    let receiving = tmp.path().join("recv.toml");
    std::fs::write(
        &receiving,
        format!(
            "[[receive]]\nname = \"in\"\nbootstrap = \"239.20.0.4:8000\"\niface = \"{}\"\n\
             backend = \"udp\"\nout = \"{}\"\n",
            pair.receiver.interface,
            inbox.display()
        ),
    )
    .unwrap();
    let serve = |side, config: &Path, log: &str| {
        let args = s(&["serve", "--config", config.to_str().unwrap()]);
        Proc::spawn(&pair, side, &args, &tmp.path().join(log))
    };
    // The receiving service starts first, on the bootstrap alone: it joins the data session
    // once the sending service's configuration arrives.
    let mut receiver = serve(Side::Receiver, &receiving, "serve-recv.log");
    wait_joined(&pair, "239.20.0.4");
    let mut sender = serve(Side::Sender, &sending, "serve-send.log");
    let sent = tree(&outbox);
    // The configuration object is stored too, under its own name.
    let done = wait_for(Duration::from_secs(15), || all_below(&sent, &inbox));
    receiver.interrupt();
    sender.interrupt();
    assert!(
        done,
        "inbox {:?}\nreceiver: {}\nsender: {}",
        tree(&inbox),
        receiver.output(),
        sender.output()
    );
}

#[test]
fn recv_bootstrap_follows_a_configuration_that_changes() {
    let tmp = TempDir::new("bootstrap-follow");
    let pair = NetnsPair::new();
    let first = tmp.path().join("first");
    let second = tmp.path().join("second");
    make_files(&first, &[20_000], 24);
    std::fs::create_dir_all(&second).unwrap();
    std::fs::write(
        second.join("later.txt"),
        b"announced by a later configuration\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let mut recv =
        recv_from_bootstrap(&pair, "239.20.0.6:5000", &out, &tmp.path().join("recv.log"));
    wait_joined(&pair, "239.20.0.6");
    // One sender after the other on the same bootstrap: the second configuration lists a
    // session the first did not.
    for (dir, dest, tsi) in [
        (&first, "239.20.0.6:5001", "5"),
        (&second, "239.20.0.6:5002", "77"),
    ] {
        let args = s(&[
            "send",
            dir.to_str().unwrap(),
            "--dest",
            dest,
            "--tsi",
            tsi,
            "--bootstrap",
            "239.20.0.6:5000",
            "--backend",
            "udp",
            "--iface",
            &pair.sender.interface,
            "--rate",
            "20M",
            "--carousel",
            "2s",
        ]);
        let log = tmp.path().join(format!("send-{tsi}.log"));
        let mut sender = Proc::spawn(&pair, Side::Sender, &args, &log);
        let status = sender.wait_for(Duration::from_secs(15));
        assert!(status.is_some_and(|s| s.success()), "{}", sender.output());
    }
    let sent: Vec<_> = tree(&first).into_iter().chain(tree(&second)).collect();
    let done = wait_for(Duration::from_secs(5), || all_below(&sent, &out));
    recv.interrupt();
    let log = recv.output();
    assert!(done, "missing: {:?}\n{log}", missing(&sent, &out));
    assert!(
        log.contains("gateway configuration on 239.20.0.6:5000: receiving 239.20.0.6:5002 tsi 77"),
        "{log}"
    );
}
