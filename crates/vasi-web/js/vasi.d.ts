// Types of vasi.js (vasi-web): run wasm32-wasip1 programs on vasi's core in
// browsers, Node and Deno.

/** Bytes as vasi-web accepts them. */
export type Bytes = Uint8Array | ArrayBuffer | ArrayBufferView;

/** A tree of files for an in-memory mount: a string or bytes is a file, an object a directory. */
export interface FileTree {
  [name: string]: string | Bytes | FileTree;
}

/** A size in bytes, or a string such as "64M", "512K", "1G" (powers of 1024). */
export type Size = number | string;

/** What a guest sees at one mount point. */
export type Mount =
  /** A tar archive, read-only; with `overlay`, under an in-memory layer (of `memory` bytes) that takes writes. */
  | { tar: Bytes; overlay?: boolean; memory?: Size; readOnly?: boolean }
  /** An in-memory directory with a byte quota (default 1 GiB) and an optional inode quota, holding `files`. */
  | { memory: Size; inodes?: number; files?: FileTree; readOnly?: boolean }
  /** An in-memory copy of `files`. */
  | { files: FileTree; readOnly?: boolean };

/** Options of `Vasi.run`, mirroring `vasi run`. */
export interface RunOptions {
  /** argv, the program name first (default ["main.wasm"]). */
  args?: string[];
  /** The environment: an object, or "NAME=value" strings. */
  env?: Record<string, string> | string[];
  /** Guest path -> mount, preopened in this order. */
  mounts?: Record<string, Mount>;
  /** The whole stdin, a callback asked for up to `maxBytes` (null or empty: the end; it may block), or a StdinPipe. */
  stdin?: string | Bytes | ((maxBytes: number) => string | Bytes | null | undefined) | StdinPipe;
  /** A callback per write (at most 64 KiB each, a copy it may keep), or "capture" (the default) into the result. */
  stdout?: ((bytes: Uint8Array) => void) | "capture";
  stderr?: ((bytes: Uint8Array) => void) | "capture";
  /** Fixed clocks (2020-01-01, 1 µs per read, sleeps without waiting) and seeded random bytes. */
  deterministic?: boolean;
  seed?: number | bigint;
  /** Every hostcall, one line each (strace style). */
  trace?: ((line: string) => void) | { callback: (line: string) => void; families?: string[]; durations?: boolean };
  /** Hooks that see every hostcall, after the trace: each may deny, answer or stop a call (`before`) and observe its outcome (`after`). */
  hooks?: Hook | Hook[];
  /** More import modules for the guest, beside wasi_snapshot_preview1 (which is always vasi's). */
  imports?: Record<string, Record<string, unknown>>;
  /** End the guest after this many milliseconds (checked at hostcalls and in sleeps): exit code 124. */
  timeout?: number;
}

/** A hostcall as a hook sees it. */
export interface HookCall {
  /** The preview1 name, e.g. "path_open". */
  name: string;
  /** Its family: "args", "environ", "clock", "fd", "path", "poll", "proc", "random", "sched" or "sock". */
  family: string;
  /** The raw arguments by parameter name (pointers and lengths included); a BigInt above 2^53 (only i64 ones). */
  args: Record<string, number | bigint>;
  /** The guest's memory, to decode pointers (undefined if it exports none). */
  memory: WebAssembly.Memory | undefined;
}

/** How a hostcall ended, as a hook's `after` sees it; `durationNs` is how long it took. */
export type HookOutcome = ({ errno: number } | { exit: number } | { trap: string } | { stop: string }) & { durationNs: number };

/**
 * Interposition on every hostcall (as `vasi::hook::Hook` natively). `before`
 * returns nothing to run the call, `{errno}` to return that (0: success; a
 * hook that answers a call writes its results into guest memory first)
 * without running it, or `{stop: "why"}` to end the guest (exit code 134,
 * `trap` the reason). An exception thrown by a hook ends the run with it.
 */
export interface Hook {
  before?(call: HookCall): void | "run" | { errno: number } | { stop: string };
  after?(call: HookCall, outcome: HookOutcome): void;
}

/** How a run ended. */
export interface RunResult {
  /** The guest's exit code; 134 after a trap, 124 after the timeout. */
  exitCode: number;
  /** Why the guest was stopped (a trap's message, or "timeout"); undefined if it exited. */
  trap: string | undefined;
  /** Captured output, as UTF-8 text ("" when a callback took it). */
  stdout: string;
  stderr: string;
  /** Captured output, as bytes (absent when a callback took it). */
  stdoutBytes?: Uint8Array;
  stderrBytes?: Uint8Array;
}

/** Bad input or an engine that cannot run vasi: one clear message. */
export class VasiError extends Error {}

/** vasi's core, loaded once; every run gets a fresh instance of it. */
export class Vasi {
  /** Loads vasi_web.wasm (default: the file next to vasi.js). */
  static load(source?: string | URL | Bytes | Response | WebAssembly.Module): Promise<Vasi>;
  /**
   * Runs a wasm32-wasip1 command to its end. A vasi bundle (passed as bytes)
   * brings its world first: argv0 and arguments, environment, mounts,
   * deterministic mode, the open-files cap and timeout; `args` after their
   * program name, `env`, `mounts` and the other options add to it or override
   * it. A bundle that sets fuel, a memory cap or globals is refused (a
   * VasiError): vasi-web cannot enforce them.
   */
  run(module: Bytes | WebAssembly.Module, options?: RunOptions): Promise<RunResult>;
}

/** A byte pipe over a SharedArrayBuffer: written from any thread, read (blocking) by the guest's. */
export class StdinPipe {
  constructor(bufferOrCapacity?: SharedArrayBuffer | number);
  readonly buffer: SharedArrayBuffer;
  /** Writes what fits without blocking; returns how many bytes it took. */
  write(data: string | Bytes): number;
  /** Ends the stream. */
  close(): void;
  /** Up to `max` bytes, blocking until some come; null at the end. */
  read(max: number): Uint8Array | null;
}

/** The 46 wasi_snapshot_preview1 functions vasi provides. */
export const HOSTCALLS: readonly string[];
export const EXIT_TRAP: 134;
export const EXIT_TIMEOUT: 124;
/** Compiles and checks a guest module (the errors `run` gives). */
export function compileGuest(module: Bytes | WebAssembly.Module, extraImports?: Record<string, Record<string, unknown>>): Promise<WebAssembly.Module>;
/** Parses a Size. */
export function parseSize(size: Size): number;
/** Blocks this thread for `ms` (Atomics.wait where allowed, a spin otherwise). */
export function blockFor(ms: number): void;
