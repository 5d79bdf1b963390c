// The Node side of scripts/vasi-node (see there). Exit codes as `vasi run`:
// the guest's own, 134 for a trap (one line on stderr), 124 for --timeout,
// 125 when the guest cannot be run (bad module, bad flag, missing file), 2
// for a bad command line.
import fs from "node:fs";
import path from "node:path";
import { Vasi, VasiError } from "../crates/vasi-web/js/vasi.js";

const USAGE = `usage: vasi-node run [FLAGS] app.wasm [ARGS...]

Mounts (all in memory; host directories are copied when the run starts):
  --dir HOST[::GUEST][:ro]   an in-memory copy of HOST at GUEST (default HOST)
  --mem-copy HOST::GUEST     the same
  --overlay HOST::GUEST      the same (changes stay in memory either way)
  --mem-dir GUEST[:SIZE]     an empty in-memory directory (e.g. /tmp:64M)
  --tar FILE::GUEST[:ro]     a tar archive, read-only
  --tar-overlay FILE::GUEST  a tar archive under an in-memory writable layer
Guest environment:
  --env NAME=VALUE           an environment variable (repeatable)
  --stdin FILE               the guest's stdin (default: vasi-node's stdin)
Debugging:
  --deterministic            fixed clocks and seeded random bytes
  --seed N                   the seed of --deterministic (default 0)
  --trace                    every hostcall, one line each, to stderr
  --timeout MS               end the guest after MS milliseconds (exit 124)`;

function usage(message) {
  process.stderr.write(`vasi-node: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function cannot(message) {
  process.stderr.write(`vasi-node: error: ${message}\n`);
  process.exit(125);
}

/** A host directory as vasi-web's `files` tree. */
function readTree(dir) {
  const tree = {};
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    const st = fs.statSync(p);
    if (st.isDirectory()) tree[entry.name] = readTree(p);
    else if (st.isFile()) tree[entry.name] = fs.readFileSync(p);
  }
  return tree;
}

function splitMount(value, flag) {
  let ro = false;
  if (value.endsWith(":ro")) {
    ro = true;
    value = value.slice(0, -3);
  }
  const i = value.indexOf("::");
  const [host, guest] = i < 0 ? [value, null] : [value.slice(0, i), value.slice(i + 2)];
  if (!host) usage(`${flag} needs HOST::GUEST`);
  return { host, guest, ro };
}

function parse(argv) {
  if (argv[0] === "--version" || argv[0] === "-V") {
    process.stdout.write("vasi-node 0.1.0\n");
    process.exit(0);
  }
  if (argv[0] === "--help" || argv[0] === "-h") {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (argv[0] !== "run") usage("the only command is `run`");
  const o = { mounts: {}, env: {}, args: [], deterministic: false, seed: 0 };
  let i = 1;
  const value = (flag) => {
    const eq = argv[i].indexOf("=");
    if (argv[i].startsWith("--") && eq > 0) return argv[i].slice(eq + 1);
    if (i + 1 >= argv.length) usage(`${flag} needs a value`);
    return argv[++i];
  };
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("--")) break;
    const flag = a.split("=")[0];
    switch (flag) {
      case "--dir":
      case "--mem-copy":
      case "--overlay": {
        const m = splitMount(value(flag), flag);
        let tree;
        try {
          tree = readTree(m.host);
        } catch (e) {
          cannot(`${flag} ${m.host}: ${e.message}`);
        }
        o.mounts[m.guest ?? m.host] = { files: tree, readOnly: m.ro };
        break;
      }
      case "--mem-dir": {
        const v = value(flag);
        const c = v.lastIndexOf(":");
        const [guest, size] = c > 0 ? [v.slice(0, c), v.slice(c + 1)] : [v, "1G"];
        o.mounts[guest] = { memory: size };
        break;
      }
      case "--tar":
      case "--tar-overlay": {
        const m = splitMount(value(flag), flag);
        if (!m.guest) usage(`${flag} needs FILE::GUEST`);
        let tar;
        try {
          tar = fs.readFileSync(m.host);
        } catch (e) {
          cannot(`${flag} ${m.host}: ${e.message}`);
        }
        o.mounts[m.guest] = { tar, overlay: flag === "--tar-overlay", readOnly: m.ro };
        break;
      }
      case "--env": {
        const v = value(flag);
        const eq = v.indexOf("=");
        if (eq <= 0) usage("--env needs NAME=VALUE");
        o.env[v.slice(0, eq)] = v.slice(eq + 1);
        break;
      }
      case "--stdin":
        o.stdinFile = value(flag);
        break;
      case "--deterministic":
        o.deterministic = true;
        break;
      case "--seed":
        o.seed = BigInt(value(flag));
        break;
      case "--trace":
        o.trace = true;
        break;
      case "--timeout":
        o.timeout = Number(value(flag));
        if (!(o.timeout >= 0)) usage("--timeout needs milliseconds");
        break;
      default:
        usage(`unknown flag ${a}`);
    }
  }
  if (i >= argv.length) usage("no module to run");
  o.module = argv[i];
  // As with `vasi run`, a `--` after the module only ends vasi's flags.
  const rest = argv.slice(i + 1);
  if (rest[0] === "--") rest.shift();
  o.args = [argv[i], ...rest];
  return o;
}

function writeAll(fd, bytes) {
  let at = 0;
  while (at < bytes.length) {
    try {
      at += fs.writeSync(fd, bytes, at, bytes.length - at);
    } catch (e) {
      if (e.code !== "EAGAIN") throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

/** Our own stdin, read when the guest reads (blocking). */
function hostStdin(max) {
  const buf = Buffer.alloc(Math.min(max, 65536));
  for (;;) {
    try {
      const n = fs.readSync(0, buf, 0, buf.length, null);
      return n === 0 ? null : buf.subarray(0, n);
    } catch (e) {
      if (e.code === "EAGAIN") {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if (e.code === "EOF") return null;
      throw e;
    }
  }
}

const o = parse(process.argv.slice(2));
let moduleBytes;
let stdin = hostStdin;
try {
  moduleBytes = fs.readFileSync(o.module);
  if (o.stdinFile !== undefined) stdin = fs.readFileSync(o.stdinFile);
} catch (e) {
  cannot(e.message);
}
try {
  const vasi = await Vasi.load(process.env.VASI_WEB_WASM ? fs.readFileSync(process.env.VASI_WEB_WASM) : undefined);
  const result = await vasi.run(moduleBytes, {
    args: o.args,
    env: o.env,
    mounts: o.mounts,
    stdin,
    stdout: (b) => writeAll(1, b),
    stderr: (b) => writeAll(2, b),
    deterministic: o.deterministic,
    seed: o.seed,
    trace: o.trace ? { callback: (line) => writeAll(2, Buffer.from(`${line}\n`)), durations: !o.deterministic } : undefined,
    timeout: o.timeout,
  });
  if (result.trap !== undefined) {
    process.stderr.write(`vasi-node: ${result.exitCode === 124 ? "timeout" : `trap: ${result.trap}`}\n`);
  }
  process.exitCode = result.exitCode;
} catch (e) {
  if (e instanceof VasiError) cannot(e.message);
  throw e;
}
