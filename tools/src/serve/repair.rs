//! The repair server of `serve` (3GPP TS 26.346 §9.3 file repair, DVB-MABR unicast repair):
//! `GET /repair/SESSION/PATH` answers with the file a sending session carries under that
//! path (its Content-Location, `file:///PATH`), as HTTP/1.1 byte ranges (RFC 9110 §14): one
//! range as `206` with a Content-Range, several as `206` `multipart/byteranges`, none
//! satisfiable as `416`, no `Range` as `200`. Receivers point `recv --repair-url` at
//! `http://ADDRESS/repair/SESSION/`.
//!
//! Only files read from a watched directory are served, and only while the session sends that
//! version of them (same size, time and inode): a receiver repairing one version must not be
//! given bytes of another. Objects added through the API live only in the engine: `404`.

use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Server;
use std::sync::Arc;

/// Most ranges one request may ask for; more, or more bytes than the file holds (overlapping
/// ranges), and the whole file is sent instead, as RFC 9110 §14.2 allows: a small request
/// cannot make a large answer.
const MAX_RANGES: usize = 1024;

/// What the repair server did, for `/metrics`.
#[derive(Debug)]
pub struct RepairCounters {
    /// Requests answered.
    pub requests: AtomicU64,
    /// Requests for a path no session carries (`404`).
    pub not_found: AtomicU64,
    /// Requests with no satisfiable range (`416`).
    pub unsatisfiable: AtomicU64,
    /// Bytes of file content sent.
    pub bytes: AtomicU64,
}

/// The counters of this process's repair server.
pub static COUNTERS: RepairCounters = RepairCounters {
    requests: AtomicU64::new(0),
    not_found: AtomicU64::new(0),
    unsatisfiable: AtomicU64::new(0),
    bytes: AtomicU64::new(0),
};

/// Boundary of multipart answers: not a sequence file bytes are searched for (parts are
/// delimited by their Content-Range lengths), but kept unlikely all the same.
const BOUNDARY: &str = "xflute-repair-3d5e9f1c7a2b";

/// The ranges of a `Range: bytes=...` value over a file of `len` bytes (RFC 9110 §14.1.2):
/// `Ok(None)` when the header does not parse (then it is ignored), `Ok(Some(ranges))` with the
/// satisfiable ones, `Err(())` when none is.
pub fn parse_range(value: &str, len: u64) -> Result<Option<Vec<Range<u64>>>, ()> {
    let Some(specs) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    let mut ranges = Vec::new();
    for spec in specs.split(',') {
        let spec = spec.trim();
        if spec.is_empty() {
            continue;
        }
        let Some((first, last)) = spec.split_once('-') else {
            return Ok(None);
        };
        let range = match (first.trim(), last.trim()) {
            ("", suffix) => {
                let Ok(n) = suffix.parse::<u64>() else {
                    return Ok(None);
                };
                if n == 0 {
                    continue;
                }
                len.saturating_sub(n)..len
            }
            (first, last) => {
                let Ok(first) = first.parse::<u64>() else {
                    return Ok(None);
                };
                let last = match last {
                    "" => len.saturating_sub(1),
                    l => match l.parse::<u64>() {
                        Ok(l) if l >= first => l.min(len.saturating_sub(1)),
                        _ => return Ok(None),
                    },
                };
                if first >= len {
                    continue;
                }
                first..last + 1
            }
        };
        if range.start < range.end {
            ranges.push(range);
        }
    }
    if ranges.is_empty() {
        return Err(());
    }
    Ok(Some(ranges))
}

