# shellcheck shell=bash
# Shared by the CRD cluster tests: the cluster helpers (tests/cluster/tests/common.sh), then the
# CRDs of crds/ installed (server-side apply: idempotent, so tests may run side by side) and served.
# The CRDs stay installed: they are cluster-wide and other tests on the cluster may use them.
# shellcheck disable=SC1091
source "$(dirname "$0")/../cluster/tests/common.sh"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
CRDS="flows.podflow.dev flowruns.podflow.dev tasks.podflow.dev"

install_crds() {
	kubectl apply --server-side --field-manager=podflow-crd-tests --force-conflicts -f "$REPO/crds/" >/dev/null ||
		fail "kubectl apply of crds/ failed"
	local crd
	for crd in $CRDS; do
		kubectl wait --for=condition=Established "crd/$crd" --timeout=60s >/dev/null || fail "$crd not Established"
		wait_until 30 "the ${crd%%.*} API to be served" kubectl get "$crd" -n default
	done
}

# apply_dry_run FILE: kubectl apply --dry-run=server into $NS; sets OUT (output) and RC
apply_dry_run() {
	set +e
	OUT=$(timeout 60 kubectl apply --dry-run=server -n "$NS" -f "$1" 2>&1)
	RC=$?
	set -e
}
