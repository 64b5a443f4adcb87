#!/usr/bin/env bash
# The README's demo: send three files as one FLUTE session into a capture with `xflute send`,
# look at it with `xflute inspect`, receive it back with `xflute recv`, and compare the files.
# Needs only the Rust toolchain; everything happens in a temporary directory, removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d -t xflute-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT

cargo build --release --locked -q -p xflute-cli
xflute=target/release/xflute

mkdir -p "$work/in"
head -c 5000000 /dev/urandom > "$work/in/video.mp4"
seq 1 20000 > "$work/in/numbers.txt"
printf '<MPD/>\n' > "$work/in/manifest.mpd"

echo "== xflute send: 3 files, gzip content encoding, into a capture"
"$xflute" send --pcap-out "$work/session.pcap" --dest 239.255.0.1:3400 --tsi 1 \
  --cenc gzip "$work/in/video.mp4" "$work/in/numbers.txt" "$work/in/manifest.mpd"

echo "== xflute inspect (the FDT and the per-object summary)"
"$xflute" inspect "$work/session.pcap" | grep -v '^#'

echo "== xflute recv"
"$xflute" recv --pcap "$work/session.pcap" --out "$work/out" --group 239.255.0.1:3400

for f in video.mp4 numbers.txt manifest.mpd; do
  cmp "$work/in/$f" "$work/out/$f"
done
echo "== demo OK: every file received byte for byte"
