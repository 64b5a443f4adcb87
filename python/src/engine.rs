//! `xflute.RxEngine` and `xflute.TxEngine`: the multi-queue runtime ([`xflute::runtime`]) over
//! AF_XDP (backend "xdp"), kernel UDP sockets (backend "udp") or capture files (backend "pcap").
//! Packets never cross into
//! Python: the engine's workers receive and write files, and Python iterates over object
//! events, waiting with the GIL released.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use xflute::runtime::{Backend, ChannelSpec, RxEngine as CoreRx, RxStats, TxEngine as CoreTx};
use xflute::runtime::{EventWait, Events};

use crate::errors::{FluteError, flute_err};
use crate::receiver::{Config, ObjectEvent, UDPEndpoint};
use crate::sender::Sender;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RxEngine>()?;
    m.add_class::<TxEngine>()?;
    Ok(())
}

/// How long a blocked iteration waits before it looks at Python signals (Ctrl-C) again.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

fn backend(name: &str) -> PyResult<Backend> {
    name.parse().map_err(FluteError::new_err)
}

fn rx_stats<'py>(py: Python<'py>, stats: &RxStats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("frames", stats.frames())?;
    d.set_item("bytes", stats.bytes())?;
    d.set_item("payload_bytes", stats.payload_bytes())?;
    d.set_item("objects_completed", stats.objects_completed())?;
    d.set_item("objects_failed", stats.objects_failed())?;
    d.set_item("drops", stats.total_drops())?;
    d.set_item("duplicates", stats.duplicates())?;
    d.set_item("rx_ring_full", stats.rx_ring_full())?;
    Ok(d)
}

/// A running receive engine: worker threads (one per rx queue for "xdp", one per channel for
/// "udp") that receive FLUTE sessions into files below `output_dir`. Iterate over it for
/// `receiver.ObjectEvent`s; iteration ends once the engine has stopped and every event was
/// read. `stop()` (or leaving a `with` block) stops it.
#[pyclass(module = "xflute", unsendable)]
pub struct RxEngine {
    engine: Option<CoreRx>,
    events: Events,
    final_stats: Option<RxStats>,
}

impl RxEngine {
    /// Waits up to `timeout` (forever for None) for the next event, GIL released; `Ok(None)`
    /// when the time is up or the engine has stopped with nothing left to read.
    fn wait(&self, py: Python<'_>, timeout: Option<Duration>) -> PyResult<Option<ObjectEvent>> {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            let step = match deadline {
                Some(d) => d
                    .saturating_duration_since(std::time::Instant::now())
                    .min(SIGNAL_CHECK),
                None => SIGNAL_CHECK,
            };
            let events = self.events.clone();
            match py.detach(move || events.next_timeout(step)) {
                Ok(event) => return Ok(Some(ObjectEvent::from_core(&event))),
                Err(EventWait::Closed) => return Ok(None),
                Err(EventWait::Timeout) => {}
            }
            let finished = self.engine.as_ref().is_none_or(CoreRx::is_finished);
            if finished && self.events.is_empty() {
                return Ok(None);
            }
            py.check_signals()?;
            if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                return Ok(None);
            }
        }
    }
}

#[pymethods]
impl RxEngine {
    /// Starts receiving `channels` (a list of `receiver.UDPEndpoint`: destination group and
    /// port, and the only source accepted if given; every TSI) into `output_dir`.
    /// `backend` is "xdp" (AF_XDP, needs root and `interface`), "udp" (kernel sockets) or
    /// "pcap" (replays the capture `pcap` as fast as it can, then ends).
    #[new]
    #[pyo3(signature = (output_dir, channels, backend="udp", interface=None, queues=1, config=None, pcap=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        output_dir: std::path::PathBuf,
        channels: Vec<PyRef<'_, UDPEndpoint>>,
        backend: &str,
        interface: Option<String>,
        queues: u32,
        config: Option<PyRef<'_, Config>>,
        pcap: Option<std::path::PathBuf>,
    ) -> PyResult<Self> {
        if channels.is_empty() {
            return Err(FluteError::new_err("no channel to receive"));
        }
        let mut builder = CoreRx::builder(output_dir)
            .backend(self::backend(backend)?)
            .queues(queues);
        if let Some(interface) = interface {
            builder = builder.interface(interface);
        }
        if let Some(config) = config {
            builder = builder.receiver_config(config.inner);
        }
        if let Some(pcap) = pcap {
            builder = builder.pcap_in(pcap);
        }
        for c in &channels {
            let endpoint = c.inner;
            builder = builder.channel(ChannelSpec {
                destination: SocketAddr::new(endpoint.destination, endpoint.port),
                source: endpoint.source_address,
                tsis: Vec::new(),
            });
        }
        let stop = Arc::new(AtomicBool::new(false));
        let engine = py.detach(move || builder.start(stop)).map_err(flute_err)?;
        Ok(Self {
            events: engine.events().clone(),
            engine: Some(engine),
            final_stats: None,
        })
    }

    /// The next event, waiting up to `timeout` seconds (forever for None); None when the time
    /// is up or the engine has stopped.
    #[pyo3(signature = (timeout=None))]
    fn poll(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<ObjectEvent>> {
        let timeout = timeout
            .map(|t| Duration::try_from_secs_f64(t.max(0.0)))
            .transpose()
            .map_err(flute_err)?;
        self.wait(py, timeout)
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<ObjectEvent> {
        self.wait(py, None)?
            .ok_or_else(|| PyStopIteration::new_err(()))
    }

    /// Counters merged over the workers (as last published, every 50 ms).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        match (&self.engine, &self.final_stats) {
            (Some(e), _) => rx_stats(py, &e.stats()),
            (None, Some(s)) => rx_stats(py, s),
            (None, None) => Err(FluteError::new_err("the engine was stopped")),
        }
    }

    /// Whether every worker has ended.
    fn is_finished(&self) -> bool {
        self.engine.as_ref().is_none_or(CoreRx::is_finished)
    }

    /// Stops the workers (unfinished objects' `.part` files are removed), detaches the XDP
    /// program and returns the final counters. Events already queued can still be iterated.
    fn stop<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        if let Some(engine) = self.engine.take() {
            let stats = py.detach(move || engine.join()).map_err(flute_err)?;
            self.final_stats = Some(stats);
        }
        self.stats(py)
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __exit__(
        &mut self,
        py: Python<'_>,
        _exc_type: Option<Bound<'_, PyAny>>,
        _exc: Option<Bound<'_, PyAny>>,
        _tb: Option<Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.stop(py)?;
        Ok(false)
    }
}

