#!/usr/bin/env bash
# Soak test (issue 9): MINUTES (default 10) of continuous FLUTE carousel transfer through AF_XDP
# from one network namespace to another over a veth pair, Reed-Solomon FEC (rs28, 25% repair)
# and 5% loss injected by the receiver's XDP program, into one long-running `xflute recv --json`.
#
# The receiver keeps receive-once state per session, so a carousel of fixed files would complete
# each file once and then only be parsed and ignored. To keep objects completing all the time,
# the transfer runs in rounds of ROUND_SECS (default 5 s): each round writes 8 new files of new
# random content (1 byte to 4 MiB), sends them with `xflute send --carousel` under a new TSI (a
# new session, closed by the sender's close-session flag at the end of the round) until they all
# completed (the round is longer if the receiver needs more passes, up to ROUND_MAX_SECS, 60 s),
# and checks that each output file has its source's SHA-256 (then removes both, so the disk use
# stays flat). Between completions the carousel repeats keep the
# packet path busy at the full rate.
#
# Rate: a conservative fixed RATE (default 200M, env SOAK_RATE), well under the AF_XDP tx -> rx
# ceiling of a 2-core machine with both ends on the same cores, so that the only losses are the
# injected ones even while other work runs; the receiver's ring-full and drop counters are
# printed to show it.
#
# Every 10 s the receiver's RssAnon, open descriptors and memory mappings are sampled. Pass
# criteria, printed at the end: every object of every round completed and verified; no object
# failed (the code allows none: each round's carousel repeats until every object is decoded);
# RssAnon within +-5% of its median after a 1-minute warm-up; descriptors and mappings not
# growing (the count at rest, the lowest sample, of the second half of the run no larger than
# the first half's: objects being received hold one of each while they are open).
#
# Needs root (namespaces, XDP). A trap removes the namespaces, the processes and the temporary
# directory on exit, also on failure or Ctrl-C. Exit status 0 only if every criterion passed.
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=${1:-10}
RATE=${SOAK_RATE:-200M}
ROUND_SECS=${ROUND_SECS:-5}
ROUND_MAX_SECS=${ROUND_MAX_SECS:-60}
LOSS=0.05
WARMUP_SECS=60
SAMPLE_SECS=10
GROUP=239.77.0.1:3400

if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/soak.sh: needs root (network namespaces and XDP)" >&2
  exit 1
fi

cargo build --release --locked -q -p xflute-cli
BIN=$PWD/target/release/xflute

TAG="xsoak$$"
NS_TX="$TAG-tx"
NS_RX="$TAG-rx"
WORK=$(mktemp -d /tmp/xflute-soak.XXXXXX)
RECV_PID=""
SAMPLER_PID=""
SEND_PID=""

