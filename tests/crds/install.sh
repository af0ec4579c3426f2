#!/usr/bin/env bash
# crds/ installs: the three CRDs become Established and served, with the API contract's names
# (short names, category podflow), and a second apply changes nothing.
source "$(dirname "$0")/lib.sh"
install_crds
for crd in $CRDS; do
	[ "$(kubectl get crd "$crd" -o jsonpath='{.status.conditions[?(@.type=="NamesAccepted")].status}')" = True ] ||
		fail "$crd: names not accepted"
done
names=$(kubectl api-resources --api-group=podflow.dev --no-headers -o wide | awk '{print $1, $2, $4, $5}' | sort)
echo "$names"
expected=$'flowruns fr true FlowRun\nflows fl true Flow\ntasks tk true Task'
[ "$names" = "$expected" ] || fail "api-resources: expected
$expected"
[ "$(kubectl api-resources --api-group=podflow.dev --no-headers -o wide | awk '$NF == "podflow"' | wc -l)" = 3 ] ||
	fail "not all three kinds are in category podflow"
generation_before=$(kubectl get crd $CRDS -o jsonpath='{.items[*].metadata.generation}')
install_crds
[ "$(kubectl get crd $CRDS -o jsonpath='{.items[*].metadata.generation}')" = "$generation_before" ] ||
	fail "applying crds/ again changed a CRD"
echo "ok: CRDs Established and served as fl/fr/tk in category podflow; re-apply is a no-op"
