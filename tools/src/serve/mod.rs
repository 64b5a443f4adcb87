//! `xflute serve --config FILE`: the headend service. Any number of sending sessions, each fed
//! by watched directories, and receiving sessions, in one process; an HTTP API (loopback by
//! default) with Prometheus metrics, status, SDP and calls that change sessions; SIGHUP
//! reloads the configuration (changed sessions restart, unchanged ones keep running), SIGTERM
//! or SIGINT stops cleanly with exit 0; systemd's READY, STATUS and WATCHDOG notifications.
//! The reference of the file and of the API is `docs/serve.md`.

mod bootstrap;
mod config;
mod http;
mod metrics;
mod receiving;
mod repair;
pub mod sdp;
mod sending;
mod systemd;
mod watch;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use self::config::{Config, ReceiveConfig, SendConfig};
use self::receiving::ReceiveSession;
use self::sending::SendSession;
use crate::{Outcome, usage};

/// `xflute serve`.
#[derive(clap::Args)]
pub struct ServeCli {
    /// The configuration file (TOML; see docs/serve.md). Relative paths in it are taken from
    /// its directory.
    #[arg(long)]
    config: PathBuf,
    /// Check the configuration and exit: 0 when it can be served, 2 with the reason otherwise.
    #[arg(long)]
    check: bool,
}

/// The running sessions, by name.
#[derive(Default)]
pub struct Sessions {
    send: BTreeMap<String, SendSession>,
    receive: BTreeMap<String, ReceiveSession>,
}

/// Bits per second of a session over the last sampling period.
#[derive(Default, Clone, Copy)]
struct RateSample {
    bytes: u64,
    at: Option<Instant>,
    bps: f64,
}

/// What the HTTP API and the main loop share.
pub struct Server {
    sessions: RwLock<Sessions>,
    token: RwLock<Option<String>>,
    rates: Mutex<BTreeMap<String, RateSample>>,
    reloads: AtomicU64,
    reload_failures: AtomicU64,
    started: Instant,
    /// The configuration file's directory: relative paths of sessions added through the API
    /// are taken from it, as those of the file are.
    base: PathBuf,
}

