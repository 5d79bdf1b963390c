//! `args_*` and `environ_*`.

use crate::ctx::StringList;
use crate::{Error, GuestMemory, WasiCtx};

/// Writes the argument pointers to `argv` and the NUL-terminated arguments to
/// `argv_buf`.
///
/// This corresponds to `args_get` in `wasi_snapshot_preview1`.
pub fn args_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    argv: u32,
    argv_buf: u32,
) -> Result<(), Error> {
    write_list(&ctx.args, mem, argv, argv_buf)
}

/// Writes the number of arguments and the size of their buffer.
///
/// This corresponds to `args_sizes_get` in `wasi_snapshot_preview1`.
pub fn args_sizes_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    argc: u32,
    argv_buf_size: u32,
) -> Result<(), Error> {
    write_sizes(&ctx.args, mem, argc, argv_buf_size)
}

/// Writes the environment's `NAME=value` pointers to `environ` and the strings to
/// `environ_buf`.
///
/// This corresponds to `environ_get` in `wasi_snapshot_preview1`.
pub fn environ_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    environ: u32,
    environ_buf: u32,
) -> Result<(), Error> {
    write_list(&ctx.env, mem, environ, environ_buf)
}

/// Writes the number of environment variables and the size of their buffer.
///
/// This corresponds to `environ_sizes_get` in `wasi_snapshot_preview1`.
pub fn environ_sizes_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    count: u32,
    buf_size: u32,
) -> Result<(), Error> {
    write_sizes(&ctx.env, mem, count, buf_size)
}

fn write_list(
    list: &StringList,
    mem: &mut GuestMemory<'_>,
    ptrs: u32,
    buf: u32,
) -> Result<(), Error> {
    mem.copy_in(buf, &list.bytes)?;
    for (i, &offset) in list.offsets.iter().enumerate() {
        let at = (i as u32)
            .checked_mul(4)
            .and_then(|o| ptrs.checked_add(o))
            .ok_or_else(|| Error::trap("out-of-bounds pointer array"))?;
        // `buf + offset` is inside the buffer just written, so it cannot overflow.
        mem.write_u32(at, buf + offset)?;
    }
    Ok(())
}

fn write_sizes(
    list: &StringList,
    mem: &mut GuestMemory<'_>,
    count: u32,
    size: u32,
) -> Result<(), Error> {
    mem.write_u32(count, list.count())?;
    mem.write_u32(size, list.bytes.len() as u32)
}
