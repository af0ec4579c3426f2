#!/usr/bin/env bash
# shellcheck disable=SC2034 # METRICS_OFF, RELEASES: read by lib.sh
# The chart in namespaced mode, end to end on the test cluster: helm install --wait (the operator
# runs on the process node with the in-cluster service account, in a namespace that enforces Pod
# Security restricted), every object accepted, examples/bigsum succeeds in a watched namespace and
# is ignored in an unwatched one, RBAC is what docs/operations.md lists and no more, helm upgrade
# (workers) rolls the operator, a run in flight survives uninstall + install, uninstall leaves the
# CRDs and removes everything else.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
rel=t-helm-ns-$SUFFIX # the release namespace
a=$rel-a b=$rel-b c=$rel-c # a, b watched; c not
make_ns "$rel" pod-security.kubernetes.io/enforce=restricted
make_ns "$a"
make_ns "$b"
make_ns "$c"
release=pf$SUFFIX
deploy=$release-podflow
sa=system:serviceaccount:$rel:$deploy
values=$(mktemp)
trap 'rm -f "$values"; cleanup' EXIT
{
	process_node_values
	echo "watchNamespaces: [$a, $b]"
} >"$values"
# one test tenant in two namespaces: the chart refuses shared keys unless told (docs/operations.md)
creds=(--set "s3.credentials.accessKeyId=$AWS_ACCESS_KEY_ID" --set "s3.credentials.secretAccessKey=$AWS_SECRET_ACCESS_KEY"
	--set s3.credentials.sharedAcrossNamespaces=true)
install() {
	helm install "$release" "$CHART" -n "$rel" -f "$values" "${creds[@]}" --wait --timeout 120s >/dev/null ||
		{ dump "$rel" "$deploy"; fail "helm install failed"; }
	RELEASES=("$release/$rel")
}

note "helm install (namespaced: $a, $b)"
install
# every object of the release exists as rendered (nothing was dropped or refused)
helm get manifest "$release" -n "$rel" | kubectl get -f - >/dev/null || fail "objects of the manifest are missing"
for ns in "$a" "$b"; do
	kubectl -n "$ns" get role "$deploy" >/dev/null && kubectl -n "$ns" get rolebinding "$deploy" >/dev/null ||
		fail "no Role/RoleBinding in $ns"
	kubectl -n "$ns" get secret "$deploy-s3" >/dev/null || fail "no tasks' Secret in $ns"
done
# (the users' node-placement ClusterRole apart: it grants the operator nothing)
kubectl get clusterrole,clusterrolebinding -l "app.kubernetes.io/instance=$release" -o name | grep -v -- '-node-placement$' &&
	fail "a ClusterRole(Binding) for the operator in namespaced mode"
operator_ready "$rel" "$deploy"
node=$(kubectl -n "$rel" get pods -l "app.kubernetes.io/instance=$release" -o jsonpath='{.items[0].spec.nodeName}')
[ "$node" = process-node-1 ] || fail "operator pod on $node"

note "examples/bigsum in $a"
run_bigsum "$a" bigsum || { dump "$rel" "$deploy"; exit 1; }
# not managed outside the list
kubectl -n "$c" apply -f examples/bigsum/flow.yaml >/dev/null
sleep 3
[ -z "$(kubectl -n "$c" get flowrun bigsum -o jsonpath='{.status.phase}')" ] || fail "the operator touched a FlowRun in unwatched $c"
[ -z "$(kubectl -n "$c" get tasks -o name)" ] || fail "Tasks in unwatched $c"

note "RBAC: what docs/operations.md lists, and no more"
can_everything_documented "$sa" "-n=$a"
can_everything_documented "$sa" "-n=$b"
cannot_anything_else "$sa" "-n=$a"
cannot_anything_else "$sa" "-n=$rel"
for v in get list watch create delete; do
	cannot "$sa" "$v" pods "-n=$c"
	cannot "$sa" "$v" tasks.podflow.dev "-n=$c"
	cannot "$sa" "$v" pods -A
done
cannot "$sa" list flowruns.podflow.dev -A
cannot "$sa" get secrets "-n=$c"
cannot "$sa" create leases.coordination.k8s.io "-n=$rel" # 1 replica: no leader election
kubectl -n "$rel" logs "deployment/$deploy" | grep -E 'cannot [a-z]+ resource' && fail "RBAC refused the operator something"

