#!/bin/sh
# Builds Argo Workflows' workflow-controller at a pinned version from the Go module proxy into
# ~/.cache/podflow/argo-<version>/workflow-controller (idempotent; ~12 min cold on 2 busy cores).
# bench/cluster_compare.py runs it as a local process; the CRDs come from the same module
# (manifests/base/crds/minimal).
#
# Not `go install ...@version`: that reads .../@v/list for deprecation notices, which this proxy
# answers with "403 Forbidden: This module version is not available"; a wrapper module that
# requires the version and `go build`s the command avoids the list.
set -eu
VERSION=${ARGO_VERSION:-v3.6.12}
DIR=${ARGO_DIR:-$HOME/.cache/podflow/argo-$VERSION}
if [ -x "$DIR/workflow-controller" ]; then
  echo "$DIR/workflow-controller"
  exit 0
fi
mkdir -p "$DIR/src"
cd "$DIR/src"
cat >go.mod <<EOM
module podflow.dev/argo-build

go 1.24.4

require github.com/argoproj/argo-workflows/v3 $VERSION
EOM
cat >tools.go <<EOM
//go:build tools

package tools

import _ "github.com/argoproj/argo-workflows/v3/cmd/workflow-controller"
EOM
GOTOOLCHAIN=local GOFLAGS=-mod=mod nice -n 19 go mod tidy
GOTOOLCHAIN=local nice -n 19 go build -o "$DIR/workflow-controller" github.com/argoproj/argo-workflows/v3/cmd/workflow-controller
echo "$DIR/workflow-controller"
