# shellcheck shell=bash
# The real node of the test cluster: a kubelet with containerd 2.x, runc and the CNI bridge plugin,
# pulling images from an authenticated local registry. Sourced by up and down after config.sh,
# procs.sh and images/lib.sh. Everything it makes on the machine (a bridge, two nftables tables,
# cgroups beneath up's own, mounts under $D) is recorded so that `down` removes it again.
#
# Network: pods get addresses from $PODFLOW_POD_SUBNET on the bridge $PODFLOW_BRIDGE, whose
# address (the gateway) is the host's side. There is no NAT and IP forwarding stays as it is (off
# on this machine), so pods reach the host (API server, MinIO) and each other, nothing beyond.

realnode_gateway() { # the bridge's address: the subnet's first
	local net=${PODFLOW_POD_SUBNET%/*}
	echo "${net%.*}.$((${net##*.} + 1))"
}

# the node's cgroup, beneath the memory cgroup `up` runs in (never a hierarchy's root)
realnode_cgroup_root() {
	local own
	own=$(awk -F: '$2 == "memory" {print $3}' /proc/self/cgroup)
	[ "$own" = / ] && own=""
	echo "$own/$(basename "$D" | tr -c 'a-zA-Z0-9_.\n-' _)"
}

# cgroup v1 hierarchies the kubelet and runc use (cgroupfs driver: one path in each), and the
# hybrid layout's unified (v2) one, where runc also makes each container's directory
REALNODE_CGROUP_HIERARCHIES=(cpu cpuacct cpuset memory pids devices freezer blkio hugetlb systemd unified)
# the kernel settings the kubelet sets on start (container_manager_linux.go); down restores them
REALNODE_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)

realnode_check_machine() {
	[ "$(id -u)" -eq 0 ] || die "the real node needs root (cgroups, a bridge, mounts); run as root or set PODFLOW_REAL_NODES=0"
	[ "$PODFLOW_REAL_NODES" = 1 ] || die "PODFLOW_REAL_NODES must be 0 (no real node) or 1, not '$PODFLOW_REAL_NODES'"
	[[ "$PODFLOW_POD_SUBNET" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.0/24$ ]] ||
		die "PODFLOW_POD_SUBNET must be an IPv4 /24 such as 10.244.0.0/24, not '$PODFLOW_POD_SUBNET'"
	local b
	for b in runc nft buildah htpasswd ip; do
		command -v "$b" >/dev/null || die "$b not found: run scripts/install-deps (or set PODFLOW_REAL_NODES=0)"
	done
	[ -x /usr/lib/cni/bridge ] || die "CNI plugins not found in /usr/lib/cni: run scripts/install-deps"
	grep -q overlay /proc/filesystems || die "the kernel has no overlayfs: the real node needs it (PODFLOW_REAL_NODES=0 skips the node)"
	if ip link show "$PODFLOW_BRIDGE" >/dev/null 2>&1; then
		die "network device $PODFLOW_BRIDGE exists: another cluster's real node? Stop it (tests/cluster/down) or set PODFLOW_BRIDGE and PODFLOW_POD_SUBNET"
	fi
	if ip -4 -o addr | grep -q "inet ${PODFLOW_POD_SUBNET%.*}\."; then
		die "$PODFLOW_POD_SUBNET is in use on this machine; choose another PODFLOW_POD_SUBNET"
	fi
}

# ---- up ------------------------------------------------------------------------------------

realnode_certificates() {
	local gw n=$PODFLOW_REAL_NODE_NAME
	gw=$(realnode_gateway)
	cert "node-$n" "system:node:$n" system:nodes clientAuth
	kubeconfig "$D/nodes/$n.kubeconfig" "system:node:$n" "node-$n"
	cert "kubelet-$n" "$n" "" serverAuth "IP:$gw,DNS:$n"
	cert kube-proxy system:kube-proxy "" clientAuth
	kubeconfig "$D/kube-proxy.kubeconfig" system:kube-proxy kube-proxy
	cert registry registry "" serverAuth "IP:127.0.0.1,DNS:localhost"
}

# the bridge, the firewall of the ports that listen beyond loopback, the node's cgroups
realnode_machine_up() {
	local gw root c
	gw=$(realnode_gateway)
	mkdir -p "$D/realnode"
	for c in "${REALNODE_SYSCTLS[@]}"; do echo "$c=$(sysctl -n "$c")"; done >"$D/realnode/sysctl-before"
	nft list tables >"$D/realnode/nft-tables-before"
	ip link add "$PODFLOW_BRIDGE" type bridge
	echo "$PODFLOW_BRIDGE" >"$D/realnode/bridge"
	ip addr add "$gw/24" dev "$PODFLOW_BRIDGE"
	ip link set "$PODFLOW_BRIDGE" up
	# The API server and MinIO listen on every address so that pods reach them at the gateway;
	# only loopback and the bridge may connect.
	nft -f - <<EOF
table inet $(realnode_nft_table) {
	chain input {
		type filter hook input priority 0; policy accept;
		iifname != { "lo", "$PODFLOW_BRIDGE" } tcp dport { $PODFLOW_APISERVER_PORT, $PODFLOW_MINIO_PORT, $PODFLOW_KUBELET_PORT } drop
	}
}
EOF
	root=$(realnode_cgroup_root)
	echo "$root" >"$D/realnode/cgroup-root"
	for c in "${REALNODE_CGROUP_HIERARCHIES[@]}"; do
		[ -d "/sys/fs/cgroup/$c" ] && realnode_mkcgroup "/sys/fs/cgroup/$c" "$root"
	done
}

realnode_nft_table() { echo "podflow_${PODFLOW_BRIDGE//[^a-zA-Z0-9_]/_}"; }

# realnode_mkcgroup HIERARCHY PATH: creates PATH's missing directories in HIERARCHY (recording each
# for down); cpuset directories get their parent's cpus and mems, as the kernel does not
realnode_mkcgroup() {
	local h=$1 path=$2 part cur=""
	local IFS=/
	for part in $path; do
		[ -n "$part" ] || continue
		cur="$cur/$part"
		if [ ! -d "$h$cur" ]; then
			mkdir "$h$cur"
			echo "$h$cur" >>"$D/realnode/cgroups-made"
			if [ -f "$h$cur/cpuset.cpus" ]; then
				cat "$(dirname "$h$cur")/cpuset.cpus" >"$h$cur/cpuset.cpus"
				cat "$(dirname "$h$cur")/cpuset.mems" >"$h$cur/cpuset.mems"
			fi
		fi
	done
}

realnode_registry_up() {
	local r=$D/registry
	mkdir -p "$r/data"
	PODFLOW_REGISTRY_USER=podflow
	PODFLOW_REGISTRY_PASSWORD=$(openssl rand -hex 16)
	htpasswd -Bbn "$PODFLOW_REGISTRY_USER" "$PODFLOW_REGISTRY_PASSWORD" >"$r/htpasswd" 2>/dev/null
	printf '%s:%s\n' "$PODFLOW_REGISTRY_USER" "$PODFLOW_REGISTRY_PASSWORD" >"$r/credentials"
	chmod 600 "$r/credentials"
	cat >"$r/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $r/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PODFLOW_REGISTRY_PORT
  tls:
    certificate: $PKI/registry.crt
    key: $PKI/registry.key
auth:
  htpasswd:
    realm: podflow-test
    path: $r/htpasswd
EOF
	start_component registry env OTEL_TRACES_EXPORTER=none "$REGISTRY_BIN/registry" serve "$r/config.yml"
}

realnode_registry_ready() {
	[ "$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.crt" "https://127.0.0.1:$PODFLOW_REGISTRY_PORT/v2/")" = 401 ]
}

# pushes the cached images (tests/cluster/images/build) to the registry, as a user's CI would
realnode_push_images() {
	local certs=$D/registry/certs img
	mkdir -p "$certs"
	cp "$PKI/ca.crt" "$certs/ca.crt"
	for img in "$PYTHON_IMAGE" "$BUSYBOX_IMAGE" "$PODFLOW_IMAGE_LOCAL"; do
		bah push --quiet --cert-dir "$certs" --creds "$(cat "$D/registry/credentials")" \
			"$img" "docker://$(realnode_registry_name "$img")" >>"$LOGS/image-push.log" 2>&1 ||
			die "pushing $img to the registry failed (log: $LOGS/image-push.log)"
	done
}

# the registry's name of a cached image: localhost/podflow-test/busybox:static -> 127.0.0.1:PORT/podflow-test/busybox:static
realnode_registry_name() { echo "127.0.0.1:$PODFLOW_REGISTRY_PORT/${1#localhost/}"; }

realnode_containerd_up() {
	local c=$D/containerd host=127.0.0.1:$PODFLOW_REGISTRY_PORT
	mkdir -p "$c/certs.d/$host" "$D/cni/net.d" "$D/cni/ipam"
	cat >"$c/certs.d/$host/hosts.toml" <<EOF
server = "https://$host"
[host."https://$host"]
  capabilities = ["pull", "resolve"]
  ca = "$PKI/ca.crt"
EOF
	cat >"$D/cni/net.d/10-podflow.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "podflow",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$PODFLOW_BRIDGE",
      "isGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$D/cni/ipam",
        "ranges": [[{"subnet": "$PODFLOW_POD_SUBNET", "gateway": "$(realnode_gateway)"}]],
        "routes": [{"dst": "0.0.0.0/0", "gw": "$(realnode_gateway)"}]
      }
    }
  ]
}
EOF
	# isGateway false: the bridge plugin would otherwise turn IP forwarding on for the whole
	# machine; `up` gave the bridge its address itself.
	cat >"$c/config.toml" <<EOF
version = 3
root = "$c/root"
state = "$c/state"
imports = []
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$c/containerd.sock"
[ttrpc]
  address = "$c/containerd.sock.ttrpc"

[plugins]
  [plugins.'io.containerd.internal.v1.opt']
    path = "$c/opt"
  [plugins.'io.containerd.image-verifier.v1.bindir']
    bin_dir = "$c/image-verifier"
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = "$PAUSE_IMAGE"
    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = "$c/certs.d"
  [plugins.'io.containerd.cri.v1.runtime']
    netns_mounts_under_state_dir = true
    # Processes here lack CAP_SYS_RESOURCE, so none may lower its oom_score_adj below 0 (runc
    # fails "failed to update /proc/self/oom_score_adj"); the kubelet asks -998 for sandboxes and
    # -997 for Guaranteed containers. This clamps them to containerd's own score instead.
    restrict_oom_score_adj = true
    enable_selinux = false
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = "runc"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = "$(command -v runc)"
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ["/usr/lib/cni"]
      conf_dir = "$D/cni/net.d"
  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
EOF
	start_component containerd env PATH="$CONTAINERD_BIN:$PATH" "$CONTAINERD_BIN/containerd" --config "$c/config.toml"
}

realnode_containerd_ready() { "$CONTAINERD_BIN/ctr" --address "$D/containerd/containerd.sock" version; }

# the sandbox image is imported, not pulled: the node has no credentials of its own
realnode_import_pause() {
	local archive=$D/realnode/pause.tar
	bah push --quiet "$PAUSE_IMAGE" "oci-archive:$archive:$PAUSE_IMAGE" >>"$LOGS/image-push.log" 2>&1 ||
		die "exporting the pause image failed (log: $LOGS/image-push.log)"
	"$CONTAINERD_BIN/ctr" --address "$D/containerd/containerd.sock" -n k8s.io images import \
		--local --label io.cri-containerd.pinned=pinned "$archive" >>"$LOGS/image-push.log" 2>&1 ||
		die "importing the pause image into containerd failed (log: $LOGS/image-push.log)"
	rm -f "$archive"
}

realnode_kubelet_up() {
	local n=$PODFLOW_REAL_NODE_NAME k=$D/kubelet
	mkdir -p "$k/root" "$k/pod-logs"
	cat >"$k/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $(realnode_gateway)
port: $PODFLOW_KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $PODFLOW_KUBELET_HEALTHZ_PORT
tlsCertFile: $PKI/kubelet-$n.crt
tlsPrivateKeyFile: $PKI/kubelet-$n.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $PKI/ca.crt}
authorization:
  mode: AlwaysAllow
containerRuntimeEndpoint: unix://$D/containerd/containerd.sock
imageServiceEndpoint: unix://$D/containerd/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: $(cat "$D/realnode/cgroup-root")
failCgroupV1: false
failSwapOn: false
podLogsDir: $k/pod-logs
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
maxPods: $PODFLOW_NODE_PODS
serializeImagePulls: false
nodeStatusUpdateFrequency: 4s
nodeStatusReportFrequency: 10s
evictionPressureTransitionPeriod: 10s
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
shutdownGracePeriod: 0s
EOF
	start_component "$n" "$K8S_BIN/kubelet" --config="$k/config.yaml" --kubeconfig="$D/nodes/$n.kubeconfig" \
		--root-dir="$k/root" --hostname-override="$n" --node-ip="$(realnode_gateway)" \
		--node-labels="podflow.dev/node=real,type=real" --register-with-taints=podflow.dev/node=real:NoSchedule
}

realnode_kube_proxy_up() {
	cat >"$D/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $D/kube-proxy.kubeconfig
mode: nftables
hostnameOverride: $PODFLOW_REAL_NODE_NAME
clusterCIDR: $PODFLOW_POD_SUBNET
detectLocalMode: ClusterCIDR
nodePortAddresses: ["$(realnode_gateway)/32"]
healthzBindAddress: 127.0.0.1:$PODFLOW_KUBE_PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$PODFLOW_KUBE_PROXY_METRICS_PORT
# leave the machine's conntrack settings alone
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
  udpTimeout: 0s
  udpStreamTimeout: 0s
EOF
	start_component kube-proxy "$K8S_BIN/kube-proxy" --config="$D/kube-proxy.yaml"
}

# ---- down ----------------------------------------------------------------------------------

# Removes the nftables tables that appeared since up (ours, kube-proxy's, and the iptables-nft
# tables the kubelet makes for its KUBE-FIREWALL and canary chains), and the kubelet's chains from
# tables that were there before.
realnode_firewall_down() {
	local t ipt tbl
	for ipt in iptables ip6tables; do
		command -v "$ipt" >/dev/null || continue
		"$ipt" -w -t filter -D INPUT -j KUBE-FIREWALL 2>/dev/null || true
		"$ipt" -w -t filter -D OUTPUT -j KUBE-FIREWALL 2>/dev/null || true
		for tbl in filter nat mangle; do
			for t in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT; do
				"$ipt" -w -t "$tbl" -F "$t" 2>/dev/null && "$ipt" -w -t "$tbl" -X "$t" 2>/dev/null || true
			done
		done
	done
	nft list tables | while read -r _ family name; do
		grep -qxF "table $family $name" "$D/realnode/nft-tables-before" ||
			nft delete table "$family" "$name" || echo "error: cannot delete nftables table $family $name" >&2
	done
	[ "$(nft list tables | sort)" = "$(sort "$D/realnode/nft-tables-before")" ] || {
		echo "error: nftables tables differ from before the cluster started" >&2
		return 1
	}
}

# kills every process in the node's cgroups (the containers; runc puts them there)
realnode_kill_containers() {
	local root h f pids end
	root=$(cat "$D/realnode/cgroup-root" 2>/dev/null) || return 0
	h=/sys/fs/cgroup/memory$root
	[ -d "$h" ] || return 0
	end=$((SECONDS + 10))
	while :; do
		pids=$(find "$h" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
		[ -n "$pids" ] || break
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null || true
		[ $SECONDS -lt $end ] || { echo "error: processes left in $h: $pids" >&2; return 1; }
		sleep 0.2
	done
}

realnode_unmount() {
	local m left
	# deepest first; lazily, since a netns file can be held by a dying process
	for _ in 1 2 3; do
		left=$(awk -v d="$D/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r)
		[ -n "$left" ] || return 0
		for m in $left; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
	done
	left=$(awk -v d="$D/" 'index($2, d) == 1 {print $2}' /proc/self/mounts)
	[ -z "$left" ] || {
		echo "error: mounts under $D remain: $left" >&2
		return 1
	}
}

realnode_machine_down() {
	local ok=0 dir c
	if [ -f "$D/realnode/cgroups-made" ]; then
		# deepest first, and the node's own subtree (kubepods, pods, containers) before that
		for dir in $(sort -r "$D/realnode/cgroups-made"); do
			[ -d "$dir" ] || continue
			find "$dir" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
			rmdir "$dir" 2>/dev/null || { echo "error: cannot remove cgroup $dir" >&2 && ok=1; }
		done
		rm -f "$D/realnode/cgroups-made"
	fi
	if [ -f "$D/realnode/bridge" ]; then
		ip link del "$(cat "$D/realnode/bridge")" 2>/dev/null || true
		rm -f "$D/realnode/bridge"
	fi
	if [ -f "$D/realnode/nft-tables-before" ]; then
		realnode_firewall_down || ok=1
		rm -f "$D/realnode/nft-tables-before"
	fi
	if [ -f "$D/realnode/sysctl-before" ]; then
		while IFS= read -r c; do sysctl -q -w "$c" >/dev/null || ok=1; done <"$D/realnode/sysctl-before"
		rm -f "$D/realnode/sysctl-before"
	fi
	return $ok
}
