// vasi-web under Node: our guest programs (tests/programs, the subset that
// needs no host sockets or host directories) with the assertions of
// crates/vasi-wasmtime/tests/all/p1.rs, bad input, blocking, the README's
// example, and scripts/vasi-node. Run by crates/vasi-web/tests/node.rs
// (`cargo test`), which builds vasi_web.wasm and the programs and sets
//   VASI_WEB_WASM       the vasi_web.wasm to test
//   VASI_PROGRAMS       the directory of the wasm32-wasip1 programs
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Vasi, VasiError, StdinPipe } from "../../js/vasi.js";
import { makeTar } from "../../js/tar.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../../../..");
const wasmPath = process.env.VASI_WEB_WASM;
const programs = process.env.VASI_PROGRAMS;
assert.ok(wasmPath && programs, "set VASI_WEB_WASM and VASI_PROGRAMS (crates/vasi-web/tests/node.rs does)");
const vasi = await Vasi.load(fs.readFileSync(wasmPath));
const program = (name) => fs.readFileSync(path.join(programs, `${name}.wasm`));

/** Runs program `name` as p1.rs's harness does: argv[0] = name, an empty in-memory /sandbox. */
async function guest(name, args = [], options = {}) {
  const { mounts, ...rest } = options;
  return vasi.run(program(name), { args: [name, ...args], ...rest, mounts: { "/sandbox": { memory: "1G" }, ...(mounts ?? {}) } });
}

function success(out) {
  assert.equal(out.trap, undefined, `trap: ${out.trap}\nstderr: ${out.stderr}`);
  assert.equal(out.exitCode, 0, `stderr: ${out.stderr}`);
}

for (const name of ["p1_clocks", "p1_random", "p1_file_rw", "p1_dirs", "p1_escape", "p1_links", "p1_rights", "p1_readdir_rewind", "p1_fd_misc"]) {
  test(name, async () => success(await guest(name)));
}

test("p1_args_env", async () => {
  success(await guest("p1_args_env", ["hello", "wörld", "", "a b"], { env: { FOO: "bar", EMPTY: "", UNICODE: "ünï" } }));
});

test("p1_stdio (stdin as bytes, as a callback and as a StdinPipe)", async () => {
  const stdin = new Uint8Array([...new TextEncoder().encode("line one\nline two\n"), ...new Uint8Array(100_000).fill(120), ...new TextEncoder().encode("\nEND\n")]);
  const check = (out) => {
    success(out);
    assert.equal(out.stdout, "stdin bytes: 100023\nLINE ONE\nLINE TWO\n");
    assert.equal(out.stderr, "to stderr\n");
  };
  check(await guest("p1_stdio", [], { stdin }));
  let at = 0;
  const calls = [];
  check(await guest("p1_stdio", [], {
    stdin: (max) => {
      calls.push(max);
      const piece = stdin.subarray(at, at + 777); // short pieces: the guest must loop
      at += piece.length;
      return piece.length ? piece : null;
    },
  }));
  assert.ok(calls.length > 100, `the callback was asked ${calls.length} times`);
  const pipe = new StdinPipe(200_000);
  assert.equal(pipe.write(stdin), stdin.length);
  pipe.close();
  check(await guest("p1_stdio", [], { stdin: pipe }));
});

test("p1_exit_code", async () => {
  for (const code of [0, 1, 3, 42, 125, 255]) {
    const out = await guest("p1_exit_code", [String(code)]);
    assert.equal(out.exitCode, code, out.stderr);
    assert.equal(out.stdout, `exiting with ${code}\n`);
  }
});

test("p1_hostile: errnos, and every bad pointer traps naming its call", async () => {
  success(await guest("p1_hostile", ["errnos"]));
  const cases = [
    ["trap-iovs-oob", "fd_write", "out-of-bounds"],
    ["trap-buf-oob", "fd_write", "out-of-bounds"],
    ["trap-result-oob", "fd_write", "out-of-bounds"],
    ["trap-misaligned", "fd_write", "misaligned"],
    ["trap-path-oob", "path_open", "out-of-bounds"],
    ["trap-len-overflow", "fd_write", "out-of-bounds"],
    ["trap-readdir-oob", "fd_readdir", "out-of-bounds"],
  ];
  for (const [c, call, what] of cases) {
    const out = await guest("p1_hostile", [c]);
    assert.equal(out.exitCode, 134, `${c}: no trap; stderr: ${out.stderr}`);
    assert.ok(out.trap.includes(`${call}: `) && out.trap.includes(what), `${c}: trap ${out.trap}`);
    assert.ok(!out.stderr.includes("NOT TRAPPED"), out.stderr);
  }
});

