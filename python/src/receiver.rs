//! `xflute.receiver`: `Config`, `UDPEndpoint`, `ObjectWriterBuilder`, `Receiver` and
//! `MultiReceiver` with flute-alc's names and signatures, over the sans-IO
//! [`xflute::receiver::MultiReceiver`]; plus what flute-alc lacks: object events (polled, or
//! passed to a callback), `MultiReceiver.cleanup`, and a buffer writer whose objects can be
//! read back. Packets (`bytes`) are read in place, not copied.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use xflute::endpoint::UdpEndpoint as CoreEndpoint;
use xflute::receiver::MemorySink;
use xflute::receiver::{FailReason, ObjectEvent as CoreEvent, ObjectMetadata};

use crate::errors::{FluteError, flute_err, io_err};
use crate::sink::SharedSink;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add(
        "__doc__",
        "FLUTE receiver with flute-alc's API: Config, UDPEndpoint, ObjectWriterBuilder, \
         Receiver, MultiReceiver and LCTHeader, plus object events.",
    )?;
    m.add_class::<Config>()?;
    m.add_class::<UDPEndpoint>()?;
    m.add_class::<ObjectWriterBuilder>()?;
    m.add_class::<ReceivedObject>()?;
    m.add_class::<ObjectEvent>()?;
    m.add_class::<Receiver>()?;
    m.add_class::<MultiReceiver>()?;
    m.add_class::<crate::lct::LCTHeader>()?;
    Ok(())
}

/// Receiver configuration: timeouts and checks.
#[pyclass(module = "xflute.receiver", from_py_object)]
#[derive(Debug, Clone)]
pub struct Config {
    pub inner: xflute::receiver::Config,
    /// flute-alc's `max_objects_error`: kept for API compatibility; xflute bounds what it
    /// remembers with its own limits.
    max_objects_error: usize,
}

fn millis(d: Option<Duration>) -> Option<u64> {
    d.map(|d| d.as_millis() as u64)
}

#[pymethods]
impl Config {
    #[new]
    fn new() -> Self {
        Self {
            inner: xflute::receiver::Config::default(),
            max_objects_error: 0,
        }
    }

    /// Accepted for flute-alc compatibility; not used.
    #[getter]
    fn get_max_objects_error(&self) -> usize {
        self.max_objects_error
    }
    #[setter]
    fn set_max_objects_error(&mut self, value: usize) {
        self.max_objects_error = value;
    }

    /// A session with no packet for this long is dropped (None: never), in milliseconds.
    #[getter]
    fn get_session_timeout_ms(&self) -> Option<u64> {
        millis(self.inner.session_timeout)
    }
    #[setter]
    fn set_session_timeout_ms(&mut self, value: Option<u64>) {
        self.inner.session_timeout = value.map(Duration::from_millis);
    }

    /// An object with no packet for this long fails (None: never), in milliseconds.
    #[getter]
    fn get_object_timeout_ms(&self) -> Option<u64> {
        millis(self.inner.object_timeout)
    }
    #[setter]
    fn set_object_timeout_ms(&mut self, value: Option<u64>) {
        self.inner.object_timeout = value.map(Duration::from_millis);
    }

    /// Verify Content-MD5 when the FDT gives one. (xflute only.)
    #[getter]
    fn get_check_md5(&self) -> bool {
        self.inner.check_md5
    }
    #[setter]
    fn set_check_md5(&mut self, value: bool) {
        self.inner.check_md5 = value;
    }

    /// Receive objects no FDT describes, from their EXT_FTI alone. (xflute only.)
    #[getter]
    fn get_receive_without_fdt(&self) -> bool {
        self.inner.receive_without_fdt
    }
    #[setter]
    fn set_receive_without_fdt(&mut self, value: bool) {
        self.inner.receive_without_fdt = value;
    }

