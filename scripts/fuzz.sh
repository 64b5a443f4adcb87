#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ for a bounded time: scripts/fuzz.sh [SECONDS_PER_TARGET]
# (default 20). Installs cargo-fuzz if missing, builds all targets once, runs each from a
# throw-away copy of its committed seeds (fuzz/seeds/<target>) and of the inputs that once
# crashed it (fuzz/regressions/<target>), prints the executions per target and fails if any
# target crashes, leaks, times out or runs out of memory. A crashing input is left in
# fuzz/artifacts/<target>/ and printed as hex.
set -euo pipefail
secs="${1:-20}"
cargo_fuzz_version=0.13.2
cd "$(dirname "$0")/../fuzz"
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never
# cargo-fuzz passes -Z flags; with -s none nothing else needs nightly.
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz $cargo_fuzz_version"
  start=$(date +%s)
  cargo install cargo-fuzz --locked --version "$cargo_fuzz_version"
  echo "cargo-fuzz installed in $(( $(date +%s) - start )) s"
fi

targets=()
for f in fuzz_targets/*.rs; do
  targets+=("$(basename "$f" .rs)")
done

start=$(date +%s)
cargo fuzz build -s none
echo "built ${#targets[@]} targets in $(( $(date +%s) - start )) s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
printf '%-22s %8s %12s %10s\n' target seconds executions exec/s
for t in "${targets[@]}"; do
  corpus="$work/corpus/$t"
  mkdir -p "$corpus" "artifacts/$t"
  for dir in "seeds/$t" "regressions/$t"; do
    if [ -d "$dir" ]; then cp -r "$dir"/. "$corpus"/; fi
  done
  log="$work/$t.log"
  status=0
  cargo fuzz run -s none "$t" "$corpus" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    >"$log" 2>&1 || status=$?
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -n 1)
  rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log" | tail -n 1)
  printf '%-22s %8s %12s %10s\n' "$t" "$secs" "${execs:-?}" "${rate:-?}"
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    echo "---- $t failed (exit $status); end of its log:" >&2
    tail -n 60 "$log" >&2
    for a in artifacts/"$t"/*; do
      [ -f "$a" ] || continue
      echo "---- $a (hex):" >&2
      od -A x -t x1z -v "$a" | head -n 64 >&2
    done
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: no crash in ${#targets[@]} targets"
