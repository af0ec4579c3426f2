#!/usr/bin/env bash
# HTTPS: a MinIO of this test's own, with a certificate from a CA made here. Without
# AWS_CA_BUNDLE the certificate is refused (verification is on by default) with a message that
# names AWS_CA_BUNDLE; with it, objects round-trip; a certificate for another host name is
# refused even with the CA trusted.
source "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1
MINIO_BIN=$(command -v minio) || { fail "no minio on PATH (\$PODFLOW_CLUSTER_DIR/bin)"; finish; exit 1; }
PORT=${PODFLOW_TLS_MINIO_PORT:-27960}

# A CA and two server certificates: one for 127.0.0.1, one for another name only.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=podflow-test-ca \
  -keyout ca.key -out ca.pem 2>/dev/null
server_cert() {  # server_cert DIR SAN
  mkdir -p "$1"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=minio \
    -keyout "$1/private.key" -out "$1/req.csr" 2>/dev/null
  printf 'subjectAltName=%s\n' "$2" >"$1/ext"
  openssl x509 -req -in "$1/req.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
    -extfile "$1/ext" -out "$1/public.crt" 2>/dev/null
}
server_cert certs-good "IP:127.0.0.1"
server_cert certs-wrong "DNS:not-this-host.example"

minio_pid=
start_minio() {  # start_minio CERTDIR
  [ -n "$minio_pid" ] && kill "$minio_pid" && wait "$minio_pid" 2>/dev/null
  MINIO_ROOT_USER=$AWS_ACCESS_KEY_ID MINIO_ROOT_PASSWORD=$AWS_SECRET_ACCESS_KEY MINIO_BROWSER=off \
    MINIO_UPDATE=off MINIO_CI_CD=1 "$MINIO_BIN" server --quiet --address "127.0.0.1:$PORT" \
    --certs-dir "$WORK/$1" "$WORK/data" >>minio.log 2>&1 &
  minio_pid=$!
  for _ in $(seq 1 150); do
    curl -fsk "https://127.0.0.1:$PORT/minio/health/ready" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "the TLS MinIO did not start"; tail minio.log
}
trap '[ -n "$minio_pid" ] && kill "$minio_pid" 2>/dev/null' EXIT
start_minio certs-good
curl -fsS --cacert ca.pem -X PUT "https://127.0.0.1:$PORT/tls-test" >/dev/null 2>&1 ||
  AWS_CA_BUNDLE=$WORK/ca.pem aws --endpoint-url "https://127.0.0.1:$PORT" s3 mb s3://tls-test >/dev/null

export PODFLOW_S3_ENDPOINT=https://127.0.0.1:$PORT PODFLOW_S3_RETRY_SECONDS=5
TLS_URL=s3://tls-test/p
"$TOOL" write "$TLS_URL" k "over tls" 2>untrusted.err
check "an untrusted certificate is refused by default" test $? -ne 0
check "and the message says to set AWS_CA_BUNDLE" grep -q "AWS_CA_BUNDLE" untrusted.err
cat untrusted.err

export AWS_CA_BUNDLE=$WORK/ca.pem
"$TOOL" write "$TLS_URL" k "over tls"
check "with AWS_CA_BUNDLE, a put over HTTPS works" test $? -eq 0
check "and the object reads back" test "$("$TOOL" cat "$TLS_URL" k)" = "over tls"
head -c $((11 * 1024 * 1024)) /dev/urandom >big
PODFLOW_S3_PART_SIZE_MB=5 "$TOOL" put "$TLS_URL" big big && "$TOOL" get "$TLS_URL" big big.copy
check "a multipart upload and a ranged download over HTTPS" cmp -s big big.copy

start_minio certs-wrong
"$TOOL" cat "$TLS_URL" k 2>wrong-host.err
check "a certificate for another host name is refused, even from a trusted CA" test $? -ne 0
cat wrong-host.err
AWS_CA_BUNDLE=$WORK/missing.pem "$TOOL" cat "$TLS_URL" k 2>missing.err
check "a missing CA bundle file is named" grep -q "cannot read the CA bundle AWS_CA_BUNDLE=$WORK/missing.pem" missing.err
finish
