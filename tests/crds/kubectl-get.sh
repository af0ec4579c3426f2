#!/usr/bin/env bash
# What `kubectl get` shows: `kubectl get podflow` lists Flows, FlowRuns and Tasks together, with
# each kind's printer columns filled from status (Flow: Valid; FlowRun: Phase, Succeeded, Total,
# Running, Failed; Task: Step, Completions, Running, Failed, Phase) and the short names fl, fr, tk work.
source "$(dirname "$0")/lib.sh"
install_crds
new_namespace
kubectl apply -n "$NS" -f "$REPO/examples/branch/flow.yaml" >/dev/null || fail "applying examples/branch/flow.yaml failed"
kubectl apply -n "$NS" -f - >/dev/null <<'YAML' || fail "creating a Task failed"
apiVersion: podflow.dev/v1alpha1
kind: Task
metadata: {name: branch.left}
spec: {flowRun: branch, step: work, indexed: true, splitPrefix: [], count: 1000}
YAML
kubectl patch fl branch -n "$NS" --subresource=status --type=merge -p '{"status":{"observedGeneration":1,
  "conditions":[{"type":"Valid","status":"True","reason":"Valid","message":"","lastTransitionTime":"2026-11-21T19:00:00Z","observedGeneration":1}]}}' >/dev/null ||
	fail "Flow status refused"
kubectl patch fr branch -n "$NS" --subresource=status --type=merge \
	-p '{"status":{"phase":"Running","tasks":{"total":5,"pending":1,"running":2,"succeeded":2,"failed":0}}}' >/dev/null ||
	fail "FlowRun status refused"
kubectl patch tk branch.left -n "$NS" --subresource=status --type=merge \
	-p '{"status":{"phase":"Running","succeeded":997,"running":2,"pending":1,"failed":0,"progress":"997/1000",
  "succeededIndexes":"0-995,998","runningIndexes":"996,999"}}' >/dev/null || fail "Task status refused"

all=$(kubectl get podflow -n "$NS")
echo "$all"
for object in flow.podflow.dev/branch flowrun.podflow.dev/branch task.podflow.dev/branch.left; do
	grep -q "^$object " <<<"$all" || fail "kubectl get podflow does not list $object"
done
# columns: header and row of each kind, whitespace-normalized
columns() { kubectl get "$1" -n "$NS" | awk '{$NF=""; print}' | sed 's/ *$//'; }
check() { # check KIND EXPECTED
	local got
	got=$(columns "$1")
	[ "$got" = "$2" ] || fail "kubectl get $1 shows
$got
expected
$2"
}
check fl $'NAME VALID\nbranch True'
check fr $'NAME PHASE SUCCEEDED TOTAL RUNNING FAILED\nbranch Running 2 5 2 0'
check tk $'NAME STEP COMPLETIONS RUNNING FAILED PHASE\nbranch.left work 997/1000 2 0 Running'
echo "ok: kubectl get podflow lists all three kinds; printer columns show"
