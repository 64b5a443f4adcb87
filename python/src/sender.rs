//! `xflute.sender`: `Config`, `Oti` and `Sender`, with flute-alc's names and signatures, over
//! the sans-IO [`xflute::sender::Sender`]. Packets leave as `bytes` built once from a scratch
//! buffer the sender writes into; files are memory-mapped and sent without a copy; `bytes`
//! content is borrowed, not copied.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use xflute::cenc::Cenc;
use xflute::endpoint::UdpEndpoint;
use xflute::io::mmap::MappedFile;
use xflute::sender::{FdtXmlProfile, ObjectDesc, PriorityQueue, TransferConfig};
use xflute::wire::{FecEncodingId, Oti as WireOti, SchemeSpecific};

use crate::errors::{FluteError, flute_err, io_err};

/// Largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add(
        "__doc__",
        "FLUTE sender with flute-alc's API: Config, Oti (FEC parameters) and Sender.",
    )?;
    m.add_class::<Config>()?;
    m.add_class::<Oti>()?;
    m.add_class::<Sender>()?;
    Ok(())
}

/// Sender configuration: FDT publishing, file multiplexing and block interleaving.
#[pyclass(module = "xflute.sender", from_py_object)]
#[derive(Debug, Clone)]
pub struct Config(pub xflute::sender::Config);

#[pymethods]
impl Config {
    #[new]
    fn new() -> Self {
        Self(xflute::sender::Config::default())
    }

    /// How long each FDT Instance is valid (its Expires), in milliseconds.
    #[getter]
    fn get_fdt_duration_ms(&self) -> u64 {
        self.0.fdt_duration.as_millis() as u64
    }
    #[setter]
    fn set_fdt_duration_ms(&mut self, value: u64) {
        self.0.fdt_duration = Duration::from_millis(value);
    }

    /// FDT Instance ID of the first FDT Instance.
    #[getter]
    fn get_fdt_start_id(&self) -> u32 {
        self.0.fdt_start_id
    }
    #[setter]
    fn set_fdt_start_id(&mut self, value: u32) {
        self.0.fdt_start_id = value;
    }

    /// Content encoding of the FDT: 0 null, 1 zlib, 2 deflate, 3 gzip.
    #[getter]
    fn get_fdt_cenc(&self) -> u8 {
        self.0.fdt_cenc as u8
    }
    #[setter]
    fn set_fdt_cenc(&mut self, value: u8) -> PyResult<()> {
        self.0.fdt_cenc = cenc(value)?;
        Ok(())
    }

    /// Whether FDT Instances carry EXT_TIME with the Sender Current Time.
    #[getter]
    fn get_fdt_inband_sct(&self) -> bool {
        self.0.fdt_inband_sct
    }
    #[setter]
    fn set_fdt_inband_sct(&mut self, value: bool) {
        self.0.fdt_inband_sct = value;
    }

    /// FDT XML profile: "extended" or "ts-126-346-l6".
    #[getter]
    fn get_fdt_xml_profile(&self) -> &'static str {
        match self.0.fdt_xml_profile {
            FdtXmlProfile::Extended => "extended",
            FdtXmlProfile::Ts26346L6 => "ts-126-346-l6",
        }
    }
    #[setter]
    fn set_fdt_xml_profile(&mut self, value: &str) -> PyResult<()> {
        self.0.fdt_xml_profile = match value {
            "extended" => FdtXmlProfile::Extended,
            "ts-126-346-l6" => FdtXmlProfile::Ts26346L6,
            _ => {
                return Err(FluteError::new_err(
                    "wrong FDT XML profile, expected 'extended' or 'ts-126-346-l6'",
                ));
            }
        };
        Ok(())
    }

    /// Files sent at once (interleaved) in priority queue 0.
    #[getter]
    fn get_multiplex_files(&self) -> u32 {
        self.0
            .priority_queues
            .get(&0)
            .map_or(0, |q| q.multiplex_files)
    }
    #[setter]
    fn set_multiplex_files(&mut self, value: u32) {
        self.0.set_priority_queue(0, PriorityQueue::new(value));
    }

    /// Source blocks of one file interleaved.
    #[getter]
    fn get_interleave_blocks(&self) -> u32 {
        self.0.interleave_blocks
    }
    #[setter]
    fn set_interleave_blocks(&mut self, value: u32) {
        self.0.interleave_blocks = value;
    }

    /// Adds (or replaces) priority queue `priority` (0 is the highest), sending up to
    /// `multiplex_files` files of it at once. (xflute only.)
    fn set_priority_queue(&mut self, priority: u32, multiplex_files: u32) {
        self.0
            .set_priority_queue(priority, PriorityQueue::new(multiplex_files));
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.0)
    }
}

