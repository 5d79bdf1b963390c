#!/usr/bin/env bash
# Runs the official WASI test suite (WebAssembly/wasi-testsuite) through
# `vasi run` with the suite's own runner and our adapter. The suite is never
# part of this repository: point WASI_TESTSUITE at a checkout of branch
# prod/testsuite-base (prebuilt preview1 tests) or prod/testsuite-all (those
# plus the proposals' tests, among them the 15 wasi-threads tests, which
# `vasi run` recognises by their imports). The adapter speaks both branches'
# runners (one root directory, or a list of directory pairs).
#
#   WASI_TESTSUITE=/path/to/wasi-testsuite bash scripts/wasi-testsuite.sh
#   VASI_BACKEND=mem WASI_TESTSUITE=... bash scripts/wasi-testsuite.sh   # MemFs
#   VASI_BACKEND=overlay WASI_TESTSUITE=... bash scripts/wasi-testsuite.sh
#
# The runner needs Python 3.12 or newer with the packages of its
# test-runner/requirements.txt (PYTHON names the interpreter to use).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${WASI_TESTSUITE:-}" ] || [ ! -d "$WASI_TESTSUITE/tests" ]; then
    echo "skipped: set WASI_TESTSUITE to a checkout of wasi-testsuite (prod/testsuite-base or prod/testsuite-all)"
    exit 0
fi
target="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --quiet -p vasi-cli
export VASI="$target/debug/vasi"
adapter="$PWD/tests/wasi-testsuite/vasi_adapter.py"
cd "$WASI_TESTSUITE"
exec "${PYTHON:-python3}" ./run-tests --runtime-adapter "$adapter" "$@"
