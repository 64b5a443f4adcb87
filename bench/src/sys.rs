//! Process plumbing for the benchmarks: pinning a thread to a core, boosting this session's
//! scheduling weight on a shared machine, CPU time, and resident anonymous memory.

// sched_setaffinity(2), setpriority(2) and getrusage(2) are FFI; each block says why it is sound.
#![allow(unsafe_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Pins the calling thread to `core` at nice -20, so that other work on this shared machine
/// (compilers) takes little of the measured cores. Returns whether the pinning took.
pub fn pin_to_core(core: usize) -> bool {
    // SAFETY: `set` is a zeroed cpu_set_t, a valid empty set, filled with CPU_SET; both calls
    // change only the calling thread (tid 0 / `gettid`).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        let pinned = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0;
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, -20);
        pinned
    }
}

/// Raises the scheduling weight of this session's autogroup while the benchmark runs, so that
/// other sessions' work on a shared machine (compilers, test suites) takes little of the measured
/// cores; per-thread nice alone does not count across autogroups. Restored on drop.
#[derive(Debug)]
pub struct AutogroupBoost {
    previous: Option<String>,
}

impl AutogroupBoost {
    const PATH: &str = "/proc/self/autogroup";

    /// Sets the autogroup's nice to -20 (if the kernel has autogroups).
    pub fn new() -> Self {
        // The file reads "/autogroup-N nice K".
        let previous = std::fs::read_to_string(Self::PATH)
            .ok()
            .and_then(|s| s.split_whitespace().last().map(str::to_owned));
        if previous.is_some() && std::fs::write(Self::PATH, "-20").is_err() {
            return Self { previous: None };
        }
        Self { previous }
    }
}

impl Default for AutogroupBoost {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for AutogroupBoost {
    fn drop(&mut self) {
        if let Some(nice) = &self.previous {
            let _ = std::fs::write(Self::PATH, nice);
        }
    }
}

fn rusage_seconds(who: libc::c_int) -> f64 {
    // SAFETY: `usage` is a zeroed rusage, valid for getrusage to fill; `who` is RUSAGE_SELF or
    // RUSAGE_THREAD.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(who, &mut usage) != 0 {
            return 0.0;
        }
        usage
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// User plus system CPU seconds of this whole process (all its threads) so far.
pub fn process_cpu_seconds() -> f64 {
    rusage_seconds(libc::RUSAGE_SELF)
}

/// User plus system CPU seconds of the calling thread so far.
pub fn thread_cpu_seconds() -> f64 {
    rusage_seconds(libc::RUSAGE_THREAD)
}

/// `RssAnon` of a process (`/proc/PID/status`, or this process's), KiB.
pub fn rss_anon_kib(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Samples this process's `RssAnon` every few milliseconds on a thread of its own and keeps the
/// largest value (the kernel keeps a peak of the whole RSS only, `VmHWM`, which counts file
/// pages too).
#[derive(Debug)]
pub struct RssPeak {
    peak_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RssPeak {
    /// Starts sampling every `period`.
    pub fn start(period: Duration) -> Self {
        let peak_kib = Arc::new(AtomicU64::new(rss_anon_kib(None).unwrap_or(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (peak_kib, stop) = (Arc::clone(&peak_kib), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("rss-peak".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if let Some(kib) = rss_anon_kib(None) {
                            peak_kib.fetch_max(kib, Ordering::Relaxed);
                        }
                        std::thread::sleep(period);
                    }
                })
                .ok()
        };
        Self {
            peak_kib,
            stop,
            thread,
        }
    }

    /// The largest `RssAnon` seen so far, KiB.
    pub fn peak_kib(&self) -> u64 {
        if let Some(kib) = rss_anon_kib(None) {
            self.peak_kib.fetch_max(kib, Ordering::Relaxed);
        }
        self.peak_kib.load(Ordering::Relaxed)
    }
}

impl Drop for RssPeak {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Calls `f` until it succeeds or `within` has passed, 50 ms apart; returns its last result.
/// An AF_XDP queue stays busy (EBUSY) for a moment after the socket that had it is closed,
/// while the kernel frees the socket's buffer pool.
pub fn retry<T, E>(within: Duration, mut f: impl FnMut() -> Result<T, E>) -> Result<T, E> {
    let give_up = Instant::now() + within;
    loop {
        match f() {
            Ok(t) => return Ok(t),
            Err(e) if Instant::now() >= give_up => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Seconds on `CLOCK_MONOTONIC`, which every process of the machine shares (`Instant` reads the
/// same clock but does not expose it): a sender's start and a receiver's last completion,
/// measured in two processes, can be subtracted.
pub fn monotonic_s() -> f64 {
    // SAFETY: `ts` is a valid timespec for clock_gettime to fill.
    let ts = unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
        ts
    };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Sets nice -20 on every thread of this process whose name starts with `prefix` (threads that a
/// library spawned, which [`pin_to_core`] cannot reach), so that they compete for their core on
/// the same terms as the benchmark's own pinned threads. Returns how many it changed.
pub fn boost_threads_named(prefix: &str) -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    let mut boosted = 0;
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<libc::id_t>().ok())
        else {
            continue;
        };
        if !comm.starts_with(prefix) {
            continue;
        }
        // SAFETY: setpriority takes plain integers and changes only the scheduling weight of
        // thread `tid`, one of this process's own.
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, -20) } == 0 {
            boosted += 1;
        }
    }
    boosted
}