    /// Largest object accepted, in bytes. (xflute only.)
    #[getter]
    fn get_max_object_bytes(&self) -> u64 {
        self.inner.limits.max_object_bytes
    }
    #[setter]
    fn set_max_object_bytes(&mut self, value: u64) {
        self.inner.limits.max_object_bytes = value;
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// The UDP endpoint packets arrive on: destination (group) address, port, and for
/// source-specific multicast the source address.
#[pyclass(module = "xflute.receiver", from_py_object)]
#[derive(Debug, Clone)]
pub struct UDPEndpoint {
    pub inner: CoreEndpoint,
}

fn ip(value: &str) -> PyResult<IpAddr> {
    value
        .parse()
        .map_err(|_| FluteError::new_err(format!("{value:?} is not an IP address")))
}

#[pymethods]
impl UDPEndpoint {
    #[new]
    #[pyo3(signature = (destination_group_address, port, source_address=None))]
    fn new(
        destination_group_address: &str,
        port: u16,
        source_address: Option<&str>,
    ) -> PyResult<Self> {
        let destination = ip(destination_group_address)?;
        let inner = match source_address {
            Some(s) => CoreEndpoint::with_source(ip(s)?, destination, port),
            None => CoreEndpoint::new(destination, port),
        };
        Ok(Self { inner })
    }

    #[getter]
    fn destination_group_address(&self) -> String {
        self.inner.destination.to_string()
    }

    #[getter]
    fn port(&self) -> u16 {
        self.inner.port
    }

    #[getter]
    fn source_address(&self) -> Option<String> {
        self.inner.source_address.map(|a| a.to_string())
    }

    fn __repr__(&self) -> String {
        format!("UDPEndpoint({})", self.inner)
    }
}

/// Where received objects go: files below a directory (`ObjectWriterBuilder(path)`), or memory
/// (`ObjectWriterBuilder.new_buffer()`, read back with `take_objects()`). One writer can serve
/// several receivers.
#[pyclass(module = "xflute.receiver")]
#[derive(Debug)]
pub struct ObjectWriterBuilder {
    pub sink: SharedSink,
}

/// Objects larger than this are refused by a writer (the receiver's own limit is 4 GiB too).
const WRITER_MAX_OBJECT_BYTES: u64 = 4 << 30;

#[pymethods]
impl ObjectWriterBuilder {
    /// Writes each object to `path`/<its Content-Location path> (the directory is created).
    #[new]
    fn new(path: std::path::PathBuf) -> PyResult<Self> {
        let sink =
            xflute::io::file_sink::FileSink::new(&path, WRITER_MAX_OBJECT_BYTES).map_err(io_err)?;
        Ok(Self {
            sink: SharedSink::File(sink),
        })
    }

    /// Keeps objects in memory until `take_objects()`.
    #[staticmethod]
    fn new_buffer() -> Self {
        Self {
            sink: SharedSink::Memory(Arc::new(Mutex::new(MemorySink::new(
                WRITER_MAX_OBJECT_BYTES,
            )))),
        }
    }

    /// The objects completed since the last call, oldest first (always empty for a directory
    /// writer). (xflute only.)
    fn take_objects(&self) -> Vec<ReceivedObject> {
        self.sink
            .take_completed()
            .into_iter()
            .map(|o| ReceivedObject {
                tsi: o.desc.tsi,
                toi: o.desc.toi,
                content_location: o.desc.path.map(|p| p.to_relative_string()),
                content_type: o.desc.content_type,
                len: o.data.len(),
                data: Mutex::new(Data::Raw(o.data)),
            })
            .collect()
    }
}

enum Data {
    Raw(xflute::receiver::MemoryData),
    Bytes(Py<PyBytes>),
}

/// A complete, verified object taken from a buffer writer.
#[pyclass(module = "xflute.receiver", frozen)]
pub struct ReceivedObject {
    /// Its session's TSI.
    #[pyo3(get)]
    tsi: u64,
    /// Its TOI.
    #[pyo3(get)]
    toi: u128,
    /// The path its Content-Location names (None for an object no FDT described).
    #[pyo3(get)]
    content_location: Option<String>,
    /// Content-Type from the FDT.
    #[pyo3(get)]
    content_type: Option<String>,
    len: usize,
    data: Mutex<Data>,
}

#[pymethods]
impl ReceivedObject {
    /// The object's bytes (the `bytes` object is built on first access, then shared).
    #[getter]
    fn data(&self, py: Python<'_>) -> Py<PyBytes> {
        let mut data = self
            .data
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bytes = match &*data {
            Data::Bytes(b) => return b.clone_ref(py),
            Data::Raw(raw) => PyBytes::new(py, raw).unbind(),
        };
        *data = Data::Bytes(bytes.clone_ref(py));
        bytes
    }

    /// The object's length in bytes.
    fn __len__(&self) -> usize {
        self.len
    }

    fn __repr__(&self) -> String {
        format!(
            "ReceivedObject(tsi={}, toi={}, content_location={})",
            self.tsi,
            self.toi,
            py_repr(self.content_location.as_deref())
        )
    }
}

/// Something that happened to an object: `kind` is "started", "progress", "completed" or
/// "failed".
#[pyclass(module = "xflute.receiver", frozen, get_all)]
#[derive(Debug, Clone)]
pub struct ObjectEvent {
    /// "started", "progress", "completed" or "failed".
    pub kind: &'static str,
    /// The session's TSI.
    pub tsi: u64,
    /// The object's TOI.
    pub toi: u128,
    /// The endpoint the session's packets arrive on.
    pub endpoint: String,
    /// Content-Location from the FDT.
    pub content_location: Option<String>,
    /// Where the object is written below the writer's directory.
    pub path: Option<String>,
    /// Content-Type from the FDT.
    pub content_type: Option<String>,
    /// Content-Length from the FDT.
    pub content_length: Option<u64>,
    /// Transfer-Length.
    pub transfer_length: Option<u64>,
    /// Bytes received so far ("progress" events).
    pub received_bytes: Option<u64>,
    /// FEC Encoding ID the object is received with.
    pub fec_encoding_id: Option<u8>,
    /// Why the object failed ("failed" events).
    pub reason: Option<String>,
}

impl ObjectEvent {
    pub fn from_core(event: &CoreEvent) -> Self {
        let session = event.session();
        let mut out = Self {
            kind: "",
            tsi: session.tsi,
            toi: event.toi(),
            endpoint: session.endpoint.to_string(),
            content_location: None,
            path: None,
            content_type: None,
            content_length: None,
            transfer_length: None,
            received_bytes: None,
            fec_encoding_id: None,
            reason: None,
        };
        let mut meta = |m: &ObjectMetadata| {
            out.content_location.clone_from(&m.content_location);
            out.path = m.path.as_ref().map(|p| p.to_relative_string());
            out.content_type.clone_from(&m.content_type);
            out.content_length = m.content_length;
            out.transfer_length = Some(m.transfer_length);
            out.fec_encoding_id = Some(m.oti.fec_encoding_id.into());
        };
        let kind = match event {
            CoreEvent::Started { meta: m, .. } => {
                meta(m);
                "started"
            }
            CoreEvent::Completed { meta: m, .. } => {
                meta(m);
                "completed"
            }
            CoreEvent::Failed {
                meta: m, reason, ..
            } => {
                if let Some(m) = m {
                    meta(m);
                }
                out.reason = Some(reason_text(reason));
                "failed"
            }
            CoreEvent::Progress {
                received_bytes,
                transfer_length,
                ..
            } => {
                out.received_bytes = Some(*received_bytes);
                out.transfer_length = Some(*transfer_length);
                "progress"
            }
        };
        out.kind = kind;
        out
    }
}

/// `'text'` or `None`, as Python's repr writes them.
fn py_repr(value: Option<&str>) -> String {
    value.map_or_else(|| "None".to_owned(), |v| format!("{v:?}"))
}

fn reason_text(reason: &FailReason) -> String {
    reason.to_string()
}

#[pymethods]
impl ObjectEvent {
    fn __repr__(&self) -> String {
        format!(
            "ObjectEvent(kind='{}', tsi={}, toi={}, content_location={})",
            self.kind,
            self.tsi,
            self.toi,
            py_repr(self.content_location.as_deref())
        )
    }
}

/// The state both receiver classes share: the sans-IO receiver, and the callback its events
/// are handed to.
struct Inner {
    receiver: xflute::receiver::MultiReceiver<SharedSink>,
    on_event: Option<Py<PyAny>>,
}

impl Inner {
    fn new(writer: &ObjectWriterBuilder, config: &Config) -> Self {
        Self {
            receiver: xflute::receiver::MultiReceiver::new(writer.sink.clone(), config.inner),
            on_event: None,
        }
    }

    fn push(&mut self, py: Python<'_>, endpoint: &CoreEndpoint, data: &[u8]) -> PyResult<()> {
        let result = self.receiver.push(endpoint, data, SystemTime::now());
        self.dispatch(py)?;
        result.map_err(flute_err)
    }

    fn cleanup(&mut self, py: Python<'_>) -> PyResult<()> {
        self.receiver.cleanup(SystemTime::now());
        self.dispatch(py)
    }

    /// Hands queued events to the callback, if one is set; otherwise they wait for
    /// `poll_event` (bounded by the receiver's event limit).
    fn dispatch(&mut self, py: Python<'_>) -> PyResult<()> {
        let Some(callback) = &self.on_event else {
            return Ok(());
        };
        while let Some(event) = self.receiver.poll_event() {
            callback.call1(py, (ObjectEvent::from_core(&event),))?;
        }
        Ok(())
    }

    fn poll_event(&mut self) -> Option<ObjectEvent> {
        self.receiver
            .poll_event()
            .map(|e| ObjectEvent::from_core(&e))
    }

    fn set_on_event(&mut self, callback: Option<Bound<'_, PyAny>>) -> PyResult<()> {
        if let Some(c) = &callback
            && !c.is_callable()
        {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "on_event must be callable or None",
            ));
        }
        self.on_event = callback.map(Bound::unbind);
        Ok(())
    }
}

