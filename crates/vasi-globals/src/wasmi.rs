//! The `vasi_globals_v1` module on wasmi (cargo feature `wasmi`).

use crate::{abi, Globals};
use ::wasmi::{Caller, Extern, Linker};
use vasi::GuestMemory;
use vasi_wasmi::GuestTrap;

/// The trap's `call` for `get`.
const GET: &str = "vasi_globals_v1::get";

/// Registers `vasi_globals_v1::get` and `vasi_globals_v1::generation` with
/// `linker`. `get` projects the store's data to its [`Globals`]; register
/// vasi's own preview1 functions with `vasi_wasmi::add_to_linker` beside them.
///
/// A guest that passes a bad pointer to `get` stops with a
/// [`vasi_wasmi::GuestTrap`] whose `call` is `"vasi_globals_v1::get"`.
///
/// # Errors
/// A function of the same name is already defined in `linker`.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &Globals + Send + Sync + Copy + 'static,
) -> Result<(), ::wasmi::errors::LinkerError> {
    linker.func_wrap(
        abi::MODULE,
        "get",
        move |mut caller: Caller<'_, T>,
              name_ptr: i32,
              name_len: i32,
              value_out: i32|
              -> Result<i32, ::wasmi::Error> {
            let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
                return Err(no_memory());
            };
            let (bytes, data) = memory.data_and_store_mut(&mut caller);
            let mut mem = GuestMemory::new(bytes);
            abi::get(
                get(data),
                &mut mem,
                name_ptr as u32,
                name_len as u32,
                value_out as u32,
            )
            .map_err(|e| {
                ::wasmi::Error::host(GuestTrap {
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

#[cold]
fn no_memory() -> ::wasmi::Error {
    ::wasmi::Error::host(GuestTrap {
        call: GET,
        message: "the guest exports no memory named `memory`".into(),
    })
}