test("p1_print", async () => {
  const out = await guest("p1_print", ["one", "--two"], { env: { B: "1", A: "x=y" } });
  success(out);
  assert.equal(out.stdout, "arg: p1_print\narg: one\narg: --two\nenv: B=1\nenv: A=x=y\n");
});

test("p1_cat", async () => {
  const out = await guest("p1_cat", ["/sandbox", "/sandbox/missing"]);
  assert.equal(out.exitCode, 1, out.stderr);
  assert.equal(out.stdout, "");
  assert.ok(out.stderr.startsWith("/sandbox/missing: "), out.stderr);
});

test("p1_quota", async () => {
  const out = await vasi.run(program("p1_quota"), {
    args: ["p1_quota", "65536", "20"],
    mounts: { "/sandbox": { memory: 65536, inodes: 20 } },
  });
  success(out);
});

test("p1_exact padding and compat (a read-only /ro)", async () => {
  success(await guest("p1_exact", ["padding"]));
  success(await guest("p1_exact", ["compat"], { mounts: { "/ro": { files: { f: "ro", d: {} }, readOnly: true } } }));
});

test("p1_fs_exact", async () => {
  for (const mode of ["empty_writes", "names", "symlinks"]) success(await guest("p1_fs_exact", [mode]));
  success(await guest("p1_fs_exact", ["mount_busy"], { mounts: { "/sandbox/config": { memory: "1M" } } }));
  success(await guest("p1_fs_exact", ["fill", "/m"], { mounts: { "/m": { memory: "1M" } } }));
  const empty = makeTar({});
  success(await guest("p1_fs_exact", ["fill", "/o"], { mounts: { "/o": { tar: empty, overlay: true, memory: "1M" } } }));
  const sub = {};
  for (let i = 0; i < 8; i++) sub[`f${i}`] = new Uint8Array(200 << 10).fill(1);
  const lower = makeTar({ tree: { sub } });
  const out = await vasi.run(program("p1_fs_exact"), {
    args: ["p1_fs_exact", "overlay_rename"],
    mounts: { "/ov": { tar: lower, overlay: true, memory: "1M" } },
  });
  success(out);
});

test("a tar mount is read-only; an overlay over it takes writes", async () => {
  const tar = makeTar({ "notes.txt": "TODO: one\n", dir: { "b.txt": "bee\n" } });
  const out = await vasi.run(program("p1_cat"), { args: ["cat", "/src/notes.txt", "/src/dir/b.txt", "/src/dir"], mounts: { "/src": { tar } } });
  success(out);
  assert.equal(out.stdout, "TODO: one\nbee\nb.txt\n");
});

test("a guest whose memory grows between hostcalls (vasi asks for its size at every call)", async () => {
  // p1_cat reads each file into a buffer as large as the file, which the
  // guest's allocator grows its memory for just before fd_read fills it.
  const big = new Uint8Array(6 << 20);
  for (let i = 0; i < big.length; i++) big[i] = 97 + (i % 26);
  const out = await vasi.run(program("p1_cat"), { args: ["cat", "/d/big", "/d/big"], mounts: { "/d": { files: { big } } } });
  success(out);
  assert.equal(out.stdoutBytes.length, 2 * big.length);
  assert.deepEqual(out.stdoutBytes.subarray(big.length), big);
  // With the trace on (a hook sees every call): the same bytes.
  let lines = 0;
  const traced = await vasi.run(program("p1_cat"), { args: ["cat", "/d/big"], mounts: { "/d": { files: { big } } }, trace: () => lines++ });
  success(traced);
  assert.deepEqual(traced.stdoutBytes, big);
  assert.ok(lines > 3);
});

