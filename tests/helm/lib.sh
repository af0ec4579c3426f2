# shellcheck shell=bash disable=SC2034
# Shared by the helm.* tests: the cluster's env and helpers (tests/cluster/tests/common.sh), the
# chart, values that run the operator on the process node, and RBAC assertions.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE=${PODFLOW_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
# shellcheck source=../cluster/tests/common.sh disable=SC1091
source "$SOURCE/tests/cluster/tests/common.sh"
CHART=$SOURCE/charts/podflow
cd "$SOURCE" || exit 1

SUFFIX=$RANDOM$RANDOM
CREATED_NS=()
RELEASES=()
cleanup() {
	local r
	for r in "${RELEASES[@]}"; do helm uninstall "${r%%/*}" -n "${r##*/}" --wait --timeout 60s >/dev/null 2>&1 || true; done
	for r in "${CREATED_NS[@]}"; do kubectl delete namespace "$r" --wait=false >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

# make_ns NAME [LABEL...]: a fresh namespace (deleted on exit), prints nothing; sets nothing
make_ns() {
	local ns=$1
	shift
	kubectl create namespace "$ns" >/dev/null
	CREATED_NS+=("$ns")
	if [ $# -gt 0 ]; then kubectl label namespace "$ns" "$@" >/dev/null; fi
	wait_until 30 "service account default in $ns" kubectl get serviceaccount default -n "$ns"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Values that make the chart's operator run on the process node of the test cluster. The node
# shares the host's network, so the metrics and probe ports are free ports of this machine.
METRICS_PORT=$(free_port)
HEALTH_PORT=$(free_port)
process_node_values() {
	cat <<YAML
image: {repository: ignored.invalid/podflow, tag: test}
nodeSelector: {type: process}
terminationGracePeriodSeconds: 5
metrics: {port: $METRICS_PORT}
health: {port: $HEALTH_PORT}
s3:
  bucket: $PODFLOW_S3_BUCKET
  prefix: helm-$SUFFIX
  endpoint: $PODFLOW_S3_ENDPOINT
  region: us-east-1
operator: {logFormat: text}
YAML
}

# can SA VERB RESOURCE [ARGS...] / cannot ...: kubectl auth can-i as the service account
can() {
	local sa=$1
	shift
	[ "$(kubectl auth can-i "$@" --as="$sa" 2>/dev/null)" = yes ] || fail "$sa cannot: $*"
}
cannot() {
	local sa=$1
	shift
	[ "$(kubectl auth can-i "$@" --as="$sa" 2>/dev/null)" = no ] || fail "$sa can, and should not: $*"
}

# The verbs of docs/operations.md's RBAC table, in namespace NS (or -A).
can_everything_documented() {
	local sa=$1 where=$2 v
	for v in get list watch; do
		can "$sa" "$v" flows.podflow.dev "$where"
		can "$sa" "$v" flowruns.podflow.dev "$where"
	done
	for v in update patch; do
		can "$sa" "$v" flows.podflow.dev --subresource=status "$where"
		can "$sa" "$v" flowruns.podflow.dev --subresource=status "$where"
		can "$sa" "$v" tasks.podflow.dev --subresource=status "$where"
	done
	can "$sa" update flowruns.podflow.dev --subresource=finalizers "$where"
	can "$sa" update tasks.podflow.dev --subresource=finalizers "$where"
	for v in get list watch create delete; do
		can "$sa" "$v" tasks.podflow.dev "$where"
		can "$sa" "$v" pods "$where"
	done
	for v in create patch update; do
		can "$sa" "$v" events "$where"
		can "$sa" "$v" events.events.k8s.io "$where"
	done
	can "$sa" create localsubjectaccessreviews.authorization.k8s.io "$where"
	can "$sa" operate tasks.podflow.dev "$where"
}

# ...and nothing more there: no secrets, no writes to the users' Flows/FlowRuns, no pod exec/logs.
cannot_anything_else() {
	local sa=$1 where=$2 v
	for v in get list watch; do cannot "$sa" "$v" secrets "$where"; done
	for v in create update patch delete; do
		cannot "$sa" "$v" flows.podflow.dev "$where"
		cannot "$sa" "$v" flowruns.podflow.dev "$where"
	done
	cannot "$sa" update tasks.podflow.dev "$where"
	cannot "$sa" patch pods "$where"
	cannot "$sa" create pods --subresource=exec "$where"
	cannot "$sa" get pods --subresource=log "$where"
	cannot "$sa" create configmaps "$where"
	cannot "$sa" create leases.coordination.k8s.io "$where"
	cannot "$sa" create serviceaccounts --subresource=token "$where"
	cannot "$sa" create rolebindings.rbac.authorization.k8s.io "$where"
}

# operator_ready NS DEPLOYMENT: the Deployment's pods are Ready and its log says it started
operator_ready() {
	local ns=$1 deploy=$2
	kubectl -n "$ns" rollout status "deployment/$deploy" --timeout=90s >/dev/null ||
		fail "deployment $deploy not ready: $(kubectl -n "$ns" get pods -o wide 2>&1)"
	wait_until 30 "$deploy to start its controllers" bash -c \
		"kubectl -n $ns logs deployment/$deploy | grep -q 'starting the controllers'"
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HEALTH_PORT/readyz")" = 200 ] ||
		fail "/readyz on :$HEALTH_PORT is not 200"
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HEALTH_PORT/healthz")" = 200 ] ||
		fail "/healthz on :$HEALTH_PORT is not 200"
	if [ -n "${METRICS_OFF:-}" ]; then
		if curl -s "http://127.0.0.1:$METRICS_PORT/metrics" >/dev/null; then fail "/metrics answers with metrics.enabled=false"; fi
	else
		grep -q '^podflow_tasks' <<<"$(curl -s "http://127.0.0.1:$METRICS_PORT/metrics")" ||
			fail "/metrics on :$METRICS_PORT has no podflow_tasks"
	fi
}

# debug output when a step fails: the release namespace's pods and the operator's log
dump() {
	local ns=$1 deploy=$2
	echo "--- pods of $ns" >&2
	kubectl -n "$ns" get pods -o wide >&2 || true
	echo "--- log of $deploy" >&2
	kubectl -n "$ns" logs "deployment/$deploy" --tail=40 >&2 || true
}

# run_bigsum NS NAME: a FlowRun NAME of examples/bigsum succeeds in NS
run_bigsum() {
	local ns=$1 name=$2
	if [ "$name" = bigsum ]; then
		kubectl -n "$ns" apply -f examples/bigsum/flow.yaml >/dev/null
	else
		printf 'apiVersion: podflow.dev/v1alpha1\nkind: FlowRun\nmetadata: {name: %s}\nspec: {flowRef: {name: bigsum}}\n' \
			"$name" | kubectl -n "$ns" create -f - >/dev/null
	fi
	kubectl -n "$ns" wait --for=condition=Succeeded "flowrun/$name" --timeout=180s >/dev/null || {
		kubectl -n "$ns" get podflow,pods >&2 || true
		fail "flowrun $name in $ns did not succeed"
	}
	local log
	log=$(kubectl -n "$ns" logs "$name.end")
	grep -q 'The sum is' <<<"$log" || fail "kubectl logs $name.end: $log"
}
