//! File repair over HTTP (3GPP TS 26.346 §9.3) between two network namespaces (needs root, as
//! CI runs): `send` sends each file once, nftables on the receiver drops a fifth of the
//! objects' packets (never the FDT's, so that every object is described), and `recv
//! --repair-url` completes the files with Range requests to nginx, which serves the sender's
//! directory on the receiver's loopback. nginx and nftables come from Debian (scripts/test.sh);
//! the rules go with the namespace, nginx is killed when the test ends.

#[path = "common/cli.rs"]
mod cli;
mod common;
#[path = "common/gpac.rs"]
mod gpac;

use cli::{
    Proc, all_received, json_field, make_files, part_files, s, seed, serve_args, udp_command,
};
use common::{KillOnDrop, wait_for};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use xflute_tests::TempDir;
use xflute_tests::netns::{NetnsPair, PairConfig, Side};

const GROUP: &str = "232.1.1.1:5000";
const NGINX_PORT: u16 = 8080;

/// Runs a command inside the receiver's namespace; panics with its output if it fails.
fn in_receiver(pair: &NetnsPair, argv: &[&str]) {
    let out = pair.exec(Side::Receiver, argv);
    assert!(
        out.status.success(),
        "{argv:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// nginx in the receiver's namespace on 127.0.0.1:[`NGINX_PORT`], serving `root`, one process
/// (no master, so that killing it leaves no worker behind), everything it writes in `dir`.
fn start_nginx(pair: &NetnsPair, root: &Path, dir: &Path) -> KillOnDrop {
    in_receiver(pair, &["ip", "link", "set", "lo", "up"]);
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    let d = dir.display();
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
         error_log {d}/error.log;\nevents {{ worker_connections 64; }}\n\
         http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/tmp;\n\
         proxy_temp_path {d}/tmp;\n  fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n\
         scgi_temp_path {d}/tmp;\n  server {{\n    listen 127.0.0.1:{NGINX_PORT};\n\
         root {};\n  }}\n}}\n",
        root.display()
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", &pair.receiver.netns, "nginx", "-c"])
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx (Debian package nginx, installed by scripts/test.sh)");
    let nginx = KillOnDrop(child);
    let up = wait_for(Duration::from_secs(10), || {
        pair.exec(
            Side::Receiver,
            &[
                "curl",
                "-sf",
                "-o",
                "/dev/null",
                &format!("http://127.0.0.1:{NGINX_PORT}/file-000.bin"),
            ],
        )
        .status
        .success()
    });
    assert!(
        up,
        "nginx did not answer: {}",
        std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
    );
    nginx
}

