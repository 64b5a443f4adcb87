//! `xflute serve` as a user runs it: the built binary, a configuration file, its HTTP API and
//! its signals. The example configuration on loopback as a new user tries it; a sending and a
//! receiving `serve` in two network namespaces while files are created, rewritten and deleted;
//! a real Prometheus server scraping `/metrics` and `promtool check metrics`; SIGHUP with one
//! session changed and one not; the API's calls and its bearer token; systemd's notifications
//! and `packaging/xflute.service` checked by `systemd-analyze verify`.
//!
//! Every process runs under a guard that kills it if the test fails; namespaces and temporary
//! directories are removed on drop. Needs root (network namespaces), curl, prometheus and
//! promtool, and systemd-analyze (scripts/test.sh installs them): a missing one fails the test
//! with a message that says so; nothing is skipped.

#[path = "common/cli.rs"]
mod cli;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cli::{BIN, seed, sha256};
use serde_json::Value;
use sha2::{Digest, Sha256};
use xflute_tests::TempDir;
use xflute_tests::data::{SplitMix64 as Rng, random_bytes};
use xflute_tests::netns::NetnsPair;
use xflute_tests::ports::free_tcp_port as free_port;

/// How long a file may take from being written to being received, at most (the machine is
/// shared: this is a bound for failures, not a figure).
const ARRIVAL: Duration = Duration::from_secs(30);

/// Fails the test with how to get `tool` unless it runs.
fn require(tool: &str, package: &str) {
    let runs = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        runs,
        "this test needs `{tool}` (Debian package {package}; scripts/test.sh installs it)"
    );
}

fn digest(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Polls `f` until it gives a value; after `limit`, fails with `what` and `context`.
fn wait_until<T>(
    limit: Duration,
    what: &str,
    context: &dyn Fn() -> String,
    f: impl FnMut() -> Option<T>,
) -> T {
    xflute_tests::wait::for_value(limit, f)
        .unwrap_or_else(|| panic!("after {limit:?}: {what}\n{}", context()))
}

/// A program, in a network namespace or not, killed (SIGKILL) and reaped when dropped so that a
/// failing test leaves nothing running. Its output goes to a file (a killed process cannot
/// block on a pipe).
struct Guard {
    child: Option<Child>,
    log: PathBuf,
}

impl Guard {
    /// Starts `argv` in `cwd` (inside `netns` through `ip netns exec`, which execs it: the
    /// child's pid is the program's).
    fn spawn(netns: Option<&str>, argv: &[&str], cwd: &Path, log: &Path) -> Self {
        let file = std::fs::File::create(log).unwrap();
        let mut command = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).args(argv);
                c
            }
            None => {
                let mut c = Command::new(argv[0]);
                c.args(&argv[1..]);
                c
            }
        };
        let child = command
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {argv:?}: {e}"));
        Self {
            child: Some(child),
            log: log.to_owned(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Sends signal `name` (`TERM`, `HUP`, ...).
    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name} {} failed", self.pid());
    }

    /// Its exit status, if it has ended.
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut().unwrap().try_wait().unwrap()
    }

    /// Waits up to `limit` for the process to end.
    fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            if start.elapsed() >= limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// What it printed so far.
    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take()
            && child.try_wait().ok().flatten().is_none()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// An HTTP call with curl, inside `netns` when given: (status, body); status 0 when nothing
/// answered.
fn http(
    netns: Option<&str>,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
) -> (u16, Vec<u8>) {
    let mut command = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "curl"]);
            c
        }
        None => Command::new("curl"),
    };
    command.args(["-sS", "--max-time", "20", "-o", "-", "-w", "\n%{http_code}"]);
    command.args(["-X", method]);
    if let Some(t) = token {
        command.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    if body.is_some() {
        command.args(["--data-binary", "@-"]);
    }
    let mut child = command
        .arg(url)
        .stdin(if body.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("running curl: {e} (install curl; scripts/test.sh does)"));
    if let (Some(b), Some(mut stdin)) = (body, child.stdin.take()) {
        // curl may refuse before reading (connection refused): its status says so.
        let _ = stdin.write_all(b);
    }
    let out = child.wait_with_output().unwrap();
    let cut = out.stdout.iter().rposition(|&b| b == b'\n').unwrap_or(0);
    let status = std::str::from_utf8(&out.stdout[cut..])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    (status, out.stdout[..cut].to_vec())
}

/// A running `xflute serve`, with its API's address (as seen from its namespace).
struct Serve {
    proc: Guard,
    netns: Option<String>,
    api: SocketAddr,
}

impl Serve {
    /// `xflute -v serve --config CONFIG` from `/` (relative paths of the file must be taken
    /// from its own directory, whatever the working directory).
    fn start(netns: Option<&str>, config: &Path, api: SocketAddr, log: &Path) -> Self {
        let config = config.to_str().unwrap();
        let proc = Guard::spawn(
            netns,
            &[BIN, "-v", "serve", "--config", config],
            Path::new("/"),
            log,
        );
        Self {
            proc,
            netns: netns.map(str::to_owned),
            api,
        }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&[u8]>,
    ) -> (u16, Vec<u8>) {
        let url = format!("http://{}{path}", self.api);
        http(self.netns.as_deref(), method, &url, token, body)
    }

