#!/usr/bin/env bash
# Runs vasi-web on Deno (from npm's `deno` package, installed by
# scripts/web-npm.sh outside the clone): examples/web/deno-test.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --quiet -p vasi-web --profile web --target wasm32-unknown-unknown
cargo build --quiet --release --target wasm32-wasip1 \
    --manifest-path examples/demo/Cargo.toml --target-dir "$target/demo"
npm_dir="$(bash scripts/web-npm.sh)"
export VASI_WEB_WASM="$target/wasm32-unknown-unknown/web/vasi_web.wasm"
export DEMO_WASM="$target/demo/wasm32-wasip1/release/demo.wasm"
exec "$npm_dir/node_modules/.bin/deno" run --allow-read --allow-env examples/web/deno-test.mjs
