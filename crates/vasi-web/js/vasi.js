// vasi-web: run unmodified wasm32-wasip1 programs in browsers, Node and Deno,
// on vasi's own core compiled to wasm (vasi_web.wasm, next to this file).
//
//   import { Vasi } from "./vasi.js";
//   const vasi = await Vasi.load();
//   const { exitCode, stdout } = await vasi.run(moduleBytes, {
//     args: ["app", "-n"], env: { LANG: "C" },
//     mounts: { "/src": { tar: tarBytes }, "/tmp": { memory: "64M" } },
//     stdin: "text", stdout: (bytes) => term.write(bytes),
//   });
//
// The guest imports vasi's exports directly (a hostcall is a wasm-to-wasm
// call); vasi reaches the guest's exported `memory` through a tiny accessor
// module over it (`accessModule` below) for small accesses, and through
// `guest_read`/`guest_write` for bulk copies. Sleeps and stdin waits block on
// `Atomics.wait` where the platform lets a thread block (Node, workers); on
// a browser page's main thread they spin instead (see README, "In the
// browser").

/** The 46 functions of wasi_snapshot_preview1 vasi provides. */
export const HOSTCALLS = Object.freeze([
  "args_get", "args_sizes_get", "environ_get", "environ_sizes_get",
  "clock_res_get", "clock_time_get", "fd_advise", "fd_allocate", "fd_close",
  "fd_datasync", "fd_fdstat_get", "fd_fdstat_set_flags", "fd_fdstat_set_rights",
  "fd_filestat_get", "fd_filestat_set_size", "fd_filestat_set_times", "fd_pread",
  "fd_prestat_get", "fd_prestat_dir_name", "fd_pwrite", "fd_read", "fd_readdir",
  "fd_renumber", "fd_seek", "fd_sync", "fd_tell", "fd_write",
  "path_create_directory", "path_filestat_get", "path_filestat_set_times",
  "path_link", "path_open", "path_readlink", "path_remove_directory",
  "path_rename", "path_symlink", "path_unlink_file", "poll_oneoff", "proc_raise",
  "sched_yield", "random_get", "sock_accept", "sock_recv", "sock_send",
  "sock_shutdown", "proc_exit",
]);

const PREVIEW1 = "wasi_snapshot_preview1";
/** The custom section that makes a module a vasi bundle (see docs/bundle.md). */
const BUNDLE_SECTION = "vasi.bundle";
/** The exit code of a run that trapped (as `vasi run` and `wasmtime run`). */
export const EXIT_TRAP = 134;
/** The exit code of a run ended by its timeout (as `vasi run --timeout`). */
export const EXIT_TIMEOUT = 124;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
// Looked up once: in Node, `performance` is a lazy getter on globalThis,
// and looking it up again costs as much as the clock read.
const perf = globalThis.performance;

/** Bad input or an engine that cannot run vasi: one clear message. */
export class VasiError extends Error {
  constructor(message) {
    super(message);
    this.name = "VasiError";
  }
}

function toBytes(data, what) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (typeof data === "string") return encoder.encode(data);
  throw new VasiError(`${what} must be a Uint8Array, an ArrayBuffer or a string`);
}

function isNodeLike() {
  return typeof process !== "undefined" && process.versions != null && process.versions.node != null;
}

