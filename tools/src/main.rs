//! `xflute`: the command line of the xflute FLUTE engine.
fn main() {}
