# shellcheck shell=bash
# Shared helpers of the cluster tests: source the cluster's env file, make a namespace
# for the test (deleted on exit), bounded waits.
set -euo pipefail
PODFLOW_CLUSTER_DIR=${PODFLOW_CLUSTER_DIR:-/tmp/podflow-cluster}
[ -f "$PODFLOW_CLUSTER_DIR/env" ] || { echo "error: no cluster env at $PODFLOW_CLUSTER_DIR/env (run tests/cluster/up)" >&2; exit 1; }
# shellcheck disable=SC1091
source "$PODFLOW_CLUSTER_DIR/env"
TEST_NAME=$(basename "$0" .sh)

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "[$(date +%H:%M:%S)] $*"; }

# new_namespace [LABEL...]: creates a fresh namespace (NS), deleted when the test exits
new_namespace() {
	NS="t-${TEST_NAME}-$RANDOM$RANDOM"
	NS=${NS:0:63}
	kubectl create namespace "$NS" >/dev/null
	if [ $# -gt 0 ]; then kubectl label namespace "$NS" "$@" >/dev/null; fi
	trap 'kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1 || true' EXIT
	# pods need the namespace's default service account (made by the serviceaccount controller)
	wait_until 30 "service account default in $NS" kubectl get serviceaccount default -n "$NS"
}

# wait_until TIMEOUT WHAT CMD...: polls CMD (quietly) until it succeeds, or fails the test
wait_until() {
	local timeout=$1 what=$2
	shift 2
	local end=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || fail "timed out after ${timeout}s waiting for $what"
		sleep 0.3
	done
}

pod_phase() { kubectl get pod "$1" -n "${2:-$NS}" -o jsonpath='{.status.phase}'; }
phase_is() { [ "$(pod_phase "$1" "${3:-$NS}")" = "$2" ]; }
# wait_phase POD PHASE TIMEOUT: fails with the pod's description when it does not get there
wait_phase() {
	local end=$((SECONDS + $3))
	until phase_is "$1" "$2" 2>/dev/null; do
		if [ $SECONDS -ge $end ]; then
			kubectl describe pod "$1" -n "$NS" >&2 || true
			fail "pod $1 not $2 after $3s"
		fi
		sleep 0.3
	done
}
