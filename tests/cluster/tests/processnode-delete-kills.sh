#!/usr/bin/env bash
# Deleting a pod on the process node kills its whole process group (SIGTERM, grace, SIGKILL)
# and the pod object goes away.
source "$(dirname "$0")/common.sh"
new_namespace
kubectl apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: tree}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 3
  nodeSelector: {type: process}
  containers:
  - name: main
    image: busybox
    command: [sh, -c, 'trap "" TERM; sleep 1000 & sleep 1000 & wait']
YAML
wait_phase tree Running 60
uid=$(kubectl get pod tree -n "$NS" -o jsonpath='{.metadata.uid}')
count() { grep -lzs "PODFLOW_POD_DIR=.*$uid" /proc/[0-9]*/environ 2>/dev/null | wc -l; }
wait_until 10 "the pod's 3 processes" test "$(count)" -ge 3
note "pod processes: $(count)"
start=$SECONDS
timeout 60 kubectl delete pod tree -n "$NS" --wait=true >/dev/null || fail "kubectl delete pod did not finish"
note "deleted in $((SECONDS - start))s"
wait_until 10 "the pod's processes to exit" test "$(count)" -eq 0
echo "ok: pod deletion killed the process group ($((SECONDS - start))s, shell ignored SIGTERM)"
