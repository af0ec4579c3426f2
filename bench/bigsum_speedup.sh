#!/usr/bin/env bash
# BigSum's start step (examples/bigsum) on 1 core and on all cores through parallel_map, run
# directly with the step contract's variables. Prints the times and the speed-up.
#   bench/bigsum_speedup.sh [size=8000] [repeat=3]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bigsum="$root/build/bin/bigsum"
size="${1:-8000}"
repeat="${2:-3}"
cores=$(nproc)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
time_on() {
  local best=""
  for _ in $(seq "$repeat"); do
    mkdir -p "$scratch/out"
    PODFLOW_OUTPUTS="$scratch/out" PODFLOW_PARAM_SIZE="$size" PODFLOW_CPU="$1" "$bigsum" start >/dev/null
    local took; took=$(cat "$scratch/out/took_ms")
    if [ -z "$best" ] || [ "$took" -lt "$best" ]; then best="$took"; fi
  done
  echo "$best"
}
one=$(time_on 1)
all=$(time_on "$cores")
echo "bigsum start, ${size}x${size}, best of $repeat: 1 core ${one} ms, $cores cores ${all} ms, speed-up $(awk -v a="$one" -v b="$all" 'BEGIN { printf "%.2f", a / b }')x"
