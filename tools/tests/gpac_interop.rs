//! FLUTE interop with GPAC (`../shared/tools/gpac/gpac`, see `common/gpac.rs`) both ways, on
//! UDP between two network namespaces (root), every file compared byte for byte:
//! - GPAC's DVB-MABR sender to `xflute recv` on the files session (PORT+1, without the gateway
//!   configuration on PORT): a 20 MiB file, small files, one in a subdirectory;
//! - `xflute send --profile dvb-mabr DIR` to GPAC's DVB-MABR receiver, FLUTE v2 and v1, and with
//!   TOIs past 16 bits: the same tree, each object in one source block (GPAC reads no block
//!   number), rebuilt by GPAC;
//! - the default profile's FDT to GPAC, with the small files of the tree;
//! - a capture written by `xflute send --pcap-out`, replayed into GPAC's receiver
//!   (`-netcap=src=...`), the same tree.

#[path = "common/cli.rs"]
mod cli;
mod common;
#[path = "common/gpac.rs"]
mod gpac;

use cli::{BIN, Proc, make_files, s, sha256, udp_command};
use gpac::Gpac;
use std::path::{Path, PathBuf};
use std::time::Duration;
use xflute_tests::TempDir;
use xflute_tests::netns::{NetnsPair, Side};

/// A tree to send: a 20 MiB file (unless `small_only`) and a small one at the top, two small
/// ones in `sub/`; each with its name below `root` and its SHA-256.
fn tree(root: &Path, seed: u64, small_only: bool) -> Vec<(String, [u8; 32])> {
    let mut files = Vec::new();
    let top: &[usize] = if small_only {
        &[3000]
    } else {
        &[20 << 20, 3000]
    };
    for (dir, sizes) in [("", top), ("sub", &[6, 1400 * 3 + 1][..])] {
        for (path, digest) in make_files(&root.join(dir), sizes, seed ^ dir.len() as u64) {
            let name = path
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            files.push((name, digest));
        }
    }
    files
}

/// The names of `files` that are not below `out` with their content.
fn missing(files: &[(String, [u8; 32])], out: &Path) -> Vec<String> {
    files
        .iter()
        .filter(|(name, digest)| sha256(&out.join(name)).as_ref() != Some(digest))
        .map(|(name, _)| name.clone())
        .collect()
}

/// Polls until every file of `files` is below `out`, or `limit` passes.
fn wait_received(files: &[(String, [u8; 32])], out: &Path, limit: Duration) -> Vec<String> {
    let mut left = missing(files, out);
    common::wait_for(limit, || {
        left = missing(files, out);
        left.is_empty()
    });
    left
}

#[test]
fn gpac_dvb_mabr_files_arrive_intact_in_xflute_on_the_files_session() {
    let pair = NetnsPair::new();
    let tmp = TempDir::new("gpac-to-xflute");
    let src = tmp.path().join("src");
    let out = tmp.path().join("out");
    let files = tree(&src, 0x6770_6163, false);
    let recv_log = tmp.path().join("recv.log");
    let mut recv_args = udp_command(&pair, Side::Receiver, "recv");
    recv_args.extend(s(&[
        "--group",
        "239.1.2.3:5001",
        "--out",
        out.to_str().unwrap(),
        "--count",
        &files.len().to_string(),
        "--timeout",
        "40s",
    ]));
    let mut recv = Proc::spawn(&pair, Side::Receiver, &recv_args, &recv_log);
    std::thread::sleep(Duration::from_millis(500));
    // Each file named by the path it has below `src`: GPAC sends it as the Content-Location.
    let mut args: Vec<String> = Vec::new();
    for (name, _) in &files {
        args.push("-i".into());
        args.push(format!("{}:#MCASTName={name}", src.join(name).display()));
    }
    args.extend(s(&["-o", "mabr://239.1.2.3:5000:runfor=15000"]));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let gpac_log = tmp.path().join("gpac.log");
    let sender = Gpac::spawn(Some(&pair.sender.netns), &args, &gpac_log);
    let status = recv.wait_for(Duration::from_secs(45));
    let left = missing(&files, &out);
    assert!(
        left.is_empty() && status.is_some_and(|s| s.success()),
        "not received from GPAC: {left:?} (recv {status:?})\nrecv:\n{}\ngpac:\n{}",
        recv.output(),
        sender.output()
    );
}

