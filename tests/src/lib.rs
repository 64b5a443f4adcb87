//! Shared fixtures for xflute's cross-crate tests.
//!
//! - [`link`]: a deterministic in-memory link (loss, reorder, duplication from a seed).

pub mod link;