/// Drops `percent`% of the UDP packets to the group's port whose TOI is not 0 (the FDT's), at
/// random, in the receiver's namespace. The TOI's place follows the LCT header's S, O and H
/// flags (RFC 5651 §5.1, the high nibble of its second byte, after the UDP header's 8 bytes):
/// `send` writes a 16-bit TSI and TOI while they fit (S=0 O=0 H=1: the TOI at bytes 10-11),
/// `serve`, whose TOIs start at random, a 16-bit TSI and a 48-bit TOI (S=0 O=1 H=1: bytes
/// 10-15); a 32-bit TSI and TOI (S=1 O=1 H=0: bytes 12-15) is covered too.
fn drop_object_packets(pair: &NetnsPair, group: &str, percent: u32) {
    let port = group.rsplit(':').next().unwrap();
    let rules = format!(
        "table inet xflute_repair_test {{\n  chain input {{\n    type filter hook input priority 0;\n\
         udp dport {port} @th,72,4 1 @th,144,16 != 0 numgen random mod 100 < {percent} counter drop\n\
         udp dport {port} @th,72,4 3 @th,144,48 != 0 numgen random mod 100 < {percent} counter drop\n\
         udp dport {port} @th,72,4 10 @th,160,32 != 0 numgen random mod 100 < {percent} counter drop\n\
         }}\n}}\n"
    );
    let mut nft = Command::new("ip")
        .args(["netns", "exec", &pair.receiver.netns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("nft (Debian package nftables, installed by scripts/test.sh)");
    nft.stdin
        .take()
        .unwrap()
        .write_all(rules.as_bytes())
        .unwrap();
    assert!(nft.wait().unwrap().success(), "nft refused the rules");
}

struct Run {
    log: String,
    success: bool,
}

/// What the repair server is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Server {
    /// nginx serving the sender's files.
    SendersFiles,
    /// nginx serving files of the same names and sizes with other bytes.
    WrongFiles,
    /// Nothing listens where `--repair-url` points.
    Down,
    /// `serve` sends the files (instead of `send`) and answers the repairs itself.
    Serve,
    /// nginx serving the sender's files, which `send --bootstrap --repair-base` announces in
    /// its gateway configuration; `recv --bootstrap` is given no repair server.
    AnnouncedBySend,
    /// `serve` sends the files with a bootstrap, announcing its own repair server there;
    /// `recv --bootstrap` is given no repair server.
    AnnouncedByServe,
    /// nginx serving the sender's files, which `send --repair-base` (no bootstrap) announces
    /// in an associated delivery procedure description in the session; `recv
    /// --repair-announced` is given no repair server.
    DescribedBySend,
    /// `serve` sends the files (no bootstrap) and announces its own repair server in an
    /// associated delivery procedure description in the session; `recv --repair-announced`
    /// is given no repair server.
    DescribedByServe,
}

impl Server {
    fn announced(self) -> bool {
        matches!(self, Self::AnnouncedBySend | Self::AnnouncedByServe)
    }

    fn described(self) -> bool {
        matches!(self, Self::DescribedBySend | Self::DescribedByServe)
    }

    fn serve(self) -> bool {
        matches!(
            self,
            Self::Serve | Self::AnnouncedByServe | Self::DescribedByServe
        )
    }
}

/// Where the sessions announced by a gateway configuration are announced.
const BOOTSTRAP: &str = "232.1.1.1:4999";

/// Where `serve` listens in the sender's namespace, and its sending session's name.
const SERVE_PORT: u16 = 9464;
const SERVE_SESSION: &str = "tx";

/// Sends `sizes` once with `send_extra`, receives them with 20% loss and `recv_extra`, and
/// repairs from `server`.
fn lossy_transfer(
    name: &str,
    sizes: &[usize],
    send_extra: &[&str],
    recv_extra: &[&str],
    server: Server,
) -> (Run, TempDir, Vec<(std::path::PathBuf, [u8; 32])>) {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new(name);
    let seed = seed();
    let files = make_files(&dir.0.join("in"), sizes, seed);
    let _nginx = match server {
        Server::SendersFiles | Server::AnnouncedBySend | Server::DescribedBySend => {
            Some(start_nginx(&pair, &dir.0.join("in"), &dir.0.join("nginx")))
        }
        Server::WrongFiles => {
            make_files(&dir.0.join("wrong"), sizes, !seed);
            Some(start_nginx(
                &pair,
                &dir.0.join("wrong"),
                &dir.0.join("nginx"),
            ))
        }
        Server::Down | Server::Serve | Server::AnnouncedByServe | Server::DescribedByServe => None,
    };
    drop_object_packets(&pair, GROUP, 20);
    let out = dir.0.join("out");
    let source = pair.sender.ipv4.to_string();
    let repair_url = match server {
        Server::Serve => format!(
            "http://{}:{SERVE_PORT}/repair/{SERVE_SESSION}/",
            pair.sender.ipv4
        ),
        _ => format!("http://127.0.0.1:{NGINX_PORT}/"),
    };
    // From a bootstrap, the gateway configuration may be received as an object too: counting
    // it, a run that does not receive it ends at --timeout, with every file.
    // Likewise the description of the repair procedure a session carries.
    let (from, count, repair) = if server.announced() {
        (["--bootstrap", BOOTSTRAP], files.len() + 1, vec![])
    } else if server.described() {
        (
            ["--group", GROUP],
            files.len() + 1,
            vec!["--repair-announced"],
        )
    } else {
        (
            ["--group", GROUP],
            files.len(),
            vec!["--repair-url", &repair_url],
        )
    };
    let mut recv_args = udp_command(&pair, Side::Receiver, "recv");
    recv_args.extend(s(&[
        from[0],
        from[1],
        "--source",
        &source,
        "--out",
        out.to_str().unwrap(),
        "--count",
        &count.to_string(),
        "--timeout",
        "12s",
        "--json",
    ]));
    recv_args.extend(s(&repair));
    recv_args.extend(s(&["--repair-retries", "2", "--repair-timeout", "3s"]));
    recv_args.extend(s(recv_extra));
    let mut send_args = udp_command(&pair, Side::Sender, "send");
    send_args.extend(s(&[
        "--source",
        &source,
        "--dest",
        GROUP,
        "--rate",
        // Slow enough that the FDT goes out again after a receiver that starts once it has
        // the gateway configuration joined: the first packets it misses, repair brings.
        if server == Server::AnnouncedBySend {
            "8M"
        } else {
            "200M"
        },
    ]));
    send_args.extend(s(send_extra));
    if server == Server::DescribedBySend {
        send_args.extend(s(&[
            "--repair-base",
            &format!("http://127.0.0.1:{NGINX_PORT}/"),
        ]));
    }
    if server == Server::AnnouncedBySend {
        send_args.extend(s(&[
            "--tsi",
            "5",
            "--bootstrap",
            BOOTSTRAP,
            "--repair-base",
            &format!("http://127.0.0.1:{NGINX_PORT}/"),
        ]));
    }
    send_args.extend(files.iter().map(|(p, _)| p.display().to_string()));
    if server.serve() {
        // With a bootstrap, the files come once the receiver has joined from the
        // configuration, which serve publishes every second from its start.
        let watch = if server.announced() { "watch" } else { "in" };
        std::fs::create_dir_all(dir.0.join(watch)).unwrap();
        let bootstrap = if server.announced() {
            format!("tsi = 5\nbootstrap = \"{BOOTSTRAP}\"\n")
        } else {
            String::new()
        };
        // The files are in place before serve starts: its watcher sends them once each.
        let serve = serve_args(
            &dir.0,
            &format!(
                "[http]\nlisten = \"{}:{SERVE_PORT}\"\n\n[[send]]\nname = \"{SERVE_SESSION}\"\n\
             dest = \"{GROUP}\"\nsource = \"{source}\"\niface = \"{}\"\nbackend = \"udp\"\n\
             rate = \"200M\"\ncarousel = \"off\"\nwatch = [\"{watch}\"]\n{bootstrap}",
                pair.sender.ipv4, pair.sender.interface
            ),
        );
        send_args = serve;
    }
    let mut receiver = Proc::spawn(&pair, Side::Receiver, &recv_args, &dir.0.join("recv.log"));
    std::thread::sleep(Duration::from_millis(500));
    let mut sender = Proc::spawn(&pair, Side::Sender, &send_args, &dir.0.join("send.log"));
    if server == Server::AnnouncedByServe {
        let joined = wait_for(Duration::from_secs(10), || {
            receiver.output().contains("\"event\":\"bootstrap\"")
        });
        assert!(joined, "no configuration: {}", receiver.output());
        std::thread::sleep(Duration::from_millis(500));
        for (path, _) in &files {
            std::fs::rename(path, dir.0.join("watch").join(path.file_name().unwrap())).unwrap();
        }
    }
    let status = receiver.wait_for(Duration::from_secs(90));
    let sent = if server.serve() {
        Some(sender.interrupt())
    } else {
        sender.wait_for(Duration::from_secs(30))
    };
    let rules = pair.exec(Side::Receiver, &["nft", "list", "ruleset"]);
    let log = format!(
        "receiver:\n{}\nsender:\n{}\nloss rules:\n{}",
        receiver.output(),
        sender.output(),
        String::from_utf8_lossy(&rules.stdout)
    );
    let status = status.unwrap_or_else(|| panic!("the receiver did not end:\n{log}"));
    assert!(sent.is_some_and(|s| s.success()), "{log}");
    (
        Run {
            log,
            success: status.success(),
        },
        dir,
        files,
    )
}

fn summary_field(log: &str, name: &str) -> u64 {
    json_field(log, name).unwrap_or_else(|| panic!("no {name} in the summary:\n{log}"))
}

#[test]
fn no_code_100_files_20pct_loss_one_pass_all_complete_from_nginx_asking_at_most_5pct_over_missing()
{
    xflute_tests::netns::require_root();
    let sizes: Vec<usize> = (0..100).map(|i| 40_000 + i * 1_777).collect();
    let (run, dir, files) = lossy_transfer(
        "repair-nocode",
        &sizes,
        &["--fec", "none"],
        &[],
        Server::SendersFiles,
    );
    let log = &run.log;
    assert!(run.success, "{log}");
    assert!(all_received(&files, &dir.0.join("out")), "{log}");
    assert!(part_files(&dir.0.join("out")).is_empty(), "{log}");
    let missing = summary_field(log, "repair_missing_bytes");
    let received = summary_field(log, "repair_received_bytes");
    let requested = summary_field(log, "repair_requested_bytes");
    assert!(summary_field(log, "repaired") > 0, "{log}");
    assert_eq!(summary_field(log, "repair_failed"), 0, "{log}");
    assert!(missing > 0, "no loss was injected: {log}");
    assert!(
        received as f64 <= 1.05 * missing as f64 && requested as f64 <= 1.05 * missing as f64,
        "asked {requested} and got {received} bytes for {missing} missing: {log}"
    );
    eprintln!("repair: {missing} bytes missing, {requested} asked, {received} received");
}

/// `recv --bootstrap` with no repair server of its own repairs from nginx, which `send
/// --bootstrap --repair-base` announces in the gateway configuration: every file completes,
/// byte for byte, some through repair.
#[test]
fn recv_bootstrap_repairs_from_the_server_send_announces() {
    xflute_tests::netns::require_root();
    let sizes: Vec<usize> = (0..20).map(|i| 50_000 + i * 4_321).collect();
    let (run, dir, files) = lossy_transfer(
        "repair-announced-send",
        &sizes,
        &[],
        &[],
        Server::AnnouncedBySend,
    );
    assert_all_repaired(&run, &dir, &files);
}

/// `serve` with a bootstrap announces its own repair server (its HTTP address and the
/// session's /repair/ path); `recv --bootstrap` with no repair server of its own repairs from
/// it: every file completes, byte for byte, some through repair.
#[test]
fn recv_bootstrap_repairs_from_the_repair_server_serve_announces() {
    xflute_tests::netns::require_root();
    let sizes: Vec<usize> = (0..20).map(|i| 50_000 + i * 4_321).collect();
    let (run, dir, files) = lossy_transfer(
        "repair-announced-serve",
        &sizes,
        &[],
        &[],
        Server::AnnouncedByServe,
    );
    assert_all_repaired(&run, &dir, &files);
}

/// `recv --repair-announced` with no repair server of its own repairs from nginx, which `send
/// --repair-base` (no bootstrap) announces in an associated delivery procedure description it
/// carries in the session: every file completes, byte for byte, some through repair.
#[test]
fn recv_repair_announced_repairs_from_the_server_send_describes_in_its_session() {
    xflute_tests::netns::require_root();
    let sizes: Vec<usize> = (0..20).map(|i| 50_000 + i * 4_321).collect();
    let (run, dir, files) = lossy_transfer(
        "repair-described-send",
        &sizes,
        &[],
        &[],
        Server::DescribedBySend,
    );
    assert_all_repaired(&run, &dir, &files);
    assert_described(&run, &format!("http://127.0.0.1:{NGINX_PORT}/"));
}

/// `serve` with no bootstrap announces its own repair server (its HTTP address and the
/// session's /repair/ path) in an associated delivery procedure description in the session;
/// `recv --repair-announced` with no repair server of its own repairs from it: every file
/// completes, byte for byte, some through repair.
#[test]
fn recv_repair_announced_repairs_from_the_repair_server_serve_describes_in_its_session() {
    xflute_tests::netns::require_root();
    let sizes: Vec<usize> = (0..20).map(|i| 50_000 + i * 4_321).collect();
    let (run, dir, files) = lossy_transfer(
        "repair-described-serve",
        &sizes,
        &[],
        &[],
        Server::DescribedByServe,
    );
    assert_all_repaired(&run, &dir, &files);
    assert_described(&run, &format!(":{SERVE_PORT}/repair/{SERVE_SESSION}/\""));
}

/// The receiver read the description in the session (a `repair_announced` event naming
/// `server`), and the description itself is in the output directory like any object.
fn assert_described(run: &Run, server: &str) {
    let log = &run.log;
    let event = log
        .lines()
        .find(|l| l.contains("\"event\":\"repair_announced\""))
        .unwrap_or_else(|| panic!("no repair_announced event: {log}"));
    assert!(event.contains(server), "{event}\n{log}");
    assert!(
        log.contains("\"location\":\"urn:xflute:associated-procedure-description\""),
        "{log}"
    );
}

/// Every file arrived intact, none left half-written, some through repair and none failed,
/// receiving exactly the bytes missing.
fn assert_all_repaired(run: &Run, dir: &TempDir, files: &[(PathBuf, [u8; 32])]) {
    let log = &run.log;
    assert!(
        summary_field(log, "completed") >= files.len() as u64,
        "{log}"
    );
    assert!(all_received(files, &dir.0.join("out")), "{log}");
    assert!(part_files(&dir.0.join("out")).is_empty(), "{log}");
    assert!(summary_field(log, "repaired") > 0, "{log}");
    assert_eq!(summary_field(log, "repair_failed"), 0, "{log}");
    let (missing, received) = (
        summary_field(log, "repair_missing_bytes"),
        summary_field(log, "repair_received_bytes"),
    );
    assert!(missing > 0 && received == missing, "{log}");
}

/// Asserts that the run failed, that no file took its final name and no temporary file is
/// left, and that each file failed once, for `reason`; returns the failure lines.
fn assert_each_failed_once(run: &Run, dir: &TempDir, files: &[(PathBuf, [u8; 32])], reason: &str) {
    let log = &run.log;
    assert!(!run.success, "{log}");
    let out = dir.0.join("out");
    for (path, _) in files {
        assert!(!out.join(path.file_name().unwrap()).exists(), "{log}");
    }
    assert!(part_files(&out).is_empty(), "{log}");
    let failed: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"event\":\"failed\""))
        .collect();
    assert_eq!(failed.len(), files.len(), "{log}");
    let mut tois: Vec<&str> = failed
        .iter()
        .map(|l| {
            l.split("\"toi\":")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap()
        })
        .collect();
    tois.sort_unstable();
    tois.dedup();
    assert_eq!(tois.len(), files.len(), "{log}");
    assert!(failed.iter().all(|l| l.contains(reason)), "{log}");
    assert_eq!(
        summary_field(log, "repair_failed"),
        files.len() as u64,
        "{log}"
    );
}

