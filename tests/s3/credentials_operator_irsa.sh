#!/usr/bin/env bash
# Keyless S3 for an operator-run FlowRun, as on EKS with IRSA: `helm install charts/podflow` with
# s3.credentials.keyless (a role ARN, the task ServiceAccount, the operator's STS endpoint), no
# static key anywhere (no Secret, no --s3-credentials-secret, nothing in any pod's environment),
# and the STS MinIO of sts_minio.sh trusting the test cluster's service-account issuer.
#
# EKS's pod identity webhook is imitated by a MutatingAdmissionPolicy (GA in Kubernetes 1.36; no
# API-server flag needed): for a pod whose ServiceAccount carries eks.amazonaws.com/role-arn (the
# policy's params are the ServiceAccounts of the pod's namespace), it adds what the webhook adds,
# AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_STS_REGIONAL_ENDPOINTS and a projected token of
# audience sts.amazonaws.com at /var/run/secrets/eks.amazonaws.com/serviceaccount, plus
# AWS_ENDPOINT_URL_STS (this STS is not AWS's; on EKS none is needed) unless the pod has one. So
# the chart's IRSA annotations on the operator's and the task ServiceAccounts decide who gets a
# role. The binding matches only this test's two namespaces.
#
# The operator runs on the process node (a process of this machine: $PODFLOW_BIN/podflow-operator)
# as the chart's Deployment, with its own role; the task pods run there too ($PODFLOW_BIN's
# podflow-runtime). The process node bind-mounts the token directory at its mountPath, so the
# first run leaves an empty /var/run/secrets/eks.amazonaws.com/serviceaccount on this machine.
#   - FlowRun A (steps run as the task ServiceAccount through the flow's `serviceAccount:`): start
#     and middle pass an artifact through S3, end fails on purpose;
#   - FlowRun B resumes A: the operator itself copies A's committed tasks in S3 (with its role),
#     and B runs end, which reads middle's artifact;
#   - FlowRun C of a flow without the ServiceAccount: no role, so its first task fails with the
#     chain's "no S3 credentials found";
#   - MinIO's audit log shows a new access key (from STS) for each task process and the
#     operator.
source "$(dirname "$0")/lib.sh"
source "$HERE/sts_minio.sh"
SUFFIX=$$$RANDOM
REL=podflow-irsa-$SUFFIX # the release (operator) namespace
RUNS=$REL-runs           # where the FlowRuns run
RELEASE=irsa
DEPLOY=$RELEASE-podflow
TASK_SA=$RELEASE-podflow-task
POLICY=podflow-test-irsa-$SUFFIX
WEBHOOK_LABEL=podflow.dev/test-irsa-webhook
TOKEN_DIR=/var/run/secrets/eks.amazonaws.com/serviceaccount
cleanup() {
  trap - EXIT
  helm uninstall "$RELEASE" -n "$REL" --wait --timeout 60s >/dev/null 2>&1
  kubectl delete mutatingadmissionpolicybinding "$POLICY" >/dev/null 2>&1
  kubectl delete mutatingadmissionpolicy "$POLICY" >/dev/null 2>&1
  kubectl delete namespace "$RUNS" "$REL" --wait=false >/dev/null 2>&1
  kubectl delete clusterrolebinding podflow-s3-tests-issuer-discovery >/dev/null 2>&1
  stop_sts_minio
}
trap cleanup EXIT
cd "$WORK" || exit 1
# fatal WHAT: a failed step the rest depends on
fatal() {
  fail "$*"
  echo "--- pods of $REL and $RUNS"
  kubectl get pods -n "$REL" -o wide 2>&1
  kubectl get flowruns,tasks,pods -n "$RUNS" 2>&1
  echo "--- operator log"
  kubectl logs -n "$REL" "deployment/$DEPLOY" --tail=30 2>&1
  cleanup
  finish
  exit 1
}
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_for SECONDS COMMAND...: polls until the command succeeds
wait_for() {
  local end=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.5
  done
}
flowrun_phase() { kubectl get flowrun "$1" -n "$RUNS" -o jsonpath='{.status.phase}' 2>/dev/null; }
flowrun_done() { [[ "$(flowrun_phase "$1")" =~ ^(Succeeded|Failed)$ ]]; }
# distinct access keys that signed requests to the STS MinIO (each AssumeRoleWithWebIdentity
# gives a new one)
keys_seen() { report_field "$(credentials_report)" "['keys_seen']"; }
# pod_env POD NAME: the value of env NAME in the pod's (first) container spec, or "unset"
pod_env() {
  kubectl get pod "$1" -n "${3:-$RUNS}" -o json | "$PYTHON" -c '
import json, sys
pod = json.load(sys.stdin)
env = {e["name"]: e.get("value", "(valueFrom)") for e in pod["spec"]["containers"][0].get("env", [])}
print(env.get(sys.argv[1], "unset"))' "$2"
}
# pod_token_volume POD [NS]: "audience path mountPath" of the projected token the policy adds
pod_token_volume() {
  kubectl get pod "$1" -n "${2:-$RUNS}" -o json | "$PYTHON" -c '
import json, sys
spec = json.load(sys.stdin)["spec"]
volume = [v for v in spec.get("volumes", []) if v["name"] == "aws-iam-token"]
mounts = [m["mountPath"] for m in spec["containers"][0].get("volumeMounts", []) if m["name"] == "aws-iam-token"]
if volume and mounts:
    token = volume[0]["projected"]["sources"][0]["serviceAccountToken"]
    print(token["audience"], token["path"], mounts[0])'
}
# no_keys_in POD [NS]: nothing in the pod's spec gives it static keys
no_keys_in() {
  kubectl get pod "$1" -n "${2:-$RUNS}" -o json | "$PYTHON" -c '
import json, sys
spec = json.load(sys.stdin)["spec"]
for c in spec["containers"] + spec.get("initContainers", []):
    names = {e["name"] for e in c.get("env", [])}
    assert not names & {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                        "PODFLOW_S3_CREDENTIALS_DIR"}, names
    assert not c.get("envFrom"), c.get("envFrom")
assert not [v for v in spec.get("volumes", []) if "secret" in v], spec.get("volumes")'
}

