//! A throw-away pair of network namespaces joined by a veth pair, for the demo (`xflute demo`)
//! and for the tests and benchmarks that need real XDP and AF_XDP (each setup step says why it
//! is there). A crate of its own so that the shipped command line does not depend on the test
//! fixtures.
//!
//! [`NetnsPair::new`] creates two fresh namespaces with names unique to this process and fixture,
//! the veth ends directly inside them (the root namespace never sees them), addresses, a multicast
//! route, GRO on both ends (the peer's NAPI must run for redirected or AF_XDP-sent frames to
//! arrive) and tx checksum offload off (so kernel-sent UDP has real checksums). Closures run in
//! either namespace on a dedicated thread ([`NetnsPair::run_in`]). Everything is removed on drop,
//! also when a test panics; on SIGINT/SIGTERM/SIGHUP, on SIGABRT (a panic in a binary built with
//! `panic = "abort"`) and on SIGPIPE where the process left it fatal, a signal handler removes the
//! namespaces before the process dies; and each new fixture first sweeps namespaces left by processes that are gone.
//!
//! Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN): without it the fixture panics with a message
//! saying so. The test is failed, never skipped.

// setns(2), geteuid(2) and the signal handler are FFI; each block says why it is sound.
#![allow(unsafe_code)]

use std::fs;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::process::{Command, Output};
use std::sync::Once;
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

/// Every namespace this fixture makes starts with this, then `<pid>-<n>-`.
pub const PREFIX: &str = "xflute-";
const NETNS_DIR: &str = "/run/netns";

/// Which end of the pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The sending namespace (tx checksum offload off).
    Sender,
    /// The receiving namespace (where the XDP program and the AF_XDP sockets go).
    Receiver,
}

/// Options of a [`NetnsPair`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairConfig {
    /// Tx and rx queues of each veth end.
    pub queues: u32,
    /// Leave tx checksum offload on (kernel-sent UDP then reaches AF_XDP with a partial,
    /// wrong-looking checksum); off by default.
    pub tx_checksum_offload: bool,
}

impl Default for PairConfig {
    fn default() -> Self {
        Self {
            queues: 1,
            tx_checksum_offload: false,
        }
    }
}

/// One end: its namespace, interface and addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct End {
    /// The namespace's name (under `/run/netns`).
    pub netns: String,
    /// The veth interface's name inside the namespace.
    pub interface: String,
    /// Its Ethernet address.
    pub mac: [u8; 6],
    /// Its IPv4 address (in 198.18.0.0/15, the benchmarking range of RFC 2544).
    pub ipv4: Ipv4Addr,
    /// Its IPv6 address (unique local, fd00::/8).
    pub ipv6: Ipv6Addr,
}

/// Two namespaces joined by a veth pair; removed on drop.
#[derive(Debug)]
pub struct NetnsPair {
    /// The sending end.
    pub sender: End,
    /// The receiving end.
    pub receiver: End,
    /// Queues per veth end.
    pub queues: u32,
    tx_checksum_offload: bool,
    slots: [usize; 2],
}

/// Paths of live namespaces, for the signal handler. Entries are leaked C strings: the handler
/// may read one at any moment, so none is ever freed.
static LIVE: [AtomicPtr<libc::c_char>; 64] = [const { AtomicPtr::new(std::ptr::null_mut()) }; 64];
static NEXT_ID: AtomicU32 = AtomicU32::new(0);
static INIT: Once = Once::new();

impl NetnsPair {
    /// A pair with one queue per end.
    pub fn new() -> Self {
        Self::with_config(PairConfig::default())
    }

    /// A pair as configured. Panics (failing the test) when not root or when a setup command
    /// fails, after removing what it had made.
    pub fn with_config(config: PairConfig) -> Self {
        require_root();
        INIT.call_once(|| {
            sweep_stale();
            install_signal_handlers();
        });
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let end = |tag: &str, host: u8| End {
            netns: format!("{PREFIX}{pid}-{id}-{tag}"),
            interface: format!("xf{tag}"),
            mac: [0x02, 0x58, 0x46, (id >> 8) as u8, id as u8, host],
            ipv4: Ipv4Addr::new(198, 18, 0, host),
            ipv6: Ipv6Addr::new(0xfd00, 0x5846, 0, 0, 0, 0, 0, u16::from(host)),
        };
        let mut pair = Self {
            sender: end("tx", 1),
            receiver: end("rx", 2),
            queues: config.queues.max(1),
            tx_checksum_offload: config.tx_checksum_offload,
            slots: [usize::MAX; 2],
        };
        // From here on, Drop removes whatever exists.
        for (i, netns) in [pair.sender.netns.clone(), pair.receiver.netns.clone()]
            .iter()
            .enumerate()
        {
            ip(&["netns", "add", netns]);
            if let (Some(slot), Some(s)) = (register(netns), pair.slots.get_mut(i)) {
                *s = slot;
            }
        }
        pair.setup();
        pair
    }

