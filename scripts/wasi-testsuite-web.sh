#!/usr/bin/env bash
# Runs the official WASI test suite (prod/testsuite-base) on vasi-web under
# Node (scripts/vasi-node, test directories mounted as in-memory copies) and,
# in the same run and the same way, on npm's @bjorn3/browser_wasi_shim
# (scripts/testsuite-adapters/shim-node): the two figures in README's "In the
# browser". Both go through our adapter, tests/wasi-testsuite/vasi_adapter.py.
#
#   WASI_TESTSUITE=/path/to/wasi-testsuite PYTHON=/path/to/python3.12 bash scripts/wasi-testsuite-web.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${WASI_TESTSUITE:-}" ] || [ ! -d "$WASI_TESTSUITE/tests" ]; then
    echo "skipped: set WASI_TESTSUITE to a checkout of wasi-testsuite (prod/testsuite-base)"
    exit 0
fi
root="$PWD"
target="${CARGO_TARGET_DIR:-$root/target}"
cargo build --quiet -p vasi-web --profile web --target wasm32-unknown-unknown
export VASI_WEB_WASM="$target/wasm32-unknown-unknown/web/vasi_web.wasm"
export VASI_NPM="$(bash scripts/web-npm.sh)"
export VASI_BACKEND=mem
adapter="$root/tests/wasi-testsuite/vasi_adapter.py"
cd "$WASI_TESTSUITE"
status=0
for runtime in "vasi-node:$root/scripts/vasi-node" "browser_wasi_shim:$root/scripts/testsuite-adapters/shim-node"; do
    name="${runtime%%:*}"
    echo "=== $name"
    VASI_NAME="$name" VASI="${runtime#*:}" "${PYTHON:-python3}" ./run-tests --runtime-adapter "$adapter" "$@" \
        | tee "/tmp/wasi-testsuite-$name.log" | grep -v '^ ' || true
    # Only vasi-web must pass everything.
    if [ "$name" = vasi-node ] && ! grep -q "PASS: 72 tests passed" "/tmp/wasi-testsuite-$name.log"; then
        status=1
    fi
done
exit $status
