#!/usr/bin/env bash
# Runs every test: unit tests, doctests, the guest programs of tests/programs
# (built for wasm32-wasip1 by the test build) on HostDir and MemFs, and the CLI
# tests, and the same guest programs on vasi-web under Node
# (crates/vasi-web/tests/node.rs; it needs `node` on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip1 wasm32-wasip1-threads wasm32-unknown-unknown >/dev/null
exec cargo test --workspace
