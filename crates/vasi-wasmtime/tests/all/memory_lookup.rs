//! `add_to_linker_for` finds the memory of its module by index, and of any
//! other module by name.

use vasi::{CaptureBuffer, WasiCtx, WasiCtxBuilder};
use wasmtime::{Engine, Linker, Module, Store};

/// A module that writes `text` to stdout; its memory export is `memory`
/// (after `pad` other exports, so export indices differ between modules).
fn writer(engine: &Engine, text: &str, pad: usize) -> Module {
    let pads: String = (0..pad)
        .map(|i| format!("(global (export \"g{i}\") i32 (i32.const 0))"))
        .collect();
    let wat = format!(
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
            {pads}
            (memory (export "memory") 1)
            (data (i32.const 0) "\10\00\00\00\{len:02x}\00\00\00")
            (data (i32.const 16) "{text}")
            (func (export "_start") (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
        len = text.len()
    );
    Module::new(engine, wat).unwrap()
}

fn run(linker: &Linker<WasiCtx>, engine: &Engine, module: &Module) -> String {
    run_with(linker, engine, module, false)
}

fn run_with(linker: &Linker<WasiCtx>, engine: &Engine, module: &Module, single: bool) -> String {
    let out = CaptureBuffer::new();
    let mut b = WasiCtxBuilder::new();
    b.stdout(out.clone());
    if single {
        b.single_instance();
    }
    let ctx = b.build().unwrap();
    let mut store = Store::new(engine, ctx);
    let instance = linker.instantiate(&mut store, module).unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    start.call(&mut store, ()).unwrap();
    if single {
        start.call(&mut store, ()).unwrap(); // from the remembered memory
        assert!(store.data().binding_cache::<wasmtime::Memory>().is_some());
    } else {
        assert!(store.data().binding_cache::<wasmtime::Memory>().is_none());
    }
    out.to_string_lossy()
}

#[test]
fn the_known_module_by_index_others_by_name() {
    let engine = Engine::default();
    let a = writer(&engine, "from a", 0);
    let b = writer(&engine, "from b!", 3);
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    vasi_wasmtime::add_to_linker_for(&mut linker, &a, |c| c).unwrap();
    assert_eq!(run(&linker, &engine, &a), "from a");
    assert_eq!(run(&linker, &engine, &b), "from b!");
    assert_eq!(run(&linker, &engine, &a), "from a");
}

#[test]
fn a_module_without_memory_traps_naming_the_call() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "wasi_snapshot_preview1" "sched_yield" (func $y (result i32)))
            (func (export "_start") (drop (call $y))))"#,
    )
    .unwrap();
    for by_index in [false, true] {
        let mut linker: Linker<WasiCtx> = Linker::new(&engine);
        if by_index {
            vasi_wasmtime::add_to_linker_for(&mut linker, &module, |c| c).unwrap();
        } else {
            vasi_wasmtime::add_to_linker(&mut linker, |c| c).unwrap();
        }
        let mut store = Store::new(&engine, WasiCtxBuilder::new().build().unwrap());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .unwrap();
        let err = start.call(&mut store, ()).unwrap_err();
        let trap = err.downcast_ref::<vasi_wasmtime::GuestTrap>().unwrap();
        assert_eq!(trap.call, "sched_yield");
    }
}

#[test]
fn a_single_instance_context_remembers_its_memory() {
    let engine = Engine::default();
    let a = writer(&engine, "twice", 1);
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    vasi_wasmtime::add_to_linker(&mut linker, |c| c).unwrap();
    assert_eq!(run_with(&linker, &engine, &a, true), "twicetwice");
    assert_eq!(run_with(&linker, &engine, &a, false), "twice");
}