note "helm upgrade: flowrun workers 4 -> 3"
old=$(kubectl -n "$rel" get pods -l "app.kubernetes.io/instance=$release" -o name)
helm upgrade "$release" "$CHART" -n "$rel" -f "$values" "${creds[@]}" --set operator.flowrunWorkers=3 --wait --timeout 120s >/dev/null ||
	{ dump "$rel" "$deploy"; fail "helm upgrade failed"; }
grep -q -- '--flowrun-workers=3' <<<"$(kubectl -n "$rel" get deployment "$deploy" -o jsonpath='{.spec.template.spec.containers[0].args}')" ||
	fail "upgrade did not change --flowrun-workers"
wait_until 60 "the old operator pod to go" bash -c "! kubectl -n $rel get $old"
[ "$(kubectl -n "$rel" get pods -l "app.kubernetes.io/instance=$release" -o name | wc -l)" = 1 ] || fail "not exactly one operator pod"
operator_ready "$rel" "$deploy"
kubectl -n "$b" apply -f examples/bigsum/flow.yaml >/dev/null
kubectl -n "$b" wait --for=condition=Succeeded flowrun/bigsum --timeout=180s >/dev/null || { dump "$rel" "$deploy"; fail "bigsum in $b after the upgrade"; }

note "a run in flight across helm uninstall + install"
kubectl -n "$a" apply -f - >/dev/null <<'YAML'
apiVersion: podflow.dev/v1alpha1
kind: Flow
metadata: {name: slow}
spec:
  steps:
    - {name: start, command: [sh, -c, "sleep 8; echo slept"], next: [end]}
    - {name: end, command: [sh, -c, "echo done"]}
---
apiVersion: podflow.dev/v1alpha1
kind: FlowRun
metadata: {name: slow}
spec: {flowRef: {name: slow}}
YAML
wait_until 60 "slow.start to run" bash -c "[ \"\$(kubectl -n $a get pod slow.start -o jsonpath='{.status.phase}')\" = Running ]"
helm uninstall "$release" -n "$rel" --wait --timeout 60s >/dev/null || fail "helm uninstall failed"
RELEASES=()
# the CRDs (and so every Flow, FlowRun, Task) stay; the operator's own objects go
for crd in flows flowruns tasks; do kubectl get crd "$crd.podflow.dev" >/dev/null || fail "CRD $crd deleted by uninstall"; done
kubectl -n "$a" get flowrun slow bigsum >/dev/null || fail "FlowRuns deleted by uninstall"
for ns in "$rel" "$a" "$b"; do
	left=$(kubectl -n "$ns" get deploy,rs,pods,sa,role,rolebinding,secret,service -l "app.kubernetes.io/instance=$release" -o name)
	[ -z "$left" ] || fail "left in $ns after uninstall: $left"
done
# the task's pod runs on (it belongs to its Task, not to the release), but nobody records its end:
# the Task stays as the operator left it (no status yet: a pod's first 10 s are not written)
version=$(kubectl -n "$a" get task slow.start -o jsonpath='{.metadata.resourceVersion}')
wait_until 30 "slow.start to finish" bash -c "[ \"\$(kubectl -n $a get pod slow.start -o jsonpath='{.status.phase}')\" = Succeeded ]"
sleep 1
[ "$(kubectl -n "$a" get task slow.start -o jsonpath='{.metadata.resourceVersion}')" = "$version" ] ||
	fail "Task slow.start updated without an operator"
[ "$(kubectl -n "$a" get task slow.start -o jsonpath='{.status.phase}')" != Succeeded ] ||
	fail "Task slow.start recorded Succeeded without an operator"
install
kubectl -n "$a" wait --for=condition=Succeeded flowrun/slow --timeout=120s >/dev/null || { dump "$rel" "$deploy"; fail "slow did not finish after reinstall"; }
[ "$(kubectl -n "$a" logs slow.end)" = "done" ] || fail "slow.end log"

note "helm uninstall"
helm uninstall "$release" -n "$rel" --wait --timeout 60s >/dev/null || fail "helm uninstall failed"
RELEASES=()
wait_until 60 "the operator pod to go" bash -c "[ -z \"\$(kubectl -n $rel get pods -o name)\" ]"
echo "ok: helm install/upgrade/uninstall in namespaced mode; bigsum succeeds; RBAC exactly as documented"
