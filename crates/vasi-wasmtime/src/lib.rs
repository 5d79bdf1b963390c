//! Run the [vasi] WASI preview1 host on [wasmtime].
//!
//! [`add_to_linker`] registers all 46 `wasi_snapshot_preview1` functions with a
//! [`wasmtime::Linker`]; each one takes the guest's memory out of wasmtime and
//! calls the runtime-agnostic hostcall in [`vasi::p1`]. A guest's `proc_exit`
//! ends its call with a [`vasi::I32Exit`] error, and a guest that breaks the ABI
//! (an out-of-bounds or misaligned pointer) traps with a [`GuestTrap`] naming
//! the call; [`exit_code`] turns either outcome into a process-style exit code.
//! When the host ends the guest (an [`InterruptHandle`](vasi::InterruptHandle)
//! fired while it was blocked in WASI, a limit, a hook's verdict), the call fails
//! with a [`vasi::Stopped`] error.
//!
//! # Example
//!
//! ```
//! use vasi::{CaptureBuffer, WasiCtx, WasiCtxBuilder};
//! use wasmtime::{Engine, Linker, Module, Store};
//!
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"(module
//!     (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
//!     (memory (export "memory") 1)
//!     (data (i32.const 0) "\10\00\00\00\06\00\00\00")
//!     (data (i32.const 16) "hello\n")
//!     (func (export "_start") (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#)?;
//! let mut linker = Linker::new(&engine);
//! vasi_wasmtime::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx)?;
//! let stdout = CaptureBuffer::new();
//! let mut store = Store::new(&engine, WasiCtxBuilder::new().stdout(stdout.clone()).build()?);
//! let instance = linker.instantiate(&mut store, &module)?;
//! let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
//! assert_eq!(vasi_wasmtime::exit_code(start.call(&mut store, ()))?, 0);
//! assert_eq!(stdout.to_string_lossy(), "hello\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! For many guests in one process (an instance per request, thousands of
//! tenants), [`dense`] sets up wasmtime's pooling allocator, compiles and
//! links each module once, and gives every instance a private copy-on-write
//! view of one shared filesystem image.
//!
//! [vasi]: https://docs.rs/vasi

pub mod dense;
pub mod threads;

use std::fmt;
use vasi::{GuestMemory, WasiCtx};
use wasmtime::{Caller, Extern, Linker, Memory, Module, ModuleExport};

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

impl std::error::Error for GuestTrap {}

/// Registers every `wasi_snapshot_preview1` function with `linker`. `get`
/// projects the store's data to its [`WasiCtx`], e.g. `|state| &mut state.wasi`.
///
/// Each call finds the guest's memory by its export name, `memory`; when the
/// module is known in advance, [`add_to_linker_for`] skips that lookup.
///
/// # Errors
/// A function of the same name is already defined in `linker` (and shadowing
/// is not allowed).
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> wasmtime::Result<()> {
    add_with(linker, MemoryLookup::by_name(), get)
}

/// Like [`add_to_linker`], for a linker that instantiates `module`: its
/// hostcalls find the memory of `module`'s instances by export index, without
/// a name lookup per call (about half the cost of a small hostcall). Instances
/// of other modules still work, through the name.
///
/// ```
/// # use wasmtime::{Engine, Linker, Module};
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module (memory (export "memory") 1) (func (export "_start")))"#)?;
/// let mut linker = Linker::new(&engine);
/// vasi_wasmtime::add_to_linker_for(&mut linker, &module, |ctx: &mut vasi::WasiCtx| ctx)?;
/// let pre = linker.instantiate_pre(&module)?; // reuse it for every instance
/// # Ok::<(), wasmtime::Error>(())
/// ```
///
/// # Errors
/// As [`add_to_linker`].
pub fn add_to_linker_for<T: 'static>(
    linker: &mut Linker<T>,
    module: &Module,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> wasmtime::Result<()> {
    add_with(linker, MemoryLookup::for_module(module), get)
}