test("a stdout callback gets the guest's bytes in order, at most 64 KiB at a time, each chunk its own copy", async () => {
  const big = new Uint8Array((1 << 20) + 3);
  for (let i = 0; i < big.length; i++) big[i] = 32 + (i % 95); // ASCII: p1_cat prints text
  const chunks = [];
  const out = await vasi.run(program("p1_cat"), {
    args: ["cat", "/d/big"],
    mounts: { "/d": { files: { big } } },
    stdout: (bytes) => chunks.push(bytes),
  });
  success(out);
  assert.ok(chunks.length >= 17, `${chunks.length} chunks`);
  assert.ok(chunks.every((c) => c.length > 0 && c.length <= 65536));
  const all = new Uint8Array(big.length);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  assert.equal(at, big.length);
  assert.deepEqual(all, big);
  // Copies, not views of the guest's memory: they outlive the instance.
  assert.ok(chunks.every((c) => c.buffer.byteLength === c.length));
});

/** A guest with a shared memory (threads-style), built by hand: `_start` writes "hi from shared\n" to stdout. */
function sharedMemoryGuest() {
  const enc = new TextEncoder();
  const name = (s) => [s.length, ...enc.encode(s)];
  const section = (id, items) => {
    const body = [items.length, ...items.flat()];
    return [id, body.length, ...body]; // every section here is under 128 bytes
  };
  const text = enc.encode("hi from shared\n");
  const code = [
    0x00, // no locals
    0x41, 0, 0x41, 16, 0x36, 2, 0, // iov.buf = 16
    0x41, 4, 0x41, text.length, 0x36, 2, 0, // iov.len
    0x41, 1, 0x41, 0, 0x41, 1, 0x41, 8, 0x10, 0, 0x1a, // drop(fd_write(1, 0, 1, 8))
    0x0b,
  ];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [[0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 1, 0x7f], [0x60, 0, 0]]),
    ...section(2, [[...name("wasi_snapshot_preview1"), ...name("fd_write"), 0x00, 0]]),
    ...section(3, [[1]]),
    ...section(5, [[0x03, 1, 1]]), // shared, min 1, max 1
    ...section(7, [[...name("memory"), 0x02, 0], [...name("_start"), 0x00, 1]]),
    ...section(10, [[code.length, ...code]]),
    ...section(11, [[0x00, 0x41, 16, 0x0b, text.length, ...text]]),
  ]);
}

test("a guest whose memory is shared: the accessors import it as shared, output is copied out of it", async () => {
  const out = await vasi.run(sharedMemoryGuest(), { args: ["shared"] });
  success(out);
  assert.equal(out.stdout, "hi from shared\n");
});

test("a bundle brings its world: argv0, arguments, mounts; more arguments and mounts add to it", async () => {
  const bytes = fs.readFileSync(path.join(process.env.VASI_BUNDLES, "cat.wasm"));
  const out = await vasi.run(bytes);
  success(out);
  assert.equal(out.stdout, "hello from the bundle\nwork notes\n");
  // The options' arguments after their program name follow the bundle's.
  const more = await vasi.run(bytes, {
    args: ["ignored-name", "/data/sub", "/extra/x.txt"],
    mounts: { "/extra": { files: { "x.txt": "extra\n" } } },
  });
  success(more);
  assert.equal(more.stdout, "hello from the bundle\nwork notes\na.txt\nextra\n");
  // What only an engine can enforce (fuel) is refused, not ignored.
  const fuel = fs.readFileSync(path.join(process.env.VASI_BUNDLES, "fuel.wasm"));
  await assert.rejects(vasi.run(fuel), (e) => e instanceof VasiError && /fuel.*vasi-web cannot enforce/.test(e.message));
  // A compiled module cannot be read as a bundle.
  await assert.rejects(vasi.run(await WebAssembly.compile(bytes)), (e) => e instanceof VasiError && /as bytes/.test(e.message));
});

