#!/usr/bin/env python3
"""Start-up time of `vasi run` on a compile-cache hit, against wasmtime's own
cached start-up (PyPI's `wasmtime` package), side by side, as ratios.

"Start-up" is the time from starting the process to the guest's first
instruction: every host runs the module with fuel metering and zero fuel, so
the guest traps on its first instruction (vasi exits 123). Each host thus does
exactly: read the module, find its compiled code in the cache, load it, link
WASI, instantiate, and call the entry point (`_start`, or `_initialize` first
for a reactor). Nothing of the guest's own work is measured.

Columns, each the median of --runs runs, taken round-robin:
  vasi hit        wall time of the whole `vasi run --fuel 0 M` process, with a
                  warm VASI_CACHE_DIR
  vasi .cwasm     the same for `vasi run --fuel 0 M.cwasm` (`vasi compile
                  --for-fuel`)
  wasmtime cache  PyPI `wasmtime`, in process, from before `Engine(config)` to
                  the trap: Config().cache = <dir> (wasmtime's own compile
                  cache), Module(engine, bytes), WASI, instantiate, call
  wasmtime deserialize_file
                  the same with Module.deserialize_file of Module.serialize's
                  output (an mmap, no checksum: wasmtime's fastest path)
  wt-py cache (whole process)
                  the wasmtime-cache child's wall time, Python's interpreter
                  and `import wasmtime` included, for reference
  vasi --version  the floor of any vasi process (exec, dynamic loading,
                  argument parsing), for reference
Ratios compare vasi's whole process (exec, dynamic loading, argument parsing
included) with wasmtime's in-process time: the comparison most favourable to
wasmtime.

Usage: bench_startup.py --vasi PATH --python PATH --work DIR [--runs N]
                        NAME=FILE[:reactor] ...
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

CHILD = r"""
import sys, time, wasmtime
t0 = time.perf_counter()
mode, path, reactor, cache_toml = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
config = wasmtime.Config()
config.consume_fuel = True
config.wasm_exceptions = True
if mode == "cache":
    config.cache = cache_toml
engine = wasmtime.Engine(config)
if mode == "cwasm":
    module = wasmtime.Module.deserialize_file(engine, path)
else:
    with open(path, "rb") as f:
        module = wasmtime.Module(engine, f.read())
if mode == "serialize":
    with open(sys.argv[5], "wb") as f:
        f.write(module.serialize())
    sys.exit(0)
linker = wasmtime.Linker(engine)
linker.define_wasi()
linker.define_unknown_imports_as_traps(module)
store = wasmtime.Store(engine)
store.set_wasi(wasmtime.WasiConfig())
store.set_fuel(0)
instance = linker.instantiate(store, module)
exports = instance.exports(store)
try:
    if reactor:
        exports["_initialize"](store)
    else:
        exports["_start"](store)
except wasmtime.Trap as t:
    if "fuel" not in str(t):
        raise
    print((time.perf_counter() - t0) * 1000)
    sys.exit(123)
sys.exit(0)
"""


def wall(cmd, env=None, expect=123, inner=None):
    """The wall time of `cmd` in seconds; with `inner`, the time the child
    printed (ms) is appended to it."""
    start = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    took = time.perf_counter() - start
    if p.returncode != expect:
        sys.exit(f"{' '.join(cmd)}: exit {p.returncode}, expected {expect}: {p.stderr.decode()[-500:]}")
    if inner is not None:
        inner.append(float(p.stdout.decode().split()[-1]) / 1000)
    return took


KEYS = ("vasi hit", "vasi .cwasm", "wt-py cache", "wt-py cwasm", "wt-py cache in", "wt-py cwasm in",
        "vasi floor")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vasi", required=True)
    ap.add_argument("--python", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("modules", nargs="+")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    child = os.path.join(a.work, "wt_child.py")
    with open(child, "w") as f:
        f.write(CHILD)
    wt_cache = os.path.join(a.work, "wasmtime-cache")
    cache_toml = os.path.join(a.work, "wasmtime-cache.toml")
    with open(cache_toml, "w") as f:
        f.write(f'[cache]\ndirectory = "{wt_cache}"\n')
    env = dict(os.environ, VASI_CACHE_DIR=os.path.join(a.work, "vasi-cache"))
    env.pop("VASI_CACHE_LOG", None)

    rows = []
    for spec in a.modules:
        name, rest = spec.split("=", 1)
        path, _, kind = rest.partition(":")
        reactor = kind == "reactor"
        size = os.path.getsize(path)
        base = os.path.join(a.work, name)
        entry = ["--invoke", "_initialize"] if reactor else []
        vasi_hit = [a.vasi, "run", "--fuel", "0", "--unknown-imports=trap", *entry, path]
        vasi_cwasm = [a.vasi, "run", "--fuel", "0", "--unknown-imports=trap", *entry, base + ".cwasm"]
        py = lambda mode, p: [a.python, child, mode, p, "1" if reactor else "0", cache_toml]
        print(f"== {name} ({size / 1e6:.1f} MB): compiling for every host (once)", file=sys.stderr)
        wall(vasi_hit, env)  # fills the vasi cache
        wall([a.vasi, "compile", "--for-fuel", path, "-o", base + ".cwasm"], env, expect=0)
        wall(py("cache", path), expect=123)  # fills wasmtime's cache
        if not os.path.exists(base + ".wt.cwasm"):  # wasmtime's output does not change
            wall(py("serialize", path) + [base + ".wt.cwasm"], expect=0)
        cells = {k: [] for k in KEYS}
        # Round-robin, so drift hits every column alike.
        for _ in range(a.runs):
            cells["vasi hit"].append(wall(vasi_hit, env))
            cells["vasi .cwasm"].append(wall(vasi_cwasm, env))
            cells["wt-py cache"].append(wall(py("cache", path), inner=cells["wt-py cache in"]))
            cells["wt-py cwasm"].append(wall(py("cwasm", base + ".wt.cwasm"), inner=cells["wt-py cwasm in"]))
            cells["vasi floor"].append(wall([a.vasi, "--version"], expect=0))
        med = {k: statistics.median(v) * 1000 for k, v in cells.items()}
        rows.append((name, size, med))

    head = ["module", "size", "vasi hit", "wasmtime cache (in process)", "ratio",
            "vasi .cwasm", "wasmtime deserialize_file (in process)", "ratio",
            "wt-py cache (whole process)", "vasi --version"]
    print(f"Median of {a.runs} runs each, in ms; ratio = vasi's whole process / wasmtime's "
          "in-process time (Python's start-up and `import wasmtime` left out).")
    print()
    print("| " + " | ".join(head) + " |")
    print("|---|" + "--:|" * (len(head) - 1))
    for name, size, m in rows:
        cols = [name, f"{size / 1e6:.1f} MB",
                f"{m['vasi hit']:.1f}", f"{m['wt-py cache in']:.1f}",
                f"{m['vasi hit'] / m['wt-py cache in']:.2f}",
                f"{m['vasi .cwasm']:.1f}", f"{m['wt-py cwasm in']:.1f}",
                f"{m['vasi .cwasm'] / m['wt-py cwasm in']:.2f}",
                f"{m['wt-py cache']:.1f}", f"{m['vasi floor']:.1f}"]
        print("| " + " | ".join(cols) + " |")


if __name__ == "__main__":
    main()