fn add_with<T: 'static>(
    linker: &mut Linker<T>,
    lookup: MemoryLookup,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> wasmtime::Result<()> {
    macro_rules! register {
        ($($name:ident($($arg:ident: $ty:ident),*);)*) => {$(
            linker.func_wrap(
                vasi::p1::MODULE,
                stringify!($name),
                move |mut caller: Caller<'_, T>, $($arg: $ty),*| -> wasmtime::Result<i32> {
                    let (mem, data) = lookup.ctx_memory(&mut caller, get, stringify!($name))?;
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
        move |mut caller: Caller<'_, T>, code: i32| -> wasmtime::Result<()> {
            let (mem, data) = lookup.ctx_memory(&mut caller, get, "proc_exit")?;
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

/// How a host function finds the calling guest's memory: its export named
/// `memory`, looked up by name, or by index for one module known in advance
/// (other modules fall back to the name). Other host modules living beside
/// vasi's (such as `vasi-globals`) use it too.
#[derive(Clone, Copy, Default)]
pub struct MemoryLookup {
    export: Option<ModuleExport>,
}

impl fmt::Debug for MemoryLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryLookup")
            .field("by_index", &self.export.is_some())
            .finish()
    }
}

impl MemoryLookup {
    /// Finds the memory by its name, `memory`, on every call.
    pub fn by_name() -> Self {
        MemoryLookup { export: None }
    }

    /// Finds the memory of `module`'s instances by export index (and any
    /// other module's by name).
    pub fn for_module(module: &Module) -> Self {
        MemoryLookup {
            export: module.get_export_index("memory"),
        }
    }

    /// The calling guest's memory and the store's data; a [`GuestTrap`]
    /// naming `call` if the guest exports no memory.
    #[inline]
    pub fn memory<'a, T: 'static>(
        &self,
        caller: &'a mut Caller<'_, T>,
        call: &'static str,
    ) -> wasmtime::Result<(&'a mut [u8], &'a mut T)> {
        Ok(self.find(caller, call)?.data_and_store_mut(caller))
    }

    /// As [`memory`](Self::memory), remembering the memory in the context
    /// when it was built with `WasiCtxBuilder::single_instance`.
    #[inline]
    fn ctx_memory<'a, T: 'static>(
        &self,
        caller: &'a mut Caller<'_, T>,
        get: impl Fn(&mut T) -> &mut WasiCtx,
        call: &'static str,
    ) -> wasmtime::Result<(&'a mut [u8], &'a mut T)> {
        if let Some(m) = get(caller.data_mut()).binding_cache::<Memory>() {
            return Ok(m.data_and_store_mut(caller));
        }
        let m = self.find(caller, call)?;
        get(caller.data_mut()).set_binding_cache(m);
        Ok(m.data_and_store_mut(caller))
    }

    fn find<T: 'static>(
        &self,
        caller: &mut Caller<'_, T>,
        call: &'static str,
    ) -> wasmtime::Result<Memory> {
        let found = match &self.export {
            // `None` when the caller is an instance of another module.
            Some(export) => match caller.get_module_export(export) {
                None => caller.get_export("memory"),
                found => found,
            },
            None => caller.get_export("memory"),
        };
        match found {
            Some(Extern::Memory(m)) => Ok(m),
            _ => Err(no_memory(call)),
        }
    }
}

#[cold]
fn no_memory(call: &'static str) -> wasmtime::Error {
    wasmtime::Error::new(GuestTrap {
        call,
        message: "the guest exports no memory named `memory`".into(),
    })
}

/// Maps a hostcall's result to its errno, or to a trap.
#[inline]
fn errno(call: &'static str, r: Result<(), vasi::Error>) -> wasmtime::Result<i32> {
    match r {
        Ok(()) => Ok(0),
        Err(vasi::Error::Errno(e)) => Ok(i32::from(e.raw())),
        Err(vasi::Error::Trap(t)) => Err(wasmtime::Error::new(GuestTrap {
            call,
            message: t.message().to_string(),
        })),
        Err(vasi::Error::Exit(e)) => Err(wasmtime::Error::new(e)),
        Err(vasi::Error::Stopped(s)) => Err(wasmtime::Error::new(s)),
    }
}

/// The exit code of a guest run: `0` if the entry point returned, the code it
/// passed to `proc_exit` otherwise; any other failure (a trap) is returned as
/// an error.
///
/// ```
/// let exited: wasmtime::Result<()> = Err(wasmtime::Error::new(vasi::I32Exit(3)));
/// assert_eq!(vasi_wasmtime::exit_code(exited).unwrap(), 3);
/// assert_eq!(vasi_wasmtime::exit_code(Ok(())).unwrap(), 0);
/// ```
pub fn exit_code(result: wasmtime::Result<()>) -> wasmtime::Result<i32> {
    match result {
        Ok(()) => Ok(0),
        Err(e) => match e.downcast_ref::<vasi::I32Exit>() {
            Some(exit) => Ok(exit.0),
            None => Err(e),
        },
    }
}
