#!/usr/bin/env bash
# Installs the npm packages of web-tools/package.json into VASI_NPM (default
# ~/.cache/vasi-npm, outside the clone) and prints that directory. Quiet and
# quick when they are already there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${VASI_NPM:-$HOME/.cache/vasi-npm}"
mkdir -p "$dir"
if ! cmp -s "$root/web-tools/package.json" "$dir/package.json" || [ ! -d "$dir/node_modules" ]; then
    cp "$root/web-tools/package.json" "$dir/package.json"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >&2)
fi
echo "$dir"