cleanup() {
  set +e
  for pid in "$SEND_PID" "$SAMPLER_PID" "$RECV_PID"; do
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  done
  wait 2>/dev/null
  ip netns del "$NS_TX" 2>/dev/null
  ip netns del "$NS_RX" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The veth pair between the namespaces: GRO on both ends so the
# peer's NAPI runs for AF_XDP-sent frames, tx checksum offload off on the sending end.
ip netns add "$NS_TX"
ip netns add "$NS_RX"
ip link add tx0 netns "$NS_TX" type veth peer name rx0 netns "$NS_RX"
for ns_if_addr in "$NS_TX tx0 198.18.77.1" "$NS_RX rx0 198.18.77.2"; do
  set -- $ns_if_addr
  ip -n "$1" link set lo up
  ip -n "$1" addr add "$3/24" dev "$2"
  ip -n "$1" link set "$2" up
  ip -n "$1" route add 224.0.0.0/4 dev "$2"
  ip netns exec "$1" ethtool -K "$2" gro on >/dev/null
done
ip netns exec "$NS_TX" ethtool -K tx0 tx off >/dev/null

mkdir -p "$WORK/out" "$WORK/in"
TOTAL_SECS=$((MINUTES * 60))
ip netns exec "$NS_RX" "$BIN" recv --backend xdp --iface rx0 --group "$GROUP" \
  --out "$WORK/out" --json --inject-loss "$LOSS" --timeout "$((TOTAL_SECS + 120))s" \
  >"$WORK/recv.jsonl" 2>"$WORK/recv.err" &
RECV_PID=$!
sleep 1
kill -0 "$RECV_PID" || { cat "$WORK/recv.err" >&2; exit 1; }

# Samples: seconds since start, RssAnon (KiB), open descriptors, mappings.
START=$SECONDS
(
  while kill -0 "$RECV_PID" 2>/dev/null; do
    rss=$(awk '/^RssAnon:/ {print $2}' "/proc/$RECV_PID/status" 2>/dev/null || echo 0)
    fds=$(ls "/proc/$RECV_PID/fd" 2>/dev/null | wc -l)
    maps=$(wc -l <"/proc/$RECV_PID/maps" 2>/dev/null || echo 0)
    echo "$((SECONDS - START)) $rss $fds $maps"
    sleep "$SAMPLE_SECS"
  done
) >"$WORK/samples" &
SAMPLER_PID=$!

SIZES=(4194304 2097152 1048576 524288 262144 65536 1400 1)
round=0
sent=0
verified=0
bad=0
missing=0
while [ $((SECONDS - START)) -lt "$TOTAL_SECS" ]; do
  round=$((round + 1))
  dir="$WORK/in/r$round"
  mkdir -p "$dir"
  files=()
  for i in "${!SIZES[@]}"; do
    f="$dir/r$round-f$i.bin"
    head -c "${SIZES[$i]}" /dev/urandom >"$f"
    files+=("$f")
  done
  ip netns exec "$NS_TX" "$BIN" send --backend xdp --iface tx0 --source 198.18.77.1 \
    --dest "$GROUP" --tsi "$round" --fec rs28 --repair-pct 25 --rate "$RATE" \
    --carousel "${ROUND_MAX_SECS}s" "${files[@]}" >"$WORK/send.log" 2>&1 &
  SEND_PID=$!
  # The carousel runs at least ROUND_SECS and until every file of the round completed (at most
  # ROUND_MAX_SECS): a receiver starved of its core for a while loses more than the FEC repairs,
  # and the carousel's next passes are what recovers that.
  round_start=$SECONDS
  while :; do
    done_count=0
    for f in "${files[@]}"; do
      grep -q "\"event\":\"completed\",\"tsi\":$round,.*$(basename "$f")\"" "$WORK/recv.jsonl" \
        && done_count=$((done_count + 1))
    done
    elapsed=$((SECONDS - round_start))
    if { [ "$done_count" -eq "${#files[@]}" ] && [ "$elapsed" -ge "$ROUND_SECS" ]; } \
      || ! kill -0 "$SEND_PID" 2>/dev/null; then
      break
    fi
    sleep 0.2
  done
  kill -INT "$SEND_PID" 2>/dev/null || true
  # A carousel that was stopped or ran its time says so and exits 1 ("interrupted"): only a
  # sender that sent nothing failed.
  wait "$SEND_PID" || true
  SEND_PID=""
  if ! grep -q " packets, " "$WORK/send.log"; then
    echo "round $round: the sender failed:" >&2
    cat "$WORK/send.log" >&2
    exit 1
  fi
  sent=$((sent + ${#files[@]}))
  for f in "${files[@]}"; do
    name=$(basename "$f")
    if ! grep -q "\"event\":\"completed\",\"tsi\":$round,.*$name\"" "$WORK/recv.jsonl"; then
      echo "round $round: $name was not completed within ${ROUND_MAX_SECS} s" >&2
      missing=$((missing + 1))
    elif [ "$(sha256sum <"$f")" = "$(sha256sum <"$WORK/out/$name")" ]; then
      verified=$((verified + 1))
    else
      echo "round $round: $name differs from its source" >&2
      bad=$((bad + 1))
    fi
    rm -f "$WORK/out/$name"
  done
  rm -rf "$dir"
done

kill -INT "$RECV_PID"
wait "$RECV_PID" || true
RECV_PID=""
sleep 0.2
kill "$SAMPLER_PID" 2>/dev/null || true
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=""

summary=$(grep '"event":"summary"' "$WORK/recv.jsonl" | tail -1)
failed=$(grep -c '"event":"failed"' "$WORK/recv.jsonl" || true)
field() { echo "$summary" | sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }

echo "== soak: $MINUTES min, $round rounds of ${ROUND_SECS} s at $RATE, rs28 25% repair, ${LOSS} injected loss"
echo "samples (s, RssAnon KiB, fds, maps):"
cat "$WORK/samples"
echo "receiver: $summary"
awk -v warm="$WARMUP_SECS" -v sent="$sent" -v verified="$verified" -v bad="$bad" \
    -v missing="$missing" -v failed="$failed" '
  $1 >= warm { n++; t[n] = $1; rss[n] = $2; fds[n] = $3; maps[n] = $4 }
  END {
    ok = 1
    printf "objects: %d sent, %d verified (SHA-256), %d differing, %d not completed, %d failed events\n", sent, verified, bad, missing, failed
    if (verified != sent || bad || missing || failed) ok = 0
    if (n < 4) { print "too few samples after the warm-up"; exit 1 }
    # Median RssAnon after the warm-up.
    for (i = 1; i <= n; i++) s[i] = rss[i]
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (s[j] < s[i]) { x = s[i]; s[i] = s[j]; s[j] = x }
    med = s[int((n + 1) / 2)]
    lo = s[1]; hi = s[n]
    dev = (hi - med > med - lo ? hi - med : med - lo) / med * 100
    printf "RssAnon after %d s: median %d KiB, min %d, max %d: largest deviation %.1f%% (limit 5%%)\n", warm, med, lo, hi, dev
    if (dev > 5) ok = 0
    # Open objects add a descriptor and a mapping each while they are received, so a sample
    # may catch a few more; a leak raises the count at rest: compare the lowest of each half.
    half = int(n / 2)
    f1 = f2 = m1 = m2 = 1e9
    for (i = 1; i <= n; i++) {
      if (i <= half) { if (fds[i] < f1) f1 = fds[i]; if (maps[i] < m1) m1 = maps[i] }
      else { if (fds[i] < f2) f2 = fds[i]; if (maps[i] < m2) m2 = maps[i] }
    }
    printf "descriptors at rest: %d in the first half, %d in the second\n", f1, f2
    printf "mappings at rest: %d in the first half, %d in the second\n", m1, m2
    if (f2 > f1 || m2 > m1) ok = 0
    print (ok ? "PASS" : "FAIL")
    exit (ok ? 0 : 1)
  }' "$WORK/samples"
