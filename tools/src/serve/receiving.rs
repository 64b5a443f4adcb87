//! A receiving session of `serve`: a receive engine into its output directory, and a thread that
//! takes its events (completed and failed objects) for the logs, `/status` and `/metrics`.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use serde_json::json;
use xflute::receiver::{ObjectEvent, ReceiverEndpoint};
use xflute::runtime::{EventWait, RxEngine, RxStats};

use super::config::{OnUnlisted, ReceiveConfig};
use super::sending::backend_name;
use crate::repair::{AnnouncedBases, Described, Objects, RepairStats, Repairer};

/// Completed objects remembered for `/status`, newest last.
const RECENT: usize = 32;

/// What the event thread keeps.
#[derive(Debug, Default)]
struct Seen {
    completed: u64,
    failed: u64,
    /// Files removed because their session's FDT no longer lists them.
    unlisted_deleted: u64,
    recent: VecDeque<(String, u64, f64)>,
    /// With `on_unlisted = "delete"`: each file received, by session and Content-Location.
    received: HashMap<(ReceiverEndpoint, String), PathBuf>,
}

/// A running receiving session.
pub struct ReceiveSession {
    /// Its configuration (what a reload compares).
    pub config: ReceiveConfig,
    engine: Arc<Mutex<Option<RxEngine>>>,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    events: Option<JoinHandle<()>>,
    started: SystemTime,
    /// Repairs by HTTP of what the broadcast did not complete (`repair_url`, or the servers
    /// announced).
    repairer: Option<Repairer>,
}

impl ReceiveSession {
    /// Starts the engine and its event thread.
    pub fn start(config: ReceiveConfig) -> Result<Self> {
        let delete_unlisted = config.on_unlisted == OnUnlisted::Delete;
        let mut builder = RxEngine::builder(&config.out)
            .hand_over_incomplete(config.repair.is_some())
            .backend(config.backend)
            .track_announced(delete_unlisted)
            .cores(config.cores.clone());
        for channel in super::bootstrap::channels(&config) {
            builder = builder.channel(channel);
        }
        if let Some(iface) = &config.iface {
            builder = builder.interface(iface.clone());
        }
        let engine = builder
            .start(Arc::new(AtomicBool::new(false)))
            .with_context(|| format!("starting session {}", config.name))?;
        let repairer = match (&config.repair, engine.incomplete()) {
            (Some(options), Some(objects)) => Some(
                Repairer::spawn(options.clone(), Objects::Engine(objects.clone()))
                    .with_context(|| format!("starting the repairs of session {}", config.name))?,
            ),
            _ => None,
        };
        let repaired = repairer.as_ref().map(|r| r.outcomes().clone());
        let events = engine.events().clone();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let name = config.name.clone();
        let engine = Arc::new(Mutex::new(Some(engine)));
        let thread = {
            let seen = Arc::clone(&seen);
            let stop = Arc::clone(&stop);
            let engine = Arc::clone(&engine);
            let out = config.out.clone();
            let mut gateway = super::bootstrap::Follower::new(&config);
            let described = config.repair.as_ref().and_then(|r| r.announced.clone());
            std::thread::Builder::new()
                .name(format!("events-{name}"))
                .spawn(move || {
                    let mut last_check = std::time::Instant::now();
                    while !stop.load(Ordering::Relaxed) {
                        match events.next_timeout(Duration::from_millis(100)) {
                            Ok(event) => {
                                gateway.event(&name, &engine, &out, &event);
                                if let Some(announced) = &described {
                                    follow_description(&name, announced, &out, &event);
                                }
                                take(&name, &seen, &out, delete_unlisted, event);
                            }
                            Err(EventWait::Timeout) => {}
                            Err(EventWait::Closed) => break,
                        }
                        for event in repaired.iter().flat_map(|r| r.try_iter()) {
                            take(&name, &seen, &out, delete_unlisted, event);
                        }
                        if delete_unlisted && last_check.elapsed() >= Duration::from_secs(1) {
                            delete_unlisted_files(&name, &seen, &engine);
                            last_check = std::time::Instant::now();
                        }
                    }
                })
                .context("spawning the event thread")?
        };
        Ok(Self {
            config,
            engine,
            seen,
            stop,
            events: Some(thread),
            started: SystemTime::now(),
            repairer,
        })
    }

    /// The engine's counters (`None` once stopped).
    pub fn stats(&self) -> Option<RxStats> {
        self.engine
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(RxEngine::stats)
    }

    /// What the repairs did so far (`None` without `repair_url`).
    pub fn repair_stats(&self) -> Option<RepairStats> {
        self.repairer.as_ref().map(Repairer::stats)
    }

    /// Objects completed and failed, as the event thread saw them.
    pub fn outcomes(&self) -> (u64, u64) {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        (seen.completed, seen.failed)
    }

