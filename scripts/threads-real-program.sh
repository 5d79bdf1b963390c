#!/usr/bin/env bash
# A real third-party program built for wasm32-wasip1-threads from crates.io
# gives the same output through `vasi run` as natively: parallel-disk-usage
# 0.24.0 (`pdu`, `cargo install --locked --target wasm32-wasip1-threads`), a
# directory-tree analyser that walks and stats in parallel on rayon
# (`--threads N`). It measures the sources of the crates it is built from,
# with --threads 1, 2 and 4, through a host directory, and compares the chart
# and the JSON tree with native pdu's; it checks from the trace that the
# guest's calls came from several threads; then prints wall times.
#
# (ripgrep is not used: its parallel directory walker, the `ignore` crate,
# refuses every platform but unix and windows, so `rg -j2` built for WASI
# says "unsupported platform" on any host.)
#
# It compiles pdu twice (native and wasm; crates.io sources), so it is not
# part of the test suite. Work files go to $VASI_THREADS_DEMO_DIR (default
# /tmp/vasi-threads-demo).
#
#   bash scripts/threads-real-program.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vasi-target}"
WORK="${VASI_THREADS_DEMO_DIR:-/tmp/vasi-threads-demo}"
mkdir -p "$WORK"
rustup target add wasm32-wasip1-threads >/dev/null 2>&1 || true
cargo build -q -p vasi-cli
VASI="$CARGO_TARGET_DIR/debug/vasi"

PDU_WASM="$WORK/pdu-wasm/bin/pdu.wasm"
PDU="$WORK/pdu-native/bin/pdu"
[ -f "$PDU_WASM" ] || cargo install -q --locked parallel-disk-usage --version 0.24.0 \
    --target wasm32-wasip1-threads --root "$WORK/pdu-wasm"
[ -f "$PDU" ] || cargo install -q --locked parallel-disk-usage --version 0.24.0 \
    --root "$WORK/pdu-native"

# The tree: the sources of the crates pdu is built from.
TREE="$WORK/tree"
if [ ! -d "$TREE" ]; then
    mkdir -p "$TREE"
    SRC=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/parallel-disk-usage-0.24.0 | head -1)
    REG=$(dirname "$SRC")
    awk '/^name = /{n=$3} /^version = /{v=$3; gsub(/"/,"",n); gsub(/"/,"",v); print n"-"v}' \
        "$SRC/Cargo.lock" | while read -r d; do
        if [ -d "$REG/$d" ]; then cp -r "$REG/$d" "$TREE/"; fi
    done
fi
echo "tree: $(find "$TREE" -type f | wc -l) files, $(du -sh --apparent-size "$TREE" | cut -f1)"

# The guest sees the tree at the same path as the host, so the outputs match.
same() {
    local what=$1
    shift
    "$PDU" "$@" "$TREE" >"$WORK/native.out"
    "$VASI" run --dir "$TREE" "$PDU_WASM" "$@" "$TREE" >"$WORK/vasi.out"
    if ! cmp -s "$WORK/native.out" "$WORK/vasi.out"; then
        echo "DIFFERENT: pdu $*" >&2
        diff "$WORK/native.out" "$WORK/vasi.out" | head -20 >&2
        exit 1
    fi
    echo "same output: pdu $* ($what, $(wc -c <"$WORK/native.out") bytes)"
}
for j in 1 2 4; do
    same chart --threads "$j" -q apparent-size -b plain --max-depth 4 -w 120
    same JSON --threads "$j" -q apparent-size -b plain --json-output --min-ratio 0 --max-depth inf
done
"$VASI" run --trace="$WORK/trace" --dir "$TREE" "$PDU_WASM" --threads 4 -q apparent-size "$TREE" >/dev/null
threads=$(cut -d']' -f1 "$WORK/trace" | sort -u | wc -l)
echo "the guest's hostcalls came from $threads threads (--threads 4, and the main one)"
[ "$threads" -ge 3 ] || { echo "expected calls from several threads" >&2; exit 1; }

# Wall seconds, median of 5.
wall() {
    for _ in 1 2 3 4 5; do
        local t0 t1
        t0=$(date +%s.%N)
        "$@" >/dev/null
        t1=$(date +%s.%N)
        echo "$t1 - $t0" | bc
    done | sort -n | sed -n 3p
}
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for j in 1 2; do
    printf 'pdu --threads %s: through vasi %.3f s, natively %.3f s\n' "$j" \
        "$(wall "$VASI" run --dir "$TREE" "$PDU_WASM" --threads "$j" -q apparent-size "$TREE")" \
        "$(wall "$PDU" --threads "$j" -q apparent-size "$TREE")"
done
