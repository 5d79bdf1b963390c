//! One guest instance on either engine, with vasi's preview1 functions and the
//! globals module linked, and its exports called by name.

use std::sync::OnceLock;
use vasi::{WasiCtx, WasiCtxBuilder};
use vasi_globals::Globals;

/// The store's data.
pub(crate) struct State {
    pub(crate) wasi: WasiCtx,
    pub(crate) globals: Globals,
}

impl State {
    /// A context with stdout captured into `stdout`, over `globals`.
    pub(crate) fn new(globals: &Globals, stdout: &vasi::CaptureBuffer) -> Self {
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .build()
            .unwrap();
        State {
            wasi,
            globals: globals.clone(),
        }
    }
}

/// The engine a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Engine {
    Wasmtime,
    Wasmi,
}

/// Whether to link the globals module (a guest that needs it then fails to
/// instantiate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Link {
    WithGlobals,
    PreviewOneOnly,
}

/// An instantiated guest.
pub(crate) enum Instance {
    Wasmtime(wasmtime::Store<State>, wasmtime::Instance),
    Wasmi(Box<wasmi::Store<State>>, wasmi::Instance),
}

fn wasmtime_engine() -> &'static wasmtime::Engine {
    static ENGINE: OnceLock<wasmtime::Engine> = OnceLock::new();
    ENGINE.get_or_init(wasmtime::Engine::default)
}

fn wasmi_engine() -> &'static wasmi::Engine {
    static ENGINE: OnceLock<wasmi::Engine> = OnceLock::new();
    ENGINE.get_or_init(wasmi::Engine::default)
}

/// A trap's message: the `GuestTrap` (naming the call) when it is one.
fn wasmtime_error(e: wasmtime::Error) -> String {
    match e.downcast_ref::<vasi_wasmtime::GuestTrap>() {
        Some(t) => format!("GuestTrap {t}"),
        None => format!("{e:?}"),
    }
}

fn wasmi_error(e: wasmi::Error) -> String {
    match e.downcast_ref::<vasi_wasmi::GuestTrap>() {
        Some(t) => format!("GuestTrap {t}"),
        None => e.to_string(),
    }
}

impl Instance {
    /// Instantiates `wasm` (binary) on `engine`; the error as text.
    pub(crate) fn new(
        engine: Engine,
        wasm: &[u8],
        state: State,
        link: Link,
    ) -> Result<Self, String> {
        match engine {
            Engine::Wasmtime => {
                let engine = wasmtime_engine();
                let module = wasmtime::Module::new(engine, wasm).map_err(wasmtime_error)?;
                let mut linker = wasmtime::Linker::new(engine);
                vasi_wasmtime::add_to_linker(&mut linker, |s: &mut State| &mut s.wasi).unwrap();
                if link == Link::WithGlobals {
                    vasi_globals::wasmtime::add_to_linker(&mut linker, |s: &mut State| &s.globals)
                        .unwrap();
                }
                let mut store = wasmtime::Store::new(engine, state);
                let instance = linker
                    .instantiate(&mut store, &module)
                    .map_err(wasmtime_error)?;
                Ok(Instance::Wasmtime(store, instance))
            }
            Engine::Wasmi => {
                let engine = wasmi_engine();
                let module = wasmi::Module::new(engine, wasm).map_err(wasmi_error)?;
                let mut linker = wasmi::Linker::new(engine);
                vasi_wasmi::add_to_linker(&mut linker, |s: &mut State| &mut s.wasi).unwrap();
                if link == Link::WithGlobals {
                    vasi_globals::wasmi::add_to_linker(&mut linker, |s: &mut State| &s.globals)
                        .unwrap();
                }
                let mut store = wasmi::Store::new(engine, state);
                let instance = linker
                    .instantiate_and_start(&mut store, &module)
                    .map_err(wasmi_error)?;
                Ok(Instance::Wasmi(Box::new(store), instance))
            }
        }
    }