#[test]
fn repair_server_down_retries_then_fails_each_object_once_and_publishes_nothing() {
    xflute_tests::netns::require_root();
    let sizes: Vec<usize> = (0..10).map(|i| 60_000 + i * 999).collect();
    let (run, dir, files) = lossy_transfer("repair-down", &sizes, &[], &[], Server::Down);
    assert_each_failed_once(&run, &dir, &files, "after 3 attempts");
    // Two retries per object, each after the first attempt failed.
    assert_eq!(
        summary_field(&run.log, "repair_retries"),
        2 * files.len() as u64,
        "{}",
        run.log
    );
}

#[test]
fn repair_server_with_wrong_bytes_is_refused_by_the_md5_check_and_nothing_is_published() {
    xflute_tests::netns::require_root();
    let sizes: Vec<usize> = (0..10).map(|i| 60_000 + i * 999).collect();
    let (run, dir, files) = lossy_transfer("repair-wrong", &sizes, &[], &[], Server::WrongFiles);
    assert_each_failed_once(&run, &dir, &files, "Content-MD5 mismatch");
    assert_eq!(summary_field(&run.log, "repair_retries"), 0, "{}", run.log);
}

#[test]
fn serve_sends_once_and_answers_the_repairs_of_its_own_files() {
    xflute_tests::netns::require_root();
    let sizes: Vec<usize> = (0..20).map(|i| 50_000 + i * 4_321).collect();
    let (run, dir, files) = lossy_transfer("repair-serve", &sizes, &[], &[], Server::Serve);
    let log = &run.log;
    assert!(run.success, "{log}");
    assert!(all_received(&files, &dir.0.join("out")), "{log}");
    assert!(part_files(&dir.0.join("out")).is_empty(), "{log}");
    assert_eq!(summary_field(log, "repaired"), files.len() as u64, "{log}");
    assert_eq!(summary_field(log, "repair_failed"), 0, "{log}");
    let (missing, received) = (
        summary_field(log, "repair_missing_bytes"),
        summary_field(log, "repair_received_bytes"),
    );
    assert!(missing > 0 && received == missing, "{log}");
}