async function loadBytes(source) {
  if (source instanceof Uint8Array || source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    return toBytes(source, "the module");
  }
  if (typeof Response !== "undefined" && source instanceof Response) {
    return new Uint8Array(await source.arrayBuffer());
  }
  const url = source instanceof URL ? source : new URL(String(source), import.meta.url);
  if (url.protocol === "file:") {
    if (typeof Deno !== "undefined") return Deno.readFile(url);
    const fs = await import("node:fs/promises");
    return new Uint8Array(await fs.readFile(url));
  }
  const response = await fetch(url);
  if (!response.ok) throw new VasiError(`cannot fetch ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function checkEngine() {
  if (typeof WebAssembly !== "object" || typeof WebAssembly.instantiate !== "function") {
    throw new VasiError("this JS engine has no WebAssembly support");
  }
  if (typeof BigInt !== "function") {
    throw new VasiError("this JS engine lacks BigInt, which WebAssembly's i64 values need");
  }
}

/** Parses a size: a number of bytes, or "64M", "512K", "1G" (powers of 1024). */
export function parseSize(size) {
  if (size === true || size == null) return 0;
  if (typeof size === "number" && Number.isFinite(size) && size >= 0) return Math.floor(size);
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(String(size));
  if (!m) throw new VasiError(`bad size ${JSON.stringify(size)} (want bytes, or e.g. "64M")`);
  const scale = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2].toLowerCase()];
  return Math.floor(Number(m[1]) * scale);
}

// A cell threads may block on; null where SharedArrayBuffer is missing.
let waitCell;
function canBlock() {
  if (waitCell === undefined) {
    waitCell = null;
    if (typeof SharedArrayBuffer === "function" && typeof Atomics === "object") {
      try {
        const cell = new Int32Array(new SharedArrayBuffer(4));
        Atomics.wait(cell, 0, 1, 0); // throws where the thread may not block
        waitCell = cell;
      } catch {
        waitCell = null;
      }
    }
  }
  return waitCell !== null;
}

/** Blocks the calling thread for `ms` milliseconds: `Atomics.wait` where allowed, a spin otherwise. */
export function blockFor(ms) {
  if (!(ms > 0)) return;
  if (canBlock()) {
    const end = performance.now() + ms;
    for (let left = ms; left > 0; left = end - performance.now()) Atomics.wait(waitCell, 0, 0, left);
    return;
  }
  const end = performance.now() + ms;
  while (performance.now() < end) { /* spin: this thread may not block */ }
}

/**
 * A byte pipe over a SharedArrayBuffer for a guest's stdin: the page (or any
 * thread) writes, the guest's thread reads, blocking on `Atomics.wait` until
 * bytes or the end come. Pass `pipe.buffer` to a worker and rebuild it there
 * with `new StdinPipe(buffer)`.
 */
export class StdinPipe {
  constructor(bufferOrCapacity = 64 * 1024) {
    const sab = typeof bufferOrCapacity === "number"
      ? new SharedArrayBuffer(16 + bufferOrCapacity)
      : bufferOrCapacity;
    this.buffer = sab;
    // [0] bytes written (total, mod 2^32), [1] bytes read, [2] closed
    this.state = new Int32Array(sab, 0, 4);
    this.data = new Uint8Array(sab, 16);
  }
  /** Writes what fits of `data` without blocking; returns how many bytes it took. */
  write(data) {
    const bytes = toBytes(data, "stdin data");
    const cap = this.data.length;
    const w = Atomics.load(this.state, 0) >>> 0;
    const r = Atomics.load(this.state, 1) >>> 0;
    const n = Math.min(bytes.length, cap - ((w - r) >>> 0));
    for (let i = 0; i < n; i++) this.data[(w + i) % cap] = bytes[i];
    Atomics.store(this.state, 0, (w + n) | 0);
    Atomics.notify(this.state, 0);
    return n;
  }
  /** Ends the stream: the reader sees the end after the bytes written. */
  close() {
    Atomics.store(this.state, 2, 1);
    Atomics.notify(this.state, 0);
  }
  /** Up to `max` bytes, blocking until some come; null at the end. */
  read(max) {
    const cap = this.data.length;
    for (;;) {
      const w = Atomics.load(this.state, 0);
      const r = Atomics.load(this.state, 1) >>> 0;
      const avail = ((w >>> 0) - r) >>> 0;
      if (avail > 0) {
        const n = Math.min(avail, max);
        const out = new Uint8Array(n);
        for (let i = 0; i < n; i++) out[i] = this.data[(r + i) % cap];
        Atomics.store(this.state, 1, (r + n) | 0);
        return out;
      }
      if (Atomics.load(this.state, 2)) return null;
      if (canBlock()) Atomics.wait(this.state, 0, w, 1000);
      else throw new VasiError("stdin pipe: this thread may not block (run the guest in a Worker)");
    }
  }
}

function outputSink(option, name) {
  if (typeof option === "function") return { write: option, chunks: null };
  if (option == null || option === "capture") return { write: null, chunks: [] };
  throw new VasiError(`${name} must be a callback or "capture"`);
}

function concat(chunks) {
  let len = 0;
  for (const c of chunks) len += c.length;
  const out = new Uint8Array(len);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function lineSplitter(callback) {
  let pending = "";
  const td = new TextDecoder();
  return {
    write(bytes) {
      pending += td.decode(bytes, { stream: true });
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        callback(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    },
    end() {
      if (pending) callback(pending);
      pending = "";
    },
  };
}

/** Compiles a guest module, with one clear error for each kind of bad input. */
export async function compileGuest(moduleBytes, extraImports = {}) {
  if (moduleBytes instanceof WebAssembly.Module) return checkGuest(moduleBytes, extraImports);
  const bytes = toBytes(moduleBytes, "the module");
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new VasiError("not a WebAssembly module (it does not start with \\0asm)");
  }
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    throw new VasiError("not a core WebAssembly module (a component?): vasi runs wasm32-wasip1 modules");
  }
  let module;
  try {
    module = await WebAssembly.compile(bytes);
  } catch (e) {
    throw new VasiError(
      `this engine cannot compile the module: ${e.message} ` +
        "(a malformed module, or one using a WebAssembly feature this engine lacks)",
    );
  }
  return checkGuest(module, extraImports);
}

const PROVIDED = new Set(HOSTCALLS);

function checkGuest(module, extraImports) {
  const missing = [];
  for (const imp of WebAssembly.Module.imports(module)) {
    if (Object.hasOwn(extraImports, imp.module) && imp.module !== PREVIEW1 && imp.name in extraImports[imp.module]) continue;
    if (imp.module !== PREVIEW1 || imp.kind !== "function" || !PROVIDED.has(imp.name)) {
      missing.push(`${imp.module}.${imp.name}${imp.kind === "function" ? "" : ` (${imp.kind})`}`);
    }
  }
  if (missing.length) {
    throw new VasiError(`the module imports what vasi does not provide: ${missing.join(", ")}`);
  }
  const exports = WebAssembly.Module.exports(module);
  if (!exports.some((e) => e.name === "_start" && e.kind === "function")) {
    throw new VasiError("the module exports no _start function (not a WASI command)");
  }
  return module;
}

// The guest-memory accessors: a tiny wasm module that imports the guest's
// memory and exports loads and stores of it, so that vasi (which cannot
// import a second memory without multi-memory) makes small accesses by
// wasm-to-wasm calls instead of calls into JS. In the text format:
//
//   (module
//     (import "guest" "memory" (memory 0))      ;; or (memory 0 65536 shared)
//     (func (export "pages") (result i32) memory.size)
//     (func (export "load8") (param i32) (result i32) local.get 0 i32.load8_u)
//     (func (export "load32") (param i32) (result i32) local.get 0 i32.load align=1)
//     (func (export "load64") (param i32) (result i64) local.get 0 i64.load align=1)
//     (func (export "store8") (param i32 i32) local.get 0 local.get 1 i32.store8)
//     (func (export "store32") (param i32 i32) local.get 0 local.get 1 i32.store align=1)
//     (func (export "store64") (param i32 i64) local.get 0 local.get 1 i64.store align=1))
//
// The order of ACCESSORS is the order of `Access`'s fields in web.rs.
const ACCESSORS = ["pages", "load8", "load32", "load64", "store8", "store32", "store64"];
const accessModules = new Map();
function accessModule(shared) {
  let module = accessModules.get(shared);
  if (module !== undefined) return module;
  const I32 = 0x7f;
  const I64 = 0x7e;
  const name = (s) => [s.length, ...encoder.encode(s)];
  const vec = (items) => [items.length, ...items.flat()];
  const uleb = (n) => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...uleb(n >>> 7)]);
  const section = (id, items) => {
    const body = vec(items);
    return [id, ...uleb(body.length), ...body];
  };
  const types = [
    [0x60, 0, 1, I32], // () -> i32
    [0x60, 1, I32, 1, I32], // (i32) -> i32
    [0x60, 1, I32, 1, I64], // (i32) -> i64
    [0x60, 2, I32, I32, 0], // (i32, i32)
    [0x60, 2, I32, I64, 0], // (i32, i64)
  ];
  // min 0 pages, no max; shared: min 0, max 65536 (LEB128 80 80 04).
  const limits = shared ? [0x03, 0, 0x80, 0x80, 0x04] : [0x00, 0];
  const imports = [[...name("guest"), ...name("memory"), 0x02, ...limits]];
  const funcTypes = [0, 1, 1, 2, 3, 3, 4];
  const GET0 = [0x20, 0];
  const GET1 = [0x20, 1];
  const bodies = [
    [0x3f, 0], // memory.size
    [...GET0, 0x2d, 0, 0], // i32.load8_u
    [...GET0, 0x28, 0, 0], // i32.load align=1
    [...GET0, 0x29, 0, 0], // i64.load align=1
    [...GET0, ...GET1, 0x3a, 0, 0], // i32.store8
    [...GET0, ...GET1, 0x36, 0, 0], // i32.store align=1
    [...GET0, ...GET1, 0x37, 0, 0], // i64.store align=1
  ].map((code) => {
    const body = [0, ...code, 0x0b]; // no locals, code, end
    return [body.length, ...body];
  });
  const bytes = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, types),
    ...section(2, imports),
    ...section(3, funcTypes.map((t) => [t])),
    ...section(7, ACCESSORS.map((n, k) => [...name(n), 0x00, k])),
    ...section(10, bodies),
  ]);
  module = new WebAssembly.Module(bytes);
  accessModules.set(shared, module);
  return module;
}

/** vasi's core, loaded once; every `run` gets a fresh instance of it. */
export class Vasi {
  #module;

  constructor(module) {
    this.#module = module;
  }

  /**
   * Loads vasi_web.wasm: from `source` (a URL, a path, bytes, a Response or a
   * compiled WebAssembly.Module), by default the file next to this module.
   */
  static async load(source) {
    checkEngine();
    if (source instanceof WebAssembly.Module) return new Vasi(source);
    const bytes = await loadBytes(source ?? new URL("./vasi_web.wasm", import.meta.url));
    let module;
    try {
      module = await WebAssembly.compile(bytes);
    } catch (e) {
      throw new VasiError(
        `this engine cannot run vasi-web: ${e.message} (it needs WebAssembly with ` +
          "bulk memory, sign extension, mutable globals and multi-value)",
      );
    }
    return new Vasi(module);
  }

  /**
   * Runs a wasm32-wasip1 command to its end. Resolves to `{exitCode, stdout,
   * stderr, trap}` (outputs are strings when captured, `stdoutBytes` and
   * `stderrBytes` hold the bytes); rejects with a VasiError for bad input.
   */
  async run(moduleBytes, options = {}) {
    const module = await compileGuest(moduleBytes, options.imports ?? {});
    const run = new Run(options);
    const vasi = await WebAssembly.instantiate(this.#module, { vasi: run.imports() });
    run.attach(vasi);
    // A bundle (its world in a custom section) is read by vasi, from bytes.
    const bundled = WebAssembly.Module.customSections(module, BUNDLE_SECTION).length > 0;
    if (bundled && moduleBytes instanceof WebAssembly.Module) {
      throw new VasiError("a vasi bundle must be passed as bytes, not as a compiled WebAssembly.Module");
    }
    run.configure(bundled ? toBytes(moduleBytes, "the module") : null);
    let guest;
    try {
      guest = await WebAssembly.instantiate(module, { ...(options.imports ?? {}), [PREVIEW1]: run.hostcalls() });
    } catch (e) {
      throw new VasiError(`cannot instantiate the module: ${e.message}`);
    }
    return run.start(guest);
  }
}

/** One run: vasi's instance, the guest's, and the JS side of their I/O. */
class Run {
  constructor(options) {
    if (options === null || typeof options !== "object") throw new VasiError("options must be an object");
    this.options = options;
    this.vasi = null;
    this.vmem = null;
    this.gmem = null;
    this.vbytes = null; // set by imports()
    this.hooks = [];
    this.stdout = outputSink(options.stdout, "stdout");
    this.stderr = outputSink(options.stderr, "stderr");
    const trace = options.trace;
    const traceCallback = typeof trace === "function" ? trace : trace?.callback;
    this.trace = traceCallback ? lineSplitter(traceCallback) : null;
    this.stdinPending = new Uint8Array(0);
    this.stdinRead = null;
    const stdin = options.stdin;
    if (typeof stdin === "function") this.stdinRead = stdin;
    else if (stdin instanceof StdinPipe) this.stdinRead = (max) => stdin.read(max);
  }

  imports() {
    const run = this;
    // The two memories' bytes, in closure variables. A view is renewed when
    // it is shorter than a copy needs: the memory grew (a non-shared
    // memory's old buffer is then detached, its view's length 0; a shared
    // one's old view keeps its old length). Only bulk copies (more than 128
    // bytes) and outputs come here: vasi makes smaller accesses through the
    // guest-memory accessors (`accessModule`), in wasm.
    let v = new Uint8Array(0);
    let g = new Uint8Array(0);
    const vbytes = (end = 1) => {
      if (v.length < end) v = new Uint8Array(run.vmem.buffer);
      return v;
    };
    const gbytes = (end) => {
      if (g.length < end && run.gmem !== null) g = new Uint8Array(run.gmem.buffer);
      return g;
    };
    run.vbytes = vbytes;
    const sinkWriter = (sink) => (sink.chunks !== null ? (bytes) => sink.chunks.push(bytes) : sink.write);
    const toStdout = sinkWriter(run.stdout);
    const toStderr = sinkWriter(run.stderr);
    return {
      guest_read(offset, dst, len) {
        offset >>>= 0;
        dst >>>= 0;
        vbytes(dst + len).set(gbytes(offset + len).subarray(offset, offset + len), dst);
      },
      guest_write(offset, src, len) {
        offset >>>= 0;
        src >>>= 0;
        gbytes(offset + len).set(vbytes(src + len).subarray(src, src + len), offset);
      },
      now_monotonic() {
        return perf.now() * 1e6;
      },
      now_realtime() {
        return (perf.timeOrigin + perf.now()) * 1e6;
      },
      sleep(ns) {
        blockFor(ns / 1e6);
      },
      output(fd, src, len) {
        src >>>= 0;
        run.trace?.write(vbytes(src + len).slice(src, src + len));
      },
      output_guest(fd, offset, len) {
        offset >>>= 0;
        // A copy: the callback may keep the bytes.
        const bytes = gbytes(offset + len).slice(offset, offset + len);
        if (fd === 1) toStdout(bytes);
        else toStderr(bytes);
      },
      stdin_read(dst, len) {
        dst >>>= 0;
        if (run.stdinPending.length === 0) {
          const got = run.stdinRead(len);
          if (got == null) return 0;
          run.stdinPending = toBytes(got, "what the stdin callback returns");
          if (run.stdinPending.length === 0) return 0;
        }
        const n = Math.min(len, run.stdinPending.length);
        vbytes(dst + n).set(run.stdinPending.subarray(0, n), dst);
        run.stdinPending = run.stdinPending.subarray(n);
        return n;
      },
      hook_before(hook, desc, descLen, args, nargs) {
        const h = run.hooks[hook];
        if (typeof h.before !== "function") return -1;
        const { call } = run.describe(desc, descLen, args, nargs);
        const verdict = h.before(call);
        if (verdict == null || verdict === "run") return -1;
        if (typeof verdict === "object" && typeof verdict.stop === "string") {
          run.put(encoder.encode(verdict.stop));
          return -2;
        }
        if (typeof verdict === "object" && Number.isInteger(verdict.errno) && verdict.errno >= 0 && verdict.errno <= 76) {
          return verdict.errno;
        }
        throw new VasiError(
          `hooks[${hook}].before(${call.name}) returned ${JSON.stringify(verdict)}: ` +
            'want nothing (run the call), {errno: 0..76} or {stop: "why"}',
        );
      },
      hook_after(hook, desc, descLen, args, nargs, kind, errno, ns) {
        const h = run.hooks[hook];
        if (typeof h.after !== "function") return;
        const { call, message } = run.describe(desc, descLen, args, nargs);
        const outcome =
          kind === 0 ? { errno } : kind === 1 ? { exit: errno } : kind === 2 ? { trap: message } : { stop: message };
        outcome.durationNs = ns;
        h.after(call, outcome);
      },
      random_fill(dst, len) {
        dst >>>= 0;
        for (let at = 0; at < len; at += 65536) {
          const n = Math.min(65536, len - at);
          crypto.getRandomValues(vbytes(dst + at + n).subarray(dst + at, dst + at + n));
        }
      },
    };
  }

  /** A hook's view of a call, from the description vasi passed (see web.rs, `JsHook`). */
  describe(desc, descLen, args, nargs) {
    const bytes = this.vbytes(desc + descLen);
    const [name, params, message] = decoder.decode(bytes.subarray(desc, desc + descLen)).split("\0");
    const names = params ? params.split(",") : [];
    const view = new DataView(bytes.buffer);
    const values = {};
    for (let i = 0; i < nargs; i++) {
      const v = view.getBigUint64(args + 8 * i, true);
      values[names[i]] = v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    const family = name.slice(0, name.indexOf("_"));
    return { call: { name, family, args: values, memory: this.gmem }, message };
  }

  attach(instance) {
    this.vasi = instance.exports;
    this.vmem = instance.exports.memory;
  }

  message() {
    const ex = this.vasi;
    const ptr = ex.vasi_message_ptr() >>> 0;
    const len = ex.vasi_message_len() >>> 0;
    return decoder.decode(this.vbytes(ptr + len).subarray(ptr, ptr + len));
  }

  put(bytes) {
    const ptr = this.vasi.vasi_buffer(bytes.length) >>> 0;
    this.vbytes(ptr + bytes.length).set(bytes, ptr);
  }

  check(r, what) {
    if (r < 0) throw new VasiError(`${what}: ${this.message()}`);
    return r;
  }

  /** Configures vasi from the options, below the world of `bundle` (bytes) if any. */
  configure(bundle) {
    const ex = this.vasi;
    const o = this.options;
    let bundled = false;
    if (bundle !== null) {
      this.put(bundle);
      bundled = this.check(ex.vasi_bundle(), "bundle") === 1;
    }
    if (o.deterministic) ex.vasi_deterministic(BigInt.asIntN(64, BigInt(o.seed ?? 0)));
    const args = o.args ?? (bundled ? [] : ["main.wasm"]);
    if (!Array.isArray(args)) throw new VasiError("args must be an array of strings (argv, program name first)");
    // A bundle names the program itself: more arguments follow its own.
    for (const a of bundled ? args.slice(1) : args) {
      this.put(encoder.encode(String(a)));
      this.check(ex.vasi_arg(), "args");
    }
    const env = o.env ?? {};
    const pairs = Array.isArray(env) ? env.map(String) : Object.entries(env).map(([k, v]) => `${k}=${v}`);
    for (const p of pairs) {
      this.put(encoder.encode(p));
      this.check(ex.vasi_env(), "env");
    }
    if (this.stdinRead !== null) ex.vasi_stdin_callback();
    else if (o.stdin != null) {
      this.put(toBytes(o.stdin, "stdin"));
      ex.vasi_stdin_bytes();
    }
    if (this.trace !== null) {
      const t = typeof o.trace === "object" ? o.trace : {};
      this.put(encoder.encode((t.families ?? []).join(",")));
      this.check(ex.vasi_trace(t.durations === false ? 0 : 1), "trace");
    }
    const hooks = o.hooks == null ? [] : Array.isArray(o.hooks) ? o.hooks : [o.hooks];
    hooks.forEach((h, i) => {
      if (h === null || typeof h !== "object" || (typeof h.before !== "function" && typeof h.after !== "function")) {
        throw new VasiError(`hooks[${i}] must be an object with a before(call) or after(call, outcome) method`);
      }
      ex.vasi_hook(i);
    });
    this.hooks = hooks;
    for (const [path, spec] of Object.entries(o.mounts ?? {})) this.mount(path, spec);
    if (o.timeout != null) ex.vasi_timeout(Number(o.timeout));
    this.check(ex.vasi_build(), "options");
  }

  mount(path, spec) {
    const ex = this.vasi;
    const where = `mount ${path}`;
    if (spec === null || typeof spec !== "object") throw new VasiError(`${where}: want {tar}, {memory} or {files}`);
    const pathBytes = encoder.encode(path);
    let index;
    if (spec.tar != null) {
      const tar = toBytes(spec.tar, `${where}: tar`);
      const buf = new Uint8Array(pathBytes.length + tar.length);
      buf.set(pathBytes);
      buf.set(tar, pathBytes.length);
      this.put(buf);
      index = this.check(ex.vasi_mount_tar(pathBytes.length, spec.overlay ? 1 : 0, parseSize(spec.memory)), where);
    } else {
      this.put(pathBytes);
      index = this.check(ex.vasi_mount_memory(parseSize(spec.memory), Number(spec.inodes ?? 0)), where);
      if (spec.files != null) this.addFiles(index, "", spec.files, where);
    }
    if (spec.readOnly) ex.vasi_mount_read_only(index);
  }

  addFiles(index, prefix, tree, where) {
    const ex = this.vasi;
    for (const [name, value] of Object.entries(tree)) {
      const path = prefix ? `${prefix}/${name}` : name;
      if (value !== null && typeof value === "object" && !ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer)) {
        this.put(encoder.encode(path));
        const e = ex.vasi_mount_dir(index);
        if (e !== 0) throw new VasiError(`${where}: cannot make directory ${path} (errno ${e})`);
        this.addFiles(index, path, value, where);
      } else {
        const p = encoder.encode(path);
        const data = toBytes(value, `${where}: file ${path}`);
        const buf = new Uint8Array(p.length + data.length);
        buf.set(p);
        buf.set(data, p.length);
        this.put(buf);
        const e = ex.vasi_mount_file(index, p.length);
        if (e !== 0) throw new VasiError(`${where}: cannot write file ${path} (errno ${e})`);
      }
    }
  }

  hostcalls() {
    const out = {};
    for (const name of HOSTCALLS) out[name] = this.vasi[name];
    return out;
  }

  start(guest) {
    const memory = guest.exports.memory;
    if (memory instanceof WebAssembly.Memory) {
      this.gmem = memory;
      // The accessors join vasi's function table; vasi calls them there.
      const shared = typeof SharedArrayBuffer === "function" && memory.buffer instanceof SharedArrayBuffer;
      const access = new WebAssembly.Instance(accessModule(shared), { guest: { memory } }).exports;
      const table = this.vasi.__indirect_function_table;
      const base = table.grow(ACCESSORS.length);
      ACCESSORS.forEach((name, k) => table.set(base + k, access[name]));
      this.vasi.vasi_guest_access(base);
    }
    let exitCode = 0;
    let trap;
    try {
      guest.exports._start();
    } catch (e) {
      const outcome = this.outcome(e);
      if (outcome === undefined) throw e;
      ({ exitCode, trap } = outcome);
    }
    this.trace?.end();
    const result = { exitCode, trap, stdout: "", stderr: "" };
    for (const [name, sink] of [["stdout", this.stdout], ["stderr", this.stderr]]) {
      if (sink.chunks !== null) {
        const bytes = concat(sink.chunks);
        result[`${name}Bytes`] = bytes;
        result[name] = decoder.decode(bytes);
      }
    }
    return result;
  }

  /** What an exception out of `_start` means; undefined: not the guest's (rethrow it). */
  outcome(e) {
    const ex = this.vasi;
    let kind = 0;
    if (e instanceof WebAssembly.RuntimeError) {
      try {
        kind = ex.vasi_outcome();
      } catch {
        return { exitCode: EXIT_TRAP, trap: "vasi-web internal error" };
      }
    }
    if (kind === 1) return { exitCode: ex.vasi_exit_code(), trap: undefined };
    if (kind === 2) return { exitCode: EXIT_TRAP, trap: this.message() };
    if (kind === 3) {
      const m = this.message();
      return { exitCode: m === "timeout" ? EXIT_TIMEOUT : EXIT_TRAP, trap: m };
    }
    if (e instanceof WebAssembly.RuntimeError) return { exitCode: EXIT_TRAP, trap: e.message };
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      return { exitCode: EXIT_TRAP, trap: `call stack exhausted (${e.message})` };
    }
    return undefined;
  }
}
