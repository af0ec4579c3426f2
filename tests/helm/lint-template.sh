#!/usr/bin/env bash
# helm lint is clean; `helm template | kubectl apply --dry-run=server` is accepted in both RBAC modes
# (all namespaces / a list), into a namespace that enforces Pod Security `restricted` without a
# warning; what the values switch on and off renders as documented.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
values=$(mktemp)
trap 'rm -f "$values"; cleanup' EXIT
printf 's3: {bucket: b, endpoint: "http://minio:9000", region: us-east-1}\n' >"$values"

note "helm lint"
for args in "" "-f $values" "-f $values --set watchNamespaces={a,b} --set replicas=3" \
	"-f $values --set s3.credentials.accessKeyId=k --set s3.credentials.secretAccessKey=s --set s3.credentials.namespaces={x}" \
	"-f $values --set metrics.serviceMonitor.enabled=true --set metrics.serviceMonitor.labels.release=prom"; do
	# shellcheck disable=SC2086
	out=$(helm lint --strict "$CHART" $args 2>&1) || fail "helm lint $args: $out"
	! grep -E '\[(WARNING|ERROR)\]' <<<"$out" || fail "helm lint $args is not clean: $out"
done

note "render rules"
render() { helm template t "$CHART" -n rel -f "$values" "$@"; }
out=$(helm template t "$CHART" 2>&1) && fail "renders without s3.bucket"
grep -q 's3.bucket is required' <<<"$out" || fail "no clear error without s3.bucket: $out"
m=$(render)
grep -q -- '- --leader-elect$' <<<"$m" && fail "--leader-elect with 1 replica"
grep -q 'type: Recreate' <<<"$m" || fail "1 replica without leader election must use Recreate"
grep -q 'kind: ClusterRole$' <<<"$m" || fail "no ClusterRole with watchNamespaces: []"
grep -q 'kind: ServiceMonitor' <<<"$m" && fail "ServiceMonitor rendered while disabled"
grep -q 'kind: Secret' <<<"$m" && fail "a Secret rendered without credentials"
grep -q -- '--s3-credentials-secret' <<<"$m" && fail "--s3-credentials-secret without credentials"
grep -q -- '- --datastore=s3://b/podflow$' <<<"$m" || fail "datastore flag"
for f in --s3-endpoint=http://minio:9000 --s3-region=us-east-1 --default-image=podflow/podflow:0.1.0 \
	--metrics-bind-address=:8080 --health-probe-bind-address=:8081 --flowrun-workers=4 \
	--kube-api-qps=100 --kube-api-burst=200 --run-as-user=65532 --runtime-command=podflow-runtime \
	--log-format=json --log-level=info --runtime-image=podflow/podflow:0.1.0; do
	grep -q -- "- $f\$" <<<"$m" || fail "flag $f missing"