/// A running send engine: sends the objects of `sender` (which it takes over: the Python
/// `Sender` is closed afterwards; create it with `endpoint=` to say where packets go) from
/// `source`, paced at `rate_bps` (None: as
/// fast as possible), over AF_XDP ("xdp", needs root and `interface`) or UDP sockets ("udp"), or
/// into the capture file `pcap` ("pcap").
/// It stops by itself once every object was sent (or after `run_for` seconds).
#[pyclass(module = "xflute", unsendable)]
pub struct TxEngine {
    engine: Option<CoreTx>,
    final_stats: Option<xflute::runtime::TxStats>,
}

#[pymethods]
impl TxEngine {
    #[new]
    #[pyo3(signature = (sender, source, backend="udp", interface=None, rate_bps=None, run_for=None, pcap=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        mut sender: PyRefMut<'_, Sender>,
        source: &str,
        backend: &str,
        interface: Option<String>,
        rate_bps: Option<u64>,
        run_for: Option<f64>,
        pcap: Option<std::path::PathBuf>,
    ) -> PyResult<Self> {
        let source: IpAddr = source
            .parse()
            .map_err(|_| FluteError::new_err(format!("{source:?} is not an IP address")))?;
        let backend = self::backend(backend)?;
        let run_for = run_for
            .map(|t| Duration::try_from_secs_f64(t.max(0.0)))
            .transpose()
            .map_err(flute_err)?;
        let core = sender.take_for_engine()?;
        let mut builder = CoreTx::builder()
            .backend(backend)
            .session(core, source)
            .rate_bps(rate_bps)
            .run_for(run_for);
        if let Some(interface) = interface {
            builder = builder.interface(interface);
        }
        if let Some(pcap) = pcap {
            builder = builder.pcap_out(pcap);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let engine = py.detach(move || builder.start(stop)).map_err(flute_err)?;
        Ok(Self {
            engine: Some(engine),
            final_stats: None,
        })
    }

    /// Whether every worker has ended (all objects sent, or stopped).
    fn is_finished(&self) -> bool {
        self.engine.as_ref().is_none_or(CoreTx::is_finished)
    }

    /// Waits until the engine has ended, up to `timeout` seconds (forever for None); returns
    /// whether it has.
    #[pyo3(signature = (timeout=None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let deadline =
            timeout.map(|t| std::time::Instant::now() + Duration::from_secs_f64(t.max(0.0)));
        while !self.is_finished() {
            if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                return Ok(false);
            }
            py.detach(|| std::thread::sleep(Duration::from_millis(10)));
            py.check_signals()?;
        }
        Ok(true)
    }

    /// Counters: packets, bytes, ALC bytes.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = match (&self.engine, &self.final_stats) {
            (Some(e), _) => e.stats(),
            (None, Some(s)) => s.clone(),
            (None, None) => return Err(FluteError::new_err("the engine was stopped")),
        };
        let total = stats.total();
        let d = PyDict::new(py);
        d.set_item("packets", total.packets)?;
        d.set_item("bytes", total.bytes)?;
        d.set_item("alc_bytes", total.alc_bytes)?;
        Ok(d)
    }

    /// Stops the workers (if still running) and returns the final counters.
    fn stop<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        if let Some(engine) = self.engine.take() {
            let stats = py.detach(move || engine.join()).map_err(flute_err)?;
            self.final_stats = Some(stats);
        }
        self.stats(py)
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __exit__(
        &mut self,
        py: Python<'_>,
        _exc_type: Option<Bound<'_, PyAny>>,
        _exc: Option<Bound<'_, PyAny>>,
        _tb: Option<Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.stop(py)?;
        Ok(false)
    }
}
