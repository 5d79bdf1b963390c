// Runs a wasm32-wasip1 command on npm's @bjorn3/browser_wasi_shim under Node,
// with the command line the wasi-testsuite adapters give vasi-node:
//
//   node shim-node.mjs run [--env K=V]... [--mem-copy HOST::GUEST]... app.wasm [--] [ARGS...]
//
// Only for measuring the shim the same way as vasi-web (README, "In the
// browser"); VASI_NPM names the directory scripts/web-npm.sh installed into.
// Host directories become the shim's in-memory Directory trees; stdin is
// empty; stdout and stderr go to ours. Exit: the guest's code, 134 on a trap.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const npm = process.env.VASI_NPM ?? path.join(process.env.HOME, ".cache/vasi-npm");
const shim = await import(pathToFileURL(path.join(npm, "node_modules/@bjorn3/browser_wasi_shim/dist/index.js")));
const { WASI, File, Directory, OpenFile, PreopenDirectory, ConsoleStdout } = shim;

const argv = process.argv.slice(2);
if (argv[0] === "--version") {
  process.stdout.write("browser_wasi_shim 0.4.2\n");
  process.exit(0);
}
if (argv[0] !== "run") throw new Error("usage: shim-node.mjs run ...");
const env = [];
const preopens = [];

function tree(dir) {
  const m = new Map();
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    const st = fs.statSync(p);
    if (st.isDirectory()) m.set(e.name, new Directory(tree(p)));
    else if (st.isFile()) m.set(e.name, new File(fs.readFileSync(p)));
  }
  return m;
}

let i = 1;
for (; i < argv.length && argv[i].startsWith("--"); i++) {
  const flag = argv[i];
  const value = argv[++i];
  if (flag === "--env") env.push(value);
  else if (flag === "--mem-copy" || flag === "--dir") {
    const [host, guest] = value.split("::");
    preopens.push(new PreopenDirectory(guest ?? host, tree(host)));
  } else throw new Error(`shim-node: unsupported flag ${flag}`);
}
const module = argv[i];
const rest = argv.slice(i + 1);
if (rest[0] === "--") rest.shift();
const write = (fd) => new ConsoleStdout((bytes) => fs.writeSync(fd, bytes));
const fds = [new OpenFile(new File(new Uint8Array(0))), write(1), write(2), ...preopens];
const wasi = new WASI([module, ...rest], env, fds, { debug: false });
try {
  const mod = await WebAssembly.compile(fs.readFileSync(module));
  const inst = await WebAssembly.instantiate(mod, { wasi_snapshot_preview1: wasi.wasiImport });
  process.exitCode = wasi.start(inst);
} catch (e) {
  process.stderr.write(`shim-node: trap: ${e?.message ?? e}\n`);
  process.exitCode = 134;
}
