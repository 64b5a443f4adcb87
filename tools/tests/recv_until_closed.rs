//! `xflute recv --until-closed` ends by itself when its session ends: the sender's last packet
//! carries the Close Session flag, and the receiver exits 0 with every file, without --count or
//! --timeout. Over UDP on loopback.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_xflute");

#[test]
fn recv_until_closed_exits_0_once_the_sender_closes_its_session() {
    let dir = std::env::temp_dir().join(format!("xflute-until-closed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("in")).unwrap();
    let data = xflute_tests::data::random_bytes(300_000, 1);
    std::fs::write(dir.join("in/one.bin"), &data).unwrap();
    std::fs::write(dir.join("in/two.txt"), b"two").unwrap();
    let group = format!("239.255.42.11:{}", xflute_tests::ports::free_udp_port());
    let mut recv = Command::new(BIN)
        .args([
            "recv",
            "--backend",
            "udp",
            "--iface",
            "lo",
            "--until-closed",
        ])
        .args(["--group", &group, "--out"])
        .arg(dir.join("out"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let send = Command::new(BIN)
        .args([
            "send",
            "--backend",
            "udp",
            "--iface",
            "lo",
            "--rate",
            "50M",
            "--dest",
            &group,
        ])
        .arg(dir.join("in/one.bin"))
        .arg(dir.join("in/two.txt"))
        .output()
        .unwrap();
    assert!(
        send.status.success(),
        "{}",
        String::from_utf8_lossy(&send.stderr)
    );
    let give_up = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = recv.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > give_up {
            let _ = recv.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = recv.wait_with_output().unwrap();
    let status = status.expect("recv --until-closed did not end with its session");
    assert!(
        status.success(),
        "{status}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(std::fs::read(dir.join("out/one.bin")).unwrap(), data);
    assert_eq!(std::fs::read(dir.join("out/two.txt")).unwrap(), b"two");
    let _ = std::fs::remove_dir_all(&dir);
}
