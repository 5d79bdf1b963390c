//! Runs a bundle through the Rust API on wasmtime, with its world:
//! `cargo run -p vasi-bundle --example run_bundle -- app.bundle.wasm [ARGS]...`
//!
//! The guest's stdio is this process's; more arguments are appended to the
//! bundle's. Exits with the guest's exit code. (Limits the engine enforces,
//! such as `config().max_memory`, are left out for brevity; `vasi run`
//! applies them.)

use vasi::{WasiCtx, WasiCtxBuilder};
use vasi_bundle::Bundle;
use wasmtime::{Engine, Linker, Module, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: run_bundle APP.bundle.wasm [ARGS]...")?;
    // Read once; the images are then served from these bytes in place.
    let bundle = Bundle::parse(std::fs::read(&path)?)?;
    let mut b = WasiCtxBuilder::new();
    bundle.apply(&mut b);
    b.args(args).inherit_stdio();
    let ctx = b.build()?;

    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    vasi_wasmtime::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx)?;
    let module = Module::new(&engine, bundle.module())?;
    let mut store = Store::new(&engine, ctx);
    let instance = linker.instantiate(&mut store, &module)?;
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    let code = vasi_wasmtime::exit_code(start.call(&mut store, ()))?;
    std::process::exit(code);
}
