//! Runs a WASI program with the given arguments and captures its stdout into a
//! String: `cargo run -p vasi-wasmtime --example capture -- app.wasm [ARGS]...`

use vasi::{CaptureBuffer, WasiCtx};
use wasmtime::{Engine, Linker, Module, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let wasm = args.first().ok_or("usage: capture APP.wasm [ARGS]...")?;
    // README:begin
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    vasi_wasmtime::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx)?;
    let out = CaptureBuffer::new();
    let ctx = WasiCtx::builder().args(&args).stdout(out.clone()).build()?;
    let mut store = Store::new(&engine, ctx);
    let module = Module::from_file(&engine, wasm)?;
    let instance = linker.instantiate(&mut store, &module)?;
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    let code = vasi_wasmtime::exit_code(start.call(&mut store, ()))?;
    let output: String = out.to_string_lossy();
    // README:end
    println!("exit code {code}, stdout: {output:?}");
    Ok(())
}