test("hooks see every call, may deny or stop one, and observe outcomes", async () => {
  const files = { "a.txt": "alpha\n", "b.txt": "beta\n" };
  const seen = [];
  const out = await vasi.run(program("p1_cat"), {
    args: ["cat", "/d/a.txt", "/d/b.txt"],
    mounts: { "/d": { files } },
    hooks: [
      {
        before(call) {
          if (call.name !== "path_open") return undefined;
          const path = new TextDecoder().decode(new Uint8Array(call.memory.buffer, call.args.path, call.args.path_len));
          return path === "b.txt" ? { errno: 2 } : undefined; // EACCES
        },
      },
      { after: (call, outcome) => seen.push([call.name, call.family, call.args, outcome]) },
    ],
  });
  assert.equal(out.exitCode, 1, out.stderr);
  assert.equal(out.stdout, "alpha\n");
  assert.match(out.stderr, /b\.txt: Permission denied/);
  const opens = seen.filter(([name]) => name === "path_open").map(([, , , o]) => o.errno);
  assert.deepEqual(opens.slice(-2), [0, 2]);
  const write = seen.find(([name, , args]) => name === "fd_write" && args.fd === 1);
  assert.equal(write[1], "fd");
  assert.deepEqual(Object.keys(write[2]), ["fd", "iovs", "iovs_len", "nwritten"]);
  assert.ok(write[3].errno === 0 && write[3].durationNs >= 0);
  assert.deepEqual(seen.at(-1).slice(0, 2), ["proc_exit", "proc"]);
  assert.deepEqual(seen.at(-1)[3].exit, 1);

  // Stop: the guest ends at its first write, with the hook's reason.
  const stopped = await vasi.run(program("p1_cat"), {
    args: ["cat", "/d/a.txt"],
    mounts: { "/d": { files } },
    hooks: { before: (call) => (call.name === "fd_write" ? { stop: "no output today" } : undefined) },
  });
  assert.equal(stopped.exitCode, 134);
  assert.match(stopped.trap, /no output today/);
  assert.equal(stopped.stdout, "");

  // A hook that answers badly, or is not a hook: one clear error.
  await assert.rejects(
    vasi.run(program("p1_cat"), { args: ["cat"], hooks: { before: () => 42.5 } }),
    (e) => e instanceof VasiError && /hooks\[0\]\.before\(\w+\) returned 42\.5/.test(e.message),
  );
  await assert.rejects(vasi.run(program("p1_cat"), { args: ["cat"], hooks: [{}] }), VasiError);
});

test("sleeps block (poll_oneoff on a clock waits, on Atomics.wait)", async () => {
  // p1_clocks sleeps 20 ms and checks that monotonic time advanced by that much.
  const t = performance.now();
  success(await guest("p1_clocks"));
  assert.ok(performance.now() - t >= 20);
});

test("deterministic runs see the same clocks and random bytes; the trace shows every call", async () => {
  const run = async () => {
    const lines = [];
    const out = await guest("p1_clocks", [], { deterministic: true, seed: 7, trace: { callback: (l) => lines.push(l), durations: false } });
    success(out);
    return lines;
  };
  const a = await run();
  const b = await run();
  assert.ok(a.some((l) => l.startsWith("clock_time_get(")), a.slice(0, 5).join("\n"));
  assert.ok(a.some((l) => l.startsWith("poll_oneoff(")));
  assert.deepEqual(a, b);
  // Deterministic sleeps advance time without waiting.
  const t = performance.now();
  await guest("p1_clocks", [], { deterministic: true });
  assert.ok(performance.now() - t < 2000);
});

test("timeout ends a guest that never stops writing", async () => {
  let bytes = 0;
  const out = await guest("p1_exact", ["spew"], { timeout: 300, stdout: (b) => (bytes += b.length) });
  assert.equal(out.exitCode, 124);
  assert.equal(out.trap, "timeout");
  assert.ok(bytes > 0);
});

test("bad input: one clear VasiError each, and vasi keeps working", async () => {
  await assert.rejects(vasi.run(new TextEncoder().encode("#!/bin/sh\necho hi\n")), (e) => e instanceof VasiError && /not a WebAssembly module/.test(e.message));
  // (module (import "env" "foo" (func)))
  const foreign = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 2, 0x0b, 1, 3, 0x65, 0x6e, 0x76, 3, 0x66, 0x6f, 0x6f, 0, 0]);
  await assert.rejects(vasi.run(foreign), (e) => e instanceof VasiError && /does not provide: env\.foo/.test(e.message));
  await assert.rejects(
    vasi.run(program("p1_print"), { mounts: { "/src": { tar: new Uint8Array(600).fill(120) } } }),
    (e) => e instanceof VasiError && /mount \/src: not a usable tar archive/.test(e.message),
  );
  await assert.rejects(vasi.run(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 99])), (e) => e instanceof VasiError && /cannot compile/.test(e.message));
  await assert.rejects(Vasi.load(new Uint8Array([1, 2, 3])), (e) => e instanceof VasiError && /cannot run vasi-web/.test(e.message));
  success(await guest("p1_print"));
});