note() { echo "[$(date +%H:%M:%S)] $*"; }
note "STS MinIO trusting the cluster's issuer"
start_sts_minio oidc || fatal "a MinIO with STS trusting the cluster's service-account issuer starts"
start_credentials_server audit || fatal "the audit server starts"

note "namespaces, and the admission policy standing in for EKS's pod identity webhook"
kubectl create namespace "$REL" >/dev/null && kubectl create namespace "$RUNS" >/dev/null ||
  fatal "create the namespaces"
kubectl label namespace "$REL" pod-security.kubernetes.io/enforce=restricted "$WEBHOOK_LABEL=$SUFFIX" >/dev/null
kubectl label namespace "$RUNS" "$WEBHOOK_LABEL=$SUFFIX" >/dev/null
kubectl apply -f - >/dev/null <<YAML || fatal "the MutatingAdmissionPolicy is accepted"
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata:
  name: $POLICY
spec:
  # evaluated once per ServiceAccount of the pod's namespace (the binding's paramRef selects them
  # all); only the pod's own account with the IRSA annotation gives it a role
  paramKind: {apiVersion: v1, kind: ServiceAccount}
  failurePolicy: Fail
  reinvocationPolicy: Never
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [pods]
  variables:
  - name: role
    expression: >-
      has(object.spec.serviceAccountName) && params.metadata.name == object.spec.serviceAccountName &&
      has(params.metadata.annotations) && 'eks.amazonaws.com/role-arn' in params.metadata.annotations
      ? params.metadata.annotations['eks.amazonaws.com/role-arn'] : ''
  - name: containers # indexes of the pod's containers (a JSON patch names them by index)
    expression: "[0, 1, 2, 3, 4, 5, 6, 7].filter(i, i < size(object.spec.containers))"
  # JSON patches: an apply configuration may not set the projected volume's sources (an atomic
  # list). Lists the pod lacks are made empty first; then each item is appended.
  mutations:
  - patchType: JSONPatch
    jsonPatch:
      expression: >-
        variables.role == '' ? [] :
        (has(object.spec.volumes) ? [] : [JSONPatch{op: "add", path: "/spec/volumes", value: []}]) +
        [JSONPatch{op: "add", path: "/spec/volumes/-", value: Object.spec.volumes{
          name: "aws-iam-token", projected: Object.spec.volumes.projected{defaultMode: 420,
            sources: [Object.spec.volumes.projected.sources{serviceAccountToken:
              Object.spec.volumes.projected.sources.serviceAccountToken{
                audience: "sts.amazonaws.com", expirationSeconds: 86400, path: "token"}}]}}}] +
        variables.containers.filter(i, !has(object.spec.containers[i].env)).map(i,
          JSONPatch{op: "add", path: "/spec/containers/" + string(i) + "/env", value: []}) +
        variables.containers.filter(i, !has(object.spec.containers[i].volumeMounts)).map(i,
          JSONPatch{op: "add", path: "/spec/containers/" + string(i) + "/volumeMounts", value: []}) +
        variables.containers.map(i, JSONPatch{op: "add", path: "/spec/containers/" + string(i) + "/env/-",
          value: Object.spec.containers.env{name: "AWS_STS_REGIONAL_ENDPOINTS", value: "regional"}}) +
        variables.containers.map(i, JSONPatch{op: "add", path: "/spec/containers/" + string(i) + "/env/-",
          value: Object.spec.containers.env{name: "AWS_ROLE_ARN", value: variables.role}}) +
        variables.containers.map(i, JSONPatch{op: "add", path: "/spec/containers/" + string(i) + "/env/-",
          value: Object.spec.containers.env{name: "AWS_WEB_IDENTITY_TOKEN_FILE", value: "$TOKEN_DIR/token"}}) +
        variables.containers.filter(i, !has(object.spec.containers[i].env) ||
            !object.spec.containers[i].env.exists(e, e.name == "AWS_ENDPOINT_URL_STS")).map(i,
          JSONPatch{op: "add", path: "/spec/containers/" + string(i) + "/env/-",
            value: Object.spec.containers.env{name: "AWS_ENDPOINT_URL_STS", value: "$STS_ENDPOINT"}}) +
        variables.containers.map(i, JSONPatch{op: "add",
          path: "/spec/containers/" + string(i) + "/volumeMounts/-",
          value: Object.spec.containers.volumeMounts{name: "aws-iam-token", mountPath: "$TOKEN_DIR",
            readOnly: true}})
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata:
  name: $POLICY
