//! xflute benchmarks. The micro-benchmarks live in `benches/` (`cargo bench -p xflute-bench`);
//! the modules here make the netns/veth harness (`src/main.rs`, the package's default binary)
//! and are shared with the `e2e` and `io_raw` binaries.
//!
//! - [`sys`]: pinning, scheduling boost, CPU time and `RssAnon`.
//! - [`raw`]: raw AF_XDP and generator I/O, the ceilings.
//! - [`scenario`]: what a scenario sends, reproducibly; xflute's sender for it.
//! - [`capture`]: a session captured in memory for the receive-only replays.
//! - [`child`]: receivers and senders as processes of their own, and their reports.
//! - [`xflute_side`]: xflute's ends as those processes run them.
//! - [`peer`]: the command lines of `flute_peer` (flute 1.11.7).
//! - [`procs`]: the `xflute` binary, child and scratch guards of `serve_bench` and
//!   `repair_bench`.
//! - [`runs`]: one run of each kind.
//! - [`summary`], [`report`], [`chart`]: rows, the markdown table and JSON, the SVG chart.

pub mod capture;
pub mod carousel;
pub mod chart;
pub mod child;
pub mod peer;
pub mod procs;
pub mod raw;
pub mod report;
pub mod runs;
pub mod scenario;
pub mod summary;
pub mod sys;
pub mod xflute_side;
