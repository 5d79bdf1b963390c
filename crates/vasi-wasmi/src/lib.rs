//! Run the [vasi] WASI preview1 host on [wasmi], the pure-Rust WebAssembly
//! interpreter: the same runtime-agnostic core as `vasi-wasmtime`, bound to a
//! second engine.
//!
//! [`add_to_linker`] registers all 46 `wasi_snapshot_preview1` functions with a
//! [`wasmi::Linker`]. A guest's `proc_exit` ends its call with wasmi's own
//! `i32` exit error, and a guest that breaks the ABI traps with a [`GuestTrap`]
//! naming the call; [`exit_code`] turns either outcome into an exit code.
//!
//! # Example
//!
//! ```
//! use vasi::{CaptureBuffer, WasiCtx, WasiCtxBuilder};
//! use wasmi::{Engine, Linker, Module, Store};
//!
//! let engine = Engine::default();
//! let wasm = wat::parse_str(r#"(module
//!     (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
//!     (memory (export "memory") 1)
//!     (data (i32.const 0) "\10\00\00\00\06\00\00\00")
//!     (data (i32.const 16) "hello\n")
//!     (func (export "_start") (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#)?;
//! let module = Module::new(&engine, &wasm[..])?;
//! let mut linker = Linker::new(&engine);
//! vasi_wasmi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx)?;
//! let stdout = CaptureBuffer::new();
//! let mut store = Store::new(&engine, WasiCtxBuilder::new().stdout(stdout.clone()).build()?);
//! let instance = linker.instantiate_and_start(&mut store, &module)?;
//! let start = instance.get_typed_func::<(), ()>(&store, "_start")?;
//! assert_eq!(vasi_wasmi::exit_code(start.call(&mut store, ()))?, 0);
//! assert_eq!(stdout.to_string_lossy(), "hello\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [vasi]: https://docs.rs/vasi

use std::fmt;
use vasi::{GuestMemory, WasiCtx};
use wasmi::{Caller, Extern, Linker, Memory};

/// The guest broke the preview1 ABI in `call` (for example, passed an
/// out-of-bounds or misaligned pointer) and was stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestTrap {
    /// The hostcall, such as `"fd_write"`.
    pub call: &'static str,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for GuestTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.call, self.message)
    }
}

impl wasmi::errors::HostError for GuestTrap {}

/// The host ended the guest ([`vasi::Stopped`]: an interrupt, a limit, or a
/// hook's verdict); find it with `error.downcast_ref::<GuestStopped>()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestStopped(pub vasi::Stopped);

impl fmt::Display for GuestStopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl wasmi::errors::HostError for GuestStopped {}

/// Registers every `wasi_snapshot_preview1` function with `linker`. `get`
/// projects the store's data to its [`WasiCtx`].
///
/// # Errors
/// A function of the same name is already defined in `linker`.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> Result<(), wasmi::errors::LinkerError> {
    macro_rules! register {
        ($($name:ident($($arg:ident: $ty:ident),*);)*) => {$(
            linker.func_wrap(
                vasi::p1::MODULE,
                stringify!($name),
                move |mut caller: Caller<'_, T>, $($arg: $ty),*| -> Result<i32, wasmi::Error> {
                    let (mem, data) = memory(&mut caller, get, stringify!($name))?;
                    let mut mem = GuestMemory::new(mem);
                    errno(stringify!($name), vasi::p1::dispatch::$name(get(data), &mut mem, $($arg),*))
                },
            )?;
        )*};
    }
    vasi::for_each_hostcall!(register);
    linker.func_wrap(
        vasi::p1::MODULE,
        "proc_exit",
        move |mut caller: Caller<'_, T>, code: i32| -> Result<(), wasmi::Error> {
            let (mem, data) = memory(&mut caller, get, "proc_exit")?;
            let mut mem = GuestMemory::new(mem);
            errno(
                "proc_exit",
                vasi::p1::dispatch::proc_exit(get(data), &mut mem, code),
            )
            .map(drop)
        },
    )?;
    Ok(())
}

/// The guest's memory and the store's data: remembered in the context after
/// the first call when it was built with `WasiCtxBuilder::single_instance`,
/// found by name otherwise.
#[inline]
fn memory<'a, T: 'static>(
    caller: &'a mut Caller<'_, T>,
    get: impl Fn(&mut T) -> &mut WasiCtx,
    call: &'static str,
) -> Result<(&'a mut [u8], &'a mut T), wasmi::Error> {
    if let Some(m) = get(caller.data_mut()).binding_cache::<Memory>() {
        return Ok(m.data_and_store_mut(caller));
    }
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => {
            get(caller.data_mut()).set_binding_cache(m);
            Ok(m.data_and_store_mut(caller))
        }
        _ => Err(wasmi::Error::host(GuestTrap {
            call,
            message: "the guest exports no memory named `memory`".into(),
        })),
    }
}

