//! `xflute.receiver.LCTHeader`: flute-alc's view of one ALC packet's LCT header (RFC 5651 §5.1)
//! and FEC Payload ID (RFC 5052 §3.2), parsed by [`xflute::wire::AlcPacket`].

use pyo3::prelude::*;

use crate::errors::flute_err;

/// The LCT header of an ALC packet: CCI, TSI, TOI, and SBN/ESI when its FEC Payload ID can be
/// decoded (the packet carries EXT_FTI, or its FEC Encoding ID fixes the format).
#[pyclass(module = "xflute.receiver", frozen, get_all)]
#[derive(Debug)]
pub struct LCTHeader {
    /// Congestion Control Information.
    pub cci: u128,
    /// Transport Session Identifier.
    pub tsi: u64,
    /// Transport Object Identifier.
    pub toi: u128,
    /// Source Block Number, if the FEC Payload ID was decoded.
    pub sbn: Option<u32>,
    /// Encoding Symbol ID, if the FEC Payload ID was decoded.
    pub esi: Option<u32>,
    /// LCT close-session flag (A). (xflute only.)
    pub close_session: bool,
    /// LCT close-object flag (B). (xflute only.)
    pub close_object: bool,
    /// Codepoint: the FEC Encoding ID in ALC. (xflute only.)
    pub codepoint: u8,
}

#[pymethods]
impl LCTHeader {
    /// Parses `data`, one ALC packet; raises `FluteError` if it is not one.
    #[new]
    fn new(data: &[u8]) -> PyResult<Self> {
        let alc = xflute::wire::AlcPacket::parse(data).map_err(flute_err)?;
        let lct = alc.lct();
        let payload_id = alc.payload_id();
        Ok(Self {
            cci: lct.cci,
            tsi: lct.tsi,
            toi: lct.toi,
            sbn: payload_id.map(|p| p.sbn),
            esi: payload_id.map(|p| p.esi),
            close_session: lct.close_session,
            close_object: lct.close_object,
            codepoint: lct.codepoint,
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "LCTHeader(tsi={}, toi={}, sbn={}, esi={})",
            self.tsi,
            self.toi,
            self.sbn.map_or("None".to_owned(), |v| v.to_string()),
            self.esi.map_or("None".to_owned(), |v| v.to_string())
        )
    }
}
