#!/usr/bin/env bash
# shellcheck disable=SC2034 # METRICS_OFF, RELEASES: read by lib.sh
# The chart in all-namespaces mode on the test cluster: helm install --wait with leader election,
# a ClusterRole with exactly docs/operations.md's verbs (no secrets, nothing else), the Lease Role
# limited to the release namespace and the Lease's name, the tasks' Secret created in
# s3.credentials.namespaces, metrics.enabled=false turns /metrics off, examples/bigsum succeeds in
# a namespace nobody listed, uninstall.
# The operator manages EVERY namespace, so ctest runs this test alone (RUN_SERIAL).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
rel=t-helm-cw-$SUFFIX
runs=$rel-runs
make_ns "$rel" pod-security.kubernetes.io/enforce=restricted
make_ns "$runs"
release=cw$SUFFIX
deploy=$release-podflow
sa=system:serviceaccount:$rel:$deploy
values=$(mktemp)
trap 'rm -f "$values"; cleanup' EXIT
process_node_values >"$values"
METRICS_OFF=1
args=(-f "$values" --set leaderElection.enabled=true --set metrics.enabled=false --set "s3.credentials.namespaces={$runs}"
	--set "s3.credentials.accessKeyId=$AWS_ACCESS_KEY_ID" --set "s3.credentials.secretAccessKey=$AWS_SECRET_ACCESS_KEY")

note "helm install (all namespaces, leader election)"
helm install "$release" "$CHART" -n "$rel" "${args[@]}" --wait --timeout 120s >/dev/null ||
	{ dump "$rel" "$deploy"; fail "helm install failed"; }
RELEASES=("$release/$rel")
helm get manifest "$release" -n "$rel" | kubectl get -f - >/dev/null || fail "objects of the manifest are missing"
kubectl get clusterrole "$deploy-$rel" >/dev/null || fail "no ClusterRole $deploy-$rel"
kubectl -n "$runs" get secret "$deploy-s3" >/dev/null || fail "no tasks' Secret in $runs"
operator_ready "$rel" "$deploy"
kubectl -n "$rel" get service "$deploy-metrics" 2>/dev/null && fail "a metrics Service with metrics.enabled=false"
wait_until 30 "the Lease" bash -c "kubectl -n $rel get lease $deploy -o jsonpath='{.spec.holderIdentity}' | grep -q $deploy"

note "RBAC"
can_everything_documented "$sa" -A
can_everything_documented "$sa" "-n=$runs"
cannot_anything_else "$sa" "-n=$runs"
cannot_anything_else "$sa" -A
for v in get update; do
	can "$sa" "$v" "leases.coordination.k8s.io/$deploy" "-n=$rel"
	cannot "$sa" "$v" leases.coordination.k8s.io/kube-scheduler "-n=$rel"
done
can "$sa" create leases.coordination.k8s.io "-n=$rel"
cannot "$sa" create leases.coordination.k8s.io "-n=$runs"
cannot "$sa" delete leases.coordination.k8s.io "-n=$rel"
cannot "$sa" list nodes
cannot "$sa" list namespaces

note "examples/bigsum in $runs"
run_bigsum "$runs" bigsum || { dump "$rel" "$deploy"; exit 1; }
kubectl -n "$rel" logs "deployment/$deploy" | grep -E 'cannot [a-z]+ resource' && fail "RBAC refused the operator something"

note "helm uninstall"
helm uninstall "$release" -n "$rel" --wait --timeout 60s >/dev/null || fail "helm uninstall failed"
RELEASES=()
kubectl get clusterrole,clusterrolebinding -l "app.kubernetes.io/instance=$release" -o name | grep . && fail "cluster objects left"
kubectl get crd flowruns.podflow.dev >/dev/null || fail "uninstall deleted the CRDs"
echo "ok: helm install/uninstall in all-namespaces mode with leader election; bigsum succeeds; RBAC exactly as documented"
