//! The cost of one global read from a guest, next to the cost of one
//! `clock_time_get`, measured in the same run on wasmtime and on wasmi.
//!
//! `cargo bench -p vasi-globals` (add `-- N` for N calls per measurement).
//! Two guests:
//! - `GUEST` below (WAT): each export calls one import N times in a wasm loop;
//!   the `loop` export calls nothing, and its time is subtracted;
//! - `globals_bench` from tests/programs (Rust, on the guest SDK): N typed
//!   reads (`Global::get`, which calls `get` only when the generation moved),
//!   N raw reads (`vasi_globals_sdk::get`) and N `Instant::now()`.
//!
//! Each figure is the best of several rounds, with the calls interleaved so
//! that they share the machine's state.

use std::time::{Duration, Instant};
use test_programs_artifacts as programs;
use vasi::{WasiCtx, WasiCtxBuilder};
use vasi_globals::Globals;

const GUEST: &str = r#"(module
    (import "vasi_globals_v1" "get" (func $get (param i32 i32 i32) (result i32)))
    (import "vasi_globals_v1" "generation" (func $generation (result i64)))
    (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "TEST_UINT64")
    (data (i32.const 16) "NOT_SET_HERE")
    (func (export "loop") (param $n i32)
        (loop $l
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br_if $l (local.get $n))))
    (func (export "get") (param $n i32)
        (loop $l
            (drop (call $get (i32.const 0) (i32.const 11) (i32.const 64)))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br_if $l (local.get $n))))
    (func (export "get_unset") (param $n i32)
        (loop $l
            (drop (call $get (i32.const 16) (i32.const 12) (i32.const 64)))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br_if $l (local.get $n))))
    (func (export "generation") (param $n i32)
        (loop $l
            (drop (call $generation))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br_if $l (local.get $n))))
    (func (export "clock_time_get") (param $n i32)
        (loop $l
            (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 64)))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br_if $l (local.get $n)))))"#;

/// The exports of `GUEST`, in the order printed.
const CALLS: [(&str, &str); 5] = [
    ("loop", "empty loop (subtracted below)"),
    ("get", "vasi_globals_v1::get, set"),
    ("get_unset", "vasi_globals_v1::get, not set"),
    ("generation", "vasi_globals_v1::generation"),
    ("clock_time_get", "clock_time_get (monotonic)"),
];
/// The exports of `globals_bench`, in the order printed.
const SDK_CALLS: [(&str, &str); 3] = [
    ("typed_reads", "Global<u64>::get (unchanged)"),
    ("raw_reads", "vasi_globals_sdk::get"),
    ("clock_reads", "Instant::now (clock_time_get)"),
];
const ROUNDS: usize = 7;

struct Host {
    wasi: WasiCtx,
    globals: Globals,
}

fn host() -> Host {
    let globals = Globals::new();
    globals.set("TEST_UINT64", 43u64).unwrap();
    Host {
        wasi: WasiCtxBuilder::new().build().unwrap(),
        globals,
    }
}

/// Times `run(export, n)` for every export in `calls`, interleaved; the best
/// of `ROUNDS` per export, in ns per call.
fn measure(calls: &[(&str, &str)], n: u32, mut run: impl FnMut(&str, u32)) -> Vec<f64> {
    let mut best = vec![Duration::MAX; calls.len()];
    for (name, _) in calls {
        run(name, n / 10); // warm up
    }
    for _ in 0..ROUNDS {
        for (i, (name, _)) in calls.iter().enumerate() {
            let start = Instant::now();
            run(name, n);
            best[i] = best[i].min(start.elapsed());
        }
    }
    best.iter()
        .map(|d| d.as_nanos() as f64 / f64::from(n))
        .collect()
}

