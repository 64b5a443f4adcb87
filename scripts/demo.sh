#!/usr/bin/env bash
# The README's demo: `xflute demo` generates about 256 MiB of files, sends them as one FLUTE
# session through AF_XDP from one network namespace to another over a veth pair with 5% loss
# injected by the XDP program, checks every SHA-256, prints goodput and counters, and removes
# everything. Without root it runs the same transfer over UDP on loopback and says so.
# Needs the Rust toolchain; as root it installs iproute2 and ethtool when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
  need_apt=()
  command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
  command -v ethtool >/dev/null 2>&1 || need_apt+=(ethtool)
  if [ ${#need_apt[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  fi
fi
exec cargo run --release --locked -q -p xflute-cli -- demo "$@"
