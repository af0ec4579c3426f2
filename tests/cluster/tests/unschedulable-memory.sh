#!/usr/bin/env bash
# A pod requesting more memory than any node has stays Pending with a FailedScheduling
# event naming memory.
source "$(dirname "$0")/common.sh"
new_namespace
kubectl apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: huge}
spec:
  restartPolicy: Never
  tolerations:
  - {key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}
  containers:
  - name: main
    image: busybox
    command: [sleep, "1"]
    resources:
      requests: {memory: 1000Ti}
YAML
has_event() {
	local messages
	messages=$(kubectl get events -n "$NS" --field-selector involvedObject.name=huge,reason=FailedScheduling \
		-o jsonpath='{.items[*].message}')
	grep -qi 'insufficient memory' <<<"$messages"
}
wait_until 60 "a FailedScheduling event naming memory" has_event
msg=$(kubectl get events -n "$NS" --field-selector involvedObject.name=huge,reason=FailedScheduling -o jsonpath='{.items[0].message}')
note "event: $msg"
sleep 2
[ "$(pod_phase huge)" = Pending ] || fail "pod is $(pod_phase huge), want Pending"
[ -z "$(kubectl get pod huge -n "$NS" -o jsonpath='{.spec.nodeName}')" ] || fail "pod was bound to a node"
echo "ok: pod stays Pending: $msg"
