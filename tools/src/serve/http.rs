//! The HTTP API of `serve` (axum on a one-thread tokio runtime of its own, off the packet
//! path). Reading is open to anyone who can reach the address (loopback by default); every call
//! that changes something needs `Authorization: Bearer TOKEN` with the configuration's token,
//! and is refused when none is configured.
//!
//! | call | what |
//! | --- | --- |
//! | `GET /metrics` | Prometheus text format |
//! | `GET /status` | every session as JSON |
//! | `GET /sessions/NAME` | one session as JSON |
//! | `GET /sessions/NAME.sdp` | a sending session in SDP |
//! | `POST /sessions` | starts the session of the TOML body (one `[[send]]` or `[[receive]]`) |
//! | `DELETE /sessions/NAME` | stops a session |
//! | `PUT /sessions/NAME/objects?name=PATH` | adds (or replaces) an object: the body |
//! | `DELETE /sessions/NAME/objects?name=PATH` | removes an object |
//! | `PUT /sessions/NAME/rate` | the body: a rate (`50M`) or `unlimited` |
//! | `GET /repair/NAME/PATH` | file repair: byte ranges of a file the session sends (`repair.rs`) |

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::json;

use xflute::runtime::{RxStats, TxCounters};

use super::Server;
use super::metrics::Exposition;
use super::sending::SendCounters;

/// The largest object the API takes in one call.
const MAX_OBJECT_BYTES: usize = 256 << 20;

/// The running API.
pub struct Api {
    address: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Api {
    /// Binds `listen` and serves on a thread of its own.
    pub fn start(server: Arc<Server>, listen: SocketAddr) -> Result<Self> {
        let listener = std::net::TcpListener::bind(listen).context("binding")?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the HTTP runtime")?;
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!(error = %e, "the HTTP API cannot listen");
                            return;
                        }
                    };
                    let served = axum::serve(listener, router(server))
                        .with_graceful_shutdown(async move {
                            let _ = stopped.await;
                        })
                        .await;
                    if let Err(e) = served {
                        tracing::error!(error = %e, "the HTTP API stopped");
                    }
                });
            })
            .context("spawning the HTTP thread")?;
        Ok(Self {
            address,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops serving.
    pub fn stop(mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/sessions", post(add_session))
        .route("/sessions/{name}", get(session).delete(remove_session))
        .route(
            "/sessions/{name}/objects",
            put(add_object)
                .delete(remove_object)
                .layer(DefaultBodyLimit::max(MAX_OBJECT_BYTES)),
        )
        .route("/sessions/{name}/rate", put(set_rate))
        .route("/repair/{session}/{*path}", get(super::repair::repair))
        .with_state(server)
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, axum::Json(json!({ "error": message.to_string() }))).into_response()
}

fn authorise(server: &Server, headers: &HeaderMap) -> Result<(), Response> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if server.authorised(presented) {
        return Ok(());
    }
    let configured = server.token.read().map(|t| t.is_some()).unwrap_or(false);
    Err(if configured {
        error(StatusCode::UNAUTHORIZED, "a valid bearer token is needed")
    } else {
        error(
            StatusCode::FORBIDDEN,
            "no token is configured ([http] token): the API only reads",
        )
    })
}

/// Runs `f` off the runtime's thread (the engines' handles wait for their workers).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e))
}

async fn status(State(server): State<Arc<Server>>) -> Response {
    let sessions = server.sessions();
    let send: Vec<_> = sessions.send.values().map(|s| s.status()).collect();
    let receive: Vec<_> = sessions.receive.values().map(|s| s.status()).collect();
    axum::Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": server.started.elapsed().as_secs_f64(),
        "reloads": server.reloads.load(Ordering::Relaxed),
        "send": send,
        "receive": receive,
    }))
    .into_response()
}

async fn session(State(server): State<Arc<Server>>, Path(name): Path<String>) -> Response {
    let sessions = server.sessions();
    if let Some(base) = name.strip_suffix(".sdp") {
        return match sessions.send.get(base) {
            Some(s) => ([(header::CONTENT_TYPE, "application/sdp")], s.sdp()).into_response(),
            None => error(
                StatusCode::NOT_FOUND,
                format!("no sending session {base:?}"),
            ),
        };
    }
    if let Some(s) = sessions.send.get(&name) {
        return axum::Json(s.status()).into_response();
    }
    if let Some(s) = sessions.receive.get(&name) {
        return axum::Json(s.status()).into_response();
    }
    error(StatusCode::NOT_FOUND, format!("no session {name:?}"))
}