fn cenc(value: u8) -> PyResult<Cenc> {
    Cenc::try_from(value).map_err(|_| FluteError::new_err(format!("unknown cenc {value}")))
}

/// FEC Object Transmission Information: the FEC scheme and its block structure (RFC 5052).
#[pyclass(module = "xflute.sender", from_py_object)]
#[derive(Debug, Clone)]
pub struct Oti {
    pub inner: WireOti,
    /// flute-alc's `parity_symbols_percentage`: kept for API compatibility, not used by xflute
    /// (whose repair count per block is `max_number_of_parity_symbols`).
    parity_symbols_percentage: Option<f64>,
    inband_fti: bool,
}

impl Oti {
    fn checked(inner: WireOti) -> PyResult<Self> {
        inner.validate().map_err(flute_err)?;
        Ok(Self {
            inner,
            parity_symbols_percentage: None,
            inband_fti: true,
        })
    }

    fn new_code(
        id: FecEncodingId,
        encoding_symbol_length: u16,
        maximum_source_block_length: u32,
        max_number_of_parity_symbols: u32,
        scheme_specific: SchemeSpecific,
    ) -> PyResult<Self> {
        let max_n = maximum_source_block_length
            .checked_add(max_number_of_parity_symbols)
            .ok_or_else(|| FluteError::new_err("too many encoding symbols"))?;
        if encoding_symbol_length == 0 || maximum_source_block_length == 0 {
            return Err(FluteError::new_err(
                "encoding symbol length and maximum source block length must be at least 1",
            ));
        }
        Self::checked(WireOti {
            fec_encoding_id: id,
            fec_instance_id: 0,
            transfer_length: 0,
            encoding_symbol_length,
            maximum_source_block_length,
            max_number_of_encoding_symbols: max_n,
            scheme_specific,
        })
    }
}

#[pymethods]
impl Oti {
    /// The default: no-code FEC, 1424-byte symbols, 64 symbols per block.
    #[new]
    fn new() -> PyResult<Self> {
        Self::new_no_code(1424, 64)
    }

    /// Compact No-Code FEC (ID 0, RFC 5445): no repair symbols.
    #[staticmethod]
    fn new_no_code(
        encoding_symbol_length: u16,
        maximum_source_block_length: u16,
    ) -> PyResult<Self> {
        Self::new_code(
            FecEncodingId::NoCode,
            encoding_symbol_length,
            u32::from(maximum_source_block_length),
            0,
            SchemeSpecific::None,
        )
    }

    /// Reed-Solomon over GF(2^8) (ID 5, RFC 5510 §5); source + parity symbols <= 255.
    #[staticmethod]
    fn new_reed_solomon_rs28(
        encoding_symbol_length: u16,
        maximum_source_block_length: u8,
        max_number_of_parity_symbols: u8,
    ) -> PyResult<Self> {
        Self::new_code(
            FecEncodingId::ReedSolomonGf28,
            encoding_symbol_length,
            u32::from(maximum_source_block_length),
            u32::from(max_number_of_parity_symbols),
            SchemeSpecific::None,
        )
    }

    /// Reed-Solomon over GF(2^8), under-specified (ID 129, as flute runs it).
    #[staticmethod]
    fn new_reed_solomon_rs28_under_specified(
        encoding_symbol_length: u16,
        maximum_source_block_length: u16,
        max_number_of_parity_symbols: u16,
    ) -> PyResult<Self> {
        Self::new_code(
            FecEncodingId::ReedSolomonGf28UnderSpecified,
            encoding_symbol_length,
            u32::from(maximum_source_block_length),
            u32::from(max_number_of_parity_symbols),
            SchemeSpecific::None,
        )
    }

    /// Reed-Solomon over GF(2^m) (ID 2, RFC 5510 §4), m in 2..=16; source + parity < 2^m.
    /// (xflute only.)
    #[staticmethod]
    #[pyo3(signature = (encoding_symbol_length, maximum_source_block_length, max_number_of_parity_symbols, m=8))]
    fn new_reed_solomon_rs2m(
        encoding_symbol_length: u16,
        maximum_source_block_length: u16,
        max_number_of_parity_symbols: u16,
        m: u8,
    ) -> PyResult<Self> {
        Self::new_code(
            FecEncodingId::ReedSolomonGf2m,
            encoding_symbol_length,
            u32::from(maximum_source_block_length),
            u32::from(max_number_of_parity_symbols),
            SchemeSpecific::ReedSolomonGf2m { m, g: 1 },
        )
    }

