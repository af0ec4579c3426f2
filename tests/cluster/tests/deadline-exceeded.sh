#!/usr/bin/env bash
# A sleeping pod with activeDeadlineSeconds 3 ends Failed with reason DeadlineExceeded,
# and its process is gone.
source "$(dirname "$0")/common.sh"
new_namespace
kubectl apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: sleeper}
spec:
  restartPolicy: Never
  activeDeadlineSeconds: 3
  nodeSelector: {type: process}
  containers:
  - name: main
    image: busybox
    command: [sleep, "300"]
YAML
start=$SECONDS
wait_phase sleeper Failed 40
reason=$(kubectl get pod sleeper -n "$NS" -o jsonpath='{.status.reason}')
[ "$reason" = DeadlineExceeded ] || fail "reason '$reason', want DeadlineExceeded"
state=$(kubectl get pod sleeper -n "$NS" -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode}')
[ -n "$state" ] || fail "container not reported terminated"
uid=$(kubectl get pod sleeper -n "$NS" -o jsonpath='{.metadata.uid}')
if pgrep -f "sleep 300" >/dev/null && grep -lzs "PODFLOW_POD_DIR=.*$uid" /proc/[0-9]*/environ >/dev/null 2>&1; then
	fail "the pod's process is still running"
fi
echo "ok: Failed/DeadlineExceeded after $((SECONDS - start))s (container exit code $state)"
