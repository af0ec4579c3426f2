#!/usr/bin/env bash
# Keyless S3 through web identity, as on EKS with IRSA, against a real STS: a MinIO of the test's
# own whose OpenID provider is the test cluster's API server (sts_minio.sh). With no static key
# anywhere in the environment:
#   - AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE (a token from `kubectl create token`) reads and
#     writes objects and runs a flow locally (the CLI and every podflow-runtime use the chain);
#   - a profile with role_arn + web_identity_token_file, and one with role_arn + source_profile
#     (STS AssumeRole signed with the source profile's keys), do the same;
#   - credentials are refreshed mid-run: the irsa profile asks for 900 s credentials (MinIO's
#     minimum, duration_seconds) and PODFLOW_S3_CREDENTIALS_REFRESH_SECONDS=897 makes them count
#     as stale 3 s after they are issued, so one process
#     working for 12 s must go back to STS several times (MinIO's audit log shows each new access
#     key signing requests);
#   - a token STS refuses gives an error naming the source, the endpoint and the role, not the
#     token;
#   - a pod on the process node with a projected service-account token and no keys runs a flow.
source "$(dirname "$0")/lib.sh"
source "$HERE/sts_minio.sh"
source "$HERE/credentials_flow.sh"
NS=podflow-s3-creds-$$
cleanup() {
  stop_sts_minio
  kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1
  kubectl delete clusterrolebinding podflow-s3-tests-issuer-discovery >/dev/null 2>&1
}
trap cleanup EXIT
cd "$WORK" || exit 1
if ! start_sts_minio oidc; then
  fail "a MinIO with STS trusting the cluster's service-account issuer starts"
  finish
  exit 1
fi
start_credentials_server audit || exit 1
kubectl create namespace "$NS" >/dev/null
kubectl create serviceaccount flow-runner -n "$NS" >/dev/null
kubectl create token flow-runner -n "$NS" --audience sts.amazonaws.com --duration 1h >token
web_identity=(AWS_ROLE_ARN="$ROLE_ARN" AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/token"
  AWS_ENDPOINT_URL_STS="$STS_ENDPOINT")

check "web identity, no keys: write an object" keyless env "${web_identity[@]}" "$TOOL" write "$STS_URL" hello keyless
check "web identity, no keys: read it back" \
  test "$(keyless env "${web_identity[@]}" "$TOOL" cat "$STS_URL" hello)" = keyless
write_flow flow.yaml
keyless env "${web_identity[@]}" "$BIN/podflow" run flow.yaml --datastore "$STS_URL/local" >run.out 2>&1
status=$?
tail -3 run.out
check "web identity, no keys: podflow run (CLI and runtimes) succeeds" test $status -eq 0
keyless env "${web_identity[@]}" "$BIN/podflow" logs 1/end --datastore "$STS_URL/local" >end.log 2>&1
check "web identity: podflow logs reads the run back" test "$(cat end.log)" = "$(printf 'first\nsecond')"
check "the run's objects are in the STS MinIO's bucket" \
  sts_root aws --endpoint-url "$STS_ENDPOINT" s3 ls "$STS_URL/local/_runs/1.json"

# A token for another audience: refused by STS, and said so without the token.
kubectl create token flow-runner -n "$NS" --audience someone-else --duration 1h >wrong-token
keyless env "${web_identity[@]}" AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/wrong-token" \
  "$TOOL" cat "$STS_URL" hello >refused.out 2>&1
cat refused.out
check "a refused token: the error names web identity" grep -q "cannot get S3 credentials from web identity" refused.out
check "a refused token: the error names the STS call, endpoint and role" \
  grep -qF "STS AssumeRoleWithWebIdentity at $STS_ENDPOINT (AWS_ENDPOINT_URL_STS) for role $ROLE_ARN answered HTTP 400" refused.out
check "a refused token: the token is not in the message" bash -c "! grep -qF '$(cut -c1-40 wrong-token)' refused.out"