    /// GET `path`: (status, body as text).
    fn get(&self, path: &str) -> (u16, String) {
        let (status, body) = self.call("GET", path, None, None);
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// GET `path`, which must answer 200 with JSON.
    fn json(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}\n{}", self.proc.output());
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    fn status(&self) -> Value {
        self.json("/status")
    }

    /// The session `name` of `/status` (sending or receiving).
    fn session(&self, name: &str) -> Value {
        let status = self.status();
        ["send", "receive"]
            .iter()
            .flat_map(|d| status[d].as_array().cloned().unwrap_or_default())
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no session {name:?} in /status: {status}"))
    }

    /// Names of the objects of sending session `name`.
    fn objects(&self, name: &str) -> Vec<String> {
        self.session(name)["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The `/metrics` text.
    fn metrics(&self) -> String {
        let (status, body) = self.get("/metrics");
        assert_eq!(status, 200, "GET /metrics: {body}");
        body
    }

    /// The value of `family{session="SESSION"}` in `/metrics`.
    fn metric(&self, family: &str, session: &str) -> f64 {
        let prefix = format!("{family}{{session=\"{session}\"}} ");
        let text = self.metrics();
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix:?} in /metrics:\n{text}"))
    }

    /// Waits until the API answers and `/status` lists every session of `names` (the API
    /// listens before the sessions start).
    fn wait_ready(&mut self, names: &[&str]) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.proc.exited() {
                panic!("serve ended ({status}):\n{}", self.proc.output());
            }
            let (code, body) = self.get("/status");
            if code == 200 {
                let listed: Vec<String> = serde_json::from_str::<Value>(&body)
                    .ok()
                    .map(|v| {
                        ["send", "receive"]
                            .iter()
                            .flat_map(|d| v[d].as_array().cloned().unwrap_or_default())
                            .filter_map(|s| s["name"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                if names.iter().all(|n| listed.iter().any(|l| l == n)) {
                    return;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "serve not ready after 30 s (last /status: {code} {body}):\n{}",
                self.proc.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then its exit status (within 20 s, or the test fails).
    fn terminate(&mut self) -> ExitStatus {
        self.proc.signal("TERM");
        let status = self.proc.wait_for(Duration::from_secs(20));
        status.unwrap_or_else(|| {
            panic!(
                "serve still runs 20 s after SIGTERM:\n{}",
                self.proc.output()
            )
        })
    }

    /// SIGTERM must end it with exit status 0.
    fn terminate_cleanly(&mut self) {
        let status = self.terminate();
        assert_eq!(
            status.code(),
            Some(0),
            "serve after SIGTERM: {status}\n{}",
            self.proc.output()
        );
    }

    fn output(&self) -> String {
        self.proc.output()
    }
}

/// Every file and directory below `dir`, relative, sorted (hidden ones included).
fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                out.push(format!("{rel}/"));
                walk(base, &path, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Writes `data` as `dir/name` the way an editor or a packager does: into a hidden temporary
/// file of the same directory, closed, then renamed into place.
fn write_renamed(dir: &Path, name: &str, data: &[u8]) {
    let path = dir.join(name);
    let parent = path.parent().unwrap();
    std::fs::create_dir_all(parent).unwrap();
    let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
    let temp = parent.join(format!(".{file_name}.tmp"));
    std::fs::write(&temp, data).unwrap();
    std::fs::rename(&temp, &path).unwrap();
}

/// Writes `data` as `dir/name` in place (created or truncated, written, closed).
fn write_in_place(dir: &Path, name: &str, data: &[u8]) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, data).unwrap();
}

/// Waits until `dir/name` holds content of SHA-256 `want`.
fn wait_for_file(dir: &Path, name: &str, want: [u8; 32], context: &dyn Fn() -> String) {
    wait_until(
        ARRIVAL,
        &format!("{name} did not arrive intact in {}", dir.display()),
        context,
        || (sha256(&dir.join(name)) == Some(want)).then_some(()),
    );
}

#[test]
fn the_example_configuration_carries_written_renamed_and_nested_files_to_its_inbox() {
    require("curl", "curl");
    let dir = TempDir::new("serve-example");
    let example_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/loopback.toml");
    let example = std::fs::read_to_string(&example_path).unwrap();
    // Everything as shipped but the API's port, which another program may hold.
    let listen = "listen = \"127.0.0.1:9464\"";
    assert_eq!(example.matches(listen).count(), 1, "{example}");
    let port = free_port();
    let config = dir.path().join("loopback.toml");
    std::fs::write(
        &config,
        example.replace(listen, &format!("listen = \"127.0.0.1:{port}\"")),
    )
    .unwrap();
    let api: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let log = dir.path().join("serve.log");
    let mut serve = Serve::start(None, &config, api, &log);
    serve.wait_ready(&["loopback-out", "loopback-in"]);
    let outbox = dir.path().join("outbox");
    let inbox = dir.path().join("inbox");
    assert!(outbox.is_dir(), "serve creates the watched directory");
    let context = || serve.output();

    let seed = seed();
    eprintln!("seed {seed} (XFLUTE_SEED replays it)");
    let mut rng = Rng::new(seed);
    // Several source blocks (64 symbols of 1400 bytes each), one block, a few bytes, and an
    // XML file that the example's rule sends gzip-encoded.
    let written = random_bytes(300_001, rng.next_u64());
    let renamed = random_bytes(120_000, rng.next_u64());
    let nested = b"nested in a directory made after serve started\n".repeat(100);
    let xml = format!(
        "<?xml version=\"1.0\"?>\n<feed>{}</feed>\n",
        "<item>news</item>".repeat(500)
    );
    write_in_place(&outbox, "written.bin", &written);
    write_renamed(&outbox, "renamed.bin", &renamed);
    write_in_place(&outbox, "sub/deeper/nested.txt", &nested);
    write_in_place(&outbox, "feed.xml", xml.as_bytes());
    for (name, data) in [
        ("written.bin", &written[..]),
        ("renamed.bin", &renamed[..]),
        ("sub/deeper/nested.txt", &nested[..]),
        ("feed.xml", xml.as_bytes()),
    ] {
        wait_for_file(&inbox, name, digest(data), &context);
    }

    // A new version of a file arrives in its place.
    let rewritten = random_bytes(200_000, rng.next_u64());
    write_in_place(&outbox, "written.bin", &rewritten);
    wait_for_file(&inbox, "written.bin", digest(&rewritten), &context);
    assert_eq!(serve.metric("xflute_send_objects", "loopback-out"), 4.0);

    // A deleted file leaves the session (and its FDT).
    std::fs::remove_file(outbox.join("renamed.bin")).unwrap();
    wait_until(
        Duration::from_secs(10),
        "renamed.bin still in the sending session",
        &context,
        || {
            (!serve
                .objects("loopback-out")
                .contains(&"renamed.bin".to_owned()))
            .then_some(())
        },
    );
    assert_eq!(serve.metric("xflute_send_objects", "loopback-out"), 3.0);
    assert_eq!(
        serve.metric("xflute_send_removed_total", "loopback-out"),
        1.0
    );
    let mut objects = serve.objects("loopback-out");
    objects.sort();
    assert_eq!(
        objects,
        ["feed.xml", "sub/deeper/nested.txt", "written.bin"]
    );
    assert_eq!(
        serve.metric("xflute_receive_objects_failed_total", "loopback-in"),
        0.0
    );

    serve.terminate_cleanly();
    // Nothing left behind: no temporary file in the inbox (the receiver keeps what the FDT no
    // longer lists by default), the API's port free again, the outbox as the user left it.
    assert_eq!(
        tree(&inbox),
        [
            "feed.xml",
            "renamed.bin",
            "sub/",
            "sub/deeper/",
            "sub/deeper/nested.txt",
            "written.bin"
        ],
        "{}",
        serve.output()
    );
    assert_eq!(
        tree(&outbox),
        [
            "feed.xml",
            "sub/",
            "sub/deeper/",
            "sub/deeper/nested.txt",
            "written.bin"
        ]
    );
    assert!(
        TcpListener::bind(api).is_ok(),
        "the API's port is still taken"
    );
}

#[test]
fn a_file_still_being_written_into_a_new_directory_is_sent_only_once_complete() {
    require("curl", "curl");
    let pair = NetnsPair::new();
    let dir = TempDir::new("serve-slow-writer");
    let api: SocketAddr = "127.0.0.1:9464".parse().unwrap();
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            "[http]\nlisten = \"{api}\"\n{}",
            loopback_pair_config("slow", "239.255.17.6:3407", 6)
        ),
    )
    .unwrap();
    let mut serve = Serve::start(
        Some(&pair.sender.netns),
        &config,
        api,
        &dir.path().join("serve.log"),
    );
    serve.wait_ready(&["slow-out", "slow-in"]);
    let context = || serve.output();
    // A directory that appears with a file its writer has not finished: the watcher finds the
    // file when it scans the new directory, before the close.
    let mut rng = Rng::new(seed());
    let data = random_bytes(300_000, rng.next_u64());
    let path = dir.path().join("outbox/late/slow.bin");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        let mut file = std::fs::File::create(&path).unwrap();
        for chunk in data.chunks(100_000) {
            file.write_all(chunk).unwrap();
            file.flush().unwrap();
            std::thread::sleep(Duration::from_millis(400));
        }
    }
    wait_for_file(
        &dir.path().join("inbox"),
        "late/slow.bin",
        digest(&data),
        &context,
    );
    // Whatever was queued from the unfinished file would have arrived by now.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        serve.metric("xflute_send_versions_total", "slow-out"),
        1.0,
        "a truncated version went out\n{}",
        serve.output()
    );
    let recent = serve.session("slow-in")["recent"].clone();
    assert_eq!(
        recent.as_array().map(Vec::len),
        Some(1),
        "the receiver completed more than the finished file: {recent}"
    );
    assert_eq!(recent[0]["bytes"], 300_000);
    serve.terminate_cleanly();
    drop(serve);
    pair.close();
}

/// Sets its flag when dropped, so that a helper thread of a scope ends also when the test
/// panics (a scope waits for its threads before it lets a panic through).
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Records every distinct content that files of `names` take below `dir`, in order, by polling
/// (a file that changes is read once its size, time or inode changed).
fn observe(
    dir: &Path,
    names: &[&str],
    stop: &AtomicBool,
    seen: &Mutex<BTreeMap<String, Vec<[u8; 32]>>>,
) {
    let mut last: BTreeMap<String, (u64, u64, i64, i64)> = BTreeMap::new();
    while !stop.load(Ordering::Relaxed) {
        for name in names {
            let Ok(meta) = std::fs::metadata(dir.join(name)) else {
                continue;
            };
            let identity = (meta.ino(), meta.len(), meta.mtime(), meta.mtime_nsec());
            if last.get(*name) == Some(&identity) {
                continue;
            }
            let Some(d) = sha256(&dir.join(name)) else {
                continue;
            };
            last.insert((*name).to_owned(), identity);
            let mut seen = seen.lock().unwrap();
            let versions = seen.entry((*name).to_owned()).or_default();
            if versions.last() != Some(&d) {
                versions.push(d);
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn files_created_rewritten_and_deleted_reach_a_serve_receiver_in_another_namespace_in_order() {
    require("curl", "curl");
    let pair = NetnsPair::new();
    let dir = TempDir::new("serve-netns");
    let (tx_dir, rx_dir) = (dir.path().join("tx"), dir.path().join("rx"));
    std::fs::create_dir_all(&tx_dir).unwrap();
    std::fs::create_dir_all(&rx_dir).unwrap();
    std::fs::write(
        tx_dir.join("serve.toml"),
        format!(
            r#"
[http]
listen = "127.0.0.1:9464"

[[send]]
name = "tx"
dest = "239.255.17.2:3402"
iface = "{}"
backend = "udp"
tsi = 7
rate = "50M"
fec = "rs28"
repair_pct = 20
carousel = "1s"
watch = ["outbox"]
"#,
            pair.sender.interface
        ),
    )
    .unwrap();
    std::fs::write(
        rx_dir.join("serve.toml"),
        format!(
            r#"
[http]
listen = "127.0.0.1:9464"

[[receive]]
name = "rx"
group = "239.255.17.2:3402"
source = "{}"
iface = "{}"
backend = "udp"
tsi = [7]
out = "inbox"
"#,
            pair.sender.ipv4, pair.receiver.interface
        ),
    )
    .unwrap();
    let api: SocketAddr = "127.0.0.1:9464".parse().unwrap();
    let mut receiver = Serve::start(
        Some(&pair.receiver.netns),
        &rx_dir.join("serve.toml"),
        api,
        &rx_dir.join("serve.log"),
    );
    let mut sender = Serve::start(
        Some(&pair.sender.netns),
        &tx_dir.join("serve.toml"),
        api,
        &tx_dir.join("serve.log"),
    );
    receiver.wait_ready(&["rx"]);
    sender.wait_ready(&["tx"]);
    let (outbox, inbox) = (tx_dir.join("outbox"), rx_dir.join("inbox"));
    let context = || {
        format!(
            "sender:\n{}\nreceiver:\n{}",
            sender.output(),
            receiver.output()
        )
    };

    let seed = seed();
    eprintln!("seed {seed} (XFLUTE_SEED replays it)");
    let mut rng = Rng::new(seed);
    let names = ["a.bin", "docs/b.txt", "c.dat"];
    // Every version written, per name, in order: (SHA-256, length).
    let mut written: BTreeMap<String, Vec<([u8; 32], usize)>> = BTreeMap::new();
    let stop = AtomicBool::new(false);
    let seen = Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        scope.spawn(|| observe(&inbox, &names, &stop, &seen));
        let stopper = StopOnDrop(&stop);
        let mut version = |rng: &mut Rng, name: &str, len: usize, renamed: bool| {
            let data = random_bytes(len, rng.next_u64());
            if renamed {
                write_renamed(&outbox, name, &data);
            } else {
                write_in_place(&outbox, name, &data);
            }
            written
                .entry(name.to_owned())
                .or_default()
                .push((digest(&data), len));
            digest(&data)
        };
        {
            let len = 150_000 + rng.range(0, 1000) as usize;
            let a = version(&mut rng, "a.bin", len, false);
            let b = version(&mut rng, "docs/b.txt", 2_000, true);
            let c = version(&mut rng, "c.dat", 1, false);
            wait_for_file(&inbox, "a.bin", a, &context);
            wait_for_file(&inbox, "docs/b.txt", b, &context);
            wait_for_file(&inbox, "c.dat", c, &context);
            // Versions that follow each other faster than a person would, each in full.
            let mut last = a;
            for len in [90_000, 1_400, 200_000] {
                std::thread::sleep(Duration::from_millis(700));
                last = version(&mut rng, "a.bin", len, false);
            }
            wait_for_file(&inbox, "a.bin", last, &context);
            let b = version(&mut rng, "docs/b.txt", 30_000, true);
            wait_for_file(&inbox, "docs/b.txt", b, &context);
        }
        // A deleted file leaves the FDT; written again, it is a new object that arrives.
        std::fs::remove_file(outbox.join("c.dat")).unwrap();
        wait_until(
            Duration::from_secs(10),
            "c.dat still in the sender's session",
            &context,
            || (!sender.objects("tx").contains(&"c.dat".to_owned())).then_some(()),
        );
        let c = version(&mut rng, "c.dat", 70_000, false);
        wait_for_file(&inbox, "c.dat", c, &context);
        // A directory removed takes its files out of the FDT.
        std::fs::remove_dir_all(outbox.join("docs")).unwrap();
        wait_until(
            Duration::from_secs(10),
            "docs/b.txt still in the sender's session",
            &context,
            || (sender.objects("tx") == ["a.bin", "c.dat"]).then_some(()),
        );
        let a = version(&mut rng, "a.bin", 64 * 1400, false);
        wait_for_file(&inbox, "a.bin", a, &context);
        // Let the observer look once more before it stops.
        std::thread::sleep(Duration::from_millis(100));
        drop(stopper);
    });

    // Every version arrived intact, in the order written, and nothing else did.
    let seen = seen.into_inner().unwrap();
    for (name, versions) in &written {
        let want: Vec<[u8; 32]> = versions.iter().map(|(d, _)| *d).collect();
        assert_eq!(
            seen.get(name),
            Some(&want),
            "{name}: the receiver's file did not take every version in order\n{}",
            context()
        );
    }
    // The receiver completed each version once, in order (its recent completions).
    let status = receiver.session("rx");
    let recent: Vec<(String, u64)> = status["recent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    for (name, versions) in &written {
        let lengths: Vec<u64> = versions.iter().map(|(_, l)| *l as u64).collect();
        let completed: Vec<u64> = recent
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, l)| *l)
            .collect();
        assert_eq!(completed, lengths, "{name}: {recent:?}");
    }
    assert_eq!(status["failed"], 0, "{status}");

    sender.terminate_cleanly();
    receiver.terminate_cleanly();
    drop((sender, receiver));
    pair.close();
}

#[test]
fn a_receiver_that_mirrors_deletes_what_its_sender_dropped_and_never_what_it_still_lists() {
    require("curl", "curl");
    let pair = NetnsPair::new();
    let dir = TempDir::new("serve-mirror");
    let api: SocketAddr = "127.0.0.1:9464".parse().unwrap();
    // FDT Instances valid for 2 s: the receiver may hold none for a moment between one that
    // lapses and its refresh, which must not read as "lists nothing".
    let config = format!(
        r#"
[http]
listen = "{api}"

[[send]]
name = "mirror-out"
dest = "239.255.17.7:3408"
iface = "lo"
tsi = 8
rate = "20M"
carousel = "200ms"
fdt_expires = "2s"
watch = ["outbox"]

[[receive]]
name = "mirror-in"
group = "239.255.17.7:3408"
iface = "lo"
tsi = [8]
out = "inbox"
on_unlisted = "delete"
"#
    );
    std::fs::write(dir.path().join("serve.toml"), config).unwrap();
    let (outbox, inbox) = (dir.path().join("outbox"), dir.path().join("inbox"));
    let mut rng = Rng::new(seed());
    let keep = random_bytes(20_000, rng.next_u64());
    let gone = random_bytes(5_000, rng.next_u64());
    write_in_place(&outbox, "keep.bin", &keep);
    write_in_place(&outbox, "sub/gone.bin", &gone);
    let mut serve = Serve::start(
        Some(&pair.sender.netns),
        &dir.path().join("serve.toml"),
        api,
        &dir.path().join("serve.log"),
    );
    serve.wait_ready(&["mirror-out", "mirror-in"]);
    let context = || serve.output();
    wait_for_file(&inbox, "keep.bin", digest(&keep), &context);
    wait_for_file(&inbox, "sub/gone.bin", digest(&gone), &context);
    std::fs::remove_file(outbox.join("sub/gone.bin")).unwrap();
    // For 8 s (several FDT lifetimes), keep.bin never leaves; gone.bin does.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(8) {
        assert_eq!(
            sha256(&inbox.join("keep.bin")),
            Some(digest(&keep)),
            "keep.bin, still listed by the sender, left the receiver's directory after {:?}\n{}",
            start.elapsed(),
            serve.output()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        !inbox.join("sub/gone.bin").exists(),
        "sub/gone.bin is still in the receiver's directory\n{}",
        serve.output()
    );
    assert_eq!(serve.session("mirror-in")["unlisted_deleted"], 1);
    serve.terminate_cleanly();
    drop(serve);
    pair.close();
}

/// `serve.toml` of a session pair on the namespace's loopback, with the Prometheus test's
/// names.
fn loopback_pair_config(name: &str, group: &str, tsi: u64) -> String {
    format!(
        r#"
[[send]]
name = "{name}-out"
dest = "{group}"
iface = "lo"
tsi = {tsi}
rate = "20M"
carousel = "1s"
watch = ["outbox"]

[[receive]]
name = "{name}-in"
group = "{group}"
iface = "lo"
tsi = [{tsi}]
out = "inbox"
"#
    )
}

#[test]
fn a_prometheus_server_scrapes_the_session_counters_and_promtool_accepts_the_metrics() {
    require("curl", "curl");
    require("prometheus", "prometheus");
    require("promtool", "prometheus");
    let pair = NetnsPair::new();
    let ns = pair.sender.netns.clone();
    let dir = TempDir::new("serve-prometheus");
    // Both servers listen inside a namespace of this test: every port there is free.
    let api: SocketAddr = "127.0.0.1:9464".parse().unwrap();
    let prometheus_port = 19090;
    std::fs::write(
        dir.path().join("serve.toml"),
        format!(
            "[http]\nlisten = \"{api}\"\n{}",
            loopback_pair_config("prom", "239.255.17.3:3403", 3)
        ),
    )
    .unwrap();
    let outbox = dir.path().join("outbox");
    let mut rng = Rng::new(seed());
    let files = [
        ("one.bin", random_bytes(50_000, rng.next_u64())),
        ("two.bin", random_bytes(3_000, rng.next_u64())),
    ];
    for (name, data) in &files {
        write_in_place(&outbox, name, data);
    }
    let mut serve = Serve::start(
        Some(&ns),
        &dir.path().join("serve.toml"),
        api,
        &dir.path().join("serve.log"),
    );
    serve.wait_ready(&["prom-out", "prom-in"]);
    let context = || serve.output();
    for (name, data) in &files {
        wait_for_file(&dir.path().join("inbox"), name, digest(data), &context);
    }

    // promtool reads the exposition from its standard input.
    let metrics = serve.metrics();
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let checked = promtool.wait_with_output().unwrap();
    assert!(
        checked.status.success() && checked.stdout.is_empty() && checked.stderr.is_empty(),
        "promtool check metrics: {}\n{}{}\n{metrics}",
        checked.status,
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: xflute\n    static_configs:\n      \
             - targets: [\"{api}\"]\n"
        ),
    )
    .unwrap();
    let config_flag = format!(
        "--config.file={}",
        dir.path().join("prometheus.yml").display()
    );
    let tsdb_flag = format!("--storage.tsdb.path={}", dir.path().join("tsdb").display());
    let listen_flag = format!("--web.listen-address=127.0.0.1:{prometheus_port}");
    let prometheus = Guard::spawn(
        Some(&ns),
        &["prometheus", &config_flag, &tsdb_flag, &listen_flag],
        dir.path(),
        &dir.path().join("prometheus.log"),
    );
    let context = || {
        format!(
            "serve:\n{}\nprometheus:\n{}",
            serve.output(),
            prometheus.output()
        )
    };
    // The value Prometheus holds for `query` with label session=`session`, once it has one.
    let query = |query: &str, session: &str| -> Option<f64> {
        let url = format!("http://127.0.0.1:{prometheus_port}/api/v1/query?query={query}");
        let (status, body) = http(Some(&ns), "GET", &url, None, None);
        if status != 200 {
            return None;
        }
        let v: Value = serde_json::from_slice(&body).ok()?;
        assert_eq!(v["status"], "success", "{v}");
        v["data"]["result"]
            .as_array()?
            .iter()
            .find(|r| r["metric"]["session"] == session && r["metric"]["job"] == "xflute")
            .and_then(|r| r["value"][1].as_str()?.parse().ok())
    };
    let sent = wait_until(
        Duration::from_secs(60),
        "Prometheus has no xflute_send_packets_total of the session",
        &context,
        || query("xflute_send_packets_total", "prom-out").filter(|v| *v > 0.0),
    );
    let now = serve.metric("xflute_send_packets_total", "prom-out");
    assert!(
        sent <= now,
        "Prometheus holds {sent} packets, more than serve's {now}"
    );
    // Nothing changes in the outbox: the receiver's count stays at the two files.
    let completed = wait_until(
        Duration::from_secs(30),
        "Prometheus has no xflute_receive_objects_completed_total of the session",
        &context,
        || query("xflute_receive_objects_completed_total", "prom-in"),
    );
    assert_eq!(completed, 2.0);
    assert_eq!(
        serve.metric("xflute_receive_objects_completed_total", "prom-in"),
        2.0
    );
    // The scrape itself succeeded (a malformed exposition makes `up` 0).
    let up = wait_until(
        Duration::from_secs(10),
        "Prometheus has no up of the job",
        &context,
        || {
            let url = format!("http://127.0.0.1:{prometheus_port}/api/v1/query?query=up");
            let (_, body) = http(Some(&ns), "GET", &url, None, None);
            let v: Value = serde_json::from_slice(&body).ok()?;
            v["data"]["result"][0]["value"][1]
                .as_str()
                .and_then(|s| s.parse::<f64>().ok())
        },
    );
    assert_eq!(up, 1.0, "{}", context());

    drop(prometheus);
    serve.terminate_cleanly();
    drop(serve);
    pair.close();
}

#[test]
fn sighup_restarts_the_changed_session_and_the_unchanged_one_loses_nothing() {
    require("curl", "curl");
    let pair = NetnsPair::new();
    let ns = pair.sender.netns.clone();
    let dir = TempDir::new("serve-sighup");
    let api: SocketAddr = "127.0.0.1:9464".parse().unwrap();
    let config = |rate_a: &str| {
        format!(
            r#"
[http]
listen = "{api}"

[[send]]
name = "a"
dest = "239.255.17.4:3404"
iface = "lo"
tsi = 41
rate = "{rate_a}"
carousel = "1s"
watch = ["out-a"]

[[send]]
name = "b"
dest = "239.255.17.4:3405"
iface = "lo"
tsi = 42
rate = "5M"
carousel = "100ms"
watch = ["out-b"]

[[receive]]
name = "a-in"
group = "239.255.17.4:3404"
iface = "lo"
tsi = [41]
out = "in-a"

[[receive]]
name = "b-in"
group = "239.255.17.4:3405"
iface = "lo"
tsi = [42]
out = "in-b"
"#
        )
    };
    let path = dir.path().join("serve.toml");
    std::fs::write(&path, config("5M")).unwrap();
    let mut rng = Rng::new(seed());
    // B sends all the time: a 200 KB file takes about 0.33 s at 5 Mbit/s, then 100 ms pause.
    let steady = random_bytes(200_000, rng.next_u64());
    write_in_place(&dir.path().join("out-b"), "steady.bin", &steady);
    let mut serve = Serve::start(Some(&ns), &path, api, &dir.path().join("serve.log"));
    serve.wait_ready(&["a", "b", "a-in", "b-in"]);
    let context = || serve.output();
    let (in_a, in_b) = (dir.path().join("in-a"), dir.path().join("in-b"));
    wait_for_file(&in_b, "steady.bin", digest(&steady), &context);
    let before: BTreeMap<&str, Value> = ["a", "b", "a-in", "b-in"]
        .into_iter()
        .map(|n| (n, serve.session(n)))
        .collect();

    // B's packet counter and start time, sampled every 50 ms from before the reload to after.
    let stop = AtomicBool::new(false);
    let samples: Mutex<Vec<(Instant, f64, u64)>> = Mutex::new(Vec::new());
    let mut files_a = Vec::new();
    let mut files_b = Vec::new();
    let hup_at = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let b = serve.session("b");
                let sample = (
                    Instant::now(),
                    b["started"].as_f64().unwrap(),
                    b["packets"].as_u64().unwrap(),
                );
                samples.lock().unwrap().push(sample);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let stopper = StopOnDrop(&stop);
        let mut hup_at = None;
        for i in 0..16 {
            if i == 6 {
                std::fs::write(&path, config("6M")).unwrap();
                serve.proc.signal("HUP");
                hup_at = Some(Instant::now());
            }
            let data = random_bytes(1_000 + 3_000 * i, rng.next_u64());
            let name = format!("b-{i:02}.bin");
            write_renamed(&dir.path().join("out-b"), &name, &data);
            files_b.push((name, digest(&data)));
            let data = random_bytes(500 + 2_000 * i, rng.next_u64());
            let name = format!("a-{i:02}.bin");
            write_renamed(&dir.path().join("out-a"), &name, &data);
            files_a.push((name, digest(&data)));
            std::thread::sleep(Duration::from_millis(200));
        }
        for (name, d) in &files_b {
            wait_for_file(&in_b, name, *d, &context);
        }
        for (name, d) in &files_a {
            wait_for_file(&in_a, name, *d, &context);
        }
        drop(stopper);
        hup_at.unwrap()
    });

    let status = serve.status();
    assert_eq!(status["reloads"], 1, "{status}");
    assert_eq!(
        serve
            .metrics()
            .lines()
            .find(|l| l.starts_with("xflute_reload_failures_total "))
            .unwrap(),
        "xflute_reload_failures_total 0"
    );
    // A restarted with its new rate; B and both receivers were not touched.
    let a = serve.session("a");
    assert!(
        a["started"].as_f64() > before["a"]["started"].as_f64(),
        "a was not restarted: {a}"
    );
    assert_eq!(a["rate_bps"], 6_000_000);
    for name in ["b", "a-in", "b-in"] {
        assert_eq!(
            serve.session(name)["started"],
            before[name]["started"],
            "{name} was restarted"
        );
    }
    // B's counter grew all along, without a pause around the reload: its worker kept sending.
    let samples = samples.into_inner().unwrap();
    assert!(
        samples.first().is_some_and(
            |s| s.0 < hup_at && samples.last().unwrap().0 > hup_at + Duration::from_secs(2)
        ),
        "the samples do not span the reload"
    );
    let started_b = before["b"]["started"].as_f64().unwrap();
    let mut last_growth = samples[0].0;
    for pair in samples.windows(2) {
        let ((_, s0, p0), (t1, s1, p1)) = (pair[0], pair[1]);
        assert_eq!((s0, s1), (started_b, started_b), "b restarted");
        assert!(p1 >= p0, "b's packet counter went back: {p0} then {p1}");
        if p1 > p0 {
            assert!(
                t1 - last_growth < Duration::from_millis(1500),
                "b sent nothing for {:?} (reload at {:?} into the samples)",
                t1 - last_growth,
                hup_at - samples[0].0
            );
            last_growth = t1;
        }
    }
    // B's receiver got every file without a failure or a drop.
    let b_in = serve.session("b-in");
    assert_eq!(b_in["failed"], 0, "{b_in}");
    assert_eq!(b_in["drops"], 0, "{b_in}");
    assert_eq!(
        b_in["completed"].as_u64(),
        Some(files_b.len() as u64 + 1),
        "{b_in}"
    );

    serve.terminate_cleanly();
    drop(serve);
    pair.close();
}

#[test]
fn the_api_refuses_changes_without_a_token_and_adds_removes_and_describes_with_one() {
    require("curl", "curl");
    let pair = NetnsPair::new();
    let ns = pair.sender.netns.clone();
    let dir = TempDir::new("serve-api");
    let api: SocketAddr = "127.0.0.1:9464".parse().unwrap();
    let send = r#"
[[send]]
name = "api-out"
dest = "239.255.17.5:3406"
iface = "lo"
tsi = 5
rate = "20M"
fec = "rs28"
carousel = "500ms"
"#;
    let path = dir.path().join("serve.toml");
    std::fs::write(&path, format!("[http]\nlisten = \"{api}\"\n{send}")).unwrap();
    let mut serve = Serve::start(Some(&ns), &path, api, &dir.path().join("serve.log"));
    serve.wait_ready(&["api-out"]);
    let context = || serve.output();

    // The session's description.
    let (status, sdp) = serve.get("/sessions/api-out.sdp");
    assert_eq!(status, 200, "{sdp}");
    for line in [
        "v=0",
        "s=api-out",
        "a=flute-tsi:5",
        "a=flute-ch:1",
        "a=FEC-declaration:0 encoding-id=5",
        "m=application 3406 FLUTE/UDP 0",
        "c=IN IP4 239.255.17.5/8",
        "b=AS:20000",
    ] {
        assert!(sdp.lines().any(|l| l == line), "no {line:?} in\n{sdp}");
    }
    assert_eq!(serve.get("/sessions/nothing.sdp").0, 404);

    // Without a token configured, nothing changes through the API.
    let hello = b"hello through the API\n".repeat(1000);
    let receive = "[[receive]]\nname = \"api-in\"\nsdp = \"api-out.sdp\"\niface = \"lo\"\n\
                   out = \"api-inbox\"\n";
    for (method, url, body) in [
        (
            "PUT",
            "/sessions/api-out/objects?name=docs/hello.txt",
            Some(&hello[..]),
        ),
        (
            "DELETE",
            "/sessions/api-out/objects?name=docs/hello.txt",
            None,
        ),
        ("POST", "/sessions", Some(receive.as_bytes())),
        ("PUT", "/sessions/api-out/rate", Some(&b"10M"[..])),
        ("DELETE", "/sessions/api-out", None),
    ] {
        let (status, body) = serve.call(method, url, Some("anything"), body);
        assert_eq!(
            status,
            403,
            "{method} {url} without a token configured: {}",
            String::from_utf8_lossy(&body)
        );
    }

    // A token from a file, taken by a reload; the session is not touched by it.
    std::fs::write(dir.path().join("api-token"), "s3cret-token\n").unwrap();
    std::fs::write(
        &path,
        format!("[http]\nlisten = \"{api}\"\ntoken_file = \"api-token\"\n{send}"),
    )
    .unwrap();
    let started = serve.session("api-out")["started"].clone();
    serve.proc.signal("HUP");
    wait_until(Duration::from_secs(10), "no reload", &context, || {
        (serve.status()["reloads"] == 1).then_some(())
    });
    assert_eq!(serve.session("api-out")["started"], started);
    let url = "/sessions/api-out/objects?name=docs/hello.txt";
    for token in [None, Some("wrong-token!"), Some("s3cret-toke")] {
        let (status, _) = serve.call("PUT", url, token, Some(&hello));
        assert_eq!(status, 401, "PUT with token {token:?}");
    }
    assert!(serve.objects("api-out").is_empty());

    // A receiving session from the SDP, started through the API (relative paths of the body
    // are taken from the configuration file's directory).
    std::fs::write(dir.path().join("api-out.sdp"), &sdp).unwrap();
    let token = Some("s3cret-token");
    let (status, body) = serve.call("POST", "/sessions", token, Some(receive.as_bytes()));
    assert_eq!(
        status,
        201,
        "POST /sessions: {}",
        String::from_utf8_lossy(&body)
    );
    let created: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(created["session"], "api-in");
    let api_in = serve.session("api-in");
    assert_eq!(api_in["group"], "239.255.17.5:3406");
    assert_eq!(api_in["tsi"], serde_json::json!([5]));
    let (status, _) = serve.call("POST", "/sessions", token, Some(receive.as_bytes()));
    assert_eq!(status, 409, "a second session of the same name");
    let (status, _) = serve.call("POST", "/sessions", token, Some(b"[[receive]]\nname = 1"));
    assert_eq!(status, 400, "a body that is not a session");

    // An object added through the API arrives.
    let (status, body) = serve.call("PUT", url, token, Some(&hello));
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let toi: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        toi["toi"].as_str().unwrap().parse::<u128>().is_ok(),
        "{toi}"
    );
    let inbox = dir.path().join("api-inbox");
    wait_for_file(&inbox, "docs/hello.txt", digest(&hello), &context);
    assert_eq!(serve.objects("api-out"), ["docs/hello.txt"]);
    assert_eq!(serve.session("api-out")["objects"][0]["from_api"], true);

