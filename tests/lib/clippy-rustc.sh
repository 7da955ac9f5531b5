#!/bin/sh
# The compiler of the workspace's own crates in `make compile`, `suites` and
# `security` (cargo's RUSTC_WORKSPACE_WRAPPER; dependencies still go to plain
# rustc). Clippy's driver is rustc with clippy's lints added, as `cargo clippy`
# runs it, so the release build the suites use is also the lint: the
# dependencies compile once, not a second time in check mode for clippy.
# Cargo calls this as `clippy-rustc.sh <path to rustc> <args...>`.
exec clippy-driver "$@" -D warnings
