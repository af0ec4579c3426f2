#!/usr/bin/env bash
# KWOK stages: a pod on a KWOK node goes Running then Succeeded (exit 0, termination message
# from the annotation); podflow.dev/kwok-exit-code makes it Failed with that code; the label
# podflow.dev/kwok-complete=false keeps it Running; deletion removes it at once, and kwok leaves
# the deletion of a finished pod to the API server.
source "$(dirname "$0")/common.sh"
new_namespace
pod() { # pod NAME LABELS ANNOTATIONS
	cat <<YAML
---
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {$2}, annotations: {$3}}
spec:
  restartPolicy: Never
  nodeSelector: {type: kwok}
  tolerations: [{key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}]
  containers: [{name: main, image: busybox, command: ["true"]}]
YAML
}
{
	pod ok 'app: kwok' 'podflow.dev/kwok-termination-message: "{\"exit\":0}"'
	pod bad 'app: kwok' 'podflow.dev/kwok-exit-code: "3", podflow.dev/kwok-termination-message: "it failed"'
	pod forever 'podflow.dev/kwok-complete: "false"' 'x: "1"'
} | kubectl apply -n "$NS" -f - >/dev/null
wait_phase ok Succeeded 60
wait_phase bad Failed 60
wait_phase forever Running 60
t() { kubectl get pod "$1" -n "$NS" -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode}/{.status.containerStatuses[0].state.terminated.reason}/{.status.containerStatuses[0].state.terminated.message}'; }
[ "$(t ok)" = '0/Completed/{"exit":0}' ] || fail "ok pod: $(t ok)"
[ "$(t bad)" = '3/Error/it failed' ] || fail "bad pod: $(t bad)"
node=$(kubectl get pod ok -n "$NS" -o jsonpath='{.spec.nodeName}')
[[ "$node" == kwok-node-* ]] || fail "ok pod ran on $node"
sleep 3
[ "$(pod_phase forever)" = Running ] || fail "forever pod is $(pod_phase forever)"
timeout 30 kubectl delete pod forever -n "$NS" --wait=true >/dev/null || fail "deleting a KWOK pod did not finish"
# A finished pod is removed by the API server itself; kwok must not try to delete it too (a 404).
timeout 30 kubectl delete pod ok bad -n "$NS" --wait=true >/dev/null || fail "deleting finished KWOK pods did not finish"
sleep 1
if grep -E "\"pod\":\"$NS/(ok|bad)\".*\"stage\":\"pod-delete\"" "$PODFLOW_CLUSTER_DIR/logs/kwok.log" >&2; then
	fail "kwok played pod-delete for a finished pod"
fi
echo "ok: KWOK pods complete, fail with an exit code, or stay running, as their metadata says"