    // The rate changes without a restart.
    let (status, _) = serve.call("PUT", "/sessions/api-out/rate", token, Some(b"10M"));
    assert_eq!(status, 204);
    assert_eq!(serve.session("api-out")["rate_bps"], 10_000_000);
    let (status, _) = serve.call("PUT", "/sessions/api-out/rate", token, Some(b"fast"));
    assert_eq!(status, 400);

    // Removed, it leaves the session; removed again, it is not found.
    let (status, _) = serve.call("DELETE", url, token, None);
    assert_eq!(status, 204);
    assert!(serve.objects("api-out").is_empty());
    assert_eq!(serve.metric("xflute_send_removed_total", "api-out"), 1.0);
    let (status, _) = serve.call("DELETE", url, token, None);
    assert_eq!(status, 404);
    let (status, _) = serve.call("PUT", "/sessions/nothing/objects?name=x", token, Some(b"x"));
    assert_eq!(status, 404);
    let (status, _) = serve.call(
        "PUT",
        "/sessions/api-out/objects?name=../x",
        token,
        Some(b"x"),
    );
    assert_eq!(status, 400);

    // A session stopped through the API leaves /status.
    let (status, _) = serve.call("DELETE", "/sessions/api-in", token, None);
    assert_eq!(status, 204);
    let names: Vec<Value> = serve.status()["receive"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert!(names.is_empty(), "{names:?}");
    assert_eq!(serve.get("/sessions/api-in").0, 404);

    serve.terminate_cleanly();
    drop(serve);
    pair.close();
}

#[test]
fn serve_tells_systemd_ready_watchdog_reloading_and_stopping() {
    let dir = TempDir::new("serve-notify");
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let port = free_port();
    let config = dir.path().join("serve.toml");
    // No session at all: an API alone is a valid service.
    std::fs::write(&config, format!("[http]\nlisten = \"127.0.0.1:{port}\"\n")).unwrap();
    let log = dir.path().join("serve.log");
    let file = std::fs::File::create(&log).unwrap();
    let child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "400000")
        .stdout(Stdio::from(file.try_clone().unwrap()))
        .stderr(Stdio::from(file))
        .spawn()
        .unwrap();
    let mut proc = Guard {
        child: Some(child),
        log,
    };
    let messages = Mutex::new(Vec::<String>::new());
    let receive_until = |want: &dyn Fn(&[String]) -> bool, what: &str| {
        let start = Instant::now();
        let mut buf = [0u8; 512];
        loop {
            if let Ok(n) = socket.recv(&mut buf) {
                messages
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
            if want(&messages.lock().unwrap()) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no {what}: {:?}\n{}",
                messages.lock().unwrap(),
                proc.output()
            );
        }
    };
    receive_until(
        &|m| m.iter().any(|s| s.starts_with("READY=1\nSTATUS=0 sending")),
        "READY=1 with a STATUS",
    );
    // Every 200 ms (half of WATCHDOG_USEC): several within a second.
    let watchdogs = |m: &[String]| m.iter().filter(|s| s.starts_with("WATCHDOG=1")).count();
    receive_until(&|m| watchdogs(m) >= 3, "WATCHDOG=1 every 200 ms");
    proc.signal("HUP");
    receive_until(
        &|m| {
            m.iter()
                .position(|s| s == "RELOADING=1")
                .is_some_and(|i| m[i + 1..].iter().any(|s| s.starts_with("READY=1")))
        },
        "RELOADING=1 then READY=1",
    );
    proc.signal("TERM");
    receive_until(&|m| m.iter().any(|s| s == "STOPPING=1"), "STOPPING=1");
    let status = proc.wait_for(Duration::from_secs(20)).unwrap();
    assert_eq!(status.code(), Some(0), "{}", proc.output());
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify_and_its_configuration_checks() {
    require("systemd-analyze", "systemd");
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/xflute.service"),
    )
    .unwrap();
    for line in [
        "Type=notify",
        "ExecStart=/usr/bin/xflute serve --config /etc/xflute/serve.toml",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_BPF CAP_IPC_LOCK",
    ] {
        assert!(unit.lines().any(|l| l == line), "no {line:?} in the unit");
    }
    assert!(unit.lines().any(|l| l.starts_with("WatchdogSec=")));
    // The configuration shipped beside it can be served (and keeps to the state directory).
    let packaged = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/serve.toml");
    let out = Command::new(BIN)
        .args(["serve", "--check", "--config"])
        .arg(&packaged)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&packaged).unwrap();
    for key in ["watch = [", "out = "] {
        let line = text.lines().find(|l| l.starts_with(key)).unwrap();
        assert!(line.contains("\"/var/lib/xflute/"), "{line}");
    }
    // verify checks that the programs exist: the built binary stands in for /usr/bin/xflute.
    let dir = TempDir::new("serve-unit");
    let path = dir.path().join("xflute.service");
    std::fs::write(&path, unit.replace("/usr/bin/xflute", BIN)).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    // verify exits 0 after warnings (an unknown key, a bad value): it must say nothing.
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "systemd-analyze verify: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The FDT instances and the FEC Encoding ID of the object packets that reach `socket` until
/// `done` holds of them: FDT instances by ID (each assembled from its no-code packets), and
/// the FEC Encoding IDs seen per TOI.
#[derive(Default)]
struct OnTheWire {
    fdts: BTreeMap<u32, xflute::fdt::FdtInstance>,
    fec_ids: BTreeMap<u128, std::collections::BTreeSet<u8>>,
    packets: BTreeMap<u128, u64>,
    /// Instance IDs in the order they were first assembled.
    order: Vec<u32>,
}

