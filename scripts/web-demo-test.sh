#!/usr/bin/env bash
# Checks the demo page (examples/web) in headless Chromium: builds
# vasi_web.wasm and the demo guest, packs examples/demo/data as a tar image,
# installs chromium (Debian) and puppeteer-core (npm, outside the clone) if
# missing, then runs examples/web/test.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
rustup target add wasm32-unknown-unknown wasm32-wasip1 >/dev/null
cargo build --quiet -p vasi-web --profile web --target wasm32-unknown-unknown
cargo build --quiet --release --target wasm32-wasip1 \
    --manifest-path examples/demo/Cargo.toml --target-dir "$target/demo"
mkdir -p "$target/web-demo"
tar --format=ustar -cf "$target/web-demo/data.tar" -C examples/demo/data .
if [ -z "${CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
    apt-get install -y chromium >/dev/null 2>&1 \
        || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
fi
export VASI_NPM="$(bash scripts/web-npm.sh)"
export VASI_WEB_WASM="$target/wasm32-unknown-unknown/web/vasi_web.wasm"
export DEMO_WASM="$target/demo/wasm32-wasip1/release/demo.wasm"
export DATA_TAR="$target/web-demo/data.tar"
exec node examples/web/test.mjs
