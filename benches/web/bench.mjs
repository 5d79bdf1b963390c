// vasi-web vs npm's @bjorn3/browser_wasi_shim, in one Node process, on the
// hostcall benchmarks of benches/guest (bench.wasm): each iteration of the
// guest's timed loop is exactly one call of the kind measured (two for
// open_close, one whole 10,000-entry scan for readdir); the guest marks the
// loop's start and end through the import `vasi_bench.mark`, so start-up is
// not counted, and hands back a check value both hosts must agree on.
//
//   bash scripts/bench-web.sh          (builds what it needs, then runs this)
//
// Environment: VASI_WEB_WASM, BENCH_WASM (benches/guest's bench.wasm),
// VASI_NPM (where scripts/web-npm.sh installed the shim), BENCH_QUICK=1 for
// fewer iterations.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Vasi } from "../../crates/vasi-web/js/vasi.js";

const npm = process.env.VASI_NPM ?? path.join(process.env.HOME, ".cache/vasi-npm");
const shim = await import(pathToFileURL(path.join(npm, "node_modules/@bjorn3/browser_wasi_shim/dist/index.js")));
const vasi = await Vasi.load(fs.readFileSync(process.env.VASI_WEB_WASM));
const guest = await WebAssembly.compile(fs.readFileSync(process.env.BENCH_WASM));
const quick = process.env.BENCH_QUICK === "1";
const CHUNKS = 8;

/** The fixtures: stat.txt, big.bin (CHUNKS MiB), dir10k/ (10,000 empty files). */
function fixtures() {
  const dir10k = {};
  for (let i = 0; i < 10_000; i++) dir10k[`f${String(i).padStart(5, "0")}`] = new Uint8Array(0);
  const big = new Uint8Array(CHUNKS << 20);
  for (let i = 0; i < big.length; i += 4096) big[i] = i >> 12;
  return { "stat.txt": "a small file\n", "big.bin": big, dir10k };
}
const files = fixtures();

function shimTree(tree) {
  const m = new Map();
  for (const [name, v] of Object.entries(tree)) {
    m.set(name, v instanceof Uint8Array || typeof v === "string" ? new shim.File(typeof v === "string" ? new TextEncoder().encode(v) : v) : new shim.Directory(shimTree(v)));
  }
  return m;
}

/** One run of `bench name n` on a host; returns {ns per iteration, check}. */
function marks() {
  const m = { at: [], check: null };
  m.imports = {
    vasi_bench: {
      mark: () => m.at.push(performance.now()),
      check: (v) => (m.check = v),
    },
  };
  return m;
}

async function runVasi(name, n) {
  const m = marks();
  const out = await vasi.run(guest, {
    args: ["bench", name, String(n), String(CHUNKS)],
    mounts: { "/fixtures": { files } },
    stdout: () => {},
    imports: m.imports,
  });
  if (out.exitCode !== 0) throw new Error(`vasi-web ${name}: exit ${out.exitCode} ${out.trap ?? ""} ${out.stderr}`);
  return { ms: m.at[1] - m.at[0], check: m.check };
}

async function runShim(name, n) {
  const m = marks();
  const fds = [
    new shim.OpenFile(new shim.File(new Uint8Array(0))),
    new shim.ConsoleStdout(() => {}),
    new shim.ConsoleStdout(() => {}),
    new shim.PreopenDirectory("/fixtures", shimTree(files)),
  ];
  const wasi = new shim.WASI(["bench", name, String(n), String(CHUNKS)], [], fds, { debug: false });
  const inst = await WebAssembly.instantiate(guest, { ...m.imports, wasi_snapshot_preview1: wasi.wasiImport });
  const code = wasi.start(inst);
  if (code !== 0) throw new Error(`shim ${name}: exit ${code}`);
  return { ms: m.at[1] - m.at[0], check: m.check };
}

const rows = [
  ["clock_time_get", "clock", quick ? 20_000 : 500_000],
  ["fd_write 16 B to a callback", "write16", quick ? 20_000 : 300_000],
  ["path_open + fd_close (in memory)", "open_close", quick ? 5_000 : 100_000],
  ["fd_read 1 MiB", "read1m", quick ? 50 : 1_000],
  ["fd_readdir, 10,000 entries", "readdir", quick ? 2 : 10],
];

const fmt = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);
const table = [];
for (const [label, name, n] of rows) {
  // Warm up both (JIT tiers).
  await runVasi(name, Math.max(1, n / 10));
  await runShim(name, Math.max(1, Math.min(n / 10, name === "readdir" ? 1 : n)));
  // The shim's readdir is quadratic in the directory's size: fewer scans.
  const shimN = name === "readdir" ? Math.max(1, n / 10) : n;
  // Best of 5, the two hosts taking turns, so that a busy moment of the
  // machine does not fall on one host only.
  let v = null;
  let s = null;
  for (let i = 0; i < 5; i++) {
    const a = await runVasi(name, n);
    if (v === null || a.ms < v.ms) v = a;
    const b = await runShim(name, shimN);
    if (s === null || b.ms < s.ms) s = b;
  }
  if (name !== "readdir" && v.check !== s.check) throw new Error(`${name}: checks differ: ${v.check} vs ${s.check}`);
  if (name === "readdir" && v.check / BigInt(n) !== s.check / BigInt(shimN)) {
    throw new Error(`readdir: entries per scan differ: ${v.check / BigInt(n)} vs ${s.check / BigInt(shimN)}`);
  }
  const vns = (v.ms * 1e6) / n;
  const sns = (s.ms * 1e6) / shimN;
  const extra = name === "read1m" ? ` (${((1e9 / vns) | 0).toLocaleString("en")} vs ${((1e9 / sns) | 0).toLocaleString("en")} MiB/s)` : "";
  table.push(`| ${label} | ${fmt(vns)} | ${fmt(sns)} | ${(vns / sns).toFixed(2)}${extra} |`);
}
console.log(`Node ${process.versions.node}, ${quick ? "quick" : "full"} run; per iteration, best of 5 taking turns`);
console.log("| benchmark | vasi-web | browser_wasi_shim 0.4.2 | vasi-web / shim |");
console.log("|---|---|---|---|");
for (const r of table) console.log(r);