spec:
  policyName: $POLICY
  paramRef: {selector: {}, parameterNotFoundAction: Allow}
  matchResources:
    namespaceSelector: {matchLabels: {$WEBHOOK_LABEL: "$SUFFIX"}}
YAML
kubectl create serviceaccount probe -n "$RUNS" >/dev/null
kubectl annotate serviceaccount probe -n "$RUNS" "eks.amazonaws.com/role-arn=$ROLE_ARN" >/dev/null
# probe_pod SA: a server-side dry run of a pod running as SA; prints its AWS_ROLE_ARN or nothing
probe_pod() {
  kubectl run probe -n "$RUNS" --image=podflow --restart=Never --dry-run=server -o json \
    --overrides="{\"spec\": {\"serviceAccountName\": \"$1\"}}" -- true |
    "$PYTHON" -c 'import json, sys
env = json.load(sys.stdin)["spec"]["containers"][0].get("env", [])
print("".join(e["value"] for e in env if e["name"] == "AWS_ROLE_ARN"))'
}
role=
for _ in $(seq 1 60); do
  role=$(probe_pod probe 2>/dev/null)
  [ -n "$role" ] && break
  sleep 0.5
done
check "the policy gives a pod of an annotated ServiceAccount its role" test "$role" = "$ROLE_ARN"
check "...and none to a pod of an account without the annotation" test -z "$(probe_pod default)"

note "helm install: keyless, the operator on the process node"
METRICS_PORT=$(free_port)
HEALTH_PORT=$(free_port)
cat >values.yaml <<YAML
image: {repository: ignored.invalid/podflow, tag: test}
nodeSelector: {type: process}
terminationGracePeriodSeconds: 5
metrics: {port: $METRICS_PORT}
health: {port: $HEALTH_PORT}
watchNamespaces: [$RUNS]
# the binaries of the build under test (not the node's PATH, which may be another build's)
operator: {logFormat: text, command: [$BIN/podflow-operator], runtimeCommand: $BIN/podflow-runtime}
s3:
  bucket: $STS_BUCKET
  prefix: $PREFIX
  endpoint: $STS_ENDPOINT
  region: us-east-1
  credentials:
    keyless:
      roleArn: $ROLE_ARN
      stsEndpoint: $STS_ENDPOINT
      taskServiceAccount: {create: true}