fn count(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// `GET /repair/{session}/{*path}`.
pub async fn repair(
    State(server): State<Arc<Server>>,
    Path((session, path)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    count(&COUNTERS.requests, 1);
    let file = {
        let sessions = server.sessions();
        sessions.send.get(&session).and_then(|s| s.file_of(&path))
    };
    let Some(file) = file else {
        count(&COUNTERS.not_found, 1);
        return (StatusCode::NOT_FOUND, "no such file in the session\n").into_response();
    };
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let answer = tokio::task::spawn_blocking(move || answer(&file, range.as_deref())).await;
    match answer {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

/// Reads what `range` asks of `path` and builds the answer.
fn answer(path: &std::path::Path, range: Option<&str>) -> std::io::Result<Response> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let ranges = match range.map(|r| parse_range(r, len)) {
        None | Some(Ok(None)) => None,
        Some(Ok(Some(ranges))) => {
            let total: u64 = ranges.iter().map(|r| r.end - r.start).sum();
            (ranges.len() <= MAX_RANGES && total <= len).then_some(ranges)
        }
        Some(Err(())) => {
            count(&COUNTERS.unsatisfiable, 1);
            return Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response());
        }
    };
    let read = |r: &Range<u64>| -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0u8; (r.end - r.start) as usize];
        file.read_exact_at(&mut buf, r.start)?;
        Ok(buf)
    };
    let accept = (header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let octets = (
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    let response = match ranges.as_deref() {
        None => {
            let body = read(&(0..len))?;
            count(&COUNTERS.bytes, len);
            (StatusCode::OK, [accept, octets], body).into_response()
        }
        Some([one]) => {
            let body = read(one)?;
            count(&COUNTERS.bytes, body.len() as u64);
            let content_range = format!("bytes {}-{}/{len}", one.start, one.end - 1);
            (
                StatusCode::PARTIAL_CONTENT,
                [accept, octets],
                [(header::CONTENT_RANGE, content_range)],
                body,
            )
                .into_response()
        }
        Some(many) => {
            let mut body = Vec::new();
            for r in many {
                body.extend_from_slice(
                    format!(
                        "\r\n--{BOUNDARY}\r\nContent-Type: application/octet-stream\r\n\
                         Content-Range: bytes {}-{}/{len}\r\n\r\n",
                        r.start,
                        r.end - 1
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(&read(r)?);
                count(&COUNTERS.bytes, r.end - r.start);
            }
            body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
            let content_type = format!("multipart/byteranges; boundary={BOUNDARY}");
            (
                StatusCode::PARTIAL_CONTENT,
                [accept],
                [(header::CONTENT_TYPE, content_type)],
                Body::from(body),
            )
                .into_response()
        }
    };
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // A list of one range is what is meant.
    fn range_values_parse_as_rfc_9110_says() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok(Some(vec![0..10])));
        assert_eq!(
            parse_range("bytes=0-9, 20-, -5", 100),
            Ok(Some(vec![0..10, 20..100, 95..100]))
        );
        // Past the end: cut; starting past it: left out; none left: unsatisfiable.
        assert_eq!(parse_range("bytes=90-200", 100), Ok(Some(vec![90..100])));
        assert_eq!(parse_range("bytes=100-,0-0", 100), Ok(Some(vec![0..1])));
        assert_eq!(parse_range("bytes=100-200", 100), Err(()));
        // Not understood: ignored (the whole file).
        assert_eq!(parse_range("items=0-9", 100), Ok(None));
        assert_eq!(parse_range("bytes=9-0", 100), Ok(None));
        assert_eq!(parse_range("bytes=a-b", 100), Ok(None));
    }

    #[test]
    fn answers_carry_the_ranges_asked_for() {
        let dir = xflute_tests::TempDir::new("serve-repair-answer");
        let path = dir.0.join("f.bin");
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let body = |r: Response| {
            rt.block_on(async {
                axum::body::to_bytes(r.into_body(), usize::MAX)
                    .await
                    .unwrap()
            })
        };
        let r = answer(&path, Some("bytes=10-19")).unwrap();
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(r.headers()[header::CONTENT_RANGE], "bytes 10-19/1000");
        assert_eq!(&body(r)[..], &data[10..20]);
        let r = answer(&path, Some("bytes=0-1,500-502")).unwrap();
        let ct = r.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(ct.starts_with("multipart/byteranges"), "{ct}");
        let parts = crate::repair::parse_byteranges(&body(r), BOUNDARY).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[1].0, &parts[1].1[..]), (500, &data[500..503]));
        let r = answer(&path, Some("bytes=2000-")).unwrap();
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(r.headers()[header::CONTENT_RANGE], "bytes */1000");
        // Overlapping ranges worth more than the file: the whole file.
        let r = answer(&path, Some("bytes=0-,0-")).unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(&body(r)[..], &data[..]);
    }
}
