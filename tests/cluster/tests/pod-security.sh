#!/usr/bin/env bash
# A pod violating Pod Security "restricted" is rejected in a namespace labelled for it;
# a compliant pod is admitted.
source "$(dirname "$0")/common.sh"
new_namespace pod-security.kubernetes.io/enforce=restricted
bad=$(mktemp)
cat >"$bad" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  containers:
  - {name: main, image: busybox, command: [sleep, "1"]}
YAML
if out=$(kubectl apply -n "$NS" -f "$bad" 2>&1); then
	fail "non-compliant pod was admitted: $out"
fi
grep -q 'violates PodSecurity "restricted' <<<"$out" || fail "unexpected rejection: $out"
note "rejected: $out"
kubectl apply --dry-run=server -n "$NS" -f - >/dev/null <<YAML || fail "compliant pod rejected"
apiVersion: v1
kind: Pod
metadata: {name: good}
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: main
    image: busybox
    command: [sleep, "1"]
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
YAML
rm -f "$bad"
echo "ok: Pod Security admission enforces restricted"
