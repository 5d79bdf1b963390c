#!/usr/bin/env bash
# A CPU-bound rayon guest (tests/threads-programs, `threads_rayon bench N`,
# no hostcalls in its loop) through `vasi run` on 1 and on 2 threads
# (RAYON_NUM_THREADS): prints the wall times, best of ROUNDS runs each, and
# the speed-up. Not a test: the figure depends on the machine and its load
# (the uptime load average is printed with it).
#
#   bash scripts/bench-threads.sh            # N=4000, ROUNDS=3
#   N=8000 ROUNDS=5 bash scripts/bench-threads.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip1-threads >/dev/null 2>&1 || true
target="${CARGO_TARGET_DIR:-$PWD/target}"
# The debug build: its dependencies (wasmtime, cranelift) are optimized, and
# the guest runs as cranelift code; vasi itself is off the measured path.
cargo build --quiet -p vasi-cli
cargo build --quiet --release --target wasm32-wasip1-threads \
    --manifest-path tests/threads-programs/Cargo.toml --bin threads_rayon
vasi="$target/debug/vasi"
wasm="$target/wasm32-wasip1-threads/release/threads_rayon.wasm"
n="${N:-4000}"
rounds="${ROUNDS:-3}"
"$vasi" run --env RAYON_NUM_THREADS=1 "$wasm" bench 10 >/dev/null # fill the compile cache
best() {
    local threads=$1 best="" out
    for _ in $(seq "$rounds"); do
        local t0 t1
        t0=$(date +%s.%N)
        out=$("$vasi" run --env RAYON_NUM_THREADS="$threads" "$wasm" bench "$n")
        t1=$(date +%s.%N)
        local t
        t=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
    done
    echo "$best $out"
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
read -r one sum1 _ <<<"$(best 1)"
read -r two sum2 _ <<<"$(best 2)"
[ "$sum1" = "$sum2" ] || { echo "checksums differ: $sum1 vs $sum2" >&2; exit 1; }
printf '1 thread:  %.3f s\n2 threads: %.3f s\nspeed-up:  %.2fx (checksum %s)\n' \
    "$one" "$two" "$(echo "$one / $two" | bc -l)" "$sum1"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