/// A FLUTE receiver of one session: packets of other sessions are ignored.
#[pyclass(module = "xflute.receiver", unsendable)]
pub struct Receiver {
    inner: Inner,
    endpoint: CoreEndpoint,
}

#[pymethods]
impl Receiver {
    /// A receiver of session `tsi` on `endpoint`, writing objects with `writer`.
    #[new]
    fn new(
        endpoint: PyRef<'_, UDPEndpoint>,
        tsi: u64,
        writer: PyRef<'_, ObjectWriterBuilder>,
        config: PyRef<'_, Config>,
    ) -> Self {
        let mut inner = Inner::new(&writer, &config);
        inner.receiver.set_tsi_filtering(true);
        inner.receiver.add_listen_tsi(endpoint.inner, tsi);
        Self {
            inner,
            endpoint: endpoint.inner,
        }
    }

    /// Pushes one ALC packet (the payload of a UDP datagram).
    fn push(&mut self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        let endpoint = self.endpoint;
        self.inner.push(py, &endpoint, data)
    }

    /// Expires timed-out objects and sessions; call it from time to time. (xflute only.)
    fn cleanup(&mut self, py: Python<'_>) -> PyResult<()> {
        self.inner.cleanup(py)
    }

    /// The next object event, or None. (xflute only.)
    fn poll_event(&mut self) -> Option<ObjectEvent> {
        self.inner.poll_event()
    }