/// `xflute send --profile PROFILE` with `extra` options sends the tree to GPAC's receiver,
/// which stores it below `OUT/service0/` and `below` (the default profile's `file:///`
/// Content-Locations are paths for GPAC).
fn xflute_tree_reaches_gpac(name: &str, port: u16, profile: &str, extra: &[&str], below: &str) {
    let pair = NetnsPair::new();
    let tmp = TempDir::new(name);
    let src = tmp.path().join("src");
    let out = tmp.path().join("out");
    // GPAC reads no source block number: only the dvb-mabr profile sends a 20 MiB object in
    // one block.
    let files = tree(&src, 0x7866 + u64::from(port), profile != "dvb-mabr");
    std::fs::create_dir_all(&out).unwrap();
    let group = format!("239.1.2.3:{port}");
    let gpac_log = tmp.path().join("gpac.log");
    let receiver = Gpac::spawn(
        Some(&pair.receiver.netns),
        &[
            "-i",
            &format!("mabr://{group}:odir={}:timeout=30000", out.display()),
        ],
        &gpac_log,
    );
    std::thread::sleep(Duration::from_millis(800));
    let mut args = udp_command(&pair, Side::Sender, "send");
    args.extend(s(&[
        "--dest",
        &group,
        "--profile",
        profile,
        "--rate",
        "200M",
        "--carousel",
        "20s",
    ]));
    args.extend(s(extra));
    args.push(src.display().to_string());
    let send_log = tmp.path().join("send.log");
    let _sender = Proc::spawn(&pair, Side::Sender, &args, &send_log);
    // GPAC writes the objects of the session it joined below service0/.
    let got = out.join("service0").join(below);
    let left = wait_received(&files, &got, Duration::from_secs(20));
    assert!(
        left.is_empty(),
        "not received by GPAC: {left:?}\nfound: {:?}\ngpac:\n{}",
        list(&got),
        receiver.output()
    );
}

fn list(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn xflute_dvb_mabr_tree_arrives_intact_in_gpac_flute_v2() {
    xflute_tree_reaches_gpac("xflute-to-gpac-v2", 6000, "dvb-mabr", &[], "");
}

#[test]
fn xflute_dvb_mabr_tree_arrives_intact_in_gpac_flute_v1() {
    xflute_tree_reaches_gpac(
        "xflute-to-gpac-v1",
        6010,
        "dvb-mabr",
        &["--flute-version", "1"],
        "",
    );
}

/// TOIs past 16 bits (serve starts at a random 32-bit TOI): the profile keeps TSI and TOI
/// both 32 bits wide, never the 16-bit TSI and 48-bit TOI GPAC refuses.
#[test]
fn xflute_dvb_mabr_tree_with_32_bit_tois_arrives_intact_in_gpac() {
    xflute_tree_reaches_gpac(
        "xflute-to-gpac-toi32",
        6040,
        "dvb-mabr",
        &["--toi-start", "305419896"],
        "",
    );
}

/// The default profile's FDT (FEC OTI on each File as well as on the instance) is one GPAC
/// takes: it divided by zero on an FDT with the OTI on the instance alone.
#[test]
fn xflute_default_profile_small_files_arrive_intact_in_gpac() {
    xflute_tree_reaches_gpac("xflute-to-gpac-default", 6020, "default", &[], "file:");
}

/// What xflute writes into a capture is what it sends: GPAC reads the capture back as packets
/// (its `-netcap` replay, not real time) and rebuilds the whole tree, the 20 MiB file included.
#[test]
fn xflute_dvb_mabr_capture_replayed_into_gpac_gives_the_tree() {
    let tmp = TempDir::new("xflute-capture-to-gpac");
    let src = tmp.path().join("src");
    let out = tmp.path().join("out");
    let capture = tmp.path().join("session.pcap");
    let files = tree(&src, 0x0078_660c, false);
    std::fs::create_dir_all(&out).unwrap();
    let sent = std::process::Command::new(BIN)
        .args(["send", "--pcap-out"])
        .arg(&capture)
        .args([
            "--dest",
            "239.1.2.3:6030",
            "--profile",
            "dvb-mabr",
            "--rate",
            "1G",
        ])
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let mut gpac = Gpac::spawn(
        None,
        &[
            &format!("-netcap=src={},nrt", capture.display()),
            "-i",
            &format!("mabr://239.1.2.3:6030:odir={}:timeout=5000", out.display()),
        ],
        &tmp.path().join("gpac.log"),
    );
    let status = gpac.wait_for(Duration::from_secs(30));
    let got = out.join("service0");
    let left = missing(&files, &got);
    assert!(
        left.is_empty(),
        "not rebuilt by GPAC from the capture: {left:?} (gpac {status:?})\nfound: {:?}\ngpac:\n{}",
        list(&got),
        gpac.output()
    );
}
