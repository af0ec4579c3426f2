#!/usr/bin/env bash
# A pod `echo hello` on the process node succeeds and `kubectl logs` prints hello;
# `kubectl logs -f` on a running pod streams lines as they are written.
source "$(dirname "$0")/common.sh"
new_namespace
kubectl apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: hello}
spec:
  restartPolicy: Never
  nodeSelector: {type: process}
  containers:
  - name: main
    image: busybox
    command: [echo, hello]
YAML
wait_phase hello Succeeded 60
out=$(kubectl logs -n "$NS" hello)
[ "$out" = hello ] || fail "kubectl logs printed '$out', want 'hello'"
code=$(kubectl get pod hello -n "$NS" -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode} {.status.containerStatuses[0].state.terminated.reason}')
[ "$code" = "0 Completed" ] || fail "terminated state '$code', want '0 Completed'"
note "kubectl logs hello -> $out"

kubectl apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: stream}
spec:
  restartPolicy: Never
  nodeSelector: {type: process}
  containers:
  - name: main
    image: busybox
    command: [sh, -c, 'for i in 1 2 3 4 5 6; do echo line-\$i; sleep 1; done']
YAML
wait_phase stream Running 60
out=$(mktemp)
timeout 60 kubectl logs -f -n "$NS" stream >"$out" &
lp=$!
wait_until 10 "first streamed line" grep -q line-1 "$out"
[ "$(pod_phase stream)" = Running ] || fail "pod finished before the first line was streamed"
note "streamed while running: $(tr '\n' ' ' <"$out")"
wait $lp || fail "kubectl logs -f did not end cleanly when the container exited"
grep -q line-6 "$out" || fail "kubectl logs -f missed the last line: $(cat "$out")"
[ "$(grep -c line- "$out")" = 6 ] || fail "kubectl logs -f printed $(grep -c line- "$out") lines, want 6"
tail=$(kubectl logs -n "$NS" stream --tail=2 | tr '\n' ' ')
[ "$tail" = "line-5 line-6 " ] || fail "--tail=2 printed '$tail'"
rm -f "$out"
echo "ok: logs and logs -f work through the API server"
