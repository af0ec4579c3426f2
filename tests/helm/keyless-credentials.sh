#!/usr/bin/env bash
# The chart's keyless S3 settings (s3.credentials.keyless, docs/kubernetes.md "S3 credentials
# without static keys"): the IRSA role annotation on the operator's ServiceAccount and on a task
# ServiceAccount in every run namespace, the operator's STS endpoint, no Secret and no
# --s3-credentials-secret, helm lint clean, the API server accepts it, and keys plus a role are
# refused with a message saying which to choose.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ROLE=arn:aws:iam::123456789012:role/podflow-tasks
render() { helm template t "$CHART" -n rel --set s3.bucket=b "$@"; }
keyless=(--set s3.credentials.keyless.roleArn=$ROLE --set s3.credentials.keyless.taskServiceAccount.create=true)

note "helm lint"
for args in "--set s3.bucket=b ${keyless[*]} --set watchNamespaces={a,b}" \
	"--set s3.bucket=b --set s3.credentials.keyless.operatorRoleArn=$ROLE"; do
	# shellcheck disable=SC2086
	out=$(helm lint --strict "$CHART" $args 2>&1) || fail "helm lint $args: $out"
	! grep -E '\[(WARNING|ERROR)\]' <<<"$out" || fail "helm lint $args is not clean: $out"
done

note "render rules"
m=$(render "${keyless[@]}" --set 'watchNamespaces={a,b}' --set s3.credentials.keyless.stsEndpoint=https://sts.eu-west-1.amazonaws.com)
grep -q 'kind: Secret' <<<"$m" && fail "a Secret rendered in keyless mode"
grep -q -- '--s3-credentials-secret' <<<"$m" && fail "--s3-credentials-secret in keyless mode"
[ "$(grep -c "eks.amazonaws.com/role-arn: $ROLE\$" <<<"$m")" = 3 ] ||
	fail "want the role on the operator's ServiceAccount and the task ServiceAccounts of a and b"
[ "$(grep -c '^  name: t-podflow-task$' <<<"$m")" = 2 ] || fail "want the task ServiceAccount in a and b"
grep -A1 'name: AWS_ENDPOINT_URL_STS' <<<"$m" | grep -q 'value: "https://sts.eu-west-1.amazonaws.com"' ||
	fail "the operator's AWS_ENDPOINT_URL_STS"
m=$(render --set s3.credentials.keyless.operatorRoleArn=arn:aws:iam::1:role/op --set s3.credentials.keyless.roleArn=$ROLE \
	--set s3.credentials.keyless.taskServiceAccount.create=true --set 's3.credentials.keyless.taskServiceAccount.name=runner' \
	--set 's3.credentials.namespaces={c}')
grep -q 'eks.amazonaws.com/role-arn: arn:aws:iam::1:role/op$' <<<"$m" || fail "operatorRoleArn on the operator's ServiceAccount"
grep -B14 "eks.amazonaws.com/role-arn: $ROLE\$" <<<"$m" | grep -q "^  name: runner$" || fail "the named task ServiceAccount"
m=$(render)
grep -q 'eks.amazonaws.com/role-arn' <<<"$m" && fail "a role annotation without keyless settings"
grep -q 'task-serviceaccount' <<<"$m" && fail "a task ServiceAccount without keyless settings"
out=$(render --set s3.credentials.keyless.roleArn=$ROLE --set s3.credentials.existingSecret=mine 2>&1) &&
	fail "keys and a role together are accepted"
grep -q 'set either the keys' <<<"$out" || fail "no fix in the refusal of keys plus a role: $out"
out=$(render "${keyless[@]}" 2>&1) && fail "a task ServiceAccount with no namespace to create it in"
grep -q 's3.credentials.namespaces' <<<"$out" || fail "no fix when the task ServiceAccount has no namespace: $out"

note "the API server accepts it"
ns=podflow-keyless-$SUFFIX
make_ns "$ns"
helm template t "$CHART" -n "$ns" --set s3.bucket=b "${keyless[@]}" --set "watchNamespaces={$ns}" | kubectl apply --dry-run=server -f - >/dev/null ||
	fail "the keyless install is refused by the API server"
echo "ok: keyless chart settings render, lint clean and are accepted by the API server"
