#!/usr/bin/env bash
# A pod on the process node reaches the API server with its service account, as an in-cluster
# program does: token, ca.crt and namespace at /var/run/secrets/kubernetes.io/serviceaccount,
# KUBERNETES_SERVICE_HOST/PORT set (kubectl inside the pod uses the in-cluster config).
source "$(dirname "$0")/common.sh"
new_namespace
kubectl apply -n "$NS" -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: incluster}
spec:
  restartPolicy: Never
  nodeSelector: {type: process}
  containers:
  - name: main
    image: bitnami/kubectl
    command: [sh, -c]
    args:
    - |
      set -e
      d=/var/run/secrets/kubernetes.io/serviceaccount
      echo "ns=$(cat $d/namespace)"
      test -s $d/token && test -s $d/ca.crt
      unset KUBECONFIG
      echo "whoami=$(kubectl auth whoami -o jsonpath='{.status.userInfo.username}')"
YAML
wait_phase incluster Succeeded 60
logs=$(kubectl logs -n "$NS" incluster)
echo "$logs"
grep -qx "ns=$NS" <<<"$logs" || fail "namespace file wrong"
grep -qx "whoami=system:serviceaccount:$NS:default" <<<"$logs" || fail "in-cluster identity wrong"
echo "ok: a pod authenticates as its service account with the in-cluster config"
