#!/usr/bin/env bash
# The issue's long case, opt-in (about 2 minutes, root): one 512 MiB file and 1 GiB in 100 files,
# `xflute send` (AF_XDP, carousel, core 0) -> `xflute recv` (AF_XDP, 5% loss injected by the XDP
# program, core 1) between two throw-away network namespaces; prints the receiver's summary,
# its peak RssAnon (bar: 64 MiB), how many files are identical, and whether XDP is left attached.
# Everything is removed at exit (namespace names follow the test fixture's, so its sweep also
# removes them if this script is killed).
set -u
cd "$(dirname "$0")/.."
cargo build --release --locked -q -p xflute-cli
B=$PWD/target/release/xflute
TX=xflute-$$-0-tx; RX=xflute-$$-0-rx
W=/tmp/xf-big-$$
cleanup() { ip netns del $TX 2>/dev/null; ip netns del $RX 2>/dev/null; rm -rf $W; }
trap cleanup EXIT
ip netns add $TX; ip netns add $RX
ip link add xftx netns $TX type veth peer name xfrx netns $RX
for n in $TX:xftx:1 $RX:xfrx:2; do IFS=: read ns i h <<< "$n"
  ip -n $ns link set lo up; ip -n $ns addr add 198.18.0.$h/24 dev $i; ip -n $ns link set $i up
  ip -n $ns route add 224.0.0.0/4 dev $i; ip netns exec $ns ethtool -K $i gro on tx off >/dev/null; done
mkdir -p $W/in
head -c $((512<<20)) /dev/urandom > $W/in/large.bin
for i in $(seq -w 0 99); do head -c $((10737418 - 10#$i*977)) /dev/urandom > $W/in/f$i.bin; done
ip netns exec $RX $B recv --iface xfrx --group 239.7.7.7:3400 --out $W/out --count 101 --timeout 300s --inject-loss 0.05 --cores 1 > $W/recv.log 2>&1 &
RPID=$!
sleep 1
ip netns exec $TX $B send --iface xftx --source 198.18.0.1 --dest 239.7.7.7:3400 --carousel 300s --multiplex 1 --cores 0 $W/in/* > $W/send.log 2>&1 &
SPID=$!
max=0
while kill -0 $RPID 2>/dev/null; do
  v=$(awk '/RssAnon/{print $2}' /proc/$RPID/status 2>/dev/null); [ -n "$v" ] && [ "$v" -gt "$max" ] && max=$v
  sleep 0.05; done
wait $RPID; rc=$?
kill -INT $SPID; wait $SPID
tail -1 $W/recv.log; cat $W/send.log
echo "recv exit $rc; recv RssAnon peak ${max} KiB"
ok=0; bad=0
for f in $W/in/*; do if cmp -s $f $W/out/$(basename $f); then ok=$((ok+1)); else bad=$((bad+1)); fi; done
echo "identical $ok, differing/missing $bad"
echo "XDP programs left on the receiving veth: $(ip -n $RX link | grep -c xdp)"