/// GPAC's DVB-MABR receiver (`mabr://`, `repair_urls`) repairs from `serve` the files `xflute
/// send --profile dvb-mabr` sent once with a tenth of their packets lost. GPAC asks for the
/// missing byte ranges itself (it has no FEC); `serve` answers them from the files of a sending
/// session of its own (to a group nobody joins), as a repair server beside the broadcast.
#[test]
fn gpac_repairs_a_dvb_mabr_session_from_the_serve_repair_server() {
    gpac_repairs_from_serve("repair-gpac", false);
}

/// GPAC's DVB-MABR receiver, given only the bootstrap and no repair server, repairs from the
/// one `send --bootstrap --repair-base` announces in the gateway configuration (`serve`'s).
#[test]
fn gpac_repairs_from_the_repair_server_send_announces() {
    gpac_repairs_from_serve("repair-gpac-announced", true);
}

/// `send --profile dvb-mabr` sends files with a tenth of their packets lost; GPAC's DVB-MABR
/// receiver repairs them from `serve`, which answers from the files of a sending session of
/// its own (to a group nobody joins), as a repair server beside the broadcast. GPAC is told
/// so with `repair_urls`; or, `announced`, finds it in the gateway configuration `send
/// --bootstrap --repair-base` publishes, given only the bootstrap.
fn gpac_repairs_from_serve(name: &str, announced: bool) {
    xflute_tests::netns::require_root();
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new(name);
    let src = dir.0.join("in");
    let sizes: Vec<usize> = (0..8).map(|i| 200_000 + i * 12_345).collect();
    let files = make_files(&src, &sizes, seed());
    let mabr = "239.1.2.3:6100";
    // Announced, the files go on the port after the bootstrap's, as GPAC's own sender does.
    let group = if announced { "239.1.2.3:6101" } else { mabr };
    let repair_url = format!(
        "http://{}:{SERVE_PORT}/repair/{SERVE_SESSION}/",
        pair.sender.ipv4
    );
    let serve = serve_args(
        &dir.0,
        &format!(
            "[http]\nlisten = \"{}:{SERVE_PORT}\"\n\n[[send]]\nname = \"{SERVE_SESSION}\"\n\
         dest = \"239.9.9.9:7000\"\niface = \"{}\"\nbackend = \"udp\"\nrate = \"1M\"\n\
         carousel = \"off\"\nwatch = [\"in\"]\n",
            pair.sender.ipv4, pair.sender.interface
        ),
    );
    let mut serve = Proc::spawn(&pair, Side::Sender, &serve, &dir.0.join("serve.log"));
    drop_object_packets(&pair, group, 10);
    let out = dir.0.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let input = format!("mabr://{mabr}:odir={}:timeout=60000", out.display());
    let told = format!("--repair_urls={repair_url}");
    // Without repair_urls, GPAC repairs over HTTP (from the servers a configuration announces)
    // only when told to.
    let gpac_args: Vec<&str> = if announced {
        vec!["-i", &input, "--repair=full", "-logs=route@info"]
    } else {
        vec!["-i", &input, &told]
    };
    let receiver = gpac::Gpac::spawn(
        Some(&pair.receiver.netns),
        &gpac_args,
        &dir.0.join("gpac.log"),
    );
    std::thread::sleep(Duration::from_millis(1500));
    let mut send_args = udp_command(&pair, Side::Sender, "send");
    send_args.extend(s(&[
        "--dest",
        group,
        "--profile",
        "dvb-mabr",
        "--rate",
        "100M",
    ]));
    if announced {
        send_args.extend(s(&[
            "--tsi",
            "5",
            "--bootstrap",
            mabr,
            "--repair-base",
            &repair_url,
        ]));
        // GPAC joins the files' session only once it has read the configuration, which goes
        // out with the first packets: a file sent first (by name, one object at a time) and
        // slowly covers that time, and only the files after it are checked.
        std::fs::write(src.join("0-lead-in.bin"), vec![0x5a; 1_500_000]).unwrap();
        let at = send_args.iter().position(|a| a == "100M").unwrap();
        send_args[at] = "8M".to_owned();
        send_args.extend(s(&["--multiplex", "1"]));
    }
    send_args.push(src.to_str().unwrap().to_owned());
    let mut sender = Proc::spawn(&pair, Side::Sender, &send_args, &dir.0.join("send.log"));
    // GPAC stores a service's files below serviceN/, N its number in the configuration.
    let got = |out: &Path| {
        ["service0", "service1"]
            .iter()
            .any(|d| all_received(&files, &out.join(d)))
    };
    let all = wait_for(Duration::from_secs(40), || got(&out));
    let sent = sender
        .wait_for(Duration::from_secs(10))
        .is_some_and(|s| s.success());
    let rules = pair.exec(Side::Receiver, &["nft", "list", "ruleset"]);
    let metrics = pair.exec(
        Side::Receiver,
        &[
            "curl",
            "-s",
            &format!("http://{}:{SERVE_PORT}/metrics", pair.sender.ipv4),
        ],
    );
    let metrics = String::from_utf8_lossy(&metrics.stdout).into_owned();
    let listing = Command::new("find").arg(&out).output().unwrap();
    let log = format!(
        "gpac:\n{}\nreceived:\n{}\nsend:\n{}\nserve:\n{}\nrules:\n{}\nmetrics:\n{metrics}",
        receiver.output(),
        String::from_utf8_lossy(&listing.stdout),
        sender.output(),
        serve.output(),
        String::from_utf8_lossy(&rules.stdout)
    );
    serve.interrupt();
    assert!(sent, "{log}");
    assert!(all, "GPAC did not get every file intact: {log}");
    let repaired_bytes: f64 = metrics
        .lines()
        .find(|l| l.starts_with("xflute_repair_bytes_total "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(repaired_bytes > 0.0, "serve answered no repair: {log}");
    eprintln!("GPAC repaired {repaired_bytes} bytes from serve");
}

/// A receiving session of `serve` with `repair_url` repairs, from nginx, what `send` sent once
/// with a fifth of the packets lost, once the sender closes the session; its metrics count it.
#[test]
fn serve_receiving_session_with_repair_url_completes_every_file_from_nginx() {
    serve_receiving_session_repairs_from_nginx("repair-serve-receive", Told::RepairUrl);
}

/// A receiving session of `serve` with `bootstrap` and no `repair_url` repairs from nginx, which
/// `send --bootstrap --repair-base` announces in its gateway configuration.
#[test]
fn serve_receiving_session_from_a_bootstrap_repairs_from_the_announced_server() {
    serve_receiving_session_repairs_from_nginx("repair-serve-receive-announced", Told::Bootstrap);
}

/// A receiving session of `serve` with `repair_announced` and no `repair_url` repairs from
/// nginx, which `send --repair-base` (no bootstrap) announces in an associated delivery
/// procedure description in the session.
#[test]
fn serve_receiving_session_with_repair_announced_repairs_from_the_server_described() {
    serve_receiving_session_repairs_from_nginx("repair-serve-receive-described", Told::Described);
}

/// How a receiving session of `serve` learns where nginx is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Told {
    /// `repair_url`.
    RepairUrl,
    /// The gateway configuration on the bootstrap it starts from.
    Bootstrap,
    /// `repair_announced`: the description in the session it receives.
    Described,
}

/// `send` sends files once with a fifth of the packets lost; a receiving session of `serve`
/// completes every file by repair from nginx, told so as `told` says.
fn serve_receiving_session_repairs_from_nginx(name: &str, told: Told) {
    xflute_tests::netns::require_root();
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new(name);
    let sizes: Vec<usize> = (0..20).map(|i| 70_000 + i * 3_333).collect();
    let files = make_files(&dir.0.join("in"), &sizes, seed());
    let _nginx = start_nginx(&pair, &dir.0.join("in"), &dir.0.join("nginx"));
    drop_object_packets(&pair, GROUP, 20);
    let source = pair.sender.ipv4.to_string();
    let nginx_url = format!("http://127.0.0.1:{NGINX_PORT}/");
    let from = match told {
        Told::Bootstrap => format!("bootstrap = \"{BOOTSTRAP}\"\n"),
        Told::RepairUrl => format!("group = \"{GROUP}\"\nrepair_url = [\"{nginx_url}\"]\n"),
        Told::Described => format!("group = \"{GROUP}\"\nrepair_announced = true\n"),
    };
    let serve = serve_args(
        &dir.0,
        &format!(
            "[http]\nlisten = \"127.0.0.1:{SERVE_PORT}\"\n\n[[receive]]\nname = \"rx\"\n\
         source = \"{source}\"\niface = \"{}\"\nbackend = \"udp\"\nout = \"out\"\n{from}",
            pair.receiver.interface
        ),
    );
    let mut serve = Proc::spawn(&pair, Side::Receiver, &serve, &dir.0.join("serve.log"));
    std::thread::sleep(Duration::from_millis(1000));
    let mut send_args = udp_command(&pair, Side::Sender, "send");
    let bootstrap = told == Told::Bootstrap;
    send_args.extend(s(&[
        "--source",
        &source,
        "--dest",
        GROUP,
        "--rate",
        // From a bootstrap, slow enough that the session joins the files' session, which it
        // learns from the configuration sent with the first packets, while they are being
        // sent.
        if bootstrap { "8M" } else { "200M" },
    ]));
    match told {
        Told::Bootstrap => send_args.extend(s(&[
            "--tsi",
            "5",
            "--bootstrap",
            BOOTSTRAP,
            "--repair-base",
            &nginx_url,
        ])),
        Told::Described => send_args.extend(s(&["--repair-base", &nginx_url])),
        Told::RepairUrl => {}
    }
    send_args.extend(files.iter().map(|(p, _)| p.display().to_string()));
    let mut sender = Proc::spawn(&pair, Side::Sender, &send_args, &dir.0.join("send.log"));
    let out = dir.0.join("out");
    let all = wait_for(Duration::from_secs(30), || all_received(&files, &out));
    let metrics = pair.exec(
        Side::Receiver,
        &[
            "curl",
            "-s",
            &format!("http://127.0.0.1:{SERVE_PORT}/metrics"),
        ],
    );
    let metrics = String::from_utf8_lossy(&metrics.stdout).into_owned();
    let sent = sender.wait_for(Duration::from_secs(10));
    serve.interrupt();
    let log = format!(
        "serve:\n{}\nsend:\n{}\nmetrics:\n{metrics}",
        serve.output(),
        sender.output()
    );
    assert!(sent.is_some_and(|s| s.success()), "{log}");
    assert!(all, "not every file was completed: {log}");
    assert!(part_files(&out).is_empty(), "{log}");
    let metric = |name: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with(&format!("xflute_{name}{{session=\"rx\"}}")))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name}: {log}"))
    };
    assert!(metric("receive_repaired_total") > 0.0, "{log}");
    assert_eq!(metric("receive_repair_failed_total"), 0.0, "{log}");
    assert_eq!(
        metric("receive_repair_bytes_total"),
        metric("receive_repair_missing_bytes_total"),
        "{log}"
    );
}

