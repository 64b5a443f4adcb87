//! Python bindings of xflute: the module `xflute._xflute`, re-exported by the `xflute` package.
//!
//! `xflute.sender` and `xflute.receiver` follow flute-alc's Python API (the `flute` crate's
//! bindings: same classes, methods, argument names, order and defaults), so programs written for
//! flute-alc run with only their import changed; they add what flute-alc lacks (RaptorQ, Raptor,
//! Reed-Solomon GF(2^m), priorities, object events, a buffer writer whose objects can be read
//! back). `xflute.RxEngine` / `xflute.TxEngine` run the multi-queue AF_XDP or UDP engines.
//!
//! Every engine error becomes a Python exception (`xflute.FluteError`, a subclass of both
//! `TypeError`, which flute-alc raises, and `ValueError`); the extension is built with the
//! `release-unwind` profile so that a panic becomes `pyo3_runtime.PanicException` rather than
//! an abort of the interpreter.

use pyo3::prelude::*;

mod engine;
mod errors;
mod lct;
mod receiver;
mod sender;
mod sink;

/// FLUTE (RFC 6726) file delivery over ALC/LCT with AL-FEC, flute-alc compatible.
#[pymodule]
fn _xflute(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let sender_module = PyModule::new(py, "sender")?;
    sender::register(&sender_module)?;
    m.add_submodule(&sender_module)?;
    let receiver_module = PyModule::new(py, "receiver")?;
    receiver::register(&receiver_module)?;
    m.add_submodule(&receiver_module)?;
    engine::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
