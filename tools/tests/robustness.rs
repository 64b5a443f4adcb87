//! Crash safety and faults of `xflute recv` on the wire, between two network namespaces joined
//! by a veth pair (root, as CI runs): SIGKILL at random moments, the interface going down and up,
//! the XDP program detached underneath the receiver, a full output disk, and a sender restarted
//! with the same TSI. Each test removes what it made (processes, namespaces, mounts) also when it
//! fails. docs/robustness.md reports the outcomes.

#[path = "common/cli.rs"]
mod cli;

use cli::{Proc, all_received, json_field, part_files, s, sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use xflute_tests::TempDir;
use xflute_tests::data::SplitMix64 as Rng;
use xflute_tests::netns::{NetnsPair, PairConfig, Side};
use xflute_tests::wait::poll;

type Files = Vec<(PathBuf, [u8; 32])>;

fn send_args(pair: &NetnsPair, group: &str, tsi: u64, rate: &str, files: &Files) -> Vec<String> {
    let mut args = s(&[
        "send",
        "--backend",
        "xdp",
        "--iface",
        &pair.sender.interface,
        "--source",
        &pair.sender.ipv4.to_string(),
        "--dest",
        group,
        "--tsi",
        &tsi.to_string(),
        "--rate",
        rate,
        "--carousel",
        "300s",
    ]);
    args.extend(files.iter().map(|(p, _)| p.display().to_string()));
    args
}

fn recv_args(pair: &NetnsPair, group: &str, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = s(&[
        "recv",
        "--backend",
        "xdp",
        "--iface",
        &pair.receiver.interface,
        "--group",
        group,
        "--out",
        out.to_str().unwrap(),
    ]);
    args.extend(s(extra));
    args
}

/// Waits until `receiver` has attached its XDP program. The engine binds its sockets a few
/// milliseconds later; what it misses then comes round again in the sender's carousel.
fn wait_attached(receiver: &Proc) {
    assert!(
        poll(Duration::from_secs(10), || !cli::xdp_link_ids(
            receiver.pid()
        )
        .is_empty()),
        "the receiver never attached its XDP program: {}",
        receiver.output()
    );
}

/// Checks that every file under a final name below `out` is one of `files`, byte for byte;
/// returns (final names, `.part` files).
fn check_final_names(files: &Files, out: &Path, context: &str) -> (usize, usize) {
    let mut finals = 0;
    let mut parts = 0;
    for entry in std::fs::read_dir(out).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".part") {
            parts += 1;
            continue;
        }
        let (_, digest) = files
            .iter()
            .find(|(p, _)| p.file_name().unwrap().to_string_lossy() == name)
            .unwrap_or_else(|| panic!("{context}: unexpected file {name}"));
        assert_eq!(
            sha256(&entry.path()).as_ref(),
            Some(digest),
            "{context}: {name} is under its final name but differs from its source"
        );
        finals += 1;
    }
    (finals, parts)
}

