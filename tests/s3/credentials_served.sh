#!/usr/bin/env bash
# Keyless S3 through the two credential sources that have no real server on this machine:
# container credentials (ECS, EKS Pod Identity) and the EC2 instance role through IMDSv2, each
# served by credentials_server.py speaking the documented protocol. Its credentials are real
# (MinIO STS, sts_minio.sh) but advertised to expire 4 s after they are issued, and MinIO's audit
# log tells the server whether any request was signed with credentials past that: a run three
# times longer than their lifetime must refresh in time, in one process (soak) and in a flow run
# (the CLI and each runtime).
#   credentials_served.sh container|imds
source "$(dirname "$0")/lib.sh"
source "$HERE/sts_minio.sh"
source "$HERE/credentials_flow.sh"
MODE=${1:?usage: credentials_served.sh container|imds}
trap stop_sts_minio EXIT
cd "$WORK" || exit 1
if ! start_sts_minio; then
  fail "a MinIO of the test's own starts"
  finish
  exit 1
fi
AUTHORIZATION="Bearer podflow-test-$RANDOM$RANDOM"
printf '%s\n' "$AUTHORIZATION" >authorization
start_credentials_server "$MODE" --lifetime 4 --token "$AUTHORIZATION" || exit 1
SERVER=http://127.0.0.1:$CREDENTIALS_PORT
if [ "$MODE" = container ]; then
  source_env=(AWS_CONTAINER_CREDENTIALS_FULL_URI="$SERVER/v1/credentials"
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$WORK/authorization")
else
  source_env=(AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="$SERVER")
fi
# keyless sets AWS_EC2_METADATA_DISABLED=true; the IMDS case turns it back on after it.
served() { keyless env "${source_env[@]}" PODFLOW_S3_CREDENTIALS_REFRESH_SECONDS=2 "$@"; }

check "$MODE credentials, no keys: write an object" served "$TOOL" write "$STS_URL" hello served
check "$MODE credentials, no keys: read it back" test "$(served "$TOOL" cat "$STS_URL" hello)" = served
served "$TOOL" soak "$STS_URL" 12 >soak.out 2>&1
status=$?
cat soak.out
check "$MODE: one process working 12 s on 4 s credentials succeeds" test $status -eq 0
write_flow flow.yaml
served "$BIN/podflow" run flow.yaml --datastore "$STS_URL/flow" >run.out 2>&1
status=$?
tail -3 run.out
check "$MODE: a 12 s flow run on 4 s credentials succeeds" test $status -eq 0
served "$BIN/podflow" logs 1/end --datastore "$STS_URL/flow" >end.log 2>&1
check "$MODE: podflow logs reads the run back" test "$(cat end.log)" = "$(printf 'first\nsecond')"

report=$(credentials_report)
echo "credentials server: $report"
check "$MODE: credentials were fetched again as they expired (issued > 6)" \
  test "$(report_field "$report" "['issued']")" -gt 6
check "$MODE: MinIO's audit saw the requests signed with them" \
  test "$(report_field "$report" "['s3_requests']")" -gt 20
check "$MODE: no request was signed with expired credentials" \
  test "$(report_field "$report" "['late_requests']")" = "[]"
check "$MODE: every request followed the protocol" test "$(report_field "$report" "['rejected']")" = "[]"

if [ "$MODE" = container ]; then
  printf 'Bearer wrong\n' >wrong-authorization
  keyless env "${source_env[@]}" AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$WORK/wrong-authorization" \
    "$TOOL" cat "$STS_URL" hello >refused.out 2>&1
  cat refused.out
  check "a wrong authorization token: the error says so" grep -q "the authorization token was refused" refused.out
  check "...and does not show it" bash -c "! grep -q 'Bearer wrong' refused.out"
else
  keyless env AWS_EC2_METADATA_SERVICE_ENDPOINT="$SERVER" "$TOOL" cat "$STS_URL" hello >disabled.out 2>&1
  cat disabled.out
  check "AWS_EC2_METADATA_DISABLED=true: IMDS is not asked, and the error lists every source" \
    grep -q "EC2 instance metadata (IMDSv2): AWS_EC2_METADATA_DISABLED=true" disabled.out
fi
stop_sts_minio
finish
