//! Shared fixtures for xflute's cross-crate tests.
//!
//! - [`link`]: a deterministic in-memory link (loss, reorder, duplication from a seed).
//! - [`data`]: reproducible test data: the seeded generator, random, mixed and text bytes.
//! - [`af_xdp`]: the XDP program plus an AF_XDP socket per queue; numbered payloads.
//! - [`capture`]: captures of UDP datagrams.
//! - [`hostile`]: packets built to attack a receiver.
//! - [`netns`]: two throw-away network namespaces joined by a veth pair (needs root).
//! - [`ports`]: loopback TCP and UDP ports free now, chosen by the kernel.
//! - [`session`]: a no-code sender with one object, and what a sink is told of it.
//! - [`tempdir`]: a temporary directory removed on drop.
//! - [`tmpfs`]: a private tmpfs (small, or with huge pages) unmounted on drop (needs root).
//! - [`wait`]: polling for a condition, with a deadline, instead of fixed sleeps.

pub mod af_xdp;
pub mod capture;
pub mod data;
pub mod hostile;
pub mod link;
pub mod ports;
pub mod session;
pub mod tempdir;
pub mod tmpfs;
pub mod wait;

pub use tempdir::TempDir;
/// The network namespace fixture, its own crate because `xflute demo` uses it too.
pub use xflute_netns as netns;