async fn add_session(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = authorise(&server, &headers) {
        return r;
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return error(StatusCode::BAD_REQUEST, "the body is not UTF-8 TOML");
    };
    let config = match super::config::parse(text, &server.base) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("{e:#}")),
    };
    if config.send.len() + config.receive.len() != 1 {
        return error(
            StatusCode::BAD_REQUEST,
            "the body holds exactly one [[send]] or [[receive]] session",
        );
    }
    let started = blocking(move || {
        let name = config
            .send
            .first()
            .map(|c| c.name.clone())
            .or_else(|| config.receive.first().map(|c| c.name.clone()))
            .unwrap_or_default();
        let result = match (
            config.send.into_iter().next(),
            config.receive.into_iter().next(),
        ) {
            (Some(s), _) => server.start_send(s),
            (None, Some(r)) => server.start_receive(r),
            (None, None) => Ok(()),
        };
        result.map(|()| name)
    })
    .await;
    match started {
        Ok(Ok(name)) => {
            (StatusCode::CREATED, axum::Json(json!({ "session": name }))).into_response()
        }
        Ok(Err(e)) => error(StatusCode::CONFLICT, format!("{e:#}")),
        Err(r) => r,
    }
}

async fn remove_session(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = authorise(&server, &headers) {
        return r;
    }
    match blocking(move || server.stop_session(&name)).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, "no such session"),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct ObjectName {
    name: String,
}

async fn add_object(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Path(session): Path<String>,
    Query(object): Query<ObjectName>,
    body: Bytes,
) -> Response {
    if let Err(r) = authorise(&server, &headers) {
        return r;
    }
    let added = blocking(move || {
        let sessions = server.sessions();
        sessions
            .send
            .get(&session)
            .map(|s| s.add(&object.name, body.to_vec()))
    })
    .await;
    match added {
        Ok(Some(Ok(toi))) => (
            StatusCode::CREATED,
            axum::Json(json!({ "toi": toi.to_string() })),
        )
            .into_response(),
        Ok(Some(Err(e))) => error(StatusCode::BAD_REQUEST, format!("{e:#}")),
        Ok(None) => error(StatusCode::NOT_FOUND, "no such sending session"),
        Err(r) => r,
    }
}

async fn remove_object(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Path(session): Path<String>,
    Query(object): Query<ObjectName>,
) -> Response {
    if let Err(r) = authorise(&server, &headers) {
        return r;
    }
    let removed = blocking(move || {
        let sessions = server.sessions();
        sessions.send.get(&session).map(|s| s.remove(&object.name))
    })
    .await;
    match removed {
        Ok(Some(Ok(true))) => StatusCode::NO_CONTENT.into_response(),
        Ok(Some(Ok(false))) => error(StatusCode::NOT_FOUND, "no such object"),
        Ok(Some(Err(e))) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
        Ok(None) => error(StatusCode::NOT_FOUND, "no such sending session"),
        Err(r) => r,
    }
}

async fn set_rate(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Path(session): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = authorise(&server, &headers) {
        return r;
    }
    let text = String::from_utf8_lossy(&body).trim().to_owned();
    let rate = if text == "unlimited" {
        None
    } else {
        match crate::units::parse_rate(&text) {
            Ok(r) => Some(r),
            Err(e) => return error(StatusCode::BAD_REQUEST, e),
        }
    };
    let set = blocking(move || {
        let sessions = server.sessions();
        sessions.send.get(&session).map(|s| s.set_rate(rate))
    })
    .await;
    match set {
        Ok(Some(Ok(()))) => StatusCode::NO_CONTENT.into_response(),
        Ok(Some(Err(e))) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
        Ok(None) => error(StatusCode::NOT_FOUND, "no such sending session"),
        Err(r) => r,
    }
}