done
grep -q -- '--read-only-root-filesystem' <<<"$m" && fail "--read-only-root-filesystem while off"
m=$(render --set operator.runtimeImage=reg.example/podflow:9 --set operator.readOnlyRootFilesystem=true)
grep -q -- '- --runtime-image=reg.example/podflow:9$' <<<"$m" || fail "operator.runtimeImage flag"
grep -q -- '- --read-only-root-filesystem$' <<<"$m" || fail "operator.readOnlyRootFilesystem flag"
m=$(render --set operator.taskEnv.AWS_ENDPOINT_URL_STS=https://sts.example --set operator.taskEnv.HTTPS_PROXY=http://proxy:3128)
grep -q -- '- --task-env=AWS_ENDPOINT_URL_STS=https://sts.example$' <<<"$m" &&
	grep -q -- '- --task-env=HTTPS_PROXY=http://proxy:3128$' <<<"$m" || fail "operator.taskEnv flags"
m=$(render --set operator.injectRuntime=false)
grep -q -- '--runtime-image' <<<"$m" && fail "--runtime-image with injectRuntime false"
grep -q 'fieldPath: metadata.name' <<<"$m" && grep -q 'fieldPath: metadata.namespace' <<<"$m" || fail "downward API env"
m=$(render --set replicas=2 --set 'watchNamespaces={a,b}')
grep -q -- '- --leader-elect$' <<<"$m" || fail "no --leader-elect with 2 replicas"
grep -q 'type: RollingUpdate' <<<"$m" || fail "leader election should use RollingUpdate"
# (the users' node-placement ClusterRole apart: it grants the operator nothing)
grep -A3 '^kind: ClusterRole' <<<"$m" | grep '  name:' | grep -v -- '-node-placement$' && fail "ClusterRole in namespaced mode"
[ "$(grep -c -- '- --namespace=' <<<"$m")" = 2 ] || fail "want two --namespace flags"
[ "$(grep -c '^kind: RoleBinding' <<<"$m")" = 3 ] || fail "want RoleBindings in a, b and the Lease's"
m=$(render --set s3.credentials.existingSecret=mine)
grep -q -- '- --s3-credentials-secret=mine$' <<<"$m" || fail "existingSecret flag"
grep -q 'kind: Secret' <<<"$m" && fail "a Secret rendered with existingSecret"
out=$(render --set 'watchNamespaces={a}' --set s3.credentials.accessKeyId=k --set s3.credentials.secretAccessKey=s --set 's3.credentials.namespaces={c}' 2>&1) &&
	fail "one set of S3 keys copied into a and c"
grep -q 'perNamespace' <<<"$out" && grep -q 'sharedAcrossNamespaces' <<<"$out" || fail "no fix in the refusal of shared keys: $out"
m=$(render --set 'watchNamespaces={a}' --set s3.credentials.accessKeyId=k --set s3.credentials.secretAccessKey=s --set 's3.credentials.namespaces={c}' --set s3.credentials.sharedAcrossNamespaces=true)
[ "$(grep -c '^kind: Secret' <<<"$m")" = 2 ] || fail "want the tasks' Secret in a and c"
m=$(render --set 'watchNamespaces={a,c}' --set s3.credentials.perNamespace.a.accessKeyId=ka --set s3.credentials.perNamespace.a.secretAccessKey=sa \
	--set s3.credentials.perNamespace.c.accessKeyId=kc --set s3.credentials.perNamespace.c.secretAccessKey=sc)
[ "$(grep -c '^kind: Secret' <<<"$m")" = 2 ] && grep -q '"ka"' <<<"$m" && grep -q '"kc"' <<<"$m" ||
	fail "want a's and c's own keys in their Secrets"
grep -q -- '- --s3-credentials-secret=t-podflow-s3$' <<<"$m" || fail "perNamespace: --s3-credentials-secret"

note "security defaults (docs/operations.md, Security model)"
m=$(render)
for f in --author-checks=true --placement-needs-grant=true --datastore-per-namespace; do
	grep -q -- "- $f\$" <<<"$m" || fail "flag $f missing"
done
grep -q -- '--allow-operator-namespace' <<<"$m" && fail "--allow-operator-namespace by default"
for k in MutatingAdmissionPolicy MutatingAdmissionPolicyBinding ValidatingAdmissionPolicy ValidatingAdmissionPolicyBinding; do
	grep -q "^kind: $k\$" <<<"$m" || fail "no $k"
done
grep -q "request.namespace != 'rel'" <<<"$m" || fail "FlowRuns in the release namespace are not refused"
grep -q 'name: t-podflow-rel-node-placement$' <<<"$m" || fail "no node-placement ClusterRole"
m=$(render --set security.admissionPolicies=false --set security.placementNeedsGrant=false --set security.allowOperatorNamespace=true --set s3.perNamespacePrefix=false)
grep -qE 'AdmissionPolicy|node-placement|--datastore-per-namespace' <<<"$m" && fail "security values do not turn things off"
grep -q -- '- --allow-operator-namespace$' <<<"$m" && grep -q -- '- --placement-needs-grant=false$' <<<"$m" || fail "security flags"
m=$(render --set 'watchNamespaces={a,b}')
grep -q 'values: \["a","b"\]' <<<"$m" || fail "the policies are not bound to watchNamespaces"
out=$(render --set s3.credentials.accessKeyId=k --set s3.credentials.secretAccessKey=s 2>&1) && fail "credentials from values with no namespace to put them in"
m=$(render --set metrics.serviceMonitor.enabled=true)
grep -q 'kind: ServiceMonitor' <<<"$m" || fail "ServiceMonitor not rendered when enabled"
m=$(render --set metrics.enabled=false)
grep -q -- '- --metrics-bind-address=0 ' <<<"$m" || fail "metrics.enabled=false must turn /metrics off"
grep -q 'kind: Service$' <<<"$m" && fail "metrics Service while metrics are off"
m=$(render --set operator.cpuLimits=true --set image.digest=sha256:0123 --set 'operator.extraArgs={--grace-seconds=30}')
grep -q -- '- --cpu-limits$' <<<"$m" && grep -q 'image: "podflow/podflow@sha256:0123"' <<<"$m" &&
	grep -q -- '- --grace-seconds=30$' <<<"$m" || fail "cpuLimits / digest / extraArgs"

note "kubectl apply --dry-run=server, both RBAC modes, Pod Security restricted enforced"
rel=t-helm-lint-$SUFFIX
make_ns "$rel" pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/warn=restricted
make_ns "$rel-a"
make_ns "$rel-b"
for mode in cluster namespaced; do
	args=()
	[ $mode = namespaced ] && args=(--set "watchNamespaces={$rel-a,$rel-b}" --set replicas=2 \
		--set s3.credentials.accessKeyId=k --set s3.credentials.secretAccessKey=s --set s3.credentials.sharedAcrossNamespaces=true)
	out=$(helm template "h$SUFFIX" "$CHART" -n "$rel" --include-crds -f "$values" "${args[@]}" |
		kubectl apply --dry-run=server -f - 2>&1) || fail "$mode mode: dry-run refused: $out"
	grep -qiE 'PodSecurity|violate|unknown field|deprecated' <<<"$out" && fail "$mode mode: warnings: $out"
	grep -q 'deployment.apps/.* (server dry run)' <<<"$out" || fail "$mode mode: no deployment in: $out"
done
# The pod template itself, as a Pod, in the restricted namespace (a Deployment only warns).
helm template "h$SUFFIX" "$CHART" -n "$rel" -f "$values" | python3 -c '
import sys, yaml, json
for doc in yaml.safe_load_all(sys.stdin):
    if doc and doc["kind"] == "Deployment":
        t = doc["spec"]["template"]
        t["spec"].pop("serviceAccountName")  # not created by a dry run
        print(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "template", "labels": t["metadata"]["labels"]}, "spec": t["spec"]}))
' | kubectl create --dry-run=server -n "$rel" -f - >/dev/null || fail "the operator pod is refused by Pod Security restricted"
echo "ok: helm lint clean; both RBAC modes accepted by the API server; the pod passes Pod Security restricted"
