#!/usr/bin/env bash
# tests/cluster/minio stop|start: S3 is refused while stopped and serves the old data after.
source "$(dirname "$0")/common.sh"
M=$(dirname "$0")/../minio
key="stop-start/$RANDOM$RANDOM.txt"
echo persisted | aws --endpoint-url "$PODFLOW_S3_ENDPOINT" s3 cp - "s3://$PODFLOW_S3_BUCKET/$key" >/dev/null
"$M" stop
trap '"$M" start >/dev/null 2>&1 || true' EXIT
if curl -fsS --max-time 3 "$PODFLOW_S3_ENDPOINT/minio/health/live" >/dev/null 2>&1; then
	fail "MinIO still answers after stop"
fi
"$M" start
got=$(aws --endpoint-url "$PODFLOW_S3_ENDPOINT" s3 cp "s3://$PODFLOW_S3_BUCKET/$key" -)
[ "$got" = persisted ] || fail "after restart got '$got'"
aws --endpoint-url "$PODFLOW_S3_ENDPOINT" s3 rm "s3://$PODFLOW_S3_BUCKET/$key" >/dev/null
echo "ok: MinIO stopped (requests refused) and started again with its data"
