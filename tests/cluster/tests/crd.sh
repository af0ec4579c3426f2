#!/usr/bin/env bash
# CustomResourceDefinitions work (the operator's Flow/FlowRun/Task are CRDs): a CRD with a
# status subresource becomes Established, objects are created, their status is patched
# through the subresource, and deleting the CRD removes them.
source "$(dirname "$0")/common.sh"
new_namespace
group="t$RANDOM$RANDOM.cluster-test.podflow.dev"
kubectl apply -f - >/dev/null <<YAML
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.$group}
spec:
  group: $group
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
          status: {type: object, properties: {phase: {type: string}}}
YAML
trap 'kubectl delete crd "widgets.$group" --wait=false >/dev/null 2>&1 || true; kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1 || true' EXIT
kubectl wait --for=condition=Established "crd/widgets.$group" --timeout=60s >/dev/null || fail "CRD not Established"
wait_until 30 "the widgets API to be served" kubectl get "widgets.$group" -n "$NS"
kubectl apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: $group/v1
kind: Widget
metadata: {name: w1}
spec: {size: 3}
YAML
kubectl patch "widgets.$group" w1 -n "$NS" --subresource=status --type=merge -p '{"status":{"phase":"Done"}}' >/dev/null
[ "$(kubectl get "widgets.$group" w1 -n "$NS" -o jsonpath='{.spec.size}/{.status.phase}')" = 3/Done ] || fail "widget round trip"
kubectl delete crd "widgets.$group" --timeout=60s >/dev/null || fail "deleting the CRD failed"
echo "ok: CRD Established, object with status subresource, CRD deletion"
