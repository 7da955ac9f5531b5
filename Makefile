# GraphFS developer commands. Build artefacts and downloaded tools live under
# ~/.cache/graphfs so that every checkout shares them and a second run is fast.

CACHE_DIR ?= $(HOME)/.cache/graphfs
export CARGO_TARGET_DIR ?= $(CACHE_DIR)/target
CARGO ?= cargo

.PHONY: dev dev-real local-cluster tools build release test unit lint fmt bench crds envtest clean-data help

help:
	@echo "make dev    - build and run GraphFS locally on http://127.0.0.1:8080 (embedded storage, offline tagger)"
	@echo "make dev-real - the same on a real MinIO and Neo4j, started locally"
	@echo "make local-cluster - 3 API replicas and 2 taggers behind nginx, on MinIO and Neo4j"
	@echo "make test   - format check, clippy, and the whole test suite"
	@echo "make bench  - throughput and latency figures against a running server"
	@echo "make fmt    - format the code"
	@echo "make crds   - regenerate crds/ from the operator's types"

## Run GraphFS on its embedded default: data in ./data, token printed at start.
dev:
	$(CARGO) build --release -p graphfs-api --bin graphfs
	$(CARGO_TARGET_DIR)/release/graphfs serve --dev

build:
	$(CARGO) build --workspace --bins

## Run GraphFS on a real MinIO and Neo4j (installed and started under ./data/servers).
dev-real:
	$(CARGO) build --release -p graphfs-api --bin graphfs
	tests/minio/install.sh && tests/neo4j/install.sh
	tests/minio/start.sh ./data/servers/minio >/dev/null
	tests/neo4j/start.sh ./data/servers/neo4j >/dev/null
	set -a; . ./data/servers/minio/env; . ./data/servers/neo4j/env; set +a; \
	  GRAPHFS_STORAGE=s3 GRAPHFS_GRAPH=neo4j $(CARGO_TARGET_DIR)/release/graphfs serve --dev; \
	  tests/minio/stop.sh ./data/servers/minio; tests/neo4j/stop.sh ./data/servers/neo4j

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	tests/docker/lint.sh

unit: build envtest tools
	$(CARGO) test --workspace
	# The HTTP suite once more, on a real MinIO and Neo4j (one test at a time:
	# they share the two servers).
	GRAPHFS_E2E_BACKENDS=real $(CARGO) test -p graphfs-e2e --test api -- --test-threads=1
	# The Helm chart: lint, render, bad values refused, installed into the
	# real API server with the operator's permissions checked.
	tests/helm/install.sh
	GRAPHFS_HELM_APISERVER=1 tests/helm/check.sh

## The release binaries exactly as the Dockerfile builds them.
release:
	$(CARGO) build --release --locked -p graphfs-api --bin graphfs
	$(CARGO) build --release --locked -p graphfs-operator --bin graphfs-operator

test: lint release unit

fmt:
	$(CARGO) fmt --all

## Benchmarks: release build, a fresh server per figure.
bench:
	$(CARGO) build --release -p graphfs-api -p graphfs-e2e --bins
	GRAPHFS_BIN=$(CARGO_TARGET_DIR)/release/graphfs $(CARGO_TARGET_DIR)/release/graphfs-bench

## Regenerate crds/ from the operator's Rust types.
crds:
	$(CARGO) run -q -p graphfs-operator --bin crdgen > crds/graphfs.yaml

## The cluster topology as local processes: MinIO, Neo4j, 3 API replicas,
## 2 taggers, nginx in front on 127.0.0.1:8080.
local-cluster: tools
	$(CARGO) build --release -p graphfs-api --bin graphfs
	tests/local-cluster/run.sh

## Debian tools the failover test drives (nginx as the ingress, wrk as the load).
tools:
	@command -v nginx >/dev/null && command -v wrk >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx wrk >/dev/null; }

## A real kube-apiserver and etcd for the operator tests (built once, cached).
envtest:
	tests/envtest/install.sh

clean-data:
	rm -rf ./data