impl Server {
    fn sessions(&self) -> std::sync::RwLockReadGuard<'_, Sessions> {
        self.sessions.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn sessions_mut(&self) -> std::sync::RwLockWriteGuard<'_, Sessions> {
        self.sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `presented` is the configured bearer token (compared in constant time).
    fn authorised(&self, presented: Option<&str>) -> bool {
        let token = self.token.read().unwrap_or_else(PoisonError::into_inner);
        match (token.as_deref(), presented) {
            (Some(t), Some(p)) if t.len() == p.len() => {
                t.bytes()
                    .zip(p.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
            }
            _ => false,
        }
    }

    /// The bit rate of session `name` over the last second.
    fn bit_rate(&self, name: &str) -> f64 {
        self.rates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .map_or(0.0, |r| r.bps)
    }

    /// Samples every session's byte counter (once a second, from the main loop).
    fn sample_rates(&self) {
        let now = Instant::now();
        let mut bytes: Vec<(String, u64)> = Vec::new();
        {
            let sessions = self.sessions();
            for (name, s) in &sessions.send {
                bytes.push((name.clone(), s.tx().bytes));
            }
            for (name, s) in &sessions.receive {
                bytes.push((name.clone(), s.stats().map_or(0, |st| st.bytes())));
            }
        }
        let mut rates = self.rates.lock().unwrap_or_else(PoisonError::into_inner);
        rates.retain(|name, _| bytes.iter().any(|(n, _)| n == name));
        for (name, b) in bytes {
            let r = rates.entry(name).or_default();
            if let Some(at) = r.at {
                let secs = now.duration_since(at).as_secs_f64();
                if secs > 0.0 {
                    r.bps = b.saturating_sub(r.bytes) as f64 * 8.0 / secs;
                }
            }
            r.bytes = b;
            r.at = Some(now);
        }
    }

    /// Starts a sending session (API or configuration).
    fn start_send(&self, config: SendConfig) -> Result<()> {
        let name = config.name.clone();
        if self.has(&name) {
            anyhow::bail!("a session is already named {name:?}");
        }
        let session = SendSession::start(config)?;
        tracing::info!(session = name, "sending session started");
        self.sessions_mut().send.insert(name, session);
        Ok(())
    }

    /// Starts a receiving session (API or configuration).
    fn start_receive(&self, config: ReceiveConfig) -> Result<()> {
        let name = config.name.clone();
        if self.has(&name) {
            anyhow::bail!("a session is already named {name:?}");
        }
        let session = ReceiveSession::start(config)?;
        tracing::info!(session = name, "receiving session started");
        self.sessions_mut().receive.insert(name, session);
        Ok(())
    }

    fn has(&self, name: &str) -> bool {
        let s = self.sessions();
        s.send.contains_key(name) || s.receive.contains_key(name)
    }

    /// Stops and removes session `name`; false if there is none.
    fn stop_session(&self, name: &str) -> bool {
        let (send, receive) = {
            let mut s = self.sessions_mut();
            (s.send.remove(name), s.receive.remove(name))
        };
        let found = send.is_some() || receive.is_some();
        if let Some(s) = send {
            s.stop();
        }
        if let Some(r) = receive {
            r.stop();
        }
        if found {
            tracing::info!(session = name, "session stopped");
        }
        found
    }

    /// Brings the running sessions to `config`: sessions whose configuration changed restart,
    /// sessions that left stop, new ones start, and the others are not touched.
    fn apply(&self, config: &Config) -> Result<()> {
        *self.token.write().unwrap_or_else(PoisonError::into_inner) = config.token.clone();
        let (stale_send, stale_receive): (Vec<String>, Vec<String>) = {
            let s = self.sessions();
            (
                s.send
                    .iter()
                    .filter(|(n, run)| {
                        !config
                            .send
                            .iter()
                            .any(|c| c.name == **n && c == &run.config)
                    })
                    .map(|(n, _)| n.clone())
                    .collect(),
                s.receive
                    .iter()
                    .filter(|(n, run)| {
                        !config
                            .receive
                            .iter()
                            .any(|c| c.name == **n && c == &run.config)
                    })
                    .map(|(n, _)| n.clone())
                    .collect(),
            )
        };
        for name in stale_send.iter().chain(&stale_receive) {
            self.stop_session(name);
        }
        let mut errors = Vec::new();
        for c in &config.send {
            if !self.has(&c.name)
                && let Err(e) = self.start_send(c.clone())
            {
                errors.push(format!("{}: {e:#}", c.name));
            }
        }
        for c in &config.receive {
            if !self.has(&c.name)
                && let Err(e) = self.start_receive(c.clone())
            {
                errors.push(format!("{}: {e:#}", c.name));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            anyhow::bail!("{}", errors.join("; "))
        }
    }

    fn stop_all(&self) {
        let names: Vec<String> = {
            let s = self.sessions();
            s.send.keys().chain(s.receive.keys()).cloned().collect()
        };
        for name in names {
            self.stop_session(&name);
        }
    }

    fn status_line(&self) -> String {
        let s = self.sessions();
        format!(
            "{} sending, {} receiving session(s); {} reload(s)",
            s.send.len(),
            s.receive.len(),
            self.reloads.load(Ordering::Relaxed)
        )
    }
}

/// Flags the signal handlers set.
struct Signals {
    stop: Arc<AtomicBool>,
    reload: Arc<AtomicBool>,
}

fn signals() -> Result<Signals> {
    let stop = Arc::new(AtomicBool::new(false));
    let reload = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&reload))?;
    Ok(Signals { stop, reload })
}

