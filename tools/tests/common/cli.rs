//! The `xflute` binary as a process inside a network namespace of a [`NetnsPair`], for the
//! tests that run it on the wire: seeded input files with their SHA-256, a child guard that
//! kills the process if the test fails, signals, and the seed of a randomised run.

// Each test binary that includes this module uses a different part of it.
#![allow(dead_code)]

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use xflute_tests::data::random_bytes;
use xflute_tests::netns::{NetnsPair, Side};

pub const BIN: &str = env!("CARGO_BIN_EXE_xflute");

/// `&str` arguments as owned strings.
pub fn s(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

/// The start of a `COMMAND` (`send`, `recv`) over UDP on `side`'s end of `pair`.
pub fn udp_command(pair: &NetnsPair, side: Side, command: &str) -> Vec<String> {
    s(&[
        command,
        "--backend",
        "udp",
        "--iface",
        &pair.end(side).interface,
    ])
}

/// Writes `toml` as `dir/serve.toml`; returns the arguments of `xflute serve` on it.
pub fn serve_args(dir: &Path, toml: &str) -> Vec<String> {
    let config = dir.join("serve.toml");
    std::fs::write(&config, toml).unwrap();
    s(&["serve", "--config", config.to_str().unwrap()])
}

/// Writes files named `file-NNN.bin` of the given sizes (pseudo-random bytes from `seed`);
/// returns (path, SHA-256).
pub fn make_files(dir: &Path, sizes: &[usize], seed: u64) -> Vec<(PathBuf, [u8; 32])> {
    std::fs::create_dir_all(dir).unwrap();
    sizes
        .iter()
        .enumerate()
        .map(|(i, &len)| {
            let data = random_bytes(
                len,
                seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            );
            let path = dir.join(format!("file-{i:03}.bin"));
            std::fs::File::create(&path)
                .unwrap()
                .write_all(&data)
                .unwrap();
            (path, Sha256::digest(&data).into())
        })
        .collect()
}

/// The SHA-256 of a file, if it can be read.
pub fn sha256(path: &Path) -> Option<[u8; 32]> {
    std::fs::read(path).ok().map(|d| Sha256::digest(&d).into())
}

/// Whether every file of `files` is below `out` under its name with its SHA-256.
pub fn all_received(files: &[(PathBuf, [u8; 32])], out: &Path) -> bool {
    files
        .iter()
        .all(|(p, digest)| sha256(&out.join(p.file_name().unwrap())).as_ref() == Some(digest))
}

/// Names of the `.part` files directly below `dir`.
pub fn part_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".part"))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the file `name` is being received directly below `dir`: its temporary file
/// (`.NAME.xflute-<tsi>-<toi>-<random>.part`) is there.
pub fn receiving(dir: &Path, name: &str) -> bool {
    let prefix = format!(".{name}.");
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            file.starts_with(&prefix) && file.ends_with(".part")
        })
}

/// The seed of a randomised test: `XFLUTE_SEED` if set (to replay a run), else the clock.
pub fn seed() -> u64 {
    std::env::var("XFLUTE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
}

/// A running `xflute`, killed (SIGKILL) and reaped when dropped, so a failing test leaves no
/// process behind. Its output goes to files, so that a killed process cannot block on a pipe.
pub struct Proc {
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    /// Starts the binary inside `side`'s namespace (`ip netns exec` execs it: the child's pid
    /// is xflute's); stdout and stderr go to `log`.
    pub fn spawn(pair: &NetnsPair, side: Side, args: &[String], log: &Path) -> Self {
        Self::spawn_command(pair, side, BIN, args, log)
    }

    /// Starts `program` inside `side`'s namespace, as [`Proc::spawn`] starts xflute.
    pub fn spawn_command(
        pair: &NetnsPair,
        side: Side,
        program: &str,
        args: &[String],
        log: &Path,
    ) -> Self {
        let file = std::fs::File::create(log).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &pair.end(side).netns, program])
            .args(args)
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap();
        Self {
            child: Some(child),
            log: log.to_owned(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Sends a signal (`INT`, `KILL`, ...).
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name} failed");
    }

    /// Waits up to `limit` for the process to end.
    pub fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                return Some(status);
            }
            if start.elapsed() >= limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops it with SIGINT (SIGKILL if it has not ended within 5 s) and returns its status.
    pub fn interrupt(&mut self) -> ExitStatus {
        if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
            return status;
        }
        self.signal("INT");
        match self.wait_for(Duration::from_secs(5)) {
            Some(status) => status,
            None => {
                self.signal("KILL");
                self.wait_for(Duration::from_secs(5)).unwrap()
            }
        }
    }

    /// What it printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take()
            && child.try_wait().ok().flatten().is_none()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A value of a `"name":number` field in the last line of `log` that has it.
pub fn json_field(log: &str, name: &str) -> Option<u64> {
    let key = format!("\"{name}\":");
    log.lines()
        .rev()
        .find_map(|l| l.split(&key).nth(1))
        .and_then(|r| r.split([',', '}']).next())
        .and_then(|v| v.trim().parse().ok())
}

/// Runs `ip` with `args`; panics with its stderr if it fails.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The IDs of the XDP BPF links that process `pid` holds (none if it has ended).
pub fn xdp_link_ids(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .filter(|info| {
            info.lines()
                .any(|l| l.split_whitespace().eq(["link_type:", "xdp"]))
        })
        .filter_map(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("link_id:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .collect()
}

/// Detaches from outside the XDP BPF links that process `pid` holds, as `bpftool link detach`
/// does (BPF_LINK_DETACH): the program leaves the interface while the process keeps its
/// descriptors, the way an operator's tool would pull it from under a running receiver (the
/// kernel refuses `ip link set dev IF xdp off` while a BPF link holds the program). Returns the
/// IDs of the links detached.
#[allow(unsafe_code)] // bpf(2) is FFI; each call says why it is sound.
pub fn detach_xdp_links_of(pid: u32) -> Vec<u32> {
    const BPF_LINK_GET_FD_BY_ID: libc::c_long = 30;
    const BPF_LINK_DETACH: libc::c_long = 34;
    let mut detached = Vec::new();
    for link_id in xdp_link_ids(pid) {
        // union bpf_attr, zeroed: the first u32 is `link_id` for BPF_LINK_GET_FD_BY_ID and
        // `link_fd` for BPF_LINK_DETACH.
        let mut attr = [0u64; 16];
        attr[0] = u64::from(link_id);
        // SAFETY: `attr` is a live, zeroed, 8-byte aligned buffer of the size passed; bpf(2)
        // reads it and returns a new descriptor or -1.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_LINK_GET_FD_BY_ID,
                attr.as_mut_ptr(),
                std::mem::size_of_val(&attr),
            )
        };
        assert!(
            fd >= 0,
            "BPF_LINK_GET_FD_BY_ID {link_id}: {}",
            std::io::Error::last_os_error()
        );
        let mut attr = [0u64; 16];
        attr[0] = fd as u64;
        // SAFETY: as above; `fd` is the link descriptor just returned.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_LINK_DETACH,
                attr.as_mut_ptr(),
                std::mem::size_of_val(&attr),
            )
        };
        let err = std::io::Error::last_os_error();
        // SAFETY: `fd` is ours (returned by bpf(2) above) and closed once.
        unsafe { libc::close(fd as libc::c_int) };
        assert!(rc == 0, "BPF_LINK_DETACH {link_id}: {err}");
        detached.push(link_id);
    }
    detached
}
