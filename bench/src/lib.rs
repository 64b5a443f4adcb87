//! xflute benchmarks. The micro-benchmarks live in `benches/`; the netns/veth harness arrives
//! with the engines.
