#!/usr/bin/env bash
# `podflow run examples/fanout/flow.yaml --datastore s3://...` with 1000 splits succeeds, and
# `podflow logs` and `podflow list` read the run back from S3.
source "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1
started=$(date +%s)
"$BIN/podflow" run "$SOURCE_DIR/examples/fanout/flow.yaml" --datastore "$URL" \
  --max-num-splits 1000 >run.out 2>&1
status=$?
echo "podflow run took $(($(date +%s) - started)) s"
tail -5 run.out
check "podflow run of the 1000-way fanout with an s3:// datastore succeeds" test $status -eq 0
run=$(aws_s3 s3 ls "$URL/_runs/" | awk '{print $4}' | sed -n 's/^\([0-9]*\)\.json$/\1/p' | head -1)
check "the run record is in the bucket" test -n "$run"
"$BIN/podflow" logs "$run/join" --datastore "$URL" >join.log 2>&1
check "podflow logs RUN/join reads the join's output from S3" grep -q "all 1000 items arrived exactly once" join.log
"$BIN/podflow" logs "$run/end" --datastore "$URL" >end.log 2>&1
check "podflow logs RUN/end too" grep -q "The sum of squares is 332833500" end.log
"$BIN/podflow" list --datastore "$URL" >list.out 2>&1
check "podflow list reads the run index from S3" grep -q "fanout" list.out
check "every manifest points at complete blobs" "$PYTHON" "$HERE/check_manifests.py" "$BUCKET" "$PREFIX"
aws_s3 s3 ls "$URL/fanout/data/" >data-listing
check "the awscli sees the layout: <flow>/data/ blobs" grep -q PRE data-listing
finish