# Profiles: role_arn + web_identity_token_file, role_arn + source_profile.
mkdir -p home/.aws
cat >home/.aws/config <<INI
[profile irsa]
role_arn = $ROLE_ARN
web_identity_token_file = $WORK/token
duration_seconds = 900
[profile base]
aws_access_key_id = $STS_ROOT_KEY
aws_secret_access_key = $STS_ROOT_SECRET
[profile ci]
role_arn = arn:aws:iam::000000000000:role/podflow-ci
source_profile = base
role_session_name = podflow-ci-test
INI
check "profile with role_arn + web_identity_token_file reads the object" \
  test "$(keyless env AWS_PROFILE=irsa AWS_ENDPOINT_URL_STS="$STS_ENDPOINT" "$TOOL" cat "$STS_URL" hello)" = keyless
before=$(report_field "$(credentials_report)" "['api_calls'].get('AssumeRole', 0)")
check "profile with role_arn + source_profile reads the object" \
  test "$(keyless env AWS_PROFILE=ci AWS_ENDPOINT_URL_STS="$STS_ENDPOINT" "$TOOL" cat "$STS_URL" hello)" = keyless
after=$(report_field "$(credentials_report)" "['api_calls'].get('AssumeRole', 0)")
check "...through STS AssumeRole ($before -> $after calls)" test "$after" -gt "$before"

# Refresh mid-run in one process.
before=$(report_field "$(credentials_report)" "['keys_seen']")
keyless env AWS_PROFILE=irsa AWS_ENDPOINT_URL_STS="$STS_ENDPOINT" PODFLOW_S3_CREDENTIALS_REFRESH_SECONDS=897 \
  "$TOOL" soak "$STS_URL" 12 >soak.out 2>&1
status=$?
after=$(report_field "$(credentials_report)" "['keys_seen']")
echo "soak: $(cat soak.out) round trips; distinct access keys seen by MinIO $before -> $after"
check "a 12 s session with credentials stale after 3 s succeeds" test $status -eq 0
check "...and signed with at least 3 successive credentials from STS" test $((after - before)) -ge 3

# A pod on the process node: projected token, no keys, runs a flow.
V=/var/tmp/podflow-s3-credentials-$$
kubectl apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: keyless-flow
spec:
  restartPolicy: Never
  nodeSelector: {type: process}
  serviceAccountName: flow-runner
  automountServiceAccountToken: false
  volumes:
  - name: aws-token
    projected:
      sources:
      - serviceAccountToken: {audience: sts.amazonaws.com, expirationSeconds: 3600, path: token}
  containers:
  - name: main
    image: podflow
    command: [sh, -c, 'env | grep -c "^AWS_ACCESS_KEY_ID=" ; cd "\$WORK_DIR" && podflow run flow.yaml --datastore "\$STS_URL/pod" && podflow logs 1/end --datastore "\$STS_URL/pod"']
    env:
    - {name: AWS_ROLE_ARN, value: "$ROLE_ARN"}
    - {name: AWS_WEB_IDENTITY_TOKEN_FILE, value: "$V/token/token"}
    - {name: AWS_ENDPOINT_URL_STS, value: "$STS_ENDPOINT"}
    - {name: PODFLOW_S3_ENDPOINT, value: "$STS_ENDPOINT"}
    - {name: AWS_EC2_METADATA_DISABLED, value: "true"}
    - {name: STS_URL, value: "$STS_URL"}
    - {name: WORK_DIR, value: "$WORK"}
    volumeMounts:
    - {name: aws-token, mountPath: $V/token, readOnly: true}
YAML
phase=
for _ in $(seq 1 120); do
  phase=$(kubectl get pod keyless-flow -n "$NS" -o jsonpath='{.status.phase}' 2>/dev/null)
  [ "$phase" = Succeeded ] || [ "$phase" = Failed ] && break
  sleep 1
done
kubectl logs keyless-flow -n "$NS" >pod.log 2>&1
tail -5 pod.log
check "a pod with a projected token and no keys runs a flow (phase $phase)" test "$phase" = Succeeded
check "...with no AWS_ACCESS_KEY_ID in its environment" test "$(head -1 pod.log)" = 0
check "...and reads its result back" grep -q "^second$" pod.log
cleanup
finish
