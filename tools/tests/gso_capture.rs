//! A capture taken on the sending host, as tcpdump takes one: `xflute send --backend udp`
//! hands the kernel GSO super-datagrams, which a packet socket on the sending veth records
//! unsegmented (UDP length far over the MTU); `recv --pcap` and `inspect` must split them back
//! into ALC packets and restore every file. With `send --no-gso` the capture holds one packet
//! per datagram. In a pair of network namespaces (root), the sending end with tx checksum
//! offload on, without which the kernel refuses UDP GSO.

#[path = "common/cli.rs"]
mod cli;

use cli::{Proc, all_received, make_files, s};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use xflute::io::frame::{LinkType, parse_udp};
use xflute::io::pcap::PcapWriter;
use xflute_tests::TempDir;
use xflute_tests::netns::{NetnsPair, PairConfig, Side};

/// A packet socket on `interface` (of the calling thread's namespace) that sees every frame
/// sent and received there, with a 100 ms receive timeout and a large buffer.
#[allow(unsafe_code)] // socket(2), bind(2), setsockopt(2) are FFI; each block says why.
fn packet_socket(interface: &str) -> OwnedFd {
    let proto = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: plain socket(2) call; the result is checked before use.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto)) };
    assert!(
        fd >= 0,
        "packet socket: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let name = std::ffi::CString::new(interface).unwrap();
    // SAFETY: `name` is a NUL-terminated string alive for the call.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
    assert!(ifindex > 0, "no interface {interface}");
    // SAFETY: sockaddr_ll is plain data; all zeroes is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = proto;
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: `sll` is a live sockaddr_ll of the size passed.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const sll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
    let timeout = libc::timeval {
        tv_sec: 0,
        tv_usec: 100_000,
    };
    // SAFETY: `timeout` is a live timeval of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const timeout).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        )
    };
    assert_eq!(rc, 0, "SO_RCVTIMEO: {}", std::io::Error::last_os_error());
    let bytes: libc::c_int = 64 << 20;
    // SAFETY: `bytes` is a live int of the size passed (SO_RCVBUFFORCE: we are root).
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&raw const bytes).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        )
    };
    assert_eq!(rc, 0, "SO_RCVBUFFORCE: {}", std::io::Error::last_os_error());
    fd
}

/// Frames from `fd` until `stop`, with their capture time in nanoseconds.
#[allow(unsafe_code)] // recv(2) is FFI.
fn capture(fd: &OwnedFd, stop: &AtomicBool) -> Vec<(u64, Vec<u8>)> {
    let mut frames = Vec::new();
    let mut buf = vec![0u8; 256 << 10];
    while !stop.load(Ordering::SeqCst) {
        // SAFETY: `buf` is a live, writable buffer of the length passed.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n > 0 {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
            frames.push((now.as_nanos() as u64, buf[..n as usize].to_vec()));
        }
    }
    frames
}

/// Sends `files` with `extra` options while capturing on the sending veth; writes the capture
/// to `pcap` and returns the largest UDP payload in it.
fn send_captured(pair: &NetnsPair, files: &[String], extra: &[&str], pcap: &Path) -> usize {
    let fd = pair.run_in(Side::Sender, || packet_socket(&pair.sender.interface));
    let stop = Arc::new(AtomicBool::new(false));
    let frames = std::thread::scope(|scope| {
        let capturing = scope.spawn(|| capture(&fd, &stop));
        std::thread::sleep(Duration::from_millis(200));
        let mut args = s(&[
            "send",
            "--backend",
            "udp",
            "--iface",
            &pair.sender.interface,
            "--dest",
            "239.7.10.1:3400",
            // Fast enough that the pacer lets whole runs of 64 packets out at once.
            "--rate",
            "1G",
            "--carousel",
            "1s",
        ]);
        args.extend(s(extra));
        args.extend(files.iter().cloned());
        let log = pcap.with_extension("log");
        let mut sender = Proc::spawn(pair, Side::Sender, &args, &log);
        let status = sender.wait_for(Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(200));
        stop.store(true, Ordering::SeqCst);
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "{}",
            sender.output()
        );
        capturing.join().unwrap()
    });
    let mut w = PcapWriter::new(std::fs::File::create(pcap).unwrap(), LinkType::Ethernet).unwrap();
    let mut largest = 0;
    for (ts, frame) in &frames {
        if let Ok(udp) = parse_udp(LinkType::Ethernet, frame) {
            largest = largest.max(udp.payload.len());
        }
        w.write_frame(*ts, frame).unwrap();
    }
    w.into_inner().unwrap();
    largest
}

fn recv_pcap(pcap: &Path, out: &Path) -> (Option<i32>, String) {
    let o = Command::new(cli::BIN)
        .args(["recv", "--pcap", pcap.to_str().unwrap(), "--out"])
        .arg(out)
        .output()
        .unwrap();
    (
        o.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// `inspect --summary --json`'s summary event.
fn inspect_summary(pcap: &Path) -> serde_json::Value {
    let o = Command::new(cli::BIN)
        .args(["inspect", "--summary", "--json", pcap.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let stdout = String::from_utf8(o.stdout).unwrap();
    let last = stdout.lines().last().unwrap();
    let v: serde_json::Value = serde_json::from_str(last).unwrap();
    assert_eq!(v["event"], "summary", "{stdout}");
    assert_eq!(v["malformed"], 0, "{stdout}");
    assert_eq!(v["fdt_incomplete"], 0, "{stdout}");
    v
}

#[test]
fn a_capture_of_gso_super_datagrams_on_the_sending_host_is_received_and_inspected() {
    let pair = NetnsPair::with_config(PairConfig {
        tx_checksum_offload: true,
        ..PairConfig::default()
    });
    let dir = TempDir::new("gso-capture");
    // One large file: a carousel of small ones interleaves short packets, which end a run of
    // equal packets (and with it a super-datagram) every few packets.
    let files = make_files(&dir.0.join("in"), &[1_000_000], 41);
    let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();

    let pcap = dir.0.join("gso.pcap");
    let largest = send_captured(&pair, &names, &[], &pcap);
    assert!(
        largest > 9000,
        "the capture holds no GSO super-datagram (largest UDP payload {largest} bytes): the kernel did not use UDP GSO on the veth"
    );
    let out = dir.0.join("out-gso");
    let (code, log) = recv_pcap(&pcap, &out);
    assert_eq!(code, Some(0), "{log}");
    assert!(all_received(&files, &out), "{log}");
    let summary = inspect_summary(&pcap);
    assert!(summary["gso_datagrams"].as_u64().unwrap() > 0, "{summary}");

    let pcap = dir.0.join("no-gso.pcap");
    let largest = send_captured(&pair, &names, &["--no-gso"], &pcap);
    assert!(largest <= 1500, "--no-gso sent {largest}-byte datagrams");
    let out = dir.0.join("out-no-gso");
    let (code, log) = recv_pcap(&pcap, &out);
    assert_eq!(code, Some(0), "{log}");
    assert!(all_received(&files, &out), "{log}");
    let summary = inspect_summary(&pcap);
    assert_eq!(summary["gso_datagrams"], 0, "{summary}");
    pair.close();
}
