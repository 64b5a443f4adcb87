//! The processes a run is made of: each receiver (xflute's, flute's) and each sender runs as a
//! process of its own inside its namespace (`ip netns exec`), so that its CPU time and resident
//! memory are its own. Each prints one JSON line when it ends ([`ReceiverReport`] or
//! [`SenderReport`]); a receiver of this harness prints `ready` first, once it listens.
//! A [`Child`] is killed and reaped when dropped, so that no process outlives a failed run, and
//! the kernel kills it if the harness dies first (`PR_SET_PDEATHSIG`).

// prctl(2) in the forked child is FFI; the block says why it is sound.
#![allow(unsafe_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// What a receiver reports: the `flute_peer recv` line, which this harness's own receivers
/// print too (with the extra counters filled in).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReceiverReport {
    /// Objects completed (and verified, where the receiver verifies).
    pub completed: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Seconds from the process's start to the first packet (or first object started).
    pub first_packet_s: Option<f64>,
    /// Seconds from the process's start to the last completion.
    pub last_complete_s: Option<f64>,
    /// Packets taken off the socket.
    pub packets: u64,
    /// The largest `RssAnon` seen, KiB.
    pub rss_anon_kib_max: u64,
    /// CPU seconds (user + system, all threads).
    pub cpu_s: f64,
    /// Each object's first packet → completion, milliseconds.
    #[serde(default)]
    pub latencies_ms: Vec<f64>,
    /// Completed objects whose bytes were not the ones sent (xflute's receiver checks).
    #[serde(default)]
    pub corrupt: u64,
    /// Frames the kernel dropped because the rx ring was full (AF_XDP).
    #[serde(default)]
    pub rx_ring_full: u64,
    /// Packets whose symbols had all arrived already (repeats of the carousel).
    #[serde(default)]
    pub duplicates: u64,
    /// Frames the steering program dropped on purpose (injected loss).
    #[serde(default)]
    pub injected_drops: u64,
    /// The receive worker's longest stall (time between two reads of its queue while packets
    /// came in: what its rx ring had to absorb), µs; xflute's receiver only.
    #[serde(default)]
    pub stall_max_us: Option<u64>,
    /// The 99th percentile of those stalls (the top of its power-of-two bucket), µs.
    #[serde(default)]
    pub stall_p99_us: Option<u64>,
    /// FEC blocks decoded on the stage beside the receive worker (xflute's receiver only).
    #[serde(default)]
    pub decoded_elsewhere: Option<u64>,
    /// Packets the receiver dropped, by reason, those that happened (xflute's receiver only).
    #[serde(default)]
    pub drop_reasons: Option<Vec<(String, u64)>>,
    /// When the times above count from, in seconds on `CLOCK_MONOTONIC` (this harness's
    /// receivers; `flute_peer` sees every packet and needs none).
    #[serde(default)]
    pub start_mono_s: Option<f64>,
    /// Anything else the receiver reported (`flute_peer`'s error counters), shown when a run
    /// loses objects.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl ReceiverReport {
    /// Seconds from the first packet to the last completion, if anything completed. The first
    /// packet is `sent_mono_s` (on `CLOCK_MONOTONIC`, when the sender started) if given and if
    /// this receiver reports its clock: xflute's receiver counts from the first object it
    /// starts, which may be long after the first packet when the FDT comes late.
    pub fn transfer_s(&self, sent_mono_s: Option<f64>) -> Option<f64> {
        let first = match (sent_mono_s, self.start_mono_s) {
            (Some(sent), Some(start)) => Some(sent - start),
            _ => self.first_packet_s,
        };
        match (first, self.last_complete_s) {
            (Some(a), Some(b)) if b > a => Some(b - a),
            _ => None,
        }
    }
}

/// What a sender reports (the `flute_peer send` line; this harness's senders add counters).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SenderReport {
    /// Packets sent.
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Seconds spent sending.
    pub elapsed_s: f64,
    /// CPU seconds (user + system, all threads).
    pub cpu_s: f64,
    /// Times the tx ring or socket buffer was full.
    #[serde(default)]
    pub ring_full: u64,
    /// When the engine started sending, seconds on `CLOCK_MONOTONIC` (this harness's senders).
    #[serde(default)]
    pub start_mono_s: Option<f64>,
}

/// A child process in a network namespace, killed and reaped on drop.
#[derive(Debug)]
pub struct Child {
    name: String,
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    stdin: Option<ChildStdin>,
}

impl Child {
    /// Starts `program args…` in `netns` (`ip netns exec`), its stdout read line by line and
    /// its stdin a pipe (closing it is how this harness's senders are told to stop).
    pub fn spawn(name: &str, netns: &str, program: &str, args: &[String]) -> Result<Self, String> {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", netns, program]).args(args);
        // SAFETY: the closure runs in the forked child before exec and makes one
        // async-signal-safe system call (prctl), which touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                // Killed when the thread that started it ends (the harness's main thread), so
                // that no child outlives a harness that was killed; `ip netns exec` and the
                // program it execs keep the setting.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting {name} ({program}): {e}"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| format!("{name}: no stdout"))?;
        let stdin = child.stdin.take();
        Ok(Self {
            name: name.to_owned(),
            child,
            lines: read_lines(stdout),
            stdin,
        })
    }

    /// The process id (that of the program itself: `ip netns exec` execs it).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The next line of its stdout, waiting up to `timeout`.
    pub fn line(&mut self, timeout: Duration) -> Result<String, String> {
        self.lines.recv_timeout(timeout).map_err(|e| match e {
            mpsc::RecvTimeoutError::Timeout => format!("{}: no output in {timeout:?}", self.name),
            mpsc::RecvTimeoutError::Disconnected => {
                format!("{}: exited without the expected output", self.name)
            }
        })
    }

    /// Waits for a line `ready`, skipping anything else.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let give_up = Instant::now() + timeout;
        loop {
            let left = give_up.saturating_duration_since(Instant::now());
            if self.line(left)?.trim() == "ready" {
                return Ok(());
            }
        }
    }

    /// The first JSON object line of its stdout, parsed, waiting up to `timeout`.
    pub fn report<T: serde::de::DeserializeOwned>(
        &mut self,
        timeout: Duration,
    ) -> Result<T, String> {
        let give_up = Instant::now() + timeout;
        loop {
            let left = give_up.saturating_duration_since(Instant::now());
            let line = self.line(left)?;
            if line.trim_start().starts_with('{') {
                return serde_json::from_str(&line)
                    .map_err(|e| format!("{}: cannot parse {line:?}: {e}", self.name));
            }
        }
    }

    /// A JSON object line if one arrives within `timeout`; `None` if none does; an error if the
    /// process has ended without one.
    pub fn try_report<T: serde::de::DeserializeOwned>(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<T>, String> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) if line.trim_start().starts_with('{') => serde_json::from_str(&line)
                .map(Some)
                .map_err(|e| format!("{}: cannot parse {line:?}: {e}", self.name)),
            Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => Ok(None),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(format!("{}: exited without a report", self.name))
            }
        }
    }

    /// Closes its stdin (this harness's senders then stop and report).
    pub fn close_stdin(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
    }

    /// Waits up to `timeout` for it to exit; kills it after that. Returns whether it exited by
    /// itself with status 0.
    pub fn finish(mut self, timeout: Duration) -> bool {
        self.close_stdin();
        let give_up = Instant::now() + timeout;
        while Instant::now() < give_up {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn read_lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
