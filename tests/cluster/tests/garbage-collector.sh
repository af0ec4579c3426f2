#!/usr/bin/env bash
# Deleting an owner removes its dependents (the garbage collector works): a ConfigMap owns a
# ConfigMap and a running Pod on the process node; deleting the owner removes both (and the
# pod's process).
source "$(dirname "$0")/common.sh"
new_namespace
kubectl create configmap owner -n "$NS" --from-literal=k=v >/dev/null
uid=$(kubectl get configmap owner -n "$NS" -o jsonpath='{.metadata.uid}')
kubectl apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: dependent
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: $uid}]
data: {k: v}
---
apiVersion: v1
kind: Pod
metadata:
  name: dependent-pod
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: $uid}]
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 2
  nodeSelector: {type: process}
  containers:
  - name: main
    image: busybox
    command: [sleep, "600"]
YAML
wait_phase dependent-pod Running 60
puid=$(kubectl get pod dependent-pod -n "$NS" -o jsonpath='{.metadata.uid}')
kubectl delete configmap owner -n "$NS" >/dev/null
gone() { ! kubectl get "$1" "$2" -n "$NS" >/dev/null 2>&1; }
wait_until 60 "configmap dependent to be collected" gone configmap dependent
wait_until 60 "pod dependent-pod to be collected" gone pod dependent-pod
wait_until 20 "the pod's process to exit" bash -c "! grep -lzs 'PODFLOW_POD_DIR=.*$puid' /proc/[0-9]*/environ"
echo "ok: owner deletion removed the dependent ConfigMap and Pod"
