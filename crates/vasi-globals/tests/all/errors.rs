//! Missing wiring, bad names and bad pointers: a clear error, a documented
//! status or a trap naming the call; never a panic.

use crate::harness::{Instance, Link, State};
use crate::on_each_engine;
use test_programs_artifacts as programs;
use vasi::CaptureBuffer;
use vasi_globals::{abi, Globals};

/// Exports `get` and `generation`, which forward to the imports; memory
/// holds "LIMIT" at 0, "ü" at 16, two bytes that are not UTF-8 at 24, and 300
/// bytes of "a" at 64. The last byte of the one page is 65535.
const PROXY: &str = r#"(module
    (import "vasi_globals_v1" "get" (func $get (param i32 i32 i32) (result i32)))
    (import "vasi_globals_v1" "generation" (func $generation (result i64)))
    (memory (export "memory") 1)
    (data (i32.const 0) "LIMIT")
    (data (i32.const 16) "\c3\bc")
    (data (i32.const 24) "\ff\fe")
    (data (i32.const 64) "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
    (data (i32.const 164) "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
    (data (i32.const 264) "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
    (func (export "get") (param i32 i32 i32) (result i32)
        (call $get (local.get 0) (local.get 1) (local.get 2)))
    (func (export "generation") (result i64) (call $generation)))"#;

/// The value slot used by the tests.
const OUT: i32 = 1024;

fn proxy(engine: crate::harness::Engine, globals: &Globals) -> Instance {
    let wasm = wat::parse_str(PROXY).unwrap();
    let state = State::new(globals, &CaptureBuffer::new());
    Instance::new(engine, &wasm, state, Link::WithGlobals).unwrap()
}

on_each_engine! {
    fn statuses_and_values(engine: Engine) {
        let globals = Globals::new();
        let mut guest = proxy(engine, &globals);
        assert_eq!(guest.call3("get", (0, 5, OUT)), Ok(abi::NOT_FOUND));
        globals.set("LIMIT", 0x0102_0304_0506_0708u64).unwrap();
        assert_eq!(guest.call3("get", (0, 5, OUT)), Ok(abi::FOUND));
        assert_eq!(guest.read_u64(OUT as usize), 0x0102_0304_0506_0708);
        globals.set("ü", -1i64).unwrap();
        assert_eq!(guest.call3("get", (16, 2, OUT + 8)), Ok(abi::FOUND));
        assert_eq!(guest.read_u64(OUT as usize + 8), u64::MAX);
        // A prefix of a set name is another name.
        assert_eq!(guest.call3("get", (0, 4, OUT)), Ok(abi::NOT_FOUND));
        assert_eq!(guest.call_i64("generation"), Ok(2));
        globals.del("LIMIT");
        assert_eq!(guest.call3("get", (0, 5, OUT)), Ok(abi::NOT_FOUND));
        assert_eq!(guest.call_i64("generation"), Ok(3));
    }
}

on_each_engine! {
    fn bad_names_are_a_status(engine: Engine) {
        let globals = Globals::new();
        globals.set(&"a".repeat(255), 1u64).unwrap();
        let mut guest = proxy(engine, &globals);
        assert_eq!(guest.call3("get", (0, 0, OUT)), Ok(abi::INVALID_NAME), "empty");
        assert_eq!(guest.call3("get", (24, 2, OUT)), Ok(abi::INVALID_NAME), "not UTF-8");
        assert_eq!(guest.call3("get", (16, 1, OUT)), Ok(abi::INVALID_NAME), "half a character");
        assert_eq!(guest.call3("get", (64, 256, OUT)), Ok(abi::INVALID_NAME), "too long");
        assert_eq!(guest.call3("get", (64, 300, OUT)), Ok(abi::INVALID_NAME), "too long");
        assert_eq!(guest.call3("get", (64, 255, OUT)), Ok(abi::FOUND), "the longest name");
    }
}

on_each_engine! {
    fn bad_pointers_trap_naming_the_call(engine: Engine) {
        let globals = Globals::new();
        globals.set("LIMIT", 1u64).unwrap();
        for (args, what) in [
            ((0, 5, 65536), "out-of-bounds"),
            ((0, 5, 1 << 20), "out-of-bounds"),
            ((0, 5, OUT + 4), "misaligned"),
            ((65535, 5, OUT), "out-of-bounds"),
            ((-1, 5, OUT), "out-of-bounds"),
            ((0, -1, OUT), "out-of-bounds"),
            // Checked whatever the name: unset, or invalid.
            ((64, 5, -8), "out-of-bounds"),
            ((24, 2, 1), "misaligned"),
        ] {
            // A fresh instance each time: a trapped instance is done.
            let mut guest = proxy(engine, &globals);
            let err = guest.call3("get", args).unwrap_err();
            assert!(
                err.starts_with("GuestTrap vasi_globals_v1::get: ") && err.contains(what),
                "{args:?}: {err}"
            );
        }
    }
}

on_each_engine! {
    fn a_guest_without_memory_traps(engine: Engine) {
        let wasm = wat::parse_str(r#"(module
            (import "vasi_globals_v1" "get" (func $get (param i32 i32 i32) (result i32)))
            (func (export "get") (param i32 i32 i32) (result i32)
                (call $get (local.get 0) (local.get 1) (local.get 2))))"#).unwrap();
        let globals = Globals::new();
        let state = State::new(&globals, &CaptureBuffer::new());
        let mut guest = Instance::new(engine, &wasm, state, Link::WithGlobals).unwrap();
        let err = guest.call3("get", (0, 1, 0)).unwrap_err();
        assert!(err.contains("vasi_globals_v1::get") && err.contains("no memory"), "{err}");
    }
}

on_each_engine! {
    fn a_guest_without_the_module_linked_does_not_instantiate(engine: Engine) {
        let wasm = std::fs::read(programs::GLOBALS_EXAMPLE).unwrap();
        let globals = Globals::new();
        let state = State::new(&globals, &CaptureBuffer::new());
        let Err(err) = Instance::new(engine, &wasm, state, Link::PreviewOneOnly) else {
            panic!("instantiated without vasi_globals_v1");
        };
        // wasmtime: "unknown import: `vasi_globals_v1::generation` has not been
        // defined"; wasmi: "cannot find definition for import
        // (vasi_globals_v1,generation) ...".
        assert!(err.contains("vasi_globals_v1") && err.contains("import"), "{err}");
    }
}

#[test]
fn linking_twice_is_an_error_not_a_panic() {
    let engine = wasmtime::Engine::default();
    let mut linker = wasmtime::Linker::<Globals>::new(&engine);
    vasi_globals::wasmtime::add_to_linker(&mut linker, |g| g).unwrap();
    assert!(vasi_globals::wasmtime::add_to_linker(&mut linker, |g| g).is_err());
    let engine = wasmi::Engine::default();
    let mut linker = wasmi::Linker::<Globals>::new(&engine);
    vasi_globals::wasmi::add_to_linker(&mut linker, |g| g).unwrap();
    assert!(vasi_globals::wasmi::add_to_linker(&mut linker, |g| g).is_err());
}