YAML
helm install "$RELEASE" "$SOURCE_DIR/charts/podflow" -n "$REL" -f values.yaml --wait --timeout 120s \
  >helm.out 2>&1 || { cat helm.out; fatal "helm install with s3.credentials.keyless"; }
manifest=$(helm get manifest "$RELEASE" -n "$REL")
check "the release has no Secret" bash -c "! grep -q '^kind: Secret' <<<\"\$1\"" _ "$manifest"
check "...and the operator no --s3-credentials-secret" bash -c "! grep -q -- '--s3-credentials-secret' <<<\"\$1\"" _ "$manifest"
check "the task ServiceAccount $TASK_SA in $RUNS carries the role" test \
  "$(kubectl get serviceaccount "$TASK_SA" -n "$RUNS" -o jsonpath='{.metadata.annotations.eks\.amazonaws\.com/role-arn}')" = "$ROLE_ARN"
operator_pod() { kubectl get pods -n "$REL" -l "app.kubernetes.io/instance=$RELEASE" -o jsonpath='{.items[0].metadata.name}'; }
pod=$(operator_pod)
if [ "$(pod_env "$pod" AWS_ROLE_ARN "$REL")" != "$ROLE_ARN" ]; then
  # As with EKS's webhook, a pod created before the policy's informer saw its ServiceAccount
  # (helm creates both at once) gets no role: restart it once.
  echo "the operator's pod was admitted before the policy saw its ServiceAccount; restarting it"
  kubectl rollout restart "deployment/$DEPLOY" -n "$REL" >/dev/null
  kubectl rollout status "deployment/$DEPLOY" -n "$REL" --timeout=90s >/dev/null
  wait_for 30 bash -c "[ \"\$(kubectl get pods -n $REL -l app.kubernetes.io/instance=$RELEASE -o name | wc -l)\" = 1 ]"
  pod=$(operator_pod)
fi
check "the operator's pod has the role of its ServiceAccount" test "$(pod_env "$pod" AWS_ROLE_ARN "$REL")" = "$ROLE_ARN"
check "...the projected token (audience sts.amazonaws.com)" \
  test "$(pod_token_volume "$pod" "$REL")" = "sts.amazonaws.com token $TOKEN_DIR"
check "...the chart's STS endpoint" test "$(pod_env "$pod" AWS_ENDPOINT_URL_STS "$REL")" = "$STS_ENDPOINT"
check "...and no static keys" no_keys_in "$pod" "$REL"
wait_for 60 bash -c "kubectl logs -n $REL $pod | grep -q 'starting the controllers'" ||
  fatal "the operator starts its controllers"

note "FlowRun A: tasks as $TASK_SA; start and middle commit, end fails on purpose"
# each step prints how many static keys its environment holds and whether the token is there
cat >flow.yaml <<YAML
apiVersion: podflow.dev/v1alpha1
kind: Flow
metadata:
  name: keyless
spec:
  parameters:
    - {name: endexit, type: integer, default: 0}
  defaults:
    serviceAccount: $TASK_SA
  steps:
    - name: start
      command: [sh, -c, 'env | grep -c "^AWS_ACCESS_KEY_ID=" ; test -s "\$AWS_WEB_IDENTITY_TOKEN_FILE" && echo token; echo first > "\$PODFLOW_OUTPUTS/word"']
      next: [middle]
    - name: middle
      command: [sh, -c, '{ cat "\$PODFLOW_INPUTS/word"; echo second; } > "\$PODFLOW_OUTPUTS/word"']
      next: [end]
    - name: end
      command: [sh, -c, 'cat "\$PODFLOW_INPUTS/word"; exit \$PODFLOW_PARAM_ENDEXIT']
---
apiVersion: podflow.dev/v1alpha1
kind: Flow
metadata:
  name: no-role
spec:
  steps:
    - name: start
      command: [sh, -c, 'echo first > "\$PODFLOW_OUTPUTS/word"']
      next: [end]
    - name: end
      command: [cat, /dev/null]