    /// A callable given each `ObjectEvent` as it happens, or None. (xflute only.)
    #[setter]
    fn set_on_event(&mut self, callback: Option<Bound<'_, PyAny>>) -> PyResult<()> {
        self.inner.set_on_event(callback)
    }
    #[getter]
    fn get_on_event(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.inner.on_event.as_ref().map(|c| c.clone_ref(py))
    }
}

/// A FLUTE receiver of every session on every endpoint (demultiplexed by endpoint and TSI).
#[pyclass(module = "xflute.receiver", unsendable)]
pub struct MultiReceiver {
    inner: Inner,
}

#[pymethods]
impl MultiReceiver {
    #[new]
    fn new(writer: PyRef<'_, ObjectWriterBuilder>, config: PyRef<'_, Config>) -> Self {
        Self {
            inner: Inner::new(&writer, &config),
        }
    }

    /// Pushes one ALC packet that arrived on `endpoint`.
    fn push(
        &mut self,
        py: Python<'_>,
        endpoint: PyRef<'_, UDPEndpoint>,
        data: &[u8],
    ) -> PyResult<()> {
        self.inner.push(py, &endpoint.inner, data)
    }

    /// Expires timed-out objects and sessions; call it from time to time.
    fn cleanup(&mut self, py: Python<'_>) -> PyResult<()> {
        self.inner.cleanup(py)
    }

    /// The next object event, or None. (xflute only.)
    fn poll_event(&mut self) -> Option<ObjectEvent> {
        self.inner.poll_event()
    }

    /// A callable given each `ObjectEvent` as it happens, or None. (xflute only.)
    #[setter]
    fn set_on_event(&mut self, callback: Option<Bound<'_, PyAny>>) -> PyResult<()> {
        self.inner.set_on_event(callback)
    }
    #[getter]
    fn get_on_event(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.inner.on_event.as_ref().map(|c| c.clone_ref(py))
    }

    /// Sessions being received. (xflute only.)
    fn nb_sessions(&self) -> usize {
        self.inner.receiver.nb_sessions()
    }

    /// Objects being received. (xflute only.)
    fn nb_objects(&self) -> usize {
        self.inner.receiver.nb_objects()
    }
}
