#!/usr/bin/env bash
# shellcheck disable=SC2034 # RELEASES: read by tests/helm/lib.sh
# The chart on the real node, as a user installs it: helm install with podflow's image (built from
# the Dockerfile, pushed to the cluster's registry, pulled with an imagePullSecret), the operator a
# real pod with its in-cluster ServiceAccount in a namespace enforcing Pod Security `restricted`
# (the API server admits it, the kubelet checks runAsNonRoot), Ready by its probes; then the README's
# commands: kubectl apply -f examples/bigsum/flow.yaml, kubectl wait, kubectl logs bigsum.end,
# kubectl delete flowrun; afterwards containerd holds no container of the run.
# shellcheck source=../helm/lib.sh
source "$(dirname "$0")/../helm/lib.sh"
[ -n "${PODFLOW_REAL_NODE_NAMES:-}" ] || fail "the cluster has no real node (tests/cluster/up without PODFLOW_REAL_NODES=0)"
node=$PODFLOW_REAL_NODE_NAMES
rel=t-rn-op-$SUFFIX
runs=$rel-runs
make_ns "$rel" pod-security.kubernetes.io/enforce=restricted
make_ns "$runs" pod-security.kubernetes.io/enforce=restricted
# every pod of the run namespace goes to the real node (PodNodeSelector, PodTolerationRestriction)
toleration='[{"key":"podflow.dev/node","operator":"Equal","value":"real","effect":"NoSchedule"}]'
kubectl annotate namespace "$runs" "scheduler.alpha.kubernetes.io/node-selector=podflow.dev/node=real" \
	"scheduler.alpha.kubernetes.io/defaultTolerations=$toleration" >/dev/null
for ns in "$rel" "$runs"; do
	kubectl -n "$ns" create secret docker-registry podflow-registry --docker-server="$PODFLOW_REGISTRY" \
		--docker-username="$PODFLOW_REGISTRY_USER" --docker-password="$PODFLOW_REGISTRY_PASSWORD" >/dev/null
