#!/usr/bin/env bash
# A Flow's name rule, the FlowRun's and Task's CEL rules and defaults on a real API server: exactly one of flowRef and
# flow; resumeFrom is a run id; maxWorkers and maxNumSplits defaulted and at least 1; an inline flow is held to the Flow
# schema; spec is immutable (metadata and status still change); the same for a Task's spec.
source "$(dirname "$0")/lib.sh"
install_crds
new_namespace

inline_flow='{steps: [{name: start, command: [echo], next: [end]}, {name: end, command: [echo]}]}'
run() { # run NAME SPEC: applies a FlowRun, sets OUT and RC
	set +e
	OUT=$(kubectl apply -n "$NS" -f - 2>&1 <<YAML
apiVersion: podflow.dev/v1alpha1
kind: FlowRun
metadata: {name: $1}
spec: $2
YAML
	)
	RC=$?
	set -e
}
expect_rejected() { # expect_rejected WHAT TEXT
	[ "$RC" != 0 ] || fail "$1 was accepted"
	grep -qF -- "$2" <<<"$OUT" || fail "$1: the message does not say '$2': $OUT"
}

run both "{flowRef: {name: bigsum}, flow: $inline_flow}"
expect_rejected "a FlowRun with both flowRef and flow" "set exactly one of flowRef and flow"
run neither "{maxWorkers: 2}"
expect_rejected "a FlowRun with neither flowRef nor flow" "set exactly one of flowRef and flow"
run zero-workers "{flowRef: {name: bigsum}, maxWorkers: 0}"
expect_rejected "maxWorkers 0" "spec.maxWorkers"
run zero-splits "{flowRef: {name: bigsum}, maxNumSplits: 0}"
expect_rejected "maxNumSplits 0" "spec.maxNumSplits"
run bad-inline "{flow: {steps: [{name: start, command: [echo], next: [end], retry: {times: 9}}, {name: end, command: [echo]}]}}"
expect_rejected "an inline flow with retry.times 9" "spec.flow.steps[0].retry.times"
run twice "{flowRef: {name: bigsum}, parameters: [{name: size, value: '1'}, {name: size, value: '2'}]}"
expect_rejected "a parameter given twice" "spec.parameters[1]: Duplicate value"
run bad-resume "{flowRef: {name: bigsum}, resumeFrom: '../bigsum-1f2e3d4c'}"
expect_rejected "a resumeFrom that is no run id" "spec.resumeFrom"
run resumed "{flowRef: {name: bigsum}, resumeFrom: bigsum-1f2e3d4c}"
[ "$RC" = 0 ] || fail "a FlowRun with resumeFrom was rejected: $OUT"
set +e
OUT=$(kubectl patch fr resumed -n "$NS" --type=merge -p '{"spec":{"resumeFrom":"bigsum-00000000"}}' 2>&1)
RC=$?
set -e
expect_rejected "a resumeFrom update" "spec is immutable"

# a Flow's name is a DNS label (it names pods and datastore paths), not any object name
set +e
OUT=$(kubectl apply -n "$NS" -f - 2>&1 <<YAML
apiVersion: podflow.dev/v1alpha1
kind: Flow
metadata: {name: big.sum}
spec: $inline_flow
YAML
)
RC=$?
set -e
expect_rejected "a Flow named big.sum" "metadata.name is not a valid flow name"

run inline "{flow: $inline_flow, flowName: tiny, parameters: [{name: size, value: '10'}]}"
[ "$RC" = 0 ] || fail "an inline FlowRun was rejected: $OUT"
[ "$(kubectl get fr inline -n "$NS" -o jsonpath='{.spec.maxWorkers}/{.spec.maxNumSplits}')" = 16/100 ] ||
	fail "maxWorkers/maxNumSplits not defaulted to 16/100"

set +e
OUT=$(kubectl patch fr inline -n "$NS" --type=merge -p '{"spec":{"maxWorkers":3}}' 2>&1)
RC=$?
set -e
expect_rejected "a FlowRun spec update" "spec is immutable"
run inline "{flow: $inline_flow, flowName: other}"
expect_rejected "re-applying a FlowRun with another spec" "spec is immutable"
kubectl label fr inline -n "$NS" podflow.dev/test=yes >/dev/null || fail "a FlowRun's labels cannot change"
kubectl patch fr inline -n "$NS" --subresource=status --type=merge -p '{"status":{
  "observedGeneration": 1, "phase": "Running", "runId": "inline-1f2e3d4c", "flowName": "tiny",
  "datastore": "s3://podflow/runs", "startTime": "2026-11-21T19:00:00Z",
  "flow": {"steps": [{"name": "start", "command": ["echo"], "next": ["end"]}, {"name": "end", "command": ["echo"]}]},
  "tasks": {"total": 12, "pending": 0, "running": 4, "succeeded": 8, "failed": 0},
  "conditions": [{"type": "Running", "status": "True", "reason": "TasksRunning", "message": "4 tasks running",
    "lastTransitionTime": "2026-11-21T19:00:00Z", "observedGeneration": 1}]}}' >/dev/null ||
	fail "the operator's status was refused"
[ "$(kubectl get fr inline -n "$NS" -o jsonpath='{.status.phase}/{.status.tasks.succeeded}/{.status.flow.steps[1].name}')" = Running/8/end ] ||
	fail "FlowRun status did not round-trip"

set +e
OUT=$(kubectl apply -n "$NS" -f - 2>&1 <<'YAML'
apiVersion: podflow.dev/v1alpha1
kind: Task
metadata: {name: inline.train.1}
spec:
  flowRun: inline
  step: train
  indexed: true
  splitPrefix: [1]
  count: 1000
  image: python:3.12
  resources: {cpu: "4", memory: "60000M", disk: "10240M", gpu: 1, gpuVendor: nvidia.com}
  timeoutSeconds: 3600
  retry: {times: 2, delaySeconds: 120}
  secrets: [db-credentials]
  serviceAccount: trainer
  nodeSelector: {pool: gpu}
  tolerations: [{key: gpu, operator: Exists, effect: NoSchedule}]
  labels: {team: ml}
  annotations: {}
YAML
)
RC=$?
set -e
[ "$RC" = 0 ] || fail "the Task of docs/api.md was rejected: $OUT"
set +e
OUT=$(kubectl patch tk inline.train.1 -n "$NS" --type=merge -p '{"spec":{"image":"python:3.13"}}' 2>&1)
RC=$?
set -e
expect_rejected "a Task spec update" "spec is immutable"
kubectl patch tk inline.train.1 -n "$NS" --subresource=status --type=merge -p '{"status":{
  "phase": "Running", "succeeded": 997, "running": 2, "pending": 1, "failed": 0, "progress": "997/1000",
  "succeededIndexes": "0-995,998", "runningIndexes": "996,999",
  "retried": [{"index": 996, "attempt": 1, "failures": 0, "disruptions": 1, "reason": "Evicted",
               "message": "task train.1.996 attempt 0 was lost"}],
  "splitCounts": {"0": 100}, "reason": "Unschedulable", "message": "task train.1.999: 0/3 nodes",
  "startTime": "2026-11-21T19:00:00Z"}}' >/dev/null ||
	fail "the operator's Task status was refused"
[ "$(kubectl get tk inline.train.1 -n "$NS" -o jsonpath='{.status.progress}/{.status.retried[0].reason}/{.status.splitCounts.0}')" = 997/1000/Evicted/100 ] ||
	fail "Task status did not round-trip"
echo "ok: FlowRun and Task rules, defaults, immutable specs, status subresources"
