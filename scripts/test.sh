#!/usr/bin/env bash
# The test command of the README and of CI: installs what the tests need on a fresh machine of
# this kind (Debian, root), then runs every test of the workspace. Nothing is skipped: tests that
# need root or network namespaces fail with a clear message where they cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# command:package. The XDP/AF_XDP tests need ip (iproute2), ethtool and ping; the XDP objects
# are committed, so clang/llvm/libbpf-dev are needed only by .ci/run's rebuild check.
# The serve tests (tools/tests/serve.rs) call its HTTP API with curl and check
# packaging/xflute.service with systemd-analyze verify.
# The file repair tests (tools/tests/repair.rs) repair from nginx and inject loss with nftables.
# The authentication test (tools/tests/auth.rs) floods forged packets at line rate with tcpreplay.
for tool in pkg-config:pkg-config ip:iproute2 ethtool:ethtool ping:iputils-ping curl:curl \
  systemd-analyze:systemd nginx:nginx nft:nftables tcpreplay:tcpreplay; do
  bin=${tool%%:*}; pkg=${tool##*:}
  command -v "$bin" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/test.sh: missing ${need_apt[*]}; run as root or install them" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  # The repair tests start nginx with a configuration of their own; the package's service
  # (port 80) is not needed.
  if [ -d /run/systemd/system ] && [[ " ${need_apt[*]} " == *" nginx "* ]]; then
    systemctl disable --now nginx.service >/dev/null 2>&1 || true
  fi
fi

# The serve tests scrape /metrics with a real Prometheus server and check it with promtool
# (Debian's prometheus package). Its service must not start: it would listen on :9090 and run
# for good. policy-rc.d (exit 101) forbids it during the install, and where systemd runs, the
# unit is disabled and stopped afterwards.
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/test.sh: missing prometheus (Debian package); run as root or install it" >&2
    exit 1
  fi
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  installed=0
  apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus \
    || installed=$?
  if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
  [ "$installed" -eq 0 ] || exit "$installed"
  if [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  fi
fi
if [ -d /run/systemd/system ] && systemctl is-active --quiet prometheus.service 2>/dev/null; then
  echo "scripts/test.sh: note: the prometheus package's own service is running (port 9090);" \
    "the tests start their own server and do not use it" >&2
fi

# The Reed-Solomon tests compare xflute with zfec (Luigi Rizzo's codec, from PyPI).
if ! python3 -c 'import zfec' >/dev/null 2>&1; then
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-pip
  fi
  python3 -m pip install -q zfec 2>/dev/null || python3 -m pip install -q --break-system-packages zfec
fi

# Every test binary runs even after one fails, so that a run reports every failure.
cargo test --workspace --locked --no-fail-fast "$@"

# The Python package (python/): built once with maturin through pip (profile release-unwind),
# then its pytest tests, which run flute-alc (the `flute` crate's own bindings, from PyPI) as
# the peer. A pytest run that collects no test exits 5 and fails this script.
pip_install() {
  python3 -m pip install -q "$@" 2>/dev/null || python3 -m pip install -q --break-system-packages "$@"
}
python3 -c 'import maturin, pytest, flute' >/dev/null 2>&1 \
  || pip_install 'maturin>=1.7,<2' pytest flute-alc==1.11.7
pip_install --no-build-isolation --force-reinstall --no-deps ./python
python3 -m pytest -q -p no:cacheprovider python/tests
