#!/usr/bin/env bash
# MinIO answers signed requests from boto3 and from the awscli (put/get/list), with the
# credentials of the env file; the Secret podflow-s3 in namespace default holds them too.
source "$(dirname "$0")/common.sh"
key="cluster-test/$RANDOM$RANDOM"
podflow-python - "$key" <<'PY'
import os, sys, boto3
key = sys.argv[1]
s3 = boto3.client("s3", endpoint_url=os.environ["PODFLOW_S3_ENDPOINT"])
b = os.environ["PODFLOW_S3_BUCKET"]
s3.put_object(Bucket=b, Key=key + "/boto3.txt", Body=b"hello from boto3")
assert s3.get_object(Bucket=b, Key=key + "/boto3.txt")["Body"].read() == b"hello from boto3"
keys = [o["Key"] for o in s3.list_objects_v2(Bucket=b, Prefix=key)["Contents"]]
assert keys == [key + "/boto3.txt"], keys
print("boto3: put/get/list ok")
PY
tmp=$(mktemp -d)
echo "hello from awscli" >"$tmp/in.txt"
aws --endpoint-url "$PODFLOW_S3_ENDPOINT" s3 cp "$tmp/in.txt" "s3://$PODFLOW_S3_BUCKET/$key/awscli.txt" >/dev/null
aws --endpoint-url "$PODFLOW_S3_ENDPOINT" s3 cp "s3://$PODFLOW_S3_BUCKET/$key/awscli.txt" "$tmp/out.txt" >/dev/null
cmp "$tmp/in.txt" "$tmp/out.txt" || fail "awscli round trip differs"
listing=$(aws --endpoint-url "$PODFLOW_S3_ENDPOINT" s3 ls "s3://$PODFLOW_S3_BUCKET/$key/")
grep -q awscli.txt <<<"$listing" && grep -q boto3.txt <<<"$listing" || fail "awscli listing: $listing"
note "awscli: cp/ls ok"
# a wrong secret is refused (the signature is checked)
if AWS_SECRET_ACCESS_KEY=wrong aws --endpoint-url "$PODFLOW_S3_ENDPOINT" s3 ls "s3://$PODFLOW_S3_BUCKET/" >/dev/null 2>&1; then
	fail "a request signed with a wrong secret was accepted"
fi
aws --endpoint-url "$PODFLOW_S3_ENDPOINT" s3 rm --recursive "s3://$PODFLOW_S3_BUCKET/$key/" >/dev/null
rm -rf "$tmp"
sec() { kubectl get secret podflow-s3 -n default -o jsonpath="{.data.$1}" | base64 -d; }
[ "$(sec AWS_ACCESS_KEY_ID)" = "$AWS_ACCESS_KEY_ID" ] || fail "secret podflow-s3 AWS_ACCESS_KEY_ID differs from the env file"
[ "$(sec AWS_SECRET_ACCESS_KEY)" = "$AWS_SECRET_ACCESS_KEY" ] || fail "secret podflow-s3 AWS_SECRET_ACCESS_KEY differs"
[ "$(sec endpoint)" = "$PODFLOW_S3_ENDPOINT" ] || fail "secret podflow-s3 endpoint differs"
echo "ok: MinIO at $PODFLOW_S3_ENDPOINT answers boto3 and awscli; secret podflow-s3 matches"
