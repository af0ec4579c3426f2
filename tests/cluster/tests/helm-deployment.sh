#!/usr/bin/env bash
# helm (the pinned build) installs a chart whose Deployment runs on the process node:
# deployment and replicaset controllers work, `helm install --wait` sees it Ready,
# `helm uninstall` removes it (and the garbage collector its pods).
source "$(dirname "$0")/common.sh"
new_namespace
chart=$(mktemp -d)
mkdir -p "$chart/templates"
cat >"$chart/Chart.yaml" <<'YAML'
apiVersion: v2
name: cluster-smoke
version: 0.1.0
YAML
cat >"$chart/templates/deployment.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: {{ .Release.Name }}-web}
spec:
  replicas: 2
  selector: {matchLabels: {app: {{ .Release.Name }}}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}}}
    spec:
      nodeSelector: {type: process}
      terminationGracePeriodSeconds: 2
      containers:
      - name: web
        image: ignored
        command: [sh, -c, 'echo "serving {{ .Values.greeting }}"; exec sleep 3600']
YAML
echo 'greeting: hi' >"$chart/values.yaml"
helm install smoke "$chart" -n "$NS" --wait --timeout 90s >/dev/null || fail "helm install --wait failed"
ready=$(kubectl get deployment smoke-web -n "$NS" -o jsonpath='{.status.readyReplicas}')
[ "$ready" = 2 ] || fail "readyReplicas $ready, want 2"
pod=$(kubectl get pods -n "$NS" -l app=smoke -o jsonpath='{.items[0].metadata.name}')
[ "$(kubectl logs -n "$NS" "$pod")" = "serving hi" ] || fail "pod log: $(kubectl logs -n "$NS" "$pod")"
helm uninstall smoke -n "$NS" --wait --timeout 60s >/dev/null || fail "helm uninstall failed"
wait_until 60 "the deployment's pods to go" bash -c "[ -z \"\$(kubectl get pods -n $NS -l app=smoke -o name)\" ]"
rm -rf "$chart"
echo "ok: helm install --wait / uninstall of a Deployment on the process node"
