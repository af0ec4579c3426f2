#!/usr/bin/env bash
# 1000 pods for the KWOK nodes (nodeSelector type=kwok + the kwok toleration) all go
# Succeeded, each moved Running once and ended once (kwok's log has two status patches per pod:
# kwok plays stages again from old snapshots in such bursts, and the stages' resourceVersion
# precondition is what makes the API server refuse them); prints how long it took (created -> all
# Succeeded). N overrides the count.
source "$(dirname "$0")/common.sh"
N=${N:-1000}
new_namespace
P=${P:-8} # parallel kubectl create processes
dir=$(mktemp -d)
for i in $(seq 1 "$N"); do
	cat <<YAML
---
apiVersion: v1
kind: Pod
metadata:
  name: kwok-$i
  labels: {podflow.dev/kwok-test: "1"}
  annotations: {podflow.dev/kwok-termination-message: "done-$i", podflow.dev/kwok-duration: "1s"}
spec:
  restartPolicy: Never
  nodeSelector: {type: kwok}
  tolerations:
  - {key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}
  containers:
  - {name: main, image: busybox, command: ["true"], resources: {requests: {cpu: 100m, memory: 128Mi}}}
YAML
done | awk -v dir="$dir" -v p="$P" '/^---$/ {n++} {print > (dir "/part-" (n % p) ".yaml")}'
start=$(date +%s%N)
pids=()
for f in "$dir"/part-*.yaml; do
	kubectl create -n "$NS" -f "$f" >/dev/null &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "kubectl create failed"; done
created=$(date +%s%N)
note "created $N pods in $(((created - start) / 1000000)) ms"
# poll cheaply: only the pods that are not Succeeded yet travel
pending() { kubectl get pods -n "$NS" --field-selector=status.phase!=Succeeded -o name | wc -l; }
end=$((SECONDS + 300))
while :; do
	left=$(pending)
	[ "$left" -eq 0 ] && break
	[ $SECONDS -lt $end ] || fail "$left of $N pods not Succeeded after 300s"
	sleep 1
done
total=$(kubectl get pods -n "$NS" -o name | wc -l)
[ "$total" -eq "$N" ] || fail "$total pods exist, want $N"
done_ns=$(date +%s%N)
ms=$(((done_ns - start) / 1000000))
msg=$(kubectl get pod kwok-7 -n "$NS" -o jsonpath='{.status.containerStatuses[0].state.terminated.message}')
[ "$msg" = done-7 ] || fail "termination message of kwok-7 is '$msg', want done-7"
# kwok logs each status patch the API server took ("Patch pod"): two per pod, Running and the end.
# A stage it played again from an old snapshot is refused (409) and logged as a failure instead.
python3 - "$PODFLOW_CLUSTER_DIR/logs/kwok.log" "$NS" "$N" <<'PY' || fail "KWOK moved a pod more than once (above)"
import collections, json, sys, time
log, ns, want = sys.argv[1], sys.argv[2], int(sys.argv[3])

def count():
    patches, refused = collections.Counter(), 0
    for line in open(log, errors="replace"):
        if f'"{ns}/' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("msg") == "Patch pod":
            patches[entry["pod"]] += 1
        elif "Operation cannot be fulfilled" in entry.get("err", ""):
            refused += 1
    return patches, refused

for _ in range(10):  # the last pod's line is written just after its patch returns
    patches, refused = count()
    if len(patches) == want and min(patches.values()) >= 2:
        break
    time.sleep(1)
wrong = {pod: n for pod, n in patches.items() if n != 2}
for pod, n in sorted(wrong.items())[:5]:
    print(f"{pod}: {n} status patches, want 2 (Running, Succeeded)")
if wrong or len(patches) != want:
    print(f"{len(wrong)} of {len(patches)} pods were not patched exactly twice; {want} pods were made")
    sys.exit(1)
print(f"each of the {want} pods was patched twice; {refused} second plays of a stage were refused")
PY
per_node=$(kubectl get pods -n "$NS" -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort | uniq -c | tr '\n' ' ')
rm -rf "$dir"
echo "ok: $N KWOK pods Succeeded in $((ms / 1000)).$(printf %03d $((ms % 1000)))s from first create (create took $(((created - start) / 1000000)) ms; per node: $per_node)"
