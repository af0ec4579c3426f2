#!/usr/bin/env bash
# Builds the repository's Dockerfile with buildah (no Docker engine, no registry needed: the
# Debian base image comes from debootstrap) and checks the result: it runs as uid 65532, the four
# binaries start, apt, dpkg and compilers are absent. ~8 min on 2 cores; root; needs
# `apt-get install buildah debootstrap` and deb.debian.org. ctest: -DPODFLOW_IMAGE_TESTS=ON.
set -euo pipefail
SOURCE=${PODFLOW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TAG=${PODFLOW_IMAGE:-localhost/podflow:test}
JOBS=${BUILD_JOBS:-2}
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v buildah >/dev/null || fail "no buildah (apt-get install buildah debootstrap)"
if ! buildah inspect --type image localhost/debian:bookworm >/dev/null 2>&1; then
	command -v debootstrap >/dev/null || fail "no debootstrap"
	rootfs=$(mktemp -d)
	debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
	printf 'deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
		>"$rootfs/etc/apt/sources.list"
	rm -f "$rootfs"/var/cache/apt/archives/*.deb
	c=$(buildah from scratch)
	cp -a "$rootfs/." "$(buildah mount "$c")/"
	buildah umount "$c" >/dev/null
	buildah commit -q "$c" localhost/debian:bookworm >/dev/null
	buildah rm "$c" >/dev/null
	rm -rf "$rootfs"
fi
buildah tag localhost/debian:bookworm localhost/debian:bookworm-slim
nice buildah bud --isolation chroot --pull=never --layers -f "$SOURCE/Dockerfile" \
	--build-arg DEBIAN=localhost/debian:bookworm --build-arg DEBIAN_SLIM=localhost/debian:bookworm-slim \
	--build-arg BUILD_JOBS="$JOBS" -t "$TAG" "$SOURCE"
c=$(buildah from --pull=never "$TAG")
trap 'buildah rm "$c" >/dev/null 2>&1 || true' EXIT
out=$(buildah run --isolation chroot "$c" -- sh -c 'id -u; id -g; podflow --version; podflow-operator --help | head -1;
	podflow-runtime --help | head -1; bigsum 2>&1 | head -1; for p in apt apt-get dpkg gcc g++ cc c++ cmake; do command -v $p || true; done')
echo "$out"
[ "$(sed -n 1p <<<"$out")" = 65532 ] && [ "$(sed -n 2p <<<"$out")" = 65532 ] || fail "not uid/gid 65532"
grep -q '^podflow 0.1.0' <<<"$out" && grep -q '^podflow-operator:' <<<"$out" && grep -q '^podflow-runtime:' <<<"$out" &&
	grep -q '^usage: bigsum' <<<"$out" || fail "a binary does not start"
grep -q '^/' <<<"$out" && fail "a package manager or compiler is in the image"
echo "ok: $TAG builds; uid 65532; podflow, podflow-runtime, podflow-operator, bigsum run; no apt, dpkg or compiler"
