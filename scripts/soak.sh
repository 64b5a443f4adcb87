#!/usr/bin/env bash
# Soak test of `xflute serve` (issue 17): MINUTES (default 10; CI runs 2) of files churning in a
# watched directory, one change a second, from a sending `serve` in one network namespace to a
# receiving `serve` in another, over a veth pair (UDP backend, or SOAK_BACKEND=xdp; multicast;
# Reed-Solomon with 20% repair; a 2 s carousel).
#
# Each second one change: a new file while the outbox holds fewer than SOAK_FILES (16, some in
# subdirectories), else, at random, a new version of a file (7 in 10: written in place, or
# under a hidden name and renamed into place, as editors and packagers do) or a deletion (3 in
# 10). Sizes run from 1 byte to SOAK_MAX_BYTES (512 KiB), a quarter of them under one packet;
# `*.xml` files go gzip-encoded. Every version written is recorded with its SHA-256, and counted
# as received once the receiver's file has that SHA-256 (looked at every 100 ms, which also
# gives the time from written to received); a file is changed again only after its previous
# version was received (or counted lost), so that every version can be checked. A deletion
# counts once the sender's /status no longer lists the file (it left the FDT).
#
# Every 5 s both processes' VmRSS and RssAnon (/proc/PID/status) are sampled: RssAnon leaves
# out the pages of the binary's code, which make most of a debug build's VmRSS and would hide a
# leak in a percentage. Pass criteria, printed at the end: 0 versions lost (a version not
# received intact within 30 s is lost); every deletion applied within 30 s; as many versions
# queued by the sender and objects completed by the receiver as written, none failed or
# refused; for each serve, VmRSS in the last quarter of the run (median) within +10% of its
# value just after the warm-up (median of the first quarter after it; the warm-up is 60 s, or
# half a shorter run: the allocator's pools take about a minute to settle on a loaded
# machine), and RssAnon likewise unless it grew by less than 4 MiB; both exit 0
# on SIGTERM.
#
# The binary is the debug build by default (the tests have built it; at one change a second
# the packet path is mostly idle, and what the soak looks for, lost versions and growing
# memory, does not depend on the optimisation level); SOAK_PROFILE=release soaks the release
# build, SOAK_BIN=PATH a binary built elsewhere. Needs root (namespaces), curl and python3. A trap kills the processes and removes the
# namespaces and the temporary directory on exit, also on failure or Ctrl-C; the namespace
# names follow the test fixture's (xflute-PID-...), so its sweep removes them too if this
# script is killed. Exit status 0 only if every criterion passed.
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=${1:-10}
RATE=${SOAK_RATE:-200M}
BACKEND=${SOAK_BACKEND:-udp}
POOL=${SOAK_FILES:-16}
MAX_BYTES=${SOAK_MAX_BYTES:-524288}
PROFILE=${SOAK_PROFILE:-dev}
LOST_AFTER_MS=30000
SAMPLE_SECS=5
GROUP=239.77.0.1:3400
TSI=17
API=127.0.0.1:9464

die() { echo "scripts/soak.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
for tool in curl python3 ip sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "needs $tool (scripts/test.sh installs it)"
done
case "$MINUTES" in '' | *[!0-9]*) die "usage: scripts/soak.sh [MINUTES]" ;; esac
[ "$MINUTES" -ge 1 ] || die "MINUTES must be at least 1"

if [ -n "${SOAK_BIN:-}" ]; then
  BIN=$(realpath "$SOAK_BIN")
elif [ "$PROFILE" = release ]; then
  cargo build --release --locked -q -p xflute-cli
  BIN=$PWD/target/release/xflute
else
  cargo build --locked -q -p xflute-cli
  BIN=$PWD/target/debug/xflute
fi

NS_TX="xflute-$$-soak-tx"
NS_RX="xflute-$$-soak-rx"
WORK=$(mktemp -d /tmp/xflute-soak.XXXXXX)
TX_PID=""
RX_PID=""
SAMPLER_PID=""

