# Shared by the tests/s3 scripts: the cluster's S3 settings, a unique prefix, pass/fail counting.
set -uo pipefail
: "${PODFLOW_CLUSTER_DIR:=/tmp/podflow-cluster}"
# shellcheck disable=SC1091
source "$PODFLOW_CLUSTER_DIR/env"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE_DIR=${PODFLOW_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
BIN=${PODFLOW_BIN:-$SOURCE_DIR/build/bin}
TOOL="$BIN/podflow-s3-bench"
BUCKET=$PODFLOW_S3_BUCKET
PREFIX="podflow-s3-tests/$(basename "$0" .sh)-$$-$RANDOM"
URL="s3://$BUCKET/$PREFIX"
PYTHON=$(command -v podflow-python || command -v python3)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/podflow-s3-test.XXXXXX")
aws_s3() { aws --endpoint-url "$PODFLOW_S3_ENDPOINT" "$@"; }
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
check() {  # check "description" command...
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {
  aws_s3 s3 rm --quiet --recursive "s3://$BUCKET/$PREFIX/" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
