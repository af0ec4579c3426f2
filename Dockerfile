# syntax=docker/dockerfile:1
# podflow's image: podflow-operator, podflow-runtime (static; every task pod's init container
# copies it into the pod, whatever the step's image), the podflow CLI and the bigsum example, in
# /usr/local/bin, running as uid 65532. No shell, no package manager: the root holds the binaries,
# the shared libraries the operator and the CLI load (found with ldd), the dynamic loader, the CA
# bundle and passwd/group entries, nothing else (docs/kubernetes.md, "The image").
#
#   docker build -t registry.example.com/podflow/podflow:0.1.0 .
#
# Pin the base image by digest for reproducible builds: --build-arg DEBIAN=debian:bookworm@sha256:...
ARG DEBIAN=debian:bookworm

FROM ${DEBIAN} AS build
# the toolchain and -dev packages, exactly as developers get them
COPY scripts/install-deps /usr/local/sbin/podflow-install-deps
RUN /usr/local/sbin/podflow-install-deps --build && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG BUILD_JOBS=2
# RelWithDebInfo (-O2), the configuration developers build and test, without its -g: the binaries
# are stripped below anyway, and debug info costs compile time. Release (-O3) does not compile
# with GCC 12 and -Werror: a false -Wrestrict in std::string's operator+ (flow/diagnostic.cpp;
# GCC bug 105329).
RUN cmake -S . -B /out -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" -DPODFLOW_CLUSTER_TESTS=OFF \
 && cmake --build /out -j "${BUILD_JOBS}" --target podflow podflow-runtime podflow-operator bigsum \
 && strip /out/bin/podflow /out/bin/podflow-runtime /out/bin/podflow-operator /out/bin/bigsum
# The image's root, assembled here: each binary with the libraries ldd names (at the same paths,
# so the loader's default search finds them), the CA bundle, and the two users.
RUN set -eu; root=/rootfs; \
    mkdir -p $root/usr/local/bin $root/etc/ssl/certs $root/tmp $root/home/podflow; \
    cp /out/bin/podflow /out/bin/podflow-runtime /out/bin/podflow-operator /out/bin/bigsum $root/usr/local/bin/; \
    for binary in $root/usr/local/bin/*; do \
      ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'; \
    done | sort -u | while read -r library; do \
      mkdir -p "$root$(dirname "$library")"; cp -L "$library" "$root$library"; \
    done; \
    cp /etc/ssl/certs/ca-certificates.crt $root/etc/ssl/certs/; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\npodflow:x:65532:65532:podflow:/home/podflow:/sbin/nologin\n' >$root/etc/passwd; \
    printf 'root:x:0:\npodflow:x:65532:\n' >$root/etc/group; \
    chmod 1777 $root/tmp; chown 65532:65532 $root/home/podflow; \
    # fail the build if the root misses a library: every binary runs from it alone
    for b in podflow podflow-operator podflow-runtime; do chroot $root /usr/local/bin/$b --help >/dev/null; done; \
    status=0; chroot $root /usr/local/bin/bigsum 2>/dev/null || status=$?; test $status = 2  # its usage

FROM scratch
COPY --from=build /rootfs/ /
ENV PATH=/usr/local/bin
USER 65532:65532
WORKDIR /home/podflow
LABEL org.opencontainers.image.title="podflow" \
      org.opencontainers.image.description="podflow-operator, podflow-runtime and the podflow CLI"
CMD ["podflow-operator", "--help"]
