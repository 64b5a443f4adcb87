//! Shared fixtures for xflute's cross-crate tests.
