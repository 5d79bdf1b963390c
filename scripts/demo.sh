#!/usr/bin/env bash
# Builds the `vasi` CLI and the demo guest (examples/demo, for wasm32-wasip1),
# then runs the guest with examples/demo/data mounted at /data and an in-memory
# /scratch directory.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip1 >/dev/null
target="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --quiet -p vasi-cli
cargo build --quiet --release --target wasm32-wasip1 \
    --manifest-path examples/demo/Cargo.toml --target-dir "$target/demo"
exec "$target/debug/vasi" run \
    --dir examples/demo/data::/data \
    --mem-dir /scratch \
    "$target/demo/wasm32-wasip1/release/demo.wasm" /data
