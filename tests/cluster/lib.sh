# shellcheck shell=bash
# Shared settings of tests/cluster/{build,up,down,...}; sourced, not run.

CLUSTER_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$CLUSTER_SRC/versions.env"

PODFLOW_CACHE_DIR=${PODFLOW_CACHE_DIR:-$HOME/.cache/podflow}
TOOLS_CACHE=$PODFLOW_CACHE_DIR/cluster
GO=${GO:-$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)}

K8S_BIN=$TOOLS_CACHE/kubernetes-$KUBERNETES_VERSION/bin
ETCD_BIN=$TOOLS_CACHE/etcd-$ETCD_VERSION/bin
KWOK_BIN=$TOOLS_CACHE/kwok-$KWOK_VERSION/bin
HELM_BIN=$TOOLS_CACHE/helm-$HELM_VERSION/bin
MINIO_BIN=$TOOLS_CACHE/minio-$MINIO_VERSION/bin
CONTAINERD_BIN=$TOOLS_CACHE/containerd-$CONTAINERD_VERSION/bin
REGISTRY_BIN=$TOOLS_CACHE/registry-$REGISTRY_VERSION/bin

# the process node is keyed by a hash of its sources (it changes with the repo)
processnode_key() {
	(cd "$CLUSTER_SRC/processnode" && cat go.mod go.sum ./*.go && echo "$KUBERNETES_STAGING_VERSION") | sha256sum | cut -c1-12
}
PROCESSNODE_BIN=$TOOLS_CACHE/processnode-$(processnode_key)/bin

VENV_DIR=$PODFLOW_CACHE_DIR/venv-$(sha256sum "$CLUSTER_SRC/requirements.txt" | cut -c1-12)

# every directory with a tool the env file puts on PATH
tool_path() {
	echo "$K8S_BIN:$ETCD_BIN:$KWOK_BIN:$HELM_BIN:$MINIO_BIN:$CONTAINERD_BIN:$REGISTRY_BIN:$PROCESSNODE_BIN:$VENV_DIR/bin"
}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