#[test]
fn receiver_sigkilled_20_times_leaves_only_complete_files_under_final_names_and_a_restart_removes_parts_and_completes()
 {
    let seed = cli::seed();
    eprintln!("crash safety: seed {seed} (XFLUTE_SEED={seed} replays the kill times)");
    let mut rng = Rng::new(seed);
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new("crash");
    let sizes = [
        6 << 20,
        3 << 20,
        2 << 20,
        1 << 20,
        700_000,
        300_000,
        50_000,
        1,
    ];
    let files = cli::make_files(&dir.0.join("in"), &sizes, seed);
    let out = dir.0.join("out");
    let group = "239.9.8.1:3400";
    // 14 MiB at 100 Mbit/s: one pass of the carousel takes about 1.2 s, and a restarted
    // receiver waits up to a second for the FDT, so kills land before, during and after files
    // are written.
    let mut sender = Proc::spawn(
        &pair,
        Side::Sender,
        &send_args(&pair, group, 1, "100M", &files),
        &dir.0.join("send.log"),
    );
    let (mut with_parts, mut with_finals) = (0, 0);
    for kill in 0..20 {
        let mut receiver = Proc::spawn(
            &pair,
            Side::Receiver,
            // With a spool: the 6 MiB object is written into a piece reserved at start, an
            // unnamed file that a kill must not leave behind under any name.
            &recv_args(&pair, group, &out, &["--timeout", "60s", "--spool", "8M"]),
            &dir.0.join("recv.log"),
        );
        // A kill at a random moment is the point of the test: no condition to wait for.
        let after_ms = rng.range(100, 1800);
        std::thread::sleep(Duration::from_millis(after_ms));
        receiver.signal("KILL");
        let status = receiver
            .wait_for(Duration::from_secs(5))
            .unwrap_or_else(|| panic!("seed {seed}: kill {kill}: the receiver survived SIGKILL"));
        let context = format!(
            "seed {seed}: kill {kill} after {after_ms} ms ({status}): {}",
            receiver.output()
        );
        let (finals, parts) = check_final_names(&files, &out, &context);
        eprintln!("kill {kill:2} after {after_ms:4} ms: {finals} final, {parts} .part");
        with_parts += usize::from(parts > 0);
        with_finals += usize::from(finals > 0);
    }
    eprintln!("{with_parts} of 20 kills left .part files, {with_finals} left complete files");
    assert!(
        with_parts > 0,
        "seed {seed}: no kill landed while a file was being written"
    );
    // A kill that lands mid-object leaves its .part; make sure the restart has one to clean.
    // (A temporary file has the sink's form of name; a user's `x.part` is left alone.)
    let stale = ".file-000.bin.xflute-1-1-00000000deadbeef.part";
    if part_files(&out).is_empty() {
        std::fs::write(out.join(stale), b"left by a killed receiver").unwrap();
    }
    let mut receiver = Proc::spawn(
        &pair,
        Side::Receiver,
        &recv_args(
            &pair,
            group,
            &out,
            &[
                "--count",
                &files.len().to_string(),
                "--timeout",
                "30s",
                "--spool",
                "8M",
            ],
        ),
        &dir.0.join("recv-final.log"),
    );
    // The restarted receiver removes the stale .part files before it takes a packet.
    assert!(
        poll(Duration::from_secs(10), || {
            part_files(&out).iter().all(|p| p != stale) || out.join("file-000.bin").exists()
        }),
        "seed {seed}: the stale .part was not removed"
    );
    let status = receiver.wait_for(Duration::from_secs(40));
    let log = receiver.output();
    assert!(
        status.is_some_and(|s| s.success()),
        "seed {seed}: the restarted receiver did not complete: {status:?}\n{log}"
    );
    assert!(all_received(&files, &out), "seed {seed}: {log}");
    assert!(
        part_files(&out).is_empty(),
        "seed {seed}: .part left: {log}"
    );
    sender.interrupt();
    pair.close();
}

#[test]
fn receiver_interface_down_for_2s_then_up_mid_carousel_keeps_running_and_completes_every_file() {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new("ifdown");
    let files = cli::make_files(&dir.0.join("in"), &[24 << 20, 2 << 20, 1 << 20, 500_000], 7);
    let out = dir.0.join("out");
    let group = "239.9.8.2:3400";
    let mut receiver = Proc::spawn(
        &pair,
        Side::Receiver,
        &recv_args(
            &pair,
            group,
            &out,
            &[
                "--count",
                &files.len().to_string(),
                "--timeout",
                "60s",
                "--json",
            ],
        ),
        &dir.0.join("recv.log"),
    );
    wait_attached(&receiver);
    // 28 MiB at 100 Mbit/s: 2.3 s a pass; the link goes down while the large file is written.
    let mut sender = Proc::spawn(
        &pair,
        Side::Sender,
        &send_args(&pair, group, 1, "100M", &files),
        &dir.0.join("send.log"),
    );
    assert!(
        poll(Duration::from_secs(20), || cli::receiving(
            &out,
            "file-000.bin"
        )),
        "the transfer never started: {}",
        receiver.output()
    );
    // Into the large file rather than at its first packet: the link goes down mid-object.
    std::thread::sleep(Duration::from_millis(300));
    let netns = pair.receiver.netns.clone();
    let iface = pair.receiver.interface.clone();
    cli::ip(&["-n", &netns, "link", "set", "dev", &iface, "down"]);
    // The outage itself: two seconds with the interface down.
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        receiver.wait_for(Duration::ZERO).is_none(),
        "the receiver ended while its interface was down: {}",
        receiver.output()
    );
    cli::ip(&["-n", &netns, "link", "set", "dev", &iface, "up"]);
    let status = receiver.wait_for(Duration::from_secs(60));
    if status.is_none() {
        // Its summary line says what it got.
        receiver.interrupt();
    }
    let log = receiver.output();
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}\n{log}\nsender:\n{}",
        sender.output()
    );
    assert!(all_received(&files, &out), "{log}");
    sender.interrupt();
    pair.close();
}

