#!/usr/bin/env bash
# kubectl get nodes lists the process node(s) and the KWOK nodes, all Ready.
source "$(dirname "$0")/common.sh"
kubectl get nodes -o wide
ready() { kubectl get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'; }
n_proc=0
for n in $PODFLOW_PROCESS_NODE_NAMES; do
	[ "$(ready "$n")" = True ] || fail "process node $n is not Ready"
	n_proc=$((n_proc + 1))
done
[ $n_proc -ge 1 ] || fail "no process node"
kwok=$(kubectl get nodes -l type=kwok -o name)
[ -n "$kwok" ] || fail "no KWOK node"
for n in $kwok; do
	[ "$(ready "${n#node/}")" = True ] || fail "KWOK node $n is not Ready"
	grep -q kwok.x-k8s.io/node <<<"$(kubectl get "$n" -o jsonpath='{.spec.taints[*].key}')" || fail "$n lacks the kwok taint"
done
[ -n "$(kubectl get nodes -l type=process -o name)" ] || fail "no node labelled type=process"
echo "ok: $n_proc process node(s) and $(echo "$kwok" | wc -l) KWOK node(s) Ready"
