//! `xflute recv --sdp FILE` starts from the session description that `serve` publishes at
//! `/sessions/NAME.sdp`: the group, port, source filter and TSI come from it, and the file the
//! session sends arrives. Over UDP on loopback; needs curl (scripts/test.sh installs it).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{KillOnDrop as Kill, free_port, free_udp_port, wait_for};

const BIN: &str = env!("CARGO_BIN_EXE_xflute");

fn curl(url: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["-sf", "--max-time", "2", url])
        .output()
        .unwrap_or_else(|e| panic!("running curl (install it: apt-get install curl): {e}"));
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("xflute-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn recv_started_from_the_sdp_that_serve_publishes_receives_the_session() {
    let dir = temp_dir("recv-sdp");
    let api = free_port();
    let group_port = free_udp_port();
    std::fs::create_dir_all(dir.join("outbox")).unwrap();
    let content = xflute_tests::data::random_bytes(200_000, 1);
    std::fs::write(dir.join("outbox/news.bin"), &content).unwrap();
    let config = format!(
        "[http]\nlisten = \"127.0.0.1:{api}\"\n[[send]]\nname = \"news\"\n\
         dest = \"239.255.42.7:{group_port}\"\niface = \"lo\"\ntsi = 77\nrate = \"100M\"\n\
         carousel = \"100ms\"\nwatch = [\"outbox\"]\n"
    );
    std::fs::write(dir.join("serve.toml"), config).unwrap();
    let serve = Kill(
        Command::new(BIN)
            .args(["serve", "--config"])
            .arg(dir.join("serve.toml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{api}/sessions/news.sdp");
    let mut sdp = None;
    assert!(
        wait_for(Duration::from_secs(20), || {
            sdp = curl(&url);
            sdp.is_some()
        }),
        "serve's API did not answer"
    );
    let sdp = sdp.unwrap();
    assert!(sdp.contains("a=flute-tsi:77"), "{sdp}");
    assert!(
        sdp.contains(&format!("m=application {group_port} FLUTE/UDP 0")),
        "{sdp}"
    );
    std::fs::write(dir.join("news.sdp"), &sdp).unwrap();

    let out = dir.join("inbox");
    let recv = Command::new(BIN)
        .args(["recv", "--sdp"])
        .arg(dir.join("news.sdp"))
        .args([
            "--iface",
            "lo",
            "--backend",
            "udp",
            "--count",
            "1",
            "--timeout",
            "30s",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    drop(serve);
    assert!(
        recv.status.success(),
        "recv --sdp: {}",
        String::from_utf8_lossy(&recv.stderr)
    );
    assert_eq!(std::fs::read(out.join("news.bin")).unwrap(), content);

    // A description without the FLUTE attributes is a usage error, said once.
    std::fs::write(dir.join("bad.sdp"), "v=0\ns=x\n").unwrap();
    let bad = Command::new(BIN)
        .args(["recv", "--sdp"])
        .arg(dir.join("bad.sdp"))
        .args(["--backend", "udp", "--out"])
        .arg(dir.join("never"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("FLUTE media section"), "{err}");
    assert!(!Path::new(&dir.join("never")).exists());
    let _ = std::fs::remove_dir_all(&dir);
}