/// A tmpfs mounted for the length of a test, unmounted when dropped (also on a panic).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Self {
        std::fs::create_dir_all(path).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mounting a tmpfs on {} failed", path.display());
        Self(path.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a process that still has a file open there cannot keep the mount alive.
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn output_disk_full_fails_the_object_that_does_not_fit_without_sigbus_and_the_others_complete() {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new("diskfull");
    let files = cli::make_files(
        &dir.0.join("in"),
        &[1 << 20, 12 << 20, 1 << 20, 1 << 20],
        11,
    );
    let out = dir.0.join("out");
    let disk = Tmpfs::mount(&out, "8m");
    let group = "239.9.8.3:3400";
    let mut receiver = Proc::spawn(
        &pair,
        Side::Receiver,
        &recv_args(
            &pair,
            group,
            &out,
            &["--count", "3", "--timeout", "60s", "--json"],
        ),
        &dir.0.join("recv.log"),
    );
    wait_attached(&receiver);
    let mut sender = Proc::spawn(
        &pair,
        Side::Sender,
        &send_args(&pair, group, 1, "300M", &files),
        &dir.0.join("send.log"),
    );
    let status = receiver.wait_for(Duration::from_secs(60));
    if status.is_none() {
        // Its summary line says what it got.
        receiver.interrupt();
    }
    let log = receiver.output();
    sender.interrupt();
    let status = status.unwrap_or_else(|| panic!("the receiver is still running:\n{log}"));
    // Exit 1 (incomplete), not a signal (SIGBUS) and not a usage error.
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("the transfer is incomplete"), "{log}");
    let small: Files = files
        .iter()
        .filter(|(p, _)| !p.ends_with("file-001.bin"))
        .cloned()
        .collect();
    assert!(all_received(&small, &out), "{log}");
    let failed = log
        .lines()
        .find(|l| l.contains("\"event\":\"failed\"") && l.contains("file-001.bin"))
        .unwrap_or_else(|| panic!("no failed event for the large file:\n{log}"));
    eprintln!("disk full: {failed}");
    assert!(
        failed.contains("space"),
        "the failure does not say why: {failed}"
    );
    assert_eq!(json_field(&log, "incomplete"), Some(1), "{log}");
    assert!(!out.join("file-001.bin").exists());
    assert!(part_files(&out).is_empty(), "{log}");
    drop(disk);
    pair.close();
}