    /// RaptorQ (ID 6, RFC 6330), with N sub-blocks and symbol alignment Al (T a multiple of Al).
    /// Same arguments as flute's `Oti::new_raptorq`.
    #[staticmethod]
    fn new_raptorq(
        encoding_symbol_length: u16,
        maximum_source_block_length: u16,
        max_number_of_parity_symbols: u16,
        sub_blocks_length: u16,
        symbol_alignment: u8,
    ) -> PyResult<Self> {
        Self::new_code(
            FecEncodingId::RaptorQ,
            encoding_symbol_length,
            u32::from(maximum_source_block_length),
            u32::from(max_number_of_parity_symbols),
            // Z is derived per object when it is added (RFC 5052 §9.1 partitioning).
            SchemeSpecific::RaptorQ {
                z: 0,
                n: sub_blocks_length,
                al: symbol_alignment,
            },
        )
    }

    /// Raptor (ID 1, RFC 5053), with N sub-blocks and symbol alignment Al. Same arguments as
    /// flute's `Oti::new_raptor`.
    #[staticmethod]
    fn new_raptor(
        encoding_symbol_length: u16,
        maximum_source_block_length: u16,
        max_number_of_parity_symbols: u16,
        sub_blocks_length: u8,
        symbol_alignment: u8,
    ) -> PyResult<Self> {
        Self::new_code(
            FecEncodingId::Raptor,
            encoding_symbol_length,
            u32::from(maximum_source_block_length),
            u32::from(max_number_of_parity_symbols),
            SchemeSpecific::Raptor {
                z: 0,
                n: sub_blocks_length,
                al: symbol_alignment,
            },
        )
    }

    /// Largest object these parameters can carry, in bytes: B symbols of E bytes per block,
    /// times the blocks the FEC Payload ID can number, within the Transfer Length's field.
    #[getter]
    fn get_max_transfer_length(&self) -> u64 {
        let o = &self.inner;
        let blocks: u64 = match (o.fec_encoding_id, o.scheme_specific.effective_m()) {
            // 16-bit SBN (RFC 5445 §3.1).
            (FecEncodingId::NoCode, _) => 1 << 16,
            // 24-bit SBN (RFC 5510 §5.1).
            (FecEncodingId::ReedSolomonGf28, _) => 1 << 24,
            // 32 - m bit SBN (RFC 5510 §4.1).
            (FecEncodingId::ReedSolomonGf2m, m) => 1 << (32 - u32::from(m.unwrap_or(8)).min(16)),
            // 32-bit SBN (RFC 5445 §5.1, as flute runs ID 129).
            (FecEncodingId::ReedSolomonGf28UnderSpecified, _) => 1 << 32,
            // Z is 8 bits for RaptorQ (RFC 6330 §3.3.3), 16 bits for Raptor (RFC 5053 §3.2.3).
            (FecEncodingId::RaptorQ, _) => 255,
            (FecEncodingId::Raptor, _) => 65_535,
        };
        let field_max: u64 = if o.fec_encoding_id == FecEncodingId::RaptorQ {
            // RFC 6330 §3.3.2 as corrected by erratum 5548.
            942_574_504_275
        } else {
            (1 << 48) - 1
        };
        u64::from(o.encoding_symbol_length)
            .saturating_mul(u64::from(o.maximum_source_block_length))
            .saturating_mul(blocks)
            .min(field_max)
    }

    /// FEC Encoding ID (0, 1, 2, 5, 6 or 129).
    #[getter]
    fn get_fec_encoding_id(&self) -> u8 {
        self.inner.fec_encoding_id.into()
    }
    #[setter]
    fn set_fec_encoding_id(&mut self, value: u8) -> PyResult<()> {
        let id = FecEncodingId::try_from(value).map_err(flute_err)?;
        let scheme_specific = match (id, self.inner.scheme_specific) {
            (FecEncodingId::ReedSolomonGf2m, s @ SchemeSpecific::ReedSolomonGf2m { .. }) => s,
            (FecEncodingId::ReedSolomonGf2m, _) => SchemeSpecific::ReedSolomonGf2m { m: 8, g: 1 },
            (FecEncodingId::RaptorQ, s @ SchemeSpecific::RaptorQ { .. }) => s,
            (FecEncodingId::RaptorQ, _) => SchemeSpecific::RaptorQ { z: 0, n: 1, al: 4 },
            (FecEncodingId::Raptor, s @ SchemeSpecific::Raptor { .. }) => s,
            (FecEncodingId::Raptor, _) => SchemeSpecific::Raptor { z: 0, n: 1, al: 4 },
            _ => SchemeSpecific::None,
        };
        self.inner.fec_encoding_id = id;
        self.inner.scheme_specific = scheme_specific;
        if !id.is_under_specified() {
            self.inner.fec_instance_id = 0;
        }
        Ok(())
    }

