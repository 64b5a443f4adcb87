//! How engine errors reach Python: `xflute.FluteError` (defined in `xflute/_errors.py` so that it
//! can derive from both `TypeError`, which flute-alc raises for every error, and `ValueError`)
//! for invalid parameters and protocol errors, `OSError` for I/O.

use pyo3::PyErr;
use pyo3::exceptions::PyOSError;

pyo3::import_exception!(xflute._errors, FluteError);

/// A `FluteError` with the error's message.
pub fn flute_err(e: impl std::fmt::Display) -> PyErr {
    FluteError::new_err(e.to_string())
}

/// An `OSError` that keeps the errno, so Python sees e.g. `FileNotFoundError`.
pub fn io_err(e: std::io::Error) -> PyErr {
    PyOSError::new_err((e.raw_os_error().unwrap_or(0), e.to_string()))
}