/// Runs the service until SIGTERM or SIGINT.
pub fn main(cli: ServeCli) -> Result<Outcome> {
    let config = config::load(&cli.config).map_err(|e| usage(format!("{e:#}")))?;
    if cli.check {
        println!(
            "{}: {} sending and {} receiving session(s); API on http://{}",
            cli.config.display(),
            config.send.len(),
            config.receive.len(),
            config.listen
        );
        return Ok(Outcome::Complete);
    }
    let signals = signals()?;
    keep_off_worker_cores(&config);
    let notifier = systemd::Notifier::from_env();
    let server = Arc::new(Server {
        sessions: RwLock::new(Sessions::default()),
        token: RwLock::new(None),
        rates: Mutex::new(BTreeMap::new()),
        reloads: AtomicU64::new(0),
        reload_failures: AtomicU64::new(0),
        started: Instant::now(),
        base: config::base_dir(&cli.config),
    });
    // The API first: a port already taken is a configuration error, before anything is sent.
    let api = http::Api::start(Arc::clone(&server), config.listen)
        .map_err(|e| usage(format!("the HTTP API on {}: {e:#}", config.listen)))?;
    if let Err(e) = server.apply(&config) {
        server.stop_all();
        api.stop();
        return Err(usage(format!("{e:#}")));
    }
    crate::release_free_memory();
    tracing::info!(listen = %api.address(), "serving");
    eprintln!(
        "xflute serve: {}; API on http://{}",
        server.status_line(),
        api.address()
    );
    notifier.notify(&format!("READY=1\nSTATUS={}", server.status_line()));
    let mut last_watchdog = Instant::now();
    let mut last_sample = Instant::now();
    while !signals.stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        if signals.reload.swap(false, Ordering::SeqCst) {
            notifier.notify("RELOADING=1");
            reload(&server, &cli.config);
            notifier.notify(&format!("READY=1\nSTATUS={}", server.status_line()));
        }
        if last_sample.elapsed() >= Duration::from_secs(1) {
            server.sample_rates();
            last_sample = Instant::now();
        }
        if let Some(every) = notifier.watchdog_every()
            && last_watchdog.elapsed() >= every
        {
            notifier.notify(&format!("WATCHDOG=1\nSTATUS={}", server.status_line()));
            last_watchdog = Instant::now();
        }
    }
    notifier.notify("STOPPING=1");
    tracing::info!("stopping");
    server.stop_all();
    api.stop();
    Ok(Outcome::Complete)
}

fn reload(server: &Server, path: &std::path::Path) {
    server.reloads.fetch_add(1, Ordering::Relaxed);
    match config::load(path).context("reloading") {
        Ok(config) => {
            keep_off_worker_cores(&config);
            match server.apply(&config) {
                Ok(()) => tracing::info!("configuration reloaded"),
                Err(e) => {
                    server.reload_failures.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(error = %format!("{e:#}"), "reload: some sessions did not start");
                }
            }
        }
        Err(e) => {
            server.reload_failures.fetch_add(1, Ordering::Relaxed);
            // The running sessions stay as they are.
            tracing::error!(error = %format!("{e:#}"), "reload refused; sessions unchanged");
        }
    }
}

/// Keeps this thread, and every thread it starts from now on (the HTTP API's, the watchers',
/// the repairs'), off the cores the sessions' workers are pinned to, so that none of them
/// preempts a worker: they run on the other cores. Nothing changes when no session names
/// cores, or when they name every core.
fn keep_off_worker_cores(config: &config::Config) {
    let workers: std::collections::BTreeSet<usize> = config
        .send
        .iter()
        .flat_map(|s| s.cores.iter().copied())
        .chain(config.receive.iter().flat_map(|r| r.cores.iter().copied()))
        .collect();
    if workers.is_empty() {
        return;
    }
    let others: Vec<usize> = xflute::io::affinity::online_cores()
        .into_iter()
        .filter(|c| !workers.contains(c))
        .collect();
    if others.is_empty() {
        tracing::info!("the sessions' workers take every core: the other threads share them");
        return;
    }
    match xflute::io::affinity::set_current_thread_cores(&others) {
        Ok(()) => tracing::debug!(?others, "threads other than the workers run on these cores"),
        Err(e) => tracing::warn!("keeping threads off the workers' cores: {e}"),
    }
}
