#!/usr/bin/env bash
# What podflow writes, boto3 and the awscli read byte for byte, and the reverse: small objects,
# multipart objects (podflow's parts of 5 MiB, the awscli's of 8 MiB), odd keys, listings.
source "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1

make_file() { head -c "$2" /dev/urandom >"$1"; }
make_file small 1000
make_file empty 0
make_file multi $((12 * 1024 * 1024 + 3))
make_file awsbig $((21 * 1024 * 1024 + 5))

# podflow -> awscli, boto3
export PODFLOW_S3_PART_SIZE_MB=5
for name in small empty multi; do
  "$TOOL" put "$URL" "from-podflow/$name" "$name" || fail "podflow put $name"
  aws_s3 s3 cp --quiet "$URL/from-podflow/$name" "aws-$name"
  check "awscli reads podflow's $name byte for byte" cmp -s "$name" "aws-$name"
  "$PYTHON" - "$BUCKET" "$PREFIX/from-podflow/$name" "boto-$name" <<'PY'
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["PODFLOW_S3_ENDPOINT"])
s3.download_file(sys.argv[1], sys.argv[2], sys.argv[3])
PY
  check "boto3 reads podflow's $name byte for byte" cmp -s "$name" "boto-$name"
done
key="from-podflow/dir with spaces/ünïcödé 日本 +&=.bin"
"$TOOL" put "$URL" "$key" small
aws_s3 s3 cp --quiet "$URL/$key" aws-odd
check "awscli reads podflow's key with spaces and unicode" cmp -s small aws-odd
aws_s3 s3 ls --recursive "$URL/from-podflow/" >aws-listing
check "awscli lists podflow's odd key" grep -q 'ünïcödé 日本 +&=.bin' aws-listing

# awscli, boto3 -> podflow
aws_s3 s3 cp --quiet small "$URL/from-aws/small"
aws_s3 s3 cp --quiet awsbig "$URL/from-aws/big multipart"
"$PYTHON" - "$BUCKET" "$PREFIX/from-boto3/ünï code" <<'PY'
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["PODFLOW_S3_ENDPOINT"])
s3.upload_file("multi", sys.argv[1], sys.argv[2])
PY
"$TOOL" get "$URL" "from-aws/small" pf-small
check "podflow reads the awscli's small object" cmp -s small pf-small
"$TOOL" get "$URL" "from-aws/big multipart" pf-big
check "podflow reads the awscli's multipart object (ranged, parallel)" cmp -s awsbig pf-big
"$TOOL" get "$URL" "from-boto3/ünï code" pf-boto
check "podflow reads boto3's object under a unicode key" cmp -s multi pf-boto
"$TOOL" cat "$URL" "from-aws/small" >pf-cat
check "podflow get_bytes equals the awscli's object" cmp -s small pf-cat
listing=$("$TOOL" ls "$URL" "")
check "podflow lists what the awscli and boto3 wrote" \
  grep -qxF "$((21 * 1024 * 1024 + 5)) from-aws/big multipart" <<<"$listing"
check "podflow lists boto3's unicode key" grep -qxF "$((12 * 1024 * 1024 + 3)) from-boto3/ünï code" <<<"$listing"
check "podflow lists its own keys too" grep -qxF "0 from-podflow/empty" <<<"$listing"

# The datastore layout is browsable: a blob's key is its sha256.
mkdir -p outputs && cp multi outputs/model.bin
"$TOOL" store "$URL" flow outputs >stored
sha=$(cut -d' ' -f1 stored)
check "a blob is named by its sha256" test "$sha" = "$(sha256sum multi | cut -d' ' -f1)"
aws_s3 s3 cp --quiet "$URL/flow/data/${sha:0:2}/$sha" blob
check "the awscli reads a blob at <flow>/data/<sha[0:2]>/<sha>" cmp -s multi blob
finish
