#!/usr/bin/env bash
# Faults: MinIO stopped in the middle of a multipart upload and started again. The upload is
# retried and completes, or (with a short retry budget) fails with a clear message and leaves no
# object and no pending upload; and a run whose upload is interrupted never commits a manifest
# that points at a missing or partial blob. Stops the shared MinIO: runs alone (RUN_SERIAL).
source "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1
MINIO=${PODFLOW_MINIO_CONTROL:-$SOURCE_DIR/tests/cluster/minio}
trap '"$MINIO" start >/dev/null 2>&1' EXIT
pending_uploads() {
  aws_s3 s3api list-multipart-uploads --bucket "$BUCKET" --prefix "$PREFIX/" \
    --query 'length(Uploads || `[]`)' --output text
}
# Big enough that MinIO stops while the upload is in flight: on a 2-core EPYC a 400 MiB upload at
# concurrency 2 was done in under 1 s, so the stop comes 0.3 s after the start.
head -c $((600 * 1024 * 1024)) /dev/urandom >big
export PODFLOW_S3_PART_SIZE_MB=5 PODFLOW_S3_CONCURRENCY=2

# 1. Stopped for 5 s mid-upload, then back: the retries carry the upload through.
"$TOOL" put "$URL" retried/big big 2>retried.err &
upload=$!
sleep 0.3
if kill -0 "$upload" 2>/dev/null; then pass "the upload is still running when MinIO stops"; else fail "the upload finished before MinIO stopped (make the file bigger)"; fi
"$MINIO" stop >/dev/null
sleep 5
"$MINIO" start >/dev/null
# still going once MinIO is back: the outage hit it, so what follows is the retries' doing
if kill -0 "$upload" 2>/dev/null; then pass "the upload was still retrying when MinIO came back"; else fail "the upload ended while MinIO was down, so no retry carried it"; fi
wait "$upload"
check "the interrupted upload completes after MinIO is back (exit 0)" test $? -eq 0
"$TOOL" get "$URL" retried/big copy
check "and the object is the file, byte for byte" cmp -s big copy
rm -f copy
check "no multipart upload is left pending" test "$(pending_uploads)" = 0

# 2. Stopped for longer than the retry budget: a clear error, nothing left behind.
PODFLOW_S3_RETRY_SECONDS=3 PODFLOW_S3_CONCURRENCY=1 "$TOOL" put "$URL" gaveup/big big 2>gaveup.err &
upload=$!
sleep 0.3
if kill -0 "$upload" 2>/dev/null; then pass "the second upload is running when MinIO stops"; else fail "the second upload finished before MinIO stopped"; fi
"$MINIO" stop >/dev/null
wait "$upload"
check "the upload fails when MinIO stays down past PODFLOW_S3_RETRY_SECONDS" test $? -ne 0
check "with a message that says what failed and what to do" \
  grep -q "cannot upload big to s3://$BUCKET/$PREFIX/gaveup/big.*gave up after.*PODFLOW_S3_RETRY_SECONDS" gaveup.err
cat gaveup.err
"$MINIO" start >/dev/null
"$TOOL" head "$URL" gaveup/big
check "no object appears for the failed upload" test $? -eq 3

# 3. A run whose artifact upload is interrupted: whatever happens, no manifest points at a
# missing or partial blob.
PODFLOW_S3_RETRY_SECONDS=4 "$BIN/podflow" run "$HERE/flows/bigartifact.yaml" \
  --datastore "$URL/run" >run.out 2>&1 &
run=$!
for _ in $(seq 1 200); do  # until the upload is under way
  [ "$(pending_uploads)" != 0 ] && break
  kill -0 "$run" 2>/dev/null || break
  sleep 0.2
done
"$MINIO" stop >/dev/null
sleep 8
"$MINIO" start >/dev/null
wait "$run"
echo "podflow run exited with $? (either is fine here):"
tail -5 run.out
check "no manifest points at a missing or partial blob" \
  "$PYTHON" "$HERE/check_manifests.py" "$BUCKET" "$PREFIX/run"
finish