/// Maps a hostcall's result to its errno, or to a trap.
#[inline]
fn errno(call: &'static str, r: Result<(), vasi::Error>) -> Result<i32, wasmi::Error> {
    match r {
        Ok(()) => Ok(0),
        Err(vasi::Error::Errno(e)) => Ok(i32::from(e.raw())),
        Err(vasi::Error::Trap(t)) => Err(wasmi::Error::host(GuestTrap {
            call,
            message: t.message().to_string(),
        })),
        Err(vasi::Error::Exit(e)) => Err(wasmi::Error::i32_exit(e.0)),
        Err(vasi::Error::Stopped(s)) => Err(wasmi::Error::host(GuestStopped(s))),
    }
}

/// wasmi runs no wasi-threads modules (shared memories, `wasi::thread-spawn`);
/// [`new_module`] says so with this error. `vasi_wasmtime::threads` runs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadsUnsupported {
    /// What gave the module away, such as "imports `wasi::thread-spawn`".
    pub reason: String,
}

impl fmt::Display for ThreadsUnsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "this is a wasi-threads module (it {}): wasmi does not run threads; \
             run it on wasmtime (vasi_wasmtime::threads, or `vasi run`)",
            self.reason
        )
    }
}

impl std::error::Error for ThreadsUnsupported {}

/// Whether `wasm` is a wasi-threads module: `Some(reason)` if it imports or
/// defines a shared memory, or imports `wasi::thread-spawn`.
pub fn threads_reason(wasm: &[u8]) -> Option<String> {
    use wasmparser::{Parser, Payload, TypeRef};
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            Payload::ImportSection(reader) => {
                for import in reader {
                    let import = import.ok()?;
                    match import.ty {
                        TypeRef::Memory(m) if m.shared => {
                            return Some(format!(
                                "imports the shared memory `{}::{}`",
                                import.module, import.name
                            ))
                        }
                        TypeRef::Func(_)
                            if import.module == "wasi" && import.name == "thread-spawn" =>
                        {
                            return Some("imports `wasi::thread-spawn`".into())
                        }
                        _ => {}
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for m in reader {
                    if m.ok()?.shared {
                        return Some("defines a shared memory".into());
                    }
                }
            }
            Payload::CodeSectionStart { .. } => return None,
            _ => {}
        }
    }
    None
}

/// Compiles `wasm` for wasmi, refusing a wasi-threads module with one clear
/// [`ThreadsUnsupported`] error (wasmi's own would be a validation error about
/// shared memories).
///
/// ```
/// let engine = wasmi::Engine::default();
/// let threads = wat::parse_str(r#"(module (import "env" "memory" (memory 1 1 shared)))"#)?;
/// let err = vasi_wasmi::new_module(&engine, &threads).unwrap_err();
/// assert!(err.to_string().contains("wasmi does not run threads"), "{err}");
/// let plain = wat::parse_str("(module)")?;
/// assert!(vasi_wasmi::new_module(&engine, &plain).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// A threads module, or wasmi's error for an invalid one.
pub fn new_module(
    engine: &wasmi::Engine,
    wasm: &[u8],
) -> Result<wasmi::Module, Box<dyn std::error::Error + Send + Sync>> {
    if let Some(reason) = threads_reason(wasm) {
        return Err(Box::new(ThreadsUnsupported { reason }));
    }
    Ok(wasmi::Module::new(engine, wasm)?)
}

/// The exit code of a guest run: `0` if the entry point returned, the code it
/// passed to `proc_exit` otherwise; any other failure (a trap) is returned.
///
/// ```
/// assert_eq!(vasi_wasmi::exit_code(Err(wasmi::Error::i32_exit(3))).unwrap(), 3);
/// assert_eq!(vasi_wasmi::exit_code(Ok(())).unwrap(), 0);
/// ```
pub fn exit_code(result: Result<(), wasmi::Error>) -> Result<i32, wasmi::Error> {
    match result {
        Ok(()) => Ok(0),
        Err(e) => match e.i32_exit_status() {
            Some(code) => Ok(code),
            None => Err(e),
        },
    }
}
