#!/usr/bin/env bash
# Two local runs with S3 datastores on different prefixes both get run id 1 and run at the same
# time: each must commit its own outputs. (They used to share the work directory
# $TMPDIR/podflow-work/1, and one run committed the other's outputs as its own.)
source "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1
cat >flow.yaml <<'YAML'
apiVersion: podflow.dev/v1alpha1
kind: Flow
metadata:
  name: samerunid
spec:
  steps:
    - name: start
      command: [sh, -c, 'echo "$WHO" > "$PODFLOW_OUTPUTS/who"; sleep 3; echo "$WHO" > "$PODFLOW_OUTPUTS/again"']
      next: [end]
    - name: end
      command: [sh, -c, 'cat "$PODFLOW_INPUTS/who" "$PODFLOW_INPUTS/again"']
YAML
WHO=alpha "$BIN/podflow" run flow.yaml --datastore "$URL/a" >a.out 2>a.err &
first=$!
WHO=beta "$BIN/podflow" run flow.yaml --datastore "$URL/b" >b.out 2>b.err &
second=$!
wait $first
status_a=$?
wait $second
status_b=$?
cat a.err b.err
check "the run on prefix a succeeds" test $status_a -eq 0
check "the run on prefix b succeeds" test $status_b -eq 0
check "both runs got run id 1" test "$(tail -1 a.out) $(tail -1 b.out)" = "1 1"
"$BIN/podflow" logs 1/end --datastore "$URL/a" >a.log 2>&1
"$BIN/podflow" logs 1/end --datastore "$URL/b" >b.log 2>&1
check "run 1 of prefix a committed its own outputs" test "$(cat a.log)" = "$(printf 'alpha\nalpha')"
check "run 1 of prefix b committed its own outputs" test "$(cat b.log)" = "$(printf 'beta\nbeta')"
finish