    /// FEC Instance ID (under-specified schemes only).
    #[getter]
    fn get_fec_instance_id(&self) -> u16 {
        self.inner.fec_instance_id
    }
    #[setter]
    fn set_fec_instance_id(&mut self, value: u16) {
        self.inner.fec_instance_id = value;
    }

    /// Maximum Source Block Length (B), in symbols.
    #[getter]
    fn get_maximum_source_block_length(&self) -> u32 {
        self.inner.maximum_source_block_length
    }
    #[setter]
    fn set_maximum_source_block_length(&mut self, value: u32) {
        let parity = self.get_max_number_of_parity_symbols();
        self.inner.maximum_source_block_length = value;
        self.inner.max_number_of_encoding_symbols = value.saturating_add(parity);
    }

    /// Encoding Symbol Length (E, or T), in bytes.
    #[getter]
    fn get_encoding_symbol_length(&self) -> u16 {
        self.inner.encoding_symbol_length
    }
    #[setter]
    fn set_encoding_symbol_length(&mut self, value: u16) {
        self.inner.encoding_symbol_length = value;
    }

    /// Repair symbols per source block.
    #[getter]
    fn get_max_number_of_parity_symbols(&self) -> u32 {
        self.inner
            .max_number_of_encoding_symbols
            .saturating_sub(self.inner.maximum_source_block_length)
    }
    #[setter]
    fn set_max_number_of_parity_symbols(&mut self, value: u32) {
        self.inner.max_number_of_encoding_symbols =
            self.inner.maximum_source_block_length.saturating_add(value);
    }

    /// flute-alc's repair percentage; accepted for compatibility, not used by xflute.
    #[getter]
    fn get_parity_symbols_percentage(&self) -> Option<f64> {
        self.parity_symbols_percentage
    }
    #[setter]
    fn set_parity_symbols_percentage(&mut self, value: Option<f64>) {
        self.parity_symbols_percentage = value;
    }

