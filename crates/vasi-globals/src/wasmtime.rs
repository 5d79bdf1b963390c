//! The `vasi_globals_v1` module on wasmtime (cargo feature
//! `wasmtime`).

use crate::{abi, Globals};
use ::wasmtime::{Caller, Linker, Module};
use vasi::GuestMemory;
use vasi_wasmtime::{GuestTrap, MemoryLookup};

/// The trap's `call` for `get`.
const GET: &str = "vasi_globals_v1::get";

/// Registers `vasi_globals_v1::get` and `vasi_globals_v1::generation` with
/// `linker`. `get` projects the store's data to its [`Globals`], e.g.
/// `|state| &state.globals`; register vasi's own preview1 functions with
/// `vasi_wasmtime::add_to_linker` beside them.
///
/// A guest that passes a bad pointer to `get` stops with a
/// [`vasi_wasmtime::GuestTrap`] whose `call` is `"vasi_globals_v1::get"`.
///
/// # Errors
/// A function of the same name is already defined in `linker` (and shadowing
/// is not allowed).
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &Globals + Send + Sync + Copy + 'static,
) -> ::wasmtime::Result<()> {
    add_with(linker, MemoryLookup::by_name(), get)
}

/// Like [`add_to_linker`], for a linker that instantiates `module`: `get`
/// finds the memory of `module`'s instances by export index instead of by
/// name (see `vasi_wasmtime::add_to_linker_for`).
///
/// # Errors
/// As [`add_to_linker`].
pub fn add_to_linker_for<T: 'static>(
    linker: &mut Linker<T>,
    module: &Module,
    get: impl Fn(&mut T) -> &Globals + Send + Sync + Copy + 'static,
) -> ::wasmtime::Result<()> {
    add_with(linker, MemoryLookup::for_module(module), get)
}

fn add_with<T: 'static>(
    linker: &mut Linker<T>,
    lookup: MemoryLookup,
    get: impl Fn(&mut T) -> &Globals + Send + Sync + Copy + 'static,
) -> ::wasmtime::Result<()> {
    linker.func_wrap(
        abi::MODULE,
        "get",
        move |mut caller: Caller<'_, T>,
              name_ptr: i32,
              name_len: i32,
              value_out: i32|
              -> ::wasmtime::Result<i32> {
            let (bytes, data) = lookup.memory(&mut caller, GET)?;
            let mut mem = GuestMemory::new(bytes);
            abi::get(
                get(data),
                &mut mem,
                name_ptr as u32,
                name_len as u32,
                value_out as u32,
            )
            .map_err(|e| {
                ::wasmtime::Error::new(GuestTrap {
                    call: GET,
                    message: e.to_string(),
                })
            })
        },
    )?;
    linker.func_wrap(
        abi::MODULE,
        "generation",
        move |mut caller: Caller<'_, T>| -> i64 { abi::generation(get(caller.data_mut())) as i64 },
    )?;
    Ok(())
}