cleanup() {
  set +e
  for pid in "$SAMPLER_PID" "$TX_PID" "$RX_PID"; do
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  done
  wait 2>/dev/null
  ip netns del "$NS_TX" 2>/dev/null
  ip netns del "$NS_RX" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The veth pair between the namespaces: GRO on both ends (the peer's NAPI must run for frames
# that AF_XDP sends), tx checksum offload off on the sending end (AF_XDP on the receiving end
# sees kernel-sent UDP with a real checksum).
ip netns add "$NS_TX"
ip netns add "$NS_RX"
ip link add tx0 netns "$NS_TX" type veth peer name rx0 netns "$NS_RX"
for ns_if_addr in "$NS_TX tx0 198.18.77.1" "$NS_RX rx0 198.18.77.2"; do
  read -r ns ifname addr <<<"$ns_if_addr"
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$addr/24" dev "$ifname"
  ip -n "$ns" link set "$ifname" up
  ip -n "$ns" route add 224.0.0.0/4 dev "$ifname"
  ip netns exec "$ns" ethtool -K "$ifname" gro on >/dev/null 2>&1 || true
done
ip netns exec "$NS_TX" ethtool -K tx0 tx off >/dev/null 2>&1 || true

mkdir -p "$WORK/tx/outbox" "$WORK/rx"
cat >"$WORK/tx/serve.toml" <<EOF
[http]
listen = "$API"

[[send]]
name = "soak"
dest = "$GROUP"
iface = "tx0"
backend = "$BACKEND"
tsi = $TSI
rate = "$RATE"
fec = "rs28"
repair_pct = 20
carousel = "2s"
watch = ["outbox"]

[[send.rule]]
match = "*.xml"
cenc = "gzip"
EOF
cat >"$WORK/rx/serve.toml" <<EOF
[http]
listen = "$API"

[[receive]]
name = "soak-in"
group = "$GROUP"
source = "198.18.77.1"
iface = "rx0"
backend = "$BACKEND"
tsi = [$TSI]
out = "inbox"
EOF
OUTBOX=$WORK/tx/outbox
INBOX=$WORK/rx/inbox

# `ip netns exec` execs the program: $! is serve's own pid.
ip netns exec "$NS_RX" "$BIN" serve --config "$WORK/rx/serve.toml" >"$WORK/rx.log" 2>&1 &
RX_PID=$!
ip netns exec "$NS_TX" "$BIN" serve --config "$WORK/tx/serve.toml" >"$WORK/tx.log" 2>&1 &
TX_PID=$!

api() { ip netns exec "$1" curl -sf --max-time 10 "http://$API$2"; }
for ns_pid_name in "$NS_TX $TX_PID soak" "$NS_RX $RX_PID soak-in"; do
  read -r ns pid name <<<"$ns_pid_name"
  for _ in $(seq 300); do
    api "$ns" /status 2>/dev/null | grep -q "\"name\":\"$name\"" && break
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/tx.log" "$WORK/rx.log" >&2; die "serve ended"; }
    sleep 0.1
  done
  api "$ns" /status | grep -q "\"name\":\"$name\"" || die "session $name did not start"
done

# Samples: seconds since start, then VmRSS and RssAnon (KiB) of the sender and the receiver.
rss() { awk '/^(VmRSS|RssAnon):/ {printf "%s ", $2}' "/proc/$1/status" 2>/dev/null || echo "0 0"; }
START=$SECONDS
(
  while kill -0 "$TX_PID" 2>/dev/null && kill -0 "$RX_PID" 2>/dev/null; do
    echo "$((SECONDS - START)) $(rss "$TX_PID")$(rss "$RX_PID")"
    sleep "$SAMPLE_SECS"
  done
) >"$WORK/samples" &
SAMPLER_PID=$!

now_ms() { echo $(($(date +%s%N) / 1000000)); }
rand() { echo $(((RANDOM << 15 | RANDOM) % $1)); }
sha_of() { sha256sum <"$1" | cut -d' ' -f1; }

declare -A present=()  # name -> 1 while the file is in the outbox
declare -A pending=()  # name -> "SHA-256 written_ms" of a version not yet received
declare -A deleting=() # name -> deleted_ms until the sender no longer lists it
names=()
for i in $(seq 0 $((POOL - 1))); do
  case $((i % 4)) in
    0) names+=("f$i.bin") ;;
    1) names+=("d$((i % 3))/f$i.bin") ;;
    2) names+=("f$i.xml") ;;
    3) names+=("d$((i % 3))/e$((i % 2))/f$i.dat") ;;
  esac
done
created=0 rewritten=0 deleted=0 received=0 lost=0 deletions_late=0
: >"$WORK/latencies"
: >"$WORK/versions"

