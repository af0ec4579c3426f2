//go:build tools

// Package tools pins the container runtime of the real test node built by tests/cluster/build:
// containerd 2.x (the kubelet of Kubernetes 1.36 no longer supports 1.x), its runc shim, and ctr
// (imports the pause image).
package tools

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
)