impl OnTheWire {
    fn listen(
        socket: &std::net::UdpSocket,
        limit: Duration,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Self {
        use xflute::fec::BlockPartition;
        use xflute::wire::AlcPacket;
        let mut wire = Self::default();
        // FDT packets by instance: (transfer length, symbol length, max block, payloads by
        // symbol number).
        type Parts = (u64, u32, u32, BTreeMap<u64, Vec<u8>>);
        let mut parts: BTreeMap<u32, Parts> = BTreeMap::new();
        let start = Instant::now();
        let mut buf = vec![0u8; 65536];
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        while start.elapsed() < limit && !done(&wire) {
            let Ok(n) = socket.recv(&mut buf) else {
                continue;
            };
            let alc = AlcPacket::parse(&buf[..n]).expect("serve sent a malformed ALC packet");
            let toi = alc.lct().toi;
            if toi != 0 {
                let id = alc.fec_encoding_id().unwrap() as u8;
                wire.fec_ids.entry(toi).or_default().insert(id);
                *wire.packets.entry(toi).or_default() += 1;
                continue;
            }
            let (Some(fdt), Some(fti), Some(pid)) = (alc.ext_fdt(), alc.fti(), alc.payload_id())
            else {
                continue;
            };
            let entry = parts.entry(fdt.fdt_instance_id).or_insert_with(|| {
                (
                    fti.transfer_length,
                    u32::from(fti.encoding_symbol_length),
                    fti.maximum_source_block_length,
                    BTreeMap::new(),
                )
            });
            let (len, e, b, symbols) = entry;
            let partition = BlockPartition::rfc5052(*len, *e, *b).unwrap();
            let number =
                partition.first_symbol_of_block(u64::from(pid.sbn)).unwrap() + u64::from(pid.esi);
            symbols.insert(number, alc.payload().to_vec());
            if symbols.len() as u64 == partition.nb_source_symbols() {
                let mut xml: Vec<u8> = symbols.values().flatten().copied().collect();
                xml.truncate(*len as usize);
                let instance = xflute::fdt::FdtInstance::parse(&xml, &Default::default())
                    .expect("serve sent an FDT instance that does not parse");
                if wire.fdts.insert(fdt.fdt_instance_id, instance).is_none() {
                    wire.order.push(fdt.fdt_instance_id);
                }
            }
        }
        wire
    }

    /// The File entry named `name` in the newest instance that lists it.
    fn file(&self, name: &str) -> Option<&xflute::fdt::File> {
        self.order
            .iter()
            .rev()
            .filter_map(|id| self.fdts.get(id))
            .find_map(|i| i.files.iter().find(|f| f.content_location.ends_with(name)))
    }

    /// The instance assembled last.
    fn newest(&self) -> Option<&xflute::fdt::FdtInstance> {
        self.order.last().and_then(|id| self.fdts.get(id))
    }
}

/// Rules set each object's FEC, content encoding, Cache-Control, expiry and carousel, and the
/// wire says so: `serve` sends to a unicast address on loopback, where the test reads every
/// packet and assembles every FDT instance itself.
#[test]
fn rules_set_fec_encoding_cache_control_expiry_and_carousel_of_each_object_on_the_wire() {
    let dir = TempDir::new("serve-rules");
    let outbox = dir.0.join("outbox");
    std::fs::create_dir_all(&outbox).unwrap();
    let mut rng = Rng::new(seed());
    let files = [
        ("a.bin", 100_000),
        ("b.xml", 20_000),
        ("c.txt", 10_000),
        ("d.dat", 5_000),
    ];
    for (name, len) in files {
        std::fs::write(outbox.join(name), random_bytes(len, rng.next_u64())).unwrap();
    }
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dest = socket.local_addr().unwrap();
    let api: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = dir.0.join("rules.toml");
    std::fs::write(
        &config,
        format!(
            "[http]\nlisten = \"{api}\"\n\n[[send]]\nname = \"rules\"\ndest = \"{dest}\"\n\
             iface = \"lo\"\nrate = \"20M\"\ncarousel = \"200ms\"\nwatch = [\"outbox\"]\n\n\
             [[send.rule]]\nmatch = \"*.bin\"\nfec = \"rs28\"\nrepair = 4\npriority = 1\n\n\
             [[send.rule]]\nmatch = \"*.xml\"\ncenc = \"gzip\"\ncache_control = \"no-cache\"\n\n\
             [[send.rule]]\nmatch = \"*.dat\"\nexpires = \"3s\"\n\n\
             [[send.rule]]\nmatch = \"*.txt\"\ncarousel = \"off\"\n"
        ),
    )
    .unwrap();
    let mut serve = Serve::start(None, &config, api, &dir.0.join("serve.log"));
    serve.wait_ready(&["rules"]);
    let listed = |w: &OnTheWire| files.iter().all(|(name, _)| w.file(name).is_some());
    let wire = OnTheWire::listen(&socket, ARRIVAL, listed);
    let context = || {
        format!(
            "newest FDT instance: {:?}\n{}",
            wire.newest(),
            serve.output()
        )
    };
    assert!(listed(&wire), "not every file was announced: {}", context());

    let a = wire.file("a.bin").unwrap();
    assert_eq!(a.fec_oti.fec_encoding_id, Some(5), "{}", context());
    assert_eq!(a.fec_oti.maximum_source_block_length, Some(64));
    assert_eq!(a.fec_oti.max_number_of_encoding_symbols, Some(68));
    let b = wire.file("b.xml").unwrap();
    assert_eq!(b.content_encoding.as_deref(), Some("gzip"), "{}", context());
    assert_eq!(
        b.cache_control,
        Some(xflute::fdt::CacheControl::NoCache),
        "{}",
        context()
    );
    let c = wire.file("c.txt").unwrap();
    assert_eq!(c.fec_oti.fec_encoding_id, Some(0), "{}", context());
    assert_eq!(c.content_encoding, None);
    assert_eq!(c.cache_control, None);
    let d = wire.file("d.dat").unwrap();
    assert!(
        matches!(d.cache_control, Some(xflute::fdt::CacheControl::Expires(_))),
        "{}",
        context()
    );
    let (a_toi, c_toi) = (a.toi, c.toi);
    assert_eq!(c.fec_oti.fec_encoding_id, Some(0));

    // The packets follow the File entries: RS (ID 5) for a.bin, no-code for the rest.
    let b_toi = b.toi;
    let both = |w: &OnTheWire| w.fec_ids.contains_key(&a_toi) && w.fec_ids.contains_key(&b_toi);
    let packets = OnTheWire::listen(&socket, ARRIVAL, both);
    assert!(both(&packets), "no object packets: {:?}", packets.fec_ids);
    assert_eq!(packets.fec_ids[&a_toi], [5].into(), "{}", context());
    assert_eq!(packets.fec_ids[&b_toi], [0].into(), "{}", context());

    // d.dat expires 3 s after it was queued: a later instance no longer lists it.
    let gone = |w: &OnTheWire| {
        w.newest().is_some_and(|i| {
            i.files
                .iter()
                .any(|f| f.content_location.ends_with("a.bin"))
                && !i
                    .files
                    .iter()
                    .any(|f| f.content_location.ends_with("d.dat"))
        })
    };
    let later = OnTheWire::listen(&socket, ARRIVAL, gone);
    assert!(
        gone(&later),
        "d.dat still listed: {:?}\n{}",
        later.newest(),
        serve.output()
    );
    assert!(serve.metric("xflute_send_expired_total", "rules") >= 1.0);
    // c.txt's rule turns its carousel off: after its one transfer (8 packets of 1400 bytes),
    // no packet of it, while the session's 200 ms carousel repeats b.xml.
    let repeats = OnTheWire::listen(&socket, Duration::from_secs(2), |_| false);
    assert_eq!(
        repeats.packets.get(&c_toi),
        None,
        "c.txt sent again: {:?}",
        repeats.packets
    );
    assert!(
        repeats.packets.get(&b_toi).copied().unwrap_or(0) > 2 * 16,
        "b.xml not repeated: {:?}",
        repeats.packets
    );
    serve.terminate_cleanly();
}

/// The cores each thread of process `pid` may run on, by thread name.
fn thread_cores(pid: u32) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        let allowed = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .unwrap_or_default();
        out.push((comm.trim().to_owned(), allowed.trim().to_owned()));
    }
    out
}

