# shellcheck shell=bash
# Shared settings of the image scripts (sourced after ../lib.sh).
IMAGES_CACHE=$PODFLOW_CACHE_DIR/images
DEBIAN_MIRROR=${PODFLOW_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# the images in the storage; `up` pushes each to the registry as <registry>/<path after localhost/>
DEBIAN_IMAGE=docker.io/library/debian:bookworm
PYTHON_IMAGE=localhost/podflow-test/python:bookworm
BUSYBOX_IMAGE=localhost/podflow-test/busybox:static
PAUSE_IMAGE=localhost/podflow-test/pause:1
PODFLOW_IMAGE_LOCAL=localhost/podflow/podflow:dev
# bah ARGS: buildah on the project's own storage, never the machine's /var/lib/containers
bah() {
	buildah --root "$IMAGES_CACHE/storage" --runroot "$IMAGES_CACHE/run" --storage-driver overlay "$@"
}