YAML
kubectl apply -n "$RUNS" -f flow.yaml >/dev/null || fatal "the Flows are accepted"
keys_before=$(keys_seen)
flowrun() { # flowrun NAME FLOW [SPEC FIELDS...]
  printf 'apiVersion: podflow.dev/v1alpha1\nkind: FlowRun\nmetadata: {name: %s}\nspec: {flowRef: {name: %s}%s}\n' \
    "$1" "$2" "${3:-}" | kubectl create -n "$RUNS" -f - >/dev/null
}
flowrun a keyless ', parameters: [{name: endexit, value: "3"}]' || fatal "FlowRun a is created"
wait_for 180 flowrun_done a || fatal "FlowRun a ends"
check "FlowRun a failed at end, as asked (phase $(flowrun_phase a))" test "$(flowrun_phase a)" = Failed
check "...after start and middle succeeded" test \
  "$(kubectl get flowrun a -n "$RUNS" -o jsonpath='{.status.tasks.succeeded}')" = 2
for task in a.start a.middle a.end; do
  check "$task ran as $TASK_SA" test "$(kubectl get pod "$task" -n "$RUNS" -o jsonpath='{.spec.serviceAccountName}')" = "$TASK_SA"
  check "$task got the role from the policy" test "$(pod_env "$task" AWS_ROLE_ARN)" = "$ROLE_ARN"
  check "...the token file" test "$(pod_env "$task" AWS_WEB_IDENTITY_TOKEN_FILE)" = "$TOKEN_DIR/token"
  check "...the projected token" test "$(pod_token_volume "$task")" = "sts.amazonaws.com token $TOKEN_DIR"
  check "...the STS endpoint" test "$(pod_env "$task" AWS_ENDPOINT_URL_STS)" = "$STS_ENDPOINT"
  check "...and no static keys" no_keys_in "$task"
done
kubectl logs a.start -n "$RUNS" >start.log 2>&1
check "a.start: no AWS_ACCESS_KEY_ID in its environment, the token there" \
  test "$(head -2 start.log | tr '\n' ' ')" = "0 token "
kubectl logs a.end -n "$RUNS" >end-a.log 2>&1
check "a.end read middle's artifact from S3" grep -qx second end-a.log

note "FlowRun B resumes A: the operator copies A's tasks in S3 with its own role"
run_id=$(kubectl get flowrun a -n "$RUNS" -o jsonpath='{.status.runId}')
flowrun b keyless ", resumeFrom: $run_id, parameters: [{name: endexit, value: \"0\"}]" || fatal "FlowRun b is created"
wait_for 180 flowrun_done b || fatal "FlowRun b ends"
check "FlowRun b succeeded (phase $(flowrun_phase b))" test "$(flowrun_phase b)" = Succeeded
check "...reusing start and middle of a" test \
  "$(kubectl get flowrun b -n "$RUNS" -o jsonpath='{.status.tasks.cloned}')" = 2
check "...Resumed" test "$(kubectl get flowrun b -n "$RUNS" -o jsonpath='{.status.conditions[?(@.type=="Resumed")].status}')" = True
kubectl logs b.end -n "$RUNS" >end-b.log 2>&1
check "b.end read the artifact the operator copied" test "$(cat end-b.log)" = "$(printf 'first\nsecond')"
check "b.end ran keyless too" test "$(pod_env b.end AWS_ROLE_ARN)" = "$ROLE_ARN"
keys_after=$(keys_seen)
echo "distinct access keys seen by MinIO: $keys_before -> $keys_after"
check "...temporary keys from STS: one per task process (4) and the operator's (1)" \
  test $((keys_after - keys_before)) -ge 5
check "the run's objects are in the STS MinIO's bucket" \
  sts_root aws --endpoint-url "$STS_ENDPOINT" s3 ls --recursive "$STS_URL/" >/dev/null

note "FlowRun C: the same cluster, no ServiceAccount with a role: no credentials at all"
flowrun c no-role || fatal "FlowRun c is created"
wait_for 180 flowrun_done c || fatal "FlowRun c ends"
check "FlowRun c failed (phase $(flowrun_phase c))" test "$(flowrun_phase c)" = Failed
check "c.start had no role" test "$(pod_env c.start AWS_ROLE_ARN)" = unset
kubectl logs c.start -n "$RUNS" >start-c.log 2>&1
tail -3 start-c.log
check "c.start: the chain says it found no credentials, and where it looked" \
  grep -q "no S3 credentials found (tried .*web identity" start-c.log

cleanup
finish
