//! `sock_*`: no socket can be preopened yet, so every socket call fails: `EBADF`
//! on a closed fd, `ENOTSOCK` on any other.

use crate::{Errno, Error, GuestMemory, WasiCtx};

fn not_a_socket(ctx: &mut WasiCtx, fd: u32) -> Result<(), Error> {
    ctx.table.get(fd)?;
    Err(Errno::Notsock.into())
}

/// This corresponds to `sock_accept` in `wasi_snapshot_preview1`.
pub fn sock_accept(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    _flags: u32,
    _result_fd: u32,
) -> Result<(), Error> {
    not_a_socket(ctx, fd)
}

/// This corresponds to `sock_recv` in `wasi_snapshot_preview1`.
#[allow(clippy::too_many_arguments, reason = "the preview1 signature")]
pub fn sock_recv(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    _ri_data: u32,
    _ri_data_len: u32,
    _ri_flags: u32,
    _ro_datalen: u32,
    _ro_flags: u32,
) -> Result<(), Error> {
    not_a_socket(ctx, fd)
}

/// This corresponds to `sock_send` in `wasi_snapshot_preview1`.
pub fn sock_send(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    _si_data: u32,
    _si_data_len: u32,
    _si_flags: u32,
    _so_datalen: u32,
) -> Result<(), Error> {
    not_a_socket(ctx, fd)
}

/// This corresponds to `sock_shutdown` in `wasi_snapshot_preview1`.
pub fn sock_shutdown(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    _how: u32,
) -> Result<(), Error> {
    not_a_socket(ctx, fd)
}
