#!/usr/bin/env bash
# The test command of the README and of CI: installs what the tests need on a fresh machine of
# this kind (Debian, root), then runs every test of the workspace. Nothing is skipped: tests that
# need root or network namespaces fail with a clear message where they cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# command:package. The XDP/AF_XDP tests need ip (iproute2), ethtool and ping; the XDP objects
# are committed, so clang/llvm/libbpf-dev are needed only by .ci/run's rebuild check.
for tool in pkg-config:pkg-config ip:iproute2 ethtool:ethtool ping:iputils-ping; do
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
fi

# The Reed-Solomon tests compare xflute with zfec (Luigi Rizzo's codec, from PyPI).
if ! python3 -c 'import zfec' >/dev/null 2>&1; then
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-pip
  fi
  python3 -m pip install -q zfec 2>/dev/null || python3 -m pip install -q --break-system-packages zfec
fi

cargo test --workspace --locked "$@"

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