    /// The session as JSON (`/status`).
    pub fn status(&self) -> serde_json::Value {
        let stats = self.stats();
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let recent: Vec<serde_json::Value> = seen
            .recent
            .iter()
            .map(|(name, bytes, at)| json!({"name": name, "bytes": bytes, "completed": at}))
            .collect();
        json!({
            "name": self.config.name,
            "direction": "receive",
            "group": self.config.group.to_string(),
            "source": self.config.source.map(|s| s.to_string()),
            "tsi": self.config.tsi,
            "backend": backend_name(self.config.backend),
            "out": self.config.out.display().to_string(),
            "started": self.started.duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()),
            "packets": stats.as_ref().map_or(0, RxStats::frames),
            "bytes": stats.as_ref().map_or(0, RxStats::bytes),
            "drops": stats.as_ref().map_or(0, RxStats::total_drops),
            "completed": seen.completed,
            "failed": seen.failed,
            "unlisted_deleted": seen.unlisted_deleted,
            "recent": recent,
        })
    }

    /// Stops the engine (unfinished objects are dropped, or with `repair_url` repaired first;
    /// nothing is left under a final name that is not complete) and its event thread.
    pub fn stop(mut self) {
        let engine = self
            .engine
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(engine) = engine
            && let Err(e) = engine.join()
        {
            tracing::warn!(session = self.config.name, error = %e, "the engine stopped with an error");
        }
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.events.take() {
            let _ = t.join();
        }
        // The engine handed over what it still held: those repairs end here.
        if let Some(repairer) = self.repairer.take() {
            let (events, _) = repairer.join();
            let delete_unlisted = self.config.on_unlisted == OnUnlisted::Delete;
            for event in events {
                take(
                    &self.config.name,
                    &self.seen,
                    &self.config.out,
                    delete_unlisted,
                    event,
                );
            }
        }
    }
}

/// A session without `repair_url` that repairs from the servers announced: an associated
/// delivery procedure description (3GPP TS 26.346 §9.3) that completes in it replaces the
/// servers and back-off the last one gave. One that cannot be read is logged and changes
/// nothing.
fn follow_description(name: &str, announced: &AnnouncedBases, out: &Path, event: &ObjectEvent) {
    let ObjectEvent::Completed { session, toi, meta } = event else {
        return;
    };
    if !xflute::adpd::is_associated_procedure_description(
        meta.content_location.as_deref(),
        meta.content_type.as_deref(),
    ) {
        return;
    }
    let path = crate::recv::local_path(out, session.tsi, *toi, meta);
    let Some(description) = crate::repair::read_description(&path) else {
        return;
    };
    let now = Described::of(&description);
    if announced.described().as_ref() != Some(&now) {
        let list: Vec<&str> = now.bases.iter().map(url::Url::as_str).collect();
        tracing::info!(
            session = name,
            tsi = session.tsi,
            offset_time_s = now.offset_time.map(|d| d.as_secs()),
            random_time_period_s = now.random_window.map(|d| d.as_secs()),
            "repair servers announced in the session: {}",
            list.join(", ")
        );
        announced.set_described(now);
    }
}

/// Removes the files received from a live session whose FDT no longer lists them. A session
/// that ended (its sender stopped) lists nothing and takes nothing away.
fn delete_unlisted_files(name: &str, seen: &Mutex<Seen>, engine: &Mutex<Option<RxEngine>>) {
    let announced = match engine
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
    {
        Some(e) => e.announced(),
        None => return,
    };
    let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    // Only sessions holding an unexpired FDT Instance are listed: one between two instances
    // (a refresh lost) says nothing about its files and must not empty the directory, while
    // an instance that lists no file withdraws them all.
    let gone: Vec<(ReceiverEndpoint, String)> = seen
        .received
        .keys()
        .filter(|(session, location)| {
            announced
                .iter()
                .any(|(s, names)| s == session && !names.iter().any(|n| n == location))
        })
        .cloned()
        .collect();
    for key in gone {
        if let Some(path) = seen.received.remove(&key) {
            match std::fs::remove_file(&path) {
                Ok(()) => {
                    seen.unlisted_deleted += 1;
                    tracing::info!(session = name, path = %path.display(), "no longer listed: deleted");
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(session = name, path = %path.display(), error = %e, "deleting")
                }
            }
        }
    }
}

fn take(name: &str, seen: &Mutex<Seen>, out: &Path, track: bool, event: ObjectEvent) {
    let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    match event {
        ObjectEvent::Completed { session, toi, meta } => {
            seen.completed += 1;
            if track && let (Some(location), Some(path)) = (&meta.content_location, &meta.path) {
                let file = out.join(path.to_relative_string());
                seen.received.insert((session, location.clone()), file);
            }
            let path = meta
                .path
                .as_ref()
                .map_or_else(|| format!("toi-{toi}"), |p| p.to_relative_string());
            tracing::info!(session = name, path = %crate::units::printable(&path), toi = %toi, "completed");
            let at = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            if seen.recent.len() == RECENT {
                seen.recent.pop_front();
            }
            seen.recent.push_back((path, meta.transfer_length, at));
        }
        ObjectEvent::Failed {
            toi, reason, meta, ..
        } => {
            seen.failed += 1;
            let what = meta
                .and_then(|m| m.content_location.clone())
                .unwrap_or_else(|| format!("toi {toi}"));
            tracing::warn!(session = name, object = %crate::units::printable(&what), %reason, "failed");
        }
        ObjectEvent::Started { .. } | ObjectEvent::Progress { .. } => {}
    }
}
