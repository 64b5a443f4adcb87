#!/usr/bin/env bash
# The README's demo: `xflute demo` generates about 256 MiB of files, sends them as one FLUTE
# session through AF_XDP from one network namespace to another over a veth pair with 5% loss
# injected by the XDP program, checks every SHA-256, prints goodput and counters, and removes
# everything. Without root it runs the same transfer over UDP on loopback and says so.
# Needs only the Rust toolchain (and iproute2/ethtool when run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --locked -q -p xflute-cli -- demo "$@"
