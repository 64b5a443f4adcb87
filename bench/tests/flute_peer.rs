//! `flute_peer` end to end: its sender and receiver (the flute crate on both sides) move
//! generated objects over a veth pair between two throw-away namespaces, and every object
//! arrives complete with the bytes its name promises, for each FEC scheme it offers. Needs
//! root, like every netns test.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use xflute_tests::netns::NetnsPair;

const GROUP: &str = "239.255.9.9:5000";
const COUNT: usize = 8;
const OBJECT_BYTES: usize = 256 << 10;

/// Kills the receiver if the test fails before it exits on its own.
struct Reaper(Option<Child>);

impl Reaper {
    fn wait(mut self) -> std::process::Output {
        self.0
            .take()
            .expect("receiver not yet waited for")
            .wait_with_output()
            .expect("wait for the receiver")
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The number after `"key":` in a one-line JSON object.
fn field(json: &str, key: &str) -> f64 {
    let tag = format!("\"{key}\":");
    let start = json
        .find(&tag)
        .unwrap_or_else(|| panic!("{key} missing in {json}"))
        + tag.len();
    let rest = &json[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end]
        .parse()
        .unwrap_or_else(|e| panic!("{key} in {json}: {e}"))
}

fn transfer(fec: &str) -> (String, String) {
    let bin = env!("CARGO_BIN_EXE_flute_peer");
    let pair = NetnsPair::new();
    let mut receiver = Reaper(Some(
        Command::new("ip")
            .args(["netns", "exec", &pair.receiver.netns, bin, "recv"])
            .args(["--bind", GROUP, "--iface-addr"])
            .arg(pair.receiver.ipv4.to_string())
            .args(["--out-count", &COUNT.to_string(), "--timeout", "15"])
            .args(["--fec", fec])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn flute_peer recv"),
    ));
    // The sender sends one pass: start it only once the receiver has joined the group.
    let stderr = receiver
        .0
        .as_mut()
        .and_then(|c| c.stderr.take())
        .expect("receiver stderr");
    // Kept open until the receiver exits, so that nothing it writes there fails.
    let mut stderr = BufReader::new(stderr);
    let mut ready = String::new();
    stderr.read_line(&mut ready).expect("read receiver stderr");
    assert!(ready.contains("listening"), "receiver said: {ready}");

    let sent = Command::new("ip")
        .args(["netns", "exec", &pair.sender.netns, bin, "send"])
        .args(["--dest", GROUP, "--bind-addr"])
        .arg(pair.sender.ipv4.to_string())
        .args(["--rate-mbps", "200", "--fec", fec, "--k", "64", "--r", "24"])
        .args(["--gen-bytes", &OBJECT_BYTES.to_string()])
        .args(["--gen-count", &COUNT.to_string()])
        .output()
        .expect("run flute_peer send");
    assert!(sent.status.success(), "sender failed: {sent:?}");

    let received = receiver.wait();
    drop(stderr);
    assert!(received.status.success(), "receiver failed: {received:?}");
    (
        String::from_utf8_lossy(&sent.stdout).trim().to_owned(),
        String::from_utf8_lossy(&received.stdout).trim().to_owned(),
    )
}

fn assert_all_objects_arrive_intact(fec: &str) {
    let (sent, received) = transfer(fec);
    assert!(field(&sent, "packets") > 0.0, "sender: {sent}");
    assert_eq!(field(&received, "completed"), COUNT as f64, "{received}");
    assert_eq!(
        field(&received, "bytes"),
        (COUNT * OBJECT_BYTES) as f64,
        "{received}"
    );
    assert_eq!(field(&received, "corrupt"), 0.0, "{received}");
    assert_eq!(field(&received, "unverified"), 0.0, "{received}");
    assert_eq!(field(&received, "errors"), 0.0, "{received}");
    assert!(
        field(&received, "last_complete_s") >= field(&received, "first_packet_s"),
        "{received}"
    );
    assert!(received.contains("\"latencies_ms\":["), "{received}");
}

#[test]
fn flute_peer_no_code_objects_arrive_intact_over_veth() {
    assert_all_objects_arrive_intact("none");
}

#[test]
fn flute_peer_rs28_objects_arrive_intact_over_veth() {
    assert_all_objects_arrive_intact("rs28");
}

#[test]
fn flute_peer_rs2m_objects_arrive_intact_over_veth() {
    assert_all_objects_arrive_intact("rs2m");
}

#[test]
fn flute_peer_raptorq_objects_arrive_intact_over_veth() {
    assert_all_objects_arrive_intact("raptorq");
}
