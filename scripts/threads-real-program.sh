#!/usr/bin/env bash
# A real third-party program built for wasm32-wasip1-threads from crates.io
# gives the same output through `vasi run` as natively: ripgrep 15.2.0
# (`cargo install --locked --target wasm32-wasip1-threads`), whose directory
# walk and search run on `-j N` threads (ignore's parallel walker, std::thread
# inside). It searches the sources of the crates it is built from, with
# -j1, -j2 and -j4, on a host directory and on an in-memory copy of it, and
# compares each sorted output with native ripgrep's; then prints the wall
# times of -j1 and -j2 through vasi.
#
# It compiles ripgrep twice (native and wasm; crates.io sources), so it is
# not part of the test suite. Work files go to $VASI_THREADS_DEMO_DIR
# (default /tmp/vasi-threads-demo).
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

RG_WASM="$WORK/rg-wasm/bin/rg.wasm"
RG="$WORK/rg-native/bin/rg"
[ -f "$RG_WASM" ] || cargo install -q --locked ripgrep --version 15.2.0 \
    --target wasm32-wasip1-threads --root "$WORK/rg-wasm"
[ -f "$RG" ] || cargo install -q --locked ripgrep --version 15.2.0 --root "$WORK/rg-native"

# The tree: the sources of the crates ripgrep is built from.
TREE="$WORK/tree"
if [ ! -d "$TREE" ]; then
    mkdir -p "$TREE"
    SRC=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/ripgrep-15.2.0 | head -1)
    REG=$(dirname "$SRC")
    awk '/^name = /{n=$3} /^version = /{v=$3; gsub(/"/,"",n); gsub(/"/,"",v); print n"-"v}' \
        "$SRC/Cargo.lock" | while read -r d; do
        if [ -d "$REG/$d" ]; then cp -r "$REG/$d" "$TREE/"; fi
    done
fi
echo "tree: $(find "$TREE" -type f | wc -l) files, $(du -sh "$TREE" | cut -f1)"

# The guest sees the tree at the same path as the host, so output lines match.
same() {
    local what=$1 mount=$2
    shift 2
    "$RG" "$@" "$TREE" | sort >"$WORK/native.out" || true
    "$VASI" run $mount "$RG_WASM" "$@" "$TREE" | sort >"$WORK/vasi.out" || true
    if ! cmp -s "$WORK/native.out" "$WORK/vasi.out"; then
        echo "DIFFERENT: rg $* ($what)" >&2
        diff "$WORK/native.out" "$WORK/vasi.out" | head -20 >&2
        exit 1
    fi
    echo "same output: rg $* ($what): $(wc -l <"$WORK/native.out") lines"
}
for j in 1 2 4; do
    same "HostDir" "--dir $TREE" -j"$j" -n "fn [a-z_]+\("
    same "MemFs copy" "--mem-copy $TREE::$TREE" -j"$j" -c "unsafe"
done
same "HostDir" "--dir $TREE" -j2 --files

# Wall seconds, median of 3.
wall() {
    for _ in 1 2 3; do
        local t0 t1
        t0=$(date +%s.%N)
        "$@" >/dev/null
        t1=$(date +%s.%N)
        echo "$t1 - $t0" | bc
    done | sort -n | sed -n 2p
}
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for j in 1 2; do
    printf 'rg -j%s through vasi: %.3f s   natively: %.3f s\n' "$j" \
        "$(wall "$VASI" run --dir "$TREE" "$RG_WASM" -j"$j" -c "fn [a-z_]+\(" "$TREE")" \
        "$(wall "$RG" -j"$j" -c "fn [a-z_]+\(" "$TREE")"
done
