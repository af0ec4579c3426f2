//go:build tools

// Package tools pins the OCI registry (the reference implementation, distribution) that the test
// cluster serves images from.
package tools

import _ "github.com/distribution/distribution/v3/cmd/registry"
