#!/usr/bin/env bash
# podflow's image as the repository's Dockerfile builds it (tests/cluster/images/build: buildah
# bud with its layer cache, a debootstrap Debian as the build stage's base; no Docker engine, no
# registry): FROM scratch, at most 50 MB, USER 65532:65532, the four binaries start from it alone,
# and it holds no shell, no package manager and no compiler (docs/kubernetes.md, "The image").
# Root; buildah and debootstrap come from scripts/install-deps. ctest: image.podflow.
set -euo pipefail
SOURCE=${PODFLOW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$SOURCE/tests/cluster/lib.sh"
source "$SOURCE/tests/cluster/images/lib.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v buildah >/dev/null || fail "no buildah (scripts/install-deps installs it)"
"$SOURCE/tests/cluster/images/build" podflow
TAG=$PODFLOW_IMAGE_LOCAL
c=$(bah from --pull=never "$TAG")
root=""
trap '[ -n "$root" ] && bah umount "$c" >/dev/null 2>&1; bah rm "$c" >/dev/null 2>&1 || true' EXIT

user=$(bah inspect --type image --format '{{.OCIv1.Config.User}}' "$TAG")
[ "$user" = 65532:65532 ] || fail "the image's USER is '$user', not 65532:65532"
# Each binary, run directly (there is no shell to run it through).
run() { bah run --isolation chroot "$c" -- "$@" 2>&1; }
grep -q '^podflow 0.1.0' <<<"$(run podflow --version)" || fail "podflow does not start"
grep -q '^podflow-operator:' <<<"$(run podflow-operator --help)" || fail "podflow-operator does not start"
grep -q '^podflow-runtime:' <<<"$(run podflow-runtime --help)" || fail "podflow-runtime does not start"
grep -q '^usage: bigsum' <<<"$(run bigsum || true)" || fail "bigsum does not start"

root=$(bah mount "$c")
found=$(cd "$root" && find . \( -name sh -o -name bash -o -name dash -o -name busybox -o -name apt \
	-o -name apt-get -o -name dpkg -o -name gcc -o -name 'g++' -o -name cc -o -name cmake \) -print)
[ -z "$found" ] || fail "a shell, package manager or compiler is in the image: $found"
[ "$(stat -c %u "$root/home/podflow")" = 65532 ] || fail "/home/podflow is not owned by 65532"
[ "$(stat -c %a "$root/tmp")" = 1777 ] || fail "/tmp is not 1777"
[ -s "$root/etc/ssl/certs/ca-certificates.crt" ] || fail "no CA bundle in the image"
bytes=$(du -sb "$root" | cut -f1)
[ "$bytes" -le $((50 * 1000 * 1000)) ] || fail "the image holds $bytes bytes; the bound is 50 MB"
echo "ok: $TAG builds from the Dockerfile; FROM scratch, USER 65532:65532; podflow, podflow-runtime," \
	"podflow-operator, bigsum start; no shell, package manager or compiler; $bytes bytes"
