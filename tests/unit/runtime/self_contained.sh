#!/usr/bin/env bash
# podflow-runtime needs nothing of the image it runs in (docs/kubernetes.md, "Step images"): it
# is a static executable (no program interpreter, no shared library), and it runs a whole task in
# a root that holds only itself and busybox-static: no libc, no loader, no /etc, no CA bundle.
#   self_contained.sh PODFLOW_RUNTIME
set -uo pipefail
runtime="$1"
failed=0
check() {
  local what="$1"; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failed=1; fi
}

headers="$(readelf -lW "$runtime")" || { echo "FAILED: readelf -l $runtime"; exit 1; }
check "no program interpreter (INTERP header): the image needs no dynamic loader" \
  test -z "$(grep INTERP <<<"$headers")"
check "no shared library needed (no NEEDED entry)" \
  test -z "$(readelf -dW "$runtime" | grep NEEDED)"

if [ "$(id -u)" != 0 ]; then
  echo "FAILED: running the runtime in an empty root needs chroot, so root (CI runs as root)"
  exit 1
fi
busybox=/bin/busybox
if ! [[ "$(ldd "$busybox" 2>&1 || true)" == *"not a dynamic executable"* ]]; then
  echo "FAILED: $busybox is not busybox-static; run scripts/install-deps"
  exit 1
fi
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/podflow/bin" "$root/data" "$root/dev" "$root/proc"
cp "$busybox" "$root/bin/busybox"
cp "$runtime" "$root/runtime-image-copy"
# /dev/null and /proc are what a container always has; nothing else is given.
mknod -m 666 "$root/dev/null" c 1 3
mount -t proc proc "$root/proc" || { echo "FAILED: mount proc in $root"; exit 1; }
trap 'umount "$root/proc"; rm -rf "$root"' EXIT

check "--install copies itself into a directory (the init container's job)" \
  chroot "$root" /runtime-image-copy --install /podflow/bin
check "...as an executable, read-only file" \
  test "$(stat -c %a "$root/podflow/bin/podflow-runtime")" = 555

cat >"$root/task.json" <<'JSON'
{"datastore": "/data", "flow": "selfcontained", "run": "1", "step": "start", "task": "start",
 "attempt": 0, "workDir": "/work",
 "command": ["/bin/busybox", "sh", "-c", "echo from-busybox > \"$PODFLOW_OUTPUTS/greeting\""]}
JSON
chroot "$root" /podflow/bin/podflow-runtime --task /task.json --result /result.json >"$root/out" 2>&1
status=$?
cat "$root/out"
check "a task runs in a root without libc and commits (exit $status)" test "$status" = 0
check "...its result says succeeded" grep -q '"status":"succeeded"' "$root/result.json"
check "...and its output is stored by content" \
  test -n "$(grep -rl '^from-busybox$' "$root/data/selfcontained/data" 2>/dev/null)"
exit $failed