    fn setup(&self) {
        let q = self.queues.to_string();
        let mac = |m: [u8; 6]| {
            m.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":")
        };
        let (s, r) = (&self.sender, &self.receiver);
        ip(&[
            "link",
            "add",
            &s.interface,
            "netns",
            &s.netns,
            "numtxqueues",
            &q,
            "numrxqueues",
            &q,
            "address",
            &mac(s.mac),
            "type",
            "veth",
            "peer",
            "name",
            &r.interface,
            "netns",
            &r.netns,
            "numtxqueues",
            &q,
            "numrxqueues",
            &q,
            "address",
            &mac(r.mac),
        ]);
        for end in [s, r] {
            let n = end.netns.as_str();
            let i = end.interface.as_str();
            ip(&["-n", n, "link", "set", "lo", "up"]);
            ip(&[
                "-n",
                n,
                "addr",
                "add",
                &format!("{}/24", end.ipv4),
                "dev",
                i,
            ]);
            ip(&[
                "-n",
                n,
                "-6",
                "addr",
                "add",
                &format!("{}/64", end.ipv6),
                "dev",
                i,
                "nodad",
            ]);
            ip(&["-n", n, "link", "set", i, "up"]);
            ip(&["-n", n, "route", "add", "224.0.0.0/4", "dev", i]);
            // GRO makes the veth run NAPI, which frames redirected or sent by AF_XDP need;
            // tx checksum offload off gives kernel-sent UDP a real checksum (CHECKSUM_PARTIAL
            // frames look corrupt to AF_XDP).
            let tx = if self.tx_checksum_offload {
                "on"
            } else {
                "off"
            };
            self.expect_ok(end, &["ethtool", "-K", i, "gro", "on", "tx", tx]);
        }
    }

    fn expect_ok(&self, end: &End, argv: &[&str]) {
        let out = netns_exec(&end.netns, argv);
        if !out.status.success() {
            panic!(
                "netns fixture: `{}` in {} failed: {}",
                argv.join(" "),
                end.netns,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }

    /// Whether kernel-sent UDP leaves with a partial checksum (see [`PairConfig`]).
    pub fn tx_checksum_offloaded(&self) -> bool {
        self.tx_checksum_offload
    }

    /// The end on `side`.
    pub fn end(&self, side: Side) -> &End {
        match side {
            Side::Sender => &self.sender,
            Side::Receiver => &self.receiver,
        }
    }

    /// Runs `f` on a new thread inside `side`'s namespace and returns its result (a panic in `f`
    /// propagates). Sockets, XDP programs and interfaces that `f` opens belong to that namespace
    /// even after they are returned.
    pub fn run_in<R: Send>(&self, side: Side, f: impl FnOnce() -> R + Send) -> R {
        let path = format!("{NETNS_DIR}/{}", self.end(side).netns);
        std::thread::scope(|scope| {
            let handle = scope.spawn(move || {
                enter_netns(&path);
                f()
            });
            match handle.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// Runs a program inside `side`'s namespace (`ip netns exec`) and returns its output.
    pub fn exec(&self, side: Side, argv: &[&str]) -> Output {
        netns_exec(&self.end(side).netns, argv)
    }

    /// `ip -o link` inside `side`'s namespace.
    pub fn links(&self, side: Side) -> String {
        let out = Command::new("ip")
            .args(["-n", &self.end(side).netns, "-o", "link"])
            .output()
            .unwrap_or_else(|e| panic!("netns fixture: running ip: {e}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Adds another address to `side`'s interface (a second source for source-specific tests).
    pub fn add_address(&self, side: Side, cidr: &str) {
        let end = self.end(side);
        let family = if cidr.contains(':') { "-6" } else { "-4" };
        let mut args = vec!["-n", end.netns.as_str(), family, "addr", "add", cidr];
        args.extend(["dev", end.interface.as_str()]);
        if family == "-6" {
            args.push("nodad");
        }
        ip(&args);
    }

    /// Removes everything and checks it: fails if an XDP program is still attached to either
    /// veth end (whoever attached it should have detached it by now) or if a namespace is left.
    pub fn close(self) {
        for side in [Side::Sender, Side::Receiver] {
            // A child process forked by another thread (any `Command`) holds copies of our
            // descriptors, the XDP link's among them, until it execs; so allow a moment.
            let start = std::time::Instant::now();
            let mut links = self.links(side);
            while links.contains(" xdp") && start.elapsed() < std::time::Duration::from_secs(2) {
                std::thread::sleep(std::time::Duration::from_millis(20));
                links = self.links(side);
            }
            assert!(
                !links.contains(" xdp"),
                "an XDP program is still attached in {}: {links}",
                self.end(side).netns
            );
        }
        let names = self.names();
        drop(self);
        let left = leftover_namespaces();
        assert!(
            names.iter().all(|n| !left.contains(n)),
            "namespaces left behind: {left:?}"
        );
    }

    /// The names of both namespaces.
    pub fn names(&self) -> [String; 2] {
        [self.sender.netns.clone(), self.receiver.netns.clone()]
    }
}

impl Default for NetnsPair {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        // Deleting a namespace destroys its veth end, which destroys the peer and every XDP
        // program attached to either.
        for netns in [&self.sender.netns, &self.receiver.netns] {
            let _ = Command::new("ip").args(["netns", "del", netns]).output();
        }
        for slot in self.slots {
            if let Some(entry) = LIVE.get(slot) {
                entry.store(std::ptr::null_mut(), Ordering::SeqCst);
            }
        }
    }
}

/// Namespaces whose names start with [`PREFIX`] (from `ip netns list`).
pub fn leftover_namespaces() -> Vec<String> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap_or_else(|e| panic!("running ip: {e}"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(PREFIX))
        .map(str::to_owned)
        .collect()
}

/// Panics with a clear message unless running as root.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions and touches no memory.
    let euid = unsafe { libc::geteuid() };
    assert!(
        euid == 0,
        "this test needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_BPF) to create network \
         namespaces, veth pairs, XDP programs and AF_XDP sockets; run it as root (CI does)"
    );
}

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("netns fixture: cannot run ip (install iproute2): {e}"));
    if !out.status.success() {
        panic!(
            "netns fixture: `ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
}

fn netns_exec(netns: &str, argv: &[&str]) -> Output {
    Command::new("ip")
        .args(["netns", "exec", netns])
        .args(argv)
        .output()
        .unwrap_or_else(|e| panic!("netns fixture: running ip netns exec: {e}"))
}

/// Moves the calling thread into the namespace at `path`.
fn enter_netns(path: &str) {
    let file = fs::File::open(path).unwrap_or_else(|e| panic!("opening {path}: {e}"));
    // SAFETY: `file` is an open namespace file; setns changes only the calling thread, which is
    // a thread of its own that ends with the closure it runs.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert!(
        rc == 0,
        "setns({path}): {}",
        std::io::Error::last_os_error()
    );
}

fn register(netns: &str) -> Option<usize> {
    let path = std::ffi::CString::new(format!("{NETNS_DIR}/{netns}")).ok()?;
    let raw = path.into_raw();
    for (i, slot) in LIVE.iter().enumerate() {
        if slot
            .compare_exchange(
                std::ptr::null_mut(),
                raw,
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_ok()
        {
            return Some(i);
        }
    }
    None
}

/// Removes namespaces whose creating process is gone (killed before its fixtures dropped).
fn sweep_stale() {
    let Ok(entries) = fs::read_dir(NETNS_DIR) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let alive = rest
            .split('-')
            .next()
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_some_and(|pid| fs::metadata(format!("/proc/{pid}")).is_ok());
        if !alive {
            let _ = Command::new("ip").args(["netns", "del", &name]).output();
        }
    }
}

extern "C" fn on_fatal_signal(signal: libc::c_int) {
    for slot in &LIVE {
        let path = slot.swap(std::ptr::null_mut(), Ordering::SeqCst);
        if !path.is_null() {
            // SAFETY: `path` is a leaked, NUL-terminated C string that is never freed; umount2
            // and unlink are plain system calls, safe in a signal handler. This is what
            // `ip netns del` does.
            unsafe {
                libc::umount2(path, libc::MNT_DETACH);
                libc::unlink(path);
            }
        }
    }
    // SAFETY: restoring the default action and re-raising are async-signal-safe; the process
    // then dies of the signal as it would have without this handler.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}

fn install_signal_handlers() {
    // SIGABRT: a binary built with `panic = "abort"` (the release harnesses) dies of it on a
    // panic, and runs no `Drop`.
    let mut signals = vec![libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGABRT];
    // SIGPIPE kills only a process that chose its default action (the CLI does, to end quietly
    // in a closed pipe); where it is ignored (Rust's default, test harnesses) it stays ignored.
    // SAFETY: a null new action only reads the current one into `current`, a valid sigaction.
    let sigpipe_default = unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut current) == 0
            && current.sa_sigaction == libc::SIG_DFL
    };
    if sigpipe_default {
        signals.push(libc::SIGPIPE);
    }
    for signal in signals {
        // SAFETY: `on_fatal_signal` is an `extern "C" fn(c_int)` that only makes
        // async-signal-safe calls; the zeroed sigaction is a valid starting value.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_fatal_signal as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}