/// A sending session pinned to a core has that core to itself: serve's other threads (API,
/// watcher, main) run on the cores no session names.
#[test]
fn threads_other_than_the_workers_stay_off_the_cores_the_sessions_name() {
    let online = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!(
        online >= 2,
        "this test needs 2 cores or more (this machine has {online})"
    );
    let worker_core = online - 1;
    let dir = TempDir::new("serve-cores");
    std::fs::create_dir_all(dir.0.join("outbox")).unwrap();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dest = socket.local_addr().unwrap();
    let api: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = dir.0.join("cores.toml");
    std::fs::write(
        &config,
        format!(
            "[http]\nlisten = \"{api}\"\n\n[[send]]\nname = \"pinned\"\ndest = \"{dest}\"\n\
             iface = \"lo\"\nrate = \"1M\"\ncores = [{worker_core}]\nwatch = [\"outbox\"]\n"
        ),
    )
    .unwrap();
    let mut serve = Serve::start(None, &config, api, &dir.0.join("serve.log"));
    serve.wait_ready(&["pinned"]);
    let threads = thread_cores(serve.proc.pid());
    let context = || format!("threads and their cores: {threads:?}\n{}", serve.output());
    let worker = threads
        .iter()
        .find(|(name, _)| name.starts_with("xflute-tx"))
        .unwrap_or_else(|| panic!("no worker thread: {}", context()));
    assert_eq!(worker.1, worker_core.to_string(), "{}", context());
    for (name, allowed) in threads.iter().filter(|(n, _)| !n.starts_with("xflute-tx")) {
        let cores: Vec<usize> = allowed
            .split(',')
            .flat_map(|part| match part.split_once('-') {
                Some((a, b)) => (a.parse().unwrap()..=b.parse().unwrap()).collect::<Vec<usize>>(),
                None => vec![part.parse().unwrap()],
            })
            .collect();
        assert!(
            !cores.contains(&worker_core),
            "thread {name} may run on the worker's core: {}",
            context()
        );
    }
    serve.terminate_cleanly();
}
