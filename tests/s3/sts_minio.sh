# Sourced by the credentials_*.sh tests after lib.sh: a MinIO of their own (the cluster's pinned
# binary) on 127.0.0.1:$STS_PORT with a bucket, whose audit log goes to the test's credentials
# server (credentials_server.py on $CREDENTIALS_PORT), and, with `start_sts_minio oidc`, an STS
# that trusts the test cluster's service-account issuer as its OpenID provider:
#   - MinIO fetches the API server's discovery document and keys (/.well-known/openid-configuration,
#     /openid/v1/jwks), anonymously: the test binds system:service-account-issuer-discovery to
#     system:unauthenticated (the cluster's `up` does not);
#   - it trusts the cluster's CA (certs/CAs/);
#   - tokens must have the audience sts.amazonaws.com (IRSA's), and every one of them gets the
#     readwrite policy through the role ARN MinIO prints at start ($ROLE_ARN).
# Ports: $PODFLOW_STS_MINIO_PORT (default 28210), +1 console, +2 the credentials server.
STS_PORT=${PODFLOW_STS_MINIO_PORT:-28210}
CREDENTIALS_PORT=$((STS_PORT + 2))
STS_ENDPOINT=http://127.0.0.1:$STS_PORT
STS_ROOT_KEY=podflowsts
STS_ROOT_SECRET=podflowsts-secret-key
STS_BUCKET=podflow-sts
STS_URL=s3://$STS_BUCKET/$PREFIX
ROLE_ARN=
STS_MINIO_PID=
CREDENTIALS_PID=

sts_root() { env AWS_ACCESS_KEY_ID=$STS_ROOT_KEY AWS_SECRET_ACCESS_KEY=$STS_ROOT_SECRET "$@"; }
# Runs a command with no static keys in its environment, and no way to find the cluster's.
keyless() {
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
    -u PODFLOW_S3_CREDENTIALS_DIR AWS_EC2_METADATA_DISABLED=true HOME="$WORK/home" \
    PODFLOW_S3_ENDPOINT="$STS_ENDPOINT" "$@"
}

start_sts_minio() {
  local dir=$WORK/sts-minio
  mkdir -p "$dir/data" "$dir/certs/CAs" "$WORK/home"
  cp "$PODFLOW_CLUSTER_DIR/pki/ca.crt" "$dir/certs/CAs/podflow-cluster-ca.crt"
  local oidc=()
  if [ "${1:-}" = oidc ]; then
    kubectl apply -f - >/dev/null <<'YAML' || return 1
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: podflow-s3-tests-issuer-discovery
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:service-account-issuer-discovery}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:unauthenticated}
YAML
    oidc=(MINIO_IDENTITY_OPENID_CONFIG_URL="$PODFLOW_KUBE_APISERVER/.well-known/openid-configuration"
      MINIO_IDENTITY_OPENID_CLIENT_ID=sts.amazonaws.com MINIO_IDENTITY_OPENID_ROLE_POLICY=readwrite)
  fi
  env MINIO_ROOT_USER=$STS_ROOT_KEY MINIO_ROOT_PASSWORD=$STS_ROOT_SECRET MINIO_BROWSER=off \
    MINIO_UPDATE=off MINIO_CI_CD=1 "${oidc[@]}" \
    MINIO_AUDIT_WEBHOOK_ENABLE_podflow=on \
    MINIO_AUDIT_WEBHOOK_ENDPOINT_podflow="http://127.0.0.1:$CREDENTIALS_PORT/audit" \
    "$PODFLOW_CLUSTER_DIR/bin/minio" server --address "127.0.0.1:$STS_PORT" \
    --console-address "127.0.0.1:$((STS_PORT + 1))" --certs-dir "$dir/certs" "$dir/data" \
    >"$dir/minio.log" 2>&1 &
  STS_MINIO_PID=$!
  local i
  for i in $(seq 1 60); do
    curl -fsS "$STS_ENDPOINT/minio/health/live" >/dev/null 2>&1 && break
    sleep 0.5
  done
  for i in $(seq 1 20); do
    sts_root aws --endpoint-url "$STS_ENDPOINT" s3 mb "s3://$STS_BUCKET" >/dev/null 2>&1 && break
    sleep 0.5
  done
  if [ "${1:-}" = oidc ]; then
    for i in $(seq 1 40); do
      ROLE_ARN=$(grep -o 'arn:minio:iam:::role/[A-Za-z0-9_-]*' "$dir/minio.log" | head -1)
      [ -n "$ROLE_ARN" ] && break
      sleep 0.5
    done
    [ -n "$ROLE_ARN" ] || { echo "MinIO printed no role ARN:"; tail -20 "$dir/minio.log"; return 1; }
  fi
}

# start_credentials_server MODE [args...]: MODE container | imds | audit
start_credentials_server() {
  local mode=$1
  shift
  "$PYTHON" "$HERE/credentials_server.py" --port "$CREDENTIALS_PORT" --mode "$mode" \
    --minio "$STS_ENDPOINT" --root-key $STS_ROOT_KEY --root-secret $STS_ROOT_SECRET "$@" \
    >"$WORK/credentials-server.log" 2>&1 &
  CREDENTIALS_PID=$!
  local i
  for i in $(seq 1 40); do
    curl -fsS "http://127.0.0.1:$CREDENTIALS_PORT/report" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  echo "the credentials server did not start:"
  cat "$WORK/credentials-server.log"
  return 1
}

# report FIELD: one field of the credentials server's report (after MinIO's audit caught up).
credentials_report() {
  sleep 2  # MinIO sends audit entries asynchronously
  curl -fsS "http://127.0.0.1:$CREDENTIALS_PORT/report"
}
report_field() { "$PYTHON" -c "import json,sys; print(json.loads(sys.argv[1])$2)" "$1"; }

stop_sts_minio() {
  [ -n "$CREDENTIALS_PID" ] && kill "$CREDENTIALS_PID" 2>/dev/null && wait "$CREDENTIALS_PID" 2>/dev/null
  [ -n "$STS_MINIO_PID" ] && kill "$STS_MINIO_PID" 2>/dev/null && wait "$STS_MINIO_PID" 2>/dev/null
  CREDENTIALS_PID=
  STS_MINIO_PID=
}
