#!/usr/bin/env bash
# vasi-web vs npm's @bjorn3/browser_wasi_shim under Node, in one process
# (benches/web/bench.mjs, on benches/guest's hostcall benchmarks); prints the
# table of README's "In the browser". BENCH_QUICK=1: fewer iterations.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
rustup target add wasm32-unknown-unknown wasm32-wasip1 >/dev/null
cargo build --quiet -p vasi-web --profile web --target wasm32-unknown-unknown
(cd benches/guest && CARGO_TARGET_DIR="$target/bench-guest" cargo build --quiet --release --target wasm32-wasip1)
export VASI_WEB_WASM="$target/wasm32-unknown-unknown/web/vasi_web.wasm"
export BENCH_WASM="$target/bench-guest/wasm32-wasip1/release/bench.wasm"
export VASI_NPM="$(bash scripts/web-npm.sh)"
exec node benches/web/bench.mjs