    /// Whether packets carry EXT_FTI; xflute always sends it, so this is always true.
    #[getter]
    fn get_inband_fti(&self) -> bool {
        self.inband_fti
    }
    #[setter]
    fn set_inband_fti(&mut self, value: bool) -> PyResult<()> {
        if !value {
            return Err(FluteError::new_err(
                "xflute always sends EXT_FTI (inband_fti cannot be turned off)",
            ));
        }
        Ok(())
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// A FLUTE sender of one session (TSI). Add objects, `publish()`, then send every packet
/// `read()` returns over UDP/IP.
#[pyclass(module = "xflute.sender", unsendable)]
pub struct Sender {
    /// `None` once handed to a `TxEngine`.
    inner: Option<xflute::sender::Sender>,
    scratch: Vec<u8>,
}

impl Sender {
    fn sender(&mut self) -> PyResult<&mut xflute::sender::Sender> {
        self.inner
            .as_mut()
            .ok_or_else(|| FluteError::new_err("this Sender was handed to a TxEngine"))
    }

    /// Takes the sender out for a `TxEngine`; the Python object is closed afterwards.
    pub fn take_for_engine(&mut self) -> PyResult<xflute::sender::Sender> {
        if self.sender()?.endpoint().port == 0 {
            return Err(FluteError::new_err(
                "a TxEngine needs a Sender created with endpoint=UDPEndpoint(group, port)",
            ));
        }
        self.inner
            .take()
            .ok_or_else(|| FluteError::new_err("this Sender was handed to a TxEngine"))
    }

    fn add(&mut self, priority: u32, object: ObjectDesc) -> PyResult<u128> {
        self.sender()?
            .add_object(priority, object)
            .map_err(flute_err)
    }
}

fn transfer_config(cenc_value: u8, oti: Option<PyRef<'_, Oti>>) -> PyResult<TransferConfig> {
    Ok(TransferConfig {
        cenc: cenc(cenc_value)?,
        inband_cenc: true,
        oti: oti.map(|o| o.inner),
        ..TransferConfig::default()
    })
}

/// flute-alc parses Content-Locations as URLs and sends them normalised; so do we.
fn content_location(value: &str) -> PyResult<String> {
    url::Url::parse(value)
        .map(String::from)
        .map_err(|e| FluteError::new_err(format!("invalid content location {value:?}: {e}")))
}

#[pymethods]
impl Sender {
    /// A sender of session `tsi` (48 bits) with the default `oti` of its objects. `endpoint`
    /// (xflute only) is where a `TxEngine` sends the packets; `read()` does not need it.
    #[new]
    #[pyo3(signature = (tsi, oti, config, *, endpoint=None))]
    fn new(
        tsi: u64,
        oti: PyRef<'_, Oti>,
        config: PyRef<'_, Config>,
        endpoint: Option<PyRef<'_, crate::receiver::UDPEndpoint>>,
    ) -> PyResult<Self> {
        // flute-alc's sender does not know its endpoint; the packets do not carry it.
        let endpoint = endpoint.map_or_else(
            || UdpEndpoint::new(std::net::Ipv4Addr::new(224, 0, 0, 1).into(), 0),
            |e| e.inner,
        );
        let inner = xflute::sender::Sender::new(endpoint, tsi, oti.inner, config.0.clone())
            .map_err(flute_err)?;
        Ok(Self {
            inner: Some(inner),
            scratch: Vec::new(),
        })
    }

    /// Adds an object from `content` (bytes are borrowed, not copied) and returns its TOI.
    #[pyo3(signature = (content, content_type, content_location, oti=None, *, cenc=0, priority=0))]
    fn add_object_from_buffer(
        &mut self,
        content: PyBackedBytes,
        content_type: &str,
        content_location: &str,
        oti: Option<PyRef<'_, Oti>>,
        cenc: u8,
        priority: u32,
    ) -> PyResult<u128> {
        let location = self::content_location(content_location)?;
        let object = ObjectDesc::from_bytes(
            Arc::new(content),
            content_type,
            location,
            true,
            transfer_config(cenc, oti)?,
        )
        .map_err(flute_err)?;
        self.add(priority, object)
    }

    /// Adds the file at `filepath` (memory-mapped, sent without a copy) and returns its TOI.
    /// `content_location` defaults to `file:///<file name>`.
    #[pyo3(signature = (filepath, cenc, content_type, content_location=None, oti=None, *, priority=0))]
    fn add_file(
        &mut self,
        filepath: std::path::PathBuf,
        cenc: u8,
        content_type: &str,
        content_location: Option<&str>,
        oti: Option<PyRef<'_, Oti>>,
        priority: u32,
    ) -> PyResult<u128> {
        let location = match content_location {
            Some(l) => self::content_location(l)?,
            None => {
                let name = filepath
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                url::Url::parse("file:///")
                    .and_then(|base| base.join(name))
                    .map(String::from)
                    .map_err(flute_err)?
            }
        };
        let config = transfer_config(cenc, oti)?;
        let bytes = MappedFile::open(&filepath).map_err(io_err)?;
        let object = ObjectDesc::from_bytes(Arc::new(bytes), content_type, location, true, config)
            .map_err(flute_err)?;
        self.add(priority, object)
    }

    /// Removes an object; returns whether it was there.
    fn remove_object(&mut self, toi: u128) -> PyResult<bool> {
        Ok(self.sender()?.remove_object(toi))
    }

    /// Objects still held (being sent or waiting).
    fn nb_objects(&mut self) -> PyResult<usize> {
        Ok(self.sender()?.nb_objects())
    }

    /// Publishes a new FDT Instance listing the objects added; call it after adding objects.
    fn publish(&mut self) -> PyResult<()> {
        self.sender()?
            .publish(SystemTime::now())
            .map(|_| ())
            .map_err(flute_err)
    }

    /// The next ALC packet to send, or `None` when there is nothing to send now.
    fn read<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let sender = self.sender()?;
        // Every ALC packet fits a UDP datagram: one 64 KiB scratch serves any FDT or symbol.
        let max = sender.max_packet_len().max(MAX_DATAGRAM);
        if scratch.len() < max {
            scratch.resize(max, 0);
        }
        let written = sender.try_write_next(&mut scratch, SystemTime::now());
        let packet = written
            .map(|len| len.map(|len| PyBytes::new(py, scratch.get(..len).unwrap_or_default())));
        self.scratch = scratch;
        packet.map_err(flute_err)
    }

    /// A Close Session packet (LCT flag A) to send when the session ends. (xflute only.)
    fn read_close_session<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let packet = self.sender()?.read_close_session();
        Ok(PyBytes::new(py, &packet))
    }

    /// The TSI of the session.
    #[getter]
    fn tsi(&mut self) -> PyResult<u64> {
        Ok(self.sender()?.tsi())
    }
}