done
# the tasks pull podflow's image through their ServiceAccount's pull secret, as on any private registry
kubectl -n "$runs" patch serviceaccount default -p '{"imagePullSecrets":[{"name":"podflow-registry"}]}' >/dev/null
release=rn$SUFFIX
deploy=$release-podflow
values=$(mktemp)
trap 'rm -f "$values"; cleanup' EXIT
cat >"$values" <<YAML
image: {repository: ${PODFLOW_IMAGE%:*}, tag: ${PODFLOW_IMAGE##*:}, pullPolicy: Always}
imagePullSecrets: [{name: podflow-registry}]
nodeSelector: {podflow.dev/node: real}
tolerations: $toleration
terminationGracePeriodSeconds: 5
watchNamespaces: [$runs]
# bigsum's start asks for 2 cpus, all this 2-core node has: the operator asks for none
resources: {requests: {cpu: "0", memory: 64Mi}, limits: {memory: 256Mi}}
s3:
  bucket: $PODFLOW_S3_BUCKET
  prefix: realnode-$SUFFIX
  endpoint: $PODFLOW_S3_ENDPOINT_FOR_PODS
  region: us-east-1
  credentials: {accessKeyId: $AWS_ACCESS_KEY_ID, secretAccessKey: $AWS_SECRET_ACCESS_KEY}
operator: {logFormat: text, defaultImage: $PODFLOW_IMAGE}
YAML

note "helm install: the operator as a pod on $node"
helm install "$release" "$CHART" -n "$rel" -f "$values" --wait --timeout 180s >/dev/null || {
	dump "$rel" "$deploy"
	kubectl -n "$rel" get events --sort-by=.lastTimestamp >&2 || true
	fail "helm install failed"
}
RELEASES=("$release/$rel")
pod=$(kubectl -n "$rel" get pods -l "app.kubernetes.io/instance=$release" -o jsonpath='{.items[0].metadata.name}')
[ "$(kubectl -n "$rel" get pod "$pod" -o jsonpath='{.spec.nodeName}')" = "$node" ] || fail "the operator pod is not on $node"
image_id=$(kubectl -n "$rel" get pod "$pod" -o jsonpath='{.status.containerStatuses[0].imageID}')
[[ "$image_id" == "$PODFLOW_REGISTRY/"*@sha256:* ]] || fail "the operator's image was not pulled from the registry: $image_id"
kubectl -n "$rel" wait --for=condition=Ready "pod/$pod" --timeout=60s >/dev/null || fail "the operator pod is not Ready"
wait_until 30 "the operator to start its controllers" bash -c \
	"kubectl -n $rel logs $pod | grep -q 'starting the controllers'"
# the kubelet ran it as the image's non-root user: the container's process is uid 65532
ids=$(ctr -n k8s.io containers ls -q \
	"labels.\"io.kubernetes.pod.name\"==$pod,labels.\"io.cri-containerd.kind\"==container" 2>/dev/null)
[ "$(wc -w <<<"$ids")" = 1 ] || fail "containerd has not one container of $pod: '$ids'"
uid=$(ctr -n k8s.io containers info "$ids" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["Spec"]["process"]["user"]["uid"])')
[ "$uid" = 65532 ] || fail "the operator's container runs as uid '$uid', not 65532"
# Pod Security restricted is enforced here: a root pod is refused by the API server
if kubectl -n "$rel" run root-probe --image="$PODFLOW_IMAGE" --restart=Never --overrides='{"spec":{"securityContext":{"runAsUser":0}}}' \
	-- true >/dev/null 2>&1; then fail "a root pod was admitted in the restricted namespace"; fi

note "kubectl apply -f examples/bigsum/flow.yaml in $runs (tasks on $node)"
kubectl -n "$runs" apply -f examples/bigsum/flow.yaml >/dev/null
kubectl -n "$runs" wait --for=condition=Succeeded flowrun/bigsum --timeout=240s >/dev/null || {
	kubectl -n "$runs" get podflow,pods -o wide >&2 || true
	dump "$rel" "$deploy"
	fail "flowrun bigsum did not succeed"
}
log=$(kubectl -n "$runs" logs bigsum.end 2>&1)
grep -q 'The sum is' <<<"$log" || fail "kubectl logs bigsum.end: $log"
# the task pod has the runtime's init container; kubectl logs picks the step without a word
grep -q 'Defaulted container' <<<"$log" && fail "kubectl logs bigsum.end chose a container with a notice: $log"
[ "$(kubectl -n "$runs" get pod bigsum.end -o jsonpath='{.spec.initContainers[0].image}')" = "$PODFLOW_IMAGE" ] ||
	fail "the task pod has no init container of podflow's image (the chart's --runtime-image)"
for t in start end; do
	[ "$(kubectl -n "$runs" get pod "bigsum.$t" -o jsonpath='{.spec.nodeName}')" = "$node" ] || fail "bigsum.$t did not run on $node"
done
uids=$(kubectl -n "$runs" get pods -l podflow.dev/run=bigsum -o jsonpath='{.items[*].metadata.uid}')

note "kubectl delete flowrun bigsum"
kubectl -n "$runs" delete flowrun bigsum --timeout=60s >/dev/null || fail "kubectl delete flowrun failed"
wait_until 60 "the run's pods to be gone" bash -c "[ -z \"\$(kubectl -n $runs get pods -l podflow.dev/run=bigsum -o name)\" ]"
# the kubelet removed the containers of the run's pods (sandboxes included). Its container garbage
# collection, which removes a deleted pod's dead containers, runs once a minute (a fixed period), so
# 60 s was a coin toss on a loaded machine (a cold CI run failed it once): allow two periods and more.
for u in $uids; do
	wait_until 150 "containerd to drop the containers of pod $u" bash -c \
		"! ctr -n k8s.io containers ls -q 'labels.\"io.kubernetes.pod.uid\"==$u' 2>/dev/null | grep -q ."
done
kubectl -n "$rel" logs "$pod" | grep -E 'cannot [a-z]+ resource' && fail "RBAC refused the operator something"
echo "ok: the operator runs as a real pod (restricted, uid 65532, image from the registry); bigsum succeeded on $node; kubectl delete flowrun left no container"