# Writes a new version of $1 (in place or renamed into place) and records it as pending.
write_version() {
  local name=$1 path="$OUTBOX/$1" size
  if [ "$(rand 4)" -eq 0 ]; then size=$((1 + $(rand 1400))); else size=$((1 + $(rand "$MAX_BYTES"))); fi
  mkdir -p "$(dirname "$path")"
  if [ "$(rand 2)" -eq 0 ]; then
    head -c "$size" /dev/urandom >"$path"
  else
    local temp
    temp="$(dirname "$path")/.$(basename "$path").tmp"
    head -c "$size" /dev/urandom >"$temp"
    mv "$temp" "$path"
  fi
  local sha
  sha=$(sha_of "$path")
  pending[$name]="$sha $(now_ms)"
  present[$name]=1
  echo "$((SECONDS - START)) $name $size $sha" >>"$WORK/versions"
}

# One change: a file that is free (its last version received, not being deleted).
churn_once() {
  local free_absent=() free_present=() name
  for name in "${names[@]}"; do
    [ -n "${pending[$name]:-}" ] || [ -n "${deleting[$name]:-}" ] && continue
    if [ -n "${present[$name]:-}" ]; then free_present+=("$name"); else free_absent+=("$name"); fi
  done
  # The outbox holds POOL files but for a moment after each deletion: a steady load, so that
  # memory that grows is memory that leaks.
  if [ $((${#present[@]} + ${#deleting[@]})) -lt "$POOL" ] && [ ${#free_absent[@]} -gt 0 ]; then
    write_version "${free_absent[$(rand ${#free_absent[@]})]}"
    created=$((created + 1))
  elif [ ${#free_present[@]} -gt 0 ] && [ "$(rand 10)" -lt 7 ]; then
    write_version "${free_present[$(rand ${#free_present[@]})]}"
    rewritten=$((rewritten + 1))
  elif [ ${#free_present[@]} -gt 0 ]; then
    name=${free_present[$(rand ${#free_present[@]})]}
    rm -f "$OUTBOX/$name"
    unset "present[$name]"
    deleting[$name]=$(now_ms)
    deleted=$((deleted + 1))
  fi
}

# Versions received intact (or lost), deletions applied (or late).
check() {
  local name now sha at
  now=$(now_ms)
  for name in "${!pending[@]}"; do
    read -r sha at <<<"${pending[$name]}"
    if [ -f "$INBOX/$name" ] && [ "$(sha_of "$INBOX/$name")" = "$sha" ]; then
      received=$((received + 1))
      echo $((now - at)) >>"$WORK/latencies"
      unset "pending[$name]"
    elif [ $((now - at)) -gt "$LOST_AFTER_MS" ]; then
      echo "lost: $name ($sha), written $(((now - at) / 1000)) s ago" >&2
      lost=$((lost + 1))
      unset "pending[$name]"
    fi
  done
  if [ ${#deleting[@]} -gt 0 ]; then
    local listed
    listed=$(api "$NS_TX" /sessions/soak || true)
    # No answer is no news (and the process check of the main loop catches a dead serve).
    grep -q '"name":"soak"' <<<"$listed" || return 0
    for name in "${!deleting[@]}"; do
      at=${deleting[$name]}
      if ! grep -qF "\"name\":\"$name\"" <<<"$listed"; then
        unset "deleting[$name]"
      elif [ $((now - at)) -gt "$LOST_AFTER_MS" ]; then
        echo "deletion not applied: $name is still in the sender's session" >&2
        deletions_late=$((deletions_late + 1))
        unset "deleting[$name]"
      fi
    done
  fi
}

TOTAL_MS=$((MINUTES * 60 * 1000))
t0=$(now_ms)
tick=0
while [ $(($(now_ms) - t0)) -lt "$TOTAL_MS" ]; do
  kill -0 "$TX_PID" 2>/dev/null || die "the sending serve ended: $(tail -5 "$WORK/tx.log")"
  kill -0 "$RX_PID" 2>/dev/null || die "the receiving serve ended: $(tail -5 "$WORK/rx.log")"
  churn_once
  tick=$((tick + 1))
  # Until the next change, every 100 ms: what arrived, what left the FDT.
  while :; do
    check
    wait_ms=$((t0 + tick * 1000 - $(now_ms)))
    [ "$wait_ms" -gt 100 ] || break
    sleep 0.1
  done
  [ "$wait_ms" -gt 0 ] && sleep "0.$(printf '%03d' "$wait_ms")"
done
# The last versions and deletions get their time too.
end=$(($(now_ms) + LOST_AFTER_MS + 1000))
while { [ ${#pending[@]} -gt 0 ] || [ ${#deleting[@]} -gt 0 ]; } && [ "$(now_ms)" -lt "$end" ]; do
  check
  sleep 0.2
done
check

metric() { grep "^$2{session=\"$3\"} " <<<"$1" | awk '{print $2}'; }
tx_metrics=$(api "$NS_TX" /metrics)
rx_metrics=$(api "$NS_RX" /metrics)
versions_sent=$(metric "$tx_metrics" xflute_send_versions_total soak)
refused=$(metric "$tx_metrics" xflute_send_refused_total soak)
completed=$(metric "$rx_metrics" xflute_receive_objects_completed_total soak-in)
failed=$(metric "$rx_metrics" xflute_receive_objects_failed_total soak-in)

kill "$SAMPLER_PID" 2>/dev/null || true
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=""
exits=""
for pid in "$TX_PID" "$RX_PID"; do
  kill -TERM "$pid"
  code=0
  wait "$pid" || code=$?
  exits="$exits $code"
done
TX_PID="" RX_PID=""

written=$((created + rewritten))
echo "== soak: $MINUTES min of serve ($BACKEND, $RATE, rs28 20% repair, 2 s carousel, $PROFILE build), one change a second"
echo "changes: $written versions ($created new files, $rewritten rewritten), $deleted deletions"
sort -n "$WORK/latencies" | awk -v n="$(wc -l <"$WORK/latencies")" '
  NR == int(n * 0.5 + 0.5) { p50 = $1 } NR == int(n * 0.99 + 0.5) { p99 = $1 } { max = $1 }
  END { if (n) printf "written to received: p50 %d ms, p99 %d ms, max %d ms\n", p50, p99, max }'
echo "samples (s; sender VmRSS, RssAnon; receiver VmRSS, RssAnon; KiB):"
tr '\n' ';' <"$WORK/samples" | sed 's/;$/\n/; s/;/; /g'
python3 - "$WORK/samples" "$MINUTES" "$written" "$received" "$lost" "$deletions_late" \
  "$versions_sent" "$refused" "$completed" "$failed" "$exits" <<'EOF'
import statistics
import sys

samples_path, minutes = sys.argv[1], int(sys.argv[2])
written, received, lost, late = (int(v) for v in sys.argv[3:7])
versions_sent, refused, completed, failed = (float(v or "nan") for v in sys.argv[7:11])
exits = sys.argv[11].split()
ok = True
print(f"versions: {written} written, {received} received intact (SHA-256), {lost} lost")
print(f"sender: {versions_sent:.0f} versions queued, {refused:.0f} refused; "
      f"receiver: {completed:.0f} objects completed, {failed:.0f} failed")
print(f"deletions not applied within 30 s: {late}; exit statuses on SIGTERM: {' '.join(exits)}")
for bad, why in (
    (lost or received != written, "versions lost"),
    (late, "deletions not applied"),
    (refused != 0, "files refused by the sender"),
    (failed != 0, "objects failed at the receiver"),
    (versions_sent != written, "the sender queued other versions than those written"),
    (completed != written, "the receiver completed other objects than those written"),
    (exits != ["0", "0"], "an exit status other than 0 on SIGTERM"),
):
    if bad:
        print(f"FAIL: {why}")
        ok = False
total = minutes * 60
warm = min(60, total // 2)
rows = [[int(x) for x in line.split()] for line in open(samples_path) if line.strip()]
after = [r for r in rows if r[0] >= warm]
quarter = max(1, (total - warm) // 4)
first = [r for r in after if r[0] < warm + quarter]
last = [r for r in after if r[0] >= total - quarter]
if len(first) < 2 or len(last) < 2:
    print(f"too few memory samples after the {warm} s warm-up")
    ok = False
else:
    for column, who, what in ((1, "sender", "VmRSS"), (2, "sender", "RssAnon"),
                              (3, "receiver", "VmRSS"), (4, "receiver", "RssAnon")):
        base = statistics.median(r[column] for r in first)
        end = statistics.median(r[column] for r in last)
        peak = max(r[column] for r in after)
        growth = (end - base) / base * 100
        print(f"{who} {what} after the {warm} s warm-up: {base:.0f} KiB, at the end {end:.0f} KiB "
              f"({growth:+.1f}%, limit +10%), peak {peak} KiB")
        # RssAnon is a heap of a few MiB: in a short run it grows by whole allocator pages as the
        # working set settles, so it fails only when it also grew by 4 MiB or more (a leak over
        # a 10-minute run shows far above that); VmRSS is held to the 10% alone.
        if growth >= 10 and (what == "VmRSS" or end - base >= 4096):
            print(f"FAIL: the {who}'s {what} grew")
            ok = False
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
EOF
