#!/usr/bin/env bash
# tests/cluster/restart-apiserver stops and restarts kube-apiserver; a pod running on the
# process node across the restart still completes and reports its status.
source "$(dirname "$0")/common.sh"
new_namespace
kubectl apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: across}
spec:
  restartPolicy: Never
  nodeSelector: {type: process}
  containers:
  - {name: main, image: busybox, command: [sh, -c, 'sleep 8; echo survived']}
YAML
wait_phase across Running 60
"$(dirname "$0")/../restart-apiserver"
kubectl get --raw /readyz >/dev/null || fail "API server not ready after restart"
wait_phase across Succeeded 60
[ "$(kubectl logs -n "$NS" across)" = survived ] || fail "logs after restart: $(kubectl logs -n "$NS" across)"
echo "ok: API server restarted; the pod completed across it"
