#!/usr/bin/env bash
# End-to-end test of containerd-shim-vasi with a real containerd: builds the
# shim, builds two OCI images by hand (a rootfs image whose layer holds the
# guest modules, and a wasm-layer image with a vasi config layer), starts a
# private containerd (its own root, state and socket under a temp dir; the
# system's containerd, if any, is not touched), imports the images with
# `ctr image import` and runs them with `ctr run --runtime io.containerd.vasi.v1`.
#
#   sudo bash scripts/containerd-e2e.sh
#
# Needs root, and containerd + ctr on PATH (Debian: `apt-get install -y
# containerd`; it installs them when missing and apt-get is there).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vasi-target-shim}"

if [ "$(id -u)" != 0 ]; then
    echo "containerd-e2e: needs root (containerd and the shim create namespaces and mounts)" >&2
    exit 2
fi
if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
    apt-get install -y containerd >/dev/null 2>&1 \
        || { apt-get update >/dev/null && apt-get install -y containerd >/dev/null; }
fi
if ! pkg-config --exists libseccomp 2>/dev/null || ! command -v protoc >/dev/null; then
    apt-get install -y libseccomp-dev pkg-config protobuf-compiler >/dev/null 2>&1 \
        || { apt-get update >/dev/null && apt-get install -y libseccomp-dev pkg-config protobuf-compiler >/dev/null; }
fi

echo "== build the shim and the guest modules"
# From inside shim/, where its .cargo/config.toml applies.
(cd shim && cargo build --quiet --locked --bin containerd-shim-vasi-v1 --example e2e-modules)
work=$(mktemp -d /tmp/vasi-e2e.XXXXXX)
containerd_pid=
cleanup() {
    if [ -n "$containerd_pid" ]; then
        kill "$containerd_pid" 2>/dev/null || true
        wait "$containerd_pid" 2>/dev/null || true
    fi
    # Snapshots are mounts under the private root.
    # (grep finds nothing when none is left, and pipefail is on.)
    { grep -o " $work[^ ]*" /proc/mounts || true; } | sort -r \
        | while read -r m; do umount -l "$m" || true; done
    rm -rf "$work" || true
}
trap cleanup EXIT
mkdir -p "$work/bin" "$work/modules"
cp "$CARGO_TARGET_DIR/debug/containerd-shim-vasi-v1" "$work/bin/"
"$CARGO_TARGET_DIR/debug/examples/e2e-modules" "$work/modules"
echo "hello from the image" > "$work/modules/msg.txt"

# --- OCI images, by hand -----------------------------------------------------
# blob FILE MEDIATYPE: stores FILE as a blob of layout $oci; prints a descriptor.
blob() {
    local file=$1 type=$2 digest size
    digest=$(sha256sum "$file" | cut -d' ' -f1)
    size=$(stat -c %s "$file")
    cp "$file" "$oci/blobs/sha256/$digest"
    printf '{"mediaType":"%s","digest":"sha256:%s","size":%s}' "$type" "$digest" "$size"
}
# image NAME CONFIG-JSON LAYER-DESCRIPTORS: writes the manifest and the index.
image() {
    local name=$1 config=$2 layers=$3
    printf '%s' "$config" > "$work/config.json"
    local cdesc
    cdesc=$(blob "$work/config.json" application/vnd.oci.image.config.v1+json)
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":%s,"layers":[%s]}' \
        "$cdesc" "$layers" > "$work/manifest.json"
    local mdesc
    mdesc=$(blob "$work/manifest.json" application/vnd.oci.image.manifest.v1+json)
    printf '{"schemaVersion":2,"manifests":[%s]}' \
        "${mdesc%\}},\"annotations\":{\"io.containerd.image.name\":\"$name\",\"org.opencontainers.image.ref.name\":\"${name##*:}\"}}" \
        > "$oci/index.json"
    printf '{"imageLayoutVersion":"1.0.0"}' > "$oci/oci-layout"
}

# 1. A rootfs image: one tar layer with the modules, as any container image.
oci=$work/oci-rootfs
mkdir -p "$oci/blobs/sha256"
tar -C "$work/modules" --owner=0 --group=0 --mtime=@0 -cf "$work/layer.tar" .
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
layer=$(blob "$work/layer.tar" application/vnd.oci.image.layer.v1.tar)
image localhost/vasi-e2e:rootfs \
    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":[\"/args.wasm\"],\"Env\":[\"FROM_IMAGE=yes\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff_id\"]}}" \
    "$layer"
tar -C "$oci" -cf "$work/rootfs-image.tar" .

# 2. A wasm-layer image: the module as an `application/wasm` layer and a vasi
#    config layer asking for an in-memory /tmp (fd 4 after the rootfs).
oci=$work/oci-wasm
mkdir -p "$oci/blobs/sha256"
printf '{"scratch":[{"guest":"/tmp","size":1048576}]}' > "$work/vasi.json"
l1=$(blob "$work/modules/write-scratch.wasm" application/wasm)
l2=$(blob "$work/vasi.json" application/vnd.vasi.config.v1+json)
image localhost/vasi-e2e:wasm \
    '{"architecture":"wasm","os":"wasip1","config":{"Entrypoint":["/write-scratch.wasm"]},"rootfs":{"type":"layers","diff_ids":[]}}' \
    "$l1,$l2"
tar -C "$oci" -cf "$work/wasm-image.tar" .

