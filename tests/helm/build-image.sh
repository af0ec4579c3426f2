#!/usr/bin/env bash
# podflow's image as the repository's Dockerfile builds it (tests/cluster/images/build: buildah
# bud with its layer cache, a debootstrap Debian as the base; no Docker engine, no registry): it
# runs as uid 65532, the four binaries start, apt, dpkg and compilers are absent. Root; buildah and
# debootstrap come from scripts/install-deps. ctest: image.podflow.
set -euo pipefail
SOURCE=${PODFLOW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$SOURCE/tests/cluster/lib.sh"
source "$SOURCE/tests/cluster/images/lib.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v buildah >/dev/null || fail "no buildah (scripts/install-deps installs it)"
"$SOURCE/tests/cluster/images/build" podflow
TAG=$PODFLOW_IMAGE_LOCAL
c=$(bah from --pull=never "$TAG")
trap 'bah rm "$c" >/dev/null 2>&1 || true' EXIT
out=$(bah run --isolation chroot "$c" -- sh -c 'id -u; id -g; podflow --version; podflow-operator --help | head -1;
	podflow-runtime --help | head -1; bigsum 2>&1 | head -1; for p in apt apt-get dpkg gcc g++ cc c++ cmake; do command -v $p || true; done')
echo "$out"
[ "$(sed -n 1p <<<"$out")" = 65532 ] && [ "$(sed -n 2p <<<"$out")" = 65532 ] || fail "not uid/gid 65532"
grep -q '^podflow 0.1.0' <<<"$out" && grep -q '^podflow-operator:' <<<"$out" && grep -q '^podflow-runtime:' <<<"$out" &&
	grep -q '^usage: bigsum' <<<"$out" || fail "a binary does not start"
grep -q '^/' <<<"$out" && fail "a package manager or compiler is in the image"
size=$(bah inspect --type image --format '{{.Size}}' "$TAG" 2>/dev/null || echo "?")
echo "ok: $TAG builds from the Dockerfile; uid 65532; podflow, podflow-runtime, podflow-operator, bigsum run; no apt, dpkg or compiler (size $size bytes)"
