# syntax=docker/dockerfile:1
# podflow's image: podflow (CLI), podflow-runtime (what every task pod runs), podflow-operator,
# and the bigsum example, in /usr/local/bin, running as uid 65532.
#
#   docker build -t registry.example.com/podflow/podflow:0.1.0 .                 # the image
#   docker build --target base -t registry.example.com/podflow/podflow:0.1.0-base .
#
# Targets: `build` (toolchain + compile), `base` (runtime libraries and the binaries, apt still
# there: build your step images FROM it), and the default last stage (base without apt/dpkg: the
# operator's image and the default task image). See docs/kubernetes.md.
# Pin the base images by digest for reproducible builds, e.g.
#   --build-arg DEBIAN=debian:bookworm@sha256:... --build-arg DEBIAN_SLIM=debian:bookworm-slim@sha256:...
ARG DEBIAN=debian:bookworm
ARG DEBIAN_SLIM=debian:bookworm-slim

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

FROM ${DEBIAN_SLIM} AS base
# only the shared libraries the binaries link (ldd): cpprestsdk (brings libssl3, zlib, brotli),
# yaml-cpp; ca-certificates for HTTPS to S3 and the API server
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libcpprest2.10 libyaml-cpp0.7 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log
COPY --from=build /out/bin/podflow /out/bin/podflow-runtime /out/bin/podflow-operator /out/bin/bigsum /usr/local/bin/
# fail the build if a library is missing
RUN for b in podflow podflow-runtime podflow-operator bigsum; do \
      ! ldd /usr/local/bin/$b | grep 'not found' || exit 1; done \
 && podflow-operator --help >/dev/null && podflow-runtime --help >/dev/null
RUN groupadd --gid 65532 podflow && useradd --uid 65532 --gid 65532 --home-dir /home/podflow --create-home --shell /usr/sbin/nologin podflow
USER 65532:65532
WORKDIR /home/podflow
CMD ["podflow-operator", "--help"]

FROM base AS final
USER 0
# no package manager left usable in the image that runs (step images build FROM the base target);
# /var/lib/dpkg/status stays, so image scanners still see the installed packages
RUN dpkg --purge --force-remove-essential --force-depends --force-remove-protected apt \
 && rm -f /usr/bin/dpkg /usr/bin/dpkg-* /usr/sbin/dpkg-* /usr/bin/apt*
USER 65532:65532
LABEL org.opencontainers.image.title="podflow" \
      org.opencontainers.image.description="podflow-operator, podflow-runtime and the podflow CLI"
CMD ["podflow-operator", "--help"]