# --- a private containerd ----------------------------------------------------
sock=$work/containerd.sock
cat > "$work/containerd.toml" <<EOF
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
EOF
echo "== start containerd ($(containerd --version | cut -d' ' -f3))"
PATH="$work/bin:$PATH" containerd --config "$work/containerd.toml" --log-level warn \
    > "$work/containerd.log" 2>&1 &
containerd_pid=$!
for _ in $(seq 100); do
    ctr --address "$sock" version >/dev/null 2>&1 && break
    sleep 0.1
done
c() { ctr --address "$sock" --namespace vasi-e2e "$@"; }
c image import --snapshotter native "$work/rootfs-image.tar" >/dev/null
# An image with non-tar layers (wasm, config) needs containerd 2.0+, 1.7.7+ or
# 1.6.25+ (runwasi's docs); before that, `ctr run` refuses it with
# "mismatched image rootfs and manifest layers". Debian 12's is 1.6.20.
c image import --all-platforms --no-unpack "$work/wasm-image.tar" >/dev/null

failures=0
# check WHAT EXPECTED-CODE EXPECTED-STDOUT -- ctr run arguments
check() {
    local what=$1 want_code=$2 want_out=$3
    shift 4
    local out code=0
    out=$(timeout 60 ctr --address "$sock" --namespace vasi-e2e run --rm \
        --runtime io.containerd.vasi.v1 --snapshotter native "$@" 2>"$work/err") || code=$?
    if [ "$code" = "$want_code" ] && [ "$out" = "$want_out" ]; then
        echo "ok   $what (exit $code)"
    else
        echo "FAIL $what: exit $code (want $want_code), stdout:"
        printf '%s\n' "$out" | sed 's/^/    /'
        echo "  want:"
        printf '%s\n' "$want_out" | sed 's/^/    /'
        sed 's/^/  stderr: /' "$work/err"
        failures=$((failures + 1))
    fi
}

echo "== run"
check "args and env from the OCI spec" 0 \
    "$(printf '/args.wasm\none\ntwo words\nFROM_IMAGE=yes\nGREETING=hi')" -- \
    --env GREETING=hi localhost/vasi-e2e:rootfs e2e-args /args.wasm one "two words"
check "the guest's exit code" 42 "hello" -- \
    localhost/vasi-e2e:rootfs e2e-exit /exit42.wasm
# fd 3 is the rootfs, read-only: path_open(O_CREAT) is EROFS (69).
check "the rootfs is read-only" 69 "" -- \
    localhost/vasi-e2e:rootfs e2e-ro /write-root.wasm
# A vasi option from the container's environment: an in-memory /tmp at fd 4.
check "VASI_SCRATCH=/tmp gives an in-memory /tmp" 0 "" -- \
    --env VASI_SCRATCH=/tmp localhost/vasi-e2e:rootfs e2e-scratch /write-scratch.wasm
check "without it there is no fd 4 (EBADF)" 8 "" -- \
    localhost/vasi-e2e:rootfs e2e-noscratch /write-scratch.wasm
check "VASI_ROOTFS=rw makes the rootfs writable" 0 "" -- \
    --env VASI_ROOTFS=rw localhost/vasi-e2e:rootfs e2e-rw /write-root.wasm
# The runtime mounts /proc in the rootfs, where /proc/self is the shim: the
# guest sees an empty directory there (ENOENT, 44).
check "the container's /proc is hidden (ENOENT)" 44 "" -- \
    localhost/vasi-e2e:rootfs e2e-proc /cat-proc.wasm
if timeout 60 ctr --address "$sock" --namespace vasi-e2e run --rm --runtime io.containerd.vasi.v1 \
    --snapshotter native --platform wasip1/wasm localhost/vasi-e2e:wasm e2e-wasm \
    >/dev/null 2>"$work/err"; then
    echo "ok   a wasm layer with a vasi config layer (exit 0)"
elif grep -q "mismatched image rootfs and manifest layers" "$work/err"; then
    echo "skip a wasm layer with a vasi config layer: containerd $(containerd --version | cut -d' ' -f3) cannot run wasm-layer images (needs 2.0+, 1.7.7+ or 1.6.25+)"
else
    echo "FAIL a wasm layer with a vasi config layer:"
    sed 's/^/  stderr: /' "$work/err"
    failures=$((failures + 1))
fi

# A kill (SIGTERM, ctr's default) ends a guest sleeping in poll_oneoff;
# `ctr run` exits with the task's status.
echo "== kill during a blocking call"
c run --rm --runtime io.containerd.vasi.v1 --snapshotter native \
    localhost/vasi-e2e:rootfs e2e-sleep /sleep.wasm > "$work/sleep.out" 2>&1 &
ctr_pid=$!
for _ in $(seq 200); do
    grep -q sleeping "$work/sleep.out" && break
    sleep 0.05
done
sleep 0.2
t0=$(date +%s%N)
c task kill e2e-sleep
code=0
wait "$ctr_pid" || code=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$code" = 143 ] && [ "$ms" -lt 1000 ]; then
    echo "ok   SIGTERM ended the guest sleeping in poll_oneoff: exit $code after ${ms} ms"
else
    echo "FAIL SIGTERM: exit $code (want 143) after ${ms} ms"
    failures=$((failures + 1))
fi

if [ "$failures" != 0 ]; then
    echo "containerd-e2e: $failures failed; containerd's log:"
    tail -30 "$work/containerd.log"
    exit 1
fi
echo "containerd-e2e: all passed"