#[test]
fn sender_restarted_with_the_same_tsi_and_new_content_has_the_new_files_delivered() {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new("restart");
    let sizes = [300_000, 100_000, 5_000];
    // Same names, same sizes, other bytes: only the content (and its MD5) tells them apart.
    let first = cli::make_files(&dir.0.join("in-1"), &sizes, 1);
    let second = cli::make_files(&dir.0.join("in-2"), &sizes, 2);
    let out = dir.0.join("out");
    let group = "239.9.8.4:3400";
    let mut receiver = Proc::spawn(
        &pair,
        Side::Receiver,
        &recv_args(&pair, group, &out, &["--timeout", "60s", "--json"]),
        &dir.0.join("recv.log"),
    );
    wait_attached(&receiver);
    let mut sender = Proc::spawn(
        &pair,
        Side::Sender,
        &send_args(&pair, group, 7, "100M", &first),
        &dir.0.join("send-1.log"),
    );
    assert!(
        poll(Duration::from_secs(20), || all_received(&first, &out)),
        "the first sender's files never arrived: {}",
        receiver.output()
    );
    // Killed, as a crashed sender: no close-session flag tells the receiver the session ended.
    sender.signal("KILL");
    sender.wait_for(Duration::from_secs(5)).unwrap();
    // The FDT's Expires has a one-second resolution: restart in another second.
    std::thread::sleep(Duration::from_millis(1100));
    let mut sender = Proc::spawn(
        &pair,
        Side::Sender,
        &send_args(&pair, group, 7, "100M", &second),
        &dir.0.join("send-2.log"),
    );
    let delivered = poll(Duration::from_secs(20), || all_received(&second, &out));
    sender.interrupt();
    let status = receiver.interrupt();
    let log = receiver.output();
    assert!(
        delivered,
        "the restarted sender's files were not delivered:\n{log}"
    );
    assert!(status.success(), "{status}\n{log}");
    pair.close();
}

#[test]
fn xdp_program_detached_underneath_the_receiver_is_reattached_and_the_transfer_completes() {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new("detach");
    let files = cli::make_files(&dir.0.join("in"), &[24 << 20, 1 << 20, 500_000], 13);
    let out = dir.0.join("out");
    let group = "239.9.8.5:3400";
    let mut receiver = Proc::spawn(
        &pair,
        Side::Receiver,
        &recv_args(
            &pair,
            group,
            &out,
            &[
                "--count",
                &files.len().to_string(),
                "--timeout",
                "60s",
                "--json",
            ],
        ),
        &dir.0.join("recv.log"),
    );
    wait_attached(&receiver);
    let mut sender = Proc::spawn(
        &pair,
        Side::Sender,
        &send_args(&pair, group, 1, "100M", &files),
        &dir.0.join("send.log"),
    );
    assert!(
        poll(Duration::from_secs(20), || cli::receiving(
            &out,
            "file-000.bin"
        )),
        "the transfer never started: {}",
        receiver.output()
    );
    let netns = pair.receiver.netns.clone();
    let iface = pair.receiver.interface.clone();
    // The engine attaches through a BPF link, which the kernel protects from netlink: the usual
    // `ip link set dev IF xdp off` is refused (it would detach a program attached through
    // netlink, the fallback on kernels without XDP links).
    let ip_off = Command::new("ip")
        .args(["-n", &netns, "link", "set", "dev", &iface, "xdp", "off"])
        .output()
        .unwrap();
    if ip_off.status.success() {
        eprintln!("ip link set xdp off detached the program");
    } else {
        let err = String::from_utf8_lossy(&ip_off.stderr);
        assert!(err.contains("BPF XDP link"), "{err}");
        let links = cli::detach_xdp_links_of(receiver.pid());
        assert!(!links.is_empty(), "the receiver holds no XDP link");
        eprintln!("detached XDP link(s) {links:?} with BPF_LINK_DETACH");
    }
    // Within about a second the engine notices and attaches the program again.
    assert!(
        poll(Duration::from_secs(5), || pair
            .links(Side::Receiver)
            .contains(" xdp")),
        "the XDP program was not reattached: {}",
        receiver.output()
    );
    let status = receiver.wait_for(Duration::from_secs(60));
    if status.is_none() {
        // Its summary line says what it got.
        receiver.interrupt();
    }
    let log = receiver.output();
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}\n{log}\nsender:\n{}",
        sender.output()
    );
    assert!(all_received(&files, &out), "{log}");
    assert!(
        json_field(&log, "xdp_reattached").is_some_and(|n| n >= 1),
        "{log}"
    );
    sender.interrupt();
    pair.close();
}
