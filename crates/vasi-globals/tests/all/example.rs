//! The example of docs/globals-abi.md: the document shows this file's host
//! code and the guest program `globals_example` verbatim (checked here), and
//! the example runs on wasmtime (as shown) and on wasmi.

use crate::harness::{Instance, Link, State};
use crate::on_each_engine;
use test_programs_artifacts as programs;

const DOC: &str = include_str!("../../../../docs/globals-abi.md");
const GUEST: &str = include_str!("../../../../tests/programs/src/bin/globals_example.rs");
const HOST: &str = include_str!("example.rs");

/// What the guest prints: the defaults, the host's values, the defaults again.
const EXPECTED: &str = "\
TEST_BOOL=true TEST_UINT64=42 TEST_DURATION=60s
TEST_BOOL=false TEST_UINT64=43 TEST_DURATION=1s
TEST_BOOL=true TEST_UINT64=42 TEST_DURATION=60s
";

// DOCS:begin
use std::time::Duration;
use vasi::{CaptureBuffer, WasiCtx};
use vasi_globals::Globals;
use wasmtime::{Engine, Linker, Module, Store};

struct Host {
    wasi: WasiCtx,
    globals: Globals,
}

fn run_example(wasm: &str) -> Result<String, Box<dyn std::error::Error>> {
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    vasi_wasmtime::add_to_linker(&mut linker, |h: &mut Host| &mut h.wasi)?;
    vasi_globals::wasmtime::add_to_linker(&mut linker, |h: &mut Host| &h.globals)?;

    let globals = Globals::new(); // keep a clone: set and delete at any time
    let stdout = CaptureBuffer::new();
    let wasi = WasiCtx::builder().stdout(stdout.clone()).build()?;
    let mut store = Store::new(
        &engine,
        Host {
            wasi,
            globals: globals.clone(),
        },
    );
    let instance = linker.instantiate(&mut store, &Module::from_file(&engine, wasm)?)?;
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    let report = instance.get_typed_func::<(), ()>(&mut store, "report")?;

    start.call(&mut store, ())?; // prints the defaults
    globals.set("TEST_BOOL", false)?;
    globals.set("TEST_UINT64", 43u64)?;
    globals.set("TEST_DURATION", Duration::from_secs(1))?;
    report.call(&mut store, ())?; // the same instance sees the new values
    for name in ["TEST_BOOL", "TEST_UINT64", "TEST_DURATION"] {
        globals.del(name);
    }
    report.call(&mut store, ())?; // and the defaults again
    Ok(stdout.to_string_lossy())
}
// DOCS:end

/// The text between `// DOCS:begin` and `// DOCS:end` in `source`.
fn marked(source: &str) -> &str {
    source
        .split_once("// DOCS:begin\n")
        .and_then(|(_, rest)| rest.split_once("// DOCS:end"))
        .map(|(body, _)| body)
        .expect("DOCS markers")
}

#[test]
fn the_abi_doc_shows_the_example() {
    for (what, code) in [
        ("guest program", marked(GUEST)),
        ("host code", marked(HOST)),
    ] {
        assert!(
            DOC.contains(code),
            "docs/globals-abi.md must show the example's {what} verbatim:\n{code}"
        );
    }
    assert!(
        DOC.contains(EXPECTED),
        "docs/globals-abi.md must show the output:\n{EXPECTED}"
    );
}

#[test]
fn the_doc_example_runs_on_wasmtime() {
    assert_eq!(run_example(programs::GLOBALS_EXAMPLE).unwrap(), EXPECTED);
}

on_each_engine! {
    /// The same steps through the test harness, on both engines.
    fn globals_example(engine: Engine) {
        let globals = Globals::new();
        let out = CaptureBuffer::new();
        let wasm = std::fs::read(programs::GLOBALS_EXAMPLE).unwrap();
        let mut guest =
            Instance::new(engine, &wasm, State::new(&globals, &out), Link::WithGlobals).unwrap();
        assert_eq!(guest.run("_start"), Ok(0));
        globals.set("TEST_BOOL", false).unwrap();
        globals.set("TEST_UINT64", 43u64).unwrap();
        globals.set("TEST_DURATION", Duration::from_secs(1)).unwrap();
        assert_eq!(guest.run("report"), Ok(0));
        for name in ["TEST_BOOL", "TEST_UINT64", "TEST_DURATION"] {
            assert!(globals.del(name).is_some(), "{name} was set");
        }
        assert_eq!(guest.run("report"), Ok(0));
        assert_eq!(out.to_string_lossy(), EXPECTED);
    }
}
