#!/usr/bin/env bash
# Tests containerd-shim-vasi (shim/, its own cargo workspace): clippy, docs
# and `cargo test`. The container tests go through containerd-shim-wasm's own
# test helpers, which need root and a containerd at the default socket
# (/run/containerd/containerd.sock) to ask for the container's image; if none
# answers there, this starts a private one (its root and state in a temp dir)
# for the run and stops it after. Installs Debian's containerd,
# libseccomp-dev and protobuf-compiler if missing.
set -euo pipefail
cd "$(dirname "$0")/../shim"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vasi-target-shim}"

need=()
command -v containerd >/dev/null || need+=(containerd)
command -v protoc >/dev/null || need+=(protobuf-compiler)
pkg-config --exists libseccomp 2>/dev/null || need+=(libseccomp-dev pkg-config)
if [ ${#need[@]} != 0 ]; then
    apt-get install -y "${need[@]}" || { apt-get update && apt-get install -y "${need[@]}"; }
fi
rustup target add wasm32-wasip1 >/dev/null 2>&1 || true

cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps -p containerd-shim-vasi

sock=/run/containerd/containerd.sock
pid=
tmp=
stop() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    if [ -n "$tmp" ]; then
        # grep finds nothing when no mount is left (and pipefail is on).
        { grep -o " $tmp[^ ]*" /proc/mounts || true; } | sort -r \
            | while read -r m; do umount -l "$m" || true; done
        rm -rf "$tmp" || true
    fi
}
trap stop EXIT
if ! ctr --address "$sock" version >/dev/null 2>&1; then
    tmp=$(mktemp -d /tmp/vasi-shim-test.XXXXXX)
    cat > "$tmp/containerd.toml" <<TOML
version = 2
root = "$tmp/root"
state = "$tmp/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
TOML
    containerd --config "$tmp/containerd.toml" --log-level warn > "$tmp/containerd.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        ctr --address "$sock" version >/dev/null 2>&1 && break
        sleep 0.1
    done
fi
# One test at a time: the container helpers fork a zygote process.
cargo test --locked -- --test-threads=1
