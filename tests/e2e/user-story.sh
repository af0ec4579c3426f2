#!/usr/bin/env bash
# shellcheck disable=SC2034 # RELEASES: read by tests/helm/lib.sh
# podflow as a person uses it, typed as they would type it (issue 7's story), against the loopback
# cluster: helm install the chart; kubectl apply an example, wait, watch the progress columns,
# describe the run's events, kubectl logs a task, delete the run and see its tasks and pods go;
# podflow run --with kubernetes of the fanout example with --max-workers 4 and
# --max-num-splits 1000; podflow list / logs (from S3 once the pods are gone) / kill; Ctrl-C on
# podflow run kills the run's pods.
# shellcheck source=../helm/lib.sh
source "$(dirname "$0")/../helm/lib.sh"
PODFLOW=${PODFLOW_BIN:-$SOURCE/build/bin}/podflow
rel=t-e2e-$SUFFIX
team=$rel-team
make_ns "$rel"
make_ns "$team"
release=pf$SUFFIX
values=$(mktemp)
out=$(mktemp)
trap 'rm -f "$values" "$out"; cleanup' EXIT
{
	process_node_values
	echo "watchNamespaces: [$team]"
} >"$values"

note "helm install podflow"
helm install "$release" "$CHART" -n "$rel" -f "$values" \
	--set "s3.credentials.accessKeyId=$AWS_ACCESS_KEY_ID" --set "s3.credentials.secretAccessKey=$AWS_SECRET_ACCESS_KEY" \
	--wait --timeout 120s >"$out" || { cat "$out" >&2; fail "helm install failed"; }
RELEASES=("$release/$rel")
grep -q "kubectl" "$out" || fail "helm install's NOTES do not say what to type next: $(cat "$out")"
operator_ready "$rel" "$release-podflow"

note "kubectl apply -f examples/bigsum/flow.yaml; kubectl wait; kubectl get; kubectl describe; kubectl logs"
kubectl -n "$team" apply -f examples/bigsum/flow.yaml >/dev/null
kubectl -n "$team" wait --for=condition=Succeeded flowrun/bigsum --timeout=180s >/dev/null ||
	{ kubectl -n "$team" get podflow,pods >&2; fail "bigsum did not succeed"; }
kubectl -n "$team" get flowruns >"$out"
head -1 "$out" | grep -qE 'PHASE +SUCCEEDED +TOTAL +RUNNING +FAILED +AGE' || fail "kubectl get flowruns columns: $(cat "$out")"
grep -qE '^bigsum +Succeeded +2 +2 +0 +0 ' "$out" || fail "kubectl get flowruns: $(cat "$out")"
kubectl -n "$team" describe flowrun bigsum >"$out"
grep -q 'Started' "$out" && grep -q 'Succeeded' "$out" || fail "kubectl describe flowrun shows no events: $(tail -20 "$out")"
grep -q 'The sum is' <<<"$(kubectl -n "$team" logs bigsum.end)" || fail "kubectl logs bigsum.end"
kubectl -n "$team" get tasks >"$out"
head -1 "$out" | grep -qE 'STEP +COMPLETIONS +RUNNING +FAILED +PHASE +AGE' || fail "kubectl get tasks columns: $(cat "$out")"
grep -qE '^bigsum.end +end +1/1 +0 +0 +Succeeded' "$out" || fail "kubectl get tasks rows: $(cat "$out")"
# (grep reads a here-string, not a pipe: with pipefail, grep -q closing the pipe early fails it)
grep -q '^flow.podflow.dev/bigsum$' <<<"$(kubectl get podflow -n "$team" -o name)" || fail "kubectl get podflow lists no Flow"

note "kubectl delete flowrun bigsum"
kubectl -n "$team" delete flowrun bigsum >/dev/null
wait_until 120 "bigsum's tasks and pods to go" bash -c \
	"[ -z \"\$(kubectl -n $team get tasks,pods -l podflow.dev/run=bigsum -o name)\" ]"

note "podflow run examples/fanout/flow.yaml --with kubernetes --max-workers 4 --max-num-splits 1000"
# 100 of the example's 1000 items keep the story short on a 2-core machine
"$PODFLOW" run examples/fanout/flow.yaml --with "kubernetes:namespace=$team" --max-workers 4 \
	--max-num-splits 1000 --param count=100 >"$out" 2>"$out.err" || { cat "$out.err" >&2; fail "podflow run --with kubernetes failed"; }
run=$(cat "$out")
grep -q "Succeeded: 103/103 tasks done" "$out.err" || fail "no progress to the end: $(tail -5 "$out.err")"
grep -qE "^$team +$run +fanout +Succeeded +103/103" <<<"$("$PODFLOW" list --my-runs -n "$team")" ||
	fail "podflow list --my-runs: $("$PODFLOW" list --my-runs -n "$team")"
kubectl -n "$team" delete pods --all --wait=true >/dev/null
"$PODFLOW" logs "$run/end" -n "$team" >"$out" 2>&1 || fail "podflow logs after the pods are gone: $(cat "$out")"
grep -q "328350" "$out" || fail "podflow logs $run/end (from S3): $(cat "$out")" # sum of squares of 0..99
rm -f "$out.err"

note "Ctrl-C on podflow run kills the run's pods; podflow kill"
flow=$(mktemp --suffix=.yaml)
printf 'apiVersion: podflow.dev/v1alpha1\nkind: Flow\nmetadata: {name: sleepy}\nspec:\n  steps:\n  - {name: start, command: [sleep, "297"], next: [end]}\n  - {name: end, command: ["true"]}\n' >"$flow"
"$PODFLOW" run "$flow" --with "kubernetes:namespace=$team" 2>"$out" &
pid=$!
wait_until 90 "the sleepy run's pod to run" bash -c \
	"kubectl -n $team get pods -l podflow.dev/flow=sleepy -o jsonpath='{.items[*].status.phase}' | grep -q Running"
kill -INT "$pid"
code=0
wait "$pid" || code=$?
[ "$code" = 130 ] || fail "podflow run after Ctrl-C exited $code: $(cat "$out")"
wait_until 60 "the interrupted run's pods to go" bash -c \
	"[ -z \"\$(kubectl -n $team get pods,tasks,flowruns -l podflow.dev/flow=sleepy -o name)\" ]"
pgrep -f "sleep 297" >/dev/null && fail "the step's process survived Ctrl-C"
detached=$("$PODFLOW" run "$flow" --with "kubernetes:namespace=$team" --detach 2>/dev/null)
wait_until 90 "the detached run's pod to run" bash -c \
	"kubectl -n $team get pods -l podflow.dev/run=$detached -o jsonpath='{.items[*].status.phase}' | grep -q Running"
grep -q "killed $team/$detached" <<<"$("$PODFLOW" kill "$detached" -n "$team")" || fail "podflow kill"
wait_until 60 "the killed run's pods to go" bash -c \
	"[ -z \"\$(kubectl -n $team get pods -l podflow.dev/run=$detached -o name)\" ]"
rm -f "$flow"
note "ok"
