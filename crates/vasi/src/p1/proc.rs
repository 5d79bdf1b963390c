//! `proc_*`.

use crate::{Errno, Error, GuestMemory, I32Exit, WasiCtx};

/// Ends the guest with exit code `code`: returns [`Error::Exit`], which bindings
/// surface as an [`I32Exit`].
///
/// This corresponds to `proc_exit` in `wasi_snapshot_preview1`.
pub fn proc_exit(_ctx: &mut WasiCtx, _mem: &mut GuestMemory<'_>, code: u32) -> Result<(), Error> {
    Err(Error::Exit(I32Exit(code as i32)))
}

/// The largest preview1 signal number (`sigsys`).
const MAX_SIGNAL: u32 = 30;

/// A guest raising a signal: handed to the embedder's handler
/// ([`WasiCtxBuilder::on_proc_raise`](crate::WasiCtxBuilder::on_proc_raise)),
/// `ENOSYS` without one; no signal ever reaches the host process. A number
/// outside 1..=30 is `EINVAL`.
///
/// This corresponds to `proc_raise` in `wasi_snapshot_preview1`.
pub fn proc_raise(ctx: &mut WasiCtx, _mem: &mut GuestMemory<'_>, sig: u32) -> Result<(), Error> {
    if sig == 0 || sig > MAX_SIGNAL {
        return Err(Error::inval());
    }
    match &mut ctx.on_raise {
        Some(handler) => Ok(handler(sig as u8)?),
        None => Err(Errno::Nosys.into()),
    }
}