/// Runs `calls` of `wasm` on wasmtime; each export takes a count and
/// returns nothing (`GUEST`) or an `i64` (`globals_bench`).
fn wasmtime_figures(wasm: &[u8], calls: &[(&str, &str)], n: u32) -> Vec<f64> {
    use wasmtime::{Engine, Linker, Module, Store, Val};
    let engine = Engine::default();
    let module = Module::new(&engine, wasm).unwrap();
    let mut linker = Linker::new(&engine);
    vasi_wasmtime::add_to_linker(&mut linker, |h: &mut Host| &mut h.wasi).unwrap();
    vasi_globals::wasmtime::add_to_linker(&mut linker, |h: &mut Host| &h.globals).unwrap();
    let mut store = Store::new(&engine, host());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let funcs: Vec<_> = calls
        .iter()
        .map(|(name, _)| (*name, instance.get_func(&mut store, name).unwrap()))
        .collect();
    let mut results = [Val::I64(0)];
    measure(calls, n, |name, n| {
        let f = funcs.iter().find(|(f, _)| *f == name).unwrap().1;
        let results = &mut results[..f.ty(&store).results().len()];
        f.call(&mut store, &[Val::I32(n as i32)], results).unwrap();
    })
}

/// The same on wasmi.
fn wasmi_figures(wasm: &[u8], calls: &[(&str, &str)], n: u32) -> Vec<f64> {
    use wasmi::{Engine, Linker, Module, Store, Val};
    let engine = Engine::default();
    let module = Module::new(&engine, wasm).unwrap();
    let mut linker = Linker::new(&engine);
    vasi_wasmi::add_to_linker(&mut linker, |h: &mut Host| &mut h.wasi).unwrap();
    vasi_globals::wasmi::add_to_linker(&mut linker, |h: &mut Host| &h.globals).unwrap();
    let mut store = Store::new(&engine, host());
    let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
    let funcs: Vec<_> = calls
        .iter()
        .map(|(name, _)| (*name, instance.get_func(&store, name).unwrap()))
        .collect();
    let mut results = [Val::I64(0)];
    measure(calls, n, |name, n| {
        let f = funcs.iter().find(|(f, _)| *f == name).unwrap().1;
        let results = &mut results[..f.ty(&store).results().len()];
        f.call(&mut store, &[Val::I32(n as i32)], results).unwrap();
    })
}

fn print(title: &str, n: u32, figures: &[f64]) {
    println!("\n{title}, {n} calls per measurement, best of {ROUNDS}:");
    let empty = figures[0];
    println!("  {:<34} {empty:>8.1} ns/iteration", CALLS[0].1);
    for ((_, label), ns) in CALLS.iter().zip(figures).skip(1) {
        println!("  {label:<34} {:>8.1} ns/call", ns - empty);
    }
    let get = figures[1] - empty;
    let clock = figures[4] - empty;
    println!("  one get costs {:.2}x one clock_time_get", get / clock);
}

fn print_sdk(title: &str, n: u32, figures: &[f64]) {
    println!("\n{title}, {n} calls per measurement, best of {ROUNDS} (loop included):");
    for ((_, label), ns) in SDK_CALLS.iter().zip(figures) {
        println!("  {label:<34} {ns:>8.1} ns/read");
    }
    println!(
        "  one typed read costs {:.2}x one Instant::now",
        figures[0] / figures[2]
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a number sets the calls per measurement.
    let n: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let n_wasmi = (n / 5).max(1);
    let wat = wat::parse_str(GUEST).unwrap();
    let sdk = std::fs::read(programs::GLOBALS_BENCH).unwrap();
    print("wasmtime, WAT guest", n, &wasmtime_figures(&wat, &CALLS, n));
    print_sdk(
        "wasmtime, Rust SDK guest",
        n,
        &wasmtime_figures(&sdk, &SDK_CALLS, n),
    );
    print(
        "wasmi, WAT guest",
        n_wasmi,
        &wasmi_figures(&wat, &CALLS, n_wasmi),
    );
    print_sdk(
        "wasmi, Rust SDK guest",
        n_wasmi,
        &wasmi_figures(&sdk, &SDK_CALLS, n_wasmi),
    );
}