async fn metrics(State(server): State<Arc<Server>>) -> Response {
    let text = render(&server);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Every session's counters in the text format.
fn render(server: &Server) -> String {
    let sessions = server.sessions();
    let mut e = Exposition::default();
    e.family("up", "gauge", "1 while the service runs.")
        .sample(&[("version", env!("CARGO_PKG_VERSION"))], 1.0);
    e.family(
        "reloads_total",
        "counter",
        "Configuration reloads (SIGHUP).",
    )
    .sample(&[], server.reloads.load(Ordering::Relaxed) as f64);
    e.family(
        "reload_failures_total",
        "counter",
        "Reloads refused or only partly applied.",
    )
    .sample(&[], server.reload_failures.load(Ordering::Relaxed) as f64);
    let repair = &super::repair::COUNTERS;
    let repair_families: [(&str, &str, &std::sync::atomic::AtomicU64); 4] = [
        (
            "repair_requests_total",
            "File repair requests (GET /repair/...).",
            &repair.requests,
        ),
        (
            "repair_not_found_total",
            "File repair requests for a file no sending session carries (404).",
            &repair.not_found,
        ),
        (
            "repair_unsatisfiable_total",
            "File repair requests with no satisfiable range (416).",
            &repair.unsatisfiable,
        ),
        (
            "repair_bytes_total",
            "Bytes of file content sent to repair requests.",
            &repair.bytes,
        ),
    ];
    for (name, help, counter) in repair_families {
        e.family(name, "counter", help)
            .sample(&[], counter.load(Ordering::Relaxed) as f64);
    }

    let send: Vec<(&String, TxCounters, SendCounters, usize)> = sessions
        .send
        .iter()
        .map(|(n, s)| (n, s.tx(), s.counters(), s.objects()))
        .collect();
    type SendValue = fn(&TxCounters, &SendCounters, usize) -> f64;
    let send_families: [(&str, &str, &str, SendValue); 13] = [
        (
            "send_packets_total",
            "counter",
            "Packets sent.",
            |t, _, _| t.packets as f64,
        ),
        (
            "send_bytes_total",
            "counter",
            "Bytes sent on the wire.",
            |t, _, _| t.bytes as f64,
        ),
        (
            "send_transfers_total",
            "counter",
            "Objects sent in full (each carousel round counts).",
            |t, _, _| t.transfers as f64,
        ),
        (
            "send_transfers_failed_total",
            "counter",
            "Transfers that failed.",
            |t, _, _| t.transfers_failed as f64,
        ),
        (
            "send_ring_full_total",
            "counter",
            "Times the tx ring or socket buffer was full.",
            |t, _, _| t.ring_full as f64,
        ),
        (
            "send_carousel_cycle_seconds",
            "gauge",
            "The latest carousel cycle: from one start of an object to its next.",
            |t, _, _| t.carousel_cycle_us as f64 / 1e6,
        ),
        (
            "send_fdt_instance_id",
            "gauge",
            "The FDT Instance ID published last.",
            |t, _, _| f64::from(t.fdt_instance_id),
        ),
        (
            "send_objects",
            "gauge",
            "Objects in the session.",
            |_, _, o| o as f64,
        ),
        (
            "send_versions_total",
            "counter",
            "Objects added, new versions included.",
            |_, c, _| c.versions as f64,
        ),
        (
            "send_removed_total",
            "counter",
            "Objects removed (deleted, expired, or by the API).",
            |_, c, _| c.removed as f64,
        ),
        (
            "send_expired_total",
            "counter",
            "Objects removed by their rule's expiry.",
            |_, c, _| c.expired as f64,
        ),
        (
            "send_refused_total",
            "counter",
            "Files that could not be sent.",
            |_, c, _| c.refused as f64,
        ),
        (
            "send_queue_delay_seconds",
            "gauge",
            "From a file's change seen to its object queued, the latest.",
            |_, c, _| c.last_queue_delay_us as f64 / 1e6,
        ),
    ];
    for (name, kind, help, value) in send_families {
        let mut f = e.family(name, kind, help);
        for (n, tx, c, objects) in &send {
            f.sample(&[("session", n)], value(tx, c, *objects));
        }
    }
    {
        let mut f = e.family(
            "send_bit_rate",
            "gauge",
            "Bits per second sent over the last second.",
        );
        for (n, ..) in &send {
            f.sample(&[("session", n)], server.bit_rate(n));
        }
    }

    let receive: Vec<(&String, Option<RxStats>, (u64, u64))> = sessions
        .receive
        .iter()
        .map(|(n, s)| (n, s.stats(), s.outcomes()))
        .collect();
    type ReceiveValue = fn(&RxStats) -> f64;
    let receive_families: [(&str, &str, &str, ReceiveValue); 9] = [
        (
            "receive_packets_total",
            "counter",
            "Packets (frames or datagrams) taken.",
            |s| s.frames() as f64,
        ),
        (
            "receive_bytes_total",
            "counter",
            "Bytes taken, headers included.",
            |s| s.bytes() as f64,
        ),
        (
            "receive_payload_bytes_total",
            "counter",
            "Source symbol bytes written into objects.",
            |s| s.payload_bytes() as f64,
        ),
        (
            "receive_objects_completed_total",
            "counter",
            "Objects completed and verified.",
            |s| s.objects_completed() as f64,
        ),
        (
            "receive_objects_failed_total",
            "counter",
            "Objects that failed.",
            |s| s.objects_failed() as f64,
        ),
        (
            "receive_duplicates_total",
            "counter",
            "Packets whose symbols were already held.",
            |s| s.duplicates() as f64,
        ),
        (
            "receive_repair_symbols_used_total",
            "counter",
            "Source symbols recovered by FEC decoding (repair symbols put to use).",
            |s| s.repair_symbols_used() as f64,
        ),
        (
            "receive_blocks_decoded_elsewhere_total",
            "counter",
            "FEC blocks decoded on a stage thread beside the receive worker.",
            |s| s.blocks_decoded_elsewhere() as f64,
        ),
        (
            "receive_rx_ring_full_total",
            "counter",
            "Frames the kernel dropped for a full rx ring.",
            |s| s.rx_ring_full() as f64,
        ),
    ];
    for (name, kind, help, value) in receive_families {
        let mut f = e.family(name, kind, help);
        for (n, st, _) in &receive {
            f.sample(&[("session", n)], st.as_ref().map_or(0.0, value));
        }
    }
    let repairs: Vec<(&String, crate::repair::RepairStats)> = sessions
        .receive
        .iter()
        .filter_map(|(n, s)| s.repair_stats().map(|r| (n, r)))
        .collect();
    type RepairValue = fn(&crate::repair::RepairStats) -> f64;
    let repair_families: [(&str, &str, RepairValue); 5] = [
        (
            "receive_repaired_total",
            "Objects completed by a repair over HTTP (repair_url).",
            |r| r.repaired as f64,
        ),
        (
            "receive_repair_failed_total",
            "Objects a repair over HTTP could not complete.",
            |r| r.failed as f64,
        ),
        (
            "receive_repair_requests_total",
            "HTTP repair requests made, retries included.",
            |r| r.requests as f64,
        ),
        (
            "receive_repair_missing_bytes_total",
            "Bytes the objects handed over for repair lacked.",
            |r| r.missing_bytes as f64,
        ),
        (
            "receive_repair_bytes_total",
            "Bytes received in answers to repair requests.",
            |r| r.received_bytes as f64,
        ),
    ];
    if !repairs.is_empty() {
        for (name, help, value) in repair_families {
            let mut f = e.family(name, "counter", help);
            for (n, r) in &repairs {
                f.sample(&[("session", n)], value(r));
            }
        }
    }
    {
        let mut f = e.family(
            "receive_bit_rate",
            "gauge",
            "Bits per second received over the last second.",
        );
        for (n, ..) in &receive {
            f.sample(&[("session", n)], server.bit_rate(n));
        }
    }
    {
        let mut f = e.family(
            "receive_drops_total",
            "counter",
            "Packets dropped, by reason.",
        );
        for (n, st, _) in &receive {
            for reason in xflute::receiver::DropReason::ALL {
                let v = st.as_ref().map_or(0, |s| s.drops(reason));
                f.sample(&[("session", n), ("reason", reason.name())], v as f64);
            }
            let kernel = st.as_ref().map_or(0, |s| {
                s.workers
                    .iter()
                    .map(|w| w.kernel_dropped + w.rx_ring_full)
                    .sum::<u64>()
            });
            f.sample(&[("session", n), ("reason", "kernel")], kernel as f64);
        }
    }
    {
        let mut f = e.family(
            "receive_completion_latency_seconds",
            "histogram",
            "From an object's first packet to its completion.",
        );
        for (n, st, _) in &receive {
            f.histogram_us(
                &[("session", n)],
                st.as_ref().and_then(|s| s.latency_us.as_ref()),
            );
        }
    }
    e.finish()
}
