//! `proc_*`.

use crate::{Errno, Error, GuestMemory, I32Exit, WasiCtx};

/// Ends the guest with exit code `code`: returns [`Error::Exit`], which bindings
/// surface as an [`I32Exit`].
///
/// This corresponds to `proc_exit` in `wasi_snapshot_preview1`.
pub fn proc_exit(_ctx: &mut WasiCtx, _mem: &mut GuestMemory<'_>, code: u32) -> Result<(), Error> {
    Err(Error::Exit(I32Exit(code as i32)))
}

/// Sending a signal to the guest itself: not yet supported (`ENOSYS`); no signal
/// ever reaches the host process.
///
/// This corresponds to `proc_raise` in `wasi_snapshot_preview1`.
pub fn proc_raise(_ctx: &mut WasiCtx, _mem: &mut GuestMemory<'_>, _sig: u32) -> Result<(), Error> {
    Err(Errno::Nosys.into())
}