test("the README's example runs as written", async () => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
  const m = /<!-- web-example:begin -->\n```js\n([\s\S]*?)```\n<!-- web-example:end -->/.exec(readme);
  assert.ok(m, "README.md has the web example between its markers");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vasi-web-readme-"));
  fs.mkdirSync(path.join(dir, "vasi-web"));
  for (const f of ["vasi.js", "tar.js"]) fs.copyFileSync(path.join(root, "crates/vasi-web/js", f), path.join(dir, "vasi-web", f));
  fs.copyFileSync(wasmPath, path.join(dir, "vasi-web/vasi_web.wasm"));
  fs.copyFileSync(path.join(programs, "p1_cat.wasm"), path.join(dir, "cat.wasm"));
  fs.writeFileSync(path.join(dir, "example.mjs"), m[1]);
  // As in a page: fetch() of a URL relative to the example.
  const realFetch = globalThis.fetch;
  const realLog = console.log;
  const logged = [];
  globalThis.fetch = async (url) => new Response(fs.readFileSync(path.join(dir, String(url))));
  console.log = (...a) => logged.push(a);
  try {
    await import(pathToFileURL(path.join(dir, "example.mjs")));
  } finally {
    globalThis.fetch = realFetch;
    console.log = realLog;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(logged, [[0, "TODO: ship it\n"]]);
});

function vasiNode(args, input) {
  return spawnSync(path.join(root, "scripts/vasi-node"), args, { input, encoding: "utf8", env: { ...process.env, VASI_WEB_WASM: wasmPath } });
}

test("scripts/vasi-node: exit codes, flags, one line for a trap", () => {
  const print = path.join(programs, "p1_print.wasm");
  let r = vasiNode(["run", "--env", "A=1", print, "--", "--x", "y"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `arg: ${print}\narg: --x\narg: y\nenv: A=1\n`);
  r = vasiNode(["run", path.join(programs, "p1_exit_code.wasm"), "42"]);
  assert.equal(r.status, 42);
  r = vasiNode(["run", path.join(programs, "p1_hostile.wasm"), "trap-buf-oob"]);
  assert.equal(r.status, 134);
  const lines = r.stderr.trim().split("\n");
  assert.match(lines.at(-1), /^vasi-node: trap: fd_write: out-of-bounds/);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "vasi-node-"));
  fs.writeFileSync(path.join(tmp, "a.txt"), "from the host\n");
  r = vasiNode(["run", "--dir", `${tmp}::/data`, "--mem-dir", "/tmp:1M", path.join(programs, "p1_cat.wasm"), "/data/a.txt", "/tmp"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "from the host\n");
  // p1_stdio's stdin, through our own stdin and through --stdin FILE.
  const stdin = `line one\nline two\n${"x".repeat(100_000)}\nEND\n`;
  fs.writeFileSync(path.join(tmp, "stdin"), stdin);
  for (const [args, input] of [[[], stdin], [["--stdin", path.join(tmp, "stdin")], ""]]) {
    r = vasiNode(["run", ...args, path.join(programs, "p1_stdio.wasm")], input);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "stdin bytes: 100023\nLINE ONE\nLINE TWO\n");
  }
  r = vasiNode(["run", "--tar", `${tmp}/missing.tar::/x`, print]);
  assert.equal(r.status, 125);
  r = vasiNode(["run", "--bogus", print]);
  assert.equal(r.status, 2);
  // --deterministic: two runs trace the same clock readings.
  const traced = () => vasiNode(["run", "--deterministic", "--trace", path.join(programs, "p1_clocks.wasm")]);
  const [a, b] = [traced(), traced()];
  assert.equal(a.status, 0, a.stderr);
  assert.match(a.stderr, /^clock_time_get\(/m);
  assert.equal(a.stderr, b.stderr);
  fs.rmSync(tmp, { recursive: true, force: true });
});
