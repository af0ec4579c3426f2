#!/usr/bin/env bash
# The process node(s) run a 200-pod fan-out: every pod Succeeded with its own log and
# termination message; prints how long it took. N overrides the count.
source "$(dirname "$0")/common.sh"
N=${N:-200}
P=${P:-4}
new_namespace
dir=$(mktemp -d)
for i in $(seq 1 "$N"); do
	cat <<YAML
---
apiVersion: v1
kind: Pod
metadata:
  name: task-$i
  labels: {podflow.dev/fanout-test: "1"}
spec:
  restartPolicy: Never
  nodeSelector: {type: process}
  containers:
  - name: main
    image: busybox
    command: [sh, -c, 'echo task-$i; printf "result-$i" > "\$PODFLOW_TERMINATION_MESSAGE_PATH"']
    resources: {requests: {cpu: 10m, memory: 16Mi}}
YAML
done | awk -v dir="$dir" -v p="$P" '/^---$/ {n++} {print > (dir "/part-" (n % p) ".yaml")}'
start=$(date +%s%N)
pids=()
for f in "$dir"/part-*.yaml; do
	kubectl create -n "$NS" -f "$f" >/dev/null &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "kubectl create failed"; done
phases() { kubectl get pods -n "$NS" -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}'; }
end=$((SECONDS + 240))
while :; do
	now=$(phases)
	s=$(grep -c '^Succeeded$' <<<"$now" || true)
	[ "$s" -ge "$N" ] && break
	if grep -q '^Failed$' <<<"$now"; then
		bad=$(kubectl get pods -n "$NS" --field-selector=status.phase=Failed -o name | head -1)
		kubectl describe -n "$NS" "$bad" >&2
		fail "$bad Failed"
	fi
	[ $SECONDS -lt $end ] || fail "only $s of $N pods Succeeded after 240s"
	sleep 1
done
ms=$((($(date +%s%N) - start) / 1000000))
[ "$(kubectl logs -n "$NS" task-17)" = task-17 ] || fail "logs of task-17: $(kubectl logs -n "$NS" task-17)"
msg=$(kubectl get pod task-17 -n "$NS" -o jsonpath='{.status.containerStatuses[0].state.terminated.message}')
[ "$msg" = result-17 ] || fail "termination message of task-17 is '$msg'"
rm -rf "$dir"
echo "ok: $N process-node pods Succeeded in $((ms / 1000)).$(printf %03d $((ms % 1000)))s"
