#!/usr/bin/env bash
# Runs vasi's benchmark harness (benches/, its own cargo workspace): the same
# guest benchmarks through vasi on HostDir and MemFs and through wasmtime-wasi's
# preview1 on one wasmtime Engine, beside native Rust, and prints a Markdown
# results table on stdout (progress on stderr).
#
#   scripts/bench.sh                  # everything (a few minutes)
#   scripts/bench.sh --quick          # smoke test with small N
#   scripts/bench.sh clock readdir    # a subset; see --help
#
# The first build compiles wasmtime with its component model (wasmtime-wasi
# needs it): give it a quarter of an hour on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip1 >/dev/null 2>&1 || true
exec cargo run --quiet --release --locked --manifest-path benches/Cargo.toml -- "$@"