/// Reed-Solomon k = 64, r = 8 with a fifth of the object packets left out of one pass: `recv
/// --pcap` asks nginx for exactly the source symbols each block still lacks (k minus the symbols
/// of that block it holds, none for the blocks the FEC decodes) and every file completes. The
/// loss is applied to a capture rather than on the wire so that the test knows, block by block,
/// which symbols arrived.
#[test]
fn reed_solomon_k64_r8_20pct_loss_asks_exactly_the_symbols_each_block_lacks() {
    use std::collections::BTreeMap;
    use xflute::fec::BlockPartition;
    use xflute::io::frame::{LinkType, parse_udp};
    use xflute::io::pcap::{PcapReader, PcapWriter};
    use xflute::wire::AlcPacket;

    xflute_tests::netns::require_root();
    const LEN: usize = 600_500;
    const SYMBOL: u32 = 1000;
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new("repair-rs");
    let seed = seed();
    // Same-sized files, so that every TOI has the same partition.
    let files = make_files(&dir.0.join("in"), &[LEN; 4], seed);
    let full = dir.0.join("full.pcap");
    let mut send = s(&[
        "send",
        "--pcap-out",
        full.to_str().unwrap(),
        "--dest",
        GROUP,
    ]);
    send.extend(s(&[
        "--fec",
        "rs28",
        "--symbol-len",
        &SYMBOL.to_string(),
        "--block-len",
        "64",
        "--repair",
        "8",
    ]));
    send.extend(files.iter().map(|(p, _)| p.display().to_string()));
    let (ok, _, err) = common::xflute(&send);
    assert!(ok, "send --pcap-out: {err}");

    // One pass less a fifth of its object packets; what arrived, per (TOI, SBN).
    let lossy = dir.0.join("lossy.pcap");
    let mut reader =
        PcapReader::new(std::io::BufReader::new(std::fs::File::open(&full).unwrap())).unwrap();
    let mut writer = PcapWriter::new(
        std::io::BufWriter::new(std::fs::File::create(&lossy).unwrap()),
        LinkType::Ethernet,
    )
    .unwrap();
    let mut rng = xflute_tests::data::SplitMix64::new(seed);
    let mut arrived: BTreeMap<(u128, u32), u32> = BTreeMap::new();
    let mut lost_source = 0u32;
    let partition = BlockPartition::rfc5052(LEN as u64, SYMBOL, 64).unwrap();
    while let Some(frame) = reader.next_frame().unwrap() {
        let udp = parse_udp(frame.link.unwrap(), frame.data).unwrap();
        let alc = AlcPacket::parse(udp.payload).unwrap();
        let toi = alc.lct().toi;
        if toi != 0 {
            let id = alc.payload_id().unwrap();
            let k = partition.block_len_symbols(u64::from(id.sbn)).unwrap();
            if rng.range(0, 100) < 20 {
                lost_source += u32::from(id.esi < k);
                continue;
            }
            *arrived.entry((toi, id.sbn)).or_default() += 1;
        }
        writer.write_frame(frame.timestamp_ns, frame.data).unwrap();
    }
    writer.into_inner().unwrap();
    let tois = arrived
        .keys()
        .map(|&(toi, _)| toi)
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(tois.len(), files.len(), "a whole object was lost");
    let mut lacking = 0u64;
    for &toi in &tois {
        for sbn in 0..partition.nb_blocks() as u32 {
            let k = partition.block_len_symbols(u64::from(sbn)).unwrap();
            let held = arrived.get(&(toi, sbn)).copied().unwrap_or(0);
            lacking += u64::from(k.saturating_sub(held));
        }
    }
    assert!(lacking > 0, "the FEC could repair every block: seed {seed}");
    assert!(
        u64::from(lost_source) > lacking,
        "no block was within the FEC's reach: seed {seed}"
    );

    let _nginx = start_nginx(&pair, &dir.0.join("in"), &dir.0.join("nginx"));
    let out = dir.0.join("out");
    let recv = s(&[
        "recv",
        "--pcap",
        lossy.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
        "--repair-url",
        &format!("http://127.0.0.1:{NGINX_PORT}/"),
    ]);
    let mut receiver = Proc::spawn(&pair, Side::Receiver, &recv, &dir.0.join("recv.log"));
    let status = receiver.wait_for(Duration::from_secs(60));
    let log = format!("seed {seed}\n{}", receiver.output());
    assert!(status.is_some_and(|s| s.success()), "{log}");
    assert!(all_received(&files, &out), "{log}");
    assert!(part_files(&out).is_empty(), "{log}");
    assert_eq!(summary_field(&log, "repaired"), files.len() as u64, "{log}");
    assert_eq!(
        summary_field(&log, "repair_requested_symbols"),
        lacking,
        "{lost_source} source symbols lost: {log}"
    );
}