    /// Calls the `() -> ()` export `name`: its exit code (0 when it returns,
    /// the code it passed to `proc_exit` otherwise), or the trap.
    pub(crate) fn run(&mut self, name: &str) -> Result<i32, String> {
        match self {
            Instance::Wasmtime(store, instance) => {
                let f = instance
                    .get_typed_func::<(), ()>(&mut *store, name)
                    .map_err(wasmtime_error)?;
                vasi_wasmtime::exit_code(f.call(&mut *store, ())).map_err(wasmtime_error)
            }
            Instance::Wasmi(store, instance) => {
                let f = instance
                    .get_typed_func::<(), ()>(&**store, name)
                    .map_err(wasmi_error)?;
                vasi_wasmi::exit_code(f.call(&mut **store, ())).map_err(wasmi_error)
            }
        }
    }

    /// Calls the export `name` of type `(i32, i32, i32) -> i32`.
    pub(crate) fn call3(&mut self, name: &str, args: (i32, i32, i32)) -> Result<i32, String> {
        match self {
            Instance::Wasmtime(store, instance) => instance
                .get_typed_func::<(i32, i32, i32), i32>(&mut *store, name)
                .and_then(|f| f.call(&mut *store, args))
                .map_err(wasmtime_error),
            Instance::Wasmi(store, instance) => instance
                .get_typed_func::<(i32, i32, i32), i32>(&**store, name)
                .and_then(|f| f.call(&mut **store, args))
                .map_err(wasmi_error),
        }
    }

    /// Calls the export `name` of type `(i32) -> i64`.
    pub(crate) fn call_n(&mut self, name: &str, n: i32) -> Result<i64, String> {
        match self {
            Instance::Wasmtime(store, instance) => instance
                .get_typed_func::<i32, i64>(&mut *store, name)
                .and_then(|f| f.call(&mut *store, n))
                .map_err(wasmtime_error),
            Instance::Wasmi(store, instance) => instance
                .get_typed_func::<i32, i64>(&**store, name)
                .and_then(|f| f.call(&mut **store, n))
                .map_err(wasmi_error),
        }
    }

    /// Calls the export `name` of type `() -> i64`.
    pub(crate) fn call_i64(&mut self, name: &str) -> Result<i64, String> {
        match self {
            Instance::Wasmtime(store, instance) => instance
                .get_typed_func::<(), i64>(&mut *store, name)
                .and_then(|f| f.call(&mut *store, ()))
                .map_err(wasmtime_error),
            Instance::Wasmi(store, instance) => instance
                .get_typed_func::<(), i64>(&**store, name)
                .and_then(|f| f.call(&mut **store, ()))
                .map_err(wasmi_error),
        }
    }

    /// The `u64` at `ptr` in the exported memory.
    pub(crate) fn read_u64(&mut self, ptr: usize) -> u64 {
        let mut bytes = [0u8; 8];
        match self {
            Instance::Wasmtime(store, instance) => {
                let memory = instance.get_memory(&mut *store, "memory").unwrap();
                memory.read(&*store, ptr, &mut bytes).unwrap();
            }
            Instance::Wasmi(store, instance) => {
                let memory = instance.get_memory(&**store, "memory").unwrap();
                memory.read(&**store, ptr, &mut bytes).unwrap();
            }
        }
        u64::from_le_bytes(bytes)
    }
}

/// Defines `$name` as two tests, `$name::wasmtime` and `$name::wasmi`.
#[macro_export]
macro_rules! on_each_engine {
    ($(#[$m:meta])* fn $name:ident($engine:ident: Engine) $body:block) => {
        pub(crate) mod $name {
            #[allow(unused_imports, reason = "not every test uses every name")]
            use super::*;
            use $crate::harness::Engine;
            fn run($engine: Engine) $body
            #[test]
            fn wasmtime() {
                run(Engine::Wasmtime)
            }
            #[test]
            fn wasmi() {
                run(Engine::Wasmi)
            }
        }
    };
}
